/*
 * role.c - helpers every child role uses: the result file, call counters,
 * clocks, CPU and memory readings, named events, pacing, raw client open.
 */
#include "bench.h"

#include <psapi.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pipes.h"

bench_calls g_calls;

/* ---- result lines ---- */

#define RESULT_MAX 16384
static char g_result[RESULT_MAX];
static size_t g_result_len;

void result_put(const char *key, double value)
{
    int n = snprintf(g_result + g_result_len, RESULT_MAX - g_result_len, "%s=%.9g\n", key, value);
    if (n > 0 && (size_t)n < RESULT_MAX - g_result_len)
        g_result_len += (size_t)n;
}

int result_flush(const bench_params *p)
{
    HANDLE f = CreateFileW(p->out, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                           NULL);
    DWORD written = 0;
    BOOL ok;
    if (f == INVALID_HANDLE_VALUE)
        return 1;
    ok = WriteFile(f, g_result, (DWORD)g_result_len, &written, NULL);
    CloseHandle(f);
    return ok && written == g_result_len ? 0 : 1;
}

/* ---- counters ---- */

void counts_snapshot(bench_impl impl, bench_counts *out)
{
    if (impl == IM_LIB) {
        pipes_global_stats g;
        memset(&g, 0, sizeof g);
        g.struct_size = sizeof g;
        pipes_get_global_stats(&g);
        out->reads = (double)g.calls_read_file;
        out->writes = (double)g.calls_write_file;
        out->connects = (double)g.calls_connect_named_pipe;
        out->peeks = (double)g.calls_peek_named_pipe;
        out->dequeues = (double)g.calls_dequeue;
        out->completions = (double)g.completions_dequeued;
    } else {
        out->reads = (double)g_calls.reads;
        out->writes = (double)g_calls.writes;
        out->connects = (double)g_calls.connects;
        out->peeks = 0.0; /* the baselines know their message sizes */
        out->dequeues = (double)g_calls.dequeues;
        out->completions = out->dequeues;
    }
}

void counts_put_per_msg(const char *prefix, const bench_counts *a, const bench_counts *b,
                        double messages)
{
    char key[64];
    double r, w, c, pk, d;
    if (messages <= 0)
        return;
    r = (b->reads - a->reads) / messages;
    w = (b->writes - a->writes) / messages;
    c = (b->connects - a->connects) / messages;
    pk = (b->peeks - a->peeks) / messages;
    d = (b->dequeues - a->dequeues) / messages;
    snprintf(key, sizeof key, "%s_reads", prefix);
    result_put(key, r);
    snprintf(key, sizeof key, "%s_writes", prefix);
    result_put(key, w);
    snprintf(key, sizeof key, "%s_connects", prefix);
    result_put(key, c);
    snprintf(key, sizeof key, "%s_peeks", prefix);
    result_put(key, pk);
    snprintf(key, sizeof key, "%s_dequeues", prefix);
    result_put(key, d);
    snprintf(key, sizeof key, "%s_calls", prefix);
    result_put(key, r + w + c + pk + d);
}

/* ---- clocks, CPU, memory ---- */

double qpc_seconds(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart / (double)freq.QuadPart;
}

static double filetime_seconds(const FILETIME *ft)
{
    ULARGE_INTEGER u;
    u.LowPart = ft->dwLowDateTime;
    u.HighPart = ft->dwHighDateTime;
    return (double)u.QuadPart * 1e-7;
}

double process_cpu_seconds(void)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return 0.0;
    return filetime_seconds(&kernel) + filetime_seconds(&user);
}

void process_memory(double *pagefile, double *working_set)
{
    PROCESS_MEMORY_COUNTERS pmc;
    memset(&pmc, 0, sizeof pmc);
    pmc.cb = sizeof pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) {
        *pagefile = *working_set = 0.0;
        return;
    }
    *pagefile = (double)pmc.PagefileUsage;
    *working_set = (double)pmc.WorkingSetSize;
}

void mem_mark_take(mem_mark *m, double lib_heap)
{
    process_memory(&m->commit, &m->ws);
    m->lib_heap = lib_heap;
}

void mem_put_per_conn(const mem_mark *a, const mem_mark *b, unsigned conns, int with_heap)
{
    result_put("mem_commit_per_conn", (b->commit - a->commit) / conns);
    result_put("mem_ws_per_conn", (b->ws - a->ws) / conns);
    if (with_heap)
        result_put("mem_lib_heap_per_conn", (b->lib_heap - a->lib_heap) / conns);
    result_put("mem_commit_total", b->commit);
}

/* ---- named events ---- */

HANDLE open_named_event(const wchar_t *name)
{
    return OpenEventW(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, name);
}

void signal_named_event(const wchar_t *name)
{
    HANDLE e = open_named_event(name);
    if (!e)
        bench_fail("cannot open event (error %lu)", GetLastError());
    SetEvent(e);
    CloseHandle(e);
}

int wait_named_event(const bench_params *p, const wchar_t *name)
{
    HANDLE e = open_named_event(name);
    DWORD r;
    if (!e)
        return 1;
    r = WaitForSingleObject(e, p->timeout_ms);
    CloseHandle(e);
    return r == WAIT_OBJECT_0 ? 0 : 1;
}

/* ---- pacing ---- */

unsigned pace_due(double start, unsigned rate, unsigned total)
{
    for (;;) {
        double due = (qpc_seconds() - start) * (double)rate;
        unsigned n = due >= (double)total ? total : (unsigned)due;
        if (n > 0)
            return n;
        Sleep(1);
    }
}

/* ---- raw client open ---- */

HANDLE raw_open_client(const wchar_t *pipe, int overlapped, int message_read, DWORD timeout_ms)
{
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    DWORD flags = overlapped ? FILE_FLAG_OVERLAPPED : 0;
    for (;;) {
        HANDLE h = CreateFileW(pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                               flags | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
        DWORD e;
        if (h != INVALID_HANDLE_VALUE) {
            if (message_read) {
                DWORD mode = PIPE_READMODE_MESSAGE;
                if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
                    CloseHandle(h);
                    return INVALID_HANDLE_VALUE;
                }
            }
            return h;
        }
        e = GetLastError();
        if (GetTickCount64() >= deadline)
            return INVALID_HANDLE_VALUE;
        if (e == ERROR_PIPE_BUSY)
            WaitNamedPipeW(pipe, 50);
        else if (e == ERROR_FILE_NOT_FOUND)
            Sleep(1); /* between instances of a naive server */
        else
            return INVALID_HANDLE_VALUE;
    }
}

void fill_payload(uint8_t *buf, unsigned size, unsigned seq)
{
    unsigned i;
    for (i = 0; i < size; i++)
        buf[i] = (uint8_t)(seq + i);
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pipes-bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    ExitProcess(2);
}
