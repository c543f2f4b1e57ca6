/* mpx-proxy front ends driven through the real connection code over a socketpair (no
 * network): the exact bytes the proxy answers for malformed / unknown / version / option /
 * Info / cookie Convert messages and for refused SOCKS5 requests, and that it then shuts
 * its write side (EOF, not a reset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"
#include "agents/proxy/loop.h"
#include "proto/buf.h"

/* The table index of front-end `name` (the registry's front-end names). */
static int fe_idx(const char *name)
{
    int i = proxy_frontend_find(name);
    assert_true(i >= 0);
    return i;
}

/* Sends hex `req` (then EOF) to a fresh connection of front-end `fe`, returns the reply as hex. */
static void exchange(const char *fe, const char *req, char *out_hex, size_t cap)
{
    int sp[2];
    uint8_t b[1200];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    long n = mpx_hex_parse(req, b, sizeof b);
    assert_true(n > 0);
    assert_int_equal(write(sp[1], b, (size_t)n), n);
    shutdown(sp[1], SHUT_WR);
    mpx_addr client = mpx_addr_v4(0xc6120101u, 40000), local = mpx_addr_v4(0xc61201feu, 5124);
    struct conn *c = conn_new(fe_idx(fe), sp[0], &client, &local);
    assert_non_null(c);
    conn_on_client(c, EPOLLIN);
    assert_true(c->closing);               /* answered, drained to EOF, closed */
    conn_reap();
    ssize_t r = read(sp[1], b, sizeof b);
    assert_true(r >= 0);
    assert_true((size_t)r * 2 + 1 <= cap);
    mpx_hex_format(b, (size_t)r, out_hex);
    assert_int_equal(read(sp[1], b, sizeof b), 0);  /* then EOF (write side shut) */
    close(sp[1]);
}

static int setup(void **s)
{
    (void)s;
    assert_int_equal(loop_init(), 0);
    cfg.stall_guard = true;   /* AF_UNIX: MPTCP_INFO fails -> treated as not MPTCP */
    cfg.linger_ms = 100;
    static const uint8_t key[16] = { 1 };
    memcpy(cfg.cookie_key, key, sizeof key);
    cfg.cookie_key_len = 16;
    cfg.cookie_len = 8;
    return 0;
}

#define CONNECT_V4 "0a051f90" "00000000000000000000ffff" "c6120301"   /* 198.18.3.1:8080 */

static void t_convert_malformed_echo(void **s)
{
    (void)s;
    char h[2500];
    const char *bad = "01062263" "0a090050" "00000000000000000000ffff" "c6120301";
    exchange("convert", bad, h, sizeof h);
    char want[200];
    snprintf(want, sizeof want, "01082263" "1e070100" "%s", bad);
    assert_string_equal(h, want);
}

static void t_convert_unknown_tlv(void **s)
{
    (void)s;
    char h[2500];
    exchange("convert", "0102226363010000", h, sizeof h);
    assert_string_equal(h, "010422631e0302000102226363010000");
}

static void t_convert_bad_version(void **s)
{
    (void)s;
    char h[2500];
    exchange("convert", "02062263" CONNECT_V4, h, sizeof h);
    assert_string_equal(h, "010222631e010001");
}

static void t_convert_unsupported_option(void **s)
{
    (void)s;
    char h[2500];
    exchange("convert", "01072263" "0a061f90" "00000000000000000000ffff" "c6120301" "22020000", h, sizeof h);
    assert_string_equal(h, "010222631e012122");
}

static void t_convert_info(void **s)
{
    (void)s;
    char h[2500];
    exchange("convert", "0102226301010000", h, sizeof h);
    assert_string_equal(h, "010322631502000004081e00");
}

static void t_convert_loopback_is_malformed(void **s)
{
    (void)s;
    char h[2500];
    const char *lo = "01062263" "0a051f90" "00000000000000000000ffff" "7f000001";
    exchange("convert", lo, h, sizeof h);
    assert_memory_equal(h, "010822631e070100", 16);   /* RFC 8803 s6.2.5: Malformed + echo */
}

static void t_convert_cookie(void **s)
{
    (void)s;
    char h[2500], want[100], ck[40], req[300];
    uint8_t cookie[16];
    cfg.cookie_required = true;
    exchange("convert", "01062263" CONNECT_V4, h, sizeof h);
    mpx_addr client = mpx_addr_v4(0xc6120101u, 0);
    cookie_make(&client, cookie);
    mpx_hex_format(cookie, 8, ck);
    snprintf(want, sizeof want, "01042263" "1e030300" "%s", ck);
    assert_string_equal(h, want);
    /* a forged cookie: Not Authorized */
    snprintf(req, sizeof req, "01092263" CONNECT_V4 "16030000" "%s", "0011223344556677");
    exchange("convert", req, h, sizeof h);
    assert_string_equal(h, "010222631e012000");
    cfg.cookie_required = false;
}

static void t_convert_deny_target(void **s)
{
    (void)s;
    char h[2500];
    assert_int_equal(prefix_parse("198.18.3.0/24", &cfg.deny[0]), 0);
    cfg.n_deny = 1;
    exchange("convert", "01062263" CONNECT_V4, h, sizeof h);
    assert_string_equal(h, "010222631e012000");
    cfg.n_deny = 0;
}

static void t_socks_no_method(void **s)
{
    (void)s;
    char h[200];
    exchange("socks5", "050101", h, sizeof h);          /* only GSSAPI offered */
    assert_string_equal(h, "05ff");
}

static void t_socks_bind_unsupported(void **s)
{
    (void)s;
    char h[200];
    exchange("socks5", "050100" "05020001c61203011f90", h, sizeof h);
    assert_string_equal(h, "0500" "05070001000000000000");
}

static void t_socks_loopback_refused(void **s)
{
    (void)s;
    char h[200];
    exchange("socks5", "050100" "050100017f0000011f90", h, sizeof h);
    assert_string_equal(h, "0500" "05020001000000000000");
}

static void t_mpconvert_malformed_reset(void **s)
{
    (void)s;
    int sp[2];
    uint8_t b[64];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    /* kind 30, length 3: not a valid MP_CONVERT */
    assert_int_equal(write(sp[1], "\x1e\x03\xe0\x06\x00", 5), 5);
    mpx_addr client = mpx_addr_v4(0xc6120101u, 40000), local = mpx_addr_v4(0xc61201feu, 5125);
    struct conn *c = conn_new(fe_idx("mpconvert"), sp[0], &client, &local);
    conn_on_client(c, EPOLLIN);
    assert_true(c->closing);               /* no error message in plain mode: torn down */
    conn_reap();
    assert_int_equal(read(sp[1], b, sizeof b), 0);
    close(sp[1]);
}

/* The Convert message may arrive in pieces (SYN data cut short, or sent after the
 * handshake): nothing is answered until Total Length bytes are in. */
static void t_convert_split_arrival(void **s)
{
    (void)s;
    int sp[2];
    uint8_t b[256];
    char h[600];
    const char *unk = "0103226363020000" "00000000";  /* unknown TLV 0x63, Total Length 3 */
    long n = mpx_hex_parse(unk, b, sizeof b);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    mpx_addr client = mpx_addr_v4(0xc6120101u, 40000), local = mpx_addr_v4(0xc61201feu, 5124);
    assert_int_equal(write(sp[1], b, 3), 3);               /* not even the fixed header */
    struct conn *c = conn_new(fe_idx("convert"), sp[0], &client, &local);
    conn_on_client(c, EPOLLIN);
    assert_false(c->closing);
    assert_int_equal(c->state, CS_HEADER);
    assert_int_equal(read(sp[1], h, sizeof h), -1);        /* nothing answered yet */
    assert_int_equal(write(sp[1], b + 3, 6), 6);           /* header + part of the TLV */
    conn_on_client(c, EPOLLIN);
    assert_false(c->closing);
    assert_int_equal(read(sp[1], h, sizeof h), -1);
    assert_int_equal(write(sp[1], b + 9, (size_t)n - 9), n - 9);
    shutdown(sp[1], SHUT_WR);
    conn_on_client(c, EPOLLIN);
    assert_true(c->closing);
    conn_reap();
    ssize_t r = read(sp[1], b, sizeof b);
    assert_int_equal(r, 20);
    mpx_hex_format(b, (size_t)r, h);
    assert_string_equal(h, "010522631e040200" "0103226363020000" "00000000");
    close(sp[1]);
}

static void t_counters(void **s)
{
    (void)s;
    assert_true(st.convert_err[1] >= 2);
    assert_int_equal(st.convert_err[2], 2);
    assert_int_equal(st.convert_err[0], 1);
    assert_int_equal(st.convert_err[33], 1);
    assert_int_equal(st.convert_err[3], 1);
    assert_int_equal(st.convert_err[32], 2);
    assert_int_equal(st.cookies_issued, 1);
    assert_int_equal(st.cookies_bad, 1);
    assert_int_equal(st.socks_rep[7] + st.socks_rep[2], 2);
    assert_int_equal(st.active, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_convert_malformed_echo),
        cmocka_unit_test(t_convert_unknown_tlv),
        cmocka_unit_test(t_convert_bad_version),
        cmocka_unit_test(t_convert_unsupported_option),
        cmocka_unit_test(t_convert_info),
        cmocka_unit_test(t_convert_loopback_is_malformed),
        cmocka_unit_test(t_convert_cookie),
        cmocka_unit_test(t_convert_deny_target),
        cmocka_unit_test(t_socks_no_method),
        cmocka_unit_test(t_socks_bind_unsupported),
        cmocka_unit_test(t_socks_loopback_refused),
        cmocka_unit_test(t_mpconvert_malformed_reset),
        cmocka_unit_test(t_convert_split_arrival),
        cmocka_unit_test(t_counters),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
