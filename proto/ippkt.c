/* IPv4/IPv6 and TCP headers of one packet. See ippkt.h. */
#include "proto/ippkt.h"
#include <string.h>
#include "proto/buf.h"

const uint8_t mpx_ipopt_ra[MPX_IPOPT_RA_LEN] = { MPX_IPOPT_RA, MPX_IPOPT_RA_LEN, 0x00, 0x00 };

void mpx_ipv4_opts_scan(const uint8_t *opts, size_t n, mpx_iphdr *h)
{
    for (size_t o = 0; o < n;) {
        uint8_t t = opts[o];
        if (t == 0) break;                  /* End of Option List */
        if (t == 1) { o++; continue; }      /* No Operation */
        if (o + 1 >= n) break;
        uint8_t l = opts[o + 1];
        if (l < 2 || o + l > n) break;
        if (t == MPX_IPOPT_RA) {
            h->ra_any = true;
            if (l == MPX_IPOPT_RA_LEN) {
                h->ra = true;
                h->ra_val = (uint16_t)(opts[o + 2] << 8 | opts[o + 3]);
            }
        }
        o += l;
    }
}

mpx_ipp_status mpx_ipv4_parse(const uint8_t *p, size_t caplen, mpx_iphdr *h)
{
    mpx_rd r = mpx_rd_init(p, caplen);
    uint8_t vihl, tos, proto;
    uint16_t tot, id, csum;
    memset(h, 0, sizeof *h);
    if (mpx_rd_left(&r) < 20) return MPX_IPP_TRUNC;
    mpx_rd_u8(&r, &vihl);
    mpx_rd_u8(&r, &tos);
    mpx_rd_u16(&r, &tot);
    mpx_rd_u16(&r, &id);
    mpx_rd_u16(&r, &h->frag);
    mpx_rd_u8(&r, &h->ttl);
    mpx_rd_u8(&r, &proto);
    mpx_rd_u16(&r, &csum);
    mpx_rd_bytes(&r, h->src, 4);
    mpx_rd_bytes(&r, h->dst, 4);
    if ((vihl >> 4) != 4) return MPX_IPP_BAD;
    size_t ihl = (size_t)(vihl & 15) * 4;
    if (ihl < 20 || tot < ihl) return MPX_IPP_BAD;
    const uint8_t *opts;
    if (!mpx_rd_ptr(&r, &opts, ihl - 20)) return MPX_IPP_TRUNC;
    h->af = 4;
    h->ip_hlen = h->l4_off = ihl;
    h->proto = proto;
    h->tot_len = tot;
    h->opt_len = (uint8_t)(ihl - 20);
    mpx_ipv4_opts_scan(opts, ihl - 20, h);
    return MPX_IPP_OK;
}

/* IPv6 Hop-by-Hop options (RFC 8200 4.2): Router Alert is option type 5 (RFC 2711). */
static void hbh_scan(const uint8_t *p, size_t n, mpx_iphdr *h)
{
    for (size_t o = 2; o < n;) {
        uint8_t t = p[o];
        if (t == 0) { o++; continue; }      /* Pad1 */
        if (o + 1 >= n) break;
        uint8_t l = p[o + 1];
        if (t == 5 && l == 2 && o + 4 <= n) {
            h->ra = true;
            h->ra_val = (uint16_t)(p[o + 2] << 8 | p[o + 3]);
        }
        o += 2 + (size_t)l;
    }
}

mpx_ipp_status mpx_ipv6_parse(const uint8_t *p, size_t caplen, unsigned flags, mpx_iphdr *h)
{
    mpx_rd r = mpx_rd_init(p, caplen);
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t nh;
    memset(h, 0, sizeof *h);
    if (mpx_rd_left(&r) < 40) return MPX_IPP_TRUNC;
    mpx_rd_u32(&r, &vtcfl);
    mpx_rd_u16(&r, &plen);
    mpx_rd_u8(&r, &nh);
    mpx_rd_u8(&r, &h->ttl);
    mpx_rd_bytes(&r, h->src, 16);
    mpx_rd_bytes(&r, h->dst, 16);
    if ((vtcfl >> 28) != 6) return MPX_IPP_BAD;
    h->af = 6;
    h->ip_hlen = 40;
    h->tot_len = 40 + (size_t)plen;
    size_t off = 40, end = h->tot_len;
    for (int guard = 0; guard < 16; guard++) {
        if ((flags & MPX_IPP_NO_EXT) || (nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60)) {
            h->proto = nh;
            h->l4_off = off;
            return MPX_IPP_OK;
        }
        /* every extension header starts with Next Header and a length byte; 8 bytes minimum */
        mpx_rd x = mpx_rd_init(p, caplen);
        uint8_t next, hlen;
        uint16_t fragoff;
        if (!mpx_rd_skip(&x, off) || mpx_rd_left(&x) < 8) return MPX_IPP_TRUNC;
        mpx_rd_u8(&x, &next);
        mpx_rd_u8(&x, &hlen);
        mpx_rd_u16(&x, &fragoff);
        size_t hl;
        if (nh == 44) {
            if (fragoff & 0xfff8) return MPX_IPP_FRAGMENT;
            hl = 8;
        } else if (nh == 51) {
            hl = ((size_t)hlen + 2) * 4;
        } else {
            hl = ((size_t)hlen + 1) * 8;
        }
        if (nh == 0 && caplen >= off + hl) {
            h->opt_len = (uint8_t)(hl > 255 ? 255 : hl);
            hbh_scan(p + off, hl, h);
        }
        nh = next;
        off += hl;
        if (off > end) return MPX_IPP_BAD;
    }
    return MPX_IPP_BAD;
}

mpx_ipp_status mpx_ip_parse(const uint8_t *p, size_t caplen, unsigned flags, mpx_iphdr *h)
{
    memset(h, 0, sizeof *h);
    if (caplen < 1) return MPX_IPP_TRUNC;
    if ((p[0] >> 4) == 4) return mpx_ipv4_parse(p, caplen, h);
    if ((p[0] >> 4) == 6) return mpx_ipv6_parse(p, caplen, flags, h);
    return MPX_IPP_NOT_IP;
}

mpx_ipp_status mpx_tcp_parse(const uint8_t *p, size_t caplen, size_t wire, mpx_tcphdr *t)
{
    mpx_rd r = mpx_rd_init(p, caplen);
    uint8_t doff;
    memset(t, 0, sizeof *t);
    if (mpx_rd_left(&r) < 20) return wire < 20 ? MPX_IPP_BAD : MPX_IPP_TRUNC;
    mpx_rd_u16(&r, &t->sport);
    mpx_rd_u16(&r, &t->dport);
    mpx_rd_u32(&r, &t->seq);
    mpx_rd_u32(&r, &t->ack);
    mpx_rd_u8(&r, &doff);
    mpx_rd_u8(&r, &t->flags);
    mpx_rd_u16(&r, &t->win);
    mpx_rd_u16(&r, &t->csum);
    mpx_rd_u16(&r, &t->urg);
    t->hlen = (size_t)(doff >> 4) * 4;
    if (t->hlen < 20 || t->hlen > wire) return MPX_IPP_BAD;
    return MPX_IPP_OK;
}

uint32_t mpx_ipcsum_add(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

uint16_t mpx_ipcsum_fold(uint32_t acc)
{
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

uint32_t mpx_ipcsum_pseudo(uint32_t acc, int af, const uint8_t *src, const uint8_t *dst,
                         uint8_t proto, uint32_t l4len)
{
    size_t alen = af == 6 ? 16 : 4;
    acc = mpx_ipcsum_add(acc, src, alen);
    acc = mpx_ipcsum_add(acc, dst, alen);
    return acc + proto + (l4len >> 16) + (l4len & 0xffff);
}

uint16_t mpx_ipcsum_l4(int af, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     const uint8_t *seg, size_t len)
{
    uint32_t acc = mpx_ipcsum_pseudo(0, af, src, dst, proto, (uint32_t)len);
    return (uint16_t)~mpx_ipcsum_fold(mpx_ipcsum_add(acc, seg, len));
}

bool mpx_ipcsum_l4_ok(int af, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                    const uint8_t *seg, size_t len)
{
    uint32_t acc = mpx_ipcsum_pseudo(0, af, src, dst, proto, (uint32_t)len);
    return mpx_ipcsum_fold(mpx_ipcsum_add(acc, seg, len)) == 0xffff;
}
