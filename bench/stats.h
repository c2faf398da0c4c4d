/*
 * stats.h - percentiles of one run, and medians/spread over repeated runs.
 */
#ifndef PIPES_BENCH_STATS_H
#define PIPES_BENCH_STATS_H

#include <stddef.h>

void stats_sort(double *v, size_t n);
/* q in [0,1] of sorted values (nearest rank); 0 when n is 0. */
double stats_percentile(const double *sorted, size_t n, double q);

typedef struct stats_summary {
    double median, min, max;
    int n;
} stats_summary;

/* Summary of n values (copied, not reordered). */
stats_summary stats_summarize(const double *v, int n);
/* (max - min) / median in percent, 0 when it cannot be computed. */
double stats_spread_pct(const stats_summary *s);

#endif /* PIPES_BENCH_STATS_H */
