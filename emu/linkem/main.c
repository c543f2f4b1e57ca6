/* mpx-linkem: a userspace link emulator between two interfaces of its own namespace.
 * Frames arriving on --if-a leave on --if-b after the --ab treatment and vice versa with
 * --ba. See emu/linkem/README.md for the model and the interface. */
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lib/file.h"
#include "lib/parse.h"

#include "emu/linkem/io.h"
#include "emu/linkem/link.h"
#include "emu/linkem/out.h"
#include "emu/linkem/pcap.h"
#include "emu/linkem/sched.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };
#define BATCH 64
#define RX_ROUNDS 8            /* batches per wakeup before releases get a turn */
#define FLUSH_NS 1000000000ULL /* pcap/events flush and clock re-sync period */
#define DEFAULT_SPIN_US 50
#define DEFAULT_RT_PRIO 10
#define OVERSHOOT_BINS 256
#define LATE_DIAG_NS 50000 /* frames later than this are attributed to a cause */

static volatile sig_atomic_t g_stop, g_usr1, g_usr2;
static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        g_usr1 = 1;
    else if (sig == SIGUSR2)
        g_usr2 = 1;
    else
        g_stop = 1;
}

struct opts {
    const char *if_a, *if_b, *ab, *ba, *name, *pcap, *stats, *events, *schedule, *ready;
    const char *schedule_log;
    bool quiet, keep_offloads, no_mlock;
    uint64_t spin_ns;
    int rt_prio;
    uint32_t snaplen, snap_head; /* snaplen LK_SNAP_AUTO or fixed */
    uint64_t pcap_ring;
    uint64_t rx_ring; /* bytes per socket, 0 = no ring */
};

struct emu {
    struct opts o;
    struct lk_dir dir[2]; /* 0: ab (A in, B out), 1: ba (B in, A out) */
    int fd[2];            /* sockets on A and B */
    /* their receive rings (map NULL: read with recvmmsg) */
    struct lk_rxring ring[2];
    unsigned ifindex[2];
    bool down, carrier_off; /* blackhole; interfaces set down (carrier loss) */
    uint64_t cut_at;        /* when the current cut began (its frames on the link were lost then) */
    struct lk_sched sched;
    FILE *slog; /* --schedule-log */
    struct lk_pcap pcap;
    FILE *events;
    uint64_t t0, next_flush;
    int64_t real_off;  /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
    int64_t start_off; /* real_off at t0 */
    uint64_t n_loops, n_sleeps, n_rx_calls, n_tx_calls;
    uint64_t last_rx; /* when a receive last returned frames */
    /* adaptive spin: how late timer wakeups were in the last period (1 us bins) */
    uint32_t wake_hist[OVERSHOOT_BINS];
    /* diagnosis (stats "diag"): where release lateness comes from */
    uint64_t wake_run_hist[LK_LATE_BUCKETS]; /* timer wakeup lateness over the whole run */
    uint64_t t_woke;                        /* when the last sleep ended */
    uint64_t late_woke, late_busy, late_batch; /* frames > LATE_DIAG_NS late, by cause */
    uint64_t tx_call_max_ns;
    bool rt_on, mlocked;
    uint64_t steal0; /* host steal (/proc/stat, USER_HZ ticks) at the start */
    uint64_t spin_cur;
    /* rx/tx scratch */
    uint8_t rxdata[BATCH][LK_SLOT_BYTES];
    struct mmsghdr rxm[BATCH], txm[BATCH];
    struct iovec rxiov[BATCH], txiov[BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        struct cmsghdr align;
    } rxctl[BATCH];
};

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
static uint64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void resync_clock(struct emu *e)
{
    uint64_t m1 = mono_ns(), r = clock_ns(CLOCK_REALTIME), m2 = mono_ns();
    e->real_off = (int64_t)r - (int64_t)(m1 + (m2 - m1) / 2);
}

static void logmsg(const struct emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(const struct emu *e, const char *fmt, ...)
{
    if (e->o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mpx-linkem[%s]: ", e->o.name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void drop_event(struct emu *e, const struct lk_dir *d, uint64_t now, uint64_t idx,
                       enum lk_verdict v, uint32_t len)
{
    if (e->events)
        lk_event_print(e->events, now > e->t0 ? (now - e->t0) / 1000 : 0, d->name, idx,
                       lk_verdict_name[v], len);
}

struct flush_ctx {
    struct emu *e;
    struct lk_dir *d;
    uint64_t now;
};
static void flush_one(void *ctx, const struct lk_slot *s)
{
    struct flush_ctx *fc = ctx;
    fc->d->c.drop[LK_DROP_DOWN]++;
    drop_event(fc->e, fc->d, fc->now, s->idx, LK_DROP_DOWN, s->len);
}

static void apply_schedule(struct emu *e, uint64_t now);
static void sched_trigger(struct emu *e, uint64_t now);
static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* One received frame of direction d (data: len bytes, at most LK_SLOT_BYTES of them present
 * when len is larger), whatever the reader: stamp_real_ns is the kernel's CLOCK_REALTIME
 * receive stamp (0: none), now the clock read after the frame was seen. */
static void rx_frame(struct emu *e, struct lk_dir *d, uint8_t *data, uint32_t len,
                     uint64_t stamp_real_ns, bool partial, const struct tpacket_auxdata *vlan,
                     uint64_t now)
{
    uint64_t t_arr = 0;
    if (stamp_real_ns) {
        /* the kernel's receive stamp removes our wakeup latency from the delay;
         * sanity-bounded against clock steps */
        int64_t m = (int64_t)stamp_real_ns - e->real_off;
        if (m > 0 && (uint64_t)m <= now && now - (uint64_t)m < 100000000) t_arr = (uint64_t)m;
    }
    if (!t_arr) {
        t_arr = now;
        d->c.stamp_fallback++;
    }
    if (partial && len <= LK_SLOT_BYTES && lk_csum_complete(data, len)) d->c.csum_fixed++;
    if (vlan->tp_status && len <= LK_SLOT_BYTES)
        len = lk_vlan_insert(data, len, LK_SLOT_BYTES,
                             vlan->tp_status & TP_STATUS_VLAN_TPID_VALID ? vlan->tp_vlan_tpid
                                                                         : 0x8100,
                             vlan->tp_vlan_tci);
    if (len > LK_SLOT_BYTES && !d->c.drop[LK_DROP_TOOLONG])
        fprintf(stderr,
                "mpx-linkem: %s: dropping %u-byte frames: the sender has "
                "TSO/GSO on (ethtool -K IF tso off gso off gro off) or MTU > %d\n",
                d->name, len, LK_SLOT_BYTES - 18);
    /* a frame read late still meets the link state of its arrival time */
    if (lk_sched_next_due(&e->sched, e->t0) <= t_arr) apply_schedule(e, t_arr);
    uint64_t idx;
    bool cut = e->down || e->carrier_off;
    enum lk_verdict v = lk_dir_arrive(d, t_arr, cut, data, len, &idx);
    /* A frame stamped before the cut but read after it (the other ring, or one the kernel
     * queued while we applied the cut) was on the link when it was cut: it is lost at the cut's
     * time, as the frames flushed then are, so every cut drop is logged inside the cut. */
    uint64_t t_ev = v == LK_DROP_DOWN && t_arr < e->cut_at ? e->cut_at : t_arr;
    if (v != LK_PASS) drop_event(e, d, t_ev, idx, v, len);
}

/* The receive ring: up to BATCH ready slots per pass, one clock read per pass. The slots
 * are counted before the clock is read, so every stamp in the pass is <= now (as with
 * recvmmsg, which reads the clock after the call). */
static bool rx_ring(struct emu *e, int side)
{
    struct lk_dir *d = &e->dir[side];
    struct lk_rxring *r = &e->ring[side];
    for (int round = 0; round < RX_ROUNDS; round++) {
        uint32_t n = 0;
        while (n < BATCH) {
            const struct tpacket2_hdr *h =
                (const void *)lk_rxring_slot(r, (r->head + n) % r->frame_nr);
            if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
            n++;
        }
        e->n_rx_calls++;
        if (!n) return true;
        uint64_t now = mono_ns();
        e->last_rx = now;
        for (uint32_t i = 0; i < n; i++) {
            struct tpacket2_hdr *h = (void *)lk_rxring_slot(r, r->head);
            uint32_t st = h->tp_status, len = h->tp_len;
            struct tpacket_auxdata vlan = { 0 };
            if (st & TP_STATUS_VLAN_VALID)
                vlan = (struct tpacket_auxdata){ .tp_status = st,
                                                 .tp_vlan_tci = h->tp_vlan_tci,
                                                 .tp_vlan_tpid = h->tp_vlan_tpid };
            /* bounds: the frame must lie inside its slot (it always does for frames we can
             * carry; a longer one is dropped as too long from its length alone) */
            if (h->tp_mac > r->frame_size || h->tp_snaplen > r->frame_size - h->tp_mac ||
                (h->tp_snaplen < len && len <= LK_SLOT_BYTES))
                len = LK_SLOT_BYTES + 1;
            uint64_t stamp = (uint64_t)h->tp_sec * 1000000000ULL + h->tp_nsec;
            bool partial = st & TP_STATUS_CSUMNOTREADY;
            rx_frame(e, d, (uint8_t *)h + h->tp_mac, len, stamp, partial, &vlan, now);
            __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
            r->head = r->head + 1 == r->frame_nr ? 0 : r->head + 1;
        }
        if (n < BATCH) return true;
    }
    return false;
}

/* --- receive: frames arriving on side (0 = A feeds ab, 1 = B feeds ba). Returns false
 * when it stopped with frames still waiting (so the caller comes back soon). --- */
static bool rx(struct emu *e, int side)
{
    if (e->ring[side].map) return rx_ring(e, side);
    struct lk_dir *d = &e->dir[side];
    for (int round = 0; round < RX_ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) {
            e->rxiov[i] = (struct iovec){ e->rxdata[i], LK_SLOT_BYTES };
            e->rxm[i].msg_hdr = (struct msghdr){ .msg_iov = &e->rxiov[i],
                                                 .msg_iovlen = 1,
                                                 .msg_control = e->rxctl[i].buf,
                                                 .msg_controllen = sizeof(e->rxctl[i]) };
        }
        int n = recvmmsg(e->fd[side], e->rxm, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
        e->n_rx_calls++;
        if (n <= 0) return true;
        uint64_t now = mono_ns();
        e->last_rx = now;
        for (int i = 0; i < n; i++) {
            uint64_t stamp = 0;
            bool partial = false;
            struct tpacket_auxdata vlan = { 0 };
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&e->rxm[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&e->rxm[i].msg_hdr, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                    if (ts.tv_sec >= 0 && ts.tv_nsec >= 0)
                        stamp = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
                } else if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
                    struct tpacket_auxdata aux;
                    memcpy(&aux, CMSG_DATA(c), sizeof(aux));
                    partial = aux.tp_status & TP_STATUS_CSUMNOTREADY;
                    if (aux.tp_status & TP_STATUS_VLAN_VALID) vlan = aux;
                }
            }
            rx_frame(e, d, e->rxdata[i], e->rxm[i].msg_len, stamp, partial, &vlan, now);
        }
        if (n < BATCH) return true;
    }
    return false;
}

/* --- transmit: every frame of direction di due at now leaves on the other side --- */
static void tx(struct emu *e, int di, uint64_t now)
{
    struct lk_dir *d = &e->dir[di];
    int fd = e->fd[1 - di];
    int64_t seq[BATCH];
    for (;;) {
        int n = 0;
        while (n < BATCH && (seq[n] = lk_fifo_pop_due(&d->q, now)) >= 0) {
            struct lk_slot *s = lk_fifo_slot(&d->q, (uint64_t)seq[n]);
            e->txiov[n] = (struct iovec){ lk_fifo_data(&d->q, (uint64_t)seq[n]), s->len };
            e->txm[n].msg_hdr = (struct msghdr){ .msg_iov = &e->txiov[n], .msg_iovlen = 1 };
            n++;
        }
        if (!n) return;
        for (int done = 0; done < n;) {
            /* A veth delivers inside sendmmsg: frame k of the call enters the receiver after
             * the receiver's stack has taken frames 0..k-1. Its stamp is the start of its
             * own delivery, interpolated between the times before and after the call (the
             * time after would include its own trip through the receiver's stack). */
            uint64_t t = mono_ns();
            int r = sendmmsg(fd, e->txm + done, (unsigned)(n - done), MSG_DONTWAIT);
            e->n_tx_calls++;
            uint64_t t_end = mono_ns();
            if (t_end - t > e->tx_call_max_ns) e->tx_call_max_ns = t_end - t;
            if (r < 0 && errno == EINTR) continue;
            int sent = r > 0 ? r : 0;
            for (int i = done; i < done + sent; i++) {
                struct lk_slot *s = lk_fifo_slot(&d->q, (uint64_t)seq[i]);
                uint8_t *data = lk_fifo_data(&d->q, (uint64_t)seq[i]);
                uint64_t ts = t + (t_end - t) * (uint64_t)(i - done) / (uint64_t)sent;
                lk_dir_note_sent(d, s->len, s->t_rel, ts);
                if (ts > s->t_rel + LATE_DIAG_NS)
                    ++*(i > done              ? &e->late_batch /* behind others */
                        : s->t_rel < e->t_woke ? &e->late_woke
                                               : &e->late_busy);
                lk_pcap_write(&e->pcap, ts + (uint64_t)e->real_off, data, s->len);
            }
            if (r < 0 || done + r < n) {
                /* the frame at done+r failed (peer backlog full: ENOBUFS); a real
                 * receiver would have dropped it too, so it is counted and skipped */
                d->c.send_fail++;
                done += (r > 0 ? r : 0) + 1;
            } else {
                done = n;
            }
        }
        lk_fifo_reclaim(&d->q);
    }
}

/* The link's two interfaces administratively down (or up again): the veth driver turns the
 * carrier of each peer, the hosts' interface, off (on) with it. That is the honest form of
 * carrier loss for an emulator between veth pairs: the hosts get the kernel's own link event
 * (NO-CARRIER, RTM_NEWLINK, neighbours flushed, routes flagged linkdown) and their frames to
 * the link are dropped by their own veth; no frame reaches or leaves the emulator. */
static void set_ifup(struct emu *e, bool up)
{
    for (int i = 0; i < 2; i++) {
        struct ifreq ifr = { 0 };
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i ? e->o.if_b : e->o.if_a);
        if (ioctl(e->fd[i], SIOCGIFFLAGS, &ifr) == 0) {
            if (up)
                ifr.ifr_flags |= IFF_UP;
            else
                ifr.ifr_flags &= ~IFF_UP;
            if (ioctl(e->fd[i], SIOCSIFFLAGS, &ifr) == 0) continue;
        }
        fprintf(stderr, "mpx-linkem: %s: cannot set %s: %s\n", ifr.ifr_name, up ? "up" : "down",
                strerror(errno));
    }
}

/* one --schedule-log line: what the schedule did, when (emulator clock and CLOCK_REALTIME) */
static void sched_log(struct emu *e, uint64_t now, const char *act, unsigned line, bool trig)
{
    if (!e->slog) return;
    fprintf(e->slog,
            "{\"t_us\":%llu,\"real_us\":%llu,\"act\":\"%s\",\"line\":%u,\"trig\":%s,"
            "\"trigger\":%llu}\n",
            (unsigned long long)((now - e->t0) / 1000),
            (unsigned long long)((int64_t)now + e->real_off) / 1000, act, line,
            trig ? "true" : "false", (unsigned long long)e->sched.triggers);
    fflush(e->slog); /* rare; a reader during the run sees it at once */
}

static void link_cut(struct emu *e, uint64_t now)
{
    e->cut_at = now;
    for (int i = 0; i < 2; i++) {
        struct flush_ctx fc = { e, &e->dir[i], now };
        lk_fifo_flush(&e->dir[i].q, flush_one, &fc);
    }
}

static void apply_schedule(struct emu *e, uint64_t now)
{
    const struct lk_sched_ent *en;
    while ((en = lk_sched_pop_due(&e->sched, e->t0, now))) {
        char err[256];
        switch (en->act) {
        case LK_ACT_DOWN:
            e->down = true;
            link_cut(e, now);
            break;
        case LK_ACT_UP: e->down = false; break;
        case LK_ACT_CARRIER_DOWN:
            if (!e->carrier_off) set_ifup(e, false);
            e->carrier_off = true;
            link_cut(e, now);
            break;
        case LK_ACT_CARRIER_UP:
            if (e->carrier_off) set_ifup(e, true);
            e->carrier_off = false;
            break;
        case LK_ACT_SET:
            for (int i = 0; i < 2; i++)
                if ((en->dirs >> i) & 1) {
                    if (lk_dir_update(&e->dir[i], &en->upd, err, sizeof(err)))
                        fprintf(stderr, "mpx-linkem: schedule line %u: %s\n", en->line, err);
                    else
                        logmsg(e, "schedule line %u: %s changed", en->line, e->dir[i].name);
                }
            break;
        }
        if (en->act != LK_ACT_SET)
            logmsg(e, "schedule line %u: %s", en->line, lk_act_name[en->act]);
        sched_log(e, now, lk_act_name[en->act], en->line, en->trig);
    }
}

/* SIGUSR2: the link is restored (up, carrier on) and the triggered entries start again */
static void sched_trigger(struct emu *e, uint64_t now)
{
    lk_sched_trigger(&e->sched, now);
    if (e->carrier_off) set_ifup(e, true);
    const char *what = e->down || e->carrier_off ? "trigger-restore" : "trigger";
    e->down = e->carrier_off = false;
    logmsg(e, "SIGUSR2: %s %llu", what, (unsigned long long)e->sched.triggers);
    sched_log(e, now, what, 0, true);
}

/* PACKET_STATISTICS reads and resets the kernel's counters: accumulate them. */
static void collect_kernel_drops(struct emu *e)
{
    for (int i = 0; i < 2; i++) {
        struct tpacket_stats st;
        socklen_t sl = sizeof(st);
        if (getsockopt(e->fd[i], SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
            e->dir[i].c.kernel_drops += st.tp_drops;
    }
}

/* Host CPU steal (a VM's vCPU waiting for the hypervisor), /proc/stat field 8, in USER_HZ
 * ticks: lateness no setting inside the VM can remove. */
static uint64_t read_steal(void)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    return n == 8 ? v[7] : 0;
}

static double steal_pct(const struct emu *e, uint64_t now)
{
    long hz = sysconf(_SC_CLK_TCK), cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double span = (double)(now - e->t0) / 1e9 * (double)(cpus > 0 ? cpus : 1);
    uint64_t s = read_steal();
    if (hz <= 0 || span <= 0 || s < e->steal0) return 0;
    return (double)(s - e->steal0) / (double)hz / span * 100;
}

/* p50, p99 and max of a histogram of 1 us bins (the last bin collects the overflow) */
static void hist_pct(const uint64_t *h, int bins, double *p50, double *p99, double *max)
{
    uint64_t n = 0, acc = 0;
    *p50 = *p99 = *max = 0;
    for (int i = 0; i < bins; i++) n += h[i];
    if (!n) return;
    bool got50 = false, got99 = false;
    for (int i = 0; i < bins; i++) {
        acc += h[i];
        if (!got50 && acc * 2 > n) *p50 = i, got50 = true;
        if (!got99 && acc * 100 > n * 99) *p99 = i, got99 = true;
        if (h[i]) *max = i;
    }
}

static void write_stats(struct emu *e, uint64_t now)
{
    collect_kernel_drops(e);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct lk_run_info ri = {
        .name = e->o.name,
        .elapsed_s = (double)(now - e->t0) / 1e9,
        .cpu_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
        .cpu_sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
        .start_real_us = (e->t0 + (uint64_t)e->start_off) / 1000,
        .loops = e->n_loops,
        .sleeps = e->n_sleeps,
        .rx_calls = e->n_rx_calls,
        .tx_calls = e->n_tx_calls,
        .spin_us = (double)e->spin_cur / 1000,
        .rx_ring_slots = e->ring[0].map && e->ring[1].map ? e->ring[0].frame_nr : 0,
        .pcap_frames = e->pcap.frames,
        .pcap_errors = atomic_load(&e->pcap.errors),
        .pcap_dropped = e->pcap.dropped,
        .pcap_truncated = e->pcap.truncated,
        .pcap_written = atomic_load(&e->pcap.written),
        .snaplen = e->o.snaplen,
        .pcap_on = e->o.pcap != NULL,
        .steal_pct = steal_pct(e, now),
        .rt = e->rt_on,
        .mlocked = e->mlocked,
        .down = e->down || e->carrier_off,
        .late_woke = e->late_woke,
        .late_busy = e->late_busy,
        .late_batch = e->late_batch,
        .tx_call_max_us = (double)e->tx_call_max_ns / 1000,
    };
    struct rusage rt; /* the emulating thread alone: its context switches */
    if (getrusage(RUSAGE_THREAD, &rt) == 0)
        ri.nvcsw = (uint64_t)rt.ru_nvcsw, ri.nivcsw = (uint64_t)rt.ru_nivcsw;
    hist_pct(e->wake_run_hist, LK_LATE_BUCKETS, &ri.wake_p50_us, &ri.wake_p99_us, &ri.wake_max_us);
    /* schedstat: time on the CPU, time runnable but waiting for it, timeslices (ns ns n) */
    FILE *ss = fopen("/proc/thread-self/schedstat", "r");
    if (ss) {
        unsigned long long run_ns, wait_ns;
        if (fscanf(ss, "%llu %llu", &run_ns, &wait_ns) == 2)
            ri.run_delay_ms = (double)wait_ns / 1e6;
        fclose(ss);
    }
    if (e->o.stats) {
        if (lk_stats_write(e->o.stats, &ri, &e->dir[0], &e->dir[1]))
            fprintf(stderr, "mpx-linkem: cannot write %s: %s\n", e->o.stats, strerror(errno));
    } else if (!e->o.quiet) {
        lk_stats_print(stderr, &ri, &e->dir[0], &e->dir[1]);
    }
}

/* The spin before a release only has to cover how late a timer wakeup is: take the 99th
 * percentile of the last period's wakeups (+5 us), within [5 us, --spin]. */
static void adapt_spin(struct emu *e)
{
    uint64_t n = 0, acc = 0, p99 = OVERSHOOT_BINS;
    for (int i = 0; i < OVERSHOOT_BINS; i++) n += e->wake_hist[i];
    if (n < 20) return; /* too few wakeups to judge: keep the current value */
    for (int i = 0; i < OVERSHOOT_BINS; i++) {
        acc += e->wake_hist[i];
        if (acc * 100 >= n * 99) {
            p99 = (uint64_t)i;
            break;
        }
    }
    e->spin_cur = min_u64(e->o.spin_ns, (p99 + 5) * 1000);
    memset(e->wake_hist, 0, sizeof(e->wake_hist));
}

static void periodic(struct emu *e, uint64_t now)
{
    if (now < e->next_flush) return;
    e->next_flush = now + FLUSH_NS;
    adapt_spin(e);
    if (e->events) fflush(e->events);
    resync_clock(e);
}

/* How long a frame may wait in the socket before we look at it without changing any
 * outcome: the kernel stamp keeps its arrival time exact, and its release cannot come
 * before arrival + delay - jitter. Half of that, at most 1 ms; 0: look at once. */
static uint64_t rx_slack(const struct emu *e)
{
    uint64_t s = 1000000;
    for (int i = 0; i < 2; i++) {
        const struct lk_params *p = &e->dir[i].p;
        uint64_t d = p->delay_ns > p->jitter_ns ? p->delay_ns - p->jitter_ns : 0;
        s = min_u64(s, d / 2);
    }
    return s < 20000 ? 0 : s;
}

static bool check_iface(struct emu *e, int i)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    /* reading SO_ERROR clears it; an interface set down and up again (ENETDOWN) is
     * survivable, one that no longer exists is not */
    getsockopt(e->fd[i], SOL_SOCKET, SO_ERROR, &soerr, &sl);
    const char *ifn = i ? e->o.if_b : e->o.if_a;
    if (if_nametoindex(ifn) != e->ifindex[i]) {
        fprintf(stderr, "mpx-linkem: interface %s gone (%s)\n", ifn, strerror(soerr));
        return false;
    }
    if (soerr) logmsg(e, "%s: %s", ifn, strerror(soerr));
    return true;
}

static int run(struct emu *e, const sigset_t *waitmask)
{
    struct pollfd pfd[2] = { { e->fd[0], POLLIN, 0 }, { e->fd[1], POLLIN, 0 } };
    uint64_t next_rx = 0; /* batch mode: when to read the sockets next */
    unsigned peeks = 0;   /* ring reads in a row without ppoll */
    while (!g_stop) {
        uint64_t now = mono_ns();
        /* While traffic flows and the delay leaves slack, frames are read in batches
         * every slack instead of waking for each one (a wakeup costs more than the
         * frame); when idle, the first frame wakes us. */
        uint64_t slack = rx_slack(e);
        bool batch = slack && now < e->last_rx + 4 * slack;
        if (batch && now >= next_rx) {
            bool drained = rx(e, 0) & rx(e, 1);
            next_rx = drained ? now + slack : now;
        }
        if (g_usr2) {
            g_usr2 = 0;
            rx(e, 0); /* frames that arrived before the trigger see the old state */
            rx(e, 1);
            sched_trigger(e, now);
        }
        if (lk_sched_next_due(&e->sched, e->t0) <= now) {
            /* frames that arrived before the change still see the old state */
            rx(e, 0);
            rx(e, 1);
            apply_schedule(e, now);
        }
        tx(e, 0, now);
        tx(e, 1, now);
        periodic(e, now);
        if (g_usr1) {
            g_usr1 = 0;
            write_stats(e, now);
        }
        uint64_t next_rel = min_u64(lk_fifo_next_rel(&e->dir[0].q), lk_fifo_next_rel(&e->dir[1].q));
        uint64_t next = e->next_flush;
        next = min_u64(next, lk_sched_next_due(&e->sched, e->t0));
        if (batch) next = min_u64(next, next_rx);
        now = mono_ns();
        if (next_rel <= now) continue;
        /* A timer wakeup is late by tens of us: sleep until spin before a release, then
         * wait for it on the clock alone (vDSO, no system call). */
        if (next_rel - now <= e->spin_cur && next_rel <= next) {
            while (mono_ns() < next_rel) cpu_relax();
            continue;
        }
        /* frames already in a receive ring: take them now instead of asking ppoll, which
         * would return at once with POLLIN (one system call less per wakeup under load).
         * Signals are delivered only inside ppoll: every 16th time it is called anyway. */
        if (!batch && peeks < 16 &&
            (lk_rxring_ready(&e->ring[0]) || lk_rxring_ready(&e->ring[1]))) {
            for (int i = 0; i < 2; i++)
                if (lk_rxring_ready(&e->ring[i])) rx(e, i);
            peeks++;
            next_rx = mono_ns() + slack;
            continue;
        }
        peeks = 0;
        uint64_t wake = min_u64(next_rel - e->spin_cur, next);
        uint64_t wait = wake > now ? wake - now : 0;
        struct timespec ts = { (time_t)(wait / 1000000000ULL), (long)(wait % 1000000000ULL) };
        pfd[0].events = pfd[1].events = batch ? 0 : POLLIN; /* errors wake us anyway */
        e->n_loops++;
        e->n_sleeps += wait > 0;
        int r = ppoll(pfd, 2, &ts, waitmask);
        e->t_woke = mono_ns();
        if (r == 0 && wait > 0) {
            uint64_t late = (e->t_woke - wake) / 1000;
            e->wake_hist[late < OVERSHOOT_BINS ? late : OVERSHOOT_BINS - 1]++;
            e->wake_run_hist[late < LK_LATE_BUCKETS ? late : LK_LATE_BUCKETS - 1]++;
        }
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "mpx-linkem: ppoll: %s\n", strerror(errno));
            return EXIT_RUNTIME;
        }
        for (int i = 0; i < 2 && r > 0; i++) {
            if (pfd[i].revents & POLLNVAL) return EXIT_RUNTIME;
            if ((pfd[i].revents & (POLLERR | POLLHUP)) && !check_iface(e, i)) return EXIT_RUNTIME;
            if (pfd[i].revents & POLLIN) {
                rx(e, i);
                next_rx = mono_ns() + slack;
            }
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: mpx-linkem --if-a IFA --if-b IFB --ab SPEC --ba SPEC [--name LINK] [--pcap FILE]\n"
        "                  [--stats FILE] [--events FILE] [--schedule FILE] [--schedule-log FILE]\n"
        "                  [--ready FILE] [--quiet]\n"
        "                  [--spin US] [--rt-prio N] [--no-mlock] [--keep-offloads]\n"
        "                  [--snaplen auto|full|N] [--snap-head BYTES] [--pcap-ring MIB]\n"
        "                  [--rx-ring MIB]\n"
        "Emulates one link between two interfaces of the current namespace: frames arriving on "
        "IFA\n"
        "leave on IFB after the --ab treatment, frames arriving on IFB leave on IFA after --ba.\n"
        "Model per direction: arrival -> loss -> drop-tail queue served at rate (or by a trace)\n"
        "-> delay (+jitter) -> release.\n\n"
        "SPEC: space-separated key=value, every value with its unit:\n"
        "  rate=20mbit     bit|kbit|mbit|gbit (decimal); 0 or absent: unlimited\n"
        "  trace=FILE      Mahimahi trace (ms per line, one 1500-byte opportunity each, looped)\n"
        "  delay=10ms      ns|us|ms|s one-way propagation delay\n"
        "  jitter=1ms      extra delay drawn uniformly from [-jitter,+jitter] per packet\n"
        "  reorder=0|1     0 (default): a packet never leaves before the one ahead of it\n"
        "  loss=0.1%%       Bernoulli loss\n"
        "  ge=P/R/LG/LB    Gilbert-Elliott: P good->bad, R bad->good, loss in good, loss in bad "
        "(%%)\n"
        "  queue=100p      drop-tail limit in packets, or bytes: 64kb (b|kb|mb, 1024-based);\n"
        "                  default 1000p\n"
        "  seed=N          PRNG seed of this direction (default 0): same seed, same "
        "drops/jitter\n\n"
        "Options:\n"
        "  --if-a IFA, --if-b IFB  the two interfaces (offloads are switched off on both)\n"
        "  --ab SPEC, --ba SPEC    treatment A->B and B->A\n"
        "  --name LINK        name in logs and stats (default: link)\n"
        "  --pcap FILE        Ethernet pcap of all frames sent (both directions), own timestamps\n"
        "  --stats FILE       JSON counters, written at exit and on SIGUSR1 (stderr if absent)\n"
        "  --events FILE      one JSON line per dropped packet {t_us,dir,idx,reason,len}\n"
        "  --schedule FILE    lines 'TIME ACTION': down | up | carrier-down | carrier-up |\n"
        "                     ab|ba|both KEY=VAL...; TIME 'usr2+1s': 1 s after each SIGUSR2\n"
        "  --schedule-log FILE  one JSON line per schedule action and SIGUSR2 trigger\n"
        "  --ready FILE       written (\"ready PID\\n\") once both interfaces are bound\n"
        "  --spin US          at most this long, watch the clock before a release instead of\n"
        "                     sleeping; adapts to the measured wakeup lateness (default %d; 0 = "
        "never)\n"
        "  --rt-prio N        SCHED_FIFO priority for precise release times (default %d; 0 = off)\n"
        "  --snaplen auto|full|N  pcap snap length (default auto: frames whole up to stream byte\n"
        "                     --snap-head of each TCP direction, SYN payload included; later\n"
        "                     segments headers only; non-TCP frames cut at %d bytes)\n"
        "  --snap-head BYTES  auto snap: stream bytes per TCP direction kept whole (default %d)\n"
        "  --pcap-ring MIB    buffer between forwarding and the pcap writer thread (default %u);\n"
        "                     records that do not fit are dropped and counted (pcap_dropped)\n"
        "  --rx-ring MIB      receive ring (PACKET_MMAP) per interface in MiB (default %u;\n"
        "                     0: none, recvmmsg); a frame that finds it full: kernel_drops\n"
        "  --no-mlock         do not lock memory (mlockall is tried with --rt-prio > 0)\n"
        "  --keep-offloads    do not touch the interfaces' offload settings\n"
        "  --quiet            no log lines on stderr (errors are still printed)\n"
        "  --help, --version\n"
        "Signals: SIGTERM/SIGINT flush the pcap, write stats, exit 0; SIGUSR1 writes stats;\n"
        "SIGUSR2 restores the link and starts the 'usr2+' schedule entries again.\n"
        "Exit: 0 ok, 1 runtime error, 2 usage, 3 setup error.\n",
        DEFAULT_SPIN_US, DEFAULT_RT_PRIO, LK_SNAP_OTHER, LK_SNAP_HEAD_DEFAULT,
        LK_PCAP_RING_DEFAULT >> 20, LK_RXRING_DEFAULT >> 20);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = { { "if-a", 1, 0, 'a' },
                                        { "if-b", 1, 0, 'b' },
                                        { "ab", 1, 0, 'A' },
                                        { "ba", 1, 0, 'B' },
                                        { "name", 1, 0, 'n' },
                                        { "pcap", 1, 0, 'p' },
                                        { "stats", 1, 0, 's' },
                                        { "events", 1, 0, 'e' },
                                        { "schedule", 1, 0, 'S' },
                                        { "schedule-log", 1, 0, 'Y' },
                                        { "ready", 1, 0, 'r' },
                                        { "quiet", 0, 0, 'q' },
                                        { "spin", 1, 0, 'P' },
                                        { "rt-prio", 1, 0, 'R' },
                                        { "keep-offloads", 0, 0, 'K' },
                                        { "snaplen", 1, 0, 'L' },
                                        { "snap-head", 1, 0, 'H' },
                                        { "pcap-ring", 1, 0, 'G' },
                                        { "rx-ring", 1, 0, 'X' },
                                        { "no-mlock", 0, 0, 'M' },
                                        { "help", 0, 0, 'h' },
                                        { "version", 0, 0, 'V' },
                                        { 0, 0, 0, 0 } };
    int c;
    memset(o, 0, sizeof(*o));
    o->name = "link";
    o->spin_ns = DEFAULT_SPIN_US * 1000ULL;
    o->rt_prio = DEFAULT_RT_PRIO;
    o->snaplen = LK_SNAP_AUTO;
    o->snap_head = LK_SNAP_HEAD_DEFAULT;
    o->pcap_ring = LK_PCAP_RING_DEFAULT;
    o->rx_ring = LK_RXRING_DEFAULT;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'a': o->if_a = optarg; break;
        case 'b': o->if_b = optarg; break;
        case 'A': o->ab = optarg; break;
        case 'B': o->ba = optarg; break;
        case 'n': o->name = optarg; break;
        case 'p': o->pcap = optarg; break;
        case 's': o->stats = optarg; break;
        case 'e': o->events = optarg; break;
        case 'S': o->schedule = optarg; break;
        case 'Y': o->schedule_log = optarg; break;
        case 'r': o->ready = optarg; break;
        case 'q': o->quiet = true; break;
        case 'K': o->keep_offloads = true; break;
        case 'M': o->no_mlock = true; break;
        case 'L': {
            uint64_t v;
            if (!strcmp(optarg, "auto")) {
                o->snaplen = LK_SNAP_AUTO;
            } else if (!strcmp(optarg, "full")) {
                o->snaplen = 65535;
            } else if (mpx_parse_u64(optarg, 14, 65535, &v) == 0) {
                o->snaplen = (uint32_t)v;
            } else {
                fprintf(stderr, "mpx-linkem: --snaplen wants auto, full or bytes 14..65535\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'H': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 0, 1u << 30, &v)) {
                fprintf(stderr, "mpx-linkem: --snap-head wants bytes 0..2^30\n");
                return EXIT_USAGE;
            }
            o->snap_head = (uint32_t)v;
            break;
        }
        case 'G': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 1, 1024, &v) || (v & (v - 1))) {
                fprintf(stderr, "mpx-linkem: --pcap-ring wants MiB, a power of 2 in 1..1024\n");
                return EXIT_USAGE;
            }
            o->pcap_ring = v << 20;
            break;
        }
        case 'X': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 0, 1024, &v)) {
                fprintf(stderr, "mpx-linkem: --rx-ring wants MiB 0..1024\n");
                return EXIT_USAGE;
            }
            o->rx_ring = v << 20;
            break;
        }
        case 'P': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 0, 100000, &v)) {
                fprintf(stderr, "mpx-linkem: --spin wants microseconds 0..100000\n");
                return EXIT_USAGE;
            }
            o->spin_ns = v * 1000ULL;
            break;
        }
        case 'R': {
            uint64_t v;
            if (mpx_parse_u64(optarg, 0, 99, &v)) {
                fprintf(stderr, "mpx-linkem: --rt-prio wants 0..99\n");
                return EXIT_USAGE;
            }
            o->rt_prio = (int)v;
            break;
        }
        case 'h': usage(stdout); exit(0);
        case 'V': printf("mpx-linkem %s\n", MPX_VERSION); exit(0);
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc || !o->if_a || !o->if_b || !o->ab || !o->ba) {
        fprintf(stderr, "mpx-linkem: --if-a, --if-b, --ab and --ba are required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(o->if_a, o->if_b)) {
        fprintf(stderr, "mpx-linkem: --if-a and --if-b must differ\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* SCHED_FIFO and locked memory for the forwarding thread, each with a warning and a fallback
 * when not permitted. Measured here: a CFS task's timer wakeup is late by p99 0.6-1.2 ms, a
 * SCHED_FIFO one by p99 36 us (idle host); the kernel's RT throttling still leaves 5 % to
 * everyone else. mlockall: no page fault (a disk read under memory pressure) in the loop;
 * MCL_ONFAULT locks pages as they are first used, so the large rings cost only what fills. */
static void realtime(struct emu *e)
{
    if (!e->o.rt_prio) return;
    struct sched_param sp = { .sched_priority = e->o.rt_prio };
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp))
        fprintf(stderr, "mpx-linkem: warning: SCHED_FIFO %d: %s (delays will be less precise)\n",
                e->o.rt_prio, strerror(errno));
    else
        e->rt_on = true;
    if (e->o.no_mlock) return;
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) &&
        mlockall(MCL_CURRENT | MCL_FUTURE)) /* kernels before 4.4: no MCL_ONFAULT */
        fprintf(stderr, "mpx-linkem: warning: mlockall: %s (page faults may delay releases)\n",
                strerror(errno));
    else
        e->mlocked = true;
}

int main(int argc, char **argv)
{
    static struct emu e; /* large scratch buffers: keep them off the stack */
    int rc = parse_opts(argc, argv, &e.o);
    if (rc) return rc;
    char err[512];
    struct lk_params p[2];
    const char *spec[2] = { e.o.ab, e.o.ba };
    for (int i = 0; i < 2; i++) {
        lk_params_default(&p[i]);
        if (lk_spec_parse(spec[i], &p[i], err, sizeof(err))) {
            fprintf(stderr, "mpx-linkem: --%s: %s\n", i ? "ba" : "ab", err);
            return EXIT_USAGE;
        }
    }
    if (e.o.schedule && lk_sched_load(e.o.schedule, &e.sched, err, sizeof(err))) {
        fprintf(stderr, "mpx-linkem: --schedule %s\n", err);
        return EXIT_USAGE;
    }

    /* traces load before any interface is touched: a bad file changes nothing */
    static const char *dn[2] = { "ab", "ba" };
    for (int i = 0; i < 2; i++) {
        if (lk_dir_init(&e.dir[i], dn[i], &p[i], 0, err, sizeof(err))) {
            fprintf(stderr, "mpx-linkem: --%s: %s\n", dn[i], err);
            return EXIT_SETUP;
        }
    }

    /* signals are blocked except while waiting in ppoll, so a flag is never missed */
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGUSR1);
    sigdelset(&waitmask, SIGUSR2);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* default slack is 50 us: far too coarse */

    const char *ifn[2] = { e.o.if_a, e.o.if_b };
    for (int i = 0; i < 2; i++) {
        if (!e.o.keep_offloads && lk_offloads_off(ifn[i], err, sizeof(err)))
            fprintf(stderr, "mpx-linkem: warning: %s: offloads left on: %s\n", ifn[i], err);
        e.ifindex[i] = if_nametoindex(ifn[i]);
        e.fd[i] = lk_sock_open(ifn[i], e.o.rx_ring, &e.ring[i], err, sizeof(err));
        if (e.fd[i] < 0) {
            fprintf(stderr, "mpx-linkem: %s\n", err);
            return EXIT_SETUP;
        }
        if (e.o.rx_ring && !e.ring[i].map)
            fprintf(stderr, "mpx-linkem: warning: %s: no receive ring (%s): recvmmsg instead\n",
                    ifn[i], err);
    }
    /* the pcap writer thread starts before the real-time switch below: it stays SCHED_OTHER */
    if (e.o.pcap && lk_pcap_open(&e.pcap, e.o.pcap, e.o.snaplen, e.o.snap_head, e.o.pcap_ring)) {
        fprintf(stderr, "mpx-linkem: --pcap %s: %s\n", e.o.pcap, strerror(errno));
        return EXIT_SETUP;
    }
    if (e.o.events) {
        e.events = fopen(e.o.events, "w");
        if (!e.events) {
            fprintf(stderr, "mpx-linkem: --events %s: %s\n", e.o.events, strerror(errno));
            return EXIT_SETUP;
        }
        setvbuf(e.events, NULL, _IOFBF, 1 << 16);
    }
    if (e.o.schedule_log && !(e.slog = fopen(e.o.schedule_log, "w"))) {
        fprintf(stderr, "mpx-linkem: --schedule-log %s: %s\n", e.o.schedule_log, strerror(errno));
        return EXIT_SETUP;
    }
    realtime(&e);
    e.t0 = mono_ns();
    e.steal0 = read_steal();
    resync_clock(&e);
    e.start_off = e.real_off;
    e.spin_cur = e.o.spin_ns;
    e.next_flush = e.t0 + FLUSH_NS;
    for (int i = 0; i < 2; i++) {
        e.dir[i].t0 = e.t0;
        char desc[512];
        lk_params_format(&p[i], desc, sizeof(desc));
        logmsg(&e, "%s %s -> %s: %s", dn[i], ifn[i], ifn[1 - i], desc);
    }
    if (e.o.ready && mpx_file_ready(e.o.ready)) {
        fprintf(stderr, "mpx-linkem: --ready %s: %s\n", e.o.ready, strerror(errno));
        return EXIT_SETUP;
    }
    rc = run(&e, &waitmask);

    uint64_t now = mono_ns();
    write_stats(&e, now);
    lk_pcap_close(&e.pcap);
    if (e.events && fclose(e.events)) rc = EXIT_RUNTIME;
    if (e.slog && fclose(e.slog)) rc = EXIT_RUNTIME;
    for (int i = 0; i < 2; i++) {
        lk_rxring_unmap(&e.ring[i]);
        close(e.fd[i]);
        lk_dir_free(&e.dir[i]);
    }
    lk_sched_free(&e.sched);
    logmsg(&e, "exit %d", rc);
    return rc;
}
