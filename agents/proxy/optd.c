/* mpx-proxy's mpconvert-opt front end: the client's MP_CONVERT rides as a kind-30 option in
 * the SYN's option space, which the kernel keeps from the socket. mpx-optd (read mode,
 * NFQUEUE on the HAG; agents/optd, agents/intercept) decodes it and answers "get ADDR PORT"
 * on its control socket (agents/optd/ctl.h) with "target A:P proto N", "none" or "err ...".
 * The SYN passes mpx-optd before the kernel sees it, so the answer exists at accept time. */
#include "agents/proxy/proxy.h"
#include "agents/optd/ctl.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int optd_lookup(const char *path, const mpx_addr *client, mpx_addr *target, char *why, size_t cap)
{
    char a[MPX_ADDR_STRLEN], req[96], out[256], me[108], suffix[48], t[128];
    struct sockaddr_un to;
    if (!path || !*path) { snprintf(why, cap, "no --optd control socket"); return -1; }
    mpx_addr c = *client;
    optd_ctl_fmt_get(req, sizeof req, mpx_addr_format(&c, false, a, sizeof a), client->port);
    /* a reply path per lookup: the proxy may ask again before an old reply came */
    static unsigned seq;
    snprintf(suffix, sizeof suffix, ".p%d.%u", (int)getpid(), seq++);
    /* a local daemon answers in microseconds */
    int fd = optd_ctl_open(path, suffix, NULL, 300, &to, me, sizeof me);
    if (fd < 0) {
        if (errno == ENAMETOOLONG) snprintf(why, cap, "--optd path too long");
        else snprintf(why, cap, "bind %s%s: %s", path, suffix, strerror(errno));
        return -1;
    }
    int rc = -1;
    int r = optd_ctl_call(fd, &to, req, out, sizeof out);
    if (r == -1) {
        snprintf(why, cap, "mpx-optd %s: %s", path, strerror(errno));
    } else if (r < 0) {
        snprintf(why, cap, "mpx-optd %s: no answer", path);
    } else if (optd_ctl_target(out, t, sizeof t) && mpx_addr_parse(t, target, 1) == 0) {
        rc = 0;
    } else {
        snprintf(why, cap, "mpx-optd: no MP_CONVERT option seen from %s:%u (%s)", a, client->port, out);
    }
    close(fd);
    unlink(me);
    return rc;
}
