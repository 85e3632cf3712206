/* probes/probe_ridge.c — ridge regression for a continuous target by the
 * normal equations: one streamed pass builds them together with the feature
 * statistics, then one Cholesky solve per alpha.
 *
 *     min_w,b  ||y - Z w - b||^2 + alpha ||w||^2,   Z = (X - mu) / sd
 * (sklearn Ridge on Z; mu = 0, sd = 1 without standardising; b = 0 without
 * an intercept).
 *
 * Pass over the n used rows, with s a shift (the mean of up to 256 early
 * rows, so x - s is about as small as x - m):
 *     As = sum_i (x_i - s)(x_i - s)^T  [d][d],   S1 = sum_i (x_i - s)  [d],
 *     Cs = sum_i (x_i - s) r_i  [d],   r_i = y_i - ybar,   R = sum_i r_i (~0)
 * then, with delta = S1 / n (m = s + delta is the mean):
 *     A = As - n delta delta^T = sum (x - m)(x - m)^T,   c = Cs - R delta,
 *     var_j = A_jj / n.
 * An uncentred X^T X would cancel n m m^T against the spread and lose the
 * float digits of features whose mean is far above their sd; the shift
 * leaves only the small delta to remove, in double.
 * As goes through ssyrk per chunk of <= 1024 shifted rows (in cache) into a
 * float buffer that is added into the double A every >= 4096 rows, so no
 * float sum runs over more than a few thousand rows.
 *
 * Solve, around p = m (intercept) or p = mu (no intercept), e = m - p:
 *     A_p = A + n e e^T = sum (x - p)(x - p)^T,
 *     c_p = c + n ybar e = sum (x - p)(y - ybar_p)   (ybar_p = ybar or 0),
 *     (D^-1 A_p D^-1 + alpha I) w = D^-1 c_p        (LAPACK dposv, D = diag(sd))
 *     b = ybar - sum_j (m_j - mu_j) / sd_j w_j  with an intercept, else 0.
 * Memory: A (d^2 doubles) + the float buffer (d^2) + one chunk (1024 x d). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/blas_threads.h"
#include "probe_internal.h"
#include "util/clones.h"

enum { RIDGE_SHIFT_ROWS = 256, RIDGE_CHUNK = 1024, RIDGE_FLUSH_ROWS = 4096 };

/* o = x - s and sum += o; returns 1 if every x_j is finite. */
ST_CLONES
static int shift_row(const float *restrict x, const float *restrict s, float *restrict o,
                     float *restrict sum, int64_t d)
{
    uint32_t bad = 0;
#pragma omp simd reduction(| : bad)
    for (int64_t j = 0; j < d; j++) {
        bad |= pr_nonfinite_bit(x[j]);
        const float v = x[j] - s[j];
        o[j] = v;
        sum[j] += v;
    }
    return !bad;
}

/* A += Af, Af = 0 (one row of the upper triangle). */
ST_CLONES
static void flush_row(double *restrict A, float *restrict Af, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        A[j] += Af[j];
        Af[j] = 0;
    }
}

/* out = (in + f e) * g isd  elementwise: one row of a rank-1-updated,
 * scaled upper triangle.  out may equal in. */
ST_CLONES
static void update_row(double *out, const double *in, const double *e, const double *isd,
                       double f, double g, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) out[j] = (in[j] + f * e[j]) * (g * isd[j]);
}

/* y += f x (one row of a rank-1 update of the upper triangle). */
ST_CLONES
static void axpy_row(double *restrict y, const double *restrict x, double f, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) y[j] += f * x[j];
}

static void flush_all(double *A, float *Af, int64_t d)
{
    for (int64_t a = 0; a < d; a++) flush_row(A + a * d + a, Af + a * d + a, d - a);
}

/* s = mean of the first RIDGE_SHIFT_ROWS used finite rows of this block, in
 * double; returns 0 when the block has none (look again in the next one). */
static int pick_shift(const pr_problem *pb, const float *X, int64_t r0, int64_t nb, int64_t d,
                      double *acc, float *s)
{
    int64_t cnt = 0;
    memset(acc, 0, sizeof *acc * (size_t)d);
    for (int64_t i = 0; i < nb && cnt < RIDGE_SHIFT_ROWS; i++) {
        const float *x = X + i * d;
        if (!pr_use(pb, r0 + i) || !pr_row_finite(x, d)) continue;
        for (int64_t j = 0; j < d; j++) acc[j] += x[j];
        cnt++;
    }
    if (!cnt) return 0;
    for (int64_t j = 0; j < d; j++) s[j] = (float)(acc[j] / (double)cnt);
    return (int)cnt;
}

/* Distributed: one shift for every rank, so that the ranks' shifted sums add
 * up: the row-weighted mean of each rank's pick_shift over its first block
 * (ranks without a used row there weigh 0; none at all: s = 0). */
static int common_shift(const pr_problem *pb, int64_t d, int64_t B, double *acc, float *s,
                        st_err *err)
{
    const int64_t lo = pb->grp.lo, hi = pb->grp.hi;
    double *buf = malloc(sizeof *buf * (size_t)(d + 1));
    int rc = buf ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory (ridge shift)");
    int cnt = 0;
    if (!rc && lo < hi) {
        const float *X;
        int64_t nb = hi - lo < B ? hi - lo : B;
        if (!(rc = pr_read(pb->src, pb->buf, lo, nb, &X, err))) cnt = pick_shift(pb, X, lo, nb, d, acc, s);
    }
    if ((rc = st_fit_check(&pb->grp, rc, err))) { free(buf); return rc; }
    for (int64_t j = 0; j < d; j++) buf[j] = cnt ? (double)s[j] * cnt : 0;
    buf[d] = cnt;
    if (!(rc = st_fit_sum(&pb->grp, buf, (size_t)d + 1, err)))
        for (int64_t j = 0; j < d; j++) s[j] = buf[d] > 0 ? (float)(buf[j] / buf[d]) : 0.0f;
    free(buf);
    return rc;
}

void pr_ridge_gram_free(pr_ridge_gram *g)
{
    free(g->A); free(g->c);
    memset(g, 0, sizeof *g);
}

int pr_ridge_gram_build(const pr_problem *pb, pr_ridge_gram *g, double *mean, double *var,
                        st_err *err)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const strata_probe_source *src = pb->src;
    int64_t d = src->dim, n = src->n_rows, B = src->block_rows;
    memset(g, 0, sizeof *g);
    double ybar = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) if (pr_use(pb, i)) { ybar += pb->y[i]; m++; }
    if (m == 0) return st_seterr(err, STRATA_ERR_ARG, "no training rows with a label");
    ybar /= (double)m;
    if (d > ((int64_t)1 << 28))
        return st_seterr(err, STRATA_ERR_NOMEM, "ridge: d=%lld is too wide for a d x d system", (long long)d);
    const int64_t CB = B < RIDGE_CHUNK ? B : RIDGE_CHUNK;
    size_t dd = (size_t)(d * d);
    g->d = d; g->n = m; g->ybar = ybar;
    g->A = malloc(sizeof(double) * dd);
    g->c = calloc((size_t)d, sizeof(double));
    float *ws = malloc(sizeof(float) * (dd + (size_t)(CB * d))); /* Af [d][d], Xc [CB][d] */
    float *small = malloc(sizeof(float) * (size_t)(3 * d + CB));      /* s, sumf, cf [d]; r [CB] */
    double *S1 = calloc((size_t)d, sizeof *S1);
    int rc = STRATA_OK;
    if (!g->A || !g->c || !ws || !small || !S1)
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (ridge normal equations, d=%lld)",
                       (long long)d);
    if ((rc = st_fit_check(&pb->grp, rc, err))) goto done;
    float *Af = ws, *Xc = ws + dd;
    float *s = small, *sumf = small + d, *cf = small + 2 * d, *r = small + 3 * d;
    memset(g->A, 0, sizeof(double) * dd);
    memset(Af, 0, sizeof(float) * dd);
    memset(s, 0, sizeof(float) * (size_t)(2 * d));
    double R = 0;
    int have_shift = 0;
    int64_t pending = 0;
    (void)n;
    if (pb->grp.on) {
        if ((rc = common_shift(pb, d, B, mean, s, err))) goto done;
        have_shift = 1;
    }
    for (int64_t r0 = pb->grp.lo; r0 < pb->grp.hi; r0 += B) {
        int64_t nb = pb->grp.hi - r0 < B ? pb->grp.hi - r0 : B;
        const float *X;
        if ((rc = pr_read(src, pb->buf, r0, nb, &X, err))) goto pass_end;
        if (!have_shift) have_shift = pick_shift(pb, X, r0, nb, d, mean, s);
        for (int64_t i = 0; i < nb;) {
            int64_t k = 0; /* up to CB used rows, shifted, into Xc */
            for (; i < nb && k < CB; i++) {
                const float *x = X + i * d;
                if (!pr_use(pb, r0 + i)) {
                    if (!pr_row_finite(x, d)) { rc = pr_nonfinite_error(x, r0 + i, err); goto pass_end; }
                    continue;
                }
                if (!shift_row(x, s, Xc + k * d, sumf, d)) {
                    rc = pr_nonfinite_error(x, r0 + i, err);
                    goto pass_end;
                }
                r[k] = (float)(pb->y[r0 + i] - ybar);
                R += r[k++];
            }
            if (!k) continue;
            /* Af (upper) += Xc^T Xc ; Cs += Xc^T r ; S1 += sum of the rows */
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)k, 1.0f, Xc, (int)d,
                        1.0f, Af, (int)d);
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)d, 1.0f, Xc, (int)d, r, 1, 0.0f, cf, 1);
            for (int64_t j = 0; j < d; j++) {
                g->c[j] += cf[j];
                S1[j] += sumf[j];
                sumf[j] = 0;
            }
            if ((pending += k) >= RIDGE_FLUSH_ROWS) { flush_all(g->A, Af, d); pending = 0; }
        }
    }
    if (pending) flush_all(g->A, Af, d);
pass_end:
    if (pb->grp.on) {
        /* Distributed: the shifted sums of all ranks (same shift) add up:
         * A (upper triangle, d^2), c, S1 (d each) and R, one sum over ranks. */
        if ((rc = st_fit_check(&pb->grp, rc, err))) goto done;
        if ((rc = st_fit_sum(&pb->grp, g->A, dd, err))) goto done;
        double *v = malloc(sizeof *v * (size_t)(2 * d + 1));
        if ((rc = st_fit_check(&pb->grp, v ? 0 : st_seterr(err, STRATA_ERR_NOMEM, "out of memory"), err))) { free(v); goto done; }
        memcpy(v, g->c, sizeof *v * (size_t)d);
        memcpy(v + d, S1, sizeof *v * (size_t)d);
        v[2 * d] = R;
        if (!(rc = st_fit_sum(&pb->grp, v, (size_t)(2 * d + 1), err))) {
            memcpy(g->c, v, sizeof *v * (size_t)d);
            memcpy(S1, v + d, sizeof *v * (size_t)d);
            R = v[2 * d];
        }
        free(v);
        if (rc) goto done;
    } else if (rc) {
        goto done;
    }
    /* remove the shift: A -= n delta delta^T, c -= R delta (delta in mean
     * first, then m = s + delta) */
    double *delta = mean;
    for (int64_t j = 0; j < d; j++) delta[j] = S1[j] / (double)m;
    for (int64_t a = 0; a < d; a++)
        axpy_row(g->A + a * d + a, delta + a, -(double)m * delta[a], d - a);
    for (int64_t j = 0; j < d; j++) {
        g->c[j] -= R * delta[j];
        const double ajj = g->A[j * d + j];
        if (!isfinite(ajj)) {
            rc = st_seterr(err, STRATA_ERR_NUMERIC, "ridge: feature %lld: the sum of squares "
                           "overflows float32 (activations too large)", (long long)j);
            goto done;
        }
        var[j] = ajj / (double)m;
        mean[j] = (double)s[j] + delta[j];
    }
done:
    free(ws); free(small); free(S1);
    if (rc) pr_ridge_gram_free(g);
    return rc;
}

int pr_ridge_solve(pr_ridge_gram *g, const pr_problem *pb, const strata_probe_params *p,
                   int consume, double *w, double *b, st_err *err)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    if (!(p->alpha >= 0) || !isfinite(p->alpha))
        return st_seterr(err, STRATA_ERR_ARG, "params.alpha must be >= 0 (got %g)", p->alpha);
    if (!g->A) return st_seterr(err, STRATA_ERR_STATE, "ridge: normal equations already used");
    const int64_t d = g->d;
    const double n = (double)g->n;
    const int icpt = p->fit_intercept;
    double *M = consume ? g->A : malloc(sizeof(double) * (size_t)(d * d));
    double *e = malloc(sizeof *e * (size_t)d), *isd = malloc(sizeof *isd * (size_t)d);
    int rc = STRATA_OK;
    if (!M || !e || !isd) {
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (ridge, d=%lld)", (long long)d);
        goto done;
    }
    for (int64_t j = 0; j < d; j++) {
        isd[j] = 1.0 / pb->sd[j];
        e[j] = icpt ? 0 : pb->xmean[j] - pb->mu[j];
    }
    /* upper triangle of D^-1 (A + n e e^T) D^-1 + alpha I; rhs D^-1 c_p */
    for (int64_t a = 0; a < d; a++) {
        update_row(M + a * d + a, g->A + a * d + a, e + a, isd + a, n * e[a], isd[a], d - a);
        M[a * d + a] += p->alpha;
        w[a] = (g->c[a] + n * g->ybar * e[a]) * isd[a];
    }
    /* Row-major upper = column-major lower: LAPACK's own layout, no transposed
     * copy.  The _work variant skips LAPACKE's O(d^2) NaN scan (M is finite
     * when the diagonal sums of squares are, checked in the pass; w is
     * checked below).  A float Cholesky with refinement in double (dsposv)
     * measured no faster at d = 768: its refinement reads M in double. */
    lapack_int info = LAPACKE_dposv_work(LAPACK_COL_MAJOR, 'L', (lapack_int)d, 1, M, (lapack_int)d,
                                         w, (lapack_int)d);
    if (info != 0) {
        rc = st_seterr(err, STRATA_ERR_NUMERIC,
                       "ridge: X^T X + alpha I is not positive definite (LAPACK dposv info %d); "
                       "use alpha > 0 (got %g)", (int)info, p->alpha);
        goto done;
    }
    for (int64_t j = 0; j < d; j++)
        if (!isfinite(w[j])) {
            rc = st_seterr(err, STRATA_ERR_NUMERIC, "ridge: the solution is not finite (feature %lld); "
                           "features with tiny variance? try alpha > 0 or standardize = 0", (long long)j);
            goto done;
        }
    double bb = g->ybar;
    for (int64_t j = 0; j < d; j++) bb -= (pb->xmean[j] - pb->mu[j]) * isd[j] * w[j];
    *b = icpt ? bb : 0;
done:
    if (consume) g->A = NULL;
    free(M); free(e); free(isd);
    return rc;
}
