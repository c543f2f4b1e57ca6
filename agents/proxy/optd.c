/* mpx-proxy's mpconvert-opt front end (issue 7): the client's MP_CONVERT rides as a kind-30
 * option in the SYN's option space, which the kernel keeps from the socket. mpx-optd (read
 * mode, NFQUEUE on the HAG; agents/optd, agents/intercept) decodes it and answers
 * "get ADDR PORT" on its unix control socket with "target A:P proto N", "none" or "err ...".
 * The SYN passes mpx-optd before the kernel sees it, so the answer exists at accept time. */
#include "agents/proxy/proxy.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int optd_lookup(const char *path, const mpx_addr *client, mpx_addr *target, char *why, size_t cap)
{
    char a[MPX_ADDR_STRLEN], req[96], out[256];
    struct sockaddr_un to = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
    if (!path || !*path) { snprintf(why, cap, "no --optd control socket"); return -1; }
    if (strlen(path) >= sizeof to.sun_path) { snprintf(why, cap, "--optd path too long"); return -1; }
    strcpy(to.sun_path, path);
    mpx_addr c = *client;
    snprintf(req, sizeof req, "get %s %u", mpx_addr_format(&c, false, a, sizeof a), client->port);
    /* a bound path (not an abstract name: those are per network namespace) for the reply */
    static unsigned seq;
    if (snprintf(me.sun_path, sizeof me.sun_path, "%s.p%d.%u", path, (int)getpid(), seq++) >= (int)sizeof me.sun_path) {
        snprintf(why, cap, "--optd path too long");
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { snprintf(why, cap, "socket: %s", strerror(errno)); return -1; }
    unlink(me.sun_path);
    int rc = -1;
    struct timeval tv = { 0, 300000 };   /* a local daemon answers in microseconds */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
        snprintf(why, cap, "bind %s: %s", me.sun_path, strerror(errno));
    } else if (sendto(fd, req, strlen(req), 0, (struct sockaddr *)&to, sizeof to) < 0) {
        snprintf(why, cap, "mpx-optd %s: %s", path, strerror(errno));
    } else {
        ssize_t n = recv(fd, out, sizeof out - 1, 0);
        if (n < 0) {
            snprintf(why, cap, "mpx-optd %s: no answer", path);
        } else {
            out[n] = 0;
            char t[128];
            if (sscanf(out, "target %127s", t) == 1 && mpx_addr_parse(t, target, 1) == 0) rc = 0;
            else snprintf(why, cap, "mpx-optd: no MP_CONVERT option seen from %s:%u (%s)", a, client->port, out);
        }
    }
    close(fd);
    unlink(me.sun_path);
    return rc;
}
