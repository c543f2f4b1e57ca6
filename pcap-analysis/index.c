/* Endpoint index for the cross-capture joins (see index.h). */
#include "pcap-analysis/index.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t alen(int af) { return af == 6 ? 16 : 4; }

void an_ep_key_of(an_ep_key *k, const an_conn *c, int file)
{
    memset(k, 0, sizeof *k);
    k->af = c->af;
    memcpy(k->ip, c->srv, alen(c->af));
    k->port = c->sport;
    k->file = file;
}

/* endpoint (and file) order; 0 when equal */
static int key_cmp(const an_ep_key *a, const an_ep_key *b)
{
    if (a->af != b->af) return a->af < b->af ? -1 : 1;
    int r = memcmp(a->ip, b->ip, sizeof a->ip);
    if (r) return r;
    if (a->port != b->port) return a->port < b->port ? -1 : 1;
    if (a->file != b->file) return a->file < b->file ? -1 : 1;
    return 0;
}

static bool g_by_file;   /* qsort has no context argument */

static void key_of_entry(an_ep_key *k, const an_conn *c, bool by_file)
{
    an_ep_key_of(k, c, by_file ? c->file_idx : -1);
}

static int entry_cmp(const void *pa, const void *pb)
{
    const an_conn *a = *(an_conn *const *)pa, *b = *(an_conn *const *)pb;
    an_ep_key ka, kb;
    key_of_entry(&ka, a, g_by_file);
    key_of_entry(&kb, b, g_by_file);
    int r = key_cmp(&ka, &kb);
    if (r) return r;
    /* the joins take the earliest SYN; equal times go to the connection seen first */
    if (a->t_syn != b->t_syn) return a->t_syn < b->t_syn ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static uint64_t key_hash(const an_ep_key *k)
{
    uint64_t h = 1469598103934665603ULL;
    const uint8_t *ip = k->ip;
    for (size_t i = 0; i < sizeof k->ip; i++) h = (h ^ ip[i]) * 1099511628211ULL;
    h = (h ^ (uint64_t)k->af) * 1099511628211ULL;
    h = (h ^ k->port) * 1099511628211ULL;
    h = (h ^ (uint64_t)(uint32_t)k->file) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) { perror("calloc"); exit(2); }
    return p;
}

void an_epidx_build(an_epidx *ix, const an_table *t, bool (*keep)(const an_conn *), bool by_file)
{
    memset(ix, 0, sizeof *ix);
    ix->by_file = by_file;
    size_t n = 0;
    for (an_conn *c = t->head; c; c = c->next) n += keep(c);
    ix->e = xcalloc(n, sizeof *ix->e);
    ix->nxt = xcalloc(n + 1, sizeof *ix->nxt);
    for (an_conn *c = t->head; c; c = c->next)
        if (keep(c)) ix->e[ix->n++] = c;
    g_by_file = by_file;
    qsort(ix->e, ix->n, sizeof *ix->e, entry_cmp);
    for (size_t i = 0; i <= ix->n; i++) ix->nxt[i] = i;
    size_t hsz = 16;
    while (hsz < 2 * ix->n) hsz *= 2;
    ix->hash = xcalloc(hsz, sizeof *ix->hash);
    ix->hmask = hsz - 1;
    an_ep_key prev = { 0 }, k;
    for (size_t i = 0; i < ix->n; i++) {
        key_of_entry(&k, ix->e[i], by_file);
        if (i && !key_cmp(&k, &prev)) continue;
        prev = k;
        size_t h = key_hash(&k) & ix->hmask;
        while (ix->hash[h]) h = (h + 1) & ix->hmask;
        ix->hash[h] = i + 1;
    }
}

void an_epidx_free(an_epidx *ix)
{
    free(ix->e);
    free(ix->nxt);
    free(ix->hash);
    memset(ix, 0, sizeof *ix);
}

size_t an_epidx_free_from(an_epidx *ix, size_t i)
{
    size_t r = i;
    while (ix->nxt[r] != r) r = ix->nxt[r];
    while (ix->nxt[i] != r) { size_t n = ix->nxt[i]; ix->nxt[i] = r; i = n; }   /* path compression */
    return r;
}

void an_epidx_take(an_epidx *ix, size_t i)
{
    if (i < ix->n) ix->nxt[i] = i + 1;
}

size_t an_epidx_find(an_epidx *ix, const an_ep_key *k, int64_t t, size_t *end)
{
    *end = 0;
    if (!ix->n) return 0;
    an_ep_key q = *k, ek;
    if (!ix->by_file) q.file = -1;
    size_t h = key_hash(&q) & ix->hmask, start = SIZE_MAX;
    for (; ix->hash[h]; h = (h + 1) & ix->hmask) {
        key_of_entry(&ek, ix->e[ix->hash[h] - 1], ix->by_file);
        if (!key_cmp(&ek, &q)) { start = ix->hash[h] - 1; break; }
    }
    if (start == SIZE_MAX) return 0;
    size_t lo = start, hi = start;
    /* the group's end: gallop, then bisect (groups are contiguous) */
    for (size_t step = 1;; step *= 2) {
        size_t j = start + step < ix->n ? start + step : ix->n;
        if (j == ix->n) { hi = ix->n; break; }
        key_of_entry(&ek, ix->e[j], ix->by_file);
        if (key_cmp(&ek, &q)) { hi = j; break; }
        lo = j;
    }
    while (lo + 1 < hi) {
        size_t m = lo + (hi - lo) / 2;
        key_of_entry(&ek, ix->e[m], ix->by_file);
        if (key_cmp(&ek, &q)) hi = m; else lo = m;
    }
    *end = hi;
    /* first SYN at or after t */
    lo = start; hi = *end;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (ix->e[m]->t_syn < t) lo = m + 1; else hi = m;
    }
    size_t i = an_epidx_free_from(ix, lo);
    return i < *end ? i : *end;
}
