/* One direction of the link: loss decision -> drop-tail bottleneck queue (serialization at
 * rate, or a Mahimahi trace) -> propagation delay + jitter -> release. Pure logic: the caller
 * passes the time and does the I/O. */
#ifndef LK_LINK_H
#define LK_LINK_H
#include <stdbool.h>
#include <stdint.h>
#include "emu/linkem/loss.h"
#include "emu/linkem/queue.h"
#include "emu/linkem/rng.h"
#include "emu/linkem/spec.h"
#include "emu/linkem/trace.h"

enum lk_verdict { LK_PASS, LK_DROP_LOSS, LK_DROP_QUEUE, LK_DROP_DOWN, LK_DROP_TOOLONG };
extern const char *const lk_verdict_name[];

#define LK_LATE_BUCKETS 10000 /* 1 us each; last bucket collects the overflow */

struct lk_counters {
    uint64_t pkts_in, bytes_in, pkts_out, bytes_out;
    uint64_t drop[5]; /* indexed by lk_verdict */
    uint64_t send_fail, csum_fixed;
    uint64_t stamp_fallback; /* frames without a usable kernel receive stamp */
    uint64_t kernel_drops;   /* frames the kernel dropped before we read them (overload) */
    uint64_t hwm_pkts, hwm_bytes;
    uint64_t late_hist[LK_LATE_BUCKETS]; /* release lateness, us */
};

struct lk_dir {
    char name[4];
    struct lk_params p;
    struct lk_rng rng_loss, rng_jit;
    struct lk_loss loss;
    struct lk_trace trace;
    struct lk_trace_cur tcur;
    struct lk_fifo q;
    uint64_t next_idx;
    uint64_t bneck_free; /* rate mode: when the bottleneck has sent the last admitted frame */
    uint64_t last_rel;
    uint64_t t0; /* start of the emulation (trace time 0) */
    struct lk_counters c;
};

int lk_dir_init(struct lk_dir *d, const char *name, const struct lk_params *p, uint64_t t0,
                char *err, size_t errlen);
void lk_dir_free(struct lk_dir *d);

/* Applies a parameter change (schedule). Returns 0 or -1 (trace failed to load; the
 * previous parameters stay). */
int lk_dir_update(struct lk_dir *d, const struct lk_params *upd, char *err, size_t errlen);

/* A frame arrived at now. Returns LK_PASS when it was queued; *idx gets its arrival index. */
enum lk_verdict lk_dir_arrive(struct lk_dir *d, uint64_t now, bool down, const void *frame,
                              uint32_t len, uint64_t *idx);

/* The uniform jitter offset in [-j, +j] for one draw u in [0,1). */
int64_t lk_jitter_offset(uint64_t jitter_ns, double u);

/* Records how late a frame left compared to its release time. */
void lk_dir_note_sent(struct lk_dir *d, uint32_t len, uint64_t t_rel, uint64_t t_sent);

/* Percentile (0..1) of the release lateness in us, from the histogram. */
double lk_late_pct(const struct lk_counters *c, double q);
#endif
