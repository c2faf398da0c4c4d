/*
 * submitanswer.c - the submit pipe's side of answers (docs/PROTOCOL.md 5a):
 * a waiter's replies in their order (`accepted`, `displayed`, then for
 * "wait": "response" exactly one `response`), and `query` answered with one
 * `state`. Ids are per submitter: a query sees only the querying SID's
 * records (the spool's (SID, id) key), so another submitter's id is
 * `unknown`.
 */
#include "submitint.h"

#include <stdlib.h>
#include <string.h>

#include "pipes_chaos.h"

void submit_send_answer(submit *sb, pipes_server *server, uint64_t conn,
                        const pipes_proto_answer *a)
{
    char buf[2048];
    size_t n = 0;
    if (pipes_proto_write_answer(a, buf, sizeof buf, &n) == PIPES_PROTO_OK)
        submit_send_bytes(sb, server, conn, buf, n, 0);
}

int submit_waiter_flush_locked(submit *sb, waiter *w)
{
    if (!w->accepted_sent)
        return 0;
    if (w->displayed && !w->displayed_sent) {
        pipes_proto_reply r;
        if (!sb->closed && pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_DISPLAYED, w->id) ==
                               PIPES_PROTO_OK) {
            r.has_session = 1;
            r.session = w->displayed_session;
            submit_send_reply(sb, w->server, w->conn, &r, 0);
        }
        w->displayed_sent = 1;
    }
    if (!w->want_response)
        return w->displayed_sent;
    if (!w->displayed_sent || !w->answered)
        return 0;
    if (!sb->closed) {
        /* The submitter's own id: the answer is to its question. */
        pipes_proto_answer a = w->answer;
        a.type = PIPES_PROTO_TYPE_RESPONSE;
        memcpy(a.id, w->id, sizeof a.id);
        a.id_len = strlen(w->id);
        submit_send_answer(sb, w->server, w->conn, &a);
    }
    return 1;
}

void submit_waiters_event(submit *sb, const char *sid, const char *id, int response_only,
                          uint32_t session, const pipes_proto_answer *winner)
{
    waiter **pp, *ready = NULL;
    if (!sb)
        return;
    AcquireSRWLockExclusive(&sb->lock);
    for (pp = &sb->waiters; *pp;) {
        waiter *w = *pp;
        if ((response_only && !w->want_response) || strcmp(w->id, id) != 0 ||
            strcmp(w->sid, sid) != 0) {
            pp = &w->next;
            continue;
        }
        if (winner) {
            w->answered = 1;
            w->answer = *winner;
        }
        /* An answer means a tray showed it, even if its ack never arrived
         * (the connection broke between the two). */
        if (!w->displayed) {
            w->displayed = 1;
            w->displayed_session = session;
        }
        /* Sent under the lock so submit_stop cannot free the server meanwhile
         * (pipes_server_send only queues; it never calls back). */
        if (submit_waiter_flush_locked(sb, w)) {
            *pp = w->next;
            w->next = ready;
            ready = w;
        } else {
            pp = &w->next;
        }
    }
    while (ready) {
        waiter *w = ready;
        ready = w->next;
        conns_wait(sb->conns, w->conn, -1);
        free(w);
    }
    ReleaseSRWLockExclusive(&sb->lock);
    PIPES_CHAOS_POINT("submit.waiters.unlocked");
}

void submit_answered(void *ctx, const char *sid, const char *id, const pipes_proto_answer *winner)
{
    submit_waiters_event((submit *)ctx, sid, id, 1, winner->session, winner);
}

void submit_query(submit *sb, const pipes_event *ev, const svc_identity *who,
                  const wchar_t *client)
{
    pipes_proto_answer q, state;
    pipes_proto_error err;
    if (pipes_proto_parse_answer(ev->data, ev->size, &q, &err) != PIPES_PROTO_OK) {
        submit_reject_parse(sb, ev, client, &err, q.id);
        return;
    }
    spool_state(sb->spool, who->sender.sid, q.id, &state);
    submit_send_answer(sb, ev->server, ev->connection_id, &state);
}
