// SPDX-License-Identifier: GPL-2.0
/* mpx optexp: the second encoding of the experimental SYN signals: an RFC 6994
 * experimental option, kind 253 with a 16-bit ExID, written into kernel-made SYNs by a cgroup
 * sock_ops program (no packet mangling) and read back from SYNs on the passive side.
 * (A second kind-30 option cannot be written from BPF: MPTCP's own kind-30 option is already
 * there and bpf_store_hdr_opt returns -EEXIST; kernel-facts.md Q5.)
 *
 * Wire format (proto/exid.h): FD LEN 4D 50 <body>, body = the kind-30 option's bytes after
 * kind/len, i.e. MP_PREFER_PROXY is FD 06 4D 50 E0 00.
 *
 * Maps (pinned by bpftool with `pinmaps DIR`):
 *   optexp_cfg   dst (family, port, addr) -> option bytes to add to SYNs to that destination;
 *                the all-zero key means "every SYN"
 *   optexp_seen  peer (family, port, addr) -> the kind-253/0x4D50 option its SYN carried
 *   optexp_stats [0] SYNs given the option, [1] reserve failures (no room), [2] SYNs read
 *                with the option, [3] SYNs read without it
 * One program serves both sides (active: TCP_CONNECT_CB; passive: TCP_LISTEN_CB). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "proto/exid.h"

#define OPT_MAX MPX_EXP253_MAX
#define AF4 2
#define AF6 10

struct key {
    __u8  family;   /* 4 or 6; 0 in the wildcard key */
    __u8  pad;
    __u16 port;     /* host order */
    __u8  addr[16]; /* network order; IPv4 in addr[0..3] */
};

struct val {
    __u8 len;
    __u8 data[OPT_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct key);
    __type(value, struct val);
} optexp_cfg SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, struct key);
    __type(value, struct val);
} optexp_seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} optexp_stats SEC(".maps");

static __always_inline void count(__u32 i)
{
    __u64 *v = bpf_map_lookup_elem(&optexp_stats, &i);
    if (v) __sync_fetch_and_add(v, 1);
}

/* The peer of this socket as a map key; v4-mapped IPv6 peers become IPv4. */
static __always_inline void peer_key(struct bpf_sock_ops *s, struct key *k)
{
    __builtin_memset(k, 0, sizeof *k);
    k->port = (__u16)bpf_ntohl(s->remote_port);
    if (s->family == AF4) {
        k->family = 4;
        __builtin_memcpy(k->addr, &s->remote_ip4, 4);
    } else if (s->family == AF6) {
        __u32 a0 = s->remote_ip6[0], a1 = s->remote_ip6[1], a2 = s->remote_ip6[2], a3 = s->remote_ip6[3];
        if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff)) {
            k->family = 4;
            __builtin_memcpy(k->addr, &a3, 4);
        } else {
            k->family = 6;
            __builtin_memcpy(k->addr, &a0, 4);
            __builtin_memcpy(k->addr + 4, &a1, 4);
            __builtin_memcpy(k->addr + 8, &a2, 4);
            __builtin_memcpy(k->addr + 12, &a3, 4);
        }
    }
}

static __always_inline struct val *cfg_for(struct bpf_sock_ops *s)
{
    struct key k;
    struct val *v;
    peer_key(s, &k);
    v = bpf_map_lookup_elem(&optexp_cfg, &k);
    if (v) return v;
    __builtin_memset(&k, 0, sizeof k);
    return bpf_map_lookup_elem(&optexp_cfg, &k);
}

static __always_inline void set_flag(struct bpf_sock_ops *s)
{
    bpf_sock_ops_cb_flags_set(s, s->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
}

/* Passive side, while the SYN/ACK is being built: the just-received SYN is searchable. */
static __always_inline void read_syn(struct bpf_sock_ops *s)
{
    struct val v;
    struct key k;
    __builtin_memset(&v, 0, sizeof v);
    v.data[0] = MPX_EXP253_KIND;
    v.data[1] = MPX_EXP253_HDR;  /* search by kind + a 2-byte ExID */
    v.data[2] = MPX_EXP253_EXID_HI;
    v.data[3] = MPX_EXP253_EXID_LO;
    long n = bpf_load_hdr_opt(s, v.data, sizeof v.data, BPF_LOAD_HDR_OPT_TCP_SYN);
    if (n <= 0) { count(3); return; }
    v.len = (__u8)n;
    peer_key(s, &k);
    bpf_map_update_elem(&optexp_seen, &k, &v, BPF_ANY);
    count(2);
}

SEC("sockops")
int mpx_optexp(struct bpf_sock_ops *s)
{
    __u32 flags = s->skb_tcp_flags;
    struct val *v;
    switch (s->op) {
    case BPF_SOCK_OPS_TCP_CONNECT_CB:
    case BPF_SOCK_OPS_TCP_LISTEN_CB:
        set_flag(s);
        break;
    case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
        if ((flags & 0x12) == 0x12) {          /* SYN/ACK: look at the SYN */
            read_syn(s);
            break;
        }
        if (!(flags & 0x02)) break;            /* only SYNs carry the signal */
        v = cfg_for(s);
        if (!v || v->len < 4 || v->len > OPT_MAX) break;
        if (bpf_reserve_hdr_opt(s, v->len, 0) < 0) count(1);
        break;
    case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
        if ((flags & 0x12) != 0x02) break;
        v = cfg_for(s);
        if (!v) break;
        __u32 len = v->len;
        if (len < 4 || len > OPT_MAX) break;
        if (bpf_store_hdr_opt(s, v->data, len, 0) == 0) count(0);
        break;
    default:
        break;
    }
    return 1;
}

char _license[] SEC("license") = "GPL";
