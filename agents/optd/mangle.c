#include "agents/optd/mangle.h"
#include "proto/ippkt.h"
#include "proto/tcpopt.h"
#include <string.h>

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* proto/ippkt.c reads the headers; this keeps mpx-optd's policy: the whole packet present,
 * no fragment at all (first ones included), no IPv6 extension header. */
int optd_pkt_parse(const uint8_t *p, size_t len, optd_pkt *v, const char **why)
{
    mpx_iphdr h;
    mpx_tcphdr t;
    memset(v, 0, sizeof *v);
    if (len < 1) { *why = "empty"; return -1; }
    switch (mpx_ip_parse(p, len, MPX_IPP_NO_EXT, &h)) {
    case MPX_IPP_OK: break;
    case MPX_IPP_NOT_IP: *why = "not-ip"; return -1;
    case MPX_IPP_TRUNC:
        if ((p[0] >> 4) == 4) *why = len < 20 ? "short-ipv4" : "bad-ipv4-length";
        else *why = "short-ipv6";
        return -1;
    default: *why = (p[0] >> 4) == 4 ? "bad-ipv4-length" : "bad-ipv6-length"; return -1;
    }
    if (h.tot_len > len) { *why = h.af == 4 ? "bad-ipv4-length" : "bad-ipv6-length"; return -1; }
    if (h.proto != MPX_IPPROTO_TCP) { *why = h.af == 4 ? "not-tcp" : "not-tcp-or-ext-header"; return -1; }
    if (h.frag & 0x3fff) { *why = "fragment"; return -1; }
    v->family = h.af;
    v->ip_hlen = h.ip_hlen;
    memcpy(v->saddr, h.src, 16);
    memcpy(v->daddr, h.dst, 16);
    v->tcp_off = h.l4_off;
    size_t tot = h.tot_len;
    if (tot < v->tcp_off + 20) { *why = "short-tcp"; return -1; }
    if (mpx_tcp_parse(p + v->tcp_off, tot - v->tcp_off, tot - v->tcp_off, &t) != MPX_IPP_OK) {
        *why = "bad-doff";
        return -1;
    }
    v->tcp_hlen = t.hlen;
    v->payload_len = tot - v->tcp_off - v->tcp_hlen;
    v->flags = t.flags;
    v->sport = t.sport;
    v->dport = t.dport;
    return 0;
}

static uint16_t tcp_csum(const uint8_t *p, const optd_pkt *v)
{
    return mpx_ipcsum_l4(v->family, v->saddr, v->daddr, MPX_IPPROTO_TCP, p + v->tcp_off,
                       v->tcp_hlen + v->payload_len);
}

void optd_pkt_fix_checksums(uint8_t *p, size_t len)
{
    optd_pkt v;
    const char *why;
    if (optd_pkt_parse(p, len, &v, &why) < 0) return;
    if (v.family == 4) {
        wr16(p + 10, 0);
        wr16(p + 10, (uint16_t)~mpx_ipcsum_fold(mpx_ipcsum_add(0, p, v.ip_hlen)));
    }
    wr16(p + v.tcp_off + 16, 0);
    wr16(p + v.tcp_off + 16, tcp_csum(p, &v));
}

bool optd_pkt_checksums_ok(const uint8_t *p, size_t len)
{
    optd_pkt v;
    const char *why;
    if (optd_pkt_parse(p, len, &v, &why) < 0) return false;
    if (v.family == 4 && mpx_ipcsum_fold(mpx_ipcsum_add(0, p, v.ip_hlen)) != 0xffff) return false;
    return mpx_ipcsum_l4_ok(v.family, v.saddr, v.daddr, MPX_IPPROTO_TCP, p + v.tcp_off,
                          v.tcp_hlen + v.payload_len);
}

/* Grows the packet by `grow` bytes at offset `at` (moving what follows) and updates the IP
 * length field. */
static int pkt_open_gap(uint8_t *p, size_t len, size_t cap, const optd_pkt *v, size_t at,
                        size_t grow, size_t *newlen)
{
    size_t tot = v->tcp_off + v->tcp_hlen + v->payload_len;
    if (tot + grow > cap) return -1;
    memmove(p + at + grow, p + at, tot - at);
    if (v->family == 4) wr16(p + 2, (uint16_t)(tot + grow));
    else wr16(p + 4, (uint16_t)(tot + grow - 40));
    *newlen = tot + grow;
    (void)len;
    return 0;
}

int optd_pkt_add_tcpopt(uint8_t *p, size_t len, size_t cap, const uint8_t *opt, size_t optlen,
                        size_t *newlen, const char **why)
{
    optd_pkt v;
    mpx_tcpopts o;
    if (optd_pkt_parse(p, len, &v, why) < 0) return -1;
    if (optlen < 2 || opt[1] != optlen) { *why = "bad-option"; return -1; }
    uint8_t *area = p + v.tcp_off + 20;
    size_t area_len = v.tcp_hlen - 20;
    if (mpx_tcpopt_walk(area, area_len, &o) < 0) { *why = "malformed-options"; return -1; }
    /* Insert right after the last real option: trailing EOL padding is reused, so the
     * result stays a well-formed area (no option after an EOL). */
    size_t end = 0;
    for (size_t i = 0; i < o.n; i++)
        if (o.opt[i].kind != MPX_TCPOPT_EOL) end = o.opt[i].off + o.opt[i].len;
    size_t need = (end + optlen + 3) & ~(size_t)3;
    if (need > MPX_TCPOPT_AREA_MAX) { *why = "no-room"; return -1; }
    size_t grow = need > area_len ? need - area_len : 0;
    if (grow && pkt_open_gap(p, len, cap, &v, v.tcp_off + v.tcp_hlen, grow, newlen) < 0) {
        *why = "buffer-too-small";
        return -1;
    }
    if (!grow) *newlen = v.tcp_off + v.tcp_hlen + v.payload_len;
    memcpy(area + end, opt, optlen);
    /* NOP-fill up to the new end; any old trailing bytes beyond become EOL padding. */
    size_t new_area = area_len + grow;
    for (size_t i = end + optlen; i < need; i++) area[i] = MPX_TCPOPT_NOP;
    for (size_t i = need; i < new_area; i++) area[i] = MPX_TCPOPT_EOL;
    p[v.tcp_off + 12] = (uint8_t)(((20 + new_area) / 4) << 4 | (p[v.tcp_off + 12] & 15));
    optd_pkt_fix_checksums(p, *newlen);
    return 0;
}

int optd_pkt_add_ipv4_ra(uint8_t *p, size_t len, size_t cap, size_t *newlen, const char **why)
{
    optd_pkt v;
    if (optd_pkt_parse(p, len, &v, why) < 0) return -1;
    if (v.family != 4) { *why = "not-ipv4"; return -1; }
    if (optd_pkt_has_ipv4_ra(p, len)) { *why = "already-marked"; return -1; }
    if (v.ip_hlen + MPX_IPOPT_RA_LEN > 60) { *why = "no-room"; return -1; }
    if (pkt_open_gap(p, len, cap, &v, v.ip_hlen, MPX_IPOPT_RA_LEN, newlen) < 0) { *why = "buffer-too-small"; return -1; }
    memcpy(p + v.ip_hlen, mpx_ipopt_ra, MPX_IPOPT_RA_LEN);
    p[0] = (uint8_t)(0x40 | (v.ip_hlen + MPX_IPOPT_RA_LEN) / 4);
    optd_pkt_fix_checksums(p, *newlen);
    return 0;
}

bool optd_pkt_has_ipv4_ra(const uint8_t *p, size_t len)
{
    if (len < 20 || (p[0] >> 4) != 4) return false;
    size_t hl = (size_t)(p[0] & 15) * 4;
    if (hl > len) return false;
    mpx_iphdr h;
    memset(&h, 0, sizeof h);
    mpx_ipv4_opts_scan(p + 20, hl > 20 ? hl - 20 : 0, &h);
    return h.ra_any;
}
