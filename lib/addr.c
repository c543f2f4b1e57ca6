#include "lib/addr.h"
#include "proto/addr.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* proto's address value into a socket address (zone only for IPv6) */
static int from_proto(mpxa_addr *a, const mpx_addr *pa, uint32_t scope)
{
    memset(a, 0, sizeof *a);
    size_t n = mpx_addr_to_sockaddr(pa, &a->u.ss, sizeof a->u.ss);
    if (n == 0)
        return -1;
    a->len = (socklen_t)n;
    if (pa->family == MPX_AF_INET6)
        a->u.in6.sin6_scope_id = scope;
    return 0;
}

int mpxa_addr_parse(const char *s, int default_port, mpxa_addr *a)
{
    /* the text grammar is proto/addr.c's; this side only builds the socket address */
    mpx_addr pa;
    bool has_port;
    uint32_t scope;
    if (mpx_addr_parse_text(s, &pa, default_port < 0 ? 1 : 0, &has_port, &scope) < 0)
        return -1;
    if (!has_port)
        pa.port = (uint16_t)default_port;
    return from_proto(a, &pa, scope);
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
    mpx_addr pa;
    if (rawlen == 4) {
        pa = mpx_addr_v4b(raw, port);
    } else if (rawlen == 16) {
        pa = mpx_addr_from_mapped(raw, port);   /* ::ffff:a.b.c.d becomes IPv4 */
    } else {
        memset(a, 0, sizeof *a);
        return -1;
    }
    return from_proto(a, &pa, 0);
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
