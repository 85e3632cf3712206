/* tests/test_pca.c — PCA (covariance and randomized solvers), participation
 * ratio, projections and the HDF5 write-back.
 *
 * Hand-derivable cases (diagonal covariance, rank-1 data), agreement with a
 * naive float64 reference (two-pass covariance + full dsyev), streaming
 * (tiny blocks) equal to one block to float64 round-off, RSVD against the
 * exact solver, and degenerate input. */
#include <check.h>
#include <hdf5.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/capture.h"
#include "strata/pca.h"
#include "geom_core.h"
#include "io/h5store.h" /* ST_H5_F32 / ST_H5_F16 */
#include "util/half.h"
#include "testutil.h"

/* Relative closeness with a message. */
#define ck_close(got, want, rtol) do { \
    double g_ = (got), w_ = (want); \
    ck_assert_msg(fabs(g_ - w_) <= (rtol) * fmax(1e-300, fabs(w_)) || fabs(g_ - w_) <= 1e-300, \
                  "%s = %.17g, want %.17g (rtol %g)", #got, g_, w_, (double)(rtol)); \
} while (0)

static float *gen_decay(int64_t n, int64_t d, uint64_t seed, double offset)
{
    /* x = mean + sum_j z_j s_j R e_j: a random rotation-ish mixing of
     * independent N(0, s_j^2) with s_j = 3 * 0.8^j; offset on every feature. */
    geom_rng r;
    geom_rng_seed(&r, seed);
    double *mix = malloc(sizeof(double) * (size_t)(d * d));
    for (int64_t i = 0; i < d * d; i++) mix[i] = geom_rng_gauss(&r);
    geom_orth(mix, d, d, NULL);
    float *X = malloc(sizeof(float) * (size_t)(n * d));
    double *z = malloc(sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < d; j++) z[j] = geom_rng_gauss(&r) * 3.0 * pow(0.8, (double)j);
        for (int64_t c = 0; c < d; c++) {
            double v = offset + 0.1 * (double)c;
            for (int64_t j = 0; j < d; j++) v += mix[c * d + j] * z[j];
            X[i * d + c] = (float)v;
        }
    }
    free(mix); free(z);
    return X;
}

/* Reference: two-pass mean, covariance in long double, full dsyev. */
static void ref_pca(const float *X, int64_t n, int64_t d, double *evals_desc, double *vecs /*[d][d] rows desc*/,
                    double *trace, double *fro2)
{
    long double *mu = calloc((size_t)d, sizeof(long double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mu[j] += X[i * d + j];
    for (int64_t j = 0; j < d; j++) mu[j] /= n;
    double *C = calloc((size_t)(d * d), sizeof(double));
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = a; b < d; b++) {
            long double s = 0;
            for (int64_t i = 0; i < n; i++) s += (X[i * d + a] - mu[a]) * (X[i * d + b] - mu[b]);
            C[a * d + b] = C[b * d + a] = (double)(s / (n - 1));
        }
    *trace = 0; *fro2 = 0;
    for (int64_t a = 0; a < d; a++) {
        *trace += C[a * d + a];
        for (int64_t b = 0; b < d; b++) *fro2 += C[a * d + b] * C[a * d + b];
    }
    double *w = malloc(sizeof(double) * (size_t)d);
    ck_assert_int_eq(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (int)d, C, (int)d, w), 0);
    for (int64_t t = 0; t < d; t++) {
        evals_desc[t] = w[d - 1 - t];
        for (int64_t i = 0; i < d; i++) vecs[t * d + i] = C[i * d + (d - 1 - t)];
    }
    free(mu); free(C); free(w);
}

static double absdot(const double *a, const double *b, int64_t d)
{
    double s = 0;
    for (int64_t i = 0; i < d; i++) s += a[i] * b[i];
    return fabs(s);
}

START_TEST(test_diagonal_covariance)
{
    /* Rows +-3 e1, +-2 e2, +-1 e3, all shifted by 1000: mean (1000,1000,1000),
     * scatter diag (18, 8, 2), C = diag(3.6, 1.6, 0.4) (ddof 1, n = 6),
     * tr = 5.6, PR = 5.6^2 / (3.6^2 + 1.6^2 + 0.4^2) = 31.36 / 15.68 = 2. */
    float X[6][3] = { {3, 0, 0}, {-3, 0, 0}, {0, 2, 0}, {0, -2, 0}, {0, 0, 1}, {0, 0, -1} };
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++) X[i][j] += 1000.0f;
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 3;
    p.block_rows = 4; /* two blocks of unequal size: exercises the merge */
    strata_pca *P = NULL;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 6, 3, &p, &P), STRATA_OK);
    const double *ev = strata_pca_explained_variance(P);
    const double *evr = strata_pca_explained_variance_ratio(P);
    const double *V = strata_pca_components(P);
    const double *mu = strata_pca_mean(P);
    ck_close(ev[0], 3.6, 1e-12); ck_close(ev[1], 1.6, 1e-12); ck_close(ev[2], 0.4, 1e-12);
    ck_close(evr[0], 3.6 / 5.6, 1e-12); ck_close(evr[2], 0.4 / 5.6, 1e-12);
    ck_close(strata_pca_total_variance(P), 5.6, 1e-12);
    ck_close(strata_pca_participation_ratio(P), 2.0, 1e-12);
    for (int j = 0; j < 3; j++) ck_close(mu[j], 1000.0, 1e-15);
    /* Components are e1, e2, e3 with the sign convention (largest entry > 0). */
    for (int t = 0; t < 3; t++)
        for (int j = 0; j < 3; j++)
            ck_assert_msg(fabs(V[t * 3 + j] - (t == j ? 1.0 : 0.0)) < 1e-12, "V[%d][%d] = %g", t, j,
                          V[t * 3 + j]);
    ck_assert_int_eq(strata_pca_solver_used(P), STRATA_PCA_COV);
    /* Projections: row 0 -> (3, 0, 0), row 3 -> (0, -2, 0); whitened: / sqrt(lambda). */
    float Y[6][3];
    ck_assert_int_eq(strata_pca_transform(P, &X[0][0], 6, &Y[0][0]), STRATA_OK);
    ck_assert(fabsf(Y[0][0] - 3.0f) < 1e-4f && fabsf(Y[3][1] + 2.0f) < 1e-4f);
    strata_pca_free(P);

    p.whiten = 1;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 6, 3, &p, &P), STRATA_OK);
    ck_assert_int_eq(strata_pca_transform(P, &X[0][0], 6, &Y[0][0]), STRATA_OK);
    ck_assert(fabsf(Y[0][0] - (float)(3.0 / sqrt(3.6))) < 1e-5f);
    ck_assert(fabsf(Y[5][2] + (float)(1.0 / sqrt(0.4))) < 1e-5f);
    strata_pca_free(P);
}
END_TEST

START_TEST(test_rank_one)
{
    /* x_r = t_r u + c with u = (1, 2, 0, -2, 4)/5 (unit): lambda_1 = var(t),
     * all other eigenvalues 0, PR = 1, component = u (largest entry 4/5 > 0). */
    const int n = 50, d = 5;
    const double u[5] = { 0.2, 0.4, 0.0, -0.4, 0.8 };
    float X[50 * 5];
    double tm = 0, tv = 0, t[50];
    for (int i = 0; i < n; i++) { t[i] = (double)((i * 7) % 13) - 6.0; tm += t[i]; }
    tm /= n;
    for (int i = 0; i < n; i++) tv += (t[i] - tm) * (t[i] - tm);
    tv /= (n - 1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(t[i] * u[j]) + 5.0f;
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 2;
    strata_pca *P = NULL;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &P), STRATA_OK);
    /* float32 storage of t u_j costs ~1e-7 relative. */
    ck_close(strata_pca_explained_variance(P)[0], tv, 1e-6);
    ck_assert(strata_pca_explained_variance(P)[1] < 1e-10 * tv);
    ck_close(strata_pca_explained_variance_ratio(P)[0], 1.0, 1e-9);
    ck_close(strata_pca_participation_ratio(P), 1.0, 1e-9);
    for (int j = 0; j < d; j++)
        ck_assert_msg(fabs(strata_pca_components(P)[j] - u[j]) < 1e-6, "v[%d] = %g", j,
                      strata_pca_components(P)[j]);
    strata_pca_free(P);
}
END_TEST

START_TEST(test_against_reference_and_streaming)
{
    const int64_t n = 3001, d = 40;
    float *X = gen_decay(n, d, 42, 50.0);
    double *rev = malloc(sizeof(double) * d), *rvec = malloc(sizeof(double) * d * d), rtr, rfro;
    ref_pca(X, n, d, rev, rvec, &rtr, &rfro);
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 8;
    p.block_rows = 100000; /* one block */
    strata_pca *A = NULL, *S = NULL;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &A), STRATA_OK);
    p.block_rows = 37; /* many blocks, ragged last */
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &S), STRATA_OK);
    for (int t = 0; t < 8; t++) {
        double ea = strata_pca_explained_variance(A)[t], es = strata_pca_explained_variance(S)[t];
        ck_close(ea, rev[t], 1e-10);
        ck_close(es, ea, 1e-12);  /* streaming == one block, float64 round-off */
        ck_assert_msg(absdot(strata_pca_components(A) + t * d, rvec + t * d, d) > 1 - 1e-9,
                      "component %d differs from the reference", t);
        for (int64_t i = 0; i < d; i++)
            ck_assert(fabs(strata_pca_components(A)[t * d + i] - strata_pca_components(S)[t * d + i]) < 1e-9);
    }
    ck_close(strata_pca_total_variance(A), rtr, 1e-12);
    ck_close(strata_pca_participation_ratio(A), rtr * rtr / rfro, 1e-10);
    ck_close(strata_pca_participation_ratio(S), strata_pca_participation_ratio(A), 1e-12);
    strata_pca_free(A); strata_pca_free(S);
    free(X); free(rev); free(rvec);
}
END_TEST

START_TEST(test_rsvd_matches_cov)
{
    const int64_t n = 4000, d = 120;
    float *X = gen_decay(n, d, 7, -3.0);
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 6;
    p.solver = STRATA_PCA_COV;
    strata_pca *C = NULL, *R = NULL, *R2 = NULL;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &C), STRATA_OK);
    p.solver = STRATA_PCA_RSVD;
    p.seed = 1234;
    p.block_rows = 333;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &R), STRATA_OK);
    ck_assert_int_eq(strata_pca_solver_used(R), STRATA_PCA_RSVD);
    for (int t = 0; t < 6; t++) {
        ck_close(strata_pca_explained_variance(R)[t], strata_pca_explained_variance(C)[t], 1e-6);
        ck_close(strata_pca_explained_variance_ratio(R)[t],
                 strata_pca_explained_variance_ratio(C)[t], 1e-6);
        ck_assert_msg(absdot(strata_pca_components(R) + t * d, strata_pca_components(C) + t * d, d)
                          > 1 - 1e-6, "rsvd component %d", t);
    }
    ck_close(strata_pca_total_variance(R), strata_pca_total_variance(C), 1e-12);
    /* Hutch++ estimate of ||C||_F^2: within 2 %. */
    ck_close(strata_pca_participation_ratio(R), strata_pca_participation_ratio(C), 0.02);
    /* Seeded: same seed, same answer bit for bit. */
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &R2), STRATA_OK);
    ck_assert(memcmp(strata_pca_components(R), strata_pca_components(R2), sizeof(double) * 6 * d) == 0);
    strata_pca_free(C); strata_pca_free(R); strata_pca_free(R2);
    free(X);
}
END_TEST

START_TEST(test_rsvd_large_mean_and_overflow)
{
    /* Features with a mean ~1700x their largest spread (residual-stream-like
     * outliers): the float32 passes work on x - shift, so the randomized
     * solver still matches the float64 covariance path within 1e-6 on the
     * top components (spectral gap 0.8 per component). */
    const int64_t n = 3000, d = 96;
    float *X = gen_decay(n, d, 11, 5000.0);
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 5;
    p.block_rows = 500;
    p.solver = STRATA_PCA_COV;
    strata_pca *C = NULL, *R = NULL;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &C), STRATA_OK);
    p.solver = STRATA_PCA_RSVD;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &R), STRATA_OK);
    for (int t = 0; t < 5; t++) {
        ck_close(strata_pca_explained_variance(R)[t], strata_pca_explained_variance(C)[t], 1e-6);
        ck_assert_msg(absdot(strata_pca_components(R) + t * d, strata_pca_components(C) + t * d, d)
                          > 1 - 1e-6, "rsvd component %d", t);
    }
    for (int j = 0; j < d; j++) ck_close(strata_pca_mean(R)[j], strata_pca_mean(C)[j], 1e-12);
    strata_pca_free(C); strata_pca_free(R);
    /* Spread ~3e18: a block's D^T D overflows float32 (not float64).  The
     * randomized solver says so and names the way out; the covariance one
     * works. */
    for (int64_t i = 0; i < n * d; i++) X[i] *= 1e18f;
    p.solver = STRATA_PCA_RSVD;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &R), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_pca_errmsg(R), "float32") && strstr(strata_pca_errmsg(R), "--solver cov"),
                  "%s", strata_pca_errmsg(R));
    strata_pca_free(R);
    p.solver = STRATA_PCA_COV;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &C), STRATA_OK);
    ck_assert(isfinite(strata_pca_explained_variance(C)[0]) && strata_pca_explained_variance(C)[0] > 1e36);
    strata_pca_free(C);
    free(X);
}
END_TEST

START_TEST(test_uncentred)
{
    /* center = 0: C = X^T X / n.  Rows (1,0), (1,0), (0,2), (0,2): C = diag(0.5, 2). */
    float X[4][2] = { {1, 0}, {1, 0}, {0, 2}, {0, 2} };
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 2;
    p.center = 0;
    strata_pca *P = NULL;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 4, 2, &p, &P), STRATA_OK);
    ck_close(strata_pca_explained_variance(P)[0], 2.0, 1e-14);
    ck_close(strata_pca_explained_variance(P)[1], 0.5, 1e-14);
    ck_assert(strata_pca_mean(P)[0] == 0 && strata_pca_mean(P)[1] == 0);
    strata_pca_free(P);
    /* The randomized solver's products run in float32 (rsvd.c, op_pass): the
     * same values to float32 precision (rel 1e-6), not float64's 1e-12. */
    p.solver = STRATA_PCA_RSVD;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 4, 2, &p, &P), STRATA_OK);
    ck_close(strata_pca_explained_variance(P)[0], 2.0, 1e-6);
    ck_close(strata_pca_participation_ratio(P), 2.5 * 2.5 / 4.25, 1e-6);
    strata_pca_free(P);
}
END_TEST

START_TEST(test_degenerate)
{
    strata_pca_params p;
    strata_pca_default_params(&p);
    strata_pca *P = NULL;
    float X[5][4];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) X[i][j] = (float)((i * 3 + j * 5) % 7) + (j == 2 ? 0 : 0);
    /* Fewer rows than k: 5 rows centred have rank <= 4. */
    p.k = 5;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_ARG);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "k = 5") != NULL, "%s", strata_pca_errmsg(P));
    ck_assert(strata_pca_components(P) == NULL && strata_pca_k(P) == 0);
    strata_pca_free(P);
    p.k = 4;
    float X3[3][4] = { {1, 2, 3, 4}, {2, 2, 2, 2}, {0, 1, 0, 1} };
    ck_assert_int_eq(strata_pca_fit(&X3[0][0], 3, 4, &p, &P), STRATA_ERR_ARG);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "only 3 rows") != NULL, "%s", strata_pca_errmsg(P));
    strata_pca_free(P);
    p.k = 0;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_ARG);
    strata_pca_free(P);
    /* Constant feature among others: fine, a zero eigenvalue. */
    for (int i = 0; i < 5; i++) X[i][2] = 7.0f;
    p.k = 4;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_OK);
    ck_assert(strata_pca_explained_variance(P)[3] < 1e-12);
    ck_assert(fabs(strata_pca_components(P)[3 * 4 + 2]) > 1 - 1e-9); /* the null direction is e3 */
    strata_pca_free(P);
    /* All features constant: clear error. */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) X[i][j] = (float)j;
    p.k = 2;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "constant") != NULL, "%s", strata_pca_errmsg(P));
    strata_pca_free(P);
    p.solver = STRATA_PCA_RSVD;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_NUMERIC);
    strata_pca_free(P);
    p.solver = STRATA_PCA_AUTO;
    /* NaN and Inf: error naming row and column. */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) X[i][j] = (float)(i + j * j);
    X[3][1] = NAN;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "nan") && strstr(strata_pca_errmsg(P), "row 3, column 1"),
                  "%s", strata_pca_errmsg(P));
    strata_pca_free(P);
    X[3][1] = 0;
    X[4][0] = -INFINITY;
    p.block_rows = 2;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "-inf") && strstr(strata_pca_errmsg(P), "row 4, column 0"),
                  "%s", strata_pca_errmsg(P));
    strata_pca_free(P);
    /* Unbounded RSVD work is refused up front (issue: --iters 10^9 ran for
     * minutes). */
    X[4][0] = 1;
    p.block_rows = 0;
    p.k = 2;
    p.solver = STRATA_PCA_RSVD;
    p.rsvd_iters = STRATA_PCA_MAX_ITERS + 1;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_ARG);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "rsvd_iters"), "%s", strata_pca_errmsg(P));
    strata_pca_free(P);
    p.rsvd_iters = 4;
    p.rsvd_oversample = STRATA_PCA_MAX_OVERSAMPLE + 1;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_ARG);
    ck_assert_msg(strstr(strata_pca_errmsg(P), "rsvd_oversample"), "%s", strata_pca_errmsg(P));
    strata_pca_free(P);
    p.rsvd_oversample = -1;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_ERR_ARG);
    strata_pca_free(P);
    p.rsvd_oversample = 10;
    ck_assert_int_eq(strata_pca_fit(&X[0][0], 5, 4, &p, &P), STRATA_OK);
    strata_pca_free(P);
    p.solver = STRATA_PCA_AUTO;
    /* NULL-safety. */
    strata_pca_free(NULL);
    ck_assert_int_eq(strata_pca_fit(NULL, 5, 4, &p, &P), STRATA_ERR_ARG);
    strata_pca_free(P);
}
END_TEST

START_TEST(test_participation_ratio_helper)
{
    double l1[4] = { 1, 1, 1, 1 }, l2[3] = { 5, 0, 0 }, l3[2] = { 0, 0 };
    ck_close(strata_participation_ratio(l1, 4), 4.0, 1e-15);
    ck_close(strata_participation_ratio(l2, 3), 1.0, 1e-15);
    ck_assert(strata_participation_ratio(l3, 2) == 0.0);
}
END_TEST


START_TEST(test_acts_stream_and_write_back)
{
    const int64_t n = 2500, d = 24;
    float *X = gen_decay(n, d, 99, 10.0);
    const char *path = tu_tmpfile("pca_acts.h5");
    const char *names[1] = { "blocks.0.hook_resid_post" };
    int64_t width[1] = { d };
    const float *Xs[1] = { X };
    tu_write_acts(path, 1, names, width, Xs, n, ST_H5_F32, 700);

    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 5;
    p.block_rows = 256;
    strata_pca *M = NULL, *S = NULL;
    ck_assert_int_eq(strata_pca_fit(X, n, d, &p, &M), STRATA_OK);
    strata_acts *a = NULL;
    ck_assert_msg(strata_acts_open(path, &a) == STRATA_OK, "%s", strata_acts_errmsg(a));
    ck_assert_int_eq(strata_pca_fit_acts(a, names[0], &p, &S), STRATA_OK);
    ck_assert_int_eq(strata_pca_n_rows(S), n);
    for (int t = 0; t < 5; t++) {
        ck_close(strata_pca_explained_variance(S)[t], strata_pca_explained_variance(M)[t], 1e-12);
        for (int64_t i = 0; i < d; i++)
            ck_assert(fabs(strata_pca_components(S)[t * d + i] - strata_pca_components(M)[t * d + i]) < 1e-10);
    }
    ck_close(strata_pca_participation_ratio(S), strata_pca_participation_ratio(M), 1e-12);
    /* Unknown hook: NOTFOUND naming it. */
    strata_pca *U = NULL;
    ck_assert_int_eq(strata_pca_fit_acts(a, "blocks.9.hook_nope", &p, &U), STRATA_ERR_NOTFOUND);
    ck_assert_msg(strstr(strata_pca_errmsg(U), "blocks.9.hook_nope") != NULL, "%s", strata_pca_errmsg(U));
    strata_pca_free(U);
    /* Writing while the reader holds the file: a clear error, not a crash. */
    strata_acts_close(a);

    ck_assert_msg(strata_pca_write(S, path, names[0], 1, 0) == STRATA_OK, "%s", strata_pca_errmsg(S));
    ck_assert_int_eq(strata_pca_write(S, path, names[0], 1, 0), STRATA_ERR_EXISTS);
    ck_assert_msg(strata_pca_write(S, path, names[0], 1, 1) == STRATA_OK, "%s", strata_pca_errmsg(S));

    /* Read back with HDF5 and compare with strata_pca_transform. */
    float *want = malloc(sizeof(float) * n * 5), *got = malloc(sizeof(float) * n * 5);
    ck_assert_int_eq(strata_pca_transform(S, X, n, want), STRATA_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char dsname[256];
    snprintf(dsname, sizeof dsname, "/pca/%s/projections", names[0]);
    hid_t ds = H5Dopen2(f, dsname, H5P_DEFAULT);
    ck_assert(ds >= 0);
    ck_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    H5Dclose(ds);
    double comp[5 * 24];
    snprintf(dsname, sizeof dsname, "/pca/%s/components", names[0]);
    ds = H5Dopen2(f, dsname, H5P_DEFAULT);
    ck_assert(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, comp) >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    ck_assert(tu_check_close("projections", got, want, (size_t)(n * 5), 0.0));
    ck_assert(memcmp(comp, strata_pca_components(S), sizeof comp) == 0);
    /* The file still opens as an activation file. */
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
    ck_assert_int_eq(strata_acts_n_hooks(a), 1);
    strata_acts_close(a);
    free(want); free(got);
    strata_pca_free(M); strata_pca_free(S);
    free(X);
}
END_TEST

START_TEST(test_acts_float16)
{
    /* float16 storage: the fit sees the widened halves, i.e. equals the
     * in-memory fit of X rounded to binary16. */
    const int64_t n = 800, d = 12;
    float *X = gen_decay(n, d, 5, 1.0);
    float *Xh = malloc(sizeof(float) * n * d);
    for (int64_t i = 0; i < n * d; i++) Xh[i] = st_f16_to_f32(st_f32_to_f16(X[i]));
    const char *path = tu_tmpfile("pca_f16.h5");
    const char *names[1] = { "hook_embed" };
    int64_t width[1] = { d };
    const float *Xs[1] = { X };
    tu_write_acts(path, 1, names, width, Xs, n, ST_H5_F16, 300);
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = 3;
    strata_pca *M = NULL, *S = NULL;
    ck_assert_int_eq(strata_pca_fit(Xh, n, d, &p, &M), STRATA_OK);
    strata_acts *a = NULL;
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
    ck_assert_int_eq(strata_pca_fit_acts(a, names[0], &p, &S), STRATA_OK);
    strata_acts_close(a);
    for (int t = 0; t < 3; t++)
        ck_close(strata_pca_explained_variance(S)[t], strata_pca_explained_variance(M)[t], 1e-12);
    ck_assert_msg(strata_pca_write(S, path, names[0], 1, 0) == STRATA_OK, "%s", strata_pca_errmsg(S));
    strata_pca_free(M); strata_pca_free(S);
    free(X); free(Xh);
}
END_TEST

Suite *pca_suite(void)
{
    Suite *s = suite_create("pca");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_diagonal_covariance);
    tcase_add_test(tc, test_rank_one);
    tcase_add_test(tc, test_against_reference_and_streaming);
    tcase_add_test(tc, test_rsvd_matches_cov);
    tcase_add_test(tc, test_rsvd_large_mean_and_overflow);
    tcase_add_test(tc, test_uncentred);
    tcase_add_test(tc, test_degenerate);
    tcase_add_test(tc, test_participation_ratio_helper);
    tcase_add_test(tc, test_acts_stream_and_write_back);
    tcase_add_test(tc, test_acts_float16);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pca_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
