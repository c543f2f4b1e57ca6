/* mpx-sim core: event order, a link's timeline against hand arithmetic, loss draws equal to
 * mpx-linkem's for the same seed and packet index, and every signal's TTFB against the
 * closed-form model (infinite rates, no loss) and against hand-computed serialization. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sim/app.h"

/* ---- events ---- */
static char g_order[16];
static size_t g_n;

static void ev_rec(struct sim *s, void *arg, uint64_t u)
{
    (void)s, (void)arg;
    g_order[g_n++] = (char)u;
}

static void test_event_order(void **st)
{
    (void)st;
    struct sim s;
    sim_init(&s);
    g_n = 0;
    sim_at(&s, 3000, ev_rec, NULL, 'd');
    sim_at(&s, 1000, ev_rec, NULL, 'a');
    sim_at(&s, 2000, ev_rec, NULL, 'c');
    sim_at(&s, 1000, ev_rec, NULL, 'b'); /* same time: after 'a', scheduled earlier */
    assert_int_equal(sim_run(&s, 2500), 3);
    assert_int_equal(s.now, 2000);
    assert_int_equal(sim_run(&s, UINT64_MAX), 1);
    g_order[g_n] = 0;
    assert_string_equal(g_order, "abcd");
    sim_free(&s);
}

/* ---- one link ---- */
static uint64_t g_arr[64];
static size_t g_narr;

static bool rx_log(struct sim *s, struct sim_node *n, struct sim_pkt *p)
{
    (void)n;
    if (g_narr < 64) g_arr[g_narr++] = s->now;
    sim_pkt_free(p);
    return true;
}

static struct sim_link *two_nodes(struct sim *s, const char *ab, const char *ba)
{
    char err[128];
    struct lk_params p[2];
    lk_params_default(&p[0]);
    lk_params_default(&p[1]);
    assert_int_equal(lk_spec_parse(ab, &p[0], err, sizeof err), 0);
    assert_int_equal(lk_spec_parse(ba, &p[1], err, sizeof err), 0);
    struct sim_node *a = sim_node_add(s, "a", "host"), *b = sim_node_add(s, "b", "server");
    struct sim_link *l = sim_link_add(s, "l", a, "e0", sim_addr_parse("198.18.1.1"), b, "e0",
                                      sim_addr_parse("198.18.1.2"), &p[0], &p[1], err, sizeof err);
    assert_non_null(l);
    b->rx = rx_log;
    return l;
}

static struct sim_pkt *frame_of(uint32_t wire)
{
    struct sim_pkt *p = sim_pkt_new();
    p->src = sim_addr_parse("198.18.1.1"), p->dst = sim_addr_parse("198.18.1.2");
    p->flags = SIM_ACK;
    p->plen = wire - 54;
    p->data = calloc(1, p->plen);
    assert_int_equal(sim_pkt_wire_len(p), wire);
    return p;
}

static void test_link_serialization(void **st)
{
    (void)st;
    struct sim s;
    sim_init(&s);
    /* 8 Mbit/s = 1 byte per us; 1 ms delay */
    two_nodes(&s, "rate=8mbit delay=1ms queue=10p", "rate=8mbit delay=1ms");
    g_narr = 0;
    for (int i = 0; i < 3; i++) sim_send(&s, &s.nodes[0], frame_of(1000));
    s.now = 500000; /* a fourth frame while the bottleneck is still busy: it queues */
    sim_send(&s, &s.nodes[0], frame_of(500));
    sim_run(&s, UINT64_MAX);
    assert_int_equal(g_narr, 4);
    assert_int_equal(g_arr[0], 1000000 + 1000000);
    assert_int_equal(g_arr[1], 2000000 + 1000000);
    assert_int_equal(g_arr[2], 3000000 + 1000000);
    assert_int_equal(g_arr[3], 3500000 + 1000000);
    sim_free(&s);
}

static void test_link_queue_drop(void **st)
{
    (void)st;
    struct sim s;
    sim_init(&s);
    two_nodes(&s, "rate=8mbit delay=1ms queue=2p", "rate=8mbit delay=1ms");
    g_narr = 0;
    for (int i = 0; i < 5; i++) sim_send(&s, &s.nodes[0], frame_of(1000));
    sim_run(&s, UINT64_MAX);
    assert_int_equal(g_narr, 2); /* drop-tail: two fit */
    assert_int_equal(s.links[0].dir[0].c.drop[LK_DROP_QUEUE], 3);
    sim_free(&s);
}

static void test_loss_draws_equal_linkem(void **st)
{
    (void)st;
    const char *spec = "delay=1ms loss=30% jitter=2ms seed=7";
    struct sim s;
    sim_init(&s);
    two_nodes(&s, spec, "delay=1ms");
    char err[128];
    struct lk_params p;
    lk_params_default(&p);
    assert_int_equal(lk_spec_parse(spec, &p, err, sizeof err), 0);
    struct lk_dir ref;
    assert_int_equal(lk_dir_init(&ref, "ab", &p, 0, err, sizeof err), 0);
    uint8_t frame[64] = { 0 };
    size_t lost_sim = 0, lost_ref = 0;
    for (int i = 0; i < 2000; i++) {
        s.now = (uint64_t)i * 10 * SIM_MS; /* spaced: no queueing, the draws alone decide */
        uint64_t before = s.links[0].dir[0].c.drop[LK_DROP_LOSS], idx;
        sim_send(&s, &s.nodes[0], frame_of(64));
        bool sim_lost = s.links[0].dir[0].c.drop[LK_DROP_LOSS] != before;
        bool ref_lost = lk_dir_arrive(&ref, s.now, false, frame, 64, &idx) == LK_DROP_LOSS;
        assert_int_equal(sim_lost, ref_lost); /* the same packet index meets the same draw */
        lost_sim += sim_lost, lost_ref += ref_lost;
        if (!ref_lost) { /* and the same jitter: the release time is the reference's */
            uint64_t want = lk_fifo_next_rel(&ref.q);
            assert_int_equal(lk_fifo_next_rel(&s.links[0].dir[0].q), want);
            int64_t q;
            while ((q = lk_fifo_pop_due(&ref.q, UINT64_MAX)) >= 0) (void)q;
            lk_fifo_reclaim(&ref.q);
        }
        sim_run(&s, UINT64_MAX);
    }
    assert_true(lost_sim > 450 && lost_sim < 750); /* about 30 % of 2000 */
    lk_dir_free(&ref);
    sim_free(&s);
}

/* ---- drop=: a scheduled single-packet loss by arrival index, in mpx-linkem's own logic ---- */
static void test_drop_spec(void **st)
{
    (void)st;
    char err[128], fmt[512];
    struct lk_params p;
    lk_params_default(&p);
    assert_int_equal(lk_spec_parse("delay=1ms drop=7,0,7,3", &p, err, sizeof err), 0);
    assert_true(p.set_mask & LK_K_DROP);
    assert_int_equal(p.ndrop, 3); /* sorted, distinct */
    assert_int_equal(p.drop_idx[0], 0);
    assert_int_equal(p.drop_idx[1], 3);
    assert_int_equal(p.drop_idx[2], 7);
    lk_params_format(&p, fmt, sizeof fmt);
    assert_non_null(strstr(fmt, " drop=0,3,7"));
    const char *bad[] = { "drop=", "drop=x", "drop=1,", "drop=,1", "drop=-1", "drop=1;2",
                          "drop=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lk_params_default(&p);
        assert_int_equal(lk_spec_parse(bad[i], &p, err, sizeof err), -1);
    }
    /* a schedule line may change the list; other keys keep it */
    struct lk_params base, upd;
    lk_params_default(&base);
    lk_params_default(&upd);
    assert_int_equal(lk_spec_parse("drop=2", &base, err, sizeof err), 0);
    assert_int_equal(lk_spec_parse("seed=5", &upd, err, sizeof err), 0);
    lk_params_merge(&base, &upd);
    assert_true(lk_drop_scheduled(&base, 2) && !lk_drop_scheduled(&base, 1));
    assert_int_equal(lk_spec_parse("drop=4", &upd, err, sizeof err), 0);
    lk_params_merge(&base, &upd);
    assert_true(lk_drop_scheduled(&base, 4) && !lk_drop_scheduled(&base, 2));
}

/* Exactly the listed indices are dropped, and every other frame meets the loss and jitter
 * draws it meets without the list (the draws happen for every arrival). */
static void test_drop_by_index(void **st)
{
    (void)st;
    char err[128];
    struct lk_params a, b;
    lk_params_default(&a);
    lk_params_default(&b);
    assert_int_equal(lk_spec_parse("delay=1ms jitter=1ms loss=10% seed=3 drop=1,4,40", &a, err, sizeof err), 0);
    assert_int_equal(lk_spec_parse("delay=1ms jitter=1ms loss=10% seed=3", &b, err, sizeof err), 0);
    struct lk_dir da, db;
    assert_int_equal(lk_dir_init(&da, "ab", &a, 0, err, sizeof err), 0);
    assert_int_equal(lk_dir_init(&db, "ab", &b, 0, err, sizeof err), 0);
    uint8_t frame[64] = { 0 };
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t ia, ib, now = i * 10 * SIM_MS;
        enum lk_verdict va = lk_dir_arrive(&da, now, false, frame, 64, &ia);
        enum lk_verdict vb = lk_dir_arrive(&db, now, false, frame, 64, &ib);
        assert_int_equal(ia, i);
        if (i == 1 || i == 4 || i == 40) {
            assert_int_equal(va, LK_DROP_LOSS);
        } else {
            assert_int_equal(va, vb);
            if (va == LK_PASS)
                assert_int_equal(lk_fifo_next_rel(&da.q), lk_fifo_next_rel(&db.q));
        }
        while (lk_fifo_pop_due(&da.q, UINT64_MAX) >= 0) {}
        while (lk_fifo_pop_due(&db.q, UINT64_MAX) >= 0) {}
        lk_fifo_reclaim(&da.q);
        lk_fifo_reclaim(&db.q);
    }
    lk_dir_free(&da);
    lk_dir_free(&db);
}

/* ---- signals over a client - hag - server topology ---- */
static void world_up(struct sim *s, struct sim_world *w, const char *cp_ab, const char *cp_ba,
                     const char *ps)
{
    char err[128];
    struct lk_params p[4];
    for (int i = 0; i < 4; i++) lk_params_default(&p[i]);
    assert_int_equal(lk_spec_parse(cp_ab, &p[0], err, sizeof err), 0);
    assert_int_equal(lk_spec_parse(cp_ba, &p[1], err, sizeof err), 0);
    assert_int_equal(lk_spec_parse(ps, &p[2], err, sizeof err), 0);
    assert_int_equal(lk_spec_parse(ps, &p[3], err, sizeof err), 0);
    sim_init(s);
    assert_int_equal(sim_tcp_init(s), 0);
    struct sim_node *c = sim_node_add(s, "client", "host"), *h = sim_node_add(s, "hag", "proxy"),
                    *v = sim_node_add(s, "server", "server");
    assert_non_null(sim_link_add(s, "dsl", h, "dsl", sim_addr_parse("198.18.1.1"), c, "dsl",
                                 sim_addr_parse("198.18.1.2"), &p[0], &p[1], err, sizeof err));
    assert_non_null(sim_link_add(s, "wan", h, "wan", sim_addr_parse("198.18.3.1"), v, "wan",
                                 sim_addr_parse("198.18.3.2"), &p[2], &p[3], err, sizeof err));
    c->src_routing = true;
    memset(w, 0, sizeof *w);
    w->s = s, w->client = c, w->hag = h, w->server = v;
    w->proxy_addr = sim_addr_parse("198.18.1.1");
    w->server_addr = sim_addr_parse("198.18.3.2");
    assert_int_equal(mpxa_workload_parse("rr 100/1000", &w->wl, err, sizeof err), 0);
    w->syn_policy = SIM_SYN_IMMEDIATE; /* what the closed form assumes; tests below change it */
    assert_int_equal(sim_world_init(w), 0);
}

static double ttfb_ms(struct sim_world *w, const mpx_signal *sg)
{
    struct sim_conn c;
    sim_conn_run(w, &c, sg, 10 * SIM_S);
    assert_true(c.ok);
    assert_false(c.failed);
    w->s->now += 50 * SIM_MS;
    return (double)(c.t_first - c.t_start) / 1e6;
}

/* The closed form of emu/harness/model.jq for each formula id, by hand: c and p are the
 * client-proxy and proxy-server one-way delays (R_cp = 2c, R_ps = 2p). */
static double closed_form(const char *model, double c, double p)
{
    double rcp = 2 * c, rps = 2 * p;
    if (!strcmp(model, "direct")) return 2 * (rcp + rps);
    if (!strcmp(model, "app-2x")) return 4 * rcp + 2 * rps;
    if (!strcmp(model, "app-3x")) return 5 * rcp + 2 * rps;
    if (!strcmp(model, "syn-data")) return fmax(c + 2 * rps, 3 * c) + c;
    if (!strcmp(model, "syn-data-wait")) return fmax(c + rps, 3 * c) + c + rcp + rps;
    if (!strcmp(model, "option") || !strcmp(model, "intercept")) return 2 * rcp + 2 * rps;
    fail_msg("no closed form for model %s", model);
    return 0;
}

static void check_closed_form(double c, double p)
{
    char cp[64], ps[64];
    snprintf(cp, sizeof cp, "delay=%gms", c);
    snprintf(ps, sizeof ps, "delay=%gms", p);
    struct sim s;
    struct sim_world w;
    world_up(&s, &w, cp, cp, ps);
    size_t n;
    const mpx_signal *rows = mpx_signals(&n);
    for (size_t i = 0; i < n; i++) {
        ttfb_ms(&w, &rows[i]); /* warm-up: a TFO cookie where the signal uses one */
        double got = ttfb_ms(&w, &rows[i]), want = closed_form(rows[i].model, c, p);
        if (fabs(got - want) > 1e-6)
            fail_msg("%s (c=%g p=%g): simulated %.6f ms, closed form %.6f ms", rows[i].name, c,
                     p, got, want);
    }
    sim_tcp_free(&s);
    sim_free(&s);
}

static void test_closed_form_every_signal(void **st)
{
    (void)st;
    check_closed_form(10, 5);  /* the third ACK dominates the SYN-data formula */
    check_closed_form(5, 10);  /* the server leg dominates it */
}

static void test_serialization_by_hand(void **st)
{
    (void)st;
    struct sim s;
    struct sim_world w;
    /* DSL 20 Mbit/s down (a->b), 2 Mbit/s up; WAN unlimited */
    world_up(&s, &w, "rate=20mbit delay=10ms", "rate=2mbit delay=10ms", "delay=5ms");
    /* tcp: SYN 74 B up; SYN/ACK 74 B down; third ACK 66 B then the request 166 B up, back to
     * back; the response 1066 B down (frames: 14 + 20 + 20 + options + payload) */
    double ser_us = 74 * 8 / 2.0 + 74 * 8 / 20.0 + (66 + 166) * 8 / 2.0 + 1066 * 8 / 20.0;
    double got = ttfb_ms(&w, mpx_signal_by_id(MPX_SIG_TCP));
    assert_true(fabs(got - (60 + ser_us / 1000)) < 1e-6);
    sim_tcp_free(&s);
    sim_free(&s);
}

/* ---- losses: the SYN timer as Linux has it (1 s, a retransmitted SYN carries no data) ---- */
static void link_down(struct sim *s, void *arg, uint64_t down)
{
    (void)s;
    ((struct sim_link *)arg)->down = down != 0;
}

/* TTFB of one connection of sg when the client-proxy link is down during [from, to) ms. */
static double ttfb_with_outage(const mpx_signal *sg, double from, double to)
{
    struct sim s;
    struct sim_world w;
    world_up(&s, &w, "delay=10ms", "delay=10ms", "delay=5ms");
    ttfb_ms(&w, sg); /* warm-up */
    uint64_t t0 = s.now;
    if (from <= 0) s.links[0].down = true; /* before the SYN leaves, not after */
    else sim_at(&s, t0 + (uint64_t)(from * 1e6), link_down, &s.links[0], 1);
    sim_at(&s, t0 + (uint64_t)(to * 1e6), link_down, &s.links[0], 0);
    double t = ttfb_ms(&w, sg);
    sim_tcp_free(&s);
    sim_free(&s);
    return t;
}

static void test_lost_handshake(void **st)
{
    (void)st;
    const mpx_signal *cv = mpx_signal_by_id(MPX_SIG_CONVERT);
    /* the SYN with the Convert message and the request is lost: a bare SYN at 1 s, then the
     * signal and request follow the handshake and the converter accepts at the third ACK:
     * 1 s + 2 R_cp + 2 R_ps */
    double t1 = ttfb_with_outage(cv, 0, 1), t2 = ttfb_with_outage(cv, 5, 15),
           t3 = ttfb_with_outage(mpx_signal_by_id(MPX_SIG_SOCKS5), 0, 1);
    print_message("lost SYN %.3f, lost SYN/ACK %.3f, lost SOCKS SYN %.3f\n", t1, t2, t3);
    assert_true(fabs(t1 - 1060) < 1e-6);
    /* the SYN/ACK is lost (the SYN data was taken): the client's bare SYN at 1 s gets the
     * SYN/ACK again, its third ACK releases the held reply and response: 1 s + 3 c + c */
    assert_true(fabs(ttfb_with_outage(cv, 5, 15) - 1040) < 1e-6);
    /* the SYN of a SOCKS connection is lost: 1 s + the whole exchange */
    assert_true(fabs(ttfb_with_outage(mpx_signal_by_id(MPX_SIG_SOCKS5), 0, 1) - 1100) < 1e-6);
}

/* TTFB of the first connection of sg (no warm-up) with drop=IDX on one direction of the
 * client-proxy link: ab = proxy -> client, ba = client -> proxy (the topology's a end is the
 * hag). c = 10 ms, p = 5 ms, the converter's default policy (cookie). */
static double ttfb_with_drop(const mpx_signal *sg, const char *ab, const char *ba)
{
    struct sim s;
    struct sim_world w;
    world_up(&s, &w, ab, ba, "delay=5ms");
    w.syn_policy = SIM_SYN_COOKIE;
    double t = ttfb_ms(&w, sg);
    sim_tcp_free(&s);
    sim_free(&s);
    return t;
}

static void test_dropped_packet(void **st)
{
    (void)st;
    const mpx_signal *cv = mpx_signal_by_id(MPX_SIG_CONVERT);
    double base = ttfb_with_drop(cv, "delay=10ms", "delay=10ms");
    /* the converter holds cookie-less SYN data until the third ACK: 3c + 2p + 2p + c */
    assert_true(fabs(base - 60) < 1e-6);
    /* the SYN (Convert + request) lost: bare SYN at 1 s, data after the handshake:
     * 1 s + 2 R_cp + 2 R_ps, as the outage test has it */
    double syn = ttfb_with_drop(cv, "delay=10ms", "delay=10ms drop=0");
    assert_true(fabs(syn - 1060) < 1e-6);
    /* the SYN/ACK lost: the client's SYN and the converter's SYN/ACK timers both fire at 1 s
     * (the SYN/ACK one 10 ms later): 1 s + 3c + 2p + 2p + c */
    double sa = ttfb_with_drop(cv, "delay=10ms drop=0", "delay=10ms");
    /* the Convert reply lost (the converter's second frame towards the client), as Linux
     * recovers: the child's SRTT is 20 ms (SYN/ACK at 10, third ACK at 30); the reply leaves at
     * 40 (the target answered), the response at 50; a tail-loss probe 2 SRTT + 2 jiffies after
     * that (98: the response again), the RTO (SRTT + 200 ms) from the probe (318: the reply
     * again), at the client 10 ms later */
    double rep = ttfb_with_drop(cv, "delay=10ms drop=1", "delay=10ms");
    print_message("dropped: none %.3f, SYN %.3f, SYN/ACK %.3f, Convert reply %.3f ms\n", base,
                  syn, sa, rep);
    assert_true(sa > 1000 + base - 1e-6 && sa < 1000 + base + 20 + 1e-6);
    assert_true(fabs(rep - 328) < 1e-6);
}

/* The converter's SYN-data policy (mpx-proxy --syn-data-policy): with "cookie" only a SYN with
 * a valid TFO cookie makes it connect at once, cookie-less SYN data waits for the third ACK
 * (3c); with "third-ack" every one waits. Waiting costs the SYN-data channels their 0-RTT:
 * 3c + 2p (downstream handshake) + 2p (request, response) + c = 2 R_cp + 2 R_ps; a reply
 * that waits for the target and the request after it (convert-wait): 3 R_cp + 2 R_ps. */
static void test_syn_data_policy(void **st)
{
    (void)st;
    const double c = 10, p = 5, rcp = 2 * c, rps = 2 * p;
    for (int pol = SIM_SYN_COOKIE; pol <= SIM_SYN_THIRD_ACK; pol++) {
        struct sim s;
        struct sim_world w;
        world_up(&s, &w, "delay=10ms", "delay=10ms", "delay=5ms");
        w.syn_policy = (enum sim_syn_policy)pol;
        size_t n;
        const mpx_signal *rows = mpx_signals(&n);
        for (size_t i = 0; i < n; i++) {
            const mpx_signal *sg = &rows[i];
            if (sg->where != MPX_SIG_IN_PAYLOAD) continue;
            ttfb_ms(&w, sg); /* warm-up (the cookie) */
            double got = ttfb_ms(&w, sg), want;
            bool cookie_ok = pol == SIM_SYN_COOKIE && sg->tfo == MPX_SIG_TFO_COOKIE;
            if (cookie_ok) want = closed_form(sg->model, c, p);
            else if (sg->waits_reply) want = 3 * rcp + 2 * rps;
            else want = 2 * rcp + 2 * rps;
            if (fabs(got - want) > 1e-6)
                fail_msg("%s under policy %d: %.6f ms, want %.6f", sg->name, pol, got, want);
        }
        sim_tcp_free(&s);
        sim_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_order),
        cmocka_unit_test(test_link_serialization),
        cmocka_unit_test(test_link_queue_drop),
        cmocka_unit_test(test_loss_draws_equal_linkem),
        cmocka_unit_test(test_drop_spec),
        cmocka_unit_test(test_drop_by_index),
        cmocka_unit_test(test_closed_form_every_signal),
        cmocka_unit_test(test_serialization_by_hand),
        cmocka_unit_test(test_lost_handshake),
        cmocka_unit_test(test_dropped_packet),
        cmocka_unit_test(test_syn_data_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
