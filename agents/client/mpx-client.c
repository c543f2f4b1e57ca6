/* mpx-client: the measured client of mpxlab (CONTRACTS §3). Opens --count connections,
 * --concurrency at a time (one epoll loop, non-blocking sockets), signals the target to a
 * proxy in the chosen way, runs the MPX1 workload against mpx-server, verifies the response
 * pattern and prints one JSON line per connection plus a summary.
 *
 * Signals: tcp (direct), socks5 / socks5-auth (RFC 1928/1929), convert (RFC 8803 Convert +
 * request in a cookie-less TFO SYN), convert-wait (Convert in the SYN, request after the
 * converter's reply), convert-cookie (Convert + request in a SYN with a real TFO cookie),
 * mpconvert (plain-mode-09 MP_CONVERT + EOL + request in the SYN), mpconvert-ie
 * (plain-mode-10 Information Element + request in the SYN; the IE must be echoed back).
 * Every wire format comes from proto/. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/pattern.h"
#include "lib/sock.h"
#include "lib/workload.h"
#include "proto/addr.h"
#include "proto/convert.h"
#include "proto/budget.h"
#include "proto/mpconvert.h"
#include "proto/mpopt.h"
#include "proto/socks5.h"

#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

typedef enum {
    SIG_TCP, SIG_SOCKS5, SIG_SOCKS5_AUTH, SIG_CONVERT, SIG_CONVERT_WAIT, SIG_CONVERT_COOKIE,
    SIG_MPCONVERT, SIG_MPCONVERT_IE,
    SIG_IMPLICIT, SIG_IMPLICIT_RA, SIG_IMPLICIT_PREFER, SIG_MPCONVERT_OPT,
} sigkind;

static const struct { const char *name; sigkind k; int port; } g_sigs[] = {
    { "tcp", SIG_TCP, 0 },
    { "socks5", SIG_SOCKS5, 1080 },
    { "socks5-auth", SIG_SOCKS5_AUTH, 1080 },
    { "convert", SIG_CONVERT, 5124 },
    { "convert-wait", SIG_CONVERT_WAIT, 5124 },
    { "convert-cookie", SIG_CONVERT_COOKIE, 5124 },
    { "mpconvert", SIG_MPCONVERT, 5125 },
    { "mpconvert-ie", SIG_MPCONVERT_IE, 5126 },
    { "implicit", SIG_IMPLICIT, 0 },
    { "implicit-ra", SIG_IMPLICIT_RA, 0 },
    { "implicit-prefer", SIG_IMPLICIT_PREFER, 0 },
    { "mpconvert-opt", SIG_MPCONVERT_OPT, 5128 },
};

static bool is_convert(sigkind k) { return k == SIG_CONVERT || k == SIG_CONVERT_WAIT || k == SIG_CONVERT_COOKIE; }
static bool is_socks(sigkind k) { return k == SIG_SOCKS5 || k == SIG_SOCKS5_AUTH; }
/* straight to the target's address (no explicit proxy) */
static bool is_direct(sigkind k)
{
    return k == SIG_TCP || k == SIG_IMPLICIT || k == SIG_IMPLICIT_RA || k == SIG_IMPLICIT_PREFER;
}
/* signals whose SYN carries an extra TCP option added by mpx-optd */
static bool is_optsig(sigkind k) { return k == SIG_IMPLICIT_PREFER || k == SIG_MPCONVERT_OPT; }
/* --tfo / --tfo-no-cookie apply (the others have a fixed SYN) */
static bool tfo_selectable(sigkind k) { return is_direct(k) || k == SIG_MPCONVERT_OPT; }

typedef enum {
    ST_CONNECTING, ST_SOCKS_CHOICE, ST_SOCKS_AUTH, ST_SOCKS_REPLY, ST_CONV_REPLY, ST_IE_ECHO,
    ST_RESPONSE,
} cstate;

static const char *st_name(cstate s)
{
    static const char *n[] = { "connecting", "socks-choice", "socks-auth", "socks-reply",
                               "convert-reply", "ie-echo", "response" };
    return n[s];
}

#define SIGBUF 1280     /* largest signalling message either way (Convert max 1020) */
#define SYN_DATA_MAX 1400

typedef struct cconn {
    int      fd;
    uint32_t seq;
    cstate   st;
    int64_t  t0, t0_real;                 /* CLOCK_MONOTONIC / REALTIME at start, us */
    int64_t  t_conn, t_req, t_sig, t_first, t_done;   /* relative to t0, -1 unset */
    mpxa_req_hdr h;
    uint64_t req_off, resp_off;           /* request bytes written / response bytes read */
    uint64_t sig_out_total, sig_in_total; /* signalling bytes both ways */
    uint8_t  sig_out[SIGBUF];             /* signalling bytes still to send */
    size_t   sig_out_len, sig_out_off;
    uint8_t  sig_in[SIGBUF];              /* signalling reply being assembled */
    size_t   sig_in_len;
    uint8_t  ie_sent[64];                 /* mpconvert-ie: the IE bytes we sent */
    size_t   ie_len;
    bool     req_allowed, want_out, connected, tfo_attempt, bad_pattern, rst;
    int64_t  last_io;                     /* CLOCK_MONOTONIC us of the last read/write progress */
    uint32_t kicks;                       /* readable data found without an epoll wakeup */
    uint16_t optd_sport;                  /* registered with mpx-optd by source port (0 = no) */
    int      conv_error, socks_rep;       /* -1 = none */
    char     ext_hdr[2 * 64 + 1];         /* Extended TCP Header TLV content, hex */
    char     err[200];
    mpxa_addr local;
    struct cconn *prev, *next;
} cconn;

typedef struct {
    sigkind  sig;
    const char *sig_name;
    mpxa_addr target, proxy, bind;
    bool     have_proxy, have_bind, mptcp, tfo_direct, tfo_direct_nc, verbose;
    mpxa_workload wl;
    char     wl_text[64];
    uint32_t count, conc, seed;
    double   timeout_s;
    const char *user, *pass, *tag, *cookie_path;
    uint8_t  cookie[256];
    size_t   cookie_len;
    uint8_t  conv_opts[32];               /* --convert-opts: kinds for an Extended Connect */
    size_t   nconv_opts;
    FILE    *json;
    int      ep;
    cconn   *head;
    uint32_t started, finished, active, ok, failed, max_active;
    int64_t *ttfb;                        /* successful connections' TTFB */
    uint32_t nttfb;
    uint32_t n_mptcp, n_fallback, n_tcp, n_tfo_acked;
    uint64_t n_kicks;
    int64_t  peek_us;                     /* --peek-probe: diagnostic MSG_PEEK probes */
    uint64_t n_peeks;
    /* option-space signals (implicit-prefer, mpconvert-opt) and Router Alert */
    const char *optd_path;                /* --optd-ctl: the client namespace's mpx-optd */
    int      optd_fd;
    bool     optd_dead;                   /* stopped answering: fail fast from then on */
    char     optd_me[108];
    uint8_t  mp_subtype;
    char     opt_hex[2 * 40 + 1];         /* option registered for each connection */
    bool     opt_fits;
    int      syn_opt_bytes, syn_opt_total;  /* requested / what Linux would emit, -1 = n/a */
    int      tfo_sysctl;                  /* net.ipv4.tcp_fastopen of this namespace */
    char     budget_spec[160];
} client;

static volatile sig_atomic_t g_stop;
static void on_sig(int s) { (void)s; g_stop = 1; }

static void usage(FILE *f)
{
    fprintf(f,
"usage: mpx-client --signal SIG --target ADDR:PORT [--proxy ADDR:PORT] [--mptcp on|off]\n"
"                  [--workload SPEC] [--count N] [--concurrency C] [--json FILE|-]\n"
"                  [--timeout SEC] [--socks-user U --socks-pass P] [--cookie-cache FILE]\n"
"                  [--bind ADDR] [--tag TEXT] [--tfo|--tfo-no-cookie] [--convert-opts K,K..]\n"
"                  [--optd-ctl PATH] [--mp-subtype N] [--seed N] [-v]\n"
"SIG:\n"
"  tcp             direct to the target, no proxy (--tfo: request in the SYN with the kernel's\n"
"                  TFO cookie; --tfo-no-cookie: in the SYN without any cookie option)\n"
"  socks5          RFC 1928 no-auth CONNECT via --proxy (default port 1080)\n"
"  socks5-auth     RFC 1928 + RFC 1929 username/password (--socks-user/--socks-pass)\n"
"  convert         RFC 8803 header + Connect TLV + the request in one SYN (sendto\n"
"                  MSG_FASTOPEN, TCP_FASTOPEN_NO_COOKIE: no TFO option, true 0-RTT) (5124)\n"
"  convert-wait    Convert in the SYN; the request only after the converter's reply\n"
"  convert-cookie  Convert + request with a real TFO cookie (first connection requests it)\n"
"  mpconvert       plain-mode-09 MP_CONVERT + EOL + request in the SYN payload (5125)\n"
"  mpconvert-ie    plain-mode-10 MP_CONVERT IE + request in the SYN; the reply must start\n"
"                  with the echoed IE, else the connection fails (5126)\n"
"  implicit        MPTCP straight to the target; an on-path HAG intercepts (no signal)\n"
"  implicit-ra     as implicit, SYNs carry the IPv4 Router Alert (94 04 00 00): added by\n"
"                  mpx-optd (--optd-ctl, or registered by the harness); IP_OPTIONS with\n"
"                  --mptcp off\n"
"  implicit-prefer as implicit, MP_CAPABLE SYNs carry MP_PREFER_PROXY (added by mpx-optd)\n"
"  mpconvert-opt   MP_CONVERT as a kind-30 option in the SYN (added by mpx-optd) to the\n"
"                  proxy (5128); refused with the byte count when the SYN has no room\n"
"Workload (default \"rr 100/1000\"): \"rr REQ/RESP\", \"bulk-down N\", \"bulk-up N\", \"echo N\";\n"
"  sizes in bytes or with KB/MB/GB (10^3) or KiB/MiB/GiB; REQ includes the 16-byte header.\n"
"Options:\n"
"  --mptcp on|off       IPPROTO_MPTCP socket (default on)\n"
"  --count N            connections in total (default 1)\n"
"  --concurrency C      connections open at a time (default 1)\n"
"  --timeout SEC        per-connection deadline (default 10)\n"
"  --cookie-cache FILE  RFC 8803 Cookie TLV cache: sent when present; an Error 3 (Missing\n"
"                       Cookie) reply stores the converter's cookie there for later connections\n"
"  --convert-opts LIST  send an Extended Connect listing these TCP option kinds (e.g. 30,4)\n"
"  --bind ADDR          local address (first subflow source)\n"
"  --seed N             base of the per-connection pattern seed (seed = N + seq)\n"
"  --tag TEXT           copied into every JSON line\n"
"  --optd-ctl PATH      control socket of the client namespace's mpx-optd (agents/optd): each\n"
"                       connection registers its Router Alert / option by source port\n"
"  --mp-subtype N       MPTCP subtype of MP_PREFER_PROXY / MP_CONVERT (default 14 = 0xe)\n"
"  --peek-probe MS      diagnostic: recv(MSG_PEEK|MSG_DONTWAIT) on sockets idle for MS ms\n"
"                       (reproduces lost data on MPTCP-fallback sockets, see agents/README.md)\n"
"Output: one JSON line per connection, then a summary line (CONTRACTS §3); times in us\n"
"relative to the connection's start (CLOCK_MONOTONIC).\n"
"Exit: 0 all connections ok, 1 a connection failed, 2 usage, 3 setup error.\n");
}

static void set_err(cconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(cconn *c, const char *fmt, ...)
{
    if (c->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

static int64_t rel(const cconn *c) { return mpxa_mono_us() - c->t0; }

/* ---------- cookie cache (RFC 8803 Cookie TLV) ---------- */

static void cookie_load(client *cl)
{
    if (!cl->cookie_path)
        return;
    FILE *f = fopen(cl->cookie_path, "r");
    if (!f)
        return;
    char line[1024], want[MPXA_ADDR_STRLEN];
    mpxa_addr_fmt(&cl->proxy, want, sizeof want);
    while (fgets(line, sizeof line, f)) {
        char a[128], hex[600];
        if (sscanf(line, "%127s %599s", a, hex) == 2 && strcmp(a, want) == 0) {
            long n = mpx_hex_parse(hex, cl->cookie, sizeof cl->cookie);
            cl->cookie_len = n > 0 ? (size_t)n : 0;
        }
    }
    fclose(f);
}

static void cookie_store(client *cl, const uint8_t *ck, size_t n)
{
    if (n > sizeof cl->cookie)
        n = sizeof cl->cookie;
    memcpy(cl->cookie, ck, n);
    cl->cookie_len = n;
    if (!cl->cookie_path)
        return;
    char want[MPXA_ADDR_STRLEN], hex[2 * sizeof cl->cookie + 1];
    mpxa_addr_fmt(&cl->proxy, want, sizeof want);
    mpx_hex_format(ck, n, hex);
    /* rewrite the file: keep other proxies' lines */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", cl->cookie_path, (int)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out)
        return;
    FILE *in = fopen(cl->cookie_path, "r");
    if (in) {
        char line[1024], a[128];
        while (fgets(line, sizeof line, in))
            if (sscanf(line, "%127s", a) == 1 && strcmp(a, want) != 0)
                fputs(line, out);
        fclose(in);
    }
    fprintf(out, "%s %s\n", want, hex);
    fclose(out);
    rename(tmp, cl->cookie_path);
}

/* ---------- mpx-optd control (agents/optd: unix datagram, text, one reply each) ---------- */

static int optd_open(client *cl)
{
    struct sockaddr_un me = { .sun_family = AF_UNIX };
    /* a path, not an abstract name: the daemon may live in another network namespace */
    if (snprintf(me.sun_path, sizeof me.sun_path, "%s.c%d", cl->optd_path, (int)getpid()) >=
        (int)sizeof me.sun_path)
        snprintf(me.sun_path, sizeof me.sun_path, "/tmp/mpx-client-optd.%d", (int)getpid());
    unlink(me.sun_path);
    cl->optd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (cl->optd_fd < 0 || bind(cl->optd_fd, (struct sockaddr *)&me, sizeof me) < 0)
        return -1;
    snprintf(cl->optd_me, sizeof cl->optd_me, "%s", me.sun_path);
    struct timeval tv = { 1, 0 };
    setsockopt(cl->optd_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return 0;
}

/* One request, one reply (blocking, local, sub-millisecond). 0 on an "ok" reply. */
static int optd_req(client *cl, char *reply, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int optd_req(client *cl, char *reply, size_t cap, const char *fmt, ...)
{
    char req[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req, sizeof req, fmt, ap);
    va_end(ap);
    if (cl->optd_dead) {
        snprintf(reply, cap, "mpx-optd at %s stopped answering", cl->optd_path);
        return -1;
    }
    struct sockaddr_un to = { .sun_family = AF_UNIX };
    snprintf(to.sun_path, sizeof to.sun_path, "%s", cl->optd_path);
    /* drop stale replies (a timed-out earlier request) */
    char junk[512];
    while (recv(cl->optd_fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
        ;
    if (sendto(cl->optd_fd, req, strlen(req), 0, (struct sockaddr *)&to, sizeof to) < 0) {
        snprintf(reply, cap, "send to %s: %s", cl->optd_path, strerror(errno));
        return -1;
    }
    ssize_t n = recv(cl->optd_fd, reply, cap - 1, 0);
    if (n < 0) {
        snprintf(reply, cap, "no reply from %s", cl->optd_path);
        cl->optd_dead = true;
        return -1;
    }
    reply[n] = 0;
    return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

static int read_sysctl(const char *path, int dflt)
{
    FILE *f = fopen(path, "r");
    int v = dflt;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

/* The SYN option layout this namespace's kernel will use (proto/budget.h), with the extra
 * option of implicit-prefer / mpconvert-opt. Linux drops an option that does not fit
 * silently, so the client refuses to run such a signal rather than send a SYN without it. */
static void compute_budget(client *cl)
{
    cl->syn_opt_bytes = cl->syn_opt_total = -1;
    cl->opt_fits = true;
    char *b = cl->budget_spec;
    size_t cap = sizeof cl->budget_spec;
    int n = snprintf(b, cap, "mss");
    if (read_sysctl("/proc/sys/net/ipv4/tcp_sack", 1))
        n += snprintf(b + n, cap - (size_t)n, ",sackperm");
    if (read_sysctl("/proc/sys/net/ipv4/tcp_timestamps", 1))
        n += snprintf(b + n, cap - (size_t)n, ",ts");
    if (read_sysctl("/proc/sys/net/ipv4/tcp_window_scaling", 1))
        n += snprintf(b + n, cap - (size_t)n, ",ws");
    if (cl->tfo_direct && !cl->tfo_direct_nc)
        n += snprintf(b + n, cap - (size_t)n, ",tfo:8");   /* Linux's own cookie size */
    if (cl->mptcp)
        n += snprintf(b + n, cap - (size_t)n, ",mpc");
    uint8_t opt[40];
    mpx_wr w = mpx_wr_init(opt, sizeof opt);
    if (cl->sig == SIG_IMPLICIT_PREFER) {
        mpx_prefer_proxy pp = { .subtype = cl->mp_subtype, .rsv = 0 };
        mpx_prefer_proxy_encode(&pp, &w);
        n += snprintf(b + n, cap - (size_t)n, ",prefer");
    } else if (cl->sig == SIG_MPCONVERT_OPT) {
        mpx_mpconvert mc;
        mpx_mpconvert_init(&mc);
        mc.subtype = cl->mp_subtype;
        mc.family = mpxa_addr_family(&cl->target) == AF_INET6 ? 6 : 4;
        mpxa_addr_raw(&cl->target, mc.addr);
        mc.has_port = true;
        mc.port = mpxa_addr_port(&cl->target);
        mpx_mpconvert_encode(&mc, &w);
        n += snprintf(b + n, cap - (size_t)n, ",mpconvert:%s", mc.family == 6 ? "v6+port" : "v4+port");
    } else {
        return;
    }
    if (w.overflow)
        return;
    mpx_hex_format(opt, w.len, cl->opt_hex);
    mpx_budget bu;
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_budget_from_spec(MPX_SEG_SYN, cl->budget_spec, &bu, &e) < 0 || bu.n == 0)
        return;
    cl->syn_opt_bytes = (int)bu.requested;
    cl->syn_opt_total = (int)bu.total;
    cl->opt_fits = !bu.line[bu.n - 1].dropped;
}

/* ---------- per-connection output ---------- */

/* tcpi_fastopen_client_fail: why the kernel did not use TFO (include/uapi/linux/tcp.h) */
static const char *tfo_fail_str(const cconn *c)
{
    if (!c->tfo_attempt || c->fd < 0)
        return NULL;
    switch (mpxa_tcpi_tfo_client_fail(c->fd)) {
    case 1: return "cookie-unavailable";
    case 2: return "data-not-acked";
    case 3: return "syn-retransmitted";
    default: return NULL;
    }
}

static const char *tfo_str(const cconn *c)
{
    if (!c->tfo_attempt || c->fd < 0)
        return "none";
    int o = mpxa_tcpi_options(c->fd);
    return o >= 0 && (o & MPXA_TCPI_OPT_SYN_DATA) ? "syn-data-acked" : "syn-data-not-acked";
}

static void finish(client *cl, cconn *c, bool ok)
{
    char tbuf[MPXA_ADDR_STRLEN], vbuf[MPXA_ADDR_STRLEN], lbuf[MPXA_ADDR_STRLEN];
    bool verified = !c->bad_pattern && c->resp_off == c->h.resp_len && c->req_off == c->h.req_len;
    if (ok && !verified) {
        ok = false;
        set_err(c, "response not verified");
    }
    if (c->t_done < 0 && ok)
        c->t_done = rel(c);
    if (!ok && c->st == ST_IE_ECHO && !strstr(c->err, "mpconvert-ie")) {
        /* plain-mode-10 5.2: no echo -> the sender MUST terminate; say so plainly */
        char orig[128];
        snprintf(orig, sizeof orig, "%.127s", c->err[0] ? c->err : "closed");
        snprintf(c->err, sizeof c->err, "mpconvert-ie: no MP_CONVERT IE echo from the proxy (%.127s)", orig);
    }
    mpxa_mp_state mp = { .kind = MPXA_MP_TCP, .subflows = 0 };
    const char *tfo = "none", *tfo_fail = NULL;
    if (c->fd >= 0) {
        mp = mpxa_mptcp_state(c->fd);
        tfo = tfo_str(c);
        tfo_fail = tfo_fail_str(c);
        if (!c->local.len) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
                mpxa_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
        }
    }
    mpxa_json j;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "conn");
    mpxa_json_str(&j, "signal", cl->sig_name);
    mpxa_json_uint(&j, "seq", c->seq);
    mpxa_json_bool(&j, "ok", ok);
    mpxa_json_str(&j, "error", ok ? NULL : (c->err[0] ? c->err : "failed"));
    mpxa_json_str(&j, "target", mpxa_addr_fmt(&cl->target, tbuf, sizeof tbuf));
    mpxa_json_str(&j, "via", cl->have_proxy ? mpxa_addr_fmt(&cl->proxy, vbuf, sizeof vbuf) : NULL);
    mpxa_json_str(&j, "local", c->local.len ? mpxa_addr_fmt(&c->local, lbuf, sizeof lbuf) : NULL);
    mpxa_json_str(&j, "mptcp", mp.kind == MPXA_MP_ERROR ? "tcp" : mpxa_mp_kind_str(mp.kind));
    mpxa_json_int(&j, "subflows", c->connected ? mp.subflows : 0);
    mpxa_json_str(&j, "tfo", tfo);
    mpxa_json_int(&j, "t0_real_us", c->t0_real);
    mpxa_json_opt_int(&j, "t_connected_us", c->t_conn >= 0, c->t_conn);
    mpxa_json_opt_int(&j, "t_req_sent_us", c->t_req >= 0, c->t_req);
    mpxa_json_opt_int(&j, "t_first_resp_us", c->t_first >= 0, c->t_first);
    mpxa_json_opt_int(&j, "t_done_us", c->t_done >= 0, c->t_done);
    mpxa_json_opt_int(&j, "ttfb_us", c->t_first >= 0, c->t_first);
    mpxa_json_uint(&j, "bytes_out", c->req_off);
    mpxa_json_uint(&j, "bytes_in", c->resp_off);
    mpxa_json_bool(&j, "verified", verified);
    mpxa_json_opt_int(&j, "convert_error", c->conv_error >= 0, c->conv_error);
    mpxa_json_opt_int(&j, "socks_reply", c->socks_rep >= 0, c->socks_rep);
    mpxa_json_str(&j, "tag", cl->tag);
    /* extensions beyond the contract */
    mpxa_json_int(&j, "t0_mono_us", c->t0);
    mpxa_json_opt_int(&j, "t_sig_reply_us", c->t_sig >= 0, c->t_sig);
    mpxa_json_uint(&j, "sig_bytes_out", c->sig_out_total);
    mpxa_json_uint(&j, "sig_bytes_in", c->sig_in_total);
    mpxa_json_str(&j, "ext_tcp_hdr", c->ext_hdr[0] ? c->ext_hdr : NULL);
    mpxa_json_str(&j, "tfo_fail", tfo_fail);
    mpxa_json_uint(&j, "epoll_kicks", c->kicks);
    mpxa_json_opt_int(&j, "syn_opt_bytes", cl->syn_opt_bytes >= 0, cl->syn_opt_bytes);
    mpxa_json_str(&j, "workload", cl->wl_text);
    mpxa_json_emit(&j, cl->json);
    if (cl->verbose)
        fprintf(stderr, "mpx-client: #%u %s %s\n", c->seq, ok ? "ok" : "FAIL", ok ? "" : c->err);

    if (ok) {
        cl->ok++;
        if (c->t_first >= 0)   /* a 0-byte response has no first byte */
            cl->ttfb[cl->nttfb++] = c->t_first;
    } else {
        cl->failed++;
    }
    if (mp.kind == MPXA_MP_MPTCP)
        cl->n_mptcp++;
    else if (mp.kind == MPXA_MP_FALLBACK)
        cl->n_fallback++;
    else
        cl->n_tcp++;
    if (strcmp(tfo, "syn-data-acked") == 0)
        cl->n_tfo_acked++;

    if (c->optd_sport) {
        char reply[128];
        optd_req(cl, reply, sizeof reply, "del sport %u", c->optd_sport);
    }
    if (c->fd >= 0) {
        if (c->rst) {
            /* RFC 8803 6.2.8: the client MUST reset the connection upon an Error TLV */
            struct linger lg = { 1, 0 };
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        epoll_ctl(cl->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        cl->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    cl->active--;
    cl->finished++;
    free(c);
}

/* ---------- I/O pump ---------- */

static void set_out(client *cl, cconn *c, bool on)
{
    if (c->want_out == on)
        return;
    c->want_out = on;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c };
    epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Accounts n bytes accepted by the kernel: signalling bytes first, then request bytes. */
static void account_sent(cconn *c, size_t n)
{
    size_t s = c->sig_out_len - c->sig_out_off;
    if (s > n)
        s = n;
    c->sig_out_off += s;
    c->sig_out_total += s;
    n -= s;
    if (n) {
        if (c->t_req < 0)
            c->t_req = rel(c);
        c->req_off += n;
    }
    if (c->sig_out_off == c->sig_out_len)
        c->sig_out_off = c->sig_out_len = 0;
}

/* Writes pending signalling bytes, then request bytes if allowed. -1 = fatal. */
static int pump_out(client *cl, cconn *c)
{
    uint8_t buf[64 * 1024];
    if (!c->connected) {
        set_out(cl, c, true);
        return 0;
    }
    for (;;) {
        size_t n = 0;
        size_t s = c->sig_out_len - c->sig_out_off;
        if (s) {
            memcpy(buf, c->sig_out + c->sig_out_off, s);
            n = s;
        } else if (c->req_allowed && c->req_off < c->h.req_len) {
            uint64_t left = c->h.req_len - c->req_off;
            n = left < sizeof buf ? (size_t)left : sizeof buf;
            mpxa_req_fill(&c->h, c->req_off, buf, n);
        }
        if (!n)
            break;
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_out(cl, c, true);
                return 0;
            }
            if (errno == EINTR)
                continue;
            set_err(c, "send in state %s: %s", st_name(c->st), strerror(errno));
            return -1;
        }
        account_sent(c, (size_t)w);
        c->last_io = mpxa_mono_us();
    }
    set_out(cl, c, false);
    return 0;
}

static void queue_sig(cconn *c, const uint8_t *p, size_t n)
{
    memcpy(c->sig_out + c->sig_out_len, p, n);
    c->sig_out_len += n;
}

/* Response bytes: verify against the pattern. */
static int on_response(cconn *c, const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    if (c->t_first < 0)
        c->t_first = rel(c);
    uint64_t left = c->h.resp_len - c->resp_off;
    if (n > left) {
        set_err(c, "%zu bytes more than response_len", (size_t)(n - left));
        c->bad_pattern = true;
        return -1;
    }
    size_t bad;
    if (!c->bad_pattern && !mpxa_resp_check(&c->h, c->resp_off, p, n, &bad)) {
        /* diagnose: do the received bytes belong elsewhere in the stream (lost/duplicated
         * data shows as a shift), or nowhere (foreign/corrupt data)? */
        size_t k = n - bad < 16 ? n - bad : 16;
        int64_t found = -1;
        uint64_t at = c->resp_off + bad;
        size_t tmpbad;
        for (int64_t d = 1; d <= 262144 && found < 0 && k >= 8; d++) {
            if (at + (uint64_t)d + k <= c->h.resp_len &&
                mpxa_resp_check(&c->h, at + (uint64_t)d, p + bad, k, &tmpbad))
                found = (int64_t)(at + (uint64_t)d);
            else if ((uint64_t)d <= at && mpxa_resp_check(&c->h, at - (uint64_t)d, p + bad, k, &tmpbad))
                found = (int64_t)(at - (uint64_t)d);
        }
        char got[33];
        mpx_hex_format(p + bad, k, got);
        if (found >= 0)
            set_err(c, "response pattern mismatch at offset %" PRIu64 " (read of %zu bytes at %" PRIu64
                    "; the bytes there belong at offset %" PRId64 ": data %s)", at, n, c->resp_off,
                    found, found > (int64_t)at ? "missing" : "repeated");
        else
            set_err(c, "response pattern mismatch at offset %" PRIu64 " (read of %zu bytes at %" PRIu64
                    "; got %s, not from this stream)", at, n, c->resp_off, got);
        c->bad_pattern = true;
        c->resp_off += n;
        return -1;
    }
    c->resp_off += n;
    if (c->resp_off == c->h.resp_len)
        c->t_done = rel(c);
    return 0;
}

static void start_response(client *cl, cconn *c)
{
    c->st = ST_RESPONSE;
    c->req_allowed = true;
}

/* Signalling replies. Return -1 fatal, 0 need more, 1 done (leftover in sig_in moved on). */
static int on_signal_bytes(client *cl, cconn *c)
{
    mpx_err e;
    mpx_err_clear(&e);
    switch (c->st) {
    case ST_SOCKS_CHOICE: {
        uint8_t m;
        int r = mpx_s5_decode_choice(c->sig_in, c->sig_in_len, &m, &e);
        if (r == MPX_DEC_MORE)
            return 0;
        if (r != MPX_DEC_OK) {
            set_err(c, "bad SOCKS method reply: %s", e.rule);
            return -1;
        }
        uint8_t want = cl->sig == SIG_SOCKS5_AUTH ? MPX_S5_M_USERPASS : MPX_S5_M_NOAUTH;
        if (m != want) {
            set_err(c, "SOCKS proxy chose method 0x%02x (%s), wanted 0x%02x", m, mpx_s5_method_name(m), want);
            return -1;
        }
        uint8_t out[600];
        long n;
        if (cl->sig == SIG_SOCKS5_AUTH) {
            n = mpx_s5_encode_auth(cl->user, cl->pass, out, sizeof out, &e);
            c->st = ST_SOCKS_AUTH;
        } else {
            mpx_addr t;
            mpx_addr_from_sockaddr(&cl->target.u.sa, cl->target.len, &t);
            n = mpx_s5_encode_connect(&t, out, sizeof out, &e);
            c->st = ST_SOCKS_REPLY;
        }
        if (n < 0) {
            set_err(c, "SOCKS encode: %s", e.rule);
            return -1;
        }
        memmove(c->sig_in, c->sig_in + 2, c->sig_in_len - 2);
        c->sig_in_len -= 2;
        c->sig_in_total += 2;
        queue_sig(c, out, (size_t)n);
        return 1;
    }
    case ST_SOCKS_AUTH: {
        uint8_t status;
        int r = mpx_s5_decode_auth_reply(c->sig_in, c->sig_in_len, &status, &e);
        if (r == MPX_DEC_MORE)
            return 0;
        if (r != MPX_DEC_OK) {
            set_err(c, "bad SOCKS auth reply: %s", e.rule);
            return -1;
        }
        if (status != 0) {
            set_err(c, "SOCKS username/password rejected (status %u)", status);
            return -1;
        }
        memmove(c->sig_in, c->sig_in + 2, c->sig_in_len - 2);
        c->sig_in_len -= 2;
        c->sig_in_total += 2;
        uint8_t out[64];
        mpx_addr t;
        mpx_addr_from_sockaddr(&cl->target.u.sa, cl->target.len, &t);
        long n = mpx_s5_encode_connect(&t, out, sizeof out, &e);
        if (n < 0) {
            set_err(c, "SOCKS encode: %s", e.rule);
            return -1;
        }
        queue_sig(c, out, (size_t)n);
        c->st = ST_SOCKS_REPLY;
        return 1;
    }
    case ST_SOCKS_REPLY: {
        mpx_s5_msg m;
        int r = mpx_s5_decode_reply(c->sig_in, c->sig_in_len, &m, &e);
        if (r == MPX_DEC_MORE)
            return 0;
        if (r != MPX_DEC_OK) {
            set_err(c, "bad SOCKS reply: %s", e.rule);
            return -1;
        }
        c->socks_rep = m.code;
        c->t_sig = rel(c);
        if (m.code != MPX_S5_REP_OK) {
            set_err(c, "SOCKS reply %u (%s)", m.code, mpx_s5_rep_name(m.code));
            return -1;
        }
        memmove(c->sig_in, c->sig_in + m.len, c->sig_in_len - m.len);
        c->sig_in_len -= m.len;
        c->sig_in_total += m.len;
        start_response(cl, c);
        return 1;
    }
    case ST_CONV_REPLY: {
        if (c->sig_in_len < MPX_CONV_HDR_LEN)
            return 0;
        size_t need = mpx_conv_frame_len(c->sig_in, c->sig_in_len);
        if (need == 0 && c->sig_in_len >= MPX_CONV_HDR_LEN)
            need = MPX_CONV_HDR_LEN;   /* Total Length 0: let the decoder say why */
        if (c->sig_in_len < need)
            return 0;
        mpx_conv_msg m;
        int r = mpx_conv_decode(c->sig_in, need, MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CONVERTER, &m, &e);
        if (r != MPX_DEC_OK) {
            set_err(c, "bad Convert reply: %s: %s", e.rule ? e.rule : "?", e.msg);
            c->rst = true;   /* RFC 8803: the client resets on an invalid message */
            return -1;
        }
        c->t_sig = rel(c);
        c->sig_in_total += m.conv_len;
        if (m.has_ext_hdr) {
            size_t n = m.ext_hdr_len > 64 ? 64 : m.ext_hdr_len;
            mpx_hex_format(m.ext_hdr, n, c->ext_hdr);
        }
        if (m.has_error) {
            c->conv_error = m.error.code;
            c->rst = true;
            if (m.error.code == MPX_CONV_E_MISSING_COOKIE && m.error.data_len)
                cookie_store(cl, m.error.data, m.error.data_len);
            set_err(c, "convert error %u (%s)", m.error.code, mpx_conv_error_name(m.error.code));
            return -1;
        }
        memmove(c->sig_in, c->sig_in + m.conv_len, c->sig_in_len - m.conv_len);
        c->sig_in_len -= m.conv_len;
        start_response(cl, c);
        return 1;
    }
    case ST_IE_ECHO: {
        if (c->sig_in_len < c->ie_len)
            return 0;
        if (memcmp(c->sig_in, c->ie_sent, c->ie_len) != 0) {
            char hex[2 * 64 + 1];
            mpx_hex_format(c->sig_in, c->ie_len, hex);
            set_err(c, "mpconvert-ie: reply does not start with the echoed MP_CONVERT IE (got %s)", hex);
            return -1;
        }
        c->t_sig = rel(c);
        c->sig_in_total += c->ie_len;
        memmove(c->sig_in, c->sig_in + c->ie_len, c->sig_in_len - c->ie_len);
        c->sig_in_len -= c->ie_len;
        start_response(cl, c);
        return 1;
    }
    default:
        return 1;
    }
}

static void mark_connected(cconn *c)
{
    if (c->connected)
        return;
    c->connected = true;
    c->t_conn = rel(c);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        mpxa_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
}

/* Handles readable data. Returns -1 fatal, 1 finished ok, 0 continue. */
static int pump_in(client *cl, cconn *c)
{
    uint8_t buf[256 * 1024];
    for (int rounds = 0; rounds < 8; rounds++) {
        ssize_t r;
        if (c->st == ST_RESPONSE)
            r = recv(c->fd, buf, sizeof buf, 0);
        else
            r = recv(c->fd, c->sig_in + c->sig_in_len, sizeof c->sig_in - c->sig_in_len, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            set_err(c, "recv in state %s: %s", st_name(c->st), strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (c->st == ST_RESPONSE && c->resp_off == c->h.resp_len)
                return 1;
            set_err(c, "EOF in state %s after %" PRIu64 " response bytes", st_name(c->st), c->resp_off);
            return -1;
        }
        mark_connected(c);
        c->last_io = mpxa_mono_us();
        if (c->st == ST_RESPONSE) {
            if (on_response(c, buf, (size_t)r) < 0)
                return -1;
        } else {
            c->sig_in_len += (size_t)r;
            for (;;) {
                int s = on_signal_bytes(cl, c);
                if (s < 0)
                    return -1;
                if (s == 0) {
                    if (c->sig_in_len == sizeof c->sig_in) {
                        set_err(c, "signalling reply too long in state %s", st_name(c->st));
                        return -1;
                    }
                    break;
                }
                if (pump_out(cl, c) < 0)
                    return -1;
                if (c->st == ST_RESPONSE) {
                    size_t left = c->sig_in_len;
                    c->sig_in_len = 0;
                    if (on_response(c, c->sig_in, left) < 0)
                        return -1;
                    break;
                }
            }
        }
        if (c->st == ST_RESPONSE && c->resp_off == c->h.resp_len && c->req_off == c->h.req_len)
            return 1;
    }
    return 0;
}

static void on_event(client *cl, cconn *c, uint32_t evs)
{
    if (!c->connected && (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            set_err(c, "connect: %s", strerror(err));
            finish(cl, c, false);
            return;
        }
        if (evs & EPOLLOUT) {
            mark_connected(c);
            if (c->st == ST_CONNECTING) {
                /* plain connect finished: start the signalling */
                if (is_socks(cl->sig)) {
                    uint8_t g[4];
                    mpx_err e;
                    uint8_t m = cl->sig == SIG_SOCKS5_AUTH ? MPX_S5_M_USERPASS : MPX_S5_M_NOAUTH;
                    long n = mpx_s5_encode_greeting(&m, 1, g, sizeof g, &e);
                    queue_sig(c, g, (size_t)n);
                    c->st = ST_SOCKS_CHOICE;
                } else {
                    start_response(cl, c);
                }
            }
        }
    }
    if (c->connected && (evs & EPOLLOUT)) {
        if (pump_out(cl, c) < 0) {
            finish(cl, c, false);
            return;
        }
    }
    if (evs & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        int r = pump_in(cl, c);
        if (r != 0) {
            finish(cl, c, r > 0);
            return;
        }
    }
    if (c->connected && pump_out(cl, c) < 0)
        finish(cl, c, false);
}

/* ---------- starting a connection ---------- */

static long build_syn_signal(client *cl, cconn *c, uint8_t *out, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    mpx_addr t;
    mpx_addr_from_sockaddr(&cl->target.u.sa, cl->target.len, &t);
    long n = -1;
    if (is_convert(cl->sig)) {
        mpx_conv_opt opts[32];
        for (size_t i = 0; i < cl->nconv_opts; i++)
            opts[i] = (mpx_conv_opt){ .kind = cl->conv_opts[i], .vlen = 0, .val = NULL };
        n = mpx_conv_encode_connect(&t, cl->cookie_len ? cl->cookie : NULL, cl->cookie_len,
                                    cl->nconv_opts ? opts : NULL, cl->nconv_opts, out, cap, &e);
    } else if (cl->sig == SIG_MPCONVERT || cl->sig == SIG_MPCONVERT_IE) {
        mpx_mpconv m = { .d = false, .addr = t, .has_port = true };
        if (cl->sig == SIG_MPCONVERT) {
            n = mpx_mpconv_encode_09(&m, 1, out, cap, &e);
        } else {
            n = mpx_mpconv_encode_ie(&m, 1, out, cap, &e);
            if (n > 0 && (size_t)n <= sizeof c->ie_sent) {
                memcpy(c->ie_sent, out, (size_t)n);
                c->ie_len = (size_t)n;
            }
        }
    } else {
        return 0;
    }
    if (n < 0)
        set_err(c, "encoding the signal failed: %s: %s", e.rule ? e.rule : "?", e.msg);
    return n;
}

static void start_one(client *cl)
{
    cconn *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "mpx-client: out of memory\n");
        g_stop = 1;
        return;
    }
    c->seq = cl->started++;
    c->fd = -1;
    c->t_conn = c->t_req = c->t_sig = c->t_first = c->t_done = -1;
    c->conv_error = c->socks_rep = -1;
    c->h = mpxa_workload_hdr(&cl->wl, (cl->seed + c->seq) & 0xffffff);
    c->next = cl->head;
    if (cl->head)
        cl->head->prev = c;
    cl->head = c;
    cl->active++;
    if (cl->active > cl->max_active)
        cl->max_active = cl->active;
    c->t0_real = mpxa_real_us();
    c->t0 = mpxa_mono_us();
    c->last_io = c->t0;

    const mpxa_addr *dst = is_direct(cl->sig) ? &cl->target : &cl->proxy;
    if (!cl->opt_fits) {
        set_err(c, "%s: does not fit: the SYN would need %d option bytes > 40 (%s)", cl->sig_name,
                cl->syn_opt_bytes, cl->budget_spec);
        finish(cl, c, false);
        return;
    }
    c->fd = mpxa_socket(mpxa_addr_family(dst), cl->mptcp, true);
    if (c->fd < 0) {
        set_err(c, "socket: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    mpxa_set_nodelay(c->fd, true);
    if (cl->have_bind && bind(c->fd, &cl->bind.u.sa, cl->bind.len) < 0) {
        set_err(c, "bind: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    /* Router Alert / extra SYN option: mpx-optd adds it to SYNs from our source port */
    bool need_optd = cl->optd_path && (cl->sig == SIG_IMPLICIT_RA || is_optsig(cl->sig));
    if (need_optd) {
        if (!cl->have_bind) {
            mpxa_addr any = { .len = 0 };
            uint8_t zero[16] = { 0 };
            mpxa_addr_from_raw(&any, zero, mpxa_addr_family(dst) == AF_INET6 ? 16 : 4, 0);
            if (bind(c->fd, &any.u.sa, any.len) < 0) {
                set_err(c, "bind: %s", strerror(errno));
                finish(cl, c, false);
                return;
            }
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        mpxa_addr me;
        if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
            mpxa_addr_from_sa(&me, (struct sockaddr *)&ss, sl) < 0 || !mpxa_addr_port(&me)) {
            set_err(c, "no local port before connect for the mpx-optd registration");
            finish(cl, c, false);
            return;
        }
        char reply[128];
        int r = cl->sig == SIG_IMPLICIT_RA
                    ? optd_req(cl, reply, sizeof reply, "ra sport %u", mpxa_addr_port(&me))
                    : optd_req(cl, reply, sizeof reply, "opt sport %u %s", mpxa_addr_port(&me), cl->opt_hex);
        if (r < 0) {
            set_err(c, "mpx-optd registration: %s", reply);
            finish(cl, c, false);
            return;
        }
        c->optd_sport = mpxa_addr_port(&me);
    } else if (cl->sig == SIG_IMPLICIT_RA && !cl->mptcp && mpxa_addr_family(dst) == AF_INET) {
        /* plain TCP accepts IP_OPTIONS (MPTCP sockets do not: ENOPROTOOPT) */
        static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 };
        if (setsockopt(c->fd, IPPROTO_IP, IP_OPTIONS, ra, sizeof ra) < 0) {
            set_err(c, "IP_OPTIONS router alert: %s", strerror(errno));
            finish(cl, c, false);
            return;
        }
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data.ptr = c };
    c->want_out = true;
    if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        set_err(c, "epoll_ctl: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }

    bool syn_data = cl->sig == SIG_CONVERT || cl->sig == SIG_CONVERT_WAIT ||
                    cl->sig == SIG_CONVERT_COOKIE || cl->sig == SIG_MPCONVERT ||
                    cl->sig == SIG_MPCONVERT_IE || (tfo_selectable(cl->sig) && cl->tfo_direct);
    if (!syn_data) {
        int r = connect(c->fd, &dst->u.sa, dst->len);
        if (r < 0 && errno != EINPROGRESS) {
            set_err(c, "connect: %s", strerror(errno));
            finish(cl, c, false);
            return;
        }
        c->st = ST_CONNECTING;
        return;
    }

    /* SYN payload: signal [+ request head]. Cookie-less modes set TCP_FASTOPEN_NO_COOKIE so
     * the kernel sends the data without any TFO option (protocols.md 1.9). */
    bool no_cookie = cl->sig == SIG_CONVERT || cl->sig == SIG_CONVERT_WAIT ||
                     cl->sig == SIG_MPCONVERT || cl->sig == SIG_MPCONVERT_IE ||
                     (tfo_selectable(cl->sig) && cl->tfo_direct_nc);
    if (no_cookie && mpxa_set_tfo_no_cookie(c->fd, true) < 0) {
        set_err(c, "TCP_FASTOPEN_NO_COOKIE: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    c->tfo_attempt = true;
    uint8_t buf[SIGBUF + SYN_DATA_MAX];
    long sl = build_syn_signal(cl, c, c->sig_out, sizeof c->sig_out);
    if (sl < 0) {
        finish(cl, c, false);
        return;
    }
    c->sig_out_len = (size_t)sl;
    memcpy(buf, c->sig_out, (size_t)sl);
    size_t n = (size_t)sl;
    c->req_allowed = cl->sig != SIG_CONVERT_WAIT;
    if (c->req_allowed) {
        size_t k = c->h.req_len < SYN_DATA_MAX ? c->h.req_len : SYN_DATA_MAX;
        mpxa_req_fill(&c->h, 0, buf + n, k);
        n += k;
    }
    if (is_convert(cl->sig))
        c->st = ST_CONV_REPLY;
    else if (cl->sig == SIG_MPCONVERT_IE)
        c->st = ST_IE_ECHO;
    else
        c->st = ST_RESPONSE;
    ssize_t w = sendto(c->fd, buf, n, MSG_FASTOPEN | MSG_NOSIGNAL, &dst->u.sa, dst->len);
    if (w < 0) {
        if (errno != EINPROGRESS) {
            set_err(c, "sendto(MSG_FASTOPEN): %s", strerror(errno));
            finish(cl, c, false);
            return;
        }
        /* no cookie yet: the kernel sent a SYN (with a cookie request); data follows later */
        return;
    }
    account_sent(c, (size_t)w);
}

/* Safety net against missed wakeups: a connection without progress for KICK_US gets one
 * ordinary non-blocking read attempt as if epoll had reported it; if that read returns data
 * (or EOF) it is counted ("epoll_kicks"), since the connection's timings then include the
 * delay. Measured on 6.18: MPTCP sockets with two subflows under concurrent bulk transfers
 * sometimes hold readable data without an EPOLLIN wakeup. The probe is a real recv(), not
 * MSG_PEEK, and only on sockets that did not fall back: with such probes on MPTCP-fallback
 * sockets, 7 segments went missing from the middle of a 100 kB response (recv(MSG_PEEK|
 * MSG_DONTWAIT) probes: 6 of 45 runs of 2000 concurrent connections; plain recv probes: 1 of
 * 30; no probes: 0 of 45; plain TCP sockets with probes: 0 of 20). */
#define KICK_US 200000
static void kick_stalled(client *cl)
{
    int64_t now = mpxa_mono_us();
    for (cconn *c = cl->head, *n; c; c = n) {
        n = c->next;
        if (c->fd < 0 || !c->connected || now - c->last_io < KICK_US)
            continue;
        c->last_io = now;   /* check again after another KICK_US */
        /* only real MPTCP sockets: that is where wakeups went missing, and extra reads on
         * fallback sockets coincided with lost data (see above) */
        if (mpxa_mptcp_state(c->fd).kind != MPXA_MP_MPTCP)
            continue;
        uint32_t seq = c->seq;
        uint64_t before = c->resp_off + c->sig_in_total + c->sig_in_len;
        c->kicks++;         /* provisional: undone below when nothing was there */
        cl->n_kicks++;
        on_event(cl, c, EPOLLIN);
        /* c may be freed by on_event (finished): find out through the list */
        cconn *still = NULL;
        for (cconn *x = cl->head; x; x = x->next)
            if (x == c && x->seq == seq) {
                still = x;
                break;
            }
        if (still && still->last_io == now && still->resp_off + still->sig_in_total + still->sig_in_len == before) {
            still->kicks--;  /* nothing was readable: not a missed wakeup */
            cl->n_kicks--;
        } else if (cl->verbose) {
            fprintf(stderr, "mpx-client: #%u readable without wakeup\n", seq);
        }
    }
}

/* --peek-probe MS (diagnostic, a kernel reproducer): every connected socket without progress
 * for MS ms gets recv(1, MSG_PEEK|MSG_DONTWAIT); nothing is consumed. */
static void peek_probe(client *cl)
{
    static int64_t last;
    int64_t now = mpxa_mono_us();
    if (!cl->peek_us || now - last < cl->peek_us)
        return;
    last = now;
    for (cconn *c = cl->head; c; c = c->next) {
        if (c->fd < 0 || !c->connected || now - c->last_io < cl->peek_us)
            continue;
        uint8_t b;
        (void)recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        cl->n_peeks++;
    }
}

static void reap_timeouts(client *cl)
{
    int64_t now = mpxa_mono_us();
    for (cconn *c = cl->head, *n; c; c = n) {
        n = c->next;
        if (now - c->t0 > (int64_t)(cl->timeout_s * 1e6)) {
            set_err(c, "timeout after %.1f s in state %s (%" PRIu64 "/%u response bytes)",
                    cl->timeout_s, st_name(c->st), c->resp_off, c->h.resp_len);
            finish(cl, c, false);
        }
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, uint32_t n, double p)
{
    /* nearest-rank percentile */
    if (!n)
        return -1;
    size_t k = (size_t)(p / 100.0 * n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_kinds(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    *n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 0);
        if (end == s || v < 2 || v > 255 || *n == cap)
            return -1;
        out[(*n)++] = (uint8_t)v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return *n ? 0 : -1;
}

int main(int argc, char **argv)
{
    static client CL;
    client *cl = &CL;
    const char *sig = NULL, *target = NULL, *proxy = NULL, *bindaddr = NULL, *json_path = "-";
    const char *wl = "rr 100/1000";
    cl->mptcp = true;
    cl->count = cl->conc = 1;
    cl->timeout_s = 10;
    cl->seed = 1;
    cl->mp_subtype = MPX_MPOPT_SUBTYPE_DEFAULT;
    cl->optd_fd = -1;
    enum { O_SIGNAL = 256, O_TARGET, O_PROXY, O_MPTCP, O_WORKLOAD, O_COUNT, O_CONC, O_JSON,
           O_TIMEOUT, O_USER, O_PASS, O_COOKIE, O_BIND, O_TAG, O_TFO, O_TFO_NC, O_CONVOPTS, O_SEED,
           O_VERSION, O_OPTD, O_SUBTYPE, O_PEEK };
    static const struct option lo[] = {
        { "signal", required_argument, 0, O_SIGNAL },
        { "target", required_argument, 0, O_TARGET },
        { "proxy", required_argument, 0, O_PROXY },
        { "mptcp", required_argument, 0, O_MPTCP },
        { "workload", required_argument, 0, O_WORKLOAD },
        { "count", required_argument, 0, O_COUNT },
        { "concurrency", required_argument, 0, O_CONC },
        { "json", required_argument, 0, O_JSON },
        { "timeout", required_argument, 0, O_TIMEOUT },
        { "socks-user", required_argument, 0, O_USER },
        { "socks-pass", required_argument, 0, O_PASS },
        { "cookie-cache", required_argument, 0, O_COOKIE },
        { "bind", required_argument, 0, O_BIND },
        { "tag", required_argument, 0, O_TAG },
        { "tfo", no_argument, 0, O_TFO },
        { "tfo-no-cookie", no_argument, 0, O_TFO_NC },
        { "optd-ctl", required_argument, 0, O_OPTD },
        { "mp-subtype", required_argument, 0, O_SUBTYPE },
        { "peek-probe", required_argument, 0, O_PEEK },
        { "convert-opts", required_argument, 0, O_CONVOPTS },
        { "seed", required_argument, 0, O_SEED },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, O_VERSION },
        { 0, 0, 0, 0 },
    };
    int o;
    char *end;
    while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        switch (o) {
        case O_SIGNAL: sig = optarg; break;
        case O_TARGET: target = optarg; break;
        case O_PROXY: proxy = optarg; break;
        case O_MPTCP:
            if (strcmp(optarg, "on") == 0)
                cl->mptcp = true;
            else if (strcmp(optarg, "off") == 0)
                cl->mptcp = false;
            else {
                fprintf(stderr, "mpx-client: --mptcp on|off\n");
                return EXIT_USAGE;
            }
            break;
        case O_WORKLOAD: wl = optarg; break;
        case O_COUNT:
        case O_CONC: {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 10000000) {
                fprintf(stderr, "mpx-client: bad number '%s'\n", optarg);
                return EXIT_USAGE;
            }
            if (o == O_COUNT)
                cl->count = (uint32_t)v;
            else
                cl->conc = (uint32_t)v;
            break;
        }
        case O_JSON: json_path = optarg; break;
        case O_TIMEOUT:
            cl->timeout_s = strtod(optarg, &end);
            if (*end || cl->timeout_s <= 0) {
                fprintf(stderr, "mpx-client: bad --timeout\n");
                return EXIT_USAGE;
            }
            break;
        case O_USER: cl->user = optarg; break;
        case O_PASS: cl->pass = optarg; break;
        case O_COOKIE: cl->cookie_path = optarg; break;
        case O_BIND: bindaddr = optarg; break;
        case O_TAG: cl->tag = optarg; break;
        case O_TFO: cl->tfo_direct = true; break;
        case O_TFO_NC: cl->tfo_direct = cl->tfo_direct_nc = true; break;
        case O_OPTD: cl->optd_path = optarg; break;
        case O_PEEK: cl->peek_us = (int64_t)(strtod(optarg, NULL) * 1000); break;
        case O_SUBTYPE: {
            unsigned long v = strtoul(optarg, &end, 0);
            if (*end || v > 15) {
                fprintf(stderr, "mpx-client: --mp-subtype 0..15\n");
                return EXIT_USAGE;
            }
            cl->mp_subtype = (uint8_t)v;
            break;
        }
        case O_CONVOPTS:
            if (parse_kinds(optarg, cl->conv_opts, sizeof cl->conv_opts, &cl->nconv_opts) < 0) {
                fprintf(stderr, "mpx-client: bad --convert-opts (kinds 2..255, comma separated)\n");
                return EXIT_USAGE;
            }
            break;
        case O_SEED: cl->seed = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'v': cl->verbose = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        case O_VERSION: printf("mpx-client %s\n", MPX_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc || !sig || !target) {
        fprintf(stderr, "mpx-client: --signal and --target are required (see --help)\n");
        return EXIT_USAGE;
    }
    int defport = -1;
    bool found = false;
    for (size_t i = 0; i < sizeof g_sigs / sizeof g_sigs[0]; i++)
        if (strcmp(sig, g_sigs[i].name) == 0) {
            cl->sig = g_sigs[i].k;
            cl->sig_name = g_sigs[i].name;
            defport = g_sigs[i].port;
            found = true;
        }
    if (!found) {
        fprintf(stderr, "mpx-client: unknown --signal '%s' (tcp socks5 socks5-auth convert convert-wait "
                        "convert-cookie mpconvert mpconvert-ie implicit implicit-ra implicit-prefer mpconvert-opt)\n", sig);
        return EXIT_USAGE;
    }
    if (mpxa_addr_parse(target, -1, &cl->target) < 0) {
        fprintf(stderr, "mpx-client: bad --target '%s' (ADDR:PORT or [V6]:PORT)\n", target);
        return EXIT_USAGE;
    }
    if (!is_direct(cl->sig)) {
        if (!proxy) {
            fprintf(stderr, "mpx-client: --signal %s needs --proxy\n", cl->sig_name);
            return EXIT_USAGE;
        }
        if (mpxa_addr_parse(proxy, defport, &cl->proxy) < 0) {
            fprintf(stderr, "mpx-client: bad --proxy '%s'\n", proxy);
            return EXIT_USAGE;
        }
        cl->have_proxy = true;
    } else if (proxy) {
        fprintf(stderr, "mpx-client: --proxy is ignored with --signal %s\n", cl->sig_name);
    }
    if (cl->sig == SIG_SOCKS5_AUTH && (!cl->user || !cl->pass || !*cl->user || !*cl->pass)) {
        fprintf(stderr, "mpx-client: socks5-auth needs --socks-user and --socks-pass (1..255 bytes)\n");
        return EXIT_USAGE;
    }
    if (cl->tfo_direct && !tfo_selectable(cl->sig)) {
        fprintf(stderr, "mpx-client: --tfo/--tfo-no-cookie only apply to tcp, implicit*, mpconvert-opt\n");
        return EXIT_USAGE;
    }
    if (cl->nconv_opts && !is_convert(cl->sig)) {
        fprintf(stderr, "mpx-client: --convert-opts only applies to the convert signals\n");
        return EXIT_USAGE;
    }
    if (bindaddr) {
        if (mpxa_addr_parse(bindaddr, 0, &cl->bind) < 0) {
            fprintf(stderr, "mpx-client: bad --bind '%s'\n", bindaddr);
            return EXIT_USAGE;
        }
        cl->have_bind = true;
    }
    char err[200];
    if (mpxa_workload_parse(wl, &cl->wl, err, sizeof err) < 0) {
        fprintf(stderr, "mpx-client: --workload: %s\n", err);
        return EXIT_USAGE;
    }
    mpxa_workload_fmt(&cl->wl, cl->wl_text, sizeof cl->wl_text);
    if (cl->conc > cl->count)
        cl->conc = cl->count;

    if (strcmp(json_path, "-") == 0) {
        cl->json = stdout;
    } else if (!(cl->json = fopen(json_path, "a"))) {
        fprintf(stderr, "mpx-client: %s: %s\n", json_path, strerror(errno));
        return EXIT_SETUP;
    }
    cl->ttfb = calloc(cl->count, sizeof *cl->ttfb);
    cl->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cl->ttfb || cl->ep < 0) {
        fprintf(stderr, "mpx-client: setup: %s\n", strerror(errno));
        return EXIT_SETUP;
    }
    /* Probe the socket type once so "no MPTCP in this kernel" is a setup error, not N failures */
    int probe = mpxa_socket(mpxa_addr_family(cl->have_proxy ? &cl->proxy : &cl->target), cl->mptcp, true);
    if (probe < 0) {
        fprintf(stderr, "mpx-client: socket(%s): %s\n", cl->mptcp ? "IPPROTO_MPTCP" : "TCP", strerror(errno));
        return EXIT_SETUP;
    }
    close(probe);
    cookie_load(cl);
    compute_budget(cl);
    cl->tfo_sysctl = read_sysctl("/proc/sys/net/ipv4/tcp_fastopen", -1);
    if (cl->tfo_sysctl >= 0 && (cl->tfo_sysctl & 0x4) &&
        (cl->sig == SIG_CONVERT_COOKIE || (cl->tfo_direct && !cl->tfo_direct_nc)))
        fprintf(stderr, "mpx-client: warning: net.ipv4.tcp_fastopen=0x%x has bit 0x4 (data in the SYN "
                        "without a cookie) set in this namespace, so %s sends no TFO cookie; use 0x1\n",
                cl->tfo_sysctl, cl->sig == SIG_CONVERT_COOKIE ? "convert-cookie" : "--tfo");
    if (cl->optd_path && optd_open(cl) < 0) {
        fprintf(stderr, "mpx-client: --optd-ctl %s: %s\n", cl->optd_path, strerror(errno));
        return EXIT_SETUP;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int64_t t_start = mpxa_mono_us();
    static struct epoll_event evs[4096];   /* large: fewer ready sockets left for next round */
    while (!g_stop && cl->finished < cl->count) {
        while (!g_stop && cl->started < cl->count && cl->active < cl->conc)
            start_one(cl);
        int n = epoll_wait(cl->ep, evs, 4096, 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("mpx-client: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++)
            on_event(cl, evs[i].data.ptr, evs[i].events);
        peek_probe(cl);
        kick_stalled(cl);
        reap_timeouts(cl);
    }
    while (cl->head) {
        set_err(cl->head, "interrupted");
        finish(cl, cl->head, false);
    }
    int64_t elapsed = mpxa_mono_us() - t_start;

    qsort(cl->ttfb, cl->nttfb, sizeof *cl->ttfb, cmp_i64);
    mpxa_json j;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "summary");
    mpxa_json_str(&j, "signal", cl->sig_name);
    mpxa_json_uint(&j, "count", cl->finished);
    mpxa_json_uint(&j, "ok", cl->ok);
    mpxa_json_uint(&j, "failed", cl->failed);
    mpxa_json_opt_int(&j, "ttfb_us_p50", cl->nttfb > 0, pct(cl->ttfb, cl->nttfb, 50));
    mpxa_json_opt_int(&j, "ttfb_us_p95", cl->nttfb > 0, pct(cl->ttfb, cl->nttfb, 95));
    mpxa_json_opt_int(&j, "ttfb_us_min", cl->nttfb > 0, cl->nttfb ? cl->ttfb[0] : 0);
    mpxa_json_opt_int(&j, "ttfb_us_max", cl->nttfb > 0, cl->nttfb ? cl->ttfb[cl->nttfb - 1] : 0);
    mpxa_json_uint(&j, "mptcp", cl->n_mptcp);
    mpxa_json_uint(&j, "fallback", cl->n_fallback);
    mpxa_json_uint(&j, "tcp", cl->n_tcp);
    mpxa_json_uint(&j, "tfo_syn_data_acked", cl->n_tfo_acked);
    mpxa_json_uint(&j, "max_active", cl->max_active);
    mpxa_json_uint(&j, "epoll_kicks", cl->n_kicks);
    if (cl->peek_us)
        mpxa_json_uint(&j, "peek_probes", cl->n_peeks);
    mpxa_json_int(&j, "elapsed_us", elapsed);
    mpxa_json_str(&j, "workload", cl->wl_text);
    mpxa_json_str(&j, "tag", cl->tag);
    mpxa_json_opt_int(&j, "tcp_fastopen_sysctl", cl->tfo_sysctl >= 0, cl->tfo_sysctl);
    mpxa_json_opt_int(&j, "syn_opt_bytes", cl->syn_opt_bytes >= 0, cl->syn_opt_bytes);
    if (cl->syn_opt_bytes >= 0) {
        mpxa_json_bool(&j, "syn_opt_fits", cl->opt_fits);
        mpxa_json_str(&j, "syn_opt_spec", cl->budget_spec);
    }
    mpxa_json_emit(&j, cl->json);
    if (cl->json != stdout)
        fclose(cl->json);
    if (cl->optd_fd >= 0) {
        close(cl->optd_fd);
        unlink(cl->optd_me);
    }
    free(cl->ttfb);
    return cl->failed || cl->finished < cl->count ? EXIT_FAILED : EXIT_OK;
}
