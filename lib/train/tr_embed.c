/* train/tr_embed.c — token + learned position embedding, forward and backward.
 *
 *   tokens [B][T], wte [V][d], wpe [n_ctx][d], out [B][T][d]
 *   forward:  out[b][t] = wte[tokens[b][t]] + wpe[t]
 *   backward: dwte[tokens[b][t]] += dout[b][t]   (rows in order b, t)
 *             dwpe[t] = sum_b dout[b][t]          (rows t >= T: 0)
 * The scatter into dwte runs over column blocks (one thread per block, rows
 * in order inside), so repeated tokens add up in the same order every run.
 */
#include <omp.h>
#include <string.h>

#include "model/kernels.h"
#include "train/train_internal.h"

void tr_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                      int64_t B, int64_t T, int d, int nt)
{
    const int p = st_par_threads(nt, (double)B * T * d);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t n = 0; n < B * T; n++) {
        const float *e = wte + (int64_t)tokens[n] * d, *pe = wpe + (n % T) * d;
        float *o = out + n * d;
#pragma omp simd
        for (int j = 0; j < d; j++) o[j] = e[j] + pe[j];
    }
}

void tr_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                       int64_t B, int64_t T, int d, int n_ctx, int nt)
{
    const int64_t nblk = (d + 15) / 16;
    const int p = st_par_threads(nt, (double)B * T * d * 2);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        const int j0 = (int)(blk * 16), j1 = j0 + 16 < d ? j0 + 16 : d;
        for (int64_t t = 0; t < n_ctx; t++)
            for (int j = j0; j < j1; j++) dwpe[t * d + j] = 0.0f;
        for (int64_t n = 0; n < B * T; n++) {
            const float *g = dout + n * d;
            float *e = dwte + (int64_t)tokens[n] * d, *pe = dwpe + (n % T) * d;
#pragma omp simd
            for (int j = j0; j < j1; j++) { e[j] += g[j]; pe[j] += g[j]; }
        }
    }
}
