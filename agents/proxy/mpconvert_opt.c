/* The front-end for MP_CONVERT sent as a kind-30 option in the SYN's option space. The
 * kernel keeps SYN options from the socket, so mpx-optd (read mode, NFQUEUE on the HAG;
 * agents/optd, agents/intercept) decodes it; the SYN passes mpx-optd before the kernel sees
 * it, so the answer exists at accept time and optd.c asks for it over --optd. No error
 * format: a failure (no option seen, mpx-optd not answering) resets the client. */
#include <string.h>
#include "agents/proxy/proxy.h"

static void on_accept(struct conn *c)
{
    char why[200];
    if (optd_lookup(cfg.optd_path, &c->client, &c->target, why, sizeof why) < 0) {
        memset(&c->target, 0, sizeof c->target);
        st.malformed++;
        conn_fail(c, 1, 0, why);
        return;
    }
    c->c_rd = true;
    conn_target_ready(c);
}

const struct proxy_frontend fe_mpconvert_opt = {
    .name = "mpconvert-opt", .port = 5128,
    .help = "MP_CONVERT as a SYN option, read by mpx-optd (read mode)",
    .syn_data_no_cookie = true, .needs_optd = true, .local_addr = true,
    .on_accept = on_accept,
};
