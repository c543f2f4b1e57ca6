/* libFuzzer target: MP_CONVERT payload decoders (-09 and -10 IE, auto-detect). A decoded
 * payload re-encodes in the same form to a signal that decodes to the same instances, and
 * every strict prefix of it is "need more". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto/mpconvert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned flags = data[0] & (MPX_MPCONV_F_COMPLETE | MPX_MPCONV_F_ANY_ADDR | MPX_MPCONV_F_ANY_SUBTYPE);
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    mpx_mpconv_payload pl, pl2;
    mpx_err e;
    mpx_err_clear(&e);
    int r = mpx_mpconv_decode(p, len, flags, 0, &pl, &e);
    if (r != MPX_DEC_OK) {
        if (!e.rule) abort();
        if (r == MPX_DEC_MORE && pl.need <= len) abort();
        return 0;
    }
    if (pl.n < 1 || pl.n > MPX_MPCONV_MAX || pl.data_off > len) abort();
    uint8_t out[128];
    long n = pl.form == MPX_MPCONV_FORM_09 ? mpx_mpconv_encode_09(pl.inst, pl.n, out, sizeof out, &e)
                                           : mpx_mpconv_encode_ie(pl.inst, pl.n, out, sizeof out, &e);
    if (n != (long)pl.data_off) abort();
    unsigned f2 = (flags | MPX_MPCONV_F_COMPLETE | MPX_MPCONV_F_ANY_SUBTYPE);
    if (mpx_mpconv_decode(out, (size_t)n, f2, 0, &pl2, &e) != MPX_DEC_OK) abort();
    if (pl2.n != pl.n || pl2.form != pl.form || pl2.data_off != (size_t)n) abort();
    for (size_t i = 0; i < pl.n; i++)
        if (!mpx_mpconv_equal(&pl.inst[i], &pl2.inst[i])) abort();
    for (long k = 0; k < n; k++)
        if (mpx_mpconv_decode(out, (size_t)k, f2 & ~MPX_MPCONV_F_COMPLETE, 0, &pl2, &e) != MPX_DEC_MORE) abort();
    return 0;
}
