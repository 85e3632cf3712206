/* strata/hooks.h — named hook points (TransformerLens names) and callbacks.
 *
 * Defines: strata_hook_kind (append-only enum), strata_hook_ctx,
 * strata_hook_fn, strata_hook_add(), strata_hook_add_ex() (flags such as
 * STRATA_HOOK_SLICES), strata_hook_remove(), strata_hook_match() (a
 * pattern's points, nothing registered),
 * strata_hook_clear(), strata_hook_kind_name(), strata_hook_name(),
 * strata_hook_parse().
 *
 * A hook point is (kind, layer); its name is e.g. "blocks.3.attn.hook_z".
 * Per-layer kinds have names "blocks.{l}.<suffix>"; global kinds
 * (embed, pos_embed, ln_final.*, logits) have no layer (layer = -1).
 *
 * Shapes (B = batch, T = padded length = max(lengths), H = n_heads,
 * Hkv = n_kv_heads, dh = d_head, d = d_model, F = d_mlp, V = vocab):
 *   hook_embed, hook_pos_embed             [B,T,d]
 *   blocks.l.hook_resid_pre                [B,T,d]
 *   blocks.l.ln1.hook_scale                [B,T,1]  sqrt(mean(x^2)+eps) (RMS) or std (LN)
 *   blocks.l.ln1.hook_normalized           [B,T,d]  norm output incl. gain and bias
 *   blocks.l.attn.hook_q                   [B,T,H,dh]
 *   blocks.l.attn.hook_k, hook_v           [B,T,Hkv,dh]   (GQA: kv-head granularity)
 *   blocks.l.attn.hook_rot_q               [B,T,H,dh]     after rotary
 *   blocks.l.attn.hook_rot_k               [B,T,Hkv,dh]   after rotary
 *   blocks.l.attn.hook_attn_scores         [B,H,T,T] scaled, pre-softmax; -inf where masked
 *   blocks.l.attn.hook_pattern             [B,H,T,T] softmax; 0 where masked
 *   blocks.l.attn.hook_z                   [B,T,H,dh]
 *   blocks.l.attn.hook_result              [B,T,H,d]  per-head output (opt-in: only
 *                                          computed when hooked)
 *   blocks.l.hook_attn_out                 [B,T,d]
 *   blocks.l.hook_resid_mid                [B,T,d]  (not with a parallel residual)
 *   blocks.l.ln2.hook_scale / hook_normalized   as ln1
 *   blocks.l.mlp.hook_pre                  [B,T,F]  (gated MLPs: the gate projection)
 *   blocks.l.mlp.hook_pre_linear           [B,T,F]  (gated MLPs only: the up projection)
 *   blocks.l.mlp.hook_post                 [B,T,F]  after the activation (x up, if gated)
 *   blocks.l.hook_mlp_out                  [B,T,d]
 *   blocks.l.hook_resid_post               [B,T,d]
 *   ln_final.hook_scale                    [B,T,1]
 *   ln_final.hook_normalized               [B,T,d]  (incl. gain; the unembedding's input)
 *   hook_logits                            [B,T,V]
 *
 * Note: hook_normalized always includes the norm's gain (and bias), i.e. it
 * is the tensor the next layer consumes.  (TransformerLens puts its RMSNorm
 * hook_normalized before the gain; strata never folds weights silently.)
 *
 * Head selection: "blocks.3.attn.hook_z[5]" gives a view of head 5 only
 * (shape [B,T,1,dh], strides of the full tensor); works for every kind with a
 * head axis (q,k,v,rot_q,rot_k,attn_scores,pattern,z,result).
 *
 * Positions t >= lengths[b] are padding: their values are computed but mean
 * nothing, and no real position attends to them.
 *
 * Slices (opt-in, STRATA_HOOK_SLICES): [B,H,T,Tk] scores and patterns grow
 * as B*H*T^2 (200 MB per layer at B=4, H=12, T=1024) and materialising them
 * is a round trip through memory.  A hook registered with STRATA_HOOK_SLICES
 * accepts views of part of the tensor instead; when every hook on a layer's
 * hook_attn_scores and hook_pattern has the flag, the engine computes that
 * layer's attention slice by slice (128 KB on one thread, 1 MB per thread on
 * several: each slice stays in cache) and fires the hooks once per slice.  A
 * slice covers batch rows [ctx->batch_offset, + shape[0]), heads
 * [ctx->head_offset, + shape[1]) and query rows [ctx->query_offset,
 * + shape[2]) with all Tk keys.  The slices of one hook point in one run
 * cover the tensor exactly once, in order of batch row,
 * then head, then query row (a slice of several batch rows covers all their
 * heads and rows; one of several heads covers all their rows), one call at a
 * time; with several threads the slices are computed in parallel and a hook
 * may be called from an engine thread other than the caller's.  ctx->batch,
 * n_ctx, lengths and tokens still describe the whole run.  Results are bit
 * for bit those of the unsliced run.  For every other hook point, and
 * whenever a hook without the flag shares the layer's scores or pattern, the
 * view is the whole tensor and the offsets are 0.
 *
 * Threads: hooks are part of their model handle: add, remove and run on
 * one thread at a time per model.  A hook runs on the thread that called the
 * forward pass, or (sliced attention hooks with several threads) on one of
 * its OpenMP threads, one hook call at a time and in slice order.
 */
#ifndef STRATA_HOOKS_H
#define STRATA_HOOKS_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"
#include "strata/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_model strata_model;

/* Append-only; the numeric values are part of the ABI and file formats. */
typedef enum strata_hook_kind {
    STRATA_HOOK_EMBED = 0,
    STRATA_HOOK_POS_EMBED,
    STRATA_HOOK_RESID_PRE,
    STRATA_HOOK_LN1_SCALE,
    STRATA_HOOK_LN1_NORMALIZED,
    STRATA_HOOK_ATTN_Q,
    STRATA_HOOK_ATTN_K,
    STRATA_HOOK_ATTN_V,
    STRATA_HOOK_ATTN_ROT_Q,
    STRATA_HOOK_ATTN_ROT_K,
    STRATA_HOOK_ATTN_SCORES,
    STRATA_HOOK_ATTN_PATTERN,
    STRATA_HOOK_ATTN_Z,
    STRATA_HOOK_ATTN_RESULT,
    STRATA_HOOK_ATTN_OUT,
    STRATA_HOOK_RESID_MID,
    STRATA_HOOK_LN2_SCALE,
    STRATA_HOOK_LN2_NORMALIZED,
    STRATA_HOOK_MLP_PRE,
    STRATA_HOOK_MLP_PRE_LINEAR,
    STRATA_HOOK_MLP_POST,
    STRATA_HOOK_MLP_OUT,
    STRATA_HOOK_RESID_POST,
    STRATA_HOOK_LN_FINAL_SCALE,
    STRATA_HOOK_LN_FINAL_NORMALIZED,
    STRATA_HOOK_LOGITS,
    /* Gemma-2's norms after attention and after the MLP (TransformerLens
     * ln1_post / ln2_post): hook_attn_out and hook_mlp_out see their output. */
    STRATA_HOOK_LN1_POST_SCALE,
    STRATA_HOOK_LN1_POST_NORMALIZED,
    STRATA_HOOK_LN2_POST_SCALE,
    STRATA_HOOK_LN2_POST_NORMALIZED,
    STRATA_HOOK_KIND_COUNT
} strata_hook_kind;

#define STRATA_HOOK_ENUM_VERSION 1

/* What a callback learns about the call site. */
typedef struct strata_hook_ctx {
    const char *name;         /* full name, e.g. "blocks.3.attn.hook_z" (no [head]) */
    int32_t kind;             /* strata_hook_kind */
    int32_t layer;            /* -1 for global hook points */
    int32_t head;             /* selected head, or -1 for all heads */
    int32_t batch;            /* B */
    int32_t n_ctx;            /* T, padded length of this run */
    int32_t pos_offset;       /* absolute position of t=0 (non-zero while generating) */
    const int32_t *lengths;   /* [B] valid positions per sequence (relative to pos_offset) */
    const int32_t *tokens;    /* [B,T] input ids of this run */
    /* Where the view starts in the whole tensor (all 0 unless the hook was
     * added with STRATA_HOOK_SLICES; see "Slices" above). */
    int32_t batch_offset;     /* first batch row of the view */
    int32_t head_offset;      /* first head of the view (= head when a head is selected) */
    int32_t query_offset;     /* first query row (scores/pattern) */
    /* hook_pattern only (else NULL; NULL too when a head is selected): the
     * entropy -sum_k P ln P (nats) of every row of the view,
     * row_entropy[(b*shape[1] + h)*shape[2] + q] for view indices b, h, q,
     * computed during the softmax (before any pattern hook ran; 0 for
     * padding rows). */
    const float *row_entropy;
} strata_hook_ctx;

/* Flags of strata_hook_add_ex. */
enum strata_hook_flags {
    STRATA_HOOK_SLICES = 1,   /* the callback accepts views of part of a
                                 scores/pattern tensor (see "Slices" above) */
    STRATA_HOOK_READONLY = 2  /* the callback never writes through the view, so
                                 the engine may skip work that only edits need
                                 (writing through it anyway is undefined) */
};

/* A hook sees `t` (a mutable view) and may read or overwrite its values in
 * place; it must not keep t->data after returning.  Return 0 to continue,
 * a positive value to stop the run (strata_run() then returns
 * STRATA_STOPPED), or a negative strata_status when the hook itself failed
 * (e.g. a write): the run stops and returns that status, and strata_errmsg()
 * names the hook point (the hook keeps its own detailed message).
 * Hooks run in forward order; several hooks on one point run in the order
 * they were added. */
typedef int (*strata_hook_fn)(strata_tensor *t, const strata_hook_ctx *ctx, void *user);

typedef int32_t strata_hook_id;

/* Registers fn on every hook point matching `name_or_glob` ('*' matches any
 * run of characters, '?' one character; an optional "[h]" suffix selects
 * head h).  Fails with STRATA_ERR_NOTFOUND when nothing matches (the message
 * lists a few valid names).  *id (may be NULL) identifies the registration. */
STRATA_API strata_status strata_hook_add(strata_model *m, const char *name_or_glob,
                              strata_hook_fn fn, void *user, strata_hook_id *id);
/* strata_hook_add with flags (a set of strata_hook_flags; 0 = strata_hook_add). */
STRATA_API strata_status strata_hook_add_ex(strata_model *m, const char *name_or_glob, strata_hook_fn fn,
                                 void *user, uint32_t flags, strata_hook_id *id);
STRATA_API strata_status strata_hook_remove(strata_model *m, strata_hook_id id);

/* Called once per hook point a pattern matches: the point's full name (no
 * "[h]"), kind, layer (-1: global) and the selected head (-1: all).  Return
 * 0 to go on; anything else stops the walk and is returned by
 * strata_hook_match. */
typedef int (*strata_hook_visit_fn)(const char *name, int kind, int layer, int head, void *user);
/* Visits, in forward order, every hook point of m that `name_or_glob`
 * matches, with the rules of strata_hook_add ('*', '?', an optional "[h]"
 * head selector checked against the point's heads) -- without registering
 * anything.  Returns STRATA_OK when at least one point matched and every
 * visit returned 0; STRATA_ERR_NOTFOUND when none matched (the message names
 * the nearest point); STRATA_ERR_ARG / STRATA_ERR_RANGE for a bad head
 * selector; or the first non-zero value a visit returned. */
STRATA_API strata_status strata_hook_match(strata_model *m, const char *name_or_glob,
                                strata_hook_visit_fn visit, void *user);
STRATA_API void strata_hook_clear(strata_model *m);

/* Static suffix for a kind, e.g. "attn.hook_z" or "hook_logits". NULL if invalid. */
STRATA_API const char *strata_hook_kind_name(int kind);
/* Writes the full name of (kind, layer) into buf; returns its length or -1. */
STRATA_API int strata_hook_name(int kind, int layer, char *buf, int buf_len);
/* Parses a full name ("blocks.2.hook_resid_post", optional "[h]") into
 * kind/layer/head (head -1 if absent).  Returns STRATA_OK or STRATA_ERR_ARG. */
STRATA_API strata_status strata_hook_parse(const char *name, int *kind, int *layer, int *head);

/* Number of hook points this model has, and the i-th one's name and shape
 * for a run of `batch` x `n_ctx`.  shape has 4 entries; returns ndim, or -1
 * for an unknown kind, batch < 1 or n_ctx outside 1..the model's n_ctx. */
STRATA_API int strata_model_n_hook_points(const strata_model *m);
STRATA_API strata_status strata_model_hook_point(const strata_model *m, int i, int *kind, int *layer,
                                      char *name, int name_len);
STRATA_API int strata_model_hook_shape(const strata_model *m, int kind, int batch, int n_ctx,
                            int64_t shape[4]);

#ifdef __cplusplus
}
#endif
#endif
