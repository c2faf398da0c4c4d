/*
 * server.c - a named-pipe server: a pool of listening instances with
 * ConnectNamedPipe outstanding, replaced as clients connect, and the
 * connections they become.
 *
 * OWNERSHIP
 *   The server's list holds one reference on every connection object, from
 *   instance creation until its read chain (or failed connect) ends. The
 *   connmap indexes the connected ones; it holds no reference of its own.
 *   Each connection holds a reference on the server's endpoint, so the
 *   server outlives all of them.
 */
#include <string.h>

#include "conn.h"
#include "connmap.h"
#include "endpoint.h"
#include "pipename.h"
#include "pipes_chaos.h"
#include "runtime.h"
#include "security.h"

#define DEFAULT_BUFFER_SIZE (64u * 1024u)
#define MAX_LISTEN_INSTANCES 64u

struct pipes_server {
    pipes_endpoint ep; /* first: events cast between them */
    wchar_t name[PIPES_MAX_PIPE_NAME + 1];
    PSECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa;
    DWORD pipe_mode;
    unsigned buffer_size;
    unsigned listen_target;
    unsigned max_connections;
    pipes_authorize_fn authorize;

    SRWLOCK lock; /* protects everything below */
    pipes_conn *conns; /* all connection objects, listening or connected */
    pipes_connmap map; /* connected ones by id */
    unsigned listening; /* ConnectNamedPipe issued, its completion not yet run */
    unsigned connected; /* places taken among max_connections (conns with holds_place) */
    uint64_t next_id;
};

static void on_connected(pipes_req *req, DWORD error, DWORD bytes);
static void server_read_ending(pipes_conn *c);
static void server_read_ended(pipes_conn *c);
static int server_reuse_pipe(pipes_conn *c);
static pipes_status listen_on(pipes_server *s, HANDLE pipe);

static const pipes_conn_hooks server_hooks = {server_read_ending, server_read_ended, NULL,
                                               server_reuse_pipe};

static pipes_server *server_of(pipes_conn *c)
{
    return (pipes_server *)c->ep;
}

/* Gives back c's place among max_connections, if it holds one. */
static void give_back_place_locked(pipes_server *s, pipes_conn *c)
{
    if (c->holds_place) {
        c->holds_place = 0;
        s->connected--;
    }
}

/* Removes c from the list (and map), dropping the list's reference. */
static void server_forget(pipes_conn *c)
{
    pipes_server *s = server_of(c);
    AcquireSRWLockExclusive(&s->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->id)
        pipes_connmap_remove(&s->map, c->id);
    give_back_place_locked(s, c);
    ReleaseSRWLockExclusive(&s->lock);
    pipes_conn_release(c);
}

/* Before DISCONNECTED: a client that connects once the callback saw it
 * must not be refused for the place of the connection that ended
 * (ChaosEngine.APlaceIsFreeOnceDisconnectedWasDelivered). */
static void server_read_ending(pipes_conn *c)
{
    pipes_server *s = server_of(c);
    AcquireSRWLockExclusive(&s->lock);
    give_back_place_locked(s, c);
    ReleaseSRWLockExclusive(&s->lock);
}

static void server_read_ended(pipes_conn *c)
{
    server_forget(c);
}

/* INSTANCE REUSE. An ended connection's instance goes back to listening
 * (DisconnectNamedPipe, ConnectNamedPipe: the documented way to serve the
 * next client on an instance) instead of being closed, while the server
 * has fewer than REUSE_FACTOR x listen_instances waiting; connects top the
 * pool up to listen_instances as before. Only a connection its client
 * ended (PEER_CLOSED) is reused: DisconnectNamedPipe throws away what the
 * client has not read yet, so after a disconnect by the server (or a
 * refusal, or a failed connect) the handle is closed, and the client can
 * still read what was written before. Under churn the pool then refills
 * from ended connections and no instance is created or closed: that saves
 * CreateNamedPipeW, binding it to the port, its completion mode and
 * CloseHandle for every connection (docs/PERFORMANCE.md). The instance's
 * security descriptor is the server's in either case, and nothing of the
 * old connection (data, identity, token) survives: it all lives in the
 * connection object, which is freed here. Called from pipes_conn_release
 * at zero references (no lock held, no I/O outstanding). */
#define REUSE_FACTOR 2u
static int server_reuse_pipe(pipes_conn *c)
{
    pipes_server *s = server_of(c);
    int reuse;
    if (c->id == 0 || c->close_reason != PIPES_ERR_PEER_CLOSED)
        return 0;
    AcquireSRWLockShared(&s->lock);
    reuse = !pipes_endpoint_is_stopping(&s->ep) && s->listening < REUSE_FACTOR * s->listen_target;
    ReleaseSRWLockShared(&s->lock);
    if (!reuse || !DisconnectNamedPipe(c->pipe))
        return 0;
    /* listen_on owns the handle from here, whatever happens. */
    if (listen_on(s, c->pipe) != PIPES_OK)
        pipes_endpoint_count_error(&s->ep, PIPES_ERR_SYSTEM);
    return 1;
}

/* Creates one more listening instance. `first` adds
 * FILE_FLAG_FIRST_PIPE_INSTANCE. Returns the status of CreateNamedPipeW. */
static pipes_status add_instance(pipes_server *s, int first)
{
    HANDLE pipe;
    DWORD error;
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;

    if (first)
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    pipe = CreateNamedPipeW(s->name, open_mode, s->pipe_mode, PIPE_UNLIMITED_INSTANCES,
                            s->buffer_size, s->buffer_size, 0, &s->sa);
    if (pipe == INVALID_HANDLE_VALUE) {
        error = GetLastError();
        /* With FILE_FLAG_FIRST_PIPE_INSTANCE, an existing instance of the
         * name owned by someone else shows as access denied. */
        if (first && error == ERROR_ACCESS_DENIED)
            return pipes_fail_system(PIPES_ERR_NAME_IN_USE, error);
        return pipes_fail_system(pipes_status_from_win32(error), error);
    }
    if (!pipes_engine_bind(s->ep.engine, pipe)) {
        error = GetLastError();
        CloseHandle(pipe);
        return pipes_fail_system(PIPES_ERR_SYSTEM, error);
    }
    return listen_on(s, pipe);
}

/* Makes `pipe` (bound to the engine, no client) a listening instance: a
 * new connection object with ConnectNamedPipe outstanding. Takes the
 * handle: on failure it is closed. */
static pipes_status listen_on(pipes_server *s, HANDLE pipe)
{
    pipes_conn *c;
    BOOL ok;
    DWORD error;

    c = pipes_conn_create(&s->ep, &server_hooks, pipe, NULL, NULL);
    if (!c) {
        CloseHandle(pipe);
        return PIPES_ERR_OUT_OF_MEMORY;
    }
    c->connect_then_write.connect_req.complete = on_connected;

    AcquireSRWLockExclusive(&s->lock);
    /* stop sets the endpoint's `stopping` before it takes this lock to
     * close the listed connections: either we see it here, or stop sees
     * this instance in the list. */
    if (pipes_endpoint_is_stopping(&s->ep)) {
        ReleaseSRWLockExclusive(&s->lock);
        pipes_conn_release(c);
        return PIPES_ERR_STOPPING;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->listening++; /* until on_connected runs for it */

    pipes_conn_io_begin(c);
    PIPES_COUNT_INC(calls_connect_named_pipe);
    ok = ConnectNamedPipe(pipe, &c->connect_then_write.connect_req.ov);
    error = ok ? 0 : GetLastError();
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("server.connect_issued");

    if (error == ERROR_IO_PENDING ||
        (ok && !pipes_engine_completed_at_once(s->ep.engine, ok, error)))
        return PIPES_OK; /* a packet will come */
    if (ok || error == ERROR_PIPE_CONNECTED || error == ERROR_NO_DATA) {
        /* A client got in between create and connect (ERROR_NO_DATA: and
         * has already closed, possibly after writing), or the connect
         * completed in the call in skip mode. No packet was queued: hand
         * the request to the port as a success, and a worker handles the
         * connection like any other (conn.h, ONE COMPLETION PATH); the read
         * chain delivers what the client wrote. ERROR_PIPE_CONNECTED leaves
         * STATUS_PENDING in the OVERLAPPED, which dispatch would read back. */
        c->connect_then_write.connect_req.ov.Internal = 0;
        c->connect_then_write.connect_req.ov.InternalHigh = 0;
        if (pipes_engine_requeue(s->ep.engine, &c->connect_then_write.connect_req, 0))
            return PIPES_OK;
        error = GetLastError();
    }
    pipes_conn_io_no_packet(c);
    AcquireSRWLockExclusive(&s->lock);
    s->listening--;
    ReleaseSRWLockExclusive(&s->lock);
    pipes_conn_close(c, pipes_status_from_win32(error));
    server_forget(c);
    return pipes_fail_system(PIPES_ERR_SYSTEM, error);
}

#define REPLENISH_ATTEMPTS 3 /* failures tolerated per call before giving up */

/* Tops the pool of listening instances back up to its target. A failure
 * is retried a few times: the pool must not drain because of one bad
 * instance; if creating keeps failing, the next connect tries again. */
static void replenish(pipes_server *s)
{
    unsigned failures = 0;
    for (;;) {
        int need;
        AcquireSRWLockShared(&s->lock);
        need = !pipes_endpoint_is_stopping(&s->ep) && s->listening < s->listen_target;
        ReleaseSRWLockShared(&s->lock);
        if (!need)
            return;
        if (add_instance(s, 0) != PIPES_OK) {
            pipes_endpoint_count_error(&s->ep, PIPES_ERR_SYSTEM);
            if (++failures >= REPLENISH_ATTEMPTS)
                return;
        }
    }
}

static void refuse(pipes_server *s, pipes_conn *c, pipes_status why)
{
    InterlockedIncrement64(&s->ep.stats.refused);
    pipes_endpoint_count_error(&s->ep, why);
    DisconnectNamedPipe(c->pipe);
    pipes_conn_close(c, why);
    server_forget(c);
}

static void on_connected(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_conn *c = CONTAINING_RECORD(req, pipes_conn, connect_then_write.connect_req);
    pipes_server *s = server_of(c);
    pipes_peer_identity peer;
    pipes_event ev;
    int over_limit;
    (void)bytes;

    /* The instance is no longer listening: replace it first, so the name
     * always has an instance waiting. */
    AcquireSRWLockExclusive(&s->lock);
    s->listening--;
    ReleaseSRWLockExclusive(&s->lock);
    replenish(s);

    if (error != 0 && error != ERROR_PIPE_CONNECTED && error != ERROR_NO_DATA) {
        /* Cancelled by stop, or the client vanished before we saw it. */
        pipes_conn_close(c, pipes_status_from_win32(error));
        server_forget(c);
        pipes_conn_release(c);
        return;
    }

    /* The connection takes its place among max_connections here, in the
     * same locked step as the check, so clients connecting at once cannot
     * all pass it. holds_place marks the place taken: the end of the read
     * chain (before DISCONNECTED) or server_forget gives it back, whatever
     * refuses the connection below. */
    AcquireSRWLockExclusive(&s->lock);
    over_limit = s->connected >= s->max_connections;
    if (!over_limit) {
        c->id = ++s->next_id;
        c->holds_place = 1;
        s->connected++;
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (over_limit) {
        refuse(s, c, PIPES_ERR_TOO_MANY_CONNECTIONS);
        pipes_endpoint_post_event(&s->ep, PIPES_EVENT_LIMIT, PIPES_ERR_TOO_MANY_CONNECTIONS, 0,
                                  NULL);
        pipes_conn_release(c);
        return;
    }

    pipes_security_client_identity(c->pipe, &c->peer);
    pipes_peer_identity_of(&c->peer, &peer);
    if (s->authorize && !pipes_endpoint_authorize(&s->ep, s->authorize, &peer)) {
        refuse(s, c, PIPES_ERR_REFUSED);
        pipes_conn_release(c);
        return;
    }

    AcquireSRWLockExclusive(&s->lock);
    if (!pipes_connmap_insert(&s->map, c)) {
        ReleaseSRWLockExclusive(&s->lock);
        refuse(s, c, PIPES_ERR_OUT_OF_MEMORY);
        pipes_conn_release(c);
        return;
    }
    ReleaseSRWLockExclusive(&s->lock);
    /* A stop may have closed it meanwhile (ABANDONED): then no event. */
    if (!pipes_conn_open(c)) {
        server_forget(c);
        pipes_conn_release(c);
        return;
    }

    InterlockedIncrement64(&s->ep.stats.connects);
    memset(&ev, 0, sizeof ev);
    ev.type = PIPES_EVENT_CONNECTED;
    ev.connection_id = c->id;
    ev.peer = &peer;
    pipes_conn_deliver(c, &ev);
    pipes_conn_read(c);
    pipes_conn_release(c); /* the connect's reference */
}

/* ---- public API -------------------------------------------------------- */

static void server_destroy(pipes_endpoint *ep)
{
    pipes_server *s = (pipes_server *)ep;
    pipes_connmap_free(&s->map);
    if (s->sd)
        LocalFree(s->sd);
    pipes_mem_free(s);
    PIPES_COUNT_DEC(live_servers);
}

static int config_valid(const pipes_server_config *cfg)
{
    if (cfg->struct_size != sizeof *cfg || !pipes_pipe_name_valid(cfg->pipe_name))
        return 0;
    if ((cfg->on_event == NULL) == (cfg->notify_window == NULL))
        return 0; /* exactly one delivery path */
    if (cfg->listen_instances > MAX_LISTEN_INSTANCES)
        return 0;
    if (cfg->max_message_size > PIPES_MAX_MESSAGE_SIZE_LIMIT)
        return 0;
    if (cfg->flags & ~(uint32_t)(PIPES_SERVER_ALLOW_REMOTE | PIPES_SERVER_DISCARD_OVERSIZED))
        return 0;
    return 1;
}

/* Is a server already listening on this name? WaitNamedPipeW answers
 * ERROR_FILE_NOT_FOUND only when no instance exists. This check is what
 * detects squatting under Wine; on Windows FILE_FLAG_FIRST_PIPE_INSTANCE
 * closes the race between it and our first CreateNamedPipeW. */
static int name_in_use(const wchar_t *name)
{
    if (WaitNamedPipeW(name, 1))
        return 1;
    return GetLastError() != ERROR_FILE_NOT_FOUND;
}

PIPES_API pipes_status PIPES_CALL pipes_server_start(const pipes_server_config *config,
                                                     pipes_server **out)
{
    pipes_server *s, *prev;
    pipes_engine *engine;
    pipes_status st;

    if (!config || !out || !config_valid(config))
        return PIPES_ERR_INVALID_ARGUMENT;
    engine = pipes_engine_resolve(config->engine);
    if (!engine)
        return PIPES_ERR_SYSTEM;
    s = (pipes_server *)pipes_mem_alloc(sizeof *s);
    if (!s)
        return PIPES_ERR_OUT_OF_MEMORY;
    PIPES_COUNT_INC(live_servers);
    wcscpy(s->name, config->pipe_name);
    st = pipes_security_descriptor(config->sddl, &s->sd);
    if (st != PIPES_OK) {
        server_destroy(&s->ep);
        return st;
    }
    s->sa.nLength = sizeof s->sa;
    s->sa.lpSecurityDescriptor = s->sd;
    s->sa.bInheritHandle = FALSE;
    s->pipe_mode = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT;
    if (!(config->flags & PIPES_SERVER_ALLOW_REMOTE))
        s->pipe_mode |= PIPE_REJECT_REMOTE_CLIENTS;
    s->buffer_size = config->buffer_size ? config->buffer_size : DEFAULT_BUFFER_SIZE;
    s->listen_target =
        config->listen_instances ? config->listen_instances : PIPES_DEFAULT_LISTEN_INSTANCES;
    s->max_connections =
        config->max_connections ? config->max_connections : PIPES_DEFAULT_MAX_CONNECTIONS;
    s->authorize = config->authorize;
    InitializeSRWLock(&s->lock);

    if (name_in_use(s->name)) {
        server_destroy(&s->ep);
        return PIPES_ERR_NAME_IN_USE;
    }
    pipes_endpoint_init(&s->ep, PIPES_KIND_SERVER, engine, config->on_event,
                        config->notify_window, config->notify_message, config->user_data,
                        server_destroy);
    s->ep.max_message_size =
        config->max_message_size ? config->max_message_size : PIPES_DEFAULT_MAX_MESSAGE_SIZE;
    s->ep.discard_oversized = (config->flags & PIPES_SERVER_DISCARD_OVERSIZED) != 0;
    s->ep.max_queued_bytes =
        config->max_queued_bytes ? config->max_queued_bytes : PIPES_DEFAULT_MAX_QUEUED_BYTES;
    s->ep.max_queued_messages = config->max_queued_messages ? config->max_queued_messages
                                                            : PIPES_DEFAULT_MAX_QUEUED_MESSAGES;

    /* The handle is published before the first instance can take a
     * client, so a callback may use the caller's stored handle as well as
     * ev->server. A failed start restores *out: no callback ran then. */
    prev = *out;
    *out = s;
    st = add_instance(s, 1);
    PIPES_CHAOS_POINT("server.start.listening");
    if (st != PIPES_OK) {
        *out = prev;
        pipes_endpoint_close_gate(&s->ep);
        pipes_endpoint_finish_stop(&s->ep);
        return st;
    }
    replenish(s);
    return PIPES_OK;
}

/* Finds a live connection (conn.h: OPEN or DRAINING) and takes a reference
 * on it. A closed one counts as gone: it stays in the map until its read
 * chain has ended, which is just after its DISCONNECTED event, and an id
 * must not be usable once that event was delivered. */
static pipes_conn *lookup(pipes_server *s, uint64_t id)
{
    pipes_conn *c;
    int live = 0;
    AcquireSRWLockShared(&s->lock);
    c = pipes_connmap_find(&s->map, id);
    if (c) {
        AcquireSRWLockShared(c->lock);
        live = pipes_conn_is_live_locked(c);
        ReleaseSRWLockShared(c->lock);
        if (live)
            pipes_conn_addref(c);
    }
    ReleaseSRWLockShared(&s->lock);
    return live ? c : NULL;
}

/* Queues buf on c and starts writing. A full queue is reported with a
 * LIMIT event only for broadcasts (report_full), whose caller learns only a
 * count; a send returns QUEUE_FULL to its caller instead (pipes.h). */
static pipes_status queue_on(pipes_server *s, pipes_conn *c, pipes_wbuf *buf, void *context,
                             int report_full)
{
    pipes_witem *item = pipes_witem_create(buf, context, NULL);
    pipes_kick k;
    pipes_status st;
    int report_limit = 0;

    if (!item)
        return PIPES_ERR_OUT_OF_MEMORY;
    AcquireSRWLockExclusive(c->lock);
    if (!pipes_conn_writable_locked(c)) {
        st = PIPES_ERR_NOT_CONNECTED;
    } else {
        st = pipes_wqueue_push_locked(&s->ep, c->wq, item, &report_limit);
        if (st == PIPES_OK)
            pipes_conn_kick_locked(c, &k);
    }
    ReleaseSRWLockExclusive(c->lock);
    if (st != PIPES_OK) {
        pipes_wbuf_release(item->buf);
        pipes_mem_free(item);
        pipes_endpoint_count_error(&s->ep, st);
        if (report_limit && report_full)
            pipes_endpoint_post_event(&s->ep, PIPES_EVENT_LIMIT, PIPES_ERR_QUEUE_FULL, c->id,
                                      NULL);
    }
    else /* called by the application: events are posted, not run inside */
        pipes_conn_kick_finish(c, &k);
    return st;
}

PIPES_API pipes_status PIPES_CALL pipes_server_send(pipes_server *server, uint64_t connection_id,
                                                    const void *data, size_t size,
                                                    void *send_context)
{
    pipes_conn *c;
    pipes_wbuf *buf;
    pipes_status st;

    if (!server || connection_id == 0 || (!data && size))
        return PIPES_ERR_INVALID_ARGUMENT;
    if (size > server->ep.max_message_size)
        return PIPES_ERR_MESSAGE_TOO_LARGE;
    if (pipes_endpoint_is_stopping(&server->ep))
        return PIPES_ERR_STOPPING;
    c = lookup(server, connection_id);
    if (!c)
        return PIPES_ERR_NOT_CONNECTED;
    buf = pipes_wbuf_create(&server->ep, data, size);
    if (!buf) {
        pipes_conn_release(c);
        return PIPES_ERR_OUT_OF_MEMORY;
    }
    st = queue_on(server, c, buf, send_context, 0);
    pipes_wbuf_release(buf);
    pipes_conn_release(c);
    return st;
}

PIPES_API pipes_status PIPES_CALL pipes_server_broadcast(pipes_server *server, const void *data,
                                                         size_t size, unsigned *delivered_to)
{
    pipes_conn **targets;
    pipes_conn *c;
    pipes_wbuf *buf;
    unsigned n = 0, i, ok = 0;

    if (delivered_to)
        *delivered_to = 0;
    if (!server || (!data && size))
        return PIPES_ERR_INVALID_ARGUMENT;
    if (size > server->ep.max_message_size)
        return PIPES_ERR_MESSAGE_TOO_LARGE;
    if (pipes_endpoint_is_stopping(&server->ep))
        return PIPES_ERR_STOPPING;
    buf = pipes_wbuf_create(&server->ep, data, size);
    if (!buf)
        return PIPES_ERR_OUT_OF_MEMORY;

    /* Snapshot the connected set under the lock, queue outside it. */
    AcquireSRWLockShared(&server->lock);
    targets = (pipes_conn **)pipes_mem_alloc((server->connected + 1) * sizeof *targets);
    if (targets) {
        for (c = server->conns; c; c = c->next) {
            int open;
            AcquireSRWLockShared(c->lock);
            open = c->state == PIPES_CONN_OPEN;
            ReleaseSRWLockShared(c->lock);
            if (open && n < server->connected) {
                pipes_conn_addref(c);
                targets[n++] = c;
            }
        }
    }
    ReleaseSRWLockShared(&server->lock);
    if (!targets) {
        pipes_wbuf_release(buf);
        return PIPES_ERR_OUT_OF_MEMORY;
    }
    for (i = 0; i < n; i++) {
        if (queue_on(server, targets[i], buf, NULL, 1) == PIPES_OK)
            ok++;
        pipes_conn_release(targets[i]);
    }
    pipes_mem_free(targets);
    pipes_wbuf_release(buf);
    if (delivered_to)
        *delivered_to = ok;
    return PIPES_OK;
}

PIPES_API pipes_status PIPES_CALL pipes_server_disconnect(pipes_server *server,
                                                          uint64_t connection_id)
{
    pipes_conn *c;
    if (!server || connection_id == 0)
        return PIPES_ERR_INVALID_ARGUMENT;
    c = lookup(server, connection_id);
    if (!c)
        return PIPES_ERR_NOT_CONNECTED;
    pipes_conn_close(c, PIPES_ERR_LOCAL_CLOSED);
    pipes_conn_release(c);
    return PIPES_OK;
}

/* Once a message was read, the pipe can tell who the client is: its token
 * is read on the first request for it (identification-level impersonation,
 * a few system calls that a connection nobody asks about never pays), and
 * completes the peer's user SID. Lock held exclusively. */
static void learn_client_token_locked(pipes_conn *c)
{
    if (!c->message_read || c->token_tried)
        return;
    c->token_tried = 1;
    c->client_token = pipes_security_client_token(c->pipe, &c->token_error);
    if (c->client_token && !IsValidSid((PSID)c->peer.sid) &&
        !pipes_security_token_sid(c->client_token, c->peer.sid))
        memset(c->peer.sid, 0, sizeof c->peer.sid);
}

PIPES_API pipes_status PIPES_CALL pipes_server_get_peer(pipes_server *server,
                                                        uint64_t connection_id,
                                                        pipes_peer_identity *out)
{
    pipes_conn *c;
    if (!server || connection_id == 0 || !out)
        return PIPES_ERR_INVALID_ARGUMENT;
    c = lookup(server, connection_id);
    if (!c)
        return PIPES_ERR_NOT_CONNECTED;
    AcquireSRWLockExclusive(c->lock);
    learn_client_token_locked(c);
    pipes_peer_identity_of(&c->peer, out);
    ReleaseSRWLockExclusive(c->lock);
    pipes_conn_release(c);
    return PIPES_OK;
}

PIPES_API pipes_status PIPES_CALL pipes_server_get_peer_token(pipes_server *server,
                                                              uint64_t connection_id, void **token)
{
    pipes_conn *c;
    pipes_status st = PIPES_OK;
    HANDLE dup = NULL;
    if (!server || connection_id == 0 || !token)
        return PIPES_ERR_INVALID_ARGUMENT;
    *token = NULL;
    c = lookup(server, connection_id);
    if (!c)
        return PIPES_ERR_NOT_CONNECTED;
    AcquireSRWLockExclusive(c->lock);
    learn_client_token_locked(c);
    if (!c->message_read)
        st = PIPES_ERR_NOT_FOUND;
    else if (!c->client_token)
        st = pipes_fail_system(PIPES_ERR_ACCESS_DENIED, c->token_error);
    else if (!DuplicateHandle(GetCurrentProcess(), c->client_token, GetCurrentProcess(), &dup, 0,
                              FALSE, DUPLICATE_SAME_ACCESS))
        st = pipes_fail_system(PIPES_ERR_SYSTEM, GetLastError());
    ReleaseSRWLockExclusive(c->lock);
    pipes_conn_release(c);
    if (st == PIPES_OK)
        *token = dup;
    return st;
}

PIPES_API pipes_status PIPES_CALL pipes_server_get_stats(pipes_server *server, pipes_stats *out)
{
    pipes_conn *c;
    if (!server || !out || out->struct_size != sizeof *out)
        return PIPES_ERR_INVALID_ARGUMENT;
    pipes_endpoint_fill_stats(&server->ep, out);
    out->queued_messages = 0;
    out->queued_bytes = 0;
    AcquireSRWLockShared(&server->lock);
    out->current_connections = server->connected;
    for (c = server->conns; c; c = c->next) {
        AcquireSRWLockShared(c->lock);
        out->queued_messages += c->wq->count;
        out->queued_bytes += c->wq->bytes;
        ReleaseSRWLockShared(c->lock);
    }
    ReleaseSRWLockShared(&server->lock);
    return PIPES_OK;
}

PIPES_API pipes_status PIPES_CALL pipes_server_stop(pipes_server *server)
{
    pipes_conn *c;

    if (!server)
        return PIPES_ERR_INVALID_ARGUMENT;
    pipes_endpoint_close_gate(&server->ep);

    /* close_gate set `stopping`: no instance is added after this (see
     * add_instance). Closing each cancels its I/O, and every cancelled
     * request comes back through a worker, dropping the references that
     * keep the server alive. */
    AcquireSRWLockExclusive(&server->lock);
    for (c = server->conns; c; c = c->next)
        pipes_conn_close(c, PIPES_ERR_LOCAL_CLOSED);
    ReleaseSRWLockExclusive(&server->lock);

    pipes_endpoint_finish_stop(&server->ep);
    return PIPES_OK;
}
