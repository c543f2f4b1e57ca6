/* mpx-optd's packet decisions and control requests, without any I/O (main.c owns NFQUEUE and
 * the sockets), so they are unit-tested on hand-built packets (tests/unit/test_optd_core.c).
 *   add mode  optd_add_signals: outgoing SYNs get registered options / the Router Alert;
 *             incoming SYN/ACKs teach it the tokens of Router-Alert connections (their joins)
 *   read mode optd_read_signals: incoming SYNs are decoded (MP_CONVERT target, prefer mark);
 *             the local proxy's SYN/ACKs teach it the tokens of the connections it took
 *   optd_control: one text request of the control socket -> one reply */
#ifndef MPX_OPTD_CORE_H
#define MPX_OPTD_CORE_H
#include "proto/mpopt.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REG_MAX   1024
#define SEEN_MAX  4096
#define ENTRY_TTL 120   /* seconds a registration or a seen target is kept */

enum { REG_OPT = 1, REG_RA = 2 };

typedef struct {
    int      what;           /* REG_OPT or REG_RA; 0 = free slot */
    bool     by_dst;         /* match destination address:port, else source port */
    uint8_t  addr[16];
    int      family;
    uint16_t port;
    uint8_t  opt[40];
    size_t   optlen;
    time_t   t;
} reg_t;

typedef struct {             /* read mode: what a SYN from saddr:sport carried */
    int      family;
    uint8_t  saddr[16];
    uint16_t sport;
    uint8_t  daddr[16];
    uint16_t dport;
    bool     convert;
    mpx_mpconvert mc;
    bool     prefer;
    time_t   t;
} seen_t;

#define TOK_MAX 4096
typedef struct { uint32_t token; time_t t; bool used; } tok_t;

typedef struct {
    bool     read_mode, prefer_all, ra_all, verbose;
    tok_t    tok[TOK_MAX];       /* read: MPTCP tokens of the connections taken by prefer */
    size_t   tok_next;
    uint8_t  subtype;
    uint32_t mark_prefer, mark_convert;
    reg_t    reg[REG_MAX];
    seen_t   seen[SEEN_MAX];
    size_t   seen_next;
    struct { unsigned long syn, mangled, nofit, ra, errors, prefer, convert, lookups, hits,
             join_marked, synack, tokens; } c;
} optd_t;

void     optd_init(optd_t *d);
/* add mode: mangles p in place (cap = buffer size); returns the new packet length */
size_t   optd_add_signals(optd_t *d, uint8_t *p, size_t len, size_t cap);
/* read mode: returns the packet mark to OR in (0 = none) */
uint32_t optd_read_signals(optd_t *d, const uint8_t *p, size_t len);
void     optd_control(optd_t *d, char *req, char *out, size_t cap);
void     optd_stats_json(const optd_t *d, char *out, size_t cap);
#endif
