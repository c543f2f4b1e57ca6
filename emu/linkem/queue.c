#include "emu/linkem/queue.h"

#include <stdlib.h>
#include <string.h>

int lk_fifo_init(struct lk_fifo *q, uint32_t init_cap, uint32_t max_cap)
{
    memset(q, 0, sizeof(*q));
    q->cap = init_cap, q->max_cap = max_cap;
    q->slot = calloc(init_cap, sizeof(*q->slot));
    q->buf = malloc((size_t)init_cap * LK_SLOT_BYTES);
    q->heap = malloc((size_t)init_cap * sizeof(*q->heap));
    if (!q->slot || !q->buf || !q->heap) {
        lk_fifo_free(q);
        return -1;
    }
    return 0;
}

void lk_fifo_free(struct lk_fifo *q)
{
    free(q->slot);
    free(q->buf);
    free(q->heap);
    q->slot = NULL, q->buf = NULL, q->heap = NULL;
}

uint64_t lk_ser_ns(uint32_t len, uint64_t rate_bps)
{
    if (!rate_bps) return 0;
    /* len*8e9 < 2^64 for any frame; unsigned __int128 keeps it exact for odd rates */
    unsigned __int128 bits_ns = (unsigned __int128)len * 8u * 1000000000u;
    return (uint64_t)((bits_ns + rate_bps - 1) / rate_bps);
}

void lk_fifo_advance(struct lk_fifo *q, uint64_t now)
{
    while (q->bq_seq < q->tail) {
        struct lk_slot *s = lk_fifo_slot(q, q->bq_seq);
        if (s->t_bneck > now) break;
        q->bq_pkts--, q->bq_bytes -= s->len;
        q->bq_seq++;
    }
}

/* Doubles the ring, keeping every live seq at seq & (newcap-1). */
static int grow(struct lk_fifo *q)
{
    uint32_t nc = q->cap * 2;
    struct lk_slot *ns = calloc(nc, sizeof(*ns));
    uint8_t *nb = malloc((size_t)nc * LK_SLOT_BYTES);
    uint64_t *nh = realloc(q->heap, (size_t)nc * sizeof(*nh));
    if (!ns || !nb || !nh) {
        free(ns);
        free(nb);
        if (nh) q->heap = nh;
        return -1;
    }
    q->heap = nh;
    for (uint64_t s = q->head; s < q->tail; s++) {
        ns[s & (nc - 1)] = q->slot[s & (q->cap - 1)];
        memcpy(nb + (size_t)(s & (nc - 1)) * LK_SLOT_BYTES,
               q->buf + (size_t)(s & (q->cap - 1)) * LK_SLOT_BYTES, q->slot[s & (q->cap - 1)].len);
    }
    free(q->slot);
    free(q->buf);
    q->slot = ns, q->buf = nb, q->cap = nc;
    return 0;
}

bool lk_fifo_admit(struct lk_fifo *q, uint32_t len, uint64_t lim_pkts, uint64_t lim_bytes)
{
    if (lim_pkts && q->bq_pkts + 1 > lim_pkts) return false;
    if (lim_bytes && q->bq_bytes + len > lim_bytes) return false;
    if (q->tail - q->head == q->cap && (q->cap >= q->max_cap || grow(q))) return false;
    return true;
}

static bool before(const struct lk_fifo *q, uint64_t a, uint64_t b)
{
    uint64_t ta = q->slot[a & (q->cap - 1)].t_rel, tb = q->slot[b & (q->cap - 1)].t_rel;
    return ta < tb || (ta == tb && a < b);
}

void lk_fifo_push(struct lk_fifo *q, const void *data, uint32_t len, uint64_t idx, uint64_t t_arr,
                  uint64_t t_bneck, uint64_t t_rel)
{
    uint64_t seq = q->tail++;
    struct lk_slot *s = lk_fifo_slot(q, seq);
    *s = (struct lk_slot){
        .idx = idx, .t_arr = t_arr, .t_bneck = t_bneck, .t_rel = t_rel, .len = len
    };
    memcpy(lk_fifo_data(q, seq), data, len);
    q->bq_pkts++, q->bq_bytes += len;
    uint32_t i = q->heap_n++; /* sift up */
    while (i && before(q, seq, q->heap[(i - 1) / 2])) {
        q->heap[i] = q->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->heap[i] = seq;
}

uint64_t lk_fifo_next_rel(const struct lk_fifo *q)
{
    return q->heap_n ? q->slot[q->heap[0] & (q->cap - 1)].t_rel : UINT64_MAX;
}

int64_t lk_fifo_pop_due(struct lk_fifo *q, uint64_t now)
{
    if (!q->heap_n || lk_fifo_next_rel(q) > now) return -1;
    uint64_t top = q->heap[0], last = q->heap[--q->heap_n];
    uint32_t i = 0, n = q->heap_n; /* sift down */
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(q, q->heap[c + 1], q->heap[c])) c++;
        if (!before(q, q->heap[c], last)) break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (n) q->heap[i] = last;
    lk_fifo_slot(q, top)->done = true;
    return (int64_t)top;
}

void lk_fifo_reclaim(struct lk_fifo *q)
{
    while (q->head < q->tail && lk_fifo_slot(q, q->head)->done) {
        if (q->bq_seq == q->head) { /* released before advance() saw it leave */
            q->bq_pkts--, q->bq_bytes -= lk_fifo_slot(q, q->head)->len;
            q->bq_seq++;
        }
        q->head++;
    }
}

void lk_fifo_flush(struct lk_fifo *q, void (*fn)(void *ctx, const struct lk_slot *s), void *ctx)
{
    for (uint64_t s = q->head; s < q->tail; s++) {
        struct lk_slot *sl = lk_fifo_slot(q, s);
        if (!sl->done && fn) fn(ctx, sl);
    }
    q->head = q->tail = q->bq_seq = 0;
    q->bq_pkts = q->bq_bytes = 0;
    q->heap_n = 0;
}
