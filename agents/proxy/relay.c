/* Bidirectional relay. Zero-copy: socket -> pipe -> socket with splice(); the pipe is the
 * buffer, so no byte crosses into userspace. A connection whose socket refuses splice
 * (EINVAL) falls back to read/write through a 64 KiB buffer per direction. Half-close is
 * mapped (EOF on one side -> shutdown(SHUT_WR) on the other, i.e. FIN <-> DATA_FIN); a reset
 * on either side aborts the other with SO_LINGER 0 (an RST, or MP_FASTCLOSE upstream). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"

#define COPY_BUF 65536
#define POOL_MAX 128

/* Copy buffers are recycled: malloc/free of 64 KiB per connection moved the heap top
 * (brk) on every connection. The pool is emptied when the proxy goes idle. */
static void *pool[POOL_MAX];
static int npool;

static void *buf_get(void) { return npool ? pool[--npool] : malloc(COPY_BUF); }
static void buf_put(void *b)
{
    if (!b) return;
    if (npool < POOL_MAX) pool[npool++] = b; else free(b);
}
void relay_pool_trim(void)
{
    while (npool) free(pool[--npool]);
}

void dir_free(struct dir *d)
{
    if (d->p[0] >= 0) close(d->p[0]);
    if (d->p[1] >= 0) close(d->p[1]);
    d->p[0] = d->p[1] = -1;
    buf_put(d->buf); d->buf = NULL;
}

static size_t pipe_cap = 65536;

static bool dir_alloc(struct dir *d)
{
    if (d->p[0] >= 0) return true;
    if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) < 0) { d->p[0] = d->p[1] = -1; return false; }
    if (cfg.pipe_size > 0) {
        int r = fcntl(d->p[1], F_SETPIPE_SZ, cfg.pipe_size);
        if (r > 0) pipe_cap = (size_t)r;
    }
    return true;
}

enum { P_OK = 0, P_SRC_ERR = -1, P_DST_ERR = -2, P_NOSPLICE = -3 };

static int pump_splice(struct dir *d, int from, int to, bool *from_rd, bool *to_wr, uint64_t *ctr)
{
    for (int iter = 0; iter < 32; iter++) {
        bool progress = false;
        if (!d->eof && *from_rd && d->n < pipe_cap) {
            ssize_t r = splice(from, NULL, d->p[1], NULL, pipe_cap - d->n,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) { d->n += (size_t)r; progress = true; }
            else if (r == 0) { d->eof = true; progress = true; }
            else if (errno == EAGAIN) {
                /* an empty pipe means the socket is empty; otherwise the pipe may be out of
                 * slots (one per skb fragment) and the socket may still hold data */
                if (d->n == 0) *from_rd = false;
            } else if (errno == EINTR) continue;
            else if (errno == EINVAL && d->n == 0) return P_NOSPLICE;
            else return P_SRC_ERR;
        }
        if (d->n > 0 && *to_wr) {
            ssize_t w = splice(d->p[0], NULL, to, NULL, d->n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (w > 0) { d->n -= (size_t)w; *ctr += (uint64_t)w; progress = true; }
            else if (w < 0 && errno == EAGAIN) *to_wr = false;
            else if (w < 0 && errno == EINTR) continue;
            else return P_DST_ERR;
        }
        if (d->eof && d->n == 0 && !d->shut) { shutdown(to, SHUT_WR); d->shut = true; }
        if (!progress) break;
    }
    return P_OK;
}

static int pump_copy(struct dir *d, int from, int to, bool *from_rd, bool *to_wr, uint64_t *ctr)
{
    if (!d->buf && !(d->buf = buf_get())) return P_SRC_ERR;
    for (int iter = 0; iter < 32; iter++) {
        bool progress = false;
        if (!d->eof && *from_rd && d->blen < COPY_BUF) {
            /* always read until EAGAIN: a short read does not prove the socket drained (a FIN
             * queued with the data raises no new edge; MPTCP may still hold subflow data) */
            ssize_t r = read(from, d->buf + d->blen, COPY_BUF - d->blen);
            if (r > 0) { d->blen += (size_t)r; progress = true; }
            else if (r == 0) { d->eof = true; progress = true; }
            else if (errno == EAGAIN) *from_rd = false;
            else if (errno == EINTR) continue;
            else return P_SRC_ERR;
        }
        if (d->boff < d->blen && *to_wr) {
            ssize_t w = write(to, d->buf + d->boff, d->blen - d->boff);
            if (w > 0) {
                d->boff += (size_t)w; *ctr += (uint64_t)w; progress = true;
                if (d->boff == d->blen) d->boff = d->blen = 0;
            } else if (w < 0 && errno == EAGAIN) *to_wr = false;
            else if (w < 0 && errno == EINTR) continue;
            else return P_DST_ERR;
        }
        if (d->eof && d->boff == d->blen && !d->shut) { shutdown(to, SHUT_WR); d->shut = true; }
        if (!progress) break;
    }
    return P_OK;
}

/* Short exchanges are cheaper with read/write (no pipe to create and close); a direction
 * switches to splice once it has moved SPLICE_AFTER bytes and its buffer is empty. */
#define SPLICE_AFTER (256 * 1024)

static int pump(struct conn *c, struct dir *d, int from, int to, bool *from_rd, bool *to_wr,
                uint64_t *ctr)
{
    if (cfg.splice && !d->nosplice && d->moved >= SPLICE_AFTER) {
        if (d->buf && d->boff == d->blen) { buf_put(d->buf); d->buf = NULL; d->blen = d->boff = 0; }
        if (!d->buf) {
            if (d->p[0] < 0 && !dir_alloc(d)) {
                /* no pipe (fd limit): this direction stays on read/write */
                d->nosplice = true;
                goto copy;
            }
            int r = pump_splice(d, from, to, from_rd, to_wr, ctr);
            if (r != P_NOSPLICE) return r;
            /* this socket type does not splice: copy from now on (pipe is empty) */
            st.splice_fallbacks++;
            dir_free(d);
            d->nosplice = true;
        }
    }
copy:;
    uint64_t before = *ctr;
    int r = pump_copy(d, from, to, from_rd, to_wr, ctr);
    d->moved += *ctr - before;
    (void)c;
    return r;
}

void relay_start(struct conn *c)
{
    relay_run(c);
}

static void abort_both(struct conn *c, bool server_reset)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    if (server_reset) st.server_resets++; else st.client_resets++;
    if (c->sfd >= 0) setsockopt(c->sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    conn_free(c, true);
}

void relay_run(struct conn *c)
{
    if (c->closing || c->state != CS_RELAY) return;
    uint64_t moved0 = c->nup + c->ndown;
    /* early data (after the signal) goes first, with plain writes */
    while (c->earlyoff < c->earlylen && c->s_wr) {
        ssize_t w = write(c->sfd, c->early + c->earlyoff, c->earlylen - c->earlyoff);
        if (w > 0) { c->earlyoff += (size_t)w; st.bytes_up += (uint64_t)w; c->nup += (uint64_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) { c->s_wr = false; break; }
        abort_both(c, true);
        return;
    }
    if (c->earlyoff >= c->earlylen) {
        uint64_t b0 = c->nup;
        int r = pump(c, &c->up, c->cfd, c->sfd, &c->c_rd, &c->s_wr, &c->nup);
        st.bytes_up += c->nup - b0;
        if (c->nup != b0) c->up_active = true;
        if (r == P_SRC_ERR) { abort_both(c, false); return; }
        if (r == P_DST_ERR) { abort_both(c, true); return; }
    }
    if (c->nup + c->ndown != moved0) c->last_act = now_us();
    /* server -> client only after the reply went out and the stall guard let us write */
    if (c->outoff < c->outlen) return;
    if (!c->gate_open && !conn_gate_for_relay(c)) return;
    uint64_t b0 = c->ndown;
    int r = pump(c, &c->down, c->sfd, c->cfd, &c->s_rd, &c->c_wr, &c->ndown);
    st.bytes_down += c->ndown - b0;
    if (r == P_SRC_ERR) { abort_both(c, true); return; }
    if (r == P_DST_ERR) { abort_both(c, false); return; }
    if (c->up.shut && c->down.shut) {
        st.fe[c->fi].relayed++;
        conn_free(c, false);
        return;
    }
    /* Blocked writing to the client: re-check on a short timer as well. MPTCP sockets were
     * seen here to become writable again without an EPOLLOUT edge (bulk downloads stuck
     * with free send space); the kick counts when poll() reports POLLOUT that epoll never
     * delivered (stats: epollout_missed). */
    bool pending = c->down.n > 0 || c->down.boff < c->down.blen;
    /* Same for reading: during an upload, MPTCP client sockets were seen holding MBs in
     * their receive queue with no EPOLLIN edge after our read got EAGAIN (uploads stuck
     * with the data sitting there). While the upload moves, a read that ended in EAGAIN is
     * re-checked 10 ms later (stats: epollin_missed). Idle connections get no timer. */
    bool upload = c->up_active && !c->c_rd && !c->up.eof;
    /* CPE mode: the MPTCP socket is the server side; the same two checks for it (a
     * download that read to EAGAIN, a blocked write towards the HAG) */
    bool cpe_wan = c->cpe && ((c->ndown != b0 && !c->s_rd && !c->down.eof) ||
                              (!c->s_wr && (c->up.n > 0 || c->up.boff < c->up.blen)));
    c->up_active = false;
    /* A pump stops after 32 rounds for fairness while its socket may still be readable and
     * the other writable: no new edge will come for that, so run again right after this
     * event batch. */
    bool more = (c->c_rd && c->s_wr && !c->up.eof) || (c->s_rd && c->c_wr && !c->down.eof);
    if (more) timer_set(c, now_us(), T_KICK);
    else if (((!c->c_wr && pending) || upload || cpe_wan) && c->tkind != T_KICK)
        timer_set(c, now_us() + 10000, T_KICK);
    if (c->nup + c->ndown != moved0) c->last_act = now_us();
    /* nothing else pending: the idle timeout (armed lazily: a byte moved later only pushes
     * the deadline, checked when the timer fires) */
    if (cfg.idle_timeout_ms > 0 && c->hidx < 0)
        timer_set(c, c->last_act + (int64_t)cfg.idle_timeout_ms * 1000, T_IDLE);
}

void relay_kick(struct conn *c)
{
    struct pollfd p = { c->cfd, POLLIN | POLLOUT, 0 };
    if (poll(&p, 1, 0) == 1) {
        if (!c->c_wr && (p.revents & POLLOUT)) { st.epollout_missed++; c->c_wr = true; }
        if (!c->c_rd && (p.revents & POLLIN)) { st.epollin_missed++; c->c_rd = true; c->up_active = true; }
    }
    struct pollfd q = { c->sfd, POLLIN | POLLOUT, 0 };
    if (c->cpe && c->sfd >= 0 && poll(&q, 1, 0) == 1) {   /* CPE mode: the MPTCP side */
        if (!c->s_wr && (q.revents & POLLOUT)) { st.epollout_missed++; c->s_wr = true; }
        if (!c->s_rd && (q.revents & POLLIN)) { st.epollin_missed++; c->s_rd = true; }
    }
    relay_run(c);
}
