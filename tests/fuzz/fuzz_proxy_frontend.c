/* Fuzzes the mpx-proxy front-ends that read the signal from the stream (convert,
 * mpconvert, mpconvert-ie, convert-tfo, socks5 with and without RFC 1929 users) through the
 * real connection code: input byte 0 picks the front-end (bits 0-2), the cookie policy (0x10)
 * and the pending resource-limit refusal (0x20, SOCKS: REP 1 at the request); the rest is what
 * the client sends before closing its write side. Every target is refused by policy (deny
 * 0.0.0.0/0 and ::/0) so nothing is ever connected, and SOCKS5 domain names fail without a
 * lookup (cfg.no_resolver): no DNS, no threads. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"
#include "agents/proxy/loop.h"

/* input byte 0 & 7 picks one of these (by the registry's names); the two socks5 slots differ
 * in the users list (none: method 00; one user: RFC 1929 method 02) */
static const char *const names[8] = { "convert", "mpconvert", "mpconvert-ie", "convert-tfo",
                                      "socks5", "socks5", "socks5", "convert" };
static int fe_pick[8];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    for (int i = 0; i < 8; i++) fe_pick[i] = proxy_frontend_find(names[i]);
    loop_init();
    prefix_parse("0.0.0.0/0", &cfg.deny[0]);
    prefix_parse("::/0", &cfg.deny[1]);
    cfg.n_deny = 2;
    cfg.linger_ms = 10;
    cfg.cookie_len = 8;
    memset(cfg.cookie_key, 7, 16);
    cfg.cookie_key_len = 16;
    cfg.no_resolver = true;
    snprintf(cfg.users[0].name, sizeof cfg.users[0].name, "user");
    snprintf(cfg.users[0].pass, sizeof cfg.users[0].pass, "pass");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4000) return 0;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0) return 0;
    cfg.cookie_required = data[0] & 0x10;
    cfg.n_users = (data[0] & 7) == 5 ? 1 : 0;
    if (size > 1 && write(sp[1], data + 1, size - 1) < 0) { close(sp[0]); close(sp[1]); return 0; }
    shutdown(sp[1], SHUT_WR);
    mpx_addr client = mpx_addr_v4(0xc6120101u, 40000), local = mpx_addr_v4(0xc61201feu, 5124);
    struct conn *c = conn_new(fe_pick[data[0] & 7], sp[0], &client, &local);
    if (!c) { close(sp[0]); close(sp[1]); return 0; }
    if (data[0] & 0x20) c->pending_fail = 64;
    for (int i = 0; i < 4 && !c->closing; i++) conn_on_client(c, EPOLLIN | EPOLLOUT);
    if (!c->closing) conn_free(c, true);   /* e.g. still waiting for more header bytes */
    conn_reap();
    uint8_t b[2048];
    while (read(sp[1], b, sizeof b) > 0) { }
    close(sp[1]);
    return 0;
}
