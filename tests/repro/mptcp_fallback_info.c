/* Minimal reproducer for two small MPTCP findings on Linux 6.18 (docs/kernel-findings.md).
 * Self-contained: no project code.
 *
 *   server: mptcp_fallback_info --server PORT
 *           a plain TCP listener on PORT (IPv4 and IPv6) and an MPTCP listener with TFO
 *           cookies (TCP_FASTOPEN, no NO_COOKIE) on PORT+1
 *   client: mptcp_fallback_info --client ADDR PORT
 *           an MPTCP connect to the plain TCP listener: the connection falls back to TCP;
 *           prints what MPTCP_INFO returns (the errno differs between IPv4 and IPv6)
 *   client: mptcp_fallback_info --cookie-syn IPV4 PORT
 *           asks the TFO listener for a cookie (first SYN), then sends a SYN that carries the
 *           valid cookie but no data (sendto MSG_FASTOPEN of 0 bytes): the listener creates a
 *           TFO child with an empty receive queue (the WARN_ON_ONCE in
 *           mptcp_fastopen_subflow_synack_set_params, net/mptcp/fastopen.c)
 * Exit: 0 done, 2 usage, 3 setup error. */
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
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#define MPTCP_INFO_OPT 1

static int parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

static int listen_on(int port, int proto, int tfo)
{
    int one = 1, zero = 0, qlen = 16;
    int l = socket(AF_INET6, SOCK_STREAM, proto);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    if (l < 0)
        return -1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (tfo && setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen) < 0)
        perror("TCP_FASTOPEN");
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0) {
        close(l);
        return -1;
    }
    return l;
}

static int server(int port)
{
    int plain = listen_on(port, IPPROTO_TCP, 0), tfo = listen_on(port + 1, IPPROTO_MPTCP, 1);
    if (plain < 0 || tfo < 0) {
        perror("listen");
        return 3;
    }
    for (;;) {
        struct pollfd p[2] = {{plain, POLLIN, 0}, {tfo, POLLIN, 0}};
        if (poll(p, 2, -1) < 0)
            return 3;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            int c = accept(p[i].fd, NULL, NULL);
            if (c < 0)
                continue;
            char buf[64];
            ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
            if (i == 1) {
                printf("TFO listener: accepted, %zd bytes readable at accept\n", n);
                fflush(stdout);
            }
            close(c);
        }
    }
}

static int client_fallback(const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_addr(addr, port, &ss, &sl) < 0)
        return 2;
    int s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
    if (s < 0 || connect(s, (struct sockaddr *)&ss, sl) < 0) {
        perror("connect");
        return 3;
    }
    unsigned char info[256];
    socklen_t il = sizeof info;
    int r = getsockopt(s, SOL_MPTCP, MPTCP_INFO_OPT, info, &il);
    int e = errno, proto = 0;
    socklen_t pl = sizeof proto;
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &pl);
    printf("%s fallback (plain TCP peer, SO_PROTOCOL %d): MPTCP_INFO -> %s\n",
           ss.ss_family == AF_INET ? "IPv4" : "IPv6", proto,
           r == 0 ? "0 (no error)" : e == EOPNOTSUPP ? "EOPNOTSUPP" :
           e == ENOPROTOOPT ? "ENOPROTOOPT" : strerror(e));
    close(s);
    return 0;
}

static int client_cookie_syn(const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_addr(addr, port + 1, &ss, &sl) < 0)
        return 2;
    for (int round = 0; round < 2; round++) {
        int s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
        if (s < 0)
            return 3;
        /* round 0: data, no cookie yet (cookie request); round 1: the cookie, no data */
        ssize_t w = sendto(s, "x", round == 0 ? 1 : 0, MSG_FASTOPEN, (struct sockaddr *)&ss, sl);
        if (w < 0 && errno != EINPROGRESS)
            perror("sendto");
        usleep(200000);
        printf("cookie-syn round %d: sendto(MSG_FASTOPEN, %d bytes) -> %zd\n", round,
               round == 0 ? 1 : 0, w);
        close(s);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--server"))
        return server(atoi(argv[2]));
    if (argc == 4 && !strcmp(argv[1], "--client"))
        return client_fallback(argv[2], atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "--cookie-syn"))
        return client_cookie_syn(argv[2], atoi(argv[3]));
    fprintf(stderr,
            "usage: %s --server PORT | --client ADDR PORT | --cookie-syn IPV4 PORT\n",
            argv[0]);
    return 2;
}
