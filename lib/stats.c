/* lib/stats: percentiles with summary.jq's definition (lib/stats.h). The arithmetic mirrors
 * the jq expression step by step (same operations, same order, in doubles) so both give
 * the same bits for the same sample. */
#include <math.h>
#include <stdlib.h>
#include "lib/stats.h"

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void mpx_stats_sort(double *v, size_t n)
{
    if (v && n > 1) qsort(v, n, sizeof *v, cmp_dbl);
}

double mpx_stats_pct_sorted(const double *v, size_t n, double p)
{
    if (!v || n == 0 || !(p >= 0.0 && p <= 1.0)) return NAN;
    double h = (double)(n - 1) * p;
    size_t l = (size_t)h;                  /* floor: h >= 0 */
    if (l >= n) l = n - 1;
    if (l + 1 < n) return v[l] + (h - (double)l) * (v[l + 1] - v[l]);
    return v[l];
}

double mpx_stats_pct(double *v, size_t n, double p)
{
    mpx_stats_sort(v, n);
    return mpx_stats_pct_sorted(v, n, p);
}

double mpx_stats_median(double *v, size_t n)
{
    return mpx_stats_pct(v, n, 0.5);
}
