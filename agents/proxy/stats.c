/* Counters as one JSON object (SIGUSR1 and exit), and the one-line-per-event log. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agents/proxy/proxy.h"

struct stats st;

void plog(int level, const char *fmt, ...)
{
    /* level 0: always (errors), 1: verbose only, 2: one line per refused connection when -v */
    if (level > 0 && !cfg.verbose) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[512];
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld mpx-proxy: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t l = strlen(line);
    line[l++] = '\n';
    if (write(2, line, l) < 0) { /* nothing sensible to do */ }
}

static void codes(FILE *f, const char *name, const uint64_t *v)
{
    fprintf(f, "\"%s\":{", name);
    bool first = true;
    for (int i = 0; i < 256; i++)
        if (v[i]) { fprintf(f, "%s\"%d\":%llu", first ? "" : ",", i, (unsigned long long)v[i]); first = false; }
    fprintf(f, "}");
}

/* "name":{"FRONT-END":N,...} for one of the per-front-end counters */
enum { FE_ACCEPTED, FE_RELAYED, FE_FAILED };
static void per_frontend(FILE *f, const char *name, int which)
{
    fprintf(f, "\"%s\":{", name);
    for (int i = 0; i < proxy_n_frontends; i++) {
        uint64_t v = which == FE_ACCEPTED ? st.fe[i].accepted
                   : which == FE_RELAYED ? st.fe[i].relayed : st.fe[i].failed;
        fprintf(f, "%s\"%s\":%llu", i ? "," : "", proxy_frontends[i]->name, (unsigned long long)v);
    }
    fprintf(f, "}");
}

/* "allow":["198.18.1.0/24",...] */
static void allow_list(FILE *f)
{
    fprintf(f, "\"allow\":[");
    for (int i = 0; i < cfg.n_allow; i++) {
        char a[MPX_ADDR_STRLEN];
        fprintf(f, "%s\"%s/%d\"", i ? "," : "",
                mpx_addr_format(&cfg.allow[i].a, false, a, sizeof a), cfg.allow[i].len);
    }
    fprintf(f, "]");
}

/* "syn_data_policy":{"FRONT-END":"third-ack",...}: what each front-end does with SYN data
 * that arrives before the client's third ACK (the harness shows it per signal) */
static void syn_policy(FILE *f)
{
    fprintf(f, "\"syn_data_policy\":{");
    for (int i = 0; i < proxy_n_frontends; i++) {
        char b[32];
        fprintf(f, "%s\"%s\":\"%s\"", i ? "," : "", proxy_frontends[i]->name,
                syn_data_policy_fe(&cfg, i, b, sizeof b));
    }
    fprintf(f, "}");
}

/* HAG side: an accepted connection is a CPE's when its source is in a --cpe-peer prefix */
void stats_count_client(int fi, const mpx_addr *client)
{
    if (fi < 0 || fi >= PROXY_FE_MAX) return;
    bool cpe = false;
    for (int i = 0; i < cfg.n_cpe_peer && !cpe; i++) cpe = prefix_match(&cfg.cpe_peer[i], client);
    if (cpe) st.clients[fi].cpe++; else st.clients[fi].direct++;
}

/* "clients":{"cpe":N,"direct":N,"frontends":{"convert":{"cpe":N,"direct":N},...}} */
static void clients_write(FILE *f)
{
    uint64_t c = 0, d = 0;
    for (int i = 0; i < proxy_n_frontends; i++) { c += st.clients[i].cpe; d += st.clients[i].direct; }
    fprintf(f, "\"clients\":{\"cpe\":%llu,\"direct\":%llu,\"frontends\":{", (unsigned long long)c,
            (unsigned long long)d);
    for (int i = 0; i < proxy_n_frontends; i++)
        fprintf(f, "%s\"%s\":{\"cpe\":%llu,\"direct\":%llu}", i ? "," : "", proxy_frontends[i]->name,
                (unsigned long long)st.clients[i].cpe, (unsigned long long)st.clients[i].direct);
    fprintf(f, "}},");
}

static int64_t t_start;
void stats_start(void) { t_start = now_us(); }

void stats_write(const char *why)
{
    char tmp[300];
    FILE *f;
    bool to_file = cfg.stats_file[0] && strcmp(cfg.stats_file, "-") != 0;
    if (to_file) {
        snprintf(tmp, sizeof tmp, "%s.tmp", cfg.stats_file);
        f = fopen(tmp, "w");
        if (!f && (errno == EMFILE || errno == ENFILE) && fdres_release(FDRES_STATS)) {
            st.fd_stats_reserve++;   /* at the fd limit: the spare kept for this */
            f = fopen(tmp, "w");
        }
        if (!f) { plog(0, "stats: cannot write %s: %s", tmp, strerror(errno)); fdres_restore(); return; }
    } else f = stderr;
#define U(x) (unsigned long long)(x)
    fprintf(f, "{\"type\":\"proxy_stats\",\"why\":\"%s\",\"uptime_s\":%.3f,", why,
            (double)(now_us() - t_start) / 1e6);
    per_frontend(f, "accepted", FE_ACCEPTED); fputc(',', f);
    per_frontend(f, "relayed", FE_RELAYED); fputc(',', f);
    per_frontend(f, "failed", FE_FAILED); fputc(',', f);
    codes(f, "convert_errors", st.convert_err); fputc(',', f);
    codes(f, "socks_replies", st.socks_rep); fputc(',', f);
    syn_policy(f); fputc(',', f);
    clients_write(f);
    if (cfg.n_cpe) { cpe_stats_write(f); fputc(',', f); }
    allow_list(f); fputc(',', f);
    char pol[32];
    fprintf(f, "\"syn_data\":{\"policy\":\"%s\",\"immediate\":%llu,\"held\":%llu,"
            "\"rate_limited\":%llu,\"no_third_ack\":%llu,\"checks\":%llu,\"wait_us_total\":%llu,"
            "\"wait_us_max\":%llu},", syn_data_policy_str(&cfg, pol, sizeof pol),
            (unsigned long long)st.sd_immediate, (unsigned long long)st.sd_deferred,
            (unsigned long long)st.sd_rate_limited, (unsigned long long)st.sd_hs_timeouts,
            (unsigned long long)st.sd_checks, (unsigned long long)st.sd_wait_us_total,
            (unsigned long long)st.sd_wait_us_max);
    fprintf(f, "\"idle_timeout_ms\":%d,\"idle_timeouts\":%llu,", cfg.idle_timeout_ms,
            (unsigned long long)st.idle_timeouts);
    fprintf(f, "\"fd\":{\"limit\":%llu,\"answered_at_limit\":%llu,\"accept_pauses\":%llu,"
            "\"stats_via_reserve\":%llu},", (unsigned long long)st.fd_limit,
            (unsigned long long)st.fd_limit_answered, (unsigned long long)st.fd_limit_pauses,
            (unsigned long long)st.fd_stats_reserve);
    fprintf(f, "\"bytes_up\":%llu,\"bytes_down\":%llu,\"active\":%llu,\"active_max\":%llu,"
            "\"completed\":%llu,\"client_mptcp\":%llu,\"client_fallback\":%llu,"
            "\"stall_guard\":{\"enabled\":%s,\"waits\":%llu,\"wait_us_total\":%llu,"
            "\"wait_us_max\":%llu,\"timeouts\":%llu,\"checks\":%llu},"
            "\"acl\":{\"client_refused\":%llu,\"target_refused\":%llu,\"per_client_limit\":%llu,"
            "\"global_limit\":%llu,\"default_refuse\":%s},"
            "\"cookies\":{\"issued\":%llu,\"accepted\":%llu,\"refused\":%llu},"
            "\"info_requests\":%llu,\"extended_connects\":%llu,\"malformed\":%llu,"
            "\"header_timeouts\":%llu,\"connect_timeouts\":%llu,\"server_resets\":%llu,"
            "\"client_resets\":%llu,\"accept_errors\":%llu,\"splice_fallbacks\":%llu,"
            "\"resolves\":%llu,\"socks_auth_failures\":%llu,\"epollout_missed\":%llu,\"epollin_missed\":%llu}\n",
            U(st.bytes_up), U(st.bytes_down), U(st.active), U(st.active_max), U(st.completed),
            U(st.mptcp), U(st.fallback), cfg.stall_guard ? "true" : "false", U(st.stall_waits),
            U(st.stall_wait_us_total), U(st.stall_wait_us_max), U(st.stall_timeouts), U(st.gate_checks),
            U(st.acl_client), U(st.acl_target), U(st.limit_client), U(st.limit_global), cfg.n_allow ? "false" : "true",
            U(st.cookies_issued), U(st.cookies_ok), U(st.cookies_bad), U(st.info_requests),
            U(st.ext_connects), U(st.malformed), U(st.header_timeouts), U(st.connect_timeouts),
            U(st.server_resets), U(st.client_resets), U(st.accept_errors), U(st.splice_fallbacks),
            U(st.resolves), U(st.socks_auth_fail), U(st.epollout_missed), U(st.epollin_missed));
#undef U
    if (to_file) {
        fclose(f);
        rename(tmp, cfg.stats_file);
        fdres_restore();
    } else fflush(f);
}
