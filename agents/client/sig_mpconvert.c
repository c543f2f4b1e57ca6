/* Family "mpconvert": MP_CONVERT (plain-mode-09) + EOL + the request in the SYN payload; no
 * reply of its own (the response follows). */
#include "agents/client/client.h"
#include "proto/mpconvert.h"

static long mpconv_first_flight(client *cl, cconn *c, uint8_t *out, size_t cap)
{
    mpx_err e;
    mpx_err_clear(&e);
    mpx_addr t;
    mpx_addr_from_sockaddr(&cl->cfg.target.u.sa, cl->cfg.target.len, &t);
    mpx_mpconv m = { .d = false, .addr = t, .has_port = true };
    long n = mpx_mpconv_encode_09(&m, 1, out, cap, &e);
    if (n < 0)
        client_set_err(c, "encoding the signal failed: %s: %s", e.rule ? e.rule : "?", e.msg);
    return n;
}

const client_signal_ops client_sig_mpconvert = {
    .wire = MPX_WIRE_MPCONVERT,
    .first_flight = mpconv_first_flight,
};
