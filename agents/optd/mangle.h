/* Packet surgery for mpx-optd: locate the TCP header of an IPv4/IPv6 packet (read by
 * proto/ippkt.h), append a TCP option to a SYN's option area, insert the IPv4 Router Alert option, and fix every length
 * and checksum. Pure functions on a caller-owned buffer (no I/O), so they are unit-tested. */
#ifndef MPX_OPTD_MANGLE_H
#define MPX_OPTD_MANGLE_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct {
    int      family;       /* 4 or 6 */
    size_t   ip_hlen;      /* IPv4 IHL*4; 40 for IPv6 (extension headers are not walked) */
    size_t   tcp_off;      /* offset of the TCP header */
    size_t   tcp_hlen;     /* doff*4 */
    size_t   payload_len;  /* TCP payload bytes */
    uint8_t  flags;        /* TCP flags byte */
    uint8_t  saddr[16], daddr[16];
    uint16_t sport, dport;
} optd_pkt;

/* Parses an IP packet carrying TCP. Returns 0, or -1 with *why set. */
int optd_pkt_parse(const uint8_t *p, size_t len, optd_pkt *v, const char **why);

/* Appends option bytes `opt` (kind, len, ...) after the last option of the TCP header,
 * NOP-padded to a 32-bit boundary; shifts the payload; fixes data offset, IP length and the
 * IP and TCP checksums. Refuses (-1, *why "no-room") when the option area would exceed 40
 * bytes, so a SYN is never made malformed. `cap` is the buffer size. */
int optd_pkt_add_tcpopt(uint8_t *p, size_t len, size_t cap, const uint8_t *opt, size_t optlen,
                        size_t *newlen, const char **why);

/* Inserts the IPv4 Router Alert option 94 04 00 00 (RFC 2113) into the IP header. */
int optd_pkt_add_ipv4_ra(uint8_t *p, size_t len, size_t cap, size_t *newlen, const char **why);

/* True when the IPv4 header carries a Router Alert option. */
bool optd_pkt_has_ipv4_ra(const uint8_t *p, size_t len);

/* Recomputes the IPv4 header checksum (no-op for IPv6) and the TCP checksum. */
void optd_pkt_fix_checksums(uint8_t *p, size_t len);
/* Verifies both checksums; true if correct. */
bool optd_pkt_checksums_ok(const uint8_t *p, size_t len);
#endif
