#include "emu/linkem/out.h"
#include "lib/file.h"
#include "lib/json.h"

#include <stdlib.h>
#include <string.h>

static void json_str(FILE *f, const char *s) { mpxa_json_fput_str(f, s, strlen(s)); }

static void dir_obj(FILE *f, const struct lk_dir *d)
{
    const struct lk_counters *c = &d->c;
    fprintf(f,
            "{\"pkts_in\":%llu,\"bytes_in\":%llu,\"pkts_out\":%llu,\"bytes_out\":%llu,"
            "\"drops\":{\"loss\":%llu,\"queue\":%llu,\"down\":%llu,\"toolong\":%llu},"
            "\"queue_hwm_pkts\":%llu,\"queue_hwm_bytes\":%llu,\"held_pkts\":%llu,"
            "\"send_fail\":%llu,\"csum_fixed\":%llu,\"stamp_fallback\":%llu,\"kernel_drops\":%llu,"
            "\"late_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f}}",
            (unsigned long long)c->pkts_in, (unsigned long long)c->bytes_in,
            (unsigned long long)c->pkts_out, (unsigned long long)c->bytes_out,
            (unsigned long long)c->drop[LK_DROP_LOSS], (unsigned long long)c->drop[LK_DROP_QUEUE],
            (unsigned long long)c->drop[LK_DROP_DOWN], (unsigned long long)c->drop[LK_DROP_TOOLONG],
            (unsigned long long)c->hwm_pkts, (unsigned long long)c->hwm_bytes,
            (unsigned long long)lk_fifo_held(&d->q), (unsigned long long)c->send_fail,
            (unsigned long long)c->csum_fixed, (unsigned long long)c->stamp_fallback,
            (unsigned long long)c->kernel_drops, lk_late_pct(c, 0.5), lk_late_pct(c, 0.99),
            lk_late_pct(c, 0.999), lk_late_pct(c, 1.0));
}

void lk_stats_print(FILE *f, const struct lk_run_info *ri, const struct lk_dir *ab,
                    const struct lk_dir *ba)
{
    fputs("{\"link\":", f);
    json_str(f, ri->name);
    fputs(",\"ab\":", f);
    dir_obj(f, ab);
    fputs(",\"ba\":", f);
    dir_obj(f, ba);
    fprintf(f,
            ",\"down\":%s,\"start_real_us\":%llu,\"pcap_frames\":%llu,\"pcap_errors\":%llu,"
            "\"loop\":{\"polls\":%llu,\"sleeps\":%llu,\"rx_calls\":%llu,\"tx_calls\":%llu,\"spin_"
            "us\":%.0f},"
            "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"elapsed_s\":%.3f}\n",
            ri->down ? "true" : "false", (unsigned long long)ri->start_real_us,
            (unsigned long long)ri->pcap_frames, (unsigned long long)ri->pcap_errors,
            (unsigned long long)ri->loops, (unsigned long long)ri->sleeps,
            (unsigned long long)ri->rx_calls, (unsigned long long)ri->tx_calls, ri->spin_us,
            ri->cpu_user_s, ri->cpu_sys_s, ri->elapsed_s);
}

int lk_stats_write(const char *path, const struct lk_run_info *ri, const struct lk_dir *ab,
                   const struct lk_dir *ba)
{
    /* rendered in memory first: readers of path see the old or the new object, never half */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return -1;
    lk_stats_print(f, ri, ab, ba);
    int rc = fclose(f) ? -1 : mpx_file_write_atomic(path, buf, len);
    free(buf);
    return rc;
}

void lk_event_print(FILE *f, uint64_t t_us, const char *dir, uint64_t idx, const char *reason,
                    uint32_t len)
{
    fprintf(f, "{\"t_us\":%llu,\"dir\":\"%s\",\"idx\":%llu,\"reason\":\"%s\",\"len\":%u}\n",
            (unsigned long long)t_us, dir, (unsigned long long)idx, reason, len);
}
