/* Latency timeline per connection (SYN, SYN/ACK, ACK, first request byte, first response
 * byte, TTFB, round trips before the request could leave) and the join of a client's
 * upstream connection with the proxy's downstream connection across captures. */
#include "pcap-analysis/analyze.h"
#include <string.h>

/* First segment of direction d that carries a byte at or beyond stream offset `from`. */
static bool first_beyond(const an_conn *c, int d, uint64_t from, int64_t *t, uint64_t *pkt)
{
    int64_t best = AN_NONE;
    uint64_t bp = 0;
    for (size_t i = 0; i < c->d[d].nsegs; i++) {
        const an_seg *s = &c->d[d].segs[i];
        if (s->end > from && (best == AN_NONE || s->t_us < best)) { best = s->t_us; bp = s->pkt; }
    }
    if (best == AN_NONE) return false;
    *t = best; *pkt = bp;
    return true;
}

void an_timeline_finish(an_conn *c)
{
    c->t_first_req = c->t_first_resp = AN_NONE;
    c->rtts_before_data = -1;
    first_beyond(c, 0, c->sig_len_c2s, &c->t_first_req, &c->pkt_first_req);
    first_beyond(c, 1, c->sig_len_s2c, &c->t_first_resp, &c->pkt_first_resp);
    if (c->t_first_req == AN_NONE || !c->saw_syn) return;
    /* Round trips the client waited before the request left: each time a SYN/ACK or data
     * from the server is followed by the client's next segment, one exchange completed. */
    int rtts = 0;
    bool pending = false;
    for (size_t i = 0; i < c->nev; i++) {
        const an_event *e = &c->ev[i];
        if (e->dir == 1 && ((e->flags & TH_SYN) || e->len > 0)) pending = true;
        else if (e->dir == 0 && pending) { rtts++; pending = false; }
        if (e->dir == 0 && e->pkt == c->pkt_first_req) break;
    }
    c->rtts_before_data = rtts;
}

/* Upstream (client->proxy) connections whose signal names a target are joined with the
 * downstream connection to that target (same or another capture, itself unsignalled)
 * whose SYN is the first after the upstream SYN. */
void an_join_captures(an_ctx *x)
{
    for (an_conn *u = x->t.head; u; u = u->next) {
        if (!u->target_af || u->t_syn == AN_NONE) continue;
        an_conn *best = NULL;
        size_t n = u->target_af == 6 ? 16 : 4;
        for (an_conn *d = x->t.head; d; d = d->next) {
            if (d == u || d->up || d->target_af || d->t_syn == AN_NONE) continue;
            if (d->sport != u->target_port || d->af != u->target_af) continue;
            if (memcmp(d->srv, u->target_ip, n)) continue;
            if (d->t_syn < u->t_syn) continue;
            if (!best || d->t_syn < best->t_syn) best = d;
        }
        if (best) { u->down = best; best->up = u; }
    }
    /* Implicit (on-path) interception: an MPTCP connection without a signalled target and,
     * in another capture, a new plain TCP connection to the same server endpoint opened
     * within 3 s after it. The same connection seen at two points (same 4-tuple and ISN) is
     * not a downstream connection. */
    for (an_conn *u = x->t.head; u; u = u->next) {
        if (u->target_af || u->down || u->is_join || !u->syn_mpc || u->t_syn == AN_NONE) continue;
        an_conn *best = NULL;
        size_t n = u->af == 6 ? 16 : 4;
        for (an_conn *d = x->t.head; d; d = d->next) {
            if (d == u || d->up || d->file_idx == u->file_idx || d->syn_mpc || d->is_join || d->t_syn == AN_NONE) continue;
            if (d->af != u->af || d->sport != u->sport || memcmp(d->srv, u->srv, n)) continue;
            if (d->t_syn < u->t_syn || an_dt(d->t_syn, u->t_syn) > 3000000) continue;
            if (d->cport == u->cport && !memcmp(d->cli, u->cli, n) && d->d[0].isn == u->d[0].isn) continue;
            if (!best || d->t_syn < best->t_syn) best = d;
        }
        if (best) { u->down = best; best->up = u; u->intercepted = true; }
    }
}
