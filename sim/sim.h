/* mpx-sim: a packet-level discrete-event model of the emulated experiments (sim/README.md).
 * Virtual clock in ns; links are mpx-linkem's own pure logic (emu/linkem/link.h), so a link
 * draws the same loss and jitter for the same packet index as in an emulation; endpoints are
 * small TCP/MPTCP state machines that build real frames (options from proto/). */
#ifndef MPX_SIM_H
#define MPX_SIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "emu/linkem/link.h"

#define SIM_MS 1000000ull
#define SIM_S  1000000000ull

/* ---- events (ev.c): a min-heap on (time, insertion order) ---- */
struct sim;
typedef void (*sim_fn)(struct sim *s, void *arg, uint64_t u);

struct sim_ev {
    uint64_t t, seq;
    sim_fn fn;
    void *arg;
    uint64_t u;
};

struct sim_evq {
    struct sim_ev *h;
    size_t n, cap;
    uint64_t seq;
};

void sim_evq_free(struct sim_evq *q);
/* Schedules fn(arg, u) at time t (>= now). Returns 0 or -1 (out of memory). */
int sim_at(struct sim *s, uint64_t t, sim_fn fn, void *arg, uint64_t u);
/* Runs events in order until the queue is empty or the clock would pass `until`. Returns the
 * number of events run. */
uint64_t sim_run(struct sim *s, uint64_t until);

/* ---- packets ---- */
enum { SIM_FIN = 0x01, SIM_SYN = 0x02, SIM_RST = 0x04, SIM_PSH = 0x08, SIM_ACK = 0x10 };

struct sim_pkt {
    uint32_t src, dst; /* IPv4, host order */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    bool ra;             /* IPv4 Router Alert option (4 bytes) */
    uint8_t optlen;      /* TCP option bytes (multiple of 4) */
    uint8_t opt[40];
    uint32_t plen;
    uint8_t *data;       /* plen bytes, owned */
    /* what the bytes mean, so endpoints need not re-parse them */
    bool tfo_req, tfo_cookie; /* SYN: cookie request / a cookie; SYN/ACK: cookie issued */
    bool mpc, join;      /* MP_CAPABLE / MP_JOIN handshake */
    uint64_t mkey, mkey2;  /* MP_CAPABLE: sender key, receiver key (third ACK) */
    uint32_t mtoken, mnonce; /* MP_JOIN SYN: receiver token; SYN and SYN/ACK: nonce */
    bool helper;         /* SYN: carries the client helper's option (what a HAG may select on) */
    bool dsn64;          /* a DSS mapping with a 64-bit data sequence number */
    bool hooked;         /* the node's hook (sim_node.hook) already held it: it goes on */
    struct sim_pkt *next;
};

struct sim_pkt *sim_pkt_new(void);
void sim_pkt_free(struct sim_pkt *p);
/* Length of the Ethernet frame the packet makes (what a link serializes and counts). */
uint32_t sim_pkt_wire_len(const struct sim_pkt *p);
/* Builds the Ethernet/IPv4/TCP frame with valid checksums; returns its length. */
uint32_t sim_pkt_frame(const struct sim_pkt *p, uint8_t *buf, size_t cap);

/* ---- nodes and links (net.c) ---- */
#define SIM_MAX_IF 8
#define SIM_MAX_NODES 16
#define SIM_MAX_LINKS 16

struct sim_link;
struct sim_node;
/* Delivery of a packet to a node: returns true when it took the packet (else it is routed
 * onwards or dropped). */
typedef bool (*sim_rx_fn)(struct sim *s, struct sim_node *n, struct sim_pkt *p);
/* A userspace hop in a node's packet path (NFQUEUE to mpx-optd): for a packet the node sends
 * (out: its own, after routing) or receives (before its endpoints or forwarding), the time it
 * may go on; 0 (or now): at once, no event. */
typedef uint64_t (*sim_hook_fn)(struct sim *s, struct sim_node *n, const struct sim_pkt *p,
                                bool out);

struct sim_if {
    char name[16];
    uint32_t addr; /* /24 */
    struct sim_link *link;
    int end; /* 0 = this node is the link's a end, 1 = b end */
};

struct sim_node {
    char name[32], role[16];
    struct sim_if ifs[SIM_MAX_IF];
    int nif;
    bool src_routing; /* policy routing by source address (the multi-homed client) */
    sim_rx_fn rx; /* the node's endpoints (tcp.c); NULL = forward only */
    sim_hook_fn hook; /* NULL: no userspace hop */
    void *ctx;
};

struct sim_dirq { /* packets a link direction holds, in arrival order */
    struct sim_pkt *head, *tail;
};

struct sim_link {
    char name[32];
    struct sim_node *node[2];
    int ifi[2];
    struct lk_dir dir[2]; /* 0 = a->b ("ab"), 1 = b->a ("ba") */
    struct sim_dirq q[2];
    bool down;
    uint64_t rel_pending[2]; /* release time an event is already scheduled for */
    FILE *pcap;
};

struct sim {
    uint64_t now;
    struct sim_evq evq;
    struct sim_node nodes[SIM_MAX_NODES];
    int nnodes;
    struct sim_link links[SIM_MAX_LINKS];
    int nlinks;
    uint64_t delivered, dropped;
    FILE *droplog; /* one JSON line per frame a link dropped (mpx-linkem --events' fields) */
    void *tcp; /* endpoint state (tcp.c) */
};

void sim_init(struct sim *s);
void sim_free(struct sim *s);
struct sim_node *sim_node_add(struct sim *s, const char *name, const char *role);
struct sim_node *sim_node_find(struct sim *s, const char *name);
/* Adds a link between two node interfaces with per-direction linkem parameters. */
struct sim_link *sim_link_add(struct sim *s, const char *name, struct sim_node *a,
                              const char *ifa, uint32_t addra, struct sim_node *b,
                              const char *ifb, uint32_t addrb, const struct lk_params *ab,
                              const struct lk_params *ba, char *err, size_t errlen);
/* Loads a resolved variant folder written by the harness (links.txt, addrs, LINK.spec).
 * Returns 0 or -1 with a message. */
int sim_net_load(struct sim *s, const char *dir, char *err, size_t errlen);
/* Sends a packet from node n (takes ownership): on a node with src_routing the interface that
 * owns p->src, else the interface whose /24 holds p->dst, else the first one (default route). */
void sim_send(struct sim *s, struct sim_node *n, struct sim_pkt *p);
/* Writes every link's packets to DIR/LINK.pcap (Ethernet, ns timestamps from t=0). */
int sim_pcap_open(struct sim *s, const char *dir, char *err, size_t errlen);
bool sim_node_owns(const struct sim_node *n, uint32_t addr);
uint32_t sim_addr_parse(const char *txt); /* 0 on error */
void sim_addr_fmt(uint32_t a, char *buf, size_t cap);
#endif
