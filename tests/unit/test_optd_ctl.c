/* The mpx-optd control protocol (agents/optd/ctl.h): the request grammar, the request texts
 * the requesters send, reply parsing, and one round trip over a real unix datagram socket
 * with a forked daemon side (optd_control). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "agents/optd/core.h"
#include "agents/optd/ctl.h"

static optd_ctl_verb parse(const char *s, optd_ctl_req *r)
{
    static char buf[OPTD_CTL_MAX];
    snprintf(buf, sizeof buf, "%s", s);
    return optd_ctl_parse(buf, r);
}

static void t_grammar(void **st)
{
    (void)st;
    optd_ctl_req r;
    assert_int_equal(parse("stats\n", &r), OPTD_CTL_STATS);
    assert_int_equal(parse("stats now", &r), OPTD_CTL_BAD);
    assert_int_equal(parse("get 198.18.1.1 40000", &r), OPTD_CTL_GET);
    assert_string_equal(r.addr, "198.18.1.1");
    assert_int_equal(r.port, 40000);
    assert_int_equal(parse("get 198.18.1.1", &r), OPTD_CTL_BAD);
    assert_int_equal(parse("opt sport 5000 1e04e000", &r), OPTD_CTL_OPT);
    assert_false(r.by_dst);
    assert_int_equal(r.port, 5000);
    assert_string_equal(r.hex, "1e04e000");
    assert_int_equal(parse("opt sport 5000", &r), OPTD_CTL_OPT);
    assert_null(r.hex);
    assert_int_equal(parse("opt dst fd00::1 8080 1e04e000", &r), OPTD_CTL_OPT);
    assert_true(r.by_dst);
    assert_string_equal(r.addr, "fd00::1");
    assert_int_equal(r.port, 8080);
    assert_int_equal(parse("ra\tsport  7\r\n", &r), OPTD_CTL_RA);
    assert_int_equal(r.port, 7);
    assert_int_equal(parse("del dst 198.18.3.1 80", &r), OPTD_CTL_DEL);
    assert_int_equal(parse("opt dst 198.18.3.1", &r), OPTD_CTL_BAD);
    assert_int_equal(parse("opt port 1 2", &r), OPTD_CTL_BAD);
    assert_int_equal(parse("add sport 1 2", &r), OPTD_CTL_BAD);
    assert_int_equal(parse("", &r), OPTD_CTL_BAD);
}

static void t_texts(void **st)
{
    (void)st;
    char b[OPTD_CTL_MAX], a[64];
    optd_ctl_req r;
    optd_ctl_fmt_get(b, sizeof b, "198.18.1.1", 40000);
    assert_string_equal(b, "get 198.18.1.1 40000");
    optd_ctl_fmt_opt_sport(b, sizeof b, 5000, "1e04e000");
    assert_string_equal(b, "opt sport 5000 1e04e000");
    assert_int_equal(optd_ctl_parse(b, &r), OPTD_CTL_OPT);
    optd_ctl_fmt_ra_sport(b, sizeof b, 5001);
    assert_string_equal(b, "ra sport 5001");
    optd_ctl_fmt_del_sport(b, sizeof b, 5002);
    assert_string_equal(b, "del sport 5002");
    assert_true(optd_ctl_is_ok("ok"));
    assert_false(optd_ctl_is_ok("none"));
    assert_true(optd_ctl_is_err("err usage"));
    assert_true(optd_ctl_target("target [fd00::1]:80 proto 6", a, sizeof a));
    assert_string_equal(a, "[fd00::1]:80");
    assert_false(optd_ctl_target("none no-address", a, sizeof a));
}

/* The requester's side against a forked daemon side that answers two requests. */
static void t_roundtrip(void **st)
{
    (void)st;
    char path[64], me[108], out[OPTD_CTL_MAX];
    snprintf(path, sizeof path, "/tmp/test-optd-ctl.%d", (int)getpid());
    unlink(path);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int sfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(sfd >= 0);
    assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof sa), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static optd_t d;
        optd_init(&d);
        for (int i = 0; i < 2; i++) {
            char req[OPTD_CTL_MAX], rep[OPTD_CTL_MAX];
            struct sockaddr_un from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(sfd, req, sizeof req - 1, 0, (struct sockaddr *)&from, &fl);
            if (n <= 0) _exit(1);
            req[n] = 0;
            optd_control(&d, req, rep, sizeof rep);
            sendto(sfd, rep, strlen(rep), 0, (struct sockaddr *)&from, fl);
        }
        _exit(0);
    }
    struct sockaddr_un to;
    int fd = optd_ctl_open(path, ".t", NULL, 2000, &to, me, sizeof me);
    assert_true(fd >= 0);
    assert_int_equal(optd_ctl_call(fd, &to, "ra sport 6000", out, sizeof out), 0);
    assert_string_equal(out, "ok");
    assert_int_equal(optd_ctl_call(fd, &to, "get 198.18.1.1 6000", out, sizeof out), 0);
    assert_string_equal(out, "none");
    int status = -1;
    waitpid(pid, &status, 0);
    assert_int_equal(status, 0);
    /* nobody answers now: -2 after the timeout (short one) */
    close(fd);
    unlink(me);
    fd = optd_ctl_open(path, ".t", NULL, 50, &to, me, sizeof me);
    assert_true(fd >= 0);
    assert_int_equal(optd_ctl_call(fd, &to, "stats", out, sizeof out), -2);
    close(fd);
    unlink(me);
    close(sfd);
    unlink(path);
    /* no daemon socket at all: the send fails */
    fd = optd_ctl_open(path, ".t", NULL, 50, &to, me, sizeof me);
    assert_true(fd >= 0);
    assert_int_equal(optd_ctl_call(fd, &to, "stats", out, sizeof out), -1);
    close(fd);
    unlink(me);
    /* a path too long for sun_path, with and without a fallback */
    char lp[200];
    memset(lp, 'x', sizeof lp - 1);
    lp[0] = '/';
    lp[sizeof lp - 1] = 0;
    assert_int_equal(optd_ctl_open(lp, ".t", NULL, 50, &to, me, sizeof me), -1);
    lp[100] = 0;   /* the daemon path fits, with the suffix it does not */
    assert_int_equal(optd_ctl_open(lp, ".toolong-suffix", NULL, 50, &to, me, sizeof me), -1);
    snprintf(out, sizeof out, "/tmp/test-optd-ctl-fb.%d", (int)getpid());
    fd = optd_ctl_open(lp, ".toolong-suffix", out, 50, &to, me, sizeof me);
    assert_true(fd >= 0);
    assert_string_equal(me, out);
    close(fd);
    unlink(me);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_grammar),
        cmocka_unit_test(t_texts),
        cmocka_unit_test(t_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
