#include "proto/addr.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

mpx_addr mpx_addr_v4(uint32_t ip, uint16_t port)
{
    mpx_addr a = { .family = MPX_AF_INET, .port = port };
    a.a[0] = (uint8_t)(ip >> 24); a.a[1] = (uint8_t)(ip >> 16);
    a.a[2] = (uint8_t)(ip >> 8);  a.a[3] = (uint8_t)ip;
    return a;
}

mpx_addr mpx_addr_v4b(const uint8_t ip[4], uint16_t port)
{
    mpx_addr a = { .family = MPX_AF_INET, .port = port };
    memcpy(a.a, ip, 4);
    return a;
}

mpx_addr mpx_addr_v6(const uint8_t ip[16], uint16_t port)
{
    mpx_addr a = { .family = MPX_AF_INET6, .port = port };
    memcpy(a.a, ip, 16);
    return a;
}

bool mpx_addr_eq(const mpx_addr *x, const mpx_addr *y)
{
    if (x->family != y->family || x->port != y->port) return false;
    size_t n = x->family == MPX_AF_INET ? 4 : x->family == MPX_AF_INET6 ? 16 : 0;
    return memcmp(x->a, y->a, n) == 0;
}

void mpx_addr_to_mapped(const mpx_addr *a, uint8_t out[16])
{
    if (a->family == MPX_AF_INET) {
        memcpy(out, v4mapped_prefix, 12);
        memcpy(out + 12, a->a, 4);
    } else if (a->family == MPX_AF_INET6) {
        memcpy(out, a->a, 16);
    } else {
        memset(out, 0, 16);
    }
}

bool mpx_addr_is_v4mapped(const uint8_t in[16]) { return memcmp(in, v4mapped_prefix, 12) == 0; }

bool mpx_addr_is_v4compat(const uint8_t in[16])
{
    static const uint8_t z[12];
    if (memcmp(in, z, 12) != 0) return false;
    /* ::0.0.0.0 is "::" and ::0.0.0.1 is "::1": those are genuine IPv6 addresses */
    return !(in[12] == 0 && in[13] == 0 && in[14] == 0 && in[15] <= 1);
}

mpx_addr mpx_addr_from_mapped(const uint8_t in[16], uint16_t port)
{
    if (mpx_addr_is_v4mapped(in)) return mpx_addr_v4b(in + 12, port);
    return mpx_addr_v6(in, port);
}

mpx_addr_class mpx_addr_classify(const mpx_addr *a)
{
    if (a->family == MPX_AF_INET) {
        const uint8_t *b = a->a;
        if (b[0] == 0) return MPX_ADDR_UNSPECIFIED;           /* 0/8 "this network" */
        if (b[0] == 127) return MPX_ADDR_LOOPBACK;
        if ((b[0] & 0xf0) == 0xe0) return MPX_ADDR_MULTICAST;  /* 224/4 */
        if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return MPX_ADDR_BROADCAST;
        return MPX_ADDR_OK;
    }
    if (a->family == MPX_AF_INET6) {
        static const uint8_t z[16];
        if (memcmp(a->a, z, 16) == 0) return MPX_ADDR_UNSPECIFIED;
        if (memcmp(a->a, z, 15) == 0 && a->a[15] == 1) return MPX_ADDR_LOOPBACK;
        if (a->a[0] == 0xff) return MPX_ADDR_MULTICAST;
        if (mpx_addr_is_v4mapped(a->a)) {  /* judge the embedded IPv4 address */
            mpx_addr v4 = mpx_addr_v4b(a->a + 12, 0);
            return mpx_addr_classify(&v4);
        }
        return MPX_ADDR_OK;
    }
    return MPX_ADDR_NOFAMILY;
}

const char *mpx_addr_class_name(mpx_addr_class c)
{
    switch (c) {
    case MPX_ADDR_OK: return "ok";
    case MPX_ADDR_UNSPECIFIED: return "unspecified";
    case MPX_ADDR_LOOPBACK: return "loopback";
    case MPX_ADDR_MULTICAST: return "multicast";
    case MPX_ADDR_BROADCAST: return "broadcast";
    case MPX_ADDR_NOFAMILY: return "no address";
    }
    return "?";
}

/* Port text: 1..5 decimal digits, at most 65535 (no sign, no blanks, no hex). */
static int parse_port(const char *s, uint16_t *port)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n) return -1;
    unsigned long v = strtoul(s, NULL, 10);
    if (v > 65535) return -1;
    *port = (uint16_t)v;
    return 0;
}

/* IPv6 text with an optional numeric zone ("fe80::1%2") when scope is non-NULL. */
static int parse_v6(const char *host, uint8_t a[16], uint32_t *scope)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    const char *pct = strchr(host, '%');
    size_t hl = pct ? (size_t)(pct - host) : strlen(host);
    if (hl >= sizeof tmp) return -1;
    memcpy(tmp, host, hl);
    tmp[hl] = 0;
    if (pct) {
        size_t zl = strlen(pct + 1);
        if (!scope || zl == 0 || zl > 10 || strspn(pct + 1, "0123456789") != zl) return -1;
        unsigned long long z = strtoull(pct + 1, NULL, 10);
        if (z > UINT32_MAX) return -1;
        *scope = (uint32_t)z;
    }
    return inet_pton(AF_INET6, tmp, a) == 1 ? 0 : -1;
}

int mpx_addr_parse_text(const char *s, mpx_addr *out, int port_mode, bool *has_port,
                        uint32_t *scope)
{
    char host[INET6_ADDRSTRLEN + 16];
    const char *port_s = NULL;
    size_t hl;
    mpx_addr a = { 0 };
    uint32_t zone = 0;

    if (!s || !*s) return -1;
    if (s[0] == '[') {   /* brackets only for IPv6 */
        const char *rb = strchr(s, ']');
        if (!rb) return -1;
        hl = (size_t)(rb - s - 1);
        if (hl >= sizeof host) return -1;
        memcpy(host, s + 1, hl);
        host[hl] = 0;
        if (rb[1] == ':') port_s = rb + 2;
        else if (rb[1] != 0) return -1;
        if (parse_v6(host, a.a, scope ? &zone : NULL) < 0) return -1;
        a.family = MPX_AF_INET6;
    } else {
        const char *c1 = strchr(s, ':'), *cl = strrchr(s, ':');
        if (c1 && c1 != cl) {  /* bare IPv6, no port possible */
            if (parse_v6(s, a.a, scope ? &zone : NULL) < 0) return -1;
            a.family = MPX_AF_INET6;
        } else {
            hl = c1 ? (size_t)(c1 - s) : strlen(s);
            if (hl >= sizeof host) return -1;
            memcpy(host, s, hl);
            host[hl] = 0;
            if (c1) port_s = c1 + 1;
            if (inet_pton(AF_INET, host, a.a) != 1) return -1;
            a.family = MPX_AF_INET;
        }
    }
    if (port_s) {
        if (port_mode < 0 || parse_port(port_s, &a.port) < 0) return -1;
    } else if (port_mode > 0) {
        return -1;
    }
    *out = a;
    if (has_port) *has_port = port_s != NULL;
    if (scope) *scope = zone;
    return 0;
}

int mpx_addr_parse(const char *s, mpx_addr *out, int port_mode)
{
    return mpx_addr_parse_text(s, out, port_mode, NULL, NULL);
}

char *mpx_addr_format(const mpx_addr *a, bool with_port, char *out, size_t cap)
{
    char h[INET6_ADDRSTRLEN];
    if (!cap) return out;
    if (a->family == MPX_AF_INET) inet_ntop(AF_INET, a->a, h, sizeof h);
    else if (a->family == MPX_AF_INET6) inet_ntop(AF_INET6, a->a, h, sizeof h);
    else snprintf(h, sizeof h, "-");
    if (!with_port) snprintf(out, cap, "%s", h);
    else if (a->family == MPX_AF_INET6) snprintf(out, cap, "[%s]:%u", h, a->port);
    else snprintf(out, cap, "%s:%u", h, a->port);
    return out;
}

size_t mpx_addr_to_sockaddr(const mpx_addr *a, void *sa, size_t cap)
{
    if (a->family == MPX_AF_INET && cap >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in s4;
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_port = htons(a->port);
        memcpy(&s4.sin_addr, a->a, 4);
        memcpy(sa, &s4, sizeof s4);
        return sizeof s4;
    }
    if (a->family == MPX_AF_INET6 && cap >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 s6;
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(a->port);
        memcpy(&s6.sin6_addr, a->a, 16);
        memcpy(sa, &s6, sizeof s6);
        return sizeof s6;
    }
    return 0;
}

int mpx_addr_from_sockaddr(const void *sa, size_t len, mpx_addr *out)
{
    sa_family_t fam;
    if (len < sizeof fam) return -1;
    memcpy(&fam, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof fam);
    if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in s4;
        memcpy(&s4, sa, sizeof s4);
        *out = mpx_addr_v4b((const uint8_t *)&s4.sin_addr, ntohs(s4.sin_port));
        return 0;
    }
    if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 s6;
        memcpy(&s6, sa, sizeof s6);
        *out = mpx_addr_v6((const uint8_t *)&s6.sin6_addr, ntohs(s6.sin6_port));
        return 0;
    }
    return -1;
}
