#include "lib/pattern.h"
#include <endian.h>
#include <string.h>

static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);   /* one 8-byte store; the byte order is fixed by htole64 */
}

void mpxa_pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
    uint8_t blk[8];
    size_t i = 0;
    /* leading partial block */
    if (n && (off & 7)) {
        put_le64(blk, splitmix64(seed + off / 8));
        while (i < n && ((off + i) & 7))
            buf[i] = blk[(off + i) & 7], i++;
    }
    /* whole blocks */
    uint64_t k = (off + i) / 8;
    for (; n - i >= 8; i += 8, k++)
        put_le64(buf + i, splitmix64(seed + k));
    if (i < n) {
        put_le64(blk, splitmix64(seed + k));
        for (size_t j = 0; i < n; j++, i++)
            buf[i] = blk[j];
    }
}

bool mpxa_pattern_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t n, size_t *bad)
{
    size_t i = 0;
    /* compare 8-byte blocks in place; fall back to bytes at the edges and to locate a miss */
    while (i < n && ((off + i) & 7)) {
        uint8_t b;
        mpxa_pattern_fill(seed, off + i, &b, 1);
        if (b != buf[i]) {
            if (bad)
                *bad = i;
            return false;
        }
        i++;
    }
    uint64_t k = (off + i) / 8;
    for (; n - i >= 8; i += 8, k++) {
        uint64_t want = htole64(splitmix64(seed + k)), got;
        memcpy(&got, buf + i, 8);
        if (got != want) {
            for (size_t j = 0; j < 8; j++)
                if (((const uint8_t *)&want)[j] != buf[i + j]) {
                    if (bad)
                        *bad = i + j;
                    return false;
                }
        }
    }
    if (i < n) {
        uint8_t blk[8];
        put_le64(blk, splitmix64(seed + k));
        for (size_t j = 0; i < n; j++, i++)
            if (blk[j] != buf[i]) {
                if (bad)
                    *bad = i;
                return false;
            }
    }
    return true;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void mpxa_hdr_encode(const mpxa_req_hdr *h, uint8_t out[MPXA_HDR_LEN])
{
    memcpy(out, MPXA_HDR_MAGIC, 4);
    put_be32(out + 4, h->req_len);
    put_be32(out + 8, h->resp_len);
    put_be32(out + 12, h->flags);
}

int mpxa_hdr_decode(const uint8_t in[MPXA_HDR_LEN], mpxa_req_hdr *h)
{
    if (memcmp(in, MPXA_HDR_MAGIC, 4) != 0)
        return MPXA_HDR_BAD_MAGIC;
    h->req_len = get_be32(in + 4);
    h->resp_len = get_be32(in + 8);
    h->flags = get_be32(in + 12);
    if (h->req_len < MPXA_HDR_LEN)
        return MPXA_HDR_BAD_LEN;
    if ((h->flags & MPXA_FLAG_ECHO) && h->resp_len != h->req_len)
        return MPXA_HDR_BAD_ECHO;
    return MPXA_HDR_OK;
}

uint32_t mpxa_hdr_seed(const mpxa_req_hdr *h) { return h->flags >> MPXA_FLAG_SEED_SHIFT; }

void mpxa_hdr_set_seed(mpxa_req_hdr *h, uint32_t seed24)
{
    h->flags = (h->flags & 0xffu) | ((seed24 & 0xffffffu) << MPXA_FLAG_SEED_SHIFT);
}

/* Direction constants keep request and response streams different for the same seed. */
uint64_t mpxa_req_stream_seed(const mpxa_req_hdr *h)
{
    return splitmix64(0x4d50583152455100ull ^ mpxa_hdr_seed(h));   /* "MPX1REQ" */
}

uint64_t mpxa_resp_stream_seed(const mpxa_req_hdr *h)
{
    return splitmix64(0x4d50583152535000ull ^ mpxa_hdr_seed(h));   /* "MPX1RSP" */
}

void mpxa_req_fill(const mpxa_req_hdr *h, uint64_t off, uint8_t *buf, size_t n)
{
    if (off < MPXA_HDR_LEN && n) {
        uint8_t hb[MPXA_HDR_LEN];
        mpxa_hdr_encode(h, hb);
        size_t c = MPXA_HDR_LEN - off < n ? MPXA_HDR_LEN - (size_t)off : n;
        memcpy(buf, hb + off, c);
        buf += c;
        n -= c;
        off += c;
    }
    if (n)
        mpxa_pattern_fill(mpxa_req_stream_seed(h), off - MPXA_HDR_LEN, buf, n);
}

bool mpxa_req_check(const mpxa_req_hdr *h, uint64_t off, const uint8_t *buf, size_t n, size_t *bad)
{
    size_t base = 0;
    if (off < MPXA_HDR_LEN && n) {
        uint8_t hb[MPXA_HDR_LEN];
        mpxa_hdr_encode(h, hb);
        size_t c = MPXA_HDR_LEN - off < n ? MPXA_HDR_LEN - (size_t)off : n;
        for (size_t k = 0; k < c; k++)
            if (hb[off + k] != buf[k]) {
                if (bad)
                    *bad = k;
                return false;
            }
        base = c;
        off += c;
    }
    size_t b2 = 0;
    if (n > base && !mpxa_pattern_check(mpxa_req_stream_seed(h), off - MPXA_HDR_LEN, buf + base, n - base, &b2)) {
        if (bad)
            *bad = base + b2;
        return false;
    }
    return true;
}

void mpxa_resp_fill(const mpxa_req_hdr *h, uint64_t off, uint8_t *buf, size_t n)
{
    if (h->flags & MPXA_FLAG_ECHO)
        mpxa_req_fill(h, off, buf, n);
    else
        mpxa_pattern_fill(mpxa_resp_stream_seed(h), off, buf, n);
}

bool mpxa_resp_check(const mpxa_req_hdr *h, uint64_t off, const uint8_t *buf, size_t n, size_t *bad)
{
    if (h->flags & MPXA_FLAG_ECHO)
        return mpxa_req_check(h, off, buf, n, bad);
    return mpxa_pattern_check(mpxa_resp_stream_seed(h), off, buf, n, bad);
}
