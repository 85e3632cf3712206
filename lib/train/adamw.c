/* train/adamw.c — learning-rate schedule, global-norm gradient clipping and
 * the AdamW update, as torch.optim.AdamW (single-tensor path) computes it.
 *
 * Update t (1-based) of parameter p with gradient g, moments m, v:
 *   p <- p * (1 - lr * wd)              decoupled weight decay (only tensors
 *                                       with decay = 1: matrices, embeddings)
 *   m <- m + (1 - b1) (g - m)           (torch: exp_avg.lerp_(g, 1 - b1))
 *   v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Scalars in double, the elementwise work in float as torch does for float32.
 * Clipping (torch.nn.utils.clip_grad_norm_): norm = sqrt(sum g^2) over all
 * parameters; g <- g * min(1, clip / (norm + 1e-6)).
 */
#include <math.h>
#include <omp.h>

#include "model/kernels.h"
#include "train/train_internal.h"
#include "util/clones.h"

double tr_lr_at(double lr, int cosine, int64_t warmup, int64_t steps, int64_t step)
{
    if (step < warmup) return lr * (double)(step + 1) / (double)warmup;
    if (!cosine) return lr;
    const int64_t span = steps - warmup;
    if (span <= 0) return lr;
    const double progress = (double)(step - warmup) / (double)span;
    return lr * 0.5 * (1.0 + cos(M_PI * progress));
}

/* sum of g[j]^2 in double: eight lanes (j mod 8 of whole blocks of 8) summed in a fixed
 * tree, then the rest in order (compiled per instruction set) */
ST_CLONES
static double sum_squares(const float *restrict g, int64_t n)
{
    double acc[8] = { 0 };
    const int64_t full = n / 8 * 8;
    for (int64_t j = 0; j < full; j += 8)
        for (int x = 0; x < 8; x++) acc[x] += (double)g[j + x] * g[j + x];
    double s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    for (int64_t j = full; j < n; j++) s += (double)g[j] * g[j];
    return s;
}

double tr_clip_grads(tr_model *m, double clip, int nt)
{
    /* per-tensor sums of squares in double, then summed in tensor order */
    double total = 0;
    for (int i = 0; i < m->n_tensors; i++) total += sum_squares(m->grads + m->tensors[i].off, m->tensors[i].n);
    const double norm = sqrt(total);
    if (clip > 0 && isfinite(norm)) {
        const double coef = clip / (norm + 1e-6);
        if (coef < 1.0) {
            const float c = (float)coef;
            const int p = st_par_threads(nt, (double)m->n_params);
            float *g = m->grads;
#pragma omp parallel for simd num_threads(p) schedule(static)
            for (int64_t j = 0; j < m->n_params; j++) g[j] *= c;
        }
    }
    return norm;
}

/* The update of elements [0, n) of one tensor (compiled per instruction set; an element's
 * result does not depend on the others, so neither on the split over threads) */
ST_CLONES
static void adamw_range(float *restrict w, const float *restrict g, float *restrict mm, float *restrict vv, int64_t n,
                        int wd, float decay, float b1c, float b2, float b2c, float bc2_sqrt, float eps,
                        float step_size)
{
    /* vectorised: CMakeLists.txt compiles this file with -fno-math-errno (sqrtf of v >= 0) */
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        float pj = w[j];
        if (wd) pj *= decay;
        const float gj = g[j];
        const float mj = mm[j] + b1c * (gj - mm[j]);
        const float vj = b2 * vv[j] + b2c * gj * gj;
        mm[j] = mj;
        vv[j] = vj;
        const float denom = sqrtf(vj) / bc2_sqrt + eps;
        w[j] = pj - step_size * (mj / denom);
    }
}

void tr_adamw_step(tr_model *m, const tr_adamw *o, double lr, int64_t t, int nt)
{
    const double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = 1.0 - pow(o->beta2, (double)t);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float b1c = (float)(1.0 - o->beta1), b2 = (float)o->beta2, b2c = (float)(1.0 - o->beta2);
    const float eps = (float)o->eps, decay = (float)(1.0 - lr * o->weight_decay);
    const int p = st_par_threads(nt, (double)m->n_params * 8);
    for (int i = 0; i < m->n_tensors; i++) {
        const tr_tensor *tt = &m->tensors[i];
        float *w = m->params + tt->off, *g = m->grads + tt->off;
        float *mm = m->adam_m + tt->off, *vv = m->adam_v + tt->off;
        const int wd = tt->decay && o->weight_decay != 0;
        const int q = tt->n < 4096 ? 1 : p;
#pragma omp parallel for num_threads(q) schedule(static, 1)
        for (int k = 0; k < q; k++) {
            const int64_t j0 = tt->n * k / q, j1 = tt->n * (k + 1) / q;
            adamw_range(w + j0, g + j0, mm + j0, vv + j0, j1 - j0, wd, decay, b1c, b2, b2c, bc2_sqrt, eps,
                        step_size);
        }
    }
}
