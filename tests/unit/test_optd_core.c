/* mpx-optd decisions on hand-built packets: which SYNs get an option or the Router Alert
 * (add mode), which get the prefer mark (read mode), how the MP_JOINs of a chosen connection
 * are recognised by the token learnt from its SYN/ACK, and the control requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "agents/optd/core.h"
#include "agents/optd/mangle.h"
#include "proto/mptcp.h"

static const uint8_t C4[4] = { 198, 18, 1, 1 }, C4B[4] = { 198, 18, 2, 1 }, S4[4] = { 198, 18, 3, 1 };
static const uint64_t KEY = 0x0102030405060708ull;

enum { K_MPC, K_MPC_COOKIE, K_JOIN, K_PLAIN };

/* IPv4 TCP segment with Linux-like SYN options; `extra` kind-30 option bytes appended.
 * flags 0x02 SYN, 0x12 SYN/ACK. Returns the length. */
static size_t mk(uint8_t *p, const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport,
                 uint8_t flags, int kind, uint32_t token_or_0, const uint8_t *extra, size_t extralen)
{
    uint8_t o[40];
    size_t n = 0;
    static const uint8_t base[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
    memcpy(o, base, sizeof base);
    n = sizeof base;
    if (kind == K_MPC_COOKIE) {
        static const uint8_t ck[] = { 34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1 };
        memcpy(o + n, ck, sizeof ck);
        n += sizeof ck;
    }
    if (kind == K_MPC || kind == K_MPC_COOKIE) {
        if (flags & 0x10) {   /* SYN/ACK: MP_CAPABLE with the sender's key */
            uint8_t m[12] = { 30, 12, 0x01, 0x01 };
            for (int i = 0; i < 8; i++) m[4 + i] = (uint8_t)(KEY >> (56 - 8 * i));
            memcpy(o + n, m, 12);
            n += 12;
        } else {
            static const uint8_t m[4] = { 30, 4, 0x01, 0x01 };
            memcpy(o + n, m, 4);
            n += 4;
        }
    } else if (kind == K_JOIN) {
        uint8_t m[12] = { 30, 12, 0x10, 0x00 };
        m[4] = (uint8_t)(token_or_0 >> 24); m[5] = (uint8_t)(token_or_0 >> 16);
        m[6] = (uint8_t)(token_or_0 >> 8);  m[7] = (uint8_t)token_or_0;
        m[8] = 0xaa; m[9] = 0xbb; m[10] = 0xcc; m[11] = 0xdd;
        memcpy(o + n, m, 12);
        n += 12;
    }
    if (extra) { memcpy(o + n, extra, extralen); n += extralen; }
    while (n % 4) o[n++] = 1;
    size_t tot = 20 + 20 + n;
    memset(p, 0, tot);
    p[0] = 0x45; p[2] = (uint8_t)(tot >> 8); p[3] = (uint8_t)tot; p[8] = 64; p[9] = 6;
    memcpy(p + 12, src, 4); memcpy(p + 16, dst, 4);
    uint8_t *t = p + 20;
    t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport; t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
    t[7] = 1;
    if (flags & 0x10) t[11] = 1;
    t[12] = (uint8_t)(((20 + n) / 4) << 4);
    t[13] = flags;
    t[14] = 0xff;
    memcpy(t + 20, o, n);
    optd_pkt_fix_checksums(p, tot);
    return tot;
}

static bool contains(const uint8_t *p, size_t len, const uint8_t *needle, size_t nl)
{
    for (size_t i = 0; i + nl <= len; i++) if (!memcmp(p + i, needle, nl)) return true;
    return false;
}

static void ctl(optd_t *d, const char *req, char *out)
{
    char r[256];
    snprintf(r, sizeof r, "%s", req);
    optd_control(d, r, out, 256);
}

static optd_t D;   /* large: keep it off the stack */

static void add_prefer_by_destination(void **state)
{
    (void)state;
    uint8_t p[256], out[256];
    static const uint8_t pp[4] = { 0x1e, 0x04, 0xe0, 0x00 };
    optd_init(&D);
    ctl(&D, "opt dst 198.18.3.1 8080 1e04e000", (char *)out);
    assert_string_equal((char *)out, "ok");
    size_t n = mk(p, C4, 40000, S4, 8080, 0x02, K_MPC, 0, NULL, 0);
    size_t nl = optd_add_signals(&D, p, n, sizeof p);
    assert_int_equal(nl, n + 4);
    assert_true(contains(p + 40, nl - 40, pp, 4));
    assert_true(optd_pkt_checksums_ok(p, nl));
    /* other port: untouched; a join to the registered destination: untouched (MPC only) */
    n = mk(p, C4, 40001, S4, 8081, 0x02, K_MPC, 0, NULL, 0);
    memcpy(out, p, n);
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n);
    assert_memory_equal(p, out, n);
    n = mk(p, C4B, 40002, S4, 8080, 0x02, K_JOIN, 0x11223344, NULL, 0);
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n);
    optd_stats_json(&D, (char *)out, sizeof out);
    assert_non_null(strstr((char *)out, "\"mangled\":1,"));
}

static void add_ra_follows_joins_by_token(void **state)
{
    (void)state;
    uint8_t p[256];
    char out[256];
    optd_init(&D);
    ctl(&D, "ra sport 40000", out);
    assert_string_equal(out, "ok");
    size_t n = mk(p, C4, 40000, S4, 8080, 0x02, K_MPC, 0, NULL, 0);
    size_t nl = optd_add_signals(&D, p, n, sizeof p);
    assert_int_equal(nl, n + 4);
    assert_true(optd_pkt_has_ipv4_ra(p, nl));
    assert_int_equal(p[0], 0x46);
    assert_true(optd_pkt_checksums_ok(p, nl));
    /* the server's SYN/ACK to port 40000 carries its key -> the token of the joins */
    n = mk(p, S4, 8080, C4, 40000, 0x12, K_MPC, 0, NULL, 0);
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n);
    uint32_t tok = mpx_mptcp_token(KEY, 1);
    n = mk(p, C4B, 50000, S4, 8080, 0x02, K_JOIN, tok, NULL, 0);
    nl = optd_add_signals(&D, p, n, sizeof p);
    assert_int_equal(nl, n + 4);
    assert_true(optd_pkt_has_ipv4_ra(p, nl));
    /* a join of another connection (other token) to the same server: no alert */
    n = mk(p, C4B, 50001, S4, 8080, 0x02, K_JOIN, tok ^ 1, NULL, 0);
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n);
    assert_false(optd_pkt_has_ipv4_ra(p, n));
    /* after del, the first subflow of a new connection from 40000 gets nothing */
    ctl(&D, "del sport 40000", out);
    assert_string_equal(out, "ok");
    n = mk(p, C4, 40000, S4, 8080, 0x02, K_MPC, 0, NULL, 0);
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n);
    optd_stats_json(&D, out, sizeof out);
    assert_non_null(strstr(out, "\"ra_added\":2,"));
    assert_non_null(strstr(out, "\"join_marked\":1,"));
    assert_non_null(strstr(out, "\"tokens\":1,"));
}

static void add_refuses_when_no_room(void **state)
{
    (void)state;
    uint8_t p[256], keep[256];
    char out[256];
    optd_init(&D);
    ctl(&D, "opt dst 198.18.3.1 5128 1e0ae006c61203011f90", out);
    assert_string_equal(out, "ok");
    size_t n = mk(p, C4, 40000, S4, 5128, 0x02, K_MPC_COOKIE, 0, NULL, 0);   /* 36 bytes */
    memcpy(keep, p, n);
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n);
    assert_memory_equal(p, keep, n);
    n = mk(p, C4, 40001, S4, 5128, 0x02, K_MPC, 0, NULL, 0);                  /* 24 bytes */
    assert_int_equal(optd_add_signals(&D, p, n, sizeof p), n + 12);
    optd_stats_json(&D, out, sizeof out);
    assert_non_null(strstr(out, "\"nofit\":1,"));
    assert_non_null(strstr(out, "\"mangled\":1,"));
}

static void read_prefer_marks_connection_and_its_joins(void **state)
{
    (void)state;
    uint8_t p[256];
    char out[256];
    static const uint8_t pp[4] = { 0x1e, 0x04, 0xe0, 0x00 };
    optd_init(&D);
    D.read_mode = true;
    D.mark_prefer = 2;
    size_t n = mk(p, C4, 40000, S4, 8080, 0x02, K_MPC, 0, pp, 4);
    assert_int_equal(optd_read_signals(&D, p, n), 2);
    n = mk(p, C4, 40001, S4, 8081, 0x02, K_MPC, 0, NULL, 0);   /* native MPTCP: no mark */
    assert_int_equal(optd_read_signals(&D, p, n), 0);
    /* the proxy's SYN/ACK to the preferred connection: its key's token is learnt */
    n = mk(p, S4, 8080, C4, 40000, 0x12, K_MPC, 0, NULL, 0);
    assert_int_equal(optd_read_signals(&D, p, n), 0);
    uint32_t tok = mpx_mptcp_token(KEY, 1);
    n = mk(p, C4B, 50000, S4, 8080, 0x02, K_JOIN, tok, NULL, 0);
    assert_int_equal(optd_read_signals(&D, p, n), 2);
    /* a native connection's join to the same destination is left alone */
    n = mk(p, C4B, 50001, S4, 8080, 0x02, K_JOIN, tok + 7, NULL, 0);
    assert_int_equal(optd_read_signals(&D, p, n), 0);
    optd_stats_json(&D, out, sizeof out);
    assert_non_null(strstr(out, "\"prefer_seen\":1,"));
    assert_non_null(strstr(out, "\"join_marked\":1,"));
}

static void read_prefer_join_fallback_by_destination(void **state)
{
    (void)state;
    uint8_t p[256];
    static const uint8_t pp[4] = { 0x1e, 0x04, 0xe0, 0x00 };
    optd_init(&D);
    D.read_mode = true;
    D.mark_prefer = 2;
    size_t n = mk(p, C4, 40000, S4, 8080, 0x02, K_MPC, 0, pp, 4);
    assert_int_equal(optd_read_signals(&D, p, n), 2);
    /* no SYN/ACK ever seen (no OUTPUT rule): joins to the same address:port are taken */
    n = mk(p, C4B, 50000, S4, 8080, 0x02, K_JOIN, 0x12345678, NULL, 0);
    assert_int_equal(optd_read_signals(&D, p, n), 2);
    n = mk(p, C4B, 50001, S4, 8081, 0x02, K_JOIN, 0x12345678, NULL, 0);
    assert_int_equal(optd_read_signals(&D, p, n), 0);
}

static void read_mpconvert_lookup(void **state)
{
    (void)state;
    uint8_t p[256];
    char out[256];
    static const uint8_t mc[10] = { 0x1e, 0x0a, 0xe0, 0x06, 198, 18, 3, 1, 0x1f, 0x90 };
    optd_init(&D);
    D.read_mode = true;
    D.mark_convert = 4;
    size_t n = mk(p, C4, 40000, S4, 5128, 0x02, K_MPC, 0, mc, sizeof mc);
    assert_int_equal(optd_read_signals(&D, p, n), 4);
    ctl(&D, "get 198.18.1.1 40000", out);
    assert_string_equal(out, "target 198.18.3.1:8080 proto 6");
    ctl(&D, "get 198.18.1.1 40001", out);
    assert_string_equal(out, "none");
    ctl(&D, "get not-an-address 1", out);
    assert_string_equal(out, "err bad-address");
}

static void control_errors(void **state)
{
    (void)state;
    char out[256];
    optd_init(&D);
    ctl(&D, "opt sport 40000 1e05e000", out);          /* length byte != option length */
    assert_string_equal(out, "err bad-option");
    ctl(&D, "opt dst 198.18.3.1 8080", out);
    assert_string_equal(out, "err missing-hex");
    ctl(&D, "opt dst nowhere 8080 1e04e000", out);
    assert_string_equal(out, "err bad-address");
    ctl(&D, "frobnicate", out);
    assert_string_equal(out, "err usage");
    ctl(&D, "stats", out);
    assert_non_null(strstr(out, "\"mode\":\"add\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_prefer_by_destination),
        cmocka_unit_test(add_ra_follows_joins_by_token),
        cmocka_unit_test(add_refuses_when_no_room),
        cmocka_unit_test(read_prefer_marks_connection_and_its_joins),
        cmocka_unit_test(read_prefer_join_fallback_by_destination),
        cmocka_unit_test(read_mpconvert_lookup),
        cmocka_unit_test(control_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
