/*
 * stats.c - percentiles and run summaries.
 */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

void stats_sort(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_double);
}

double stats_percentile(const double *sorted, size_t n, double q)
{
    size_t rank;
    if (n == 0)
        return 0.0;
    /* nearest rank: the smallest value with at least q of the samples at or below it */
    rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

stats_summary stats_summarize(const double *v, int n)
{
    stats_summary s;
    double tmp[64];
    int i, m = n > 64 ? 64 : n;
    memset(&s, 0, sizeof s);
    s.n = m;
    if (m <= 0)
        return s;
    for (i = 0; i < m; i++)
        tmp[i] = v[i];
    stats_sort(tmp, (size_t)m);
    s.min = tmp[0];
    s.max = tmp[m - 1];
    s.median = (m % 2) ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2.0;
    return s;
}

double stats_spread_pct(const stats_summary *s)
{
    if (s->n < 2 || s->median == 0.0)
        return 0.0;
    return (s->max - s->min) / s->median * 100.0;
}
