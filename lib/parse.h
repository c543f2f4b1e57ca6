/* Checked text-to-number parsers shared by every binary (the bash twins live in emu/lib/parse.sh
 * and follow the same grammars). Each returns 0, or -1 with errno set (EINVAL: not the grammar,
 * ERANGE: outside the limits) and *out untouched.
 *
 * Numbers: decimal digits only, the whole string, no sign, no blanks, no hex, no exponent.
 *
 * Durations (one grammar for C, bash and the experiment/topology files):
 *     DIGITS [ "." DIGITS ] UNIT        UNIT = ns | us | ms | s | m | min    (lower case)
 *     "0"                               the one value that needs no unit
 *   e.g. "250us" "20ms" "1.5s" "2m" "2min". A bare number other than 0 is an error: "10" could
 *   be seconds or milliseconds, so it must say which. At most 9 fraction digits; the value is
 *   rounded to the nearest nanosecond (half up), mpx_parse_duration_us then rounds that to the
 *   nearest microsecond (half up). Limit: 10^15 ns (about 11.5 days).
 *
 * Seeds (one grammar and one limit for every seed: experiment files, topology files, linkem
 * SPECs, command lines):
 *     "0" | [1-9][0-9]*    at most 2^53-1 = 9007199254740991
 *   No leading zeros (so the text is the number: no octal surprise, and jq reads it back
 *   unchanged); 2^53-1 is the largest integer both bash arithmetic and jq hold exactly. */
#ifndef MPX_LIB_PARSE_H
#define MPX_LIB_PARSE_H
#include <stdint.h>

#define MPX_SEED_MAX        9007199254740991ull   /* 2^53 - 1 */
#define MPX_DURATION_MAX_NS 1000000000000000ll    /* 10^15 ns */

/* Decimal integer in [lo, hi]. */
int mpx_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Decimal number ("12", "0.5", "-3", "1e3" as strtod reads them, no hex, no inf/nan), finite,
 * in [lo, hi]. */
int mpx_parse_dbl(const char *s, double lo, double hi, double *out);
/* Duration (grammar above) in microseconds / nanoseconds. */
int mpx_parse_duration_us(const char *s, int64_t *us);
int mpx_parse_duration_ns(const char *s, int64_t *ns);
/* Seed (grammar above). */
int mpx_parse_seed(const char *s, uint64_t *seed);
#endif
