/*
 * engine.c - one I/O completion port drained by a pool of worker threads
 * with GetQueuedCompletionStatusEx. Workers do nothing but dequeue and
 * dispatch each packet to its request's completion function. Only one of
 * them waits on the port at a time; the others stand by (standby.c, ONE
 * WORKER ON THE PORT), so "a worker asleep in the dequeue" below is that one.
 *
 * SHARED BATCHES
 *   A worker dequeues up to ENGINE_BATCH packets at once and dispatches
 *   them in order. A packet waiting in one worker's batch is invisible to
 *   the port, so a user callback that blocks would hold up completions of
 *   unrelated connections while other workers have nothing to do. So
 *   while a worker runs user code, the rest of its batch is *shared*: any
 *   other worker, before it dequeues again, first steals a shared rest
 *   into its own batch. Stealing costs no system call, only steal_lock.
 *   Ownership: a worker's batch array is its own; while shared, the
 *   entries after batch_next may be read and blanked (lpOverlapped = NULL)
 *   by a stealer holding steal_lock, and the owner touches them again only
 *   after taking steal_lock to unshare. A stolen packet's request is
 *   still counted in pending_operations until it is dispatched.
 *
 * NO LOST WAKE-UP
 *   The rule: whenever a rest is shared while a worker sleeps in the
 *   dequeue, a wake packet (ENGINE_WAKE_KEY) is in the port. Both sides
 *   announce first and look second, with interlocked operations (full
 *   barriers), so at least one of them sees the other:
 *   - a worker about to sleep counts itself in idle_workers, *then* looks
 *     for shared rests once more, and steals instead of sleeping;
 *   - a sharer marks its rest shared, *then* reads idle_workers and posts
 *     a wake unless one is already in the port (wake_pending).
 *   wake_pending is cleared by the worker that dequeues the wake packet,
 *   at once, before it dispatches anything of that batch: a wake packet
 *   behind a blocked callback in the same batch must not silence later
 *   wakes. That worker then passes the wake on if shared rests remain and
 *   another worker still sleeps.
 *   Worker slots are fixed before any thread starts, so every worker is
 *   visible to stealers from its first instruction.
 *
 * LOCAL PACKETS and CARRIED REQUESTS: localreq.c (the requests a worker
 *   keeps, and the packet that carries the rest); engine.c shares a
 *   worker's local list with its batch's rest (pipes_engine_share).
 */
#include "engine.h"

#include "completion_probe.h"
#include "pipes_chaos.h"
#include "runtime.h"
#include "standby.h"

#define ENGINE_BATCH 64              /* packets per dequeue call, at most (BATCH SIZE) */
#define ENGINE_PROBE_EVERY 8u        /* a small-batch worker tries a full batch this often */
#define ENGINE_QUIT_KEY ((ULONG_PTR)1) /* packet with this key and no OVERLAPPED ends a worker */
#define ENGINE_WAKE_KEY ((ULONG_PTR)2) /* no OVERLAPPED: look for shared batches */
#define ENGINE_MAX_THREADS 64u

static pipes_tls_slot g_worker_slot = PIPES_TLS_SLOT_INIT;

pipes_worker_ctx *pipes_engine_worker_ctx(void)
{
    DWORD index = pipes_tls_index(&g_worker_slot);
    if (index == TLS_OUT_OF_INDEXES)
        return NULL;
    return (pipes_worker_ctx *)TlsGetValue(index);
}

void pipes_engine_complete(pipes_req *req, DWORD error, DWORD bytes)
{
    if (PIPES_COUNT_DEC(pending_operations) < 0)
        PIPES_ASSERT(!"more packets dequeued than operations issued");
    PIPES_CHAOS_POINT("engine.dispatch");
    req->complete(req, error, bytes);
}

static void dispatch(OVERLAPPED_ENTRY *entry)
{
    pipes_req *req = CONTAINING_RECORD(entry->lpOverlapped, pipes_req, ov);
    DWORD error = 0;
    DWORD bytes = entry->dwNumberOfBytesTransferred;

    /* The request's status lives in its OVERLAPPED; GetOverlappedResult
     * with bWait = FALSE only translates it (no kernel call). */
    if (req->ov.Internal != 0 && req->file) {
        if (!GetOverlappedResult(req->file, &req->ov, &bytes, FALSE))
            error = GetLastError();
    }
    PIPES_COUNT_INC(completions_dequeued);
    pipes_engine_complete(req, error, bytes);
}

/* Posts a wake packet if a worker sleeps in the dequeue and none is on
 * its way yet. */
static void wake_a_sleeper(pipes_engine *engine)
{
    if (InterlockedCompareExchange(&engine->idle_workers, 0, 0) == 0)
        return;
    if (InterlockedCompareExchange(&engine->wake_pending, 1, 0) != 0)
        return;
    if (!PostQueuedCompletionStatus(engine->port, 0, ENGINE_WAKE_KEY, NULL))
        InterlockedExchange(&engine->wake_pending, 0);
}

int pipes_engine_share(pipes_worker_ctx *ctx)
{
    pipes_engine *engine;
    if (!ctx || !ctx->batch || ctx->shared ||
        (ctx->batch_next >= ctx->batch_count && !ctx->local_head))
        return 0;
    engine = ctx->engine;
    AcquireSRWLockExclusive(&engine->steal_lock);
    ctx->shared = 1;
    /* The list as it stands; what the user code adds starts a new one,
     * which only this thread touches. */
    ctx->shared_local = ctx->local_head;
    ctx->shared_local_tail = ctx->local_tail;
    ctx->local_head = ctx->local_tail = NULL;
    InterlockedIncrement(&engine->shared_batches);
    ReleaseSRWLockExclusive(&engine->steal_lock);
    PIPES_CHAOS_POINT("engine.shared");
    wake_a_sleeper(engine); /* after the announcement (NO LOST WAKE-UP) */
    return 1;
}

void pipes_engine_unshare(pipes_worker_ctx *ctx, int shared)
{
    pipes_engine *engine;
    if (!shared)
        return;
    engine = ctx->engine;
    AcquireSRWLockExclusive(&engine->steal_lock);
    if (ctx->shared) { /* nobody stole it */
        ctx->shared = 0;
        InterlockedDecrement(&engine->shared_batches);
        if (ctx->shared_local) { /* it runs first, as it was listed first */
            ctx->shared_local_tail->next = ctx->local_head;
            if (!ctx->local_head)
                ctx->local_tail = ctx->shared_local_tail;
            ctx->local_head = ctx->shared_local;
            ctx->shared_local = ctx->shared_local_tail = NULL;
        }
    }
    ReleaseSRWLockExclusive(&engine->steal_lock);
}

/* Moves the shared rest of another worker's batch into out, and its shared
 * local list onto self's (empty between batches); returns the number of
 * packets taken (0 with self->local_head NULL: nothing shared). */
static ULONG steal_batch(pipes_worker_ctx *self, OVERLAPPED_ENTRY *out)
{
    pipes_engine *engine = self->engine;
    ULONG taken = 0, i, w;
    LONG left;

    if (InterlockedCompareExchange(&engine->shared_batches, 0, 0) == 0)
        return 0;
    AcquireSRWLockExclusive(&engine->steal_lock);
    PIPES_ASSERT(self->local_head == NULL);
    for (w = 0; w < engine->worker_slots && taken == 0 && !self->local_head; w++) {
        pipes_worker_ctx *victim = &engine->workers[w];
        if (victim == self || !victim->shared)
            continue;
        for (i = victim->batch_next; i < victim->batch_count; i++) {
            OVERLAPPED_ENTRY *e = &victim->batch[i];
            if (!e->lpOverlapped)
                continue; /* quit packets stay with their owner */
            out[taken++] = *e;
            e->lpOverlapped = NULL;
            e->lpCompletionKey = 0;
        }
        self->local_head = victim->shared_local; /* run before the batch: listed earlier */
        self->local_tail = victim->shared_local_tail;
        victim->shared_local = victim->shared_local_tail = NULL;
        victim->shared = 0;
        InterlockedDecrement(&engine->shared_batches);
    }
    left = InterlockedCompareExchange(&engine->shared_batches, 0, 0);
    ReleaseSRWLockExclusive(&engine->steal_lock);
    if (left > 0)
        wake_a_sleeper(engine); /* more shared rests than this worker */
    return taken;
}

/* Blanks the wake packets of a batch just dequeued and clears wake_pending
 * (NO LOST WAKE-UP); passes the wake on if shared rests still wait for a
 * sleeping worker. Returns the number of I/O packets (not wake or quit). */
static ULONG consume_wakes(pipes_engine *engine, OVERLAPPED_ENTRY *entries, ULONG count)
{
    ULONG i, io = 0;
    int woken = 0;
    for (i = 0; i < count; i++) {
        if (entries[i].lpOverlapped) {
            io++;
        } else if (entries[i].lpCompletionKey == ENGINE_WAKE_KEY) {
            entries[i].lpCompletionKey = 0;
            woken = 1;
        }
    }
    if (!woken)
        return io;
    InterlockedExchange(&engine->wake_pending, 0);
    if (InterlockedCompareExchange(&engine->shared_batches, 0, 0) > 0)
        wake_a_sleeper(engine);
    return io;
}

/* BATCH SIZE: how many packets the next dequeue asks for. A large batch
 * saves kernel calls when packets queue up (many busy connections); when
 * they come one at a time (request and reply), asking for more costs:
 * Wine's GetQueuedCompletionStatusEx asks its server once per packet and
 * then once more to learn that there is no other, so a batch of 64 that
 * finds one packet costs an extra server request on every dequeue
 * (docs/PERFORMANCE.md). So a worker asks for one packet while one is what
 * it finds, tries a full batch every ENGINE_PROBE_EVERY-th dequeue, and
 * keeps asking for full batches while they find more than one. */
static ULONG batch_size(pipes_worker_ctx *ctx)
{
    if (ctx->large_batches || ++ctx->small_dequeues % ENGINE_PROBE_EVERY == 0)
        return ENGINE_BATCH;
    return 1;
}

typedef enum next_result { NEXT_RUN, NEXT_STAND_BY, NEXT_PORT_GONE } next_result;

/* Fills entries with the next packets: shared rests first, else from the
 * port. Only the worker holding `blocker` waits on the port; any other
 * takes what is there and stands by if nothing is (standby.c, ONE WORKER
 * ON THE PORT). */
static next_result next_batch(pipes_worker_ctx *ctx, OVERLAPPED_ENTRY *entries, ULONG *count)
{
    pipes_engine *engine = ctx->engine;
    ULONG want;
    BOOL ok;

    *count = steal_batch(ctx, entries);
    if (*count || ctx->local_head)
        return NEXT_RUN;
    want = batch_size(ctx);
    if (InterlockedCompareExchange(&engine->blocker, 1, 0) == 0) {
        /* Announce, then look once more (NO LOST WAKE-UP). */
        InterlockedIncrement(&engine->idle_workers);
        PIPES_CHAOS_POINT("engine.idle");
        *count = steal_batch(ctx, entries);
        if (*count || ctx->local_head) {
            InterlockedDecrement(&engine->idle_workers);
            InterlockedExchange(&engine->blocker, 0);
            return NEXT_RUN;
        }
        PIPES_COUNT_INC(calls_dequeue);
        ok = GetQueuedCompletionStatusEx(engine->port, entries, want, count, INFINITE, FALSE);
        InterlockedDecrement(&engine->idle_workers);
        InterlockedExchange(&engine->blocker, 0);
    } else {
        PIPES_COUNT_INC(calls_dequeue);
        ok = GetQueuedCompletionStatusEx(engine->port, entries, want, count, 0, FALSE);
        if (!ok && GetLastError() == WAIT_TIMEOUT)
            return NEXT_STAND_BY;
    }
    if (!ok)
        return NEXT_PORT_GONE;
    ctx->large_batches = want == ENGINE_BATCH && *count > 1;
    if (consume_wakes(engine, entries, *count) > 1)
        pipes_standby_promote(engine); /* work queues up */
    return NEXT_RUN;
}

/* Dispatches one batch; returns how many quit packets it held. */
static unsigned run_batch(pipes_worker_ctx *ctx, OVERLAPPED_ENTRY *entries, ULONG count)
{
    unsigned quits = 0;
    ULONG i;
    ctx->batch = entries;
    ctx->batch_count = count;
    ctx->batch_next = 0;
    if (ctx->local_head) { /* stolen from a worker held up in user code */
        pipes_standby_busy(ctx);
        pipes_engine_run_local(ctx);
    }
    for (i = 0; i < count; i++) {
        OVERLAPPED_ENTRY *e = &entries[i];
        ctx->batch_next = i + 1; /* the rest a share during this packet offers */
        if (e->lpOverlapped) {
            pipes_standby_busy(ctx); /* the watcher sees a packet that lasts */
            dispatch(e);
            pipes_engine_run_local(ctx); /* localreq.c, LOCAL PACKETS */
        } else if (e->lpCompletionKey == ENGINE_QUIT_KEY)
            quits++;
        /* else: a consumed wake packet, or blanked by a stealer */
    }
    ctx->batch = NULL;
    ctx->batch_count = ctx->batch_next = 0;
    pipes_standby_idle(ctx);
    return quits;
}

/* A running worker's loop; returns when the engine quits. */
static void run_worker(pipes_worker_ctx *ctx, OVERLAPPED_ENTRY *entries)
{
    pipes_engine *engine = ctx->engine;
    for (;;) {
        ULONG count;
        unsigned quits;
        next_result next = next_batch(ctx, entries, &count);
        if (next == NEXT_STAND_BY) {
            if (!pipes_standby_wait(ctx))
                return;
            continue;
        }
        if (next == NEXT_PORT_GONE)
            return; /* only happens if destroy went wrong */
        quits = run_batch(ctx, entries, count);
        if (quits) {
            /* One quit packet is posted per worker, but a batch may hold
             * several: hand the extra ones back for the other workers. */
            while (--quits)
                PostQueuedCompletionStatus(engine->port, 0, ENGINE_QUIT_KEY, NULL);
            return;
        }
    }
}

static DWORD WINAPI worker_main(LPVOID param)
{
    pipes_worker_ctx *ctx = (pipes_worker_ctx *)param;
    OVERLAPPED_ENTRY entries[ENGINE_BATCH];

    TlsSetValue(pipes_tls_index(&g_worker_slot), ctx);
    /* The first worker runs; the others start standing by. */
    if (ctx == &ctx->engine->workers[0] || pipes_standby_wait(ctx))
        run_worker(ctx, entries);
    TlsSetValue(pipes_tls_index(&g_worker_slot), NULL);
    return 0;
}

static unsigned default_thread_count(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    if (si.dwNumberOfProcessors < 2)
        return 2;
    if (si.dwNumberOfProcessors > ENGINE_MAX_THREADS)
        return ENGINE_MAX_THREADS;
    return si.dwNumberOfProcessors;
}

static void stop_workers(pipes_engine *engine)
{
    unsigned i;
    pipes_standby_quit(engine);
    for (i = 0; i < engine->thread_count; i++)
        PostQueuedCompletionStatus(engine->port, 0, ENGINE_QUIT_KEY, NULL);
    for (i = 0; i < engine->thread_count; i++) {
        WaitForSingleObject(engine->threads[i], INFINITE);
        CloseHandle(engine->threads[i]);
    }
    engine->thread_count = 0;
}

static void free_engine(pipes_engine *engine)
{
    stop_workers(engine);
    if (engine->port)
        CloseHandle(engine->port);
    pipes_mem_free(engine->threads);
    pipes_mem_free(engine->workers);
    pipes_mem_free(engine);
    PIPES_COUNT_DEC(live_engines);
}

static pipes_status create_engine(unsigned threads, pipes_engine **out)
{
    pipes_engine *engine;
    unsigned i;

    /* Workers record themselves in TLS; without a slot stop() could not
     * tell a call from inside a callback. */
    if (pipes_tls_index(&g_worker_slot) == TLS_OUT_OF_INDEXES)
        return pipes_fail_system(PIPES_ERR_SYSTEM, ERROR_NO_SYSTEM_RESOURCES);
    engine = (pipes_engine *)pipes_mem_alloc(sizeof *engine);
    if (!engine)
        return PIPES_ERR_OUT_OF_MEMORY;
    PIPES_COUNT_INC(live_engines);
    pipes_probe_completion_modes(&engine->skip_mode, &engine->more_data_queues);
    InitializeSRWLock(&engine->lock);
    InitializeConditionVariable(&engine->freed_cv);
    InitializeSRWLock(&engine->steal_lock);
    pipes_engine_init_carrier(engine);
    pipes_standby_init(engine);
    engine->threads = (HANDLE *)pipes_mem_alloc(threads * sizeof(HANDLE));
    engine->workers = (pipes_worker_ctx *)pipes_mem_alloc(threads * sizeof(pipes_worker_ctx));
    engine->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, threads);
    if (!engine->threads || !engine->workers || !engine->port) {
        DWORD e = GetLastError();
        int out_of_memory = engine->threads == NULL || engine->workers == NULL;
        free_engine(engine);
        return out_of_memory ? PIPES_ERR_OUT_OF_MEMORY : pipes_fail_system(PIPES_ERR_SYSTEM, e);
    }
    /* Every slot exists before any thread runs (NO LOST WAKE-UP). */
    engine->worker_slots = threads;
    for (i = 0; i < threads; i++)
        engine->workers[i].engine = engine;
    for (i = 0; i < threads; i++) {
        HANDLE t = CreateThread(NULL, 0, worker_main, &engine->workers[i], 0, NULL);
        if (!t) {
            DWORD e = GetLastError();
            free_engine(engine);
            return pipes_fail_system(PIPES_ERR_SYSTEM, e);
        }
        engine->threads[engine->thread_count++] = t;
    }
    *out = engine;
    return PIPES_OK;
}

PIPES_API pipes_status PIPES_CALL pipes_engine_create(const pipes_engine_config *config,
                                                      pipes_engine **out)
{
    unsigned threads;
    if (!config || !out || config->struct_size != sizeof *config ||
        config->worker_threads > ENGINE_MAX_THREADS)
        return PIPES_ERR_INVALID_ARGUMENT;
    threads = config->worker_threads ? config->worker_threads : default_thread_count();
    return create_engine(threads, out);
}

static INIT_ONCE g_default_once = INIT_ONCE_STATIC_INIT;
static pipes_engine *g_default_engine;

static BOOL CALLBACK create_default(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)param;
    (void)context;
    return create_engine(default_thread_count(), &g_default_engine) == PIPES_OK;
}

pipes_engine *pipes_engine_resolve(pipes_engine *configured)
{
    if (configured)
        return configured;
    if (!InitOnceExecuteOnce(&g_default_once, create_default, NULL, NULL))
        return NULL;
    return g_default_engine;
}

PIPES_API pipes_status PIPES_CALL pipes_engine_destroy(pipes_engine *engine)
{
    pipes_worker_ctx *ctx;
    if (!engine || engine == g_default_engine)
        return PIPES_ERR_INVALID_ARGUMENT;
    ctx = pipes_engine_worker_ctx();
    if (ctx && ctx->engine == engine)
        return PIPES_ERR_WRONG_THREAD;
    AcquireSRWLockExclusive(&engine->lock);
    if (engine->attached > 0) {
        ReleaseSRWLockExclusive(&engine->lock);
        return PIPES_ERR_BUSY;
    }
    /* Objects stopped from inside their callbacks finish tearing down on
     * the workers; their I/O is cancelled, so this wait is short. */
    while (engine->alive > 0)
        SleepConditionVariableSRW(&engine->freed_cv, &engine->lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&engine->lock);
    free_engine(engine);
    return PIPES_OK;
}

BOOL pipes_engine_bind(pipes_engine *engine, HANDLE file)
{
    if (!CreateIoCompletionPort(file, engine->port, 0, 0))
        return FALSE;
    return !engine->skip_mode ||
           SetFileCompletionNotificationModes(file, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
}

int pipes_engine_completed_at_once(const pipes_engine *engine, BOOL ok, DWORD error)
{
    if (!engine->skip_mode)
        return 0;
    return ok || (error == ERROR_MORE_DATA && !engine->more_data_queues);
}

BOOL pipes_engine_post(pipes_engine *engine, pipes_req *req)
{
    /* A posted request completes with success. Its OVERLAPPED may still
     * hold STATUS_PENDING from an I/O call that did not queue a packet
     * (ConnectNamedPipe failing with ERROR_PIPE_CONNECTED), which dispatch
     * would otherwise read as ERROR_IO_INCOMPLETE. */
    req->ov.Internal = 0;
    req->ov.InternalHigh = 0;
    PIPES_COUNT_INC(pending_operations);
    if (!PostQueuedCompletionStatus(engine->port, 0, 0, &req->ov)) {
        PIPES_COUNT_DEC(pending_operations);
        return FALSE;
    }
    return TRUE;
}

BOOL pipes_engine_requeue(pipes_engine *engine, pipes_req *req, DWORD bytes)
{
    /* The OVERLAPPED keeps the status the I/O completed with; dispatch reads
     * it back with GetOverlappedResult as for any packet. */
    return PostQueuedCompletionStatus(engine->port, bytes, 0, &req->ov);
}

void pipes_engine_attach(pipes_engine *engine)
{
    AcquireSRWLockExclusive(&engine->lock);
    engine->attached++;
    engine->alive++;
    ReleaseSRWLockExclusive(&engine->lock);
}

void pipes_engine_release(pipes_engine *engine)
{
    AcquireSRWLockExclusive(&engine->lock);
    engine->attached--;
    ReleaseSRWLockExclusive(&engine->lock);
}

void pipes_engine_freed(pipes_engine *engine)
{
    AcquireSRWLockExclusive(&engine->lock);
    engine->alive--;
    /* Wake while holding the lock: once it is released, destroy may free
     * the engine. */
    WakeAllConditionVariable(&engine->freed_cv);
    ReleaseSRWLockExclusive(&engine->lock);
}
