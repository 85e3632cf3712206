/* probes/probe_control.c — control tasks (Hewitt & Liang, "Designing and
 * Interpreting Probes with Control Tasks", EMNLP 2019) and the
 * shuffled-label baseline.
 *
 * Control task: every token type t gets ONE label, drawn from the empirical
 * distribution of the real labels: u_t = hash(seed, t) / 2^64 in [0,1),
 * label = the value at position floor(u_t * m) of the m labelled rows' labels
 * sorted ascending (inverse CDF).  A probe can only do well on it by
 * memorising token identity, so selectivity = task accuracy - control accuracy
 * separates "the layer encodes the property" from "the probe is expressive
 * enough to memorise".  Hashing (not a sequential draw) makes the label of a
 * token independent of row order and of which rows are present.
 *
 * Shuffled baseline: a seeded permutation (Fisher-Yates) of the labels over
 * the labelled rows — any structure left is chance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

strata_status strata_probe_control_labels(const float *y, const int32_t *tokens, int64_t n,
                                          uint64_t seed, float *out)
{
    if (!y || !tokens || !out || n < 0) return STRATA_ERR_ARG;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) m += y[i] == y[i];
    if (!m) return STRATA_ERR_ARG;
    float *sorted = malloc(sizeof *sorted * (size_t)m);
    if (!sorted) return STRATA_ERR_NOMEM;
    m = 0;
    for (int64_t i = 0; i < n; i++) if (y[i] == y[i]) sorted[m++] = y[i];
    qsort(sorted, (size_t)m, sizeof *sorted, cmp_float);
    uint64_t key = pr_hash64(seed ^ 0x636f6e74726f6cULL); /* "control" */
    for (int64_t i = 0; i < n; i++) {
        if (y[i] != y[i]) { out[i] = NAN; continue; }
        uint64_t h = pr_hash64(key ^ pr_hash64((uint64_t)(uint32_t)tokens[i]));
        double u = (double)(h >> 11) * 0x1.0p-53;
        int64_t j = (int64_t)(u * (double)m);
        if (j >= m) j = m - 1;
        out[i] = sorted[j];
    }
    free(sorted);
    return STRATA_OK;
}

strata_status strata_probe_shuffle_labels(const float *y, int64_t n, uint64_t seed, float *out)
{
    if (!y || !out || n < 0) return STRATA_ERR_ARG;
    int64_t *idx = malloc(sizeof *idx * (size_t)(n ? n : 1));
    if (!idx) return STRATA_ERR_NOMEM;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) { out[i] = y[i]; if (y[i] == y[i]) idx[m++] = i; }
    pr_rng r;
    pr_rng_seed(&r, seed ^ 0x73687566666c65ULL); /* "shuffle" */
    for (int64_t i = m - 1; i > 0; i--) {
        int64_t j = (int64_t)pr_rng_below(&r, (uint64_t)i + 1);
        float t = out[idx[i]]; out[idx[i]] = out[idx[j]]; out[idx[j]] = t;
    }
    free(idx);
    return STRATA_OK;
}
