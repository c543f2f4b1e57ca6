/* Option-space calculator for SYN and SYN/ACK, reproducing how Linux lays the options out
 * and what it drops when they do not fit (protocols.md 5.1-5.3):
 *   SYN     reservation order MD5 -> MSS -> TS -> WS -> SACKPERM (4 only without TS) ->
 *           TFO (only if room) -> MPTCP (only if room) -> non-Linux extras (only if room)
 *   SYN/ACK MD5 (drops TS if SACK is on) -> MSS -> WS -> TS -> SACKPERM -> TFO cookie (if
 *           room) -> MPTCP (if room) -> extras; an MPTCP listener (mpc/mpj present) clears
 *           TS whenever it sends a TFO cookie (net/mptcp/subflow.c subflow_prep_synack).
 *   With MD5 in a SYN Linux sends no timestamps (tcp_syn_options).
 *   On a SYN/ACK, tfo:N means the listener SENDS a cookie (reply to a cookie request, or a
 *   fresh cookie for an outdated one); a SYN/ACK accepting SYN data with a valid cookie
 *   carries no TFO option (Linux sets foc->len = -1), so list no tfo item for it.
 * Extras are our experimental options (mpconvert, prefer, exp253, raw): placed after MPTCP,
 * each only if it still fits, like MP_PREFER_PROXY's "only if option space remains".
 *
 * Item spec (mpx_budget_parse, comma separated, case-insensitive):
 *   mss sackperm ts ws              classic options ("base" = all four)
 *   tfo:N  tfo-exp:N                TFO cookie of N bytes, N = 0 the cookie request
 *                                   ("tfo" alone = tfo:0)
 *   mpc  mpc-v0  mpj                MP_CAPABLE v1 (SYN 4 / SYN-ACK 12), v0 (12/12),
 *                                   MP_JOIN (12/16)
 *   mpconvert:v4|v4+port|v6|v6+port|none   MP_CONVERT option (8/10/20/22/4 raw)
 *   prefer                          MP_PREFER_PROXY (4)
 *   md5                             TCP-MD5 (18, 20 aligned)
 *   exp253:N                        RFC 6994 option kind 253 with ExID and N data bytes
 *   raw:N                           any option of N bytes in total
 * Rule IDs: BUDGET-PARSE (bad item), BUDGET-TOO-MANY, BUDGET-DUP (same item twice).
 */
#ifndef MPX_PROTO_BUDGET_H
#define MPX_PROTO_BUDGET_H
#include "proto/buf.h"

#define MPX_BUDGET_SPACE 40
#define MPX_BUDGET_MAX_ITEMS 16

typedef enum {
    MPX_BI_MSS = 0, MPX_BI_SACKPERM, MPX_BI_TS, MPX_BI_WS, MPX_BI_TFO, MPX_BI_TFO_EXP,
    MPX_BI_MPC, MPX_BI_MPC_V0, MPX_BI_MPJ, MPX_BI_MPCONVERT, MPX_BI_PREFER, MPX_BI_MD5,
    MPX_BI_EXP253, MPX_BI_RAW,
} mpx_budget_kind;

/* MP_CONVERT variants (the `n` of an MPX_BI_MPCONVERT item). */
enum { MPX_MPCV_NONE = 0, MPX_MPCV_V4, MPX_MPCV_V4_PORT, MPX_MPCV_V6, MPX_MPCV_V6_PORT };

typedef struct {
    mpx_budget_kind kind;
    unsigned n;            /* cookie bytes (tfo), variant (mpconvert), data/total bytes */
} mpx_budget_item;

typedef enum { MPX_SEG_SYN = 0, MPX_SEG_SYNACK = 1 } mpx_budget_seg;

typedef struct {
    mpx_budget_item item;
    char        name[24];   /* canonical spec text, e.g. "tfo:8" */
    unsigned    raw;        /* option length without padding (0 for SACKPERM sharing TS) */
    unsigned    bytes;      /* bytes it takes as Linux lays it out (aligned) */
    bool        dropped;    /* Linux would not send it */
    const char *drop_reason;/* "no-room", "mptcp-listener-tfo-cookie", "md5", ... */
} mpx_budget_line;

typedef struct {
    mpx_budget_seg  seg;
    mpx_budget_line line[MPX_BUDGET_MAX_ITEMS];  /* in the order given */
    size_t   n;
    unsigned requested;   /* sum of `bytes` if nothing were dropped */
    bool     fits;        /* requested <= 40 (and nothing dropped for another reason) */
    unsigned total;       /* bytes Linux actually emits after its drops */
    unsigned left;        /* 40 - total */
    unsigned ndropped;
} mpx_budget;

/* Parses "mss,sackperm,ts,ws,tfo:8,mpc" into items. Returns 0 or -1 with e->rule. */
int mpx_budget_parse(const char *spec, mpx_budget_item *items, size_t cap, size_t *n,
                     mpx_err *e);
/* Computes the layout. Returns 0 or -1 (BUDGET-TOO-MANY / bad item). */
int mpx_budget_compute(mpx_budget_seg seg, const mpx_budget_item *items, size_t n,
                       mpx_budget *out, mpx_err *e);
/* parse + compute in one go. */
int mpx_budget_from_spec(mpx_budget_seg seg, const char *spec, mpx_budget *out, mpx_err *e);

/* Emits the option bytes Linux would send (kept items only) in Linux's write order
 * (MD5, MSS, TS(+SACKPERM), SACKPERM, WS, TFO, MPTCP, extras) with placeholder values:
 * MSS 1460, WS 7, TS val 1 ecr 0 (ecr 1 on SYN/ACK), cookie bytes 0xc0.., keys
 * 0x0102030405060708, MP_CONVERT 192.0.2.1 / 2001:db8::1 port 80, extras zero-filled.
 * Writes exactly `total` bytes. Returns 0 or -1 on overflow. */
int mpx_budget_emit(const mpx_budget *b, mpx_wr *w);

/* Canonical name of an item ("tfo:8", "mpconvert:v6+port"). */
void mpx_budget_item_name(const mpx_budget_item *it, char *buf, size_t cap);
#endif
