/* mpx-sim: runs an experiment variant's plan on the discrete-event model and writes one JSON
 * record per connection (sim/README.md). Exit codes: 0 every connection completed, 1 some
 * failed (recorded with ok=false), 2 usage or input error. */
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lib/parse.h"
#include "lib/stats.h"
#include "sim/app.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: mpx-sim --variant DIR [options]\n"
"Runs signals x repetitions (round-robin, as the harness does) over the links of a resolved\n"
"variant folder (results/RUN/links/VARIANT: topology.resolved, addrs, links.txt, LINK.spec).\n"
"  --variant DIR       the resolved variant (required)\n"
"  --signals LIST      comma-separated registry names, or all (default all)\n"
"  --reps N            repetitions per signal (default 20)\n"
"  --workload SPEC     request/response workload, rr REQ/RESP only (default \"rr 100/1000\")\n"
"  --seed N            re-seed every link direction from N (default: the seeds in LINK.spec)\n"
"  --seeds K           run the plan K times, each with fresh link draws (round 0: the links'\n"
"                      own seeds; repetitions numbered on); not with --records/--steps\n"
"  --gap MS            idle time between connections (default 20)\n"
"  --conn-timeout S    give a connection up after S seconds (default 5)\n"
"  --tfo               the direct baseline (tcp) uses TFO\n"
"  --syn-data-policy P the converter's (mpx-proxy --syn-data-policy): cookie (default: SYN data acts\n"
"                      at once only with a TFO cookie), third-ack, immediate[:RATE] (the rate is\n"
"                      not modelled: one connection at a time never reaches it)\n"
"  --no-join           no MP_JOIN subflow over the client's second link\n"
"  --no-warmup         no unrecorded first connection per signal (cookie fetch)\n"
"  --pcap DIR          write DIR/LINK.pcap for every link (as the emulator does)\n"
"  --out FILE          connection records (JSON lines; default stdout)\n"
"  --records FILE      also mpx-client's own record per connection (tag VARIANT/REP/STEP), and\n"
"  --steps FILE        the harness's steps.csv lines: a results folder the harness completes\n"
"  --name VARIANT      the variant name in tags and steps (default base)\n"
"  --plan FILE         run the steps of variant --name from a harness plan.csv (default:\n"
"                      --signals x --reps in the harness's rotating round-robin order)\n"
"  --drop-log FILE     one JSON line per frame a link dropped (t_us, link, dir, idx, reason,\n"
"                      len: the fields of mpx-linkem --events)\n"
"  --summary           per-signal TTFB percentiles on stderr\n"
"  --summary-json FILE the same per signal as JSON (n, ok, p50/p90/p99 ms, SYN timeouts)\n"
"  --proc NODE=US[,..] processing time of an application (client, proxy, server; default 0): each\n"
"                      time it acts on what it received, what it sends, connects or closes leaves\n"
"                      US microseconds later, its steps one after the other (sim/README.md);\n"
"                      optd=US: mpx-optd's time per packet or request that waits for it\n"
"  --calibrate FILE    instead of records: fit --proc to measured TTFBs (FILE: \"SIGNAL MS\" per\n"
"                      connection, e.g. a no-loss emulation's) against this plan; one JSON object\n"
"                      to --out: per node the time, per signal its steps and the residual left\n""exit: 0 all connections completed, 1 some failed, 2 usage or input error\n");
}

struct opts {
    const char *variant, *signals, *workload, *pcap, *out, *sjson, *records, *steps, *name, *plan,
        *droplog, *proc, *calibrate;
    uint64_t reps, gap_ms, timeout_s, seed;
    bool seed_set, tfo, join, warmup, summary;
    uint64_t seeds;
    int syn_policy;
};

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "variant", 1, 0, 'v' }, { "signals", 1, 0, 's' }, { "reps", 1, 0, 'r' },
        { "workload", 1, 0, 'w' }, { "seed", 1, 0, 'S' }, { "gap", 1, 0, 'g' },
        { "conn-timeout", 1, 0, 't' }, { "tfo", 0, 0, 'T' }, { "no-join", 0, 0, 'J' },
        { "no-warmup", 0, 0, 'W' }, { "pcap", 1, 0, 'p' }, { "out", 1, 0, 'o' },
        { "summary", 0, 0, 'm' }, { "summary-json", 1, 0, 'j' }, { "records", 1, 0, 'R' },
        { "steps", 1, 0, 'P' }, { "name", 1, 0, 'N' }, { "seeds", 1, 0, 'K' }, { "syn-data-policy", 1, 0, 'Y' }, { "plan", 1, 0, 'L' }, { "help", 0, 0, 'h' },
        { "drop-log", 1, 0, 'D' }, { "proc", 1, 0, 'C' }, { "calibrate", 1, 0, 'A' },
        { 0, 0, 0, 0 }
    };
    *o = (struct opts){ .signals = "all", .workload = "rr 100/1000", .reps = 20, .gap_ms = 20,
                        .timeout_s = 5, .join = true, .warmup = true, .name = "base", .seeds = 1 };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'v': o->variant = optarg; break;
        case 's': o->signals = optarg; break;
        case 'r': bad = mpx_parse_u64(optarg, 1, 100000000, &o->reps); break;
        case 'w': o->workload = optarg; break;
        case 'S': bad = mpx_parse_u64(optarg, 0, MPX_SEED_MAX, &o->seed), o->seed_set = true; break;
        case 'g': bad = mpx_parse_u64(optarg, 0, 3600000, &o->gap_ms); break;
        case 't': bad = mpx_parse_u64(optarg, 1, 3600, &o->timeout_s); break;
        case 'T': o->tfo = true; break;
        case 'J': o->join = false; break;
        case 'W': o->warmup = false; break;
        case 'p': o->pcap = optarg; break;
        case 'o': o->out = optarg; break;
        case 'm': o->summary = true; break;
        case 'j': o->sjson = optarg; break;
        case 'R': o->records = optarg; break;
        case 'P': o->steps = optarg; break;
        case 'N': o->name = optarg; break;
        case 'L': o->plan = optarg; break;
        case 'D': o->droplog = optarg; break;
        case 'C': o->proc = optarg; break;
        case 'A': o->calibrate = optarg; break;
        case 'K': bad = mpx_parse_u64(optarg, 1, 100000, &o->seeds); break;
        case 'Y':
            if (!strcmp(optarg, "cookie")) o->syn_policy = SIM_SYN_COOKIE;
            else if (!strcmp(optarg, "third-ack")) o->syn_policy = SIM_SYN_THIRD_ACK;
            else if (!strncmp(optarg, "immediate", 9) && (!optarg[9] || optarg[9] == ':'))
                o->syn_policy = SIM_SYN_IMMEDIATE;
            else bad = -1;
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (bad) {
            fprintf(stderr, "mpx-sim: bad value '%s' (--help lists the ranges)\n", optarg);
            return -1;
        }
    }
    if (o->calibrate && o->proc) {
        fprintf(stderr, "mpx-sim: --calibrate fits the processing times: no --proc with it\n");
        return -1;
    }
    if (o->seeds > 1 && (o->records || o->steps)) {
        fprintf(stderr, "mpx-sim: --seeds K > 1 repeats the plan: no --records/--steps\n");
        return -1;
    }
    if (!o->variant || optind != argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static int pick_signals(const char *list, const mpx_signal **out, size_t *n)
{
    *n = 0;
    if (!strcmp(list, "all")) {
        size_t k;
        const mpx_signal *rows = mpx_signals(&k);
        for (size_t i = 0; i < k; i++) out[(*n)++] = &rows[i];
        return 0;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        const mpx_signal *sg = mpx_signal_by_name(t);
        if (!sg) {
            fprintf(stderr, "mpx-sim: unknown signal '%s' (bin/mpx-wire signals --names)\n", t);
            return -1;
        }
        if (*n == MPX_SIG__N) return -1;
        out[(*n)++] = sg;
    }
    return *n ? 0 : -1;
}

static struct sim_node *node_by_role(struct sim *s, const char *role)
{
    for (int i = 0; i < s->nnodes; i++)
        if (!strcmp(s->nodes[i].role, role)) return &s->nodes[i];
    return NULL;
}

/* The first address of `from` whose /24 is shared with `to` (a direct link). */
static uint32_t addr_towards(const struct sim_node *from, const struct sim_node *to)
{
    for (int i = 0; i < from->nif; i++)
        for (int j = 0; j < to->nif; j++)
            if (from->ifs[i].link == to->ifs[j].link) return from->ifs[i].addr;
    return 0;
}

/* --proc NODE=US[,NODE=US...]: NODE is client, proxy or server (or host / hag, or the
 * topology's name of that node); US microseconds, fractions allowed. */
static int proc_apply(const char *spec, struct sim_world *w)
{
    if (!spec || !*spec) return 0;
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) goto bad;
    for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
        char *eq = strchr(t, '=');
        if (!eq) goto bad;
        *eq = '\0';
        int who = -1;
        if (!strcmp(t, "client") || !strcmp(t, "host") || !strcmp(t, w->client->name))
            who = SIM_PROC_CLIENT;
        else if (!strcmp(t, "proxy") || !strcmp(t, "hag") || !strcmp(t, w->hag->name))
            who = SIM_PROC_PROXY;
        else if (!strcmp(t, "server") || !strcmp(t, w->server->name))
            who = SIM_PROC_SERVER;
        else if (!strcmp(t, "optd"))
            who = SIM_PROC_OPTD;
        char *end;
        double us = strtod(eq + 1, &end);
        if (who < 0 || end == eq + 1 || *end || !(us >= 0 && us <= 1e6)) goto bad;
        w->proc_ns[who] = (uint64_t)llround(us * 1000);
    }
    return 0;
bad:
    fprintf(stderr, "mpx-sim: --proc '%s': want NODE=US[,NODE=US...], NODE client, proxy, server "
                    "(or the node's name) or optd, US 0 to 1000000\n", spec);
    return -1;
}

/* A fresh model of the variant: links (re-seeded with --seed), roles, the converter's policy,
 * the processing times. Returns 0 or -1 with a message on stderr. */
static int world_setup(const struct opts *o, const mpxa_workload *wl, const mpx_signal **sigs,
                       size_t nsig, struct sim *s, struct sim_world *w)
{
    char err[256];
    *w = (struct sim_world){ .wl = *wl };
    sim_init(s);
    if (sim_net_load(s, o->variant, err, sizeof err) || sim_tcp_init(s)) {
        fprintf(stderr, "mpx-sim: %s\n", err);
        return -1;
    }
    w->s = s;
    w->client = node_by_role(s, "host");
    w->hag = node_by_role(s, "proxy");
    w->server = node_by_role(s, "server");
    if (!w->client || !w->hag || !w->server) {
        fprintf(stderr, "mpx-sim: %s: needs nodes with roles host, proxy and server\n",
                o->variant);
        return -1;
    }
    w->client->src_routing = true; /* the client's per-link routing rules (topology bring-up) */
    w->proxy_addr = addr_towards(w->hag, w->client);
    w->server_addr = w->server->nif ? w->server->ifs[0].addr : 0;
    w->tfo_direct = o->tfo, w->join = o->join;
    w->syn_policy = (enum sim_syn_policy)o->syn_policy;
    /* the harness starts the client's mpx-optd for a variant when one of its signals needs the
     * helper (emu/harness/agents.sh mpx_ic_variant_up): then every signal's SYNs pass it */
    for (size_t i = 0; i < nsig; i++)
        if (sigs[i]->helper != MPX_SIG_HELPER_NONE) w->optd_client = true;
    if (!w->proxy_addr || !w->server_addr) {
        fprintf(stderr, "mpx-sim: %s: the proxy must share a link with the client\n", o->variant);
        return -1;
    }
    if (proc_apply(o->proc, w)) return -1;
    if (o->seed_set)
        for (int i = 0; i < s->nlinks; i++)
            for (int d = 0; d < 2; d++) {
                struct lk_params up = { .seed = o->seed * 1000003u + (uint64_t)i * 2 + (uint64_t)d,
                                        .set_mask = LK_K_SEED };
                lk_dir_update(&s->links[i].dir[d], &up, err, sizeof err);
            }
    return 0;
}

/* mpx-client's record of one connection (agents/client/conn.c field names), so the harness
 * joins simulated connections with the analyzer exactly as emulated ones. Times in us from the
 * connection's start, t0_real_us on the simulated clock (the pcaps' time base). */
static void write_record(FILE *f, const struct sim_world *w, const struct sim_conn *c,
                         const char *name, uint64_t rep, uint64_t step, bool ok)
{
    char cli[32], srv[32], px[32];
    sim_addr_fmt(w->client->ifs[0].addr, cli, sizeof cli);
    sim_addr_fmt(w->server_addr, srv, sizeof srv);
    sim_addr_fmt(w->proxy_addr, px, sizeof px);
    const mpx_signal *sg = c->sig;
    bool via = sg->frontend && sg->mode == MPX_SIG_MODE_EXPLICIT;
    uint64_t t0 = c->t_start / 1000;
#define REL(t) ((t) ? (long long)((t) / 1000 - t0) : -1LL)
    fprintf(f, "{\"type\":\"conn\",\"signal\":\"%s\",\"seq\":0,\"ok\":%s,\"error\":%s,"
               "\"target\":\"%s:%d\",", sg->name, ok ? "true" : "false",
            ok ? "null" : "\"simulated connection did not complete\"", srv, SIM_SERVER_PORT);
    if (via) fprintf(f, "\"via\":\"%s:%u\",", px, sg->port);
    else fputs("\"via\":null,", f);
    fprintf(f, "\"local\":\"%s:%u\",\"mptcp\":\"%s\",\"subflows\":%d,\"tfo\":\"%s\",", cli,
            c->lport, sg->mptcp ? "mptcp" : "tcp", c->joined ? 2 : 1,
            !c->syn_data_sent ? "none" : c->syn_data_acked ? "syn-data-acked" : "syn-data-not-acked");
    fprintf(f, "\"t0_real_us\":%llu,\"t_connected_us\":%lld,\"t_first_resp_us\":%lld,"
               "\"t_done_us\":%lld,\"ttfb_us\":%lld,\"bytes_out\":%u,\"bytes_in\":%llu,"
               "\"verified\":%s,\"tag\":\"%s/%llu/%llu\",\"workload\":\"rr %u/%u\","
               "\"syn_timeouts\":%u,\"simulated\":true}\n",
            (unsigned long long)t0, REL(c->t_connected), REL(c->t_first), REL(c->t_done),
            ok ? REL(c->t_first) : -1LL, w->wl.req_len, (unsigned long long)c->resp_bytes,
            ok ? "true" : "false", name, (unsigned long long)rep, (unsigned long long)step,
            w->wl.req_len, w->wl.resp_len, c->syn_timeouts);
#undef REL
}

/* A millisecond value rounded to the microsecond and written as jq writes that number (no
 * trailing zeros: 64.1, 60), so the harness can append fields to the summary as text, byte
 * for byte what a jq re-serialization gives (emu/harness/sim.sh). */
static void put_ms(FILE *f, double x)
{
    char b[64];
    int n = snprintf(b, sizeof b, "%.3f", x);
    if (n <= 0 || (size_t)n >= sizeof b) {
        fputs("null", f);
        return;
    }
    while (n > 0 && b[n - 1] == '0') b[--n] = '\0';
    if (n > 0 && b[n - 1] == '.') b[--n] = '\0';
    if (!strcmp(b, "-0")) strcpy(b, "0");
    fputs(b, f);
}

/* Per-signal percentiles (the harness's definition, lib/stats.h) as one JSON object; NaN
 * (no completed connection) is null. */
static int write_summary(const char *path, const mpx_signal **sigs, size_t nsig, double **v,
                         const size_t *n, const size_t *synto, const size_t *planned)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs("{\"model\":\"mpx-sim\",\"signals\":{", f);
    for (size_t i = 0; i < nsig; i++) {
        fprintf(f, "%s\"%s\":{\"n\":%llu,\"ok\":%zu,\"syn_timeouts\":%zu", i ? "," : "",
                sigs[i]->name, (unsigned long long)planned[i], n[i], synto[i]);
        const double q[] = { 0.5, 0.9, 0.99 };
        const char *k[] = { "p50", "p90", "p99" };
        for (int j = 0; j < 3; j++) {
            double x = mpx_stats_pct_sorted(v[i], n[i], q[j]);
            if (isnan(x)) fprintf(f, ",\"%s\":null", k[j]);
            else {
                fprintf(f, ",\"%s\":", k[j]);
                put_ms(f, x);
            }
        }
        fputc('}', f);
    }
    fputs("}}\n", f);
    return fclose(f) ? -1 : 0;
}

/* One planned connection: repetition, step number in the variant, signal index. */
struct step {
    uint64_t rep, k;
    size_t si;
};

/* The harness's order (emu/cmd/run.sh): round-robin, each repetition starting one signal
 * later, steps numbered through the variant. */
static int rotate_plan(size_t nsig, uint64_t reps, struct step **out, size_t *n)
{
    *n = (size_t)reps * nsig;
    *out = calloc(*n ? *n : 1, sizeof **out);
    if (!*out) return -1;
    for (uint64_t r = 1, k = 1; r <= reps; r++)
        for (size_t i = 0; i < nsig; i++, k++)
            (*out)[k - 1] = (struct step){ r, k, (i + r - 1) % nsig };
    return 0;
}

/* A harness plan.csv ("variant,rep,step,signal"): the rows of one variant, in file order;
 * the signals in order of first appearance. */
static int load_plan(const char *path, const char *name, const mpx_signal **sigs, size_t *nsig,
                     struct step **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[512];
    size_t cap = 0;
    *n = *nsig = 0;
    *out = NULL;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        char v[128], sg[64];
        unsigned long long rep, k;
        if (sscanf(line, "%127[^,],%llu,%llu,%63[^,\n]", v, &rep, &k, sg) != 4) continue;
        if (strcmp(v, name)) continue;
        const mpx_signal *row = mpx_signal_by_name(sg);
        if (!row) {
            fprintf(stderr, "mpx-sim: %s: unknown signal '%s'\n", path, sg);
            rc = -1;
            break;
        }
        size_t si = 0;
        while (si < *nsig && sigs[si] != row) si++;
        if (si == *nsig) sigs[(*nsig)++] = row;
        if (*n == cap) {
            struct step *ns = realloc(*out, (cap = cap ? cap * 2 : 256) * sizeof *ns);
            if (!ns) {
                rc = -1;
                break;
            }
            *out = ns;
        }
        (*out)[(*n)++] = (struct step){ rep, k, si };
    }
    fclose(f);
    if (!rc && !*n) {
        fprintf(stderr, "mpx-sim: %s: no step of variant %s\n", path, name);
        rc = -1;
    }
    return rc;
}

/* round R of --seeds: an independent draw sequence per round, each direction's seed mixed */
static void reseed_round(struct sim *s, uint64_t (*seed0)[2], uint64_t round)
{
    char err[128];
    for (int l = 0; l < s->nlinks; l++)
        for (int d = 0; d < 2; d++) {
            uint64_t x = seed0[l][d] + round;
            struct lk_params up = { .seed = lk_splitmix64(&x) & MPX_SEED_MAX, .set_mask = LK_K_SEED };
            lk_dir_update(&s->links[l].dir[d], &up, err, sizeof err);
        }
}

/* ---- --calibrate: per-node processing times from an emulation's residual ---- */
#define CAL_STEP_US 1000.0 /* the probe processing time that counts a node's steps */
#define CAL_ITER 8        /* fits on the model itself (the first from the step counts) */
#define CAL_LOCAL_US 50.0 /* the step of the slopes around a fit */

/* The plan once on a fresh model with these processing times: each step's TTFB in ms (NaN when
 * the connection failed), rounds after each other, as the main run orders them. */
static int run_ttfb(const struct opts *o, const mpxa_workload *wl, const uint64_t *proc_ns,
                    const mpx_signal **sigs, size_t nsig, const struct step *steps,
                    size_t nsteps, bool quiet, double *out)
{
    struct sim s;
    struct sim_world w;
    char err[256];
    if (world_setup(o, wl, sigs, nsig, &s, &w) || sim_world_init(&w)) return -1;
    memcpy(w.proc_ns, proc_ns, sizeof w.proc_ns);
    if (quiet) /* no jitter, no loss: a step count that the draws cannot blur */
        for (int l = 0; l < s.nlinks; l++)
            for (int d = 0; d < 2; d++) {
                struct lk_params up = { .loss_kind = LK_LOSS_NONE,
                                        .set_mask = LK_K_JITTER | LK_K_LOSS | LK_K_DROP };
                lk_dir_update(&s.links[l].dir[d], &up, err, sizeof err);
            }
    uint64_t timeout = o->timeout_s * SIM_S, gap = o->gap_ms * SIM_MS, seed0[SIM_MAX_LINKS][2];
    for (size_t i = 0; i < nsig && o->warmup; i++) {
        struct sim_conn c;
        sim_conn_run(&w, &c, sigs[i], timeout);
        s.now += gap;
    }
    for (int l = 0; l < s.nlinks; l++)
        for (int d = 0; d < 2; d++) seed0[l][d] = s.links[l].dir[d].p.seed;
    /* without draws every round is the same: one is run, its TTFBs stand for the others */
    uint64_t rounds = quiet ? 1 : o->seeds;
    for (uint64_t round = 0, j = 0; round < rounds; round++) {
        if (round) reseed_round(&s, seed0, round);
        for (size_t q = 0; q < nsteps; q++, j++) {
            struct sim_conn c;
            sim_conn_run(&w, &c, sigs[steps[q].si], timeout);
            out[j] = c.ok && !c.failed ? (double)(c.t_first - c.t_start) / 1e6 : NAN;
            s.now += gap;
        }
    }
    for (uint64_t round = rounds; round < o->seeds; round++)
        memcpy(out + round * nsteps, out, nsteps * sizeof *out);
    sim_tcp_free(&s);
    sim_free(&s);
    return 0;
}

/* The model's TTFB median per signal with these processing times (buf, tmp: one slot per
 * step and round). */
static int medians(const struct opts *o, const mpxa_workload *wl, const uint64_t *proc_ns,
                   const mpx_signal **sigs, size_t nsig, const struct step *steps, size_t nsteps,
                   double *buf, double *tmp, double *p50)
{
    if (run_ttfb(o, wl, proc_ns, sigs, nsig, steps, nsteps, false, buf)) return -1;
    for (size_t i = 0; i < nsig; i++) {
        size_t k = 0;
        for (size_t j = 0; j < nsteps * o->seeds; j++)
            if (steps[j % nsteps].si == i && !isnan(buf[j])) tmp[k++] = buf[j];
        mpx_stats_sort(tmp, k);
        p50[i] = mpx_stats_pct_sorted(tmp, k, 0.5);
    }
    return 0;
}

/* Per signal, how much its TTFB grows per unit of each node's processing time around `at` (ns
 * per node): the median over connections of (TTFB(at + h on that node) - TTFB(at)) / h, on
 * links without jitter or loss, so the draws cannot blur it. With at = 0 and h = 1 ms: the
 * node's steps on the signal's critical path. buf0, buf, tmp: one slot per step and round. */
static int slopes(const struct opts *o, const mpxa_workload *wl, const uint64_t *at, double h_us,
                  const mpx_signal **sigs, size_t nsig, const struct step *steps, size_t nsteps,
                  double *buf0, double *buf, double *tmp, double (*a)[SIM_PROC__N])
{
    size_t ns = nsteps * o->seeds;
    if (run_ttfb(o, wl, at, sigs, nsig, steps, nsteps, true, buf0)) return -1;
    for (int who = 0; who < SIM_PROC__N; who++) {
        uint64_t p[SIM_PROC__N];
        memcpy(p, at, sizeof p);
        p[who] += (uint64_t)llround(h_us * 1000);
        if (run_ttfb(o, wl, p, sigs, nsig, steps, nsteps, true, buf)) return -1;
        for (size_t i = 0; i < nsig; i++) {
            size_t k = 0;
            for (size_t j = 0; j < ns; j++)
                if (steps[j % nsteps].si == i && !isnan(buf0[j]) && !isnan(buf[j]))
                    tmp[k++] = (buf[j] - buf0[j]) / (h_us / 1000);
            mpx_stats_sort(tmp, k);
            a[i][who] = k ? mpx_stats_pct_sorted(tmp, k, 0.5) : NAN;
        }
    }
    return 0;
}

/* min |A x - r|^2 over x >= 0, A m x SIM_PROC__N: the least-squares solution on every subset
 * of columns, the best one without a negative component (exact: the optimum is the
 * unconstrained solution on its own support). */
static void nnls(size_t m, const double (*a)[SIM_PROC__N], const double *r, double *x)
{
    enum { K = SIM_PROC__N };
    double best = INFINITY;
    for (unsigned mask = 0; mask < 1u << K; mask++) {
        int idx[K] = { 0 }, k = 0;
        for (int j = 0; j < K; j++)
            if (mask & 1u << j) idx[k++] = j;
        double g[K][K + 1] = { { 0 } }, y[K] = { 0 };
        for (int p = 0; p < k; p++) {
            for (int q = 0; q < k; q++)
                for (size_t s = 0; s < m; s++) g[p][q] += a[s][idx[p]] * a[s][idx[q]];
            for (size_t s = 0; s < m; s++) g[p][k] += a[s][idx[p]] * r[s];
        }
        bool ok = true;
        for (int p = 0; p < k && ok; p++) { /* Gauss-Jordan, partial pivoting */
            int piv = p;
            for (int q = p + 1; q < k; q++)
                if (fabs(g[q][p]) > fabs(g[piv][p])) piv = q;
            if (fabs(g[piv][p]) < 1e-9) ok = false;
            for (int c = 0; c <= k && ok; c++) {
                double t = g[p][c];
                g[p][c] = g[piv][c], g[piv][c] = t;
            }
            for (int q = 0; q < k && ok; q++) {
                if (q == p) continue;
                double f = g[q][p] / g[p][p];
                for (int c = p; c <= k; c++) g[q][c] -= f * g[p][c];
            }
        }
        for (int p = 0; p < k && ok; p++) {
            y[p] = g[p][k] / g[p][p];
            if (y[p] < 0) ok = false;
        }
        if (!ok) continue;
        double sse = 0;
        for (size_t s = 0; s < m; s++) {
            double f = 0;
            for (int p = 0; p < k; p++) f += a[s][idx[p]] * y[p];
            sse += (r[s] - f) * (r[s] - f);
        }
        if (sse < best - 1e-12) {
            best = sse;
            for (int j = 0; j < K; j++) x[j] = 0;
            for (int p = 0; p < k; p++) x[idx[p]] = y[p];
        }
    }
}

/* The measured connections: "SIGNAL TTFB_MS" per line (others are skipped). Per signal of the
 * plan: the sorted sample in v[i], its size in n[i]. */
static int load_measured(const char *path, const mpx_signal **sigs, size_t nsig, double **v,
                         size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap[MPX_SIG__N] = { 0 };
    char line[256], name[64];
    double ms;
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %lf", name, &ms) != 2 || !isfinite(ms)) continue;
        for (size_t i = 0; i < nsig; i++) {
            if (strcmp(sigs[i]->name, name)) continue;
            if (n[i] == cap[i]) {
                double *nv = realloc(v[i], (cap[i] = cap[i] ? cap[i] * 2 : 64) * sizeof *nv);
                if (!nv) {
                    rc = -1;
                    break;
                }
                v[i] = nv;
            }
            v[i][n[i]++] = ms;
        }
    }
    fclose(f);
    for (size_t i = 0; i < nsig; i++) mpx_stats_sort(v[i], n[i]);
    return rc;
}

/* Fits each node's processing time to measured - simulated TTFB medians per signal: the model
 * counts how many of a node's steps each signal waits for (the median TTFB shift, per
 * connection, when that node alone takes CAL_STEP_US per step), and non-negative least squares
 * over the signals gives the times. Writes one JSON object. */
static int calibrate(const struct opts *o, const mpxa_workload *wl, const mpx_signal **sigs,
                     size_t nsig, const struct step *steps, size_t nsteps, FILE *out)
{
    /* a few hundred model runs, each allocating and freeing its world: without a top pad glibc
     * gives the heap back and faults it in again every time (1.2 million page faults, half the
     * time of default.exp's fit) */
    mallopt(M_TOP_PAD, 64 << 20);
    size_t ns = nsteps * o->seeds;
    double *base = calloc(ns ? ns : 1, sizeof *base), *probe = calloc(ns ? ns : 1, sizeof *probe);
    double *d = calloc(ns ? ns : 1, sizeof *d), *mv[MPX_SIG__N] = { 0 };
    double *qbase = calloc(ns ? ns : 1, sizeof *qbase);
    double a[MPX_SIG__N][SIM_PROC__N] = { { 0 } }, r[MPX_SIG__N], sp50[MPX_SIG__N],
           mp50[MPX_SIG__N], x[SIM_PROC__N] = { 0 };
    size_t mn[MPX_SIG__N] = { 0 }, used[MPX_SIG__N], m = 0;
    uint64_t zero[SIM_PROC__N] = { 0 };
    int rc = -1;
    if (!base || !qbase || !probe || !d || load_measured(o->calibrate, sigs, nsig, mv, mn) ||
        run_ttfb(o, wl, zero, sigs, nsig, steps, nsteps, false, base))
        goto out;
    for (size_t i = 0; i < nsig; i++) { /* the simulated medians with no processing time */
        size_t k = 0;
        for (size_t j = 0; j < ns; j++)
            if (steps[j % nsteps].si == i && !isnan(base[j])) d[k++] = base[j];
        mpx_stats_sort(d, k);
        sp50[i] = mpx_stats_pct_sorted(d, k, 0.5);
        mp50[i] = mpx_stats_pct_sorted(mv[i], mn[i], 0.5);
    }
    if (slopes(o, wl, zero, CAL_STEP_US, sigs, nsig, steps, nsteps, qbase, probe, d, a)) goto out;
    double am[MPX_SIG__N][SIM_PROC__N], rm[MPX_SIG__N];
    for (size_t i = 0; i < nsig; i++) { /* the signals both sides have a median for */
        r[i] = mp50[i] - sp50[i];
        bool nan = isnan(r[i]);
        for (int j = 0; j < SIM_PROC__N; j++) nan = nan || isnan(a[i][j]);
        if (nan) continue;
        memcpy(am[m], a[i], sizeof am[m]);
        rm[m] = r[i];
        used[m++] = i;
    }
    if (!m) {
        fprintf(stderr, "mpx-sim: --calibrate %s: no signal of the plan has a measured median\n",
                o->calibrate);
        goto out;
    }
    nnls(m, (const double (*)[SIM_PROC__N])am, rm, x);
    /* Steps counted at 1 ms overlap less with serialization than smaller times do (a request
     * 1 ms after the third ACK no longer waits for it on a slow uplink), so the fit is refined on
     * the model itself: its medians with the fitted times, and the fit again on what is left
     * (Gauss-Newton, the slopes taken again around the fitted times, CAL_LOCAL_US per node);
     * the iterate whose model medians leave the least squared residual is kept (the medians of
     * jittered connections move in small jumps): "fitted" and "remaining" are the model's own,
     * not a linear estimate. */
    double sx[MPX_SIG__N], bx[SIM_PROC__N], bsx[MPX_SIG__N], best = INFINITY;
    for (int it = 0; it < CAL_ITER; it++) {
        uint64_t p[SIM_PROC__N];
        for (int j = 0; j < SIM_PROC__N; j++) {
            x[j] = round(x[j] * 1000) / 1000; /* us, as --proc takes them */
            p[j] = (uint64_t)llround(x[j] * 1e6);
        }
        if (medians(o, wl, p, sigs, nsig, steps, nsteps, base, d, sx)) goto out;
        double e = 0; /* the model's own squared residual at x: the best iterate is kept */
        for (size_t u = 0; u < m; u++) {
            size_t i = used[u];
            e += (r[i] - (sx[i] - sp50[i])) * (r[i] - (sx[i] - sp50[i]));
        }
        if (e < best) {
            best = e;
            memcpy(bx, x, sizeof bx);
            memcpy(bsx, sx, sizeof bsx);
        }
        if (it == CAL_ITER - 1) break;
        double jl[MPX_SIG__N][SIM_PROC__N];
        if (slopes(o, wl, p, CAL_LOCAL_US, sigs, nsig, steps, nsteps, qbase, probe, d, jl))
            goto out;
        for (size_t u = 0; u < m; u++) {
            size_t i = used[u];
            bool nan = false;
            for (int j = 0; j < SIM_PROC__N; j++) nan = nan || isnan(jl[i][j]);
            if (!nan)
                memcpy(am[u], jl[i], sizeof am[u]);
            rm[u] = r[i] - (sx[i] - sp50[i]);
            for (int j = 0; j < SIM_PROC__N; j++) rm[u] += am[u][j] * x[j];
        }
        nnls(m, (const double (*)[SIM_PROC__N])am, rm, x);
    }
    /* then a pattern search on the model itself from there, 50, 10 and 2 us per node (finer is
     * below the medians' noise): the medians of jittered connections move in jumps (a step more
     * or less changes which packet draws which jitter), where slopes mislead */
    static const double hs[] = { 50, 10, 2 };
    for (size_t hi = 0; hi < sizeof hs / sizeof hs[0]; hi++)
        for (int moved = 1, guard = 0; moved && guard < 20; guard++) {
            moved = 0;
            for (int j = 0; j < SIM_PROC__N; j++)
                for (int sgn = -1; sgn <= 1; sgn += 2) {
                    double y[SIM_PROC__N];
                    memcpy(y, bx, sizeof y);
                    y[j] = round((y[j] + sgn * hs[hi] / 1000) * 1000) / 1000;
                    if (y[j] < 0) continue;
                    uint64_t p[SIM_PROC__N];
                    for (int q = 0; q < SIM_PROC__N; q++) p[q] = (uint64_t)llround(y[q] * 1e6);
                    if (medians(o, wl, p, sigs, nsig, steps, nsteps, base, d, sx)) goto out;
                    double e = 0;
                    for (size_t u = 0; u < m; u++) {
                        size_t i = used[u];
                        e += (r[i] - (sx[i] - sp50[i])) * (r[i] - (sx[i] - sp50[i]));
                    }
                    if (e < best - 1e-12) {
                        best = e, moved = 1;
                        memcpy(bx, y, sizeof bx);
                        memcpy(bsx, sx, sizeof bsx);
                    }
                }
        }
    memcpy(x, bx, sizeof bx);
    memcpy(sx, bsx, sizeof bsx);
    double sse = 0;
    fprintf(out, "{\"model\":\"mpx-sim\",\"calibration\":{\"step_probe_us\":%g,\"proc_us\":{",
            CAL_STEP_US);
    for (int j = 0; j < SIM_PROC__N; j++)
        fprintf(out, "%s\"%s\":%.0f", j ? "," : "", sim_proc_names[j], x[j] * 1000);
    fputs("},\"proc\":\"", out);
    for (int j = 0; j < SIM_PROC__N; j++)
        fprintf(out, "%s%s=%.0f", j ? "," : "", sim_proc_names[j], x[j] * 1000);
    fputs("\",\"signals\":{", out);
    for (size_t u = 0; u < m; u++) {
        size_t i = used[u];
        double fit = sx[i] - sp50[i];
        sse += (r[i] - fit) * (r[i] - fit);
        fprintf(out, "%s\"%s\":{\"measured_n\":%zu,\"measured_p50\":%.3f,\"simulated_p50\":%.3f,"
                     "\"residual_ms\":%.3f,\"steps\":{",
                u ? "," : "", sigs[i]->name, mn[i], mp50[i], sp50[i], r[i]);
        for (int j = 0; j < SIM_PROC__N; j++)
            fprintf(out, "%s\"%s\":%.2f", j ? "," : "", sim_proc_names[j], a[i][j]);
        fprintf(out, "},\"fitted_ms\":%.3f,\"remaining_ms\":%.3f}", fit, r[i] - fit);
    }
    fprintf(out, "},\"rms_remaining_ms\":%.3f}}\n", sqrt(sse / (double)m));
    if (o->summary) {
        fprintf(stderr, "processing time (us): client %.0f, proxy %.0f, server %.0f, optd %.0f\n",
                x[0] * 1000, x[1] * 1000, x[2] * 1000, x[3] * 1000);
        fprintf(stderr, "%-16s %9s %9s %8s %24s %8s %9s\n", "signal", "measured", "simulated",
                "residual", "steps c/p/s/optd", "fitted", "remaining");
        for (size_t u = 0; u < m; u++) {
            size_t i = used[u];
            double fit = sx[i] - sp50[i];
            fprintf(stderr, "%-16s %9.3f %9.3f %8.3f %6.2f/%5.2f/%5.2f/%5.2f %8.3f %9.3f\n",
                    sigs[i]->name, mp50[i], sp50[i], r[i], a[i][0], a[i][1], a[i][2], a[i][3],
                    fit, r[i] - fit);
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < nsig; i++) free(mv[i]);
    free(base);
    free(probe);
    free(qbase);
    free(d);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o)) return 2;
    const mpx_signal *sigs[MPX_SIG__N];
    size_t nsig;
    struct step *steps = NULL;
    size_t nsteps = 0;
    if (o.plan ? load_plan(o.plan, o.name, sigs, &nsig, &steps, &nsteps)
               : (pick_signals(o.signals, sigs, &nsig) ||
                  rotate_plan(nsig, o.reps, &steps, &nsteps)))
        return 2;
    char err[256];
    struct sim_world w = { 0 };
    if (mpxa_workload_parse(o.workload, &w.wl, err, sizeof err)) {
        fprintf(stderr, "mpx-sim: --workload: %s\n", err);
        return 2;
    }
    if (w.wl.kind != MPXA_WL_RR || w.wl.req_len > 4096 || w.wl.resp_len > 14480) {
        fprintf(stderr, "mpx-sim: only request/response workloads up to 4096/14480 bytes are "
                        "modelled (no congestion control beyond the initial window): '%s'\n",
                o.workload);
        return 2;
    }
    if (o.calibrate) { /* the fit instead of connection records */
        FILE *cf = o.out ? fopen(o.out, "w") : stdout;
        if (!cf) {
            perror(o.out);
            return 2;
        }
        int crc = calibrate(&o, &w.wl, sigs, nsig, steps, nsteps, cf);
        free(steps);
        if (cf != stdout && fclose(cf)) crc = -1;
        return crc ? 2 : 0;
    }
    struct sim s;
    if (world_setup(&o, &w.wl, sigs, nsig, &s, &w)) return 2;
    if (o.pcap && sim_pcap_open(&s, o.pcap, err, sizeof err)) {
        fprintf(stderr, "mpx-sim: %s\n", err);
        return 2;
    }
    if (o.droplog && !(s.droplog = fopen(o.droplog, "w"))) {
        perror(o.droplog);
        return 2;
    }
    if (sim_world_init(&w)) {
        fprintf(stderr, "mpx-sim: out of memory\n");
        return 2;
    }
    FILE *out = o.out ? fopen(o.out, "w") : stdout;
    if (!out) {
        perror(o.out);
        return 2;
    }
    FILE *rec = o.records ? fopen(o.records, "w") : NULL, *stp = o.steps ? fopen(o.steps, "w") : NULL;
    if ((o.records && !rec) || (o.steps && !stp)) {
        perror(o.records && !rec ? o.records : o.steps);
        return 2;
    }
    uint64_t timeout = o.timeout_s * SIM_S, gap = o.gap_ms * SIM_MS;
    double *ttfb[MPX_SIG__N] = { 0 };
    size_t nt[MPX_SIG__N] = { 0 }, nfail = 0, nsynto[MPX_SIG__N] = { 0 }, nplan[MPX_SIG__N] = { 0 };
    for (size_t i = 0; i < nsig; i++) {
        for (size_t q = 0; q < nsteps; q++) nplan[i] += steps[q].si == i;
        nplan[i] *= o.seeds;
        ttfb[i] = calloc(nplan[i] ? nplan[i] : 1, sizeof(double));
        if (!ttfb[i]) return 2;
        if (!o.warmup) continue;
        struct sim_conn c;
        sim_conn_run(&w, &c, sigs[i], timeout);
        s.now += gap;
    }
    uint64_t seed0[SIM_MAX_LINKS][2], maxrep = 0;
    for (int l = 0; l < s.nlinks; l++)
        for (int d = 0; d < 2; d++) seed0[l][d] = s.links[l].dir[d].p.seed;
    for (size_t q = 0; q < nsteps; q++) maxrep = steps[q].rep > maxrep ? steps[q].rep : maxrep;
    for (uint64_t round = 0; round < o.seeds; round++) {
        if (round) reseed_round(&s, seed0, round);
        for (size_t q = 0; q < nsteps; q++) {
            uint64_t r = steps[q].rep + round * maxrep, k = steps[q].k;
            size_t i = steps[q].si;
            struct sim_conn c;
            sim_conn_run(&w, &c, sigs[i], timeout);
            bool ok = c.ok && !c.failed;
            double ms = ok ? (double)(c.t_first - c.t_start) / 1e6 : 0;
            if (ok) ttfb[i][nt[i]++] = ms;
            else nfail++;
            if (c.syn_timeouts) nsynto[i]++;
            fprintf(out, "{\"signal\":\"%s\",\"rep\":%llu,\"ok\":%s,", sigs[i]->name,
                    (unsigned long long)r, ok ? "true" : "false");
            if (ok) fprintf(out, "\"ttfb_ms\":%.6f,", ms);
            else fprintf(out, "\"ttfb_ms\":null,");
            fprintf(out, "\"syn_timeouts\":%u,\"start_ms\":%.6f}\n", c.syn_timeouts,
                    (double)c.t_start / 1e6);
            if (rec) write_record(rec, &w, &c, o.name, r, k, ok);
            if (stp)
                fprintf(stp, "%s,%llu,%llu,%s,%.6f,%.6f,%d\n", o.name, (unsigned long long)r,
                        (unsigned long long)k, sigs[i]->name,
                        (double)c.t_start / 1e9, (double)(c.t_done ? c.t_done : s.now) / 1e9,
                        ok ? 0 : 1);
            s.now += gap;
        }
    }
    if (out != stdout) fclose(out);
    if (rec) fclose(rec);
    if (s.droplog) fclose(s.droplog);
    if (stp) fclose(stp);
    for (size_t i = 0; i < nsig; i++) mpx_stats_sort(ttfb[i], nt[i]);
    if (o.summary) {
        fprintf(stderr, "%-16s %6s %10s %10s %10s\n", "signal", "n", "p50_ms", "p90_ms", "p99_ms");
        for (size_t i = 0; i < nsig; i++)
            fprintf(stderr, "%-16s %6zu %10.3f %10.3f %10.3f\n", sigs[i]->name, nt[i],
                    mpx_stats_pct_sorted(ttfb[i], nt[i], 0.5),
                    mpx_stats_pct_sorted(ttfb[i], nt[i], 0.9),
                    mpx_stats_pct_sorted(ttfb[i], nt[i], 0.99));
    }
    if (o.sjson && write_summary(o.sjson, sigs, nsig, ttfb, nt, nsynto, nplan)) {
        fprintf(stderr, "mpx-sim: cannot write %s\n", o.sjson);
        nfail++;
    }
    for (size_t i = 0; i < nsig; i++) free(ttfb[i]);
    free(steps);
    sim_tcp_free(&s);
    sim_free(&s);
    return nfail ? 1 : 0;
}
