/* train/tr_xent.c — tied unembedding, softmax and next-token cross-entropy.
 *
 *   x [N][d] (final LayerNorm output), wte [V][d], logits [N][V], targets [N] (-1: none)
 *   forward:  logits = x . wte^T;  for rows with a target:
 *             p = softmax(logits) (max-subtracted, e^x by tr_exp, sum in double), in place,
 *             losses[n] = log(sum_j e^(l_j - max)) - (l_target - max)
 *             rows without a target: losses[n] = 0, row zeroed
 *   backward: dlogits = (p - onehot(target)) / n_pred  (0 rows stay 0), in place;
 *             dx = dlogits . wte   [N][d];   dwte = dlogits^T . x   [V][d] (overwrites)
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "model/kernels.h"
#include "train/tr_fastexp.h"
#include "train/tr_vec.h"
#include "train/train_internal.h"
#include "util/clones.h"

/* Rows [n0, n1): softmax in place and the loss (see above).  The max and the sum run over
 * sixteen lanes (columns j mod 16 of whole blocks; the sum in double), then over the
 * lanes in order, then the remaining columns: a fixed order (tr_vec.h). */
ST_CLONES
static void softmax_xent_rows(float *restrict logits, double *restrict losses, const int32_t *restrict targets,
                              int64_t n0, int64_t n1, int V)
{
    const int full = V / TR_LANES * TR_LANES;
    for (int64_t n = n0; n < n1; n++) {
        float *restrict r = logits + n * V;
        const int32_t tg = targets[n];
        if (tg < 0) {
            memset(r, 0, sizeof(float) * V);
            losses[n] = 0;
            continue;
        }
        v16 vmax = splat(-INFINITY);
        for (int j = 0; j < full; j += TR_LANES) {
            const v16 v = ld16(r + j);
            vmax = select16(v > vmax, v, vmax);
        }
        float mx = -INFINITY;
        for (int x = 0; x < TR_LANES; x++) mx = vmax[x] > mx ? vmax[x] : mx;
        for (int j = full; j < V; j++) mx = r[j] > mx ? r[j] : mx;
        const float lt = r[tg] - mx;
        double acc[TR_LANES] = { 0 };
        for (int j = 0; j < full; j += TR_LANES) {
            float e[TR_LANES];
            for (int x = 0; x < TR_LANES; x++) e[x] = tr_exp(r[j + x] - mx);
            for (int x = 0; x < TR_LANES; x++) {
                r[j + x] = e[x];
                acc[x] += e[x];
            }
        }
        double s = 0;
        for (int x = 0; x < TR_LANES; x++) s += acc[x];
        for (int j = full; j < V; j++) { r[j] = tr_exp(r[j] - mx); s += r[j]; }
        const float inv = (float)(1.0 / s);
#pragma omp simd
        for (int j = 0; j < V; j++) r[j] *= inv;
        losses[n] = log(s) - (double)lt;
    }
}

void tr_xent_forward(float *logits, double *losses, const float *x, const float *wte,
                     const int32_t *targets, int64_t N, int d, int V, int nt)
{
    st_linear un = { .w = wte, .n_in = d, .n_out = V, .ld = d };
    st_linear_forward(&un, x, d, N, logits, V, nt);
    const int p = st_par_threads(nt, (double)N * V * 8);
#pragma omp parallel for num_threads(p) schedule(static, 1)
    for (int i = 0; i < p; i++)
        softmax_xent_rows(logits, losses, targets, N * i / p, N * (i + 1) / p, V);
}

void tr_xent_backward(float *dx, float *dwte, float *logits, const float *x, const float *wte,
                      const int32_t *targets, int64_t N, int d, int V, int64_t n_pred, int nt)
{
    const float inv = n_pred > 0 ? 1.0f / (float)n_pred : 0.0f;
    const int p = st_par_threads(nt, (double)N * V);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] < 0) continue;      /* row already zero */
        float *r = logits + n * V;
        r[targets[n]] -= 1.0f;
        for (int j = 0; j < V; j++) r[j] *= inv;
    }
    /* dx [N][d] = dlogits [N][V] . wte [V][d]: a Conv1D product with W = wte */
    tr_linear_forward(dx, logits, wte, NULL, N, V, d, nt);
    /* dwte [V][d] = dlogits^T . x: the dW of that product */
    tr_linear_backward(NULL, dwte, NULL, x, logits, NULL, N, V, d, 0, nt);
}
