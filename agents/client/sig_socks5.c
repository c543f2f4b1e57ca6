/* Family "socks5": after the handshake a SOCKSv5 exchange (RFC 1928): greeting, method choice,
 * with row.auth the RFC 1929 username/password sub-negotiation, CONNECT, reply; then the
 * request. */
#include "agents/client/client.h"
#include "proto/socks5.h"

enum { S5_CHOICE, S5_AUTH, S5_REPLY };

static uint8_t s5_method(const client *cl)
{
    return cl->sig->auth ? MPX_S5_M_USERPASS : MPX_S5_M_NOAUTH;
}

static int s5_check(const client_cfg *cfg, char *msg, size_t cap)
{
    if (cfg->sig->auth && (!cfg->user || !cfg->pass || !*cfg->user || !*cfg->pass)) {
        snprintf(msg, cap, "%s needs --socks-user and --socks-pass (1..255 bytes)", cfg->sig->name);
        return -1;
    }
    return 0;
}

static void s5_connected(client *cl, cconn *c)
{
    uint8_t g[4];
    mpx_err e;
    uint8_t m = s5_method(cl);
    long n = mpx_s5_encode_greeting(&m, 1, g, sizeof g, &e);
    client_queue_sig(c, g, (size_t)n);
    client_sig_step(c, S5_CHOICE, "socks-choice");
}

/* The CONNECT request for the target (or the auth request) in out; its length or -1. */
static long s5_request(client *cl, cconn *c, uint8_t *out, size_t cap, mpx_err *e)
{
    long n;
    if (c->sub == S5_CHOICE && cl->sig->auth) {
        n = mpx_s5_encode_auth(cl->cfg.user, cl->cfg.pass, out, cap, e);
    } else {
        mpx_addr t;
        mpx_addr_from_sockaddr(&cl->cfg.target.u.sa, cl->cfg.target.len, &t);
        n = mpx_s5_encode_connect(&t, out, cap, e);
    }
    if (n < 0)
        client_set_err(c, "SOCKS encode: %s", e->rule);
    return n;
}

static int s5_reply(client *cl, cconn *c)
{
    mpx_err e;
    mpx_err_clear(&e);
    switch (c->sub) {
    case S5_CHOICE: {
        uint8_t m;
        int r = mpx_s5_decode_choice(c->sig_in, c->sig_in_len, &m, &e);
        if (r == MPX_DEC_MORE)
            return 0;
        if (r != MPX_DEC_OK) {
            client_set_err(c, "bad SOCKS method reply: %s", e.rule);
            return -1;
        }
        uint8_t want = s5_method(cl);
        if (m != want) {
            client_set_err(c, "SOCKS proxy chose method 0x%02x (%s), wanted 0x%02x", m,
                           mpx_s5_method_name(m), want);
            return -1;
        }
        uint8_t out[600];
        long n = s5_request(cl, c, out, sizeof out, &e);
        if (n < 0)
            return -1;
        client_sig_consume(c, 2, true);
        client_queue_sig(c, out, (size_t)n);
        if (cl->sig->auth)
            client_sig_step(c, S5_AUTH, "socks-auth");
        else
            client_sig_step(c, S5_REPLY, "socks-reply");
        return 1;
    }
    case S5_AUTH: {
        uint8_t status;
        int r = mpx_s5_decode_auth_reply(c->sig_in, c->sig_in_len, &status, &e);
        if (r == MPX_DEC_MORE)
            return 0;
        if (r != MPX_DEC_OK) {
            client_set_err(c, "bad SOCKS auth reply: %s", e.rule);
            return -1;
        }
        if (status != 0) {
            client_set_err(c, "SOCKS username/password rejected (status %u)", status);
            return -1;
        }
        client_sig_consume(c, 2, true);
        uint8_t out[64];
        long n = s5_request(cl, c, out, sizeof out, &e);
        if (n < 0)
            return -1;
        client_queue_sig(c, out, (size_t)n);
        client_sig_step(c, S5_REPLY, "socks-reply");
        return 1;
    }
    default: {
        mpx_s5_msg m;
        int r = mpx_s5_decode_reply(c->sig_in, c->sig_in_len, &m, &e);
        if (r == MPX_DEC_MORE)
            return 0;
        if (r != MPX_DEC_OK) {
            client_set_err(c, "bad SOCKS reply: %s", e.rule);
            return -1;
        }
        c->socks_rep = m.code;
        c->t_sig = client_rel(c);
        if (m.code != MPX_S5_REP_OK) {
            client_set_err(c, "SOCKS reply %u (%s)", m.code, mpx_s5_rep_name(m.code));
            return -1;
        }
        client_sig_consume(c, m.len, true);
        client_start_response(c);
        return 1;
    }
    }
}

const client_signal_ops client_sig_socks5 = {
    .wire = MPX_WIRE_SOCKS5,
    .check = s5_check,
    .connected = s5_connected,
    .reply = s5_reply,
};
