/* RFC 8803 Cookie TLV policy: cookie = HMAC-SHA256(key, client address as 16 bytes, IPv4
 * mapped) truncated to cfg.cookie_len (8..16) bytes. Stateless: any cookie can be checked
 * by recomputing it; rotating the key (--cookie-key) invalidates all cookies. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <nettle/hmac.h>
#include "agents/proxy/proxy.h"

void cookie_init_key(void)
{
    if (cfg.cookie_key_len > 0) return;
    if (getrandom(cfg.cookie_key, sizeof cfg.cookie_key, 0) != (ssize_t)sizeof cfg.cookie_key) {
        /* getrandom cannot fail for 32 bytes after boot; keep a visible fallback anyway */
        plog(0, "getrandom failed: cookie key from time");
        int64_t t = now_us();
        memcpy(cfg.cookie_key, &t, sizeof t);
    }
    cfg.cookie_key_len = sizeof cfg.cookie_key;
}

size_t cookie_make(const mpx_addr *client, uint8_t *out)
{
    uint8_t m[16], d[SHA256_DIGEST_SIZE];
    struct hmac_sha256_ctx h;
    mpx_addr_to_mapped(client, m);
    hmac_sha256_set_key(&h, (size_t)cfg.cookie_key_len, cfg.cookie_key);
    hmac_sha256_update(&h, sizeof m, m);
    hmac_sha256_digest(&h, sizeof d, d);
    memcpy(out, d, (size_t)cfg.cookie_len);
    return (size_t)cfg.cookie_len;
}

/* The Cookie TLV value is padded to 32 bits: accept trailing zero padding after our length. */
bool cookie_check(const mpx_addr *client, const uint8_t *ck, size_t n)
{
    uint8_t want[16];
    size_t wl = cookie_make(client, want);
    if (n < wl) return false;
    for (size_t i = wl; i < n; i++) if (ck[i]) return false;
    uint8_t diff = 0;
    for (size_t i = 0; i < wl; i++) diff |= (uint8_t)(want[i] ^ ck[i]);
    return diff == 0;
}
