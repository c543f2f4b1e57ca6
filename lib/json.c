#include "lib/json.h"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

static void put(mpxa_json *j, const char *s, size_t n)
{
    if (j->overflow)
        return;
    if (j->len + n + 1 > sizeof j->buf) {   /* keep room for the NUL */
        j->overflow = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

static void puts_(mpxa_json *j, const char *s) { put(j, s, strlen(s)); }

static void putf(mpxa_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(mpxa_json *j, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        j->overflow = true;
        return;
    }
    put(j, tmp, (size_t)n);
}

/* Length of the well-formed UTF-8 sequence (2..4 bytes) at p, or 0: no overlong forms, no
 * surrogates, nothing above U+10FFFF (RFC 3629), so jq and friends read back what we wrote. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        if (p[0] == 0xe0) lo = 0xa0;
        if (p[0] == 0xed) hi = 0x9f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        if (p[0] == 0xf0) lo = 0x90;
        if (p[0] == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (len > n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Escapes the character at p (n bytes left) into esc; returns the input bytes it used.
 * Short forms for the common controls, \u00XX for the other controls, DEL and every byte that
 * is not part of well-formed UTF-8; everything else is copied. */
static size_t esc_char(const unsigned char *p, size_t n, char esc[8], size_t *elen)
{
    size_t u;
    switch (*p) {
    case '"':  memcpy(esc, "\\\"", 2); *elen = 2; return 1;
    case '\\': memcpy(esc, "\\\\", 2); *elen = 2; return 1;
    case '\n': memcpy(esc, "\\n", 2); *elen = 2; return 1;
    case '\r': memcpy(esc, "\\r", 2); *elen = 2; return 1;
    case '\t': memcpy(esc, "\\t", 2); *elen = 2; return 1;
    default:
        break;
    }
    if (*p >= 0x20 && *p < 0x7f) {
        esc[0] = (char)*p;
        *elen = 1;
        return 1;
    }
    if (*p >= 0x80 && (u = utf8_seq(p, n)) > 0) {
        memcpy(esc, p, u);
        *elen = u;
        return u;
    }
    snprintf(esc, 8, "\\u%04x", *p);
    *elen = 6;
    return 1;
}

long mpxa_json_escape_n(const char *s, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char esc[8];
        size_t elen;
        i += esc_char(p + i, n - i, esc, &elen);
        if (o + elen + 1 > cap)
            return -1;
        memcpy(out + o, esc, elen);
        o += elen;
    }
    if (o + 1 > cap)
        return -1;
    out[o] = 0;
    return (long)o;
}

long mpxa_json_escape(const char *s, char *out, size_t cap)
{
    return mpxa_json_escape_n(s, strlen(s), out, cap);
}

void mpxa_json_fput_str(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        /* a run of printable ASCII that needs no escape goes out in one write: most strings are
         * all of it, and one stdio call per character was an eighth of mpx-analyze --json */
        size_t run = 0;
        while (i + run < n && p[i + run] >= 0x20 && p[i + run] < 0x7f && p[i + run] != '"' &&
               p[i + run] != '\\')
            run++;
        if (run) {
            fwrite(p + i, 1, run, f);
            i += run;
            continue;
        }
        char esc[8];
        size_t elen;
        i += esc_char(p + i, n - i, esc, &elen);
        fwrite(esc, 1, elen, f);
    }
    fputc('"', f);
}

static void put_str(mpxa_json *j, const char *s)
{
    char tmp[1024];
    long n = mpxa_json_escape(s, tmp, sizeof tmp);
    if (n < 0) {
        j->overflow = true;
        return;
    }
    put(j, "\"", 1);
    put(j, tmp, (size_t)n);
    put(j, "\"", 1);
}

static void key(mpxa_json *j, const char *k)
{
    if (!j->first)
        put(j, ",", 1);
    j->first = false;
    put_str(j, k);
    put(j, ":", 1);
}

void mpxa_json_begin(mpxa_json *j)
{
    j->len = 0;
    j->buf[0] = 0;
    j->first = true;
    j->overflow = false;
    put(j, "{", 1);
}

void mpxa_json_str(mpxa_json *j, const char *k, const char *v)
{
    key(j, k);
    if (v)
        put_str(j, v);
    else
        puts_(j, "null");
}

void mpxa_json_int(mpxa_json *j, const char *k, int64_t v)
{
    key(j, k);
    putf(j, "%" PRId64, v);
}

void mpxa_json_uint(mpxa_json *j, const char *k, uint64_t v)
{
    key(j, k);
    putf(j, "%" PRIu64, v);
}

void mpxa_json_bool(mpxa_json *j, const char *k, bool v)
{
    key(j, k);
    puts_(j, v ? "true" : "false");
}

void mpxa_json_null(mpxa_json *j, const char *k)
{
    key(j, k);
    puts_(j, "null");
}

void mpxa_json_dbl(mpxa_json *j, const char *k, double v)
{
    key(j, k);
    if (isnan(v) || isinf(v))
        puts_(j, "null");
    else
        putf(j, "%.6g", v);
}

void mpxa_json_opt_int(mpxa_json *j, const char *k, bool present, int64_t v)
{
    if (present)
        mpxa_json_int(j, k, v);
    else
        mpxa_json_null(j, k);
}

void mpxa_json_raw(mpxa_json *j, const char *k, const char *raw)
{
    key(j, k);
    puts_(j, raw);
}

const char *mpxa_json_end(mpxa_json *j)
{
    put(j, "}\n", 2);
    return j->overflow ? NULL : j->buf;
}

int mpxa_json_emit(mpxa_json *j, FILE *f)
{
    const char *s = mpxa_json_end(j);
    if (!s)
        return -1;
    if (fputs(s, f) == EOF || fflush(f) == EOF)
        return -1;
    return 0;
}
