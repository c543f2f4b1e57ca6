/* mpx-sim's per-node processing time (sim_world.proc_ns, mpx-sim --proc): each application step
 * delays what it sends by exactly its node's time, on a hand-computed timeline. Links with pure
 * delays (c = 10 ms client-proxy, p = 5 ms proxy-server one way, no serialization), so every
 * TTFB is the closed form (sim/README.md) plus the steps on its critical path. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sim/app.h"

static void world_up(struct sim *s, struct sim_world *w)
{
    char err[128];
    struct lk_params p[4];
    for (int i = 0; i < 4; i++) lk_params_default(&p[i]);
    for (int i = 0; i < 4; i++) /* c = 10 ms both ways on the DSL, p = 5 ms on the WAN */
        assert_int_equal(lk_spec_parse(i < 2 ? "delay=10ms" : "delay=5ms", &p[i], err, sizeof err),
                         0);
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
    w->syn_policy = SIM_SYN_IMMEDIATE; /* SYN data acts at the SYN: the closed form's case */
    assert_int_equal(sim_world_init(w), 0);
}

/* TTFB (ms) of one connection of `name` with processing times client/proxy/server in us, after
 * a warm-up connection of the same signal (the TFO cookie where it takes one). */
static double ttfb(const char *name, double cl, double px, double sv)
{
    struct sim s;
    struct sim_world w;
    world_up(&s, &w);
    w.proc_ns[SIM_PROC_CLIENT] = (uint64_t)llround(cl * 1000);
    w.proc_ns[SIM_PROC_PROXY] = (uint64_t)llround(px * 1000);
    w.proc_ns[SIM_PROC_SERVER] = (uint64_t)llround(sv * 1000);
    const mpx_signal *sg = mpx_signal_by_name(name);
    assert_non_null(sg);
    double ms = 0;
    for (int i = 0; i < 2; i++) {
        struct sim_conn c;
        sim_conn_run(&w, &c, sg, 10 * SIM_S);
        assert_true(c.ok);
        assert_false(c.failed);
        ms = (double)(c.t_first - c.t_start) / 1e6;
        s.now += 50 * SIM_MS;
    }
    sim_tcp_free(&s);
    sim_free(&s);
    return ms;
}

static void expect(const char *name, double cl, double px, double sv, double want)
{
    double got = ttfb(name, cl, px, sv);
    if (fabs(got - want) > 1e-6)
        fail_msg("%s with client %g us, proxy %g us, server %g us: %.6f ms, by hand %.6f ms", name,
                 cl, px, sv, got, want);
}

static void test_zero_is_closed_form(void **st)
{
    (void)st;
    expect("tcp", 0, 0, 0, 60);          /* 2 (R_cp + R_ps) */
    expect("convert", 0, 0, 0, 40);      /* max(c + 2 R_ps, 3c) + c */
    expect("socks5", 0, 0, 0, 100);      /* 4 R_cp + 2 R_ps */
    expect("mpconvert-opt", 0, 0, 0, 60);
}

/* tcp passes no proxy application: the client writes its request when the SYN/ACK is in (one
 * step) and stamps the response (a second), the server answers the request (one step). */
static void test_tcp(void **st)
{
    (void)st;
    expect("tcp", 0, 1000, 0, 60);
    expect("tcp", 1000, 0, 0, 62);
    expect("tcp", 0, 0, 1000, 61);
    expect("tcp", 300, 700, 150, 60 + 2 * 0.3 + 0.15);
}

/* convert, SYN data acted on at the SYN: the proxy connects at the SYN (step 1: downstream SYN at
 * c + d), replies and forwards the request when the target answered (step 2: c + 2p + 2d), relays
 * the response (step 3): at the client 3c ... the server branch c + 4p + 3d + c = 40 + 3d, which
 * now dominates the third ACK's 3c + c = 40. The client has one step (it stamps the response;
 * its request left in the SYN and it answers nothing), the server one. */
static void test_convert(void **st)
{
    (void)st;
    expect("convert", 0, 1000, 0, 43);
    expect("convert", 1000, 0, 0, 41);
    expect("convert", 0, 0, 1000, 41);
    expect("convert", 250, 250, 250, 40 + 5 * 0.25);
}

/* socks5: the proxy's five steps on the path (method reply, connect on CONNECT, CONNECT reply,
 * request forwarded, response relayed), the client's four (greeting after the handshake, CONNECT
 * after the method reply, request after the CONNECT reply, the response stamped), the server's
 * one. */
static void test_socks5(void **st)
{
    (void)st;
    expect("socks5", 0, 1000, 0, 105);
    expect("socks5", 1000, 0, 0, 104);
    expect("socks5", 0, 0, 1000, 101);
}

/* An option signal: the proxy connects at accept, with the third ACK (step 1), forwards the
 * request once the target answered (2), relays the response (3). The client's request, written a
 * step after the handshake, is at the proxy 1 ms after the third ACK, while the downstream
 * handshake takes 2p = 10 ms: off the critical path; only the client's stamp counts. */
static void test_option(void **st)
{
    (void)st;
    expect("mpconvert-opt", 0, 1000, 0, 63);
    expect("mpconvert-opt", 1000, 0, 0, 61);
    expect("mpconvert-opt", 0, 0, 1000, 61);
}

/* ---- mpx-optd (proc_ns[SIM_PROC_OPTD], sim_world.optd_client): the packets and requests that
 * wait for it, each by exactly its time, on a hand-computed timeline (optd 1 ms, c = 10 ms,
 * p = 5 ms). A spy on the endpoints records when each SYN, SYN/ACK and the third ACK reach them
 * (after a receiving node's hop). */
struct seen {
    char node;    /* 'c' client, 'h' HAG, 's' server */
    uint8_t flags;
    uint16_t dport;
    double ms;    /* from the connection's start */
};
static struct seen g_seen[64];
static int g_nseen;
static uint64_t g_t0;
static sim_rx_fn g_rx;

static bool spy_rx(struct sim *s, struct sim_node *n, struct sim_pkt *p)
{
    if ((p->flags & SIM_SYN || !p->plen) && g_nseen < 64)
        g_seen[g_nseen++] = (struct seen){ n->name[0], p->flags, p->dport,
                                           (double)(s->now - g_t0) / 1e6 };
    return g_rx(s, n, p);
}

/* The measured (second) connection of `name` with optd us per job, the client's mpx-optd up or
 * not: its TTFB, the spy's records of it in g_seen. */
static double optd_run(const char *name, double optd, double px, bool client_optd)
{
    struct sim s;
    struct sim_world w;
    world_up(&s, &w);
    w.proc_ns[SIM_PROC_OPTD] = (uint64_t)llround(optd * 1000);
    w.proc_ns[SIM_PROC_PROXY] = (uint64_t)llround(px * 1000);
    w.optd_client = client_optd;
    g_rx = w.client->rx;
    w.client->rx = w.hag->rx = w.server->rx = spy_rx;
    const mpx_signal *sg = mpx_signal_by_name(name);
    assert_non_null(sg);
    double ms = 0;
    for (int i = 0; i < 2; i++) {
        struct sim_conn c;
        g_nseen = 0, g_t0 = s.now;
        sim_conn_run(&w, &c, sg, 10 * SIM_S);
        assert_true(c.ok);
        assert_false(c.failed);
        ms = (double)(c.t_first - c.t_start) / 1e6;
        s.now += 50 * SIM_MS;
    }
    sim_tcp_free(&s);
    sim_free(&s);
    return ms;
}

/* when node got the first packet with exactly these flags (to dport, 0: any); -1: never */
static double seen_at(char node, uint8_t flags, uint16_t dport)
{
    for (int i = 0; i < g_nseen; i++)
        if (g_seen[i].node == node && g_seen[i].flags == flags &&
            (!dport || g_seen[i].dport == dport))
            return g_seen[i].ms;
    return -1;
}

static void expect_seen(const char *what, char node, uint8_t flags, uint16_t dport, double want)
{
    double got = seen_at(node, flags, dport);
    if (fabs(got - want) > 1e-6) fail_msg("%s: at %.6f ms, by hand %.6f ms", what, got, want);
}

static void expect_optd(const char *name, double optd, double px, bool client_optd, double want)
{
    double got = optd_run(name, optd, px, client_optd);
    if (fabs(got - want) > 1e-6)
        fail_msg("%s with optd %g us, proxy %g us, client optd %d: %.6f ms, by hand %.6f ms", name,
                 optd, px, client_optd, got, want);
}

enum { SYN = SIM_SYN, SYNACK = SIM_SYN | SIM_ACK, ACK = SIM_ACK };

/* tcp in a variant with the client's mpx-optd: its SYN leaves 1 ms late (at the server 1 + c + p
 * = 16); its SYN/ACK has no MPTCP option and passes at once (client 16 + 15 = 31); TTFB 60 + 1.
 * Without the client's mpx-optd (no helper signal in the variant) nothing waits. */
static void test_optd_tcp(void **st)
{
    (void)st;
    expect_optd("tcp", 1000, 0, true, 61);
    expect_seen("tcp SYN at the server", 's', SYN, 0, 16);
    expect_seen("tcp SYN/ACK at the client", 'c', SYNACK, 0, 31);
    expect_optd("tcp", 1000, 0, false, 60);
    expect_seen("tcp SYN at the server, no client optd", 's', SYN, 0, 15);
    expect_optd("mpconvert-opt", 0, 0, true, 60); /* optd 0: no hop at all */
}

/* mpconvert: the SYN (1 ms late, at the HAG 11) and the MPTCP SYN/ACK (at the client 21, on after
 * 22) wait; the third ACK (HAG 32) now comes after the response (server branch 11 + 4p = 31), and
 * the proxy's first write waits for it: 32 + c = 42. */
static void test_optd_synack(void **st)
{
    (void)st;
    expect_optd("mpconvert", 1000, 0, true, 42);
    expect_seen("mpconvert SYN at the HAG", 'h', SYN, 5125, 11);
    expect_seen("mpconvert SYN/ACK at the client", 'c', SYNACK, 0, 22);
    expect_seen("mpconvert downstream SYN at the server", 's', SYN, 0, 16);
}

/* mpconvert-opt (helper + optd-read): the client registers first (SYN built at 1, leaves at 2),
 * the HAG's mpx-optd reads the SYN (at the HAG 12, on at 13), the SYN/ACK waits at the client (23,
 * on at 24), the third ACK and request reach the HAG at 34, the front-end asks mpx-optd for the
 * target (35) and connects: server SYN 40, request 50, response at the client 65 = 60 + 5 hops.
 * With the proxy's 1 ms per step too: 60 + 5 + 3. */
static void test_optd_option(void **st)
{
    (void)st;
    expect_optd("mpconvert-opt", 1000, 0, true, 65);
    expect_seen("mpconvert-opt SYN at the HAG", 'h', SYN, 5128, 13);
    expect_seen("mpconvert-opt SYN/ACK at the client", 'c', SYNACK, 0, 24);
    expect_seen("mpconvert-opt third ACK at the HAG", 'h', ACK, 5128, 34);
    expect_seen("mpconvert-opt downstream SYN at the server", 's', SYN, 0, 40);
    expect_optd("mpconvert-opt", 1000, 1000, true, 68);
    expect_seen("mpconvert-opt downstream SYN at the server, proxy 1 ms", 's', SYN, 0, 41);
}

/* implicit rows: prefer (helper + prefer) registers (1), its SYN waits at the client (2) and at
 * the HAG (12, on at 13), the HAG's own SYN/ACK too (13 -> 14, at the client 24, on at 25): 60 + 5;
 * ra (IP option by the client's mpx-optd, nft alone on the HAG): register, SYN, SYN/ACK: 60 + 3;
 * implicit (no helper) in a variant with the client's mpx-optd: SYN, SYN/ACK: 60 + 2. */
static void test_optd_implicit(void **st)
{
    (void)st;
    expect_optd("implicit-prefer", 1000, 0, true, 65);
    expect_seen("implicit-prefer SYN at the HAG", 'h', SYN, 8080, 13);
    expect_seen("implicit-prefer SYN/ACK at the client", 'c', SYNACK, 0, 25);
    expect_optd("implicit-ra", 1000, 0, true, 63);
    expect_seen("implicit-ra SYN at the HAG", 'h', SYN, 8080, 12);
    expect_optd("implicit", 1000, 0, true, 62);
    expect_seen("implicit SYN at the HAG", 'h', SYN, 8080, 11);
}

/* One application thread per node: a step that starts while the previous one runs waits for it.
 * The socks5 proxy's steps are all on the critical path, none overlaps: 1 ms x 5. A processing
 * time longer than a round trip still adds exactly per step (the steps never overlap). */
static void test_long_steps(void **st)
{
    (void)st;
    expect("socks5", 0, 30000, 0, 100 + 5 * 30);
    expect("tcp", 25000, 0, 0, 60 + 2 * 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_is_closed_form), cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_convert),             cmocka_unit_test(test_socks5),
        cmocka_unit_test(test_option),              cmocka_unit_test(test_long_steps),
        cmocka_unit_test(test_optd_tcp),
        cmocka_unit_test(test_optd_synack),         cmocka_unit_test(test_optd_option),
        cmocka_unit_test(test_optd_implicit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
