/* Family "mpconvert-ie": the MP_CONVERT Information Element (plain-mode-10) + the request in
 * the SYN payload; the reply must start with the same IE bytes (5.2: no echo, the sender MUST
 * terminate). */
#include <string.h>

#include "agents/client/client.h"
#include "proto/mpconvert.h"

enum { IE_ECHO };

static long ie_first_flight(client *cl, cconn *c, uint8_t *out, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    mpx_addr t;
    mpx_addr_from_sockaddr(&cl->cfg.target.u.sa, cl->cfg.target.len, &t);
    mpx_mpconv m = { .d = false, .addr = t, .has_port = true };
    long n = mpx_mpconv_encode_ie(&m, 1, out, cap, &e);
    if (n < 0) {
        client_set_err(c, "encoding the signal failed: %s: %s", e.rule ? e.rule : "?", e.msg);
        return n;
    }
    if ((size_t)n <= sizeof c->sent) {
        memcpy(c->sent, out, (size_t)n);
        c->sent_len = (size_t)n;
    }
    client_sig_step(c, IE_ECHO, "ie-echo");
    return n;
}

static int ie_reply(client *cl, cconn *c)
{
    if (c->sig_in_len < c->sent_len)
        return 0;
    if (memcmp(c->sig_in, c->sent, c->sent_len) != 0) {
        char hex[2 * 64 + 1];
        mpx_hex_format(c->sig_in, c->sent_len, hex);
        client_set_err(c, "%s: reply does not start with the echoed MP_CONVERT IE (got %s)",
                       cl->sig->name, hex);
        return -1;
    }
    c->t_sig = client_rel(c);
    client_sig_consume(c, c->sent_len, true);
    client_start_response(c);
    return 1;
}

/* Whatever ended the wait for the echo (EOF, reset, timeout), say plainly that it is missing. */
static void ie_failed(client *cl, cconn *c)
{
    if (c->st != ST_SIGNAL || strstr(c->err, cl->sig->name))
        return;
    char orig[128];
    snprintf(orig, sizeof orig, "%.127s", c->err[0] ? c->err : "closed");
    snprintf(c->err, sizeof c->err, "%s: no MP_CONVERT IE echo from the proxy (%.127s)",
             cl->sig->name, orig);
}

const client_signal_ops client_sig_mpconvert_ie = {
    .wire = MPX_WIRE_MPCONVERT_IE,
    .first_flight = ie_first_flight,
    .reply = ie_reply,
    .failed = ie_failed,
};
