/* The deterministic payload pattern and the MPX1 request header (mpx-client <-> mpx-server).
 *
 * Application protocol client <-> server (a proxy only relays it):
 *   request  = "MPX1" | u32 request_len | u32 response_len | u32 flags   (16 bytes, big endian)
 *              followed by request_len - 16 bytes of request pattern;
 *   response = response_len bytes: the response pattern, or with flags bit0 (echo) the exact
 *              request bytes (header included) echoed back, response_len == request_len.
 *   flags    bit0 echo; bits 8..31 a 24-bit pattern seed (the client puts a per-connection
 *            value there, so bytes relayed to the wrong connection fail verification);
 *            bits 1..7 reserved, 0.
 * Pattern byte at offset i (0 = first byte after the header for requests, first response
 * byte for responses) = byte (i % 8) of splitmix64(stream_seed + i / 8), little-endian, where
 * stream_seed mixes the 24-bit seed with a direction constant. Any offset can be generated or
 * checked on its own, so partial reads verify incrementally. */
#ifndef MPX_AGENTS_PATTERN_H
#define MPX_AGENTS_PATTERN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPXA_HDR_LEN        16
#define MPXA_HDR_MAGIC      "MPX1"
#define MPXA_FLAG_ECHO      0x1u
#define MPXA_FLAG_SEED_SHIFT 8

typedef struct {
    uint32_t req_len;    /* total request bytes incl. the 16-byte header */
    uint32_t resp_len;   /* response bytes */
    uint32_t flags;
} mpxa_req_hdr;

enum { MPXA_HDR_OK = 0, MPXA_HDR_BAD_MAGIC = -1, MPXA_HDR_BAD_LEN = -2, MPXA_HDR_BAD_ECHO = -3 };
void mpxa_hdr_encode(const mpxa_req_hdr *h, uint8_t out[MPXA_HDR_LEN]);
/* Returns MPXA_HDR_OK or a negative MPXA_HDR_* code (bad magic; req_len < 16; echo with
 * resp_len != req_len). */
int  mpxa_hdr_decode(const uint8_t in[MPXA_HDR_LEN], mpxa_req_hdr *h);
uint32_t mpxa_hdr_seed(const mpxa_req_hdr *h);                 /* bits 8..31 of flags */
void mpxa_hdr_set_seed(mpxa_req_hdr *h, uint32_t seed24);

/* Raw pattern: stream_seed selects the stream. */
void mpxa_pattern_fill(uint64_t stream_seed, uint64_t off, uint8_t *buf, size_t n);
/* true if buf == pattern[off, off+n); else false and *bad = index of the first mismatch. */
bool mpxa_pattern_check(uint64_t stream_seed, uint64_t off, const uint8_t *buf, size_t n, size_t *bad);
uint64_t mpxa_req_stream_seed(const mpxa_req_hdr *h);
uint64_t mpxa_resp_stream_seed(const mpxa_req_hdr *h);

/* Request stream bytes [off, off+n) (off counts from the first header byte). */
void mpxa_req_fill(const mpxa_req_hdr *h, uint64_t off, uint8_t *buf, size_t n);
bool mpxa_req_check(const mpxa_req_hdr *h, uint64_t off, const uint8_t *buf, size_t n, size_t *bad);
/* Response stream bytes [off, off+n) (echo-aware). */
void mpxa_resp_fill(const mpxa_req_hdr *h, uint64_t off, uint8_t *buf, size_t n);
bool mpxa_resp_check(const mpxa_req_hdr *h, uint64_t off, const uint8_t *buf, size_t n, size_t *bad);
#endif
