/* libFuzzer target: RFC 8803 Convert decoder. Invariants checked beyond "no crash":
 * - the first input byte picks the decoder flags, the rest is the message;
 * - a decoded message lies inside the input and re-encodes to bytes that decode again
 *   and re-encode identically (encode(decode(x)) is a fixed point);
 * - a strict prefix of a valid message is "need more", never a verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto/convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned flags = data[0] & (MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CLIENT |
                                MPX_CONV_F_FROM_CONVERTER | MPX_CONV_F_ANY_ADDR);
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    mpx_conv_msg m, m2;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_conv_decode(p, len, flags, &m, &e);
    if (r == MPX_DEC_BAD && !e.rule) abort();
    if (r == MPX_DEC_MORE && (m.need <= len || !e.rule)) abort();
    if (r == MPX_DEC_BAD || r == MPX_DEC_MORE) {
        /* every failure rule maps to an answer */
        if (mpx_conv_rule_error_code(e.rule) == MPX_CONV_ACT_NONE) abort();
        return 0;
    }
    if (m.data_off > len || m.conv_len != 4u * m.total_words || m.data_off < 4) abort();

    static uint8_t out[2048], out2[2048];
    long n = mpx_conv_encode(&m, out, sizeof out, &e);
    if (n < 0 || (size_t)n > m.conv_len) abort();  /* canonical form is never longer */
    mpx_err_clear(&e);
    if (mpx_conv_decode(out, (size_t)n, flags | MPX_CONV_F_COMPLETE, &m2, &e) != MPX_DEC_OK) abort();
    long n2 = mpx_conv_encode(&m2, out2, sizeof out2, &e);
    if (n2 != n || memcmp(out, out2, (size_t)n) != 0) abort();

    size_t cut = m.conv_len ? (size_t)(data[0] >> 4) % m.conv_len : 0;
    mpx_err_clear(&e);
    if (mpx_conv_decode(p, cut, flags & ~MPX_CONV_F_COMPLETE, &m2, &e) != MPX_DEC_MORE) abort();
    return 0;
}
