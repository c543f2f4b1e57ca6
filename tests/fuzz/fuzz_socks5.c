/* libFuzzer target: SOCKS5 / RFC 1929 decoders. The first byte picks the message type;
 * a decoded message re-encodes to exactly the bytes it was decoded from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    uint8_t out[600];
    mpx_err e;
    mpx_err_clear(&e);
    long n = -2;
    size_t used = 0;
    int r;
    switch (data[0] % 6) {
    case 0: {
        mpx_s5_greeting g;
        r = mpx_s5_decode_greeting(p, len, &g, &e);
        if (r == MPX_DEC_OK) { used = g.len; n = mpx_s5_encode_greeting(g.methods, g.nmethods, out, sizeof out, &e); }
        break;
    }
    case 1: {
        uint8_t m;
        r = mpx_s5_decode_choice(p, len, &m, &e);
        if (r == MPX_DEC_OK) { used = 2; n = mpx_s5_encode_choice(m, out, sizeof out, &e); }
        break;
    }
    case 2:
    case 3: {
        mpx_s5_msg m;
        r = data[0] % 6 == 2 ? mpx_s5_decode_request(p, len, &m, &e) : mpx_s5_decode_reply(p, len, &m, &e);
        if (r == MPX_DEC_OK) {
            used = m.len;
            if (m.len > len) abort();
            n = data[0] % 6 == 2 ? mpx_s5_encode_request(&m, out, sizeof out, &e) : mpx_s5_encode_reply(&m, out, sizeof out, &e);
        }
        break;
    }
    case 4: {
        mpx_s5_auth a;
        r = mpx_s5_decode_auth(p, len, &a, &e);
        if (r == MPX_DEC_OK) { used = a.len; n = mpx_s5_encode_auth(a.user, a.pass, out, sizeof out, &e); }
        break;
    }
    default: {
        uint8_t st;
        r = mpx_s5_decode_auth_reply(p, len, &st, &e);
        if (r == MPX_DEC_OK) { used = 2; n = mpx_s5_encode_auth_reply(st, out, sizeof out, &e); }
        break;
    }
    }
    if (r != MPX_DEC_OK) {
        if (!e.rule) abort();
        return 0;
    }
    if (used > len || n != (long)used || memcmp(out, p, used) != 0) abort();
    return 0;
}
