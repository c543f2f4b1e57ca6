/* mpx-client internals: the run's configuration (main.c), the connection machine (conn.c),
 * the SYN option helper (optd.c) and the signal families (sig_*.c).
 *
 * What a signal is comes from the registry (proto/signal.h). The client looks up the code for
 * a registry row by the row's wire class, i.e. by its signal FAMILY (every RFC 8803 Convert
 * row shares one); the family's ops build the first flight and parse the replies, and every
 * variation inside a family (waits for the reply, TFO cookie, credentials, helper option)
 * comes from the row's fields. A new row that reuses a family needs no change here. */
#ifndef MPX_CLIENT_H
#define MPX_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/un.h>

#include "lib/addr.h"
#include "lib/pattern.h"
#include "lib/workload.h"
#include "proto/signal.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

/* Everything the command line says (parse_args), checked. */
typedef struct {
    const mpx_signal *sig;
    mpxa_addr   target, proxy, bind;
    bool        have_proxy, have_bind, mptcp, tfo_direct, tfo_direct_nc, verbose;
    mpxa_workload wl;
    char        wl_text[64];
    uint32_t    count, conc;
    uint64_t    seed;                   /* per-connection pattern seed = seed + seq */
    double      timeout_s;
    int64_t     peek_us;                /* --peek-probe: diagnostic MSG_PEEK probes, 0 = off */
    bool        syn_wscale0;            /* --syn-wscale0: MPTCP SYN-data sockets send wscale 0 */
    uint32_t    notsent_lowat;          /* --notsent-lowat: TCP_NOTSENT_LOWAT and send() size, 0 = off */
    const char *user, *pass, *tag, *cookie_path, *json_path;
    const char *optd_path;              /* --optd-ctl: the client namespace's mpx-optd */
    uint8_t     conv_opts[32];          /* --convert-opts: kinds for an Extended Connect */
    size_t      nconv_opts;
    uint8_t     mp_subtype;
} client_cfg;

/* Connection states. While signalling, the family keeps its own step in cconn.sub and names
 * it in cconn.sub_name (error messages say "in state socks-reply" etc). */
typedef enum { ST_CONNECTING, ST_SIGNAL, ST_RESPONSE } cstate;

#define SIGBUF 1280     /* largest signalling message either way (Convert max 1020) */
#define SYN_DATA_MAX 1400

typedef struct cconn {
    int      fd;
    uint32_t seq;
    cstate   st;
    int      sub;                         /* the family's signalling step */
    const char *sub_name;
    int64_t  t0, t0_real;                 /* CLOCK_MONOTONIC / REALTIME at start, us */
    int64_t  t_conn, t_req, t_sig, t_first, t_done;   /* relative to t0, -1 unset */
    mpxa_req_hdr h;
    uint64_t req_off, resp_off;           /* request bytes written / response bytes read */
    uint64_t sig_out_total, sig_in_total; /* signalling bytes both ways */
    uint8_t  sig_out[SIGBUF];             /* signalling bytes still to send */
    size_t   sig_out_len, sig_out_off;
    uint8_t  sig_in[SIGBUF];              /* signalling reply being assembled */
    size_t   sig_in_len;
    uint8_t  sent[64];                    /* first-flight bytes the family checks a reply against */
    size_t   sent_len;
    bool     req_allowed, want_out, connected, tfo_attempt, bad_pattern, rst;
    bool     wscale0;                     /* --syn-wscale0 applied to this SYN */
    int64_t  last_io;                     /* CLOCK_MONOTONIC us of the last read/write progress */
    int64_t  last_rx, max_gap;            /* last read/write/ack progress; longest gap, us */
    int64_t  outq;                        /* SIOCOUTQ at the last sample (+ bytes sent since); -1 */
    int64_t  outq_t;                      /* CLOCK_MONOTONIC us of that sample */
    uint64_t outq_samples;                /* SIOCOUTQ samples taken */
    int64_t  outq_every_max;              /* longest interval between two of them, us */
    uint32_t kicks;                       /* readable data found without an epoll wakeup */
    uint16_t optd_sport;                  /* registered with mpx-optd by source port (0 = no) */
    int      conv_error, socks_rep;       /* -1 = none */
    char     ext_hdr[2 * 64 + 1];         /* Extended TCP Header TLV content, hex */
    char     err[200];
    mpxa_addr local;
    struct cconn *prev, *next;
} cconn;

typedef struct client client;

/* One signal family. Every hook is optional (NULL: nothing to do). */
typedef struct {
    mpx_wire_class wire;                  /* the registry's class this family serves */
    bool convert_opts;                    /* --convert-opts applies */
    /* The family's own option checks; 0, or -1 with a message for the user. */
    int  (*check)(const client_cfg *cfg, char *msg, size_t cap);
    /* Once before the first connection. */
    void (*setup)(client *cl);
    /* The TCP option mpx-optd adds to every SYN (row.helper == TCP option): its bytes, or 0. */
    long (*syn_option)(const client *cl, uint8_t *out, size_t cap);
    /* The signal bytes that go in the SYN payload (rows whose signal travels there), or 0;
     * -1 with the error set. May move the connection to ST_SIGNAL to await a reply. */
    long (*first_flight)(client *cl, cconn *c, uint8_t *out, size_t cap);
    /* A plain connect completed: start the signalling (default: the request goes). */
    void (*connected)(client *cl, cconn *c);
    /* Bytes in c->sig_in while in ST_SIGNAL: -1 fatal, 0 need more, 1 a step is done. */
    int  (*reply)(client *cl, cconn *c);
    /* A connection failed: the family may reword the error. */
    void (*failed)(client *cl, cconn *c);
} client_signal_ops;

struct client {
    client_cfg  cfg;
    const mpx_signal *sig;                /* cfg.sig */
    const client_signal_ops *ops;
    FILE       *json;
    int         ep;
    cconn      *head;
    uint32_t    started, finished, active, ok, failed, max_active;
    int64_t    *ttfb;                     /* successful connections' TTFB */
    uint32_t    nttfb;
    uint32_t    n_mptcp, n_fallback, n_tcp, n_tfo_acked;
    uint64_t    n_kicks, n_peeks;
    int64_t     peek_last;                /* --peek-probe: the last round, CLOCK_MONOTONIC us */
    int         tfo_sysctl;               /* net.ipv4.tcp_fastopen of this namespace */
    int         rcvbuf_after;             /* --syn-wscale0: SO_RCVBUF after the SYN */
    bool        rcvbuf_capped;            /* SO_RCVBUFFORCE refused: rmem_max applies */
    uint32_t    n_wscale0;                /* connections whose SYN went out with wscale 0 */
    /* the SYN option helper (mpx-optd) */
    int         optd_fd;
    bool        optd_dead;                /* stopped answering: fail fast from then on */
    char        optd_me[108];             /* our bound path (removed at exit) */
    struct sockaddr_un optd_to;           /* the daemon */
    char        opt_hex[2 * 40 + 1];      /* option registered for each connection */
    bool        opt_fits;
    int         syn_opt_bytes, syn_opt_total;  /* requested / what Linux would emit, -1 = n/a */
    char        budget_spec[160];
};

extern volatile sig_atomic_t client_stop;

/* The families (sig_*.c) and the lookup by wire class (conn.c). */
extern const client_signal_ops client_sig_plain, client_sig_socks5, client_sig_convert,
    client_sig_mpconvert, client_sig_mpconvert_ie, client_sig_mpconvert_opt;
const client_signal_ops *client_ops_for(mpx_wire_class w);

/* "[a,b,..]": tcpi_bytes_received (acked: tcpi_bytes_acked) of each subflow of MPTCP socket fd
 * (agents/client/subflows.c); the number of subflows, -1 when not available (plain TCP,
 * fallback, buffer too small) */
int client_subflow_bytes(int fd, bool acked, char *out, size_t n);

/* Does the row go straight to the target (no --proxy)? Does --tfo apply? */
bool client_sig_direct(const mpx_signal *s);
bool client_sig_tfo_selectable(const mpx_signal *s);

/* conn.c: the connection machine; returns the exit code. */
int  client_run(client *cl);
void client_set_err(cconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t client_rel(const cconn *c);
void client_queue_sig(cconn *c, const uint8_t *p, size_t n);
/* Drops n bytes from the front of sig_in (counted as signalling bytes in when count). */
void client_sig_consume(cconn *c, size_t n, bool count);
void client_sig_step(cconn *c, int sub, const char *name);
void client_start_response(cconn *c);
const char *client_state_name(const cconn *c);

/* optd.c: the SYN option helper and the option budget. */
int  client_read_sysctl(const char *path, int dflt);
void client_compute_budget(client *cl);
int  client_optd_open(client *cl);
void client_optd_close(client *cl);
/* Marks the connection's SYN as its row needs (Router Alert / TCP option). 0, or -1 with
 * the error set. */
int  client_mark_syn(client *cl, cconn *c, const mpxa_addr *dst);
void client_unmark_syn(client *cl, cconn *c);
#endif
