#include "proto/buf.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mpx_fail(mpx_err *e, const char *rule, size_t off, const char *fmt, ...)
{
    if (e && !e->rule) {
        va_list ap;
        e->rule = rule;
        e->off = off;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void mpx_err_clear(mpx_err *e) { if (e) { e->rule = NULL; e->off = 0; e->msg[0] = 0; } }

bool mpx_rd_u8(mpx_rd *r, uint8_t *v)
{
    if (mpx_rd_left(r) < 1) return false;
    *v = r->p[r->off++];
    return true;
}

bool mpx_rd_u16(mpx_rd *r, uint16_t *v)
{
    if (mpx_rd_left(r) < 2) return false;
    *v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return true;
}

bool mpx_rd_u32(mpx_rd *r, uint32_t *v)
{
    if (mpx_rd_left(r) < 4) return false;
    const uint8_t *p = r->p + r->off;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    r->off += 4;
    return true;
}

bool mpx_rd_u64(mpx_rd *r, uint64_t *v)
{
    uint32_t hi, lo;
    if (mpx_rd_left(r) < 8) return false;
    mpx_rd_u32(r, &hi);
    mpx_rd_u32(r, &lo);
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

bool mpx_rd_bytes(mpx_rd *r, void *dst, size_t n)
{
    if (mpx_rd_left(r) < n) return false;
    if (n) memcpy(dst, r->p + r->off, n);
    r->off += n;
    return true;
}

bool mpx_rd_skip(mpx_rd *r, size_t n)
{
    if (mpx_rd_left(r) < n) return false;
    r->off += n;
    return true;
}

bool mpx_rd_ptr(mpx_rd *r, const uint8_t **p, size_t n)
{
    if (mpx_rd_left(r) < n) return false;
    *p = r->p + r->off;
    r->off += n;
    return true;
}

static bool wr_room(mpx_wr *w, size_t n)
{
    if (w->overflow || w->cap - w->len < n) { w->overflow = true; return false; }
    return true;
}

void mpx_wr_u8(mpx_wr *w, uint8_t v) { if (wr_room(w, 1)) w->p[w->len++] = v; }
void mpx_wr_u16(mpx_wr *w, uint16_t v) { mpx_wr_u8(w, (uint8_t)(v >> 8)); mpx_wr_u8(w, (uint8_t)v); }
void mpx_wr_u32(mpx_wr *w, uint32_t v) { mpx_wr_u16(w, (uint16_t)(v >> 16)); mpx_wr_u16(w, (uint16_t)v); }
void mpx_wr_u64(mpx_wr *w, uint64_t v) { mpx_wr_u32(w, (uint32_t)(v >> 32)); mpx_wr_u32(w, (uint32_t)v); }

void mpx_wr_bytes(mpx_wr *w, const void *src, size_t n)
{
    if (!wr_room(w, n)) return;
    if (n) memcpy(w->p + w->len, src, n);
    w->len += n;
}

void mpx_wr_zero(mpx_wr *w, size_t n)
{
    if (!wr_room(w, n)) return;
    memset(w->p + w->len, 0, n);
    w->len += n;
}

void mpx_wr_pad(mpx_wr *w, size_t align)
{
    if (align > 1 && w->len % align) mpx_wr_zero(w, align - w->len % align);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long mpx_hex_parse(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    for (; *s; s++) {
        if (*s == ' ' || *s == ':' || *s == '\n' || *s == '\t') continue;
        int v = hexval((unsigned char)*s);
        if (v < 0) return -1;
        if (hi < 0) { hi = v; continue; }
        if (n >= cap) return -1;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (long)n : -1;
}

void mpx_hex_format(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = d[p[i] >> 4]; out[2 * i + 1] = d[p[i] & 15]; }
    out[2 * n] = 0;
}

void mpx_viols_clear(mpx_viols *vs) { if (vs) { vs->n = 0; vs->dropped = 0; } }

int mpx_viol_add(mpx_viols *vs, const char *rule, size_t off, const char *fmt, ...)
{
    if (!vs) return -1;
    if (vs->n >= MPX_VIOL_MAX) { vs->dropped++; return -1; }
    mpx_viol *v = &vs->v[vs->n++];
    v->rule = rule;
    v->off = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void mpx_viol_add_err(mpx_viols *vs, const mpx_err *e)
{
    if (e && e->rule) mpx_viol_add(vs, e->rule, e->off, "%s", e->msg);
}

bool mpx_viols_has(const mpx_viols *vs, const char *rule)
{
    for (size_t i = 0; vs && i < vs->n; i++)
        if (strcmp(vs->v[i].rule, rule) == 0) return true;
    return false;
}
