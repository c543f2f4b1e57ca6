/* RFC 8803 Convert codec: protocols.md 1.12 vectors (decode + encode), round trips for every
 * TLV and Error code, and every framing rule with its rule ID and Error code mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/convert.h"

#define V4MAPPED_192_0_2_1 "00000000000000000000ffffc0000201"

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    long n = mpx_hex_parse(s, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

/* Decodes hex (with F_COMPLETE) and expects `rule`; returns the Error code it maps to. */
static int expect_bad(const char *h, unsigned flags, const char *rule)
{
    uint8_t b[1100];
    size_t n = hex(h, b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_conv_decode(b, n, flags | MPX_CONV_F_COMPLETE, &m, &e);
    if (r != MPX_DEC_BAD || !e.rule || strcmp(e.rule, rule) != 0)
        fail_msg("%s: expected %s, got r=%d rule=%s (%s)", h, rule, r, e.rule ? e.rule : "-", e.msg);
    return mpx_conv_rule_error_code(e.rule);
}

static void expect_encode(const mpx_conv_msg *m, const char *want_hex)
{
    uint8_t want[1100], got[1100];
    size_t wn = hex(want_hex, want, sizeof want);
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_conv_encode(m, got, sizeof got, &e);
    if (n < 0) fail_msg("encode failed: %s %s", e.rule, e.msg);
    assert_int_equal((size_t)n, wn);
    assert_memory_equal(got, want, wn);
}

/* 1.12: client SYN payload, connect to 192.0.2.1:80, then "GET " */
static void t_example_connect(void **st)
{
    (void)st;
    uint8_t b[64];
    size_t n = hex("01062263 0a050050" V4MAPPED_192_0_2_1 "47455420", b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, MPX_CONV_F_FROM_CLIENT, &m, &e), MPX_DEC_OK);
    assert_int_equal(m.version, 1);
    assert_int_equal(m.total_words, 6);
    assert_int_equal(m.conv_len, 24);
    assert_int_equal(m.data_off, 24);
    assert_memory_equal(b + m.data_off, "GET ", 4);
    assert_true(m.has_connect);
    assert_false(m.connect.extended);
    assert_int_equal(m.connect.addr.family, MPX_AF_INET);
    assert_int_equal(m.connect.addr.port, 80);
    uint8_t ip[4] = { 192, 0, 2, 1 };
    assert_memory_equal(m.connect.addr.a, ip, 4);
    assert_int_equal(m.ntlv, 1);
    assert_int_equal(m.tlv[0].type, MPX_CONV_TLV_CONNECT);
    assert_int_equal(m.tlv[0].off, 4);

    /* encode: both the generic encoder and the shorthand give the same 24 bytes */
    uint8_t out[64];
    mpx_addr t = mpx_addr_v4(0xc0000201, 80);
    long w = mpx_conv_encode_connect(&t, NULL, 0, NULL, 0, out, sizeof out, &e);
    assert_int_equal(w, 24);
    assert_memory_equal(out, b, 24);
    expect_encode(&m, "01062263 0a050050" V4MAPPED_192_0_2_1);
}

/* 1.12: Extended Connect asking MPTCP (kind 30, no value), total 7 words */
static void t_example_ext_connect(void **st)
{
    (void)st;
    const char *h = "01072263 0a060050" V4MAPPED_192_0_2_1 "1e020000";
    uint8_t b[64];
    size_t n = hex(h, b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, MPX_CONV_F_FROM_CLIENT, &m, &e), MPX_DEC_OK);
    assert_int_equal(m.total_words, 7);
    assert_true(m.connect.extended);
    assert_int_equal(m.connect.nopts, 1);
    assert_int_equal(m.connect.opts[0].kind, 30);
    assert_int_equal(m.connect.opts[0].vlen, 0);
    assert_null(m.connect.opts[0].val);

    mpx_conv_opt o = { .kind = 30 };
    uint8_t out[64];
    mpx_addr t = mpx_addr_v4(0xc0000201, 80);
    assert_int_equal(mpx_conv_encode_connect(&t, NULL, 0, &o, 1, out, sizeof out, &e), 28);
    assert_memory_equal(out, b, 28);
}

static void t_example_success(void **st)
{
    (void)st;
    uint8_t b[8];
    size_t n = hex("01012263", b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, MPX_CONV_F_FROM_CONVERTER, &m, &e), MPX_DEC_OK);
    assert_int_equal(m.ntlv, 0);
    assert_int_equal(m.data_off, 4);
    mpx_conv_msg_init(&m);
    expect_encode(&m, "01012263");
    /* a client SYN with only the header carries no request */
    assert_int_equal(expect_bad("01012263", MPX_CONV_F_FROM_CLIENT, "CONV-MSG-EMPTY"), MPX_CONV_ACT_RESET);
}

static void t_example_errors(void **st)
{
    (void)st;
    struct { const char *hex; uint8_t code; } v[] = {
        { "01022263 1e016000", MPX_CONV_E_CONNECTION_RESET },
        { "01022263 1e016103", MPX_CONV_E_DEST_UNREACHABLE },
    };
    for (size_t i = 0; i < 2; i++) {
        uint8_t b[16], out[16];
        size_t n = hex(v[i].hex, b, sizeof b);
        mpx_conv_msg m;
        mpx_err e;
        mpx_err_clear(&e);
        assert_int_equal(mpx_conv_decode(b, n, MPX_CONV_F_FROM_CONVERTER, &m, &e), MPX_DEC_OK);
        assert_true(m.has_error);
        assert_int_equal(m.error.code, v[i].code);
        uint8_t val = b[7];
        long w = mpx_conv_encode_error(v[i].code, &val, v[i].code == MPX_CONV_E_DEST_UNREACHABLE, out, sizeof out, &e);
        assert_int_equal(w, 8);
        assert_memory_equal(out, b, 8);
    }
    uint8_t b[16];
    size_t n = hex("01022263 1e016103", b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, 0, &m, &e), MPX_DEC_OK);
    assert_int_equal(m.error.icmp_code, 3);
    assert_string_equal(mpx_conv_error_name(m.error.code), "Destination Unreachable");
}

static void t_example_missing_cookie(void **st)
{
    (void)st;
    const char *h = "01042263 1e030300 0102030405060708";
    uint8_t b[32], out[32];
    size_t n = hex(h, b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, MPX_CONV_F_FROM_CONVERTER, &m, &e), MPX_DEC_OK);
    assert_int_equal(m.error.code, MPX_CONV_E_MISSING_COOKIE);
    assert_int_equal(m.error.data_len, 8);
    assert_memory_equal(m.error.data, b + 8, 8);
    assert_int_equal(mpx_conv_encode_error(3, b + 8, 8, out, sizeof out, &e), 16);
    assert_memory_equal(out, b, 16);
    /* the client then retries with the cookie */
    uint8_t syn[64];
    mpx_addr t = mpx_addr_v4(0xc0000201, 80);
    long w = mpx_conv_encode_connect(&t, m.error.data, m.error.data_len, NULL, 0, syn, sizeof syn, &e);
    assert_int_equal(w, 36);
    uint8_t want[64];
    size_t wn = hex("01092263 0a050050" V4MAPPED_192_0_2_1 "16030000 0102030405060708", want, sizeof want);
    assert_int_equal(wn, 36);
    assert_memory_equal(syn, want, 36);
    mpx_conv_msg m2;
    assert_int_equal(mpx_conv_decode(syn, 36, MPX_CONV_F_FROM_CLIENT, &m2, &e), MPX_DEC_OK);
    assert_true(m2.has_cookie);
    assert_int_equal(m2.cookie_len, 8);
    assert_memory_equal(m2.cookie, b + 8, 8);
}

/* Round trip of a message: encode, decode, encode again -> same bytes. */
static void roundtrip(const mpx_conv_msg *m, unsigned flags, mpx_conv_msg *dec, uint8_t *buf, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_conv_encode(m, buf, cap, &e);
    if (n < 0) fail_msg("encode: %s %s", e.rule, e.msg);
    assert_int_equal(n % 4, 0);
    assert_int_equal(buf[1] * 4, n);
    if (mpx_conv_decode(buf, (size_t)n, flags | MPX_CONV_F_COMPLETE, dec, &e) != MPX_DEC_OK)
        fail_msg("decode: %s %s", e.rule, e.msg);
    assert_int_equal(dec->data_off, (size_t)n);
    uint8_t again[1100];
    long n2 = mpx_conv_encode(dec, again, sizeof again, &e);
    assert_int_equal(n2, n);
    assert_memory_equal(again, buf, (size_t)n);
    /* every strict prefix is "need more", never a verdict */
    for (long k = 0; k < n; k++) {
        mpx_conv_msg tmp;
        mpx_err_clear(&e);
        assert_int_equal(mpx_conv_decode(buf, (size_t)k, flags, &tmp, &e), MPX_DEC_MORE);
        assert_true(tmp.need > (size_t)k);
    }
}

static void t_roundtrip_tlvs(void **st)
{
    (void)st;
    uint8_t buf[1100];
    mpx_conv_msg m, d;

    /* Info + bootstrap answer */
    mpx_conv_msg_init(&m);
    m.has_info = true;
    roundtrip(&m, MPX_CONV_F_FROM_CLIENT, &d, buf, sizeof buf);
    assert_true(d.has_info);
    assert_memory_equal(buf, "\x01\x02\x22\x63\x01\x01\x00\x00", 8);

    mpx_conv_msg_init(&m);
    m.has_supported = true;
    m.supported = (const uint8_t *)"\x1e\x04\x08\x22";
    m.supported_len = 4;
    roundtrip(&m, MPX_CONV_F_FROM_CONVERTER, &d, buf, sizeof buf);
    assert_memory_equal(buf + 4, "\x15\x02\x00\x00\x1e\x04\x08\x22", 8);  /* 6.2.4 example */
    assert_int_equal(d.supported_len, 4);

    /* odd-sized Supported list: padding stripped on decode */
    m.supported_len = 3;
    roundtrip(&m, MPX_CONV_F_FROM_CONVERTER, &d, buf, sizeof buf);
    assert_int_equal(d.supported_len, 3);

    /* Extended TCP Header: SYN+ACK options of the server */
    static const uint8_t synack[] = { 2, 4, 5, 0xb4, 1, 3, 3, 7, 30, 12, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8 };
    mpx_conv_msg_init(&m);
    m.has_ext_hdr = true;
    m.ext_hdr = synack;
    m.ext_hdr_len = sizeof synack;
    roundtrip(&m, MPX_CONV_F_FROM_CONVERTER, &d, buf, sizeof buf);
    assert_int_equal(d.ext_hdr_len, 20);
    assert_memory_equal(d.ext_hdr, synack, 20);

    /* IPv6 Extended Connect with every option shape + cookie */
    mpx_conv_msg_init(&m);
    m.has_connect = true;
    assert_int_equal(mpx_addr_parse("[fd00::5]:8080", &m.connect.addr, 1), 0);
    static const uint8_t tfo[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    m.connect.opts[0] = (mpx_conv_opt){ .kind = 30 };
    m.connect.opts[1] = (mpx_conv_opt){ .kind = 34, .vlen = 8, .val = tfo };
    m.connect.opts[2] = (mpx_conv_opt){ .kind = 4 };
    m.connect.opts[3] = (mpx_conv_opt){ .kind = 8 };
    m.connect.nopts = 4;
    m.has_cookie = true;
    m.cookie = (const uint8_t *)"abcdefghijklmnopqrst";  /* 20 bytes: longer than a TFO cookie */
    m.cookie_len = 20;
    roundtrip(&m, MPX_CONV_F_FROM_CLIENT, &d, buf, sizeof buf);
    assert_int_equal(d.connect.addr.family, MPX_AF_INET6);
    assert_int_equal(d.connect.addr.port, 8080);
    assert_int_equal(d.connect.nopts, 4);
    assert_int_equal(d.connect.opts[1].vlen, 8);
    assert_memory_equal(d.connect.opts[1].val, tfo, 8);
    assert_int_equal(d.cookie_len, 20);
    assert_int_equal(d.ntlv, 2);
    assert_int_equal(d.tlv[1].type, MPX_CONV_TLV_COOKIE);
    uint8_t bad[8];
    static const uint8_t sup[] = { 30, 4, 8 };
    assert_int_equal(mpx_conv_unsupported_opts(&d.connect, sup, 3, bad, sizeof bad), 1);
    assert_int_equal(bad[0], 34);
    assert_int_equal(mpx_conv_unsupported_opts(&d.connect, (const uint8_t *)"\x1e\x04\x08\x22", 4, bad, sizeof bad), 0);
}

static void t_roundtrip_errors(void **st)
{
    (void)st;
    uint8_t buf[1100];
    mpx_conv_msg m, d;
    static const uint8_t echo[] = { 0x01, 0x06, 0x22, 0x63, 0x0a, 0x05, 0x00 };
    static const uint8_t versions[] = { 1 };
    static const uint8_t kinds[] = { 29, 34 };
    static const uint8_t cookie[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xaa, 0xbb };
    struct { uint8_t code; const uint8_t *d; size_t n; uint8_t wait, icmp; size_t want_len; } v[] = {
        { 0,  versions, 1, 0, 0, 8 },
        { 1,  echo, sizeof echo, 0, 0, 16 },
        { 2,  echo, sizeof echo, 0, 0, 16 },
        { 3,  cookie, sizeof cookie, 0, 0, 20 },
        { 32, NULL, 0, 0, 0, 8 },
        { 33, kinds, 2, 0, 0, 12 },
        { 64, NULL, 0, 60, 0, 8 },
        { 65, NULL, 0, 0, 0, 8 },
        { 96, NULL, 0, 0, 0, 8 },
        { 97, NULL, 0, 0, 1, 8 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mpx_conv_msg_init(&m);
        m.has_error = true;
        m.error.code = v[i].code;
        m.error.data = v[i].d;
        m.error.data_len = v[i].n;
        m.error.wait_s = v[i].wait;
        m.error.icmp_code = v[i].icmp;
        roundtrip(&m, MPX_CONV_F_FROM_CONVERTER, &d, buf, sizeof buf);
        assert_int_equal(buf[1] * 4, v[i].want_len);
        assert_int_equal(d.error.code, v[i].code);
        assert_int_equal(d.error.wait_s, v[i].wait);
        assert_int_equal(d.error.icmp_code, v[i].icmp);
        if (v[i].n) {
            assert_true(d.error.data_len >= v[i].n);  /* echo/cookie keep their padding */
            assert_memory_equal(d.error.data, v[i].d, v[i].n);
        }
        assert_string_not_equal(mpx_conv_error_name(v[i].code), "unassigned");
    }
    /* Unsupported Option list: padding stripped -> exactly the kinds */
    mpx_conv_msg_init(&m);
    m.has_error = true;
    m.error.code = 33;
    m.error.data = kinds;
    m.error.data_len = 2;
    roundtrip(&m, 0, &d, buf, sizeof buf);
    assert_int_equal(d.error.data_len, 2);
    assert_memory_equal(buf + 4, "\x1e\x02\x21\x1d", 4);
    assert_memory_equal(buf + 8, "\x22\x00\x00\x00", 4);

    /* an echo of a whole 1020-byte message is cut to fit */
    uint8_t big[1020];
    memset(big, 0x5a, sizeof big);
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_conv_encode_error(1, big, sizeof big, buf, sizeof buf, &e);
    assert_int_equal(n, 1020);
    assert_int_equal(buf[1], 255);
    assert_int_equal(mpx_conv_decode(buf, 1020, MPX_CONV_F_COMPLETE, &d, &e), MPX_DEC_OK);
    assert_int_equal(d.error.data_len, 1012);
}

static void t_malformed_header(void **st)
{
    (void)st;
    uint8_t b[64];
    mpx_conv_msg m;
    mpx_err e;
    /* truncated: "need more" while streaming, invalid when complete */
    size_t n = hex("0106", b, sizeof b);
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, 0, &m, &e), MPX_DEC_MORE);
    assert_string_equal(e.rule, "CONV-HDR-TRUNC");
    assert_int_equal(m.need, 4);
    assert_int_equal(expect_bad("0106", 0, "CONV-HDR-TRUNC"), MPX_CONV_E_MALFORMED);
    n = hex("01062263 0a050050 0000", b, sizeof b);
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, 0, &m, &e), MPX_DEC_MORE);
    assert_string_equal(e.rule, "CONV-HDR-LEN");
    assert_int_equal(m.need, 24);
    /* total length past the buffer, buffer length not a multiple of 4 */
    assert_int_equal(expect_bad("01062263 0a050050 000000", 0, "CONV-HDR-LEN"), MPX_CONV_E_MALFORMED);

    assert_int_equal(expect_bad("01062264 0a050050" V4MAPPED_192_0_2_1, 0, "CONV-HDR-MAGIC"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("47455420 2f20485454502f31", 0, "CONV-HDR-MAGIC"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("00062263 0a050050" V4MAPPED_192_0_2_1, 0, "CONV-HDR-VERSION"), MPX_CONV_E_UNSUPPORTED_VERSION);
    assert_int_equal(expect_bad("02062263 0a050050" V4MAPPED_192_0_2_1, 0, "CONV-HDR-VERSION"), MPX_CONV_E_UNSUPPORTED_VERSION);
    assert_int_equal(expect_bad("01002263 0a050050" V4MAPPED_192_0_2_1, 0, "CONV-HDR-LEN-ZERO"), MPX_CONV_ACT_RESET);
}

static void t_malformed_tlv(void **st)
{
    (void)st;
    assert_int_equal(expect_bad("01062263 0a000050" V4MAPPED_192_0_2_1, 0, "CONV-TLV-ZERO"), MPX_CONV_E_MALFORMED);
    /* TLV says 6 words, header only 6 in total (5 left) */
    assert_int_equal(expect_bad("01062263 0a060050" V4MAPPED_192_0_2_1, 0, "CONV-TLV-OVERRUN"), MPX_CONV_E_MALFORMED);
    /* user data behind the message does not make an overrun legal */
    assert_int_equal(expect_bad("01062263 0a060050" V4MAPPED_192_0_2_1 "1e020000", 0, "CONV-TLV-OVERRUN"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("010b2263 0a050050" V4MAPPED_192_0_2_1 "0a050050" V4MAPPED_192_0_2_1, 0, "CONV-TLV-DUP"),
                     MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01032263 01010000 01010000", 0, "CONV-TLV-DUP"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01022263 63010000", 0, "CONV-TLV-UNKNOWN"), MPX_CONV_E_UNSUPPORTED_MESSAGE);
    assert_int_equal(expect_bad("01022263 00010000", 0, "CONV-TLV-TYPE0"), MPX_CONV_E_UNSUPPORTED_MESSAGE);
    assert_int_equal(expect_bad("01032263 01020000 00000000", 0, "CONV-INFO-LEN"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01052263 0a040050 0000000000000000ffffc000", 0, "CONV-CONNECT-LEN"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01022263 16010000", 0, "CONV-COOKIE-EMPTY"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01032263 1e020101 02030405", 0, "CONV-ERROR-VALUE"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01022263 1e010300", 0, "CONV-ERROR-VALUE"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01032263 15020000 1e010000", 0, "CONV-SUPPORTED-KIND"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01032263 15020000 1e00221e", 0, "CONV-SUPPORTED-PAD"), MPX_CONV_E_MALFORMED);
    /* direction: converter-only TLV from a client and vice versa */
    assert_int_equal(expect_bad("01032263 15020000 1e000000", MPX_CONV_F_FROM_CLIENT, "CONV-TLV-DIRECTION"),
                     MPX_CONV_E_UNSUPPORTED_MESSAGE);
    assert_int_equal(expect_bad("01022263 01010000", MPX_CONV_F_FROM_CONVERTER, "CONV-TLV-DIRECTION"),
                     MPX_CONV_E_UNSUPPORTED_MESSAGE);
}

static void t_malformed_connect(void **st)
{
    (void)st;
    struct { const char *addr; const char *rule; } v[] = {
        { "00000000000000000000ffff7f000001", "CONV-CONNECT-ADDR" },  /* 127.0.0.1 */
        { "00000000000000000000ffffe0000001", "CONV-CONNECT-ADDR" },  /* 224.0.0.1 */
        { "00000000000000000000ffffffffffff", "CONV-CONNECT-ADDR" },  /* 255.255.255.255 */
        { "00000000000000000000ffff00000000", "CONV-CONNECT-ADDR" },  /* 0.0.0.0 */
        { "00000000000000000000000000000001", "CONV-CONNECT-ADDR" },  /* ::1 */
        { "00000000000000000000000000000000", "CONV-CONNECT-ADDR" },  /* :: */
        { "ff020000000000000000000000000001", "CONV-CONNECT-ADDR" },  /* ff02::1 */
        { "000000000000000000000000c0000201", "CONV-CONNECT-ADDR-V4" }, /* ::192.0.2.1 (not mapped) */
    };
    char h[128];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(h, sizeof h, "01062263 0a050050%s", v[i].addr);
        assert_int_equal(expect_bad(h, 0, v[i].rule), MPX_CONV_E_MALFORMED);
    }
    /* the analyzer may skip the target policy */
    uint8_t b[64];
    size_t n = hex("01062263 0a050050 00000000000000000000ffff7f000001", b, sizeof b);
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, MPX_CONV_F_ANY_ADDR, &m, &e), MPX_DEC_OK);
    assert_int_equal(mpx_addr_classify(&m.connect.addr), MPX_ADDR_LOOPBACK);

    assert_int_equal(expect_bad("01062263 0a050000" V4MAPPED_192_0_2_1, 0, "CONV-CONNECT-PORT"), MPX_CONV_E_MALFORMED);
    /* EOL / NOP among the options, bad lengths, too much padding */
    assert_int_equal(expect_bad("01072263 0a060050" V4MAPPED_192_0_2_1 "01010402", 0, "CONV-CONNECT-OPT-EOLNOP"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01072263 0a060050" V4MAPPED_192_0_2_1 "00000402", 0, "CONV-CONNECT-OPT-EOLNOP"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01072263 0a060050" V4MAPPED_192_0_2_1 "04010000", 0, "CONV-CONNECT-OPT-LEN"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01072263 0a060050" V4MAPPED_192_0_2_1 "22060102", 0, "CONV-CONNECT-OPT-LEN"), MPX_CONV_E_MALFORMED);
    assert_int_equal(expect_bad("01072263 0a060050" V4MAPPED_192_0_2_1 "00000000", 0, "CONV-CONNECT-OPT-PAD"), MPX_CONV_E_MALFORMED);
    /* a list ending in a 3-byte option + 1 padding byte is fine */
    n = hex("01072263 0a060050" V4MAPPED_192_0_2_1 "03030700", b, sizeof b);
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_decode(b, n, 0, &m, &e), MPX_DEC_OK);
    assert_int_equal(m.connect.nopts, 1);
    assert_int_equal(m.connect.opts[0].vlen, 1);
    assert_int_equal(m.connect.opts[0].val[0], 7);
}

static void t_encode_errors(void **st)
{
    (void)st;
    uint8_t out[64];
    mpx_conv_msg m;
    mpx_err e;
    mpx_conv_msg_init(&m);
    m.has_connect = true;  /* no address */
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_encode(&m, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "CONV-ENC-ADDR");
    m.connect.addr = mpx_addr_v4(0xc0000201, 80);
    m.connect.opts[0].kind = 1;
    m.connect.nopts = 1;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_encode(&m, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "CONV-ENC-OPT");
    m.connect.nopts = 0;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_encode(&m, out, 20, &e), -1);
    assert_string_equal(e.rule, "CONV-ENC-SPACE");
    uint8_t big[1100], bout[1100];
    memset(big, 1, sizeof big);
    mpx_conv_msg_init(&m);
    m.has_cookie = true;
    m.cookie = big;
    m.cookie_len = 1013;
    mpx_err_clear(&e);
    assert_int_equal(mpx_conv_encode(&m, bout, sizeof bout, &e), -1);
    assert_string_equal(e.rule, "CONV-ENC-TOOBIG");
}

static void t_rule_table(void **st)
{
    (void)st;
    size_t n;
    const mpx_conv_rule *r = mpx_conv_rules(&n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(mpx_conv_rule_error_code(r[i].id), r[i].code);
        assert_non_null(r[i].section);
    }
    assert_int_equal(mpx_conv_rule_error_code("NOPE"), MPX_CONV_ACT_NONE);
    assert_int_equal(mpx_conv_rule_error_code(NULL), MPX_CONV_ACT_NONE);
    uint8_t b[8] = { 1, 6, 0x22, 0x63 };
    assert_int_equal(mpx_conv_frame_len(b, 4), 24);
    assert_int_equal(mpx_conv_frame_len(b, 3), 0);
}

static void t_addr(void **st)
{
    (void)st;
    mpx_addr a;
    char s[MPX_ADDR_STRLEN];
    assert_int_equal(mpx_addr_parse("192.0.2.1:80", &a, 1), 0);
    assert_int_equal(a.family, MPX_AF_INET);
    assert_string_equal(mpx_addr_format(&a, true, s, sizeof s), "192.0.2.1:80");
    assert_int_equal(mpx_addr_parse("[fd00::1]:8080", &a, 1), 0);
    assert_int_equal(a.family, MPX_AF_INET6);
    assert_int_equal(a.port, 8080);
    assert_string_equal(mpx_addr_format(&a, true, s, sizeof s), "[fd00::1]:8080");
    assert_string_equal(mpx_addr_format(&a, false, s, sizeof s), "fd00::1");
    assert_int_equal(mpx_addr_parse("fd00::1", &a, 0), 0);
    assert_int_equal(a.port, 0);
    assert_int_equal(mpx_addr_parse("[fd00::1]", &a, 0), 0);
    assert_int_equal(mpx_addr_parse("fd00::1", &a, 1), -1);       /* port required */
    assert_int_equal(mpx_addr_parse("1.2.3.4:80", &a, -1), -1);   /* port forbidden */
    assert_int_equal(mpx_addr_parse("1.2.3.4:65536", &a, 0), -1);
    assert_int_equal(mpx_addr_parse("1.2.3.4:", &a, 0), -1);
    assert_int_equal(mpx_addr_parse("1.2.3:80", &a, 0), -1);
    assert_int_equal(mpx_addr_parse("[fd00::1:80", &a, 0), -1);
    assert_int_equal(mpx_addr_parse("example.com:80", &a, 0), -1);
    struct { const char *s; mpx_addr_class c; } v[] = {
        { "192.0.2.1", MPX_ADDR_OK }, { "198.18.0.1", MPX_ADDR_OK }, { "0.0.0.0", MPX_ADDR_UNSPECIFIED },
        { "127.0.0.1", MPX_ADDR_LOOPBACK }, { "127.255.0.9", MPX_ADDR_LOOPBACK },
        { "224.0.0.1", MPX_ADDR_MULTICAST }, { "239.1.2.3", MPX_ADDR_MULTICAST },
        { "255.255.255.255", MPX_ADDR_BROADCAST }, { "fd00::1", MPX_ADDR_OK }, { "::", MPX_ADDR_UNSPECIFIED },
        { "::1", MPX_ADDR_LOOPBACK }, { "ff02::1", MPX_ADDR_MULTICAST }, { "::ffff:127.0.0.1", MPX_ADDR_LOOPBACK },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(mpx_addr_parse(v[i].s, &a, 0), 0);
        if (mpx_addr_classify(&a) != v[i].c) fail_msg("%s: class %d", v[i].s, mpx_addr_classify(&a));
    }
    /* IPv4-mapped both ways, IPv4-compatible detection */
    uint8_t m16[16];
    mpx_addr v4 = mpx_addr_v4(0xc0000201, 80), back;
    mpx_addr_to_mapped(&v4, m16);
    assert_true(mpx_addr_is_v4mapped(m16));
    back = mpx_addr_from_mapped(m16, 80);
    assert_true(mpx_addr_eq(&v4, &back));
    static const uint8_t compat[16] = { [12] = 192, [13] = 0, [14] = 2, [15] = 1 };
    static const uint8_t lo6[16] = { [15] = 1 };
    assert_true(mpx_addr_is_v4compat(compat));
    assert_false(mpx_addr_is_v4compat(lo6));
    assert_false(mpx_addr_is_v4compat(m16));
    /* sockaddr round trips */
    uint8_t sa[128];
    size_t sl = mpx_addr_to_sockaddr(&v4, sa, sizeof sa);
    assert_true(sl > 0);
    assert_int_equal(mpx_addr_from_sockaddr(sa, sl, &back), 0);
    assert_true(mpx_addr_eq(&v4, &back));
    assert_int_equal(mpx_addr_parse("[2001:db8::7]:443", &a, 1), 0);
    sl = mpx_addr_to_sockaddr(&a, sa, sizeof sa);
    assert_true(sl > 0);
    assert_int_equal(mpx_addr_from_sockaddr(sa, sl, &back), 0);
    assert_true(mpx_addr_eq(&a, &back));
    assert_int_equal(mpx_addr_to_sockaddr(&a, sa, 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_example_connect),
        cmocka_unit_test(t_example_ext_connect),
        cmocka_unit_test(t_example_success),
        cmocka_unit_test(t_example_errors),
        cmocka_unit_test(t_example_missing_cookie),
        cmocka_unit_test(t_roundtrip_tlvs),
        cmocka_unit_test(t_roundtrip_errors),
        cmocka_unit_test(t_malformed_header),
        cmocka_unit_test(t_malformed_tlv),
        cmocka_unit_test(t_malformed_connect),
        cmocka_unit_test(t_encode_errors),
        cmocka_unit_test(t_rule_table),
        cmocka_unit_test(t_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
