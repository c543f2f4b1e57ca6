/* mpx-pcapgen: makes many-connection captures from an experiment's captures by replicating
 * every connection N times, so mpx-analyze can be measured and tested at any size on
 * traffic shaped like the experiments (packets per connection, upstream + downstream
 * captures, joins, signals, implicit interception).
 *
 *   mpx-pcapgen [--copies N | --packets P] [--linktype sll|en10mb] IN OUT [IN OUT ...]
 *
 * Inputs with overlapping times are one experiment (e.g. dsl.pcap lte.pcap wan.pcap) and keep
 * their relative times; unrelated sets are placed one after the other, 10 s apart. Copy k
 * (k = 0 .. N-1) of every packet is shifted by k * (span of one copy + 10 s), so copies never
 * overlap (the analyzer's 3 s implicit-join window included) and every copy joins exactly
 * like the original. Copy 0 is the input (the earliest set's times unchanged); in copy k >= 1
 *  - the client address of each connection (the SYN's sender; without a SYN the higher
 *    port's side) has k XORed into bytes 0-1 (IPv4) or 2-3 (IPv6), so 4-tuples are unique;
 *    server addresses and ports stay, so signalled targets still name the server;
 *  - MPTCP keys are XORed with a per-copy constant (tokens would otherwise collide) and every
 *    value derived from them is recomputed: MP_JOIN tokens and HMACs, DSS data sequence and
 *    data ACK numbers (shifted by the IDSN difference), ADD_ADDR HMACs, MP_FASTCLOSE keys;
 *    DSS checksums are not recomputed (Linux sends none by default);
 *  - IPv4 header and TCP checksums are updated incrementally (RFC 1624), so a sum that was
 *    right stays right and one left to checksum offload stays as wrong as it was.
 * --linktype sll / en10mb writes Linux cooked (v1) / Ethernet frames instead of the input's link
 * layer (the IP packets unchanged).
 * Exit 0 ok, 2 usage or input error, 3 write error. */
#include "proto/mptcp.h"
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t  t;
    uint32_t caplen, len;
    uint8_t *data;
} gpkt;

typedef struct {
    const char *in, *out;
    int         dlt;
    uint32_t    snaplen;
    gpkt       *p;
    size_t      n, cap;
    int64_t     tmin, tmax;   /* first and last timestamp */
    int64_t     off;          /* added to place its time cluster (see main) */
} gfile;

typedef struct gconn gconn;
struct gconn {
    gconn   *next;
    int      af;
    uint8_t  cli[16], srv[16];
    uint16_t cport, sport;
    bool     have_key[2];         /* [0] client, [1] server */
    uint64_t key[2];
    int      ver;
    bool     is_join;
    uint32_t join_token;
    uint32_t nonce[2];
    size_t   idsn_copy;           /* copy the cached IDSNs are for (0 = none) */
    uint64_t idsn_old[2], idsn_new[2];
};

#define HSZ 65536u
static gconn *htab[HSZ];

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)(v >> 32)); wr32(p + 4, (uint32_t)v); }

/* splitmix64: a well-mixed 64-bit value per seed */
static uint64_t splitmix(uint64_t seed)
{
    uint64_t z = (seed + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (z ^ (z >> 31)) | 1;
}

/* Layer-3 offset of a frame, or -1. */
static long l3_off(int dlt, const uint8_t *p, size_t caplen)
{
    switch (dlt) {
    case DLT_EN10MB: {
        size_t off = 12;
        if (caplen < 14) return -1;
        uint16_t et = (uint16_t)(p[off] << 8 | p[off + 1]);
        while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && caplen >= off + 6) {
            off += 4;
            et = (uint16_t)(p[off] << 8 | p[off + 1]);
        }
        return (et == 0x0800 || et == 0x86dd) ? (long)off + 2 : -1;
    }
    case DLT_LINUX_SLL: return caplen >= 16 ? 16 : -1;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2: return caplen >= 20 ? 20 : -1;
#endif
    case DLT_RAW: return 0;
    case DLT_NULL: case DLT_LOOP: return caplen >= 4 ? 4 : -1;
    default: return -1;
    }
}

/* The TCP segment of a frame: addresses, TCP header and its captured length. */
typedef struct {
    int      af;
    uint8_t *ip, *src, *dst, *tcp;
    size_t   tcp_cap;             /* captured bytes from the TCP header on */
    size_t   alen;
} gseg;

static bool find_tcp(int dlt, uint8_t *p, size_t caplen, gseg *s)
{
    long o = l3_off(dlt, p, caplen);
    if (o < 0 || (size_t)o >= caplen) return false;
    uint8_t *ip = p + o;
    size_t rem = caplen - (size_t)o;
    if ((ip[0] >> 4) == 4) {
        if (rem < 20) return false;
        size_t ihl = (size_t)(ip[0] & 15) * 4;
        if (ihl < 20 || rem < ihl || ip[9] != 6 || ((ip[6] << 8 | ip[7]) & 0x1fff)) return false;
        s->af = 4; s->alen = 4; s->src = ip + 12; s->dst = ip + 16; s->tcp = ip + ihl; s->tcp_cap = rem - ihl;
    } else if ((ip[0] >> 4) == 6) {
        if (rem < 40 || ip[6] != 6) return false;   /* extension headers: left as they are */
        s->af = 6; s->alen = 16; s->src = ip + 8; s->dst = ip + 24; s->tcp = ip + 40; s->tcp_cap = rem - 40;
    } else return false;
    s->ip = ip;
    return s->tcp_cap >= 20;
}

static uint32_t hash_ep(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb, size_t n)
{
    uint64_t ha = 1469598103934665603ULL, hb = ha;
    for (size_t i = 0; i < n; i++) { ha = (ha ^ a[i]) * 1099511628211ULL; hb = (hb ^ b[i]) * 1099511628211ULL; }
    ha = (ha ^ pa) * 1099511628211ULL;
    hb = (hb ^ pb) * 1099511628211ULL;
    return (uint32_t)((ha + hb) ^ ((ha + hb) >> 29)) % HSZ;
}

/* Connection of a segment (dir 0: src is the client); creates it in pass 1. */
static gconn *conn_of(const gseg *s, bool create, int *dir)
{
    uint16_t sp = (uint16_t)(s->tcp[0] << 8 | s->tcp[1]), dp = (uint16_t)(s->tcp[2] << 8 | s->tcp[3]);
    uint32_t h = hash_ep(s->src, sp, s->dst, dp, s->alen);
    for (gconn *c = htab[h]; c; c = c->next) {
        if (c->af != s->af) continue;
        if (c->cport == sp && c->sport == dp && !memcmp(c->cli, s->src, s->alen) && !memcmp(c->srv, s->dst, s->alen)) { *dir = 0; return c; }
        if (c->cport == dp && c->sport == sp && !memcmp(c->cli, s->dst, s->alen) && !memcmp(c->srv, s->src, s->alen)) { *dir = 1; return c; }
    }
    if (!create) return NULL;
    gconn *c = calloc(1, sizeof *c);
    if (!c) { perror("calloc"); exit(2); }
    uint8_t fl = s->tcp[13];
    bool src_cli;
    if ((fl & 0x12) == 0x02) src_cli = true;
    else if ((fl & 0x12) == 0x12) src_cli = false;
    else src_cli = sp >= dp;
    c->af = s->af;
    memcpy(c->cli, src_cli ? s->src : s->dst, s->alen);
    memcpy(c->srv, src_cli ? s->dst : s->src, s->alen);
    c->cport = src_cli ? sp : dp;
    c->sport = src_cli ? dp : sp;
    c->ver = 1;
    c->next = htab[h];
    htab[h] = c;
    *dir = src_cli ? 0 : 1;
    return c;
}

/* Calls fn for every MPTCP option of the segment's captured option area. */
typedef void (*opt_fn)(gconn *c, int dir, uint8_t flags, uint8_t *o, size_t len, size_t k);

static void each_mptcp(const gseg *s, gconn *c, int dir, opt_fn fn, size_t k)
{
    size_t doff = (size_t)(s->tcp[12] >> 4) * 4;
    if (doff < 20) return;
    size_t end = doff < s->tcp_cap ? doff : s->tcp_cap;
    uint8_t *o = s->tcp;
    for (size_t i = 20; i < end;) {
        uint8_t kind = o[i];
        if (kind == 0) break;
        if (kind == 1) { i++; continue; }
        if (i + 1 >= end || o[i + 1] < 2 || i + o[i + 1] > end) break;
        size_t len = o[i + 1];
        if (kind == 30 && len >= 3) fn(c, dir, s->tcp[13], o + i, len, k);
        i += len;
    }
}

/* pass 1: keys, versions, join tokens and nonces */
static void learn(gconn *c, int dir, uint8_t flags, uint8_t *o, size_t len, size_t k)
{
    (void)k;
    uint8_t sub = o[2] >> 4;
    bool syn = flags & 0x02, ack = flags & 0x10;
    if (sub == MPX_MP_CAPABLE && len >= 12) {
        c->ver = o[2] & 15;
        c->have_key[dir] = true; c->key[dir] = rd64(o + 4);
        if (len >= 20 && !syn) { c->have_key[!dir] = true; c->key[!dir] = rd64(o + 12); }
    } else if (sub == MPX_MP_JOIN && syn && !ack && len == 12) {
        c->is_join = true; c->join_token = rd32(o + 4); c->nonce[0] = rd32(o + 8);
    } else if (sub == MPX_MP_JOIN && syn && ack && len == 16) {
        c->nonce[1] = rd32(o + 12);
    }
}

static uint64_t *g_mix;   /* per copy: XORed into every MPTCP key (0 for copy 0) */
static uint64_t knew(const gconn *c, int side, size_t k) { return c->key[side] ^ g_mix[k]; }

static void idsn_cache(gconn *c, size_t k)
{
    if (c->idsn_copy == k) return;
    for (int s = 0; s < 2; s++) {
        if (!c->have_key[s]) continue;
        c->idsn_old[s] = mpx_mptcp_idsn(c->key[s], c->ver);
        c->idsn_new[s] = mpx_mptcp_idsn(knew(c, s, k), c->ver);
    }
    c->idsn_copy = k;
}

static uint32_t csum_add(uint32_t acc, const uint8_t *p, size_t n);
static void csum_fix(uint8_t *field, uint32_t old_sum, uint32_t new_sum);
/* DSS checksum: its pseudo-header holds the 64-bit DSN (RFC 8684 3.3.1) */
static void dss_csum_fix(uint8_t *field, uint64_t old64, uint64_t new64)
{
    uint8_t a[8], b[8];
    wr64(a, old64); wr64(b, new64);
    csum_fix(field, csum_add(0, a, 8), csum_add(0, b, 8));
}

/* copy k >= 1: keys and everything derived from them */
static void rekey(gconn *c, int dir, uint8_t flags, uint8_t *o, size_t len, size_t k)
{
    uint8_t sub = o[2] >> 4;
    bool syn = flags & 0x02, ack = flags & 0x10;
    bool both = c->have_key[0] && c->have_key[1];
    switch (sub) {
    case MPX_MP_CAPABLE:
        if (len >= 12 && c->have_key[dir]) wr64(o + 4, knew(c, dir, k));
        if (len >= 20 && !syn && c->have_key[!dir]) wr64(o + 12, knew(c, !dir, k));
        if (len == 24 && !syn && both) {   /* checksum over DSN = IDSN + 1 */
            idsn_cache(c, k);
            dss_csum_fix(o + 22, c->idsn_old[dir] + 1, c->idsn_new[dir] + 1);
        }
        break;
    case MPX_MP_JOIN:
        if (!both) break;
        /* join subflow: side 1 (its server) is B, whose token the SYN carries */
        if (syn && !ack && len == 12) wr32(o + 4, mpx_mptcp_token(knew(c, 1, k), c->ver));
        else if (syn && ack && len == 16)
            wr64(o + 4, mpx_mptcp_join_hmac64(c->ver, knew(c, 1, k), knew(c, 0, k), rd32(o + 12), c->nonce[0]));
        else if (!syn && len == 24) {
            uint8_t mac[32];
            mpx_mptcp_join_hmac(c->ver, knew(c, 0, k), knew(c, 1, k), c->nonce[0], c->nonce[1], mac);
            memcpy(o + 4, mac, 20);
        }
        break;
    case MPX_MP_DSS: {
        if (!both || len < 4) break;
        idsn_cache(c, k);
        uint8_t f = o[3];
        size_t i = 4;
        if (f & MPX_DSS_A) {
            size_t w = (f & MPX_DSS_a) ? 8 : 4;
            if (i + w > len) break;
            uint64_t d = c->idsn_new[!dir] - c->idsn_old[!dir];
            if (w == 8) wr64(o + i, rd64(o + i) + d); else wr32(o + i, rd32(o + i) + (uint32_t)d);
            i += w;
        }
        if (f & MPX_DSS_M) {
            size_t w = (f & MPX_DSS_m) ? 8 : 4;
            if (i + w > len) break;
            uint64_t d = c->idsn_new[dir] - c->idsn_old[dir];
            /* 64-bit DSN of a 32-bit one: the upper half of the IDSN (what a receiver infers) */
            uint64_t old64 = w == 8 ? rd64(o + i) : (c->idsn_old[dir] & ~0xffffffffULL) | rd32(o + i);
            if (w == 8) wr64(o + i, old64 + d); else wr32(o + i, (uint32_t)(old64 + d));
            if (len == i + w + 8) dss_csum_fix(o + len - 2, old64, old64 + d);
        }
        break;
    }
    case MPX_MP_ADD_ADDR: {
        if (!both) break;
        mpx_mptcp_opt m;
        mpx_err e;
        if (mpx_mptcp_decode(o, len, MPX_MPCTX_ACK, &m, &e) != 0 || !m.u.add_addr.has_hmac) break;
        wr64(o + len - 8, mpx_mptcp_add_addr_hmac(knew(c, dir, k), knew(c, !dir, k), &m.u.add_addr));
        break;
    }
    case MPX_MP_FASTCLOSE:
        if (len == 12 && c->have_key[!dir]) wr64(o + 4, knew(c, !dir, k));
        break;
    default: break;
    }
}

/* ones' complement sum of n bytes (odd tail as a high byte) */
static uint32_t csum_add(uint32_t acc, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (i < n) acc += (uint32_t)(p[i] << 8);
    return acc;
}
static uint16_t fold(uint32_t a) { while (a >> 16) a = (a & 0xffff) + (a >> 16); return (uint16_t)a; }
/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
static void csum_fix(uint8_t *field, uint32_t old_sum, uint32_t new_sum)
{
    uint16_t hc = (uint16_t)(field[0] << 8 | field[1]);
    uint32_t a = (uint16_t)~hc;
    a += (uint16_t)~fold(old_sum);
    a += fold(new_sum);
    uint16_t r = (uint16_t)~fold(a);
    field[0] = (uint8_t)(r >> 8); field[1] = (uint8_t)r;
}

/* TCP header sum without its checksum field (the part rekey() may change) */
static uint32_t tcp_hdr_sum(const gseg *s)
{
    size_t doff = (size_t)(s->tcp[12] >> 4) * 4;
    size_t n = doff < s->tcp_cap ? doff : s->tcp_cap;
    return csum_add(csum_add(0, s->tcp, 16), s->tcp + 18, n - 18);
}

/* Rewrites copy k of a frame in place; returns the direction (0: from the client). */
static int rewrite(gfile *f, uint8_t *p, size_t caplen, size_t k)
{
    gseg s;
    int dir = 0;
    if (!find_tcp(f->dlt, p, caplen, &s)) return 0;
    gconn *c = conn_of(&s, false, &dir);
    if (!c || !k) return dir;
    uint32_t old = csum_add(csum_add(0, s.src, s.alen), s.dst, s.alen);
    uint32_t ip_old = old;
    old += tcp_hdr_sum(&s);
    uint8_t *ca = dir == 0 ? s.src : s.dst;
    size_t at = s.af == 4 ? 0 : 2;
    ca[at] ^= (uint8_t)(k >> 8);
    ca[at + 1] ^= (uint8_t)k;
    each_mptcp(&s, c, dir, rekey, k);
    uint32_t ip_new = csum_add(csum_add(0, s.src, s.alen), s.dst, s.alen);
    uint32_t new = ip_new + tcp_hdr_sum(&s);
    if (s.af == 4) csum_fix(s.ip + 10, ip_old, ip_new);
    csum_fix(s.tcp + 16, old, new);
    return dir;
}

/* Inputs whose time ranges overlap (within 60 s) are one capture set and keep their relative
 * times; unrelated sets (e.g. a recorded experiment and mpx-mkpcap scenarios, years apart)
 * are placed one after the other, 10 s apart, so a copy spans the sets' own durations and
 * not the years between them. Returns the span of one copy. */
static int64_t place_clusters(gfile *fs, size_t nf)
{
    size_t *ord = calloc(nf, sizeof *ord);
    if (!ord) { perror("calloc"); exit(2); }
    for (size_t i = 0; i < nf; i++) ord[i] = i;
    for (size_t i = 1; i < nf; i++)      /* insertion sort by first timestamp: nf is small */
        for (size_t j = i; j > 0 && fs[ord[j]].tmin < fs[ord[j - 1]].tmin; j--) {
            size_t t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t;
        }
    int64_t start = 0, placed_end = 0, cmin = 0, cmax = 0, off = 0;
    for (size_t i = 0; i < nf; i++) {
        gfile *f = &fs[ord[i]];
        if (!f->n) continue;
        if (i == 0 || !placed_end) { cmin = f->tmin; cmax = f->tmax; off = 0; start = f->tmin; }
        else if (f->tmin > cmax + 60000000) {      /* a new set: after the placed ones */
            cmin = f->tmin; cmax = f->tmax;
            off = placed_end + 10000000 - cmin;
        } else if (f->tmax > cmax) cmax = f->tmax;
        f->off = off;
        if (f->tmax + off > placed_end) placed_end = f->tmax + off;
    }
    free(ord);
    return placed_end - start;
}

static void put32le(FILE *f, uint32_t v) { uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) }; fwrite(b, 1, 4, f); }
static void put16le(FILE *f, uint16_t v) { uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) }; fwrite(b, 1, 2, f); }

static void usage(FILE *o)
{
    fputs("usage: mpx-pcapgen [--copies N | --packets P] [--linktype sll|en10mb] IN OUT [IN OUT ...]\n"
          "  Replicates every connection of the input captures (one experiment) N times, shifted\n"
          "  in time, with unique client addresses and MPTCP keys (joins, DSS, HMACs recomputed).\n"
          "  --copies N   copies per input (default 1: the input itself)\n"
          "  --packets P  as many copies as make at least P packets in all outputs together\n"
          "  --linktype sll|en10mb  write Linux cooked (v1) or Ethernet frames instead of the input's\n"
          "               link layer\n"
          "exit: 0 ok, 2 usage or input error, 3 write error\n", o);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "copies", required_argument, 0, 'c' }, { "packets", required_argument, 0, 'p' },
        { "linktype", required_argument, 0, 'l' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    unsigned long long copies = 1, want = 0;
    int olt = -1;   /* output link type, -1: the input's */
    int ch;
    while ((ch = getopt_long(argc, argv, "c:p:l:h", lo, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'c': copies = strtoull(optarg, &end, 10); if (*end || !copies || copies > 65536) { usage(stderr); return 2; } break;
        case 'p': want = strtoull(optarg, &end, 10); if (*end || !want) { usage(stderr); return 2; } break;
        case 'l':
            if (!strcmp(optarg, "sll")) olt = DLT_LINUX_SLL;
            else if (!strcmp(optarg, "en10mb")) olt = DLT_EN10MB;
            else { usage(stderr); return 2; }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int nargs = argc - optind;
    if (nargs < 2 || nargs % 2) { usage(stderr); return 2; }
    size_t nf = (size_t)nargs / 2;
    gfile *fs = calloc(nf, sizeof *fs);
    if (!fs) return 2;
    size_t total = 0;
    for (size_t i = 0; i < nf; i++) {
        gfile *f = &fs[i];
        f->in = argv[optind + 2 * i]; f->out = argv[optind + 2 * i + 1];
        char eb[PCAP_ERRBUF_SIZE] = "";
        pcap_t *pc = pcap_open_offline_with_tstamp_precision(f->in, PCAP_TSTAMP_PRECISION_MICRO, eb);
        if (!pc) { fprintf(stderr, "mpx-pcapgen: %s: %s\n", f->in, eb); return 2; }
        f->dlt = pcap_datalink(pc);
        f->snaplen = (uint32_t)pcap_snapshot(pc);
        struct pcap_pkthdr *h;
        const u_char *d;
        int r;
        while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
            if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 1024;
                gpkt *np = realloc(f->p, f->cap * sizeof *np);
                if (!np) { perror("realloc"); return 2; }
                f->p = np;
            }
            gpkt *g = &f->p[f->n++];
            g->t = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
            g->caplen = h->caplen; g->len = h->len;
            g->data = malloc(h->caplen ? h->caplen : 1);
            if (!g->data) { perror("malloc"); return 2; }
            memcpy(g->data, d, h->caplen);
            if (f->n == 1 || g->t < f->tmin) f->tmin = g->t;
            if (f->n == 1 || g->t > f->tmax) f->tmax = g->t;
            gseg s;
            int dir;
            if (find_tcp(f->dlt, g->data, g->caplen, &s)) {
                gconn *c = conn_of(&s, true, &dir);
                each_mptcp(&s, c, dir, learn, 0);
            }
        }
        if (r == PCAP_ERROR) { fprintf(stderr, "mpx-pcapgen: %s: %s\n", f->in, pcap_geterr(pc)); return 2; }
        pcap_close(pc);
        total += f->n;
    }
    if (!total) { fprintf(stderr, "mpx-pcapgen: no packets in the inputs\n"); return 2; }
    /* join subflows take their keys from the initial subflow whose token they carry */
    for (size_t h = 0; h < HSZ; h++)
        for (gconn *j = htab[h]; j; j = j->next) {
            if (!j->is_join) continue;
            for (size_t h2 = 0; h2 < HSZ && !j->have_key[1]; h2++)
                for (gconn *p = htab[h2]; p; p = p->next) {
                    if (p->is_join || !p->have_key[0] || !p->have_key[1]) continue;
                    for (int s = 0; s < 2; s++)
                        if (mpx_mptcp_token(p->key[s], p->ver) == j->join_token) {
                            j->key[1] = p->key[s]; j->key[0] = p->key[!s];
                            j->have_key[0] = j->have_key[1] = true; j->ver = p->ver;
                        }
                }
        }
    if (want) copies = (want + total - 1) / total;
    if (copies > 65536) { fprintf(stderr, "mpx-pcapgen: more than 65536 copies needed\n"); return 2; }
    /* Per-copy key change whose tokens meet no earlier copy's: 32-bit tokens of 100k+
     * connections collide by chance, and a join would then have two candidate parents. */
    size_t nk = 0;
    for (size_t h = 0; h < HSZ; h++)
        for (gconn *c = htab[h]; c; c = c->next)
            for (int s = 0; s < 2; s++) nk += !c->is_join && c->have_key[s];
    uint64_t *keys = calloc(nk + 1, sizeof *keys);
    int *vers = calloc(nk + 1, sizeof *vers);
    uint32_t *cand = calloc(nk + 1, sizeof *cand);
    size_t tsz = 1024;
    while (tsz < 4 * (nk + 1) * copies) tsz *= 2;
    uint64_t *tset = calloc(tsz, sizeof *tset);    /* token + 1, 0 = empty */
    g_mix = calloc(copies, sizeof *g_mix);
    if (!keys || !vers || !cand || !tset || !g_mix) { perror("calloc"); return 2; }
    nk = 0;
    for (size_t h = 0; h < HSZ; h++)
        for (gconn *c = htab[h]; c; c = c->next)
            for (int s = 0; s < 2; s++)
                if (!c->is_join && c->have_key[s]) { keys[nk] = c->key[s]; vers[nk++] = c->ver; }
    uint64_t seed = 0;
    for (size_t k = 0; k < copies; k++) {
        for (;;) {
            uint64_t m = k ? splitmix(seed++) : 0;
            bool ok = true;
            for (size_t i = 0; i < nk && ok; i++) {
                cand[i] = mpx_mptcp_token(keys[i] ^ m, vers[i]);
                for (size_t j = cand[i] & (tsz - 1); tset[j] && ok; j = (j + 1) & (tsz - 1))
                    ok = tset[j] != (uint64_t)cand[i] + 1;
                for (size_t j = 0; j < i && ok && k; j++)    /* nk is an experiment's: small */
                    ok = cand[j] != cand[i] || keys[j] == keys[i];
            }
            if (!ok && k) continue;
            for (size_t i = 0; i < nk; i++) {
                size_t j = cand[i] & (tsz - 1);
                while (tset[j] && tset[j] != (uint64_t)cand[i] + 1) j = (j + 1) & (tsz - 1);
                tset[j] = (uint64_t)cand[i] + 1;
            }
            g_mix[k] = m;
            break;
        }
    }
    free(keys); free(vers); free(cand); free(tset);
    int64_t shift = place_clusters(fs, nf) + 10000000;
    if ((double)shift * (double)copies + (double)fs[0].tmin > 4.0e15) {
        fprintf(stderr, "mpx-pcapgen: %llu copies would run past the 32-bit pcap seconds\n", copies);
        return 2;
    }
    uint64_t written = 0;
    for (size_t i = 0; i < nf; i++) {
        gfile *f = &fs[i];
        FILE *o = fopen(f->out, "wb");
        if (!o) { perror(f->out); return 3; }
        static char obuf[1 << 20];
        setvbuf(o, obuf, _IOFBF, sizeof obuf);
        int odlt = olt >= 0 ? olt : f->dlt;
        put32le(o, 0xa1b2c3d4); put16le(o, 2); put16le(o, 4);
        put32le(o, 0); put32le(o, 0); put32le(o, f->snaplen); put32le(o, (uint32_t)odlt);
        uint8_t buf[65536 + 64];
        for (size_t k = 0; k < copies; k++) {
            for (size_t n = 0; n < f->n; n++) {
                const gpkt *g = &f->p[n];
                size_t cl = g->caplen < 65536 ? g->caplen : 65536, wl = g->len;
                memcpy(buf, g->data, cl);
                int dir = rewrite(f, buf, cl, k);
                const uint8_t *fr = buf;
                uint8_t hdr[16];
                size_t hl = 0;
                if (odlt != f->dlt) {
                    long l3 = l3_off(f->dlt, buf, cl);
                    if (l3 < 0) continue;   /* not IP: nothing to wrap */
                    memset(hdr, 0, sizeof hdr);
                    bool v6 = (buf[l3] >> 4) == 6;
                    if (odlt == DLT_LINUX_SLL) {
                        hdr[1] = dir ? 0 : 4;            /* incoming to / outgoing from the capturing host */
                        hdr[3] = 1; hdr[5] = 6;          /* ARPHRD_ETHER, 6-byte address */
                        hdr[14] = v6 ? 0x86 : 0x08; hdr[15] = v6 ? 0xdd : 0x00;
                        hl = 16;
                    } else {                         /* two locally administered MACs */
                        memcpy(hdr, dir ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
                        memcpy(hdr + 6, dir ? "\x02\0\0\0\0\x02" : "\x02\0\0\0\0\x01", 6);
                        hdr[12] = v6 ? 0x86 : 0x08; hdr[13] = v6 ? 0xdd : 0x00;
                        hl = 14;
                    }
                    fr = buf + l3; cl -= (size_t)l3; wl -= (size_t)l3;
                }
                int64_t t = g->t + f->off + (int64_t)k * shift;
                put32le(o, (uint32_t)(t / 1000000)); put32le(o, (uint32_t)(t % 1000000));
                put32le(o, (uint32_t)(cl + hl)); put32le(o, (uint32_t)(wl + hl));
                if (hl) fwrite(hdr, 1, hl, o);
                fwrite(fr, 1, cl, o);
                written++;
            }
        }
        if (fclose(o) != 0) { perror(f->out); return 3; }
    }
    fprintf(stderr, "mpx-pcapgen: %llu copies of %zu packets in %zu file(s): %llu packets\n",
            copies, total, nf, (unsigned long long)written);
    return 0;
}
