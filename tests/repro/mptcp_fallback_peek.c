/* Minimal reproducer: an MPTCP socket that fell back to TCP (the peer is plain TCP) loses data
 * from the middle of the stream under load; recv(MSG_PEEK|MSG_DONTWAIT) probes make it likelier
 * (docs/kernel-findings.md 5). Self-contained: no project code.
 *
 *   server: mptcp_fallback_peek --server PORT
 *           a plain TCP listener (IPv4); each connection sends an 8-byte request (id, length,
 *           big endian) and gets `length` bytes of a pattern that encodes the offset, then FIN
 *   client: mptcp_fallback_peek --client ADDR PORT [--count N] [--parallel P] [--bytes B]
 *                               [--peek-ms MS] [--tcp] [--timeout-ms MS]
 *           N connections (default 2000), P at a time (default 2000), each an IPPROTO_MPTCP
 *           socket (--tcp: plain TCP) reading B bytes (default 100000) in one epoll loop and
 *           checking every byte. --peek-ms MS: every MS ms each connected socket that made no
 *           progress for MS ms gets recv(1, MSG_PEEK|MSG_DONTWAIT) (nothing is consumed).
 *           A connection whose stream skips data prints
 *             conn ID: HOLE at OFFSET: H bytes missing (H/1448 segments), then N more bytes, FIN
 *           and the last line is "summary: ok=... holes=... errors=... peeks=...".
 * Exit: 0 every stream intact, 1 a hole or error, 2 usage, 3 setup error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define MAXCONN 20000
#define PROBE 16            /* bytes compared to locate the data after a hole */

/* The byte at stream offset o of connection id: byte o%4 of the big-endian word
 * (o rounded down to 4) ^ key(id), so a stream that resumes after a hole tells where it is. */
static uint8_t pat(uint32_t id, uint64_t o)
{
    uint32_t w = (uint32_t)(o & ~(uint64_t)3) ^ (id * 0x9E3779B1u);
    return (uint8_t)(w >> (8 * (3 - (o & 3))));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

/* ---- server ---- */
typedef struct {
    int fd;
    uint8_t req[8];
    size_t req_len;
    uint32_t id, len;
    uint64_t off;
} sconn;

static int server(int port)
{
    nofile();
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0) {
        perror("server: listen");
        return 3;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    static struct epoll_event evs[1024];
    static uint8_t buf[65536];
    for (;;) {
        int n = epoll_wait(ep, evs, 1024, -1);
        for (int i = 0; i < n; i++) {
            sconn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            if (c->req_len < 8) {
                ssize_t r = read(c->fd, c->req + c->req_len, 8 - c->req_len);
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    goto done;
                }
                c->req_len += (size_t)r;
                if (c->req_len < 8)
                    continue;
                memcpy(&c->id, c->req, 4);
                memcpy(&c->len, c->req + 4, 4);
                c->id = ntohl(c->id);
                c->len = ntohl(c->len);
                struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                continue;
            }
            while (c->off < c->len) {
                size_t k = c->len - c->off < sizeof buf ? c->len - c->off : sizeof buf;
                for (size_t j = 0; j < k; j++)
                    buf[j] = pat(c->id, c->off + j);
                ssize_t w = write(c->fd, buf, k);
                if (w < 0 && errno == EAGAIN)
                    break;
                if (w <= 0)
                    goto done;
                c->off += (uint64_t)w;
            }
            if (c->off < c->len)
                continue;
        done:
            close(c->fd);   /* every request byte was read: an orderly FIN */
            free(c);
        }
    }
}

/* ---- client ---- */
typedef struct {
    int fd;
    uint32_t id;
    int connected, done;
    uint64_t got, hole_at, hole;   /* bytes received; where the stream first skipped, and how far */
    int in_hole;                   /* collecting PROBE bytes after a mismatch */
    uint8_t probe[PROBE];
    size_t nprobe;
    int64_t last_io;
} cconn;

static uint64_t want_bytes = 100000;
static unsigned long n_ok, n_holes, n_err, n_peeks;

/* After a mismatch at hole_at: find h with probe[] == pattern at hole_at + h. */
static void locate(cconn *c)
{
    for (uint64_t h = 1; c->hole_at + h + PROBE <= want_bytes; h++) {
        size_t j = 0;
        while (j < PROBE && c->probe[j] == pat(c->id, c->hole_at + h + j))
            j++;
        if (j == PROBE) {
            c->hole = h;
            return;
        }
    }
    c->hole = UINT64_MAX;   /* not a skip: foreign bytes */
}

static void finish(int ep, cconn *c, const char *err)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->done = 1;
    if (c->hole) {
        n_holes++;
        if (c->in_hole)
            printf("conn %u: MISMATCH at %llu, the stream ended %zu bytes later (%s)\n", c->id,
                   (unsigned long long)c->hole_at, c->nprobe, err ? err : "FIN");
        else if (c->hole == UINT64_MAX)
            printf("conn %u: WRONG BYTES at %llu (not a later part of the stream)\n", c->id,
                   (unsigned long long)c->hole_at);
        else
            printf("conn %u: HOLE at %llu: %llu bytes missing (%.2f segments of 1448), then %llu "
                   "more bytes, %s\n", c->id, (unsigned long long)c->hole_at,
                   (unsigned long long)c->hole, (double)c->hole / 1448,
                   (unsigned long long)(c->got - c->hole_at), err ? err : "FIN");
    } else if (err) {
        n_err++;
        printf("conn %u: ERROR %s after %llu bytes\n", c->id, err, (unsigned long long)c->got);
    } else {
        n_ok++;
    }
}

static void on_read(int ep, cconn *c)
{
    static uint8_t buf[256 * 1024];   /* large reads, at most 8 per wakeup, as mpx-client */
    for (int rounds = 0; rounds < 8; rounds++) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0) {
            if (errno == EAGAIN)
                return;
            finish(ep, c, strerror(errno));
            return;
        }
        if (r == 0) {
            uint64_t expect = want_bytes - (c->hole && c->hole != UINT64_MAX ? c->hole : 0);
            finish(ep, c, c->got == expect || c->hole ? NULL : "FIN before the end");
            return;
        }
        c->last_io = now_ms();
        for (ssize_t j = 0; j < r; j++, c->got++) {
            if (c->in_hole) {
                if (c->nprobe < PROBE)
                    c->probe[c->nprobe++] = buf[j];
                if (c->nprobe == PROBE) {
                    c->in_hole = 0;
                    locate(c);
                }
            } else if (!c->hole && buf[j] != pat(c->id, c->got)) {
                c->hole_at = c->got;
                c->in_hole = 1;
                c->hole = 1;   /* provisional until located */
                c->probe[0] = buf[j];
                c->nprobe = 1;
            }
        }
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: mptcp_fallback_peek --server PORT\n"
                    "       mptcp_fallback_peek --client ADDR PORT [--count N] [--parallel P] "
                    "[--bytes B] [--peek-ms MS] [--tcp] [--timeout-ms MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--server") == 0)
        return server(atoi(argv[2]));
    if (argc < 4 || strcmp(argv[1], "--client") != 0)
        return usage();
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
    if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
        return usage();
    long count = 2000, par = 2000, peek_ms = 0, timeout_ms = 30000;
    int proto = IPPROTO_MPTCP;
    for (int i = 4; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--tcp") == 0) {
            proto = IPPROTO_TCP;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        long v = strtol(argv[++i], NULL, 10);
        if (strcmp(o, "--count") == 0 && v > 0 && v <= MAXCONN)
            count = v;
        else if (strcmp(o, "--parallel") == 0 && v > 0 && v <= MAXCONN)
            par = v;
        else if (strcmp(o, "--bytes") == 0 && v > PROBE && v <= 1L << 30)
            want_bytes = (uint64_t)v;
        else if (strcmp(o, "--peek-ms") == 0 && v >= 0)
            peek_ms = v;
        else if (strcmp(o, "--timeout-ms") == 0 && v > 0)
            timeout_ms = v;
        else
            return usage();
    }
    nofile();
    cconn *cs = calloc((size_t)count, sizeof *cs);
    int ep = epoll_create1(0);
    if (!cs || ep < 0)
        return 3;
    static struct epoll_event evs[4096];
    long started = 0, active = 0, fallback_checked = 0;
    int64_t t_end = now_ms() + timeout_ms, last_probe = now_ms();
    while ((unsigned long)count > n_ok + n_holes + n_err) {
        while (started < count && active < par) {
            cconn *c = &cs[started];
            c->id = (uint32_t)started++;
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto);
            if (c->fd < 0) {
                perror("socket");
                return 3;
            }
            if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
                finish(ep, c, strerror(errno));
                continue;
            }
            c->last_io = now_ms();
            struct epoll_event e = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c };
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            active++;
        }
        int n = epoll_wait(ep, evs, 4096, 10);
        for (int i = 0; i < n; i++) {
            cconn *c = evs[i].data.ptr;
            if (c->done)
                continue;
            if (!c->connected && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    finish(ep, c, strerror(err));
                    active--;
                    continue;
                }
                uint32_t req[2] = { htonl(c->id), htonl((uint32_t)want_bytes) };
                if (write(c->fd, req, sizeof req) != (ssize_t)sizeof req) {
                    finish(ep, c, "request write");
                    active--;
                    continue;
                }
                c->connected = 1;
                if (proto == IPPROTO_MPTCP && !fallback_checked++) {
                    int p = 0;
                    socklen_t pl = sizeof p;
                    getsockopt(c->fd, SOL_SOCKET, SO_PROTOCOL, &p, &pl);
                    fprintf(stderr, "first connection: SO_PROTOCOL %d (MPTCP socket, plain TCP "
                                    "peer: fallen back)\n", p);
                }
                struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            }
            if (c->connected && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                on_read(ep, c);
                if (c->done)
                    active--;
            }
        }
        int64_t t = now_ms();
        if (peek_ms && t - last_probe >= peek_ms) {
            last_probe = t;
            for (long i = 0; i < started; i++) {
                cconn *c = &cs[i];
                if (c->done || !c->connected || t - c->last_io < peek_ms)
                    continue;
                uint8_t b;
                (void)recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
                n_peeks++;
            }
        }
        if (t > t_end) {
            for (long i = 0; i < started; i++)
                if (!cs[i].done)
                    finish(ep, &cs[i], "timeout");
            break;
        }
    }
    printf("summary: ok=%lu holes=%lu errors=%lu peeks=%lu\n", n_ok, n_holes, n_err, n_peeks);
    return n_holes || n_err ? 1 : 0;
}
