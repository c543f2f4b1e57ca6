#include "emu/linkem/trace.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lk_trace_parse(const char *text, size_t len, struct lk_trace *t, char *err, size_t errlen)
{
    size_t cap = 1024, n = 0, line = 1;
    uint32_t *ms = malloc(cap * sizeof(*ms));
    const char *p = text, *end = text + len;
    if (!ms) return snprintf(err, errlen, "out of memory"), -1;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *q = p;
        while (q < eol && isspace((unsigned char)*q)) q++;
        if (q < eol && *q != '#') {
            uint64_t v = 0;
            const char *d = q;
            while (d < eol && isdigit((unsigned char)*d) && v <= 0xffffffffULL)
                v = v * 10 + (uint64_t)(*d++ - '0');
            while (d < eol && isspace((unsigned char)*d)) d++;
            if (d == q || d != eol || v > 0xffffffffULL) {
                snprintf(err, errlen, "line %zu: want a time in ms", line);
                goto bad;
            }
            if (n && v < ms[n - 1]) {
                snprintf(err, errlen, "line %zu: time goes backwards", line);
                goto bad;
            }
            if (n == cap) {
                uint32_t *nm = realloc(ms, 2 * cap * sizeof(*ms));
                if (!nm) {
                    snprintf(err, errlen, "out of memory");
                    goto bad;
                }
                ms = nm, cap *= 2;
            }
            ms[n++] = (uint32_t)v;
        }
        p = eol + 1;
        line++;
    }
    if (n == 0 || ms[n - 1] == 0) {
        snprintf(err, errlen, "trace is empty or its last time is 0 ms");
        goto bad;
    }
    t->ms = ms, t->n = n, t->period_ms = ms[n - 1];
    return 0;
bad:
    free(ms);
    return -1;
}

int lk_trace_load(const char *path, struct lk_trace *t, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = cap < (256u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb, cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return snprintf(err, errlen, "%s: too large or out of memory", path), -1;
    char e2[160];
    int rc = lk_trace_parse(buf, len, t, e2, sizeof(e2));
    if (rc) snprintf(err, errlen, "%s: %s", path, e2);
    free(buf);
    return rc;
}

void lk_trace_free(struct lk_trace *t)
{
    free(t->ms);
    t->ms = NULL, t->n = 0;
}

uint64_t lk_trace_opp_ns(const struct lk_trace *t, uint64_t k)
{
    uint64_t loop = k / t->n;
    return (loop * t->period_ms + t->ms[k % t->n]) * 1000000ULL;
}

/* first opportunity at or after at_ns */
static uint64_t first_opp_at(const struct lk_trace *t, uint64_t at_ns)
{
    uint64_t period_ns = t->period_ms * 1000000ULL, loop = at_ns / period_ns;
    uint64_t within = at_ns - loop * period_ns;
    size_t lo = 0, hi = t->n; /* first i with ms[i]*1e6 >= within */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uint64_t)t->ms[mid] * 1000000ULL < within)
            lo = mid + 1;
        else
            hi = mid;
    }
    return loop * t->n + lo; /* lo == n rolls into the next loop's first opportunity */
}

uint64_t lk_trace_depart(const struct lk_trace *t, struct lk_trace_cur *c, uint64_t arrive_ns,
                         uint32_t len)
{
    if (c->left == 0 || lk_trace_opp_ns(t, c->k) < arrive_ns) {
        uint64_t k = first_opp_at(t, arrive_ns);
        if (c->left == 0 && k <= c->k) k = c->k + 1; /* current opportunity used up */
        if (k < c->k) k = c->k;
        c->k = k;
        c->left = LK_TRACE_MTU;
    }
    while (len > c->left) {
        len -= c->left;
        c->k++;
        c->left = LK_TRACE_MTU;
    }
    c->left -= len;
    return lk_trace_opp_ns(t, c->k);
}

double lk_trace_rate_bps(const struct lk_trace *t)
{
    return (double)t->n * LK_TRACE_MTU * 8 / ((double)t->period_ms / 1000.0);
}
