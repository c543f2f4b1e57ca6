/* CPE mode: the signal families on the WAN side (cpe.h). What goes in the SYN payload, what
 * follows the handshake, the SYN option mpx-optd adds, and how the HAG's answer is read and
 * judged. Every byte is built and parsed by proto/; the CPE reads exactly one answer, so the
 * bytes after it stay in the socket for the relay. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "agents/proxy/cpe.h"
#include "proto/convert.h"
#include "proto/mpconvert.h"
#include "proto/mpopt.h"
#include "proto/socks5.h"

void cpe_queue_sig(struct conn *c, const uint8_t *p, size_t n)
{
    struct cpe_conn *x = c->cpe;
    if (x->sig_off == x->sig_len) x->sig_off = x->sig_len = 0;
    if (n > sizeof x->sig_out - x->sig_len) n = sizeof x->sig_out - x->sig_len;
    memcpy(x->sig_out + x->sig_len, p, n);
    x->sig_len += n;
}

static int refuse(struct conn *c, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct conn *c, int reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->cpe->reason = reason;
    vsnprintf(c->cpe->why, sizeof c->cpe->why, fmt, ap);
    va_end(ap);
    return -1;
}

static long enc_failed(struct conn *c, const mpx_err *e)
{
    snprintf(c->cpe->why, sizeof c->cpe->why, "encoding the signal failed: %s: %.100s",
             e->rule ? e->rule : "?", e->msg);
    return -1;
}

/* ---- convert: RFC 8803 header + Connect TLV in the SYN; the converter's TLVs answer ---- */
/* RFC 8803 Cookie TLV: a HAG that requires one (mpx-proxy --cookie-required) answers the
 * first Connect with Error 3 carrying it (that connection goes direct); every later Connect
 * to that HAG carries it. One per address family (--hag v4 / v6). */
static struct {
    mpx_addr hag;
    uint8_t ck[256];
    size_t len;
} cookies[2];

static int cookie_slot(const struct conn *c) { return c->cpe->wan_dst.family == MPX_AF_INET6; }

static bool same_host(const mpx_addr *a, const mpx_addr *b)
{
    return a->family == b->family && !memcmp(a->a, b->a, sizeof a->a);
}

static long conv_first(struct conn *c, uint8_t *out, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    int k = cookie_slot(c);
    bool ck = cookies[k].len && same_host(&cookies[k].hag, &c->cpe->wan_dst);
    long n = mpx_conv_encode_connect(&c->target, ck ? cookies[k].ck : NULL, ck ? cookies[k].len : 0,
                                     NULL, 0, out, cap, &e);
    return n < 0 ? enc_failed(c, &e) : n;
}

static size_t conv_need(const struct conn *c)
{
    const struct cpe_conn *x = c->cpe;
    if (x->rin_len < MPX_CONV_HDR_LEN) return MPX_CONV_HDR_LEN;
    size_t n = mpx_conv_frame_len(x->rin, x->rin_len);
    return n ? n : MPX_CONV_HDR_LEN; /* Total Length 0: the decoder says why */
}

static int conv_reply(struct conn *c, size_t len)
{
    mpx_err e;
    mpx_err_clear(&e);
    mpx_conv_msg m;
    int r =
        mpx_conv_decode(c->cpe->rin, len, MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CONVERTER, &m, &e);
    if (r != MPX_DEC_OK)
        return refuse(c, CR_MALFORMED, "bad Convert answer: %s", e.rule ? e.rule : "?");
    if (m.has_error) {
        if (m.error.code == MPX_CONV_E_MISSING_COOKIE && m.error.data_len &&
            m.error.data_len <= sizeof cookies[0].ck) {
            int k = cookie_slot(c);
            cookies[k].hag = c->cpe->wan_dst;
            memcpy(cookies[k].ck, m.error.data, m.error.data_len);
            cookies[k].len = m.error.data_len;
        }
        return refuse(c, CR_CONVERT_ERROR, "Convert Error %u (%s)", m.error.code,
                      mpx_conv_error_name(m.error.code));
    }
    return 1;
}

/* ---- mpconvert: MP_CONVERT (-09) + EOL in the SYN payload, no answer ---- */
static long mpconv_first(struct conn *c, uint8_t *out, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    mpx_mpconv m = { .d = false, .addr = c->target, .has_port = true };
    long n = mpx_mpconv_encode_09(&m, 1, out, cap, &e);
    return n < 0 ? enc_failed(c, &e) : n;
}

/* ---- mpconvert-ie: the Information Element (-10), echoed as the answer ---- */
static long ie_first(struct conn *c, uint8_t *out, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    mpx_mpconv m = { .d = false, .addr = c->target, .has_port = true };
    long n = mpx_mpconv_encode_ie(&m, 1, out, cap, &e);
    if (n < 0) return enc_failed(c, &e);
    if ((size_t)n > sizeof c->cpe->sent) {
        snprintf(c->cpe->why, sizeof c->cpe->why, "IE too long");
        return -1;
    }
    memcpy(c->cpe->sent, out, (size_t)n);
    c->cpe->sent_len = (size_t)n;
    return n;
}

static size_t ie_need(const struct conn *c) { return c->cpe->sent_len; }

static int ie_reply(struct conn *c, size_t len)
{
    if (len != c->cpe->sent_len || memcmp(c->cpe->rin, c->cpe->sent, len) != 0)
        return refuse(c, CR_MALFORMED, "the answer does not echo the MP_CONVERT IE");
    return 1;
}

/* ---- socks5: greeting, [RFC 1929 auth], CONNECT, reply; after the handshake ---- */
enum { S5_CHOICE, S5_AUTH, S5_REPLY };

static uint8_t s5_method(const struct conn *c)
{
    return c->cpe->sig->auth ? MPX_S5_M_USERPASS : MPX_S5_M_NOAUTH;
}

static void s5_connected(struct conn *c)
{
    uint8_t g[4], m = s5_method(c);
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_s5_encode_greeting(&m, 1, g, sizeof g, &e);
    if (n > 0) cpe_queue_sig(c, g, (size_t)n);
    c->cpe->step = S5_CHOICE;
}

static size_t s5_need(const struct conn *c)
{
    const struct cpe_conn *x = c->cpe;
    if (x->step != S5_REPLY) return 2;
    if (x->rin_len < 5) return 5;
    switch (x->rin[3]) {
    case MPX_S5_ATYP_V4: return 10;
    case MPX_S5_ATYP_V6: return 22;
    case MPX_S5_ATYP_DOMAIN: return 7 + (size_t)x->rin[4];
    default: return 5; /* the decoder rejects it */
    }
}

static int s5_connect(struct conn *c)
{
    uint8_t out[64];
    mpx_err e;
    mpx_err_clear(&e);
    long n = mpx_s5_encode_connect(&c->target, out, sizeof out, &e);
    if (n < 0) return refuse(c, CR_MALFORMED, "SOCKS encode: %s", e.rule ? e.rule : "?");
    cpe_queue_sig(c, out, (size_t)n);
    c->cpe->step = S5_REPLY;
    return 0;
}

static int s5_reply(struct conn *c, size_t len)
{
    struct cpe_conn *x = c->cpe;
    mpx_err e;
    mpx_err_clear(&e);
    switch (x->step) {
    case S5_CHOICE: {
        uint8_t m;
        if (mpx_s5_decode_choice(x->rin, len, &m, &e) != MPX_DEC_OK)
            return refuse(c, CR_MALFORMED, "bad SOCKS method reply: %s", e.rule ? e.rule : "?");
        if (m != s5_method(c))
            return refuse(c, CR_SOCKS_REP, "SOCKS method 0x%02x (%s) refused", m,
                          mpx_s5_method_name(m));
        if (!x->sig->auth) return s5_connect(c);
        uint8_t out[520];
        long n = mpx_s5_encode_auth(cfg.socks_user, cfg.socks_pass, out, sizeof out, &e);
        if (n < 0) return refuse(c, CR_MALFORMED, "SOCKS auth encode: %s", e.rule ? e.rule : "?");
        cpe_queue_sig(c, out, (size_t)n);
        x->step = S5_AUTH;
        return 0;
    }
    case S5_AUTH: {
        uint8_t status;
        if (mpx_s5_decode_auth_reply(x->rin, len, &status, &e) != MPX_DEC_OK)
            return refuse(c, CR_MALFORMED, "bad SOCKS auth reply: %s", e.rule ? e.rule : "?");
        if (status != 0)
            return refuse(c, CR_SOCKS_REP, "SOCKS username/password rejected (status %u)", status);
        return s5_connect(c);
    }
    default: {
        mpx_s5_msg m;
        if (mpx_s5_decode_reply(x->rin, len, &m, &e) != MPX_DEC_OK)
            return refuse(c, CR_MALFORMED, "bad SOCKS reply: %s", e.rule ? e.rule : "?");
        if (m.code != MPX_S5_REP_OK)
            return refuse(c, CR_SOCKS_REP, "SOCKS REP %u (%s)", m.code, mpx_s5_rep_name(m.code));
        return 1;
    }
    }
}

/* ---- mpconvert-opt: MP_CONVERT as a kind-30 option of the SYN (mpx-optd adds it) ---- */
static long mpcopt_option(const struct conn *c, uint8_t *out, size_t cap)
{
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_mpconvert mc;
    mpx_mpconvert_init(&mc);
    mc.family = c->target.family == MPX_AF_INET6 ? 6 : 4;
    memcpy(mc.addr, c->target.a, mc.family == 6 ? 16 : 4);
    mc.has_port = true;
    mc.port = c->target.port;
    mpx_mpconvert_encode(&mc, &w);
    return w.overflow ? 0 : (long)w.len;
}

/* ---- plain: no signal bytes; straight to the target, the SYN marked as the row says ---- */
static long plain_option(const struct conn *c, uint8_t *out, size_t cap)
{
    if (c->cpe->sig->helper != MPX_SIG_HELPER_TCPOPT) return 0;
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_prefer_proxy pp = { .subtype = MPX_MPOPT_SUBTYPE_DEFAULT, .rsv = 0 };
    mpx_prefer_proxy_encode(&pp, &w);
    return w.overflow ? 0 : (long)w.len;
}

static const struct cpe_family fams[] = {
    { .wire = MPX_WIRE_CONVERT,
      .first_flight = conv_first,
      .reply_need = conv_need,
      .reply = conv_reply },
    { .wire = MPX_WIRE_MPCONVERT, .first_flight = mpconv_first },
    { .wire = MPX_WIRE_MPCONVERT_IE,
      .first_flight = ie_first,
      .reply_need = ie_need,
      .reply = ie_reply },
    { .wire = MPX_WIRE_SOCKS5,
      .connected = s5_connected,
      .reply_need = s5_need,
      .reply = s5_reply },
    { .wire = MPX_WIRE_MPCONVERT_OPT, .syn_option = mpcopt_option },
    { .wire = MPX_WIRE_PLAIN, .syn_option = plain_option },
};

const struct cpe_family *cpe_family_for(mpx_wire_class w)
{
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        if (fams[i].wire == w) return &fams[i];
    return NULL;
}

const char *cpe_reason_name(int r)
{
    static const char *const n[CR__N] = { "convert_error", "socks_rep", "unreachable",
                                          "timeout",       "reset",     "malformed" };
    return r >= 0 && r < CR__N ? n[r] : "?";
}
