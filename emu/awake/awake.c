/* mpx-awake: keep CPUs from halting while an emulation runs.
 *
 * On a virtual machine an idle vCPU executes HLT and leaves the physical CPU to the hypervisor;
 * the next timer interrupt has to wait until the host schedules the vCPU again. On this
 * project's VM that costs a sleeping link emulator 1-5 ms at p99 on an otherwise idle host
 * (emu/README.md, "Keeping the CPUs awake"). One spinner thread per CPU, under SCHED_IDLE, keeps
 * each vCPU running: any other task preempts it at once, so it only fills time that would have
 * been spent halted. The harness puts this process in a cgroup of its own so the CPU pressure
 * it reads (PSI) stays that of the experiment's processes.
 *
 * --probe N measures what it is for: N absolute 1 ms sleeps, lateness percentiles, as JSON.
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, by --timeout or when the parent died; 1 set-up
 * failed (no CPU to use, thread creation); 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "lib/parse.h"

static atomic_bool stop_all;

static void *spin(void *arg)
{
    (void)arg;
    struct sched_param sp = { 0 };
    /* per thread on Linux: this spinner yields to every normal and real-time task */
    if (sched_setscheduler(0, SCHED_IDLE, &sp))
        fprintf(stderr, "mpx-awake: warning: SCHED_IDLE: %s\n", strerror(errno));
    while (!atomic_load_explicit(&stop_all, memory_order_relaxed))
        for (int i = 0; i < 256; i++)
            __builtin_ia32_pause(); /* lets a hyperthread sibling run at full speed */
    return NULL;
}

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* probe: how late an absolute 1 ms sleep wakes up (what a link emulator waiting for its next
 * release sees), under SCHED_FIFO like the emulators when permitted */
static int probe(unsigned n)
{
    long long *late = calloc(n, sizeof(*late));
    if (!late) return 1;
    struct sched_param sp = { .sched_priority = 10 };
    bool fifo = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    long long next = mono_ns();
    for (unsigned i = 0; i < n; i++) {
        next += 1000000;
        struct timespec ts = { .tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        late[i] = mono_ns() - next;
        if (late[i] > 1000000) next = mono_ns(); /* a long stall: do not fire the backlog at once */
    }
    qsort(late, n, sizeof(*late), cmp_ll);
#define PCT(q) (late[(size_t)((n - 1) * (q))] / 1000)
    printf("{\"samples\":%u,\"period_us\":1000,\"sched_fifo\":%s,\"late_us\":{\"p50\":%lld,"
           "\"p90\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld}}\n",
           n, fifo ? "true" : "false", PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999),
           late[n - 1] / 1000);
#undef PCT
    free(late);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mpx-awake [--cpus LIST] [--timeout S] [--probe N]\n"
        "  keeps each CPU from halting (one SCHED_IDLE spinner per CPU) until SIGTERM/SIGINT,\n"
        "  the timeout, or the death of its parent\n"
        "  --cpus LIST   only these CPUs, e.g. 0-1,3 (default: every CPU it may run on)\n"
        "  --timeout S   stop after S seconds anyway (default 0 = no limit)\n"
        "  --probe N     do not spin in the background: measure N absolute 1 ms sleeps (with the\n"
        "                spinners running when --cpus or --spin is given) and print the lateness\n"
        "                percentiles as JSON\n"
        "  --spin        with --probe: keep the CPUs awake while probing\n"
        "exit: 0 stopped (signal, timeout, parent gone); 1 set-up failed; 2 usage\n");
}

/* parse_cpus: "0-1,3" into SET; false on a malformed list */
static bool parse_cpus(const char *s, cpu_set_t *set)
{
    CPU_ZERO(set);
    while (*s) {
        char *e;
        long a = strtol(s, &e, 10), b;
        if (e == s || a < 0 || a >= CPU_SETSIZE) return false;
        b = a;
        if (*e == '-') {
            s = e + 1;
            b = strtol(s, &e, 10);
            if (e == s || b < a || b >= CPU_SETSIZE) return false;
        }
        for (long c = a; c <= b; c++) CPU_SET((int)c, set);
        if (*e == ',') e++;
        else if (*e) return false;
        s = e;
    }
    return CPU_COUNT(set) > 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "cpus", required_argument, 0, 'c' }, { "timeout", required_argument, 0, 't' },
        { "probe", required_argument, 0, 'p' }, { "spin", no_argument, 0, 's' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    cpu_set_t cpus;
    bool have_cpus = false, spin_probe = false;
    uint64_t timeout_s = 0, nprobe = 0;
    int o;
    while ((o = getopt_long(argc, argv, "c:t:p:sh", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            if (!parse_cpus(optarg, &cpus)) {
                fprintf(stderr, "mpx-awake: bad --cpus '%s'\n", optarg);
                return 2;
            }
            have_cpus = true;
            break;
        case 't':
            if (mpx_parse_u64(optarg, 0, 7 * 86400, &timeout_s)) {
                fprintf(stderr, "mpx-awake: bad --timeout '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (mpx_parse_u64(optarg, 1, 10000000, &nprobe)) {
                fprintf(stderr, "mpx-awake: bad --probe '%s'\n", optarg);
                return 2;
            }
            break;
        case 's': spin_probe = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!have_cpus && sched_getaffinity(0, sizeof(cpus), &cpus)) {
        fprintf(stderr, "mpx-awake: sched_getaffinity: %s\n", strerror(errno));
        return 1;
    }
    bool spinning = nprobe == 0 || spin_probe || have_cpus;
    /* signals go to sigwait below, never to a spinner */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* the harness may die without its cleanup (SIGKILL): the spinners must not outlive it */
    if (nprobe == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() == 1) return 0;
    }
    pthread_t th[CPU_SETSIZE];
    int nth = 0;
    for (int c = 0; spinning && c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &cpus)) continue;
        pthread_attr_t at;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        pthread_attr_init(&at);
        pthread_attr_setaffinity_np(&at, sizeof(one), &one);
        int r = pthread_create(&th[nth], &at, spin, NULL);
        pthread_attr_destroy(&at);
        if (r) {
            fprintf(stderr, "mpx-awake: spinner for CPU %d: %s\n", c, strerror(r));
            atomic_store(&stop_all, true);
            for (int i = 0; i < nth; i++) pthread_join(th[i], NULL);
            return 1;
        }
        nth++;
    }
    int rc = 0;
    if (nprobe) {
        rc = probe((unsigned)nprobe);
    } else {
        /* EINTR is not a request to stop: the harness pauses the spinners with SIGSTOP between
         * variants, and the wait returns EINTR when SIGCONT resumes the process */
        struct timespec end, now;
        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += (time_t)timeout_s;
        for (;;) {
            int sig;
            if (timeout_s) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                int64_t left = (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 + (end.tv_nsec - now.tv_nsec);
                if (left <= 0) break;
                struct timespec lim = { .tv_sec = (time_t)(left / 1000000000), .tv_nsec = (long)(left % 1000000000) };
                sig = sigtimedwait(&set, NULL, &lim);
            } else {
                sig = sigwaitinfo(&set, NULL);
            }
            if (sig >= 0 || errno != EINTR) break; /* a signal, or the timeout (EAGAIN) */
        }
    }
    atomic_store(&stop_all, true);
    for (int i = 0; i < nth; i++) pthread_join(th[i], NULL);
    return rc;
}
