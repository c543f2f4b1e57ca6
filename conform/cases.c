/* The case table: one row per behaviour, with the RFC section and the BCP 14 level its text
 * gives. Levels and sections are quoted from RFC 8803 (section numbers as in
 * draft-ietf-tcpm-converters-19, which RFC 8803 keeps), RFC 1928 and RFC 1929; a behaviour the
 * RFC describes without a keyword is INFO. Cases run in table order: the Info and cookie cases
 * teach the later ones the converter's option list and cookie. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "conform/conform.h"
#include "lib/pattern.h"
#include "proto/convert.h"
#include "proto/socks5.h"

const char *cf_level_name(cf_level l)
{
    switch (l) {
    case CF_MUST: return "MUST";
    case CF_SHOULD: return "SHOULD";
    case CF_MAY: return "MAY";
    case CF_INFO: return "INFO";
    }
    return "?";
}

const char *cf_verdict_name(cf_verdict v)
{
    return v == CF_PASS ? "pass" : v == CF_FAIL ? "fail" : "n/a";
}

/* ---------------------------------------------------------------- helpers */

#define SPLIT_PAUSE_US 150000   /* between the parts of a split message: separate segments */

typedef struct {
    size_t       len;   /* bytes of the Convert message received (0: none whole) */
    int          dec;   /* mpx_conv_decode result */
    mpx_conv_msg m;
    mpx_err      e;
} reply;

static long enc_connect(cf_ctx *ctx, const mpx_addr *t, const mpx_conv_opt *opts, size_t nopts,
                        uint8_t *out, size_t cap)
{
    mpx_err e = { 0 };
    return mpx_conv_encode_connect(t, ctx->cookie_len ? ctx->cookie : NULL, ctx->cookie_len, opts,
                                   nopts, out, cap, &e);
}

/* An MPX1 echo request (mpx-server's protocol): what a relayed target must send back. */
static size_t echo_request(uint8_t *out, size_t n)
{
    mpxa_req_hdr h = { (uint32_t)n, (uint32_t)n, MPXA_FLAG_ECHO };
    mpxa_hdr_set_seed(&h, 0x8803);
    mpxa_req_fill(&h, 0, out, n);
    return n;
}
#define ECHO_LEN 48

/* Opens, sends tx (the first `split` bytes first, the rest after a pause when split > 0),
 * reads one Convert message and decodes it. -1 when the connection failed. */
static int xchg(cf_ctx *ctx, cf_result *r, cf_conn *c, const uint8_t *tx, size_t n, size_t split,
                reply *rp)
{
    memset(rp, 0, sizeof *rp);
    if (cf_open(ctx, c, r, tx, split ? split : n) < 0) return -1;
    if (split && split < n) {
        usleep(SPLIT_PAUSE_US);
        if (cf_send(c, tx + split, n - split) < 0) {
            r->end = "reset";
            return 0;
        }
    }
    rp->len = cf_recv_conv(c, ctx->timeout_ms);
    if (rp->len)
        rp->dec = mpx_conv_decode(r->rx, rp->len, MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CONVERTER,
                                  &rp->m, &rp->e);
    return 0;
}

static bool need_target(cf_ctx *ctx, cf_result *r, int fam)
{
    if ((fam == 4 && ctx->has_t4) || (fam == 6 && ctx->has_t6)) return true;
    cf_set(r, CF_NA, "needs --target with an IPv%d address", fam);
    return false;
}

static const mpx_addr *any_target(cf_ctx *ctx)
{
    return ctx->has_t4 ? &ctx->t4 : ctx->has_t6 ? &ctx->t6 : NULL;
}

/* A valid request was answered: judge the reply as a success. Returns true on PASS so far. */
static bool judge_success(cf_result *r, const reply *rp)
{
    if (!rp->len) {
        cf_set(r, CF_FAIL, "no whole Convert message came back (connection %s): s6.1 the converter "
               "MUST send the fixed header first", r->end);
        return false;
    }
    if (rp->dec != MPX_DEC_OK) {
        cf_set(r, CF_FAIL, "reply does not decode: %s: %s", rp->e.rule, rp->e.msg);
        return false;
    }
    if (rp->m.has_error) {
        uint8_t code = rp->m.error.code;
        /* refused by policy or resources: nothing here says the converter is wrong */
        cf_set(r, code >= 32 ? CF_NA : CF_FAIL, "Error %u (%s) to a valid request", code,
               mpx_conv_error_name(code));
        return false;
    }
    cf_set(r, CF_PASS, "reply %zu bytes, no Error TLV", rp->len);
    return true;
}

/* After a success reply: the echo request (sent after the TLVs) must come back relayed. */
static void judge_relay(cf_ctx *ctx, cf_conn *c, cf_result *r, const reply *rp, const uint8_t *req,
                        size_t n)
{
    size_t want = rp->len + n;
    cf_recv_n(c, want, ctx->timeout_ms);
    if (r->rxn < want) {
        cf_set(r, CF_FAIL, "relay: %zu of %zu echoed bytes came back (connection %s)",
               r->rxn - rp->len, n, r->end);
        return;
    }
    if (memcmp(r->rx + rp->len, req, n) != 0) {
        cf_set(r, CF_FAIL, "relay: the echoed bytes differ from the request sent after the TLVs");
        return;
    }
    cf_set(r, CF_PASS, "reply %zu bytes, then the %zu request bytes relayed and echoed", rp->len, n);
}

/* Is the Error TLV's echo (codes 1, 2) the message sent, as s6.2.8 requires? */
static bool echo_ok(const reply *rp, const uint8_t *sent, size_t sent_len)
{
    const mpx_conv_error *er = &rp->m.error;
    if (!er->data || !er->data_len) return false;
    size_t k = er->data_len < sent_len ? er->data_len : sent_len;
    if (memcmp(er->data, sent, k) != 0) return false;
    for (size_t i = k; i < er->data_len; i++)   /* beyond what was sent: padding only */
        if (er->data[i]) return false;
    return true;
}

/* An invalid or refused request: the reply must be an Error TLV with one of `codes` (n = 0:
 * any code, lo..hi range when lo <= hi). */
static bool judge_error(cf_ctx *ctx, cf_conn *c, cf_result *r, const reply *rp, const uint8_t *codes,
                        size_t ncodes, const uint8_t *sent, size_t sent_len)
{
    if (!rp->len) {
        cf_set(r, CF_FAIL, "no Error TLV came back (connection %s)", r->end);
        return false;
    }
    if (rp->dec != MPX_DEC_OK) {
        cf_set(r, CF_FAIL, "reply does not decode: %s: %s", rp->e.rule, rp->e.msg);
        return false;
    }
    if (!rp->m.has_error) {
        cf_set(r, CF_FAIL, "a success reply (no Error TLV) to a request that must be refused");
        return false;
    }
    uint8_t code = rp->m.error.code;
    bool ok = ncodes == 0;
    for (size_t i = 0; i < ncodes; i++) ok |= codes[i] == code;
    cf_wait_end(c, ctx->timeout_ms);
    if (!ok) {
        char want[64] = "";
        size_t off = 0;
        for (size_t i = 0; i < ncodes && off < sizeof want - 8; i++)
            off += (size_t)snprintf(want + off, sizeof want - off, "%s%u", i ? " or " : "", codes[i]);
        cf_set(r, CF_FAIL, "Error %u (%s), the RFC names %s", code, mpx_conv_error_name(code), want);
        return false;
    }
    if ((code == MPX_CONV_E_MALFORMED || code == MPX_CONV_E_UNSUPPORTED_MESSAGE) &&
        !echo_ok(rp, sent, sent_len)) {
        cf_set(r, CF_FAIL, "Error %u: the value MUST echo the received message (s6.2.8); it does not",
               code);
        return false;
    }
    cf_set(r, CF_PASS, "Error %u (%s), then connection %s", code, mpx_conv_error_name(code), r->end);
    return true;
}

/* Sends tx whole and expects an Error TLV with one of the codes. */
static void expect_error(cf_ctx *ctx, cf_result *r, const uint8_t *tx, size_t n, const uint8_t *codes,
                         size_t ncodes)
{
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, n, 0, &rp) < 0) {
        r->v = CF_FAIL;
        return;
    }
    judge_error(ctx, &c, r, &rp, codes, ncodes, tx, n);
    cf_close(&c, true);
}

static const uint8_t MALFORMED[] = { MPX_CONV_E_MALFORMED };
static const uint8_t UNSUPPORTED_MSG[] = { MPX_CONV_E_UNSUPPORTED_MESSAGE };
static const uint8_t UNSUPPORTED_VERSION[] = { MPX_CONV_E_UNSUPPORTED_VERSION };
static const uint8_t UNSUPPORTED_OPT[] = { MPX_CONV_E_UNSUPPORTED_OPTION };
/* an unknown TLV type: s6.2.8 describes Unsupported Message (2), without a keyword; Malformed
 * Message (1) is no violation */
static const uint8_t UNKNOWN_TLV[] = { MPX_CONV_E_UNSUPPORTED_MESSAGE, MPX_CONV_E_MALFORMED };
/* message validation and processing errors (0-31) named in s6.2.8 */
static const uint8_t VALIDATION[] = { MPX_CONV_E_UNSUPPORTED_VERSION, MPX_CONV_E_MALFORMED,
                                      MPX_CONV_E_UNSUPPORTED_MESSAGE };
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A base Connect to the first known target (or 192.0.2.1:80 when none: message cases never
 * get as far as connecting). */
static long base_connect(cf_ctx *ctx, uint8_t *out, size_t cap)
{
    mpx_addr t = mpx_addr_v4(0xc0000201u, 80);
    const mpx_addr *a = any_target(ctx);
    return enc_connect(ctx, a ? a : &t, NULL, 0, out, cap);
}

/* ---------------------------------------------------------------- RFC 8803 cases */

static void info_xchg(cf_ctx *ctx, cf_result *r, cf_conn *c, reply *rp)
{
    uint8_t tx[16];
    mpx_conv_msg m;
    mpx_err e = { 0 };
    mpx_conv_msg_init(&m);
    m.has_info = true;
    long n = mpx_conv_encode(&m, tx, sizeof tx, &e);
    if (n < 0 || xchg(ctx, r, c, tx, (size_t)n, 0, rp) < 0) c->fd = -1;
}

static void run_info(cf_ctx *ctx, cf_result *r)
{
    cf_conn c;
    reply rp;
    info_xchg(ctx, r, &c, &rp);
    if (c.fd < 0) { r->v = CF_FAIL; return; }
    if (!rp.len) {
        cf_set(r, CF_FAIL, "no reply to the Info TLV (connection %s)", r->end);
    } else if (rp.dec != MPX_DEC_OK && !(rp.m.has_supported)) {
        cf_set(r, CF_FAIL, "reply does not decode: %s: %s", rp.e.rule, rp.e.msg);
    } else if (rp.m.has_error) {
        cf_set(r, CF_NA, "Error %u (%s): not entitled to the Info TLV", rp.m.error.code,
               mpx_conv_error_name(rp.m.error.code));
    } else if (!rp.m.has_supported) {
        cf_set(r, CF_FAIL, "reply without a Supported TCP Extensions TLV");
    } else {
        size_t k = rp.m.supported_len < sizeof ctx->supported ? rp.m.supported_len : sizeof ctx->supported;
        memcpy(ctx->supported, rp.m.supported, k);
        ctx->nsupported = k;
        ctx->has_supported = true;
        char kinds[200] = "";
        size_t off = 0;
        for (size_t i = 0; i < k && off < sizeof kinds - 8; i++)
            off += (size_t)snprintf(kinds + off, sizeof kinds - off, "%s%u", i ? "," : "", ctx->supported[i]);
        cf_set(r, CF_PASS, "Supported TCP Extensions: kinds %s", k ? kinds : "(none)");
    }
    cf_close(&c, false);
}

static void run_info_kinds(cf_ctx *ctx, cf_result *r)
{
    cf_conn c;
    reply rp;
    info_xchg(ctx, r, &c, &rp);
    if (c.fd < 0) { r->v = CF_FAIL; return; }
    if (!rp.len || !rp.m.has_supported) {
        cf_set(r, CF_NA, "no Supported TCP Extensions TLV to check");
    } else if (rp.dec != MPX_DEC_OK &&
               (!strcmp(rp.e.rule, "CONV-SUPPORTED-KIND") || !strcmp(rp.e.rule, "CONV-SUPPORTED-PAD"))) {
        cf_set(r, CF_FAIL, "%s: %s (s6.2.4: kinds 1, 2 MUST NOT appear; s7: 0-3, 5 and 29 MUST NOT "
               "be announced)", rp.e.rule, rp.e.msg);
    } else {
        cf_set(r, CF_PASS, "%zu kinds, none of 0, 1, 2, 3, 5, 29", rp.m.supported_len);
        for (unsigned i = 0; i < rp.m.ntlv; i++) {
            size_t off = rp.m.tlv[i].off;
            if (rp.m.tlv[i].type == MPX_CONV_TLV_SUPPORTED && (r->rx[off + 2] || r->rx[off + 3]))
                cf_set(r, CF_FAIL, "Unassigned field %02x%02x: MUST be zero (s6.2.4)", r->rx[off + 2],
                       r->rx[off + 3]);
        }
    }
    cf_close(&c, false);
}

static void run_info_mptcp(cf_ctx *ctx, cf_result *r)
{
    cf_conn c;
    reply rp;
    info_xchg(ctx, r, &c, &rp);
    if (c.fd < 0) { r->v = CF_FAIL; return; }
    if (!rp.len || !rp.m.has_supported) {
        cf_set(r, CF_NA, "no Supported TCP Extensions TLV to check");
    } else if (!r->transport || strcmp(r->transport, "mptcp") != 0) {
        cf_set(r, CF_NA, "the connection to the converter is %s, not MPTCP",
               r->transport ? r->transport : "unknown");
    } else if (!memchr(rp.m.supported, 30, rp.m.supported_len)) {
        cf_set(r, CF_FAIL, "accepts MPTCP but does not announce kind 30");
    } else {
        cf_set(r, CF_PASS, "MPTCP connection, kind 30 announced");
    }
    cf_close(&c, false);
}

static void run_cookie(cf_ctx *ctx, cf_result *r)
{
    const mpx_addr *t = any_target(ctx);
    if (!t) { cf_set(r, CF_NA, "needs --target"); return; }
    uint8_t tx[64];
    long n = mpx_conv_encode_connect(t, NULL, 0, NULL, 0, tx, sizeof tx, &(mpx_err){ 0 });
    cf_conn c;
    reply rp;
    if (n < 0 || xchg(ctx, r, &c, tx, (size_t)n, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    if (rp.len && rp.dec == MPX_DEC_OK && !rp.m.has_error) {
        cf_set(r, CF_NA, "served without a Cookie TLV: no cookie required");
        cf_close(&c, false);
        return;
    }
    if (!rp.len || rp.dec != MPX_DEC_OK || rp.m.error.code != MPX_CONV_E_MISSING_COOKIE) {
        if (rp.len && rp.dec != MPX_DEC_OK)
            cf_set(r, CF_FAIL, "reply does not decode: %s: %s", rp.e.rule, rp.e.msg);
        else if (rp.len)
            cf_set(r, CF_NA, "Error %u (%s), not a cookie demand", rp.m.error.code,
                   mpx_conv_error_name(rp.m.error.code));
        else
            cf_set(r, CF_NA, "no reply (connection %s)", r->end);
        cf_close(&c, true);
        return;
    }
    /* the first value byte is zero and a cookie follows: the decoder's CONV-ERROR-VALUE */
    size_t k = rp.m.error.data_len < sizeof ctx->cookie ? rp.m.error.data_len : sizeof ctx->cookie;
    memcpy(ctx->cookie, rp.m.error.data, k);
    ctx->cookie_len = k;
    cf_close(&c, true);   /* s6.2.7: the client resets, caches the cookie and retries */
    static cf_result r2;
    memset(&r2, 0, sizeof r2);
    n = enc_connect(ctx, t, NULL, 0, tx, sizeof tx);
    reply rp2;
    cf_conn c2;
    if (n < 0 || xchg(ctx, &r2, &c2, tx, (size_t)n, 0, &rp2) < 0) {
        cf_set(r, CF_FAIL, "retry: %s", r2.note);
        return;
    }
    if (judge_success(&r2, &rp2))
        cf_set(&r2, CF_PASS, "Missing Cookie with a %zu-byte cookie; the retry with it was served", k);
    cf_close(&c2, false);
    /* the report shows both exchanges, one after the other */
    r->v = r2.v;
    memcpy(r->note, r2.note, sizeof r->note);
    size_t kt = r2.txn < CF_TX_MAX - r->txn ? r2.txn : CF_TX_MAX - r->txn;
    memcpy(r->tx + r->txn, r2.tx, kt);
    r->txn += kt;
    size_t kr = r2.rxn < CF_RX_MAX - r->rxn ? r2.rxn : CF_RX_MAX - r->rxn;
    memcpy(r->rx + r->rxn, r2.rx, kr);
    r->rxn += kr;
    r->end = r2.end;
}

static void run_cookie_bad(cf_ctx *ctx, cf_result *r)
{
    const mpx_addr *t = any_target(ctx);
    if (!ctx->cookie_len || !t) { cf_set(r, CF_NA, "the converter demanded no cookie"); return; }
    uint8_t forged[256], tx[400];
    memcpy(forged, ctx->cookie, ctx->cookie_len);
    for (size_t i = 0; i < ctx->cookie_len; i++) forged[i] ^= 0x5a;
    long n = mpx_conv_encode_connect(t, forged, ctx->cookie_len, NULL, 0, tx, sizeof tx, &(mpx_err){ 0 });
    static const uint8_t not_auth[] = { MPX_CONV_E_NOT_AUTHORIZED };
    if (n > 0) expect_error(ctx, r, tx, (size_t)n, not_auth, 1);
}

static void connect_to(cf_ctx *ctx, cf_result *r, int fam, bool data, size_t split)
{
    if (!need_target(ctx, r, fam)) return;
    uint8_t tx[256], req[ECHO_LEN];
    long n = enc_connect(ctx, fam == 4 ? &ctx->t4 : &ctx->t6, NULL, 0, tx, sizeof tx);
    if (n < 0) { cf_set(r, CF_FAIL, "encoding failed"); return; }
    if (data) {
        echo_request(req, sizeof req);
        memcpy(tx + n, req, sizeof req);
    }
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, (size_t)n + (data ? sizeof req : 0), split, &rp) < 0) {
        r->v = CF_FAIL;
        return;
    }
    if (judge_success(r, &rp) && data) judge_relay(ctx, &c, r, &rp, req, sizeof req);
    cf_close(&c, false);
}

static void run_connect_v4(cf_ctx *ctx, cf_result *r) { connect_to(ctx, r, 4, false, 0); }
static void run_connect_v4_data(cf_ctx *ctx, cf_result *r) { connect_to(ctx, r, 4, true, 0); }
static void run_connect_v6(cf_ctx *ctx, cf_result *r) { connect_to(ctx, r, 6, false, 0); }
static void run_connect_v6_data(cf_ctx *ctx, cf_result *r) { connect_to(ctx, r, 6, true, 0); }

static void run_split_header(cf_ctx *ctx, cf_result *r)
{
    connect_to(ctx, r, ctx->has_t4 ? 4 : 6, true, 2);
}

static void run_split_tlv(cf_ctx *ctx, cf_result *r)
{
    connect_to(ctx, r, ctx->has_t4 ? 4 : 6, true, 9);
}

static void run_tfo(cf_ctx *ctx, cf_result *r)
{
    if (!ctx->syn_data) { cf_set(r, CF_NA, "SYN data off (--no-syn-data or the kernel's TFO client bit)"); return; }
    connect_to(ctx, r, ctx->has_t4 ? 4 : 6, false, 0);
    if (r->v != CF_PASS) return;
    if (!r->syn_data_sent)
        cf_set(r, CF_NA, "the kernel did not put the bytes in the SYN");
    else if (!r->syn_data_acked)
        cf_set(r, CF_FAIL, "the SYN-ACK did not acknowledge the SYN data (the converter's kernel "
               "refused it: the Convert message arrived one RTT later)");
    else
        cf_set(r, CF_PASS, "Connect in the SYN payload, acknowledged by the SYN-ACK");
}

/* The kinds for an Extended Connect the converter should accept: the announced ones among
 * 4 (SACK-permitted), 8 (Timestamps), 30 (MPTCP), all listed without a value. */
static size_t ext_kinds(const cf_ctx *ctx, mpx_conv_opt *o)
{
    static const uint8_t pick[] = { 4, 8, 30 };
    size_t n = 0;
    for (size_t i = 0; i < N(pick); i++)
        if (memchr(ctx->supported, pick[i], ctx->nsupported))
            o[n++] = (mpx_conv_opt){ .kind = pick[i] };
    return n;
}

static void ext_connect(cf_ctx *ctx, cf_result *r, const mpx_conv_opt *o, size_t no)
{
    const mpx_addr *t = any_target(ctx);
    if (!t) { cf_set(r, CF_NA, "needs --target"); return; }
    uint8_t tx[256];
    long n = enc_connect(ctx, t, o, no, tx, sizeof tx);
    cf_conn c;
    reply rp;
    if (n < 0 || xchg(ctx, r, &c, tx, (size_t)n, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    if (rp.len && rp.dec == MPX_DEC_OK && rp.m.has_error &&
        rp.m.error.code == MPX_CONV_E_UNSUPPORTED_OPTION) {
        cf_set(r, CF_FAIL, "Error 33 (Unsupported TCP Option) for options it must accept or ignore");
    } else if (judge_success(r, &rp)) {
        if (!rp.m.has_ext_hdr) {
            cf_set(r, CF_FAIL, "success without an Extended TCP Header TLV (s6.2.6 MUST)");
        } else {
            for (unsigned i = 0; i < rp.m.ntlv; i++) {
                size_t off = rp.m.tlv[i].off;
                if (rp.m.tlv[i].type == MPX_CONV_TLV_EXT_HDR && (r->rx[off + 2] || r->rx[off + 3])) {
                    cf_set(r, CF_FAIL, "Extended TCP Header Unassigned field %02x%02x: MUST be zero",
                           r->rx[off + 2], r->rx[off + 3]);
                    cf_close(&c, false);
                    return;
                }
            }
            cf_set(r, CF_PASS, "Extended TCP Header TLV with %zu option bytes", rp.m.ext_hdr_len);
        }
    }
    cf_close(&c, false);
}

static void run_ext_connect(cf_ctx *ctx, cf_result *r)
{
    mpx_conv_opt o[4];
    size_t no = ctx->has_supported ? ext_kinds(ctx, o) : 0;
    if (!no) { cf_set(r, CF_NA, "no announced kind among 4, 8, 30 to request"); return; }
    ext_connect(ctx, r, o, no);
}

static void run_ext_ignored(cf_ctx *ctx, cf_result *r)
{
    static const uint8_t mss[] = { 0x05, 0xb4 }, ws[] = { 7 };
    const mpx_conv_opt o[] = { { .kind = 2, .vlen = 2, .val = mss }, { .kind = 3, .vlen = 1, .val = ws },
                               { .kind = 5 } };
    ext_connect(ctx, r, o, N(o));
}

static void run_ext_ao(cf_ctx *ctx, cf_result *r)
{
    const mpx_addr *t = any_target(ctx);
    if (!t) { cf_set(r, CF_NA, "needs --target"); return; }
    const mpx_conv_opt o[] = { { .kind = 29 } };
    uint8_t tx[64];
    long n = enc_connect(ctx, t, o, 1, tx, sizeof tx);
    if (n < 0) return;
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, (size_t)n, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    if (judge_error(ctx, &c, r, &rp, UNSUPPORTED_OPT, 1, tx, (size_t)n) &&
        !memchr(rp.m.error.data, 29, rp.m.error.data_len))
        cf_set(r, CF_FAIL, "Error 33 does not list kind 29");
    cf_close(&c, true);
}

static void run_no_tlv(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[4], full[64];
    long n = base_connect(ctx, full, sizeof full);
    if (n < 0) return;
    memcpy(tx, full, 4);
    tx[1] = 1;   /* Total Length 1: the header and no TLV */
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, 4, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    cf_wait_end(&c, ctx->timeout_ms);
    if (r->rxn == 0)
        cf_set(r, CF_PASS, "nothing sent back (connection %s)", r->end);
    else
        cf_set(r, CF_FAIL, "%zu bytes sent back to a message without TLVs", r->rxn);
    cf_close(&c, true);
}

/* A valid base Connect with byte `at` replaced by v. */
static void patched(cf_ctx *ctx, cf_result *r, size_t at, uint8_t v, const uint8_t *codes, size_t nc)
{
    uint8_t tx[64];
    long n = base_connect(ctx, tx, sizeof tx);
    if (n < 0 || (size_t)n <= at) return;
    tx[at] = v;
    expect_error(ctx, r, tx, (size_t)n, codes, nc);
}

static void run_version0(cf_ctx *ctx, cf_result *r)
{
    patched(ctx, r, 0, 0, UNSUPPORTED_VERSION, 1);
    if (r->v == CF_PASS) {
        /* the value lists the supported versions (s6.2.8 MUST), 0 being padding */
        const uint8_t *v = NULL;
        size_t vl = 0;
        mpx_conv_msg m;
        mpx_err e = { 0 };
        size_t fl = mpx_conv_frame_len(r->rx, r->rxn);
        if (fl && fl <= r->rxn &&
            mpx_conv_decode(r->rx, fl, MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CONVERTER, &m, &e) == MPX_DEC_OK) {
            v = m.error.data;
            vl = m.error.data_len;
        }
        if (!vl) cf_set(r, CF_FAIL, "Unsupported Version without the supported version list");
        else if (!memchr(v, 1, vl)) cf_set(r, CF_FAIL, "the supported version list lacks version 1");
    }
}

static void run_version2(cf_ctx *ctx, cf_result *r) { patched(ctx, r, 0, 2, UNSUPPORTED_VERSION, 1); }

static void run_magic(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[64];
    long n = base_connect(ctx, tx, sizeof tx);
    if (n < 0) return;
    tx[3] ^= 0x01;   /* 0x2262 */
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, (size_t)n, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    cf_wait_end(&c, ctx->timeout_ms);
    if (r->rxn == 0)
        cf_set(r, CF_PASS, "ignored: nothing sent back (connection %s)", r->end);
    else if (rp.len && rp.dec == MPX_DEC_OK && rp.m.has_error)
        cf_set(r, CF_PASS, "Error %u (%s), connection %s", rp.m.error.code,
               mpx_conv_error_name(rp.m.error.code), r->end);
    else
        cf_set(r, CF_FAIL, "answered a message without the magic number as Convert");
    cf_close(&c, true);
}

static void run_len_zero(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[64];
    long n = base_connect(ctx, tx, sizeof tx);
    if (n < 0) return;
    tx[1] = 0;
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, (size_t)n, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    cf_wait_end(&c, ctx->timeout_ms);
    if (!strcmp(r->end, "reset"))
        cf_set(r, CF_PASS, "connection reset%s", r->rxn ? " (after some bytes)" : "");
    else
        cf_set(r, CF_FAIL, "connection %s, not reset (%zu bytes back)", r->end, r->rxn);
    cf_close(&c, true);
}

static void run_len_short(cf_ctx *ctx, cf_result *r) { patched(ctx, r, 1, 3, VALIDATION, N(VALIDATION)); }

static void run_len_long(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[64];
    long n = base_connect(ctx, tx, sizeof tx);
    if (n < 0) return;
    tx[1] = (uint8_t)(tx[1] + 2);   /* 8 more bytes than will ever come */
    cf_conn c;
    reply rp;
    if (xchg(ctx, r, &c, tx, (size_t)n, 0, &rp) < 0) { r->v = CF_FAIL; return; }
    if (rp.len && rp.dec == MPX_DEC_OK && !rp.m.has_error)
        cf_set(r, CF_FAIL, "a success reply before Total Length bytes arrived");
    else if (rp.len && rp.dec == MPX_DEC_OK)
        cf_set(r, CF_PASS, "Error %u (%s) after waiting for the rest", rp.m.error.code,
               mpx_conv_error_name(rp.m.error.code));
    else if (r->rxn)
        cf_set(r, CF_FAIL, "%zu bytes back that are no Convert message", r->rxn);
    else
        cf_set(r, CF_PASS, "no reply while the message is incomplete (connection %s)", r->end);
    cf_close(&c, true);
}

static void run_tlv_zero(cf_ctx *ctx, cf_result *r)
{
    /* header + Info + Connect, then the Info TLV's Length set to 0 */
    const mpx_addr *t = any_target(ctx);
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    m.has_info = m.has_connect = true;
    m.connect.addr = t ? *t : mpx_addr_v4(0xc0000201u, 80);
    uint8_t tx[64];
    long n = mpx_conv_encode(&m, tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0) return;
    tx[5] = 0;
    expect_error(ctx, r, tx, (size_t)n, VALIDATION, N(VALIDATION));
}

static void run_tlv_short(cf_ctx *ctx, cf_result *r) { patched(ctx, r, 5, 4, VALIDATION, N(VALIDATION)); }
static void run_tlv_long(cf_ctx *ctx, cf_result *r) { patched(ctx, r, 5, 9, VALIDATION, N(VALIDATION)); }

static void run_tlv_unknown(cf_ctx *ctx, cf_result *r)
{
    const mpx_addr *t = any_target(ctx);
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    m.has_info = m.has_connect = true;
    m.connect.addr = t ? *t : mpx_addr_v4(0xc0000201u, 80);
    uint8_t tx[64];
    long n = mpx_conv_encode(&m, tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0) return;
    tx[4] = 0x63;   /* the Info TLV's type: 99, unassigned */
    expect_error(ctx, r, tx, (size_t)n, UNKNOWN_TLV, N(UNKNOWN_TLV));
}

static void run_tlv_type0(cf_ctx *ctx, cf_result *r) { patched(ctx, r, 4, 0, UNSUPPORTED_MSG, 1); }

static void run_dup_connect(cf_ctx *ctx, cf_result *r)
{
    uint8_t one[64], tx[128];
    long n = base_connect(ctx, one, sizeof one);
    if (n < 0) return;
    size_t tl = (size_t)n - MPX_CONV_HDR_LEN;   /* the Connect TLV's bytes */
    memcpy(tx, one, (size_t)n);
    memcpy(tx + n, one + MPX_CONV_HDR_LEN, tl);
    tx[1] = (uint8_t)((n + tl) / 4);
    expect_error(ctx, r, tx, (size_t)n + tl, MALFORMED, 1);
}

static void policy(cf_ctx *ctx, cf_result *r, const char *addr)
{
    mpx_addr a;
    if (mpx_addr_parse(addr, &a, 1) < 0) return;
    uint8_t tx[64];
    long n = enc_connect(ctx, &a, NULL, 0, tx, sizeof tx);
    if (n > 0) expect_error(ctx, r, tx, (size_t)n, MALFORMED, 1);
}

static void run_loop4(cf_ctx *ctx, cf_result *r) { policy(ctx, r, "127.0.0.1:80"); }
static void run_loop6(cf_ctx *ctx, cf_result *r) { policy(ctx, r, "[::1]:80"); }
static void run_mcast4(cf_ctx *ctx, cf_result *r) { policy(ctx, r, "224.0.0.1:80"); }
static void run_mcast6(cf_ctx *ctx, cf_result *r) { policy(ctx, r, "[ff02::1]:80"); }
static void run_bcast(cf_ctx *ctx, cf_result *r) { policy(ctx, r, "255.255.255.255:80"); }

static void run_unreachable(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[64];
    long n = enc_connect(ctx, &ctx->unreach, NULL, 0, tx, sizeof tx);
    if (n > 0) expect_error(ctx, r, tx, (size_t)n, NULL, 0);
}

static void run_closed_port(cf_ctx *ctx, cf_result *r)
{
    const mpx_addr *t = any_target(ctx);
    if (!t) { cf_set(r, CF_NA, "needs --target"); return; }
    mpx_addr a = *t;
    a.port = ctx->closed_port;
    uint8_t tx[64];
    long n = enc_connect(ctx, &a, NULL, 0, tx, sizeof tx);
    if (n < 0) return;
    expect_error(ctx, r, tx, (size_t)n, NULL, 0);
    mpx_conv_msg m;
    mpx_err e = { 0 };
    size_t fl = mpx_conv_frame_len(r->rx, r->rxn);
    if (r->v == CF_PASS && fl && fl <= r->rxn &&
        mpx_conv_decode(r->rx, fl, MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CONVERTER, &m, &e) == MPX_DEC_OK &&
        m.error.code == MPX_CONV_E_CONNECTION_RESET && m.error.raw_len && m.error.raw[0])
        cf_set(r, CF_FAIL, "Connection Reset with value %u: MUST be zero", m.error.raw[0]);
}

static void run_error_close(cf_ctx *ctx, cf_result *r)
{
    run_dup_connect(ctx, r);
    if (r->v != CF_PASS) return;   /* no Error TLV: that case's verdict stands */
    if (!strcmp(r->end, "reset"))
        cf_set(r, CF_FAIL, "RST right after the Error TLV (s6.2.2: MUST NOT send an RST immediately)");
    else if (!strcmp(r->end, "open"))
        cf_set(r, CF_FAIL, "still open %d ms after the Error TLV (s6.2.2: returns an Error TLV and "
               "then closes the connection)", ctx->timeout_ms);
    else
        cf_set(r, CF_PASS, "Error TLV, then a FIN (no RST)");
}

/* ---------------------------------------------------------------- SOCKS5 cases */

/* Greets with one method; returns the chosen method or -1 (r filled). */
static int s5_greet(cf_ctx *ctx, cf_result *r, cf_conn *c, uint8_t method)
{
    uint8_t tx[8];
    long n = mpx_s5_encode_greeting(&method, 1, tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0 || cf_open(ctx, c, r, tx, (size_t)n) < 0) { r->v = CF_FAIL; return -1; }
    cf_recv_n(c, 2, ctx->timeout_ms);
    uint8_t m;
    mpx_err e = { 0 };
    if (r->rxn < 2 || mpx_s5_decode_choice(r->rx, 2, &m, &e) != MPX_DEC_OK) {
        cf_set(r, CF_FAIL, "no method selection message (connection %s)%s%s", r->end,
               e.rule ? ": " : "", e.rule ? e.msg : "");
        cf_close(c, true);
        return -1;
    }
    return m;
}

static void s5_method(cf_ctx *ctx, cf_result *r, uint8_t method, cf_verdict if_refused)
{
    cf_conn c;
    int m = s5_greet(ctx, r, &c, method);
    if (m < 0) return;
    if (m == method) cf_set(r, CF_PASS, "method %02x (%s) selected", m, mpx_s5_method_name((uint8_t)m));
    else if (m == MPX_S5_M_NONE_ACCEPTABLE)
        cf_set(r, if_refused, "X'FF': method %02x (%s) not supported", method, mpx_s5_method_name(method));
    else cf_set(r, CF_FAIL, "selected %02x, which the client did not offer", m);
    cf_close(&c, false);
}

static void run_s5_noauth(cf_ctx *ctx, cf_result *r) { s5_method(ctx, r, MPX_S5_M_NOAUTH, CF_NA); }
static void run_s5_gssapi(cf_ctx *ctx, cf_result *r) { s5_method(ctx, r, MPX_S5_M_GSSAPI, CF_FAIL); }
static void run_s5_userpass(cf_ctx *ctx, cf_result *r) { s5_method(ctx, r, MPX_S5_M_USERPASS, CF_FAIL); }

/* Greeting (no auth, or username/password when credentials are given) and login; returns
 * the offset in r->rx where the reply to the request will start, or -1. */
static long s5_login(cf_ctx *ctx, cf_result *r, cf_conn *c)
{
    bool creds = ctx->socks_user && ctx->socks_pass;
    int m = s5_greet(ctx, r, c, creds ? MPX_S5_M_USERPASS : MPX_S5_M_NOAUTH);
    if (m < 0) return -1;
    if (m == MPX_S5_M_NOAUTH) return 2;
    if (m != MPX_S5_M_USERPASS || !creds) {
        cf_set(r, CF_NA, "the server selected %02x (%s)", m, mpx_s5_method_name((uint8_t)m));
        cf_close(c, false);
        return -1;
    }
    uint8_t tx[600];
    long n = mpx_s5_encode_auth(ctx->socks_user, ctx->socks_pass, tx, sizeof tx, &(mpx_err){ 0 });
    uint8_t st = 0xff;
    if (n < 0 || cf_send(c, tx, (size_t)n) < 0 || cf_recv_n(c, 4, ctx->timeout_ms) < 4 ||
        mpx_s5_decode_auth_reply(r->rx + 2, 2, &st, &(mpx_err){ 0 }) != MPX_DEC_OK || st != 0) {
        cf_set(r, CF_NA, "login with --socks-user failed (status %u)", st);
        cf_close(c, true);
        return -1;
    }
    return 4;
}

/* Sends request bytes after the login; decodes the reply into *rep. Returns the reply offset
 * or -1. */
static long s5_request(cf_ctx *ctx, cf_result *r, cf_conn *c, const uint8_t *req, size_t n,
                       mpx_s5_msg *rep)
{
    long at = s5_login(ctx, r, c);
    if (at < 0) return -1;
    if (cf_send(c, req, n) < 0) { cf_set(r, CF_FAIL, "request not sent"); return -1; }
    mpx_err e = { 0 };
    int d = MPX_DEC_MORE;
    while (d == MPX_DEC_MORE) {
        size_t have = r->rxn - (size_t)at;
        d = mpx_s5_decode_reply(r->rx + at, have, rep, &e);
        if (d == MPX_DEC_MORE && cf_recv_n(c, r->rxn + 1, ctx->timeout_ms) <= (size_t)at + have) break;
    }
    if (d != MPX_DEC_OK) {
        cf_set(r, CF_FAIL, "no valid reply (connection %s)%s%s", r->end, e.rule ? ": " : "",
               e.rule ? e.msg : "");
        return -1;
    }
    return at;
}

static void s5_connect(cf_ctx *ctx, cf_result *r, int fam)
{
    if (!need_target(ctx, r, fam)) return;
    uint8_t tx[64], req[ECHO_LEN];
    long n = mpx_s5_encode_connect(fam == 4 ? &ctx->t4 : &ctx->t6, tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0) return;
    cf_conn c;
    mpx_s5_msg rep;
    long at = s5_request(ctx, r, &c, tx, (size_t)n, &rep);
    if (at < 0) return;
    if (rep.code != MPX_S5_REP_OK) {
        cf_set(r, CF_FAIL, "REP %u (%s)", rep.code, mpx_s5_rep_name(rep.code));
    } else {
        echo_request(req, sizeof req);
        size_t base = (size_t)at + rep.len;
        cf_send(&c, req, sizeof req);
        cf_recv_n(&c, base + sizeof req, ctx->timeout_ms);
        if (r->rxn < base + sizeof req || memcmp(r->rx + base, req, sizeof req) != 0)
            cf_set(r, CF_FAIL, "REP 0, but the request was not relayed and echoed (connection %s)", r->end);
        else
            cf_set(r, CF_PASS, "REP 0, %zu bytes relayed and echoed", sizeof req);
    }
    cf_close(&c, false);
}

static void run_s5_v4(cf_ctx *ctx, cf_result *r) { s5_connect(ctx, r, 4); }
static void run_s5_v6(cf_ctx *ctx, cf_result *r) { s5_connect(ctx, r, 6); }

/* A request that must fail: REP != 0, then the server closes within 10 s (RFC 1928 s6). */
static void s5_fail(cf_ctx *ctx, cf_result *r, uint8_t *req, size_t n)
{
    cf_conn c;
    mpx_s5_msg rep;
    if (s5_request(ctx, r, &c, req, n, &rep) < 0) {
        if (r->v == CF_FAIL && !strcmp(r->end, "eof"))
            cf_set(r, CF_PASS, "closed without a reply");
        return;
    }
    if (rep.code == MPX_S5_REP_OK) {
        cf_set(r, CF_NA, "REP 0: the request succeeded");
    } else {
        cf_wait_end(&c, ctx->timeout_ms < 10000 ? ctx->timeout_ms : 10000);
        if (!strcmp(r->end, "open"))
            cf_set(r, CF_FAIL, "REP %u (%s), still open after %d ms", rep.code, mpx_s5_rep_name(rep.code),
                   ctx->timeout_ms < 10000 ? ctx->timeout_ms : 10000);
        else
            cf_set(r, CF_PASS, "REP %u (%s), then connection %s", rep.code, mpx_s5_rep_name(rep.code), r->end);
    }
    cf_close(&c, true);
}

static void run_s5_refused(cf_ctx *ctx, cf_result *r)
{
    const mpx_addr *t = any_target(ctx);
    if (!t) { cf_set(r, CF_NA, "needs --target"); return; }
    mpx_addr a = *t;
    a.port = ctx->closed_port;
    uint8_t tx[64];
    long n = mpx_s5_encode_connect(&a, tx, sizeof tx, &(mpx_err){ 0 });
    if (n > 0) s5_fail(ctx, r, tx, (size_t)n);
}

static void run_s5_bad_cmd(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[64];
    mpx_addr a = mpx_addr_v4(0xc0000201u, 80);
    long n = mpx_s5_encode_connect(any_target(ctx) ? any_target(ctx) : &a, tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0) return;
    tx[1] = 0x09;   /* CMD 9: unassigned */
    s5_fail(ctx, r, tx, (size_t)n);
    if (r->v == CF_PASS && r->note[0] == 'R' && strstr(r->note, "REP 7 ") == NULL) {
        char was[sizeof r->note];
        memcpy(was, r->note, sizeof was);
        cf_note(r, "%.200s (REP 7, command not supported, is the RFC's)", was);
    }
}

static void run_s5_bad_atyp(cf_ctx *ctx, cf_result *r)
{
    uint8_t tx[64];
    mpx_addr a = mpx_addr_v4(0xc0000201u, 80);
    long n = mpx_s5_encode_connect(&a, tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0) return;
    tx[3] = 0x05;   /* ATYP 5: unassigned */
    s5_fail(ctx, r, tx, (size_t)n);
}

static void run_s5_auth_fail(cf_ctx *ctx, cf_result *r)
{
    cf_conn c;
    int m = s5_greet(ctx, r, &c, MPX_S5_M_USERPASS);
    if (m < 0) return;
    if (m != MPX_S5_M_USERPASS) {
        cf_set(r, CF_NA, "username/password not selected (%02x)", m);
        cf_close(&c, false);
        return;
    }
    uint8_t tx[64], st = 0;
    long n = mpx_s5_encode_auth("mpx-conform-nobody", "wrong-password", tx, sizeof tx, &(mpx_err){ 0 });
    if (n < 0 || cf_send(&c, tx, (size_t)n) < 0) { cf_close(&c, true); return; }
    cf_recv_n(&c, 4, ctx->timeout_ms);
    if (r->rxn < 4 || mpx_s5_decode_auth_reply(r->rx + 2, 2, &st, &(mpx_err){ 0 }) != MPX_DEC_OK) {
        cf_set(r, CF_FAIL, "no authentication status (connection %s)", r->end);
    } else if (st == 0) {
        cf_set(r, CF_NA, "the made-up credentials were accepted");
    } else {
        cf_wait_end(&c, ctx->timeout_ms);
        if (!strcmp(r->end, "open"))
            cf_set(r, CF_FAIL, "STATUS %u, but the connection stays open", st);
        else
            cf_set(r, CF_PASS, "STATUS %u, then connection %s", st, r->end);
    }
    cf_close(&c, true);
}

/* ---------------------------------------------------------------- the table */

#define C8803 CF_SUITE_CONVERT
#define S5 CF_SUITE_SOCKS5
static const cf_case cases[] = {
    { "info-only", "8803", "6.2.2, 6.2.3", CF_INFO, C8803,
      "Info TLV alone: the converter replies with Supported TCP Extensions", run_info },
    { "info-kinds", "8803", "6.2.4, 7.1, 7.2, 7.3, 7.7", CF_MUST, C8803,
      "Supported list: no kind 0-3, 5, 29; Unassigned field zero", run_info_kinds },
    { "info-mptcp-kind", "8803", "7.5", CF_MUST, C8803,
      "a converter taking MPTCP announces kind 30", run_info_mptcp },
    { "cookie-retry", "8803", "6.2.7, 6.2.8", CF_MUST, C8803,
      "cookie demanded: Missing Cookie (value 0 + cookie), the retry with the cookie is served",
      run_cookie },
    { "cookie-invalid", "8803", "6.2.7", CF_MUST, C8803,
      "an invalid cookie gets Not Authorized (32)", run_cookie_bad },
    { "connect-v4", "8803", "6.1, 6.2.5", CF_MUST, C8803,
      "Base Connect to an IPv4 target: the reply starts with the fixed header, no Error TLV",
      run_connect_v4 },
    { "connect-v4-data", "8803", "6", CF_INFO, C8803,
      "Base Connect (IPv4) + request bytes after the TLVs: relayed to the target", run_connect_v4_data },
    { "connect-v6", "8803", "6.1, 6.2.5", CF_MUST, C8803,
      "Base Connect to an IPv6 target: fixed header, no Error TLV", run_connect_v6 },
    { "connect-v6-data", "8803", "6", CF_INFO, C8803,
      "Base Connect (IPv6) + request bytes after the TLVs: relayed to the target", run_connect_v6_data },
    { "tfo-syn-data", "8803", "6", CF_MAY, C8803,
      "the Connect in the SYN payload (TFO, no cookie) is acknowledged by the SYN-ACK", run_tfo },
    { "ext-connect", "8803", "6.2.6", CF_MUST, C8803,
      "Extended Connect with announced kinds: the reply carries an Extended TCP Header TLV",
      run_ext_connect },
    { "ext-connect-ignored", "8803", "7.1, 7.2, 7.3", CF_MUST, C8803,
      "Extended Connect listing MSS, WS, SACK (kinds 2, 3, 5): ignored, not refused",
      run_ext_ignored },
    { "ext-connect-ao", "8803", "7.7", CF_MUST, C8803,
      "Extended Connect listing TCP-AO (29): Unsupported TCP Option (33) naming 29", run_ext_ao },
    { "no-tlv", "8803", "6", CF_SHOULD, C8803,
      "fixed header without any TLV: silently ignored", run_no_tlv },
    { "hdr-version0", "8803", "6.1, 6.2.8", CF_MUST, C8803,
      "Version 0 (reserved): Unsupported Version (0) listing version 1", run_version0 },
    { "hdr-version2", "8803", "6.2.8", CF_MUST, C8803,
      "Version 2: Unsupported Version (0)", run_version2 },
    { "hdr-magic", "8803", "6", CF_SHOULD, C8803,
      "Magic Number 0x2262: no Convert TLVs, so ignored (or an Error), never served", run_magic },
    { "hdr-len-zero", "8803", "6.1", CF_MUST, C8803,
      "Total Length 0: the connection is reset", run_len_zero },
    { "hdr-len-short", "8803", "9, 6.2.8", CF_MUST, C8803,
      "Total Length shorter than the TLVs: a validation Error (0-31)", run_len_short },
    { "hdr-len-long", "8803", "9", CF_MUST, C8803,
      "Total Length past the bytes sent: never served before they arrive", run_len_long },
    { "tlv-len-zero", "8803", "6.2.1, 9", CF_MUST, C8803,
      "a TLV of Length 0: a validation Error (0-31)", run_tlv_zero },
    { "tlv-len-short", "8803", "6.2.5, 6.2.8", CF_MUST, C8803,
      "Connect TLV of 4 words (< 5): a validation Error (0-31; 1, 2 echo the message)", run_tlv_short },
    { "tlv-len-long", "8803", "9, 6.2.8", CF_MUST, C8803,
      "Connect TLV longer than Total Length: a validation Error (0-31; 1, 2 echo it)", run_tlv_long },
    { "tlv-unknown", "8803", "6.2.8", CF_MUST, C8803,
      "unassigned TLV type 99: Unsupported Message (2; 1 accepted) echoing the message", run_tlv_unknown },
    { "tlv-type0", "8803", "6.2.2", CF_MUST, C8803,
      "TLV type 0: Unsupported Message (2) and close", run_tlv_type0 },
    { "tlv-dup-connect", "8803", "6.2.1", CF_MUST, C8803,
      "two Connect TLVs: Malformed Message (1) and close", run_dup_connect },
    { "split-header", "8803", "6.1, 9", CF_MUST, C8803,
      "Connect + data split after 2 bytes (two segments): framed by Total Length, served",
      run_split_header },
    { "split-tlv", "8803", "6.1, 9", CF_MUST, C8803,
      "Connect + data split inside the Connect TLV: framed by Total Length, served", run_split_tlv },
    { "policy-loopback4", "8803", "6.2.5", CF_MUST, C8803,
      "Connect to 127.0.0.1: Malformed Message (1) and close", run_loop4 },
    { "policy-loopback6", "8803", "6.2.5", CF_MUST, C8803,
      "Connect to ::1: Malformed Message (1) and close", run_loop6 },
    { "policy-multicast4", "8803", "6.2.5", CF_MUST, C8803,
      "Connect to 224.0.0.1: Malformed Message (1) and close", run_mcast4 },
    { "policy-multicast6", "8803", "6.2.5", CF_MUST, C8803,
      "Connect to ff02::1: Malformed Message (1) and close", run_mcast6 },
    { "policy-broadcast", "8803", "6.2.5", CF_MUST, C8803,
      "Connect to 255.255.255.255: Malformed Message (1) and close", run_bcast },
    { "target-unreachable", "8803", "6.2.2", CF_MUST, C8803,
      "Connect to --unreachable: an Error TLV, then close", run_unreachable },
    { "target-closed-port", "8803", "6.2.2, 6.2.8", CF_MUST, C8803,
      "Connect to a closed port: an Error TLV (96 with value 0 when the server RSTs)",
      run_closed_port },
    { "error-then-fin", "8803", "6.2.2", CF_MUST, C8803,
      "after an Error TLV (two Connect TLVs sent) the converter closes, no immediate RST",
      run_error_close },
    { "s5-method-noauth", "1928", "3", CF_INFO, S5,
      "greeting offering NO AUTHENTICATION: selected (or X'FF')", run_s5_noauth },
    { "s5-method-gssapi", "1928", "3", CF_MUST, S5,
      "greeting offering GSSAPI only: selected (compliant implementations MUST support it)",
      run_s5_gssapi },
    { "s5-method-userpass", "1928", "3", CF_SHOULD, S5,
      "greeting offering USERNAME/PASSWORD only: selected", run_s5_userpass },
    { "s5-connect-v4", "1928", "4, 6", CF_INFO, S5,
      "CONNECT to an IPv4 target: REP 0, data relayed", run_s5_v4 },
    { "s5-connect-v6", "1928", "4, 6", CF_INFO, S5,
      "CONNECT to an IPv6 target: REP 0, data relayed", run_s5_v6 },
    { "s5-refused-close", "1928", "6", CF_MUST, S5,
      "CONNECT to a closed port: a failure REP, then the server closes within 10 s", run_s5_refused },
    { "s5-bad-cmd-close", "1928", "6", CF_MUST, S5,
      "CMD 9: a failure REP (7), then the server closes within 10 s", run_s5_bad_cmd },
    { "s5-bad-atyp-close", "1928", "6", CF_MUST, S5,
      "ATYP 5: a failure REP (8), then the server closes within 10 s", run_s5_bad_atyp },
    { "s5-auth-fail-close", "1929", "2", CF_MUST, S5,
      "wrong username/password: STATUS != 0, then the server closes", run_s5_auth_fail },
};

const cf_case *cf_cases(size_t *n)
{
    *n = N(cases);
    return cases;
}
