/* Machine output: the --stats JSON object and --events JSON lines (see README.md). */
#ifndef LK_OUT_H
#define LK_OUT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "emu/linkem/link.h"

struct lk_run_info {
    const char *name;
    double elapsed_s, cpu_user_s, cpu_sys_s;
    uint64_t pcap_frames, pcap_errors;
    uint64_t pcap_dropped;   /* records the writer could not keep (ring full): never silent */
    uint64_t pcap_truncated; /* records cut by the snap length */
    uint64_t pcap_written;   /* bytes the writer put in the file */
    uint32_t snaplen;        /* 0: auto */
    bool rt, mlocked;        /* SCHED_FIFO and mlockall in effect */
    bool pcap_on;
    double steal_pct;        /* host CPU steal during the run, % of all CPUs */
    uint64_t start_real_us; /* CLOCK_REALTIME at the start (schedule time 0) */
    int down;
    uint64_t loops, sleeps, rx_calls, tx_calls; /* event loop work, for CPU analysis */
    unsigned rx_ring_slots; /* receive ring slots per socket (0: recvmmsg, no ring) */
    /* where lateness comes from (stats "diag"): timer wakeup lateness, frames > 50 us late by
     * cause, longest send call, time runnable but not running, context switches */
    double wake_p50_us, wake_p99_us, wake_max_us, tx_call_max_us, run_delay_ms;
    uint64_t late_woke, late_busy, late_batch, nvcsw, nivcsw;
    double spin_us;                             /* current adaptive spin before a release */
};

/* Writes the stats object to f (one line, newline-terminated). */
void lk_stats_print(FILE *f, const struct lk_run_info *ri, const struct lk_dir *ab,
                    const struct lk_dir *ba);
/* Writes it to path atomically (path.tmp + rename). Returns 0 or -1. */
int lk_stats_write(const char *path, const struct lk_run_info *ri, const struct lk_dir *ab,
                   const struct lk_dir *ba);
void lk_event_print(FILE *f, uint64_t t_us, const char *dir, uint64_t idx, const char *reason,
                    uint32_t len);
#endif
