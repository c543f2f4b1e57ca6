/* libFuzzer target: mpx-linkem's text parsers (link SPEC, schedule file, Mahimahi trace)
 * must reject any input cleanly: no crash, no hang, no unbounded allocation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "emu/linkem/sched.h"
#include "emu/linkem/spec.h"
#include "emu/linkem/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;

    struct lk_params p;
    lk_params_default(&p);
    if (lk_spec_parse(s, &p, err, sizeof err) == 0) {
        char txt[512];
        lk_params_format(&p, txt, sizeof txt);
    }
    struct lk_sched sc;
    memset(&sc, 0, sizeof sc);
    if (lk_sched_parse(s, size, &sc, err, sizeof err) == 0) lk_sched_free(&sc);
    struct lk_trace tr;
    memset(&tr, 0, sizeof tr);
    if (lk_trace_parse(s, size, &tr, err, sizeof err) == 0) {
        (void)lk_trace_rate_bps(&tr);
        lk_trace_free(&tr);
    }
    free(s);
    return 0;
}
