/* Connection model of mpx-analyze: TCP connections keyed by 4-tuple + ISN, MPTCP
 * connections by token, MP_JOIN subflows linked, violations and timeline per connection. */
#ifndef MPX_ANALYZE_CONN_H
#define MPX_ANALYZE_CONN_H
#include "pcap-analysis/capture.h"
#include "proto/mptcp.h"
#include "proto/signal.h"
#include <stdbool.h>
#include <stdint.h>

#define AN_EVENTS   64   /* first packets of a connection kept for the timeline */
#define AN_SEGS     24   /* first data segments per direction kept for signal timing */
#define AN_HEAD   2048   /* first stream bytes per direction kept for signal decoding */
#define AN_NONE   INT64_MIN
#define AN_VIOL_STORE 4096   /* violation details kept per connection; all are counted */

typedef struct {
    const char *rule;     /* static string (proto rule IDs are static) */
    uint64_t    pkt;      /* frame number in its pcap */
    int64_t     t_us;     /* absolute */
    char        msg[200];
} an_viol;

typedef struct {
    int64_t  t_us;        /* absolute */
    uint64_t pkt;
    uint8_t  dir;         /* 0 client->server, 1 server->client */
    uint8_t  flags;
    uint32_t len;         /* payload bytes on the wire */
} an_event;

typedef struct {
    uint64_t off, end;    /* stream offsets (0 = first byte after the SYN) */
    int64_t  t_us;
    uint64_t pkt;
    bool     in_syn;
} an_seg;

typedef struct {
    uint8_t *head;            /* first AN_HEAD bytes of the stream, in order (lazily allocated) */
    size_t   head_len;
    an_seg   segs[AN_SEGS];
    size_t   nsegs;
    uint64_t bytes;           /* payload bytes seen (incl. retransmissions) */
    uint64_t pkts;
    uint32_t isn;             /* ISN of this direction (seq of its SYN) */
    bool     have_isn;
    uint64_t max_end;         /* highest stream offset seen */
} an_dir;

enum an_mptcp { AN_TCP = 0, AN_MPTCP, AN_FALLBACK };

/* one counted frame, for matching its routed copy (tcpdump -i any) */
typedef struct {
    uint32_t seq, ack, len;
    uint8_t  flags, ttl, dir;
    uint16_t win;
    int64_t  t;
    bool     set;
} an_recent;

typedef struct an_conn an_conn;
struct an_conn {
    an_conn  *hnext;           /* hash chain (same 4-tuple: newest first) */
    an_conn  *next;            /* list of all connections in creation order */
    int       file_idx;        /* index of the pcap it came from */
    size_t    id;              /* 1-based creation order (the --packets "conn" field) */
    int       af;
    uint8_t   cli[16], srv[16];
    uint16_t  cport, sport;
    bool      saw_syn, saw_synack, saw_ack, saw_fin, saw_rst;
    int64_t   t_first, t_last;
    int64_t   t_syn, t_synack, t_ack;       /* absolute, AN_NONE if unseen */
    int64_t   t_fin[2], t_rst;             /* first FIN per direction, first RST (absolute, AN_NONE) */
    uint64_t  pkt_syn, pkt_synack, pkt_ack;
    uint64_t  pkts;
    uint64_t  dup_frames;       /* the same segment captured twice (tcpdump -i any on a router) */
    /* the last frames counted (tcpdump -i any: a routed copy follows its original, but frames of
     * either direction can come between the two on a busy forwarder) */
    an_recent recent[8];
    unsigned  recent_next;
    int       syn_count, synack_count;      /* retransmissions of the handshake */
    an_event  ev[AN_EVENTS];
    size_t    nev;
    an_dir    d[2];

    /* option space */
    int       syn_opt_bytes, synack_opt_bytes;   /* -1 if unseen */
    bool      syn_ts, synack_ts, syn_mss, syn_ws, syn_sackok;
    bool      synack_mss, synack_ws, synack_sackok;
    char      space_note[200];  /* proto/budget.h layout that explains a dropped option */
    /* every SYN and SYN/ACK (first AN_SYNS): option bytes, MP_CAPABLE, TFO, data */
    struct { uint64_t pkt; int64_t t; uint8_t dir, opt_bytes; bool mpc, tfo; uint32_t data_len; } syns[8];
    int       nsyns;
    bool      syn_retx_no_mpc;  /* a retransmitted SYN dropped MP_CAPABLE */
    int       convert_error;    /* Error TLV code in the converter's reply, -1 none */
    int       socks_reply;      /* SOCKS5 REP, -1 none */
    bool      ip_router_alert;                  /* on the SYN */
    bool      syn_mpconvert_opt, syn_prefer_proxy;

    /* MPTCP */
    bool      syn_mpc, synack_mpc, ack_mpc, any_dss, dss_after_hs;
    int       mpc_version;                      /* -1 none */
    uint8_t   mpc_flags_syn, mpc_flags_synack;
    bool      have_key[2];                      /* [0] client key, [1] server key */
    uint64_t  key[2];
    uint32_t  token[2];                         /* SHA-256(key) top 32 bits */
    uint64_t  idsn[2];
    bool      infinite_mapping;
    int       csum_ok, csum_bad, csum_unchecked;   /* DSS / MP_CAPABLE-24 checksums */
    struct { bool have, dsn64; uint64_t dsn; uint32_t ssn; uint64_t pkt; int64_t t; } map1[2]; /* first DSS mapping per direction */
    uint64_t  pkt_infinite;
    bool      mp_fastclose, mp_tcprst, mp_fail;
    int       tcprst_reason;
    int       add_addr, add_addr_echo, rm_addr, mp_prio;
    int       add_addr_hmac_ok, add_addr_hmac_bad;
    struct { mpx_mp_add_addr a; uint8_t dir; uint64_t pkt; int64_t t; } pend_aa[8];
    int       npend_aa;
    uint64_t  truncated;        /* packets cut by the snaplen */
    /* MP_JOIN (this connection is a join subflow) */
    bool      is_join;
    bool      join_backup;
    uint32_t  join_token;
    uint32_t  join_nonce[2];
    uint8_t   join_addr_id[2];
    mpx_mp_join join_synack;    /* SYN/ACK form (truncated HMAC, B's nonce) */
    mpx_mp_join join_ack;       /* third ACK form (160-bit HMAC) */
    uint64_t  pkt_join_synack, pkt_join_ack;
    bool      have_join_synack, have_join_ack;
    int       join_hmac_state;  /* 0 unchecked, 1 ok, -1 bad */
    an_conn  *parent;           /* initial subflow of the MPTCP connection */
    an_conn  *joins, *next_join; /* on the parent: its linked join subflows */
    int       nsubflows;        /* on the initial subflow: 1 + linked joins */

    enum an_mptcp mptcp;
    char      fallback_cause[160];

    /* TFO */
    bool      cookie_req, cookie_granted, cookie_used, tfo_exp;
    int       cookie_len_granted, cookie_len_used;
    uint8_t   cookie[18];
    uint32_t  syn_data_len;
    bool      syn_data_acked, syn_data_retx, syn_data_partial;
    bool      ts_dropped, mpc_dropped;

    /* signal (filled by signal.c at the end) */
    mpx_wire_class wire;        /* the registry's class (mpx_wire_class_name names it) */
    char      sig_detail[400];  /* one line of what was decoded */
    char      target[64];       /* signalled target "ip:port" */
    uint8_t   target_af;
    uint8_t   target_ip[16];
    uint16_t  target_port;
    bool      sig_valid;
    bool      req_in_syn;       /* application bytes after the signal rode in the SYN */
    char      reply_where[24];  /* "synack" / "first-data" / "" */
    char      reply_detail[200];
    size_t    sig_len_c2s, sig_len_s2c;   /* signalling bytes before application data */

    /* timeline (filled at the end, absolute; AN_NONE if unknown) */
    int64_t   t_first_req, t_first_resp;
    uint64_t  pkt_first_req, pkt_first_resp;
    int       rtts_before_data;

    /* multi-capture join (upstream connection -> proxy's downstream connection) */
    an_conn  *down;
    bool      intercepted;      /* joined as an on-path interception (no signalled target) */
    an_conn  *up;

    an_viol  *v;
    size_t    nv, capv;         /* stored details (at most AN_VIOL_STORE) */
    uint64_t  nv_total;         /* every violation, stored or not */
    struct { const char *rule; uint64_t n; } vmore[8];   /* not stored, per rule */
    uint64_t  vmore_other;      /* not stored, rules past vmore[] */
    /* snaplen cuts of the option area (judged up to the cut, reported apart) */
    uint64_t  opt_cut, opt_cut_pkt;
    size_t    opt_cut_at, opt_cut_wire;
    /* DSS mappings (with data) seen on this subflow */
    int       dss_maps;
};

typedef struct {
    an_conn  **tab;
    size_t     tabsz;
    an_conn   *head, *tail;
    size_t     count;
} an_table;

void     an_table_init(an_table *t);
void     an_table_free(an_table *t);
/* Finds the connection a segment belongs to, creating one when needed; *dir gets 0 when the
 * segment goes client->server. */
an_conn *an_lookup(an_table *t, int file_idx, const mpx_pkt *p, int *dir);
/* Records a violation on c (pkt frame number, absolute time). */
void     an_violation(an_conn *c, const char *rule, uint64_t pkt, int64_t t_us, const char *fmt, ...)
         __attribute__((format(printf, 5, 6)));
#endif
