/* probes/rsvd.c — randomized PCA for wide data (d large), streamed.
 *
 * Randomized subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4)
 * applied to the covariance operator, so that nothing of size d x d or n x l
 * is ever formed.  With Xc = X - 1 mu^T ([n][d]) and l = k + oversample:
 *
 *   (pass 1 also gives mu and tr(C) exactly: column sums of D and D^2, see op_pass)
 *   Q0          = orth(Omega),  Omega [d][l] ~ N(0,1) from the seeded RNG
 *   pass i=1..q Z = Xc^T (Xc Q_{i-1})   (per block: Y = D Q, Z += D^T Y, then the
 *                                        rank-1 centring correction)
 *               Q_i = orth(Z)            (Householder QR each step: stability)
 *   last pass   Z = Xc^T Xc [Q | (I - Q Q^T) G],  G [d][s] ~ N(0,1)
 *               B = Q^T Z_Q  [l][l] -> eigenpairs (S, U) by dsyev; then the
 *               Rayleigh-Ritz pairs on span(Z_Q) (half a power more, no pass):
 *               V = Z_Q U S^{-1/2}, eig(V^T V) -> theta, components V y / sqrt(theta);
 *               lambda = theta / (n - 1)
 *
 * Participation ratio needs ||C||_F^2 = tr(C^2) = sum of all lambda^2.  Split
 * with the projector P = I - Q Q^T:  tr(C^2) = ||C Q||_F^2 + tr(P C^2 P), the
 * first exact from Z_Q, the second a Hutchinson estimate
 * (1/s) sum_j ||C P g_j||^2 from the same pass — Hutch++ (Meyer, Musco, Musco
 * & Woodruff 2021).  When the spectrum decays, the residual term is small and
 * so is the estimate's error.
 *
 * Cost: (q + 1) passes over the data, 4 n d (l [+ s]) flops each, in float32
 * (op_pass); memory O(block_rows * d + d * (l + s)).
 */
#include "util/blas_threads.h"
#include "pca_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One pass: Z [d][m] = D^T D M over all rows, with D = x - shift (the
 * block's fixed shift; D = x when not centring), and the column sums of D
 * into colsum [d] and of D^2 into sumsq [d] (either may be NULL).  The
 * caller turns D^T D M into Xc^T Xc M = D^T D M - n m (m^T M), m = colsum/n
 * (a rank-1 correction that cancels little: D is near-centred).
 *
 * Precision: the block arrives as float32 (D formed in float64 and rounded
 * once, geom_block_init_f32) and both products of a block run in single
 * precision (sgemm: twice the rate of dgemm, and no float64 copy of the
 * data per pass); each block's [d][m] result is added to Z in float64, and
 * colsum / sumsq are float64 sums of the unrounded D.  The relative error of
 * a block product is of the order of float32's epsilon (6e-8) times a slowly
 * growing factor of the block's rows; the subspace iteration corrects its
 * own errors, and the Ritz values carry it once (tests: within 1e-6 of the
 * float64 covariance path on data with a spectral gap).  A block product
 * that overflows float32 (|x - shift| beyond ~1e17) is an error. */
static int op_pass(strata_pca *P, const geom_src *s, geom_block *B, const double *M, int64_t m,
                   float *M32 /* [d][m] */, float *Y /* [cap][m] */, float *Zb /* [d][m] */,
                   double *Z, double *colsum, double *sumsq)
{
    const int64_t d = P->d, lo = s->grp.lo, hi = s->grp.hi;
    const int center = P->params.center != 0;
    int rc = STRATA_OK;
    memset(Z, 0, sizeof(double) * (size_t)d * (size_t)m);
    if (colsum) memset(colsum, 0, sizeof(double) * (size_t)d);
    if (sumsq) memset(sumsq, 0, sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < d * m; i++) M32[i] = (float)M[i];
    for (int64_t r0 = lo; r0 < hi; r0 += B->cap_rows) {
        int64_t nb = hi - r0 < B->cap_rows ? hi - r0 : B->cap_rows;
        rc = geom_block_load(B, s, r0, nb, center, &P->err);
        if (rc < 0) break;
        if (colsum)
            for (int64_t j = 0; j < d; j++) colsum[j] += B->bmean[j] * (double)nb;
        if (sumsq)
            for (int64_t j = 0; j < d; j++) sumsq[j] += B->bsq[j];
        /* Y [nb][m] = D M;  Zb [d][m] = D^T Y;  Z += Zb */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)m, (int)d, 1.0f,
                    B->F, (int)d, M32, (int)m, 0.0f, Y, (int)m);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)m, (int)nb, 1.0f,
                    B->F, (int)d, Y, (int)m, 0.0f, Zb, (int)m);
        int finite = 1;
        for (int64_t i = 0; i < d * m; i++) {
            Z[i] += (double)Zb[i];
            finite &= isfinite(Zb[i]) != 0;
        }
        if (!finite) {
            char tmp[32];
            rc = st_seterr(&P->err, STRATA_ERR_NUMERIC,
                           "%s: values too large for the randomized solver's float32 products "
                           "(rows %lld..%lld); use the covariance solver (--solver cov)",
                           geom_src_name(s, 0, tmp, sizeof tmp), (long long)r0,
                           (long long)(r0 + nb - 1));
            break;
        }
    }
    if (!s->grp.on) return rc;
    /* Distributed (common shift): Z, colsum, sumsq are sums over rows, so
     * over ranks: d m (+ 2 d on the first pass) doubles. */
    if ((rc = st_fit_check(&s->grp, rc, &P->err)) < 0) return rc;
    if ((rc = st_fit_sum(&s->grp, Z, (size_t)d * (size_t)m, &P->err)) < 0) return rc;
    if (colsum && (rc = st_fit_sum(&s->grp, colsum, (size_t)d, &P->err)) < 0) return rc;
    if (sumsq && (rc = st_fit_sum(&s->grp, sumsq, (size_t)d, &P->err)) < 0) return rc;
    return STRATA_OK;
}

/* Z -= n mD (mD^T M): the centring correction (mD = mean of D, [d]). */
static void center_correct(int64_t d, int64_t m, int64_t n, const double *mD, const double *M,
                           double *Z, double *tmp /* [m] */)
{
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)m, 1.0, M, (int)m, mD, 1, 0.0, tmp, 1);
    cblas_dger(CblasRowMajor, (int)d, (int)m, -(double)n, mD, 1, tmp, 1, Z, (int)m);
}

int pca_fit_rsvd(strata_pca *P, const geom_src *s)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const strata_pca_params *p = &P->params;
    const int64_t d = P->d, n = s->n_total, k = P->k;
    const int center = p->center != 0;
    char tmp[32];
    const char *name = geom_src_name(s, 0, tmp, sizeof tmp);
    int64_t l = k + (p->rsvd_oversample > 0 ? p->rsvd_oversample : 0);
    if (l > d) l = d;
    const int64_t ns = p->rsvd_probes > 0 ? p->rsvd_probes : 0;
    const int iters = p->rsvd_iters > 0 ? p->rsvd_iters : 0;
    const double div = (double)(center ? n - 1 : n);

    geom_block B;
    int sel = 0;
    int rc = geom_block_init_f32(&B, s, 1, &sel, &P->err);
    if (rc < 0) return rc;
    const int64_t cap = B.cap_rows, m_all = l + ns;
    double *Q = malloc(sizeof(double) * (size_t)d * (size_t)l);
    double *G = malloc(sizeof(double) * (size_t)d * (size_t)m_all);  /* [Q | PG] operand */
    double *Z = malloc(sizeof(double) * (size_t)d * (size_t)m_all);
    float *Y = malloc(sizeof(float) * (size_t)cap * (size_t)m_all);
    float *M32 = malloc(sizeof(float) * (size_t)d * (size_t)m_all);
    float *Zb = malloc(sizeof(float) * (size_t)d * (size_t)m_all);
    double *colsum = calloc((size_t)d, sizeof(double));
    double *sumsq = calloc((size_t)d, sizeof(double));
    double *mD = calloc((size_t)d, sizeof(double));
    double *t1 = malloc(sizeof(double) * (size_t)m_all);
    double *Bm = malloc(sizeof(double) * (size_t)l * (size_t)l);
    double *th = malloc(sizeof(double) * (size_t)l);
    double *QtG = malloc(sizeof(double) * (size_t)l * (size_t)(ns > 0 ? ns : 1));
    if (!Q || !G || !Z || !Y || !M32 || !Zb || !colsum || !sumsq || !mD || !t1 || !Bm || !th || !QtG)
        rc = st_seterr(&P->err, STRATA_ERR_NOMEM, "%s: out of memory (randomized PCA)", name);
    if ((rc = st_fit_check(&s->grp, rc, &P->err)) < 0) goto done;
    /* distributed: one shift for all ranks, so their sums add up */
    if ((rc = geom_block_common_shift(&B, s, center, &P->err)) < 0) goto done;

    geom_rng rng;
    geom_rng_seed(&rng, p->seed);
    for (int64_t i = 0; i < d * l; i++) Q[i] = geom_rng_gauss(&rng);
    if ((rc = geom_orth(Q, d, l, &P->err)) < 0) goto done;
    /* Passes: iters power iterations, then the final pass.  The first pass
     * also yields the mean and tr(C) (column sums of D and D^2). */
    for (int it = 0; it <= iters; it++) {
        const int last = it == iters;
        const double *M = Q;
        int64_t m = l;
        if (last) {
            /* [Q | P G]: G [d][ns] Gaussian, projected off span(Q) (Hutch++). */
            for (int64_t i = 0; i < d; i++) {
                memcpy(G + (size_t)i * (size_t)m_all, Q + (size_t)i * (size_t)l,
                       sizeof(double) * (size_t)l);
                for (int64_t j = 0; j < ns; j++)
                    G[(size_t)i * (size_t)m_all + (size_t)(l + j)] = geom_rng_gauss(&rng);
            }
            if (ns > 0) {
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l, (int)ns, (int)d, 1.0,
                            Q, (int)l, G + l, (int)m_all, 0.0, QtG, (int)ns);
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)ns, (int)l,
                            -1.0, Q, (int)l, QtG, (int)ns, 1.0, G + l, (int)m_all);
            }
            M = G;
            m = m_all;
        }
        rc = op_pass(P, s, &B, M, m, M32, Y, Zb, Z, it == 0 ? colsum : NULL,
                     it == 0 ? sumsq : NULL);
        if (rc < 0) goto done;
        if (it == 0) {
            /* mean and tr(C) = sum_j (sum D_j^2 - n mD_j^2) / div */
            double tr = 0;
            for (int64_t j = 0; j < d; j++) {
                mD[j] = center ? colsum[j] / (double)n : 0.0;
                tr += sumsq[j] - (double)n * mD[j] * mD[j];
                P->mean[j] = center ? B.shift[j] + mD[j] : 0.0;
            }
            tr /= div;
            P->total_var = tr;
            if (!(tr > 0)) {
                rc = st_seterr(&P->err, STRATA_ERR_NUMERIC,
                               "%s: total variance is zero (all %lld features are constant over "
                               "%lld rows); PCA is undefined", name, (long long)d, (long long)n);
                goto done;
            }
        }
        if (center) center_correct(d, m, n, mD, M, Z, t1);
        if (!last) {
            /* Z is [d][l] (m = l): orthonormalise into Q. */
            memcpy(Q, Z, sizeof(double) * (size_t)d * (size_t)l);
            if ((rc = geom_orth(Q, d, l, &P->err)) < 0) goto done;
        }
    }
    const double tr = P->total_var;

    /* ||C||_F^2 ~= ||Z_Q||_F^2 / div^2 + (1/ns) ||Z_PG||_F^2 / div^2. */
    double fq = 0, fr = 0;
    for (int64_t i = 0; i < d; i++) {
        const double *z = Z + (size_t)i * (size_t)m_all;
        for (int64_t j = 0; j < l; j++) fq += z[j] * z[j];
        for (int64_t j = l; j < m_all; j++) fr += z[j] * z[j];
    }
    P->sum_sq = (fq + (ns > 0 ? fr / (double)ns : 0.0)) / (div * div);
    P->pr = tr * tr / P->sum_sq;

    /* Bm [l][l] = Q^T Z_Q / div, symmetrised. */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l, (int)l, (int)d, 1.0 / div, Q,
                (int)l, Z, (int)m_all, 0.0, Bm, (int)l);
    for (int64_t i = 0; i < l; i++)
        for (int64_t j = i + 1; j < l; j++) {
            double a = 0.5 * (Bm[i * l + j] + Bm[j * l + i]);
            Bm[i * l + j] = Bm[j * l + i] = a;
        }
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)l, Bm, (lapack_int)l, th);
    if (info != 0) {
        rc = st_seterr(&P->err, STRATA_ERR_NUMERIC,
                       "%s: eigensolver dsyev failed on the %lld x %lld projected matrix (info %d)",
                       name, (long long)l, (long long)l, (int)info);
        goto done;
    }
    /* Rayleigh-Ritz on span(C Q) rather than span(Q): half a power iteration
     * more for no pass (the SVD of Q'^T X in scikit-learn's last step).  With
     * Bm = Q^T C Q = U S U^T and Z' = C Q = Z_Q / div:  B = Q U_r S_r^{-1/2}
     * has B^T C B = I, so the Ritz problem of C on span(C B) = span(Z') is
     * (C B)^T (C B) y = theta y:  V = Z' U_r S_r^{-1/2} [d][r], theta =
     * eig(V^T V), Ritz vectors V y / sqrt(theta).  Directions of Bm below
     * 1e-6 of its largest eigenvalue are left out (Z' holds float32 rounding,
     * which S^{-1/2} would amplify there); when fewer than k remain, the Ritz
     * pairs on span(Q) below are used. */
    int64_t r = 0;
    while (r < l && th[l - 1 - r] > 1e-6 * th[l - 1] && th[l - 1] > 0) r++;
    if (r >= k) {
        double *Us = malloc(sizeof(double) * (size_t)l * (size_t)r);
        double *V = malloc(sizeof(double) * (size_t)d * (size_t)r);
        double *K = malloc(sizeof(double) * (size_t)r * (size_t)r);
        double *kt = malloc(sizeof(double) * (size_t)r);
        if (!Us || !V || !K || !kt) {
            free(Us); free(V); free(K); free(kt);
            rc = st_seterr(&P->err, STRATA_ERR_NOMEM, "%s: out of memory (randomized PCA)", name);
            goto done;
        }
        for (int64_t c = 0; c < l; c++)
            for (int64_t i = 0; i < r; i++) {
                int64_t j = l - 1 - i;
                Us[c * r + i] = Bm[c * l + j] / sqrt(th[j]);
            }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)r, (int)l, 1.0 / div, Z,
                    (int)m_all, Us, (int)r, 0.0, V, (int)r);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)r, (int)d, 1.0, V, (int)r,
                    V, (int)r, 0.0, K, (int)r);
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = i + 1; j < r; j++) {
                double a = 0.5 * (K[i * r + j] + K[j * r + i]);
                K[i * r + j] = K[j * r + i] = a;
            }
        info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)r, K, (lapack_int)r, kt);
        if (info != 0) {
            free(Us); free(V); free(K); free(kt);
            rc = st_seterr(&P->err, STRATA_ERR_NUMERIC,
                           "%s: eigensolver dsyev failed on the %lld x %lld Ritz matrix (info %d)",
                           name, (long long)r, (long long)r, (int)info);
            goto done;
        }
        for (int64_t t = 0; t < k; t++) {
            int64_t j = r - 1 - t;
            double lam = kt[j] > 0 ? kt[j] : 0;
            P->ev[t] = lam;
            P->evr[t] = lam / tr;
            double *v = P->components + (size_t)t * (size_t)d, nrm = 0;
            for (int64_t i = 0; i < d; i++) {
                double acc = 0;
                const double *vr = V + (size_t)i * (size_t)r;
                for (int64_t c = 0; c < r; c++) acc += vr[c] * K[c * r + j];
                v[i] = acc;
                nrm += acc * acc;
            }
            nrm = nrm > 0 ? 1.0 / sqrt(nrm) : 0;
            for (int64_t i = 0; i < d; i++) v[i] *= nrm;
            geom_fix_sign(v, d);
        }
        free(Us); free(V); free(K); free(kt);
        rc = STRATA_OK;
        goto done;
    }
    /* Row-major eigenvectors: column j of Bm is eigenvector j (ascending). */
    for (int64_t t = 0; t < k; t++) {
        int64_t j = l - 1 - t;
        double lam = th[j] > 0 ? th[j] : 0;
        P->ev[t] = lam;
        P->evr[t] = lam / tr;
        double *v = P->components + (size_t)t * (size_t)d;
        for (int64_t i = 0; i < d; i++) {
            double acc = 0;
            const double *q = Q + (size_t)i * (size_t)l;
            for (int64_t c = 0; c < l; c++) acc += q[c] * Bm[c * l + j];
            v[i] = acc;
        }
        geom_fix_sign(v, d);
    }
    rc = STRATA_OK;
done:
    geom_block_free(&B);
    free(Q); free(G); free(Z); free(Y); free(M32); free(Zb); free(colsum); free(sumsq); free(mD); free(t1);
    free(Bm); free(th); free(QtG);
    return rc;
}
