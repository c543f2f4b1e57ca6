/* TCP/MPTCP endpoints for the simulator (the model is stated in tcp.h). Sequence numbers are
 * real 32-bit values so the frames read correctly in a pcap; the send stream is kept as
 * offsets (byte 0 = ISS + 1). */
#include <stdlib.h>
#include <string.h>
#include "proto/budget.h"
#include "proto/mptcp.h"
#include "proto/tcpopt.h"
#include "sim/tcp.h"

enum { ST_SYN_SENT = 1, ST_SYN_RCVD, ST_EST, ST_DONE };

#define RTO_INIT (1 * SIM_S)   /* TCP_TIMEOUT_INIT */
#define RTO_MIN (200 * SIM_MS) /* TCP_RTO_MIN */
#define ATO_MIN (40 * SIM_MS)  /* TCP_ATO_MIN: delayed ACK of an interactive connection */
#define SYN_RETRIES 6
/* Linux's TCP timers count jiffies; the reference kernel has CONFIG_HZ=250 */
#define JIFFY (4 * SIM_MS)
#define TLP_MIN (2 * JIFFY) /* TCP_TIMEOUT_MIN: the probe timeout's addition with >1 segment out */

struct listener {
    struct sim_node *node;
    struct sim_listen_cfg cfg;
    const struct sim_app_ops *ops;
    void *app;
    struct listener *next;
};

struct cookie {
    uint32_t addr;
    struct cookie *next;
};

struct tcp_state {
    struct sim_sock *socks;
    struct listener *lis;
    struct cookie *cookies;
    uint32_t isn;      /* deterministic ISNs: a run is reproducible */
    uint16_t eph_port; /* next ephemeral port */
    uint64_t keyseed;  /* MPTCP keys and nonces, deterministic */
};

static struct tcp_state *ts_of(struct sim *s) { return s->tcp; }

int sim_tcp_init(struct sim *s)
{
    struct tcp_state *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->isn = 0x1000;
    t->eph_port = 40000;
    s->tcp = t;
    return 0;
}

static void sock_free(struct sim_sock *k)
{
    free(k->sb);
    free(k);
}

void sim_tcp_free(struct sim *s)
{
    struct tcp_state *t = ts_of(s);
    if (!t) return;
    for (struct sim_sock *k = t->socks, *n; k; k = n) n = k->next, sock_free(k);
    for (struct listener *l = t->lis, *n; l; l = n) n = l->next, free(l);
    for (struct cookie *c = t->cookies, *n; c; c = n) n = c->next, free(c);
    free(t);
    s->tcp = NULL;
}

void sim_tcp_forget_cookies(struct sim *s)
{
    struct tcp_state *t = ts_of(s);
    for (struct cookie *c = t->cookies, *n; c; c = n) n = c->next, free(c);
    t->cookies = NULL;
}

static bool have_cookie(struct sim *s, uint32_t addr)
{
    for (struct cookie *c = ts_of(s)->cookies; c; c = c->next)
        if (c->addr == addr) return true;
    return false;
}

static void store_cookie(struct sim *s, uint32_t addr)
{
    if (have_cookie(s, addr)) return;
    struct cookie *c = calloc(1, sizeof *c);
    if (!c) return;
    c->addr = addr;
    c->next = ts_of(s)->cookies;
    ts_of(s)->cookies = c;
}

/* ---- options ---- */
/* The bytes of a recipe never change: each (segment, recipe) is built once (parsing the recipe
 * and laying out its budget was a tenth of the run time) */
struct opt_memo {
    mpx_budget_seg seg;
    char spec[160];
    uint8_t len, opt[40];
};

static void opts_from_recipe(struct sim_pkt *p, mpx_budget_seg seg, const char *spec)
{
    static struct opt_memo memo[64];
    static size_t nmemo;
    for (size_t i = 0; i < nmemo; i++)
        if (memo[i].seg == seg && !strcmp(memo[i].spec, spec)) {
            memcpy(p->opt, memo[i].opt, memo[i].len);
            p->optlen = memo[i].len;
            return;
        }
    mpx_budget b;
    mpx_err e = { 0 };
    p->optlen = 0;
    if (mpx_budget_from_spec(seg, spec, &b, &e)) return;
    mpx_wr w = mpx_wr_init(p->opt, sizeof p->opt);
    mpx_budget_emit(&b, &w);
    if (!w.overflow) p->optlen = (uint8_t)((w.len + 3) & ~3u);
    if (nmemo < sizeof memo / sizeof memo[0] && strlen(spec) < sizeof memo[0].spec) {
        struct opt_memo *m = &memo[nmemo++];
        m->seg = seg, m->len = p->optlen;
        snprintf(m->spec, sizeof m->spec, "%s", spec);
        memcpy(m->opt, p->opt, p->optlen);
    }
}

/* ---- MPTCP options (RFC 8684 v1): keys, tokens, IDSNs and HMACs as a real stack has them,
 * so a simulated capture passes the analyzer's MPTCP checks ---- */
static void set_rkey(struct sim_sock *k, uint64_t key)
{
    k->rkey = key;
    k->ridsn = mpx_mptcp_idsn(key, 1);
}

static struct sim_sock *mp_conn(struct sim_sock *k) { return k->is_join ? k->master : k; }

static void mp_put(struct sim_pkt *p, mpx_wr *w, const mpx_mptcp_opt *o)
{
    (void)p;
    mpx_mptcp_encode(o, w);
}

/* The option a handshake segment carries: MP_CAPABLE or MP_JOIN for SYN, SYN/ACK, ACK. */
static void mp_handshake(struct sim_sock *k, struct sim_pkt *p, mpx_wr *w)
{
    mpx_mptcp_opt o = { 0 };
    bool syn = p->flags & SIM_SYN, ack = p->flags & SIM_ACK;
    if (k->is_join) {
        struct sim_sock *m = k->master;
        o.subtype = MPX_MP_JOIN;
        o.u.mpj.addr_id = k->active ? 1 : 0;
        if (syn && !ack) {
            o.u.mpj.form = MPX_MPJ_SYN;
            o.u.mpj.token = p->mtoken = m ? mpx_mptcp_token(m->rkey, 1) : 0;
            o.u.mpj.nonce = p->mnonce = k->lnonce;
        } else if (syn) {
            o.u.mpj.form = MPX_MPJ_SYNACK;
            o.u.mpj.nonce = p->mnonce = k->lnonce;
            if (m) o.u.mpj.hmac64 = mpx_mptcp_join_hmac64(1, m->lkey, m->rkey, k->lnonce, k->rnonce);
        } else {
            uint8_t mac[32];
            o.u.mpj.form = MPX_MPJ_ACK;
            if (m) mpx_mptcp_join_hmac(1, m->lkey, m->rkey, k->lnonce, k->rnonce, mac);
            else memset(mac, 0, sizeof mac);
            memcpy(o.u.mpj.hmac, mac, 20);
        }
    } else {
        o.subtype = MPX_MP_CAPABLE;
        o.u.mpc.version = 1, o.u.mpc.flags = 0x01; /* H: HMAC-SHA256 */
        if (syn && ack) {
            o.u.mpc.has_snd_key = true, o.u.mpc.snd_key = p->mkey = k->lkey;
        } else if (!syn) {
            o.u.mpc.has_snd_key = o.u.mpc.has_rcv_key = true;
            o.u.mpc.snd_key = p->mkey = k->lkey;
            o.u.mpc.rcv_key = p->mkey2 = k->rkey;
            if (p->plen) o.u.mpc.has_dll = true, o.u.mpc.dll = (uint16_t)p->plen;
        }
    }
    mp_put(p, w, &o);
}

/* DSS on an established subflow: the data ACK, and the mapping when the segment has data. */
static void mp_dss(struct sim_sock *k, struct sim_pkt *p, mpx_wr *w, bool has_data)
{
    struct sim_sock *m = mp_conn(k);
    mpx_mptcp_opt o = { 0 };
    o.subtype = MPX_MP_DSS;
    if (m && m->rkey) {
        /* Linux acks in 32 bits until the peer has sent a 64-bit DSN (use_64bit_ack) */
        o.u.dss.has_ack = true;
        o.u.dss.ack64 = m->ack64;
        o.u.dss.data_ack = m->ridsn + 1 + m->r_nxt;
    }
    if (has_data && m) {
        uint32_t off = p->seq - (k->iss + 1);
        o.u.dss.has_map = o.u.dss.dsn64 = p->dsn64 = true;
        o.u.dss.dsn = m->lidsn + 1 + off;
        o.u.dss.ssn = off + 1;
        o.u.dss.dll = (uint16_t)p->plen;
    }
    if (o.u.dss.has_ack || o.u.dss.has_map) mp_put(p, w, &o);
}

/* Replaces the MPTCP option a budget recipe emitted (a SYN/ACK) with the real one. */
static void mp_fix_handshake(struct sim_sock *k, struct sim_pkt *p)
{
    uint8_t keep[40];
    size_t n = 0;
    for (size_t i = 0; i < p->optlen;) {
        uint8_t kind = p->opt[i];
        size_t len = kind <= 1 ? 1 : (i + 1 < p->optlen ? p->opt[i + 1] : 0);
        if (!len || i + len > p->optlen) break;
        if (kind != 30) memcpy(keep + n, p->opt + i, len), n += len;
        i += len;
    }
    while (n % 4) keep[n++] = 1; /* NOP-align before the MPTCP option, as Linux does */
    mpx_wr w = mpx_wr_init(keep + n, sizeof keep - n);
    mp_handshake(k, p, &w);
    if (w.overflow) return;
    n += w.len;
    while (n % 4) keep[n++] = 0;
    memcpy(p->opt, keep, n);
    p->optlen = (uint8_t)n;
}

/* Timestamps on every segment, plus the MPTCP option a Linux subflow sends with it. */
static void opts_established(struct sim_sock *k, struct sim_pkt *p, bool has_data)
{
    mpx_wr w = mpx_wr_init(p->opt, sizeof p->opt);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_ts(&w, (uint32_t)(k->last_rcv / SIM_MS), 0);
    if (k->mptcp) {
        if (has_data && k->mpc_data_pending) mp_handshake(k, p, &w); /* MP_CAPABLE + DLL */
        else mp_dss(k, p, &w, has_data);
    }
    if (!w.overflow) p->optlen = (uint8_t)((w.len + 3) & ~3u);
}

/* ---- output ---- */
static struct sim_pkt *pkt_for(struct sim_sock *k, uint8_t flags)
{
    struct sim_pkt *p = sim_pkt_new();
    if (!p) return NULL;
    p->src = k->laddr, p->dst = k->raddr, p->sport = k->lport, p->dport = k->rport;
    p->flags = flags;
    p->ack = flags & SIM_ACK ? k->irs + 1 + (uint32_t)k->r_nxt + (k->fin_rcvd ? 1 : 0) : 0;
    return p;
}

static void emit(struct sim *s, struct sim_sock *k, struct sim_pkt *p)
{
    k->tx_pkts++;
    k->r_acked = k->r_nxt;
    k->delack = false; /* any segment carries the ACK */
    k->dgen++;
    sim_send(s, k->node, p);
}

static void rto_fire(struct sim *s, void *arg, uint64_t gen);

static void rto_arm(struct sim *s, struct sim_sock *k)
{
    k->gen++;
    sim_at(s, s->now + k->rto, rto_fire, k, k->gen);
}

static void rto_stop(struct sim_sock *k) { k->gen++; }

static void send_syn(struct sim *s, struct sim_sock *k)
{
    struct sim_pkt *p = pkt_for(k, SIM_SYN);
    if (!p) return;
    p->seq = k->iss;
    p->ra = k->ra, p->helper = k->helper;
    p->mpc = k->mptcp && !k->is_join, p->join = k->is_join;
    char spec[160];
    bool cookie = k->tfo_try && !k->tfo_no_cookie && have_cookie(s, k->raddr);
    k->tfo_req = k->tfo_try && !k->tfo_no_cookie && !cookie && k->retries == 0;
    if (k->is_join)
        snprintf(spec, sizeof spec, "mss,sackperm,ts,ws,mpj");
    else
        snprintf(spec, sizeof spec, "%s%s", k->syn_recipe, k->tfo_req ? ",tfo:0" : "");
    opts_from_recipe(p, MPX_SEG_SYN, spec);
    if (k->is_join) mp_fix_handshake(k, p);
    p->tfo_req = k->tfo_req, p->tfo_cookie = cookie;
    /* SYN data only on the first transmission (Linux retransmits a bare SYN); a SYN/ACK may
     * still acknowledge that first SYN's data */
    if (k->retries == 0) k->syn_data = 0;
    if (k->retries == 0 && k->tfo_try && (cookie || k->tfo_no_cookie) && k->sb_len) {
        size_t room = SIM_MSS - p->optlen + 12;
        k->syn_data = k->sb_len < room ? k->sb_len : room;
        p->plen = (uint32_t)k->syn_data;
        p->data = malloc(p->plen);
        if (p->data) memcpy(p->data, k->sb, p->plen);
        else p->plen = 0, k->syn_data = 0;
    }
    emit(s, k, p);
    rto_arm(s, k);
}

static void send_synack(struct sim *s, struct sim_sock *k, bool issue_cookie)
{
    struct sim_pkt *p = pkt_for(k, SIM_SYN | SIM_ACK);
    if (!p) return;
    p->seq = k->iss;
    p->mpc = k->mptcp && !k->is_join, p->join = k->is_join;
    p->tfo_cookie = issue_cookie;
    char spec[96];
    snprintf(spec, sizeof spec, "mss,sackperm,ts,ws%s%s", issue_cookie ? ",tfo:8" : "",
             k->is_join ? ",mpj" : k->mptcp ? ",mpc" : "");
    opts_from_recipe(p, MPX_SEG_SYNACK, spec);
    if (k->mptcp) mp_fix_handshake(k, p);
    emit(s, k, p);
    rto_arm(s, k);
}

static void send_ack(struct sim *s, struct sim_sock *k)
{
    struct sim_pkt *p = pkt_for(k, SIM_ACK);
    if (!p) return;
    p->seq = k->iss + 1 + (uint32_t)k->s_nxt + (k->fin_sent ? 1 : 0);
    opts_established(k, p, false);
    emit(s, k, p);
}

static void third_ack(struct sim *s, struct sim_sock *k)
{
    struct sim_pkt *p = pkt_for(k, SIM_ACK);
    if (!p) return;
    p->seq = k->iss + 1 + (uint32_t)k->s_nxt;
    mpx_wr w = mpx_wr_init(p->opt, sizeof p->opt);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_nop(&w);
    mpx_tcpopt_put_ts(&w, 0, 0);
    if (k->mptcp) mp_handshake(k, p, &w);
    if (!w.overflow) p->optlen = (uint8_t)((w.len + 3) & ~3u);
    emit(s, k, p);
}

/* ---- the data retransmission timer, with Linux's tail-loss probe (RFC 8985, tcp_output.c
 * tcp_schedule_loss_probe): with data out and no loss recovery going on, a probe is due
 * 2 SRTT + 2 jiffies after the last send (2 SRTT + 200 ms with one segment out: the peer's
 * delayed ACK), never after the RTO deadline; it sends the last segment again and the RTO
 * then runs from the probe. ---- */
static void data_timer_fire(struct sim *s, void *arg, uint64_t gen);
static void output(struct sim *s, struct sim_sock *k);

static void seg_note(struct sim_sock *k, size_t end, uint64_t now)
{
    if (k->nseg == (int)(sizeof k->seg_end / sizeof k->seg_end[0])) return;
    k->seg_end[k->nseg] = end, k->seg_tx[k->nseg] = now;
    k->nseg++;
}

static void data_timer(struct sim *s, struct sim_sock *k)
{
    k->gen++;
    if (!k->nseg) return;
    uint64_t at = k->rto_at;
    k->tlp_armed = false;
    if (!k->tlp_done && !k->in_loss && !k->pending_synack && k->srtt) {
        uint64_t pto = s->now + 2 * k->srtt + (k->nseg == 1 ? RTO_MIN : TLP_MIN);
        k->tlp_armed = true;
        if (pto < at) at = pto;
    }
    sim_at(s, at, data_timer_fire, k, k->gen);
}

/* Sends stream bytes [off, end) again (the last segment: a probe), with the FIN if it had one. */
static void send_again(struct sim *s, struct sim_sock *k, size_t off, size_t end)
{
    bool fin = k->fin_sent && end > k->sb_len;
    size_t dend = end > k->sb_len ? k->sb_len : end;
    struct sim_pkt *p = pkt_for(k, SIM_ACK | (dend > off ? SIM_PSH : 0) | (fin ? SIM_FIN : 0));
    if (!p) return;
    p->seq = k->iss + 1 + (uint32_t)off;
    if (dend > off) {
        p->plen = (uint32_t)(dend - off);
        p->data = malloc(p->plen);
        if (!p->data) {
            sim_pkt_free(p);
            return;
        }
        memcpy(p->data, k->sb + off, p->plen);
    }
    opts_established(k, p, dend > off);
    emit(s, k, p);
}

static void data_timer_fire(struct sim *s, void *arg, uint64_t gen)
{
    struct sim_sock *k = arg;
    if (gen != k->gen || k->st == ST_DONE || !k->nseg) return;
    if (k->tlp_armed) {
        size_t last = k->seg_end[k->nseg - 1];
        size_t first = k->nseg > 1 ? k->seg_end[k->nseg - 2] : k->s_una;
        if (last > k->sb_len && first > k->sb_len) first = k->sb_len; /* a FIN alone */
        send_again(s, k, first, last);
        k->tlp_done = true;
        k->rto_at = s->now + k->rto;
        data_timer(s, k);
        return;
    }
    /* RTO: go-back-N from the first unacknowledged byte */
    k->rto *= 2;
    k->in_loss = true;
    k->nseg = 0;
    k->s_nxt = k->s_una;
    if (k->fin_sent && !k->fin_acked) k->fin_sent = false;
    output(s, k);
}

static void output(struct sim *s, struct sim_sock *k)
{
    if (k->st != ST_EST || k->hold_write) return;
    bool sent = false;
    int prior = k->nseg;
    while (k->s_nxt < k->sb_len) {
        size_t inflight = (k->s_nxt - k->s_una + SIM_MSS - 1) / SIM_MSS;
        if (inflight >= SIM_IW) break; /* no congestion control beyond the initial window */
        size_t n = k->sb_len - k->s_nxt;
        if (n > SIM_MSS) n = SIM_MSS;
        struct sim_pkt *p = pkt_for(k, SIM_ACK | SIM_PSH);
        if (!p) return;
        p->seq = k->iss + 1 + (uint32_t)k->s_nxt;
        p->plen = (uint32_t)n;
        p->data = malloc(n);
        if (!p->data) {
            sim_pkt_free(p);
            return;
        }
        memcpy(p->data, k->sb + k->s_nxt, n);
        opts_established(k, p, true);
        k->mpc_data_pending = false;
        k->s_nxt += n;
        if (k->fin_queued && k->s_nxt == k->sb_len) p->flags |= SIM_FIN, k->fin_sent = true;
        seg_note(k, k->s_nxt + (p->flags & SIM_FIN ? 1 : 0), s->now);
        emit(s, k, p);
        sent = true;
        /* a host that answers soon after it received turns interactive (delayed ACKs) */
        if (k->r_nxt && s->now - k->last_rcv < ATO_MIN) k->pingpong = true;
    }
    if (k->fin_queued && !k->fin_sent && k->s_nxt == k->sb_len) {
        struct sim_pkt *p = pkt_for(k, SIM_ACK | SIM_FIN);
        if (!p) return;
        p->seq = k->iss + 1 + (uint32_t)k->sb_len;
        opts_established(k, p, false);
        k->fin_sent = true;
        seg_note(k, k->sb_len + 1, s->now);
        emit(s, k, p);
        sent = true;
    }
    if (!sent) return;
    if (k->pending_synack) { /* a TFO child: its timer is the SYN/ACK's */
        rto_arm(s, k);
        return;
    }
    /* Linux (tcp_event_new_data_sent): the RTO starts when data goes out with none in
     * flight, or again from the oldest segment's send when a probe was pending */
    if (!prior) k->rto_at = s->now + k->rto;
    else if (k->tlp_armed) k->rto_at = k->seg_tx[0] + k->rto;
    data_timer(s, k);
}

static void rto_fire(struct sim *s, void *arg, uint64_t gen)
{
    struct sim_sock *k = arg;
    if (gen != k->gen || k->st == ST_DONE) return;
    k->rto *= 2;
    if (k->st == ST_SYN_SENT || k->st == ST_SYN_RCVD || k->pending_synack) {
        if (++k->retries > SYN_RETRIES) {
            k->st = ST_DONE, k->failed = true, k->closed = true;
            if (k->ops && k->ops->failed) k->ops->failed(s, k);
            return;
        }
        if (k->st == ST_SYN_SENT) send_syn(s, k);
        else send_synack(s, k, false);
        return;
    }
    /* go-back-N from the first unacknowledged byte */
    k->s_nxt = k->s_una;
    k->nseg = 0;
    if (k->fin_sent && !k->fin_acked) k->fin_sent = false;
    output(s, k);
}

static void delack_fire(struct sim *s, void *arg, uint64_t gen)
{
    struct sim_sock *k = arg;
    if (gen != k->dgen || !k->delack || k->st == ST_DONE) return;
    send_ack(s, k);
}

/* ---- sockets ---- */
static struct sim_sock *sock_new(struct sim *s, struct sim_node *n)
{
    struct sim_sock *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    struct tcp_state *t = ts_of(s);
    k->node = n;
    k->iss = (t->isn += 0x01000193u);
    k->lkey = lk_splitmix64(&t->keyseed);
    k->lnonce = (uint32_t)lk_splitmix64(&t->keyseed);
    k->lidsn = mpx_mptcp_idsn(k->lkey, 1);
    k->ltoken = mpx_mptcp_token(k->lkey, 1);
    k->rto = RTO_INIT;
    k->next = t->socks;
    t->socks = k;
    return k;
}

static int sb_append(struct sim_sock *k, const uint8_t *d, size_t n)
{
    if (k->sb_len + n > k->sb_cap) {
        size_t nc = k->sb_cap ? k->sb_cap : 4096;
        while (nc < k->sb_len + n) nc *= 2;
        uint8_t *nb = realloc(k->sb, nc);
        if (!nb) return -1;
        k->sb = nb, k->sb_cap = nc;
    }
    memcpy(k->sb + k->sb_len, d, n);
    k->sb_len += n;
    return 0;
}

void sim_tcp_write(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n)
{
    if (k->fin_queued || sb_append(k, d, n)) return;
    output(s, k);
}

void sim_tcp_close(struct sim *s, struct sim_sock *k)
{
    if (k->fin_queued || k->st == ST_DONE) return;
    k->fin_queued = true;
    if (k->sub) sim_tcp_close(s, k->sub);
    output(s, k);
}

static struct sim_sock *join_open(struct sim *s, struct sim_sock *m);

struct sim_sock *sim_tcp_connect(struct sim *s, struct sim_node *n,
                                 const struct sim_connect_cfg *cfg,
                                 const struct sim_app_ops *ops, void *app)
{
    struct sim_sock *k = sock_new(s, n);
    if (!k) return NULL;
    k->active = true;
    k->laddr = cfg->laddr;
    for (int i = 0; !k->laddr && i < n->nif; i++) /* the interface on the target's /24 */
        if ((n->ifs[i].addr >> 8) == (cfg->raddr >> 8)) k->laddr = n->ifs[i].addr;
    if (!k->laddr) k->laddr = n->ifs[0].addr;
    k->raddr = cfg->raddr, k->rport = cfg->rport;
    struct tcp_state *t = ts_of(s);
    k->lport = t->eph_port;
    t->eph_port = t->eph_port >= 60999 ? 32768 : t->eph_port + 1;
    k->mptcp = cfg->mptcp;
    k->syn_recipe = cfg->syn_recipe ? cfg->syn_recipe : "mss,sackperm,ts,ws";
    k->tfo_try = cfg->tfo, k->tfo_no_cookie = cfg->tfo_no_cookie;
    k->ra = cfg->ra, k->helper = cfg->helper, k->want_join = cfg->join && cfg->mptcp;
    k->ops = ops, k->app = app;
    if (cfg->syn_len && sb_append(k, cfg->syn_data, cfg->syn_len)) return NULL;
    k->st = ST_SYN_SENT;
    k->t_syn = s->now;
    send_syn(s, k);
    return k;
}

int sim_tcp_listen(struct sim *s, struct sim_node *n, const struct sim_listen_cfg *cfg,
                   const struct sim_app_ops *ops, void *app)
{
    struct listener *l = calloc(1, sizeof *l);
    if (!l) return -1;
    l->node = n, l->cfg = *cfg, l->ops = ops, l->app = app;
    l->next = ts_of(s)->lis;
    ts_of(s)->lis = l;
    return 0;
}

size_t sim_tcp_open_socks(struct sim *s)
{
    size_t n = 0;
    for (struct sim_sock *k = ts_of(s)->socks; k; k = k->next)
        if (!k->closed) n++;
    return n;
}

void sim_tcp_reap(struct sim *s)
{
    struct sim_sock **pp = &ts_of(s)->socks;
    while (*pp) {
        struct sim_sock *k = *pp;
        if (k->closed) {
            *pp = k->next;
            sock_free(k);
        } else {
            pp = &k->next;
        }
    }
}

/* ---- input ---- */
static void maybe_done(struct sim_sock *k)
{
    if (k->fin_rcvd && k->fin_acked) k->closed = true, k->st = ST_DONE, k->gen++, k->dgen++;
}

static void deliver_data(struct sim *s, struct sim_sock *k, const struct sim_pkt *p,
                         uint32_t seq0)
{
    uint32_t exp = k->irs + 1 + (uint32_t)k->r_nxt;
    bool fin = p->flags & SIM_FIN;
    if (!p->plen && !fin) return;
    if (seq0 != exp || k->fin_rcvd) { /* out of order or duplicate: ACK at once */
        send_ack(s, k);
        return;
    }
    k->rx_pkts++;
    k->last_rcv = s->now;
    if (!k->rcv_mss) k->rcv_mss = 536; /* TCP_MSS_DEFAULT */
    if (p->plen >= k->rcv_mss) k->rcv_mss = p->plen < SIM_MSS ? p->plen : SIM_MSS;
    k->r_nxt += p->plen;
    if (fin) k->fin_rcvd = true;
    uint64_t tx0 = k->tx_pkts;
    if (p->plen && k->ops && k->ops->data) k->ops->data(s, k, p->data, p->plen);
    if (fin && !k->eof_told) {
        k->eof_told = true;
        if (k->is_join) sim_tcp_close(s, k);
        else if (k->ops && k->ops->eof) k->ops->eof(s, k);
    }
    if (k->tx_pkts != tx0) return; /* the answer carried the ACK */
    /* Linux acks at once when more than one receive MSS is unacknowledged */
    if (!k->pingpong || fin || k->r_nxt - k->r_acked > k->rcv_mss) {
        send_ack(s, k);
    } else if (!k->delack) {
        k->delack = true;
        sim_at(s, s->now + ATO_MIN, delack_fire, k, k->dgen);
    }
}

static void process_ack(struct sim *s, struct sim_sock *k, uint32_t ack)
{
    uint32_t base = k->iss + 1;
    uint32_t off = ack - base; /* stream bytes (+1 for our FIN) acknowledged */
    if (off > k->sb_len + (k->fin_sent ? 1 : 0)) return; /* not for anything we sent */
    size_t data = off > k->sb_len ? k->sb_len : off;
    if (data > k->s_una) {
        k->s_una = data;
        if (k->s_una > k->s_nxt) k->s_nxt = k->s_una;
        k->rto = k->srtt + RTO_MIN;
    }
    if (k->fin_sent && off == k->sb_len + 1) k->fin_acked = true;
    int acked = 0;
    while (acked < k->nseg && k->seg_end[acked] <= off) acked++;
    if (!acked) return;
    memmove(k->seg_end, k->seg_end + acked, (size_t)(k->nseg - acked) * sizeof k->seg_end[0]);
    memmove(k->seg_tx, k->seg_tx + acked, (size_t)(k->nseg - acked) * sizeof k->seg_tx[0]);
    k->nseg -= acked;
    k->tlp_done = false;
    if (!k->nseg) {
        k->in_loss = false;
        rto_stop(k);
        return;
    }
    /* progress with data still out: the RTO from now, a probe rescheduled (tcp_set_xmit_timer) */
    k->rto_at = s->now + k->rto;
    if (k->st == ST_EST && !k->pending_synack) data_timer(s, k);
}

static void established_in(struct sim *s, struct sim_sock *k, struct sim_pkt *p)
{
    if (p->flags & SIM_RST) {
        k->st = ST_DONE, k->closed = true, k->failed = true, k->gen++;
        if (k->ops && k->ops->failed) k->ops->failed(s, k);
        return;
    }
    if (p->flags & SIM_ACK) process_ack(s, k, p->ack);
    if (k->want_join && !k->joined && k->mptcp) {
        k->joined = true; /* fully established: the path manager adds the subflow */
        k->sub = join_open(s, k);
    }
    deliver_data(s, k, p, p->seq);
    output(s, k);
    maybe_done(k);
}

static void synsent_in(struct sim *s, struct sim_sock *k, struct sim_pkt *p)
{
    if ((p->flags & (SIM_SYN | SIM_ACK)) != (SIM_SYN | SIM_ACK)) return;
    uint32_t acked = p->ack - (k->iss + 1);
    if (acked > k->syn_data) return;
    k->irs = p->seq;
    k->s_una = k->s_nxt = acked; /* unacknowledged SYN data goes again after the handshake */
    k->syn_acked = acked;
    if (k->is_join) k->join_up = true;
    if (p->tfo_cookie) store_cookie(s, k->raddr);
    if (!p->mpc && !p->join) k->mptcp = false; /* fallback: the peer is plain TCP */
    if (p->mpc) set_rkey(k, p->mkey);
    if (p->join) k->rnonce = p->mnonce;
    k->srtt = k->retries ? k->srtt : s->now - k->t_syn;
    k->rto = k->srtt + RTO_MIN;
    rto_stop(k);
    k->st = ST_EST;
    k->last_rcv = s->now;
    k->mpc_data_pending = k->mptcp && !k->is_join;
    third_ack(s, k);
    if (!k->is_join && k->ops && k->ops->connected) k->ops->connected(s, k);
    output(s, k);
}

static struct sim_sock *find_sock(struct sim *s, struct sim_node *n, const struct sim_pkt *p)
{
    for (struct sim_sock *k = ts_of(s)->socks; k; k = k->next)
        if (k->node == n && !k->closed && k->laddr == p->dst && k->lport == p->dport &&
            k->raddr == p->src && k->rport == p->sport)
            return k;
    return NULL;
}

static bool intercepts(const struct listener *l, const struct sim_pkt *p)
{
    switch (l->cfg.intercept) {
    case SIM_IC_MPTCP: return p->mpc || p->join;
    case SIM_IC_RA: return p->ra;
    case SIM_IC_HELPER: return p->helper;
    default: return false;
    }
}

static struct listener *find_listener(struct sim *s, struct sim_node *n, const struct sim_pkt *p)
{
    for (struct listener *l = ts_of(s)->lis; l; l = l->next) {
        if (l->node != n) continue;
        if (l->cfg.intercept != SIM_IC_NONE) {
            if (!sim_node_owns(n, p->dst) && intercepts(l, p)) return l;
        } else if (sim_node_owns(n, p->dst) && l->cfg.port == p->dport) {
            return l;
        }
    }
    return NULL;
}

static void passive_open(struct sim *s, struct sim_node *n, struct listener *l, struct sim_pkt *p)
{
    struct sim_sock *k = sock_new(s, n);
    if (!k) return;
    k->laddr = p->dst, k->lport = p->dport, k->raddr = p->src, k->rport = p->sport;
    k->irs = p->seq;
    k->is_join = p->join;
    if (p->join) {
        k->rnonce = p->mnonce;
        for (struct sim_sock *m = ts_of(s)->socks; m; m = m->next)
            if (m->node == n && m->mptcp && !m->is_join && /* closed ones too: a late join */
                m->ltoken == p->mtoken)
                k->master = m;
    }
    k->mptcp = l->cfg.mptcp && (p->mpc || p->join);
    k->lcfg = &l->cfg;
    k->ops = l->ops, k->app = l->app;
    k->st = ST_SYN_RCVD;
    k->last_rcv = k->t_syn = s->now;
    bool issue = l->cfg.tfo == SIM_TFO_COOKIE && p->tfo_req;
    bool take = p->plen && ((l->cfg.tfo == SIM_TFO_NO_COOKIE) ||
                            (l->cfg.tfo == SIM_TFO_COOKIE && p->tfo_cookie));
    if (take) k->r_nxt = p->plen;
    send_synack(s, k, issue);
    if (take && !k->is_join) { /* a TFO child: accept() returns now, with the data */
        k->hold_write = k->mptcp && l->cfg.hold_first_write;
        k->st = ST_EST; /* may write (unless held) before the third ACK, as Linux allows */
        k->rto = RTO_INIT;
        k->pending_synack = true;
        k->syn_cookie = p->tfo_cookie;
        if (k->ops && k->ops->accepted) k->ops->accepted(s, k);
        if (k->ops && k->ops->data) k->ops->data(s, k, p->data, p->plen);
    }
}

static bool host_rx(struct sim *s, struct sim_node *n, struct sim_pkt *p)
{
    struct sim_sock *k = find_sock(s, n, p);
    if (!k) {
        struct listener *l = (p->flags & SIM_SYN) && !(p->flags & SIM_ACK)
                                 ? find_listener(s, n, p)
                                 : NULL;
        if (!l) return sim_node_owns(n, p->dst) ? (sim_pkt_free(p), true) : false;
        passive_open(s, n, l, p);
        sim_pkt_free(p);
        return true;
    }
    if (!(p->flags & SIM_SYN) && p->mkey && !k->rkey) set_rkey(k, p->mkey);
    if (p->dsn64 && mp_conn(k)) mp_conn(k)->ack64 = true;
    k->last_rcv = s->now;
    if (k->st == ST_SYN_SENT) {
        synsent_in(s, k, p);
    } else if (p->flags & SIM_SYN) { /* a retransmitted SYN or SYN/ACK: answer again */
        if (!k->active && (k->st != ST_EST || k->pending_synack)) send_synack(s, k, false);
        else if (k->active && (p->flags & SIM_ACK)) third_ack(s, k); /* ours was lost */
    } else if (k->st == ST_SYN_RCVD || k->pending_synack) {
        uint32_t acked = p->ack - (k->iss + 1);
        if ((p->flags & SIM_ACK) && acked <= k->s_nxt + (k->fin_sent ? 1 : 0)) {
            bool was_child = k->st == ST_EST;
            k->st = ST_EST, k->pending_synack = false;
            k->srtt = k->retries ? k->srtt : s->now - k->t_syn;
            k->rto = k->srtt + RTO_MIN;
            rto_stop(k);
            if (k->nseg) { /* data a TFO child sent before: its RTO from now (Linux rearms) */
                k->rto_at = s->now + k->rto;
                data_timer(s, k);
            }
            k->hold_write = false;
            if (!was_child && !k->is_join && k->ops && k->ops->accepted) k->ops->accepted(s, k);
            if (was_child && !k->is_join && k->ops && k->ops->synack_acked) k->ops->synack_acked(s, k);
            if (k->is_join) send_ack(s, k); /* MP_JOIN: the fourth ACK */
            established_in(s, k, p);
        }
    } else if (k->st == ST_EST) {
        established_in(s, k, p);
    }
    sim_pkt_free(p);
    return true;
}

void sim_tcp_host(struct sim *s, struct sim_node *n) { n->rx = host_rx; }

static struct sim_sock *join_open(struct sim *s, struct sim_sock *m)
{
    struct sim_node *n = m->node;
    uint32_t la = 0;
    for (int i = 0; i < n->nif; i++)
        if (n->ifs[i].addr != m->laddr) {
            la = n->ifs[i].addr;
            break;
        }
    if (!la) return NULL;
    struct sim_sock *k = sock_new(s, n);
    if (!k) return NULL;
    k->active = true, k->is_join = true, k->mptcp = true;
    k->master = m;
    k->laddr = la, k->raddr = m->raddr, k->rport = m->rport;
    struct tcp_state *t = ts_of(s);
    k->lport = t->eph_port;
    t->eph_port = t->eph_port >= 60999 ? 32768 : t->eph_port + 1;
    k->st = ST_SYN_SENT;
    k->t_syn = s->now;
    send_syn(s, k);
    return k;
}

void sim_tcp_abandon(struct sim *s)
{
    for (struct sim_sock *k = ts_of(s)->socks; k; k = k->next)
        if (!k->closed) k->closed = true, k->st = ST_DONE, k->gen++, k->dgen++;
}
