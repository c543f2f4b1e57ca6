/* tproxy_tw_blackhole: a router that intercepts a connection (TPROXY, IP_TRANSPARENT listener)
 * and closes it first keeps a TIME_WAIT socket under the server's address; a later, not
 * intercepted connection with the same 4-tuple is then dropped by the router instead of being
 * forwarded (docs/kernel-findings.md 7; tests/repro/run.sh tproxy-tw sets up the namespaces).
 *
 *   tproxy_tw_blackhole --server PORT [--transparent] [--mptcp] [--name NAME]
 *       accept, read the request, answer "NAME\n", close first (the TIME_WAIT is ours)
 *   tproxy_tw_blackhole --client SRC DST PORT --sport N [--mptcp] [--timeout-ms T]
 *       from SRC:N, send a request, print "ok <who answered> <ms>" or "TIMEOUT <state> <ms>"
 * Exit: 0 answered, 1 timed out or refused, 2 usage or set-up error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int serve(int port, int transparent, int mptcp, const char *name)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, mptcp ? IPPROTO_MPTCP : IPPROTO_TCP);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (fd < 0) { perror("socket"); return 2; }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (transparent && setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one)) {
        perror("IP_TRANSPARENT"); return 2;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64)) { perror("bind/listen"); return 2; }
    for (;;) {
        char buf[256];
        struct sockaddr_in peer, local;
        socklen_t pl = sizeof peer, ll = sizeof local;
        int c = accept(fd, (struct sockaddr *)&peer, &pl);
        if (c < 0) { if (errno == EINTR) continue; perror("accept"); return 2; }
        getsockname(c, (struct sockaddr *)&local, &ll);
        if (read(c, buf, sizeof buf) > 0) {
            int n = snprintf(buf, sizeof buf, "%s\n", name);
            if (write(c, buf, (size_t)n) != n) perror("write");
        }
        printf("%s: %s:%d -> ", name, inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
        printf("%s:%d answered, closed first\n", inet_ntoa(local.sin_addr), ntohs(local.sin_port));
        fflush(stdout);
        close(c); /* before the client: this side keeps the TIME_WAIT */
    }
}

static int client(const char *src, const char *dst, int port, int sport, int mptcp, int tmo)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, mptcp ? IPPROTO_MPTCP : IPPROTO_TCP);
    struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(sport) };
    struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(port) };
    char buf[256];
    size_t got = 0;
    double t0 = now_ms();
    const char *state = "connecting";
    if (fd < 0 || inet_pton(AF_INET, src, &s.sin_addr) != 1 || inet_pton(AF_INET, dst, &d.sin_addr) != 1) {
        fprintf(stderr, "client: bad address or socket\n"); return 2;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&s, sizeof s)) { perror("bind"); return 2; }
    if (connect(fd, (struct sockaddr *)&d, sizeof d) && errno != EINPROGRESS) { perror("connect"); return 1; }
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
        int left = tmo - (int)(now_ms() - t0);
        if (left <= 0 || poll(&p, 1, left) <= 0) break;
        if (!strcmp(state, "connecting")) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) { printf("ERROR %s %.0f ms\n", strerror(err), now_ms() - t0); return 1; }
            if (!(p.revents & POLLOUT)) continue;
            if (write(fd, "hello\n", 6) != 6) { perror("write"); return 1; }
            state = "waiting for the answer";
            continue;
        }
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n < 0 && errno == EAGAIN) continue;
        if (n <= 0) break;
        got += (size_t)n;
        if (got == sizeof buf - 1) break;
    }
    if (got) {
        buf[got] = 0;
        buf[strcspn(buf, "\n")] = 0;
        printf("ok, answered by %s, %.0f ms\n", buf, now_ms() - t0);
        return 0;
    }
    printf("TIMEOUT %s after %.0f ms\n", state, now_ms() - t0);
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: tproxy_tw_blackhole --server PORT [--transparent] [--mptcp] [--name N]\n"
                    "       tproxy_tw_blackhole --client SRC DST PORT --sport N [--mptcp] [--timeout-ms T]\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "server", 1, 0, 's' }, { "client", 0, 0, 'c' }, { "transparent", 0, 0, 't' },
        { "mptcp", 0, 0, 'm' }, { "name", 1, 0, 'n' }, { "sport", 1, 0, 'p' },
        { "timeout-ms", 1, 0, 'T' }, { 0, 0, 0, 0 }
    };
    int o, port = 0, cl = 0, tr = 0, mp = 0, sport = 0, tmo = 3000;
    const char *name = "server";
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 's': port = atoi(optarg); break;
        case 'c': cl = 1; break;
        case 't': tr = 1; break;
        case 'm': mp = 1; break;
        case 'n': name = optarg; break;
        case 'p': sport = atoi(optarg); break;
        case 'T': tmo = atoi(optarg); break;
        default: usage(); return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cl) {
        if (argc - optind != 3 || sport <= 0) { usage(); return 2; }
        return client(argv[optind], argv[optind + 1], atoi(argv[optind + 2]), sport, mp, tmo);
    }
    if (port <= 0) { usage(); return 2; }
    return serve(port, tr, mp, name);
}
