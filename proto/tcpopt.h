/* TCP option area: walker, per-kind decoding, a rule checker that knows which options a
 * segment with given TCP flags may carry, and an encoder. Pure functions, no I/O.
 *
 * The walker never loops: every step consumes at least one byte, and a length byte of 0 or
 * 1 or a length that runs past the area stops the walk with a rule ID.
 *
 * Rule IDs produced here (walker: W, checker only: C):
 *   TCPOPT-LEN-ZERO      W  length byte 0 (would loop forever if trusted)
 *   TCPOPT-LEN-ONE       W  length byte 1 (smaller than kind+len itself)
 *   TCPOPT-OVERRUN       W  option (or its length byte) runs past the end of the area
 *   TCPOPT-TOO-MANY      W  more than MPX_TCPOPT_MAX_ITEMS options (only for huge areas)
 *   TCPOPT-AFTER-EOL     C  non-zero bytes after EOL (RFC 9293 3.1: the rest is padding, zeros)
 *   TCPOPT-AREA-LEN      C  area longer than 40 bytes (data offset allows at most 40)
 *   TCPOPT-AREA-ALIGN    C  area length not a multiple of 4 (a real header cannot have that)
 *   TCPOPT-MSS-LEN       C  MSS length != 4              (RFC 9293 3.2)
 *   TCPOPT-WS-LEN        C  window scale length != 3     (RFC 7323 2.2)
 *   TCPOPT-WS-SHIFT      C  shift count > 14             (RFC 7323 2.3)
 *   TCPOPT-SACKPERM-LEN  C  SACK-permitted length != 2   (RFC 2018 2)
 *   TCPOPT-SACK-LEN      C  SACK length not 2+8n, n>=1   (RFC 2018 3)
 *   TCPOPT-TS-LEN        C  timestamps length != 10      (RFC 7323 3.2)
 *   TCPOPT-TS-ECR-NOACK  C  TSecr != 0 without ACK       (RFC 7323 3.2, SHOULD)
 *   TCPOPT-MD5-LEN       C  MD5 signature length != 18   (RFC 2385)
 *   TCPOPT-AO-LEN        C  TCP-AO length < 4            (RFC 5925 2.2)
 *   TCPOPT-EXP-LEN       C  kind 253/254 shorter than 4 (no room for the ExID, RFC 6994)
 *   TFO-COOKIE-LEN       C  kind 34 length not 2 and not 6..18 even (RFC 7413 4.1.1)
 *   TFO-EXP-COOKIE-LEN   C  254/0xF989 length not 4 and not 8..20 even
 *   TCPOPT-MSS-NOT-SYN, TCPOPT-WS-NOT-SYN, TCPOPT-SACKPERM-NOT-SYN, TFO-NOT-SYN
 *                        C  option only allowed in a SYN (RFC 9293, 7323, 2018, 7413)
 *   TCPOPT-SACK-IN-SYN   C  SACK blocks in a SYN (nothing can have been received yet)
 *   TCPOPT-DUP           C  a single-instance kind twice (MSS, WS, SACKPERM, SACK, TS, MD5,
 *                           AO, TFO; 253/254 with the same ExID). NOP, MPTCP and unknown
 *                           kinds may repeat.
 *   MPTCP rule IDs       C  kind 30 is decoded with mptcp.h in the context given by the
 *                           flags (see mptcp.h for its rule IDs)
 */
#ifndef MPX_PROTO_TCPOPT_H
#define MPX_PROTO_TCPOPT_H
#include "proto/buf.h"

/* Option kinds (IANA "TCP Option Kind Numbers"). */
enum {
    MPX_TCPOPT_EOL = 0,
    MPX_TCPOPT_NOP = 1,
    MPX_TCPOPT_MSS = 2,
    MPX_TCPOPT_WS = 3,
    MPX_TCPOPT_SACKPERM = 4,
    MPX_TCPOPT_SACK = 5,
    MPX_TCPOPT_TS = 8,
    MPX_TCPOPT_MD5 = 19,
    MPX_TCPOPT_AO = 29,
    MPX_TCPOPT_MPTCP = 30,
    MPX_TCPOPT_TFO = 34,
    MPX_TCPOPT_EXP1 = 253,  /* RFC 6994 experimental, ExID in the first 2 data bytes */
    MPX_TCPOPT_EXP2 = 254,
};
#define MPX_TCPOPT_EXID_TFO   0xF989u  /* RFC 7413 9: experimental TFO */
#define MPX_TCPOPT_AREA_MAX   40       /* 60-byte header - 20 */
#define MPX_TCPOPT_MAX_ITEMS  64

/* TCP header flag bits (byte 13 of the header). */
enum {
    MPX_TH_FIN = 0x01, MPX_TH_SYN = 0x02, MPX_TH_RST = 0x04, MPX_TH_PSH = 0x08,
    MPX_TH_ACK = 0x10, MPX_TH_URG = 0x20, MPX_TH_ECE = 0x40, MPX_TH_CWR = 0x80,
};

/* One option as found in the area. `data` points into the caller's buffer (valid as long
 * as it is); for 253/254 with len >= 4 the ExID is split off into `exid` and `data` starts
 * after it. `len_rule` is NULL when the length is legal for the kind, otherwise the rule ID
 * (see above); the typed fields in `u` are only filled when len_rule is NULL. */
typedef struct {
    uint8_t        kind;
    uint8_t        len;        /* length byte as on the wire; 1 for EOL and NOP */
    size_t         off;        /* offset of the kind byte in the area */
    const uint8_t *data;       /* bytes after kind+len (after the ExID for 253/254) */
    uint8_t        dlen;
    bool           has_exid;
    uint16_t       exid;
    const char    *len_rule;
    union {
        uint16_t mss;
        uint8_t  ws;                                   /* shift count */
        struct { uint32_t val, ecr; } ts;
        struct { uint8_t n; } sack;                    /* blocks: mpx_tcpopt_sack_block() */
        struct { const uint8_t *cookie; uint8_t n; bool request; } tfo;  /* 34 and 254/F989 */
    } u;
} mpx_tcpopt;

typedef struct {
    mpx_tcpopt opt[MPX_TCPOPT_MAX_ITEMS];
    size_t     n;            /* options found (EOL included, trailing padding not) */
    size_t     area_len;     /* length given to the walker */
    size_t     used;         /* bytes covered by options up to and including EOL */
    bool       eol;          /* an EOL was seen; the walk stopped there */
    bool       pad_nonzero;  /* some byte after EOL is non-zero */
    size_t     pad_nonzero_off;
    mpx_err    err;          /* structural error that stopped the walk (rule NULL if none) */
} mpx_tcpopts;

/* Walks `len` bytes of option area. Returns 0 when the area is well formed up to its end
 * or EOL, -1 when a structural error (LEN-ZERO, LEN-ONE, OVERRUN, TOO-MANY) stopped the
 * walk; out->opt[0..n) then holds the options before the bad one and out->err says why.
 * Per-kind length problems do not stop the walk (they are in opt[i].len_rule). */
int mpx_tcpopt_walk(const uint8_t *p, size_t len, mpx_tcpopts *out);

/* Finds the first option of `kind` (for 253/254 also matching exid unless exid < 0). */
const mpx_tcpopt *mpx_tcpopt_find(const mpx_tcpopts *o, uint8_t kind, int exid);

/* SACK block i (0-based) of a valid SACK option; false if out of range. */
bool mpx_tcpopt_sack_block(const mpx_tcpopt *opt, unsigned i, uint32_t *left, uint32_t *right);

/* Checks an option area as carried by a segment with TCP flags `flags` (MPX_TH_*):
 * structure, per-kind lengths, SYN-only options, duplicates, padding after EOL, and every
 * MPTCP option (decoded in the context the flags imply). Appends to `vs` (not cleared) and
 * returns the number of violations added. */
size_t mpx_tcpopt_check(const uint8_t *p, size_t len, uint8_t flags, mpx_viols *vs);

/* Short name for printers: "eol" "nop" "mss" "wscale" "sackOK" "sack" "TS" "md5" "ao"
 * "mptcp" "tfo" "exp" "unknown". */
const char *mpx_tcpopt_name(uint8_t kind);

/* One option in tcpdump-like text, e.g. "mss 1460", "wscale 7", "TS val 1 ecr 0",
 * "tfo cookiereq", "exp-tfo cookie 0909...", "sack 1 {100:200}", "mptcp 12 capable v1 ...".
 * Returns snprintf's result. */
int mpx_tcpopt_format(const mpx_tcpopt *opt, char *buf, size_t cap);
/* The whole area, comma separated, like tcpdump's "options [...]" contents. A walk error is
 * appended as ",<RULE>". */
int mpx_tcpopts_format(const mpx_tcpopts *o, uint8_t flags, char *buf, size_t cap);

/* Encoder: each call appends one option (no alignment; use the NOP/pad helpers where the
 * layout should be aligned). Errors surface as w->overflow. */
void mpx_tcpopt_put_eol(mpx_wr *w);
void mpx_tcpopt_put_nop(mpx_wr *w);
void mpx_tcpopt_put_mss(mpx_wr *w, uint16_t mss);
void mpx_tcpopt_put_ws(mpx_wr *w, uint8_t shift);
void mpx_tcpopt_put_sackperm(mpx_wr *w);
void mpx_tcpopt_put_ts(mpx_wr *w, uint32_t val, uint32_t ecr);
void mpx_tcpopt_put_sack(mpx_wr *w, const uint32_t *left, const uint32_t *right, unsigned n);
/* n = 0 encodes the cookie request (length 2); cookie may be NULL then. */
void mpx_tcpopt_put_tfo(mpx_wr *w, const uint8_t *cookie, uint8_t n);
void mpx_tcpopt_put_tfo_exp(mpx_wr *w, const uint8_t *cookie, uint8_t n);   /* 254, F989 */
void mpx_tcpopt_put_exp(mpx_wr *w, uint8_t kind, uint16_t exid, const uint8_t *d, uint8_t n);
/* Any kind with `n` data bytes (length n+2). */
void mpx_tcpopt_put_raw(mpx_wr *w, uint8_t kind, const uint8_t *d, uint8_t n);
/* Pads to a multiple of 4 with EOL (zero) bytes, as at the end of a header. */
void mpx_tcpopt_put_pad(mpx_wr *w);
#endif
