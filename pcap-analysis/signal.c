/* Signals in the SYN payload and the first bytes of each direction: RFC 8803 Convert (and the
 * converter's reply in the SYN/ACK or the first data segment), MP_CONVERT -09 / -10 IE,
 * SOCKSv5 (RFC 1928/1929), plain data. proto/sniff picks the class (one of the registry's
 * wire classes); every decode is proto's; rule IDs are proto's. */
#include "pcap-analysis/analyze.h"
#include "proto/convert.h"
#include "proto/mpconvert.h"
#include "proto/sniff.h"
#include "proto/socks5.h"
#include <inttypes.h>
#include <string.h>

/* Frame and time of the segment that carried stream offset `off` of direction d. */
static void locate(const an_conn *c, int d, size_t off, uint64_t *pkt, int64_t *t)
{
    for (size_t i = 0; i < c->d[d].nsegs; i++) {
        const an_seg *s = &c->d[d].segs[i];
        if (s->off <= off && off < s->end) { *pkt = s->pkt; *t = s->t_us; return; }
    }
    *pkt = c->pkt_syn; *t = c->t_syn != AN_NONE ? c->t_syn : c->t_first;
}

/* Whether the capture holds the whole stream of direction d (needed to call a short
 * message truncated rather than "not captured"). */
static bool complete(const an_conn *c, int d)
{
    return c->d[d].max_end <= c->d[d].head_len && c->truncated == 0 && (c->saw_fin || c->saw_rst);
}

static void set_target(an_conn *c, const mpx_addr *a)
{
    mpx_addr_format(a, true, c->target, sizeof c->target);
    c->target_af = a->family;
    memcpy(c->target_ip, a->a, 16);
    c->target_port = a->port;
}

static void viol_err(an_conn *c, int d, const mpx_err *e, size_t base, const char *what)
{
    uint64_t pkt; int64_t t;
    locate(c, d, base + e->off, &pkt, &t);
    an_violation(c, e->rule ? e->rule : "AN-DECODE", pkt, t, "%s: %s", what, e->msg);
}

static const char *reply_place(const an_conn *c)
{
    for (size_t i = 0; i < c->d[1].nsegs; i++)
        if (c->d[1].segs[i].off == 0) return c->d[1].segs[i].in_syn ? "synack" : "first-data";
    return "first-data";
}

static void do_convert(an_conn *c)
{
    const an_dir *u = &c->d[0], *dn = &c->d[1];
    mpx_conv_msg m;
    mpx_err e;
    mpx_err_clear(&e);
    c->wire = MPX_WIRE_CONVERT;
    unsigned fl = MPX_CONV_F_FROM_CLIENT | (complete(c, 0) ? MPX_CONV_F_COMPLETE : 0);
    int rc = mpx_conv_decode(u->head, u->head_len, fl, &m, &e);
    if (rc == MPX_DEC_OK) {
        c->sig_valid = true;
        c->sig_len_c2s = m.data_off;
        int n = snprintf(c->sig_detail, sizeof c->sig_detail, "Convert header valid (version %u, %zu B, magic 0x%04x)",
                         m.version, m.conv_len, MPX_CONV_MAGIC);
        for (unsigned i = 0; i < m.ntlv && n < (int)sizeof c->sig_detail; i++) {
            if (m.tlv[i].type == MPX_CONV_TLV_CONNECT && m.has_connect) {
                set_target(c, &m.connect.addr);
                n += snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, "; %sConnect TLV valid (%u words, %s)",
                              m.connect.extended ? "Extended " : "", m.tlv[i].words, c->target);
            } else {
                n += snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, "; %s TLV valid (%u words)",
                              mpx_conv_tlv_name(m.tlv[i].type), m.tlv[i].words);
            }
        }
        if (!m.has_connect && m.has_info) {
            /* RFC 8803 6.2.3: an Info TLV alone asks which TCP extensions the converter
             * supports (answered with Supported TCP Extensions); no connection is relayed */
            if (n < (int)sizeof c->sig_detail)
                snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n,
                         "; Info-only request for the converter's TCP extensions (RFC 8803 6.2.3)");
        } else if (!m.has_connect) {
            an_violation(c, "AN-CONV-NO-CONNECT", c->pkt_syn, c->t_syn,
                         "client Convert message without Connect TLV (RFC 8803 6.2.5)");
        }
        c->req_in_syn = c->syn_data_len > m.data_off;
        /* RFC 8803 6: Convert messages only in SYN, SYN+ACK or ACK: the whole message
         * belongs in the SYN when the client sent SYN data */
        if (c->syn_data_len && c->syn_data_len < m.data_off)
            an_violation(c, "AN-CONV-SPLIT", c->pkt_syn, c->t_syn,
                         "SYN carries %u of the %zu Convert bytes (RFC 8803 6)", c->syn_data_len, m.data_off);
    } else if (rc == MPX_DEC_MORE) {
        snprintf(c->sig_detail, sizeof c->sig_detail, "Convert message incomplete in the capture (%zu of %zu B)",
                 u->head_len, m.need);
    } else {
        snprintf(c->sig_detail, sizeof c->sig_detail, "invalid Convert message: %s", e.rule);
        viol_err(c, 0, &e, 0, "client Convert message");
    }
    /* the converter's reply: first bytes from the converter */
    if (dn->head_len == 0) {
        if (c->saw_synack && (c->saw_fin || c->saw_rst) && dn->bytes == 0)
            snprintf(c->reply_detail, sizeof c->reply_detail, "no reply bytes from the converter");
        return;
    }
    snprintf(c->reply_where, sizeof c->reply_where, "%s", reply_place(c));
    mpx_conv_msg r;
    mpx_err_clear(&e);
    fl = MPX_CONV_F_FROM_CONVERTER | (complete(c, 1) ? MPX_CONV_F_COMPLETE : 0);
    if (!mpx_sniff_convert(dn->head, dn->head_len, false)) {
        uint64_t pkt; int64_t t;
        locate(c, 1, 0, &pkt, &t);
        an_violation(c, "AN-CONV-NO-REPLY", pkt, t,
                     "first bytes from the converter are not a Convert message (RFC 8803 6: must be the first bytes in each direction)");
        snprintf(c->reply_detail, sizeof c->reply_detail, "no Convert reply (first bytes %02x %02x %02x %02x)",
                 dn->head[0], dn->head_len > 1 ? dn->head[1] : 0, dn->head_len > 2 ? dn->head[2] : 0,
                 dn->head_len > 3 ? dn->head[3] : 0);
        return;
    }
    rc = mpx_conv_decode(dn->head, dn->head_len, fl, &r, &e);
    if (rc == MPX_DEC_OK) {
        c->sig_len_s2c = r.data_off;
        if (r.has_error) c->convert_error = r.error.code;
        if (r.has_error)
            snprintf(c->reply_detail, sizeof c->reply_detail, "Convert reply (%zu B) with Error TLV code %u (%s)",
                     r.conv_len, r.error.code, mpx_conv_error_name(r.error.code));
        else
            snprintf(c->reply_detail, sizeof c->reply_detail, "Convert reply (%zu B)%s%s valid", r.conv_len,
                     r.has_ext_hdr ? ", Extended TCP Header TLV" : "",
                     r.has_supported ? ", Supported TCP Extensions TLV" : "");
    } else if (rc == MPX_DEC_MORE) {
        snprintf(c->reply_detail, sizeof c->reply_detail, "Convert reply incomplete in the capture");
    } else {
        snprintf(c->reply_detail, sizeof c->reply_detail, "invalid Convert reply: %s", e.rule);
        viol_err(c, 1, &e, 0, "converter reply");
    }
}

static void do_mpconvert(an_ctx *x, an_conn *c, bool ie)
{
    const an_dir *u = &c->d[0], *dn = &c->d[1];
    mpx_mpconv_payload m;
    mpx_err e;
    mpx_err_clear(&e);
    c->wire = ie ? MPX_WIRE_MPCONVERT_IE : MPX_WIRE_MPCONVERT;
    unsigned fl = complete(c, 0) ? MPX_MPCONV_F_COMPLETE : 0;
    int rc = ie ? mpx_mpconv_decode_ie(u->head, u->head_len, fl, &m, &e)
                : mpx_mpconv_decode_09(u->head, u->head_len, fl, x->mpconv_subtype, &m, &e);
    if (rc == MPX_DEC_OK) {
        c->sig_valid = true;
        c->sig_len_c2s = m.data_off;
        int n = snprintf(c->sig_detail, sizeof c->sig_detail, "MP_CONVERT %s, %u instance(s), %zu B",
                         ie ? "-10 Information Element" : "-09 option + EOL", m.n, m.data_off);
        for (unsigned i = 0; i < m.n; i++) {
            char a[MPX_ADDR_STRLEN];
            mpx_addr_format(&m.inst[i].addr, m.inst[i].has_port, a, sizeof a);
            if (n < (int)sizeof c->sig_detail)
                n += snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, "; %s %s",
                              m.inst[i].d ? "src" : "dst", m.inst[i].addr.family ? a : "(none)");
            if (!m.inst[i].d && m.inst[i].addr.family && !c->target[0]) {
                mpx_addr t = m.inst[i].addr;
                if (!m.inst[i].has_port) t.port = c->sport;   /* -09: MPTCP leg's port reused */
                set_target(c, &t);
            }
        }
        c->req_in_syn = c->syn_data_len > m.data_off;
        if (!c->syn_mpc && c->saw_syn)
            an_violation(c, "AN-MPCONV-NO-MPC", c->pkt_syn, c->t_syn,
                         "MP_CONVERT in a SYN without MP_CAPABLE (plain-mode-09 5.2 / -10 5.2: only with MP_CAPABLE)");
        if (ie && c->saw_synack && (dn->head_len > 0 || c->saw_fin || c->saw_rst)) {
            /* -10 5.2: an MCP supporting the IE MUST echo it "in the SYN/ACK". A Linux MCP
             * cannot put payload in its SYN/ACK, so the echo at the start of the first data
             * from the MCP is accepted too; where it was is reported. */
            mpx_mpconv_payload echo;
            mpx_err e2;
            mpx_err_clear(&e2);
            int erc = dn->head_len ? mpx_mpconv_decode_ie(dn->head, dn->head_len, MPX_MPCONV_F_COMPLETE, &echo, &e2) : MPX_DEC_BAD;
            bool same = erc == MPX_DEC_OK && echo.n == m.n;
            for (unsigned i = 0; same && i < m.n; i++) same = mpx_mpconv_equal(&echo.inst[i], &m.inst[i]);
            if (same) {
                c->sig_len_s2c = echo.data_off;
                snprintf(c->reply_where, sizeof c->reply_where, "%s", reply_place(c));
                snprintf(c->reply_detail, sizeof c->reply_detail, "IE echoed (%zu B)", echo.data_off);
            } else {
                snprintf(c->reply_detail, sizeof c->reply_detail, "IE not echoed by the MCP");
                uint64_t pkt = c->pkt_synack; int64_t t = c->t_synack;
                if (dn->head_len) locate(c, 1, 0, &pkt, &t);
                an_violation(c, "AN-MPCONV-IE-ECHO", pkt, t,
                             "the MCP's first bytes do not echo the MP_CONVERT IE(s) (plain-mode-10 5.2: MUST echo)");
            }
        }
    } else if (rc == MPX_DEC_MORE) {
        snprintf(c->sig_detail, sizeof c->sig_detail, "MP_CONVERT incomplete in the capture");
    } else {
        snprintf(c->sig_detail, sizeof c->sig_detail, "invalid MP_CONVERT: %s", e.rule);
        viol_err(c, 0, &e, 0, "MP_CONVERT in the SYN payload");
    }
}

static void do_socks5(an_conn *c)
{
    const an_dir *u = &c->d[0], *dn = &c->d[1];
    mpx_err e;
    mpx_err_clear(&e);
    c->wire = MPX_WIRE_SOCKS5;
    mpx_s5_greeting g;
    size_t uo = 0, dofs = 0;
    if (mpx_s5_decode_greeting(u->head, u->head_len, &g, &e) != MPX_DEC_OK) {
        if (e.rule) viol_err(c, 0, &e, 0, "SOCKS5 greeting");
        snprintf(c->sig_detail, sizeof c->sig_detail, "SOCKS5 greeting %s", e.rule ? e.rule : "incomplete");
        return;
    }
    uo = g.len;
    int n = snprintf(c->sig_detail, sizeof c->sig_detail, "SOCKS5 greeting (%u methods)", g.nmethods);
    uint8_t method = 0xff;
    mpx_err_clear(&e);
    int rc = mpx_s5_decode_choice(dn->head, dn->head_len, &method, &e);
    if (rc != MPX_DEC_OK) {
        if (rc == MPX_DEC_BAD) viol_err(c, 1, &e, 0, "SOCKS5 method selection");
        snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, "; no method selection");
        return;
    }
    dofs = 2;
    n += snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, ", method %s", mpx_s5_method_name(method));
    if (method == MPX_S5_M_USERPASS) {
        mpx_s5_auth a;
        mpx_err_clear(&e);
        rc = mpx_s5_decode_auth(u->head + uo, u->head_len - uo, &a, &e);
        if (rc != MPX_DEC_OK) { if (rc == MPX_DEC_BAD) viol_err(c, 0, &e, uo, "RFC 1929 request"); return; }
        uo += a.len;
        uint8_t st = 0xff;
        mpx_err_clear(&e);
        rc = mpx_s5_decode_auth_reply(dn->head + dofs, dn->head_len - dofs, &st, &e);
        if (rc != MPX_DEC_OK) { if (rc == MPX_DEC_BAD) viol_err(c, 1, &e, dofs, "RFC 1929 reply"); return; }
        dofs += 2;
        n += snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, ", auth %s", st == 0 ? "ok" : "failed");
        if (st != 0) return;
    } else if (method == MPX_S5_M_NONE_ACCEPTABLE) {
        c->sig_len_c2s = uo; c->sig_len_s2c = dofs;
        return;
    }
    mpx_s5_msg rq, rp;
    mpx_err_clear(&e);
    rc = mpx_s5_decode_request(u->head + uo, u->head_len - uo, &rq, &e);
    if (rc != MPX_DEC_OK) { if (rc == MPX_DEC_BAD) viol_err(c, 0, &e, uo, "SOCKS5 request"); return; }
    uo += rq.len;
    if (rq.atyp != MPX_S5_ATYP_DOMAIN) set_target(c, &rq.addr);
    else snprintf(c->target, sizeof c->target, "%.48s:%u", rq.domain, rq.port);
    n += snprintf(c->sig_detail + n, sizeof c->sig_detail - (size_t)n, ", %s %s", mpx_s5_cmd_name(rq.code), c->target);
    mpx_err_clear(&e);
    rc = mpx_s5_decode_reply(dn->head + dofs, dn->head_len - dofs, &rp, &e);
    if (rc != MPX_DEC_OK) { if (rc == MPX_DEC_BAD) viol_err(c, 1, &e, dofs, "SOCKS5 reply"); return; }
    dofs += rp.len;
    c->socks_reply = rp.code;
    snprintf(c->reply_detail, sizeof c->reply_detail, "SOCKS5 reply: %s", mpx_s5_rep_name(rp.code));
    snprintf(c->reply_where, sizeof c->reply_where, "data");
    c->sig_valid = true;
    c->sig_len_c2s = uo;
    c->sig_len_s2c = dofs;
    c->req_in_syn = false;
    (void)n;
}

static void signal_finish(an_ctx *x, an_conn *c);

/* Directions without data have no head buffer: decoders get an empty one, never NULL. */
void an_signal_finish(an_ctx *x, an_conn *c)
{
    static uint8_t empty[1];
    bool n0 = !c->d[0].head, n1 = !c->d[1].head;
    if (n0) c->d[0].head = empty;
    if (n1) c->d[1].head = empty;
    signal_finish(x, c);
    if (n0) c->d[0].head = NULL;
    if (n1) c->d[1].head = NULL;
}

static void signal_finish(an_ctx *x, an_conn *c)
{
    const an_dir *u = &c->d[0];
    c->wire = MPX_WIRE_NONE;
    if (c->is_join) return;
    if (u->head_len == 0) {
        c->wire = c->syn_mpconvert_opt ? MPX_WIRE_MPCONVERT_OPT : c->d[0].bytes ? MPX_WIRE_PLAIN : MPX_WIRE_NONE;
        c->sig_valid = c->syn_mpconvert_opt && c->target[0];
        return;
    }
    const mpx_sniff_ctx sc = {
        .mpconv_subtype = x->mpconv_subtype, .syn_data = c->syn_data_len > 0,
        .reply = c->d[1].head, .reply_len = c->d[1].head_len,
    };
    switch (mpx_sniff_client(u->head, u->head_len, &sc)) {
    case MPX_WIRE_MPCONVERT_IE: do_mpconvert(x, c, true); return;
    case MPX_WIRE_CONVERT: do_convert(c); return;   /* a bad version is judged as Convert */
    case MPX_WIRE_MPCONVERT: do_mpconvert(x, c, false); return;
    case MPX_WIRE_SOCKS5: do_socks5(c); return;
    default: break;
    }
    /* MP_CONVERT as a real kind-30 option in the SYN (plain-mode-00 style): the target is in
     * the option space, the payload is application data */
    if (c->syn_mpconvert_opt) {
        c->wire = MPX_WIRE_MPCONVERT_OPT;
        snprintf(c->sig_detail, sizeof c->sig_detail, "MP_CONVERT option in the SYN (target %s)", c->target);
        c->sig_valid = c->target[0] != 0;
        c->req_in_syn = c->syn_data_len > 0;
        return;
    }
    c->wire = MPX_WIRE_PLAIN;
    snprintf(c->sig_detail, sizeof c->sig_detail, "application data from the first byte");
    c->sig_valid = true;
    c->req_in_syn = c->syn_data_len > 0;
}

/* Does every registry signal of class w put its signal into the SYN of an MPTCP connection
 * (payload or option)? Then a SYN of that class without MP_CAPABLE meant MPTCP. */
bool an_wire_mptcp_syn(mpx_wire_class w)
{
    size_t n, hits = 0;
    const mpx_signal *s = mpx_signals(&n);
    for (size_t i = 0; i < n; i++) {
        if (s[i].wire != w) continue;
        if (!s[i].mptcp || (s[i].where != MPX_SIG_IN_PAYLOAD && s[i].where != MPX_SIG_IN_TCPOPT)) return false;
        hits++;
    }
    return hits > 0;
}
