/* The front-end for implicit (intercepted) connections: an IP_TRANSPARENT listener behind
 * the HAG's TPROXY rule (agents/intercept). There is no signal to read: the accepted
 * socket's local address is the destination the client asked for, so it is the target. No
 * error format: a failure resets the client. */
#include "agents/proxy/proxy.h"

static void on_accept(struct conn *c)
{
    c->target = c->local;
    c->c_rd = true;
    conn_target_ready(c);
}

const struct proxy_frontend fe_transparent = {
    .name = "transparent", .port = 5127,
    .help = "intercepted (implicit) connections, target = original destination",
    .syn_data_no_cookie = true, .transparent = true, .local_addr = true,
    .on_accept = on_accept,
};
