/* mpx-wire internals: shared helpers of the subcommands (one file each). */
#ifndef MPX_WIRE_H
#define MPX_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/buf.h"

/* Exit codes (documented in --help). */
#define WX_OK      0
#define WX_INVALID 1
#define WX_USAGE   2

#define W_MAXBUF 65536

/* Parses a HEX argument ("-" reads hex from stdin). Prints a usage error and returns -1. */
long w_hex_arg(const char *arg, uint8_t *buf, size_t cap);

/* JSON helpers (no allocation): string with escapes, hex string, comma handling is manual. */
void j_str(FILE *f, const char *s);
void j_strn(FILE *f, const char *s, size_t n);
void j_hex(FILE *f, const uint8_t *p, size_t n);
/* {"rule":...,"off":...,"msg":...} members (no braces) */
void j_err(FILE *f, const mpx_err *e);

/* Human helpers. */
void h_hex(FILE *f, const uint8_t *p, size_t n);       /* "01 02 ..." (up to 64 bytes) */
void h_preview(FILE *f, const uint8_t *p, size_t n);   /* "GET / HTTP/1.1\r\n..." quoted */
void h_invalid(FILE *f, const mpx_err *e);             /* "invalid: RULE at offset N: msg" */

/* Resets getopt and parses common options; subcommands use their own option tables. */
void w_getopt_reset(void);

int cmd_convert(int argc, char **argv);
int cmd_mpconvert(int argc, char **argv);
int cmd_socks5(int argc, char **argv);
int cmd_options(int argc, char **argv);
int cmd_budget(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_signals(int argc, char **argv);
#endif
