/* mpx-conform: RFC 8803 (and RFC 1928/1929) conformance cases against a converter, and a
 * converter that answers in every RFC-allowed way (--serve) to check clients. Every wire
 * byte is built and parsed by proto/ (convert.h, socks5.h); malformed messages are valid
 * encodings with bytes patched afterwards, never a second encoder. */
#ifndef MPX_CONFORM_H
#define MPX_CONFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"
#include "proto/addr.h"

/* The requirement level the RFC text gives the behaviour a case checks. INFO: behaviour
 * the RFC describes without a BCP 14 keyword (reported, never changes the exit code). */
typedef enum { CF_MUST, CF_SHOULD, CF_MAY, CF_INFO } cf_level;
typedef enum { CF_PASS, CF_FAIL, CF_NA } cf_verdict;

#define CF_TX_MAX 1200
#define CF_RX_MAX 4096

typedef struct {
    cf_verdict v;
    char       note[320];
    uint8_t    tx[CF_TX_MAX];  /* every byte sent, in order */
    size_t     txn;
    uint8_t    rx[CF_RX_MAX];  /* every byte received, in order */
    size_t     rxn;
    const char *end;           /* "open", "eof", "reset", "timeout", "connect-failed" */
    const char *transport;     /* "mptcp", "fallback", "tcp" */
    bool       syn_data_acked; /* TCP_INFO: the SYN-ACK acknowledged our SYN data */
    bool       syn_data_sent;  /* the first bytes left in the SYN (MSG_FASTOPEN) */
} cf_result;

/* What the cases run against. */
typedef struct {
    mpxa_addr conv;            /* the converter (or SOCKS server) */
    bool      has_t4, has_t6;
    mpx_addr  t4, t6;          /* --target: relay targets (mpx-server: MPX1 echo) */
    mpx_addr  unreach;         /* --unreachable: a target the converter cannot reach */
    uint16_t  closed_port;     /* a port on the --target host where nothing listens */
    int       timeout_ms;
    bool      mptcp;           /* IPPROTO_MPTCP (false: plain TCP) */
    bool      syn_data;        /* first bytes in the SYN (TFO, no cookie) when the kernel allows */
    /* learned while running (cases run in table order) */
    uint8_t   cookie[256];     /* from a Missing Cookie error: later Connects carry it */
    size_t    cookie_len;
    bool      has_supported;
    uint8_t   supported[64];   /* kinds from the Info case's Supported TCP Extensions TLV */
    size_t    nsupported;
    const char *socks_user, *socks_pass;
} cf_ctx;

typedef void (*cf_run_fn)(cf_ctx *ctx, cf_result *r);

#define CF_SUITE_CONVERT 0x1u
#define CF_SUITE_SOCKS5  0x2u

typedef struct {
    const char *id;       /* unique, [a-z0-9-] */
    const char *rfc;      /* "8803", "1928", "1929" */
    const char *section;  /* RFC section(s) the level is quoted from */
    cf_level    level;
    unsigned    suite;
    const char *desc;
    cf_run_fn   run;
} cf_case;

const cf_case *cf_cases(size_t *n);
const char *cf_level_name(cf_level l);
const char *cf_verdict_name(cf_verdict v);

/* ---- connection helpers (io.c): blocking sockets with poll deadlines ---- */
typedef struct {
    int        fd;
    cf_result *r;
    int        timeout_ms;
} cf_conn;

/* Opens a connection to ctx->conv and sends first[0..n): in the SYN (MSG_FASTOPEN without
 * a TFO cookie) when ctx->syn_data, else after the handshake. Returns 0, or -1 with
 * r->end = "connect-failed" and r->note set. */
int  cf_open(cf_ctx *ctx, cf_conn *c, cf_result *r, const uint8_t *first, size_t n);
/* Sends more bytes (recorded in r->tx); -1 on error. */
int  cf_send(cf_conn *c, const uint8_t *p, size_t n);
/* Reads until a whole Convert message is in r->rx (its Total Length; a header of Total
 * Length 0 counts as whole at 4 bytes), the peer closes, or timeout_ms passes. Returns the
 * message length, or 0 when none is whole (r->end says why). */
size_t cf_recv_conv(cf_conn *c, int timeout_ms);
/* Reads until r->rxn >= want, close or timeout. Returns r->rxn. */
size_t cf_recv_n(cf_conn *c, size_t want, int timeout_ms);
/* Reads (and keeps) anything more until the peer closes or timeout_ms passes: sets
 * r->end to "eof", "reset" or "open". */
void cf_wait_end(cf_conn *c, int timeout_ms);
/* Closes; rst: SO_LINGER 0 (what a client does after an Error TLV). */
void cf_close(cf_conn *c, bool rst);
/* Sets r->note (printf). */
void cf_note(cf_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_set(cf_result *r, cf_verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- --serve (serve.c) ---- */
/* Answer kinds, in --help order; names are what --answer takes. */
const char *const *cf_answer_names(size_t *n);
typedef struct {
    mpxa_addr listen;
    const char *answer;
    bool mptcp;
    unsigned count;        /* connections to serve, 0 = until SIGTERM */
    int timeout_ms;        /* how long to watch the client after an error */
    bool json;
    const char *ready;     /* written with the listen address once listening */
} cf_serve_cfg;
/* Returns the exit code: 0 every client reacted as the RFC says, 1 one did not, 3 setup. */
int cf_serve(const cf_serve_cfg *cfg);
#endif
