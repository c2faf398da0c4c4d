/*
 * submitint.h - the submit object's parts, shared by its three files (the
 * rest of the service uses only the submit_* API of svc.h):
 *   submit.c       the pipe's events, each message's way to the spool, the
 *                  waiters for `displayed`, the object's life
 *   submitconn.c   who connects: identity, connection caps, idle timeouts
 *   submitreply.c  replies, and the rate-limited log of rejections
 */
#ifndef PIPES_SUBMITINT_H
#define PIPES_SUBMITINT_H

#include "svc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LABEL_MAX (PIPES_PROTO_MAX_ACCOUNT + PIPES_PROTO_MAX_SID + 48)

typedef struct waiter {
    struct waiter *next;
    pipes_server *server; /* the event's; valid until submit_stop sets closed */
    uint64_t conn;
    char sid[PIPES_PROTO_MAX_SID + 1]; /* with id, the record it waits for */
    char id[PIPES_PROTO_MAX_ID + 1];
    int accepted_sent;        /* `displayed` may follow only after `accepted` */
    int displayed;            /* a tray acknowledged it (maybe before `accepted` went out) */
    uint32_t displayed_session;
    int displayed_sent;
    int want_response;        /* "wait": "response": the answer follows `displayed` */
    int answered;             /* the answer is in ... */
    pipes_proto_answer answer; /* ... (type RESPONSE) */
} waiter;

struct submit {
    pipes_server *server; /* for submit_stop, submit_poll and stats only: callbacks use
                             ev->server (submit.c) */
    const svc_config *cfg; /* the caller's; outlives the submit object */
    spool *spool;
    delivery *delivery;
    ratelimit *rate;
    svc_conns *conns;
    submit_identity_hook hook; /* tests only */
    void *hook_ctx;
    volatile LONG stopping;
    SRWLOCK lock; /* waiters, closed and the rejection log below */
    int closed;   /* the server is being stopped: send nothing more */
    waiter *waiters;
    uint64_t rejects_unlogged;
    int64_t last_reject_log_ms;
    wchar_t last_reject_client[LABEL_MAX];
    wchar_t last_reject_text[PIPES_PROTO_MAX_DETAIL + 64];
    volatile LONG64 accepted, duplicates, rejected, connections;
    volatile LONG64 by_reason[10];
    volatile LONG64 refused_process, refused_session, refused_user, unidentified;
    volatile LONG64 not_allowed_by_policy, idle_closed, not_reading;
};

/* ---- submitreply.c ---------------------------------------------------------- */

/* Sends r on conn. A queue that does not take it (the client does not
 * read) closes the connection; close_after closes it once r is written. */
void submit_send_reply(submit *sb, pipes_server *server, uint64_t conn,
                       const pipes_proto_reply *r, int close_after);
/* The same for a message already written (buf, n bytes). */
void submit_send_bytes(submit *sb, pipes_server *server, uint64_t conn, const char *buf,
                       size_t n, int close_after);
/* A `rejected` with reason and detail (id echoed when valid), counted and
 * logged under client. */
void submit_reject(submit *sb, pipes_server *server, uint64_t conn, const wchar_t *client,
                   const char *id, pipes_proto_reason reason, const char *detail,
                   int close_after);
/* The `rejected` for a message that failed the protocol's rules. */
void submit_reject_parse(submit *sb, const pipes_event *ev, const wchar_t *client,
                         const pipes_proto_error *err, const char *id);
/* Who a connection is, for the log (LABEL_MAX chars): its account and SID
 * once identified (who), else the process and session the pipe recorded. */
void submit_label(const svc_identity *who, const pipes_peer_identity *peer, wchar_t *out);
/* Writes the rejections not logged yet (at stop). */
void submit_flush_rejects(submit *sb);

/* ---- submitanswer.c --------------------------------------------------------- */

/* Sends what w is due now, in the protocol's order (`displayed` after
 * `accepted`, the `response` after `displayed`); nonzero when it waits for
 * nothing more. With sb->lock held (so submit_stop cannot free the server). */
int submit_waiter_flush_locked(submit *sb, waiter *w);
/* A tray acknowledged (winner NULL) or answered (winner) sid's id in
 * session: every waiter for it (only those for a response when
 * response_only) gets what it is due now; finished ones are freed. */
void submit_waiters_event(submit *sb, const char *sid, const char *id, int response_only,
                          uint32_t session, const pipes_proto_answer *winner);
/* A `query` (the message of ev) from who: one `state` back. */
void submit_query(submit *sb, const pipes_event *ev, const svc_identity *who,
                  const wchar_t *client);
/* Sends an answer message (a `state` or `response`) on conn, as submit_send_reply. */
void submit_send_answer(submit *sb, pipes_server *server, uint64_t conn,
                        const pipes_proto_answer *a);

/* ---- submitconn.c ----------------------------------------------------------- */

void submit_on_connected(submit *sb, const pipes_event *ev);
/* The first message of a connection: who sent it, from the pipe's token.
 * Returns 0 when the connection was refused (and is closing). */
int submit_identify(submit *sb, const pipes_event *ev, svc_identity *who);
/* A message over the protocol's limit (PIPES_EVENT_LIMIT). */
void submit_on_oversized(submit *sb, const pipes_event *ev);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_SUBMITINT_H */
