/* Loss models: Bernoulli and Gilbert-Elliott (two-state Markov chain, each state with its
 * own loss probability). Pure; the caller owns the PRNG. */
#ifndef LK_LOSS_H
#define LK_LOSS_H
#include <stdbool.h>
#include "emu/linkem/rng.h"
#include "emu/linkem/spec.h"

struct lk_loss {
    bool bad; /* Gilbert-Elliott state; starts good */
};

/* One decision per arriving packet. It always draws exactly two numbers from r, whatever
 * the model, so changing the model at run time keeps later draws aligned. */
bool lk_loss_drop(struct lk_loss *st, const struct lk_params *p, struct lk_rng *r);

/* Long-run loss rate of a Gilbert-Elliott chain: pi_bad = P/(P+R). */
double lk_ge_stationary_loss(double p, double r, double lg, double lb);
#endif
