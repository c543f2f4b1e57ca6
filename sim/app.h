/* The agents as the model sees them: a client per signal (what it puts in its SYN, which
 * exchanges it waits for), the converter on the HAG (its front-ends, when it connects
 * downstream, what it replies, the first-write gate of an MPTCP child) and the server
 * (answers the request). Each signal's behaviour comes from its registry row. */
#ifndef MPX_SIM_APP_H
#define MPX_SIM_APP_H
#include "lib/workload.h"
#include "proto/signal.h"
#include "sim/tcp.h"

#define SIM_SERVER_PORT 8080

/* mpx-proxy --syn-data-policy: when SYN data may make the converter act (connect downstream)
 * before the client's third ACK: with a valid TFO cookie only (the proxy's default), never,
 * or always. */
enum sim_syn_policy { SIM_SYN_COOKIE, SIM_SYN_THIRD_ACK, SIM_SYN_IMMEDIATE };

/* The applications whose processing time the model can charge (mpx-sim --proc): mpx-client,
 * the converter on the HAG (its interception included), the server; and mpx-optd, the userspace
 * hop some packets and lookups take (SIM_PROC_OPTD: its time per packet or request, see
 * sim_world.optd_client). */
enum sim_proc_node { SIM_PROC_CLIENT, SIM_PROC_PROXY, SIM_PROC_SERVER, SIM_PROC_OPTD, SIM_PROC__N };
extern const char *const sim_proc_names[SIM_PROC__N];

struct sim_world {
    struct sim *s;
    struct sim_node *client, *hag, *server;
    uint32_t proxy_addr;  /* the HAG's address on the client's first link */
    uint32_t server_addr;
    mpxa_workload wl;
    bool tfo_direct;      /* the experiment's TFO for the direct baseline */
    bool join;            /* open the second subflow */
    enum sim_syn_policy syn_policy; /* the converter's --syn-data-policy */
    /* per-application processing time (ns, default 0): each time an application acts on what
     * it received (a read, an accept, a completed connect, a third ACK that releases SYN
     * data), what it then sends, connects or closes leaves this much later, one step after
     * the other on each node (a single application thread); the client stamps the first
     * response byte at the end of its step. 0: the callbacks act at once (no event). */
    uint64_t proc_ns[SIM_PROC__N];
    /* mpx-optd, as agents/intercept sets it up (proc_ns[SIM_PROC_OPTD] per job, one job after the
     * other per mpx-optd; 0: no hop, no event):
     * - the client's (optd_client: the harness starts it for a variant when any of its signals has
     *   a registry helper): every SYN the client sends and every MPTCP SYN/ACK it receives go
     *   through its NFQUEUE, and a helper signal's client registers the SYN's source port with it
     *   before connecting (a control request);
     * - the HAG's, during a connection whose registry `intercept` mode queues packets: optd-read
     *   (SYNs to the signal's front-end port; the converter asks it for the target at accept,
     *   a control request) and prefer (SYNs from the client, the HAG's own SYN/ACKs). */
    bool optd_client;
};

/* One connection's outcome. */
struct sim_conn {
    const mpx_signal *sig;
    uint64_t t_start, t_first, t_done; /* ns; t_first = first response byte at the client */
    uint64_t t_connected;  /* the client's handshake completed */
    uint16_t lport;
    bool syn_data_sent, syn_data_acked, tfo_cookie, joined;
    uint64_t resp_bytes;
    size_t expect_reply;  /* converter reply bytes before the response */
    size_t signal_len;    /* signal bytes in front of the request (for the converter) */
    bool ok, failed;
    unsigned syn_timeouts;
    struct sim_sock *sock;
};

/* Sets up the server and the converter's listeners (every front-end of the registry). */
int sim_world_init(struct sim_world *w);
/* Starts one connection of a signal at the current time. */
int sim_conn_start(struct sim_world *w, struct sim_conn *c, const mpx_signal *sig);
/* Runs one connection from now to its end (every socket closed) or timeout_ns; the links
 * are drained afterwards, so the next connection starts on idle links. */
void sim_conn_run(struct sim_world *w, struct sim_conn *c, const mpx_signal *sig,
                  uint64_t timeout_ns);
/* Frees what the connection's agents allocated (call once its sockets are closed). */
void sim_conn_end(void);
#endif
