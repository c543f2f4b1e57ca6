/* lib/file: atomic writes and ready files. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "lib/file.h"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/mpx-test-file.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    return rmdir(dir);
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

static int count_entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void t_write(void **st)
{
    (void)st;
    char path[256], buf[64];
    snprintf(path, sizeof path, "%s/out.json", dir);
    assert_int_equal(mpx_file_write_atomic(path, "one\n", 4), 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 4);
    assert_string_equal(buf, "one\n");
    /* replaces, never appends, and leaves no temp file behind */
    assert_int_equal(mpx_file_write_atomic(path, "2", 1), 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 1);
    assert_string_equal(buf, "2");
    assert_int_equal(mpx_file_write_atomic(path, NULL, 0), 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 0);
    assert_int_equal(count_entries(), 1);
}

static void t_fail(void **st)
{
    (void)st;
    char path[256];
    snprintf(path, sizeof path, "%s/missing/x", dir);
    errno = 0;
    assert_int_equal(mpx_file_write_atomic(path, "x", 1), -1);
    assert_int_equal(errno, ENOENT);
    /* rename onto a directory fails: the temp file must be gone */
    snprintf(path, sizeof path, "%s", dir);
    assert_int_equal(mpx_file_write_atomic(path, "x", 1), -1);
    assert_int_equal(count_entries(), 1);
    assert_int_equal(mpx_file_write_atomic("", "x", 1), -1);
    assert_int_equal(errno, EINVAL);
}

static void t_ready(void **st)
{
    (void)st;
    char path[256], buf[64], want[64];
    snprintf(path, sizeof path, "%s/x.ready", dir);
    assert_int_equal(mpx_file_ready(path), 0);
    slurp(path, buf, sizeof buf);
    snprintf(want, sizeof want, "ready %ld\n", (long)getpid());
    assert_string_equal(buf, want);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_write), cmocka_unit_test(t_fail), cmocka_unit_test(t_ready),
    };
    return cmocka_run_group_tests(t, setup, teardown);
}
