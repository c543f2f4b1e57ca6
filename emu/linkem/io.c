#include "emu/linkem/io.h"
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
#include <sys/socket.h>
#include <unistd.h>

#define SOCKBUF (32 << 20) /* a ceiling: used only while frames wait (8 MB overflowed under
                            * bursts of 1514-byte frames at ~190 kpps, see README) */

int lk_sock_open(const char *ifname, char *err, size_t errlen)
{
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
    struct sockaddr_ll sll = { .sll_family = AF_PACKET,
                               .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = (int)idx };
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
        snprintf(err, errlen, "bind %s: %s", ifname, strerror(errno));
        goto bad;
    }
    return fd;
bad:
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
