/* MPTCP options: decode of tcpdump's mptcp-v1 capture, token/IDSN against sha256sum /
 * sha1sum and the capture's own data sequence numbers, MP_JOIN and ADD_ADDR HMACs against
 * openssl/python, every DSS flag combination, every subtype's length rules per context,
 * semantic checks, encode -> decode round trips, and the MP_CONVERT / MP_PREFER_PROXY
 * options of mpopt.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/mptcp.h"
#include "proto/mpopt.h"

#define KEY_A 0x1fdb5df328bc3defull   /* client key in tcpdump tests/mptcp-v1.pcap */
#define KEY_B 0x29a6c86981ad933cull   /* server key */

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    long n = mpx_hex_parse(s, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

static void dec_ok(const char *h, mpx_mpctx ctx, mpx_mptcp_opt *o, uint8_t *buf)
{
    size_t n = hex(h, buf, 64);
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_mptcp_decode(buf, n, ctx, o, &e) != 0) fail_msg("%s: %s %s", h, e.rule, e.msg);
}

static void dec_bad(const char *h, mpx_mpctx ctx, const char *rule)
{
    uint8_t b[64];
    size_t n = hex(h, b, sizeof b);
    mpx_mptcp_opt o;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_mptcp_decode(b, n, ctx, &o, &e);
    if (r != -1 || !e.rule || strcmp(e.rule, rule) != 0)
        fail_msg("%s ctx %d: expected %s, got r=%d %s", h, ctx, rule, r, e.rule ? e.rule : "-");
}

static void check_has(const char *h, mpx_mpctx ctx, uint8_t flags, const char *rule)
{
    uint8_t b[64];
    mpx_mptcp_opt o;
    dec_ok(h, ctx, &o, b);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    mpx_mptcp_check(&o, flags, 0, &vs);
    if (!mpx_viols_has(&vs, rule)) fail_msg("%s: expected %s (%zu violations)", h, rule, vs.n);
}

static size_t check_n(const char *h, mpx_mpctx ctx, uint8_t flags)
{
    uint8_t b[64];
    mpx_mptcp_opt o;
    dec_ok(h, ctx, &o, b);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    return mpx_mptcp_check(&o, flags, 0, &vs);
}

/* Re-encodes a decoded option and expects the original bytes back. */
static void reencode(const char *h, mpx_mpctx ctx)
{
    uint8_t b[64], out[64];
    mpx_mptcp_opt o;
    dec_ok(h, ctx, &o, b);
    size_t n = hex(h, b, sizeof b);
    assert_int_equal(mpx_mptcp_encoded_len(&o), n);
    mpx_wr w = mpx_wr_init(out, sizeof out);
    assert_int_equal(mpx_mptcp_encode(&o, &w), 0);
    assert_int_equal(w.len, n);
    if (memcmp(out, b, n) != 0) fail_msg("%s: re-encoding differs", h);
}

static void test_capture_mp_capable(void **st)
{
    uint8_t b[64];
    mpx_mptcp_opt o;
    dec_ok("1e040101", MPX_MPCTX_SYN, &o, b);
    assert_int_equal(o.subtype, MPX_MP_CAPABLE);
    assert_int_equal(o.u.mpc.version, 1);
    assert_int_equal(o.u.mpc.flags, MPX_MPC_H);
    assert_false(o.u.mpc.has_snd_key);

    dec_ok("1e0c010129a6c86981ad933c", MPX_MPCTX_SYNACK, &o, b);
    assert_true(o.u.mpc.has_snd_key);
    assert_false(o.u.mpc.has_rcv_key);
    assert_true(o.u.mpc.snd_key == KEY_B);

    dec_ok("1e1401011fdb5df328bc3def29a6c86981ad933c", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.mpc.snd_key == KEY_A);
    assert_true(o.u.mpc.rcv_key == KEY_B);
    assert_false(o.u.mpc.has_dll);

    dec_ok("1e1601011fdb5df328bc3def29a6c86981ad933c2000", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.mpc.has_dll);
    assert_int_equal(o.u.mpc.dll, 8192);
    assert_false(o.u.mpc.has_csum);
    char t[200];
    mpx_mptcp_format(&o, t, sizeof t);
    assert_string_equal(t, "capable v1 flags [H] {0x1fdb5df328bc3def,0x29a6c86981ad933c,data_len=8192}");

    /* 24: with checksum (A flag negotiated) */
    dec_ok("1e1801811fdb5df328bc3def29a6c86981ad933c2000beef", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.mpc.has_csum);
    assert_int_equal(o.u.mpc.csum, 0xbeef);
    assert_int_equal(o.u.mpc.flags, MPX_MPC_A | MPX_MPC_H);

    reencode("1e040101", MPX_MPCTX_SYN);
    reencode("1e0c010129a6c86981ad933c", MPX_MPCTX_SYNACK);
    reencode("1e1401011fdb5df328bc3def29a6c86981ad933c", MPX_MPCTX_ACK);
    reencode("1e1601011fdb5df328bc3def29a6c86981ad933c2000", MPX_MPCTX_ACK);
    reencode("1e1801811fdb5df328bc3def29a6c86981ad933c2000beef", MPX_MPCTX_ANY);
    /* v0 (RFC 6824): key in the SYN */
    reencode("1e0c00811fdb5df328bc3def", MPX_MPCTX_SYN);
    reencode("1e1400811fdb5df328bc3def29a6c86981ad933c", MPX_MPCTX_ACK);
}

static void test_mpc_lengths(void **st)
{
    static const size_t v1_len[] = { 4, 12, 20, 22, 24 };
    static const char *const v1_hex[] = {
        "1e040101", "1e0c01010000000000000001", "1e1401010000000000000001 0000000000000002",
        "1e1601010000000000000001 0000000000000002 0010",
        "1e1801810000000000000001 0000000000000002 0010 0000",
    };
    /* which v1 length is legal in which context */
    static const bool ok[4][5] = {
        /* ANY */    { 1, 1, 1, 1, 1 },
        /* SYN */    { 1, 0, 0, 0, 0 },
        /* SYNACK */ { 0, 1, 0, 0, 0 },
        /* ACK */    { 0, 0, 1, 1, 1 },
    };
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 5; i++) {
            uint8_t b[64];
            size_t n = hex(v1_hex[i], b, sizeof b);
            assert_int_equal(n, v1_len[i]);
            mpx_mptcp_opt o;
            mpx_err e;
            mpx_err_clear(&e);
            int r = mpx_mptcp_decode(b, n, (mpx_mpctx)c, &o, &e);
            if ((r == 0) != ok[c][i]) fail_msg("ctx %d len %zu: r=%d %s", c, n, r, e.rule ? e.rule : "");
            if (r) assert_string_equal(e.rule, "MPC-LEN");
        }
    /* v0: SYN 12 is fine, 4 is not; no data forms */
    dec_bad("1e040001", MPX_MPCTX_SYN, "MPC-LEN");
    dec_bad("1e1600010000000000000001 0000000000000002 0010", MPX_MPCTX_ACK, "MPC-LEN");
    dec_bad("1e0c02010000000000000001", MPX_MPCTX_SYN, "MPC-VERSION");
    dec_bad("1e0301", MPX_MPCTX_SYN, "MPC-LEN");
    dec_bad("1e0801010000 0000", MPX_MPCTX_ANY, "MPC-LEN");
}

static void test_mpc_semantics(void **st)
{
    assert_int_equal(check_n("1e040101", MPX_MPCTX_SYN, 0x02), 0);
    check_has("1e040141", MPX_MPCTX_SYN, 0x02, "MPC-FLAG-B");
    check_has("1e040180", MPX_MPCTX_SYN, 0x02, "MPC-NO-CRYPTO");
    check_has("1e040120", MPX_MPCTX_SYN, 0x02, "MPC-NO-CRYPTO");   /* v1 C is not a crypto bit */
    assert_int_equal(check_n("1e0c00200000000000000001", MPX_MPCTX_SYN, 0x02), 0);  /* v0 C is */
    /* decoded out of context, checked against the flags */
    check_has("1e040101", MPX_MPCTX_ANY, 0x12, "MPC-CTX");
    check_has("1e0c010129a6c86981ad933c", MPX_MPCTX_ANY, 0x02, "MPC-CTX");
    check_has("1e1401011fdb5df328bc3def29a6c86981ad933c", MPX_MPCTX_ANY, 0x12, "MPC-CTX");
    assert_int_equal(check_n("1e0c000129a6c86981ad933c", MPX_MPCTX_ANY, 0x02), 0);
}

static void test_token_idsn(void **st)
{
    /* sha256sum of the 8 key bytes: 239fbdb0...c8072fb90edab04d and a35d6d82...a28e87fddd1d30f1 */
    assert_int_equal(mpx_mptcp_token(KEY_A, 1), 0x239fbdb0u);
    assert_true(mpx_mptcp_idsn(KEY_A, 1) == 0xc8072fb90edab04dull);
    assert_int_equal(mpx_mptcp_token(KEY_B, 1), 0xa35d6d82u);
    assert_true(mpx_mptcp_idsn(KEY_B, 1) == 0xa28e87fddd1d30f1ull);
    /* the capture agrees: the server's first Data ACK (pkt 5) is client IDSN + 1 and the
     * server's first DSN (pkt 7) is server IDSN + 1 (the SYN takes one data octet) */
    uint8_t b[64];
    mpx_mptcp_opt o;
    dec_ok("1e0c2003c8072fb90edab04e", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.dss.data_ack == mpx_mptcp_idsn(KEY_A, 1) + 1);
    dec_ok("1e1a200fc8072fb90edab04ea28e87fddd1d30f200000001 2000", MPX_MPCTX_ANY, &o, b);
    assert_true(o.u.dss.dsn == mpx_mptcp_idsn(KEY_B, 1) + 1);
    /* v0: SHA-1 (sha1sum: 7550f54b...ece14c795a35c1d7) */
    assert_int_equal(mpx_mptcp_token(KEY_A, 0), 0x7550f54bu);
    assert_true(mpx_mptcp_idsn(KEY_A, 0) == 0xece14c795a35c1d7ull);
}

static void test_join(void **st)
{
    const uint32_t ra = 0x01020304, rb = 0xa0b0c0d0;
    /* SYN: token of B's key, A's random */
    uint8_t b[64], out[64];
    mpx_mptcp_opt o;
    dec_ok("1e0c1105a35d6d8201020304", MPX_MPCTX_SYN, &o, b);
    assert_int_equal(o.subtype, MPX_MP_JOIN);
    assert_int_equal(o.u.mpj.form, MPX_MPJ_SYN);
    assert_true(o.u.mpj.backup);
    assert_int_equal(o.u.mpj.addr_id, 5);
    assert_int_equal(o.u.mpj.token, mpx_mptcp_token(KEY_B, 1));
    assert_int_equal(o.u.mpj.nonce, ra);

    /* SYN/ACK: HMAC-B = HMAC(KeyB||KeyA, RB||RA); value from openssl dgst -mac HMAC */
    assert_true(mpx_mptcp_join_hmac64(1, KEY_B, KEY_A, rb, ra) == 0xc9c3f83fe022176aull);
    mpx_mptcp_opt j;
    memset(&j, 0, sizeof j);
    j.subtype = MPX_MP_JOIN;
    j.u.mpj.form = MPX_MPJ_SYNACK;
    j.u.mpj.addr_id = 0;
    j.u.mpj.hmac64 = mpx_mptcp_join_hmac64(1, KEY_B, KEY_A, rb, ra);
    j.u.mpj.nonce = rb;
    mpx_wr w = mpx_wr_init(out, sizeof out);
    assert_int_equal(mpx_mptcp_encode(&j, &w), 0);
    assert_int_equal(w.len, 16);
    size_t n = hex("1e101000c9c3f83fe022176aa0b0c0d0", b, sizeof b);
    assert_memory_equal(out, b, n);
    dec_ok("1e101000c9c3f83fe022176aa0b0c0d0", MPX_MPCTX_SYNACK, &o, b);
    assert_true(mpx_mptcp_join_verify(1, &o.u.mpj, KEY_B, KEY_A, rb, ra));
    assert_false(mpx_mptcp_join_verify(1, &o.u.mpj, KEY_A, KEY_B, ra, rb));
    assert_false(mpx_mptcp_join_verify(1, &o.u.mpj, KEY_B, KEY_A, rb, ra + 1));

    /* ACK: 160 bits of HMAC-A = HMAC(KeyA||KeyB, RA||RB) */
    uint8_t mac[32];
    assert_int_equal(mpx_mptcp_join_hmac(1, KEY_A, KEY_B, ra, rb, mac), 32);
    uint8_t want[32];
    hex("6aa6beeb783cc56f5a70ae17530620a54921d9813fcde181b122040629b10bf4", want, sizeof want);
    assert_memory_equal(mac, want, 32);
    dec_ok("1e181000 6aa6beeb783cc56f5a70ae17530620a54921d981", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(o.u.mpj.form, MPX_MPJ_ACK);
    assert_true(mpx_mptcp_join_verify(1, &o.u.mpj, KEY_A, KEY_B, ra, rb));
    o.u.mpj.hmac[19] ^= 1;
    assert_false(mpx_mptcp_join_verify(1, &o.u.mpj, KEY_A, KEY_B, ra, rb));
    /* v0: HMAC-SHA1 (python hmac) */
    assert_int_equal(mpx_mptcp_join_hmac(0, KEY_A, KEY_B, ra, rb, mac), 20);
    hex("b93a869f5f5bb1edbb4b34dfd7bf413cc630bf0e", want, sizeof want);
    assert_memory_equal(mac, want, 20);

    reencode("1e0c1105a35d6d8201020304", MPX_MPCTX_SYN);
    reencode("1e181000 6aa6beeb783cc56f5a70ae17530620a54921d981", MPX_MPCTX_ACK);
    /* lengths by context */
    dec_bad("1e101000c9c3f83fe022176aa0b0c0d0", MPX_MPCTX_SYN, "MPJ-LEN");
    dec_bad("1e0c1105a35d6d8201020304", MPX_MPCTX_SYNACK, "MPJ-LEN");
    dec_bad("1e0c1105a35d6d8201020304", MPX_MPCTX_ACK, "MPJ-LEN");
    dec_bad("1e0e1105a35d6d82010203040000", MPX_MPCTX_ANY, "MPJ-LEN");
    dec_bad("1e041000", MPX_MPCTX_ANY, "MPJ-LEN");
    check_has("1e0c1105a35d6d8201020304", MPX_MPCTX_ANY, 0x10, "MPJ-CTX");
    assert_int_equal(check_n("1e0c1105a35d6d8201020304", MPX_MPCTX_ANY, 0x02), 0);
}

/* The vectors of Linux's own MPTCP crypto KUnit test (net/mptcp/crypto_test.c): the key
 * and message strings there are used as raw bytes (key1 = first 8 characters, key2 = next
 * 8, nonce1/nonce2 = 4 characters each of the message). */
static void test_linux_kunit_hmac(void **st)
{
    static const struct { uint64_t k1, k2; uint32_t n1, n2; const char *result; } v[] = {
        { 0x3062306230623062ull, 0x3062306230623062ull, 0x34383639, 0x32303534,   /* "0b0b..", "48692054" */
          "8385e24fb4235ac37556b6b886db106284a1da671699f46db1f235ec622dcafa" },
        { 0x6161616161616161ull, 0x6161616161616161ull, 0x64646464, 0x64646464,   /* "aaaa..", "dddddddd" */
          "2c5e219164ff1dca1c4a92318d847bb6b9d44492984e1eb71aff9022f71046e9" },
        { 0x3031303230333034ull, 0x3035303630373038ull, 0x63646364, 0x63646364,   /* "0102030405060708", "cdcdcdcd" */
          "e73b9ba9969969cefb04aa0d6df18ec2fcc075b6f23b4d8c4da736a5dbbc6e7d" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t mac[32], want[32];
        hex(v[i].result, want, sizeof want);
        assert_int_equal(mpx_mptcp_join_hmac(1, v[i].k1, v[i].k2, v[i].n1, v[i].n2, mac), 32);
        assert_memory_equal(mac, want, 32);
    }
}

/* DSS checksums from a real capture made for this test: two network namespaces on Linux
 * 6.18 with net.mptcp.checksum_enabled=1; the client (key 0xc12e48b4845d6a2f) sent
 * "hello mptcp checksum, odd length!" + bytes 0..255 three times + "x" (802 bytes) under a
 * 24-byte MP_CAPABLE, the server answered "pong-802802802" under a 28-byte DSS, and each side
 * sent a DATA_FIN-only mapping. Options below are the raw bytes of those segments. */
static void test_dss_checksum_capture(void **st)
{
    uint8_t pay[802];
    size_t n = 0;
    memcpy(pay, "hello mptcp checksum, odd length!", 33);
    n = 33;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 256; i++) pay[n++] = (uint8_t)i;
    pay[n++] = 'x';
    assert_int_equal(n, 802);
    uint8_t b[64];
    mpx_mptcp_opt o;
    /* client's first data: MP_CAPABLE with data-level length and checksum */
    dec_ok("1e180181c12e48b4845d6a2ff626ebff291033440322d04a", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.mpc.has_csum);
    assert_int_equal(o.u.mpc.dll, 802);
    uint64_t dsn = mpx_mptcp_idsn(o.u.mpc.snd_key, 1) + 1;
    assert_int_equal(mpx_mptcp_dss_csum(dsn, 1, 802, pay, 802), o.u.mpc.csum);
    assert_int_equal(o.u.mpc.csum, 0xd04a);
    /* the same sum built piecewise, split at odd offsets */
    mpx_csum c;
    mpx_csum_init(&c);
    mpx_csum_add(&c, pay, 33);
    mpx_csum_add(&c, pay + 33, 1);
    mpx_csum_add(&c, pay + 34, 767);
    mpx_csum_add(&c, pay + 801, 1);
    assert_int_equal(mpx_mptcp_dss_csum_final(&c, dsn, 1, 802), 0xd04a);
    /* one flipped payload bit changes it */
    pay[400] ^= 0x10;
    assert_int_not_equal(mpx_mptcp_dss_csum(dsn, 1, 802, pay, 802), 0xd04a);
    /* server's reply: DSS with 64-bit ack and DSN, checksum */
    dec_ok("1e1c200f472058afef32318cb844bbfce1aff2fe00000001000ee024", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.dss.has_csum);
    assert_int_equal(mpx_mptcp_dss_csum(o.u.dss.dsn, o.u.dss.ssn, o.u.dss.dll,
                                        (const uint8_t *)"pong-802802802", 14), o.u.dss.csum);
    /* the client's ack of it equals that DSN + 14 */
    dec_ok("1e0c2003b844bbfce1aff30c", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.dss.data_ack == 0xb844bbfce1aff2feull + 14);
    /* DATA_FIN-only mappings (SSN 0, length 1, no payload), 32-bit ack / 64-bit DSN */
    dec_ok("1e18201de1aff2fe472058afef32318b0000000000013f71", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.dss.fin);
    assert_false(o.u.dss.ack64);
    assert_true(o.u.dss.dsn == dsn + 802);
    assert_int_equal(mpx_mptcp_dss_csum(o.u.dss.dsn, 0, 1, NULL, 0), o.u.dss.csum);
    dec_ok("1e1c201f472058afef32318cb844bbfce1aff30c000000000001b700", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(mpx_mptcp_dss_csum(o.u.dss.dsn, 0, 1, NULL, 0), 0xb700);
}

static void test_dss_all_flags(void **st)
{
    /* every combination of A a M m F, with and without checksum */
    for (unsigned f = 0; f < 32; f++)
        for (int cs = 0; cs < 2; cs++) {
            bool A = f & 1, a = f & 2, M = f & 4, m = f & 8, F = f & 16;
            if (cs && !M) continue;
            mpx_mptcp_opt o;
            memset(&o, 0, sizeof o);
            o.subtype = MPX_MP_DSS;
            o.u.dss.has_ack = A;
            o.u.dss.ack64 = a;
            o.u.dss.data_ack = a ? 0x1122334455667788ull : 0x11223344;
            o.u.dss.has_map = M;
            o.u.dss.dsn64 = m;
            o.u.dss.dsn = m ? 0x8877665544332211ull : 0x44332211;
            o.u.dss.ssn = 0x10;
            o.u.dss.dll = 1000;
            o.u.dss.has_csum = cs;
            o.u.dss.csum = cs ? 0xabcd : 0;
            o.u.dss.fin = F;
            size_t want = 4 + (A ? (a ? 8 : 4) : 0) + (M ? (m ? 8 : 4) + 6 + (cs ? 2 : 0) : 0);
            assert_int_equal(mpx_mptcp_encoded_len(&o), want);
            uint8_t b[64];
            mpx_wr w = mpx_wr_init(b, sizeof b);
            assert_int_equal(mpx_mptcp_encode(&o, &w), 0);
            assert_int_equal(w.len, want);
            /* wire flags: a/m only meaningful with A/M, so the encoder only sets them then */
            uint8_t wf = (uint8_t)((A ? 1 : 0) | (A && a ? 2 : 0) | (M ? 4 : 0) | (M && m ? 8 : 0) | (F ? 16 : 0));
            assert_int_equal(b[3], wf);
            mpx_mptcp_opt d;
            mpx_err e;
            mpx_err_clear(&e);
            if (mpx_mptcp_decode(b, w.len, MPX_MPCTX_ACK, &d, &e)) fail_msg("f=%u cs=%d: %s", f, cs, e.rule);
            assert_int_equal(d.u.dss.has_ack, A);
            assert_int_equal(d.u.dss.has_map, M);
            assert_int_equal(d.u.dss.fin, F);
            assert_int_equal(d.u.dss.has_csum, cs);
            if (A) assert_true(d.u.dss.data_ack == o.u.dss.data_ack);
            if (M) {
                assert_true(d.u.dss.dsn == o.u.dss.dsn);
                assert_int_equal(d.u.dss.ssn, 0x10);
                assert_int_equal(d.u.dss.dll, 1000);
                if (cs) assert_int_equal(d.u.dss.csum, 0xabcd);
            }
            /* one byte short or one too long (+2 without mapping) must be DSS-LEN */
            b[1] = (uint8_t)(want - 1);
            mpx_mptcp_opt x;
            mpx_err_clear(&e);
            assert_int_equal(mpx_mptcp_decode(b, want - 1, MPX_MPCTX_ACK, &x, &e), -1);
            assert_string_equal(e.rule, want - 1 < 4 ? "MPTCP-LEN-SHORT" : "DSS-LEN");
            if (!M) {
                uint8_t c[64];
                memcpy(c, b, want);
                c[1] = (uint8_t)(want + 2);
                c[want] = c[want + 1] = 0;
                mpx_err_clear(&e);
                assert_int_equal(mpx_mptcp_decode(c, want + 2, MPX_MPCTX_ACK, &x, &e), -1);
                assert_string_equal(e.rule, "DSS-LEN");
            }
        }
    /* a and m set without A/M are ignored for the length (here 4) */
    uint8_t b[64];
    mpx_mptcp_opt o;
    dec_ok("1e04200a", MPX_MPCTX_ACK, &o, b);
    assert_false(o.u.dss.has_ack);
    assert_false(o.u.dss.has_map);
    /* semantics */
    check_has("1e08200100000001", MPX_MPCTX_ANY, 0x02, "DSS-IN-SYN");
    check_has("1e08202100000001", MPX_MPCTX_ACK, 0x10, "DSS-RSV");
    check_has("1e08210100000001", MPX_MPCTX_ACK, 0x10, "DSS-RSV");
    check_has("1e10200400000001000000010000ffff", MPX_MPCTX_ACK, 0x10, "DSS-INF-CSUM");
    assert_int_equal(check_n("1e10200400000001000000010000 0000", MPX_MPCTX_ACK, 0x10), 0);
    assert_int_equal(check_n("1e0c2003c8072fb90edab04e", MPX_MPCTX_ACK, 0x10), 0);
    dec_bad("1e0320", MPX_MPCTX_ACK, "MPTCP-LEN-SHORT");
}

static void test_add_addr(void **st)
{
    uint8_t b[64];
    mpx_mptcp_opt o;
    /* v1 IPv4 with HMAC, value from python hmac over id||addr||port(0) */
    mpx_mp_add_addr a = { .version = 1, .family = 4, .addr_id = 1, .addr = { 10, 0, 2, 2 } };
    assert_true(mpx_mptcp_add_addr_hmac(KEY_A, KEY_B, &a) == 0xca65b6964dcb2a9aull);
    dec_ok("1e10 3001 0a000202 ca65b6964dcb2a9a", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(o.u.add_addr.version, 1);
    assert_int_equal(o.u.add_addr.family, 4);
    assert_false(o.u.add_addr.has_port);
    assert_true(o.u.add_addr.has_hmac);
    assert_true(o.u.add_addr.hmac == mpx_mptcp_add_addr_hmac(KEY_A, KEY_B, &o.u.add_addr));
    /* v1 IPv6 + port 8080 */
    mpx_mp_add_addr a6 = { .version = 1, .family = 6, .addr_id = 2, .has_port = true, .port = 8080,
                           .addr = { 0xfd, [15] = 2 } };
    assert_true(mpx_mptcp_add_addr_hmac(KEY_A, KEY_B, &a6) == 0x0e5db4b73545d54dull);
    dec_ok("1e1e 3002 fd000000000000000000000000000002 1f90 0e5db4b73545d54d", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(o.u.add_addr.family, 6);
    assert_int_equal(o.u.add_addr.port, 8080);
    assert_true(o.u.add_addr.hmac == 0x0e5db4b73545d54dull);
    char t[200];
    mpx_mptcp_format(&o, t, sizeof t);
    assert_string_equal(t, "add-addr id 2 [fd00:0:0:0:0:0:0:2]:8080 hmac 0x0e5db4b73545d54d");
    /* every legal length round-trips */
    static const char *const ok[] = {
        "1e10 3001 0a000202 ca65b6964dcb2a9a",
        "1e12 3001 0a000202 1f90 0000000000000001",
        "1e1c 3002 fd000000000000000000000000000002 0000000000000001",
        "1e1e 3002 fd000000000000000000000000000002 1f90 0e5db4b73545d54d",
        "1e08 3101 0a000202", "1e0a 3101 0a000202 1f90",
        "1e14 3102 fd000000000000000000000000000002", "1e16 3102 fd000000000000000000000000000002 1f90",
        /* RFC 6824: IPVer nibble, no HMAC */
        "1e08 3401 0a000202", "1e0a 3401 0a000202 1f90",
        "1e14 3602 fd000000000000000000000000000002", "1e16 3602 fd000000000000000000000000000002 1f90",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) reencode(ok[i], MPX_MPCTX_ACK);
    dec_ok("1e0a 3401 0a000202 1f90", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(o.u.add_addr.version, 0);
    assert_int_equal(o.u.add_addr.port, 8080);
    dec_ok("1e0a 3101 0a000202 1f90", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.add_addr.echo);
    assert_false(o.u.add_addr.has_hmac);
    dec_bad("1e08 3001 0a000202", MPX_MPCTX_ACK, "ADD-ADDR-LEN");            /* no HMAC, E = 0 */
    dec_bad("1e10 3101 0a000202 0000000000000000", MPX_MPCTX_ACK, "ADD-ADDR-LEN");
    dec_bad("1e11 3001 0a000202 ca65b6964dcb2a9a 00", MPX_MPCTX_ACK, "ADD-ADDR-LEN");
    dec_bad("1e05 3001 0a", MPX_MPCTX_ACK, "ADD-ADDR-LEN");
    check_has("1e10 3201 0a000202 ca65b6964dcb2a9a", MPX_MPCTX_ACK, 0x10, "ADD-ADDR-RSV");
}

static void test_other_subtypes(void **st)
{
    uint8_t b[64];
    mpx_mptcp_opt o;
    dec_ok("1e06 4001 0203", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(o.subtype, MPX_MP_REMOVE_ADDR);
    assert_int_equal(o.u.rm_addr.n, 3);
    assert_int_equal(o.u.rm_addr.ids[2], 3);
    reencode("1e06 4001 0203", MPX_MPCTX_ACK);
    dec_bad("1e03 40", MPX_MPCTX_ACK, "RM-ADDR-LEN");

    dec_ok("1e03 51", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.prio.backup);
    assert_false(o.u.prio.has_addr_id);
    dec_ok("1e04 5107", MPX_MPCTX_ACK, &o, b);
    assert_int_equal(o.u.prio.addr_id, 7);
    reencode("1e03 51", MPX_MPCTX_ACK);
    reencode("1e04 5007", MPX_MPCTX_ACK);
    dec_bad("1e05 5100 00", MPX_MPCTX_ACK, "PRIO-LEN");

    dec_ok("1e0c 6000 0102030405060708", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.fail.dsn == 0x0102030405060708ull);
    reencode("1e0c 6000 0102030405060708", MPX_MPCTX_ACK);
    dec_bad("1e08 6000 01020304", MPX_MPCTX_ACK, "FAIL-LEN");

    dec_ok("1e0c 7000 29a6c86981ad933c", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.fastclose.key == KEY_B);
    reencode("1e0c 7000 29a6c86981ad933c", MPX_MPCTX_ACK);
    dec_bad("1e0d 7000 29a6c86981ad933c00", MPX_MPCTX_ACK, "FASTCLOSE-LEN");

    dec_ok("1e04 8106", MPX_MPCTX_ACK, &o, b);
    assert_true(o.u.tcprst.transient);
    assert_int_equal(o.u.tcprst.reason, MPX_TCPRST_MIDDLEBOX);
    char t[100];
    mpx_mptcp_format(&o, t, sizeof t);
    assert_string_equal(t, "tcprst [T] reason middlebox_interference");
    reencode("1e04 8106", MPX_MPCTX_ACK);
    reencode("1e04 8e03", MPX_MPCTX_ACK);
    dec_bad("1e05 810600", MPX_MPCTX_ACK, "TCPRST-LEN");
    check_has("1e04 8007", MPX_MPCTX_ACK, 0x04, "TCPRST-REASON");
    check_has("1e04 8001", MPX_MPCTX_ACK, 0x10, "TCPRST-NOT-RST");
    assert_int_equal(check_n("1e04 8001", MPX_MPCTX_ACK, 0x14), 0);
    static const char *const reasons[] = {
        "unspecified", "mptcp_error", "resources", "admin_prohibited", "outstanding_data",
        "unacceptable_performance", "middlebox_interference", "unknown",
    };
    for (uint8_t r = 0; r < 8; r++) assert_string_equal(mpx_mptcp_tcprst_reason_name(r), reasons[r]);

    /* MP_EXPERIMENTAL and unassigned subtypes are opaque and not violations */
    dec_ok("1e06 f0 aabbcc", MPX_MPCTX_SYN, &o, b);
    assert_int_equal(o.subtype, MPX_MP_EXPERIMENTAL);
    assert_int_equal(o.len, 6);
    reencode("1e06 f0aabbcc", MPX_MPCTX_ANY);
    dec_ok("1e04 e000", MPX_MPCTX_SYN, &o, b);
    assert_string_equal(mpx_mptcp_subtype_name(o.subtype), "unassigned");
    assert_int_equal(check_n("1e04 e000", MPX_MPCTX_SYN, 0x02), 0);
    mpx_mptcp_format(&o, t, sizeof t);
    assert_string_equal(t, "unknown subtype 0xe e000");
    static const char *const names[16] = {
        "MP_CAPABLE", "MP_JOIN", "DSS", "ADD_ADDR", "REMOVE_ADDR", "MP_PRIO", "MP_FAIL",
        "MP_FASTCLOSE", "MP_TCPRST", "unassigned", "unassigned", "unassigned", "unassigned",
        "unassigned", "unassigned", "MP_EXPERIMENTAL",
    };
    for (uint8_t s = 0; s < 16; s++) assert_string_equal(mpx_mptcp_subtype_name(s), names[s]);

    /* generic structure */
    dec_bad("1e02", MPX_MPCTX_ANY, "MPTCP-LEN-SHORT");
    dec_bad("1f040101", MPX_MPCTX_SYN, "MPTCP-KIND");
    dec_bad("1e050101", MPX_MPCTX_SYN, "MPTCP-LEN-BYTE");
}

static void test_encode_invalid(void **st)
{
    uint8_t b[64];
    mpx_mptcp_opt o;
    memset(&o, 0, sizeof o);
    o.subtype = MPX_MP_ADD_ADDR;
    o.u.add_addr.family = 5;
    mpx_wr w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_mptcp_encoded_len(&o), 0);
    assert_int_equal(mpx_mptcp_encode(&o, &w), -1);
    memset(&o, 0, sizeof o);
    o.subtype = MPX_MP_REMOVE_ADDR;            /* no address IDs */
    assert_int_equal(mpx_mptcp_encode(&o, &w), -1);
    memset(&o, 0, sizeof o);
    o.subtype = MPX_MP_CAPABLE;                /* v0 has no keyless form */
    assert_int_equal(mpx_mptcp_encode(&o, &w), -1);
    o.u.mpc.version = 0;
    o.u.mpc.has_rcv_key = o.u.mpc.has_dll = true;   /* nor a data form */
    assert_int_equal(mpx_mptcp_encode(&o, &w), -1);
    memset(&o, 0, sizeof o);
    o.subtype = 0xc;                           /* opaque without raw bytes */
    assert_int_equal(mpx_mptcp_encode(&o, &w), -1);
    assert_int_equal(w.len, 0);
    /* a full writer */
    memset(&o, 0, sizeof o);
    o.subtype = MPX_MP_FASTCLOSE;
    w = mpx_wr_init(b, 11);
    assert_int_equal(mpx_mptcp_encode(&o, &w), -1);
    assert_true(w.overflow);
    /* the encoder writes the MP_CAPABLE SYN/ACK of the capture from fields */
    memset(&o, 0, sizeof o);
    o.subtype = MPX_MP_CAPABLE;
    o.u.mpc.version = 1;
    o.u.mpc.flags = MPX_MPC_H;
    o.u.mpc.has_snd_key = true;
    o.u.mpc.snd_key = KEY_B;
    w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_mptcp_encode(&o, &w), 0);
    uint8_t want[12];
    hex("1e0c010129a6c86981ad933c", want, sizeof want);
    assert_int_equal(w.len, 12);
    assert_memory_equal(b, want, 12);
}

static void test_mpconvert_option(void **st)
{
    uint8_t b[64];
    mpx_mpconvert c, d;
    mpx_err e;
    /* -09 layout, every length */
    static const struct { const char *hex; uint8_t fam; bool port; bool src; const char *text; } v[] = {
        { "1e04e006", 0, false, false, "mp_convert dst none proto 6" },
        { "1e08e006c0000201", 4, false, false, "mp_convert dst 192.0.2.1 proto 6" },
        { "1e0ae006c00002010050", 4, true, false, "mp_convert dst 192.0.2.1:80 proto 6" },
        { "1e14e80620010db8000000000000000000000001", 6, false, true, "mp_convert src 2001:db8:0:0:0:0:0:1 proto 6" },
        { "1e16e01120010db80000000000000000000000011f90", 6, true, false,
          "mp_convert dst [2001:db8:0:0:0:0:0:1]:8080 proto 17" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = hex(v[i].hex, b, sizeof b);
        mpx_err_clear(&e);
        if (mpx_mpconvert_decode(b, n, MPX_MPOPT_SUBTYPE_DEFAULT, MPX_MPCONV_L09, &d, &e))
            fail_msg("%s: %s", v[i].hex, e.rule);
        assert_int_equal(d.family, v[i].fam);
        assert_int_equal(d.has_port, v[i].port);
        assert_int_equal(d.d, v[i].src);
        assert_int_equal(mpx_mpconvert_len(&d), n);
        char t[120];
        mpx_mpconvert_format(&d, t, sizeof t);
        assert_string_equal(t, v[i].text);
        uint8_t out[32];
        mpx_wr w = mpx_wr_init(out, sizeof out);
        assert_int_equal(mpx_mpconvert_encode(&d, &w), 0);
        assert_int_equal(w.len, n);
        assert_memory_equal(out, b, n);
    }
    /* built from fields */
    mpx_mpconvert_init(&c);
    c.family = 4;
    memcpy(c.addr, "\xc6\x12\x00\x05", 4);
    c.has_port = true;
    c.port = 8080;
    mpx_wr w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_mpconvert_encode(&c, &w), 0);
    uint8_t want[16];
    size_t wn = hex("1e0ae006c61200051f90", want, sizeof want);
    assert_int_equal(w.len, wn);
    assert_memory_equal(b, want, wn);
    /* another subtype */
    c.subtype = 0x9;
    w = mpx_wr_init(b, sizeof b);
    mpx_mpconvert_encode(&c, &w);
    assert_int_equal(b[2], 0x90);
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconvert_decode(b, w.len, MPX_MPOPT_SUBTYPE_DEFAULT, MPX_MPCONV_L09, &d, &e), -1);
    assert_string_equal(e.rule, "MPCONV-SUBTYPE");
    assert_int_equal(mpx_mpconvert_decode(b, w.len, 0x9, MPX_MPCONV_L09, &d, &e), 0);
    /* -00 layout: D, U and 10 flag bits, no protocol byte */
    size_t n = hex("1e0aed23c00002010035", b, sizeof b);
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconvert_decode(b, n, 0xe, MPX_MPCONV_L00, &d, &e), 0);
    assert_true(d.d);
    assert_true(d.u);
    assert_int_equal(d.flags, 0x123);
    assert_int_equal(d.port, 53);
    w = mpx_wr_init(want, sizeof want);
    assert_int_equal(mpx_mpconvert_encode(&d, &w), 0);
    assert_memory_equal(want, b, n);
    /* malformed */
    static const struct { const char *hex; const char *rule; } bad[] = {
        { "1e06e006c000", "MPCONV-LEN" }, { "1e09e006c000020100", "MPCONV-LEN" },
        { "1e03e0", "MPCONV-LEN" }, { "1e0ae006c0000201", "MPCONV-LEN" },
        { "1f04e006", "MPCONV-KIND" }, { "1e04d006", "MPCONV-SUBTYPE" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = hex(bad[i].hex, b, sizeof b);
        mpx_err_clear(&e);
        assert_int_equal(mpx_mpconvert_decode(b, n, 0xe, MPX_MPCONV_L09, &d, &e), -1);
        if (strcmp(e.rule, bad[i].rule)) fail_msg("%s: %s != %s", bad[i].hex, e.rule, bad[i].rule);
    }
    /* reserved flags (-09) */
    n = hex("1e04e306", b, sizeof b);
    assert_int_equal(mpx_mpconvert_decode(b, n, 0xe, MPX_MPCONV_L09, &d, &e), 0);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    assert_int_equal(mpx_mpconvert_check(&d, 0, &vs), 1);
    assert_string_equal(vs.v[0].rule, "MPCONV-FLAGS");
    c.family = 5;
    w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_mpconvert_encode(&c, &w), -1);
}

static void test_prefer_proxy(void **st)
{
    uint8_t b[8];
    mpx_prefer_proxy p = { .subtype = MPX_MPOPT_SUBTYPE_DEFAULT }, d;
    mpx_wr w = mpx_wr_init(b, sizeof b);
    assert_int_equal(mpx_prefer_proxy_encode(&p, &w), 0);
    assert_int_equal(w.len, 4);
    assert_memory_equal(b, "\x1e\x04\xe0\x00", 4);
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_prefer_proxy_decode(b, 4, 0xe, &d, &e), 0);
    assert_int_equal(d.rsv, 0);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    assert_int_equal(mpx_prefer_proxy_check(&d, 0, &vs), 0);
    b[3] = 1;
    assert_int_equal(mpx_prefer_proxy_decode(b, 4, 0xe, &d, &e), 0);
    assert_int_equal(mpx_prefer_proxy_check(&d, 0, &vs), 1);
    assert_string_equal(vs.v[0].rule, "PREFER-RSV");
    assert_int_equal(mpx_prefer_proxy_decode(b, 4, 0xd, &d, &e), -1);
    assert_string_equal(e.rule, "PREFER-SUBTYPE");
    uint8_t l5[5] = { 0x1e, 0x05, 0xe0, 0, 0 };
    mpx_err_clear(&e);
    assert_int_equal(mpx_prefer_proxy_decode(l5, 5, 0xe, &d, &e), -1);
    assert_string_equal(e.rule, "PREFER-LEN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_mp_capable),
        cmocka_unit_test(test_mpc_lengths),
        cmocka_unit_test(test_mpc_semantics),
        cmocka_unit_test(test_token_idsn),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_linux_kunit_hmac),
        cmocka_unit_test(test_dss_checksum_capture),
        cmocka_unit_test(test_dss_all_flags),
        cmocka_unit_test(test_add_addr),
        cmocka_unit_test(test_other_subtypes),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_mpconvert_option),
        cmocka_unit_test(test_prefer_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
