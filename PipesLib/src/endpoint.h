/*
 * endpoint.h - what servers and clients share: event delivery (callback or
 * PostMessageW), the callback gate that lets stop() promise "no callback
 * after return", reference counting that gates teardown, and statistics.
 *
 * REFERENCES
 *   refs = 1 for the caller's handle + 1 per connection object alive + 1 per
 *   engine request the endpoint itself has outstanding (posted events,
 *   reconnect retries). The caller's reference is dropped by stop/close.
 *   When refs reaches zero the endpoint is freed: by the stopping thread if
 *   it waits (stop called outside a callback), else by whichever worker
 *   dropped the last reference.
 *
 * THE GATE
 *   Every callback and every PostMessageW runs between gate_enter and
 *   gate_leave. Stop sets `stopping` and waits for callbacks_running to drop
 *   to zero (not counting the stopping thread's own callback), after which
 *   gate_enter refuses all further deliveries.
 */
#ifndef PIPES_ENDPOINT_H
#define PIPES_ENDPOINT_H

#include <windows.h>

#include "engine.h"
#include "pipes.h"

typedef enum pipes_endpoint_kind { PIPES_KIND_SERVER, PIPES_KIND_CLIENT } pipes_endpoint_kind;

typedef struct pipes_endpoint_stats {
    volatile LONG64 messages_in, bytes_in, messages_out, bytes_out;
    volatile LONG64 connects, refused, events_post_failed;
    volatile LONG64 disconnects_by_reason[PIPES_STATUS_COUNT];
    volatile LONG64 errors_by_status[PIPES_STATUS_COUNT];
} pipes_endpoint_stats;

typedef struct pipes_endpoint pipes_endpoint;

#define PIPES_WBUF_SPARES 4u /* write buffers an endpoint keeps for reuse (wqueue.h) */

struct pipes_endpoint {
    pipes_endpoint_kind kind;
    pipes_engine *engine;
    void (*destroy)(pipes_endpoint *ep); /* frees the server or client */

    /* delivery, fixed at creation */
    pipes_event_fn on_event;
    HWND notify_window;
    UINT notify_message;
    void *user_data;

    /* limits, fixed at creation */
    size_t max_message_size;
    int discard_oversized; /* PIPES_SERVER_DISCARD_OVERSIZED */
    size_t max_queued_bytes;
    unsigned max_queued_messages;

    SRWLOCK gate_lock;
    CONDITION_VARIABLE gate_cv;    /* callbacks_running fell to 0, or refs to 0 */
    volatile LONG callbacks_running;
    volatile LONG stopping;
    volatile LONG refs;
    int stop_waits; /* under gate_lock: the stopping thread frees at refs 0 */
    int freed_by_waiter;

    pipes_endpoint_stats stats;

    /* Write buffers kept for reuse (wqueue.h, WRITE BUFFER REUSE); swapped
     * in and out with interlocked exchanges, freed with the endpoint. */
    struct pipes_wbuf *volatile spares[PIPES_WBUF_SPARES];
};

/* Fills the common parts; refs starts at 1 (the caller's handle). */
void pipes_endpoint_init(pipes_endpoint *ep, pipes_endpoint_kind kind, pipes_engine *engine,
                         pipes_event_fn on_event, void *notify_window, unsigned notify_message,
                         void *user_data, void (*destroy)(pipes_endpoint *));

void pipes_endpoint_addref(pipes_endpoint *ep);
void pipes_endpoint_release(pipes_endpoint *ep);

typedef enum pipes_delivery {
    PIPES_DELIVERY_DONE = 0,       /* the callback ran, or the event was posted */
    PIPES_DELIVERY_STOPPING = 1,   /* the endpoint is stopping: nothing delivered */
    PIPES_DELIVERY_POST_FAILED = 2 /* PostMessageW (or its allocation) failed: dropped, counted */
} pipes_delivery;

/* Delivers *ev (type and payload filled by the caller; server/client and
 * user_data are filled here) through the callback or PostMessageW, unless
 * the endpoint is stopping. A connection whose CONNECTED or MESSAGE event
 * was dropped must be closed (PIPES_ERR_POST_FAILED): its peer would wait
 * for an answer to something the application never saw. */
pipes_delivery pipes_endpoint_deliver(pipes_endpoint *ep, pipes_event *ev);

/* Runs the authorize callback under the gate; refuses when stopping. */
int pipes_endpoint_authorize(pipes_endpoint *ep, pipes_authorize_fn fn,
                             const pipes_peer_identity *peer);

/* Delivers a small event (LIMIT, SEND_COMPLETE...) from a worker thread
 * later, for callers that are not on a worker or hold a lock: never inside
 * the caller's call. Called on a worker inside one of ep's callbacks or in
 * a completion of ep's, the event is kept on that worker and follows when
 * the packet it dispatches is done, or is shared with a worker taking over
 * when user code is entered first (localreq.c, LOCAL PACKETS); called
 * anywhere else, it goes through the port, carried with the other events
 * waiting by one packet (localreq.c, CARRIED REQUESTS). */
void pipes_endpoint_post_event(pipes_endpoint *ep, pipes_event_type type, pipes_status status,
                               uint64_t connection_id, void *send_context);

/* Stop, part one: closes the gate and waits for running callbacks (other
 * than the caller's own, when stop is called from one). */
void pipes_endpoint_close_gate(pipes_endpoint *ep);

/* Stop, part two, after the owner cancelled its I/O: drops the caller's
 * reference; on a thread that is no engine's worker (not inside any
 * callback), waits until refs reaches 0 and frees. */
void pipes_endpoint_finish_stop(pipes_endpoint *ep);

int pipes_endpoint_is_stopping(pipes_endpoint *ep);

void pipes_endpoint_count_error(pipes_endpoint *ep, pipes_status status);
void pipes_endpoint_count_disconnect(pipes_endpoint *ep, pipes_status reason);
void pipes_endpoint_fill_stats(pipes_endpoint *ep, pipes_stats *out);

#endif /* PIPES_ENDPOINT_H */
