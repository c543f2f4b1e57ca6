#include "emu/linkem/link.h"

#include <stdio.h>
#include <string.h>

const char *const lk_verdict_name[] = { "pass", "loss", "queue", "down", "toolong" };

/* separate PRNG streams: changing jitter never changes the drop sequence and vice versa */
enum { STREAM_LOSS = 1, STREAM_JITTER = 2 };

static void reseed(struct lk_dir *d)
{
    lk_rng_seed(&d->rng_loss, d->p.seed, STREAM_LOSS);
    lk_rng_seed(&d->rng_jit, d->p.seed, STREAM_JITTER);
}

int lk_dir_init(struct lk_dir *d, const char *name, const struct lk_params *p, uint64_t t0,
                char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->p = *p;
    d->t0 = t0;
    d->tcur.left = LK_TRACE_MTU;
    reseed(d);
    if (p->trace[0] && lk_trace_load(p->trace, &d->trace, err, errlen)) return -1;
    if (lk_fifo_init(&d->q, 1024, 1u << 16)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void lk_dir_free(struct lk_dir *d)
{
    lk_fifo_free(&d->q);
    lk_trace_free(&d->trace);
}

int lk_dir_update(struct lk_dir *d, const struct lk_params *upd, char *err, size_t errlen)
{
    struct lk_params np = d->p;
    lk_params_merge(&np, upd);
    if (upd->set_mask & LK_K_TRACE) {
        struct lk_trace t;
        if (lk_trace_load(np.trace, &t, err, errlen)) return -1;
        lk_trace_free(&d->trace);
        d->trace = t;
        d->tcur = (struct lk_trace_cur){ 0, LK_TRACE_MTU };
    } else if (upd->set_mask & LK_K_RATE) {
        lk_trace_free(&d->trace);
    }
    if ((upd->set_mask & (LK_K_LOSS | LK_K_GE))) d->loss.bad = false;
    d->p = np;
    if (upd->set_mask & LK_K_SEED) reseed(d);
    return 0;
}

int64_t lk_jitter_offset(uint64_t jitter_ns, double u)
{
    /* uniform on [-j, +j]: u*2j - j, rounded to ns */
    return (int64_t)(u * 2.0 * (double)jitter_ns + 0.5) - (int64_t)jitter_ns;
}

enum lk_verdict lk_dir_arrive(struct lk_dir *d, uint64_t now, bool down, const void *frame,
                              uint32_t len, uint64_t *idx)
{
    *idx = d->next_idx++;
    d->c.pkts_in++, d->c.bytes_in += len;
    /* Draws happen for every arrival, so packet N always meets the same random numbers
     * whatever happened to packets before it: that is what makes drops reproducible. */
    bool lost = lk_loss_drop(&d->loss, &d->p, &d->rng_loss);
    double uj = lk_rng_unit(&d->rng_jit);
    if (d->p.ndrop && lk_drop_scheduled(&d->p, *idx)) lost = true; /* drop=: after the draws */
    enum lk_verdict v = LK_PASS;
    if (len > LK_SLOT_BYTES)
        v = LK_DROP_TOOLONG;
    else if (down)
        v = LK_DROP_DOWN;
    else if (lost)
        v = LK_DROP_LOSS;
    else {
        lk_fifo_advance(&d->q, now);
        if (!lk_fifo_admit(&d->q, len, d->p.queue_pkts, d->p.queue_bytes)) v = LK_DROP_QUEUE;
    }
    if (v != LK_PASS) {
        d->c.drop[v]++;
        return v;
    }
    uint64_t t_b; /* end of serialization at the bottleneck */
    if (d->trace.n) {
        t_b = d->t0 + lk_trace_depart(&d->trace, &d->tcur, now - d->t0, len);
    } else {
        t_b = (now > d->bneck_free ? now : d->bneck_free) + lk_ser_ns(len, d->p.rate_bps);
        d->bneck_free = t_b;
    }
    int64_t rel = (int64_t)(t_b + d->p.delay_ns) + lk_jitter_offset(d->p.jitter_ns, uj);
    uint64_t t_rel = rel < (int64_t)t_b ? t_b : (uint64_t)rel;
    if (!d->p.reorder && t_rel < d->last_rel)
        t_rel = d->last_rel; /* a link does not overtake: wait for the previous frame */
    if (t_rel > d->last_rel) d->last_rel = t_rel;
    lk_fifo_push(&d->q, frame, len, *idx, now, t_b, t_rel);
    if (d->q.bq_pkts > d->c.hwm_pkts) d->c.hwm_pkts = d->q.bq_pkts;
    if (d->q.bq_bytes > d->c.hwm_bytes) d->c.hwm_bytes = d->q.bq_bytes;
    return LK_PASS;
}

void lk_dir_note_sent(struct lk_dir *d, uint32_t len, uint64_t t_rel, uint64_t t_sent)
{
    d->c.pkts_out++, d->c.bytes_out += len;
    uint64_t late_us = t_sent > t_rel ? (t_sent - t_rel) / 1000 : 0;
    d->c.late_hist[late_us < LK_LATE_BUCKETS ? late_us : LK_LATE_BUCKETS - 1]++;
}

double lk_late_pct(const struct lk_counters *c, double q)
{
    uint64_t n = 0, acc = 0;
    for (int i = 0; i < LK_LATE_BUCKETS; i++) n += c->late_hist[i];
    if (!n) return 0;
    uint64_t want = (uint64_t)(q * (double)n);
    if (want >= n) want = n - 1;
    for (int i = 0; i < LK_LATE_BUCKETS; i++) {
        acc += c->late_hist[i];
        if (acc > want) return i;
    }
    return LK_LATE_BUCKETS - 1;
}
