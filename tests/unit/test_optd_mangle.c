/* mpx-optd packet surgery: options appended to real-looking SYNs stay well formed, never
 * exceed 40 bytes, keep SYN data intact and carry correct IP and TCP checksums. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "agents/optd/mangle.h"
#include "proto/mpopt.h"
#include "proto/tcpopt.h"

/* Builds an IPv4 (or IPv6) SYN with the Linux MPTCP SYN option layout (24 bytes; 36 with
 * an 8-byte TFO cookie) and `data` bytes of payload. */
static size_t mk_syn(uint8_t *p, int family, bool cookie, size_t data)
{
    uint8_t opts[40];
    mpx_wr w = mpx_wr_init(opts, sizeof opts);
    static const uint8_t ck[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    mpx_tcpopt_put_mss(&w, 1460);
    mpx_tcpopt_put_sackperm(&w);
    mpx_tcpopt_put_ts(&w, 1, 0);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_ws(&w, 7);
    if (cookie) { mpx_tcpopt_put_tfo(&w, ck, 8); mpx_tcpopt_put_nop(&w); mpx_tcpopt_put_nop(&w); }
    mpx_tcpopt_put_raw(&w, MPX_TCPOPT_MPTCP, (const uint8_t[]){ 0x01, 0x01 }, 2);
    size_t ip = family == 4 ? 20 : 40, tcp = 20 + w.len, tot = ip + tcp + data;
    memset(p, 0, tot);
    if (family == 4) {
        p[0] = 0x45; p[2] = (uint8_t)(tot >> 8); p[3] = (uint8_t)tot; p[8] = 64; p[9] = 6;
        memcpy(p + 12, (uint8_t[]){ 198, 18, 1, 1, 198, 18, 1, 2 }, 8);
    } else {
        p[0] = 0x60; p[4] = (uint8_t)((tcp + data) >> 8); p[5] = (uint8_t)(tcp + data); p[6] = 6; p[7] = 64;
        p[8] = 0xfd; p[23] = 1; p[24] = 0xfd; p[39] = 2;
    }
    uint8_t *t = p + ip;
    t[0] = 0xa0; t[1] = 0x00; t[2] = 0x13; t[3] = 0xfc;   /* 40960 -> 5116 */
    t[4] = 0x11; t[12] = (uint8_t)(tcp / 4) << 4; t[13] = MPX_TH_SYN; t[14] = 0xfa;
    memcpy(t + 20, opts, w.len);
    for (size_t i = 0; i < data; i++) t[tcp + i] = (uint8_t)('a' + i % 26);
    optd_pkt_fix_checksums(p, tot);
    return tot;
}

static size_t mpconvert_v4(uint8_t *o)
{
    mpx_mpconvert c;
    mpx_mpconvert_init(&c);
    c.family = 4;
    memcpy(c.addr, (uint8_t[]){ 198, 18, 3, 2 }, 4);
    c.has_port = true;
    c.port = 8080;
    mpx_wr w = mpx_wr_init(o, 40);
    mpx_mpconvert_encode(&c, &w);
    return w.len;
}

static void add_option_keeps_data_and_checksums(void **st)
{
    (void)st;
    uint8_t p[256], o[40];
    size_t len = mk_syn(p, 4, false, 14), nl = 0, ol = mpconvert_v4(o);
    const char *why = NULL;
    assert_true(optd_pkt_checksums_ok(p, len));
    assert_int_equal(optd_pkt_add_tcpopt(p, len, sizeof p, o, ol, &nl, &why), 0);
    assert_int_equal(nl, len + 12);            /* 10-byte option padded to 12 */
    assert_true(optd_pkt_checksums_ok(p, nl));
    optd_pkt v;
    assert_int_equal(optd_pkt_parse(p, nl, &v, &why), 0);
    assert_int_equal(v.tcp_hlen, 20 + 36);
    assert_int_equal(v.payload_len, 14);
    assert_memory_equal(p + v.tcp_off + v.tcp_hlen, "abcdefghijklmn", 14);
    mpx_tcpopts to;
    assert_int_equal(mpx_tcpopt_walk(p + v.tcp_off + 20, 36, &to), 0);
    mpx_viols vs = { 0 };
    assert_int_equal(mpx_tcpopt_check(p + v.tcp_off + 20, 36, MPX_TH_SYN, &vs), 0);
    const mpx_tcpopt *last = NULL;
    for (size_t i = 0; i < to.n; i++) if (to.opt[i].kind == MPX_TCPOPT_MPTCP) last = &to.opt[i];
    assert_non_null(last);
    assert_int_equal(last->len, 10);
    mpx_mpconvert mc;
    mpx_err e = { 0 };
    assert_int_equal(mpx_mpconvert_decode(p + v.tcp_off + 20 + last->off, 10, 0xe, MPX_MPCONV_L09, &mc, &e), 0);
    assert_int_equal(mc.port, 8080);
}

static void add_option_refuses_past_40(void **st)
{
    (void)st;
    uint8_t p[256], o[40], before[256];
    size_t len = mk_syn(p, 4, true, 0), nl = 0, ol = mpconvert_v4(o);
    const char *why = NULL;
    memcpy(before, p, len);
    assert_int_equal(optd_pkt_add_tcpopt(p, len, sizeof p, o, ol, &nl, &why), -1);
    assert_string_equal(why, "no-room");
    assert_memory_equal(p, before, len);       /* untouched: no malformed SYN */
    /* MP_PREFER_PROXY (4 bytes) exactly fills 36 -> 40 */
    mpx_prefer_proxy pp = { 0xe, 0 };
    mpx_wr w = mpx_wr_init(o, sizeof o);
    mpx_prefer_proxy_encode(&pp, &w);
    assert_int_equal(optd_pkt_add_tcpopt(p, len, sizeof p, o, w.len, &nl, &why), 0);
    assert_int_equal(nl, len + 4);
    assert_true(optd_pkt_checksums_ok(p, nl));
}

static void ipv6_option_and_ra(void **st)
{
    (void)st;
    uint8_t p[256], o[40];
    size_t len = mk_syn(p, 6, false, 5), nl = 0, ol = mpconvert_v4(o);
    const char *why = NULL;
    assert_true(optd_pkt_checksums_ok(p, len));
    assert_int_equal(optd_pkt_add_tcpopt(p, len, sizeof p, o, ol, &nl, &why), 0);
    assert_true(optd_pkt_checksums_ok(p, nl));
    assert_int_equal(optd_pkt_add_ipv4_ra(p, nl, sizeof p, &nl, &why), -1);
    assert_string_equal(why, "not-ipv4");

    len = mk_syn(p, 4, false, 3);
    assert_false(optd_pkt_has_ipv4_ra(p, len));
    assert_int_equal(optd_pkt_add_ipv4_ra(p, len, sizeof p, &nl, &why), 0);
    assert_int_equal(nl, len + 4);
    assert_int_equal(p[0], 0x46);
    assert_true(optd_pkt_has_ipv4_ra(p, nl));
    assert_true(optd_pkt_checksums_ok(p, nl));
    optd_pkt v;
    assert_int_equal(optd_pkt_parse(p, nl, &v, &why), 0);
    assert_int_equal(v.payload_len, 3);
    assert_int_equal(optd_pkt_add_ipv4_ra(p, nl, sizeof p, &nl, &why), -1);
    assert_string_equal(why, "already-marked");
}

static void rejects_garbage(void **st)
{
    (void)st;
    uint8_t p[64] = { 0x45, 0, 0, 200 };
    size_t nl;
    const char *why = NULL;
    optd_pkt v;
    assert_int_equal(optd_pkt_parse(p, sizeof p, &v, &why), -1);
    assert_string_equal(why, "bad-ipv4-length");
    assert_int_equal(optd_pkt_add_tcpopt(p, sizeof p, sizeof p, (const uint8_t[]){ 30, 4, 0xe0, 0 }, 4, &nl, &why), -1);
    size_t len = mk_syn(p, 4, false, 0);
    assert_int_equal(optd_pkt_add_tcpopt(p, len, sizeof p, (const uint8_t[]){ 30, 5, 0xe0, 0 }, 4, &nl, &why), -1);
    assert_string_equal(why, "bad-option");
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(add_option_keeps_data_and_checksums),
        cmocka_unit_test(add_option_refuses_past_40),
        cmocka_unit_test(ipv6_option_and_ra),
        cmocka_unit_test(rejects_garbage),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
