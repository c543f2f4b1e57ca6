/* SOCKSv5 (RFC 1928) and username/password authentication (RFC 1929). protocols.md 6. */
#include "proto/socks5.h"
#include <string.h>

const char *mpx_s5_rep_name(uint8_t rep)
{
    static const char *const n[] = {
        "succeeded", "general SOCKS server failure", "connection not allowed by ruleset",
        "network unreachable", "host unreachable", "connection refused", "TTL expired",
        "command not supported", "address type not supported",
    };
    return rep < sizeof n / sizeof n[0] ? n[rep] : "unassigned";
}

const char *mpx_s5_method_name(uint8_t m)
{
    if (m == MPX_S5_M_NOAUTH) return "no authentication required";
    if (m == MPX_S5_M_GSSAPI) return "GSSAPI";
    if (m == MPX_S5_M_USERPASS) return "username/password";
    if (m == MPX_S5_M_NONE_ACCEPTABLE) return "no acceptable methods";
    if (m <= 0x7f) return "IANA assigned";
    return "private method";
}

const char *mpx_s5_cmd_name(uint8_t c)
{
    switch (c) {
    case MPX_S5_CMD_CONNECT: return "CONNECT";
    case MPX_S5_CMD_BIND: return "BIND";
    case MPX_S5_CMD_UDP: return "UDP ASSOCIATE";
    }
    return "unknown";
}

const char *mpx_s5_atyp_name(uint8_t a)
{
    switch (a) {
    case MPX_S5_ATYP_V4: return "IPv4";
    case MPX_S5_ATYP_DOMAIN: return "domain";
    case MPX_S5_ATYP_V6: return "IPv6";
    }
    return "unknown";
}

int mpx_s5_rule_reply(const char *rule)
{
    if (!rule) return -1;
    if (!strcmp(rule, "S5-CMD")) return MPX_S5_REP_CMD_UNSUPPORTED;
    if (!strcmp(rule, "S5-ATYP")) return MPX_S5_REP_ATYP_UNSUPPORTED;
    if (!strcmp(rule, "S5-RSV") || !strcmp(rule, "S5-DOMAIN")) return MPX_S5_REP_FAILURE;
    return -1;  /* version / framing errors: just close */
}

/* "Need more" unless a hard error was found first. */
static int need(size_t want, size_t have, const char *what, mpx_err *e)
{
    mpx_fail(e, "S5-TRUNC", have, "%s: %zu bytes needed, %zu received", what, want, have);
    return MPX_DEC_MORE;
}

int mpx_s5_decode_greeting(const uint8_t *p, size_t len, mpx_s5_greeting *g, mpx_err *e)
{
    memset(g, 0, sizeof *g);
    if (len < 1) return need(2, len, "greeting", e);
    if (p[0] != MPX_S5_VERSION) return mpx_fail(e, "S5-VER", 0, "version %u, expected 5", p[0]);
    if (len < 2) return need(2, len, "greeting", e);
    if (p[1] == 0) return mpx_fail(e, "S5-NMETHODS", 1, "NMETHODS is 0");
    if (len < 2u + p[1]) return need(2u + p[1], len, "greeting", e);
    g->nmethods = p[1];
    memcpy(g->methods, p + 2, p[1]);
    g->len = 2u + p[1];
    return MPX_DEC_OK;
}

int mpx_s5_decode_choice(const uint8_t *p, size_t len, uint8_t *method, mpx_err *e)
{
    if (len < 1) return need(2, len, "method selection", e);
    if (p[0] != MPX_S5_VERSION) return mpx_fail(e, "S5-VER", 0, "version %u, expected 5", p[0]);
    if (len < 2) return need(2, len, "method selection", e);
    *method = p[1];
    return MPX_DEC_OK;
}

/* Request and reply share VER CODE RSV ATYP ADDR PORT. */
static int dec_msg(const uint8_t *p, size_t len, bool request, mpx_s5_msg *m, mpx_err *e)
{
    const char *what = request ? "request" : "reply";
    memset(m, 0, sizeof *m);
    if (len < 1) return need(4, len, what, e);
    if (p[0] != MPX_S5_VERSION) return mpx_fail(e, "S5-VER", 0, "version %u, expected 5", p[0]);
    if (len < 2) return need(4, len, what, e);
    m->code = p[1];
    if (request && (m->code < MPX_S5_CMD_CONNECT || m->code > MPX_S5_CMD_UDP))
        return mpx_fail(e, "S5-CMD", 1, "command %u unknown", m->code);
    if (len < 3) return need(4, len, what, e);
    if (p[2] != 0) return mpx_fail(e, "S5-RSV", 2, "RSV is 0x%02x, must be 0", p[2]);
    if (len < 4) return need(4, len, what, e);
    m->atyp = p[3];
    size_t alen;
    switch (m->atyp) {
    case MPX_S5_ATYP_V4: alen = 4; break;
    case MPX_S5_ATYP_V6: alen = 16; break;
    case MPX_S5_ATYP_DOMAIN:
        if (len < 5) return need(5, len, what, e);
        if (p[4] == 0) return mpx_fail(e, "S5-DOMAIN", 4, "domain name of length 0");
        alen = 1u + p[4];
        break;
    default:
        return mpx_fail(e, "S5-ATYP", 3, "address type %u unknown", m->atyp);
    }
    size_t total = 4 + alen + 2;
    if (len < total) return need(total, len, what, e);
    m->port = (uint16_t)(p[4 + alen] << 8 | p[5 + alen]);
    if (m->atyp == MPX_S5_ATYP_V4) m->addr = mpx_addr_v4b(p + 4, m->port);
    else if (m->atyp == MPX_S5_ATYP_V6) m->addr = mpx_addr_v6(p + 4, m->port);
    else {
        m->domain_len = p[4];
        if (memchr(p + 5, 0, m->domain_len))
            return mpx_fail(e, "S5-DOMAIN", 5, "NUL byte inside the domain name");
        memcpy(m->domain, p + 5, m->domain_len);
        m->domain[m->domain_len] = 0;
        m->addr.port = m->port;
    }
    m->len = total;
    return MPX_DEC_OK;
}

int mpx_s5_decode_request(const uint8_t *p, size_t len, mpx_s5_msg *m, mpx_err *e)
{
    return dec_msg(p, len, true, m, e);
}

int mpx_s5_decode_reply(const uint8_t *p, size_t len, mpx_s5_msg *m, mpx_err *e)
{
    return dec_msg(p, len, false, m, e);
}

int mpx_s5_decode_auth(const uint8_t *p, size_t len, mpx_s5_auth *a, mpx_err *e)
{
    memset(a, 0, sizeof *a);
    if (len < 1) return need(2, len, "auth request", e);
    if (p[0] != MPX_S5_AUTH_VERSION) return mpx_fail(e, "S5-AUTH-VER", 0, "sub-negotiation version %u, expected 1", p[0]);
    if (len < 2) return need(2, len, "auth request", e);
    if (p[1] == 0) return mpx_fail(e, "S5-AUTH-ULEN", 1, "username length 0");
    size_t pl_at = 2u + p[1];
    if (len < pl_at + 1) return need(pl_at + 1, len, "auth request", e);
    if (p[pl_at] == 0) return mpx_fail(e, "S5-AUTH-PLEN", pl_at, "password length 0");
    size_t total = pl_at + 1 + p[pl_at];
    if (len < total) return need(total, len, "auth request", e);
    /* the API hands out C strings: a NUL inside would silently cut the name short */
    if (memchr(p + 2, 0, p[1]))
        return mpx_fail(e, "S5-AUTH-NUL", 2, "NUL byte inside the username");
    if (memchr(p + pl_at + 1, 0, p[pl_at]))
        return mpx_fail(e, "S5-AUTH-NUL", pl_at + 1, "NUL byte inside the password");
    a->ulen = p[1];
    a->plen = p[pl_at];
    memcpy(a->user, p + 2, a->ulen);
    memcpy(a->pass, p + pl_at + 1, a->plen);
    a->len = total;
    return MPX_DEC_OK;
}

int mpx_s5_decode_auth_reply(const uint8_t *p, size_t len, uint8_t *status, mpx_err *e)
{
    if (len < 1) return need(2, len, "auth reply", e);
    if (p[0] != MPX_S5_AUTH_VERSION) return mpx_fail(e, "S5-AUTH-VER", 0, "sub-negotiation version %u, expected 1", p[0]);
    if (len < 2) return need(2, len, "auth reply", e);
    *status = p[1];
    return MPX_DEC_OK;
}

static long done(mpx_wr *w, size_t cap, mpx_err *e)
{
    if (w->overflow) return mpx_fail(e, "S5-ENC-SPACE", cap, "output buffer of %zu bytes too small", cap);
    return (long)w->len;
}

long mpx_s5_encode_greeting(const uint8_t *methods, size_t n, uint8_t *out, size_t cap, mpx_err *e)
{
    if (n < 1 || n > 255) return mpx_fail(e, "S5-ENC-METHODS", 0, "%zu methods, need 1..255", n);
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_wr_u8(&w, MPX_S5_VERSION);
    mpx_wr_u8(&w, (uint8_t)n);
    mpx_wr_bytes(&w, methods, n);
    return done(&w, cap, e);
}

long mpx_s5_encode_choice(uint8_t method, uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_wr_u8(&w, MPX_S5_VERSION);
    mpx_wr_u8(&w, method);
    return done(&w, cap, e);
}

static long enc_msg(const mpx_s5_msg *m, uint8_t *out, size_t cap, mpx_err *e)
{
    uint8_t atyp = m->atyp;
    if (!atyp) {
        if (m->domain[0]) atyp = MPX_S5_ATYP_DOMAIN;
        else if (m->addr.family == MPX_AF_INET) atyp = MPX_S5_ATYP_V4;
        else if (m->addr.family == MPX_AF_INET6) atyp = MPX_S5_ATYP_V6;
        else return mpx_fail(e, "S5-ENC-ADDR", 3, "no address and no domain");
    }
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_wr_u8(&w, MPX_S5_VERSION);
    mpx_wr_u8(&w, m->code);
    mpx_wr_u8(&w, 0);
    mpx_wr_u8(&w, atyp);
    switch (atyp) {
    case MPX_S5_ATYP_V4:
        if (m->addr.family != MPX_AF_INET) return mpx_fail(e, "S5-ENC-ADDR", 3, "ATYP 1 needs an IPv4 address");
        mpx_wr_bytes(&w, m->addr.a, 4);
        break;
    case MPX_S5_ATYP_V6:
        if (m->addr.family != MPX_AF_INET6) return mpx_fail(e, "S5-ENC-ADDR", 3, "ATYP 4 needs an IPv6 address");
        mpx_wr_bytes(&w, m->addr.a, 16);
        break;
    case MPX_S5_ATYP_DOMAIN: {
        size_t dl = m->domain_len ? m->domain_len : strnlen(m->domain, sizeof m->domain);
        if (dl < 1 || dl > 255) return mpx_fail(e, "S5-ENC-DOMAIN", 4, "domain length %zu, need 1..255", dl);
        mpx_wr_u8(&w, (uint8_t)dl);
        mpx_wr_bytes(&w, m->domain, dl);
        break;
    }
    default:
        return mpx_fail(e, "S5-ENC-ADDR", 3, "ATYP %u unknown", atyp);
    }
    mpx_wr_u16(&w, m->port ? m->port : m->addr.port);
    return done(&w, cap, e);
}

long mpx_s5_encode_request(const mpx_s5_msg *m, uint8_t *out, size_t cap, mpx_err *e)
{
    return enc_msg(m, out, cap, e);
}

long mpx_s5_encode_reply(const mpx_s5_msg *m, uint8_t *out, size_t cap, mpx_err *e)
{
    return enc_msg(m, out, cap, e);
}

long mpx_s5_encode_auth(const char *user, const char *pass, uint8_t *out, size_t cap, mpx_err *e)
{
    size_t ul = user ? strlen(user) : 0, pl = pass ? strlen(pass) : 0;
    if (ul < 1 || ul > 255) return mpx_fail(e, "S5-ENC-AUTH", 1, "username length %zu, need 1..255", ul);
    if (pl < 1 || pl > 255) return mpx_fail(e, "S5-ENC-AUTH", 2 + ul, "password length %zu, need 1..255", pl);
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_wr_u8(&w, MPX_S5_AUTH_VERSION);
    mpx_wr_u8(&w, (uint8_t)ul);
    mpx_wr_bytes(&w, user, ul);
    mpx_wr_u8(&w, (uint8_t)pl);
    mpx_wr_bytes(&w, pass, pl);
    return done(&w, cap, e);
}

long mpx_s5_encode_auth_reply(uint8_t status, uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_wr_u8(&w, MPX_S5_AUTH_VERSION);
    mpx_wr_u8(&w, status);
    return done(&w, cap, e);
}

long mpx_s5_encode_connect(const mpx_addr *target, uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_s5_msg m;
    memset(&m, 0, sizeof m);
    m.code = MPX_S5_CMD_CONNECT;
    m.addr = *target;
    m.port = target->port;
    return enc_msg(&m, out, cap, e);
}

long mpx_s5_encode_connect_domain(const char *name, uint16_t port, uint8_t *out, size_t cap, mpx_err *e)
{
    mpx_s5_msg m;
    memset(&m, 0, sizeof m);
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 255) return mpx_fail(e, "S5-ENC-DOMAIN", 4, "domain length %zu, need 1..255", n);
    m.code = MPX_S5_CMD_CONNECT;
    m.atyp = MPX_S5_ATYP_DOMAIN;
    memcpy(m.domain, name, n);
    m.domain_len = (uint8_t)n;
    m.port = port;
    return enc_msg(&m, out, cap, e);
}
