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

long mpxa_json_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        size_t n;
        switch (*p) {
        case '"':  memcpy(esc, "\\\"", 2); n = 2; break;
        case '\\': memcpy(esc, "\\\\", 2); n = 2; break;
        case '\n': memcpy(esc, "\\n", 2); n = 2; break;
        case '\r': memcpy(esc, "\\r", 2); n = 2; break;
        case '\t': memcpy(esc, "\\t", 2); n = 2; break;
        case '\b': memcpy(esc, "\\b", 2); n = 2; break;
        case '\f': memcpy(esc, "\\f", 2); n = 2; break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                n = 6;
            } else {
                esc[0] = (char)*p;
                n = 1;
            }
        }
        if (o + n + 1 > cap)
            return -1;
        memcpy(out + o, esc, n);
        o += n;
    }
    if (o + 1 > cap)
        return -1;
    out[o] = 0;
    return (long)o;
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
