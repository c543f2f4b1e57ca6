/* mpx-proxy's front-end table against the signal registry (proto/signal.h): every row's
 * front-end exists, listens on the row's port by default (rows with auth run their own
 * instance with --users on the row's port instead), and its listener does what the row
 * needs (TFO mode, interception, mpx-optd); no front-end is left without a row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "agents/proxy/proxy.h"
#include "proto/signal.h"

static const struct proxy_frontend *fe_of(const mpx_signal *s)
{
    int i = proxy_frontend_find(s->frontend);
    if (i < 0) fail_msg("signal %s: front-end '%s' is not in the proxy's table", s->name, s->frontend);
    return proxy_frontends[i];
}

static void t_every_row_has_its_frontend(void **st_)
{
    (void)st_;
    size_t n;
    const mpx_signal *sig = mpx_signals(&n);
    int rows = 0;
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *s = &sig[i];
        if (!s->frontend) continue;   /* the client talks to the target itself */
        rows++;
        const struct proxy_frontend *fe = fe_of(s);
        assert_non_null(fe);
        if (s->auth) {
            /* its own instance, started with --users, on the registry's port */
            if (!fe->users) fail_msg("signal %s needs credentials: front-end %s does not take --users", s->name, fe->name);
            assert_int_not_equal(s->port, 0);
            continue;
        }
        if (fe->port != s->port)
            fail_msg("signal %s: registry port %u, front-end %s default %u", s->name, s->port, fe->name, fe->port);
    }
    assert_true(rows > 0);
}

static void t_listener_needs_match_the_rows(void **st_)
{
    (void)st_;
    size_t n;
    const mpx_signal *sig = mpx_signals(&n);
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *s = &sig[i];
        if (!s->frontend) continue;
        const struct proxy_frontend *fe = fe_of(s);
        if (s->tfo == MPX_SIG_TFO_NO_COOKIE && !fe->syn_data_no_cookie)
            fail_msg("signal %s sends SYN data without a cookie: %s does not take it", s->name, fe->name);
        if (s->tfo == MPX_SIG_TFO_COOKIE && (!fe->tfo_cookie || fe->syn_data_no_cookie))
            fail_msg("signal %s needs real TFO cookies: %s does not issue them", s->name, fe->name);
        bool optd = s->intercept && !strcmp(s->intercept, "optd-read");
        bool tproxy = s->intercept && !optd;
        if (optd != fe->needs_optd)
            fail_msg("signal %s (intercept %s) vs front-end %s needs_optd=%d", s->name,
                     s->intercept ? s->intercept : "-", fe->name, fe->needs_optd);
        if (tproxy != fe->transparent)
            fail_msg("signal %s (intercept %s) vs front-end %s transparent=%d", s->name,
                     s->intercept ? s->intercept : "-", fe->name, fe->transparent);
        /* a signal in the stream needs a parser; one learnt at accept needs no bytes */
        if (s->where == MPX_SIG_IN_PAYLOAD || s->where == MPX_SIG_IN_APP)
            assert_non_null(fe->on_data);
        else
            assert_non_null(fe->on_accept);
    }
}

static void t_every_frontend_serves_a_row(void **st_)
{
    (void)st_;
    size_t n;
    const mpx_signal *sig = mpx_signals(&n);
    assert_true(proxy_n_frontends > 0 && proxy_n_frontends <= PROXY_FE_MAX);
    for (int f = 0; f < proxy_n_frontends; f++) {
        const struct proxy_frontend *fe = proxy_frontends[f];
        bool used = false;
        for (size_t i = 0; i < n && !used; i++)
            used = sig[i].frontend && !strcmp(sig[i].frontend, fe->name);
        if (!used) fail_msg("front-end %s serves no registry row", fe->name);
        for (int g = 0; g < f; g++) {
            if (!strcmp(proxy_frontends[g]->name, fe->name)) fail_msg("front-end %s listed twice", fe->name);
            if (proxy_frontends[g]->port == fe->port)
                fail_msg("front-ends %s and %s share port %u", proxy_frontends[g]->name, fe->name, fe->port);
        }
        assert_int_equal(proxy_frontend_find(fe->name), f);
        assert_true(fe->port > 0);
        assert_non_null(fe->help);
        assert_false(fe->syn_data_no_cookie && fe->tfo_cookie);
        assert_false(fe->on_data && fe->on_accept);
    }
    assert_int_equal(proxy_frontend_find("no-such-front-end"), -1);
    assert_int_equal(proxy_frontend_find(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_every_row_has_its_frontend),
        cmocka_unit_test(t_listener_needs_match_the_rows),
        cmocka_unit_test(t_every_frontend_serves_a_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
