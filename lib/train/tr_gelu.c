/* train/tr_gelu.c — GPT-2's gelu_new, forward and backward.
 *
 *   gelu_new(x) = 0.5 x (1 + tanh(u)) = x s,   u = c (x + 0.044715 x^3),  c = sqrt(2/pi),
 *                 s = sigmoid(2u) = 1 / (1 + e^(-2u))   (0.5 (1 + tanh u) = sigmoid(2u))
 *   d/dx        = s + x s (1 - s) 2c (1 + 3*0.044715 x^2)
 * Forward y = x s, written as the engine's st_act_forward writes it (x / (1 + e^(-2u)),
 * the same exponential), so trained and served models compute the same function (the
 * bits may differ where this clone fuses a multiply-add the engine's build does not).
 * Backward: dy [n] is replaced by dy * gelu_new'(x).  e^t by tr_exp (tr_fastexp.h: branch-free,
 * ~2 ulp, the method of the engine's forward kernel), so the loop vectorises
 * (ST_CLONES: AVX-512, AVX2, baseline).
 */
#include <omp.h>

#include "model/kernels.h"
#include "train/tr_fastexp.h"
#include "train/train_internal.h"
#include "util/clones.h"

ST_CLONES
static void gelu_forward_block(float *restrict y, const float *restrict x, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        const float a = -2.0f * 0.7978845608028654f * (v + 0.044715f * v * v * v);
        y[i] = v * (1.0f / (1.0f + tr_exp(a)));
    }
}

void tr_gelu_forward(float *y, const float *x, int64_t n, int nt)
{
    enum { BLOCK = 4096 };
    const int p = st_par_threads(nt, (double)n * 20);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t b0 = 0; b0 < n; b0 += BLOCK)
        gelu_forward_block(y + b0, x + b0, n - b0 < BLOCK ? n - b0 : BLOCK);
}

ST_CLONES
static void gelu_backward_block(float *restrict dy, const float *restrict x, int64_t n)
{
    const float c = 0.7978845608028654f;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        const float u = c * (v + 0.044715f * v * v * v);
        const float s = 1.0f / (1.0f + tr_exp(-2.0f * u));
        const float g = s + v * s * (1.0f - s) * 2.0f * c * (1.0f + 3.0f * 0.044715f * v * v);
        dy[i] *= g;
    }
}

void tr_gelu_backward(float *dy, const float *x, int64_t n, int nt)
{
    enum { BLOCK = 4096 };
    const int p = st_par_threads(nt, (double)n * 20);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t b0 = 0; b0 < n; b0 += BLOCK)
        gelu_backward_block(dy + b0, x + b0, n - b0 < BLOCK ? n - b0 : BLOCK);
}
