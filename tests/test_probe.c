/* tests/test_probe.c — linear probes: math on constructed data with
 * hand-derivable answers, metrics by hand, splits, control tasks, the
 * streaming path, save/load, and every kind of bad input.
 * (Agreement with scikit-learn: tests/python/test_probe_sklearn.py.) */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5store.h"
#include "probe_internal.h"
#include "strata/capture.h"
#include "strata/probe.h"
#include "testutil.h"

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

static strata_probe_params params(int kind, int standardize)
{
    strata_probe_params p;
    strata_probe_default_params(&p);
    p.kind = kind;
    p.standardize = standardize;
    p.tol = 1e-8;
    return p;
}

/* Symmetric 1-D data: n rows at x=+1 (y=1), n at x=-1 (y=0).  By symmetry
 * b = 0, and the optimality condition of C*sum(logloss) + w^2/2 is
 *   C n [(sigma(w) - 1) - sigma(-w)] + w = 0  <=>  w = 2 C n sigma(-w),
 * solved here by bisection. */
START_TEST(test_logistic_symmetric_1d)
{
    int n = 50;
    double C = 0.05;
    float X[100], y[100];
    for (int i = 0; i < n; i++) { X[i] = 1; y[i] = 1; X[n + i] = -1; y[n + i] = 0; }
    double lo = 0, hi = 2 * C * n;
    for (int it = 0; it < 200; it++) {
        double m = 0.5 * (lo + hi);
        if (m - 2 * C * n * sigmoid(-m) > 0) hi = m; else lo = m;
    }
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 0);
    p.C = C;
    strata_probe *pr = NULL;
    ck_assert_int_eq(strata_probe_fit(X, 2 * n, 1, y, NULL, &p, &pr), STRATA_OK);
    ck_assert_int_eq(strata_probe_n_outputs(pr), 1);
    ck_assert_int_eq(strata_probe_n_classes(pr), 2);
    ck_assert_msg(fabs(strata_probe_coef(pr)[0] - lo) < 1e-4, "w %g want %g", strata_probe_coef(pr)[0], lo);
    ck_assert_msg(fabs(strata_probe_intercept(pr)[0]) < 1e-4, "b %g", strata_probe_intercept(pr)[0]);
    float yhat[100];
    ck_assert_int_eq(strata_probe_predict(pr, X, 2 * n, yhat), STRATA_OK);
    for (int i = 0; i < 2 * n; i++) ck_assert(yhat[i] == y[i]);
    float proba[200];
    ck_assert_int_eq(strata_probe_predict_proba(pr, X, 2 * n, proba), STRATA_OK);
    ck_assert(fabs(proba[1] - sigmoid(lo)) < 1e-4);
    strata_probe_free(pr);
}
END_TEST

/* Separable 2-D data with labels 3 and 7 (non-0/1 values): 100% accuracy,
 * the class values come back, and the weight points along the separating axis. */
START_TEST(test_logistic_separable)
{
    enum { N = 200 };
    float X[N * 2], y[N];
    pr_rng r;
    pr_rng_seed(&r, 1);
    for (int i = 0; i < N; i++) {
        int c = i % 2;
        X[2 * i] = (float)((c ? 1.5 : -1.5) + 0.5 * (pr_rng_uniform(&r) - 0.5));
        X[2 * i + 1] = (float)(4 * (pr_rng_uniform(&r) - 0.5));
        y[i] = c ? 7 : 3;
    }
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 1);
    strata_probe *pr = NULL;
    ck_assert_int_eq(strata_probe_fit(X, N, 2, y, NULL, &p, &pr), STRATA_OK);
    ck_assert(strata_probe_class_value(pr, 0) == 3 && strata_probe_class_value(pr, 1) == 7);
    const float *w = strata_probe_coef(pr);
    ck_assert_msg(w[0] > 5 * fabs(w[1]), "w = (%g, %g)", w[0], w[1]);
    float yhat[N];
    strata_probe_predict(pr, X, N, yhat);
    for (int i = 0; i < N; i++) ck_assert(yhat[i] == y[i]);
    float dir[2];
    ck_assert_int_eq(strata_probe_direction(pr, 0, 1, dir), STRATA_OK);
    ck_assert(fabs(dir[0] * dir[0] + dir[1] * dir[1] - 1) < 1e-5);
    strata_probe_free(pr);
}
END_TEST

/* Multinomial optimality: at the solution the gradient of the sklearn
 * objective  C sum_i (lse(z_i) - z_i,y_i) + ||W||^2/2  vanishes:
 *   W_k = -C sum_i (p_ik - [y_i = k]) x_i,   sum_i (p_ik - [y_i = k]) = 0. */
START_TEST(test_multinomial_optimality)
{
    enum { N = 300, D = 3, K = 3 };
    float X[N * D], y[N];
    pr_rng r;
    pr_rng_seed(&r, 2);
    for (int i = 0; i < N; i++) {
        int c = i % K;
        for (int j = 0; j < D; j++) X[i * D + j] = (float)((j == c ? 1.0 : 0.0) + 1.2 * (pr_rng_uniform(&r) - 0.5));
        y[i] = (float)c;
    }
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 0);
    p.C = 0.5;
    strata_probe *pr = NULL;
    ck_assert_int_eq(strata_probe_fit(X, N, D, y, NULL, &p, &pr), STRATA_OK);
    ck_assert_int_eq(strata_probe_n_outputs(pr), K);
    const float *W = strata_probe_coef(pr), *b = strata_probe_intercept(pr);
    double g[K][D + 1];
    memset(g, 0, sizeof g);
    for (int i = 0; i < N; i++) {
        double z[K], m = -1e300, s = 0;
        for (int k = 0; k < K; k++) {
            z[k] = b[k];
            for (int j = 0; j < D; j++) z[k] += (double)W[k * D + j] * X[i * D + j];
            if (z[k] > m) m = z[k];
        }
        for (int k = 0; k < K; k++) s += exp(z[k] - m);
        for (int k = 0; k < K; k++) {
            double rr = exp(z[k] - m) / s - (k == (int)y[i]);
            for (int j = 0; j < D; j++) g[k][j] += p.C * rr * X[i * D + j];
            g[k][D] += rr;
        }
    }
    for (int k = 0; k < K; k++) {
        for (int j = 0; j < D; j++) ck_assert_msg(fabs(g[k][j] + W[k * D + j]) < 1e-3, "grad W[%d][%d] = %g", k, j, g[k][j] + W[k * D + j]);
        ck_assert_msg(fabs(g[k][D]) < 1e-3, "grad b[%d] = %g", k, g[k][D]);
    }
    strata_probe_free(pr);
}
END_TEST

/* Difference of means: class 0 at (0,0,0)+-e, class 1 at (2,4,-2)+-e with
 * symmetric offsets, so w = (2,4,-2), b = -w.(1,2,-1) = -12. */
START_TEST(test_diffmean)
{
    float X[8 * 3], y[8];
    float off[4][3] = { {1, 0, 0}, {-1, 0, 0}, {0, 1, 1}, {0, -1, -1} };
    for (int i = 0; i < 8; i++) {
        int c = i / 4;
        for (int j = 0; j < 3; j++) X[i * 3 + j] = (c ? (j == 0 ? 2 : j == 1 ? 4 : -2) : 0) + off[i % 4][j];
        y[i] = c;
    }
    strata_probe_params p = params(STRATA_PROBE_DIFFMEAN, 1); /* standardize ignored */
    strata_probe *pr = NULL;
    ck_assert_int_eq(strata_probe_fit(X, 8, 3, y, NULL, &p, &pr), STRATA_OK);
    float want[3] = { 2, 4, -2 };
    ck_assert(tu_check_close("diffmean w", strata_probe_coef(pr), want, 3, 1e-6));
    ck_assert(fabs(strata_probe_intercept(pr)[0] + 12) < 1e-5);
    strata_probe_free(pr);
}
END_TEST

/* Ridge on a tiny system, by hand.  X = [[1,0],[0,1],[1,1],[0,0]],
 * y = [1,2,4,0], alpha = 1.  Centred: m = (0.5,0.5), ybar = 1.75;
 * Xc^T Xc = [[1,0.5... ]] computed below in double and solved by Cramer. */
START_TEST(test_ridge_closed_form)
{
    float X[8] = { 1, 0, 0, 1, 1, 1, 0, 0 }, y[4] = { 1, 2, 4, 0 };
    double m0 = 0.5, m1 = 0.5, yb = 1.75, a = 1.0;
    double A00 = 0, A01 = 0, A11 = 0, c0 = 0, c1 = 0;
    for (int i = 0; i < 4; i++) {
        double u = X[2 * i] - m0, v = X[2 * i + 1] - m1, t = y[i] - yb;
        A00 += u * u; A01 += u * v; A11 += v * v; c0 += u * t; c1 += v * t;
    }
    /* = [[1,0],[0,1]] and c = (1.5, 2.5): w = c / 2 */
    A00 += a; A11 += a;
    double det = A00 * A11 - A01 * A01;
    double w0 = (A11 * c0 - A01 * c1) / det, w1 = (A00 * c1 - A01 * c0) / det, b = yb - m0 * w0 - m1 * w1;
    ck_assert(fabs(w0 - 0.75) < 1e-12 && fabs(w1 - 1.25) < 1e-12);
    strata_probe_params p = params(STRATA_PROBE_RIDGE, 0);
    p.alpha = a;
    strata_probe *pr = NULL;
    ck_assert_int_eq(strata_probe_fit(X, 4, 2, y, NULL, &p, &pr), STRATA_OK);
    float want[2] = { (float)w0, (float)w1 };
    ck_assert(tu_check_close("ridge w", strata_probe_coef(pr), want, 2, 1e-5));
    ck_assert(fabs(strata_probe_intercept(pr)[0] - b) < 1e-5);
    ck_assert_int_eq(strata_probe_n_classes(pr), 0);
    /* standardised fit: same predictions as an unstandardised fit with the
     * penalty rescaled is not expected, but alpha = 0 must give OLS either way */
    strata_probe_free(pr);
    p.alpha = 0;
    p.standardize = 1;
    ck_assert_int_eq(strata_probe_fit(X, 4, 2, y, NULL, &p, &pr), STRATA_OK);
    /* OLS: Xc^T Xc = I, so w = c = (1.5, 2.5) */
    float ols[2] = { 1.5f, 2.5f };
    ck_assert(tu_check_close("ols w", strata_probe_coef(pr), ols, 2, 1e-5));
    strata_probe_free(pr);
}
END_TEST

START_TEST(test_metrics_by_hand)
{
    int32_t y[6] = { 0, 0, 1, 1, 2, 2 }, pred[6] = { 0, 1, 1, 1, 2, 0 };
    ck_assert(fabs(strata_metric_accuracy(y, pred, 6) - 4.0 / 6) < 1e-12);
    /* recalls: 1/2, 1, 1/2 */
    ck_assert(fabs(strata_metric_balanced_accuracy(y, pred, 6, 3) - 2.0 / 3) < 1e-12);
    /* F1: c0 tp1 fp1 fn1 -> 0.5; c1 tp2 fp1 fn0 -> 0.8; c2 tp1 fp0 fn1 -> 2/3 */
    ck_assert(fabs(strata_metric_macro_f1(y, pred, 6, 3) - (0.5 + 0.8 + 2.0 / 3) / 3) < 1e-12);
    /* AUROC with a tie: pos scores {0.8, 0.4}, neg {0.4, 0.1}: pairs 1+1+0.5+1 = 3.5 / 4 */
    int32_t yb[4] = { 1, 1, 0, 0 };
    float s[4] = { 0.8f, 0.4f, 0.4f, 0.1f };
    ck_assert(fabs(strata_metric_auroc(yb, s, 4) - 0.875) < 1e-12);
    float pr[4] = { 0.25f, 0.75f, 0.5f, 0.5f };
    int32_t yl[2] = { 1, 0 };
    ck_assert(fabs(strata_metric_log_loss(yl, pr, 2, 2) - 0.5 * (-log(0.75) - log(0.5))) < 1e-7);
    float yt[4] = { 1, 2, 3, 4 }, yh[4] = { 1, 2, 3, 5 };
    ck_assert(fabs(strata_metric_r2(yt, yh, 4) - (1 - 1.0 / 5)) < 1e-12);
    ck_assert(isnan(strata_metric_accuracy(y, pred, 0)));
    int32_t ybad[4] = { 0, 2, 1, 0 };
    ck_assert(isnan(strata_metric_auroc(ybad, s, 4))); /* y not binary */
}
END_TEST

START_TEST(test_split_kfold_control)
{
    enum { N = 1000 };
    int32_t cls[N];
    for (int i = 0; i < N; i++) cls[i] = i < 700 ? 0 : i < 990 ? 1 : i < 999 ? 2 : -1;
    uint8_t t1[N], t2[N];
    ck_assert_int_eq(strata_probe_split(cls, N, 0.2, 5, t1), STRATA_OK);
    ck_assert_int_eq(strata_probe_split(cls, N, 0.2, 5, t2), STRATA_OK);
    ck_assert(!memcmp(t1, t2, N));
    int cnt[3] = { 0 };
    for (int i = 0; i < N; i++) if (t1[i]) { ck_assert(cls[i] >= 0); cnt[cls[i]]++; }
    ck_assert_int_eq(cnt[0], 140); ck_assert_int_eq(cnt[1], 58); ck_assert_int_eq(cnt[2], 2);
    strata_probe_split(cls, N, 0.2, 6, t2);
    ck_assert(memcmp(t1, t2, N)); /* another seed, another split */
    int8_t fold[N];
    ck_assert_int_eq(strata_probe_kfold(cls, N, 5, 1, fold), STRATA_OK);
    int fc[5] = { 0 }, c0[5] = { 0 };
    for (int i = 0; i < N; i++) {
        if (cls[i] < 0) { ck_assert_int_eq(fold[i], -1); continue; }
        fc[fold[i]]++;
        if (cls[i] == 0) c0[fold[i]]++;
    }
    for (int f = 0; f < 5; f++) { ck_assert(fc[f] >= 199 && fc[f] <= 200); ck_assert_int_eq(c0[f], 140); }
    /* control task: a label per token type, from the label distribution */
    float y[N], yc[N], yc2[N];
    int32_t tok[N];
    for (int i = 0; i < N; i++) { y[i] = i % 4 == 0; tok[i] = i % 37; }
    y[3] = NAN;
    ck_assert_int_eq(strata_probe_control_labels(y, tok, N, 9, yc), STRATA_OK);
    ck_assert_int_eq(strata_probe_control_labels(y, tok, N, 9, yc2), STRATA_OK);
    ck_assert(!memcmp(yc, yc2, sizeof yc));
    ck_assert(isnan(yc[3]));
    int ones = 0;
    for (int i = 0; i < N; i++) {
        if (i == 3) continue;
        ck_assert(yc[i] == 0 || yc[i] == 1);
        int j = (i + 37) % N;
        if (j != 3 && tok[j] == tok[i]) ck_assert(yc[i] == yc[j]);
        ones += yc[i] == 1;
    }
    ck_assert(ones > 0 && ones < N - 1); /* both values drawn (~25% ones) */
    ck_assert_int_eq(strata_probe_shuffle_labels(y, N, 1, yc), STRATA_OK);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < N; i++) if (i != 3) { s1 += y[i]; s2 += yc[i]; }
    ck_assert(s1 == s2 && isnan(yc[3]));
}
END_TEST

/* A provider that copies rows into the core's buffer, in blocks of 7. */
typedef struct copy_src { const float *X; int64_t d; int calls; } copy_src;
static int copy_read(void *user, int64_t row0, int64_t n, float *buf, const float **rows,
                     char *err, size_t err_len)
{
    copy_src *c = user;
    memcpy(buf, c->X + row0 * c->d, sizeof(float) * (size_t)(n * c->d));
    *rows = buf;
    c->calls++;
    return STRATA_OK;
}

static void make_data(float *X, float *y, int n, int d, int K, uint64_t seed)
{
    pr_rng r;
    pr_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = (int)pr_rng_below(&r, (uint64_t)K);
        y[i] = (float)c;
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(pr_rng_uniform(&r) - 0.5 + (j % K == c ? 0.4 : 0) + 3 * (j == 0));
    }
}

START_TEST(test_streaming_equals_memory_and_path)
{
    enum { N = 500, D = 6 };
    static float X[N * D], y[N];
    make_data(X, y, N, D, 3, 3);
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 1);
    strata_probe *a = NULL, *b = NULL;
    ck_assert_int_eq(strata_probe_fit(X, N, D, y, NULL, &p, &a), STRATA_OK);
    copy_src cs = { X, D, 0 };
    strata_probe_source src = { N, D, 7, copy_read, &cs };
    ck_assert_int_eq(strata_probe_fit_source(&src, y, NULL, &p, &b), STRATA_OK);
    ck_assert(cs.calls > 3 * (N / 7));
    ck_assert(tu_check_close("stream vs memory", strata_probe_coef(b), strata_probe_coef(a), 3 * D, 2e-4));
    /* path with warm starts agrees with cold fits.  Gradients are float32 BLAS
     * sums, so L-BFGS pins the optimum only to ~1e-4 relative; unoptimised
     * (sanitizer) builds sum in another order, hence 5e-4 on |coef| <= ~3. */
    double Cs[3] = { 0.01, 0.1, 1.0 };
    strata_probe *path[3];
    ck_assert_int_eq(strata_probe_fit_path(&src, y, NULL, &p, Cs, 3, path), STRATA_OK);
    ck_assert(tu_check_close("path C=1", strata_probe_coef(path[2]), strata_probe_coef(a), 3 * D, 5e-4));
    for (int i = 0; i < 3; i++) strata_probe_free(path[i]);
    strata_probe_free(a); strata_probe_free(b);
    /* ridge streamed in blocks of 7 equals in memory */
    float yr[N];
    for (int i = 0; i < N; i++) yr[i] = X[i * D + 1] * 2 - X[i * D + 2] + 0.1f * y[i];
    p.kind = STRATA_PROBE_RIDGE;
    ck_assert_int_eq(strata_probe_fit(X, N, D, yr, NULL, &p, &a), STRATA_OK);
    ck_assert_int_eq(strata_probe_fit_source(&src, yr, NULL, &p, &b), STRATA_OK);
    ck_assert(tu_check_close("ridge stream", strata_probe_coef(b), strata_probe_coef(a), D, 1e-5));
    strata_probe_free(a); strata_probe_free(b);
}
END_TEST

/* Ridge builds its normal equations once per problem: a path over alpha
 * must equal one fit per alpha (in memory, in one block), and a NaN in a
 * held-out row must still be reported, naming the row and the feature. */
START_TEST(test_ridge_path_and_bad_rows)
{
    enum { N = 600, D = 8 };
    static float X[N * D], y[N], yr[N];
    static uint8_t train[N];
    make_data(X, y, N, D, 3, 5);
    for (int i = 0; i < N; i++) {
        yr[i] = X[i * D + 1] * 2 - X[i * D + 3] + 0.3f * y[i] + 40;
        train[i] = i % 3 != 0;
    }
    copy_src cs = { X, D, 0 };
    strata_probe_source src = { N, D, 7, copy_read, &cs };
    double alphas[3] = { 0.01, 1.0, 100.0 };
    for (int stdz = 0; stdz < 2; stdz++) {
        strata_probe_params p = params(STRATA_PROBE_RIDGE, stdz);
        strata_probe *path[3];
        ck_assert_int_eq(strata_probe_fit_path(&src, yr, train, &p, alphas, 3, path), STRATA_OK);
        for (int k = 0; k < 3; k++) {
            strata_probe *one = NULL;
            p.alpha = alphas[k];
            ck_assert_int_eq(strata_probe_fit(X, N, D, yr, train, &p, &one), STRATA_OK);
            ck_assert(tu_check_close("ridge path coef", strata_probe_coef(path[k]), strata_probe_coef(one), D, 1e-5));
            ck_assert(tu_check_close("ridge path intercept", strata_probe_intercept(path[k]), strata_probe_intercept(one), 1, 1e-5));
            ck_assert_int_eq(strata_probe_n_train(path[k]), N - N / 3);
            strata_probe_free(one);
        }
        /* more penalty, smaller weights */
        double n0 = 0, n2 = 0;
        for (int j = 0; j < D; j++) {
            n0 += fabs(strata_probe_coef(path[0])[j]);
            n2 += fabs(strata_probe_coef(path[2])[j]);
        }
        ck_assert(n2 < n0);
        for (int k = 0; k < 3; k++) strata_probe_free(path[k]);
    }
    strata_probe_params p = params(STRATA_PROBE_RIDGE, 1);
    strata_probe *pr = NULL;
    X[9 * D + 4] = NAN; /* row 9 is held out (9 % 3 == 0) */
    ck_assert_int_eq(strata_probe_fit(X, N, D, yr, train, &p, &pr), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_probe_errmsg(pr), "row 9, feature 4"), "%s", strata_probe_errmsg(pr));
    strata_probe_free(pr);
    X[9 * D + 4] = 0;
    X[301 * D + 7] = -INFINITY; /* a training row, streamed in blocks of 7 */
    ck_assert_int_eq(strata_probe_fit_source(&src, yr, train, &p, &pr), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_probe_errmsg(pr), "row 301, feature 7"), "%s", strata_probe_errmsg(pr));
    strata_probe_free(pr);
    /* finite values whose squares overflow float32 */
    X[301 * D + 7] = 3e30f;
    ck_assert_int_eq(strata_probe_fit(X, N, D, yr, NULL, &p, &pr), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_probe_errmsg(pr), "feature 7"), "%s", strata_probe_errmsg(pr));
    strata_probe_free(pr);
}
END_TEST

/* Splits by group: every group on one side; GroupKFold loads by hand. */
START_TEST(test_group_splits)
{
    enum { N = 60 };
    int32_t cls[N];
    int64_t g[N];
    uint8_t test[N];
    int8_t fold[N];
    /* groups 100..105 with sizes 5,6,...,10 rows interleaved: sizes 5..10 sum to 45;
     * the last 15 rows unlabelled */
    int sizes[6] = { 5, 6, 7, 8, 9, 10 }, r = 0;
    for (int k = 0; k < 6; k++) for (int j = 0; j < sizes[k]; j++) { g[r] = 100 + k; cls[r] = (r % 3 == 0); r++; }
    for (; r < N; r++) { g[r] = 100 + r % 6; cls[r] = -1; }
    ck_assert_int_eq(strata_probe_group_kfold(cls, g, N, 3, fold), STRATA_OK);
    /* by hand: sizes 10,9,8 fill folds 0,1,2 (loads 10,9,8); 7 -> fold 2 (15);
     * 6 -> fold 1 (loads 10,15,15); 5 -> fold 0 (10 < 15) */
    int expect_of_size[11] = { 0 };
    expect_of_size[10] = 0; expect_of_size[9] = 1; expect_of_size[8] = 2;
    expect_of_size[7] = 2; expect_of_size[6] = 1; expect_of_size[5] = 0;
    for (int i = 0; i < N; i++) {
        if (cls[i] < 0) { ck_assert_int_eq(fold[i], -1); continue; }
        ck_assert_int_eq(fold[i], expect_of_size[sizes[g[i] - 100]]);
    }
    ck_assert_int_eq(strata_probe_group_kfold(cls, g, N, 7, fold), STRATA_ERR_ARG); /* 6 groups < 7 */
    ck_assert_int_eq(strata_probe_group_split(cls, g, N, 0.25, 9, test), STRATA_OK);
    int in_test[6] = { 0 }, in_train[6] = { 0 }, nt = 0;
    for (int i = 0; i < N; i++) {
        if (cls[i] < 0) { ck_assert_int_eq(test[i], 0); continue; }
        if (test[i]) in_test[g[i] - 100] = 1; else in_train[g[i] - 100] = 1;
    }
    for (int k = 0; k < 6; k++) { ck_assert(!(in_test[k] && in_train[k])); nt += in_test[k]; }
    ck_assert_int_eq(nt, 2); /* ceil(0.25 * 6) */
}
END_TEST

START_TEST(test_evaluate_and_selectivity)
{
    enum { N = 2000, D = 8 };
    static float X[N * D], y[N];
    static int32_t tok[N];
    make_data(X, y, N, D, 2, 4);
    for (int i = 0; i < N; i++) tok[i] = i % 50;
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 1);
    p.cv_folds = 4; p.control = 1; p.shuffled = 1; p.tol = 1e-6;
    strata_probe_report rep;
    memset(&rep, 0, sizeof rep);
    char err[256];
    ck_assert_int_eq(strata_probe_evaluate(X, N, D, y, tok, &p, &rep, err, sizeof err), STRATA_OK);
    ck_assert_int_eq(rep.n_rows, N);
    ck_assert_int_eq(rep.n_test, N / 5);
    ck_assert_msg(rep.test_accuracy > 0.75, "test acc %g", rep.test_accuracy);
    ck_assert(rep.cv_folds == 4 && fabs(rep.cv_score - rep.test_accuracy) < 0.06 && rep.cv_std < 0.05);
    ck_assert_msg(rep.control_score < 0.65 && rep.shuffled_score < 0.6, "control %g shuffled %g", rep.control_score, rep.shuffled_score);
    ck_assert(fabs(rep.selectivity - (rep.balanced_accuracy - rep.control_balanced_accuracy)) < 1e-12);
    ck_assert(!rep.grouped && rep.n_groups == 0);
    ck_assert(rep.majority_accuracy > 0.3 && rep.majority_accuracy < 0.7);   /* balanced data */
    ck_assert(rep.cv_balanced_accuracy > 0.7 && rep.control_balanced_accuracy < 0.65);
    ck_assert(rep.auroc > 0.8 && rep.log_loss > 0 && rep.log_loss < 0.6);
    ck_assert(isnan(rep.test_r2));
}
END_TEST

START_TEST(test_bad_input)
{
    float X[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, y[6] = { 1, 1, 1, 1, 1, 1 };
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 1);
    strata_probe *pr = NULL;
    /* a single class */
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y, NULL, &p, &pr), STRATA_ERR_ARG);
    ck_assert_msg(strstr(strata_probe_errmsg(pr), "single class"), "%s", strata_probe_errmsg(pr));
    strata_probe_free(pr);
    /* all labels missing */
    float yn[6];
    for (int i = 0; i < 6; i++) yn[i] = NAN;
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, yn, NULL, &p, &pr), STRATA_ERR_ARG);
    ck_assert(strstr(strata_probe_errmsg(pr), "no labelled"));
    strata_probe_free(pr);
    /* NaN and Inf in activations: named row and feature */
    float y2[6] = { 0, 1, 0, 1, 0, 1 };
    X[7] = NAN;
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y2, NULL, &p, &pr), STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(strata_probe_errmsg(pr), "row 3, feature 1"), "%s", strata_probe_errmsg(pr));
    strata_probe_free(pr);
    X[7] = INFINITY;
    p.kind = STRATA_PROBE_RIDGE;
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y2, NULL, &p, &pr), STRATA_ERR_NUMERIC);
    strata_probe_free(pr);
    X[7] = 8;
    /* Inf label */
    y2[2] = INFINITY;
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y2, NULL, &p, &pr), STRATA_ERR_NUMERIC);
    ck_assert(strstr(strata_probe_errmsg(pr), "row 2"));
    strata_probe_free(pr);
    y2[2] = 0;
    /* bad C, unknown kind */
    p.kind = STRATA_PROBE_LOGISTIC; p.C = -1;
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y2, NULL, &p, &pr), STRATA_ERR_ARG);
    ck_assert(strstr(strata_probe_errmsg(pr), "params.C"));
    strata_probe_free(pr);
    p.C = 1; p.kind = 9;
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y2, NULL, &p, &pr), STRATA_ERR_ARG);
    strata_probe_free(pr);
    /* zero-variance features: handled (scale 1, weight 0), counted */
    float Z[6 * 3];
    for (int i = 0; i < 6; i++) { Z[3 * i] = 5; Z[3 * i + 1] = (float)i + (i % 2) * 3; Z[3 * i + 2] = -2; }
    p.kind = STRATA_PROBE_LOGISTIC;
    ck_assert_int_eq(strata_probe_fit(Z, 6, 3, y2, NULL, &p, &pr), STRATA_OK);
    ck_assert_int_eq(strata_probe_n_constant_features(pr), 2);
    ck_assert(fabs(strata_probe_coef(pr)[0]) < 1e-6 && fabs(strata_probe_coef(pr)[2]) < 1e-6);
    ck_assert(strata_probe_coef(pr)[1] > 0);
    strata_probe_free(pr);
    /* ridge without penalty on a constant feature: singular, clear message */
    p.kind = STRATA_PROBE_RIDGE; p.alpha = 0;
    ck_assert_int_eq(strata_probe_fit(Z, 6, 3, y2, NULL, &p, &pr), STRATA_ERR_NUMERIC);
    ck_assert(strstr(strata_probe_errmsg(pr), "alpha"));
    strata_probe_free(pr);
    /* evaluate: a single class, control without tokens */
    strata_probe_report rep;
    char err[256];
    p = params(STRATA_PROBE_LOGISTIC, 1);
    ck_assert_int_eq(strata_probe_evaluate(X, 6, 2, y, NULL, &p, &rep, err, sizeof err), STRATA_ERR_ARG);
    ck_assert(strstr(err, "single class"));
    p.control = 1;
    ck_assert_int_eq(strata_probe_evaluate(X, 6, 2, y2, NULL, &p, &rep, err, sizeof err), STRATA_ERR_ARG);
    ck_assert(strstr(err, "token"));
    /* applying a probe to data of the wrong kind */
    p = params(STRATA_PROBE_DIFFMEAN, 0);
    ck_assert_int_eq(strata_probe_fit(X, 6, 2, y2, NULL, &p, &pr), STRATA_OK);
    float pb[12];
    ck_assert_int_eq(strata_probe_predict_proba(pr, X, 6, pb), STRATA_ERR_UNSUPPORTED);
    ck_assert_int_eq(strata_probe_direction(pr, 3, 1, pb), STRATA_ERR_RANGE);
    strata_probe_free(pr);
}
END_TEST

START_TEST(test_save_load)
{
    enum { N = 300, D = 5 };
    static float X[N * D], y[N];
    make_data(X, y, N, D, 3, 7);
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 1);
    strata_probe *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(strata_probe_fit(X, N, D, y, NULL, &p, &a), STRATA_OK);
    const char *path = tu_tmpfile("probe.h5");
    char pathc[1024];
    snprintf(pathc, sizeof pathc, "%s", path);
    ck_assert_int_eq(strata_probe_save(a, pathc, "blocks.0.hook_resid_post"), STRATA_OK);
    ck_assert_int_eq(strata_probe_load(pathc, NULL, &b), STRATA_OK);
    ck_assert(tu_check_close("loaded coef", strata_probe_coef(b), strata_probe_coef(a), 3 * D, 0));
    float s1[N * 3], s2[N * 3];
    strata_probe_decision(a, X, N, s1);
    strata_probe_decision(b, X, N, s2);
    ck_assert(tu_check_close("loaded decision", s2, s1, N * 3, 0));
    ck_assert(strata_probe_class_value(b, 2) == 2);
    /* a second probe in the same file: then a name is required */
    ck_assert_int_eq(strata_probe_save(a, pathc, "other"), STRATA_OK);
    ck_assert_int_eq(strata_probe_load(pathc, NULL, &c), STRATA_ERR_ARG);
    strata_probe_free(c);
    ck_assert_int_eq(strata_probe_load(pathc, "nope", &c), STRATA_ERR_NOTFOUND);
    strata_probe_free(c);
    ck_assert_int_eq(strata_probe_load("/nonexistent/x.h5", NULL, &c), STRATA_ERR_IO);
    strata_probe_free(c);
    strata_probe_free(a); strata_probe_free(b);
}
END_TEST

/* A capture file written by the store's writer: sweep, missing label,
 * glob matching nothing, 3-D hooks skipped by default. */
START_TEST(test_sweep_capture_file)
{
    enum { R = 400, D = 4 };
    const char *hooks[3] = { "blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "blocks.0.attn.hook_pattern" };
    int32_t nd[3] = { 1, 1, 2 };
    int64_t shp[3][ST_H5_MAX_ROW_DIMS] = { { D }, { D }, { 2, 3 } };
    const char *labels[1] = { "lab" };
    int32_t isint[1] = { 1 };
    st_h5w_spec spec = { .model_name = "toy", .model_arch = "llama", .config_json = "{}",
                         .positions = "all", .n_hooks = 3, .hook_names = hooks, .row_ndim = nd,
                         .row_shape = (const int64_t (*)[ST_H5_MAX_ROW_DIMS])shp, .n_labels = 1,
                         .label_names = labels, .label_is_int = isint, .dtype = ST_H5_F32 };
    const char *tp = tu_tmpfile("acts.h5");
    char path[1024];
    snprintf(path, sizeof path, "%s", tp);
    st_h5w *w = NULL;
    st_err e = {{0}};
    ck_assert_msg(st_h5w_create(path, &spec, 1, &w, &e) == 0, "%s", e.msg);
    static float A0[R * D], A1[R * D], P[R * 6], lab[R];
    static int32_t toks[R];
    static int64_t rows[R];
    pr_rng r;
    pr_rng_seed(&r, 11);
    for (int i = 0; i < R; i++) {
        int c = i % 2;
        lab[i] = (float)c; toks[i] = i % 17; rows[i] = i;
        for (int j = 0; j < D; j++) {
            A0[i * D + j] = (float)(pr_rng_uniform(&r) - 0.5);
            A1[i * D + j] = (float)(pr_rng_uniform(&r) - 0.5 + (j == 0 ? (c ? 0.8 : -0.8) : 0));
        }
        for (int j = 0; j < 6; j++) P[i * 6 + j] = (float)pr_rng_uniform(&r);
    }
    int64_t ntok = R, nrow = R;
    const float *acts[3] = { A0, A1, P }, *labs[1] = { lab };
    st_h5w_batch bt = { .n_docs = 1, .doc_ntok = &ntok, .doc_nrows = &nrow, .tokens = toks,
                        .n_rows = R, .rows = rows, .acts = acts, .labels = labs };
    ck_assert_msg(st_h5w_append(w, &bt, &e) == 0, "%s", e.msg);
    ck_assert(st_h5w_close(w, 1, 0, &e) == 0);
    strata_acts *a = NULL;
    ck_assert_msg(strata_acts_open(path, &a) == STRATA_OK, "%s", strata_acts_errmsg(a));
    strata_probe_params p = params(STRATA_PROBE_LOGISTIC, 1);
    p.control = 1;
    p.mem_limit = 4096; /* tiny blocks: the streaming path */
    strata_probe_report *rep = NULL;
    int n = 0;
    char err[1024];
    ck_assert_msg(strata_probe_sweep(a, NULL, "lab", &p, NULL, NULL, &rep, &n, err, sizeof err) == STRATA_OK, "%s", err);
    ck_assert_int_eq(n, 2); /* the 3-D pattern hook is skipped without a glob */
    ck_assert_str_eq(rep[1].hook, "blocks.1.hook_resid_post");
    ck_assert_msg(rep[1].test_accuracy > 0.9 && rep[0].test_accuracy < 0.7, "%g %g", rep[1].test_accuracy, rep[0].test_accuracy);
    ck_assert(rep[1].selectivity > 0.3);
    strata_probe_sweep_free(rep);
    /* a 3-D hook by glob: rows flattened to 6 features; default budget: the
     * hook is read into memory once */
    p.mem_limit = 0;
    ck_assert_int_eq(strata_probe_sweep(a, "*pattern", "lab", &p, NULL, NULL, &rep, &n, err, sizeof err), STRATA_OK);
    ck_assert(n == 1 && rep[0].dim == 6);
    strata_probe_sweep_free(rep);
    /* bad input: missing label, glob matching nothing */
    ck_assert_int_eq(strata_probe_sweep(a, NULL, "nolabel", &p, NULL, NULL, &rep, &n, err, sizeof err), STRATA_ERR_NOTFOUND);
    ck_assert_msg(strstr(err, "no label 'nolabel'") && strstr(err, "lab"), "%s", err);
    ck_assert_int_eq(strata_probe_sweep(a, "blocks.9.*", "lab", &p, NULL, NULL, &rep, &n, err, sizeof err), STRATA_ERR_NOTFOUND);
    ck_assert_msg(strstr(err, "matches no hook"), "%s", err);
    strata_acts_close(a);
}
END_TEST

static Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_logistic_symmetric_1d);
    tcase_add_test(tc, test_logistic_separable);
    tcase_add_test(tc, test_multinomial_optimality);
    tcase_add_test(tc, test_diffmean);
    tcase_add_test(tc, test_ridge_closed_form);
    tcase_add_test(tc, test_metrics_by_hand);
    tcase_add_test(tc, test_split_kfold_control);
    tcase_add_test(tc, test_streaming_equals_memory_and_path);
    tcase_add_test(tc, test_ridge_path_and_bad_rows);
    tcase_add_test(tc, test_evaluate_and_selectivity);
    tcase_add_test(tc, test_group_splits);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_sweep_capture_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(probe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
