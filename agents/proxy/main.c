/* mpx-proxy: the converter / HAG proxy. Command line, config file, listeners, signals and the
 * accept path; see agents/proxy/README.md for the full description.
 * Exit codes: 0 clean exit (SIGTERM/SIGINT drained), 2 usage/config error, 3 setup error. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <getopt.h>
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
#include "proto/buf.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif
#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

static volatile bool stop;
static int64_t drain_deadline;

struct listener { struct ev ev; int method; bool mptcp; };
static struct listener listeners[M__N];
static struct ev sigev = { EV_SIGNAL, -1 };
static int reserve_fd = -1;

/* ---- options ---- */
static void usage(FILE *f)
{
    fprintf(f,
"usage: mpx-proxy [--convert PORT] [--mpconvert PORT] [--mpconvert-ie PORT] [--socks5 PORT]\n"
"                 [--transparent PORT] [--convert-tfo PORT] [--mpconvert-opt PORT --optd PATH]\n"
"                 [--bind ADDR] [--allow PREFIX]... [--deny-target PREFIX]...\n"
"                 [--max-per-client N] [--max-conns N] [--cookie-required] [--cookie-key HEX]\n"
"                 [--cookie-len N] [--users FILE] [--no-stall-guard] [--stall-guard-max MS]\n"
"                 [--header-timeout MS] [--connect-timeout MS] [--linger MS] [--drain-timeout MS]\n"
"                 [--no-splice] [--pipe-size BYTES] [--config FILE] [--stats FILE] [--ready FILE]\n"
"                 [-v] [--help] [--version]\n"
"Without any listener option: convert 5124, mpconvert 5125, mpconvert-ie 5126, socks5 1080.\n"
"Listeners are IPPROTO_MPTCP sockets accepting SYN data without a TFO cookie, except\n"
"--convert-tfo (RFC 8803 with real TFO cookies: granted on request, required for SYN data).\n"
"--transparent: IP_TRANSPARENT listener for tproxied (implicit) connections; the target is\n"
"the original destination (getsockname). --mpconvert-opt: MP_CONVERT as a SYN option; the\n"
"target comes from mpx-optd (read mode) over its control socket --optd (agents/intercept).\n"
"Signals: SIGUSR1 writes the JSON counters; SIGTERM/SIGINT drain (stop accepting, finish\n"
"relays, exit 0). Exit: 0 ok, 2 usage/config error, 3 setup error. See agents/proxy/README.md.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 0);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static bool parse_bool(const char *v)
{
    return !v || !*v || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
           !strcasecmp(v, "on");
}

static int load_config(const char *file, int depth);

/* One option, from the command line or a config line ("key value"). Returns 0 or -1. */
static int apply(const char *key, const char *val)
{
#define NEED() do { if (!val || !*val) { fprintf(stderr, "mpx-proxy: %s needs a value\n", key); return -1; } } while (0)
#define INT(dst, lo, hi) do { NEED(); if (parse_int(val, lo, hi, &(dst))) { fprintf(stderr, "mpx-proxy: bad %s '%s'\n", key, val); return -1; } } while (0)
    static const char *const mkeys[M__N] = { "convert", "mpconvert", "mpconvert-ie", "socks5", "transparent", "convert-tfo", "mpconvert-opt" };
    for (int m = 0; m < M__N; m++)
        if (!strcmp(key, mkeys[m])) { INT(cfg.port[m], 0, 65535); return 0; }
    if (!strcmp(key, "bind")) {
        NEED();
        if (mpx_addr_parse(val, &cfg.bind, -1) < 0) { fprintf(stderr, "mpx-proxy: bad bind address '%s'\n", val); return -1; }
    } else if (!strcmp(key, "allow") || !strcmp(key, "deny-target")) {
        NEED();
        bool allow = key[0] == 'a';
        struct prefix *p = allow ? &cfg.allow[cfg.n_allow] : &cfg.deny[cfg.n_deny];
        if ((allow ? cfg.n_allow : cfg.n_deny) >= MAX_PREFIXES) { fprintf(stderr, "mpx-proxy: too many %s\n", key); return -1; }
        if (prefix_parse(val, p) < 0) { fprintf(stderr, "mpx-proxy: bad prefix '%s'\n", val); return -1; }
        if (allow) cfg.n_allow++; else cfg.n_deny++;
    } else if (!strcmp(key, "max-per-client")) INT(cfg.max_per_client, 0, 1 << 30);
    else if (!strcmp(key, "max-conns")) INT(cfg.max_conns, 0, 1 << 30);
    else if (!strcmp(key, "cookie-required")) cfg.cookie_required = parse_bool(val);
    else if (!strcmp(key, "cookie-key")) {
        NEED();
        long n = mpx_hex_parse(val, cfg.cookie_key, sizeof cfg.cookie_key);
        if (n < 16) { fprintf(stderr, "mpx-proxy: --cookie-key needs 16..32 bytes of hex\n"); return -1; }
        cfg.cookie_key_len = (int)n;
    } else if (!strcmp(key, "cookie-len")) INT(cfg.cookie_len, 8, 16);
    else if (!strcmp(key, "users")) {
        NEED();
        snprintf(cfg.users_file, sizeof cfg.users_file, "%s", val);
        if (socks5_load_users(val) <= 0) { fprintf(stderr, "mpx-proxy: cannot read users from '%s' (lines user:password)\n", val); return -1; }
    } else if (!strcmp(key, "no-stall-guard")) cfg.stall_guard = !parse_bool(val);
    else if (!strcmp(key, "stall-guard")) cfg.stall_guard = parse_bool(val);
    else if (!strcmp(key, "stall-guard-max")) INT(cfg.stall_guard_max_ms, 1, 600000);
    else if (!strcmp(key, "header-timeout")) INT(cfg.header_timeout_ms, 1, 600000);
    else if (!strcmp(key, "connect-timeout")) INT(cfg.connect_timeout_ms, 1, 600000);
    else if (!strcmp(key, "linger")) INT(cfg.linger_ms, 0, 600000);
    else if (!strcmp(key, "drain-timeout")) INT(cfg.drain_timeout_ms, 0, 3600000);
    else if (!strcmp(key, "no-splice")) cfg.splice = !parse_bool(val);
    else if (!strcmp(key, "pipe-size")) INT(cfg.pipe_size, 0, 1 << 24);
    else if (!strcmp(key, "optd")) {
        NEED();
        if (strlen(val) >= sizeof cfg.optd_path - 16) { fprintf(stderr, "mpx-proxy: --optd path too long\n"); return -1; }
        snprintf(cfg.optd_path, sizeof cfg.optd_path, "%s", val);
    }
    else if (!strcmp(key, "stats")) { NEED(); snprintf(cfg.stats_file, sizeof cfg.stats_file, "%s", val); }
    else if (!strcmp(key, "ready")) { NEED(); snprintf(cfg.ready_file, sizeof cfg.ready_file, "%s", val); }
    else if (!strcmp(key, "verbose")) cfg.verbose = parse_bool(val);
    else if (!strcmp(key, "config")) { NEED(); return load_config(val, 1); }
    else { fprintf(stderr, "mpx-proxy: unknown option '%s'\n", key); return -1; }
    return 0;
#undef INT
#undef NEED
}

/* Config file: one "key value" per line (keys = long option names), '#' comments. */
static int load_config(const char *file, int depth)
{
    if (depth > 4) { fprintf(stderr, "mpx-proxy: config files nested too deep\n"); return -1; }
    FILE *f = fopen(file, "r");
    if (!f) { fprintf(stderr, "mpx-proxy: cannot open config '%s': %s\n", file, strerror(errno)); return -1; }
    char line[512];
    int ln = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *p = line, *h = strchr(line, '#');
        if (h) *h = 0;
        line[strcspn(line, "\r\n")] = 0;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) continue;
        char *k = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = 0;
        while (*p == ' ' || *p == '\t') p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        if (depth > 4 || !strcmp(k, "config")) { fprintf(stderr, "%s:%d: nested config not allowed\n", file, ln); rc = -1; break; }
        if (apply(k, *p ? p : NULL) < 0) { fprintf(stderr, "%s:%d: bad line\n", file, ln); rc = -1; break; }
    }
    fclose(f);
    return rc;
}

/* ---- listeners ---- */
static int open_listener(int method)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    mpx_addr b = cfg.bind;
    int fam = b.family == MPX_AF_INET ? AF_INET : AF_INET6;
    if (b.family == MPX_AF_NONE) { memset(&b, 0, sizeof b); b.family = MPX_AF_INET6; }
    b.port = (uint16_t)cfg.port[method];
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
    if (method == M_TRANSPARENT) {
        if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0)
            plog(0, "IP_TRANSPARENT: %s", strerror(errno));
        if (fam == AF_INET6) setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
    }
    /* SYN data without a TFO cookie (RFC 8803 App. A.2); the convert-tfo listener instead
     * grants cookies on request and accepts SYN data only with a valid one */
    if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &cfg.tfo_qlen, sizeof cfg.tfo_qlen) < 0)
        plog(0, "%s: TCP_FASTOPEN: %s", method_name[method], strerror(errno));
    if (method != M_CONVERT_TFO &&
        setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0)
        plog(0, "%s: TCP_FASTOPEN_NO_COOKIE: %s", method_name[method], strerror(errno));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
        plog(0, "%s: bind port %d: %s", method_name[method], cfg.port[method], strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, cfg.backlog) < 0) { plog(0, "listen: %s", strerror(errno)); close(fd); return -1; }
    listeners[method].ev.kind = EV_LISTEN;
    listeners[method].ev.fd = fd;
    listeners[method].method = method;
    listeners[method].mptcp = mptcp;
    if (loop_add(fd, &listeners[method].ev, EPOLLIN) < 0) { close(fd); return -1; }
    LOGV("listening: %s port %d (%s)", method_name[method], cfg.port[method], mptcp ? "MPTCP" : "TCP");
    return 0;
}

static void close_listeners(void)
{
    for (int m = 0; m < M__N; m++) {
        if (listeners[m].ev.kind != EV_LISTEN || listeners[m].ev.fd < 0) continue;
        loop_del(listeners[m].ev.fd);
        close(listeners[m].ev.fd);
        listeners[m].ev.fd = -1;
    }
}

static void on_accept(struct listener *l)
{
    for (int i = 0; i < 64 && !draining; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            st.accept_errors++;
            if ((errno == EMFILE || errno == ENFILE) && reserve_fd >= 0) {
                /* out of fds: free the spare one to take the connection off the queue and
                 * close it (there is no fd left to answer through), then re-arm the spare */
                close(reserve_fd);
                fd = accept(l->ev.fd, NULL, NULL);
                if (fd >= 0) close(fd);
                reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                plog(0, "accept: out of file descriptors: connection closed");
                return;
            }
            plog(0, "accept: %s", strerror(errno));
            return;
        }
        mpx_addr client, local;
        sa_to_addr(&ss, &client);
        memset(&local, 0, sizeof local);
        if (!IS_CONVERT(l->method) && l->method != M_SOCKS5) {
            /* plain mode reuses the connected port; TPROXY keeps the original destination */
            struct sockaddr_storage ls;
            socklen_t ll = sizeof ls;
            getsockname(fd, (struct sockaddr *)&ls, &ll);
            sa_to_addr(&ls, &local);
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = conn_new(l->method, fd, &client, &local);
        if (!c) { st.accept_errors++; close(fd); continue; }
        st.accepted[l->method]++;
        char a[MPX_ADDR_STRLEN];
        LOGV("conn %llu %s accepted from %s", (unsigned long long)c->id, method_name[l->method],
             addr_str(&client, a, sizeof a));
        timer_set(c, c->t_accept + (int64_t)cfg.header_timeout_ms * 1000, T_HEADER);
        if (!acl_client_allowed(&client)) {
            st.acl_client++;
            conn_fail(c, 32, 0, "client not in an --allow prefix");
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
        if (l->method == M_TRANSPARENT) {
            /* TPROXY keeps the original destination as the local address */
            c->target = local;
            c->c_rd = true;
            conn_target_ready(c);
            continue;
        }
        if (l->method == M_MPCONVERT_OPT) {
            /* the target rode in the SYN's option space: mpx-optd saw it (issue 7) */
            char why[200];
            if (optd_lookup(cfg.optd_path, &client, &c->target, why, sizeof why) < 0) {
                memset(&c->target, 0, sizeof c->target);
                st.malformed++;
                conn_fail(c, 1, 0, why);
                continue;
            }
            c->c_rd = true;
            conn_target_ready(c);
            continue;
        }
        conn_on_client(c, EPOLLIN);
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

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return;
    rlim_t want = 1 << 20;
    if (rl.rlim_max < want) {
        struct rlimit r2 = { want, want };
        if (setrlimit(RLIMIT_NOFILE, &r2) == 0) return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
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
    enum { O_BASE = 256 };
    static const struct option opts[] = {
        { "convert", 1, 0, 0 }, { "mpconvert", 1, 0, 0 }, { "mpconvert-ie", 1, 0, 0 },
        { "socks5", 1, 0, 0 }, { "transparent", 1, 0, 0 }, { "convert-tfo", 1, 0, 0 },
        { "mpconvert-opt", 1, 0, 0 }, { "optd", 1, 0, 0 },
        { "bind", 1, 0, 0 },
        { "allow", 1, 0, 0 }, { "deny-target", 1, 0, 0 }, { "max-per-client", 1, 0, 0 },
        { "max-conns", 1, 0, 0 }, { "cookie-required", 0, 0, 0 }, { "cookie-key", 1, 0, 0 },
        { "cookie-len", 1, 0, 0 }, { "users", 1, 0, 0 }, { "no-stall-guard", 0, 0, 0 },
        { "stall-guard-max", 1, 0, 0 }, { "header-timeout", 1, 0, 0 },
        { "connect-timeout", 1, 0, 0 }, { "linger", 1, 0, 0 }, { "drain-timeout", 1, 0, 0 },
        { "no-splice", 0, 0, 0 }, { "pipe-size", 1, 0, 0 }, { "config", 1, 0, 0 },
        { "stats", 1, 0, 0 }, { "ready", 1, 0, 0 }, { "verbose", 0, 0, 'v' },
        { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0, 0, 0, 0 },
    };
    int o, idx;
    while ((o = getopt_long(argc, argv, "vhV", opts, &idx)) != -1) {
        if (o == 0) { if (apply(opts[idx].name, optarg) < 0) return 2; }
        else if (o == 'v') cfg.verbose++;
        else if (o == 'h') { usage(stdout); return 0; }
        else if (o == 'V') { printf("mpx-proxy %s\n", MPX_VERSION); return 0; }
        else { usage(stderr); return 2; }
    }
    if (optind < argc) { usage(stderr); return 2; }
    bool any = false;
    for (int m = 0; m < M__N; m++) if (cfg.port[m]) any = true;
    if (cfg.port[M_MPCONVERT_OPT] && !cfg.optd_path[0])
        plog(0, "warning: --mpconvert-opt without --optd PATH: no target can be learnt, every "
                "mpconvert-opt connection will be refused");
    if (!any) { cfg.port[M_CONVERT] = 5124; cfg.port[M_MPCONVERT] = 5125; cfg.port[M_MPCONVERT_IE] = 5126; cfg.port[M_SOCKS5] = 1080; }

    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    cookie_init_key();
    stats_start();
    if (loop_init() < 0) { perror("epoll"); return 3; }
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT); sigaddset(&ss, SIGUSR1); sigaddset(&ss, SIGUSR2); sigaddset(&ss, SIGHUP);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    sigev.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigev.fd < 0 || loop_add(sigev.fd, &sigev, EPOLLIN) < 0) { perror("signalfd"); return 3; }
    for (int m = 0; m < M__N; m++)
        if (cfg.port[m] && open_listener(m) < 0) return 3;
    check_sysctl();
    acl_refresh_local();
    reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (cfg.ready_file[0]) {
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s.tmp", cfg.ready_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "ready %d\n", (int)getpid()) < 0 || fclose(f) != 0 || rename(tmp, cfg.ready_file) < 0) {
            perror("ready file");
            return 3;
        }
    }
    struct loop_handlers h = { on_event, after_batch, 200 };
    loop_run(&h, &stop);
    conn_reap();
    stats_write("exit");
    return 0;
}
