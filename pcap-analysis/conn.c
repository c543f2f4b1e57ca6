/* Connection table: a chained hash over the unordered 4-tuple. A new SYN with another ISN on
 * a known 4-tuple starts a new connection (port reuse), so connections are 4-tuple + ISN. */
#include "pcap-analysis/conn.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

/* A many-connection capture takes ~10 KB of heap per connection: 2 MB pages for the heap cut
 * the page faults (and the kernel's page clearing) of a 1M-packet capture by a fifth of the
 * run time. glibc grows the heap in 64 MB steps; each step is advised once, when seen. Best
 * effort: without transparent huge pages (or with brk unavailable) nothing changes. */
static uintptr_t heap_advised;
static void heap_hugepages(void)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    void *top = sbrk(0);
    if (top == (void *)-1) return;
    uintptr_t end = (uintptr_t)top & ~(huge - 1);
    if (!heap_advised) { heap_advised = end + huge; return; }
    if (end <= heap_advised) return;
    (void)madvise((void *)heap_advised, end - heap_advised, MADV_HUGEPAGE);
    heap_advised = end;
}

void an_table_init(an_table *t)
{
    mallopt(M_TOP_PAD, 64 << 20);
    heap_hugepages();
    memset(t, 0, sizeof *t);
    t->tabsz = 4096;
    t->tab = calloc(t->tabsz, sizeof *t->tab);
    if (!t->tab) { perror("calloc"); exit(2); }
}

void an_table_free(an_table *t)
{
    an_conn *c = t->head;
    while (c) {
        an_conn *n = c->next;
        free(c->v);
        free(c->d[0].head);
        free(c->d[1].head);
        free(c);
        c = n;
    }
    free(t->tab);
    memset(t, 0, sizeof *t);
}

static uint64_t hash_tuple(int af, const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
    /* order-independent: hash the two endpoints separately and combine symmetrically */
    size_t n = af == 6 ? 16 : 4;
    uint64_t ha = 1469598103934665603ULL, hb = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { ha = (ha ^ a[i]) * 1099511628211ULL; hb = (hb ^ b[i]) * 1099511628211ULL; }
    ha = (ha ^ pa) * 1099511628211ULL;
    hb = (hb ^ pb) * 1099511628211ULL;
    return (ha + hb) ^ ((ha ^ hb) >> 17) ^ (ha * hb);
}

static int match(const an_conn *c, int file_idx, const mpx_pkt *p)
{
    size_t n = p->af == 6 ? 16 : 4;
    if (c->file_idx != file_idx || c->af != p->af) return -1;
    if (c->cport == p->sport && c->sport == p->dport &&
        !memcmp(c->cli, p->src, n) && !memcmp(c->srv, p->dst, n)) return 0;
    if (c->cport == p->dport && c->sport == p->sport &&
        !memcmp(c->cli, p->dst, n) && !memcmp(c->srv, p->src, n)) return 1;
    return -1;
}

static void grow(an_table *t)
{
    size_t nsz = t->tabsz * 4;
    an_conn **nt = calloc(nsz, sizeof *nt);
    if (!nt) return; /* keep the old table: longer chains, still correct */
    /* re-insert oldest first so chains stay newest-first */
    for (an_conn *c = t->head; c; c = c->next) {
        uint64_t h = hash_tuple(c->af, c->cli, c->cport, c->srv, c->sport) % nsz;
        c->hnext = nt[h];
        nt[h] = c;
    }
    free(t->tab);
    t->tab = nt;
    t->tabsz = nsz;
}

static an_conn *create(an_table *t, int file_idx, const mpx_pkt *p, bool src_is_client)
{
    heap_hugepages();
    if (t->count + 1 > t->tabsz) grow(t);
    an_conn *c = calloc(1, sizeof *c);
    if (!c) { perror("calloc"); exit(2); }
    c->file_idx = file_idx;
    c->af = p->af;
    size_t n = p->af == 6 ? 16 : 4;
    if (src_is_client) {
        memcpy(c->cli, p->src, n); memcpy(c->srv, p->dst, n);
        c->cport = p->sport; c->sport = p->dport;
    } else {
        memcpy(c->cli, p->dst, n); memcpy(c->srv, p->src, n);
        c->cport = p->dport; c->sport = p->sport;
    }
    c->t_first = p->t_us;
    c->t_syn = c->t_synack = c->t_ack = AN_NONE;
    c->t_fin[0] = c->t_fin[1] = c->t_rst = AN_NONE;
    c->t_first_req = c->t_first_resp = AN_NONE;
    c->syn_opt_bytes = c->synack_opt_bytes = -1;
    c->mpc_version = -1;
    c->nsubflows = 1;
    c->convert_error = c->socks_reply = -1;
    uint64_t h = hash_tuple(c->af, c->cli, c->cport, c->srv, c->sport) % t->tabsz;
    c->hnext = t->tab[h];
    t->tab[h] = c;
    if (t->tail) t->tail->next = c; else t->head = c;
    t->tail = c;
    t->count++;
    c->id = t->count;
    return c;
}

an_conn *an_lookup(an_table *t, int file_idx, const mpx_pkt *p, int *dir)
{
    uint64_t h = hash_tuple(p->af, p->src, p->sport, p->dst, p->dport) % t->tabsz;
    an_conn *found = NULL;
    int fdir = -1;
    for (an_conn *c = t->tab[h]; c; c = c->hnext) {
        int d = match(c, file_idx, p);
        if (d >= 0) { found = c; fdir = d; break; }
    }
    bool syn = (p->flags & TH_SYN) && !(p->flags & TH_ACK);
    bool synack = (p->flags & TH_SYN) && (p->flags & TH_ACK);
    if (found) {
        if (syn) {
            /* same ISN from the same side: a retransmitted SYN */
            if (fdir == 0 && found->d[0].have_isn && found->d[0].isn == p->seq) { *dir = 0; return found; }
            /* a SYN on a 4-tuple seen only mid-stream, or a new ISN: new connection */
        } else if (synack && fdir == 0 && found->saw_syn) {
            /* SYN/ACK from the side that sent the SYN: simultaneous open, keep it */
            *dir = fdir; return found;
        } else {
            *dir = fdir; return found;
        }
    }
    bool src_client;
    if (syn) src_client = true;
    else if (synack) src_client = false;
    else src_client = p->sport > p->dport || (p->sport == p->dport);
    an_conn *c = create(t, file_idx, p, src_client);
    *dir = src_client ? 0 : 1;
    return c;
}

void an_violation(an_conn *c, const char *rule, uint64_t pkt, int64_t t_us, const char *fmt, ...)
{
    c->nv_total++;
    if (c->nv == c->capv) {
        size_t ncap = c->capv ? c->capv * 2 : 8;
        an_viol *nv = ncap <= AN_VIOL_STORE ? realloc(c->v, ncap * sizeof *nv) : NULL;
        if (!nv) {
            /* details of a pathological capture stop here; the count goes on, per rule */
            size_t i;
            for (i = 0; i < sizeof c->vmore / sizeof *c->vmore && c->vmore[i].rule; i++)
                if (!strcmp(c->vmore[i].rule, rule)) break;
            if (i == sizeof c->vmore / sizeof *c->vmore) { c->vmore_other++; return; }
            c->vmore[i].rule = rule;
            c->vmore[i].n++;
            return;
        }
        c->v = nv; c->capv = ncap;
    }
    an_viol *v = &c->v[c->nv++];
    v->rule = rule;
    v->pkt = pkt;
    v->t_us = t_us;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
}
