/*
 * submitconn.c - who connects to the submit pipe (submitint.h,
 * docs/SERVICE.md "Connections"): a connection is counted at CONNECTED
 * against its process's and session's caps; its first message identifies
 * it from the pipe's token (identity.c), or it is refused and let go, and
 * counts it against its submitter's cap; the main loop's poll closes the
 * connections that stay silent. Every refusal is a `rejected` with its
 * reason, then the connection is closed.
 */
#include "submitint.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "pipes_chaos.h"

#define DUE_BATCH 64

/* Refuses a connection over a cap: `rate_limited` (retry later), then closed. */
static void refuse_connection(submit *sb, pipes_server *server, uint64_t conn, conn_verdict v,
                              const wchar_t *client)
{
    const svc_config *cfg = sb->cfg;
    const struct {
        volatile LONG64 *count;
        const char *who, *setting;
        uint32_t cap;
    } caps[] = {{&sb->refused_process, "process", "MaxConnectionsPerProcess",
                 cfg->conns_per_process},
                {&sb->refused_session, "session", "MaxConnectionsPerSession",
                 cfg->conns_per_session},
                {&sb->refused_user, "account", "MaxConnectionsPerUser", cfg->conns_per_user}};
    char detail[160];
    size_t i = (size_t)v - CONN_PROCESS_FULL; /* caps[] in the enum's order */

    if (i < 3) {
        InterlockedIncrement64(caps[i].count);
        snprintf(detail, sizeof detail, "too many connections from this %s (%s %lu); retry later",
                 caps[i].who, caps[i].setting, (unsigned long)caps[i].cap);
    } else {
        snprintf(detail, sizeof detail, "the service is at its connection limit; retry later");
    }
    conns_closing(sb->conns, conn);
    submit_reject(sb, server, conn, client, NULL, PIPES_PROTO_REASON_RATE_LIMITED, detail, 1);
}

int submit_identify(submit *sb, const pipes_event *ev, svc_identity *who)
{
    pipes_peer_identity peer;
    void *token = NULL;
    const char *why = "the pipe has no token for it (anonymous, or identification refused)";
    wchar_t client[LABEL_MAX];
    conn_verdict v;
    int ok = 0;

    memset(&peer, 0, sizeof peer);
    pipes_server_get_peer(ev->server, ev->connection_id, &peer);
    if (pipes_server_get_peer_token(ev->server, ev->connection_id, &token) == PIPES_OK) {
        ok = svc_identity_from_token((HANDLE)token, peer.process_id, who, &why);
        if (ok && sb->hook) {
            ok = sb->hook(sb->hook_ctx, who);
            why = "(test hook) no identity";
            if (ok)
                svc_identity_set_key(who, (HANDLE)token, peer.process_id);
        }
        CloseHandle((HANDLE)token);
    }
    if (!ok) {
        char detail[PIPES_PROTO_MAX_DETAIL];
        snprintf(detail, sizeof detail, "the service cannot tell who you are: %s; connect with "
                 "impersonation level identification or above", why);
        InterlockedIncrement64(&sb->unidentified);
        submit_label(NULL, &peer, client);
        conns_closing(sb->conns, ev->connection_id);
        submit_reject(sb, ev->server, ev->connection_id, client, NULL,
                      PIPES_PROTO_REASON_NOT_ALLOWED, detail, 1);
        return 0;
    }
    v = conns_identify(sb->conns, ev->connection_id, who);
    if (v != CONN_OK) {
        submit_label(who, &peer, client);
        refuse_connection(sb, ev->server, ev->connection_id, v, client);
        return 0;
    }
    return 1;
}

/* A message over the protocol's limit: the library read it and threw it
 * away (PIPES_SERVER_DISCARD_OVERSIZED), in its place in the connection's
 * order, so the reply goes out in order too. No id can be trusted. It
 * counts against the rate limit like any message: the submitter's, or
 * before a first message identified the connection, its process's. */
void submit_on_oversized(submit *sb, const pipes_event *ev)
{
    wchar_t client[LABEL_MAX];
    pipes_peer_identity peer;
    pipes_proto_error err;
    svc_identity who;
    uint32_t per_minute = sb->cfg->rate_per_minute, burst = sb->cfg->rate_burst;
    int known = conns_message(sb->conns, ev->connection_id, svc_now_ms(), &who);
    if (known < 0)
        return;
    if (known) {
        submit_label(&who, NULL, client);
        svc_config_rate(sb->cfg, who.sender.sid, &per_minute, &burst);
    } else {
        memset(&peer, 0, sizeof peer);
        pipes_server_get_peer(ev->server, ev->connection_id, &peer);
        submit_label(NULL, &peer, client);
        snprintf(who.key, sizeof who.key, "process %lu", (unsigned long)peer.process_id);
    }
    if (!ratelimit_take(sb->rate, who.key, per_minute, burst, (uint64_t)svc_now_ms())) {
        submit_reject(sb, ev->server, ev->connection_id, client, NULL,
                      PIPES_PROTO_REASON_RATE_LIMITED,
                      "too many submissions from this account; retry later", 0);
        return;
    }
    memset(&err, 0, sizeof err);
    err.status = PIPES_PROTO_ERR_MESSAGE_TOO_LARGE;
    err.offset = PIPES_PROTO_MAX_MESSAGE;
    err.limit = PIPES_PROTO_MAX_MESSAGE;
    submit_reject_parse(sb, ev, client, &err, NULL);
}

void submit_on_connected(submit *sb, const pipes_event *ev)
{
    pipes_peer_identity none;
    const pipes_peer_identity *peer = ev->peer;
    wchar_t client[LABEL_MAX];
    conn_verdict v;
    if (!peer) {
        memset(&none, 0, sizeof none);
        peer = &none;
    }
    InterlockedIncrement64(&sb->connections);
    v = conns_add(sb->conns, ev->connection_id, peer->process_id, peer->session_id,
                  svc_now_ms());
    if (v != CONN_OK) {
        submit_label(NULL, peer, client);
        refuse_connection(sb, ev->server, ev->connection_id, v, client);
    }
}

void submit_poll(submit *sb, int64_t now_ms)
{
    uint64_t due[DUE_BATCH];
    size_t n, i;
    if (!sb || !sb->server)
        return;
    do {
        n = conns_due(sb->conns, now_ms, due, DUE_BATCH);
        for (i = 0; i < n; i++) {
            PIPES_CHAOS_POINT("submit.poll.closing");
            pipes_server_disconnect(sb->server, due[i]);
        }
        InterlockedAdd64(&sb->idle_closed, (LONG64)n);
    } while (n == DUE_BATCH);
}

