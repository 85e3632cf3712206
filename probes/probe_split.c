/* probes/probe_split.c — seeded RNG, stratified train/test split and
 * stratified k-fold assignment.
 *
 * The RNG is xoshiro256** (Blackman & Vigna) seeded by splitmix64, so a
 * seed gives the same split on every platform.  Splits are by row index:
 * they never touch X, only the class index of each row (O(n) bytes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

uint64_t pr_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void pr_rng_seed(pr_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) { r->s[i] = pr_hash64(x); x += 0x9e3779b97f4a7c15ULL; }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t pr_rng_next(pr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

double pr_rng_uniform(pr_rng *r) { return (double)(pr_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t pr_rng_below(pr_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do x = pr_rng_next(r); while (x >= lim);
    return x % n;
}

/* Rows of each class, shuffled: idx [n_used] grouped by class (start [K+1]). */
static int grouped(const int32_t *cls, int64_t n, uint64_t seed, int64_t **idx_out,
                   int64_t **start_out, int *K_out)
{
    int K = 0;
    for (int64_t i = 0; i < n; i++) if (cls[i] + 1 > K) K = cls[i] + 1;
    int64_t *start = calloc((size_t)K + 2, sizeof *start);
    if (!start) return STRATA_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) if (cls[i] >= 0) start[cls[i] + 1]++;
    for (int k = 0; k < K; k++) start[k + 1] += start[k];
    int64_t *idx = malloc(sizeof *idx * (size_t)(start[K] ? start[K] : 1));
    int64_t *pos = malloc(sizeof *pos * (size_t)(K ? K : 1));
    if (!idx || !pos) { free(start); free(idx); free(pos); return STRATA_ERR_NOMEM; }
    memcpy(pos, start, sizeof *pos * (size_t)K);
    for (int64_t i = 0; i < n; i++) if (cls[i] >= 0) idx[pos[cls[i]]++] = i;
    free(pos);
    pr_rng r;
    pr_rng_seed(&r, seed);
    for (int k = 0; k < K; k++) { /* Fisher-Yates within the class */
        int64_t *a = idx + start[k], m = start[k + 1] - start[k];
        for (int64_t i = m - 1; i > 0; i--) {
            int64_t j = (int64_t)pr_rng_below(&r, (uint64_t)i + 1);
            int64_t t = a[i]; a[i] = a[j]; a[j] = t;
        }
    }
    *idx_out = idx; *start_out = start; *K_out = K;
    return STRATA_OK;
}

strata_status strata_probe_split(const int32_t *cls, int64_t n, double test_fraction,
                                 uint64_t seed, uint8_t *test)
{
    if (!cls || !test || n < 0 || !(test_fraction >= 0 && test_fraction < 1))
        return STRATA_ERR_ARG;
    memset(test, 0, (size_t)n);
    int64_t *idx, *start;
    int K;
    int rc = grouped(cls, n, seed, &idx, &start, &K);
    if (rc) return rc;
    for (int k = 0; k < K; k++) {
        int64_t m = start[k + 1] - start[k];
        int64_t nt = (int64_t)floor(test_fraction * (double)m + 0.5);
        if (nt > m - 1) nt = m - 1;     /* keep at least one training row */
        if (nt < 0) nt = 0;
        for (int64_t i = 0; i < nt; i++) test[idx[start[k] + i]] = 1;
    }
    free(idx); free(start);
    return STRATA_OK;
}

strata_status strata_probe_kfold(const int32_t *cls, int64_t n, int k, uint64_t seed,
                                 int8_t *fold)
{
    if (!cls || !fold || n < 0 || k < 2 || k > 127) return STRATA_ERR_ARG;
    int64_t *idx, *start;
    int K;
    int rc = grouped(cls, n, seed, &idx, &start, &K);
    if (rc) return rc;
    for (int64_t i = 0; i < n; i++) fold[i] = -1;
    /* deal each class round-robin, continuing the count across classes so
     * the fold sizes stay balanced */
    int64_t c = 0;
    for (int64_t i = 0; i < start[K]; i++) fold[idx[i]] = (int8_t)(c++ % k);
    free(idx); free(start);
    return STRATA_OK;
}
