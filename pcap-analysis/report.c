/* Writers: --json (one line per connection + a summary line, pcap-analysis/README.md), --csv,
 * and --report (Markdown verification report). All three read the same finished an_ctx.
 * Signal names are the registry's wire class names. */
#include "pcap-analysis/analyze.h"
#include "lib/json.h"
#include "lib/stats.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *mptcp_name(enum an_mptcp m)
{
    return m == AN_MPTCP ? "mptcp" : m == AN_FALLBACK ? "fallback" : "tcp";
}

bool an_conn_listed(const an_conn *c) { return !(c->is_join && c->parent); }

static void json_str(FILE *o, const char *s) { mpxa_json_fput_str(o, s, strlen(s)); }

static int64_t t0_of(const an_conn *c) { return c->t_syn != AN_NONE ? c->t_syn : c->t_first; }

static void json_t(FILE *o, const char *k, int64_t t, int64_t t0, bool comma)
{
    if (t == AN_NONE) fprintf(o, "\"%s\":null", k);
    else fprintf(o, "\"%s\":%" PRId64, k, an_dt(t, t0));
    if (comma) fputc(',', o);
}

size_t an_total_violations(an_ctx *x)
{
    size_t n = 0;
    for (an_conn *c = x->t.head; c; c = c->next) n += c->nv_total;
    return n;
}

/* Violations of a listed connection and its folded join subflows: all, and stored. */
static uint64_t conn_vtotal(const an_conn *c)
{
    uint64_t n = c->nv_total;
    for (const an_conn *j = c->joins; j; j = j->next_join) n += j->nv_total;
    return n;
}
static uint64_t conn_vstored(const an_conn *c)
{
    uint64_t n = c->nv;
    for (const an_conn *j = c->joins; j; j = j->next_join) n += j->nv;
    return n;
}

static void json_csum(FILE *o, const an_conn *c)
{
    fprintf(o, "{\"ok\":%d,\"bad\":%d,\"unchecked\":%d}", c->csum_ok, c->csum_bad,
            c->csum_unchecked);
}

static bool any_read_error(const an_ctx *x)
{
    for (int i = 0; i < x->nfiles; i++)
        if (x->read_err && x->read_err[i][0]) return true;
    return false;
}

/* Time split of a joined upstream/downstream pair. Captures written by mpx-linkem stamp a
 * frame when it leaves the emulator, i.e. when it reaches the next hop, so the one-way
 * delays are estimated from each handshake: client->proxy from the upstream SYN/ACK->ACK
 * gap, proxy->server from the downstream SYN->SYN/ACK gap. */
typedef struct { bool ok; int64_t cp, proxy, ps, total; } an_split;

static an_split split_of(const an_conn *u)
{
    an_split s = { 0 };
    const an_conn *d = u->down;
    if (!d || u->t_first_resp == AN_NONE || d->t_first_resp == AN_NONE || u->t_syn == AN_NONE ||
        d->t_syn == AN_NONE)
        return s;
    int64_t owd_ps = d->t_synack != AN_NONE ? an_dt(d->t_synack, d->t_syn) : 0;
    int64_t owd_cp = (u->t_ack != AN_NONE && u->t_synack != AN_NONE && u->t_ack > u->t_synack)
                     ? an_dt(u->t_ack, u->t_synack) : 0;
    int64_t pin = an_dt(an_dt(d->t_syn, owd_ps), u->t_syn);
    int64_t pout = an_dt(an_dt(u->t_first_resp, owd_cp), d->t_first_resp);
    if (pin < 0) pin = 0;
    if (pout < 0) pout = 0;
    s.ok = true;
    s.ps = (int64_t)((uint64_t)an_dt(d->t_first_resp, d->t_syn) + (uint64_t)owd_ps);
    s.proxy = (int64_t)((uint64_t)pin + (uint64_t)pout);
    s.cp = (int64_t)(2 * (uint64_t)owd_cp);
    s.total = (int64_t)((uint64_t)s.cp + (uint64_t)s.proxy + (uint64_t)s.ps);
    return s;
}

static void jnum(FILE *o, const char *k, int64_t v, bool ok)
{
    if (ok) fprintf(o, ",\"%s\":%" PRId64, k, v); else fprintf(o, ",\"%s\":null", k);
}

static void write_json(an_ctx *x, FILE *o)
{
    for (an_conn *c = x->t.head; c; c = c->next) {
        if (!an_conn_listed(c)) continue;
        char cl[80], sv[80];
        int64_t t0 = t0_of(c);
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        fputs("{\"type\":\"conn\",\"pcap\":", o);
        json_str(o, x->files[c->file_idx]);
        fputs(",\"client\":", o); json_str(o, cl);
        fputs(",\"server\":", o); json_str(o, sv);
        fputs(",\"signal\":", o); json_str(o, mpx_wire_class_name(c->wire));
        fprintf(o, ",\"mptcp\":\"%s\",\"fallback_cause\":", mptcp_name(c->mptcp));
        if (c->fallback_cause[0]) json_str(o, c->fallback_cause); else fputs("null", o);
        if (c->have_key[1]) fprintf(o, ",\"token\":\"%08" PRIx32 "\"", c->token[1]);
        else if (c->is_join) fprintf(o, ",\"token\":\"%08" PRIx32 "\"", c->join_token);
        else fputs(",\"token\":null", o);
        fprintf(o, ",\"subflows\":%d", c->nsubflows);
        fprintf(o, ",\"syn_opt_bytes\":%d,\"syn_opt_left\":%d,\"synack_opt_bytes\":%d",
                c->syn_opt_bytes < 0 ? 0 : c->syn_opt_bytes, c->syn_opt_bytes < 0 ? 40 : 40 - c->syn_opt_bytes,
                c->synack_opt_bytes < 0 ? 0 : c->synack_opt_bytes);
        fprintf(o, ",\"tfo\":{\"cookie_req\":%s,\"cookie_granted\":%s,\"cookie_used\":%s,\"syn_data_len\":%u,"
                   "\"syn_data_acked\":%s,\"syn_data_retx\":%s,\"exp\":%s,\"cookie_len\":%d}",
                c->cookie_req ? "true" : "false", c->cookie_granted ? "true" : "false",
                c->cookie_used ? "true" : "false", c->syn_data_len, c->syn_data_acked ? "true" : "false",
                c->syn_data_retx ? "true" : "false", c->tfo_exp ? "true" : "false",
                c->cookie_granted ? c->cookie_len_granted : c->cookie_len_used);
        fputs(",\"t_us\":{", o);
        json_t(o, "syn", c->t_syn, t0, true);
        json_t(o, "synack", c->t_synack, t0, true);
        json_t(o, "ack", c->t_ack, t0, true);
        json_t(o, "first_req", c->t_first_req, t0, true);
        json_t(o, "first_resp", c->t_first_resp, t0, false);
        fputc('}', o);
        jnum(o, "hs_rtt_us", an_dt(c->t_synack, c->t_syn), c->t_syn != AN_NONE && c->t_synack != AN_NONE);
        jnum(o, "ttfb_us", an_dt(c->t_first_resp, c->t_syn), c->t_syn != AN_NONE && c->t_first_resp != AN_NONE);
        jnum(o, "rtts_before_data", c->rtts_before_data, c->rtts_before_data >= 0);
        fprintf(o, ",\"pkts\":%" PRIu64, c->pkts);
        /* the extra fields (README, "JSON") */
        fprintf(o, ",\"t0_epoch_us\":%" PRId64, t0);
        fputs(",\"target\":", o);
        if (c->target[0]) json_str(o, c->target); else fputs("null", o);
        fprintf(o, ",\"signal_valid\":%s,\"req_in_syn\":%s", c->sig_valid ? "true" : "false",
                c->req_in_syn ? "true" : "false");
        fputs(",\"signal_detail\":", o); json_str(o, c->sig_detail);
        fputs(",\"reply\":", o); json_str(o, c->reply_detail);
        fputs(",\"reply_where\":", o); json_str(o, c->reply_where);
        fprintf(o, ",\"mpc\":{\"syn\":%s,\"synack\":%s,\"ack\":%s,\"version\":%d}",
                c->syn_mpc ? "true" : "false", c->synack_mpc ? "true" : "false",
                c->ack_mpc ? "true" : "false", c->mpc_version);
        fputs(",\"keys\":{", o);
        if (c->have_key[0]) fprintf(o, "\"client\":\"%016" PRIx64 "\",", c->key[0]); else fputs("\"client\":null,", o);
        if (c->have_key[1]) fprintf(o, "\"server\":\"%016" PRIx64 "\"", c->key[1]); else fputs("\"server\":null", o);
        fputc('}', o);
        if (c->have_key[0]) fprintf(o, ",\"client_token\":\"%08" PRIx32 "\"", c->token[0]);
        fprintf(o, ",\"ts_dropped\":%s,\"mpc_dropped\":%s,\"router_alert\":%s,\"prefer_proxy\":%s,\"mpconvert_opt\":%s",
                c->ts_dropped ? "true" : "false", c->mpc_dropped ? "true" : "false",
                c->ip_router_alert ? "true" : "false", c->syn_prefer_proxy ? "true" : "false",
                c->syn_mpconvert_opt ? "true" : "false");
        fprintf(o, ",\"dss_csum\":{\"ok\":%d,\"bad\":%d,\"unchecked\":%d}", c->csum_ok, c->csum_bad, c->csum_unchecked);
        fputs(",\"space_note\":", o);
        if (c->space_note[0]) json_str(o, c->space_note); else fputs("null", o);
        fputs(",\"convert_error\":", o);
        if (c->convert_error >= 0) fprintf(o, "%d", c->convert_error); else fputs("null", o);
        fputs(",\"socks_reply\":", o);
        if (c->socks_reply >= 0) fprintf(o, "%d", c->socks_reply); else fputs("null", o);
        fputs(",\"syns\":[", o);
        for (int i = 0; i < c->nsyns; i++)
            fprintf(o, "%s{\"pkt\":%" PRIu64 ",\"t_us\":%" PRId64 ",\"dir\":\"%s\",\"opt_bytes\":%u,\"opt_left\":%d,\"mpc\":%s,\"tfo\":%s,\"data_len\":%u}",
                    i ? "," : "", c->syns[i].pkt, an_dt(c->syns[i].t, t0), c->syns[i].dir ? "synack" : "syn",
                    c->syns[i].opt_bytes, 40 - c->syns[i].opt_bytes, c->syns[i].mpc ? "true" : "false",
                    c->syns[i].tfo ? "true" : "false", c->syns[i].data_len);
        fputc(']', o);
        fprintf(o, ",\"mp_tcprst\":");
        if (c->mp_tcprst) fprintf(o, "%d", c->tcprst_reason); else fputs("null", o);
        fprintf(o, ",\"mp_fastclose\":%s,\"add_addr\":%d,\"add_addr_hmac_ok\":%d,\"add_addr_hmac_bad\":%d",
                c->mp_fastclose ? "true" : "false", c->add_addr, c->add_addr_hmac_ok, c->add_addr_hmac_bad);
        fprintf(o, ",\"dup_frames\":%" PRIu64, c->dup_frames);
        fprintf(o, ",\"bytes\":{\"c2s\":%" PRIu64 ",\"s2c\":%" PRIu64 "},\"truncated\":%" PRIu64,
                c->d[0].bytes, c->d[1].bytes, c->truncated);
        /* joined subflows */
        fputs(",\"joins\":[", o);
        bool first = true;
        for (an_conn *j = c->joins; j; j = j->next_join) {
            char jc[80], js[80];
            cap_ep_str(j->af, j->cli, j->cport, jc, sizeof jc);
            cap_ep_str(j->af, j->srv, j->sport, js, sizeof js);
            fprintf(o, "%s{\"pcap\":", first ? "" : ",");
            json_str(o, x->files[j->file_idx]);
            fputs(",\"client\":", o); json_str(o, jc);
            fputs(",\"server\":", o); json_str(o, js);
            fprintf(o, ",\"pkts\":%" PRIu64 ",\"backup\":%s,\"hmac\":\"%s\"", j->pkts, j->join_backup ? "true" : "false",
                    j->join_hmac_state > 0 ? "ok" : j->join_hmac_state < 0 ? "bad" : "unchecked");
            fprintf(o, ",\"dss_maps\":%d,\"dss_csum\":", j->dss_maps);
            json_csum(o, j);
            jnum(o, "t_syn_us", an_dt(j->t_syn, t0), j->t_syn != AN_NONE);
            fputc('}', o);
            first = false;
        }
        fputc(']', o);
        if (c->down) {
            char dc[80], ds[80];
            cap_ep_str(c->down->af, c->down->cli, c->down->cport, dc, sizeof dc);
            cap_ep_str(c->down->af, c->down->srv, c->down->sport, ds, sizeof ds);
            fputs(",\"downstream\":{\"pcap\":", o);
            json_str(o, x->files[c->down->file_idx]);
            fputs(",\"client\":", o); json_str(o, dc);
            fputs(",\"server\":", o); json_str(o, ds);
            an_split s = split_of(c);
            fprintf(o, ",\"intercepted\":%s", c->intercepted ? "true" : "false");
            /* RFC 8803 4.2: the converter confirms upstream only after the downstream accepted */
            fputs(",\"reply_after_down_synack\":", o);
            int64_t trep = AN_NONE;
            bool conv = c->wire == MPX_WIRE_CONVERT || c->wire == MPX_WIRE_MPCONVERT_IE;
            if (conv && c->reply_where[0] && c->d[1].nsegs) trep = c->d[1].segs[0].t_us;
            if (trep != AN_NONE && c->down->t_synack != AN_NONE) fputs(trep >= c->down->t_synack ? "true" : "false", o);
            else fputs("null", o);
            fputs(",\"split_us\":", o);
            if (s.ok) fprintf(o, "{\"client_proxy\":%" PRId64 ",\"proxy\":%" PRId64 ",\"proxy_server\":%" PRId64 ",\"total\":%" PRId64 "}",
                              s.cp, s.proxy, s.ps, s.total);
            else fputs("null", o);
            fputc('}', o);
        }
        fprintf(o, ",\"dss_maps\":%d", c->dss_maps);
        {
            /* the MPTCP connection's checksums: this subflow and its joins */
            an_conn all = { .csum_ok = c->csum_ok,
                            .csum_bad = c->csum_bad,
                            .csum_unchecked = c->csum_unchecked };
            for (an_conn *j = c->joins; j; j = j->next_join) {
                all.csum_ok += j->csum_ok;
                all.csum_bad += j->csum_bad;
                all.csum_unchecked += j->csum_unchecked;
            }
            fputs(",\"dss_csum_all\":", o);
            json_csum(o, &all);
        }
        fputs(",\"opt_cut\":", o);
        if (c->opt_cut)
            fprintf(o,
                    "{\"pkts\":%" PRIu64 ",\"first_pkt\":%" PRIu64 ",\"cut_at\":%zu,\"area\":%zu}",
                    c->opt_cut, c->opt_cut_pkt, c->opt_cut_at, c->opt_cut_wire);
        else
            fputs("null", o);
        fprintf(o, ",\"violations_total\":%" PRIu64 ",\"violations_not_stored\":%" PRIu64,
                conn_vtotal(c), conn_vtotal(c) - conn_vstored(c));
        fputs(",\"violations\":[", o);
        first = true;
        for (an_conn *j = c; j; j = (j == c ? c->joins : j->next_join)) {
            for (size_t i = 0; i < j->nv; i++) {
                fprintf(o, "%s{\"rule\":", first ? "" : ",");
                json_str(o, j->v[i].rule);
                fprintf(o, ",\"pkt\":%" PRIu64 ",\"t_us\":%" PRId64 ",\"msg\":", j->v[i].pkt, an_dt(j->v[i].t_us, t0));
                json_str(o, j->v[i].msg);
                if (j != c) { fputs(",\"pcap\":", o); json_str(o, x->files[j->file_idx]); }
                fputc('}', o);
                first = false;
            }
        }
        fputs("]}\n", o);
    }
    /* summary */
    size_t nconn = 0, nv = 0, nstored = 0;
    for (an_conn *c = x->t.head; c; c = c->next) {
        if (an_conn_listed(c)) nconn++;
        nv += c->nv_total;
        nstored += c->nv;
    }
    fprintf(o, "{\"type\":\"summary\",\"connections\":%zu,\"violations\":%zu,\"by_rule\":{", nconn, nv);
    /* count per rule without a map: rules are few, quadratic over distinct rules is fine */
    const char *seen[256];
    size_t cnt[256], ns = 0;
    for (an_conn *c = x->t.head; c; c = c->next)
        for (size_t i = 0; i < c->nv; i++) {
            size_t k;
            for (k = 0; k < ns; k++) if (!strcmp(seen[k], c->v[i].rule)) break;
            if (k == ns) { if (ns == 256) continue; seen[ns] = c->v[i].rule; cnt[ns++] = 0; }
            cnt[k]++;
        }
    /* the counted but not stored ones */
    for (an_conn *c = x->t.head; c; c = c->next) {
        for (size_t i = 0; i < sizeof c->vmore / sizeof *c->vmore && c->vmore[i].rule; i++) {
            size_t k;
            for (k = 0; k < ns; k++)
                if (!strcmp(seen[k], c->vmore[i].rule)) break;
            if (k == ns) {
                if (ns == 256) continue;
                seen[ns] = c->vmore[i].rule;
                cnt[ns++] = 0;
            }
            cnt[k] += c->vmore[i].n;
        }
        if (c->vmore_other) {
            size_t k;
            for (k = 0; k < ns; k++)
                if (!strcmp(seen[k], "AN-OTHER-RULES")) break;
            if (k == ns) {
                if (ns == 256) continue;
                seen[ns] = "AN-OTHER-RULES";
                cnt[ns++] = 0;
            }
            cnt[k] += c->vmore_other;
        }
    }
    for (size_t k = 0; k < ns; k++) { fprintf(o, "%s", k ? "," : ""); json_str(o, seen[k]); fprintf(o, ":%zu", cnt[k]); }
    fprintf(o, "},\"violations_not_stored\":%zu,\"read_errors\":[", nv - nstored);
    bool fe = true;
    for (int i = 0; i < x->nfiles; i++) {
        if (!x->read_err || !x->read_err[i][0]) continue;
        fputs(fe ? "{\"pcap\":" : ",{\"pcap\":", o);
        json_str(o, x->files[i]);
        fprintf(o, ",\"frames_read\":%" PRIu64 ",\"error\":", x->file_frames[i]);
        json_str(o, x->read_err[i]);
        fputc('}', o);
        fe = false;
    }
    fputc(']', o);
    fprintf(o,
            ",\"pcaps\":%d,\"frames\":%" PRIu64 ",\"tcp_pkts\":%" PRIu64 ",\"truncated\":%" PRIu64
            ",\"dup_frames\":%" PRIu64 ",\"skipped\":{\"not_ip\":%" PRIu64 ",\"not_tcp\":%" PRIu64
            ",\"fragment\":%" PRIu64 ",\"trunc\":%" PRIu64 ",\"bad\":%" PRIu64 "}}\n",
            x->nfiles, x->frames, x->tcp_pkts, x->truncated, x->dup_frames, x->skipped[CAP_NOT_IP],
            x->skipped[CAP_NOT_TCP], x->skipped[CAP_FRAGMENT], x->skipped[CAP_TRUNC],
            x->skipped[CAP_BAD]);
}

static void csv_field(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) { if (*s == '"') fputc('"', o); fputc(*s, o); }
    fputc('"', o);
}

static void csv_t(FILE *o, int64_t v, bool ok) { if (ok) fprintf(o, ",%" PRId64, v); else fputs(",", o); }

static void write_csv(an_ctx *x, FILE *o)
{
    fputs("pcap,client,server,signal,signal_valid,target,req_in_syn,mptcp,fallback_cause,token,subflows,"
          "syn_opt_bytes,syn_opt_left,synack_opt_bytes,cookie_req,cookie_granted,cookie_used,syn_data_len,"
          "syn_data_acked,t_syn_us,t_synack_us,t_ack_us,t_first_req_us,t_first_resp_us,hs_rtt_us,ttfb_us,"
          "rtts_before_data,pkts,violations\n", o);
    for (an_conn *c = x->t.head; c; c = c->next) {
        if (!an_conn_listed(c)) continue;
        char cl[80], sv[80], tok[16] = "";
        int64_t t0 = t0_of(c);
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        if (c->have_key[1]) snprintf(tok, sizeof tok, "%08" PRIx32, c->token[1]);
        csv_field(o, x->files[c->file_idx]); fputc(',', o);
        csv_field(o, cl); fputc(',', o); csv_field(o, sv); fputc(',', o);
        fprintf(o, "%s,%d,", mpx_wire_class_name(c->wire), c->sig_valid);
        csv_field(o, c->target); fprintf(o, ",%d,%s,", c->req_in_syn, mptcp_name(c->mptcp));
        csv_field(o, c->fallback_cause);
        fprintf(o, ",%s,%d,%d,%d,%d,%d,%d,%d,%u,%d", tok, c->nsubflows, c->syn_opt_bytes < 0 ? 0 : c->syn_opt_bytes,
                c->syn_opt_bytes < 0 ? 40 : 40 - c->syn_opt_bytes, c->synack_opt_bytes < 0 ? 0 : c->synack_opt_bytes,
                c->cookie_req, c->cookie_granted, c->cookie_used, c->syn_data_len, c->syn_data_acked);
        csv_t(o, an_dt(c->t_syn, t0), c->t_syn != AN_NONE);
        csv_t(o, an_dt(c->t_synack, t0), c->t_synack != AN_NONE);
        csv_t(o, an_dt(c->t_ack, t0), c->t_ack != AN_NONE);
        csv_t(o, an_dt(c->t_first_req, t0), c->t_first_req != AN_NONE);
        csv_t(o, an_dt(c->t_first_resp, t0), c->t_first_resp != AN_NONE);
        csv_t(o, an_dt(c->t_synack, c->t_syn), c->t_syn != AN_NONE && c->t_synack != AN_NONE);
        csv_t(o, an_dt(c->t_first_resp, c->t_syn), c->t_syn != AN_NONE && c->t_first_resp != AN_NONE);
        csv_t(o, c->rtts_before_data, c->rtts_before_data >= 0);
        fprintf(o, ",%" PRIu64 ",%" PRIu64 "\n", c->pkts, conn_vtotal(c));
    }
}

static void ms(char *b, size_t n, int64_t v, bool ok)
{
    if (!ok) snprintf(b, n, "–");
    else snprintf(b, n, "%.3f", (double)v / 1000.0);
}

/* Rows of the per-signal summary: the registry's wire classes, those that carry a signal in
 * registry order, then plain data, then no data. Returns how many were written. */
static size_t summary_classes(mpx_wire_class *out)
{
    size_t k = 0;
    for (int w = 0; w < MPX_WIRE__N; w++)
        if (w != MPX_WIRE_PLAIN && w != MPX_WIRE_NONE) out[k++] = (mpx_wire_class)w;
    out[k++] = MPX_WIRE_PLAIN;
    out[k++] = MPX_WIRE_NONE;
    return k;
}

static void write_report(an_ctx *x, FILE *o)
{
    fputs("# mpx-analyze verification report\n\n", o);
    fprintf(o, "Inputs: %d capture(s), %" PRIu64 " frames, %" PRIu64 " TCP segments, %" PRIu64
               " cut by the snaplen; skipped: %" PRIu64 " non-IP, %" PRIu64 " non-TCP, %" PRIu64 " fragments, %" PRIu64
               " truncated headers, %" PRIu64 " malformed.\n\n",
            x->nfiles, x->frames, x->tcp_pkts, x->truncated, x->skipped[CAP_NOT_IP], x->skipped[CAP_NOT_TCP],
            x->skipped[CAP_FRAGMENT], x->skipped[CAP_TRUNC], x->skipped[CAP_BAD]);
    for (int i = 0; i < x->nfiles; i++) {
        fprintf(o, "- `%s`: %" PRIu64 " frames", x->files[i], x->file_frames[i]);
        if (x->read_err && x->read_err[i][0])
            fprintf(o, "; **read error, the rest of the file is not analysed**: %s",
                    x->read_err[i]);
        fputc('\n', o);
    }
    {
        size_t nconn = 0, nvt = an_total_violations(x), nbad = 0;
        for (an_conn *c = x->t.head; c; c = c->next) {
            if (!an_conn_listed(c)) continue;
            nconn++;
            nbad += conn_vtotal(c) > 0;
        }
        if (any_read_error(x))
            fprintf(
                o,
                "\n**Verdict: incomplete.** A capture could not be read to its end (see the read "
                "errors above): "
                "%zu violation(s) in the %zu connection(s) read, nothing is known of the rest.\n",
                nvt, nconn);
        else if (!nvt)
            fprintf(o, "\n**Verdict: clean.** Every encoding check passed on %zu connection(s).\n",
                    nconn);
        else fprintf(o, "\n**Verdict: %zu violation(s)** in %zu of %zu connection(s); see the last section.\n", nvt, nbad, nconn);
    }
    fputs("\n## Summary per signal\n\n", o);
    fputs("| signal | connections | signal valid | request in SYN | MPTCP | fallback | TFO data acked | TTFB median (ms) | violations |\n", o);
    fputs("|---|---|---|---|---|---|---|---|---|\n", o);
    mpx_wire_class cls[MPX_WIRE__N];
    size_t ncls = summary_classes(cls);
    for (size_t s = 0; s < ncls; s++) {
        size_t n = 0, valid = 0, insyn = 0, mp = 0, fb = 0, acked = 0, nv = 0, nt = 0;
        double *tt = NULL;
        for (an_conn *c = x->t.head; c; c = c->next) {
            if (!an_conn_listed(c) || c->wire != cls[s]) continue;
            n++;
            valid += c->sig_valid; insyn += c->req_in_syn; mp += c->mptcp == AN_MPTCP;
            fb += c->mptcp == AN_FALLBACK;
            acked += c->syn_data_acked;
            nv += c->nv_total;
            if (c->t_syn != AN_NONE && c->t_first_resp != AN_NONE) {
                double *nt2 = realloc(tt, (nt + 1) * sizeof *tt);
                if (nt2) { tt = nt2; tt[nt++] = (double)an_dt(c->t_first_resp, c->t_syn); }
            }
        }
        if (!n) { free(tt); continue; }
        /* summary.jq's median (lib/stats.h): an even count gives the mean of the middle two */
        char med[32];
        if (nt) snprintf(med, sizeof med, "%.3f", mpx_stats_median(tt, nt) / 1000.0);
        else snprintf(med, sizeof med, "–");
        fprintf(o, "| %s | %zu | %zu | %zu | %zu | %zu | %zu | %s | %zu |\n", mpx_wire_class_name(cls[s]), n, valid,
                insyn, mp, fb, acked, med, nv);
        free(tt);
    }
    fputs("\n## Connections\n", o);
    int idx = 0;
    for (an_conn *c = x->t.head; c; c = c->next) {
        if (!an_conn_listed(c)) continue;
        idx++;
        char cl[80], sv[80], b[64];
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        int64_t t0 = t0_of(c);
        fprintf(o, "\n### %d. %s → %s (`%s`)\n\n", idx, cl, sv, x->files[c->file_idx]);
        fputs("| check | result |\n|---|---|\n", o);
        fprintf(o, "| signal | %s |\n", mpx_wire_class_name(c->wire));
        if (c->sig_detail[0]) fprintf(o, "| signal check | %s%s |\n", c->sig_valid ? "" : "INVALID: ", c->sig_detail);
        if (c->target[0]) fprintf(o, "| target | %s |\n", c->target);
        if (c->wire != MPX_WIRE_NONE)
            fprintf(o, "| request in SYN | %s (SYN data %u B, signal %zu B, request %s) |\n",
                    c->req_in_syn ? "yes" : "no", c->syn_data_len, c->sig_len_c2s,
                    c->req_in_syn ? "rode in the SYN" : "sent after the SYN");
        if (c->reply_detail[0]) fprintf(o, "| reply | %s%s%s |\n", c->reply_detail, c->reply_where[0] ? ", in " : "", c->reply_where);
        fprintf(o, "| SYN options | %d B used, %d B left; MP_CAPABLE %s%s%s%s |\n",
                c->syn_opt_bytes < 0 ? 0 : c->syn_opt_bytes, c->syn_opt_bytes < 0 ? 40 : 40 - c->syn_opt_bytes,
                c->syn_mpc ? "carried" : "absent", c->syn_ts ? ", timestamps" : "",
                c->cookie_req ? ", TFO cookie request" : c->cookie_used ? ", TFO cookie" : "",
                c->ip_router_alert ? ", IPv4 Router Alert" : "");
        if (c->synack_opt_bytes >= 0)
            fprintf(o, "| SYN/ACK options | %d B used, %d B left; MP_CAPABLE %s%s%s |\n", c->synack_opt_bytes,
                    40 - c->synack_opt_bytes, c->synack_mpc ? "carried" : "absent",
                    c->cookie_granted ? ", TFO cookie granted" : "",
                    c->ts_dropped ? ", timestamps dropped for space (RFC 8684 B.1)" : "");
        if (c->space_note[0]) fprintf(o, "| option space | %s |\n", c->space_note);
        if (c->nsyns > 2 || (c->nsyns == 2 && c->syns[1].dir == 0)) {
            fputs("| every SYN and SYN/ACK | ", o);
            for (int i = 0; i < c->nsyns; i++)
                fprintf(o, "%spkt %" PRIu64 " %s %u B (%d left)%s%s", i ? "; " : "", c->syns[i].pkt,
                        c->syns[i].dir ? "SYN/ACK" : "SYN", c->syns[i].opt_bytes, 40 - c->syns[i].opt_bytes,
                        c->syns[i].mpc ? " MPC" : "", c->syns[i].tfo ? " TFO" : "");
            fputs(" |\n", o);
        }
        fprintf(o, "| MPTCP | %s%s%s", mptcp_name(c->mptcp), c->fallback_cause[0] ? ": " : "", c->fallback_cause);
        if (c->have_key[1]) fprintf(o, "; token %08" PRIx32, c->token[1]);
        fprintf(o, "; %d subflow(s) |\n", c->nsubflows);
        fprintf(o, "| TFO | cookie requested %s, granted %s%s, used %s; SYN data %u B %s%s |\n",
                c->cookie_req ? "yes" : "no", c->cookie_granted ? "yes" : "no",
                c->tfo_exp ? " (experimental 254/0xF989)" : "", c->cookie_used ? "yes" : "no", c->syn_data_len,
                !c->syn_data_len ? "" : !c->saw_synack ? "(no SYN/ACK captured)" : c->syn_data_acked ? "acked by the SYN/ACK" :
                c->syn_data_partial ? "partly acked" : "NOT acked by the SYN/ACK",
                c->syn_data_retx ? ", retransmitted after the handshake" : "");
        fprintf(o, "| packets | %" PRIu64 " (%" PRIu64 " → / %" PRIu64 " ←)%s |\n", c->pkts, c->d[0].pkts, c->d[1].pkts,
                c->truncated ? ", some cut by the snaplen" : "");
        if (c->opt_cut)
            fprintf(o,
                    "| option areas cut by the snaplen | %" PRIu64 " (first: packet %" PRIu64
                    ", cut at %zu of %zu bytes); "
                    "judged up to the cut |\n",
                    c->opt_cut, c->opt_cut_pkt, c->opt_cut_at, c->opt_cut_wire);
        {
            int ok = c->csum_ok, bad = c->csum_bad, un = c->csum_unchecked, maps = c->dss_maps;
            for (an_conn *j = c->joins; j; j = j->next_join) {
                ok += j->csum_ok;
                bad += j->csum_bad;
                un += j->csum_unchecked;
                maps += j->dss_maps;
            }
            if (maps && ok + bad + un)
                fprintf(o,
                        "| DSS mappings | %d (all subflows); checksums: %d right, %d wrong, %d not "
                        "checkable |\n",
                        maps, ok, bad, un);
            else if (maps)
                fprintf(o, "| DSS mappings | %d (all subflows), without checksums |\n", maps);
        }
        fputs("\nTimeline (ms from the SYN):\n\n| event | t (ms) | packet |\n|---|---|---|\n", o);
        struct { const char *n; int64_t t; uint64_t p; } ev[] = {
            { "SYN", c->t_syn, c->pkt_syn }, { "SYN/ACK", c->t_synack, c->pkt_synack },
            { "ACK", c->t_ack, c->pkt_ack }, { "first request byte", c->t_first_req, c->pkt_first_req },
            { "first response byte", c->t_first_resp, c->pkt_first_resp },
        };
        for (size_t i = 0; i < sizeof ev / sizeof *ev; i++) {
            ms(b, sizeof b, an_dt(ev[i].t, t0), ev[i].t != AN_NONE);
            if (ev[i].t != AN_NONE) fprintf(o, "| %s | %s | %" PRIu64 " |\n", ev[i].n, b, ev[i].p);
            else fprintf(o, "| %s | – | – |\n", ev[i].n);
        }
        char h[32], tf[32];
        ms(h, sizeof h, an_dt(c->t_synack, c->t_syn), c->t_syn != AN_NONE && c->t_synack != AN_NONE);
        ms(tf, sizeof tf, an_dt(c->t_first_resp, c->t_syn), c->t_syn != AN_NONE && c->t_first_resp != AN_NONE);
        fprintf(o, "\nHandshake RTT %s ms, TTFB %s ms, round trips before the request could leave: ", h, tf);
        if (c->rtts_before_data >= 0) fprintf(o, "%d.\n", c->rtts_before_data); else fputs("–.\n", o);
        for (an_conn *j = c->joins; j; j = j->next_join) {
            char jc[80], js[80];
            cap_ep_str(j->af, j->cli, j->cport, jc, sizeof jc);
            cap_ep_str(j->af, j->srv, j->sport, js, sizeof js);
            fprintf(o, "\nMP_JOIN subflow %s → %s (`%s`): %" PRIu64 " packets, HMAC %s%s", jc, js,
                    x->files[j->file_idx], j->pkts,
                    j->join_hmac_state > 0 ? "verified"
                    : j->join_hmac_state < 0
                        ? "MISMATCH"
                        : "not checked (no SYN/ACK or third ACK with MP_JOIN captured)",
                    j->join_backup ? ", backup" : "");
            if (j->dss_maps)
                fprintf(o, "; %d DSS mapping(s), checksums %d right, %d wrong, %d not checkable",
                        j->dss_maps, j->csum_ok, j->csum_bad, j->csum_unchecked);
            fputs(".\n", o);
        }
        if (c->down) {
            char dc[80], ds[80];
            cap_ep_str(c->down->af, c->down->cli, c->down->cport, dc, sizeof dc);
            cap_ep_str(c->down->af, c->down->srv, c->down->sport, ds, sizeof ds);
            an_split s = split_of(c);
            fprintf(o, "\n%s connection %s → %s (`%s`).", c->intercepted ? "Intercepted (on-path) downstream" : "Downstream",
                    dc, ds, x->files[c->down->file_idx]);
            if (s.ok) {
                char a1[32], a2[32], a3[32], a4[32];
                ms(a1, sizeof a1, s.cp, true); ms(a2, sizeof a2, s.proxy, true);
                ms(a3, sizeof a3, s.ps, true); ms(a4, sizeof a4, s.total, true);
                fprintf(o, " Time to first byte split: client↔proxy %s ms, proxy %s ms, proxy↔server %s ms (total %s ms).\n",
                        a1, a2, a3, a4);
            } else fputs("\n", o);
        }
    }
    fputs("\n## Violations\n\n", o);
    size_t nv = an_total_violations(x);
    if (!nv) {
        if (any_read_error(x))
            fputs("None in the frames read; the capture is incomplete (read error above).\n", o);
        else
            fputs("None: every check passed.\n", o);
        return;
    }
    fputs("| rule | capture | packet | t (ms) | connection | explanation |\n|---|---|---|---|---|---|\n", o);
    for (an_conn *c = x->t.head; c; c = c->next) {
        const an_conn *owner = c->parent ? c->parent : c;
        char cl[80], sv[80], b[32];
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        for (size_t i = 0; i < c->nv; i++) {
            ms(b, sizeof b, an_dt(c->v[i].t_us, t0_of(owner)), true);
            fprintf(o, "| %s | `%s` | %" PRIu64 " | %s | %s → %s | ", c->v[i].rule, x->files[c->file_idx], c->v[i].pkt, b, cl, sv);
            for (const char *s = c->v[i].msg; *s; s++) { if (*s == '|') fputs("\\|", o); else fputc(*s, o); }
            fputs(" |\n", o);
        }
    }
    uint64_t more = 0;
    for (an_conn *c = x->t.head; c; c = c->next) more += c->nv_total - c->nv;
    if (more) {
        fprintf(
            o,
            "\n%" PRIu64
            " more not stored (details are kept for the first %d violations of each connection):",
            more, AN_VIOL_STORE);
        for (an_conn *c = x->t.head; c; c = c->next) {
            for (size_t i = 0; i < sizeof c->vmore / sizeof *c->vmore && c->vmore[i].rule; i++)
                fprintf(o, " %s %" PRIu64 ";", c->vmore[i].rule, c->vmore[i].n);
            if (c->vmore_other) fprintf(o, " other rules %" PRIu64 ";", c->vmore_other);
        }
        fputc('\n', o);
    }
    if (any_read_error(x))
        fputs("\nThe capture is incomplete (read error above): violations in the unread part are "
              "unknown.\n",
              o);
}

void an_write(an_ctx *x, an_out_fmt fmt, FILE *out)
{
    if (fmt == AN_OUT_JSON) write_json(x, out);
    else if (fmt == AN_OUT_CSV) write_csv(x, out);
    else write_report(x, out);
}
