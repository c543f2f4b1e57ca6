/* mpx-proxy internals: one event loop (epoll, edge-triggered for connections), one struct
 * conn per proxied connection, a timer heap, and per-method front ends (convert.c,
 * mpconvert.c, socks5.c) that parse the client's signal and fill conn->target. The relay
 * (relay.c) moves bytes with splice() through a pipe per direction. */
#ifndef MPX_AGENTS_PROXY_H
#define MPX_AGENTS_PROXY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include "proto/addr.h"
#include "lib/sock.h"   /* mpxa_mptcp_state: MPTCP_INFO, fallback */

/* ---- methods (one listener each) ---- */
/* M_CONVERT_TFO: the same RFC 8803 parsing on a listener that issues and requires real TFO
 * cookies (no TCP_FASTOPEN_NO_COOKIE), for clients that put a TFO cookie in the SYN. */
enum { M_CONVERT, M_MPCONVERT, M_MPCONVERT_IE, M_SOCKS5, M_TRANSPARENT, M_CONVERT_TFO,
       M_MPCONVERT_OPT, M__N };
#define IS_CONVERT(m) ((m) == M_CONVERT || (m) == M_CONVERT_TFO)
extern const char *const method_name[M__N];

/* ---- configuration ---- */
struct prefix { mpx_addr a; int len; };  /* IPv4 kept as MPX_AF_INET */
#define MAX_PREFIXES 64
#define MAX_USERS 64

struct user { char name[256]; char pass[256]; };

struct config {
    int port[M__N];              /* 0 = listener off */
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
    int tfo_qlen, backlog;
    bool splice;                 /* false = read/write copy relay (benchmark comparison) */
    int pipe_size;
    char stats_file[256], ready_file[256];
    char optd_path[108];         /* mpconvert-opt: mpx-optd (read mode) control socket */
    int verbose;
    bool allow_hairpin;          /* RFC 8803 s9.2: hairpinning enabled by default */
};
extern struct config cfg;

/* ---- counters (stats.c) ---- */
struct stats {
    uint64_t accepted[M__N], relayed[M__N], failed[M__N];
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
};

enum ev_kind { EV_LISTEN, EV_CLIENT, EV_SERVER, EV_SIGNAL, EV_RESOLVER };
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

struct conn {
    struct ev cev, sev;         /* first member pair: container_of from epoll data */
    uint64_t id;
    int method;
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
    size_t sig_len;             /* mpconvert-ie: IE bytes to echo */
    bool want_supported;        /* Info TLV received */
    struct resolve_req *rreq;
    /* timer heap */
    int64_t deadline; long hidx; int tkind;
    bool closing;
    uint64_t nup, ndown;        /* bytes relayed client->server / server->client */
    bool up_active;             /* the last relay pass moved client->server bytes */
    bool known_fallback;        /* MPTCP_INFO already failed (plain TCP / fallback) */
    struct conn *reap_next;
    struct conn *lprev, *lnext;  /* list of live connections (SIGUSR2 dump) */
};

/* main.c / loop.c */
int  loop_add(int fd, struct ev *e, uint32_t events);
void loop_del(int fd);
void timer_set(struct conn *c, int64_t at_us, int kind);
void timer_clear(struct conn *c);
enum { T_NONE, T_HEADER, T_CONNECT, T_GATE, T_LINGER, T_IDLE, T_KICK };

/* conn.c */
struct conn *conn_new(int method, int cfd, const mpx_addr *client, const mpx_addr *local);
void conn_free(struct conn *c, bool reset_client);
void conn_reap(void);                         /* after each event batch */
void conn_dump(void);                         /* SIGUSR2: one line per live connection */
bool conn_gate_for_relay(struct conn *c);
void conn_on_client(struct conn *c, uint32_t events);
void conn_on_server(struct conn *c, uint32_t events);
void conn_on_timer(struct conn *c, int kind);
void conn_target_ready(struct conn *c);       /* front end parsed the target: ACL, connect */
void conn_fail(struct conn *c, int convert_err, int value, const char *why);
/* optd.c: the MP_CONVERT target mpx-optd decoded from this client's SYN (option space) */
int optd_lookup(const char *path, const mpx_addr *client, mpx_addr *target, char *why, size_t cap);
void conn_queue_out(struct conn *c, const void *p, size_t n);
void conn_set_early(struct conn *c, const uint8_t *p, size_t n);
void conn_start_gate(struct conn *c);         /* reply queued: wait until writable, then relay */
int  conn_read_more(struct conn *c);          /* read into c->in: >0 bytes, 0 EOF, -1 EAGAIN, -2 err */
extern uint64_t conns_active;
extern bool draining;

/* front ends: called when new bytes are in c->in (state CS_HEADER) */
void convert_on_data(struct conn *c);
void convert_on_connected(struct conn *c);    /* downstream up: build the reply */
void convert_send_error(struct conn *c, int code, int value);
void mpconvert_on_data(struct conn *c);
void mpconvert_on_connected(struct conn *c);
void socks5_on_data(struct conn *c);
void socks5_on_connected(struct conn *c);
void socks5_send_error(struct conn *c, int rep);
int  socks5_load_users(const char *file);

/* relay.c */
void relay_start(struct conn *c);
void relay_run(struct conn *c);
void relay_kick(struct conn *c);
void relay_pool_trim(void);           /* free cached copy buffers (idle) */      /* T_KICK: blocked client write re-check */
void dir_free(struct dir *d);

/* acl.c */
int  prefix_parse(const char *s, struct prefix *p);
bool acl_client_allowed(const mpx_addr *a);
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

/* util */
void sa_to_addr(const struct sockaddr_storage *ss, mpx_addr *a);
const char *addr_str(const mpx_addr *a, char *buf, size_t cap);
#endif
