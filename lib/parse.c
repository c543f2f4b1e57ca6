/* Checked number, duration and seed parsers (grammars in lib/parse.h). */
#include "lib/parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int fail(int e)
{
    errno = e;
    return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int mpx_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || !is_digit(*s))
        return fail(EINVAL);
    uint64_t v = 0;
    int range = 0;
    for (; *s; s++) {
        if (!is_digit(*s))
            return fail(EINVAL);
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            range = 1;          /* keep scanning: junk after the digits is EINVAL, not ERANGE */
        else
            v = v * 10 + d;
    }
    if (range || v < lo || v > hi)
        return fail(ERANGE);
    *out = v;
    return 0;
}

int mpx_parse_dbl(const char *s, double lo, double hi, double *out)
{
    if (!s)
        return fail(EINVAL);
    const char *p = s + (*s == '-' || *s == '+');
    /* strtod also reads blanks, hex, "inf" and "nan": none of them is a number here */
    if (!(is_digit(*p) || (*p == '.' && is_digit(p[1]))) || strpbrk(s, "xX"))
        return fail(EINVAL);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end)
        return fail(EINVAL);
    if (errno == ERANGE || !isfinite(v) || v < lo || v > hi)
        return fail(ERANGE);
    *out = v;
    return 0;
}

int mpx_parse_duration_ns(const char *s, int64_t *ns)
{
    static const struct { const char *name; int64_t ns; } units[] = {
        { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
        { "m", 60000000000ll }, { "min", 60000000000ll },
    };
    if (!s || !is_digit(*s))
        return fail(EINVAL);
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    const char *p = s;
    while (is_digit(*p))
        p++;
    size_t ilen = (size_t)(p - s);
    int64_t frac = 0;             /* fraction digits as billionths of the unit */
    if (*p == '.') {
        const char *f = ++p;
        while (is_digit(*p))
            p++;
        size_t flen = (size_t)(p - f);
        if (flen == 0 || flen > 9)
            return fail(EINVAL);
        for (size_t i = 0; i < 9; i++)
            frac = frac * 10 + (i < flen ? f[i] - '0' : 0);
    }
    int64_t unit = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(p, units[i].name) == 0)
            unit = units[i].ns;
    if (!unit)
        return fail(EINVAL);
    /* integer part: digit by digit so a long string reports ERANGE instead of wrapping */
    int64_t ip = 0;
    for (size_t i = 0; i < ilen; i++) {
        ip = ip * 10 + (s[i] - '0');
        if (ip > MPX_DURATION_MAX_NS)
            return fail(ERANGE);
    }
    if (ip > MPX_DURATION_MAX_NS / unit)
        return fail(ERANGE);
    /* units of a second or more are whole multiples of 10^9 ns: exact; smaller ones round
     * the billionths half up (frac * unit < 10^18 fits) */
    int64_t fns = unit >= 1000000000 ? frac * (unit / 1000000000)
                                     : (frac * unit + 500000000) / 1000000000;
    int64_t v = ip * unit + fns;
    if (v > MPX_DURATION_MAX_NS)
        return fail(ERANGE);
    *ns = v;
    return 0;
}

int mpx_parse_duration_us(const char *s, int64_t *us)
{
    int64_t ns;
    if (mpx_parse_duration_ns(s, &ns))
        return -1;
    *us = (ns + 500) / 1000;
    return 0;
}

int mpx_parse_seed(const char *s, uint64_t *seed)
{
    if (!s || (s[0] == '0' && s[1]))
        return fail(EINVAL);   /* leading zero: "010" is not 10 (nor octal 8) */
    return mpx_parse_u64(s, 0, MPX_SEED_MAX, seed);
}
