/* train/tr_layernorm.c — LayerNorm forward (saving mean and 1/std) and backward.
 *
 *   x, y [N][d];  w, b [d];  mean, rstd [N]
 *   forward:  mu = mean_j x_j,  var = mean_j (x_j - mu)^2 (biased, as torch),
 *             rstd = 1/sqrt(var + eps),  xhat = (x - mu) rstd,  y = xhat w + b
 *   backward: g = dy w;  dx += rstd (g - mean_j g - xhat mean_j(g xhat))
 *             dw = sum_n dy xhat,  db = sum_n dy
 * Row sums run in float over sixteen lanes (columns j mod 16 of whole blocks), then the
 * lanes in order, then the remaining columns (tr_vec.h): a fixed order.  The parameter
 * sums dw/db accumulate in double over the rows in order, one thread per block of 32
 * columns, so the result does not depend on the thread count.  The row and column
 * kernels are compiled per instruction set (ST_CLONES).
 */
#include <math.h>
#include <omp.h>

#include "model/kernels.h"
#include "train/tr_vec.h"
#include "train/train_internal.h"
#include "util/clones.h"

/* sum_j a[j] for j < d: lanes over whole blocks of 16, then the tail */
TR_INLINE float row_sum(const float *restrict a, int d)
{
    const int full = d / TR_LANES * TR_LANES;
    v16 acc = splat(0.0f);
    for (int j = 0; j < full; j += TR_LANES) acc += ld16(a + j);
    float s = hsum16(acc);
    for (int j = full; j < d; j++) s += a[j];
    return s;
}

ST_CLONES
static void ln_forward_rows(float *restrict y, float *restrict mean, float *restrict rstd, const float *restrict x,
                            const float *restrict w, const float *restrict b, int64_t n0, int64_t n1, int d,
                            float eps)
{
    const int full = d / TR_LANES * TR_LANES;
    for (int64_t n = n0; n < n1; n++) {
        const float *restrict xr = x + n * d;
        float *restrict yr = y + n * d;
        const float mu = row_sum(xr, d) / (float)d;
        v16 acc = splat(0.0f);
        for (int j = 0; j < full; j += TR_LANES) {
            const v16 c = ld16(xr + j) - mu;
            acc += c * c;
        }
        float var = hsum16(acc);
        for (int j = full; j < d; j++) var += (xr[j] - mu) * (xr[j] - mu);
        const float rs = 1.0f / sqrtf(var / (float)d + eps);
        for (int j = 0; j < full; j += TR_LANES)
            st16(yr + j, (ld16(xr + j) - mu) * rs * ld16(w + j) + ld16(b + j));
        for (int j = full; j < d; j++) yr[j] = (xr[j] - mu) * rs * w[j] + b[j];
        mean[n] = mu;
        rstd[n] = rs;
    }
}

/* rows [n0, n1) per thread: blocks of rows, so the clone is entered once per block */
static void row_blocks(int64_t N, int p, int i, int64_t *n0, int64_t *n1)
{
    *n0 = N * i / p;
    *n1 = N * (i + 1) / p;
}

void tr_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                          const float *b, int64_t N, int d, float eps, int nt)
{
    const int p = st_par_threads(nt, (double)N * d * 4);
#pragma omp parallel for num_threads(p) schedule(static, 1)
    for (int i = 0; i < p; i++) {
        int64_t n0, n1;
        row_blocks(N, p, i, &n0, &n1);
        ln_forward_rows(y, mean, rstd, x, w, b, n0, n1, d, eps);
    }
}

ST_CLONES
static void ln_backward_rows(float *restrict dx, const float *restrict dy, const float *restrict x,
                             const float *restrict w, const float *restrict mean, const float *restrict rstd,
                             int64_t n0, int64_t n1, int d)
{
    const int full = d / TR_LANES * TR_LANES;
    for (int64_t n = n0; n < n1; n++) {
        const float *restrict xr = x + n * d, *restrict g = dy + n * d;
        float *restrict o = dx + n * d;
        const float m = mean[n], rs = rstd[n];
        v16 ag = splat(0.0f), agx = splat(0.0f);
        for (int j = 0; j < full; j += TR_LANES) {
            const v16 gw = ld16(g + j) * ld16(w + j);
            ag += gw;
            agx += gw * ((ld16(xr + j) - m) * rs);
        }
        float sg = hsum16(ag), sgx = hsum16(agx);
        for (int j = full; j < d; j++) {
            const float gw = g[j] * w[j];
            sg += gw;
            sgx += gw * ((xr[j] - m) * rs);
        }
        const float mg = sg / (float)d, mgx = sgx / (float)d;
        for (int j = 0; j < full; j += TR_LANES) {
            const v16 xh = (ld16(xr + j) - m) * rs;
            st16(o + j, ld16(o + j) + rs * (ld16(g + j) * ld16(w + j) - mg - xh * mgx));
        }
        for (int j = full; j < d; j++) {
            const float xh = (xr[j] - m) * rs;
            o[j] += rs * (g[j] * w[j] - mg - xh * mgx);
        }
    }
}

/* dw[j], db[j] for j in [j0, j1) (at most 32 columns): sums over the rows in order, in double */
ST_CLONES
static void ln_param_sums(float *restrict dw, float *restrict db, const float *restrict dy, const float *restrict x,
                          const float *restrict mean, const float *restrict rstd, int64_t N, int d, int j0, int j1)
{
    double aw[32] = { 0 }, ab[32] = { 0 };
    const int w = j1 - j0;
    for (int64_t n = 0; n < N; n++) {
        const float *restrict xr = x + n * d + j0, *restrict g = dy + n * d + j0;
        const float m = mean[n], rs = rstd[n];
        if (w == 32) {
            for (int j = 0; j < 32; j++) {
                aw[j] += (double)(g[j] * ((xr[j] - m) * rs));
                ab[j] += (double)g[j];
            }
        } else {
            for (int j = 0; j < w; j++) {
                aw[j] += (double)(g[j] * ((xr[j] - m) * rs));
                ab[j] += (double)g[j];
            }
        }
    }
    for (int j = 0; j < w; j++) { dw[j0 + j] = (float)aw[j]; db[j0 + j] = (float)ab[j]; }
}

void tr_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                           const float *w, const float *mean, const float *rstd, int64_t N,
                           int d, int nt)
{
    const int p = st_par_threads(nt, (double)N * d * 6);
#pragma omp parallel for num_threads(p) schedule(static, 1)
    for (int i = 0; i < p; i++) {
        int64_t n0, n1;
        row_blocks(N, p, i, &n0, &n1);
        ln_backward_rows(dx, dy, x, w, mean, rstd, n0, n1, d);
    }
    const int64_t nblk = (d + 31) / 32;
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        const int j0 = (int)(blk * 32), j1 = j0 + 32 < d ? j0 + 32 : d;
        ln_param_sums(dw, db, dy, x, mean, rstd, N, d, j0, j1);
    }
}
