/* Minimal reproducer: an MPTCP listener that accepted a connection with data in the SYN
 * (TCP Fast Open, here without a cookie) writes its reply before the client's third ACK
 * (MP_CAPABLE carrying both keys) has arrived. On Linux 6.18 that reply is not transmitted
 * (the client's recv times out; ~60 s after close the server sends MP_FASTCLOSE). The same
 * program with plain TCP (--tcp) gets its reply after one RTT. See tests/repro/README.md.
 *
 *   server: mptcp_tfo_reply_stall --server PORT [--tcp] [--wait-established]
 *   client: mptcp_tfo_reply_stall --client IPV4 PORT [--tcp] [--timeout-ms N]
 *
 * --wait-established: the server polls MPTCP_INFO until the remote key was received
 * (MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED) before writing: the workaround; the reply then arrives.
 * Client output: "reply after N us" (exit 0) or "STALL: no reply within N ms" (exit 1).
 * Needs: net.ipv4.tcp_fastopen with 0x2 on the server side (per-socket TCP_FASTOPEN_NO_COOKIE
 * is set here on both sides), and a non-trivial RTT (or a dropped third ACK) so that the
 * write happens before the third ACK. Self-contained: no project code. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef MPTCP_INFO
#define MPTCP_INFO 1
#endif
#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif
#define REMOTE_KEY_RECEIVED 2

struct minfo { uint8_t b[6]; uint32_t flags; uint32_t token; uint64_t pad[8]; };

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int server(int port, int proto, int wait_est)
{
    int one = 1, qlen = 16;
    int l = socket(AF_INET, SOCK_STREAM, proto);
    if (l < 0) { perror("socket"); return 3; }
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen) < 0) perror("TCP_FASTOPEN");
    if (setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0) perror("TCP_FASTOPEN_NO_COOKIE");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0) { perror("bind/listen"); return 3; }
    printf("listening on %d (%s)\n", port, proto == IPPROTO_MPTCP ? "MPTCP" : "TCP");
    fflush(stdout);
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) { perror("accept"); return 3; }
        char buf[256];
        ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT);  /* the SYN data is already here */
        struct minfo mi;
        socklen_t ml = sizeof mi;
        memset(&mi, 0, sizeof mi);
        int r = getsockopt(c, SOL_MPTCP, MPTCP_INFO, &mi, &ml);
        printf("accepted: %zd bytes of SYN data; MPTCP_INFO %s flags=%#x\n", n,
               r == 0 ? "ok" : strerror(errno), mi.flags);
        if (wait_est && r == 0) {
            int64_t t0 = now_us();
            while (!(mi.flags & REMOTE_KEY_RECEIVED) && now_us() - t0 < 3000000) {
                usleep(1000);
                ml = sizeof mi;
                if (getsockopt(c, SOL_MPTCP, MPTCP_INFO, &mi, &ml) < 0) break;
            }
            printf("waited %lld us for the third ACK\n", (long long)(now_us() - t0));
        }
        if (write(c, "pong", 4) != 4) perror("write");
        printf("reply written\n");
        fflush(stdout);
        sleep(5);
        close(c);
    }
}

static int client(const char *ip, int port, int proto, int timeout_ms)
{
    int one = 1;
    int s = socket(AF_INET, SOCK_STREAM, proto);
    if (s < 0) { perror("socket"); return 3; }
    if (setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0) perror("TCP_FASTOPEN_NO_COOKIE");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
    int64_t t0 = now_us();
    if (sendto(s, "ping", 4, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof a) != 4) { perror("sendto"); return 3; }
    struct pollfd p = { s, POLLIN, 0 };
    if (poll(&p, 1, timeout_ms) == 1) {
        char buf[16];
        ssize_t n = read(s, buf, sizeof buf);
        if (n > 0) { printf("reply after %lld us\n", (long long)(now_us() - t0)); return 0; }
    }
    printf("STALL: no reply within %d ms\n", timeout_ms);
    return 1;
}

int main(int argc, char **argv)
{
    int proto = IPPROTO_MPTCP, wait_est = 0, timeout_ms = 3000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tcp")) proto = IPPROTO_TCP;
        else if (!strcmp(argv[i], "--wait-established")) wait_est = 1;
        else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) timeout_ms = atoi(argv[++i]);
    }
    if (argc >= 3 && !strcmp(argv[1], "--server")) return server(atoi(argv[2]), proto, wait_est);
    if (argc >= 4 && !strcmp(argv[1], "--client")) return client(argv[2], atoi(argv[3]), proto, timeout_ms);
    fprintf(stderr, "usage: %s --server PORT [--tcp] [--wait-established]\n"
                    "       %s --client IPV4 PORT [--tcp] [--timeout-ms N]\n", argv[0], argv[0]);
    return 2;
}
