/*
 * rawio.h - the baselines' pipe I/O without PipesLib: one pipe handle,
 * either synchronous (baseline a) or overlapped on a completion port with
 * one operation outstanding (baseline b), also in skip mode (iocps). Every Win32 call that moves data
 * or dequeues a completion is counted in g_calls.
 */
#ifndef PIPES_BENCH_RAWIO_H
#define PIPES_BENCH_RAWIO_H

#include "bench.h"

#define BENCH_PIPE_BUFFER (64u * 1024u) /* both directions, as PipesLib's default */
/* Read buffer of the baseline servers: the server scenarios send 64-byte
 * messages, and PipesLib starts its reads with 4 KiB too. */
#define BENCH_SERVER_READ 4096u

typedef struct raw_pipe {
    HANDLE h;
    HANDLE port; /* NULL for synchronous I/O */
    int skip;    /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: what completes in the call queues nothing */
    /* In skip mode, a read failing at once with ERROR_MORE_DATA still queues
     * a packet (Windows; not Wine 8): completion_probe.c's answer. */
    int more_data_queues;
    /* iocpw: every probe_every-th dequeue asks for up to that many packets,
     * as PipesLib's workers do to see a queue (0: never). */
    unsigned probe_every;
    unsigned dequeues;
} raw_pipe;

/* Creates one server instance (message mode). overlapped selects
 * FILE_FLAG_OVERLAPPED; first adds FILE_FLAG_FIRST_PIPE_INSTANCE. */
HANDLE raw_create_instance(const wchar_t *name, int overlapped, int first);

/* Binds p->h to a new completion port (overlapped pipes), in skip mode if
 * `skip`. 0 on success. */
int raw_bind_port(raw_pipe *p, int skip);

/* Waits for a client on a server instance (ConnectNamedPipe, then for
 * overlapped pipes the completion). 0 on success. */
DWORD raw_accept(raw_pipe *p);

/* One whole message into buf (cap bytes). Returns 0 or the Win32 error
 * (ERROR_BROKEN_PIPE at the end, ERROR_MORE_DATA if cap was too small). */
DWORD raw_read(raw_pipe *p, void *buf, DWORD cap, DWORD *got);
/* raw_read as libuv reads a pipe (iocpz): first a zero-byte read, which
 * waits for a message without pinning a buffer, then raw_read, which finds
 * the message there. Overlapped pipes only. */
DWORD raw_read_zero_first(raw_pipe *p, void *buf, DWORD cap, DWORD *got);
DWORD raw_write(raw_pipe *p, const void *buf, DWORD len);

void raw_close(raw_pipe *p);

#endif /* PIPES_BENCH_RAWIO_H */
