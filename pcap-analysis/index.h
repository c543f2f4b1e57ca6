/* Endpoint index of mpx-analyze: the candidates of a cross-capture join grouped by server
 * endpoint (family, address, port, optionally the capture they came from), each group in SYN
 * time order. A hash finds the group, a binary search the first SYN at or after a time and a
 * path-compressed "next free" array skips the entries an earlier join already took, so a join
 * costs O(log group) instead of a scan of every connection. */
#ifndef MPX_ANALYZE_INDEX_H
#define MPX_ANALYZE_INDEX_H
#include "pcap-analysis/conn.h"
#include <stddef.h>

typedef struct {
    int      af;          /* 4 or 6 */
    uint8_t  ip[16];      /* IPv4 in the first 4 bytes, the rest zero */
    uint16_t port;
    int      file;        /* capture index, -1 when the index is not per capture */
} an_ep_key;

typedef struct {
    an_conn **e;          /* candidates ordered by (endpoint, file, t_syn, id) */
    size_t   *nxt;        /* nxt[i] leads to the first free entry at or after i */
    size_t    n;
    size_t   *hash;       /* open addressing: group start + 1, 0 empty */
    size_t    hmask;
    bool      by_file;
} an_epidx;

/* Indexes every connection of t for which keep(c) holds (it must have a SYN time) by its
 * server endpoint (and capture when by_file). Exits 2 when out of memory, like an_lookup. */
void an_epidx_build(an_epidx *ix, const an_table *t, bool (*keep)(const an_conn *), bool by_file);
void an_epidx_free(an_epidx *ix);
/* First free entry of group k with t_syn >= t: its index, and *end the group's end; returns
 * *end when there is none. */
size_t an_epidx_find(an_epidx *ix, const an_ep_key *k, int64_t t, size_t *end);
/* First free entry at or after i (may lie past the group: compare with its end). */
size_t an_epidx_free_from(an_epidx *ix, size_t i);
/* Marks entry i taken. */
void an_epidx_take(an_epidx *ix, size_t i);
/* The server endpoint of c as a key. */
void an_ep_key_of(an_ep_key *k, const an_conn *c, int file);
#endif
