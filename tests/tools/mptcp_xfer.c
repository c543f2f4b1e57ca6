/* mptcp_xfer: a tiny MPTCP (or TCP) bulk transfer for the topology tests.
 * One side listens, the other connects; the side given --send N writes N bytes of a
 * deterministic pattern and shuts down its write side, both read until EOF. Each side prints
 * one JSON line: bytes sent/received, an FNV-1a 64 digest of each stream, the MPTCP subflow
 * count (MPTCP_INFO, taken before close) and the elapsed time.
 * Exit: 0 ok, 1 transfer error, 2 usage, 3 setup error. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/mptcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "lib/file.h"
#include "lib/parse.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef MPX_VERSION
#define MPX_VERSION "dev"
#endif

struct xfer {
    uint64_t sent, recv, h_sent, h_recv;
    uint64_t pat; /* pattern generator state */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void pattern(struct xfer *x, unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* xorshift64: cheap, deterministic, not compressible */
        x->pat ^= x->pat << 13;
        x->pat ^= x->pat >> 7;
        x->pat ^= x->pat << 17;
        buf[i] = (unsigned char)x->pat;
    }
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host)) return -1;
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = 0;
    char *h = host;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai;
    if (getaddrinfo(h, colon + 1, &hints, &ai) != 0) return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int subflows(int fd)
{
    struct mptcp_info mi;
    socklen_t l = sizeof(mi);
    memset(&mi, 0, sizeof(mi));
    if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &l) < 0) return -1;
    return mi.mptcpi_subflows; /* additional subflows, the initial one not counted */
}

static void addr_str(int fd, int peer, char *out, size_t len)
{
    struct sockaddr_storage a;
    socklen_t l = sizeof(a);
    char h[INET6_ADDRSTRLEN];
    if ((peer ? getpeername(fd, (struct sockaddr *)&a, &l)
              : getsockname(fd, (struct sockaddr *)&a, &l)) < 0)
        return;
    if (a.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
        inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
        snprintf(out, len, "%s:%u", h, ntohs(s4->sin_port));
    } else if (a.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
        inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
        snprintf(out, len, "[%s]:%u", h, ntohs(s6->sin6_port));
    }
}

static void wait_subflows(int fd, int want, int ms)
{
    uint64_t end = now_us() + (uint64_t)ms * 1000u;
    while (want > 0 && subflows(fd) < want && now_us() < end) usleep(5000);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: mptcp_xfer (--listen ADDR:PORT | --connect ADDR:PORT) [--send BYTES]\n"
        "                  [--tcp] [--wait-subflows N] [--wait-ms MS] [--ready FILE]\n"
        "                  [--timeout S] [--seed N]\n"
        "  --listen      accept one connection ([v6addr]:port for IPv6)\n"
        "  --connect     connect to the listener\n"
        "  --send N      write N pattern bytes, then shut the write side; both sides read to EOF\n"
        "  --tcp         plain TCP instead of IPPROTO_MPTCP\n"
        "  --fastopen    client: send the first (up to 1000) bytes in the SYN (MSG_FASTOPEN)\n"
        "  --wait-subflows N  before sending, wait (up to --wait-ms, default 2000) for N extra\n"
        "                subflows; client side only: the in-kernel PM opens joins once data\n"
        "                has flowed, so a listener waiting for them before sending only stalls\n"
        "  --ready FILE  written once listening\n"
        "  --timeout S   receive/send timeout (default 30)\n"
        "Prints one JSON line. Exit 0 ok, 1 transfer error, 2 usage, 3 setup error.\n");
}

/* A numeric option, checked: the whole string, within [lo, hi]; exits 2 otherwise. */
static uint64_t num_arg(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    uint64_t v;
    if (mpx_parse_u64(s, lo, hi, &v) < 0) {
        fprintf(stderr, "mptcp_xfer: --%s wants an integer %" PRIu64 "..%" PRIu64 ", got '%s'\n",
                opt, lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *listen_s = NULL, *connect_s = NULL, *ready = NULL;
    uint64_t send_n = 0, seed = 1;
    int tcp = 0, want_sf = 0, wait_ms = 2000, timeout_s = 30, fastopen = 0;
    static const struct option opts[] = { { "listen", required_argument, 0, 'l' },
                                          { "connect", required_argument, 0, 'c' },
                                          { "send", required_argument, 0, 's' },
                                          { "tcp", no_argument, 0, 't' },
                                          { "wait-subflows", required_argument, 0, 'w' },
                                          { "wait-ms", required_argument, 0, 'W' },
                                          { "ready", required_argument, 0, 'r' },
                                          { "timeout", required_argument, 0, 'T' },
                                          { "seed", required_argument, 0, 'S' },
                                          { "help", no_argument, 0, 'h' },
                                          { "fastopen", no_argument, 0, 'F' },
                                          { "version", no_argument, 0, 'V' },
                                          { 0, 0, 0, 0 } };
    int o;
    while ((o = getopt_long(argc, argv, "l:c:s:tw:W:r:T:S:FhV", opts, NULL)) != -1) {
        switch (o) {
        case 'l': listen_s = optarg; break;
        case 'c': connect_s = optarg; break;
        case 's': send_n = num_arg("send", optarg, 0, UINT64_MAX); break;
        case 't': tcp = 1; break;
        case 'w': want_sf = (int)num_arg("wait-subflows", optarg, 0, 64); break;
        case 'W': wait_ms = (int)num_arg("wait-ms", optarg, 0, 3600000); break;
        case 'r': ready = optarg; break;
        case 'T': timeout_s = (int)num_arg("timeout", optarg, 1, 86400); break;
        case 'S':
            if (mpx_parse_seed(optarg, &seed) < 0) {
                fprintf(stderr,
                        "mptcp_xfer: --seed wants an integer 0..%" PRIu64
                        " without leading zeros\n",
                        (uint64_t)MPX_SEED_MAX);
                return 2;
            }
            break;
        case 'F': fastopen = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("mptcp_xfer %s\n", MPX_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!!listen_s == !!connect_s || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_addr(listen_s ? listen_s : connect_s, &ss, &sl) < 0) {
        fprintf(stderr, "mptcp_xfer: bad address\n");
        return 2;
    }
    int proto = tcp ? IPPROTO_TCP : IPPROTO_MPTCP;
    int fd = socket(ss.ss_family, SOCK_STREAM, proto);
    if (fd < 0) {
        perror("mptcp_xfer: socket");
        return 3;
    }
    uint64_t t0 = now_us();
    int lfd = -1;
    static unsigned char prebuf[1000];
    size_t pre_n = 0;
    if (listen_s) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4) < 0) {
            perror("mptcp_xfer: bind/listen");
            return 3;
        }
        if (ready) {
            if (mpx_file_ready(ready) < 0) {
                perror("mptcp_xfer: ready file");
                return 3;
            }
        }
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            perror("mptcp_xfer: accept");
            return 3;
        }
        /* keep the listener open: MP_JOIN SYNs are received through it */
        lfd = fd;
        fd = c;
        t0 = now_us();
    } else if (fastopen) {
        /* the first chunk rides in the SYN (MSG_FASTOPEN: cookie or, with
         * net.ipv4.tcp_fastopen & 0x4, without one) */
        size_t n = send_n < 1000 ? (size_t)send_n : 1000;
        struct xfer pre = { .pat = seed ? seed : 1 };
        pattern(&pre, prebuf, n);
        ssize_t w = sendto(fd, prebuf, n, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
        if (w < 0) {
            perror("mptcp_xfer: sendto(MSG_FASTOPEN)");
            return 3;
        }
        pre_n = (size_t)w;
    } else if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        perror("mptcp_xfer: connect");
        return 3;
    }
    /* addresses now: once the connection is closed getpeername fails */
    char peer[80] = "?", local[80] = "?";
    addr_str(fd, 1, peer, sizeof(peer));
    addr_str(fd, 0, local, sizeof(local));
    struct timeval tv = { .tv_sec = timeout_s };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    struct xfer x = { .h_sent = 0xcbf29ce484222325ULL,
                      .h_recv = 0xcbf29ce484222325ULL,
                      .pat = seed ? seed : 1 };
    static unsigned char buf[65536];
    int err = 0;
    if (pre_n) {
        /* what went out with the SYN is the start of the stream: regenerate exactly
         * those bytes so the pattern state continues after them */
        pattern(&x, prebuf, pre_n);
        x.h_sent = fnv(x.h_sent, prebuf, pre_n);
        x.sent = pre_n;
    }
    if (send_n) {
        if (!tcp) wait_subflows(fd, want_sf, wait_ms);
        while (x.sent < send_n) {
            size_t n = sizeof(buf);
            if (send_n - x.sent < n) n = (size_t)(send_n - x.sent);
            pattern(&x, buf, n);
            size_t off = 0;
            while (off < n) {
                ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    perror("mptcp_xfer: send");
                    err = 1;
                    goto done;
                }
                off += (size_t)w;
            }
            x.h_sent = fnv(x.h_sent, buf, n);
            x.sent += n;
        }
        shutdown(fd, SHUT_WR);
    }
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            perror("mptcp_xfer: recv");
            err = 1;
            break;
        }
        if (r == 0) break;
        x.h_recv = fnv(x.h_recv, buf, (size_t)r);
        x.recv += (uint64_t)r;
    }
done:;
    int sf = tcp ? -1 : subflows(fd);
    int sp = 0;
    socklen_t spl = sizeof(sp);
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &sp, &spl);
    printf("{\"role\":\"%s\",\"peer\":\"%s\",\"local\":\"%s\",\"proto\":%d,\"sent\":%llu,\"recv\":%"
           "llu,\"hash_sent\":\"%016llx\","
           "\"hash_recv\":\"%016llx\",\"subflows\":%d,\"elapsed_us\":%llu,\"ok\":%s}\n",
           listen_s ? "server" : "client", peer, local, sp, (unsigned long long)x.sent,
           (unsigned long long)x.recv, (unsigned long long)x.h_sent, (unsigned long long)x.h_recv,
           sf, (unsigned long long)(now_us() - t0), err ? "false" : "true");
    close(fd);
    if (lfd >= 0) close(lfd);
    return err;
}
