#include "emu/linkem/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define WAYS 4
#define FLOW_BUCKETS 4096 /* x WAYS flows remembered; older ones are replaced */

struct rec_hdr {
    uint32_t sec, usec, caplen, len;
};

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    while (n) {
        ssize_t r = write(fd, b, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        b += r, n -= (size_t)r;
    }
    return 0;
}

/* Writes ring bytes [from, to) (at most the whole ring) to the file. */
static void drain(struct lk_pcap *p, uint64_t from, uint64_t to)
{
    while (from < to) {
        uint64_t off = from & (p->size - 1), n = to - from;
        if (n > p->size - off) n = p->size - off; /* up to the wrap */
        if (write_all(p->fd, p->ring + off, (size_t)n)) atomic_fetch_add(&p->errors, 1);
        from += n;
        atomic_fetch_add(&p->written, n);
        atomic_store_explicit(&p->rtail, from, memory_order_release);
    }
}

/* The writer: drains the ring, then sleeps 2 ms while data flows, 20 ms when idle. At 32 MB
 * and 2 ms that leaves room for ~16 GB/s of records; the sleep only bounds how fresh the file
 * is. Runs SCHED_OTHER (created before the forwarding thread turns real-time). */
static void *writer(void *arg)
{
    struct lk_pcap *p = arg;
    for (;;) {
        int stop = atomic_load(&p->stop);
        uint64_t h = atomic_load_explicit(&p->whead, memory_order_acquire);
        uint64_t t = atomic_load_explicit(&p->rtail, memory_order_relaxed);
        if (h != t) drain(p, t, h);
        if (stop) break;
        struct timespec ts = { 0, h != t ? 2000000L : 20000000L };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int lk_pcap_open(struct lk_pcap *p, const char *path, uint32_t snaplen, uint32_t head,
                 uint64_t ring)
{
    struct {
        uint32_t magic;
        uint16_t vmaj, vmin;
        int32_t zone;
        uint32_t sigfigs, snaplen, linktype;
    } h = { 0xa1b2c3d4, 2, 4, 0, 0, snaplen ? snaplen : 65535, 1 /* Ethernet */ };
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->snaplen = snaplen;
    p->head = head;
    if (ring < 65536 || (ring & (ring - 1))) return errno = EINVAL, -1;
    p->size = ring;
    p->ring = malloc(ring); /* touched as it fills: a quiet link costs little memory */
    if (!p->ring) return -1;
    if (snaplen == LK_SNAP_AUTO) {
        p->nbuckets = FLOW_BUCKETS;
        p->flows = calloc((size_t)FLOW_BUCKETS * WAYS, sizeof(*p->flows));
        if (!p->flows) return -1;
    }
    p->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p->fd < 0) return -1;
    if (write_all(p->fd, &h, sizeof(h))) return -1;
    if (pthread_create(&p->thr, NULL, writer, p)) return errno = EAGAIN, -1;
    p->thr_up = true;
    return 0;
}

static uint32_t hash_key(const uint8_t *k, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 16777619u;
    return h;
}

/* Auto mode's flow table: the sender's ISN per (af, src, dst, sport, dport). */
static struct lk_snap_flow *flow_find(struct lk_pcap *p, const uint8_t *key, bool insert)
{
    struct lk_snap_flow *b = &p->flows[(hash_key(key, 37) & (p->nbuckets - 1)) * WAYS];
    struct lk_snap_flow *victim = &b[0];
    for (int i = 0; i < WAYS; i++) {
        if (b[i].used && !memcmp(b[i].key, key, 37)) return &b[i];
        if (!b[i].used || (victim->used && b[i].last < victim->last)) victim = &b[i];
    }
    if (!insert) return NULL;
    memcpy(victim->key, key, 37);
    victim->used = 1;
    return victim;
}

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint32_t lk_pcap_caplen(struct lk_pcap *p, const uint8_t *f, uint32_t len)
{
    if (p->snaplen != LK_SNAP_AUTO) return len < p->snaplen ? len : p->snaplen;
    uint32_t other = len < LK_SNAP_OTHER ? len : LK_SNAP_OTHER;
    if (len < 14) return len;
    uint32_t off = 12;
    uint16_t et = rd16(f + off);
    while ((et == 0x8100 || et == 0x88a8) && off + 6 <= len) off += 4, et = rd16(f + off);
    off += 2;
    uint8_t key[37] = { 0 };
    uint32_t l4, ip_end;
    if (et == 0x0800) {
        if (off + 20 > len) return other;
        const uint8_t *ip = f + off;
        uint32_t ihl = (ip[0] & 15u) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || (rd16(ip + 6) & 0x3fff)) return other;
        l4 = off + ihl;
        ip_end = off + rd16(ip + 2);
        key[0] = 4;
        memcpy(key + 1, ip + 12, 4);
        memcpy(key + 17, ip + 16, 4);
    } else if (et == 0x86dd) {
        if (off + 40 > len) return other;
        const uint8_t *ip = f + off;
        if (ip[6] != 6) return other; /* extension headers: not walked */
        l4 = off + 40;
        ip_end = l4 + rd16(ip + 4);
        key[0] = 6;
        memcpy(key + 1, ip + 8, 16);
        memcpy(key + 17, ip + 24, 16);
    } else {
        return other;
    }
    if (l4 + 20 > len) return len;
    const uint8_t *th = f + l4;
    uint32_t doff = (th[12] >> 4) * 4u, hdr_end = l4 + doff;
    if (ip_end > len) ip_end = len;
    if (doff < 20) return len;
    memcpy(key + 33, th, 4); /* both ports */
    uint32_t seq = rd32(th + 4);
    p->use++;
    if (th[13] & 0x02) { /* SYN: remember where this direction's stream starts */
        struct lk_snap_flow *fl = flow_find(p, key, true);
        fl->isn = seq, fl->last = p->use;
        return len;
    }
    if (hdr_end >= ip_end) return len; /* headers only anyway */
    struct lk_snap_flow *fl = flow_find(p, key, false);
    if (!fl) return len; /* SYN not seen: keep it whole */
    fl->last = p->use;
    uint32_t rel = seq - (fl->isn + 1u);
    if (rel >= 0x80000000u || rel < p->head) return len; /* stream head (or before it) */
    return hdr_end;
}

void lk_pcap_write(struct lk_pcap *p, uint64_t real_ns, const void *frame, uint32_t len)
{
    if (!p->ring || p->fd < 0) return;
    uint32_t cap = lk_pcap_caplen(p, frame, len);
    struct rec_hdr r = { (uint32_t)(real_ns / 1000000000u),
                         (uint32_t)(real_ns % 1000000000u / 1000u), cap, len };
    uint64_t need = sizeof(r) + cap, h = atomic_load_explicit(&p->whead, memory_order_relaxed);
    if (h + need - p->tail_seen > p->size) {
        p->tail_seen = atomic_load_explicit(&p->rtail, memory_order_acquire);
        if (h + need - p->tail_seen > p->size) {
            p->dropped++;
            return;
        }
    }
    const uint8_t *parts[2] = { (const uint8_t *)&r, frame };
    uint32_t plen[2] = { sizeof(r), cap };
    uint64_t w = h;
    for (int i = 0; i < 2; i++) {
        uint64_t off = w & (p->size - 1), first = p->size - off;
        if (first > plen[i]) first = plen[i];
        memcpy(p->ring + off, parts[i], (size_t)first);
        memcpy(p->ring, parts[i] + first, (size_t)(plen[i] - first));
        w += plen[i];
    }
    atomic_store_explicit(&p->whead, w, memory_order_release);
    p->frames++;
    p->bytes += need;
    p->truncated += cap < len;
}

void lk_pcap_close(struct lk_pcap *p)
{
    if (p->thr_up) {
        atomic_store(&p->stop, 1);
        pthread_join(p->thr, NULL);
        p->thr_up = false;
    }
    if (p->fd >= 0 && close(p->fd)) atomic_fetch_add(&p->errors, 1);
    p->fd = -1;
    free(p->ring);
    free(p->flows);
    p->ring = NULL, p->flows = NULL;
}
