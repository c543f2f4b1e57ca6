/* Per-subflow byte counts of an MPTCP socket (MPTCP_TCPINFO, Linux 5.16+), for the JSON
 * record: which links carried the response. Its own file because it needs the kernel's
 * struct tcp_info (linux/tcp.h), which clashes with netinet/tcp.h used elsewhere. */
#include <linux/mptcp.h>
#include <stdbool.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agents/client/client.h"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

#define SF_MAX 8

int client_subflow_bytes(int fd, bool acked, char *out, size_t n)
{
    struct {
        struct mptcp_subflow_data h;
        struct tcp_info ti[SF_MAX];
    } b;
    socklen_t len = sizeof b;
    memset(&b, 0, sizeof b);
    b.h.size_subflow_data = sizeof b.h;
    b.h.size_user = sizeof b.ti[0];
    if (n < 3 || getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO, &b, &len) < 0 ||
        b.h.num_subflows == 0)
        return -1;
    /* the kernel fills at most what fits; it reports how many subflows there are */
    uint32_t k = b.h.num_subflows < SF_MAX ? b.h.num_subflows : SF_MAX;
    size_t off = 0;
    out[off++] = '[';
    for (uint32_t i = 0; i < k; i++) {
        int w = snprintf(out + off, n - off, "%s%llu", i ? "," : "",
                         (unsigned long long)(acked ? b.ti[i].tcpi_bytes_acked
                                                        : b.ti[i].tcpi_bytes_received));
        if (w < 0 || (size_t)w >= n - off - 1)
            return -1;
        off += (size_t)w;
    }
    out[off++] = ']';
    out[off] = '\0';
    return (int)k;
}
