/* pcap-analysis/capture.c + conn.c: frame parsing for every link type, IPv4 options (Router
 * Alert), IPv6 extension headers, fragments, truncation, and connection direction/ISN rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include "pcap-analysis/capture.h"
#include "pcap-analysis/conn.h"

/* IPv4 header (optional RA option) + TCP header with `olen` option bytes + `dlen` data. */
static size_t build_v4(uint8_t *b, bool ra, uint8_t flags, size_t olen, size_t dlen)
{
    size_t ihl = ra ? 24 : 20, thl = 20 + olen;
    memset(b, 0, ihl + thl + dlen);
    b[0] = (uint8_t)(0x40 | ihl / 4);
    size_t tot = ihl + thl + dlen;
    b[2] = (uint8_t)(tot >> 8); b[3] = (uint8_t)tot;
    b[8] = 64; b[9] = 6;
    b[12] = 198; b[13] = 18; b[14] = 0; b[15] = 1;
    b[16] = 198; b[17] = 18; b[18] = 1; b[19] = 1;
    if (ra) { b[20] = 0x94; b[21] = 4; b[22] = 0; b[23] = 7; }
    uint8_t *t = b + ihl;
    t[0] = 0x9c; t[1] = 0x40;           /* 40000 */
    t[2] = 0x1f; t[3] = 0x90;           /* 8080 */
    t[4] = 0; t[5] = 0; t[6] = 0x03; t[7] = 0xe8;   /* seq 1000 */
    t[12] = (uint8_t)((thl / 4) << 4); t[13] = flags;
    for (size_t i = 0; i < olen; i++) t[20 + i] = 1;   /* NOPs */
    for (size_t i = 0; i < dlen; i++) t[thl + i] = (uint8_t)('a' + i % 26);
    return tot;
}

static void t_linktypes(void **st)
{
    (void)st;
    uint8_t ip[256], f[300];
    size_t n = build_v4(ip, false, TH_SYN, 4, 3);
    mpx_pkt p;
    /* raw IP */
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_OK);
    assert_int_equal(p.af, 4);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 8080);
    assert_int_equal(p.seq, 1000);
    assert_int_equal(p.opt_len, 4);
    assert_int_equal(p.data_len, 3);
    assert_memory_equal(p.data, "abc", 3);
    assert_false(p.truncated);
    /* Ethernet with an 802.1Q tag */
    memset(f, 0, 18);
    f[12] = 0x81; f[13] = 0x00; f[16] = 0x08; f[17] = 0x00;
    memcpy(f + 18, ip, n);
    assert_int_equal(cap_parse_frame(DLT_EN10MB, f, n + 18, n + 18, &p), CAP_OK);
    assert_int_equal(p.dport, 8080);
    /* Linux cooked v1: protocol at 14 */
    memset(f, 0, 16); f[14] = 0x08; f[15] = 0x00; memcpy(f + 16, ip, n);
    assert_int_equal(cap_parse_frame(DLT_LINUX_SLL, f, n + 16, n + 16, &p), CAP_OK);
    /* Linux cooked v2: protocol at 0 */
    memset(f, 0, 20); f[0] = 0x08; f[1] = 0x00; memcpy(f + 20, ip, n);
    assert_int_equal(cap_parse_frame(DLT_LINUX_SLL2, f, n + 20, n + 20, &p), CAP_OK);
    /* BSD loopback, both byte orders of AF_INET */
    memset(f, 0, 4); f[0] = 2; memcpy(f + 4, ip, n);
    assert_int_equal(cap_parse_frame(DLT_NULL, f, n + 4, n + 4, &p), CAP_OK);
    memset(f, 0, 4); f[3] = 2;
    assert_int_equal(cap_parse_frame(DLT_LOOP, f, n + 4, n + 4, &p), CAP_OK);
    /* ARP is not IP */
    memset(f, 0, 60); f[12] = 0x08; f[13] = 0x06;
    assert_int_equal(cap_parse_frame(DLT_EN10MB, f, 60, 60, &p), CAP_NOT_IP);
}

static void t_ipv4_options(void **st)
{
    (void)st;
    uint8_t ip[256];
    size_t n = build_v4(ip, true, TH_SYN, 0, 0);
    mpx_pkt p;
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_OK);
    assert_true(p.ip_router_alert);
    assert_int_equal(p.ip_router_alert_val, 7);
    assert_int_equal(p.ip_opt_len, 4);
    assert_int_equal(p.sport, 40000);
    /* fragment with offset: not judged */
    ip[6] = 0x00; ip[7] = 0x10;
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_FRAGMENT);
    /* UDP */
    n = build_v4(ip, false, 0, 0, 0);
    ip[9] = 17;
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_NOT_TCP);
    /* IHL below 5 */
    n = build_v4(ip, false, 0, 0, 0);
    ip[0] = 0x44;
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_BAD);
}

static void t_truncation(void **st)
{
    (void)st;
    uint8_t ip[256];
    size_t n = build_v4(ip, false, TH_SYN | TH_ACK, 12, 100);
    mpx_pkt p;
    /* cut inside the payload: options whole, data partial */
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, 20 + 32 + 10, n, &p), CAP_OK);
    assert_true(p.truncated);
    assert_int_equal(p.opt_len, 12);
    assert_int_equal(p.data_len, 100);
    assert_int_equal(p.data_caplen, 10);
    /* cut inside the options */
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, 20 + 24, n, &p), CAP_OK);
    assert_true(p.truncated);
    assert_int_equal(p.opt_len, 4);
    assert_int_equal(p.opt_len_wire, 12);
    /* cut inside the TCP header itself */
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, 30, n, &p), CAP_TRUNC);
    /* data offset larger than the segment */
    n = build_v4(ip, false, TH_ACK, 0, 0);
    ip[20 + 12] = 0xf0;
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_BAD);
}

static void t_ipv6_ext(void **st)
{
    (void)st;
    uint8_t b[200];
    memset(b, 0, sizeof b);
    b[0] = 0x60;
    size_t plen = 8 + 8 + 20;   /* HbH (RA) + DestOpts + TCP */
    b[4] = 0; b[5] = (uint8_t)plen; b[6] = 0; b[7] = 64;
    b[8] = 0xfd; b[23] = 1; b[24] = 0xfd; b[39] = 2;
    uint8_t *h = b + 40;
    h[0] = 60; h[1] = 0; h[2] = 5; h[3] = 2; h[4] = 0; h[5] = 0; h[6] = 1; h[7] = 0;  /* RA + PadN */
    uint8_t *d = h + 8;
    d[0] = 6; d[1] = 0; d[2] = 1; d[3] = 4;                                            /* PadN */
    uint8_t *t = d + 8;
    t[0] = 0x9c; t[1] = 0x41; t[2] = 0x1f; t[3] = 0x90; t[12] = 0x50; t[13] = TH_SYN;
    mpx_pkt p;
    assert_int_equal(cap_parse_frame(DLT_RAW, b, 40 + plen, 40 + plen, &p), CAP_OK);
    assert_int_equal(p.af, 6);
    assert_int_equal(p.sport, 40001);
    assert_true(p.ip_router_alert);
    char s[64];
    cap_ep_str(p.af, p.src, p.sport, s, sizeof s);
    assert_string_equal(s, "[fd00::1]:40001");
    /* a fragment header with non-zero offset */
    h[0] = 44;
    d[0] = 6; d[2] = 0; d[3] = 0x08;
    assert_int_equal(cap_parse_frame(DLT_RAW, b, 40 + plen, 40 + plen, &p), CAP_FRAGMENT);
}

static void t_conn_rules(void **st)
{
    (void)st;
    an_table t;
    an_table_init(&t);
    uint8_t ip[256];
    mpx_pkt p;
    size_t n = build_v4(ip, false, TH_SYN, 0, 0);
    assert_int_equal(cap_parse_frame(DLT_RAW, ip, n, n, &p), CAP_OK);
    int dir;
    an_conn *c1 = an_lookup(&t, 0, &p, &dir);
    assert_int_equal(dir, 0);
    c1->d[0].isn = p.seq; c1->d[0].have_isn = true; c1->saw_syn = true;
    /* retransmitted SYN: same connection */
    assert_ptr_equal(an_lookup(&t, 0, &p, &dir), c1);
    /* the reverse direction maps to dir 1 */
    mpx_pkt r = p;
    memcpy(r.src, p.dst, 16); memcpy(r.dst, p.src, 16); r.sport = p.dport; r.dport = p.sport;
    r.flags = TH_SYN | TH_ACK;
    assert_ptr_equal(an_lookup(&t, 0, &r, &dir), c1);
    assert_int_equal(dir, 1);
    /* same 4-tuple, new ISN: a new connection */
    p.seq = 99999;
    an_conn *c2 = an_lookup(&t, 0, &p, &dir);
    assert_ptr_not_equal(c2, c1);
    assert_int_equal(t.count, 2);
    /* another file: separate connection */
    an_conn *c3 = an_lookup(&t, 1, &p, &dir);
    assert_ptr_not_equal(c3, c2);
    /* mid-stream segment: the higher port is the client */
    r.flags = TH_ACK;
    r.sport = 8080; r.dport = 50000;
    an_conn *c4 = an_lookup(&t, 0, &r, &dir);
    assert_int_equal(dir, 1);
    assert_int_equal(c4->cport, 50000);
    an_violation(c4, "X-RULE", 3, 5, "value %d", 7);
    assert_int_equal(c4->nv, 1);
    assert_string_equal(c4->v[0].msg, "value 7");
    /* every violation counted; details kept for AN_VIOL_STORE, the rest counted per rule */
    for (int i = 1; i < 5000; i++) an_violation(c4, i % 2 ? "A-RULE" : "B-RULE", 4, 6, "n %d", i);
    assert_int_equal(c4->nv, AN_VIOL_STORE);
    assert_int_equal(c4->nv_total, 5000);
    uint64_t more = c4->vmore_other;
    for (size_t i = 0; i < sizeof c4->vmore / sizeof *c4->vmore && c4->vmore[i].rule; i++) more += c4->vmore[i].n;
    assert_int_equal(more, 5000 - AN_VIOL_STORE);
    assert_string_equal(c4->v[AN_VIOL_STORE - 1].msg, "n 4095");
    an_table_free(&t);
}

/* RFC 2675 jumbograms and Linux BIG TCP: the length comes from the Jumbo Payload option or,
 * with a zero length field and no option, from the frame; only above 65535 bytes. */
static void t_jumbo(void **st)
{
    (void)st;
    uint8_t b[128];
    mpx_pkt p;
    /* IPv4 Total Length 0 (BIG TCP), 20 + 20 header bytes captured of 70040 */
    size_t n = build_v4(b, false, TH_ACK, 0, 0);
    b[2] = b[3] = 0;
    assert_int_equal(cap_parse_frame(DLT_RAW, b, n, 70040, &p), CAP_OK);
    assert_int_equal(p.data_len, 70000);
    assert_int_equal(p.data_caplen, 0);
    assert_true(p.truncated);
    /* the same header on a frame that fits a normal Total Length is malformed */
    assert_int_equal(cap_parse_frame(DLT_RAW, b, n, n, &p), CAP_BAD);
    /* IPv6 Payload Length 0 + Hop-by-Hop Jumbo Payload (8 + 20 + 70000) */
    memset(b, 0, sizeof b);
    b[0] = 0x60; b[6] = 0; b[7] = 64; b[23] = 1; b[39] = 2;
    b[40] = 6; b[41] = 0; b[42] = 0xc2; b[43] = 4;
    uint32_t jl = 8 + 20 + 70000;
    b[44] = (uint8_t)(jl >> 24); b[45] = (uint8_t)(jl >> 16); b[46] = (uint8_t)(jl >> 8); b[47] = (uint8_t)jl;
    uint8_t *t = b + 48;
    t[0] = 0x9c; t[1] = 0x40; t[2] = 0x1f; t[3] = 0x90; t[12] = 5 << 4; t[13] = TH_ACK;
    assert_int_equal(cap_parse_frame(DLT_RAW, b, 68, 40 + jl, &p), CAP_OK);
    assert_int_equal(p.af, 6);
    assert_int_equal(p.dport, 8080);
    assert_int_equal(p.data_len, 70000);
    /* a Jumbo Payload length that would fit 16 bits is malformed (RFC 2675 2) */
    b[44] = 0; b[45] = 0; b[46] = 0x01; b[47] = 0;
    assert_int_equal(cap_parse_frame(DLT_RAW, b, 68, 40 + 256, &p), CAP_BAD);
    /* Payload Length 0 without the option (BIG TCP IPv6): the frame gives the length */
    b[6] = 6;
    memmove(b + 40, b + 48, 20);
    assert_int_equal(cap_parse_frame(DLT_RAW, b, 60, 40 + 20 + 70000, &p), CAP_OK);
    assert_int_equal(p.data_len, 70000);
}

static void le32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }
static void le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* pcapng whose interfaces differ in link type (libpcap refuses it): read per interface, with
 * each interface's timestamp resolution; a block cut by the end of the file is a read error. */
static void t_pcapng_mixed(void **st)
{
    (void)st;
    static uint8_t f[1024];
    size_t o = 0;
    /* Section Header */
    le32(f + o, 0x0A0D0D0A); le32(f + o + 4, 28); le32(f + o + 8, 0x1A2B3C4D);
    le16(f + o + 12, 1); le16(f + o + 14, 0); memset(f + o + 16, 0xff, 8); le32(f + o + 24, 28); o += 28;
    /* interface 0: Ethernet, if_tsresol 9 (nanoseconds) */
    le32(f + o, 1); le32(f + o + 4, 32); le16(f + o + 8, 1); le16(f + o + 10, 0); le32(f + o + 12, 65535);
    le16(f + o + 16, 9); le16(f + o + 18, 1); f[o + 20] = 9; f[o + 21] = f[o + 22] = f[o + 23] = 0;
    le16(f + o + 24, 0); le16(f + o + 26, 0); le32(f + o + 28, 32); o += 32;
    /* interface 1: raw IP (LINKTYPE_RAW 101), microseconds */
    le32(f + o, 1); le32(f + o + 4, 20); le16(f + o + 8, 101); le16(f + o + 10, 0); le32(f + o + 12, 65535);
    le32(f + o + 16, 20); o += 20;
    uint8_t ip[128];
    size_t n = build_v4(ip, false, TH_SYN, 0, 0);
    /* packet on interface 1 at 1.5 s (microsecond units) */
    size_t bl = 32 + ((n + 3) & ~(size_t)3);
    le32(f + o, 6); le32(f + o + 4, (uint32_t)bl); le32(f + o + 8, 1); le32(f + o + 12, 0); le32(f + o + 16, 1500000);
    le32(f + o + 20, (uint32_t)n); le32(f + o + 24, (uint32_t)n); memcpy(f + o + 28, ip, n);
    le32(f + o + bl - 4, (uint32_t)bl); o += bl;
    /* the same segment on interface 0 behind an Ethernet header at 2.000000123 s (ns units) */
    size_t en = 14 + n, bl0 = 32 + ((en + 3) & ~(size_t)3);
    uint64_t ns = 2000000123ULL;
    le32(f + o, 6); le32(f + o + 4, (uint32_t)bl0); le32(f + o + 8, 0);
    le32(f + o + 12, (uint32_t)(ns >> 32)); le32(f + o + 16, (uint32_t)ns);
    le32(f + o + 20, (uint32_t)en); le32(f + o + 24, (uint32_t)en);
    memset(f + o + 28, 0, 12); f[o + 28 + 12] = 0x08; f[o + 28 + 13] = 0x00; memcpy(f + o + 28 + 14, ip, n);
    le32(f + o + bl0 - 4, (uint32_t)bl0); o += bl0;
    char err[256];
    cap_file *c = cap_open_mem(f, o, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(cap_linktype(c), DLT_EN10MB);
    mpx_pkt p;
    assert_int_equal(cap_next(c, &p, err, sizeof err), 1);
    assert_int_equal(p.num, 1);
    assert_int_equal(p.t_us, 1500000);
    assert_int_equal(p.dport, 8080);
    assert_int_equal(cap_next(c, &p, err, sizeof err), 1);
    assert_int_equal(p.num, 2);
    assert_int_equal(p.t_us, 2000000);
    assert_int_equal(p.dport, 8080);
    assert_int_equal(cap_next(c, &p, err, sizeof err), 0);
    cap_close(c);
    /* the last block cut short: both packets before it are read, then a read error */
    c = cap_open_mem(f, o - 8, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(cap_next(c, &p, err, sizeof err), 1);
    assert_int_equal(cap_next(c, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "read error after frame 1"));
    cap_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_linktypes),
        cmocka_unit_test(t_ipv4_options),
        cmocka_unit_test(t_truncation),
        cmocka_unit_test(t_ipv6_ext),
        cmocka_unit_test(t_conn_rules),
        cmocka_unit_test(t_jumbo),
        cmocka_unit_test(t_pcapng_mixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
