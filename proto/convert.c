/* RFC 8803 Convert codec. Section numbers: draft-ietf-tcpm-converters-19 = RFC 8803. */
#include "proto/convert.h"
#include <string.h>

/* Every rule the decoder enforces, with the Error code a converter answers (6.2.8). */
static const mpx_conv_rule rules[] = {
    { "CONV-HDR-TRUNC",      "6.1",   MPX_CONV_E_MALFORMED, "fewer than 4 bytes: fixed header incomplete" },
    { "CONV-HDR-MAGIC",      "6.1",   MPX_CONV_E_MALFORMED, "Magic Number is not 0x2263 (not a Convert message)" },
    { "CONV-HDR-VERSION",    "6.1",   MPX_CONV_E_UNSUPPORTED_VERSION, "Version is 0 (reserved) or not 1" },
    { "CONV-HDR-LEN-ZERO",   "6.1",   MPX_CONV_ACT_RESET, "Total Length 0: connection MUST be reset" },
    { "CONV-HDR-LEN",        "6.1, 9", MPX_CONV_E_MALFORMED, "Total Length runs past the received bytes" },
    { "CONV-MSG-EMPTY",      "6",     MPX_CONV_ACT_RESET, "client message without any TLV (converter ignores such SYNs)" },
    { "CONV-TLV-ZERO",       "6.2.1", MPX_CONV_E_MALFORMED, "TLV Length 0" },
    { "CONV-TLV-OVERRUN",    "6.2.1, 9", MPX_CONV_E_MALFORMED, "TLV extends beyond Total Length" },
    { "CONV-TLV-TYPE0",      "6.2.1", MPX_CONV_E_UNSUPPORTED_MESSAGE, "TLV type 0 is reserved" },
    { "CONV-TLV-UNKNOWN",    "6.2.2", MPX_CONV_E_UNSUPPORTED_MESSAGE, "unknown TLV type" },
    { "CONV-TLV-DUP",        "6.2.1", MPX_CONV_E_MALFORMED, "TLV type appears more than once" },
    { "CONV-TLV-DIRECTION",  "6.2.2", MPX_CONV_E_UNSUPPORTED_MESSAGE, "TLV not sent in this direction" },
    { "CONV-INFO-LEN",       "6.2.3", MPX_CONV_E_MALFORMED, "Info TLV Length is not 1" },
    { "CONV-CONNECT-LEN",    "6.2.5", MPX_CONV_E_MALFORMED, "Connect TLV shorter than 5 words" },
    { "CONV-CONNECT-PORT",   "6.2.5", MPX_CONV_E_MALFORMED, "Connect Remote Peer Port is 0" },
    { "CONV-CONNECT-ADDR-V4", "6.2.5", MPX_CONV_E_MALFORMED, "IPv4 address not in IPv4-mapped form (::a.b.c.d)" },
    { "CONV-CONNECT-ADDR",   "6.2.5", MPX_CONV_E_MALFORMED, "target is multicast, broadcast, loopback or unspecified" },
    { "CONV-CONNECT-OPT-EOLNOP", "6.2.5", MPX_CONV_E_MALFORMED, "EOL or NOP inside Extended Connect TCP options" },
    { "CONV-CONNECT-OPT-LEN", "6.2.5", MPX_CONV_E_MALFORMED, "TCP option length < 2 or past the TLV end" },
    { "CONV-CONNECT-OPT-PAD", "6.2.5", MPX_CONV_E_MALFORMED, "more than 3 bytes of zero padding after the options" },
    { "CONV-CONNECT-OPT-MAX", "6.2.5", MPX_CONV_E_MALFORMED, "more TCP options than the decoder holds (32)" },
    { "CONV-SUPPORTED-KIND", "6.2.4, 7", MPX_CONV_E_MALFORMED, "Supported list announces kind 1, 2, 3, 5 or 29" },
    { "CONV-SUPPORTED-PAD",  "6.2.4", MPX_CONV_E_MALFORMED, "non-zero kind after zero padding" },
    { "CONV-COOKIE-EMPTY",   "6.2.7", MPX_CONV_E_MALFORMED, "Cookie TLV without cookie bytes" },
    { "CONV-ERROR-VALUE",    "6.2.8", MPX_CONV_E_MALFORMED, "Error value malformed (byte 3 not 0 / cookie missing)" },
};

const mpx_conv_rule *mpx_conv_rules(size_t *n)
{
    *n = sizeof rules / sizeof rules[0];
    return rules;
}

int mpx_conv_rule_error_code(const char *rule)
{
    if (!rule) return MPX_CONV_ACT_NONE;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].id, rule) == 0) return rules[i].code;
    return MPX_CONV_ACT_NONE;
}

const char *mpx_conv_tlv_name(uint8_t type)
{
    switch (type) {
    case MPX_CONV_TLV_INFO: return "Info";
    case MPX_CONV_TLV_CONNECT: return "Connect";
    case MPX_CONV_TLV_EXT_HDR: return "Extended TCP Header";
    case MPX_CONV_TLV_SUPPORTED: return "Supported TCP Extensions";
    case MPX_CONV_TLV_COOKIE: return "Cookie";
    case MPX_CONV_TLV_ERROR: return "Error";
    }
    return "unknown";
}

const char *mpx_conv_error_name(uint8_t code)
{
    switch (code) {
    case MPX_CONV_E_UNSUPPORTED_VERSION: return "Unsupported Version";
    case MPX_CONV_E_MALFORMED: return "Malformed Message";
    case MPX_CONV_E_UNSUPPORTED_MESSAGE: return "Unsupported Message";
    case MPX_CONV_E_MISSING_COOKIE: return "Missing Cookie";
    case MPX_CONV_E_NOT_AUTHORIZED: return "Not Authorized";
    case MPX_CONV_E_UNSUPPORTED_OPTION: return "Unsupported TCP Option";
    case MPX_CONV_E_RESOURCE_EXCEEDED: return "Resource Exceeded";
    case MPX_CONV_E_NETWORK_FAILURE: return "Network Failure";
    case MPX_CONV_E_CONNECTION_RESET: return "Connection Reset";
    case MPX_CONV_E_DEST_UNREACHABLE: return "Destination Unreachable";
    }
    return "unassigned";
}

void mpx_conv_msg_init(mpx_conv_msg *m)
{
    memset(m, 0, sizeof *m);
    m->version = MPX_CONV_VERSION;
}

size_t mpx_conv_frame_len(const uint8_t *p, size_t len)
{
    return len < MPX_CONV_HDR_LEN ? 0 : (size_t)p[1] * 4;
}

/* Length of a byte list without its trailing zero padding. */
static size_t strip_zeros(const uint8_t *p, size_t n)
{
    while (n && p[n - 1] == 0) n--;
    return n;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) if (p[i]) return false;
    return true;
}

/* Connect TLV (6.2.5): t points at the TLV, n = 4 * words. */
static int dec_connect(const uint8_t *t, size_t n, size_t base, unsigned flags,
                       mpx_conv_connect *c, mpx_err *e)
{
    if (n < 4 * MPX_CONV_CONNECT_BASE_WORDS)
        return mpx_fail(e, "CONV-CONNECT-LEN", base + 1, "Connect TLV is %zu words, needs >= 5", n / 4);
    uint16_t port = (uint16_t)(t[2] << 8 | t[3]);
    const uint8_t *a16 = t + 4;
    c->addr = mpx_addr_from_mapped(a16, port);
    c->extended = n > 4 * MPX_CONV_CONNECT_BASE_WORDS;
    if (port == 0)
        return mpx_fail(e, "CONV-CONNECT-PORT", base + 2, "Connect port is 0");
    if (mpx_addr_is_v4compat(a16))
        return mpx_fail(e, "CONV-CONNECT-ADDR-V4", base + 4,
                        "IPv4 address %u.%u.%u.%u sent as ::a.b.c.d, not ::ffff:a.b.c.d",
                        a16[12], a16[13], a16[14], a16[15]);
    if (!(flags & MPX_CONV_F_ANY_ADDR)) {
        mpx_addr_class cl = mpx_addr_classify(&c->addr);
        if (cl != MPX_ADDR_OK) {
            char s[MPX_ADDR_STRLEN];
            return mpx_fail(e, "CONV-CONNECT-ADDR", base + 4, "target %s is %s",
                            mpx_addr_format(&c->addr, false, s, sizeof s), mpx_addr_class_name(cl));
        }
    }
    /* Extended Connect: kind,len[,value] list, no EOL/NOP, zero padding to 32 bits */
    size_t i = 4 * MPX_CONV_CONNECT_BASE_WORDS;
    while (i < n) {
        uint8_t kind = t[i];
        if (kind == 0) {
            if (!all_zero(t + i, n - i))
                return mpx_fail(e, "CONV-CONNECT-OPT-EOLNOP", base + i, "EOL (kind 0) before more options");
            if (n - i > 3)
                return mpx_fail(e, "CONV-CONNECT-OPT-PAD", base + i, "%zu bytes of zero padding", n - i);
            break;
        }
        if (kind == 1)
            return mpx_fail(e, "CONV-CONNECT-OPT-EOLNOP", base + i, "NOP (kind 1) in Connect options");
        if (n - i < 2 || t[i + 1] < 2 || t[i + 1] > n - i)
            return mpx_fail(e, "CONV-CONNECT-OPT-LEN", base + i, "option kind %u length %u, %zu bytes left",
                            kind, n - i >= 2 ? t[i + 1] : 0, n - i);
        if (c->nopts >= MPX_CONV_MAX_OPTS)
            return mpx_fail(e, "CONV-CONNECT-OPT-MAX", base + i, "more than %d options", MPX_CONV_MAX_OPTS);
        mpx_conv_opt *o = &c->opts[c->nopts++];
        o->kind = kind;
        o->vlen = (uint8_t)(t[i + 1] - 2);
        o->val = o->vlen ? t + i + 2 : NULL;
        i += t[i + 1];
    }
    return 0;
}

static int dec_error(const uint8_t *t, size_t n, size_t base, mpx_conv_error *er, mpx_err *e)
{
    er->code = t[2];
    er->raw = t + 3;
    er->raw_len = n - 3;
    switch (er->code) {
    case MPX_CONV_E_UNSUPPORTED_VERSION:
    case MPX_CONV_E_UNSUPPORTED_OPTION:
        er->data = t + 3;
        er->data_len = strip_zeros(t + 3, n - 3);
        break;
    case MPX_CONV_E_MALFORMED:
    case MPX_CONV_E_UNSUPPORTED_MESSAGE:
    case MPX_CONV_E_MISSING_COOKIE:
        if (t[3] != 0)
            return mpx_fail(e, "CONV-ERROR-VALUE", base + 3, "Error %u: byte 3 is 0x%02x, must be 0", er->code, t[3]);
        er->data = t + 4;
        er->data_len = n - 4;
        if (er->code == MPX_CONV_E_MISSING_COOKIE && er->data_len == 0)
            return mpx_fail(e, "CONV-ERROR-VALUE", base, "Missing Cookie error carries no cookie");
        if (er->data_len == 0) er->data = NULL;
        break;
    case MPX_CONV_E_RESOURCE_EXCEEDED:
    case MPX_CONV_E_NETWORK_FAILURE:
        er->wait_s = t[3];
        break;
    case MPX_CONV_E_DEST_UNREACHABLE:
        er->icmp_code = t[3];
        break;
    default:
        break;
    }
    return 0;
}

static int tlv_bit(uint8_t type)
{
    switch (type) {
    case MPX_CONV_TLV_INFO: return 0;
    case MPX_CONV_TLV_CONNECT: return 1;
    case MPX_CONV_TLV_EXT_HDR: return 2;
    case MPX_CONV_TLV_SUPPORTED: return 3;
    case MPX_CONV_TLV_COOKIE: return 4;
    case MPX_CONV_TLV_ERROR: return 5;
    }
    return -1;
}

int mpx_conv_decode(const uint8_t *p, size_t len, unsigned flags, mpx_conv_msg *m, mpx_err *e)
{
    memset(m, 0, sizeof *m);
    bool complete = flags & MPX_CONV_F_COMPLETE;

    /* Header checks wait for all 4 bytes so the verdict never depends on how the
     * stream was split. */
    if (len < MPX_CONV_HDR_LEN) {
        m->need = MPX_CONV_HDR_LEN;
        mpx_fail(e, "CONV-HDR-TRUNC", len, "%zu of 4 header bytes", len);
        return complete ? MPX_DEC_BAD : MPX_DEC_MORE;
    }
    m->version = p[0];
    m->total_words = p[1];
    uint16_t magic = (uint16_t)(p[2] << 8 | p[3]);
    if (magic != MPX_CONV_MAGIC)
        return mpx_fail(e, "CONV-HDR-MAGIC", 2, "magic 0x%04x, expected 0x2263", magic);
    if (m->version != MPX_CONV_VERSION)
        return mpx_fail(e, "CONV-HDR-VERSION", 0, "version %u%s", m->version,
                        m->version == 0 ? " (reserved)" : ", supported: 1");
    if (m->total_words == 0)
        return mpx_fail(e, "CONV-HDR-LEN-ZERO", 1, "Total Length 0");
    m->conv_len = m->data_off = 4u * m->total_words;
    if (len < m->conv_len) {
        m->need = m->conv_len;
        mpx_fail(e, "CONV-HDR-LEN", 1, "Total Length %u words = %zu bytes, only %zu received",
                 m->total_words, m->conv_len, len);
        return complete ? MPX_DEC_BAD : MPX_DEC_MORE;
    }

    unsigned seen = 0;
    size_t off = MPX_CONV_HDR_LEN;
    while (off < m->conv_len) {
        const uint8_t *t = p + off;
        uint8_t type = t[0], words = t[1];
        size_t n = 4u * words;
        /* off is a multiple of 4 below conv_len, so the 2 header bytes are always inside */
        if (words == 0)
            return mpx_fail(e, "CONV-TLV-ZERO", off + 1, "%s TLV (type %u) has Length 0", mpx_conv_tlv_name(type), type);
        if (n > m->conv_len - off)
            return mpx_fail(e, "CONV-TLV-OVERRUN", off + 1, "%s TLV of %zu bytes at offset %zu, Total Length ends at %zu",
                            mpx_conv_tlv_name(type), n, off, m->conv_len);
        if (type == 0)
            return mpx_fail(e, "CONV-TLV-TYPE0", off, "TLV type 0 is reserved");
        int bit = tlv_bit(type);
        if (bit < 0)
            return mpx_fail(e, "CONV-TLV-UNKNOWN", off, "unknown TLV type %u", type);
        if (seen & (1u << bit))
            return mpx_fail(e, "CONV-TLV-DUP", off, "second %s TLV", mpx_conv_tlv_name(type));
        seen |= 1u << bit;
        if (((flags & MPX_CONV_F_FROM_CLIENT) && (type == MPX_CONV_TLV_EXT_HDR || type == MPX_CONV_TLV_SUPPORTED)) ||
            ((flags & MPX_CONV_F_FROM_CONVERTER) && (type == MPX_CONV_TLV_INFO || type == MPX_CONV_TLV_COOKIE)))
            return mpx_fail(e, "CONV-TLV-DIRECTION", off, "%s TLV not expected from the %s", mpx_conv_tlv_name(type),
                            (flags & MPX_CONV_F_FROM_CLIENT) ? "client" : "converter");
        if (m->ntlv < MPX_CONV_MAX_TLVS) {
            m->tlv[m->ntlv].type = type;
            m->tlv[m->ntlv].words = words;
            m->tlv[m->ntlv].off = (uint16_t)off;
            m->ntlv++;
        }
        switch (type) {
        case MPX_CONV_TLV_INFO:
            if (words != 1) return mpx_fail(e, "CONV-INFO-LEN", off + 1, "Info TLV is %u words, must be 1", words);
            m->has_info = true;
            break;
        case MPX_CONV_TLV_CONNECT:
            m->has_connect = true;
            if (dec_connect(t, n, off, flags, &m->connect, e) < 0) return MPX_DEC_BAD;
            break;
        case MPX_CONV_TLV_EXT_HDR:
            m->has_ext_hdr = true;
            m->ext_hdr = t + 4;
            m->ext_hdr_len = n - 4;
            break;
        case MPX_CONV_TLV_SUPPORTED: {
            m->has_supported = true;
            m->supported = t + 4;
            m->supported_len = strip_zeros(t + 4, n - 4);
            for (size_t i = 0; i < m->supported_len; i++) {
                uint8_t k = m->supported[i];
                if (k == 0)
                    return mpx_fail(e, "CONV-SUPPORTED-PAD", off + 4 + i, "kind 0 inside the list");
                if (k == 1 || k == 2 || k == 3 || k == 5 || k == 29)
                    return mpx_fail(e, "CONV-SUPPORTED-KIND", off + 4 + i, "kind %u must not be announced", k);
            }
            break;
        }
        case MPX_CONV_TLV_COOKIE:
            if (words < 2) return mpx_fail(e, "CONV-COOKIE-EMPTY", off + 1, "Cookie TLV of 1 word has no cookie");
            m->has_cookie = true;
            m->cookie = t + 4;
            m->cookie_len = n - 4;
            break;
        case MPX_CONV_TLV_ERROR:
            m->has_error = true;
            if (dec_error(t, n, off, &m->error, e) < 0) return MPX_DEC_BAD;
            break;
        }
        off += n;
    }
    if ((flags & MPX_CONV_F_FROM_CLIENT) && seen == 0)
        return mpx_fail(e, "CONV-MSG-EMPTY", 0, "client message carries no TLV");
    return MPX_DEC_OK;
}

size_t mpx_conv_unsupported_opts(const mpx_conv_connect *c, const uint8_t *supported,
                                 size_t nsupported, uint8_t *bad, size_t cap)
{
    size_t nb = 0;
    for (size_t i = 0; i < c->nopts; i++) {
        uint8_t k = c->opts[i].kind;
        bool ok = supported && memchr(supported, k, nsupported) != NULL;
        bool listed = bad && memchr(bad, k, nb < cap ? nb : cap) != NULL;
        if (!ok && !listed) {
            if (bad && nb < cap) bad[nb] = k;
            nb++;
        }
    }
    return nb;
}

/* ---- encoding ---- */

/* Starts a TLV: type + placeholder length; returns its offset. */
static size_t tlv_begin(mpx_wr *w, uint8_t type)
{
    size_t at = w->len;
    mpx_wr_u8(w, type);
    mpx_wr_u8(w, 0);
    return at;
}

/* Pads to 32 bits and patches the Length byte. */
static int tlv_end(mpx_wr *w, size_t at, mpx_err *e)
{
    mpx_wr_pad(w, 4);
    if (w->overflow) return mpx_fail(e, "CONV-ENC-SPACE", at, "output buffer too small");
    size_t words = (w->len - at) / 4;
    if (words > 255) return mpx_fail(e, "CONV-ENC-TOOBIG", at, "TLV of %zu words", words);
    w->p[at + 1] = (uint8_t)words;
    return 0;
}

static int enc_error(mpx_wr *w, const mpx_conv_error *er, mpx_err *e)
{
    size_t at = tlv_begin(w, MPX_CONV_TLV_ERROR);
    mpx_wr_u8(w, er->code);
    switch (er->code) {
    case MPX_CONV_E_UNSUPPORTED_VERSION:
    case MPX_CONV_E_UNSUPPORTED_OPTION:
        if (er->data_len) mpx_wr_bytes(w, er->data, er->data_len);
        else mpx_wr_u8(w, 0);
        break;
    case MPX_CONV_E_MALFORMED:
    case MPX_CONV_E_UNSUPPORTED_MESSAGE:
    case MPX_CONV_E_MISSING_COOKIE:
        if (er->code == MPX_CONV_E_MISSING_COOKIE && !er->data_len)
            return mpx_fail(e, "CONV-ENC-VALUE", at, "Missing Cookie error needs a cookie");
        mpx_wr_u8(w, 0);
        if (er->data_len) mpx_wr_bytes(w, er->data, er->data_len);
        break;
    case MPX_CONV_E_RESOURCE_EXCEEDED:
    case MPX_CONV_E_NETWORK_FAILURE:
        mpx_wr_u8(w, er->wait_s);
        break;
    case MPX_CONV_E_DEST_UNREACHABLE:
        mpx_wr_u8(w, er->icmp_code);
        break;
    default:
        if (er->raw_len) mpx_wr_bytes(w, er->raw, er->raw_len);
        else mpx_wr_u8(w, 0);
        break;
    }
    return tlv_end(w, at, e);
}

long mpx_conv_encode(const mpx_conv_msg *m, uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_wr_u8(&w, m->version ? m->version : MPX_CONV_VERSION);
    mpx_wr_u8(&w, 0);  /* Total Length, patched below */
    mpx_wr_u16(&w, MPX_CONV_MAGIC);

    if (m->has_info) {
        mpx_wr_u8(&w, MPX_CONV_TLV_INFO);
        mpx_wr_u8(&w, 1);
        mpx_wr_u16(&w, 0);
    }
    if (m->has_connect) {
        const mpx_conv_connect *c = &m->connect;
        uint8_t a16[16];
        if (c->addr.family != MPX_AF_INET && c->addr.family != MPX_AF_INET6)
            return mpx_fail(e, "CONV-ENC-ADDR", w.len, "Connect needs an IPv4 or IPv6 address");
        if (c->nopts > MPX_CONV_MAX_OPTS)
            return mpx_fail(e, "CONV-ENC-OPT", w.len, "%u options, max %d", c->nopts, MPX_CONV_MAX_OPTS);
        size_t at = tlv_begin(&w, MPX_CONV_TLV_CONNECT);
        mpx_wr_u16(&w, c->addr.port);
        mpx_addr_to_mapped(&c->addr, a16);
        mpx_wr_bytes(&w, a16, 16);
        for (size_t i = 0; i < c->nopts; i++) {
            const mpx_conv_opt *o = &c->opts[i];
            if (o->kind <= 1)
                return mpx_fail(e, "CONV-ENC-OPT", w.len, "EOL/NOP must not be listed in Connect");
            if (o->vlen > 253 || (o->vlen && !o->val))
                return mpx_fail(e, "CONV-ENC-OPT", w.len, "option kind %u: bad value", o->kind);
            mpx_wr_u8(&w, o->kind);
            mpx_wr_u8(&w, (uint8_t)(o->vlen + 2));
            if (o->vlen) mpx_wr_bytes(&w, o->val, o->vlen);
        }
        if (tlv_end(&w, at, e) < 0) return -1;
    }
    if (m->has_cookie) {
        if (!m->cookie_len || !m->cookie)
            return mpx_fail(e, "CONV-ENC-VALUE", w.len, "empty cookie");
        size_t at = tlv_begin(&w, MPX_CONV_TLV_COOKIE);
        mpx_wr_u16(&w, 0);
        mpx_wr_bytes(&w, m->cookie, m->cookie_len);
        if (tlv_end(&w, at, e) < 0) return -1;
    }
    if (m->has_ext_hdr) {
        size_t at = tlv_begin(&w, MPX_CONV_TLV_EXT_HDR);
        mpx_wr_u16(&w, 0);
        if (m->ext_hdr_len) mpx_wr_bytes(&w, m->ext_hdr, m->ext_hdr_len);
        if (tlv_end(&w, at, e) < 0) return -1;
    }
    if (m->has_supported) {
        size_t at = tlv_begin(&w, MPX_CONV_TLV_SUPPORTED);
        mpx_wr_u16(&w, 0);
        if (m->supported_len) mpx_wr_bytes(&w, m->supported, m->supported_len);
        if (tlv_end(&w, at, e) < 0) return -1;
    }
    if (m->has_error && enc_error(&w, &m->error, e) < 0) return -1;

    if (w.overflow) return mpx_fail(e, "CONV-ENC-SPACE", cap, "output buffer of %zu bytes too small", cap);
    if (w.len > MPX_CONV_MAX_LEN)
        return mpx_fail(e, "CONV-ENC-TOOBIG", 1, "message of %zu bytes exceeds 1020", w.len);
    out[1] = (uint8_t)(w.len / 4);
    return (long)w.len;
}

long mpx_conv_encode_connect(const mpx_addr *target, const uint8_t *cookie, size_t cookie_len,
                             const mpx_conv_opt *opts, size_t nopts,
                             uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    m.has_connect = true;
    m.connect.addr = *target;
    if (nopts > MPX_CONV_MAX_OPTS)
        return mpx_fail(e, "CONV-ENC-OPT", 0, "%zu options, max %d", nopts, MPX_CONV_MAX_OPTS);
    for (size_t i = 0; i < nopts; i++) m.connect.opts[i] = opts[i];
    m.connect.nopts = (uint8_t)nopts;
    m.connect.extended = nopts > 0;
    if (cookie && cookie_len) {
        m.has_cookie = true;
        m.cookie = cookie;
        m.cookie_len = cookie_len;
    }
    return mpx_conv_encode(&m, out, cap, e);
}

long mpx_conv_encode_error(uint8_t code, const uint8_t *value, size_t vlen,
                           uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    m.has_error = true;
    m.error.code = code;
    switch (code) {
    case MPX_CONV_E_RESOURCE_EXCEEDED:
    case MPX_CONV_E_NETWORK_FAILURE:
        m.error.wait_s = vlen ? value[0] : 0;
        break;
    case MPX_CONV_E_DEST_UNREACHABLE:
        m.error.icmp_code = vlen ? value[0] : 0;
        break;
    case MPX_CONV_E_MALFORMED:
    case MPX_CONV_E_UNSUPPORTED_MESSAGE:
        /* the echo is informative: cut it so header + TLV header + echo <= 1020 */
        if (vlen > MPX_CONV_MAX_LEN - 8) vlen = MPX_CONV_MAX_LEN - 8;
        m.error.data = value;
        m.error.data_len = vlen;
        break;
    default:
        m.error.data = value;
        m.error.data_len = vlen;
        m.error.raw = value;
        m.error.raw_len = vlen;
        break;
    }
    return mpx_conv_encode(&m, out, cap, e);
}
