/* TCP and MPTCP endpoints as Linux behaves for short flows (sim/README.md lists what is and
 * is not modelled): three-way handshake with the real SYN/SYN-ACK option bytes (proto/budget),
 * TFO (SYN data accepted with a cookie or cookie-less; a retransmitted SYN carries no data),
 * SYN/SYN-ACK retransmission from 1 s doubling, initial window 10, data RTO = SRTT + 200 ms
 * (go-back-N from the first unacknowledged byte), quick ACKs until the connection turns
 * interactive and 40 ms delayed ACKs after, FIN teardown, MPTCP option sizes (MP_CAPABLE,
 * DSS) and one MP_JOIN subflow over the client's second interface. */
#ifndef MPX_SIM_TCP_H
#define MPX_SIM_TCP_H
#include "sim/sim.h"

#define SIM_MSS 1448 /* 1500 - 20 - 20 - 12 (timestamps) */
#define SIM_IW 10

struct sim_sock;

/* Application callbacks; any may be NULL. */
struct sim_app_ops {
    void (*connected)(struct sim *s, struct sim_sock *k); /* active open completed */
    void (*accepted)(struct sim *s, struct sim_sock *k);  /* a child the app now owns */
    void (*data)(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n);
    void (*eof)(struct sim *s, struct sim_sock *k);
    void (*failed)(struct sim *s, struct sim_sock *k); /* handshake gave up or reset */
    void (*synack_acked)(struct sim *s, struct sim_sock *k); /* a TFO child got its third ACK */
};

enum sim_tfo_listen { SIM_TFO_OFF, SIM_TFO_NO_COOKIE, SIM_TFO_COOKIE };
/* Which SYNs a transparent listener takes, whatever their destination. */
enum sim_intercept { SIM_IC_NONE, SIM_IC_MPTCP, SIM_IC_RA, SIM_IC_HELPER };

struct sim_listen_cfg {
    uint16_t port;         /* 0 with a transparent listener: any port */
    bool mptcp;            /* answers MP_CAPABLE */
    enum sim_tfo_listen tfo;
    enum sim_intercept intercept;
    bool hold_first_write; /* an MPTCP child writes only after the client's third ACK */
};

struct sim_connect_cfg {
    uint32_t laddr;           /* 0: the node's first interface */
    uint32_t raddr;
    uint16_t rport;
    bool mptcp;
    const char *syn_recipe;   /* proto/budget spec of the SYN options */
    bool tfo;                 /* try SYN data (with a cached cookie, or no_cookie) */
    bool tfo_no_cookie;
    bool ra;                  /* IPv4 Router Alert on the SYN */
    bool helper;              /* the SYN carries the helper's option (interception marker) */
    bool join;                /* open an MP_JOIN subflow over the second interface */
    const uint8_t *syn_data;  /* bytes to send first (in the SYN when TFO allows) */
    size_t syn_len;
};

struct sim_sock {
    struct sim_node *node;
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    int st;
    bool active, mptcp, is_join;
    uint32_t iss, irs;
    uint8_t *sb;
    size_t sb_len, sb_cap, s_una, s_nxt; /* send stream offsets (byte 0 = iss + 1) */
    bool fin_queued, fin_sent, fin_acked;
    size_t r_nxt; /* bytes received in order */
    bool fin_rcvd, eof_told;
    size_t syn_data;        /* stream bytes carried by our SYN */
    size_t syn_acked;       /* of them, what the SYN/ACK acknowledged */
    bool join_up;           /* a join subflow that completed its handshake */
    bool tfo_try, tfo_no_cookie, tfo_req, ra, helper, want_join, joined;
    const char *syn_recipe;
    bool mpc_data_pending; /* first data after the MPC handshake carries MP_CAPABLE */
    bool hold_write;
    const struct sim_listen_cfg *lcfg; /* passive side: its listener */
    int retries;
    uint64_t rto, srtt, t_syn, last_rcv;
    uint32_t gen, dgen; /* timer generations: a stale timer event is ignored */
    bool pingpong, delack, closed, failed;
    bool pending_synack; /* a TFO child whose SYN/ACK is not acknowledged yet */
    bool syn_cookie;     /* a TFO child whose SYN data came with a valid cookie */
    struct sim_sock *sub; /* the MP_JOIN subflow of an MPTCP connection */
    struct sim_sock *master; /* a join subflow: its MPTCP connection */
    uint64_t lkey, rkey;     /* MPTCP keys (RFC 8684): ours, the peer's (0 = not known yet) */
    uint32_t lnonce, rnonce; /* MP_JOIN nonces */
    uint64_t lidsn, ridsn;   /* IDSNs of the keys (SHA-256 once, not per segment) */
    bool ack64;              /* data ACKs in 64 bits: the peer sent a 64-bit DSN (as Linux) */
    uint32_t ltoken;
    uint64_t tx_pkts, rx_pkts;
    /* segments in flight (Linux's packets_out): stream end offset (+1 with the FIN) and send
     * time of each, oldest first; the data RTO runs from the oldest one's send */
    size_t seg_end[SIM_IW + 4];
    uint64_t seg_tx[SIM_IW + 4];
    int nseg;
    uint64_t rto_at;     /* data RTO deadline */
    bool tlp_armed;      /* the pending data timer is a tail-loss probe */
    bool tlp_done;       /* a probe went out: none again until new data is acknowledged */
    bool in_loss;        /* after an RTO, until everything is acknowledged (no probes) */
    size_t r_acked;      /* r_nxt when we last sent an ACK */
    size_t rcv_mss;      /* Linux's icsk_ack.rcv_mss: the largest segment seen (from 536) */
    const struct sim_app_ops *ops;
    void *app;
    struct sim_sock *next;
};

/* Endpoint state of a simulation (attached to s->tcp). */
int sim_tcp_init(struct sim *s);
void sim_tcp_free(struct sim *s);
/* Makes node n an endpoint host (its packets go to its sockets and listeners). */
void sim_tcp_host(struct sim *s, struct sim_node *n);
int sim_tcp_listen(struct sim *s, struct sim_node *n, const struct sim_listen_cfg *cfg,
                   const struct sim_app_ops *ops, void *app);
struct sim_sock *sim_tcp_connect(struct sim *s, struct sim_node *n,
                                 const struct sim_connect_cfg *cfg,
                                 const struct sim_app_ops *ops, void *app);
void sim_tcp_write(struct sim *s, struct sim_sock *k, const uint8_t *d, size_t n);
void sim_tcp_close(struct sim *s, struct sim_sock *k); /* FIN after the queued data */
/* Sockets still open (not closed in both directions). */
size_t sim_tcp_open_socks(struct sim *s);
/* Closes every socket at once (a connection that timed out): later packets find none. */
void sim_tcp_abandon(struct sim *s);
/* Frees sockets that finished (between connections). */
void sim_tcp_reap(struct sim *s);
/* The TFO cookie cache of the clients is per server address, as in Linux. */
void sim_tcp_forget_cookies(struct sim *s);
#endif
