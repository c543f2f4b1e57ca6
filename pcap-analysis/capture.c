/* libpcap reader and link/IP/TCP framing. Every read is checked against caplen; a frame cut
 * by the snaplen inside the TCP options or payload is still returned, flagged truncated. */
#include "pcap-analysis/capture.h"
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

struct cap_file {
    pcap_t  *pc;
    FILE    *memf;     /* fmemopen stream for in-memory captures */
    int      dlt;
    uint64_t frames;
    uint64_t skipped[CAP_SKIP_MAX];
};

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

cap_file *cap_open(const char *path, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!pc) { snprintf(err, errlen, "%s: %s", path, ebuf); return NULL; }
    return cap_wrap(pc, NULL, err, errlen);
}

cap_file *cap_open_mem(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (len == 0) { snprintf(err, errlen, "empty input"); return NULL; }
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
    pcap_close(c->pc);
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
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* TCP header at p (caplen bytes captured of tcp_wire bytes on the wire). */
/* One's-complement sum of n bytes (RFC 1071), added to acc. */
static uint32_t csum_add(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) acc += rd16(p + i);
    if (n & 1) acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t csum_fold(uint32_t acc)
{
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

/* The TCP checksum over the pseudo-header (RFC 9293 3.1 / RFC 8200 8.1) and the whole
 * segment, when all of it was captured: a correct segment sums to 0xffff. */
static int8_t tcp_csum_check(const uint8_t *seg, size_t caplen, size_t tcp_wire, const mpx_pkt *k)
{
    if (caplen < tcp_wire) return -1;
    uint32_t acc = csum_add(0, k->src, k->af == 4 ? 4 : 16);
    acc = csum_add(acc, k->dst, k->af == 4 ? 4 : 16);
    acc += 6 + (uint32_t)(tcp_wire & 0xffff) + (uint32_t)(tcp_wire >> 16);
    return csum_fold(csum_add(acc, seg, tcp_wire)) == 0xffff;
}

static enum cap_skip parse_tcp(const uint8_t *p, size_t caplen, size_t tcp_wire, mpx_pkt *k)
{
    if (caplen < 20) return tcp_wire < 20 ? CAP_BAD : CAP_TRUNC;
    k->sport = rd16(p); k->dport = rd16(p + 2);
    k->seq = rd32(p + 4); k->ack = rd32(p + 8);
    size_t doff = (size_t)(p[12] >> 4) * 4;
    k->flags = p[13];
    k->win = rd16(p + 14);
    if (doff < 20 || doff > tcp_wire) return CAP_BAD;
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
    k->tcp_csum = tcp_csum_check(p, caplen, tcp_wire, k);
    return CAP_OK;
}

static enum cap_skip parse_ipv4(const uint8_t *p, size_t caplen, mpx_pkt *k)
{
    if (caplen < 20) return CAP_TRUNC;
    if ((p[0] >> 4) != 4) return CAP_BAD;
    size_t ihl = (size_t)(p[0] & 15) * 4;
    size_t tot = rd16(p + 2);
    if (ihl < 20 || tot < ihl) return CAP_BAD;
    if (caplen < ihl) return CAP_TRUNC;
    k->af = 4;
    k->ttl = p[8];
    k->ip_csum = csum_fold(csum_add(0, p, ihl)) == 0xffff;
    memset(k->src, 0, 16); memset(k->dst, 0, 16);
    memcpy(k->src, p + 12, 4); memcpy(k->dst, p + 16, 4);
    k->ip_opt_len = (uint8_t)(ihl - 20);
    /* IP options: only Router Alert is interpreted (RFC 2113: 0x94 0x04 value) */
    for (size_t o = 20; o < ihl;) {
        uint8_t t = p[o];
        if (t == 0) break;
        if (t == 1) { o++; continue; }
        if (o + 1 >= ihl) break;
        uint8_t l = p[o + 1];
        if (l < 2 || o + l > ihl) break;
        if (t == 0x94 && l == 4) { k->ip_router_alert = true; k->ip_router_alert_val = rd16(p + o + 2); }
        o += l;
    }
    if (p[9] != 6) return CAP_NOT_TCP;
    uint16_t frag = rd16(p + 6);
    if (frag & 0x1fff) return CAP_FRAGMENT;
    size_t avail = caplen < tot ? caplen : tot;
    return parse_tcp(p + ihl, avail - ihl, tot - ihl, k);
}

static enum cap_skip parse_ipv6(const uint8_t *p, size_t caplen, mpx_pkt *k)
{
    if (caplen < 40) return CAP_TRUNC;
    if ((p[0] >> 4) != 6) return CAP_BAD;
    size_t plen = rd16(p + 4);
    uint8_t nh = p[6];
    k->af = 6;
    k->ttl = p[7];
    k->ip_csum = -1;
    memcpy(k->src, p + 8, 16); memcpy(k->dst, p + 24, 16);
    size_t off = 40, end = 40 + plen;
    /* Walk extension headers: HbH(0), Routing(43), Fragment(44), AH(51), DestOpts(60) */
    for (int guard = 0; guard < 16; guard++) {
        if (nh == 6) {
            if (end < off) return CAP_BAD;
            size_t avail = (caplen < end ? caplen : end);
            if (avail < off) return CAP_TRUNC;
            return parse_tcp(p + off, avail - off, end - off, k);
        }
        if (nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60) return CAP_NOT_TCP;
        if (caplen < off + 8) return CAP_TRUNC;
        size_t hl;
        if (nh == 44) {
            if (rd16(p + off + 2) & 0xfff8) return CAP_FRAGMENT;
            hl = 8;
        } else if (nh == 51) {
            hl = ((size_t)p[off + 1] + 2) * 4;
        } else {
            hl = ((size_t)p[off + 1] + 1) * 8;
        }
        if (nh == 0 && caplen >= off + hl) {
            k->ip_opt_len = (uint8_t)(hl > 255 ? 255 : hl);
            for (size_t o = off + 2; o < off + hl;) {
                uint8_t t = p[o];
                if (t == 0) { o++; continue; } /* Pad1 */
                if (o + 1 >= off + hl) break;
                uint8_t l = p[o + 1];
                if (t == 5 && l == 2 && o + 4 <= off + hl) {
                    k->ip_router_alert = true; k->ip_router_alert_val = rd16(p + o + 2);
                }
                o += 2 + (size_t)l;
            }
        }
        nh = p[off];
        off += hl;
        if (off > end) return CAP_BAD;
    }
    return CAP_BAD;
}

static enum cap_skip parse_l3(uint16_t ethertype, const uint8_t *p, size_t caplen, mpx_pkt *k)
{
    if (ethertype == 0x0800) return parse_ipv4(p, caplen, k);
    if (ethertype == 0x86dd) return parse_ipv6(p, caplen, k);
    return CAP_NOT_IP;
}

static enum cap_skip parse_raw(const uint8_t *p, size_t caplen, mpx_pkt *k)
{
    if (caplen < 1) return CAP_TRUNC;
    if ((p[0] >> 4) == 4) return parse_ipv4(p, caplen, k);
    if ((p[0] >> 4) == 6) return parse_ipv6(p, caplen, k);
    return CAP_NOT_IP;
}

enum cap_skip cap_parse_frame(int dlt, const uint8_t *p, size_t caplen, size_t wirelen, mpx_pkt *k)
{
    (void)wirelen;
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
        return parse_l3(et, p + off, caplen - off, k);
    }
    case DLT_LINUX_SLL:
        if (caplen < 16) return CAP_TRUNC;
        return parse_l3(rd16(p + 14), p + 16, caplen - 16, k);
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        if (caplen < 20) return CAP_TRUNC;
        return parse_l3(rd16(p), p + 20, caplen - 20, k);
#endif
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4: case DLT_IPV6:
#endif
        return parse_raw(p, caplen, k);
    case DLT_NULL: case DLT_LOOP: {
        if (caplen < 4) return CAP_TRUNC;
        /* DLT_NULL: AF in the capturing host's byte order; DLT_LOOP: network order. The
         * IP version nibble decides, which also covers every BSD value of AF_INET6. */
        return parse_raw(p + 4, caplen - 4, k);
    }
    default:
        return CAP_NOT_IP;
    }
}

int cap_next(cap_file *c, mpx_pkt *k, char *err, size_t errlen)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(c->pc, &h, &data);
        if (rc == PCAP_ERROR_BREAK) return 0;
        if (rc < 0) {
            snprintf(err, errlen, "read error after frame %llu: %s",
                     (unsigned long long)c->frames, pcap_geterr(c->pc));
            return -1;
        }
        if (rc == 0) continue;
        c->frames++;
        memset(k, 0, offsetof(mpx_pkt, opt));
        k->ip_csum = k->tcp_csum = -1;
        k->num = c->frames;
        k->t_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        size_t caplen = h->caplen < h->len ? h->caplen : h->len;
        enum cap_skip s = cap_parse_frame(c->dlt, data, caplen, h->len, k);
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
