/* Option-space calculator: every row of protocols.md 5.2, Linux's drops (5.3), the emitted
 * layout byte for byte (compared with the SYN of tcpdump's mptcp-v1 capture), the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/budget.h"
#include "proto/tcpopt.h"

static void compute(mpx_budget_seg seg, const char *spec, mpx_budget *b)
{
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_budget_from_spec(seg, spec, b, &e) != 0) fail_msg("%s: %s %s", spec, e.rule, e.msg);
}

static const mpx_budget_line *line(const mpx_budget *b, const char *name)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->line[i].name, name) == 0) return &b->line[i];
    fail_msg("no line %s", name);
    return NULL;
}

/* Emits the layout, checks it is `total` bytes, walks cleanly and passes the checker. */
static void emit_ok(const mpx_budget *b, uint8_t *out)
{
    mpx_wr w = mpx_wr_init(out, 64);
    assert_int_equal(mpx_budget_emit(b, &w), 0);
    assert_int_equal(w.len, b->total);
    mpx_tcpopts o;
    assert_int_equal(mpx_tcpopt_walk(out, w.len, &o), 0);
    mpx_viols vs;
    mpx_viols_clear(&vs);
    uint8_t fl = b->seg == MPX_SEG_SYN ? MPX_TH_SYN : MPX_TH_SYN | MPX_TH_ACK;
    size_t k = mpx_tcpopt_check(out, w.len, fl, &vs);
    for (size_t i = 0; i < vs.n; i++) print_message("  %s %s\n", vs.v[i].rule, vs.v[i].msg);
    assert_int_equal(k, 0);
}

/* protocols.md 5.2, one row per entry: requested bytes, fits, what Linux emits. */
static void test_table_5_2(void **st)
{
    static const struct {
        mpx_budget_seg seg;
        const char *spec;
        unsigned requested;
        bool fits;
        unsigned total;       /* after Linux's drops */
        const char *dropped;  /* item Linux drops, or NULL */
        const char *reason;
    } rows[] = {
        { MPX_SEG_SYN, "base,mpc", 24, true, 24, NULL, NULL },
        { MPX_SEG_SYN, "base,tfo:0,mpc", 28, true, 28, NULL, NULL },
        { MPX_SEG_SYN, "mss,sackperm,ts,ws,tfo:8,mpc", 36, true, 36, NULL, NULL },
        { MPX_SEG_SYN, "base,tfo:8,mpc,prefer", 40, true, 40, NULL, NULL },
        { MPX_SEG_SYN, "base,tfo:16,mpc", 44, false, 40, "mpc", "no-room" },
        { MPX_SEG_SYN, "base,tfo:8,mpc-v0", 44, false, 32, "mpc-v0", "no-room" },
        { MPX_SEG_SYN, "base,mpc,mpconvert:v4+port", 36, true, 36, NULL, NULL },
        { MPX_SEG_SYN, "base,mpc,mpconvert:v4+port,tfo:8", 48, false, 36, "mpconvert:v4+port", "no-room" },
        { MPX_SEG_SYN, "base,mpc,mpconvert:v6+port", 48, false, 24, "mpconvert:v6+port", "no-room" },
        { MPX_SEG_SYN, "mss,sackperm,ws,mpc,mpconvert:v6+port", 40, true, 40, NULL, NULL },
        { MPX_SEG_SYNACK, "base,mpc,tfo:8", 44, false, 36, "ts", "mptcp-listener-tfo-cookie" },
        /* the classic example: 36 fits; adding mpconvert:v6+port does not */
        { MPX_SEG_SYN, "mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v6+port", 60, false, 36, "mpconvert:v6+port", "no-room" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mpx_budget b;
        compute(rows[i].seg, rows[i].spec, &b);
        if (b.requested != rows[i].requested || b.fits != rows[i].fits || b.total != rows[i].total)
            fail_msg("row %zu %s: requested %u fits %d total %u", i, rows[i].spec, b.requested, b.fits, b.total);
        assert_int_equal(b.left, 40 - b.total);
        assert_int_equal(b.ndropped, rows[i].dropped ? 1 : 0);
        if (rows[i].dropped) {
            const mpx_budget_line *l = line(&b, rows[i].dropped);
            assert_true(l->dropped);
            assert_string_equal(l->drop_reason, rows[i].reason);
        }
        uint8_t out[64];
        emit_ok(&b, out);
    }
}

static void test_per_item_bytes(void **st)
{
    mpx_budget b;
    compute(MPX_SEG_SYN, "mss,sackperm,ts,ws", &b);
    assert_int_equal(line(&b, "mss")->bytes, 4);
    assert_int_equal(line(&b, "sackperm")->bytes, 0);   /* rides in the TS NOP slot */
    assert_int_equal(line(&b, "sackperm")->raw, 2);
    assert_int_equal(line(&b, "ts")->bytes, 12);
    assert_int_equal(line(&b, "ts")->raw, 10);
    assert_int_equal(line(&b, "ws")->bytes, 4);
    assert_int_equal(line(&b, "ws")->raw, 3);
    assert_int_equal(b.total, 20);
    compute(MPX_SEG_SYN, "mss,sackperm,ws", &b);
    assert_int_equal(line(&b, "sackperm")->bytes, 4);
    assert_int_equal(b.total, 12);
    compute(MPX_SEG_SYN, "ts", &b);
    assert_int_equal(b.total, 12);
    /* TFO (2+n+3)&~3: request 4, 4 -> 8, 8 -> 12, 16 -> 20; experimental (4+n+3)&~3 */
    static const struct { const char *s; unsigned raw, bytes; } t[] = {
        { "tfo:0", 2, 4 }, { "tfo:4", 6, 8 }, { "tfo:6", 8, 8 }, { "tfo:8", 10, 12 }, { "tfo:16", 18, 20 },
        { "tfo-exp:0", 4, 4 }, { "tfo-exp:6", 10, 12 }, { "tfo-exp:8", 12, 12 }, { "tfo-exp:16", 20, 20 },
        { "md5", 18, 20 }, { "mpc", 4, 4 }, { "mpc-v0", 12, 12 }, { "mpj", 12, 12 }, { "prefer", 4, 4 },
        { "mpconvert:none", 4, 4 }, { "mpconvert:v4", 8, 8 }, { "mpconvert:v4+port", 10, 12 },
        { "mpconvert:v6", 20, 20 }, { "mpconvert:v6+port", 22, 24 }, { "exp253:2", 6, 8 },
        { "raw:5", 5, 8 }, { "raw:8", 8, 8 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char spec[40];
        snprintf(spec, sizeof spec, "%s%s", strncmp(t[i].s, "mpconvert", 9) && strcmp(t[i].s, "prefer") ? "" : "mpc,", t[i].s);
        compute(MPX_SEG_SYN, spec, &b);
        const mpx_budget_line *l = line(&b, t[i].s);
        if (l->raw != t[i].raw || l->bytes != t[i].bytes)
            fail_msg("%s: raw %u bytes %u", t[i].s, l->raw, l->bytes);
    }
    /* SYN/ACK sizes of the MPTCP handshake options */
    compute(MPX_SEG_SYNACK, "mpc", &b);
    assert_int_equal(b.total, 12);
    compute(MPX_SEG_SYNACK, "mpj", &b);
    assert_int_equal(b.total, 16);
    compute(MPX_SEG_SYNACK, "mpc-v0", &b);
    assert_int_equal(b.total, 12);
}

static void test_linux_drops(void **st)
{
    mpx_budget b;
    uint8_t out[64];
    /* MD5 in a SYN: no timestamps, no MPTCP; SACKPERM then needs its own 4 */
    compute(MPX_SEG_SYN, "md5,base,mpc", &b);
    assert_true(line(&b, "ts")->dropped);
    assert_string_equal(line(&b, "ts")->drop_reason, "md5");
    assert_true(line(&b, "mpc")->dropped);
    assert_int_equal(line(&b, "sackperm")->bytes, 4);
    assert_int_equal(b.total, 20 + 4 + 4 + 4);
    emit_ok(&b, out);
    /* MD5 on a SYN/ACK drops TS only when SACK is on */
    compute(MPX_SEG_SYNACK, "md5,mss,ts,ws", &b);
    assert_int_equal(b.ndropped, 0);
    assert_int_equal(b.total, 40);
    compute(MPX_SEG_SYNACK, "md5,base", &b);
    assert_string_equal(line(&b, "ts")->drop_reason, "md5+sack");
    assert_int_equal(b.total, 32);
    /* the MPTCP listener clears TS whenever it sends a cookie, even if it would fit */
    compute(MPX_SEG_SYNACK, "mss,ts,mpc,tfo:4", &b);
    assert_true(b.fits);
    assert_true(line(&b, "ts")->dropped);
    assert_int_equal(b.total, 4 + 12 + 8);
    /* a plain TCP listener keeps TS and sends the cookie */
    compute(MPX_SEG_SYNACK, "base,tfo:8", &b);
    assert_int_equal(b.ndropped, 0);
    assert_int_equal(b.total, 32);
    /* TFO is dropped before MPTCP when it does not fit */
    compute(MPX_SEG_SYN, "md5,mss,ws,tfo:16", &b);
    assert_true(line(&b, "tfo:16")->dropped);
    assert_int_equal(b.total, 28);
    /* MP_CONVERT / MP_PREFER_PROXY need MP_CAPABLE */
    compute(MPX_SEG_SYN, "base,tfo:16,mpc,prefer", &b);
    assert_true(line(&b, "mpc")->dropped);
    assert_string_equal(line(&b, "prefer")->drop_reason, "needs-mpc");
    compute(MPX_SEG_SYN, "base,prefer", &b);
    assert_string_equal(line(&b, "prefer")->drop_reason, "needs-mpc");
    /* extras are kept while they fit, in order */
    compute(MPX_SEG_SYN, "base,exp253:4,raw:8,raw:8", &b);
    assert_false(b.fits);
    assert_int_equal(b.total, 36);
    assert_true(b.line[b.n - 1].dropped);
}

static void test_emit_bytes(void **st)
{
    mpx_budget b;
    uint8_t out[64], want[64];
    /* same layout as the SYN of tcpdump's mptcp-v1.pcap (values differ: TS, WS) */
    compute(MPX_SEG_SYN, "mss,sackperm,ts,ws,mpc", &b);
    mpx_wr w = mpx_wr_init(out, sizeof out);
    assert_int_equal(mpx_budget_emit(&b, &w), 0);
    long n = mpx_hex_parse("020405b4 0402080a 00000001 00000000 01030307 1e040101", want, sizeof want);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, want, (size_t)n);
    /* SYN/ACK of an MPTCP listener with a TFO cookie: TS gone, SACKPERM alone */
    compute(MPX_SEG_SYNACK, "base,mpc,tfo:8", &b);
    w = mpx_wr_init(out, sizeof out);
    assert_int_equal(mpx_budget_emit(&b, &w), 0);
    n = mpx_hex_parse("020405b4 01010402 01030307 220ac0c1c2c3c4c5c6c7 0101 1e0c0101 0102030405060708",
                      want, sizeof want);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, want, (size_t)n);
    /* experimental TFO request without TS: NOP NOP SACKPERM */
    compute(MPX_SEG_SYN, "mss,sackperm,tfo-exp:0", &b);
    w = mpx_wr_init(out, sizeof out);
    assert_int_equal(mpx_budget_emit(&b, &w), 0);
    n = mpx_hex_parse("020405b4 01010402 fe04f989", want, sizeof want);
    assert_memory_equal(out, want, (size_t)n);
    /* MP_CONVERT after MP_CAPABLE, NOP-padded */
    compute(MPX_SEG_SYN, "mss,sackperm,ws,mpc,mpconvert:v6+port", &b);
    w = mpx_wr_init(out, sizeof out);
    assert_int_equal(mpx_budget_emit(&b, &w), 0);
    n = mpx_hex_parse("020405b4 01010402 01030307 1e040101 1e16e00620010db8000000000000000000000001 0050 0101",
                      want, sizeof want);
    assert_int_equal(w.len, 40);
    assert_memory_equal(out, want, (size_t)n);
    /* too small a buffer */
    w = mpx_wr_init(out, 10);
    assert_int_equal(mpx_budget_emit(&b, &w), -1);
}

static void test_parse(void **st)
{
    mpx_budget_item it[MPX_BUDGET_MAX_ITEMS];
    size_t n;
    mpx_err e;
    mpx_err_clear(&e);
    assert_int_equal(mpx_budget_parse(" MSS, sackOK ,ts,wscale,TFO:8,mpc,mpconvert:V6+Port ", it, 16, &n, &e), 0);
    assert_int_equal(n, 7);
    assert_int_equal(it[1].kind, MPX_BI_SACKPERM);
    assert_int_equal(it[4].kind, MPX_BI_TFO);
    assert_int_equal(it[4].n, 8);
    assert_int_equal(it[6].kind, MPX_BI_MPCONVERT);
    assert_int_equal(it[6].n, MPX_MPCV_V6_PORT);
    char nm[24];
    mpx_budget_item_name(&it[6], nm, sizeof nm);
    assert_string_equal(nm, "mpconvert:v6+port");
    assert_int_equal(mpx_budget_parse("base,tfo", it, 16, &n, &e), 0);
    assert_int_equal(n, 5);
    assert_int_equal(it[4].n, 0);
    assert_int_equal(mpx_budget_parse("", it, 16, &n, &e), 0);
    assert_int_equal(n, 0);
    static const struct { const char *spec; const char *rule; } bad[] = {
        { "mss,foo", "BUDGET-PARSE" }, { "tfo:3", "BUDGET-PARSE" }, { "tfo:2", "BUDGET-PARSE" },
        { "tfo:18", "BUDGET-PARSE" }, { "tfo:x", "BUDGET-PARSE" }, { "tfo:", "BUDGET-PARSE" },
        { "mpconvert:v5", "BUDGET-PARSE" }, { "raw:0", "BUDGET-PARSE" }, { "exp253:99999", "BUDGET-PARSE" },
        { "base,base,base,base,base", "BUDGET-TOO-MANY" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpx_err_clear(&e);
        assert_int_equal(mpx_budget_parse(bad[i].spec, it, 16, &n, &e), -1);
        if (strcmp(e.rule, bad[i].rule)) fail_msg("%s: %s", bad[i].spec, e.rule);
    }
    mpx_budget b;
    static const char *const dup[] = { "mss,mss", "mpc,mpj", "tfo:8,tfo-exp:8", "mpc,mpc-v0" };
    for (size_t i = 0; i < 4; i++) {
        mpx_err_clear(&e);
        assert_int_equal(mpx_budget_from_spec(MPX_SEG_SYN, dup[i], &b, &e), -1);
        assert_string_equal(e.rule, "BUDGET-DUP");
    }
    /* the error offset points at the bad item */
    mpx_err_clear(&e);
    mpx_budget_parse("mss,ts,bogus", it, 16, &n, &e);
    assert_int_equal(e.off, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_5_2),
        cmocka_unit_test(test_per_item_bytes),
        cmocka_unit_test(test_linux_drops),
        cmocka_unit_test(test_emit_bytes),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
