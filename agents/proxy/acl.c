/* Access control (RFC 8803 s9): client prefixes allowed (the internal realm; none given = no
 * client: the proxy refuses until told who its clients are), targets refused by default (RFC
 * 6890 special purpose: unspecified, loopback, multicast, limited broadcast, plus the proxy's
 * own addresses: no hairpin to the proxy itself) and by --deny-target, per-client and global
 * connection limits. */
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "agents/proxy/proxy.h"

static mpx_addr local_addrs[128];
static int n_local;
static int64_t local_at;

/* IPv4-mapped IPv6 addresses are compared as IPv4. */
static mpx_addr norm(const mpx_addr *a)
{
    if (a->family == MPX_AF_INET6 && mpx_addr_is_v4mapped(a->a)) return mpx_addr_from_mapped(a->a, a->port);
    return *a;
}

int prefix_parse(const char *s, struct prefix *p)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *sl = strchr(buf, '/');
    int len = -1;
    if (sl) {
        *sl = 0;
        char *end;
        long v = strtol(sl + 1, &end, 10);
        if (*end || v < 0) return -1;
        len = (int)v;
    }
    mpx_addr a;
    if (mpx_addr_parse(buf, &a, -1) < 0) return -1;
    if (a.family == MPX_AF_INET6 && mpx_addr_is_v4mapped(a.a)) {
        /* ::ffff:a.b.c.d/L is an IPv6 length: keep it as the IPv4 prefix /(L-96) */
        if (len >= 0 && len < 96) return -1;
        if (len >= 0) len -= 96;
    }
    a = norm(&a);
    int max = a.family == MPX_AF_INET ? 32 : 128;
    if (len < 0) len = max;
    if (len > max) return -1;
    p->a = a; p->len = len;
    return 0;
}

bool prefix_match(const struct prefix *p, const mpx_addr *a0)
{
    mpx_addr a = norm(a0);
    if (a.family != p->a.family) return false;
    int full = p->len / 8, rest = p->len % 8;
    if (memcmp(a.a, p->a.a, (size_t)full)) return false;
    if (rest) {
        uint8_t m = (uint8_t)(0xff << (8 - rest));
        if ((a.a[full] & m) != (p->a.a[full] & m)) return false;
    }
    return true;
}

bool acl_client_allowed(const mpx_addr *a)
{
    if (cfg.n_allow == 0) return false;  /* no open default: RFC 8803 s9, the external realm */
    for (int i = 0; i < cfg.n_allow; i++)
        if (prefix_match(&cfg.allow[i], a)) return true;
    return false;
}

void acl_refresh_local(void)
{
    struct ifaddrs *ifa, *i;
    local_at = now_us();
    if (getifaddrs(&ifa) < 0) return;
    n_local = 0;
    for (i = ifa; i && n_local < 128; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        mpx_addr a;
        if (i->ifa_addr->sa_family == AF_INET)
            mpx_addr_from_sockaddr(i->ifa_addr, sizeof(struct sockaddr_in), &a);
        else if (i->ifa_addr->sa_family == AF_INET6)
            mpx_addr_from_sockaddr(i->ifa_addr, sizeof(struct sockaddr_in6), &a);
        else continue;
        local_addrs[n_local++] = a;
    }
    freeifaddrs(ifa);
}

int acl_target_check(const mpx_addr *a0, const char **why)
{
    mpx_addr a = norm(a0);
    mpx_addr_class k = mpx_addr_classify(&a);
    if (k != MPX_ADDR_OK) { *why = mpx_addr_class_name(k); return -1; }
    if (a.port == 0) { *why = "port 0"; return -1; }
    for (int i = 0; i < cfg.n_deny; i++)
        if (prefix_match(&cfg.deny[i], &a)) { *why = "deny-target"; return -1; }
    /* the list is refreshed every 5 s so addresses added later are covered too */
    if (now_us() - local_at > 5000000) acl_refresh_local();
    for (int i = 0; i < n_local; i++) {
        mpx_addr l = norm(&local_addrs[i]);
        if (l.family == a.family && !memcmp(l.a, a.a, l.family == MPX_AF_INET ? 4 : 16)) {
            *why = "proxy's own address"; return -1;
        }
    }
    return 0;
}

/* ---- per-client connection counts: chained hash on the address ---- */
struct client_ent { struct client_ent *next; mpx_addr a; int n; };
#define NBUCKET 4096
static struct client_ent *bucket[NBUCKET];

static unsigned hash_addr(const mpx_addr *a)
{
    unsigned h = 2166136261u;
    for (int i = 0; i < 16; i++) h = (h ^ a->a[i]) * 16777619u;
    return (h ^ a->family) % NBUCKET;
}

struct client_ent *client_get(const mpx_addr *a0)
{
    mpx_addr a = norm(a0);
    a.port = 0;
    unsigned h = hash_addr(&a);
    for (struct client_ent *e = bucket[h]; e; e = e->next)
        if (mpx_addr_eq(&e->a, &a)) { e->n++; return e; }
    struct client_ent *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->a = a; e->n = 1; e->next = bucket[h]; bucket[h] = e;
    return e;
}

void client_put(struct client_ent *e)
{
    if (!e || --e->n > 0) return;
    unsigned h = hash_addr(&e->a);
    for (struct client_ent **pp = &bucket[h]; *pp; pp = &(*pp)->next)
        if (*pp == e) { *pp = e->next; free(e); return; }
}

int client_count(const struct client_ent *e) { return e ? e->n : 0; }
