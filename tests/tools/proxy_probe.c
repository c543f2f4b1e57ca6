/* mpx-proxy-probe: sends arbitrary bytes in the SYN (MSG_FASTOPEN on an MPTCP socket, no TFO
 * cookie: TCP_FASTOPEN_NO_COOKIE) to a proxy and reports what came back, for the proxy's
 * error-path tests (malformed Convert messages, forged cookies, raw SOCKS bytes).
 *   mpx-proxy-probe --to ADDR:PORT --hex HEX [--mptcp on|off] [--timeout MS] [--no-syn-data]
 * Output: one JSON line {"rx_len","rx_hex" (first 512 bytes),"end":"eof|reset|timeout|error",
 * "t_first_us","t_end_us","mptcp":"mptcp|fallback|tcp"}. Exit 0 when something was received
 * or the peer closed, 1 on timeout / connect error, 2 usage.
 *   mpx-proxy-probe --to ADDR:PORT --hex HEX --flood N --spoof SRC
 * sends N raw IPv4 SYNs (MSS, SACK-permitted, MP_CAPABLE v1; HEX as the SYN data) from SRC
 * with distinct source ports, and never answers them: the spoofed-SYN case (the SYN-ACKs go
 * to SRC, which does not exist). Prints {"sent":N}; exit 0, 1 on a socket error. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <netinet/ip.h>
#include <arpa/inet.h>
#include <time.h>
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/parse.h"
#include "lib/sock.h"
#include "proto/buf.h"

static uint16_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)(p[n - 1] << 8);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* N spoofed SYNs with data from src to dst (IPv4, raw socket, IP_HDRINCL). */
static int flood(const struct sockaddr_in *dst, uint32_t src_be, const uint8_t *data, size_t dlen,
                 long n)
{
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) { perror("probe: raw socket"); return 1; }
    /* MSS 1460, SACK-permitted, MP_CAPABLE v1 (flags: HMAC-SHA256), NOP NOP */
    static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 30, 4, 0x01, 0x01, 1, 1 };
    uint8_t pkt[1500];
    if (dlen > sizeof pkt - 20 - 20 - sizeof opts) {
        fprintf(stderr, "probe: data too long\n");
        close(fd);
        return 2;
    }
    size_t thl = 20 + sizeof opts, tot = 20 + thl + dlen;
    uint32_t seed = (uint32_t)mpxa_mono_us();
    long sent = 0;
    for (long i = 0; i < n; i++) {
        memset(pkt, 0, 20 + thl);
        uint8_t *ip = pkt, *tcp = pkt + 20;
        ip[0] = 0x45; ip[2] = (uint8_t)(tot >> 8); ip[3] = (uint8_t)tot;
        ip[8] = 64; ip[9] = IPPROTO_TCP;
        memcpy(ip + 12, &src_be, 4);
        memcpy(ip + 16, &dst->sin_addr.s_addr, 4);
        uint16_t sport = (uint16_t)(20000 + (i % 40000));
        seed = seed * 1103515245u + 12345u;
        tcp[0] = (uint8_t)(sport >> 8); tcp[1] = (uint8_t)sport;
        memcpy(tcp + 2, &dst->sin_port, 2);
        tcp[4] = (uint8_t)(seed >> 24); tcp[5] = (uint8_t)(seed >> 16);
        tcp[6] = (uint8_t)(seed >> 8); tcp[7] = (uint8_t)seed;
        tcp[12] = (uint8_t)((thl / 4) << 4); tcp[13] = 0x02;  /* SYN */
        tcp[14] = 0xff; tcp[15] = 0xff;
        memcpy(tcp + 20, opts, sizeof opts);
        memcpy(tcp + thl, data, dlen);
        uint8_t ph[12];
        memcpy(ph, ip + 12, 8);
        ph[8] = 0; ph[9] = IPPROTO_TCP;
        ph[10] = (uint8_t)((thl + dlen) >> 8); ph[11] = (uint8_t)(thl + dlen);
        uint16_t s = csum_add(csum_add(0, ph, sizeof ph), tcp, thl + dlen);
        s = (uint16_t)(0xffffu ^ s);
        tcp[16] = (uint8_t)(s >> 8); tcp[17] = (uint8_t)s;
        if (sendto(fd, pkt, tot, 0, (const struct sockaddr *)dst, sizeof *dst) == (ssize_t)tot)
            sent++;
        if (i % 50 == 49) nanosleep(&(struct timespec){ 0, 5000000 }, NULL);  /* no queue burst */
    }
    close(fd);
    printf("{\"sent\":%ld}\n", sent);
    return sent == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", 1, 0, 't' }, { "hex", 1, 0, 'x' }, { "mptcp", 1, 0, 'm' },
        { "timeout", 1, 0, 'T' }, { "no-syn-data", 0, 0, 'n' }, { "help", 0, 0, 'h' },
        { "flood", 1, 0, 'F' }, { "spoof", 1, 0, 'S' },
        { 0, 0, 0, 0 },
    };
    const char *to = NULL, *hex = "";
    bool mptcp = true, syn_data = true;
    int timeout_ms = 3000, o;
    long flood_n = 0;
    const char *spoof = NULL;
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
        case 'F': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 1, 100000, &v) < 0) {
                fprintf(stderr, "probe: bad --flood (1..100000)\n");
                return 2;
            }
            flood_n = (long)v;
            break;
        }
        case 'S': spoof = optarg; break;
        default:
            fprintf(stderr, "usage: mpx-proxy-probe --to ADDR:PORT --hex HEX [--mptcp on|off] "
                            "[--timeout MS] [--no-syn-data] | --flood N --spoof SRC\n");
            return 2;
        }
    }
    mpxa_addr a;
    static uint8_t tx[4096], rx[65536];
    if (!to || mpxa_addr_parse(to, -1, &a) < 0) { fprintf(stderr, "probe: bad --to\n"); return 2; }
    long txn = mpx_hex_parse(hex, tx, sizeof tx);
    if (txn < 0) { fprintf(stderr, "probe: bad --hex\n"); return 2; }
    if (flood_n > 0) {
        struct in_addr s;
        if (!spoof || inet_pton(AF_INET, spoof, &s) != 1 || a.u.sa.sa_family != AF_INET) {
            fprintf(stderr, "probe: --flood needs --spoof IPV4 and an IPv4 --to\n");
            return 2;
        }
        return flood(&a.u.in4, s.s_addr, tx, (size_t)txn, flood_n);
    }
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
