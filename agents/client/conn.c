/* The connection machine of mpx-client: --count connections, --concurrency at a time, in
 * one epoll loop over non-blocking sockets; per connection the signal family's first flight
 * and replies, then the MPX1 request and the verified response; one JSON line per connection
 * and a summary. Nothing here knows a signal by name: the registry row and its family's ops
 * (client.h) decide. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "agents/client/client.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/sock.h"
#include "proto/budget.h"

volatile sig_atomic_t client_stop;

const client_signal_ops *client_ops_for(mpx_wire_class w)
{
    static const client_signal_ops *const fams[] = {
        &client_sig_plain, &client_sig_socks5, &client_sig_convert, &client_sig_mpconvert,
        &client_sig_mpconvert_ie, &client_sig_mpconvert_opt,
    };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        if (fams[i]->wire == w)
            return fams[i];
    return NULL;
}

/* The client talks to the target itself unless the row signals an explicit proxy. */
bool client_sig_direct(const mpx_signal *s) { return s->mode != MPX_SIG_MODE_EXPLICIT; }

/* --tfo / --tfo-no-cookie apply where TFO is not part of the signal (the others have a fixed
 * SYN). */
bool client_sig_tfo_selectable(const mpx_signal *s) { return s->tfo == MPX_SIG_TFO_OPTIONAL; }

void client_set_err(cconn *c, const char *fmt, ...)
{
    if (c->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

int64_t client_rel(const cconn *c) { return mpxa_mono_us() - c->t0; }

const char *client_state_name(const cconn *c)
{
    switch (c->st) {
    case ST_CONNECTING: return "connecting";
    case ST_RESPONSE: return "response";
    default: return c->sub_name ? c->sub_name : "signalling";
    }
}

void client_queue_sig(cconn *c, const uint8_t *p, size_t n)
{
    memcpy(c->sig_out + c->sig_out_len, p, n);
    c->sig_out_len += n;
}

void client_sig_consume(cconn *c, size_t n, bool count)
{
    memmove(c->sig_in, c->sig_in + n, c->sig_in_len - n);
    c->sig_in_len -= n;
    if (count)
        c->sig_in_total += n;
}

void client_sig_step(cconn *c, int sub, const char *name)
{
    c->st = ST_SIGNAL;
    c->sub = sub;
    c->sub_name = name;
}

void client_start_response(cconn *c)
{
    c->st = ST_RESPONSE;
    c->req_allowed = true;
}

/* ---------- per-connection output ---------- */

/* tcpi_fastopen_client_fail: why the kernel did not use TFO (include/uapi/linux/tcp.h) */
static const char *tfo_fail_str(const cconn *c)
{
    if (!c->tfo_attempt || c->fd < 0)
        return NULL;
    switch (mpxa_tcpi_tfo_client_fail(c->fd)) {
    case 1: return "cookie-unavailable";
    case 2: return "data-not-acked";
    case 3: return "syn-retransmitted";
    default: return NULL;
    }
}

static const char *tfo_str(const cconn *c)
{
    if (!c->tfo_attempt || c->fd < 0)
        return "none";
    int o = mpxa_tcpi_options(c->fd);
    return o >= 0 && (o & MPXA_TCPI_OPT_SYN_DATA) ? "syn-data-acked" : "syn-data-not-acked";
}

static void finish(client *cl, cconn *c, bool ok)
{
    char tbuf[MPXA_ADDR_STRLEN], vbuf[MPXA_ADDR_STRLEN], lbuf[MPXA_ADDR_STRLEN];
    bool verified = !c->bad_pattern && c->resp_off == c->h.resp_len && c->req_off == c->h.req_len;
    if (ok && !verified) {
        ok = false;
        client_set_err(c, "response not verified");
    }
    if (c->t_done < 0 && ok)
        c->t_done = client_rel(c);
    if (!ok && cl->ops->failed)
        cl->ops->failed(cl, c);
    char sfb[160] = "", sfo[160] = "";
    mpxa_mp_state mp = { .kind = MPXA_MP_TCP, .subflows = 0 };
    const char *tfo = "none", *tfo_fail = NULL;
    if (c->fd >= 0) {
        /* one snapshot: a join can complete between the reads (the count and the byte lists
         * then disagree, seen in exp_plan); read again, a bounded number of times */
        for (int tries = 0; tries < 3; tries++) {
            mp = mpxa_mptcp_state(c->fd);
            int ni = client_subflow_bytes(c->fd, false, sfb, sizeof sfb);
            int no = client_subflow_bytes(c->fd, true, sfo, sizeof sfo);
            if (ni < 0)
                sfb[0] = '\0';
            if (no < 0)
                sfo[0] = '\0';
            if (ni < 0 || (ni == no && ni == mp.subflows))
                break;
        }
        if (!ok && mpxa_mono_us() - c->last_rx > c->max_gap)
            c->max_gap = mpxa_mono_us() - c->last_rx;   /* still waiting when it ended */
        tfo = tfo_str(c);
        tfo_fail = tfo_fail_str(c);
        if (!c->local.len) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
                mpxa_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
        }
    }
    const client_cfg *cfg = &cl->cfg;
    mpxa_json j;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "conn");
    mpxa_json_str(&j, "signal", cl->sig->name);
    mpxa_json_uint(&j, "seq", c->seq);
    mpxa_json_bool(&j, "ok", ok);
    mpxa_json_str(&j, "error", ok ? NULL : (c->err[0] ? c->err : "failed"));
    mpxa_json_str(&j, "target", mpxa_addr_fmt(&cfg->target, tbuf, sizeof tbuf));
    mpxa_json_str(&j, "via",
                  cfg->have_proxy ? mpxa_addr_fmt(&cfg->proxy, vbuf, sizeof vbuf) : NULL);
    mpxa_json_str(&j, "local", c->local.len ? mpxa_addr_fmt(&c->local, lbuf, sizeof lbuf) : NULL);
    mpxa_json_str(&j, "mptcp", mp.kind == MPXA_MP_ERROR ? "tcp" : mpxa_mp_kind_str(mp.kind));
    mpxa_json_int(&j, "subflows", c->connected ? mp.subflows : 0);
    mpxa_json_str(&j, "tfo", tfo);
    mpxa_json_int(&j, "t0_real_us", c->t0_real);
    mpxa_json_opt_int(&j, "t_connected_us", c->t_conn >= 0, c->t_conn);
    mpxa_json_opt_int(&j, "t_req_sent_us", c->t_req >= 0, c->t_req);
    mpxa_json_opt_int(&j, "t_first_resp_us", c->t_first >= 0, c->t_first);
    mpxa_json_opt_int(&j, "t_done_us", c->t_done >= 0, c->t_done);
    mpxa_json_opt_int(&j, "ttfb_us", c->t_first >= 0, c->t_first);
    mpxa_json_uint(&j, "bytes_out", c->req_off);
    mpxa_json_uint(&j, "bytes_in", c->resp_off);
    mpxa_json_bool(&j, "verified", verified);
    mpxa_json_opt_int(&j, "convert_error", c->conv_error >= 0, c->conv_error);
    mpxa_json_opt_int(&j, "socks_reply", c->socks_rep >= 0, c->socks_rep);
    mpxa_json_str(&j, "tag", cfg->tag);
    /* extensions beyond the common record (agents/README.md) */
    mpxa_json_int(&j, "t0_mono_us", c->t0);
    mpxa_json_opt_int(&j, "t_sig_reply_us", c->t_sig >= 0, c->t_sig);
    mpxa_json_uint(&j, "sig_bytes_out", c->sig_out_total);
    mpxa_json_uint(&j, "sig_bytes_in", c->sig_in_total);
    mpxa_json_str(&j, "ext_tcp_hdr", c->ext_hdr[0] ? c->ext_hdr : NULL);
    mpxa_json_str(&j, "tfo_fail", tfo_fail);
    mpxa_json_uint(&j, "epoll_kicks", c->kicks);
    mpxa_json_bool(&j, "syn_wscale0", c->wscale0);
    mpxa_json_int(&j, "max_gap_us", c->max_gap);
    mpxa_json_uint(&j, "outq_samples", c->outq_samples);
    mpxa_json_int(&j, "outq_every_max_us", c->outq_every_max);
    if (sfb[0])
        mpxa_json_raw(&j, "sf_bytes_in", sfb);
    else
        mpxa_json_null(&j, "sf_bytes_in");
    if (sfo[0])
        mpxa_json_raw(&j, "sf_bytes_out", sfo);
    else
        mpxa_json_null(&j, "sf_bytes_out");
    mpxa_json_opt_int(&j, "syn_opt_bytes", cl->syn_opt_bytes >= 0, cl->syn_opt_bytes);
    mpxa_json_str(&j, "workload", cfg->wl_text);
    mpxa_json_emit(&j, cl->json);
    if (cfg->verbose)
        fprintf(stderr, "mpx-client: #%u %s %s\n", c->seq, ok ? "ok" : "FAIL", ok ? "" : c->err);

    if (ok) {
        cl->ok++;
        if (c->t_first >= 0)   /* a 0-byte response has no first byte */
            cl->ttfb[cl->nttfb++] = c->t_first;
    } else {
        cl->failed++;
    }
    if (mp.kind == MPXA_MP_MPTCP)
        cl->n_mptcp++;
    else if (mp.kind == MPXA_MP_FALLBACK)
        cl->n_fallback++;
    else
        cl->n_tcp++;
    if (strcmp(tfo, "syn-data-acked") == 0)
        cl->n_tfo_acked++;

    client_unmark_syn(cl, c);
    if (c->fd >= 0) {
        if (c->rst) {
            /* RFC 8803 6.2.8: the client MUST reset the connection upon an Error TLV */
            struct linger lg = { 1, 0 };
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        epoll_ctl(cl->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        cl->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    cl->active--;
    cl->finished++;
    free(c);
}

/* ---------- I/O pump ---------- */

/* Data-level progress at now (bytes read, written or acknowledged): the gap since the last
 * progress may be the longest (max_gap_us). */
static void note_progress(cconn *c, int64_t now)
{
    if (now - c->last_rx > c->max_gap)
        c->max_gap = now - c->last_rx;
    c->last_rx = now;
}

static void set_out(client *cl, cconn *c, bool on)
{
    if (c->want_out == on)
        return;
    c->want_out = on;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c };
    epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Accounts n bytes accepted by the kernel: signalling bytes first, then request bytes. */
static void account_sent(cconn *c, size_t n)
{
    size_t s = c->sig_out_len - c->sig_out_off;
    if (s > n)
        s = n;
    c->sig_out_off += s;
    c->sig_out_total += s;
    n -= s;
    if (n) {
        if (c->t_req < 0)
            c->t_req = client_rel(c);
        c->req_off += n;
    }
    if (c->sig_out_off == c->sig_out_len)
        c->sig_out_off = c->sig_out_len = 0;
}

/* Writes pending signalling bytes, then request bytes if allowed. -1 = fatal. */
static int pump_out(client *cl, cconn *c)
{
    uint8_t buf[64 * 1024];
    if (!c->connected) {
        set_out(cl, c, true);
        return 0;
    }
    for (;;) {
        size_t n = 0;
        size_t s = c->sig_out_len - c->sig_out_off;
        if (s) {
            memcpy(buf, c->sig_out + c->sig_out_off, s);
            n = s;
        } else if (c->req_allowed && c->req_off < c->h.req_len) {
            uint64_t left = c->h.req_len - c->req_off;
            n = left < sizeof buf ? (size_t)left : sizeof buf;
            if (cl->cfg.notsent_lowat && n > cl->cfg.notsent_lowat)
                n = cl->cfg.notsent_lowat;   /* --notsent-lowat: small pieces */
            mpxa_req_fill(&c->h, c->req_off, buf, n);
        }
        if (!n)
            break;
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_out(cl, c, true);
                return 0;
            }
            if (errno == EINTR)
                continue;
            client_set_err(c, "send in state %s: %s", client_state_name(c), strerror(errno));
            return -1;
        }
        account_sent(c, (size_t)w);
        c->last_io = mpxa_mono_us();
        note_progress(c, c->last_io);
        if (c->outq == 0)
            c->outq_t = c->last_io;   /* outstanding again from here (not sampler lateness) */
        if (c->outq >= 0)
            c->outq += w;   /* queued now: a later SIOCOUTQ below this is acked data */
    }
    set_out(cl, c, false);
    return 0;
}

/* Response bytes: verify against the pattern. */
static int on_response(cconn *c, const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    if (c->t_first < 0)
        c->t_first = client_rel(c);
    uint64_t left = c->h.resp_len - c->resp_off;
    if (n > left) {
        client_set_err(c, "%zu bytes more than response_len", (size_t)(n - left));
        c->bad_pattern = true;
        return -1;
    }
    size_t bad;
    if (!c->bad_pattern && !mpxa_resp_check(&c->h, c->resp_off, p, n, &bad)) {
        /* diagnose: do the received bytes belong elsewhere in the stream (lost/duplicated
         * data shows as a shift), or nowhere (foreign/corrupt data)? */
        size_t k = n - bad < 16 ? n - bad : 16;
        int64_t found = -1;
        uint64_t at = c->resp_off + bad;
        size_t tmpbad;
        for (int64_t d = 1; d <= 262144 && found < 0 && k >= 8; d++) {
            if (at + (uint64_t)d + k <= c->h.resp_len &&
                mpxa_resp_check(&c->h, at + (uint64_t)d, p + bad, k, &tmpbad))
                found = (int64_t)(at + (uint64_t)d);
            else if ((uint64_t)d <= at &&
                     mpxa_resp_check(&c->h, at - (uint64_t)d, p + bad, k, &tmpbad))
                found = (int64_t)(at - (uint64_t)d);
        }
        char got[33];
        mpx_hex_format(p + bad, k, got);
        if (found >= 0)
            client_set_err(c,
                           "response pattern mismatch at offset %" PRIu64
                           " (read of %zu bytes at %" PRIu64
                           "; the bytes there belong at offset %" PRId64 ": data %s)",
                           at, n, c->resp_off, found, found > (int64_t)at ? "missing" : "repeated");
        else
            client_set_err(c,
                           "response pattern mismatch at offset %" PRIu64
                           " (read of %zu bytes at %" PRIu64 "; got %s, not from this stream)",
                           at, n, c->resp_off, got);
        c->bad_pattern = true;
        c->resp_off += n;
        return -1;
    }
    c->resp_off += n;
    if (c->resp_off == c->h.resp_len)
        c->t_done = client_rel(c);
    return 0;
}

/* Signalling replies. Return -1 fatal, 0 need more, 1 done (leftover in sig_in moved on). */
static int on_signal_bytes(client *cl, cconn *c)
{
    if (c->st != ST_SIGNAL || !cl->ops->reply)
        return 1;
    return cl->ops->reply(cl, c);
}

static void mark_connected(cconn *c)
{
    if (c->connected)
        return;
    c->connected = true;
    c->t_conn = client_rel(c);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        mpxa_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
}

/* Handles readable data. Returns -1 fatal, 1 finished ok, 0 continue. */
static int pump_in(client *cl, cconn *c)
{
    uint8_t buf[256 * 1024];
    for (int rounds = 0; rounds < 8; rounds++) {
        ssize_t r;
        if (c->st == ST_RESPONSE)
            r = recv(c->fd, buf, sizeof buf, 0);
        else
            r = recv(c->fd, c->sig_in + c->sig_in_len, sizeof c->sig_in - c->sig_in_len, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            client_set_err(c, "recv in state %s: %s", client_state_name(c), strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (c->st == ST_RESPONSE && c->resp_off == c->h.resp_len)
                return 1;
            client_set_err(c, "EOF in state %s after %" PRIu64 " response bytes",
                           client_state_name(c), c->resp_off);
            return -1;
        }
        mark_connected(c);
        c->last_io = mpxa_mono_us();
        note_progress(c, c->last_io);
        if (c->st == ST_RESPONSE) {
            if (on_response(c, buf, (size_t)r) < 0)
                return -1;
        } else {
            c->sig_in_len += (size_t)r;
            for (;;) {
                int s = on_signal_bytes(cl, c);
                if (s < 0)
                    return -1;
                if (s == 0) {
                    if (c->sig_in_len == sizeof c->sig_in) {
                        client_set_err(c, "signalling reply too long in state %s",
                                       client_state_name(c));
                        return -1;
                    }
                    break;
                }
                if (pump_out(cl, c) < 0)
                    return -1;
                if (c->st == ST_RESPONSE) {
                    size_t left = c->sig_in_len;
                    c->sig_in_len = 0;
                    if (on_response(c, c->sig_in, left) < 0)
                        return -1;
                    break;
                }
            }
        }
        if (c->st == ST_RESPONSE && c->resp_off == c->h.resp_len && c->req_off == c->h.req_len)
            return 1;
    }
    return 0;
}

static void on_event(client *cl, cconn *c, uint32_t evs)
{
    if (!c->connected && (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            client_set_err(c, "connect: %s", strerror(err));
            finish(cl, c, false);
            return;
        }
        if (evs & EPOLLOUT) {
            mark_connected(c);
            if (c->st == ST_CONNECTING) {
                /* plain connect finished: start the signalling */
                if (cl->ops->connected)
                    cl->ops->connected(cl, c);
                else
                    client_start_response(c);
            }
        }
    }
    if (c->connected && (evs & EPOLLOUT)) {
        if (pump_out(cl, c) < 0) {
            finish(cl, c, false);
            return;
        }
    }
    if (evs & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        int r = pump_in(cl, c);
        if (r != 0) {
            finish(cl, c, r > 0);
            return;
        }
    }
    if (c->connected && pump_out(cl, c) < 0)
        finish(cl, c, false);
}

/* ---------- starting a connection ---------- */

static int wscale0_before(cconn *c);
static void wscale0_after(client *cl, cconn *c);

static void start_one(client *cl)
{
    const client_cfg *cfg = &cl->cfg;
    const mpx_signal *s = cl->sig;
    cconn *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "mpx-client: out of memory\n");
        client_stop = 1;
        return;
    }
    c->seq = cl->started++;
    c->fd = -1;
    c->t_conn = c->t_req = c->t_sig = c->t_first = c->t_done = -1;
    c->conv_error = c->socks_rep = -1;
    c->h = mpxa_workload_hdr(&cfg->wl, (uint32_t)((cfg->seed + c->seq) & 0xffffff));
    c->next = cl->head;
    if (cl->head)
        cl->head->prev = c;
    cl->head = c;
    cl->active++;
    if (cl->active > cl->max_active)
        cl->max_active = cl->active;
    c->t0_real = mpxa_real_us();
    c->t0 = mpxa_mono_us();
    c->last_io = c->t0;
    c->last_rx = c->t0;
    c->max_gap = 0;
    c->outq = -1;   /* unknown: the first sample after connect sets the base */

    const mpxa_addr *dst = client_sig_direct(s) ? &cfg->target : &cfg->proxy;
    if (!cl->opt_fits) {
        client_set_err(c, "%s: does not fit: the SYN would need %d option bytes > 40 (%s)", s->name,
                       cl->syn_opt_bytes, cl->budget_spec);
        finish(cl, c, false);
        return;
    }
    c->fd = mpxa_socket(mpxa_addr_family(dst), cfg->mptcp, true);
    if (c->fd < 0) {
        client_set_err(c, "socket: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    mpxa_set_nodelay(c->fd, true);
    /* --notsent-lowat: on an MPTCP socket (6.18) it bounds the data not yet handed to a subflow,
     * so the scheduler decides where each piece goes when a subflow has room, not 32 KB page
     * fragments ahead (docs/kernel-findings.md 6) */
    if (cfg->notsent_lowat && setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &cfg->notsent_lowat,
                                         sizeof cfg->notsent_lowat) < 0) {
        client_set_err(c, "TCP_NOTSENT_LOWAT: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    if (cfg->have_bind && bind(c->fd, &cfg->bind.u.sa, cfg->bind.len) < 0) {
        client_set_err(c, "bind: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    if (client_mark_syn(cl, c, dst) < 0) {
        finish(cl, c, false);
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data.ptr = c };
    c->want_out = true;
    if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        client_set_err(c, "epoll_ctl: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }

    bool tfo_sel = client_sig_tfo_selectable(s);
    bool syn_data = mpx_signal_syn_data(s) || (tfo_sel && cfg->tfo_direct);
    if (!syn_data) {
        int r = connect(c->fd, &dst->u.sa, dst->len);
        if (r < 0 && errno != EINPROGRESS) {
            client_set_err(c, "connect: %s", strerror(errno));
            finish(cl, c, false);
            return;
        }
        c->st = ST_CONNECTING;
        return;
    }

    /* SYN payload: signal [+ request head]. Cookie-less modes set TCP_FASTOPEN_NO_COOKIE so
     * the kernel sends the data without any TFO option (protocols.md 1.9). */
    bool no_cookie = s->tfo == MPX_SIG_TFO_NO_COOKIE || (tfo_sel && cfg->tfo_direct_nc);
    if (no_cookie && mpxa_set_tfo_no_cookie(c->fd, true) < 0) {
        client_set_err(c, "TCP_FASTOPEN_NO_COOKIE: %s", strerror(errno));
        finish(cl, c, false);
        return;
    }
    if (cfg->mptcp && cfg->syn_wscale0) {
        if (wscale0_before(c) < 0) {
            client_set_err(c, "SO_RCVBUF (--syn-wscale0): %s", strerror(errno));
            finish(cl, c, false);
            return;
        }
        c->wscale0 = true;
        cl->n_wscale0++;
    }
    c->tfo_attempt = true;
    c->st = ST_RESPONSE;     /* unless the family waits for a reply to its first flight */
    uint8_t buf[SIGBUF + SYN_DATA_MAX];
    long sl = 0;
    if (cl->ops->first_flight)
        sl = cl->ops->first_flight(cl, c, c->sig_out, sizeof c->sig_out);
    if (sl < 0) {
        finish(cl, c, false);
        return;
    }
    c->sig_out_len = (size_t)sl;
    memcpy(buf, c->sig_out, (size_t)sl);
    size_t n = (size_t)sl;
    c->req_allowed = !s->waits_reply;
    if (c->req_allowed) {
        size_t k = c->h.req_len < SYN_DATA_MAX ? c->h.req_len : SYN_DATA_MAX;
        mpxa_req_fill(&c->h, 0, buf + n, k);
        n += k;
    }
    ssize_t w = sendto(c->fd, buf, n, MSG_FASTOPEN | MSG_NOSIGNAL, &dst->u.sa, dst->len);
    if (c->wscale0)
        wscale0_after(cl, c);
    if (w < 0) {
        if (errno != EINPROGRESS) {
            client_set_err(c, "sendto(MSG_FASTOPEN): %s", strerror(errno));
            finish(cl, c, false);
            return;
        }
        /* no cookie yet: the kernel sent a SYN (with a cookie request); data follows later */
        return;
    }
    account_sent(c, (size_t)w);
}

/* --syn-wscale0. Linux 6.18 gives an MPTCP listener that accepts data in the SYN a data-level
 * send window of the SYN's window shifted by our window scale (a SYN window is never scaled):
 * with wscale 10 the listener sends up to ~65 MB past our real window. Once a second subflow
 * joins, data beyond our MPTCP-level window is dropped after that subflow acked it, and only
 * the MPTCP retransmit timer repairs the hole: bulk transfers stall (docs/kernel-findings.md
 * 1). A locked receive buffer under 64 KiB at the SYN clamps this subflow's window, so the
 * kernel picks wscale 0 and the listener's window is right; raising the buffer right after the
 * SYN gives the MP_JOIN subflows (created later by the path manager) a normal scale and the
 * connection its full window. The first subflow keeps a window of at most 64 KiB. */
static int wscale0_before(cconn *c)
{
    int v = 65535;
    return setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
}

static void wscale0_after(client *cl, cconn *c)
{
    int v = cl->rcvbuf_after;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) == 0)
        return;
    if (!cl->rcvbuf_capped)
        fprintf(stderr, "mpx-client: warning: SO_RCVBUFFORCE: %s; --syn-wscale0 falls back to "
                        "SO_RCVBUF, capped by net.core.rmem_max\n", strerror(errno));
    cl->rcvbuf_capped = true;
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
}

/* Safety net against missed wakeups: a connection without progress for KICK_US gets one
 * ordinary non-blocking read attempt as if epoll had reported it; if that read returns data
 * (or EOF) it is counted ("epoll_kicks"), since the connection's timings then include the
 * delay. Measured on 6.18: MPTCP sockets with two subflows under concurrent bulk transfers
 * sometimes hold readable data without an EPOLLIN wakeup. The probe is a real recv(), not
 * MSG_PEEK, and only on sockets that did not fall back: with such probes on MPTCP-fallback
 * sockets, 7 segments went missing from the middle of a 100 kB response (recv(MSG_PEEK|
 * MSG_DONTWAIT) probes: 6 of 45 runs of 2000 concurrent connections; plain recv probes: 1 of
 * 30; no probes: 0 of 45; plain TCP sockets with probes: 0 of 20). */
#define KICK_US 200000
static void kick_stalled(client *cl)
{
    int64_t now = mpxa_mono_us();
    for (cconn *c = cl->head, *n; c; c = n) {
        n = c->next;
        if (c->fd < 0 || !c->connected || now - c->last_io < KICK_US)
            continue;
        c->last_io = now;   /* check again after another KICK_US */
        /* only real MPTCP sockets: that is where wakeups went missing, and extra reads on
         * fallback sockets coincided with lost data (see above) */
        if (mpxa_mptcp_state(c->fd).kind != MPXA_MP_MPTCP)
            continue;
        uint32_t seq = c->seq;
        uint64_t before = c->resp_off + c->sig_in_total + c->sig_in_len;
        c->kicks++;         /* provisional: undone below when nothing was there */
        cl->n_kicks++;
        on_event(cl, c, EPOLLIN);
        /* c may be freed by on_event (finished): find out through the list */
        cconn *still = NULL;
        for (cconn *x = cl->head; x; x = x->next)
            if (x == c && x->seq == seq) {
                still = x;
                break;
            }
        if (still && still->last_io == now &&
            still->resp_off + still->sig_in_total + still->sig_in_len == before) {
            still->kicks--;  /* nothing was readable: not a missed wakeup */
            cl->n_kicks--;
        } else if (cl->cfg.verbose) {
            fprintf(stderr, "mpx-client: #%u readable without wakeup\n", seq);
        }
    }
}

/* Acknowledgement progress of what the client sent. Once its writes are in the send buffer an
 * upload (bulk-up) waits for the reply with nothing to read or write, so a stall in the network
 * would not show in max_gap_us; while sent data is unacknowledged, SIOCOUTQ (on MPTCP sockets
 * the data-level bytes not yet DATA_ACKed, write_seq - snd_una; on TCP the same per connection)
 * is sampled at most every OUTQ_US per connection, and a decrease counts as progress. No
 * sampling while nothing is outstanding (the common case for requests: acked within an RTT).
 * Returns true while some connection still has unacknowledged data (the caller polls sooner). */
#define OUTQ_US 50000
static bool sample_outq(client *cl)
{
    int64_t now = mpxa_mono_us();
    bool pending = false;
    for (cconn *c = cl->head; c; c = c->next) {
        if (c->fd < 0 || !c->connected || c->outq == 0 || c->outq == -2)
            continue;
        pending = true;
        if (now - c->outq_t < OUTQ_US)
            continue;
        int v = 0;
        if (ioctl(c->fd, SIOCOUTQ, &v) < 0) {
            c->outq = -2;   /* not supported on this socket: the gap is read/write only */
            continue;
        }
        c->outq_samples++;
        if (c->outq > 0 && now - c->outq_t > c->outq_every_max)
            c->outq_every_max = now - c->outq_t;   /* how late an ack can be noticed */
        if (c->outq > 0 && v < c->outq)
            note_progress(c, now);
        c->outq = v;
        c->outq_t = now;
    }
    return pending;
}

/* --peek-probe MS (diagnostic, a kernel reproducer): every connected socket without progress
 * for MS ms gets recv(1, MSG_PEEK|MSG_DONTWAIT); nothing is consumed. */
static void peek_probe(client *cl)
{
    int64_t now = mpxa_mono_us(), every = cl->cfg.peek_us;
    if (!every || now - cl->peek_last < every)
        return;
    cl->peek_last = now;
    for (cconn *c = cl->head; c; c = c->next) {
        if (c->fd < 0 || !c->connected || now - c->last_io < every)
            continue;
        uint8_t b;
        (void)recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        cl->n_peeks++;
    }
}

static void reap_timeouts(client *cl)
{
    int64_t now = mpxa_mono_us();
    for (cconn *c = cl->head, *n; c; c = n) {
        n = c->next;
        if (now - c->t0 > (int64_t)(cl->cfg.timeout_s * 1e6)) {
            client_set_err(c, "timeout after %.1f s in state %s (%" PRIu64 "/%u response bytes)",
                           cl->cfg.timeout_s, client_state_name(c), c->resp_off, c->h.resp_len);
            finish(cl, c, false);
        }
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, uint32_t n, double p)
{
    /* nearest-rank percentile */
    if (!n)
        return -1;
    size_t k = (size_t)(p / 100.0 * n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void summary(client *cl, int64_t elapsed)
{
    qsort(cl->ttfb, cl->nttfb, sizeof *cl->ttfb, cmp_i64);
    mpxa_json j;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "summary");
    mpxa_json_str(&j, "signal", cl->sig->name);
    mpxa_json_uint(&j, "count", cl->finished);
    mpxa_json_uint(&j, "ok", cl->ok);
    mpxa_json_uint(&j, "failed", cl->failed);
    mpxa_json_opt_int(&j, "ttfb_us_p50", cl->nttfb > 0, pct(cl->ttfb, cl->nttfb, 50));
    mpxa_json_opt_int(&j, "ttfb_us_p95", cl->nttfb > 0, pct(cl->ttfb, cl->nttfb, 95));
    mpxa_json_opt_int(&j, "ttfb_us_min", cl->nttfb > 0, cl->nttfb ? cl->ttfb[0] : 0);
    mpxa_json_opt_int(&j, "ttfb_us_max", cl->nttfb > 0, cl->nttfb ? cl->ttfb[cl->nttfb - 1] : 0);
    mpxa_json_uint(&j, "mptcp", cl->n_mptcp);
    mpxa_json_uint(&j, "fallback", cl->n_fallback);
    mpxa_json_uint(&j, "tcp", cl->n_tcp);
    mpxa_json_uint(&j, "tfo_syn_data_acked", cl->n_tfo_acked);
    mpxa_json_uint(&j, "max_active", cl->max_active);
    mpxa_json_uint(&j, "epoll_kicks", cl->n_kicks);
    mpxa_json_str(&j, "syn_wscale0", cl->cfg.syn_wscale0 ? "on" : "off");
    mpxa_json_uint(&j, "syn_wscale0_conns", cl->n_wscale0);
    if (cl->cfg.peek_us)
        mpxa_json_uint(&j, "peek_probes", cl->n_peeks);
    mpxa_json_int(&j, "elapsed_us", elapsed);
    mpxa_json_str(&j, "workload", cl->cfg.wl_text);
    mpxa_json_str(&j, "tag", cl->cfg.tag);
    mpxa_json_opt_int(&j, "tcp_fastopen_sysctl", cl->tfo_sysctl >= 0, cl->tfo_sysctl);
    mpxa_json_opt_int(&j, "syn_opt_bytes", cl->syn_opt_bytes >= 0, cl->syn_opt_bytes);
    if (cl->syn_opt_bytes >= 0) {
        mpxa_json_bool(&j, "syn_opt_fits", cl->opt_fits);
        mpxa_json_str(&j, "syn_opt_spec", cl->budget_spec);
    }
    mpxa_json_emit(&j, cl->json);
}

int client_run(client *cl)
{
    int64_t t_start = mpxa_mono_us();
    static struct epoll_event evs[4096];   /* large: fewer ready sockets left for next round */
    bool outq_pending = false;
    while (!client_stop && cl->finished < cl->cfg.count) {
        while (!client_stop && cl->started < cl->cfg.count && cl->active < cl->cfg.conc)
            start_one(cl);
        int n = epoll_wait(cl->ep, evs, 4096, outq_pending ? OUTQ_US / 1000 : 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("mpx-client: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++)
            on_event(cl, evs[i].data.ptr, evs[i].events);
        peek_probe(cl);
        kick_stalled(cl);
        outq_pending = sample_outq(cl);
        reap_timeouts(cl);
    }
    while (cl->head) {
        client_set_err(cl->head, "interrupted");
        finish(cl, cl->head, false);
    }
    summary(cl, mpxa_mono_us() - t_start);
    return cl->failed || cl->finished < cl->cfg.count ? EXIT_FAILED : EXIT_OK;
}
