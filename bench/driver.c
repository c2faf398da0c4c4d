/*
 * driver.c - builds the plan of measurements and runs each one as a pair
 * of child processes (server and client), collecting their result files.
 *
 * Cleanup: every child is created suspended and put in a job object with
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE before it runs, so the children die
 * with the driver whatever way it ends; a run that overstays its timeout is
 * terminated. Children also watch the driver's process handle themselves
 * (main.c), in case the job is not honoured.
 */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static HANDLE g_job;
static unsigned g_seq;

/* ---- the plan ---- */

static bench_case *add_case(bench_plan *plan, bench_scenario sc, bench_impl impl, unsigned param)
{
    bench_case *c;
    if (plan->ncases >= MAX_CASES)
        return NULL;
    c = &plan->cases[plan->ncases++];
    memset(c, 0, sizeof *c);
    c->sc = sc;
    c->impl = impl;
    c->param = param;
    c->spec.scenario = sc;
    c->spec.size = 64;
    c->spec.conns = 1;
    return c;
}

static int wanted(const char *only, bench_scenario sc)
{
    const char *name = scenario_name(sc), *hit;
    size_t len = strlen(name);
    if (!only || !*only)
        return 1;
    for (hit = strstr(only, name); hit; hit = strstr(hit + 1, name)) {
        if ((hit == only || hit[-1] == ',') && (hit[len] == '\0' || hit[len] == ','))
            return 1;
    }
    return 0;
}

/* libuv's rows, in a build that has it (bench/uv.c) */
#ifdef PIPES_BENCH_LIBUV
#define IM_UV_IF_BUILT IM_UV
#else
#define IM_UV_IF_BUILT IM_COUNT
#endif

void plan_build(bench_plan *plan, int smoke, int reps, const char *only)
{
    static const unsigned sizes[] = {64, 4096, 65536, 1048576};
    static const unsigned fanin[] = {1, 8, 64, 256};
    /* Each list ends at IM_COUNT. iocp2 only in ping-pong: what a second thread waiting on a
     * port costs (iocp2.c); iocps in ping-pong, throughput and churn: PipesLib's design without
     * the library (bench.h, iocp_server.c), the ceiling of those targets; iocpw only in
     * ping-pong: that design with the costs of pipes.h's promises (pair.c). */
    static const bench_impl pingpong_impls[] = {IM_LIB,   IM_SYNC,  IM_IOCP,  IM_IOCPS,      IM_IOCPW,
                                                IM_IOCPZ, IM_IOCP2, IM_UV_IF_BUILT, IM_COUNT};
    static const bench_impl throughput_impls[] = {IM_LIB,         IM_SYNC, IM_IOCP, IM_IOCPS,
                                                  IM_UV_IF_BUILT, IM_COUNT};
    static const bench_impl server_impls[] = {IM_LIB, IM_NAIVE, IM_IOCP, IM_UV_IF_BUILT, IM_COUNT};
    static const bench_impl churn_impls[] = {IM_LIB,         IM_NAIVE, IM_IOCP, IM_IOCPS,
                                             IM_UV_IF_BUILT, IM_COUNT};
    static const bench_impl cpu_impls[] = {IM_LIB, IM_SYNC, IM_IOCP, IM_COUNT};
    static const bench_impl broadcast_impls[] = {IM_LIB, IM_NAIVE, IM_IOCP, IM_COUNT};
    unsigned i, k;
    bench_case *c;
    /* smoke: a few seconds in all, just enough to see every path work */
    unsigned div = smoke ? 20 : 1;

    memset(plan, 0, sizeof *plan);
    plan->smoke = smoke;
    plan->reps = reps;
    for (k = 0; pingpong_impls[k] != IM_COUNT && wanted(only, SC_PINGPONG); k++) {
        if ((c = add_case(plan, SC_PINGPONG, pingpong_impls[k], 64)) != NULL) {
            c->spec.count = 2000 / div;
            c->spec.warmup = 200 / div;
        }
    }
    for (i = 0; i < 4; i++) {
        if (smoke && (sizes[i] == 4096 || sizes[i] == 65536))
            continue; /* smoke: the smallest and the reassembled largest */
        for (k = 0; throughput_impls[k] != IM_COUNT && wanted(only, SC_THROUGHPUT); k++) {
            /* 5,000 small messages or 256 MiB, whichever is less: about half a second
             * here each (64 MiB, a fifth of a second at 64 KiB, left the two processes'
             * placement on the two cores to decide a pass: spreads of 60 % and more) */
            unsigned count = (unsigned)((256u << 20) / sizes[i]);
            if (count > 5000)
                count = 5000;
            if ((c = add_case(plan, SC_THROUGHPUT, throughput_impls[k], sizes[i])) != NULL) {
                c->spec.size = sizes[i];
                c->spec.count = count / div < 10 ? 10 : count / div;
            }
        }
    }
    for (i = 0; i < 4; i++) {
        if (smoke && fanin[i] != 8)
            continue;
        for (k = 0; server_impls[k] != IM_COUNT && wanted(only, SC_FANIN); k++) {
            if ((c = add_case(plan, SC_FANIN, server_impls[k], fanin[i])) != NULL) {
                unsigned per = 6000 / div / fanin[i];
                c->spec.conns = fanin[i];
                c->spec.count = per < 10 ? 10 : per;
            }
        }
    }
    for (k = 0; broadcast_impls[k] != IM_COUNT && wanted(only, SC_BROADCAST); k++) {
        if ((c = add_case(plan, SC_BROADCAST, broadcast_impls[k], 64)) != NULL) {
            c->spec.conns = 64;
            c->spec.count = smoke ? 10 : 150;
        }
    }
    for (k = 0; churn_impls[k] != IM_COUNT && wanted(only, SC_CHURN); k++) {
        if ((c = add_case(plan, SC_CHURN, churn_impls[k], 4)) != NULL) {
            c->spec.count = smoke ? 60 : 600;
            c->spec.threads = 4;
        }
    }
    for (k = 0; server_impls[k] != IM_COUNT && wanted(only, SC_MEMORY); k++) {
        if ((c = add_case(plan, SC_MEMORY, server_impls[k], smoke ? 100 : 1250)) != NULL) {
            /* MEMORY SLOPE (bench.h): readings at a fifth and at all of them */
            c->spec.conns = c->param;
            c->spec.count = c->param / 5;
        }
    }
    for (k = 0; cpu_impls[k] != IM_COUNT && wanted(only, SC_CPU); k++) {
        /* a rate every implementation sustains even on a loaded 2-CPU machine */
        if ((c = add_case(plan, SC_CPU, cpu_impls[k], 1000)) != NULL) {
            c->spec.rate = 1000;
            c->spec.count = smoke ? 100 : 1500;
        }
    }
}

const bench_case *plan_find(const bench_plan *plan, bench_scenario sc, unsigned param,
                            bench_impl impl)
{
    int i;
    for (i = 0; i < plan->ncases; i++) {
        const bench_case *c = &plan->cases[i];
        if (c->sc == sc && c->impl == impl && (param == 0 || c->param == param))
            return c;
    }
    return NULL;
}

int sample_find(const sample *s, const char *key)
{
    int i;
    for (i = 0; i < s->n; i++)
        if (!strcmp(s->kv[i].key, key))
            return i;
    return -1;
}

stats_summary case_metric(const bench_case *c, const char *key)
{
    double v[MAX_REPS];
    int i, n = 0;
    for (i = 0; c && i < c->nsamples; i++) {
        int at = sample_find(&c->samples[i], key);
        if (at >= 0)
            v[n++] = c->samples[i].kv[at].v;
    }
    return stats_summarize(v, n);
}

/* ---- child processes ---- */

static int job_init(void)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    g_job = CreateJobObjectW(NULL, NULL);
    if (!g_job)
        return 1;
    memset(&info, 0, sizeof info);
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    return SetInformationJobObject(g_job, JobObjectExtendedLimitInformation, &info, sizeof info)
               ? 0
               : 1;
}

/* Starts a child, suspended until it is in the job. A start that fails is
 * tried again a few times: under Wine CreateProcessW once failed with
 * ERROR_INTERNAL_ERROR (1359) in a full run (docs/PERFORMANCE.md, run N) and
 * the case lost that pass. Nothing had run yet, so a second start measures
 * the same thing; each failed start is printed. */
#define SPAWN_ATTEMPTS 3
static unsigned g_fail_starts; /* --fail-starts: starts still to fail (plan_fail_starts) */

void plan_fail_starts(unsigned n)
{
    g_fail_starts = n;
}

unsigned plan_starts_left(void)
{
    return g_fail_starts;
}

static HANDLE spawn(const wchar_t *exe, const wchar_t *args)
{
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    wchar_t cmd[2048];
    int attempt;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    for (attempt = 1;; attempt++) {
        DWORD e;
        /* CreateProcessW may write to its command line: a fresh copy each time */
        swprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %ls", exe, args);
        if (g_fail_starts > 0) {
            g_fail_starts--;
            SetLastError(ERROR_INTERNAL_ERROR);
        } else if (CreateProcessW(exe, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si,
                                  &pi)) {
            break;
        }
        e = GetLastError();
        fprintf(stderr, "pipes-bench: CreateProcessW failed (%lu), attempt %d of %d\n", e,
                attempt, SPAWN_ATTEMPTS);
        if (attempt == SPAWN_ATTEMPTS) {
            SetLastError(e);
            return NULL;
        }
        Sleep(200);
    }
    if (g_job && !AssignProcessToJobObject(g_job, pi.hProcess)) {
        /* Without the job the child still exits when the driver does
         * (it watches the driver's handle). */
    }
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static void parse_results(const wchar_t *path, sample *s)
{
    FILE *f = _wfopen(path, L"r");
    char line[128];
    if (!f)
        return;
    while (fgets(line, sizeof line, f) && s->n < MAX_KEYS) {
        char *eq = strchr(line, '=');
        if (!eq || (size_t)(eq - line) >= sizeof s->kv[0].key)
            continue;
        *eq = '\0';
        strcpy(s->kv[s->n].key, line);
        s->kv[s->n].v = strtod(eq + 1, NULL);
        s->n++;
    }
    fclose(f);
}

/* Kills a child that is still running and reaps it. */
static void reap(HANDLE proc, DWORD *code)
{
    if (WaitForSingleObject(proc, 0) != WAIT_OBJECT_0) {
        TerminateProcess(proc, 9);
        WaitForSingleObject(proc, 5000);
    }
    if (!GetExitCodeProcess(proc, code))
        *code = 9;
    CloseHandle(proc);
}

static void widen(const char *s, wchar_t *out, size_t cap)
{
    size_t i;
    for (i = 0; i + 1 < cap && s[i]; i++)
        out[i] = (wchar_t)(unsigned char)s[i];
    out[i] = L'\0';
}

/* LOSSY SERVER: in churn, a server that loses messages (libuv: a client that
 * connects, writes and closes at once) never receives them all. It reports
 * lost_msgs and when its last byte came (last_byte_s), once the generator
 * has said everything was sent (ev_go) and nothing more arrives; its rate is
 * then the connections over the time from the generator's start (gen_t0_s;
 * both read QueryPerformanceCounter, one clock for the machine) to that last
 * byte, so the quiet time it waited does not count against it. */
static void rate_of_lossy_server(sample *s, const bench_params *sp)
{
    int lost = sample_find(s, "lost_msgs"), last = sample_find(s, "last_byte_s");
    int t0 = sample_find(s, "gen_t0_s"), rate = sample_find(s, "conns_s");
    double span;
    if (sp->scenario != SC_CHURN || lost < 0 || last < 0 || t0 < 0 || rate < 0 ||
        s->kv[lost].v <= 0)
        return;
    span = s->kv[last].v - s->kv[t0].v;
    if (span > 0)
        s->kv[rate].v = sp->count / span;
}

/* One run of one case: 0 on success, with the results in *out. */
static int run_once(const bench_case *c, const wchar_t *exe, DWORD timeout_ms, sample *out)
{
    wchar_t tmp[MAX_PATH], base[160], pipe[BENCH_NAME_MAX], ready[BENCH_NAME_MAX],
        go[BENCH_NAME_MAX], done[BENCH_NAME_MAX], sout[MAX_PATH], cout[MAX_PATH],
        common[1536], args[2048];
    HANDLE ev_ready, ev_go, ev_done, server = NULL, client = NULL, waits[2];
    DWORD scode = 9, ccode = 9, r;
    const bench_params *sp = &c->spec;
    int ok = 0;
    bench_impl client_impl =
        (c->sc == SC_FANIN || c->sc == SC_BROADCAST || c->sc == SC_CHURN || c->sc == SC_MEMORY)
            ? IM_GEN
            : c->impl;

    wchar_t wsc[32], wsi[32], wci[32];
    widen(scenario_name(c->sc), wsc, 32);
    widen(impl_name(c->impl), wsi, 32);
    widen(impl_name(client_impl), wci, 32);
    double t_start = qpc_seconds();
    g_seq++;
    swprintf(base, 160, L"pipes-bench-%lu-%u", GetCurrentProcessId(), g_seq);
    swprintf(pipe, BENCH_NAME_MAX, L"\\\\.\\pipe\\%ls", base);
    swprintf(ready, BENCH_NAME_MAX, L"Local\\%ls-ready", base);
    swprintf(go, BENCH_NAME_MAX, L"Local\\%ls-go", base);
    swprintf(done, BENCH_NAME_MAX, L"Local\\%ls-done", base);
    if (!GetTempPathW(MAX_PATH, tmp))
        wcscpy(tmp, L".\\");
    swprintf(sout, MAX_PATH, L"%ls%ls-server.txt", tmp, base);
    swprintf(cout, MAX_PATH, L"%ls%ls-client.txt", tmp, base);
    ev_ready = CreateEventW(NULL, TRUE, FALSE, ready);
    ev_go = CreateEventW(NULL, TRUE, FALSE, go);
    ev_done = CreateEventW(NULL, TRUE, FALSE, done);
    if (!ev_ready || !ev_go || !ev_done) {
        fprintf(stderr, "pipes-bench: cannot create events (%lu)\n", GetLastError());
        goto out;
    }
    swprintf(common, 1536,
             L"--scenario %ls --pipe %ls --ev-ready %ls --ev-go %ls --ev-done %ls --size %u "
             L"--count %u --conns %u --warmup %u --rate %u --threads %u --parent %lu "
             L"--timeout %lu --lib-workers %u",
             wsc, pipe, ready, go, done, sp->size, sp->count, sp->conns,
             sp->warmup, sp->rate, sp->threads, GetCurrentProcessId(), timeout_ms, sp->lib_workers);

    swprintf(args, 2048, L"--role server --impl %ls --out \"%ls\" %ls", wsi, sout, common);
    server = spawn(exe, args);
    if (!server) {
        fprintf(stderr, "pipes-bench: CreateProcessW failed (%lu)\n", GetLastError());
        goto out;
    }
    waits[0] = ev_ready;
    waits[1] = server;
    r = WaitForMultipleObjects(2, waits, FALSE, timeout_ms);
    if (r != WAIT_OBJECT_0) {
        fprintf(stderr, "pipes-bench: %s/%s server did not start listening\n",
                scenario_name(c->sc), impl_name(c->impl));
        goto out;
    }
    swprintf(args, 2048, L"--role client --impl %ls --out \"%ls\" %ls", wci, cout, common);
    client = spawn(exe, args);
    if (!client) {
        fprintf(stderr, "pipes-bench: CreateProcessW failed (%lu)\n", GetLastError());
        goto out;
    }
    waits[0] = client;
    waits[1] = server;
    /* Either may fail first; a failed one means the other will wait in vain. */
    r = WaitForMultipleObjects(2, waits, FALSE, timeout_ms);
    if (r == WAIT_OBJECT_0 || r == WAIT_OBJECT_0 + 1) {
        HANDLE other = r == WAIT_OBJECT_0 ? server : client;
        DWORD code = 9;
        GetExitCodeProcess(waits[r - WAIT_OBJECT_0], &code);
        if (code == 0)
            WaitForSingleObject(other, timeout_ms);
    }
    reap(client, &ccode);
    client = NULL;
    reap(server, &scode);
    server = NULL;
    if (scode != 0 || ccode != 0) {
        fprintf(stderr, "pipes-bench: %s/%s/%u run failed (server exit %lu, client exit %lu)\n",
                scenario_name(c->sc), impl_name(c->impl), c->param, scode, ccode);
        goto out;
    }
    memset(out, 0, sizeof *out);
    parse_results(sout, out);
    parse_results(cout, out);
    rate_of_lossy_server(out, sp);
    if (out->n < MAX_KEYS) {
        /* wall time of the whole run, process starts included: for tuning counts */
        strcpy(out->kv[out->n].key, "wall_s");
        out->kv[out->n++].v = qpc_seconds() - t_start;
    }
    ok = out->n > 0;
out:
    if (client)
        reap(client, &ccode);
    if (server)
        reap(server, &scode);
    DeleteFileW(sout);
    DeleteFileW(cout);
    if (ev_ready)
        CloseHandle(ev_ready);
    if (ev_go)
        CloseHandle(ev_go);
    if (ev_done)
        CloseHandle(ev_done);
    return ok ? 0 : 1;
}

/* The number of cases from i on that measure the same scenario and
 * parameter (the implementations of one comparison, added together). */
static int group_size(const bench_plan *plan, int i)
{
    int n = 1;
    while (i + n < plan->ncases && plan->cases[i + n].sc == plan->cases[i].sc &&
           plan->cases[i + n].param == plan->cases[i].param)
        n++;
    return n;
}

int plan_run(bench_plan *plan, const wchar_t *exe, DWORD timeout_ms)
{
    int rep, i, k, n, failed = 0;
    double t0 = qpc_seconds();
    if (job_init())
        fprintf(stderr, "pipes-bench: no job object (%lu); children rely on their watchdog\n",
                GetLastError());
    for (rep = 0; rep < plan->reps; rep++) {
        fprintf(stderr, "pipes-bench: pass %d of %d (%d measurements)\n", rep + 1, plan->reps,
                plan->ncases);
        /* Interleaved: each pass runs every case once, so drift hits all alike.
         * Within one comparison the implementations take turns at going
         * first (pass 1: lib, naive, iocp; pass 2: naive, iocp, lib; ...), so
         * none always runs right after a scenario change or a heavier case. */
        for (i = 0; i < plan->ncases; i += n) {
            n = group_size(plan, i);
            for (k = 0; k < n; k++) {
                bench_case *c = &plan->cases[i + (k + rep) % n];
                /* memory is deterministic enough: two passes are plenty */
                if (c->sc == SC_MEMORY && rep >= 2)
                    continue;
                if (run_once(c, exe, timeout_ms, &c->samples[c->nsamples]) == 0)
                    c->nsamples++;
                else {
                    c->failures++;
                    failed++;
                }
            }
        }
    }
    plan->seconds = qpc_seconds() - t0;
    return failed;
}
