/* probes/pca.c — PCA by streamed float64 covariance + LAPACKE_dsyevr.
 *
 * See strata/pca.h for the API and docs/GEOMETRY.md for the math.
 * The covariance path:
 *   pass over row blocks (geom_block_load: float32 -> float64, NaN/Inf check,
 *   centring on the block mean) -> geom_scatter_add (dsyrk + Chan merge)
 *   -> C = M / (n - 1)  [d][d] upper triangle
 *   -> tr(C), ||C||_F^2 (participation ratio over all d eigenvalues)
 *   -> dsyevr RANGE='I' for eigenpairs d-k+1..d only (the O(d^3)
 *      tridiagonal reduction dominates; no back-transformation for the rest).
 */
#include "util/blas_threads.h"
#include "pca_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strata/capture.h"

/* d above which AUTO always takes the randomized solver (d^2 doubles = 128 MiB). */
#define PCA_AUTO_MAX_COV_DIM 4096

/* AUTO below that: the covariance solver unless the randomized one is
 * estimated at least 1.5x as fast (it is approximate: eigenvalues converge
 * with the spectral gap, the participation ratio is an estimate).  Work in
 * float32-flop units (float64 products run at half the rate):
 *   covariance  2 n d^2 + 8 d^3           (dsyrk and dsyevr, float64)
 *   randomized  1.75 * 4 n d (q l + l + s) (q + 1 float32 passes, l = k + p, s probes;
 *               its thin products run at ~1/1.75 the rate of dsyrk, measured in
 *               bench/geometry/README.md at d = 768 and 3072)
 * e.g. n >> d = 768: randomized for k <= 12 (docs/GEOMETRY.md). */
static int pca_auto_solver(int64_t n, int64_t d, int64_t k, const strata_pca_params *p)
{
    if (d > PCA_AUTO_MAX_COV_DIM) return STRATA_PCA_RSVD;
    int64_t l = k + (p->rsvd_oversample > 0 ? p->rsvd_oversample : 0);
    if (l > d) l = d;
    const double q = p->rsvd_iters > 0 ? p->rsvd_iters : 0;
    const double s = p->rsvd_probes > 0 ? p->rsvd_probes : 0;
    const double dn = (double)n, dd = (double)d, dl = (double)l;
    const double cov = 2.0 * dn * dd * dd + 8.0 * dd * dd * dd;
    const double rsvd = 1.75 * 4.0 * dn * dd * (q * dl + dl + s);
    return 1.5 * rsvd < cov ? STRATA_PCA_RSVD : STRATA_PCA_COV;
}

void strata_pca_default_params(strata_pca_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = 10;
    p->center = 1;
    p->whiten = 0;
    p->solver = STRATA_PCA_AUTO;
    p->rsvd_oversample = 10;
    p->rsvd_iters = 4;
    p->rsvd_probes = 32;
    p->seed = 0;
    p->block_rows = 0;
}

static strata_pca *pca_new(const strata_pca_params *p)
{
    strata_pca *P = calloc(1, sizeof *P);
    if (!P) return NULL;
    if (p) P->params = *p; else strata_pca_default_params(&P->params);
    return P;
}

void strata_pca_free(strata_pca *P)
{
    if (!P) return;
    free(P->mean); free(P->components); free(P->ev); free(P->evr);
    free(P);
}

const char *strata_pca_errmsg(const strata_pca *P)
{
    return P ? P->err.msg : "out of memory (no PCA object)";
}

int64_t strata_pca_n_rows(const strata_pca *P) { return P && P->fitted ? P->n_rows : 0; }
int64_t strata_pca_dim(const strata_pca *P) { return P && P->fitted ? P->d : 0; }
int32_t strata_pca_k(const strata_pca *P) { return P && P->fitted ? P->k : 0; }
int32_t strata_pca_solver_used(const strata_pca *P) { return P && P->fitted ? P->solver_used : 0; }
const double *strata_pca_mean(const strata_pca *P) { return P && P->fitted ? P->mean : NULL; }
const double *strata_pca_components(const strata_pca *P)
{
    return P && P->fitted ? P->components : NULL;
}
const double *strata_pca_explained_variance(const strata_pca *P)
{
    return P && P->fitted ? P->ev : NULL;
}
const double *strata_pca_explained_variance_ratio(const strata_pca *P)
{
    return P && P->fitted ? P->evr : NULL;
}
double strata_pca_total_variance(const strata_pca *P) { return P && P->fitted ? P->total_var : 0; }
double strata_pca_participation_ratio(const strata_pca *P) { return P && P->fitted ? P->pr : 0; }

double strata_participation_ratio(const double *lambda, int64_t n)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double l = lambda[i] > 0 ? lambda[i] : 0;
        s += l;
        s2 += l * l;
    }
    return s2 > 0 ? s * s / s2 : 0;
}

/* Covariance solver: P->mean etc. allocated, checks done. */
static int pca_fit_cov(strata_pca *P, const geom_src *s)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const int64_t d = P->d, n = s->n_total, lo = s->grp.lo, hi = s->grp.hi;
    const int center = P->params.center != 0, k = P->k;
    char tmp[32];
    const char *name = geom_src_name(s, 0, tmp, sizeof tmp);
    geom_scatter S;
    geom_block B;
    int rc = geom_scatter_init(&S, d, center, &P->err);
    int sel = 0;
    if (rc >= 0 && (rc = geom_block_init(&B, s, 1, &sel, &P->err)) < 0) geom_scatter_free(&S);
    if ((rc = st_fit_check(&s->grp, rc, &P->err)) < 0) return rc;
    rc = geom_block_common_shift(&B, s, center, &P->err); /* distributed only */
    for (int64_t r0 = lo; r0 < hi && rc >= 0; r0 += B.cap_rows) {
        int64_t nb = hi - r0 < B.cap_rows ? hi - r0 : B.cap_rows;
        rc = geom_block_load(&B, s, r0, nb, center, &P->err);
        if (rc >= 0) geom_scatter_add(&S, &B);
    }
    if (s->grp.on && (rc = st_fit_check(&s->grp, rc, &P->err)) >= 0)
        rc = geom_scatter_reduce(&S, &B, s, &P->err);
    geom_block_free(&B);
    if (rc < 0) { geom_scatter_free(&S); return rc; }

    /* C = M / (n - 1) (centred, ddof 1) or M / n. */
    const double scale = 1.0 / (double)(center ? n - 1 : n);
    double *C = S.M;
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = i; j < d; j++) C[i * d + j] *= scale;
    geom_scatter_mean(&S, P->mean);
    double tr = 0;
    for (int64_t i = 0; i < d; i++) tr += C[i * d + i];
    P->total_var = tr;
    P->sum_sq = geom_fro2_sym(C, d, d);
    if (!(tr > 0)) {
        geom_scatter_free(&S);
        return st_seterr(&P->err, STRATA_ERR_NUMERIC,
                         "%s: total variance is zero (all %lld features are constant over "
                         "%lld rows); PCA is undefined", name, (long long)d, (long long)n);
    }
    P->pr = tr * tr / P->sum_sq;

    /* Top k eigenpairs.  Row-major upper triangle == column-major lower, so
     * LAPACK sees 'L' in column-major without a transposed copy. */
    double *w = malloc(sizeof *w * (size_t)d);
    double *Z = malloc(sizeof *Z * (size_t)d * (size_t)k);
    lapack_int *isuppz = malloc(sizeof *isuppz * 2 * (size_t)(k > 0 ? k : 1));
    if (!w || !Z || !isuppz) {
        free(w); free(Z); free(isuppz); geom_scatter_free(&S);
        return st_seterr(&P->err, STRATA_ERR_NOMEM, "%s: out of memory for eigenvectors", name);
    }
    lapack_int m = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)d, C,
                                     (lapack_int)d, 0.0, 0.0, (lapack_int)(d - k + 1),
                                     (lapack_int)d, LAPACKE_dlamch('S'), &m, w, Z, (lapack_int)d,
                                     isuppz);
    geom_scatter_free(&S);
    if (info != 0 || m != k) {
        free(w); free(Z); free(isuppz);
        return st_seterr(&P->err, STRATA_ERR_NUMERIC,
                         "%s: symmetric eigensolver dsyevr failed (info %d, %d of %d eigenpairs)",
                         name, (int)info, (int)m, k);
    }
    /* w ascending; Z column j (contiguous, column-major) is eigenvector j. */
    for (int t = 0; t < k; t++) {
        int j = k - 1 - t;
        double lam = w[j] > 0 ? w[j] : 0; /* round-off negatives of a PSD matrix */
        P->ev[t] = lam;
        P->evr[t] = lam / tr;
        memcpy(P->components + (size_t)t * (size_t)d, Z + (size_t)j * (size_t)d,
               sizeof(double) * (size_t)d);
        geom_fix_sign(P->components + (size_t)t * (size_t)d, d);
    }
    free(w); free(Z); free(isuppz);
    return STRATA_OK;
}

int pca_fit_src(strata_pca *P, const geom_src *s)
{
    char tmp[32];
    const char *name = geom_src_name(s, 0, tmp, sizeof tmp);
    const strata_pca_params *p = &P->params;
    const int64_t n = s->n_total, d = s->width[0];
    const int center = p->center != 0;
    if (d < 1)
        return st_seterr(&P->err, STRATA_ERR_ARG, "%s: row width %lld; need >= 1 feature", name,
                         (long long)d);
    if (p->k < 1)
        return st_seterr(&P->err, STRATA_ERR_ARG, "%s: k = %d; need k >= 1", name, (int)p->k);
    if (p->k > d)
        return st_seterr(&P->err, STRATA_ERR_ARG, "%s: k = %d exceeds the number of features %lld",
                         name, (int)p->k, (long long)d);
    if (p->k > (center ? n - 1 : n))
        return st_seterr(&P->err, STRATA_ERR_ARG,
                         "%s: k = %d but only %lld rows: %s covariance has rank <= %lld",
                         name, (int)p->k, (long long)n, center ? "a centred" : "the",
                         (long long)(center ? (n > 0 ? n - 1 : 0) : n));
    if (p->solver < STRATA_PCA_AUTO || p->solver > STRATA_PCA_RSVD)
        return st_seterr(&P->err, STRATA_ERR_ARG, "%s: unknown solver %d", name, (int)p->solver);
    if (p->rsvd_iters < 0 || p->rsvd_iters > STRATA_PCA_MAX_ITERS)
        return st_seterr(&P->err, STRATA_ERR_ARG, "%s: rsvd_iters = %d; allowed 0..%d", name,
                         (int)p->rsvd_iters, STRATA_PCA_MAX_ITERS);
    if (p->rsvd_oversample < 0 || p->rsvd_oversample > STRATA_PCA_MAX_OVERSAMPLE)
        return st_seterr(&P->err, STRATA_ERR_ARG, "%s: rsvd_oversample = %d; allowed 0..%d", name,
                         (int)p->rsvd_oversample, STRATA_PCA_MAX_OVERSAMPLE);
    P->n_rows = n;
    P->d = d;
    P->k = p->k;
    P->mean = calloc((size_t)d, sizeof(double));
    P->components = calloc((size_t)d * (size_t)p->k, sizeof(double));
    P->ev = calloc((size_t)p->k, sizeof(double));
    P->evr = calloc((size_t)p->k, sizeof(double));
    if (!P->mean || !P->components || !P->ev || !P->evr)
        return st_seterr(&P->err, STRATA_ERR_NOMEM, "%s: out of memory", name);
    int solver = p->solver;
    if (solver == STRATA_PCA_AUTO) solver = pca_auto_solver(n, d, p->k, p);
    P->solver_used = solver;
    int rc = solver == STRATA_PCA_COV ? pca_fit_cov(P, s) : pca_fit_rsvd(P, s);
    if (rc < 0) return rc;
    P->fitted = 1;
    st_err_clear(&P->err);
    return STRATA_OK;
}

strata_status strata_pca_fit(const float *X, int64_t n, int64_t d, const strata_pca_params *p,
                             strata_pca **out)
{
    strata_pca *P = pca_new(p);
    *out = P;
    if (!P) return STRATA_ERR_NOMEM;
    if (!X || n < 0 || d < 0)
        return st_seterr(&P->err, STRATA_ERR_ARG, "strata_pca_fit: X is NULL or n/d negative");
    const float *Xs[1] = { X };
    int64_t width[1] = { d };
    const char *names[1] = { "input array" };
    geom_array_user u = { Xs, width };
    geom_src s = { geom_array_read, &u, n, 1, width, names, P->params.block_rows };
    int rc = geom_src_dist(&s, P->params.distributed, 0, &P->err); /* X: this rank's rows */
    return (strata_status)(rc < 0 ? rc : pca_fit_src(P, &s));
}

int pca_project_rows(strata_pca *P, const float *X, int64_t n, double *work, double *y,
                     float *out)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const int64_t d = P->d, k = P->k;
    for (int64_t r = 0; r < n; r++) {
        const float *x = X + (size_t)r * (size_t)d;
        double *w = work + (size_t)r * (size_t)d;
        for (int64_t j = 0; j < d; j++) w[j] = (double)x[j] - P->mean[j];
    }
    /* y [n][k] = work [n][d] . components^T ([k][d]) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)d, 1.0, work,
                (int)d, P->components, (int)d, 0.0, y, (int)k);
    for (int64_t i = 0; i < k; i++) {
        double sc = 1.0;
        if (P->params.whiten) {
            if (!(P->ev[i] > 0))
                return st_seterr(&P->err, STRATA_ERR_NUMERIC,
                                 "cannot whiten: component %lld has zero variance", (long long)i);
            sc = 1.0 / sqrt(P->ev[i]);
        }
        for (int64_t r = 0; r < n; r++) out[r * k + i] = (float)(y[r * k + i] * sc);
    }
    return STRATA_OK;
}

strata_status strata_pca_transform(strata_pca *P, const float *X, int64_t n, float *out)
{
    if (!P) return STRATA_ERR_ARG;
    if (!P->fitted)
        return st_seterr(&P->err, STRATA_ERR_STATE, "strata_pca_transform: PCA not fitted");
    if (!X || !out || n < 0)
        return st_seterr(&P->err, STRATA_ERR_ARG, "strata_pca_transform: bad arguments");
    const int64_t blk = 1024, d = P->d, k = P->k;
    double *work = malloc(sizeof(double) * (size_t)blk * (size_t)d);
    double *y = malloc(sizeof(double) * (size_t)blk * (size_t)k);
    if (!work || !y) {
        free(work); free(y);
        return st_seterr(&P->err, STRATA_ERR_NOMEM, "strata_pca_transform: out of memory");
    }
    int rc = STRATA_OK;
    for (int64_t r0 = 0; r0 < n && rc >= 0; r0 += blk) {
        int64_t nb = n - r0 < blk ? n - r0 : blk;
        rc = pca_project_rows(P, X + (size_t)r0 * (size_t)d, nb, work, y,
                              out + (size_t)r0 * (size_t)k);
    }
    free(work); free(y);
    return (strata_status)rc;
}

strata_status strata_pca_fit_acts(strata_acts *a, const char *hook, const strata_pca_params *p,
                                  strata_pca **out)
{
    strata_pca *P = pca_new(p);
    *out = P;
    if (!P) return STRATA_ERR_NOMEM;
    if (!a || !hook)
        return st_seterr(&P->err, STRATA_ERR_ARG, "strata_pca_fit_acts: no reader or hook name");
    const char *hooks[1] = { hook };
    int64_t width[1];
    int rc = geom_acts_widths(a, 1, hooks, width, &P->err);
    if (rc < 0) return (strata_status)rc;
    geom_acts_user u = { a, hooks };
    geom_src s = { geom_acts_read, &u, strata_acts_n_rows(a), 1, width, hooks,
                   P->params.block_rows };
    rc = geom_src_dist(&s, P->params.distributed, 1, &P->err); /* a share of the file's rows */
    return (strata_status)(rc < 0 ? rc : pca_fit_src(P, &s));
}
