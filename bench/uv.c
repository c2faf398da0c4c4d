/*
 * uv.c - libuv's uv_pipe_t in the scenarios the issue compared it in
 * (ping-pong, throughput, fan-in, churn, memory): the same roles as lib.c,
 * written the way a libuv program is, on one thread running uv_run. Built
 * only when ./build.sh bench fetched libuv (PIPES_BENCH_LIBUV, README in
 * bench/); libuv's code is never part of the repository.
 *
 * libuv's pipes are byte streams: its server instances are PIPE_TYPE_BYTE,
 * so a message is counted when its bytes have arrived (size bytes each).
 * Reads go through one buffer shared by every connection (the loop runs on
 * one thread and libuv asks for a buffer only when data is there), so an
 * idle connection pins no buffer of the program's. libuv counts no Win32
 * calls: its rows show no calls per message.
 *
 * In churn libuv loses messages here (a client that connects, writes and
 * closes at once: some of their bytes never reach a read callback; the
 * issue saw 3-9 of 600). Its server then reports what it lost instead of
 * waiting forever (LOSSY SERVER, driver.c).
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bench.h"

#define UV_READ_BUFFER (64u * 1024u)
#define UV_SETTLE_MS 200 /* memory: let the last connections' reads be posted */
#define UV_QUIET_TICK_MS 10 /* churn: how often the loss check looks */
#define UV_QUIET_TICKS 20   /* churn: nothing new for this long after all was sent: lost */

typedef struct uv_bench {
    const bench_params *p;
    uv_loop_t *loop;
    uv_pipe_t server, client;
    uv_connect_t connect_req;
    uv_timer_t timeout, settle, quiet;
    HANDLE all_sent;                /* churn: the generator's ev_go */
    uint64_t bytes_at_tick;         /* churn: bytes at the last loss check */
    unsigned quiet_ticks;           /* churn: loss checks in a row with nothing new */
    double t_last_byte;             /* churn: when the last byte came */
    uint64_t bytes, expected_bytes;
    unsigned conns, sends, rounds; /* rounds: ping-pong round trips back */
    double t0, t_sent, *lat;
    uint8_t *payload;
    mem_mark m0, m1;
    int mem_phase; /* memory: 0 first clients, 1 all clients */
    char name[BENCH_NAME_MAX * 3];
} uv_bench;

static uv_bench u;
static char g_read_buffer[UV_READ_BUFFER];

static void uv_check(int rc, const char *what)
{
    if (rc < 0)
        bench_fail("libuv %s: %s", what, uv_strerror(rc));
}

static void on_timeout(uv_timer_t *t)
{
    (void)t;
    bench_fail("libuv %s: timed out (%u connections, %llu bytes)", u.p->is_server ? "server" : "client",
               u.conns, (unsigned long long)u.bytes);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(g_read_buffer, sizeof g_read_buffer);
}

static void on_closed(uv_handle_t *h)
{
    free(h);
}

/* ---- server ---- */

typedef struct echo_req {
    uv_write_t req;
    char data[1];
} echo_req;

static void on_echoed(uv_write_t *req, int status)
{
    uv_check(status, "echo write");
    free(req);
}

static void on_acked(uv_write_t *req, int status)
{
    (void)req;
    uv_check(status, "acknowledgement");
}

/* Every byte that arrives at the server: ping-pong echoes it, the others
 * count it; the run ends at the expected count (or, for one-connection
 * scenarios, when the client has gone). */
static void on_server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    static uv_write_t ack_req;
    static char ack = (char)BENCH_ACK_BYTE;
    const bench_params *p = u.p;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        if (p->scenario == SC_PINGPONG || p->scenario == SC_THROUGHPUT)
            uv_stop(u.loop);
        return;
    }
    if (n == 0)
        return;
    u.bytes += (uint64_t)n;
    u.t_last_byte = qpc_seconds();
    if (p->scenario == SC_PINGPONG) {
        echo_req *e = (echo_req *)malloc(sizeof *e + (size_t)n);
        uv_buf_t out;
        if (!e)
            bench_fail("out of memory");
        memcpy(e->data, buf->base, (size_t)n);
        out = uv_buf_init(e->data, (unsigned)n);
        uv_check(uv_write(&e->req, s, &out, 1, on_echoed), "uv_write");
    } else if (u.bytes == u.expected_bytes) {
        if (p->scenario == SC_THROUGHPUT) {
            uv_buf_t out = uv_buf_init(&ack, 1);
            uv_check(uv_write(&ack_req, s, &out, 1, on_acked), "uv_write");
        } else { /* fan-in, churn: all arrived */
            if (p->scenario == SC_CHURN)
                result_put("lost_msgs", 0.0); /* so the median counts the passes that lost none */
            signal_named_event(p->ev_done);
            uv_stop(u.loop);
        }
    }
}

/* LOSSY SERVER (driver.c): once the generator has sent everything, a
 * churn run that gets nothing new for UV_QUIET_TICKS checks ends with
 * what was lost. */
static void on_quiet_check(uv_timer_t *t)
{
    const bench_params *p = u.p;
    (void)t;
    if (u.bytes != u.bytes_at_tick || WaitForSingleObject(u.all_sent, 0) != WAIT_OBJECT_0) {
        u.bytes_at_tick = u.bytes;
        u.quiet_ticks = 0;
        return;
    }
    if (++u.quiet_ticks < UV_QUIET_TICKS)
        return;
    result_put("lost_msgs", (double)((u.expected_bytes - u.bytes) / p->size));
    result_put("last_byte_s", u.t_last_byte);
    signal_named_event(p->ev_done);
    uv_stop(u.loop);
}

/* MEMORY SLOPE (bench.h): a reading once the first clients are in and
 * settled, then once all are. */
static void on_settled(uv_timer_t *t)
{
    const bench_params *p = u.p;
    (void)t;
    if (u.mem_phase == 0) {
        mem_mark_take(&u.m0, 0);
        u.mem_phase = 1;
        signal_named_event(p->ev_go);
        return;
    }
    mem_mark_take(&u.m1, 0);
    mem_put_per_conn(&u.m0, &u.m1, p->conns - BENCH_MEMORY_FIRST(p), 0);
    signal_named_event(p->ev_done);
    uv_stop(u.loop);
}

static void on_connection(uv_stream_t *server, int status)
{
    const bench_params *p = u.p;
    uv_pipe_t *c;
    uv_check(status, "connection");
    c = (uv_pipe_t *)malloc(sizeof *c);
    if (!c)
        bench_fail("out of memory");
    uv_check(uv_pipe_init(u.loop, c, 0), "uv_pipe_init");
    uv_check(uv_accept(server, (uv_stream_t *)c), "uv_accept");
    uv_check(uv_read_start((uv_stream_t *)c, on_alloc, on_server_read), "uv_read_start");
    u.conns++;
    if (p->scenario == SC_FANIN && u.conns == p->conns) {
        mem_mark_take(&u.m1, 0);
        mem_put_per_conn(&u.m0, &u.m1, p->conns, 0);
        signal_named_event(p->ev_go);
    }
    if (p->scenario == SC_MEMORY &&
        (u.conns == BENCH_MEMORY_FIRST(p) || u.conns == p->conns))
        uv_check(uv_timer_start(&u.settle, on_settled, UV_SETTLE_MS, 0), "uv_timer_start");
}

static int uv_server(const bench_params *p)
{
    switch (p->scenario) {
    case SC_FANIN: u.expected_bytes = (uint64_t)p->count * p->conns * p->size; break;
    case SC_PINGPONG: u.expected_bytes = 0; break;
    default: u.expected_bytes = (uint64_t)p->count * p->size; break; /* throughput, churn */
    }
    mem_mark_take(&u.m0, 0);
    uv_check(uv_pipe_init(u.loop, &u.server, 0), "uv_pipe_init");
    uv_check(uv_timer_init(u.loop, &u.settle), "uv_timer_init");
    uv_check(uv_pipe_bind(&u.server, u.name), "uv_pipe_bind");
    uv_check(uv_listen((uv_stream_t *)&u.server, 128, on_connection), "uv_listen");
    if (p->scenario == SC_CHURN) {
        u.all_sent = open_named_event(p->ev_go);
        if (!u.all_sent)
            bench_fail("libuv: cannot open the generator's event (%lu)", GetLastError());
        uv_check(uv_timer_init(u.loop, &u.quiet), "uv_timer_init");
        uv_check(uv_timer_start(&u.quiet, on_quiet_check, UV_QUIET_TICK_MS, UV_QUIET_TICK_MS),
                 "uv_timer_start");
    }
    signal_named_event(p->ev_ready);
    uv_run(u.loop, UV_RUN_DEFAULT);
    if (u.all_sent)
        CloseHandle(u.all_sent);
    return result_flush(p);
}

/* ---- client (ping-pong, throughput) ---- */

static void on_sent(uv_write_t *req, int status);

static void send_one(uv_write_t *req)
{
    uv_buf_t out = uv_buf_init((char *)u.payload, u.p->size);
    if (!req && (req = (uv_write_t *)malloc(sizeof *req)) == NULL)
        bench_fail("out of memory");
    u.sends++;
    uv_check(uv_write(req, (uv_stream_t *)&u.client, &out, 1, on_sent), "uv_write");
}

/* Throughput: each completed write starts the next, a window in flight
 * (lib.c does the same from SEND_COMPLETE). */
static void on_sent(uv_write_t *req, int status)
{
    uv_check(status, "write");
    if (u.p->scenario == SC_THROUGHPUT && u.sends < u.p->count)
        send_one(req);
    else
        free(req);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    const bench_params *p = u.p;
    (void)buf;
    if (n < 0)
        bench_fail("libuv client: the server went away (%s)", uv_strerror((int)n));
    u.bytes += (uint64_t)n;
    if (p->scenario == SC_THROUGHPUT) {
        if (u.bytes >= 1) {
            u.t_sent = qpc_seconds(); /* the acknowledgement's arrival */
            uv_close((uv_handle_t *)s, NULL);
            uv_stop(u.loop);
        }
        return;
    }
    /* ping-pong: a round trip ends when the whole message is back */
    while (u.bytes >= p->size) {
        unsigned done = ++u.rounds;
        u.bytes -= p->size;
        if (done > p->warmup)
            u.lat[done - 1 - p->warmup] = (qpc_seconds() - u.t_sent) * 1e6;
        if (done == p->warmup + p->count) {
            uv_close((uv_handle_t *)s, NULL);
            uv_stop(u.loop);
            return;
        }
        u.t_sent = qpc_seconds();
        send_one(NULL);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    const bench_params *p = u.p;
    unsigned i, window = (4u << 20) / (p->size ? p->size : 1);
    (void)req;
    uv_check(status, "uv_pipe_connect");
    uv_check(uv_read_start((uv_stream_t *)&u.client, on_alloc, on_client_read), "uv_read_start");
    if (window < 2)
        window = 2;
    if (window > 1024)
        window = 1024;
    u.t0 = u.t_sent = qpc_seconds();
    if (p->scenario == SC_PINGPONG) {
        send_one(NULL);
        return;
    }
    for (i = 0; i < window && u.sends < p->count; i++)
        send_one(NULL);
}

static int uv_client(const bench_params *p)
{
    if (p->scenario != SC_PINGPONG && p->scenario != SC_THROUGHPUT)
        bench_fail("libuv: no client role for %s", scenario_name(p->scenario));
    if (p->scenario == SC_PINGPONG) {
        u.lat = (double *)malloc(sizeof(double) * (p->count ? p->count : 1));
        if (!u.lat)
            bench_fail("out of memory");
    }
    uv_check(uv_pipe_init(u.loop, &u.client, 0), "uv_pipe_init");
    uv_pipe_connect(&u.connect_req, &u.client, u.name, on_connected);
    uv_run(u.loop, UV_RUN_DEFAULT);
    if (p->scenario == SC_PINGPONG) {
        put_latencies(u.lat, p->count);
    } else {
        double secs = u.t_sent - u.t0;
        result_put("msgs_s", p->count / secs);
        result_put("mib_s", (double)p->count * p->size / secs / (1024.0 * 1024.0));
    }
    free(u.lat);
    return result_flush(p);
}

const char *bench_libuv_version(void)
{
    return uv_version_string();
}

int role_uv(const bench_params *p)
{
    memset(&u, 0, sizeof u);
    u.p = p;
    u.loop = uv_default_loop();
    if (!WideCharToMultiByte(CP_UTF8, 0, p->pipe, -1, u.name, (int)sizeof u.name, NULL, NULL))
        bench_fail("libuv: pipe name");
    u.payload = (uint8_t *)malloc(p->size ? p->size : 1);
    if (!u.payload)
        bench_fail("out of memory");
    fill_payload(u.payload, p->size, 7);
    uv_check(uv_timer_init(u.loop, &u.timeout), "uv_timer_init");
    uv_check(uv_timer_start(&u.timeout, on_timeout, p->timeout_ms, 0), "uv_timer_start");
    uv_unref((uv_handle_t *)&u.timeout);
    return p->is_server ? uv_server(p) : uv_client(p);
}
