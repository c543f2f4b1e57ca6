/* libFuzzer target: MPTCP option decoder in every context, checks, printer, encoder
 * (decode -> encode -> decode -> encode must be stable), and the MP_CONVERT /
 * MP_PREFER_PROXY options (decode -> encode must give the input back).
 * Input: byte 0 = TCP flags, rest = the option from its subtype byte on (kind and length
 * are prepended so the length byte is always consistent; a second pass uses the raw
 * input as the whole option to exercise the kind/length checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto/mpopt.h"
#include "proto/mptcp.h"

static void one(const uint8_t *opt, size_t len, uint8_t flags)
{
    for (int c = 0; c < 4; c++) {
        mpx_mptcp_opt o;
        mpx_err e;
        mpx_err_clear(&e);
        if (mpx_mptcp_decode(opt, len, (mpx_mpctx)c, &o, &e) != 0) {
            if (!e.rule) abort();
            continue;
        }
        if (o.len != len) abort();
        mpx_viols vs;
        mpx_viols_clear(&vs);
        mpx_mptcp_check(&o, flags, 0, &vs);
        char txt[48], big[512];
        mpx_mptcp_format(&o, txt, sizeof txt);
        mpx_mptcp_format(&o, big, sizeof big);
        uint8_t a[300], b[300];
        mpx_wr wa = mpx_wr_init(a, sizeof a);
        if (mpx_mptcp_encode(&o, &wa) != 0) abort();
        if (wa.len != mpx_mptcp_encoded_len(&o) || wa.len != len) abort();
        mpx_mptcp_opt o2;
        mpx_err_clear(&e);
        if (mpx_mptcp_decode(a, wa.len, (mpx_mpctx)c, &o2, &e) != 0) abort();
        mpx_wr wb = mpx_wr_init(b, sizeof b);
        if (mpx_mptcp_encode(&o2, &wb) != 0 || wb.len != wa.len || memcmp(a, b, wa.len) != 0) abort();
        if (o.subtype == MPX_MP_ADD_ADDR && o.u.add_addr.has_hmac)
            (void)mpx_mptcp_add_addr_hmac(1, 2, &o.u.add_addr);
        if (o.subtype == MPX_MP_DSS && o.u.dss.has_map)
            (void)mpx_mptcp_dss_csum(o.u.dss.dsn, o.u.dss.ssn, o.u.dss.dll, opt, len);
        if (o.subtype == MPX_MP_JOIN)
            (void)mpx_mptcp_join_verify(1, &o.u.mpj, 1, 2, 3, 4);
    }
    for (int l = 0; l < 2; l++) {
        mpx_mpconvert m;
        mpx_err e;
        mpx_err_clear(&e);
        uint8_t st = len > 2 ? opt[2] >> 4 : 0xe;
        if (mpx_mpconvert_decode(opt, len, st, (mpx_mpconv_layout)l, &m, &e) == 0) {
            uint8_t a[32];
            mpx_wr w = mpx_wr_init(a, sizeof a);
            if (mpx_mpconvert_encode(&m, &w) != 0 || w.len != len || memcmp(a, opt, len) != 0) abort();
            mpx_viols vs;
            mpx_viols_clear(&vs);
            mpx_mpconvert_check(&m, 0, &vs);
            char txt[100];
            mpx_mpconvert_format(&m, txt, sizeof txt);
        }
        mpx_prefer_proxy pp;
        if (mpx_prefer_proxy_decode(opt, len, st, &pp, &e) == 0) {
            uint8_t a[4];
            mpx_wr w = mpx_wr_init(a, sizeof a);
            if (mpx_prefer_proxy_encode(&pp, &w) != 0 || memcmp(a, opt, 4) != 0) abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 254) return 0;
    uint8_t flags = data[0];
    uint8_t buf[256];
    size_t len = size - 1 + 2;
    buf[0] = 30;
    buf[1] = (uint8_t)len;
    memcpy(buf + 2, data + 1, size - 1);
    one(buf, len, flags);
    /* the raw input as a whole option (kind / length byte mismatches) */
    uint8_t *raw = malloc(size - 1 ? size - 1 : 1);
    if (!raw) return 0;
    memcpy(raw, data + 1, size - 1);
    one(raw, size - 1, flags);
    free(raw);
    return 0;
}
