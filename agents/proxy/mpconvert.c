/* draft-boucadair-mptcp-plain-mode front ends (proto/mpconvert decodes both forms):
 *   mpconvert    (-09): MP_CONVERT option bytes + EOL in the SYN payload, then data. No reply
 *                       message exists: success = the relay starts; failure = the client is
 *                       reset (the draft's MP_FASTCLOSE), since there is no error format.
 *   mpconvert-ie (-10): MP_CONVERT Information Element(s); the proxy echoes the IEs as the
 *                       first bytes it sends to the client (the draft's SYN/ACK echo: from
 *                       userspace the earliest place is the first bytes of the stream).
 * The destination instance (D=0) gives the target; a missing port means "the port the client
 * connected to" (the MPTCP leg's destination port). A source instance (D=1) is logged and
 * ignored: the proxy does not spoof source addresses. */
#include <stdio.h>
#include <string.h>
#include "agents/proxy/proxy.h"
#include "proto/mpconvert.h"

static void on_data(struct conn *c, bool ie)
{
    mpx_mpconv_payload pl;
    mpx_err e = { 0 };
    int r = ie ? mpx_mpconv_decode_ie(c->in, c->inlen, 0, &pl, &e)
               : mpx_mpconv_decode_09(c->in, c->inlen, 0, 0, &pl, &e);
    if (r == MPX_DEC_MORE) {
        if (c->inlen < sizeof c->in) return;
        r = MPX_DEC_BAD;
    }
    if (r == MPX_DEC_BAD) {
        char why[200];
        st.malformed++;
        snprintf(why, sizeof why, "%s: %s", e.rule ? e.rule : "?", e.msg);
        conn_fail(c, 1, 0, why);
        return;
    }
    const mpx_mpconv *dst = NULL;
    for (unsigned i = 0; i < pl.n; i++) {
        if (!pl.inst[i].d) dst = &pl.inst[i];
        else LOGV("conn %llu: source MP_CONVERT instance ignored", (unsigned long long)c->id);
    }
    if (!dst || dst->addr.family == MPX_AF_NONE) {
        st.malformed++;
        conn_fail(c, 1, 0, "no destination address in MP_CONVERT");
        return;
    }
    if (!ie && dst->protocol != MPX_MPCONV_PROTO_TCP) {
        /* -09 names the proxied flow's protocol: this converter relays TCP only (a UDP
         * flow relayed as TCP would be a different service than the one asked for) */
        char why[64];
        snprintf(why, sizeof why, "MP_CONVERT protocol %u: only TCP (6) is relayed", dst->protocol);
        conn_fail(c, 2, 0, why);
        return;
    }
    c->target = dst->addr;
    if (!dst->has_port || c->target.port == 0) c->target.port = c->local.port;
    c->sig_len = pl.data_off;
    conn_set_early(c, c->in + pl.data_off, c->inlen - pl.data_off);
    conn_target_ready(c);
}

static void on_data_09(struct conn *c) { on_data(c, false); }
static void on_data_ie(struct conn *c) { on_data(c, true); }

/* -09 has no reply: the relay's first write to the client is gated instead */
static void on_connected_09(struct conn *c) { conn_start_gate(c); }

static void on_connected_ie(struct conn *c)
{
    conn_queue_out(c, c->in, c->sig_len);
    conn_start_gate(c);
}

/* local_addr: a target without a port takes the port the client connected to. No
 * send_error: there is no error format, the client is reset. */
const struct proxy_frontend fe_mpconvert = {
    .name = "mpconvert", .port = 5125, .by_default = true,
    .help = "MP_CONVERT (plain-mode-09) + EOL in the SYN payload",
    .syn_data_no_cookie = true, .local_addr = true,
    .on_data = on_data_09, .on_connected = on_connected_09,
};

const struct proxy_frontend fe_mpconvert_ie = {
    .name = "mpconvert-ie", .port = 5126, .by_default = true,
    .help = "MP_CONVERT Information Element (plain-mode-10), echoed back",
    .syn_data_no_cookie = true, .local_addr = true,
    .on_data = on_data_ie, .on_connected = on_connected_ie,
};
