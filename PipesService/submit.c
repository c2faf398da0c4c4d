/*
 * submit.c - the submit pipe (\\.\pipe\Pipes.Service by default): every
 * message is a notification (docs/PROTOCOL.md); each gets exactly one reply
 * in order: `accepted` only after the spool has it on disk, else `rejected`
 * with a reason. A submitter that asked "wait" later gets `displayed` once
 * the first tray acknowledged it.
 *
 * Replies are sent from the engine worker that handles the message; the
 * library delivers one connection's messages one at a time, so replies keep
 * the order of the requests.
 *
 * Callbacks use the event's own ev->server, never sb->server: the library
 * may run them before pipes_server_start has returned and stored it. The
 * object exists before delivery can call submit_displayed (submit_create),
 * its pipe starts after (submit_start).
 */
#include "svc.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "messages.h"

#define REJECT_LOG_INTERVAL_MS 60000

typedef struct waiter {
    struct waiter *next;
    pipes_server *server; /* the event's; valid until submit_stop sets closed */
    uint64_t conn;
    char id[PIPES_PROTO_MAX_ID + 1];
    int accepted_sent;        /* `displayed` may follow only after `accepted` */
    int displayed;            /* a tray acknowledged before `accepted` went out */
    uint32_t displayed_session;
} waiter;

struct submit {
    pipes_server *server; /* for submit_stop only (see above) */
    spool *spool;
    delivery *delivery;
    ratelimit *rate;
    volatile LONG stopping;
    SRWLOCK lock; /* waiters, closed and the rejection log below */
    int closed;   /* the server is being stopped: send nothing more */
    waiter *waiters;
    uint64_t rejects_unlogged;
    int64_t last_reject_log_ms;
    wchar_t last_reject_client[PIPES_MAX_SID_STRING + 32];
    wchar_t last_reject_text[PIPES_PROTO_MAX_DETAIL + 64];
    volatile LONG64 accepted, duplicates, rejected, connections;
    volatile LONG64 by_reason[10];
};

static void send_reply(pipes_server *server, uint64_t conn, const pipes_proto_reply *r)
{
    char buf[2048];
    size_t n = 0;
    if (pipes_proto_write_reply(r, buf, sizeof buf, &n) == PIPES_PROTO_OK)
        pipes_server_send(server, conn, buf, n, NULL);
}

static void send_displayed(const waiter *w, uint32_t session)
{
    pipes_proto_reply r;
    if (pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_DISPLAYED, w->id) != PIPES_PROTO_OK)
        return;
    r.has_session = 1;
    r.session = session;
    send_reply(w->server, w->conn, &r);
}

/* Counts a rejection and writes at most one event per interval. */
static void note_reject(submit *sb, const wchar_t *client, const pipes_proto_reply *r)
{
    int64_t now = svc_now_ms();
    wchar_t count[32];
    const char *reason = pipes_proto_reason_name(r->reason);

    InterlockedIncrement64(&sb->rejected);
    if ((unsigned)r->reason < 10)
        InterlockedIncrement64(&sb->by_reason[r->reason]);
    AcquireSRWLockExclusive(&sb->lock);
    sb->rejects_unlogged++;
    wcsncpy(sb->last_reject_client, client, PIPES_MAX_SID_STRING + 31);
    swprintf(sb->last_reject_text, sizeof sb->last_reject_text / sizeof(wchar_t),
             L"%hs%hs%hs (id \"%hs\")", reason ? reason : "rejected", r->error[0] ? " " : "",
             r->error, r->id);
    if (now - sb->last_reject_log_ms >= REJECT_LOG_INTERVAL_MS) {
        swprintf(count, 32, L"%llu", (unsigned long long)sb->rejects_unlogged);
        svc_event(EVENTLOG_WARNING_TYPE, MSG_SUBMISSIONS_REJECTED, count, sb->last_reject_client,
                  sb->last_reject_text);
        sb->rejects_unlogged = 0;
        sb->last_reject_log_ms = now;
    }
    ReleaseSRWLockExclusive(&sb->lock);
}

static void reject(submit *sb, const pipes_event *ev, const wchar_t *client, const char *id,
                   pipes_proto_reason reason, const char *detail)
{
    pipes_proto_reply r;
    pipes_proto_reply_rejected(&r, id && pipes_proto_id_valid(id, strlen(id)) ? id : NULL,
                               reason, detail);
    send_reply(ev->server, ev->connection_id, &r);
    note_reject(sb, client, &r);
}

static void client_key(pipes_server *server, uint64_t conn, wchar_t *out, size_t cap)
{
    pipes_peer_identity peer;
    if (pipes_server_get_peer(server, conn, &peer) == PIPES_OK && peer.user_sid[0])
        swprintf(out, cap, L"%ls", peer.user_sid);
    else if (pipes_server_get_peer(server, conn, &peer) == PIPES_OK)
        swprintf(out, cap, L"pid %lu", (unsigned long)peer.process_id);
    else
        swprintf(out, cap, L"connection %llu", (unsigned long long)conn);
}

static void on_message(submit *sb, const pipes_event *ev)
{
    pipes_proto_notification *n = (pipes_proto_notification *)malloc(sizeof *n);
    pipes_proto_error err;
    pipes_proto_reply r;
    wchar_t client[PIPES_MAX_SID_STRING + 32];
    spool_added added;
    spool_result res;
    waiter *w = NULL;

    client_key(ev->server, ev->connection_id, client, sizeof client / sizeof client[0]);
    if (!n) {
        reject(sb, ev, client, NULL, PIPES_PROTO_REASON_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (pipes_proto_parse_notification(ev->data, ev->size, n, &err) != PIPES_PROTO_OK) {
        pipes_proto_reply_for_error(&r, &err, n->id);
        send_reply(ev->server, ev->connection_id, &r);
        note_reject(sb, client, &r);
        free(n);
        return;
    }
    if (InterlockedCompareExchange(&sb->stopping, 0, 0)) {
        reject(sb, ev, client, n->id, PIPES_PROTO_REASON_SHUTTING_DOWN, "the service is stopping");
        free(n);
        return;
    }
    if (!ratelimit_take(sb->rate, client, (uint64_t)svc_now_ms())) {
        reject(sb, ev, client, n->id, PIPES_PROTO_REASON_RATE_LIMITED,
               "too many submissions from this client; retry later");
        free(n);
        return;
    }
    if (n->wait) {
        /* Registered before the record exists, so no acknowledgement is missed. */
        w = (waiter *)calloc(1, sizeof *w);
        if (w) {
            w->server = ev->server;
            w->conn = ev->connection_id;
            memcpy(w->id, n->id, n->id_len + 1);
            AcquireSRWLockExclusive(&sb->lock);
            w->next = sb->waiters;
            sb->waiters = w;
            ReleaseSRWLockExclusive(&sb->lock);
        }
    }
    res = spool_add(sb->spool, n, svc_now_ms(), &added);
    if (res == SPOOL_OK || res == SPOOL_DUPLICATE) {
        pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACCEPTED, n->id);
        send_reply(ev->server, ev->connection_id, &r);
        InterlockedIncrement64(res == SPOOL_OK ? &sb->accepted : &sb->duplicates);
        if (w) {
            int displayed;
            uint32_t session;
            AcquireSRWLockExclusive(&sb->lock);
            w->accepted_sent = 1;
            /* A resend of a record a tray already took: no tray will
             * acknowledge it again, so its delivery state answers. */
            if (added.displayed && !w->displayed) {
                w->displayed = 1;
                w->displayed_session = added.displayed_session;
            }
            displayed = w->displayed;
            session = w->displayed_session;
            ReleaseSRWLockExclusive(&sb->lock);
            if (displayed)
                submit_displayed(sb, n->id, session);
        }
        if (res == SPOOL_OK)
            delivery_kick(sb->delivery);
    } else {
        if (w) {
            waiter **pp;
            AcquireSRWLockExclusive(&sb->lock);
            for (pp = &sb->waiters; *pp; pp = &(*pp)->next)
                if (*pp == w) {
                    *pp = w->next;
                    break;
                }
            ReleaseSRWLockExclusive(&sb->lock);
            free(w);
        }
        if (res == SPOOL_FULL)
            reject(sb, ev, client, n->id, PIPES_PROTO_REASON_QUEUE_FULL,
                   "the spool is at its configured bound");
        else
            reject(sb, ev, client, n->id, PIPES_PROTO_REASON_INTERNAL_ERROR,
                   "could not write the spool");
    }
    free(n);
}

void submit_displayed(void *ctx, const char *id, uint32_t session)
{
    submit *sb = (submit *)ctx;
    waiter **pp, *ready = NULL;
    if (!sb)
        return;
    AcquireSRWLockExclusive(&sb->lock);
    for (pp = &sb->waiters; *pp;) {
        waiter *w = *pp;
        if (strcmp(w->id, id) != 0) {
            pp = &w->next;
        } else if (!w->accepted_sent) {
            w->displayed = 1;
            w->displayed_session = session;
            pp = &w->next;
        } else {
            *pp = w->next;
            w->next = ready;
            ready = w;
        }
    }
    /* Sent under the lock so submit_stop cannot free the server meanwhile
     * (pipes_server_send only queues; it never calls back). */
    while (ready) {
        waiter *w = ready;
        ready = w->next;
        if (!sb->closed)
            send_displayed(w, session);
        free(w);
    }
    ReleaseSRWLockExclusive(&sb->lock);
}

static void drop_waiters(submit *sb, uint64_t conn)
{
    waiter **pp;
    AcquireSRWLockExclusive(&sb->lock);
    for (pp = &sb->waiters; *pp;) {
        waiter *w = *pp;
        if (conn == 0 || w->conn == conn) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    ReleaseSRWLockExclusive(&sb->lock);
}

/* A message over the protocol's limit: the library read it and threw it
 * away (PIPES_SERVER_DISCARD_OVERSIZED), in its place in the connection's
 * order, so the reply goes out in order too. No id can be trusted. */
static void on_oversized(submit *sb, const pipes_event *ev)
{
    wchar_t client[PIPES_MAX_SID_STRING + 32];
    pipes_proto_error err;
    pipes_proto_reply r;
    memset(&err, 0, sizeof err);
    err.status = PIPES_PROTO_ERR_MESSAGE_TOO_LARGE;
    err.offset = PIPES_PROTO_MAX_MESSAGE;
    err.limit = PIPES_PROTO_MAX_MESSAGE;
    client_key(ev->server, ev->connection_id, client, sizeof client / sizeof client[0]);
    pipes_proto_reply_for_error(&r, &err, NULL);
    send_reply(ev->server, ev->connection_id, &r);
    note_reject(sb, client, &r);
}

static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
{
    submit *sb = (submit *)user_data;
    switch (ev->type) {
    case PIPES_EVENT_CONNECTED: InterlockedIncrement64(&sb->connections); break;
    case PIPES_EVENT_MESSAGE: on_message(sb, ev); break;
    case PIPES_EVENT_LIMIT:
        if (ev->status == PIPES_ERR_MESSAGE_TOO_LARGE)
            on_oversized(sb, ev);
        break;
    case PIPES_EVENT_DISCONNECTED: drop_waiters(sb, ev->connection_id); break;
    default: break;
    }
}

submit *submit_create(const svc_config *cfg, spool *s)
{
    submit *sb = (submit *)calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    InitializeSRWLock(&sb->lock);
    sb->spool = s;
    sb->last_reject_log_ms = INT64_MIN / 2;
    sb->rate = ratelimit_create(cfg->rate_per_minute, cfg->rate_burst);
    if (!sb->rate) {
        free(sb);
        return NULL;
    }
    return sb;
}

pipes_status submit_start(submit *sb, const svc_config *cfg, delivery *d)
{
    pipes_server_config sc;
    pipes_server *server = NULL;
    pipes_status st;

    sb->delivery = d;
    memset(&sc, 0, sizeof sc);
    sc.struct_size = sizeof sc;
    sc.pipe_name = cfg->submit_pipe;
    sc.sddl = cfg->submit_sddl;
    /* A message over the protocol's limit, of any size, is thrown away by
     * the library without being buffered and gets a too_large reply; the
     * connection goes on (on_oversized). */
    sc.max_message_size = PIPES_PROTO_MAX_MESSAGE;
    sc.flags = PIPES_SERVER_DISCARD_OVERSIZED;
    sc.on_event = on_event;
    sc.user_data = sb;
    st = pipes_server_start(&sc, &server);
    if (st == PIPES_OK)
        sb->server = server;
    return st;
}

void submit_set_stopping(submit *sb)
{
    if (sb)
        InterlockedExchange(&sb->stopping, 1);
}

void submit_get_stats(submit *sb, submit_stats *out)
{
    int i;
    memset(out, 0, sizeof *out);
    if (!sb)
        return;
    out->accepted = (uint64_t)InterlockedCompareExchange64(&sb->accepted, 0, 0);
    out->duplicates = (uint64_t)InterlockedCompareExchange64(&sb->duplicates, 0, 0);
    out->rejected = (uint64_t)InterlockedCompareExchange64(&sb->rejected, 0, 0);
    out->connections = (uint64_t)InterlockedCompareExchange64(&sb->connections, 0, 0);
    for (i = 0; i < 10; i++)
        out->rejected_by_reason[i] = (uint64_t)InterlockedCompareExchange64(&sb->by_reason[i], 0, 0);
}

void submit_stop(submit *sb)
{
    wchar_t count[32];
    if (!sb || !sb->server)
        return;
    AcquireSRWLockExclusive(&sb->lock);
    sb->closed = 1;
    ReleaseSRWLockExclusive(&sb->lock);
    pipes_server_stop(sb->server); /* no on_message runs after this */
    if (sb->rejects_unlogged) {
        swprintf(count, 32, L"%llu", (unsigned long long)sb->rejects_unlogged);
        svc_event(EVENTLOG_WARNING_TYPE, MSG_SUBMISSIONS_REJECTED, count, sb->last_reject_client,
                  sb->last_reject_text);
        sb->rejects_unlogged = 0;
    }
}

void submit_free(submit *sb)
{
    if (!sb)
        return;
    drop_waiters(sb, 0);
    ratelimit_destroy(sb->rate);
    free(sb);
}
