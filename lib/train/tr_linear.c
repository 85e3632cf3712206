/* train/tr_linear.c — a Conv1D (GPT-2) linear layer, forward and backward.
 *
 *   x [N][in], W [in][out], b [out], y [N][out]:   y = x.W + b
 *   dx [N][in]  = dy.W^T          (rows of dx split over threads)
 *   dW [in][out] = x^T.dy         (rows of dW split over threads)
 *   db [out]    = sum_n dy[n]     (columns split over threads)
 * Each thread calls single-threaded sgemm on its block (OpenBLAS is set to
 * one thread while training: one thread pool, as in the forward engine).  A
 * given element is always computed by one sgemm call with the same operands
 * for a fixed thread count, so results are bit-identical run to run.
 */
#include <cblas.h>
#include <omp.h>

#include "model/kernels.h"
#include "train/train_internal.h"
#include "util/clones.h"

void tr_linear_forward(float *y, const float *x, const float *W, const float *b,
                       int64_t N, int in, int out, int nt)
{
    /* the engine's block: sgemm per thread on row or column blocks + bias */
    st_linear lin = { .w = W, .b = b, .n_in = in, .n_out = out, .in_out = 1, .ld = out };
    st_linear_forward(&lin, x, in, N, y, out, nt);
}

/* db[j] = sum_n dy[n][j] for j in [j0, j1) (at most 64 columns), rows in order, in double
 * (compiled per instruction set: the 64 sums are independent lanes) */
ST_CLONES
static void column_sums(float *restrict db, const float *restrict dy, int64_t N, int out, int j0, int j1)
{
    double acc[64] = { 0 };
    const int w = j1 - j0;
    for (int64_t n = 0; n < N; n++) {
        const float *restrict r = dy + n * out + j0;
        if (w == 64)
            for (int j = 0; j < 64; j++) acc[j] += r[j];
        else
            for (int j = 0; j < w; j++) acc[j] += r[j];
    }
    for (int j = 0; j < w; j++) db[j0 + j] = (float)acc[j];
}

/* Splits [0, n) into `parts` nearly equal blocks; block i is [*lo, *hi). */
static void block_range(int64_t n, int parts, int i, int64_t *lo, int64_t *hi)
{
    *lo = n * i / parts;
    *hi = n * (i + 1) / parts;
}

void tr_linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                        const float *W, int64_t N, int in, int out, int accumulate, int nt)
{
    const double work = (double)N * in * out;
    const int t = st_par_threads(nt, work);
    if (dx) {
        const int p = (int)(N / 16 < t ? (N / 16 > 0 ? N / 16 : 1) : t);
#pragma omp parallel for num_threads(p) schedule(static, 1)
        for (int i = 0; i < p; i++) {
            int64_t lo, hi;
            block_range(N, p, i, &lo, &hi);
            if (hi > lo)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(hi - lo), in, out, 1.0f,
                            dy + lo * out, out, W, out, accumulate ? 1.0f : 0.0f, dx + lo * in, in);
        }
    }
    {
        const int p = in / 16 < t ? (in / 16 > 0 ? in / 16 : 1) : t;
#pragma omp parallel for num_threads(p) schedule(static, 1)
        for (int i = 0; i < p; i++) {
            int64_t lo, hi;
            block_range(in, p, i, &lo, &hi);
            if (hi > lo)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(hi - lo), out, (int)N, 1.0f,
                            x + lo, in, dy, out, 0.0f, dW + lo * out, out);
        }
    }
    if (db) {
        /* column blocks of 64; each column summed over rows in order, in double */
        const int64_t nblk = (out + 63) / 64;
        const int p = st_par_threads(nt, (double)N * out);
#pragma omp parallel for num_threads(p) schedule(static)
        for (int64_t blk = 0; blk < nblk; blk++) {
            const int j0 = (int)(blk * 64), j1 = j0 + 64 < out ? j0 + 64 : out;
            column_sums(db, dy, N, out, j0, j1);
        }
    }
}
