/* mpx-wire: the command-line face of proto/. Decodes TCP option areas, Convert messages,
 * MP_CONVERT payloads and SOCKS5 exchanges, computes SYN option budgets, and encodes the
 * messages the agents send. Exit: 0 valid, 1 invalid input (rule ID printed), 2 usage. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proto/wire/wire.h"

#ifndef MPX_VERSION
#define MPX_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fputs("usage: mpx-wire COMMAND [ARGS] [--json]\n"
          "Decode and encode the wire formats of mpxlab (proto/).\n\n"
          "decode:\n"
          "  options HEX [--syn|--synack|--ack]      TCP option area (tcpdump-like list, checks)\n"
          "  convert HEX [--from-client|--from-converter] [--any-addr] [--partial]\n"
          "                                          RFC 8803 Convert message (+ user data)\n"
          "  mpconvert HEX [--subtype N] [--any-addr] MP_CONVERT payload, -09 or -10 IE (auto)\n"
          "  socks5 HEX [--client|--server|--msg TYPE]  SOCKSv5 / RFC 1929 byte stream\n"
          "compute:\n"
          "  budget --syn|--synack LIST              option bytes as Linux lays them out, fits in 40?\n"
          "                                          LIST e.g. mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v6+port\n"
          "  rules                                   Convert decoder rules and the Error code each maps to\n"
          "  signals [--json|--names]               the signal registry (proto/signal.c) with option budgets\n"
          "encode (prints hex):\n"
          "  encode convert --connect A:P [--cookie HEX] [--ext-opt KIND[:HEX]]... [--info] [--data TEXT]\n"
          "  encode convert-reply [--error CODE [--value HEX]] [--ext-hdr HEX] [--supported K,K..]\n"
          "  encode mpconvert --target A:P [--source A:P] [--ie] [--subtype N] [--data TEXT]\n"
          "  encode socks5 greeting|choice|request|reply|auth|auth-reply [options]\n"
          "  encode option prefer [--subtype N] [--exp253]\n"
          "                                          MP_PREFER_PROXY option bytes (kind 30)\n"
          "  encode option mpconvert --target A:P [--subtype N] [--exp253]\n"
          "                                          MP_CONVERT option bytes (kind 30, -09 layout)\n"
          "                                          --exp253: the RFC 6994 kind-253 ExID form\n"
          "  encode option exp253 --from HEX         the kind-253 form of a kind-30 option\n"
          "  encode option ra                        IPv4 Router Alert option bytes\n"
          "HEX may contain spaces/colons; \"-\" reads it from stdin. A:P is 192.0.2.1:80 or [fd00::1]:80.\n"
          "Every command takes --json (one JSON object on stdout) and --help.\n"
          "exit: 0 valid, 1 invalid input (the failed rule ID is printed), 2 usage error\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return WX_USAGE; }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) { usage(stdout); return WX_OK; }
    if (!strcmp(c, "--version") || !strcmp(c, "-V")) { printf("mpx-wire %s\n", MPX_VERSION); return WX_OK; }
    argc--; argv++;
    if (!strcmp(c, "options")) return cmd_options(argc, argv);
    if (!strcmp(c, "convert")) return cmd_convert(argc, argv);
    if (!strcmp(c, "mpconvert")) return cmd_mpconvert(argc, argv);
    if (!strcmp(c, "socks5")) return cmd_socks5(argc, argv);
    if (!strcmp(c, "budget")) return cmd_budget(argc, argv);
    if (!strcmp(c, "encode")) return cmd_encode(argc, argv);
    if (!strcmp(c, "rules")) return cmd_rules(argc, argv);
    if (!strcmp(c, "signals")) return cmd_signals(argc, argv);
    fprintf(stderr, "mpx-wire: unknown command '%s'\n", c);
    usage(stderr);
    return WX_USAGE;
}

void w_getopt_reset(void)
{
    optind = 0;  /* glibc: full re-initialisation for the subcommand's argv */
    opterr = 1;
}

long w_hex_arg(const char *arg, uint8_t *buf, size_t cap)
{
    static char text[2 * W_MAXBUF + 4096];
    const char *src = arg;
    if (!arg) {
        fprintf(stderr, "mpx-wire: missing HEX argument\n");
        return -1;
    }
    if (!strcmp(arg, "-")) {
        size_t n = fread(text, 1, sizeof text - 1, stdin);
        text[n] = 0;
        src = text;
    }
    /* allow trailing newline / whitespace from files and pipes */
    static char clean[2 * W_MAXBUF + 4096];
    size_t j = 0;
    for (size_t i = 0; src[i] && j < sizeof clean - 1; i++)
        if (!isspace((unsigned char)src[i])) clean[j++] = src[i];
    clean[j] = 0;
    long n = mpx_hex_parse(clean, buf, cap);
    if (n < 0) fprintf(stderr, "mpx-wire: '%s' is not an even number of hex digits (max %zu bytes)\n", arg, cap);
    return n;
}

/* Length of a valid UTF-8 sequence (2..4 bytes) starting at p, or 0. Registry texts use
 * UTF-8 (an em dash); decoded wire bytes are escaped byte by byte. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return len;
}

void j_strn(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        size_t u = ch >= 0x80 ? utf8_len((const unsigned char *)s + i, n - i) : 0;
        if (u) { fwrite(s + i, 1, u, f); i += u - 1; continue; }
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch < 0x20 || ch >= 0x7f) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

void j_str(FILE *f, const char *s)
{
    if (!s) { fputs("null", f); return; }
    j_strn(f, s, strlen(s));
}

void j_hex(FILE *f, const uint8_t *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", p[i]);
    fputc('"', f);
}

void j_err(FILE *f, const mpx_err *e)
{
    fputs("\"rule\":", f);
    j_str(f, e->rule);
    fprintf(f, ",\"off\":%zu,\"msg\":", e->off);
    j_str(f, e->msg);
}

void h_hex(FILE *f, const uint8_t *p, size_t n)
{
    size_t m = n > 64 ? 64 : n;
    for (size_t i = 0; i < m; i++) fprintf(f, "%s%02x", i ? " " : "", p[i]);
    if (m < n) fprintf(f, " ... (%zu more)", n - m);
}

void h_preview(FILE *f, const uint8_t *p, size_t n)
{
    size_t m = n > 48 ? 48 : n;
    fputc('"', f);
    for (size_t i = 0; i < m; i++) {
        if (p[i] == '\r') fputs("\\r", f);
        else if (p[i] == '\n') fputs("\\n", f);
        else if (p[i] == '"' || p[i] == '\\') fprintf(f, "\\%c", p[i]);
        else if (isprint(p[i])) fputc(p[i], f);
        else fprintf(f, "\\x%02x", p[i]);
    }
    fputc('"', f);
    if (m < n) fputs("...", f);
}

void h_invalid(FILE *f, const mpx_err *e)
{
    fprintf(f, "invalid: %s at offset %zu: %s\n", e->rule ? e->rule : "?", e->off, e->msg);
}
