/* SPEC parser: "rate=20mbit delay=10ms jitter=1ms loss=0.1% queue=100p seed=7". */
#include "emu/linkem/spec.h"
#include "lib/parse.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lk_params_default(struct lk_params *p)
{
    memset(p, 0, sizeof(*p));
    p->queue_pkts = LK_DEFAULT_QUEUE_PKTS;
}

/* A non-negative finite decimal followed by a unit from the table; the unit's factor scales
 * the number. Matching is case-insensitive and the unit must be the whole rest. */
struct unit {
    const char *name;
    double factor;
};

static int parse_with_units(const char *s, const struct unit *units, double *out)
{
    char *end;
    if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.')) return -1;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0) return -1;
    for (const struct unit *u = units; u->name; u++) {
        if (strcasecmp(end, u->name) == 0) {
            *out = v * u->factor;
            return isfinite(*out) ? 0 : -1;
        }
    }
    return -1;
}

int lk_parse_time_ns(const char *s, uint64_t *ns)
{
    int64_t v;
    if (mpx_parse_duration_ns(s, &v)) return -1;
    *ns = (uint64_t)v;
    return 0;
}

int lk_parse_rate_bps(const char *s, uint64_t *bps)
{
    static const struct unit u[] = {
        { "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 }, { NULL, 0 }
    };
    double v;
    if (s && strcmp(s, "0") == 0) { /* the one unit-less value: unlimited */
        *bps = 0;
        return 0;
    }
    if (parse_with_units(s, u, &v) || v > 1e13) return -1;
    *bps = (uint64_t)llround(v);
    if (*bps == 0 && v > 0) return -1; /* below 1 bit/s: surely a mistake */
    return 0;
}

int lk_parse_percent(const char *s, double *prob, bool need_pct)
{
    static const struct unit pct[] = { { "%", 0.01 }, { NULL, 0 } };
    static const struct unit pct_opt[] = { { "%", 0.01 }, { "", 0.01 }, { NULL, 0 } };
    double v;
    if (parse_with_units(s, need_pct ? pct : pct_opt, &v) || v > 1.0) return -1;
    *prob = v;
    return 0;
}

int lk_parse_queue(const char *s, uint64_t *pkts, uint64_t *bytes)
{
    static const struct unit up[] = { { "p", 1 }, { NULL, 0 } };
    /* kb/mb follow tc's convention: 1024-based */
    static const struct unit ub[] = {
        { "b", 1 }, { "kb", 1024 }, { "mb", 1024 * 1024 }, { NULL, 0 }
    };
    double v;
    if (parse_with_units(s, up, &v) == 0) {
        if (v != floor(v) || v > 1e9) return -1;
        *pkts = (uint64_t)v;
        *bytes = 0;
        return 0;
    }
    if (parse_with_units(s, ub, &v) == 0) {
        if (v > 1e12) return -1;
        *pkts = 0;
        *bytes = (uint64_t)llround(v);
        return 0;
    }
    return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_ge(const char *v, struct lk_params *p)
{
    char tmp[128];
    double x[4];
    if (strlen(v) >= sizeof(tmp)) return -1;
    strcpy(tmp, v);
    char *save = NULL, *tok = strtok_r(tmp, "/", &save);
    for (int i = 0; i < 4; i++, tok = strtok_r(NULL, "/", &save))
        if (!tok || lk_parse_percent(tok, &x[i], false)) return -1;
    if (tok) return -1;
    p->ge_p = x[0], p->ge_r = x[1], p->ge_lg = x[2], p->ge_lb = x[3];
    return 0;
}

/* "3" or "0,5,12": frame indices (decimal, at most LK_MAX_DROPS), stored sorted and distinct */
static int parse_drop(const char *v, struct lk_params *p)
{
    uint32_t n = 0;
    uint64_t x[LK_MAX_DROPS];
    const char *s = v;
    for (;;) {
        if (*s < '0' || *s > '9' || n == LK_MAX_DROPS) return -1;
        char *end;
        unsigned long long u = strtoull(s, &end, 10);
        if (end - s > 15) return -1;
        uint32_t i = n++;
        while (i > 0 && x[i - 1] > u) x[i] = x[i - 1], i--; /* insertion: sorted */
        if (i > 0 && x[i - 1] == u) { /* a repeated index: once is enough */
            memmove(x + i, x + i + 1, (n - 1 - i) * sizeof x[0]);
            n--;
        } else {
            x[i] = u;
        }
        if (!*end) break;
        if (*end != ',') return -1;
        s = end + 1;
    }
    memcpy(p->drop_idx, x, n * sizeof x[0]);
    p->ndrop = n;
    return 0;
}

bool lk_drop_scheduled(const struct lk_params *p, uint64_t idx)
{
    for (uint32_t i = 0; i < p->ndrop && p->drop_idx[i] <= idx; i++)
        if (p->drop_idx[i] == idx) return true;
    return false;
}

static int parse_kv(const char *key, const char *val, struct lk_params *p, char *err, size_t errlen)
{
    if (!strcmp(key, "rate")) {
        if (lk_parse_rate_bps(val, &p->rate_bps))
            return fail(err, errlen, "rate=%s: want a number with bit|kbit|mbit|gbit", val);
        p->set_mask |= LK_K_RATE;
    } else if (!strcmp(key, "trace")) {
        if (!*val || strlen(val) >= sizeof(p->trace))
            return fail(err, errlen, "trace=: empty or too long file name");
        strcpy(p->trace, val);
        p->set_mask |= LK_K_TRACE;
    } else if (!strcmp(key, "delay")) {
        if (lk_parse_time_ns(val, &p->delay_ns))
            return fail(err, errlen, "delay=%s: want a time with ns|us|ms|s|m|min", val);
        p->set_mask |= LK_K_DELAY;
    } else if (!strcmp(key, "jitter")) {
        if (lk_parse_time_ns(val, &p->jitter_ns))
            return fail(err, errlen, "jitter=%s: want a time with ns|us|ms|s|m|min", val);
        p->set_mask |= LK_K_JITTER;
    } else if (!strcmp(key, "reorder")) {
        if (strcmp(val, "0") && strcmp(val, "1"))
            return fail(err, errlen, "reorder=%s: want 0 or 1", val);
        p->reorder = val[0] == '1';
        p->set_mask |= LK_K_REORDER;
    } else if (!strcmp(key, "loss")) {
        if (lk_parse_percent(val, &p->loss, true))
            return fail(err, errlen, "loss=%s: want a percentage 0%%..100%%", val);
        p->loss_kind = LK_LOSS_BERNOULLI;
        p->set_mask |= LK_K_LOSS;
    } else if (!strcmp(key, "ge")) {
        if (parse_ge(val, p))
            return fail(err, errlen, "ge=%s: want P/R/LG/LB, each a percentage", val);
        p->loss_kind = LK_LOSS_GE;
        p->set_mask |= LK_K_GE;
    } else if (!strcmp(key, "queue")) {
        if (lk_parse_queue(val, &p->queue_pkts, &p->queue_bytes))
            return fail(err, errlen, "queue=%s: want Np or Nb|Nkb|Nmb", val);
        p->set_mask |= LK_K_QUEUE;
    } else if (!strcmp(key, "seed")) {
        if (mpx_parse_seed(val, &p->seed))
            return fail(err, errlen, "seed=%s: want an integer 0..%llu without leading zeros", val,
                        (unsigned long long)MPX_SEED_MAX);
        p->set_mask |= LK_K_SEED;
    } else if (!strcmp(key, "drop")) {
        if (parse_drop(val, p))
            return fail(err, errlen, "drop=%s: want frame indices IDX[,IDX...] (at most %d)", val,
                        LK_MAX_DROPS);
        p->set_mask |= LK_K_DROP;
    } else {
        return fail(err, errlen,
                    "unknown key '%s' (rate trace delay jitter reorder loss ge "
                    "queue seed drop)",
                    key);
    }
    return 0;
}

int lk_spec_parse(const char *spec, struct lk_params *out, char *err, size_t errlen)
{
    char tok[512];
    const char *s = spec ? spec : "";
    unsigned before = out->set_mask;
    out->set_mask = 0;
    while (*s) {
        while (*s && isspace((unsigned char)*s)) s++;
        if (!*s) break;
        size_t n = 0;
        while (s[n] && !isspace((unsigned char)s[n])) n++;
        if (n >= sizeof(tok)) return fail(err, errlen, "token too long");
        memcpy(tok, s, n);
        tok[n] = 0;
        s += n;
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) return fail(err, errlen, "'%s': want key=value", tok);
        *eq = 0;
        if (parse_kv(tok, eq + 1, out, err, errlen)) return -1;
    }
    if ((out->set_mask & LK_K_RATE) && (out->set_mask & LK_K_TRACE))
        return fail(err, errlen, "rate= and trace= exclude each other");
    if ((out->set_mask & LK_K_LOSS) && (out->set_mask & LK_K_GE))
        return fail(err, errlen, "loss= and ge= exclude each other");
    if (out->set_mask & LK_K_RATE) out->trace[0] = 0;
    (void)before;
    return 0;
}

void lk_params_merge(struct lk_params *p, const struct lk_params *u)
{
    unsigned m = u->set_mask;
    if (m & LK_K_RATE) {
        p->rate_bps = u->rate_bps;
        p->trace[0] = 0;
    }
    if (m & LK_K_TRACE) {
        memcpy(p->trace, u->trace, sizeof(p->trace));
        p->rate_bps = 0;
    }
    if (m & LK_K_DELAY) p->delay_ns = u->delay_ns;
    if (m & LK_K_JITTER) p->jitter_ns = u->jitter_ns;
    if (m & LK_K_REORDER) p->reorder = u->reorder;
    if (m & LK_K_LOSS) {
        p->loss_kind = u->loss_kind;
        p->loss = u->loss;
    }
    if (m & LK_K_GE) {
        p->loss_kind = LK_LOSS_GE;
        p->ge_p = u->ge_p, p->ge_r = u->ge_r, p->ge_lg = u->ge_lg, p->ge_lb = u->ge_lb;
    }
    if (m & LK_K_QUEUE) {
        p->queue_pkts = u->queue_pkts;
        p->queue_bytes = u->queue_bytes;
    }
    if (m & LK_K_SEED) p->seed = u->seed;
    if (m & LK_K_DROP) {
        p->ndrop = u->ndrop;
        memcpy(p->drop_idx, u->drop_idx, sizeof(p->drop_idx));
    }
    p->set_mask |= m;
}

void lk_params_format(const struct lk_params *p, char *buf, size_t len)
{
    char loss[96] = "none";
    if (p->loss_kind == LK_LOSS_BERNOULLI)
        snprintf(loss, sizeof(loss), "%g%%", p->loss * 100);
    else if (p->loss_kind == LK_LOSS_GE)
        snprintf(loss, sizeof(loss), "ge=%g/%g/%g/%g%%", p->ge_p * 100, p->ge_r * 100,
                 p->ge_lg * 100, p->ge_lb * 100);
    char rate[300];
    if (p->trace[0])
        snprintf(rate, sizeof(rate), "trace=%s", p->trace);
    else
        snprintf(rate, sizeof(rate), "rate=%llubit", (unsigned long long)p->rate_bps);
    snprintf(buf, len,
             "%s delay=%lluns jitter=%lluns reorder=%d loss=%s queue=%llup/%llub "
             "seed=%llu",
             rate, (unsigned long long)p->delay_ns, (unsigned long long)p->jitter_ns, p->reorder,
             loss, (unsigned long long)p->queue_pkts, (unsigned long long)p->queue_bytes,
             (unsigned long long)p->seed);
    for (uint32_t i = 0; i < p->ndrop; i++) { /* only when set: the usual line is unchanged */
        size_t at = strlen(buf);
        if (at + 1 < len)
            snprintf(buf + at, len - at, "%s%llu", i ? "," : " drop=",
                     (unsigned long long)p->drop_idx[i]);
    }
}
