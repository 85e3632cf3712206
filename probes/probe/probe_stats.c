/* probes/probe_stats.c — streaming feature statistics (standardisation) and
 * the NaN/Inf scan; block reading.
 *
 * Mean and variance per feature in one pass over row blocks, accumulated in
 * double around a shift (the first used row) to avoid the cancellation of
 * sum(x^2) - n*mean^2:  with c_j = x_0j,
 *     mean_j = c_j + S1_j / n,   var_j = S2_j / n - (S1_j / n)^2,
 *     S1_j = sum_i (x_ij - c_j),  S2_j = sum_i (x_ij - c_j)^2.
 * Memory: O(d) doubles + one block. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"
#include "util/clones.h"

void pr_set_msg(char *err, size_t err_len, const char *msg)
{
    if (err && err_len) snprintf(err, err_len, "%s", msg ? msg : "");
}

int pr_read(const strata_probe_source *src, float *buf, int64_t row0, int64_t n,
            const float **rows, st_err *err)
{
    char msg[512] = "";
    int rc = src->read(src->user, row0, n, buf, rows, msg, sizeof msg);
    if (rc < 0)
        return st_seterr(err, rc, "reading rows %lld..%lld: %s", (long long)row0,
                         (long long)(row0 + n), msg[0] ? msg : strata_errstr(rc));
    if (!*rows) return st_seterr(err, STRATA_ERR_STATE, "row provider returned no rows");
    return STRATA_OK;
}

int64_t pr_auto_block(int64_t d, int64_t mem_limit, int in_memory)
{
    if (d < 1) d = 1;
    if (in_memory) {
        /* zero-copy blocks: large, so that each pass has few parallel
         * regions / BLAS calls (ridge copies one centred block: 32 MiB) */
        int64_t b = ((int64_t)32 << 20) / (4 * d);
        return b < 256 ? 256 : b > 16384 ? 16384 : b;
    }
    /* streaming: the block buffer gets a quarter of the budget (HDF5 chunk
     * cache, conversion buffers, labels and BLAS take the rest) */
    int64_t lim = mem_limit > 0 ? mem_limit : (int64_t)64 << 20;
    int64_t b = lim / 4 / (4 * d);
    if (b > 65536) b = 65536;
    return b < 1 ? 1 : b;
}

/* 1 if every x[0..d) is finite. */
ST_CLONES
int pr_row_finite(const float *x, int64_t d)
{
    uint32_t bad = 0;
#pragma omp simd reduction(| : bad)
    for (int64_t j = 0; j < d; j++) bad |= pr_nonfinite_bit(x[j]);
    return !bad;
}

/* s1 += x - c, s2 += (x - c)^2 in double (AVX-512 / AVX2 / baseline clones). */
ST_CLONES
static void row_moments(const float *x, const double *c, double *s1, double *s2, int64_t d)
{
#pragma omp simd
    for (int64_t j = 0; j < d; j++) {
        const double v = (double)x[j] - c[j];
        s1[j] += v;
        s2[j] += v * v;
    }
}

int pr_nonfinite_error(const float *x, int64_t row, st_err *err)
{
    int64_t j = 0;
    while (isfinite(x[j])) j++;
    return st_seterr(err, STRATA_ERR_NUMERIC, "activations are not finite: row %lld, feature %lld is %g",
                     (long long)row, (long long)j, (double)x[j]);
}

int pr_sd_from_var(const double *mu, double *sd, int64_t d)
{
    int nc = 0;
    for (int64_t j = 0; j < d; j++) {
        double s = sd[j] > 0 ? sqrt(sd[j]) : 0;
        if (!(s > 1e-12 * (1 + fabs(mu[j])))) { s = 1; nc++; }
        sd[j] = s;
    }
    return nc;
}

/* Distributed pr_stats: each rank holds m_r rows summarised around its own
 * shift c_r (s1 = sum (x - c_r), s2 = sum (x - c_r)^2).  Merged exactly as
 * Chan, Golub & LeVeque: with mean_r = c_r + s1/m_r and M2_r = s2 - s1^2/m_r,
 *     m = sum m_r,  mean = sum m_r mean_r / m,
 *     M2 = sum_r [M2_r + m_r (mean_r - mean)^2],
 * returned in the serial form (c = mean, s1 = 0, s2 = M2), so the caller's
 * mean and variance formulas apply unchanged.  Two sums over ranks of d + 1
 * and d doubles. */
static int stats_merge_ranks(const st_fit_group *g, int64_t d, int64_t *m, double *c,
                             double *s1, double *s2, st_err *err)
{
    double *buf = malloc(sizeof *buf * (size_t)(2 * d + 1));
    int rc = buf ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory (feature statistics)");
    rc = st_fit_check(g, rc, err);
    if (rc) { free(buf); return rc; }
    const double mr = (double)*m;
    double *mean_r = buf + d + 1;
    for (int64_t j = 0; j < d; j++) {
        mean_r[j] = mr > 0 ? c[j] + s1[j] / mr : 0;
        s2[j] = mr > 0 ? s2[j] - s1[j] * s1[j] / mr : 0; /* M2_r */
        buf[j] = mr * mean_r[j];
    }
    buf[d] = mr;
    if ((rc = st_fit_sum(g, buf, (size_t)d + 1, err))) { free(buf); return rc; }
    const double mt = buf[d];
    for (int64_t j = 0; j < d; j++) {
        c[j] = mt > 0 ? buf[j] / mt : 0;
        const double dm = mean_r[j] - c[j];
        s2[j] += mr * dm * dm;
        s1[j] = 0;
    }
    rc = st_fit_sum(g, s2, (size_t)d, err);
    *m = (int64_t)mt;
    free(buf);
    return rc;
}

int pr_stats(const pr_problem *pb, double *mu, double *sd, int *n_const, int64_t *n_used,
             st_err *err)
{
    const strata_probe_source *src = pb->src;
    int64_t d = src->dim, n = src->n_rows, B = src->block_rows;
    double *s1 = calloc((size_t)d, sizeof *s1), *s2 = calloc((size_t)d, sizeof *s2);
    double *c = calloc((size_t)d, sizeof *c);
    if (!s1 || !s2 || !c) {
        free(s1); free(s2); free(c);
        return st_fit_check(&pb->grp, st_seterr(err, STRATA_ERR_NOMEM, "out of memory (feature statistics, d=%lld)", (long long)d), err);
    }
    int64_t m = 0;
    int rc = STRATA_OK;
    (void)n;
    const int64_t lo = pb->grp.lo, hi = pb->grp.hi; /* [0, n) unless distributed */
    for (int64_t r0 = lo; r0 < hi && rc == STRATA_OK; r0 += B) {
        int64_t nb = hi - r0 < B ? hi - r0 : B;
        const float *X;
        if ((rc = pr_read(src, pb->buf, r0, nb, &X, err))) break;
        for (int64_t i = 0; i < nb; i++) {
            const float *x = X + i * d;
            if (!pr_row_finite(x, d)) {
                rc = pr_nonfinite_error(x, r0 + i, err);
                break;
            }
            if (!pr_use(pb, r0 + i)) continue;
            if (m == 0) for (int64_t j = 0; j < d; j++) c[j] = x[j];
            row_moments(x, c, s1, s2, d);
            m++;
        }
    }
    int nc = 0;
    if (pb->grp.on) { /* every rank learns of a bad row, then merge over ranks */
        rc = st_fit_check(&pb->grp, rc, err);
        if (rc == STRATA_OK) rc = stats_merge_ranks(&pb->grp, d, &m, c, s1, s2, err);
    }
    if (rc == STRATA_OK) {
        for (int64_t j = 0; j < d; j++) {
            double mean1 = m ? s1[j] / (double)m : 0;
            mu[j] = c[j] + mean1;
            sd[j] = m ? s2[j] / (double)m - mean1 * mean1 : 0; /* variance, then: */
        }
        nc = pr_sd_from_var(mu, sd, d);
    }
    free(s1); free(s2); free(c);
    if (n_const) *n_const = nc;
    if (n_used) *n_used = m;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int pr_classes(const float *y, int64_t n, const uint8_t *train, double **values, int *K,
               int32_t *cls, st_err *err)
{
    int cap = 16, k = 0;
    double *v = malloc(sizeof *v * cap);
    if (!v) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    /* distinct values: small linear set with a last-hit cache (labels are few) */
    for (int64_t i = 0; i < n; i++) {
        if (train && !train[i]) continue;
        double x = y[i];
        if (x != x) continue;
        if (isinf(x)) { free(v); return st_seterr(err, STRATA_ERR_NUMERIC, "label is infinite at row %lld", (long long)i); }
        int found = 0;
        for (int j = k - 1; j >= 0; j--) if (v[j] == x) { found = 1; break; }
        if (found) continue;
        if (k == PR_MAX_CLASSES) {
            free(v);
            return st_seterr(err, STRATA_ERR_RANGE, "label has more than %d distinct values; "
                             "is it continuous? (use kind ridge)", PR_MAX_CLASSES);
        }
        if (k == cap) {
            cap *= 2;
            double *t = realloc(v, sizeof *v * cap);
            if (!t) { free(v); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
            v = t;
        }
        v[k++] = x;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    for (int64_t i = 0; i < n; i++) {
        double x = y[i];
        cls[i] = -1;
        if (x != x) continue;
        int lo = 0, hi = k - 1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (v[mid] == x) { cls[i] = mid; break; }
            if (v[mid] < x) lo = mid + 1; else hi = mid - 1;
        }
    }
    *values = v; *K = k;
    return STRATA_OK;
}
