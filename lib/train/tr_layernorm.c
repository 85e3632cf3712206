/* train/tr_layernorm.c — LayerNorm forward (saving mean and 1/std) and backward.
 *
 *   x, y [N][d];  w, b [d];  mean, rstd [N]
 *   forward:  mu = mean_j x_j,  var = mean_j (x_j - mu)^2 (biased, as torch),
 *             rstd = 1/sqrt(var + eps),  xhat = (x - mu) rstd,  y = xhat w + b
 *   backward: g = dy w;  dx += rstd (g - mean_j g - xhat mean_j(g xhat))
 *             dw = sum_n dy xhat,  db = sum_n dy
 * Row statistics and the parameter sums accumulate in double; dw/db are
 * summed over rows in order by column blocks (one thread per block), so the
 * result does not depend on the thread count.
 */
#include <math.h>
#include <omp.h>

#include "model/kernels.h"
#include "train/train_internal.h"

void tr_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                          const float *b, int64_t N, int d, float eps, int nt)
{
    const int p = st_par_threads(nt, (double)N * d * 4);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * d;
        double s = 0;
        for (int j = 0; j < d; j++) s += xr[j];
        const double mu = s / d;
        double v = 0;
        for (int j = 0; j < d; j++) { double c = xr[j] - mu; v += c * c; }
        const float rs = (float)(1.0 / sqrt(v / d + eps));
        const float m = (float)mu;
        float *yr = y + n * d;
        for (int j = 0; j < d; j++) yr[j] = (xr[j] - m) * rs * w[j] + b[j];
        mean[n] = m;
        rstd[n] = rs;
    }
}

void tr_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                           const float *w, const float *mean, const float *rstd, int64_t N,
                           int d, int nt)
{
    const int p = st_par_threads(nt, (double)N * d * 6);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * d, *g = dy + n * d;
        const float m = mean[n], rs = rstd[n];
        double sg = 0, sgx = 0;
        for (int j = 0; j < d; j++) {
            float gw = g[j] * w[j];
            sg += gw;
            sgx += gw * ((xr[j] - m) * rs);
        }
        const float mg = (float)(sg / d), mgx = (float)(sgx / d);
        float *o = dx + n * d;
        for (int j = 0; j < d; j++) {
            float xh = (xr[j] - m) * rs;
            o[j] += rs * (g[j] * w[j] - mg - xh * mgx);
        }
    }
    const int64_t nblk = (d + 31) / 32;
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        const int j0 = (int)(blk * 32), j1 = j0 + 32 < d ? j0 + 32 : d;
        double aw[32] = { 0 }, ab[32] = { 0 };
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + n * d, *g = dy + n * d;
            const float m = mean[n], rs = rstd[n];
            for (int j = j0; j < j1; j++) {
                aw[j - j0] += g[j] * ((xr[j] - m) * rs);
                ab[j - j0] += g[j];
            }
        }
        for (int j = j0; j < j1; j++) { dw[j] = (float)aw[j - j0]; db[j] = (float)ab[j - j0]; }
    }
}
