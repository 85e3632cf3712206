/* probes/probe_internal.h — shared internals of the linear-probe module.
 *
 * Defines: struct strata_probe (the fitted probe), pr_problem (a prepared
 * training problem: row source + labels + train mask + feature scaling),
 * block reading (pr_read), feature statistics (pr_stats, probe_stats.c),
 * the solvers (pr_logistic_fit, pr_ridge_gram_build + pr_ridge_solve,
 * pr_diffmean_fit), the seeded
 * RNG (pr_rng_*, probe_split.c), class discovery (pr_classes) and
 * pr_set_msg().
 *
 * Shapes: X rows are [d] float32; the parameter vector theta of the
 * logistic solver is double [n_out*d + n_out]: W row-major [n_out][d], then
 * the intercepts b [n_out].  n_out = 1 for binary, K for multinomial.
 * Solvers work in *standardised* coordinates x~_j = (x_j - mu_j) / sd_j
 * without materialising x~ (mu = 0, sd = 1 when not standardising).
 */
#ifndef STRATA_PROBE_INTERNAL_H
#define STRATA_PROBE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "strata/probe.h"
#include "util/err.h"
#include "dist/fit_group.h"

#define PR_MAX_CLASSES 4096

struct strata_probe {
    st_err err;
    int32_t kind;
    int32_t n_classes;     /* K (0 for ridge) */
    int32_t n_out;         /* rows of coef */
    int64_t d;
    float *coef;           /* [n_out][d], raw activation space */
    float *intercept;      /* [n_out] */
    double *classes;       /* [K] label value of each class index */
    double *mean, *scale;  /* [d] standardisation used at fit (0/1 if none) */
    int32_t standardized;
    double C, alpha;
    int32_t n_iter, converged, n_const;
    int64_t n_train;
    double loss;           /* final mean-scaled objective (logistic) */
};

typedef struct pr_problem {
    const strata_probe_source *src;
    const int32_t *cls;    /* [n] class index, -1 = skip (classification) */
    const float *y;        /* [n] target, NaN = skip (ridge) */
    const uint8_t *train;  /* [n] nonzero = fit on this row; NULL = all */
    int K;                 /* classes (classification) */
    const double *cw;      /* [K] class weights (classification) */
    const double *mu;      /* [d] */
    const double *sd;      /* [d] (never 0) */
    const double *xmean;   /* [d] mean of the training rows (always) */
    float *buf;            /* [block_rows][d] scratch for the provider */
    /* Distributed fits (params.distributed on a group of > 1 ranks): the
     * passes over X read rows [grp.lo, grp.hi) only and sum over ranks;
     * serial: grp.on = 0 and [0, n).  Everything indexed by row (cls, y,
     * train) is global. */
    st_fit_group grp;
} pr_problem;

/* Row i takes part in the fit. */
static inline int pr_use(const pr_problem *pb, int64_t i)
{
    if (pb->train && !pb->train[i]) return 0;
    if (pb->cls) return pb->cls[i] >= 0;
    return pb->y[i] == pb->y[i]; /* not NaN */
}

/* Reads rows [row0,row0+n) through the source; message into err. */
int pr_read(const strata_probe_source *src, float *buf, int64_t row0, int64_t n,
            const float **rows, st_err *err);

/* 1 if x is Inf or NaN: all exponent bits set. Branch-free, so loops that OR
 * it over a row stay one vector loop (an isfinite() early exit did not). */
static inline uint32_t pr_nonfinite_bit(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

/* One pass: mean and std (ddof 0, double) of each feature over the rows
 * with use[i] (NULL = pr_use(pb)); sd < 1e-12 * (1+|mu|) counts as constant
 * and gets sd = 1.  Fails with STRATA_ERR_NUMERIC on NaN/Inf in ANY row
 * read (all rows are scanned).  mu, sd [d]; *n_const; *n_used. */
int pr_stats(const pr_problem *pb, double *mu, double *sd, int *n_const, int64_t *n_used,
             st_err *err);
/* 1 if every x[0..d) is finite (branch-free exponent test). */
int pr_row_finite(const float *x, int64_t d);
/* STRATA_ERR_NUMERIC naming row and the first non-finite feature of x. */
int pr_nonfinite_error(const float *x, int64_t row, st_err *err);
/* sd [d] holds variances on entry, standard deviations on return; one that
 * is below 1e-12 * (1 + |mu|) counts as constant and becomes 1.  Returns the
 * number of constant features. */
int pr_sd_from_var(const double *mu, double *sd, int64_t d);

/* Classes: distinct non-NaN values of y over rows with (train == NULL ||
 * train[i]), ascending, into *values (malloc'd [K]); cls [n] = index or -1
 * (rows whose value is not a training class, or NaN, get -1). */
/* Groups holding labelled rows (y not NaN) -> *n_groups; *constant = 1 when
 * every group's labelled rows share one label value (document-level labels). */
int pr_group_info(const float *y, const int64_t *groups, int64_t n, int64_t *n_groups,
                  int *constant);
int pr_classes(const float *y, int64_t n, const uint8_t *train, double **values, int *K,
               int32_t *cls, st_err *err);

/* theta [P] in/out (warm start when warm != 0, else zeros). */
int pr_logistic_fit(const pr_problem *pb, const strata_probe_params *p, double *theta,
                    int warm, int *n_iter, int *converged, double *loss, st_err *err);
/* Ridge normal equations of the training rows, built in one pass that also
 * yields the feature statistics (so ridge needs no pr_stats pass) and, being
 * independent of alpha, serves a whole regularisation path. */
typedef struct pr_ridge_gram {
    int64_t d, n;          /* features; rows used (labelled training rows) */
    double *A;             /* [d][d] upper triangle: sum_i (x_i - m)(x_i - m)^T */
    double *c;             /* [d] sum_i (x_i - m)(y_i - ybar) */
    double ybar;
} pr_ridge_gram;
/* Also writes mean [d] (m) and var [d] (ddof 0) of the used rows.  Fails
 * with STRATA_ERR_NUMERIC on NaN/Inf in any row read (as pr_stats). */
int pr_ridge_gram_build(const pr_problem *pb, pr_ridge_gram *g, double *mean, double *var,
                        st_err *err);
void pr_ridge_gram_free(pr_ridge_gram *g);
/* w [d], *b in the solver's coordinates (x - mu) / sd, from pb->mu, pb->sd
 * and the mean pb->xmean.
 * consume != 0 factors g->A in place (then g->A is freed and NULL). */
int pr_ridge_solve(pr_ridge_gram *g, const pr_problem *pb, const strata_probe_params *p,
                   int consume, double *w, double *b, st_err *err);
/* W [n_out][d], b [n_out] in raw coordinates (diffmean ignores standardising). */
int pr_diffmean_fit(const pr_problem *pb, double *W, double *b, st_err *err);

/* Seeded RNG: xoshiro256** seeded through splitmix64. */
typedef struct pr_rng { uint64_t s[4]; } pr_rng;
void pr_rng_seed(pr_rng *r, uint64_t seed);
uint64_t pr_rng_next(pr_rng *r);
double pr_rng_uniform(pr_rng *r);          /* [0,1) */
uint64_t pr_rng_below(pr_rng *r, uint64_t n); /* [0,n) unbiased */
uint64_t pr_hash64(uint64_t x);            /* splitmix64 finaliser */

/* Auto block size for a source of width d. */
int64_t pr_auto_block(int64_t d, int64_t mem_limit, int in_memory);

/* Copies a message into a caller's buffer (may be NULL). */
void pr_set_msg(char *err, size_t err_len, const char *msg);

#endif
