/* probes/probe_diffmean.c — difference-of-means probe (raw activation space).
 *
 * Class means mu_k = mean of the training rows of class k (double).
 *   binary:  w = mu_1 - mu_0,  b = -w.(mu_0 + mu_1)/2   (decision at the midpoint)
 *   K > 2:   nearest class mean: argmin_k ||x - mu_k||^2 = argmax_k (mu_k.x - ||mu_k||^2/2),
 *            so W_k = mu_k, b_k = -||mu_k||^2 / 2.
 * The binary w is the "diff-of-means" steering direction (Marks & Tegmark
 * 2023, Rimsky et al. 2023).  One pass; memory O(K d). */
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

int pr_diffmean_fit(const pr_problem *pb, double *W, double *b, st_err *err)
{
    const strata_probe_source *src = pb->src;
    int64_t d = src->dim, n = src->n_rows, B = src->block_rows;
    int K = pb->K;
    double *mu = calloc((size_t)(K * d), sizeof *mu);
    int64_t *cnt = calloc((size_t)K, sizeof *cnt);
    if (!mu || !cnt) { free(mu); free(cnt); return st_fit_check(&pb->grp, st_seterr(err, STRATA_ERR_NOMEM, "out of memory"), err); }
    int rc = STRATA_OK;
    (void)n;
    for (int64_t r0 = pb->grp.lo; r0 < pb->grp.hi; r0 += B) {
        int64_t nb = pb->grp.hi - r0 < B ? pb->grp.hi - r0 : B;
        const float *X;
        if ((rc = pr_read(src, pb->buf, r0, nb, &X, err))) break;
        for (int64_t i = 0; i < nb; i++) {
            if (!pr_use(pb, r0 + i)) continue;
            int c = pb->cls[r0 + i];
            const float *x = X + i * d;
            double *o = mu + c * d;
            for (int64_t j = 0; j < d; j++) o[j] += x[j];
            cnt[c]++;
        }
    }
    if (pb->grp.on) { /* class sums and counts over ranks: K d + K doubles */
        double *cd = NULL;
        if (!rc && !(cd = malloc(sizeof *cd * (size_t)K))) rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        if ((rc = st_fit_check(&pb->grp, rc, err))) { free(cd); goto done; }
        for (int k = 0; k < K; k++) cd[k] = (double)cnt[k];
        rc = st_fit_sum(&pb->grp, mu, (size_t)(K * d), err);
        if (!rc) rc = st_fit_sum(&pb->grp, cd, (size_t)K, err);
        for (int k = 0; k < K; k++) cnt[k] = (int64_t)cd[k];
        free(cd);
    }
    if (rc) goto done;
    for (int k = 0; k < K; k++) {
        if (!cnt[k]) { rc = st_seterr(err, STRATA_ERR_ARG, "class %d has no training rows", k); goto done; }
        for (int64_t j = 0; j < d; j++) mu[k * d + j] /= (double)cnt[k];
    }
    if (K == 2) {
        double bb = 0;
        for (int64_t j = 0; j < d; j++) {
            W[j] = mu[d + j] - mu[j];
            bb -= W[j] * 0.5 * (mu[j] + mu[d + j]);
        }
        b[0] = bb;
    } else {
        for (int k = 0; k < K; k++) {
            double nn = 0;
            for (int64_t j = 0; j < d; j++) { W[k * d + j] = mu[k * d + j]; nn += mu[k * d + j] * mu[k * d + j]; }
            b[k] = -0.5 * nn;
        }
    }
done:
    free(mu); free(cnt);
    return rc;
}
