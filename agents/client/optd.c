/* The SYN marks some signals need (the registry row's helper): the client namespace's mpx-optd
 * adds a TCP option or the IPv4 Router Alert to the SYNs of a registered source port; and the
 * SYN option budget, so a signal whose option Linux would drop is refused before any SYN. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "agents/client/client.h"
#include "agents/optd/ctl.h"
#include "proto/budget.h"
#include "proto/ippkt.h"

int client_read_sysctl(const char *path, int dflt)
{
    FILE *f = fopen(path, "r");
    int v = dflt;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

/* The SYN option layout this namespace's kernel will use (proto/budget.h), with the row's
 * helper option. Linux drops an option that does not fit silently, so the client refuses to
 * run such a signal rather than send a SYN without it. */
void client_compute_budget(client *cl)
{
    const client_cfg *cfg = &cl->cfg;
    const mpx_signal *s = cl->sig;
    cl->syn_opt_bytes = cl->syn_opt_total = -1;
    cl->opt_fits = true;
    if (s->helper != MPX_SIG_HELPER_TCPOPT || !s->optd_item || !cl->ops->syn_option)
        return;
    char *b = cl->budget_spec;
    size_t cap = sizeof cl->budget_spec;
    int n = snprintf(b, cap, "mss");
    if (client_read_sysctl("/proc/sys/net/ipv4/tcp_sack", 1))
        n += snprintf(b + n, cap - (size_t)n, ",sackperm");
    if (client_read_sysctl("/proc/sys/net/ipv4/tcp_timestamps", 1))
        n += snprintf(b + n, cap - (size_t)n, ",ts");
    if (client_read_sysctl("/proc/sys/net/ipv4/tcp_window_scaling", 1))
        n += snprintf(b + n, cap - (size_t)n, ",ws");
    if (cfg->tfo_direct && !cfg->tfo_direct_nc)
        n += snprintf(b + n, cap - (size_t)n, ",tfo:8");   /* Linux's own cookie size */
    if (cfg->mptcp)
        n += snprintf(b + n, cap - (size_t)n, ",mpc");
    /* the row's budget item; '@' stands for the target's address family */
    char fam = mpxa_addr_family(&cfg->target) == AF_INET6 ? '6' : '4';
    n += snprintf(b + n, cap - (size_t)n, ",");
    for (const char *p = s->optd_item; *p && (size_t)n + 1 < cap; p++)
        b[n++] = *p == '@' ? fam : *p;
    b[n] = 0;
    uint8_t opt[40];
    long len = cl->ops->syn_option(cl, opt, sizeof opt);
    if (len <= 0)
        return;
    mpx_hex_format(opt, (size_t)len, cl->opt_hex);
    mpx_budget bu;
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_budget_from_spec(MPX_SEG_SYN, cl->budget_spec, &bu, &e) < 0 || bu.n == 0)
        return;
    cl->syn_opt_bytes = (int)bu.requested;
    cl->syn_opt_total = (int)bu.total;
    cl->opt_fits = !bu.line[bu.n - 1].dropped;
}

/* ---------- mpx-optd control (agents/optd/ctl.h) ---------- */

int client_optd_open(client *cl)
{
    char suffix[24], fallback[48];
    snprintf(suffix, sizeof suffix, ".c%d", (int)getpid());
    snprintf(fallback, sizeof fallback, "/tmp/mpx-client-optd.%d", (int)getpid());
    cl->optd_fd = optd_ctl_open(cl->cfg.optd_path, suffix, fallback, 1000, &cl->optd_to,
                                cl->optd_me, sizeof cl->optd_me);
    return cl->optd_fd < 0 ? -1 : 0;
}

void client_optd_close(client *cl)
{
    if (cl->optd_fd < 0)
        return;
    close(cl->optd_fd);
    unlink(cl->optd_me);
    cl->optd_fd = -1;
}

/* One request, one reply (blocking, local, sub-millisecond). 0 on an "ok" reply; otherwise
 * -1 with the reply or the reason in reply. */
static int optd_req(client *cl, const char *req, char *reply, size_t cap)
{
    const char *path = cl->cfg.optd_path;
    if (cl->optd_dead) {
        snprintf(reply, cap, "mpx-optd at %s stopped answering", path);
        return -1;
    }
    int r = optd_ctl_call(cl->optd_fd, &cl->optd_to, req, reply, cap);
    if (r == -1) {
        snprintf(reply, cap, "send to %s: %s", path, strerror(errno));
        return -1;
    }
    if (r < 0) {
        snprintf(reply, cap, "no reply from %s", path);
        cl->optd_dead = true;
        return -1;
    }
    return optd_ctl_is_ok(reply) ? 0 : -1;
}

int client_mark_syn(client *cl, cconn *c, const mpxa_addr *dst)
{
    const client_cfg *cfg = &cl->cfg;
    mpx_sig_helper helper = cl->sig->helper;
    if (helper == MPX_SIG_HELPER_NONE)
        return 0;
    if (!cfg->optd_path) {
        if (helper == MPX_SIG_HELPER_IPOPT && !cfg->mptcp && mpxa_addr_family(dst) == AF_INET) {
            /* plain TCP accepts IP_OPTIONS (MPTCP sockets do not: ENOPROTOOPT) */
            if (setsockopt(c->fd, IPPROTO_IP, IP_OPTIONS, mpx_ipopt_ra, MPX_IPOPT_RA_LEN) < 0) {
                client_set_err(c, "IP_OPTIONS router alert: %s", strerror(errno));
                return -1;
            }
        }
        /* otherwise the registration comes from outside (by destination) */
        return 0;
    }
    /* mpx-optd marks SYNs by source port: bind one before connect */
    if (!cfg->have_bind) {
        mpxa_addr any = { .len = 0 };
        uint8_t zero[16] = { 0 };
        mpxa_addr_from_raw(&any, zero, mpxa_addr_family(dst) == AF_INET6 ? 16 : 4, 0);
        if (bind(c->fd, &any.u.sa, any.len) < 0) {
            client_set_err(c, "bind: %s", strerror(errno));
            return -1;
        }
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    mpxa_addr me;
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
        mpxa_addr_from_sa(&me, (struct sockaddr *)&ss, sl) < 0 || !mpxa_addr_port(&me)) {
        client_set_err(c, "no local port before connect for the mpx-optd registration");
        return -1;
    }
    char req[OPTD_CTL_MAX], reply[128];
    if (helper == MPX_SIG_HELPER_IPOPT)
        optd_ctl_fmt_ra_sport(req, sizeof req, mpxa_addr_port(&me));
    else
        optd_ctl_fmt_opt_sport(req, sizeof req, mpxa_addr_port(&me), cl->opt_hex);
    if (optd_req(cl, req, reply, sizeof reply) < 0) {
        client_set_err(c, "mpx-optd registration: %s", reply);
        return -1;
    }
    c->optd_sport = mpxa_addr_port(&me);
    return 0;
}

void client_unmark_syn(client *cl, cconn *c)
{
    if (!c->optd_sport)
        return;
    char req[OPTD_CTL_MAX], reply[128];
    optd_ctl_fmt_del_sport(req, sizeof req, c->optd_sport);
    optd_req(cl, req, reply, sizeof reply);
}
