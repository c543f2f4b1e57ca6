/* TCP option walker, checker and encoder. See tcpopt.h for the rule IDs. */
#include "proto/tcpopt.h"
#include "proto/mptcp.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static uint32_t get32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* Fills the typed fields of one option with a complete kind/len/data, or sets len_rule. */
static void decode_kind(mpx_tcpopt *o)
{
    const uint8_t *d = o->data;
    uint8_t l = o->len;
    switch (o->kind) {
    case MPX_TCPOPT_MSS:
        if (l != 4) o->len_rule = "TCPOPT-MSS-LEN";
        else o->u.mss = (uint16_t)(d[0] << 8 | d[1]);
        break;
    case MPX_TCPOPT_WS:
        if (l != 3) o->len_rule = "TCPOPT-WS-LEN";
        else o->u.ws = d[0];
        break;
    case MPX_TCPOPT_SACKPERM:
        if (l != 2) o->len_rule = "TCPOPT-SACKPERM-LEN";
        break;
    case MPX_TCPOPT_SACK:
        if (l < 10 || (l - 2) % 8) o->len_rule = "TCPOPT-SACK-LEN";
        else o->u.sack.n = (uint8_t)((l - 2) / 8);
        break;
    case MPX_TCPOPT_TS:
        if (l != 10) o->len_rule = "TCPOPT-TS-LEN";
        else { o->u.ts.val = get32(d); o->u.ts.ecr = get32(d + 4); }
        break;
    case MPX_TCPOPT_MD5:
        if (l != 18) o->len_rule = "TCPOPT-MD5-LEN";
        break;
    case MPX_TCPOPT_AO:
        if (l < 4) o->len_rule = "TCPOPT-AO-LEN";   /* RFC 5925 2.2: KeyID, RNextKeyID, MAC */
        break;
    case MPX_TCPOPT_MPTCP:
        if (l < 3) o->len_rule = "MPTCP-LEN-SHORT";
        break;
    case MPX_TCPOPT_TFO:
        /* RFC 7413 4.1.1: 2 = cookie request, else cookie of 4..16 bytes, even */
        if (l == 2) o->u.tfo.request = true;
        else if (l >= 6 && l <= 18 && l % 2 == 0) { o->u.tfo.cookie = d; o->u.tfo.n = (uint8_t)(l - 2); }
        else o->len_rule = "TFO-COOKIE-LEN";
        break;
    case MPX_TCPOPT_EXP1:
    case MPX_TCPOPT_EXP2:
        if (l < 4) { o->len_rule = "TCPOPT-EXP-LEN"; break; }
        o->has_exid = true;
        o->exid = (uint16_t)(d[0] << 8 | d[1]);
        o->data = d + 2;
        o->dlen = (uint8_t)(l - 4);
        if (o->kind == MPX_TCPOPT_EXP2 && o->exid == MPX_TCPOPT_EXID_TFO) {
            if (l == 4) o->u.tfo.request = true;
            else if (l >= 8 && l <= 20 && l % 2 == 0) { o->u.tfo.cookie = o->data; o->u.tfo.n = (uint8_t)(l - 4); }
            else o->len_rule = "TFO-EXP-COOKIE-LEN";
        }
        break;
    default:
        break;
    }
}

int mpx_tcpopt_walk(const uint8_t *p, size_t len, mpx_tcpopts *out)
{
    memset(out, 0, sizeof *out);
    out->area_len = len;
    size_t i = 0;
    while (i < len) {
        uint8_t kind = p[i];
        if (out->n >= MPX_TCPOPT_MAX_ITEMS) {
            out->used = i;
            return mpx_fail(&out->err, "TCPOPT-TOO-MANY", i, "more than %d options", MPX_TCPOPT_MAX_ITEMS);
        }
        mpx_tcpopt *o = &out->opt[out->n];
        o->kind = kind;
        o->off = i;
        if (kind == MPX_TCPOPT_EOL || kind == MPX_TCPOPT_NOP) {
            o->len = 1;
            out->n++;
            i++;
            if (kind == MPX_TCPOPT_EOL) {
                out->eol = true;
                for (size_t k = i; k < len; k++)
                    if (p[k]) { out->pad_nonzero = true; out->pad_nonzero_off = k; break; }
                break;
            }
            continue;
        }
        if (len - i < 2) {
            out->used = i;
            memset(o, 0, sizeof *o);
            return mpx_fail(&out->err, "TCPOPT-OVERRUN", i, "kind %u at offset %zu has no length byte", kind, i);
        }
        uint8_t l = p[i + 1];
        if (l < 2) {
            out->used = i;
            memset(o, 0, sizeof *o);
            return mpx_fail(&out->err, l ? "TCPOPT-LEN-ONE" : "TCPOPT-LEN-ZERO", i + 1,
                            "kind %u at offset %zu has length %u", kind, i, l);
        }
        if (l > len - i) {
            out->used = i;
            memset(o, 0, sizeof *o);
            return mpx_fail(&out->err, "TCPOPT-OVERRUN", i + 1,
                            "kind %u at offset %zu has length %u but only %zu bytes remain", kind, i, l, len - i);
        }
        o->len = l;
        o->data = l > 2 ? p + i + 2 : NULL;
        o->dlen = (uint8_t)(l - 2);
        decode_kind(o);
        out->n++;
        i += l;
    }
    out->used = i;
    return 0;
}

const mpx_tcpopt *mpx_tcpopt_find(const mpx_tcpopts *o, uint8_t kind, int exid)
{
    for (size_t i = 0; i < o->n; i++) {
        const mpx_tcpopt *t = &o->opt[i];
        if (t->kind != kind) continue;
        if ((kind == MPX_TCPOPT_EXP1 || kind == MPX_TCPOPT_EXP2) && exid >= 0 &&
            (!t->has_exid || t->exid != exid))
            continue;
        return t;
    }
    return NULL;
}

bool mpx_tcpopt_sack_block(const mpx_tcpopt *opt, unsigned i, uint32_t *left, uint32_t *right)
{
    if (opt->kind != MPX_TCPOPT_SACK || opt->len_rule || i >= opt->u.sack.n) return false;
    *left = get32(opt->data + 8 * i);
    *right = get32(opt->data + 8 * i + 4);
    return true;
}

static bool is_tfo(const mpx_tcpopt *o)
{
    return o->kind == MPX_TCPOPT_TFO ||
           (o->kind == MPX_TCPOPT_EXP2 && o->has_exid && o->exid == MPX_TCPOPT_EXID_TFO);
}

static const char *len_msg(const mpx_tcpopt *o)
{
    switch (o->kind) {
    case MPX_TCPOPT_MSS: return "must be 4";
    case MPX_TCPOPT_WS: return "must be 3";
    case MPX_TCPOPT_SACKPERM: return "must be 2";
    case MPX_TCPOPT_SACK: return "must be 2+8n, n>=1";
    case MPX_TCPOPT_TS: return "must be 10";
    case MPX_TCPOPT_MD5: return "must be 18";
    case MPX_TCPOPT_AO: return "must be at least 4";
    case MPX_TCPOPT_TFO: return "must be 2 (request) or 6..18 and even (cookie 4..16)";
    case MPX_TCPOPT_MPTCP: return "must be at least 3";
    case MPX_TCPOPT_EXP2:
        if (o->has_exid) return "must be 4 (request) or 8..20 and even (cookie 4..16)";
        /* fall through */
    default: return "too short for the ExID";
    }
}

size_t mpx_tcpopt_check(const uint8_t *p, size_t len, uint8_t flags, mpx_viols *vs)
{
    size_t before = vs ? vs->n + vs->dropped : 0;
    mpx_tcpopts o;
    bool syn = flags & MPX_TH_SYN, ack = flags & MPX_TH_ACK;
    mpx_tcpopt_walk(p, len, &o);
    if (len > MPX_TCPOPT_AREA_MAX)
        mpx_viol_add(vs, "TCPOPT-AREA-LEN", 0, "option area of %zu bytes (at most 40)", len);
    if (len % 4)
        mpx_viol_add(vs, "TCPOPT-AREA-ALIGN", 0, "option area of %zu bytes is not a multiple of 4", len);
    if (o.err.rule) mpx_viol_add_err(vs, &o.err);
    if (o.pad_nonzero)
        mpx_viol_add(vs, "TCPOPT-AFTER-EOL", o.pad_nonzero_off, "non-zero byte 0x%02x after EOL at offset %zu",
                     p[o.pad_nonzero_off], o.pad_nonzero_off);
    for (size_t i = 0; i < o.n; i++) {
        const mpx_tcpopt *t = &o.opt[i];
        const char *nm = mpx_tcpopt_name(t->kind);
        if (t->len_rule) {
            mpx_viol_add(vs, t->len_rule, t->off + 1, "%s%s length %u %s", nm,
                         t->kind == MPX_TCPOPT_EXP2 && t->has_exid && t->exid == MPX_TCPOPT_EXID_TFO ? "-tfo" : "",
                         t->len, len_msg(t));
        }
        /* options only meaningful in a SYN (RFC 9293 3.7.1, RFC 7323, RFC 2018, RFC 7413) */
        if (!syn) {
            const char *r = NULL;
            switch (t->kind) {
            case MPX_TCPOPT_MSS: r = "TCPOPT-MSS-NOT-SYN"; break;
            case MPX_TCPOPT_WS: r = "TCPOPT-WS-NOT-SYN"; break;
            case MPX_TCPOPT_SACKPERM: r = "TCPOPT-SACKPERM-NOT-SYN"; break;
            default: if (is_tfo(t)) r = "TFO-NOT-SYN"; break;
            }
            if (r) mpx_viol_add(vs, r, t->off, "%s in a segment without SYN", is_tfo(t) ? "TFO" : nm);
        } else if (t->kind == MPX_TCPOPT_SACK) {
            mpx_viol_add(vs, "TCPOPT-SACK-IN-SYN", t->off, "SACK blocks in a SYN");
        }
        if (t->kind == MPX_TCPOPT_WS && !t->len_rule && t->u.ws > 14)
            mpx_viol_add(vs, "TCPOPT-WS-SHIFT", t->off + 2, "window scale shift %u > 14", t->u.ws);
        if (t->kind == MPX_TCPOPT_TS && !t->len_rule && !ack && t->u.ts.ecr)
            mpx_viol_add(vs, "TCPOPT-TS-ECR-NOACK", t->off + 6, "TSecr %u non-zero without ACK", t->u.ts.ecr);
        /* duplicates of single-instance kinds */
        switch (t->kind) {
        case MPX_TCPOPT_MSS: case MPX_TCPOPT_WS: case MPX_TCPOPT_SACKPERM: case MPX_TCPOPT_SACK:
        case MPX_TCPOPT_TS: case MPX_TCPOPT_MD5: case MPX_TCPOPT_AO: case MPX_TCPOPT_TFO:
        case MPX_TCPOPT_EXP1: case MPX_TCPOPT_EXP2:
            for (size_t k = 0; k < i; k++) {
                const mpx_tcpopt *u = &o.opt[k];
                if (u->kind != t->kind) continue;
                if ((t->kind == MPX_TCPOPT_EXP1 || t->kind == MPX_TCPOPT_EXP2) &&
                    (!t->has_exid || !u->has_exid || t->exid != u->exid))
                    continue;
                mpx_viol_add(vs, "TCPOPT-DUP", t->off, "second %s option (first at offset %zu)", nm, u->off);
                break;
            }
            break;
        default:
            break;
        }
        if (t->kind == MPX_TCPOPT_MPTCP && !t->len_rule) {
            mpx_mptcp_opt m;
            mpx_err e;
            mpx_err_clear(&e);
            if (mpx_mptcp_decode(p + t->off, t->len, mpx_mpctx_from_flags(flags), &m, &e) < 0) {
                e.off += t->off;
                mpx_viol_add_err(vs, &e);
            } else {
                mpx_mptcp_check(&m, flags, t->off, vs);
            }
        }
    }
    return vs ? vs->n + vs->dropped - before : 0;
}

const char *mpx_tcpopt_name(uint8_t kind)
{
    switch (kind) {
    case MPX_TCPOPT_EOL: return "eol";
    case MPX_TCPOPT_NOP: return "nop";
    case MPX_TCPOPT_MSS: return "mss";
    case MPX_TCPOPT_WS: return "wscale";
    case MPX_TCPOPT_SACKPERM: return "sackOK";
    case MPX_TCPOPT_SACK: return "sack";
    case MPX_TCPOPT_TS: return "TS";
    case MPX_TCPOPT_MD5: return "md5";
    case MPX_TCPOPT_AO: return "ao";
    case MPX_TCPOPT_MPTCP: return "mptcp";
    case MPX_TCPOPT_TFO: return "tfo";
    case MPX_TCPOPT_EXP1: case MPX_TCPOPT_EXP2: return "exp";
    default: return "unknown";
    }
}

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
static void sb_hex(sbuf *s, const uint8_t *p, size_t n) { for (size_t i = 0; i < n; i++) sb_add(s, "%02x", p[i]); }

static void fmt_one(sbuf *s, const mpx_tcpopt *o, mpx_mpctx ctx)
{
    if (o->len_rule) {
        sb_add(s, "%s len %u [%s]", mpx_tcpopt_name(o->kind), o->len, o->len_rule);
        return;
    }
    switch (o->kind) {
    case MPX_TCPOPT_EOL: case MPX_TCPOPT_NOP: case MPX_TCPOPT_SACKPERM:
        sb_add(s, "%s", mpx_tcpopt_name(o->kind));
        return;
    case MPX_TCPOPT_MSS: sb_add(s, "mss %u", o->u.mss); return;
    case MPX_TCPOPT_WS: sb_add(s, "wscale %u", o->u.ws); return;
    case MPX_TCPOPT_TS: sb_add(s, "TS val %u ecr %u", o->u.ts.val, o->u.ts.ecr); return;
    case MPX_TCPOPT_MD5: sb_add(s, "md5 "); sb_hex(s, o->data, o->dlen); return;
    case MPX_TCPOPT_SACK:
        sb_add(s, "sack %u", o->u.sack.n);
        for (unsigned i = 0; i < o->u.sack.n; i++) {
            uint32_t l, r;
            mpx_tcpopt_sack_block(o, i, &l, &r);
            sb_add(s, " {%u:%u}", l, r);
        }
        return;
    case MPX_TCPOPT_MPTCP: {
        mpx_mptcp_opt m;
        mpx_err e;
        mpx_err_clear(&e);
        sb_add(s, "mptcp %u ", o->len);
        if (mpx_mptcp_decode(o->data - 2, o->len, ctx, &m, &e) < 0) {
            sb_add(s, "%s [%s]", mpx_mptcp_subtype_short(o->data[0] >> 4), e.rule);
        } else {
            char t[160];
            mpx_mptcp_format(&m, t, sizeof t);
            sb_add(s, "%s", t);
        }
        return;
    }
    default:
        break;
    }
    if (o->kind == MPX_TCPOPT_TFO || (o->kind == MPX_TCPOPT_EXP2 && o->has_exid && o->exid == MPX_TCPOPT_EXID_TFO)) {
        sb_add(s, "%s", o->kind == MPX_TCPOPT_TFO ? "tfo" : "exp-tfo");
        if (o->u.tfo.request) sb_add(s, " cookiereq");
        else { sb_add(s, " cookie "); sb_hex(s, o->u.tfo.cookie, o->u.tfo.n); }
        return;
    }
    if (o->has_exid) {
        sb_add(s, "exp-%u 0x%04x", o->kind, o->exid);
        if (o->dlen) { sb_add(s, " "); sb_hex(s, o->data, o->dlen); }
        return;
    }
    sb_add(s, "%s-%u len %u", mpx_tcpopt_name(o->kind), o->kind, o->len);
    if (o->dlen) { sb_add(s, " "); sb_hex(s, o->data, o->dlen); }
}

int mpx_tcpopt_format(const mpx_tcpopt *opt, char *buf, size_t cap)
{
    sbuf s = { buf, cap, 0 };
    if (cap) buf[0] = 0;
    fmt_one(&s, opt, MPX_MPCTX_ANY);
    return (int)s.n;
}

int mpx_tcpopts_format(const mpx_tcpopts *o, uint8_t flags, char *buf, size_t cap)
{
    sbuf s = { buf, cap, 0 };
    if (cap) buf[0] = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (i) sb_add(&s, ",");
        fmt_one(&s, &o->opt[i], mpx_mpctx_from_flags(flags));
    }
    if (o->err.rule) sb_add(&s, "%s%s", o->n ? "," : "", o->err.rule);
    return (int)s.n;
}

void mpx_tcpopt_put_eol(mpx_wr *w) { mpx_wr_u8(w, MPX_TCPOPT_EOL); }
void mpx_tcpopt_put_nop(mpx_wr *w) { mpx_wr_u8(w, MPX_TCPOPT_NOP); }
void mpx_tcpopt_put_mss(mpx_wr *w, uint16_t mss) { mpx_wr_u8(w, MPX_TCPOPT_MSS); mpx_wr_u8(w, 4); mpx_wr_u16(w, mss); }
void mpx_tcpopt_put_ws(mpx_wr *w, uint8_t shift) { mpx_wr_u8(w, MPX_TCPOPT_WS); mpx_wr_u8(w, 3); mpx_wr_u8(w, shift); }
void mpx_tcpopt_put_sackperm(mpx_wr *w) { mpx_wr_u8(w, MPX_TCPOPT_SACKPERM); mpx_wr_u8(w, 2); }

void mpx_tcpopt_put_ts(mpx_wr *w, uint32_t val, uint32_t ecr)
{
    mpx_wr_u8(w, MPX_TCPOPT_TS);
    mpx_wr_u8(w, 10);
    mpx_wr_u32(w, val);
    mpx_wr_u32(w, ecr);
}

void mpx_tcpopt_put_sack(mpx_wr *w, const uint32_t *left, const uint32_t *right, unsigned n)
{
    if (n > 31) { w->overflow = true; return; }
    mpx_wr_u8(w, MPX_TCPOPT_SACK);
    mpx_wr_u8(w, (uint8_t)(2 + 8 * n));
    for (unsigned i = 0; i < n; i++) { mpx_wr_u32(w, left[i]); mpx_wr_u32(w, right[i]); }
}

void mpx_tcpopt_put_tfo(mpx_wr *w, const uint8_t *cookie, uint8_t n)
{
    mpx_tcpopt_put_raw(w, MPX_TCPOPT_TFO, cookie, n);
}

void mpx_tcpopt_put_tfo_exp(mpx_wr *w, const uint8_t *cookie, uint8_t n)
{
    mpx_tcpopt_put_exp(w, MPX_TCPOPT_EXP2, MPX_TCPOPT_EXID_TFO, cookie, n);
}

void mpx_tcpopt_put_exp(mpx_wr *w, uint8_t kind, uint16_t exid, const uint8_t *d, uint8_t n)
{
    if (n > 251) { w->overflow = true; return; }
    mpx_wr_u8(w, kind);
    mpx_wr_u8(w, (uint8_t)(4 + n));
    mpx_wr_u16(w, exid);
    if (n) mpx_wr_bytes(w, d, n);
}

void mpx_tcpopt_put_raw(mpx_wr *w, uint8_t kind, const uint8_t *d, uint8_t n)
{
    if (n > 253) { w->overflow = true; return; }
    mpx_wr_u8(w, kind);
    mpx_wr_u8(w, (uint8_t)(2 + n));
    if (n) mpx_wr_bytes(w, d, n);
}

void mpx_tcpopt_put_pad(mpx_wr *w) { mpx_wr_pad(w, 4); }
