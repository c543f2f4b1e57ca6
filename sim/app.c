/* Client, converter and server behaviour per signal (see app.h). Message bytes come from the
 * proto/ encoders, so every size on the wire is the agents' own. The converter does not
 * re-parse what it receives (it takes the signal's length from the connection it serves); the
 * time applications take is a per-node processing time, 0 unless set (sim_world.proc_ns). */
#include <stdlib.h>
#include <string.h>
#include "proto/convert.h"
#include "proto/mpconvert.h"
#include "proto/socks5.h"
#include "sim/app.h"

/* the connection being simulated (one at a time, as the harness runs them) */
static struct sim_conn *g_cur;
static struct sim_world *g_w;

const char *const sim_proc_names[SIM_PROC__N] = { "client", "proxy", "server", "optd" };

/* ---- processing time (sim_world.proc_ns) ----
 * A node's application acts in steps: each callback that reacts to what arrived is one step,
 * and what it sends, connects or closes leaves proc_ns later, after the node's previous step
 * (one application thread per node). With proc_ns 0 every output happens in the callback, as
 * before there was a processing time: no event, the same timeline to the nanosecond. */
static uint64_t g_busy[SIM_PROC__N]; /* the node's application is busy until (ns) */
static uint64_t g_act[SIM_PROC__N];  /* when the current step's output leaves; 0: not charged */
static uint64_t g_gen;               /* bumped when a connection ends: its pending output lapses */
static bool g_wait[SIM_PROC__N];     /* the current step waited for mpx-optd (a control request) */

static void step_begin(int who)
{
    g_act[who] = 0;
    g_wait[who] = false;
}

/* ---- mpx-optd (sim_world.optd_client): one job after the other per instance ---- */
enum { OPTD_CLIENT, OPTD_HAG };
static uint64_t g_optd_busy[2];

/* A job given to mpx-optd `which` at t0: when it is done. */
static uint64_t optd_job(int which, uint64_t t0)
{
    uint64_t t = t0 > g_optd_busy[which] ? t0 : g_optd_busy[which];
    return g_optd_busy[which] = t + g_w->proc_ns[SIM_PROC_OPTD];
}

static bool is_syn(const struct sim_pkt *p)
{
    return (p->flags & (SIM_SYN | SIM_ACK | SIM_FIN | SIM_RST)) == SIM_SYN;
}

static bool is_synack(const struct sim_pkt *p)
{
    return (p->flags & (SIM_SYN | SIM_ACK | SIM_FIN | SIM_RST)) == (SIM_SYN | SIM_ACK);
}

/* The client's NFQUEUE rules (agents/intercept mpx_ic_client_up): mangle POSTROUTING takes every
 * SYN it sends, mangle PREROUTING every SYN/ACK with an MPTCP option (kind 30) it receives. */
static uint64_t client_hook(struct sim *s, struct sim_node *n, const struct sim_pkt *p, bool out)
{
    (void)n;
    if (!g_w->proc_ns[SIM_PROC_OPTD] || !g_w->optd_client) return 0;
    if (out ? !is_syn(p) : !(is_synack(p) && (p->mpc || p->join))) return 0;
    return optd_job(OPTD_CLIENT, s->now);
}

/* The HAG's NFQUEUE rules while the connection's interception mode is on (mpx_ic_hag_on): mode
 * optd-read queues the SYNs to the signal's front-end port, mode prefer the SYNs from the
 * client's side and the HAG's own SYN/ACKs; the other modes queue nothing (nft alone). */
static uint64_t hag_hook(struct sim *s, struct sim_node *n, const struct sim_pkt *p, bool out)
{
    (void)n;
    if (!g_w->proc_ns[SIM_PROC_OPTD] || !g_cur || !g_cur->sig->intercept) return 0;
    const mpx_signal *sg = g_cur->sig;
    bool q = false;
    if (!strcmp(sg->intercept, "optd-read"))
        q = !out && is_syn(p) && p->dport == sg->port;
    else if (!strcmp(sg->intercept, "prefer"))
        q = out ? is_synack(p) : is_syn(p) && sim_node_owns(g_w->client, p->src);
    return q ? optd_job(OPTD_HAG, s->now) : 0;
}

/* The current step of node `who` asks mpx-optd `which` (a control request) and blocks for the
 * answer: its output leaves the node's processing time after that. */
static void step_ask_optd(struct sim *s, int who, int which)
{
    if (!g_w->proc_ns[SIM_PROC_OPTD]) return;
    g_busy[who] = optd_job(which, s->now > g_busy[who] ? s->now : g_busy[who]);
    g_wait[who] = true;
}

/* When the current step's output leaves (charged once per step, on its first output). */
static uint64_t step_at(struct sim *s, int who)
{
    if (!g_act[who]) {
        uint64_t t = s->now > g_busy[who] ? s->now : g_busy[who];
        g_act[who] = g_busy[who] = t + g_w->proc_ns[who];
    }
    return g_act[who];
}

enum { OUT_WRITE, OUT_CLOSE, OUT_CONNECT };
struct px;
static void px_connect_now(struct sim *s, struct px *x, uint32_t addr);

struct out_ev {
    int kind;
    uint64_t gen;
    struct sim_sock *k;
    struct px *x;
    uint32_t addr;
    size_t n;
    uint8_t d[];
};

static void out_fire(struct sim *s, void *arg, uint64_t u)
{
    (void)u;
    struct out_ev *e = arg;
    if (e->gen == g_gen) {
        if (e->kind == OUT_WRITE) sim_tcp_write(s, e->k, e->d, e->n);
        else if (e->kind == OUT_CLOSE) sim_tcp_close(s, e->k);
        else px_connect_now(s, e->x, e->addr);
    }
    free(e);
}

/* An output of node `who`'s current step: now, or at the step's end when it has a processing
 * time. Returns true when it was deferred. */
static bool out_defer(struct sim *s, int who, int kind, struct sim_sock *k, struct px *x,
                      uint32_t addr, const uint8_t *d, size_t n)
{
    if (!g_w->proc_ns[who] && !g_wait[who]) return false;
    struct out_ev *e = malloc(sizeof *e + n);
    if (!e) return false; /* out of memory: at once rather than never */
    *e = (struct out_ev){ .kind = kind, .gen = g_gen, .k = k, .x = x, .addr = addr, .n = n };
    if (n) memcpy(e->d, d, n);
    if (sim_at(s, step_at(s, who), out_fire, e, 0)) {
        free(e);
        return false;
    }
    return true;
}

static void out_write(struct sim *s, int who, struct sim_sock *k, const uint8_t *d, size_t n)
{
    if (!out_defer(s, who, OUT_WRITE, k, NULL, 0, d, n)) sim_tcp_write(s, k, d, n);
}

static void out_close(struct sim *s, int who, struct sim_sock *k)
{
    if (!out_defer(s, who, OUT_CLOSE, k, NULL, 0, NULL, 0)) sim_tcp_close(s, k);
}

/* every allocation of a connection, freed when it ends (sockets outlive their callbacks) */
static void **g_allocs;
static size_t g_nallocs, g_capallocs;

static void *conn_alloc(size_t n)
{
    if (g_nallocs == g_capallocs) {
        size_t nc = g_capallocs ? g_capallocs * 2 : 16;
        void **na = realloc(g_allocs, nc * sizeof *na);
        if (!na) return NULL;
        g_allocs = na, g_capallocs = nc;
    }
    void *p = calloc(1, n);
    if (p) g_allocs[g_nallocs++] = p;
    return p;
}

void sim_conn_end(void)
{
    for (size_t i = 0; i < g_nallocs; i++) free(g_allocs[i]);
    g_nallocs = 0;
    g_cur = NULL;
}

static void conn_fail(struct sim *s, struct sim_sock *k)
{
    (void)s;
    if (g_cur && k == g_cur->sock) g_cur->failed = true;
}

/* ---- server: answers resp_len bytes once req_len bytes are in ---- */
struct srv {
    size_t got;
    bool answered;
};

static void srv_accepted(struct sim *s, struct sim_sock *k)
{
    (void)s;
    k->app = conn_alloc(sizeof(struct srv));
}

static void srv_data(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n)
{
    (void)d;
    step_begin(SIM_PROC_SERVER);
    struct srv *v = k->app;
    if (!v) return;
    v->got += n;
    if (!v->answered && v->got >= g_w->wl.req_len) {
        v->answered = true;
        uint8_t *r = calloc(1, g_w->wl.resp_len ? g_w->wl.resp_len : 1);
        if (r) out_write(s, SIM_PROC_SERVER, k, r, g_w->wl.resp_len);
        free(r);
    }
}

static void srv_eof(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_SERVER);
    out_close(s, SIM_PROC_SERVER, k);
}

static const struct sim_app_ops srv_ops = { .accepted = srv_accepted, .data = srv_data,
                                            .eof = srv_eof };

/* ---- converter ---- */
enum { PX_SIGNAL, PX_GREET, PX_AUTH, PX_REQUEST, PX_RELAY };

struct px {
    const mpx_signal *sig;
    struct sim_sock *up, *down;
    int st;
    uint8_t buf[8192]; /* client bytes not consumed yet (requests are small: rr only) */
    size_t len;
    bool down_ok, up_eof, down_eof;
    bool defer; /* SYN data seen, the connect waits for the third ACK (policy) */
    bool connecting; /* the downstream connect is made or on its way (a processing time) */
};

static const struct sim_app_ops px_down_ops;

static void px_take(struct px *x, size_t n)
{
    memmove(x->buf, x->buf + n, x->len - n);
    x->len -= n;
}

static void px_connect_now(struct sim *s, struct px *x, uint32_t addr)
{
    if (x->up_eof) return; /* the client left while the step ran */
    struct sim_connect_cfg cc = { .raddr = addr, .rport = SIM_SERVER_PORT };
    x->down = sim_tcp_connect(s, g_w->hag, &cc, &px_down_ops, x);
}

static void px_connect(struct sim *s, struct px *x, uint32_t addr)
{
    x->connecting = true;
    if (!out_defer(s, SIM_PROC_PROXY, OUT_CONNECT, NULL, x, addr, NULL, 0))
        px_connect_now(s, x, addr);
}

static void px_flush(struct sim *s, struct px *x)
{
    if (x->st != PX_RELAY || !x->down_ok || !x->len) return;
    out_write(s, SIM_PROC_PROXY, x->down, x->buf, x->len);
    x->len = 0;
}

static void px_step(struct sim *s, struct px *x)
{
    const mpx_signal *sg = x->sig;
    uint8_t out[64];
    mpx_err e = { 0 };
    if (x->st == PX_SIGNAL && sg->wire != MPX_WIRE_SOCKS5) {
        size_t need = g_cur ? g_cur->signal_len : 0;
        if (x->len < need) return;
        px_take(x, need);
        x->st = PX_RELAY;
        if (!x->connecting && !x->defer) px_connect(s, x, g_w->server_addr);
    }
    if (x->st == PX_GREET && x->len >= 3) {
        px_take(x, 3);
        long n = mpx_s5_encode_choice(sg->auth ? 2 : 0, out, sizeof out, &e);
        if (n > 0) out_write(s, SIM_PROC_PROXY, x->up, out, (size_t)n);
        x->st = sg->auth ? PX_AUTH : PX_REQUEST;
    }
    if (x->st == PX_AUTH && x->len >= 2 && x->len >= 3u + x->buf[1] &&
        x->len >= 3u + x->buf[1] + x->buf[2 + x->buf[1]]) {
        px_take(x, 3u + x->buf[1] + x->buf[2 + x->buf[1]]);
        long n = mpx_s5_encode_auth_reply(0, out, sizeof out, &e);
        if (n > 0) out_write(s, SIM_PROC_PROXY, x->up, out, (size_t)n);
        x->st = PX_REQUEST;
    }
    if (x->st == PX_REQUEST && x->len >= 10) { /* CONNECT, IPv4 */
        px_take(x, 10);
        x->st = PX_RELAY;
        px_connect(s, x, g_w->server_addr);
    }
    px_flush(s, x);
}

static void px_accepted(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = conn_alloc(sizeof *x);
    if (!x) return;
    x->sig = g_cur ? g_cur->sig : mpx_signal_by_id(MPX_SIG_TCP);
    x->up = k;
    k->app = x;
    if (x->sig->wire == MPX_WIRE_SOCKS5) {
        x->st = PX_GREET;
    } else if (x->sig->where == MPX_SIG_IN_PAYLOAD) {
        x->st = PX_SIGNAL;
        /* at accept: with SYN data that is at the SYN, when the policy lets SYN data act */
        bool early = g_w->syn_policy == SIM_SYN_IMMEDIATE ||
                     (g_w->syn_policy == SIM_SYN_COOKIE && k->syn_cookie);
        if (k->pending_synack && !early) x->defer = true;
        else px_connect(s, x, g_w->server_addr);
    } else { /* the target is known from the SYN (option or interception) */
        x->st = PX_RELAY;
        /* a target in a SYN option: the front-end asks the HAG's mpx-optd, which read it */
        if (x->sig->intercept && !strcmp(x->sig->intercept, "optd-read"))
            step_ask_optd(s, SIM_PROC_PROXY, OPTD_HAG);
        px_connect(s, x, g_w->server_addr);
    }
}

static void px_synack_acked(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = k->app;
    if (!x || !x->defer) return;
    x->defer = false;
    px_connect(s, x, g_w->server_addr);
}

static void px_up_data(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = k->app;
    if (!x) return;
    if (n > sizeof x->buf - x->len) n = sizeof x->buf - x->len;
    memcpy(x->buf + x->len, d, n);
    x->len += n;
    px_step(s, x);
}

static void px_up_eof(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = k->app;
    if (!x) return;
    x->up_eof = true;
    if (x->down) out_close(s, SIM_PROC_PROXY, x->down);
    out_close(s, SIM_PROC_PROXY, k);
}

static void px_down_connected(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = k->app;
    x->down_ok = true;
    uint8_t out[64];
    mpx_err e = { 0 };
    if (x->sig->wire == MPX_WIRE_SOCKS5) {
        mpx_s5_msg m = { .code = 0, .addr = mpx_addr_v4(g_w->server_addr, 40000), .port = 40000 };
        long n = mpx_s5_encode_reply(&m, out, sizeof out, &e);
        if (n > 0) out_write(s, SIM_PROC_PROXY, x->up, out, (size_t)n);
    } else if (x->sig->wire == MPX_WIRE_CONVERT) { /* the reply once the target answered */
        mpx_conv_msg rep;
        mpx_conv_msg_init(&rep);
        long n = mpx_conv_encode(&rep, out, sizeof out, &e);
        if (n > 0) out_write(s, SIM_PROC_PROXY, x->up, out, (size_t)n);
    } else if (x->sig->wire == MPX_WIRE_MPCONVERT_IE && g_cur) { /* the IEs echoed */
        uint8_t ie[64];
        mpx_mpconv m = { .d = false, .addr = mpx_addr_v4(g_w->server_addr, SIM_SERVER_PORT),
                         .has_port = true };
        long n = mpx_mpconv_encode_ie(&m, 1, ie, sizeof ie, &e);
        if (n > 0) out_write(s, SIM_PROC_PROXY, x->up, ie, (size_t)n);
    }
    px_flush(s, x);
}

static void px_down_data(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = k->app;
    out_write(s, SIM_PROC_PROXY, x->up, d, n);
}

static void px_down_eof(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_PROXY);
    struct px *x = k->app;
    x->down_eof = true;
    out_close(s, SIM_PROC_PROXY, x->up);
    out_close(s, SIM_PROC_PROXY, k);
}

static const struct sim_app_ops px_up_ops = { .accepted = px_accepted, .data = px_up_data,
                                              .eof = px_up_eof, .failed = conn_fail,
                                              .synack_acked = px_synack_acked };
static const struct sim_app_ops px_down_ops = { .connected = px_down_connected,
                                                .data = px_down_data, .eof = px_down_eof };

/* ---- client ---- */
enum { CL_HANDSHAKE, CL_GREET, CL_AUTH, CL_CONNECT, CL_REPLY, CL_RESPONSE };

struct cl {
    struct sim_conn *c;
    int st;
    size_t got;
    uint8_t buf[64];
};

static void cl_request(struct sim *s, struct sim_sock *k)
{
    uint8_t *r = calloc(1, g_w->wl.req_len);
    if (r) out_write(s, SIM_PROC_CLIENT, k, r, g_w->wl.req_len);
    free(r);
}

static void cl_connected(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_CLIENT);
    struct cl *l = k->app;
    l->c->t_connected = s->now;
    l->c->syn_data_sent = k->syn_data > 0, l->c->syn_data_acked = k->syn_acked > 0;
    const mpx_signal *sg = l->c->sig;
    uint8_t out[64];
    mpx_err e = { 0 };
    if (sg->wire == MPX_WIRE_SOCKS5) {
        const uint8_t meth = sg->auth ? 2 : 0;
        long n = mpx_s5_encode_greeting(&meth, 1, out, sizeof out, &e);
        if (n > 0) out_write(s, SIM_PROC_CLIENT, k, out, (size_t)n);
        l->st = CL_GREET;
        return;
    }
    if (sg->where == MPX_SIG_IN_PAYLOAD) { /* the signal (and the request) were queued first */
        l->st = l->c->expect_reply ? CL_REPLY : CL_RESPONSE;
        return;
    }
    cl_request(s, k);
    l->st = CL_RESPONSE;
}

static void cl_response(struct sim *s, struct sim_sock *k, struct cl *l, size_t n)
{
    struct sim_conn *c = l->c;
    if (!n) return;
    /* the client stamps the first byte once its read returns: at the end of its step */
    uint64_t t = g_w->proc_ns[SIM_PROC_CLIENT] ? step_at(s, SIM_PROC_CLIENT) : s->now;
    if (!c->resp_bytes) c->t_first = t;
    c->resp_bytes += n;
    if (c->resp_bytes >= g_w->wl.resp_len && !c->ok) {
        c->ok = true;
        c->t_done = t;
        out_close(s, SIM_PROC_CLIENT, k);
    }
}

static void cl_data(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n)
{
    step_begin(SIM_PROC_CLIENT);
    struct cl *l = k->app;
    const mpx_signal *sg = l->c->sig;
    uint8_t out[64];
    mpx_err e = { 0 };
    while (n) {
        size_t want = l->st == CL_GREET ? 2 : l->st == CL_AUTH ? 2 : l->st == CL_CONNECT ? 10
                    : l->st == CL_REPLY ? l->c->expect_reply : 0;
        if (!want) {
            cl_response(s, k, l, n);
            return;
        }
        size_t take = want - l->got < n ? want - l->got : n;
        l->got += take, d += take, n -= take;
        if (l->got < want) return;
        l->got = 0;
        if (l->st == CL_GREET && sg->auth) {
            long m = mpx_s5_encode_auth("mpx", "mpx", out, sizeof out, &e);
            if (m > 0) out_write(s, SIM_PROC_CLIENT, k, out, (size_t)m);
            l->st = CL_AUTH;
        } else if (l->st == CL_GREET || l->st == CL_AUTH) {
            mpx_addr t = mpx_addr_v4(g_w->server_addr, SIM_SERVER_PORT);
            long m = mpx_s5_encode_connect(&t, out, sizeof out, &e);
            if (m > 0) out_write(s, SIM_PROC_CLIENT, k, out, (size_t)m);
            l->st = CL_CONNECT;
        } else { /* the proxy's reply: the request follows unless it already left */
            if (l->st == CL_CONNECT || sg->waits_reply) cl_request(s, k);
            l->st = CL_RESPONSE;
        }
    }
}

static void cl_eof(struct sim *s, struct sim_sock *k)
{
    step_begin(SIM_PROC_CLIENT);
    struct cl *l = k->app;
    if (!l->c->ok) l->c->failed = true;
    out_close(s, SIM_PROC_CLIENT, k);
}

static const struct sim_app_ops cl_ops = { .connected = cl_connected, .data = cl_data,
                                           .eof = cl_eof, .failed = conn_fail };

/* a client connect that waits for its mpx-optd registration */
struct pending_connect {
    struct sim_connect_cfg cc;
    struct cl *l;
    uint64_t gen;
    uint8_t d[];
};

static void connect_fire(struct sim *s, void *arg, uint64_t u)
{
    (void)u;
    struct pending_connect *pc = arg;
    if (pc->gen != g_gen || !g_cur) return;
    g_cur->sock = sim_tcp_connect(s, g_w->client, &pc->cc, &cl_ops, pc->l);
    if (!g_cur->sock) g_cur->failed = true;
}

/* The signal bytes a client puts in front of its request (SYN payload signals). */
static long signal_bytes(const struct sim_world *w, const mpx_signal *sg, uint8_t *out,
                         size_t cap)
{
    mpx_addr t = mpx_addr_v4(w->server_addr, SIM_SERVER_PORT);
    mpx_err e = { 0 };
    mpx_mpconv m = { .d = false, .addr = t, .has_port = true };
    switch (sg->wire) {
    case MPX_WIRE_CONVERT: return mpx_conv_encode_connect(&t, NULL, 0, NULL, 0, out, cap, &e);
    case MPX_WIRE_MPCONVERT: return mpx_mpconv_encode_09(&m, 1, out, cap, &e);
    case MPX_WIRE_MPCONVERT_IE: return mpx_mpconv_encode_ie(&m, 1, out, cap, &e);
    default: return 0;
    }
}

int sim_conn_start(struct sim_world *w, struct sim_conn *c, const mpx_signal *sg)
{
    struct sim *s = w->s;
    static char recipe[160];
    g_cur = c, g_w = w;
    memset(g_busy, 0, sizeof g_busy); /* one connection at a time: every application idle */
    memset(c, 0, sizeof *c);
    c->sig = sg;
    c->t_start = s->now;
    struct cl *l = conn_alloc(sizeof *l);
    if (!l) return -1;
    l->c = c;
    uint8_t payload[2048];
    size_t plen = 0;
    long n = signal_bytes(w, sg, payload, sizeof payload);
    if (n < 0) return -1;
    c->signal_len = (size_t)n;
    plen = (size_t)n;
    c->expect_reply = sg->wire == MPX_WIRE_CONVERT ? 4
                    : sg->wire == MPX_WIRE_MPCONVERT_IE ? (size_t)n : 0;
    if (sg->where == MPX_SIG_IN_PAYLOAD && !sg->waits_reply && plen + w->wl.req_len <= sizeof payload) {
        memset(payload + plen, 0, w->wl.req_len);
        plen += w->wl.req_len;
    }
    struct sim_connect_cfg cc = { 0 };
    bool via_proxy = sg->frontend && sg->mode == MPX_SIG_MODE_EXPLICIT;
    cc.raddr = via_proxy ? w->proxy_addr : w->server_addr;
    cc.rport = via_proxy ? sg->port : SIM_SERVER_PORT;
    cc.mptcp = sg->mptcp;
    mpx_signal_recipe(sg, 4, 0, recipe, sizeof recipe);
    cc.syn_recipe = recipe;
    cc.tfo = mpx_signal_syn_data(sg) || (sg->tfo == MPX_SIG_TFO_OPTIONAL && w->tfo_direct);
    cc.tfo_no_cookie = sg->tfo == MPX_SIG_TFO_NO_COOKIE;
    cc.ra = sg->helper == MPX_SIG_HELPER_IPOPT;
    cc.helper = sg->helper == MPX_SIG_HELPER_TCPOPT;
    cc.join = w->join;
    cc.syn_data = plen ? payload : NULL;
    cc.syn_len = plen;
    memset(g_optd_busy, 0, sizeof g_optd_busy);
    if (sg->helper != MPX_SIG_HELPER_NONE && w->proc_ns[SIM_PROC_OPTD]) {
        /* mpx-client registers the SYN's source port with its mpx-optd before connecting (a
         * control request after its clock started) */
        struct pending_connect *pc = conn_alloc(sizeof *pc + plen);
        if (!pc) return -1;
        pc->cc = cc, pc->l = l, pc->gen = g_gen;
        if (plen) memcpy(pc->d, payload, plen);
        pc->cc.syn_data = plen ? pc->d : NULL;
        return sim_at(s, optd_job(OPTD_CLIENT, s->now), connect_fire, pc, 0);
    }
    c->sock = sim_tcp_connect(s, w->client, &cc, &cl_ops, l);
    return c->sock ? 0 : -1;
}

int sim_world_init(struct sim_world *w)
{
    struct sim *s = w->s;
    g_w = w;
    sim_tcp_host(s, w->client);
    sim_tcp_host(s, w->hag);
    sim_tcp_host(s, w->server);
    w->client->hook = client_hook;
    w->hag->hook = hag_hook;
    struct sim_listen_cfg sc = { .port = SIM_SERVER_PORT };
    if (sim_tcp_listen(s, w->server, &sc, &srv_ops, NULL)) return -1;
    size_t n;
    const mpx_signal *rows = mpx_signals(&n);
    bool transparent = false;
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *sg = &rows[i];
        if (!sg->frontend) continue;
        struct sim_listen_cfg lc = { .port = sg->port, .mptcp = true, .hold_first_write = true };
        lc.tfo = sg->tfo == MPX_SIG_TFO_COOKIE ? SIM_TFO_COOKIE
               : sg->tfo == MPX_SIG_TFO_NO_COOKIE ? SIM_TFO_NO_COOKIE : SIM_TFO_OFF;
        if (sg->mode == MPX_SIG_MODE_IMPLICIT) {
            if (transparent) continue; /* one interception point serves every implicit row */
            transparent = true;
            lc.intercept = SIM_IC_MPTCP;
        }
        if (sim_tcp_listen(s, w->hag, &lc, &px_up_ops, NULL)) return -1;
    }
    return 0;
}

void sim_conn_run(struct sim_world *w, struct sim_conn *c, const mpx_signal *sg,
                  uint64_t timeout_ns)
{
    struct sim *s = w->s;
    uint64_t t0 = s->now;
    if (sim_conn_start(w, c, sg)) {
        c->failed = true;
        sim_conn_end();
        return;
    }
    /* (no socket yet: the connect waits for the client's mpx-optd) */
    while (s->evq.n && (!c->sock || sim_tcp_open_socks(s)) && s->now - t0 < timeout_ns)
        sim_run(s, s->evq.h[0].t);
    if (c->sock) {
        c->syn_timeouts = (unsigned)c->sock->retries;
        c->lport = c->sock->lport;
        c->joined = c->sock->sub && c->sock->sub->join_up;
    }
    if ((!c->sock || sim_tcp_open_socks(s)) && !c->ok) c->failed = true; /* timed out */
    g_gen++; /* output the applications still had to make lapses with the connection */
    sim_tcp_abandon(s); /* what is left is dropped; the links drain */
    sim_run(s, UINT64_MAX);
    sim_tcp_reap(s);
    sim_conn_end();
}
