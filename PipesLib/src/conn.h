/*
 * conn.h - one pipe connection, shared by servers and clients: the read
 * chain with message reassembly, the ordered write queue, and close.
 *
 * LOCKING
 *   conn->lock protects the connection's state (closing, writing) and its
 *   write queue, and is held while issuing I/O, so that once `closing` is set
 *   (and CancelIoEx issued under the same lock) no new I/O can start.
 *   A server connection owns its lock and queue; a client's connections
 *   borrow the client's lock and queue, which outlive reconnects.
 *   Never call into an endpoint (events) while holding conn->lock.
 *   Lock order: server lock, then conn->lock.
 *
 * REFERENCES
 *   refs = 1 for the owner's membership (server list or client->conn)
 *   + 1 per request the kernel holds (connect, read, write)
 *   + temporary references of threads working on it.
 *   At zero the pipe handle is closed (once), buffers freed, and the
 *   endpoint reference the connection holds is dropped.
 *
 * THE READ CHAIN
 *   At most one read is outstanding. Each completion delivers a MESSAGE or
 *   grows the buffer (ERROR_MORE_DATA, sized with PeekNamedPipe) and issues
 *   the next read; reads that complete in the call (skip mode, engine.h)
 *   are handled by the same loop, never by recursion. When the chain ends
 *   (error, cancel, close) the owner's on_read_ended hook runs exactly once,
 *   after the last MESSAGE event.
 */
#ifndef PIPES_CONN_H
#define PIPES_CONN_H

#include <windows.h>

#include "endpoint.h"
#include "engine.h"

/* A payload shared by every connection a broadcast is queued on. */
typedef struct pipes_wbuf {
    volatile LONG refs;
    size_t size;
    uint8_t data[1];
} pipes_wbuf;

/* pipes_client_send_wait's wait for its item, on the waiting thread's
 * stack. Its own lock, not the client's: the completing thread signals it
 * without touching the client, and the waiter, woken, touches the client
 * again only while it holds a reference on it (client.c). */
typedef struct pipes_send_waiter {
    SRWLOCK lock;
    CONDITION_VARIABLE cv; /* waited on with lock */
    int done;
    pipes_status status;
} pipes_send_waiter;

typedef struct pipes_witem {
    struct pipes_witem *next;
    pipes_wbuf *buf;
    void *send_context;        /* reported in SEND_COMPLETE if not NULL */
    pipes_send_waiter *waiter; /* pipes_client_send_wait, or NULL */
} pipes_witem;

typedef struct pipes_wqueue {
    SRWLOCK *lock;
    pipes_witem *head, *tail;
    size_t bytes;
    unsigned count;
    CONDITION_VARIABLE room_cv; /* signalled when an item leaves the queue */
    int full_reported;          /* a LIMIT event was sent; re-armed at half */
} pipes_wqueue;

typedef struct pipes_conn pipes_conn;

typedef struct pipes_conn_hooks {
    /* The read chain ended; DISCONNECTED has been delivered if the
     * connection was connected. Drops the owner's membership reference. */
    void (*on_read_ended)(pipes_conn *c);
    /* Queued (not yet started) writes survive a broken pipe: client
     * reconnect mode keeps them for the next connection. */
    int (*keeps_queue)(pipes_conn *c);
} pipes_conn_hooks;

struct pipes_conn {
    pipes_endpoint *ep;
    const pipes_conn_hooks *hooks;
    SRWLOCK *lock;
    pipes_wqueue *wq;
    HANDLE pipe;
    uint64_t id;
    volatile LONG refs;

    /* under lock */
    int closing;
    pipes_status close_reason;
    int writes_broken;    /* a write found the peer gone: no more writes */
    pipes_witem *writing; /* the write the kernel holds, or NULL */

    /* touched only by the read chain (one thread at a time) */
    int connected; /* CONNECTED was delivered, so DISCONNECTED is due */
    uint8_t *rbuf;
    size_t rcap, rlen;
    unsigned small_in_a_row; /* messages since the last large one */
    int discarding;          /* reading an oversized message to throw away */
    size_t discarded;        /* its bytes so far */

    pipes_req connect_req; /* server: ConnectNamedPipe; client: start task */
    pipes_req read_req;
    pipes_req write_req;

    pipes_peer_identity peer;

    /* server bookkeeping (under the server lock) */
    pipes_conn *prev, *next;
    int listening;

    /* a server connection's own lock and queue */
    SRWLOCK own_lock;
    pipes_wqueue own_wq;
};

/* Creates a connection for `pipe` (taking ownership of the handle: it is
 * closed when the connection is freed). lock/wq NULL = its own. refs = 1. */
pipes_conn *pipes_conn_create(pipes_endpoint *ep, const pipes_conn_hooks *hooks, HANDLE pipe,
                              SRWLOCK *lock, pipes_wqueue *wq);
void pipes_conn_addref(pipes_conn *c);
void pipes_conn_release(pipes_conn *c);

void pipes_wqueue_init(pipes_wqueue *wq, SRWLOCK *lock);

/* Delivers a CONNECTED or MESSAGE event of c; if GUI delivery dropped it,
 * closes c with PIPES_ERR_POST_FAILED (endpoint.h). No locks held. */
void pipes_conn_deliver(pipes_conn *c, pipes_event *ev);

/* Starts (or continues) the read chain. Worker thread, no locks held. */
void pipes_conn_read(pipes_conn *c);

/* Marks the connection closing with `reason` (the first reason wins),
 * cancels its I/O, and fails queued writes unless the owner keeps them.
 * Safe from any thread, any number of times, no locks held. */
void pipes_conn_close(pipes_conn *c, pipes_status reason);

/* A write failed with `status`; whoever saw the failure already set
 * writes_broken under the lock, so no other write started. If the peer closed its end, messages it
 * wrote before closing may still wait in the pipe: writing stops (queued
 * writes fail unless the owner keeps them) but the read chain goes on and
 * ends by itself after delivering them. Any other failure closes c. */
void pipes_conn_write_failed(pipes_conn *c, pipes_status status);

/* Nonzero if a new write may be queued on c (lock held). */
int pipes_conn_writable_locked(const pipes_conn *c);

/* A queue item for buf (takes a reference on buf). NULL when out of memory. */
pipes_witem *pipes_witem_create(pipes_wbuf *buf, void *send_context, pipes_send_waiter *waiter);

/* Appends item if the queue's bounds allow (lock held). On QUEUE_FULL the
 * item is not taken and *report_limit is set the first time the queue fills
 * (the caller posts a LIMIT event after unlocking). */
pipes_status pipes_wqueue_push_locked(pipes_endpoint *ep, pipes_wqueue *wq, pipes_witem *item,
                                      int *report_limit);

/* What starting writes did that the caller must finish after unlocking. */
typedef struct pipes_kick {
    pipes_witem *written;       /* completed in the call (skip mode), in order */
    pipes_witem *failed;        /* failed in the call, or NULL */
    pipes_status failed_status;
} pipes_kick;

/* Starts the next queued write if none is in flight (and the ones after it,
 * while writes complete in the call). Call with c->lock held and a
 * reference on c; fills *k. Then, without the lock, the caller must call
 * pipes_conn_kick_finish(c, k, ...). */
void pipes_conn_kick_locked(pipes_conn *c, pipes_kick *k);

/* Counts and reports the items of *k (pipes_witem_complete with
 * inline_event), and handles a failed write (pipes_conn_write_failed). No
 * locks held. */
void pipes_conn_kick_finish(pipes_conn *c, pipes_kick *k, int inline_event);

/* Removes an item that has not started from the queue (send_wait timeout).
 * Call with the lock held. Returns 1 if it was still queued. */
int pipes_wqueue_withdraw_locked(pipes_wqueue *wq, pipes_witem *item);

/* Reports an item exactly once (SEND_COMPLETE if it has a context, wakes
 * its waiter) and frees it. No locks held. The event is delivered inline
 * only when `inline_event` is set (the write completion on a worker);
 * otherwise it is posted to a worker, so no callback nests inside an API
 * call or another callback. */
void pipes_witem_complete(pipes_endpoint *ep, pipes_witem *item, pipes_status status,
                          int inline_event);

/* Fails and frees every queued item (e.g. on close). No locks held. */
void pipes_wqueue_fail_all(pipes_endpoint *ep, pipes_wqueue *wq, pipes_status status);

pipes_wbuf *pipes_wbuf_create(const void *data, size_t size);
void pipes_wbuf_release(pipes_wbuf *b);

#endif /* PIPES_CONN_H */
