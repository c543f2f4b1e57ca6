/* lib/workload: the workload spec parser shared by mpx-client and the harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "lib/workload.h"

static void t_sizes(void **st)
{
    (void)st;
    uint64_t v;
    assert_int_equal(mpxa_size_parse("0", &v), 0); assert_int_equal(v, 0);
    assert_int_equal(mpxa_size_parse("1500", &v), 0); assert_int_equal(v, 1500);
    assert_int_equal(mpxa_size_parse("10MB", &v), 0); assert_int_equal(v, 10000000);
    assert_int_equal(mpxa_size_parse("10M", &v), 0); assert_int_equal(v, 10000000);
    assert_int_equal(mpxa_size_parse("2KB", &v), 0); assert_int_equal(v, 2000);
    assert_int_equal(mpxa_size_parse("2kB", &v), 0); assert_int_equal(v, 2000);
    assert_int_equal(mpxa_size_parse("3KiB", &v), 0); assert_int_equal(v, 3072);
    assert_int_equal(mpxa_size_parse("1MiB", &v), 0); assert_int_equal(v, 1048576);
    assert_int_equal(mpxa_size_parse("1GB", &v), 0); assert_int_equal(v, 1000000000);
    assert_int_equal(mpxa_size_parse("7B", &v), 0); assert_int_equal(v, 7);
    assert_int_equal(mpxa_size_parse("", &v), -1);
    assert_int_equal(mpxa_size_parse("-1", &v), -1);
    assert_int_equal(mpxa_size_parse("10XB", &v), -1);
    assert_int_equal(mpxa_size_parse("MB", &v), -1);
    assert_int_equal(mpxa_size_parse("1.5MB", &v), -1);
    assert_int_equal(mpxa_size_parse("99999999999999999999", &v), -1);
}

static void t_kinds(void **st)
{
    (void)st;
    mpxa_workload w;
    char err[128];
    assert_int_equal(mpxa_workload_parse("rr 100/1000", &w, err, sizeof err), 0);
    assert_int_equal(w.kind, MPXA_WL_RR);
    assert_int_equal(w.req_len, 100);
    assert_int_equal(w.resp_len, 1000);
    assert_int_equal(w.flags, 0);

    assert_int_equal(mpxa_workload_parse("bulk-down 10MB", &w, err, sizeof err), 0);
    assert_int_equal(w.kind, MPXA_WL_BULK_DOWN);
    assert_int_equal(w.req_len, MPXA_HDR_LEN);
    assert_int_equal(w.resp_len, 10000000);

    assert_int_equal(mpxa_workload_parse("bulk-up 10MB", &w, err, sizeof err), 0);
    assert_int_equal(w.kind, MPXA_WL_BULK_UP);
    assert_int_equal(w.req_len, 10000000);
    assert_int_equal(w.resp_len, MPXA_BULK_UP_RESP);

    assert_int_equal(mpxa_workload_parse("echo 1000", &w, err, sizeof err), 0);
    assert_int_equal(w.kind, MPXA_WL_ECHO);
    assert_int_equal(w.req_len, 1000);
    assert_int_equal(w.resp_len, 1000);
    assert_int_equal(w.flags, MPXA_FLAG_ECHO);

    /* the request is never shorter than its header */
    assert_int_equal(mpxa_workload_parse("rr 1/0", &w, err, sizeof err), 0);
    assert_int_equal(w.req_len, MPXA_HDR_LEN);
    assert_int_equal(w.resp_len, 0);
    assert_int_equal(mpxa_workload_parse("echo 4", &w, err, sizeof err), 0);
    assert_int_equal(w.req_len, MPXA_HDR_LEN);
    assert_int_equal(w.resp_len, MPXA_HDR_LEN);

    /* whitespace around is fine */
    assert_int_equal(mpxa_workload_parse("  rr 1KB/2KiB ", &w, err, sizeof err), 0);
    assert_int_equal(w.req_len, 1000);
    assert_int_equal(w.resp_len, 2048);

    mpxa_req_hdr h = mpxa_workload_hdr(&w, 0x123456);
    assert_int_equal(h.req_len, 1000);
    assert_int_equal(mpxa_hdr_seed(&h), 0x123456);
    char buf[64];
    assert_string_equal(mpxa_workload_fmt(&w, buf, sizeof buf), "rr 1000/2048");
}

static void t_errors(void **st)
{
    (void)st;
    mpxa_workload w;
    char err[128];
    const char *bad[] = { "", "rr", "rr 100", "rr 100/", "rr /100", "bulk 10MB", "bulk-down",
                          "bulk-down ten", "echo 1000 extra", "rr 100/1000/5", "bulk-up 5GB",
                          "rr 5GB/1", "ECHO 10" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(mpxa_workload_parse(bad[i], &w, err, sizeof err), -1);
        assert_true(err[0] != 0);
    }
    assert_int_equal(mpxa_workload_parse(NULL, &w, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sizes),
        cmocka_unit_test(t_kinds),
        cmocka_unit_test(t_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
