/* train/tr_gelu.c — backward of GPT-2's gelu_new (the forward is the engine's
 * st_act_forward, so trained and served models use the same function).
 *
 *   gelu_new(x) = 0.5 x (1 + tanh(u)),  u = c (x + 0.044715 x^3),  c = sqrt(2/pi)
 *   d/dx        = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) c (1 + 3*0.044715 x^2)
 * dy [n] is replaced by dy * gelu_new'(x).
 */
#include <math.h>
#include <omp.h>

#include "model/kernels.h"
#include "train/train_internal.h"

void tr_gelu_backward(float *dy, const float *x, int64_t n, int nt)
{
    const float c = 0.7978845608028654f;
    const int p = st_par_threads(nt, (double)n * 20);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        const float u = c * (v + 0.044715f * v * v * v);
        const float th = tanhf(u);
        const float g = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * c * (1.0f + 3.0f * 0.044715f * v * v);
        dy[i] *= g;
    }
}
