/* MPTCP v0 (RFC 6824) DSS checksums, checked twice on tests/data/pcap/hb-v0-csum.pcap:
 * 1. independently of proto/ and pcap-analysis/: the frames are parsed here, the IDSN is the
 *    low 64 bits of SHA-1 over the key (nettle directly, RFC 6824 3.1), the checksum is summed
 *    here (RFC 6824 3.3.1: 64-bit DSN, SSN, Data-Level Length, zero checksum, then the data);
 *    every mapping in the capture must carry the right checksum;
 * 2. the analyzer on the same capture finds every one of them right, on the initial subflow
 *    and on the MP_JOIN subflow, and derives the v0 token (SHA-1) of the server key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <nettle/sha1.h>
#include <pcap/pcap.h>
#include "pcap-analysis/analyze.h"

#define V0_PCAP "tests/data/pcap/hb-v0-csum.pcap"

static char pcap_path[512];

static uint64_t be64(const uint8_t *p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void sha1_key(uint64_t key, uint8_t out[SHA1_DIGEST_SIZE])
{
    uint8_t k[8];
    for (int i = 7; i >= 0; i--) { k[i] = (uint8_t)key; key >>= 8; }
    struct sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, sizeof k, k);
    sha1_digest(&c, SHA1_DIGEST_SIZE, out);
}
static uint64_t v0_idsn(uint64_t key) { uint8_t h[SHA1_DIGEST_SIZE]; sha1_key(key, h); return be64(h + 12); }
static uint32_t v0_token(uint64_t key) { uint8_t h[SHA1_DIGEST_SIZE]; sha1_key(key, h); return be32(h); }

static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t dss_csum(uint64_t dsn, uint32_t ssn, uint16_t dll, const uint8_t *data)
{
    uint8_t ph[16];
    for (int i = 0; i < 8; i++) ph[i] = (uint8_t)(dsn >> (56 - 8 * i));
    for (int i = 0; i < 4; i++) ph[8 + i] = (uint8_t)(ssn >> (24 - 8 * i));
    ph[12] = (uint8_t)(dll >> 8); ph[13] = (uint8_t)dll; ph[14] = ph[15] = 0;
    uint32_t s = sum16(sum16(0, ph, sizeof ph), data, dll);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* The 64-bit DSN of a 32-bit one: the candidate nearest the sender's IDSN. */
static uint64_t widen(uint64_t idsn, uint32_t dsn)
{
    uint64_t best = 0, bd = UINT64_MAX;
    for (int k = -1; k <= 1; k++) {
        uint64_t c = (((idsn >> 32) + (uint64_t)(int64_t)k) << 32) | dsn;
        uint64_t d = c > idsn ? c - idsn : idsn - c;
        if (d < bd) { bd = d; best = c; }
    }
    return best;
}

static void t_independent(void **st)
{
    (void)st;
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(pcap_path, eb);
    assert_non_null(pc);
    assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
    uint64_t kc = 0, ks = 0;
    bool have_kc = false, have_ks = false;
    uint8_t cli[2][6];   /* addr:port of the SYN senders (the initial and the join client) */
    int ncli = 0, checked = 0, version = -1;
    uint32_t join_token = 0;
    struct pcap_pkthdr *h;
    const u_char *f;
    while (pcap_next_ex(pc, &h, &f) == 1) {
        assert_int_equal(h->caplen, h->len);
        assert_true(h->caplen >= 54 && be16(f + 12) == 0x0800);
        const uint8_t *ip = f + 14, *th = ip + (ip[0] & 15) * 4;
        size_t tot = be16(ip + 2), doff = (size_t)(th[12] >> 4) * 4;
        const uint8_t *data = th + doff;
        size_t dlen = tot - (size_t)(th - ip) - doff;
        uint8_t fl = th[13];
        uint8_t src[6];
        memcpy(src, ip + 12, 4); memcpy(src + 4, th, 2);
        if ((fl & 0x12) == 0x02 && ncli < 2) memcpy(cli[ncli++], src, 6);
        bool from_client = false;
        for (int i = 0; i < ncli; i++) if (!memcmp(cli[i], src, 6)) from_client = true;
        for (size_t o = 20; o < doff;) {
            uint8_t kind = th[o];
            if (kind == 0) break;
            if (kind == 1) { o++; continue; }
            uint8_t len = th[o + 1];
            assert_true(len >= 2 && o + len <= doff);
            const uint8_t *op = th + o;
            if (kind == 30) {
                int sub = op[2] >> 4;
                if (sub == 0) {   /* MP_CAPABLE: the v0 forms carry the sender's key (12) or both (20) */
                    version = op[2] & 15;
                    if ((fl & 0x12) == 0x02) { kc = be64(op + 4); have_kc = true; }
                    if ((fl & 0x12) == 0x12) { ks = be64(op + 4); have_ks = true; }
                } else if (sub == 1 && len == 12 && (fl & 0x12) == 0x02) {
                    join_token = be32(op + 4);
                } else if (sub == 2) {
                    uint8_t dfl = op[3];
                    size_t p = 4;
                    if (dfl & 0x01) p += (dfl & 0x02) ? 8 : 4;
                    if (dfl & 0x04) {
                        uint64_t dsn = (dfl & 0x08) ? be64(op + p) : be32(op + p);
                        p += (dfl & 0x08) ? 8 : 4;
                        uint32_t ssn = be32(op + p);
                        uint16_t dll = be16(op + p + 4), csum;
                        assert_true(p + 8 <= len);   /* the checksum is there (flag A) */
                        csum = be16(op + p + 6);
                        assert_int_equal(dll, dlen);
                        assert_true(have_kc && have_ks);
                        uint64_t idsn = v0_idsn(from_client ? kc : ks);
                        if (!(dfl & 0x08)) dsn = widen(idsn, (uint32_t)dsn);
                        assert_int_equal(csum, dss_csum(dsn, ssn, dll, data));
                        checked++;
                    }
                }
            }
            o += len;
        }
    }
    pcap_close(pc);
    assert_int_equal(version, 0);
    assert_int_equal(checked, 4);
    /* the join is to the server: its token is the server key's (SHA-1, top 32 bits) */
    assert_int_equal(join_token, v0_token(ks));
}

static void t_analyzer(void **st)
{
    (void)st;
    const char *files[1] = { pcap_path };
    an_ctx x;
    an_ctx_init(&x, files, 1);
    char err[256];
    cap_file *c = cap_open(pcap_path, err, sizeof err);
    assert_non_null(c);
    mpx_pkt p;
    int r;
    while ((r = cap_next(c, &p, err, sizeof err)) == 1) an_packet(&x, 0, &p);
    assert_int_equal(r, 0);
    x.file_frames[0] = cap_frames(c);
    cap_close(c);
    an_finish(&x);
    an_conn *m = x.t.head;
    assert_non_null(m);
    assert_int_equal(m->mpc_version, 0);
    assert_true(m->have_key[1]);
    assert_int_equal(m->token[1], v0_token(m->key[1]));
    assert_int_equal(m->csum_ok, 2);
    assert_int_equal(m->csum_bad, 0);
    assert_int_equal(m->csum_unchecked, 0);
    assert_int_equal(m->nsubflows, 2);
    an_conn *j = m->joins;
    assert_non_null(j);
    assert_int_equal(j->join_hmac_state, 1);
    assert_int_equal(j->csum_ok, 2);
    assert_int_equal(j->csum_bad, 0);
    assert_int_equal(j->csum_unchecked, 0);
    assert_int_equal(m->nv, 0);
    assert_int_equal(j->nv, 0);
    an_ctx_free(&x);
}

int main(void)
{
    const char *root = getenv("MPX_ROOT");
    snprintf(pcap_path, sizeof pcap_path, "%s%s%s", root ? root : "", root ? "/" : "", V0_PCAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_independent),
        cmocka_unit_test(t_analyzer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
