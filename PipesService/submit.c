/*
 * submit.c - the submit pipe (\\.\pipe\Pipes.Service by default): every
 * message is a notification (docs/PROTOCOL.md); each gets exactly one reply
 * in order: `accepted` only after the spool has it on disk, else `rejected`
 * with a reason. A submitter that asked "wait" later gets `displayed` once
 * the first tray acknowledged it.
 *
 * Who submits comes from the pipe, never from the message: a connection's
 * first message identifies it (identity.c, from the token the library read
 * before that message); a client that cannot be identified is refused and
 * let go. The identity is written into the record as its `sender`, keys its
 * id namespace, the rate limit, the connection caps (conns.c), the quota
 * and the policy of whom it may reach (policy.c). Every message counts
 * against the rate limit, malformed and oversized ones too.
 *
 * Replies are sent from the engine worker that handles the message; the
 * library delivers one connection's messages one at a time, so replies keep
 * the order of the requests. A connection whose reply queue fills (it does
 * not read) is closed. A reply that ends a connection carries the
 * connection's id as its send_context: its SEND_COMPLETE closes the
 * connection once the reply is written, so the client reads why.
 *
 * Callbacks use the event's own ev->server, never sb->server: the library
 * may run them before pipes_server_start has returned and stored it. The
 * object exists before delivery can call submit_displayed (submit_create),
 * its pipe starts after (submit_start).
 */
#include "submitint.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pipes_chaos.h"

/* Per connection: a reader never has more than a reply or two queued
 * (after what the pipe's own buffer holds), so this is a client that does
 * not read. Times MaxConnections it bounds the replies' memory. */
#define REPLY_QUEUE_BYTES (16u << 10)
#define REPLY_QUEUE_MESSAGES 64u

static void unlink_locked(submit *sb, waiter *w)
{
    waiter **pp;
    for (pp = &sb->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
}

/* Takes w out of the list (unless already_unlinked) and frees it. */
static void unlink_waiter(submit *sb, waiter *w, int already_unlinked)
{
    if (!already_unlinked) {
        AcquireSRWLockExclusive(&sb->lock);
        unlink_locked(sb, w);
        ReleaseSRWLockExclusive(&sb->lock);
    }
    PIPES_CHAOS_POINT("submit.waiter.unlinked");
    conns_wait(sb->conns, w->conn, -1);
    free(w);
}

/* Spools n (policy applied, sender set) and answers. */
static void accept_one(submit *sb, const pipes_event *ev, const svc_identity *who,
                       const wchar_t *client, pipes_proto_notification *n)
{
    pipes_proto_reply r;
    spool_added added;
    spool_result res;
    spool_quota quota;
    waiter *w = NULL;

    quota.max_pending = sb->cfg->user_spool_count;
    quota.max_pending_bytes = (uint64_t)sb->cfg->user_spool_mb << 20;
    if (n->wait) {
        /* Registered before the record exists, so no acknowledgement is missed. */
        w = (waiter *)calloc(1, sizeof *w);
        if (w) {
            w->server = ev->server;
            w->conn = ev->connection_id;
            w->want_response = n->wait == PIPES_PROTO_WAIT_RESPONSE;
            memcpy(w->sid, who->sender.sid, who->sender.sid_len + 1);
            memcpy(w->id, n->id, n->id_len + 1);
            conns_wait(sb->conns, w->conn, 1);
            AcquireSRWLockExclusive(&sb->lock);
            w->next = sb->waiters;
            sb->waiters = w;
            ReleaseSRWLockExclusive(&sb->lock);
        }
    }
    res = spool_add(sb->spool, n, who->privileged ? NULL : &quota, svc_now_ms(), &added);
    if (res == SPOOL_OK || res == SPOOL_DUPLICATE) {
        pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACCEPTED, n->id);
        submit_send_reply(sb, ev->server, ev->connection_id, &r, 0);
        InterlockedIncrement64(res == SPOOL_OK ? &sb->accepted : &sb->duplicates);
        if (w) {
            int done;
            AcquireSRWLockExclusive(&sb->lock);
            w->accepted_sent = 1;
            /* A resend of a record a tray already took (or answered): no
             * tray will acknowledge it again, so its delivery state answers. */
            if (added.displayed && !w->displayed) {
                w->displayed = 1;
                w->displayed_session = added.displayed_session;
            }
            if (added.answered && !w->answered) {
                w->answered = 1;
                w->answer = added.answer;
            }
            done = submit_waiter_flush_locked(sb, w);
            if (done)
                unlink_locked(sb, w);
            ReleaseSRWLockExclusive(&sb->lock);
            if (done)
                unlink_waiter(sb, w, 1);
        }
        if (res == SPOOL_OK)
            delivery_kick(sb->delivery);
        return;
    }
    if (w)
        unlink_waiter(sb, w, 0);
    if (res == SPOOL_FULL)
        submit_reject(sb, ev->server, ev->connection_id, client, n->id,
                      PIPES_PROTO_REASON_QUEUE_FULL, "the spool is at its configured bound", 0);
    else if (res == SPOOL_QUOTA)
        submit_reject(sb, ev->server, ev->connection_id, client, n->id,
                      PIPES_PROTO_REASON_QUEUE_FULL,
                      "your share of the spool is full (MaxSpoolCountPerUser, "
                      "MaxSpoolMBPerUser): retry once trays took some",
                      0);
    else
        submit_reject(sb, ev->server, ev->connection_id, client, n->id,
                      PIPES_PROTO_REASON_INTERNAL_ERROR, "could not write the spool", 0);
}

/* Takes a token of who's rate limit for this message, else rejects it (id echoed). */
static int rate_ok(submit *sb, const pipes_event *ev, const svc_identity *who,
                   const wchar_t *client, const char *id)
{
    uint32_t per_minute, burst;
    svc_config_rate(sb->cfg, who->sender.sid, &per_minute, &burst);
    if (ratelimit_take(sb->rate, who->key, per_minute, burst, (uint64_t)svc_now_ms()))
        return 1;
    submit_reject(sb, ev->server, ev->connection_id, client, id,
                  PIPES_PROTO_REASON_RATE_LIMITED,
                  "too many submissions from this account; retry later", 0);
    return 0;
}

static void on_message(submit *sb, const pipes_event *ev)
{
    pipes_proto_notification *n;
    pipes_proto_error err;
    pipes_proto_status parsed;
    pipes_proto_reason reason;
    wchar_t client[LABEL_MAX];
    char detail[PIPES_PROTO_MAX_DETAIL];
    svc_identity who;
    pipes_proto_type type;
    int known = conns_message(sb->conns, ev->connection_id, svc_now_ms(), &who);

    if (known < 0)
        return; /* refused or closing: its end is on the way */
    if (known == 0 && !submit_identify(sb, ev, &who))
        return;
    submit_label(&who, NULL, client);
    if (pipes_proto_parse_type(ev->data, ev->size, &type, NULL) == PIPES_PROTO_OK &&
        type == PIPES_PROTO_TYPE_QUERY) {
        if (rate_ok(sb, ev, &who, client, NULL))
            submit_query(sb, ev, &who, client);
        return;
    }
    n = (pipes_proto_notification *)malloc(sizeof *n);
    if (!n) {
        submit_reject(sb, ev->server, ev->connection_id, client, NULL,
                      PIPES_PROTO_REASON_INTERNAL_ERROR, "out of memory", 0);
        return;
    }
    /* Parsed first only to echo the id: the token is taken whatever it holds. */
    parsed = pipes_proto_parse_notification(ev->data, ev->size, n, &err);
    if (!rate_ok(sb, ev, &who, client, n->id)) {
        /* rejected */
    } else if (parsed != PIPES_PROTO_OK ||
               pipes_proto_check_submission(n, &err) != PIPES_PROTO_OK) {
        submit_reject_parse(sb, ev, client, &err, n->id);
    } else if (InterlockedCompareExchange(&sb->stopping, 0, 0)) {
        submit_reject(sb, ev->server, ev->connection_id, client, n->id,
                      PIPES_PROTO_REASON_SHUTTING_DOWN, "the service is stopping", 0);
    } else if ((reason = svc_policy_apply(sb->cfg, &who, n, detail, sizeof detail)) !=
               PIPES_PROTO_REASON_NONE) {
        InterlockedIncrement64(&sb->not_allowed_by_policy);
        submit_reject(sb, ev->server, ev->connection_id, client, n->id, reason, detail, 0);
    } else {
        n->sender = who.sender; /* the service's word, never the submitter's */
        accept_one(sb, ev, &who, client, n);
    }
    free(n);
}

void submit_displayed(void *ctx, const char *sid, const char *id, uint32_t session)
{
    submit_waiters_event(ctx, sid, id, 0, session, NULL);
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

static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
{
    submit *sb = (submit *)user_data;
    switch (ev->type) {
    case PIPES_EVENT_CONNECTED: submit_on_connected(sb, ev); break;
    case PIPES_EVENT_MESSAGE: on_message(sb, ev); break;
    case PIPES_EVENT_LIMIT:
        if (ev->status == PIPES_ERR_MESSAGE_TOO_LARGE)
            submit_on_oversized(sb, ev);
        break;
    case PIPES_EVENT_SEND_COMPLETE:
        /* A reply that ends its connection (send_reply) has been written. */
        if (ev->send_context)
            pipes_server_disconnect(ev->server, (uint64_t)(uintptr_t)ev->send_context);
        break;
    case PIPES_EVENT_DISCONNECTED:
        drop_waiters(sb, ev->connection_id);
        conns_remove(sb->conns, ev->connection_id);
        PIPES_CHAOS_POINT("submit.disconnected");
        break;
    default: break;
    }
}

submit *submit_create(const svc_config *cfg, spool *s)
{
    submit *sb = (submit *)calloc(1, sizeof *sb);
    conn_limits lim;
    if (!sb)
        return NULL;
    InitializeSRWLock(&sb->lock);
    sb->cfg = cfg;
    sb->spool = s;
    sb->last_reject_log_ms = INT64_MIN / 2;
    lim.capacity = cfg->max_connections;
    lim.per_process = cfg->conns_per_process;
    lim.per_session = cfg->conns_per_session;
    lim.per_user = cfg->conns_per_user;
    lim.first_message_ms = (int64_t)cfg->first_message_timeout * 1000;
    lim.idle_ms = (int64_t)cfg->idle_timeout * 1000;
    sb->rate = ratelimit_create();
    sb->conns = conns_create(&lim);
    if (!sb->rate || !sb->conns) {
        ratelimit_destroy(sb->rate);
        conns_destroy(sb->conns);
        free(sb);
        return NULL;
    }
    return sb;
}

void submit_set_identity_hook(submit *sb, submit_identity_hook fn, void *ctx)
{
    sb->hook = fn;
    sb->hook_ctx = ctx;
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
    sc.max_connections = cfg->max_connections;
    sc.max_queued_bytes = REPLY_QUEUE_BYTES;
    sc.max_queued_messages = REPLY_QUEUE_MESSAGES;
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

static uint64_t read64(volatile LONG64 *v)
{
    return (uint64_t)InterlockedCompareExchange64(v, 0, 0);
}

void submit_get_stats(submit *sb, submit_stats *out)
{
    pipes_stats ps;
    int i;
    memset(out, 0, sizeof *out);
    if (!sb)
        return;
    out->accepted = read64(&sb->accepted);
    out->duplicates = read64(&sb->duplicates);
    out->rejected = read64(&sb->rejected);
    out->connections = read64(&sb->connections);
    for (i = 0; i < 10; i++)
        out->rejected_by_reason[i] = read64(&sb->by_reason[i]);
    out->open = conns_count(sb->conns);
    out->refused_process = read64(&sb->refused_process);
    out->refused_session = read64(&sb->refused_session);
    out->refused_user = read64(&sb->refused_user);
    out->unidentified = read64(&sb->unidentified);
    out->not_allowed_by_policy = read64(&sb->not_allowed_by_policy);
    out->idle_closed = read64(&sb->idle_closed);
    out->not_reading = read64(&sb->not_reading);
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    /* Under the lock: submit_stop sets closed under it before stopping the
     * server, so the server is never used while it is released. */
    AcquireSRWLockShared(&sb->lock);
    if (sb->server && !sb->closed && pipes_server_get_stats(sb->server, &ps) == PIPES_OK)
        out->reply_bytes_queued = ps.queued_bytes;
    ReleaseSRWLockShared(&sb->lock);
}

void submit_stop(submit *sb)
{
    if (!sb || !sb->server)
        return;
    AcquireSRWLockExclusive(&sb->lock);
    sb->closed = 1;
    ReleaseSRWLockExclusive(&sb->lock);
    pipes_server_stop(sb->server); /* no on_message runs after this */
    submit_flush_rejects(sb);
}

void submit_free(submit *sb)
{
    if (!sb)
        return;
    drop_waiters(sb, 0);
    ratelimit_destroy(sb->rate);
    conns_destroy(sb->conns);
    free(sb);
}
