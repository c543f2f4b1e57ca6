/* mpx-conform's client side: one blocking socket per case, every read under a poll deadline,
 * every byte sent and received kept in the case's result for the report. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "conform/conform.h"
#include "lib/clock.h"
#include "lib/sock.h"
#include "proto/convert.h"

void cf_note(cf_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

void cf_set(cf_result *r, cf_verdict v, const char *fmt, ...)
{
    va_list ap;
    r->v = v;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

static void keep_tx(cf_result *r, const uint8_t *p, size_t n)
{
    size_t k = n < CF_TX_MAX - r->txn ? n : CF_TX_MAX - r->txn;
    memcpy(r->tx + r->txn, p, k);
    r->txn += k;
}

int cf_open(cf_ctx *ctx, cf_conn *c, cf_result *r, const uint8_t *first, size_t n)
{
    c->r = r;
    c->timeout_ms = ctx->timeout_ms;
    r->end = "open";
    c->fd = mpxa_socket(mpxa_addr_family(&ctx->conv), ctx->mptcp, false);
    if (c->fd < 0) {
        r->end = "connect-failed";
        cf_note(r, "socket: %s", strerror(errno));
        return -1;
    }
    /* a dead converter must not hang the run: bound connect() too */
    struct timeval tv = { ctx->timeout_ms / 1000, (ctx->timeout_ms % 1000) * 1000 };
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    mpxa_set_nodelay(c->fd, true);   /* split cases: each write its own segment */
    ssize_t w = 0;
    bool connected = false;
    if (ctx->syn_data && n > 0) {
        mpxa_set_tfo_no_cookie(c->fd, true);
        w = sendto(c->fd, first, n, MSG_FASTOPEN, &ctx->conv.u.sa, ctx->conv.len);
        if (w >= 0) {
            connected = true;
            r->syn_data_sent = true;
            keep_tx(r, first, (size_t)w);
            if ((size_t)w < n && cf_send(c, first + w, n - (size_t)w) < 0) w = -1;
        } else if (errno == EOPNOTSUPP) {
            ctx->syn_data = false;   /* the kernel's client TFO bit is off: connect() instead */
            w = 0;
        }
    }
    if (w >= 0 && !connected) {
        w = connect(c->fd, &ctx->conv.u.sa, ctx->conv.len);
        if (w == 0 && n > 0 && cf_send(c, first, n) < 0) w = -1;
    }
    if (w < 0) {
        r->end = "connect-failed";
        cf_note(r, "connect to the converter: %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

int cf_send(cf_conn *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(c->fd, p + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        keep_tx(c->r, p + off, (size_t)w);
        off += (size_t)w;
    }
    return 0;
}

/* One read with a deadline: 1 data, 0 eof, -1 reset/error, -2 timeout. */
static int read_some(cf_conn *c, uint64_t deadline_us)
{
    cf_result *r = c->r;
    for (;;) {
        uint64_t now = (uint64_t)mpxa_mono_us();
        if (now >= deadline_us) return -2;
        struct pollfd p = { c->fd, POLLIN, 0 };
        int pr = poll(&p, 1, (int)((deadline_us - now + 999) / 1000));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return -2;
        if (!r->transport) {
            mpxa_mp_state ms = mpxa_mptcp_state(c->fd);
            r->transport = mpxa_mp_kind_str(ms.kind);
            int o = mpxa_tcpi_options(c->fd);
            r->syn_data_acked = o >= 0 && (o & MPXA_TCPI_OPT_SYN_DATA);
        }
        uint8_t tmp[2048];
        ssize_t k = read(c->fd, tmp, sizeof tmp);
        if (k > 0) {
            size_t room = CF_RX_MAX - r->rxn, m = (size_t)k < room ? (size_t)k : room;
            memcpy(r->rx + r->rxn, tmp, m);
            r->rxn += m;
            return 1;
        }
        if (k == 0) { r->end = "eof"; return 0; }
        if (errno == EINTR) continue;
        r->end = errno == ECONNRESET || errno == EPIPE ? "reset" : "error";
        return -1;
    }
}

size_t cf_recv_conv(cf_conn *c, int timeout_ms)
{
    cf_result *r = c->r;
    uint64_t dl = (uint64_t)mpxa_mono_us() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        if (r->rxn >= MPX_CONV_HDR_LEN) {
            size_t need = mpx_conv_frame_len(r->rx, r->rxn);
            if (need == 0) need = MPX_CONV_HDR_LEN;
            if (r->rxn >= need) return need;
        }
        int k = read_some(c, dl);
        if (k == -2) { r->end = "open"; return 0; }
        if (k <= 0) return 0;
    }
}

size_t cf_recv_n(cf_conn *c, size_t want, int timeout_ms)
{
    uint64_t dl = (uint64_t)mpxa_mono_us() + (uint64_t)timeout_ms * 1000;
    while (c->r->rxn < want) {
        int k = read_some(c, dl);
        if (k == -2) { c->r->end = "open"; break; }
        if (k <= 0) break;
    }
    return c->r->rxn;
}

void cf_wait_end(cf_conn *c, int timeout_ms)
{
    uint64_t dl = (uint64_t)mpxa_mono_us() + (uint64_t)timeout_ms * 1000;
    if (strcmp(c->r->end, "open") != 0) return;   /* already closed */
    for (;;) {
        int k = read_some(c, dl);
        if (k == -2) { c->r->end = "open"; return; }
        if (k <= 0) return;
    }
}

void cf_close(cf_conn *c, bool rst)
{
    if (c->fd < 0) return;
    if (rst) {
        struct linger lg = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
    c->fd = -1;
}
