/* model/neox.c — GPT-NeoX / Pythia: LayerNorm, rotary (rotate_half) on the
 * first rotary_pct of each head, parallel or sequential residual, fused qkv
 * laid out per head, untied embed_out.
 *
 * Weights (HF names, nn.Linear [out][in]):
 *   gpt_neox.embed_in.weight [V][d]
 *   gpt_neox.layers.i.input_layernorm.{weight,bias}, post_attention_layernorm.*
 *   gpt_neox.layers.i.attention.query_key_value.weight [3d][d], bias [3d]
 *       rows of head h: [h*3*dh, h*3*dh+dh) = q_h, then k_h, then v_h
 *   gpt_neox.layers.i.attention.dense.{weight [d][d], bias}
 *   gpt_neox.layers.i.mlp.dense_h_to_4h.{weight [F][d], bias}, dense_4h_to_h.{weight [d][F], bias}
 *   gpt_neox.final_layer_norm.{weight,bias};  embed_out.weight [V][d]
 * Residual: parallel  x + attn(ln1(x)) + mlp(ln2(x));
 *           sequential x' = x + attn(ln1(x)); x' + mlp(ln2(x')).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "io/json_util.h"
#include "model/arch.h"

static int neox_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    int64_t d, L, H, V, T, F;
    double eps, pct, base;
    int par, tied;
    const char *act;
    ST_TRY(st_json_int(j, "hidden_size", path, 1, 0, &d, err));
    ST_TRY(st_json_int(j, "num_hidden_layers", path, 1, 0, &L, err));
    ST_TRY(st_json_int(j, "num_attention_heads", path, 1, 0, &H, err));
    ST_TRY(st_json_int(j, "intermediate_size", path, 1, 0, &F, err));
    ST_TRY(st_json_int(j, "vocab_size", path, 1, 0, &V, err));
    ST_TRY(st_json_int(j, "max_position_embeddings", path, 1, 0, &T, err));
    ST_TRY(st_json_num(j, "layer_norm_eps", path, 0, 1e-5, &eps, err));
    ST_TRY(st_json_num(j, "rotary_pct", path, 0, 1.0, &pct, err));
    /* newer configs name the base rope_theta */
    double theta;
    ST_TRY(st_json_num(j, "rope_theta", path, 0, 10000.0, &theta, err));
    ST_TRY(st_json_num(j, "rotary_emb_base", path, 0, theta, &base, err));
    const json_t *rs = json_object_get(j, "rope_scaling");
    if (rs && !json_is_null(rs))
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: field 'rope_scaling' is set; scaled rotary is not supported", path);
    int abias;
    ST_TRY(st_json_bool(j, "attention_bias", path, 0, 1, &abias, err));
    if (!abias)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: attention_bias false is not supported for gpt_neox", path);
    ST_TRY(st_json_bool(j, "use_parallel_residual", path, 0, 1, &par, err));
    ST_TRY(st_json_bool(j, "tie_word_embeddings", path, 0, 0, &tied, err));
    ST_TRY(st_json_str(j, "hidden_act", path, 0, "gelu", &act, err));
    if (H <= 0 || d % H != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: hidden_size %lld not divisible by num_attention_heads %lld", path, (long long)d, (long long)H);
    c->arch = STRATA_ARCH_NEOX;
    if (!strcmp(act, "gelu")) c->act = STRATA_ACT_GELU;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_fast") || !strcmp(act, "gelu_pytorch_tanh")) c->act = STRATA_ACT_GELU_NEW;
    else if (!strcmp(act, "relu")) c->act = STRATA_ACT_RELU;
    else return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: hidden_act '%s' not supported", path, act);
    c->d_model = (int32_t)d; c->n_layers = (int32_t)L; c->n_heads = c->n_kv_heads = (int32_t)H;
    c->d_head = (int32_t)(d / H); c->d_mlp = (int32_t)F; c->vocab_size = (int32_t)V;
    c->n_ctx = (int32_t)T; c->norm_kind = STRATA_NORM_LAYER; c->norm_eps = (float)eps;
    c->gated_mlp = 0; c->rope = STRATA_ROPE_HALF;
    /* HF: rotary_ndims = int(head_size * rotary_pct) */
    c->rotary_dim = (int32_t)((double)c->d_head * pct);
    if (c->rotary_dim % 2) c->rotary_dim--;
    c->rope_theta = (float)base; c->parallel_residual = par; c->tied_embeddings = tied;
    c->has_bias = 1;
    return STRATA_OK;
}

static int bind_ln(strata_model *m, st_wsource *src, st_norm *n, const char *name)
{
    char w[256];
    snprintf(w, sizeof w, "%s.weight", name);
    ST_TRY(st_bind_vec(m, src, &n->w, w, m->cfg.d_model));
    snprintf(w, sizeof w, "%s.bias", name);
    return st_bind_vec(m, src, &n->b, w, m->cfg.d_model);
}

static int neox_bind(strata_model *m, st_wsource *src)
{
    const strata_config *c = &m->cfg;
    int d = c->d_model, F = c->d_mlp;
    char w[256], b[256];
    int64_t es[2] = { c->vocab_size, d };
    ST_TRY(src->get(src, "gpt_neox.embed_in.weight", 2, es, &m->tok_embed, &m->err));
    for (int i = 0; i < c->n_layers; i++) {
        st_layer *ly = &m->layers[i];
        char p[128];
        snprintf(p, sizeof p, "gpt_neox.layers.%d", i);
        snprintf(w, sizeof w, "%s.input_layernorm", p);
        ST_TRY(bind_ln(m, src, &ly->ln1, w));
        snprintf(w, sizeof w, "%s.post_attention_layernorm", p);
        ST_TRY(bind_ln(m, src, &ly->ln2, w));
        ly->qkv_layout = ST_QKV_NEOX;
        snprintf(w, sizeof w, "%s.attention.query_key_value.weight", p);
        snprintf(b, sizeof b, "%s.attention.query_key_value.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->qkv, w, b, 3 * d, d, 0));
        snprintf(w, sizeof w, "%s.attention.dense.weight", p);
        snprintf(b, sizeof b, "%s.attention.dense.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->o, w, b, d, d, 0));
        snprintf(w, sizeof w, "%s.mlp.dense_h_to_4h.weight", p);
        snprintf(b, sizeof b, "%s.mlp.dense_h_to_4h.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->mlp_in, w, b, F, d, 0));
        snprintf(w, sizeof w, "%s.mlp.dense_4h_to_h.weight", p);
        snprintf(b, sizeof b, "%s.mlp.dense_4h_to_h.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->mlp_out, w, b, d, F, 0));
    }
    ST_TRY(bind_ln(m, src, &m->ln_final, "gpt_neox.final_layer_norm"));
    if (src->has(src, "embed_out.weight")) {
        ST_TRY(src->get(src, "embed_out.weight", 2, es, &m->unembed, &m->err));
        m->cfg.tied_embeddings = 0;
    } else if (c->tied_embeddings) {
        m->unembed = m->tok_embed;
    } else {
        return st_seterr(&m->err, STRATA_ERR_NOTFOUND, "%s: missing tensor 'embed_out.weight'", src->path);
    }
    return STRATA_OK;
}

/* GGUF "gptneox.*": heads d/H, rotary dims required, parallel residual
 * (default true), exact gelu; the fused qkv is regrouped by the source. */
static int neox_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    int64_t F, rot;
    double eps, theta;
    int par;
    if (c->d_model % c->n_heads != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: gptneox.embedding_length %d is not a multiple of "
                         "gptneox.attention.head_count %d", st_gguf_path(g), c->d_model, c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->d_head = c->d_model / c->n_heads;
    ST_TRY(st_gguf_cfg_d_mlp(g, &F, err));
    ST_TRY(st_gguf_cfg_float(g, "attention.layer_norm_epsilon", 1, 0, &eps, err));
    ST_TRY(st_gguf_cfg_float(g, "rope.freq_base", 0, 10000.0, &theta, err));
    ST_TRY(st_gguf_cfg_int(g, "rope.dimension_count", 1, 0, 0, c->d_head, &rot, err));
    ST_TRY(st_gguf_cfg_refuse_rope_scaling(g, err));
    ST_TRY(st_gguf_cfg_bool(g, "use_parallel_residual", 1, &par, err));
    c->d_mlp = (int32_t)F;
    c->norm_eps = (float)eps;
    c->rope_theta = (float)theta;
    c->rotary_dim = (int32_t)rot;
    c->norm_kind = STRATA_NORM_LAYER;
    c->act = STRATA_ACT_GELU;
    c->rope = STRATA_ROPE_HALF;
    c->has_bias = 1;
    c->parallel_residual = par;
    return STRATA_OK;
}

static const st_gguf_name neox_gguf_layer[] = {
    {"input_layernorm", "attn_norm", 0, 0},
    {"post_attention_layernorm", "ffn_norm", 0, 0},
    {"attention.query_key_value", "attn_qkv", ST_GGUF_XF_NEOX_QKV, ST_GGUF_XF_NEOX_QKV},
    {"attention.dense", "attn_output", 0, 0},
    {"mlp.dense_h_to_4h", "ffn_up", 0, 0},
    {"mlp.dense_4h_to_h", "ffn_down", 0, 0},
    {NULL, NULL, 0, 0}};
static const st_gguf_name neox_gguf_global[] = {
    {"gpt_neox.embed_in", "token_embd", 0, 0},
    {"gpt_neox.final_layer_norm", "output_norm", 0, 0},
    {"embed_out", "output", 0, 0},
    {NULL, NULL, 0, 0}};

const st_arch st_arch_neox = {
    .id = STRATA_ARCH_NEOX,
    .name = "neox",
    .hf_types = (const char *const[]){ "gpt_neox", NULL },
    .gguf_arch = "gptneox",
    .config_hf = neox_config_hf,
    .config_gguf = neox_config_gguf,
    .hf_layer_prefix = "gpt_neox.layers.",
    .gguf_layer = neox_gguf_layer,
    .gguf_global = neox_gguf_global,
    .bind = neox_bind,
};
