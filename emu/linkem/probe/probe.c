/* mpx-lkprobe: UDP probe sender/receiver for the linkem tests and benchmarks.
 *   send --dst IP:PORT --count N [--pps R [--burst K]] [--size B] [--batch K]
 *   recv --bind IP:PORT [--count N] [--idle-ms MS] [--csv FILE] [--delay-us D]
 *   pcap FILE [--delay-us D]   (one-way delay of the probes in a pcap: stamp - sender time)
 * Each probe carries a magic, a sequence number and the sender's CLOCK_REALTIME stamp; the
 * receiver takes the kernel's receive stamp (same clock: namespaces share it), so one-way
 * delay needs no clock sync. recv prints one JSON summary line on stdout.
 * Exit: 0 ok, 1 runtime error, 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lib/parse.h"
#include "proto/addr.h"

#define MAGIC 0x4c4b5052u /* "LKPR" */
struct probe {
    uint32_t magic, seq;
    uint64_t tx_ns;
};

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* IPv4 "A:P" through the one address text parser of proto/addr.h */
static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    mpx_addr a;
    if (mpx_addr_parse(s, &a, 1) || a.family != MPX_AF_INET) return -1;
    return mpx_addr_to_sockaddr(&a, sa, sizeof(*sa)) ? 0 : -1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* paced (pps > 0): one probe per due time, or `burst` probes per due time (a paced train of
 * small bursts, for rates beyond what one sleep per packet reaches); unpaced: batches of
 * `batch` as fast as the socket takes them */
static int do_send(struct sockaddr_in *dst, long count, double pps, int size, int batch, int burst)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)dst, sizeof(*dst)))
        return perror("send socket"), 1;
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (size < (int)sizeof(struct probe)) size = sizeof(struct probe);
    if (batch < 1 || batch > 64) batch = 1;
    static uint8_t buf[64][9000];
    struct mmsghdr m[64];
    struct iovec iov[64];
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), gap = pps > 0 ? (uint64_t)(1e9 / pps) : 0;
    long sent = 0, fails = 0;
    while (sent < count) {
        if (gap) { /* absolute-time pacing: no drift */
            uint64_t due = t0 + (uint64_t)sent * gap;
            struct timespec ts = { (time_t)(due / 1000000000ULL), (long)(due % 1000000000ULL) };
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
        int k = gap ? burst : batch;
        int n = (int)(count - sent < k ? count - sent : k);
        for (int i = 0; i < n; i++) {
            struct probe p = { MAGIC, (uint32_t)(sent + i), now_ns(CLOCK_REALTIME) };
            memcpy(buf[i], &p, sizeof(p));
            iov[i] = (struct iovec){ buf[i], (size_t)size };
            m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int r = sendmmsg(fd, m, (unsigned)n, 0);
        if (r < 0) {
            if (errno != ENOBUFS && errno != ECONNREFUSED) return perror("sendmmsg"), 1;
            fails++;
            r = 1; /* count it as sent and lost: the receiver sees the gap */
        }
        sent += r;
    }
    double el = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    fprintf(stderr, "{\"sent\":%ld,\"send_errors\":%ld,\"elapsed_s\":%.3f,\"pps\":%.0f}\n", sent,
            fails, el, el > 0 ? sent / el : 0);
    return 0;
}

static int do_recv(struct sockaddr_in *bind_a, long count, int idle_ms, const char *csv,
                   double delay_us)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, sz = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)bind_a, sizeof(*bind_a)))
        return perror("recv bind"), 1;
    FILE *cf = csv ? fopen(csv, "w") : NULL;
    if (csv && !cf) return perror(csv), 1;
    if (cf) fputs("seq,tx_ns,rx_ns,owd_us\n", cf);
    size_t cap = 1 << 16, n = 0;
    int64_t *owd = malloc(cap * sizeof(*owd));
    if (!owd) return perror("malloc"), 1;
    long got = 0, reord = 0;
    uint32_t maxseq = 0;
    uint64_t first_rx = 0, last_rx = 0, rx_bytes = 0;
    struct pollfd pfd = { fd, POLLIN, 0 };
    fflush(stdout);
    enum { RB = 64 };
    static uint8_t bufs[RB][2048];
    static union {
        char b[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr a;
    } ctl[RB];
    struct mmsghdr mm[RB];
    struct iovec iov[RB];
    while (count <= 0 || got < count) {
        int pr = poll(&pfd, 1, got ? idle_ms : idle_ms * 10 + 5000);
        if (pr <= 0) break; /* idle: the sender is done */
        for (int i = 0; i < RB; i++) {
            iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
            mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i],
                                             .msg_iovlen = 1,
                                             .msg_control = ctl[i].b,
                                             .msg_controllen = sizeof(ctl[i]) };
        }
        int nr = recvmmsg(fd, mm, RB, MSG_DONTWAIT, NULL);
        for (int k = 0; k < nr; k++) {
            struct msghdr *mh = &mm[k].msg_hdr;
            ssize_t r = mm[k].msg_len;
            if (r < (ssize_t)sizeof(struct probe)) continue;
            uint64_t rx = 0;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                    rx = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
                }
            if (!rx) rx = now_ns(CLOCK_REALTIME);
            struct probe p;
            memcpy(&p, bufs[k], sizeof(p));
            if (p.magic != MAGIC) continue;
            if (got && p.seq < maxseq) reord++;
            if (p.seq > maxseq || !got) maxseq = p.seq;
            got++;
            rx_bytes += (uint64_t)r;
            if (!first_rx) first_rx = rx;
            last_rx = rx;
            int64_t d = (int64_t)(rx - p.tx_ns);
            if (n == cap) {
                int64_t *no = realloc(owd, 2 * cap * sizeof(*no));
                if (!no) return 1;
                owd = no, cap *= 2;
            }
            owd[n++] = d;
            if (cf)
                fprintf(cf, "%u,%llu,%llu,%.3f\n", p.seq, (unsigned long long)p.tx_ns,
                        (unsigned long long)rx, (double)d / 1e3);
        }
    }
    if (cf) fclose(cf);
    qsort(owd, n, sizeof(*owd), cmp_i64);
#define PCT(q) (n ? (double)owd[(size_t)((double)(n - 1) * (q))] / 1e3 - delay_us : 0)
    double span = last_rx > first_rx ? (double)(last_rx - first_rx) / 1e9 : 0;
    printf("{\"received\":%ld,\"max_seq\":%u,\"reordered\":%ld,\"rx_bytes\":%llu,"
           "\"span_s\":%.6f,\"pps\":%.0f,\"owd_us\":{\"min\":%.1f,\"p10\":%.1f,\"p50\":%.1f,"
           "\"p90\":%.1f,"
           "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},\"minus_us\":%.1f}\n",
           got, maxseq, reord, (unsigned long long)rx_bytes, span,
           span > 0 ? (double)(got - 1) / span : 0, PCT(0), PCT(0.1), PCT(0.5), PCT(0.9), PCT(0.99),
           PCT(0.999), PCT(1.0), delay_us);
    free(owd);
    return 0;
}

/* Probes in a pcap (Ethernet, IPv4, UDP): delay = frame stamp - the sender's stamp. */
static int do_pcap(const char *path, double delay_us)
{
    FILE *f = fopen(path, "rb");
    if (!f) return perror(path), 1;
    struct {
        uint32_t magic;
        uint16_t vmaj, vmin;
        int32_t zone;
        uint32_t sigfigs, snaplen, linktype;
    } gh;
    if (fread(&gh, sizeof(gh), 1, f) != 1 || (gh.magic != 0xa1b2c3d4 && gh.magic != 0xa1b23c4d) ||
        gh.linktype != 1) {
        fclose(f);
        return fprintf(stderr, "%s: not a little-endian Ethernet pcap\n", path), 1;
    }
    uint64_t frac = gh.magic == 0xa1b23c4d ? 1 : 1000; /* ns or us stamps */
    size_t cap = 1 << 16, n = 0;
    int64_t *owd = malloc(cap * sizeof(*owd));
    if (!owd) {
        fclose(f);
        return 1;
    }
    uint32_t rh[4];
    static uint8_t pkt[65536];
    while (fread(rh, sizeof(rh), 1, f) == 1) {
        if (rh[2] > sizeof(pkt) || fread(pkt, 1, rh[2], f) != rh[2]) break;
        uint64_t ts = (uint64_t)rh[0] * 1000000000ULL + (uint64_t)rh[1] * frac;
        if (rh[2] < 14 + 20 + 8 + sizeof(struct probe) || pkt[12] != 8 || pkt[13] != 0) continue;
        uint32_t ihl = (pkt[14] & 15u) * 4;
        if (pkt[23] != 17 || 14 + ihl + 8 + sizeof(struct probe) > rh[2]) continue;
        struct probe p;
        memcpy(&p, pkt + 14 + ihl + 8, sizeof(p));
        if (p.magic != MAGIC) continue;
        if (n == cap) {
            int64_t *no = realloc(owd, 2 * cap * sizeof(*no));
            if (!no) break;
            owd = no, cap *= 2;
        }
        owd[n++] = (int64_t)(ts - p.tx_ns);
    }
    fclose(f);
    qsort(owd, n, sizeof(*owd), cmp_i64);
#define PCT2(q) (n ? (double)owd[(size_t)((double)(n - 1) * (q))] / 1e3 - delay_us : 0)
    printf("{\"frames\":%zu,\"owd_us\":{\"min\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
           "\"p999\":%.1f,\"max\":%.1f},\"minus_us\":%.1f}\n",
           n, PCT2(0), PCT2(0.5), PCT2(0.9), PCT2(0.99), PCT2(0.999), PCT2(1.0), delay_us);
    free(owd);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = { { "dst", 1, 0, 'd' },      { "bind", 1, 0, 'b' },
                                        { "count", 1, 0, 'c' },    { "pps", 1, 0, 'r' },
                                        { "size", 1, 0, 's' },     { "batch", 1, 0, 'k' },
                                        { "idle-ms", 1, 0, 'i' },  { "csv", 1, 0, 'o' },
                                        { "delay-us", 1, 0, 'D' }, { "help", 0, 0, 'h' },
                                        { "version", 0, 0, 'V' },  { "burst", 1, 0, 'u' },
                                        { 0, 0, 0, 0 } };
    const char *dst = NULL, *bnd = NULL, *csv = NULL;
    long count = 0;
    double pps = 0, delay_us = 0;
    int size = 64, batch = 32, burst = 1, idle_ms = 500, c, idx = 0;
    uint64_t u = 0; /* only used when ok: a bad value exits below */
    bool ok;
    if (argc < 2) {
        fprintf(stderr, "usage: mpx-lkprobe send|recv|pcap [options] (--help)\n");
        return 2;
    }
    const char *mode = argv[1];
    optind = argv[1][0] == '-' ? 1 : 2; /* --help / --version without a mode */
    while ((c = getopt_long(argc, argv, "", lo, &idx)) != -1) {
        ok = true;
        switch (c) {
        case 'd': dst = optarg; break;
        case 'b': bnd = optarg; break;
        case 'c':
            ok = !mpx_parse_u64(optarg, 0, 1000000000000ull, &u);
            count = (long)u;
            break;
        case 'r': ok = !mpx_parse_dbl(optarg, 0, 1e9, &pps); break;
        case 's':
            ok = !mpx_parse_u64(optarg, 0, 9000, &u);
            size = (int)u;
            break;
        case 'k':
            ok = !mpx_parse_u64(optarg, 1, 64, &u);
            batch = (int)u;
            break;
        case 'u':
            ok = !mpx_parse_u64(optarg, 1, 64, &u);
            burst = (int)u;
            break;
        case 'i':
            ok = !mpx_parse_u64(optarg, 1, 3600000, &u);
            idle_ms = (int)u;
            break;
        case 'o': csv = optarg; break;
        case 'D': ok = !mpx_parse_dbl(optarg, 0, 1e9, &delay_us); break;
        case 'V': printf("mpx-lkprobe %s\n", MPX_VERSION); return 0;
        case 'h':
            printf("mpx-lkprobe send --dst IP:PORT --count N [--pps R] [--size B] "
                   "[--batch K] [--burst K]\nmpx-lkprobe recv --bind IP:PORT [--count N] "
                   "[--idle-ms MS] [--csv FILE] [--delay-us D]\n"
                   "mpx-lkprobe pcap FILE [--delay-us D]\n"
                   "recv prints {received,max_seq,reordered,pps,owd_us{...}} where "
                   "owd_us is the one-way delay minus D\n");
            return 0;
        default: return 2;
        }
        if (!ok) {
            fprintf(stderr, "mpx-lkprobe: bad value '%s' for --%s\n", optarg, lo[idx].name);
            return 2;
        }
    }
    struct sockaddr_in sa;
    if (!strcmp(mode, "send")) {
        if (!dst || parse_addr(dst, &sa) || count <= 0 || size > 9000)
            return fprintf(stderr, "mpx-lkprobe send: need --dst IP:PORT --count N\n"), 2;
        return do_send(&sa, count, pps, size, batch, burst);
    }
    if (!strcmp(mode, "pcap")) {
        if (optind >= argc) return fprintf(stderr, "mpx-lkprobe pcap FILE [--delay-us D]\n"), 2;
        return do_pcap(argv[optind], delay_us);
    }
    if (!strcmp(mode, "recv")) {
        if (!bnd || parse_addr(bnd, &sa))
            return fprintf(stderr, "mpx-lkprobe recv: need --bind IP:PORT\n"), 2;
        return do_recv(&sa, count, idle_ms, csv, delay_us);
    }
    fprintf(stderr, "mpx-lkprobe: mode must be send or recv\n");
    return 2;
}
