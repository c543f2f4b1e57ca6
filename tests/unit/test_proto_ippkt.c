/* proto/ippkt (IP/TCP headers, Internet checksum) and proto/exid (kind-253 form): checksums
 * against packets whose sums tshark verified, every truncation of them, malformed headers,
 * IPv6 extension headers, IPv4 options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "proto/buf.h"
#include "proto/exid.h"
#include "proto/ippkt.h"

/* A pure ACK with timestamps from tests/data/pcap/real-dsl.pcap (frame 15): 198.18.1.1:43734
 * -> 198.18.1.254:5124, IP checksum 0xaba0, TCP checksum 0x1a23 (tshark: both good). */
static const char ACK4[] =
    "45000034000040004006aba0c6120101c61201fe"
    "aad61404cccf40ad1cd5454c801000401a2300000101080a94c0d106cfa7694e";
/* An MPTCP SYN fd00::8:40008 -> fd01::1:8080 written by mpx-mkpcap --v6 (scenario join),
 * TCP checksum 0x620f (tshark: good). */
static const char SYN6[] =
    "60000000002c0640fd000000000000000000000000000008fd010000000000000000000000000001"
    "9c481f900000022b00000000b002faf0620f0000020405b40402080a000003e80000000001030307"
    "1e040101";

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    char clean[1024];
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 1 < sizeof clean; i++)
        if (s[i] != ' ') clean[j++] = s[i];
    clean[j] = 0;
    long n = mpx_hex_parse(clean, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

static void t_csum_rfc1071(void **st)
{
    (void)st;
    /* RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0x2ddf0, folded 0xddf2 */
    static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    assert_int_equal(mpx_ipcsum_add(0, b, sizeof b), 0x2ddf0);
    assert_int_equal(mpx_ipcsum_fold(mpx_ipcsum_add(0, b, sizeof b)), 0xddf2);
    /* an odd last byte is the high byte of a zero-padded word */
    assert_int_equal(mpx_ipcsum_add(0, b, 3), 0x0001 + 0xf200);
    assert_int_equal(mpx_ipcsum_add(7, b, 0), 7);
    assert_int_equal(mpx_ipcsum_fold(0), 0);
    assert_int_equal(mpx_ipcsum_fold(0x1fffe), 0xffff);
    /* the Wikipedia IPv4 header example: checksum b861 */
    uint8_t ip[20];
    hex("450000730000400040110000c0a80001c0a800c7", ip, sizeof ip);
    assert_int_equal((uint16_t)~mpx_ipcsum_fold(mpx_ipcsum_add(0, ip, 20)), 0xb861);
}

static void t_ack4(void **st)
{
    (void)st;
    uint8_t p[64];
    size_t n = hex(ACK4, p, sizeof p);
    assert_int_equal(n, 52);
    mpx_iphdr h;
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_OK);
    assert_int_equal(h.af, 4);
    assert_int_equal(h.ip_hlen, 20);
    assert_int_equal(h.l4_off, 20);
    assert_int_equal(h.tot_len, 52);
    assert_int_equal(h.proto, MPX_IPPROTO_TCP);
    assert_int_equal(h.ttl, 64);
    assert_int_equal(h.frag, 0x4000);
    assert_int_equal(h.opt_len, 0);
    assert_false(h.ra || h.ra_any);
    assert_memory_equal(h.src, ((uint8_t[]){ 198, 18, 1, 1 }), 4);
    assert_memory_equal(h.dst, ((uint8_t[]){ 198, 18, 1, 254 }), 4);
    assert_int_equal(mpx_ipcsum_fold(mpx_ipcsum_add(0, p, 20)), 0xffff);
    mpx_tcphdr t;
    assert_int_equal(mpx_tcp_parse(p + 20, 32, 32, &t), MPX_IPP_OK);
    assert_int_equal(t.sport, 43734);
    assert_int_equal(t.dport, 5124);
    assert_int_equal(t.seq, 3436134573u);
    assert_int_equal(t.ack, 483738956u);
    assert_int_equal(t.hlen, 32);
    assert_int_equal(t.flags, 0x10);
    assert_int_equal(t.win, 64);
    assert_int_equal(t.csum, 0x1a23);
    assert_true(mpx_ipcsum_l4_ok(4, h.src, h.dst, MPX_IPPROTO_TCP, p + 20, 32));
    /* recomputed from a zeroed field: the same bytes as on the wire */
    p[36] = p[37] = 0;
    assert_int_equal(mpx_ipcsum_l4(4, h.src, h.dst, MPX_IPPROTO_TCP, p + 20, 32), 0x1a23);
    p[36] = 0x1a;
    assert_false(mpx_ipcsum_l4_ok(4, h.src, h.dst, MPX_IPPROTO_TCP, p + 20, 32));
}

static void t_syn6(void **st)
{
    (void)st;
    uint8_t p[128];
    size_t n = hex(SYN6, p, sizeof p);
    assert_int_equal(n, 84);
    mpx_iphdr h;
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_OK);
    assert_int_equal(h.af, 6);
    assert_int_equal(h.l4_off, 40);
    assert_int_equal(h.tot_len, 84);
    assert_int_equal(h.proto, MPX_IPPROTO_TCP);
    assert_int_equal(h.frag, 0);
    assert_int_equal(h.src[0], 0xfd);
    assert_int_equal(h.src[15], 8);
    assert_int_equal(h.dst[1], 1);
    mpx_tcphdr t;
    assert_int_equal(mpx_tcp_parse(p + 40, 44, 44, &t), MPX_IPP_OK);
    assert_int_equal(t.sport, 40008);
    assert_int_equal(t.dport, 8080);
    assert_int_equal(t.flags, 0x02);
    assert_int_equal(t.hlen, 44);
    assert_true(mpx_ipcsum_l4_ok(6, h.src, h.dst, MPX_IPPROTO_TCP, p + 40, 44));
    p[56] = p[57] = 0;
    assert_int_equal(mpx_ipcsum_l4(6, h.src, h.dst, MPX_IPPROTO_TCP, p + 40, 44), 0x620f);
}

/* Every prefix of both packets: parsed from a copy of exactly that size (ASan sees any
 * over-read); short fixed headers are TRUNC, a cut TCP header TRUNC, never OK too early. */
static void t_truncations(void **st)
{
    (void)st;
    const char *pk[] = { ACK4, SYN6 };
    for (size_t k = 0; k < 2; k++) {
        uint8_t full[128];
        size_t n = hex(pk[k], full, sizeof full);
        for (size_t cut = 0; cut <= n; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            assert_non_null(p);
            memcpy(p, full, cut);
            mpx_iphdr h;
            mpx_ipp_status s = mpx_ip_parse(p, cut, 0, &h);
            size_t fixed = k == 0 ? 20 : 40;
            if (cut < fixed) {
                assert_int_equal(s, MPX_IPP_TRUNC);
            } else {
                assert_int_equal(s, MPX_IPP_OK);
                mpx_tcphdr t;
                size_t wire = h.tot_len - h.l4_off;
                mpx_ipp_status ts = mpx_tcp_parse(p + h.l4_off, cut - h.l4_off, wire, &t);
                assert_int_equal(ts, cut - h.l4_off < 20 ? MPX_IPP_TRUNC : MPX_IPP_OK);
            }
            free(p);
        }
    }
}

static void t_malformed(void **st)
{
    (void)st;
    uint8_t p[64];
    memset(p, 0, sizeof p);
    size_t n = hex(ACK4, p, sizeof p);
    mpx_iphdr h;
    mpx_tcphdr t;
    assert_int_equal(mpx_ip_parse(p, 0, 0, &h), MPX_IPP_TRUNC);
    p[0] = 0x55;                                   /* version 5 */
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_NOT_IP);
    assert_int_equal(mpx_ipv4_parse(p, n, &h), MPX_IPP_BAD);
    p[0] = 0x44;                                   /* IHL 16 bytes */
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_BAD);
    p[0] = 0x4f;                                   /* IHL 60 > total length 52 */
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_BAD);
    p[3] = 100;                                    /* IHL 60, more than captured */
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_TRUNC);
    p[0] = 0x45;
    p[2] = 0; p[3] = 19;                           /* total length below the header */
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_BAD);
    p[3] = 200;                                    /* longer than captured: still OK */
    assert_int_equal(mpx_ip_parse(p, n, 0, &h), MPX_IPP_OK);
    assert_int_equal(h.tot_len, 200);
    /* TCP: segment under 20 bytes is BAD, data offset below 5 or past the segment BAD */
    assert_int_equal(mpx_tcp_parse(p + 20, 10, 10, &t), MPX_IPP_BAD);
    assert_int_equal(mpx_tcp_parse(p + 20, 10, 32, &t), MPX_IPP_TRUNC);
    assert_int_equal(mpx_tcp_parse(p + 20, 32, 28, &t), MPX_IPP_BAD);
    p[32] = 0x40;
    assert_int_equal(mpx_tcp_parse(p + 20, 32, 32, &t), MPX_IPP_BAD);
    /* IPv4 parser on an IPv6 packet */
    uint8_t q[128];
    n = hex(SYN6, q, sizeof q);
    assert_int_equal(mpx_ipv4_parse(q, n, &h), MPX_IPP_BAD);
    assert_int_equal(mpx_ipv6_parse(p, sizeof p, 0, &h), MPX_IPP_BAD);
}

static void t_ipv4_options(void **st)
{
    (void)st;
    mpx_iphdr h;
    /* NOP, Router Alert value 7, EOL */
    memset(&h, 0, sizeof h);
    mpx_ipv4_opts_scan((const uint8_t[]){ 1, 0x94, 4, 0, 7, 0, 0, 0 }, 8, &h);
    assert_true(h.ra && h.ra_any);
    assert_int_equal(h.ra_val, 7);
    /* type 0x94 with length 3: seen, but not a Router Alert */
    memset(&h, 0, sizeof h);
    mpx_ipv4_opts_scan((const uint8_t[]){ 0x94, 3, 0, 1 }, 4, &h);
    assert_true(h.ra_any);
    assert_false(h.ra);
    /* after EOL, after a zero length and past the end: not read */
    memset(&h, 0, sizeof h);
    mpx_ipv4_opts_scan((const uint8_t[]){ 0, 0x94, 4, 0 }, 4, &h);
    assert_false(h.ra_any);
    mpx_ipv4_opts_scan((const uint8_t[]){ 7, 0, 0x94, 4, 0, 0 }, 6, &h);
    assert_false(h.ra_any);
    mpx_ipv4_opts_scan((const uint8_t[]){ 1, 1, 0x94, 4, 0 }, 5, &h);
    assert_false(h.ra_any);
    mpx_ipv4_opts_scan((const uint8_t[]){ 1, 1, 1, 0x94 }, 4, &h);
    assert_false(h.ra_any);
    /* a whole header with the option, as mpx-optd writes it */
    uint8_t a[64], p[64];
    hex(ACK4, a, sizeof a);
    memcpy(p, a, 20);
    memcpy(p + 20, mpx_ipopt_ra, MPX_IPOPT_RA_LEN);
    memcpy(p + 24, a + 20, 32);
    p[0] = 0x46;
    p[3] = 56;
    assert_int_equal(mpx_ip_parse(p, 56, 0, &h), MPX_IPP_OK);
    assert_true(h.ra);
    assert_int_equal(h.ra_val, 0);
    assert_int_equal(h.opt_len, 4);
    assert_int_equal(h.l4_off, 24);
    assert_memory_equal(mpx_ipopt_ra, ((uint8_t[]){ 0x94, 0x04, 0x00, 0x00 }), 4);
}

/* IPv6 with extension headers: Hop-by-Hop (Router Alert), Fragment, Destination Options. */
static void t_ipv6_ext(void **st)
{
    (void)st;
    uint8_t syn[128], p[160];
    size_t n = hex(SYN6, syn, sizeof syn);
    mpx_iphdr h;
    /* 40 + HbH(8: RA value 2) + TCP */
    memcpy(p, syn, 40);
    static const uint8_t hbh[8] = { 6, 0, 5, 2, 0, 2, 1, 0 };
    memcpy(p + 40, hbh, 8);
    memcpy(p + 48, syn + 40, n - 40);
    p[6] = 0;
    p[4] = 0; p[5] = (uint8_t)(n - 40 + 8);
    assert_int_equal(mpx_ip_parse(p, n + 8, 0, &h), MPX_IPP_OK);
    assert_int_equal(h.proto, MPX_IPPROTO_TCP);
    assert_int_equal(h.l4_off, 48);
    assert_true(h.ra);
    assert_int_equal(h.ra_val, 2);
    assert_int_equal(h.opt_len, 8);
    /* the checksum does not cover extension headers */
    assert_true(mpx_ipcsum_l4_ok(6, h.src, h.dst, MPX_IPPROTO_TCP, p + 48, n - 40));
    /* without the walk: the first Next Header at 40 */
    assert_int_equal(mpx_ip_parse(p, n + 8, MPX_IPP_NO_EXT, &h), MPX_IPP_OK);
    assert_int_equal(h.proto, 0);
    assert_int_equal(h.l4_off, 40);
    assert_false(h.ra);
    /* cut inside the extension header */
    assert_int_equal(mpx_ip_parse(p, 44, 0, &h), MPX_IPP_TRUNC);
    /* extension header longer than the payload length */
    p[41] = 200;
    assert_int_equal(mpx_ip_parse(p, n + 8, 0, &h), MPX_IPP_BAD);
    p[41] = 0;
    /* a non-first fragment: no TCP header follows */
    static const uint8_t frag[8] = { 6, 0, 0x00, 0x09, 0, 0, 0, 1 };
    memcpy(p + 40, frag, 8);
    p[6] = 44;
    assert_int_equal(mpx_ip_parse(p, n + 8, 0, &h), MPX_IPP_FRAGMENT);
    /* the first fragment (offset 0, M set) is walked through */
    p[43] = 0x01;
    assert_int_equal(mpx_ip_parse(p, n + 8, 0, &h), MPX_IPP_OK);
    assert_int_equal(h.l4_off, 48);
    /* an upper layer that is not TCP ends the walk too */
    p[40] = MPX_IPPROTO_UDP;
    assert_int_equal(mpx_ip_parse(p, n + 8, 0, &h), MPX_IPP_OK);
    assert_int_equal(h.proto, MPX_IPPROTO_UDP);
    /* 17 chained Destination Options headers: more than the walk follows */
    uint8_t big[40 + 17 * 8];
    memcpy(big, syn, 40);
    big[6] = 60;
    big[4] = 0; big[5] = 17 * 8;
    for (int i = 0; i < 17; i++) {
        memset(big + 40 + 8 * i, 0, 8);
        big[40 + 8 * i] = 60;
    }
    assert_int_equal(mpx_ip_parse(big, sizeof big, 0, &h), MPX_IPP_BAD);
}

static void t_exp253(void **st)
{
    (void)st;
    uint8_t b[64];
    mpx_wr w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_exp253_wrap((const uint8_t[]){ 30, 4, 0xe0, 0 }, 4, &w), 0);
    assert_int_equal(w.len, 6);
    assert_memory_equal(b, ((uint8_t[]){ 0xfd, 6, 0x4d, 0x50, 0xe0, 0 }), 6);
    assert_int_equal(MPX_EXP253_EXID, MPX_EXP253_EXID_HI << 8 | MPX_EXP253_EXID_LO);
    w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_exp253_wrap((const uint8_t[]){ 29, 4, 0xe0, 0 }, 4, &w), -1);
    assert_int_equal(mpx_exp253_wrap((const uint8_t[]){ 30, 5, 0xe0, 0 }, 4, &w), -1);
    assert_int_equal(mpx_exp253_wrap((const uint8_t[]){ 30 }, 1, &w), -1);
    uint8_t long30[38] = { 30, 38 };
    assert_int_equal(mpx_exp253_wrap(long30, sizeof long30, &w), -1);   /* 40 > 39 */
    long30[1] = 37;
    assert_int_equal(mpx_exp253_wrap(long30, 37, &w), 0);
    w = mpx_wr_init(b, 5);
    assert_int_equal(mpx_exp253_wrap((const uint8_t[]){ 30, 4, 0xe0, 0 }, 4, &w), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_csum_rfc1071),
        cmocka_unit_test(t_ack4),
        cmocka_unit_test(t_syn6),
        cmocka_unit_test(t_truncations),
        cmocka_unit_test(t_malformed),
        cmocka_unit_test(t_ipv4_options),
        cmocka_unit_test(t_ipv6_ext),
        cmocka_unit_test(t_exp253),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
