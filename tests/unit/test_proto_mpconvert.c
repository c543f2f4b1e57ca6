/* MP_CONVERT in the SYN payload: the plain-mode -09 form (option bytes + EOL + data) and the
 * -10 Information Element, byte-exact vectors, round trips, malformed cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/mpconvert.h"

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    long n = mpx_hex_parse(s, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

static void expect_bad(const char *h, unsigned flags, const char *rule)
{
    uint8_t b[256];
    size_t n = hex(h, b, sizeof b);
    mpx_mpconv_payload pl;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_mpconv_decode(b, n, flags | MPX_MPCONV_F_COMPLETE, 0, &pl, &e);
    if (r != MPX_DEC_BAD || !e.rule || strcmp(e.rule, rule) != 0)
        fail_msg("%s: expected %s, got r=%d rule=%s (%s)", h, rule, r, e.rule ? e.rule : "-", e.msg);
}

static mpx_mpconv inst(const char *a, bool d)
{
    mpx_mpconv m;
    memset(&m, 0, sizeof m);
    assert_int_equal(mpx_addr_parse(a, &m.addr, 0), 0);
    m.has_port = m.addr.port != 0;
    m.d = d;
    return m;
}

/* -09: destination 192.0.2.1:80, TCP, subtype 0xe; EOL; "GET " */
static void t_09_vector(void **st)
{
    (void)st;
    uint8_t b[64], out[64];
    size_t n = hex("1e0ae006 c0000201 0050 00 47455420", b, sizeof b);
    mpx_mpconv_payload pl;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_decode(b, n, 0, 0, &pl, &e), MPX_DEC_OK);
    assert_int_equal(pl.form, MPX_MPCONV_FORM_09);
    assert_int_equal(pl.n, 1);
    assert_int_equal(pl.data_off, 11);
    assert_memory_equal(b + pl.data_off, "GET ", 4);
    assert_false(pl.inst[0].d);
    assert_int_equal(pl.inst[0].subtype, 0xe);
    assert_int_equal(pl.inst[0].protocol, 6);
    assert_true(pl.inst[0].has_port);
    assert_int_equal(pl.inst[0].addr.family, MPX_AF_INET);
    assert_int_equal(pl.inst[0].addr.port, 80);
    mpx_mpconv m = inst("192.0.2.1:80", false);
    assert_int_equal(mpx_mpconv_encode_09(&m, 1, out, sizeof out, &e), 11);
    assert_memory_equal(out, b, 11);
    assert_int_equal(mpx_mpconv_opt_len(&m), 10);
}

/* -09: two instances, IPv6 source (D=1, no port) then IPv6 destination with port */
static void t_09_two(void **st)
{
    (void)st;
    const char *h = "1e14e806 fd000000000000000000000000000001"
                    "1e16e006 fd000000000000000000000000000002 1f90 00";
    uint8_t b[64], out[64];
    size_t n = hex(h, b, sizeof b);
    assert_int_equal(n, 43);
    mpx_mpconv_payload pl;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_decode_09(b, n, 0, 0, &pl, &e), MPX_DEC_OK);
    assert_int_equal(pl.n, 2);
    assert_int_equal(pl.data_off, 43);
    assert_true(pl.inst[0].d);
    assert_false(pl.inst[0].has_port);
    assert_int_equal(pl.inst[0].addr.family, MPX_AF_INET6);
    assert_false(pl.inst[1].d);
    assert_int_equal(pl.inst[1].addr.port, 8080);
    mpx_mpconv two[2] = { inst("fd00::1", true), inst("[fd00::2]:8080", false) };
    assert_int_equal(mpx_mpconv_encode_09(two, 2, out, sizeof out, &e), 43);
    assert_memory_equal(out, b, 43);
    assert_true(mpx_mpconv_equal(&two[0], &pl.inst[0]));
    assert_true(mpx_mpconv_equal(&two[1], &pl.inst[1]));
    assert_false(mpx_mpconv_equal(&two[0], &pl.inst[1]));
    /* every prefix is "need more" */
    for (size_t k = 0; k < n; k++) {
        mpx_err_clear(&e);
        assert_int_equal(mpx_mpconv_decode(b, k, 0, 0, &pl, &e), MPX_DEC_MORE);
        assert_true(pl.need > k);
    }
}

/* -10 IE, the length decision: Length counts Type..port, not magic or padding */
static void t_ie_vectors(void **st)
{
    (void)st;
    struct { const char *a; bool d; const char *hex; size_t len; } v[] = {
        { "192.0.2.1", false,    "faa8faa8 0008 0001 c0000201", 12 },
        { "192.0.2.1:80", false, "faa8faa8 000a 0001 c0000201 0050 0000", 16 },
        { "2001:db8::1", false,  "faa8faa8 0014 0001 20010db8000000000000000000000001", 24 },
        { "[2001:db8::1]:443", true, "faa8faa8 0016 0003 20010db8000000000000000000000001 01bb 0000", 28 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t b[64], out[64];
        size_t n = hex(v[i].hex, b, sizeof b);
        assert_int_equal(n, v[i].len);
        mpx_mpconv m = inst(v[i].a, v[i].d);
        assert_int_equal(mpx_mpconv_ie_len(&m), v[i].len);
        mpx_err e;
        mpx_err_clear(&e);
        assert_int_equal(mpx_mpconv_encode_ie(&m, 1, out, sizeof out, &e), (long)n);
        assert_memory_equal(out, b, n);
        mpx_mpconv_payload pl;
        assert_int_equal(mpx_mpconv_decode(b, n, 0, 0, &pl, &e), MPX_DEC_OK);
        assert_int_equal(pl.form, MPX_MPCONV_FORM_IE);
        assert_int_equal(pl.n, 1);
        assert_true(pl.inst[0].m);
        assert_int_equal(pl.data_off, n);
        assert_true(mpx_mpconv_equal(&m, &pl.inst[0]));
    }
}

/* Two IEs: the first has M unset ("more follow"), the second M set; data after. */
static void t_ie_two(void **st)
{
    (void)st;
    const char *h = "faa8faa8 0008 0002 c6120001  faa8faa8 000a 0001 c0000201 0050 0000  4142";
    uint8_t b[64], out[64];
    size_t n = hex(h, b, sizeof b);
    mpx_mpconv_payload pl;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_decode_ie(b, n, 0, &pl, &e), MPX_DEC_OK);
    assert_int_equal(pl.n, 2);
    assert_true(pl.inst[0].d);
    assert_false(pl.inst[0].m);
    assert_false(pl.inst[1].d);
    assert_true(pl.inst[1].m);
    assert_int_equal(pl.data_off, 28);
    assert_memory_equal(b + 28, "AB", 2);
    mpx_mpconv two[2] = { inst("198.18.0.1", true), inst("192.0.2.1:80", false) };
    assert_int_equal(mpx_mpconv_encode_ie(two, 2, out, sizeof out, &e), 28);
    assert_memory_equal(out, b, 28);
    for (size_t k = 0; k < 28; k++) {
        mpx_err_clear(&e);
        assert_int_equal(mpx_mpconv_decode(b, k, 0, 0, &pl, &e), MPX_DEC_MORE);
    }
}

static void t_malformed(void **st)
{
    (void)st;
    expect_bad("", 0, "MPCONV-TRUNC");
    expect_bad("1e0ae006c0000201", 0, "MPCONV-09-TRUNC");
    expect_bad("1e0ae006c00002010050", 0, "MPCONV-09-TRUNC");        /* no EOL yet */
    expect_bad("470a", 0, "MPCONV-FORM");
    expect_bad("1e09e006c000020100 00", 0, "MPCONV-09-LEN");
    expect_bad("1e0ad006c0000201005000", 0, "MPCONV-09-SUBTYPE");
    expect_bad("1e0ae006c00002010050 01 00", 0, "MPCONV-09-DELIM");   /* NOP, not EOL */
    expect_bad("1e0ae006c00002010050 1e0ae006c0000202005000", 0, "MPCONV-DUP-D");
    expect_bad("1e08e006c0000201 1e08e806c0000202 1e08e006c000020300", 0, "MPCONV-COUNT");
    expect_bad("1e0ae0067f000001005000", 0, "MPCONV-ADDR");           /* loopback */
    expect_bad("1e0ae006e0000001005000", 0, "MPCONV-ADDR");           /* multicast */
    expect_bad("1e0ae006ffffffff005000", 0, "MPCONV-ADDR");           /* broadcast */
    expect_bad("1e14e006ff020000000000000000000000000001 00", 0, "MPCONV-ADDR");
    expect_bad("faa8faa9 0008 0001 c0000201", 0, "MPCONV-IE-MAGIC");
    expect_bad("faa8faa8 0108 0001 c0000201", 0, "MPCONV-IE-TYPE");
    expect_bad("faa8faa8 000c 0001 c0000201", 0, "MPCONV-IE-LEN");    /* magic counted: not our reading */
    expect_bad("faa8faa8 0009 0001 c0000201", 0, "MPCONV-IE-LEN");
    expect_bad("faa8faa8 000a 0001 c0000201 0050 0001", 0, "MPCONV-IE-PAD");
    expect_bad("faa8faa8 000a 0001 c0000201 0050", 0, "MPCONV-IE-TRUNC"); /* length not a multiple of 4 */
    expect_bad("faa8faa8 0008 0000 c0000201", 0, "MPCONV-IE-TRUNC");     /* M unset: another IE must follow */
    expect_bad("faa8faa8 0008 0000 c0000201 faa8faa8 0008 0001 c0000202", 0, "MPCONV-DUP-D");
    expect_bad("faa8faa8 0008 0002 c0000201 faa8faa8 0008 0000 c0000202", 0, "MPCONV-COUNT");
    expect_bad("faa8faa8 0008 0000 c0000201 4745", 0, "MPCONV-IE-MAGIC");
    expect_bad("faa8faa8 0008 0001 7f000001", 0, "MPCONV-ADDR");
    /* same inputs with the address policy off are fine */
    uint8_t b[32];
    size_t n = hex("1e0ae0067f000001005000", b, sizeof b);
    mpx_mpconv_payload pl;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_decode(b, n, MPX_MPCONV_F_ANY_ADDR, 0, &pl, &e), MPX_DEC_OK);
    /* another subtype when asked for it, or any */
    n = hex("1e0ad006c0000201005000", b, sizeof b);
    assert_int_equal(mpx_mpconv_decode(b, n, 0, 0xd, &pl, &e), MPX_DEC_OK);
    assert_int_equal(mpx_mpconv_decode(b, n, MPX_MPCONV_F_ANY_SUBTYPE, 0, &pl, &e), MPX_DEC_OK);
    /* reserved flag bits are ignored on receipt */
    n = hex("1e0ae706c0000201005000", b, sizeof b);
    assert_int_equal(mpx_mpconv_decode(b, n, 0, 0, &pl, &e), MPX_DEC_OK);
    assert_int_equal(pl.inst[0].flags, 7);
    /* address-less MP_CONVERT (length 4) */
    n = hex("1e04e006 00", b, sizeof b);
    assert_int_equal(mpx_mpconv_decode(b, n, 0, 0, &pl, &e), MPX_DEC_OK);
    assert_int_equal(pl.inst[0].addr.family, MPX_AF_NONE);
}

static void t_encode_errors(void **st)
{
    (void)st;
    uint8_t out[64];
    mpx_err e;
    mpx_mpconv two[2] = { inst("192.0.2.1:80", false), inst("192.0.2.2:80", false) };
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_encode_09(two, 2, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "MPCONV-ENC-DUP-D");
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_encode_ie(two, 0, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "MPCONV-ENC-COUNT");
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_encode_ie(two, 1, out, 10, &e), -1);
    assert_string_equal(e.rule, "MPCONV-ENC-SPACE");
    mpx_mpconv m = inst("192.0.2.1", false);
    m.addr.family = MPX_AF_NONE;
    m.has_port = true;
    mpx_err_clear(&e);
    assert_int_equal(mpx_mpconv_encode_09(&m, 1, out, sizeof out, &e), -1);
    assert_string_equal(e.rule, "MPCONV-ENC-ADDR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_09_vector),
        cmocka_unit_test(t_09_two),
        cmocka_unit_test(t_ie_vectors),
        cmocka_unit_test(t_ie_two),
        cmocka_unit_test(t_malformed),
        cmocka_unit_test(t_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
