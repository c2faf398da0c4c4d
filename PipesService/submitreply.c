/*
 * submitreply.c - the submit pipe's replies (submitint.h): each written to
 * its connection's bounded queue, and a client whose queue is full (it
 * does not read) let go; and the rejections, counted and written to the
 * Event Log at most once a minute (the count, the last client and reason).
 */
#include "submitint.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "messages.h"

#define REJECT_LOG_INTERVAL_MS 60000

void submit_send_reply(submit *sb, pipes_server *server, uint64_t conn,
                       const pipes_proto_reply *r, int close_after)
{
    char buf[2048];
    size_t n = 0;
    if (pipes_proto_write_reply(r, buf, sizeof buf, &n) == PIPES_PROTO_OK)
        submit_send_bytes(sb, server, conn, buf, n, close_after);
}

void submit_send_bytes(submit *sb, pipes_server *server, uint64_t conn, const char *buf,
                       size_t n, int close_after)
{
    pipes_status st;
    /* A connection id is never 0, so it can stand for "close it after this". */
    st = pipes_server_send(server, conn, buf, n, close_after ? (void *)(uintptr_t)conn : NULL);
    if (st == PIPES_ERR_QUEUE_FULL) {
        InterlockedIncrement64(&sb->not_reading);
        conns_closing(sb->conns, conn);
        pipes_server_disconnect(server, conn);
    } else if (st != PIPES_OK && close_after) {
        pipes_server_disconnect(server, conn);
    }
}

void submit_label(const svc_identity *who, const pipes_peer_identity *peer, wchar_t *out)
{
    wchar_t account[PIPES_PROTO_MAX_ACCOUNT + 1];
    if (!who) {
        swprintf(out, LABEL_MAX, L"process %lu in session %lu", (unsigned long)peer->process_id,
                 (unsigned long)peer->session_id);
        return;
    }
    if (svc_to_wide(who->sender.account, who->sender.account_len, account,
                    PIPES_PROTO_MAX_ACCOUNT + 1) <= 0)
        wcscpy(account, L"?");
    swprintf(out, LABEL_MAX, L"%ls (%hs)", account, who->sender.sid); /* a SID is ASCII */
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
    wcsncpy(sb->last_reject_client, client, LABEL_MAX - 1);
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

void submit_reject(submit *sb, pipes_server *server, uint64_t conn, const wchar_t *client,
                   const char *id, pipes_proto_reason reason, const char *detail,
                   int close_after)
{
    pipes_proto_reply r;
    pipes_proto_reply_rejected(&r, id && pipes_proto_id_valid(id, strlen(id)) ? id : NULL,
                               reason, detail);
    submit_send_reply(sb, server, conn, &r, close_after);
    note_reject(sb, client, &r);
}

void submit_reject_parse(submit *sb, const pipes_event *ev, const wchar_t *client,
                         const pipes_proto_error *err, const char *id)
{
    pipes_proto_reply r;
    pipes_proto_reply_for_error(&r, err, id);
    submit_send_reply(sb, ev->server, ev->connection_id, &r, 0);
    note_reject(sb, client, &r);
}

void submit_flush_rejects(submit *sb)
{
    wchar_t count[32];
    if (!sb->rejects_unlogged)
        return;
    swprintf(count, 32, L"%llu", (unsigned long long)sb->rejects_unlogged);
    svc_event(EVENTLOG_WARNING_TYPE, MSG_SUBMISSIONS_REJECTED, count, sb->last_reject_client,
              sb->last_reject_text);
    sb->rejects_unlogged = 0;
}
