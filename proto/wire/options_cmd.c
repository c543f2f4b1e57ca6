/* mpx-wire options HEX / mpx-wire budget LIST: TCP option area printer and the SYN option
 * budget calculator (both on top of proto/tcpopt.h and proto/budget.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "proto/budget.h"
#include "proto/tcpopt.h"
#include "proto/wire/wire.h"

int cmd_options(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "syn", no_argument, 0, 's' },
        { "synack", no_argument, 0, 'a' }, { "ack", no_argument, 0, 'k' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    bool json = false;
    int ctx = -1;  /* TCP flags of the carrying segment; -1 = none given: structure only */
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 's': ctx = MPX_TH_SYN; break;
        case 'a': ctx = MPX_TH_SYN | MPX_TH_ACK; break;
        case 'k': ctx = MPX_TH_ACK; break;
        case 'h':
            puts("usage: mpx-wire options HEX [--syn|--synack|--ack] [--json]\n"
                 "Walks a TCP option area (the bytes after the 20-byte TCP header) and lists each\n"
                 "option. With a segment type it also checks which options that segment may carry\n"
                 "(lengths, SYN-only options, duplicates, MPTCP subtypes in context).\n"
                 "exit: 0 valid, 1 invalid (rule IDs printed), 2 usage");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind != argc - 1) { fprintf(stderr, "usage: mpx-wire options HEX [--syn|--synack|--ack] (see --help)\n"); return WX_USAGE; }
    static uint8_t buf[W_MAXBUF];
    long n = w_hex_arg(argv[optind], buf, sizeof buf);
    if (n < 0) return WX_USAGE;

    static mpx_tcpopts o;
    mpx_tcpopt_walk(buf, (size_t)n, &o);
    static mpx_viols vs;
    mpx_viols_clear(&vs);
    if (ctx >= 0) {
        mpx_tcpopt_check(buf, (size_t)n, (uint8_t)ctx, &vs);
    } else {
        /* no context: only what the walk itself found */
        if (o.err.rule) mpx_viol_add_err(&vs, &o.err);
        for (size_t i = 0; i < o.n; i++)
            if (o.opt[i].len_rule)
                mpx_viol_add(&vs, o.opt[i].len_rule, o.opt[i].off, "%s option length %u", mpx_tcpopt_name(o.opt[i].kind), o.opt[i].len);
    }
    const char *seg = ctx < 0 ? "any" : ctx == MPX_TH_SYN ? "syn" : ctx == (MPX_TH_SYN | MPX_TH_ACK) ? "synack" : "ack";
    char txt[512];
    if (json) {
        printf("{\"type\":\"options\",\"segment\":\"%s\",\"ok\":%s,\"len\":%ld,\"options\":[", seg,
               vs.n ? "false" : "true", n);
        for (size_t i = 0; i < o.n; i++) {
            const mpx_tcpopt *t = &o.opt[i];
            mpx_tcpopt_format(t, txt, sizeof txt);
            printf("%s{\"off\":%zu,\"kind\":%u,\"name\":", i ? "," : "", t->off, t->kind);
            j_str(stdout, mpx_tcpopt_name(t->kind));
            printf(",\"len\":%u,\"text\":", t->len);
            j_str(stdout, txt);
            fputs(",\"bytes\":", stdout);
            j_hex(stdout, buf + t->off, t->kind <= 1 ? 1 : t->len);
            putchar('}');
        }
        printf("],\"total\":%zu,\"left\":%ld,\"violations\":[", (size_t)n, (long)MPX_TCPOPT_AREA_MAX - n);
        for (size_t i = 0; i < vs.n; i++) {
            printf("%s{\"rule\":", i ? "," : "");
            j_str(stdout, vs.v[i].rule);
            printf(",\"off\":%zu,\"msg\":", vs.v[i].off);
            j_str(stdout, vs.v[i].msg);
            putchar('}');
        }
        puts("]}");
        return vs.n ? WX_INVALID : WX_OK;
    }
    printf("TCP options (%s segment), %ld bytes:\n", seg, n);
    for (size_t i = 0; i < o.n; i++) {
        const mpx_tcpopt *t = &o.opt[i];
        mpx_tcpopt_format(t, txt, sizeof txt);
        size_t l = t->kind <= 1 ? 1 : t->len;
        printf("  @%-2zu %-9s kind %-3u len %-2zu %s\n", t->off, mpx_tcpopt_name(t->kind), t->kind, l, txt);
    }
    if (o.eol && o.used < (size_t)n) printf("  @%-2zu padding   %zu bytes\n", o.used, (size_t)n - o.used);
    printf("total %ld bytes of %d option space (%ld left)\n", n, MPX_TCPOPT_AREA_MAX, (long)MPX_TCPOPT_AREA_MAX - n);
    for (size_t i = 0; i < vs.n; i++) printf("invalid: %s at offset %zu: %s\n", vs.v[i].rule, vs.v[i].off, vs.v[i].msg);
    if (vs.dropped) printf("(%zu more violations)\n", vs.dropped);
    return vs.n ? WX_INVALID : WX_OK;
}

int cmd_budget(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "syn", no_argument, 0, 's' },
        { "synack", no_argument, 0, 'a' }, { "hex", no_argument, 0, 'x' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    bool json = false, hexout = false;
    int seg = -1, c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 's': seg = MPX_SEG_SYN; break;
        case 'a': seg = MPX_SEG_SYNACK; break;
        case 'x': hexout = true; break;
        case 'h':
            puts("usage: mpx-wire budget --syn|--synack LIST [--hex] [--json]\n"
                 "Bytes each option takes in a SYN or SYN/ACK as Linux lays them out, the total,\n"
                 "and whether it fits in the 40 bytes of option space (and what Linux would drop).\n"
                 "LIST items: mss sackperm ts ws base tfo[:N] tfo-exp:N mpc mpc-v0 mpj\n"
                 "            mpconvert:v4|v4+port|v6|v6+port|none prefer md5 exp253:N raw:N\n"
                 "  --hex  also print the option bytes Linux would emit\n"
                 "exit: 0 computed (fits or not), 1 invalid LIST item (rule printed), 2 usage");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (seg < 0 || optind != argc - 1) {
        fprintf(stderr, "usage: mpx-wire budget --syn|--synack LIST (see --help)\n");
        return WX_USAGE;
    }
    static mpx_budget b;
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_budget_from_spec((mpx_budget_seg)seg, argv[optind], &b, &e) < 0) {
        if (json) {
            printf("{\"type\":\"budget\",\"ok\":false,");
            j_err(stdout, &e);
            puts("}");
        } else {
            h_invalid(stdout, &e);
        }
        return WX_INVALID;
    }
    uint8_t ob[64];
    mpx_wr w = mpx_wr_init(ob, sizeof ob);
    bool have_hex = mpx_budget_emit(&b, &w) == 0;
    const char *segname = seg == MPX_SEG_SYN ? "syn" : "synack";
    if (json) {
        printf("{\"type\":\"budget\",\"ok\":true,\"segment\":\"%s\",\"items\":[", segname);
        for (size_t i = 0; i < b.n; i++) {
            const mpx_budget_line *l = &b.line[i];
            printf("%s{\"item\":", i ? "," : "");
            j_str(stdout, l->name);
            printf(",\"raw\":%u,\"bytes\":%u,\"dropped\":%s,\"drop_reason\":", l->raw, l->bytes, l->dropped ? "true" : "false");
            j_str(stdout, l->dropped ? l->drop_reason : NULL);
            putchar('}');
        }
        printf("],\"requested\":%u,\"space\":%d,\"fits\":%s,\"total\":%u,\"left\":%u,\"dropped\":%u",
               b.requested, MPX_BUDGET_SPACE, b.fits ? "true" : "false", b.total, b.left, b.ndropped);
        if (have_hex) { fputs(",\"hex\":", stdout); j_hex(stdout, ob, w.len); }
        puts("}");
        return WX_OK;
    }
    printf("%s option budget (Linux layout), %d bytes of option space:\n", seg == MPX_SEG_SYN ? "SYN" : "SYN/ACK", MPX_BUDGET_SPACE);
    for (size_t i = 0; i < b.n; i++) {
        const mpx_budget_line *l = &b.line[i];
        printf("  %-20s %2u bytes", l->name, l->bytes);
        if (l->raw && !l->bytes && !l->dropped) printf(" (%u raw, in the NOP-NOP slot before TS)", l->raw);
        else if (l->raw != l->bytes) printf(" (%u raw)", l->raw);
        if (l->dropped) printf("  -> dropped by Linux: %s", l->drop_reason);
        putchar('\n');
    }
    if (b.fits)
        printf("total %u bytes, %u left: fits\n", b.requested, MPX_BUDGET_SPACE - b.requested);
    else if (b.requested > MPX_BUDGET_SPACE)
        printf("total %u bytes > %d: does NOT fit (over by %u); Linux sends %u bytes, dropping %u item%s\n",
               b.requested, MPX_BUDGET_SPACE, b.requested - MPX_BUDGET_SPACE, b.total, b.ndropped,
               b.ndropped == 1 ? "" : "s");
    else
        printf("total %u bytes: does NOT fit as requested; Linux sends %u bytes, dropping %u item%s\n",
               b.requested, b.total, b.ndropped, b.ndropped == 1 ? "" : "s");
    if (hexout && have_hex) { fputs("bytes: ", stdout); h_hex(stdout, ob, w.len); putchar('\n'); }
    return WX_OK;
}
