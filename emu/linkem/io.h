/* AF_PACKET plumbing: one raw socket per interface, offloads off, checksum completion. */
#ifndef LK_IO_H
#define LK_IO_H
#include <stddef.h>
#include <stdint.h>

/* Opens a non-blocking ETH_P_ALL socket bound to ifname: PACKET_IGNORE_OUTGOING (never see
 * our own frames), promiscuous, 32 MB buffers, kernel rx timestamps, aux data, qdisc bypass.
 * Returns the fd or -1 with err set. */
int lk_sock_open(const char *ifname, char *err, size_t errlen);

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
