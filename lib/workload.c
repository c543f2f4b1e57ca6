#include "lib/workload.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mpxa_size_parse(const char *s, uint64_t *out)
{
    static const struct { const char *sfx; uint64_t mul; } units[] = {
        { "", 1 }, { "B", 1 },
        { "KB", 1000 }, { "kB", 1000 }, { "K", 1000 }, { "k", 1000 },
        { "MB", 1000000 }, { "M", 1000000 },
        { "GB", 1000000000 }, { "G", 1000000000 },
        { "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "GiB", 1024ull * 1024 * 1024 },
    };
    char *end;
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].sfx) == 0) {
            if (v > UINT64_MAX / units[i].mul)
                return -1;
            *out = v * units[i].mul;
            return 0;
        }
    }
    return -1;
}

static int err_(char *err, size_t cap, const char *msg, const char *arg)
{
    if (err && cap)
        snprintf(err, cap, "%s%s%s", msg, arg ? ": " : "", arg ? arg : "");
    return -1;
}

int mpxa_workload_parse(const char *spec, mpxa_workload *w, char *err, size_t errcap)
{
    char kind[16], arg[64], extra[2];
    if (!spec)
        return err_(err, errcap, "empty workload", NULL);
    int n = sscanf(spec, " %15s %63s %1s", kind, arg, extra);
    if (n != 2)
        return err_(err, errcap, "workload must be 'KIND SIZE' (rr REQ/RESP, bulk-down N, bulk-up N, echo N)", spec);
    memset(w, 0, sizeof *w);
    uint64_t a = 0, b = 0;
    if (strcmp(kind, "rr") == 0) {
        char *slash = strchr(arg, '/');
        if (!slash)
            return err_(err, errcap, "rr needs REQ/RESP", arg);
        *slash = 0;
        if (mpxa_size_parse(arg, &a) || mpxa_size_parse(slash + 1, &b))
            return err_(err, errcap, "bad size in rr", spec);
        w->kind = MPXA_WL_RR;
    } else if (strcmp(kind, "bulk-down") == 0) {
        if (mpxa_size_parse(arg, &b))
            return err_(err, errcap, "bad size", arg);
        a = MPXA_HDR_LEN;
        w->kind = MPXA_WL_BULK_DOWN;
    } else if (strcmp(kind, "bulk-up") == 0) {
        if (mpxa_size_parse(arg, &a))
            return err_(err, errcap, "bad size", arg);
        b = MPXA_BULK_UP_RESP;
        w->kind = MPXA_WL_BULK_UP;
    } else if (strcmp(kind, "echo") == 0) {
        if (mpxa_size_parse(arg, &a))
            return err_(err, errcap, "bad size", arg);
        if (a < MPXA_HDR_LEN)
            a = MPXA_HDR_LEN;
        b = a;
        w->kind = MPXA_WL_ECHO;
        w->flags = MPXA_FLAG_ECHO;
    } else {
        return err_(err, errcap, "unknown workload kind (rr, bulk-down, bulk-up, echo)", kind);
    }
    if (a < MPXA_HDR_LEN)
        a = MPXA_HDR_LEN;   /* the request is at least its header */
    if (a > UINT32_MAX || b > UINT32_MAX)
        return err_(err, errcap, "size exceeds 4 GB (u32 length field)", spec);
    w->req_len = (uint32_t)a;
    w->resp_len = (uint32_t)b;
    return 0;
}

const char *mpxa_workload_fmt(const mpxa_workload *w, char *buf, size_t cap)
{
    switch (w->kind) {
    case MPXA_WL_RR: snprintf(buf, cap, "rr %" PRIu32 "/%" PRIu32, w->req_len, w->resp_len); break;
    case MPXA_WL_BULK_DOWN: snprintf(buf, cap, "bulk-down %" PRIu32, w->resp_len); break;
    case MPXA_WL_BULK_UP: snprintf(buf, cap, "bulk-up %" PRIu32, w->req_len); break;
    case MPXA_WL_ECHO: snprintf(buf, cap, "echo %" PRIu32, w->req_len); break;
    }
    return buf;
}

mpxa_req_hdr mpxa_workload_hdr(const mpxa_workload *w, uint32_t seed24)
{
    mpxa_req_hdr h = { w->req_len, w->resp_len, w->flags };
    mpxa_hdr_set_seed(&h, seed24);
    return h;
}
