/* Configuration defaults and small helpers shared by every module (kept out of main.c so
 * the unit tests can link all modules but main). */
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"

struct config cfg = {
    .max_per_client = 0, .max_conns = 0, .cookie_len = 8, .stall_guard = true,
    .stall_guard_max_ms = 3000, .header_timeout_ms = 5000, .connect_timeout_ms = 10000,
    .linger_ms = 2000, .drain_timeout_ms = 30000, .idle_timeout_ms = 7440000,
    .tfo_qlen = 4096, .backlog = 4096,
    .splice = true, .pipe_size = 0, .allow_hairpin = true,
};
bool draining;

/* ---- small utilities shared by the modules ---- */
void sa_to_addr(const struct sockaddr_storage *ss, mpx_addr *a)
{
    size_t l = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    memset(a, 0, sizeof *a);
    if (mpx_addr_from_sockaddr(ss, l, a) < 0) return;
    if (a->family == MPX_AF_INET6 && mpx_addr_is_v4mapped(a->a)) *a = mpx_addr_from_mapped(a->a, a->port);
}

const char *addr_str(const mpx_addr *a, char *buf, size_t cap)
{
    return mpx_addr_format(a, true, buf, cap);
}

