#include "lib/addr.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    for (const char *q = s; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    if (!*s || strlen(s) > 5)
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int set_ip(mpxa_addr *a, const char *host, uint16_t port)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, host, &a->u.in4.sin_addr) == 1) {
        a->u.in4.sin_family = AF_INET;
        a->u.in4.sin_port = htons(port);
        a->len = sizeof a->u.in4;
        return 0;
    }
    /* optional %scope for link-local addresses */
    char tmp[INET6_ADDRSTRLEN + 20];
    if (strlen(host) >= sizeof tmp)
        return -1;
    strcpy(tmp, host);
    char *pct = strchr(tmp, '%');
    unsigned scope = 0;
    if (pct) {
        *pct++ = 0;
        char *end;
        scope = (unsigned)strtoul(pct, &end, 10);
        if (*end || !*pct)
            return -1;
    }
    if (inet_pton(AF_INET6, tmp, &a->u.in6.sin6_addr) == 1) {
        a->u.in6.sin6_family = AF_INET6;
        a->u.in6.sin6_port = htons(port);
        a->u.in6.sin6_scope_id = scope;
        a->len = sizeof a->u.in6;
        return 0;
    }
    return -1;
}

int mpxa_addr_parse(const char *s, int default_port, mpxa_addr *a)
{
    char host[INET6_ADDRSTRLEN + 20];
    uint16_t port = 0;
    bool have_port = false;
    if (!s || !*s)
        return -1;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || (size_t)(rb - s - 1) >= sizeof host || rb == s + 1)
            return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        if (rb[1] == ':') {
            if (parse_port(rb + 2, &port))
                return -1;
            have_port = true;
        } else if (rb[1]) {
            return -1;
        }
        if (!strchr(host, ':'))   /* brackets only for IPv6 */
            return -1;
    } else {
        const char *c1 = strchr(s, ':');
        const char *cl = strrchr(s, ':');
        if (c1 && c1 == cl) {          /* exactly one colon: IPv4 (or name) with port */
            if ((size_t)(c1 - s) >= sizeof host || c1 == s)
                return -1;
            memcpy(host, s, (size_t)(c1 - s));
            host[c1 - s] = 0;
            if (parse_port(c1 + 1, &port))
                return -1;
            have_port = true;
        } else {                       /* no colon (IPv4) or bare IPv6 */
            if (strlen(s) >= sizeof host)
                return -1;
            strcpy(host, s);
        }
    }
    if (!have_port) {
        if (default_port < 0)
            return -1;
        port = (uint16_t)default_port;
    }
    return set_ip(a, host, port);
}

int mpxa_addr_from_sa(mpxa_addr *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(&a->u.in4, sa, sizeof(struct sockaddr_in));
        a->len = sizeof(struct sockaddr_in);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memcpy(&a->u.in6, sa, sizeof(struct sockaddr_in6));
        a->len = sizeof(struct sockaddr_in6);
        return 0;
    }
    return -1;
}

int mpxa_addr_from_raw(mpxa_addr *a, const uint8_t *raw, size_t rawlen, uint16_t port)
{
    static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
    memset(a, 0, sizeof *a);
    if (rawlen == 16 && memcmp(raw, mapped, 12) == 0) {
        raw += 12;
        rawlen = 4;
    }
    if (rawlen == 4) {
        a->u.in4.sin_family = AF_INET;
        memcpy(&a->u.in4.sin_addr, raw, 4);
        a->u.in4.sin_port = htons(port);
        a->len = sizeof a->u.in4;
        return 0;
    }
    if (rawlen == 16) {
        a->u.in6.sin6_family = AF_INET6;
        memcpy(&a->u.in6.sin6_addr, raw, 16);
        a->u.in6.sin6_port = htons(port);
        a->len = sizeof a->u.in6;
        return 0;
    }
    return -1;
}

char *mpxa_addr_fmt_ip(const mpxa_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (cap == 0)
        return buf;
    buf[0] = 0;
    if (a->len && a->u.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof ip);
        snprintf(buf, cap, "%s", ip);
    } else if (a->len && a->u.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof ip);
        if (a->u.in6.sin6_scope_id)
            snprintf(buf, cap, "%s%%%u", ip, a->u.in6.sin6_scope_id);
        else
            snprintf(buf, cap, "%s", ip);
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}

char *mpxa_addr_fmt(const mpxa_addr *a, char *buf, size_t cap)
{
    char ip[MPXA_ADDR_STRLEN];
    mpxa_addr_fmt_ip(a, ip, sizeof ip);
    if (cap == 0)
        return buf;
    if (a->len && a->u.sa.sa_family == AF_INET6)
        snprintf(buf, cap, "[%s]:%u", ip, mpxa_addr_port(a));
    else if (a->len && a->u.sa.sa_family == AF_INET)
        snprintf(buf, cap, "%s:%u", ip, mpxa_addr_port(a));
    else
        snprintf(buf, cap, "?");
    return buf;
}

int mpxa_addr_family(const mpxa_addr *a)
{
    return a->len ? a->u.sa.sa_family : AF_UNSPEC;
}

uint16_t mpxa_addr_port(const mpxa_addr *a)
{
    if (!a->len)
        return 0;
    return ntohs(a->u.sa.sa_family == AF_INET ? a->u.in4.sin_port : a->u.in6.sin6_port);
}

void mpxa_addr_set_port(mpxa_addr *a, uint16_t port)
{
    if (a->u.sa.sa_family == AF_INET)
        a->u.in4.sin_port = htons(port);
    else if (a->u.sa.sa_family == AF_INET6)
        a->u.in6.sin6_port = htons(port);
}

void mpxa_addr_to_v6mapped(const mpxa_addr *a, uint8_t out[16])
{
    memset(out, 0, 16);
    if (a->u.sa.sa_family == AF_INET) {
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, &a->u.in4.sin_addr, 4);
    } else if (a->u.sa.sa_family == AF_INET6) {
        memcpy(out, &a->u.in6.sin6_addr, 16);
    }
}

size_t mpxa_addr_raw(const mpxa_addr *a, uint8_t out[16])
{
    if (a->u.sa.sa_family == AF_INET) {
        memcpy(out, &a->u.in4.sin_addr, 4);
        return 4;
    }
    if (a->u.sa.sa_family == AF_INET6) {
        memcpy(out, &a->u.in6.sin6_addr, 16);
        return 16;
    }
    return 0;
}

bool mpxa_addr_equal(const mpxa_addr *a, const mpxa_addr *b)
{
    if (mpxa_addr_family(a) != mpxa_addr_family(b) || mpxa_addr_port(a) != mpxa_addr_port(b))
        return false;
    uint8_t x[16], y[16];
    size_t n = mpxa_addr_raw(a, x);
    return n == mpxa_addr_raw(b, y) && memcmp(x, y, n) == 0;
}
