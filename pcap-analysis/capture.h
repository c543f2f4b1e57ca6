/* Capture layer of mpx-analyze: reads pcap/pcapng through libpcap and turns each frame into
 * a parsed TCP segment (link layer here; IPv4 with options, IPv6 with extension headers and the
 * TCP header through proto/ippkt.h). Every TCP option and payload format is decoded by proto/. */
#ifndef MPX_ANALYZE_CAPTURE_H
#define MPX_ANALYZE_CAPTURE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Why a frame was not turned into a TCP segment (counted, never fatal). */
enum cap_skip {
    CAP_OK = 0,
    CAP_NOT_IP,      /* ARP, LLDP, ... */
    CAP_NOT_TCP,     /* UDP, ICMP, ... */
    CAP_FRAGMENT,    /* non-first IP fragment */
    CAP_TRUNC,       /* snaplen cut the IP or TCP header itself */
    CAP_BAD,         /* malformed IP/TCP header (bad IHL, data offset < 5, ...) */
    CAP_SKIP_MAX
};

typedef struct {
    uint64_t num;          /* 1-based frame number in its file (as tcpdump/tshark count) */
    int64_t  t_us;         /* capture timestamp, microseconds since the epoch */
    int      af;           /* 4 or 6 */
    uint8_t  src[16], dst[16];   /* IPv4 in the first 4 bytes */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t  flags;        /* TCP flags byte (FIN 0x01 ... CWR 0x80) */
    uint16_t win;
    uint8_t  ttl;
    /* IPv4 options (or IPv6 Hop-by-Hop) */
    uint8_t  ip_opt_len;
    bool     ip_router_alert;     /* IPv4 option 0x94 (RFC 2113) or IPv6 HbH RA (RFC 2711) */
    uint16_t ip_router_alert_val;
    /* TCP option area as captured; opt_len_wire is what the data offset claims */
    const uint8_t *opt;
    size_t   opt_len;       /* bytes available (may be < opt_len_wire when truncated) */
    size_t   opt_len_wire;
    /* payload */
    const uint8_t *data;
    size_t   data_caplen;   /* bytes captured */
    uint32_t data_len;      /* bytes on the wire (from the IP total length) */
    bool     truncated;     /* snaplen cut options or payload */
    /* checksums as captured: 1 correct, 0 wrong, -1 not checkable (truncated; IPv6 has no
     * header checksum). A capture on the sending host with checksum offload shows wrong TCP
     * sums that are fixed later by the NIC, so the analyzer only judges them on request. */
    int8_t   ip_csum, tcp_csum;
} mpx_pkt;

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

typedef struct cap_file cap_file;

/* Opens FILE (pcap or pcapng). On failure returns NULL and fills err. */
cap_file *cap_open(const char *path, char *err, size_t errlen);
/* Opens an in-memory capture (fuzzing); the buffer must outlive the handle. */
cap_file *cap_open_mem(const uint8_t *buf, size_t len, char *err, size_t errlen);
/* Next TCP segment: 1 = got one in *pkt (valid until the next call), 0 = end of file,
 * -1 = read error (message in err). Non-TCP frames are counted in skipped[] and passed over. */
int  cap_next(cap_file *c, mpx_pkt *pkt, char *err, size_t errlen);
void cap_close(cap_file *c);
int  cap_linktype(const cap_file *c);
const char *cap_linktype_name(const cap_file *c);
uint64_t cap_frames(const cap_file *c);
uint64_t cap_skipped(const cap_file *c, enum cap_skip why);

/* Parses one frame of the given link type (exposed for unit tests). */
enum cap_skip cap_parse_frame(int linktype, const uint8_t *p, size_t caplen, size_t wirelen,
                              mpx_pkt *pkt);
/* Formats an address as text ("198.18.0.1" / "fd00::1"). */
void cap_addr_str(int af, const uint8_t *a, char *out, size_t outlen);
/* "ip:port" or "[ip6]:port". */
void cap_ep_str(int af, const uint8_t *a, uint16_t port, char *out, size_t outlen);
#endif
