/* mpx-proxy access control and cookies: prefix parsing/matching, default refused targets,
 * per-client counts, the keyed-MAC cookie (stable, bound to the address, padding-tolerant). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "agents/proxy/proxy.h"

static mpx_addr A(const char *s)
{
    mpx_addr a;
    assert_int_equal(mpx_addr_parse(s, &a, 0), 0);
    return a;
}

static void t_prefix_parse(void **s)
{
    (void)s;
    struct prefix p;
    assert_int_equal(prefix_parse("198.18.1.0/24", &p), 0);
    assert_int_equal(p.len, 24);
    assert_int_equal(p.a.family, MPX_AF_INET);
    assert_int_equal(prefix_parse("fd00:18::/32", &p), 0);
    assert_int_equal(p.len, 32);
    assert_int_equal(prefix_parse("198.18.1.7", &p), 0);      /* host route */
    assert_int_equal(p.len, 32);
    assert_int_equal(prefix_parse("::ffff:198.18.1.0/24", &p), -1); /* mapped: IPv6 length */
    assert_int_equal(prefix_parse("::ffff:198.18.1.0/120", &p), 0);
    assert_int_equal(p.a.family, MPX_AF_INET);
    assert_int_equal(p.len, 24);
    assert_int_equal(prefix_parse("198.18.1.0/33", &p), -1);
    assert_int_equal(prefix_parse("198.18.1.0/x", &p), -1);
    assert_int_equal(prefix_parse("nonsense", &p), -1);
}

static void t_client_allow(void **s)
{
    (void)s;
    cfg.n_allow = 0;
    mpx_addr a = A("203.0.113.9");
    assert_false(acl_client_allowed(&a));                       /* no --allow: nobody (RFC 8803 s9) */
    assert_int_equal(prefix_parse("198.18.0.0/15", &cfg.allow[cfg.n_allow++]), 0);
    assert_int_equal(prefix_parse("fd00:18:1::/64", &cfg.allow[cfg.n_allow++]), 0);
    assert_false(acl_client_allowed(&a));
    a = A("198.19.255.1"); assert_true(acl_client_allowed(&a));
    a = A("198.20.0.1"); assert_false(acl_client_allowed(&a));
    a = A("::ffff:198.18.7.7"); assert_true(acl_client_allowed(&a));   /* mapped = IPv4 */
    a = A("fd00:18:1::99"); assert_true(acl_client_allowed(&a));
    a = A("fd00:18:2::99"); assert_false(acl_client_allowed(&a));
    cfg.n_allow = 0;
}

static void t_target_defaults(void **s)
{
    (void)s;
    const char *why = NULL;
    cfg.n_deny = 0;
    mpx_addr a = A("127.0.0.1:80");
    assert_int_not_equal(acl_target_check(&a, &why), 0);
    assert_string_equal(why, "loopback");
    a = A("[::1]:80"); assert_int_not_equal(acl_target_check(&a, &why), 0);
    a = A("224.0.0.1:80"); assert_int_not_equal(acl_target_check(&a, &why), 0);
    a = A("255.255.255.255:80"); assert_int_not_equal(acl_target_check(&a, &why), 0);
    a = A("0.0.0.0:80"); assert_int_not_equal(acl_target_check(&a, &why), 0);
    a = A("[::ffff:127.0.0.1]:80"); assert_int_not_equal(acl_target_check(&a, &why), 0);
    a = A("198.51.100.1:0"); assert_int_not_equal(acl_target_check(&a, &why), 0);
    assert_string_equal(why, "port 0");
    a = A("198.51.100.1:80"); assert_int_equal(acl_target_check(&a, &why), 0);
    assert_int_equal(prefix_parse("198.51.100.0/24", &cfg.deny[cfg.n_deny++]), 0);
    assert_int_not_equal(acl_target_check(&a, &why), 0);
    assert_string_equal(why, "deny-target");
    a = A("198.51.101.1:80"); assert_int_equal(acl_target_check(&a, &why), 0);
    cfg.n_deny = 0;
}

static void t_client_counts(void **s)
{
    (void)s;
    mpx_addr a = A("198.18.1.1:1000"), b = A("198.18.1.1:2000"), c = A("[::ffff:198.18.1.1]:3");
    struct client_ent *e1 = client_get(&a), *e2 = client_get(&b), *e3 = client_get(&c);
    assert_ptr_equal(e1, e2);            /* ports do not matter */
    assert_ptr_equal(e1, e3);            /* nor the mapped form */
    assert_int_equal(client_count(e1), 3);
    client_put(e3); client_put(e2);
    assert_int_equal(client_count(e1), 1);
    mpx_addr d = A("198.18.1.2");
    struct client_ent *e4 = client_get(&d);
    assert_ptr_not_equal(e4, e1);
    assert_int_equal(client_count(e4), 1);
    client_put(e4); client_put(e1);
}

static void t_cookie(void **s)
{
    (void)s;
    static const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    memcpy(cfg.cookie_key, key, sizeof key);
    cfg.cookie_key_len = sizeof key;
    cfg.cookie_len = 8;
    mpx_addr a = A("198.18.1.1"), b = A("198.18.1.2"), am = A("::ffff:198.18.1.1");
    uint8_t c1[16], c2[16], c3[16], pad[12];
    assert_int_equal(cookie_make(&a, c1), 8);
    cookie_make(&a, c2);
    assert_memory_equal(c1, c2, 8);                  /* stateless: same input, same cookie */
    cookie_make(&b, c3);
    assert_memory_not_equal(c1, c3, 8);              /* bound to the address */
    assert_true(cookie_check(&a, c1, 8));
    assert_true(cookie_check(&am, c1, 8));           /* mapped form = same client */
    assert_false(cookie_check(&b, c1, 8));
    memcpy(pad, c1, 8); memset(pad + 8, 0, 4);
    assert_true(cookie_check(&a, pad, 12));          /* Cookie TLV zero padding */
    pad[10] = 1;
    assert_false(cookie_check(&a, pad, 12));
    assert_false(cookie_check(&a, c1, 7));           /* truncated */
    c2[0] ^= 1;
    assert_false(cookie_check(&a, c2, 8));           /* forged */
    cfg.cookie_len = 16;
    assert_int_equal(cookie_make(&a, c2), 16);
    assert_memory_equal(c1, c2, 8);                  /* longer cookie = longer truncation */
    cfg.cookie_len = 8;
    cfg.cookie_key[0] ^= 0xff;                       /* key rotation invalidates cookies */
    assert_false(cookie_check(&a, c1, 8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_prefix_parse),
        cmocka_unit_test(t_client_allow),
        cmocka_unit_test(t_target_defaults),
        cmocka_unit_test(t_client_counts),
        cmocka_unit_test(t_cookie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
