/* model/kernels.c — see kernels.h. */
#include "model/kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NT(n) num_threads((n) > 0 ? (n) : omp_get_max_threads())
#include <omp.h>

void st_linear_forward(const st_linear *lin, const float *x, int64_t ldx, int64_t N,
                       float *y, int64_t ldy, int n_threads)
{
    if (N <= 0) return;
    if (lin->in_out)   /* W [in][out]: y = x . W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, lin->n_out, lin->n_in,
                    1.0f, x, (int)ldx, lin->w, lin->ld, 0.0f, y, (int)ldy);
    else               /* W [out][in]: y = x . W^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, lin->n_out, lin->n_in,
                    1.0f, x, (int)ldx, lin->w, lin->ld, 0.0f, y, (int)ldy);
    if (lin->b) {
        const float *b = lin->b;
        int n_out = lin->n_out;
#pragma omp parallel for NT(n_threads) schedule(static)
        for (int64_t i = 0; i < N; i++) {
            float *row = y + i * ldy;
            for (int j = 0; j < n_out; j++) row[j] += b[j];
        }
    }
}

void st_norm_forward(int kind, const float *x, const st_norm *n, float eps, int64_t N, int d,
                     float *y, float *scale, int n_threads)
{
#pragma omp parallel for NT(n_threads) schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        if (kind == STRATA_NORM_RMS) {
            double ss = 0;
            for (int j = 0; j < d; j++) ss += (double)xr[j] * xr[j];
            float s = (float)sqrt(ss / d + eps);
            float inv = 1.0f / s;
            for (int j = 0; j < d; j++) yr[j] = xr[j] * inv * n->w[j];
            if (scale) scale[i] = s;
        } else {
            double mean = 0, var = 0;
            for (int j = 0; j < d; j++) mean += xr[j];
            mean /= d;
            for (int j = 0; j < d; j++) { double c = xr[j] - mean; var += c * c; }
            var /= d;
            float s = (float)sqrt(var + eps);
            float inv = 1.0f / s, mu = (float)mean;
            for (int j = 0; j < d; j++) yr[j] = (xr[j] - mu) * inv * n->w[j] + (n->b ? n->b[j] : 0.0f);
            if (scale) scale[i] = s;
        }
    }
}

void st_rope_apply(int kind, float *x, int64_t B, int64_t T, int n_heads, int d_head, int rot_dim,
                   float base, int pos0, int n_threads)
{
    int half = rot_dim / 2;
    if (kind == STRATA_ROPE_NONE || half == 0) return;
    /* cos/sin table [T][half] */
    float *cs = malloc(sizeof(float) * 2 * (size_t)T * half);
    if (!cs) return; /* cannot happen for sane sizes; caller sized buffers already */
    for (int64_t t = 0; t < T; t++)
        for (int j = 0; j < half; j++) {
            float freq = 1.0f / powf(base, (float)(2 * j) / (float)rot_dim);
            float ang = (float)(pos0 + t) * freq;
            cs[(t * half + j) * 2] = cosf(ang);
            cs[(t * half + j) * 2 + 1] = sinf(ang);
        }
#pragma omp parallel for NT(n_threads) schedule(static)
    for (int64_t bt = 0; bt < B * T; bt++) {
        int64_t t = bt % T;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (bt * n_heads + h) * d_head;
            for (int j = 0; j < half; j++) {
                float c = cs[(t * half + j) * 2], s = cs[(t * half + j) * 2 + 1];
                int i0 = kind == STRATA_ROPE_HALF ? j : 2 * j;
                int i1 = kind == STRATA_ROPE_HALF ? j + half : 2 * j + 1;
                float a = v[i0], b = v[i1];
                v[i0] = a * c - b * s;
                v[i1] = a * s + b * c;
            }
        }
    }
    free(cs);
}

void st_act_forward(int act, float *x, const float *up, int64_t n, int n_threads)
{
#pragma omp parallel for NT(n_threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], r;
        switch (act) {
        case STRATA_ACT_GELU_NEW:
            r = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
            break;
        case STRATA_ACT_GELU: r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
        case STRATA_ACT_SILU: r = v / (1.0f + expf(-v)); break;
        default: r = v > 0 ? v : 0; break;
        }
        x[i] = up ? r * up[i] : r;
    }
}

/* One query row: scores s[j] = scale * q.k_j for j < nk. */
static void score_row(const float *q, const float *kb, int64_t kstride, int dh, int nk, float scale,
                      float *s)
{
    for (int j = 0; j < nk; j++) {
        const float *kr = kb + j * kstride;
        float acc = 0;
#pragma omp simd reduction(+:acc)
        for (int c = 0; c < dh; c++) acc += q[c] * kr[c];
        s[j] = acc * scale;
    }
}

static void softmax_row(float *s, int nk)
{
    float mx = -INFINITY;
    for (int j = 0; j < nk; j++) if (s[j] > mx) mx = s[j];
    float sum = 0;
    if (mx == -INFINITY) { for (int j = 0; j < nk; j++) s[j] = 0; return; }
    for (int j = 0; j < nk; j++) { s[j] = expf(s[j] - mx); sum += s[j]; }
    float inv = 1.0f / sum;
    for (int j = 0; j < nk; j++) s[j] *= inv;
}

static void mix_row(const float *p, const float *vb, int64_t vstride, int dh, int nk, float *z)
{
    for (int c = 0; c < dh; c++) z[c] = 0;
    for (int j = 0; j < nk; j++) {
        float w = p[j];
        if (w == 0.0f) continue;
        const float *vr = vb + j * vstride;
#pragma omp simd
        for (int c = 0; c < dh; c++) z[c] += w * vr[c];
    }
}

int st_attention(const float *q, const float *k, const float *v, int64_t kv_bstride,
                 int64_t B, int64_t T, int H, int Hkv, int dh, int pos0, const int32_t *lengths,
                 float *z, float *probs, st_attn_cb between, void *cb_ctx, int n_threads)
{
    const int group = H / Hkv;
    const int64_t Tk = pos0 + T, kvrow = (int64_t)Hkv * dh, qrow = (int64_t)H * dh;
    const float scale = 1.0f / sqrtf((float)dh);
    if (!probs) {
#pragma omp parallel NT(n_threads)
        {
            float *s = malloc(sizeof(float) * (size_t)Tk);
#pragma omp for collapse(2) schedule(dynamic)
            for (int64_t b = 0; b < B; b++)
                for (int h = 0; h < H; h++) {
                    const float *kb = k + b * kv_bstride + (h / group) * dh;
                    const float *vb = v + b * kv_bstride + (h / group) * dh;
                    for (int64_t t = 0; t < T; t++) {
                        float *zr = z + (b * T + t) * qrow + (int64_t)h * dh;
                        if (t >= lengths[b] || !s) { memset(zr, 0, sizeof(float) * dh); continue; }
                        int nk = (int)(pos0 + t + 1);
                        score_row(q + (b * T + t) * qrow + (int64_t)h * dh, kb, kvrow, dh, nk, scale, s);
                        softmax_row(s, nk);
                        mix_row(s, vb, kvrow, dh, nk, zr);
                    }
                }
            free(s);
        }
        return 0;
    }
    /* Materialised path: scores -> hook -> softmax -> hook -> mix. */
#pragma omp parallel for collapse(2) NT(n_threads) schedule(dynamic)
    for (int64_t b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *kb = k + b * kv_bstride + (h / group) * dh;
            for (int64_t t = 0; t < T; t++) {
                float *s = probs + ((b * H + h) * T + t) * Tk;
                int nk = t < lengths[b] ? (int)(pos0 + t + 1) : 0;
                score_row(q + (b * T + t) * qrow + (int64_t)h * dh, kb, kvrow, dh, nk, scale, s);
                for (int64_t j = nk; j < Tk; j++) s[j] = -INFINITY;
            }
        }
    int rc = between ? between(cb_ctx, 0) : 0;
    if (rc) return rc;
#pragma omp parallel for NT(n_threads) schedule(static)
    for (int64_t r = 0; r < B * H * T; r++) softmax_row(probs + r * Tk, (int)Tk);
    rc = between ? between(cb_ctx, 1) : 0;
    if (rc) return rc;
#pragma omp parallel for collapse(2) NT(n_threads) schedule(dynamic)
    for (int64_t b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *vb = v + b * kv_bstride + (h / group) * dh;
            for (int64_t t = 0; t < T; t++) {
                float *zr = z + (b * T + t) * qrow + (int64_t)h * dh;
                if (t >= lengths[b]) { memset(zr, 0, sizeof(float) * dh); continue; }
                mix_row(probs + ((b * H + h) * T + t) * Tk, vb, kvrow, dh, (int)Tk, zr);
            }
        }
    return 0;
}

int32_t st_argmax(const float *x, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return (int32_t)best;
}
