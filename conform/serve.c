/* mpx-conform --serve: a converter that answers every connection in one RFC 8803-allowed way
 * (--answer KIND), then watches how the client reacts. One connection at a time, blocking
 * sockets under poll deadlines. The client verdicts:
 *   error-*, dup-tlv, type0: the client MUST reset (s6.2.8 "Upon reception of an Error TLV, a
 *     Client MUST reset the associated connection"; s6.2.1 duplicate TLV; s6.2.2 type 0):
 *     pass on an RST, fail on a FIN or on silence until --timeout;
 *   ok, supported, ext-hdr, split, cookie (served): the relay to the Connect target ran
 *     and the client closed without an RST. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "conform/conform.h"
#include "lib/clock.h"
#include "lib/sock.h"
#include "proto/convert.h"
#include "proto/tcpopt.h"

static const char *const answers[] = {
    "ok", "supported", "ext-hdr", "split", "cookie", "dup-tlv", "type0",
    "error-0", "error-1", "error-2", "error-3", "error-32", "error-33", "error-64", "error-65",
    "error-96", "error-97",
};

const char *const *cf_answer_names(size_t *n)
{
    *n = sizeof answers / sizeof answers[0];
    return answers;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

typedef struct {
    uint8_t in[2048];
    size_t  inlen;
    uint8_t out[2048];
    size_t  outlen;
    char    note[256];
    const char *client_end;
    bool    pass;
} sconn;

/* Reads until the whole Convert message (its Total Length) or deadline. */
static bool read_msg(int fd, sconn *s, int timeout_ms)
{
    uint64_t dl = (uint64_t)mpxa_mono_us() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        size_t need = mpx_conv_frame_len(s->in, s->inlen);
        if (s->inlen >= MPX_CONV_HDR_LEN && (need == 0 || s->inlen >= need)) return true;
        uint64_t now = (uint64_t)mpxa_mono_us();
        if (now >= dl || s->inlen == sizeof s->in) return false;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)((dl - now + 999) / 1000)) <= 0) continue;
        ssize_t k = read(fd, s->in + s->inlen, sizeof s->in - s->inlen);
        if (k <= 0) return false;
        s->inlen += (size_t)k;
    }
}

/* kernel-facts Bug 1: an MPTCP socket accepted with SYN data drops what is written before the
 * client's third ACK (MP_CAPABLE with both keys). Hold the first write until MPTCP_INFO shows
 * the remote key (or the socket is plain TCP / fell back), re-checked every ms, 3 s at most. */
static void stall_guard(int fd)
{
    for (int i = 0; i < 3000; i++) {
        mpxa_mp_state ms = mpxa_mptcp_state(fd);
        if (ms.kind != MPXA_MP_MPTCP || ms.remote_key) return;
        usleep(1000);
    }
}

static void put(int fd, sconn *s, const uint8_t *p, size_t n)
{
    if (s->outlen == 0) stall_guard(fd);
    size_t k = n < sizeof s->out - s->outlen ? n : sizeof s->out - s->outlen;
    memcpy(s->out + s->outlen, p, k);
    s->outlen += k;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, p + off, n - off);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

/* After an answer that requires a reset: what does the client do? */
static void watch_reset(int fd, sconn *s, int timeout_ms, const char *rule)
{
    uint64_t dl = (uint64_t)mpxa_mono_us() + (uint64_t)timeout_ms * 1000;
    uint64_t t0 = (uint64_t)mpxa_mono_us();
    s->client_end = "open";
    for (;;) {
        uint64_t now = (uint64_t)mpxa_mono_us();
        if (now >= dl) break;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)((dl - now + 999) / 1000)) <= 0) continue;
        uint8_t tmp[512];
        ssize_t k = read(fd, tmp, sizeof tmp);
        if (k > 0) continue;
        s->client_end = k == 0 ? "fin" : errno == ECONNRESET ? "reset" : "error";
        break;
    }
    long ms = (long)(((uint64_t)mpxa_mono_us() - t0) / 1000);
    s->pass = !strcmp(s->client_end, "reset");
    if (s->pass)
        snprintf(s->note, sizeof s->note, "client reset after %ld ms (%s)", ms, rule);
    else if (!strcmp(s->client_end, "open"))
        snprintf(s->note, sizeof s->note, "client silent for %d ms, no RST (%s)", timeout_ms, rule);
    else
        snprintf(s->note, sizeof s->note, "client closed with a %s, not an RST (%s)", s->client_end, rule);
}

/* Relays client <-> target until both directions are closed (or deadline). */
static void relay(int cfd, sconn *s, const mpx_addr *target, const uint8_t *early, size_t nearly,
                  const uint8_t *reply, size_t nreply, size_t split, int timeout_ms)
{
    mpxa_addr ta;
    uint8_t raw[16];
    size_t rl = target->family == MPX_AF_INET ? 4 : 16;
    memcpy(raw, target->a, rl);
    mpxa_addr_from_raw(&ta, raw, rl, target->port);
    int tfd = mpxa_socket(mpxa_addr_family(&ta), false, false);
    if (tfd < 0 || connect(tfd, &ta.u.sa, ta.len) < 0) {
        /* the target is down: answer as a converter must (s6.2.8) */
        uint8_t out[16];
        long n = mpx_conv_encode_error(MPX_CONV_E_CONNECTION_RESET, NULL, 0, out, sizeof out, &(mpx_err){ 0 });
        if (n > 0) put(cfd, s, out, (size_t)n);
        snprintf(s->note, sizeof s->note, "target unreachable: %s; answered Error 96", strerror(errno));
        if (tfd >= 0) close(tfd);
        shutdown(cfd, SHUT_WR);
        s->client_end = "n/a";
        s->pass = false;
        return;
    }
    if (nearly && write(tfd, early, nearly) < 0) { /* the target sees what it gets */ }
    if (split && split < nreply) {
        put(cfd, s, reply, split);
        usleep(150000);
        put(cfd, s, reply + split, nreply - split);
    } else {
        put(cfd, s, reply, nreply);
    }
    size_t up = nearly, down = 0;
    bool cin = true, tin = true;
    s->client_end = "open";
    uint64_t dl = (uint64_t)mpxa_mono_us() + (uint64_t)timeout_ms * 1000 * 10;
    while ((cin || tin) && (uint64_t)mpxa_mono_us() < dl) {
        struct pollfd p[2] = { { cin ? cfd : -1, POLLIN, 0 }, { tin ? tfd : -1, POLLIN, 0 } };
        if (poll(p, 2, 200) <= 0) continue;
        uint8_t buf[16384];
        if (p[0].revents) {
            ssize_t k = read(cfd, buf, sizeof buf);
            if (k > 0) { up += (size_t)k; if (write(tfd, buf, (size_t)k) < 0) tin = false; }
            else { cin = false; s->client_end = k == 0 ? "fin" : "reset"; shutdown(tfd, SHUT_WR); }
        }
        if (p[1].revents) {
            ssize_t k = read(tfd, buf, sizeof buf);
            if (k > 0) { down += (size_t)k; if (write(cfd, buf, (size_t)k) < 0) cin = false; }
            else { tin = false; shutdown(cfd, SHUT_WR); }
        }
    }
    close(tfd);
    s->pass = !strcmp(s->client_end, "fin") && down > 0;
    snprintf(s->note, sizeof s->note, "relayed %zu bytes up, %zu down; client %s", up, down,
             s->client_end);
}

/* An 8-byte cookie bound to the client address (FNV-1a: no secret needed for a test). */
static void cookie_for(const mpx_addr *client, uint8_t out[8])
{
    uint8_t a[16];
    mpx_addr_to_mapped(client, a);
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++) h = (h ^ a[i]) * 1099511628211ull;
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(h >> (8 * i));
}

static void serve_one(int cfd, const mpx_addr *client, const cf_serve_cfg *cfg, sconn *s)
{
    const char *ans = cfg->answer;
    if (!read_msg(cfd, s, cfg->timeout_ms)) {
        snprintf(s->note, sizeof s->note, "no whole Convert message from the client (%zu bytes)", s->inlen);
        s->client_end = "n/a";
        return;
    }
    mpx_conv_msg m;
    mpx_err e = { 0 };
    size_t fl = mpx_conv_frame_len(s->in, s->inlen);
    uint8_t out[1100];
    long n;
    if (mpx_conv_decode(s->in, s->inlen, MPX_CONV_F_FROM_CLIENT, &m, &e) != MPX_DEC_OK &&
        mpx_conv_rule_error_code(e.rule) == MPX_CONV_ACT_RESET) {
        /* Total Length 0 / no TLV: reset, no Error TLV (s6.1, s6) */
        struct linger lg = { 1, 0 };
        setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        snprintf(s->note, sizeof s->note, "client message %s: reset", e.rule);
        s->client_end = "n/a";
        return;
    }
    if (e.rule) {
        n = mpx_conv_encode_error(MPX_CONV_E_MALFORMED, s->in, fl ? fl : s->inlen, out, sizeof out, &e);
        if (n > 0) put(cfd, s, out, (size_t)n);
        shutdown(cfd, SHUT_WR);
        watch_reset(cfd, s, cfg->timeout_ms, "client sent an invalid message");
        s->pass = false;
        return;
    }
    if (!strncmp(ans, "error-", 6)) {
        int code = atoi(ans + 6);
        uint8_t v[16] = { 0 }, ck[8];
        const uint8_t *val = v;
        size_t vl = 1;
        switch (code) {
        case MPX_CONV_E_UNSUPPORTED_VERSION: v[0] = MPX_CONV_VERSION; break;
        case MPX_CONV_E_MALFORMED:
        case MPX_CONV_E_UNSUPPORTED_MESSAGE: val = s->in; vl = m.conv_len; break;
        case MPX_CONV_E_MISSING_COOKIE: cookie_for(client, ck); val = ck; vl = sizeof ck; break;
        case MPX_CONV_E_UNSUPPORTED_OPTION: v[0] = 34; break;
        case MPX_CONV_E_RESOURCE_EXCEEDED:
        case MPX_CONV_E_NETWORK_FAILURE: v[0] = 5; break;   /* retry after 5 s */
        case MPX_CONV_E_DEST_UNREACHABLE: v[0] = 1; break;  /* ICMP host unreachable */
        default: vl = 0; break;
        }
        n = mpx_conv_encode_error((uint8_t)code, val, vl, out, sizeof out, &e);
        if (n > 0) put(cfd, s, out, (size_t)n);
        shutdown(cfd, SHUT_WR);   /* s6.2.2: close, no RST */
        watch_reset(cfd, s, cfg->timeout_ms, "s6.2.8: a client MUST reset upon an Error TLV");
        return;
    }
    if (!strcmp(ans, "dup-tlv") || !strcmp(ans, "type0")) {
        /* a reply with two Extended TCP Header TLVs, or whose TLV has type 0: patched bytes */
        mpx_conv_msg rep;
        mpx_conv_msg_init(&rep);
        rep.has_ext_hdr = true;
        n = mpx_conv_encode(&rep, out, sizeof out, &e);
        if (n < 0) return;
        if (!strcmp(ans, "dup-tlv")) {
            memcpy(out + n, out + MPX_CONV_HDR_LEN, (size_t)n - MPX_CONV_HDR_LEN);
            n += n - MPX_CONV_HDR_LEN;
            out[1] = (uint8_t)(n / 4);
        } else {
            out[4] = 0;
        }
        put(cfd, s, out, (size_t)n);
        watch_reset(cfd, s, cfg->timeout_ms, !strcmp(ans, "dup-tlv") ?
                    "s6.2.1: a client MUST reset on a duplicate TLV" :
                    "s6.2.2: a client MUST reset on a TLV of type 0");
        return;
    }
    if (!m.has_connect && !m.has_info) {
        snprintf(s->note, sizeof s->note, "no Connect TLV");
        return;
    }
    mpx_conv_msg rep;
    mpx_conv_msg_init(&rep);
    static const uint8_t kinds[] = { 4, 8, 30 };
    uint8_t opts[40];
    mpx_wr w = mpx_wr_init(opts, sizeof opts);
    if (m.has_info || !strcmp(ans, "supported")) {
        rep.has_supported = true;
        rep.supported = kinds;
        rep.supported_len = sizeof kinds;
    }
    if (!strcmp(ans, "ext-hdr") || !strcmp(ans, "split") || m.connect.extended) {
        mpx_tcpopt_put_mss(&w, 1460);
        mpx_tcpopt_put_sackperm(&w);
        mpx_tcpopt_put_ts(&w, 0, 0);
        mpx_tcpopt_put_ws(&w, 7);
        rep.has_ext_hdr = true;
        rep.ext_hdr = opts;
        rep.ext_hdr_len = w.len;
    }
    if (!strcmp(ans, "cookie")) {
        uint8_t ck[8];
        cookie_for(client, ck);
        int code = -1;
        if (!m.has_cookie) code = MPX_CONV_E_MISSING_COOKIE;
        else if (m.cookie_len < sizeof ck || memcmp(m.cookie, ck, sizeof ck) != 0 ||
                 (m.cookie_len > sizeof ck && m.cookie[sizeof ck] != 0))
            code = MPX_CONV_E_NOT_AUTHORIZED;
        if (code >= 0) {
            n = mpx_conv_encode_error((uint8_t)code, ck, code == MPX_CONV_E_MISSING_COOKIE ? sizeof ck : 0,
                                      out, sizeof out, &e);
            if (n > 0) put(cfd, s, out, (size_t)n);
            shutdown(cfd, SHUT_WR);
            watch_reset(cfd, s, cfg->timeout_ms, "s6.2.7/s6.2.8: the client resets, caches the cookie");
            return;
        }
    }
    n = mpx_conv_encode(&rep, out, sizeof out, &e);
    if (n < 0) return;
    if (!m.has_connect) {   /* Info only: answer and close */
        put(cfd, s, out, (size_t)n);
        shutdown(cfd, SHUT_WR);
        watch_reset(cfd, s, cfg->timeout_ms, "Info only");
        s->pass = strcmp(s->client_end, "open") != 0;
        return;
    }
    relay(cfd, s, &m.connect.addr, s->in + m.data_off, s->inlen - m.data_off, out, (size_t)n,
          !strcmp(ans, "split") ? 2 : 0, cfg->timeout_ms);
}

static void hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = n < (cap - 1) / 2 ? n : (cap - 1) / 2;
    mpx_hex_format(p, k, out);
}

int cf_serve(const cf_serve_cfg *cfg)
{
    const char *what = NULL;
    bool mptcp = cfg->mptcp;
    int lfd = mpxa_listen(&cfg->listen, mptcp, 64, 64, true, &what);
    if (lfd < 0 && mptcp) {
        mptcp = false;   /* no MPTCP in this kernel: plain TCP */
        lfd = mpxa_listen(&cfg->listen, false, 64, 64, true, &what);
    }
    char la[MPXA_ADDR_STRLEN];
    mpxa_addr_fmt(&cfg->listen, la, sizeof la);
    if (lfd < 0) {
        fprintf(stderr, "mpx-conform: listen on %s: %s: %s\n", la, what ? what : "?", strerror(errno));
        return 3;
    }
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "mpx-conform: serving %s on %s (%s)\n", cfg->answer, la, mptcp ? "mptcp" : "tcp");
    if (cfg->ready) {
        FILE *f = fopen(cfg->ready, "w");
        if (f) { fprintf(f, "%s\n", la); fclose(f); }
    }
    unsigned served = 0, failed = 0;
    while (!stop && (!cfg->count || served < cfg->count)) {
        struct pollfd p = { lfd, POLLIN, 0 };
        if (poll(&p, 1, 200) <= 0) continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cfd = accept(lfd, (struct sockaddr *)&ss, &sl);
        if (cfd < 0) continue;
        mpx_addr client;
        mpx_addr_from_sockaddr(&ss, sl, &client);
        static sconn s;
        memset(&s, 0, sizeof s);
        s.client_end = "n/a";
        serve_one(cfd, &client, cfg, &s);
        close(cfd);
        served++;
        failed += !s.pass;
        char ca[MPX_ADDR_STRLEN], hin[2 * 96 + 1], hout[2 * 96 + 1];
        mpx_addr_format(&client, true, ca, sizeof ca);
        hex(s.in, s.inlen, hin, sizeof hin);
        hex(s.out, s.outlen, hout, sizeof hout);
        if (cfg->json)
            printf("{\"conn\":%u,\"client\":\"%s\",\"answer\":\"%s\",\"rx_hex\":\"%s\",\"tx_hex\":\"%s\","
                   "\"client_end\":\"%s\",\"verdict\":\"%s\",\"note\":\"%s\"}\n", served, ca, cfg->answer,
                   hin, hout, s.client_end, s.pass ? "pass" : "fail", s.note);
        else
            printf("%s conn %u from %s, answer %s\n     rx %s\n     tx %s\n     %s\n", s.pass ? "PASS" : "FAIL",
                   served, ca, cfg->answer, hin, hout, s.note);
        fflush(stdout);
    }
    close(lfd);
    return failed ? 1 : 0;
}
