/* mpx-proxy-probe: sends arbitrary bytes in the SYN (MSG_FASTOPEN on an MPTCP socket, no TFO
 * cookie: TCP_FASTOPEN_NO_COOKIE) to a proxy and reports what came back, for the proxy's
 * error-path tests (malformed Convert messages, forged cookies, raw SOCKS bytes).
 *   mpx-proxy-probe --to ADDR:PORT --hex HEX [--mptcp on|off] [--timeout MS] [--no-syn-data]
 * Output: one JSON line {"rx_len","rx_hex" (first 512 bytes),"end":"eof|reset|timeout|error",
 * "t_first_us","t_end_us","mptcp":"mptcp|fallback|tcp"}. Exit 0 when something was received
 * or the peer closed, 1 on timeout / connect error, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/parse.h"
#include "lib/sock.h"
#include "proto/buf.h"

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", 1, 0, 't' }, { "hex", 1, 0, 'x' }, { "mptcp", 1, 0, 'm' },
        { "timeout", 1, 0, 'T' }, { "no-syn-data", 0, 0, 'n' }, { "help", 0, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *to = NULL, *hex = "";
    bool mptcp = true, syn_data = true;
    int timeout_ms = 3000, o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': to = optarg; break;
        case 'x': hex = optarg; break;
        case 'm': mptcp = strcmp(optarg, "off") != 0; break;
        case 'T': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 1, 3600000, &v) < 0) {
                fprintf(stderr, "probe: bad --timeout (milliseconds, 1..3600000)\n");
                return 2;
            }
            timeout_ms = (int)v;
            break;
        }
        case 'n': syn_data = false; break;
        default:
            fprintf(stderr, "usage: mpx-proxy-probe --to ADDR:PORT --hex HEX [--mptcp on|off] "
                            "[--timeout MS] [--no-syn-data]\n");
            return 2;
        }
    }
    mpxa_addr a;
    static uint8_t tx[4096], rx[65536];
    if (!to || mpxa_addr_parse(to, -1, &a) < 0) { fprintf(stderr, "probe: bad --to\n"); return 2; }
    long txn = mpx_hex_parse(hex, tx, sizeof tx);
    if (txn < 0) { fprintf(stderr, "probe: bad --hex\n"); return 2; }
    int fd = mpxa_socket(mpxa_addr_family(&a), mptcp, false);
    if (fd < 0) { perror("socket"); return 1; }
    mpxa_set_tfo_no_cookie(fd, true);
    uint64_t t0 = mpxa_mono_us();
    ssize_t w;
    if (syn_data && txn > 0) {
        w = sendto(fd, tx, (size_t)txn, MSG_FASTOPEN, &a.u.sa, a.len);
    } else {
        w = connect(fd, &a.u.sa, a.len);
        if (w == 0 && txn > 0) w = write(fd, tx, (size_t)txn);
    }
    if (w < 0) {
        printf("{\"rx_len\":0,\"rx_hex\":\"\",\"end\":\"error\",\"error\":\"%s\"}\n", strerror(errno));
        return 1;
    }
    mpxa_mp_state ms = { 0 };
    size_t n = 0;
    long t_first = -1;
    const char *end = "timeout";
    bool got_state = false;
    for (;;) {
        int64_t left = (int64_t)timeout_ms * 1000 - (int64_t)(mpxa_mono_us() - t0);
        if (left <= 0) break;
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, (int)((left + 999) / 1000));
        if (r <= 0) continue;
        if (!got_state) { ms = mpxa_mptcp_state(fd); got_state = true; }
        ssize_t k = read(fd, rx + n, sizeof rx - n);
        if (k > 0) {
            if (t_first < 0) t_first = (long)(mpxa_mono_us() - t0);
            n += (size_t)k;
            if (n == sizeof rx) break;
            continue;
        }
        end = k == 0 ? "eof" : (errno == ECONNRESET ? "reset" : "error");
        break;
    }
    if (!got_state) ms = mpxa_mptcp_state(fd);
    static char h[2 * 512 + 1];  /* hex of the first 512 bytes received */
    mpx_hex_format(rx, n < 512 ? n : 512, h);
    printf("{\"rx_len\":%zu,\"rx_hex\":\"%s\",\"end\":\"%s\",\"t_first_us\":%ld,\"t_end_us\":%llu,"
           "\"mptcp\":\"%s\"}\n", n, h, end, t_first, (unsigned long long)(mpxa_mono_us() - t0),
           mpxa_mp_kind_str(ms.kind));
    close(fd);
    return (n > 0 || strcmp(end, "timeout")) ? 0 : 1;
}
