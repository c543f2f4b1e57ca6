/* mpx-optd: puts experimental signals into kernel-made SYNs and reads them back, through
 * NFQUEUE (the kernel's MPTCP stack owns the kind-30 options, so BPF sock_ops cannot add a
 * second one: kernel-facts.md Q5).
 *
 *   add   (client side, iptables mangle/POSTROUTING SYNs -> NFQUEUE): appends MP_CONVERT /
 *         MP_PREFER_PROXY options to MP_CAPABLE SYNs and the IPv4 Router Alert to marked
 *         flows, as registered over the control socket (or for every SYN with --*-all).
 *   read  (proxy side, iptables raw/PREROUTING SYNs -> NFQUEUE): decodes those options,
 *         remembers source address:port -> MP_CONVERT target for the proxy to look up, and
 *         sets a packet mark on alerted SYNs so a later TPROXY rule can select them. With the
 *         local SYN/ACKs queued too (iptables mangle/OUTPUT), it learns the MPTCP token of
 *         every connection taken for MP_PREFER_PROXY and marks exactly the MP_JOINs carrying
 *         it; without them, every join to the same destination address:port.
 *
 * Control socket (--control PATH): the text protocol of agents/optd/ctl.h (opt, ra, del, get,
 * stats; one reply datagram per request). A `ra sport` registration also marks the
 * connection's MP_JOINs, known by the token of the SYN/ACK's key (incoming SYN/ACKs must be
 * queued too).
 * `mpx-optd listen --port P [--port P...]` holds IP_TRANSPARENT MPTCP listeners on the
 * destination ports of intercepted connections, for their MP_JOINs: the kernel only accepts a
 * join on a listener with the connection's own port (else MPTcpExtMismatchPortSynRx), and a
 * tproxied connection keeps the original destination port. The token finds the connection,
 * whichever process owns it; anything accepted here (a new connection) is closed.
 * `mpx-optd ctl PATH REQUEST...` sends one request and prints the reply (exit 0 for a reply
 * not starting with "err", 1 for an "err" reply, 3 when the daemon does not answer).
 * Exit codes: 0 normal stop (SIGTERM/SIGINT), 2 usage, 3 setup error. */
#include "agents/optd/mangle.h"
#include "proto/buf.h"
#include "proto/mpopt.h"
#include "proto/mptcp.h"
#include "proto/tcpopt.h"
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agents/optd/core.h"
#include "agents/optd/ctl.h"
#include "lib/file.h"
#include "lib/parse.h"

static volatile sig_atomic_t g_stop;
static void on_sig(int s) { (void)s; g_stop = 1; }

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *arg)
{
    optd_t *d = arg;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    unsigned char *data;
    static uint8_t buf[65536 + 64];
    (void)msg;
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    int n = nfq_get_payload(nfa, &data);
    if (n <= 0 || (size_t)n > 65536) return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    if (d->read_mode) {
        uint32_t mark = optd_read_signals(d, data, (size_t)n);
        if (mark) return nfq_set_verdict2(qh, id, NF_ACCEPT, nfq_get_nfmark(nfa) | mark, 0, NULL);
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    }
    memcpy(buf, data, (size_t)n);
    size_t nl = optd_add_signals(d, buf, (size_t)n, sizeof buf);
    if (nl == (size_t)n && !memcmp(buf, data, (size_t)n))
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    return nfq_set_verdict(qh, id, NF_ACCEPT, (uint32_t)nl, buf);
}

/* Client of the control socket: one request from the command line, the reply on stdout. */
static int ctl_main(int argc, char **argv)
{
    char req[OPTD_CTL_MAX] = "", out[OPTD_CTL_MAX], me[108], suffix[32], fallback[64];
    if (argc < 2) { fprintf(stderr, "usage: mpx-optd ctl PATH REQUEST...\n"); return 2; }
    for (int i = 1; i < argc; i++) {
        if (strlen(req) + strlen(argv[i]) + 2 > sizeof req) { fprintf(stderr, "mpx-optd: request too long\n"); return 2; }
        if (i > 1) strcat(req, " ");
        strcat(req, argv[i]);
    }
    struct sockaddr_un to;
    if (strlen(argv[0]) >= sizeof to.sun_path) { fprintf(stderr, "mpx-optd: path too long\n"); return 2; }
    snprintf(suffix, sizeof suffix, ".%d", (int)getpid());
    snprintf(fallback, sizeof fallback, "/tmp/mpx-optd-ctl.%d", (int)getpid());
    int fd = optd_ctl_open(argv[0], suffix, fallback, 2000, &to, me, sizeof me);
    if (fd < 0) { perror("mpx-optd: socket"); return 3; }
    int rc = optd_ctl_call(fd, &to, req, out, sizeof out);
    int err = errno;
    close(fd);
    unlink(me);
    if (rc == -1) { fprintf(stderr, "mpx-optd: %s: %s\n", argv[0], strerror(err)); return 3; }
    if (rc < 0) { fprintf(stderr, "mpx-optd: no reply from %s\n", argv[0]); return 3; }
    printf("%s\n", out);
    return optd_ctl_is_err(out) ? 1 : 0;
}

/* A numeric option: decimal, or hexadecimal with 0x (marks are written that way), the whole
 * string, within [lo, hi]. Prints why and returns -1 otherwise. */
static int num_arg(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    int rc;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2] && strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2)) {
        errno = 0;
        *v = strtoull(s + 2, NULL, 16);
        rc = errno || *v < lo || *v > hi ? -1 : 0;
    } else {
        rc = mpx_parse_u64(s, lo, hi, v);
    }
    if (rc < 0) fprintf(stderr, "mpx-optd: --%s wants an integer %llu..%llu, got '%s'\n", opt, (unsigned long long)lo, (unsigned long long)hi, s);
    return rc;
}

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int listen_main(const int *ports, int np, const char *ready, const char *stats)
{
    int fds[16];
    unsigned long accepted = 0;
    for (int i = 0; i < np; i++) {
        int one = 1, zero = 0;
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)ports[i]) };
        fds[i] = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
        if (fds[i] < 0) { perror("mpx-optd: MPTCP socket"); return 3; }
        setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (setsockopt(fds[i], SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0 ||
            setsockopt(fds[i], SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one) < 0) {
            perror("mpx-optd: IP_TRANSPARENT");
            return 3;
        }
        if (bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fds[i], 128) < 0) {
            fprintf(stderr, "mpx-optd: listen port %d: %s\n", ports[i], strerror(errno));
            return 3;
        }
    }
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ready && mpx_file_ready(ready) < 0) { fprintf(stderr, "mpx-optd: ready file %s: %s\n", ready, strerror(errno)); return 3; }
    while (!g_stop) {
        struct pollfd pf[16];
        for (int i = 0; i < np; i++) pf[i] = (struct pollfd){ fds[i], POLLIN, 0 };
        if (poll(pf, (nfds_t)np, 500) < 0) { if (errno == EINTR) continue; break; }
        for (int i = 0; i < np; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            int c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) { accepted++; close(c); }
        }
    }
    if (stats) {
        char js[128];
        int n = snprintf(js, sizeof js, "{\"mode\":\"listen\",\"ports\":%d,\"accepted\":%lu}\n", np, accepted);
        if (n > 0 && (size_t)n < sizeof js && mpx_file_write_atomic(stats, js, (size_t)n) < 0)
            fprintf(stderr, "mpx-optd: stats %s: %s\n", stats, strerror(errno));
    }
    for (int i = 0; i < np; i++) close(fds[i]);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mpx-optd add|read --queue N [options]\n"
        "       mpx-optd listen --port P [--port P]...   (join listeners, see the source header)\n"
        "       mpx-optd ctl PATH REQUEST...   (send one control request, print the reply)\n"
        "  add    append registered options to outgoing SYNs (client side)\n"
        "  read   decode signals in incoming SYNs, answer lookups, mark alerted SYNs (proxy side)\n"
        "options:\n"
        "  --port P           listen: a destination port to hold a transparent listener on\n"
        "  --queue N          NFQUEUE number (required; the iptables rule is the caller's)\n"
        "  --control PATH     unix datagram control socket (see the source header)\n"
        "  --subtype X        MPTCP subtype of the experimental options (default 0xe)\n"
        "  --prefer-all       add: MP_PREFER_PROXY in every MP_CAPABLE SYN\n"
        "  --ra-all           add: IPv4 Router Alert in every SYN\n"
        "  --mark-prefer M    read: mark for SYNs with MP_PREFER_PROXY (and their joins)\n"
        "  --mark-convert M   read: mark for SYNs with MP_CONVERT\n"
        "  --stats FILE       JSON counters at exit\n"
        "  --ready FILE       written once the queue is bound\n"
        "  -v, --verbose      log every refused mangling\n"
        "exit: 0 stopped by SIGTERM/SIGINT, 2 usage, 3 setup error\n");
}

int main(int argc, char **argv)
{
    static optd_t d;
    const char *ctl_path = NULL, *stats = NULL, *ready = NULL;
    int queue = -1, ports[16], nports = 0;
    static const struct option lo[] = {
        { "queue", 1, 0, 'q' }, { "control", 1, 0, 'c' }, { "subtype", 1, 0, 's' },
        { "prefer-all", 0, 0, 'P' }, { "ra-all", 0, 0, 'R' }, { "mark-prefer", 1, 0, 'm' },
        { "mark-convert", 1, 0, 'M' }, { "stats", 1, 0, 'S' }, { "ready", 1, 0, 'r' },
        { "verbose", 0, 0, 'v' }, { "port", 1, 0, 'p' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0 } };
    optd_init(&d);
    if (argc >= 2 && !strcmp(argv[1], "ctl")) return ctl_main(argc - 2, argv + 2);
    uint64_t v;
    for (int c; (c = getopt_long(argc, argv, "vh", lo, NULL)) != -1;) {
        switch (c) {
        case 'q': if (num_arg("queue", optarg, 0, 65535, &v) < 0) return 2; queue = (int)v; break;
        case 'c': ctl_path = optarg; break;
        case 's': if (num_arg("subtype", optarg, 0, 15, &v) < 0) return 2; d.subtype = (uint8_t)v; break;
        case 'P': d.prefer_all = true; break;
        case 'R': d.ra_all = true; break;
        case 'm': if (num_arg("mark-prefer", optarg, 0, UINT32_MAX, &v) < 0) return 2; d.mark_prefer = (uint32_t)v; break;
        case 'M': if (num_arg("mark-convert", optarg, 0, UINT32_MAX, &v) < 0) return 2; d.mark_convert = (uint32_t)v; break;
        case 'S': stats = optarg; break;
        case 'r': ready = optarg; break;
        case 'v': d.verbose = true; break;
        case 'p':
            if (nports == 16) { usage(stderr); return 2; }
            if (num_arg("port", optarg, 1, 65535, &v) < 0) return 2;
            ports[nports++] = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("mpx-optd %s\n", MPX_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind == argc - 1 && !strcmp(argv[optind], "listen")) {
        if (!nports) { usage(stderr); return 2; }
        return listen_main(ports, nports, ready, stats);
    }
    if (optind != argc - 1 || queue < 0 || queue > 65535) { usage(stderr); return 2; }
    if (!strcmp(argv[optind], "read")) d.read_mode = true;
    else if (strcmp(argv[optind], "add")) { usage(stderr); return 2; }

    struct nfq_handle *h = nfq_open();
    if (!h) { perror("mpx-optd: nfq_open"); return 3; }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, on_packet, &d);
    if (!qh) { fprintf(stderr, "mpx-optd: cannot bind queue %d: %s\n", queue, strerror(errno)); return 3; }
    if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) { perror("mpx-optd: nfq_set_mode"); return 3; }
    /* Fail open: if we fall behind, packets pass unmangled rather than being dropped. */
    nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    int nfd = nfq_fd(h), cfd = -1;
    if (ctl_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(ctl_path) >= sizeof sa.sun_path) { fprintf(stderr, "mpx-optd: control path too long\n"); return 2; }
        strcpy(sa.sun_path, ctl_path);
        unlink(ctl_path);
        cfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (cfd < 0 || bind(cfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            fprintf(stderr, "mpx-optd: control socket %s: %s\n", ctl_path, strerror(errno));
            return 3;
        }
    }
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ready && mpx_file_ready(ready) < 0) { fprintf(stderr, "mpx-optd: ready file %s: %s\n", ready, strerror(errno)); return 3; }

    static char buf[65536 + 4096];
    while (!g_stop) {
        struct pollfd pf[2] = { { nfd, POLLIN, 0 }, { cfd, POLLIN, 0 } };
        if (poll(pf, cfd >= 0 ? 2 : 1, 500) < 0) { if (errno == EINTR) continue; break; }
        if (pf[0].revents & POLLIN) {
            ssize_t n = recv(nfd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) nfq_handle_packet(h, buf, (int)n);
            else if (n < 0 && errno == ENOBUFS) d.c.errors++;
        }
        if (cfd >= 0 && (pf[1].revents & POLLIN)) {
            struct sockaddr_un from;
            socklen_t fl = sizeof from;
            char req[OPTD_CTL_MAX], out[OPTD_CTL_MAX];
            ssize_t n = recvfrom(cfd, req, sizeof req - 1, 0, (struct sockaddr *)&from, &fl);
            if (n > 0) {
                req[n] = 0;
                optd_control(&d, req, out, sizeof out);
                if (fl > sizeof(sa_family_t)) sendto(cfd, out, strlen(out), 0, (struct sockaddr *)&from, fl);
            }
        }
    }
    if (stats) {
        char js[512];
        optd_stats_json(&d, js, sizeof js - 1);
        size_t n = strlen(js);
        js[n++] = '\n';
        if (mpx_file_write_atomic(stats, js, n) < 0) fprintf(stderr, "mpx-optd: stats %s: %s\n", stats, strerror(errno));
    }
    nfq_destroy_queue(qh);
    nfq_close(h);
    if (ctl_path) unlink(ctl_path);
    return 0;
}
