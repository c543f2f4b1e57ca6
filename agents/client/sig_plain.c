/* Family "plain": no signal bytes at all; the connection goes straight to the target (the
 * baseline, or an on-path HAG intercepts). The row's helper says how the SYN is marked: a
 * TCP option (the MP_PREFER_PROXY flag, the only option a target-less signal can carry) or
 * the IPv4 Router Alert (optd.c). */
#include "agents/client/client.h"
#include "proto/mpopt.h"

static long plain_syn_option(const client *cl, uint8_t *out, size_t cap)
{
    if (cl->sig->helper != MPX_SIG_HELPER_TCPOPT)
        return 0;
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_prefer_proxy pp = { .subtype = cl->cfg.mp_subtype, .rsv = 0 };
    mpx_prefer_proxy_encode(&pp, &w);
    return w.overflow ? 0 : (long)w.len;
}

const client_signal_ops client_sig_plain = {
    .wire = MPX_WIRE_PLAIN,
    .syn_option = plain_syn_option,
};
