/* Latency timeline per connection (SYN, SYN/ACK, ACK, first request byte, first response
 * byte, TTFB, round trips before the request could leave) and the join of a client's
 * upstream connection with the proxy's downstream connection across captures. */
#include "pcap-analysis/analyze.h"
#include "pcap-analysis/index.h"
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

/* Candidates of the signalled join: an unsignalled connection with a SYN. */
static bool down_signalled(const an_conn *d) { return !d->target_af && d->t_syn != AN_NONE; }
/* Candidates of the implicit join, fixed before it starts (taken ones are skipped by the
 * index as they go). */
static bool down_implicit(const an_conn *d)
{
    return !d->up && !d->syn_mpc && !d->is_join && d->t_syn != AN_NONE;
}

/* Upstream (client->proxy) connections whose signal names a target are joined with the
 * downstream connection to that target (same or another capture, itself unsignalled)
 * whose SYN is the first after the upstream SYN. Each upstream connection, in capture
 * order, takes the earliest free candidate (ties: the one seen first) through an endpoint
 * index, so the join is O(n log n) in connections. */
void an_join_captures(an_ctx *x)
{
    an_epidx ix;
    an_epidx_build(&ix, &x->t, down_signalled, false);
    for (an_conn *u = x->t.head; u; u = u->next) {
        if (!u->target_af || u->t_syn == AN_NONE) continue;
        an_ep_key k;
        memset(&k, 0, sizeof k);
        k.af = u->target_af;
        memcpy(k.ip, u->target_ip, u->target_af == 6 ? 16 : 4);
        k.port = u->target_port;
        k.file = -1;
        size_t end, i = an_epidx_find(&ix, &k, u->t_syn, &end);
        if (i >= end) continue;
        an_conn *best = ix.e[i];
        an_epidx_take(&ix, i);
        u->down = best; best->up = u;
    }
    an_epidx_free(&ix);
    /* Implicit (on-path) interception: an MPTCP connection without a signalled target and,
     * in another capture, a new plain TCP connection to the same server endpoint opened
     * within 3 s after it. The same connection seen at two points (same 4-tuple and ISN) is
     * not a downstream connection. The index is per capture: each other capture's earliest
     * free candidate competes. */
    an_epidx_build(&ix, &x->t, down_implicit, true);
    for (an_conn *u = x->t.head; u; u = u->next) {
        if (u->target_af || u->down || u->is_join || !u->syn_mpc || u->t_syn == AN_NONE) continue;
        an_conn *best = NULL;
        size_t best_i = 0;
        size_t al = u->af == 6 ? 16 : 4;
        for (int f = 0; f < x->nfiles; f++) {
            if (f == u->file_idx) continue;
            an_ep_key k;
            an_ep_key_of(&k, u, f);
            size_t end, i = an_epidx_find(&ix, &k, u->t_syn, &end);
            for (; i < end; i = an_epidx_free_from(&ix, i + 1)) {
                an_conn *d = ix.e[i];
                if (an_dt(d->t_syn, u->t_syn) > 3000000) break;
                if (d->cport == u->cport && !memcmp(d->cli, u->cli, al) && d->d[0].isn == u->d[0].isn) continue;
                if (!best || d->t_syn < best->t_syn || (d->t_syn == best->t_syn && d->id < best->id)) { best = d; best_i = i; }
                break;
            }
        }
        if (best) { an_epidx_take(&ix, best_i); u->down = best; best->up = u; u->intercepted = true; }
    }
    an_epidx_free(&ix);
}
