/* lib/stats: percentiles with summary.jq's pct(p) definition. The expected values were
 * printed by jq running summary.jq's pct on the same samples; they must match to the bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "lib/stats.h"

#define N(a) (sizeof (a) / sizeof (a)[0])

static void t_empty_and_range(void **st)
{
    (void)st;
    double v[] = { 1, 2, 3 };
    assert_true(isnan(mpx_stats_median(v, 0)));
    assert_true(isnan(mpx_stats_median(NULL, 3)));
    assert_true(isnan(mpx_stats_pct(v, N(v), -0.01)));
    assert_true(isnan(mpx_stats_pct(v, N(v), 1.01)));
    assert_true(isnan(mpx_stats_pct(v, N(v), NAN)));
}

static void t_median(void **st)
{
    (void)st;
    double one[] = { 5 };
    assert_true(mpx_stats_median(one, 1) == 5);
    assert_true(mpx_stats_pct(one, 1, 0.0) == 5 && mpx_stats_pct(one, 1, 1.0) == 5);
    double two[] = { 2, 1 };
    assert_true(mpx_stats_median(two, 2) == 1.5);       /* even count: mean of the middle two */
    double odd[] = { 3, 1, 2 };
    assert_true(mpx_stats_median(odd, 3) == 2);
    double ev[] = { 40123, 45007, 39999, 60001 };
    assert_true(mpx_stats_median(ev, 4) == 42565);
    double neg[] = { -3, -1, -2, 7 };
    assert_true(mpx_stats_median(neg, 4) == -1.5);
    double dup[] = { 4, 4, 4, 9 };
    assert_true(mpx_stats_median(dup, 4) == 4);
}

static void t_sorts_in_place(void **st)
{
    (void)st;
    double v[] = { 9, -1, 4, 4, 0 };
    mpx_stats_sort(v, N(v));
    for (size_t i = 1; i < N(v); i++) assert_true(v[i - 1] <= v[i]);
    assert_true(mpx_stats_pct_sorted(v, N(v), 0.5) == 4);
    mpx_stats_sort(NULL, 0);   /* no-op */
}

static void t_jq_bits(void **st)
{
    (void)st;
    double a[] = { 10, 20, 30, 40, 50, 60, 70 };
    assert_true(mpx_stats_pct(a, N(a), 0.025) == 11.5);
    assert_true(mpx_stats_pct(a, N(a), 0.975) == 68.5);
    assert_true(mpx_stats_pct(a, N(a), 0.0) == 10 && mpx_stats_pct(a, N(a), 1.0) == 70);
    double b[] = { 0.1, 0.2, 0.7 };
    assert_true(mpx_stats_pct(b, N(b), 0.05) == 0.11000000000000001);
    double c[] = { 1, 2, 3, 4 };
    assert_true(mpx_stats_pct(c, N(c), 0.25) == 1.75);
    double d[] = { 0.6, 0.5, 0.4, 0.3, 0.2, 0.1 };
    assert_true(mpx_stats_pct(d, N(d), 0.95) == 0.575);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_empty_and_range), cmocka_unit_test(t_median),
        cmocka_unit_test(t_sorts_in_place), cmocka_unit_test(t_jq_bits),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
