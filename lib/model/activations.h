/* model/activations.h — every buffer one forward pass writes, in one
 * allocation (internal).
 *
 * Defines: st_acts (the activation tensors, each with its shape), st_acts_dims
 * (what one run needs), st_acts_sizes() (the one function that sizes every
 * field), st_acts_fit() (points the fields into one allocation, reused across
 * runs and replaced only when a run needs more), st_acts_free().
 *
 * Shapes are row-major, last index fastest; N = B*T token rows of the run,
 * d = d_model, H / Hkv = query / key-value heads, dh = d_head, F = d_mlp,
 * V = vocab, Tk = pos0 + T visible keys, rot = rotary_dim.
 */
#ifndef STRATA_MODEL_ACTIVATIONS_H
#define STRATA_MODEL_ACTIVATIONS_H

#include <stddef.h>
#include <stdint.h>
#include "strata/model.h"

/* The fields, in allocation order (index into st_acts_dims sizes). */
enum {
    ST_ACT_X, ST_ACT_NORMED, ST_ACT_SCALE, ST_ACT_Q, ST_ACT_K, ST_ACT_V, ST_ACT_QKV, ST_ACT_Z,
    ST_ACT_ATTN_OUT, ST_ACT_RESULT, ST_ACT_MLP_H, ST_ACT_MLP_UP, ST_ACT_MLP_OUT, ST_ACT_ROPE,
    ST_ACT_PROBS, ST_ACT_ENT, ST_ACT_ZERO_FROM, ST_ACT_LOGITS, ST_ACT_COUNT
};

typedef struct st_acts {
    float *x;          /* [N][d]      residual stream (embeddings, then resid_pre/mid/post in place) */
    float *normed;     /* [N][d]      ln1 / ln2 / ln_final output; the positional embedding before layer 0 */
    float *scale;      /* [N]         the norm's divisor per row (ln*.hook_scale) */
    float *q;          /* [N][H][dh]  queries (rotated in place) */
    float *k;          /* [N][Hkv][dh] keys (rotated in place) */
    float *v;          /* [N][Hkv][dh] values */
    float *qkv;        /* [N][3*H*dh] NeoX's fused projection, per head q_h | k_h | v_h (else NULL) */
    float *z;          /* [N][H][dh]  attention-weighted values */
    float *attn_out;   /* [N][d]      attention output z . W_O^T + b */
    float *result;     /* [N][H][d]   per-head outputs (only when hook_result is hooked, else NULL) */
    float *mlp_h;      /* [N][F]      MLP pre-activation (gate), then act(gate) (* up) in place
                                      (NULL in attention-only models) */
    float *mlp_up;     /* [N][F]      gated MLP's up projection (else NULL) */
    float *mlp_out;    /* [N][d]      MLP output (NULL in attention-only models) */
    float *rope;       /* [T][rot/2][2] cos, sin of this run's positions (NULL without rotary) */
    float *probs;      /* [probs_floats] one (or one per thread) slice of scores / pattern
                          [nb][nh][nq][Tk] (NULL when no layer hooks them) */
    float *ent;        /* [ent_floats] entropy per pattern row of a slice (NULL when unhooked) */
    int32_t *zero_from;/* [probs_floats / Tk] each probs row is 0 from this column on */
    float *logits;     /* [N][V]      for hook_logits when the caller gave no [N][V] buffer */

    /* allocation (st_acts_fit) */
    void *block;
    size_t cap[ST_ACT_COUNT];      /* elements reserved per field */
    int64_t zf_rows, zf_Tk;        /* zero_from rows valid for rows of zf_Tk floats (0: reset) */
} st_acts;

/* What a run needs beyond the configuration. */
typedef struct st_acts_dims {
    int64_t B, T, Tk;
    int64_t probs_floats;          /* largest scores/pattern slice buffer of any layer (0: none) */
    int64_t ent_floats;            /* largest entropy buffer of any layer (0: none) */
    int32_t result;                /* some layer's hook_result is hooked */
    int32_t logits;                /* logits go to st_acts.logits (hooked, caller gave no buffer) */
    int32_t fused_qkv;             /* NeoX fused qkv layout */
} st_acts_dims;

/* Elements of each field for configuration c and run dims r (0: not needed). */
void st_acts_sizes(const strata_config *c, const st_acts_dims *r, size_t n[ST_ACT_COUNT]);

/* Makes every field of a point at room for n[] elements, 64-byte aligned,
 * all in one allocation.  Kept as it is when it already has room; otherwise
 * replaced by one allocation of the larger of old and new per field (so
 * runs of alternating shapes settle on one block).  zero_from is reset
 * (nothing known to be zero) when the block changes or Tk does.
 * Returns 0, or -1 when out of memory (a unchanged). */
int st_acts_fit(st_acts *a, const size_t n[ST_ACT_COUNT], int64_t Tk);

void st_acts_free(st_acts *a);

#endif
