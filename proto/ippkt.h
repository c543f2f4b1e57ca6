/* IPv4/IPv6 + TCP headers of one packet: the IPv4 Router Alert option. */
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
#endif
