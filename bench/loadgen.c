/*
 * loadgen.c - the client side of the server scenarios, identical for every
 * server implementation, written with raw Win32 calls:
 *   fan-in     K overlapped connections on one port in skip mode, one write
 *              outstanding each: a write that completes in the call is
 *              followed by the next at once, only one that pends is
 *              dequeued (in batches, GQCSEx);
 *   broadcast  K overlapped connections, one read outstanding each;
 *   churn      T threads: open, write one message, close, repeat;
 *   memory     K idle synchronous connections.
 * Keys: msgs_s (fan-in), conns_s (churn), gen_* calls per message.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "rawio.h"

typedef struct gconn {
    OVERLAPPED ov;
    HANDLE h;
    unsigned done;
} gconn;

typedef struct gen_state {
    const bench_params *p;
    HANDLE port;
    gconn *c;
    uint8_t *buf; /* fan-in: the payload; broadcast: K receive buffers */
    DWORD cap;
    int skip;                /* fan-in: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS */
    volatile LONG next_conn; /* churn: connections handed out so far */
    HANDLE start;
} gen_state;

static gen_state gg;

/* Opens connections [from, to) of the p->conns in gg.c (allocated on the
 * first call). */
static void open_range(int overlapped, int message_read, unsigned from, unsigned to)
{
    unsigned i;
    const bench_params *p = gg.p;
    if (!gg.c)
        gg.c = (gconn *)calloc(p->conns, sizeof *gg.c);
    if (!gg.c)
        bench_fail("out of memory");
    if (overlapped && !gg.port) {
        gg.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
        if (!gg.port)
            bench_fail("gen: CreateIoCompletionPort failed (%lu)", GetLastError());
    }
    for (i = from; i < to; i++) {
        gg.c[i].h = raw_open_client(p->pipe, overlapped, message_read, p->timeout_ms);
        if (gg.c[i].h == INVALID_HANDLE_VALUE)
            bench_fail("gen: connection %u of %u failed (%lu)", i, p->conns, GetLastError());
        if (overlapped && !CreateIoCompletionPort(gg.c[i].h, gg.port, (ULONG_PTR)i, 0))
            bench_fail("gen: CreateIoCompletionPort failed (%lu)", GetLastError());
        if (overlapped && gg.skip &&
            !SetFileCompletionNotificationModes(gg.c[i].h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
            bench_fail("gen: SetFileCompletionNotificationModes failed (%lu)", GetLastError());
    }
}

static void open_all(int overlapped, int message_read)
{
    open_range(overlapped, message_read, 0, gg.p->conns);
}

/* Starts connection i's next operation; 1 if it completed in the call and
 * queued no packet (skip mode), 0 if its packet will come. */
static int gen_io(unsigned i, int write)
{
    gconn *c = &gg.c[i];
    BOOL ok;
    memset(&c->ov, 0, sizeof c->ov);
    if (write) {
        COUNT_CALL(writes);
        ok = WriteFile(c->h, gg.buf, gg.p->size, NULL, &c->ov);
    } else {
        COUNT_CALL(reads);
        ok = ReadFile(c->h, gg.buf + (size_t)i * gg.cap, gg.cap, NULL, &c->ov);
    }
    if (!ok && GetLastError() != ERROR_IO_PENDING)
        bench_fail("gen: %s on connection %u failed (%lu)", write ? "write" : "read", i,
                   GetLastError());
    return ok && gg.skip;
}

/* Starts connection i's operations until one pends or it has done p->count;
 * returns how many completed in the call. */
static uint64_t gen_next(unsigned i, int write)
{
    gconn *c = &gg.c[i];
    uint64_t now = 0;
    while (c->done < gg.p->count && gen_io(i, write)) {
        c->done++;
        now++;
    }
    return now;
}

/* Starts every connection, then drains completions until `total`
 * operations have completed; each one starts the connection's next
 * operations until it has done `count`. */
static void pump(int write, uint64_t total)
{
    OVERLAPPED_ENTRY e[64];
    uint64_t completed = 0;
    unsigned first;
    for (first = 0; first < gg.p->conns; first++)
        completed += gen_next(first, write);
    const bench_params *p = gg.p;
    while (completed < total) {
        ULONG n = 0, k;
        COUNT_CALL(dequeues);
        if (!GetQueuedCompletionStatusEx(gg.port, e, 64, &n, p->timeout_ms, FALSE))
            bench_fail("gen: timed out after %llu of %llu operations (%lu)",
                       (unsigned long long)completed, (unsigned long long)total,
                       GetLastError());
        for (k = 0; k < n; k++) {
            unsigned i = (unsigned)e[k].lpCompletionKey;
            gconn *c = &gg.c[i];
            if (c->ov.Internal != 0)
                bench_fail("gen: operation on connection %u failed (status 0x%lx)", i,
                           (unsigned long)c->ov.Internal);
            if (!write && e[k].dwNumberOfBytesTransferred != p->size)
                bench_fail("gen: received %lu bytes, expected %u",
                           e[k].dwNumberOfBytesTransferred, p->size);
            completed++;
            c->done++;
            completed += gen_next(i, write);
        }
    }
}

static DWORD WINAPI churn_thread(LPVOID param)
{
    const bench_params *p = gg.p;
    uint8_t msg[64];
    DWORD done;
    (void)param;
    fill_payload(msg, sizeof msg, 5);
    WaitForSingleObject(gg.start, INFINITE);
    while ((unsigned)InterlockedIncrement(&gg.next_conn) <= p->count) {
        HANDLE h = raw_open_client(p->pipe, 0, 0, p->timeout_ms);
        if (h == INVALID_HANDLE_VALUE)
            bench_fail("gen: churn connect failed (%lu)", GetLastError());
        COUNT_CALL(writes);
        if (!WriteFile(h, msg, p->size < sizeof msg ? p->size : sizeof msg, &done, NULL))
            bench_fail("gen: churn write failed (%lu)", GetLastError());
        CloseHandle(h);
    }
    return 0;
}

int role_gen(const bench_params *p)
{
    bench_counts a, b;
    double t0;
    unsigned i;

    memset(&gg, 0, sizeof gg);
    gg.p = p;
    switch (p->scenario) {
    case SC_FANIN:
        gg.buf = (uint8_t *)malloc(p->size);
        if (!gg.buf)
            bench_fail("out of memory");
        fill_payload(gg.buf, p->size, 9);
        /* Skip mode: without it every write costs a dequeue too, and the
         * generator, not the server under test, set the rate of the passes
         * in which the server kept up (docs/PERFORMANCE.md, fan-in). */
        gg.skip = 1;
        open_all(1, 0);
        if (wait_named_event(p, p->ev_go))
            bench_fail("gen: the server did not see every connection");
        counts_snapshot(IM_GEN, &a);
        t0 = qpc_seconds();
        pump(1, (uint64_t)p->conns * p->count);
        if (wait_named_event(p, p->ev_done))
            bench_fail("gen: the server did not receive everything");
        result_put("msgs_s", (double)p->conns * p->count / (qpc_seconds() - t0));
        counts_snapshot(IM_GEN, &b);
        counts_put_per_msg("gen", &a, &b, (double)p->conns * p->count);
        break;
    case SC_BROADCAST:
        gg.cap = p->size + 1; /* one more byte: a longer message shows as MORE_DATA */
        gg.buf = (uint8_t *)malloc((size_t)gg.cap * p->conns);
        if (!gg.buf)
            bench_fail("out of memory");
        open_all(1, 1);
        counts_snapshot(IM_GEN, &a);
        pump(0, (uint64_t)p->conns * p->count);
        signal_named_event(p->ev_done);
        counts_snapshot(IM_GEN, &b);
        counts_put_per_msg("gen", &a, &b, (double)p->conns * p->count);
        break;
    case SC_CHURN: {
        HANDLE th[64];
        unsigned nt = p->threads ? p->threads : 1;
        if (nt > 64)
            nt = 64;
        gg.start = CreateEventW(NULL, TRUE, FALSE, NULL);
        for (i = 0; i < nt; i++) {
            th[i] = CreateThread(NULL, 0, churn_thread, NULL, 0, NULL);
            if (!th[i])
                bench_fail("gen: CreateThread failed");
        }
        t0 = qpc_seconds();
        SetEvent(gg.start);
        WaitForMultipleObjects(nt, th, TRUE, INFINITE);
        /* LOSSY SERVER (driver.c): every connection is written and closed */
        signal_named_event(p->ev_go);
        result_put("gen_t0_s", t0);
        if (wait_named_event(p, p->ev_done))
            bench_fail("gen: the server did not receive all %u messages (one per connection)",
                       p->count);
        result_put("conns_s", p->count / (qpc_seconds() - t0));
        for (i = 0; i < nt; i++)
            CloseHandle(th[i]);
        break;
    }
    case SC_MEMORY: /* MEMORY SLOPE (bench.h): the server reads its memory at both counts */
        open_range(0, 0, 0, BENCH_MEMORY_FIRST(p));
        if (wait_named_event(p, p->ev_go))
            bench_fail("gen: the server did not measure the first connections");
        open_range(0, 0, BENCH_MEMORY_FIRST(p), p->conns);
        if (wait_named_event(p, p->ev_done))
            bench_fail("gen: the server did not finish measuring");
        for (i = 0; i < p->conns; i++)
            CloseHandle(gg.c[i].h);
        break;
    default:
        bench_fail("gen: scenario %s has no generator", scenario_name(p->scenario));
    }
    return result_flush(p);
}
