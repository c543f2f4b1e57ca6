/* mpx-proxy's parse_args(): the listener options and defaults come from the front-end table
 * (the CLI is unchanged: without any listener option convert 5124, mpconvert 5125,
 * mpconvert-ie 5126, socks5 1080), every number is checked whole (junk, trailing characters,
 * signs, blanks and out-of-range values exit 2, on the command line and in --config files),
 * and --help names every listener option (the harness still looks for them there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "agents/proxy/proxy.h"

static struct config cf;

/* parse_args on "mpx-proxy WORDS" (words split at blanks; "''" is an empty word) into a
 * fresh cf; returns its result (-1 = go on, else the exit status). */
static int run(const char *words)
{
    char buf[1024], *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", words);
    memset(&cf, 0, sizeof cf);
    argv[argc++] = (char *)"mpx-proxy";
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 63; w = strtok_r(NULL, " ", &save))
        argv[argc++] = strcmp(w, "''") ? w : (char *)"";
    argv[argc] = NULL;
    return parse_args(argc, argv, &cf);
}

static int port_of(const char *fe)
{
    int i = proxy_frontend_find(fe);
    assert_true(i >= 0);
    return cf.port[i];
}

static void t_defaults(void **s)
{
    (void)s;
    assert_int_equal(run(""), -1);
    assert_int_equal(port_of("convert"), 5124);
    assert_int_equal(port_of("mpconvert"), 5125);
    assert_int_equal(port_of("mpconvert-ie"), 5126);
    assert_int_equal(port_of("socks5"), 1080);
    assert_int_equal(port_of("transparent"), 0);
    assert_int_equal(port_of("convert-tfo"), 0);
    assert_int_equal(port_of("mpconvert-opt"), 0);
    /* any listener option: only what was asked for */
    assert_int_equal(run("--transparent 5127 --convert-tfo 5129"), -1);
    assert_int_equal(port_of("convert"), 0);
    assert_int_equal(port_of("socks5"), 0);
    assert_int_equal(port_of("transparent"), 5127);
    assert_int_equal(port_of("convert-tfo"), 5129);
    assert_int_equal(run("--mpconvert-opt 5128 --optd /run/optd.sock --socks5 1081"), -1);
    assert_int_equal(port_of("mpconvert-opt"), 5128);
    assert_int_equal(port_of("socks5"), 1081);
    assert_string_equal(cf.optd_path, "/run/optd.sock");
    /* PORT 0 asks for nothing: the defaults stay */
    assert_int_equal(run("--convert 0"), -1);
    assert_int_equal(port_of("convert"), 5124);
}

static void t_numbers(void **s)
{
    (void)s;
    assert_int_equal(run("--convert 65535 --cookie-len 16 --linger 0 --pipe-size 16777216"), -1);
    assert_int_equal(port_of("convert"), 65535);
    assert_int_equal(cf.cookie_len, 16);
    assert_int_equal(cf.pipe_size, 16777216);
    assert_int_equal(run("--header-timeout 3000 --connect-timeout 1000 --max-conns 1 --drain-timeout 2000"), -1);
    assert_int_equal(cf.header_timeout_ms, 3000);
    assert_int_equal(cf.connect_timeout_ms, 1000);
    assert_int_equal(cf.max_conns, 1);
    assert_int_equal(cf.drain_timeout_ms, 2000);
    static const char *const bad[] = {
        "--convert 12x", "--convert 70000", "--convert -1", "--convert +5", "--convert 0x10",
        "--convert=", "--socks5 1e3", "--mpconvert 5125.0",
        "--cookie-len 7", "--cookie-len 17", "--cookie-len 0x8", "--linger 1s",
        "--stall-guard-max 0", "--header-timeout 600001", "--connect-timeout 99999999999999999999",
        "--drain-timeout 3600001", "--pipe-size 16777217", "--max-conns 1073741825",
        "--max-per-client abc", "--transparent ''",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (run(bad[i]) != 2) fail_msg("'%s' accepted", bad[i]);
    /* blanks around a number are not part of the grammar either */
    char *blank[] = { (char *)"mpx-proxy", (char *)"--convert", (char *)" 5", NULL };
    memset(&cf, 0, sizeof cf);
    assert_int_equal(parse_args(3, blank, &cf), 2);
    char *trail[] = { (char *)"mpx-proxy", (char *)"--linger", (char *)"5 ", NULL };
    assert_int_equal(parse_args(3, trail, &cf), 2);
}

static void t_config_file(void **s)
{
    (void)s;
    char path[] = "/tmp/test_proxy_args.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char good[] = "# comment\nconvert 5144\nsocks5  1090   # trailing\nheader-timeout 3000\n";
    assert_int_equal(write(fd, good, sizeof good - 1), (ssize_t)(sizeof good - 1));
    close(fd);
    char line[300];
    snprintf(line, sizeof line, "--config %s", path);
    assert_int_equal(run(line), -1);
    assert_int_equal(port_of("convert"), 5144);
    assert_int_equal(port_of("socks5"), 1090);
    assert_int_equal(port_of("mpconvert"), 0);
    assert_int_equal(cf.header_timeout_ms, 3000);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("convert 5144\nheader-timeout 3000ms\n", f);
    fclose(f);
    assert_int_equal(run(line), 2);
    unlink(path);
}

static void t_usage_lists_every_frontend(void **s)
{
    (void)s;
    /* --help goes to stdout: catch it in a file */
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stdout);
    int saved = dup(1);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 1) >= 0);
    int rc = run("--help");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    assert_int_equal(rc, 0);
    char text[8192];
    rewind(tmp);
    size_t n = fread(text, 1, sizeof text - 1, tmp);
    text[n] = 0;
    fclose(tmp);
    for (int i = 0; i < proxy_n_frontends; i++) {
        char opt[64];
        snprintf(opt, sizeof opt, "[--%s PORT", proxy_frontends[i]->name);
        if (!strstr(text, opt)) fail_msg("--help lacks %s", opt);
    }
    assert_non_null(strstr(text, "Without any listener option: convert 5124, mpconvert 5125, "
                                 "mpconvert-ie 5126, socks5 1080.\n"));
    assert_non_null(strstr(text, "--optd PATH"));
    assert_non_null(strstr(text, "--users FILE"));
}

static void t_usage_errors(void **s)
{
    (void)s;
    assert_int_equal(run("--no-such-option"), 2);
    assert_int_equal(run("stray-argument"), 2);
    assert_int_equal(run("--convert"), 2);
}

/* --syn-data-policy: the three policies, the rate form, what each front-end then does, and
 * refusals (unknown word, rate 0, junk after the rate); --idle-timeout 0 = off */
static void t_syn_data_policy(void **s)
{
    (void)s;
    char b[32];
    int conv = proxy_frontend_find("convert"), tfo = proxy_frontend_find("convert-tfo");
    assert_int_equal(run(""), -1);
    assert_int_equal(cf.syn_data_policy, SDP_COOKIE);
    assert_string_equal(syn_data_policy_fe(&cf, conv, b, sizeof b), "third-ack");
    assert_string_equal(syn_data_policy_fe(&cf, tfo, b, sizeof b), "immediate");
    assert_int_equal(run("--syn-data-policy third-ack"), -1);
    assert_string_equal(syn_data_policy_fe(&cf, tfo, b, sizeof b), "third-ack");
    assert_int_equal(run("--syn-data-policy immediate"), -1);
    assert_string_equal(syn_data_policy_fe(&cf, conv, b, sizeof b), "immediate");
    assert_int_equal(run("--syn-data-policy immediate:250"), -1);
    assert_int_equal(cf.syn_data_rate, 250);
    assert_string_equal(syn_data_policy_str(&cf, b, sizeof b), "immediate:250");
    assert_int_equal(run("--syn-data-policy cookie"), -1);
    assert_string_equal(syn_data_policy_str(&cf, b, sizeof b), "cookie");
    assert_int_equal(run("--syn-data-policy always"), 2);
    assert_int_equal(run("--syn-data-policy immediate:0"), 2);
    assert_int_equal(run("--syn-data-policy immediate:5x"), 2);
    assert_int_equal(run("--syn-data-policy immediate5"), 2);
    assert_int_equal(run("--idle-timeout 0"), -1);
    assert_int_equal(cf.idle_timeout_ms, 0);
    assert_int_equal(run("--idle-timeout -1"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_defaults),
        cmocka_unit_test(t_numbers),
        cmocka_unit_test(t_config_file),
        cmocka_unit_test(t_usage_lists_every_frontend),
        cmocka_unit_test(t_usage_errors),
        cmocka_unit_test(t_syn_data_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
