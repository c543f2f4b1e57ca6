/* mpx-linkem schedules: carrier actions, triggered ("usr2+TIME") entries and the order in
 * which entries from the start and from the last trigger come due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "emu/linkem/sched.h"

#define MS 1000000ULL

static void parse(const char *txt, struct lk_sched *s)
{
    char err[256] = "";
    if (lk_sched_parse(txt, strlen(txt), s, err, sizeof(err))) fail_msg("%s", err);
}

static void test_parse_trig_and_carrier(void **st)
{
    (void)st;
    struct lk_sched s;
    parse("usr2+12s carrier-up\n"
          "2s down\n"
          "usr2+1s carrier-down # the cut\n"
          "3s up\n"
          "usr2+500ms ab delay=30ms\n",
          &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.tn, 3);
    assert_int_equal(s.e[0].act, LK_ACT_DOWN);
    assert_false(s.e[0].trig);
    assert_int_equal(s.e[1].act, LK_ACT_UP);
    assert_int_equal(s.te[0].t_ns, 500 * MS);
    assert_int_equal(s.te[0].act, LK_ACT_SET);
    assert_true(s.te[0].trig);
    assert_int_equal(s.te[1].act, LK_ACT_CARRIER_DOWN);
    assert_int_equal(s.te[1].line, 3);
    assert_int_equal(s.te[2].act, LK_ACT_CARRIER_UP);
    assert_int_equal(s.te[2].t_ns, 12000 * MS);
    assert_string_equal(lk_act_name[LK_ACT_CARRIER_DOWN], "carrier-down");
    lk_sched_free(&s);

    static const char *bad[] = { "usr2+ down\n", "usr2+1 down\n", "usr1+1s down\n",
                                 "1s carrier-down now\n", "1s carrier\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        if (lk_sched_parse(bad[i], strlen(bad[i]), &s, err, sizeof(err)) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_true(strstr(err, "line 1") != NULL);
    }
}

static void test_due_order(void **st)
{
    (void)st;
    struct lk_sched s;
    const uint64_t t0 = 1000 * MS;
    parse("1s down\n3s up\nusr2+1s carrier-down\nusr2+2s carrier-up\n", &s);
    /* not triggered: the triggered entries never come due */
    assert_int_equal(lk_sched_next_due(&s, t0), t0 + 1000 * MS);
    assert_null(lk_sched_pop_due(&s, t0, t0 + 999 * MS));
    const struct lk_sched_ent *e = lk_sched_pop_due(&s, t0, t0 + 1000 * MS);
    assert_non_null(e);
    assert_int_equal(e->act, LK_ACT_DOWN);
    assert_null(lk_sched_pop_due(&s, t0, t0 + 2500 * MS));
    /* a trigger at 1.5 s: carrier-down at 2.5 s comes before the start's up at 3 s */
    lk_sched_trigger(&s, t0 + 1500 * MS);
    assert_int_equal(s.triggers, 1);
    assert_int_equal(lk_sched_next_due(&s, t0), t0 + 2500 * MS);
    e = lk_sched_pop_due(&s, t0, t0 + 5000 * MS);
    assert_int_equal(e->act, LK_ACT_CARRIER_DOWN);
    e = lk_sched_pop_due(&s, t0, t0 + 5000 * MS);
    assert_int_equal(e->act, LK_ACT_UP); /* 3 s: before the trigger's 3.5 s */
    /* a new trigger before carrier-up: the triggered list starts again from the first */
    lk_sched_trigger(&s, t0 + 3200 * MS);
    assert_int_equal(lk_sched_next_due(&s, t0), t0 + 4200 * MS);
    e = lk_sched_pop_due(&s, t0, t0 + 5200 * MS);
    assert_int_equal(e->act, LK_ACT_CARRIER_DOWN);
    e = lk_sched_pop_due(&s, t0, t0 + 5200 * MS);
    assert_int_equal(e->act, LK_ACT_CARRIER_UP);
    assert_null(lk_sched_pop_due(&s, t0, UINT64_MAX - 1));
    assert_int_equal(lk_sched_next_due(&s, t0), UINT64_MAX);
    /* equal times: the entry counted from the start first */
    lk_sched_free(&s);
    parse("2s ab delay=1ms\nusr2+1s ba delay=2ms\n", &s);
    lk_sched_trigger(&s, t0 + 1000 * MS);
    e = lk_sched_pop_due(&s, t0, t0 + 2000 * MS);
    assert_false(e->trig);
    e = lk_sched_pop_due(&s, t0, t0 + 2000 * MS);
    assert_true(e->trig);
    lk_sched_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_trig_and_carrier),
        cmocka_unit_test(test_due_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
