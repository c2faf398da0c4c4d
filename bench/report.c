/*
 * report.c - the printed table (medians, spread, ratios to the baselines,
 * Win32 calls per message), the targets of issue 8, and dist/bench.json.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "completion_probe.h"
#include "driver.h"

#define KIB 1024.0

typedef struct col {
    const char *key, *title;
} col;

typedef struct section {
    bench_scenario sc;
    const char *title;
    const char *unit_note;
    col cols[4];
    int ncols;
    int higher_better;   /* for the first column, the one ratios are taken of */
    int pair;            /* calls: server + client; else server only */
    const char *sanity;  /* smoke: this key must be positive (NULL: the first column) */
} section;

static const section k_sections[] = {
    {SC_PINGPONG, "1. ping-pong, 64 B, round trip", "microseconds, lower is better",
     {{"p50_us", "p50"}, {"p99_us", "p99"}, {"p999_us", "p99.9"}, {"mean_us", "mean"}}, 4, 0, 1,
     NULL},
    {SC_THROUGHPUT, "2. one-way throughput", "higher is better",
     {{"msgs_s", "msgs/s"}, {"mib_s", "MiB/s"}}, 2, 1, 1, NULL},
    {SC_FANIN, "3. fan-in, N clients -> one server, 64 B", "total msgs/s, higher is better",
     {{"msgs_s", "msgs/s"}, {"mem_commit_per_conn", "commit/conn"}}, 2, 1, 0, NULL},
    {SC_BROADCAST, "4. broadcast, one server -> 64 clients, 64 B",
     "deliveries/s, higher is better", {{"deliveries_s", "deliv/s"}, {"msgs_s", "bcasts/s"}}, 2, 1,
     0, NULL},
    {SC_CHURN, "5. connection churn: connect, send one, disconnect (4 client threads)",
     "connections/s, higher is better", {{"conns_s", "conns/s"}}, 1, 1, 0, NULL},
    {SC_MEMORY, "6. memory: server with N idle connections, what each adds after the first N/5",
     "bytes per connection, lower is better",
     {{"mem_commit_per_conn", "commit/conn"},
      {"mem_ws_per_conn", "wset/conn"},
      {"mem_lib_heap_per_conn", "lib heap/conn"}},
     3, 0, 0, NULL},
    {SC_CPU, "7. CPU per message at 1,000 msgs/s, 64 B", "CPU microseconds, lower is better",
     {{"server_cpu_us", "server"}, {"cpu_us", "client"}, {"rate", "achieved/s"}}, 3, 0, 1,
     "rate"}, /* CPU times may read 0 in a short run: the clock ticks coarsely */
};

static double med(const bench_case *c, const char *key)
{
    stats_summary s = case_metric(c, key);
    return s.n ? s.median : NAN;
}

static void fmt(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "-");
    else if (fabs(v) >= 1000.0)
        snprintf(out, cap, "%.0f", v);
    else if (fabs(v) >= 10.0)
        snprintf(out, cap, "%.1f", v);
    else
        snprintf(out, cap, "%.2f", v);
}

/* Calls per message of a case: "total (r/w/c/dq)". */
static double calls_of(const bench_case *c, int pair, const char *what)
{
    char key[48];
    double v;
    snprintf(key, sizeof key, "server_%s", what);
    v = med(c, key);
    if (pair) {
        snprintf(key, sizeof key, "client_%s", what);
        v += med(c, key);
    }
    return v;
}

static const char *param_text(bench_scenario sc, unsigned param, char *buf, size_t cap)
{
    if (sc == SC_THROUGHPUT) {
        if (param >= 1048576)
            snprintf(buf, cap, "%u MiB", param >> 20);
        else if (param >= 1024)
            snprintf(buf, cap, "%u KiB", param >> 10);
        else
            snprintf(buf, cap, "%u B", param);
    } else if (sc == SC_FANIN || sc == SC_MEMORY) {
        snprintf(buf, cap, "%u clients", param);
    } else {
        buf[0] = '\0';
    }
    return buf;
}

/* What a server that loses messages lost (LOSSY SERVER, driver.c), if any. */
static void print_lost(const bench_case *c)
{
    stats_summary s = case_metric(c, "lost_msgs");
    if (s.n > 0 && s.max > 0)
        printf("  [lost messages: median %.1f, at most %.0f of %u a pass, %d passes]", s.median,
               s.max, c->spec.count, s.n);
}

static void print_section(const bench_plan *plan, const section *sec)
{
    unsigned params[8];
    int np = 0, i, j, k, first;
    for (i = 0; i < plan->ncases; i++) {
        const bench_case *c = &plan->cases[i];
        int seen = 0;
        if (c->sc != sec->sc)
            continue;
        for (j = 0; j < np; j++)
            seen |= params[j] == c->param;
        if (!seen && np < 8)
            params[np++] = c->param;
    }
    if (np == 0)
        return;
    printf("\n%s (%s)\n", sec->title, sec->unit_note);
    printf("  %-12s %-6s", "", "impl");
    for (k = 0; k < sec->ncols; k++)
        printf(" %12s", sec->cols[k].title);
    printf(" %8s  %s\n", "spread",
           sec->pair ? "calls/msg both ends (r/w/conn/peek/deq)"
                     : "server calls/msg (r/w/conn/peek/deq)");
    for (j = 0; j < np; j++) {
        static const bench_impl order[] = {IM_LIB,   IM_SYNC,  IM_IOCP,  IM_IOCPS, IM_IOCPW,
                                           IM_IOCPZ, IM_IOCP2, IM_NAIVE, IM_UV};
        const int norder = (int)(sizeof order / sizeof order[0]);
        const bench_case *lib = plan_find(plan, sec->sc, params[j], IM_LIB);
        char ptxt[32], num[32];
        param_text(sec->sc, params[j], ptxt, sizeof ptxt);
        for (i = 0; i < norder; i++) {
            const bench_case *c = plan_find(plan, sec->sc, params[j], order[i]);
            stats_summary s0;
            if (!c)
                continue;
            s0 = case_metric(c, sec->cols[0].key);
            printf("  %-12s %-6s", i == 0 ? ptxt : "", impl_name(c->impl));
            for (k = 0; k < sec->ncols; k++) {
                fmt(num, sizeof num, med(c, sec->cols[k].key));
                printf(" %12s", num);
            }
            printf(" %7.0f%%", stats_spread_pct(&s0));
            if (sec->sc != SC_MEMORY && isnan(calls_of(c, sec->pair, "calls"))) {
                printf("  not counted");
            } else if (sec->sc != SC_MEMORY) {
                printf("  %.2f (%.2f/%.2f/%.2f/%.2f/%.2f)", calls_of(c, sec->pair, "calls"),
                       calls_of(c, sec->pair, "reads"), calls_of(c, sec->pair, "writes"),
                       calls_of(c, sec->pair, "connects"), calls_of(c, sec->pair, "peeks"),
                       calls_of(c, sec->pair, "dequeues"));
            }
            if (c->failures)
                printf("  [%d failed run(s)]", c->failures);
            print_lost(c); /* LOSSY SERVER (driver.c): libuv only */
            printf("\n");
        }
        if (!lib)
            continue;
        /* every figure of the lib row against the same figure of each baseline */
        printf("  %-12s lib / baseline (%s):", "",
               sec->higher_better ? "first column higher=better" : "lower=better");
        for (k = 0, first = 1; k < sec->ncols; k++) {
            int any = 0;
            for (i = 1; i < norder; i++) {
                const bench_case *b = plan_find(plan, sec->sc, params[j], order[i]);
                any |= b && !isnan(med(b, sec->cols[k].key));
            }
            if (!any)
                continue; /* a figure only the library reports */
            printf("%s %s", first ? "" : " |", sec->cols[k].title);
            first = 0;
            for (i = 1; i < norder; i++) {
                const bench_case *b = plan_find(plan, sec->sc, params[j], order[i]);
                double lv = med(lib, sec->cols[k].key), bv;
                if (!b)
                    continue;
                bv = med(b, sec->cols[k].key);
                if (bv > 0 && !isnan(lv))
                    printf(" x%.2f %s", lv / bv, impl_name(b->impl));
                else
                    printf(" n/a %s", impl_name(b->impl)); /* e.g. a CPU time that read 0 */
            }
        }
        printf("\n");
    }
}

/* ---- targets ---- */

typedef struct target {
    const char *name;
    double value, limit;
    int met_if_ge;
    int status; /* 1 met, 0 missed, -1 not measured */
    char detail[160];
    /* The same figure for a raw program of PipesLib's design (NAN: none):
     * what the design itself reaches here, so a target it misses too is a
     * measured impossibility on this machine rather than the library's. */
    double ceiling;
    const char *ceiling_impl;
} target;

static target g_targets[16];
static int g_ntargets;

static int meets(double value, double limit, int met_if_ge)
{
    if (isnan(value) || isnan(limit))
        return -1;
    return met_if_ge ? value >= limit : value <= limit;
}

static target *add_target(const char *name, double value, double limit, int met_if_ge,
                          const char *detail)
{
    target *t = &g_targets[g_ntargets++];
    t->name = name;
    t->value = value;
    t->limit = limit;
    t->met_if_ge = met_if_ge;
    t->status = meets(value, limit, met_if_ge);
    snprintf(t->detail, sizeof t->detail, "%s", detail);
    t->ceiling = NAN;
    t->ceiling_impl = NULL;
    return t;
}

/* The median of `key` of impl `who` over that of `base`, for one scenario
 * and parameter. */
static double ratio_of(const bench_plan *plan, bench_scenario sc, unsigned param, bench_impl who,
                       bench_impl base, const char *key)
{
    const bench_case *l = plan_find(plan, sc, param, who), *b = plan_find(plan, sc, param, base);
    double lv, bv;
    if (!l || !b)
        return NAN;
    lv = med(l, key);
    bv = med(b, key);
    return bv > 0 ? lv / bv : NAN;
}

static double ratio(const bench_plan *plan, bench_scenario sc, unsigned param, bench_impl base,
                    const char *key)
{
    return ratio_of(plan, sc, param, IM_LIB, base, key);
}

/* The better (larger) of two ratios lib/base; NAN when neither was measured. */
static double worse_of_bases(double a, double b)
{
    if (isnan(a))
        return b;
    if (isnan(b))
        return a;
    return a < b ? a : b;
}

static void compute_targets(const bench_plan *plan)
{
    static const unsigned sizes[] = {64, 4096, 65536, 1048576};
    static const unsigned fanin[] = {8, 64, 256};
    static const char *const fanin_names[] = {"fan-in 8 >= 1.1x iocp", "fan-in 64 >= 1.1x iocp",
                                              "fan-in 256 >= 1.1x iocp"};
    const bench_case *l64 = plan_find(plan, SC_FANIN, 64, IM_LIB);
    const bench_case *l256 = plan_find(plan, SC_FANIN, 256, IM_LIB);
    double worst = -INFINITY, limit_worst = 0.0, marginal = NAN;
    target *t;
    char detail[160];
    int i, have = 0, runs = 0, failures = 0;

    g_ntargets = 0;
    t = add_target("ping-pong p50 <= 1.1x iocp", ratio(plan, SC_PINGPONG, 64, IM_IOCP, "p50_us"),
                   1.1, 0, "ratio lib/iocp of p50");
    /* Skip mode saves a dequeue a write, yet under Wine it made raw ping-pong slower, and the
     * watcher's ticks cost some more (docs/PERFORMANCE.md, PERF-5): can a program of the
     * library's design that keeps pipes.h's promises meet it here? */
    t->ceiling = ratio_of(plan, SC_PINGPONG, 64, IM_IOCPW, IM_IOCP, "p50_us");
    t->ceiling_impl = "iocpw (raw skip mode + a 5 ms watcher thread + a batch dequeue every 8th)";
    /* "the better of raw sync and raw IOCP": lib over the faster of the two */
    t = add_target("throughput 64 KiB >= 1.0x best of sync, iocp",
                   worse_of_bases(ratio(plan, SC_THROUGHPUT, 65536, IM_SYNC, "mib_s"),
                                  ratio(plan, SC_THROUGHPUT, 65536, IM_IOCP, "mib_s")),
                   1.0, 1, "ratio lib/best baseline of MiB/s");
    /* Can an overlapped design reach the blocking ceiling here at all? */
    t->ceiling = worse_of_bases(
        ratio_of(plan, SC_THROUGHPUT, 65536, IM_IOCPS, IM_SYNC, "mib_s"),
        ratio_of(plan, SC_THROUGHPUT, 65536, IM_IOCPS, IM_IOCP, "mib_s"));
    t->ceiling_impl = "iocps (raw overlapped, skip mode, one operation outstanding)";
    for (i = 0; i < 3; i++)
        add_target(fanin_names[i], ratio(plan, SC_FANIN, fanin[i], IM_IOCP, "msgs_s"), 1.1, 1,
                   "ratio lib/iocp of msgs/s");
    t = add_target("churn >= 1.0x iocp", ratio(plan, SC_CHURN, 4, IM_IOCP, "conns_s"), 1.0, 1,
                   "ratio lib/iocp of conns/s");
    /* raw IOCP reuses instances and asks nobody who connected; the library's
     * design pays for the identity of every client (issue 3) */
    t->ceiling = ratio_of(plan, SC_CHURN, 4, IM_IOCPS, IM_IOCP, "conns_s");
    t->ceiling_impl = "iocps (raw skip mode + the client identity PipesLib asks at connect)";
    {
        const bench_case *m = plan_find(plan, SC_MEMORY, 0, IM_LIB);
        add_target("idle connection <= 1 KiB private", m ? med(m, "mem_commit_per_conn") : NAN,
                   KIB, 0, "PagefileUsage slope from N/5 to N idle connections");
    }
    if (l64 && l256) {
        /* flat memory: what each connection beyond 64 adds, in bytes */
        marginal = (med(l256, "mem_commit_per_conn") * 256 - med(l64, "mem_commit_per_conn") * 64) /
                   192.0;
    }
    add_target("fan-in memory flat: marginal commit/conn <= 16 KiB", marginal, 16 * KIB, 0,
               "bytes each connection from 64 to 256 adds");
    /* calls per message: lib <= iocp, in every one-connection case */
    for (i = -1; i < 4; i++) {
        bench_scenario sc = i < 0 ? SC_PINGPONG : SC_THROUGHPUT;
        unsigned param = i < 0 ? 64 : sizes[i];
        const bench_case *l = plan_find(plan, sc, param, IM_LIB);
        const bench_case *b = plan_find(plan, sc, param, IM_IOCP);
        double d;
        if (!l || !b)
            continue;
        d = calls_of(l, 1, "calls") - calls_of(b, 1, "calls");
        if (isnan(d))
            continue;
        have = 1;
        if (d > worst) {
            worst = d;
            limit_worst = calls_of(b, 1, "calls");
            snprintf(detail, sizeof detail, "worst case %s %u B: lib %.2f vs iocp %.2f",
                     scenario_name(sc), param, calls_of(l, 1, "calls"), limit_worst);
        }
    }
    add_target("calls/msg <= iocp baseline", have ? limit_worst + worst : NAN,
               have ? limit_worst : NAN, 0, have ? detail : "not measured");
    /* Every run checks that each message arrived, exactly once and whole; a run that lost
     * anything fails. */
    for (i = 0; i < plan->ncases; i++) {
        if (plan->cases[i].impl != IM_LIB)
            continue;
        runs += plan->reps;
        failures += plan->cases[i].failures;
    }
    snprintf(detail, sizeof detail, "%d of %d PipesLib runs failed or lost a message", failures,
             runs);
    add_target("nothing lost (PipesLib runs that failed)", runs ? (double)failures : NAN, 0.0, 0,
               detail);
}

#ifndef PIPES_BENCH_LIBUV
const char *bench_libuv_version(void)
{
    return "(not built)"; /* no libuv rows are planned then */
}
#endif

/* The side-by-side with libuv, where this build has it: the
 * library's figure over libuv's, each oriented so that above 1 means
 * PipesLib is ahead (times and bytes are inverted). */
static void print_libuv(const bench_plan *plan)
{
    static const struct {
        const char *name;
        bench_scenario sc;
        unsigned param;
        const char *key;
        int higher_better;
    } rows[] = {
        {"ping-pong 64 B p50", SC_PINGPONG, 64, "p50_us", 0},
        {"throughput 64 KiB", SC_THROUGHPUT, 65536, "mib_s", 1},
        {"fan-in 8 clients", SC_FANIN, 8, "msgs_s", 1},
        {"fan-in 64 clients", SC_FANIN, 64, "msgs_s", 1},
        {"fan-in 256 clients", SC_FANIN, 256, "msgs_s", 1},
        {"churn", SC_CHURN, 4, "conns_s", 1},
        {"memory per idle connection", SC_MEMORY, 0, "mem_commit_per_conn", 0},
    };
    size_t i;
    int any = 0;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const bench_case *l = plan_find(plan, rows[i].sc, rows[i].param, IM_LIB);
        const bench_case *v = plan_find(plan, rows[i].sc, rows[i].param, IM_UV);
        double lv, uv, ahead;
        char a[32], b[32];
        if (!l || !v)
            continue;
        if (!any)
            printf("\nPipesLib against libuv %s (issue 14's side-by-side; medians of this run; "
                   "above 1.00 = PipesLib ahead):\n",
                   bench_libuv_version());
        any = 1;
        lv = med(l, rows[i].key);
        uv = med(v, rows[i].key);
        ahead = rows[i].higher_better ? lv / uv : uv / lv;
        fmt(a, sizeof a, lv);
        fmt(b, sizeof b, uv);
        printf("  %-28s lib %10s  libuv %10s  x%.2f %s", rows[i].name, a, b, ahead,
               isnan(ahead) ? "" : ahead >= 1.0 ? "ahead" : "behind");
        print_lost(v);
        printf("\n");
    }
}

static const char *status_text(int s)
{
    return s == 1 ? "MET" : s == 0 ? "MISSED" : "n/a";
}

/* ---- machine ---- */

static void machine_text(char *out, size_t cap)
{
    SYSTEM_INFO si;
    MEMORYSTATUSEX ms;
    wchar_t cpu[128];
    DWORD sz = sizeof cpu;
    const char *wine = NULL;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    typedef const char *(__cdecl * wine_version_fn)(void);
    FARPROC fp = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
    if (fp)
        wine = ((wine_version_fn)(void (*)(void))fp)();
    GetSystemInfo(&si);
    memset(&ms, 0, sizeof ms);
    ms.dwLength = sizeof ms;
    GlobalMemoryStatusEx(&ms);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                     L"ProcessorNameString", RRF_RT_REG_SZ, NULL, cpu, &sz) != ERROR_SUCCESS)
        wcscpy(cpu, L"unknown CPU");
    snprintf(out, cap, "%s%s, %lu logical processors, %ls, %.1f GiB RAM",
             wine ? "Wine " : "Windows", wine ? wine : "", si.dwNumberOfProcessors, cpu,
             (double)ms.ullTotalPhys / (1024.0 * 1024.0 * 1024.0));
}

int report_print(const bench_plan *plan)
{
    char machine[256];
    size_t s;
    int i, problems = 0;
    machine_text(machine, sizeof machine);
    printf("\nPipesLib benchmark: %s\n", machine);
    {
        int skip = 0, more_data_queues = 0;
        pipes_probe_completion_modes(&skip, &more_data_queues);
        printf("completion path: %s\n",
               !skip ? "no skip mode (every I/O completes through the port)"
               : more_data_queues
                   ? "skip mode; an immediate ERROR_MORE_DATA still queues a packet (Windows)"
                   : "skip mode; an immediate ERROR_MORE_DATA queues no packet (Wine 8)");
    }
    printf("%s run, %d pass(es) interleaved, %.0f s; medians over passes; "
           "spread = (max-min)/median of the first column\n",
           plan->smoke ? "smoke" : "full", plan->reps, plan->seconds);
    printf("baselines: sync = raw synchronous ReadFile/WriteFile; iocp = raw overlapped, one "
           "operation outstanding, GetQueuedCompletionStatus;\n"
           "           naive = blocking thread per connection, next instance after each connect. "
           "Server scenarios share one raw client generator.\n");
    for (s = 0; s < sizeof k_sections / sizeof k_sections[0]; s++)
        print_section(plan, &k_sections[s]);

    compute_targets(plan);
    printf("\nTargets (issue 14; ratios within this run, medians over %d pass(es)):\n",
           plan->reps);
    for (i = 0; i < g_ntargets; i++) {
        char v[32], l[32];
        fmt(v, sizeof v, g_targets[i].value);
        fmt(l, sizeof l, g_targets[i].limit);
        const target *t = &g_targets[i];
        printf("  %-52s %-7s value %s, limit %s  (%s)\n", t->name, status_text(t->status), v, l,
               t->detail);
        if (!isnan(t->ceiling)) {
            fmt(v, sizeof v, t->ceiling);
            printf("  %-52s %-7s value %s for %s: %s\n", "  ceiling of the design",
                   status_text(meets(t->ceiling, t->limit, t->met_if_ge)), v, t->ceiling_impl,
                   meets(t->ceiling, t->limit, t->met_if_ge) == 1
                       ? "the design can meet the target here"
                       : "no program of this design met it here (a measured impossibility)");
        }
    }

    print_libuv(plan);

    /* sanity for --smoke: every case ran and its figures are positive */
    for (i = 0; i < plan->ncases; i++) {
        const bench_case *c = &plan->cases[i];
        const section *sec = NULL;
        double v;
        for (s = 0; s < sizeof k_sections / sizeof k_sections[0]; s++)
            if (k_sections[s].sc == c->sc)
                sec = &k_sections[s];
        if (c->nsamples == 0) {
            printf("  problem: %s/%s/%u produced no result\n", scenario_name(c->sc),
                   impl_name(c->impl), c->param);
            problems++;
            continue;
        }
        v = med(c, sec->sanity ? sec->sanity : sec->cols[0].key);
        if (!(v > 0.0) || !isfinite(v)) {
            printf("  problem: %s/%s/%u %s = %g\n", scenario_name(c->sc), impl_name(c->impl),
                   c->param, sec->sanity ? sec->sanity : sec->cols[0].key, v);
            problems++;
        }
        if (c->sc != SC_MEMORY && c->impl != IM_UV && !(calls_of(c, sec->pair, "calls") > 0.0)) {
            printf("  problem: %s/%s/%u counted no Win32 calls\n", scenario_name(c->sc),
                   impl_name(c->impl), c->param);
            problems++;
        }
    }
    fflush(stdout);
    return problems;
}

/* ---- JSON ---- */

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fprintf(f, "null");
}

int report_json(const bench_plan *plan, const wchar_t *path)
{
    wchar_t dir[MAX_PATH];
    wchar_t *slash;
    char machine[256];
    FILE *f;
    int i, j, k, first, listed;

    wcsncpy(dir, path, MAX_PATH - 1);
    dir[MAX_PATH - 1] = L'\0';
    slash = wcsrchr(dir, L'\\');
    if (!slash)
        slash = wcsrchr(dir, L'/');
    if (slash) {
        *slash = L'\0';
        CreateDirectoryW(dir, NULL); /* fine if it exists */
    }
    f = _wfopen(path, L"w");
    if (!f)
        return 1;
    machine_text(machine, sizeof machine);
    fprintf(f, "{\n  \"machine\": \"%s\",\n  \"mode\": \"%s\",\n  \"passes\": %d,\n",
            machine, plan->smoke ? "smoke" : "full", plan->reps);
    fprintf(f, "  \"seconds\": %.1f,\n  \"cases\": [\n", plan->seconds);
    for (i = 0; i < plan->ncases; i++) {
        const bench_case *c = &plan->cases[i];
        fprintf(f, "    {\"scenario\": \"%s\", \"impl\": \"%s\", \"param\": %u, \"size\": %u, "
                   "\"count\": %u, \"conns\": %u, \"runs\": %d, \"failures\": %d, \"metrics\": {",
                scenario_name(c->sc), impl_name(c->impl), c->param, c->spec.size, c->spec.count,
                c->spec.conns, c->nsamples, c->failures);
        first = 1;
        /* every key of the first successful run */
        for (j = 0; c->nsamples > 0 && j < c->samples[0].n; j++) {
            const char *key = c->samples[0].kv[j].key;
            stats_summary s = case_metric(c, key);
            fprintf(f, "%s\n      \"%s\": {\"median\": ", first ? "" : ",", key);
            json_num(f, s.median);
            fprintf(f, ", \"min\": ");
            json_num(f, s.min);
            fprintf(f, ", \"max\": ");
            json_num(f, s.max);
            fprintf(f, ", \"spread_pct\": ");
            json_num(f, stats_spread_pct(&s));
            fprintf(f, ", \"runs\": [");
            for (k = 0, listed = 0; k < c->nsamples; k++) {
                /* a pass that did not report the key is left out */
                int at = sample_find(&c->samples[k], key);
                if (at >= 0) {
                    fprintf(f, "%s", listed++ ? ", " : "");
                    json_num(f, c->samples[k].kv[at].v);
                }
            }
            fprintf(f, "]}");
            first = 0;
        }
        fprintf(f, "%s}}%s\n", first ? "" : "\n    ", i + 1 < plan->ncases ? "," : "");
    }
    fprintf(f, "  ],\n  \"targets\": [\n");
    for (i = 0; i < g_ntargets; i++) {
        fprintf(f, "    {\"name\": \"%s\", \"status\": \"%s\", \"value\": ", g_targets[i].name,
                status_text(g_targets[i].status));
        json_num(f, g_targets[i].value);
        fprintf(f, ", \"limit\": ");
        json_num(f, g_targets[i].limit);
        fprintf(f, ", \"detail\": \"%s\"", g_targets[i].detail);
        if (g_targets[i].ceiling_impl) {
            fprintf(f, ", \"ceiling\": ");
            json_num(f, g_targets[i].ceiling);
            fprintf(f, ", \"ceiling_impl\": \"%s\"", g_targets[i].ceiling_impl);
        }
        fprintf(f, "}%s\n", i + 1 < g_ntargets ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : 1;
}
