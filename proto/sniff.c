/* Payload sniffing (sniff.h). Every read goes through the checked reader. */
#include "proto/sniff.h"
#include "proto/buf.h"
#include "proto/convert.h"
#include "proto/mpconvert.h"
#include "proto/socks5.h"

/* SOCKSv5 greetings offer a handful of methods; a longer list is taken for data. */
#define SNIFF_S5_MAX_METHODS 8

bool mpx_sniff_convert(const uint8_t *p, size_t n, bool any_version)
{
    mpx_rd r = mpx_rd_init(p, p ? n : 0);
    uint8_t ver, len;
    uint16_t magic;
    if (!mpx_rd_u8(&r, &ver) || !mpx_rd_u8(&r, &len) || !mpx_rd_u16(&r, &magic)) return false;
    return magic == MPX_CONV_MAGIC && (any_version || ver == MPX_CONV_VERSION);
}

static bool sniff_ie(const uint8_t *p, size_t n)
{
    mpx_rd r = mpx_rd_init(p, n);
    uint32_t magic;
    return mpx_rd_u32(&r, &magic) && magic == MPX_MPCONV_IE_MAGIC;
}

/* -09: the MP_CONVERT option bytes themselves lead the SYN payload (kind, length,
 * subtype in the high nibble of the third byte). */
static bool sniff_09(const uint8_t *p, size_t n, uint8_t subtype)
{
    mpx_rd r = mpx_rd_init(p, n);
    uint8_t kind, len, sub;
    if (!mpx_rd_u8(&r, &kind) || !mpx_rd_u8(&r, &len) || !mpx_rd_u8(&r, &sub)) return false;
    return kind == MPX_MPCONV_KIND && (sub >> 4) == subtype;
}

/* VER NMETHODS METHODS...: version 5, 1..8 methods, all of them present. */
static bool sniff_s5_greeting(const uint8_t *p, size_t n)
{
    mpx_rd r = mpx_rd_init(p, n);
    uint8_t ver, nm;
    if (!mpx_rd_u8(&r, &ver) || !mpx_rd_u8(&r, &nm) || mpx_rd_left(&r) < 1) return false;
    return ver == MPX_S5_VERSION && nm >= 1 && nm <= SNIFF_S5_MAX_METHODS && mpx_rd_left(&r) >= nm;
}

/* The proxy's method selection: VER METHOD. */
static bool sniff_s5_choice(const uint8_t *p, size_t n)
{
    mpx_rd r = mpx_rd_init(p, p ? n : 0);
    uint8_t ver, method;
    return mpx_rd_u8(&r, &ver) && mpx_rd_u8(&r, &method) && ver == MPX_S5_VERSION;
}

mpx_wire_class mpx_sniff_client(const uint8_t *p, size_t n, const mpx_sniff_ctx *ctx)
{
    if (!p || n == 0) return MPX_WIRE_NONE;
    /* the order matters where prefixes could overlap: magic numbers first */
    if (sniff_ie(p, n)) return MPX_WIRE_MPCONVERT_IE;
    if (mpx_sniff_convert(p, n, true)) return MPX_WIRE_CONVERT;
    if (ctx && ctx->syn_data && sniff_09(p, n, ctx->mpconv_subtype)) return MPX_WIRE_MPCONVERT;
    if (ctx && sniff_s5_greeting(p, n) && sniff_s5_choice(ctx->reply, ctx->reply_len))
        return MPX_WIRE_SOCKS5;
    return MPX_WIRE_PLAIN;
}
