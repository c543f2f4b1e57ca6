/* A small JSON-line writer: one object per line, built in a fixed buffer (no allocation),
 * keys in the order they are added. Strings are escaped per RFC 8259 (mpxa_json_escape below).
 * If the buffer is too small the object is marked overflowed and mpxa_json_end() returns NULL. */
#ifndef MPX_AGENTS_JSON_H
#define MPX_AGENTS_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MPXA_JSON_CAP 4096
typedef struct {
    char   buf[MPXA_JSON_CAP];
    size_t len;
    bool   first;     /* no member written yet */
    bool   overflow;
} mpxa_json;

void mpxa_json_begin(mpxa_json *j);
void mpxa_json_str(mpxa_json *j, const char *key, const char *val);   /* val NULL -> null */
void mpxa_json_int(mpxa_json *j, const char *key, int64_t v);
void mpxa_json_uint(mpxa_json *j, const char *key, uint64_t v);
void mpxa_json_bool(mpxa_json *j, const char *key, bool v);
void mpxa_json_null(mpxa_json *j, const char *key);
void mpxa_json_dbl(mpxa_json *j, const char *key, double v);         /* NaN/inf -> null */
/* An int that may be absent: null when !present. */
void mpxa_json_opt_int(mpxa_json *j, const char *key, bool present, int64_t v);
/* Inserts already-serialized JSON (object, array, number) as the value. */
void mpxa_json_raw(mpxa_json *j, const char *key, const char *raw);
/* Closes the object, appends '\n', returns the NUL-terminated line (NULL on overflow). */
const char *mpxa_json_end(mpxa_json *j);
/* end + fputs + fflush; returns 0 or -1. */
int mpxa_json_emit(mpxa_json *j, FILE *f);
/* Escapes s into out (without quotes); returns the length or -1 if cap is too small.
 * Well-formed UTF-8 passes through; " \ \n \r \t get their short escapes; other control
 * characters, DEL and bytes that are not well-formed UTF-8 become \u00XX (the byte's value), so
 * the output is always valid JSON in valid UTF-8. Every JSON writer uses this one escaping. */
long mpxa_json_escape(const char *s, char *out, size_t cap);
/* The same for n bytes that may hold NULs. */
long mpxa_json_escape_n(const char *s, size_t n, char *out, size_t cap);
/* Writes n bytes of s to f as a quoted, escaped JSON string (for streaming writers). */
void mpxa_json_fput_str(FILE *f, const char *s, size_t n);
#endif
