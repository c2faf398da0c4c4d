/*
 * conn.h - one pipe connection, shared by servers and clients: its state,
 * its I/O requests, close, the read chain (conn_read.c) and writing from
 * the ordered queue (conn.c).
 *
 * STATE (conn->state, changed under conn->lock, only ever forward)
 *
 *     PENDING --open--> OPEN --peer gone--> DRAINING --close--> CLOSED
 *        |                |________________________close_______^
 *        +--close--> ABANDONED
 *
 *   PENDING    no client yet (server: ConnectNamedPipe outstanding; client:
 *              the start of the connection is posted). No event delivered.
 *   OPEN       pipes_conn_open moved it here; its caller delivers CONNECTED,
 *              then starts the read chain. Reads and writes run.
 *   DRAINING   a write found the peer gone: nothing more is written; the read
 *              chain still delivers what the peer wrote before it closed,
 *              then ends by itself.
 *   CLOSED     closed with close_reason: its I/O cancelled under the lock (so
 *              none can start after), its queue failed unless the owner keeps
 *              it. The read chain ends and delivers DISCONNECTED.
 *   ABANDONED  closed before it ever opened: no event at all.
 *   So DISCONNECTED is due exactly when the read chain ends in CLOSED.
 *
 * LOCKING
 *   conn->lock protects the state, `writing` and the write queue, and is
 *   held while issuing I/O, so that once the state is CLOSED (and CancelIoEx
 *   issued under the same lock) no new I/O can start. A server connection
 *   owns its lock and queue; a client's connections borrow the client's
 *   lock and queue, which outlive reconnects.
 *   Never call into an endpoint (events) while holding conn->lock.
 *   Lock order: server lock, then conn->lock.
 *
 * REFERENCES
 *   refs = 1 for the owner's membership (server list or client->conn)
 *   + 1 per request the kernel or the port holds (connect, read, write)
 *   + temporary references of threads working on it.
 *   At zero the pipe handle is closed (once) or handed back to the owner to
 *   serve another client (hooks->reuse_pipe), buffers freed, and the
 *   endpoint reference the connection holds is dropped.
 *
 * ONE COMPLETION PATH
 *   An I/O takes its request's reference and pending count before it is
 *   issued (pipes_conn_io_begin). If the call queued no packet (it failed,
 *   or completed at once in skip mode, engine.h), the issuer either hands
 *   the finished request to the port (pipes_engine_requeue: dispatch then
 *   completes it like any packet) or completes it itself with the same
 *   handler a packet would run, after pipes_conn_io_no_packet gave both
 *   back. There is no other path.
 */
#ifndef PIPES_CONN_H
#define PIPES_CONN_H

#include <windows.h>

#include "endpoint.h"
#include "engine.h"
#include "security.h"
#include "wqueue.h"

typedef struct pipes_conn pipes_conn;

typedef enum pipes_conn_state {
    PIPES_CONN_PENDING,
    PIPES_CONN_OPEN,
    PIPES_CONN_DRAINING,
    PIPES_CONN_CLOSED,
    PIPES_CONN_ABANDONED
} pipes_conn_state;

typedef struct pipes_conn_hooks {
    /* The read chain ended, just before DISCONNECTED is delivered (if it
     * is due): what the connection no longer holds is given back here, so
     * a callback that saw DISCONNECTED finds it free (server: the place
     * among max_connections). NULL: nothing. Runs exactly once. */
    void (*on_read_ending)(pipes_conn *c);
    /* The read chain ended (or the connection was abandoned before it
     * opened); DISCONNECTED has been delivered if it was due. Drops the
     * owner's membership reference. Runs exactly once. */
    void (*on_read_ended)(pipes_conn *c);
    /* Queued (not yet started) writes survive a broken pipe: client
     * reconnect mode keeps them for the next connection. */
    int (*keeps_queue)(pipes_conn *c);
    /* At zero references (no lock held, no I/O outstanding): nonzero if the
     * owner took c->pipe to serve again (server.c, INSTANCE REUSE); else,
     * or when NULL, the handle is closed. */
    int (*reuse_pipe)(pipes_conn *c);
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
    pipes_conn_state state;
    pipes_status close_reason; /* CLOSED, ABANDONED */
    int holds_place;           /* server: counted in max_connections (under the server's lock) */
    pipes_witem *writing;      /* the write the kernel holds, or NULL */

    /* touched only by the read chain (one thread at a time) */
    uint8_t *rbuf;
    size_t rcap, rlen;
    unsigned small_in_a_row; /* messages since the last large one */
    int discarding;          /* reading an oversized message to throw away */
    size_t discarded;        /* its bytes so far */

    pipes_req read_req;
    /* The connect request (server: ConnectNamedPipe; client: the start
     * task) and the write request share one place: writes start only once
     * OPEN, and only the connect request's completion opens the connection
     * (pipes_conn_open, which makes it the write request), so the first is
     * done before the second is ever issued. 48 bytes less per connection
     * (docs/PERFORMANCE.md, memory per idle connection). */
    union {
        pipes_req connect_req;
        pipes_req write_req;
    } connect_then_write;

    pipes_peer peer; /* security.h; under lock once OPEN (the first message may complete it) */
    /* Server side, under lock: the client's token as the pipe knows it.
     * Windows lets a server impersonate only after a message was read, so
     * message_read (set by the read chain before the first MESSAGE) says
     * when it can be had; server.c reads it on the first request for it
     * (get_peer, get_peer_token). Owned by the connection, closed when it
     * is freed. */
    int message_read;
    int token_tried;
    HANDLE client_token; /* NULL if it could not be had: token_error says why */
    DWORD token_error;

    /* server bookkeeping (under the server lock) */
    pipes_conn *prev, *next;

    /* a server connection's own lock and queue */
    SRWLOCK own_lock;
    pipes_wqueue own_wq;
};

/* Creates a PENDING connection for `pipe` (taking ownership of the handle:
 * it is closed when the connection is freed). lock/wq NULL = its own.
 * refs = 1. */
pipes_conn *pipes_conn_create(pipes_endpoint *ep, const pipes_conn_hooks *hooks, HANDLE pipe,
                              SRWLOCK *lock, pipes_wqueue *wq);
void pipes_conn_addref(pipes_conn *c);
void pipes_conn_release(pipes_conn *c);

/* ONE COMPLETION PATH: before issuing an I/O with one of c's requests, and
 * when that I/O queued no packet after all. The issuer must hold a
 * reference of its own, so the one given back is never the last. */
void pipes_conn_io_begin(pipes_conn *c);
void pipes_conn_io_no_packet(pipes_conn *c);

/* PENDING -> OPEN, called by the connect request's completion handler, which
 * must not touch that request afterwards: it becomes the write request
 * (struct pipes_conn). Returns 0 if it was closed meanwhile (ABANDONED): the
 * caller delivers nothing and runs hooks->on_read_ended instead of starting
 * the read chain. No locks held. */
int pipes_conn_open(pipes_conn *c);

/* Nonzero while OPEN or DRAINING: CONNECTED delivered, DISCONNECTED not yet
 * due. Lock held (shared is enough). */
int pipes_conn_is_live_locked(const pipes_conn *c);

/* Nonzero if a new write may be queued on c: PENDING (written once it
 * opens) or OPEN (lock held). */
int pipes_conn_writable_locked(const pipes_conn *c);

/* Delivers a CONNECTED or MESSAGE event of c; if GUI delivery dropped it,
 * closes c with PIPES_ERR_POST_FAILED (endpoint.h). No locks held. */
void pipes_conn_deliver(pipes_conn *c, pipes_event *ev);

/* Starts the read chain of an OPEN connection (conn_read.c). Worker
 * thread, no locks held, the caller holds a reference. */
void pipes_conn_read(pipes_conn *c);

/* Closes c with `reason` (the first reason wins): CLOSED (or ABANDONED if
 * it never opened), its I/O cancelled, queued writes failed unless the
 * owner keeps them. Safe from any thread, any number of times, no locks
 * held. */
void pipes_conn_close(pipes_conn *c, pipes_status reason);

/* The same, from the read chain (conn_read.c), which has no read
 * outstanding: the cancel is left out when no write is in flight either. */
void pipes_conn_close_from_read_chain(pipes_conn *c, pipes_status reason);

/* The reason the read chain reports when a read failed with win32_error:
 * the close reason once closed. */
pipes_status pipes_conn_reason(pipes_conn *c, DWORD win32_error);

/* What starting writes did that the caller must finish after unlocking. */
typedef struct pipes_kick {
    pipes_witem *written;       /* completed in the call (skip mode), in order */
    pipes_witem *failed;        /* failed in the call, or NULL */
    pipes_status failed_status;
} pipes_kick;

/* Starts the next queued write if none is in flight (and the ones after it,
 * while writes complete in the call). Call with c->lock held and a
 * reference on c; fills *k. Then, without the lock, the caller must call
 * pipes_conn_kick_finish(c, k). */
void pipes_conn_kick_locked(pipes_conn *c, pipes_kick *k);

/* Counts and reports the items of *k, their events posted
 * (pipes_endpoint_post_event), and handles a failed write. No locks
 * held. */
void pipes_conn_kick_finish(pipes_conn *c, pipes_kick *k);

#endif /* PIPES_CONN_H */
