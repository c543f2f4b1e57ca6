/* mpx-wire mpconvert HEX: MP_CONVERT payload printer (-09 option bytes + EOL, -10 IE). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/mpconvert.h"
#include "proto/wire/wire.h"

static void inst_text(const mpx_mpconv_payload *pl, const mpx_mpconv *m, char *out, size_t cap)
{
    char a[MPX_ADDR_STRLEN];
    int k = snprintf(out, cap, "%s ", m->d ? "source" : "destination");
    if (m->addr.family == MPX_AF_NONE) k += snprintf(out + k, cap - (size_t)k, "(no address)");
    else k += snprintf(out + k, cap - (size_t)k, "%s", mpx_addr_format(&m->addr, false, a, sizeof a));
    if (m->has_port) k += snprintf(out + k, cap - (size_t)k, " port %u", m->addr.port);
    else k += snprintf(out + k, cap - (size_t)k, " (no port: MPTCP-leg port reused)");
    if (pl->form == MPX_MPCONV_FORM_09)
        snprintf(out + k, cap - (size_t)k, ", protocol %u, subtype 0x%x%s", m->protocol, m->subtype,
                 m->flags ? ", reserved flags set (ignored)" : "");
    else
        snprintf(out + k, cap - (size_t)k, ", M=%d (%s)", m->m, m->m ? "last IE" : "another IE follows");
}

int cmd_mpconvert(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "subtype", required_argument, 0, 's' },
        { "any-subtype", no_argument, 0, 'S' }, { "any-addr", no_argument, 0, 'a' },
        { "partial", no_argument, 0, 'p' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    bool json = false;
    unsigned flags = MPX_MPCONV_F_COMPLETE;
    uint8_t subtype = 0;
    int c;
    char *end;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 's': {
            unsigned long v = strtoul(optarg, &end, 0);
            if (*end || v < 1 || v > 15) { fprintf(stderr, "mpx-wire: --subtype 1..15\n"); return WX_USAGE; }
            subtype = (uint8_t)v;
            break;
        }
        case 'S': flags |= MPX_MPCONV_F_ANY_SUBTYPE; break;
        case 'a': flags |= MPX_MPCONV_F_ANY_ADDR; break;
        case 'p': flags &= ~MPX_MPCONV_F_COMPLETE; break;
        case 'h':
            puts("usage: mpx-wire mpconvert HEX [--subtype N|--any-subtype] [--any-addr] [--partial] [--json]\n"
                 "Decodes MP_CONVERT carried in a SYN payload; the form is detected from the first byte:\n"
                 "  0x1e        draft-boucadair-mptcp-plain-mode-09: MP_CONVERT option bytes (up to 2), EOL, data\n"
                 "  fa a8 fa a8 -10 Information Element(s) (Length = Type..port, magic and padding excluded)\n"
                 "  --subtype N expected -09 subtype (default 0xe)\n"
                 "exit: 0 valid, 1 invalid (rule ID printed), 2 usage");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc - 1) { fprintf(stderr, "usage: mpx-wire mpconvert HEX [options] (see --help)\n"); return WX_USAGE; }
    static uint8_t buf[W_MAXBUF];
    long n = w_hex_arg(argv[optind], buf, sizeof buf);
    if (n < 0) return WX_USAGE;
    mpx_mpconv_payload pl;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_mpconv_decode(buf, (size_t)n, flags, subtype, &pl, &e);
    const char *form = pl.form == MPX_MPCONV_FORM_09 ? "09" : pl.form == MPX_MPCONV_FORM_IE ? "ie" : "none";
    if (json) {
        printf("{\"type\":\"mpconvert\",\"ok\":%s,\"form\":\"%s\",\"len\":%ld", r == MPX_DEC_OK ? "true" : "false", form, n);
        if (r == MPX_DEC_OK) {
            fputs(",\"instances\":[", stdout);
            for (size_t i = 0; i < pl.n; i++) {
                const mpx_mpconv *m = &pl.inst[i];
                char a[MPX_ADDR_STRLEN];
                printf("%s{\"d\":%d,\"role\":\"%s\",\"family\":%u,\"addr\":", i ? "," : "", m->d,
                       m->d ? "source" : "destination", m->addr.family);
                if (m->addr.family) j_str(stdout, mpx_addr_format(&m->addr, false, a, sizeof a));
                else fputs("null", stdout);
                if (m->has_port) printf(",\"port\":%u", m->addr.port);
                else fputs(",\"port\":null", stdout);
                if (pl.form == MPX_MPCONV_FORM_09)
                    printf(",\"subtype\":%u,\"protocol\":%u,\"flags\":%u", m->subtype, m->protocol, m->flags);
                else printf(",\"m\":%d", m->m);
                putchar('}');
            }
            printf("],\"data_off\":%zu,\"data_len\":%zu", pl.data_off, (size_t)n - pl.data_off);
        } else {
            putchar(',');
            j_err(stdout, &e);
            printf(",\"need_more\":%s", r == MPX_DEC_MORE ? "true" : "false");
        }
        puts("}");
        return r == MPX_DEC_OK ? WX_OK : WX_INVALID;
    }
    if (r != MPX_DEC_OK) {
        if (pl.form != MPX_MPCONV_FORM_NONE)
            printf("MP_CONVERT %s form\n", pl.form == MPX_MPCONV_FORM_09 ? "-09 payload" : "-10 Information Element");
        h_invalid(stdout, &e);
        return WX_INVALID;
    }
    if (pl.form == MPX_MPCONV_FORM_09)
        printf("MP_CONVERT -09 payload (option bytes + EOL): %u instance%s, signal %zu bytes\n", pl.n,
               pl.n > 1 ? "s" : "", pl.data_off);
    else
        printf("MP_CONVERT -10 Information Element%s: %u, signal %zu bytes\n", pl.n > 1 ? "s" : "", pl.n, pl.data_off);
    size_t off = 0;
    for (size_t i = 0; i < pl.n; i++) {
        char t[160];
        inst_text(&pl, &pl.inst[i], t, sizeof t);
        size_t l = pl.form == MPX_MPCONV_FORM_09 ? mpx_mpconv_opt_len(&pl.inst[i]) : mpx_mpconv_ie_len(&pl.inst[i]);
        printf("  @%-3zu %s (%zu bytes)\n", off, t, l);
        off += l;
    }
    if (pl.form == MPX_MPCONV_FORM_09) printf("  @%-3zu EOL delimiter\n", off);
    size_t dl = (size_t)n - pl.data_off;
    printf("user data: %zu bytes at offset %zu", dl, pl.data_off);
    if (dl) { fputs(": ", stdout); h_preview(stdout, buf + pl.data_off, dl); }
    putchar('\n');
    return WX_OK;
}
