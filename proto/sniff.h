/* Payload sniffing: which signal the first bytes of a connection's client stream (the SYN
 * payload, or the first data when the SYN carried none) look like, from the fixed fields the
 * formats in proto/ define (Convert version and magic, the MP_CONVERT IE magic, the -09
 * option's kind and subtype, the SOCKSv5 greeting). A cheap, bounds-checked first look: the
 * decoders (convert.h, mpconvert.h, socks5.h) then judge the message itself. Pure functions. */
#ifndef MPX_PROTO_SNIFF_H
#define MPX_PROTO_SNIFF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/signal.h"

typedef struct {
    uint8_t        mpconv_subtype; /* MPTCP subtype of the experimental kind-30 options */
    bool           syn_data;       /* the client's SYN carried payload: the -09 MP_CONVERT
                                    * form is only looked for then */
    const uint8_t *reply;          /* first bytes of the other direction (NULL: none seen) */
    size_t         reply_len;
} mpx_sniff_ctx;

/* The class the client's first n bytes p suggest: MPX_WIRE_NONE when n == 0; MPX_WIRE_CONVERT
 * (Convert magic, any version: a bad version is still judged as Convert),
 * MPX_WIRE_MPCONVERT_IE, MPX_WIRE_MPCONVERT (-09 form in SYN data), MPX_WIRE_SOCKS5 (a
 * greeting answered by a SOCKSv5 reply); otherwise MPX_WIRE_PLAIN. A payload never shows
 * MPX_WIRE_MPCONVERT_OPT (that signal is in the option space). */
mpx_wire_class mpx_sniff_client(const uint8_t *p, size_t n, const mpx_sniff_ctx *ctx);

/* Does p start with a Convert header's fixed fields: the magic, and the version unless
 * any_version? */
bool mpx_sniff_convert(const uint8_t *p, size_t n, bool any_version);
#endif
