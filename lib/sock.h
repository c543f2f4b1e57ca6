/* Socket helpers for the agents: MPTCP (IPPROTO_MPTCP = 262) sockets, TFO knobs, MPTCP_INFO
 * with fallback detection and TCP_INFO's SYN-data flag. The Debian uapi headers are 6.1 (older
 * than the 6.18 kernel), so the MPTCP constants and struct are defined here. */
#ifndef MPX_AGENTS_SOCK_H
#define MPX_AGENTS_SOCK_H
#include <stdbool.h>
#include <stdint.h>
#include "lib/addr.h"

#define MPXA_IPPROTO_MPTCP 262
#define MPXA_SOL_MPTCP     284
#define MPXA_MPTCP_INFO    1
#define MPXA_MPTCP_INFO_FLAG_FALLBACK            0x1u
#define MPXA_MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED 0x2u
#define MPXA_TCPI_OPT_SYN_DATA 32   /* SYN-ACK acked the data in the SYN (sent or received) */

/* Layout of struct mptcp_info as of Linux 6.18 (append-only; the kernel copies
 * min(optlen, its size), so older kernels fill only a prefix: check the returned length). */
struct mpxa_mptcp_info {
    uint8_t  subflows;            /* additional subflows (the initial one not counted) */
    uint8_t  add_addr_signal;
    uint8_t  add_addr_accepted;
    uint8_t  subflows_max;
    uint8_t  add_addr_signal_max;
    uint8_t  add_addr_accepted_max;
    uint32_t flags;
    uint32_t token;
    uint64_t write_seq;
    uint64_t snd_una;
    uint64_t rcv_nxt;
    uint8_t  local_addr_used;
    uint8_t  local_addr_max;
    uint8_t  csum_enabled;
    uint32_t retransmits;
    uint64_t bytes_retrans;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t bytes_acked;
    uint8_t  subflows_total;      /* 6.7+: all subflows incl. the initial one */
    uint8_t  endp_laminar_max;
    uint8_t  endp_fullmesh_max;
    uint8_t  reserved;
    uint32_t last_data_sent;
    uint32_t last_data_recv;
    uint32_t last_ack_recv;
};

typedef enum {
    MPXA_MP_TCP = 0,       /* not an MPTCP socket (SO_PROTOCOL 6) */
    MPXA_MP_MPTCP,         /* MPTCP socket, MPTCP_INFO answered, not fallen back */
    MPXA_MP_FALLBACK,      /* MPTCP socket fallen back to TCP: MPTCP_INFO fails with EOPNOTSUPP
                            * (IPv4) or ENOPROTOOPT (IPv6), or reports the FALLBACK flag */
    MPXA_MP_ERROR          /* getsockopt failed otherwise */
} mpxa_mp_kind;

typedef struct {
    mpxa_mp_kind kind;
    int  subflows;          /* total subflows (>= 1 when connected); 1 for TCP/fallback */
    bool remote_key;        /* MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED: fully established */
    uint32_t token;
    int  err;               /* errno of a failed getsockopt */
} mpxa_mp_state;

const char *mpxa_mp_kind_str(mpxa_mp_kind k);   /* "tcp" "mptcp" "fallback" "error" */

/* socket(family, SOCK_STREAM[|SOCK_NONBLOCK], mptcp ? 262 : 0) with SOCK_CLOEXEC. */
int  mpxa_socket(int family, bool mptcp, bool nonblock);
int  mpxa_set_nonblock(int fd);
int  mpxa_set_nodelay(int fd, bool on);
int  mpxa_set_reuseaddr(int fd);
int  mpxa_set_tfo_listen(int fd, int qlen);          /* TCP_FASTOPEN */
int  mpxa_set_tfo_no_cookie(int fd, bool on);        /* TCP_FASTOPEN_NO_COOKIE */
int  mpxa_set_tfo_connect(int fd, bool on);          /* TCP_FASTOPEN_CONNECT */
int  mpxa_sock_protocol(int fd);                     /* SO_PROTOCOL, -1 on error */

/* Listener: socket, SO_REUSEADDR, IPV6_V6ONLY for v6, optional TFO (tfo_qlen > 0) and
 * TCP_FASTOPEN_NO_COOKIE, bind, listen(backlog). nonblocking. Returns fd or -1 (errno set;
 * *what names the failing step if non-NULL). */
int  mpxa_listen(const mpxa_addr *a, bool mptcp, int backlog, int tfo_qlen, bool tfo_no_cookie,
                 const char **what);

/* Raw MPTCP_INFO: returns the byte count filled (>0) or -1 with errno (EOPNOTSUPP after
 * fallback or on a TCP socket). */
int  mpxa_mptcp_info(int fd, struct mpxa_mptcp_info *mi);
/* Classifies the socket: tcp / mptcp (+subflows, remote key) / fallback. */
mpxa_mp_state mpxa_mptcp_state(int fd);

/* TCP_INFO tcpi_options (for MPTCP sockets: the first subflow's). -1 on error. */
int  mpxa_tcpi_options(int fd);
/* tcpi_fastopen_client_fail (0 unspec, 1 no cookie, 2 data not acked, 3 SYN retransmitted),
 * -1 on error. */
int  mpxa_tcpi_tfo_client_fail(int fd);
/* TCP_INFO tcpi_rtt in microseconds, -1 on error. */
long mpxa_tcpi_rtt_us(int fd);
/* TCP_INFO tcpi_state (TCP_SYN_RECV for an accepted TFO child before the third ACK; for
 * MPTCP sockets: the first subflow's). -1 on error. */
int  mpxa_tcpi_state(int fd);
/* Raises the open-file soft limit to the hard limit; with want > 0 first tries to raise both
 * to want (a privileged process may lift the hard limit). A proxy or client holding thousands
 * of sockets. Returns the soft limit in effect afterwards (0 if unknown): a raise can be
 * refused, the caller reports what it got. */
unsigned long mpxa_raise_nofile(unsigned long want);
#endif
