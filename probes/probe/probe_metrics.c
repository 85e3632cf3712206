/* probes/probe_metrics.c — classification and regression metrics, defined
 * as scikit-learn defines them (sklearn.metrics) so numbers can be compared.
 *
 *   accuracy            mean [pred_i == y_i]
 *   balanced accuracy   mean over classes c present in y of recall_c = TP_c / n_c
 *   macro F1            mean over classes present in y or pred of
 *                       F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)   (0 when undefined)
 *   AUROC               Mann-Whitney: (sum of positive ranks - n1 (n1+1)/2) / (n1 n0),
 *                       ranks averaged over ties
 *   log-loss            mean -log(clip(p_i,y_i, 1e-15, 1))
 *   R^2                 1 - sum (y - yhat)^2 / sum (y - ybar)^2   (double sums)
 */
#include <math.h>
#include <stdlib.h>

#include "probe_internal.h"

double strata_metric_accuracy(const int32_t *y, const int32_t *pred, int64_t n)
{
    if (!y || !pred || n <= 0) return NAN;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += y[i] == pred[i];
    return (double)ok / (double)n;
}

/* confusion counts: tp, fp, fn, ntrue [k] */
static int counts(const int32_t *y, const int32_t *pred, int64_t n, int k, int64_t **out)
{
    int64_t *c = calloc((size_t)k * 4, sizeof *c);
    if (!c) return -1;
    for (int64_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= k || pred[i] < 0 || pred[i] >= k) { free(c); return -1; }
        c[3 * k + y[i]]++;
        if (y[i] == pred[i]) c[y[i]]++;
        else { c[k + pred[i]]++; c[2 * k + y[i]]++; }
    }
    *out = c;
    return 0;
}

double strata_metric_balanced_accuracy(const int32_t *y, const int32_t *pred, int64_t n, int k)
{
    int64_t *c;
    if (!y || !pred || n <= 0 || k < 1 || counts(y, pred, n, k, &c)) return NAN;
    double s = 0;
    int m = 0;
    for (int j = 0; j < k; j++)
        if (c[3 * k + j]) { s += (double)c[j] / (double)c[3 * k + j]; m++; }
    free(c);
    return m ? s / m : NAN;
}

double strata_metric_macro_f1(const int32_t *y, const int32_t *pred, int64_t n, int k)
{
    int64_t *c;
    if (!y || !pred || n <= 0 || k < 1 || counts(y, pred, n, k, &c)) return NAN;
    double s = 0;
    int m = 0;
    for (int j = 0; j < k; j++) {
        int64_t tp = c[j], fp = c[k + j], fn = c[2 * k + j];
        if (tp + fp + fn == 0) continue; /* neither present nor predicted */
        s += 2.0 * (double)tp / (double)(2 * tp + fp + fn);
        m++;
    }
    free(c);
    return m ? s / m : NAN;
}

typedef struct sc { float s; int32_t y; } sc;
static int cmp_sc(const void *a, const void *b)
{
    float x = ((const sc *)a)->s, z = ((const sc *)b)->s;
    return x < z ? -1 : x > z;
}

double strata_metric_auroc(const int32_t *y, const float *score, int64_t n)
{
    if (!y || !score || n <= 0) return NAN;
    sc *v = malloc(sizeof *v * (size_t)n);
    if (!v) return NAN;
    int64_t n1 = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((y[i] != 0 && y[i] != 1) || score[i] != score[i]) { free(v); return NAN; }
        v[i].s = score[i]; v[i].y = y[i]; n1 += y[i];
    }
    int64_t n0 = n - n1;
    if (!n1 || !n0) { free(v); return NAN; }
    qsort(v, (size_t)n, sizeof *v, cmp_sc);
    double rsum = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double r = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1..j */
        for (int64_t t = i; t < j; t++) if (v[t].y) rsum += r;
        i = j;
    }
    free(v);
    return (rsum - 0.5 * (double)n1 * (double)(n1 + 1)) / ((double)n1 * (double)n0);
}

double strata_metric_log_loss(const int32_t *y, const float *proba, int64_t n, int k)
{
    if (!y || !proba || n <= 0 || k < 2) return NAN;
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= k) return NAN;
        double p = proba[i * k + y[i]];
        if (!(p >= 1e-15)) p = 1e-15;
        if (p > 1) p = 1;
        s -= log(p);
    }
    return s / (double)n;
}

double strata_metric_r2(const float *y, const float *yhat, int64_t n)
{
    if (!y || !yhat || n <= 1) return NAN;
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += y[i];
    m /= (double)n;
    double ss_res = 0, ss_tot = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = (double)y[i] - yhat[i], t = (double)y[i] - m;
        ss_res += r * r; ss_tot += t * t;
    }
    if (!(ss_tot > 0)) return ss_res == 0 ? 1.0 : 0.0; /* sklearn's convention for constant y */
    return 1 - ss_res / ss_tot;
}
