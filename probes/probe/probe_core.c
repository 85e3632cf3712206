/* probes/probe_core.c — the fitted-probe handle: preparing a problem
 * (classes, feature statistics, class weights), dispatching to the solvers,
 * the regularisation path, getters, and applying a probe to activations.
 *
 * Coefficients are kept in raw activation space:
 *     coef_kj = theta_kj / sd_j,   intercept_k = b_k - sum_j mu_j coef_kj
 * so decision(x) = coef x + intercept needs no standardisation state. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/blas_threads.h"
#include "probe_internal.h"

void strata_probe_default_params(strata_probe_params *p)
{
    memset(p, 0, sizeof *p);
    p->kind = STRATA_PROBE_LOGISTIC;
    p->C = 1.0;
    p->alpha = 1.0;
    p->fit_intercept = 1;
    p->standardize = 1;
    p->class_weight = STRATA_PROBE_CW_NONE;
    p->max_iter = 1000;
    p->tol = 1e-4;   /* scikit-learn LogisticRegression default, same scaling */
    p->lbfgs_m = 10;
    p->test_fraction = 0.2;
    p->seed = 0;
}

void strata_probe_dist_rows(int64_t n, int32_t distributed, int64_t *lo, int64_t *hi)
{
    st_fit_group g;
    st_fit_group_init(&g, distributed, n);
    if (lo) *lo = g.lo;
    if (hi) *hi = g.hi;
}

/* ---- in-memory row source ----
 * X [hi - lo][d] holds rows [lo, hi) (lo = 0 unless distributed). */
typedef struct arr_src { const float *X; int64_t d, lo; } arr_src;

static int arr_read(void *user, int64_t row0, int64_t n, float *buf, const float **rows,
                    char *err, size_t err_len)
{
    arr_src *a = user;
    *rows = a->X + (row0 - a->lo) * a->d;
    return STRATA_OK;
}

/* ---- handle ---- */
static strata_probe *probe_new(void)
{
    return calloc(1, sizeof(strata_probe));
}

void strata_probe_free(strata_probe *p)
{
    if (!p) return;
    free(p->coef); free(p->intercept); free(p->classes); free(p->mean); free(p->scale);
    free(p);
}

static const char *nomem_msg = "out of memory";

const char *strata_probe_errmsg(const strata_probe *p)
{
    return p ? p->err.msg : nomem_msg;
}

int32_t strata_probe_get_kind(const strata_probe *p) { return p ? p->kind : -1; }
int64_t strata_probe_dim(const strata_probe *p) { return p ? p->d : 0; }
int32_t strata_probe_n_classes(const strata_probe *p) { return p ? p->n_classes : 0; }
int32_t strata_probe_n_outputs(const strata_probe *p) { return p ? p->n_out : 0; }
const float *strata_probe_coef(const strata_probe *p) { return p ? p->coef : NULL; }
const float *strata_probe_intercept(const strata_probe *p) { return p ? p->intercept : NULL; }
double strata_probe_class_value(const strata_probe *p, int32_t c)
{
    return p && p->classes && c >= 0 && c < p->n_classes ? p->classes[c] : NAN;
}
int32_t strata_probe_n_iter(const strata_probe *p) { return p ? p->n_iter : 0; }
int32_t strata_probe_converged(const strata_probe *p) { return p ? p->converged : 0; }
int32_t strata_probe_n_constant_features(const strata_probe *p) { return p ? p->n_const : 0; }
int64_t strata_probe_n_train(const strata_probe *p) { return p ? p->n_train : 0; }

/* ---- a prepared problem (shared by single fits and the path) ---- */
typedef struct prep {
    pr_problem pb;
    strata_probe_source src;  /* copy with block_rows resolved */
    int32_t *cls;             /* [n] */
    double *classes;          /* [K] */
    double *cw;               /* [K] */
    double *xmean, *xsd;      /* [d] true statistics of the training rows */
    double *mu, *sd;          /* [d] scaling used by the solver */
    float *buf;
    pr_ridge_gram gram;       /* ridge: normal equations + statistics, one pass */
    int n_const;
    int64_t n_used;
} prep;

static void prep_free(prep *q)
{
    free(q->cls); free(q->classes); free(q->cw); free(q->xmean); free(q->xsd);
    free(q->mu); free(q->sd); free(q->buf);
    pr_ridge_gram_free(&q->gram);
    memset(q, 0, sizeof *q);
}

static int prep_init(prep *q, const strata_probe_source *src, const float *y,
                     const uint8_t *train, const strata_probe_params *p, st_err *err)
{
    memset(q, 0, sizeof *q);
    if (!src || !src->read || !y || !p)
        return st_seterr(err, STRATA_ERR_ARG, "probe fit: source, labels and params are required");
    if (src->n_rows < 1 || src->dim < 1)
        return st_seterr(err, STRATA_ERR_ARG, "probe fit: empty data (%lld rows, dim %lld)",
                         (long long)src->n_rows, (long long)src->dim);
    if (p->kind < STRATA_PROBE_LOGISTIC || p->kind > STRATA_PROBE_DIFFMEAN)
        return st_seterr(err, STRATA_ERR_ARG, "probe fit: unknown params.kind %d", (int)p->kind);
    if (p->max_iter < 0 || p->max_iter > STRATA_PROBE_MAX_ITER)
        return st_seterr(err, STRATA_ERR_ARG, "probe fit: max_iter = %d; allowed 0..%d",
                         (int)p->max_iter, STRATA_PROBE_MAX_ITER);
    int64_t n = src->n_rows, d = src->dim;
    q->src = *src;
    if (q->src.block_rows < 1) q->src.block_rows = pr_auto_block(d, p->mem_limit, src->read == arr_read);
    if (q->src.block_rows > n) q->src.block_rows = n;
    int rc;
    q->pb.src = &q->src;
    q->pb.train = train;
    st_fit_group_init(&q->pb.grp, p->distributed, n);
    if (p->kind == STRATA_PROBE_RIDGE) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            if (train && !train[i]) continue;
            if (isinf(y[i])) return st_seterr(err, STRATA_ERR_NUMERIC, "label is infinite at row %lld", (long long)i);
            if (y[i] == y[i]) m++;
        }
        if (m < 2) return st_seterr(err, STRATA_ERR_ARG, "ridge: %lld labelled training rows; need at least 2", (long long)m);
        q->pb.y = y;
    } else {
        q->cls = malloc(sizeof *q->cls * (size_t)n);
        if (!q->cls) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory (labels)");
        int K;
        if ((rc = pr_classes(y, n, train, &q->classes, &K, q->cls, err))) return rc;
        if (K == 0) return st_seterr(err, STRATA_ERR_ARG, "label: no labelled training rows (all NaN)");
        if (K == 1)
            return st_seterr(err, STRATA_ERR_ARG, "label has a single class (value %g) on the "
                             "training rows; a classifier needs at least two", q->classes[0]);
        q->pb.cls = q->cls;
        q->pb.K = K;
        q->pb.y = y;
        q->cw = malloc(sizeof *q->cw * (size_t)K);
        int64_t *cnt = calloc((size_t)K, sizeof *cnt);
        if (!q->cw || !cnt) { free(cnt); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
        int64_t tot = 0;
        for (int64_t i = 0; i < n; i++) if (pr_use(&q->pb, i)) { cnt[q->cls[i]]++; tot++; }
        for (int k = 0; k < K; k++) {
            if (p->class_weights) q->cw[k] = p->class_weights[k];
            else if (p->class_weight == STRATA_PROBE_CW_BALANCED)
                q->cw[k] = cnt[k] ? (double)tot / ((double)K * (double)cnt[k]) : 0;
            else q->cw[k] = 1;
            if (!(q->cw[k] >= 0) || !isfinite(q->cw[k])) {
                free(cnt);
                return st_seterr(err, STRATA_ERR_ARG, "class weight %d is not a finite value >= 0", k);
            }
        }
        free(cnt);
        q->pb.cw = q->cw;
    }
    q->xmean = malloc(sizeof(double) * (size_t)d); q->xsd = malloc(sizeof(double) * (size_t)d);
    q->mu = malloc(sizeof(double) * (size_t)d); q->sd = malloc(sizeof(double) * (size_t)d);
    if (src->read != arr_read) q->buf = malloc(sizeof(float) * (size_t)(q->src.block_rows * d));
    rc = STRATA_OK;
    if (!q->xmean || !q->xsd || !q->mu || !q->sd || (src->read != arr_read && !q->buf))
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (block of %lld x %lld)",
                       (long long)q->src.block_rows, (long long)d);
    if ((rc = st_fit_check(&q->pb.grp, rc, err))) return rc;
    q->pb.buf = q->buf;
    if (p->kind == STRATA_PROBE_RIDGE) {
        /* the normal equations come with the statistics: no separate pass */
        if ((rc = pr_ridge_gram_build(&q->pb, &q->gram, q->xmean, q->xsd, err))) return rc;
        q->n_const = pr_sd_from_var(q->xmean, q->xsd, d);
        q->n_used = q->gram.n;
    } else if ((rc = pr_stats(&q->pb, q->xmean, q->xsd, &q->n_const, &q->n_used, err))) {
        return rc;
    }
    /* With an intercept the solver always works on centred features: the
     * intercept is unpenalised, so centring only reparameterises (same
     * optimum in raw space) but removes the ill-conditioning that a large
     * feature mean puts between w and b.  Scaling changes the penalty, so it
     * is applied only when asked. */
    int stdz = p->standardize && p->kind != STRATA_PROBE_DIFFMEAN;
    int centre = stdz || (p->fit_intercept && p->kind == STRATA_PROBE_LOGISTIC);
    for (int64_t j = 0; j < d; j++) {
        q->mu[j] = centre ? q->xmean[j] : 0;
        q->sd[j] = stdz ? q->xsd[j] : 1;
    }
    q->pb.mu = q->mu; q->pb.sd = q->sd; q->pb.xmean = q->xmean;
    return STRATA_OK;
}

/* Fills probe from a prepared problem; theta [P] in/out for warm starts.
 * last: no later fit uses q (ridge may factor its normal equations in place). */
static int fit_prepared(prep *q, const strata_probe_params *p, double *theta, int warm,
                        int last, strata_probe *pr)
{
    st_err *err = &pr->err;
    int64_t d = q->src.dim;
    int K = q->pb.K, no = p->kind == STRATA_PROBE_RIDGE ? 1 : (K == 2 ? 1 : K);
    pr->kind = p->kind; pr->d = d; pr->n_out = no;
    pr->n_classes = p->kind == STRATA_PROBE_RIDGE ? 0 : K;
    pr->C = p->C; pr->alpha = p->alpha; pr->n_const = q->n_const; pr->n_train = q->n_used;
    pr->standardized = p->standardize && p->kind != STRATA_PROBE_DIFFMEAN;
    pr->coef = malloc(sizeof(float) * (size_t)(no * d));
    pr->intercept = malloc(sizeof(float) * (size_t)no);
    pr->mean = malloc(sizeof(double) * (size_t)d);
    pr->scale = malloc(sizeof(double) * (size_t)d);
    if (pr->n_classes) pr->classes = malloc(sizeof(double) * (size_t)K);
    if (!pr->coef || !pr->intercept || !pr->mean || !pr->scale || (pr->n_classes && !pr->classes))
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory (probe coefficients)");
    memcpy(pr->mean, q->mu, sizeof(double) * (size_t)d);
    memcpy(pr->scale, q->sd, sizeof(double) * (size_t)d);
    if (pr->n_classes) memcpy(pr->classes, q->classes, sizeof(double) * (size_t)K);
    int rc = STRATA_OK;
    if (p->kind == STRATA_PROBE_LOGISTIC) {
        int it = 0, conv = 0;
        rc = pr_logistic_fit(&q->pb, p, theta, warm, &it, &conv, &pr->loss, err);
        pr->n_iter = it; pr->converged = conv;
    } else if (p->kind == STRATA_PROBE_RIDGE) {
        rc = pr_ridge_solve(&q->gram, &q->pb, p, last, theta, theta + d, err);
        pr->converged = 1;
    } else {
        rc = pr_diffmean_fit(&q->pb, theta, theta + (int64_t)no * d, err);
        pr->converged = 1;
    }
    if (rc) return rc;
    for (int k = 0; k < no; k++) {
        double b = theta[(int64_t)no * d + k];
        for (int64_t j = 0; j < d; j++) {
            double c = theta[k * d + j] / q->sd[j];
            pr->coef[k * d + j] = (float)c;
            b -= q->mu[j] * c;
        }
        pr->intercept[k] = (float)b;
    }
    return STRATA_OK;
}

static int64_t n_params(const prep *q, const strata_probe_params *p)
{
    int K = q->pb.K, no = p->kind == STRATA_PROBE_RIDGE ? 1 : (K == 2 ? 1 : K);
    return (int64_t)no * q->src.dim + no;
}

strata_status strata_probe_fit_source(const strata_probe_source *src, const float *y,
                                      const uint8_t *train, const strata_probe_params *p,
                                      strata_probe **out)
{
    if (!out) return STRATA_ERR_ARG;
    strata_probe *pr = *out = probe_new();
    if (!pr) return STRATA_ERR_NOMEM;
    strata_probe_params dp;
    if (!p) { strata_probe_default_params(&dp); p = &dp; }
    prep q;
    int rc = prep_init(&q, src, y, train, p, &pr->err);
    if (rc == STRATA_OK) {
        double *theta = calloc((size_t)n_params(&q, p), sizeof *theta);
        if (!theta) rc = st_seterr(&pr->err, STRATA_ERR_NOMEM, "out of memory");
        else rc = fit_prepared(&q, p, theta, 0, 1, pr);
        free(theta);
    }
    prep_free(&q);
    return rc;
}

strata_status strata_probe_fit(const float *X, int64_t n, int64_t d, const float *y,
                               const uint8_t *train, const strata_probe_params *p,
                               strata_probe **out)
{
    if (!X && out) {
        *out = probe_new();
        return *out ? st_seterr(&(*out)->err, STRATA_ERR_ARG, "probe fit: X is NULL") : STRATA_ERR_NOMEM;
    }
    int64_t lo = 0;
    strata_probe_dist_rows(n, p ? p->distributed : 0, &lo, NULL);
    arr_src a = { X, d, lo };
    strata_probe_source src = { n, d, 0, arr_read, &a };
    if (p && p->block_rows > 0) src.block_rows = p->block_rows;
    return strata_probe_fit_source(&src, y, train, p, out);
}

strata_status strata_probe_fit_path(const strata_probe_source *src, const float *y,
                                    const uint8_t *train, const strata_probe_params *p,
                                    const double *values, int n_values, strata_probe **out)
{
    if (!out || n_values < 1 || !values) return STRATA_ERR_ARG;
    for (int i = 0; i < n_values; i++) out[i] = NULL;
    for (int i = 0; i < n_values; i++)
        if (!(out[i] = probe_new())) return STRATA_ERR_NOMEM;
    strata_probe_params dp;
    if (!p) { strata_probe_default_params(&dp); p = &dp; }
    prep q;
    int rc = prep_init(&q, src, y, train, p, &out[0]->err);
    double *theta = NULL;
    if (rc == STRATA_OK && !(theta = calloc((size_t)n_params(&q, p), sizeof *theta)))
        rc = st_seterr(&out[0]->err, STRATA_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_values && rc == STRATA_OK; i++) {
        strata_probe_params pi = *p;
        if (p->kind == STRATA_PROBE_RIDGE) pi.alpha = values[i]; else pi.C = values[i];
        rc = fit_prepared(&q, &pi, theta, i > 0, i == n_values - 1, out[i]);
    }
    if (rc) /* make the failure readable on every handle */
        for (int i = 1; i < n_values; i++)
            if (!out[i]->err.msg[0]) snprintf(out[i]->err.msg, sizeof out[i]->err.msg, "%s", out[0]->err.msg[0] ? out[0]->err.msg : "path stopped early");
    free(theta);
    prep_free(&q);
    return rc;
}

/* ---- applying ---- */

strata_status strata_probe_decision(strata_probe *p, const float *X, int64_t n, float *scores)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    if (!p) return STRATA_ERR_ARG;
    if (!p->coef) return st_seterr(&p->err, STRATA_ERR_STATE, "probe is not fitted");
    if (!X || !scores || n < 0) return st_seterr(&p->err, STRATA_ERR_ARG, "decision: X and scores are required");
    if (!n) return STRATA_OK;
    int no = p->n_out;
    int64_t d = p->d;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < no; k++) scores[i * no + k] = p->intercept[k];
    /* scores [n][no] += X [n][d] . coef^T, in chunks so int sizes stay < 2^31 */
    const int64_t CH = 1 << 20;
    for (int64_t r0 = 0; r0 < n; r0 += CH) {
        int64_t nb = n - r0 < CH ? n - r0 : CH;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, no, (int)d, 1.0f, X + r0 * d,
                    (int)d, p->coef, (int)d, 1.0f, scores + r0 * no, no);
    }
    for (int64_t i = 0; i < n * no; i++)
        if (!isfinite(scores[i]))
            return st_seterr(&p->err, STRATA_ERR_NUMERIC, "decision: non-finite score at row %lld "
                             "(NaN/Inf in the activations?)", (long long)(i / no));
    return STRATA_OK;
}

/* class index from one row of scores */
static int argmax_row(const float *s, int no)
{
    if (no == 1) return s[0] > 0;
    int best = 0;
    for (int k = 1; k < no; k++) if (s[k] > s[best]) best = k;
    return best;
}

strata_status strata_probe_predict(strata_probe *p, const float *X, int64_t n, float *yhat)
{
    if (!p) return STRATA_ERR_ARG;
    if (!yhat) return st_seterr(&p->err, STRATA_ERR_ARG, "predict: yhat is NULL");
    int no = p->n_out;
    float *s = malloc(sizeof(float) * (size_t)(n * no + 1));
    if (!s) return st_seterr(&p->err, STRATA_ERR_NOMEM, "out of memory");
    int rc = strata_probe_decision(p, X, n, s);
    if (!rc)
        for (int64_t i = 0; i < n; i++)
            yhat[i] = p->kind == STRATA_PROBE_RIDGE ? s[i] : (float)p->classes[argmax_row(s + i * no, no)];
    free(s);
    return rc;
}

strata_status strata_probe_predict_proba(strata_probe *p, const float *X, int64_t n, float *proba)
{
    if (!p) return STRATA_ERR_ARG;
    if (p->kind != STRATA_PROBE_LOGISTIC)
        return st_seterr(&p->err, STRATA_ERR_UNSUPPORTED, "predict_proba: only logistic probes give probabilities");
    if (!proba) return st_seterr(&p->err, STRATA_ERR_ARG, "predict_proba: proba is NULL");
    int no = p->n_out, K = p->n_classes;
    float *s = malloc(sizeof(float) * (size_t)(n * no + 1));
    if (!s) return st_seterr(&p->err, STRATA_ERR_NOMEM, "out of memory");
    int rc = strata_probe_decision(p, X, n, s);
    if (!rc) {
        for (int64_t i = 0; i < n; i++) {
            if (no == 1) {
                double z = s[i], q = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
                proba[i * 2] = (float)(1 - q); proba[i * 2 + 1] = (float)q;
            } else {
                const float *z = s + i * no;
                double m = z[0], se = 0;
                for (int k = 1; k < K; k++) if (z[k] > m) m = z[k];
                for (int k = 0; k < K; k++) se += exp(z[k] - m);
                for (int k = 0; k < K; k++) proba[i * K + k] = (float)(exp(z[k] - m) / se);
            }
        }
    }
    free(s);
    return rc;
}

strata_status strata_probe_direction(strata_probe *p, int32_t output, int unit, float *dir)
{
    if (!p) return STRATA_ERR_ARG;
    if (!p->coef) return st_seterr(&p->err, STRATA_ERR_STATE, "probe is not fitted");
    if (!dir) return st_seterr(&p->err, STRATA_ERR_ARG, "direction: dir is NULL");
    if (output < 0 || output >= p->n_out)
        return st_seterr(&p->err, STRATA_ERR_RANGE, "direction: output %d out of range [0,%d)",
                         (int)output, (int)p->n_out);
    const float *c = p->coef + (int64_t)output * p->d;
    double nn = 0;
    for (int64_t j = 0; j < p->d; j++) nn += (double)c[j] * c[j];
    nn = sqrt(nn);
    if (unit && !(nn > 0)) return st_seterr(&p->err, STRATA_ERR_NUMERIC, "direction: coefficients are all zero");
    for (int64_t j = 0; j < p->d; j++) dir[j] = unit ? (float)(c[j] / nn) : c[j];
    return STRATA_OK;
}
