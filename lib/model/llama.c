/* model/llama.c — Llama family (TinyLlama, Llama-2/3, Mistral-style dense):
 * RMSNorm, rotary (HF rotate_half for safetensors checkpoints, interleaved
 * for GGUF), SwiGLU MLP, grouped-query attention, tied or untied head.
 *
 * Weights (HF names, nn.Linear [out][in]):
 *   model.embed_tokens.weight              [V][d]
 *   model.layers.i.input_layernorm.weight  [d]
 *   model.layers.i.self_attn.q_proj.weight [H*dh][d]     k_proj, v_proj [Hkv*dh][d]
 *   model.layers.i.self_attn.o_proj.weight [d][H*dh]
 *   model.layers.i.post_attention_layernorm.weight [d]
 *   model.layers.i.mlp.gate_proj.weight    [F][d]        up_proj [F][d]
 *   model.layers.i.mlp.down_proj.weight    [d][F]
 *   model.norm.weight [d];  lm_head.weight [V][d] (absent when tied)
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "io/json_util.h"
#include "model/arch.h"

int st_llama_like_config_hf(const json_t *j, const char *path, double eps_default, strata_config *c,
                            st_err *err)
{
    int64_t d, L, H, Hkv, dh, F, V, T;
    double eps, theta;
    int tied;
    ST_TRY(st_json_int(j, "hidden_size", path, 1, 0, &d, err));
    ST_TRY(st_json_int(j, "num_hidden_layers", path, 1, 0, &L, err));
    ST_TRY(st_json_int(j, "num_attention_heads", path, 1, 0, &H, err));
    ST_TRY(st_json_int(j, "num_key_value_heads", path, 0, H, &Hkv, err));
    ST_TRY(st_json_int(j, "head_dim", path, 0, H > 0 ? d / H : 0, &dh, err));
    ST_TRY(st_json_int(j, "intermediate_size", path, 1, 0, &F, err));
    ST_TRY(st_json_int(j, "vocab_size", path, 1, 0, &V, err));
    ST_TRY(st_json_int(j, "max_position_embeddings", path, 1, 0, &T, err));
    ST_TRY(st_json_num(j, "rms_norm_eps", path, 0, eps_default, &eps, err));
    ST_TRY(st_json_num(j, "rope_theta", path, 0, 10000.0, &theta, err));
    ST_TRY(st_json_bool(j, "tie_word_embeddings", path, 0, 0, &tied, err));
    const json_t *rs = json_object_get(j, "rope_scaling");
    if (rs && !json_is_null(rs))
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: field 'rope_scaling' is set; scaled rotary is not supported", path);
    int bias;
    ST_TRY(st_json_bool(j, "mlp_bias", path, 0, 0, &bias, err));
    if (bias)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: mlp_bias true is not supported", path);
    c->d_model = (int32_t)d; c->n_layers = (int32_t)L; c->n_heads = (int32_t)H;
    c->n_kv_heads = (int32_t)Hkv; c->d_head = (int32_t)dh; c->d_mlp = (int32_t)F;
    c->vocab_size = (int32_t)V; c->n_ctx = (int32_t)T;
    c->norm_kind = STRATA_NORM_RMS; c->norm_eps = (float)eps;
    c->act = STRATA_ACT_SILU; c->gated_mlp = 1;
    c->rope = STRATA_ROPE_HALF; c->rotary_dim = (int32_t)dh; c->rope_theta = (float)theta;
    c->parallel_residual = 0; c->tied_embeddings = tied; c->has_bias = 0;
    return STRATA_OK;
}

int st_json_window(const json_t *j, const char *path, const char *key, int32_t *out, st_err *err)
{
    int64_t win;
    ST_TRY(st_json_int(j, key, path, 0, 0, &win, err));
    if (win < 0 || win > INT32_MAX)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' = %lld is out of range", path, key, (long long)win);
    *out = (int32_t)win;
    return STRATA_OK;
}

static int llama_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    ST_TRY(st_llama_like_config_hf(j, path, 1e-6, c, err));
    const char *act;
    ST_TRY(st_json_str(j, "hidden_act", path, 0, "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: hidden_act '%s' not supported for llama (silu)", path, act);
    int bias;
    ST_TRY(st_json_bool(j, "attention_bias", path, 0, 0, &bias, err));
    if (bias)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: attention_bias true is not supported for llama", path);
    /* Mistral: every layer attends over a sliding window (HF MistralConfig
     * sliding_window, null = none); Llama's config has no such field. */
    const char *mt;
    ST_TRY(st_json_str(j, "model_type", path, 0, "llama", &mt, err));
    c->arch = STRATA_ARCH_LLAMA;
    if (!strcmp(mt, "mistral")) ST_TRY(st_json_window(j, path, "sliding_window", &c->sliding_window, err));
    return STRATA_OK;
}

int st_llama_like_bind(strata_model *m, st_wsource *src, const st_llama_like *v)
{
    const strata_config *c = &m->cfg;
    int d = c->d_model, qd = c->n_heads * c->d_head, kvd = c->n_kv_heads * c->d_head, F = c->d_mlp;
    ST_TRY(st_bind_embed(m, src, "model.embed_tokens.weight"));
    char w[256], b[256];
    const char *p = "model.layers";
#define NAME(buf, fmt) (snprintf(buf, sizeof buf, "%s.%d." fmt, p, i), buf)
    for (int i = 0; i < c->n_layers; i++) {
        st_layer *ly = &m->layers[i];
        ly->window = st_layer_window(c, i);
        ST_TRY(st_bind_vec(m, src, &ly->ln1.w, NAME(w, "input_layernorm.weight"), d));
        if (v->post_norms) {   /* Gemma-2: post-attention, pre- and post-feedforward norms */
            ST_TRY(st_bind_vec(m, src, &ly->ln1_post.w, NAME(w, "post_attention_layernorm.weight"), d));
            ST_TRY(st_bind_vec(m, src, &ly->ln2.w, NAME(w, "pre_feedforward_layernorm.weight"), d));
            ST_TRY(st_bind_vec(m, src, &ly->ln2_post.w, NAME(w, "post_feedforward_layernorm.weight"), d));
        } else {
            ST_TRY(st_bind_vec(m, src, &ly->ln2.w, NAME(w, "post_attention_layernorm.weight"), d));
        }
        ly->ln1.w_offset = ly->ln2.w_offset = ly->ln1_post.w_offset = ly->ln2_post.w_offset = v->norm_offset;
        ly->qkv_layout = ST_QKV_SEPARATE;
        ST_TRY(st_bind_linear(m, src, &ly->q, NAME(w, "self_attn.q_proj.weight"),
                              v->qkv_bias ? NAME(b, "self_attn.q_proj.bias") : NULL, qd, d, 0));
        ST_TRY(st_bind_linear(m, src, &ly->k, NAME(w, "self_attn.k_proj.weight"),
                              v->qkv_bias ? NAME(b, "self_attn.k_proj.bias") : NULL, kvd, d, 0));
        ST_TRY(st_bind_linear(m, src, &ly->v, NAME(w, "self_attn.v_proj.weight"),
                              v->qkv_bias ? NAME(b, "self_attn.v_proj.bias") : NULL, kvd, d, 0));
        ST_TRY(st_bind_linear(m, src, &ly->o, NAME(w, "self_attn.o_proj.weight"), NULL, d, qd, 0));
        ST_TRY(st_bind_linear(m, src, &ly->mlp_in, NAME(w, "mlp.gate_proj.weight"), NULL, F, d, 0));
        ST_TRY(st_bind_linear(m, src, &ly->mlp_up, NAME(w, "mlp.up_proj.weight"), NULL, F, d, 0));
        ST_TRY(st_bind_linear(m, src, &ly->mlp_out, NAME(w, "mlp.down_proj.weight"), NULL, d, F, 0));
    }
#undef NAME
    ST_TRY(st_bind_vec(m, src, &m->ln_final.w, "model.norm.weight", d));
    m->ln_final.w_offset = v->norm_offset;
    return st_bind_head(m, src, "lm_head.weight");
}

static int llama_bind(strata_model *m, st_wsource *src)
{
    const st_llama_like v = { 0 };
    return st_llama_like_bind(m, src, &v);
}

/* GGUF "llama.*": grouped-query heads, RMSNorm epsilon, rotary over
 * rope.dimension_count (default d_head) in Meta's interleaved layout --
 * GGUF llama keeps q/k rows as Meta wrote them; they are not permuted. */
int st_llama_like_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    const int64_t BIG = INT32_MAX;
    int64_t Hkv, dh, F, rot;
    double eps, theta;
    ST_TRY(st_gguf_cfg_int(g, "attention.head_count_kv", 0, c->n_heads, 1, BIG, &Hkv, err));
    ST_TRY(st_gguf_cfg_int(g, "attention.key_length", 0, c->d_model / c->n_heads, 1, BIG, &dh, err));
    if (dh < 1 || c->n_heads % Hkv != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: %d heads cannot be grouped over %lld"
                         " key/value heads", st_gguf_path(g), c->n_heads, (long long)Hkv);
    ST_TRY(st_gguf_cfg_int(g, "feed_forward_length", 1, 0, 1, BIG, &F, err));
    ST_TRY(st_gguf_cfg_float(g, "attention.layer_norm_rms_epsilon", 1, 0, &eps, err));
    if (!(eps >= 0))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: negative norm epsilon %g", st_gguf_path(g), eps);
    ST_TRY(st_gguf_cfg_float(g, "rope.freq_base", 0, 10000.0, &theta, err));
    ST_TRY(st_gguf_cfg_int(g, "rope.dimension_count", 0, dh, 0, dh, &rot, err));
    if (rot % 2 != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: rope.dimension_count %lld is odd",
                         st_gguf_path(g), (long long)rot);
    ST_TRY(st_gguf_cfg_refuse_rope_scaling(g, err));
    /* sliding window (llama.cpp writes it for Mistral-style models): every layer */
    int64_t win;
    ST_TRY(st_gguf_cfg_int(g, "attention.sliding_window", 0, 0, 0, BIG, &win, err));
    c->sliding_window = (int32_t)win;
    c->n_kv_heads = (int32_t)Hkv;
    c->d_head = (int32_t)dh;
    c->d_mlp = (int32_t)F;
    c->norm_eps = (float)eps;
    c->rope_theta = (float)theta;
    c->rotary_dim = (int32_t)rot;
    c->norm_kind = STRATA_NORM_RMS;
    c->act = STRATA_ACT_SILU;
    c->gated_mlp = 1;
    c->rope = STRATA_ROPE_INTERLEAVED;
    c->has_bias = 0;
    return STRATA_OK;
}

static int llama_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    return st_llama_like_config_gguf(g, c, err);
}

const st_gguf_name st_llama_gguf_layer[] = {
    {"input_layernorm", "attn_norm", 0, 0},
    {"self_attn.q_proj", "attn_q", 0, 0},
    {"self_attn.k_proj", "attn_k", 0, 0},
    {"self_attn.v_proj", "attn_v", 0, 0},
    {"self_attn.o_proj", "attn_output", 0, 0},
    {"post_attention_layernorm", "ffn_norm", 0, 0},
    {"mlp.gate_proj", "ffn_gate", 0, 0},
    {"mlp.up_proj", "ffn_up", 0, 0},
    {"mlp.down_proj", "ffn_down", 0, 0},
    {NULL, NULL, 0, 0}};
const st_gguf_name st_llama_gguf_global[] = {
    {"model.embed_tokens", "token_embd", 0, 0},
    {"model.norm", "output_norm", 0, 0},
    {"lm_head", "output", 0, 0},
    {NULL, NULL, 0, 0}};

const st_arch st_arch_llama = {
    .id = STRATA_ARCH_LLAMA,
    .name = "llama",
    .hf_types = (const char *const[]){ "llama", "mistral", NULL },
    .gguf_arch = "llama",
    .config_hf = llama_config_hf,
    .config_gguf = llama_config_gguf,
    .hf_layer_prefix = "model.layers.",
    .gguf_layer = st_llama_gguf_layer,
    .gguf_global = st_llama_gguf_global,
    .bind = llama_bind,
};
