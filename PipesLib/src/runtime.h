/*
 * runtime.h - process-wide pieces every part of PipesLib uses: the counted
 * heap, the global statistics, the per-thread last system error.
 *
 * All heap memory the library holds goes through pipes_mem_* so that
 * pipes_global_stats.bytes_allocated can show leaks in tests (Wine reports
 * no usable handle count; see docs/ARCHITECTURE.md).
 */
#ifndef PIPES_RUNTIME_H
#define PIPES_RUNTIME_H

#include <windows.h>

#include "pipes.h"

void *pipes_mem_alloc(size_t size);        /* zeroed; NULL on failure */
void *pipes_mem_realloc(void *p, size_t size); /* contents kept; NULL on failure, p intact */
void pipes_mem_free(void *p);              /* NULL ignored */

/* Global counters (pipes_global_stats without struct_size), updated with
 * Interlocked operations. */
typedef struct pipes_global_counters {
    volatile LONG64 live_engines, live_servers, live_clients, live_connections;
    volatile LONG64 live_instances, pending_operations, live_events, bytes_allocated;
    volatile LONG64 calls_read_file, calls_write_file, calls_connect_named_pipe;
    volatile LONG64 calls_peek_named_pipe, calls_dequeue, completions_dequeued;
} pipes_global_counters;

extern pipes_global_counters g_pipes_counters;

#define PIPES_COUNT_ADD(field, n) InterlockedExchangeAdd64(&g_pipes_counters.field, (LONG64)(n))
#define PIPES_COUNT_INC(field) InterlockedIncrement64(&g_pipes_counters.field)
#define PIPES_COUNT_DEC(field) InterlockedDecrement64(&g_pipes_counters.field)

/* Debug checks of the lifetime rules (reference and pending counts, state
 * transitions): active in debug builds and in the race-widening build
 * (PIPES_CHAOS), where a failure prints where and aborts the process;
 * nothing in release builds. */
#if defined(PIPES_CHAOS) || !defined(NDEBUG)
#define PIPES_ASSERT(expr) ((expr) ? (void)0 : pipes_assert_failed(#expr, __FILE__, __LINE__))
void pipes_assert_failed(const char *expr, const char *file, int line);
#else
#define PIPES_ASSERT(expr) ((void)0)
#endif

/* A TLS slot allocated on first use. Declare one per purpose with
 * PIPES_TLS_SLOT_INIT; pipes_tls_index returns TLS_OUT_OF_INDEXES if the
 * process has none left. */
typedef struct pipes_tls_slot {
    INIT_ONCE once;
    DWORD index;
} pipes_tls_slot;
#define PIPES_TLS_SLOT_INIT {INIT_ONCE_STATIC_INIT, TLS_OUT_OF_INDEXES}
DWORD pipes_tls_index(pipes_tls_slot *slot);

/* Records GetLastError()-style code for pipes_last_system_error() and
 * returns the status unchanged, so callers can write
 * `return pipes_fail_system(PIPES_ERR_SYSTEM, GetLastError());`. */
pipes_status pipes_fail_system(pipes_status status, DWORD win32_error);

/* Maps a Win32 error from a pipe operation to a status. */
pipes_status pipes_status_from_win32(DWORD win32_error);

#endif /* PIPES_RUNTIME_H */
