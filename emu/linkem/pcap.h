/* The emulator's pcap (LINKTYPE_ETHERNET, microsecond stamps): the emulator writes frames
 * itself with its own clock, so no capture process can disagree with it.
 *
 * The forwarding thread never writes the file: it copies each record into a byte ring (the
 * exact bytes of the file) and a writer thread drains the ring to disk. A full ring drops the
 * record and counts it (dropped), so a slow disk costs capture completeness, visibly, never
 * release timing.
 *
 * Snap length: LK_SNAP_AUTO (default) keeps every frame whole except the TCP segments whose
 * payload starts at or beyond stream byte `head` of their direction (counted from the SYN's
 * sequence number; those keep their headers only) and non-TCP frames, cut at LK_SNAP_OTHER
 * bytes. So the SYN payload and the first `head` bytes of every connection (signal messages,
 * Convert TLVs, SOCKS exchanges) are whole, bulk payload is not. A segment of a connection
 * whose SYN was not seen is kept whole. A fixed snap length cuts every frame there. */
#ifndef LK_PCAP_H
#define LK_PCAP_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LK_SNAP_AUTO 0
#define LK_SNAP_HEAD_DEFAULT 2048 /* = mpx-analyze's per-direction stream head */
#define LK_SNAP_OTHER 256         /* non-TCP frames in auto mode: headers + probe stamps */
#define LK_PCAP_RING_DEFAULT (32u << 20)

struct lk_snap_flow {
    uint8_t key[37]; /* af, src[16], dst[16], sport, dport */
    uint8_t used;
    uint32_t isn;
    uint64_t last; /* use stamp for replacement */
};

struct lk_pcap {
    int fd;
    uint32_t snaplen; /* LK_SNAP_AUTO or a fixed length */
    uint32_t head;    /* auto: stream bytes per direction kept whole */
    /* ring: producer (forwarding thread) advances whead, the writer thread rtail */
    uint8_t *ring;
    uint64_t size;
    _Atomic uint64_t whead, rtail;
    uint64_t tail_seen; /* producer's last view of rtail */
    pthread_t thr;
    bool thr_up;
    _Atomic int stop;
    /* producer's counters */
    uint64_t frames, dropped, truncated, bytes;
    /* writer's counters */
    _Atomic uint64_t errors, written;
    /* auto snap: flows by 4-tuple and direction, 4-way buckets */
    struct lk_snap_flow *flows;
    uint32_t nbuckets;
    uint64_t use;
};

/* Opens path, writes the file header (a valid empty pcap exists from the start) and starts
 * the writer thread. snaplen: LK_SNAP_AUTO or 1..65535; head: auto mode's stream head;
 * ring: bytes (a power of 2). Returns 0 or -1 with errno. */
int lk_pcap_open(struct lk_pcap *p, const char *path, uint32_t snaplen, uint32_t head,
                 uint64_t ring);
/* real_ns: CLOCK_REALTIME-based time the frame was sent. Never blocks. */
void lk_pcap_write(struct lk_pcap *p, uint64_t real_ns, const void *frame, uint32_t len);
/* How many bytes of a len-byte frame the pcap keeps (updates auto mode's flow table). */
uint32_t lk_pcap_caplen(struct lk_pcap *p, const uint8_t *frame, uint32_t len);
/* Stops the writer after it drained the ring, closes the file. */
void lk_pcap_close(struct lk_pcap *p);
#endif
