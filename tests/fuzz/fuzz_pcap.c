/* libFuzzer target: whole pcap / pcapng files through mpx-analyze's capture layer (the
 * mixed-link pcapng reader included), per-packet decode, connection passes and every writer,
 * a read error recorded as mpx-analyze records it (seeded with the golden pcaps). */
#include "pcap-analysis/analyze.h"
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cap_file *c = cap_open_mem(data, size, err, sizeof err);
    if (!c) return 0;
    const char *files[1] = { "fuzz.pcap" };
    an_ctx x;
    an_ctx_init(&x, files, 1);
    mpx_pkt p;
    int n = 0, r;
    while ((r = cap_next(c, &p, err, sizeof err)) == 1 && n++ < 100000) an_packet(&x, 0, &p);
    if (r < 0) snprintf(x.read_err[0], sizeof x.read_err[0], "%.250s", err);
    x.file_frames[0] = cap_frames(c);
    cap_close(c);
    an_finish(&x);
    FILE *o = fopen("/dev/null", "w");
    if (o) {
        an_write(&x, AN_OUT_JSON, o);
        an_write(&x, AN_OUT_CSV, o);
        an_write(&x, AN_OUT_REPORT, o);
        fclose(o);
    }
    an_ctx_free(&x);
    return 0;
}
