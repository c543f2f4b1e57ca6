/* The experimental plain-mode MPTCP options as real kind-30 options (protocols.md 2.2,
 * 2.4): MP_CONVERT (draft-boucadair-mptcp-plain-mode -09 layout, and the -00 layout with
 * D/U bits) and MP_PREFER_PROXY (-10, 4 bytes). The subtype was never assigned by IANA, so
 * it is a parameter (MPX_MPOPT_SUBTYPE_DEFAULT = 0xe, the drafts' suggestion).
 *
 * -09 layout:  30 | Len | Subtype(4) D(1) Flags(3) | Protocol | Address (4/16) | [Port]
 * -00 layout:  30 | Len | Subtype(4) D(1) U(1) Flags(10)      | Address (4/16) | [Port]
 * Len 4 (no address), 8 (IPv4), 10 (IPv4+port), 20 (IPv6), 22 (IPv6+port).
 *
 * Rule IDs:
 *   MPCONV-KIND      first byte is not 30
 *   MPCONV-SUBTYPE   subtype nibble differs from the one asked for
 *   MPCONV-LEN       length not 4/8/10/20/22 (or the length byte differs from len)
 *   MPCONV-FLAGS     (-09) reserved flag bits set (check only; MUST be 0, ignored)
 *   PREFER-LEN       MP_PREFER_PROXY length != 4
 *   PREFER-SUBTYPE   subtype nibble differs
 *   PREFER-RSV       reserved bits set (check only)
 */
#ifndef MPX_PROTO_MPOPT_H
#define MPX_PROTO_MPOPT_H
#include "proto/buf.h"

#define MPX_MPOPT_SUBTYPE_DEFAULT 0xe

typedef enum { MPX_MPCONV_L09 = 0, MPX_MPCONV_L00 = 1 } mpx_mpconv_layout;

typedef struct {
    uint8_t  subtype;      /* 4-bit subtype, normally MPX_MPOPT_SUBTYPE_DEFAULT */
    mpx_mpconv_layout layout;
    bool     d;            /* 1 = address/port is the SOURCE, 0 = destination */
    bool     u;            /* -00 only: UDP carried over MPTCP */
    uint16_t flags;        /* -09: 3 reserved bits; -00: 10 flag bits */
    uint8_t  protocol;     /* -09 only: IANA protocol number, default 6 */
    uint8_t  family;       /* 0 (no address, length 4), 4 or 6 (same values as MPX_AF_*) */
    uint8_t  addr[16];     /* network order; IPv4 in addr[0..3] */
    bool     has_port;
    uint16_t port;
} mpx_mpconvert;

/* Fills the defaults: subtype 0xe, layout -09, protocol 6, destination, no address. */
void   mpx_mpconvert_init(mpx_mpconvert *c);
size_t mpx_mpconvert_len(const mpx_mpconvert *c);   /* 4, 8, 10, 20 or 22 */
/* p points at the kind byte, len = option length. Returns 0 or -1 with e->rule. */
int    mpx_mpconvert_decode(const uint8_t *p, size_t len, uint8_t subtype,
                            mpx_mpconv_layout layout, mpx_mpconvert *out, mpx_err *e);
/* Returns 0, -1 if the struct is invalid (family) or w overflowed. */
int    mpx_mpconvert_encode(const mpx_mpconvert *c, mpx_wr *w);
/* Semantic checks (MPCONV-FLAGS); returns the number of violations added. */
size_t mpx_mpconvert_check(const mpx_mpconvert *c, size_t off, mpx_viols *vs);
/* "mp_convert dst 192.0.2.1:80 proto 6" style text. */
int    mpx_mpconvert_format(const mpx_mpconvert *c, char *buf, size_t cap);

typedef struct {
    uint8_t  subtype;
    uint16_t rsv;          /* the 12 reserved bits */
} mpx_prefer_proxy;

int mpx_prefer_proxy_decode(const uint8_t *p, size_t len, uint8_t subtype,
                            mpx_prefer_proxy *out, mpx_err *e);
/* Encodes 1e 04 <subtype<<4 | rsv>>8> <rsv>. */
int mpx_prefer_proxy_encode(const mpx_prefer_proxy *pp, mpx_wr *w);
/* Semantic checks (PREFER-RSV); returns the number of violations added. */
size_t mpx_prefer_proxy_check(const mpx_prefer_proxy *pp, size_t off, mpx_viols *vs);

/* Note: with both options on the same subtype, an address-less MP_CONVERT (length 4) and
 * MP_PREFER_PROXY look the same on the wire; give them different subtypes when an
 * experiment uses both. */
#endif
