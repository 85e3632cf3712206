/* strata/probe.h — linear probes on activations: which layer knows what.
 *
 * Defines:
 *   strata_probe_kind, strata_probe_params, strata_probe_default_params()
 *   strata_probe_source, strata_probe_read_fn   (the row-block provider)
 *   strata_probe (opaque fitted probe): strata_probe_fit(), _fit_source(),
 *     _fit_path(), _free(), _errmsg(), getters, _decision(), _predict(),
 *     _predict_proba(), _direction(), _save(), _load()
 *   strata_probe_report, strata_probe_evaluate(), _evaluate_source(),
 *     strata_probe_sweep(), strata_probe_sweep_free()
 *   split helpers: strata_probe_split(), strata_probe_kfold()
 *   control task: strata_probe_control_labels(), strata_probe_shuffle_labels()
 *   metrics: strata_metric_accuracy() ... strata_metric_r2()
 *
 * Arrays are row-major, last index fastest.  X is [n][d] float32: one row
 * per kept position (a capture file's /acts/<hook>).  Labels are float [n];
 * a NaN label means "no label here" and the row is skipped everywhere.
 * For classification the distinct label values are the classes, in
 * ascending order (class index c <-> strata_probe_class_value(p, c)).
 *
 * Objectives (chosen to match scikit-learn exactly, so coefficients agree):
 *   logistic, binary (K = 2, one weight vector w [d], intercept b):
 *       min_w,b  C * sum_i s_i * log(1 + exp(-y_i (w.x_i + b))) + 0.5 * ||w||^2
 *   logistic, multinomial (K > 2, full softmax, W [K][d], b [K], no
 *   reference class):
 *       min_W,b  C * sum_i s_i * (logsumexp_k(z_ik) - z_i,y_i) + 0.5 * ||W||_F^2
 *   (s_i = class weight of row i; the intercept is never penalised) —
 *   sklearn.linear_model.LogisticRegression(C=C, solver="lbfgs").
 *   ridge (continuous target): min_w,b ||y - Xw - b||^2 + alpha * ||w||^2,
 *   intercept by centring — sklearn.linear_model.Ridge(alpha).
 *   diffmean: binary w = mu_1 - mu_0, b = -w.(mu_0 + mu_1)/2 (the midpoint);
 *   K > 2: nearest class mean, W_k = mu_k, b_k = -||mu_k||^2 / 2.
 * With params.standardize the features are z-scored (train-set mean and
 * std, std 0 -> 1) before the fit; the stored coefficients are always
 * mapped back to raw activation space, so strata_probe_decision() takes raw
 * activations.  (sklearn agreement: standardize = 0, or StandardScaler.)
 *
 * Errors: a call that makes a probe returns it through *out even on failure
 * (strata_probe_errmsg(p) explains; free it either way).  Calls without a
 * handle take `char *err, size_t err_len` (may be NULL/0) for the message.
 * The library never prints or exits.
 *
 * Threads: one call at a time per probe; separate probes may be fitted
 * on separate threads.  Row-block sources are read by the thread fitting.
 */
#ifndef STRATA_PROBE_H
#define STRATA_PROBE_H

#include "strata/api.h"

#include <stddef.h>
#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_acts strata_acts; /* strata/capture.h */

typedef enum strata_probe_kind {
    STRATA_PROBE_LOGISTIC = 0, /* L2 logistic regression, L-BFGS */
    STRATA_PROBE_RIDGE = 1,    /* ridge regression, Cholesky (LAPACKE) */
    STRATA_PROBE_DIFFMEAN = 2  /* difference of class means */
} strata_probe_kind;

typedef enum strata_probe_class_weight {
    STRATA_PROBE_CW_NONE = 0,
    STRATA_PROBE_CW_BALANCED = 1 /* n / (K * count_k), as sklearn "balanced" */
} strata_probe_class_weight;

/* Most L-BFGS iterations a fit accepts (STRATA_ERR_ARG beyond). */
#define STRATA_PROBE_MAX_ITER 1000000

/* How the evaluation splits rows into train / test and CV folds. */
typedef enum strata_probe_group {
    STRATA_PROBE_GROUP_AUTO = 0, /* by group when params.groups is given and the
                                    labelled rows of every group share one label
                                    (document-level labels); else by row */
    STRATA_PROBE_GROUP_ROW = 1,  /* stratified by row (rows independent) */
    STRATA_PROBE_GROUP_DOC = 2   /* every group (document) whole on one side:
                                    hold-out as sklearn GroupShuffleSplit, CV as
                                    GroupKFold; needs params.groups */
} strata_probe_group;

typedef struct strata_probe_params {
    int32_t kind;            /* strata_probe_kind; default LOGISTIC */
    double C;                /* logistic inverse L2 strength (sklearn C); default 1.0 */
    double alpha;            /* ridge L2 strength; default 1.0 */
    int32_t fit_intercept;   /* default 1 */
    int32_t standardize;     /* z-score features (train statistics); default 1.
                                (diffmean ignores it: its direction lives in
                                activation space) */
    int32_t class_weight;    /* strata_probe_class_weight; default NONE */
    const float *class_weights; /* optional [n_classes] explicit weights
                                   (overrides class_weight); borrowed */
    int32_t max_iter;        /* L-BFGS iterations; default 1000 (0 -> 1000), at most
                                STRATA_PROBE_MAX_ITER */
    double tol;              /* stop when max|grad| of the mean-scaled objective
                                (objective / (C * sum s_i)) <= tol; default 1e-6 */
    int32_t lbfgs_m;         /* L-BFGS memory (pairs kept); default 10 */
    int64_t block_rows;      /* rows per streamed block; 0 = auto */
    int64_t mem_limit;       /* bytes for row blocks when streaming a file
                                (decides block_rows when that is 0); 0 = 64 MiB */
    /* evaluation (strata_probe_evaluate / sweep) */
    double test_fraction;    /* stratified hold-out share; default 0.2 */
    int32_t cv_folds;        /* > 1: also stratified k-fold CV; default 0 */
    int32_t control;         /* 1: Hewitt & Liang control task + selectivity */
    int32_t shuffled;        /* 1: shuffled-label baseline */
    uint64_t seed;           /* every split and random label; default 0 */
    int32_t group;           /* strata_probe_group; default AUTO */
    const int64_t *groups;   /* optional [n] group (document) id of each row;
                                borrowed; the sweep fills it from the capture
                                file's /docs/row_offsets */
    int32_t distributed;     /* 1: one fit over the ranks of the strata_dist group
                                (strata/dist.h, docs/SCALE.md); 0 (default): this
                                process alone, as in a serial build.  See
                                "Distributed fits" below. */
    int32_t reserved32;      /* zero */
    int64_t reserved[3];     /* zero; room to grow without changing the size (ABI) */
} strata_probe_params;

STRATA_API void strata_probe_default_params(strata_probe_params *p);

/* ---------------- distributed fits ----------------
 * With params.distributed = 1 in a group of P > 1 ranks (an MPI build after
 * strata_dist_init or strata_dist_set_comm) every fit, evaluation and sweep
 * call is collective: all ranks make the same calls with the same arguments
 * describing the WHOLE data set -- n, labels y [n], train masks, groups,
 * tokens and params are global and equal on every rank -- and each rank
 * reads only its share of the rows of X, rows [lo, hi) given by
 * strata_probe_dist_rows(n, ...) (contiguous, in order, sizes differing by
 * at most one).  Splits, folds, class sets and the control/shuffled labels
 * are computed from the global labels exactly as in one process; the passes
 * over X (feature statistics, L-BFGS loss and gradient, ridge normal
 * equations, class means, scores) are summed over ranks in float64.  Every
 * rank runs the same L-BFGS on bitwise-identical sums and returns the same
 * probe.  Results equal the one-process fit up to the summation order
 * (docs/SCALE.md states the measured difference).
 *   In-memory calls (strata_probe_fit, strata_probe_evaluate): X holds this
 *   rank's rows only, X [hi - lo][d], X[0] being row lo of the data set.
 *   Source calls: the source is asked only for rows in [lo, hi) (global row
 *   numbers), e.g. strata_probe_source_acts on a file all ranks can read.
 * A failure on one rank (a bad row) fails the call on every rank, with the
 * failing rank's message ("rank R of P: ...").  Serial build, one rank, or
 * distributed = 0: nothing changes. */
STRATA_API void strata_probe_dist_rows(int64_t n, int32_t distributed, int64_t *lo, int64_t *hi);

/* ---------------- row-block provider ----------------
 * The math core never holds X: it asks for rows [row0, row0+n) (n <= the
 * source's block_rows) and gets a pointer to them.  The provider either
 * fills `buf` ([block_rows][dim], owned by the core) and points *rows at it,
 * or points *rows into its own memory (zero copy).  Returns a strata_status;
 * on failure it may write a message into err (err_len bytes). */
typedef int (*strata_probe_read_fn)(void *user, int64_t row0, int64_t n, float *buf,
                                    const float **rows, char *err, size_t err_len);

typedef struct strata_probe_source {
    int64_t n_rows;
    int64_t dim;
    int64_t block_rows;          /* largest n the provider is asked for */
    strata_probe_read_fn read;
    void *user;
} strata_probe_source;

/* ---------------- fitting ---------------- */

typedef struct strata_probe strata_probe;

/* In-memory: X [n][d], y [n] (NaN = skip).  `train` [n] may be NULL (all
 * rows) or marks the rows to fit on (nonzero). */
STRATA_API strata_status strata_probe_fit(const float *X, int64_t n, int64_t d, const float *y,
                               const uint8_t *train, const strata_probe_params *p,
                               strata_probe **out);
/* Streaming: rows come from src in blocks; memory O(d * classes + block). */
STRATA_API strata_status strata_probe_fit_source(const strata_probe_source *src, const float *y,
                                      const uint8_t *train, const strata_probe_params *p,
                                      strata_probe **out);
/* Regularisation path: one probe per value of Cs [n_c] (logistic) or
 * alpha (ridge), each warm-started from the previous solution.  out [n_c]
 * receives the probes (each set even on failure). */
STRATA_API strata_status strata_probe_fit_path(const strata_probe_source *src, const float *y,
                                    const uint8_t *train, const strata_probe_params *p,
                                    const double *values, int n_values, strata_probe **out);

STRATA_API void strata_probe_free(strata_probe *p);               /* NULL is a no-op */
STRATA_API const char *strata_probe_errmsg(const strata_probe *p); /* "" if none; never NULL */

STRATA_API int32_t strata_probe_get_kind(const strata_probe *p);
STRATA_API int64_t strata_probe_dim(const strata_probe *p);
STRATA_API int32_t strata_probe_n_classes(const strata_probe *p);  /* 0 for ridge */
/* Rows of the coefficient matrix: 1 for binary / ridge, K for K > 2. */
STRATA_API int32_t strata_probe_n_outputs(const strata_probe *p);
/* Borrowed, valid until strata_probe_free: coef [n_outputs][dim] and
 * intercept [n_outputs], raw activation space. */
STRATA_API const float *strata_probe_coef(const strata_probe *p);
STRATA_API const float *strata_probe_intercept(const strata_probe *p);
STRATA_API double strata_probe_class_value(const strata_probe *p, int32_t c);
/* Fit diagnostics: iterations, converged flag (1/0), features with zero
 * variance on the training rows, training rows used. */
STRATA_API int32_t strata_probe_n_iter(const strata_probe *p);
STRATA_API int32_t strata_probe_converged(const strata_probe *p);
STRATA_API int32_t strata_probe_n_constant_features(const strata_probe *p);
STRATA_API int64_t strata_probe_n_train(const strata_probe *p);

/* ---------------- applying ---------------- */

/* scores [n][n_outputs] = X coef^T + intercept (logits; ridge predictions). */
STRATA_API strata_status strata_probe_decision(strata_probe *p, const float *X, int64_t n, float *scores);
/* yhat [n]: predicted class value (classification) or regression value. */
STRATA_API strata_status strata_probe_predict(strata_probe *p, const float *X, int64_t n, float *yhat);
/* proba [n][n_classes] (logistic only: sigmoid / softmax). */
STRATA_API strata_status strata_probe_predict_proba(strata_probe *p, const float *X, int64_t n, float *proba);
/* The probe's direction in activation space, for steering through a hook
 * (add  scale * dir  to blocks.L.hook_resid_post): dir [dim] = coef row
 * `output` (0 for binary / ridge) divided by its L2 norm when unit != 0. */
STRATA_API strata_status strata_probe_direction(strata_probe *p, int32_t output, int unit, float *dir);

/* HDF5: group /probes/<name> (datasets coef, intercept, classes, mean,
 * scale; attributes kind, C, alpha, n_train, ...).  The file is created if
 * absent; an existing group of that name is replaced.  docs/PROBES.md. */
STRATA_API strata_status strata_probe_save(strata_probe *p, const char *path, const char *name);
/* name NULL: the file must hold exactly one probe. */
STRATA_API strata_status strata_probe_load(const char *path, const char *name, strata_probe **out);

/* ---------------- evaluation ---------------- */

typedef struct strata_probe_report {
    char hook[256];              /* sweep: the hook; else "" */
    int32_t kind;
    int32_t n_classes;           /* 0 for ridge */
    int64_t dim;
    int64_t n_rows;              /* labelled rows */
    int64_t n_train, n_test;
    /* classification (NaN for ridge); test_* on the held-out split */
    double train_accuracy, test_accuracy;
    double balanced_accuracy, macro_f1;  /* test split */
    double auroc;                /* binary only, else NaN */
    double log_loss;             /* logistic only, else NaN */
    /* regression (NaN for classification) */
    double train_r2, test_r2;
    /* score = accuracy (classification) or R^2 (ridge) */
    int32_t cv_folds;            /* 0 when no CV */
    double cv_score, cv_std;     /* mean and std (ddof 0) over folds */
    double control_score;        /* NaN unless params.control */
    double selectivity;          /* classification: balanced_accuracy - control
                                    balanced accuracy; ridge: test R^2 - control R^2 */
    double shuffled_score;       /* NaN unless params.shuffled */
    int32_t n_iter, converged, n_constant_features;
    double fit_seconds;          /* the main train/test fit */
    /* baselines and the split in use */
    double majority_accuracy;    /* test accuracy of always predicting the training
                                    rows' most frequent class (NaN for ridge); the
                                    balanced accuracy of that predictor is 1/K */
    double cv_balanced_accuracy; /* mean over folds (NaN without CV or for ridge) */
    double control_balanced_accuracy; /* NaN unless params.control (classification) */
    int32_t grouped;             /* 1: splits kept every group (document) whole */
    int64_t n_groups;            /* groups with labelled rows (0 when no groups
                                    were given, or with group = ROW) */
} strata_probe_report;

/* Train/test (and CV, control, shuffled) on in-memory data.  tokens [n]
 * (token id of each row) is needed only for params.control. */
STRATA_API strata_status strata_probe_evaluate(const float *X, int64_t n, int64_t d, const float *y,
                                    const int32_t *tokens, const strata_probe_params *p,
                                    strata_probe_report *rep, char *err, size_t err_len);
STRATA_API strata_status strata_probe_evaluate_source(const strata_probe_source *src, const float *y,
                                           const int32_t *tokens,
                                           const strata_probe_params *p,
                                           strata_probe_report *rep, char *err, size_t err_len);

/* Every hook of a capture file whose name matches `glob` (fnmatch; NULL =
 * all 2-D hooks), label /labels/<label>: one report per hook, in file order.
 * A hook whose rows fit in half of params.mem_limit is read once and fitted
 * in memory; larger ones are streamed in blocks on every pass.
 * *out (malloc'd, free with strata_probe_sweep_free) and *n_out are set on
 * success.  progress (may be NULL) is called before each hook. */
typedef void (*strata_probe_progress_fn)(void *user, int i, int n, const char *hook);
STRATA_API strata_status strata_probe_sweep(strata_acts *a, const char *glob, const char *label,
                                 const strata_probe_params *p, strata_probe_progress_fn progress,
                                 void *user, strata_probe_report **out, int *n_out,
                                 char *err, size_t err_len);
STRATA_API void strata_probe_sweep_free(strata_probe_report *r);

/* Source over one hook of a capture file (blocks via strata_acts_read;
 * rows of 3-D/4-D hooks are flattened).  src->user belongs to the library:
 * release it with strata_probe_source_acts_free(src) after the last use of
 * src.  The file must stay open meanwhile. */
STRATA_API strata_status strata_probe_source_acts(strata_acts *a, const char *hook,
                                       const strata_probe_params *p,
                                       strata_probe_source *src, char *err, size_t err_len);
/* Releases what strata_probe_source_acts allocated (src->user) and clears
 * src; NULL or an empty source is a no-op. */
STRATA_API void strata_probe_source_acts_free(strata_probe_source *src);

/* ---------------- splits, control tasks ---------------- */

/* Stratified hold-out: test [n] = 1 for test rows, 0 train, 0 for skipped
 * (cls < 0).  Each class keeps round(test_fraction * count) test rows
 * (at least 1 train row).  cls [n]: class index or -1 (skip); for
 * regression pass cls = all 0 (one stratum). */
STRATA_API strata_status strata_probe_split(const int32_t *cls, int64_t n, double test_fraction,
                                 uint64_t seed, uint8_t *test);
/* Stratified k-fold: fold [n] in 0..k-1 (-1 for skipped rows); each class's
 * rows are shuffled and dealt round-robin. */
STRATA_API strata_status strata_probe_kfold(const int32_t *cls, int64_t n, int k, uint64_t seed,
                                 int8_t *fold);
/* Grouped hold-out, scikit-learn GroupShuffleSplit(n_splits=1) meaning:
 * of the G groups holding labelled rows (cls >= 0), ceil(test_fraction * G)
 * (clamped to 1..G-1) chosen by a seeded shuffle are test; test [n] = 1 for
 * their labelled rows, else 0.  groups [n]: any int64 id per row.  Needs G >= 2. */
STRATA_API strata_status strata_probe_group_split(const int32_t *cls, const int64_t *groups, int64_t n,
                                       double test_fraction, uint64_t seed, uint8_t *test);
/* Grouped k-fold, scikit-learn GroupKFold meaning: groups in decreasing order
 * of labelled rows (ties: larger id first, as sklearn's reversed stable
 * argsort), each assigned to the fold with
 * the fewest rows so far (ties: lowest fold).  fold [n] in 0..k-1, -1 for
 * unlabelled rows.  Needs G >= k groups.  Deterministic (no seed), as sklearn. */
STRATA_API strata_status strata_probe_group_kfold(const int32_t *cls, const int64_t *groups, int64_t n,
                                       int k, int8_t *fold);
/* Hewitt & Liang (2019) control task: every token type gets one label drawn
 * (seeded, by a hash of seed and token id, so independent of row order)
 * from the empirical distribution of y over the labelled rows;
 * out [n] = that label (NaN where y is NaN). */
STRATA_API strata_status strata_probe_control_labels(const float *y, const int32_t *tokens, int64_t n,
                                          uint64_t seed, float *out);
/* Seeded permutation of the labelled rows' labels (NaN rows stay NaN). */
STRATA_API strata_status strata_probe_shuffle_labels(const float *y, int64_t n, uint64_t seed, float *out);

/* ---------------- metrics ----------------
 * Class indices are 0..k-1; each returns NaN on empty or invalid input. */
STRATA_API double strata_metric_accuracy(const int32_t *y, const int32_t *pred, int64_t n);
/* Mean over classes present in y of per-class recall (sklearn). */
STRATA_API double strata_metric_balanced_accuracy(const int32_t *y, const int32_t *pred, int64_t n, int k);
/* Mean over the k classes of F1 (a class never predicted nor present counts 0,
 * sklearn zero_division=0 over labels present in y or pred). */
STRATA_API double strata_metric_macro_f1(const int32_t *y, const int32_t *pred, int64_t n, int k);
/* Binary AUROC from scores (ties count 1/2); y in {0,1}. */
STRATA_API double strata_metric_auroc(const int32_t *y, const float *score, int64_t n);
/* Mean -log p(y_i), p clipped to [1e-15, 1]; proba [n][k]. */
STRATA_API double strata_metric_log_loss(const int32_t *y, const float *proba, int64_t n, int k);
/* 1 - SS_res / SS_tot. */
STRATA_API double strata_metric_r2(const float *y, const float *yhat, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
