/* Option-space calculator reproducing Linux's SYN / SYN-ACK option layout. See budget.h. */
#include "proto/budget.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static unsigned align4(unsigned n) { return (n + 3) & ~3u; }

static const char *const mpcv_name[] = { "none", "v4", "v4+port", "v6", "v6+port" };
static const unsigned mpcv_len[] = { 4, 8, 10, 20, 22 };

void mpx_budget_item_name(const mpx_budget_item *it, char *buf, size_t cap)
{
    switch (it->kind) {
    case MPX_BI_MSS: snprintf(buf, cap, "mss"); break;
    case MPX_BI_SACKPERM: snprintf(buf, cap, "sackperm"); break;
    case MPX_BI_TS: snprintf(buf, cap, "ts"); break;
    case MPX_BI_WS: snprintf(buf, cap, "ws"); break;
    case MPX_BI_TFO: snprintf(buf, cap, "tfo:%u", it->n); break;
    case MPX_BI_TFO_EXP: snprintf(buf, cap, "tfo-exp:%u", it->n); break;
    case MPX_BI_MPC: snprintf(buf, cap, "mpc"); break;
    case MPX_BI_MPC_V0: snprintf(buf, cap, "mpc-v0"); break;
    case MPX_BI_MPJ: snprintf(buf, cap, "mpj"); break;
    case MPX_BI_MPCONVERT:
        snprintf(buf, cap, "mpconvert:%s", it->n < 5 ? mpcv_name[it->n] : "?");
        break;
    case MPX_BI_PREFER: snprintf(buf, cap, "prefer"); break;
    case MPX_BI_MD5: snprintf(buf, cap, "md5"); break;
    case MPX_BI_EXP253: snprintf(buf, cap, "exp253:%u", it->n); break;
    case MPX_BI_RAW: snprintf(buf, cap, "raw:%u", it->n); break;
    default: snprintf(buf, cap, "?"); break;
    }
}

/* Parses a decimal count after "name:"; returns -1 if absent or malformed. */
static long parse_n(const char *s)
{
    if (!*s) return -1;
    for (const char *q = s; *q; q++) if (!isdigit((unsigned char)*q)) return -1;
    if (strlen(s) > 4) return -1;
    return strtol(s, NULL, 10);
}

static int parse_one(const char *tok, size_t off, mpx_budget_item *it, mpx_err *e)
{
    static const struct { const char *name; mpx_budget_kind kind; } plain[] = {
        { "mss", MPX_BI_MSS }, { "sackperm", MPX_BI_SACKPERM }, { "sackok", MPX_BI_SACKPERM },
        { "ts", MPX_BI_TS }, { "ws", MPX_BI_WS }, { "wscale", MPX_BI_WS },
        { "mpc", MPX_BI_MPC }, { "mpc-v0", MPX_BI_MPC_V0 }, { "mpj", MPX_BI_MPJ },
        { "prefer", MPX_BI_PREFER }, { "md5", MPX_BI_MD5 },
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcasecmp(tok, plain[i].name) == 0) { it->kind = plain[i].kind; it->n = 0; return 0; }
    if (strcasecmp(tok, "tfo") == 0) { it->kind = MPX_BI_TFO; it->n = 0; return 0; }
    if (strcasecmp(tok, "tfo-exp") == 0) { it->kind = MPX_BI_TFO_EXP; it->n = 0; return 0; }
    const char *colon = strchr(tok, ':');
    if (!colon) return mpx_fail(e, "BUDGET-PARSE", off, "unknown item '%s'", tok);
    size_t nl = (size_t)(colon - tok);
    const char *arg = colon + 1;
    if (nl == 9 && strncasecmp(tok, "mpconvert", 9) == 0) {
        for (unsigned v = 0; v < 5; v++)
            if (strcasecmp(arg, mpcv_name[v]) == 0) { it->kind = MPX_BI_MPCONVERT; it->n = v; return 0; }
        return mpx_fail(e, "BUDGET-PARSE", off, "mpconvert variant '%s' (v4, v4+port, v6, v6+port, none)", arg);
    }
    long n = parse_n(arg);
    if ((nl == 3 && strncasecmp(tok, "tfo", 3) == 0) || (nl == 7 && strncasecmp(tok, "tfo-exp", 7) == 0)) {
        /* RFC 7413 4.1.1 / Linux TCP_FASTOPEN_COOKIE_MIN..MAX: 4..16, even */
        if (n != 0 && (n < 4 || n > 16 || n % 2))
            return mpx_fail(e, "BUDGET-PARSE", off, "TFO cookie size '%s' (0 = request, or 4..16 even)", arg);
        it->kind = nl == 3 ? MPX_BI_TFO : MPX_BI_TFO_EXP;
        it->n = (unsigned)n;
        return 0;
    }
    if (nl == 6 && strncasecmp(tok, "exp253", 6) == 0) {
        if (n < 0 || n > 36) return mpx_fail(e, "BUDGET-PARSE", off, "exp253 data size '%s' (0..36)", arg);
        it->kind = MPX_BI_EXP253;
        it->n = (unsigned)n;
        return 0;
    }
    if (nl == 3 && strncasecmp(tok, "raw", 3) == 0) {
        if (n < 1 || n > 40) return mpx_fail(e, "BUDGET-PARSE", off, "raw size '%s' (1..40)", arg);
        it->kind = MPX_BI_RAW;
        it->n = (unsigned)n;
        return 0;
    }
    return mpx_fail(e, "BUDGET-PARSE", off, "unknown item '%s'", tok);
}

int mpx_budget_parse(const char *spec, mpx_budget_item *items, size_t cap, size_t *n, mpx_err *e)
{
    *n = 0;
    if (!spec) return mpx_fail(e, "BUDGET-PARSE", 0, "no spec");
    size_t off = 0;
    const char *s = spec;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t l = end ? (size_t)(end - s) : strlen(s);
        char tok[48];
        /* trim blanks */
        size_t a = 0, b = l;
        while (a < b && isspace((unsigned char)s[a])) a++;
        while (b > a && isspace((unsigned char)s[b - 1])) b--;
        if (b - a >= sizeof tok) return mpx_fail(e, "BUDGET-PARSE", off + a, "item too long");
        memcpy(tok, s + a, b - a);
        tok[b - a] = 0;
        if (tok[0]) {
            if (strcasecmp(tok, "base") == 0) {
                static const mpx_budget_kind base[] = { MPX_BI_MSS, MPX_BI_SACKPERM, MPX_BI_TS, MPX_BI_WS };
                for (size_t i = 0; i < 4; i++) {
                    if (*n >= cap) return mpx_fail(e, "BUDGET-TOO-MANY", off, "more than %zu items", cap);
                    items[*n].kind = base[i];
                    items[*n].n = 0;
                    (*n)++;
                }
            } else {
                if (*n >= cap) return mpx_fail(e, "BUDGET-TOO-MANY", off, "more than %zu items", cap);
                if (parse_one(tok, off + a, &items[*n], e) < 0) return -1;
                (*n)++;
            }
        }
        if (!end) break;
        off += l + 1;
        s = end + 1;
    }
    return 0;
}

static bool is_mptcp_hs(mpx_budget_kind k) { return k == MPX_BI_MPC || k == MPX_BI_MPC_V0 || k == MPX_BI_MPJ; }
static bool is_tfo(mpx_budget_kind k) { return k == MPX_BI_TFO || k == MPX_BI_TFO_EXP; }
static bool may_repeat(mpx_budget_kind k) { return k == MPX_BI_RAW || k == MPX_BI_EXP253; }

/* Raw option length of an item. */
static unsigned raw_len(mpx_budget_seg seg, const mpx_budget_item *it)
{
    switch (it->kind) {
    case MPX_BI_MSS: return 4;
    case MPX_BI_SACKPERM: return 2;
    case MPX_BI_TS: return 10;
    case MPX_BI_WS: return 3;
    case MPX_BI_TFO: return 2 + it->n;
    case MPX_BI_TFO_EXP: return 4 + it->n;
    case MPX_BI_MPC: return seg == MPX_SEG_SYN ? 4 : 12;
    case MPX_BI_MPC_V0: return 12;
    case MPX_BI_MPJ: return seg == MPX_SEG_SYN ? 12 : 16;
    case MPX_BI_MPCONVERT: return mpcv_len[it->n < 5 ? it->n : 0];
    case MPX_BI_PREFER: return 4;
    case MPX_BI_MD5: return 18;
    case MPX_BI_EXP253: return 4 + it->n;
    case MPX_BI_RAW: return it->n;
    }
    return 0;
}

int mpx_budget_compute(mpx_budget_seg seg, const mpx_budget_item *items, size_t n,
                       mpx_budget *out, mpx_err *e)
{
    memset(out, 0, sizeof *out);
    out->seg = seg;
    if (n > MPX_BUDGET_MAX_ITEMS)
        return mpx_fail(e, "BUDGET-TOO-MANY", 0, "%zu items (at most %d)", n, MPX_BUDGET_MAX_ITEMS);
    int idx[MPX_BI_RAW + 1];
    for (int k = 0; k <= MPX_BI_RAW; k++) idx[k] = -1;
    int mptcp_hs = -1;
    for (size_t i = 0; i < n; i++) {
        const mpx_budget_item *it = &items[i];
        if ((unsigned)it->kind > MPX_BI_RAW || (it->kind == MPX_BI_MPCONVERT && it->n > 4))
            return mpx_fail(e, "BUDGET-PARSE", i, "item %zu is not valid", i);
        char nm[24];
        mpx_budget_item_name(it, nm, sizeof nm);
        if (!may_repeat(it->kind) && idx[it->kind] >= 0)
            return mpx_fail(e, "BUDGET-DUP", i, "'%s' given twice", nm);
        if (is_mptcp_hs(it->kind)) {
            if (mptcp_hs >= 0) return mpx_fail(e, "BUDGET-DUP", i, "only one of mpc, mpc-v0, mpj");
            mptcp_hs = (int)i;
        }
        if (is_tfo(it->kind) && (idx[MPX_BI_TFO] >= 0 || idx[MPX_BI_TFO_EXP] >= 0))
            return mpx_fail(e, "BUDGET-DUP", i, "only one TFO option");
        if (idx[it->kind] < 0) idx[it->kind] = (int)i;
        mpx_budget_line *l = &out->line[i];
        l->item = *it;
        memcpy(l->name, nm, sizeof l->name);
        l->raw = raw_len(seg, it);
        l->bytes = align4(l->raw);
    }
    out->n = n;
    int its = idx[MPX_BI_TS], isp = idx[MPX_BI_SACKPERM];
    int itfo = idx[MPX_BI_TFO] >= 0 ? idx[MPX_BI_TFO] : idx[MPX_BI_TFO_EXP];
    /* Requested: everything kept; SACKPERM rides in the TS NOP slot when both are there. */
    if (its >= 0 && isp >= 0) out->line[isp].bytes = 0;
    for (size_t i = 0; i < n; i++) out->requested += out->line[i].bytes;
    out->fits = out->requested <= MPX_BUDGET_SPACE;

    /* Linux drops decided before the space accounting. */
    bool md5 = idx[MPX_BI_MD5] >= 0;
#define DROP(i, why) do { out->line[i].dropped = true; out->line[i].drop_reason = (why); } while (0)
    if (its >= 0) {
        if (seg == MPX_SEG_SYN && md5) DROP(its, "md5");          /* tcp_syn_options: TS only without MD5 */
        else if (seg == MPX_SEG_SYNACK && md5 && isp >= 0) DROP(its, "md5+sack");  /* tcp_synack_options */
        else if (seg == MPX_SEG_SYNACK && mptcp_hs >= 0 && itfo >= 0)
            DROP(its, "mptcp-listener-tfo-cookie");               /* subflow_prep_synack */
    }
    if (mptcp_hs >= 0 && md5) DROP(mptcp_hs, "md5");              /* MPTCP falls back with MD5 */
    bool ts_kept = its >= 0 && !out->line[its].dropped;
    if (isp >= 0) out->line[isp].bytes = ts_kept ? 0 : 4;
    if (its >= 0 && !ts_kept) out->line[its].bytes = 12;

    /* Space accounting in Linux's reservation order. */
    unsigned rem = MPX_BUDGET_SPACE;
    static const mpx_budget_kind fixed_syn[] = { MPX_BI_MD5, MPX_BI_MSS, MPX_BI_TS, MPX_BI_WS, MPX_BI_SACKPERM };
    static const mpx_budget_kind fixed_synack[] = { MPX_BI_MD5, MPX_BI_MSS, MPX_BI_WS, MPX_BI_TS, MPX_BI_SACKPERM };
    const mpx_budget_kind *fixed = seg == MPX_SEG_SYN ? fixed_syn : fixed_synack;
    for (int k = 0; k < 5; k++) {
        int i = idx[fixed[k]];
        if (i < 0 || out->line[i].dropped) continue;
        /* these are always reserved; if they alone exceed 40 the rest simply cannot fit */
        unsigned b = out->line[i].bytes;
        if (b > rem) { DROP(i, "no-room"); continue; }
        rem -= b;
    }
    if (itfo >= 0) {
        if (out->line[itfo].bytes > rem) DROP(itfo, "no-room");
        else rem -= out->line[itfo].bytes;
    }
    if (mptcp_hs >= 0 && !out->line[mptcp_hs].dropped) {
        if (out->line[mptcp_hs].bytes > rem) DROP(mptcp_hs, "no-room");
        else rem -= out->line[mptcp_hs].bytes;
    }
    bool mpc_kept = mptcp_hs >= 0 && !out->line[mptcp_hs].dropped &&
                    out->line[mptcp_hs].item.kind != MPX_BI_MPJ;
    for (size_t i = 0; i < n; i++) {
        mpx_budget_kind k = out->line[i].item.kind;
        if (k != MPX_BI_MPCONVERT && k != MPX_BI_PREFER && k != MPX_BI_EXP253 && k != MPX_BI_RAW) continue;
        /* plain-mode drafts: MP_CONVERT / MP_PREFER_PROXY only together with MP_CAPABLE */
        if ((k == MPX_BI_MPCONVERT || k == MPX_BI_PREFER) && !mpc_kept) { DROP(i, "needs-mpc"); continue; }
        if (out->line[i].bytes > rem) { DROP(i, "no-room"); continue; }
        rem -= out->line[i].bytes;
    }
#undef DROP
    for (size_t i = 0; i < n; i++) {
        if (out->line[i].dropped) out->ndropped++;
        else out->total += out->line[i].bytes;
    }
    out->left = MPX_BUDGET_SPACE - out->total;
    return 0;
}

int mpx_budget_from_spec(mpx_budget_seg seg, const char *spec, mpx_budget *out, mpx_err *e)
{
    mpx_budget_item it[MPX_BUDGET_MAX_ITEMS];
    size_t n;
    memset(out, 0, sizeof *out);
    if (mpx_budget_parse(spec, it, MPX_BUDGET_MAX_ITEMS, &n, e) < 0) return -1;
    return mpx_budget_compute(seg, it, n, out, e);
}

/* ---- emission in Linux write order (tcp_options_write) ----------------------------- */

static const mpx_budget_line *kept(const mpx_budget *b, mpx_budget_kind k)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->line[i].item.kind == k && !b->line[i].dropped) return &b->line[i];
    return NULL;
}

static void nop_pad_after(mpx_wr *w, unsigned raw)
{
    for (unsigned k = raw; k % 4; k++) mpx_wr_u8(w, 1);
}

int mpx_budget_emit(const mpx_budget *b, mpx_wr *w)
{
    size_t start = w->len;
    const uint64_t key = 0x0102030405060708ull;
    const mpx_budget_line *l;
    bool synack = b->seg == MPX_SEG_SYNACK;
    if (kept(b, MPX_BI_MD5)) {
        mpx_wr_u8(w, 1); mpx_wr_u8(w, 1); mpx_wr_u8(w, 19); mpx_wr_u8(w, 18); mpx_wr_zero(w, 16);
    }
    if (kept(b, MPX_BI_MSS)) { mpx_wr_u8(w, 2); mpx_wr_u8(w, 4); mpx_wr_u16(w, 1460); }
    const mpx_budget_line *sp = kept(b, MPX_BI_SACKPERM);
    if (kept(b, MPX_BI_TS)) {
        if (sp) { mpx_wr_u8(w, 4); mpx_wr_u8(w, 2); } else { mpx_wr_u8(w, 1); mpx_wr_u8(w, 1); }
        mpx_wr_u8(w, 8); mpx_wr_u8(w, 10); mpx_wr_u32(w, 1); mpx_wr_u32(w, synack ? 1 : 0);
    } else if (sp) {
        mpx_wr_u8(w, 1); mpx_wr_u8(w, 1); mpx_wr_u8(w, 4); mpx_wr_u8(w, 2);
    }
    if (kept(b, MPX_BI_WS)) { mpx_wr_u8(w, 1); mpx_wr_u8(w, 3); mpx_wr_u8(w, 3); mpx_wr_u8(w, 7); }
    if ((l = kept(b, MPX_BI_TFO)) || (l = kept(b, MPX_BI_TFO_EXP))) {
        if (l->item.kind == MPX_BI_TFO_EXP) {
            mpx_wr_u8(w, 254); mpx_wr_u8(w, (uint8_t)l->raw); mpx_wr_u16(w, 0xF989);
        } else {
            mpx_wr_u8(w, 34); mpx_wr_u8(w, (uint8_t)l->raw);
        }
        for (unsigned i = 0; i < l->item.n; i++) mpx_wr_u8(w, (uint8_t)(0xc0 + i));
        nop_pad_after(w, l->raw);
    }
    if ((l = kept(b, MPX_BI_MPC)) || (l = kept(b, MPX_BI_MPC_V0))) {
        mpx_wr_u8(w, 30); mpx_wr_u8(w, (uint8_t)l->raw);
        mpx_wr_u8(w, l->item.kind == MPX_BI_MPC ? 0x01 : 0x00);
        mpx_wr_u8(w, 0x01);   /* H: HMAC-SHA256 (v1) / HMAC-SHA1 (v0) */
        if (l->raw == 12) mpx_wr_u64(w, key);
    }
    if ((l = kept(b, MPX_BI_MPJ))) {
        mpx_wr_u8(w, 30); mpx_wr_u8(w, (uint8_t)l->raw); mpx_wr_u8(w, 0x10); mpx_wr_u8(w, 0);
        if (synack) mpx_wr_u64(w, key); else mpx_wr_u32(w, 0x01020304);
        mpx_wr_u32(w, 0x0a0b0c0d);
    }
    for (size_t i = 0; i < b->n; i++) {
        l = &b->line[i];
        if (l->dropped) continue;
        switch (l->item.kind) {
        case MPX_BI_MPCONVERT: {
            static const uint8_t v4[4] = { 192, 0, 2, 1 };
            static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
            unsigned v = l->item.n;
            mpx_wr_u8(w, 30); mpx_wr_u8(w, (uint8_t)l->raw); mpx_wr_u8(w, 0xe0); mpx_wr_u8(w, 6);
            if (v == MPX_MPCV_V4 || v == MPX_MPCV_V4_PORT) mpx_wr_bytes(w, v4, 4);
            if (v == MPX_MPCV_V6 || v == MPX_MPCV_V6_PORT) mpx_wr_bytes(w, v6, 16);
            if (v == MPX_MPCV_V4_PORT || v == MPX_MPCV_V6_PORT) mpx_wr_u16(w, 80);
            nop_pad_after(w, l->raw);
            break;
        }
        case MPX_BI_PREFER:
            mpx_wr_u8(w, 30); mpx_wr_u8(w, 4); mpx_wr_u8(w, 0xe0); mpx_wr_u8(w, 0);
            break;
        case MPX_BI_EXP253:
        case MPX_BI_RAW:
            /* placeholder: kind 253, ExID 0, zero data (raw:N with N < 4 is a short 253) */
            mpx_wr_u8(w, 253);
            if (l->raw >= 2) { mpx_wr_u8(w, (uint8_t)l->raw); mpx_wr_zero(w, l->raw - 2); }
            nop_pad_after(w, l->raw);
            break;
        default:
            break;
        }
    }
    if (w->overflow) return -1;
    return w->len - start == b->total ? 0 : -1;
}
