#include "agents/optd/mangle.h"
#include "proto/tcpopt.h"
#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

int mpx_pkt_parse(const uint8_t *p, size_t len, mpx_pkt *v, const char **why)
{
    size_t tot;
    memset(v, 0, sizeof *v);
    if (len < 1) { *why = "empty"; return -1; }
    if ((p[0] >> 4) == 4) {
        if (len < 20) { *why = "short-ipv4"; return -1; }
        v->family = 4;
        v->ip_hlen = (size_t)(p[0] & 15) * 4;
        tot = rd16(p + 2);
        if (v->ip_hlen < 20 || tot > len || tot < v->ip_hlen) { *why = "bad-ipv4-length"; return -1; }
        if (p[9] != 6) { *why = "not-tcp"; return -1; }
        if (rd16(p + 6) & 0x3fff) { *why = "fragment"; return -1; }
        memcpy(v->saddr, p + 12, 4);
        memcpy(v->daddr, p + 16, 4);
    } else if ((p[0] >> 4) == 6) {
        if (len < 40) { *why = "short-ipv6"; return -1; }
        v->family = 6;
        v->ip_hlen = 40;
        tot = 40 + (size_t)rd16(p + 4);
        if (tot > len) { *why = "bad-ipv6-length"; return -1; }
        if (p[6] != 6) { *why = "not-tcp-or-ext-header"; return -1; }
        memcpy(v->saddr, p + 8, 16);
        memcpy(v->daddr, p + 24, 16);
    } else {
        *why = "not-ip";
        return -1;
    }
    v->tcp_off = v->ip_hlen;
    if (tot < v->tcp_off + 20) { *why = "short-tcp"; return -1; }
    const uint8_t *t = p + v->tcp_off;
    v->tcp_hlen = (size_t)(t[12] >> 4) * 4;
    if (v->tcp_hlen < 20 || v->tcp_off + v->tcp_hlen > tot) { *why = "bad-doff"; return -1; }
    v->payload_len = tot - v->tcp_off - v->tcp_hlen;
    v->flags = t[13];
    v->sport = rd16(t);
    v->dport = rd16(t + 2);
    return 0;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2) acc += rd16(p + i);
    if (n & 1) acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

static uint16_t tcp_csum(const uint8_t *p, const mpx_pkt *v)
{
    size_t tcplen = v->tcp_hlen + v->payload_len;
    uint32_t acc = 0;
    if (v->family == 4) {
        acc = sum16(p + 12, 8, 0);
    } else {
        acc = sum16(p + 8, 32, 0);
        acc += (uint32_t)(tcplen >> 16);
    }
    acc += (uint32_t)(tcplen & 0xffff) + 6;
    return fold(sum16(p + v->tcp_off, tcplen, acc));
}

void mpx_pkt_fix_checksums(uint8_t *p, size_t len)
{
    mpx_pkt v;
    const char *why;
    if (mpx_pkt_parse(p, len, &v, &why) < 0) return;
    if (v.family == 4) {
        wr16(p + 10, 0);
        wr16(p + 10, fold(sum16(p, v.ip_hlen, 0)));
    }
    wr16(p + v.tcp_off + 16, 0);
    wr16(p + v.tcp_off + 16, tcp_csum(p, &v));
}

bool mpx_pkt_checksums_ok(const uint8_t *p, size_t len)
{
    mpx_pkt v;
    const char *why;
    if (mpx_pkt_parse(p, len, &v, &why) < 0) return false;
    if (v.family == 4 && fold(sum16(p, v.ip_hlen, 0)) != 0) return false;
    /* Summing a segment that includes its own correct checksum folds to zero. */
    size_t tcplen = v.tcp_hlen + v.payload_len;
    uint32_t acc = v.family == 4 ? sum16(p + 12, 8, 0) : sum16(p + 8, 32, (uint32_t)(tcplen >> 16));
    acc += (uint32_t)(tcplen & 0xffff) + 6;
    return fold(sum16(p + v.tcp_off, tcplen, acc)) == 0;
}

/* Grows the packet by `grow` bytes at offset `at` (moving what follows) and updates the IP
 * length field. */
static int pkt_open_gap(uint8_t *p, size_t len, size_t cap, const mpx_pkt *v, size_t at,
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

int mpx_pkt_add_tcpopt(uint8_t *p, size_t len, size_t cap, const uint8_t *opt, size_t optlen,
                       size_t *newlen, const char **why)
{
    mpx_pkt v;
    mpx_tcpopts o;
    if (mpx_pkt_parse(p, len, &v, why) < 0) return -1;
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
    mpx_pkt_fix_checksums(p, *newlen);
    return 0;
}

int mpx_pkt_add_ipv4_ra(uint8_t *p, size_t len, size_t cap, size_t *newlen, const char **why)
{
    mpx_pkt v;
    static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 };
    if (mpx_pkt_parse(p, len, &v, why) < 0) return -1;
    if (v.family != 4) { *why = "not-ipv4"; return -1; }
    if (mpx_pkt_has_ipv4_ra(p, len)) { *why = "already-marked"; return -1; }
    if (v.ip_hlen + 4 > 60) { *why = "no-room"; return -1; }
    if (pkt_open_gap(p, len, cap, &v, v.ip_hlen, 4, newlen) < 0) { *why = "buffer-too-small"; return -1; }
    memcpy(p + v.ip_hlen, ra, 4);
    p[0] = (uint8_t)(0x40 | (v.ip_hlen + 4) / 4);
    mpx_pkt_fix_checksums(p, *newlen);
    return 0;
}

bool mpx_pkt_has_ipv4_ra(const uint8_t *p, size_t len)
{
    if (len < 20 || (p[0] >> 4) != 4) return false;
    size_t hl = (size_t)(p[0] & 15) * 4;
    if (hl > len) return false;
    for (size_t i = 20; i < hl;) {
        uint8_t t = p[i];
        if (t == 0) break;            /* end of option list */
        if (t == 1) { i++; continue; }
        if (i + 1 >= hl || p[i + 1] < 2 || i + p[i + 1] > hl) break;
        if (t == 0x94) return true;
        i += p[i + 1];
    }
    return false;
}
