/*
 * iocp2.c - baseline "iocp2" for ping-pong: raw overlapped I/O on a
 * completion port, one operation outstanding, like "iocp", but with two
 * threads waiting on the port, as a worker pool has (PipesLib's default
 * engine has one per processor, at least two). Whichever thread dequeues a
 * completion issues the next operation.
 *
 * Why it exists: on Windows a port wakes one waiting thread per packet
 * (the most recent waiter first), so a second idle thread costs nothing;
 * Wine wakes every thread waiting on the port and all but one go back to
 * sleep, which costs server requests and wake-ups on every packet. This
 * row shows what that costs a raw program, so PipesLib's ping-pong figure
 * can be read against the same pool shape (docs/PERFORMANCE.md).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "rawio.h"

#define IOCP2_THREADS 2

typedef struct iocp2_state {
    const bench_params *p;
    HANDLE pipe, port, done;
    OVERLAPPED rov, wov; /* one of them outstanding at a time */
    uint8_t *buf;
    DWORD cap;
    volatile LONG received;
    unsigned expected;
    double t_sent;
    double *lat;
    bench_counts a, b;
    volatile LONG failed;
} iocp2_state;

static iocp2_state g2;

static void issue(int write)
{
    OVERLAPPED *ov = write ? &g2.wov : &g2.rov;
    BOOL ok;
    memset(ov, 0, sizeof *ov);
    if (write) {
        COUNT_CALL(writes);
        ok = WriteFile(g2.pipe, g2.buf, g2.p->size, NULL, ov);
    } else {
        COUNT_CALL(reads);
        ok = ReadFile(g2.pipe, g2.buf, g2.cap, NULL, ov);
    }
    /* Without skip mode every result queues a packet, also an immediate one. */
    if (!ok && GetLastError() != ERROR_IO_PENDING) {
        InterlockedExchange(&g2.failed, 1);
        SetEvent(g2.done);
    }
}

/* A read completed: the server answers; the client records the round trip
 * and sends the next, until the count is reached. */
static void on_message(void)
{
    LONG n = InterlockedIncrement(&g2.received);
    if (!g2.p->is_server) {
        double now = qpc_seconds();
        if (n > (LONG)g2.p->warmup)
            g2.lat[n - 1 - g2.p->warmup] = (now - g2.t_sent) * 1e6;
        if ((unsigned)n == g2.p->warmup)
            counts_snapshot(g2.p->impl, &g2.a);
        if ((unsigned)n == g2.expected) {
            counts_snapshot(g2.p->impl, &g2.b);
            SetEvent(g2.done);
            return;
        }
        g2.t_sent = qpc_seconds();
    } else if ((unsigned)n == g2.expected) {
        counts_snapshot(g2.p->impl, &g2.b);
        issue(1); /* the last answer; the done event is set when it was written */
        return;
    }
    issue(1);
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    for (;;) {
        DWORD bytes;
        ULONG_PTR key;
        OVERLAPPED *ov = NULL;
        BOOL ok;
        COUNT_CALL(dequeues);
        ok = GetQueuedCompletionStatus(g2.port, &bytes, &key, &ov, INFINITE);
        if (!ov)
            return 0; /* the quit packet (or the port is gone) */
        if (!ok) {
            InterlockedExchange(&g2.failed, 1);
            SetEvent(g2.done);
            return 0;
        }
        if (ov == &g2.rov) {
            on_message();
        } else if (g2.p->is_server && (unsigned)InterlockedCompareExchange(&g2.received, 0, 0) ==
                                          g2.expected) {
            SetEvent(g2.done); /* the last answer is written */
        } else {
            issue(0); /* written: wait for the next message */
        }
    }
}

int role_iocp2(const bench_params *p)
{
    HANDLE threads[IOCP2_THREADS];
    DWORD e;
    int i;

    memset(&g2, 0, sizeof g2);
    g2.p = p;
    g2.cap = p->size ? p->size : 1;
    g2.expected = p->count + p->warmup;
    g2.buf = (uint8_t *)malloc(g2.cap);
    g2.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g2.buf || !g2.done || p->scenario != SC_PINGPONG)
        bench_fail("iocp2: ping-pong only (or out of memory)");
    fill_payload(g2.buf, p->size, 1);
    if (p->is_server) {
        raw_pipe rp = {NULL, NULL, 0, 0, 0, 0};
        rp.h = raw_create_instance(p->pipe, 1, 1);
        if (rp.h == INVALID_HANDLE_VALUE)
            bench_fail("CreateNamedPipeW failed (%lu)", GetLastError());
        g2.pipe = rp.h;
        signal_named_event(p->ev_ready);
        /* Accepted before the port exists, so its packet is nobody's. */
        if ((e = raw_accept(&rp)) != 0)
            bench_fail("ConnectNamedPipe failed (%lu)", e);
    } else {
        g2.pipe = raw_open_client(p->pipe, 1, 1, p->timeout_ms);
        if (g2.pipe == INVALID_HANDLE_VALUE)
            bench_fail("cannot open %ls (%lu)", p->pipe, GetLastError());
        g2.lat = (double *)malloc(sizeof(double) * (p->count ? p->count : 1));
        if (!g2.lat)
            bench_fail("out of memory");
    }
    g2.port = CreateIoCompletionPort(g2.pipe, NULL, 0, IOCP2_THREADS);
    if (!g2.port)
        bench_fail("CreateIoCompletionPort failed (%lu)", GetLastError());
    for (i = 0; i < IOCP2_THREADS; i++)
        threads[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    counts_snapshot(p->impl, &g2.a);
    if (p->is_server) {
        issue(0);
    } else {
        g2.t_sent = qpc_seconds();
        issue(1); /* ping; its completion issues the read for the answer */
    }
    if (WaitForSingleObject(g2.done, p->timeout_ms) != WAIT_OBJECT_0 || g2.failed)
        bench_fail("iocp2: ping-pong %s after %ld messages", g2.failed ? "failed" : "timed out",
                   (long)g2.received);
    for (i = 0; i < IOCP2_THREADS; i++)
        PostQueuedCompletionStatus(g2.port, 0, 0, NULL);
    WaitForMultipleObjects(IOCP2_THREADS, threads, TRUE, p->timeout_ms);
    if (p->is_server) {
        counts_put_per_msg("server", &g2.a, &g2.b, g2.expected);
    } else {
        put_latencies(g2.lat, p->count);
        counts_put_per_msg("client", &g2.a, &g2.b, p->count);
    }
    for (i = 0; i < IOCP2_THREADS; i++)
        CloseHandle(threads[i]);
    CloseHandle(g2.port);
    CloseHandle(g2.pipe);
    return result_flush(p);
}
