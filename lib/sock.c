#include "lib/sock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/tcp.h>   /* struct tcp_info with tcpi_fastopen_client_fail; not netinet/tcp.h */

#ifndef SOL_TCP
#define SOL_TCP 6
#endif

const char *mpxa_mp_kind_str(mpxa_mp_kind k)
{
    switch (k) {
    case MPXA_MP_TCP: return "tcp";
    case MPXA_MP_MPTCP: return "mptcp";
    case MPXA_MP_FALLBACK: return "fallback";
    default: return "error";
    }
}

int mpxa_socket(int family, bool mptcp, bool nonblock)
{
    int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
    return socket(family, type, mptcp ? MPXA_IPPROTO_MPTCP : 0);
}

int mpxa_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int seti(int fd, int level, int opt, int v)
{
    return setsockopt(fd, level, opt, &v, sizeof v);
}

int mpxa_set_nodelay(int fd, bool on) { return seti(fd, SOL_TCP, TCP_NODELAY, on); }
int mpxa_set_reuseaddr(int fd) { return seti(fd, SOL_SOCKET, SO_REUSEADDR, 1); }
int mpxa_set_tfo_listen(int fd, int qlen) { return seti(fd, SOL_TCP, TCP_FASTOPEN, qlen); }
int mpxa_set_tfo_no_cookie(int fd, bool on) { return seti(fd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, on); }
int mpxa_set_tfo_connect(int fd, bool on) { return seti(fd, SOL_TCP, TCP_FASTOPEN_CONNECT, on); }

int mpxa_sock_protocol(int fd)
{
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) < 0)
        return -1;
    return v;
}

int mpxa_listen(const mpxa_addr *a, bool mptcp, int backlog, int tfo_qlen, bool tfo_no_cookie,
                const char **what)
{
    const char *w = "socket";
    int fd = mpxa_socket(mpxa_addr_family(a), mptcp, true);
    if (fd < 0)
        goto fail;
    w = "SO_REUSEADDR";
    if (mpxa_set_reuseaddr(fd) < 0)
        goto fail;
    if (mpxa_addr_family(a) == AF_INET6) {
        w = "IPV6_V6ONLY";
        if (seti(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
            goto fail;
    }
    if (tfo_qlen > 0) {
        w = "TCP_FASTOPEN";
        if (mpxa_set_tfo_listen(fd, tfo_qlen) < 0)
            goto fail;
    }
    if (tfo_no_cookie) {
        w = "TCP_FASTOPEN_NO_COOKIE";
        if (mpxa_set_tfo_no_cookie(fd, true) < 0)
            goto fail;
    }
    w = "bind";
    if (bind(fd, &a->u.sa, a->len) < 0)
        goto fail;
    w = "listen";
    if (listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:
    if (what)
        *what = w;
    if (fd >= 0) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return -1;
}

int mpxa_mptcp_info(int fd, struct mpxa_mptcp_info *mi)
{
    socklen_t l = sizeof *mi;
    memset(mi, 0, sizeof *mi);
    if (getsockopt(fd, MPXA_SOL_MPTCP, MPXA_MPTCP_INFO, mi, &l) < 0)
        return -1;
    return (int)l;
}

mpxa_mp_state mpxa_mptcp_state(int fd)
{
    mpxa_mp_state st = { .kind = MPXA_MP_TCP, .subflows = 1 };
    int proto = mpxa_sock_protocol(fd);
    if (proto != MPXA_IPPROTO_MPTCP) {
        if (proto < 0) {
            st.kind = MPXA_MP_ERROR;
            st.err = errno;
        }
        return st;
    }
    struct mpxa_mptcp_info mi;
    int l = mpxa_mptcp_info(fd, &mi);
    if (l < 0) {
        /* kernel-facts Q2: MPTCP_INFO fails once the socket fell back, because the call is
         * passed to the TCP subflow: EOPNOTSUPP from IPv4 (ip_getsockopt), ENOPROTOOPT from
         * IPv6 (ipv6_getsockopt) -- measured on 6.18 */
        st.err = errno;
        st.kind = errno == EOPNOTSUPP || errno == ENOPROTOOPT ? MPXA_MP_FALLBACK : MPXA_MP_ERROR;
        return st;
    }
    if (mi.flags & MPXA_MPTCP_INFO_FLAG_FALLBACK) {
        st.kind = MPXA_MP_FALLBACK;
        return st;
    }
    st.kind = MPXA_MP_MPTCP;
    st.remote_key = mi.flags & MPXA_MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED;
    st.token = mi.token;
    if ((size_t)l >= offsetof(struct mpxa_mptcp_info, subflows_total) + 1 && mi.subflows_total)
        st.subflows = mi.subflows_total;
    else
        st.subflows = mi.subflows + 1;
    return st;
}

static int tcpinfo(int fd, struct tcp_info *ti)
{
    socklen_t l = sizeof *ti;
    memset(ti, 0, sizeof *ti);
    return getsockopt(fd, SOL_TCP, TCP_INFO, ti, &l);
}

int mpxa_tcpi_options(int fd)
{
    struct tcp_info ti;
    if (tcpinfo(fd, &ti) < 0)
        return -1;
    return ti.tcpi_options;
}

int mpxa_tcpi_state(int fd)
{
    struct tcp_info ti;
    if (tcpinfo(fd, &ti) < 0)
        return -1;
    return ti.tcpi_state;
}

int mpxa_tcpi_tfo_client_fail(int fd)
{
    struct tcp_info ti;
    if (tcpinfo(fd, &ti) < 0)
        return -1;
    return ti.tcpi_fastopen_client_fail;
}

long mpxa_tcpi_rtt_us(int fd)
{
    struct tcp_info ti;
    if (tcpinfo(fd, &ti) < 0)
        return -1;
    return (long)ti.tcpi_rtt;
}

unsigned long mpxa_raise_nofile(unsigned long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (want && rl.rlim_max < want) {
        struct rlimit r2 = { want, want };
        if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
            rl = r2;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* what is in effect now (a refused raise leaves the old values) */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    return rl.rlim_cur;
}
