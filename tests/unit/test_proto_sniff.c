/* proto/sniff: the first look at a client's first bytes, on messages the proto encoders
 * build, on every prefix of them (no read past the end), and on the near misses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "proto/convert.h"
#include "proto/mpconvert.h"
#include "proto/sniff.h"
#include "proto/socks5.h"

static const uint8_t s5_choice[] = { 5, 0 };
static const mpx_sniff_ctx syn_ctx = { .mpconv_subtype = MPX_MPCONV_SUBTYPE_DEFAULT, .syn_data = true };

static mpx_addr target(void)
{
    mpx_addr a;
    assert_int_equal(mpx_addr_parse("198.18.2.2:8080", &a, 0), 0);
    return a;
}

/* Every strict prefix of a message shorter than its fixed fields is not classified as it;
 * only heap copies of the exact length are read, so ASan catches any overread. */
static void prefixes_short(const uint8_t *msg, size_t fixed, const mpx_sniff_ctx *ctx,
                           mpx_wire_class w)
{
    for (size_t n = 0; n < fixed; n++) {
        uint8_t *b = test_malloc(n ? n : 1);
        memcpy(b, msg, n);
        assert_int_not_equal(mpx_sniff_client(b, n, ctx), w);
        test_free(b);
    }
}

static void t_convert(void **st)
{
    (void)st;
    uint8_t b[256];
    mpx_addr a = target();
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_conv_encode_connect(&a, NULL, 0, NULL, 0, b, sizeof b, &e);
    assert_true(n > 4);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &syn_ctx), MPX_WIRE_CONVERT);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, NULL), MPX_WIRE_CONVERT);
    assert_true(mpx_sniff_convert(b, (size_t)n, false));
    prefixes_short(b, 4, &syn_ctx, MPX_WIRE_CONVERT);
    /* a wrong version is still Convert for the client side (the decoder reports it), but
     * not a converter's reply */
    b[0] = 2;
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &syn_ctx), MPX_WIRE_CONVERT);
    assert_true(mpx_sniff_convert(b, (size_t)n, true));
    assert_false(mpx_sniff_convert(b, (size_t)n, false));
    b[0] = 1;
    b[3] ^= 1;   /* no magic */
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &syn_ctx), MPX_WIRE_PLAIN);
    assert_false(mpx_sniff_convert(b, (size_t)n, true));
    assert_false(mpx_sniff_convert(NULL, 4, true));
    assert_false(mpx_sniff_convert(b, 3, true));
}

static void t_mpconvert(void **st)
{
    (void)st;
    uint8_t b[64];
    mpx_mpconv m;
    memset(&m, 0, sizeof m);
    m.addr = target();
    m.has_port = true;
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_mpconv_encode_ie(&m, 1, b, sizeof b, &e);
    assert_true(n > 4);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &syn_ctx), MPX_WIRE_MPCONVERT_IE);
    prefixes_short(b, 4, &syn_ctx, MPX_WIRE_MPCONVERT_IE);

    mpx_err_clear(&e);
    n = mpx_mpconv_encode_09(&m, 1, b, sizeof b, &e);
    assert_true(n > 3);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &syn_ctx), MPX_WIRE_MPCONVERT);
    prefixes_short(b, 3, &syn_ctx, MPX_WIRE_MPCONVERT);
    /* only in SYN data, only with the configured subtype */
    mpx_sniff_ctx c = syn_ctx;
    c.syn_data = false;
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &c), MPX_WIRE_PLAIN);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, NULL), MPX_WIRE_PLAIN);
    c = syn_ctx;
    c.mpconv_subtype = 0xd;
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &c), MPX_WIRE_PLAIN);
    m.subtype = 0xd;
    mpx_err_clear(&e);
    n = mpx_mpconv_encode_09(&m, 1, b, sizeof b, &e);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &c), MPX_WIRE_MPCONVERT);
}

static void t_socks5(void **st)
{
    (void)st;
    uint8_t b[16];
    const uint8_t methods[] = { 0x00, 0x02 };
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_s5_encode_greeting(methods, sizeof methods, b, sizeof b, &e);
    assert_int_equal(n, 4);
    mpx_sniff_ctx c = { .reply = s5_choice, .reply_len = sizeof s5_choice };
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &c), MPX_WIRE_SOCKS5);
    prefixes_short(b, (size_t)n, &c, MPX_WIRE_SOCKS5);
    /* a greeting is SOCKS only when the other side answers like a SOCKS proxy */
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &syn_ctx), MPX_WIRE_PLAIN);
    assert_int_equal(mpx_sniff_client(b, (size_t)n, NULL), MPX_WIRE_PLAIN);
    c.reply_len = 1;
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &c), MPX_WIRE_PLAIN);
    const uint8_t http[] = { 'H', 'T' };
    c.reply = http;
    c.reply_len = sizeof http;
    assert_int_equal(mpx_sniff_client(b, (size_t)n, &c), MPX_WIRE_PLAIN);
    /* method counts: 1..8 */
    c.reply = s5_choice;
    c.reply_len = sizeof s5_choice;
    uint8_t g[12] = { 5, 0 };
    assert_int_equal(mpx_sniff_client(g, sizeof g, &c), MPX_WIRE_PLAIN);
    g[1] = 8;
    assert_int_equal(mpx_sniff_client(g, 10, &c), MPX_WIRE_SOCKS5);
    g[1] = 9;
    assert_int_equal(mpx_sniff_client(g, sizeof g, &c), MPX_WIRE_PLAIN);
    g[0] = 4;
    g[1] = 1;
    assert_int_equal(mpx_sniff_client(g, sizeof g, &c), MPX_WIRE_PLAIN);
}

static void t_plain_and_none(void **st)
{
    (void)st;
    const uint8_t get[] = "GET / HTTP/1.1\r\n";
    assert_int_equal(mpx_sniff_client(get, sizeof get - 1, &syn_ctx), MPX_WIRE_PLAIN);
    assert_int_equal(mpx_sniff_client(get, 0, &syn_ctx), MPX_WIRE_NONE);
    assert_int_equal(mpx_sniff_client(NULL, 5, &syn_ctx), MPX_WIRE_NONE);
    /* a payload never looks like the option-space signal */
    for (unsigned v = 0; v < 256; v++) {
        uint8_t b[4] = { (uint8_t)v, (uint8_t)v, (uint8_t)v, (uint8_t)v };
        mpx_wire_class w = mpx_sniff_client(b, sizeof b, &syn_ctx);
        assert_int_not_equal(w, MPX_WIRE_MPCONVERT_OPT);
        assert_true(w > MPX_WIRE_NONE && w < MPX_WIRE__N);
    }
}

/* Every class a payload can show belongs to a registry signal that travels where the sniffer
 * looks: the SYN payload, or (SOCKS) application bytes after the handshake. */
static void t_registry(void **st)
{
    (void)st;
    static const struct { mpx_wire_class w; mpx_sig_where where; } seen[] = {
        { MPX_WIRE_CONVERT, MPX_SIG_IN_PAYLOAD }, { MPX_WIRE_MPCONVERT, MPX_SIG_IN_PAYLOAD },
        { MPX_WIRE_MPCONVERT_IE, MPX_SIG_IN_PAYLOAD }, { MPX_WIRE_SOCKS5, MPX_SIG_IN_APP },
    };
    size_t n;
    const mpx_signal *s = mpx_signals(&n);
    for (size_t k = 0; k < sizeof seen / sizeof seen[0]; k++) {
        size_t rows = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i].wire == seen[k].w) {
                assert_int_equal(s[i].where, seen[k].where);
                rows++;
            }
        if (!rows) fail_msg("no registry row with wire class %s", mpx_wire_class_name(seen[k].w));
    }
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_convert), cmocka_unit_test(t_mpconvert),
        cmocka_unit_test(t_socks5), cmocka_unit_test(t_plain_and_none),
        cmocka_unit_test(t_registry),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
