/* lib/json: the JSON-line writer (escaping, null/optional members, overflow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "lib/json.h"

static void t_basic(void **st)
{
    (void)st;
    static mpxa_json j;
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "type", "conn");
    mpxa_json_int(&j, "n", -5);
    mpxa_json_uint(&j, "u", 18446744073709551615ull);
    mpxa_json_bool(&j, "ok", true);
    mpxa_json_bool(&j, "no", false);
    mpxa_json_null(&j, "z");
    mpxa_json_str(&j, "s", NULL);
    mpxa_json_opt_int(&j, "a", false, 3);
    mpxa_json_opt_int(&j, "b", true, 3);
    mpxa_json_dbl(&j, "d", 0.5);
    mpxa_json_raw(&j, "r", "[1,2]");
    const char *s = mpxa_json_end(&j);
    assert_non_null(s);
    assert_string_equal(s, "{\"type\":\"conn\",\"n\":-5,\"u\":18446744073709551615,\"ok\":true,"
                           "\"no\":false,\"z\":null,\"s\":null,\"a\":null,\"b\":3,\"d\":0.5,\"r\":[1,2]}\n");
}

static void t_empty_and_escape(void **st)
{
    (void)st;
    static mpxa_json j;
    mpxa_json_begin(&j);
    assert_string_equal(mpxa_json_end(&j), "{}\n");
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "e", "a\"b\\c\nd\te\x01" "f/\xc3\xa9");
    assert_string_equal(mpxa_json_end(&j), "{\"e\":\"a\\\"b\\\\c\\nd\\te\\u0001f/\xc3\xa9\"}\n");
    char out[8];
    assert_int_equal(mpxa_json_escape("abc", out, sizeof out), 3);
    assert_int_equal(mpxa_json_escape("abcdefgh", out, sizeof out), -1);
    assert_int_equal(mpxa_json_escape("\n\n\n\n", out, sizeof out), -1);
}

static void t_overflow(void **st)
{
    (void)st;
    static mpxa_json j;
    char big[900];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    mpxa_json_begin(&j);
    for (int i = 0; i < 10; i++)
        mpxa_json_str(&j, "k", big);
    assert_true(j.overflow);
    assert_null(mpxa_json_end(&j));
    /* reusable after begin */
    mpxa_json_begin(&j);
    mpxa_json_int(&j, "x", 1);
    assert_string_equal(mpxa_json_end(&j), "{\"x\":1}\n");
}

static void t_emit(void **st)
{
    (void)st;
    static mpxa_json j;
    char mem[256] = { 0 };
    FILE *f = fmemopen(mem, sizeof mem, "w");
    assert_non_null(f);
    mpxa_json_begin(&j);
    mpxa_json_str(&j, "a", "b");
    assert_int_equal(mpxa_json_emit(&j, f), 0);
    mpxa_json_begin(&j);
    mpxa_json_int(&j, "c", 2);
    assert_int_equal(mpxa_json_emit(&j, f), 0);
    fclose(f);
    assert_string_equal(mem, "{\"a\":\"b\"}\n{\"c\":2}\n");
}

static void t_utf8(void **st)
{
    (void)st;
    static const struct { const char *in; size_t n; const char *out; } c[] = {
        { "\xc3\xa9", 2, "\xc3\xa9" },                      /* é */
        { "\xe2\x80\x94", 3, "\xe2\x80\x94" },              /* em dash */
        { "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },      /* U+1F600 */
        { "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf" },      /* U+10FFFF */
        { "\xff", 1, "\\u00ff" },
        { "\xc3", 1, "\\u00c3" },                           /* truncated */
        { "\xc3(", 2, "\\u00c3(" },
        { "\xc0\xaf", 2, "\\u00c0\\u00af" },                /* overlong '/' */
        { "\xe0\x80\xaf", 3, "\\u00e0\\u0080\\u00af" },     /* overlong */
        { "\xed\xa0\x80", 3, "\\u00ed\\u00a0\\u0080" },     /* surrogate D800 */
        { "\xf4\x90\x80\x80", 4, "\\u00f4\\u0090\\u0080\\u0080" }, /* above U+10FFFF */
        { "\x7f\x08\x0c\x1f", 4, "\\u007f\\u0008\\u000c\\u001f" },
        { "a\0b", 3, "a\\u0000b" },
        { "\"\\/\r", 4, "\\\"\\\\/\\r" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char out[64], mem[64] = { 0 }, want[70];
        long n = mpxa_json_escape_n(c[i].in, c[i].n, out, sizeof out);
        assert_int_equal(n, (long)strlen(c[i].out));
        assert_string_equal(out, c[i].out);
        FILE *f = fmemopen(mem, sizeof mem, "w");
        assert_non_null(f);
        mpxa_json_fput_str(f, c[i].in, c[i].n);
        fclose(f);
        snprintf(want, sizeof want, "\"%s\"", c[i].out);
        assert_string_equal(mem, want);
    }
    char out[4];
    assert_int_equal(mpxa_json_escape("\xe2\x80\x94", out, sizeof out), 3);
    assert_int_equal(mpxa_json_escape("\xe2\x80\x94" "a", out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_basic),
        cmocka_unit_test(t_empty_and_escape),
        cmocka_unit_test(t_overflow),
        cmocka_unit_test(t_emit),
        cmocka_unit_test(t_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
