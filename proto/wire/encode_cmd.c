/* mpx-wire encode ...: builds Convert, MP_CONVERT payload and SOCKS5 messages, prints hex. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/convert.h"
#include "proto/exid.h"
#include "proto/ippkt.h"
#include "proto/mpconvert.h"
#include "proto/mpopt.h"
#include "proto/socks5.h"
#include "proto/wire/wire.h"

static int emit(bool json, const char *what, const uint8_t *p, size_t n)
{
    if (json) {
        printf("{\"type\":\"encode\",\"what\":\"%s\",\"ok\":true,\"len\":%zu,\"hex\":", what, n);
        j_hex(stdout, p, n);
        puts("}");
    } else {
        for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
        putchar('\n');
    }
    return WX_OK;
}

/* Encoder refused the input: that is an invalid request (exit 1, rule printed). */
static int enc_fail(bool json, const char *what, const mpx_err *e)
{
    if (json) {
        printf("{\"type\":\"encode\",\"what\":\"%s\",\"ok\":false,", what);
        j_err(stdout, e);
        puts("}");
    } else {
        h_invalid(stdout, e);
    }
    return WX_INVALID;
}

static int num(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    if (!s || !*s) return -1;
    *v = strtoul(s, &end, 0);
    return (*end || *v > max) ? -1 : 0;
}

static int bad_arg(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "mpx-wire encode: %s '%s': %s\n", opt, val ? val : "", want);
    return WX_USAGE;
}

static const struct option common_end = { 0, 0, 0, 0 };

/* ---- encode convert ---- */
static int enc_convert(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "connect", required_argument, 0, 'c' },
        { "cookie", required_argument, 0, 'k' }, { "ext-opt", required_argument, 0, 'o' },
        { "info", no_argument, 0, 'i' }, { "data", required_argument, 0, 'd' },
        { "help", no_argument, 0, 'h' }, common_end,
    };
    static uint8_t cookie[1024], vals[MPX_CONV_MAX_OPTS][256], out[W_MAXBUF];
    bool json = false;
    const char *data = NULL;
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c':
            if (mpx_addr_parse(optarg, &m.connect.addr, 1) < 0)
                return bad_arg("--connect", optarg, "want A:P, e.g. 192.0.2.1:80 or [fd00::1]:80");
            m.has_connect = true;
            break;
        case 'k': {
            long n = w_hex_arg(optarg, cookie, sizeof cookie);
            if (n <= 0) return bad_arg("--cookie", optarg, "want 1..1012 bytes of hex");
            m.has_cookie = true;
            m.cookie = cookie;
            m.cookie_len = (size_t)n;
            break;
        }
        case 'o': {
            if (m.connect.nopts >= MPX_CONV_MAX_OPTS) return bad_arg("--ext-opt", optarg, "too many options");
            mpx_conv_opt *o = &m.connect.opts[m.connect.nopts];
            char kb[8];
            const char *colon = strchr(optarg, ':');
            size_t kl = colon ? (size_t)(colon - optarg) : strlen(optarg);
            unsigned long k;
            if (kl >= sizeof kb) return bad_arg("--ext-opt", optarg, "want KIND[:HEX]");
            memcpy(kb, optarg, kl);
            kb[kl] = 0;
            if (num(kb, 255, &k) < 0) return bad_arg("--ext-opt", optarg, "KIND is 0..255");
            o->kind = (uint8_t)k;
            if (colon) {
                long n = w_hex_arg(colon + 1, vals[m.connect.nopts], 253);
                if (n < 0) return bad_arg("--ext-opt", optarg, "value is up to 253 bytes of hex");
                o->vlen = (uint8_t)n;
                o->val = n ? vals[m.connect.nopts] : NULL;
            }
            m.connect.nopts++;
            m.connect.extended = true;
            break;
        }
        case 'i': m.has_info = true; break;
        case 'd': data = optarg; break;
        case 'h':
            puts("usage: mpx-wire encode convert --connect A:P [--cookie HEX] [--ext-opt KIND[:HEX]]... [--info]\n"
                 "                               [--data TEXT] [--json]\n"
                 "Client SYN payload: Convert header, [Info], Connect (Extended when --ext-opt is given:\n"
                 "KIND alone = converter chooses the value, KIND:HEX = value copied), [Cookie], then TEXT.");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc) return bad_arg("argument", argv[optind], "unexpected");
    if (!m.has_connect && !m.has_info && !m.has_cookie)
        return bad_arg("--connect", "", "missing (or give --info)");
    if (!m.has_connect && m.connect.nopts) return bad_arg("--ext-opt", "", "needs --connect");
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_conv_encode(&m, out, sizeof out, &e);
    if (n < 0) return enc_fail(json, "convert", &e);
    size_t dl = data ? strlen(data) : 0;
    if ((size_t)n + dl > sizeof out) return bad_arg("--data", "", "too long");
    memcpy(out + n, data ? data : "", dl);
    return emit(json, "convert", out, (size_t)n + dl);
}

/* ---- encode convert-reply ---- */
static int error_code_arg(const char *s, uint8_t *code)
{
    static const struct { const char *name; uint8_t code; } names[] = {
        { "unsupported-version", 0 }, { "malformed", 1 }, { "unsupported-message", 2 },
        { "missing-cookie", 3 }, { "not-authorized", 32 }, { "unsupported-option", 33 },
        { "resource-exceeded", 64 }, { "network-failure", 65 }, { "reset", 96 },
        { "connection-reset", 96 }, { "unreachable", 97 }, { "destination-unreachable", 97 },
    };
    unsigned long v;
    if (num(s, 255, &v) == 0) { *code = (uint8_t)v; return 0; }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) { *code = names[i].code; return 0; }
    return -1;
}

static int enc_convert_reply(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "error", required_argument, 0, 'e' },
        { "value", required_argument, 0, 'v' }, { "ext-hdr", required_argument, 0, 'x' },
        { "supported", required_argument, 0, 's' }, { "help", no_argument, 0, 'h' }, common_end,
    };
    static uint8_t value[1024], ext[1024], sup[256], out[W_MAXBUF];
    bool json = false, have_value = false;
    long vlen = 0;
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'e':
            if (error_code_arg(optarg, &m.error.code) < 0)
                return bad_arg("--error", optarg, "want 0..255 or a name (malformed, missing-cookie, reset, unreachable, ...)");
            m.has_error = true;
            break;
        case 'v':
            vlen = w_hex_arg(optarg, value, sizeof value);
            if (vlen < 0) return bad_arg("--value", optarg, "want hex");
            have_value = true;
            break;
        case 'x': {
            long n = w_hex_arg(optarg, ext, sizeof ext);
            if (n < 0) return bad_arg("--ext-hdr", optarg, "want hex TCP options");
            m.has_ext_hdr = true;
            m.ext_hdr = ext;
            m.ext_hdr_len = (size_t)n;
            break;
        }
        case 's': {
            char *save = NULL, *tok, tmp[1024];
            snprintf(tmp, sizeof tmp, "%s", optarg);
            m.has_supported = true;
            m.supported = sup;
            for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                unsigned long k;
                if (num(tok, 255, &k) < 0 || m.supported_len >= sizeof sup) return bad_arg("--supported", optarg, "want K,K,... (0..255)");
                sup[m.supported_len++] = (uint8_t)k;
            }
            break;
        }
        case 'h':
            puts("usage: mpx-wire encode convert-reply [--error CODE [--value HEX]] [--ext-hdr HEX] [--supported K,K..] [--json]\n"
                 "Converter reply. Without options: the bare header 01012263 (success of a Base Connect).\n"
                 "--value by code: 0 versions list, 1/2 echoed message, 3 cookie, 33 option kinds,\n"
                 "64/65 one byte of seconds to wait, 97 one byte ICMP code; others 0.");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc) return bad_arg("argument", argv[optind], "unexpected");
    if (have_value && !m.has_error) return bad_arg("--value", "", "needs --error");
    if (m.has_error) {
        mpx_conv_error *er = &m.error;
        switch (er->code) {
        case MPX_CONV_E_RESOURCE_EXCEEDED:
        case MPX_CONV_E_NETWORK_FAILURE:
            if (vlen > 1) return bad_arg("--value", "", "one byte (seconds)");
            er->wait_s = vlen ? value[0] : 0;
            break;
        case MPX_CONV_E_DEST_UNREACHABLE:
            if (vlen > 1) return bad_arg("--value", "", "one byte (ICMP code)");
            er->icmp_code = vlen ? value[0] : 0;
            break;
        default:
            er->data = value;
            er->data_len = (size_t)vlen;
            er->raw = value;
            er->raw_len = (size_t)vlen;
            break;
        }
    }
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_conv_encode(&m, out, sizeof out, &e);
    if (n < 0) return enc_fail(json, "convert-reply", &e);
    return emit(json, "convert-reply", out, (size_t)n);
}

/* ---- encode mpconvert ---- */
static int enc_mpconvert(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "target", required_argument, 0, 't' },
        { "source", required_argument, 0, 's' }, { "ie", no_argument, 0, 'i' },
        { "subtype", required_argument, 0, 'S' }, { "proto", required_argument, 0, 'p' },
        { "data", required_argument, 0, 'd' }, { "help", no_argument, 0, 'h' }, common_end,
    };
    static uint8_t out[W_MAXBUF];
    bool json = false, ie = false, have_t = false, have_s = false;
    mpx_mpconv t, s;
    memset(&t, 0, sizeof t);
    memset(&s, 0, sizeof s);
    s.d = true;
    const char *data = NULL;
    unsigned long v;
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 't':
        case 's': {
            mpx_mpconv *x = c == 't' ? &t : &s;
            if (mpx_addr_parse(optarg, &x->addr, 0) < 0)
                return bad_arg(c == 't' ? "--target" : "--source", optarg, "want A or A:P");
            x->has_port = strchr(optarg, ']') ? strstr(optarg, "]:") != NULL
                                              : (strchr(optarg, ':') && strchr(optarg, ':') == strrchr(optarg, ':'));
            if (c == 't') have_t = true; else have_s = true;
            break;
        }
        case 'i': ie = true; break;
        case 'S':
            if (num(optarg, 15, &v) < 0 || v == 0) return bad_arg("--subtype", optarg, "1..15");
            t.subtype = s.subtype = (uint8_t)v;
            break;
        case 'p':
            if (num(optarg, 255, &v) < 0 || v == 0) return bad_arg("--proto", optarg, "1..255");
            t.protocol = s.protocol = (uint8_t)v;
            break;
        case 'd': data = optarg; break;
        case 'h':
            puts("usage: mpx-wire encode mpconvert --target A[:P] [--source A[:P]] [--ie] [--subtype N] [--proto N]\n"
                 "                                 [--data TEXT] [--json]\n"
                 "SYN payload with MP_CONVERT: default the -09 form (option bytes, EOL, data), --ie the -10\n"
                 "Information Element form. The source instance (D=1) goes first.");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc) return bad_arg("argument", argv[optind], "unexpected");
    if (!have_t) return bad_arg("--target", "", "missing");
    mpx_mpconv set[2];
    size_t n = 0;
    if (have_s) set[n++] = s;
    set[n++] = t;
    mpx_err e;
    mpx_err_clear(&e);
    long w = ie ? mpx_mpconv_encode_ie(set, n, out, sizeof out, &e) : mpx_mpconv_encode_09(set, n, out, sizeof out, &e);
    if (w < 0) return enc_fail(json, "mpconvert", &e);
    size_t dl = data ? strlen(data) : 0;
    if ((size_t)w + dl > sizeof out) return bad_arg("--data", "", "too long");
    memcpy(out + w, data ? data : "", dl);
    return emit(json, ie ? "mpconvert-ie" : "mpconvert", out, (size_t)w + dl);
}

/* ---- encode socks5 ---- */
static int enc_socks5(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "methods", required_argument, 0, 'M' },
        { "method", required_argument, 0, 'm' }, { "connect", required_argument, 0, 'c' },
        { "domain", required_argument, 0, 'D' }, { "cmd", required_argument, 0, 'C' },
        { "rep", required_argument, 0, 'r' }, { "bind", required_argument, 0, 'b' },
        { "user", required_argument, 0, 'u' }, { "pass", required_argument, 0, 'p' },
        { "status", required_argument, 0, 's' }, { "help", no_argument, 0, 'h' }, common_end,
    };
    static uint8_t out[1024];
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) goto help;
        return bad_arg("socks5", argc >= 2 ? argv[1] : "", "want greeting|choice|request|reply|auth|auth-reply");
    }
    const char *what = argv[1];
    argc--; argv++;
    bool json = false, have_dst = false;
    uint8_t methods[255] = { 0 };
    size_t nmethods = 1;
    unsigned long v, method = 0, status = 0;
    const char *user = NULL, *pass = NULL;
    mpx_s5_msg m;
    memset(&m, 0, sizeof m);
    m.code = MPX_S5_CMD_CONNECT;
    uint8_t rep = 0;
    mpx_addr bind = mpx_addr_v4(0, 0);
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'M': {
            char tmp[1024], *save = NULL, *tok;
            snprintf(tmp, sizeof tmp, "%s", optarg);
            nmethods = 0;
            for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (num(tok, 255, &v) < 0 || nmethods >= 255) return bad_arg("--methods", optarg, "want M,M,... (0..255)");
                methods[nmethods++] = (uint8_t)v;
            }
            break;
        }
        case 'm': if (num(optarg, 255, &method) < 0) return bad_arg("--method", optarg, "0..255"); break;
        case 'c':
            if (mpx_addr_parse(optarg, &m.addr, 1) < 0) return bad_arg("--connect", optarg, "want A:P");
            m.port = m.addr.port;
            have_dst = true;
            break;
        case 'D': {
            const char *colon = strrchr(optarg, ':');
            if (!colon || colon == optarg || (size_t)(colon - optarg) > 255 || num(colon + 1, 65535, &v) < 0)
                return bad_arg("--domain", optarg, "want NAME:PORT");
            m.atyp = MPX_S5_ATYP_DOMAIN;
            m.domain_len = (uint8_t)(colon - optarg);
            memcpy(m.domain, optarg, m.domain_len);
            m.port = (uint16_t)v;
            have_dst = true;
            break;
        }
        case 'C':
            if (!strcmp(optarg, "connect")) m.code = MPX_S5_CMD_CONNECT;
            else if (!strcmp(optarg, "bind")) m.code = MPX_S5_CMD_BIND;
            else if (!strcmp(optarg, "udp")) m.code = MPX_S5_CMD_UDP;
            else if (num(optarg, 255, &v) == 0) m.code = (uint8_t)v;
            else return bad_arg("--cmd", optarg, "connect|bind|udp|N");
            break;
        case 'r': if (num(optarg, 255, &v) < 0) return bad_arg("--rep", optarg, "0..255"); rep = (uint8_t)v; break;
        case 'b': if (mpx_addr_parse(optarg, &bind, 1) < 0) return bad_arg("--bind", optarg, "want A:P"); break;
        case 'u': user = optarg; break;
        case 'p': pass = optarg; break;
        case 's': if (num(optarg, 255, &status) < 0) return bad_arg("--status", optarg, "0..255"); break;
        case 'h': goto help;
        default: return WX_USAGE;
        }
    }
    if (optind != argc) return bad_arg("argument", argv[optind], "unexpected");
    mpx_err e;
    mpx_err_clear(&e);
    long n;
    if (!strcmp(what, "greeting")) n = mpx_s5_encode_greeting(methods, nmethods, out, sizeof out, &e);
    else if (!strcmp(what, "choice")) n = mpx_s5_encode_choice((uint8_t)method, out, sizeof out, &e);
    else if (!strcmp(what, "request")) {
        if (!have_dst) return bad_arg("--connect/--domain", "", "missing");
        n = mpx_s5_encode_request(&m, out, sizeof out, &e);
    } else if (!strcmp(what, "reply")) {
        mpx_s5_msg r;
        memset(&r, 0, sizeof r);
        r.code = rep;
        r.addr = bind;
        r.port = bind.port;
        n = mpx_s5_encode_reply(&r, out, sizeof out, &e);
    } else if (!strcmp(what, "auth")) {
        if (!user || !pass) return bad_arg("--user/--pass", "", "both needed");
        n = mpx_s5_encode_auth(user, pass, out, sizeof out, &e);
    } else if (!strcmp(what, "auth-reply")) n = mpx_s5_encode_auth_reply((uint8_t)status, out, sizeof out, &e);
    else return bad_arg("socks5", what, "want greeting|choice|request|reply|auth|auth-reply");
    if (n < 0) return enc_fail(json, "socks5", &e);
    return emit(json, "socks5", out, (size_t)n);
help:
    puts("usage: mpx-wire encode socks5 TYPE [options] [--json]\n"
         "  greeting   [--methods M,M..]             (default 0 = no authentication)\n"
         "  choice     [--method M]\n"
         "  request    --connect A:P | --domain NAME:PORT [--cmd connect|bind|udp|N]\n"
         "  reply      [--rep N] [--bind A:P]        (default 0 succeeded, 0.0.0.0:0)\n"
         "  auth       --user U --pass P             (RFC 1929)\n"
         "  auth-reply [--status N]");
    return WX_OK;
}

/* ---- encode option: single TCP / IP options, so shell never spells option bytes ---- */
static int enc_option(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "subtype", required_argument, 0, 'S' },
        { "exp253", no_argument, 0, 'x' }, { "target", required_argument, 0, 't' },
        { "from", required_argument, 0, 'f' },
        { "help", no_argument, 0, 'h' }, common_end,
    };
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) goto help;
        return bad_arg("option", argc >= 2 ? argv[1] : "", "want prefer|mpconvert|ra|exp253");
    }
    const char *what = argv[1];
    argc--; argv++;
    bool json = false, exp253 = false, have_t = false, have_s = false;
    uint8_t subtype = MPX_MPOPT_SUBTYPE_DEFAULT;
    mpx_addr target;
    memset(&target, 0, sizeof target);
    bool target_port = false;
    const char *from = NULL;
    unsigned long v;
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'S':
            if (num(optarg, 15, &v) < 0 || v == 0) return bad_arg("--subtype", optarg, "1..15");
            subtype = (uint8_t)v;
            have_s = true;
            break;
        case 'x': exp253 = true; break;
        case 'f': from = optarg; break;
        case 't':
            if (mpx_addr_parse(optarg, &target, 0) < 0) return bad_arg("--target", optarg, "want A or A:P");
            target_port = strchr(optarg, ']') ? strstr(optarg, "]:") != NULL
                                              : (strchr(optarg, ':') && strchr(optarg, ':') == strrchr(optarg, ':'));
            have_t = true;
            break;
        case 'h': goto help;
        default: return WX_USAGE;
        }
    }
    if (optind != argc) return bad_arg("argument", argv[optind], "unexpected");
    uint8_t opt[64], out[64];
    mpx_wr w = mpx_wr_init(opt, sizeof opt);
    char name[32];
    if (!strcmp(what, "ra")) {
        if (exp253 || have_t || have_s || from) return bad_arg("ra", "", "takes no options but --json");
        return emit(json, "option-ra", mpx_ipopt_ra, sizeof mpx_ipopt_ra);
    } else if (!strcmp(what, "exp253")) {
        if (!from || have_t || have_s) return bad_arg("exp253", "", "takes --from HEX only");
        long n = w_hex_arg(from, opt, sizeof opt);
        if (n < 0) return WX_USAGE;
        w.len = (size_t)n;
        exp253 = true;
    } else if (!strcmp(what, "prefer")) {
        if (have_t) return bad_arg("--target", "", "only for mpconvert");
        mpx_prefer_proxy pp = { .subtype = subtype, .rsv = 0 };
        mpx_prefer_proxy_encode(&pp, &w);
    } else if (!strcmp(what, "mpconvert")) {
        if (!have_t) return bad_arg("--target", "", "missing");
        mpx_mpconvert m;
        mpx_mpconvert_init(&m);
        m.subtype = subtype;
        m.family = target.family;
        memcpy(m.addr, target.a, sizeof m.addr);
        m.has_port = target_port;
        m.port = target.port;
        mpx_mpconvert_encode(&m, &w);
    } else {
        return bad_arg("option", what, "want prefer|mpconvert|ra|exp253");
    }
    if (from && strcmp(what, "exp253")) return bad_arg("--from", from, "only for exp253");
    snprintf(name, sizeof name, "option-%s%s", what, exp253 && strcmp(what, "exp253") ? "-exp253" : "");
    if (w.overflow) return bad_arg("option", what, "does not fit");
    if (!exp253) return emit(json, name, opt, w.len);
    mpx_wr x = mpx_wr_init(out, sizeof out);
    if (mpx_exp253_wrap(opt, w.len, &x) < 0)
        return bad_arg("--exp253", "", "want one well-formed kind-30 option of up to 37 bytes");
    return emit(json, name, out, x.len);
help:
    puts("usage: mpx-wire encode option prefer|mpconvert|ra|exp253 [options] [--json]\n"
         "One option's bytes (hex):\n"
         "  prefer    [--subtype N] [--exp253]                MP_PREFER_PROXY, kind 30 (1e 04 e0 00)\n"
         "  mpconvert --target A[:P] [--subtype N] [--exp253] MP_CONVERT (-09 layout), kind 30\n"
         "  ra                                                IPv4 Router Alert (94 04 00 00)\n"
         "  exp253    --from HEX                              the kind-253 form of the kind-30 option HEX\n"
         "--subtype 1..15 (default 14); --exp253 gives the RFC 6994 form: fd LEN 4d50, then the\n"
         "kind-30 option's bytes after its kind and length (proto/exid.h).");
    return WX_OK;
}

int cmd_encode(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        puts("usage: mpx-wire encode convert|convert-reply|mpconvert|socks5|option [options] (each has --help)");
        return argc < 2 ? WX_USAGE : WX_OK;
    }
    const char *w = argv[1];
    if (!strcmp(w, "convert")) return enc_convert(argc - 1, argv + 1);
    if (!strcmp(w, "convert-reply")) return enc_convert_reply(argc - 1, argv + 1);
    if (!strcmp(w, "mpconvert")) return enc_mpconvert(argc - 1, argv + 1);
    if (!strcmp(w, "socks5")) return enc_socks5(argc - 1, argv + 1);
    if (!strcmp(w, "option")) return enc_option(argc - 1, argv + 1);
    fprintf(stderr, "mpx-wire encode: unknown message '%s'\n", w);
    return WX_USAGE;
}
