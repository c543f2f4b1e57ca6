/* libpcap reader and link/IP/TCP framing. Every read is checked against caplen; a frame cut
 * by the snaplen inside the TCP options or payload is still returned, flagged truncated. */
#include "pcap-analysis/capture.h"
#include "proto/ippkt.h"
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

static enum cap_skip parse_ipv4(const uint8_t *p, size_t caplen, mpx_pkt *k)
{
    mpx_iphdr h;
    mpx_ipp_status s = mpx_ipv4_parse(p, caplen, &h);
    if (s != MPX_IPP_OK) return ipp_skip(s);
    ip_fields(&h, k);
    k->ip_csum = mpx_ipcsum_fold(mpx_ipcsum_add(0, p, h.ip_hlen)) == 0xffff;
    if (h.proto != MPX_IPPROTO_TCP) return CAP_NOT_TCP;
    if (h.frag & 0x1fff) return CAP_FRAGMENT;   /* a first fragment still holds the TCP header */
    size_t avail = caplen < h.tot_len ? caplen : h.tot_len;
    return parse_tcp(p + h.ip_hlen, avail - h.ip_hlen, h.tot_len - h.ip_hlen, k);
}

static enum cap_skip parse_ipv6(const uint8_t *p, size_t caplen, mpx_pkt *k)
{
    mpx_iphdr h;
    mpx_ipp_status s = mpx_ipv6_parse(p, caplen, 0, &h);
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
