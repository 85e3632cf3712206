/* corpus/rng.h — the corpora's random number generator (internal).
 *
 * Defines: st_rng, st_rng_seed(), st_rng_next(), st_rng_below(),
 * st_rng_uniform(), st_rng_range(), st_rng_bernoulli().
 *
 * splitmix64 (Steele, Lea & Flood 2014, as in Vigna's reference code):
 *   state += 0x9E3779B97F4A7C15;
 *   z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
 *   z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31;
 * seeded with state = seed.  Derived draws:
 *   below(n)     = floor(r * n / 2^64)   (one draw; bias < n / 2^64)
 *   uniform()    = (r >> 11) * 2^-53     in [0, 1)
 *   range(lo,hi) = lo + below(hi - lo + 1)   (inclusive bounds)
 *   bernoulli(q) = uniform() < q
 * Integer arithmetic only (plus one exact scaling), so every platform gives
 * the same stream.  docs/CORPUS.md lists the order of draws per generator.
 */
#ifndef STRATA_CORPUS_RNG_H
#define STRATA_CORPUS_RNG_H

#include <stdint.h>

typedef struct st_rng {
    uint64_t s;
} st_rng;

static inline void st_rng_seed(st_rng *r, uint64_t seed) { r->s = seed; }

static inline uint64_t st_rng_next(st_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n >= 1. */
static inline uint64_t st_rng_below(st_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)st_rng_next(r) * n) >> 64);
}

static inline double st_rng_uniform(st_rng *r)
{
    return (double)(st_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi], lo <= hi. */
static inline int64_t st_rng_range(st_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)st_rng_below(r, (uint64_t)(hi - lo) + 1);
}

static inline int st_rng_bernoulli(st_rng *r, double q) { return st_rng_uniform(r) < q; }

#endif
