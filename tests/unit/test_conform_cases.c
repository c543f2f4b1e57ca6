/* mpx-conform's case table: ids unique and well-formed, every case names its RFC, sections that
 * exist in that RFC, a level and a run function; the suites are disjoint; --serve has an
 * answer for every Error code proto/convert.h knows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "conform/conform.h"
#include "proto/convert.h"

/* Section numbers as they exist in each RFC (RFC 8803's are draft-ietf-tcpm-converters-19's). */
static const char *const sec8803[] = {
    "6", "6.1", "6.2.1", "6.2.2", "6.2.3", "6.2.4", "6.2.5", "6.2.6", "6.2.7", "6.2.8",
    "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "7.7", "8", "9",
};
static const char *const sec1928[] = { "3", "4", "5", "6" };
static const char *const sec1929[] = { "2" };

static bool known_section(const char *rfc, const char *s, size_t n)
{
    const char *const *t = sec8803;
    size_t nt = sizeof sec8803 / sizeof *sec8803;
    if (!strcmp(rfc, "1928")) { t = sec1928; nt = sizeof sec1928 / sizeof *sec1928; }
    if (!strcmp(rfc, "1929")) { t = sec1929; nt = sizeof sec1929 / sizeof *sec1929; }
    for (size_t i = 0; i < nt; i++)
        if (strlen(t[i]) == n && !strncmp(t[i], s, n)) return true;
    return false;
}

static void t_ids_unique(void **st)
{
    size_t n;
    const cf_case *c = cf_cases(&n);
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(c[i].id);
        assert_true(strlen(c[i].id) > 0 && strlen(c[i].id) <= 20);   /* the table's column */
        for (const char *p = c[i].id; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                fail_msg("case id '%s': character '%c'", c[i].id, *p);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c[i].id, c[j].id)) fail_msg("case id '%s' twice", c[i].id);
    }
}

static void t_sections_levels(void **st)
{
    size_t n, musts = 0;
    const cf_case *c = cf_cases(&n);
    for (size_t i = 0; i < n; i++) {
        const char *rfc = c[i].rfc;
        assert_non_null(rfc);
        if (strcmp(rfc, "8803") && strcmp(rfc, "1928") && strcmp(rfc, "1929"))
            fail_msg("%s: RFC %s", c[i].id, rfc);
        assert_non_null(c[i].section);
        assert_true(c[i].section[0] != 0);
        /* "6.2.1, 9": every comma-separated number is a section of that RFC */
        const char *p = c[i].section;
        while (*p) {
            size_t k = strcspn(p, ",");
            if (!known_section(rfc, p, k)) fail_msg("%s: section '%.*s' of RFC %s", c[i].id, (int)k, p, rfc);
            p += k;
            if (*p == ',') {
                assert_int_equal(p[1], ' ');
                p += 2;
            }
        }
        assert_true(c[i].level == CF_MUST || c[i].level == CF_SHOULD || c[i].level == CF_MAY ||
                    c[i].level == CF_INFO);
        assert_string_not_equal(cf_level_name(c[i].level), "?");
        musts += c[i].level == CF_MUST;
        assert_non_null(c[i].desc);
        assert_true(strlen(c[i].desc) > 10);
        assert_non_null(c[i].run);
        /* one suite each: RFC 8803 cases in the converter suite, RFC 1928/1929 in SOCKS5 */
        unsigned want = !strcmp(rfc, "8803") ? CF_SUITE_CONVERT : CF_SUITE_SOCKS5;
        if (c[i].suite != want) fail_msg("%s: suite %u", c[i].id, c[i].suite);
    }
    assert_true(musts >= 25);
}

static void t_serve_answers(void **st)
{
    size_t n;
    const char *const *a = cf_answer_names(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) assert_string_not_equal(a[i], a[j]);
    /* every Error code with a name in proto/convert.c can be served */
    for (int code = 0; code < 256; code++) {
        if (!strcmp(mpx_conv_error_name((uint8_t)code), "unassigned")) continue;
        char want[16];
        snprintf(want, sizeof want, "error-%d", code);
        bool found = false;
        for (size_t i = 0; i < n; i++) found |= !strcmp(a[i], want);
        if (!found) fail_msg("no --answer %s", want);
    }
}

static void t_names(void **st)
{
    assert_string_equal(cf_verdict_name(CF_PASS), "pass");
    assert_string_equal(cf_verdict_name(CF_FAIL), "fail");
    assert_string_equal(cf_verdict_name(CF_NA), "n/a");
    assert_string_equal(cf_level_name(CF_MUST), "MUST");
    assert_string_equal(cf_level_name(CF_INFO), "INFO");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_ids_unique),
        cmocka_unit_test(t_sections_levels),
        cmocka_unit_test(t_serve_answers),
        cmocka_unit_test(t_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
