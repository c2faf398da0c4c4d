/*
 * wqueue.h - the ordered, bounded write queue a connection sends from, its
 * items and their payloads.
 *
 * OWNERSHIP
 *   A pipes_wbuf is shared by every item that carries it (a broadcast puts
 *   one buffer on many queues): reference counted, freed by the last item.
 *   An item belongs to its queue while queued, then to whoever took it out
 *   (the writer, a close that fails the queue, a send_wait that withdraws
 *   it), who completes it exactly once: pipes_witem_complete reports it and
 *   frees it.
 *   The queue's lock is its owner's (conn.h): functions named *_locked are
 *   called with it held; the others take it or need none.
 */
#ifndef PIPES_WQUEUE_H
#define PIPES_WQUEUE_H

#include <windows.h>

#include "endpoint.h"

/* A payload shared by every connection a broadcast is queued on. */
typedef struct pipes_wbuf {
    volatile LONG refs;
    size_t size;           /* bytes of the message */
    size_t cap;            /* bytes data[] can hold (a reused buffer may hold more) */
    pipes_endpoint *owner; /* whose spares it goes back to (WRITE BUFFER REUSE) */
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

void pipes_wqueue_init(pipes_wqueue *wq, SRWLOCK *lock);

/* A queue item for buf (takes a reference on buf). NULL when out of memory. */
pipes_witem *pipes_witem_create(pipes_wbuf *buf, void *send_context, pipes_send_waiter *waiter);

/* Nonzero if a message of `size` bytes fits the queue's bounds now (lock
 * held). One message always fits an empty queue, whatever its size. */
int pipes_wqueue_has_room_locked(const pipes_endpoint *ep, const pipes_wqueue *wq, size_t size);

/* Appends item if the queue's bounds allow (lock held). On QUEUE_FULL the
 * item is not taken and *first_full is set the first time the queue fills
 * (re-armed once it drained to half). */
pipes_status pipes_wqueue_push_locked(pipes_endpoint *ep, pipes_wqueue *wq, pipes_witem *item,
                                      int *first_full);

/* Takes the oldest item out, or NULL (lock held). */
pipes_witem *pipes_wqueue_pop_locked(pipes_endpoint *ep, pipes_wqueue *wq);

/* Removes an item that has not started from the queue (send_wait timeout).
 * Call with the lock held. Returns 1 if it was still queued. */
int pipes_wqueue_withdraw_locked(pipes_wqueue *wq, pipes_witem *item);

/* Detaches every queued item (lock held); complete them after unlocking. */
pipes_witem *pipes_wqueue_take_all_locked(pipes_wqueue *wq);

/* Fails and frees every queued item (e.g. on close). No locks held. */
void pipes_wqueue_fail_all(pipes_endpoint *ep, pipes_wqueue *wq, pipes_status status);

/* Reports an item exactly once (SEND_COMPLETE if it has a context, wakes
 * its waiter) and frees it. No locks held. The event is delivered inline
 * only when `inline_event` is set (the write completion on a worker);
 * otherwise it is posted to a worker, so no callback nests inside an API
 * call or another callback. */
void pipes_witem_complete(pipes_endpoint *ep, pipes_witem *item, pipes_status status,
                          int inline_event);
/* The same for a list linked through `next`, with events posted. */
void pipes_witem_complete_list(pipes_endpoint *ep, pipes_witem *list, pipes_status status);

/* A copy of data for sending by owner's connections. WRITE BUFFER REUSE:
 * under Wine and Windows alike a large heap block is mapped and unmapped
 * by the system on every allocation and free (measured under Wine: 1 MiB
 * messages went from 384 to 44 MiB/s when each took a fresh block), so a
 * released buffer of at least PIPES_WBUF_SPARE_MIN bytes is kept in one of
 * the owner's PIPES_WBUF_SPARES slots and reused for the next message that
 * fits it (up to twice its size); the owner frees its spares when it is
 * freed (pipes_wbuf_free_spares). */
#define PIPES_WBUF_SPARE_MIN (16u * 1024u)
pipes_wbuf *pipes_wbuf_create(pipes_endpoint *owner, const void *data, size_t size);
void pipes_wbuf_release(pipes_wbuf *b);
void pipes_wbuf_free_spares(pipes_endpoint *owner);

#endif /* PIPES_WQUEUE_H */
