/* mpx-proxy: the converter / HAG proxy. Command line, config file, listeners, signals and the
 * accept path; see agents/proxy/README.md for the full description.
 * Exit codes: 0 clean exit (SIGTERM/SIGINT drained), 2 usage/config error, 3 setup error. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"
#include "agents/proxy/loop.h"
#include "lib/file.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif

static volatile bool stop;
static int64_t drain_deadline;

struct listener { struct ev ev; int fi; bool mptcp; };
static struct listener listeners[PROXY_FE_MAX];
static struct ev sigev = { EV_SIGNAL, -1 };
static bool accept_paused;

/* ---- listeners ---- */
static int open_listener(int fi)
{
    const struct proxy_frontend *fe = proxy_frontends[fi];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    mpx_addr b = cfg.bind;
    int fam = b.family == MPX_AF_INET ? AF_INET : AF_INET6;
    if (b.family == MPX_AF_NONE) { memset(&b, 0, sizeof b); b.family = MPX_AF_INET6; }
    b.port = (uint16_t)cfg.port[fi];
    size_t sl = mpx_addr_to_sockaddr(&b, &ss, sizeof ss);
    bool mptcp = true;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
    if (fd < 0) {
        plog(0, "MPTCP socket: %s; listening with plain TCP", strerror(errno));
        mptcp = false;
        fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) return -1;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (fe->transparent) {
        if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0)
            plog(0, "IP_TRANSPARENT: %s", strerror(errno));
        if (fam == AF_INET6) setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
    }
    /* SYN data without a TFO cookie (RFC 8803 App. A.2), or real cookies: the kernel grants
     * them on request and accepts SYN data only with a valid one */
    if ((fe->syn_data_no_cookie || fe->tfo_cookie) &&
        setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &cfg.tfo_qlen, sizeof cfg.tfo_qlen) < 0)
        plog(0, "%s: TCP_FASTOPEN: %s", fe->name, strerror(errno));
    if (fe->syn_data_no_cookie &&
        setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0)
        plog(0, "%s: TCP_FASTOPEN_NO_COOKIE: %s", fe->name, strerror(errno));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
        plog(0, "%s: bind port %d: %s", fe->name, cfg.port[fi], strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, cfg.backlog) < 0) { plog(0, "listen: %s", strerror(errno)); close(fd); return -1; }
    listeners[fi].ev.kind = EV_LISTEN;
    listeners[fi].ev.fd = fd;
    listeners[fi].fi = fi;
    listeners[fi].mptcp = mptcp;
    if (loop_add(fd, &listeners[fi].ev, EPOLLIN) < 0) { close(fd); return -1; }
    LOGV("listening: %s port %d (%s)", fe->name, cfg.port[fi], mptcp ? "MPTCP" : "TCP");
    return 0;
}

static void close_listeners(void)
{
    for (int m = 0; m < proxy_n_frontends; m++) {
        if (listeners[m].ev.kind != EV_LISTEN || listeners[m].ev.fd < 0) continue;
        loop_del(listeners[m].ev.fd);
        close(listeners[m].ev.fd);
        listeners[m].ev.fd = -1;
    }
}

/* At the fd limit the listeners stop being polled (level-triggered: a queued connection
 * that cannot be accepted would wake the loop at once, forever); the kernel keeps the
 * connections in its queue until a descriptor is free again (fdres_restore). */
static void listeners_pause(bool pause)
{
    if (pause == accept_paused || draining) return;
    accept_paused = pause;
    if (pause) st.fd_limit_pauses++;
    for (int m = 0; m < proxy_n_frontends; m++)
        if (listeners[m].ev.kind == EV_LISTEN && listeners[m].ev.fd >= 0)
            loop_mod(listeners[m].ev.fd, &listeners[m].ev, pause ? 0 : EPOLLIN);
    plog(0, pause ? "out of file descriptors: accepting paused" : "accepting again");
}
static void resume_accept(void) { listeners_pause(false); }

static void on_accept(struct listener *l)
{
    for (int i = 0; i < 64 && !draining && !accept_paused; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        bool at_limit = false;
        int fd = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            /* out of fds: the spare takes the connection off the queue so that it gets an
             * answer (Error 64 / SOCKS REP 1) instead of a silent close */
            st.accept_errors++;
            int err = EMFILE;
            if (fdres_release(FDRES_ACCEPT)) {
                sl = sizeof ss;
                fd = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                err = errno;
                if (fd < 0) fdres_restore();
                else at_limit = true;
            }
            /* no spare left (it answers a connection now) or still no descriptor: pause */
            if (at_limit || err == EMFILE || err == ENFILE) listeners_pause(true);
            if (fd < 0) return;
        }
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            st.accept_errors++;
            plog(0, "accept: %s", strerror(errno));
            return;
        }
        mpx_addr client, local;
        sa_to_addr(&ss, &client);
        memset(&local, 0, sizeof local);
        const struct proxy_frontend *fe = proxy_frontends[l->fi];
        if (fe->local_addr) {
            /* plain mode reuses the connected port; TPROXY keeps the original destination */
            struct sockaddr_storage ls;
            socklen_t ll = sizeof ls;
            if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) sa_to_addr(&ls, &local);
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = conn_new(l->fi, fd, &client, &local);
        if (!c) { st.accept_errors++; close(fd); continue; }
        st.fe[l->fi].accepted++;
        stats_count_client(l->fi, &client);
        char a[MPX_ADDR_STRLEN];
        LOGV("conn %llu %s accepted from %s", (unsigned long long)c->id, fe->name,
             addr_str(&client, a, sizeof a));
        timer_set(c, c->t_accept + (int64_t)cfg.header_timeout_ms * 1000, T_HEADER);
        if (!acl_client_allowed(&client)) {
            st.acl_client++;
            conn_fail(c, 32, 0, cfg.n_allow ? "client not in an --allow prefix"
                                            : "no --allow prefix given: every client is refused");
            continue;
        }
        const char *limit = NULL;
        if (at_limit) {
            st.fd_limit_answered++;
            limit = "out of file descriptors";
        } else if (cfg.max_conns > 0 && conns_active > (uint64_t)cfg.max_conns) {
            st.limit_global++;
            limit = "--max-conns reached";
        } else if (cfg.max_per_client > 0 && client_count(c->cent) > cfg.max_per_client) {
            st.limit_client++;
            limit = "--max-per-client reached";
        }
        if (limit) {
            /* Error 64; a front-end whose error exists only later in its exchange (SOCKS5: a
             * REP answers a request) runs the exchange and refuses at the request */
            if (!fe->late_error) { conn_fail(c, 64, 0, limit); continue; }
            c->pending_fail = 64;
            LOGV("conn %llu: %s: refused at the request", (unsigned long long)c->id, limit);
        }
        /* the target known at accept (interception, SYN option) or read from the stream */
        if (fe->on_accept) fe->on_accept(c);
        else conn_on_client(c, EPOLLIN);
    }
}

static void on_signal(void)
{
    struct signalfd_siginfo si;
    while (read(sigev.fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGUSR1: stats_write("sigusr1"); break;
        case SIGUSR2: conn_dump(); break;
        case SIGTERM: case SIGINT:
            if (!draining) {
                draining = true;
                drain_deadline = now_us() + (int64_t)cfg.drain_timeout_ms * 1000;
                close_listeners();
                cpe_close_listeners();
                plog(1, "draining: %llu connections active", (unsigned long long)conns_active);
            } else stop = true;  /* second signal: exit now */
            break;
        default: break;
        }
    }
}

static void on_event(struct ev *e, uint32_t events)
{
    switch (e->kind) {
    case EV_LISTEN: on_accept((struct listener *)e); break;
    case EV_CLIENT: conn_on_client((struct conn *)e, events); break;
    case EV_SERVER: conn_on_server((struct conn *)(void *)((char *)e - offsetof(struct conn, sev)), events); break;
    case EV_SIGNAL: on_signal(); break;
    case EV_RESOLVER: resolve_on_event(); break;
    case EV_CPE_LISTEN: cpe_on_accept(e); break;
    }
}

static void after_batch(void)
{
    static uint64_t last_active;
    conn_reap();
    /* back to idle: hand freed connection memory back to the kernel (RSS returns to idle) */
    if (conns_active == 0 && last_active > 0) { relay_pool_trim(); malloc_trim(0); }
    last_active = conns_active;
    if (draining && (conns_active == 0 || now_us() > drain_deadline)) stop = true;
}

/* What the proxy will do, on stderr at start: who may connect, the SYN data policy, fds. */
static void startup_report(void)
{
    char line[400], a[MPX_ADDR_STRLEN];
    size_t n = 0;
    if (!cfg.n_allow) {
        plog(0, "no --allow: every client is refused (RFC 8803 s9); give the access-side "
                "prefixes with --allow PREFIX");
    } else {
        for (int i = 0; i < cfg.n_allow && n < sizeof line - 64; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s/%d", i ? ", " : "",
                                  mpx_addr_format(&cfg.allow[i].a, false, a, sizeof a),
                                  cfg.allow[i].len);
        plog(0, "clients allowed from %s; every other client is refused", line);
    }
    char p[32];
    n = 0;
    line[0] = 0;
    for (int i = 0; i < proxy_n_frontends; i++) {
        if (!cfg.port[i]) continue;
        char b[32];
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s %s", n ? ", " : "",
                              proxy_frontends[i]->name, syn_data_policy_fe(&cfg, i, b, sizeof b));
        if (n >= sizeof line) break;
    }
    cpe_startup_report();
    if (line[0])   /* CPE mode alone has no front-end */
        plog(0, "syn-data-policy %s: SYN data before the third ACK: %s",
             syn_data_policy_str(&cfg, p, sizeof p), line);
    struct rlimit rl = { 0, 0 };
    getrlimit(RLIMIT_NOFILE, &rl);
    plog(0, "fd limit %llu (hard %llu): up to about %llu relays (2 sockets + pipes each; 2 spare "
            "fds answer at the limit); idle timeout %d ms",
         (unsigned long long)st.fd_limit, (unsigned long long)rl.rlim_max,
         (unsigned long long)(st.fd_limit > 12 ? (st.fd_limit - 12) / 2 : 0), cfg.idle_timeout_ms);
}

static void check_sysctl(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "r");
    int v = 0;
    if (!f) return;
    if (fscanf(f, "%d", &v) != 1) v = 0;
    fclose(f);
    if (!(v & 0x2))
        plog(0, "warning: net.ipv4.tcp_fastopen=%#x lacks the server bit 0x2: SYN data will be "
                "refused and MPTCP clients sending it fall back to TCP; set it to %#x", v, v | 0x2);
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0) return rc;

    signal(SIGPIPE, SIG_IGN);
    /* the operator's hard limit is kept (ulimit -Hn, LimitNOFILE=): the soft one goes up to it */
    st.fd_limit = mpxa_raise_nofile(0);
    fdres_on_restore = resume_accept;
    cookie_init_key();
    stats_start();
    if (loop_init() < 0) { perror("epoll"); return 3; }
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT); sigaddset(&ss, SIGUSR1); sigaddset(&ss, SIGUSR2); sigaddset(&ss, SIGHUP);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    sigev.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigev.fd < 0 || loop_add(sigev.fd, &sigev, EPOLLIN) < 0) { perror("signalfd"); return 3; }
    for (int i = 0; i < proxy_n_frontends; i++)
        if (cfg.port[i] && open_listener(i) < 0) return 3;
    if (cpe_open_listeners() < 0) return 3;
    check_sysctl();
    acl_refresh_local();
    fdres_init();
    startup_report();
    if (cfg.ready_file[0] && mpx_file_ready(cfg.ready_file) < 0) {
        perror("ready file");
        return 3;
    }
    struct loop_handlers h = { on_event, after_batch, 200 };
    loop_run(&h, &stop);
    conn_reap();
    stats_write("exit");
    return 0;
}
