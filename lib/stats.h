/* Order statistics. One definition of a percentile for every C consumer, the same as the
 * harness's summary.jq pct(p): the value at rank h = (n-1)p of the sorted sample, linearly
 * interpolated between the two order statistics around h. The median is pct(0.5): for an
 * even count, the mean of the two middle values. The run's statistics are owned by the
 * harness's summary.json; a standalone report (mpx-analyze --report) uses this so both agree. */
#ifndef MPX_LIB_STATS_H
#define MPX_LIB_STATS_H
#include <stddef.h>

/* Sorts v (n values, none NaN) ascending, in place. */
void mpx_stats_sort(double *v, size_t n);

/* The p-quantile (0 <= p <= 1) of v, which must be sorted ascending. NaN when n == 0 or p is
 * outside [0, 1]. */
double mpx_stats_pct_sorted(const double *v, size_t n, double p);

/* The same on an unsorted sample: sorts v in place first. */
double mpx_stats_pct(double *v, size_t n, double p);

/* mpx_stats_pct(v, n, 0.5). */
double mpx_stats_median(double *v, size_t n);
#endif
