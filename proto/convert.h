/* RFC 8803 "0-RTT TCP Convert Protocol": the fixed header and every TLV, encode and decode.
 * Section numbers refer to draft-ietf-tcpm-converters-19 (= RFC 8803 structure); see
 * protocols.md section 1 and proto/README.md for every rule ID and the Error code it maps to.
 *
 * Decoded variable-length fields point INTO the caller's buffer (no copies): keep the input
 * alive while using the mpx_conv_msg. The same struct is filled by the caller to encode. */
#ifndef MPX_PROTO_CONVERT_H
#define MPX_PROTO_CONVERT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/addr.h"
#include "proto/buf.h"

#define MPX_CONV_VERSION    1
#define MPX_CONV_MAGIC      0x2263u
#define MPX_CONV_HDR_LEN    4
#define MPX_CONV_MAX_LEN    1020   /* Total Length is 8 bits of 32-bit words */
#define MPX_CONV_CONNECT_BASE_WORDS 5
#define MPX_CONV_MAX_OPTS   32     /* TCP options listed in one Extended Connect */
#define MPX_CONV_MAX_TLVS   8      /* each of the 6 known types at most once */

enum mpx_conv_tlv_type {
    MPX_CONV_TLV_INFO      = 0x01,
    MPX_CONV_TLV_CONNECT   = 0x0a,
    MPX_CONV_TLV_EXT_HDR   = 0x14,  /* Extended TCP Header (converter -> client) */
    MPX_CONV_TLV_SUPPORTED = 0x15,  /* Supported TCP Extensions (converter -> client) */
    MPX_CONV_TLV_COOKIE    = 0x16,
    MPX_CONV_TLV_ERROR     = 0x1e,
};

enum mpx_conv_error_code {
    MPX_CONV_E_UNSUPPORTED_VERSION = 0,
    MPX_CONV_E_MALFORMED           = 1,
    MPX_CONV_E_UNSUPPORTED_MESSAGE = 2,
    MPX_CONV_E_MISSING_COOKIE      = 3,
    MPX_CONV_E_NOT_AUTHORIZED      = 32,
    MPX_CONV_E_UNSUPPORTED_OPTION  = 33,
    MPX_CONV_E_RESOURCE_EXCEEDED   = 64,
    MPX_CONV_E_NETWORK_FAILURE     = 65,
    MPX_CONV_E_CONNECTION_RESET    = 96,
    MPX_CONV_E_DEST_UNREACHABLE    = 97,
};

/* One TCP option listed in an Extended Connect: kind + value (value may be empty: "converter
 * generates its own value"). On decode val points into the input. */
typedef struct {
    uint8_t        kind;
    uint8_t        vlen;   /* value bytes (option length - 2) */
    const uint8_t *val;
} mpx_conv_opt;

typedef struct {
    mpx_addr     addr;      /* target (or remote host for incoming); port in addr.port.
                             * MPX_AF_INET is written IPv4-mapped on the wire */
    bool         extended;  /* decoded: TLV longer than 5 words; encode: forced if nopts > 0 */
    uint8_t      nopts;
    mpx_conv_opt opts[MPX_CONV_MAX_OPTS];
} mpx_conv_connect;

/* Error TLV. The value is interpreted per code (section 6.2.8); raw/raw_len is always the
 * whole value area after the code byte (TLV bytes 3..end, padding included). */
typedef struct {
    uint8_t        code;
    /* code 0: supported versions; 33: unsupported option kinds (trailing zero padding
     * stripped, 0 never being a valid version/kind). 1/2: echo of the offending message;
     * 3: the cookie (both after the zero byte 3, padding INCLUDED since it cannot be told
     * apart from content). Unused for other codes. */
    const uint8_t *data;
    size_t         data_len;
    uint8_t        wait_s;     /* 64/65: seconds before retry, 0 = default >= 30 s
                                * (1 byte at offset 3; the RFC leaves the width open) */
    uint8_t        icmp_code;  /* 97: ICMP Code of the hard error */
    const uint8_t *raw;
    size_t         raw_len;
} mpx_conv_error;

/* A whole Convert message (fixed header + TLVs). */
typedef struct {
    uint8_t  version;      /* decode: as received; encode: 0 means MPX_CONV_VERSION */
    uint8_t  total_words;  /* decode: header Total Length; ignored on encode */
    size_t   conv_len;     /* 4 * total_words */
    size_t   data_off;     /* where user data starts (== conv_len) */
    size_t   need;         /* MPX_DEC_MORE: total bytes needed so far (>= input length + 1) */

    bool has_info, has_connect, has_ext_hdr, has_supported, has_cookie, has_error;
    mpx_conv_connect connect;
    const uint8_t   *ext_hdr;        /* raw TCP options of the server's SYN+ACK (padded) */
    size_t           ext_hdr_len;
    const uint8_t   *supported;      /* option kinds, trailing zero padding stripped */
    size_t           supported_len;
    const uint8_t   *cookie;         /* opaque, padding included */
    size_t           cookie_len;
    mpx_conv_error   error;

    /* decode: TLVs in wire order (type, length in words, offset of the TLV) */
    uint8_t ntlv;
    struct { uint8_t type, words; uint16_t off; } tlv[MPX_CONV_MAX_TLVS];
} mpx_conv_msg;

/* Decoder flags. */
#define MPX_CONV_F_COMPLETE        0x01u /* input is all there is: truncation -> MPX_DEC_BAD */
#define MPX_CONV_F_FROM_CLIENT     0x02u /* reject TLVs only a converter sends (20, 21) */
#define MPX_CONV_F_FROM_CONVERTER  0x04u /* reject TLVs only a client sends (1, 22) */
#define MPX_CONV_F_ANY_ADDR        0x08u /* skip the target address class checks */

/* Decodes a Convert message at the start of p[0..len). Returns MPX_DEC_OK (m filled,
 * m->data_off = first user-data byte), MPX_DEC_MORE (m->need = bytes needed; e names the
 * rule CONV-HDR-TRUNC or CONV-HDR-LEN) or MPX_DEC_BAD (e names the rule; fields decoded
 * before the failure stay filled). */
int mpx_conv_decode(const uint8_t *p, size_t len, unsigned flags, mpx_conv_msg *m, mpx_err *e);

/* Bytes the message starting at p needs in total: 0 if fewer than 4 bytes are known yet,
 * otherwise 4 * Total Length (no other check). For socket readers. */
size_t mpx_conv_frame_len(const uint8_t *p, size_t len);

/* Zeroes m (version = 1). */
void mpx_conv_msg_init(mpx_conv_msg *m);
/* Encodes m: header then TLVs in the order Info, Connect, Cookie, Extended TCP Header,
 * Supported, Error; each padded to 32 bits. Returns bytes written or -1 (CONV-ENC-* rule:
 * buffer too small, message over 1020 bytes, field out of range). */
long mpx_conv_encode(const mpx_conv_msg *m, uint8_t *out, size_t cap, mpx_err *e);

/* Shorthands for the messages the agents send most. */
/* Client SYN payload: header + Connect(addr) [+ Cookie]; opts may be NULL. */
long mpx_conv_encode_connect(const mpx_addr *target, const uint8_t *cookie, size_t cookie_len,
                             const mpx_conv_opt *opts, size_t nopts,
                             uint8_t *out, size_t cap, mpx_err *e);
/* Converter reply: header + Error TLV. value/vlen per code: 0 versions list, 33 kinds list,
 * 1/2 echo (truncated to fit 1020 bytes), 3 cookie, 64/65 wait seconds (vlen 1) or
 * none (0), 97 ICMP code (vlen 1); NULL/0 gives value 0. */
long mpx_conv_encode_error(uint8_t code, const uint8_t *value, size_t vlen,
                           uint8_t *out, size_t cap, mpx_err *e);

/* What a converter answers when a decode failed with `rule` (section 6.2.8 codes):
 * an Error code >= 0, or MPX_CONV_ACT_RESET (reset without Error TLV: Total Length 0),
 * MPX_CONV_ACT_NONE (rule unknown / not a decode rule). */
#define MPX_CONV_ACT_RESET (-1)
#define MPX_CONV_ACT_NONE  (-2)
int mpx_conv_rule_error_code(const char *rule);

/* Rule table (for docs, CLIs, tests): id, RFC section, error code/action, one-line text. */
typedef struct {
    const char *id;
    const char *section;
    int         code;
    const char *text;
} mpx_conv_rule;
const mpx_conv_rule *mpx_conv_rules(size_t *n);

/* Policy helper for an Extended Connect: copies into `bad` (cap bytes) the kinds of c that
 * are not in the supported list; returns how many (0 = all supported). */
size_t mpx_conv_unsupported_opts(const mpx_conv_connect *c, const uint8_t *supported,
                                 size_t nsupported, uint8_t *bad, size_t cap);

const char *mpx_conv_tlv_name(uint8_t type);      /* "Connect", ... or "unknown" */
const char *mpx_conv_error_name(uint8_t code);    /* "Destination Unreachable", ... */
#endif
