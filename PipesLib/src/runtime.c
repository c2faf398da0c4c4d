/*
 * runtime.c - counted heap, global counters, status strings, version and
 * the per-thread last system error.
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pipes_global_counters g_pipes_counters;

/* Each block carries its size in a header so frees can be counted. The
 * header is 16 bytes to keep the payload aligned for any type. */
typedef union mem_header {
    size_t size;
    long double align_;
    char pad_[16];
} mem_header;

void *pipes_mem_alloc(size_t size)
{
    mem_header *h;
    if (size > (size_t)-1 - sizeof *h)
        return NULL;
    h = (mem_header *)HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    PIPES_COUNT_ADD(bytes_allocated, size);
    return h + 1;
}

void *pipes_mem_realloc(void *p, size_t size)
{
    mem_header *h, *n;
    size_t old;
    if (!p)
        return pipes_mem_alloc(size);
    if (size > (size_t)-1 - sizeof *h)
        return NULL;
    h = (mem_header *)p - 1;
    old = h->size;
    n = (mem_header *)HeapReAlloc(GetProcessHeap(), 0, h, sizeof *n + size);
    if (!n)
        return NULL;
    n->size = size;
    PIPES_COUNT_ADD(bytes_allocated, (LONG64)size - (LONG64)old);
    return n + 1;
}

void pipes_mem_free(void *p)
{
    mem_header *h;
    if (!p)
        return;
    h = (mem_header *)p - 1;
    PIPES_COUNT_ADD(bytes_allocated, -(LONG64)h->size);
#ifdef PIPES_CHAOS
    /* A use after free reads 0xDD...: a lock in freed memory then hangs or
     * faults at once instead of working by luck. */
    memset(p, 0xDD, h->size);
#endif
    HeapFree(GetProcessHeap(), 0, h);
}

#if defined(PIPES_CHAOS) || !defined(NDEBUG)
void pipes_assert_failed(const char *expr, const char *file, int line)
{
    char text[512];
    _snprintf(text, sizeof text, "PipesLib: check failed: %s (%s:%d)\n", expr, file, line);
    text[sizeof text - 1] = '\0';
    OutputDebugStringA(text);
    fputs(text, stderr);
    fflush(stderr);
    abort();
}
#endif

/* ---- per-thread last system error ---------------------------------- */

static BOOL CALLBACK alloc_tls(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)context;
    ((pipes_tls_slot *)param)->index = TlsAlloc();
    return TRUE;
}

DWORD pipes_tls_index(pipes_tls_slot *slot)
{
    InitOnceExecuteOnce(&slot->once, alloc_tls, slot, NULL);
    return slot->index;
}

static pipes_tls_slot g_error_slot = PIPES_TLS_SLOT_INIT;

pipes_status pipes_fail_system(pipes_status status, DWORD win32_error)
{
    DWORD index = pipes_tls_index(&g_error_slot);
    if (index != TLS_OUT_OF_INDEXES)
        TlsSetValue(index, (LPVOID)(ULONG_PTR)win32_error);
    return status;
}

PIPES_API unsigned long PIPES_CALL pipes_last_system_error(void)
{
    DWORD index = pipes_tls_index(&g_error_slot);
    if (index == TLS_OUT_OF_INDEXES)
        return 0;
    return (unsigned long)(ULONG_PTR)TlsGetValue(index);
}

pipes_status pipes_status_from_win32(DWORD e)
{
    switch (e) {
    case ERROR_SUCCESS:
        return PIPES_OK;
    case ERROR_BROKEN_PIPE:
    case ERROR_PIPE_NOT_CONNECTED:
    case ERROR_NO_DATA:
        return PIPES_ERR_PEER_CLOSED;
    case ERROR_OPERATION_ABORTED:
        return PIPES_ERR_LOCAL_CLOSED;
    case ERROR_ACCESS_DENIED:
        return PIPES_ERR_ACCESS_DENIED;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return PIPES_ERR_NOT_FOUND;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return PIPES_ERR_OUT_OF_MEMORY;
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT:
        return PIPES_ERR_TIMEOUT;
    default:
        return PIPES_ERR_SYSTEM;
    }
}

/* ---- public: status strings, version, global stats ------------------- */

PIPES_API const char *PIPES_CALL pipes_status_string(pipes_status status)
{
    switch (status) {
    case PIPES_OK: return "ok";
    case PIPES_ERR_INVALID_ARGUMENT: return "invalid argument";
    case PIPES_ERR_OUT_OF_MEMORY: return "out of memory";
    case PIPES_ERR_SYSTEM: return "system call failed";
    case PIPES_ERR_NAME_IN_USE: return "pipe name already in use by another server";
    case PIPES_ERR_NOT_FOUND: return "no server on this pipe name";
    case PIPES_ERR_TIMEOUT: return "timed out";
    case PIPES_ERR_MESSAGE_TOO_LARGE: return "message too large";
    case PIPES_ERR_NOT_CONNECTED: return "not connected";
    case PIPES_ERR_QUEUE_FULL: return "write queue full";
    case PIPES_ERR_SERVER_IDENTITY_MISMATCH: return "server identity mismatch";
    case PIPES_ERR_ACCESS_DENIED: return "access denied";
    case PIPES_ERR_TOO_MANY_CONNECTIONS: return "too many connections";
    case PIPES_ERR_REFUSED: return "connection refused by the server";
    case PIPES_ERR_STOPPING: return "stopping";
    case PIPES_ERR_PEER_CLOSED: return "closed by the peer";
    case PIPES_ERR_LOCAL_CLOSED: return "closed locally";
    case PIPES_ERR_POST_FAILED: return "posting the event to the window failed";
    case PIPES_ERR_BUSY: return "busy: objects still attached";
    case PIPES_ERR_WRONG_THREAD: return "not allowed on an engine worker thread";
    }
    return "unknown status";
}

PIPES_API uint32_t PIPES_CALL pipes_version(const char **text)
{
    if (text)
        *text = PIPES_VERSION_STRING;
    return (uint32_t)PIPES_VERSION_NUMBER;
}

#define READ_COUNTER(field) InterlockedCompareExchange64(&g_pipes_counters.field, 0, 0)

PIPES_API pipes_status PIPES_CALL pipes_get_global_stats(pipes_global_stats *out)
{
    if (!out || out->struct_size != sizeof *out)
        return PIPES_ERR_INVALID_ARGUMENT;
    out->live_engines = READ_COUNTER(live_engines);
    out->live_servers = READ_COUNTER(live_servers);
    out->live_clients = READ_COUNTER(live_clients);
    out->live_connections = READ_COUNTER(live_connections);
    out->live_instances = READ_COUNTER(live_instances);
    out->pending_operations = READ_COUNTER(pending_operations);
    out->live_events = READ_COUNTER(live_events);
    out->bytes_allocated = READ_COUNTER(bytes_allocated);
    out->calls_read_file = (uint64_t)READ_COUNTER(calls_read_file);
    out->calls_write_file = (uint64_t)READ_COUNTER(calls_write_file);
    out->calls_connect_named_pipe = (uint64_t)READ_COUNTER(calls_connect_named_pipe);
    out->calls_peek_named_pipe = (uint64_t)READ_COUNTER(calls_peek_named_pipe);
    out->calls_dequeue = (uint64_t)READ_COUNTER(calls_dequeue);
    out->completions_dequeued = (uint64_t)READ_COUNTER(completions_dequeued);
    return PIPES_OK;
}
