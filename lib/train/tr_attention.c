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
 * Every product is one single-threaded sgemm on strided views of qkv; the
 * (b, h) pairs are split over the OpenMP threads and write disjoint outputs.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "model/kernels.h"
#include "train/train_internal.h"

void tr_attention_forward(float *z, float *att, const float *qkv, int64_t B, int64_t T, int H,
                          int d, int nt)
{
    const int dh = d / H;
    const float scale = 1.0f / sqrtf((float)dh);
    const int64_t C3 = 3 * (int64_t)d;
    const int p = st_par_threads(nt, (double)B * H * T * T * dh * 2);
#pragma omp parallel for num_threads(p) schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++) {
        const int64_t b = bh / H;
        const int h = (int)(bh % H);
        const float *q = qkv + b * T * C3 + (int64_t)h * dh;
        const float *k = q + d, *v = q + 2 * d;
        float *P = att + bh * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, dh, scale, q, (int)C3,
                    k, (int)C3, 0.0f, P, (int)T);
        for (int64_t i = 0; i < T; i++) {
            float *r = P + i * T;
            float mx = r[0];
            for (int64_t j = 1; j <= i; j++) mx = r[j] > mx ? r[j] : mx;
            float s = 0;
            for (int64_t j = 0; j <= i; j++) { r[j] = expf(r[j] - mx); s += r[j]; }
            const float inv = 1.0f / s;
            for (int64_t j = 0; j <= i; j++) r[j] *= inv;
            for (int64_t j = i + 1; j < T; j++) r[j] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, dh, (int)T, 1.0f, P, (int)T,
                    v, (int)C3, 0.0f, z + b * T * d + (int64_t)h * dh, d);
    }
}

void tr_attention_backward(float *dqkv, const float *dz, const float *att, const float *qkv,
                           float *scratch, int64_t B, int64_t T, int H, int d, int nt)
{
    const int dh = d / H;
    const float scale = 1.0f / sqrtf((float)dh);
    const int64_t C3 = 3 * (int64_t)d;
    const int p = st_par_threads(nt, (double)B * H * T * T * dh * 4);
#pragma omp parallel num_threads(p)
    {
        float *dP = scratch + (int64_t)omp_get_thread_num() * T * T;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * H; bh++) {
            const int64_t b = bh / H;
            const int h = (int)(bh % H);
            const int64_t off = b * T * C3 + (int64_t)h * dh;
            const float *q = qkv + off, *k = q + d, *v = q + 2 * d;
            float *dq = dqkv + off, *dk = dq + d, *dv = dq + 2 * d;
            const float *dZ = dz + b * T * d + (int64_t)h * dh;
            const float *P = att + bh * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, dh, 1.0f, dZ, d,
                        v, (int)C3, 0.0f, dP, (int)T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, dh, (int)T, 1.0f, P, (int)T,
                        dZ, d, 0.0f, dv, (int)C3);
            for (int64_t i = 0; i < T; i++) {
                const float *pr = P + i * T;
                float *r = dP + i * T;
                float s = 0;
                for (int64_t j = 0; j <= i; j++) s += pr[j] * r[j];
                for (int64_t j = 0; j <= i; j++) r[j] = pr[j] * (r[j] - s) * scale;
                for (int64_t j = i + 1; j < T; j++) r[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, dh, (int)T, 1.0f, dP, (int)T,
                        k, (int)C3, 0.0f, dq, (int)C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, dh, (int)T, 1.0f, dP, (int)T,
                        q, (int)C3, 0.0f, dk, (int)C3);
        }
    }
}
