/* mpx-server: the plain-TCP target server of mpxlab.
 * Reads the client's MPX1 request header (request_len, response_len, flags), verifies the
 * request pattern, answers response_len bytes of the response pattern (or echoes the request),
 * and writes one JSON line per connection. Single-threaded epoll loop, non-blocking sockets. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/parse.h"
#include "lib/pattern.h"
#include "lib/sock.h"

#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_SETUP = 3 };
#define MAX_LISTEN 16
#define WR_CHUNK   (256 * 1024)

typedef struct { int tag; } ev_tag;        /* first member of listener and conn */
enum { TAG_LISTEN = 1, TAG_CONN = 2 };

typedef struct {
    ev_tag   tag;
    int      fd;
    mpxa_addr addr;
    char     name[MPXA_ADDR_STRLEN];
} listener;

typedef struct conn {
    ev_tag   tag;
    int      fd;
    int      lidx;
    mpxa_addr peer, local;
    int64_t  t_acc_mono, t_acc_real, t_in, t_out, t_reqdone, t_done, last_act;
    uint64_t rx, tx;
    uint8_t  hb[MPXA_HDR_LEN];
    int      hlen;
    bool     have_hdr, bad, wr_shut, want_out, tfo_syn_data;
    bool     guard_wait;                  /* first write held until MPTCP is fully established */
    int64_t  guard_t0, guard_us;
    mpxa_mp_kind mp;
    mpxa_req_hdr h;
    char     err[120];
    struct conn *prev, *next;
} conn;

typedef struct {
    listener ls[MAX_LISTEN];
    int      nls;
    int      ep;
    FILE    *json;
    bool     tfo, tfo_no_cookie, mptcp, verbose, no_guard;
    int      nguard;                      /* connections in guard_wait */
    int      timeout_s;
    conn    *head;
    uint64_t n_conns, n_ok, n_bad, active;
} server;

static volatile sig_atomic_t g_stop;
static void on_sig(int s) { (void)s; g_stop = 1; }

static void usage(FILE *f)
{
    fprintf(f,
"usage: mpx-server --listen ADDR:PORT [--listen ...] [--tfo] [--tfo-no-cookie] [--mptcp]\n"
"                  [--no-stall-guard] [--json FILE|-] [--ready FILE] [--timeout SEC] [-v]\n"
"Plain TCP target server for mpxlab. Each connection starts with the 16-byte MPX1 header\n"
"(\"MPX1\" | u32 request_len | u32 response_len | u32 flags, big endian; flags bit0 echo,\n"
"bits 8..31 pattern seed) followed by the request pattern; the server verifies the request\n"
"and answers response_len bytes of pattern (or echoes the request), then half-closes.\n"
"  --listen ADDR:PORT  IPv4 \"198.18.3.1:8080\" or IPv6 \"[fd00:18:3::1]:8080\"; repeatable\n"
"  --tfo               enable TCP Fast Open on the listeners (TCP_FASTOPEN, cookies)\n"
"  --tfo-no-cookie     also accept SYN data without a cookie (TCP_FASTOPEN_NO_COOKIE)\n"
"  --mptcp             listen on IPPROTO_MPTCP sockets (default: plain TCP); with TFO the\n"
"                      first write waits until MPTCP_INFO shows the client's key (kernel\n"
"                      reply-stall guard, reported as stall_guard_us)\n"
"  --no-stall-guard    write at once (reproduces the MPTCP+TFO reply stall)\n"
"  --json FILE|-       one JSON line per connection (default: stdout)\n"
"  --ready FILE        write \"ready PID\" to FILE once all listeners are up\n"
"  --timeout SEC       close connections idle for SEC seconds (default 30)\n"
"  -v                  log events to stderr\n"
"JSON per connection: {\"type\":\"conn\",\"listen\",\"peer\",\"local\",\"t_accept_real_us\",\n"
"  \"t_accept_mono_us\",\"t_first_in_us\",\"t_first_out_us\",\"t_req_done_us\",\"t_done_us\"\n"
"  (relative to accept, CLOCK_MONOTONIC),\"bytes_in\",\"bytes_out\",\"req_len\",\"resp_len\",\n"
"  \"echo\",\"seed\",\"mptcp\",\"tfo\",\"stall_guard_us\",\"verified\",\"error\"}; on exit a\n"
"  {\"type\":\"summary\"} line.\n"
"Exit: 0 clean stop (SIGTERM/SIGINT), 2 usage, 3 setup error (bind/listen failed).\n");
}

static void conn_log(server *s, conn *c)
{
    char p[MPXA_ADDR_STRLEN], l[MPXA_ADDR_STRLEN];
    mpxa_json j;
    bool verified = c->have_hdr && !c->bad && c->rx >= c->h.req_len && c->tx >= c->h.resp_len;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "conn");
    mpxa_json_str(&j, "listen", s->ls[c->lidx].name);
    mpxa_json_str(&j, "peer", mpxa_addr_fmt(&c->peer, p, sizeof p));
    mpxa_json_str(&j, "local", mpxa_addr_fmt(&c->local, l, sizeof l));
    mpxa_json_int(&j, "t_accept_real_us", c->t_acc_real);
    mpxa_json_int(&j, "t_accept_mono_us", c->t_acc_mono);
    mpxa_json_opt_int(&j, "t_first_in_us", c->t_in >= 0, c->t_in);
    mpxa_json_opt_int(&j, "t_first_out_us", c->t_out >= 0, c->t_out);
    mpxa_json_opt_int(&j, "t_req_done_us", c->t_reqdone >= 0, c->t_reqdone);
    mpxa_json_int(&j, "t_done_us", mpxa_mono_us() - c->t_acc_mono);
    mpxa_json_uint(&j, "bytes_in", c->rx);
    mpxa_json_uint(&j, "bytes_out", c->tx);
    mpxa_json_opt_int(&j, "req_len", c->have_hdr, c->h.req_len);
    mpxa_json_opt_int(&j, "resp_len", c->have_hdr, c->h.resp_len);
    mpxa_json_bool(&j, "echo", c->have_hdr && (c->h.flags & MPXA_FLAG_ECHO));
    mpxa_json_opt_int(&j, "seed", c->have_hdr, mpxa_hdr_seed(&c->h));
    mpxa_json_str(&j, "mptcp", mpxa_mp_kind_str(c->mp));
    mpxa_json_str(&j, "tfo", c->tfo_syn_data ? "syn-data" : "none");
    mpxa_json_int(&j, "stall_guard_us", c->guard_us);
    mpxa_json_bool(&j, "verified", verified);
    mpxa_json_str(&j, "error", c->err[0] ? c->err : NULL);
    if (mpxa_json_emit(&j, s->json) < 0 && s->verbose)
        fprintf(stderr, "mpx-server: json write failed\n");
    if (verified)
        s->n_ok++;
    else
        s->n_bad++;
}

static void conn_close(server *s, conn *c)
{
    if (c->guard_wait)
        s->nguard--;
    conn_log(s, c);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->active--;
    free(c);
}

static void set_err(conn *c, const char *fmt, const char *a)
{
    if (!c->err[0])
        snprintf(c->err, sizeof c->err, fmt, a ? a : "");
}

static void update_events(server *s, conn *c)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (c->want_out ? EPOLLOUT : 0),
                              .data.ptr = c };
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Bytes of response the server may send by now. */
static uint64_t resp_allowed(const conn *c)
{
    if (!c->have_hdr || c->bad)
        return 0;
    if (c->h.flags & MPXA_FLAG_ECHO)
        return c->rx < c->h.req_len ? c->rx : c->h.req_len;
    return c->rx >= c->h.req_len ? c->h.resp_len : 0;
}

/* Returns -1 when the connection must be closed now. */
static int do_write(server *s, conn *c)
{
    static uint8_t buf[WR_CHUNK];
    uint64_t allowed = resp_allowed(c);
    /* kernel-facts Q2 "reply stall": on an MPTCP connection whose SYN data was accepted, data
     * written before the client's third ACK (MP_CAPABLE with both keys) is not sent for ~60 s.
     * Hold the first write until MPTCP_INFO reports the remote key; the main loop re-polls. */
    if (c->tx == 0 && allowed > 0 && c->mp == MPXA_MP_MPTCP && c->tfo_syn_data && !s->no_guard) {
        mpxa_mp_state st = mpxa_mptcp_state(c->fd);
        if (st.kind == MPXA_MP_MPTCP && !st.remote_key) {
            if (!c->guard_wait) {
                c->guard_wait = true;
                c->guard_t0 = mpxa_mono_us();
                s->nguard++;
            }
            return 0;
        }
        if (c->guard_wait) {
            c->guard_wait = false;
            c->guard_us = mpxa_mono_us() - c->guard_t0;
            s->nguard--;
        }
    }
    while (c->tx < allowed) {
        size_t n = allowed - c->tx < sizeof buf ? (size_t)(allowed - c->tx) : sizeof buf;
        mpxa_resp_fill(&c->h, c->tx, buf, n);
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->want_out) {
                    c->want_out = true;
                    update_events(s, c);
                }
                return 0;
            }
            if (errno == EINTR)
                continue;
            set_err(c, "send: %s", strerror(errno));
            return -1;
        }
        if (c->t_out < 0)
            c->t_out = mpxa_mono_us() - c->t_acc_mono;
        c->tx += (uint64_t)w;
    }
    if (c->want_out) {
        c->want_out = false;
        update_events(s, c);
    }
    if (c->have_hdr && !c->wr_shut && c->rx >= c->h.req_len && c->tx >= c->h.resp_len) {
        shutdown(c->fd, SHUT_WR);   /* response complete: half-close, wait for client EOF */
        c->wr_shut = true;
    }
    return 0;
}

/* Consumes received bytes: header, verification. Returns -1 to close. */
static int consume(conn *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (!c->have_hdr) {
            size_t k = MPXA_HDR_LEN - (size_t)c->hlen;
            if (k > n)
                k = n;
            memcpy(c->hb + c->hlen, p, k);
            c->hlen += (int)k;
            c->rx += k;
            p += k;
            n -= k;
            if (c->hlen == MPXA_HDR_LEN) {
                int r = mpxa_hdr_decode(c->hb, &c->h);
                if (r != MPXA_HDR_OK) {
                    set_err(c, "bad MPX1 header%s", r == MPXA_HDR_BAD_MAGIC ? " (magic)" :
                            r == MPXA_HDR_BAD_LEN ? " (request_len < 16)" : " (echo length)");
                    c->bad = true;
                    return -1;
                }
                c->have_hdr = true;
            }
            continue;
        }
        uint64_t left = c->rx < c->h.req_len ? c->h.req_len - c->rx : 0;
        if (left == 0) {
            set_err(c, "%s", "client sent more than request_len bytes");
            c->bad = true;
            return -1;
        }
        size_t k = n < left ? n : (size_t)left;
        size_t badi = 0;
        if (!c->bad && !mpxa_req_check(&c->h, c->rx, p, k, &badi)) {
            char m[64];
            snprintf(m, sizeof m, "%llu", (unsigned long long)(c->rx + badi));
            set_err(c, "request pattern mismatch at offset %s", m);
            c->bad = true;
            return -1;
        }
        c->rx += k;
        p += k;
        n -= k;
    }
    return 0;
}

static void on_conn(server *s, conn *c, uint32_t evs)
{
    static uint8_t buf[256 * 1024];
    c->last_act = mpxa_mono_us();
    if (evs & EPOLLOUT) {
        if (do_write(s, c) < 0) {
            conn_close(s, c);
            return;
        }
    }
    if (evs & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (int rounds = 0; rounds < 16; rounds++) {
            ssize_t r = recv(c->fd, buf, sizeof buf, 0);
            if (r > 0) {
                if (c->t_in < 0)
                    c->t_in = mpxa_mono_us() - c->t_acc_mono;
                if (consume(c, buf, (size_t)r) < 0) {
                    conn_close(s, c);
                    return;
                }
                if (c->have_hdr && c->t_reqdone < 0 && c->rx >= c->h.req_len)
                    c->t_reqdone = mpxa_mono_us() - c->t_acc_mono;
                if (do_write(s, c) < 0) {
                    conn_close(s, c);
                    return;
                }
                continue;
            }
            if (r == 0) {
                if (!c->have_hdr || c->rx < c->h.req_len)
                    set_err(c, "%s", "EOF before the request was complete");
                else if (c->tx < c->h.resp_len)
                    set_err(c, "%s", "client closed before the response was complete");
                conn_close(s, c);
                return;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            set_err(c, "recv: %s", strerror(errno));
            conn_close(s, c);
            return;
        }
    }
}

static void on_accept(server *s, int li)
{
    for (int k = 0; k < 256; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(s->ls[li].fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && s->verbose)
                fprintf(stderr, "mpx-server: accept: %s\n", strerror(errno));
            return;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->tag.tag = TAG_CONN;
        c->fd = fd;
        c->lidx = li;
        c->t_acc_mono = mpxa_mono_us();
        c->t_acc_real = mpxa_real_us();
        c->last_act = c->t_acc_mono;
        c->t_in = c->t_out = c->t_reqdone = c->t_done = -1;
        mpxa_addr_from_sa(&c->peer, (struct sockaddr *)&ss, sl);
        sl = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
            mpxa_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
        mpxa_set_nodelay(fd, true);
        int opts = mpxa_tcpi_options(fd);
        c->tfo_syn_data = opts >= 0 && (opts & MPXA_TCPI_OPT_SYN_DATA);
        c->mp = mpxa_mptcp_state(fd).kind;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->head;
        if (s->head)
            s->head->prev = c;
        s->head = c;
        s->n_conns++;
        s->active++;
        if (s->verbose) {
            char p[MPXA_ADDR_STRLEN];
            fprintf(stderr, "mpx-server: accept %s on %s\n", mpxa_addr_fmt(&c->peer, p, sizeof p),
                    s->ls[li].name);
        }
        /* TFO: the request may already be queued; read it now rather than wait for a wakeup */
        on_conn(s, c, EPOLLIN);
    }
}

static void reap_idle(server *s)
{
    int64_t now = mpxa_mono_us();
    for (conn *c = s->head, *n; c; c = n) {
        n = c->next;
        if (now - c->last_act > (int64_t)s->timeout_s * 1000000) {
            set_err(c, "%s", "idle timeout");
            conn_close(s, c);
        }
    }
}

int main(int argc, char **argv)
{
    static server S;
    server *s = &S;
    const char *json_path = "-", *ready = NULL;
    const char *listen_spec[MAX_LISTEN];
    int nspec = 0;
    s->timeout_s = 30;
    enum { O_TFO = 256, O_TFO_NC, O_MPTCP, O_JSON, O_READY, O_TIMEOUT, O_VERSION, O_NOGUARD };
    static const struct option lo[] = {
        { "listen", required_argument, 0, 'l' },
        { "tfo", no_argument, 0, O_TFO },
        { "tfo-no-cookie", no_argument, 0, O_TFO_NC },
        { "mptcp", no_argument, 0, O_MPTCP },
        { "no-stall-guard", no_argument, 0, O_NOGUARD },
        { "json", required_argument, 0, O_JSON },
        { "ready", required_argument, 0, O_READY },
        { "timeout", required_argument, 0, O_TIMEOUT },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, O_VERSION },
        { 0, 0, 0, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "l:vh", lo, NULL)) != -1) {
        switch (o) {
        case 'l':
            if (nspec == MAX_LISTEN) {
                fprintf(stderr, "mpx-server: at most %d --listen\n", MAX_LISTEN);
                return EXIT_USAGE;
            }
            listen_spec[nspec++] = optarg;
            break;
        case O_TFO: s->tfo = true; break;
        case O_TFO_NC: s->tfo = s->tfo_no_cookie = true; break;
        case O_MPTCP: s->mptcp = true; break;
        case O_NOGUARD: s->no_guard = true; break;
        case O_JSON: json_path = optarg; break;
        case O_READY: ready = optarg; break;
        case O_TIMEOUT: {
            uint64_t t;
            if (mpx_parse_u64(optarg, 1, 86400, &t) < 0) {
                fprintf(stderr, "mpx-server: --timeout wants whole seconds 1..86400, got '%s'\n", optarg);
                return EXIT_USAGE;
            }
            s->timeout_s = (int)t;
            break;
        }
        case 'v': s->verbose = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        case O_VERSION: printf("mpx-server %s\n", MPX_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc || nspec == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (int i = 0; i < nspec; i++) {
        if (mpxa_addr_parse(listen_spec[i], 8080, &s->ls[i].addr) < 0) {
            fprintf(stderr, "mpx-server: bad --listen address '%s'\n", listen_spec[i]);
            return EXIT_USAGE;
        }
    }
    if (strcmp(json_path, "-") == 0) {
        s->json = stdout;
    } else if (!(s->json = fopen(json_path, "a"))) {
        fprintf(stderr, "mpx-server: %s: %s\n", json_path, strerror(errno));
        return EXIT_SETUP;
    }
    mpxa_raise_nofile(0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->ep < 0) {
        perror("mpx-server: epoll_create1");
        return EXIT_SETUP;
    }
    for (int i = 0; i < nspec; i++) {
        listener *l = &s->ls[i];
        const char *what = NULL;
        l->tag.tag = TAG_LISTEN;
        l->fd = mpxa_listen(&l->addr, s->mptcp, 4096, s->tfo ? 1024 : 0, s->tfo_no_cookie, &what);
        if (l->fd < 0) {
            fprintf(stderr, "mpx-server: listen %s: %s: %s\n", listen_spec[i], what, strerror(errno));
            return EXIT_SETUP;
        }
        /* port 0: report the real port */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0)
            mpxa_addr_from_sa(&l->addr, (struct sockaddr *)&ss, sl);
        mpxa_addr_fmt(&l->addr, l->name, sizeof l->name);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, l->fd, &ev) < 0) {
            perror("mpx-server: epoll_ctl");
            return EXIT_SETUP;
        }
        s->nls++;
        if (s->verbose)
            fprintf(stderr, "mpx-server: listening on %s%s%s\n", l->name, s->tfo ? " tfo" : "",
                    s->mptcp ? " mptcp" : "");
    }
    if (ready && mpx_file_ready(ready) < 0) {
        fprintf(stderr, "mpx-server: --ready %s: %s\n", ready, strerror(errno));
        return EXIT_SETUP;
    }

    int64_t last_reap = mpxa_mono_us();
    struct epoll_event evs[256];
    while (!g_stop) {
        int n = epoll_wait(s->ep, evs, 256, s->nguard ? 1 : 500);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("mpx-server: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            ev_tag *t = evs[i].data.ptr;
            if (t->tag == TAG_LISTEN)
                on_accept(s, (int)((listener *)t - s->ls));
            else
                on_conn(s, (conn *)t, evs[i].events);
        }
        if (s->nguard) {
            for (conn *c = s->head, *nx; c; c = nx) {
                nx = c->next;
                if (c->guard_wait && do_write(s, c) < 0)
                    conn_close(s, c);
            }
        }
        int64_t now = mpxa_mono_us();
        if (now - last_reap > 1000000) {
            reap_idle(s);
            last_reap = now;
        }
    }
    while (s->head) {
        set_err(s->head, "%s", "server stopped");
        conn_close(s, s->head);
    }
    mpxa_json j;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "summary");
    mpxa_json_uint(&j, "connections", s->n_conns);
    mpxa_json_uint(&j, "verified", s->n_ok);
    mpxa_json_uint(&j, "failed", s->n_bad);
    mpxa_json_emit(&j, s->json);
    if (s->json != stdout)
        fclose(s->json);
    return EXIT_OK;
}
