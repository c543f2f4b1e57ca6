/* CPE mode of mpx-proxy (agents/proxy/README.md "CPE mode"): the LAN side of proxy/proxy.
 * Each --cpe PORT=SIGNAL entry is an IP_TRANSPARENT listener behind an nft tproxy rule; the
 * accepted socket's local address is the LAN client's original destination (as the
 * transparent front-end). The WAN side is a connection to the HAG (explicit signals) or to
 * the target itself (implicit ones, tcp) carrying that destination in the entry's signal
 * (cpe_sig.c). The LAN client's first bytes go in the SYN after the signal when they are
 * there at accept or within wait=MS; every LAN byte is kept until the HAG confirmed the
 * signal, so that a refusal, a reset before the answer, an unreachable HAG or no answer
 * within --cpe-timeout becomes a plain TCP connection straight to the target with those
 * bytes replayed. Then the connection is an ordinary relay (relay.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "agents/proxy/cpe.h"
#include "agents/optd/ctl.h"
#include "lib/parse.h"
#include "lib/sock.h"

#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define CPE_WAIT_DEFAULT 5       /* ms */
#define CPE_TIMEOUT_DEFAULT 3000 /* ms */
#define SYN_LAN_MAX 1400         /* LAN bytes offered to the SYN (the kernel takes what fits) */

/* CPE connections are not a front-end of the table (no option, no stats key of their own):
 * no error format, so conn_fail() resets the LAN client. */
static const struct proxy_frontend fe_cpe = {
    .name = "cpe",
    .help = "CPE LAN listener (--cpe)",
    .transparent = true,
    .local_addr = true,
};

struct cpe_listener {
    struct ev ev;
    int idx;
};
static struct cpe_listener lst[MAX_CPE];

static struct {
    uint64_t accepted, relayed, fallback_direct, failed, syn_with, syn_without, wait_timeouts;
    uint64_t mptcp, lan_tfo, cookie_requests;
    int subflows_max;
} ctr[MAX_CPE];
static uint64_t reasons[CR__N];
static int rcvbuf_after = 3145728;

/* mpx-optd (add mode) of this namespace: one control socket, blocking calls (local, < 1 ms) */
static int optd_fd = -1;
static bool optd_dead;
static struct sockaddr_un optd_to;
static char optd_me[108];

static int timeout_ms(void)
{
    return cfg.cpe_timeout_ms > 0 ? cfg.cpe_timeout_ms : CPE_TIMEOUT_DEFAULT;
}

/* ---- configuration ---- */

int cpe_parse_entry(const char *s, struct cpe_entry *e, char *why, size_t cap)
{
    char buf[128];
    uint64_t v;
    if (strlen(s) >= sizeof buf) {
        snprintf(why, cap, "too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", s);
    char *eq = strchr(buf, '=');
    if (!eq) {
        snprintf(why, cap, "want PORT=SIGNAL[,wait=MS]");
        return -1;
    }
    *eq = 0;
    if (mpx_parse_u64(buf, 1, 65535, &v) < 0) {
        snprintf(why, cap, "port '%s': 1..65535", buf);
        return -1;
    }
    e->port = (int)v;
    e->wait_ms = CPE_WAIT_DEFAULT;
    char *opts = strchr(eq + 1, ',');
    if (opts) *opts++ = 0;
    e->sig = mpx_signal_by_name(eq + 1);
    if (!e->sig) {
        char names[256];
        mpx_signal_names(names, sizeof names, ", ");
        snprintf(why, cap, "unknown signal '%s' (%s)", eq + 1, names);
        return -1;
    }
    if (!cpe_family_for(e->sig->wire)) {
        snprintf(why, cap, "signal '%s' has no CPE family", eq + 1);
        return -1;
    }
    for (char *save = NULL, *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
         o = strtok_r(NULL, ",", &save)) {
        if (strncmp(o, "wait=", 5) || mpx_parse_u64(o + 5, 0, 60000, &v) < 0) {
            snprintf(why, cap, "'%s': the only option is wait=MS (0..60000)", o);
            return -1;
        }
        e->wait_ms = (int)v;
    }
    return 0;
}

int cpe_check_config(const struct config *cf, char *why, size_t cap)
{
    for (int i = 0; i < cf->n_cpe; i++) {
        const struct cpe_entry *e = &cf->cpe[i];
        const mpx_signal *s = e->sig;
        for (int j = 0; j < i; j++)
            if (cf->cpe[j].port == e->port) {
                snprintf(why, cap, "--cpe port %d given twice", e->port);
                return -1;
            }
        if (s->mode == MPX_SIG_MODE_EXPLICIT && !cf->hag4.family && !cf->hag6.family) {
            snprintf(why, cap, "--cpe %d=%s: an explicit signal needs --hag ADDR", e->port,
                     s->name);
            return -1;
        }
        if (s->auth && (!cf->socks_user[0] || !cf->socks_pass[0])) {
            snprintf(why, cap, "--cpe %d=%s needs --socks-user and --socks-pass", e->port, s->name);
            return -1;
        }
        /* MPTCP sockets refuse IP_OPTIONS: the Router Alert needs mpx-optd as the option does */
        if (s->helper != MPX_SIG_HELPER_NONE && !cf->optd_ctl[0]) {
            snprintf(why, cap, "--cpe %d=%s needs --optd-ctl PATH (mpx-optd adds its SYN %s)",
                     e->port, s->name,
                     s->helper == MPX_SIG_HELPER_IPOPT ? "Router Alert" : "option");
            return -1;
        }
    }
    return 0;
}

static int read_rmem_max(void)
{
    long lo = 0, def = 0, max = 6291456;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");
    if (f) {
        if (fscanf(f, "%ld %ld %ld", &lo, &def, &max) != 3 || max < 131072 || max > (1L << 30))
            max = 6291456;
        fclose(f);
    }
    return (int)(max / 2); /* SO_RCVBUF doubles the value given */
}

static int open_one(int i)
{
    const struct cpe_entry *e = &cfg.cpe[i];
    mpx_addr b = cfg.bind;
    if (b.family == MPX_AF_NONE) {
        memset(&b, 0, sizeof b);
        b.family = MPX_AF_INET6;
    }
    b.port = (uint16_t)e->port;
    int fam = b.family == MPX_AF_INET ? AF_INET : AF_INET6;
    struct sockaddr_storage ss;
    size_t sl = mpx_addr_to_sockaddr(&b, &ss, sizeof ss);
    /* plain TCP: the LAN hosts are unmodified applications */
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        plog(0, "cpe: socket: %s", strerror(errno));
        return -1;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0)
        plog(0, "cpe: IP_TRANSPARENT: %s (needs CAP_NET_ADMIN)", strerror(errno));
    if (fam == AF_INET6) setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
    /* TFO with real cookies: a LAN client using TFO gets a cookie and then its request is
     * here at accept (it goes into the CPE's own SYN at once) */
    if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &cfg.tfo_qlen, sizeof cfg.tfo_qlen) < 0)
        plog(0, "cpe: TCP_FASTOPEN: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
        plog(0, "cpe: bind port %d: %s", e->port, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, cfg.backlog) < 0) {
        plog(0, "cpe: listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    lst[i].ev.kind = EV_CPE_LISTEN;
    lst[i].ev.fd = fd;
    lst[i].idx = i;
    if (loop_add(fd, &lst[i].ev, EPOLLIN) < 0) {
        close(fd);
        return -1;
    }
    return 0;
}

int cpe_open_listeners(void)
{
    for (int i = 0; i < MAX_CPE; i++) lst[i].ev.fd = -1;
    if (!cfg.n_cpe) return 0;
    if (proxy_n_frontends > CPE_FI) {
        plog(0, "cpe: no counter slot left (PROXY_FE_MAX)");
        return -1;
    }
    rcvbuf_after = read_rmem_max();
    if (cfg.optd_ctl[0]) {
        char suffix[24];
        snprintf(suffix, sizeof suffix, ".cpe%d", (int)getpid());
        optd_fd =
            optd_ctl_open(cfg.optd_ctl, suffix, NULL, 1000, &optd_to, optd_me, sizeof optd_me);
        if (optd_fd < 0) {
            plog(0, "cpe: --optd-ctl %s: %s", cfg.optd_ctl, strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < cfg.n_cpe; i++)
        if (open_one(i) < 0) return -1;
    return 0;
}

void cpe_close_listeners(void)
{
    for (int i = 0; i < cfg.n_cpe; i++) {
        if (lst[i].ev.fd < 0) continue;
        loop_del(lst[i].ev.fd);
        close(lst[i].ev.fd);
        lst[i].ev.fd = -1;
    }
}

static int read_tfo_sysctl(void)
{
    int v = -1;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "r");
    if (f) {
        if (fscanf(f, "%i", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

void cpe_startup_report(void)
{
    if (!cfg.n_cpe) return;
    char a[MPX_ADDR_STRLEN], b[MPX_ADDR_STRLEN];
    plog(0, "cpe: HAG %s%s%s, answer timeout %d ms, fallback %s, syn-wscale0 %s",
         cfg.hag4.family ? mpx_addr_format(&cfg.hag4, false, a, sizeof a) : "",
         cfg.hag4.family && cfg.hag6.family ? " " : "",
         cfg.hag6.family ? mpx_addr_format(&cfg.hag6, false, b, sizeof b) : "", timeout_ms(),
         cfg.cpe_fallback_reset ? "reset" : "direct", cfg.no_syn_wscale0 ? "off" : "on");
    bool cookie = false;
    for (int i = 0; i < cfg.n_cpe; i++) {
        const struct cpe_entry *e = &cfg.cpe[i];
        const mpx_signal *s = e->sig;
        char to[80];
        if (s->mode == MPX_SIG_MODE_EXPLICIT)
            snprintf(to, sizeof to, "the HAG port %d", cfg.hag_port ? cfg.hag_port : s->port);
        else
            snprintf(to, sizeof to, "the target (%s)",
                     s->intercept ? "the HAG intercepts" : "no proxy");
        plog(0, "cpe: port %d: %s over %s to %s, wait %d ms", e->port, s->name,
             s->mptcp ? "MPTCP" : "TCP", to, e->wait_ms);
        cookie |= s->tfo == MPX_SIG_TFO_COOKIE;
    }
    int t = read_tfo_sysctl();
    if (t >= 0 && cookie && (t & 0x4))
        plog(0,
             "cpe: warning: net.ipv4.tcp_fastopen=%#x has 0x4 (client without cookies): "
             "convert-cookie's SYN data goes out without a TFO cookie",
             t);
    if (t >= 0 && (t & 0x200))
        plog(0,
             "cpe: warning: net.ipv4.tcp_fastopen=%#x has 0x200: the LAN listeners grant no "
             "TFO cookies, so LAN clients never send data in their SYN (use 0x3)",
             t);
}

/* ---- per-connection helpers ---- */

static void set_rst(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static void sample_wan(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    if (c->sfd < 0 || x->phase != CP_WAN || !x->wan_up) return;
    mpxa_mp_state ms = mpxa_mptcp_state(c->sfd);
    if (ms.kind != MPXA_MP_MPTCP) return;
    if (!x->mptcp_counted) {
        x->mptcp_counted = true;
        ctr[x->li].mptcp++;
    }
    if (ms.subflows > x->subflows_max) x->subflows_max = ms.subflows;
    if (ms.subflows > ctr[x->li].subflows_max) ctr[x->li].subflows_max = ms.subflows;
}

static void optd_unmark(struct cpe_conn *x)
{
    if (!x->optd_sport || optd_fd < 0 || optd_dead) return;
    char req[OPTD_CTL_MAX], reply[128];
    optd_ctl_fmt_del_sport(req, sizeof req, x->optd_sport);
    if (optd_ctl_call(optd_fd, &optd_to, req, reply, sizeof reply) == -2) optd_dead = true;
    x->optd_sport = 0;
}

/* The SYN mark of the row's helper: mpx-optd adds it to SYNs from our source port. */
static int optd_mark(struct conn *c, int fd)
{
    struct cpe_conn *x = c->cpe;
    const mpx_signal *s = x->sig;
    if (s->helper == MPX_SIG_HELPER_NONE) return 0;
    if (optd_fd < 0 || optd_dead) {
        snprintf(x->why, sizeof x->why, "mpx-optd %s",
                 optd_dead ? "stopped answering" : "not configured");
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    mpx_addr any = { .family = x->wan_dst.family };
    size_t sl = mpx_addr_to_sockaddr(&any, &ss, sizeof ss);
    socklen_t gl = sizeof ss;
    mpx_addr me;
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &gl) < 0) {
        snprintf(x->why, sizeof x->why, "bind for the mpx-optd mark: %s", strerror(errno));
        return -1;
    }
    sa_to_addr(&ss, &me);
    char req[OPTD_CTL_MAX], reply[128];
    if (s->helper == MPX_SIG_HELPER_IPOPT) {
        optd_ctl_fmt_ra_sport(req, sizeof req, me.port);
    } else {
        uint8_t opt[40];
        char hex[2 * sizeof opt + 1];
        long n = x->fam->syn_option ? x->fam->syn_option(c, opt, sizeof opt) : 0;
        if (n <= 0) {
            snprintf(x->why, sizeof x->why, "no SYN option for %s", s->name);
            return -1;
        }
        mpx_hex_format(opt, (size_t)n, hex);
        optd_ctl_fmt_opt_sport(req, sizeof req, me.port, hex);
    }
    int r = optd_ctl_call(optd_fd, &optd_to, req, reply, sizeof reply);
    if (r == -2) optd_dead = true;
    if (r < 0 || !optd_ctl_is_ok(reply)) {
        snprintf(x->why, sizeof x->why, "mpx-optd registration: %s",
                 r == -1 ? strerror(errno)
                 : r < 0 ? "no answer"
                         : reply);
        return -1;
    }
    x->optd_sport = me.port;
    return 0;
}

/* Reads what the LAN client sent into the replay buffer. 0, or -1 when the LAN socket failed
 * (the connection was freed). */
static int lan_read(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    while (c->c_rd && !x->lan_eof && x->lan_len < CPE_LAN_MAX) {
        if (x->lan_len == x->lan_cap) {
            size_t nc = x->lan_cap ? x->lan_cap * 2 : 4096;
            if (nc > CPE_LAN_MAX) nc = CPE_LAN_MAX;
            uint8_t *nb = realloc(x->lan, nc);
            if (!nb) break; /* stop reading: back-pressure */
            x->lan = nb;
            x->lan_cap = nc;
        }
        ssize_t r = read(c->cfd, x->lan + x->lan_len, x->lan_cap - x->lan_len);
        if (r > 0) {
            x->lan_len += (size_t)r;
            continue;
        }
        if (r == 0) {
            x->lan_eof = true;
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            c->c_rd = false;
            break;
        }
        LOGV("conn %llu cpe: LAN client error: %s", (unsigned long long)c->id, strerror(errno));
        st.client_resets++;
        if (c->sfd >= 0) set_rst(c->sfd);
        conn_free(c, true);
        return -1;
    }
    return 0;
}

/* May LAN bytes go to the WAN side before the signal is confirmed? Not when the row waits
 * for the answer (the request follows it: convert-wait, SOCKS). */
static bool lan_early(const struct cpe_conn *x) { return !x->sig->waits_reply; }

static void fallback(struct conn *c, int reason, const char *why);

/* Signalling bytes, then (when allowed) LAN bytes to the WAN side. -1: c failed over. */
static int wan_pump_out(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    while (c->s_wr && x->wan_up) {
        const uint8_t *b;
        size_t n;
        bool sig = x->sig_off < x->sig_len;
        if (sig) {
            b = x->sig_out + x->sig_off;
            n = x->sig_len - x->sig_off;
        } else if (lan_early(x) && x->lan_sent < x->lan_len) {
            b = x->lan + x->lan_sent;
            n = x->lan_len - x->lan_sent;
        } else
            break;
        ssize_t w = send(c->sfd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            if (sig) {
                x->sig_off += (size_t)w;
                continue;
            }
            x->lan_sent += (size_t)w;
            c->nup += (uint64_t)w;
            st.bytes_up += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            c->s_wr = false;
            break;
        }
        char m[96];
        snprintf(m, sizeof m, "send to the WAN side: %s", strerror(w < 0 ? errno : EPIPE));
        fallback(c, CR_RESET, m);
        return -1;
    }
    return 0;
}

/* The signal is confirmed: the unsent LAN bytes go first, then the ordinary relay. */
static void confirm(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    sample_wan(c);
    timer_clear(c);
    if (x->lan_len > x->lan_sent) conn_set_early(c, x->lan + x->lan_sent, x->lan_len - x->lan_sent);
    free(x->lan);
    x->lan = NULL;
    x->lan_len = x->lan_sent = x->lan_cap = 0;
    c->state = CS_RELAY;
    c->last_act = now_us();
    LOGV("conn %llu cpe %s: signal confirmed after %.1f ms", (unsigned long long)c->id,
         x->sig->name, (double)(now_us() - c->t_accept) / 1000);
    if (c->outlen)
        conn_start_gate(c); /* the first WAN bytes, read while confirming */
    else
        relay_run(c);
}

/* A row without an answer whose replay buffer is full and sent: a fallback could no longer
 * replay the whole stream, and a target that waits for more before it speaks would hold the
 * LAN client until --cpe-timeout; the relay takes over. True when it did. */
static bool confirm_when_full(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    if (x->fam->reply_need || !x->wan_up || x->lan_len < CPE_LAN_MAX || x->lan_sent < x->lan_len)
        return false;
    confirm(c);
    return true;
}

static void fallback_connected(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    timer_clear(c);
    c->s_wr = true;
    if (x->lan_len) conn_set_early(c, x->lan, x->lan_len); /* the replay */
    free(x->lan);
    x->lan = NULL;
    x->lan_len = x->lan_sent = x->lan_cap = 0;
    c->state = CS_RELAY;
    c->last_act = now_us();
    LOGV("conn %llu cpe: direct connection up, %zu LAN bytes replayed", (unsigned long long)c->id,
         c->earlylen);
    relay_run(c);
}

static void give_up(struct conn *c, const char *why)
{
    char a[MPX_ADDR_STRLEN], t[MPX_ADDR_STRLEN];
    plog(0, "conn %llu cpe %s %s -> %s: %s: LAN client reset", (unsigned long long)c->id,
         c->cpe->sig->name, addr_str(&c->client, a, sizeof a), addr_str(&c->target, t, sizeof t),
         why);
    if (c->sfd >= 0) set_rst(c->sfd);
    conn_free(c, true);
}

static void close_wan(struct conn *c)
{
    if (c->sfd < 0) return;
    set_rst(c->sfd); /* RFC 8803 6.2.8: reset after an Error; abort whatever is left */
    loop_del(c->sfd);
    close(c->sfd);
    c->sfd = -1;
    c->sev.fd = -1;
    c->s_rd = c->s_wr = false;
}

/* Leaves the HAG channel: plain TCP straight to the target with the LAN bytes replayed (or
 * the LAN client reset with --cpe-fallback reset). One log line, counted per reason. */
static void fallback(struct conn *c, int reason, const char *why)
{
    struct cpe_conn *x = c->cpe;
    char a[MPX_ADDR_STRLEN], t[MPX_ADDR_STRLEN];
    if (x->phase == CP_FALLBACK) {
        give_up(c, why);
        return;
    }
    reasons[reason]++;
    sample_wan(c);
    optd_unmark(x);
    close_wan(c);
    plog(0, "conn %llu cpe %s %s -> %s: %s (%s): %s", (unsigned long long)c->id, x->sig->name,
         addr_str(&c->client, a, sizeof a), addr_str(&c->target, t, sizeof t),
         cpe_reason_name(reason), why,
         cfg.cpe_fallback_reset ? "LAN client reset" : "plain TCP direct");
    if (cfg.cpe_fallback_reset) {
        conn_free(c, true);
        return;
    }
    ctr[x->li].fallback_direct++;
    x->phase = CP_FALLBACK;
    x->wan_up = false;
    int fam = c->target.family == MPX_AF_INET ? AF_INET : AF_INET6;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        give_up(c, "direct socket failed");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->sfd = fd;
    c->sev.fd = fd;
    if (loop_add(fd, &c->sev, CONN_EVENTS) < 0) {
        give_up(c, "epoll");
        return;
    }
    struct sockaddr_storage ss;
    size_t sl = mpx_addr_to_sockaddr(&c->target, &ss, sizeof ss);
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) == 0) {
        fallback_connected(c);
        return;
    }
    if (errno != EINPROGRESS) {
        char m[96];
        snprintf(m, sizeof m, "direct connect: %s", strerror(errno));
        give_up(c, m);
        return;
    }
    timer_set(c, now_us() + (int64_t)timeout_ms() * 1000, T_CONNECT);
}

static void wan_connected(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    x->wan_up = true;
    c->s_wr = true;
    if (x->fam->connected) x->fam->connected(c);
}

/* The WAN connection: socket, the SYN mark, the SYN (signal + LAN bytes when the row carries
 * SYN data), the answer deadline. */
static void wan_connect(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    const mpx_signal *s = x->sig;
    x->phase = CP_WAN;
    if (s->mode == MPX_SIG_MODE_EXPLICIT) {
        bool v6 = c->target.family == MPX_AF_INET6;
        x->wan_dst = (v6 && cfg.hag6.family) || !cfg.hag4.family ? cfg.hag6 : cfg.hag4;
        x->wan_dst.port = (uint16_t)(cfg.hag_port ? cfg.hag_port : s->port);
    } else {
        x->wan_dst = c->target;
    }
    int fam = x->wan_dst.family == MPX_AF_INET ? AF_INET : AF_INET6;
    bool mptcp = s->mptcp;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    mptcp ? IPPROTO_MPTCP : IPPROTO_TCP);
    if (fd < 0 && mptcp) {
        mptcp = false;
        fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    }
    if (fd < 0) {
        char m[80];
        snprintf(m, sizeof m, "socket: %s", strerror(errno));
        fallback(c, CR_UNREACHABLE, m);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->sfd = fd;
    c->sev.fd = fd;
    if (x->fam->first_flight) {
        long n = x->fam->first_flight(c, x->sig_out, sizeof x->sig_out);
        if (n < 0) {
            give_up(c, x->why);
            return;
        }
        x->sig_len = (size_t)n;
    }
    if (optd_mark(c, fd) < 0) {
        fallback(c, CR_UNREACHABLE, x->why);
        return;
    }
    if (loop_add(fd, &c->sev, CONN_EVENTS) < 0) {
        fallback(c, CR_UNREACHABLE, "epoll");
        return;
    }
    struct sockaddr_storage ss;
    size_t sl = mpx_addr_to_sockaddr(&x->wan_dst, &ss, sizeof ss);
    size_t nlan = s->tfo != MPX_SIG_TFO_NONE && lan_early(x) && !x->syn_alone ? x->lan_len : 0;
    if (nlan > SYN_LAN_MAX) nlan = SYN_LAN_MAX;
    int r;
    if (!x->sig_len && !nlan) {
        ctr[x->li].syn_without++;
        r = connect(fd, (struct sockaddr *)&ss, (socklen_t)sl);
    } else {
        /* SYN data: cookie-less unless the row uses a real TFO cookie (the kernel's cache) */
        if (s->tfo != MPX_SIG_TFO_COOKIE)
            setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one);
        /* the TFO+join workaround (mpx-client --syn-wscale0, docs/kernel-findings.md): a
         * receive buffer under 64 KiB at the SYN makes it go out with window scale 0, so the
         * HAG cannot mis-scale the SYN's window; raised right after the SYN */
        if (mptcp && !cfg.no_syn_wscale0) {
            int v = 65535;
            x->wscale0 = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0;
        }
        uint8_t buf[CPE_SIG_MAX + SYN_LAN_MAX];
        memcpy(buf, x->sig_out, x->sig_len);
        if (nlan) memcpy(buf + x->sig_len, x->lan, nlan);
        ssize_t w = sendto(fd, buf, x->sig_len + nlan, MSG_FASTOPEN | MSG_NOSIGNAL,
                           (struct sockaddr *)&ss, (socklen_t)sl);
        if (x->wscale0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_after, sizeof rcvbuf_after) < 0)
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_after, sizeof rcvbuf_after);
        if (w > 0) {
            /* the bytes the kernel put in the SYN: the signal first */
            size_t k = (size_t)w < x->sig_len ? (size_t)w : x->sig_len;
            x->sig_off = k;
            x->lan_sent = (size_t)w - k;
            c->nup += x->lan_sent;
            st.bytes_up += x->lan_sent;
        }
        if (w > (ssize_t)x->sig_len)
            ctr[x->li].syn_with++;
        else
            ctr[x->li].syn_without++;
        /* no TFO cookie cached yet: the SYN only asked for one, everything follows it */
        if (w < 0 && errno == EINPROGRESS) ctr[x->li].cookie_requests++;
        r = -1;
        if (w >= 0) errno = EINPROGRESS; /* the SYN is out; the handshake completes later */
    }
    if (r == 0) {
        wan_connected(c);
    } else if (errno != EINPROGRESS) {
        char m[96];
        snprintf(m, sizeof m, "connect: %s", strerror(errno));
        fallback(c, CR_UNREACHABLE, m);
        return;
    }
    timer_set(c, c->t_accept + (int64_t)timeout_ms() * 1000, T_CONNECT);
    if (x->wan_up) wan_pump_out(c);
}

/* Reads the HAG's answer (exactly its length: what follows stays for the relay). */
static void wan_read(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    if (!x->fam->reply_need) {
        /* no answer of its own: the first byte (or the end) from the WAN side confirms */
        if (!c->s_rd) return;
        uint8_t b[sizeof c->out];
        ssize_t r = read(c->sfd, b, sizeof b);
        if (r > 0) {
            conn_queue_out(c, b, (size_t)r);
            c->ndown += (uint64_t)r;
            st.bytes_down += (uint64_t)r;
            confirm(c);
            return;
        }
        if (r == 0) {
            confirm(c);
            return;
        }
        if (errno == EAGAIN || errno == EINTR) {
            if (errno == EAGAIN) c->s_rd = false;
            return;
        }
        char m[96];
        snprintf(m, sizeof m, "WAN side: %s before any byte", strerror(errno));
        fallback(c, CR_RESET, m);
        return;
    }
    while (c->s_rd) {
        size_t need = x->fam->reply_need(c);
        if (need > sizeof x->rin) {
            fallback(c, CR_MALFORMED, "answer longer than the buffer");
            return;
        }
        if (x->rin_len < need) {
            ssize_t r = read(c->sfd, x->rin + x->rin_len, need - x->rin_len);
            if (r > 0) {
                x->rin_len += (size_t)r;
                continue;
            }
            if (r == 0) {
                fallback(c, CR_RESET, "the HAG closed before its answer");
                return;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                c->s_rd = false;
                return;
            }
            char m[96];
            snprintf(m, sizeof m, "%s before the answer", strerror(errno));
            fallback(c, CR_RESET, m);
            return;
        }
        int k = x->fam->reply(c, need);
        x->rin_len = 0;
        if (k < 0) {
            fallback(c, x->reason, x->why);
            return;
        }
        if (k > 0) {
            confirm(c);
            return;
        }
        if (wan_pump_out(c) < 0) return; /* the next step's bytes */
    }
}

/* ---- events (state CS_CPE) ---- */

void cpe_on_client(struct conn *c, uint32_t events)
{
    struct cpe_conn *x = c->cpe;
    if (events & EPOLLIN) c->c_rd = true;
    if (events & EPOLLOUT) c->c_wr = true;
    if (events & EPOLLERR) {
        st.client_resets++;
        if (c->sfd >= 0) set_rst(c->sfd);
        conn_free(c, true);
        return;
    }
    if (lan_read(c) < 0) return;
    if (x->phase == CP_WAIT_LAN) {
        if (x->lan_len || x->lan_eof) wan_connect(c);
        return;
    }
    if (x->phase == CP_WAN && x->wan_up && wan_pump_out(c) == 0) confirm_when_full(c);
}

void cpe_on_server(struct conn *c, uint32_t events)
{
    struct cpe_conn *x = c->cpe;
    if (events & EPOLLIN) c->s_rd = true;
    if (events & EPOLLOUT) c->s_wr = true;
    if (x->phase == CP_WAIT_LAN) return;
    bool up = x->phase == CP_FALLBACK ? false : x->wan_up;
    if (!up) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int e = 0;
        socklen_t l = sizeof e;
        if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) e = errno;
        if (e) {
            char m[96];
            snprintf(m, sizeof m, "connect: %s", strerror(e));
            if (x->phase == CP_FALLBACK)
                give_up(c, m);
            else
                fallback(c, e == ECONNRESET ? CR_RESET : CR_UNREACHABLE, m);
            return;
        }
        if (x->phase == CP_FALLBACK) {
            fallback_connected(c);
            return;
        }
        wan_connected(c);
    }
    if (events & EPOLLERR) {
        int e = 0;
        socklen_t l = sizeof e;
        getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &e, &l);
        char m[96];
        snprintf(m, sizeof m, "%s before the answer", strerror(e ? e : ECONNRESET));
        fallback(c, CR_RESET, m);
        return;
    }
    if (wan_pump_out(c) < 0 || c->closing || c->state != CS_CPE) return;
    if (confirm_when_full(c)) return;
    wan_read(c);
}

void cpe_on_timer(struct conn *c, int kind)
{
    struct cpe_conn *x = c->cpe;
    (void)kind;
    switch (x->phase) {
    case CP_WAIT_LAN:
        ctr[x->li].wait_timeouts++;
        wan_connect(c);
        return;
    case CP_FALLBACK: give_up(c, "direct connect timed out"); return;
    default: {
        /* rows without an answer of their own too: a HAG that took the connection but hangs
         * looks like this, and the LAN client must not wait longer than the timeout (the
         * price: a target slower than the timeout to its first byte gets the request twice,
         * once via the HAG, once direct) */
        char m[80];
        snprintf(m, sizeof m, "no answer within %d ms", timeout_ms());
        fallback(c, x->wan_up ? CR_TIMEOUT : CR_UNREACHABLE, m);
        return;
    }
    }
}

/* conn_free: counters; the WAN side is closed by conn_free itself */
void cpe_conn_end(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    if (!x) return;
    sample_wan(c);
    if (c->state == CS_RELAY && c->up.shut && c->down.shut)
        ctr[x->li].relayed++;
    else
        ctr[x->li].failed++;
    optd_unmark(x);
    free(x->lan);
    free(x);
    c->cpe = NULL;
}

static void start(struct conn *c)
{
    struct cpe_conn *x = c->cpe;
    int w = cfg.cpe[x->li].wait_ms;
    int o = mpxa_tcpi_options(c->cfd);
    bool lan_tfo = o >= 0 && (o & MPXA_TCPI_OPT_SYN_DATA); /* its request came in its SYN */
    if (lan_tfo) ctr[x->li].lan_tfo++;
    /* wait=0: connect at once, the signal alone; only a TFO LAN client's bytes go along */
    if (w == 0) x->syn_alone = !lan_tfo;
    if (lan_read(c) < 0) return;
    /* bytes there at accept (a TFO LAN client), nothing to wait for, or a row whose SYN
     * cannot carry them: connect now */
    bool can_carry = x->sig->tfo != MPX_SIG_TFO_NONE && lan_early(x);
    if (x->lan_len || x->lan_eof || !can_carry || w == 0) {
        wan_connect(c);
        return;
    }
    x->phase = CP_WAIT_LAN;
    timer_set(c, c->t_accept + (int64_t)w * 1000, T_CONNECT);
}

void cpe_on_accept(struct ev *e)
{
    struct cpe_listener *l = (struct cpe_listener *)e;
    for (int i = 0; i < 64 && !draining; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            st.accept_errors++;
            if ((errno == EMFILE || errno == ENFILE) && fdres_release(FDRES_ACCEPT)) {
                /* at the fd limit: take one connection off the queue and reset it, so the
                 * level-triggered listener does not spin and the LAN client is answered */
                sl = sizeof ss;
                int k = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
                if (k >= 0) {
                    set_rst(k);
                    close(k);
                    st.fd_limit_answered++;
                }
                fdres_restore();
            } else {
                plog(0, "cpe: accept: %s", strerror(errno));
            }
            return;
        }
        mpx_addr client, local;
        sa_to_addr(&ss, &client);
        struct sockaddr_storage ls;
        socklen_t ll = sizeof ls;
        memset(&local, 0, sizeof local);
        if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) sa_to_addr(&ls, &local);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = conn_new_fe(&fe_cpe, CPE_FI, fd, &client, &local);
        struct cpe_conn *x = c ? calloc(1, sizeof *x) : NULL;
        if (!x) {
            st.accept_errors++;
            if (c)
                conn_free(c, true);
            else {
                set_rst(fd);
                close(fd);
            }
            continue;
        }
        c->cpe = x;
        x->li = l->idx;
        x->sig = cfg.cpe[l->idx].sig;
        x->fam = cpe_family_for(x->sig->wire);
        x->reason = -1;
        c->state = CS_CPE;
        c->target = local;
        ctr[l->idx].accepted++;
        char a[MPX_ADDR_STRLEN], t[MPX_ADDR_STRLEN];
        LOGV("conn %llu cpe %s accepted from %s to %s", (unsigned long long)c->id, x->sig->name,
             addr_str(&client, a, sizeof a), addr_str(&local, t, sizeof t));
        if (!acl_client_allowed(&client)) {
            st.acl_client++;
            conn_fail(c, 32, 0,
                      cfg.n_allow ? "LAN client not in an --allow prefix"
                                  : "no --allow prefix given: every LAN client is refused");
            continue;
        }
        const char *why = NULL;
        if (acl_target_check(&c->target, &why) != 0) {
            st.acl_target++;
            char m[96];
            snprintf(m, sizeof m, "target refused (%s)", why);
            conn_fail(c, 32, 0, m);
            continue;
        }
        if (cfg.max_conns > 0 && conns_active > (uint64_t)cfg.max_conns) {
            st.limit_global++;
            conn_fail(c, 64, 0, "--max-conns reached");
            continue;
        }
        if (cfg.max_per_client > 0 && client_count(c->cent) > cfg.max_per_client) {
            st.limit_client++;
            conn_fail(c, 64, 0, "--max-per-client reached");
            continue;
        }
        start(c);
    }
}

/* ---- stats ---- */
void cpe_stats_write(FILE *f)
{
#define U(x) (unsigned long long)(x)
    fprintf(f, "\"cpe\":{\"timeout_ms\":%d,\"fallback\":\"%s\",\"syn_wscale0\":%s,\"listeners\":[",
            timeout_ms(), cfg.cpe_fallback_reset ? "reset" : "direct",
            cfg.no_syn_wscale0 ? "false" : "true");
    for (int i = 0; i < cfg.n_cpe; i++)
        fprintf(f,
                "%s{\"port\":%d,\"signal\":\"%s\",\"wait_ms\":%d,\"accepted\":%llu,"
                "\"relayed\":%llu,\"fallback_direct\":%llu,\"failed\":%llu,"
                "\"syn_with_lan_bytes\":%llu,\"syn_without_lan_bytes\":%llu,\"wait_timeouts\":%llu,"
                "\"mptcp\":%llu,\"subflows_max\":%d,\"lan_tfo\":%llu,\"tfo_cookie_requests\":%llu}",
                i ? "," : "", cfg.cpe[i].port, cfg.cpe[i].sig->name, cfg.cpe[i].wait_ms,
                U(ctr[i].accepted), U(ctr[i].relayed), U(ctr[i].fallback_direct), U(ctr[i].failed),
                U(ctr[i].syn_with), U(ctr[i].syn_without), U(ctr[i].wait_timeouts), U(ctr[i].mptcp),
                ctr[i].subflows_max, U(ctr[i].lan_tfo), U(ctr[i].cookie_requests));
    fprintf(f, "],\"fallback_reasons\":{");
    for (int r = 0; r < CR__N; r++)
        fprintf(f, "%s\"%s\":%llu", r ? "," : "", cpe_reason_name(r), U(reasons[r]));
    fprintf(f, "}}");
#undef U
}
