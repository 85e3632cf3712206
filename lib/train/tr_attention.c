/* train/tr_attention.c — causal multi-head self-attention, forward and backward.
 *
 *   qkv [B][T][3d]: columns q | k | v, head h at columns h*dh .. (h+1)*dh of each
 *   att [B][H][T][T]: P = softmax over keys j <= i of S = Q K^T / sqrt(dh)
 *                     (exact zeros above the diagonal)
 *   z   [B][T][d]:   Z_h = P_h V_h, head h at columns h*dh
 * Backward, per (b, h), with dZ the gradient of z:
 *   dP = dZ V^T,  dV = P^T dZ,
 *   dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)   (softmax Jacobian; 0 where masked)
 *   dQ = dS K / sqrt(dh),  dK = dS^T Q / sqrt(dh)
 * Only the causal half is computed: row i touches keys j <= i.  Dot products
 * over keys run on a transposed copy ([dh][T], per-thread scratch) so the
 * inner loop is contiguous over j; sums over keys into a head row run over
 * the dh contiguous columns.  Both vectorise (ST_CLONES: AVX-512, AVX2,
 * baseline; the helpers are inlined into each clone).  The (b, h) pairs are split over the OpenMP threads and write
 * disjoint outputs; every sum has a fixed order, so results do not depend on
 * the thread count.
 * scratch: [threads][T*T + 2*Tp*dh] floats, Tp = T rounded up to 16.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "model/kernels.h"
#include "train/train_internal.h"
#include "util/clones.h"

enum { LANES = 16 };   /* one AVX-512 register of floats, two AVX2 */

/* Rows padded to a multiple of LANES, so blocks of keys never read past a row. */
static inline int64_t padded(int64_t T) { return (T + LANES - 1) / LANES * LANES; }

/* dst[c][j] = src[j*ld + c] for c < dh, j < T; columns T .. Tp-1 zero (Tp = padded(T)) */
static inline __attribute__((always_inline)) void transpose_head(float *restrict dst, const float *restrict src, int64_t T, int dh, int64_t ld)
{
    const int64_t Tp = padded(T);
    for (int c = 0; c < dh; c++) {
        for (int64_t j = 0; j < T; j++) dst[c * Tp + j] = src[j * ld + c];
        for (int64_t j = T; j < Tp; j++) dst[c * Tp + j] = 0.0f;
    }
}

/* s[j] = scale * sum_c q[c] * kt[c][j] for j < n;  kt [dh][Tp].  Sixteen keys
 * at a time in registers, four accumulators over c (c mod 4) so the FMAs do
 * not wait on each other, summed in a fixed order. */
static inline __attribute__((always_inline)) void dots(float *restrict s, const float *restrict q, const float *restrict kt, int64_t Tp,
                        int dh, int64_t n, float scale)
{
    for (int64_t j0 = 0; j0 < n; j0 += LANES) {
        float a0[LANES] = { 0 }, a1[LANES] = { 0 }, a2[LANES] = { 0 }, a3[LANES] = { 0 };
        int c = 0;
        for (; c + 4 <= dh; c += 4) {
            const float *restrict k0 = kt + c * Tp + j0;
            const float q0 = q[c], q1 = q[c + 1], q2 = q[c + 2], q3 = q[c + 3];
#pragma omp simd
            for (int jj = 0; jj < LANES; jj++) {
                a0[jj] += q0 * k0[jj];
                a1[jj] += q1 * k0[Tp + jj];
                a2[jj] += q2 * k0[2 * Tp + jj];
                a3[jj] += q3 * k0[3 * Tp + jj];
            }
        }
        for (; c < dh; c++) {
            const float *restrict k0 = kt + c * Tp + j0;
            for (int jj = 0; jj < LANES; jj++) a0[jj] += q[c] * k0[jj];
        }
        const int64_t m = n - j0 < LANES ? n - j0 : LANES;
        for (int64_t jj = 0; jj < m; jj++) s[j0 + jj] = ((a0[jj] + a1[jj]) + (a2[jj] + a3[jj])) * scale;
    }
}

/* out[c] = sum_{j < n} w[j] * rows[j*ld + c] for c < dh, sixteen columns at a
 * time in registers with four accumulators (j mod 4), summed in a fixed order
 * (w: one row of P or dS; rows: V or K of the head). */
static inline __attribute__((always_inline)) void mix(float *restrict out, const float *restrict w, const float *restrict rows, int64_t ld,
                       int dh, int64_t n)
{
    int c0 = 0;
    for (; c0 + LANES <= dh; c0 += LANES) {
        float a0[LANES] = { 0 }, a1[LANES] = { 0 }, a2[LANES] = { 0 }, a3[LANES] = { 0 };
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            const float *restrict r = rows + j * ld + c0;
            const float w0 = w[j], w1 = w[j + 1], w2 = w[j + 2], w3 = w[j + 3];
#pragma omp simd
            for (int cc = 0; cc < LANES; cc++) {
                a0[cc] += w0 * r[cc];
                a1[cc] += w1 * r[ld + cc];
                a2[cc] += w2 * r[2 * ld + cc];
                a3[cc] += w3 * r[3 * ld + cc];
            }
        }
        for (; j < n; j++) {
            const float *restrict r = rows + j * ld + c0;
#pragma omp simd
            for (int cc = 0; cc < LANES; cc++) a0[cc] += w[j] * r[cc];
        }
        for (int cc = 0; cc < LANES; cc++) out[c0 + cc] = (a0[cc] + a1[cc]) + (a2[cc] + a3[cc]);
    }
    for (int c = c0; c < dh; c++) {
        float acc = 0;
        for (int64_t j = 0; j < n; j++) acc += w[j] * rows[j * ld + c];
        out[c] = acc;
    }
}

ST_CLONES
static void head_forward(float *restrict z, float *restrict P, const float *restrict q, const float *restrict k,
                         const float *restrict v, float *restrict kt, int64_t T, int dh, int64_t C3, int64_t d,
                         float scale)
{
    const int64_t Tp = padded(T);
    transpose_head(kt, k, T, dh, C3);
    for (int64_t i = 0; i < T; i++) {
        float *restrict r = P + i * T;
        dots(r, q + i * C3, kt, Tp, dh, i + 1, scale);
        float mx = r[0];
#pragma omp simd reduction(max : mx)
        for (int64_t j = 1; j <= i; j++) mx = r[j] > mx ? r[j] : mx;
        for (int64_t j = 0; j <= i; j++) r[j] = expf(r[j] - mx);
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j <= i; j++) sum += r[j];
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j <= i; j++) r[j] *= inv;
        for (int64_t j = i + 1; j < T; j++) r[j] = 0.0f;
        mix(z + i * d, r, v, C3, dh, i + 1);
    }
}

void tr_attention_forward(float *z, float *att, const float *qkv, float *scratch, int64_t B, int64_t T,
                          int H, int d, int nt)
{
    const int dh = d / H;
    const float scale = 1.0f / sqrtf((float)dh);
    const int64_t C3 = 3 * (int64_t)d;
    const int p = st_par_threads(nt, (double)B * H * T * T * dh);
#pragma omp parallel num_threads(p)
    {
        float *kt = scratch + (int64_t)omp_get_thread_num() * (T * T + 2 * padded(T) * dh);
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * H; bh++) {
            const int64_t b = bh / H;
            const int h = (int)(bh % H);
            const float *q = qkv + b * T * C3 + (int64_t)h * dh;
            head_forward(z + b * T * d + (int64_t)h * dh, att + bh * T * T, q, q + d, q + 2 * d, kt, T, dh,
                         C3, d, scale);
        }
    }
}

ST_CLONES
static void head_backward(float *restrict dq, float *restrict dk, float *restrict dv, const float *restrict dZ,
                          const float *restrict P, const float *restrict q, const float *restrict k,
                          const float *restrict v, float *restrict dP, float *restrict vt, int64_t T, int dh,
                          int64_t C3, int64_t d, float scale)
{
    const int64_t Tp = padded(T);
    transpose_head(vt, v, T, dh, C3);
    for (int64_t j = 0; j < T; j++)
        for (int c = 0; c < dh; c++) { dk[j * C3 + c] = 0.0f; dv[j * C3 + c] = 0.0f; }
    for (int64_t i = 0; i < T; i++) {
        const float *restrict pr = P + i * T;
        const float *restrict dzi = dZ + i * d;
        float *restrict g = dP + i * T;
        /* dP_i = dZ_i . V^T over j <= i */
        dots(g, dzi, vt, Tp, dh, i + 1, 1.0f);
        /* dS_i = P_i (dP_i - <P_i, dP_i>) * scale */
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j <= i; j++) s += pr[j] * g[j];
        for (int64_t j = 0; j <= i; j++) g[j] = pr[j] * (g[j] - s) * scale;
        /* dQ_i = sum_j dS_ij K_j */
        mix(dq + i * C3, g, k, C3, dh, i + 1);
        /* dV_j += P_ij dZ_i;  dK_j += dS_ij Q_i */
        const float *restrict qi = q + i * C3;
        for (int64_t j = 0; j <= i; j++) {
            const float pij = pr[j], gij = g[j];
            float *restrict dvj = dv + j * C3, *restrict dkj = dk + j * C3;
#pragma omp simd
            for (int c = 0; c < dh; c++) {
                dvj[c] += pij * dzi[c];
                dkj[c] += gij * qi[c];
            }
        }
    }
}

void tr_attention_backward(float *dqkv, const float *dz, const float *att, const float *qkv,
                           float *scratch, int64_t B, int64_t T, int H, int d, int nt)
{
    const int dh = d / H;
    const float scale = 1.0f / sqrtf((float)dh);
    const int64_t C3 = 3 * (int64_t)d;
    const int p = st_par_threads(nt, (double)B * H * T * T * dh * 2);
#pragma omp parallel num_threads(p)
    {
        float *dP = scratch + (int64_t)omp_get_thread_num() * (T * T + 2 * padded(T) * dh);
        float *vt = dP + T * T;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * H; bh++) {
            const int64_t b = bh / H;
            const int h = (int)(bh % H);
            const int64_t off = b * T * C3 + (int64_t)h * dh;
            const float *q = qkv + off;
            float *dq = dqkv + off;
            head_backward(dq, dq + d, dq + 2 * d, dz + b * T * d + (int64_t)h * dh, att + bh * T * T, q,
                          q + d, q + 2 * d, dP, vt, T, dh, C3, d, scale);
        }
    }
}
