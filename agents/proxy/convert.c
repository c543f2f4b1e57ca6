/* RFC 8803 front end. The whole Convert message (header + TLVs) is decoded with proto/convert
 * once Total Length bytes are in; the bytes after it are the client's early data. The reply
 * is sent only after the downstream connect succeeded (s4.2, unlike SOCKS).
 *
 * Extended TCP Header TLV: the server's SYN+ACK options are not visible from userspace, so
 * the proxy returns the options it knows were negotiated, reconstructed from TCP_INFO on the
 * downstream socket: MSS (snd_mss, plus 12 when timestamps are on: the value the server
 * announced unless PMTU lowered it), SACK-permitted, Timestamps (values zero: presence only),
 * Window Scale (the server's shift), and a 4-byte MP_CAPABLE v1 when the downstream connection
 * is MPTCP (only when the client asked for kind 30). */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"
#include "proto/convert.h"
#include "proto/tcpopt.h"

/* Kinds this converter announces in Supported TCP Extensions (s6.2.4, s7): SACK-permitted,
 * Timestamps, MPTCP. Not TFO (34): a cookie cannot be passed end-to-end from userspace. */
static const uint8_t announce[] = { MPX_TCPOPT_SACKPERM, MPX_TCPOPT_TS, MPX_TCPOPT_MPTCP };
/* Kinds accepted in an Extended Connect: the announced ones plus those s7 says to ignore. */
static const uint8_t accepted[] = { MPX_TCPOPT_MSS, MPX_TCPOPT_WS, MPX_TCPOPT_SACKPERM,
                                    MPX_TCPOPT_SACK, MPX_TCPOPT_TS, MPX_TCPOPT_MPTCP };

static void convert_send_error(struct conn *c, int code, int value)
{
    uint8_t out[MPX_CONV_MAX_LEN], v[8];
    const uint8_t *val = NULL;
    size_t vlen = 0;
    mpx_err e = { 0 };
    switch (code) {
    case MPX_CONV_E_UNSUPPORTED_VERSION: v[0] = MPX_CONV_VERSION; val = v; vlen = 1; break;
    case MPX_CONV_E_MALFORMED:
    case MPX_CONV_E_UNSUPPORTED_MESSAGE:
        val = c->in; vlen = c->echo_len < c->inlen ? c->echo_len : c->inlen; break;
    case MPX_CONV_E_MISSING_COOKIE:
    case MPX_CONV_E_UNSUPPORTED_OPTION: val = c->errval; vlen = c->errval_len; break;
    case MPX_CONV_E_RESOURCE_EXCEEDED:
    case MPX_CONV_E_NETWORK_FAILURE:
    case MPX_CONV_E_DEST_UNREACHABLE: v[0] = (uint8_t)value; val = v; vlen = 1; break;
    default: break;
    }
    long n = mpx_conv_encode_error((uint8_t)code, val, vlen, out, sizeof out, &e);
    if (n < 0) {
        plog(0, "conn %llu: cannot encode Error %d: %s", (unsigned long long)c->id, code, e.msg);
        n = mpx_conv_encode_error((uint8_t)code, NULL, 0, out, sizeof out, &e);
        if (n < 0) return;
    }
    st.convert_err[code & 0xff]++;
    conn_queue_out(c, out, (size_t)n);
}

static void convert_on_data(struct conn *c)
{
    mpx_conv_msg m;
    mpx_err e = { 0 };
    unsigned flags = MPX_CONV_F_FROM_CLIENT;
#ifdef MPX_PROXY_CONFORM_BREAK   /* test-only build (conform/conform.mk): no s6.2.5 address check */
    flags |= MPX_CONV_F_ANY_ADDR;
#endif
    int r = mpx_conv_decode(c->in, c->inlen, flags, &m, &e);
    if (r == MPX_DEC_MORE) {
        if (c->inlen < sizeof c->in) return;  /* keep reading (header timer runs) */
        r = MPX_DEC_BAD;
    }
    if (r == MPX_DEC_BAD) {
        int code = mpx_conv_rule_error_code(e.rule);
        st.malformed++;
        if (code == MPX_CONV_ACT_RESET) {
            LOGV("conn %llu convert: %s (%s): reset", (unsigned long long)c->id, e.rule, e.msg);
            st.fe[c->fi].failed++;
            conn_free(c, true);
            return;
        }
        if (code == MPX_CONV_ACT_NONE) code = MPX_CONV_E_MALFORMED;
        size_t fl = mpx_conv_frame_len(c->in, c->inlen);
        c->echo_len = fl && fl <= c->inlen ? fl : c->inlen;
        char why[200];
        snprintf(why, sizeof why, "%s: %s", e.rule ? e.rule : "?", e.msg);
        conn_fail(c, code, 0, why);
        return;
    }
    c->echo_len = m.conv_len;
    if (m.has_info) { st.info_requests++; c->want_supported = true; }
    if (!m.has_connect) {
        if (m.has_info) {
            /* bootstrap: answer Supported TCP Extensions, then close gracefully */
            uint8_t out[64];
            mpx_conv_msg rep;
            mpx_conv_msg_init(&rep);
            rep.has_supported = true;
            rep.supported = announce; rep.supported_len = sizeof announce;
            long n = mpx_conv_encode(&rep, out, sizeof out, &e);
            if (n > 0) conn_queue_out(c, out, (size_t)n);
            c->close_after_out = true;
            c->state = CS_LINGER;
            st.fe[c->fi].relayed++;
            conn_start_gate(c);
            return;
        }
        conn_fail(c, MPX_CONV_E_MALFORMED, 0, "no Connect TLV");
        return;
    }
    if (cfg.cookie_required) {
        if (!m.has_cookie) {
            c->errval_len = cookie_make(&c->client, c->errval);
            st.cookies_issued++;
            conn_fail(c, MPX_CONV_E_MISSING_COOKIE, 0, "cookie required: issued one");
            return;
        }
        if (!cookie_check(&c->client, m.cookie, m.cookie_len)) {
            st.cookies_bad++;
            conn_fail(c, MPX_CONV_E_NOT_AUTHORIZED, 0, "invalid cookie");
            return;
        }
        st.cookies_ok++;
    }
    if (m.connect.extended) {
        st.ext_connects++;
        c->ext_connect = true;
        uint8_t bad[32];
        size_t nb = mpx_conv_unsupported_opts(&m.connect, accepted, sizeof accepted, bad, sizeof bad);
        if (nb) {
            memcpy(c->errval, bad, nb);
            c->errval_len = nb;
            conn_fail(c, MPX_CONV_E_UNSUPPORTED_OPTION, 0, "unsupported TCP option in Connect");
            return;
        }
        for (unsigned i = 0; i < m.connect.nopts; i++)
            if (m.connect.opts[i].kind == MPX_TCPOPT_MPTCP) c->mptcp_down = true;
    }
    c->target = m.connect.addr;
    conn_set_early(c, c->in + m.data_off, c->inlen - m.data_off);
    conn_target_ready(c);
}

static size_t ext_header(struct conn *c, uint8_t *buf, size_t cap)
{
    struct tcp_info ti;
    socklen_t l = sizeof ti;
    mpx_wr w = mpx_wr_init(buf, cap);
    memset(&ti, 0, sizeof ti);
    if (getsockopt(c->sfd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0) return 0;
    bool ts = ti.tcpi_options & TCPI_OPT_TIMESTAMPS;
    mpx_tcpopt_put_mss(&w, (uint16_t)(ti.tcpi_snd_mss + (ts ? 12 : 0)));
    if (ti.tcpi_options & TCPI_OPT_SACK) mpx_tcpopt_put_sackperm(&w);
    if (ts) mpx_tcpopt_put_ts(&w, 0, 0);
    if (ti.tcpi_options & TCPI_OPT_WSCALE) mpx_tcpopt_put_ws(&w, ti.tcpi_snd_wscale);
    if (c->mptcp_down && mpxa_mptcp_state(c->sfd).kind == MPXA_MP_MPTCP) {
        const uint8_t mpc[2] = { 0x01, 0x01 };  /* subtype 0 version 1, flag H */
        mpx_tcpopt_put_raw(&w, MPX_TCPOPT_MPTCP, mpc, 2);
    }
    return w.overflow ? 0 : w.len;
}

static void convert_on_connected(struct conn *c)
{
    uint8_t out[MPX_CONV_MAX_LEN], opts[40];
    mpx_conv_msg rep;
    mpx_err e = { 0 };
    mpx_conv_msg_init(&rep);
    if (c->want_supported) {
        rep.has_supported = true;
        rep.supported = announce; rep.supported_len = sizeof announce;
    }
    if (c->ext_connect) {
        size_t n = ext_header(c, opts, sizeof opts);
        rep.has_ext_hdr = true;
        rep.ext_hdr = opts; rep.ext_hdr_len = n;
    }
    long n = mpx_conv_encode(&rep, out, sizeof out, &e);
    if (n < 0) {
        plog(0, "conn %llu: cannot encode reply: %s", (unsigned long long)c->id, e.msg);
        conn_fail(c, MPX_CONV_E_NETWORK_FAILURE, 0, "reply encoding failed");
        return;
    }
    conn_queue_out(c, out, (size_t)n);
    conn_start_gate(c);
}

/* Two listeners share the parsing: one takes SYN data without a TFO cookie (RFC 8803 App.
 * A.2), the other issues real TFO cookies and accepts SYN data only with a valid one (for
 * clients that put a cookie in the SYN). */
const struct proxy_frontend fe_convert = {
    .name = "convert", .port = 5124, .by_default = true,
    .help = "RFC 8803 Convert in the SYN payload",
    .syn_data_no_cookie = true,
    .on_data = convert_on_data, .on_connected = convert_on_connected,
    .send_error = convert_send_error,
};

const struct proxy_frontend fe_convert_tfo = {
    .name = "convert-tfo", .port = 5129,
    .help = "RFC 8803 Convert in the SYN payload, behind a real TFO cookie",
    .tfo_cookie = true,
    .on_data = convert_on_data, .on_connected = convert_on_connected,
    .send_error = convert_send_error,
};
