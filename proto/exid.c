/* The kind-253 ExID form of the lab's kind-30 options. Layout in exid.h. */
#include "proto/exid.h"

int mpx_exp253_wrap(const uint8_t *opt30, size_t len30, mpx_wr *w)
{
    if (len30 < 2 || opt30[0] != 30 || opt30[1] != len30 ||
        MPX_EXP253_LEN(len30) > MPX_EXP253_MAX)
        return -1;
    mpx_wr_u8(w, MPX_EXP253_KIND);
    mpx_wr_u8(w, (uint8_t)MPX_EXP253_LEN(len30));
    mpx_wr_u16(w, MPX_EXP253_EXID);
    mpx_wr_bytes(w, opt30 + 2, len30 - 2);
    return w->overflow ? -1 : 0;
}
