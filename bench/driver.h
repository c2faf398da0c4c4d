/*
 * driver.h - the driver's plan of measurements and their collected results.
 */
#ifndef PIPES_BENCH_DRIVER_H
#define PIPES_BENCH_DRIVER_H

#include "bench.h"
#include "stats.h"

#define MAX_REPS 15
#define MAX_KEYS 48
#define MAX_CASES 64

typedef struct kv {
    char key[32];
    double v;
} kv;

/* The merged key=value results of one run (server and client files). */
typedef struct sample {
    kv kv[MAX_KEYS];
    int n;
} sample;

/* One measured configuration: a scenario, its parameter (message size or
 * number of clients), and an implementation; run `reps` times. */
typedef struct bench_case {
    bench_scenario sc;
    bench_impl impl;     /* the server impl; the client is the same or gen */
    unsigned param;      /* size (throughput) or clients (fan-in, broadcast, memory) */
    bench_params spec;   /* size, count, conns, warmup, rate, threads */
    sample samples[MAX_REPS];
    int nsamples, failures;
} bench_case;

typedef struct bench_plan {
    bench_case cases[MAX_CASES];
    int ncases;
    int reps;
    int smoke;
    double seconds; /* wall time of the whole run */
} bench_plan;

/* driver.c */
void plan_build(bench_plan *plan, int smoke, int reps, const char *only);
/* Runs every case `reps` times, interleaved; returns the failed runs. */
int plan_run(bench_plan *plan, const wchar_t *exe, DWORD timeout_ms);
/* Testing the driver (--fail-starts): the next n child starts fail as a
 * CreateProcessW failing with ERROR_INTERNAL_ERROR would. plan_starts_left
 * returns how many of them were not used up. */
void plan_fail_starts(unsigned n);
unsigned plan_starts_left(void);

/* A case's summary of one key over its successful runs (n = 0: none). */
/* The index of `key` in one sample's kv, or -1 if that run did not report it. */
int sample_find(const sample *s, const char *key);
stats_summary case_metric(const bench_case *c, const char *key);
const bench_case *plan_find(const bench_plan *plan, bench_scenario sc, unsigned param,
                            bench_impl impl);

/* report.c: prints the table and the targets; returns the number of sanity
 * problems (smoke checks: a case without runs, a zero or non-finite figure). */
int report_print(const bench_plan *plan);
int report_json(const bench_plan *plan, const wchar_t *path);

#endif /* PIPES_BENCH_DRIVER_H */
