#include "agents/optd/core.h"
#include "agents/optd/ctl.h"
#include "agents/optd/mangle.h"
#include "proto/buf.h"
#include "proto/mptcp.h"
#include "proto/tcpopt.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void optd_init(optd_t *d)
{
    memset(d, 0, sizeof *d);
    d->subtype = MPX_MPOPT_SUBTYPE_DEFAULT;
}

static size_t alen(int family) { return family == 6 ? 16 : 4; }

static bool has_mpc(const mpx_tcpopts *o, bool *is_join)
{
    *is_join = false;
    for (size_t i = 0; i < o->n; i++) {
        const mpx_tcpopt *x = &o->opt[i];
        if (x->kind != MPX_TCPOPT_MPTCP || x->dlen < 1) continue;
        if ((x->data[0] >> 4) == 0) return true;
        if ((x->data[0] >> 4) == 1) *is_join = true;
    }
    return false;
}

static reg_t *reg_find(optd_t *d, int what, const optd_pkt *v)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < REG_MAX; i++) {
        reg_t *r = &d->reg[i];
        if (r->what != what || now - r->t > ENTRY_TTL) continue;
        if (r->by_dst ? (r->family == v->family && r->port == v->dport &&
                         !memcmp(r->addr, v->daddr, alen(v->family)))
                      : r->port == v->sport)
            return r;
    }
    return NULL;
}

/* The first kind-30 option of subtype `sub` in o, decoded into *m; false if none. */
static bool find_mptcp(const uint8_t *area, const mpx_tcpopts *o, int sub, uint8_t flags, mpx_mptcp_opt *m)
{
    for (size_t i = 0; i < o->n; i++) {
        const mpx_tcpopt *x = &o->opt[i];
        mpx_err e = { 0 };
        if (x->kind != MPX_TCPOPT_MPTCP || x->dlen < 1 || (x->data[0] >> 4) != sub) continue;
        if (mpx_mptcp_decode(area + x->off, x->len, mpx_mpctx_from_flags(flags), m, &e) == 0) return true;
    }
    return false;
}

static bool tok_known(const optd_t *d, uint32_t token, time_t now)
{
    for (size_t i = 0; i < TOK_MAX; i++)
        if (d->tok[i].used && d->tok[i].token == token && now - d->tok[i].t <= ENTRY_TTL) return true;
    return false;
}

static void tok_add(optd_t *d, uint32_t token, time_t now)
{
    d->tok[d->tok_next] = (tok_t){ token, now, true };
    d->tok_next = (d->tok_next + 1) % TOK_MAX;
    d->c.tokens++;
}

/* add mode, an incoming SYN/ACK (client-side iptables PREROUTING rule): if it answers a SYN
 * from a port registered for the Router Alert, remember the token of the peer's key. The
 * connection's MP_JOINs carry that token and go out from other ports; they get the Router
 * Alert too, so an on-path HAG takes them along with the first subflow. */
static void add_learn_synack(optd_t *d, const uint8_t *p, const optd_pkt *v)
{
    mpx_tcpopts o;
    mpx_mptcp_opt m;
    d->c.synack++;
    if (mpx_tcpopt_walk(p + v->tcp_off + 20, v->tcp_hlen - 20, &o) < 0) return;
    if (!find_mptcp(p + v->tcp_off + 20, &o, MPX_MP_CAPABLE, v->flags, &m) || !m.u.mpc.has_snd_key) return;
    time_t now = time(NULL);
    for (size_t i = 0; i < REG_MAX; i++) {
        const reg_t *r = &d->reg[i];
        if (r->what == REG_RA && !r->by_dst && r->port == v->dport && now - r->t <= ENTRY_TTL) {
            tok_add(d, mpx_mptcp_token(m.u.mpc.snd_key, m.u.mpc.version ? 1 : 0), now);
            return;
        }
    }
}

/* add mode: returns the verdict packet length (mangled in place) */
size_t optd_add_signals(optd_t *d, uint8_t *p, size_t len, size_t cap)
{
    optd_pkt v;
    mpx_tcpopts o;
    const char *why = NULL;
    size_t nl = len;
    bool join;
    if (optd_pkt_parse(p, len, &v, &why) < 0 || !(v.flags & MPX_TH_SYN)) return len;
    if (v.flags & MPX_TH_ACK) { add_learn_synack(d, p, &v); return len; }
    d->c.syn++;
    if (mpx_tcpopt_walk(p + v.tcp_off + 20, v.tcp_hlen - 20, &o) < 0) { d->c.errors++; return len; }
    bool mpc = has_mpc(&o, &join);
    mpx_mptcp_opt jm;
    bool join_ra = join && find_mptcp(p + v.tcp_off + 20, &o, MPX_MP_JOIN, v.flags, &jm) &&
                   tok_known(d, jm.u.mpj.token, time(NULL));
    reg_t *r = reg_find(d, REG_OPT, &v);
    uint8_t opt[40];
    size_t optlen = 0;
    if (mpc && r) {
        memcpy(opt, r->opt, r->optlen);
        optlen = r->optlen;
    } else if (mpc && d->prefer_all) {
        mpx_prefer_proxy pp = { d->subtype, 0 };
        mpx_wr w = mpx_wr_init(opt, sizeof opt);
        mpx_prefer_proxy_encode(&pp, &w);
        optlen = w.len;
    }
    if (optlen) {
        if (optd_pkt_add_tcpopt(p, len, cap, opt, optlen, &nl, &why) == 0) {
            d->c.mangled++;
            len = nl;
        } else {
            if (!strcmp(why, "no-room")) d->c.nofit++; else d->c.errors++;
            if (d->verbose) fprintf(stderr, "mpx-optd: sport %u: option not added: %s\n", v.sport, why);
        }
    }
    if (v.family == 4 && (d->ra_all || reg_find(d, REG_RA, &v) || join_ra)) {
        if (optd_pkt_add_ipv4_ra(p, len, cap, &nl, &why) == 0) { d->c.ra++; d->c.join_marked += join_ra; len = nl; }
        else d->c.errors++;
    }
    return len;
}

/* read mode, a SYN/ACK the local proxy sends (iptables OUTPUT): when it answers a SYN that
 * carried MP_PREFER_PROXY, remember the token of its key; the joins of that connection
 * carry it (RFC 8684 3.2), so exactly they are marked, not every join to the destination. */
static void read_synack(optd_t *d, const uint8_t *p, const optd_pkt *v, const mpx_tcpopts *o)
{
    mpx_mptcp_opt m;
    d->c.synack++;
    if (!find_mptcp(p + v->tcp_off + 20, o, MPX_MP_CAPABLE, v->flags, &m) || !m.u.mpc.has_snd_key) return;
    time_t now = time(NULL);
    for (size_t i = 0; i < SEEN_MAX; i++) {
        seen_t *e = &d->seen[i];
        if (e->prefer && e->family == v->family && e->sport == v->dport &&
            !memcmp(e->saddr, v->daddr, alen(v->family)) && now - e->t <= ENTRY_TTL) {
            tok_add(d, mpx_mptcp_token(m.u.mpc.snd_key, m.u.mpc.version ? 1 : 0), now);
            return;
        }
    }
}

/* read mode: records signals, returns the mark to set (0 = none) */
uint32_t optd_read_signals(optd_t *d, const uint8_t *p, size_t len)
{
    optd_pkt v;
    mpx_tcpopts o;
    const char *why;
    bool join;
    if (optd_pkt_parse(p, len, &v, &why) < 0 || !(v.flags & MPX_TH_SYN)) return 0;
    if (v.flags & MPX_TH_ACK) {
        if (mpx_tcpopt_walk(p + v.tcp_off + 20, v.tcp_hlen - 20, &o) == 0) read_synack(d, p, &v, &o);
        return 0;
    }
    d->c.syn++;
    if (mpx_tcpopt_walk(p + v.tcp_off + 20, v.tcp_hlen - 20, &o) < 0) { d->c.errors++; return 0; }
    bool mpc = has_mpc(&o, &join);
    seen_t s = { .family = v.family, .sport = v.sport, .dport = v.dport, .t = time(NULL) };
    memcpy(s.saddr, v.saddr, 16);
    memcpy(s.daddr, v.daddr, 16);
    for (size_t i = 0; mpc && i < o.n; i++) {
        const mpx_tcpopt *x = &o.opt[i];
        mpx_err e = { 0 };
        if (x->kind != MPX_TCPOPT_MPTCP || x->dlen < 1 || (x->data[0] >> 4) != d->subtype) continue;
        const uint8_t *op = p + v.tcp_off + 20 + x->off;
        if (x->len == 4 && mpx_prefer_proxy_decode(op, x->len, d->subtype, &(mpx_prefer_proxy){0}, &e) == 0)
            s.prefer = true;
        else if (mpx_mpconvert_decode(op, x->len, d->subtype, MPX_MPCONV_L09, &s.mc, &e) == 0)
            s.convert = true;
        else
            d->c.errors++;
    }
    uint32_t mark = 0;
    if (s.prefer) { d->c.prefer++; mark |= d->mark_prefer; }
    if (s.convert) { d->c.convert++; mark |= d->mark_convert; }
    if (s.prefer || s.convert) {
        d->seen[d->seen_next] = s;
        d->seen_next = (d->seen_next + 1) % SEEN_MAX;
    } else if (join && d->mark_prefer && d->c.synack) {
        /* MP_PREFER_PROXY rides only in the first SYN (plain-mode -10 4): the proxy must
         * also take the joins of the connections it took: those carrying their token. */
        mpx_mptcp_opt m;
        if (find_mptcp(p + v.tcp_off + 20, &o, MPX_MP_JOIN, v.flags, &m) && tok_known(d, m.u.mpj.token, s.t)) {
            d->c.join_marked++;
            mark |= d->mark_prefer;
        }
    } else if (join && d->mark_prefer) {
        /* No SYN/ACKs queued to us (no OUTPUT rule): fall back to the joins to the same
         * destination address:port (also catches a native connection's joins there). */
        for (size_t i = 0; i < SEEN_MAX; i++) {
            seen_t *e = &d->seen[i];
            if (e->prefer && e->family == v.family && e->dport == v.dport &&
                !memcmp(e->daddr, v.daddr, alen(v.family)) && s.t - e->t <= ENTRY_TTL) {
                d->c.join_marked++;
                mark |= d->mark_prefer;
                break;
            }
        }
    }
    return mark;
}

static int parse_addr(const char *s, uint8_t *a, int *family)
{
    memset(a, 0, 16);
    if (inet_pton(AF_INET, s, a) == 1) { *family = 4; return 0; }
    if (inet_pton(AF_INET6, s, a) == 1) { *family = 6; return 0; }
    return -1;
}

void optd_stats_json(const optd_t *d, char *out, size_t cap)
{
    snprintf(out, cap,
             "{\"mode\":\"%s\",\"syn\":%lu,\"mangled\":%lu,\"nofit\":%lu,\"ra_added\":%lu,"
             "\"prefer_seen\":%lu,\"mpconvert_seen\":%lu,\"join_marked\":%lu,\"lookups\":%lu,"
             "\"hits\":%lu,\"synack_seen\":%lu,\"tokens\":%lu,\"errors\":%lu}",
             d->read_mode ? "read" : "add", d->c.syn, d->c.mangled, d->c.nofit, d->c.ra,
             d->c.prefer, d->c.convert, d->c.join_marked, d->c.lookups, d->c.hits, d->c.synack, d->c.tokens, d->c.errors);
}

/* Handles one control request (agents/optd/ctl.h); writes the reply into out. */
void optd_control(optd_t *d, char *req, char *out, size_t cap)
{
    optd_ctl_req q;
    optd_ctl_verb verb = optd_ctl_parse(req, &q);
    if (verb == OPTD_CTL_STATS) { optd_stats_json(d, out, cap); return; }
    if (verb == OPTD_CTL_GET) {
        uint8_t a[16];
        int fam;
        d->c.lookups++;
        if (parse_addr(q.addr, a, &fam) < 0) { snprintf(out, cap, "err bad-address"); return; }
        for (size_t k = 0; k < SEEN_MAX; k++) {
            size_t i = (d->seen_next + SEEN_MAX - 1 - k) % SEEN_MAX;   /* newest first */
            seen_t *s = &d->seen[i];
            if (s->convert && s->family == fam && s->sport == q.port && !memcmp(s->saddr, a, alen(fam))) {
                char txt[INET6_ADDRSTRLEN];
                d->c.hits++;
                if (s->mc.family == 0) { snprintf(out, cap, OPTD_CTL_NONE_NOADDR); return; }
                inet_ntop(s->mc.family == 6 ? AF_INET6 : AF_INET, s->mc.addr, txt, sizeof txt);
                snprintf(out, cap, s->mc.family == 6 ? OPTD_CTL_TARGET " [%s]:%u proto %u" : OPTD_CTL_TARGET " %s:%u proto %u",
                         txt, s->mc.has_port ? s->mc.port : s->dport, s->mc.protocol);
                return;
            }
        }
        snprintf(out, cap, OPTD_CTL_NONE);
        return;
    }
    if (verb == OPTD_CTL_BAD) { snprintf(out, cap, "err usage"); return; }
    bool del = verb == OPTD_CTL_DEL;
    int what = verb == OPTD_CTL_OPT ? REG_OPT : verb == OPTD_CTL_RA ? REG_RA : 0;
    reg_t r = { .what = what, .t = time(NULL), .by_dst = q.by_dst, .port = q.port };
    if (q.by_dst && parse_addr(q.addr, r.addr, &r.family) < 0) { snprintf(out, cap, "err bad-address"); return; }
    for (size_t k = 0; k < REG_MAX; k++) {   /* a new registration replaces an old one */
        reg_t *o = &d->reg[k];
        if (o->what && o->by_dst == r.by_dst && o->port == r.port &&
            (!r.by_dst || !memcmp(o->addr, r.addr, 16)) && (del || o->what == what))
            o->what = 0;
    }
    if (del) { snprintf(out, cap, OPTD_CTL_OK); return; }
    if (what == REG_OPT) {
        if (!q.hex) { snprintf(out, cap, "err missing-hex"); return; }
        long n = mpx_hex_parse(q.hex, r.opt, sizeof r.opt);
        if (n < 2 || r.opt[1] != n) { snprintf(out, cap, "err bad-option"); return; }
        r.optlen = (size_t)n;
    }
    for (size_t k = 0; k < REG_MAX; k++)
        if (!d->reg[k].what || r.t - d->reg[k].t > ENTRY_TTL) { d->reg[k] = r; snprintf(out, cap, OPTD_CTL_OK); return; }
    snprintf(out, cap, "err full");
}
