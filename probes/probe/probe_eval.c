/* probes/probe_eval.c — evaluating a probe kind on one activation matrix:
 * stratified hold-out, k-fold CV, control task + selectivity, shuffled-label
 * baseline, metrics; all through the row-block provider.
 *
 * Splits: stratified by row, or -- when params.groups is given and either
 * params.group = DOC or (AUTO) every group's rows share one label -- by
 * group: GroupShuffleSplit hold-out and GroupKFold CV, so rows of one
 * document never sit on both sides.  Baselines: the majority class of the
 * training rows scored on the test rows; selectivity on balanced accuracy.
 *
 * Memory: the fits stream X; the evaluation keeps O(n) per-row state
 * (labels, class index, split, fold, one score per output) — never O(n d).
 * Passes over X per evaluation: 1 (stats) + fit passes + 1 (scores) for the
 * main fit, the same again per CV fold, control and shuffled fit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe_internal.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* scores [n][n_out] of every row through the source (one pass). */
static int score_source(const strata_probe_source *src, const st_fit_group *g,
                        strata_probe *pr, float *scores, st_err *err)
{
    int64_t n = src->n_rows, d = src->dim, B = src->block_rows, no = pr->n_out;
    float *buf = malloc(sizeof(float) * (size_t)(B * d));
    int rc = buf ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory (score block)");
    for (int64_t r0 = g->lo; r0 < g->hi && !rc; r0 += B) {
        int64_t nb = g->hi - r0 < B ? g->hi - r0 : B;
        const float *X;
        if ((rc = pr_read(src, buf, r0, nb, &X, err))) break;
        if ((rc = strata_probe_decision(pr, X, nb, scores + r0 * no)))
            st_seterr(err, rc, "%s", pr->err.msg);
    }
    free(buf);
    if (!g->on) return rc;
    /* Distributed: every rank scored its rows; the metrics need all scores
     * (AUROC ranks them), so they are summed into every rank: n n_out
     * doubles, zero outside each rank's rows. */
    double *all = NULL;
    if (!rc && !(all = calloc((size_t)(n * no), sizeof *all)))
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (scores of %lld rows)", (long long)n);
    if ((rc = st_fit_check(g, rc, err))) { free(all); return rc; }
    for (int64_t i = g->lo * no; i < g->hi * no; i++) all[i] = scores[i];
    if (!(rc = st_fit_sum(g, all, (size_t)(n * no), err)))
        for (int64_t i = 0; i < n * no; i++) scores[i] = (float)all[i];
    free(all);
    return rc;
}

typedef struct evalctx {
    const strata_probe_source *src;
    const strata_probe_params *p;
    int64_t n;
    int clf;          /* classification */
    float *scores;    /* [n][K or 1] */
    int32_t *pred;    /* [n] scratch */
    int32_t *yt;      /* [n] scratch */
    float *fa, *fb;   /* [n] scratch */
    uint8_t *mask;    /* [n] scratch */
} evalctx;

/* Class index of a label value in the probe (-1 if absent). */
static int32_t class_of(const strata_probe *pr, float v)
{
    for (int k = 0; k < pr->n_classes; k++) if (pr->classes[k] == v) return k;
    return -1;
}

/* Score (accuracy or R^2) of probe pr on labels y over rows with sel[i] == want.
 * Uses ctx->scores (already computed for pr).  Optional extra metrics. */
static double score_rows(evalctx *c, strata_probe *pr, const float *y, const uint8_t *sel,
                         int want, strata_probe_report *rep)
{
    int64_t m = 0;
    int no = pr->n_out;
    if (!c->clf) {
        for (int64_t i = 0; i < c->n; i++)
            if (y[i] == y[i] && (sel ? sel[i] == want : 1)) { c->fa[m] = y[i]; c->fb[m] = c->scores[i]; m++; }
        return strata_metric_r2(c->fa, c->fb, m);
    }
    int K = pr->n_classes;
    float *proba = NULL;
    if (rep && pr->kind == STRATA_PROBE_LOGISTIC) proba = malloc(sizeof(float) * (size_t)(c->n * K + 1));
    for (int64_t i = 0; i < c->n; i++) {
        if (y[i] != y[i] || (sel && sel[i] != want)) continue;
        const float *s = c->scores + i * no;
        int32_t pk;
        if (no == 1) pk = s[0] > 0;
        else { pk = 0; for (int k = 1; k < no; k++) if (s[k] > s[pk]) pk = k; }
        c->pred[m] = pk;
        c->yt[m] = class_of(pr, y[i]);
        if (c->yt[m] < 0) c->yt[m] = K; /* a class the probe never saw: always wrong */
        if (no == 1) c->fa[m] = s[0];
        if (proba) {
            if (no == 1) {
                double z = s[0], q = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
                proba[m * 2] = (float)(1 - q); proba[m * 2 + 1] = (float)q;
            } else {
                double mx = s[0], se = 0;
                for (int k = 1; k < K; k++) if (s[k] > mx) mx = s[k];
                for (int k = 0; k < K; k++) se += exp(s[k] - mx);
                for (int k = 0; k < K; k++) proba[m * K + k] = (float)(exp(s[k] - mx) / se);
            }
        }
        m++;
    }
    double acc = strata_metric_accuracy(c->yt, c->pred, m);
    if (rep) {
        rep->balanced_accuracy = strata_metric_balanced_accuracy(c->yt, c->pred, m, K + 1);
        rep->macro_f1 = strata_metric_macro_f1(c->yt, c->pred, m, K + 1);
        rep->auroc = K == 2 ? strata_metric_auroc(c->yt, c->fa, m) : NAN;
        rep->log_loss = proba ? strata_metric_log_loss(c->yt, proba, m, K) : NAN;
    }
    free(proba);
    return acc;
}

/* Fit on rows train[i] != 0 with labels y, score rows test[i] == 1. */
static int fit_score(evalctx *c, const float *y, const uint8_t *train, const uint8_t *test,
                     double *test_score, double *train_score, strata_probe_report *rep,
                     strata_probe **keep, st_err *err)
{
    strata_probe *pr = NULL;
    int rc = strata_probe_fit_source(c->src, y, train, c->p, &pr);
    if (rc) {
        st_seterr(err, rc, "%s", strata_probe_errmsg(pr));
        strata_probe_free(pr);
        return rc;
    }
    st_fit_group g;
    st_fit_group_init(&g, c->p->distributed, c->src->n_rows);
    if ((rc = score_source(c->src, &g, pr, c->scores, err))) { strata_probe_free(pr); return rc; }
    *test_score = score_rows(c, pr, y, test, 1, rep);
    if (train_score) *train_score = score_rows(c, pr, y, train, 1, NULL);
    if (keep) *keep = pr; else strata_probe_free(pr);
    return STRATA_OK;
}

/* The hold-out split in use: grouped (GroupShuffleSplit) or stratified by row. */
static int holdout(const int32_t *cls, int64_t n, const strata_probe_params *p, int grouped,
                   uint8_t *test)
{
    return grouped ? strata_probe_group_split(cls, p->groups, n, p->test_fraction, p->seed, test)
                   : strata_probe_split(cls, n, p->test_fraction, p->seed, test);
}

/* Test accuracy of always predicting the most frequent class of the training
 * rows (ties: the smaller class index). */
static double majority_score(const int32_t *cls, const uint8_t *train, const uint8_t *test,
                             int64_t n, int K)
{
    int64_t *cnt = calloc((size_t)K, sizeof *cnt), hit = 0, tot = 0;
    if (!cnt) return NAN;
    for (int64_t i = 0; i < n; i++) if (train[i] && cls[i] >= 0) cnt[cls[i]]++;
    int best = 0;
    for (int k = 1; k < K; k++) if (cnt[k] > cnt[best]) best = k;
    for (int64_t i = 0; i < n; i++) if (test[i]) { tot++; hit += cls[i] == best; }
    free(cnt);
    return tot ? (double)hit / (double)tot : NAN;
}

strata_status strata_probe_evaluate_source(const strata_probe_source *src0, const float *y,
                                           const int32_t *tokens,
                                           const strata_probe_params *p,
                                           strata_probe_report *rep, char *errbuf,
                                           size_t err_len)
{
    st_err err = {{0}};
    strata_probe_params dp;
    if (!p) { strata_probe_default_params(&dp); p = &dp; }
    if (!src0 || !y || !rep) { pr_set_msg(errbuf, err_len, "evaluate: source, labels and report are required"); return STRATA_ERR_ARG; }
    char hook[sizeof rep->hook];
    memcpy(hook, rep->hook, sizeof hook);
    memset(rep, 0, sizeof *rep);
    memcpy(rep->hook, hook, sizeof hook);
    hook[sizeof hook - 1] = 0;
    rep->kind = p->kind;
    rep->dim = src0->dim;
    rep->train_accuracy = rep->test_accuracy = rep->balanced_accuracy = rep->macro_f1 = NAN;
    rep->auroc = rep->log_loss = rep->train_r2 = rep->test_r2 = NAN;
    rep->cv_score = rep->cv_std = rep->control_score = rep->selectivity = rep->shuffled_score = NAN;
    rep->majority_accuracy = rep->cv_balanced_accuracy = rep->control_balanced_accuracy = NAN;
    if (p->control && !tokens) { pr_set_msg(errbuf, err_len, "control task needs the token id of each row"); return STRATA_ERR_ARG; }
    if (!(p->test_fraction > 0 && p->test_fraction < 1)) { pr_set_msg(errbuf, err_len, "params.test_fraction must be in (0,1)"); return STRATA_ERR_ARG; }
    strata_probe_source s = *src0;
    if (s.block_rows < 1) s.block_rows = pr_auto_block(s.dim, p->mem_limit, 0);
    if (s.block_rows > s.n_rows) s.block_rows = s.n_rows > 0 ? s.n_rows : 1;
    int64_t n = s.n_rows;
    if (n < 1 || s.dim < 1) { pr_set_msg(errbuf, err_len, "evaluate: no rows"); return STRATA_ERR_ARG; }
    evalctx c = { .src = &s, .p = p, .n = n, .clf = p->kind != STRATA_PROBE_RIDGE };
    int rc = STRATA_OK;
    int32_t *cls = malloc(sizeof *cls * (size_t)n);
    uint8_t *test = malloc((size_t)n), *train = malloc((size_t)n);
    int8_t *fold = NULL;
    float *yc = NULL;
    double *classes = NULL;
    int K = 0;
    c.pred = malloc(sizeof *c.pred * (size_t)n); c.yt = malloc(sizeof *c.yt * (size_t)n);
    c.fa = malloc(sizeof *c.fa * (size_t)n); c.fb = malloc(sizeof *c.fb * (size_t)n);
    strata_probe *main_pr = NULL;
    if (!cls || !test || !train || !c.pred || !c.yt || !c.fa || !c.fb) { rc = st_seterr(&err, STRATA_ERR_NOMEM, "out of memory (%lld rows)", (long long)n); goto done; }
    /* strata: classes over all labelled rows (one stratum for regression) */
    if (c.clf) {
        if ((rc = pr_classes(y, n, NULL, &classes, &K, cls, &err))) goto done;
        if (K == 0) { rc = st_seterr(&err, STRATA_ERR_ARG, "label: no labelled rows (all NaN)"); goto done; }
        if (K == 1) { rc = st_seterr(&err, STRATA_ERR_ARG, "label has a single class (value %g); a classifier needs at least two", classes[0]); goto done; }
    } else {
        for (int64_t i = 0; i < n; i++) cls[i] = y[i] == y[i] ? 0 : -1;
    }
    int64_t labelled = 0;
    for (int64_t i = 0; i < n; i++) labelled += cls[i] >= 0;
    rep->n_rows = labelled;
    rep->n_classes = c.clf ? K : 0;
    /* the split: by group (document) or by row */
    int grouped = 0;
    int64_t n_groups = 0;
    if (p->group < STRATA_PROBE_GROUP_AUTO || p->group > STRATA_PROBE_GROUP_DOC) { rc = st_seterr(&err, STRATA_ERR_ARG, "params.group = %d is not auto (0), row (1) or doc (2)", p->group); goto done; }
    if (p->group == STRATA_PROBE_GROUP_DOC && !p->groups) { rc = st_seterr(&err, STRATA_ERR_ARG, "grouping by document needs the document of each row (params.groups)"); goto done; }
    if (p->groups && p->group != STRATA_PROBE_GROUP_ROW) {
        int constant = 0;
        if ((rc = pr_group_info(y, p->groups, n, &n_groups, &constant))) { st_seterr(&err, rc, "out of memory (groups)"); goto done; }
        grouped = p->group == STRATA_PROBE_GROUP_DOC || constant;
    }
    if (grouped && n_groups < 2) { rc = st_seterr(&err, STRATA_ERR_ARG, "a split by document needs at least 2 documents with labelled rows (have %lld)", (long long)n_groups); goto done; }
    if (grouped && p->cv_folds > 1 && n_groups < p->cv_folds) { rc = st_seterr(&err, STRATA_ERR_ARG, "%d-fold CV by document needs at least %d documents with labelled rows (have %lld); use fewer folds or split by row", p->cv_folds, p->cv_folds, (long long)n_groups); goto done; }
    rep->grouped = grouped;
    rep->n_groups = n_groups;
    c.scores = malloc(sizeof(float) * (size_t)(n * (c.clf && K > 2 ? K : 1)));
    if (!c.scores) { rc = st_seterr(&err, STRATA_ERR_NOMEM, "out of memory (scores)"); goto done; }
    if ((rc = holdout(cls, n, p, grouped, test))) { st_seterr(&err, rc, "split failed"); goto done; }
    for (int64_t i = 0; i < n; i++) { train[i] = cls[i] >= 0 && !test[i]; rep->n_train += train[i]; rep->n_test += test[i]; }
    if (rep->n_test == 0) { rc = st_seterr(&err, STRATA_ERR_ARG, "too few labelled rows (%lld) for a test split", (long long)labelled); goto done; }
    if (c.clf) rep->majority_accuracy = majority_score(cls, train, test, n, K);
    /* main fit */
    double t0 = now_s(), te, tr;
    if ((rc = fit_score(&c, y, train, test, &te, &tr, c.clf ? rep : NULL, &main_pr, &err))) goto done;
    rep->fit_seconds = now_s() - t0;
    rep->n_iter = main_pr->n_iter; rep->converged = main_pr->converged; rep->n_constant_features = main_pr->n_const;
    if (c.clf) { rep->test_accuracy = te; rep->train_accuracy = tr; }
    else { rep->test_r2 = te; rep->train_r2 = tr; }
    double main_score = te;
    /* k-fold CV */
    if (p->cv_folds > 1) {
        fold = malloc((size_t)n);
        if (!fold) { rc = st_seterr(&err, STRATA_ERR_NOMEM, "out of memory"); goto done; }
        rc = grouped ? strata_probe_group_kfold(cls, p->groups, n, p->cv_folds, fold)
                     : strata_probe_kfold(cls, n, p->cv_folds, p->seed, fold);
        if (rc) { st_seterr(&err, rc, "cv_folds must be in 2..127"); goto done; }
        double sum = 0, sum2 = 0, bsum = 0;
        for (int f = 0; f < p->cv_folds; f++) {
            for (int64_t i = 0; i < n; i++) { train[i] = fold[i] >= 0 && fold[i] != f; test[i] = fold[i] == f; }
            double sc;
            strata_probe_report fr;
            if ((rc = fit_score(&c, y, train, test, &sc, NULL, c.clf ? &fr : NULL, NULL, &err))) {
                st_seterr(&err, rc, "cv fold %d: %s", f, err.msg[0] ? err.msg : "failed");
                goto done;
            }
            sum += sc; sum2 += sc * sc;
            if (c.clf) bsum += fr.balanced_accuracy;
        }
        rep->cv_folds = p->cv_folds;
        rep->cv_score = sum / p->cv_folds;
        if (c.clf) rep->cv_balanced_accuracy = bsum / p->cv_folds;
        double var = sum2 / p->cv_folds - rep->cv_score * rep->cv_score;
        rep->cv_std = var > 0 ? sqrt(var) : 0;
        /* restore the hold-out split */
        holdout(cls, n, p, grouped, test);
        for (int64_t i = 0; i < n; i++) train[i] = cls[i] >= 0 && !test[i];
    }
    /* control task and shuffled labels: same split, same probe kind */
    for (int which = 0; which < 2; which++) {
        if (which == 0 && !p->control) continue;
        if (which == 1 && !p->shuffled) continue;
        if (!yc && !(yc = malloc(sizeof *yc * (size_t)n))) { rc = st_seterr(&err, STRATA_ERR_NOMEM, "out of memory"); goto done; }
        if (which == 0) rc = strata_probe_control_labels(y, tokens, n, p->seed, yc);
        else rc = strata_probe_shuffle_labels(y, n, p->seed, yc);
        if (rc) { st_seterr(&err, rc, "making %s labels failed", which ? "shuffled" : "control"); goto done; }
        double sc, bal = NAN;
        /* a control task may collapse to one class on the training rows
         * (few token types): then the trivial classifier scores the share of
         * that value among the test rows */
        float first = NAN;
        int one = 1;
        for (int64_t i = 0; i < n && one; i++)
            if (train[i] && yc[i] == yc[i]) { if (first != first) first = yc[i]; else if (yc[i] != first) one = 0; }
        if (c.clf && one) {
            int64_t m = 0;
            int32_t kf = -1;
            for (int k = 0; k < K; k++) if ((float)classes[k] == first) kf = k;
            for (int64_t i = 0; i < n; i++)
                if (test[i] && yc[i] == yc[i]) {
                    int32_t kc = -1;
                    for (int k = 0; k < K; k++) if ((float)classes[k] == yc[i]) kc = k;
                    c.yt[m] = kc >= 0 ? kc : K; c.pred[m] = kf >= 0 ? kf : K; m++;
                }
            sc = strata_metric_accuracy(c.yt, c.pred, m);
            bal = strata_metric_balanced_accuracy(c.yt, c.pred, m, K + 1);
        } else {
            strata_probe_report cr;
            if ((rc = fit_score(&c, yc, train, test, &sc, NULL, c.clf ? &cr : NULL, NULL, &err))) {
                st_seterr(&err, rc, "%s task: %s", which ? "shuffled" : "control", err.msg);
                goto done;
            }
            if (c.clf) bal = cr.balanced_accuracy;
        }
        if (which == 0) {
            rep->control_score = sc;
            rep->control_balanced_accuracy = bal;
            /* selectivity on balanced accuracy: with imbalanced labels plain
             * accuracy rewards predicting the majority class */
            rep->selectivity = c.clf ? rep->balanced_accuracy - bal : main_score - sc;
        }
        else rep->shuffled_score = sc;
    }
done:
    if (rc) pr_set_msg(errbuf, err_len, err.msg[0] ? err.msg : strata_errstr(rc));
    strata_probe_free(main_pr);
    free(cls); free(test); free(train); free(fold); free(yc); free(classes);
    free(c.pred); free(c.yt); free(c.fa); free(c.fb); free(c.scores);
    return rc;
}

/* X [hi - lo][d] holds rows [lo, hi) (lo = 0 unless distributed). */
typedef struct arr_src2 { const float *X; int64_t d, lo; } arr_src2;
static int arr_read2(void *user, int64_t row0, int64_t n, float *buf, const float **rows,
                     char *err, size_t err_len)
{
    arr_src2 *a = user;
    *rows = a->X + (row0 - a->lo) * a->d;
    return STRATA_OK;
}

strata_status strata_probe_evaluate(const float *X, int64_t n, int64_t d, const float *y,
                                    const int32_t *tokens, const strata_probe_params *p,
                                    strata_probe_report *rep, char *err, size_t err_len)
{
    if (!X) { pr_set_msg(err, err_len, "evaluate: X is NULL"); return STRATA_ERR_ARG; }
    int64_t lo = 0;
    strata_probe_dist_rows(n, p ? p->distributed : 0, &lo, NULL);
    arr_src2 a = { X, d, lo };
    strata_probe_source s = { n, d, pr_auto_block(d, 0, 1), arr_read2, &a };
    if (p && p->block_rows > 0) s.block_rows = p->block_rows;
    return strata_probe_evaluate_source(&s, y, tokens, p, rep, err, err_len);
}
