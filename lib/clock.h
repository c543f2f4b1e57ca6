/* Clocks: CLOCK_MONOTONIC for every interval the agents report, CLOCK_REALTIME only to anchor
 * a connection in wall time (t0_real_us) so it can be matched against pcap timestamps. */
#ifndef MPX_AGENTS_CLOCK_H
#define MPX_AGENTS_CLOCK_H
#include <stdint.h>

int64_t mpxa_mono_us(void);
int64_t mpxa_mono_ns(void);
int64_t mpxa_real_us(void);
#endif
