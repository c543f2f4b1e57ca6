/* Per-direction link parameters (the SPEC string of mpx-linkem --ab/--ba, see README.md) and
 * their parser. Pure: no I/O, no global state. Values carry a unit, so "delay=10" is an error
 * ("0" alone is fine where a value of zero is meaningful). */
#ifndef LK_SPEC_H
#define LK_SPEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_MAX_DROPS 16 /* drop= indices per direction */

enum lk_loss_kind { LK_LOSS_NONE, LK_LOSS_BERNOULLI, LK_LOSS_GE };

struct lk_params {
    uint64_t rate_bps; /* 0 = unlimited */
    char trace[256];   /* Mahimahi trace file, "" = none (rate used instead) */
    uint64_t delay_ns;
    uint64_t jitter_ns;
    bool reorder;
    enum lk_loss_kind loss_kind;
    double loss;                     /* Bernoulli probability 0..1 */
    double ge_p, ge_r, ge_lg, ge_lb; /* Gilbert-Elliott, probabilities 0..1 */
    uint64_t queue_pkts;             /* drop-tail limit; 0 = no packet limit */
    uint64_t queue_bytes;            /* 0 = no byte limit */
    uint64_t seed;
    /* drop=IDX[,IDX...]: the frames with these arrival indices are dropped (counted as loss),
     * whatever the loss model draws: a scheduled single-packet loss, the same packet in the
     * emulator and in mpx-sim. Sorted, distinct. */
    uint32_t ndrop;
    uint64_t drop_idx[LK_MAX_DROPS];
    /* which keys a parse set; lets a schedule line change only what it names */
    unsigned set_mask;
};

enum {
    LK_K_RATE = 1u << 0,
    LK_K_TRACE = 1u << 1,
    LK_K_DELAY = 1u << 2,
    LK_K_JITTER = 1u << 3,
    LK_K_REORDER = 1u << 4,
    LK_K_LOSS = 1u << 5,
    LK_K_GE = 1u << 6,
    LK_K_QUEUE = 1u << 7,
    LK_K_SEED = 1u << 8,
    LK_K_DROP = 1u << 9,
};

#define LK_DEFAULT_QUEUE_PKTS 1000

void lk_params_default(struct lk_params *p);

/* Parses "key=value key=value ..." into *out (only the named keys are written; out->set_mask
 * gets their bits). Returns 0, or -1 with a message in err. */
int lk_spec_parse(const char *spec, struct lk_params *out, char *err, size_t errlen);

/* Applies the keys set in *upd onto *p (schedule changes). Setting rate clears trace and vice
 * versa; setting loss clears ge and vice versa. */
void lk_params_merge(struct lk_params *p, const struct lk_params *upd);

/* Unit parsers, exposed for unit tests and the schedule parser. Each returns 0 or -1. */
int lk_parse_time_ns(const char *s, uint64_t *ns);   /* the duration grammar of lib/parse.h */
int lk_parse_rate_bps(const char *s, uint64_t *bps); /* bit, kbit, mbit, gbit; bare 0 */
int lk_parse_percent(const char *s, double *prob, bool need_pct);
int lk_parse_queue(const char *s, uint64_t *pkts, uint64_t *bytes); /* Np, Nb, Nkb, Nmb */

/* True when the frame with arrival index idx is on the drop= list. */
bool lk_drop_scheduled(const struct lk_params *p, uint64_t idx);

/* Human readable one-line form (for logs). */
void lk_params_format(const struct lk_params *p, char *buf, size_t len);
#endif
