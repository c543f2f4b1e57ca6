/* mpx-analyze --legs: the three legs of a proxy/proxy application connection (LAN host ->
 * CPE, CPE -> HAG over the access links, HAG -> server) joined per connection, and their
 * timeline (pcap-analysis/README.md, "Three legs"). */
#ifndef MPX_ANALYZE_LEGS_H
#define MPX_ANALYZE_LEGS_H
#include "pcap-analysis/analyze.h"
#include <stddef.h>

enum { AN_LEG_NONE = -1, AN_LEG_LAN = 0, AN_LEG_ACCESS, AN_LEG_WAN, AN_LEG__N };
typedef enum { AN_LEGS_JSON = 0, AN_LEGS_TEXT, AN_LEGS_REPORT } an_legs_fmt;

/* Appends the captures of one --legs SPEC ("ROLE=PCAP[,PCAP...][,ROLE=PCAP...]"; an item
 * without "ROLE=" belongs to the role before it) to *files / *roles (*n entries, grown with
 * realloc; the file names are copies the caller frees). Returns 0, or -1 with err set. */
int an_legs_parse(const char *spec, char ***files, int **roles, int *n, char *err, size_t errlen);
/* Joins the legs of the finished context (roles[i] = role of capture i) and writes them. */
void an_legs_write(an_ctx *x, const int *roles, an_legs_fmt fmt, FILE *o);
#endif
