/* One direction's packets in flight: a ring of frame slots in arrival order plus a min-heap
 * on release time. The ring keeps the drop-tail accounting of the bottleneck (packets whose
 * serialization has not ended yet); the heap gives the next packet to release (with
 * reorder=0 release times never decrease, so the heap degenerates to the FIFO order).
 * No I/O; time is passed in. */
#ifndef LK_QUEUE_H
#define LK_QUEUE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_SLOT_BYTES 2048 /* largest frame carried: MTU 2000 + Ethernet header */

struct lk_slot {
    uint64_t idx;                   /* per-direction arrival index */
    uint64_t t_arr, t_bneck, t_rel; /* CLOCK_MONOTONIC ns */
    uint32_t len;
    bool done; /* released, waiting for lk_fifo_reclaim */
};

struct lk_fifo {
    struct lk_slot *slot;
    uint8_t *buf;   /* cap * LK_SLOT_BYTES */
    uint64_t *heap; /* sequence numbers, ordered by (t_rel, seq) */
    uint32_t heap_n, cap, max_cap;
    uint64_t head, tail; /* sequence numbers; slot of seq s is s & (cap-1) */
    uint64_t bq_seq;     /* first seq still in the bottleneck */
    uint64_t bq_pkts, bq_bytes;
};

int lk_fifo_init(struct lk_fifo *q, uint32_t init_cap, uint32_t max_cap); /* powers of 2 */
void lk_fifo_free(struct lk_fifo *q);

static inline struct lk_slot *lk_fifo_slot(struct lk_fifo *q, uint64_t seq)
{
    return &q->slot[seq & (q->cap - 1)];
}
static inline uint8_t *lk_fifo_data(struct lk_fifo *q, uint64_t seq)
{
    return q->buf + (size_t)(seq & (q->cap - 1)) * LK_SLOT_BYTES;
}

/* Serialization time of len bytes at rate_bps (0 = unlimited), rounded up to whole ns. */
uint64_t lk_ser_ns(uint32_t len, uint64_t rate_bps);

/* Forget packets whose serialization ended at or before now (they left the bottleneck). */
void lk_fifo_advance(struct lk_fifo *q, uint64_t now);

/* Drop-tail test for a len-byte arrival (call lk_fifo_advance first): true if it fits under
 * the limits (0 = no limit) and a slot is free (the ring grows up to max_cap). */
bool lk_fifo_admit(struct lk_fifo *q, uint32_t len, uint64_t lim_pkts, uint64_t lim_bytes);

/* Stores a frame (len <= LK_SLOT_BYTES) admitted by lk_fifo_admit. */
void lk_fifo_push(struct lk_fifo *q, const void *data, uint32_t len, uint64_t idx, uint64_t t_arr,
                  uint64_t t_bneck, uint64_t t_rel);

/* Release time of the next packet to leave, UINT64_MAX when empty. */
uint64_t lk_fifo_next_rel(const struct lk_fifo *q);

/* Takes the next packet due at now (t_rel <= now) off the heap and returns its seq, or -1.
 * Its slot stays valid until lk_fifo_reclaim. */
int64_t lk_fifo_pop_due(struct lk_fifo *q, uint64_t now);
void lk_fifo_reclaim(struct lk_fifo *q);

/* Packets held (admitted, not yet released). */
static inline uint64_t lk_fifo_held(const struct lk_fifo *q) { return q->heap_n; }

/* Drops everything held (link down): calls fn for each, in arrival order, then empties. */
void lk_fifo_flush(struct lk_fifo *q, void (*fn)(void *ctx, const struct lk_slot *s), void *ctx);
#endif
