/* model/model_internal.h — the in-memory model every loader fills (internal).
 *
 * Defines: st_linear, st_norm, st_layer, st_wsource (a weight source: HF
 * safetensors set or GGUF file), struct strata_model and the binders'
 * helpers.  What each architecture family contributes (names, config
 * parsers, weight binder) is its st_arch descriptor (model/arch.h).
 *
 * Every loader ends in the same structure, so every hook and analysis works
 * the same whatever the file format.  Weights are float32 pointers into an
 * mmap (F32) or into buffers owned by the weight source (converted dtypes).
 */
#ifndef STRATA_MODEL_INTERNAL_H
#define STRATA_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "strata/model.h"
#include "strata/hooks.h"
#include "strata/tokenizer.h"
#include "util/err.h"

/* y[n,out] = x[n,in] . W^T + b.
 * in_out == 0: W stored [out][in] (HF nn.Linear, GGUF), row stride ld (>= in).
 * in_out == 1: W stored [in][out] (GPT-2 Conv1D), row stride ld (>= out);
 *              a column block of a fused matrix is w + offset with ld = full width. */
/* Weight types a product can read directly (model/wstored.c). */
typedef enum st_wtype { ST_WT_F32 = 0, ST_WT_F16 = 1, ST_WT_BF16 = 2, ST_WT_Q8_0 = 3 } st_wtype;
/* Bytes n elements of wtype take (Q8_0: 34 per block of 32). */
int64_t st_wt_bytes(int wtype, int64_t n);

typedef struct st_linear {
    const float *w;     /* float32 weights, or NULL when kept in stored type: */
    const float *b;     /* [out] or NULL */
    int32_t n_in, n_out;
    int32_t in_out;
    int32_t ld;
    int32_t wtype;      /* st_wtype of wq (ST_WT_F32: w is used) */
    const void *wq;     /* stored weights [out][ld] in wtype (in_out == 0 only) ... */
    int64_t woff;       /* ... starting at element woff (a column block: woff + col) */
    const float *pk;    /* float32 weights packed into column panels (model/packed.h), owned
                           by the model, or NULL: products then read w through OpenBLAS */
} st_linear;

typedef struct st_norm {
    const float *w;     /* [d] gain */
    const float *b;     /* [d] or NULL (RMSNorm) */
    float w_offset;     /* the gain is w + w_offset (Gemma's RMSNorm: 1 + w) */
} st_norm;

typedef enum st_qkv_layout {
    ST_QKV_SEPARATE = 0,  /* q, k, v are three st_linear */
    ST_QKV_NEOX = 1       /* fused [3d, d]: rows of head h are q_h | k_h | v_h */
} st_qkv_layout;

typedef struct st_layer {
    st_norm ln1, ln2;
    st_norm ln1_post, ln2_post;   /* cfg.post_norms: after attention / after the MLP */
    int32_t window;       /* > 0: sliding-window attention of this width (cfg.sliding_window) */
    int32_t qkv_layout;
    st_linear q, k, v;    /* ST_QKV_SEPARATE */
    st_linear qkv;        /* ST_QKV_NEOX: n_out = 3*d */
    st_linear o;          /* [d] <- [H*dh] */
    st_linear mlp_in;     /* gate (gated) or fc_in:  [F] <- [d] */
    st_linear mlp_up;     /* gated only: up          [F] <- [d] */
    st_linear mlp_out;    /* [d] <- [F] */
} st_layer;

/* A source of named float32 tensors.  Names and shapes are always given in
 * Hugging Face terms (e.g. "model.layers.3.self_attn.q_proj.weight", shape
 * row-major outermost first as torch reports it); a GGUF source maps them to
 * its own names and converts layouts where they differ, into buffers it owns.
 * get(): STRATA_ERR_NOTFOUND if absent, STRATA_ERR_FORMAT on a shape
 * mismatch, both with a message naming file and tensor. */
typedef struct st_wsource st_wsource;
struct st_wsource {
    void *ctx;
    const char *path;  /* for messages */
    int  (*get)(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                const float **out, st_err *err);
    int  (*has)(st_wsource *s, const char *name);
    /* After binding: STRATA_ERR_FORMAT naming every tensor of the file that
     * no get() took and that is not a known non-weight buffer
     * (st_is_buffer_name); STRATA_OK otherwise. */
    int  (*check_unused)(st_wsource *s, st_err *err);
    /* A 2-D weight in the type it is stored in, when that is F32, F16, BF16
     * or (GGUF) Q8_0 and needs no layout change: *out points into the
     * mapping, *wtype its st_wtype.  Otherwise as get() (*wtype ST_WT_F32).
     * NULL: the source cannot (binders then call get()). */
    int  (*get_stored)(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                       const void **out, int *wtype, st_err *err);
    int64_t bytes_mapped;    /* weight bytes bound in place in the file's mapping */
    int64_t bytes_owned;     /* weight bytes converted into buffers the source owns */
    int64_t used_elems;      /* elements of the distinct file tensors get() has taken:
                                the model's parameter count */
    void (*close)(st_wsource *s);  /* releases mmaps and owned buffers */
    /* 1 if [p, p + n) lies in one of the source's read-only file mappings
     * (pages there may be given back with madvise DONTNEED); NULL: never. */
    int  (*in_mapping)(st_wsource *s, const void *p, size_t n);
};

enum { ST_HOOK_NAME_MAX = 64 };   /* "blocks.{l}.attn.hook_attn_scores" fits for any l */

/* One registered hook. */
typedef struct st_hook {
    strata_hook_id id;
    int32_t kind, layer, head;   /* head -1: all */
    uint32_t flags;              /* strata_hook_flags */
    strata_hook_fn fn;
    void *user;
} st_hook;

struct strata_model {
    st_err err;
    strata_config cfg;
    char format[8];              /* "hf" or "gguf" */
    char *path;                  /* as given to strata_model_open (owned) */
    st_wsource src;              /* owns the weight memory */
    int32_t has_src;

    /* weights (shapes in row-major [outer][inner]) */
    const float *tok_embed;      /* [V][d], or NULL when kept stored: */
    st_linear embed;             /* the same [V][d] as a matrix (wtype/wq when stored) */
    st_linear unembed_lin;       /* the read-out U [V][d] (+ unembed_b) as a matrix */
    int32_t keep_stored;         /* bind F16/BF16/Q8_0 matrices in stored type */
    const float *pos_embed;      /* [n_ctx][d] or NULL */
    st_layer *layers;            /* [n_layers] */
    st_norm ln_final;
    const float *unembed;        /* [V][d] (tied: == tok_embed) */
    const float *unembed_b;      /* [V] or NULL */
    int64_t n_params;

    strata_tokenizer *tok;       /* owned; NULL if none found */

    /* hooks */
    st_hook *hooks;
    int32_t n_hooks, cap_hooks;
    strata_hook_id next_hook_id;
    uint8_t *hooked_at;          /* [KIND_COUNT][n_layers+1]: count of hooks at (kind, layer),
                                    index layer+1 (global points use layer -1) */
    char *point_names;           /* [KIND_COUNT][n_layers+1][ST_HOOK_NAME_MAX] names, filled
                                    when a point first fires ("" until then) */

    struct st_acts *acts;        /* the forward pass's activations, one allocation reused
                                    across runs (activations.h) */
    int64_t attn_slice_floats;   /* scores/pattern slice size per thread for sliced hooks
                                    (0: the default, ~128 KB; tests set small values) */

    int64_t packed_bytes;        /* memory of the packed matrices (st_linear.pk, model/packed.h) */
    int32_t packed_all;          /* st_pack_model has run */

    int32_t n_threads;
    int32_t nonfinite_mode;      /* strata_nonfinite_mode */
    char nonfinite_at[192];      /* first finding ("" if none) */
};

/* 1 if an unbound tensor of this name is a buffer that torch modules saved
 * beside their weights and that holds nothing to bind: causal masks
 * ("*.attn.bias", "*.attention.bias", "*.attn.attention.bias" and their
 * "masked_bias" scalars) and rotary frequency tables ("*.rotary_emb.inv_freq"),
 * which strata recomputes from the config. */
int st_is_buffer_name(const char *name);

/* Binds a [n_out][n_in] matrix (nn.Linear layout) into lin: in stored type
 * (F16/BF16/Q8_0, usually the file's mapping) when m->keep_stored and the
 * source can, else as float32.  lin->b left NULL. */
int st_bind_matrix(strata_model *m, st_wsource *src, st_linear *lin, const char *name, int n_out, int n_in);
/* Token embedding `name` [V][d] into m->embed / m->tok_embed (stored when
 * allowed); the read-out: lm_head `head` [V][d] if the file has it, else the
 * embedding when tied (else STRATA_ERR_NOTFOUND).  Sets m->unembed_lin,
 * m->unembed, cfg.tied_embeddings. */
int st_bind_embed(strata_model *m, st_wsource *src, const char *name);
int st_bind_head(strata_model *m, st_wsource *src, const char *head);

/* Hooks (hooks.c). */
int st_hooks_init(strata_model *m);
/* 1 if (kind, layer) is a hook point of this model. */
int st_hook_point_exists(const strata_model *m, int kind, int layer);
static inline int st_is_hooked(const strata_model *m, int kind, int layer)
{
    return m->hooked_at[kind * (m->cfg.n_layers + 1) + layer + 1] != 0;
}
/* 1 if every hook on (kind, layer) was added with all of `flags` (also when
 * none is). */
int st_hooks_all_have(const strata_model *m, int kind, int layer, uint32_t flags);

/* Helpers for binders (model.c). */
int st_bind_linear(strata_model *m, st_wsource *src, st_linear *lin, const char *wname,
                   const char *bname, int n_out, int n_in, int in_out);
int st_bind_vec(strata_model *m, st_wsource *src, const float **out, const char *name, int n);

#endif
