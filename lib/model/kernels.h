/* model/kernels.h — shared transformer blocks used by every architecture
 * (internal).  Arrays are row-major; N = number of token rows (B*T).
 *
 * Defines: st_linear_forward (sgemm + bias), st_norm_forward (LayerNorm /
 * RMSNorm), st_rope_apply, st_act_forward, st_attention (causal, GQA,
 * optional score/pattern materialisation), st_argmax.
 */
#ifndef STRATA_MODEL_KERNELS_H
#define STRATA_MODEL_KERNELS_H

#include <omp.h>
#include <stdint.h>
#include "model/model_internal.h"
#include "util/par_threads.h"   /* st_par_threads */

/* y[N][ldy] (first n_out columns) = x[N][ldx] . W^T + b.  Products under
 * ~4 MFLOP are one sgemm on the calling thread; larger ones are split over
 * the OpenMP threads (by rows when N >= 32 per thread, else by output
 * columns in multiples of 16), each calling single-threaded sgemm (the
 * forward sets OpenBLAS to one thread: one thread pool, see ARCHITECTURE). */
void st_linear_forward(const st_linear *lin, const float *x, int64_t ldx, int64_t N,
                       float *y, int64_t ldy, int n_threads);

/* As st_linear_forward for a weight kept in stored type (lin->wtype F16,
 * BF16 or Q8_0, in_out == 0): converted to float32 in tiles inside the
 * product (model/wstored.c). */
void st_linear_forward_stored(const st_linear *lin, const float *x, int64_t ldx, int64_t N, float *y,
                              int64_t ldy, int n_threads);
/* dst[n] = float32 of elements [e0, e0 + n) of stored array q of type wtype. */
void st_wt_to_f32(int wtype, const void *q, int64_t e0, int64_t n, float *dst);

/* y[N][d] = norm(x[N][d]) * w (+ b);  scale[N] (may be NULL) receives the divisor.
 *   LayerNorm: (x - mean) / sqrt(var + eps), var biased (torch.nn.LayerNorm)
 *   RMSNorm:   x / sqrt(mean(x^2) + eps)                 (Llama)
 * with gain w + n->w_offset (Gemma stores w and multiplies by 1 + w).
 * Sums accumulate in double. */
void st_norm_forward(int kind, const float *x, const st_norm *n, float eps, int64_t N, int d,
                     float *y, float *scale, int n_threads);

/* cs[T][rot_dim/2][2] = cos, sin of (pos0 + t) * theta_j, theta_j = base^(-2j/rot_dim).
 * Angles are computed in float32 as HF and llama2.c do.  One table per run. */
void st_rope_table(float *cs, int64_t T, int rot_dim, float base, int pos0);

/* Rotates x[B][T][n_heads][d_head] in place with the table cs of
 * st_rope_table (row t = position pos0 + t).  Only the first rot_dim dims of
 * each head rotate:
 *   STRATA_ROPE_HALF        pairs (j, j + rot_dim/2)   (HF rotate_half)
 *   STRATA_ROPE_INTERLEAVED pairs (2j, 2j + 1)         (Meta / GGUF llama) */
void st_rope_apply(int kind, float *x, int64_t B, int64_t T, int n_heads, int d_head, int rot_dim,
                   const float *cs, int n_threads);

/* In place on x[n]:  gelu_new 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))), gelu 0.5x(1+erf(x/sqrt2)),
 * silu x/(1+e^-x), relu.  With up != NULL: x = act(x) * up (gated MLP). */
void st_act_forward(int act, float *x, const float *up, int64_t n, int n_threads);

/* Causal multi-head attention with grouped-query sharing (query head h uses
 * kv head h / (H/Hkv)).
 *   q       [B][T][H][dh]          queries at absolute positions pos0 + t
 *   k, v    [B][*][Hkv][dh]        keys/values for absolute positions 0..,
 *                                  batch stride kv_bstride elements
 *   lengths [B]                    valid queries per sequence
 *   z       [B][T][H][dh]          output (zeros for t >= lengths[b])
 *   io      NULL: a fused kernel, no scores or pattern leave the cache.
 *           Else io->probs has room for one slice [nb][nh][nq][Tk] of the
 *           [B][H][T][Tk] scores (Tk = pos0 + T; extent io->plan, the whole
 *           tensor or cache-sized); slices go in order of batch row, head,
 *           query row, and for each io->between runs after the scores
 *           (phase 0) and after the softmax (phase 1), i.e. the hooks (one
 *           call at a time, in slice order, maybe from an OpenMP thread).  With
 *           scores_hooked the scores are complete (-inf where masked) and
 *           softmax reads whole rows; without, masked entries are left
 *           unwritten until the softmax writes the pattern (0 where masked)
 *           from each row's visible prefix.
 * Scores are s = scale * q.k (scale = 1/sqrt(dh) by default), then
 * s = softcap * tanh(s / softcap) when softcap > 0 (Gemma-2), then masked:
 * query at absolute position i sees keys j <= i, and with window > 0 only
 * i - window < j <= i (Mistral / Gemma-2 sliding window, GPT-Neo local
 * attention: the window counts the query's own key).  Softmax is
 * max-subtracted.  ap == NULL: the defaults (1/sqrt(dh), no cap, no window).
 * Returns the first non-zero status of `between`. */
typedef struct st_attn_plan {
    int64_t nb;   /* batch rows per slice (> 1 only when nh = H and nq = T) */
    int nh;       /* heads per slice (< H only when nb = 1) */
    int64_t nq;   /* query rows per slice (< T only when nb = nh = 1; a multiple of 64) */
} st_attn_plan;
/* One slice: batch rows [b0, b0+nb), heads [h0, h0+nh), query rows [q0, q0+nq). */
typedef struct st_attn_slice {
    int64_t b0, nb;
    int h0, nh;
    int64_t q0, nq;
    float *p;     /* [nb][nh][nq][Tk] */
    float *ent;   /* [nb][nh][nq] entropy of each pattern row (nats), or NULL */
} st_attn_slice;
/* Slice extent of at most `budget` floats (at least one block of 64 query
 * rows of one head); budget <= 0: the whole tensor as one slice. */
st_attn_plan st_attn_plan_slices(int64_t B, int64_t T, int H, int64_t Tk, int64_t budget);
typedef int (*st_attn_cb)(void *ctx, int phase /* 0 scores, 1 pattern */, const st_attn_slice *sl);
/* What the materialised path exposes, and to whom. */
typedef struct st_attn_io {
    float *probs;           /* one slice of scores/pattern */
    float *ent;             /* one slice of row entropies, or NULL (not computed) */
    st_attn_plan plan;
    int scores_hooked;      /* scores must be complete (-inf where masked) for a hook */
    int pattern_readonly;   /* no hook writes scores or pattern: skip looking for
                               weight on keys a query may not see */
    int32_t *zero_from;     /* NULL, or per row of the probs buffer (row r at
                               probs + r*Tk): the row is 0 from this column on,
                               left so by earlier slices (Tk: nothing known).
                               Lets the softmax skip rewriting zeros that are
                               there already when all hooks are read-only. */
    int regions;            /* probs/ent hold this many slices, one per thread: with
                               several threads, slices then run in parallel and the
                               pattern hooks in slice order (not with scores hooked) */
    st_attn_cb between;
    void *cb_ctx;
} st_attn_io;
typedef struct st_attn_params {
    float scale;        /* multiplies q.k (0: 1/sqrt(dh)) */
    float softcap;      /* > 0: s = softcap * tanh(s / softcap) before the mask */
    int32_t window;     /* > 0: keys j with i - window < j <= i only */
} st_attn_params;
int st_attention(const float *q, const float *k, const float *v, int64_t kv_bstride,
                 int64_t B, int64_t T, int H, int Hkv, int dh, int pos0, const int32_t *lengths,
                 float *z, const st_attn_params *ap, const st_attn_io *io, int n_threads);

int32_t st_argmax(const float *x, int64_t n);

#endif
