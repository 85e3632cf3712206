/* model/kernels.c — see kernels.h. */
#include "model/kernels.h"
#include "model/packed.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/clones.h"
#include "util/fastmath.h"


/* One block of y = x . W^T + b: rows [r0, r1), output columns [c0, c1). */
static void linear_block(const st_linear *lin, const float *x, int64_t ldx, int64_t r0, int64_t r1,
                         int c0, int c1, float *y, int64_t ldy)
{
    int64_t n = r1 - r0;
    int m = c1 - c0;
    if (n <= 0 || m <= 0) return;
    const float *xr = x + r0 * ldx;
    float *yr = y + r0 * ldy + c0;
    if (lin->in_out)   /* W [in][out]: y = x . W, columns c0.. of W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, m, lin->n_in,
                    1.0f, xr, (int)ldx, lin->w + c0, lin->ld, 0.0f, yr, (int)ldy);
    else               /* W [out][in]: y = x . W^T, rows c0.. of W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, m, lin->n_in,
                    1.0f, xr, (int)ldx, lin->w + (int64_t)c0 * lin->ld, lin->ld, 0.0f, yr, (int)ldy);
    if (lin->b) {
        const float *b = lin->b + c0;
        for (int64_t i = 0; i < n; i++) {
            float *row = yr + i * ldy;
            for (int j = 0; j < m; j++) row[j] += b[j];
        }
    }
}

/* The product runs on the OpenMP threads, each calling a single-threaded
 * OpenBLAS sgemm on its block (st_forward sets OpenBLAS to one thread):
 * rows are split when there are enough of them, else output columns (in
 * multiples of 16, for the sgemm kernels).  One thread pool for everything:
 * with OpenBLAS's own pthreads beside the OpenMP pool, each pool's
 * spin-waiting threads took cores from the other (on 2 cores, 2 threads ran
 * a GPT-2 forward up to 10x slower than 1). */
void st_linear_forward(const st_linear *lin, const float *x, int64_t ldx, int64_t N,
                       float *y, int64_t ldy, int n_threads)
{
    if (N <= 0) return;
    if (lin->wtype != ST_WT_F32) {
        st_linear_forward_stored(lin, x, ldx, N, y, ldy, n_threads);
        return;
    }
    if (lin->pk && st_packed_isa() != ST_ISA_NONE) {   /* packed once (model/packed.h) */
        st_packed_product(lin->pk, lin->n_in, lin->n_out, lin->b, x, ldx, N, y, ldy, n_threads);
        return;
    }
    int nt = n_threads > 0 ? n_threads : omp_get_max_threads();
    const int n_out = lin->n_out;
    if (nt < 2 || 2.0 * N * n_out * lin->n_in < 4e6) {   /* small: not worth a fork */
        linear_block(lin, x, ldx, 0, N, 0, n_out, y, ldy);
        return;
    }
    const int split_rows = N >= 32 * (int64_t)nt;
#pragma omp parallel num_threads(nt)
    {
        int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
        if (split_rows) {
            linear_block(lin, x, ldx, N * t / T, N * (t + 1) / T, 0, n_out, y, ldy);
        } else {
            int64_t blocks = (n_out + 15) / 16;
            int64_t c0 = 16 * (blocks * t / T), c1 = 16 * (blocks * (t + 1) / T);
            linear_block(lin, x, ldx, 0, N, (int)(c0 < n_out ? c0 : n_out), (int)(c1 < n_out ? c1 : n_out),
                         y, ldy);
        }
    }
}

void st_norm_forward(int kind, const float *x, const st_norm *n, float eps, int64_t N, int d,
                     float *y, float *scale, int n_threads)
{
#pragma omp parallel for num_threads(st_par_threads(n_threads, (double)N * d)) schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        if (kind == STRATA_NORM_RMS) {
            double ss = 0;
            for (int j = 0; j < d; j++) ss += (double)xr[j] * xr[j];
            float s = (float)sqrt(ss / d + eps);
            float inv = 1.0f / s;
            const float off = n->w_offset;
            for (int j = 0; j < d; j++) yr[j] = xr[j] * inv * (n->w[j] + off);
            if (scale) scale[i] = s;
        } else {
            double mean = 0, var = 0;
            for (int j = 0; j < d; j++) mean += xr[j];
            mean /= d;
            for (int j = 0; j < d; j++) { double c = xr[j] - mean; var += c * c; }
            var /= d;
            float s = (float)sqrt(var + eps);
            float inv = 1.0f / s, mu = (float)mean;
            const float off = n->w_offset;
            for (int j = 0; j < d; j++) yr[j] = (xr[j] - mu) * inv * (n->w[j] + off) + (n->b ? n->b[j] : 0.0f);
            if (scale) scale[i] = s;
        }
    }
}

void st_rope_table(float *cs, int64_t T, int rot_dim, float base, int pos0)
{
    const int half = rot_dim / 2;
    for (int64_t t = 0; t < T; t++)
        for (int j = 0; j < half; j++) {
            float freq = 1.0f / powf(base, (float)(2 * j) / (float)rot_dim);
            float ang = (float)(pos0 + t) * freq;
            cs[(t * half + j) * 2] = cosf(ang);
            cs[(t * half + j) * 2 + 1] = sinf(ang);
        }
}

void st_rope_apply(int kind, float *x, int64_t B, int64_t T, int n_heads, int d_head, int rot_dim,
                   const float *cs, int n_threads)
{
    int half = rot_dim / 2;
    if (kind == STRATA_ROPE_NONE || half == 0) return;
#pragma omp parallel for num_threads(st_par_threads(n_threads, (double)B * T * n_heads * rot_dim)) schedule(static)
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
}

/* e^x in float32 for x in [-87, 88] (callers clamp), branch-free so that
 * loops over it vectorize (glibc's expf and tanhf do not, and tanhf made
 * gelu_new ~15-20% of a GPT-2 forward).  Cody-Waite reduction x = n ln2 + r,
 * |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (truncation < 1.5e-7
 * relative), 2^n through the exponent bits.  Max relative error ~2e-7 (about
 * 2 ulp) against exp() in double.
 * NaN (which passes the callers' clamps: comparisons with NaN are false) gives
 * NaN, defined: the exponent n comes from x clamped again here (NaN -> -87),
 * so the float -> int conversion and the shift stay in range, and the
 * polynomial of r = x - n ln2 carries the NaN. */
static inline float exp_f32_clamped(float x)
{
    const float magic = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    const float xc = x > -87.0f ? (x < 88.0f ? x : 88.0f) : -87.0f;
    float n = (xc * 1.44269504088896341f + magic) - magic;
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    int32_t e = (int32_t)((uint32_t)((int32_t)n + 127) << 23);
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

/* e[i] = 1 / (1 + exp(a[i])) for m <= ACT_BLOCK values; the clamp is its own
 * loop (in one loop with the rest, GCC keeps it as a branch and does not
 * vectorize). */
enum { ACT_BLOCK = 512 };
ST_CLONES   /* AVX-512 / AVX2 / baseline: ~8% of a GPT-2 prefill was this loop in SSE2 */
static void inv_one_plus_exp(float *a, int64_t m)
{
#pragma omp simd
    for (int64_t i = 0; i < m; i++) a[i] = a[i] < -87.0f ? -87.0f : a[i];
#pragma omp simd
    for (int64_t i = 0; i < m; i++) a[i] = a[i] > 88.0f ? 88.0f : a[i];
#pragma omp simd
    for (int64_t i = 0; i < m; i++) a[i] = 1.0f / (1.0f + exp_f32_clamped(a[i]));
}

/* gelu_new(v) = 0.5 v (1 + tanh(u)) = v / (1 + e^(-2u)),  u = sqrt(2/pi) (v + 0.044715 v^3)
 * (the same function, written with one exponential);  silu(v) = v / (1 + e^-v). */
void st_act_forward(int act, float *x, const float *up, int64_t n, int n_threads)
{
    const int nt = n_threads > 0 ? n_threads : omp_get_max_threads();
#pragma omp parallel for num_threads(n < 16 * ACT_BLOCK ? 1 : nt) schedule(static)
    for (int64_t c0 = 0; c0 < n; c0 += ACT_BLOCK) {
        int64_t m = c0 + ACT_BLOCK < n ? ACT_BLOCK : n - c0;
        float *xc = x + c0, a[ACT_BLOCK];
        switch (act) {
        case STRATA_ACT_GELU_NEW:
#pragma omp simd
            for (int64_t i = 0; i < m; i++) {
                float v = xc[i];
                a[i] = -2.0f * 0.7978845608028654f * (v + 0.044715f * v * v * v);
            }
            inv_one_plus_exp(a, m);
#pragma omp simd
            for (int64_t i = 0; i < m; i++) xc[i] *= a[i];
            break;
        case STRATA_ACT_GELU:
            for (int64_t i = 0; i < m; i++) xc[i] = 0.5f * xc[i] * (1.0f + erff(xc[i] * 0.70710678118654752f));
            break;
        case STRATA_ACT_SILU:
#pragma omp simd
            for (int64_t i = 0; i < m; i++) a[i] = -xc[i];
            inv_one_plus_exp(a, m);
#pragma omp simd
            for (int64_t i = 0; i < m; i++) xc[i] *= a[i];
            break;
        default:
            for (int64_t i = 0; i < m; i++) xc[i] = xc[i] > 0 ? xc[i] : 0.0f;
            break;
        }
        if (up) {
            const float *uc = up + c0;
#pragma omp simd
            for (int64_t i = 0; i < m; i++) xc[i] *= uc[i];
        }
    }
}

/* Softmax of s[0..n) in place, max-subtracted.  Entries more than 87 below
 * the row's max (e^-87 < 2e-38: -inf for masked keys) become exactly 0; the
 * rest use exp_f32_clamped.  A row whose entries are all -inf becomes all
 * zeros.  The sum runs in 16 float lanes by index (element j to lane
 * j % 16, in order of j), then the lanes in double: vectorised, the same
 * bits wherever the row lies in memory, and trailing zeros (masked keys)
 * change nothing -- the fused, materialised, prefix and whole-row paths rely
 * on both.  Three passes: max, exp + sum, scale.
 * ent (may be NULL) gets the row's entropy -sum p ln p (nats) at one more
 * FMA per entry: with x_j = s_j - max, e_j = exp(x_j), Z = sum e_j,
 * ln p_j = x_j - ln Z, so  H = ln Z - (sum e_j x_j) / Z  (0 for an all -inf row). */
enum { SM_LANES = 16 };
ST_CLONES
static void softmax_row(float *s, int64_t n, float *ent)
{
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    if (mx == -INFINITY) {   /* all -inf (masked): zeros; any NaN: all NaN */
        int nan = 0;
        for (int64_t j = 0; j < n; j++) nan |= s[j] != s[j];
        for (int64_t j = 0; j < n; j++) s[j] = nan ? NAN : 0.0f;
        if (ent) *ent = nan ? NAN : 0.0f;
        return;
    }
    float lane[SM_LANES] = { 0 }, xlane[SM_LANES] = { 0 };
    int64_t j = 0;
    if (ent) {
        for (; j + SM_LANES <= n; j += SM_LANES) {
#pragma omp simd
            for (int i = 0; i < SM_LANES; i++) {
                const float x = s[j + i] - mx, c = x < -87.0f ? -87.0f : x;
                const float ex = exp_f32_clamped(c);   /* unconditionally: vectorises */
                const float e = x < -87.0f ? 0.0f : ex;
                s[j + i] = e;
                lane[i] += e;
                xlane[i] += e * c;
            }
        }
    } else {
        for (; j + SM_LANES <= n; j += SM_LANES) {
#pragma omp simd
            for (int i = 0; i < SM_LANES; i++) {
                const float x = s[j + i] - mx;
                const float e = exp_f32_clamped(x < -87.0f ? -87.0f : x);
                s[j + i] = x < -87.0f ? 0.0f : e;
                lane[i] += s[j + i];
            }
        }
    }
    if (j < n) {   /* the tail, lanes by index too, as one masked step (adds +-0 elsewhere) */
#pragma omp simd
        for (int i = 0; i < SM_LANES; i++) {
            const int in = j + i < n;
            const float x = (in ? s[j + i] : mx) - mx, c = x < -87.0f ? -87.0f : x;
            const float ex = exp_f32_clamped(c);
            const float e = in && !(x < -87.0f) ? ex : 0.0f;
            if (in) s[j + i] = e;
            lane[i] += e;
            xlane[i] += e * c;
        }
    }
    double sum = 0, xsum = 0;
    for (int i = 0; i < SM_LANES; i++) { sum += lane[i]; xsum += xlane[i]; }
    const float inv = (float)(1.0 / sum);
#pragma omp simd
    for (int64_t k = 0; k < n; k++) s[k] *= inv;
    if (ent) {
        const double h = (double)st_fast_ln((float)sum) - xsum / sum;   /* |error| < 3e-7 */
        *ent = h > 0 ? (float)h : 0.0f;   /* round-off can dip below 0 for a one-hot row */
    }
}

/* Attention through sgemm, per (sequence b, head h, block of query rows):
 *   S [rows][nk] = scale * Q_bh[rows] . K_bh[0..nk)^T     (one sgemm)
 *   causal mask + softmax per row
 *   Z_bh[rows]   = S . V_bh[0..nk)                         (one sgemm)
 * Each OpenMP thread runs its own single-threaded sgemm calls.  The fused
 * path takes query rows in blocks of ATT_QB and only the keys the block can
 * see (nk = pos0 + last row + 1), so the causal half is mostly skipped.
 * (Replaces per-row dot-product loops that took ~37% of a 1 x 512 GPT-2
 * forward, 4x the time of the same work in sgemm.) */
enum { ATT_QB = 64 };

st_attn_plan st_attn_plan_slices(int64_t B, int64_t T, int H, int64_t Tk, int64_t budget)
{
    st_attn_plan p = { B, H, T };
    const int64_t head = T * Tk;   /* floats of one head of one sequence */
    if (budget <= 0 || B * H * head <= budget) return p;
    if (H * head <= budget) {
        p.nb = budget / (H * head);
        return p;
    }
    p.nb = 1;
    if (head <= budget) {
        p.nh = (int)(budget / head);
        return p;
    }
    p.nh = 1;
    int64_t rows = budget / Tk / ATT_QB * ATT_QB;   /* whole ATT_QB blocks: same sgemm calls */
    p.nq = rows < ATT_QB ? ATT_QB : rows;
    if (p.nq > T) p.nq = T;
    return p;
}

/* 1 if some x[0..n) is not +-0 (a branch-free OR over the bits: vectorises). */
static int any_nonzero(const float *x, int64_t n)
{
    uint32_t acc = 0;
#pragma omp simd reduction(| : acc)
    for (int64_t j = 0; j < n; j++) {
        uint32_t u;
        memcpy(&u, &x[j], sizeof u);
        acc |= u & 0x7fffffffu;
    }
    return acc != 0;
}

/* Scores -> between(0) -> softmax -> between(1) -> mix for one slice:
 * P = sl->p [nb][nh][nq][Tk], row (b, h, t) of the whole tensor at
 * ((b-b0)*nh + h-h0)*nq + t-q0.  Query rows go in ATT_QB blocks from q0 (a
 * multiple of ATT_QB), with the same sgemm calls as the fused path, so
 * hooking a pattern (and leaving it alone) changes no result, not even in
 * the last bit, whatever the slicing. */
typedef struct slice_job {
    const st_attn_slice *sl;
    const st_attn_io *io;
    const float *q, *k, *v;
    float *z;
    const int32_t *lengths;
    int64_t kv_bstride, T, Tk, kvrow, qrow, nqb;
    int group, dh, pos0;
    float scale, softcap;
    int32_t window;
} slice_job;

/* Query block u = ((bb * nh) + hh) * nqb + qb of the slice: rows [t0, t1),
 * of which [t0, tv) are real; P points at row t0 of the slice. */
typedef struct slice_block { int64_t b, h, t0, t1, tv; float *P; } slice_block;

static slice_block block_of(const slice_job *j, int64_t u)
{
    const st_attn_slice *sl = j->sl;
    const int64_t bb = u / (sl->nh * j->nqb), hh = u / j->nqb % sl->nh, qb = u % j->nqb;
    slice_block k;
    k.b = sl->b0 + bb;
    k.h = sl->h0 + hh;
    k.t0 = sl->q0 + qb * ATT_QB;
    k.t1 = k.t0 + ATT_QB < sl->q0 + sl->nq ? k.t0 + ATT_QB : sl->q0 + sl->nq;
    const int64_t len = j->lengths[k.b];
    k.tv = k.t1 < len ? k.t1 : (len > k.t0 ? len : k.t0);
    k.P = sl->p + ((bb * sl->nh + hh) * sl->nq + k.t0 - sl->q0) * j->Tk;   /* row t at P + (t-t0)*Tk */
    return k;
}

/* First key a query at absolute position pos may see (0 without a window). */
static inline int64_t window_lo(int64_t pos, int32_t window)
{
    return window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
}

/* One row of raw scores s[0..see) (keys up to the query's own): the soft
 * cap on the visible keys [lo, see) and -inf on keys before the window. */
static void cap_and_window(float *s, int64_t lo, int64_t see, float softcap)
{
    if (softcap > 0) {
        const float inv = 1.0f / softcap;
        for (int64_t c = lo; c < see; c++) s[c] = softcap * tanhf(s[c] * inv);
    }
    for (int64_t c = 0; c < lo; c++) s[c] = -INFINITY;
}

/* Scores of one block (and the causal mask when a scores hook looks). */
static void job_scores(const slice_job *j, int64_t u)
{
    const slice_block k = block_of(j, u);
    if (k.tv > k.t0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(k.tv - k.t0), (int)(j->pos0 + k.tv), j->dh,
                    j->scale, j->q + (k.b * j->T + k.t0) * j->qrow + k.h * j->dh, (int)j->qrow,
                    j->k + k.b * j->kv_bstride + (k.h / j->group) * j->dh, (int)j->kvrow, 0.0f, k.P,
                    (int)j->Tk);
    if (j->softcap > 0 || j->window > 0)
        for (int64_t t = k.t0; t < k.tv; t++)
            cap_and_window(k.P + (t - k.t0) * j->Tk, window_lo(j->pos0 + t, j->window), j->pos0 + t + 1,
                           j->softcap);
    if (j->io->scores_hooked)   /* causal mask; padding rows fully masked */
        for (int64_t t = k.t0; t < k.t1; t++) {
            const int64_t see = t < k.tv ? j->pos0 + t + 1 : 0;
            for (int64_t c = see; c < j->Tk; c++) k.P[(t - k.t0) * j->Tk + c] = -INFINITY;
        }
}

/* Softmax of the rows of block u (see block_of): indices by increment, no
 * division per row. */
static void job_softmax(const slice_job *j, int64_t u)
{
    const slice_block k = block_of(j, u);
    const st_attn_slice *sl = j->sl;
    const st_attn_io *io = j->io;
    const int64_t Tk = j->Tk, r0 = (k.P - sl->p) / Tk;   /* slice row of t0 */
    int32_t *zf = io->zero_from ? io->zero_from + (k.P - io->probs) / Tk : NULL;
    for (int64_t t = k.t0; t < k.t1; t++) {
        const int64_t i = t - k.t0;
        float *row = k.P + i * Tk, *ent = sl->ent ? sl->ent + r0 + i : NULL;
        if (io->scores_hooked) {   /* a hook may have rewritten masked scores: whole row */
            softmax_row(row, Tk, ent);
            if (zf) zf[i] = (int32_t)Tk;
            continue;
        }
        /* Only the visible prefix: masked entries would come out as exact
         * zeros and add 0 to the sum, so this equals the whole-row softmax bit
         * for bit, at half the work and without writing the -inf. */
        const int64_t see = t < k.tv ? j->pos0 + t + 1 : 0;
        if (see) softmax_row(row, see, ent);
        else if (ent) *ent = 0.0f;
        /* zeros on [see, Tk).  With zero_from, only where they may be missing:
         * up to what the scores sgemm wrote (the block's keys [0, pos0 + tv))
         * or what was there before (not zero from zf[i] on). */
        int64_t dirty = Tk;
        if (zf) {
            const int64_t written = t < k.tv ? j->pos0 + k.tv : 0;
            dirty = zf[i] > written ? zf[i] : written;
            zf[i] = (int32_t)see;
        }
        if (dirty > see) memset(row + see, 0, sizeof(float) * (size_t)(dirty - see));
    }
}

/* z of one block = P . V (plus weight a hook put on keys no query of the
 * block may see; read-only hooks put none). */
static void job_mix(const slice_job *j, int64_t u)
{
    const slice_block k = block_of(j, u);
    const int64_t Tk = j->Tk, kvrow = j->kvrow, qrow = j->qrow;
    const float *vb = j->v + k.b * j->kv_bstride + (k.h / j->group) * j->dh;
    float *zb = j->z + (k.b * j->T + k.t0) * qrow + k.h * j->dh;
    if (k.tv > k.t0) {
        const int64_t nk = j->pos0 + k.tv;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(k.tv - k.t0), j->dh, (int)nk, 1.0f,
                    k.P, (int)Tk, vb, (int)kvrow, 0.0f, zb, (int)qrow);
        for (int64_t t = k.t0; t < k.tv && !j->io->pattern_readonly; t++)
            if (any_nonzero(k.P + (t - k.t0) * Tk + nk, Tk - nk))
                for (int64_t c = nk; c < Tk; c++) {
                    float w = k.P[(t - k.t0) * Tk + c];
                    if (w == 0.0f) continue;
                    for (int e = 0; e < j->dh; e++) zb[(t - k.t0) * qrow + e] += w * vb[c * kvrow + e];
                }
    }
    for (int64_t t = k.tv > k.t0 ? k.tv : k.t0; t < k.t1; t++)   /* padding rows: zeros */
        memset(zb + (t - k.t0) * qrow, 0, sizeof(float) * j->dh);
}

/* fn(j, 0..n-1) on nt threads; a plain loop on one (a slice is small and
 * there are many: an OpenMP region per phase cost ~1 us each). */
static void run_units(void (*fn)(const slice_job *, int64_t), const slice_job *j, int64_t n,
                      int nt, int64_t chunk)
{
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, chunk)
        for (int64_t u = 0; u < n; u++) fn(j, u);
    } else {
        for (int64_t u = 0; u < n; u++) fn(j, u);
    }
}

static slice_job make_job(const st_attn_slice *sl, const st_attn_io *io, const float *q,
                          const float *k, const float *v, int64_t kv_bstride, int64_t T, int H,
                          int Hkv, int dh, int pos0, const int32_t *lengths, float *z,
                          const st_attn_params *ap)
{
    const slice_job j = {
        .sl = sl, .io = io, .q = q, .k = k, .v = v, .z = z, .lengths = lengths,
        .kv_bstride = kv_bstride, .T = T, .Tk = pos0 + T, .kvrow = (int64_t)Hkv * dh,
        .qrow = (int64_t)H * dh, .nqb = (sl->nq + ATT_QB - 1) / ATT_QB, .group = H / Hkv,
        .dh = dh, .pos0 = pos0, .scale = ap->scale, .softcap = ap->softcap, .window = ap->window,
    };
    return j;
}

/* Slice si of the plan (si = (ib * n_h + ih) * n_q + iq), in buffers p/ent. */
static st_attn_slice slice_at(const st_attn_plan *plan, int64_t si, int64_t n_h, int64_t n_q,
                              int64_t B, int H, int64_t T, float *p, float *ent)
{
    const int64_t b0 = si / (n_h * n_q) * plan->nb, q0 = si % n_q * plan->nq;
    const int h0 = (int)(si / n_q % n_h) * plan->nh;
    st_attn_slice sl = { b0, B - b0 < plan->nb ? B - b0 : plan->nb, h0,
                         H - h0 < plan->nh ? H - h0 : plan->nh, q0,
                         T - q0 < plan->nq ? T - q0 : plan->nq, p, ent };
    return sl;
}

/* No zero is known any more in the slice's rows (a hook that may write has
 * seen them, or a stopped run left scores there). */
static void forget_zeros(const st_attn_slice *sl, const st_attn_io *io, int64_t Tk)
{
    if (!io->zero_from) return;
    int32_t *zf = io->zero_from + (sl->p - io->probs) / Tk;
    for (int64_t r = 0; r < sl->nb * sl->nh * sl->nq; r++) zf[r] = (int32_t)Tk;
}

static int attn_slice(const st_attn_slice *sl, const float *q, const float *k, const float *v,
                      int64_t kv_bstride, int64_t T, int H, int Hkv, int dh, int pos0,
                      const int32_t *lengths, float *z, const st_attn_params *ap,
                      const st_attn_io *io, int n_threads)
{
    const int64_t Tk = pos0 + T;
    const slice_job j = make_job(sl, io, q, k, v, kv_bstride, T, H, Hkv, dh, pos0, lengths, z, ap);
    const int64_t blocks = sl->nb * sl->nh * j.nqb, rows = sl->nb * sl->nh * sl->nq;
    const int nt = st_par_threads(n_threads, (double)rows * Tk * (2.0 * dh + 4));
    run_units(job_scores, &j, blocks, nt, 1);
    int rc = io->between ? io->between(io->cb_ctx, 0, sl) : 0;
    if (rc) {   /* stopped: the rows hold scores now */
        forget_zeros(sl, io, Tk);
        return rc;
    }
    run_units(job_softmax, &j, blocks, nt, 1);
    rc = io->between ? io->between(io->cb_ctx, 1, sl) : 0;
    if (!io->pattern_readonly) forget_zeros(sl, io, Tk);
    if (rc) return rc;
    run_units(job_mix, &j, blocks, nt, 1);
    return 0;
}

int st_attention(const float *q, const float *k, const float *v, int64_t kv_bstride,
                 int64_t B, int64_t T, int H, int Hkv, int dh, int pos0, const int32_t *lengths,
                 float *z, const st_attn_params *ap_in, const st_attn_io *io, int n_threads)
{
    const int group = H / Hkv;
    const int64_t Tk = pos0 + T, kvrow = (int64_t)Hkv * dh, qrow = (int64_t)H * dh;
    st_attn_params apv = { 0.0f, 0.0f, 0 };
    if (ap_in) apv = *ap_in;
    if (!(apv.scale > 0)) apv.scale = 1.0f / sqrtf((float)dh);
    const st_attn_params *ap = &apv;
    const float scale = ap->scale;
    int nomem = 0;
    /* element operations of one attention pass: scores, softmax and mix */
    const int nt = st_par_threads(n_threads, (double)B * H * T * Tk * (2.0 * dh + 4));
    if (!io) {
        const int64_t nqb = (T + ATT_QB - 1) / ATT_QB;
#pragma omp parallel num_threads(nt) reduction(|:nomem)
        {
            float *S = malloc(sizeof(float) * (size_t)ATT_QB * Tk);
            nomem |= !S;
#pragma omp for collapse(3) schedule(dynamic)
            for (int64_t b = 0; b < B; b++)
                for (int h = 0; h < H; h++)
                    for (int64_t qb = 0; qb < nqb; qb++) {
                        const int64_t t0 = qb * ATT_QB, t1 = t0 + ATT_QB < T ? t0 + ATT_QB : T;
                        const int64_t tv = t1 < lengths[b] ? t1 : (lengths[b] > t0 ? lengths[b] : t0);
                        float *zb = z + (b * T + t0) * qrow + (int64_t)h * dh;
                        if (tv > t0 && S) {
                            const int64_t nr = tv - t0, nk = pos0 + tv;
                            const float *kb = k + b * kv_bstride + (int64_t)(h / group) * dh;
                            const float *vb = v + b * kv_bstride + (int64_t)(h / group) * dh;
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)nk, dh, scale,
                                        q + (b * T + t0) * qrow + (int64_t)h * dh, (int)qrow, kb, (int)kvrow,
                                        0.0f, S, (int)nk);
                            for (int64_t r = 0; r < nr; r++) {   /* causal: keys < see */
                                float *sr = S + r * nk;
                                const int64_t see = pos0 + t0 + r + 1;
                                if (ap->softcap > 0 || ap->window > 0)
                                    cap_and_window(sr, window_lo(see - 1, ap->window), see, ap->softcap);
                                /* the visible prefix only: bit for bit the softmax of
                                 * the row with -inf on masked keys (they give 0) */
                                softmax_row(sr, see, NULL);
                                memset(sr + see, 0, sizeof(float) * (size_t)(nk - see));
                            }
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, dh, (int)nk, 1.0f,
                                        S, (int)nk, vb, (int)kvrow, 0.0f, zb, (int)qrow);
                        }
                        for (int64_t t = tv > t0 ? tv : t0; t < t1; t++)   /* padding rows: zeros */
                            memset(zb + (t - t0) * qrow, 0, sizeof(float) * dh);
                    }
            free(S);
        }
        return nomem ? STRATA_ERR_NOMEM : 0;
    }
    /* Materialised path: slices (plan: the whole tensor or cache-sized
     * blocks) in order of batch row, head, query row. */
    const st_attn_plan plan = io->plan;
    const int64_t n_b = (B + plan.nb - 1) / plan.nb, n_h = (H + plan.nh - 1) / plan.nh;
    const int64_t n_q = (T + plan.nq - 1) / plan.nq, n_sl = n_b * n_h * n_q;
    int ntc = io->regions < nt ? io->regions : nt;
    if (io->scores_hooked || n_sl < 2) ntc = 1;
    if (ntc > n_sl) ntc = (int)n_sl;
    if (ntc <= 1) {   /* one slice after the other, threads inside each */
        for (int64_t si = 0; si < n_sl; si++) {
            st_attn_slice sl = slice_at(&plan, si, n_h, n_q, B, H, T, io->probs, io->ent);
            int rc = attn_slice(&sl, q, k, v, kv_bstride, T, H, Hkv, dh, pos0, lengths, z, ap, io,
                                n_threads);
            if (rc) return rc;
        }
        return 0;
    }
    /* Several slices at once, one per thread in its own region of probs/ent;
     * the pattern hooks run in slice order, one at a time (omp ordered), while
     * the other threads compute their next slices.  (Scores hooks would need a
     * second ordered step: that case takes the path above.) */
    const int64_t region = plan.nb * plan.nh * plan.nq;   /* rows of one slice */
    int rc = 0, stop = 0;
#pragma omp parallel num_threads(ntc)
    {
        const int tid = omp_get_thread_num();
        float *p = io->probs + (int64_t)tid * region * Tk;
        float *ent = io->ent ? io->ent + (int64_t)tid * region : NULL;
#pragma omp for ordered schedule(dynamic, 1)
        for (int64_t si = 0; si < n_sl; si++) {
            st_attn_slice sl = slice_at(&plan, si, n_h, n_q, B, H, T, p, ent);
            const slice_job j = make_job(&sl, io, q, k, v, kv_bstride, T, H, Hkv, dh, pos0, lengths, z, ap);
            const int64_t blocks = sl.nb * sl.nh * j.nqb;
            int stopped;
#pragma omp atomic read
            stopped = stop;
            if (!stopped) {
                run_units(job_scores, &j, blocks, 1, 1);
                run_units(job_softmax, &j, blocks, 1, 1);
            }
#pragma omp ordered
            {
                if (!stop) {
                    int r = io->between ? io->between(io->cb_ctx, 1, &sl) : 0;
                    if (!io->pattern_readonly) forget_zeros(&sl, io, Tk);
                    if (r) {
                        rc = r;
#pragma omp atomic write
                        stop = 1;
                    }
                }
            }
#pragma omp atomic read
            stopped = stop;
            if (!stopped) run_units(job_mix, &j, blocks, 1, 1);
        }
    }
    return rc;
}

int32_t st_argmax(const float *x, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return (int32_t)best;
}
