/* --schedule FILE: lines "TIME ACTION" (TIME from start: 1s, 1500ms, 250us), actions
 * "down", "up" (silent blackhole: every frame lost, the interfaces stay up), "carrier-down",
 * "carrier-up" (the same, and the emulator's two interfaces go administratively down, which
 * the veth driver shows the hosts' ends as carrier loss), "ab KEY=VAL...", "ba KEY=VAL...",
 * "both KEY=VAL..."; '#' starts a comment. A TIME written "usr2+1s" counts from the last
 * SIGUSR2 instead of the start (a triggered entry): each SIGUSR2 restores the link (up,
 * carrier on) and runs the triggered entries again from the first, in the emulator's clock.
 * Parsing is pure; entries come out sorted by time (stable for equal times). */
#ifndef LK_SCHED_H
#define LK_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "emu/linkem/spec.h"

enum lk_act { LK_ACT_DOWN, LK_ACT_UP, LK_ACT_SET, LK_ACT_CARRIER_DOWN, LK_ACT_CARRIER_UP };
extern const char *const lk_act_name[];

struct lk_sched_ent {
    uint64_t t_ns; /* from the start, or from the last trigger (trig) */
    enum lk_act act;
    unsigned dirs;        /* bit0 ab, bit1 ba (LK_ACT_SET) */
    struct lk_params upd; /* only upd.set_mask keys apply */
    unsigned line;
    bool trig; /* "usr2+TIME": counts from the last SIGUSR2 */
};

struct lk_sched {
    struct lk_sched_ent *e;  /* entries counted from the start */
    size_t n, next;          /* next: first entry not yet applied */
    struct lk_sched_ent *te; /* triggered entries ("usr2+TIME") */
    size_t tn, tnext;
    uint64_t t_trig;   /* clock of the last trigger; 0: never triggered */
    uint64_t triggers; /* triggers so far */
};

int lk_sched_parse(const char *text, size_t len, struct lk_sched *s, char *err, size_t errlen);
int lk_sched_load(const char *path, struct lk_sched *s, char *err, size_t errlen);
void lk_sched_free(struct lk_sched *s);
/* When (clock ns, t0 = the start) the next entry is due: UINT64_MAX when none is left. */
uint64_t lk_sched_next_due(const struct lk_sched *s, uint64_t t0);
/* The next entry due at or before now, in time order across both lists (an entry counted
 * from the start first at equal times), or NULL. */
const struct lk_sched_ent *lk_sched_pop_due(struct lk_sched *s, uint64_t t0, uint64_t now);
/* A trigger at clock now: the triggered entries start again from the first. */
void lk_sched_trigger(struct lk_sched *s, uint64_t now);
#endif
