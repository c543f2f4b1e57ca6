#include "emu/linkem/io.h"
#include "emu/linkem/queue.h"
#include "proto/ippkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKBUF (32 << 20) /* a ceiling: used only while frames wait (8 MB overflowed under
                            * bursts of 1514-byte frames at ~190 kpps, see README) */

/* Ring geometry: a slot holds the TPACKET_V2 header, the address and up to LK_SLOT_BYTES of
 * frame (the kernel puts the frame at TPACKET_ALIGN(header + 16) - 14 = 66), so every frame
 * the emulator carries arrives whole; 30 slots per 64 KiB block. */
#define RING_BLOCK (64u << 10)
#define RING_FRAME ((TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + LK_SLOT_BYTES + 63) & ~63u)

static int rxring_setup(int fd, size_t bytes, struct lk_rxring *r, char *err, size_t errlen)
{
    int v = TPACKET_V2;
    struct tpacket_req req = { .tp_block_size = RING_BLOCK, .tp_frame_size = RING_FRAME };
    req.tp_block_nr = (unsigned)(bytes / RING_BLOCK) ? (unsigned)(bytes / RING_BLOCK) : 1;
    req.tp_frame_nr = req.tp_block_nr * (RING_BLOCK / RING_FRAME);
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)))
        return snprintf(err, errlen, "PACKET_VERSION: %s", strerror(errno)), -1;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
        snprintf(err, errlen, "PACKET_RX_RING: %s", strerror(errno));
        v = TPACKET_V1;
        setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v));
        return -1;
    }
    size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "mmap rx ring: %s", strerror(errno));
        req = (struct tpacket_req){ 0 }; /* frees the ring */
        setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req));
        v = TPACKET_V1;
        setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v));
        return -1;
    }
    *r = (struct lk_rxring){ .map = m,
                             .len = len,
                             .block_size = req.tp_block_size,
                             .per_block = RING_BLOCK / RING_FRAME,
                             .frame_size = RING_FRAME,
                             .frame_nr = req.tp_frame_nr };
    return 0;
}

bool lk_rxring_ready(const struct lk_rxring *r)
{
    if (!r->map) return false;
    const struct tpacket2_hdr *h = (const void *)lk_rxring_slot(r, r->head);
    return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER;
}

void lk_rxring_unmap(struct lk_rxring *r)
{
    if (r->map) munmap(r->map, r->len);
    r->map = NULL;
}

int lk_sock_open(const char *ifname, size_t ring_bytes, struct lk_rxring *ring, char *err,
                 size_t errlen)
{
    if (ring) ring->map = NULL;
    unsigned idx = if_nametoindex(ifname);
    if (!idx) return snprintf(err, errlen, "%s: no such interface", ifname), -1;
    /* protocol 0 first: the socket receives nothing until it is bound to its interface, so
     * no frame of another interface can sneak into its queue */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return snprintf(err, errlen, "socket(AF_PACKET): %s", strerror(errno)), -1;
    int one = 1, sz = SOCKBUF;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one))) {
        snprintf(err, errlen, "PACKET_IGNORE_OUTGOING: %s", strerror(errno));
        goto bad;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    struct packet_mreq mr = { .mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC };
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
        snprintf(err, errlen, "%s: promiscuous mode: %s", ifname, strerror(errno));
        goto bad;
    }
    /* the ring before the bind: no frame can reach the socket queue, where nobody would read
     * it once the ring is there */
    char rerr[160] = "";
    if (ring_bytes && ring && rxring_setup(fd, ring_bytes, ring, rerr, sizeof(rerr)))
        ring->map = NULL;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET,
                               .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = (int)idx };
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
        snprintf(err, errlen, "bind %s: %s", ifname, strerror(errno));
        goto bad;
    }
    if (err && errlen) snprintf(err, errlen, "%s", rerr);
    return fd;
bad:
    if (ring) lk_rxring_unmap(ring);
    close(fd);
    return -1;
}

int lk_offloads_off(const char *ifname, char *err, size_t errlen)
{
    static const struct {
        uint32_t cmd;
        const char *name;
    } set[] = {
        { ETHTOOL_STSO, "tso" },   { ETHTOOL_SGSO, "gso" },   { ETHTOOL_SGRO, "gro" },
        { ETHTOOL_STXCSUM, "tx" }, { ETHTOOL_SRXCSUM, "rx" },
    };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), bad = 0;
    size_t off = 0;
    if (err && errlen) err[0] = 0;
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return 5;
    }
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        struct ethtool_value ev = { .cmd = set[i].cmd, .data = 0 };
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        ifr.ifr_data = (void *)&ev;
        if (ioctl(fd, SIOCETHTOOL, &ifr) && errno != EOPNOTSUPP) {
            bad++;
            if (off < errlen)
                off += (size_t)snprintf(err + off, errlen - off, "%s%s: %s", off ? ", " : "",
                                        set[i].name, strerror(errno));
        }
    }
    close(fd);
    return bad;
}

int lk_csum_complete(uint8_t *f, uint32_t len)
{
    uint32_t l3 = 14;
    mpx_iphdr h;
    if (len < 14) return 0;
    uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
    if (et == ETH_P_IP) {
        if (mpx_ipv4_parse(f + l3, len - l3, &h) != MPX_IPP_OK) return 0;
        if (l3 + h.tot_len > len || (h.frag & 0x3fff))
            return 0; /* fragments never carry a partial checksum */
    } else if (et == ETH_P_IPV6) {
        /* extension headers are not walked: the L4 header follows the fixed header */
        if (mpx_ipv6_parse(f + l3, len - l3, MPX_IPP_NO_EXT, &h) != MPX_IPP_OK) return 0;
        if (l3 + h.tot_len > len) return 0;
    } else {
        return 0;
    }
    uint32_t l4 = l3 + (uint32_t)h.l4_off, l4len = (uint32_t)(h.tot_len - h.l4_off), coff;
    if (h.proto == IPPROTO_TCP)
        coff = 16;
    else if (h.proto == IPPROTO_UDP)
        coff = 6;
    else
        return 0;
    if (l4len < coff + 2) return 0;
    f[l4 + coff] = f[l4 + coff + 1] = 0;
    uint16_t c = mpx_ipcsum_l4(h.af, h.src, h.dst, h.proto, f + l4, l4len);
    if (h.proto == IPPROTO_UDP && c == 0) c = 0xffff;
    f[l4 + coff] = (uint8_t)(c >> 8), f[l4 + coff + 1] = (uint8_t)c;
    return 1;
}

uint32_t lk_vlan_insert(uint8_t *f, uint32_t len, uint32_t cap, uint16_t tpid, uint16_t tci)
{
    if (len < 12 || len + 4 > cap) return len;
    memmove(f + 16, f + 12, len - 12);
    f[12] = (uint8_t)(tpid >> 8), f[13] = (uint8_t)tpid;
    f[14] = (uint8_t)(tci >> 8), f[15] = (uint8_t)tci;
    return len + 4;
}
