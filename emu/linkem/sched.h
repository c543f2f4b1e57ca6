/* --schedule FILE: lines "TIME ACTION" (TIME from start: 1s, 1500ms, 250us), actions
 * "down", "up", "ab KEY=VAL...", "ba KEY=VAL...", "both KEY=VAL..."; '#' starts a comment.
 * Parsing is pure; entries come out sorted by time (stable for equal times). */
#ifndef LK_SCHED_H
#define LK_SCHED_H
#include <stddef.h>
#include <stdint.h>
#include "emu/linkem/spec.h"

enum lk_act { LK_ACT_DOWN, LK_ACT_UP, LK_ACT_SET };

struct lk_sched_ent {
    uint64_t t_ns;
    enum lk_act act;
    unsigned dirs;        /* bit0 ab, bit1 ba (LK_ACT_SET) */
    struct lk_params upd; /* only upd.set_mask keys apply */
    unsigned line;
};

struct lk_sched {
    struct lk_sched_ent *e;
    size_t n, next; /* next: first entry not yet applied */
};

int lk_sched_parse(const char *text, size_t len, struct lk_sched *s, char *err, size_t errlen);
int lk_sched_load(const char *path, struct lk_sched *s, char *err, size_t errlen);
void lk_sched_free(struct lk_sched *s);
#endif
