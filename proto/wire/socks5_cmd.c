/* mpx-wire socks5 HEX: SOCKSv5 / RFC 1929 stream printer (one direction of a connection). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "proto/socks5.h"
#include "proto/wire/wire.h"

enum { M_GREETING, M_CHOICE, M_REQUEST, M_REPLY, M_AUTH, M_AUTH_REPLY };
static const char *const msg_names[] = { "greeting", "choice", "request", "reply", "auth", "auth-reply" };

typedef struct {
    bool json;
    int  nout;  /* messages printed (JSON comma handling) */
} s5out;

static void addr_text(const mpx_s5_msg *m, char *out, size_t cap)
{
    char a[MPX_ADDR_STRLEN];
    if (m->atyp == MPX_S5_ATYP_DOMAIN) snprintf(out, cap, "%s", m->domain);
    else mpx_addr_format(&m->addr, false, a, sizeof a), snprintf(out, cap, "%s", a);
}

/* Decodes one message of type t at p; prints it; returns bytes used, 0 need more, -1 bad. */
static long one(int t, const uint8_t *p, size_t len, size_t off, s5out *o, mpx_err *e, uint8_t *method)
{
    mpx_s5_greeting g;
    mpx_s5_msg m;
    mpx_s5_auth a;
    uint8_t v = 0;
    int r;
    size_t used = 0;
    switch (t) {
    case M_GREETING: r = mpx_s5_decode_greeting(p, len, &g, e); used = g.len; break;
    case M_CHOICE: r = mpx_s5_decode_choice(p, len, &v, e); used = 2; break;
    case M_REQUEST: r = mpx_s5_decode_request(p, len, &m, e); used = m.len; break;
    case M_REPLY: r = mpx_s5_decode_reply(p, len, &m, e); used = m.len; break;
    case M_AUTH: r = mpx_s5_decode_auth(p, len, &a, e); used = a.len; break;
    default: r = mpx_s5_decode_auth_reply(p, len, &v, e); used = 2; break;
    }
    if (r == MPX_DEC_MORE) return 0;
    if (r == MPX_DEC_BAD) return -1;
    if (method) *method = v;
    char at[300];
    if (o->json) {
        printf("%s{\"msg\":\"%s\",\"off\":%zu,\"len\":%zu", o->nout++ ? "," : "", msg_names[t], off, used);
        switch (t) {
        case M_GREETING:
            fputs(",\"methods\":[", stdout);
            for (size_t i = 0; i < g.nmethods; i++) printf("%s%u", i ? "," : "", g.methods[i]);
            putchar(']');
            break;
        case M_CHOICE:
            printf(",\"method\":%u,\"method_name\":", v);
            j_str(stdout, mpx_s5_method_name(v));
            break;
        case M_REQUEST:
        case M_REPLY:
            addr_text(&m, at, sizeof at);
            printf(",\"%s\":%u,\"%s\":", t == M_REQUEST ? "cmd" : "rep", m.code, t == M_REQUEST ? "cmd_name" : "rep_name");
            j_str(stdout, t == M_REQUEST ? mpx_s5_cmd_name(m.code) : mpx_s5_rep_name(m.code));
            printf(",\"atyp\":%u,\"addr\":", m.atyp);
            j_str(stdout, at);
            printf(",\"port\":%u", m.port);
            break;
        case M_AUTH:
            fputs(",\"user\":", stdout);
            j_strn(stdout, a.user, a.ulen);
            fputs(",\"pass\":", stdout);
            j_strn(stdout, a.pass, a.plen);
            break;
        default:
            printf(",\"status\":%u,\"success\":%s", v, v == 0 ? "true" : "false");
            break;
        }
        putchar('}');
        return (long)used;
    }
    printf("  @%-3zu %s: ", off, msg_names[t]);
    switch (t) {
    case M_GREETING:
        printf("%u method%s:", g.nmethods, g.nmethods > 1 ? "s" : "");
        for (size_t i = 0; i < g.nmethods; i++)
            printf("%s 0x%02x %s", i ? "," : "", g.methods[i], mpx_s5_method_name(g.methods[i]));
        break;
    case M_CHOICE:
        printf("method 0x%02x %s", v, mpx_s5_method_name(v));
        break;
    case M_REQUEST:
        addr_text(&m, at, sizeof at);
        printf("%s %s %s port %u", mpx_s5_cmd_name(m.code), mpx_s5_atyp_name(m.atyp), at, m.port);
        break;
    case M_REPLY:
        addr_text(&m, at, sizeof at);
        printf("%u %s, bound %s %s port %u", m.code, mpx_s5_rep_name(m.code), mpx_s5_atyp_name(m.atyp), at, m.port);
        break;
    case M_AUTH:
        printf("username/password, user \"%s\" (%u bytes), password %u bytes", a.user, a.ulen, a.plen);
        break;
    default:
        printf("status %u (%s)", v, v == 0 ? "success" : "failure: server closes");
        break;
    }
    putchar('\n');
    return (long)used;
}

int cmd_socks5(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "client", no_argument, 0, 'c' },
        { "server", no_argument, 0, 's' }, { "msg", required_argument, 0, 'm' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    bool json = false, server = false;
    int single = -1, c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c': server = false; break;
        case 's': server = true; break;
        case 'm':
            for (int i = 0; i < 6; i++) if (!strcmp(optarg, msg_names[i])) single = i;
            if (single < 0) { fprintf(stderr, "mpx-wire: --msg greeting|choice|request|reply|auth|auth-reply\n"); return WX_USAGE; }
            break;
        case 'h':
            puts("usage: mpx-wire socks5 HEX [--client|--server|--msg TYPE] [--json]\n"
                 "Decodes one direction of a SOCKSv5 exchange (RFC 1928, RFC 1929 auth):\n"
                 "  --client  (default) greeting [auth request] request\n"
                 "  --server  method choice [auth reply] reply\n"
                 "  --msg T   a single message: greeting|choice|request|reply|auth|auth-reply\n"
                 "exit: 0 valid, 1 invalid or truncated (rule ID printed), 2 usage");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc - 1) { fprintf(stderr, "usage: mpx-wire socks5 HEX [options] (see --help)\n"); return WX_USAGE; }
    static uint8_t buf[W_MAXBUF];
    long n = w_hex_arg(argv[optind], buf, sizeof buf);
    if (n < 0) return WX_USAGE;

    int seq[3], nseq = 0;
    if (single >= 0) seq[nseq++] = single;
    else if (server) { seq[nseq++] = M_CHOICE; seq[nseq++] = M_AUTH_REPLY; seq[nseq++] = M_REPLY; }
    else { seq[nseq++] = M_GREETING; seq[nseq++] = M_AUTH; seq[nseq++] = M_REQUEST; }

    s5out o = { .json = json };
    mpx_err e;
    mpx_err_clear(&e);
    size_t off = 0;
    bool ok = true, more = false;
    uint8_t method = 0;
    if (json) printf("{\"type\":\"socks5\",\"dir\":\"%s\",\"messages\":[", single >= 0 ? "single" : server ? "server" : "client");
    else printf("SOCKS5 %s, %ld bytes\n", single >= 0 ? msg_names[single] : server ? "server->client stream" : "client->server stream", n);
    for (int i = 0; i < nseq && ok; i++) {
        int t = seq[i];
        /* the auth step is optional: present when the next byte is the sub-negotiation version */
        if ((t == M_AUTH || t == M_AUTH_REPLY) && single < 0) {
            if (off >= (size_t)n || buf[off] != MPX_S5_AUTH_VERSION) continue;
            if (t == M_AUTH_REPLY && method != MPX_S5_M_USERPASS) continue;
        }
        if (off >= (size_t)n && i > 0) break;  /* a stream may stop after any message */
        long r = one(t, buf + off, (size_t)n - off, off, &o, &e, t == M_CHOICE ? &method : NULL);
        if (r <= 0) {
            ok = false;
            more = r == 0;
            e.off += off;
            break;
        }
        off += (size_t)r;
    }
    size_t trailing = ok ? (size_t)n - off : 0;
    if (json) {
        printf("],\"ok\":%s,\"trailing\":%zu", ok ? "true" : "false", trailing);
        if (!ok) {
            putchar(',');
            j_err(stdout, &e);
            printf(",\"need_more\":%s,\"reply_code\":%d", more ? "true" : "false", mpx_s5_rule_reply(e.rule));
        }
        puts("}");
    } else if (!ok) {
        h_invalid(stdout, &e);
        int rc = mpx_s5_rule_reply(e.rule);
        if (rc >= 0) printf("server answers: reply %d (%s) and closes\n", rc, mpx_s5_rep_name((uint8_t)rc));
    } else if (trailing) {
        printf("trailing data: %zu bytes: ", trailing);
        h_preview(stdout, buf + off, trailing);
        putchar('\n');
    }
    return ok ? WX_OK : WX_INVALID;
}
