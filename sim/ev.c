/* The event queue: a binary min-heap ordered by (time, insertion sequence), so events at the
 * same instant run in the order they were scheduled and a run is deterministic. */
#include <stdlib.h>
#include "sim/sim.h"

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_evq_free(struct sim_evq *q)
{
    free(q->h);
    *q = (struct sim_evq){ 0 };
}

int sim_at(struct sim *s, uint64_t t, sim_fn fn, void *arg, uint64_t u)
{
    struct sim_evq *q = &s->evq;
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 256;
        struct sim_ev *h = realloc(q->h, nc * sizeof *h);
        if (!h) return -1;
        q->h = h, q->cap = nc;
    }
    if (t < s->now) t = s->now; /* the past is now: causality over arithmetic */
    struct sim_ev e = { t, q->seq++, fn, arg, u };
    size_t i = q->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!ev_before(&e, &q->h[up])) break;
        q->h[i] = q->h[up];
        i = up;
    }
    q->h[i] = e;
    return 0;
}

static struct sim_ev ev_pop(struct sim_evq *q)
{
    struct sim_ev top = q->h[0], last = q->h[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n) break;
        if (c + 1 < q->n && ev_before(&q->h[c + 1], &q->h[c])) c++;
        if (!ev_before(&q->h[c], &last)) break;
        q->h[i] = q->h[c];
        i = c;
    }
    if (q->n) q->h[i] = last;
    return top;
}

uint64_t sim_run(struct sim *s, uint64_t until)
{
    uint64_t ran = 0;
    while (s->evq.n && s->evq.h[0].t <= until) {
        struct sim_ev e = ev_pop(&s->evq);
        s->now = e.t;
        e.fn(s, e.arg, e.u);
        ran++;
    }
    return ran;
}
