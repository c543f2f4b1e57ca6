/* mpx-optd: puts experimental signals into kernel-made SYNs and reads them back, through
 * NFQUEUE (the kernel's MPTCP stack owns the kind-30 options, so BPF sock_ops cannot add a
 * second one: kernel-facts.md Q5).
 *
 *   add   (client side, iptables mangle/POSTROUTING SYNs -> NFQUEUE): appends MP_CONVERT /
 *         MP_PREFER_PROXY options to MP_CAPABLE SYNs and the IPv4 Router Alert to marked
 *         flows, as registered over the control socket (or for every SYN with --*-all).
 *   read  (proxy side, iptables raw/PREROUTING SYNs -> NFQUEUE): decodes those options,
 *         remembers source address:port -> MP_CONVERT target for the proxy to look up, and
 *         sets a packet mark on alerted SYNs so a later TPROXY rule can select them. With the
 *         local SYN/ACKs queued too (iptables mangle/OUTPUT), it learns the MPTCP token of
 *         every connection taken for MP_PREFER_PROXY and marks exactly the MP_JOINs carrying
 *         it; without them, every join to the same destination address:port.
 *
 * Control socket (unix datagram, text; every request gets one reply datagram):
 *   opt sport PORT HEX | opt dst ADDR PORT HEX   append option HEX (add mode)
 *   ra sport PORT | ra dst ADDR PORT            add Router Alert (add mode); with `sport`
 *                                               also to the connection's MP_JOINs, known by
 *                                               the token of the SYN/ACK's key (incoming
 *                                               SYN/ACKs must be queued too)
 *   del sport PORT | del dst ADDR PORT          forget a registration
 *   get ADDR PORT                               MP_CONVERT target seen from ADDR:PORT (read)
 *   stats                                       JSON counters
 * `mpx-optd listen --port P [--port P...]` holds IP_TRANSPARENT MPTCP listeners on the
 * destination ports of intercepted connections, for their MP_JOINs: the kernel only accepts a
 * join on a listener with the connection's own port (else MPTcpExtMismatchPortSynRx), and a
 * tproxied connection keeps the original destination port. The token finds the connection,
 * whichever process owns it; anything accepted here (a new connection) is closed.
 * `mpx-optd ctl PATH REQUEST...` sends one request and prints the reply (exit 0 for a reply
 * not starting with "err", 1 for an "err" reply, 3 when the daemon does not answer).
 * Exit codes: 0 normal stop (SIGTERM/SIGINT), 2 usage, 3 setup error. */
#include "agents/optd/mangle.h"
#include "proto/buf.h"
#include "proto/mpopt.h"
#include "proto/mptcp.h"
#include "proto/tcpopt.h"
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REG_MAX   1024
#define SEEN_MAX  4096
#define ENTRY_TTL 120   /* seconds a registration or a seen target is kept */

enum { REG_OPT = 1, REG_RA = 2 };

typedef struct {
    int      what;           /* REG_OPT or REG_RA; 0 = free slot */
    bool     by_dst;         /* match destination address:port, else source port */
    uint8_t  addr[16];
    int      family;
    uint16_t port;
    uint8_t  opt[40];
    size_t   optlen;
    time_t   t;
} reg_t;

typedef struct {             /* read mode: what a SYN from saddr:sport carried */
    int      family;
    uint8_t  saddr[16];
    uint16_t sport;
    uint8_t  daddr[16];
    uint16_t dport;
    bool     convert;
    mpx_mpconvert mc;
    bool     prefer;
    time_t   t;
} seen_t;

#define TOK_MAX 4096
typedef struct { uint32_t token; time_t t; bool used; } tok_t;

typedef struct {
    bool     read_mode, prefer_all, ra_all, verbose;
    tok_t    tok[TOK_MAX];       /* read: MPTCP tokens of the connections taken by prefer */
    size_t   tok_next;
    uint8_t  subtype;
    uint32_t mark_prefer, mark_convert;
    struct nfq_q_handle *qh;
    reg_t    reg[REG_MAX];
    seen_t   seen[SEEN_MAX];
    size_t   seen_next;
    struct { unsigned long syn, mangled, nofit, ra, errors, prefer, convert, lookups, hits,
             join_marked, synack, tokens; } c;
} optd_t;

static volatile sig_atomic_t g_stop;
static void on_sig(int s) { (void)s; g_stop = 1; }

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

static reg_t *reg_find(optd_t *d, int what, const mpx_pkt *v)
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
static void add_learn_synack(optd_t *d, const uint8_t *p, const mpx_pkt *v)
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
static size_t add_signals(optd_t *d, uint8_t *p, size_t len, size_t cap)
{
    mpx_pkt v;
    mpx_tcpopts o;
    const char *why = NULL;
    size_t nl = len;
    bool join;
    if (mpx_pkt_parse(p, len, &v, &why) < 0 || !(v.flags & MPX_TH_SYN)) return len;
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
        if (mpx_pkt_add_tcpopt(p, len, cap, opt, optlen, &nl, &why) == 0) {
            d->c.mangled++;
            len = nl;
        } else {
            if (!strcmp(why, "no-room")) d->c.nofit++; else d->c.errors++;
            if (d->verbose) fprintf(stderr, "mpx-optd: sport %u: option not added: %s\n", v.sport, why);
        }
    }
    if (v.family == 4 && (d->ra_all || reg_find(d, REG_RA, &v) || join_ra)) {
        if (mpx_pkt_add_ipv4_ra(p, len, cap, &nl, &why) == 0) { d->c.ra++; d->c.join_marked += join_ra; len = nl; }
        else d->c.errors++;
    }
    return len;
}

/* read mode, a SYN/ACK the local proxy sends (iptables OUTPUT): when it answers a SYN that
 * carried MP_PREFER_PROXY, remember the token of its key; the joins of that connection
 * carry it (RFC 8684 3.2), so exactly they are marked, not every join to the destination. */
static void read_synack(optd_t *d, const uint8_t *p, const mpx_pkt *v, const mpx_tcpopts *o)
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
static uint32_t read_signals(optd_t *d, const uint8_t *p, size_t len)
{
    mpx_pkt v;
    mpx_tcpopts o;
    const char *why;
    bool join;
    if (mpx_pkt_parse(p, len, &v, &why) < 0 || !(v.flags & MPX_TH_SYN)) return 0;
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

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *arg)
{
    optd_t *d = arg;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    unsigned char *data;
    static uint8_t buf[65536 + 64];
    (void)msg;
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    int n = nfq_get_payload(nfa, &data);
    if (n <= 0 || (size_t)n > 65536) return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    if (d->read_mode) {
        uint32_t mark = read_signals(d, data, (size_t)n);
        if (mark) return nfq_set_verdict2(qh, id, NF_ACCEPT, nfq_get_nfmark(nfa) | mark, 0, NULL);
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    }
    memcpy(buf, data, (size_t)n);
    size_t nl = add_signals(d, buf, (size_t)n, sizeof buf);
    if (nl == (size_t)n && !memcmp(buf, data, (size_t)n))
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    return nfq_set_verdict(qh, id, NF_ACCEPT, (uint32_t)nl, buf);
}

static int parse_addr(const char *s, uint8_t *a, int *family)
{
    memset(a, 0, 16);
    if (inet_pton(AF_INET, s, a) == 1) { *family = 4; return 0; }
    if (inet_pton(AF_INET6, s, a) == 1) { *family = 6; return 0; }
    return -1;
}

static void stats_json(const optd_t *d, char *out, size_t cap)
{
    snprintf(out, cap,
             "{\"mode\":\"%s\",\"syn\":%lu,\"mangled\":%lu,\"nofit\":%lu,\"ra_added\":%lu,"
             "\"prefer_seen\":%lu,\"mpconvert_seen\":%lu,\"join_marked\":%lu,\"lookups\":%lu,"
             "\"hits\":%lu,\"synack_seen\":%lu,\"tokens\":%lu,\"errors\":%lu}",
             d->read_mode ? "read" : "add", d->c.syn, d->c.mangled, d->c.nofit, d->c.ra,
             d->c.prefer, d->c.convert, d->c.join_marked, d->c.lookups, d->c.hits, d->c.synack, d->c.tokens, d->c.errors);
}

/* Handles one control request; writes the reply into out. */
static void control(optd_t *d, char *req, char *out, size_t cap)
{
    char *argv[6] = { 0 };
    int argc = 0;
    for (char *t = strtok(req, " \t\r\n"); t && argc < 6; t = strtok(NULL, " \t\r\n")) argv[argc++] = t;
    if (argc == 1 && !strcmp(argv[0], "stats")) { stats_json(d, out, cap); return; }
    if (argc == 3 && !strcmp(argv[0], "get")) {
        uint8_t a[16];
        int fam;
        d->c.lookups++;
        if (parse_addr(argv[1], a, &fam) < 0) { snprintf(out, cap, "err bad-address"); return; }
        uint16_t port = (uint16_t)atoi(argv[2]);
        for (size_t k = 0; k < SEEN_MAX; k++) {
            size_t i = (d->seen_next + SEEN_MAX - 1 - k) % SEEN_MAX;   /* newest first */
            seen_t *s = &d->seen[i];
            if (s->convert && s->family == fam && s->sport == port && !memcmp(s->saddr, a, alen(fam))) {
                char txt[INET6_ADDRSTRLEN];
                d->c.hits++;
                if (s->mc.family == 0) { snprintf(out, cap, "none no-address"); return; }
                inet_ntop(s->mc.family == 6 ? AF_INET6 : AF_INET, s->mc.addr, txt, sizeof txt);
                snprintf(out, cap, s->mc.family == 6 ? "target [%s]:%u proto %u" : "target %s:%u proto %u",
                         txt, s->mc.has_port ? s->mc.port : s->dport, s->mc.protocol);
                return;
            }
        }
        snprintf(out, cap, "none");
        return;
    }
    bool del = argc >= 1 && !strcmp(argv[0], "del");
    int what = argc >= 1 ? (!strcmp(argv[0], "opt") ? REG_OPT : !strcmp(argv[0], "ra") ? REG_RA : 0) : 0;
    if ((what || del) && argc >= 3) {
        reg_t r = { .what = what, .t = time(NULL) };
        int i = 1;
        if (!strcmp(argv[i], "dst") && argc >= 4) {
            r.by_dst = true;
            if (parse_addr(argv[i + 1], r.addr, &r.family) < 0) { snprintf(out, cap, "err bad-address"); return; }
            r.port = (uint16_t)atoi(argv[i + 2]);
            i += 3;
        } else if (!strcmp(argv[i], "sport")) {
            r.port = (uint16_t)atoi(argv[i + 1]);
            i += 2;
        } else {
            snprintf(out, cap, "err usage");
            return;
        }
        for (size_t k = 0; k < REG_MAX; k++) {   /* a new registration replaces an old one */
            reg_t *o = &d->reg[k];
            if (o->what && o->by_dst == r.by_dst && o->port == r.port &&
                (!r.by_dst || !memcmp(o->addr, r.addr, 16)) && (del || o->what == what))
                o->what = 0;
        }
        if (del) { snprintf(out, cap, "ok"); return; }
        if (what == REG_OPT) {
            if (i >= argc) { snprintf(out, cap, "err missing-hex"); return; }
            long n = mpx_hex_parse(argv[i], r.opt, sizeof r.opt);
            if (n < 2 || r.opt[1] != n) { snprintf(out, cap, "err bad-option"); return; }
            r.optlen = (size_t)n;
        }
        for (size_t k = 0; k < REG_MAX; k++)
            if (!d->reg[k].what || r.t - d->reg[k].t > ENTRY_TTL) { d->reg[k] = r; snprintf(out, cap, "ok"); return; }
        snprintf(out, cap, "err full");
        return;
    }
    snprintf(out, cap, "err usage");
}

/* Client of the control socket: a temporary bound datagram socket so the reply finds us. */
static int ctl_main(int argc, char **argv)
{
    char req[512] = "", out[512];
    if (argc < 2) { fprintf(stderr, "usage: mpx-optd ctl PATH REQUEST...\n"); return 2; }
    for (int i = 1; i < argc; i++) {
        if (strlen(req) + strlen(argv[i]) + 2 > sizeof req) { fprintf(stderr, "mpx-optd: request too long\n"); return 2; }
        if (i > 1) strcat(req, " ");
        strcat(req, argv[i]);
    }
    struct sockaddr_un to = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
    if (strlen(argv[0]) >= sizeof to.sun_path) { fprintf(stderr, "mpx-optd: path too long\n"); return 2; }
    strcpy(to.sun_path, argv[0]);
    /* A path, not an abstract autobind address: abstract names are per network namespace
     * and the daemon usually runs in another one. */
    if (snprintf(me.sun_path, sizeof me.sun_path, "%s.%d", argv[0], (int)getpid()) >= (int)sizeof me.sun_path)
        snprintf(me.sun_path, sizeof me.sun_path, "/tmp/mpx-optd-ctl.%d", (int)getpid());
    unlink(me.sun_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) < 0) { perror("mpx-optd: socket"); return 3; }
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (sendto(fd, req, strlen(req), 0, (struct sockaddr *)&to, sizeof to) < 0) {
        fprintf(stderr, "mpx-optd: %s: %s\n", argv[0], strerror(errno));
        close(fd);
        unlink(me.sun_path);
        return 3;
    }
    ssize_t n = recv(fd, out, sizeof out - 1, 0);
    close(fd);
    unlink(me.sun_path);
    if (n < 0) { fprintf(stderr, "mpx-optd: no reply from %s\n", argv[0]); return 3; }
    out[n] = 0;
    printf("%s\n", out);
    return strncmp(out, "err", 3) ? 0 : 1;
}

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int listen_main(const int *ports, int np, const char *ready, const char *stats)
{
    int fds[16];
    unsigned long accepted = 0;
    for (int i = 0; i < np; i++) {
        int one = 1, zero = 0;
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)ports[i]) };
        fds[i] = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
        if (fds[i] < 0) { perror("mpx-optd: MPTCP socket"); return 3; }
        setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (setsockopt(fds[i], SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0 ||
            setsockopt(fds[i], SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one) < 0) {
            perror("mpx-optd: IP_TRANSPARENT");
            return 3;
        }
        if (bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fds[i], 128) < 0) {
            fprintf(stderr, "mpx-optd: listen port %d: %s\n", ports[i], strerror(errno));
            return 3;
        }
    }
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ready) { FILE *f = fopen(ready, "w"); if (f) { fputs("ready\n", f); fclose(f); } }
    while (!g_stop) {
        struct pollfd pf[16];
        for (int i = 0; i < np; i++) pf[i] = (struct pollfd){ fds[i], POLLIN, 0 };
        if (poll(pf, (nfds_t)np, 500) < 0) { if (errno == EINTR) continue; break; }
        for (int i = 0; i < np; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            int c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) { accepted++; close(c); }
        }
    }
    if (stats) {
        FILE *f = fopen(stats, "w");
        if (f) { fprintf(f, "{\"mode\":\"listen\",\"ports\":%d,\"accepted\":%lu}\n", np, accepted); fclose(f); }
    }
    for (int i = 0; i < np; i++) close(fds[i]);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mpx-optd add|read --queue N [options]\n"
        "       mpx-optd listen --port P [--port P]...   (join listeners, see the source header)\n"
        "       mpx-optd ctl PATH REQUEST...   (send one control request, print the reply)\n"
        "  add    append registered options to outgoing SYNs (client side)\n"
        "  read   decode signals in incoming SYNs, answer lookups, mark alerted SYNs (proxy side)\n"
        "options:\n"
        "  --port P           listen: a destination port to hold a transparent listener on\n"
        "  --queue N          NFQUEUE number (required; the iptables rule is the caller's)\n"
        "  --control PATH     unix datagram control socket (see the source header)\n"
        "  --subtype X        MPTCP subtype of the experimental options (default 0xe)\n"
        "  --prefer-all       add: MP_PREFER_PROXY in every MP_CAPABLE SYN\n"
        "  --ra-all           add: IPv4 Router Alert in every SYN\n"
        "  --mark-prefer M    read: mark for SYNs with MP_PREFER_PROXY (and their joins)\n"
        "  --mark-convert M   read: mark for SYNs with MP_CONVERT\n"
        "  --stats FILE       JSON counters at exit\n"
        "  --ready FILE       written once the queue is bound\n"
        "  -v, --verbose      log every refused mangling\n"
        "exit: 0 stopped by SIGTERM/SIGINT, 2 usage, 3 setup error\n");
}

int main(int argc, char **argv)
{
    static optd_t d;
    const char *ctl_path = NULL, *stats = NULL, *ready = NULL;
    int queue = -1, ports[16], nports = 0;
    static const struct option lo[] = {
        { "queue", 1, 0, 'q' }, { "control", 1, 0, 'c' }, { "subtype", 1, 0, 's' },
        { "prefer-all", 0, 0, 'P' }, { "ra-all", 0, 0, 'R' }, { "mark-prefer", 1, 0, 'm' },
        { "mark-convert", 1, 0, 'M' }, { "stats", 1, 0, 'S' }, { "ready", 1, 0, 'r' },
        { "verbose", 0, 0, 'v' }, { "port", 1, 0, 'p' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0 } };
    d.subtype = MPX_MPOPT_SUBTYPE_DEFAULT;
    if (argc >= 2 && !strcmp(argv[1], "ctl")) return ctl_main(argc - 2, argv + 2);
    for (int c; (c = getopt_long(argc, argv, "vh", lo, NULL)) != -1;) {
        switch (c) {
        case 'q': queue = atoi(optarg); break;
        case 'c': ctl_path = optarg; break;
        case 's': d.subtype = (uint8_t)(strtoul(optarg, NULL, 0) & 15); break;
        case 'P': d.prefer_all = true; break;
        case 'R': d.ra_all = true; break;
        case 'm': d.mark_prefer = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'M': d.mark_convert = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'S': stats = optarg; break;
        case 'r': ready = optarg; break;
        case 'v': d.verbose = true; break;
        case 'p':
            if (nports == 16 || atoi(optarg) <= 0 || atoi(optarg) > 65535) { usage(stderr); return 2; }
            ports[nports++] = atoi(optarg);
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("mpx-optd %s\n", MPX_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind == argc - 1 && !strcmp(argv[optind], "listen")) {
        if (!nports) { usage(stderr); return 2; }
        return listen_main(ports, nports, ready, stats);
    }
    if (optind != argc - 1 || queue < 0 || queue > 65535) { usage(stderr); return 2; }
    if (!strcmp(argv[optind], "read")) d.read_mode = true;
    else if (strcmp(argv[optind], "add")) { usage(stderr); return 2; }

    struct nfq_handle *h = nfq_open();
    if (!h) { perror("mpx-optd: nfq_open"); return 3; }
    d.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, &d);
    if (!d.qh) { fprintf(stderr, "mpx-optd: cannot bind queue %d: %s\n", queue, strerror(errno)); return 3; }
    if (nfq_set_mode(d.qh, NFQNL_COPY_PACKET, 0xffff) < 0) { perror("mpx-optd: nfq_set_mode"); return 3; }
    /* Fail open: if we fall behind, packets pass unmangled rather than being dropped. */
    nfq_set_queue_flags(d.qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    int nfd = nfq_fd(h), cfd = -1;
    if (ctl_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(ctl_path) >= sizeof sa.sun_path) { fprintf(stderr, "mpx-optd: control path too long\n"); return 2; }
        strcpy(sa.sun_path, ctl_path);
        unlink(ctl_path);
        cfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (cfd < 0 || bind(cfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            fprintf(stderr, "mpx-optd: control socket %s: %s\n", ctl_path, strerror(errno));
            return 3;
        }
    }
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ready) { FILE *f = fopen(ready, "w"); if (f) { fputs("ready\n", f); fclose(f); } }

    static char buf[65536 + 4096];
    while (!g_stop) {
        struct pollfd pf[2] = { { nfd, POLLIN, 0 }, { cfd, POLLIN, 0 } };
        if (poll(pf, cfd >= 0 ? 2 : 1, 500) < 0) { if (errno == EINTR) continue; break; }
        if (pf[0].revents & POLLIN) {
            ssize_t n = recv(nfd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) nfq_handle_packet(h, buf, (int)n);
            else if (n < 0 && errno == ENOBUFS) d.c.errors++;
        }
        if (cfd >= 0 && (pf[1].revents & POLLIN)) {
            struct sockaddr_un from;
            socklen_t fl = sizeof from;
            char req[512], out[512];
            ssize_t n = recvfrom(cfd, req, sizeof req - 1, 0, (struct sockaddr *)&from, &fl);
            if (n > 0) {
                req[n] = 0;
                control(&d, req, out, sizeof out);
                if (fl > sizeof(sa_family_t)) sendto(cfd, out, strlen(out), 0, (struct sockaddr *)&from, fl);
            }
        }
    }
    if (stats) {
        char js[512];
        FILE *f = fopen(stats, "w");
        stats_json(&d, js, sizeof js);
        if (f) { fprintf(f, "%s\n", js); fclose(f); }
    }
    nfq_destroy_queue(d.qh);
    nfq_close(h);
    if (ctl_path) unlink(ctl_path);
    return 0;
}
