/* model/arch.h — one descriptor per architecture family, and the registry
 * (internal).
 *
 * Defines: st_gguf_name (an HF <-> GGUF tensor-name pair), st_arch (what
 * makes a family: the names it answers to in config.json and GGUF, its
 * config parsers, its GGUF tensor-name maps, its weight binder),
 * st_arch_by_id(), st_arch_by_hf_type(), st_arch_by_gguf(), st_arch_list().
 *
 * Adding a family is one file lib/model/<family>.c defining
 * `const st_arch st_arch_<family>` plus one line in ARCHES (arch.c) and a
 * strata_arch value in strata/model.h.  The forward pass is shared: a family
 * chooses its variations as data -- strata_config fields (norm kind,
 * activation, gated MLP, rotary kind and dims, parallel residual, biases)
 * filled by its config parsers, and per-layer st_layer fields (qkv layout)
 * filled by its binder -- so every family gets every hook point.  A
 * variation the shared block cannot express yet is added to the shared block
 * (forward.c / kernels.c) behind such a field, never as a per-family branch.
 */
#ifndef STRATA_MODEL_ARCH_H
#define STRATA_MODEL_ARCH_H

#include <jansson.h>
#include <stddef.h>
#include "io/gguf.h"
#include "model/model_internal.h"

/* HF module "<layer prefix>{i}.<hf>" <-> GGUF "blk.{i}.<gguf>" (per layer),
 * or "<hf>" <-> "<gguf>" (global); ".weight" / ".bias" kept.  xf_*: the
 * layout change between the two files (ST_GGUF_XF_*). */
typedef struct st_gguf_name {
    const char *hf, *gguf;
    int xf_weight, xf_bias;
} st_gguf_name;
enum { ST_GGUF_XF_NONE = 0, ST_GGUF_XF_TRANSPOSE = 1 /* Conv1D [in][out] */,
       ST_GGUF_XF_NEOX_QKV = 2 /* [q|k|v] -> per-head q_h|k_h|v_h */ };

typedef struct st_arch {
    int32_t id;                      /* strata_arch */
    const char *name;                /* short name written to capture files ("neox") */
    const char *const *hf_types;     /* config.json model_type values, NULL-terminated;
                                        [0] is the canonical one (`strata info`) */
    const char *gguf_arch;           /* general.architecture (NULL: no GGUF support) */

    /* config.json -> cfg (dimensions, kinds); cfg->name and the special
     * token ids are filled by the caller.  Errors name path and field. */
    int (*config_hf)(const json_t *j, const char *path, strata_config *cfg, st_err *err);
    /* GGUF metadata "<gguf_arch>.*" -> the rest of cfg.  The caller has read
     * d_model, n_layers, n_ctx, n_heads (and fills vocab, tied embeddings and
     * special ids after); this reads n_kv_heads, d_head, d_mlp, eps, rotary
     * and sets the kinds. */
    int (*config_gguf)(st_gguf *g, strata_config *cfg, st_err *err);

    /* GGUF tensor names, in HF terms (the GGUF source maps every request). */
    const char *hf_layer_prefix;     /* "model.layers." */
    const char *hf_optional_prefix;  /* stripped before mapping ("transformer."), or NULL */
    const st_gguf_name *gguf_layer;  /* {NULL} terminated */
    const st_gguf_name *gguf_global;

    /* Binds every weight of m (m->cfg filled, m->layers allocated) from src,
     * asking by HF name and expected shape. */
    int (*bind)(strata_model *m, st_wsource *src);
} st_arch;

/* Shared by the families built on Llama's block (llama.c, qwen2.c, gemma.c). */
typedef struct st_llama_like {
    int qkv_bias;          /* q/k/v_proj carry biases (Qwen2) */
    float norm_offset;     /* RMSNorm gain 1 + w (Gemma's HF weights; 0 for GGUF, whose
                              converter stored 1 + w) */
    int post_norms;        /* Gemma-2: input, post_attention, pre_feedforward and
                              post_feedforward norms */
} st_llama_like;
/* The sliding window of layer l under cfg.window_layers (0: global attention). */
int32_t st_layer_window(const strata_config *c, int layer);
/* A per-layer list of attention kinds (JSON array of n strings: each `windowed` or
 * `global`) as cfg->window_layers / window_from; a list that is none of
 * strata_window_layers' patterns is STRATA_ERR_UNSUPPORTED naming the field. */
int st_window_layers_from_list(const json_t *list, const char *path, const char *key,
                               const char *windowed, const char *global, strata_config *c, st_err *err);
/* config.json dimensions, RMS epsilon (default eps_default), rope_theta,
 * tie_word_embeddings of a Llama-shaped config; refuses rope_scaling and
 * mlp_bias.  Sets the Llama kinds (RMSNorm, SwiGLU, rotate_half over d_head). */
int st_llama_like_config_hf(const json_t *j, const char *path, double eps_default, strata_config *c,
                            st_err *err);
/* Optional non-negative int32 field (null or absent: 0) into *out. */
int st_json_window(const json_t *j, const char *path, const char *key, int32_t *out, st_err *err);
/* GGUF "<arch>.*" of a Llama-shaped model (kv heads, key_length, feed_forward_length,
 * RMS epsilon, rope base and dims, sliding_window); rope set INTERLEAVED (llama). */
int st_llama_like_config_gguf(st_gguf *g, strata_config *c, st_err *err);
int st_llama_like_bind(strata_model *m, st_wsource *src, const st_llama_like *v);
extern const st_gguf_name st_llama_gguf_layer[], st_llama_gguf_global[];

/* Shared by the GPT-2 family (gpt2.c, gpt_neo.c). */
/* activation_function -> *act: gelu_new / gelu_pytorch_tanh (tanh approximation),
 * gelu (erf), relu; anything else STRATA_ERR_UNSUPPORTED naming path and value. */
int st_gpt2_like_act(const char *act, const char *path, int32_t *out, st_err *err);
/* The block both share: d_model d, L blocks, H heads of d / H (one K/V head per
 * head), MLP width F, vocabulary V, T learned positions, LayerNorm (eps) with
 * biases, no rotary, sequential residual, tied embeddings (the caller may
 * change what differs). */
void st_gpt2_like_shape(strata_config *c, int64_t d, int64_t L, int64_t H, int64_t V, int64_t T,
                        int64_t F, double eps);
/* Binds "<pfx><name>.{weight,bias}" [d_model] as a LayerNorm. */
int st_gpt2_like_bind_ln(strata_model *m, st_wsource *src, st_norm *n, const char *pfx, const char *name);
/* wte [V][d] and wpe [n_ctx][d]; *pfx = "transformer." when the weights carry it, else "". */
int st_gpt2_like_bind_embeddings(strata_model *m, st_wsource *src, const char **pfx);

/* NULL when unknown. */
const st_arch *st_arch_by_id(int id);
const st_arch *st_arch_by_hf_type(const char *model_type);
const st_arch *st_arch_by_gguf(const char *general_architecture);
/* Comma-separated list of the HF model_type (gguf: 0) or GGUF names (1) of
 * every registered family, for error messages. */
void st_arch_list(int gguf, char *buf, size_t cap);

/* GGUF metadata helpers for config_gguf (gguf_source.c).  Key
 * "<cfg arch>.<suffix>"; absent: error naming the key when required, else
 * def.  Integers are range-checked. */
int st_gguf_cfg_int(st_gguf *g, const char *suffix, int required, int64_t def, int64_t lo,
                    int64_t hi, int64_t *out, st_err *err);
int st_gguf_cfg_float(st_gguf *g, const char *suffix, int required, double def, double *out,
                      st_err *err);
int st_gguf_cfg_bool(st_gguf *g, const char *suffix, int def, int *out, st_err *err);
/* d_mlp from "<arch>.feed_forward_length", else blk.0.ffn_up's rows (the
 * gpt2/gptneox converters may leave the key out). */
int st_gguf_cfg_d_mlp(st_gguf *g, int64_t *F, st_err *err);
/* Refuses scaled rotary (rope.scaling.type, rope.scale_linear, rope_freqs). */
int st_gguf_cfg_refuse_rope_scaling(st_gguf *g, st_err *err);

#endif
