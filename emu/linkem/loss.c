#include "emu/linkem/loss.h"

bool lk_loss_drop(struct lk_loss *st, const struct lk_params *p, struct lk_rng *r)
{
    double u1 = lk_rng_unit(r), u2 = lk_rng_unit(r);
    switch (p->loss_kind) {
    case LK_LOSS_BERNOULLI: return u1 < p->loss;
    case LK_LOSS_GE:
        /* transition first, then the loss draw in the new state (Gilbert-Elliott as in
         * netem's "loss gemodel": the state decides the packet's fate) */
        st->bad = st->bad ? !(u1 < p->ge_r) : (u1 < p->ge_p);
        return u2 < (st->bad ? p->ge_lb : p->ge_lg);
    case LK_LOSS_NONE:
    default: return false;
    }
}

double lk_ge_stationary_loss(double p, double r, double lg, double lb)
{
    if (p + r <= 0) return lg; /* never leaves the good state */
    double pb = p / (p + r);
    return (1 - pb) * lg + pb * lb;
}
