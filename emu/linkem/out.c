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
            "us\":%.0f,\"rx_ring_slots\":%u},"
            "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"elapsed_s\":%.3f,",
            ri->down ? "true" : "false", (unsigned long long)ri->start_real_us,
            (unsigned long long)ri->pcap_frames, (unsigned long long)ri->pcap_errors,
            (unsigned long long)ri->loops, (unsigned long long)ri->sleeps,
            (unsigned long long)ri->rx_calls, (unsigned long long)ri->tx_calls, ri->spin_us,
            ri->rx_ring_slots, ri->cpu_user_s, ri->cpu_sys_s, ri->elapsed_s);
    fprintf(f,
            "\"pcap_dropped\":%llu,\"pcap_truncated\":%llu,\"pcap_bytes\":%llu,\"pcap_snaplen\":",
            (unsigned long long)ri->pcap_dropped, (unsigned long long)ri->pcap_truncated,
            (unsigned long long)ri->pcap_written);
    if (!ri->pcap_on)
        fputs("null", f);
    else if (ri->snaplen)
        fprintf(f, "%u", ri->snaplen);
    else
        fputs("\"auto\"", f);
    fprintf(f, ",\"realtime\":{\"fifo\":%s,\"mlock\":%s},", ri->rt ? "true" : "false",
            ri->mlocked ? "true" : "false");
    fprintf(f,
            "\"diag\":{\"wake_late_us\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
            "\"late_gt50us\":{\"woke_late\":%llu,\"busy\":%llu,\"in_batch\":%llu},"
            "\"tx_call_max_us\":%.0f,\"run_delay_ms\":%.3f,\"nvcsw\":%llu,\"nivcsw\":%llu,"
            "\"host_steal_pct\":%.1f}}\n",
            ri->wake_p50_us, ri->wake_p99_us, ri->wake_max_us, (unsigned long long)ri->late_woke,
            (unsigned long long)ri->late_busy, (unsigned long long)ri->late_batch,
            ri->tx_call_max_us, ri->run_delay_ms, (unsigned long long)ri->nvcsw,
            (unsigned long long)ri->nivcsw, ri->steal_pct);
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
