/* libFuzzer target: mpx-linkem's text parsers (link SPEC, schedule file, Mahimahi trace)
 * must reject any input cleanly: no crash, no hang, no unbounded allocation; its pcap snap
 * rule reads any frame within bounds and never keeps more than the frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "emu/linkem/pcap.h"
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

    /* the input as a frame (and as the SYN that opens its flow, then as a later segment) */
    static struct lk_pcap pc;
    if (!pc.flows) {
        pc.snaplen = LK_SNAP_AUTO, pc.head = LK_SNAP_HEAD_DEFAULT, pc.nbuckets = 4096;
        pc.flows = calloc((size_t)pc.nbuckets * 4, sizeof(*pc.flows));
        if (!pc.flows) return 0;
    }
    uint8_t *fr = malloc(size ? size : 1);
    if (!fr) return 0;
    memcpy(fr, data, size);
    for (int pass = 0; pass < 2; pass++) {
        uint32_t cap = lk_pcap_caplen(&pc, fr, (uint32_t)size);
        if (cap > size) abort();
        if (size > 47) fr[47] ^= 0x02; /* toggle SYN of an IPv4 TCP header at its usual place */
    }
    free(fr);
    return 0;
}
