/* model/forward.h — the hooked forward pass shared by all architectures (internal).
 *
 * Defines: st_run (one call's batch geometry), st_kvcache, st_forward(),
 * st_hook_fire(), st_hook_fire_slice(), st_forward_release().
 */
#ifndef STRATA_MODEL_FORWARD_H
#define STRATA_MODEL_FORWARD_H

#include <stdint.h>
#include "model/model_internal.h"

/* Keys/values of every layer for generation:  k[l], v[l]  [B][cap][Hkv][dh]
 * (after rotary). */
typedef struct st_kvcache {
    float **k, **v;   /* [n_layers] */
    int32_t cap;      /* positions */
    int32_t B;
} st_kvcache;

typedef struct st_run {
    int32_t B, T;             /* batch, padded length */
    int32_t pos0;             /* absolute position of t = 0 */
    const int32_t *tokens;    /* [B][T] */
    const int32_t *lengths;   /* [B] */
    st_kvcache *kv;           /* NULL: keys are this call's own */
} st_run;

enum { ST_LOGITS_NONE = 0, ST_LOGITS_ALL = 1, ST_LOGITS_LAST = 2 };

/* Runs the forward pass; logits_out is [B][T][V] (ALL) or [B][V] (LAST). */
int st_forward(strata_model *m, const st_run *run, int logits_mode, float *logits_out);
/* Fires every hook registered on (kind, layer) with a view of data (shape[ndim]). */
int st_hook_fire(strata_model *m, const st_run *run, int kind, int layer, float *data, int ndim,
                 const int64_t *shape);
/* The same for a slice of a [B,H,T,Tk] scores/pattern tensor: data holds
 * shape[0..3] = [nb][nh][nq][Tk] starting at batch row off[0], head off[1],
 * query row off[2] (see "Slices" in strata/hooks.h).  Only for hooks that
 * all have STRATA_HOOK_SLICES, unless the slice is the whole tensor.
 * row_entropy: [nb][nh][nq] for pattern hooks (ctx->row_entropy), or NULL. */
int st_hook_fire_slice(strata_model *m, const st_run *run, int kind, int layer, float *data,
                       const int64_t shape[4], const int32_t off[3], const float *row_entropy);
int st_hook_head_axis(int kind);
void st_forward_release(strata_model *m);

int st_kvcache_new(strata_model *m, int B, int cap, st_kvcache **out);
void st_kvcache_free(strata_model *m, st_kvcache *kv);

#endif
