/* Workload specs shared by mpx-client and the harness:
 *   "rr REQ/RESP"   request/response: REQ total request bytes (incl. 16-byte header, min 16),
 *                   RESP response bytes                         e.g. "rr 100/1000"
 *   "bulk-down N"   16-byte request, N response bytes           e.g. "bulk-down 10MB"
 *   "bulk-up N"     N request bytes (incl. header, min 16), 16-byte response as completion
 *   "echo N"        N request bytes echoed back (response == request)
 * Sizes: plain bytes or with a suffix B, KB/kB (1000), MB, GB, KiB (1024), MiB, GiB; the
 * total must fit the u32 length fields of the MPX1 header. */
#ifndef MPX_AGENTS_WORKLOAD_H
#define MPX_AGENTS_WORKLOAD_H
#include <stddef.h>
#include <stdint.h>
#include "lib/pattern.h"

typedef enum { MPXA_WL_RR, MPXA_WL_BULK_DOWN, MPXA_WL_BULK_UP, MPXA_WL_ECHO } mpxa_wl_kind;

typedef struct {
    mpxa_wl_kind kind;
    uint32_t req_len;     /* total request bytes incl. header */
    uint32_t resp_len;
    uint32_t flags;       /* MPXA_FLAG_ECHO for echo; seed bits left 0 */
} mpxa_workload;

#define MPXA_BULK_UP_RESP 16

/* Returns 0, or -1 with a message in err. */
int mpxa_workload_parse(const char *spec, mpxa_workload *w, char *err, size_t errcap);
/* Parses "10MB" etc.; returns 0 or -1. */
int mpxa_size_parse(const char *s, uint64_t *out);
/* Canonical text ("rr 100/1000"). */
const char *mpxa_workload_fmt(const mpxa_workload *w, char *buf, size_t cap);
/* The header a client sends for this workload with the given 24-bit seed. */
mpxa_req_hdr mpxa_workload_hdr(const mpxa_workload *w, uint32_t seed24);
#endif
