/* libFuzzer target: TCP option walker + checker + printer, and the budget spec parser.
 * Input: byte 0 = TCP flags, byte 1 bit 0 = also parse the rest as a budget spec,
 * rest = option area (any length). Invariants are checked with abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto/budget.h"
#include "proto/tcpopt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t flags = data[0], mode = data[1];
    const uint8_t *p = data + 2;
    size_t n = size - 2;

    mpx_tcpopts o;
    int r = mpx_tcpopt_walk(p, n, &o);
    if ((r == 0) != (o.err.rule == NULL)) abort();
    if (o.n > MPX_TCPOPT_MAX_ITEMS || o.used > n) abort();
    /* every option lies inside the area; re-encoding the walked options gives the bytes back */
    uint8_t re[512];
    mpx_wr w = mpx_wr_init(re, sizeof re);
    for (size_t i = 0; i < o.n; i++) {
        const mpx_tcpopt *t = &o.opt[i];
        if (t->off + t->len > n) abort();
        if (t->kind <= 1) mpx_wr_u8(&w, t->kind);
        else mpx_wr_bytes(&w, p + t->off, t->len);
    }
    if (r == 0 && !w.overflow && (w.len != o.used || memcmp(re, p, w.len) != 0)) abort();
    mpx_viols vs;
    mpx_viols_clear(&vs);
    size_t k = mpx_tcpopt_check(p, n, flags, &vs);
    if (k != vs.n + vs.dropped) abort();
    if (r != 0 && k == 0) abort();   /* a structural error must be reported */
    char txt[64], big[2048];
    mpx_tcpopts_format(&o, flags, txt, sizeof txt);   /* truncation path */
    mpx_tcpopts_format(&o, flags, big, sizeof big);
    for (size_t i = 0; i < o.n; i++) mpx_tcpopt_format(&o.opt[i], txt, sizeof txt);

    if (mode & 1) {
        char spec[256];
        size_t sl = n < sizeof spec - 1 ? n : sizeof spec - 1;
        memcpy(spec, p, sl);
        spec[sl] = 0;
        mpx_budget b;
        mpx_err e;
        mpx_err_clear(&e);
        if (mpx_budget_from_spec((mode & 2) ? MPX_SEG_SYNACK : MPX_SEG_SYN, spec, &b, &e) == 0) {
            if (b.total > MPX_BUDGET_SPACE || b.total + b.left != MPX_BUDGET_SPACE) abort();
            uint8_t out[64];
            mpx_wr ow = mpx_wr_init(out, sizeof out);
            if (mpx_budget_emit(&b, &ow) != 0 || ow.len != b.total) abort();
            mpx_tcpopts eo;
            mpx_tcpopt_walk(out, ow.len, &eo);
        }
    }
    return 0;
}
