/* Socket address parsing and formatting for the agents (IPv4 and IPv6). The text grammar is
 * proto/addr.h's mpx_addr_parse, plus a numeric IPv6 zone ("[fe80::1%2]:80"): "198.18.3.1:8080",
 * "[fd00:18:3::1]:8080", and without a port "198.18.3.1", "fd00:18:3::1" or "[fd00:18:3::1]"
 * where the caller allows a default port. No DNS: the agents only ever use literal addresses
 * (RFC 8803 Connect carries no names). */
#ifndef MPX_AGENTS_ADDR_H
#define MPX_AGENTS_ADDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

typedef struct {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_storage ss;
    } u;
    socklen_t len;   /* 0 = unset */
} mpxa_addr;

/* Longest formatted address incl. brackets, port and NUL ("[ipv6%scope]:65535"). */
#define MPXA_ADDR_STRLEN 72

/* Parses "HOST:PORT" / "[V6]:PORT". With default_port > 0, a missing port is allowed and
 * default_port is used; with default_port < 0 the port is mandatory; 0 means "port 0 ok if
 * absent" (bind to any port). Returns 0, or -1 on a syntax error. */
int  mpxa_addr_parse(const char *s, int default_port, mpxa_addr *a);
/* Builds an address from a family-specific struct (accept(), getsockname()). */
int  mpxa_addr_from_sa(mpxa_addr *a, const struct sockaddr *sa, socklen_t len);
/* Builds an address from 4 (IPv4) or 16 (IPv6) raw bytes, network order, and a port.
 * A 16-byte IPv4-mapped address (::ffff:a.b.c.d) becomes an AF_INET address. */
int  mpxa_addr_from_raw(mpxa_addr *a, const uint8_t *raw, size_t rawlen, uint16_t port);
/* "ip:port" or "[ip]:port" into buf (cap >= MPXA_ADDR_STRLEN recommended); returns buf. */
char *mpxa_addr_fmt(const mpxa_addr *a, char *buf, size_t cap);
/* The address alone, no port, no brackets. */
char *mpxa_addr_fmt_ip(const mpxa_addr *a, char *buf, size_t cap);
int      mpxa_addr_family(const mpxa_addr *a);   /* AF_INET / AF_INET6 / AF_UNSPEC */
uint16_t mpxa_addr_port(const mpxa_addr *a);     /* host order */
void     mpxa_addr_set_port(mpxa_addr *a, uint16_t port);
/* The 16-byte IPv6 form used by RFC 8803 Connect: IPv4 becomes ::ffff:a.b.c.d. */
void     mpxa_addr_to_v6mapped(const mpxa_addr *a, uint8_t out[16]);
/* Raw address bytes (4 or 16) into out; returns the count. */
size_t   mpxa_addr_raw(const mpxa_addr *a, uint8_t out[16]);
bool     mpxa_addr_equal(const mpxa_addr *a, const mpxa_addr *b);  /* address and port */
#endif
