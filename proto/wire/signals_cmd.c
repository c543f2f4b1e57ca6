/* mpx-wire signals: the signal registry (proto/signal.h) as a table or as JSON. The harness
 * loads the JSON once per run; it is the only description of the signals it has. Each row
 * carries its SYN option recipe and that recipe's budget (IPv4/IPv6 target, without/with an
 * 8-byte TFO cookie), so no consumer needs to know how a signal's SYN is built. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "proto/signal.h"
#include "proto/wire/wire.h"

#define COOKIE_LEN 8   /* Linux's default TFO cookie size */

static const char *const g_cases[4] = { "v4", "v4-cookie", "v6", "v6-cookie" };

/* The budget of one case; 0 or -1 (recipe did not parse: a registry error). */
static int sig_budget(const mpx_signal *s, int k, char *spec, size_t cap, mpx_budget *b)
{
    mpx_err e = { 0 };
    if (mpx_signal_recipe(s, k < 2 ? 4 : 6, (k & 1) ? COOKIE_LEN : 0, spec, cap) < 0) return -1;
    return mpx_budget_from_spec(MPX_SEG_SYN, spec, b, &e);
}

/* IPv6 fit: the row's verdict, or the v6 budget's when the row says "budget". */
static void sig_ipv6(const mpx_signal *s, const char **verdict, char *how, size_t cap)
{
    *verdict = s->props.ipv6;
    snprintf(how, cap, "%s", s->props.ipv6_how ? s->props.ipv6_how : "");
    if (strcmp(s->props.ipv6, "budget")) return;
    char spec[128];
    mpx_budget b;
    if (sig_budget(s, 2, spec, sizeof spec, &b) < 0) { *verdict = "?"; snprintf(how, cap, "no recipe"); return; }
    *verdict = b.fits ? "yes" : "no";
    snprintf(how, cap, "mpx-wire budget: %s = %u B %s 40", spec, b.requested, b.fits ? "<=" : ">");
}

static void j_opt_str(const char *k, const char *v)
{
    printf(",\"%s\":", k);
    if (v) j_str(stdout, v); else fputs("null", stdout);
}

static int print_json(void)
{
    size_t n;
    const mpx_signal *t = mpx_signals(&n);
    printf("{\"type\":\"signals\",\"signals\":[");
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *s = &t[i];
        const char *v6;
        char how[256];
        sig_ipv6(s, &v6, how, sizeof how);
        printf("%s{\"name\":", i ? "," : "");
        j_str(stdout, s->name);
        printf(",\"mode\":\"%s\",\"in_syn\":\"%s\"", mpx_sig_mode_name(s->mode), mpx_sig_where_name(s->where));
        j_opt_str("channel", s->channel);
        j_opt_str("frontend", s->frontend);
        printf(",\"port\":%u,\"auth\":%s,\"mptcp\":%s,\"tfo\":\"%s\",\"syn_data\":%s,\"waits_reply\":%s",
               s->port, s->auth ? "true" : "false", s->mptcp ? "true" : "false", mpx_sig_tfo_name(s->tfo),
               mpx_signal_syn_data(s) ? "true" : "false", s->waits_reply ? "true" : "false");
        printf(",\"helper\":\"%s\"", mpx_sig_helper_name(s->helper));
        j_opt_str("intercept", s->intercept);
        printf(",\"wire\":\"%s\"", mpx_wire_class_name(s->wire));
        j_opt_str("model", s->model);
        j_opt_str("summary", s->summary);
        j_opt_str("varlen", s->props.varlen);
        j_opt_str("multi", s->props.multi);
        j_opt_str("ipv6", v6);
        j_opt_str("ipv6_how", how);
        printf(",\"budget\":{");
        for (int k = 0; k < 4; k++) {
            char spec[128];
            mpx_budget b;
            if (sig_budget(s, k, spec, sizeof spec, &b) < 0) {
                fprintf(stderr, "mpx-wire: signal %s: recipe '%s' does not parse\n", s->name, spec);
                return WX_INVALID;
            }
            printf("%s\"%s\":{\"items\":", k ? "," : "", g_cases[k]);
            j_str(stdout, spec);
            printf(",\"requested\":%u,\"fits\":%s,\"sent\":%u,\"left\":%u,\"dropped\":[", b.requested,
                   b.fits ? "true" : "false", b.total, b.left);
            for (size_t d = 0, m = 0; d < b.n; d++)
                if (b.line[d].dropped) { printf("%s", m++ ? "," : ""); j_str(stdout, b.line[d].name); }
            printf("]}");
        }
        printf("}}");
    }
    printf("],\"wire_classes\":[");
    for (int c = 0; c < MPX_WIRE__N; c++) {
        printf("%s", c ? "," : "");
        j_str(stdout, mpx_wire_class_name((mpx_wire_class)c));
    }
    printf("]}\n");
    return WX_OK;
}

static int print_table(void)
{
    size_t n;
    const mpx_signal *t = mpx_signals(&n);
    printf("%-16s %-9s %-8s %-13s %-5s %-10s %-11s %-14s %s\n", "signal", "mode", "in SYN", "front-end",
           "port", "TFO", "helper", "model", "channel");
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *s = &t[i];
        printf("%-16s %-9s %-8s %-13s %-5u %-10s %-11s %-14s %s\n", s->name, mpx_sig_mode_name(s->mode),
               mpx_sig_where_name(s->where), s->frontend ? s->frontend : "-", s->port, mpx_sig_tfo_name(s->tfo),
               mpx_sig_helper_name(s->helper), s->model, s->channel);
    }
    return WX_OK;
}

int cmd_signals(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "names", no_argument, 0, 'n' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 } };
    bool json = false, names = false;
    int c;
    w_getopt_reset();
    while ((c = getopt_long(argc, argv, "jnh", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'n': names = true; break;
        case 'h':
            puts("usage: mpx-wire signals [--json | --names]\n"
                 "The signal registry (proto/signal.c): one row per signal with its mode, channel,\n"
                 "proxy front-end and port, TFO use, SYN option helper, HAG interception mode, what\n"
                 "the analyzer sees, the model formula id, evidence properties, and the SYN option\n"
                 "recipe with its budget for IPv4/IPv6 targets without/with an 8-byte TFO cookie.\n"
                 "--names prints the names, one per line.");
            return WX_OK;
        default: return WX_USAGE;
        }
    }
    if (optind < argc) { fprintf(stderr, "mpx-wire signals: unexpected argument '%s'\n", argv[optind]); return WX_USAGE; }
    if (names) {
        size_t n;
        const mpx_signal *t = mpx_signals(&n);
        for (size_t i = 0; i < n; i++) puts(t[i].name);
        return WX_OK;
    }
    return json ? print_json() : print_table();
}
