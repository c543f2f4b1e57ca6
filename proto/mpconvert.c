/* MP_CONVERT payload forms of draft-boucadair-mptcp-plain-mode-09 (option bytes + EOL) and
 * -10 (Information Element). protocols.md 2.2 / 2.3. */
#include "proto/mpconvert.h"
#include <string.h>

static const uint8_t ie_magic[4] = { 0xfa, 0xa8, 0xfa, 0xa8 };

static size_t addr_bytes(const mpx_mpconv *m)
{
    return m->addr.family == MPX_AF_INET ? 4 : m->addr.family == MPX_AF_INET6 ? 16 : 0;
}

size_t mpx_mpconv_opt_len(const mpx_mpconv *m)
{
    return 4 + addr_bytes(m) + (m->has_port ? 2 : 0);
}

/* Bytes from Type to the end of the port: the IE Length field minus the magic share. */
static size_t ie_body_len(const mpx_mpconv *m) { return 4 + addr_bytes(m) + (m->has_port ? 2 : 0); }

size_t mpx_mpconv_ie_len(const mpx_mpconv *m)
{
    return 4 + ((ie_body_len(m) + 3) & ~(size_t)3);
}

bool mpx_mpconv_equal(const mpx_mpconv *a, const mpx_mpconv *b)
{
    if (a->d != b->d || a->has_port != b->has_port || a->addr.family != b->addr.family) return false;
    if (a->has_port && a->addr.port != b->addr.port) return false;
    return memcmp(a->addr.a, b->addr.a, addr_bytes(a)) == 0;
}

/* Address + optional port following the fixed part; body = bytes of the element counted like
 * the -09 Length (4 fixed + address + port). */
static int read_addr(const uint8_t *p, size_t body, size_t base, unsigned flags, const char *lenrule,
                     mpx_mpconv *out, mpx_err *e)
{
    switch (body) {
    case 4:  out->addr.family = MPX_AF_NONE; break;
    case 8:  case 10: out->addr = mpx_addr_v4b(p + 4, 0); break;
    case 20: case 22: out->addr = mpx_addr_v6(p + 4, 0); break;
    default:
        return mpx_fail(e, lenrule, base + 1, "length %zu: must be 4, 8, 10 (IPv4+port), 20 or 22 (IPv6+port)", body);
    }
    out->has_port = body == 10 || body == 22;
    if (out->has_port) out->addr.port = (uint16_t)(p[body - 2] << 8 | p[body - 1]);
    if (out->addr.family != MPX_AF_NONE && !(flags & MPX_MPCONV_F_ANY_ADDR)) {
        mpx_addr_class cl = mpx_addr_classify(&out->addr);
        if (cl != MPX_ADDR_OK) {
            char s[MPX_ADDR_STRLEN];
            return mpx_fail(e, "MPCONV-ADDR", base + 4, "%s address %s is %s", out->d ? "source" : "destination",
                            mpx_addr_format(&out->addr, false, s, sizeof s), mpx_addr_class_name(cl));
        }
    }
    return 0;
}

long mpx_mpconv_opt_decode(const uint8_t *p, size_t len, unsigned flags, uint8_t subtype,
                           mpx_mpconv *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    if (len < 1) return 0;
    if (p[0] != MPX_MPCONV_KIND)
        return mpx_fail(e, "MPCONV-09-KIND", 0, "kind %u, MP_CONVERT is kind 30", p[0]);
    if (len < 2) return 0;
    uint8_t olen = p[1];
    if (olen != 4 && olen != 8 && olen != 10 && olen != 20 && olen != 22)
        return mpx_fail(e, "MPCONV-09-LEN", 1, "length %u: must be 4, 8, 10 (IPv4+port), 20 or 22 (IPv6+port)", olen);
    if (len < olen) return 0;
    out->subtype = p[2] >> 4;
    out->d = p[2] & 0x08;
    out->flags = p[2] & 0x07;  /* reserved: ignored on receipt */
    out->protocol = p[3];
    if (!(flags & MPX_MPCONV_F_ANY_SUBTYPE)) {
        uint8_t want = subtype ? subtype : MPX_MPCONV_SUBTYPE_DEFAULT;
        if (out->subtype != want)
            return mpx_fail(e, "MPCONV-09-SUBTYPE", 2, "subtype 0x%x, expected 0x%x", out->subtype, want);
    }
    if (read_addr(p, olen, 0, flags, "MPCONV-09-LEN", out, e) < 0) return -1;
    return olen;
}

static int more(mpx_mpconv_payload *out, size_t need, unsigned flags, const char *rule, mpx_err *e, size_t have)
{
    out->need = need;
    mpx_fail(e, rule, have, "truncated: %zu bytes needed, %zu received", need, have);
    return (flags & MPX_MPCONV_F_COMPLETE) ? MPX_DEC_BAD : MPX_DEC_MORE;
}

int mpx_mpconv_decode_09(const uint8_t *p, size_t len, unsigned flags, uint8_t subtype,
                         mpx_mpconv_payload *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    out->form = MPX_MPCONV_FORM_09;
    size_t off = 0;
    for (;;) {
        if (off >= len) return more(out, off + 1, flags, "MPCONV-09-TRUNC", e, len);
        uint8_t b = p[off];
        if (b == 0) {
            if (out->n == 0) return mpx_fail(e, "MPCONV-09-KIND", off, "EOL before any MP_CONVERT");
            out->data_off = off + 1;
            return MPX_DEC_OK;
        }
        if (b != MPX_MPCONV_KIND) {
            if (out->n == 0) return mpx_fail(e, "MPCONV-09-KIND", off, "kind %u, MP_CONVERT is kind 30", b);
            return mpx_fail(e, "MPCONV-09-DELIM", off, "byte 0x%02x after MP_CONVERT: expected EOL (0x00) or a second MP_CONVERT", b);
        }
        if (out->n == MPX_MPCONV_MAX)
            return mpx_fail(e, "MPCONV-COUNT", off, "more than %d MP_CONVERT instances", MPX_MPCONV_MAX);
        mpx_mpconv *m = &out->inst[out->n];
        mpx_err sub;
        mpx_err_clear(&sub);
        long r = mpx_mpconv_opt_decode(p + off, len - off, flags, subtype, m, &sub);
        if (r < 0) return mpx_fail(e, sub.rule, off + sub.off, "%s", sub.msg);
        if (r == 0) return more(out, off + (len - off < 2 ? 2 : p[off + 1]), flags, "MPCONV-09-TRUNC", e, len);
        for (size_t i = 0; i < out->n; i++)
            if (out->inst[i].d == m->d)
                return mpx_fail(e, "MPCONV-DUP-D", off + 2, "two instances with D=%d", m->d);
        out->n++;
        off += (size_t)r;
    }
}

int mpx_mpconv_decode_ie(const uint8_t *p, size_t len, unsigned flags,
                         mpx_mpconv_payload *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    out->form = MPX_MPCONV_FORM_IE;
    size_t off = 0;
    for (;;) {
        size_t have = len - off;
        if (memcmp(p + off, ie_magic, have < 4 ? have : 4) != 0)
            return mpx_fail(e, "MPCONV-IE-MAGIC", off, "IE does not start with FA A8 FA A8");
        if (have < 6) return more(out, off + 6, flags, "MPCONV-IE-TRUNC", e, len);
        const uint8_t *ie = p + off;
        if (ie[4] != MPX_MPCONV_IE_TYPE_ADDR)
            return mpx_fail(e, "MPCONV-IE-TYPE", off + 4, "IE type %u, only 0 (address) is defined", ie[4]);
        /* Type .. end of port (wraps to huge, hence rejected, if Length < magic share) */
        size_t body = (size_t)ie[5] - (size_t)MPX_MPCONV_IE_LEN_MAGIC_BYTES;
        if (body != 4 && body != 8 && body != 10 && body != 20 && body != 22)
            return mpx_fail(e, "MPCONV-IE-LEN", off + 5, "IE length %u: must be %d, %d, %d, %d or %d",
                            ie[5], 4 + MPX_MPCONV_IE_LEN_MAGIC_BYTES, 8 + MPX_MPCONV_IE_LEN_MAGIC_BYTES,
                            10 + MPX_MPCONV_IE_LEN_MAGIC_BYTES, 20 + MPX_MPCONV_IE_LEN_MAGIC_BYTES,
                            22 + MPX_MPCONV_IE_LEN_MAGIC_BYTES);
        size_t total = 4 + ((body + 3) & ~(size_t)3);
        if (have < total) return more(out, off + total, flags, "MPCONV-IE-TRUNC", e, len);
        if (out->n == MPX_MPCONV_MAX)
            return mpx_fail(e, "MPCONV-COUNT", off, "more than %d IEs", MPX_MPCONV_MAX);
        mpx_mpconv *m = &out->inst[out->n];
        memset(m, 0, sizeof *m);
        m->d = ie[7] & 0x02;
        m->m = ie[7] & 0x01;
        /* ie + 4 starts like a -09 option body: 4 fixed bytes, then address and port */
        if (read_addr(ie + 4, body, off + 4, flags, "MPCONV-IE-LEN", m, e) < 0) return MPX_DEC_BAD;
        for (size_t i = 4 + body; i < total; i++)
            if (ie[i]) return mpx_fail(e, "MPCONV-IE-PAD", off + i, "padding byte 0x%02x is not zero", ie[i]);
        for (size_t i = 0; i < out->n; i++)
            if (out->inst[i].d == m->d)
                return mpx_fail(e, "MPCONV-DUP-D", off + 7, "two IEs with D=%d", m->d);
        out->n++;
        off += total;
        if (m->m) {  /* M set: last IE */
            out->data_off = off;
            return MPX_DEC_OK;
        }
        if (out->n == MPX_MPCONV_MAX)
            return mpx_fail(e, "MPCONV-COUNT", off - total + 7, "second IE has M unset (announces a third IE)");
    }
}

int mpx_mpconv_decode(const uint8_t *p, size_t len, unsigned flags, uint8_t subtype,
                      mpx_mpconv_payload *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    if (len == 0) return more(out, 1, flags, "MPCONV-TRUNC", e, 0);
    if (p[0] == MPX_MPCONV_KIND) return mpx_mpconv_decode_09(p, len, flags, subtype, out, e);
    if (p[0] == ie_magic[0]) return mpx_mpconv_decode_ie(p, len, flags, out, e);
    return mpx_fail(e, "MPCONV-FORM", 0, "first byte 0x%02x: neither MP_CONVERT (0x1e) nor IE magic (0xfa)", p[0]);
}

static int check_set(const mpx_mpconv *inst, size_t n, mpx_err *e)
{
    if (n < 1 || n > MPX_MPCONV_MAX)
        return mpx_fail(e, "MPCONV-ENC-COUNT", 0, "%zu instances, need 1 or 2", n);
    if (n == 2 && inst[0].d == inst[1].d)
        return mpx_fail(e, "MPCONV-ENC-DUP-D", 0, "both instances have D=%d", inst[0].d);
    for (size_t i = 0; i < n; i++) {
        uint8_t f = inst[i].addr.family;
        if (f != MPX_AF_NONE && f != MPX_AF_INET && f != MPX_AF_INET6)
            return mpx_fail(e, "MPCONV-ENC-ADDR", 0, "instance %zu: unknown family %u", i, f);
        if (f == MPX_AF_NONE && inst[i].has_port)
            return mpx_fail(e, "MPCONV-ENC-ADDR", 0, "instance %zu: port without address", i);
    }
    return 0;
}

static void put_addr(mpx_wr *w, const mpx_mpconv *m)
{
    mpx_wr_bytes(w, m->addr.a, addr_bytes(m));
    if (m->has_port) mpx_wr_u16(w, m->addr.port);
}

long mpx_mpconv_encode_09(const mpx_mpconv *inst, size_t n, uint8_t *out, size_t cap, mpx_err *e)
{
    if (check_set(inst, n, e) < 0) return -1;
    mpx_wr w = mpx_wr_init(out, cap);
    for (size_t i = 0; i < n; i++) {
        const mpx_mpconv *m = &inst[i];
        uint8_t st = m->subtype ? m->subtype : MPX_MPCONV_SUBTYPE_DEFAULT;
        mpx_wr_u8(&w, MPX_MPCONV_KIND);
        mpx_wr_u8(&w, (uint8_t)mpx_mpconv_opt_len(m));
        mpx_wr_u8(&w, (uint8_t)((st & 0x0f) << 4 | (m->d ? 0x08 : 0) | (m->flags & 0x07)));
        mpx_wr_u8(&w, m->protocol ? m->protocol : MPX_MPCONV_PROTO_TCP);
        put_addr(&w, m);
    }
    mpx_wr_u8(&w, 0);  /* EOL: delimiter before the original SYN data */
    if (w.overflow) return mpx_fail(e, "MPCONV-ENC-SPACE", cap, "output buffer of %zu bytes too small", cap);
    return (long)w.len;
}

long mpx_mpconv_encode_ie(const mpx_mpconv *inst, size_t n, uint8_t *out, size_t cap, mpx_err *e)
{
    if (check_set(inst, n, e) < 0) return -1;
    mpx_wr w = mpx_wr_init(out, cap);
    for (size_t i = 0; i < n; i++) {
        const mpx_mpconv *m = &inst[i];
        bool last = i + 1 == n;
        mpx_wr_u32(&w, MPX_MPCONV_IE_MAGIC);
        mpx_wr_u8(&w, MPX_MPCONV_IE_TYPE_ADDR);
        mpx_wr_u8(&w, (uint8_t)(ie_body_len(m) + MPX_MPCONV_IE_LEN_MAGIC_BYTES));
        mpx_wr_u8(&w, 0);
        /* inverted "more" semantics: M set marks the LAST IE */
        mpx_wr_u8(&w, (uint8_t)((m->d ? 0x02 : 0) | (last ? 0x01 : 0)));
        put_addr(&w, m);
        mpx_wr_pad(&w, 4);
    }
    if (w.overflow) return mpx_fail(e, "MPCONV-ENC-SPACE", cap, "output buffer of %zu bytes too small", cap);
    return (long)w.len;
}
