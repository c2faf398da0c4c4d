/*
 * localreq.c - the requests a worker keeps instead of the port, and the one
 * packet that carries the rest (engine.h; engine.c dequeues and dispatches,
 * and shares a worker's local list with its batch's rest).
 *
 * LOCAL PACKETS
 *   An event owed by a call a callback made on its own server or client
 *   (the SEND_COMPLETE of a send written within the call, endpoint.c) is
 *   kept on the worker's own list instead of being posted to the port:
 *   under Wine a post and its dequeue are two wineserver round trips and
 *   usually wake the other worker, which doubled the requests of a client
 *   sending from its SEND_COMPLETE callback (docs/PERFORMANCE.md). The
 *   worker runs the list when the completion function of the packet it
 *   dispatches has returned, so such an event never holds up the rest of
 *   that completion (a connection's read chain, say). Two rules keep a
 *   blocked callback from holding up more than itself, as with batches:
 *   - when user code is entered (any callback, one the list runs too), the
 *     list as it stands is shared with the rest of the batch
 *     (pipes_engine_share): a worker that takes over from a blocked one
 *     steals both, so only the events owed by that very callback's calls
 *     wait for it. The callback's own events start a new list; what nobody
 *     stole is put back in front of it when the callback returns. Sharing
 *     costs steal_lock, not a post and a dequeue per event: a callback
 *     delivered after others that sent (SEND_COMPLETEs of a run of writes,
 *     each sending the next) used to post all their events to the port
 *     (docs/PERFORMANCE.md, PERF-7);
 *   - one run completes at most PIPES_ENGINE_LOCAL_RUN requests and hands
 *     the rest to the port (CARRIED REQUESTS), so a chain (each event's
 *     callback sending again) cannot keep a worker from the port for ever.
 *   A request's pending_operations count is taken when it is listed and
 *   given back when it completes, as for a posted one; one carried to the
 *   port keeps it.
 *
 * CARRIED REQUESTS
 *   Requests for any worker that need no packet of their own: a local
 *   run's rest, and events owed on threads that cannot keep them (an
 *   application thread, another object's callback: endpoint.c). They go
 *   onto the engine's carried list, and one packet (carrier_req), posted
 *   unless it is in the port already, carries the whole list to the worker
 *   that dequeues it, which runs it as its own local list, shared when its
 *   user code is entered as any local list is. So a burst costs one post
 *   and one dequeue, not one each: 200 sends with a context from an
 *   application thread posted 200 packets, a run of 64 writes' events 64
 *   (docs/PERFORMANCE.md, PERF-7). The list is under steal_lock; a request
 *   keeps its pending_operations count until it completes, and the carrier
 *   holds one of its own while in the port. If the carrier cannot be
 *   posted, the whole list is taken back (those other threads added since
 *   included, so none is stranded): a worker handing on its local run runs
 *   it itself; a thread carrying an event (not on a worker, or inside
 *   another object's callback, where it must not keep it) completes each
 *   request with the error, which its completion function must take
 *   without running user code (endpoint.c counts it).
 */
#include "engine.h"

#include "pipes_chaos.h"
#include "runtime.h"

/* lr becomes a pending operation that completes with success, as
 * pipes_engine_post makes a posted request, not yet on any list. */
static void take_as_posted(pipes_local_req *lr)
{
    lr->req.ov.Internal = 0;
    lr->req.ov.InternalHigh = 0;
    lr->next = NULL;
    PIPES_COUNT_INC(pending_operations);
}

static pipes_local_req *pop_local(pipes_worker_ctx *ctx)
{
    pipes_local_req *lr = ctx->local_head;
    if (lr) {
        ctx->local_head = lr->next;
        if (!ctx->local_head)
            ctx->local_tail = NULL;
    }
    return lr;
}

/* Appends the list first..last to ctx's local list. */
static void append_local(pipes_worker_ctx *ctx, pipes_local_req *first, pipes_local_req *last)
{
    if (ctx->local_tail)
        ctx->local_tail->next = first;
    else
        ctx->local_head = first;
    ctx->local_tail = last;
}

/* CARRIED REQUESTS: the carrier's completion. The worker that dequeues it
 * takes the whole carried list as its local list, which run_batch runs
 * after this completion. */
static void on_carrier(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_engine *engine = CONTAINING_RECORD(req, pipes_engine, carrier_req);
    pipes_worker_ctx *ctx = pipes_engine_worker_ctx();
    pipes_local_req *first, *last;
    (void)error;
    (void)bytes;
    AcquireSRWLockExclusive(&engine->steal_lock);
    first = engine->carried_head;
    last = engine->carried_tail;
    engine->carried_head = engine->carried_tail = NULL;
    engine->carrier_posted = 0;
    ReleaseSRWLockExclusive(&engine->steal_lock);
    if (first)
        append_local(ctx, first, last);
}

/* Appends first..last to the carried list; nonzero if the caller must post
 * the carrier (it is not in the port). */
static int carry(pipes_engine *engine, pipes_local_req *first, pipes_local_req *last)
{
    int post;
    AcquireSRWLockExclusive(&engine->steal_lock);
    if (engine->carried_tail)
        engine->carried_tail->next = first;
    else
        engine->carried_head = first;
    engine->carried_tail = last;
    post = !engine->carrier_posted;
    engine->carrier_posted = 1;
    ReleaseSRWLockExclusive(&engine->steal_lock);
    PIPES_CHAOS_POINT("engine.carried");
    return post;
}

/* Posts the carrier and returns 0; if that fails, takes back the whole
 * carried list into *first..*last and returns the Win32 error. */
static DWORD post_carrier(pipes_engine *engine, pipes_local_req **first, pipes_local_req **last)
{
    DWORD error;
    if (pipes_engine_post(engine, &engine->carrier_req))
        return 0;
    error = GetLastError();
    AcquireSRWLockExclusive(&engine->steal_lock);
    *first = engine->carried_head;
    *last = engine->carried_tail;
    engine->carried_head = engine->carried_tail = NULL;
    engine->carrier_posted = 0;
    ReleaseSRWLockExclusive(&engine->steal_lock);
    return error ? error : ERROR_INVALID_HANDLE;
}

/* Hands the rest of ctx's local list to the port. 0 if the carrier could
 * not be posted: the list (with what other threads added) is ctx's again. */
static int local_rest_to_port(pipes_worker_ctx *ctx)
{
    pipes_local_req *first = ctx->local_head, *last = ctx->local_tail;
    ctx->local_head = ctx->local_tail = NULL;
    if (!carry(ctx->engine, first, last) || post_carrier(ctx->engine, &first, &last) == 0)
        return 1;
    append_local(ctx, first, last);
    return 0;
}

void pipes_engine_post_carried(pipes_engine *engine, pipes_local_req *lr)
{
    pipes_local_req *first, *last;
    DWORD error;
    take_as_posted(lr);
    if (!carry(engine, lr, lr) || (error = post_carrier(engine, &first, &last)) == 0)
        return;
    while (first) { /* no worker can be given them: each learns why */
        pipes_local_req *next = first->next;
        pipes_engine_complete(&first->req, error, 0);
        first = next;
    }
}

void pipes_engine_run_local(pipes_worker_ctx *ctx)
{
    pipes_local_req *lr;
    unsigned ran = 0;
    int carry_failed = 0;
    if (!ctx || ctx->running_local)
        return;
    ctx->running_local = 1;
    while (ctx->local_head) {
        /* Past the limit, the rest goes to the port; if posting fails, it
         * is completed here (one failed post a run is enough to learn it). */
        if (ran >= PIPES_ENGINE_LOCAL_RUN && !carry_failed) {
            if (local_rest_to_port(ctx))
                break;
            carry_failed = 1;
        }
        lr = pop_local(ctx);
        ran++;
        pipes_engine_complete(&lr->req, 0, 0); /* part of the packet run_batch marked busy */
    }
    ctx->running_local = 0;
}

void pipes_engine_init_carrier(pipes_engine *engine)
{
    engine->carrier_req.complete = on_carrier;
}

void pipes_engine_post_local(pipes_engine *engine, pipes_local_req *lr)
{
    pipes_worker_ctx *ctx = pipes_engine_worker_ctx();
    if (!ctx || ctx->engine != engine || !ctx->batch) {
        pipes_engine_post_carried(engine, lr);
        return;
    }
    take_as_posted(lr);
    append_local(ctx, lr, lr);
}
