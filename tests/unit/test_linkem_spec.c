/* mpx-linkem SPEC and schedule parsing: units, defaults, errors, merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "emu/linkem/sched.h"
#include "emu/linkem/spec.h"

static void parse_ok(const char *s, struct lk_params *p)
{
    char err[256] = "";
    lk_params_default(p);
    if (lk_spec_parse(s, p, err, sizeof(err))) fail_msg("'%s' rejected: %s", s, err);
}

static void parse_bad(const char *s, const char *want_in_err)
{
    char err[256] = "";
    struct lk_params p;
    lk_params_default(&p);
    if (lk_spec_parse(s, &p, err, sizeof(err)) == 0) fail_msg("'%s' accepted", s);
    if (want_in_err && !strstr(err, want_in_err))
        fail_msg("'%s': error '%s' lacks '%s'", s, err, want_in_err);
}

static void test_full_spec(void **st)
{
    (void)st;
    struct lk_params p;
    parse_ok("rate=20mbit delay=10ms jitter=1ms reorder=1 loss=0.1% queue=100p seed=42", &p);
    assert_int_equal(p.rate_bps, 20000000);
    assert_int_equal(p.delay_ns, 10000000);
    assert_int_equal(p.jitter_ns, 1000000);
    assert_true(p.reorder);
    assert_int_equal(p.loss_kind, LK_LOSS_BERNOULLI);
    assert_true(p.loss > 0.000999 && p.loss < 0.001001);
    assert_int_equal(p.queue_pkts, 100);
    assert_int_equal(p.queue_bytes, 0);
    assert_int_equal(p.seed, 42);
    assert_string_equal(p.trace, "");
}

static void test_defaults(void **st)
{
    (void)st;
    struct lk_params p;
    parse_ok("", &p);
    assert_int_equal(p.rate_bps, 0);
    assert_int_equal(p.delay_ns, 0);
    assert_int_equal(p.queue_pkts, LK_DEFAULT_QUEUE_PKTS);
    assert_int_equal(p.loss_kind, LK_LOSS_NONE);
    assert_false(p.reorder);
    parse_ok("   delay=1ms   ", &p);
    assert_int_equal(p.delay_ns, 1000000);
}

static void test_units(void **st)
{
    (void)st;
    uint64_t v;
    double d;
    uint64_t pk, by;
    assert_int_equal(lk_parse_rate_bps("1.5mbit", &v), 0);
    assert_int_equal(v, 1500000);
    assert_int_equal(lk_parse_rate_bps("1gbit", &v), 0);
    assert_int_equal(v, 1000000000);
    assert_int_equal(lk_parse_rate_bps("64kbit", &v), 0);
    assert_int_equal(v, 64000);
    assert_int_equal(lk_parse_rate_bps("9600bit", &v), 0);
    assert_int_equal(v, 9600);
    assert_int_equal(lk_parse_rate_bps("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(lk_parse_rate_bps("10MBit", &v), 0); /* units are case-insensitive */
    assert_int_equal(v, 10000000);
    assert_int_equal(lk_parse_time_ns("250us", &v), 0);
    assert_int_equal(v, 250000);
    assert_int_equal(lk_parse_time_ns("1.5s", &v), 0);
    assert_int_equal(v, 1500000000);
    assert_int_equal(lk_parse_time_ns("0.5ms", &v), 0);
    assert_int_equal(v, 500000);
    assert_int_equal(lk_parse_time_ns("7ns", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(lk_parse_percent("100%", &d, true), 0);
    assert_true(d == 1.0);
    assert_int_equal(lk_parse_percent("2.5", &d, false), 0);
    assert_true(d > 0.02499 && d < 0.02501);
    assert_int_equal(lk_parse_queue("64kb", &pk, &by), 0);
    assert_int_equal(by, 65536);
    assert_int_equal(pk, 0);
    assert_int_equal(lk_parse_queue("1500b", &pk, &by), 0);
    assert_int_equal(by, 1500);
    assert_int_equal(lk_parse_queue("1mb", &pk, &by), 0);
    assert_int_equal(by, 1048576);
    assert_int_equal(lk_parse_queue("30p", &pk, &by), 0);
    assert_int_equal(pk, 30);
    assert_int_equal(by, 0);
    /* rejected */
    assert_int_equal(lk_parse_rate_bps("20", &v), -1);     /* no unit */
    assert_int_equal(lk_parse_rate_bps("20mbps", &v), -1); /* bytes/s is ambiguous */
    assert_int_equal(lk_parse_rate_bps("-1mbit", &v), -1);
    assert_int_equal(lk_parse_rate_bps("0.1bit", &v), -1);
    assert_int_equal(lk_parse_time_ns("10", &v), -1);
    assert_int_equal(lk_parse_time_ns("10 ms", &v), -1);
    assert_int_equal(lk_parse_time_ns("ms", &v), -1);
    assert_int_equal(lk_parse_time_ns("nanms", &v), -1);
    assert_int_equal(lk_parse_time_ns("1e400s", &v), -1);
    assert_int_equal(lk_parse_percent("0.1", &d, true), -1); /* loss= needs its % */
    assert_int_equal(lk_parse_percent("101%", &d, true), -1);
    assert_int_equal(lk_parse_queue("1.5p", &pk, &by), -1);
    assert_int_equal(lk_parse_queue("100", &pk, &by), -1);
    assert_int_equal(lk_parse_queue("100pk", &pk, &by), -1);
}

static void test_ge(void **st)
{
    (void)st;
    struct lk_params p;
    parse_ok("ge=1%/10%/0%/50%", &p);
    assert_int_equal(p.loss_kind, LK_LOSS_GE);
    assert_true(p.ge_p > 0.0099 && p.ge_p < 0.0101);
    assert_true(p.ge_r > 0.099 && p.ge_r < 0.101);
    assert_true(p.ge_lg == 0.0);
    assert_true(p.ge_lb > 0.499 && p.ge_lb < 0.501);
    parse_ok("ge=1/10/0/100", &p); /* bare numbers are percentages too */
    assert_true(p.ge_lb == 1.0);
    parse_bad("ge=1%/10%/0%", "ge=");
    parse_bad("ge=1%/10%/0%/50%/1%", "ge=");
    parse_bad("ge=1%/x/0%/50%", "ge=");
    parse_bad("ge=1%/10%/0%/150%", "ge=");
}

static void test_errors(void **st)
{
    (void)st;
    parse_bad("delay=10", "delay=10");
    parse_bad("rate=20", "rate=20");
    parse_bad("bogus=1", "unknown key 'bogus'");
    parse_bad("delay", "key=value");
    parse_bad("=5ms", "key=value");
    parse_bad("loss=1", "loss=1");
    parse_bad("reorder=yes", "reorder");
    parse_bad("seed=-3", "seed");
    parse_bad("seed=12abc", "seed");
    parse_bad("rate=1mbit trace=/x", "exclude");
    parse_bad("loss=1% ge=1/2/3/4", "exclude");
    parse_bad("queue=10", "queue");
    parse_bad("trace=", "trace");
}

static void test_trace_and_merge(void **st)
{
    (void)st;
    struct lk_params p, u;
    char err[128];
    parse_ok("trace=/tmp/x.trace delay=5ms loss=1%", &p);
    assert_string_equal(p.trace, "/tmp/x.trace");
    assert_int_equal(p.rate_bps, 0);
    memset(&u, 0, sizeof(u));
    assert_int_equal(lk_spec_parse("rate=2mbit ge=1/2/0/50", &u, err, sizeof(err)), 0);
    lk_params_merge(&p, &u);
    assert_string_equal(p.trace, ""); /* rate replaces the trace */
    assert_int_equal(p.rate_bps, 2000000);
    assert_int_equal(p.delay_ns, 5000000); /* untouched keys stay */
    assert_int_equal(p.loss_kind, LK_LOSS_GE);
    memset(&u, 0, sizeof(u));
    assert_int_equal(lk_spec_parse("loss=0%", &u, err, sizeof(err)), 0);
    lk_params_merge(&p, &u);
    assert_int_equal(p.loss_kind, LK_LOSS_BERNOULLI);
    assert_true(p.loss == 0.0);
    /* last value of a repeated key wins */
    parse_ok("delay=1ms delay=2ms", &p);
    assert_int_equal(p.delay_ns, 2000000);
}

static void test_schedule(void **st)
{
    (void)st;
    const char *txt = "# failure injection\n"
                      "2s up\n"
                      "1s   down   # cut\n"
                      "\n"
                      "1500ms ab delay=20ms loss=5%\r\n"
                      "3s both rate=1mbit\n"
                      "1s ba queue=10p\n";
    struct lk_sched s;
    char err[256] = "";
    if (lk_sched_parse(txt, strlen(txt), &s, err, sizeof(err))) fail_msg("%s", err);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.e[0].t_ns, 1000000000);
    assert_int_equal(s.e[0].act, LK_ACT_DOWN);
    assert_int_equal(s.e[1].act, LK_ACT_SET); /* same time: file order */
    assert_int_equal(s.e[1].dirs, 2);
    assert_int_equal(s.e[1].upd.queue_pkts, 10);
    assert_int_equal(s.e[2].t_ns, 1500000000);
    assert_int_equal(s.e[2].dirs, 1);
    assert_int_equal(s.e[2].upd.set_mask, LK_K_DELAY | LK_K_LOSS);
    assert_int_equal(s.e[3].act, LK_ACT_UP);
    assert_int_equal(s.e[4].dirs, 3);
    assert_int_equal(s.e[4].line, 6);
    lk_sched_free(&s);

    static const struct {
        const char *txt, *err;
    } bad[] = {
        { "1s\n", "line 1" },
        { "x down\n", "bad time" },
        { "1 down\n", "bad time" },
        { "\n1s sideways\n", "line 2: unknown action" },
        { "1s down now\n", "no arguments" },
        { "1s ab\n", "needs KEY=VAL" },
        { "1s ab delay=3\n", "delay=3" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        if (lk_sched_parse(bad[i].txt, strlen(bad[i].txt), &s, err, sizeof(err)) == 0)
            fail_msg("accepted: %s", bad[i].txt);
        if (!strstr(err, bad[i].err))
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].txt, err, bad[i].err);
    }
}

/* Times and seeds follow the one grammar of lib/parse.h (shared with the .topo parser). */
static void test_shared_grammar(void **st)
{
    (void)st;
    struct lk_params p;
    uint64_t v;
    assert_int_equal(lk_parse_time_ns("2m", &v), 0);
    assert_true(v == 120000000000ull);
    assert_int_equal(lk_parse_time_ns("1min", &v), 0);
    assert_true(v == 60000000000ull);
    assert_int_equal(lk_parse_time_ns("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(lk_parse_time_ns("0.1ms", &v), 0);
    assert_int_equal(v, 100000);
    assert_int_equal(lk_parse_time_ns("1000000000000000ns", &v), 0);
    assert_int_equal(lk_parse_time_ns("1000000000000001ns", &v), -1);
    assert_int_equal(lk_parse_time_ns(".5ms", &v), -1);
    assert_int_equal(lk_parse_time_ns("1e3ms", &v), -1);
    assert_int_equal(lk_parse_time_ns("0x10ms", &v), -1);
    assert_int_equal(lk_parse_time_ns("10MS", &v), -1);
    parse_ok("delay=0 seed=0", &p);
    assert_int_equal(p.delay_ns, 0);
    assert_int_equal(p.seed, 0);
    parse_ok("seed=4294967295", &p); /* the largest per-direction seed topo.sh derives */
    assert_true(p.seed == 4294967295ull);
    parse_ok("seed=9007199254740991", &p);
    assert_true(p.seed == 9007199254740991ull);
    parse_bad("seed=9007199254740992", "seed");
    parse_bad("seed=010", "seed"); /* once read as octal 8 */
    parse_bad("seed=0x10", "seed");
    parse_bad("seed=", "seed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_units),     cmocka_unit_test(test_ge),
        cmocka_unit_test(test_errors),    cmocka_unit_test(test_trace_and_merge),
        cmocka_unit_test(test_schedule),  cmocka_unit_test(test_shared_grammar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
