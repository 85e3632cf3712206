/* probes/probe_ridge.c — ridge regression for a continuous target, by the
 * normal equations, streamed.
 *
 *     min_w,b  ||y - X w - b||^2 + alpha ||w||^2         (sklearn Ridge)
 * With an intercept, centre: m = mean of the training rows of X, ybar of y;
 *     A = sum_i (x_i - m)(x_i - m)^T   [d][d],   c = sum_i (x_i - m)(y_i - ybar)  [d]
 * In standardised coordinates (D = diag(sd)): A~ = D^-1 A D^-1, c~ = D^-1 c,
 *     (A~ + alpha I) w~ = c~           (Cholesky, LAPACKE_dposv)
 *     b~ = ybar - sum_j ((m_j - mu_j) / sd_j) w~_j
 * (without an intercept m = 0, ybar = 0, b = 0).
 * A is accumulated by blocks: each centred block goes through ssyrk into a
 * float buffer that is flushed into the double A every >= 4096 rows, so no
 * float sum runs over more than a few thousand rows.  Memory O(d^2 + block). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"
#include "util/clones.h"

/* o = x - cm (AVX-512 / AVX2 / baseline clones: one of the two passes over X). */
ST_CLONES
static void centre_row(const float *restrict x, const float *restrict cm, float *restrict o,
                       int64_t d)
{
#pragma omp simd
    for (int64_t j = 0; j < d; j++) o[j] = x[j] - cm[j];
}

int pr_ridge_fit(const pr_problem *pb, const strata_probe_params *p, double *w, double *b,
                 st_err *err)
{
    const strata_probe_source *src = pb->src;
    int64_t d = src->dim, n = src->n_rows, B = src->block_rows;
    if (!(p->alpha >= 0) || !isfinite(p->alpha))
        return st_seterr(err, STRATA_ERR_ARG, "params.alpha must be >= 0 (got %g)", p->alpha);
    int icpt = p->fit_intercept;
    double ybar = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) if (pr_use(pb, i)) { ybar += pb->y[i]; m++; }
    if (m == 0) return st_seterr(err, STRATA_ERR_ARG, "no training rows with a label");
    ybar = icpt ? ybar / (double)m : 0;
    double *A = calloc((size_t)(d * d), sizeof *A), *c = calloc((size_t)d, sizeof *c);
    const int64_t CB = B < 1024 ? B : 1024; /* centred sub-block: stays in cache for ssyrk */
    float *Af = calloc((size_t)(d * d), sizeof *Af), *Xc = malloc(sizeof(float) * (size_t)(CB * d));
    float *cf = malloc(sizeof(float) * (size_t)d), *r = malloc(sizeof(float) * (size_t)CB);
    float *cm = malloc(sizeof(float) * (size_t)d);
    int rc = STRATA_OK;
    if (!A || !c || !Af || !Xc || !cf || !r || !cm) {
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (ridge normal equations, d=%lld)",
                       (long long)d);
        goto done;
    }
    for (int64_t j = 0; j < d; j++) cm[j] = icpt ? (float)pb->xmean[j] : 0.0f;
    int64_t pending = 0;
    for (int64_t r0 = 0; r0 < n; r0 += B) {
        int64_t nb = n - r0 < B ? n - r0 : B;
        const float *X;
        if ((rc = pr_read(src, pb->buf, r0, nb, &X, err))) goto done;
        for (int64_t i = 0; i < nb;) {
            int64_t k = 0; /* compact up to CB used rows, centred, into Xc */
            for (; i < nb && k < CB; i++) {
                if (!pr_use(pb, r0 + i)) continue;
                centre_row(X + i * d, cm, Xc + k * d, d);
                r[k++] = (float)(pb->y[r0 + i] - ybar);
            }
            if (!k) continue;
            /* Af (upper) += Xc^T Xc ; c += Xc^T r */
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)k, 1.0f, Xc, (int)d,
                        1.0f, Af, (int)d);
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)d, 1.0f, Xc, (int)d, r, 1, 0.0f, cf, 1);
            for (int64_t j = 0; j < d; j++) c[j] += cf[j];
            pending += k;
        }
        if (pending >= 4096 || r0 + nb >= n) {
            for (int64_t a = 0; a < d; a++)
                for (int64_t q = a; q < d; q++) A[a * d + q] += Af[a * d + q];
            memset(Af, 0, sizeof *Af * (size_t)(d * d));
            pending = 0;
        }
    }
    if (pending)
        for (int64_t a = 0; a < d; a++)
            for (int64_t q = a; q < d; q++) A[a * d + q] += Af[a * d + q];
    /* standardised system, upper triangle: A_aq / (sd_a sd_q) by reciprocals */
    double *isd = malloc(sizeof *isd * (size_t)d);
    if (!isd) {
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (ridge, d=%lld)", (long long)d);
        goto done;
    }
    for (int64_t a = 0; a < d; a++) isd[a] = 1.0 / pb->sd[a];
    for (int64_t a = 0; a < d; a++) {
        for (int64_t q = a; q < d; q++) A[a * d + q] *= isd[a] * isd[q];
        A[a * d + a] += p->alpha;
        w[a] = c[a] * isd[a];
    }
    free(isd);
    /* Row-major upper = column-major lower: LAPACK's own layout, no transposed copy. */
    lapack_int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', (lapack_int)d, 1, A, (lapack_int)d, w,
                                    (lapack_int)d);
    if (info != 0) {
        rc = st_seterr(err, STRATA_ERR_NUMERIC,
                       "ridge: X^T X + alpha I is not positive definite (LAPACKE_dposv info %d); "
                       "use alpha > 0 (got %g)", (int)info, p->alpha);
        goto done;
    }
    double bb = ybar;
    if (icpt) for (int64_t j = 0; j < d; j++) bb -= (pb->xmean[j] - pb->mu[j]) / pb->sd[j] * w[j];
    *b = icpt ? bb : 0;
done:
    free(A); free(c); free(Af); free(Xc); free(cf); free(r); free(cm);
    return rc;
}
