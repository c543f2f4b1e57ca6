/* Family "mpconvert-opt": MP_CONVERT (the target) as a kind-30 option in the SYN to the
 * proxy, added by mpx-optd (optd.c); no signal bytes in the stream. */
#include <sys/socket.h>

#include "agents/client/client.h"
#include "proto/mpopt.h"

static long mpcopt_syn_option(const client *cl, uint8_t *out, size_t cap)
{
    const mpxa_addr *t = &cl->cfg.target;
    mpx_wr w = mpx_wr_init(out, cap);
    mpx_mpconvert mc;
    mpx_mpconvert_init(&mc);
    mc.subtype = cl->cfg.mp_subtype;
    mc.family = mpxa_addr_family(t) == AF_INET6 ? 6 : 4;
    mpxa_addr_raw(t, mc.addr);
    mc.has_port = true;
    mc.port = mpxa_addr_port(t);
    mpx_mpconvert_encode(&mc, &w);
    return w.overflow ? 0 : (long)w.len;
}

const client_signal_ops client_sig_mpconvert_opt = {
    .wire = MPX_WIRE_MPCONVERT_OPT,
    .syn_option = mpcopt_syn_option,
};
