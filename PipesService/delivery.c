/*
 * delivery.c - one reconnecting PipesLib client per interactive session,
 * connected to that session's tray pipe \\.\pipe\Pipes.Notify.<session>.
 *
 * The library opens the pipe with identification-level impersonation only
 * and refuses an instance not created in the session
 * (PIPES_CLIENT_REQUIRE_SESSION: GetNamedPipeServerSessionId, recorded by
 * the kernel at creation): a squatter in another session never gets a
 * notification. Then, at CONNECTED, the pipe instance must be owned by the
 * session's user (checked_connection, GetSecurityInfo): one owned by
 * someone else is a squatter of the name; nothing is sent to it (its
 * records wait for the real tray, never counted as displayed), and it is
 * reported (status, event 1020). An owner that cannot be read is treated
 * the same way (counted "unverified").
 *
 * While connected, a session sends the spooled records it should get,
 * oldest first, with at most WINDOW unacknowledged; an `ack` (matched by
 * id to the oldest in flight with it: two submitters' records may share an
 * id, and a tray answers in order) updates the spool and sends the next. A
 * broken pipe forgets what was in flight; the next connection starts from
 * the oldest unacknowledged record again (at-least-once; trays
 * de-duplicate). Without a tray nothing runs here: the library's reconnect
 * timer is the only activity (backoff up to RECONNECT_MAX_MS).
 *
 * Callbacks never rely on a handle stored by the call that created their
 * object: the library may run the first event before pipes_client_connect
 * has returned, so the CONNECTED event publishes its own ev->client.
 */
#include "svc.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wtsapi32.h>

#include "messages.h"
#include "pipes_chaos.h"

#define WINDOW 32
#define RECONNECT_MAX_MS 5000u
#define TEMP_RETRY_MS 5000

typedef struct inflight {
    uint64_t seq;
    int withdraw; /* a `withdraw` of seq's question, not the record itself */
    char id[PIPES_PROTO_MAX_ID + 1];
    char sid[PIPES_PROTO_MAX_SID + 1]; /* its submitter's */
} inflight;

typedef enum run_state {
    RUN_SENDING, /* sends whenever connected */
    RUN_PAUSED,  /* a tray's temporary rejection: retry_timer is armed */
    RUN_CLOSING  /* session_close began: nothing sends or arms retry_timer any more */
} run_state;

/* One tracked session. Lifetime: the delivery's table owns it; whoever
 * takes it out of the table (delivery_session_remove, or session_add
 * losing a race) calls session_close, which ends the callbacks in this
 * order, so that none of them can touch a freed client, timer or dsession
 * whatever order they run in:
 *   1. run = RUN_CLOSING under the lock: on_reply no longer arms the timer,
 *      on_retry and the pump no longer send;
 *   2. cancel retry_timer and wait for a running on_retry: none runs later,
 *      and none can be armed again (1);
 *   3. pipes_client_close: no on_event runs after it returns;
 *   4. close the timer and free. */
typedef struct dsession {
    delivery *d;
    uint32_t session;
    PTP_TIMER retry_timer;
    uint64_t mismatches_logged; /* the main loop's only (delivery_poll) */
    uint64_t squats_logged;     /* likewise */
    SRWLOCK lock; /* everything below */
    /* The client: the CONNECTED event publishes its own ev->client here,
     * session_open the same pointer once connect returns. */
    pipes_client *client;
    run_state run;
    int connected;
    int squatted; /* nothing is sent on this connection: its pipe's owner is not the
                     session's user, or could not be read (checked_connection) */
    uint64_t conn_id;
    uint64_t cursor; /* highest seq sent on this connection */
    inflight fly[WINDOW];
    size_t fly_n;
    uint64_t delivered;
    uint64_t squats, unverified; /* connections so judged (checked_connection) */
    char holder[PIPES_PROTO_MAX_SID + 1]; /* the last squatter's user SID */
    char user[520];                       /* the session's "DOMAIN\user" ... */
    char user_sid[PIPES_PROTO_MAX_SID + 1]; /* ... and SID, read at each connection */
} dsession;

struct delivery {
    SRWLOCK lock; /* the session table */
    spool *spool;
    const svc_config *cfg;
    delivery_displayed_fn on_displayed;
    delivery_answered_fn on_answered;
    void *ctx;
    dsession *sessions[SVC_MAX_SESSIONS];
    size_t n;
    volatile LONG64 delivered, tray_rejected;
    delivery_hook_fn hook; /* tests only; set before any session */
    void *hook_ctx;
};

/* A place where another thread may act: the chaos build's random delay,
 * and the test hook. */
static void point(const delivery *d, const char *where)
{
    PIPES_CHAOS_POINT(where);
    if (d->hook)
        d->hook(d->hook_ctx, where);
}

static int can_send_locked(const dsession *ds)
{
    return ds->connected && !ds->squatted && ds->run == RUN_SENDING && ds->fly_n < WINDOW;
}

static void viewer_locked(const dsession *ds, spool_viewer *v)
{
    v->session = ds->session;
    v->user = ds->user;
    v->user_sid = ds->user_sid;
}

/* Sends the withdraws the session is owed (answers given elsewhere) that
 * are not in flight. Called with ds->lock held. */
static void pump_withdraws_locked(dsession *ds)
{
    uint64_t skip[WINDOW];
    size_t n = 0, i;
    spool_withdraw w;
    char buf[2048];
    size_t len;
    for (i = 0; i < ds->fly_n; i++)
        if (ds->fly[i].withdraw)
            skip[n++] = ds->fly[i].seq;
    while (can_send_locked(ds) && spool_next_withdraw(ds->d->spool, ds->session, skip, n, &w)) {
        if (pipes_proto_write_answer(&w.msg, buf, sizeof buf, &len) != PIPES_PROTO_OK ||
            pipes_client_send(ds->client, buf, len, NULL) != PIPES_OK)
            break;
        memset(&ds->fly[ds->fly_n], 0, sizeof ds->fly[0]);
        ds->fly[ds->fly_n].seq = w.seq;
        ds->fly[ds->fly_n].withdraw = 1;
        memcpy(ds->fly[ds->fly_n].id, w.msg.id, w.msg.id_len + 1);
        ds->fly_n++;
        skip[n++] = w.seq;
    }
}

/* Sends what the session should get next. Called with ds->lock held. */
static void pump_locked(dsession *ds)
{
    spool_item item;
    spool_viewer v;
    viewer_locked(ds, &v);
    pump_withdraws_locked(ds);
    while (can_send_locked(ds) && spool_next(ds->d->spool, ds->cursor, &v, &item)) {
        pipes_status st = pipes_client_send(ds->client, item.msg, item.msg_len, NULL);
        free(item.msg);
        if (st != PIPES_OK)
            break; /* queue full or broken: the next event resumes */
        ds->fly[ds->fly_n].seq = item.seq;
        ds->fly[ds->fly_n].withdraw = 0;
        memcpy(ds->fly[ds->fly_n].id, item.id, sizeof item.id);
        memcpy(ds->fly[ds->fly_n].sid, item.sid, sizeof item.sid);
        ds->fly_n++;
        ds->cursor = item.seq;
    }
}

static void log_failure(dsession *ds, const char *id, const wchar_t *why)
{
    wchar_t wid[PIPES_PROTO_MAX_ID + 1], ws[16];
    svc_to_wide(id, strlen(id), wid, PIPES_PROTO_MAX_ID + 1);
    swprintf(ws, 16, L"%lu", (unsigned long)ds->session);
    svc_event(EVENTLOG_WARNING_TYPE, MSG_DELIVERY_FAILED, wid, ws, why);
}

/* A tray's text on its way to the log and the Event Log: no line breaks or
 * other control characters (a tray must not forge log lines). */
static void sanitize(wchar_t *s)
{
    for (; *s; s++)
        if (*s < 0x20 || (*s >= 0x7F && *s < 0xA0) || *s == 0x2028 || *s == 0x2029)
            *s = L' ';
}

/* A tray's message that is not a reply (answers.c): answered on the same
 * connection; a first answer goes to the waiting submitters, and the
 * withdraws it makes owed go out to every session. */
static void on_tray_message(dsession *ds, const pipes_event *ev)
{
    char reply[2048];
    size_t len = 0;
    spool_viewer v;
    spool_answered won;
    int first = 0, squatted;
    AcquireSRWLockShared(&ds->lock);
    viewer_locked(ds, &v);
    squatted = ds->squatted;
    if (!squatted)
        first = answers_from_tray(ds->d->spool, &v, ev->data, ev->size, reply, sizeof reply,
                                  &len, &won);
    ReleaseSRWLockShared(&ds->lock);
    if (squatted) {
        /* Nothing was sent to it, so it has nothing to answer. */
        pipes_proto_reply r;
        pipes_proto_reply_rejected(&r, NULL, PIPES_PROTO_REASON_NOT_ALLOWED,
                                   "this pipe's server is not the session's user");
        pipes_proto_write_reply(&r, reply, sizeof reply, &len);
    }
    /* The reply goes on the event's own client, the connection it came on. */
    if (len)
        pipes_client_send(ev->client, reply, len, NULL);
    point(ds->d, "delivery.answered");
    if (!first)
        return;
    if (ds->d->on_answered)
        ds->d->on_answered(ds->d->ctx, won.sid, won.id, &won.winner);
    delivery_kick(ds->d);
}

static void on_reply(dsession *ds, const pipes_event *ev)
{
    pipes_proto_reply reply;
    pipes_proto_error err;
    size_t i;
    int found = 0, armed = 0;
    inflight f;

    point(ds->d, "delivery.reply");
    if (pipes_proto_parse_reply(ev->data, ev->size, &reply, &err) != PIPES_PROTO_OK ||
        (reply.type != PIPES_PROTO_REPLY_ACK && reply.type != PIPES_PROTO_REPLY_REJECTED)) {
        on_tray_message(ds, ev); /* a response, or something to reject */
        return;
    }

    AcquireSRWLockExclusive(&ds->lock);
    for (i = 0; i < ds->fly_n; i++) {
        if (strcmp(ds->fly[i].id, reply.id) == 0) {
            f = ds->fly[i];
            memmove(&ds->fly[i], &ds->fly[i + 1], (ds->fly_n - i - 1) * sizeof ds->fly[0]);
            ds->fly_n--;
            found = 1;
            break;
        }
    }
    ReleaseSRWLockExclusive(&ds->lock);
    point(ds->d, "delivery.reply.unlocked");
    if (!found)
        return; /* a repeat from an earlier connection */

    if (f.withdraw && (reply.type == PIPES_PROTO_REPLY_ACK ||
                       !pipes_proto_reason_is_temporary(reply.reason))) {
        /* Done with, or refused for good (a tray too old to know withdraw). */
        spool_withdrawn(ds->d->spool, f.seq, ds->session);
    } else if (reply.type == PIPES_PROTO_REPLY_ACK) {
        spool_ack(ds->d->spool, f.seq, ds->session, 1);
        InterlockedIncrement64(&ds->d->delivered);
        AcquireSRWLockExclusive(&ds->lock);
        ds->delivered++;
        ReleaseSRWLockExclusive(&ds->lock);
        if (ds->d->on_displayed)
            ds->d->on_displayed(ds->d->ctx, f.sid, f.id, ds->session);
    } else if (!pipes_proto_reason_is_temporary(reply.reason)) {
        /* Permanent: this session will never take it; drop it for the session. */
        wchar_t why[PIPES_PROTO_MAX_DETAIL + 64];
        wchar_t detail[PIPES_PROTO_MAX_DETAIL + 1];
        const char *reason = pipes_proto_reason_name(reply.reason);
        svc_to_wide(reply.detail, reply.detail_len, detail, PIPES_PROTO_MAX_DETAIL + 1);
        sanitize(detail);
        swprintf(why, sizeof why / sizeof why[0], L"the tray rejected it (%hs) %ls",
                 reason ? reason : "unknown", detail);
        log_failure(ds, f.id, why);
        spool_ack(ds->d->spool, f.seq, ds->session, 0);
        InterlockedIncrement64(&ds->d->tray_rejected);
    } else {
        /* Temporary: pause this session and resend from the oldest later. */
        InterlockedIncrement64(&ds->d->tray_rejected);
        AcquireSRWLockExclusive(&ds->lock);
        /* Armed under the lock, only while sending: once session_close has
         * set RUN_CLOSING nothing arms it again (see dsession). */
        if (ds->run == RUN_SENDING) {
            FILETIME due;
            ULARGE_INTEGER u;
            ds->run = RUN_PAUSED;
            u.QuadPart = (ULONGLONG)(-(LONGLONG)TEMP_RETRY_MS * 10000);
            due.dwLowDateTime = u.LowPart;
            due.dwHighDateTime = u.HighPart;
            SetThreadpoolTimer(ds->retry_timer, &due, 0, 0);
            armed = 1;
        }
        ReleaseSRWLockExclusive(&ds->lock);
        if (armed)
            point(ds->d, "delivery.timer_armed");
        return;
    }
    AcquireSRWLockExclusive(&ds->lock);
    pump_locked(ds);
    ReleaseSRWLockExclusive(&ds->lock);
    point(ds->d, "delivery.reply.done");
}

static void CALLBACK on_retry(PTP_CALLBACK_INSTANCE inst, void *ctx, PTP_TIMER timer)
{
    dsession *ds = (dsession *)ctx;
    (void)inst;
    (void)timer;
    point(ds->d, "delivery.retry");
    AcquireSRWLockExclusive(&ds->lock);
    if (ds->run == RUN_PAUSED) {
        ds->run = RUN_SENDING;
        ds->fly_n = 0; /* resend everything unacknowledged, oldest first */
        ds->cursor = 0;
        pump_locked(ds);
    }
    ReleaseSRWLockExclusive(&ds->lock);
    point(ds->d, "delivery.retry.done");
}

/* A new connection to the session's tray pipe (the library checked that
 * the instance was created in the session: GetNamedPipeServerSessionId):
 * whose is it? Reads the session's user now (a session id can get a new
 * desktop), and the owner of the pipe instance (GetSecurityInfo): the
 * tray creates it with its user as owner, and a standard user cannot
 * make another user the owner of what he creates. */
static void checked_connection(dsession *ds, const pipes_event *ev)
{
    wchar_t owner[PIPES_MAX_SID_STRING];
    char user[520], user_sid[PIPES_PROTO_MAX_SID + 1], holder[PIPES_PROTO_MAX_SID + 1] = "";
    const char *expected = ds->d->cfg->tray_user_override[0] ? ds->d->cfg->tray_user_override
                                                             : user_sid;
    int readable;

    svc_session_user(ds->session, user, sizeof user);
    svc_session_user_sid(ds->session, user_sid, sizeof user_sid);
    readable = pipes_client_get_server_owner(ev->client, owner, PIPES_MAX_SID_STRING) ==
                   PIPES_OK &&
               svc_to_utf8(owner, holder, sizeof holder) > 0;
    AcquireSRWLockExclusive(&ds->lock);
    ds->client = ev->client;
    ds->connected = 1;
    ds->conn_id = ev->connection_id;
    ds->cursor = 0;
    ds->fly_n = 0;
    memcpy(ds->user, user, sizeof user);
    memcpy(ds->user_sid, user_sid, sizeof user_sid);
    /* Served only when the owner is the session's user. An owner that
     * cannot be read, or a session whose user is unknown, cannot be told
     * from a squatter either: nothing is sent (counted unverified). */
    ds->squatted = !readable || !expected[0] || _stricmp(holder, expected) != 0;
    if (ds->squatted && readable && expected[0]) {
        ds->squats++;
        memcpy(ds->holder, holder, sizeof holder);
    } else if (ds->squatted) {
        ds->unverified++;
    }
    pump_locked(ds);
    ReleaseSRWLockExclusive(&ds->lock);
    point(ds->d, "delivery.checked.unlocked");
}

static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
{
    dsession *ds = (dsession *)user_data;
    point(ds->d, "delivery.event");
    switch (ev->type) {
    case PIPES_EVENT_CONNECTED:
        checked_connection(ds, ev);
        point(ds->d, "delivery.connected");
        break;
    case PIPES_EVENT_DISCONNECTED:
        AcquireSRWLockExclusive(&ds->lock);
        if (ds->conn_id == ev->connection_id) {
            ds->connected = 0;
            ds->fly_n = 0;
        }
        ReleaseSRWLockExclusive(&ds->lock);
        point(ds->d, "delivery.disconnected");
        break;
    case PIPES_EVENT_MESSAGE:
        on_reply(ds, ev);
        break;
    default:
        break;
    }
}

delivery *delivery_create(spool *s, const svc_config *cfg, delivery_displayed_fn on_displayed,
                          void *ctx)
{
    delivery *d = (delivery *)calloc(1, sizeof *d);
    if (!d)
        return NULL;
    InitializeSRWLock(&d->lock);
    d->spool = s;
    d->cfg = cfg;
    d->on_displayed = on_displayed;
    d->ctx = ctx;
    return d;
}

void delivery_set_answered(delivery *d, delivery_answered_fn on_answered)
{
    d->on_answered = on_answered;
}

void delivery_set_test_hook(delivery *d, delivery_hook_fn fn, void *ctx)
{
    d->hook = fn;
    d->hook_ctx = ctx;
}

static dsession *session_open(delivery *d, uint32_t session)
{
    dsession *ds = (dsession *)calloc(1, sizeof *ds);
    wchar_t name[PIPES_PROTO_PIPE_NAME_BUFSIZE];
    pipes_client_config cc;
    pipes_client *client = NULL;
    pipes_status st;

    if (!ds)
        return NULL;
    ds->d = d;
    ds->session = session;
    InitializeSRWLock(&ds->lock);
    ds->retry_timer = CreateThreadpoolTimer(on_retry, ds, NULL);
    if (!ds->retry_timer) {
        free(ds);
        return NULL;
    }
    pipes_proto_tray_pipe_name_w(session, name, PIPES_PROTO_PIPE_NAME_BUFSIZE);
    memset(&cc, 0, sizeof cc);
    cc.struct_size = sizeof cc;
    cc.pipe_name = name;
    cc.connect_timeout_ms = 2000;
    cc.max_message_size = PIPES_PROTO_MAX_MESSAGE;
    cc.flags = PIPES_CLIENT_RECONNECT | PIPES_CLIENT_REQUIRE_SESSION;
    /* The tray of session N must run in session N (the override is a test
     * hook that makes the check expect another session; svc_session_host is
     * N itself in the product, a stand-in's host in a test program). */
    cc.required_server_session = d->cfg->has_session_override ? d->cfg->session_override
                                                              : svc_session_host(session);
    cc.reconnect_min_ms = 200;
    cc.reconnect_max_ms = RECONNECT_MAX_MS;
    cc.on_event = on_event;
    cc.user_data = ds;
    st = pipes_client_connect(&cc, &client);
    if (st != PIPES_OK) {
        wchar_t why[128], ws[16];
        swprintf(why, 128, L"%hs", pipes_status_string(st));
        swprintf(ws, 16, L"%lu", (unsigned long)session);
        svc_event(EVENTLOG_ERROR_TYPE, MSG_SERVICE_ERROR, why, ws, NULL);
        CloseThreadpoolTimer(ds->retry_timer);
        free(ds);
        return NULL;
    }
    point(d, "delivery.connect_returned");
    AcquireSRWLockExclusive(&ds->lock);
    ds->client = client;
    ReleaseSRWLockExclusive(&ds->lock);
    return ds;
}

/* Ends ds in the order its lifetime rule (dsession) gives. */
static void session_close(dsession *ds)
{
    pipes_client *client;
    AcquireSRWLockExclusive(&ds->lock);
    ds->run = RUN_CLOSING;
    client = ds->client;
    ReleaseSRWLockExclusive(&ds->lock);
    point(ds->d, "delivery.close.marked");
    SetThreadpoolTimer(ds->retry_timer, NULL, 0, 0);
    point(ds->d, "delivery.close.timer_wait");
    WaitForThreadpoolTimerCallbacks(ds->retry_timer, TRUE);
    pipes_client_close(client);
    point(ds->d, "delivery.client_closed");
    CloseThreadpoolTimer(ds->retry_timer);
    free(ds);
}

int delivery_session_add(delivery *d, uint32_t session)
{
    size_t i;
    dsession *ds;
    int known = 0;
    AcquireSRWLockShared(&d->lock);
    for (i = 0; i < d->n && !known; i++)
        known = d->sessions[i]->session == session;
    ReleaseSRWLockShared(&d->lock);
    if (known)
        return 0;
    /* Connecting may wait for a busy tray: not under the table lock. */
    ds = session_open(d, session);
    if (!ds)
        return 0;
    AcquireSRWLockExclusive(&d->lock);
    for (i = 0; i < d->n && !known; i++)
        known = d->sessions[i]->session == session;
    if (!known && d->n < SVC_MAX_SESSIONS) {
        d->sessions[d->n++] = ds;
        ds = NULL;
    }
    ReleaseSRWLockExclusive(&d->lock);
    if (ds) {
        session_close(ds);
        return 0;
    }
    return 1;
}

void delivery_session_remove(delivery *d, uint32_t session)
{
    size_t i;
    dsession *ds = NULL;
    AcquireSRWLockExclusive(&d->lock);
    for (i = 0; i < d->n; i++)
        if (d->sessions[i]->session == session) {
            ds = d->sessions[i];
            d->sessions[i] = d->sessions[--d->n];
            break;
        }
    ReleaseSRWLockExclusive(&d->lock);
    if (ds)
        session_close(ds);
}

const wchar_t *delivery_session_event(delivery *d, DWORD event_type, uint32_t session)
{
    switch (event_type) {
    case WTS_SESSION_LOGON:
    case WTS_SESSION_UNLOCK:
    case WTS_CONSOLE_CONNECT:
    case WTS_REMOTE_CONNECT:
        if (session != 0 && delivery_session_add(d, session))
            return L"tracking its tray";
        return NULL;
    case WTS_SESSION_LOGOFF:
        delivery_session_remove(d, session);
        /* A later logon with this id is another desktop. */
        spool_session_reset(d->spool, session);
        return L"logged off";
    default:
        return NULL;
    }
}

void delivery_sessions_sync(delivery *d, const uint32_t *ids, size_t n)
{
    uint32_t gone[SVC_MAX_SESSIONS];
    size_t gone_n = 0, i, j;
    AcquireSRWLockShared(&d->lock);
    for (i = 0; i < d->n; i++) {
        int keep = 0;
        for (j = 0; j < n && !keep; j++)
            keep = d->sessions[i]->session == ids[j];
        if (!keep)
            gone[gone_n++] = d->sessions[i]->session;
    }
    ReleaseSRWLockShared(&d->lock);
    for (i = 0; i < gone_n; i++)
        delivery_session_remove(d, gone[i]);
    for (i = 0; i < n; i++)
        delivery_session_add(d, ids[i]);
}

void delivery_kick(delivery *d)
{
    size_t i;
    AcquireSRWLockShared(&d->lock);
    for (i = 0; i < d->n; i++) {
        dsession *ds = d->sessions[i];
        AcquireSRWLockExclusive(&ds->lock);
        pump_locked(ds);
        ReleaseSRWLockExclusive(&ds->lock);
        point(d, "delivery.kick.unlocked");
    }
    ReleaseSRWLockShared(&d->lock);
}

static uint64_t mismatches_of(dsession *ds)
{
    pipes_stats st;
    pipes_client *client;
    AcquireSRWLockShared(&ds->lock);
    client = ds->client;
    ReleaseSRWLockShared(&ds->lock);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    if (pipes_client_get_stats(client, &st) != PIPES_OK)
        return 0;
    return st.errors_by_status[PIPES_ERR_SERVER_IDENTITY_MISMATCH];
}

/* One event per poll at most for a session whose tray pipe was squatted. */
static void log_squat(dsession *ds)
{
    wchar_t name[PIPES_PROTO_PIPE_NAME_BUFSIZE], ws[16], holder[PIPES_PROTO_MAX_SID + 1];
    uint64_t squats;
    AcquireSRWLockShared(&ds->lock);
    squats = ds->squats;
    svc_to_wide(ds->holder, strlen(ds->holder), holder, PIPES_PROTO_MAX_SID + 1);
    ReleaseSRWLockShared(&ds->lock);
    if (squats <= ds->squats_logged)
        return;
    pipes_proto_tray_pipe_name_w(ds->session, name, PIPES_PROTO_PIPE_NAME_BUFSIZE);
    swprintf(ws, 16, L"%lu", (unsigned long)ds->session);
    svc_event(EVENTLOG_ERROR_TYPE, MSG_TRAY_SQUATTED, name, ws, holder);
    ds->squats_logged = squats;
}

void delivery_poll(delivery *d)
{
    size_t i;
    AcquireSRWLockShared(&d->lock);
    for (i = 0; i < d->n; i++) {
        dsession *ds = d->sessions[i];
        uint64_t m = mismatches_of(ds);
        log_squat(ds);
        if (m > ds->mismatches_logged) {
            /* One event per poll at most, however many attempts were refused. */
            wchar_t name[PIPES_PROTO_PIPE_NAME_BUFSIZE], ws[16], count[32];
            uint32_t expected = d->cfg->has_session_override ? d->cfg->session_override
                                                             : svc_session_host(ds->session);
            pipes_proto_tray_pipe_name_w(ds->session, name, PIPES_PROTO_PIPE_NAME_BUFSIZE);
            swprintf(ws, 16, L"%lu", (unsigned long)expected);
            swprintf(count, 32, L"%llu", (unsigned long long)m);
            svc_event(EVENTLOG_ERROR_TYPE, MSG_IDENTITY_MISMATCH, name, ws, count);
            ds->mismatches_logged = m;
        }
    }
    ReleaseSRWLockShared(&d->lock);
}

void delivery_get_stats(delivery *d, delivery_stats *out)
{
    size_t i;
    memset(out, 0, sizeof *out);
    out->delivered = (uint64_t)InterlockedCompareExchange64(&d->delivered, 0, 0);
    out->tray_rejected = (uint64_t)InterlockedCompareExchange64(&d->tray_rejected, 0, 0);
    AcquireSRWLockShared(&d->lock);
    out->session_count = d->n;
    for (i = 0; i < d->n; i++) {
        dsession *ds = d->sessions[i];
        delivery_session_info *si = &out->sessions[i];
        si->session = ds->session;
        si->identity_mismatches = mismatches_of(ds);
        out->identity_mismatches += si->identity_mismatches;
        AcquireSRWLockShared(&ds->lock);
        si->connected = ds->connected;
        si->squatted = ds->connected && ds->squatted;
        si->delivered = ds->delivered;
        si->squats = ds->squats;
        si->unverified = ds->unverified;
        ReleaseSRWLockShared(&ds->lock);
        out->squats += si->squats;
        out->unverified += si->unverified;
    }
    ReleaseSRWLockShared(&d->lock);
}

void delivery_destroy(delivery *d)
{
    if (!d)
        return;
    while (d->n > 0)
        delivery_session_remove(d, d->sessions[d->n - 1]->session);
    free(d);
}
