/* TCP option walker, checker and encoder: byte-exact vectors (the DESIGN example, tcpdump's
 * mptcp-v1 and TFO captures), malformed areas, per-kind length rules, SYN-only options,
 * encode -> walk round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/tcpopt.h"

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    long n = mpx_hex_parse(s, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

/* Walk must fail with `rule`. */
static void walk_bad(const char *h, const char *rule, size_t n_before)
{
    uint8_t b[300];
    size_t n = hex(h, b, sizeof b);
    mpx_tcpopts o;
    int r = mpx_tcpopt_walk(b, n, &o);
    if (r != -1 || !o.err.rule || strcmp(o.err.rule, rule) != 0)
        fail_msg("%s: expected %s, got r=%d rule=%s", h, rule, r, o.err.rule ? o.err.rule : "-");
    assert_int_equal(o.n, n_before);
}

/* The checker must report `rule` for these bytes/flags. */
static void check_has(const char *h, uint8_t flags, const char *rule)
{
    uint8_t b[300];
    size_t n = hex(h, b, sizeof b);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    mpx_tcpopt_check(b, n, flags, &vs);
    if (!mpx_viols_has(&vs, rule)) {
        char got[400] = "";
        for (size_t i = 0; i < vs.n; i++) { strcat(got, " "); strcat(got, vs.v[i].rule); }
        fail_msg("%s flags 0x%02x: expected %s, got:%s", h, flags, rule, got);
    }
}

static size_t check_count(const char *h, uint8_t flags)
{
    uint8_t b[300];
    size_t n = hex(h, b, sizeof b);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    size_t k = mpx_tcpopt_check(b, n, flags, &vs);
    for (size_t i = 0; i < vs.n; i++) print_message("  %s: %s\n", vs.v[i].rule, vs.v[i].msg);
    assert_int_equal(k, vs.n);
    return k;
}

static void test_issue_example(void **st)
{
    uint8_t b[40];
    size_t n = hex("020405b40402080a000000010000000001030307", b, sizeof b);
    mpx_tcpopts o;
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    assert_int_equal(n, 20);
    assert_int_equal(o.used, 20);
    assert_int_equal(o.n, 5);
    assert_int_equal(o.opt[0].kind, MPX_TCPOPT_MSS);
    assert_int_equal(o.opt[0].u.mss, 1460);
    assert_int_equal(o.opt[1].kind, MPX_TCPOPT_SACKPERM);
    assert_null(o.opt[1].len_rule);
    assert_int_equal(o.opt[2].kind, MPX_TCPOPT_TS);
    assert_int_equal(o.opt[2].u.ts.val, 1);
    assert_int_equal(o.opt[2].u.ts.ecr, 0);
    assert_int_equal(o.opt[2].off, 6);
    assert_int_equal(o.opt[3].kind, MPX_TCPOPT_NOP);
    assert_int_equal(o.opt[4].kind, MPX_TCPOPT_WS);
    assert_int_equal(o.opt[4].u.ws, 7);
    assert_int_equal(o.opt[4].off, 17);
    assert_false(o.eol);
    assert_int_equal(check_count("020405b40402080a000000010000000001030307", MPX_TH_SYN), 0);
    char txt[200];
    mpx_tcpopts_format(&o, MPX_TH_SYN, txt, sizeof txt);
    assert_string_equal(txt, "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7");
}

/* Option areas of tcpdump's tests/mptcp-v1.pcap (bytes read with tcpdump -x) and the
 * decode its mptcp-v1.out prints for them. */
static void test_tcpdump_mptcp_v1(void **st)
{
    static const struct { const char *hex; uint8_t flags; const char *text; } v[] = {
        { "020405b40402080a1baf9ea100000000010303081e040101", MPX_TH_SYN,
          "mss 1460,sackOK,TS val 464494241 ecr 0,nop,wscale 8,mptcp 4 capable v1 flags [H]" },
        { "020405b40402080ac337c5931baf9ea1010303081e0c010129a6c86981ad933c", MPX_TH_SYN | MPX_TH_ACK,
          "mss 1460,sackOK,TS val 3275212179 ecr 464494241,nop,wscale 8,mptcp 12 capable v1 flags [H] {0x29a6c86981ad933c}" },
        { "0101080a1baf9ea1c337c5931e1401011fdb5df328bc3def29a6c86981ad933c", MPX_TH_ACK,
          "nop,nop,TS val 464494241 ecr 3275212179,mptcp 20 capable v1 flags [H] {0x1fdb5df328bc3def,0x29a6c86981ad933c}" },
        { "0101080a1baf9ea1c337c5931e1601011fdb5df328bc3def29a6c86981ad933c20000101", MPX_TH_ACK | MPX_TH_PSH,
          "nop,nop,TS val 464494241 ecr 3275212179,mptcp 22 capable v1 flags [H] {0x1fdb5df328bc3def,0x29a6c86981ad933c,data_len=8192},nop,nop" },
        { "0101080ac337c5931baf9ea11e0c2003c8072fb90edab04e", MPX_TH_ACK,
          "nop,nop,TS val 3275212179 ecr 464494241,mptcp 12 dss ack 14413541604287230030" },
        { "0101080ac337c5931baf9ea11e1a200fc8072fb90edab04ea28e87fddd1d30f20000000120000101", MPX_TH_ACK | MPX_TH_PSH,
          "nop,nop,TS val 3275212179 ecr 464494241,mptcp 26 dss ack 14413541604287230030 seq 11713449205243392242 subseq 1 len 8192,nop,nop" },
        { "0101080a1baf9ea1c337c5931e1a200fa28e87fddd1d30f2c8072fb90edad04e00002001081c0101", MPX_TH_ACK,
          "nop,nop,TS val 464494241 ecr 3275212179,mptcp 26 dss ack 11713449205243392242 seq 14413541604287238222 subseq 8193 len 2076,nop,nop" },
        { "0101080a1baf9ea1c337c5931e1a201fa28e87fddd1d50f2c8072fb90edad86a0000000000010101", MPX_TH_ACK | MPX_TH_FIN,
          "nop,nop,TS val 464494241 ecr 3275212179,mptcp 26 dss fin ack 11713449205243400434 seq 14413541604287240298 subseq 0 len 1,nop,nop" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t b[40];
        size_t n = hex(v[i].hex, b, sizeof b);
        mpx_tcpopts o;
        assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
        char txt[400];
        mpx_tcpopts_format(&o, v[i].flags, txt, sizeof txt);
        if (strcmp(txt, v[i].text) != 0) fail_msg("pkt %zu:\n got  %s\n want %s", i, txt, v[i].text);
        if (check_count(v[i].hex, v[i].flags) != 0) fail_msg("pkt %zu: unexpected violations", i);
    }
}

/* Linux 6.18 with net.mptcp.checksum_enabled=1 (capture described in test_proto_mptcp.c):
 * the 24-byte MP_CAPABLE with checksum, which this tcpdump version prints as "[bad opt]". */
static void test_linux_csum_capture(void **st)
{
    static const struct { const char *hex; uint8_t flags; const char *text; } v[] = {
        { "020405b40402080a6ab85972000000000103030a1e040181", MPX_TH_SYN,
          "mss 1460,sackOK,TS val 1790466418 ecr 0,nop,wscale 10,mptcp 4 capable v1 flags [AH]" },
        { "0101080a6ab85977bbab70081e180181c12e48b4845d6a2ff626ebff291033440322d04a", MPX_TH_ACK | MPX_TH_PSH,
          "nop,nop,TS val 1790466423 ecr 3148574728,mptcp 24 capable v1 flags [AH] "
          "{0xc12e48b4845d6a2f,0xf626ebff29103344,data_len=802,csum=0xd04a}" },
        { "0101080abbab700d6ab859771e1c200f472058afef32318cb844bbfce1aff2fe00000001000ee024", MPX_TH_ACK | MPX_TH_PSH,
          "nop,nop,TS val 3148574733 ecr 1790466423,mptcp 28 dss ack 5125193888603189644 "
          "seq 13277944296187622142 subseq 1 len 14 csum 0xe024" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t b[40];
        size_t n = hex(v[i].hex, b, sizeof b);
        mpx_tcpopts o;
        assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
        char txt[400];
        mpx_tcpopts_format(&o, v[i].flags, txt, sizeof txt);
        if (strcmp(txt, v[i].text) != 0) fail_msg("pkt %zu:\n got  %s\n want %s", i, txt, v[i].text);
        assert_int_equal(check_count(v[i].hex, v[i].flags), 0);
    }
}

/* tcpdump's tests/tfo-5c1fa7f9ae91.pcap: experimental TFO (254 / 0xF989). */
static void test_tcpdump_tfo_exp(void **st)
{
    uint8_t b[40];
    mpx_tcpopts o;
    size_t n = hex("020405b4fe04f989", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    const mpx_tcpopt *t = mpx_tcpopt_find(&o, MPX_TCPOPT_EXP2, MPX_TCPOPT_EXID_TFO);
    assert_non_null(t);
    assert_true(t->u.tfo.request);
    char txt[200];
    mpx_tcpopts_format(&o, MPX_TH_SYN, txt, sizeof txt);
    assert_string_equal(txt, "mss 1460,exp-tfo cookiereq");

    n = hex("020405dcfe0af9890909090900000101", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    t = mpx_tcpopt_find(&o, MPX_TCPOPT_EXP2, MPX_TCPOPT_EXID_TFO);
    assert_non_null(t);
    assert_false(t->u.tfo.request);
    assert_int_equal(t->u.tfo.n, 6);
    assert_memory_equal(t->u.tfo.cookie, "\x09\x09\x09\x09\x00\x00", 6);
    mpx_tcpopts_format(&o, MPX_TH_SYN | MPX_TH_ACK, txt, sizeof txt);
    assert_string_equal(txt, "mss 1500,exp-tfo cookie 090909090000,nop,nop");
    assert_int_equal(check_count("020405dcfe0af9890909090900000101", MPX_TH_SYN | MPX_TH_ACK), 0);
    /* the same cookie on a non-SYN segment */
    check_has("fe0af9890909090900000101", MPX_TH_ACK, "TFO-NOT-SYN");
}

static void test_tfo_kind34(void **st)
{
    uint8_t b[40];
    mpx_tcpopts o;
    size_t n = hex("2202 0101", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    assert_true(o.opt[0].u.tfo.request);
    n = hex("220a c0c1c2c3c4c5c6c7 0101", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    assert_int_equal(o.opt[0].u.tfo.n, 8);
    assert_int_equal(check_count("220ac0c1c2c3c4c5c6c70101", MPX_TH_SYN), 0);
    /* 16-byte cookie is the maximum */
    assert_int_equal(check_count("2212000102030405060708090a0b0c0d0e0f0101", MPX_TH_SYN), 0);
    /* odd cookie length, too short (2 bytes), too long (18 bytes) */
    check_has("2207c0c1c2c3c4 00", MPX_TH_SYN, "TFO-COOKIE-LEN");
    check_has("2204c0c1", MPX_TH_SYN, "TFO-COOKIE-LEN");
    check_has("2214000102030405060708090a0b0c0d0e0f1011", MPX_TH_SYN, "TFO-COOKIE-LEN");
    check_has("fe05f98900 000000", MPX_TH_SYN, "TFO-EXP-COOKIE-LEN");
    check_has("2202 0101", MPX_TH_ACK, "TFO-NOT-SYN");
}

static void test_walk_errors(void **st)
{
    walk_bad("0200", "TCPOPT-LEN-ZERO", 0);
    walk_bad("01 0201", "TCPOPT-LEN-ONE", 1);
    walk_bad("020405b4 080a0000", "TCPOPT-OVERRUN", 1);
    walk_bad("01010101 02", "TCPOPT-OVERRUN", 4);          /* kind without length byte */
    walk_bad("1e 28 0000", "TCPOPT-OVERRUN", 0);
    /* the checker reports the same structural rule */
    check_has("0200", MPX_TH_SYN, "TCPOPT-LEN-ZERO");
    check_has("0201", MPX_TH_SYN, "TCPOPT-LEN-ONE");
    check_has("080a0000", MPX_TH_ACK, "TCPOPT-OVERRUN");
    /* a huge area of NOPs stops at the item cap, never loops */
    char big[2 * 200 + 1];
    for (int i = 0; i < 200; i++) memcpy(big + 2 * i, "01", 2);
    big[400] = 0;
    walk_bad(big, "TCPOPT-TOO-MANY", MPX_TCPOPT_MAX_ITEMS);
    check_has(big, MPX_TH_ACK, "TCPOPT-AREA-LEN");
}

static void test_eol(void **st)
{
    uint8_t b[40];
    mpx_tcpopts o;
    size_t n = hex("020405b4 00 000000", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    assert_true(o.eol);
    assert_int_equal(o.used, 5);
    assert_int_equal(o.n, 2);
    assert_false(o.pad_nonzero);
    assert_int_equal(check_count("020405b400000000", MPX_TH_SYN), 0);
    /* an option after EOL is not walked but reported by the checker */
    n = hex("020405b4 00 010303 07", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    assert_true(o.pad_nonzero);
    assert_int_equal(o.pad_nonzero_off, 5);
    assert_null(mpx_tcpopt_find(&o, MPX_TCPOPT_WS, -1));
    check_has("020405b400010303 07", MPX_TH_SYN, "TCPOPT-AFTER-EOL");
}

static void test_kind_lengths(void **st)
{
    check_has("020505b400 000000", MPX_TH_SYN, "TCPOPT-MSS-LEN");
    check_has("0304070000000000", MPX_TH_SYN, "TCPOPT-WS-LEN");
    check_has("04030000", MPX_TH_SYN, "TCPOPT-SACKPERM-LEN");
    check_has("0802 0000", MPX_TH_ACK, "TCPOPT-TS-LEN");
    check_has("0101 0502", MPX_TH_ACK, "TCPOPT-SACK-LEN");
    check_has("050b 0000000100000002 00 0000", MPX_TH_ACK, "TCPOPT-SACK-LEN");
    check_has("1310 00000000000000000000000000000000", MPX_TH_SYN, "TCPOPT-MD5-LEN");
    check_has("fd03 00 00", MPX_TH_SYN, "TCPOPT-EXP-LEN");
    check_has("1d03 00 00", MPX_TH_SYN, "TCPOPT-AO-LEN");
    check_has("1e02 0000", MPX_TH_SYN, "MPTCP-LEN-SHORT");
    check_has("0103030f", MPX_TH_SYN, "TCPOPT-WS-SHIFT");
    check_has("080a0000000100000005 0000", MPX_TH_SYN, "TCPOPT-TS-ECR-NOACK");
    check_has("00", MPX_TH_SYN, "TCPOPT-AREA-ALIGN");
}

static void test_syn_only(void **st)
{
    check_has("020405b4", MPX_TH_ACK, "TCPOPT-MSS-NOT-SYN");
    check_has("01030307", MPX_TH_ACK, "TCPOPT-WS-NOT-SYN");
    check_has("01010402", MPX_TH_ACK | MPX_TH_PSH, "TCPOPT-SACKPERM-NOT-SYN");
    check_has("0101050a0000000100000002", MPX_TH_SYN, "TCPOPT-SACK-IN-SYN");
    check_has("020405b4020405b4", MPX_TH_SYN, "TCPOPT-DUP");
    /* SACK blocks in an ACK are fine */
    assert_int_equal(check_count("0101050a0000000100000002", MPX_TH_ACK), 0);
    uint8_t b[40];
    mpx_tcpopts o;
    size_t n = hex("0101051200000001000000020000000a0000000b", b, sizeof b);
    assert_int_equal(mpx_tcpopt_walk(b, n, &o), 0);
    uint32_t l, r;
    assert_true(mpx_tcpopt_sack_block(&o.opt[2], 1, &l, &r));
    assert_int_equal(l, 10);
    assert_int_equal(r, 11);
    assert_false(mpx_tcpopt_sack_block(&o.opt[2], 2, &l, &r));
}

static void test_mptcp_context(void **st)
{
    /* a v1 MP_CAPABLE SYN form (4 bytes) on a SYN/ACK, a 12-byte form on a SYN */
    check_has("1e040101", MPX_TH_SYN | MPX_TH_ACK, "MPC-LEN");
    check_has("1e0c010129a6c86981ad933c", MPX_TH_SYN, "MPC-LEN");
    /* v0 SYN carries a key: 12 is right, 4 is not */
    assert_int_equal(check_count("1e0c000129a6c86981ad933c", MPX_TH_SYN), 0);
    check_has("1e040001", MPX_TH_SYN, "MPC-LEN");
    /* DSS whose length does not match its flags */
    check_has("1e0c2005 00000001 00000002", MPX_TH_ACK, "DSS-LEN");
    /* offsets of MPTCP violations are relative to the area */
    uint8_t b[40];
    size_t n = hex("01011e040101 0000", b, sizeof b);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    mpx_tcpopt_check(b, n, MPX_TH_SYN | MPX_TH_ACK, &vs);
    assert_true(vs.n >= 1);
    assert_string_equal(vs.v[0].rule, "MPC-LEN");
    assert_int_equal(vs.v[0].off, 3);
}

static void test_encode_roundtrip(void **st)
{
    uint8_t b[64];
    mpx_wr w = mpx_wr_init(b, 40);
    static const uint8_t ck[8] = { 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7 };
    mpx_tcpopt_put_mss(&w, 1400);
    mpx_tcpopt_put_sackperm(&w);
    mpx_tcpopt_put_ts(&w, 0x11223344, 0);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_ws(&w, 9);
    mpx_tcpopt_put_tfo(&w, ck, 8);
    mpx_tcpopt_put_pad(&w);
    assert_false(w.overflow);
    assert_int_equal(w.len, 32);
    uint8_t want[40];
    size_t wn = hex("02040578 0402 080a1122334400000000 01 030309 220ac0c1c2c3c4c5c6c7 0000", want, sizeof want);
    assert_int_equal(wn, 32);
    assert_memory_equal(b, want, 32);
    mpx_tcpopts o;
    assert_int_equal(mpx_tcpopt_walk(b, w.len, &o), 0);
    assert_int_equal(o.opt[0].u.mss, 1400);
    assert_int_equal(o.opt[2].u.ts.val, 0x11223344);
    assert_int_equal(o.opt[4].u.ws, 9);
    assert_int_equal(o.opt[5].u.tfo.n, 8);
    assert_memory_equal(o.opt[5].u.tfo.cookie, ck, 8);
    assert_true(o.eol);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    assert_int_equal(mpx_tcpopt_check(b, w.len, MPX_TH_SYN, &vs), 0);

    w = mpx_wr_init(b, 40);
    uint32_t l[2] = { 100, 300 }, r[2] = { 200, 400 };
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_sack(&w, l, r, 2);
    mpx_tcpopt_put_tfo_exp(&w, NULL, 0);
    mpx_tcpopt_put_exp(&w, 253, 0x4d58, (const uint8_t *)"ab", 2);
    mpx_tcpopt_put_raw(&w, 99, (const uint8_t *)"\x01", 1);
    assert_false(w.overflow);
    assert_int_equal(mpx_tcpopt_walk(b, w.len, &o), 0);
    assert_int_equal(o.n, 6);
    assert_int_equal(o.opt[2].u.sack.n, 2);
    assert_true(o.opt[3].u.tfo.request);
    assert_int_equal(o.opt[4].exid, 0x4d58);
    assert_int_equal(o.opt[4].dlen, 2);
    assert_int_equal(o.opt[5].kind, 99);
    assert_ptr_equal(mpx_tcpopt_find(&o, 253, -1), &o.opt[4]);
    assert_ptr_equal(mpx_tcpopt_find(&o, 253, 0x4d58), &o.opt[4]);
    assert_null(mpx_tcpopt_find(&o, 253, 0x4d59));
    assert_null(mpx_tcpopt_find(&o, MPX_TCPOPT_MSS, -1));
    assert_int_equal(o.opt[5].len, 3);
    char txt[300];
    mpx_tcpopts_format(&o, MPX_TH_ACK, txt, sizeof txt);
    assert_string_equal(txt, "nop,nop,sack 2 {100:200} {300:400},exp-tfo cookiereq,exp-253 0x4d58 6162,unknown-99 len 3 01");
    w = mpx_wr_init(b, 40);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_raw(&w, MPX_TCPOPT_MD5, (const uint8_t *)"0123456789abcdef", 16);
    assert_int_equal(mpx_tcpopt_walk(b, w.len, &o), 0);
    mpx_tcpopts_format(&o, MPX_TH_SYN, txt, sizeof txt);
    assert_string_equal(txt, "nop,nop,md5 30313233343536373839616263646566");
    /* the writer refuses to overflow */
    w = mpx_wr_init(b, 6);
    mpx_tcpopt_put_ts(&w, 1, 2);
    assert_true(w.overflow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_tcpdump_mptcp_v1),
        cmocka_unit_test(test_linux_csum_capture),
        cmocka_unit_test(test_tcpdump_tfo_exp),
        cmocka_unit_test(test_tfo_kind34),
        cmocka_unit_test(test_walk_errors),
        cmocka_unit_test(test_eol),
        cmocka_unit_test(test_kind_lengths),
        cmocka_unit_test(test_syn_only),
        cmocka_unit_test(test_mptcp_context),
        cmocka_unit_test(test_encode_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
