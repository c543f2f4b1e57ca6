#include "emu/linkem/sched.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lk_act_name[] = { "down", "up", "set", "carrier-down", "carrier-up" };

static int cmp_ent(const void *a, const void *b)
{
    const struct lk_sched_ent *x = a, *y = b;
    if (x->t_ns != y->t_ns) return x->t_ns < y->t_ns ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line; /* stable: file order */
}

static int parse_line(char *ln, unsigned lineno, struct lk_sched_ent *e, char *err, size_t errlen)
{
    char *save = NULL, *tm = strtok_r(ln, " \t", &save), *act = strtok_r(NULL, " \t", &save);
    char *rest = strtok_r(NULL, "", &save);
    memset(e, 0, sizeof(*e));
    e->line = lineno;
    if (!tm || !act) return snprintf(err, errlen, "line %u: want 'TIME ACTION'", lineno), -1;
    if (!strncmp(tm, "usr2+", 5)) {
        e->trig = true;
        tm += 5;
    }
    if (lk_parse_time_ns(tm, &e->t_ns))
        return snprintf(err, errlen, "line %u: bad time '%s' (want e.g. 1s, 1500ms)", lineno, tm),
               -1;
    static const enum lk_act plain[] = { LK_ACT_DOWN, LK_ACT_UP, LK_ACT_CARRIER_DOWN,
                                         LK_ACT_CARRIER_UP };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if (strcmp(act, lk_act_name[plain[i]])) continue;
        if (rest && rest[strspn(rest, " \t")])
            return snprintf(err, errlen, "line %u: '%s' takes no arguments", lineno, act), -1;
        e->act = plain[i];
        return 0;
    }
    if (!strcmp(act, "ab"))
        e->dirs = 1;
    else if (!strcmp(act, "ba"))
        e->dirs = 2;
    else if (!strcmp(act, "both"))
        e->dirs = 3;
    else
        return snprintf(err, errlen,
                        "line %u: unknown action '%s' (down up carrier-down carrier-up ab ba both)",
                        lineno, act),
               -1;
    e->act = LK_ACT_SET;
    char e2[200];
    if (!rest || !rest[strspn(rest, " \t")])
        return snprintf(err, errlen, "line %u: '%s' needs KEY=VAL", lineno, act), -1;
    if (lk_spec_parse(rest, &e->upd, e2, sizeof(e2)))
        return snprintf(err, errlen, "line %u: %s", lineno, e2), -1;
    return 0;
}

int lk_sched_parse(const char *text, size_t len, struct lk_sched *s, char *err, size_t errlen)
{
    size_t cap = 16;
    unsigned lineno = 0;
    memset(s, 0, sizeof(*s));
    s->e = malloc(cap * sizeof(*s->e));
    if (!s->e) return snprintf(err, errlen, "out of memory"), -1;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        char ln[1024];
        size_t n = (size_t)(eol - p);
        lineno++;
        if (n >= sizeof(ln)) {
            snprintf(err, errlen, "line %u: too long", lineno);
            goto bad;
        }
        memcpy(ln, p, n);
        ln[n] = 0;
        p = eol + 1;
        char *hash = strchr(ln, '#');
        if (hash) *hash = 0;
        char *q = ln;
        while (isspace((unsigned char)*q)) q++;
        if (!*q) continue;
        for (char *r = q; *r; r++)
            if (*r == '\r') *r = ' ';
        if (s->n == cap) {
            struct lk_sched_ent *ne = realloc(s->e, 2 * cap * sizeof(*ne));
            if (!ne) {
                snprintf(err, errlen, "out of memory");
                goto bad;
            }
            s->e = ne, cap *= 2;
        }
        if (parse_line(q, lineno, &s->e[s->n], err, errlen)) goto bad;
        s->n++;
    }
    qsort(s->e, s->n, sizeof(*s->e), cmp_ent);
    /* triggered entries move to their own list (sorted, as the whole array is) */
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) s->tn += s->e[i].trig;
    if (s->tn) {
        s->te = malloc(s->tn * sizeof(*s->te));
        if (!s->te) {
            snprintf(err, errlen, "out of memory");
            goto bad;
        }
        for (size_t i = 0, j = 0; i < s->n; i++) {
            if (s->e[i].trig)
                s->te[j++] = s->e[i];
            else
                s->e[k++] = s->e[i];
        }
        s->n = k;
    }
    return 0;
bad:
    lk_sched_free(s);
    return -1;
}

int lk_sched_load(const char *path, struct lk_sched *s, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    char *buf = malloc(1 << 20);
    size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    int big = buf && len == (1 << 20);
    fclose(f);
    if (!buf || big) {
        free(buf);
        return snprintf(err, errlen, "%s: larger than 1 MiB or out of memory", path), -1;
    }
    char e2[240];
    int rc = lk_sched_parse(buf, len, s, e2, sizeof(e2));
    if (rc) snprintf(err, errlen, "%s: %s", path, e2);
    free(buf);
    return rc;
}

void lk_sched_free(struct lk_sched *s)
{
    free(s->e);
    free(s->te);
    memset(s, 0, sizeof(*s));
}

uint64_t lk_sched_next_due(const struct lk_sched *s, uint64_t t0)
{
    uint64_t a = s->next < s->n ? t0 + s->e[s->next].t_ns : UINT64_MAX;
    uint64_t b = s->t_trig && s->tnext < s->tn ? s->t_trig + s->te[s->tnext].t_ns : UINT64_MAX;
    return a < b ? a : b;
}

const struct lk_sched_ent *lk_sched_pop_due(struct lk_sched *s, uint64_t t0, uint64_t now)
{
    uint64_t a = s->next < s->n ? t0 + s->e[s->next].t_ns : UINT64_MAX;
    uint64_t b = s->t_trig && s->tnext < s->tn ? s->t_trig + s->te[s->tnext].t_ns : UINT64_MAX;
    if (a <= b && a <= now) return &s->e[s->next++];
    if (b < a && b <= now) return &s->te[s->tnext++];
    return NULL;
}

void lk_sched_trigger(struct lk_sched *s, uint64_t now)
{
    s->t_trig = now ? now : 1;
    s->tnext = 0;
    s->triggers++;
}
