/* lib/addr: parsing and formatting of IPv4/IPv6 socket addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include "lib/addr.h"
#include "proto/addr.h"

static void t_parse_v4(void **st)
{
    (void)st;
    mpxa_addr a;
    char b[MPXA_ADDR_STRLEN];
    assert_int_equal(mpxa_addr_parse("198.18.3.1:8080", -1, &a), 0);
    assert_int_equal(mpxa_addr_family(&a), AF_INET);
    assert_int_equal(mpxa_addr_port(&a), 8080);
    assert_string_equal(mpxa_addr_fmt(&a, b, sizeof b), "198.18.3.1:8080");
    assert_string_equal(mpxa_addr_fmt_ip(&a, b, sizeof b), "198.18.3.1");
    assert_int_equal(mpxa_addr_parse("198.18.3.1", 5124, &a), 0);
    assert_int_equal(mpxa_addr_port(&a), 5124);
    assert_int_equal(mpxa_addr_parse("198.18.3.1", -1, &a), -1);   /* port mandatory */
    assert_int_equal(mpxa_addr_parse("0.0.0.0:0", -1, &a), 0);
    assert_int_equal(mpxa_addr_port(&a), 0);
}

static void t_parse_v6(void **st)
{
    (void)st;
    mpxa_addr a;
    char b[MPXA_ADDR_STRLEN];
    assert_int_equal(mpxa_addr_parse("[fd00:18:3::1]:8080", -1, &a), 0);
    assert_int_equal(mpxa_addr_family(&a), AF_INET6);
    assert_int_equal(mpxa_addr_port(&a), 8080);
    assert_string_equal(mpxa_addr_fmt(&a, b, sizeof b), "[fd00:18:3::1]:8080");
    assert_int_equal(mpxa_addr_parse("fd00:18:3::1", 1080, &a), 0);
    assert_int_equal(mpxa_addr_port(&a), 1080);
    assert_int_equal(mpxa_addr_parse("[fd00::1]", 7, &a), 0);
    assert_int_equal(mpxa_addr_port(&a), 7);
    assert_int_equal(mpxa_addr_parse("[::1]:65535", -1, &a), 0);
    assert_string_equal(mpxa_addr_fmt(&a, b, sizeof b), "[::1]:65535");
    assert_int_equal(mpxa_addr_parse("[fe80::1%2]:80", -1, &a), 0);
    assert_int_equal(a.u.in6.sin6_scope_id, 2);
    assert_string_equal(mpxa_addr_fmt(&a, b, sizeof b), "[fe80::1%2]:80");
    /* ::ffff:1.2.3.4 stays IPv6 when parsed (socket semantics) */
    assert_int_equal(mpxa_addr_parse("[::ffff:1.2.3.4]:1", -1, &a), 0);
    assert_int_equal(mpxa_addr_family(&a), AF_INET6);
}

static void t_parse_bad(void **st)
{
    (void)st;
    mpxa_addr a;
    const char *bad[] = { "", ":80", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:80x",
                          "1.2.3:80", "256.1.1.1:80", "[1.2.3.4]:80", "[fd00::1:80", "[]:80",
                          "[fd00::1]x", "fd00::1::2", "localhost:80", "[fd00::1]:+80",
                          "1.2.3.4: 80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mpxa_addr_parse(bad[i], 80, &a), -1);
    assert_int_equal(mpxa_addr_parse(NULL, 80, &a), -1);
}

static void t_raw_and_mapped(void **st)
{
    (void)st;
    mpxa_addr a, b;
    uint8_t m[16], raw[16];
    assert_int_equal(mpxa_addr_parse("192.0.2.1:80", -1, &a), 0);
    mpxa_addr_to_v6mapped(&a, m);
    static const uint8_t want[16] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff,192,0,2,1 };
    assert_memory_equal(m, want, 16);
    /* a mapped address from the wire becomes AF_INET again */
    assert_int_equal(mpxa_addr_from_raw(&b, m, 16, 80), 0);
    assert_int_equal(mpxa_addr_family(&b), AF_INET);
    assert_true(mpxa_addr_equal(&a, &b));
    assert_int_equal(mpxa_addr_raw(&b, raw), 4);
    assert_memory_equal(raw, want + 12, 4);
    mpxa_addr_set_port(&b, 81);
    assert_false(mpxa_addr_equal(&a, &b));

    assert_int_equal(mpxa_addr_parse("[fd00:18:3::1]:8080", -1, &a), 0);
    mpxa_addr_to_v6mapped(&a, m);
    assert_int_equal(mpxa_addr_from_raw(&b, m, 16, 8080), 0);
    assert_int_equal(mpxa_addr_family(&b), AF_INET6);
    assert_true(mpxa_addr_equal(&a, &b));
    assert_int_equal(mpxa_addr_from_raw(&b, m, 5, 1), -1);

    /* from a struct sockaddr */
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
    inet_pton(AF_INET, "198.18.1.1", &sin.sin_addr);
    assert_int_equal(mpxa_addr_from_sa(&b, (struct sockaddr *)&sin, sizeof sin), 0);
    char s[MPXA_ADDR_STRLEN];
    assert_string_equal(mpxa_addr_fmt(&b, s, sizeof s), "198.18.1.1:9");
    assert_int_equal(mpxa_addr_from_sa(&b, (struct sockaddr *)&sin, 4), -1);
    mpxa_addr unset = { .len = 0 };
    assert_int_equal(mpxa_addr_family(&unset), AF_UNSPEC);
    assert_string_equal(mpxa_addr_fmt(&unset, s, sizeof s), "?");
}

/* The text grammar is proto/addr.c's: both faces accept and refuse the same strings. */
static void t_one_grammar(void **st)
{
    (void)st;
    static const char *all[] = { "198.18.3.1:8080", "[fd00:18:3::1]:8080", "198.18.3.1",
                                 "fd00:18:3::1", "[fd00::1]", "0.0.0.0:0", "1.2.3.4:080",
                                 "", ":80", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1",
                                 "1.2.3.4:+1", "1.2.3.4:0x1", "1.2.3.4:000080", "1.2.3:80",
                                 "[1.2.3.4]:80", "[fd00::1:80", "[]:80", "[fd00::1]x",
                                 "fd00::1::2", "localhost:80", "1.2.3.4: 80", "1.2.3.4%1" };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        mpxa_addr a;
        mpx_addr p;
        int lib = mpxa_addr_parse(all[i], 80, &a), pro = mpx_addr_parse(all[i], &p, 0);
        if (lib != pro)
            fail_msg("'%s': lib %d proto %d", all[i], lib, pro);
        if (lib == 0) {
            char x[MPXA_ADDR_STRLEN], y[MPX_ADDR_STRLEN];
            if (!strchr(all[i], ':') || (all[i][0] == '[' && !strstr(all[i], "]:")) ||
                (all[i][0] != '[' && strchr(all[i], ':') != strrchr(all[i], ':')))
                p.port = 80;   /* no port in the text: lib uses the default */
            assert_string_equal(mpxa_addr_fmt(&a, x, sizeof x), mpx_addr_format(&p, true, y, sizeof y));
        }
    }
    /* the zone is a socket matter: proto's plain parser refuses it, the _text form reports it */
    mpx_addr p;
    bool hp = true;
    uint32_t scope = 9;
    assert_int_equal(mpx_addr_parse("[fe80::1%2]:80", &p, 0), -1);
    assert_int_equal(mpx_addr_parse_text("[fe80::1%2]:80", &p, 0, &hp, &scope), 0);
    assert_true(hp);
    assert_int_equal(scope, 2);
    assert_int_equal(p.port, 80);
    assert_int_equal(mpx_addr_parse_text("fe80::1", &p, 0, &hp, &scope), 0);
    assert_false(hp);
    assert_int_equal(scope, 0);
    assert_int_equal(mpx_addr_parse_text("fe80::1%", &p, 0, &hp, &scope), -1);
    assert_int_equal(mpx_addr_parse_text("fe80::1%eth0", &p, 0, &hp, &scope), -1);
    assert_int_equal(mpx_addr_parse_text("fe80::1%4294967296", &p, 0, &hp, &scope), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse_v4),
        cmocka_unit_test(t_parse_v6),
        cmocka_unit_test(t_parse_bad),
        cmocka_unit_test(t_raw_and_mapped),
        cmocka_unit_test(t_one_grammar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
