/* mpx-linkem pure model: PRNG/loss models, Mahimahi trace arithmetic, the bottleneck queue
 * (serialization, drop-tail limits, release order) and one direction end to end. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "emu/linkem/link.h"
#include "emu/linkem/loss.h"
#include "emu/linkem/queue.h"
#include "emu/linkem/trace.h"

#define MS 1000000ULL

static struct lk_params spec(const char *s)
{
    struct lk_params p;
    char err[200];
    lk_params_default(&p);
    if (lk_spec_parse(s, &p, err, sizeof(err))) fail_msg("%s: %s", s, err);
    return p;
}

static void test_rng_seeded(void **st)
{
    (void)st;
    struct lk_rng a, b, c;
    lk_rng_seed(&a, 7, 1);
    lk_rng_seed(&b, 7, 1);
    lk_rng_seed(&c, 8, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = lk_rng_next(&a), y = lk_rng_next(&b), z = lk_rng_next(&c);
        assert_true(x == y);
        same_c += x == z;
    }
    assert_true(same_c < 2);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = lk_rng_unit(&a);
        assert_true(u >= 0 && u < 1);
        sum += u;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 0.01);
}

static void test_bernoulli(void **st)
{
    (void)st;
    struct lk_params p = spec("loss=1%");
    struct lk_rng r;
    struct lk_loss ls = { 0 };
    lk_rng_seed(&r, 1, 1);
    int n = 200000, drops = 0;
    for (int i = 0; i < n; i++) drops += lk_loss_drop(&ls, &p, &r);
    /* mean 2000, sd ~44.5: +-5 sd */
    assert_in_range(drops, 2000 - 223, 2000 + 223);
    p = spec("loss=0%");
    for (int i = 0; i < 1000; i++) assert_false(lk_loss_drop(&ls, &p, &r));
    p = spec("loss=100%");
    for (int i = 0; i < 1000; i++) assert_true(lk_loss_drop(&ls, &p, &r));
}

static void test_gilbert_elliott(void **st)
{
    (void)st;
    struct lk_params p = spec("ge=2%/20%/0.1%/60%");
    double want = lk_ge_stationary_loss(0.02, 0.2, 0.001, 0.6);
    assert_true(fabs(want - (10.0 / 11 * 0.001 + 1.0 / 11 * 0.6)) < 1e-12);
    struct lk_rng r;
    struct lk_loss ls = { 0 };
    lk_rng_seed(&r, 99, 1);
    int n = 400000, drops = 0, bursts = 0, prev = 0;
    for (int i = 0; i < n; i++) {
        int d = lk_loss_drop(&ls, &p, &r);
        drops += d;
        bursts += d && prev;
        prev = d;
    }
    double got = (double)drops / n;
    assert_true(fabs(got - want) < 0.1 * want);
    /* losses cluster: P(drop | previous dropped) far above the mean */
    assert_true((double)bursts / drops > 3 * got);
    assert_true(lk_ge_stationary_loss(0, 0, 0.05, 1) == 0.05);
}

static void test_trace(void **st)
{
    (void)st;
    struct lk_trace t;
    char err[128];
    const char *txt = "0\n1\n1\n# comment\n\n4\n";
    assert_int_equal(lk_trace_parse(txt, strlen(txt), &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.period_ms, 4);
    assert_true(fabs(lk_trace_rate_bps(&t) - 4 * 1500 * 8 / 0.004) < 1);
    assert_int_equal(lk_trace_opp_ns(&t, 0), 0);
    assert_int_equal(lk_trace_opp_ns(&t, 3), 4 * MS);
    assert_int_equal(lk_trace_opp_ns(&t, 4), 4 * MS); /* loop 2 starts at 4 ms + 0 */
    assert_int_equal(lk_trace_opp_ns(&t, 6), 5 * MS);
    struct lk_trace_cur c = { 0, LK_TRACE_MTU };
    assert_int_equal(lk_trace_depart(&t, &c, 0, 1500), 0);      /* opp 0 */
    assert_int_equal(lk_trace_depart(&t, &c, 0, 1000), 1 * MS); /* opp 1 */
    assert_int_equal(lk_trace_depart(&t, &c, 0, 500), 1 * MS);  /* shares opp 1 */
    assert_int_equal(lk_trace_depart(&t, &c, 0, 100), 1 * MS);  /* opp 2 (also 1 ms) */
    assert_int_equal(lk_trace_depart(&t, &c, 0, 3000), 4 * MS); /* rest of 2, all 3, 4 */
    /* an idle gap wastes opportunities: arrival at 9.5 ms -> first opp >= 9.5 ms is 12 ms */
    assert_int_equal(lk_trace_depart(&t, &c, 9 * MS + MS / 2, 1), 12 * MS);
    /* a packet larger than one opportunity spans several */
    assert_int_equal(lk_trace_depart(&t, &c, 12 * MS, 1499 + 1500 + 1), 13 * MS);
    lk_trace_free(&t);
    assert_int_equal(lk_trace_parse("5\n3\n", 4, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "backwards"));
    assert_int_equal(lk_trace_parse("1\nx\n", 4, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(lk_trace_parse("0\n0\n", 4, &t, err, sizeof(err)), -1);
    assert_int_equal(lk_trace_parse("", 0, &t, err, sizeof(err)), -1);
    assert_int_equal(lk_trace_parse("-1\n", 3, &t, err, sizeof(err)), -1);
}

static void test_serialization(void **st)
{
    (void)st;
    assert_int_equal(lk_ser_ns(1500, 0), 0);
    assert_int_equal(lk_ser_ns(1500, 1000000000), 12000);
    assert_int_equal(lk_ser_ns(1514, 20000000), 605600);
    assert_int_equal(lk_ser_ns(1, 3), 2666666667ULL); /* rounded up */
    assert_int_equal(lk_ser_ns(65535, 1), 524280000000000ULL);
}

static void test_queue_limits(void **st)
{
    (void)st;
    struct lk_fifo q;
    uint8_t frame[1500] = { 1, 2, 3 };
    assert_int_equal(lk_fifo_init(&q, 4, 8), 0);
    /* 3 packets in the bottleneck until t=10: a 3p limit refuses the 4th */
    for (int i = 0; i < 3; i++) {
        lk_fifo_advance(&q, 0);
        assert_true(lk_fifo_admit(&q, 100, 3, 0));
        lk_fifo_push(&q, frame, 100, (uint64_t)i, 0, 10 + (uint64_t)i, 100 + (uint64_t)i);
    }
    lk_fifo_advance(&q, 5);
    assert_false(lk_fifo_admit(&q, 100, 3, 0));
    assert_true(lk_fifo_admit(&q, 100, 4, 0));
    assert_false(lk_fifo_admit(&q, 100, 0, 300)); /* 300 bytes held: bytes limit */
    assert_true(lk_fifo_admit(&q, 100, 0, 400));
    lk_fifo_advance(&q, 10); /* the first left the bottleneck (still in the delay line) */
    assert_int_equal(q.bq_pkts, 2);
    assert_int_equal(q.bq_bytes, 200);
    assert_true(lk_fifo_admit(&q, 100, 3, 0));
    assert_int_equal(lk_fifo_held(&q), 3);
    /* the ring grows past its initial 4 slots up to max 8, then refuses */
    for (int i = 3; i < 8; i++) {
        assert_true(lk_fifo_admit(&q, 100, 0, 0));
        lk_fifo_push(&q, frame, 100, (uint64_t)i, 20, 20, 200 + (uint64_t)i);
    }
    assert_int_equal(q.cap, 8);
    assert_false(lk_fifo_admit(&q, 100, 0, 0));
    /* data survived the growth, release in time order */
    assert_int_equal(lk_fifo_next_rel(&q), 100);
    assert_int_equal(lk_fifo_pop_due(&q, 99), -1);
    int64_t s = lk_fifo_pop_due(&q, 100);
    assert_true(s >= 0);
    assert_memory_equal(lk_fifo_data(&q, (uint64_t)s), frame, 3);
    assert_int_equal(lk_fifo_slot(&q, (uint64_t)s)->idx, 0);
    lk_fifo_reclaim(&q);
    int n = 0;
    while ((s = lk_fifo_pop_due(&q, 1000)) >= 0)
        assert_int_equal(lk_fifo_slot(&q, (uint64_t)s)->idx, (uint64_t)++n);
    lk_fifo_reclaim(&q);
    assert_int_equal(n, 7);
    assert_int_equal(lk_fifo_held(&q), 0);
    assert_int_equal(q.bq_pkts, 0);
    assert_int_equal(lk_fifo_next_rel(&q), UINT64_MAX);
    lk_fifo_free(&q);
}

static void test_heap_order(void **st)
{
    (void)st;
    struct lk_fifo q;
    uint8_t f[64] = { 0 };
    assert_int_equal(lk_fifo_init(&q, 1024, 1024), 0);
    uint64_t rel[500];
    struct lk_rng r;
    lk_rng_seed(&r, 5, 0);
    for (int i = 0; i < 500; i++) {
        rel[i] = lk_rng_next(&r) % 1000;
        lk_fifo_push(&q, f, 64, (uint64_t)i, 0, 0, rel[i]);
    }
    uint64_t last = 0, last_idx = 0;
    int64_t s;
    int n = 0;
    while ((s = lk_fifo_pop_due(&q, UINT64_MAX - 1)) >= 0) {
        struct lk_slot *sl = lk_fifo_slot(&q, (uint64_t)s);
        assert_true(sl->t_rel >= last);
        if (n && sl->t_rel == last) assert_true(sl->idx > last_idx); /* ties keep arrival order */
        last = sl->t_rel, last_idx = sl->idx;
        n++;
    }
    assert_int_equal(n, 500);
    lk_fifo_reclaim(&q);
    assert_int_equal(q.head, q.tail);
    lk_fifo_free(&q);
}

static void test_dir_rate_delay(void **st)
{
    (void)st;
    struct lk_dir d;
    char err[128];
    struct lk_params p = spec("rate=12mbit delay=10ms queue=3p");
    uint8_t f[1500] = { 0 };
    uint64_t idx, t0 = 1000 * MS;
    assert_int_equal(lk_dir_init(&d, "ab", &p, t0, err, sizeof(err)), 0);
    /* 1500 B at 12 Mbit/s = 1 ms each; a burst of 5 at t0: 3 fit, 2 dropped (queue) */
    enum lk_verdict v[5];
    for (int i = 0; i < 5; i++) v[i] = lk_dir_arrive(&d, t0, false, f, 1500, &idx);
    assert_int_equal(v[0], LK_PASS);
    assert_int_equal(v[2], LK_PASS);
    assert_int_equal(v[3], LK_DROP_QUEUE);
    assert_int_equal(v[4], LK_DROP_QUEUE);
    assert_int_equal(idx, 4);
    uint64_t want[3] = { t0 + 11 * MS, t0 + 12 * MS, t0 + 13 * MS };
    for (int i = 0; i < 3; i++) {
        int64_t s = lk_fifo_pop_due(&d.q, UINT64_MAX - 1);
        assert_true(s >= 0);
        assert_int_equal(lk_fifo_slot(&d.q, (uint64_t)s)->t_rel, want[i]);
    }
    lk_fifo_reclaim(&d.q);
    /* after 1.5 ms one left the bottleneck: one more fits, it waits behind the 3rd */
    assert_int_equal(lk_dir_arrive(&d, t0 + 1500000, false, f, 1500, &idx), LK_PASS);
    assert_int_equal(lk_fifo_next_rel(&d.q), t0 + 14 * MS);
    assert_int_equal(d.c.hwm_pkts, 3);
    assert_int_equal(d.c.drop[LK_DROP_QUEUE], 2);
    /* link down drops everything arriving */
    assert_int_equal(lk_dir_arrive(&d, t0 + 2 * MS, true, f, 1500, &idx), LK_DROP_DOWN);
    assert_int_equal(lk_dir_arrive(&d, t0, false, f, LK_SLOT_BYTES + 1, &idx), LK_DROP_TOOLONG);
    lk_dir_free(&d);
}

static void test_dir_jitter(void **st)
{
    (void)st;
    char err[128];
    uint8_t f[100] = { 0 };
    uint64_t idx, t0 = 0;
    assert_int_equal(lk_jitter_offset(1000, 0.0), -1000);
    assert_int_equal(lk_jitter_offset(1000, 0.5), 0);
    assert_int_equal(lk_jitter_offset(0, 0.7), 0);
    for (int reorder = 0; reorder < 2; reorder++) {
        struct lk_dir d;
        struct lk_params p = spec(reorder ? "delay=10ms jitter=2ms reorder=1 seed=3"
                                          : "delay=10ms jitter=2ms seed=3");
        assert_int_equal(lk_dir_init(&d, "ab", &p, t0, err, sizeof(err)), 0);
        uint64_t min = UINT64_MAX, max = 0, last = 0;
        int inversions = 0;
        double sum = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t t = (uint64_t)i * 100000; /* 0.1 ms apart: jitter overlaps */
            assert_int_equal(lk_dir_arrive(&d, t, false, f, 100, &idx), LK_PASS);
            uint64_t rel = lk_fifo_slot(&d.q, d.q.tail - 1)->t_rel, dl = rel - t;
            min = dl < min ? dl : min;
            max = dl > max ? dl : max;
            sum += (double)dl;
            inversions += rel < last;
            last = rel;
        }
        assert_true(min >= 8 * MS);
        if (reorder) {
            assert_true(inversions > 100);
            assert_true(max <= 12 * MS);
            assert_true(fabs(sum / 2000 - 10e6) < 0.1e6); /* uniform, mean = delay */
        } else {
            assert_int_equal(inversions, 0); /* FIFO: never overtakes */
        }
        lk_dir_free(&d);
    }
}

static void test_dir_reproducible(void **st)
{
    (void)st;
    char err[128];
    uint8_t f[100] = { 0 };
    uint64_t idx;
    char drops[3][2000];
    const char *specs[3] = { "loss=5% seed=11", "loss=5% seed=11 jitter=1ms delay=3ms",
                             "loss=5% seed=12" };
    for (int k = 0; k < 3; k++) {
        struct lk_dir d;
        struct lk_params p = spec(specs[k]);
        assert_int_equal(lk_dir_init(&d, "ab", &p, 0, err, sizeof(err)), 0);
        for (int i = 0; i < 2000; i++)
            drops[k][i] =
                lk_dir_arrive(&d, (uint64_t)i * 1000, false, f, 100, &idx) == LK_DROP_LOSS;
        lk_dir_free(&d);
    }
    /* same seed: same drops, whatever the jitter; another seed: different drops */
    assert_memory_equal(drops[0], drops[1], 2000);
    assert_memory_not_equal(drops[0], drops[2], 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_seeded),      cmocka_unit_test(test_bernoulli),
        cmocka_unit_test(test_gilbert_elliott), cmocka_unit_test(test_trace),
        cmocka_unit_test(test_serialization),   cmocka_unit_test(test_queue_limits),
        cmocka_unit_test(test_heap_order),      cmocka_unit_test(test_dir_rate_delay),
        cmocka_unit_test(test_dir_jitter),      cmocka_unit_test(test_dir_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
