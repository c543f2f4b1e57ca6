/* Bounds-checked byte reader/writer and the decode-error type shared by every codec in
 * proto/. No global state; every read checks the remaining length first, so a decoder can
 * never read past the buffer it was given. */
#ifndef MPX_PROTO_BUF_H
#define MPX_PROTO_BUF_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Why a decode failed: a stable rule ID (e.g. "CONV-HDR-MAGIC", documented next to the rule
 * it checks) plus a human sentence with the offending values. */
typedef struct {
    const char *rule;  /* NULL when no error */
    size_t      off;   /* byte offset in the input where the rule failed */
    char        msg[160];
} mpx_err;

/* Records an error (first one wins) and returns -1, so decoders can `return mpx_fail(...)`. */
int  mpx_fail(mpx_err *e, const char *rule, size_t off, const char *fmt, ...)
     __attribute__((format(printf, 4, 5)));
void mpx_err_clear(mpx_err *e);

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
} mpx_rd;

static inline mpx_rd mpx_rd_init(const void *p, size_t len) { return (mpx_rd){ (const uint8_t *)p, len, 0 }; }
static inline size_t mpx_rd_left(const mpx_rd *r) { return r->len - r->off; }
/* Each getter returns false (and consumes nothing) if fewer bytes remain than it needs. */
bool mpx_rd_u8(mpx_rd *r, uint8_t *v);
bool mpx_rd_u16(mpx_rd *r, uint16_t *v);   /* network byte order */
bool mpx_rd_u32(mpx_rd *r, uint32_t *v);
bool mpx_rd_u64(mpx_rd *r, uint64_t *v);
bool mpx_rd_bytes(mpx_rd *r, void *dst, size_t n);
bool mpx_rd_skip(mpx_rd *r, size_t n);
/* Points *p at the next n bytes without copying. */
bool mpx_rd_ptr(mpx_rd *r, const uint8_t **p, size_t n);

typedef struct {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool overflow;  /* set once a put did not fit; later puts are ignored */
} mpx_wr;

static inline mpx_wr mpx_wr_init(void *p, size_t cap) { return (mpx_wr){ (uint8_t *)p, cap, 0, false }; }
void mpx_wr_u8(mpx_wr *w, uint8_t v);
void mpx_wr_u16(mpx_wr *w, uint16_t v);
void mpx_wr_u32(mpx_wr *w, uint32_t v);
void mpx_wr_u64(mpx_wr *w, uint64_t v);
void mpx_wr_bytes(mpx_wr *w, const void *src, size_t n);
void mpx_wr_zero(mpx_wr *w, size_t n);
/* Pads with zeros to a multiple of `align` bytes. */
void mpx_wr_pad(mpx_wr *w, size_t align);

/* Hex helpers for CLIs and tests: parse accepts spaces, colons and an optional 0x prefix.
 * Returns the byte count or -1 on a bad digit / odd count / overflow. */
long mpx_hex_parse(const char *s, uint8_t *out, size_t cap);
/* Writes lowercase hex (NUL-terminated, 2n+1 bytes needed). */
void mpx_hex_format(const uint8_t *p, size_t n, char *out);

/* A list of rule violations, for checkers that keep going after the first problem (the
 * TCP option checker, MPTCP semantic checks). Fixed capacity, no allocation; entries past
 * the capacity are counted in `dropped`. */
#define MPX_VIOL_MAX 32
typedef struct {
    const char *rule;   /* stable rule ID, e.g. "TCPOPT-LEN-ZERO" */
    size_t      off;    /* byte offset in the checked input */
    char        msg[120];
} mpx_viol;

typedef struct {
    mpx_viol v[MPX_VIOL_MAX];
    size_t   n;
    size_t   dropped;
} mpx_viols;

void mpx_viols_clear(mpx_viols *vs);
/* Appends one violation; returns -1 like mpx_fail so checkers can chain it. */
int  mpx_viol_add(mpx_viols *vs, const char *rule, size_t off, const char *fmt, ...)
     __attribute__((format(printf, 4, 5)));
/* Copies an mpx_err (if set) into the list. */
void mpx_viol_add_err(mpx_viols *vs, const mpx_err *e);
/* True if the list holds a violation with this rule ID. */
bool mpx_viols_has(const mpx_viols *vs, const char *rule);
#endif
