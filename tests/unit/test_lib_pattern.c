/* lib/pattern: the deterministic payload pattern and the MPX1 request header.
 * Pattern bytes must not depend on how a stream is cut into reads; request and response
 * streams and different seeds must differ; one flipped byte must be found at its offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "lib/pattern.h"

static void t_hdr_roundtrip(void **st)
{
    (void)st;
    mpxa_req_hdr h = { 100, 1000, 0 }, d;
    mpxa_hdr_set_seed(&h, 0xabcdef);
    uint8_t b[MPXA_HDR_LEN];
    mpxa_hdr_encode(&h, b);
    /* "MPX1" | 100 | 1000 | flags = seed << 8, all big endian */
    static const uint8_t want[16] = { 'M','P','X','1', 0,0,0,100, 0,0,0x03,0xe8, 0xab,0xcd,0xef,0 };
    assert_memory_equal(b, want, 16);
    assert_int_equal(mpxa_hdr_decode(b, &d), MPXA_HDR_OK);
    assert_int_equal(d.req_len, 100);
    assert_int_equal(d.resp_len, 1000);
    assert_int_equal(mpxa_hdr_seed(&d), 0xabcdef);
    assert_int_equal(d.flags & MPXA_FLAG_ECHO, 0);
}

static void t_hdr_bad(void **st)
{
    (void)st;
    mpxa_req_hdr h = { 16, 0, 0 }, d;
    uint8_t b[MPXA_HDR_LEN];
    mpxa_hdr_encode(&h, b);
    b[3] = '2';
    assert_int_equal(mpxa_hdr_decode(b, &d), MPXA_HDR_BAD_MAGIC);
    h.req_len = 15;
    mpxa_hdr_encode(&h, b);
    assert_int_equal(mpxa_hdr_decode(b, &d), MPXA_HDR_BAD_LEN);
    h = (mpxa_req_hdr){ 100, 99, MPXA_FLAG_ECHO };
    mpxa_hdr_encode(&h, b);
    assert_int_equal(mpxa_hdr_decode(b, &d), MPXA_HDR_BAD_ECHO);
    h.resp_len = 100;
    mpxa_hdr_encode(&h, b);
    assert_int_equal(mpxa_hdr_decode(b, &d), MPXA_HDR_OK);
}

/* Filling [0,n) at once equals filling it in odd-sized pieces at odd offsets. */
static void t_pattern_split_invariant(void **st)
{
    (void)st;
    enum { N = 5000 };
    static uint8_t whole[N], parts[N];
    mpxa_pattern_fill(42, 0, whole, N);
    size_t off = 0, step = 1;
    while (off < N) {
        size_t k = step < N - off ? step : N - off;
        mpxa_pattern_fill(42, off, parts + off, k);
        off += k;
        step = step * 3 % 17 + 1;
    }
    assert_memory_equal(whole, parts, N);
    size_t bad = 99;
    assert_true(mpxa_pattern_check(42, 0, whole, N, &bad));
    assert_true(mpxa_pattern_check(42, 1234, whole + 1234, 777, &bad));
    /* not a constant or short-period stream */
    size_t same = 0;
    for (size_t i = 1; i < N; i++)
        same += whole[i] == whole[i - 1];
    assert_true(same < N / 32);
    assert_memory_not_equal(whole, whole + 8, 64);
}

static void t_pattern_detects_corruption(void **st)
{
    (void)st;
    enum { N = 9000 };
    static uint8_t b[N];
    mpxa_pattern_fill(7, 100, b, N);
    for (size_t pos = 0; pos < N; pos += 997) {
        b[pos] ^= 0x01;
        size_t bad = 0;
        assert_false(mpxa_pattern_check(7, 100, b, N, &bad));
        assert_int_equal(bad, pos);
        b[pos] ^= 0x01;
    }
    size_t bad = 0;
    /* the right bytes at the wrong offset fail too */
    assert_false(mpxa_pattern_check(7, 101, b, 64, &bad));
    /* and a different seed fails */
    assert_false(mpxa_pattern_check(8, 100, b, 64, &bad));
}

static void t_req_resp_streams(void **st)
{
    (void)st;
    mpxa_req_hdr h = { 1016, 2000, 0 };
    mpxa_hdr_set_seed(&h, 5);
    static uint8_t req[1016], resp[2000], tmp[2000];
    mpxa_req_fill(&h, 0, req, sizeof req);
    uint8_t hb[16];
    mpxa_hdr_encode(&h, hb);
    assert_memory_equal(req, hb, 16);             /* the request starts with its header */
    size_t bad;
    assert_true(mpxa_req_check(&h, 0, req, sizeof req, &bad));
    /* piecewise across the header boundary */
    assert_true(mpxa_req_check(&h, 10, req + 10, 20, &bad));
    mpxa_req_fill(&h, 10, tmp, 20);
    assert_memory_equal(tmp, req + 10, 20);
    mpxa_resp_fill(&h, 0, resp, sizeof resp);
    assert_true(mpxa_resp_check(&h, 0, resp, sizeof resp, &bad));
    /* response stream differs from the request stream and from another seed's */
    assert_memory_not_equal(resp, req + 16, 64);
    mpxa_req_hdr h2 = h;
    mpxa_hdr_set_seed(&h2, 6);
    assert_false(mpxa_resp_check(&h2, 0, resp, sizeof resp, &bad));
    assert_int_equal(bad, 0);
    /* header corruption found at its offset */
    req[13] ^= 0x80;
    assert_false(mpxa_req_check(&h, 0, req, sizeof req, &bad));
    assert_int_equal(bad, 13);
}

static void t_echo(void **st)
{
    (void)st;
    mpxa_req_hdr h = { 300, 300, MPXA_FLAG_ECHO };
    mpxa_hdr_set_seed(&h, 77);
    uint8_t req[300], resp[300];
    mpxa_req_fill(&h, 0, req, sizeof req);
    mpxa_resp_fill(&h, 0, resp, sizeof resp);
    assert_memory_equal(req, resp, sizeof req);   /* echo = the request bytes, header included */
    size_t bad;
    assert_true(mpxa_resp_check(&h, 0, req, sizeof req, &bad));
    assert_int_equal(mpxa_hdr_seed(&h), 77);
    assert_true(h.flags & MPXA_FLAG_ECHO);
}

/* Golden bytes: other implementations (and captures) must agree with these. The request
 * stream of the header {100, 1000, seed 1} right after the header, and its response stream. */
static void t_golden(void **st)
{
    (void)st;
    mpxa_req_hdr h = { 100, 1000, 0 };
    mpxa_hdr_set_seed(&h, 1);
    static const uint8_t req16[16] = { 0xfc,0x8c,0x05,0x61,0x6a,0x4c,0xd5,0x72,
                                       0x99,0xec,0xf8,0xea,0x82,0x16,0xac,0x3c };
    static const uint8_t resp16[16] = { 0xdf,0xb4,0xaf,0xc0,0x09,0x4f,0x6e,0x68,
                                        0x67,0x57,0x69,0xde,0x47,0x4a,0xe2,0x68 };
    uint8_t b[32];
    mpxa_req_fill(&h, 0, b, 32);
    assert_memory_equal(b, "MPX1\0\0\0\x64\0\0\x03\xe8\0\0\x01\0", 16);
    assert_memory_equal(b + 16, req16, 16);
    mpxa_resp_fill(&h, 0, b, 16);
    assert_memory_equal(b, resp16, 16);
    /* unaligned windows agree with the aligned fill */
    uint8_t w[13];
    mpxa_resp_fill(&h, 3, w, 13);
    assert_memory_equal(w, resp16 + 3, 13);
    size_t bad;
    assert_true(mpxa_resp_check(&h, 3, resp16 + 3, 13, &bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_hdr_roundtrip),
        cmocka_unit_test(t_hdr_bad),
        cmocka_unit_test(t_pattern_split_invariant),
        cmocka_unit_test(t_pattern_detects_corruption),
        cmocka_unit_test(t_req_resp_streams),
        cmocka_unit_test(t_echo),
        cmocka_unit_test(t_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
