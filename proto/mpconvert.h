/* MP_CONVERT in the SYN payload (draft-boucadair-mptcp-plain-mode), both forms:
 *   -09: MP_CONVERT option bytes (kind 30, length, subtype|D|flags, protocol, address,
 *        optional port), up to two with different D, then one EOL byte (0x00), then data;
 *   -10: MP_CONVERT Information Element(s): magic 0xFAA8FAA8, type 0, length, reserved|D|M,
 *        address, optional port, zero padding to 32 bits; up to two; M set = last IE.
 * See protocols.md 2.2/2.3 and proto/README.md (rule IDs, the IE length decision). */
#ifndef MPX_PROTO_MPCONVERT_H
#define MPX_PROTO_MPCONVERT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/addr.h"
#include "proto/buf.h"

#define MPX_MPCONV_KIND            30
#define MPX_MPCONV_SUBTYPE_DEFAULT 0xe   /* never IANA-assigned; suggested for trials */
#define MPX_MPCONV_PROTO_TCP       6
#define MPX_MPCONV_IE_MAGIC        0xFAA8FAA8u
#define MPX_MPCONV_IE_TYPE_ADDR    0
#define MPX_MPCONV_MAX             2     /* at most two instances (one per D value) */

/* The -10 IE Length ambiguity (protocols.md 10 item 4), decided in ONE place: Length counts
 * the bytes from the Type octet to the end of the port (Type, Length, 2 flag octets, address,
 * port), i.e. NOT the 4-byte magic and NOT the padding. This keeps the draft's values
 * 4/8/10/20/22 exact. Set to 4 to count the magic (values 8/12/14/24/26 then). */
#define MPX_MPCONV_IE_LEN_MAGIC_BYTES 0

/* One MP_CONVERT instance (either form). */
typedef struct {
    bool     d;          /* true: address/port is the SOURCE; false: DESTINATION */
    mpx_addr addr;       /* family MPX_AF_NONE = no address (length 4); port 0 = absent */
    bool     has_port;
    /* -09 only */
    uint8_t  subtype;    /* decode: as received; encode: 0 means MPX_MPCONV_SUBTYPE_DEFAULT */
    uint8_t  flags;      /* 3 reserved bits, sent 0, ignored */
    uint8_t  protocol;   /* encode: 0 means 6 (TCP) */
    /* -10 only */
    bool     m;          /* decoded M bit (set = last IE); the encoder computes it */
} mpx_mpconv;

typedef enum { MPX_MPCONV_FORM_NONE = 0, MPX_MPCONV_FORM_09 = 9, MPX_MPCONV_FORM_IE = 10 } mpx_mpconv_form;

typedef struct {
    mpx_mpconv_form form;
    uint8_t         n;                     /* instances decoded */
    mpx_mpconv      inst[MPX_MPCONV_MAX];
    size_t          data_off;              /* first byte of user data after the signal */
    size_t          need;                  /* MPX_DEC_MORE: bytes needed so far */
} mpx_mpconv_payload;

/* Decoder flags. */
#define MPX_MPCONV_F_COMPLETE   0x01u  /* input is complete: truncation -> MPX_DEC_BAD */
#define MPX_MPCONV_F_ANY_ADDR   0x02u  /* skip multicast/broadcast/loopback/unspecified check */
#define MPX_MPCONV_F_ANY_SUBTYPE 0x04u /* -09: accept any subtype (else must equal `subtype`) */

/* Each returns MPX_DEC_OK / MPX_DEC_MORE / MPX_DEC_BAD (rule in e), like convert.h.
 * subtype: expected -09 subtype (0 = MPX_MPCONV_SUBTYPE_DEFAULT). */
int mpx_mpconv_decode_09(const uint8_t *p, size_t len, unsigned flags, uint8_t subtype,
                         mpx_mpconv_payload *out, mpx_err *e);
int mpx_mpconv_decode_ie(const uint8_t *p, size_t len, unsigned flags,
                         mpx_mpconv_payload *out, mpx_err *e);
/* Auto-detect: FA A8 FA A8 -> IE, 0x1e -> -09, else MPCONV-FORM. Fewer than 4 bytes that
 * could still become either -> MPX_DEC_MORE. */
int mpx_mpconv_decode(const uint8_t *p, size_t len, unsigned flags, uint8_t subtype,
                      mpx_mpconv_payload *out, mpx_err *e);

/* Encoders write the signal only (instances + EOL / IEs); the caller appends user data.
 * Return bytes written or -1 (MPCONV-ENC-* rule). n is 1 or 2 (different d). */
long mpx_mpconv_encode_09(const mpx_mpconv *inst, size_t n, uint8_t *out, size_t cap, mpx_err *e);
long mpx_mpconv_encode_ie(const mpx_mpconv *inst, size_t n, uint8_t *out, size_t cap, mpx_err *e);

/* Single -09 option element (also what a kind-30 MP_CONVERT in the option area looks like):
 * decodes one option at p (len bytes available, no trailing EOL). Returns bytes used, 0 when
 * more bytes are needed, -1 invalid. */
long mpx_mpconv_opt_decode(const uint8_t *p, size_t len, unsigned flags, uint8_t subtype,
                           mpx_mpconv *out, mpx_err *e);
/* On-wire length of one instance: -09 option length (4/8/10/20/22) or IE bytes incl. magic
 * and padding (8/12/16/24/28 with the default length decision). */
size_t mpx_mpconv_opt_len(const mpx_mpconv *inst);
size_t mpx_mpconv_ie_len(const mpx_mpconv *inst);

/* Same signalled content (d, address, port presence and value). */
bool mpx_mpconv_equal(const mpx_mpconv *a, const mpx_mpconv *b);
#endif
