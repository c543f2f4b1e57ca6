/* mpx-conform's verdicts against a scripted converter on 127.0.0.1 (plain TCP, no SYN data):
 * the same case passes against the right answer and fails against each wrong one (wrong
 * Error code, echo that is not the message, RST after the Error TLV, FIN where a reset is
 * required, garbage instead of a header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "conform/conform.h"
#include "proto/convert.h"

enum { END_FIN, END_RST, END_RST_LATER };
typedef size_t (*answer_fn)(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

typedef struct {
    int       lfd;
    answer_fn answer;
    int       end;
} script;

static size_t ans_echo_error1(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    long k = mpx_conv_encode_error(MPX_CONV_E_MALFORMED, in, n, out, cap, &(mpx_err){ 0 });
    return k > 0 ? (size_t)k : 0;
}

static size_t ans_error32(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    long k = mpx_conv_encode_error(MPX_CONV_E_NOT_AUTHORIZED, NULL, 0, out, cap, &(mpx_err){ 0 });
    return k > 0 ? (size_t)k : 0;
}

static size_t ans_bad_echo(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uint8_t other[64];
    memcpy(other, in, n < sizeof other ? n : sizeof other);
    other[n - 1] ^= 0xff;   /* the target address's last byte */
    return ans_echo_error1(other, n, out, cap);
}

static size_t ans_ok(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    mpx_conv_msg m;
    mpx_conv_msg_init(&m);
    long k = mpx_conv_encode(&m, out, cap, &(mpx_err){ 0 });
    return k > 0 ? (size_t)k : 0;
}

static size_t ans_garbage(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    memcpy(out, "HTTP/1.1 400 Bad\r\n", 18);
    return 18;
}

static size_t ans_nothing(const uint8_t *in, size_t n, uint8_t *out, size_t cap) { return 0; }

/* One connection: read the whole Convert message, answer, end as scripted. */
static void *serve(void *arg)
{
    script *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    uint8_t in[1100], out[1100];
    size_t n = 0;
    for (;;) {
        size_t need = mpx_conv_frame_len(in, n);
        if (n >= 4 && (need == 0 || n >= need)) break;
        ssize_t k = read(fd, in + n, sizeof in - n);
        if (k <= 0) break;
        n += (size_t)k;
    }
    size_t fl = mpx_conv_frame_len(in, n);
    size_t o = s->answer(in, fl && fl <= n ? fl : n, out, sizeof out);
    if (o && write(fd, out, o) < 0) { /* the case sees what arrives */ }
    if (s->end == END_RST_LATER) usleep(50000);   /* the Error TLV is read first */
    if (s->end != END_FIN) {
        struct linger lg = { 1, 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        shutdown(fd, SHUT_WR);
        usleep(100000);   /* the client sees the FIN before the close */
    }
    close(fd);
    return NULL;
}

/* Runs case `id` against one scripted connection; returns its verdict. */
static cf_verdict run_case(const char *id, answer_fn a, int end, cf_result *r)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    static cf_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    mpxa_addr_from_sa(&ctx.conv, (struct sockaddr *)&sa, sl);
    ctx.timeout_ms = 1000;
    ctx.mptcp = false;
    ctx.syn_data = false;
    ctx.closed_port = 9;
    ctx.has_t4 = true;
    ctx.t4 = mpx_addr_v4(0xc6120301u, 8080);   /* never contacted: the script answers */
    size_t nc;
    const cf_case *cs = cf_cases(&nc), *c = NULL;
    for (size_t i = 0; i < nc; i++)
        if (!strcmp(cs[i].id, id)) c = &cs[i];
    assert_non_null(c);
    script s = { lfd, a, end };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
    memset(r, 0, sizeof *r);
    r->v = CF_FAIL;
    r->end = "-";
    c->run(&ctx, r);
    pthread_join(th, NULL);
    close(lfd);
    return r->v;
}

static cf_result res;

static void t_policy(void **st)
{
    assert_int_equal(run_case("policy-loopback4", ans_echo_error1, END_FIN, &res), CF_PASS);
    assert_string_equal(res.end, "eof");
    assert_int_equal(run_case("policy-loopback4", ans_error32, END_FIN, &res), CF_FAIL);
    assert_non_null(strstr(res.note, "Error 32"));
    assert_int_equal(run_case("policy-loopback4", ans_bad_echo, END_FIN, &res), CF_FAIL);
    assert_non_null(strstr(res.note, "echo"));
    assert_int_equal(run_case("policy-loopback4", ans_ok, END_FIN, &res), CF_FAIL);
    assert_int_equal(run_case("policy-loopback4", ans_nothing, END_RST, &res), CF_FAIL);
}

static void t_error_then_fin(void **st)
{
    assert_int_equal(run_case("error-then-fin", ans_echo_error1, END_FIN, &res), CF_PASS);
    assert_int_equal(run_case("error-then-fin", ans_echo_error1, END_RST_LATER, &res), CF_FAIL);
    assert_string_equal(res.end, "reset");
    assert_non_null(strstr(res.note, "RST"));
}

static void t_len_zero(void **st)
{
    assert_int_equal(run_case("hdr-len-zero", ans_nothing, END_RST, &res), CF_PASS);
    assert_int_equal(run_case("hdr-len-zero", ans_echo_error1, END_FIN, &res), CF_FAIL);
}

static void t_connect(void **st)
{
    assert_int_equal(run_case("connect-v4", ans_ok, END_FIN, &res), CF_PASS);
    assert_int_equal(res.rxn, 4);
    assert_int_equal(res.txn, 24);   /* header + base Connect, as proto/convert encodes it */
    assert_int_equal(run_case("connect-v4", ans_garbage, END_FIN, &res), CF_FAIL);
    /* a policy refusal of a valid request proves nothing either way */
    assert_int_equal(run_case("connect-v4", ans_error32, END_FIN, &res), CF_NA);
    /* a validation error to a valid request is wrong */
    assert_int_equal(run_case("connect-v4", ans_echo_error1, END_FIN, &res), CF_FAIL);
}

static void t_no_tlv(void **st)
{
    assert_int_equal(run_case("no-tlv", ans_nothing, END_RST, &res), CF_PASS);
    assert_int_equal(run_case("no-tlv", ans_echo_error1, END_FIN, &res), CF_FAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_policy),
        cmocka_unit_test(t_error_then_fin),
        cmocka_unit_test(t_len_zero),
        cmocka_unit_test(t_connect),
        cmocka_unit_test(t_no_tlv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
