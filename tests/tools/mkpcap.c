/* mpx-mkpcap: writes the hand-built corner-case captures mpx-analyze is tested with.
 * Every option and payload is encoded with proto/ (the same library the analyzer decodes
 * with), except where a scenario needs bytes proto/ would refuse to encode (an overrun
 * option, a zero-length TLV): those are written by hand and say so.
 *
 *   mpx-mkpcap [--linktype en10mb|sll|sll2|raw|null|loop] [--v6] [--snaplen N] [--repeat N] SCENARIO OUT
 *   (--repeat N: the legs-* story N times, 2 s apart, other ports, seeds and keys)
 *   mpx-mkpcap --list
 * Exit 0 ok, 2 usage, 3 write error. */
#include "proto/convert.h"
#include "proto/ippkt.h"
#include "proto/mpconvert.h"
#include "proto/mpopt.h"
#include "proto/mptcp.h"
#include "proto/socks5.h"
#include "proto/tcpopt.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/parse.h"
#include "lib/pattern.h"

enum { LT_EN10MB = 1, LT_RAW = 101, LT_NULL = 0, LT_LOOP = 108, LT_SLL = 113, LT_SLL2 = 276 };

typedef struct {
    FILE   *f;
    int     lt;
    unsigned snaplen;
    bool    v6;
    int64_t t;        /* current time, us */
    unsigned seg_cap; /* when set: capture only this many bytes of the next frames (option cuts) */
    bool ng; /* pcapng with two interfaces: 0 Ethernet, 1 raw IP (one per flow, alternating) */
    int nflows;
} W;

typedef struct {
    uint8_t  a[16], b[16];   /* a = client, b = server */
    uint16_t pa, pb;
    uint32_t snd[2];         /* next sequence number per direction (0 = a->b) */
    bool     ra;             /* IPv4 Router Alert on the client's SYN */
    int ifc;                 /* pcapng interface of this flow */
} F;

static void put32le(FILE *f, uint32_t v) { uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) }; fwrite(b, 1, 4, f); }
static void put16le(FILE *f, uint16_t v) { uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) }; fwrite(b, 1, 2, f); }

/* pcapng (draft-ietf-opsawg-pcapng): Section Header, then one Interface Description per link
 * type, then Enhanced Packet Blocks (microsecond timestamps, the default if_tsresol). */
static void ng_hdr(W *w)
{
    put32le(w->f, 0x0A0D0D0A);
    put32le(w->f, 28);
    put32le(w->f, 0x1A2B3C4D);
    put16le(w->f, 1);
    put16le(w->f, 0);
    put32le(w->f, 0xffffffff);
    put32le(w->f, 0xffffffff);
    put32le(w->f, 28);
    const int lts[2] = { LT_EN10MB, LT_RAW };
    for (int i = 0; i < 2; i++) {
        put32le(w->f, 1);
        put32le(w->f, 20);
        put16le(w->f, (uint16_t)lts[i]);
        put16le(w->f, 0);
        put32le(w->f, w->snaplen);
        put32le(w->f, 20);
    }
}

static void rec(W *w, int ifc, const uint8_t *frame, size_t cap, size_t len)
{
    if (w->ng) {
        size_t pad = (4 - cap % 4) % 4;
        uint32_t bl = (uint32_t)(32 + cap + pad);
        uint64_t ts = (uint64_t)w->t;
        put32le(w->f, 6);
        put32le(w->f, bl);
        put32le(w->f, (uint32_t)ifc);
        put32le(w->f, (uint32_t)(ts >> 32));
        put32le(w->f, (uint32_t)ts);
        put32le(w->f, (uint32_t)cap);
        put32le(w->f, (uint32_t)len);
        fwrite(frame, 1, cap, w->f);
        static const uint8_t z[4];
        fwrite(z, 1, pad, w->f);
        put32le(w->f, bl);
        return;
    }
    put32le(w->f, (uint32_t)(w->t / 1000000));
    put32le(w->f, (uint32_t)(w->t % 1000000));
    put32le(w->f, (uint32_t)cap);
    put32le(w->f, (uint32_t)len);
    fwrite(frame, 1, cap, w->f);
}

static void pcap_hdr(W *w)
{
    put32le(w->f, 0xa1b2c3d4); put16le(w->f, 2); put16le(w->f, 4);
    put32le(w->f, 0); put32le(w->f, 0); put32le(w->f, w->snaplen); put32le(w->f, (uint32_t)w->lt);
}

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

/* One segment. seq < 0: use the flow's next sequence number. */
static void seg(W *w, F *fl, int dir, uint8_t flags, const uint8_t *opt, size_t optlen,
                const uint8_t *data, size_t dlen, int64_t seq_override, int64_t dt_us)
{
    w->t += dt_us;
    uint8_t frame[4096];
    size_t l2 = 0;
    const uint8_t *src = dir ? fl->b : fl->a, *dst = dir ? fl->a : fl->b;
    uint16_t sp = dir ? fl->pb : fl->pa, dp = dir ? fl->pa : fl->pb;
    uint16_t et = w->v6 ? 0x86dd : 0x0800;
    int lt = w->ng ? (fl->ifc ? LT_RAW : LT_EN10MB) : w->lt;
    switch (lt) {
    case LT_EN10MB:
        memcpy(frame, dir ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
        memcpy(frame + 6, dir ? "\x02\0\0\0\0\x02" : "\x02\0\0\0\0\x01", 6);
        wr16(frame + 12, et); l2 = 14; break;
    case LT_SLL:
        memset(frame, 0, 16); wr16(frame, dir ? 0 : 4); wr16(frame + 2, 1); wr16(frame + 4, 6);
        wr16(frame + 14, et); l2 = 16; break;
    case LT_SLL2:
        memset(frame, 0, 20); wr16(frame, et); frame[8] = 0; frame[9] = 1; frame[10] = dir ? 0 : 4; frame[11] = 6;
        l2 = 20; break;
    case LT_NULL:
        /* host byte order of the capturing machine: little endian here */
        frame[0] = w->v6 ? 10 : 2; frame[1] = frame[2] = frame[3] = 0; l2 = 4; break;
    case LT_LOOP:
        wr32(frame, w->v6 ? 10 : 2); l2 = 4; break;
    default: l2 = 0;
    }
    size_t optpad = (optlen + 3) & ~(size_t)3;
    size_t thl = 20 + optpad;
    bool ra = fl->ra && !w->v6 && dir == 0 && (flags & MPX_TH_SYN);
    size_t ihl = w->v6 ? 40 : (ra ? 20 + MPX_IPOPT_RA_LEN : 20);
    uint8_t *ip = frame + l2, *th = ip + ihl;
    size_t iplen = ihl + thl + dlen;
    memset(ip, 0, ihl + thl);
    if (w->v6) {
        ip[0] = 0x60; wr16(ip + 4, (uint16_t)(thl + dlen)); ip[6] = 6; ip[7] = 64;
        memcpy(ip + 8, src, 16); memcpy(ip + 24, dst, 16);
    } else {
        ip[0] = (uint8_t)(0x40 | ihl / 4); wr16(ip + 2, (uint16_t)iplen); ip[8] = 64; ip[9] = 6;
        wr16(ip + 6, 0x4000);
        memcpy(ip + 12, src, 4); memcpy(ip + 16, dst, 4);
        if (ra) memcpy(ip + 20, mpx_ipopt_ra, MPX_IPOPT_RA_LEN);
        wr16(ip + 10, (uint16_t)~mpx_ipcsum_fold(mpx_ipcsum_add(0, ip, ihl)));
    }
    uint32_t seq = seq_override >= 0 ? (uint32_t)seq_override : fl->snd[dir];
    wr16(th, sp); wr16(th + 2, dp); wr32(th + 4, seq);
    wr32(th + 8, (flags & MPX_TH_ACK) ? fl->snd[!dir] : 0);
    th[12] = (uint8_t)((thl / 4) << 4); th[13] = flags; wr16(th + 14, 64240);
    if (optlen) memcpy(th + 20, opt, optlen);
    if (dlen) memcpy(th + thl, data, dlen);
    wr16(th + 16, mpx_ipcsum_l4(w->v6 ? 6 : 4, src, dst, MPX_IPPROTO_TCP, th, thl + dlen));
    if (seq_override < 0 || (uint32_t)seq_override == fl->snd[dir]) {
        uint32_t adv = (uint32_t)dlen + ((flags & MPX_TH_SYN) ? 1 : 0) + ((flags & MPX_TH_FIN) ? 1 : 0);
        if (seq + adv - fl->snd[dir] < 0x80000000u) fl->snd[dir] = seq + adv;
    }
    size_t len = l2 + iplen;
    size_t cap = len < w->snaplen ? len : w->snaplen;
    if (w->seg_cap && cap > w->seg_cap) cap = w->seg_cap;
    rec(w, fl->ifc, frame, cap, len);
}

/* Option area builder. */
typedef struct { uint8_t b[64]; mpx_wr w; } O;
static void o_init(O *o) { o->w = mpx_wr_init(o->b, sizeof o->b); }
static void o_base_syn(O *o, bool ts)  /* Linux layout: MSS, SACKPERM+TS, NOP+WS */
{
    mpx_tcpopt_put_mss(&o->w, 1460);
    if (ts) { mpx_tcpopt_put_sackperm(&o->w); mpx_tcpopt_put_ts(&o->w, 1000, 0); }
    else { mpx_tcpopt_put_nop(&o->w); mpx_tcpopt_put_nop(&o->w); mpx_tcpopt_put_sackperm(&o->w); }
    mpx_tcpopt_put_nop(&o->w); mpx_tcpopt_put_ws(&o->w, 7);
}
static void o_mpc(O *o, int form, uint64_t ks, uint64_t kr, uint16_t dll)
{
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_CAPABLE;
    m.u.mpc.version = 1; m.u.mpc.flags = MPX_MPC_H;
    if (form >= 1) { m.u.mpc.has_snd_key = true; m.u.mpc.snd_key = ks; }
    if (form >= 2) { m.u.mpc.has_rcv_key = true; m.u.mpc.rcv_key = kr; }
    if (form >= 3) { m.u.mpc.has_dll = true; m.u.mpc.dll = dll; }
    mpx_mptcp_encode(&m, &o->w);
}
static void o_dss_ack(O *o, uint64_t ack)
{
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_DSS;
    m.u.dss.has_ack = true; m.u.dss.ack64 = true; m.u.dss.data_ack = ack;
    mpx_mptcp_encode(&m, &o->w);
}
static void o_dss_map(O *o, uint64_t ack, uint64_t dsn, uint32_t ssn, uint16_t dll)
{
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_DSS;
    m.u.dss.has_ack = true; m.u.dss.ack64 = true; m.u.dss.data_ack = ack;
    m.u.dss.has_map = true; m.u.dss.dsn64 = true; m.u.dss.dsn = dsn; m.u.dss.ssn = ssn; m.u.dss.dll = dll;
    mpx_mptcp_encode(&m, &o->w);
}
static void o_pad(O *o) { while (o->w.len % 4) mpx_tcpopt_put_nop(&o->w); }

static void addrs(W *w, F *f, int cli, int srv, uint16_t pa, uint16_t pb, uint32_t isa, uint32_t isb)
{
    memset(f, 0, sizeof *f);
    if (w->v6) {
        f->a[0] = 0xfd; f->a[15] = (uint8_t)cli; f->b[0] = 0xfd; f->b[1] = 1; f->b[15] = (uint8_t)srv;
    } else {
        f->a[0] = 198; f->a[1] = 18; f->a[2] = 0; f->a[3] = (uint8_t)cli;
        f->b[0] = 198; f->b[1] = 18; f->b[2] = 1; f->b[3] = (uint8_t)srv;
    }
    f->pa = pa; f->pb = pb; f->snd[0] = isa; f->snd[1] = isb;
    f->ifc = w->nflows++ % 2;
}

static mpx_addr target(W *w, uint16_t port)
{
    uint8_t t6[16] = { 0xfd, 0, 0, 2, [15] = 2 };
    return w->v6 ? mpx_addr_v6(t6, port) : mpx_addr_v4(0xC6120202u, port);  /* 198.18.2.2 */
}

static const uint8_t REQ[16] = "MPX1\0\0\0\x10\0\0\0\x08\0\0\0\0";

/* ---- scenarios ---------------------------------------------------------------------- */

/* A convert connection as the agents make it: SYN with MP_CAPABLE + Convert(Connect) + the
 * request (cookie-less TFO), SYN/ACK with MP_CAPABLE key and the converter's reply, third
 * ACK, response. Times mimic R_cp = 20 ms, R_ps = 10 ms. */
static void sc_convert(W *w, bool bad_tlv, bool reply_in_data)
{
    F f; O o;
    addrs(w, &f, 1, 1, 40000, 5124, 1000, 5000);
    uint64_t kc = 0x1122334455667788ULL, ks = 0x99aabbccddeeff00ULL;
    uint8_t pl[128];
    mpx_err e;
    mpx_addr t = target(w, 8080);
    long n = mpx_conv_encode_connect(&t, NULL, 0, NULL, 0, pl, sizeof pl, &e);
    if (bad_tlv) {
        /* hand-written: a zero-length TLV after the Connect TLV (proto/ refuses to encode it) */
        pl[1] = (uint8_t)(pl[1] + 1);
        pl[n] = 0x16; pl[n + 1] = 0; pl[n + 2] = 0; pl[n + 3] = 0;
        n += 4;
    }
    memcpy(pl + n, REQ, sizeof REQ);
    size_t plen = (size_t)n + sizeof REQ;
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, pl, plen, -1, 0);
    uint8_t rep[4] = { 1, 1, 0x22, 0x63 };
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, ks, 0, 0); o_pad(&o);
    if (!reply_in_data) seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, rep, 4, -1, 30000);
    else seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 30000);
    o_init(&o); mpx_tcpopt_put_nop(&o.w); mpx_tcpopt_put_nop(&o.w); mpx_tcpopt_put_ts(&o.w, 1030, 2000);
    o_mpc(&o, 2, kc, ks, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    uint8_t resp[12] = { 1, 1, 0x22, 0x63, 'h', 'e', 'l', 'l', 'o', '!', '!', '!' };
    o_init(&o); mpx_tcpopt_put_nop(&o.w); mpx_tcpopt_put_nop(&o.w); mpx_tcpopt_put_ts(&o.w, 2010, 1030);
    o_dss_map(&o, mpx_mptcp_idsn(kc, 1) + 1, mpx_mptcp_idsn(ks, 1) + 1, 1, reply_in_data ? 12 : 8); o_pad(&o);
    if (!reply_in_data) seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, resp + 4, 8, -1, 5000);
    else seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, resp, 12, -1, 5000);
    o_init(&o); o_dss_ack(&o, 9); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_FIN, o.b, o.w.len, NULL, 0, -1, 10000);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_FIN, o.b, o.w.len, NULL, 0, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10000);
}

/* An option that runs past the end of the area, and a zero-length option. */
static void sc_overrun(W *w)
{
    F f;
    addrs(w, &f, 2, 1, 40001, 8080, 100, 200);
    /* hand-written: MSS, then kind 8 claiming 12 bytes with only 8 left */
    uint8_t o1[12] = { 2, 4, 5, 0xb4, 8, 12, 0, 0, 0, 1, 0, 0 };
    seg(w, &f, 0, MPX_TH_SYN, o1, sizeof o1, NULL, 0, -1, 0);
    uint8_t o2[4] = { 2, 4, 5, 0xb4 };
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o2, 4, NULL, 0, -1, 1000);
    /* hand-written: a zero-length option (kind 30, length 0) on the third ACK */
    uint8_t o3[4] = { 1, 1, 30, 0 };
    seg(w, &f, 0, MPX_TH_ACK, o3, 4, NULL, 0, -1, 1000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 1000);
}

/* SYN with a 16-byte TFO cookie: MSS 4 + SACKPERM/TS 12 + WS 4 + TFO 20 = 40, no room for
 * MP_CAPABLE (protocols.md 5.2). The payload is a Convert message, so MPTCP was meant. */
static void sc_mpc_dropped(W *w)
{
    F f; O o;
    addrs(w, &f, 3, 1, 40002, 5124, 7000, 9000);
    uint8_t ck[16];
    for (int i = 0; i < 16; i++) ck[i] = (uint8_t)(0xc0 + i);
    o_init(&o); o_base_syn(&o, true); mpx_tcpopt_put_tfo(&o.w, ck, 16); o_pad(&o);
    uint8_t pl[64];
    mpx_err e;
    mpx_addr t = target(w, 8080);
    long n = mpx_conv_encode_connect(&t, NULL, 0, NULL, 0, pl, sizeof pl, &e);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, pl, (size_t)n, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    uint8_t rep[4] = { 1, 1, 0x22, 0x63 };
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, rep, 4, -1, 20000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 1000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, REQ, sizeof REQ, -1, 1000);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, (const uint8_t *)"12345678", 8, -1, 20000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 1000);
}

/* Cookie request/grant on connection 1, then the cookie used with data in the SYN on
 * connection 2, acked by its SYN/ACK. */
static void sc_cookie(W *w)
{
    F f; O o;
    uint8_t ck[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    addrs(w, &f, 4, 1, 40003, 8080, 100, 500);
    o_init(&o); o_base_syn(&o, true); mpx_tcpopt_put_tfo(&o.w, NULL, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o); o_base_syn(&o, true); mpx_tcpopt_put_tfo(&o.w, ck, 8); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 100);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, 0, NULL, 0, -1, 100);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, 0, NULL, 0, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 100);
    addrs(w, &f, 4, 1, 40004, 8080, 3000, 6000);
    o_init(&o); o_base_syn(&o, true); mpx_tcpopt_put_tfo(&o.w, ck, 8); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, REQ, sizeof REQ, -1, 100000);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, (const uint8_t *)"response", 8, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* SYN with a cookie and data; the SYN/ACK acks only the SYN; the client resends the data
 * after the handshake (RFC 7413 4.2.2). */
static void sc_syndata_nack(W *w)
{
    F f; O o;
    uint8_t ck[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
    addrs(w, &f, 5, 1, 40005, 8080, 10000, 20000);
    o_init(&o); o_base_syn(&o, true); mpx_tcpopt_put_tfo(&o.w, ck, 8); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, REQ, sizeof REQ, -1, 0);
    /* the SYN/ACK acknowledges the SYN only */
    f.snd[0] = 10001;
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, REQ, sizeof REQ, -1, 10);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, (const uint8_t *)"response", 8, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

static void mp_handshake(W *w, F *f, uint64_t kc, uint64_t ks)
{
    O o;
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, ks, 0, 0); o_pad(&o);
    seg(w, f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    o_init(&o); o_mpc(&o, 2, kc, ks, 0); o_pad(&o);
    seg(w, f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 100);
    o_init(&o); o_mpc(&o, 3, kc, ks, 16); o_pad(&o);
    seg(w, f, 0, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, REQ, sizeof REQ, -1, 100);
}

/* MPTCP connection reset with MP_TCPRST (reason 6, middlebox interference, transient). */
static void sc_tcprst(W *w)
{
    F f; O o;
    addrs(w, &f, 6, 1, 40006, 8080, 111, 222);
    mp_handshake(w, &f, 0x0102030405060708ULL, 0x1112131415161718ULL);
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_TCPRST; m.u.tcprst.transient = true; m.u.tcprst.flags = MPX_TCPRST_T;
    m.u.tcprst.reason = MPX_TCPRST_MIDDLEBOX;
    o_init(&o); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
    seg(w, &f, 1, MPX_TH_RST | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    /* and an MP_TCPRST on a segment without RST: TCPRST-NOT-RST */
    seg(w, &f, 1, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10);
}

/* ADD_ADDR with a correct HMAC and one with a wrong HMAC, from the server. */
static void sc_add_addr(W *w)
{
    F f; O o;
    uint64_t kc = 0x0a0b0c0d0e0f1011ULL, ks = 0x2122232425262728ULL;
    addrs(w, &f, 7, 1, 40007, 8080, 333, 444);
    mp_handshake(w, &f, kc, ks);
    for (int bad = 0; bad < 2; bad++) {
        mpx_mptcp_opt m;
        memset(&m, 0, sizeof m);
        m.subtype = MPX_MP_ADD_ADDR;
        m.u.add_addr.version = 1; m.u.add_addr.family = 4; m.u.add_addr.addr_id = (uint8_t)(5 + bad);
        uint8_t ip[4] = { 198, 18, 3, (uint8_t)(1 + bad) };
        memcpy(m.u.add_addr.addr, ip, 4);
        m.u.add_addr.has_hmac = true;
        m.u.add_addr.hmac = mpx_mptcp_add_addr_hmac(ks, kc, &m.u.add_addr) ^ (bad ? 1 : 0);
        o_init(&o); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
        seg(w, &f, 1, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 1000);
    }
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* MPTCP connection + an MP_JOIN subflow whose HMACs are right (join=1) or wrong (join=2). */
static void sc_join(W *w, bool bad)
{
    F f, g; O o;
    uint64_t kc = 0x3132333435363738ULL, ks = 0x4142434445464748ULL;
    addrs(w, &f, 8, 1, 40008, 8080, 555, 666);
    mp_handshake(w, &f, kc, ks);
    addrs(w, &g, 9, 1, 40009, 8080, 777, 888);
    uint32_t ra = 0xaaaa0001, rb = 0xbbbb0002;
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_SYN; m.u.mpj.addr_id = 1;
    m.u.mpj.token = mpx_mptcp_token(ks, 1); m.u.mpj.nonce = ra;
    o_init(&o); o_base_syn(&o, true); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
    seg(w, &g, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 5000);
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_SYNACK; m.u.mpj.addr_id = 0; m.u.mpj.nonce = rb;
    m.u.mpj.hmac64 = mpx_mptcp_join_hmac64(1, ks, kc, rb, ra) ^ (bad ? 0x100 : 0);
    o_init(&o); o_base_syn(&o, true); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
    seg(w, &g, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 25000);
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_ACK;
    uint8_t mac[32];
    mpx_mptcp_join_hmac(1, kc, ks, ra, rb, mac);
    memcpy(m.u.mpj.hmac, mac, 20);
    o_init(&o); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
    seg(w, &g, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 100);
    seg(w, &g, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* SOCKS5 no-auth exchange, then the request and the response. */
static void sc_socks5(W *w)
{
    F f;
    addrs(w, &f, 10, 1, 40010, 1080, 1, 2);
    uint8_t b[64];
    mpx_err e;
    seg(w, &f, 0, MPX_TH_SYN, NULL, 0, NULL, 0, -1, 0);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, NULL, 0, NULL, 0, -1, 20000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10);
    uint8_t meth = 0;
    long n = mpx_s5_encode_greeting(&meth, 1, b, sizeof b, &e);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, b, (size_t)n, -1, 10);
    n = mpx_s5_encode_choice(0, b, sizeof b, &e);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, b, (size_t)n, -1, 20000);
    mpx_addr t = target(w, 8080);
    n = mpx_s5_encode_connect(&t, b, sizeof b, &e);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, b, (size_t)n, -1, 10);
    mpx_s5_msg r;
    memset(&r, 0, sizeof r);
    r.code = 0; r.addr = mpx_addr_v4(0xC6120101u, 1080); r.port = 1080;
    n = mpx_s5_encode_reply(&r, b, sizeof b, &e);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, b, (size_t)n, -1, 40000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, REQ, sizeof REQ, -1, 10);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, (const uint8_t *)"response", 8, -1, 40000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* MP_CONVERT in the SYN payload: -09 (option bytes + EOL) or -10 IE echoed in the SYN/ACK. */
static void sc_mpconvert(W *w, bool ie)
{
    F f; O o;
    addrs(w, &f, 11, 1, 40011, ie ? 5126 : 5125, 10, 20);
    mpx_mpconv in;
    memset(&in, 0, sizeof in);
    in.addr = target(w, 8080); in.has_port = true;
    uint8_t pl[128];
    mpx_err e;
    long n = ie ? mpx_mpconv_encode_ie(&in, 1, pl, sizeof pl, &e) : mpx_mpconv_encode_09(&in, 1, pl, sizeof pl, &e);
    size_t sig = (size_t)n;
    memcpy(pl + n, REQ, sizeof REQ);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, pl, sig + sizeof REQ, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, 0x5555555555555555ULL, 0, 0); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, ie ? pl : NULL, ie ? sig : 0, -1, 40000);
    o_init(&o); o_mpc(&o, 2, 0x6666666666666666ULL, 0x5555555555555555ULL, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    o_init(&o); o_dss_map(&o, mpx_mptcp_idsn(0x6666666666666666ULL, 1) + 1, mpx_mptcp_idsn(0x5555555555555555ULL, 1) + 1, 1, 8); o_pad(&o);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, (const uint8_t *)"response", 8, -1, 100);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* Plain SYN/SYN-ACK/ACK/data with an IPv4 Router Alert on the SYN (implicit-ra marking). */
static void sc_plain(W *w, bool ra)
{
    F f; O o;
    addrs(w, &f, 12, 1, 40012, 8080, 1, 2);
    f.ra = ra;
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 30000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10);
    uint8_t big[600];
    memset(big, 'x', sizeof big);
    memcpy(big, REQ, sizeof REQ);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, big, sizeof big, -1, 10);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, (const uint8_t *)"response", 8, -1, 30000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, 0, NULL, 0, -1, 10);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, 0, NULL, 0, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10);
}

/* MPTCP connection that falls back: the SYN/ACK has no MP_CAPABLE. */
static void sc_fallback(W *w)
{
    F f; O o;
    addrs(w, &f, 13, 1, 40013, 8080, 1, 2);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 30000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* MPTCP SYN with a cookie request; the listener's SYN/ACK carries MP_CAPABLE + an 8-byte
 * cookie and, like Linux's subflow_prep_synack(), no timestamps (RFC 8684 B.1). */
static void sc_ts_dropped(W *w)
{
    F f; O o;
    uint8_t ck[8] = { 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7 };
    addrs(w, &f, 14, 1, 40014, 5124, 1, 2);
    o_init(&o); o_base_syn(&o, true); mpx_tcpopt_put_tfo(&o.w, NULL, 0); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o); o_base_syn(&o, false); mpx_tcpopt_put_tfo(&o.w, ck, 8); o_pad(&o); o_mpc(&o, 1, 0x77, 0, 0);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 20000);
    o_init(&o); o_mpc(&o, 2, 0x88, 0x77, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* MPTCP SYN lost twice; the third attempt goes without MP_CAPABLE (Linux falls back to TCP
 * after net.mptcp.syn_retrans_before_tcp_fallback). */
static void sc_syn_retx(W *w)
{
    F f; O o;
    addrs(w, &f, 15, 1, 40015, 8080, 5000, 6000);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, 5000, 1000000);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, 5000, 2000000);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 20000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* MP_CONVERT as a real kind-30 option in the SYN (IPv4 + port: 10 bytes, padded to 12). */
/* skip_ack: a plain MPTCP connection without a pure third ACK, the keys ride only in the
 * MP_CAPABLE with data (RFC 8684 3.1: the data form carries both keys) */
static void sc_mpconvert_opt(W *w, bool skip_ack)
{
    F f; O o;
    addrs(w, &f, 16, 1, 40016, 5127, 1, 2);
    mpx_mpconvert mc;
    mpx_mpconvert_init(&mc);
    mc.family = 4; memcpy(mc.addr, (uint8_t[]){ 198, 18, 2, 2 }, 4); mc.has_port = true; mc.port = 8080;
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0);
    if (!skip_ack) mpx_mpconvert_encode(&mc, &o.w);
    o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, 0x99, 0, 0); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 20000);
    if (!skip_ack) {
        o_init(&o); o_mpc(&o, 2, 0xaa, 0x99, 0); o_pad(&o);
        seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10);
    }
    o_init(&o); o_mpc(&o, 3, 0xaa, 0x99, 16); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, REQ, sizeof REQ, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* The converter answers with an Error TLV 96 (Connection Reset: the server sent RST) in its
 * first data segment; the client resets (RFC 8803 6.2.8). */
static void sc_convert_error(W *w)
{
    F f; O o;
    addrs(w, &f, 17, 1, 40017, 5124, 1, 2);
    uint8_t pl[64], rep[16];
    mpx_err e;
    mpx_addr t = target(w, 8081);
    long n = mpx_conv_encode_connect(&t, NULL, 0, NULL, 0, pl, sizeof pl, &e);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, pl, (size_t)n, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, 0x12, 0, 0); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 100);
    o_init(&o); o_mpc(&o, 2, 0x34, 0x12, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 20000);
    long r = mpx_conv_encode_error(96, NULL, 0, rep, sizeof rep, &e);
    o_init(&o); o_dss_map(&o, mpx_mptcp_idsn(0x34, 1) + 1, mpx_mptcp_idsn(0x12, 1) + 1, 1, (uint16_t)r); o_pad(&o);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, rep, (size_t)r, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10000);
}

/* An MP_JOIN SYN that carries data (never allowed: no mapping can cover it). */
static void sc_join_syn_data(W *w)
{
    F f, g; O o;
    uint64_t kc = 0x5152535455565758ULL, ks = 0x6162636465666768ULL;
    addrs(w, &f, 18, 1, 40018, 8080, 10, 20);
    mp_handshake(w, &f, kc, ks);
    addrs(w, &g, 19, 1, 40019, 8080, 30, 40);
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_SYN; m.u.mpj.addr_id = 2;
    m.u.mpj.token = mpx_mptcp_token(ks, 1); m.u.mpj.nonce = 0x01020304;
    o_init(&o); o_base_syn(&o, true); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
    seg(w, &g, 0, MPX_TH_SYN, o.b, o.w.len, REQ, sizeof REQ, -1, 5000);
    seg(w, &g, 1, MPX_TH_RST | MPX_TH_ACK, NULL, 0, NULL, 0, -1, 20000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* The server's first DSS mapping does not start at its IDSN + 1 (DSN 1000 for SSN 1). */
static void sc_idsn_bad(W *w)
{
    F f; O o;
    uint64_t kc = 0x7172737475767778ULL, ks = 0x8182838485868788ULL;
    addrs(w, &f, 20, 1, 40020, 8080, 100, 200);
    mp_handshake(w, &f, kc, ks);
    o_init(&o); o_dss_map(&o, mpx_mptcp_idsn(kc, 1) + 17, 1000, 1, 8); o_pad(&o);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, (const uint8_t *)"response", 8, -1, 10000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* Implicit interception seen on two links: "implicit-dsl" holds the client's MPTCP
 * connection to the server address (answered by the on-path proxy), "implicit-wan" the
 * proxy's new plain TCP connection to the server (client address preserved, new ISN). The
 * two files share one clock. */
static void sc_implicit(W *w, bool wan)
{
    F f; O o;
    addrs(w, &f, 21, 7, 40021, 8080, 1000, 2000);
    if (!wan) {
        o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
        seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
        o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, 0x1234, 0, 0); o_pad(&o);
        seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 21000);
        o_init(&o); o_mpc(&o, 3, 0x5678, 0x1234, 16); o_pad(&o);
        seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, REQ, sizeof REQ, -1, 10);
        o_init(&o); o_dss_map(&o, mpx_mptcp_idsn(0x5678, 1) + 17, mpx_mptcp_idsn(0x1234, 1) + 1, 1, 8); o_pad(&o);
        seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, (const uint8_t *)"response", 8, -1, 30000);
        seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
    } else {
        f.snd[0] = 777777;   /* the proxy's own ISN */
        o_init(&o); o_base_syn(&o, true); o_pad(&o);
        seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 1000);
        seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
        seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, REQ, sizeof REQ, -1, 10020);
        seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, 0, (const uint8_t *)"response", 8, -1, 10000);
        seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
    }
}

/* DSS mappings with checksums (RFC 8684 3.3.1): the server's first one right, the second
 * one wrong. */
static void sc_dss_csum(W *w)
{
    F f; O o;
    uint64_t kc = 0x9192939495969798ULL, ks = 0xa1a2a3a4a5a6a7a8ULL;
    addrs(w, &f, 22, 1, 40022, 8080, 300, 400);
    mp_handshake(w, &f, kc, ks);
    uint64_t dsn = mpx_mptcp_idsn(ks, 1) + 1;
    const uint8_t *msg[2] = { (const uint8_t *)"response-one", (const uint8_t *)"response-two" };
    for (int i = 0; i < 2; i++) {
        mpx_mptcp_opt m;
        memset(&m, 0, sizeof m);
        m.subtype = MPX_MP_DSS;
        m.u.dss.has_ack = true; m.u.dss.ack64 = true; m.u.dss.data_ack = mpx_mptcp_idsn(kc, 1) + 17;
        m.u.dss.has_map = true; m.u.dss.dsn64 = true; m.u.dss.dsn = dsn + 12u * (unsigned)i;
        m.u.dss.ssn = 1 + 12u * (unsigned)i; m.u.dss.dll = 12; m.u.dss.has_csum = true;
        m.u.dss.csum = (uint16_t)(mpx_mptcp_dss_csum(m.u.dss.dsn, m.u.dss.ssn, 12, msg[i], 12) ^ (i ? 0x0101 : 0));
        o_init(&o); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
        seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, msg[i], 12, -1, 10000);
    }
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* implicit-prefer marking: MP_PREFER_PROXY (plain-mode-10 4, 4 bytes) next to MP_CAPABLE. */
static void sc_prefer(W *w)
{
    F f; O o;
    addrs(w, &f, 23, 1, 40023, 8080, 10, 20);
    mpx_prefer_proxy pp = { .subtype = MPX_MPOPT_SUBTYPE_DEFAULT, .rsv = 0 };
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); mpx_prefer_proxy_encode(&pp, &o.w); o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, 0xbb, 0, 0); o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 20000);
    o_init(&o); o_mpc(&o, 2, 0xcc, 0xbb, 0); o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* MPTCP v0 (RFC 6824) with checksums, as the out-of-tree v0 kernel sends it: keys in every
 * MP_CAPABLE, 32-bit data sequence numbers and data ACKs, DSS checksums (flag A), an MP_JOIN
 * subflow (HMAC-SHA1) carrying mappings in both directions. Key-derived values are SHA-1
 * based for v0 (RFC 6824 3.1); the 64-bit DSN in the checksum pseudo-header is the IDSN-based
 * one even where the option carries 32 bits (RFC 6824 3.3.1). */
static void o_mpc_v0(O *o, int form, uint64_t ks, uint64_t kr)
{
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_CAPABLE;
    m.u.mpc.version = 0;
    m.u.mpc.flags = MPX_MPC_A | MPX_MPC_H;
    m.u.mpc.has_snd_key = true;
    m.u.mpc.snd_key = ks;
    if (form >= 2) {
        m.u.mpc.has_rcv_key = true;
        m.u.mpc.rcv_key = kr;
    }
    mpx_mptcp_encode(&m, &o->w);
}
static void o_dss32(O *o, uint32_t ack, uint64_t dsn64, uint32_t ssn, const uint8_t *data,
                    uint16_t dll)
{
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_DSS;
    m.u.dss.has_ack = true;
    m.u.dss.data_ack = ack;
    m.u.dss.has_map = true;
    m.u.dss.dsn = (uint32_t)dsn64;
    m.u.dss.ssn = ssn;
    m.u.dss.dll = dll;
    m.u.dss.has_csum = true;
    m.u.dss.csum = mpx_mptcp_dss_csum(dsn64, ssn, dll, data, dll);
    mpx_mptcp_encode(&m, &o->w);
}
static void sc_v0_csum(W *w)
{
    F f, g;
    O o;
    uint64_t kc = 0xc1c2c3c4c5c6c7c8ULL, ks = 0xd1d2d3d4d5d6d7d8ULL;
    uint64_t ic = mpx_mptcp_idsn(kc, 0), is = mpx_mptcp_idsn(ks, 0);
    addrs(w, &f, 24, 1, 40024, 8080, 1000, 2000);
    o_init(&o);
    o_base_syn(&o, true);
    o_mpc_v0(&o, 1, kc, 0);
    o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 0);
    o_init(&o);
    o_base_syn(&o, true);
    o_mpc_v0(&o, 1, ks, 0);
    o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 10000);
    o_init(&o);
    o_mpc_v0(&o, 2, kc, ks);
    o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 100);
    const uint8_t *q1 = (const uint8_t *)"GET /v0 HTTP/1.0\r\n",
                  *q2 = (const uint8_t *)"Host: x\r\n\r\n";
    const uint8_t *r1 = (const uint8_t *)"HTTP/1.0 200 OK\r\n\r\n",
                  *r2 = (const uint8_t *)"v0 body over the join";
    uint16_t l1 = 18, l2 = 11, m1 = 19, m2 = 21;
    o_init(&o);
    o_dss32(&o, (uint32_t)(is + 1), ic + 1, 1, q1, l1);
    o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, q1, l1, -1, 100);
    o_init(&o);
    o_dss32(&o, (uint32_t)(ic + 1 + l1), is + 1, 1, r1, m1);
    o_pad(&o);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, r1, m1, -1, 10000);
    /* the join subflow */
    addrs(w, &g, 25, 1, 40025, 8080, 3000, 4000);
    uint32_t ra = 0x0a0b0c0d, rb = 0x01020304;
    mpx_mptcp_opt m;
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN;
    m.u.mpj.form = MPX_MPJ_SYN;
    m.u.mpj.addr_id = 1;
    m.u.mpj.token = mpx_mptcp_token(ks, 0);
    m.u.mpj.nonce = ra;
    o_init(&o);
    o_base_syn(&o, true);
    mpx_mptcp_encode(&m, &o.w);
    o_pad(&o);
    seg(w, &g, 0, MPX_TH_SYN, o.b, o.w.len, NULL, 0, -1, 1000);
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN;
    m.u.mpj.form = MPX_MPJ_SYNACK;
    m.u.mpj.addr_id = 0;
    m.u.mpj.nonce = rb;
    m.u.mpj.hmac64 = mpx_mptcp_join_hmac64(0, ks, kc, rb, ra);
    o_init(&o);
    o_base_syn(&o, true);
    mpx_mptcp_encode(&m, &o.w);
    o_pad(&o);
    seg(w, &g, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 20000);
    memset(&m, 0, sizeof m);
    m.subtype = MPX_MP_JOIN;
    m.u.mpj.form = MPX_MPJ_ACK;
    uint8_t mac[32];
    mpx_mptcp_join_hmac(0, kc, ks, ra, rb, mac);
    memcpy(m.u.mpj.hmac, mac, 20);
    o_init(&o);
    mpx_mptcp_encode(&m, &o.w);
    o_pad(&o);
    seg(w, &g, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 100);
    o_init(&o);
    o_dss32(&o, (uint32_t)(is + 1 + m1), ic + 1 + l1, 1, q2, l2);
    o_pad(&o);
    seg(w, &g, 0, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, q2, l2, -1, 100);
    o_init(&o);
    o_dss32(&o, (uint32_t)(ic + 1 + l1 + l2), is + 1 + m1, 1, r2, m2);
    o_pad(&o);
    seg(w, &g, 1, MPX_TH_ACK | MPX_TH_PSH, o.b, o.w.len, r2, m2, -1, 20000);
    seg(w, &g, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* One connection with more violations than the analyzer keeps details of (4096): 500 ACKs
 * whose option area holds ten MSS options (MSS outside a SYN, and repeated). */
static void sc_many_violations(W *w)
{
    F f;
    addrs(w, &f, 26, 1, 40026, 8080, 100, 200);
    seg(w, &f, 0, MPX_TH_SYN, NULL, 0, NULL, 0, -1, 0);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, NULL, 0, NULL, 0, -1, 1000);
    uint8_t o[40];
    for (int i = 0; i < 10; i++) {
        o[4 * i] = 2;
        o[4 * i + 1] = 4;
        o[4 * i + 2] = 5;
        o[4 * i + 3] = 0xb4;
    }
    for (int i = 0; i < 500; i++) seg(w, &f, 0, MPX_TH_ACK, o, sizeof o, NULL, 0, -1, 10);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* Option areas cut by the snaplen (per-frame capture length), each with or without a fault in
 * the captured bytes: a 3-byte DSS before the cut; an option whose length runs past the
 * 40-byte area although the capture stops earlier; a clean area cut inside the timestamps. */
static void sc_opt_cut(W *w)
{
    F f;
    O o;
    uint64_t kc = 0xe1e2e3e4e5e6e7e8ULL, ks = 0xf1f2f3f4f5f6f7f8ULL;
    addrs(w, &f, 27, 1, 40027, 8080, 500, 600);
    mp_handshake(w, &f, kc, ks);
    size_t hdr = 14 + (w->v6 ? 40 : 20) + 20;
    /* 1: DSS of length 3 (no flags byte), then timestamps; captured up to byte 5 */
    uint8_t a1[16] = { 30, 3, 0x20, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0 };
    w->seg_cap = (unsigned)(hdr + 5);
    seg(w, &f, 0, MPX_TH_ACK, a1, sizeof a1, NULL, 0, -1, 100);
    /* 2: NOP NOP, kind 8 claiming 44 bytes in a 12-byte area; captured up to byte 6 */
    uint8_t a2[12] = { 1, 1, 8, 44, 0, 0, 0, 1, 0, 0, 0, 2 };
    w->seg_cap = (unsigned)(hdr + 6);
    seg(w, &f, 1, MPX_TH_ACK, a2, sizeof a2, NULL, 0, -1, 100);
    /* 3: clean NOP NOP TS + DSS ack, cut inside the timestamps */
    o_init(&o);
    mpx_tcpopt_put_nop(&o.w);
    mpx_tcpopt_put_nop(&o.w);
    mpx_tcpopt_put_ts(&o.w, 7, 8);
    o_dss_ack(&o, mpx_mptcp_idsn(ks, 1) + 1);
    o_pad(&o);
    w->seg_cap = (unsigned)(hdr + 6);
    seg(w, &f, 0, MPX_TH_ACK, o.b, o.w.len, NULL, 0, -1, 100);
    w->seg_cap = 0;
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 100);
}

/* A jumbogram (RFC 2675: IPv6 Payload Length 0 and a Hop-by-Hop Jumbo Payload option) or an
 * IPv4 BIG TCP packet (Linux: Total Length 0): 70000 data bytes, captured to 160 bytes. */
static void sc_jumbo(W *w, bool v6)
{
    F f;
    w->v6 = v6;
    addrs(w, &f, 28, 1, 40028, 8080, 100, 200);
    seg(w, &f, 0, MPX_TH_SYN, NULL, 0, NULL, 0, -1, 0);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, NULL, 0, NULL, 0, -1, 1000);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10);
    const size_t dlen = 70000, hbh = v6 ? 8 : 0, ihl = v6 ? 40 : 20;
    size_t len = 14 + ihl + hbh + 20 + dlen;
    uint8_t *fr = calloc(1, len);
    if (!fr) return;
    memcpy(fr, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
    wr16(fr + 12, v6 ? 0x86dd : 0x0800);
    uint8_t *ip = fr + 14, *th = ip + ihl + hbh;
    if (v6) {
        ip[0] = 0x60;
        ip[6] = 0;
        ip[7] = 64; /* Payload Length 0, Next Header Hop-by-Hop */
        memcpy(ip + 8, f.a, 16);
        memcpy(ip + 24, f.b, 16);
        ip[40] = 6;
        ip[41] = 0;
        ip[42] = 0xc2;
        ip[43] = 4;
        wr32(ip + 44, (uint32_t)(hbh + 20 + dlen));
    } else {
        ip[0] = 0x45;
        ip[8] = 64;
        ip[9] = 6;
        wr16(ip + 6, 0x4000); /* Total Length 0 */
        memcpy(ip + 12, f.a, 4);
        memcpy(ip + 16, f.b, 4);
        wr16(ip + 10, (uint16_t)~mpx_ipcsum_fold(mpx_ipcsum_add(0, ip, 20)));
    }
    wr16(th, f.pa);
    wr16(th + 2, f.pb);
    wr32(th + 4, f.snd[0]);
    wr32(th + 8, f.snd[1]);
    th[12] = 5 << 4;
    th[13] = MPX_TH_ACK | MPX_TH_PSH;
    wr16(th + 14, 64240);
    for (size_t i = 0; i < dlen; i++) th[20 + i] = (uint8_t)('a' + i % 26);
    wr16(th + 16, mpx_ipcsum_l4(v6 ? 6 : 4, ip + (v6 ? 8 : 12), ip + (v6 ? 24 : 16),
                                MPX_IPPROTO_TCP, th, 20 + dlen));
    f.snd[0] += (uint32_t)dlen;
    w->t += 10;
    rec(w, f.ifc, fr, 160, len);
    free(fr);
    seg(w, &f, 1, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 1000);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, 0, NULL, 0, -1, 10);
}

/* RFC 8803 6.2.3: a Convert message with only an Info TLV (the client asks which TCP
 * extensions the converter supports); the converter answers Supported TCP Extensions in its
 * SYN/ACK and both sides close. */
static void sc_convert_info(W *w)
{
    F f;
    O o;
    addrs(w, &f, 29, 1, 40029, 5124, 10, 20);
    uint8_t pl[64], rep[64];
    mpx_err e;
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    m.has_info = true;
    long n = mpx_conv_encode(&m, pl, sizeof pl, &e);
    static const uint8_t sup[] = { MPX_TCPOPT_MPTCP };
    mpx_conv_msg_init(&m);
    m.has_supported = true;
    m.supported = sup;
    m.supported_len = sizeof sup;
    long r = mpx_conv_encode(&m, rep, sizeof rep, &e);
    if (n < 0 || r < 0) return;
    o_init(&o);
    o_base_syn(&o, true);
    o_mpc(&o, 0, 0, 0, 0);
    o_pad(&o);
    seg(w, &f, 0, MPX_TH_SYN, o.b, o.w.len, pl, (size_t)n, -1, 0);
    o_init(&o);
    o_base_syn(&o, true);
    o_mpc(&o, 1, 0x21, 0, 0);
    o_pad(&o);
    seg(w, &f, 1, MPX_TH_SYN | MPX_TH_ACK, o.b, o.w.len, rep, (size_t)r, -1, 20000);
    o_init(&o);
    o_mpc(&o, 2, 0x43, 0x21, 0);
    o_pad(&o);
    seg(w, &f, 0, MPX_TH_ACK | MPX_TH_FIN, o.b, o.w.len, NULL, 0, -1, 10000);
    o_init(&o);
    o_dss_ack(&o, mpx_mptcp_idsn(0x43, 1) + 1);
    o_pad(&o);
    seg(w, &f, 1, MPX_TH_ACK | MPX_TH_FIN, o.b, o.w.len, NULL, 0, -1, 100);
    seg(w, &f, 0, MPX_TH_ACK, NULL, 0, NULL, 0, -1, 10000);
}

/* A capture that ends inside a packet record (the writer was killed): the record header
 * promises 60 bytes, 12 follow. */
/* ---- three legs (mpx-analyze --legs) ------------------------------------------------------
 * Proxy/proxy connections LAN host -> CPE -> HAG -> server, one file per link: legs-lan1,
 * legs-lan2, legs-dsl, legs-lte, legs-wan. Every file holds its link's frames of the same
 * story, stamped on arrival at the next hop as mpx-linkem does (one-way delays: lan 0.25 ms,
 * dsl 10 ms, lte 25 ms, wan 5 ms; hosts forward after 10 us), so the files line up. The
 * expected join and every time are in tests/integration/analyze_legs.sh. */
enum { LG_LAN1, LG_LAN2, LG_DSL, LG_LTE, LG_WAN };
static int g_leg = -1;          /* the link this run writes */
static int g_repeat = 1;        /* --repeat: the story N times, 2 s apart */
static int64_t g_off;           /* this repetition's time offset, us */
static uint16_t g_port;         /* and client port offset */
static const int64_t LG_OWD[] = { 250, 250, 10000, 25000, 5000 };

static void lseg(W *w, int link, F *f, int dir, uint8_t flags, const O *o, const uint8_t *d,
                 size_t n, int64_t at)
{
    if (link != g_leg) return;
    w->t = 1764316800LL * 1000000 + g_off + at;
    seg(w, f, dir, flags, o ? o->b : NULL, o ? o->w.len : 0, d, n, -1, 0);
}

static void faddr(F *f, uint32_t a, uint16_t pa, uint32_t b, uint16_t pb, uint32_t isa, uint32_t isb)
{
    memset(f, 0, sizeof *f);
    wr32(f->a, a); wr32(f->b, b);
    f->pa = (uint16_t)(pa + g_port); f->pb = pb; f->snd[0] = isa; f->snd[1] = isb;
}

#define LG_SERVER 0xC6120602u   /* 198.18.6.2 */
#define LG_HAG_WAN 0xC6120401u  /* 198.18.4.1 */
#define LG_CPE_DSL 0xC6120002u  /* 198.18.0.2, HAG 198.18.0.1 */
#define LG_CPE_LTE 0xC6120102u  /* 198.18.1.2, HAG 198.18.1.1 */

typedef struct {
    int      lan;               /* LG_LAN1 / LG_LAN2 */
    uint32_t lan_ip;
    uint16_t lport, dport, aport, wport;
    int64_t  t;                 /* LAN SYN at the CPE */
    const uint8_t *req;         /* the LAN client's first bytes */
    size_t   rlen;
    bool     syn_req;           /* W > 0: the request rides in the CPE's SYN after the signal */
    bool     hag_at_syn;        /* the HAG connects on the access SYN, else on the request */
    bool     implicit;          /* no signal: MPTCP straight to the target */
    bool     join;              /* an MP_JOIN subflow on lte */
    int64_t  server_us;         /* the server's response time */
    uint64_t kc, ks;
} LC;

static const uint8_t LG_RESP[16] = "response 16 B ok";

static void legs_conn(W *w, const LC *c)
{
    F f; O o;
    const int64_t lo = LG_OWD[LG_LAN1], ao = LG_OWD[LG_DSL], wo = LG_OWD[LG_WAN], jo = LG_OWD[LG_LTE];
    /* the story's times (arrival stamps) */
    int64_t t = c->t, l_req = t + 510;
    int64_t a_send = c->syn_req ? l_req + 10 : t + 2 * lo + 5, s_a = a_send + ao;
    int64_t a_req = c->syn_req ? s_a : s_a + 2 * ao + 10;        /* request at the HAG */
    int64_t w_send = c->hag_at_syn ? s_a + 10 : a_req + 10, s_w = w_send + wo;
    int64_t req_send = (w_send + 2 * wo > a_req ? w_send + 2 * wo : a_req) + 10;
    int64_t w_req = req_send + wo, w_resp = w_req + c->server_us + wo;
    int64_t rep = w_send + 2 * wo + 10 + ao, a_resp = w_resp + 10 + ao, l_resp = a_resp + 10 + lo;
    int64_t fin = l_resp + 1000;
    /* LAN leg: plain TCP to the server address, answered by the CPE */
    faddr(&f, c->lan_ip, c->lport, LG_SERVER, c->dport, 1000 + (uint32_t)c->lport, 2000 + (uint32_t)c->lport);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    lseg(w, c->lan, &f, 0, MPX_TH_SYN, &o, NULL, 0, t);
    lseg(w, c->lan, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, t + lo);
    lseg(w, c->lan, &f, 0, MPX_TH_ACK, NULL, NULL, 0, t + 2 * lo);
    lseg(w, c->lan, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, c->req, c->rlen, l_req);
    lseg(w, c->lan, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, LG_RESP, sizeof LG_RESP, l_resp);
    lseg(w, c->lan, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, fin);
    lseg(w, c->lan, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, fin + 2 * lo);
    lseg(w, c->lan, &f, 0, MPX_TH_ACK, NULL, NULL, 0, fin + 3 * lo);
    /* access leg: MPTCP from the CPE's dsl address to the HAG (or to the target: implicit) */
    uint8_t pl[256];
    size_t sl = 0;
    if (!c->implicit) {
        mpx_err e;
        mpx_addr tg = mpx_addr_v4(LG_SERVER, c->dport);
        long n = mpx_conv_encode_connect(&tg, NULL, 0, NULL, 0, pl, sizeof pl, &e);
        sl = n > 0 ? (size_t)n : 0;
    }
    size_t syn_len = sl + (c->syn_req ? c->rlen : 0);
    if (c->syn_req) memcpy(pl + sl, c->req, c->rlen);
    faddr(&f, LG_CPE_DSL, c->aport, c->implicit ? LG_SERVER : 0xC6120001u, c->implicit ? c->dport : 5124,
          3000 + (uint32_t)c->aport, 4000 + (uint32_t)c->aport);
    uint64_t ic = mpx_mptcp_idsn(c->kc, 1), is = mpx_mptcp_idsn(c->ks, 1);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    lseg(w, LG_DSL, &f, 0, MPX_TH_SYN, &o, pl, syn_len, s_a);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, c->ks, 0, 0); o_pad(&o);
    lseg(w, LG_DSL, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, s_a + ao);
    o_init(&o); mpx_tcpopt_put_nop(&o.w); mpx_tcpopt_put_nop(&o.w); mpx_tcpopt_put_ts(&o.w, 1030, 2000);
    o_mpc(&o, 2, c->kc, c->ks, 0); o_pad(&o);
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK, &o, NULL, 0, s_a + 2 * ao);
    uint64_t dack = ic + 1;
    if (!c->syn_req) {
        o_init(&o); o_dss_map(&o, is + 1, ic + 1, 1, (uint16_t)c->rlen); o_pad(&o);
        lseg(w, LG_DSL, &f, 0, MPX_TH_ACK | MPX_TH_PSH, &o, c->req, c->rlen, a_req);
        dack += c->rlen;
    }
    static const uint8_t crep[4] = { 1, 1, 0x22, 0x63 };
    uint32_t ssn = 1;
    if (!c->implicit) {
        o_init(&o); o_dss_map(&o, dack, is + 1, 1, 4); o_pad(&o);
        lseg(w, LG_DSL, &f, 1, MPX_TH_ACK | MPX_TH_PSH, &o, crep, 4, rep);
        ssn += 4;
    }
    o_init(&o); o_dss_map(&o, dack, is + ssn, ssn, sizeof LG_RESP); o_pad(&o);
    lseg(w, LG_DSL, &f, 1, MPX_TH_ACK | MPX_TH_PSH, &o, LG_RESP, sizeof LG_RESP, a_resp);
    int64_t afin = fin + 10 + ao;
    o_init(&o); o_dss_ack(&o, is + ssn + sizeof LG_RESP); o_pad(&o);
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK | MPX_TH_FIN, &o, NULL, 0, afin);
    lseg(w, LG_DSL, &f, 1, MPX_TH_ACK | MPX_TH_FIN, &o, NULL, 0, afin + 2 * ao);
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK, &o, NULL, 0, afin + 3 * ao);
    if (c->join) {
        /* the second subflow over lte once the first is established (in-kernel PM) */
        F g;
        faddr(&g, LG_CPE_LTE, (uint16_t)(c->aport + 1), c->implicit ? LG_SERVER : 0xC6120101u,
              c->implicit ? c->dport : 5124, 7000, 8000);
        uint32_t ra = 0xaaaa0001, rb = 0xbbbb0002;
        mpx_mptcp_opt m;
        int64_t js = s_a + ao + 10 + jo;
        memset(&m, 0, sizeof m);
        m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_SYN; m.u.mpj.addr_id = 1;
        m.u.mpj.token = mpx_mptcp_token(c->ks, 1); m.u.mpj.nonce = ra;
        o_init(&o); o_base_syn(&o, true); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
        lseg(w, LG_LTE, &g, 0, MPX_TH_SYN, &o, NULL, 0, js);
        memset(&m, 0, sizeof m);
        m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_SYNACK; m.u.mpj.nonce = rb;
        m.u.mpj.hmac64 = mpx_mptcp_join_hmac64(1, c->ks, c->kc, rb, ra);
        o_init(&o); o_base_syn(&o, true); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
        lseg(w, LG_LTE, &g, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, js + jo);
        memset(&m, 0, sizeof m);
        m.subtype = MPX_MP_JOIN; m.u.mpj.form = MPX_MPJ_ACK;
        uint8_t mac[32];
        mpx_mptcp_join_hmac(1, c->kc, c->ks, ra, rb, mac);
        memcpy(m.u.mpj.hmac, mac, 20);
        o_init(&o); mpx_mptcp_encode(&m, &o.w); o_pad(&o);
        lseg(w, LG_LTE, &g, 0, MPX_TH_ACK, &o, NULL, 0, js + 2 * jo);
        lseg(w, LG_LTE, &g, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, afin + jo);
        lseg(w, LG_LTE, &g, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, afin + 3 * jo);
        lseg(w, LG_LTE, &g, 0, MPX_TH_ACK, NULL, NULL, 0, afin + 4 * jo);
    }
    /* WAN leg: plain TCP from the HAG's wan address to the server */
    faddr(&f, LG_HAG_WAN, c->wport, LG_SERVER, c->dport, 5000 + (uint32_t)c->wport, 6000 + (uint32_t)c->wport);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    lseg(w, LG_WAN, &f, 0, MPX_TH_SYN, &o, NULL, 0, s_w);
    lseg(w, LG_WAN, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, s_w + wo);
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK, NULL, NULL, 0, s_w + 2 * wo);
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, c->req, c->rlen, w_req);
    lseg(w, LG_WAN, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, LG_RESP, sizeof LG_RESP, w_resp);
    int64_t wfin = afin + 10 + wo;
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, wfin);
    lseg(w, LG_WAN, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, wfin + 2 * wo);
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK, NULL, NULL, 0, wfin + 3 * wo);
}

/* The HAG refuses the CPE (Convert Error 32, its ACL): the CPE resets the attempt and falls
 * back to plain TCP straight to the target, replaying the LAN bytes; that connection is
 * routed by the HAG (the same TCP connection on dsl and wan). syn_req: the attempt's SYN
 * carried the request after the Convert message (W > 0). */
static void legs_refused(W *w, int lan, uint32_t lan_ip, uint16_t lport, uint16_t dport,
                         uint16_t aport, int64_t t, const uint8_t *req, size_t rlen, bool syn_req,
                         uint64_t kc, uint64_t ks)
{
    F f;
    O o;
    const int64_t lo = LG_OWD[LG_LAN1], ao = LG_OWD[LG_DSL], wo = LG_OWD[LG_WAN];
    int64_t s_a = t + 530 + ao, d_syn = s_a + 2 * ao + 20;   /* direct SYN leaves the CPE */
    int64_t d_req = d_syn + 2 * (ao + wo) + 2 * 10 + 10;      /* request leaves after SYN/ACK */
    int64_t w_resp = d_req + ao + 10 + wo + 50 + wo;          /* server 50 us; at the HAG */
    int64_t l_resp = w_resp + 10 + ao + 10 + lo, fin = l_resp + 1000;
    faddr(&f, lan_ip, lport, LG_SERVER, dport, 1000 + (uint32_t)lport, 2000 + (uint32_t)lport);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    lseg(w, lan, &f, 0, MPX_TH_SYN, &o, NULL, 0, t);
    lseg(w, lan, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, t + lo);
    lseg(w, lan, &f, 0, MPX_TH_ACK, NULL, NULL, 0, t + 2 * lo);
    lseg(w, lan, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, req, rlen, t + 510);
    lseg(w, lan, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, LG_RESP, sizeof LG_RESP, l_resp);
    lseg(w, lan, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, fin);
    lseg(w, lan, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, fin + 2 * lo);
    lseg(w, lan, &f, 0, MPX_TH_ACK, NULL, NULL, 0, fin + 3 * lo);
    /* the refused MPTCP attempt */
    uint8_t pl[256], rep[16];
    mpx_err e;
    mpx_addr tg = mpx_addr_v4(LG_SERVER, dport);
    long n = mpx_conv_encode_connect(&tg, NULL, 0, NULL, 0, pl, sizeof pl, &e);
    size_t sl = n > 0 ? (size_t)n : 0;
    if (syn_req) memcpy(pl + sl, req, rlen);
    faddr(&f, LG_CPE_DSL, aport, 0xC6120001u, 5124, 3000 + (uint32_t)aport, 4000 + (uint32_t)aport);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 0, 0, 0, 0); o_pad(&o);
    lseg(w, LG_DSL, &f, 0, MPX_TH_SYN, &o, pl, sl + (syn_req ? rlen : 0), s_a);
    o_init(&o); o_base_syn(&o, true); o_mpc(&o, 1, ks, 0, 0); o_pad(&o);
    lseg(w, LG_DSL, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, s_a + ao);
    o_init(&o); o_mpc(&o, 2, kc, ks, 0); o_pad(&o);
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK, &o, NULL, 0, s_a + 2 * ao);
    long r = mpx_conv_encode_error(32, NULL, 0, rep, sizeof rep, &e);
    o_init(&o);
    o_dss_map(&o, mpx_mptcp_idsn(kc, 1) + 1, mpx_mptcp_idsn(ks, 1) + 1, 1, (uint16_t)r);
    o_pad(&o);
    lseg(w, LG_DSL, &f, 1, MPX_TH_ACK | MPX_TH_PSH, &o, rep, r > 0 ? (size_t)r : 0, s_a + ao + 10);
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, NULL, 0, s_a + 2 * ao + 20);
    /* the direct fallback: one TCP connection, captured on dsl (at the HAG) and wan (at the
     * server); the HAG forwards after 10 us */
    faddr(&f, LG_CPE_DSL, (uint16_t)(aport + 1), LG_SERVER, dport, 11000, 12000);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    int64_t x = d_syn + ao;
    lseg(w, LG_DSL, &f, 0, MPX_TH_SYN, &o, NULL, 0, x);
    lseg(w, LG_WAN, &f, 0, MPX_TH_SYN, &o, NULL, 0, x + 10 + wo);
    lseg(w, LG_WAN, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, x + 10 + 2 * wo);
    lseg(w, LG_DSL, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, x + 20 + 2 * wo + ao);
    x = d_req + ao;
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, req, rlen, x);
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, req, rlen, x + 10 + wo);
    lseg(w, LG_WAN, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, LG_RESP, sizeof LG_RESP, w_resp);
    lseg(w, LG_DSL, &f, 1, MPX_TH_ACK | MPX_TH_PSH, NULL, LG_RESP, sizeof LG_RESP, w_resp + 10 + ao);
    x = fin + 10 + ao;
    lseg(w, LG_DSL, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, x);
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, x + 10 + wo);
    lseg(w, LG_WAN, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, x + 10 + 2 * wo);
    lseg(w, LG_DSL, &f, 1, MPX_TH_ACK | MPX_TH_FIN, NULL, NULL, 0, x + 20 + 2 * wo + ao);
}

static void sc_legs_once(W *w, uint32_t k)
{
    /* the MPX1 requests (lib/pattern.h): 16-byte header + 16 pattern bytes */
    uint8_t ra[32], rd[32];
    mpxa_req_hdr h = { .req_len = 32, .resp_len = 16, .flags = 0 };
    mpxa_hdr_set_seed(&h, 0x000101 + 16 * k);
    mpxa_req_fill(&h, 0, ra, sizeof ra);
    mpxa_hdr_set_seed(&h, 0x000202 + 16 * k);
    mpxa_req_fill(&h, 0, rd, sizeof rd);
    static const uint8_t http[18] = "GET / HTTP/1.0\r\n\r\n";
    /* A: convert, W > 0 (request in the CPE's SYN), HAG connects on the SYN, lte subflow */
    LC a = { .lan = LG_LAN1, .lan_ip = 0xC6120302u, .lport = 40001, .dport = 8101, .aport = 50001,
             .wport = 60001, .t = 0, .req = ra, .rlen = sizeof ra, .syn_req = true, .hag_at_syn = true,
             .join = true, .server_us = 60, .kc = (0x0102030405060708ULL + k), .ks = (0x1112131415161718ULL + k) };
    legs_conn(w, &a);
    /* B: another LAN host with the same MPX1 header (same seed), W = 0, HAG on the request */
    LC b = a;
    b.lan = LG_LAN2; b.lan_ip = 0xC6120502u; b.lport = 40002; b.aport = 50003; b.wport = 60002;
    b.t = 200000; b.syn_req = false; b.hag_at_syn = false; b.join = false; b.server_us = 90;
    b.kc = (0x2122232425262728ULL + k); b.ks = (0x3132333435363738ULL + k);
    legs_conn(w, &b);
    /* C: implicit (MPTCP straight to the target), another application (no MPX1 header) */
    LC c = b;
    c.lan = LG_LAN1; c.lan_ip = 0xC6120302u; c.lport = 40003; c.dport = 8102; c.aport = 50005;
    c.wport = 60003; c.t = 400000; c.req = http; c.rlen = sizeof http; c.implicit = true;
    c.kc = (0x4142434445464748ULL + k); c.ks = (0x5152535455565758ULL + k);
    legs_conn(w, &c);
    /* E: convert with another application's bytes in the SYN: joined by target and time */
    LC e = a;
    e.lport = 40005; e.dport = 8104; e.aport = 50007; e.wport = 60005; e.t = 600000;
    e.req = http; e.rlen = sizeof http; e.join = false;
    e.kc = (0x6162636465666768ULL + k); e.ks = (0x7172737475767778ULL + k);
    legs_conn(w, &e);
    /* D: a LAN connection the CPE resets (no access, no WAN leg) */
    F f; O o;
    faddr(&f, 0xC6120302u, 40004, LG_SERVER, 8103, 9000, 9100);
    o_init(&o); o_base_syn(&o, true); o_pad(&o);
    lseg(w, LG_LAN1, &f, 0, MPX_TH_SYN, &o, NULL, 0, 800000);
    lseg(w, LG_LAN1, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, 800250);
    lseg(w, LG_LAN1, &f, 0, MPX_TH_ACK, NULL, NULL, 0, 800500);
    lseg(w, LG_LAN1, &f, 0, MPX_TH_ACK | MPX_TH_PSH, NULL, rd, sizeof rd, 800510);
    lseg(w, LG_LAN1, &f, 1, MPX_TH_ACK | MPX_TH_RST, NULL, NULL, 0, 803760);
    /* a HAG connection to the server nobody on the LAN asked for */
    faddr(&f, LG_HAG_WAN, 60009, LG_SERVER, 9999, 9200, 9300);
    lseg(w, LG_WAN, &f, 0, MPX_TH_SYN, &o, NULL, 0, 1000000);
    lseg(w, LG_WAN, &f, 1, MPX_TH_SYN | MPX_TH_ACK, &o, NULL, 0, 1005000);
    lseg(w, LG_WAN, &f, 0, MPX_TH_ACK | MPX_TH_RST, NULL, NULL, 0, 1010000);
    /* F: the HAG refuses an attempt that carried the request (W > 0), G: one that did not
     * (W = 0); both fall back to direct TCP */
    uint8_t rf[32], rg[32];
    mpxa_hdr_set_seed(&h, 0x000303 + 16 * k);
    mpxa_req_fill(&h, 0, rf, sizeof rf);
    mpxa_hdr_set_seed(&h, 0x000404 + 16 * k);
    mpxa_req_fill(&h, 0, rg, sizeof rg);
    legs_refused(w, LG_LAN2, 0xC6120502u, 40006, 8105, 50011, 1200000, rf, sizeof rf, true,
                 (0x8182838485868788ULL + k), (0x9192939495969798ULL + k));
    legs_refused(w, LG_LAN1, 0xC6120302u, 40007, 8106, 50013, 1400000, rg, sizeof rg, false,
                 (0xa1a2a3a4a5a6a7a8ULL + k), (0xb1b2b3b4b5b6b7b8ULL + k));
}

static void sc_legs(W *w, int link)
{
    g_leg = link;
    w->v6 = false;   /* the story is IPv4 */
    for (int k = 0; k < g_repeat; k++) {
        g_off = (int64_t)k * 2000000;
        g_port = (uint16_t)(16 * k);
        sc_legs_once(w, (uint32_t)k);
    }
}

static void cut_end(W *w)
{
    static const uint8_t part[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
    w->t += 1000;
    if (w->ng) return;
    put32le(w->f, (uint32_t)(w->t / 1000000));
    put32le(w->f, (uint32_t)(w->t % 1000000));
    put32le(w->f, 60);
    put32le(w->f, 60);
    fwrite(part, 1, sizeof part, w->f);
}

static const struct { const char *name, *what;
} SC[] = {
    { "v0-csum", "MPTCP v0 (RFC 6824): SHA-1 keys, 32-bit DSNs with checksums, an MP_JOIN subflow "
                 "with mappings" },
    { "many-violations", "one connection with 9500 violations (more than the 4096 details kept)" },
    { "opt-cut", "option areas cut by the snaplen, with faults before the cut and without" },
    { "jumbo-v6", "RFC 2675 jumbogram: IPv6 Hop-by-Hop Jumbo Payload, 70000 data bytes" },
    { "bigtcp-v4", "Linux IPv4 BIG TCP: Total Length 0, 70000 data bytes" },
    { "convert-info",
      "Convert message with an Info TLV only, answered with Supported TCP Extensions" },
    { "join-multilink", "pcapng: the MPTCP connection on an Ethernet interface, its MP_JOIN "
                        "subflow on a raw-IP one" },
    { "SCENARIO-cut-end", "any scenario, the file ending inside a packet record" },
    { "prefer-proxy", "SYN with MP_CAPABLE and MP_PREFER_PROXY" },
    { "dss-csum", "DSS mappings with checksums, the second one wrong" },
    { "implicit-dsl", "implicit interception, client side: MPTCP to the server address" },
    { "implicit-wan", "implicit interception, server side: the proxy's plain TCP connection" },
    { "idsn-bad", "first DSS mapping from the server not at its IDSN + 1" },
    { "ts-dropped", "MPTCP listener SYN/ACK with a TFO cookie and no timestamps (RFC 8684 B.1)" },
    { "syn-retx", "MPTCP SYN retransmitted, the last attempt without MP_CAPABLE" },
    { "mpconvert-opt", "MP_CONVERT as a kind-30 option in the SYN (IPv4 + port)" },
    { "mpc-data-first", "MPTCP without a pure third ACK: keys only in the MP_CAPABLE with data" },
    { "convert-error", "converter reply with Error TLV 96 (Connection Reset) in the first data" },
    { "join-syn-data", "MP_JOIN SYN carrying data" },
    { "convert",
      "convert connection: MPC + Convert/Connect + request in the SYN, reply in the SYN/ACK" },
    { "convert-reply-data",
      "convert connection with the converter's reply in the first data segment" },
    { "convert-zero-tlv", "Convert message with a zero-length TLV (CONV-TLV-ZERO)" },
    { "overrun",
      "option running past the area (TCPOPT-OVERRUN) and a zero-length option (TCPOPT-LEN-ZERO)" },
    { "mpc-dropped", "SYN options at 40 B with a 16-byte TFO cookie, no room for MP_CAPABLE" },
    { "cookie", "TFO cookie request + grant, then cookie use with SYN data acked" },
    { "syndata-nack", "TFO SYN data not acked by the SYN/ACK, retransmitted after the handshake" },
    { "tcprst", "MPTCP connection reset with MP_TCPRST reason 6 (and one on a non-RST segment)" },
    { "add-addr", "ADD_ADDR with a correct and with a wrong truncated HMAC" },
    { "join", "MPTCP connection + MP_JOIN subflow with correct HMACs" },
    { "join-bad", "MP_JOIN subflow whose SYN/ACK HMAC is wrong" },
    { "socks5", "SOCKS5 no-auth exchange then request/response" },
    { "mpconvert", "MP_CONVERT -09 in the SYN payload" },
    { "mpconvert-ie", "MP_CONVERT -10 Information Element echoed in the SYN/ACK" },
    { "plain", "plain TCP connection" },
    { "plain-ra", "plain TCP connection with IPv4 Router Alert on the SYN" },
    { "fallback", "MPTCP SYN answered without MP_CAPABLE" },
    { "legs-lan1", "three legs (--legs): the LAN link of host 1 (connections A, C, D, E)" },
    { "legs-lan2", "three legs: the LAN link of host 2 (connection B, the same MPX1 header as A)" },
    { "legs-dsl", "three legs: the CPE-HAG dsl link (the MPTCP connections, signals)" },
    { "legs-lte", "three legs: the CPE-HAG lte link (A's MP_JOIN subflow)" },
    { "legs-wan", "three legs: the HAG-server link (one connection no LAN host made, the direct fallbacks)" },
};

static int run(W *w, const char *sc)
{
    if (!strcmp(sc, "convert")) sc_convert(w, false, false);
    else if (!strcmp(sc, "convert-reply-data")) sc_convert(w, false, true);
    else if (!strcmp(sc, "convert-zero-tlv")) sc_convert(w, true, false);
    else if (!strcmp(sc, "overrun")) sc_overrun(w);
    else if (!strcmp(sc, "mpc-dropped")) sc_mpc_dropped(w);
    else if (!strcmp(sc, "cookie")) sc_cookie(w);
    else if (!strcmp(sc, "syndata-nack")) sc_syndata_nack(w);
    else if (!strcmp(sc, "tcprst")) sc_tcprst(w);
    else if (!strcmp(sc, "add-addr")) sc_add_addr(w);
    else if (!strcmp(sc, "join")) sc_join(w, false);
    else if (!strcmp(sc, "join-bad")) sc_join(w, true);
    else if (!strcmp(sc, "socks5")) sc_socks5(w);
    else if (!strcmp(sc, "mpconvert")) sc_mpconvert(w, false);
    else if (!strcmp(sc, "mpconvert-ie")) sc_mpconvert(w, true);
    else if (!strcmp(sc, "plain")) sc_plain(w, false);
    else if (!strcmp(sc, "plain-ra")) sc_plain(w, true);
    else if (!strcmp(sc, "fallback")) sc_fallback(w);
    else if (!strcmp(sc, "ts-dropped")) sc_ts_dropped(w);
    else if (!strcmp(sc, "idsn-bad")) sc_idsn_bad(w);
    else if (!strcmp(sc, "dss-csum")) sc_dss_csum(w);
    else if (!strcmp(sc, "prefer-proxy")) sc_prefer(w);
    else if (!strcmp(sc, "implicit-dsl")) sc_implicit(w, false);
    else if (!strcmp(sc, "implicit-wan")) sc_implicit(w, true);
    else if (!strcmp(sc, "syn-retx")) sc_syn_retx(w);
    else if (!strcmp(sc, "mpconvert-opt")) sc_mpconvert_opt(w, false);
    else if (!strcmp(sc, "mpc-data-first")) sc_mpconvert_opt(w, true);
    else if (!strcmp(sc, "convert-error")) sc_convert_error(w);
    else if (!strcmp(sc, "join-syn-data")) sc_join_syn_data(w);
    else if (!strcmp(sc, "v0-csum"))
        sc_v0_csum(w);
    else if (!strcmp(sc, "many-violations"))
        sc_many_violations(w);
    else if (!strcmp(sc, "opt-cut"))
        sc_opt_cut(w);
    else if (!strcmp(sc, "jumbo-v6"))
        sc_jumbo(w, true);
    else if (!strcmp(sc, "bigtcp-v4"))
        sc_jumbo(w, false);
    else if (!strcmp(sc, "convert-info"))
        sc_convert_info(w);
    else if (!strcmp(sc, "join-multilink"))
        sc_join(w, false);
    else if (!strcmp(sc, "legs-lan1")) sc_legs(w, LG_LAN1);
    else if (!strcmp(sc, "legs-lan2")) sc_legs(w, LG_LAN2);
    else if (!strcmp(sc, "legs-dsl")) sc_legs(w, LG_DSL);
    else if (!strcmp(sc, "legs-lte")) sc_legs(w, LG_LTE);
    else if (!strcmp(sc, "legs-wan")) sc_legs(w, LG_WAN);
    else return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "linktype", required_argument, 0, 'l' }, { "v6", no_argument, 0, '6' },
        { "snaplen", required_argument, 0, 's' }, { "list", no_argument, 0, 'L' },
        { "repeat", required_argument, 0, 'R' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    W w = { .lt = LT_EN10MB, .snaplen = 65535, .t = 1764316800LL * 1000000 };
    int ch;
    while ((ch = getopt_long(argc, argv, "l:6s:R:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (!strcmp(optarg, "en10mb")) w.lt = LT_EN10MB;
            else if (!strcmp(optarg, "sll")) w.lt = LT_SLL;
            else if (!strcmp(optarg, "sll2")) w.lt = LT_SLL2;
            else if (!strcmp(optarg, "raw")) w.lt = LT_RAW;
            else if (!strcmp(optarg, "null")) w.lt = LT_NULL;
            else if (!strcmp(optarg, "loop")) w.lt = LT_LOOP;
            else { fprintf(stderr, "mpx-mkpcap: unknown link type %s\n", optarg); return 2; }
            break;
        case '6': w.v6 = true; break;
        case 's': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 16, 262144, &v) < 0) {
                fprintf(stderr, "mpx-mkpcap: --snaplen wants an integer 16..262144, got '%s'\n", optarg);
                return 2;
            }
            w.snaplen = (unsigned)v;
            break;
        }
        case 'R': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 1, 300, &v) < 0) {
                fprintf(stderr, "mpx-mkpcap: --repeat wants an integer 1..300, got '%s'\n", optarg);
                return 2;
            }
            g_repeat = (int)v;
            break;
        }
        case 'L':
            for (size_t i = 0; i < sizeof SC / sizeof *SC; i++) printf("%-20s %s\n", SC[i].name, SC[i].what);
            return 0;
        default:
            fputs("usage: mpx-mkpcap [--linktype T] [--v6] [--snaplen N] [--repeat N] SCENARIO OUT.pcap | --list\n", ch == 'h' ? stdout : stderr);
            return ch == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 2) { fputs("usage: mpx-mkpcap [--linktype T] [--v6] [--snaplen N] [--repeat N] SCENARIO OUT.pcap\n", stderr); return 2; }
    w.f = fopen(argv[optind + 1], "wb");
    if (!w.f) { perror(argv[optind + 1]); return 3; }
    char sc[64];
    snprintf(sc, sizeof sc, "%s", argv[optind]);
    size_t sl = strlen(sc);
    bool cut = sl > 8 && !strcmp(sc + sl - 8, "-cut-end");
    if (cut) sc[sl - 8] = 0;
    w.ng = !strcmp(sc, "join-multilink");
    if (w.ng)
        ng_hdr(&w);
    else
        pcap_hdr(&w);
    if (run(&w, sc) != 0) {
        fprintf(stderr, "mpx-mkpcap: unknown scenario %s\n", argv[optind]);
        fclose(w.f);
        return 2;
    }
    if (cut) cut_end(&w);
    if (fclose(w.f) != 0) { perror(argv[optind + 1]); return 3; }
    return 0;
}
