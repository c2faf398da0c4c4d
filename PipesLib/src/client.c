/*
 * client.c - a named-pipe client: connect (with busy-wait on
 * ERROR_PIPE_BUSY), server identity check, ordered sends over a bounded
 * queue, and optional reconnection with exponential backoff and jitter.
 *
 * OWNERSHIP
 *   The client owns its write queue and lock; each connection borrows them,
 *   so queued messages survive a reconnect. client->conn holds the
 *   membership reference on the current connection. A reconnect timer that
 *   is armed holds a reference on the endpoint, handed to the retry request
 *   it posts to the engine, and dropped when that request has run.
 */
#include <string.h>

#include "conn.h"
#include "endpoint.h"
#include "pipename.h"
#include "pipes_chaos.h"
#include "runtime.h"
#include "security.h"

#define DEFAULT_RECONNECT_MIN_MS 100u
#define DEFAULT_RECONNECT_MAX_MS 10000u

struct pipes_client {
    pipes_endpoint ep; /* first: events cast between them */
    wchar_t name[PIPES_MAX_PIPE_NAME + 1];
    uint32_t flags;
    uint32_t required_session;
    int require_sid;
    wchar_t required_sid[PIPES_MAX_SID_STRING];
    uint32_t connect_timeout_ms;
    uint32_t backoff_min_ms, backoff_max_ms;

    SRWLOCK lock; /* protects everything below, the queue and conn state */
    pipes_wqueue wq;
    pipes_conn *conn; /* current connection, or NULL */
    int closing;
    int broken; /* without RECONNECT: the connection ended for good */
    uint64_t generation;
    uint32_t backoff_ms;
    uint32_t rng;
    PTP_TIMER timer;
    int timer_armed;
    pipes_req retry_req;
};

static void client_read_ended(pipes_conn *c);
static int client_keeps_queue(pipes_conn *c);
static void on_start(pipes_req *req, DWORD error, DWORD bytes);
static void on_retry(pipes_req *req, DWORD error, DWORD bytes);

static const pipes_conn_hooks client_hooks = {NULL, client_read_ended, client_keeps_queue, NULL};

static pipes_client *client_of(pipes_conn *c)
{
    return (pipes_client *)c->ep;
}

/* ---- opening the pipe --------------------------------------------------- */

static ULONGLONG remaining_ms(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();
    return now >= deadline ? 0 : deadline - now;
}

/* Opens the pipe, waiting for a free instance up to timeout_ms when
 * may_wait, and checks the server's identity. */
static pipes_status open_pipe(pipes_client *cl, uint32_t timeout_ms, int may_wait, HANDLE *out,
                              pipes_peer *server)
{
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    HANDLE h;
    DWORD mode = PIPE_READMODE_MESSAGE;
    DWORD error;
    pipes_status st;

    for (;;) {
        /* SECURITY_IDENTIFICATION: the server may learn who we are but can
         * never act as us. */
        /* Only the rights a client needs: GENERIC_WRITE would include
         * FILE_APPEND_DATA, which on a pipe is FILE_CREATE_PIPE_INSTANCE, and
         * a server that (rightly) grants its clients no more than read,
         * write-data and write-attributes (for the read mode) would refuse. */
        h = CreateFileW(cl->name, GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0, NULL,
                        OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                        NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        error = GetLastError();
        if (error == ERROR_PIPE_BUSY && may_wait) {
            DWORD wait;
            if (timeout_ms == PIPES_INFINITE) {
                wait = NMPWAIT_WAIT_FOREVER;
            } else {
                ULONGLONG left = remaining_ms(deadline);
                if (left == 0)
                    return PIPES_ERR_TIMEOUT;
                wait = (DWORD)left;
            }
            if (!WaitNamedPipeW(cl->name, wait)) {
                error = GetLastError();
                if (error == ERROR_SEM_TIMEOUT)
                    return PIPES_ERR_TIMEOUT;
                if (error == ERROR_FILE_NOT_FOUND)
                    return pipes_fail_system(PIPES_ERR_NOT_FOUND, error);
            }
            continue; /* an instance was free a moment ago: race for it */
        }
        if (error == ERROR_PIPE_BUSY)
            return PIPES_ERR_TIMEOUT;
        return pipes_fail_system(pipes_status_from_win32(error), error);
    }
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        /* ERROR_PIPE_NOT_CONNECTED here: the server dropped us at once
         * (authorize refused, max_connections): PIPES_ERR_PEER_CLOSED. */
        error = GetLastError();
        CloseHandle(h);
        return pipes_fail_system(pipes_status_from_win32(error), error);
    }
    pipes_security_server_identity(h, server);
    st = pipes_security_check_server(server, (cl->flags & PIPES_CLIENT_REQUIRE_SESSION) != 0,
                                     cl->required_session,
                                     cl->require_sid ? cl->required_sid : NULL);
    if (st != PIPES_OK) {
        CloseHandle(h);
        return st;
    }
    if (!pipes_engine_bind(cl->ep.engine, h)) {
        error = GetLastError();
        CloseHandle(h);
        return pipes_fail_system(PIPES_ERR_SYSTEM, error);
    }
    *out = h;
    return PIPES_OK;
}

/* Makes h the client's connection; the CONNECTED event and the first read
 * follow on a worker. */
static pipes_status attach(pipes_client *cl, HANDLE h, const pipes_peer *server)
{
    pipes_conn *c = pipes_conn_create(&cl->ep, &client_hooks, h, &cl->lock, &cl->wq);
    if (!c) {
        CloseHandle(h);
        return PIPES_ERR_OUT_OF_MEMORY;
    }
    c->peer = *server;
    c->connect_then_write.connect_req.complete = on_start;
    AcquireSRWLockExclusive(&cl->lock);
    if (cl->closing) {
        ReleaseSRWLockExclusive(&cl->lock);
        pipes_conn_release(c);
        return PIPES_ERR_STOPPING;
    }
    cl->conn = c;
    c->id = ++cl->generation;
    cl->backoff_ms = cl->backoff_min_ms;
    pipes_conn_addref(c); /* for the start request */
    ReleaseSRWLockExclusive(&cl->lock);
    if (!pipes_engine_post(cl->ep.engine, &c->connect_then_write.connect_req)) {
        DWORD e = GetLastError();
        AcquireSRWLockExclusive(&cl->lock);
        cl->conn = NULL;
        ReleaseSRWLockExclusive(&cl->lock);
        pipes_conn_close(c, PIPES_ERR_SYSTEM);
        pipes_conn_release(c); /* the start request's reference */
        pipes_conn_release(c); /* membership: frees it and closes h */
        return pipes_fail_system(PIPES_ERR_SYSTEM, e);
    }
    return PIPES_OK;
}

static void on_start(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_conn *c = CONTAINING_RECORD(req, pipes_conn, connect_then_write.connect_req);
    pipes_client *cl = client_of(c);
    pipes_kick k;
    pipes_event ev;
    (void)error;
    (void)bytes;

    if (!pipes_conn_open(c)) {
        /* Closed before it opened (ABANDONED): no event, as if its read
         * chain had ended. */
        c->hooks->on_read_ended(c);
        pipes_conn_release(c); /* the start request's reference */
        return;
    }
    InterlockedIncrement64(&cl->ep.stats.connects);
    memset(&ev, 0, sizeof ev);
    ev.type = PIPES_EVENT_CONNECTED;
    ev.connection_id = c->id;
    pipes_conn_deliver(c, &ev);

    /* Messages queued while disconnected go out now, in order. */
    AcquireSRWLockExclusive(&cl->lock);
    pipes_conn_kick_locked(c, &k);
    ReleaseSRWLockExclusive(&cl->lock);
    pipes_conn_kick_finish(c, &k);
    pipes_conn_read(c);
    pipes_conn_release(c); /* the start request's reference */
}

/* ---- reconnecting -------------------------------------------------------- */

static uint32_t next_random(pipes_client *cl)
{
    /* xorshift32: jitter only needs to decorrelate clients */
    uint32_t x = cl->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    cl->rng = x;
    return x;
}

static void schedule_retry(pipes_client *cl)
{
    uint32_t delay;
    LONGLONG due100ns;
    FILETIME due;

    AcquireSRWLockExclusive(&cl->lock);
    if (cl->closing || cl->timer_armed || cl->conn) {
        ReleaseSRWLockExclusive(&cl->lock);
        return;
    }
    /* Full jitter over the upper half: between backoff/2 and backoff. */
    delay = cl->backoff_ms / 2 + next_random(cl) % (cl->backoff_ms / 2 + 1);
    cl->backoff_ms = cl->backoff_ms >= cl->backoff_max_ms / 2 ? cl->backoff_max_ms
                                                              : cl->backoff_ms * 2;
    cl->timer_armed = 1;
    pipes_endpoint_addref(&cl->ep);
    due100ns = -(LONGLONG)delay * 10000;
    due.dwLowDateTime = (DWORD)((ULONGLONG)due100ns & 0xFFFFFFFFu);
    due.dwHighDateTime = (DWORD)((ULONGLONG)due100ns >> 32);
    SetThreadpoolTimer(cl->timer, &due, 0, 0);
    ReleaseSRWLockExclusive(&cl->lock);
}

static VOID CALLBACK on_timer(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_TIMER timer)
{
    pipes_client *cl = (pipes_client *)context;
    int armed;
    (void)instance;
    (void)timer;
    AcquireSRWLockExclusive(&cl->lock);
    armed = cl->timer_armed;
    cl->timer_armed = 0;
    ReleaseSRWLockExclusive(&cl->lock);
    if (!armed)
        return;
    /* The attempt runs on our engine, not on the system pool. */
    memset(&cl->retry_req.ov, 0, sizeof cl->retry_req.ov);
    if (!pipes_engine_post(cl->ep.engine, &cl->retry_req)) {
        pipes_endpoint_count_error(&cl->ep, PIPES_ERR_SYSTEM);
        pipes_endpoint_release(&cl->ep);
    }
}

static void on_retry(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_client *cl = CONTAINING_RECORD(req, pipes_client, retry_req);
    HANDLE h;
    pipes_status st;
    (void)error;
    (void)bytes;

    if (!pipes_endpoint_is_stopping(&cl->ep)) {
        /* Never block a worker: no WaitNamedPipeW here, busy = try later. */
        pipes_peer server;
        st = open_pipe(cl, 0, 0, &h, &server);
        if (st == PIPES_OK)
            st = attach(cl, h, &server);
        if (st != PIPES_OK && st != PIPES_ERR_STOPPING) {
            pipes_endpoint_count_error(&cl->ep, st);
            schedule_retry(cl);
        }
    }
    pipes_endpoint_release(&cl->ep); /* the armed timer's reference */
}

static int client_keeps_queue(pipes_conn *c)
{
    pipes_client *cl = client_of(c); /* called with cl->lock held */
    return (cl->flags & PIPES_CLIENT_RECONNECT) && !cl->closing;
}

static void client_read_ended(pipes_conn *c)
{
    pipes_client *cl = client_of(c);
    int reconnect;
    AcquireSRWLockExclusive(&cl->lock);
    if (cl->conn == c)
        cl->conn = NULL;
    reconnect = (cl->flags & PIPES_CLIENT_RECONNECT) && !cl->closing;
    if (!reconnect)
        cl->broken = 1;
    ReleaseSRWLockExclusive(&cl->lock);
    if (reconnect)
        schedule_retry(cl);
    else
        pipes_wqueue_fail_all(&cl->ep, &cl->wq, PIPES_ERR_NOT_CONNECTED);
    pipes_conn_release(c); /* the membership reference */
}

/* ---- public API -------------------------------------------------------- */

static void client_destroy(pipes_endpoint *ep)
{
    pipes_client *cl = (pipes_client *)ep;
    if (cl->timer)
        CloseThreadpoolTimer(cl->timer);
    pipes_mem_free(cl);
    PIPES_COUNT_DEC(live_clients);
}

static int config_valid(const pipes_client_config *cfg)
{
    uint32_t known = PIPES_CLIENT_RECONNECT | PIPES_CLIENT_REQUIRE_SESSION;
    if (cfg->struct_size != sizeof *cfg || !pipes_pipe_name_valid(cfg->pipe_name))
        return 0;
    if ((cfg->on_event == NULL) == (cfg->notify_window == NULL))
        return 0;
    if (cfg->max_message_size > PIPES_MAX_MESSAGE_SIZE_LIMIT || (cfg->flags & ~known))
        return 0;
    if (cfg->required_server_sid && (cfg->required_server_sid[0] == L'\0' ||
                                     wcslen(cfg->required_server_sid) >= PIPES_MAX_SID_STRING))
        return 0;
    if (cfg->reconnect_min_ms && cfg->reconnect_max_ms &&
        cfg->reconnect_min_ms > cfg->reconnect_max_ms)
        return 0;
    return 1;
}

static void shut_down(pipes_client *cl)
{
    pipes_conn *c;
    pipes_endpoint_close_gate(&cl->ep);
    int armed;

    AcquireSRWLockExclusive(&cl->lock);
    cl->closing = 1;
    c = cl->conn;
    if (c)
        pipes_conn_addref(c);
    armed = cl->timer_armed;
    cl->timer_armed = 0;
    ReleaseSRWLockExclusive(&cl->lock);

    if (cl->timer) {
        SetThreadpoolTimer(cl->timer, NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(cl->timer, TRUE);
    }
    if (armed)
        pipes_endpoint_release(&cl->ep);
    if (c) {
        pipes_conn_close(c, PIPES_ERR_LOCAL_CLOSED);
        pipes_conn_release(c);
    }
    pipes_wqueue_fail_all(&cl->ep, &cl->wq, PIPES_ERR_STOPPING);
    pipes_endpoint_finish_stop(&cl->ep);
}

PIPES_API pipes_status PIPES_CALL pipes_client_connect(const pipes_client_config *config,
                                                       pipes_client **out)
{
    pipes_client *cl, *prev;
    pipes_engine *engine;
    pipes_status st;
    pipes_peer server;
    HANDLE h;

    if (!config || !out || !config_valid(config))
        return PIPES_ERR_INVALID_ARGUMENT;
    engine = pipes_engine_resolve(config->engine);
    if (!engine)
        return PIPES_ERR_SYSTEM;
    cl = (pipes_client *)pipes_mem_alloc(sizeof *cl);
    if (!cl)
        return PIPES_ERR_OUT_OF_MEMORY;
    PIPES_COUNT_INC(live_clients);
    wcscpy(cl->name, config->pipe_name);
    cl->flags = config->flags;
    cl->required_session = config->required_server_session;
    if (config->required_server_sid) {
        cl->require_sid = 1;
        wcscpy(cl->required_sid, config->required_server_sid);
    }
    cl->connect_timeout_ms =
        config->connect_timeout_ms ? config->connect_timeout_ms : PIPES_DEFAULT_CONNECT_TIMEOUT_MS;
    cl->backoff_min_ms = config->reconnect_min_ms ? config->reconnect_min_ms
                                                  : DEFAULT_RECONNECT_MIN_MS;
    cl->backoff_max_ms = config->reconnect_max_ms ? config->reconnect_max_ms
                                                  : DEFAULT_RECONNECT_MAX_MS;
    if (cl->backoff_max_ms < cl->backoff_min_ms)
        cl->backoff_max_ms = cl->backoff_min_ms;
    cl->backoff_ms = cl->backoff_min_ms;
    cl->rng = (uint32_t)GetTickCount64() ^ (GetCurrentProcessId() << 16) ^
              (uint32_t)(ULONG_PTR)cl;
    if (!cl->rng)
        cl->rng = 0x2545F491u;
    cl->retry_req.complete = on_retry;
    InitializeSRWLock(&cl->lock);
    pipes_wqueue_init(&cl->wq, &cl->lock);
    pipes_endpoint_init(&cl->ep, PIPES_KIND_CLIENT, engine, config->on_event,
                        config->notify_window, config->notify_message, config->user_data,
                        client_destroy);
    cl->ep.max_message_size =
        config->max_message_size ? config->max_message_size : PIPES_DEFAULT_MAX_MESSAGE_SIZE;
    cl->ep.max_queued_bytes =
        config->max_queued_bytes ? config->max_queued_bytes : PIPES_DEFAULT_MAX_QUEUED_BYTES;
    cl->ep.max_queued_messages = config->max_queued_messages ? config->max_queued_messages
                                                             : PIPES_DEFAULT_MAX_QUEUED_MESSAGES;
    if (cl->flags & PIPES_CLIENT_RECONNECT) {
        cl->timer = CreateThreadpoolTimer(on_timer, cl, NULL);
        if (!cl->timer) {
            DWORD e = GetLastError();
            shut_down(cl);
            return pipes_fail_system(PIPES_ERR_SYSTEM, e);
        }
    }

    /* Published before the start of the connection is posted, so a
     * callback may use the caller's stored handle as well as ev->client. A
     * failed connect restores *out: no callback ran then. */
    prev = *out;
    *out = cl;
    st = open_pipe(cl, cl->connect_timeout_ms, 1, &h, &server);
    if (st == PIPES_OK)
        st = attach(cl, h, &server);
    PIPES_CHAOS_POINT("client.connect.attached");
    if (st != PIPES_OK) {
        if ((cl->flags & PIPES_CLIENT_RECONNECT) && st != PIPES_ERR_OUT_OF_MEMORY) {
            /* Reconnect mode: the server may come later; keep trying. */
            pipes_endpoint_count_error(&cl->ep, st);
            schedule_retry(cl);
        } else {
            *out = prev;
            shut_down(cl);
            return st;
        }
    }
    return PIPES_OK;
}

/* Queues item; starts writing when connected. Returns the push status. */
static pipes_status push(pipes_client *cl, pipes_witem *item)
{
    pipes_kick k;
    pipes_status st;
    pipes_conn *c = NULL;
    int first_full = 0; /* QUEUE_FULL is returned to the caller: no LIMIT event */

    AcquireSRWLockExclusive(&cl->lock);
    if (cl->closing) {
        st = PIPES_ERR_STOPPING;
    } else if (!(cl->flags & PIPES_CLIENT_RECONNECT) &&
               (cl->broken || !cl->conn || !pipes_conn_writable_locked(cl->conn))) {
        st = PIPES_ERR_NOT_CONNECTED;
    } else {
        st = pipes_wqueue_push_locked(&cl->ep, &cl->wq, item, &first_full);
        if (st == PIPES_OK && cl->conn) {
            c = cl->conn;
            pipes_conn_addref(c); /* for finishing the kick after unlocking */
            pipes_conn_kick_locked(c, &k);
        }
    }
    ReleaseSRWLockExclusive(&cl->lock);
    PIPES_CHAOS_POINT("client.push.unlocked");
    if (c) {
        /* Called by the application: completion events are posted, never
         * run inside this call. */
        pipes_conn_kick_finish(c, &k);
        pipes_conn_release(c);
    }
    return st;
}

static pipes_status check_send_args(pipes_client *client, const void *data, size_t size)
{
    if (!client || (!data && size))
        return PIPES_ERR_INVALID_ARGUMENT;
    if (size > client->ep.max_message_size)
        return PIPES_ERR_MESSAGE_TOO_LARGE;
    if (pipes_endpoint_is_stopping(&client->ep))
        return PIPES_ERR_STOPPING;
    return PIPES_OK;
}

static pipes_witem *make_item(pipes_client *client, const void *data, size_t size, void *context,
                              pipes_send_waiter *waiter)
{
    pipes_wbuf *buf = pipes_wbuf_create(&client->ep, data, size);
    pipes_witem *item;
    if (!buf)
        return NULL;
    item = pipes_witem_create(buf, context, waiter);
    pipes_wbuf_release(buf); /* the item holds it now */
    return item;
}

static void free_unqueued(pipes_witem *item)
{
    pipes_wbuf_release(item->buf);
    pipes_mem_free(item);
}

PIPES_API pipes_status PIPES_CALL pipes_client_send(pipes_client *client, const void *data,
                                                    size_t size, void *send_context)
{
    pipes_witem *item;
    pipes_status st = check_send_args(client, data, size);
    if (st != PIPES_OK)
        return st;
    item = make_item(client, data, size, send_context, NULL);
    if (!item)
        return PIPES_ERR_OUT_OF_MEMORY;
    st = push(client, item);
    if (st != PIPES_OK) {
        pipes_endpoint_count_error(&client->ep, st);
        free_unqueued(item);
    }
    return st;
}

static DWORD wait_slice(ULONGLONG deadline, uint32_t timeout_ms)
{
    return timeout_ms == PIPES_INFINITE ? INFINITE : (DWORD)remaining_ms(deadline);
}

/* Waits on the waiter's own lock until its item was completed or the
 * deadline passed; returns nonzero when completed. */
static int wait_for_item(pipes_send_waiter *w, ULONGLONG deadline, uint32_t timeout_ms)
{
    int done;
    AcquireSRWLockExclusive(&w->lock);
    while (!w->done &&
           SleepConditionVariableSRW(&w->cv, &w->lock, wait_slice(deadline, timeout_ms), 0)) {
    }
    done = w->done;
    ReleaseSRWLockExclusive(&w->lock);
    return done;
}

/* Queues item, waiting for room in the queue until the deadline. */
static pipes_status push_when_room(pipes_client *client, pipes_witem *item, size_t size,
                                   ULONGLONG deadline, uint32_t timeout_ms)
{
    for (;;) {
        pipes_status st = push(client, item);
        if (st != PIPES_ERR_QUEUE_FULL)
            return st;
        AcquireSRWLockExclusive(&client->lock);
        PIPES_CHAOS_POINT("client.send_wait.full");
        /* The test push applies: a queue that emptied since it failed has
         * room for any message, and nothing would wake a sleeper there. */
        if (!pipes_wqueue_has_room_locked(&client->ep, &client->wq, size) &&
            !SleepConditionVariableSRW(&client->wq.room_cv, &client->lock,
                                       wait_slice(deadline, timeout_ms), 0)) {
            ReleaseSRWLockExclusive(&client->lock);
            return PIPES_ERR_TIMEOUT;
        }
        ReleaseSRWLockExclusive(&client->lock);
        PIPES_CHAOS_POINT("client.send_wait.room");
    }
}

/* The item's time is up: withdraws it if it has not started (returns 1),
 * else cuts the write that carries it (*cut gets a reference on that
 * connection). A message cut mid-way would leave the pipe's framing in
 * doubt, so the caller closes that connection (a reconnecting client then
 * reconnects). */
static int withdraw_or_cut(pipes_client *client, pipes_witem *item, pipes_send_waiter *w,
                           pipes_conn **cut)
{
    int withdrawn = 0, done;
    AcquireSRWLockExclusive(&client->lock);
    /* Under the client lock an item is either queued, being written
     * (conn->writing), or already on its way to completion: writing is
     * cleared under this lock before an item completes, and an item is
     * freed only after its waiter is done. */
    AcquireSRWLockExclusive(&w->lock);
    done = w->done;
    ReleaseSRWLockExclusive(&w->lock);
    if (!done) {
        withdrawn = pipes_wqueue_withdraw_locked(&client->wq, item);
        if (!withdrawn && client->conn && client->conn->writing == item) {
            *cut = client->conn;
            pipes_conn_addref(*cut);
            CancelIoEx((*cut)->pipe, &(*cut)->connect_then_write.write_req.ov);
        }
    }
    ReleaseSRWLockExclusive(&client->lock);
    return withdrawn;
}

PIPES_API pipes_status PIPES_CALL pipes_client_send_wait(pipes_client *client, const void *data,
                                                         size_t size, uint32_t timeout_ms)
{
    ULONGLONG deadline = GetTickCount64() + (timeout_ms == PIPES_INFINITE ? 0 : timeout_ms);
    pipes_send_waiter waiter;
    pipes_witem *item;
    pipes_conn *cut = NULL;
    pipes_status st = check_send_args(client, data, size);

    if (st != PIPES_OK)
        return st;
    if (pipes_engine_worker_ctx())
        return PIPES_ERR_WRONG_THREAD;
    memset(&waiter, 0, sizeof waiter);
    InitializeSRWLock(&waiter.lock);
    InitializeConditionVariable(&waiter.cv);
    item = make_item(client, data, size, NULL, &waiter);
    if (!item)
        return PIPES_ERR_OUT_OF_MEMORY;
    /* A close while we wait must not free the client under us: our
     * reference makes close wait for this call to return (or, closed from
     * a callback, makes our release the one that frees). */
    pipes_endpoint_addref(&client->ep);

    st = push_when_room(client, item, size, deadline, timeout_ms);
    if (st != PIPES_OK) {
        free_unqueued(item);
        pipes_endpoint_count_error(&client->ep, st);
    } else {
        /* The item belongs to the queue now; it is completed (and freed)
         * exactly once by whoever finishes it. */
        if (!wait_for_item(&waiter, deadline, timeout_ms)) {
            PIPES_CHAOS_POINT("client.send_wait.timed_out");
            if (withdraw_or_cut(client, item, &waiter, &cut)) {
                free_unqueued(item);
                waiter.done = 1;
                waiter.status = PIPES_ERR_TIMEOUT;
                pipes_endpoint_count_error(&client->ep, PIPES_ERR_TIMEOUT);
            } else {
                wait_for_item(&waiter, 0, PIPES_INFINITE);
            }
        }
        st = waiter.status;
        if (cut) {
            if (st != PIPES_OK) {
                pipes_conn_close(cut, PIPES_ERR_TIMEOUT);
                st = PIPES_ERR_TIMEOUT;
            }
            pipes_conn_release(cut);
        }
    }
    pipes_endpoint_release(&client->ep);
    return st;
}

PIPES_API pipes_status PIPES_CALL pipes_client_get_server_owner(pipes_client *client,
                                                                wchar_t *sid, size_t cap)
{
    pipes_status st = PIPES_ERR_NOT_CONNECTED;
    if (!client || !sid || cap == 0)
        return PIPES_ERR_INVALID_ARGUMENT;
    sid[0] = L'\0';
    /* cl->conn holds its membership reference while set under the lock:
     * its handle stays open meanwhile. */
    AcquireSRWLockShared(&client->lock);
    if (client->conn && pipes_conn_writable_locked(client->conn))
        st = pipes_security_pipe_owner(client->conn->pipe, sid, cap);
    ReleaseSRWLockShared(&client->lock);
    return st;
}

PIPES_API pipes_status PIPES_CALL pipes_client_get_stats(pipes_client *client, pipes_stats *out)
{
    if (!client || !out || out->struct_size != sizeof *out)
        return PIPES_ERR_INVALID_ARGUMENT;
    pipes_endpoint_fill_stats(&client->ep, out);
    AcquireSRWLockShared(&client->lock);
    out->current_connections = client->conn && pipes_conn_is_live_locked(client->conn) ? 1u : 0u;
    out->queued_messages = client->wq.count;
    out->queued_bytes = client->wq.bytes;
    ReleaseSRWLockShared(&client->lock);
    return PIPES_OK;
}

PIPES_API pipes_status PIPES_CALL pipes_client_get_server(pipes_client *client,
                                                          pipes_peer_identity *out)
{
    pipes_status st = PIPES_ERR_NOT_CONNECTED;
    if (!client || !out)
        return PIPES_ERR_INVALID_ARGUMENT;
    AcquireSRWLockShared(&client->lock);
    if (client->conn && pipes_conn_writable_locked(client->conn)) {
        pipes_peer_identity_of(&client->conn->peer, out);
        st = PIPES_OK;
    }
    ReleaseSRWLockShared(&client->lock);
    return st;
}

PIPES_API pipes_status PIPES_CALL pipes_client_close(pipes_client *client)
{
    if (!client)
        return PIPES_ERR_INVALID_ARGUMENT;
    shut_down(client);
    return PIPES_OK;
}
