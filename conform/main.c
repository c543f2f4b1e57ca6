/* mpx-conform: RFC 8803 converter conformance (and RFC 1928/1929 SOCKS5 with --socks5), or
 * with --serve a converter answering in one RFC-allowed way to check clients.
 * Exit: 0 every MUST case passed (serve: every client reacted as required), 1 a MUST case
 * failed (serve: a client did not), 2 usage or setup error (converter unreachable). */
#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "conform/conform.h"
#include "lib/parse.h"
#include "lib/sock.h"
#include "proto/buf.h"

#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

enum { EXIT_OK = 0, EXIT_MUST = 1, EXIT_USAGE = 2 };
#define HEX_SHOWN 40   /* bytes of tx/rx printed per case; the JSON has up to 512 */

static void usage(FILE *f)
{
    size_t na;
    const char *const *an = cf_answer_names(&na);
    fprintf(f,
"usage: mpx-conform ADDR:PORT [--target A:P]... [--unreachable A:P] [--closed-port N]\n"
"                   [--json] [--case REGEX] [--timeout MS] [--tcp] [--no-syn-data]\n"
"                   [--socks5 [--socks-user U --socks-pass P]] [--list]\n"
"       mpx-conform --serve ADDR:PORT --answer KIND [--count N] [--timeout MS] [--tcp]\n"
"                   [--json] [--ready FILE]\n"
"Runs the RFC 8803 cases (--socks5: the RFC 1928/1929 cases) against the converter at\n"
"ADDR:PORT and prints pass / fail / n/a for each with the bytes sent and received.\n"
"  --target A:P        a server the converter can reach, answering MPX1 echo requests\n"
"                      (mpx-server); once IPv4 and once IPv6 for the IPv6 cases\n"
"  --unreachable A:P   a target the converter cannot reach (default 192.0.2.1:80)\n"
"  --closed-port N     a port of the --target host where nothing listens (default 9)\n"
"  --case REGEX        only the cases whose id matches (POSIX extended)\n"
"  --timeout MS        per read (default 3000; 1..600000)\n"
"  --tcp               plain TCP to the converter (default IPPROTO_MPTCP when the kernel has it)\n"
"  --no-syn-data       send the first bytes after the handshake, not in the SYN (TFO)\n"
"  --list              print the case table and exit\n"
"  --serve ADDR:PORT   be a converter; --answer KIND, every connection:");
    for (size_t i = 0; i < na; i++) fprintf(f, "%s%s", i % 8 ? " " : "\n                        ", an[i]);
    fprintf(f, "\n"
"  --count N           serve N connections, then exit (default: until SIGTERM)\n"
"Exit: 0 every MUST case passed (serve: every client reacted as the RFC requires),\n"
"      1 a MUST case failed (serve: a client did not), 2 usage or setup error.\n");
}

static int bad(const char *msg, const char *arg)
{
    fprintf(stderr, "mpx-conform: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return EXIT_USAGE;
}

static void hexline(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = n < HEX_SHOWN ? n : HEX_SHOWN, off = 0;
    out[0] = 0;
    for (size_t i = 0; i < k && off + 4 < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s%02x", i && i % 4 == 0 ? " " : "", p[i]);
    if (n > k) snprintf(out + off, cap - off, " ... (%zu B)", n);
    else snprintf(out + off, cap - off, "%s(%zu B)", n ? " " : "", n);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static void json_hex(const uint8_t *p, size_t n)
{
    static char h[2 * 512 + 1];
    mpx_hex_format(p, n < 512 ? n : 512, h);
    printf("\"%s\"", h);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "target", 1, 0, 't' }, { "unreachable", 1, 0, 'u' }, { "closed-port", 1, 0, 'p' },
        { "json", 0, 0, 'j' }, { "case", 1, 0, 'c' }, { "timeout", 1, 0, 'T' }, { "tcp", 0, 0, 'P' },
        { "no-syn-data", 0, 0, 'n' }, { "socks5", 0, 0, '5' }, { "socks-user", 1, 0, 'U' },
        { "socks-pass", 1, 0, 'W' }, { "list", 0, 0, 'l' }, { "serve", 1, 0, 's' },
        { "answer", 1, 0, 'a' }, { "count", 1, 0, 'N' }, { "ready", 1, 0, 'r' },
        { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0, 0, 0, 0 },
    };
    static cf_ctx ctx;
    ctx.timeout_ms = 3000;
    ctx.mptcp = true;
    ctx.syn_data = true;
    ctx.closed_port = 9;
    mpx_addr_parse("192.0.2.1:80", &ctx.unreach, 1);
    cf_serve_cfg sc = { .timeout_ms = 3000, .mptcp = true };
    const char *case_re = NULL, *serve = NULL;
    bool json = false, list = false, socks5 = false;
    int o;
    uint64_t v;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 't': {
            mpx_addr a;
            if (mpx_addr_parse(optarg, &a, 1) < 0) return bad("bad --target (A:P or [A6]:P)", optarg);
            if (a.family == MPX_AF_INET) { ctx.t4 = a; ctx.has_t4 = true; }
            else { ctx.t6 = a; ctx.has_t6 = true; }
            break;
        }
        case 'u':
            if (mpx_addr_parse(optarg, &ctx.unreach, 1) < 0) return bad("bad --unreachable", optarg);
            break;
        case 'p':
            if (mpx_parse_u64(optarg, 1, 65535, &v) < 0) return bad("bad --closed-port (1..65535)", optarg);
            ctx.closed_port = (uint16_t)v;
            break;
        case 'j': json = true; break;
        case 'c': case_re = optarg; break;
        case 'T':
            if (mpx_parse_u64(optarg, 1, 600000, &v) < 0) return bad("bad --timeout (ms, 1..600000)", optarg);
            ctx.timeout_ms = sc.timeout_ms = (int)v;
            break;
        case 'P': ctx.mptcp = sc.mptcp = false; break;
        case 'n': ctx.syn_data = false; break;
        case '5': socks5 = true; break;
        case 'U': ctx.socks_user = optarg; break;
        case 'W': ctx.socks_pass = optarg; break;
        case 'l': list = true; break;
        case 's': serve = optarg; break;
        case 'a': sc.answer = optarg; break;
        case 'N':
            if (mpx_parse_u64(optarg, 1, 1000000, &v) < 0) return bad("bad --count (1..1000000)", optarg);
            sc.count = (unsigned)v;
            break;
        case 'r': sc.ready = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("mpx-conform %s\n", MPX_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    size_t ncase;
    const cf_case *cs = cf_cases(&ncase);
    unsigned suite = socks5 ? CF_SUITE_SOCKS5 : CF_SUITE_CONVERT;
    regex_t re;
    if (case_re && regcomp(&re, case_re, REG_EXTENDED | REG_NOSUB) != 0) return bad("bad --case regex", case_re);
#define SELECTED(c) (((c)->suite & suite) && (!case_re || regexec(&re, (c)->id, 0, NULL, 0) == 0))
    if (list) {
        printf("%-20s %-4s %-24s %-6s %s\n", "CASE", "RFC", "SECTION", "LEVEL", "DESCRIPTION");
        for (size_t i = 0; i < ncase; i++)
            if (SELECTED(&cs[i]))
                printf("%-20s %-4s %-24s %-6s %s\n", cs[i].id, cs[i].rfc, cs[i].section,
                       cf_level_name(cs[i].level), cs[i].desc);
        return EXIT_OK;
    }
    if (serve) {
        if (optind != argc) return bad("--serve takes no converter address", argv[optind]);
        if (mpxa_addr_parse(serve, -1, &sc.listen) < 0) return bad("bad --serve address", serve);
        size_t na;
        const char *const *an = cf_answer_names(&na);
        bool known = false;
        for (size_t i = 0; sc.answer && i < na; i++) known |= !strcmp(an[i], sc.answer);
        if (!known) return bad("--serve needs --answer KIND (see --help)", sc.answer);
        sc.json = json;
        int rc = cf_serve(&sc);
        return rc == 3 ? EXIT_USAGE : rc;
    }
    if (optind + 1 != argc) { usage(stderr); return EXIT_USAGE; }
    if (mpxa_addr_parse(argv[optind], -1, &ctx.conv) < 0) return bad("bad converter address", argv[optind]);
    signal(SIGPIPE, SIG_IGN);

    /* setup check: the converter accepts connections at all (and MPTCP exists here) */
    int fd = mpxa_socket(mpxa_addr_family(&ctx.conv), ctx.mptcp, false);
    if (fd < 0 && ctx.mptcp) {
        ctx.mptcp = false;
        fd = mpxa_socket(mpxa_addr_family(&ctx.conv), false, false);
    }
    struct timeval tv = { ctx.timeout_ms / 1000, (ctx.timeout_ms % 1000) * 1000 };
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, &ctx.conv.u.sa, ctx.conv.len) < 0) {
        fprintf(stderr, "mpx-conform: cannot connect to %s: %s\n", argv[optind], strerror(errno));
        return EXIT_USAGE;
    }
    close(fd);

    char ta[2][MPX_ADDR_STRLEN] = { "-", "-" };
    if (ctx.has_t4) mpx_addr_format(&ctx.t4, true, ta[0], sizeof ta[0]);
    if (ctx.has_t6) mpx_addr_format(&ctx.t6, true, ta[1], sizeof ta[1]);
    if (json)
        printf("{\"converter\":\"%s\",\"suite\":\"%s\",\"mptcp\":%s,\"cases\":[", argv[optind],
               socks5 ? "socks5" : "rfc8803", ctx.mptcp ? "true" : "false");
    else
        printf("mpx-conform %s: %s %s over %s, targets %s %s\n", MPX_VERSION,
               socks5 ? "SOCKS5 server" : "RFC 8803 converter", argv[optind],
               ctx.mptcp ? "MPTCP" : "TCP", ta[0], ta[1]);
    unsigned npass = 0, nfail = 0, nna = 0, must_fail = 0, must_run = 0;
    bool first = true;
    for (size_t i = 0; i < ncase; i++) {
        const cf_case *c = &cs[i];
        if (!SELECTED(c)) continue;
        static cf_result r;
        memset(&r, 0, sizeof r);
        r.v = CF_FAIL;   /* a case that returns without a verdict failed to run */
        r.end = "-";
        bool syn_before = ctx.syn_data;
        c->run(&ctx, &r);
        if (!r.note[0]) cf_note(&r, "the case could not build or send its message");
        npass += r.v == CF_PASS;
        nfail += r.v == CF_FAIL;
        nna += r.v == CF_NA;
        if (c->level == CF_MUST && r.v != CF_NA) must_run++;
        if (c->level == CF_MUST && r.v == CF_FAIL) must_fail++;
        if (json) {
            printf("%s{\"id\":\"%s\",\"rfc\":\"%s\",\"section\":\"%s\",\"level\":\"%s\",\"verdict\":\"%s\","
                   "\"description\":", first ? "" : ",", c->id, c->rfc, c->section, cf_level_name(c->level),
                   cf_verdict_name(r.v));
            json_str(c->desc);
            printf(",\"note\":");
            json_str(r.note);
            printf(",\"tx_hex\":");
            json_hex(r.tx, r.txn);
            printf(",\"rx_hex\":");
            json_hex(r.rx, r.rxn);
            printf(",\"tx_len\":%zu,\"rx_len\":%zu,\"end\":\"%s\",\"transport\":\"%s\",\"syn_data\":%s}",
                   r.txn, r.rxn, r.end, r.transport ? r.transport : "-", r.syn_data_sent ? "true" : "false");
            first = false;
        } else {
            char tx[4 * HEX_SHOWN], rx[4 * HEX_SHOWN];
            hexline(r.tx, r.txn, tx, sizeof tx);
            hexline(r.rx, r.rxn, rx, sizeof rx);
            printf("%-4s %-6s %-19s RFC %s s%s: %s\n", cf_verdict_name(r.v), cf_level_name(c->level), c->id,
                   c->rfc, c->section, c->desc);
            printf("       tx %s%s\n       rx %s, connection %s\n       %s\n", tx,
                   r.syn_data_sent ? " [SYN data]" : "", rx, r.end, r.note);
        }
        if (syn_before && !ctx.syn_data && !json)
            printf("       (the kernel refused MSG_FASTOPEN: later cases send after the handshake)\n");
    }
    int rc = must_fail ? EXIT_MUST : EXIT_OK;
    if (json)
        printf("],\"summary\":{\"pass\":%u,\"fail\":%u,\"na\":%u,\"must_run\":%u,\"must_fail\":%u},\"exit\":%d}\n",
               npass, nfail, nna, must_run, must_fail, rc);
    else
        printf("summary: %u pass, %u fail, %u n/a; MUST: %u of %u passed\n", npass, nfail, nna,
               must_run - must_fail, must_run);
    if (case_re) regfree(&re);
    return rc;
}
