/* train/tr_xent.c — tied unembedding, softmax and next-token cross-entropy.
 *
 *   x [N][d] (final LayerNorm output), wte [V][d], logits [N][V], targets [N] (-1: none)
 *   forward:  logits = x . wte^T;  for rows with a target:
 *             p = softmax(logits) (max-subtracted, sum in double), stored in place,
 *             losses[n] = log(sum_j e^(l_j - max)) - (l_target - max)
 *             rows without a target: losses[n] = 0, row zeroed
 *   backward: dlogits = (p - onehot(target)) / n_pred  (0 rows stay 0), in place;
 *             dx = dlogits . wte   [N][d];   dwte = dlogits^T . x   [V][d] (overwrites)
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "model/kernels.h"
#include "train/train_internal.h"

void tr_xent_forward(float *logits, double *losses, const float *x, const float *wte,
                     const int32_t *targets, int64_t N, int d, int V, int nt)
{
    st_linear un = { .w = wte, .n_in = d, .n_out = V, .ld = d };
    st_linear_forward(&un, x, d, N, logits, V, nt);
    const int p = st_par_threads(nt, (double)N * V * 8);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        float *r = logits + n * V;
        const int32_t tg = targets[n];
        if (tg < 0) {
            memset(r, 0, sizeof(float) * V);
            losses[n] = 0;
            continue;
        }
        float mx = r[0];
        for (int j = 1; j < V; j++) mx = r[j] > mx ? r[j] : mx;
        const float lt = r[tg] - mx;
        double s = 0;
        for (int j = 0; j < V; j++) { r[j] = expf(r[j] - mx); s += r[j]; }
        const float inv = (float)(1.0 / s);
        for (int j = 0; j < V; j++) r[j] *= inv;
        losses[n] = log(s) - (double)lt;
    }
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
