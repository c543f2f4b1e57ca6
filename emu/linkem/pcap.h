/* Minimal buffered pcap writer (LINKTYPE_ETHERNET, microsecond stamps): the emulator writes
 * frames itself with its own clock, so no capture process can disagree with it. */
#ifndef LK_PCAP_H
#define LK_PCAP_H
#include <stdint.h>
#include <stdio.h>

struct lk_pcap {
    FILE *f;
    uint32_t snaplen;
    uint64_t frames, errors;
};

int lk_pcap_open(struct lk_pcap *p, const char *path, uint32_t snaplen);
/* real_ns: CLOCK_REALTIME-based time the frame was sent */
void lk_pcap_write(struct lk_pcap *p, uint64_t real_ns, const void *frame, uint32_t len);
void lk_pcap_flush(struct lk_pcap *p);
void lk_pcap_close(struct lk_pcap *p);
#endif
