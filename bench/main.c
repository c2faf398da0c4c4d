/*
 * main.c - pipes-bench entry point: the driver (no --role), or one child
 * role (--role server|client) launched by the driver.
 *
 *   pipes-bench [--smoke] [--reps N] [--only LIST] [--json PATH] [--timeout SECONDS]
 *
 * --smoke   a few seconds: every scenario once with small counts; exits 1 if
 *           any run fails or yields a zero or non-finite figure.
 * --reps N  passes over all measurements (default 5; medians over them).
 * --only    comma-separated scenarios: pingpong,throughput,fanin,broadcast,
 *           churn,memory,cpu.
 * --json    where to write the results (default dist\bench.json).
 * --lib-workers N  (profiling) PipesLib roles use their own engine with N
 *           worker threads instead of the default engine.
 * --fail-starts N  (testing the driver) the first N child starts fail as
 *           CreateProcessW failing would; exits 1 if they were not all
 *           used up (ctest pipes-bench-start-retry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "bench.h"
#include "driver.h"

static const char *const k_scenarios[SC_COUNT] = {"pingpong", "throughput", "fanin", "broadcast",
                                                  "churn",    "memory",     "cpu"};
static const char *const k_impls[IM_COUNT] = {"lib", "sync", "iocp", "naive", "gen", "iocp2", "iocps", "libuv", "iocpw", "iocpz"};

const char *scenario_name(bench_scenario s)
{
    return (unsigned)s < SC_COUNT ? k_scenarios[s] : "?";
}

const char *impl_name(bench_impl i)
{
    return (unsigned)i < IM_COUNT ? k_impls[i] : "?";
}

static int lookup(const wchar_t *w, const char *const *names, int n)
{
    int i;
    char a[32];
    size_t k;
    for (k = 0; k + 1 < sizeof a && w[k]; k++)
        a[k] = (char)w[k];
    a[k] = '\0';
    for (i = 0; i < n; i++)
        if (strcmp(a, names[i]) == 0)
            return i;
    return -1;
}

static void copy_arg(wchar_t *dst, size_t cap, const wchar_t *src)
{
    if (wcslen(src) >= cap)
        bench_fail("argument too long: %ls", src);
    wcscpy(dst, src);
}

/* ---- child roles ---- */

static DWORD WINAPI watchdog(LPVOID param)
{
    const bench_params *p = (const bench_params *)param;
    HANDLE parent = OpenProcess(SYNCHRONIZE, FALSE, p->parent_pid);
    DWORD r;
    /* Twice the run timeout: the role's own waits time out first and report. */
    DWORD limit = p->timeout_ms > 0x7FFFFFFFu / 2 ? INFINITE : p->timeout_ms * 2;
    if (!parent) {
        r = WaitForSingleObject(GetCurrentProcess(), limit); /* just the time limit */
    } else {
        r = WaitForSingleObject(parent, limit);
        CloseHandle(parent);
    }
    if (r == WAIT_TIMEOUT)
        fprintf(stderr, "pipes-bench: %s role gave up after %lu ms\n", scenario_name(p->scenario),
                limit);
    fflush(stderr);
    ExitProcess(3);
}

static int run_role(int argc, wchar_t **argv)
{
    static bench_params p;
    int i, v;
    HANDLE t;
    memset(&p, 0, sizeof p);
    p.timeout_ms = 60000;
    p.scenario = SC_COUNT;
    p.impl = IM_COUNT;
    for (i = 1; i + 1 < argc; i += 2) {
        const wchar_t *k = argv[i], *val = argv[i + 1];
        if (!wcscmp(k, L"--role"))
            p.is_server = !wcscmp(val, L"server");
        else if (!wcscmp(k, L"--impl") && (v = lookup(val, k_impls, IM_COUNT)) >= 0)
            p.impl = (bench_impl)v;
        else if (!wcscmp(k, L"--scenario") && (v = lookup(val, k_scenarios, SC_COUNT)) >= 0)
            p.scenario = (bench_scenario)v;
        else if (!wcscmp(k, L"--pipe"))
            copy_arg(p.pipe, BENCH_NAME_MAX, val);
        else if (!wcscmp(k, L"--ev-ready"))
            copy_arg(p.ev_ready, BENCH_NAME_MAX, val);
        else if (!wcscmp(k, L"--ev-go"))
            copy_arg(p.ev_go, BENCH_NAME_MAX, val);
        else if (!wcscmp(k, L"--ev-done"))
            copy_arg(p.ev_done, BENCH_NAME_MAX, val);
        else if (!wcscmp(k, L"--out"))
            copy_arg(p.out, MAX_PATH, val);
        else if (!wcscmp(k, L"--size"))
            p.size = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--count"))
            p.count = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--conns"))
            p.conns = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--warmup"))
            p.warmup = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--rate"))
            p.rate = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--threads"))
            p.threads = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--lib-workers"))
            p.lib_workers = (unsigned)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--parent"))
            p.parent_pid = (DWORD)wcstoul(val, NULL, 10);
        else if (!wcscmp(k, L"--timeout"))
            p.timeout_ms = (DWORD)wcstoul(val, NULL, 10);
        else
            bench_fail("unknown or invalid role argument %ls %ls", k, val);
    }
    if (p.scenario == SC_COUNT || p.impl == IM_COUNT || !p.pipe[0] || !p.out[0] || p.conns == 0)
        bench_fail("incomplete role arguments");
    t = CreateThread(NULL, 0, watchdog, &p, 0, NULL);
    if (t)
        CloseHandle(t);
    switch (p.impl) {
    case IM_LIB: return role_lib(&p);
    case IM_SYNC: return role_sync(&p);
    case IM_IOCP:
        return (p.scenario == SC_PINGPONG || p.scenario == SC_THROUGHPUT || p.scenario == SC_CPU)
                   ? role_iocp_pair(&p)
                   : role_iocp_multi(&p);
    case IM_NAIVE: return role_naive(&p);
    case IM_GEN: return role_gen(&p);
    case IM_IOCP2: return role_iocp2(&p);
    case IM_IOCPS:
        return p.scenario == SC_CHURN ? role_iocp_multi(&p) : role_iocps_pair(&p);
    case IM_IOCPW: return role_iocpw_pair(&p);
    case IM_IOCPZ: return role_iocpz_pair(&p);
#ifdef PIPES_BENCH_LIBUV
    case IM_UV: return role_uv(&p);
#endif
    default: return 2;
    }
}

/* ---- driver ---- */

static int usage(void)
{
    fprintf(stderr, "usage: pipes-bench [--smoke] [--reps N] [--only LIST] [--json PATH] "
                    "[--timeout SECONDS] [--lib-workers N] [--fail-starts N]\n");
    return 2;
}

int wmain(int argc, wchar_t **argv)
{
    static bench_plan plan;
    wchar_t exe[MAX_PATH];
    const wchar_t *json = L"dist\\bench.json";
    char only[128] = "";
    int smoke = 0, reps = 5, i, failed, problems;
    unsigned lib_workers = 0;
    DWORD timeout_ms = 30000;

    if (argc > 1 && !wcscmp(argv[1], L"--role"))
        return run_role(argc, argv);
    for (i = 1; i < argc; i++) {
        if (!wcscmp(argv[i], L"--smoke")) {
            smoke = 1;
        } else if (!wcscmp(argv[i], L"--reps") && i + 1 < argc) {
            reps = (int)wcstol(argv[++i], NULL, 10);
        } else if (!wcscmp(argv[i], L"--only") && i + 1 < argc) {
            snprintf(only, sizeof only, "%ls", argv[++i]);
        } else if (!wcscmp(argv[i], L"--json") && i + 1 < argc) {
            json = argv[++i];
        } else if (!wcscmp(argv[i], L"--lib-workers") && i + 1 < argc) {
            lib_workers = (unsigned)wcstoul(argv[++i], NULL, 10);
        } else if (!wcscmp(argv[i], L"--timeout") && i + 1 < argc) {
            timeout_ms = (DWORD)wcstoul(argv[++i], NULL, 10) * 1000u;
        } else if (!wcscmp(argv[i], L"--fail-starts") && i + 1 < argc) {
            plan_fail_starts((unsigned)wcstoul(argv[++i], NULL, 10));
        } else {
            return usage();
        }
    }
    if (smoke && reps == 5)
        reps = 1;
    if (reps < 1 || reps > MAX_REPS || timeout_ms == 0)
        return usage();
    if (!GetModuleFileNameW(NULL, exe, MAX_PATH)) {
        fprintf(stderr, "pipes-bench: GetModuleFileNameW failed\n");
        return 2;
    }
    plan_build(&plan, smoke, reps, only);
    for (i = 0; i < plan.ncases; i++)
        plan.cases[i].spec.lib_workers = lib_workers;
    if (plan.ncases == 0)
        return usage();
    failed = plan_run(&plan, exe, timeout_ms);
    problems = report_print(&plan);
    if (report_json(&plan, json) != 0)
        fprintf(stderr, "pipes-bench: could not write %ls\n", json);
    else
        printf("results written to %ls\n", json);
    if (failed)
        printf("%d run(s) FAILED\n", failed);
    if (plan_starts_left())
        printf("%u of the starts --fail-starts asked to fail were not tried\n", plan_starts_left());
    if (smoke)
        printf("smoke: %s (%d problem(s))\n", failed || problems ? "FAILED" : "ok", problems);
    fflush(stdout);
    return failed || plan_starts_left() || (smoke && problems) ? 1 : 0;
}
