/* Counters as one JSON object (SIGUSR1 and exit), and the one-line-per-event log. */
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
        if (!f) { plog(0, "stats: cannot write %s", tmp); return; }
    } else f = stderr;
#define U(x) (unsigned long long)(x)
    fprintf(f, "{\"type\":\"proxy_stats\",\"why\":\"%s\",\"uptime_s\":%.3f,", why,
            (double)(now_us() - t_start) / 1e6);
    per_frontend(f, "accepted", FE_ACCEPTED); fputc(',', f);
    per_frontend(f, "relayed", FE_RELAYED); fputc(',', f);
    per_frontend(f, "failed", FE_FAILED); fputc(',', f);
    codes(f, "convert_errors", st.convert_err); fputc(',', f);
    codes(f, "socks_replies", st.socks_rep); fputc(',', f);
    fprintf(f, "\"bytes_up\":%llu,\"bytes_down\":%llu,\"active\":%llu,\"active_max\":%llu,"
            "\"completed\":%llu,\"client_mptcp\":%llu,\"client_fallback\":%llu,"
            "\"stall_guard\":{\"enabled\":%s,\"waits\":%llu,\"wait_us_total\":%llu,"
            "\"wait_us_max\":%llu,\"timeouts\":%llu},"
            "\"acl\":{\"client_refused\":%llu,\"target_refused\":%llu,\"per_client_limit\":%llu,"
            "\"global_limit\":%llu},"
            "\"cookies\":{\"issued\":%llu,\"accepted\":%llu,\"refused\":%llu},"
            "\"info_requests\":%llu,\"extended_connects\":%llu,\"malformed\":%llu,"
            "\"header_timeouts\":%llu,\"connect_timeouts\":%llu,\"server_resets\":%llu,"
            "\"client_resets\":%llu,\"accept_errors\":%llu,\"splice_fallbacks\":%llu,"
            "\"resolves\":%llu,\"socks_auth_failures\":%llu,\"epollout_missed\":%llu,\"epollin_missed\":%llu}\n",
            U(st.bytes_up), U(st.bytes_down), U(st.active), U(st.active_max), U(st.completed),
            U(st.mptcp), U(st.fallback), cfg.stall_guard ? "true" : "false", U(st.stall_waits),
            U(st.stall_wait_us_total), U(st.stall_wait_us_max), U(st.stall_timeouts),
            U(st.acl_client), U(st.acl_target), U(st.limit_client), U(st.limit_global),
            U(st.cookies_issued), U(st.cookies_ok), U(st.cookies_bad), U(st.info_requests),
            U(st.ext_connects), U(st.malformed), U(st.header_timeouts), U(st.connect_timeouts),
            U(st.server_resets), U(st.client_resets), U(st.accept_errors), U(st.splice_fallbacks),
            U(st.resolves), U(st.socks_auth_fail), U(st.epollout_missed), U(st.epollin_missed));
#undef U
    if (to_file) {
        fclose(f);
        rename(tmp, cfg.stats_file);
    } else fflush(f);
}
