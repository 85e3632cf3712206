/* train/tr_attention.c — causal multi-head self-attention, forward and backward.
 *
 *   qkv [B][T][3d]: columns q | k | v, head h at columns h*dh .. (h+1)*dh of each
 *   att [B][H][T][T]: P = softmax over keys j <= i of S = Q K^T / sqrt(dh)
 *                     (exact zeros above the diagonal)
 *   z   [B][T][d]:   Z_h = P_h V_h, head h at columns h*dh
 * Backward, per (b, h), with dZ the gradient of z:
 *   dP = dZ V^T,  dV = P^T dZ,
 *   dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik) / sqrt(dh)   (softmax Jacobian; 0 where masked)
 *   dQ = dS K,  dK = dS^T Q
 *
 * Every product is one register-blocked kernel (block_product): eight output rows by
 * sixteen output columns held in registers, summed over k in order,
 *   out[r][x] = sum_k w[r*sr + k*sk] * src[k*ld + x],
 * where w's strides pick w or its transpose:
 *   S  = Q K^T   w = Q (rows i),   src = K^T [dh][Tp] (a transposed copy), x = keys
 *   dP = dZ V^T  w = dZ,           src = V^T,                              x = keys
 *   Z  = P V     w = P,            src = V rows,                           x = columns of the head
 *   dQ = dS K    w = dS,           src = K rows
 *   dV = P^T dZ  w = P transposed, src = dZ rows,   k = i >= the block's first key
 *   dK = dS^T Q  w = dS transposed, src = Q rows
 * Only the causal part is computed: a block of query rows i0..i0+7 reads keys up to
 * i0+7, a block of keys j0..j0+7 reads query rows from j0 on; the products run over the
 * exact zeros of P and dS above the diagonal inside a block (adding 0 changes no sum).
 * Sixteen floats are one GCC vector (one AVX-512 register, two AVX2 ones; ST_CLONES
 * compiles the kernels for AVX-512, AVX2 and baseline x86-64).  Head widths that are not
 * a multiple of 16 take a scalar path for the last columns.
 * The (b, h) pairs are split over the OpenMP threads and write disjoint outputs; every
 * sum has a fixed order, so results do not depend on the thread count.
 * scratch: [threads][Tp*Tp + 2*Tp*dh] floats, Tp = T rounded up to 16 (tr_acts.datt).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "model/kernels.h"
#include "train/train_internal.h"
#include "train/tr_vec.h"
#include "util/clones.h"

enum { LANES = TR_LANES, ROWS = 8 };

/* Rows padded to a multiple of LANES, so blocks of keys never read past a row. */
static inline int64_t padded(int64_t T) { return (T + LANES - 1) / LANES * LANES; }

/* dst[c][j] = src[j*ld + c] for c < dh, j < T; columns T .. Tp-1 zero (Tp = padded(T)) */
static inline __attribute__((always_inline)) void transpose_head(float *restrict dst, const float *restrict src,
                                                                 int64_t T, int dh, int64_t ld)
{
    const int64_t Tp = padded(T);
    for (int64_t j = 0; j < T; j++)
        for (int c = 0; c < dh; c++) dst[c * Tp + j] = src[j * ld + c];
    for (int c = 0; c < dh; c++)
        for (int64_t j = T; j < Tp; j++) dst[c * Tp + j] = 0.0f;
}

/* out[r*ldo + x] = scale * sum_{k < n} w[r*sr + k*sk] * src[k*ld + x]  for r < R, x < nx
 * (R <= ROWS, nx <= LANES).  R == ROWS and nx == LANES is the register-blocked path. */
static inline __attribute__((always_inline)) void block_product(float *restrict out, int64_t ldo, int R, int nx,
                                                                const float *restrict w, int64_t sr, int64_t sk,
                                                                const float *restrict src, int64_t ld, int64_t n,
                                                                float scale)
{
    if (R == ROWS && nx == LANES) {
        v16 a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, a4 = { 0 }, a5 = { 0 }, a6 = { 0 }, a7 = { 0 };
        for (int64_t k = 0; k < n; k++) {
            const v16 s = ld16(src + k * ld);
            const float *restrict wk = w + k * sk;
            a0 += wk[0] * s;
            a1 += wk[sr] * s;
            a2 += wk[2 * sr] * s;
            a3 += wk[3 * sr] * s;
            a4 += wk[4 * sr] * s;
            a5 += wk[5 * sr] * s;
            a6 += wk[6 * sr] * s;
            a7 += wk[7 * sr] * s;
        }
        st16(out, a0 * scale);
        st16(out + ldo, a1 * scale);
        st16(out + 2 * ldo, a2 * scale);
        st16(out + 3 * ldo, a3 * scale);
        st16(out + 4 * ldo, a4 * scale);
        st16(out + 5 * ldo, a5 * scale);
        st16(out + 6 * ldo, a6 * scale);
        st16(out + 7 * ldo, a7 * scale);
        return;
    }
    for (int r = 0; r < R; r++) {
        if (nx == LANES) {
            v16 a = { 0 };
            for (int64_t k = 0; k < n; k++) a += w[r * sr + k * sk] * ld16(src + k * ld);
            st16(out + r * ldo, a * scale);
        } else {
            for (int x = 0; x < nx; x++) {
                float a = 0.0f;
                for (int64_t k = 0; k < n; k++) a += w[r * sr + k * sk] * src[k * ld + x];
                out[r * ldo + x] = a * scale;
            }
        }
    }
}

/* S rows [i0, i0+R) of the head: s[i][j] for j < i0+R rounded up to LANES (row stride Tp) */
static inline __attribute__((always_inline)) void score_rows(float *restrict s, int64_t Tp, const float *restrict a,
                                                             int64_t lda, const float *restrict bt, int dh,
                                                             int64_t i0, int R, float scale)
{
    const int64_t nj = i0 + R;
    for (int64_t j0 = 0; j0 < nj; j0 += LANES)
        block_product(s + i0 * Tp + j0, Tp, R, LANES, a + i0 * lda, lda, 1, bt + j0, Tp, dh, scale);
}

/* out rows [i0, i0+R) (stride ldo), all dh columns: sum_{k < n} w[i][k] * src[k][c] */
static inline __attribute__((always_inline)) void mix_rows(float *restrict out, int64_t ldo, const float *restrict w,
                                                           int64_t sr, int64_t sk, const float *restrict src,
                                                           int64_t ld, int dh, int R, int64_t n, float scale)
{
    for (int c0 = 0; c0 < dh; c0 += LANES) {
        const int nx = dh - c0 < LANES ? dh - c0 : LANES;
        block_product(out + c0, ldo, R, nx, w, sr, sk, src + c0, ld, n, scale);
    }
}

/* e^x of each lane, tr_exp's steps on vectors (see tr_fastexp.h; the inputs here are
 * finite or -inf: the NaN case of tr_exp is not needed) */
static inline __attribute__((always_inline)) v16 exp16(v16 x)
{
    const v16 lo = select16(x > splat(-87.0f), x, splat(-87.0f));
    const v16 xc = select16(lo < splat(88.0f), lo, splat(88.0f));
    const v16 magic = splat(12582912.0f);   /* 1.5 * 2^23: adding it rounds to an integer */
    const v16 k = (xc * splat(1.44269504088896341f) + magic) - magic;
    v16 r = xc - k * splat(0.693145751953125f);
    r = r - k * splat(1.428606765330187045e-06f);
    const v16 p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    const v16i e = (__builtin_convertvector(k, v16i) + 127) << 23;
    return p * (v16)e;
}

/* In place on s[0..n): softmax, then zeros on [n, len); s is readable and writable up to
 * n rounded up to LANES.  The max and the sum run lane-wise over blocks of 16, then over
 * the 16 lanes (hmax16, hsum16): a fixed order. */
static inline __attribute__((always_inline)) void softmax_row(float *restrict s, int64_t n, int64_t len)
{
    const v16i iota = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    const int64_t nb = (n + LANES - 1) / LANES;
    v16 vmax = splat(-INFINITY);
    for (int64_t b = 0; b < nb; b++) {
        const v16i in = iota + (int32_t)(b * LANES) < (int32_t)n;
        const v16 v = ld16(s + b * LANES);
        const v16 vm = select16(in, v, vmax);
        vmax = select16(vm > vmax, vm, vmax);
    }
    const float mx = hmax16(vmax);
    v16 vsum = { 0 };
    for (int64_t b = 0; b < nb; b++) {
        const v16i in = iota + (int32_t)(b * LANES) < (int32_t)n;
        const v16 e = exp16(ld16(s + b * LANES) - mx);
        const v16 ez = select16(in, e, splat(0.0f));
        st16(s + b * LANES, ez);
        vsum += ez;
    }
    const float inv = 1.0f / hsum16(vsum);
    for (int64_t b = 0; b < nb; b++) st16(s + b * LANES, ld16(s + b * LANES) * inv);
    for (int64_t j = nb * LANES; j < len; j++) s[j] = 0.0f;
}

ST_CLONES
static void head_forward(float *restrict z, float *restrict P, const float *restrict q, const float *restrict k,
                         const float *restrict v, float *restrict S, float *restrict kt, int64_t T, int dh,
                         int64_t C3, int64_t d, float scale)
{
    const int64_t Tp = padded(T);
    transpose_head(kt, k, T, dh, C3);
    for (int64_t i0 = 0; i0 < T; i0 += ROWS) {
        const int R = T - i0 < ROWS ? (int)(T - i0) : ROWS;
        score_rows(S, Tp, q, C3, kt, dh, i0, R, scale);
        for (int r = 0; r < R; r++) {
            const int64_t i = i0 + r;
            softmax_row(S + i * Tp, i + 1, T);
            memcpy(P + i * T, S + i * Tp, sizeof(float) * (size_t)T);
        }
        /* Z rows = P rows . V over keys < i0 + R (P is 0 above the diagonal) */
        mix_rows(z + i0 * d, d, P + i0 * T, T, 1, v, C3, dh, R, i0 + R, 1.0f);
    }
}

void tr_attention_forward(float *z, float *att, const float *qkv, float *scratch, int64_t B, int64_t T,
                          int H, int d, int nt)
{
    const int dh = d / H;
    const float scale = 1.0f / sqrtf((float)dh);
    const int64_t C3 = 3 * (int64_t)d, Tp = padded(T);
    const int p = st_par_threads(nt, (double)B * H * T * T * dh);
#pragma omp parallel num_threads(p)
    {
        float *S = scratch + (int64_t)omp_get_thread_num() * (Tp * Tp + 2 * Tp * dh);
        float *kt = S + Tp * Tp;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * H; bh++) {
            const int64_t b = bh / H;
            const int h = (int)(bh % H);
            const float *q = qkv + b * T * C3 + (int64_t)h * dh;
            head_forward(z + b * T * d + (int64_t)h * dh, att + bh * T * T, q, q + d, q + 2 * d, S, kt, T, dh,
                         C3, d, scale);
        }
    }
}

ST_CLONES
static void head_backward(float *restrict dq, float *restrict dk, float *restrict dv, const float *restrict dZ,
                          const float *restrict P, const float *restrict q, const float *restrict k,
                          const float *restrict v, float *restrict dS, float *restrict vt, int64_t T, int dh,
                          int64_t C3, int64_t d, float scale)
{
    const int64_t Tp = padded(T);
    transpose_head(vt, v, T, dh, C3);
    /* dS, row block by row block: dP = dZ V^T, then the softmax Jacobian (zeros past i) */
    for (int64_t i0 = 0; i0 < T; i0 += ROWS) {
        const int R = T - i0 < ROWS ? (int)(T - i0) : ROWS;
        score_rows(dS, Tp, dZ, d, vt, dh, i0, R, 1.0f);
        for (int r = 0; r < R; r++) {
            const int64_t i = i0 + r;
            const float *restrict pr = P + i * T;
            float *restrict g = dS + i * Tp;
            const int64_t nb = (i + LANES) / LANES;   /* blocks covering j <= i */
            if (nb * LANES <= T) {
                /* whole blocks: P_ij = 0 for j > i makes those lanes add nothing to s,
                 * and the mask writes +0 there */
                const v16i iota = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
                v16 vs = splat(0.0f);
                for (int64_t b = 0; b < nb; b++) vs += ld16(pr + b * LANES) * ld16(g + b * LANES);
                const float s = hsum16(vs);
                for (int64_t b = 0; b < nb; b++) {
                    const v16i in = iota + (int32_t)(b * LANES) <= (int32_t)i;
                    const v16 v = ld16(pr + b * LANES) * (ld16(g + b * LANES) - s) * scale;
                    st16(g + b * LANES, select16(in, v, splat(0.0f)));
                }
                for (int64_t j = nb * LANES; j < Tp; j += LANES) st16(g + j, splat(0.0f));
            } else {
                /* the last block would read past P's row: whole blocks, then one by one */
                const int64_t nfull = (i + 1) / LANES * LANES;
                v16 vs = splat(0.0f);
                for (int64_t j = 0; j < nfull; j += LANES) vs += ld16(pr + j) * ld16(g + j);
                float s = hsum16(vs);
                for (int64_t j = nfull; j <= i; j++) s += pr[j] * g[j];
                for (int64_t j = 0; j < nfull; j += LANES) st16(g + j, ld16(pr + j) * (ld16(g + j) - s) * scale);
                for (int64_t j = nfull; j <= i; j++) g[j] = pr[j] * (g[j] - s) * scale;
                for (int64_t j = i + 1; j < Tp; j++) g[j] = 0.0f;
            }
        }
        /* dQ rows = dS rows . K over keys < i0 + R */
        mix_rows(dq + i0 * C3, C3, dS + i0 * Tp, Tp, 1, k, C3, dh, R, i0 + R, 1.0f);
    }
    /* dV rows j = sum_{i >= j} P_ij dZ_i;  dK rows j = sum_{i >= j} dS_ij Q_i */
    for (int64_t j0 = 0; j0 < T; j0 += ROWS) {
        const int R = T - j0 < ROWS ? (int)(T - j0) : ROWS;
        mix_rows(dv + j0 * C3, C3, P + j0 * T + j0, 1, T, dZ + j0 * d, d, dh, R, T - j0, 1.0f);
        mix_rows(dk + j0 * C3, C3, dS + j0 * Tp + j0, 1, Tp, q + j0 * C3, C3, dh, R, T - j0, 1.0f);
    }
}

void tr_attention_backward(float *dqkv, const float *dz, const float *att, const float *qkv,
                           float *scratch, int64_t B, int64_t T, int H, int d, int nt)
{
    const int dh = d / H;
    const float scale = 1.0f / sqrtf((float)dh);
    const int64_t C3 = 3 * (int64_t)d, Tp = padded(T);
    const int p = st_par_threads(nt, (double)B * H * T * T * dh * 2);
#pragma omp parallel num_threads(p)
    {
        float *dS = scratch + (int64_t)omp_get_thread_num() * (Tp * Tp + 2 * Tp * dh);
        float *vt = dS + Tp * Tp;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * H; bh++) {
            const int64_t b = bh / H;
            const int h = (int)(bh % H);
            const int64_t off = b * T * C3 + (int64_t)h * dh;
            const float *q = qkv + off;
            float *dq = dqkv + off;
            head_backward(dq, dq + d, dq + 2 * d, dz + b * T * d + (int64_t)h * dh, att + bh * T * T, q,
                          q + d, q + 2 * d, dS, vt, T, dh, C3, d, scale);
        }
    }
}
