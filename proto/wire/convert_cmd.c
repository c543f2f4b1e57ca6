/* mpx-wire convert HEX: RFC 8803 Convert message printer. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "proto/convert.h"
#include "proto/tcpopt.h"
#include "proto/wire/wire.h"

static void h_opts_list(FILE *f, const mpx_conv_connect *c)
{
    for (size_t i = 0; i < c->nopts; i++) {
        const mpx_conv_opt *o = &c->opts[i];
        fprintf(f, "%s%s(%u)", i ? ", " : "", mpx_tcpopt_name(o->kind), o->kind);
        if (o->vlen) { fputs(" value ", f); h_hex(f, o->val, o->vlen); }
        else fputs(" no value (converter chooses)", f);
    }
}

static void h_error(FILE *f, const mpx_conv_error *er)
{
    fprintf(f, "code %u %s", er->code, mpx_conv_error_name(er->code));
    switch (er->code) {
    case MPX_CONV_E_UNSUPPORTED_VERSION:
        fputs(", supported versions:", f);
        for (size_t i = 0; i < er->data_len; i++) fprintf(f, " %u", er->data[i]);
        break;
    case MPX_CONV_E_UNSUPPORTED_OPTION:
        fputs(", unsupported kinds:", f);
        for (size_t i = 0; i < er->data_len; i++) fprintf(f, " %u(%s)", er->data[i], mpx_tcpopt_name(er->data[i]));
        break;
    case MPX_CONV_E_MALFORMED:
    case MPX_CONV_E_UNSUPPORTED_MESSAGE:
        fprintf(f, ", echo of %zu bytes", er->data_len);
        if (er->data_len) { fputs(": ", f); h_hex(f, er->data, er->data_len); }
        break;
    case MPX_CONV_E_MISSING_COOKIE:
        fprintf(f, ", cookie (%zu bytes incl. padding): ", er->data_len);
        h_hex(f, er->data, er->data_len);
        break;
    case MPX_CONV_E_RESOURCE_EXCEEDED:
    case MPX_CONV_E_NETWORK_FAILURE:
        if (er->wait_s) fprintf(f, ", retry after %u s", er->wait_s);
        else fputs(", retry after the default (>= 30 s)", f);
        break;
    case MPX_CONV_E_DEST_UNREACHABLE:
        fprintf(f, ", ICMP code %u", er->icmp_code);
        break;
    default:
        break;
    }
}

static void human(const mpx_conv_msg *m, const uint8_t *p, size_t len)
{
    printf("Convert message: version %u, total length %u words = %zu bytes, magic 0x%04x\n",
           m->version, m->total_words, m->conv_len, MPX_CONV_MAGIC);
    for (size_t i = 0; i < m->ntlv; i++) {
        uint8_t type = m->tlv[i].type;
        printf("  @%-3u %s TLV (type %u, %u word%s = %u bytes): ", m->tlv[i].off, mpx_conv_tlv_name(type),
               type, m->tlv[i].words, m->tlv[i].words == 1 ? "" : "s", 4u * m->tlv[i].words);
        char a[MPX_ADDR_STRLEN];
        switch (type) {
        case MPX_CONV_TLV_INFO:
            fputs("request the converter's supported TCP extensions", stdout);
            break;
        case MPX_CONV_TLV_CONNECT:
            printf("%s Connect to %s port %u", m->connect.extended ? "Extended" : "Base",
                   mpx_addr_format(&m->connect.addr, false, a, sizeof a), m->connect.addr.port);
            if (m->connect.addr.family == MPX_AF_INET) fputs(" (IPv4-mapped)", stdout);
            if (m->connect.nopts) { fputs("; options: ", stdout); h_opts_list(stdout, &m->connect); }
            break;
        case MPX_CONV_TLV_EXT_HDR: {
            mpx_tcpopts o;
            char buf[1024];
            mpx_tcpopt_walk(m->ext_hdr, m->ext_hdr_len, &o);
            mpx_tcpopts_format(&o, MPX_TH_SYN | MPX_TH_ACK, buf, sizeof buf);
            printf("server SYN+ACK options [%s]", buf);
            break;
        }
        case MPX_CONV_TLV_SUPPORTED:
            fputs("kinds", stdout);
            for (size_t k = 0; k < m->supported_len; k++)
                printf(" %u(%s)", m->supported[k], mpx_tcpopt_name(m->supported[k]));
            break;
        case MPX_CONV_TLV_COOKIE:
            printf("cookie of %zu bytes: ", m->cookie_len);
            h_hex(stdout, m->cookie, m->cookie_len);
            break;
        case MPX_CONV_TLV_ERROR:
            h_error(stdout, &m->error);
            break;
        }
        putchar('\n');
    }
    if (!m->ntlv) puts("  (no TLV: bare header, e.g. a converter's success reply to a Base Connect)");
    size_t dl = len - m->data_off;
    printf("user data: %zu bytes at offset %zu", dl, m->data_off);
    if (dl) { fputs(": ", stdout); h_preview(stdout, p + m->data_off, dl); }
    putchar('\n');
}

static void json_tlvs(const mpx_conv_msg *m)
{
    fputs("\"tlvs\":[", stdout);
    for (size_t i = 0; i < m->ntlv; i++) {
        uint8_t type = m->tlv[i].type;
        printf("%s{\"type\":%u,\"name\":", i ? "," : "", type);
        j_str(stdout, mpx_conv_tlv_name(type));
        printf(",\"off\":%u,\"words\":%u", m->tlv[i].off, m->tlv[i].words);
        char a[MPX_ADDR_STRLEN];
        switch (type) {
        case MPX_CONV_TLV_CONNECT:
            fputs(",\"addr\":", stdout);
            j_str(stdout, mpx_addr_format(&m->connect.addr, false, a, sizeof a));
            printf(",\"family\":%u,\"port\":%u,\"extended\":%s,\"options\":[", m->connect.addr.family,
                   m->connect.addr.port, m->connect.extended ? "true" : "false");
            for (size_t k = 0; k < m->connect.nopts; k++) {
                printf("%s{\"kind\":%u,\"value\":", k ? "," : "", m->connect.opts[k].kind);
                if (m->connect.opts[k].vlen) j_hex(stdout, m->connect.opts[k].val, m->connect.opts[k].vlen);
                else fputs("null", stdout);
                putchar('}');
            }
            putchar(']');
            break;
        case MPX_CONV_TLV_EXT_HDR:
            fputs(",\"tcp_options\":", stdout);
            j_hex(stdout, m->ext_hdr, m->ext_hdr_len);
            break;
        case MPX_CONV_TLV_SUPPORTED:
            fputs(",\"kinds\":[", stdout);
            for (size_t k = 0; k < m->supported_len; k++) printf("%s%u", k ? "," : "", m->supported[k]);
            putchar(']');
            break;
        case MPX_CONV_TLV_COOKIE:
            fputs(",\"cookie\":", stdout);
            j_hex(stdout, m->cookie, m->cookie_len);
            break;
        case MPX_CONV_TLV_ERROR:
            printf(",\"code\":%u,\"code_name\":", m->error.code);
            j_str(stdout, mpx_conv_error_name(m->error.code));
            if (m->error.data) { fputs(",\"data\":", stdout); j_hex(stdout, m->error.data, m->error.data_len); }
            if (m->error.code == MPX_CONV_E_RESOURCE_EXCEEDED || m->error.code == MPX_CONV_E_NETWORK_FAILURE)
                printf(",\"wait_s\":%u", m->error.wait_s);
            if (m->error.code == MPX_CONV_E_DEST_UNREACHABLE) printf(",\"icmp_code\":%u", m->error.icmp_code);
            break;
        }
        putchar('}');
    }
    putchar(']');
}

int cmd_convert(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "from-client", no_argument, 0, 'c' },
        { "from-converter", no_argument, 0, 's' }, { "any-addr", no_argument, 0, 'a' },
        { "partial", no_argument, 0, 'p' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    bool json = false;
    unsigned flags = MPX_CONV_F_COMPLETE;
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c': flags |= MPX_CONV_F_FROM_CLIENT; break;
        case 's': flags |= MPX_CONV_F_FROM_CONVERTER; break;
        case 'a': flags |= MPX_CONV_F_ANY_ADDR; break;
        case 'p': flags &= ~MPX_CONV_F_COMPLETE; break;
        case 'h':
            puts("usage: mpx-wire convert HEX [--from-client|--from-converter] [--any-addr] [--partial] [--json]\n"
                 "Decodes an RFC 8803 Convert message (fixed header + TLVs) followed by user data.\n"
                 "  --from-client/--from-converter  also reject TLVs the other side sends\n"
                 "  --any-addr   skip the loopback/multicast/broadcast/unspecified target check\n"
                 "  --partial    a truncated message is \"need more bytes\" (exit 1, rule CONV-HDR-*)\n"
                 "On a violation prints the rule ID and the Error code a converter answers.\n"
                 "exit: 0 valid, 1 invalid, 2 usage");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc - 1) { fprintf(stderr, "usage: mpx-wire convert HEX [options] (see --help)\n"); return WX_USAGE; }
    static uint8_t buf[W_MAXBUF];
    long n = w_hex_arg(argv[optind], buf, sizeof buf);
    if (n < 0) return WX_USAGE;
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_conv_decode(buf, (size_t)n, flags, &m, &e);
    if (json) {
        printf("{\"type\":\"convert\",\"ok\":%s,\"len\":%ld", r == MPX_DEC_OK ? "true" : "false", n);
        if (r == MPX_DEC_OK) {
            printf(",\"version\":%u,\"total_words\":%u,\"bytes\":%zu,", m.version, m.total_words, m.conv_len);
            json_tlvs(&m);
            printf(",\"data_off\":%zu,\"data_len\":%zu", m.data_off, (size_t)n - m.data_off);
        } else {
            putchar(',');
            j_err(stdout, &e);
            printf(",\"need_more\":%s", r == MPX_DEC_MORE ? "true" : "false");
            if (r == MPX_DEC_MORE) printf(",\"need\":%zu", m.need);
            int code = mpx_conv_rule_error_code(e.rule);
            if (code >= 0) printf(",\"error_code\":%d,\"error_name\":\"%s\"", code, mpx_conv_error_name((uint8_t)code));
            else printf(",\"error_code\":null,\"action\":\"%s\"", code == MPX_CONV_ACT_RESET ? "reset" : "none");
        }
        puts("}");
        return r == MPX_DEC_OK ? WX_OK : WX_INVALID;
    }
    if (r == MPX_DEC_OK) { human(&m, buf, (size_t)n); return WX_OK; }
    if (r == MPX_DEC_MORE) printf("incomplete: %zu of %zu bytes; need more bytes\n", (size_t)n, m.need);
    h_invalid(stdout, &e);
    int code = mpx_conv_rule_error_code(e.rule);
    if (code >= 0) printf("converter answers: Error TLV code %d (%s)\n", code, mpx_conv_error_name((uint8_t)code));
    else if (code == MPX_CONV_ACT_RESET) puts("converter answers: reset without an Error TLV");
    return WX_INVALID;
}

int cmd_rules(int argc, char **argv)
{
    bool json = argc > 1 && !strcmp(argv[1], "--json");
    if (argc > 1 && !json) {
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
            puts("usage: mpx-wire rules [--json]\nLists the RFC 8803 Convert decoder rules: ID, RFC section, the Error code\n"
                 "a converter answers (or reset), and what the rule checks.");
            return WX_OK;
        }
        fprintf(stderr, "usage: mpx-wire rules [--json]\n");
        return WX_USAGE;
    }
    size_t n;
    const mpx_conv_rule *r = mpx_conv_rules(&n);
    if (!json) printf("%-24s %-9s %-28s %s\n", "rule", "section", "converter answers", "checks");
    for (size_t i = 0; i < n; i++) {
        char ans[48];
        if (r[i].code >= 0) snprintf(ans, sizeof ans, "%d %s", r[i].code, mpx_conv_error_name((uint8_t)r[i].code));
        else snprintf(ans, sizeof ans, "reset (no Error TLV)");
        if (json) {
            fputs("{\"type\":\"rule\",\"rule\":", stdout);
            j_str(stdout, r[i].id);
            fputs(",\"section\":", stdout);
            j_str(stdout, r[i].section);
            if (r[i].code >= 0) printf(",\"error_code\":%d,\"action\":\"error\"", r[i].code);
            else fputs(",\"error_code\":null,\"action\":\"reset\"", stdout);
            fputs(",\"text\":", stdout);
            j_str(stdout, r[i].text);
            puts("}");
        } else {
            printf("%-24s %-9s %-28s %s\n", r[i].id, r[i].section, ans, r[i].text);
        }
    }
    return WX_OK;
}
