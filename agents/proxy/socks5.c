/* SOCKS5 front end (RFC 1928 CONNECT; RFC 1929 username/password when --users is given).
 * Codec: proto/socks5. Pipelined clients are fine: every complete message in the buffer is
 * handled, replies are queued in order. IPv4, IPv6 and domain names (resolve.c, off-loop). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"
#include "proto/socks5.h"

enum { S_GREETING, S_AUTH, S_REQUEST, S_DONE };

static void consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->inlen - n);
    c->inlen -= n;
}

int socks5_load_users(struct config *cf, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) return -1;
    char line[600];
    cf->n_users = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        line[strcspn(line, "\r\n")] = 0;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *colon = strchr(p, ':');
        if (!colon || cf->n_users >= MAX_USERS) { fclose(f); return -1; }
        *colon = 0;
        if (strlen(p) > 255 || strlen(colon + 1) > 255 || !*p || !colon[1]) { fclose(f); return -1; }
        snprintf(cf->users[cf->n_users].name, 256, "%s", p);
        snprintf(cf->users[cf->n_users].pass, 256, "%s", colon + 1);
        cf->n_users++;
    }
    fclose(f);
    return cf->n_users;
}

static bool user_ok(const char *u, const char *p)
{
    for (int i = 0; i < cfg.n_users; i++)
        if (!strcmp(cfg.users[i].name, u) && !strcmp(cfg.users[i].pass, p)) return true;
    return false;
}

static void socks5_send_error(struct conn *c, int rep)
{
    uint8_t out[32];
    mpx_err e = { 0 };
    long n;
    if (c->socks_step == S_GREETING) {
        n = mpx_s5_encode_choice(MPX_S5_M_NONE_ACCEPTABLE, out, sizeof out, &e);
    } else if (c->socks_step == S_AUTH) {
        n = mpx_s5_encode_auth_reply(1, out, sizeof out, &e);
    } else {
        mpx_s5_msg m;
        memset(&m, 0, sizeof m);
        m.code = (uint8_t)rep;
        m.addr = mpx_addr_v4(0, 0);
        n = mpx_s5_encode_reply(&m, out, sizeof out, &e);
        st.socks_rep[rep & 0xff]++;
    }
    if (n > 0) conn_queue_out(c, out, (size_t)n);
}

static void socks5_on_data(struct conn *c)
{
    uint8_t out[64];
    mpx_err e = { 0 };
    for (;;) {
        if (c->state != CS_HEADER) return;
        if (c->socks_step == S_GREETING) {
            mpx_s5_greeting g;
            int r = mpx_s5_decode_greeting(c->in, c->inlen, &g, &e);
            if (r == MPX_DEC_MORE) return;
            if (r == MPX_DEC_BAD) { st.malformed++; conn_fail(c, 1, 0, e.msg); return; }
            uint8_t want = cfg.n_users ? MPX_S5_M_USERPASS : MPX_S5_M_NOAUTH, pick = MPX_S5_M_NONE_ACCEPTABLE;
            for (unsigned i = 0; i < g.nmethods; i++) if (g.methods[i] == want) pick = want;
            consume(c, g.len);
            if (pick == MPX_S5_M_NONE_ACCEPTABLE) {
                conn_fail(c, 32, 0, "no acceptable SOCKS method");
                return;
            }
            long n = mpx_s5_encode_choice(pick, out, sizeof out, &e);
            if (n > 0) conn_queue_out(c, out, (size_t)n);
            c->socks_step = pick == MPX_S5_M_USERPASS ? S_AUTH : S_REQUEST;
            conn_start_gate(c);
            if (c->closing) return;
            continue;
        }
        if (c->socks_step == S_AUTH) {
            mpx_s5_auth a;
            int r = mpx_s5_decode_auth(c->in, c->inlen, &a, &e);
            if (r == MPX_DEC_MORE) return;
            if (r == MPX_DEC_BAD) { st.malformed++; conn_fail(c, 1, 0, e.msg); return; }
            consume(c, a.len);
            if (!user_ok(a.user, a.pass)) {
                st.socks_auth_fail++;
                conn_fail(c, 32, 0, "SOCKS authentication failed");
                return;
            }
            long n = mpx_s5_encode_auth_reply(0, out, sizeof out, &e);
            if (n > 0) conn_queue_out(c, out, (size_t)n);
            c->socks_step = S_REQUEST;
            conn_start_gate(c);
            if (c->closing) return;
            continue;
        }
        if (c->socks_step == S_REQUEST) {
            mpx_s5_msg m;
            int r = mpx_s5_decode_request(c->in, c->inlen, &m, &e);
            if (r == MPX_DEC_MORE) return;
            if (r == MPX_DEC_BAD) {
                int rep = mpx_s5_rule_reply(e.rule);
                st.malformed++;
                if (rep < 0) { st.fe[c->fi].failed++; conn_free(c, false); return; }
                c->socks_step = S_DONE;
                conn_fail(c, rep == 7 ? 2 : rep == 8 ? 8 : 0xff, 0, e.msg);
                return;
            }
            c->socks_step = S_DONE;
            if (c->pending_fail) {  /* a resource limit hit at accept: REP 1 now */
                conn_fail(c, c->pending_fail, 0, "resource limit (answered at the request)");
                return;
            }
            if (m.code != MPX_S5_CMD_CONNECT) { conn_fail(c, 2, 0, "SOCKS command not supported"); return; }
            consume(c, m.len);
            conn_set_early(c, c->in, c->inlen);
            if (m.atyp == MPX_S5_ATYP_DOMAIN) {
                c->state = CS_RESOLVING;
                timer_set(c, now_us() + (int64_t)cfg.connect_timeout_ms * 1000, T_CONNECT);
                if (resolve_submit(c, m.domain, m.port) < 0) conn_fail(c, 64, 0, "resolver unavailable");
                return;
            }
            c->target = m.addr;
            c->target.port = m.port;
            conn_target_ready(c);
            return;
        }
        return;
    }
}

static void socks5_on_connected(struct conn *c)
{
    uint8_t out[64];
    mpx_err e = { 0 };
    mpx_s5_msg m;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&m, 0, sizeof m);
    m.code = MPX_S5_REP_OK;
    if (getsockname(c->sfd, (struct sockaddr *)&ss, &sl) == 0) sa_to_addr(&ss, &m.addr);
    else m.addr = mpx_addr_v4(0, 0);
    m.port = m.addr.port;
    long n = mpx_s5_encode_reply(&m, out, sizeof out, &e);
    st.socks_rep[0]++;
    if (n > 0) conn_queue_out(c, out, (size_t)n);
    conn_start_gate(c);
}

/* The proxy's error classes (Convert Error codes, conn_fail) as SOCKS5 replies. */
static void socks5_fail(struct conn *c, int code, int value)
{
    int rep;
    switch (code) {
    case 32: rep = 2; break;              /* not allowed by ruleset */
    case 96: rep = 5; break;              /* connection refused */
    case 97: rep = value == 0 ? 3 : 4; break;  /* network / host unreachable */
    case 65: rep = 4; break;              /* timeout: host unreachable */
    case 2: rep = 7; break;               /* unsupported command / malformed fields */
    case 8: rep = 8; break;               /* address type (internal code) */
    default: rep = 1; break;              /* general failure: resource limits, a request
                                           * cut short then silent (header timeout), 1 */
    }
    socks5_send_error(c, rep);
}

/* The client speaks first, so a silent one is answered ("no acceptable methods"). */
const struct proxy_frontend fe_socks5 = {
    .name = "socks5", .port = 1080, .by_default = true,
    .help = "SOCKSv5 CONNECT after the handshake (RFC 1928)",
    .syn_data_no_cookie = true, .users = true, .answer_silent = true, .late_error = true,
    .on_data = socks5_on_data, .on_connected = socks5_on_connected,
    .send_error = socks5_fail,
};
