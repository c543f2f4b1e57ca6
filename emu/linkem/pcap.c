#include "emu/linkem/pcap.h"

#include <stdlib.h>
#include <string.h>

struct rec_hdr {
    uint32_t sec, usec, caplen, len;
};

int lk_pcap_open(struct lk_pcap *p, const char *path, uint32_t snaplen)
{
    struct {
        uint32_t magic;
        uint16_t vmaj, vmin;
        int32_t zone;
        uint32_t sigfigs, snaplen, linktype;
    } h = { 0xa1b2c3d4, 2, 4, 0, 0, snaplen, 1 /* Ethernet */ };
    memset(p, 0, sizeof(*p));
    p->snaplen = snaplen;
    p->f = fopen(path, "wb");
    if (!p->f) return -1;
    /* 64 KB: a full buffer is written inline, so it must stay a short write (~10 us) */
    setvbuf(p->f, NULL, _IOFBF, 1 << 16); /* flushed at exit and once a second */
    if (fwrite(&h, sizeof(h), 1, p->f) != 1) return -1;
    fflush(p->f); /* a valid (empty) pcap exists from the start */
    return 0;
}

void lk_pcap_write(struct lk_pcap *p, uint64_t real_ns, const void *frame, uint32_t len)
{
    if (!p->f) return;
    uint32_t cap = len < p->snaplen ? len : p->snaplen;
    struct rec_hdr r = { (uint32_t)(real_ns / 1000000000u),
                         (uint32_t)(real_ns % 1000000000u / 1000u), cap, len };
    if (fwrite(&r, sizeof(r), 1, p->f) != 1 || fwrite(frame, 1, cap, p->f) != cap)
        p->errors++;
    else
        p->frames++;
}

void lk_pcap_flush(struct lk_pcap *p)
{
    if (p->f && fflush(p->f)) p->errors++;
}

void lk_pcap_close(struct lk_pcap *p)
{
    if (p->f) {
        if (fclose(p->f)) p->errors++;
        p->f = NULL;
    }
}
