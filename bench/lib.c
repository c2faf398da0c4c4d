/*
 * lib.c - the PipesLib side of every scenario: a pipes_server (all
 * scenarios) and a pipes_client (the one-connection scenarios). Events come
 * by callback on the library's worker threads; replies are sent from inside
 * the callbacks, as an application built on the library would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pipes.h"

typedef struct lib_state {
    const bench_params *p;
    pipes_engine *engine; /* NULL: the default engine */
    pipes_server *server;
    pipes_client *client;
    volatile LONG64 messages;
    volatile LONG conns, disconnects;
    volatile LONG sends; /* throughput: sends started, claimed one by one */
    unsigned expected;   /* messages that end the measurement */
    HANDLE all_connected, finished;
    HANDLE first_connected; /* memory: BENCH_MEMORY_FIRST clients are in */
    HANDLE done_named; /* fan-in, churn: tells the generator all arrived */
    bench_counts a, b;
    double cpu0, cpu1, t_sent;
    double *lat;
    uint8_t *payload;
    int failed;
} lib_state;

static lib_state g;

static void lib_check(pipes_status st, const char *what)
{
    if (st != PIPES_OK)
        bench_fail("%s: %s (Win32 %lu)", what, pipes_status_string(st), pipes_last_system_error());
}

/* ---- server ---- */

static void end_of_count(void)
{
    g.cpu1 = process_cpu_seconds();
    counts_snapshot(IM_LIB, &g.b);
}

static void PIPES_CALL server_event(const pipes_event *ev, void *user)
{
    static const uint8_t ack = BENCH_ACK_BYTE;
    const bench_params *p = g.p;
    LONG64 n;
    (void)user;
    switch (ev->type) {
    case PIPES_EVENT_CONNECTED:
        n = InterlockedIncrement(&g.conns);
        if ((unsigned)n == p->conns)
            SetEvent(g.all_connected);
        if (p->scenario == SC_MEMORY && (unsigned)n == BENCH_MEMORY_FIRST(p))
            SetEvent(g.first_connected);
        break;
    case PIPES_EVENT_MESSAGE:
        n = InterlockedIncrement64(&g.messages);
        if (p->scenario == SC_PINGPONG) {
            if (pipes_server_send(g.server, ev->connection_id, ev->data, ev->size, NULL) !=
                PIPES_OK)
                g.failed = 1;
            if ((unsigned)n == g.expected)
                end_of_count();
        } else if ((unsigned)n == g.expected) {
            end_of_count();
            if (p->scenario == SC_THROUGHPUT || p->scenario == SC_CPU) {
                if (pipes_server_send(g.server, ev->connection_id, &ack, 1, NULL) != PIPES_OK)
                    g.failed = 1;
            } else {
                SetEvent(g.done_named); /* fan-in, churn: all arrived */
                SetEvent(g.finished);
            }
        }
        break;
    case PIPES_EVENT_DISCONNECTED:
        InterlockedIncrement(&g.disconnects);
        if (p->scenario == SC_PINGPONG || p->scenario == SC_THROUGHPUT || p->scenario == SC_CPU)
            SetEvent(g.finished);
        break;
    default:
        break;
    }
}

static void wait_or_fail(HANDLE h, const char *what)
{
    pipes_stats st;
    pipes_global_stats gs;
    int i;
    if (WaitForSingleObject(h, g.p->timeout_ms) == WAIT_OBJECT_0)
        return;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    pipes_server_get_stats(g.server, &st);
    memset(&gs, 0, sizeof gs);
    gs.struct_size = sizeof gs;
    pipes_get_global_stats(&gs);
    fprintf(stderr, "lib server stats: connects %llu refused %llu current %llu instances %lld "
                    "pending %lld connect calls %llu\n",
            (unsigned long long)st.connects, (unsigned long long)st.refused,
            (unsigned long long)st.current_connections, (long long)gs.live_instances,
            (long long)gs.pending_operations, (unsigned long long)gs.calls_connect_named_pipe);
    for (i = 0; i < PIPES_STATUS_COUNT; i++) {
        if (st.disconnects_by_reason[i] || st.errors_by_status[i])
            fprintf(stderr, "  %s: %llu disconnects, %llu errors\n",
                    pipes_status_string((pipes_status)i),
                    (unsigned long long)st.disconnects_by_reason[i],
                    (unsigned long long)st.errors_by_status[i]);
    }
    bench_fail("lib server: timed out waiting for %s (%ld connections, %lld messages)", what,
               (long)g.conns, (long long)g.messages);
}

static double lib_heap_bytes(void)
{
    pipes_global_stats gs;
    memset(&gs, 0, sizeof gs);
    gs.struct_size = sizeof gs;
    pipes_get_global_stats(&gs);
    return (double)gs.bytes_allocated;
}

static void take_mark(mem_mark *m)
{
    mem_mark_take(m, lib_heap_bytes());
}

static int lib_server(const bench_params *p)
{
    pipes_server_config cfg;
    mem_mark m0, m1;
    double t0;
    unsigned i, delivered;

    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = p->pipe;
    cfg.engine = g.engine;
    cfg.on_event = server_event;
    cfg.max_connections = p->conns > PIPES_DEFAULT_MAX_CONNECTIONS ? p->conns + 16 : 0;
    cfg.max_message_size = p->size > PIPES_DEFAULT_MAX_MESSAGE_SIZE ? p->size : 0;
    if (p->scenario == SC_BROADCAST)
        cfg.max_queued_messages = p->count + 16; /* the whole burst fits each queue */

    switch (p->scenario) {
    case SC_PINGPONG: g.expected = p->count + p->warmup; break;
    case SC_FANIN: g.expected = p->count * p->conns; break;
    case SC_BROADCAST:
    case SC_MEMORY: g.expected = 0; break;
    default: g.expected = p->count; break; /* throughput, CPU, churn (one per connection) */
    }
    counts_snapshot(IM_LIB, &g.a);
    lib_check(pipes_server_start(&cfg, &g.server), "pipes_server_start");
    take_mark(&m0);
    signal_named_event(p->ev_ready);

    switch (p->scenario) {
    case SC_PINGPONG:
    case SC_THROUGHPUT:
    case SC_CPU:
        wait_or_fail(g.all_connected, "the client");
        counts_snapshot(IM_LIB, &g.a);
        g.cpu0 = process_cpu_seconds();
        wait_or_fail(g.finished, "the end of the run");
        break;
    case SC_CHURN:
        wait_or_fail(g.finished, "all messages");
        break;
    case SC_FANIN:
        wait_or_fail(g.all_connected, "all clients");
        take_mark(&m1);
        mem_put_per_conn(&m0, &m1, p->conns, 1);
        counts_snapshot(IM_LIB, &g.a);
        signal_named_event(p->ev_go);
        wait_or_fail(g.finished, "all messages");
        break;
    case SC_BROADCAST:
        wait_or_fail(g.all_connected, "all clients");
        counts_snapshot(IM_LIB, &g.a);
        t0 = qpc_seconds();
        for (i = 0; i < p->count; i++) {
            fill_payload(g.payload, p->size, i);
            lib_check(pipes_server_broadcast(g.server, g.payload, p->size, &delivered),
                      "pipes_server_broadcast");
            if (delivered != p->conns)
                bench_fail("broadcast %u reached %u of %u clients", i, delivered, p->conns);
        }
        if (wait_named_event(p, p->ev_done))
            bench_fail("lib server: receivers did not finish");
        {
            double secs = qpc_seconds() - t0;
            counts_snapshot(IM_LIB, &g.b);
            result_put("msgs_s", p->count / secs);
            result_put("deliveries_s", (double)p->count * p->conns / secs);
        }
        g.expected = p->count * p->conns; /* calls per delivered message */
        break;
    case SC_MEMORY: /* MEMORY SLOPE (bench.h) */
        wait_or_fail(g.first_connected, "the first clients");
        Sleep(200); /* let the last reads be issued */
        take_mark(&m0);
        signal_named_event(p->ev_go);
        wait_or_fail(g.all_connected, "all clients");
        Sleep(200);
        take_mark(&m1);
        mem_put_per_conn(&m0, &m1, p->conns - BENCH_MEMORY_FIRST(p), 1);
        signal_named_event(p->ev_done);
        break;
    default:
        break;
    }
    if (g.failed)
        bench_fail("lib server: a send failed");
    if (p->scenario != SC_MEMORY)
        counts_put_per_msg("server", &g.a, &g.b, g.expected);
    if (p->scenario == SC_CPU)
        result_put("server_cpu_us", (g.cpu1 - g.cpu0) * 1e6 / g.expected);
    lib_check(pipes_server_stop(g.server), "pipes_server_stop");
    return result_flush(p);
}

/* ---- client ---- */

/* Throughput: sends the next of p->count messages, if any is left. The main
 * thread starts a window of them; each SEND_COMPLETE of one starts the next
 * from the callback, so at most the window is queued or in flight and no
 * thread waits for room: the way an asynchronous writer pumps a stream
 * (libuv's write callback, Node's 'drain'). Waking a sending thread at each
 * completion instead costs two wineserver requests a message here (SetEvent,
 * the wait): as many as the raw IOCP client's whole write path (WriteFile and
 * its dequeue). */
static void send_next(void)
{
    if (InterlockedIncrement(&g.sends) > (LONG)g.p->count)
        return;
    if (pipes_client_send(g.client, g.payload, g.p->size, &g) != PIPES_OK) {
        g.failed = 1;
        SetEvent(g.finished);
    }
}

static void PIPES_CALL client_event(const pipes_event *ev, void *user)
{
    const bench_params *p = g.p;
    (void)user;
    if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
        if (ev->status != PIPES_OK) {
            g.failed = 1;
            SetEvent(g.finished);
        } else {
            send_next();
        }
    } else if (ev->type == PIPES_EVENT_MESSAGE) {
        LONG64 n = InterlockedIncrement64(&g.messages);
        if (p->scenario == SC_PINGPONG) {
            double now = qpc_seconds();
            if (n > (LONG64)p->warmup)
                g.lat[n - 1 - p->warmup] = (now - g.t_sent) * 1e6;
            if ((unsigned)n == p->warmup)
                counts_snapshot(IM_LIB, &g.a);
            if ((unsigned)n == p->warmup + p->count) {
                counts_snapshot(IM_LIB, &g.b);
                SetEvent(g.finished);
                return;
            }
            g.t_sent = qpc_seconds();
            if (pipes_client_send(g.client, g.payload, p->size, NULL) != PIPES_OK) {
                g.failed = 1;
                SetEvent(g.finished);
            }
        } else {
            g.cpu1 = process_cpu_seconds();
            g.t_sent = qpc_seconds(); /* the acknowledgement's arrival */
            counts_snapshot(IM_LIB, &g.b);
            SetEvent(g.finished);
        }
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        g.failed = 1;
        SetEvent(g.finished);
    }
}

static int lib_client(const bench_params *p)
{
    pipes_client_config cfg;
    double t0, cpu0;
    unsigned i;
    LONG window = (LONG)((4u << 20) / (p->size ? p->size : 1));

    if (window < 2)
        window = 2;
    if (window > 1024)
        window = 1024;
    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = p->pipe;
    cfg.engine = g.engine;
    cfg.on_event = client_event;
    cfg.connect_timeout_ms = p->timeout_ms;
    cfg.max_message_size = p->size > PIPES_DEFAULT_MAX_MESSAGE_SIZE ? p->size : 0;
    if (p->scenario == SC_CPU)
        cfg.max_queued_messages = p->count + 16; /* paced bursts never fill it */
    if (p->scenario == SC_PINGPONG) {
        g.lat = (double *)malloc(sizeof(double) * (p->count ? p->count : 1));
        if (!g.lat)
            bench_fail("out of memory");
    }
    lib_check(pipes_client_connect(&cfg, &g.client), "pipes_client_connect");

    counts_snapshot(IM_LIB, &g.a);
    cpu0 = process_cpu_seconds();
    t0 = qpc_seconds();
    if (p->scenario == SC_PINGPONG) {
        g.t_sent = qpc_seconds();
        lib_check(pipes_client_send(g.client, g.payload, p->size, NULL), "pipes_client_send");
    } else if (p->scenario == SC_THROUGHPUT) {
        for (i = 0; i < (unsigned)window; i++)
            send_next();
    } else {
        unsigned sent = 0;
        while (sent < p->count) {
            unsigned due = pace_due(t0, p->rate, p->count);
            for (; sent < due; sent++)
                lib_check(pipes_client_send(g.client, g.payload, p->size, NULL),
                          "pipes_client_send");
        }
    }
    if (WaitForSingleObject(g.finished, p->timeout_ms) != WAIT_OBJECT_0 || g.failed)
        bench_fail("lib client: the run did not finish (%lld messages back)",
                   (long long)g.messages);
    if (p->scenario == SC_PINGPONG) {
        put_latencies(g.lat, p->count);
    } else if (p->scenario == SC_THROUGHPUT) {
        double secs = g.t_sent - t0;
        result_put("msgs_s", p->count / secs);
        result_put("mib_s", (double)p->count * p->size / secs / (1024.0 * 1024.0));
    } else {
        result_put("cpu_us", (g.cpu1 - cpu0) * 1e6 / p->count);
        result_put("rate", p->count / (g.t_sent - t0));
    }
    counts_put_per_msg("client", &g.a, &g.b, p->count);
    lib_check(pipes_client_close(g.client), "pipes_client_close");
    free(g.lat);
    return result_flush(p);
}

int role_lib(const bench_params *p)
{
    int rc;
    memset(&g, 0, sizeof g);
    g.p = p;
    g.all_connected = CreateEventW(NULL, TRUE, FALSE, NULL);
    g.finished = CreateEventW(NULL, TRUE, FALSE, NULL);
    g.first_connected = CreateEventW(NULL, TRUE, FALSE, NULL);
    g.payload = (uint8_t *)malloc(p->size ? p->size : 1);
    if (!g.all_connected || !g.finished || !g.first_connected || !g.payload)
        bench_fail("out of resources");
    fill_payload(g.payload, p->size, 7);
    if (p->lib_workers) {
        pipes_engine_config ec;
        memset(&ec, 0, sizeof ec);
        ec.struct_size = sizeof ec;
        ec.worker_threads = p->lib_workers;
        lib_check(pipes_engine_create(&ec, &g.engine), "pipes_engine_create");
    }
    if (p->is_server && (p->scenario == SC_FANIN || p->scenario == SC_CHURN)) {
        g.done_named = open_named_event(p->ev_done);
        if (!g.done_named)
            bench_fail("cannot open the done event (%lu)", GetLastError());
    }
    rc = p->is_server ? lib_server(p) : lib_client(p);
    if (g.engine)
        lib_check(pipes_engine_destroy(g.engine), "pipes_engine_destroy");
    return rc;
}
