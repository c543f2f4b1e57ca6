/* SOCKSv5 (RFC 1928) + RFC 1929: byte-exact vectors for every message, round trips,
 * "need more" on every prefix, malformed cases and the rule -> reply code mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/socks5.h"

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    long n = mpx_hex_parse(s, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

static void t_greeting_choice(void **st)
{
    (void)st;
    uint8_t b[16], out[16];
    size_t n = hex("05020002", b, sizeof b);
    mpx_s5_greeting g;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_greeting(b, n, &g, &e), MPX_DEC_OK);
    assert_int_equal(g.nmethods, 2);
    assert_int_equal(g.methods[0], MPX_S5_M_NOAUTH);
    assert_int_equal(g.methods[1], MPX_S5_M_USERPASS);
    assert_int_equal(g.len, 4);
    assert_int_equal(mpx_s5_encode_greeting(g.methods, 2, out, sizeof out, &e), 4);
    assert_memory_equal(out, b, 4);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(mpx_s5_decode_greeting(b, k, &g, &e), MPX_DEC_MORE);

    uint8_t method = 0;
    assert_int_equal(mpx_s5_encode_choice(MPX_S5_M_NONE_ACCEPTABLE, out, sizeof out, &e), 2);
    assert_memory_equal(out, "\x05\xff", 2);
    assert_int_equal(mpx_s5_decode_choice(out, 2, &method, &e), MPX_DEC_OK);
    assert_int_equal(method, 0xff);
    assert_string_equal(mpx_s5_method_name(method), "no acceptable methods");
    assert_int_equal(mpx_s5_decode_choice(out, 1, &method, &e), MPX_DEC_MORE);
}

static void t_request_v4_v6_domain(void **st)
{
    (void)st;
    struct { const char *hex; uint8_t cmd, atyp; const char *addr; const char *domain; uint16_t port; } v[] = {
        { "05010001 c0000201 0050", MPX_S5_CMD_CONNECT, MPX_S5_ATYP_V4, "192.0.2.1", NULL, 80 },
        { "05020004 fd000000000000000000000000000001 1f90", MPX_S5_CMD_BIND, MPX_S5_ATYP_V6, "fd00::1", NULL, 8080 },
        { "05030001 00000000 0000", MPX_S5_CMD_UDP, MPX_S5_ATYP_V4, "0.0.0.0", NULL, 0 },
        { "05010003 0b 6578616d706c652e636f6d 01bb", MPX_S5_CMD_CONNECT, MPX_S5_ATYP_DOMAIN, NULL, "example.com", 443 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t b[64], out[64];
        size_t n = hex(v[i].hex, b, sizeof b);
        mpx_s5_msg m;
        mpx_err e;
        mpx_err_clear(&e);
        assert_int_equal(mpx_s5_decode_request(b, n, &m, &e), MPX_DEC_OK);
        assert_int_equal(m.len, n);
        assert_int_equal(m.code, v[i].cmd);
        assert_int_equal(m.atyp, v[i].atyp);
        assert_int_equal(m.port, v[i].port);
        if (v[i].addr) {
            mpx_addr a;
            assert_int_equal(mpx_addr_parse(v[i].addr, &a, -1), 0);
            a.port = v[i].port;
            assert_true(mpx_addr_eq(&a, &m.addr));
        } else {
            assert_string_equal(m.domain, v[i].domain);
            assert_int_equal(m.domain_len, strlen(v[i].domain));
        }
        assert_int_equal(mpx_s5_encode_request(&m, out, sizeof out, &e), (long)n);
        assert_memory_equal(out, b, n);
        for (size_t k = 0; k < n; k++) {
            mpx_err_clear(&e);
            assert_int_equal(mpx_s5_decode_request(b, k, &m, &e), MPX_DEC_MORE);
            assert_string_equal(e.rule, "S5-TRUNC");
        }
    }
    /* shorthands */
    uint8_t out[64], want[64];
    mpx_err e;
    mpx_addr t = mpx_addr_v4(0xc0000201, 80);
    size_t wn = hex("05010001 c0000201 0050", want, sizeof want);
    assert_int_equal(mpx_s5_encode_connect(&t, out, sizeof out, &e), (long)wn);
    assert_memory_equal(out, want, wn);
    wn = hex("05010003 0b 6578616d706c652e636f6d 01bb", want, sizeof want);
    assert_int_equal(mpx_s5_encode_connect_domain("example.com", 443, out, sizeof out, &e), (long)wn);
    assert_memory_equal(out, want, wn);
}

static void t_reply(void **st)
{
    (void)st;
    for (uint8_t rep = 0; rep <= 8; rep++) {
        mpx_s5_msg m, d;
        memset(&m, 0, sizeof m);
        m.code = rep;
        m.addr = mpx_addr_v4(0xc6120002, 40000);  /* BND.ADDR/PORT */
        uint8_t out[32];
        mpx_err e;
        mpx_err_clear(&e);
        assert_int_equal(mpx_s5_encode_reply(&m, out, sizeof out, &e), 10);
        assert_int_equal(out[1], rep);
        assert_int_equal(mpx_s5_decode_reply(out, 10, &d, &e), MPX_DEC_OK);
        assert_int_equal(d.code, rep);
        assert_int_equal(d.port, 40000);
        assert_string_not_equal(mpx_s5_rep_name(rep), "unassigned");
    }
    assert_string_equal(mpx_s5_rep_name(5), "connection refused");
    assert_string_equal(mpx_s5_rep_name(9), "unassigned");
    /* replies carry unassigned codes without complaint (the client judges them) */
    uint8_t b[32];
    size_t n = hex("05090001 00000000 0000", b, sizeof b);
    mpx_s5_msg d;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_reply(b, n, &d, &e), MPX_DEC_OK);
    /* IPv6 reply */
    n = hex("05000004 fd000000000000000000000000000009 0438", b, sizeof b);
    assert_int_equal(mpx_s5_decode_reply(b, n, &d, &e), MPX_DEC_OK);
    assert_int_equal(d.addr.family, MPX_AF_INET6);
    assert_int_equal(d.port, 1080);
}

static void t_auth(void **st)
{
    (void)st;
    uint8_t b[64], out[64];
    size_t n = hex("01 05 616c696365 06 736563726574", b, sizeof b);
    mpx_s5_auth a;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_auth(b, n, &a, &e), MPX_DEC_OK);
    assert_string_equal(a.user, "alice");
    assert_string_equal(a.pass, "secret");
    assert_int_equal(a.len, n);
    assert_int_equal(mpx_s5_encode_auth("alice", "secret", out, sizeof out, &e), (long)n);
    assert_memory_equal(out, b, n);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(mpx_s5_decode_auth(b, k, &a, &e), MPX_DEC_MORE);
    uint8_t status = 9;
    assert_int_equal(mpx_s5_encode_auth_reply(0, out, sizeof out, &e), 2);
    assert_memory_equal(out, "\x01\x00", 2);
    assert_int_equal(mpx_s5_decode_auth_reply(out, 2, &status, &e), MPX_DEC_OK);
    assert_int_equal(status, 0);
    /* longest legal user name and password */
    char u[256], p[256];
    memset(u, 'u', 255); u[255] = 0;
    memset(p, 'p', 255); p[255] = 0;
    uint8_t big[600];
    assert_int_equal(mpx_s5_encode_auth(u, p, big, sizeof big, &e), 513);
    assert_int_equal(mpx_s5_decode_auth(big, 513, &a, &e), MPX_DEC_OK);
    assert_int_equal(strlen(a.user), 255);
    assert_int_equal(strlen(a.pass), 255);
}

static void bad(int (*fn)(const uint8_t *, size_t, mpx_s5_msg *, mpx_err *), const char *h, const char *rule)
{
    uint8_t b[64];
    size_t n = hex(h, b, sizeof b);
    mpx_s5_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    int r = fn(b, n, &m, &e);
    if (r != MPX_DEC_BAD || !e.rule || strcmp(e.rule, rule))
        fail_msg("%s: expected %s, got %d %s", h, rule, r, e.rule ? e.rule : "-");
}

static void t_malformed(void **st)
{
    (void)st;
    mpx_s5_greeting g;
    mpx_s5_auth a;
    uint8_t st8;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_greeting((const uint8_t *)"\x04\x01\x00", 3, &g, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-VER");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_greeting((const uint8_t *)"\x05\x00", 2, &g, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-NMETHODS");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_choice((const uint8_t *)"\x04\x00", 2, &st8, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-VER");
    bad(mpx_s5_decode_request, "04010001c00002010050", "S5-VER");
    bad(mpx_s5_decode_request, "05040001c00002010050", "S5-CMD");
    bad(mpx_s5_decode_request, "05000001c00002010050", "S5-CMD");
    bad(mpx_s5_decode_request, "05010101c00002010050", "S5-RSV");
    bad(mpx_s5_decode_request, "05010002c00002010050", "S5-ATYP");
    bad(mpx_s5_decode_request, "05010003000050", "S5-DOMAIN");
    bad(mpx_s5_decode_request, "0501000303610062 0050", "S5-DOMAIN");   /* NUL inside */
    bad(mpx_s5_decode_reply, "05000005c00002010050", "S5-ATYP");
    assert_int_equal(mpx_s5_rule_reply("S5-CMD"), MPX_S5_REP_CMD_UNSUPPORTED);
    assert_int_equal(mpx_s5_rule_reply("S5-ATYP"), MPX_S5_REP_ATYP_UNSUPPORTED);
    assert_int_equal(mpx_s5_rule_reply("S5-RSV"), MPX_S5_REP_FAILURE);
    assert_int_equal(mpx_s5_rule_reply("S5-VER"), -1);
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_auth((const uint8_t *)"\x05\x01u\x01p", 5, &a, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-AUTH-VER");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_auth((const uint8_t *)"\x01\x00\x01p", 4, &a, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-AUTH-ULEN");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_auth((const uint8_t *)"\x01\x01u\x00", 4, &a, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-AUTH-PLEN");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_auth((const uint8_t *)"\x01\x02u\x00\x01p", 6, &a, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-AUTH-NUL");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_decode_auth_reply((const uint8_t *)"\x05\x00", 2, &st8, &e), MPX_DEC_BAD);
    assert_string_equal(e.rule, "S5-AUTH-VER");
}

static void t_encode_errors(void **st)
{
    (void)st;
    uint8_t out[300];
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_greeting(NULL, 0, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-METHODS");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_auth("", "x", out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-AUTH");
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_connect_domain("", 80, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-DOMAIN");
    char longname[300];
    memset(longname, 'a', 256); longname[256] = 0;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_connect_domain(longname, 80, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-DOMAIN");
    mpx_s5_msg m;
    memset(&m, 0, sizeof m);
    m.code = 1;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_request(&m, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-ADDR");
    /* address family mismatch: ATYP IPv4 with an IPv6 address and vice versa */
    assert_int_equal(mpx_addr_parse("[fd00::1]:80", &m.addr, 1), 0);
    m.atyp = MPX_S5_ATYP_V4;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_request(&m, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-ADDR");
    m.addr = mpx_addr_v4(0xc0000201, 80);
    m.atyp = MPX_S5_ATYP_V6;
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_request(&m, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-ADDR");
    mpx_addr t = mpx_addr_v4(0xc0000201, 80);
    mpx_err_clear(&e);
    assert_int_equal(mpx_s5_encode_connect(&t, out, 5, &e), -1);
    assert_string_equal(e.rule, "S5-ENC-SPACE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_greeting_choice),
        cmocka_unit_test(t_request_v4_v6_domain),
        cmocka_unit_test(t_reply),
        cmocka_unit_test(t_auth),
        cmocka_unit_test(t_malformed),
        cmocka_unit_test(t_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
