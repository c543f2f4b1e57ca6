/* Mahimahi packet-delivery traces: one line per delivery opportunity, the line is the time in
 * ms since the trace start; each opportunity carries up to 1500 bytes; the trace loops with
 * a period equal to its last timestamp. Parsing and the departure arithmetic are pure. */
#ifndef LK_TRACE_H
#define LK_TRACE_H
#include <stddef.h>
#include <stdint.h>

#define LK_TRACE_MTU 1500

struct lk_trace {
    uint32_t *ms; /* non-decreasing opportunity times */
    size_t n;
    uint64_t period_ms;
};

/* Where the bottleneck stands in the trace: opportunity number k (counted over loops) and
 * the bytes it still has. */
struct lk_trace_cur {
    uint64_t k;
    uint32_t left;
};

int lk_trace_parse(const char *text, size_t len, struct lk_trace *t, char *err, size_t errlen);
int lk_trace_load(const char *path, struct lk_trace *t, char *err, size_t errlen);
void lk_trace_free(struct lk_trace *t);

/* Time (ns, relative to the trace start) of opportunity k. */
uint64_t lk_trace_opp_ns(const struct lk_trace *t, uint64_t k);

/* A packet of len bytes arrives at arrive_ns (relative to the trace start): returns when its
 * last byte leaves the bottleneck, consuming opportunities from *c (FIFO order). Unused
 * opportunities are lost, as in Mahimahi. */
uint64_t lk_trace_depart(const struct lk_trace *t, struct lk_trace_cur *c, uint64_t arrive_ns,
                         uint32_t len);

/* Average rate of the trace in bit/s (for logs and tests). */
double lk_trace_rate_bps(const struct lk_trace *t);
#endif
