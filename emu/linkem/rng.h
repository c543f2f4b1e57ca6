/* Seeded PRNG, one instance per direction and purpose (no global state): xoshiro256**
 * seeded through splitmix64, so any 64-bit seed (0 too) gives a good state. */
#ifndef LK_RNG_H
#define LK_RNG_H
#include <stdint.h>

struct lk_rng {
    uint64_t s[4];
};

static inline uint64_t lk_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* stream separates independent generators built from the same user seed */
static inline void lk_rng_seed(struct lk_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++) r->s[i] = lk_splitmix64(&x);
}

static inline uint64_t lk_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t lk_rng_next(struct lk_rng *r)
{
    uint64_t *s = r->s, res = lk_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = lk_rotl(s[3], 45);
    return res;
}

/* uniform in [0,1) with 53 random bits */
static inline double lk_rng_unit(struct lk_rng *r)
{
    return (double)(lk_rng_next(r) >> 11) * 0x1.0p-53;
}
#endif
