/* IPv4/IPv6 and TCP headers of one packet: locating the TCP header (IPv4 options, IPv6
 * extension headers), reading the header fields, the Internet checksum (RFC 1071) with the
 * TCP/UDP pseudo-header, and the IPv4 Router Alert option. Pure functions, no I/O; every
 * header read goes through the checked reader (buf.h), so truncated input is reported,
 * never read past.
 *
 * Users: mpx-optd (packet surgery), mpx-analyze (capture framing), mpx-linkem (checksum
 * completion), mpx-mkpcap (test captures). Each keeps its own policy (what a fragment is to
 * it, whether a cut packet is an error); the parser reports what the headers say. */
#ifndef MPX_PROTO_IPPKT_H
#define MPX_PROTO_IPPKT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IPv4 Router Alert (RFC 2113): type 0x94 (copied, class 0, number 20), length 4, value 0
 * ("router shall examine packet"). */
#define MPX_IPOPT_RA     0x94
#define MPX_IPOPT_RA_LEN 4
extern const uint8_t mpx_ipopt_ra[MPX_IPOPT_RA_LEN];

#define MPX_IPPROTO_TCP 6
#define MPX_IPPROTO_UDP 17

/* Why a header could not be read. */
typedef enum {
    MPX_IPP_OK = 0,
    MPX_IPP_NOT_IP,    /* version nibble neither 4 nor 6 (mpx_ip_parse only) */
    MPX_IPP_TRUNC,     /* fewer bytes than the header needs */
    MPX_IPP_BAD,       /* malformed: wrong version, IHL < 5, total length < IHL, ... */
    MPX_IPP_FRAGMENT,  /* IPv6: a Fragment header with a non-zero offset (no L4 header follows) */
} mpx_ipp_status;

/* Flags of mpx_ip_parse / mpx_ipv6_parse. */
#define MPX_IPP_NO_EXT 0x1   /* IPv6: do not walk extension headers; l4_off = 40, proto = Next Header */

typedef struct {
    uint8_t  af;            /* 4 or 6 */
    size_t   ip_hlen;       /* IPv4 IHL*4; 40 for IPv6 */
    size_t   l4_off;        /* offset of the upper-layer header (after IPv6 extension headers) */
    uint8_t  proto;         /* upper-layer protocol (IPv4 Protocol; IPv6 last Next Header) */
    size_t   tot_len;       /* IPv4 Total Length; IPv6 40 + Payload Length */
    uint16_t frag;          /* IPv4 flags + fragment offset field (0 for IPv6) */
    uint8_t  ttl;           /* TTL / Hop Limit */
    uint8_t  src[16], dst[16];  /* IPv4 in the first 4 bytes, the rest zero */
    uint8_t  opt_len;       /* IPv4 option bytes; IPv6 Hop-by-Hop header length (max 255) */
    bool     ra_any;        /* IPv4: an option of type 0x94, any length */
    bool     ra;            /* IPv4 option 0x94 of length 4, or IPv6 HbH Router Alert (RFC 2711) */
    uint16_t ra_val;        /* its value (the last one seen) */
} mpx_iphdr;

/* IPv4 header at p (caplen bytes available). Checks, in order: 20 bytes (TRUNC), version
 * (BAD), IHL >= 5 and Total Length >= IHL (BAD), the whole IHL captured (TRUNC). Fills h
 * (addresses, TTL, protocol, fragment field, option scan); Total Length may exceed caplen. */
mpx_ipp_status mpx_ipv4_parse(const uint8_t *p, size_t caplen, mpx_iphdr *h);
/* IPv6 header at p: 40 bytes (TRUNC), version (BAD), then unless MPX_IPP_NO_EXT the
 * extension headers Hop-by-Hop, Routing, Fragment, AH and Destination Options up to the
 * first other Next Header (at most 16): a header cut by caplen is TRUNC, one that runs past
 * the payload length BAD, a non-first fragment FRAGMENT. */
mpx_ipp_status mpx_ipv6_parse(const uint8_t *p, size_t caplen, unsigned flags, mpx_iphdr *h);
/* Either, by the version nibble (empty input is TRUNC, another version NOT_IP). */
mpx_ipp_status mpx_ip_parse(const uint8_t *p, size_t caplen, unsigned flags, mpx_iphdr *h);

/* Walks IPv4 options (the bytes after the fixed 20-byte header): sets h->ra_any, h->ra and
 * h->ra_val; stops at End of Option List or at the first malformed option. */
void mpx_ipv4_opts_scan(const uint8_t *opts, size_t n, mpx_iphdr *h);

typedef struct {
    uint16_t sport, dport;
    uint32_t seq, ack;
    size_t   hlen;          /* data offset * 4 */
    uint8_t  flags;         /* FIN 0x01 ... CWR 0x80 */
    uint16_t win, csum, urg;
} mpx_tcphdr;

/* TCP header at p: caplen bytes captured of a segment of wire bytes. Fewer than 20 bytes
 * captured is TRUNC (BAD when the segment itself is shorter); a data offset below 5 or past
 * the segment is BAD. The options may be cut by caplen (the caller compares hlen). */
mpx_ipp_status mpx_tcp_parse(const uint8_t *p, size_t caplen, size_t wire, mpx_tcphdr *t);

/* Internet checksum (RFC 1071). mpx_ipcsum_add adds n bytes as big-endian 16-bit words (an
 * odd last byte padded with zero) to a running 32-bit sum; mpx_ipcsum_fold folds the carries
 * (not complemented: a correct header or segment folds to 0xffff; the checksum to write is
 * ~fold over the data with the checksum field zero). */
uint32_t mpx_ipcsum_add(uint32_t acc, const uint8_t *p, size_t n);
uint16_t mpx_ipcsum_fold(uint32_t acc);
/* TCP/UDP pseudo-header (RFC 9293 3.1, RFC 8200 8.1): addresses (4 or 16 bytes by af),
 * protocol and upper-layer length, added to acc. */
uint32_t mpx_ipcsum_pseudo(uint32_t acc, int af, const uint8_t *src, const uint8_t *dst,
                         uint8_t proto, uint32_t l4len);
/* The checksum field value of an upper-layer segment: seg[0..len) with its checksum field
 * zeroed by the caller. */
uint16_t mpx_ipcsum_l4(int af, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     const uint8_t *seg, size_t len);
/* True when the segment (checksum field included) sums correctly. */
bool     mpx_ipcsum_l4_ok(int af, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                        const uint8_t *seg, size_t len);
#endif
