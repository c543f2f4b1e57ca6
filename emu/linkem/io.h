/* AF_PACKET plumbing: one raw socket per interface, offloads off, checksum completion. */
#ifndef LK_IO_H
#define LK_IO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A TPACKET_V2 receive ring shared with the kernel: the kernel copies each frame into the next
 * free slot (in the sender's softirq) and sets TP_STATUS_USER; we read it in place and hand the
 * slot back with TP_STATUS_KERNEL. No system call and no socket-buffer queueing per frame. */
struct lk_rxring {
    uint8_t *map;
    size_t len;
    uint32_t block_size, per_block, frame_size, frame_nr;
    uint32_t head; /* next slot to look at */
};

/* Slot i (< frame_nr): slots never straddle a block. */
static inline uint8_t *lk_rxring_slot(const struct lk_rxring *r, uint32_t i)
{
    return r->map + (size_t)(i / r->per_block) * r->block_size +
           (size_t)(i % r->per_block) * r->frame_size;
}

/* A frame is waiting at the head (what poll would report as POLLIN), without a system call. */
bool lk_rxring_ready(const struct lk_rxring *r);

/* bytes per socket: 15360 slots, 120 ms of full-size frames at 124 kpps or 70 ms of 64-byte
 * frames at 220 kpps (the bench's floods; 7680 slots overflowed there in 2 of 10 runs);
 * setting it up takes 5-16 ms per socket whatever the size (an RCU grace period) */
#define LK_RXRING_DEFAULT (32u << 20)

/* Opens a non-blocking ETH_P_ALL socket bound to ifname: PACKET_IGNORE_OUTGOING (never see
 * our own frames), promiscuous, 32 MB buffers, kernel rx timestamps, aux data, qdisc bypass.
 * ring_bytes > 0: a receive ring of about that size is mapped into *ring before the bind; if
 * that fails the socket is still returned, ring->map stays NULL and err says why (frames are
 * then read with recvmmsg). Returns the fd or -1 with err set. */
int lk_sock_open(const char *ifname, size_t ring_bytes, struct lk_rxring *ring, char *err,
                 size_t errlen);
void lk_rxring_unmap(struct lk_rxring *ring);

/* Turns tso, gso, gro, tx and rx checksum offload off via the ethtool ioctl; returns the
 * number of settings that could not be changed (those are listed in err). */
int lk_offloads_off(const char *ifname, char *err, size_t errlen);

/* A frame whose L4 checksum the sender left to offload (TP_STATUS_CSUMNOTREADY): computes
 * the TCP/UDP checksum over IPv4/IPv6 in place. Returns 1 fixed, 0 not TCP/UDP. */
int lk_csum_complete(uint8_t *frame, uint32_t len);

/* The kernel hands AF_PACKET readers frames with the VLAN tag moved to aux data; put the
 * 802.1Q/802.1ad tag back after the MAC addresses. Returns the new length (len if there is
 * no room). */
uint32_t lk_vlan_insert(uint8_t *frame, uint32_t len, uint32_t cap, uint16_t tpid, uint16_t tci);
#endif
