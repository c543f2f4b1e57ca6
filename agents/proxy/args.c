/* mpx-proxy's command line and config files into a struct config. The listener options
 * (--NAME PORT, one per front-end), their usage lines and the default listeners come from
 * the front-end table; every number is parsed whole and range-checked (lib/parse.h). Kept
 * out of main.c so the unit tests can drive it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "agents/proxy/proxy.h"
#include "lib/parse.h"
#include "proto/buf.h"

#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

#define USAGE_WIDTH 100   /* the synopsis wraps before this column */
#define USAGE_INDENT "                 "

/* The synopsis: "[--NAME PORT]" for every front-end, wrapped, then the other options. */
static void usage_synopsis(FILE *f)
{
    const size_t indent = strlen(USAGE_INDENT);
    size_t col = (size_t)fprintf(f, "usage: mpx-proxy");
    for (int i = 0; i < proxy_n_frontends; i++) {
        const struct proxy_frontend *fe = proxy_frontends[i];
        char item[96];
        int n = snprintf(item, sizeof item, "[--%s PORT%s]", fe->name,
                         fe->needs_optd ? " --optd PATH" : "");
        if (n < 0) continue;
        if (col > indent && col + 1 + (size_t)n >= USAGE_WIDTH) {
            fprintf(f, "\n%s", USAGE_INDENT);
            col = indent;
        } else {
            fputc(' ', f);
            col++;
        }
        fputs(item, f);
        col += (size_t)n;
    }
    fprintf(f, "\n"
USAGE_INDENT "[--bind ADDR] [--allow PREFIX]... [--deny-target PREFIX]...\n"
USAGE_INDENT "[--max-per-client N] [--max-conns N] [--cookie-required] [--cookie-key HEX]\n"
USAGE_INDENT "[--cookie-len N] [--users FILE] [--no-stall-guard] [--stall-guard-max MS]\n"
USAGE_INDENT "[--syn-data-policy cookie|third-ack|immediate[:RATE]] [--idle-timeout MS]\n"
USAGE_INDENT "[--header-timeout MS] [--connect-timeout MS] [--linger MS] [--drain-timeout MS]\n"
USAGE_INDENT "[--no-splice] [--pipe-size BYTES] [--config FILE] [--stats FILE] [--ready FILE]\n"
USAGE_INDENT "[-v] [--help] [--version]\n"
"       mpx-proxy --cpe PORT=SIGNAL[,wait=MS]... --hag ADDR [--hag ADDR6] [--hag-port PORT]\n"
USAGE_INDENT "[--cpe-timeout MS] [--cpe-fallback direct|reset] [--socks-user U --socks-pass P]\n"
USAGE_INDENT "[--optd-ctl PATH] [--no-syn-wscale0] --allow LANPREFIX... [other options]\n"
USAGE_INDENT "(CPE mode; on the HAG: [--cpe-peer PREFIX]...)\n");
}

/* One line per front-end (its help) and one with what its listener does differently. */
static void usage_listeners(FILE *f)
{
    fprintf(f, "Without any listener option:");
    for (int i = 0, n = 0; i < proxy_n_frontends; i++)
        if (proxy_frontends[i]->by_default)
            fprintf(f, "%s %s %u", n++ ? "," : "", proxy_frontends[i]->name, proxy_frontends[i]->port);
    fprintf(f, ".\nListeners (IPPROTO_MPTCP, dual-stack unless --bind; PORT 0 = off; [usual port]):\n");
    for (int i = 0; i < proxy_n_frontends; i++) {
        const struct proxy_frontend *fe = proxy_frontends[i];
        char opt[48];
        snprintf(opt, sizeof opt, "--%s PORT", fe->name);
        fprintf(f, "  %-20s  [%u] %s\n  %-20s ", opt, fe->port, fe->help, "");
        const char *sep = " ";
#define TAG(cond, text) do { if (cond) { fprintf(f, "%s%s", sep, text); sep = "; "; } } while (0)
        TAG(fe->syn_data_no_cookie, "SYN data without a TFO cookie");
        TAG(fe->tfo_cookie, "TFO cookies: granted on request, required for SYN data");
        TAG(fe->transparent, "IP_TRANSPARENT (behind a TPROXY rule)");
        TAG(fe->needs_optd, "needs --optd PATH (its control socket)");
        TAG(fe->users, "--users FILE: clients must log in (RFC 1929)");
#undef TAG
        fputc('\n', f);
    }
}

static void usage(FILE *f)
{
    usage_synopsis(f);
    usage_listeners(f);
    fprintf(f,
"Clients: refused (Convert Error 32, SOCKS 05 ff, reset) unless an --allow prefix matches:\n"
"there is no open default (RFC 8803 s9); --allow 0.0.0.0/0 --allow ::/0 opens it explicitly.\n"
"SYN data (request in the SYN) is acted on before the client's third ACK only with a valid\n"
"TFO cookie (--syn-data-policy cookie, the default); third-ack: never; immediate: always\n"
"(0-RTT, spoofable), immediate:RATE at most RATE/s (the rest waits for the third ACK).\n"
"--idle-timeout MS (default 7440000 = 2 h 4 min, RFC 5382; 0 = off) closes silent relays.\n"
"Signals: SIGUSR1 writes the JSON counters; SIGTERM/SIGINT drain (stop accepting, finish\n"
"relays, exit 0). Exit: 0 ok, 2 usage/config error, 3 setup error. See agents/proxy/README.md.\n"
"CPE mode (the LAN side of proxy/proxy; README \"CPE mode\"):\n"
"  --cpe PORT=SIGNAL[,wait=MS]  an IP_TRANSPARENT LAN listener (behind an nft tproxy rule);\n"
"                       each connection's original destination is signalled to the HAG with\n"
"                       SIGNAL (a registry name, `mpx-wire signals`; tcp = plain TCP direct);\n"
"                       wait: ms to wait for the LAN client's first bytes to put them in the\n"
"                       SYN after the signal (default 5; 0 = connect at once)\n"
"  --hag ADDR           the HAG (an IPv4 and/or an IPv6 address); port: the signal's registry\n"
"                       port, or --hag-port PORT\n"
"  --cpe-timeout MS     no HAG answer within MS (default 3000): plain TCP direct to the target\n"
"                       with the LAN bytes replayed (--cpe-fallback reset: reset the LAN client)\n"
"  --socks-user U --socks-pass P  RFC 1929 credentials (socks5-auth)\n"
"  --optd-ctl PATH      mpx-optd (add mode) of this namespace: the SYN option / Router Alert\n"
"                       of mpconvert-opt, implicit-prefer, implicit-ra\n"
"  --no-syn-wscale0     MPTCP SYNs with data keep their window scale (the TFO+join workaround of\n"
"                       docs/kernel-findings.md is on by default)\n"
"  --cpe-peer PREFIX    (HAG) clients from PREFIX are CPEs: stats \"clients\" {cpe, direct}\n");
}

/* A whole decimal number in [lo, hi]; the message names the option. */
static int parse_num(const char *key, const char *val, int lo, int hi, int *out)
{
    uint64_t v;
    if (mpx_parse_u64(val, (uint64_t)lo, (uint64_t)hi, &v) < 0) {
        if (errno == ERANGE)
            fprintf(stderr, "mpx-proxy: --%s %s: out of range %d..%d\n", key, val, lo, hi);
        else
            fprintf(stderr, "mpx-proxy: --%s '%s': not a whole decimal number (%d..%d)\n", key,
                    val, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static bool parse_bool(const char *v)
{
    return !v || !*v || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
           !strcasecmp(v, "on");
}

static int load_config(struct config *cf, const char *file, int depth);

/* One option, from the command line or a config line ("key value"). Returns 0 or -1. */
static int apply(struct config *cf, const char *key, const char *val)
{
#define NEED() do { if (!val || !*val) { fprintf(stderr, "mpx-proxy: %s needs a value\n", key); return -1; } } while (0)
#define NUM(dst, lo, hi) do { NEED(); if (parse_num(key, val, lo, hi, &(dst))) return -1; } while (0)
    int fi = proxy_frontend_find(key);
    if (fi >= 0) { NUM(cf->port[fi], 0, 65535); return 0; }
    if (!strcmp(key, "bind")) {
        NEED();
        if (mpx_addr_parse(val, &cf->bind, -1) < 0) { fprintf(stderr, "mpx-proxy: bad bind address '%s'\n", val); return -1; }
    } else if (!strcmp(key, "allow") || !strcmp(key, "deny-target")) {
        NEED();
        bool allow = key[0] == 'a';
        struct prefix *p = allow ? &cf->allow[cf->n_allow] : &cf->deny[cf->n_deny];
        if ((allow ? cf->n_allow : cf->n_deny) >= MAX_PREFIXES) { fprintf(stderr, "mpx-proxy: too many %s\n", key); return -1; }
        if (prefix_parse(val, p) < 0) { fprintf(stderr, "mpx-proxy: bad prefix '%s'\n", val); return -1; }
        if (allow) cf->n_allow++; else cf->n_deny++;
    } else if (!strcmp(key, "max-per-client")) NUM(cf->max_per_client, 0, 1 << 30);
    else if (!strcmp(key, "max-conns")) NUM(cf->max_conns, 0, 1 << 30);
    else if (!strcmp(key, "cookie-required")) cf->cookie_required = parse_bool(val);
    else if (!strcmp(key, "cookie-key")) {
        NEED();
        long n = mpx_hex_parse(val, cf->cookie_key, sizeof cf->cookie_key);
        if (n < 16) { fprintf(stderr, "mpx-proxy: --cookie-key needs 16..32 bytes of hex\n"); return -1; }
        cf->cookie_key_len = (int)n;
    } else if (!strcmp(key, "cookie-len")) NUM(cf->cookie_len, 8, 16);
    else if (!strcmp(key, "users")) {
        NEED();
        snprintf(cf->users_file, sizeof cf->users_file, "%s", val);
        if (socks5_load_users(cf, val) <= 0) { fprintf(stderr, "mpx-proxy: cannot read users from '%s' (lines user:password)\n", val); return -1; }
    } else if (!strcmp(key, "no-stall-guard")) cf->stall_guard = !parse_bool(val);
    else if (!strcmp(key, "stall-guard")) cf->stall_guard = parse_bool(val);
    else if (!strcmp(key, "stall-guard-max")) NUM(cf->stall_guard_max_ms, 1, 600000);
    else if (!strcmp(key, "syn-data-policy")) {
        NEED();
        if (syn_data_policy_parse(val, cf) < 0) {
            fprintf(stderr, "mpx-proxy: --syn-data-policy '%s': cookie, third-ack, immediate or "
                            "immediate:RATE (RATE 1..1000000 per second)\n", val);
            return -1;
        }
    }
    else if (!strcmp(key, "idle-timeout")) NUM(cf->idle_timeout_ms, 0, 86400000);
    else if (!strcmp(key, "header-timeout")) NUM(cf->header_timeout_ms, 1, 600000);
    else if (!strcmp(key, "connect-timeout")) NUM(cf->connect_timeout_ms, 1, 600000);
    else if (!strcmp(key, "linger")) NUM(cf->linger_ms, 0, 600000);
    else if (!strcmp(key, "drain-timeout")) NUM(cf->drain_timeout_ms, 0, 3600000);
    else if (!strcmp(key, "no-splice")) cf->splice = !parse_bool(val);
    else if (!strcmp(key, "pipe-size")) NUM(cf->pipe_size, 0, 1 << 24);
    else if (!strcmp(key, "optd")) {
        NEED();
        if (strlen(val) >= sizeof cf->optd_path - 16) { fprintf(stderr, "mpx-proxy: --optd path too long\n"); return -1; }
        snprintf(cf->optd_path, sizeof cf->optd_path, "%s", val);
    }
    else if (!strcmp(key, "cpe")) {
        NEED();
        char why[160];
        if (cf->n_cpe >= MAX_CPE) { fprintf(stderr, "mpx-proxy: too many --cpe (at most %d)\n", MAX_CPE); return -1; }
        if (cpe_parse_entry(val, &cf->cpe[cf->n_cpe], why, sizeof why) < 0) {
            fprintf(stderr, "mpx-proxy: --cpe '%s': %s\n", val, why);
            return -1;
        }
        cf->n_cpe++;
    } else if (!strcmp(key, "hag")) {
        NEED();
        mpx_addr a;
        if (mpx_addr_parse(val, &a, -1) < 0) { fprintf(stderr, "mpx-proxy: --hag '%s': an IPv4 or IPv6 address (no port: --hag-port)\n", val); return -1; }
        if (a.family == MPX_AF_INET6 && mpx_addr_is_v4mapped(a.a)) a = mpx_addr_from_mapped(a.a, 0);
        if (a.family == MPX_AF_INET) cf->hag4 = a; else cf->hag6 = a;
    } else if (!strcmp(key, "hag-port")) NUM(cf->hag_port, 1, 65535);
    else if (!strcmp(key, "cpe-timeout")) NUM(cf->cpe_timeout_ms, 1, 600000);
    else if (!strcmp(key, "cpe-fallback")) {
        NEED();
        if (!strcmp(val, "direct")) cf->cpe_fallback_reset = false;
        else if (!strcmp(val, "reset")) cf->cpe_fallback_reset = true;
        else { fprintf(stderr, "mpx-proxy: --cpe-fallback '%s': direct or reset\n", val); return -1; }
    } else if (!strcmp(key, "socks-user") || !strcmp(key, "socks-pass")) {
        NEED();
        char *dst = key[6] == 'u' ? cf->socks_user : cf->socks_pass;
        if (strlen(val) > 255) { fprintf(stderr, "mpx-proxy: --%s: 1..255 bytes\n", key); return -1; }
        snprintf(dst, 256, "%s", val);
    } else if (!strcmp(key, "optd-ctl")) {
        NEED();
        if (strlen(val) >= sizeof cf->optd_ctl - 16) { fprintf(stderr, "mpx-proxy: --optd-ctl path too long\n"); return -1; }
        snprintf(cf->optd_ctl, sizeof cf->optd_ctl, "%s", val);
    } else if (!strcmp(key, "no-syn-wscale0")) cf->no_syn_wscale0 = parse_bool(val);
    else if (!strcmp(key, "syn-wscale0")) cf->no_syn_wscale0 = !parse_bool(val);
    else if (!strcmp(key, "cpe-peer")) {
        NEED();
        if (cf->n_cpe_peer >= MAX_PREFIXES) { fprintf(stderr, "mpx-proxy: too many cpe-peer\n"); return -1; }
        if (prefix_parse(val, &cf->cpe_peer[cf->n_cpe_peer]) < 0) { fprintf(stderr, "mpx-proxy: bad prefix '%s'\n", val); return -1; }
        cf->n_cpe_peer++;
    }
    else if (!strcmp(key, "stats")) { NEED(); snprintf(cf->stats_file, sizeof cf->stats_file, "%s", val); }
    else if (!strcmp(key, "ready")) { NEED(); snprintf(cf->ready_file, sizeof cf->ready_file, "%s", val); }
    else if (!strcmp(key, "verbose")) cf->verbose = parse_bool(val);
    else if (!strcmp(key, "config")) { NEED(); return load_config(cf, val, 1); }
    else { fprintf(stderr, "mpx-proxy: unknown option '%s'\n", key); return -1; }
    return 0;
#undef NUM
#undef NEED
}

/* Config file: one "key value" per line (keys = long option names), '#' comments. */
static int load_config(struct config *cf, const char *file, int depth)
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
        if (apply(cf, k, *p ? p : NULL) < 0) { fprintf(stderr, "%s:%d: bad line\n", file, ln); rc = -1; break; }
    }
    fclose(f);
    return rc;
}

/* The options that are not listeners; a listener option per front-end is added in front. */
static const struct option other_opts[] = {
    { "optd", 1, 0, 0 }, { "bind", 1, 0, 0 },
    { "allow", 1, 0, 0 }, { "deny-target", 1, 0, 0 }, { "max-per-client", 1, 0, 0 },
    { "max-conns", 1, 0, 0 }, { "cookie-required", 0, 0, 0 }, { "cookie-key", 1, 0, 0 },
    { "cookie-len", 1, 0, 0 }, { "users", 1, 0, 0 }, { "no-stall-guard", 0, 0, 0 },
    { "stall-guard-max", 1, 0, 0 }, { "header-timeout", 1, 0, 0 },
    { "syn-data-policy", 1, 0, 0 }, { "idle-timeout", 1, 0, 0 },
    { "connect-timeout", 1, 0, 0 }, { "linger", 1, 0, 0 }, { "drain-timeout", 1, 0, 0 },
    { "no-splice", 0, 0, 0 }, { "pipe-size", 1, 0, 0 }, { "config", 1, 0, 0 },
    { "stats", 1, 0, 0 }, { "ready", 1, 0, 0 }, { "verbose", 0, 0, 'v' },
    { "cpe", 1, 0, 0 }, { "hag", 1, 0, 0 }, { "hag-port", 1, 0, 0 }, { "cpe-timeout", 1, 0, 0 },
    { "cpe-fallback", 1, 0, 0 }, { "socks-user", 1, 0, 0 }, { "socks-pass", 1, 0, 0 },
    { "optd-ctl", 1, 0, 0 }, { "no-syn-wscale0", 0, 0, 0 }, { "cpe-peer", 1, 0, 0 },
    { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0, 0, 0, 0 },
};
#define N_OTHER (sizeof other_opts / sizeof other_opts[0])

int syn_data_policy_parse(const char *s, struct config *cf)
{
    if (!strcmp(s, "cookie")) { cf->syn_data_policy = SDP_COOKIE; cf->syn_data_rate = 0; return 0; }
    if (!strcmp(s, "third-ack")) {
        cf->syn_data_policy = SDP_THIRD_ACK;
        cf->syn_data_rate = 0;
        return 0;
    }
    if (strncmp(s, "immediate", 9) != 0) return -1;
    uint64_t r = 0;
    if (s[9] == ':') { if (mpx_parse_u64(s + 10, 1, 1000000, &r) < 0) return -1; }
    else if (s[9]) return -1;
    cf->syn_data_policy = SDP_IMMEDIATE;
    cf->syn_data_rate = (int)r;
    return 0;
}

const char *syn_data_policy_str(const struct config *cf, char *buf, size_t cap)
{
    switch (cf->syn_data_policy) {
    case SDP_THIRD_ACK: snprintf(buf, cap, "third-ack"); break;
    case SDP_IMMEDIATE:
        if (cf->syn_data_rate > 0) snprintf(buf, cap, "immediate:%d", cf->syn_data_rate);
        else snprintf(buf, cap, "immediate");
        break;
    default: snprintf(buf, cap, "cookie"); break;
    }
    return buf;
}

/* What front-end fi does with SYN data that arrived before the third ACK. */
const char *syn_data_policy_fe(const struct config *cf, int fi, char *buf, size_t cap)
{
    const struct proxy_frontend *fe = fi >= 0 && fi < proxy_n_frontends ? proxy_frontends[fi] : NULL;
    if (!fe) { snprintf(buf, cap, "-"); return buf; }
    if (cf->syn_data_policy == SDP_COOKIE)
        snprintf(buf, cap, "%s", fe->tfo_cookie ? "immediate" : "third-ack");
    else
        syn_data_policy_str(cf, buf, cap);
    return buf;
}

int parse_args(int argc, char **argv, struct config *cf)
{
    struct option opts[PROXY_FE_MAX + N_OTHER];
    int n = 0;
    for (int i = 0; i < proxy_n_frontends; i++)
        opts[n++] = (struct option){ proxy_frontends[i]->name, required_argument, 0, 0 };
    memcpy(opts + n, other_opts, sizeof other_opts);
    int o, idx;
    optind = 0;   /* glibc: start afresh (the unit tests parse several command lines) */
    while ((o = getopt_long(argc, argv, "vhV", opts, &idx)) != -1) {
        if (o == 0) { if (apply(cf, opts[idx].name, optarg) < 0) return 2; }
        else if (o == 'v') cf->verbose++;
        else if (o == 'h') { usage(stdout); return 0; }
        else if (o == 'V') { printf("mpx-proxy %s\n", MPX_VERSION); return 0; }
        else { usage(stderr); return 2; }
    }
    if (optind < argc) { usage(stderr); return 2; }
    bool any = false;
    for (int i = 0; i < proxy_n_frontends; i++) {
        const struct proxy_frontend *fe = proxy_frontends[i];
        if (!cf->port[i]) continue;
        any = true;
        if (fe->needs_optd && !cf->optd_path[0])
            plog(0, "warning: --%s without --optd PATH: no target can be learnt, every %s "
                    "connection will be refused", fe->name, fe->name);
    }
    if (cf->n_cpe) {
        char why[200];
        if (cpe_check_config(cf, why, sizeof why) < 0) {
            fprintf(stderr, "mpx-proxy: %s\n", why);
            return 2;
        }
    }
    if (!any && !cf->n_cpe)   /* CPE mode alone opens no front-end */
        for (int i = 0; i < proxy_n_frontends; i++)
            if (proxy_frontends[i]->by_default) cf->port[i] = proxy_frontends[i]->port;
    return -1;
}
