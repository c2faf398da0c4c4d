/*
 * iocp_server.c - baseline (b) for the server scenarios: raw overlapped
 * instances on one completion port, each with one operation outstanding
 * (connect, then read or write), drained one packet at a time with
 * GetQueuedCompletionStatus by a single thread. Instances are created up
 * front (as many as clients, at least 4) and reused after a disconnect.
 *
 * As "iocps" (churn only) it does what PipesLib does for each connection,
 * without the library: handles in skip mode (FILE_SKIP_COMPLETION_PORT_ON_
 * SUCCESS: an operation that completes in the call is finished at once, no
 * packet) and the client's identity asked at connect (process id and
 * session, as PipesLib's CONNECTED event carries them). The ceiling of the
 * churn target: what a server of the library's design can reach here.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "rawio.h"

enum { ST_CONNECTING, ST_READING, ST_WRITING, ST_IDLE };

typedef struct inst {
    OVERLAPPED ov;
    HANDLE h;
    int state;
    unsigned sent;
    uint8_t *buf;
} inst;

typedef struct iocp_state {
    const bench_params *p;
    HANDLE port;
    inst *insts;
    unsigned ninst, conns, writers_done;
    uint64_t messages, expected;
    DWORD cap;
    int lib_design; /* iocps: skip mode and the client's identity at connect */
} iocp_state;

static void issue_connect(iocp_state *s, inst *in);

static void issue_read(iocp_state *s, inst *in)
{
    for (;;) {
        BOOL ok;
        memset(&in->ov, 0, sizeof in->ov);
        in->state = ST_READING;
        COUNT_CALL(reads);
        ok = ReadFile(in->h, in->buf, s->cap, NULL, &in->ov);
        if (ok && s->lib_design) {
            s->messages++; /* skip mode: no packet, read on */
            continue;
        }
        if (!ok && GetLastError() != ERROR_IO_PENDING && GetLastError() != ERROR_MORE_DATA) {
            DisconnectNamedPipe(in->h);
            issue_connect(s, in);
        }
        return;
    }
}

/* What PipesLib learns of every client at connect (security.c). */
static void ask_identity(inst *in)
{
    ULONG pid = 0, session = 0;
    if (GetNamedPipeClientProcessId(in->h, &pid) && !GetNamedPipeClientSessionId(in->h, &session))
        ProcessIdToSessionId(pid, &session);
}

static void issue_write(iocp_state *s, inst *in)
{
    memset(&in->ov, 0, sizeof in->ov);
    in->state = ST_WRITING;
    COUNT_CALL(writes);
    if (!WriteFile(in->h, in->buf, s->p->size, NULL, &in->ov) &&
        GetLastError() != ERROR_IO_PENDING)
        bench_fail("iocp: WriteFile failed (%lu)", GetLastError());
}

static void on_connected(iocp_state *s, inst *in)
{
    s->conns++;
    if (s->lib_design)
        ask_identity(in);
    if (s->p->scenario == SC_BROADCAST || s->p->scenario == SC_MEMORY) {
        in->state = ST_IDLE; /* receivers never send: nothing to read */
        if (s->p->scenario == SC_MEMORY)
            issue_read(s, in); /* an idle connection still waits for input */
        return;
    }
    issue_read(s, in);
}

static void issue_connect(iocp_state *s, inst *in)
{
    memset(&in->ov, 0, sizeof in->ov);
    in->state = ST_CONNECTING;
    COUNT_CALL(connects);
    if (ConnectNamedPipe(in->h, &in->ov)) {
        if (s->lib_design)
            on_connected(s, in); /* skip mode: no packet */
        return;                  /* else a packet is queued */
    }
    switch (GetLastError()) {
    case ERROR_IO_PENDING:
        return;
    case ERROR_PIPE_CONNECTED:
    case ERROR_NO_DATA: /* connected, wrote and already closed: read what it sent */
        on_connected(s, in); /* no packet for these cases */
        return;
    default:
        bench_fail("iocp: ConnectNamedPipe failed (%lu)", GetLastError());
    }
}

/* One dequeued packet. */
static void handle(iocp_state *s, inst *in, BOOL ok)
{
    switch (in->state) {
    case ST_CONNECTING:
        if (ok || GetLastError() == ERROR_PIPE_CONNECTED || GetLastError() == ERROR_NO_DATA) {
            on_connected(s, in);
        } else {
            DisconnectNamedPipe(in->h);
            issue_connect(s, in);
        }
        break;
    case ST_READING:
        if (!ok) {
            /* The client left: make the instance listen again (churn). */
            DisconnectNamedPipe(in->h);
            issue_connect(s, in);
            break;
        }
        s->messages++;
        issue_read(s, in);
        break;
    case ST_WRITING:
        if (!ok)
            bench_fail("iocp: write failed (%lu)", GetLastError());
        if (++in->sent < s->p->count)
            issue_write(s, in);
        else
            s->writers_done++;
        break;
    default:
        break;
    }
}

static void pump_one(iocp_state *s)
{
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    BOOL ok;
    COUNT_CALL(dequeues);
    ok = GetQueuedCompletionStatus(s->port, &bytes, &key, &ov, s->p->timeout_ms);
    if (!ov)
        bench_fail("iocp server: timed out (%u connections, %llu messages)", s->conns,
                   (unsigned long long)s->messages);
    handle(s, CONTAINING_RECORD(ov, inst, ov), ok);
}

/* Creates instances [from, to), each with its buffer, listening. */
static void add_instances(iocp_state *s, unsigned from, unsigned to)
{
    const bench_params *p = s->p;
    unsigned i;
    for (i = from; i < to; i++) {
        inst *in = &s->insts[i];
        in->buf = (uint8_t *)malloc(p->scenario == SC_BROADCAST ? p->size : s->cap);
        if (!in->buf)
            bench_fail("out of memory");
        if (p->scenario == SC_BROADCAST)
            fill_payload(in->buf, p->size, 3);
        in->h = raw_create_instance(p->pipe, 1, i == 0);
        if (in->h == INVALID_HANDLE_VALUE)
            bench_fail("iocp: CreateNamedPipeW failed (%lu)", GetLastError());
        if (!CreateIoCompletionPort(in->h, s->port, 0, 0))
            bench_fail("iocp: CreateIoCompletionPort failed (%lu)", GetLastError());
        if (s->lib_design &&
            !SetFileCompletionNotificationModes(in->h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
            bench_fail("iocps: SetFileCompletionNotificationModes failed (%lu)", GetLastError());
        issue_connect(s, in);
    }
}

/* MEMORY SLOPE (bench.h): instances for the first clients, a reading, then
 * the instances for the rest and a reading, so that what each connection
 * costs (its instance and buffer included) is between the two. */
static void measure_memory(iocp_state *s)
{
    const bench_params *p = s->p;
    mem_mark a, b;
    add_instances(s, 0, BENCH_MEMORY_FIRST(p));
    signal_named_event(p->ev_ready);
    while (s->conns < BENCH_MEMORY_FIRST(p))
        pump_one(s);
    Sleep(200);
    mem_mark_take(&a, 0);
    add_instances(s, BENCH_MEMORY_FIRST(p), p->conns);
    signal_named_event(p->ev_go);
    while (s->conns < p->conns)
        pump_one(s);
    Sleep(200);
    mem_mark_take(&b, 0);
    mem_put_per_conn(&a, &b, p->conns - BENCH_MEMORY_FIRST(p), 0);
    signal_named_event(p->ev_done);
}

int role_iocp_multi(const bench_params *p)
{
    iocp_state s;
    bench_counts a, b;
    mem_mark m0, m1;
    double t0 = 0.0;
    unsigned i;

    memset(&s, 0, sizeof s);
    s.p = p;
    s.lib_design = p->impl == IM_IOCPS;
    s.cap = BENCH_SERVER_READ;
    s.ninst = p->conns < 4 ? 4 : p->conns;
    s.expected = p->scenario == SC_FANIN ? (uint64_t)p->count * p->conns
               : p->scenario == SC_CHURN ? p->count : 0;
    mem_mark_take(&m0, 0);
    s.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    s.insts = (inst *)calloc(s.ninst, sizeof *s.insts);
    if (!s.port || !s.insts)
        bench_fail("iocp: out of resources");
    if (p->scenario == SC_MEMORY) {
        measure_memory(&s);
        return result_flush(p);
    }
    add_instances(&s, 0, s.ninst);
    signal_named_event(p->ev_ready);
    counts_snapshot(IM_IOCP, &a);

    if (p->scenario != SC_CHURN) {
        while (s.conns < p->conns)
            pump_one(&s);
        if (p->scenario == SC_FANIN) {
            mem_mark_take(&m1, 0);
            mem_put_per_conn(&m0, &m1, p->conns, 0);
        }
        counts_snapshot(IM_IOCP, &a);
    }
    switch (p->scenario) {
    case SC_FANIN:
        signal_named_event(p->ev_go);
        /* fall through */
    case SC_CHURN:
        while (s.messages < s.expected)
            pump_one(&s);
        counts_snapshot(IM_IOCP, &b);
        signal_named_event(p->ev_done);
        counts_put_per_msg("server", &a, &b, (double)s.expected);
        break;
    case SC_BROADCAST:
        t0 = qpc_seconds();
        for (i = 0; i < p->conns; i++)
            issue_write(&s, &s.insts[i]);
        while (s.writers_done < p->conns)
            pump_one(&s);
        if (wait_named_event(p, p->ev_done))
            bench_fail("iocp server: receivers did not finish");
        {
            double secs = qpc_seconds() - t0;
            counts_snapshot(IM_IOCP, &b);
            result_put("msgs_s", p->count / secs);
            result_put("deliveries_s", (double)p->count * p->conns / secs);
            counts_put_per_msg("server", &a, &b, (double)p->count * p->conns);
        }
        break;
    default:
        bench_fail("iocp: scenario %s is not a server scenario", scenario_name(p->scenario));
    }
    return result_flush(p);
}
