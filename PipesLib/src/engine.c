/*
 * engine.c - one I/O completion port drained by a pool of worker threads
 * with GetQueuedCompletionStatusEx. Workers do nothing but dequeue and
 * dispatch each packet to its request's completion function.
 */
#include "engine.h"

#include "runtime.h"

#define ENGINE_BATCH 64              /* packets per dequeue call */
#define ENGINE_QUIT_KEY ((ULONG_PTR)1) /* packet with this key and no OVERLAPPED ends a worker */
#define ENGINE_MAX_THREADS 64u

static pipes_tls_slot g_worker_slot = PIPES_TLS_SLOT_INIT;

pipes_worker_ctx *pipes_engine_worker_ctx(void)
{
    DWORD index = pipes_tls_index(&g_worker_slot);
    if (index == TLS_OUT_OF_INDEXES)
        return NULL;
    return (pipes_worker_ctx *)TlsGetValue(index);
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
    PIPES_COUNT_DEC(pending_operations);
    req->complete(req, error, bytes);
}

static DWORD WINAPI worker_main(LPVOID param)
{
    pipes_engine *engine = (pipes_engine *)param;
    pipes_worker_ctx ctx;
    OVERLAPPED_ENTRY entries[ENGINE_BATCH];

    ctx.engine = engine;
    ctx.in_callback_of = NULL;
    ctx.released_own_slot = 0;
    TlsSetValue(pipes_tls_index(&g_worker_slot), &ctx);

    for (;;) {
        ULONG count = 0, i;
        unsigned quits = 0;
        PIPES_COUNT_INC(calls_dequeue);
        if (!GetQueuedCompletionStatusEx(engine->port, entries, ENGINE_BATCH, &count, INFINITE,
                                         FALSE))
            break; /* the port was closed: only happens if destroy went wrong */
        for (i = 0; i < count; i++) {
            if (!entries[i].lpOverlapped) {
                if (entries[i].lpCompletionKey == ENGINE_QUIT_KEY)
                    quits++;
                continue;
            }
            dispatch(&entries[i]);
        }
        if (quits) {
            /* One quit packet is posted per worker, but a batch may hold
             * several: hand the extra ones back for the other workers. */
            while (--quits)
                PostQueuedCompletionStatus(engine->port, 0, ENGINE_QUIT_KEY, NULL);
            break;
        }
    }
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
    InitializeSRWLock(&engine->lock);
    InitializeConditionVariable(&engine->freed_cv);
    engine->threads = (HANDLE *)pipes_mem_alloc(threads * sizeof(HANDLE));
    engine->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, threads);
    if (!engine->threads || !engine->port) {
        DWORD e = GetLastError();
        int out_of_memory = engine->threads == NULL;
        free_engine(engine);
        return out_of_memory ? PIPES_ERR_OUT_OF_MEMORY : pipes_fail_system(PIPES_ERR_SYSTEM, e);
    }
    for (i = 0; i < threads; i++) {
        HANDLE t = CreateThread(NULL, 0, worker_main, engine, 0, NULL);
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
    return CreateIoCompletionPort(file, engine->port, 0, 0) != NULL;
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
