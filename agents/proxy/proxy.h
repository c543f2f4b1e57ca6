/* mpx-proxy internals: one event loop (epoll, edge-triggered for connections), one struct
 * conn per proxied connection, a timer heap, and front-ends (one file each, listed in
 * frontend.c) that learn the target from the client's signal into conn->target. The relay
 * (relay.c) moves bytes with splice() through a pipe per direction. */
#ifndef MPX_AGENTS_PROXY_H
#define MPX_AGENTS_PROXY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include "proto/addr.h"
#include "proto/signal.h"
#include "lib/sock.h"   /* mpxa_mptcp_state: MPTCP_INFO, fallback */

/* ---- front-ends (one listener each) ----
 * A front-end reads one kind of signal. Each is one entry defined in its own file
 * (convert.c, mpconvert.c, socks5.c, transparent.c, mpconvert_opt.c) and listed in frontend.c;
 * everything else (options, usage, listeners, counters, dispatch) iterates the table, so no
 * front-end name appears outside its own file. The name is the registry's front-end name
 * (proto/signal.h: mpx_signal.frontend): the --NAME PORT option, the config key, the stats key
 * and the log word. */
struct conn;
struct proxy_frontend {
    const char *name;
    uint16_t port;              /* default port (the registry's port for this front-end) */
    bool by_default;            /* opened when no listener option is given */
    const char *help;           /* one line for --help */
    /* listener needs */
    bool syn_data_no_cookie;    /* TCP_FASTOPEN_NO_COOKIE: SYN data without a TFO cookie */
    bool tfo_cookie;            /* real TFO cookies: granted on request, required for SYN data */
    bool transparent;           /* IP_TRANSPARENT: tproxied connections */
    bool needs_optd;            /* the target comes from mpx-optd (--optd PATH) */
    bool users;                 /* accepts --users (RFC 1929 credentials) */
    /* connection behaviour */
    bool local_addr;            /* keep the accepted socket's local address (c->local) */
    bool answer_silent;         /* a client silent until the header timeout gets an error
                                 * answer; otherwise it is closed quietly (RFC 8803 s6) */
    bool late_error;            /* errors known at accept (resource limits) are answered at
                                 * the request: SOCKS5 has a REP only there */
    /* callbacks, NULL = nothing to do */
    void (*on_accept)(struct conn *c);      /* the target is known at accept: set it, connect */
    void (*on_data)(struct conn *c);        /* new bytes in c->in (state CS_HEADER) */
    void (*on_connected)(struct conn *c);   /* downstream up: queue the reply */
    void (*send_error)(struct conn *c, int code, int value);  /* NULL: reset the client */
};
#define PROXY_FE_MAX 16
/* The table in frontend.c, in the order of the stats JSON keys. */
extern const struct proxy_frontend *const proxy_frontends[];
extern const int proxy_n_frontends;
/* Index in proxy_frontends of the front-end called name, or -1. */
int proxy_frontend_find(const char *name);

/* ---- configuration ---- */
struct prefix { mpx_addr a; int len; };  /* IPv4 kept as MPX_AF_INET */
#define MAX_PREFIXES 64
#define MAX_USERS 64

struct user { char name[256]; char pass[256]; };

/* CPE mode (cpe.c): one transparent LAN listener per --cpe PORT=SIGNAL[,wait=MS] */
#define MAX_CPE 32
struct cpe_entry { int port; const mpx_signal *sig; int wait_ms; };

/* What the proxy does with a connection whose signal came in the SYN (TFO data) while the
 * client's handshake is still incomplete (no third ACK yet): a spoofed SYN is enough to get
 * that far, so the default acts on it only when the kernel validated a TFO cookie. */
enum syn_data_policy {
    SDP_COOKIE,      /* default: at once only on a listener with real TFO cookies (the kernel
                      * checked the cookie); cookie-less SYN data waits for the third ACK */
    SDP_THIRD_ACK,   /* every connection waits for the third ACK */
    SDP_IMMEDIATE,   /* at once (0-RTT for cookie-less signals), at most syn_data_rate/s when
                      * syn_data_rate > 0 (the excess waits for the third ACK) */
};

struct config {
    int port[PROXY_FE_MAX];      /* per front-end (table index); 0 = listener off */
    mpx_addr bind;               /* family NONE = dual-stack wildcard */
    struct prefix allow[MAX_PREFIXES]; int n_allow;
    struct prefix deny[MAX_PREFIXES];  int n_deny;
    int max_per_client, max_conns;
    bool cookie_required;
    uint8_t cookie_key[32]; int cookie_key_len;
    int cookie_len;              /* 8..16 */
    char users_file[256];
    struct user users[MAX_USERS]; int n_users;
    bool stall_guard;
    int stall_guard_max_ms;      /* bound on the wait for the third ACK */
    int header_timeout_ms, connect_timeout_ms, linger_ms, drain_timeout_ms, idle_timeout_ms;
    int syn_data_policy;         /* enum syn_data_policy */
    int syn_data_rate;           /* immediate:RATE, connections per second; 0 = unlimited */
    int tfo_qlen, backlog;
    bool splice;                 /* false = read/write copy relay (benchmark comparison) */
    int pipe_size;
    char stats_file[256], ready_file[256];
    char optd_path[108];         /* --optd: mpx-optd (read mode) control socket */
    int verbose;
    bool allow_hairpin;          /* RFC 8803 s9.2: hairpinning enabled by default */
    bool no_resolver;            /* not an option: the fuzz target (SOCKS names fail, 64) */
    /* CPE mode (cpe.c, agents/proxy/README.md "CPE mode") */
    struct cpe_entry cpe[MAX_CPE]; int n_cpe;
    mpx_addr hag4, hag6;         /* --hag (family NONE = not given) */
    int hag_port;                /* --hag-port: 0 = the registry row's port */
    int cpe_timeout_ms;          /* longest a LAN client waits before the direct fallback */
    bool cpe_fallback_reset;     /* --cpe-fallback reset: reset the LAN client instead */
    bool no_syn_wscale0;         /* --no-syn-wscale0: the TFO+join workaround off */
    char socks_user[256], socks_pass[256];
    char optd_ctl[108];          /* --optd-ctl: mpx-optd (add mode) of the CPE's namespace */
    /* HAG side: --cpe-peer prefixes (clients counted as CPEs) */
    struct prefix cpe_peer[MAX_PREFIXES]; int n_cpe_peer;
};
extern struct config cfg;

/* ---- counters (stats.c) ---- */
struct stats {
    struct { uint64_t accepted, relayed, failed; } fe[PROXY_FE_MAX];  /* per front-end */
    uint64_t convert_err[256];   /* Error TLV codes sent */
    uint64_t socks_rep[256];     /* SOCKS reply codes sent (0 = success) */
    uint64_t bytes_up, bytes_down;
    uint64_t active, active_max, completed;
    uint64_t mptcp, fallback;    /* at close: MPTCP_INFO ok / EOPNOTSUPP */
    uint64_t stall_waits, stall_wait_us_total, stall_wait_us_max, stall_timeouts;
    uint64_t acl_client, acl_target, limit_client, limit_global;
    uint64_t cookies_issued, cookies_bad, cookies_ok, info_requests, ext_connects;
    uint64_t header_timeouts, connect_timeouts, malformed;
    uint64_t server_resets, client_resets, accept_errors, splice_fallbacks, resolves;
    uint64_t socks_auth_fail, epollout_missed, epollin_missed;
    uint64_t idle_timeouts;
    /* SYN data policy: connections started at once / held for the third ACK / held because
     * immediate:RATE was exceeded; holds that hit the header timeout (spoofed SYNs); checks */
    uint64_t sd_immediate, sd_deferred, sd_rate_limited, sd_hs_timeouts, sd_checks;
    uint64_t sd_wait_us_total, sd_wait_us_max;
    uint64_t gate_checks;        /* stall guard re-checks (event or back-off timer) */
    /* descriptors: the soft limit in effect, connections answered through the reserve fd at
     * the limit, accept pauses, stats written through the reserve */
    uint64_t fd_limit, fd_limit_answered, fd_limit_pauses, fd_stats_reserve;
    /* HAG side: accepted connections from --cpe-peer prefixes / from anyone else */
    struct { uint64_t cpe, direct; } clients[PROXY_FE_MAX];
};
extern struct stats st;
void stats_write(const char *why);
void stats_start(void);    /* JSON to cfg.stats_file or stderr */

/* ---- logging ---- */
void plog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOGV(...) do { if (cfg.verbose) plog(1, __VA_ARGS__); } while (0)

/* ---- time, timers ---- */
int64_t now_us(void);

/* ---- connection ---- */
enum cstate {
    CS_HEADER,      /* reading the signal (convert header, MP_CONVERT, SOCKS greeting...) */
    CS_RESOLVING,   /* SOCKS domain name on the resolver thread */
    CS_CONNECTING,  /* downstream connect in progress */
    CS_RELAY,
    CS_LINGER,      /* error sent, write side shut, draining the client until EOF */
    CS_SYNWAIT,     /* signal parsed, downstream connect held until the third ACK */
    CS_CPE,         /* CPE mode before the relay: waiting for LAN bytes, signalling the HAG,
                     * or the direct fallback's connect (cpe.c owns these events) */
};

enum ev_kind { EV_LISTEN, EV_CLIENT, EV_SERVER, EV_SIGNAL, EV_RESOLVER, EV_CPE_LISTEN };
struct ev { int kind; int fd; };

struct dir {                    /* one relay direction */
    int p[2];                   /* pipe (splice mode), -1 when not allocated */
    size_t n;                   /* bytes in the pipe */
    uint8_t *buf; size_t blen, boff;  /* copy mode buffer */
    bool eof, shut;             /* source hit EOF / destination write side shut */
    bool nosplice;              /* splice refused (EINVAL): copy for good */
    uint64_t moved;             /* bytes copied so far (switch to splice after 256 KiB) */
};

struct client_ent;
struct resolve_req;
struct cpe_conn;

struct conn {
    struct ev cev, sev;         /* first member pair: container_of from epoll data */
    uint64_t id;
    const struct proxy_frontend *fe;
    int fi;                     /* fe's index in proxy_frontends (counters, cfg.port) */
    int state;
    int cfd, sfd;
    mpx_addr client, local, target;
    struct client_ent *cent;
    int64_t t_accept;
    /* signal parsing */
    uint8_t in[1200]; size_t inlen;
    /* bytes for the client written once the gate opens (reply, echo) */
    uint8_t out[1100]; size_t outlen, outoff;
    /* bytes the client sent after its signal, to forward downstream first */
    uint8_t *early; size_t earlylen, earlyoff;
    /* readiness (edge-triggered) */
    bool c_rd, c_wr, s_rd, s_wr, c_hup;
    struct dir up, down;        /* up: client -> server */
    bool gate_open, gate_waiting; int64_t gate_t0;
    bool mptcp_down;            /* downstream is IPPROTO_MPTCP (Extended Connect with kind 30) */
    bool ext_connect;
    int socks_step;             /* socks5.c state */
    int err_code;               /* convert error to send, -1 none */
    bool close_after_out;       /* shut + linger once c->out is written (Info, SOCKS auth) */
    size_t echo_len;            /* Convert bytes to echo in Malformed/Unsupported errors */
    uint8_t errval[40]; size_t errval_len;  /* Error TLV value (cookie, option kinds) */
    size_t sig_len;             /* plain-mode-10: the IE bytes to echo (mpconvert.c) */
    bool want_supported;        /* Info TLV received */
    struct resolve_req *rreq;
    /* timer heap */
    int64_t deadline; long hidx; int tkind;
    bool closing;
    uint64_t nup, ndown;        /* bytes relayed client->server / server->client */
    bool up_active;             /* the last relay pass moved client->server bytes */
    bool known_fallback;        /* MPTCP_INFO already failed (plain TCP / fallback) */
    int64_t last_act;           /* last relayed byte (idle timeout) */
    int64_t sd_t0;              /* CS_SYNWAIT since */
    int pending_fail;           /* SOCKS: refuse with this code at the request (resource
                                 * limits need a REP, which exists only after the greeting) */
    struct conn *reap_next;
    struct conn *lprev, *lnext;  /* list of live connections (SIGUSR2 dump) */
    struct cpe_conn *cpe;        /* CPE mode: the WAN side's state (cpe.c), NULL otherwise */
};

/* main.c / loop.c */
int  loop_add(int fd, struct ev *e, uint32_t events);
void loop_del(int fd);
int  loop_mod(int fd, struct ev *e, uint32_t events);
void timer_set(struct conn *c, int64_t at_us, int kind);
void timer_clear(struct conn *c);
enum { T_NONE, T_HEADER, T_CONNECT, T_GATE, T_LINGER, T_IDLE, T_KICK, T_SYNWAIT };

/* conn.c */
struct conn *conn_new(int fi, int cfd, const mpx_addr *client, const mpx_addr *local);
/* The same for a front-end outside the table (CPE mode: fi = CPE_FI, counters unused). */
struct conn *conn_new_fe(const struct proxy_frontend *fe, int fi, int cfd, const mpx_addr *client,
                         const mpx_addr *local);
void conn_free(struct conn *c, bool reset_client);
void conn_reap(void);                         /* after each event batch */
void conn_dump(void);                         /* SIGUSR2: one line per live connection */
bool conn_gate_for_relay(struct conn *c);
void conn_on_client(struct conn *c, uint32_t events);
void conn_on_server(struct conn *c, uint32_t events);
void conn_on_timer(struct conn *c, int kind);
void conn_target_ready(struct conn *c);       /* front end parsed the target: ACL, connect */
void conn_fail(struct conn *c, int convert_err, int value, const char *why);
/* The SYN data policy: its option syntax into cf (0, or -1); its name; what it means for
 * front-end fi ("immediate", "third-ack", "immediate:RATE"). */
int  syn_data_policy_parse(const char *s, struct config *cf);
const char *syn_data_policy_str(const struct config *cf, char *buf, size_t cap);
const char *syn_data_policy_fe(const struct config *cf, int fi, char *buf, size_t cap);
/* fdlimit.c: spare descriptors, so that at the fd limit a connection can still be answered
 * (Error 64 / SOCKS REP 1) and the stats written. fdres_release() closes one (true if it was
 * held); fdres_restore() re-opens the missing ones after descriptors were freed and then calls
 * fdres_on_restore (main.c: resume accepting). */
enum { FDRES_ACCEPT, FDRES_STATS, FDRES_N };
void fdres_init(void);
bool fdres_release(int which);
void fdres_restore(void);
extern void (*fdres_on_restore)(void);
/* optd.c: the MP_CONVERT target mpx-optd decoded from this client's SYN (option space) */
int optd_lookup(const char *path, const mpx_addr *client, mpx_addr *target, char *why, size_t cap);
void conn_queue_out(struct conn *c, const void *p, size_t n);
void conn_set_early(struct conn *c, const uint8_t *p, size_t n);
void conn_start_gate(struct conn *c);         /* reply queued: wait until writable, then relay */
int  conn_read_more(struct conn *c);          /* read into c->in: >0 bytes, 0 EOF, -1 EAGAIN, -2 err */
extern uint64_t conns_active;
extern bool draining;

/* socks5.c: RFC 1929 users file ("user:password" lines) into cf->users; count or -1 */
int  socks5_load_users(struct config *cf, const char *file);

/* args.c: the command line (and --config files) into *cf. Returns -1 to go on, else the
 * exit status: 0 after --help / --version, 2 for a usage or config error (message printed). */
int  parse_args(int argc, char **argv, struct config *cf);

/* relay.c */
void relay_start(struct conn *c);
void relay_run(struct conn *c);
void relay_kick(struct conn *c);
void relay_pool_trim(void);           /* free cached copy buffers (idle) */      /* T_KICK: blocked client write re-check */
void dir_free(struct dir *d);

/* acl.c */
int  prefix_parse(const char *s, struct prefix *p);
bool acl_client_allowed(const mpx_addr *a);
bool prefix_match(const struct prefix *p, const mpx_addr *a);
/* 0 ok, else the reason class name is stored in *why */
int  acl_target_check(const mpx_addr *a, const char **why);
void acl_refresh_local(void);
struct client_ent *client_get(const mpx_addr *a);
void client_put(struct client_ent *e);
int  client_count(const struct client_ent *e);

/* cookie.c */
size_t cookie_make(const mpx_addr *client, uint8_t *out);          /* cfg.cookie_len bytes */
bool   cookie_check(const mpx_addr *client, const uint8_t *ck, size_t n);
void   cookie_init_key(void);

/* resolve.c */
int  resolver_start(void);
int  resolver_fd(void);
int  resolve_submit(struct conn *c, const char *name, uint16_t port);
void resolve_on_event(void);
void resolve_cancel(struct conn *c);

/* cpe.c: CPE mode (agents/proxy/README.md). Listeners, the per-connection machine until the
 * relay starts (state CS_CPE), counters. */
#define CPE_FI (PROXY_FE_MAX - 1)   /* st.fe[] slot of CPE connections (not in the stats) */
int  cpe_parse_entry(const char *s, struct cpe_entry *e, char *why, size_t cap);
int  cpe_check_config(const struct config *cf, char *why, size_t cap);
int  cpe_open_listeners(void);      /* 0, or -1 (logged) */
void cpe_close_listeners(void);
void cpe_on_accept(struct ev *e);
void cpe_on_client(struct conn *c, uint32_t events);
void cpe_on_server(struct conn *c, uint32_t events);
void cpe_on_timer(struct conn *c, int kind);
void cpe_conn_end(struct conn *c);  /* conn_free: counters, WAN-side cleanup */
void cpe_stats_write(FILE *f);      /* "cpe":{...}, into the stats JSON */
void cpe_startup_report(void);
void stats_count_client(int fi, const mpx_addr *client);   /* --cpe-peer or direct */

/* util */
void sa_to_addr(const struct sockaddr_storage *ss, mpx_addr *a);
const char *addr_str(const mpx_addr *a, char *buf, size_t cap);
#endif
