/*
 * bench.h - shared declarations of pipes-bench.
 *
 * One executable plays every part. Run without a role it is the *driver*:
 * for each measurement it re-launches itself twice, as a server and as a
 * client, in separate processes, waits for both, and reads back the figures
 * each wrote (key=value lines) to a result file. The driver aggregates the
 * repeated runs (median and spread), prints the table with ratios to the
 * baselines and the targets, and writes the JSON file.
 *
 * Implementations ("impl"):
 *   lib   PipesLib (pipes.dll), the thing measured;
 *   sync  baseline (a): raw synchronous ReadFile/WriteFile, no library;
 *   iocp  baseline (b): raw overlapped I/O on a completion port, one
 *         operation outstanding per pipe, GetQueuedCompletionStatus;
 *   naive baseline (c): one blocking thread per connected instance, a new
 *         instance created only after each connect;
 *   iocp2 ping-pong only: "iocp" with two threads waiting on the port, the
 *         shape of a worker pool (iocp2.c says why);
 *   iocps ping-pong, throughput and churn: "iocp" in skip mode
 *         (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), PipesLib's design without
 *         the library: an operation that completes in the call is finished
 *         at once, only one that pends is dequeued (churn: iocp_server.c).
 *         What a program of that design can reach here (the ceiling of the
 *         ping-pong, throughput and churn targets, report.c).
 *   iocpw ping-pong only: "iocps" that also pays for what pipes.h promises
 *         of the library's workers (pair.c): a second thread that wakes
 *         every 5 ms while packets are handled (the watcher that bounds a
 *         blocked callback's hold-up, standby.c) and a full-batch dequeue
 *         every 8th (a queue seen within 8 packets, engine.c). What a
 *         program that keeps those promises can reach here.
 *   iocpz ping-pong only: "iocps" reading as libuv does (rawio.c): a
 *         zero-byte read waits for each message without pinning a buffer,
 *         then a read with the buffer takes it. What an idle connection
 *         without a read buffer costs each message (issue 14 asked).
 *   libuv libuv's uv_pipe_t (uv.c), where the issue compared it: ping-pong,
 *         throughput, fan-in, churn, memory; only in a build with libuv
 *         (PIPES_BENCH_LIBUV, fetched by ./build.sh bench).
 * Server-centred scenarios (fan-in, broadcast, churn, memory) use the same
 * raw load generator ("gen", loadgen.c) as the client for every server impl.
 */
#ifndef PIPES_BENCH_H
#define PIPES_BENCH_H

#include <windows.h>

#include <stdint.h>

typedef enum bench_scenario {
    SC_PINGPONG = 0,
    SC_THROUGHPUT,
    SC_FANIN,
    SC_BROADCAST,
    SC_CHURN,
    SC_MEMORY,
    SC_CPU,
    SC_COUNT
} bench_scenario;

typedef enum bench_impl {
    IM_LIB = 0,
    IM_SYNC,
    IM_IOCP,
    IM_NAIVE,
    IM_GEN,
    IM_IOCP2,
    IM_IOCPS,
    IM_UV,
    IM_IOCPW,
    IM_IOCPZ,
    IM_COUNT
} bench_impl;

#define BENCH_NAME_MAX 128
#define BENCH_ACK_BYTE 0xA5

/* Everything a child role needs, passed on its command line. */
typedef struct bench_params {
    bench_scenario scenario;
    bench_impl impl;
    int is_server;
    wchar_t pipe[BENCH_NAME_MAX];     /* \\.\pipe\... */
    wchar_t ev_ready[BENCH_NAME_MAX]; /* server -> driver: listening */
    wchar_t ev_go[BENCH_NAME_MAX];    /* server -> generator: all clients connected */
    wchar_t ev_done[BENCH_NAME_MAX];  /* the receiving side reached its count */
    wchar_t out[MAX_PATH];            /* result file */
    unsigned size;     /* message size in bytes */
    unsigned count;    /* messages per connection (churn: connections in all) */
    unsigned conns;    /* connections */
    unsigned warmup;   /* ping-pong round trips not recorded */
    unsigned rate;     /* CPU scenario: messages per second */
    unsigned threads;  /* churn: client threads */
    unsigned lib_workers; /* lib roles: 0 = the default engine, else an engine with this many */
    DWORD parent_pid;  /* the driver; children exit when it is gone */
    DWORD timeout_ms;  /* children give up after this */
} bench_params;

/* Win32 calls a baseline makes, counted by the baseline itself in the same
 * categories as pipes_global_stats. */
typedef struct bench_calls {
    volatile LONG64 reads, writes, connects, dequeues;
} bench_calls;

extern bench_calls g_calls;
#define COUNT_CALL(field) InterlockedIncrement64(&g_calls.field)

/* ---- roles (each returns the process exit code) ---- */
int role_lib(const bench_params *p);
int role_sync(const bench_params *p);
int role_iocp(const bench_params *p);
int role_naive(const bench_params *p);
int role_gen(const bench_params *p);
int role_iocp_pair(const bench_params *p);   /* pair.c: one-connection scenarios */
int role_iocps_pair(const bench_params *p);  /* pair.c: the same in skip mode */
int role_iocpw_pair(const bench_params *p);  /* pair.c: skip mode + the library's promises */
int role_iocpz_pair(const bench_params *p);  /* pair.c: skip mode, libuv's zero-byte reads */
int role_iocp_multi(const bench_params *p);  /* iocp_server.c: server scenarios */
int role_iocp2(const bench_params *p);       /* iocp2.c: ping-pong, two threads on the port */
int role_uv(const bench_params *p);          /* uv.c: libuv, if built with it */
const char *bench_libuv_version(void);       /* uv.c: uv_version_string() */

/* Puts p50_us, p99_us, p999_us and mean_us of n latencies (sorts them). */
void put_latencies(double *lat_us, unsigned n);

/* ---- role helpers (role.c) ---- */

/* Writes one "key=value" line to the result (kept in memory until
 * result_flush). */
void result_put(const char *key, double value);
/* Writes the collected lines to p->out. Returns 0 on success. */
int result_flush(const bench_params *p);

/* Snapshot of the Win32 call counters that apply to this process: the
 * library's (pipes_get_global_stats) for lib roles, g_calls otherwise. */
typedef struct bench_counts {
    double reads, writes, connects, peeks, dequeues, completions;
} bench_counts;
void counts_snapshot(bench_impl impl, bench_counts *out);
/* Puts "<prefix>_reads" ... as per-message values: (b - a) / messages. */
void counts_put_per_msg(const char *prefix, const bench_counts *a, const bench_counts *b,
                        double messages);

double qpc_seconds(void);
/* User + kernel CPU time of this process, in seconds. */
double process_cpu_seconds(void);
/* PagefileUsage (private commit; under Wine anonymous resident memory) and
 * WorkingSetSize of this process, in bytes. */
void process_memory(double *pagefile, double *working_set);

/* MEMORY SLOPE: the memory scenario reads the server's memory at two counts
 * of idle connections (`first`, then all) and reports what each connection
 * between the two added: constant costs (the first connections, a table's
 * first growth) cancel out, and the heap's growth steps weigh 1/(all-first)
 * each instead of deciding a single delta. */
typedef struct mem_mark {
    double commit, ws, lib_heap; /* lib_heap: pipes bytes_allocated, 0 for the baselines */
} mem_mark;
void mem_mark_take(mem_mark *m, double lib_heap);
/* Puts mem_commit_per_conn, mem_ws_per_conn (and mem_lib_heap_per_conn if
 * with_heap) as (b - a) / conns, and mem_commit_total. */
void mem_put_per_conn(const mem_mark *a, const mem_mark *b, unsigned conns, int with_heap);
/* Connections open at the first reading of the memory scenario (p->count). */
#define BENCH_MEMORY_FIRST(p) ((p)->count)

HANDLE open_named_event(const wchar_t *name);
/* Sets the named event (opened and closed here). */
void signal_named_event(const wchar_t *name);
/* Waits for a named event up to p->timeout_ms; 0 when signalled. */
int wait_named_event(const bench_params *p, const wchar_t *name);

/* Sleeps until the pacing schedule allows message `sent` (rate per second
 * since start); returns how many messages are due in all by now. */
unsigned pace_due(double start, unsigned rate, unsigned total);

/* Raw client open used by baselines and the generator: CreateFileW with
 * ERROR_PIPE_BUSY retried through WaitNamedPipeW. overlapped selects
 * FILE_FLAG_OVERLAPPED. Returns INVALID_HANDLE_VALUE on failure (after
 * timeout_ms). message_read sets PIPE_READMODE_MESSAGE. */
HANDLE raw_open_client(const wchar_t *pipe, int overlapped, int message_read, DWORD timeout_ms);

/* Fills a payload with a recognisable pattern. */
void fill_payload(uint8_t *buf, unsigned size, unsigned seq);

void bench_fail(const char *fmt, ...);

/* ---- names and parsing (main.c) ---- */
const char *scenario_name(bench_scenario s);
const char *impl_name(bench_impl i);

#endif /* PIPES_BENCH_H */
