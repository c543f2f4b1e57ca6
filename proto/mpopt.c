/* MP_CONVERT and MP_PREFER_PROXY as kind-30 options. See mpopt.h for layouts and rules. */
#include "proto/mpopt.h"
#include <stdio.h>
#include <string.h>

void mpx_mpconvert_init(mpx_mpconvert *c)
{
    memset(c, 0, sizeof *c);
    c->subtype = MPX_MPOPT_SUBTYPE_DEFAULT;
    c->layout = MPX_MPCONV_L09;
    c->protocol = 6;
}

size_t mpx_mpconvert_len(const mpx_mpconvert *c)
{
    size_t n = 4;
    if (c->family == 4) n += 4;
    else if (c->family == 6) n += 16;
    else return 4;   /* no address: no port either */
    return n + (c->has_port ? 2 : 0);
}

int mpx_mpconvert_decode(const uint8_t *p, size_t len, uint8_t subtype,
                         mpx_mpconv_layout layout, mpx_mpconvert *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    if (!p || len < 4)
        return mpx_fail(e, "MPCONV-LEN", 0, "MP_CONVERT length %zu < 4", len);
    if (p[0] != 30) return mpx_fail(e, "MPCONV-KIND", 0, "kind %u is not 30", p[0]);
    if (p[1] != len)
        return mpx_fail(e, "MPCONV-LEN", 1, "length byte %u differs from option length %zu", p[1], len);
    if ((p[2] >> 4) != (subtype & 0x0f))
        return mpx_fail(e, "MPCONV-SUBTYPE", 2, "subtype 0x%x, expected 0x%x", p[2] >> 4, subtype & 0x0f);
    size_t alen;
    switch (len) {
    case 4: alen = 0; break;
    case 8: case 10: alen = 4; break;
    case 20: case 22: alen = 16; break;
    default:
        return mpx_fail(e, "MPCONV-LEN", 1, "MP_CONVERT length %zu (4, 8/10 IPv4, 20/22 IPv6)", len);
    }
    mpx_rd r = mpx_rd_init(p, len);
    uint8_t b2 = 0, b3 = 0;
    mpx_rd_skip(&r, 2);
    mpx_rd_u8(&r, &b2);
    mpx_rd_u8(&r, &b3);
    out->subtype = b2 >> 4;
    out->layout = layout;
    out->d = b2 & 0x08;
    if (layout == MPX_MPCONV_L00) {
        out->u = b2 & 0x04;
        out->flags = (uint16_t)((b2 & 0x03) << 8 | b3);
        out->protocol = 6;   /* not carried in -00: TCP unless U */
    } else {
        out->flags = b2 & 0x07;
        out->protocol = b3;
    }
    out->family = alen == 4 ? 4 : alen == 16 ? 6 : 0;
    mpx_rd_bytes(&r, out->addr, alen);
    if (mpx_rd_left(&r) == 2) { out->has_port = true; mpx_rd_u16(&r, &out->port); }
    return 0;
}

int mpx_mpconvert_encode(const mpx_mpconvert *c, mpx_wr *w)
{
    if (c->family != 0 && c->family != 4 && c->family != 6) return -1;
    size_t len = mpx_mpconvert_len(c);
    mpx_wr_u8(w, 30);
    mpx_wr_u8(w, (uint8_t)len);
    uint8_t b2 = (uint8_t)((c->subtype & 0x0f) << 4 | (c->d ? 0x08 : 0));
    if (c->layout == MPX_MPCONV_L00) {
        mpx_wr_u8(w, (uint8_t)(b2 | (c->u ? 0x04 : 0) | ((c->flags >> 8) & 0x03)));
        mpx_wr_u8(w, (uint8_t)c->flags);
    } else {
        mpx_wr_u8(w, (uint8_t)(b2 | (c->flags & 0x07)));
        mpx_wr_u8(w, c->protocol);
    }
    if (c->family) {
        mpx_wr_bytes(w, c->addr, c->family == 4 ? 4 : 16);
        if (c->has_port) mpx_wr_u16(w, c->port);
    }
    return w->overflow ? -1 : 0;
}

size_t mpx_mpconvert_check(const mpx_mpconvert *c, size_t off, mpx_viols *vs)
{
    if (c->layout == MPX_MPCONV_L09 && c->flags) {
        mpx_viol_add(vs, "MPCONV-FLAGS", off + 2, "MP_CONVERT reserved flags 0x%x set (MUST be 0)", c->flags);
        return 1;
    }
    return 0;
}

int mpx_mpconvert_format(const mpx_mpconvert *c, char *buf, size_t cap)
{
    char a[64] = "none";
    const uint8_t *x = c->addr;
    if (c->family == 4) snprintf(a, sizeof a, "%u.%u.%u.%u", x[0], x[1], x[2], x[3]);
    else if (c->family == 6) {
        size_t n = 0;
        for (int i = 0; i < 16; i += 2)
            n += (size_t)snprintf(a + n, sizeof a - n, "%s%x", i ? ":" : "", x[i] << 8 | x[i + 1]);
    }
    char port[8] = "";
    if (c->has_port) snprintf(port, sizeof port, "%u", c->port);
    if (c->layout == MPX_MPCONV_L00)
        return snprintf(buf, cap, "mp_convert-00 %s %s%s%s%s%s%s flags 0x%03x", c->d ? "src" : "dst",
                        c->has_port && c->family == 6 ? "[" : "", a, c->has_port && c->family == 6 ? "]" : "",
                        c->has_port ? ":" : "", port, c->u ? " udp" : "", c->flags);
    return snprintf(buf, cap, "mp_convert %s %s%s%s%s%s proto %u", c->d ? "src" : "dst",
                    c->has_port && c->family == 6 ? "[" : "", a, c->has_port && c->family == 6 ? "]" : "",
                    c->has_port ? ":" : "", port, c->protocol);
}

int mpx_prefer_proxy_decode(const uint8_t *p, size_t len, uint8_t subtype,
                            mpx_prefer_proxy *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    if (!p || len != 4) return mpx_fail(e, "PREFER-LEN", 1, "MP_PREFER_PROXY length %zu != 4", len);
    if (p[0] != 30) return mpx_fail(e, "MPCONV-KIND", 0, "kind %u is not 30", p[0]);
    if (p[1] != 4) return mpx_fail(e, "PREFER-LEN", 1, "MP_PREFER_PROXY length byte %u != 4", p[1]);
    if ((p[2] >> 4) != (subtype & 0x0f))
        return mpx_fail(e, "PREFER-SUBTYPE", 2, "subtype 0x%x, expected 0x%x", p[2] >> 4, subtype & 0x0f);
    out->subtype = p[2] >> 4;
    out->rsv = (uint16_t)((p[2] & 0x0f) << 8 | p[3]);
    return 0;
}

int mpx_prefer_proxy_encode(const mpx_prefer_proxy *pp, mpx_wr *w)
{
    mpx_wr_u8(w, 30);
    mpx_wr_u8(w, 4);
    mpx_wr_u8(w, (uint8_t)((pp->subtype & 0x0f) << 4 | ((pp->rsv >> 8) & 0x0f)));
    mpx_wr_u8(w, (uint8_t)pp->rsv);
    return w->overflow ? -1 : 0;
}

size_t mpx_prefer_proxy_check(const mpx_prefer_proxy *pp, size_t off, mpx_viols *vs)
{
    if (!pp->rsv) return 0;
    mpx_viol_add(vs, "PREFER-RSV", off + 2, "MP_PREFER_PROXY reserved bits 0x%03x set", pp->rsv);
    return 1;
}
