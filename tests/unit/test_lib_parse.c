/* lib/parse: numbers, durations and seeds (the grammars of lib/parse.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "lib/parse.h"

static void t_u64(void **st)
{
    (void)st;
    uint64_t v = 99;
    assert_int_equal(mpx_parse_u64("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mpx_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(mpx_parse_u64("0042", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    static const char *bad[] = { "", " 1", "1 ", "+1", "-1", "0x10", "1e3", "1.0", "a", "12a" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        errno = 0;
        assert_int_equal(mpx_parse_u64(bad[i], 0, UINT64_MAX, &v), -1);
        assert_int_equal(errno, EINVAL);
        assert_int_equal(v, 7);
    }
    assert_int_equal(mpx_parse_u64(NULL, 0, 1, &v), -1);
    errno = 0;
    assert_int_equal(mpx_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
    assert_int_equal(errno, ERANGE);
    errno = 0;
    assert_int_equal(mpx_parse_u64("99999999999999999999999x", 0, UINT64_MAX, &v), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(mpx_parse_u64("11", 0, 10, &v), -1);
    assert_int_equal(errno, ERANGE);
    errno = 0;
    assert_int_equal(mpx_parse_u64("4", 5, 10, &v), -1);
    assert_int_equal(errno, ERANGE);
    assert_int_equal(v, 7);
}

static void t_dbl(void **st)
{
    (void)st;
    double d = 9;
    assert_int_equal(mpx_parse_dbl("0.5", 0, 1, &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(mpx_parse_dbl("-2", -5, 5, &d), 0);
    assert_true(d == -2);
    assert_int_equal(mpx_parse_dbl(".25", 0, 1, &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(mpx_parse_dbl("1e3", 0, 1e4, &d), 0);
    assert_true(d == 1000);
    static const char *bad[] = { "", " 1", "1 ", "0x10", "inf", "nan", "-inf", "1.5ms", ".", "-", "e3" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 9;
        errno = 0;
        assert_int_equal(mpx_parse_dbl(bad[i], -1e300, 1e300, &d), -1);
        assert_int_equal(errno, EINVAL);
        assert_true(d == 9);
    }
    errno = 0;
    assert_int_equal(mpx_parse_dbl("1e400", -1e300, 1e300, &d), -1);
    assert_int_equal(errno, ERANGE);
    errno = 0;
    assert_int_equal(mpx_parse_dbl("1.5", 0, 1, &d), -1);
    assert_int_equal(errno, ERANGE);
}

static void t_duration(void **st)
{
    (void)st;
    static const struct { const char *s; int64_t ns, us; } ok[] = {
        { "0", 0, 0 },              { "0ms", 0, 0 },            { "250us", 250000, 250 },
        { "20ms", 20000000, 20000 }, { "1.5s", 1500000000, 1500000 },
        { "2m", 120000000000ll, 120000000 }, { "2min", 120000000000ll, 120000000 },
        { "0.5ms", 500000, 500 },   { "7ns", 7, 0 },            { "500ns", 500, 1 },
        { "499ns", 499, 0 },        { "1.5ns", 2, 0 },          { "2.5ms", 2500000, 2500 },
        { "0.000000001s", 1, 0 },   { "0.1ms", 100000, 100 },   { "10.25us", 10250, 10 },
        { "0.5min", 30000000000ll, 30000000 }, { "007ms", 7000000, 7000 },
        { "1000000000000000ns", 1000000000000000ll, 1000000000000ll },
        { "16666min", 999960000000000ll, 999960000000ll },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ns = -1, us = -1;
        assert_int_equal(mpx_parse_duration_ns(ok[i].s, &ns), 0);
        assert_int_equal(mpx_parse_duration_us(ok[i].s, &us), 0);
        if (ns != ok[i].ns || us != ok[i].us)
            fail_msg("%s: ns %lld us %lld", ok[i].s, (long long)ns, (long long)us);
    }
    static const char *bad[] = { "", "10", "1", "00", "10 ms", " 10ms", "ms", "1.ms", ".5ms",
                                 "1e3ms", "0x10ms", "10MS", "10sec", "10h", "-1ms", "+1ms",
                                 "1.0000000001s", "nanms", "10ms ", "1.5.5ms" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 42;
        errno = 0;
        if (mpx_parse_duration_us(bad[i], &us) != -1 || errno != EINVAL || us != 42)
            fail_msg("'%s' accepted or wrong errno", bad[i]);
    }
    static const char *big[] = { "1000000000000001ns", "16667min", "11574075s",
                                 "99999999999999999999999999s", "1000000000000000.5ns" };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        int64_t ns = 42;
        errno = 0;
        if (mpx_parse_duration_ns(big[i], &ns) != -1 || errno != ERANGE || ns != 42)
            fail_msg("'%s' accepted or wrong errno", big[i]);
    }
}

static void t_seed(void **st)
{
    (void)st;
    uint64_t v = 5;
    assert_int_equal(mpx_parse_seed("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mpx_parse_seed("4294967295", &v), 0);
    assert_true(v == 4294967295ull);
    assert_int_equal(mpx_parse_seed("9007199254740991", &v), 0);
    assert_true(v == MPX_SEED_MAX);
    static const char *bad[] = { "", "01", "00", "-1", "+1", "0x10", "1.0", "1 ", "seed" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 5;
        errno = 0;
        if (mpx_parse_seed(bad[i], &v) != -1 || errno != EINVAL || v != 5)
            fail_msg("'%s' accepted or wrong errno", bad[i]);
    }
    errno = 0;
    assert_int_equal(mpx_parse_seed("9007199254740992", &v), -1);
    assert_int_equal(errno, ERANGE);
    assert_int_equal(mpx_parse_seed(NULL, &v), -1);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_u64), cmocka_unit_test(t_dbl), cmocka_unit_test(t_duration),
        cmocka_unit_test(t_seed),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
