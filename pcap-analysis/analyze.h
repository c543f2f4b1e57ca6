/* mpx-analyze internals shared by packet.c, signal.c, tfo.c, timeline.c and report.c. */
#ifndef MPX_ANALYZE_H
#define MPX_ANALYZE_H
#include "pcap-analysis/capture.h"
#include "pcap-analysis/conn.h"
#include <stdio.h>

typedef struct {
    an_table    t;
    const char **files;
    int         nfiles;
    uint64_t   *file_frames;         /* per file */
    uint64_t    frames, tcp_pkts, truncated;
    uint64_t    skipped[CAP_SKIP_MAX];
    uint8_t     mpconv_subtype;      /* subtype of the experimental kind-30 options */
    FILE       *pkt_out;             /* --packets: one JSON line per TCP segment */
    bool        dedup;               /* current file is a Linux cooked (any) capture */
    bool        check_csum;          /* --check-csum: wrong IP/TCP checksums are violations */
    uint64_t    dup_frames;
    char      (*read_err)[256];  /* per file: why it could not be read to its end ("" = read whole) */
    struct an_pmap *pmaps;       /* DSS mappings whose checksum waits for a key (an_finish) */
    size_t      npmaps, cappmaps;
} an_ctx;

void an_ctx_init(an_ctx *x, const char **files, int nfiles);
void an_ctx_free(an_ctx *x);

/* packet.c: one TCP segment of file `file` */
void an_packet(an_ctx *x, int file, const mpx_pkt *p);
/* packet.c: after every file was read: MPTCP state, joins, HMACs, then the other passes */
void an_finish(an_ctx *x);

/* tfo.c */
void an_tfo_option(an_conn *c, int dir, uint8_t flags, const mpx_pkt *p, bool exp,
                   bool request, uint8_t cookie_len, const uint8_t *cookie);
void an_tfo_segment(an_conn *c, int dir, const mpx_pkt *p);
void an_tfo_finish(an_conn *c);

/* signal.c */
void an_signal_finish(an_ctx *x, an_conn *c);
bool an_wire_mptcp_syn(mpx_wire_class w);

/* timeline.c */
void an_timeline_finish(an_conn *c);
void an_join_captures(an_ctx *x);

/* report.c */
typedef enum { AN_OUT_JSON = 0, AN_OUT_CSV, AN_OUT_REPORT } an_out_fmt;
/* True for connections that get their own output line (join subflows with a known parent
 * are folded into it). */
bool an_conn_listed(const an_conn *c);
void an_write(an_ctx *x, an_out_fmt fmt, FILE *out);
size_t an_total_violations(an_ctx *x);

/* small helpers */
/* Time difference without signed overflow (AN_NONE or a fuzzed timestamp must not be UB):
 * callers only use the value when both times are known. */
static inline int64_t an_dt(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t an_rel(const an_conn *c, int64_t t) { return t == AN_NONE ? AN_NONE : an_dt(t, c->t_first); }
#endif
