/* MPTCP option codec (RFC 8684, RFC 6824 differences). See mptcp.h for the rule IDs. */
#include "proto/mptcp.h"
#include <nettle/hmac.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MPTCP_KIND 30

mpx_mpctx mpx_mpctx_from_flags(uint8_t f)
{
    if (f & 0x02) return (f & 0x10) ? MPX_MPCTX_SYNACK : MPX_MPCTX_SYN;
    return MPX_MPCTX_ACK;
}

static const char *ctx_name(mpx_mpctx c)
{
    switch (c) {
    case MPX_MPCTX_SYN: return "SYN";
    case MPX_MPCTX_SYNACK: return "SYN/ACK";
    case MPX_MPCTX_ACK: return "ACK";
    default: return "any";
    }
}

/* ---- per-subtype decoders: each validates len first, then reads with mpx_rd ---------- */

static uint64_t rd64(mpx_rd *r) { uint64_t v = 0; mpx_rd_u64(r, &v); return v; }
static uint32_t rd32(mpx_rd *r) { uint32_t v = 0; mpx_rd_u32(r, &v); return v; }
static uint16_t rd16(mpx_rd *r) { uint16_t v = 0; mpx_rd_u16(r, &v); return v; }
static uint8_t  rd8(mpx_rd *r)  { uint8_t v = 0; mpx_rd_u8(r, &v); return v; }

static int dec_capable(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    mpx_mp_capable *c = &o->u.mpc;
    uint8_t ver = p[2] & 0x0f;
    bool ok;
    if (ver > 1)
        return mpx_fail(e, "MPC-VERSION", 2, "MP_CAPABLE version %u (only 0 and 1 are defined)", ver);
    if (ver == 1) {
        switch (ctx) {
        case MPX_MPCTX_SYN:    ok = len == 4; break;
        case MPX_MPCTX_SYNACK: ok = len == 12; break;
        case MPX_MPCTX_ACK:    ok = len == 20 || len == 22 || len == 24; break;
        default: ok = len == 4 || len == 12 || len == 20 || len == 22 || len == 24; break;
        }
    } else {
        switch (ctx) {
        case MPX_MPCTX_SYN: case MPX_MPCTX_SYNACK: ok = len == 12; break;
        case MPX_MPCTX_ACK: ok = len == 20; break;
        default: ok = len == 12 || len == 20; break;
        }
    }
    if (!ok)
        return mpx_fail(e, "MPC-LEN", 1, "MP_CAPABLE v%u length %zu is not valid in %s", ver, len,
                        ctx_name(ctx));
    mpx_rd r = mpx_rd_init(p, len);
    mpx_rd_skip(&r, 3);
    c->version = ver;
    c->flags = rd8(&r);
    if (len >= 12) { c->has_snd_key = true; c->snd_key = rd64(&r); }
    if (len >= 20) { c->has_rcv_key = true; c->rcv_key = rd64(&r); }
    if (len >= 22) { c->has_dll = true; c->dll = rd16(&r); }
    if (len >= 24) { c->has_csum = true; c->csum = rd16(&r); }
    return 0;
}

static int dec_join(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    mpx_mp_join *j = &o->u.mpj;
    bool ok;
    switch (ctx) {
    case MPX_MPCTX_SYN:    ok = len == 12; break;
    case MPX_MPCTX_SYNACK: ok = len == 16; break;
    case MPX_MPCTX_ACK:    ok = len == 24; break;
    default: ok = len == 12 || len == 16 || len == 24; break;
    }
    if (!ok)
        return mpx_fail(e, "MPJ-LEN", 1, "MP_JOIN length %zu is not valid in %s (SYN 12, SYN/ACK 16, ACK 24)",
                        len, ctx_name(ctx));
    mpx_rd r = mpx_rd_init(p, len);
    mpx_rd_skip(&r, 2);
    uint8_t b2 = rd8(&r);
    if (len == 12) {
        j->form = MPX_MPJ_SYN;
        j->backup = b2 & 1;
        j->addr_id = rd8(&r);
        j->token = rd32(&r);
        j->nonce = rd32(&r);
    } else if (len == 16) {
        j->form = MPX_MPJ_SYNACK;
        j->backup = b2 & 1;
        j->addr_id = rd8(&r);
        j->hmac64 = rd64(&r);
        j->nonce = rd32(&r);
    } else {
        j->form = MPX_MPJ_ACK;
        mpx_rd_skip(&r, 1);
        mpx_rd_bytes(&r, j->hmac, 20);
    }
    return 0;
}

/* DSS length implied by the flags, without the optional checksum. */
static size_t dss_len(uint8_t f)
{
    size_t n = 4;
    if (f & MPX_DSS_A) n += (f & MPX_DSS_a) ? 8 : 4;
    if (f & MPX_DSS_M) n += ((f & MPX_DSS_m) ? 8 : 4) + 4 + 2;
    return n;
}

static int dec_dss(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    mpx_mp_dss *d = &o->u.dss;
    if (len < 4) return mpx_fail(e, "MPTCP-LEN-SHORT", 1, "DSS length %zu < 4", len);
    uint8_t f = p[3];
    size_t need = dss_len(f);
    bool csum = false;
    if (len == need) csum = false;
    else if ((f & MPX_DSS_M) && len == need + 2) csum = true;
    else
        return mpx_fail(e, "DSS-LEN", 1, "DSS length %zu does not match flags 0x%02x (expected %zu%s)",
                        len, f, need, (f & MPX_DSS_M) ? " or +2 with checksum" : "");
    mpx_rd r = mpx_rd_init(p, len);
    mpx_rd_skip(&r, 4);
    d->flags = f;
    d->fin = f & MPX_DSS_F;
    if (f & MPX_DSS_A) {
        d->has_ack = true;
        d->ack64 = f & MPX_DSS_a;
        d->data_ack = d->ack64 ? rd64(&r) : rd32(&r);
    }
    if (f & MPX_DSS_M) {
        d->has_map = true;
        d->dsn64 = f & MPX_DSS_m;
        d->dsn = d->dsn64 ? rd64(&r) : rd32(&r);
        d->ssn = rd32(&r);
        d->dll = rd16(&r);
        if (csum) { d->has_csum = true; d->csum = rd16(&r); }
    }
    return 0;
}

static int dec_add_addr(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    mpx_mp_add_addr *a = &o->u.add_addr;
    uint8_t lo = p[2] & 0x0f;
    size_t alen, rest;
    /* RFC 6824 form: low nibble is IPVer (4/6) and the length has no HMAC. */
    if ((lo == 4 && (len == 8 || len == 10)) || (lo == 6 && (len == 20 || len == 22))) {
        a->version = 0;
        a->family = lo;
        alen = lo == 4 ? 4 : 16;
        rest = len - 4 - alen;
    } else {
        a->version = 1;
        a->echo = lo & 1;
        a->rsv = lo & 0x0e;
        size_t base = a->echo ? 4 : 12;   /* header + HMAC */
        if (len == base + 4 || len == base + 6) { a->family = 4; alen = 4; }
        else if (len == base + 16 || len == base + 18) { a->family = 6; alen = 16; }
        else
            return mpx_fail(e, "ADD-ADDR-LEN", 1, "ADD_ADDR length %zu is not valid (%s: %s)", len,
                            a->echo ? "echo" : "with HMAC", a->echo ? "8/10/20/22" : "16/18/28/30");
        rest = len - base - alen;
        a->has_hmac = !a->echo;
    }
    mpx_rd r = mpx_rd_init(p, len);
    mpx_rd_skip(&r, 3);
    a->addr_id = rd8(&r);
    mpx_rd_bytes(&r, a->addr, alen);
    if (rest == 2) { a->has_port = true; a->port = rd16(&r); }
    if (a->has_hmac) a->hmac = rd64(&r);
    return 0;
}

static int dec_remove_addr(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    if (len < 4) return mpx_fail(e, "RM-ADDR-LEN", 1, "REMOVE_ADDR length %zu < 4 (no address ID)", len);
    o->u.rm_addr.n = (uint8_t)(len - 3);
    o->u.rm_addr.ids = p + 3;
    return 0;
}

static int dec_prio(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    if (len != 3 && len != 4)
        return mpx_fail(e, "PRIO-LEN", 1, "MP_PRIO length %zu (3, or 4 with the v0 address ID)", len);
    o->u.prio.backup = p[2] & 1;
    if (len == 4) { o->u.prio.has_addr_id = true; o->u.prio.addr_id = p[3]; }
    return 0;
}

static int dec_fixed12(const uint8_t *p, size_t len, const char *rule, const char *name,
                       uint64_t *v, mpx_err *e)
{
    if (len != 12) return mpx_fail(e, rule, 1, "%s length %zu != 12", name, len);
    mpx_rd r = mpx_rd_init(p, len);
    mpx_rd_skip(&r, 4);
    *v = rd64(&r);
    return 0;
}

static int dec_fail(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    return dec_fixed12(p, len, "FAIL-LEN", "MP_FAIL", &o->u.fail.dsn, e);
}

static int dec_fastclose(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    return dec_fixed12(p, len, "FASTCLOSE-LEN", "MP_FASTCLOSE", &o->u.fastclose.key, e);
}

static int dec_tcprst(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    if (len != 4) return mpx_fail(e, "TCPRST-LEN", 1, "MP_TCPRST length %zu != 4", len);
    o->u.tcprst.flags = p[2] & 0x0f;
    o->u.tcprst.transient = p[2] & MPX_TCPRST_T;
    o->u.tcprst.reason = p[3];
    return 0;
}

static int dec_opaque(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *o, mpx_err *e)
{
    return 0;   /* raw + len are enough */
}

typedef int (*mp_decoder)(const uint8_t *, size_t, mpx_mpctx, mpx_mptcp_opt *, mpx_err *);

/* tcpdump print-mptcp.c style table; min = smallest length the decoder may be called with
 * (so it can read the byte after the subtype when it needs flags). */
static const struct {
    const char *name, *shrt;
    size_t min;
    mp_decoder dec;
} mp_table[16] = {
    [0x0] = { "MP_CAPABLE", "capable", 4, dec_capable },
    [0x1] = { "MP_JOIN", "join", 12, dec_join },
    [0x2] = { "DSS", "dss", 4, dec_dss },
    [0x3] = { "ADD_ADDR", "add-addr", 8, dec_add_addr },
    [0x4] = { "REMOVE_ADDR", "remove-addr", 3, dec_remove_addr },
    [0x5] = { "MP_PRIO", "prio", 3, dec_prio },
    [0x6] = { "MP_FAIL", "fail", 3, dec_fail },
    [0x7] = { "MP_FASTCLOSE", "fast-close", 3, dec_fastclose },
    [0x8] = { "MP_TCPRST", "tcprst", 3, dec_tcprst },
    [0x9] = { "unassigned", "unknown", 3, dec_opaque },
    [0xa] = { "unassigned", "unknown", 3, dec_opaque },
    [0xb] = { "unassigned", "unknown", 3, dec_opaque },
    [0xc] = { "unassigned", "unknown", 3, dec_opaque },
    [0xd] = { "unassigned", "unknown", 3, dec_opaque },
    [0xe] = { "unassigned", "unknown", 3, dec_opaque },
    [0xf] = { "MP_EXPERIMENTAL", "exp", 3, dec_opaque },
};

static const char *const min_rule[16] = {
    [0x0] = "MPC-LEN", [0x1] = "MPJ-LEN", [0x3] = "ADD-ADDR-LEN", [0x4] = "RM-ADDR-LEN",
    [0x5] = "PRIO-LEN", [0x6] = "FAIL-LEN", [0x7] = "FASTCLOSE-LEN", [0x8] = "TCPRST-LEN",
};

int mpx_mptcp_decode(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    if (len < 3 || !p)
        return mpx_fail(e, "MPTCP-LEN-SHORT", 0, "MPTCP option length %zu < 3 (no subtype)", len);
    if (p[0] != MPTCP_KIND) return mpx_fail(e, "MPTCP-KIND", 0, "kind %u is not 30", p[0]);
    if (p[1] != len)
        return mpx_fail(e, "MPTCP-LEN-BYTE", 1, "length byte %u differs from option length %zu", p[1], len);
    out->subtype = p[2] >> 4;
    out->sub_lo = p[2] & 0x0f;
    out->len = (uint8_t)len;
    out->raw = p;
    if (len < mp_table[out->subtype].min) {
        const char *rule = min_rule[out->subtype] ? min_rule[out->subtype] : "MPTCP-LEN-SHORT";
        return mpx_fail(e, rule, 1, "%s length %zu < %zu", mp_table[out->subtype].name, len,
                        mp_table[out->subtype].min);
    }
    return mp_table[out->subtype].dec(p, len, ctx, out, e);
}

const char *mpx_mptcp_subtype_name(uint8_t st) { return mp_table[st & 0x0f].name; }
const char *mpx_mptcp_subtype_short(uint8_t st) { return mp_table[st & 0x0f].shrt; }

const char *mpx_mptcp_tcprst_reason_name(uint8_t r)
{
    static const char *const n[] = {
        "unspecified", "mptcp_error", "resources", "admin_prohibited", "outstanding_data",
        "unacceptable_performance", "middlebox_interference",
    };
    return r < sizeof n / sizeof n[0] ? n[r] : "unknown";
}

/* ---- semantic checks ----------------------------------------------------------------- */

size_t mpx_mptcp_check(const mpx_mptcp_opt *o, uint8_t fl, size_t off, mpx_viols *vs)
{
    size_t before = vs ? vs->n + vs->dropped : 0;
    bool syn = fl & 0x02, ack = fl & 0x10, rst = fl & 0x04;
    switch (o->subtype) {
    case MPX_MP_CAPABLE: {
        const mpx_mp_capable *c = &o->u.mpc;
        if (c->flags & MPX_MPC_B)
            mpx_viol_add(vs, "MPC-FLAG-B", off + 3, "MP_CAPABLE B (extensibility) flag set: receiver must ignore the option");
        /* crypto bits: D..H in v1 (C is "no more subflows to this address"); C..H in v0 */
        uint8_t crypto = c->version == 0 ? 0x3f : 0x1f;
        if (!(c->flags & crypto))
            mpx_viol_add(vs, "MPC-NO-CRYPTO", off + 3, "MP_CAPABLE v%u flags 0x%02x select no crypto algorithm",
                         c->version, c->flags);
        bool good;
        if (c->has_rcv_key) good = !syn;
        else if (c->has_snd_key) good = c->version == 0 ? syn : (syn && ack);
        else good = syn && !ack;
        if (!good)
            mpx_viol_add(vs, "MPC-CTX", off + 1, "MP_CAPABLE v%u length %u in a segment with flags 0x%02x",
                         c->version, o->len, fl);
        break;
    }
    case MPX_MP_JOIN: {
        mpx_mpj_form f = o->u.mpj.form;
        bool good = f == MPX_MPJ_SYN ? (syn && !ack) : f == MPX_MPJ_SYNACK ? (syn && ack) : !syn;
        if (!good)
            mpx_viol_add(vs, "MPJ-CTX", off + 1, "MP_JOIN length %u in a segment with flags 0x%02x", o->len, fl);
        break;
    }
    case MPX_MP_DSS: {
        const mpx_mp_dss *d = &o->u.dss;
        if (syn) mpx_viol_add(vs, "DSS-IN-SYN", off, "DSS option in a SYN");
        if (o->sub_lo || (d->flags & 0xe0))
            mpx_viol_add(vs, "DSS-RSV", off + 2, "DSS reserved bits set (0x%x%02x)", o->sub_lo, d->flags & 0xe0);
        if (d->has_map && d->dll == 0 && d->has_csum && d->csum != 0)
            mpx_viol_add(vs, "DSS-INF-CSUM", off + o->len - 2, "infinite mapping with checksum 0x%04x (must be 0)", d->csum);
        break;
    }
    case MPX_MP_ADD_ADDR:
        if (o->u.add_addr.version == 1 && o->u.add_addr.rsv)
            mpx_viol_add(vs, "ADD-ADDR-RSV", off + 2, "ADD_ADDR reserved bits 0x%x set", o->u.add_addr.rsv);
        break;
    case MPX_MP_TCPRST:
        if (!rst) mpx_viol_add(vs, "TCPRST-NOT-RST", off, "MP_TCPRST in a segment without RST");
        if (o->u.tcprst.reason > MPX_TCPRST_MIDDLEBOX)
            mpx_viol_add(vs, "TCPRST-REASON", off + 3, "MP_TCPRST reason %u is not registered", o->u.tcprst.reason);
        break;
    default:
        break;
    }
    return vs ? vs->n + vs->dropped - before : 0;
}

/* ---- encoder ------------------------------------------------------------------------- */

size_t mpx_mptcp_encoded_len(const mpx_mptcp_opt *o)
{
    switch (o->subtype) {
    case MPX_MP_CAPABLE: {
        const mpx_mp_capable *c = &o->u.mpc;
        if (c->has_rcv_key) {
            if (c->version == 0) return (c->has_dll || c->has_csum) ? 0 : 20;
            return 20 + (c->has_dll ? 2 + (c->has_csum ? 2 : 0) : 0);
        }
        return c->has_snd_key ? 12 : (c->version == 0 ? 0 : 4);
    }
    case MPX_MP_JOIN:
        return o->u.mpj.form == MPX_MPJ_SYN ? 12 : o->u.mpj.form == MPX_MPJ_SYNACK ? 16 : 24;
    case MPX_MP_DSS: {
        const mpx_mp_dss *d = &o->u.dss;
        size_t n = 4;
        if (d->has_ack) n += d->ack64 ? 8 : 4;
        if (d->has_map) n += (d->dsn64 ? 8 : 4) + 6 + (d->has_csum ? 2 : 0);
        return n;
    }
    case MPX_MP_ADD_ADDR: {
        const mpx_mp_add_addr *a = &o->u.add_addr;
        if (a->family != 4 && a->family != 6) return 0;
        size_t n = 4 + (a->family == 4 ? 4 : 16) + (a->has_port ? 2 : 0);
        if (a->version == 1 && !a->echo) n += 8;
        return n;
    }
    case MPX_MP_REMOVE_ADDR:
        return o->u.rm_addr.n && o->u.rm_addr.ids ? 3u + o->u.rm_addr.n : 0;
    case MPX_MP_PRIO: return o->u.prio.has_addr_id ? 4 : 3;
    case MPX_MP_FAIL: case MPX_MP_FASTCLOSE: return 12;
    case MPX_MP_TCPRST: return 4;
    default:
        return (o->raw && o->len >= 3) ? o->len : 0;
    }
}

int mpx_mptcp_encode(const mpx_mptcp_opt *o, mpx_wr *w)
{
    size_t len = mpx_mptcp_encoded_len(o);
    if (len == 0 || len > 255 || o->subtype > 0xf) return -1;
    if (o->subtype > MPX_MP_TCPRST) {   /* opaque: copy as given */
        mpx_wr_bytes(w, o->raw, len);
        return w->overflow ? -1 : 0;
    }
    mpx_wr_u8(w, MPTCP_KIND);
    mpx_wr_u8(w, (uint8_t)len);
    uint8_t st = (uint8_t)(o->subtype << 4);
    switch (o->subtype) {
    case MPX_MP_CAPABLE: {
        const mpx_mp_capable *c = &o->u.mpc;
        mpx_wr_u8(w, st | (c->version & 0x0f));
        mpx_wr_u8(w, c->flags);
        if (c->has_snd_key || c->has_rcv_key) mpx_wr_u64(w, c->snd_key);
        if (c->has_rcv_key) mpx_wr_u64(w, c->rcv_key);
        if (c->has_rcv_key && c->has_dll) {
            mpx_wr_u16(w, c->dll);
            if (c->has_csum) mpx_wr_u16(w, c->csum);
        }
        break;
    }
    case MPX_MP_JOIN: {
        const mpx_mp_join *j = &o->u.mpj;
        if (j->form == MPX_MPJ_ACK) {
            mpx_wr_u8(w, st);
            mpx_wr_u8(w, 0);
            mpx_wr_bytes(w, j->hmac, 20);
            break;
        }
        mpx_wr_u8(w, st | (j->backup ? 1 : 0));
        mpx_wr_u8(w, j->addr_id);
        if (j->form == MPX_MPJ_SYN) mpx_wr_u32(w, j->token);
        else mpx_wr_u64(w, j->hmac64);
        mpx_wr_u32(w, j->nonce);
        break;
    }
    case MPX_MP_DSS: {
        const mpx_mp_dss *d = &o->u.dss;
        uint8_t f = (uint8_t)((d->has_ack ? MPX_DSS_A : 0) | (d->has_ack && d->ack64 ? MPX_DSS_a : 0) |
                              (d->has_map ? MPX_DSS_M : 0) | (d->has_map && d->dsn64 ? MPX_DSS_m : 0) |
                              (d->fin ? MPX_DSS_F : 0));
        mpx_wr_u8(w, st);
        mpx_wr_u8(w, f);
        if (d->has_ack) { if (d->ack64) mpx_wr_u64(w, d->data_ack); else mpx_wr_u32(w, (uint32_t)d->data_ack); }
        if (d->has_map) {
            if (d->dsn64) mpx_wr_u64(w, d->dsn); else mpx_wr_u32(w, (uint32_t)d->dsn);
            mpx_wr_u32(w, d->ssn);
            mpx_wr_u16(w, d->dll);
            if (d->has_csum) mpx_wr_u16(w, d->csum);
        }
        break;
    }
    case MPX_MP_ADD_ADDR: {
        const mpx_mp_add_addr *a = &o->u.add_addr;
        if (a->version == 0) mpx_wr_u8(w, st | a->family);
        else mpx_wr_u8(w, st | (a->rsv & 0x0e) | (a->echo ? 1 : 0));
        mpx_wr_u8(w, a->addr_id);
        mpx_wr_bytes(w, a->addr, a->family == 4 ? 4 : 16);
        if (a->has_port) mpx_wr_u16(w, a->port);
        if (a->version == 1 && !a->echo) mpx_wr_u64(w, a->hmac);
        break;
    }
    case MPX_MP_REMOVE_ADDR:
        mpx_wr_u8(w, st);
        mpx_wr_bytes(w, o->u.rm_addr.ids, o->u.rm_addr.n);
        break;
    case MPX_MP_PRIO:
        mpx_wr_u8(w, st | (o->u.prio.backup ? 1 : 0));
        if (o->u.prio.has_addr_id) mpx_wr_u8(w, o->u.prio.addr_id);
        break;
    case MPX_MP_FAIL:
        mpx_wr_u8(w, st); mpx_wr_u8(w, 0); mpx_wr_u64(w, o->u.fail.dsn);
        break;
    case MPX_MP_FASTCLOSE:
        mpx_wr_u8(w, st); mpx_wr_u8(w, 0); mpx_wr_u64(w, o->u.fastclose.key);
        break;
    case MPX_MP_TCPRST:
        mpx_wr_u8(w, st | (o->u.tcprst.flags & 0x0e) | (o->u.tcprst.transient ? 1 : 0));
        mpx_wr_u8(w, o->u.tcprst.reason);
        break;
    }
    return w->overflow ? -1 : 0;
}

/* ---- text ---------------------------------------------------------------------------- */

typedef struct { char *b; size_t cap, n; } sbuf;
static void sb_add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->n < s->cap ? s->b + s->n : NULL, s->n < s->cap ? s->cap - s->n : 0, fmt, ap);
    va_end(ap);
    if (k > 0) s->n += (size_t)k;
}

static void fmt_addr(sbuf *s, uint8_t fam, const uint8_t *a)
{
    if (fam == 4) { sb_add(s, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]); return; }
    for (int i = 0; i < 16; i += 2) sb_add(s, "%s%x", i ? ":" : "", a[i] << 8 | a[i + 1]);
}

int mpx_mptcp_format(const mpx_mptcp_opt *o, char *buf, size_t cap)
{
    sbuf s = { buf, cap, 0 };
    if (cap) buf[0] = 0;
    sb_add(&s, "%s", mpx_mptcp_subtype_short(o->subtype));
    switch (o->subtype) {
    case MPX_MP_CAPABLE: {
        const mpx_mp_capable *c = &o->u.mpc;
        static const char fl[] = "ABCDEFGH";
        sb_add(&s, " v%u flags [", c->version);
        for (int i = 0; i < 8; i++) if (c->flags & (0x80 >> i)) sb_add(&s, "%c", fl[i]);
        sb_add(&s, "]");
        if (c->has_snd_key) {
            sb_add(&s, " {0x%016" PRIx64, c->snd_key);
            if (c->has_rcv_key) sb_add(&s, ",0x%016" PRIx64, c->rcv_key);
            if (c->has_dll) sb_add(&s, ",data_len=%u", c->dll);
            if (c->has_csum) sb_add(&s, ",csum=0x%04x", c->csum);
            sb_add(&s, "}");
        }
        break;
    }
    case MPX_MP_JOIN: {
        const mpx_mp_join *j = &o->u.mpj;
        if (j->form == MPX_MPJ_SYN)
            sb_add(&s, " id %u token 0x%08x nonce 0x%08x%s", j->addr_id, j->token, j->nonce, j->backup ? " backup" : "");
        else if (j->form == MPX_MPJ_SYNACK)
            sb_add(&s, " id %u hmac 0x%016" PRIx64 " nonce 0x%08x%s", j->addr_id, j->hmac64, j->nonce,
                   j->backup ? " backup" : "");
        else {
            sb_add(&s, " hmac 0x");
            for (int i = 0; i < 20; i++) sb_add(&s, "%02x", j->hmac[i]);
        }
        break;
    }
    case MPX_MP_DSS: {
        const mpx_mp_dss *d = &o->u.dss;
        if (d->fin) sb_add(&s, " fin");
        if (d->has_ack) sb_add(&s, " ack %" PRIu64, d->data_ack);
        if (d->has_map) {
            sb_add(&s, " seq %" PRIu64 " subseq %u len %u", d->dsn, d->ssn, d->dll);
            if (d->has_csum) sb_add(&s, " csum 0x%04x", d->csum);
        }
        break;
    }
    case MPX_MP_ADD_ADDR: {
        const mpx_mp_add_addr *a = &o->u.add_addr;
        if (a->version == 0) sb_add(&s, " v0");
        if (a->echo) sb_add(&s, " echo");
        sb_add(&s, " id %u ", a->addr_id);
        if (a->family == 6 && a->has_port) sb_add(&s, "[");
        fmt_addr(&s, a->family, a->addr);
        if (a->has_port) sb_add(&s, a->family == 6 ? "]:%u" : ":%u", a->port);
        if (a->has_hmac) sb_add(&s, " hmac 0x%016" PRIx64, a->hmac);
        break;
    }
    case MPX_MP_REMOVE_ADDR:
        sb_add(&s, " id");
        for (unsigned i = 0; i < o->u.rm_addr.n; i++) sb_add(&s, " %u", o->u.rm_addr.ids[i]);
        break;
    case MPX_MP_PRIO:
        sb_add(&s, " %s", o->u.prio.backup ? "backup" : "non-backup");
        if (o->u.prio.has_addr_id) sb_add(&s, " id %u", o->u.prio.addr_id);
        break;
    case MPX_MP_FAIL: sb_add(&s, " seq %" PRIu64, o->u.fail.dsn); break;
    case MPX_MP_FASTCLOSE: sb_add(&s, " key 0x%016" PRIx64, o->u.fastclose.key); break;
    case MPX_MP_TCPRST:
        sb_add(&s, "%s reason %s", o->u.tcprst.transient ? " [T]" : "",
               mpx_mptcp_tcprst_reason_name(o->u.tcprst.reason));
        break;
    default:
        sb_add(&s, " subtype 0x%x", o->subtype);
        if (o->raw && o->len > 2) {
            sb_add(&s, " ");
            for (unsigned i = 2; i < o->len; i++) sb_add(&s, "%02x", o->raw[i]);
        }
        break;
    }
    return (int)s.n;
}

/* ---- key-derived values -------------------------------------------------------------- */

static void be64(uint64_t v, uint8_t *b) { for (int i = 7; i >= 0; i--) { b[i] = (uint8_t)v; v >>= 8; } }
static void be32(uint32_t v, uint8_t *b) { for (int i = 3; i >= 0; i--) { b[i] = (uint8_t)v; v >>= 8; } }
static uint64_t get64(const uint8_t *b) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | b[i]; return v; }

static void key_hash(uint64_t key, int version, uint8_t out[32])
{
    uint8_t k[8];
    be64(key, k);
    if (version == 0) {
        struct sha1_ctx c;
        sha1_init(&c);
        sha1_update(&c, 8, k);
        sha1_digest(&c, SHA1_DIGEST_SIZE, out);
    } else {
        struct sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, 8, k);
        sha256_digest(&c, SHA256_DIGEST_SIZE, out);
    }
}

uint32_t mpx_mptcp_token(uint64_t key, int version)
{
    uint8_t h[32];
    key_hash(key, version, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

uint64_t mpx_mptcp_idsn(uint64_t key, int version)
{
    uint8_t h[32];
    key_hash(key, version, h);
    size_t dl = version == 0 ? SHA1_DIGEST_SIZE : SHA256_DIGEST_SIZE;
    return get64(h + dl - 8);
}

static size_t hmac_keys(int version, uint64_t key1, uint64_t key2, const uint8_t *msg, size_t mlen,
                        uint8_t out[32])
{
    uint8_t k[16];
    be64(key1, k);
    be64(key2, k + 8);
    if (version == 0) {
        struct hmac_sha1_ctx c;
        hmac_sha1_set_key(&c, sizeof k, k);
        hmac_sha1_update(&c, mlen, msg);
        hmac_sha1_digest(&c, SHA1_DIGEST_SIZE, out);
        return SHA1_DIGEST_SIZE;
    }
    struct hmac_sha256_ctx c;
    hmac_sha256_set_key(&c, sizeof k, k);
    hmac_sha256_update(&c, mlen, msg);
    hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, out);
    return SHA256_DIGEST_SIZE;
}

size_t mpx_mptcp_join_hmac(int version, uint64_t key1, uint64_t key2, uint32_t nonce1,
                           uint32_t nonce2, uint8_t out[32])
{
    uint8_t m[8];
    be32(nonce1, m);
    be32(nonce2, m + 4);
    return hmac_keys(version, key1, key2, m, sizeof m, out);
}

uint64_t mpx_mptcp_join_hmac64(int version, uint64_t key1, uint64_t key2, uint32_t nonce1,
                               uint32_t nonce2)
{
    uint8_t h[32];
    mpx_mptcp_join_hmac(version, key1, key2, nonce1, nonce2, h);
    return get64(h);
}

bool mpx_mptcp_join_verify(int version, const mpx_mp_join *j, uint64_t key1, uint64_t key2,
                           uint32_t nonce1, uint32_t nonce2)
{
    uint8_t h[32], want[20];
    size_t n;
    mpx_mptcp_join_hmac(version, key1, key2, nonce1, nonce2, h);
    if (j->form == MPX_MPJ_SYNACK) { be64(j->hmac64, want); n = 8; }
    else if (j->form == MPX_MPJ_ACK) { memcpy(want, j->hmac, 20); n = 20; }
    else return false;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (uint8_t)(h[i] ^ want[i]);
    return diff == 0;
}

uint64_t mpx_mptcp_add_addr_hmac(uint64_t key1, uint64_t key2, const mpx_mp_add_addr *a)
{
    uint8_t m[19], h[32];
    size_t n = 0, al = a->family == 6 ? 16 : 4;
    m[n++] = a->addr_id;
    memcpy(m + n, a->addr, al);
    n += al;
    uint16_t port = a->has_port ? a->port : 0;
    m[n++] = (uint8_t)(port >> 8);
    m[n++] = (uint8_t)port;
    hmac_keys(1, key1, key2, m, n, h);
    return get64(h + 24);
}

/* ---- DSS checksum -------------------------------------------------------------------- */

void mpx_csum_init(mpx_csum *c) { c->sum = 0; c->len = 0; }

void mpx_csum_add(mpx_csum *c, const uint8_t *p, size_t n)
{
    /* 16-bit big-endian words; a byte at an odd stream offset is the low half of its word */
    for (size_t i = 0; i < n; i++, c->len++)
        c->sum += (c->len & 1) ? p[i] : (uint64_t)p[i] << 8;
}

static uint16_t fold(uint64_t s)
{
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

uint16_t mpx_mptcp_dss_csum_final(const mpx_csum *payload, uint64_t dsn, uint32_t ssn, uint16_t dll)
{
    uint64_t s = payload ? payload->sum : 0;
    s += (dsn >> 48) + ((dsn >> 32) & 0xffff) + ((dsn >> 16) & 0xffff) + (dsn & 0xffff);
    s += (ssn >> 16) + (ssn & 0xffff);
    s += dll;
    return (uint16_t)~fold(s);
}

uint16_t mpx_mptcp_dss_csum(uint64_t dsn, uint32_t ssn, uint16_t dll, const uint8_t *data, size_t n)
{
    mpx_csum c;
    mpx_csum_init(&c);
    if (data) mpx_csum_add(&c, data, n);
    return mpx_mptcp_dss_csum_final(&c, dsn, ssn, dll);
}
