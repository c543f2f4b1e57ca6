/* The signal registry: every row is complete and self-consistent (the ids, names, front-ends,
 * TFO use, helper items, interception modes, recipes and their budgets), and the budgets agree
 * with protocols.md 5.2 for the rows whose size is known by heart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/signal.h"

static unsigned requested(const mpx_signal *s, int fam, unsigned cookie, bool *fits)
{
    char spec[128];
    assert_true(mpx_signal_recipe(s, fam, cookie, spec, sizeof spec) > 0);
    mpx_budget b;
    mpx_err e;
    mpx_err_clear(&e);
    if (mpx_budget_from_spec(MPX_SEG_SYN, spec, &b, &e) != 0) fail_msg("%s: %s: %s %s", s->name, spec, e.rule, e.msg);
    if (fits) *fits = b.fits;
    return b.requested;
}

static void t_rows_complete(void **st)
{
    size_t n;
    const mpx_signal *t = mpx_signals(&n);
    assert_int_equal(n, MPX_SIG__N);
    for (size_t i = 0; i < n; i++) {
        const mpx_signal *s = &t[i];
        assert_int_equal(s->id, (mpx_sig_id)i);
        assert_ptr_equal(mpx_signal_by_id(s->id), s);
        assert_ptr_equal(mpx_signal_by_name(s->name), s);
        assert_non_null(s->channel);
        assert_non_null(s->model);
        assert_non_null(s->summary);
        assert_non_null(s->props.varlen);
        assert_non_null(s->props.multi);
        assert_non_null(s->props.ipv6);
        assert_true(!strcmp(s->props.ipv6, "budget") || s->props.ipv6_how);
        assert_non_null(mpx_wire_class_name(s->wire));
        for (size_t j = 0; j < i; j++) assert_string_not_equal(t[j].name, s->name);
        /* explicit signals talk to a proxy front-end; the baseline talks to the target */
        if (s->mode == MPX_SIG_MODE_EXPLICIT) assert_true(s->frontend && s->port);
        if (s->mode == MPX_SIG_MODE_NONE) assert_true(!s->frontend && !s->port && !s->intercept);
        /* an implicit signal needs the HAG to intercept */
        if (s->mode == MPX_SIG_MODE_IMPLICIT) assert_non_null(s->intercept);
        /* SYN data is TFO: with or without a cookie, never "none" */
        if (mpx_signal_syn_data(s)) assert_true(s->tfo == MPX_SIG_TFO_NO_COOKIE || s->tfo == MPX_SIG_TFO_COOKIE);
        else assert_true(s->tfo == MPX_SIG_TFO_NONE || s->tfo == MPX_SIG_TFO_OPTIONAL);
        /* a TCP option signal is added by the helper and has a budget item; an IP option has none */
        assert_int_equal(s->helper == MPX_SIG_HELPER_TCPOPT, s->optd_item != NULL);
        assert_int_equal(s->where == MPX_SIG_IN_TCPOPT, s->helper == MPX_SIG_HELPER_TCPOPT);
        assert_int_equal(s->where == MPX_SIG_IN_IPOPT, s->helper == MPX_SIG_HELPER_IPOPT);
        /* the analyzer sees a signal in front of the data exactly for app and payload channels */
        if (s->where == MPX_SIG_IN_APP || s->where == MPX_SIG_IN_PAYLOAD)
            assert_true(s->wire != MPX_WIRE_PLAIN && s->wire != MPX_WIRE_NONE);
        /* every recipe parses, for both families, with and without a cookie */
        for (int fam = 4; fam <= 6; fam += 2) {
            requested(s, fam, 0, NULL);
            requested(s, fam, 8, NULL);
        }
    }
    assert_null(mpx_signal_by_name("no-such-signal"));
    assert_null(mpx_signal_by_name(NULL));
    assert_null(mpx_signal_by_id(MPX_SIG__N));
    assert_null(mpx_wire_class_name(MPX_WIRE__N));
}

/* protocols.md 5.2: MSS 4 + SACK-perm/TS 12 + WS 4 (aligned) = 20; MP_CAPABLE v1 SYN 4;
 * MP_PREFER_PROXY 4; MP_CONVERT IPv4 + port 10 (12 aligned), IPv6 + port 22 (24). */
static void t_budgets(void **st)
{
    bool fits;
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_TCP), 4, 0, &fits), 20);
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_CONVERT), 4, 0, &fits), 24);
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_CONVERT_COOKIE), 4, 8, &fits), 36);
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_IMPLICIT_PREFER), 6, 0, &fits), 28);
    assert_true(fits);
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_MPCONVERT_OPT), 4, 0, &fits), 36);
    assert_true(fits);
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_MPCONVERT_OPT), 6, 0, &fits), 48);
    assert_false(fits);
    assert_int_equal(requested(mpx_signal_by_id(MPX_SIG_MPCONVERT_OPT), 4, 8, &fits), 48);
    assert_false(fits);
}

static void t_recipe_text(void **st)
{
    char b[128];
    assert_int_equal(mpx_signal_recipe(mpx_signal_by_id(MPX_SIG_MPCONVERT_OPT), 6, 8, b, sizeof b),
                     (int)strlen("mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v6+port"));
    assert_string_equal(b, "mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v6+port");
    assert_true(mpx_signal_recipe(mpx_signal_by_id(MPX_SIG_TCP), 4, 0, b, sizeof b) > 0);
    assert_string_equal(b, "mss,sackperm,ts,ws");
    assert_int_equal(mpx_signal_recipe(mpx_signal_by_id(MPX_SIG_TCP), 5, 0, b, sizeof b), -1);
    assert_int_equal(mpx_signal_recipe(mpx_signal_by_id(MPX_SIG_MPCONVERT_OPT), 4, 0, b, 10), -1);
    mpx_signal_names(b, sizeof b, ",");
    assert_true(!strncmp(b, "tcp,socks5,", 11));
    mpx_signal_names(b, 8, ",");   /* cut at a whole name */
    assert_string_equal(b, "tcp");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_rows_complete),
        cmocka_unit_test(t_budgets),
        cmocka_unit_test(t_recipe_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
