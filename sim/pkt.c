/* Simulated packets and the real frames they make: Ethernet + IPv4 (+ Router Alert) + TCP
 * with the option bytes the endpoint chose, checksums valid, so a simulated pcap reads like
 * an emulated one. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "proto/ippkt.h"
#include "sim/sim.h"

/* freed packets are kept for reuse: a run allocates a packet per segment otherwise */
static struct sim_pkt *g_free;

struct sim_pkt *sim_pkt_new(void)
{
    struct sim_pkt *p = g_free;
    if (!p) return calloc(1, sizeof(struct sim_pkt));
    g_free = p->next;
    memset(p, 0, sizeof *p);
    return p;
}

void sim_pkt_free(struct sim_pkt *p)
{
    if (!p) return;
    free(p->data);
    p->data = NULL;
    p->next = g_free;
    g_free = p;
}

uint32_t sim_pkt_wire_len(const struct sim_pkt *p)
{
    return 14 + 20 + (p->ra ? 4 : 0) + 20 + p->optlen + p->plen;
}

static void put16(uint8_t *b, uint16_t v) { b[0] = v >> 8, b[1] = v & 0xff; }
static void put32(uint8_t *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b + 2, v & 0xffff);
}

uint32_t sim_pkt_frame(const struct sim_pkt *p, uint8_t *buf, size_t cap)
{
    uint32_t len = sim_pkt_wire_len(p);
    if (len > cap) return 0;
    memset(buf, 0, 14 + 20 + 4 + 20);
    /* locally administered MACs derived from the addresses: stable per host */
    buf[0] = 0x02, put32(buf + 2, p->dst);
    buf[6] = 0x02, put32(buf + 8, p->src);
    put16(buf + 12, 0x0800);
    uint8_t *ip = buf + 14;
    unsigned ihl = p->ra ? 24 : 20;
    ip[0] = 0x40 | (uint8_t)(ihl / 4);
    put16(ip + 2, (uint16_t)(len - 14));
    ip[6] = 0x40; /* DF */
    ip[8] = 64, ip[9] = 6;
    put32(ip + 12, p->src), put32(ip + 16, p->dst);
    if (p->ra) ip[20] = 0x94, ip[21] = 4; /* RFC 2113, value 0 */
    put16(ip + 10, (uint16_t)~mpx_ipcsum_fold(mpx_ipcsum_add(0, ip, ihl)));
    uint8_t *t = ip + ihl;
    put16(t, p->sport), put16(t + 2, p->dport);
    put32(t + 4, p->seq), put32(t + 8, p->ack);
    t[12] = (uint8_t)(((20 + p->optlen) / 4) << 4);
    t[13] = p->flags;
    put16(t + 14, 64240);
    memcpy(t + 20, p->opt, p->optlen);
    if (p->plen) memcpy(t + 20 + p->optlen, p->data, p->plen);
    uint32_t l4 = 20 + p->optlen + p->plen;
    put16(t + 16, mpx_ipcsum_l4(AF_INET, ip + 12, ip + 16, 6, t, l4));
    return len;
}
