/* probes/probe_split.c — seeded RNG, stratified train/test split and
 * stratified k-fold assignment.
 *
 * The RNG is xoshiro256** (Blackman & Vigna) seeded by splitmix64, so a
 * seed gives the same split on every platform.  Splits are by row index:
 * they never touch X, only the class index of each row (O(n) bytes).
 * Grouped variants keep every group (document) on one side. */
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

/* Dense group index of every labelled row: gi [n] (-1 unlabelled), sizes
 * [G] (labelled rows per group), G; groups numbered in ascending id order. */
typedef struct grp_row { int64_t id, row; } grp_row;

static int cmp_grp_row(const void *a, const void *b)
{
    const grp_row *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int dense_groups(const int32_t *cls, const int64_t *groups, int64_t n, int64_t *gi,
                        int64_t **sizes_out, int64_t *G_out)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) m += cls[i] >= 0;
    grp_row *v = malloc(sizeof *v * (size_t)(m ? m : 1));
    int64_t *sizes = malloc(sizeof *sizes * (size_t)(m ? m : 1));
    if (!v || !sizes) { free(v); free(sizes); return STRATA_ERR_NOMEM; }
    m = 0;
    for (int64_t i = 0; i < n; i++) {
        gi[i] = -1;
        if (cls[i] >= 0) { v[m].id = groups[i]; v[m].row = i; m++; }
    }
    qsort(v, (size_t)m, sizeof *v, cmp_grp_row);
    int64_t G = 0;
    for (int64_t j = 0; j < m; j++) {
        if (j == 0 || v[j].id != v[j - 1].id) sizes[G++] = 0;
        gi[v[j].row] = G - 1;
        sizes[G - 1]++;
    }
    free(v);
    *sizes_out = sizes; *G_out = G;
    return STRATA_OK;
}

strata_status strata_probe_group_split(const int32_t *cls, const int64_t *groups, int64_t n,
                                       double test_fraction, uint64_t seed, uint8_t *test)
{
    if (!cls || !groups || !test || n < 0 || !(test_fraction > 0 && test_fraction < 1))
        return STRATA_ERR_ARG;
    int64_t *gi = malloc(sizeof *gi * (size_t)(n ? n : 1)), *sizes = NULL, G = 0;
    if (!gi) return STRATA_ERR_NOMEM;
    int rc = dense_groups(cls, groups, n, gi, &sizes, &G);
    if (rc) { free(gi); return rc; }
    if (G < 2) { free(gi); free(sizes); return STRATA_ERR_ARG; }
    int64_t nt = (int64_t)ceil(test_fraction * (double)G - 1e-9);
    if (nt < 1) nt = 1;
    if (nt > G - 1) nt = G - 1;
    /* seeded Fisher-Yates over the group indices; the first nt are test */
    int64_t *perm = malloc(sizeof *perm * (size_t)G);
    uint8_t *is_test = calloc((size_t)G, 1);
    if (!perm || !is_test) { free(gi); free(sizes); free(perm); free(is_test); return STRATA_ERR_NOMEM; }
    for (int64_t g = 0; g < G; g++) perm[g] = g;
    pr_rng r;
    pr_rng_seed(&r, seed);
    for (int64_t i = G - 1; i > 0; i--) {
        int64_t j = (int64_t)pr_rng_below(&r, (uint64_t)i + 1);
        int64_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    for (int64_t g = 0; g < nt; g++) is_test[perm[g]] = 1;
    for (int64_t i = 0; i < n; i++) test[i] = gi[i] >= 0 && is_test[gi[i]];
    free(gi); free(sizes); free(perm); free(is_test);
    return STRATA_OK;
}

strata_status strata_probe_group_kfold(const int32_t *cls, const int64_t *groups, int64_t n,
                                       int k, int8_t *fold)
{
    if (!cls || !groups || !fold || n < 0 || k < 2 || k > 127) return STRATA_ERR_ARG;
    int64_t *gi = malloc(sizeof *gi * (size_t)(n ? n : 1)), *sizes = NULL, G = 0;
    if (!gi) return STRATA_ERR_NOMEM;
    int rc = dense_groups(cls, groups, n, gi, &sizes, &G);
    if (rc) { free(gi); return rc; }
    if (G < k) { free(gi); free(sizes); return STRATA_ERR_ARG; }
    /* order: size descending, ties larger index first -- sklearn's
     * np.argsort(sizes)[::-1] with a stable ascending sort; as (id, row)
     * pairs sorted ascending by (-size, -g) */
    grp_row *order = malloc(sizeof *order * (size_t)G);
    int8_t *gfold = malloc((size_t)G);
    if (!order || !gfold) { free(gi); free(sizes); free(order); free(gfold); return STRATA_ERR_NOMEM; }
    for (int64_t g = 0; g < G; g++) { order[g].id = -sizes[g]; order[g].row = -g; }
    qsort(order, (size_t)G, sizeof *order, cmp_grp_row);
    int64_t load[128] = {0};
    for (int64_t j = 0; j < G; j++) {
        int64_t g = -order[j].row;
        int best = 0;
        for (int f = 1; f < k; f++) if (load[f] < load[best]) best = f;
        gfold[g] = (int8_t)best;
        load[best] += sizes[g];
    }
    for (int64_t i = 0; i < n; i++) fold[i] = gi[i] >= 0 ? gfold[gi[i]] : -1;
    free(gi); free(sizes); free(order); free(gfold);
    return STRATA_OK;
}

int pr_group_info(const float *y, const int64_t *groups, int64_t n, int64_t *n_groups,
                  int *constant)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) m += y[i] == y[i];
    grp_row *v = malloc(sizeof *v * (size_t)(m ? m : 1));
    if (!v) return STRATA_ERR_NOMEM;
    m = 0;
    for (int64_t i = 0; i < n; i++)
        if (y[i] == y[i]) { v[m].id = groups[i]; v[m].row = i; m++; }
    qsort(v, (size_t)m, sizeof *v, cmp_grp_row);
    int64_t G = 0;
    int same = 1;
    for (int64_t j = 0; j < m; j++) {
        if (j == 0 || v[j].id != v[j - 1].id) G++;
        else if (y[v[j].row] != y[v[j - 1].row]) same = 0;
    }
    free(v);
    *n_groups = G;
    *constant = same && G > 0;
    return STRATA_OK;
}
