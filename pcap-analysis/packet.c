/* Per-packet work: option decode and checks through proto/, handshake and MPTCP state,
 * stream heads for signal decoding. an_finish() runs the connection-level passes. */
#include "pcap-analysis/analyze.h"
#include "proto/addr.h"
#include "proto/budget.h"
#include "proto/mpopt.h"
#include "proto/mptcp.h"
#include "proto/tcpopt.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void an_ctx_init(an_ctx *x, const char **files, int nfiles)
{
    memset(x, 0, sizeof *x);
    an_table_init(&x->t);
    x->files = files;
    x->nfiles = nfiles;
    x->file_frames = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof *x->file_frames);
    x->read_err = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof *x->read_err);
    x->mpconv_subtype = MPX_MPOPT_SUBTYPE_DEFAULT;
}

void an_ctx_free(an_ctx *x)
{
    an_table_free(&x->t);
    free(x->file_frames);
    free(x->read_err);
    free(x->pmaps);
}

static void add_event(an_conn *c, int dir, const mpx_pkt *p)
{
    if (c->nev >= AN_EVENTS) return;
    an_event *e = &c->ev[c->nev++];
    e->t_us = p->t_us; e->pkt = p->num; e->dir = (uint8_t)dir; e->flags = p->flags;
    e->len = p->data_len;
}

static void track_data(an_conn *c, int dir, const mpx_pkt *p)
{
    an_dir *d = &c->d[dir];
    bool syn = p->flags & TH_SYN;
    if (!d->have_isn) {
        if (syn) { d->isn = p->seq; d->have_isn = true; }
        else if (p->data_len) { d->isn = p->seq - 1; d->have_isn = true; }  /* mid-stream */
    }
    if (p->data_len == 0) return;
    d->bytes += p->data_len;
    uint32_t start = syn ? p->seq + 1 : p->seq;
    uint32_t rel = start - (d->isn + 1);
    if (rel > 0x80000000u) return;   /* before the first byte we know of */
    uint64_t off = rel, end = off + p->data_len;
    if (end > d->max_end) d->max_end = end;
    if (d->nsegs < AN_SEGS) {
        an_seg *s = &d->segs[d->nsegs++];
        s->off = off; s->end = end; s->t_us = p->t_us; s->pkt = p->num; s->in_syn = syn;
    }
    if (off <= d->head_len && end > d->head_len && d->head_len < AN_HEAD) {
        if (!d->head && !(d->head = malloc(AN_HEAD))) return;
        size_t skip = (size_t)(d->head_len - off);
        size_t n = p->data_caplen > skip ? p->data_caplen - skip : 0;
        if (n > AN_HEAD - d->head_len) n = AN_HEAD - d->head_len;
        memcpy(d->head + d->head_len, p->data + skip, n);
        d->head_len += n;
    }
}

/* A DSS mapping with a checksum whose 32-bit DSN needs the sender's key to widen: on an MP_JOIN
 * subflow the key is the initial subflow's, linked only in an_finish(). */
struct an_pmap {
    an_conn *c;
    uint8_t dir;
    uint32_t dsn, ssn;
    uint16_t dll, csum;
    mpx_csum payload; /* sum of the mapped data */
    uint64_t pkt;
    int64_t t;
};

static int key_version(const an_conn *c) { return c->mpc_version == 0 ? 0 : 1; }

static void csum_verdict(an_conn *c, int version, uint64_t pkt, int64_t t, uint64_t dsn,
                         uint32_t ssn, uint16_t dll, uint16_t csum, const mpx_csum *payload)
{
    uint16_t want = mpx_mptcp_dss_csum_final(payload, dsn, ssn, dll);
    if (want == csum) {
        c->csum_ok++;
        return;
    }
    c->csum_bad++;
    an_violation(c, "DSS-CSUM", pkt, t,
                 "DSS checksum 0x%04x != 0x%04x computed over DSN %" PRIu64 ", SSN %" PRIu32
                 ", length %u and the data (%s 3.3.1)",
                 csum, want, dsn, ssn, dll, version == 0 ? "RFC 6824" : "RFC 8684");
}

/* A 32-bit DSN widened with the upper half of the sender's IDSN (the closest of the three
 * candidates). The IDSN is SHA-1 derived for v0 (RFC 6824 3.1), SHA-256 for v1 (RFC 8684 3.1). */
static uint64_t widen_dsn(uint64_t key, int version, uint32_t dsn)
{
    uint64_t idsn = mpx_mptcp_idsn(key, version), best = 0, bd = UINT64_MAX;
    for (int k = -1; k <= 1; k++) {
        uint64_t cand = (((idsn >> 32) + (uint64_t)(int64_t)k) << 32) | dsn;
        uint64_t dd = cand > idsn ? cand - idsn : idsn - cand;
        if (dd < bd) {
            bd = dd;
            best = cand;
        }
    }
    return best;
}

/* DSS checksum (RFC 8684 3.3.1, RFC 6824 3.3.1) of a mapping carried whole by this segment. */
static void check_csum(an_ctx *x, an_conn *c, int dir, const mpx_pkt *p, bool dsn64, uint64_t dsn,
                       uint32_t ssn, uint16_t dll, uint16_t csum)
{
    if (dll == 0 || p->data_len != dll || p->data_caplen != dll) { c->csum_unchecked++; return; }
    mpx_csum pay;
    mpx_csum_init(&pay);
    mpx_csum_add(&pay, p->data, dll);
    if (dsn64) {
        csum_verdict(c, key_version(c), p->num, p->t_us, dsn, ssn, dll, csum, &pay);
        return;
    }
    if (!c->is_join && c->have_key[dir]) {
        csum_verdict(c, key_version(c), p->num, p->t_us,
                     widen_dsn(c->key[dir], key_version(c), (uint32_t)dsn), ssn, dll, csum, &pay);
        return;
    }
    if (x->npmaps == x->cappmaps) {
        size_t n = x->cappmaps ? x->cappmaps * 2 : 64;
        struct an_pmap *np = realloc(x->pmaps, n * sizeof *np);
        if (!np) {
            c->csum_unchecked++;
            return;
        }
        x->pmaps = np;
        x->cappmaps = n;
    }
    x->pmaps[x->npmaps++] =
        (struct an_pmap){ c, (uint8_t)dir, (uint32_t)dsn, ssn, dll, csum, pay, p->num, p->t_us };
}

/* The deferred mappings: the key of the join subflow's sender is on its initial subflow
 * (the join SYN's token names the initial subflow's side B; the join's client is A). */
static void finish_pmaps(an_ctx *x)
{
    for (size_t i = 0; i < x->npmaps; i++) {
        struct an_pmap *m = &x->pmaps[i];
        an_conn *c = m->c, *k = c->is_join ? c->parent : c;
        int side = m->dir;
        if (k && c->is_join) {
            int b = k->have_key[1] && k->token[1] == c->join_token ? 1 : 0;
            side = m->dir == 0 ? !b : b;
        }
        if (!k || !k->have_key[side]) {
            c->csum_unchecked++;
            continue;
        }
        csum_verdict(c, key_version(k), m->pkt, m->t,
                     widen_dsn(k->key[side], key_version(k), m->dsn), m->ssn, m->dll, m->csum,
                     &m->payload);
    }
    x->npmaps = 0;
}

static void mptcp_option(an_ctx *x, an_conn *c, int dir, const mpx_pkt *p, const mpx_tcpopt *o)
{
    const uint8_t *raw = p->opt + o->off;
    mpx_mptcp_opt m;
    mpx_err e;
    mpx_err_clear(&e);
    if (o->len >= 3 && (raw[2] >> 4) == x->mpconv_subtype) {
        /* experimental plain-mode options: MP_PREFER_PROXY is 4 bytes, MP_CONVERT longer */
        if (o->len == 4) {
            mpx_prefer_proxy pp;
            if (mpx_prefer_proxy_decode(raw, o->len, x->mpconv_subtype, &pp, &e) == 0 &&
                (p->flags & TH_SYN) && !(p->flags & TH_ACK))
                c->syn_prefer_proxy = true;
        } else {
            mpx_mpconvert mc;
            if (mpx_mpconvert_decode(raw, o->len, x->mpconv_subtype, MPX_MPCONV_L09, &mc, &e) == 0) {
                if ((p->flags & TH_SYN) && !(p->flags & TH_ACK)) {
                    c->syn_mpconvert_opt = true;
                    if (mc.family && !mc.d && !c->target[0]) {
                        mpx_addr a = mc.family == 4 ? mpx_addr_v4b(mc.addr, mc.has_port ? mc.port : c->sport)
                                                    : mpx_addr_v6(mc.addr, mc.has_port ? mc.port : c->sport);
                        mpx_addr_format(&a, true, c->target, sizeof c->target);
                        c->target_af = a.family; memcpy(c->target_ip, a.a, 16); c->target_port = a.port;
                    }
                }
            } else {
                an_violation(c, e.rule, p->num, p->t_us, "MP_CONVERT option: %s", e.msg);
            }
        }
        return;
    }
    mpx_mpctx ctx = mpx_mpctx_from_flags(p->flags);
    if (mpx_mptcp_decode(raw, o->len, ctx, &m, &e) != 0) return;   /* reported by the checker */
    bool syn = p->flags & TH_SYN, ack = p->flags & TH_ACK;
    switch (m.subtype) {
    case MPX_MP_CAPABLE:
        if (syn && !ack) {
            c->syn_mpc = true; c->mpc_version = m.u.mpc.version; c->mpc_flags_syn = m.u.mpc.flags;
            if (m.u.mpc.has_snd_key) { c->have_key[0] = true; c->key[0] = m.u.mpc.snd_key; }
        } else if (syn && ack) {
            c->synack_mpc = true; c->mpc_flags_synack = m.u.mpc.flags;
            if (c->mpc_version < 0) c->mpc_version = m.u.mpc.version;
            if (m.u.mpc.has_snd_key) {
                if (c->have_key[1] && c->key[1] != m.u.mpc.snd_key)
                    an_violation(c, "AN-MPC-KEY-CHANGE", p->num, p->t_us,
                                 "SYN/ACK MP_CAPABLE key %016" PRIx64 " differs from the earlier %016" PRIx64,
                                 m.u.mpc.snd_key, c->key[1]);
                c->have_key[1] = true; c->key[1] = m.u.mpc.snd_key;
            }
        } else {
            if (dir == 0 && !c->ack_mpc && c->saw_synack) c->ack_mpc = true;
            if (c->mpc_version < 0) c->mpc_version = m.u.mpc.version;
            /* ACK forms carry sender's and receiver's keys (RFC 8684 3.1) */
            int s = dir, r = !dir;
            if (m.u.mpc.has_snd_key) {
                if (c->have_key[s] && c->key[s] != m.u.mpc.snd_key)
                    an_violation(c, "AN-MPC-KEY-ECHO", p->num, p->t_us,
                                 "MP_CAPABLE sender key %016" PRIx64 " differs from the key seen before (%016" PRIx64 ")",
                                 m.u.mpc.snd_key, c->key[s]);
                else { c->have_key[s] = true; c->key[s] = m.u.mpc.snd_key; }
            }
            if (m.u.mpc.has_rcv_key) {
                if (c->have_key[r] && c->key[r] != m.u.mpc.rcv_key)
                    an_violation(c, "AN-MPC-KEY-ECHO", p->num, p->t_us,
                                 "MP_CAPABLE echoes receiver key %016" PRIx64 " but the SYN/ACK carried %016" PRIx64 " (RFC 8684 3.1)",
                                 m.u.mpc.rcv_key, c->key[r]);
                else if (!c->have_key[r]) { c->have_key[r] = true; c->key[r] = m.u.mpc.rcv_key; }
            }
            if (m.u.mpc.has_dll) {
                c->any_dss = true; c->dss_after_hs = true;
                /* MP_CAPABLE with data maps the first byte: DSN = IDSN + 1, SSN 1 (RFC 8684 3.1) */
                if (m.u.mpc.has_csum && m.u.mpc.has_snd_key)
                    check_csum(x, c, dir, p, true,
                               mpx_mptcp_idsn(m.u.mpc.snd_key, m.u.mpc.version) + 1, 1, m.u.mpc.dll,
                               m.u.mpc.csum);
                if (!c->map1[dir].have && m.u.mpc.has_snd_key) {
                    c->map1[dir].have = true; c->map1[dir].dsn64 = true;
                    c->map1[dir].dsn = mpx_mptcp_idsn(m.u.mpc.snd_key, m.u.mpc.version) + 1;
                    c->map1[dir].ssn = 1; c->map1[dir].pkt = p->num; c->map1[dir].t = p->t_us;
                }
            }
        }
        break;
    case MPX_MP_JOIN:
        if (syn && !ack && m.u.mpj.form == MPX_MPJ_SYN) {
            if (p->data_len)
                an_violation(c, "AN-MPJ-SYN-DATA", p->num, p->t_us,
                             "MP_JOIN SYN carries %u data bytes: no mapping can cover them (RFC 8684 3.2, App. B)",
                             p->data_len);
            c->is_join = true; c->join_token = m.u.mpj.token; c->join_nonce[0] = m.u.mpj.nonce;
            c->join_addr_id[0] = m.u.mpj.addr_id; c->join_backup = m.u.mpj.backup;
        } else if (syn && ack && m.u.mpj.form == MPX_MPJ_SYNACK) {
            c->join_synack = m.u.mpj; c->have_join_synack = true; c->pkt_join_synack = p->num;
            c->join_nonce[1] = m.u.mpj.nonce; c->join_addr_id[1] = m.u.mpj.addr_id;
        } else if (!syn && m.u.mpj.form == MPX_MPJ_ACK && !c->have_join_ack) {
            c->join_ack = m.u.mpj; c->have_join_ack = true; c->pkt_join_ack = p->num;
        }
        break;
    case MPX_MP_DSS:
        c->any_dss = true;
        if (!syn) c->dss_after_hs = true;
        if (m.u.dss.has_map && m.u.dss.dll != 0) c->dss_maps++;
        if (m.u.dss.has_map && m.u.dss.has_csum && m.u.dss.dll != 0 && !(m.u.dss.fin && p->data_len == 0))
            check_csum(x, c, dir, p, m.u.dss.dsn64, m.u.dss.dsn, m.u.dss.ssn, m.u.dss.dll,
                       m.u.dss.csum);
        if (m.u.dss.has_map && m.u.dss.ssn != 0 && m.u.dss.dll != 0 && !c->map1[dir].have) {
            c->map1[dir].have = true; c->map1[dir].dsn64 = m.u.dss.dsn64; c->map1[dir].dsn = m.u.dss.dsn;
            c->map1[dir].ssn = m.u.dss.ssn; c->map1[dir].pkt = p->num; c->map1[dir].t = p->t_us;
        }
        if (m.u.dss.has_map && m.u.dss.dll == 0 && !m.u.dss.fin && !c->infinite_mapping) {
            c->infinite_mapping = true; c->pkt_infinite = p->num;
        }
        break;
    case MPX_MP_ADD_ADDR:
        if (m.u.add_addr.echo) c->add_addr_echo++;
        else c->add_addr++;
        if (m.u.add_addr.has_hmac && c->npend_aa < 8) {
            c->pend_aa[c->npend_aa].a = m.u.add_addr;
            c->pend_aa[c->npend_aa].dir = (uint8_t)dir;
            c->pend_aa[c->npend_aa].pkt = p->num;
            c->pend_aa[c->npend_aa].t = p->t_us;
            c->npend_aa++;
        }
        break;
    case MPX_MP_REMOVE_ADDR: c->rm_addr++; break;
    case MPX_MP_PRIO: c->mp_prio++; break;
    case MPX_MP_FAIL: c->mp_fail = true; break;
    case MPX_MP_FASTCLOSE: c->mp_fastclose = true; break;
    case MPX_MP_TCPRST: c->mp_tcprst = true; c->tcprst_reason = m.u.tcprst.reason; break;
    default: break;
    }
}

/* How much of a snaplen-cut option area can be judged: every option the capture holds whole.
 * An option whose length byte runs past the area on the wire is a fault whatever the cut (the
 * checker reports it on the captured bytes); one that would fit the wire area but is cut by the
 * snaplen is not judged, nor is anything after it. Sets *cut when the area is cut. */
static size_t judge_len(const mpx_pkt *p, bool *cut)
{
    *cut = p->opt_len < p->opt_len_wire;
    if (!*cut) return p->opt_len;
    const uint8_t *o = p->opt;
    size_t i = 0, n = p->opt_len;
    while (i < n) {
        if (o[i] == MPX_TCPOPT_EOL) return n; /* padding follows: judge what was captured */
        if (o[i] == MPX_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= n) return i; /* the length byte itself was cut */
        size_t len = o[i + 1];
        if (len < 2 || i + len > p->opt_len_wire) return n; /* a fault inside the captured bytes */
        if (i + len > n) return i;
        i += len;
    }
    return n;
}

/* --packets: the decode of one segment, for the tshark / tcpdump cross-checks. */
static void print_packet(an_ctx *x, const an_conn *c, int dir, const mpx_pkt *p,
                         const mpx_tcpopts *w, bool cut)
{
    FILE *o = x->pkt_out;
    char txt[1024];
    txt[0] = 0;
    if (w) mpx_tcpopts_format(w, p->flags, txt, sizeof txt);
    fprintf(o, "{\"pcap\":%d,\"pkt\":%" PRIu64 ",\"conn\":%zu,\"dir\":%d,\"flags\":%u,\"seq\":%" PRIu32
               ",\"ack\":%" PRIu32 ",\"len\":%" PRIu32 ",\"opt_bytes\":%zu,\"trunc\":%s,\"ra\":%s,\"opts\":\"",
            c->file_idx, p->num, c->id, dir, p->flags, p->seq, p->ack, p->data_len, p->opt_len_wire,
            p->truncated ? "true" : "false", p->ip_router_alert ? "true" : "false");
    for (const char *s = txt; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', o);
        if ((unsigned char)*s >= 0x20) fputc(*s, o);
    }
    fputs("\",\"mptcp\":[", o);
    bool first = true;
    char keys[256] = "";
    size_t kn = 0;
    for (size_t i = 0; w && i < w->n; i++) {
        const mpx_tcpopt *t = &w->opt[i];
        if (t->kind == MPX_TCPOPT_MPTCP && t->len >= 3 && !t->len_rule) {
            const uint8_t *raw = p->opt + t->off;
            fprintf(o, "%s%u", first ? "" : ",", (unsigned)(raw[2] >> 4));
            first = false;
            mpx_mptcp_opt m;
            mpx_err e;
            mpx_err_clear(&e);
            if (mpx_mptcp_decode(raw, t->len, mpx_mpctx_from_flags(p->flags), &m, &e) == 0) {
                if (m.subtype == MPX_MP_CAPABLE) {
                    if (m.u.mpc.has_snd_key && kn < sizeof keys)
                        kn += (size_t)snprintf(keys + kn, sizeof keys - kn, ",\"sendkey\":\"%016" PRIx64 "\"", m.u.mpc.snd_key);
                    if (m.u.mpc.has_rcv_key && kn < sizeof keys)
                        kn += (size_t)snprintf(keys + kn, sizeof keys - kn, ",\"recvkey\":\"%016" PRIx64 "\"", m.u.mpc.rcv_key);
                } else if (m.subtype == MPX_MP_JOIN && m.u.mpj.form == MPX_MPJ_SYN && kn < sizeof keys) {
                    kn += (size_t)snprintf(keys + kn, sizeof keys - kn, ",\"recvtok\":\"%08" PRIx32 "\"", m.u.mpj.token);
                } else if (m.subtype == MPX_MP_TCPRST && kn < sizeof keys) {
                    kn += (size_t)snprintf(keys + kn, sizeof keys - kn, ",\"rst_reason\":%u", m.u.tcprst.reason);
                }
            }
        }
    }
    fputc(']', o);
    fputs(keys, o);
    for (size_t i = 0; w && i < w->n; i++) {
        const mpx_tcpopt *t = &w->opt[i];
        bool tfo = t->kind == MPX_TCPOPT_TFO || (t->has_exid && t->exid == MPX_TCPOPT_EXID_TFO);
        if (!tfo || t->len_rule) continue;
        char hx[40];
        mpx_hex_format(t->u.tfo.cookie, t->u.tfo.n, hx);
        fprintf(o, ",\"tfo_req\":%s,\"tfo_cookie\":\"%s\"", t->u.tfo.request ? "true" : "false", hx);
        break;
    }
    if (cut) fprintf(o, ",\"opt_cut_at\":%zu", p->opt_len);
    fputs("}\n", o);
}

static void options(an_ctx *x, an_conn *c, int dir, const mpx_pkt *p)
{
    bool syn = p->flags & TH_SYN, ack = p->flags & TH_ACK;
    if (syn && !ack && c->syn_opt_bytes < 0) c->syn_opt_bytes = (int)p->opt_len_wire;
    if (syn && ack && c->synack_opt_bytes < 0) c->synack_opt_bytes = (int)p->opt_len_wire;
    if (p->opt_len_wire == 0) {
        if (x->pkt_out) print_packet(x, c, dir, p, NULL, false);
        return;
    }

    bool cut;
    size_t jl = judge_len(p, &cut);
    if (cut) {
        if (!c->opt_cut++) {
            c->opt_cut_pkt = p->num;
            c->opt_cut_at = p->opt_len;
            c->opt_cut_wire = p->opt_len_wire;
        }
    }
    mpx_tcpopts w;
    mpx_tcpopt_walk(p->opt, p->opt_len, &w);
    if (x->pkt_out) print_packet(x, c, dir, p, &w, cut);
    bool have_exp = false;
    for (size_t i = 0; i < w.n; i++) {
        const mpx_tcpopt *o = &w.opt[i];
        if (o->len_rule) continue;
        switch (o->kind) {
        case MPX_TCPOPT_TS:
            if (syn && !ack) c->syn_ts = true;
            else if (syn && ack) c->synack_ts = true;
            break;
        case MPX_TCPOPT_MSS: if (syn && !ack) c->syn_mss = true; else if (syn) c->synack_mss = true; break;
        case MPX_TCPOPT_WS: if (syn && !ack) c->syn_ws = true; else if (syn) c->synack_ws = true; break;
        case MPX_TCPOPT_SACKPERM: if (syn && !ack) c->syn_sackok = true; else if (syn) c->synack_sackok = true; break;
        case MPX_TCPOPT_TFO:
            an_tfo_option(c, dir, p->flags, p, false, o->u.tfo.request, o->u.tfo.n, o->u.tfo.cookie);
            break;
        case MPX_TCPOPT_EXP2: case MPX_TCPOPT_EXP1:
            if (o->has_exid && o->exid == MPX_TCPOPT_EXID_TFO)
                an_tfo_option(c, dir, p->flags, p, true, o->u.tfo.request, o->u.tfo.n, o->u.tfo.cookie);
            break;
        case MPX_TCPOPT_MPTCP:
            if (o->len >= 3 && (p->opt[o->off + 2] >> 4) == x->mpconv_subtype) have_exp = true;
            mptcp_option(x, c, dir, p, o);
            break;
        default: break;
        }
    }
    mpx_viols vs;
    mpx_viols_clear(&vs);
    mpx_tcpopt_check(p->opt, jl, p->flags, &vs);
    for (size_t i = 0; i < vs.n; i++) {
        /* our experimental subtype is claimed by mpopt.h above */
        if (have_exp && !strcmp(vs.v[i].rule, "MPTCP-UNKNOWN")) continue;
        /* the wire area is 4-byte aligned by construction (data offset); a cut one is not */
        if (cut && !strcmp(vs.v[i].rule, "TCPOPT-AREA-ALIGN")) continue;
        if (cut)
            an_violation(c, vs.v[i].rule, p->num, p->t_us,
                         "%s (option byte %zu; capture cut at %zu of %zu option bytes)",
                         vs.v[i].msg, vs.v[i].off, p->opt_len, p->opt_len_wire);
        else
            an_violation(c, vs.v[i].rule, p->num, p->t_us, "%s (option byte %zu)", vs.v[i].msg,
                         vs.v[i].off);
    }
    if (vs.dropped)
        an_violation(c, "AN-MANY-VIOLATIONS", p->num, p->t_us, "%zu more violations in this option area", vs.dropped);
}

void an_packet(an_ctx *x, int file, const mpx_pkt *p)
{
    int dir;
    an_conn *c = an_lookup(&x->t, file, p, &dir);
    x->tcp_pkts++;
    /* tcpdump -i any on a forwarding node sees a routed segment twice (in and out, TTL one
     * lower the second time): count the copy once. The copy is matched against the last few
     * frames, not only the previous one: on a busy forwarder other frames of the connection
     * come in between; the window is 10 ms (a retransmission keeps its TTL, so it never matches) */
    if (x->dedup) {
        size_t n = sizeof c->recent / sizeof c->recent[0];
        for (size_t i = 0; i < n; i++) {
            an_recent *r = &c->recent[i];
            if (r->set && r->dir == dir && r->seq == p->seq && r->ack == p->ack &&
                r->len == p->data_len && r->flags == p->flags && r->win == p->win &&
                r->ttl == (uint8_t)(p->ttl + 1) && an_dt(p->t_us, r->t) >= 0 &&
                an_dt(p->t_us, r->t) < 10000) {
                r->set = false; /* one copy per original */
                c->dup_frames++;
                x->dup_frames++;
                return;
            }
        }
        an_recent *r = &c->recent[c->recent_next++ % n];
        r->set = true; r->dir = (uint8_t)dir; r->seq = p->seq; r->ack = p->ack;
        r->len = p->data_len; r->flags = p->flags; r->win = p->win; r->ttl = p->ttl;
        r->t = p->t_us;
    }
    c->pkts++;
    c->t_last = p->t_us;
    c->d[dir].pkts++;
    if (p->truncated) { c->truncated++; x->truncated++; }
    if (x->check_csum && p->ip_csum == 0)
        an_violation(c, "IP-CSUM", p->num, p->t_us, "IPv4 header checksum is wrong (RFC 791 3.1)");
    if (x->check_csum && p->tcp_csum == 0)
        an_violation(c, "TCP-CSUM", p->num, p->t_us, "TCP checksum is wrong (RFC 9293 3.1)");
    add_event(c, dir, p);
    bool syn = p->flags & TH_SYN, ack = p->flags & TH_ACK;
    if (syn && !ack && dir == 0) {
        c->syn_count++;
        if (!c->saw_syn) {
            c->saw_syn = true; c->t_syn = p->t_us; c->pkt_syn = p->num;
            c->ip_router_alert = p->ip_router_alert;
        }
    } else if (syn && ack && dir == 1) {
        c->synack_count++;
        if (!c->saw_synack) { c->saw_synack = true; c->t_synack = p->t_us; c->pkt_synack = p->num; }
    } else if (!syn && ack && dir == 0 && c->saw_synack && !c->saw_ack) {
        c->saw_ack = true; c->t_ack = p->t_us; c->pkt_ack = p->num;
    }
    if (p->flags & TH_FIN) {
        c->saw_fin = true;
        if (c->t_fin[dir] == AN_NONE) c->t_fin[dir] = p->t_us;
    }
    if (p->flags & TH_RST) {
        c->saw_rst = true;
        if (c->t_rst == AN_NONE) c->t_rst = p->t_us;
    }
    bool had_mpc = c->syn_mpc, had_tfo = c->cookie_req || c->cookie_used;
    options(x, c, dir, p);
    if (syn && c->nsyns < 8) {
        /* options() updated the flags; this SYN's own MP_CAPABLE / TFO presence is what changed
         * (first SYN) or, for retransmissions, what its option area holds */
        bool mpc = false, tfo = false;
        mpx_tcpopts w;
        if (p->opt_len) {
            mpx_tcpopt_walk(p->opt, p->opt_len, &w);
            for (size_t i = 0; i < w.n; i++) {
                if (w.opt[i].len_rule) continue;
                if (w.opt[i].kind == MPX_TCPOPT_MPTCP && w.opt[i].len >= 3 && (p->opt[w.opt[i].off + 2] >> 4) == MPX_MP_CAPABLE) mpc = true;
                if (w.opt[i].kind == MPX_TCPOPT_TFO || (w.opt[i].has_exid && w.opt[i].exid == MPX_TCPOPT_EXID_TFO)) tfo = true;
            }
        }
        c->syns[c->nsyns].pkt = p->num; c->syns[c->nsyns].t = p->t_us; c->syns[c->nsyns].dir = (uint8_t)dir;
        c->syns[c->nsyns].opt_bytes = (uint8_t)p->opt_len_wire; c->syns[c->nsyns].mpc = mpc;
        c->syns[c->nsyns].tfo = tfo; c->syns[c->nsyns].data_len = p->data_len;
        c->nsyns++;
        /* Linux retransmits an MPTCP SYN without MP_CAPABLE after a few losses (and a TFO
         * SYN without the cookie): the connection then falls back */
        if (!ack && c->syn_count > 1 && had_mpc && !mpc) c->syn_retx_no_mpc = true;
        (void)had_tfo;
    }
    an_tfo_segment(c, dir, p);
    track_data(c, dir, p);
}

/* ---- connection-level passes ---------------------------------------------------- */

/* Linux layout (proto/budget.h) of the options a SYN or SYN/ACK carried plus the one that
 * is missing: says whether Linux would have dropped it for lack of space. */
static bool budget_drops(an_conn *c, mpx_budget_seg seg, bool mss, bool sackperm, bool ts, bool ws,
                         int tfo_len, bool tfo_exp, bool mpc_len12, mpx_budget_kind missing)
{
    mpx_budget_item it[8];
    size_t n = 0;
    if (mss) it[n++] = (mpx_budget_item){ MPX_BI_MSS, 0 };
    if (sackperm) it[n++] = (mpx_budget_item){ MPX_BI_SACKPERM, 0 };
    if (ts || missing == MPX_BI_TS) it[n++] = (mpx_budget_item){ MPX_BI_TS, 0 };
    if (ws) it[n++] = (mpx_budget_item){ MPX_BI_WS, 0 };
    if (tfo_len >= 0) it[n++] = (mpx_budget_item){ tfo_exp ? MPX_BI_TFO_EXP : MPX_BI_TFO, (unsigned)tfo_len };
    it[n++] = (mpx_budget_item){ MPX_BI_MPC, 0 };
    (void)mpc_len12;
    mpx_budget b;
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_budget_compute(seg, it, n, &b, &e) != 0) return false;
    for (size_t i = 0; i < b.n; i++) {
        if (b.line[i].item.kind != missing || !b.line[i].dropped) continue;
        int k = snprintf(c->space_note, sizeof c->space_note, "Linux %s layout of ", seg == MPX_SEG_SYN ? "SYN" : "SYN/ACK");
        for (size_t j = 0; j < b.n && k < (int)sizeof c->space_note; j++)
            k += snprintf(c->space_note + k, sizeof c->space_note - (size_t)k, "%s%s", j ? "," : "", b.line[j].name);
        if (k < (int)sizeof c->space_note)
            snprintf(c->space_note + k, sizeof c->space_note - (size_t)k, " needs %u B: %s dropped (%s)",
                     b.requested, b.line[i].name, b.line[i].drop_reason ? b.line[i].drop_reason : "no-room");
        return true;
    }
    return false;
}

static void budget_check(an_conn *c)
{
    /* Would MP_CAPABLE have fitted next to what the SYN carried? (protocols.md 5.2/5.3) */
    int tfo_syn = c->cookie_used ? c->cookie_len_used : c->cookie_req ? 0 : -1;
    if (c->saw_syn && !c->syn_mpc && c->syn_opt_bytes >= 0 && c->syn_opt_bytes + 4 > 40) {
        c->mpc_dropped = true;
        budget_drops(c, MPX_SEG_SYN, c->syn_mss, c->syn_sackok, c->syn_ts, c->syn_ws, tfo_syn, c->tfo_exp, false, MPX_BI_MPC);
    }
    if (c->saw_synack && c->syn_mpc && !c->synack_mpc && c->synack_opt_bytes >= 0 &&
        c->synack_opt_bytes + 12 > 40) {
        c->mpc_dropped = true;
        budget_drops(c, MPX_SEG_SYNACK, c->synack_mss, c->synack_sackok, c->synack_ts, c->synack_ws,
                     c->cookie_granted ? c->cookie_len_granted : -1, c->tfo_exp, true, MPX_BI_MPC);
    }
    /* RFC 8684 B.1 / Linux subflow_prep_synack(): TS cleared when a cookie is sent */
    if (c->syn_ts && c->saw_synack && !c->synack_ts && c->cookie_granted) {
        c->ts_dropped = true;
        if (!c->space_note[0])
            budget_drops(c, MPX_SEG_SYNACK, c->synack_mss, c->synack_sackok, false, c->synack_ws,
                         c->cookie_len_granted, c->tfo_exp, true, MPX_BI_TS);
    }
}

static void mptcp_state(an_conn *c, bool client_did_mptcp)
{
    c->mptcp = AN_TCP;
    c->fallback_cause[0] = 0;
    if (c->is_join) { c->mptcp = AN_MPTCP; return; }
    if (c->syn_mpc) {
        if (c->syn_retx_no_mpc && !c->synack_mpc) {
            c->mptcp = AN_FALLBACK;
            snprintf(c->fallback_cause, sizeof c->fallback_cause,
                     "SYN retransmitted without MP_CAPABLE (no SYN/ACK to the MPTCP SYNs)");
            return;
        }
        if (c->saw_synack && !c->synack_mpc) {
            c->mptcp = AN_FALLBACK;
            if (c->mpc_dropped)
                snprintf(c->fallback_cause, sizeof c->fallback_cause,
                         "option space exhausted: no MP_CAPABLE in SYN/ACK (its options take %d B, MP_CAPABLE needs 12)",
                         c->synack_opt_bytes);
            else
                snprintf(c->fallback_cause, sizeof c->fallback_cause, "no MP_CAPABLE in SYN/ACK");
            return;
        }
        if (!c->saw_synack) { c->mptcp = c->synack_mpc ? AN_MPTCP : AN_MPTCP; return; }
        c->mptcp = AN_MPTCP;
        if (c->saw_ack && !c->ack_mpc && !c->dss_after_hs) {
            c->mptcp = AN_FALLBACK;
            snprintf(c->fallback_cause, sizeof c->fallback_cause,
                     "option stripped on path: no MP_CAPABLE on the third ACK (RFC 8684 3.1)");
            return;
        }
        bool data = c->d[0].bytes > c->syn_data_len || c->d[1].bytes > 0;
        if (data && !c->dss_after_hs) {
            c->mptcp = AN_FALLBACK;
            snprintf(c->fallback_cause, sizeof c->fallback_cause,
                     "option stripped on path: data without any DSS option (RFC 8684 3.7)");
            return;
        }
        if (c->infinite_mapping) {
            c->mptcp = AN_FALLBACK;
            snprintf(c->fallback_cause, sizeof c->fallback_cause,
                     "DSS infinite mapping at packet %" PRIu64 " (RFC 8684 3.7)", c->pkt_infinite);
        }
        return;
    }
    if (c->synack_mpc && !c->saw_syn) { c->mptcp = AN_MPTCP; return; }
    if (c->any_dss) { c->mptcp = AN_MPTCP; return; }   /* mid-stream MPTCP */
    /* no MP_CAPABLE in the SYN: fallen back only if MPTCP was evidently meant and the SYN
     * had no room left for it (TFO option and a full area) */
    bool meant = client_did_mptcp || an_wire_mptcp_syn(c->wire);
    if (c->mpc_dropped && meant && (c->cookie_req || c->cookie_used)) {
        c->mptcp = AN_FALLBACK;
        snprintf(c->fallback_cause, sizeof c->fallback_cause,
                 "option space exhausted: SYN options at %d B with TFO, no room for MP_CAPABLE (4 B)",
                 c->syn_opt_bytes);
    }
}

/* token -> initial subflow, open addressing (tokens are uniformly distributed) */
typedef struct { uint32_t tok; int side; an_conn *c; } tokent;

static an_conn *find_parent(const tokent *tt, size_t tsz, const an_conn *j, int *server_side)
{
    if (!tsz) return NULL;
    for (size_t i = j->join_token % tsz, n = 0; tt[i].c && n < tsz; i = (i + 1) % tsz, n++)
        if (tt[i].tok == j->join_token && tt[i].c != j) { *server_side = tt[i].side; return tt[i].c; }
    return NULL;
}

static void verify_joins(an_ctx *x)
{
    for (an_conn *c = x->t.head; c; c = c->next)
        for (int s = 0; s < 2; s++)
            if (c->have_key[s]) c->token[s] = mpx_mptcp_token(c->key[s], c->mpc_version == 0 ? 0 : 1);
    size_t nk = 0;
    for (an_conn *c = x->t.head; c; c = c->next) nk += !c->is_join && (c->have_key[0] || c->have_key[1]);
    size_t tsz = nk ? nk * 4 + 1 : 0;
    tokent *tt = tsz ? calloc(tsz, sizeof *tt) : NULL;
    if (!tt) tsz = 0;
    for (an_conn *c = x->t.head; c && tsz; c = c->next) {
        if (c->is_join) continue;
        for (int s = 0; s < 2; s++) {
            if (!c->have_key[s]) continue;
            size_t i = c->token[s] % tsz;
            while (tt[i].c) i = (i + 1) % tsz;
            tt[i] = (tokent){ c->token[s], s, c };
        }
    }
    for (an_conn *j = x->t.head; j; j = j->next) {
        if (!j->is_join) continue;
        int s;
        an_conn *p = find_parent(tt, tsz, j, &s);
        if (!p) continue;
        j->parent = p;
        p->nsubflows++;
        /* append, keeping capture order */
        an_conn **pp = &p->joins;
        while (*pp) pp = &(*pp)->next_join;
        *pp = j;
        /* the join SYN goes to the host whose token it carries: B = parent side s */
        if (!p->have_key[0] || !p->have_key[1]) continue;
        uint64_t kB = p->key[s], kA = p->key[!s];
        int ver = p->mpc_version == 0 ? 0 : 1;
        j->join_hmac_state = 0;
        if (j->have_join_synack) {
            bool ok = mpx_mptcp_join_verify(ver, &j->join_synack, kB, kA, j->join_nonce[1], j->join_nonce[0]);
            j->join_hmac_state = ok ? 1 : -1;
            if (!ok) an_violation(j, "MPJ-HMAC", j->pkt_join_synack, j->t_synack,
                                  "MP_JOIN SYN/ACK truncated HMAC does not match HMAC(Key-B||Key-A, R-B||R-A) (RFC 8684 3.2)");
        }
        if (j->have_join_ack) {
            bool ok = mpx_mptcp_join_verify(ver, &j->join_ack, kA, kB, j->join_nonce[0], j->join_nonce[1]);
            if (!ok) {
                j->join_hmac_state = -1;
                an_violation(j, "MPJ-HMAC", j->pkt_join_ack, j->t_ack,
                             "MP_JOIN third-ACK HMAC does not match HMAC(Key-A||Key-B, R-A||R-B) (RFC 8684 3.2)");
            } else if (j->join_hmac_state == 0) j->join_hmac_state = 1;
        }
    }
    free(tt);
    /* ADD_ADDR HMACs: key1 = sender's key (RFC 8684 3.4.1) */
    for (an_conn *c = x->t.head; c; c = c->next) {
        const an_conn *k = c->is_join ? c->parent : c;
        for (int i = 0; i < c->npend_aa; i++) {
            if (!k || !k->have_key[0] || !k->have_key[1]) break;
            int sd = c->pend_aa[i].dir;
            if (c->is_join && k) {
                /* map the join subflow's direction onto the parent's sides via the token */
                int s = 0;
                if (k->token[1] == c->join_token) s = 1;
                /* join client is A (parent side !s) */
                sd = c->pend_aa[i].dir == 0 ? !s : s;
            }
            uint64_t h = mpx_mptcp_add_addr_hmac(k->key[sd], k->key[!sd], &c->pend_aa[i].a);
            if (h == c->pend_aa[i].a.hmac) c->add_addr_hmac_ok++;
            else {
                c->add_addr_hmac_bad++;
                an_violation(c, "ADD-ADDR-HMAC", c->pend_aa[i].pkt, c->pend_aa[i].t,
                             "ADD_ADDR id %u truncated HMAC %016" PRIx64 " != expected %016" PRIx64 " (RFC 8684 3.4.1)",
                             c->pend_aa[i].a.addr_id, c->pend_aa[i].a.hmac, h);
            }
        }
    }
}

/* The first DSS mapping of each direction must start the data sequence space at the
 * sender's IDSN: DSN - SSN == IDSN (RFC 8684 3.1: the SYN occupies IDSN, the first data
 * byte is IDSN + 1 with SSN 1; TFO data in the SYN lies outside both, App. B.2). */
static void check_idsn(an_conn *c)
{
    if (c->is_join || c->mpc_version < 0) return;
    for (int d = 0; d < 2; d++) {
        if (!c->map1[d].have || !c->have_key[d]) continue;
        uint64_t idsn = mpx_mptcp_idsn(c->key[d], key_version(c));
        uint64_t base = c->map1[d].dsn - c->map1[d].ssn;
        bool ok = c->map1[d].dsn64 ? base == idsn : (uint32_t)base == (uint32_t)idsn;
        if (!ok)
            an_violation(c, "AN-DSS-IDSN", c->map1[d].pkt, c->map1[d].t,
                         "first mapping from the %s: DSN %" PRIu64 " - SSN %" PRIu32
                         " != IDSN %" PRIu64 " of its key (%s 3.1, 3.3)",
                         d ? "server" : "client", c->map1[d].dsn, c->map1[d].ssn, idsn,
                         key_version(c) ? "RFC 8684" : "RFC 6824");
    }
}

void an_finish(an_ctx *x)
{
    verify_joins(x);
    finish_pmaps(x);
    for (an_conn *c = x->t.head; c; c = c->next) check_idsn(c);
    for (an_conn *c = x->t.head; c; c = c->next) {
        an_tfo_finish(c);
        budget_check(c);
        an_signal_finish(x, c);
    }
    for (an_conn *c = x->t.head; c; c = c->next) {
        /* "did this client do MPTCP elsewhere" only matters for a SYN without room for
         * MP_CAPABLE, so the quadratic search runs for those few only */
        bool client_mptcp = false;
        if (c->mpc_dropped && !c->syn_mpc)
            for (an_conn *o = x->t.head; o && !client_mptcp; o = o->next)
                if (o != c && o->syn_mpc && o->af == c->af && !memcmp(o->cli, c->cli, 16)) client_mptcp = true;
        mptcp_state(c, client_mptcp);
        an_timeline_finish(c);
    }
    an_join_captures(x);
}
