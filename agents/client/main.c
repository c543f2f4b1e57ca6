/* mpx-client: the measured client of mpxlab. Opens --count connections, --concurrency at a
 * time (one epoll loop, non-blocking sockets), signals the target to a proxy in the chosen
 * way, runs the MPX1 workload against mpx-server, verifies the response pattern and prints
 * one JSON line per connection plus a summary.
 *
 * The signals are the rows of the registry (proto/signal.h); each row runs through its
 * family's ops (client.h, sig_*.c). Every wire format comes from proto/. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agents/client/client.h"
#include "lib/clock.h"
#include "lib/parse.h"
#include "lib/sock.h"
#include "proto/mpopt.h"

#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

#define COUNT_MAX   10000000u
#define TIMEOUT_MAX 86400.0      /* s: a day */
#define PEEK_MAX    3600000.0    /* ms: an hour */
#define PLAN_LINE_MAX 16384      /* bytes of one --plan line */
#define PLAN_ARGS_MAX 128
#define LOWAT_MIN   1024u        /* --notsent-lowat, bytes */
#define LOWAT_MAX   16777216u

/* The registry's names whose rows pass keep(), joined by sep. */
static void names_where(char *buf, size_t cap, const char *sep, bool (*keep)(const mpx_signal *))
{
    size_t n, off = 0;
    const mpx_signal *rows = mpx_signals(&n);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep(&rows[i]))
            continue;
        int k = snprintf(buf + off, cap - off, "%s%s", off ? sep : "", rows[i].name);
        if (k < 0 || (size_t)k >= cap - off) {
            buf[off] = 0;
            return;
        }
        off += (size_t)k;
    }
}

static bool takes_convert_opts(const mpx_signal *s)
{
    const client_signal_ops *o = client_ops_for(s->wire);
    return o && o->convert_opts;
}

static bool with_auth(const mpx_signal *s) { return s->auth; }
static bool with_helper(const mpx_signal *s) { return s->helper != MPX_SIG_HELPER_NONE; }

static void usage(FILE *f)
{
    char tfo[256], conv[256], auth[256], helper[256];
    names_where(tfo, sizeof tfo, ", ", client_sig_tfo_selectable);
    names_where(conv, sizeof conv, ", ", takes_convert_opts);
    names_where(auth, sizeof auth, ", ", with_auth);
    names_where(helper, sizeof helper, ", ", with_helper);
    fprintf(f,
"usage: mpx-client --signal SIG --target ADDR:PORT [--proxy ADDR:PORT] [--mptcp on|off]\n"
"                  [--workload SPEC] [--count N] [--concurrency C] [--json FILE|-]\n"
"                  [--timeout SEC] [--socks-user U --socks-pass P] [--cookie-cache FILE]\n"
"                  [--bind ADDR] [--tag TEXT] [--tfo|--tfo-no-cookie] [--convert-opts K,K..]\n"
"                  [--optd-ctl PATH] [--mp-subtype N] [--peek-probe MS] [--seed N]\n"
"                  [--syn-wscale0 on|off] [--notsent-lowat BYTES] [-v]\n"
"       mpx-client --plan FILE|-   (one connection set per line: the options above, TAB-separated)\n"
"SIG (the signal registry, `mpx-wire signals`; PORT: the default --proxy port, - = the\n"
"     connection goes straight to --target):\n");
    size_t n;
    const mpx_signal *rows = mpx_signals(&n);
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *s = &rows[i];
        char port[8] = "-";
        if (!client_sig_direct(s))
            snprintf(port, sizeof port, "%u", s->port);
        fprintf(f, "  %-15s %5s  %s\n", s->name, port, s->summary);
    }
    fprintf(f,
"Workload (default \"rr 100/1000\"): \"rr REQ/RESP\", \"bulk-down N\", \"bulk-up N\", \"echo N\";\n"
"  sizes in bytes or with KB/MB/GB (10^3) or KiB/MiB/GiB; REQ includes the 16-byte header.\n"
"Options:\n"
"  --proxy ADDR[:PORT]  the proxy of an explicit signal (PORT above when omitted)\n"
"  --mptcp on|off       IPPROTO_MPTCP socket (default on)\n"
"  --count N            connections in total (1..%u, default 1)\n"
"  --concurrency C      connections open at a time (1..%u, default 1)\n"
"  --timeout SEC        per-connection deadline (0 < SEC <= %.0f, default 10)\n"
"  --tfo                the request in the SYN with the kernel's TFO cookie\n"
"  --tfo-no-cookie      the request in the SYN without any TFO option\n"
"                       (both for %s)\n"
"  --socks-user U --socks-pass P  RFC 1929 credentials (%s)\n"
"  --cookie-cache FILE  RFC 8803 Cookie TLV cache: sent when present; an Error 3 (Missing\n"
"                       Cookie) reply stores the converter's cookie there for later connections\n"
"  --convert-opts LIST  send an Extended Connect listing these TCP option kinds (e.g. 30,4)\n"
"                       (%s)\n"
"  --bind ADDR          local address (first subflow source)\n"
"  --seed N             base of the per-connection pattern seed (seed = N + seq;\n"
"                       0..%llu, no leading zeros)\n"
"  --tag TEXT           copied into every JSON line\n"
"  --optd-ctl PATH      control socket of the client namespace's mpx-optd (agents/optd): each\n"
"                       connection registers its Router Alert / option by source port\n"
"                       (%s);\n"
"                       without it the registration must come from outside, except a\n"
"                       Router Alert with --mptcp off (IP_OPTIONS)\n"
"  --mp-subtype N       MPTCP subtype of MP_PREFER_PROXY / MP_CONVERT (0..15, default 14 = 0xe)\n"
"  --peek-probe MS      diagnostic: recv(MSG_PEEK|MSG_DONTWAIT) on sockets idle for MS ms\n"
"                       (reproduces lost data on MPTCP-fallback sockets, see agents/README.md)\n"
"  --syn-wscale0 on|off MPTCP with data in the SYN: the SYN goes out with window scale 0\n"
"                       (SO_RCVBUF 65535 before it, tcp_rmem[2] after), so the listener cannot\n"
"                       mis-scale it (Linux 6.18 passive-TFO window bug that stalls bulk\n"
"                       transfers once a second subflow joins; docs/kernel-findings.md);\n"
"                       default on, off reproduces the stall\n"
"  --notsent-lowat BYTES  TCP_NOTSENT_LOWAT on each socket (%u..%u; MPTCP: how much data not\n"
"                       yet handed to a subflow may wait) and request send()s of at most\n"
"                       BYTES, so the MPTCP scheduler places uploads in small pieces\n"
"                       (docs/kernel-findings.md 6); default off\n"
"Plan mode (--plan FILE, - = stdin): each line holds the options of one invocation, the words\n"
"  separated by TABs (empty lines and lines starting with # are skipped); the lines run in\n"
"  order in this one process, each writing its records exactly as its own invocation would,\n"
"  and after each line stdout gets \"done<TAB>RC<TAB>T0<TAB>T1<TAB>TAG\" (RC its exit code below,\n"
"  T0 T1 wall-clock seconds around it, TAG its --tag), flushed; the plan's exit code is the\n"
"  highest line exit code (2 also: the plan file unreadable, a line over %d bytes).\n"
"Output: one JSON line per connection, then a summary line (agents/README.md); times in us\n"
"relative to the connection's start (CLOCK_MONOTONIC).\n"
"Exit: 0 all connections ok, 1 a connection failed, 2 usage, 3 setup error.\n",
            COUNT_MAX, COUNT_MAX, TIMEOUT_MAX, tfo, auth, conv, (unsigned long long)MPX_SEED_MAX,
            helper, LOWAT_MIN, LOWAT_MAX, PLAN_LINE_MAX);
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpx-client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* --syn-wscale0: the receive buffer set right after the SYN, as large as autotuning could
 * grow it (net.ipv4.tcp_rmem[2] of this namespace; SO_RCVBUF doubles the value given) */
static int rcvbuf_after_syn(void)
{
    long lo = 0, def = 0, max = 6291456;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");
    if (f) {
        if (fscanf(f, "%ld %ld %ld", &lo, &def, &max) != 3 || max < 131072 || max > (1L << 30))
            max = 6291456;
        fclose(f);
    }
    return (int)(max / 2);
}

static const char *why(void) { return errno == ERANGE ? "out of range" : "not a number"; }

/* --convert-opts: option kinds 2..255, decimal or 0x hex, comma separated. */
static int parse_kinds(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    *n = 0;
    while (*s) {
        if (*s < '0' || *s > '9')   /* strtol would also take blanks and signs */
            return -1;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 0);
        if (end == s || errno || v < 2 || v > 255 || *n == cap)
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

/* --mp-subtype: 0..15, decimal or 0x hex. */
static int parse_subtype(const char *s, uint8_t *out)
{
    uint64_t v;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2]) && !s[3])
        v = strtoul(s + 2, NULL, 16);
    else if (mpx_parse_u64(s, 0, 15, &v) < 0)
        return -1;
    *out = (uint8_t)v;
    return 0;
}

/* Fills cfg from the command line (or one --plan line: in_plan). -1: go on; otherwise the exit
 * code (help, version, usage). *plan: the --plan argument (NULL: none). */
static int parse_args(int argc, char **argv, client_cfg *cfg, bool in_plan, const char **plan)
{
    const char *sig = NULL, *target = NULL, *proxy = NULL, *bindaddr = NULL;
    const char *wl = "rr 100/1000";
    *cfg = (client_cfg){ .mptcp = true, .count = 1, .conc = 1, .timeout_s = 10, .seed = 1,
                         .mp_subtype = MPX_MPOPT_SUBTYPE_DEFAULT, .json_path = "-",
                         .syn_wscale0 = true };
    enum { O_SIGNAL = 256, O_TARGET, O_PROXY, O_MPTCP, O_WORKLOAD, O_COUNT, O_CONC, O_JSON,
           O_TIMEOUT, O_USER, O_PASS, O_COOKIE, O_BIND, O_TAG, O_TFO, O_TFO_NC, O_CONVOPTS, O_SEED,
           O_VERSION, O_OPTD, O_SUBTYPE, O_PEEK, O_WSCALE0, O_PLAN, O_LOWAT };
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
        { "syn-wscale0", required_argument, 0, O_WSCALE0 },
        { "notsent-lowat", required_argument, 0, O_LOWAT },
        { "convert-opts", required_argument, 0, O_CONVOPTS },
        { "seed", required_argument, 0, O_SEED },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, O_VERSION },
        { "plan", required_argument, 0, O_PLAN },
        { 0, 0, 0, 0 },
    };
    int o, nopt = 0;
    optind = 0;   /* glibc: a full restart, also for the next plan line */
    while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        nopt++;
        uint64_t u;
        double d;
        switch (o) {
        case O_SIGNAL: sig = optarg; break;
        case O_TARGET: target = optarg; break;
        case O_PROXY: proxy = optarg; break;
        case O_MPTCP:
            if (strcmp(optarg, "on") == 0)
                cfg->mptcp = true;
            else if (strcmp(optarg, "off") == 0)
                cfg->mptcp = false;
            else
                return bad("--mptcp on|off");
            break;
        case O_WORKLOAD: wl = optarg; break;
        case O_COUNT:
        case O_CONC:
            if (mpx_parse_u64(optarg, 1, COUNT_MAX, &u) < 0)
                return bad("%s '%s': %s (1..%u)", o == O_COUNT ? "--count" : "--concurrency",
                           optarg, why(), COUNT_MAX);
            if (o == O_COUNT)
                cfg->count = (uint32_t)u;
            else
                cfg->conc = (uint32_t)u;
            break;
        case O_JSON: cfg->json_path = optarg; break;
        case O_TIMEOUT:
            if (mpx_parse_dbl(optarg, 0, TIMEOUT_MAX, &d) < 0)
                return bad("--timeout '%s': %s (seconds, 0 < SEC <= %.0f)", optarg, why(),
                           TIMEOUT_MAX);
            if (d <= 0)
                return bad("--timeout '%s': out of range (seconds, 0 < SEC <= %.0f)", optarg,
                           TIMEOUT_MAX);
            cfg->timeout_s = d;
            break;
        case O_USER: cfg->user = optarg; break;
        case O_PASS: cfg->pass = optarg; break;
        case O_COOKIE: cfg->cookie_path = optarg; break;
        case O_BIND: bindaddr = optarg; break;
        case O_TAG: cfg->tag = optarg; break;
        case O_TFO: cfg->tfo_direct = true; break;
        case O_TFO_NC: cfg->tfo_direct = cfg->tfo_direct_nc = true; break;
        case O_OPTD: cfg->optd_path = optarg; break;
        case O_WSCALE0:
            if (strcmp(optarg, "on") == 0 || strcmp(optarg, "off") == 0)
                cfg->syn_wscale0 = strcmp(optarg, "on") == 0;
            else
                return bad("--syn-wscale0 '%s': on or off", optarg);
            break;
        case O_LOWAT:
            if (mpx_parse_u64(optarg, LOWAT_MIN, LOWAT_MAX, &u) < 0)
                return bad("--notsent-lowat '%s': %s (bytes, %u..%u)", optarg, why(), LOWAT_MIN,
                           LOWAT_MAX);
            cfg->notsent_lowat = (uint32_t)u;
            break;
        case O_PEEK:
            if (mpx_parse_dbl(optarg, 0, PEEK_MAX, &d) < 0)
                return bad("--peek-probe '%s': %s (milliseconds, 0..%.0f)", optarg, why(),
                           PEEK_MAX);
            cfg->peek_us = (int64_t)(d * 1000);
            break;
        case O_SUBTYPE:
            if (parse_subtype(optarg, &cfg->mp_subtype) < 0)
                return bad("--mp-subtype '%s': not a subtype 0..15", optarg);
            break;
        case O_CONVOPTS:
            if (parse_kinds(optarg, cfg->conv_opts, sizeof cfg->conv_opts, &cfg->nconv_opts) < 0)
                return bad("bad --convert-opts '%s' (kinds 2..255, comma separated)", optarg);
            break;
        case O_SEED:
            if (mpx_parse_seed(optarg, &cfg->seed) < 0)
                return bad("--seed '%s': %s (0..%llu, no leading zeros)", optarg, why(),
                           (unsigned long long)MPX_SEED_MAX);
            break;
        case 'v': cfg->verbose = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        case O_VERSION: printf("mpx-client %s\n", MPX_VERSION); return EXIT_OK;
        case O_PLAN:
            if (in_plan)
                return bad("--plan inside a plan line");
            *plan = optarg;
            break;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (!in_plan && *plan) {
        if (nopt != 1 || optind < argc)
            return bad("--plan takes no other option (each plan line has its own)");
        return -1;
    }
    if (optind < argc || !sig || !target)
        return bad("--signal and --target are required (see --help)");
    const mpx_signal *s = mpx_signal_by_name(sig);
    if (!s) {
        char names[512];
        mpx_signal_names(names, sizeof names, " ");
        return bad("unknown --signal '%s' (%s)", sig, names);
    }
    cfg->sig = s;
    const client_signal_ops *ops = client_ops_for(s->wire);
    if (!ops)
        return bad("--signal %s: the client has no code for its wire class %s", s->name,
                   mpx_wire_class_name(s->wire));
    if (mpxa_addr_parse(target, -1, &cfg->target) < 0)
        return bad("bad --target '%s' (ADDR:PORT or [V6]:PORT)", target);
    if (!client_sig_direct(s)) {
        if (!proxy)
            return bad("--signal %s needs --proxy", s->name);
        if (mpxa_addr_parse(proxy, s->port, &cfg->proxy) < 0)
            return bad("bad --proxy '%s'", proxy);
        cfg->have_proxy = true;
    } else if (proxy) {
        fprintf(stderr, "mpx-client: --proxy is ignored with --signal %s\n", s->name);
    }
    char msg[200];
    if (ops->check && ops->check(cfg, msg, sizeof msg) < 0)
        return bad("%s", msg);
    if (cfg->tfo_direct && !client_sig_tfo_selectable(s)) {
        names_where(msg, sizeof msg, ", ", client_sig_tfo_selectable);
        return bad("--tfo/--tfo-no-cookie only apply to %s", msg);
    }
    if (cfg->nconv_opts && !ops->convert_opts) {
        names_where(msg, sizeof msg, ", ", takes_convert_opts);
        return bad("--convert-opts only applies to %s", msg);
    }
    if (bindaddr) {
        if (mpxa_addr_parse(bindaddr, 0, &cfg->bind) < 0)
            return bad("bad --bind '%s'", bindaddr);
        cfg->have_bind = true;
    }
    char err[200];
    if (mpxa_workload_parse(wl, &cfg->wl, err, sizeof err) < 0)
        return bad("--workload: %s", err);
    mpxa_workload_fmt(&cfg->wl, cfg->wl_text, sizeof cfg->wl_text);
    if (cfg->conc > cfg->count)
        cfg->conc = cfg->count;
    return -1;
}

static void on_sig(int s)
{
    (void)s;
    client_stop = 1;
}

static void handlers(void)
{
    mpxa_raise_nofile(0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* Runs the connection set cl->cfg describes (one invocation, or one plan line) and releases
 * everything it took, so the next plan line starts as a fresh process would. */
static int run_one(client *cl)
{
    const client_cfg *cfg = &cl->cfg;
    cl->sig = cfg->sig;
    cl->ops = client_ops_for(cl->sig->wire);
    cl->optd_fd = -1;
    cl->ep = -1;
    int rc = EXIT_SETUP;

    if (strcmp(cfg->json_path, "-") == 0) {
        cl->json = stdout;
    } else if (!(cl->json = fopen(cfg->json_path, "a"))) {
        fprintf(stderr, "mpx-client: %s: %s\n", cfg->json_path, strerror(errno));
        return EXIT_SETUP;
    }
    cl->ttfb = calloc(cfg->count, sizeof *cl->ttfb);
    cl->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cl->ttfb || cl->ep < 0) {
        fprintf(stderr, "mpx-client: setup: %s\n", strerror(errno));
        goto out;
    }
    /* Probe the socket type once so "no MPTCP in this kernel" is a setup error, not N failures */
    const mpxa_addr *first = cfg->have_proxy ? &cfg->proxy : &cfg->target;
    int probe = mpxa_socket(mpxa_addr_family(first), cfg->mptcp, true);
    if (probe < 0) {
        fprintf(stderr, "mpx-client: socket(%s): %s\n", cfg->mptcp ? "IPPROTO_MPTCP" : "TCP",
                strerror(errno));
        goto out;
    }
    close(probe);
    if (cl->ops->setup)
        cl->ops->setup(cl);
    client_compute_budget(cl);
    cl->tfo_sysctl = client_read_sysctl("/proc/sys/net/ipv4/tcp_fastopen", -1);
    cl->rcvbuf_after = rcvbuf_after_syn();
    bool sig_cookie = cl->sig->tfo == MPX_SIG_TFO_COOKIE;
    bool want_cookie = sig_cookie || (cfg->tfo_direct && !cfg->tfo_direct_nc);
    if (cl->tfo_sysctl >= 0 && (cl->tfo_sysctl & 0x4) && want_cookie)
        fprintf(stderr, "mpx-client: warning: net.ipv4.tcp_fastopen=0x%x has bit 0x4 (data in the "
                        "SYN without a cookie) set in this namespace, so %s sends no TFO cookie; "
                        "use 0x1\n",
                cl->tfo_sysctl, sig_cookie ? cl->sig->name : "--tfo");
    if (cfg->optd_path && client_optd_open(cl) < 0) {
        fprintf(stderr, "mpx-client: --optd-ctl %s: %s\n", cfg->optd_path, strerror(errno));
        goto out;
    }
    handlers();
    rc = client_run(cl);
out:
    if (cl->json && cl->json != stdout)
        fclose(cl->json);
    else if (cl->json)
        fflush(stdout);
    client_optd_close(cl);
    if (cl->ep >= 0)
        close(cl->ep);
    free(cl->ttfb);
    return rc;
}

/* wall clock "S.UUUUUU" (the form of bash's EPOCHREALTIME) */
static void real_str(char *buf, size_t cap)
{
    int64_t t = mpxa_real_us();
    snprintf(buf, cap, "%lld.%06lld", (long long)(t / 1000000), (long long)(t % 1000000));
}

/* --plan: one invocation per line (words split at TABs), each with a fresh client. The lines
 * come from a file or a pipe (the harness writes the next line after reading the "done" line,
 * so its per-step work, e.g. interception on the HAG, runs between two lines). */
static int run_plan(const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "mpx-client: --plan %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    handlers();
    static client CL;
    static char line[PLAN_LINE_MAX + 2];
    int worst = EXIT_OK;
    unsigned long lineno = 0;
    while (!client_stop && fgets(line, sizeof line, in)) {
        lineno++;
        size_t len = strlen(line);
        char t0[32], t1[32];
        real_str(t0, sizeof t0);
        int rc;
        const char *tag = "";
        if (len && line[len - 1] == '\n') {
            line[--len] = 0;
        } else if (len > PLAN_LINE_MAX) {
            int ch;   /* skip the rest of the overlong line */
            while ((ch = fgetc(in)) != EOF && ch != '\n')
                ;
            fprintf(stderr, "mpx-client: --plan line %lu: longer than %d bytes\n", lineno,
                    PLAN_LINE_MAX);
            rc = EXIT_USAGE;
            goto done;
        }
        if (!len || line[0] == '#')
            continue;
        char *argv[PLAN_ARGS_MAX + 2];
        int argc = 0;
        argv[argc++] = "mpx-client";
        for (char *p = line;;) {
            if (argc > PLAN_ARGS_MAX) {
                argc = -1;
                break;
            }
            argv[argc++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = 0;
            p = tab + 1;
        }
        if (argc < 0) {
            fprintf(stderr, "mpx-client: --plan line %lu: more than %d words\n", lineno,
                    PLAN_ARGS_MAX);
            rc = EXIT_USAGE;
            goto done;
        }
        argv[argc] = NULL;
        memset(&CL, 0, sizeof CL);
        rc = parse_args(argc, argv, &CL.cfg, true, NULL);
        if (CL.cfg.tag)
            tag = CL.cfg.tag;
        if (rc < 0)
            rc = run_one(&CL);
    done:
        real_str(t1, sizeof t1);
        if (rc > worst)
            worst = rc;
        /* a tag with a TAB or newline cannot come from a TAB-split line; "%s" is safe */
        if (printf("done\t%d\t%s\t%s\t%s\n", rc, t0, t1, tag) < 0 || fflush(stdout) != 0)
            break;   /* the reader is gone */
    }
    if (in != stdin)
        fclose(in);
    return worst;
}

int main(int argc, char **argv)
{
    static client CL;
    const char *plan = NULL;
    int rc = parse_args(argc, argv, &CL.cfg, false, &plan);
    if (rc >= 0)
        return rc;
    if (plan)
        return run_plan(plan);
    return run_one(&CL);
}
