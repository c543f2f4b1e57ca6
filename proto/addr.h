/* Small IP address + port value type shared by the Convert, MP_CONVERT and SOCKS codecs:
 * IPv4/IPv6, IPv4-mapped conversion, classification of addresses a proxy must refuse as a
 * target, and parse/format of "1.2.3.4:80" / "[fd00::1]:80". Pure functions, no I/O. */
#ifndef MPX_PROTO_ADDR_H
#define MPX_PROTO_ADDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status returned by the streaming decoders of convert.h, mpconvert.h and socks5.h:
 * a proxy reading from a socket gets MPX_DEC_MORE while the message is incomplete and can
 * keep reading; MPX_DEC_BAD is final (the mpx_err says which rule failed). */
#ifndef MPX_DEC_OK
#define MPX_DEC_OK   0
#define MPX_DEC_MORE 1
#define MPX_DEC_BAD  (-1)
#endif

enum { MPX_AF_NONE = 0, MPX_AF_INET = 4, MPX_AF_INET6 = 6 };

typedef struct {
    uint8_t  family;  /* MPX_AF_NONE, MPX_AF_INET (a[0..3] used) or MPX_AF_INET6 */
    uint16_t port;    /* host byte order; 0 = none/unspecified */
    uint8_t  a[16];   /* network byte order */
} mpx_addr;

/* Why an address is not an acceptable connection target (RFC 6890 special purpose). */
typedef enum {
    MPX_ADDR_OK = 0,
    MPX_ADDR_UNSPECIFIED,  /* 0.0.0.0/8, :: */
    MPX_ADDR_LOOPBACK,     /* 127/8, ::1 */
    MPX_ADDR_MULTICAST,    /* 224/4, ff00::/8 */
    MPX_ADDR_BROADCAST,    /* 255.255.255.255 (limited broadcast) */
    MPX_ADDR_NOFAMILY,     /* family is MPX_AF_NONE */
} mpx_addr_class;

/* Longest text mpx_addr_format produces ("[ffff:...:255.255.255.255]:65535" + NUL). */
#define MPX_ADDR_STRLEN 56

mpx_addr mpx_addr_v4(uint32_t ip_host_order, uint16_t port);
mpx_addr mpx_addr_v4b(const uint8_t ip[4], uint16_t port);
mpx_addr mpx_addr_v6(const uint8_t ip[16], uint16_t port);
bool     mpx_addr_eq(const mpx_addr *a, const mpx_addr *b);   /* family, address and port */

/* 16-byte IPv6 form: IPv6 copied, IPv4 as IPv4-mapped ::ffff:a.b.c.d (RFC 4291 2.5.5.2). */
void     mpx_addr_to_mapped(const mpx_addr *a, uint8_t out[16]);
/* Inverse: ::ffff:a.b.c.d becomes MPX_AF_INET, anything else MPX_AF_INET6. */
mpx_addr mpx_addr_from_mapped(const uint8_t in[16], uint16_t port);
bool     mpx_addr_is_v4mapped(const uint8_t in[16]);
/* Deprecated IPv4-compatible form ::a.b.c.d (not :: and not ::1): an IPv4 address that a
 * sender wrote without the ffff marker. */
bool     mpx_addr_is_v4compat(const uint8_t in[16]);

mpx_addr_class mpx_addr_classify(const mpx_addr *a);
const char    *mpx_addr_class_name(mpx_addr_class c);  /* "ok", "loopback", ... */

/* Parses "1.2.3.4:80", "[fd00::1]:80", or without port "1.2.3.4" / "fd00::1" / "[fd00::1]".
 * port_mode: 0 port optional, 1 port required, -1 port forbidden. A port is 1..5 decimal
 * digits, at most 65535. Brackets only around IPv6. Returns 0 or -1. This is the one parser
 * of address text (lib/addr.c builds socket addresses on it). */
int  mpx_addr_parse(const char *s, mpx_addr *out, int port_mode);
/* The same with more out: *has_port (may be NULL) says whether the text named a port (out->port
 * is 0 otherwise); scope non-NULL also accepts a numeric IPv6 zone, "fe80::1%2" or
 * "[fe80::1%2]:80", and stores it (0 when absent); with scope NULL a zone is an error. */
int  mpx_addr_parse_text(const char *s, mpx_addr *out, int port_mode, bool *has_port,
                         uint32_t *scope);
/* Formats as above; with_port adds ":port" (IPv6 in brackets). Returns out. */
char *mpx_addr_format(const mpx_addr *a, bool with_port, char *out, size_t cap);

/* Conversions to/from struct sockaddr_in / sockaddr_in6 (declared as void * so this header
 * does not pull in socket headers). to_sockaddr returns the length used or 0 when cap is
 * too small / family none; from_sockaddr returns 0 or -1 (unknown family). */
size_t mpx_addr_to_sockaddr(const mpx_addr *a, void *sa, size_t cap);
int    mpx_addr_from_sockaddr(const void *sa, size_t len, mpx_addr *out);
#endif
