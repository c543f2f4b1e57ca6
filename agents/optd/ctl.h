/* The mpx-optd control protocol, written once for the daemon (core.c, main.c) and its users
 * (mpx-proxy's mpconvert-opt front end, mpx-client's SYN marks, `mpx-optd ctl`).
 *
 * Transport: a unix datagram socket bound to a path (--control PATH). A path, not an abstract
 * name: abstract names are per network namespace and the daemon usually runs in another one.
 * The requester binds its own path (the daemon's path plus a suffix, see optd_ctl_open) so
 * the reply finds it; each request gets exactly one reply datagram.
 *
 * Requests (text, fields split by blanks):
 *   opt sport PORT HEX | opt dst ADDR PORT HEX   add option HEX to those SYNs (add mode)
 *   ra sport PORT | ra dst ADDR PORT            add the IPv4 Router Alert (add mode)
 *   del sport PORT | del dst ADDR PORT          forget a registration
 *   get ADDR PORT                               MP_CONVERT target seen from ADDR:PORT (read mode)
 *   stats                                       JSON counters
 * Replies: "ok"; "err REASON" (usage, bad-address, missing-hex, bad-option, full);
 * for get: "target A:P proto N" (IPv6 as [A]:P), "none no-address" (an MP_CONVERT without an
 * address) or "none"; for stats one JSON object.
 *
 * Header only (static inline), so every binary that speaks the protocol includes it without
 * linking anything of mpx-optd. */
#ifndef MPX_OPTD_CTL_H
#define MPX_OPTD_CTL_H
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define OPTD_CTL_MAX 512          /* longest request or reply datagram */

#define OPTD_CTL_OK         "ok"
#define OPTD_CTL_NONE       "none"
#define OPTD_CTL_NONE_NOADDR "none no-address"
#define OPTD_CTL_TARGET     "target"

/* ---- requests ---- */

typedef enum {
    OPTD_CTL_BAD = 0,   /* reply "err usage" */
    OPTD_CTL_STATS,
    OPTD_CTL_GET,
    OPTD_CTL_OPT,
    OPTD_CTL_RA,
    OPTD_CTL_DEL,
} optd_ctl_verb;

typedef struct {
    optd_ctl_verb verb;
    bool        by_dst;     /* opt/ra/del: dst ADDR PORT, else sport PORT */
    const char *addr;       /* get, dst: address text (the receiver parses it) */
    uint16_t    port;       /* get: the peer's source port; sport / dst: the port */
    const char *hex;        /* opt: the option bytes as hex, NULL when missing */
} optd_ctl_req;

/* Splits req in place (at most 6 fields are looked at). */
static inline optd_ctl_verb optd_ctl_parse(char *req, optd_ctl_req *r)
{
    char *argv[6] = { 0 }, *save = NULL;
    int argc = 0;
    memset(r, 0, sizeof *r);
    for (char *t = strtok_r(req, " \t\r\n", &save); t && argc < 6; t = strtok_r(NULL, " \t\r\n", &save))
        argv[argc++] = t;
    if (argc == 1 && !strcmp(argv[0], "stats")) return r->verb = OPTD_CTL_STATS;
    if (argc == 3 && !strcmp(argv[0], "get")) {
        r->addr = argv[1];
        r->port = (uint16_t)atoi(argv[2]);
        return r->verb = OPTD_CTL_GET;
    }
    if (argc < 3) return OPTD_CTL_BAD;
    optd_ctl_verb v = !strcmp(argv[0], "opt") ? OPTD_CTL_OPT : !strcmp(argv[0], "ra") ? OPTD_CTL_RA
                    : !strcmp(argv[0], "del") ? OPTD_CTL_DEL : OPTD_CTL_BAD;
    if (v == OPTD_CTL_BAD) return OPTD_CTL_BAD;
    int i = 1;
    if (!strcmp(argv[i], "dst") && argc >= 4) {
        r->by_dst = true;
        r->addr = argv[i + 1];
        r->port = (uint16_t)atoi(argv[i + 2]);
        i += 3;
    } else if (!strcmp(argv[i], "sport")) {
        r->port = (uint16_t)atoi(argv[i + 1]);
        i += 2;
    } else {
        return OPTD_CTL_BAD;
    }
    r->hex = i < argc ? argv[i] : NULL;
    return r->verb = v;
}

/* Request texts of the requesters; return snprintf's count. */
static inline int optd_ctl_fmt_get(char *buf, size_t cap, const char *addr, unsigned port)
{
    return snprintf(buf, cap, "get %s %u", addr, port);
}
static inline int optd_ctl_fmt_opt_sport(char *buf, size_t cap, unsigned sport, const char *hex)
{
    return snprintf(buf, cap, "opt sport %u %s", sport, hex);
}
static inline int optd_ctl_fmt_ra_sport(char *buf, size_t cap, unsigned sport)
{
    return snprintf(buf, cap, "ra sport %u", sport);
}
static inline int optd_ctl_fmt_del_sport(char *buf, size_t cap, unsigned sport)
{
    return snprintf(buf, cap, "del sport %u", sport);
}

/* ---- replies ---- */

static inline bool optd_ctl_is_ok(const char *reply) { return strncmp(reply, OPTD_CTL_OK, 2) == 0; }
static inline bool optd_ctl_is_err(const char *reply) { return strncmp(reply, "err", 3) == 0; }
/* The A:P text of a "target A:P proto N" reply into addr (cap bytes); false for any other. */
static inline bool optd_ctl_target(const char *reply, char *addr, size_t cap)
{
    char t[128];
    if (sscanf(reply, OPTD_CTL_TARGET " %127s", t) != 1 || strlen(t) >= cap) return false;
    memcpy(addr, t, strlen(t) + 1);
    return true;
}

/* ---- the requester's socket ---- */

/* A datagram socket bound to ctl_path + suffix (fallback when that is too long: NULL fails),
 * with a receive timeout; fills *to with the daemon's address and me with the bound path.
 * Returns the fd, or -1 with errno set (ENAMETOOLONG for a path that does not fit). */
static inline int optd_ctl_open(const char *ctl_path, const char *suffix, const char *fallback,
                                int timeout_ms, struct sockaddr_un *to, char *me, size_t mecap)
{
    struct sockaddr_un sme = { .sun_family = AF_UNIX };
    memset(to, 0, sizeof *to);
    to->sun_family = AF_UNIX;
    if (strlen(ctl_path) >= sizeof to->sun_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(to->sun_path, ctl_path, strlen(ctl_path) + 1);
    if (snprintf(sme.sun_path, sizeof sme.sun_path, "%s%s", ctl_path, suffix) >= (int)sizeof sme.sun_path) {
        if (!fallback || strlen(fallback) >= sizeof sme.sun_path) { errno = ENAMETOOLONG; return -1; }
        snprintf(sme.sun_path, sizeof sme.sun_path, "%s", fallback);
    }
    if (strlen(sme.sun_path) >= mecap) { errno = ENAMETOOLONG; return -1; }
    unlink(sme.sun_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&sme, sizeof sme) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    snprintf(me, mecap, "%s", sme.sun_path);
    return fd;
}

/* One request, one reply (NUL-terminated in reply). Stale replies (of a request that timed
 * out earlier) are dropped first. Returns 0, -1 when the send failed (errno), -2 when no
 * reply came within the socket's timeout. */
static inline int optd_ctl_call(int fd, const struct sockaddr_un *to, const char *req,
                                char *reply, size_t cap)
{
    char junk[OPTD_CTL_MAX];
    while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
        ;
    if (sendto(fd, req, strlen(req), 0, (const struct sockaddr *)to, sizeof *to) < 0) return -1;
    ssize_t n = recv(fd, reply, cap - 1, 0);
    if (n < 0) return -2;
    reply[n] = 0;
    return 0;
}
#endif
