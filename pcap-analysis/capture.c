/* libpcap reader and link/IP/TCP framing. Every read is checked against caplen; a frame cut
 * by the snaplen inside the TCP options or payload is still returned, flagged truncated. */
#include "pcap-analysis/capture.h"
#include "proto/ippkt.h"
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

struct ng_reader;

struct cap_file {
    pcap_t  *pc;
    struct ng_reader *ng; /* pcapng with mixed link types: read here, not by libpcap */
    FILE    *memf;     /* fmemopen stream for in-memory captures */
    int      dlt;
    uint64_t frames;
    uint64_t skipped[CAP_SKIP_MAX];
};

/* ---- pcapng with interfaces of different link types ---------------------------------
 * libpcap refuses a pcapng file whose interfaces differ in link type; such a file (e.g. one
 * capture of an Ethernet and a cellular raw-IP interface) is read here, each packet with the
 * link type of its own interface. Blocks: Section Header, Interface Description, Enhanced
 * Packet, Simple Packet, (obsolete) Packet; others are skipped. */
#define NG_MAX_IF 64

struct ng_if {
    int dlt;
    uint32_t snaplen;
    uint64_t div, mul;
}; /* ts units -> us: *mul/div */

struct ng_reader {
    const uint8_t *buf;
    uint8_t *own; /* the file's bytes when read from a path */
    size_t len, pos;
    bool swap;
    struct ng_if ifs[NG_MAX_IF];
    unsigned nifs;
    int first_dlt;
};

/* LINKTYPE_ (file) to DLT_ (libpcap) values: the same numbers except raw IP (LINKTYPE_RAW 101). */
static int lt_to_dlt(unsigned lt) { return lt == 101 ? DLT_RAW : (int)lt; }

static uint32_t ng32(const struct ng_reader *r, const uint8_t *p)
{
    return r->swap ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint16_t ng16(const struct ng_reader *r, const uint8_t *p)
{
    return r->swap ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static bool dlt_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_RAW:
    case DLT_NULL:
    case DLT_LOOP:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        return true;
    default: return false;
    }
}

/* Interface Description Block body (after type and length): link type, snaplen, if_tsresol. */
static void ng_idb(struct ng_reader *r, const uint8_t *b, size_t n)
{
    if (r->nifs >= NG_MAX_IF) return;
    struct ng_if *f = &r->ifs[r->nifs++];
    f->dlt = -1; /* a short block: its packets are counted as not IP */
    f->snaplen = 0;
    f->div = 1;
    f->mul = 1; /* default resolution: microseconds */
    if (n < 8) return;
    f->dlt = lt_to_dlt(ng16(r, b));
    f->snaplen = ng32(r, b + 4);
    for (size_t o = 8; o + 4 <= n;) {
        uint16_t code = ng16(r, b + o), ol = ng16(r, b + o + 2);
        if (code == 0 || o + 4 + ol > n) break;
        if (code == 9 && ol >= 1) {
            uint8_t v = b[o + 4];
            uint64_t units = 1;
            bool ok = true;
            if (v & 0x80) {
                if ((v & 0x7f) > 63)
                    ok = false;
                else
                    units = (uint64_t)1 << (v & 0x7f);
            } else {
                if (v > 19)
                    ok = false;
                else
                    for (uint8_t i = 0; i < v; i++) units *= 10;
            }
            /* units per second -> us: t * 1e6 / units */
            if (ok) {
                f->mul = 1000000;
                f->div = units;
            }
        }
        o += 4 + (((size_t)ol + 3) & ~(size_t)3);
    }
    if (r->first_dlt < 0) r->first_dlt = f->dlt;
}

/* Link types of every interface in the file: true when they differ (libpcap cannot read it). */
static bool ng_mixed(const uint8_t *buf, size_t len, int *first_dlt)
{
    struct ng_reader r = { .buf = buf, .len = len, .first_dlt = -1 };
    int first = -1;
    *first_dlt = -1;
    while (r.pos + 12 <= len) {
        const uint8_t *b = buf + r.pos;
        if (b[0] == 0x0a && b[1] == 0x0d && b[2] == 0x0d && b[3] == 0x0a) {
            r.swap = b[8] == 0x1a; /* byte-order magic 0x1A2B3C4D written big-endian */
            r.nifs = 0;
        }
        uint32_t type = ng32(&r, b), bl = ng32(&r, b + 4);
        if (bl < 12 || bl % 4 || bl > len - r.pos) return false;
        if (type == 1 && bl >= 20) {
            int dlt = lt_to_dlt(ng16(&r, b + 8));
            if (first < 0)
                *first_dlt = first = dlt;
            else if (dlt != first)
                return true;
        }
        r.pos += bl;
    }
    return false;
}

static struct ng_reader *ng_new(const uint8_t *buf, size_t len, uint8_t *own)
{
    struct ng_reader *r = calloc(1, sizeof *r);
    if (!r) {
        free(own);
        return NULL;
    }
    r->buf = buf;
    r->len = len;
    r->own = own;
    r->first_dlt = -1;
    return r;
}

static bool ng_magic(const uint8_t *b, size_t n)
{
    return n >= 4 && b[0] == 0x0a && b[1] == 0x0d && b[2] == 0x0d && b[3] == 0x0a;
}

/* Next packet: 1 with *dlt/ts/data/caplen/len filled, 0 at the end, -1 on a malformed or cut
 * block (message in err). */
static int ng_next(struct ng_reader *r, int *dlt, int64_t *t_us, const uint8_t **data,
                   size_t *caplen, size_t *wirelen, char *err, size_t errlen)
{
    for (;;) {
        if (r->pos == r->len) return 0;
        if (r->len - r->pos < 12) {
            snprintf(err, errlen, "pcapng: file ends inside a block header");
            return -1;
        }
        const uint8_t *b = r->buf + r->pos;
        if (ng_magic(b, 4)) {
            if (r->len - r->pos < 28) {
                snprintf(err, errlen, "pcapng: file ends inside a section header");
                return -1;
            }
            if (b[8] == 0x1a && b[9] == 0x2b)
                r->swap = true;
            else if (b[8] == 0x4d && b[9] == 0x3c)
                r->swap = false;
            else {
                snprintf(err, errlen, "pcapng: bad byte-order magic");
                return -1;
            }
            r->nifs = 0;
        }
        uint32_t type = ng32(r, b), bl = ng32(r, b + 4);
        if (bl < 12 || bl % 4) {
            snprintf(err, errlen, "pcapng: block of length %u", bl);
            return -1;
        }
        if (bl > r->len - r->pos) {
            snprintf(err, errlen, "pcapng: file ends inside a block (%u bytes, %zu left)", bl,
                     r->len - r->pos);
            return -1;
        }
        r->pos += bl;
        const uint8_t *body = b + 8;
        size_t n = bl - 12;
        if (type == 1) {
            ng_idb(r, body, n);
            continue;
        }
        uint32_t ifc = 0, cap = 0, wl = 0;
        uint64_t ts = 0;
        const uint8_t *d;
        if (type == 6 && n >= 20) {
            ifc = ng32(r, body);
            ts = (uint64_t)ng32(r, body + 4) << 32 | ng32(r, body + 8);
            cap = ng32(r, body + 12);
            wl = ng32(r, body + 16);
            d = body + 20;
            if (cap > n - 20) {
                snprintf(err, errlen, "pcapng: packet of %u bytes in a %u-byte block", cap, bl);
                return -1;
            }
        } else if (type == 2 && n >= 20) {
            ifc = ng16(r, body);
            ts = (uint64_t)ng32(r, body + 4) << 32 | ng32(r, body + 8);
            cap = ng32(r, body + 12);
            wl = ng32(r, body + 16);
            d = body + 20;
            if (cap > n - 20) {
                snprintf(err, errlen, "pcapng: packet of %u bytes in a %u-byte block", cap, bl);
                return -1;
            }
        } else if (type == 3 && n >= 4) {
            wl = ng32(r, body);
            cap = wl < n - 4 ? wl : (uint32_t)(n - 4);
            if (r->nifs && r->ifs[0].snaplen && cap > r->ifs[0].snaplen) cap = r->ifs[0].snaplen;
            d = body + 4;
        } else {
            continue; /* name resolution, statistics, custom, ...: not packets */
        }
        if (ifc >= r->nifs || ifc >= NG_MAX_IF) {
            snprintf(err, errlen, "pcapng: packet on interface %u, %u described", ifc, r->nifs);
            return -1;
        }
        const struct ng_if *f = &r->ifs[ifc];
        *dlt = f->dlt;
        *t_us = (int64_t)(f->div == 1 ? ts * f->mul
                                      : ts / f->div * f->mul + ts % f->div * f->mul / f->div);
        *data = d;
        *caplen = cap;
        *wirelen = wl < cap ? cap : wl;
        return 1;
    }
}

static cap_file *cap_wrap(pcap_t *pc, FILE *memf, char *err, size_t errlen)
{
    int dlt = pcap_datalink(pc);
    switch (dlt) {
    case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_RAW: case DLT_NULL: case DLT_LOOP:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
#ifdef DLT_IPV4
    case DLT_IPV4: case DLT_IPV6:
#endif
        break;
    default:
        snprintf(err, errlen, "unsupported link type %d (%s)", dlt,
                 pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
        pcap_close(pc);
        return NULL;
    }
    cap_file *c = calloc(1, sizeof *c);
    if (!c) { pcap_close(pc); snprintf(err, errlen, "out of memory"); return NULL; }
    c->pc = pc; c->memf = memf; c->dlt = dlt;
    return c;
}

static cap_file *ng_wrap(const uint8_t *buf, size_t len, uint8_t *own, int first_dlt, char *err,
                         size_t errlen)
{
    cap_file *c = calloc(1, sizeof *c);
    if (c)
        c->ng = ng_new(buf, len, own);
    else
        free(own);
    if (!c || !c->ng) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->dlt = first_dlt;
    return c;
}

/* A pcapng file whose interfaces differ in link type, read whole (NULL for any other file). */
static uint8_t *ng_slurp(const char *path, size_t *len, int *first_dlt)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t m[4];
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    if (fread(m, 1, 4, f) == 4 && ng_magic(m, 4) && fseek(f, 0, SEEK_SET) == 0) {
        for (;;) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 1 << 20;
                uint8_t *nb = realloc(buf, nc);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
                cap = nc;
            }
            size_t r = fread(buf + n, 1, cap - n, f);
            n += r;
            if (r == 0) break;
        }
    }
    fclose(f);
    if (buf && ng_mixed(buf, n, first_dlt)) {
        *len = n;
        return buf;
    }
    free(buf);
    return NULL;
}

cap_file *cap_open(const char *path, char *err, size_t errlen)
{
    size_t nglen;
    int ngdlt;
    uint8_t *ngbuf = ng_slurp(path, &nglen, &ngdlt);
    if (ngbuf) return ng_wrap(ngbuf, nglen, ngbuf, ngdlt, err, errlen);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!pc) { snprintf(err, errlen, "%s: %s", path, ebuf); return NULL; }
    return cap_wrap(pc, NULL, err, errlen);
}

cap_file *cap_open_mem(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (len == 0) { snprintf(err, errlen, "empty input"); return NULL; }
    int ngdlt;
    if (ng_magic(buf, len) && ng_mixed(buf, len, &ngdlt))
        return ng_wrap(buf, len, NULL, ngdlt, err, errlen);
    FILE *f = fmemopen((void *)buf, len, "rb");
    if (!f) { snprintf(err, errlen, "fmemopen failed"); return NULL; }
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!pc) { fclose(f); snprintf(err, errlen, "%s", ebuf); return NULL; }
    /* pcap_close() closes the FILE itself */
    return cap_wrap(pc, NULL, err, errlen);
}

void cap_close(cap_file *c)
{
    if (!c) return;
    if (c->ng) {
        free(c->ng->own);
        free(c->ng);
    }
    if (c->pc) pcap_close(c->pc);
    free(c);
}

int cap_linktype(const cap_file *c) { return c->dlt; }
const char *cap_linktype_name(const cap_file *c)
{
    const char *n = pcap_datalink_val_to_name(c->dlt);
    return n ? n : "unknown";
}
uint64_t cap_frames(const cap_file *c) { return c->frames; }
uint64_t cap_skipped(const cap_file *c, enum cap_skip why) { return c->skipped[why]; }

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* TCP header at p (caplen bytes captured of tcp_wire bytes on the wire). */
static enum cap_skip parse_tcp(const uint8_t *p, size_t caplen, size_t tcp_wire, mpx_pkt *k)
{
    mpx_tcphdr t;
    switch (mpx_tcp_parse(p, caplen, tcp_wire, &t)) {
    case MPX_IPP_OK: break;
    case MPX_IPP_TRUNC: return CAP_TRUNC;
    default: return CAP_BAD;
    }
    k->sport = t.sport; k->dport = t.dport;
    k->seq = t.seq; k->ack = t.ack;
    k->flags = t.flags;
    k->win = t.win;
    size_t doff = t.hlen;
    k->opt = p + 20;
    k->opt_len_wire = doff - 20;
    k->opt_len = caplen >= doff ? doff - 20 : caplen - 20;
    k->data_len = (uint32_t)(tcp_wire - doff);
    if (caplen > doff) {
        k->data = p + doff;
        k->data_caplen = caplen - doff;
        if (k->data_caplen > k->data_len) k->data_caplen = k->data_len; /* Ethernet padding */
    } else {
        k->data = p + doff;
        k->data_caplen = 0;
    }
    k->truncated = k->opt_len < k->opt_len_wire || k->data_caplen < k->data_len;
    /* checkable only when the whole segment was captured */
    k->tcp_csum = caplen < tcp_wire ? -1
                : mpx_ipcsum_l4_ok(k->af, k->src, k->dst, MPX_IPPROTO_TCP, p, tcp_wire);
    return CAP_OK;
}

/* The IP header fields the analyzer keeps (proto/ippkt.c read them). */
static void ip_fields(const mpx_iphdr *h, mpx_pkt *k)
{
    k->af = h->af;
    k->ttl = h->ttl;
    memcpy(k->src, h->src, 16);
    memcpy(k->dst, h->dst, 16);
    k->ip_opt_len = h->opt_len;
    k->ip_router_alert = h->ra;
    k->ip_router_alert_val = h->ra_val;
}

static enum cap_skip ipp_skip(mpx_ipp_status s)
{
    switch (s) {
    case MPX_IPP_OK: return CAP_OK;
    case MPX_IPP_NOT_IP: return CAP_NOT_IP;
    case MPX_IPP_TRUNC: return CAP_TRUNC;
    case MPX_IPP_FRAGMENT: return CAP_FRAGMENT;
    default: return CAP_BAD;
    }
}

/* RFC 2675 jumbograms and Linux BIG TCP: an IPv4 Total Length of 0 or an IPv6 Payload Length
 * of 0 on a packet longer than 65535 bytes. The length then comes from the IPv6 Hop-by-Hop
 * Jumbo Payload option (type 0xC2) or, without one (Linux BIG TCP), from the frame length.
 * proto/ippkt.c parses a copy of the headers with the length field set to its maximum. */
#define JUMBO_HDRS 512

static enum cap_skip parse_ipv4(const uint8_t *p, size_t caplen, size_t wire, mpx_pkt *k)
{
    mpx_iphdr h;
    uint8_t cp[60];
    bool big = caplen >= 20 && (p[0] >> 4) == 4 && p[2] == 0 && p[3] == 0;
    mpx_ipp_status s;
    if (big) {
        /* BIG TCP (Linux net.ipv4 gso_ipv4_max_size > 65535): Total Length 0 */
        size_t n = caplen < sizeof cp ? caplen : sizeof cp;
        memcpy(cp, p, n);
        cp[2] = cp[3] = 0xff;
        s = mpx_ipv4_parse(cp, n, &h);
        if (s == MPX_IPP_OK) {
            if (wire <= 0xffff) return CAP_BAD;
            h.tot_len = wire;
        }
    } else {
        s = mpx_ipv4_parse(p, caplen, &h);
    }
    if (s != MPX_IPP_OK) return ipp_skip(s);
    ip_fields(&h, k);
    k->ip_csum = mpx_ipcsum_fold(mpx_ipcsum_add(0, p, h.ip_hlen)) == 0xffff;
    if (h.proto != MPX_IPPROTO_TCP) return CAP_NOT_TCP;
    if (h.frag & 0x1fff) return CAP_FRAGMENT;   /* a first fragment still holds the TCP header */
    size_t avail = caplen < h.tot_len ? caplen : h.tot_len;
    return parse_tcp(p + h.ip_hlen, avail - h.ip_hlen, h.tot_len - h.ip_hlen, k);
}

/* The Jumbo Payload option in the Hop-by-Hop header at p (n bytes): 0 if none. */
static uint32_t hbh_jumbo(const uint8_t *p, size_t n)
{
    for (size_t o = 2; o + 1 < n;) {
        if (p[o] == 0) {
            o++;
            continue;
        }
        size_t l = p[o + 1];
        if (p[o] == 0xc2 && l == 4 && o + 6 <= n)
            return (uint32_t)p[o + 2] << 24 | (uint32_t)p[o + 3] << 16 | (uint32_t)p[o + 4] << 8 |
                   p[o + 5];
        o += 2 + l;
    }
    return 0;
}

static enum cap_skip parse_ipv6(const uint8_t *p, size_t caplen, size_t wire, mpx_pkt *k)
{
    mpx_iphdr h;
    uint8_t cp[JUMBO_HDRS];
    bool big = caplen >= 40 && (p[0] >> 4) == 6 && p[4] == 0 && p[5] == 0;
    mpx_ipp_status s;
    if (big) {
        size_t n = caplen < sizeof cp ? caplen : sizeof cp;
        memcpy(cp, p, n);
        cp[4] = cp[5] = 0xff;
        s = mpx_ipv6_parse(cp, n, 0, &h);
        if (s == MPX_IPP_OK) {
            uint32_t j = 0;
            if (p[6] == 0 && n >= 48) {
                size_t hl = ((size_t)p[41] + 1) * 8;
                j = hbh_jumbo(p + 40, hl < n - 40 ? hl : n - 40);
            }
            if (j) {
                /* RFC 2675 2: the Jumbo Payload Length counts everything after the IPv6 header
                 * and is larger than 65535 */
                if (j <= 0xffff) return CAP_BAD;
                h.tot_len = 40 + (size_t)j;
            } else {
                if (wire <= 40 + 0xffff) return CAP_BAD; /* Payload Length 0 without a jumbogram */
                h.tot_len = wire;
            }
            if (h.l4_off > h.tot_len) return CAP_BAD;
        }
    } else {
        s = mpx_ipv6_parse(p, caplen, 0, &h);
    }
    if (s != MPX_IPP_OK) return ipp_skip(s);
    ip_fields(&h, k);
    k->ip_csum = -1;
    if (h.proto != MPX_IPPROTO_TCP) return CAP_NOT_TCP;
    size_t off = h.l4_off, end = h.tot_len;
    if (end < off) return CAP_BAD;
    size_t avail = caplen < end ? caplen : end;
    if (avail < off) return CAP_TRUNC;
    return parse_tcp(p + off, avail - off, end - off, k);
}

static enum cap_skip parse_l3(uint16_t ethertype, const uint8_t *p, size_t caplen, size_t wire,
                              mpx_pkt *k)
{
    if (ethertype == 0x0800) return parse_ipv4(p, caplen, wire, k);
    if (ethertype == 0x86dd) return parse_ipv6(p, caplen, wire, k);
    return CAP_NOT_IP;
}

static enum cap_skip parse_raw(const uint8_t *p, size_t caplen, size_t wire, mpx_pkt *k)
{
    if (caplen < 1) return CAP_TRUNC;
    if ((p[0] >> 4) == 4) return parse_ipv4(p, caplen, wire, k);
    if ((p[0] >> 4) == 6) return parse_ipv6(p, caplen, wire, k);
    return CAP_NOT_IP;
}

enum cap_skip cap_parse_frame(int dlt, const uint8_t *p, size_t caplen, size_t wirelen, mpx_pkt *k)
{
    k->ip_router_alert = false; k->ip_router_alert_val = 0; k->ip_opt_len = 0;
    k->truncated = false;
    switch (dlt) {
    case DLT_EN10MB: {
        if (caplen < 14) return CAP_TRUNC;
        size_t off = 12;
        uint16_t et = rd16(p + off);
        /* 802.1Q / 802.1ad tags */
        while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && caplen >= off + 6) {
            off += 4;
            et = rd16(p + off);
        }
        off += 2;
        if (caplen < off) return CAP_TRUNC;
        return parse_l3(et, p + off, caplen - off, wirelen > off ? wirelen - off : 0, k);
    }
    case DLT_LINUX_SLL:
        if (caplen < 16) return CAP_TRUNC;
        return parse_l3(rd16(p + 14), p + 16, caplen - 16, wirelen > 16 ? wirelen - 16 : 0, k);
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        if (caplen < 20) return CAP_TRUNC;
        return parse_l3(rd16(p), p + 20, caplen - 20, wirelen > 20 ? wirelen - 20 : 0, k);
#endif
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4: case DLT_IPV6:
#endif
        return parse_raw(p, caplen, wirelen, k);
    case DLT_NULL: case DLT_LOOP: {
        if (caplen < 4) return CAP_TRUNC;
        /* DLT_NULL: AF in the capturing host's byte order; DLT_LOOP: network order. The
         * IP version nibble decides, which also covers every BSD value of AF_INET6. */
        return parse_raw(p + 4, caplen - 4, wirelen > 4 ? wirelen - 4 : 0, k);
    }
    default:
        return CAP_NOT_IP;
    }
}

int cap_next(cap_file *c, mpx_pkt *k, char *err, size_t errlen)
{
    for (;;) {
        const u_char *data;
        size_t caplen, wirelen;
        int dlt = c->dlt;
        int64_t t_us;
        if (c->ng) {
            char e[200];
            int rc = ng_next(c->ng, &dlt, &t_us, &data, &caplen, &wirelen, e, sizeof e);
            if (rc == 0) return 0;
            if (rc < 0) {
                snprintf(err, errlen, "read error after frame %llu: %s",
                         (unsigned long long)c->frames, e);
                return -1;
            }
        } else {
            struct pcap_pkthdr *h;
            int rc = pcap_next_ex(c->pc, &h, &data);
            if (rc == PCAP_ERROR_BREAK) return 0;
            if (rc < 0) {
                snprintf(err, errlen, "read error after frame %llu: %s",
                         (unsigned long long)c->frames, pcap_geterr(c->pc));
                return -1;
            }
            if (rc == 0) continue;
            t_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
            caplen = h->caplen;
            wirelen = h->len;
        }
        c->frames++;
        memset(k, 0, offsetof(mpx_pkt, opt));
        k->ip_csum = k->tcp_csum = -1;
        k->num = c->frames;
        k->t_us = t_us;
        if (caplen > wirelen) caplen = wirelen;
        if (!dlt_supported(dlt)) {
            c->skipped[CAP_NOT_IP]++;
            continue;
        }
        enum cap_skip s = cap_parse_frame(dlt, data, caplen, wirelen, k);
        if (s == CAP_OK) return 1;
        c->skipped[s]++;
    }
}

void cap_addr_str(int af, const uint8_t *a, char *out, size_t outlen)
{
    if (!inet_ntop(af == 6 ? AF_INET6 : AF_INET, a, out, (socklen_t)outlen))
        snprintf(out, outlen, "?");
}

void cap_ep_str(int af, const uint8_t *a, uint16_t port, char *out, size_t outlen)
{
    char ip[64];
    cap_addr_str(af, a, ip, sizeof ip);
    if (af == 6) snprintf(out, outlen, "[%s]:%u", ip, port);
    else snprintf(out, outlen, "%s:%u", ip, port);
}
