/*
 * pair.c - the one-connection scenarios (ping-pong, one-way throughput,
 * CPU at a fixed rate) for baselines (a) sync and (b) iocp, and iocp in
 * skip mode (iocps), both ends raw; and, for ping-pong, iocps with what
 * PipesLib's workers promise (iocpw, below) and iocps reading as libuv
 * does (iocpz: a zero-byte read first, rawio.h).
 *
 * Keys written (shared with lib.c so the driver treats all impls alike):
 *   client: p50_us p99_us p999_us mean_us | msgs_s mib_s | cpu_us rate
 *           and client_* calls per message
 *   server: server_* calls per message, server_cpu_us (CPU scenario)
 */
#include <stdlib.h>

#include "bench.h"
#include "rawio.h"
#include "stats.h"

void put_latencies(double *lat_us, unsigned n)
{
    double sum = 0.0;
    unsigned i;
    for (i = 0; i < n; i++)
        sum += lat_us[i];
    stats_sort(lat_us, n);
    result_put("p50_us", stats_percentile(lat_us, n, 0.50));
    result_put("p99_us", stats_percentile(lat_us, n, 0.99));
    result_put("p999_us", stats_percentile(lat_us, n, 0.999));
    result_put("mean_us", n ? sum / n : 0.0);
}

/* How a pair's ends do their I/O. */
typedef enum pair_mode {
    PAIR_SYNC,
    PAIR_IOCP,
    PAIR_IOCP_SKIP,
    PAIR_IOCP_WATCHED,
    PAIR_IOCP_ZERO_READ
} pair_mode;

/* iocpw: the costs pipes.h's promises put on any program of the library's
 * design, without the rest of the library. A blocked callback holds the
 * other connections up for one to two 5 ms ticks: some thread beside the
 * one on the port must look every tick while packets are handled (the
 * watcher, PipesLib's standby.c), so this one does; the I/O thread
 * publishes each packet's start and end to it as a worker does. A queue is
 * seen within 8 packets: every 8th dequeue asks for a full batch
 * (raw_pipe.probe_every, PipesLib's engine.c). */
#define PAIR_WATCH_TICK_MS 5u
#define PAIR_PROBE_EVERY 8u

static struct pair_watch {
    SRWLOCK lock;
    CONDITION_VARIABLE cv;
    int stop;       /* under lock */
    LONG state;     /* packets started << 1, | 1 while one is handled; written by the I/O thread only */
    HANDLE thread;
} g_watch = {SRWLOCK_INIT, CONDITION_VARIABLE_INIT, 0, 0, NULL};

static DWORD WINAPI watch_main(void *unused)
{
    (void)unused;
    AcquireSRWLockExclusive(&g_watch.lock);
    while (!g_watch.stop) {
        (void)InterlockedCompareExchange(&g_watch.state, 0, 0); /* the look a watcher makes */
        SleepConditionVariableSRW(&g_watch.cv, &g_watch.lock, PAIR_WATCH_TICK_MS, 0);
    }
    ReleaseSRWLockExclusive(&g_watch.lock);
    return 0;
}

static void watch_start(pair_mode mode, raw_pipe *rp)
{
    if (mode != PAIR_IOCP_WATCHED)
        return;
    rp->probe_every = PAIR_PROBE_EVERY;
    g_watch.thread = CreateThread(NULL, 0, watch_main, NULL, 0, NULL);
    if (!g_watch.thread)
        bench_fail("iocpw: CreateThread failed (%lu)", GetLastError());
}

static void watch_stop(void)
{
    if (!g_watch.thread)
        return;
    AcquireSRWLockExclusive(&g_watch.lock);
    g_watch.stop = 1;
    WakeConditionVariable(&g_watch.cv);
    ReleaseSRWLockExclusive(&g_watch.lock);
    WaitForSingleObject(g_watch.thread, INFINITE);
    CloseHandle(g_watch.thread);
    g_watch.thread = NULL;
}

/* A packet was dequeued (busy) / its work is done (idle). */
static void watch_busy(int busy)
{
    if (g_watch.thread) {
        LONG packets = ((g_watch.state >> 1) + (busy ? 1 : 0)) & 0x3fffffff; /* (x << 1) | 1 fits */
        InterlockedExchange(&g_watch.state, (packets << 1) | (busy ? 1 : 0));
    }
}

/* Waits for the next message: iocpz reads as libuv does (rawio.h), the
 * others with one read. Under iocpw's watcher the wait is idle and what
 * follows it, up to the next wait, is the packet being handled. */
static DWORD pair_read(raw_pipe *rp, pair_mode mode, void *buf, DWORD cap, DWORD *got)
{
    DWORD e;
    watch_busy(0);
    e = mode == PAIR_IOCP_ZERO_READ ? raw_read_zero_first(rp, buf, cap, got)
                                    : raw_read(rp, buf, cap, got);
    watch_busy(1);
    return e;
}

static int pair_server(const bench_params *p, pair_mode mode)
{
    raw_pipe rp = {NULL, NULL, 0, 0, 0, 0};
    DWORD cap = p->size ? p->size : 1, got, e;
    uint8_t ack = BENCH_ACK_BYTE;
    uint8_t *buf = (uint8_t *)malloc(cap);
    bench_counts a, b;
    double cpu0 = 0.0, cpu1 = 0.0;
    unsigned n = 0, expected = p->count + (p->scenario == SC_PINGPONG ? p->warmup : 0);

    if (!buf)
        bench_fail("out of memory");
    rp.h = raw_create_instance(p->pipe, mode != PAIR_SYNC, 1);
    if (rp.h == INVALID_HANDLE_VALUE)
        bench_fail("CreateNamedPipeW failed (%lu)", GetLastError());
    if (mode != PAIR_SYNC && raw_bind_port(&rp, mode >= PAIR_IOCP_SKIP))
        bench_fail("CreateIoCompletionPort failed (%lu)", GetLastError());
    watch_start(mode, &rp);
    signal_named_event(p->ev_ready);
    if ((e = raw_accept(&rp)) != 0)
        bench_fail("ConnectNamedPipe failed (%lu)", e);
    counts_snapshot(p->impl, &a);
    b = a;
    cpu0 = process_cpu_seconds();
    for (;;) {
        if (pair_read(&rp, mode, buf, cap, &got) != 0)
            break;
        n++;
        if (p->scenario == SC_PINGPONG) {
            if (raw_write(&rp, buf, got) != 0)
                break;
            if (n == expected)
                counts_snapshot(p->impl, &b);
        } else if (n == expected) {
            cpu1 = process_cpu_seconds();
            counts_snapshot(p->impl, &b);
            if (raw_write(&rp, &ack, 1) != 0)
                break;
        }
    }
    if (n != expected)
        bench_fail("server received %u of %u messages", n, expected);
    counts_put_per_msg("server", &a, &b, n);
    if (p->scenario == SC_CPU)
        result_put("server_cpu_us", (cpu1 - cpu0) * 1e6 / n);
    watch_stop();
    raw_close(&rp);
    free(buf);
    return result_flush(p);
}

static int pair_client(const bench_params *p, pair_mode mode)
{
    raw_pipe rp = {NULL, NULL, 0, 0, 0, 0};
    DWORD cap = p->size ? p->size : 1, got;
    uint8_t *buf = (uint8_t *)malloc(cap);
    uint8_t ack = 0;
    bench_counts a, b;
    unsigned i;

    if (!buf)
        bench_fail("out of memory");
    fill_payload(buf, p->size, 1);
    rp.h = raw_open_client(p->pipe, mode != PAIR_SYNC, 1, p->timeout_ms);
    if (rp.h == INVALID_HANDLE_VALUE)
        bench_fail("cannot open %ls (%lu)", p->pipe, GetLastError());
    if (mode != PAIR_SYNC && raw_bind_port(&rp, mode >= PAIR_IOCP_SKIP))
        bench_fail("CreateIoCompletionPort failed (%lu)", GetLastError());
    watch_start(mode, &rp);

    if (p->scenario == SC_PINGPONG) {
        double *lat = (double *)malloc(sizeof(double) * (p->count ? p->count : 1));
        if (!lat)
            bench_fail("out of memory");
        counts_snapshot(p->impl, &a);
        for (i = 0; i < p->warmup + p->count; i++) {
            double t0;
            if (i == p->warmup)
                counts_snapshot(p->impl, &a);
            t0 = qpc_seconds();
            if (raw_write(&rp, buf, p->size) != 0)
                bench_fail("ping-pong broke after %u round trips", i);
            if (pair_read(&rp, mode, buf, cap, &got) != 0)
                bench_fail("ping-pong broke after %u round trips", i);
            if (i >= p->warmup)
                lat[i - p->warmup] = (qpc_seconds() - t0) * 1e6;
        }
        counts_snapshot(p->impl, &b);
        put_latencies(lat, p->count);
        free(lat);
    } else {
        double t0, cpu0, start;
        unsigned sent = 0;
        counts_snapshot(p->impl, &a);
        cpu0 = process_cpu_seconds();
        t0 = start = qpc_seconds();
        while (sent < p->count) {
            unsigned due = p->scenario == SC_CPU ? pace_due(start, p->rate, p->count) : p->count;
            for (; sent < due; sent++) {
                if (raw_write(&rp, buf, p->size) != 0)
                    bench_fail("write %u failed (%lu)", sent, GetLastError());
            }
        }
        if (raw_read(&rp, &ack, 1, &got) != 0 || got != 1 || ack != BENCH_ACK_BYTE)
            bench_fail("no acknowledgement from the server");
        {
            double secs = qpc_seconds() - t0;
            counts_snapshot(p->impl, &b);
            if (p->scenario == SC_CPU) {
                result_put("cpu_us", (process_cpu_seconds() - cpu0) * 1e6 / p->count);
                result_put("rate", p->count / secs);
            } else {
                result_put("msgs_s", p->count / secs);
                result_put("mib_s", (double)p->count * p->size / secs / (1024.0 * 1024.0));
            }
        }
    }
    counts_put_per_msg("client", &a, &b, p->count);
    watch_stop();
    raw_close(&rp);
    free(buf);
    return result_flush(p);
}

static int pair_role(const bench_params *p, pair_mode mode)
{
    return p->is_server ? pair_server(p, mode) : pair_client(p, mode);
}

int role_sync(const bench_params *p)
{
    return pair_role(p, PAIR_SYNC);
}

int role_iocp_pair(const bench_params *p)
{
    return pair_role(p, PAIR_IOCP);
}

int role_iocps_pair(const bench_params *p)
{
    return pair_role(p, PAIR_IOCP_SKIP);
}

int role_iocpw_pair(const bench_params *p)
{
    return pair_role(p, PAIR_IOCP_WATCHED);
}

int role_iocpz_pair(const bench_params *p)
{
    return pair_role(p, PAIR_IOCP_ZERO_READ);
}
