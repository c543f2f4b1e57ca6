/* Minimal reproducer: MPTCP passive TFO (data in the SYN accepted by the listener) + a second
 * subflow (MP_JOIN created by the client's in-kernel path manager) stalls bulk transfers from
 * the listener to the client on Linux 6.18. Self-contained: no project code.
 *
 *   server: mptcp_tfo_join_stall --server PORT
 *   client: mptcp_tfo_join_stall --client IPV4 PORT [--no-tfo] [--syn-wscale0] [--bytes N]
 *                [--count C] [--parallel P] [--stall-ms MS] [--timeout-ms MS] [--hold-ms MS]
 *
 * Request (client -> server, in the SYN with TFO): 8 bytes "MPXB" + u32 length (big endian).
 * The server waits until MPTCP_INFO shows the client's key (the third ACK arrived: avoids the
 * separate "reply written before the third ACK" stall, mptcp_tfo_reply_stall.c), then writes
 * the length in bytes of pattern (byte i = i % 251) and closes. The client checks every byte.
 *
 * Client output, one line per connection:
 *   conn K: ok|STALL|ERROR bytes=B/N ms=T tfo=syn-data-acked|none subflows=S sf_rx=[a,b]
 * then "summary: ok=X stalled=Y errors=Z". sf_rx: tcpi_bytes_received of each subflow
 * (MPTCP_TCPINFO). STALL: no byte for --stall-ms (default 1000) before the end; the
 * connection is then given up after --timeout-ms (default 10000) or reported when it resumes.
 * --syn-wscale0 (the workaround): SO_RCVBUF 65535 before the SYN, so its window scale is 0 and
 * the listener cannot mis-scale the SYN window (see docs/kernel-findings.md), then
 * SO_RCVBUFFORCE 6 MB so the MP_JOIN subflows get a normal window scale. --hold-ms: the
 * client reads nothing for MS after the SYN (its window closes; the listener keeps sending).
 * Exit: 0 every connection ok, 1 a stall or an error, 2 usage, 3 setup error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#define MPTCP_INFO_OPT 1
#define MPTCP_TCPINFO_OPT 2
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#define REMOTE_KEY_RECEIVED 2
#define SYN_DATA_ACKED 0x20 /* TCPI_OPT_SYN_DATA */

struct minfo {
    uint8_t subflows, sig, acc, sf_max, sig_max, acc_max;
    uint32_t flags, token;
    uint64_t write_seq, snd_una, rcv_nxt;
    uint8_t pad[64];
};

struct sfinfo_hdr {
    uint32_t size_subflow_data, num_subflows, size_kernel, size_user;
} __attribute__((aligned(8)));

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "[a,b,...]": bytes received (rx=1) or acked (rx=0) per subflow, from MPTCP_TCPINFO */
static void subflow_bytes(int fd, int rx, char *out, size_t outlen)
{
    struct {
        struct sfinfo_hdr h;
        struct tcp_info ti[4];
    } b;
    socklen_t len = sizeof b;
    memset(&b, 0, sizeof b);
    b.h.size_subflow_data = sizeof b.h;
    b.h.size_user = sizeof b.ti[0];
    snprintf(out, outlen, "[]");
    if (getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO_OPT, &b, &len) < 0)
        return;
    size_t off = (size_t)snprintf(out, outlen, "[");
    for (uint32_t i = 0; i < b.h.num_subflows && i < 4 && off < outlen; i++)
        off += (size_t)snprintf(out + off, outlen - off, "%s%llu", i ? "," : "",
                                (unsigned long long)(rx ? b.ti[i].tcpi_bytes_received
                                                        : b.ti[i].tcpi_bytes_acked));
    if (off < outlen)
        snprintf(out + off, outlen - off, "]");
}

static void serve_one(int c)
{
    unsigned char req[8];
    size_t got = 0;
    while (got < sizeof req) {
        ssize_t n = recv(c, req + got, sizeof req - got, 0);
        if (n <= 0)
            return;
        got += (size_t)n;
    }
    if (memcmp(req, "MPXB", 4) != 0)
        return;
    uint32_t len = (uint32_t)req[4] << 24 | (uint32_t)req[5] << 16 | (uint32_t)req[6] << 8 | req[7];
    struct minfo mi;
    for (int i = 0; i < 3000; i++) { /* the third ACK (client key), at most 3 s */
        socklen_t ml = sizeof mi;
        memset(&mi, 0, sizeof mi);
        if (getsockopt(c, SOL_MPTCP, MPTCP_INFO_OPT, &mi, &ml) < 0 ||
            (mi.flags & REMOTE_KEY_RECEIVED))
            break;
        usleep(1000);
    }
    unsigned char buf[65536];
    uint64_t sent = 0;
    while (sent < len) {
        size_t n = len - sent < sizeof buf ? len - sent : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)((sent + i) % 251);
        ssize_t w = send(c, buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        sent += (uint64_t)w;
    }
    shutdown(c, SHUT_WR);
    while (recv(c, buf, sizeof buf, 0) > 0) /* until the client closes */
        ;
}

static int server(int port)
{
    int one = 1, qlen = 64;
    int l = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
    if (l < 0) {
        perror("socket");
        return 3;
    }
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen) < 0 ||
        setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0)
        perror("TCP_FASTOPEN");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0) {
        perror("bind/listen");
        return 3;
    }
    signal(SIGCHLD, SIG_IGN);
    printf("listening on %d\n", port);
    fflush(stdout);
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            perror("accept");
            return 3;
        }
        pid_t p = fork();
        if (p == 0) {
            close(l);
            serve_one(c);
            close(c);
            _exit(0);
        }
        close(c);
    }
}

/* one download; returns 0 ok, 1 stall (given up or resumed), 2 error */
static int download(int k, const char *ip, int port, int tfo, uint32_t bytes, int stall_ms,
                    int timeout_ms, int hold_ms, int wa)
{
    int one = 1, stalled = 0;
    int s = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
    if (s < 0) {
        perror("socket");
        return 2;
    }
    if (tfo && setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0)
        perror("TCP_FASTOPEN_NO_COOKIE");
    int small = 65535, big = 6291456; /* SYN: window < 64 KiB -> scale 0; then 6 MB */
    if (wa && setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) < 0)
        perror("SO_RCVBUF");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        return 2;
    unsigned char req[8] = {'M', 'P', 'X', 'B', (unsigned char)(bytes >> 24),
                            (unsigned char)(bytes >> 16), (unsigned char)(bytes >> 8),
                            (unsigned char)bytes};
    int64_t t0 = now_ms();
    if (tfo) {
        if (sendto(s, req, sizeof req, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof a) != 8) {
            perror("sendto");
            return 2;
        }
    }
    if (wa && setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        perror("SO_RCVBUFFORCE");
    if (!tfo && (connect(s, (struct sockaddr *)&a, sizeof a) < 0 ||
                 send(s, req, sizeof req, 0) != 8)) {
        perror("connect");
        return 2;
    }
    if (hold_ms > 0) /* a reader that is late: the receive window closes */
        usleep((useconds_t)hold_ms * 1000);
    uint64_t got = 0;
    int64_t last = now_ms(); /* after the hold: a late reader is not a stall */
    const char *err = NULL;
    unsigned char buf[65536];
    while (got < bytes && !err) {
        struct pollfd p = {s, POLLIN, 0};
        int r = poll(&p, 1, 100);
        int64_t t = now_ms();
        if (r == 1) {
            ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0)
                err = "EOF early";
            else if (n < 0 && errno != EAGAIN)
                err = strerror(errno);
            for (ssize_t i = 0; i < n && !err; i++)
                if (buf[i] != (unsigned char)((got + (uint64_t)i) % 251))
                    err = "pattern mismatch";
            if (n > 0) {
                got += (uint64_t)n;
                last = t;
            }
        }
        if (t - last >= stall_ms)
            stalled = 1;
        if (t - t0 >= timeout_ms)
            break;
    }
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    memset(&ti, 0, sizeof ti);
    getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    struct minfo mi;
    socklen_t ml = sizeof mi;
    memset(&mi, 0, sizeof mi);
    getsockopt(s, SOL_MPTCP, MPTCP_INFO_OPT, &mi, &ml);
    char sf[128];
    subflow_bytes(s, 1, sf, sizeof sf);
    int rc = err ? 2 : (stalled || got < bytes) ? 1 : 0;
    printf("conn %d: %s bytes=%llu/%u ms=%lld tfo=%s subflows=%u sf_rx=%s%s%s\n", k,
           rc == 0 ? "ok" : rc == 1 ? "STALL" : "ERROR", (unsigned long long)got, bytes,
           (long long)(now_ms() - t0),
           (ti.tcpi_options & SYN_DATA_ACKED) ? "syn-data-acked" : "none", mi.subflows + 1u, sf,
           err ? " error=" : "", err ? err : "");
    fflush(stdout);
    close(s);
    return rc;
}

static int usage(const char *p)
{
    fprintf(stderr,
            "usage: %s --server PORT\n"
            "       %s --client IPV4 PORT [--no-tfo] [--syn-wscale0] [--bytes N] [--count C]\n"
            "                 [--parallel P] [--stall-ms MS] [--timeout-ms MS] [--hold-ms MS]\n",
            p, p);
    return 2;
}

int main(int argc, char **argv)
{
    int tfo = 1, count = 8, parallel = 4, stall_ms = 1000, timeout_ms = 10000, hold_ms = 0, wa = 0;
    uint32_t bytes = 10000000;
    if (argc >= 3 && !strcmp(argv[1], "--server"))
        return server(atoi(argv[2]));
    if (argc < 4 || strcmp(argv[1], "--client"))
        return usage(argv[0]);
    for (int i = 4; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--no-tfo")) {
            tfo = 0;
            continue;
        }
        if (!strcmp(o, "--syn-wscale0")) {
            wa = 1;
            continue;
        }
        if (!v)
            return usage(argv[0]);
        long x = strtol(v, NULL, 10);
        if (x <= 0)
            return usage(argv[0]);
        if (!strcmp(o, "--bytes"))
            bytes = (uint32_t)x;
        else if (!strcmp(o, "--count"))
            count = (int)x;
        else if (!strcmp(o, "--parallel"))
            parallel = (int)x;
        else if (!strcmp(o, "--stall-ms"))
            stall_ms = (int)x;
        else if (!strcmp(o, "--timeout-ms"))
            timeout_ms = (int)x;
        else if (!strcmp(o, "--hold-ms"))
            hold_ms = (int)x;
        else
            return usage(argv[0]);
        i++;
    }
    int ok = 0, stalled = 0, errs = 0, running = 0, next = 0;
    while (next < count || running > 0) {
        if (next < count && running < parallel) {
            pid_t p = fork();
            if (p == 0)
                _exit(download(next, argv[2], atoi(argv[3]), tfo, bytes, stall_ms, timeout_ms,
                               hold_ms, wa));
            if (p > 0)
                running++;
            next++;
            continue;
        }
        int st;
        if (wait(&st) < 0)
            break;
        running--;
        int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
        ok += rc == 0;
        stalled += rc == 1;
        errs += rc == 2;
    }
    printf("summary: ok=%d stalled=%d errors=%d\n", ok, stalled, errs);
    return ok == count ? 0 : 1;
}
