/*
 * naive.c - baseline (c), the design PipesLib replaces: synchronous pipe
 * handles, one blocking thread per connected instance, and the next
 * instance created only after a client has connected to the previous one
 * (the accept loop of the usual NamedPipeServerStream examples). Clients
 * arriving between two instances see ERROR_FILE_NOT_FOUND/ERROR_PIPE_BUSY
 * and retry.
 */
#include <stdlib.h>

#include "bench.h"
#include "rawio.h"

typedef struct naive_state {
    const bench_params *p;
    volatile LONG64 messages;
    volatile LONG conns;
    volatile LONG stop; /* never set: the accept loop ends with the process */
    unsigned expected;
    HANDLE all_connected, first_connected, done_named, go_write;
    bench_counts b;
} naive_state;

static naive_state n_g;

static DWORD WINAPI conn_thread(LPVOID param)
{
    HANDLE h = (HANDLE)param;
    const bench_params *p = n_g.p;
    DWORD cap = BENCH_SERVER_READ, got, done;
    uint8_t *buf = (uint8_t *)malloc(cap);
    unsigned i;

    if (!buf)
        bench_fail("out of memory");
    if (p->scenario == SC_BROADCAST) {
        /* This thread is the connection's writer: a blocking read here would
         * serialise with writes on a synchronous handle. */
        fill_payload(buf, p->size, 3);
        WaitForSingleObject(n_g.go_write, INFINITE);
        for (i = 0; i < p->count; i++) {
            COUNT_CALL(writes);
            if (!WriteFile(h, buf, p->size, &done, NULL))
                break;
        }
        /* Disconnecting now would discard what the client has not read
         * yet; the handle goes with the process once the run is over. */
        free(buf);
        return 0;
    } else {
        for (;;) {
            COUNT_CALL(reads);
            if (!ReadFile(h, buf, cap, &got, NULL))
                break;
            if ((unsigned)InterlockedIncrement64(&n_g.messages) == n_g.expected) {
                counts_snapshot(IM_NAIVE, &n_g.b);
                SetEvent(n_g.done_named);
            }
        }
    }
    DisconnectNamedPipe(h);
    CloseHandle(h);
    free(buf);
    return 0;
}

static DWORD WINAPI accept_thread(LPVOID param)
{
    const bench_params *p = n_g.p;
    int first = 1;
    (void)param;
    while (InterlockedCompareExchange(&n_g.stop, 0, 0) == 0) {
        HANDLE h = raw_create_instance(p->pipe, 0, first), t;
        if (h == INVALID_HANDLE_VALUE)
            bench_fail("naive: CreateNamedPipeW failed (%lu)", GetLastError());
        if (first)
            signal_named_event(p->ev_ready);
        first = 0;
        COUNT_CALL(connects);
        /* ERROR_NO_DATA: the client connected, wrote and closed before this
         * call; what it wrote is still there to read. */
        if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED &&
            GetLastError() != ERROR_NO_DATA) {
            CloseHandle(h);
            continue;
        }
        /* Default stack size, as a thread-per-client server gets. */
        t = CreateThread(NULL, 0, conn_thread, h, 0, NULL);
        if (!t)
            bench_fail("naive: CreateThread failed (%lu)", GetLastError());
        CloseHandle(t);
        {
            unsigned n = (unsigned)InterlockedIncrement(&n_g.conns);
            if (n == p->conns)
                SetEvent(n_g.all_connected);
            if (p->scenario == SC_MEMORY && n == BENCH_MEMORY_FIRST(p))
                SetEvent(n_g.first_connected);
        }
    }
    return 0;
}

static void wait_or_fail(HANDLE h, const char *what)
{
    if (WaitForSingleObject(h, n_g.p->timeout_ms) != WAIT_OBJECT_0)
        bench_fail("naive server: timed out waiting for %s (%ld connections, %lld messages)",
                   what, (long)n_g.conns, (long long)n_g.messages);
}

int role_naive(const bench_params *p)
{
    bench_counts a;
    mem_mark m0, m1;
    double t0;
    HANDLE t;

    n_g.p = p;
    n_g.all_connected = CreateEventW(NULL, TRUE, FALSE, NULL);
    n_g.first_connected = CreateEventW(NULL, TRUE, FALSE, NULL);
    n_g.go_write = CreateEventW(NULL, TRUE, FALSE, NULL);
    n_g.done_named = open_named_event(p->ev_done);
    if (!n_g.all_connected || !n_g.first_connected || !n_g.go_write || !n_g.done_named)
        bench_fail("naive: cannot create events");
    n_g.expected = p->scenario == SC_FANIN ? p->count * p->conns
                 : p->scenario == SC_CHURN ? p->count : 0;
    mem_mark_take(&m0, 0);
    counts_snapshot(IM_NAIVE, &a);
    t = CreateThread(NULL, 0, accept_thread, NULL, 0, NULL);
    if (!t)
        bench_fail("naive: CreateThread failed");
    CloseHandle(t);

    switch (p->scenario) {
    case SC_MEMORY: /* MEMORY SLOPE (bench.h) */
        wait_or_fail(n_g.first_connected, "the first clients");
        Sleep(200); /* let every thread reach its ReadFile */
        mem_mark_take(&m0, 0);
        signal_named_event(p->ev_go);
        wait_or_fail(n_g.all_connected, "all clients");
        Sleep(200);
        mem_mark_take(&m1, 0);
        mem_put_per_conn(&m0, &m1, p->conns - BENCH_MEMORY_FIRST(p), 0);
        SetEvent(n_g.done_named);
        break;
    case SC_FANIN:
        wait_or_fail(n_g.all_connected, "all clients");
        mem_mark_take(&m1, 0);
        mem_put_per_conn(&m0, &m1, p->conns, 0);
        counts_snapshot(IM_NAIVE, &a);
        signal_named_event(p->ev_go);
        wait_or_fail(n_g.done_named, "all messages");
        counts_put_per_msg("server", &a, &n_g.b, n_g.expected);
        break;
    case SC_CHURN:
        wait_or_fail(n_g.done_named, "all messages");
        counts_put_per_msg("server", &a, &n_g.b, n_g.expected);
        break;
    case SC_BROADCAST:
        wait_or_fail(n_g.all_connected, "all clients");
        counts_snapshot(IM_NAIVE, &a);
        t0 = qpc_seconds();
        SetEvent(n_g.go_write);
        if (wait_named_event(p, p->ev_done))
            bench_fail("naive server: receivers did not finish");
        {
            double secs = qpc_seconds() - t0;
            counts_snapshot(IM_NAIVE, &n_g.b);
            result_put("msgs_s", p->count / secs);
            result_put("deliveries_s", (double)p->count * p->conns / secs);
            counts_put_per_msg("server", &a, &n_g.b, (double)p->count * p->conns);
        }
        break;
    default:
        bench_fail("naive: scenario %s is not a server scenario", scenario_name(p->scenario));
    }
    /* Threads blocked in ReadFile/ConnectNamedPipe end with the process,
     * as they would when such a server is stopped. */
    return result_flush(p);
}
