/*
 * endpoint.c - delivery of events, the stop gate, references, statistics.
 */
#include "endpoint.h"

#include <string.h>

#include "pipes_chaos.h"
#include "runtime.h"
#include "wqueue.h"

#define POSTED_EVENT_MAGIC 0x50495045u /* "PIPE": guards pipes_event_free */

/* A posted event is one heap block: the event, a copy of the peer identity
 * and the payload. The window procedure owns it until pipes_event_free. */
typedef struct posted_event {
    pipes_event event; /* first: pipes_event_free casts back */
    uint32_t magic;
    pipes_peer_identity peer;
    uint8_t data[1];
} posted_event;

void pipes_endpoint_init(pipes_endpoint *ep, pipes_endpoint_kind kind, pipes_engine *engine,
                         pipes_event_fn on_event, void *notify_window, unsigned notify_message,
                         void *user_data, void (*destroy)(pipes_endpoint *))
{
    ep->kind = kind;
    ep->engine = engine;
    ep->destroy = destroy;
    ep->on_event = on_event;
    ep->notify_window = (HWND)notify_window;
    ep->notify_message = notify_message;
    ep->user_data = user_data;
    InitializeSRWLock(&ep->gate_lock);
    InitializeConditionVariable(&ep->gate_cv);
    ep->refs = 1;
    pipes_engine_attach(engine);
}

void pipes_endpoint_addref(pipes_endpoint *ep)
{
    LONG r = InterlockedIncrement(&ep->refs);
    PIPES_ASSERT(r > 1); /* nobody may revive an endpoint that reached zero */
    (void)r;
}

void pipes_endpoint_release(pipes_endpoint *ep)
{
    pipes_engine *engine;
    LONG r = InterlockedDecrement(&ep->refs);
    PIPES_ASSERT(r >= 0);
    if (r != 0)
        return;
    AcquireSRWLockExclusive(&ep->gate_lock);
    if (ep->stop_waits) {
        /* The stopping thread frees; wake it while holding the lock so it
         * cannot free before we are done with gate_cv. */
        ep->freed_by_waiter = 1;
        WakeAllConditionVariable(&ep->gate_cv);
        ReleaseSRWLockExclusive(&ep->gate_lock);
        return;
    }
    ReleaseSRWLockExclusive(&ep->gate_lock);
    engine = ep->engine;
    pipes_wbuf_free_spares(ep);
    ep->destroy(ep);
    pipes_engine_freed(engine);
}

int pipes_endpoint_is_stopping(pipes_endpoint *ep)
{
    return InterlockedCompareExchange(&ep->stopping, 0, 0) != 0;
}

static void gate_give_slot(pipes_endpoint *ep);

/* Takes a running-callback slot unless ep is stopping. The slot is taken
 * before `stopping` is read, and stop sets `stopping` before it counts the
 * slots: one of the two sees the other. */
static int gate_enter(pipes_endpoint *ep)
{
    InterlockedIncrement(&ep->callbacks_running);
    if (pipes_endpoint_is_stopping(ep)) {
        gate_give_slot(ep);
        return 0;
    }
    return 1;
}

static void post_event(void *arg);

/* Runs fn inside the gate with the worker's TLS saying whose callback this
 * is, so that stop() called from it knows not to wait for itself. Returns 0
 * if the gate was closed. */
static int run_in_gate(pipes_endpoint *ep, void (*fn)(void *), void *arg)
{
    pipes_worker_ctx *ctx = pipes_engine_worker_ctx();
    void *saved_of = NULL;
    int saved_released = 0;
    int released, shared = 0;

    if (!gate_enter(ep))
        return 0;
    /* User code may block: let other workers take the rest of this batch,
     * and the events listed on this worker (localreq.c, LOCAL PACKETS).
     * Posting to a window never blocks. */
    if (fn != post_event)
        shared = pipes_engine_share(ctx);
    if (ctx) {
        saved_of = ctx->in_callback_of;
        saved_released = ctx->released_own_slot;
        ctx->in_callback_of = ep;
        ctx->released_own_slot = 0;
    }
    fn(arg);
    pipes_engine_unshare(ctx, shared);
    released = ctx ? ctx->released_own_slot : 0;
    if (ctx) {
        ctx->in_callback_of = saved_of;
        ctx->released_own_slot = saved_released;
    }
    if (!released)
        gate_give_slot(ep);
    PIPES_CHAOS_POINT("endpoint.callback_left");
    return 1;
}

typedef struct deliver_call {
    pipes_endpoint *ep;
    pipes_event *ev;
    int post_failed;
} deliver_call;

static void call_event(void *arg)
{
    deliver_call *d = (deliver_call *)arg;
    d->ep->on_event(d->ev, d->ep->user_data);
}

static void post_event(void *arg)
{
    deliver_call *d = (deliver_call *)arg;
    pipes_event *ev = d->ev;
    posted_event *p = (posted_event *)pipes_mem_alloc(sizeof *p + ev->size);
    if (!p) {
        InterlockedIncrement64(&d->ep->stats.events_post_failed);
        d->post_failed = 1;
        return;
    }
    p->event = *ev;
    p->magic = POSTED_EVENT_MAGIC;
    if (ev->peer) {
        p->peer = *ev->peer;
        p->event.peer = &p->peer;
    }
    if (ev->size) {
        memcpy(p->data, ev->data, ev->size);
        p->event.data = p->data;
    } else {
        p->event.data = NULL;
    }
    PIPES_COUNT_INC(live_events);
    if (!PostMessageW(d->ep->notify_window, d->ep->notify_message, 0, (LPARAM)&p->event)) {
        /* Window gone or its queue full: count it, never leak it. */
        InterlockedIncrement64(&d->ep->stats.events_post_failed);
        d->post_failed = 1;
        pipes_event_free(&p->event);
    }
}

pipes_delivery pipes_endpoint_deliver(pipes_endpoint *ep, pipes_event *ev)
{
    deliver_call d;
    ev->server = ep->kind == PIPES_KIND_SERVER ? (pipes_server *)ep : NULL;
    ev->client = ep->kind == PIPES_KIND_CLIENT ? (pipes_client *)ep : NULL;
    ev->user_data = ep->user_data;
    d.ep = ep;
    d.ev = ev;
    d.post_failed = 0;
    if (!run_in_gate(ep, ep->on_event ? call_event : post_event, &d))
        return PIPES_DELIVERY_STOPPING;
    if (d.post_failed) {
        pipes_endpoint_count_error(ep, PIPES_ERR_POST_FAILED);
        return PIPES_DELIVERY_POST_FAILED;
    }
    return PIPES_DELIVERY_DONE;
}

typedef struct authorize_call {
    pipes_authorize_fn fn;
    const pipes_peer_identity *peer;
    void *user_data;
    int accepted;
} authorize_call;

static void call_authorize(void *arg)
{
    authorize_call *a = (authorize_call *)arg;
    a->accepted = a->fn(a->peer, a->user_data) != 0;
}

int pipes_endpoint_authorize(pipes_endpoint *ep, pipes_authorize_fn fn,
                             const pipes_peer_identity *peer)
{
    authorize_call a;
    a.fn = fn;
    a.peer = peer;
    a.user_data = ep->user_data;
    a.accepted = 0;
    if (!run_in_gate(ep, call_authorize, &a))
        return 0;
    return a.accepted;
}

PIPES_API void PIPES_CALL pipes_event_free(pipes_event *event)
{
    posted_event *p;
    if (!event)
        return;
    p = (posted_event *)event;
    if (p->magic != POSTED_EVENT_MAGIC)
        return; /* not a posted event, or freed twice: refuse to corrupt the heap */
    p->magic = 0;
    PIPES_COUNT_DEC(live_events);
    pipes_mem_free(p);
}

/* ---- events delivered later from a worker ----------------------------- */

typedef struct later_event {
    pipes_local_req local; /* owned by the port or a worker's list until it completes */
    pipes_endpoint *ep;
    pipes_event ev;
} later_event;

static void on_later_event(pipes_req *req, DWORD error, DWORD bytes)
{
    later_event *l = CONTAINING_RECORD(req, later_event, local.req);
    pipes_endpoint *ep = l->ep;
    (void)bytes;
    if (error == 0)
        pipes_endpoint_deliver(ep, &l->ev);
    else /* no worker could be given it (localreq.c, CARRIED REQUESTS) */
        pipes_endpoint_count_error(ep, PIPES_ERR_SYSTEM);
    pipes_mem_free(l);
    pipes_endpoint_release(ep);
}

void pipes_endpoint_post_event(pipes_endpoint *ep, pipes_event_type type, pipes_status status,
                               uint64_t connection_id, void *send_context)
{
    pipes_worker_ctx *ctx = pipes_engine_worker_ctx();
    later_event *l;
    if (pipes_endpoint_is_stopping(ep))
        return;
    l = (later_event *)pipes_mem_alloc(sizeof *l);
    if (!l) {
        pipes_endpoint_count_error(ep, PIPES_ERR_OUT_OF_MEMORY);
        return;
    }
    l->local.req.complete = on_later_event;
    l->ep = ep;
    l->ev.type = type;
    l->ev.status = status;
    l->ev.connection_id = connection_id;
    l->ev.send_context = send_context;
    pipes_endpoint_addref(ep);
    /* On a worker inside one of ep's own callbacks, or in library code (a
     * completion of ep's), the event waits on this worker until the packet
     * being dispatched is done, or is shared when user code is entered
     * first (localreq.c, LOCAL PACKETS). That packet holds a reference on ep
     * until then (the connection or event it completes), and any user code
     * it runs is ep's, so the reference held here makes nobody wait longer,
     * not even a stop of ep that does not wait for this callback (a lent
     * slot, close_gate). Inside another object's callback it would: that
     * callback may block on a thread that is stopping ep. So from there, as
     * from any other thread, it is carried to the port with the others
     * waiting (localreq.c, CARRIED REQUESTS): one packet for a burst. */
    if (ctx && (ctx->in_callback_of == ep || ctx->in_callback_of == NULL))
        pipes_engine_post_local(ep->engine, &l->local);
    else
        pipes_engine_post_carried(ep->engine, &l->local);
}

/* ---- stop --------------------------------------------------------------- */

/* Gives up one running-callback slot of ep, waking a stop() that waits for
 * the last one. The decrement comes before `stopping` is read, and stop sets
 * `stopping` before it counts under gate_lock: a stop either sees the slot
 * gone or is woken under that lock. */
static void gate_give_slot(pipes_endpoint *ep)
{
    LONG running = InterlockedDecrement(&ep->callbacks_running);
    PIPES_ASSERT(running >= 0);
    if (running == 0 && pipes_endpoint_is_stopping(ep)) {
        AcquireSRWLockExclusive(&ep->gate_lock);
        WakeAllConditionVariable(&ep->gate_cv);
        ReleaseSRWLockExclusive(&ep->gate_lock);
    }
}

void pipes_endpoint_close_gate(pipes_endpoint *ep)
{
    pipes_worker_ctx *ctx = pipes_engine_worker_ctx();
    pipes_endpoint *running = ctx && !ctx->released_own_slot && !ctx->suspended_slot
                                  ? (pipes_endpoint *)ctx->in_callback_of
                                  : NULL;

    InterlockedExchange(&ep->stopping, 1);
    if (running == ep) {
        /* Our own callback must not wait for itself: give up its slot now;
         * run_in_gate sees released_own_slot and does not leave again. */
        ctx->released_own_slot = 1;
        gate_give_slot(ep);
        running = NULL;
    } else if (running) {
        /* Inside another object's callback. If one of ep's callbacks is
         * stopping that object at this moment, each stop would wait for the
         * other's callback for ever. So while we wait, our callback's slot
         * is lent out: a stop does not wait for a callback that is itself
         * waiting inside a stop (pipes.h says so). */
        ctx->suspended_slot = 1;
        gate_give_slot(running);
    }
    PIPES_CHAOS_POINT("endpoint.gate_closed");
    AcquireSRWLockExclusive(&ep->gate_lock);
    while (InterlockedCompareExchange(&ep->callbacks_running, 0, 0) > 0)
        SleepConditionVariableSRW(&ep->gate_cv, &ep->gate_lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&ep->gate_lock);
    if (running) {
        /* Back in our callback, which goes on and leaves the gate as usual. */
        InterlockedIncrement(&running->callbacks_running);
        ctx->suspended_slot = 0;
    }
}

void pipes_endpoint_finish_stop(pipes_endpoint *ep)
{
    pipes_engine *engine = ep->engine;
    pipes_engine_release(engine);
    if (pipes_engine_worker_ctx()) {
        /* Inside a callback (this endpoint's or another's, on this engine
         * or another one): cancelled I/O drains on the workers and the last
         * release frees. Waiting here would have a worker wait for packets
         * that only the workers dequeue: with one worker thread, for ever.
         * And on another engine's worker, for references that a callback
         * stopping our caller's object in return holds while it waits for
         * that object's (each would wait for the other for ever). */
        pipes_endpoint_release(ep);
        return;
    }
    AcquireSRWLockExclusive(&ep->gate_lock);
    ep->stop_waits = 1;
    ReleaseSRWLockExclusive(&ep->gate_lock);
    if (InterlockedDecrement(&ep->refs) != 0) {
        AcquireSRWLockExclusive(&ep->gate_lock);
        while (!ep->freed_by_waiter)
            SleepConditionVariableSRW(&ep->gate_cv, &ep->gate_lock, INFINITE, 0);
        ReleaseSRWLockExclusive(&ep->gate_lock);
    }
    pipes_wbuf_free_spares(ep);
    ep->destroy(ep);
    pipes_engine_freed(engine);
}

/* ---- statistics ------------------------------------------------------- */

static int status_index_ok(pipes_status s)
{
    return (int)s >= 0 && (int)s < PIPES_STATUS_COUNT;
}

void pipes_endpoint_count_error(pipes_endpoint *ep, pipes_status status)
{
    if (status_index_ok(status))
        InterlockedIncrement64(&ep->stats.errors_by_status[status]);
}

void pipes_endpoint_count_disconnect(pipes_endpoint *ep, pipes_status reason)
{
    if (status_index_ok(reason))
        InterlockedIncrement64(&ep->stats.disconnects_by_reason[reason]);
}

#define READ64(x) InterlockedCompareExchange64(&(x), 0, 0)

void pipes_endpoint_fill_stats(pipes_endpoint *ep, pipes_stats *out)
{
    int i;
    out->messages_in = (uint64_t)READ64(ep->stats.messages_in);
    out->bytes_in = (uint64_t)READ64(ep->stats.bytes_in);
    out->messages_out = (uint64_t)READ64(ep->stats.messages_out);
    out->bytes_out = (uint64_t)READ64(ep->stats.bytes_out);
    out->connects = (uint64_t)READ64(ep->stats.connects);
    out->refused = (uint64_t)READ64(ep->stats.refused);
    out->events_post_failed = (uint64_t)READ64(ep->stats.events_post_failed);
    for (i = 0; i < PIPES_STATUS_COUNT; i++) {
        out->disconnects_by_reason[i] = (uint64_t)READ64(ep->stats.disconnects_by_reason[i]);
        out->errors_by_status[i] = (uint64_t)READ64(ep->stats.errors_by_status[i]);
    }
}
