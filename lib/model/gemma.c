/* model/gemma.c — Gemma and Gemma-2: Llama's block with
 *   - token embeddings multiplied by sqrt(d_model) (in float32, as HF);
 *   - RMSNorm gain (1 + w): HF stores w (so w_offset 1), llama.cpp's GGUF
 *     converter stored 1 + w (w_offset 0);
 *   - GeGLU MLP: down(gelu_tanh(gate x) * up x) (hidden_activation, default
 *     gelu_pytorch_tanh; "gelu" is the exact erf form);
 *   - head_dim independent of d_model / n_heads; tied head.
 * Gemma-2 adds (HF Gemma2Config / modeling_gemma2.py):
 *   - norms around both sublayers: x += post_attention_layernorm(attn(
 *     input_layernorm x)); x += post_feedforward_layernorm(mlp(
 *     pre_feedforward_layernorm x))  (hooks ln1_post, ln2_post);
 *   - scores scaled by query_pre_attn_scalar^-1/2, soft-capped
 *     attn_logit_softcapping * tanh(s / attn_logit_softcapping) before the
 *     mask; logits final_logit_softcapping * tanh(z / final_logit_softcapping);
 *     null caps: none;
 *   - sliding_window on even layers (layer_idx % 2 == 0), or per layer_types.
 * GGUF "gemma" / "gemma2" (llama.cpp): llama's tensor names; Gemma-2's
 * post_attention_layernorm -> post_attention_norm, pre_feedforward_layernorm
 * -> ffn_norm, post_feedforward_layernorm -> post_ffw_norm; q/k not permuted
 * (rotate_half); gemma2.attn_logit_softcapping, final_logit_softcapping,
 * attention.sliding_window.  GGUF has no query_pre_attn_scalar: as llama.cpp,
 * scores are scaled by 1/sqrt(head_dim), except the 46-layer 27B model whose
 * query_pre_attn_scalar is d_model / n_heads.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "io/json_util.h"
#include "model/arch.h"

static int gemma_act(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    const char *act;
    ST_TRY(st_json_str(j, "hidden_activation", path, 0, "gelu_pytorch_tanh", &act, err));
    if (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_new") || !strcmp(act, "gelu_fast"))
        c->act = STRATA_ACT_GELU_NEW;
    else if (!strcmp(act, "gelu"))
        c->act = STRATA_ACT_GELU;
    else
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: hidden_activation '%s' not supported for gemma", path, act);
    int bias;
    ST_TRY(st_json_bool(j, "attention_bias", path, 0, 0, &bias, err));
    if (bias)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: attention_bias true is not supported for gemma", path);
    return STRATA_OK;
}

static void gemma_kinds(strata_config *c)
{
    c->gated_mlp = 1;
    c->rope = STRATA_ROPE_HALF;
    c->embed_scale = (float)sqrt((double)c->d_model);
}

static int gemma_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    ST_TRY(st_llama_like_config_hf(j, path, 1e-6, c, err));
    int tied;   /* Gemma ties its head unless told otherwise */
    ST_TRY(st_json_bool(j, "tie_word_embeddings", path, 0, 1, &tied, err));
    c->tied_embeddings = tied;
    c->arch = STRATA_ARCH_GEMMA;
    ST_TRY(gemma_act(j, path, c, err));
    gemma_kinds(c);
    return STRATA_OK;
}

/* A soft cap: absent -> def, null -> none (0), else > 0. */
static int softcap_field(const json_t *j, const char *path, const char *key, double def, float *out, st_err *err)
{
    const json_t *v = json_object_get(j, key);
    if (v && json_is_null(v)) { *out = 0; return STRATA_OK; }
    double x;
    ST_TRY(st_json_num(j, key, path, 0, def, &x, err));
    if (!(x > 0) || x > 1e30)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' = %g must be positive (or null)", path, key, x);
    *out = (float)x;
    return STRATA_OK;
}

static int gemma2_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    ST_TRY(gemma_config_hf(j, path, c, err));
    c->arch = STRATA_ARCH_GEMMA2;
    c->post_norms = 1;
    double qpas;
    ST_TRY(st_json_num(j, "query_pre_attn_scalar", path, 0, 256.0, &qpas, err));
    if (!(qpas > 0))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'query_pre_attn_scalar' = %g must be positive", path, qpas);
    c->attn_scale = (float)(1.0 / sqrt(qpas));
    ST_TRY(softcap_field(j, path, "attn_logit_softcapping", 50.0, &c->attn_softcap, err));
    ST_TRY(softcap_field(j, path, "final_logit_softcapping", 30.0, &c->final_softcap, err));
    const json_t *w = json_object_get(j, "sliding_window");
    if (!w) c->sliding_window = 4096;   /* HF default */
    else if (json_is_null(w)) c->sliding_window = 0;
    else ST_TRY(st_json_window(j, path, "sliding_window", &c->sliding_window, err));
    c->window_layers = STRATA_WINDOW_EVEN;
    const json_t *lt = json_object_get(j, "layer_types");
    if (lt && !json_is_null(lt))
        ST_TRY(st_window_layers_from_list(lt, path, "layer_types", "sliding_attention", "full_attention", c, err));
    return STRATA_OK;
}

static int gemma_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    ST_TRY(st_llama_like_config_gguf(g, c, err));
    c->act = STRATA_ACT_GELU_NEW;
    c->tied_embeddings = 1;
    gemma_kinds(c);
    c->sliding_window = 0;
    return STRATA_OK;
}

static int gemma2_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    ST_TRY(st_llama_like_config_gguf(g, c, err));   /* sliding_window read here */
    c->act = STRATA_ACT_GELU_NEW;
    c->tied_embeddings = 1;
    gemma_kinds(c);
    c->post_norms = 1;
    c->window_layers = STRATA_WINDOW_EVEN;
    double cap;
    ST_TRY(st_gguf_cfg_float(g, "attn_logit_softcapping", 0, 0.0, &cap, err));
    c->attn_softcap = cap > 0 ? (float)cap : 0.0f;
    ST_TRY(st_gguf_cfg_float(g, "final_logit_softcapping", 0, 0.0, &cap, err));
    c->final_softcap = cap > 0 ? (float)cap : 0.0f;
    const double qpas = c->n_layers == 46 ? (double)c->d_model / c->n_heads : (double)c->d_head;
    c->attn_scale = (float)(1.0 / sqrt(qpas));
    return STRATA_OK;
}

static int gemma_bind(strata_model *m, st_wsource *src)
{
    const int gguf = !strcmp(m->format, "gguf");
    const st_llama_like v = { .norm_offset = gguf ? 0.0f : 1.0f, .post_norms = m->cfg.post_norms };
    return st_llama_like_bind(m, src, &v);
}

static const st_gguf_name gemma2_gguf_layer[] = {
    {"input_layernorm", "attn_norm", 0, 0},
    {"self_attn.q_proj", "attn_q", 0, 0},
    {"self_attn.k_proj", "attn_k", 0, 0},
    {"self_attn.v_proj", "attn_v", 0, 0},
    {"self_attn.o_proj", "attn_output", 0, 0},
    {"post_attention_layernorm", "post_attention_norm", 0, 0},
    {"pre_feedforward_layernorm", "ffn_norm", 0, 0},
    {"post_feedforward_layernorm", "post_ffw_norm", 0, 0},
    {"mlp.gate_proj", "ffn_gate", 0, 0},
    {"mlp.up_proj", "ffn_up", 0, 0},
    {"mlp.down_proj", "ffn_down", 0, 0},
    {NULL, NULL, 0, 0}};

const st_arch st_arch_gemma = {
    .id = STRATA_ARCH_GEMMA,
    .name = "gemma",
    .hf_types = (const char *const[]){ "gemma", NULL },
    .gguf_arch = "gemma",
    .config_hf = gemma_config_hf,
    .config_gguf = gemma_config_gguf,
    .hf_layer_prefix = "model.layers.",
    .gguf_layer = st_llama_gguf_layer,
    .gguf_global = st_llama_gguf_global,
    .bind = gemma_bind,
};

const st_arch st_arch_gemma2 = {
    .id = STRATA_ARCH_GEMMA2,
    .name = "gemma2",
    .hf_types = (const char *const[]){ "gemma2", NULL },
    .gguf_arch = "gemma2",
    .config_hf = gemma2_config_hf,
    .config_gguf = gemma2_config_gguf,
    .hf_layer_prefix = "model.layers.",
    .gguf_layer = gemma2_gguf_layer,
    .gguf_global = st_llama_gguf_global,
    .bind = gemma_bind,
};
