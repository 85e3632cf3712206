/* tests/test_cka.c — linear CKA: hand-derivable values, invariances, a naive
 * float64 reference, tiling under a small memory budget, streaming from a
 * capture file equal to in-memory, and degenerate input. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/capture.h"
#include "strata/cka.h"
#include "geom_core.h"
#include "io/h5store.h" /* ST_H5_F32 */
#include "testutil.h"

/* Naive reference: two-pass centring, explicit products in long double. */
static double ref_cka(const float *X, int64_t p, const float *Y, int64_t q, int64_t n)
{
    long double *mx = calloc((size_t)p, sizeof(long double)), *my = calloc((size_t)q, sizeof(long double));
    for (int64_t r = 0; r < n; r++) {
        for (int64_t i = 0; i < p; i++) mx[i] += X[r * p + i];
        for (int64_t j = 0; j < q; j++) my[j] += Y[r * q + j];
    }
    for (int64_t i = 0; i < p; i++) mx[i] /= n;
    for (int64_t j = 0; j < q; j++) my[j] /= n;
    long double xy = 0, xx = 0, yy = 0;
    for (int64_t i = 0; i < p; i++)
        for (int64_t j = 0; j < q; j++) {
            long double s = 0;
            for (int64_t r = 0; r < n; r++) s += (X[r * p + i] - mx[i]) * (Y[r * q + j] - my[j]);
            xy += s * s;
        }
    for (int64_t i = 0; i < p; i++)
        for (int64_t j = 0; j < p; j++) {
            long double s = 0;
            for (int64_t r = 0; r < n; r++) s += (X[r * p + i] - mx[i]) * (X[r * p + j] - mx[j]);
            xx += s * s;
        }
    for (int64_t i = 0; i < q; i++)
        for (int64_t j = 0; j < q; j++) {
            long double s = 0;
            for (int64_t r = 0; r < n; r++) s += (Y[r * q + i] - my[i]) * (Y[r * q + j] - my[j]);
            yy += s * s;
        }
    free(mx); free(my);
    return (double)(xy / sqrtl(xx * yy));
}

/* Correlated random hooks: H_h = Z A_h + noise_h + offset, Z [n][8] shared. */
static float **gen_hooks(int nh, const int64_t *w, int64_t n, uint64_t seed)
{
    geom_rng r;
    geom_rng_seed(&r, seed);
    double *Z = malloc(sizeof(double) * n * 8);
    for (int64_t i = 0; i < n * 8; i++) Z[i] = geom_rng_gauss(&r);
    float **H = malloc(sizeof(float *) * nh);
    for (int h = 0; h < nh; h++) {
        double *A = malloc(sizeof(double) * 8 * w[h]);
        for (int64_t i = 0; i < 8 * w[h]; i++) A[i] = geom_rng_gauss(&r);
        H[h] = malloc(sizeof(float) * n * w[h]);
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < w[h]; c++) {
                double v = 20.0 + (h + 1) * geom_rng_gauss(&r);
                for (int j = 0; j < 8; j++) v += Z[i * 8 + j] * A[j * w[h] + c];
                H[h][i * w[h] + c] = (float)v;
            }
        free(A);
    }
    free(Z);
    return H;
}

static void free_hooks(float **H, int nh)
{
    for (int h = 0; h < nh; h++) free(H[h]);
    free(H);
}

START_TEST(test_hand_values)
{
    /* x = (1,-1,1,-1)+5 and z = (1,1,-1,-1): centred, orthogonal, equal norms.
     * CKA(x, [x z]) = ||[4 0]||^2 / (4 * ||diag(4,4)||_F) = 16 / (4 * 4 sqrt 2) = 1/sqrt 2.
     * CKA of two 1-D inputs = squared Pearson correlation. */
    float x[4] = { 6, 4, 6, 4 };
    float xz[8] = { 6, 1, 4, 1, 6, -1, 4, -1 };
    float y[4] = { 1, 2, 3, 5 };
    const float *X[3] = { x, xz, y };
    int64_t d[3] = { 1, 2, 1 };
    strata_cka *C = NULL;
    ck_assert_int_eq(strata_cka_fit(3, X, d, 4, NULL, &C), STRATA_OK);
    const double *K = strata_cka_matrix(C);
    ck_assert_int_eq(strata_cka_n(C), 3);
    ck_assert_int_eq(strata_cka_n_passes(C), 1);
    ck_assert_msg(fabs(K[0 * 3 + 1] - 1.0 / sqrt(2.0)) < 1e-14, "got %.17g", K[1]);
    /* corr(x, y): x - mean = (1,-1,1,-1), y - mean = (-1.75,-0.75,0.25,2.25):
     * sum xy = -1.75 + 0.75 + 0.25 - 2.25 = -3, |x|^2 = 4, |y|^2 = 8.75. */
    double r2 = 9.0 / (4.0 * 8.75);
    ck_assert_msg(fabs(K[0 * 3 + 2] - r2) < 1e-14, "got %.17g want %.17g", K[2], r2);
    for (int i = 0; i < 3; i++) {
        ck_assert(K[i * 3 + i] == 1.0);
        for (int j = 0; j < 3; j++) ck_assert(K[i * 3 + j] == K[j * 3 + i]);
    }
    strata_cka_free(C);
}
END_TEST

START_TEST(test_reference_self_and_invariance)
{
    const int nh = 3;
    const int64_t n = 1500, w[3] = { 16, 24, 8 };
    float **H = gen_hooks(nh, w, n, 11);
    strata_cka_params p;
    strata_cka_default_params(&p);
    p.block_rows = 97;
    strata_cka *C = NULL;
    ck_assert_int_eq(strata_cka_fit(nh, (const float *const *)H, w, n, &p, &C), STRATA_OK);
    const double *K = strata_cka_matrix(C);
    for (int a = 0; a < nh; a++)
        for (int b = a + 1; b < nh; b++) {
            double want = ref_cka(H[a], w[a], H[b], w[b], n);
            ck_assert_msg(fabs(K[a * nh + b] - want) < 1e-12, "CKA(%d,%d) = %.17g want %.17g", a, b,
                          K[a * nh + b], want);
        }
    /* CKA(X, X) over two separate copies is 1 (not just the diagonal). */
    const float *XX[2] = { H[1], H[1] };
    int64_t ww[2] = { w[1], w[1] };
    strata_cka *S = NULL;
    ck_assert_int_eq(strata_cka_fit(2, XX, ww, n, &p, &S), STRATA_OK);
    ck_assert_msg(fabs(strata_cka_matrix(S)[1] - 1.0) < 1e-14, "%.17g", strata_cka_matrix(S)[1]);
    strata_cka_free(S);
    /* Orthogonal transform + isotropic scaling + shift of H[0]: CKA with the
     * others unchanged (to float32 storage of the transformed data). */
    double *Q = malloc(sizeof(double) * w[0] * w[0]);
    geom_rng r;
    geom_rng_seed(&r, 3);
    for (int64_t i = 0; i < w[0] * w[0]; i++) Q[i] = geom_rng_gauss(&r);
    geom_orth(Q, w[0], w[0], NULL);
    float *T = malloc(sizeof(float) * n * w[0]);
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < w[0]; c++) {
            double v = 0;
            for (int64_t j = 0; j < w[0]; j++) v += H[0][i * w[0] + j] * Q[j * w[0] + c];
            T[i * w[0] + c] = (float)(3.5 * v - 7.0);
        }
    const float *X2[3] = { T, H[1], H[2] };
    ck_assert_int_eq(strata_cka_fit(nh, X2, w, n, &p, &S), STRATA_OK);
    for (int b = 1; b < nh; b++)
        ck_assert_msg(fabs(strata_cka_matrix(S)[b] - K[b]) < 1e-6, "invariance: %.10g vs %.10g",
                      strata_cka_matrix(S)[b], K[b]);
    strata_cka_free(S);
    free(Q); free(T);
    strata_cka_free(C);
    free_hooks(H, nh);
}
END_TEST

START_TEST(test_tiled_budget)
{
    /* 5 hooks; a budget of 8 * 40^2 bytes allows groups of width <= 40:
     * widths 16,24 | 8,20 | 30 -> 3 groups -> 3 diagonal + 3 cross passes. */
    const int nh = 5;
    const int64_t n = 700, w[5] = { 16, 24, 8, 20, 30 };
    float **H = gen_hooks(nh, w, n, 5);
    strata_cka_params p;
    strata_cka_default_params(&p);
    strata_cka *A = NULL, *B = NULL;
    ck_assert_int_eq(strata_cka_fit(nh, (const float *const *)H, w, n, &p, &A), STRATA_OK);
    ck_assert_int_eq(strata_cka_n_passes(A), 1);
    p.max_bytes = 8 * 40 * 40;
    p.block_rows = 64;
    ck_assert_int_eq(strata_cka_fit(nh, (const float *const *)H, w, n, &p, &B), STRATA_OK);
    ck_assert_int_eq(strata_cka_n_passes(B), 6);
    for (int i = 0; i < nh * nh; i++)
        ck_assert_msg(fabs(strata_cka_matrix(A)[i] - strata_cka_matrix(B)[i]) < 1e-13, "entry %d", i);
    strata_cka_free(B);
    /* A hook wider than the budget allows: a clear error. */
    p.max_bytes = 8 * 20 * 20;
    ck_assert_int_eq(strata_cka_fit(nh, (const float *const *)H, w, n, &p, &B), STRATA_ERR_RANGE);
    ck_assert_msg(strstr(strata_cka_errmsg(B), "input 1") && strstr(strata_cka_errmsg(B), "budget"),
                  "%s", strata_cka_errmsg(B));
    ck_assert(strata_cka_matrix(B) == NULL);
    strata_cka_free(B);
    strata_cka_free(A);
    free_hooks(H, nh);
}
END_TEST

START_TEST(test_acts_streaming)
{
    const int nh = 4;
    const int64_t n = 3000, w[4] = { 32, 32, 32, 16 };
    float **H = gen_hooks(nh, w, n, 21);
    const char *names[4] = { "hook_embed", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post",
                             "blocks.1.mlp.hook_post" };
    const char *path = tu_tmpfile("cka.h5");
    tu_write_acts(path, nh, names, w, (const float *const *)H, n, ST_H5_F32, 512);
    strata_cka_params p;
    strata_cka_default_params(&p);
    p.block_rows = 1000;
    strata_cka *M = NULL, *S = NULL, *T = NULL;
    ck_assert_int_eq(strata_cka_fit(nh, (const float *const *)H, w, n, &p, &M), STRATA_OK);
    strata_acts *a = NULL;
    ck_assert_msg(strata_acts_open(path, &a) == STRATA_OK, "%s", strata_acts_errmsg(a));
    p.block_rows = 333;
    ck_assert_int_eq(strata_cka_fit_acts(a, nh, names, &p, &S), STRATA_OK);
    ck_assert_int_eq(strata_cka_n_rows(S), n);
    for (int i = 0; i < nh * nh; i++)
        ck_assert_msg(fabs(strata_cka_matrix(S)[i] - strata_cka_matrix(M)[i]) < 1e-13, "entry %d: %.17g vs %.17g",
                      i, strata_cka_matrix(S)[i], strata_cka_matrix(M)[i]);
    /* Tiled, from the file. */
    p.max_bytes = 8 * 64 * 64;
    ck_assert_int_eq(strata_cka_fit_acts(a, nh, names, &p, &T), STRATA_OK);
    ck_assert(strata_cka_n_passes(T) > 1);
    for (int i = 0; i < nh * nh; i++)
        ck_assert(fabs(strata_cka_matrix(T)[i] - strata_cka_matrix(M)[i]) < 1e-13);
    strata_cka_free(T);
    const char *bad[2] = { names[0], "blocks.7.hook_nope" };
    ck_assert_int_eq(strata_cka_fit_acts(a, 2, bad, &p, &T), STRATA_ERR_NOTFOUND);
    ck_assert_msg(strstr(strata_cka_errmsg(T), "blocks.7.hook_nope"), "%s", strata_cka_errmsg(T));
    strata_cka_free(T);
    strata_acts_close(a);
    strata_cka_free(M); strata_cka_free(S);
    free_hooks(H, nh);
}
END_TEST

START_TEST(test_degenerate)
{
    float x[6] = { 1, 2, 3, 4, 5, 7 }, c[6] = { 2, 2, 2, 2, 2, 2 }, y[12];
    for (int i = 0; i < 12; i++) y[i] = (float)((i * 5) % 7);
    int64_t d[3] = { 1, 1, 2 };
    const float *X[3] = { x, c, y };
    strata_cka *C = NULL;
    ck_assert_int_eq(strata_cka_fit(3, X, d, 6, NULL, &C), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_cka_errmsg(C), "input 1") && strstr(strata_cka_errmsg(C), "constant"),
                  "%s", strata_cka_errmsg(C));
    ck_assert(strata_cka_matrix(C) == NULL && strata_cka_n(C) == 0);
    strata_cka_free(C);
    y[7] = INFINITY;
    X[1] = x;
    ck_assert_int_eq(strata_cka_fit(3, X, d, 6, NULL, &C), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_cka_errmsg(C), "inf") && strstr(strata_cka_errmsg(C), "row 3, column 1"),
                  "%s", strata_cka_errmsg(C));
    strata_cka_free(C);
    y[7] = 0;
    ck_assert_int_eq(strata_cka_fit(3, X, d, 1, NULL, &C), STRATA_ERR_ARG);
    strata_cka_free(C);
    ck_assert_int_eq(strata_cka_fit(0, X, d, 6, NULL, &C), STRATA_ERR_ARG);
    strata_cka_free(C);
    strata_cka_free(NULL);
    ck_assert_int_eq(strata_cka_fit(3, X, d, 6, NULL, &C), STRATA_OK);
    strata_cka_free(C);
}
END_TEST

Suite *cka_suite(void)
{
    Suite *s = suite_create("cka");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hand_values);
    tcase_add_test(tc, test_reference_self_and_invariance);
    tcase_add_test(tc, test_tiled_budget);
    tcase_add_test(tc, test_acts_streaming);
    tcase_add_test(tc, test_degenerate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cka_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
