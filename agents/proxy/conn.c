/* Connection lifecycle: accept -> signal parsed (front end) -> ACL -> non-blocking downstream
 * connect -> reply queued -> stall guard (first write to the client held until the MPTCP
 * handshake completed) -> relay -> close. Errors are written into the bytestream, the write
 * side is shut and the client is drained for a moment (no immediate RST, RFC 8803 s6.2.8). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"

uint64_t conns_active;
static uint64_t next_id = 1;
static struct conn *live;

#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

struct conn *conn_new(int fi, int cfd, const mpx_addr *client, const mpx_addr *local)
{
    if (fi < 0 || fi >= proxy_n_frontends) return NULL;
    return conn_new_fe(proxy_frontends[fi], fi, cfd, client, local);
}

struct conn *conn_new_fe(const struct proxy_frontend *fe, int fi, int cfd, const mpx_addr *client,
                         const mpx_addr *local)
{
    if (!fe || fi < 0 || fi >= PROXY_FE_MAX) return NULL;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->id = next_id++;
    c->fe = fe;
    c->fi = fi;
    c->cfd = cfd; c->sfd = -1;
    c->cev.kind = EV_CLIENT; c->cev.fd = cfd;
    c->sev.kind = EV_SERVER; c->sev.fd = -1;
    c->client = *client; c->local = *local;
    c->up.p[0] = c->up.p[1] = c->down.p[0] = c->down.p[1] = -1;
    c->hidx = -1;
    c->err_code = -1;
    c->t_accept = now_us();
    c->c_rd = true;  /* SYN data may already be queued: try a read at once */
    c->c_wr = true;  /* a new socket has send space; EAGAIN clears it */
    if (loop_add(cfd, &c->cev, CONN_EVENTS) < 0) { free(c); return NULL; }
    c->cent = client_get(client);
    c->lnext = live;
    if (live) live->lprev = c;
    live = c;
    conns_active++;
    st.active = conns_active;
    if (st.active > st.active_max) st.active_max = st.active;
    return c;
}

/* Counts the client side as MPTCP or fallback (MPTCP_INFO fails with EOPNOTSUPP after a
 * fallback, and for plain-TCP clients of the MPTCP listener). */
static void classify(struct conn *c)
{
    if (c->known_fallback) { st.fallback++; return; }  /* the gate saw EOPNOTSUPP already */
    if (mpxa_mptcp_state(c->cfd).kind == MPXA_MP_MPTCP)
        st.mptcp++;
    else
        st.fallback++;
}

static void set_rst(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static struct conn *reap_list;

/* Closes everything now; the memory is released after the current event batch so that
 * callers up the stack (and events already fetched for c) can still test c->closing. */
void conn_free(struct conn *c, bool reset_client)
{
    char a[MPX_ADDR_STRLEN];
    if (c->closing) return;
    c->closing = true;
    if (c->lprev) c->lprev->lnext = c->lnext; else live = c->lnext;
    if (c->lnext) c->lnext->lprev = c->lprev;
    timer_clear(c);
    resolve_cancel(c);
    if (c->cpe) cpe_conn_end(c);
    classify(c);
    if (reset_client) set_rst(c->cfd);
    /* close() drops the fds from the epoll set (never dup'ed): no EPOLL_CTL_DEL needed */
    close(c->cfd);
    if (c->sfd >= 0) close(c->sfd);
    dir_free(&c->up); dir_free(&c->down);
    fdres_restore();
    free(c->early);
    client_put(c->cent);
    conns_active--;
    st.active = conns_active;
    st.completed++;
    LOGV("conn %llu %s %s closed%s: %llu bytes up, %llu down, %.1f ms", (unsigned long long)c->id,
         c->fe->name, addr_str(&c->client, a, sizeof a), reset_client ? " (reset)" : "",
         (unsigned long long)c->nup, (unsigned long long)c->ndown, (double)(now_us() - c->t_accept) / 1000);
    c->reap_next = reap_list;
    reap_list = c;
}

void conn_reap(void)
{
    while (reap_list) {
        struct conn *c = reap_list;
        reap_list = c->reap_next;
        free(c);
    }
}

int conn_read_more(struct conn *c)
{
    if (c->inlen >= sizeof c->in) return -3;
    ssize_t r = read(c->cfd, c->in + c->inlen, sizeof c->in - c->inlen);
    if (r > 0) {
        c->inlen += (size_t)r;
        return (int)r;
    }
    if (r == 0) return 0;
    if (errno == EAGAIN || errno == EINTR) { c->c_rd = false; return -1; }
    return -2;
}

void conn_queue_out(struct conn *c, const void *p, size_t n)
{
    if (c->outlen + n > sizeof c->out) n = sizeof c->out - c->outlen;
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

void conn_set_early(struct conn *c, const uint8_t *p, size_t n)
{
    free(c->early); c->early = NULL; c->earlylen = c->earlyoff = 0;
    if (!n) return;
    c->early = malloc(n);
    if (!c->early) return;
    memcpy(c->early, p, n);
    c->earlylen = n;
}

/* Re-check interval for a wait that has lasted `waited` us: an eighth of it, 1..250 ms. Any
 * event on the client socket re-checks at once; this bounded back-off only covers a state
 * change that raises no event, at most 12.5 % of the wait late (instead of polling every 1 ms:
 * 3,000 checks per 3 s wait, ~75 now). */
static int64_t backoff_us(int64_t waited)
{
    int64_t d = waited / 8;
    return d < 1000 ? 1000 : d > 250000 ? 250000 : d;
}

/* ---- stall guard ---- */
static bool gate_check(struct conn *c)
{
    if (c->gate_open) return true;
    bool open = !cfg.stall_guard;
    if (!open) {
        mpxa_mp_state ms = mpxa_mptcp_state(c->cfd);
        if (ms.kind != MPXA_MP_MPTCP) {
            open = true;   /* fallback / plain TCP: no MPTCP handshake to wait for */
            c->known_fallback = true;
        } else if (ms.remote_key) {
            open = true;
        }
    }
    st.gate_checks++;
    int64_t t = now_us();
    if (!open && !c->gate_waiting) {
        c->gate_waiting = true; c->gate_t0 = t; st.stall_waits++;
    }
    if (!open && t - c->gate_t0 >= (int64_t)cfg.stall_guard_max_ms * 1000) {
        st.stall_timeouts++;
        plog(1, "conn %llu: stall guard gave up after %d ms (no third ACK); writing anyway",
             (unsigned long long)c->id, cfg.stall_guard_max_ms);
        open = true;
    }
    if (open) {
        if (c->gate_waiting) {
            uint64_t w = (uint64_t)(t - c->gate_t0);
            st.stall_wait_us_total += w;
            if (w > st.stall_wait_us_max) st.stall_wait_us_max = w;
            LOGV("conn %llu: stall guard held the first write %llu us", (unsigned long long)c->id,
                 (unsigned long long)w);
        }
        c->gate_open = true;
        if (c->tkind == T_GATE) timer_clear(c);
        return true;
    }
    timer_set(c, t + backoff_us(t - c->gate_t0), T_GATE);
    return false;
}

static void enter_linger(struct conn *c)
{
    c->state = CS_LINGER;
    shutdown(c->cfd, SHUT_WR);
    timer_set(c, now_us() + (int64_t)cfg.linger_ms * 1000, T_LINGER);
    /* drain what the client already sent: closing with unread data would send an RST */
    char buf[4096];
    for (;;) {
        ssize_t r = read(c->cfd, buf, sizeof buf);
        if (r > 0) continue;
        if (r == 0) { conn_free(c, false); return; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) { c->c_rd = false; return; }
        conn_free(c, false);
        return;
    }
}

/* Writes the queued reply bytes once the gate is open. Returns false if c was freed. */
static bool flush_out(struct conn *c)
{
    if (c->outoff >= c->outlen) return true;
    if (!gate_check(c)) return true;
    while (c->outoff < c->outlen && c->c_wr) {
        ssize_t w = write(c->cfd, c->out + c->outoff, c->outlen - c->outoff);
        if (w > 0) { c->outoff += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) { c->c_wr = false; break; }
        st.client_resets++;
        if (c->sfd >= 0) set_rst(c->sfd);
        conn_free(c, true);
        return false;
    }
    if (c->outoff < c->outlen) return true;
    c->outoff = c->outlen = 0;
    if (c->err_code >= 0 || c->close_after_out) { enter_linger(c); return false; }
    if (c->state == CS_RELAY) relay_start(c);
    else if (c->state == CS_HEADER)  /* SOCKS mid-handshake: restore the header deadline */
        timer_set(c, c->t_accept + (int64_t)cfg.header_timeout_ms * 1000, T_HEADER);
    return true;
}

void conn_start_gate(struct conn *c)
{
    if (c->outlen == 0) {
        /* nothing to say (mpconvert): the relay's first client write is gated instead */
        if (c->state == CS_RELAY) relay_start(c);
        return;
    }
    flush_out(c);
}

/* The first relayed byte to the client must pass the same gate (front-ends without a reply). */
bool conn_gate_for_relay(struct conn *c)
{
    return gate_check(c);
}

void conn_fail(struct conn *c, int code, int value, const char *why)
{
    char a[MPX_ADDR_STRLEN], t[MPX_ADDR_STRLEN];
    st.fe[c->fi].failed++;
    plog(cfg.verbose ? 1 : 2, "conn %llu %s client=%s target=%s error %d: %s",
         (unsigned long long)c->id, c->fe->name, addr_str(&c->client, a, sizeof a),
         c->target.family ? addr_str(&c->target, t, sizeof t) : "-", code, why);
    if (c->sfd >= 0) { loop_del(c->sfd); close(c->sfd); c->sfd = -1; }
    timer_clear(c);
    c->err_code = code;
    /* bytes already queued (a SOCKS method choice) stay in front of the error */
    if (!c->fe->send_error) {
        /* no error format (plain mode, interception): tear the client down (MP_FASTCLOSE
         * analogue) */
        conn_free(c, true);
        return;
    }
    c->fe->send_error(c, code, value);
    c->state = CS_LINGER;  /* no reads for the signal any more */
    if (c->outlen == 0) { enter_linger(c); return; }
    flush_out(c);
}

/* ---- downstream ---- */
static int icmp_code_from_errqueue(int fd, int family)
{
    char cbuf[512];
    char data[64];
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf };
    if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
        if ((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
            (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)) {
            struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(cm);
            if (ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6)
                return ee->ee_code;
        }
    }
    (void)family;
    return -1;
}

static void connect_failed(struct conn *c, int err)
{
    int code = 65, value = 0;
    int icmp = icmp_code_from_errqueue(c->sfd, c->target.family);
    switch (err) {
    case ECONNREFUSED: code = 96; break;
    case ENETUNREACH: code = 97; value = icmp >= 0 ? icmp : 0; break;  /* ICMP net unreachable */
    case EHOSTUNREACH: code = 97; value = icmp >= 0 ? icmp : 1; break; /* ICMP host unreachable */
    case EACCES: case EPERM: code = 97; value = icmp >= 0 ? icmp : 13; break; /* admin. prohibited */
    case ETIMEDOUT: code = 65; break;
    case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM: case EADDRNOTAVAIL: code = 64; break;
    default: code = 65; break;
    }
    char why[96];
    snprintf(why, sizeof why, "connect: %s%s", strerror(err), icmp >= 0 ? " (ICMP)" : "");
    conn_fail(c, code, value, why);
}

static void on_connected(struct conn *c)
{
    timer_clear(c);
    c->state = CS_RELAY;
    c->last_act = now_us();
    c->s_wr = true;
    int one = 1;
    setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    LOGV("conn %llu connected downstream", (unsigned long long)c->id);
    if (c->fe->on_connected) c->fe->on_connected(c);
    /* the client-to-server direction runs at once (early data first); the reverse direction
     * opens when the reply has been written (flush_out -> relay_start) */
    relay_run(c);
}

/* ---- SYN data policy ---- */
/* The client's handshake is complete (its third ACK arrived): the accepted socket is no
 * longer in SYN_RECV. A connection accepted without SYN data is always complete; one whose
 * request came in the SYN (TFO child) is handed to accept() before the third ACK. For an
 * MPTCP socket TCP_INFO is the first subflow's. Unknown state: treated as complete. */
static bool handshake_done(int fd)
{
    int s = mpxa_tcpi_state(fd);
    return s < 0 || s != TCP_SYN_RECV;
}

/* immediate:RATE: a token bucket of RATE connections per second (burst RATE) */
static bool rate_take(void)
{
    static double tokens = -1;
    static int64_t last;
    int64_t t = now_us();
    double r = cfg.syn_data_rate;
    if (tokens < 0) { tokens = r; last = t; }
    tokens += (double)(t - last) * r / 1e6;
    if (tokens > r) tokens = r;
    last = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
}

/* True when the downstream connect has to wait for the third ACK (counted). */
static bool syn_data_hold(struct conn *c)
{
    if (handshake_done(c->cfd)) return false;
    switch (cfg.syn_data_policy) {
    case SDP_COOKIE:
        /* a cookie listener's SYN data passed the kernel's TFO cookie check */
        if (c->fe->tfo_cookie) { st.sd_immediate++; return false; }
        break;
    case SDP_IMMEDIATE:
        if (cfg.syn_data_rate <= 0 || rate_take()) { st.sd_immediate++; return false; }
        st.sd_rate_limited++;
        break;
    default:
        break;
    }
    st.sd_deferred++;
    return true;
}

static void connect_downstream(struct conn *c);

/* CS_SYNWAIT: on every client event and on the back-off timer. The wait is bounded by the
 * header timeout: a SYN whose third ACK never comes (spoofed source) is closed then. */
static void syn_wait_check(struct conn *c)
{
    int64_t t = now_us();
    st.sd_checks++;
    if (handshake_done(c->cfd)) {
        uint64_t w = (uint64_t)(t - c->sd_t0);
        st.sd_wait_us_total += w;
        if (w > st.sd_wait_us_max) st.sd_wait_us_max = w;
        LOGV("conn %llu: third ACK after %llu us: connecting", (unsigned long long)c->id,
             (unsigned long long)w);
        connect_downstream(c);
        return;
    }
    int64_t end = c->t_accept + (int64_t)cfg.header_timeout_ms * 1000;
    if (t >= end) {
        st.sd_hs_timeouts++;
        st.fe[c->fi].failed++;
        LOGV("conn %llu: no third ACK within the header timeout: closed", (unsigned long long)c->id);
        conn_free(c, true);
        return;
    }
    int64_t next = t + backoff_us(t - c->sd_t0);
    timer_set(c, next < end ? next : end, T_SYNWAIT);
}

void conn_target_ready(struct conn *c)
{
    const char *why = NULL;
    if (acl_target_check(&c->target, &why) != 0) {
        st.acl_target++;
        char m[96];
        snprintf(m, sizeof m, "target refused (%s)", why);
        conn_fail(c, 32, 0, m);
        return;
    }
    if (c->pending_fail) {
        conn_fail(c, c->pending_fail, 0, "resource limit (answered at the request)");
        return;
    }
    if (syn_data_hold(c)) {
        c->state = CS_SYNWAIT;
        c->sd_t0 = now_us();
        syn_wait_check(c);
        return;
    }
    connect_downstream(c);
}

static void connect_downstream(struct conn *c)
{
    char t[MPX_ADDR_STRLEN];
    timer_clear(c);
    int fam = c->target.family == MPX_AF_INET ? AF_INET : AF_INET6;
    int proto = c->mptcp_down ? IPPROTO_MPTCP : IPPROTO_TCP;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0 && proto == IPPROTO_MPTCP) {
        c->mptcp_down = false;
        fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    }
    if (fd < 0) { connect_failed(c, errno); return; }
    int one = 1;
    if (fam == AF_INET) setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof one);
    else setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
    c->sfd = fd;
    c->sev.fd = fd;
    struct sockaddr_storage ss;
    size_t sl = mpx_addr_to_sockaddr(&c->target, &ss, sizeof ss);
    LOGV("conn %llu %s connecting to %s", (unsigned long long)c->id, c->fe->name,
         addr_str(&c->target, t, sizeof t));
    if (loop_add(fd, &c->sev, CONN_EVENTS) < 0) { connect_failed(c, errno); return; }
    c->state = CS_CONNECTING;
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) == 0) { on_connected(c); return; }
    if (errno != EINPROGRESS) { connect_failed(c, errno); return; }
    timer_set(c, now_us() + (int64_t)cfg.connect_timeout_ms * 1000, T_CONNECT);
}

/* ---- events ---- */
static void client_error(struct conn *c)
{
    st.client_resets++;
    if (c->sfd >= 0) set_rst(c->sfd);  /* abort the server side too */
    conn_free(c, true);
}

static void header_read(struct conn *c)
{
    while (!c->closing && c->c_rd && c->state == CS_HEADER) {
        int r = conn_read_more(c);
        if (r == -1) return;
        if (r == -2) { client_error(c); return; }
        if (r == 0) {
            /* EOF before a complete signal: nothing to answer */
            st.malformed++;
            conn_free(c, false);
            return;
        }
        if (r == -3) { conn_fail(c, 1, 0, "signal longer than the parse buffer"); return; }
        if (c->fe->on_data) c->fe->on_data(c);
    }
}

void conn_on_client(struct conn *c, uint32_t events)
{
    if (c->closing) return;
    if (c->state == CS_CPE) { cpe_on_client(c, events); return; }
    if (events & EPOLLIN) c->c_rd = true;
    if (events & EPOLLOUT) c->c_wr = true;
    if (events & EPOLLERR) {
        int e = 0; socklen_t l = sizeof e;
        getsockopt(c->cfd, SOL_SOCKET, SO_ERROR, &e, &l);
        if (c->state == CS_LINGER) { conn_free(c, false); return; }
        client_error(c);
        return;
    }
    if (c->closing) return;
    if (c->outoff < c->outlen && (!flush_out(c) || c->closing)) return;
    switch (c->state) {
    case CS_HEADER:
        header_read(c);
        return;
    case CS_RESOLVING:
    case CS_CONNECTING:
        if (events & EPOLLHUP) client_error(c);
        return;
    case CS_SYNWAIT:
        if (events & EPOLLHUP) { client_error(c); return; }
        syn_wait_check(c);
        return;
    case CS_RELAY:
        relay_run(c);
        return;
    case CS_LINGER:
        if (c->c_rd) {
            char buf[4096];
            for (;;) {
                ssize_t r = read(c->cfd, buf, sizeof buf);
                if (r > 0) continue;
                if (r < 0 && errno == EINTR) continue;
                if (r < 0 && errno == EAGAIN) { c->c_rd = false; break; }
                conn_free(c, false);
                return;
            }
        }
        return;
    }
}

void conn_on_server(struct conn *c, uint32_t events)
{
    if (c->closing) return;
    if (c->state == CS_CPE) { cpe_on_server(c, events); return; }
    if (events & EPOLLIN) c->s_rd = true;
    if (events & EPOLLOUT) c->s_wr = true;
    if (c->state == CS_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int e = 0; socklen_t l = sizeof e;
        if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) e = errno;
        if (e) { connect_failed(c, e); return; }
        on_connected(c);
        return;
    }
    if (c->state != CS_RELAY) return;
    if (events & EPOLLERR) {
        int e = 0; socklen_t l = sizeof e;
        getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &e, &l);
        st.server_resets++;
        LOGV("conn %llu server error %s: aborting client", (unsigned long long)c->id, strerror(e));
        conn_free(c, true);  /* MP_FASTCLOSE analogue */
        return;
    }
    relay_run(c);
}

void conn_on_timer(struct conn *c, int kind)
{
    if (c->closing) return;
    if (c->state == CS_CPE) { cpe_on_timer(c, kind); return; }
    if (kind == T_KICK) { relay_kick(c); return; }
    /* tkind was cleared by the loop before the call; the state says what expired */
    switch (c->state) {
    case CS_HEADER:
        if (c->outoff < c->outlen && !c->gate_open) { flush_out(c); return; }
        st.header_timeouts++;
        if (c->inlen == 0 && !c->fe->answer_silent) {
            /* no signal at all: RFC 8803 s6 says ignore silently */
            conn_free(c, false);
            return;
        }
        conn_fail(c, 1, 0, "incomplete signal (header timeout)");
        return;
    case CS_RESOLVING:
    case CS_CONNECTING:
        st.connect_timeouts++;
        conn_fail(c, 65, 0, "connect timeout");
        return;
    case CS_SYNWAIT:
        syn_wait_check(c);
        return;
    case CS_RELAY:
        if (kind == T_IDLE && cfg.idle_timeout_ms > 0) {
            int64_t due = c->last_act + (int64_t)cfg.idle_timeout_ms * 1000;
            if (now_us() < due) { timer_set(c, due, T_IDLE); return; }
            st.idle_timeouts++;
            LOGV("conn %llu: idle for %d ms: closed", (unsigned long long)c->id,
                 cfg.idle_timeout_ms);
            conn_free(c, false);  /* FIN both ways */
            return;
        }
        if (!c->gate_open) {
            if (c->outoff < c->outlen) flush_out(c);
            else relay_run(c);
            return;
        }
        relay_run(c);
        return;
    case CS_LINGER:
        if (c->outoff < c->outlen) { if (!flush_out(c)) return; if (c->outoff < c->outlen) return; }
        conn_free(c, false);
        return;
    }
}

void conn_dump(void)
{
    static const char *const sn[] = { "header", "resolving", "connecting", "relay", "linger",
                                      "synwait", "cpe" };
    char a[MPX_ADDR_STRLEN], t[MPX_ADDR_STRLEN];
    int64_t now = now_us();
    for (struct conn *c = live; c; c = c->lnext)
        plog(0, "conn %llu %s %s -> %s state=%s age=%.0fms c_rd=%d c_wr=%d s_rd=%d s_wr=%d "
             "gate=%d out=%zu/%zu early=%zu/%zu up{n=%zu buf=%zu/%zu eof=%d shut=%d moved=%llu} "
             "down{n=%zu buf=%zu/%zu eof=%d shut=%d} bytes=%llu/%llu timer=%d",
             (unsigned long long)c->id, c->fe->name, addr_str(&c->client, a, sizeof a),
             c->target.family ? addr_str(&c->target, t, sizeof t) : "-", sn[c->state],
             (double)(now - c->t_accept) / 1000, c->c_rd, c->c_wr, c->s_rd, c->s_wr, c->gate_open,
             c->outoff, c->outlen, c->earlyoff, c->earlylen, c->up.n, c->up.boff, c->up.blen,
             c->up.eof, c->up.shut, (unsigned long long)c->up.moved, c->down.n, c->down.boff,
             c->down.blen, c->down.eof, c->down.shut, (unsigned long long)c->nup,
             (unsigned long long)c->ndown, c->tkind);
}
