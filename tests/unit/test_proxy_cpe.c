/* mpx-proxy CPE mode without sockets: --cpe entries and the CPE options (parse_args, checked
 * against each row's needs), one CPE family for every registry row, each family's first
 * flight decoded back by proto/ to the LAN client's destination, and the HAG's answers judged
 * as cpe.c will act on them (confirmed / next step / refused with the fallback reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "agents/proxy/cpe.h"
#include "proto/convert.h"
#include "proto/mpconvert.h"
#include "proto/mpopt.h"
#include "proto/socks5.h"

static struct config cf;

/* parse_args on "mpx-proxy WORDS" into a fresh cf (as test_proxy_args.c) */
static int run(const char *words)
{
    char buf[1024], *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", words);
    memset(&cf, 0, sizeof cf);
    argv[argc++] = (char *)"mpx-proxy";
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 63;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    return parse_args(argc, argv, &cf);
}

static void t_entries(void **s)
{
    (void)s;
    struct cpe_entry e;
    char why[160];
    assert_int_equal(cpe_parse_entry("9101=convert", &e, why, sizeof why), 0);
    assert_int_equal(e.port, 9101);
    assert_string_equal(e.sig->name, "convert");
    assert_int_equal(e.wait_ms, 5); /* the default W */
    assert_int_equal(cpe_parse_entry("9102=socks5-auth,wait=0", &e, why, sizeof why), 0);
    assert_int_equal(e.wait_ms, 0);
    assert_int_equal(cpe_parse_entry("9103=implicit-ra,wait=60000", &e, why, sizeof why), 0);
    assert_int_equal(e.wait_ms, 60000);
    const char *bad[] = { "9101",
                          "x=convert",
                          "0=convert",
                          "70000=convert",
                          "9101=nosuch",
                          "9101=convert,wait=x",
                          "9101=convert,wait=-1",
                          "9101=convert,wait=60001",
                          "9101=convert,foo=1",
                          "9101=",
                          " 9101=convert" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cpe_parse_entry(bad[i], &e, why, sizeof why), -1);
}

static void t_args(void **s)
{
    (void)s;
    assert_int_equal(
        run("--cpe 9101=convert --cpe 9102=tcp,wait=0 --hag 198.18.1.1 --allow 198.18.3.0/24"), -1);
    assert_int_equal(cf.n_cpe, 2);
    assert_int_equal(cf.hag4.family, MPX_AF_INET);
    assert_int_equal(cf.cpe[1].wait_ms, 0);
    /* CPE mode alone opens no front-end (the defaults stay off) */
    for (int i = 0; i < proxy_n_frontends; i++) assert_int_equal(cf.port[i], 0);
    assert_int_equal(run("--cpe 9101=convert --hag fd00::1 --hag 198.18.1.1 --cpe-timeout 500 "
                         "--cpe-fallback reset --no-syn-wscale0 --hag-port 6000"),
                     -1);
    assert_int_equal(cf.hag6.family, MPX_AF_INET6);
    assert_int_equal(cf.hag4.family, MPX_AF_INET);
    assert_int_equal(cf.cpe_timeout_ms, 500);
    assert_true(cf.cpe_fallback_reset);
    assert_true(cf.no_syn_wscale0);
    assert_int_equal(cf.hag_port, 6000);
    /* what a row needs: --hag (explicit), credentials (auth), mpx-optd (SYN marks) */
    assert_int_equal(run("--cpe 9101=convert"), 2);
    assert_int_equal(run("--cpe 9101=tcp --cpe 9102=implicit"), -1);
    assert_int_equal(run("--cpe 9101=socks5-auth --hag 198.18.1.1"), 2);
    assert_int_equal(run("--cpe 9101=socks5-auth --hag 198.18.1.1 --socks-user u --socks-pass p"),
                     -1);
    assert_int_equal(run("--cpe 9101=implicit-prefer"), 2);
    assert_int_equal(run("--cpe 9101=implicit-ra"), 2);
    assert_int_equal(run("--cpe 9101=implicit-ra --optd-ctl /run/optd.ctl"), -1);
    assert_int_equal(run("--cpe 9101=mpconvert-opt --hag 198.18.1.1 --optd-ctl /run/o.ctl"), -1);
    /* usage errors */
    assert_int_equal(run("--cpe 9101=tcp --cpe 9101=implicit"), 2); /* port twice */
    assert_int_equal(run("--cpe 9101=tcp --cpe-fallback maybe"), 2);
    assert_int_equal(run("--cpe 9101=convert --hag 198.18.1.1:5124"), 2); /* port: --hag-port */
    assert_int_equal(run("--cpe 9101=tcp --cpe-timeout 0"), 2);
    /* the HAG side */
    assert_int_equal(run("--convert 5124 --cpe-peer 198.18.1.0/24 --cpe-peer fd00:1::/64"), -1);
    assert_int_equal(cf.n_cpe_peer, 2);
    assert_int_equal(cf.n_cpe, 0);
}

/* every registry row can be a --cpe signal: its wire class has a family */
static void t_every_row(void **s)
{
    (void)s;
    size_t n;
    const mpx_signal *rows = mpx_signals(&n);
    for (size_t i = 0; i < n; i++) {
        const struct cpe_family *f = cpe_family_for(rows[i].wire);
        assert_non_null(f);
        /* a SYN-payload row has a first flight, a helper row an option, an app row a step
         * after the handshake */
        if (rows[i].where == MPX_SIG_IN_PAYLOAD) assert_non_null(f->first_flight);
        if (rows[i].helper == MPX_SIG_HELPER_TCPOPT) assert_non_null(f->syn_option);
        if (rows[i].where == MPX_SIG_IN_APP) assert_non_null(f->connected);
    }
}

static struct conn cn;
static struct cpe_conn cx;

static void setup_conn(const char *sig, const char *target)
{
    memset(&cn, 0, sizeof cn);
    memset(&cx, 0, sizeof cx);
    cn.cpe = &cx;
    assert_int_equal(mpx_addr_parse(target, &cn.target, 1), 0);
    cx.sig = mpx_signal_by_name(sig);
    assert_non_null(cx.sig);
    cx.fam = cpe_family_for(cx.sig->wire);
    assert_non_null(cx.fam);
    cx.reason = -1;
}

/* the HAG's answer bytes: returns what reply() said after reply_need() was satisfied */
static int answer(const uint8_t *p, size_t n)
{
    memcpy(cx.rin, p, n);
    cx.rin_len = 0;
    size_t need;
    /* grow the way cpe.c reads: never past the current need */
    while ((need = cx.fam->reply_need(&cn)) > cx.rin_len) {
        assert_true(need <= n);
        cx.rin_len = need;
    }
    assert_int_equal(need, n); /* the answer is read exactly: nothing of the relay's */
    int r = cx.fam->reply(&cn, need);
    cx.rin_len = 0;
    return r;
}

static void t_convert(void **s)
{
    (void)s;
    const char *sigs[] = { "convert", "convert-wait", "convert-cookie" };
    for (int k = 0; k < 3; k++) {
        setup_conn(sigs[k], "198.18.5.2:8103");
        uint8_t out[CPE_SIG_MAX];
        long n = cx.fam->first_flight(&cn, out, sizeof out);
        assert_true(n > 0);
        mpx_conv_msg m;
        mpx_err e;
        mpx_err_clear(&e);
        assert_int_equal(
            mpx_conv_decode(out, (size_t)n, MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CLIENT, &m, &e),
            MPX_DEC_OK);
        assert_true(m.has_connect);
        assert_true(mpx_addr_eq(&m.connect.addr, &cn.target));
        const uint8_t ok[] = { 0x01, 0x01, 0x22, 0x63 };
        assert_int_equal(answer(ok, sizeof ok), 1);
        uint8_t er[64];
        long en = mpx_conv_encode_error(32, NULL, 0, er, sizeof er, &e);
        assert_true(en > 4);
        assert_int_equal(answer(er, (size_t)en), -1);
        assert_int_equal(cx.reason, CR_CONVERT_ERROR);
        assert_non_null(strstr(cx.why, "32"));
        const uint8_t bad[] = { 0x01, 0x01, 0x22, 0x64 };
        assert_int_equal(answer(bad, sizeof bad), -1);
        assert_int_equal(cx.reason, CR_MALFORMED);
    }
}

/* a HAG that requires an RFC 8803 cookie: its Error 3 carries one, later Connects to it too */
static void t_cookie(void **s)
{
    (void)s;
    mpx_err e;
    mpx_err_clear(&e);
    uint8_t out[CPE_SIG_MAX], er[64];
    const uint8_t ck[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    mpx_conv_msg m;
    setup_conn("convert", "198.18.5.2:8103");
    assert_int_equal(mpx_addr_parse("198.18.1.1:5124", &cx.wan_dst, 1), 0);
    long n = cx.fam->first_flight(&cn, out, sizeof out);
    assert_int_equal(mpx_conv_decode(out, (size_t)n, MPX_CONV_F_COMPLETE, &m, &e), MPX_DEC_OK);
    assert_false(m.has_cookie);
    long en = mpx_conv_encode_error(MPX_CONV_E_MISSING_COOKIE, ck, sizeof ck, er, sizeof er, &e);
    assert_int_equal(answer(er, (size_t)en), -1);
    assert_int_equal(cx.reason, CR_CONVERT_ERROR);
    n = cx.fam->first_flight(&cn, out, sizeof out);
    assert_int_equal(mpx_conv_decode(out, (size_t)n, MPX_CONV_F_COMPLETE, &m, &e), MPX_DEC_OK);
    assert_true(m.has_cookie);
    assert_true(m.cookie_len >= sizeof ck);
    assert_memory_equal(m.cookie, ck, sizeof ck);
    assert_true(mpx_addr_eq(&m.connect.addr, &cn.target));
    /* another HAG gets none */
    assert_int_equal(mpx_addr_parse("198.18.2.1:5124", &cx.wan_dst, 1), 0);
    n = cx.fam->first_flight(&cn, out, sizeof out);
    assert_int_equal(mpx_conv_decode(out, (size_t)n, MPX_CONV_F_COMPLETE, &m, &e), MPX_DEC_OK);
    assert_false(m.has_cookie);
}

static void t_mpconvert(void **s)
{
    (void)s;
    uint8_t out[CPE_SIG_MAX];
    mpx_err e;
    mpx_err_clear(&e);
    mpx_mpconv_payload pl;
    setup_conn("mpconvert", "[fd00:6d70:78:5::2]:8106");
    long n = cx.fam->first_flight(&cn, out, sizeof out);
    assert_true(n > 0);
    assert_null(cx.fam->reply_need); /* no answer: the first WAN byte confirms */
    assert_int_equal(mpx_mpconv_decode_09(out, (size_t)n, MPX_MPCONV_F_COMPLETE, 0, &pl, &e),
                     MPX_DEC_OK);
    assert_true(mpx_addr_eq(&pl.inst[0].addr, &cn.target));
    assert_int_equal(pl.data_off, (size_t)n);
    setup_conn("mpconvert-ie", "198.18.5.2:8107");
    n = cx.fam->first_flight(&cn, out, sizeof out);
    assert_true(n > 0);
    assert_int_equal(mpx_mpconv_decode_ie(out, (size_t)n, MPX_MPCONV_F_COMPLETE, &pl, &e),
                     MPX_DEC_OK);
    assert_true(mpx_addr_eq(&pl.inst[0].addr, &cn.target));
    assert_int_equal(answer(out, (size_t)n), 1); /* the echo */
    out[n - 1] ^= 1;
    assert_int_equal(answer(out, (size_t)n), -1);
    assert_int_equal(cx.reason, CR_MALFORMED);
}

static void t_options(void **s)
{
    (void)s;
    uint8_t opt[40];
    mpx_err e;
    mpx_err_clear(&e);
    setup_conn("mpconvert-opt", "198.18.5.2:8108");
    long n = cx.fam->syn_option(&cn, opt, sizeof opt);
    assert_int_equal(n, 10); /* IPv4 + port */
    mpx_mpconvert mc;
    assert_int_equal(
        mpx_mpconvert_decode(opt, (size_t)n, MPX_MPOPT_SUBTYPE_DEFAULT, MPX_MPCONV_L09, &mc, &e),
        0);
    assert_int_equal(mc.port, 8108);
    assert_memory_equal(mc.addr, cn.target.a, 4);
    setup_conn("implicit-prefer", "198.18.5.2:8110");
    n = cx.fam->syn_option(&cn, opt, sizeof opt);
    assert_int_equal(n, 4);
    mpx_prefer_proxy pp;
    assert_int_equal(mpx_prefer_proxy_decode(opt, (size_t)n, MPX_MPOPT_SUBTYPE_DEFAULT, &pp, &e),
                     0);
    setup_conn("implicit", "198.18.5.2:8109");
    assert_int_equal(cx.fam->syn_option(&cn, opt, sizeof opt), 0); /* no mark */
    assert_null(cx.fam->first_flight);
}

static void t_socks(void **s)
{
    (void)s;
    mpx_err e;
    mpx_err_clear(&e);
    uint8_t want[600];
    snprintf(cfg.socks_user, sizeof cfg.socks_user, "mpx");
    snprintf(cfg.socks_pass, sizeof cfg.socks_pass, "secret");
    const uint8_t choice_no[] = { 5, 0 }, choice_up[] = { 5, 2 }, choice_ff[] = { 5, 0xff };
    const uint8_t auth_ok[] = { 1, 0 }, auth_bad[] = { 1, 1 };
    const uint8_t rep_ok[] = { 5, 0, 0, 1, 198, 18, 5, 1, 0x9c, 0x40 };
    const uint8_t rep_refused[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 };
    const uint8_t rep_v6[] = {
        5, 0, 0, 4, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80
    };

    setup_conn("socks5", "198.18.5.2:8101");
    cx.fam->connected(&cn);
    assert_int_equal(cx.sig_len, 3);
    assert_memory_equal(cx.sig_out, "\x05\x01\x00", 3);
    cx.sig_off = cx.sig_len; /* sent */
    assert_int_equal(answer(choice_no, 2), 0);
    long n = mpx_s5_encode_connect(&cn.target, want, sizeof want, &e);
    assert_int_equal(cx.sig_len, (size_t)n);
    assert_memory_equal(cx.sig_out, want, (size_t)n);
    assert_int_equal(answer(rep_ok, sizeof rep_ok), 1);

    setup_conn("socks5", "198.18.5.2:8101");
    cx.fam->connected(&cn);
    assert_int_equal(answer(choice_no, 2), 0);
    assert_int_equal(answer(rep_v6, sizeof rep_v6), 1); /* a v6 BND.ADDR is read whole */
    setup_conn("socks5", "198.18.5.2:8101");
    cx.fam->connected(&cn);
    assert_int_equal(answer(choice_no, 2), 0);
    assert_int_equal(answer(rep_refused, sizeof rep_refused), -1);
    assert_int_equal(cx.reason, CR_SOCKS_REP);
    setup_conn("socks5", "198.18.5.2:8101");
    cx.fam->connected(&cn);
    assert_int_equal(answer(choice_ff, 2), -1); /* the HAG's ACL refusal: 05 ff */
    assert_int_equal(cx.reason, CR_SOCKS_REP);

    setup_conn("socks5-auth", "198.18.5.2:8102");
    cx.fam->connected(&cn);
    assert_memory_equal(cx.sig_out, "\x05\x01\x02", 3);
    cx.sig_off = cx.sig_len;
    assert_int_equal(answer(choice_up, 2), 0);
    n = mpx_s5_encode_auth("mpx", "secret", want, sizeof want, &e);
    assert_int_equal(cx.sig_len - cx.sig_off, (size_t)n);
    assert_memory_equal(cx.sig_out + cx.sig_off, want, (size_t)n);
    cx.sig_off = cx.sig_len;
    assert_int_equal(answer(auth_ok, 2), 0);
    assert_int_equal(answer(rep_ok, sizeof rep_ok), 1);
    setup_conn("socks5-auth", "198.18.5.2:8102");
    cx.fam->connected(&cn);
    assert_int_equal(answer(choice_no, 2), -1); /* a proxy that skips authentication */
    setup_conn("socks5-auth", "198.18.5.2:8102");
    cx.fam->connected(&cn);
    assert_int_equal(answer(choice_up, 2), 0);
    assert_int_equal(answer(auth_bad, 2), -1);
    assert_int_equal(cx.reason, CR_SOCKS_REP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_entries), cmocka_unit_test(t_args),   cmocka_unit_test(t_every_row),
        cmocka_unit_test(t_convert), cmocka_unit_test(t_cookie), cmocka_unit_test(t_mpconvert),
        cmocka_unit_test(t_options), cmocka_unit_test(t_socks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
