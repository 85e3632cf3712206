/* model/gpt2.c — GPT-2: learned positions, LayerNorm, gelu_new, Conv1D
 * weights stored [in][out], fused c_attn, tied unembedding.
 *
 * Weights (HF names, with or without the "transformer." prefix):
 *   wte.weight [V][d], wpe.weight [n_ctx][d]
 *   h.i.ln_1.{weight,bias} [d]
 *   h.i.attn.c_attn.weight [d][3d] (columns q | k | v), bias [3d]
 *   h.i.attn.c_proj.weight [d][d], bias [d]
 *   h.i.ln_2.{weight,bias}
 *   h.i.mlp.c_fc.weight [d][F], bias [F];  h.i.mlp.c_proj.weight [F][d], bias [d]
 *   ln_f.{weight,bias}
 * Buffers attn.bias / attn.masked_bias (causal masks) are ignored.
 * config.json "strata_attn_only": true (attention-only models from
 * `strata train --attn-only`): blocks have no ln_2 and no mlp tensors.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "io/json_util.h"
#include "model/arch.h"

static int gpt2_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    int64_t d, L, H, V, T, F;
    double eps;
    const char *act;
    ST_TRY(st_json_int(j, "n_embd", path, 1, 0, &d, err));
    ST_TRY(st_json_int(j, "n_layer", path, 1, 0, &L, err));
    ST_TRY(st_json_int(j, "n_head", path, 1, 0, &H, err));
    ST_TRY(st_json_int(j, "vocab_size", path, 1, 0, &V, err));
    ST_TRY(st_json_int(j, "n_positions", path, 1, 0, &T, err));
    ST_TRY(st_json_int(j, "n_inner", path, 0, 4 * d, &F, err));
    ST_TRY(st_json_num(j, "layer_norm_epsilon", path, 0, 1e-5, &eps, err));
    ST_TRY(st_json_str(j, "activation_function", path, 0, "gelu_new", &act, err));
    int attn_only;
    ST_TRY(st_json_bool(j, "strata_attn_only", path, 0, 0, &attn_only, err));
    if (H <= 0 || d % H != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: n_embd %lld is not divisible by n_head %lld", path, (long long)d, (long long)H);
    c->arch = STRATA_ARCH_GPT2;
    ST_TRY(st_gpt2_like_act(act, path, &c->act, err));
    st_gpt2_like_shape(c, d, L, H, V, T, F, eps);
    /* settings that change the computation: honoured or refused, never ignored */
    int flag;
    ST_TRY(st_json_bool(j, "scale_attn_weights", path, 0, 1, &flag, err));
    if (!flag) c->attn_scale = 1.0f;   /* scores q.k without 1/sqrt(d_head) */
    ST_TRY(st_json_bool(j, "scale_attn_by_inverse_layer_idx", path, 0, 0, &flag, err));
    if (flag)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: scale_attn_by_inverse_layer_idx true is not supported", path);
    ST_TRY(st_json_bool(j, "add_cross_attention", path, 0, 0, &flag, err));
    if (flag)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: add_cross_attention true is not supported (decoder-only models)", path);
    c->attn_only = attn_only;
    return STRATA_OK;
}

int st_gpt2_like_act(const char *act, const char *path, int32_t *out, st_err *err)
{
    if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh")) *out = STRATA_ACT_GELU_NEW;
    else if (!strcmp(act, "gelu")) *out = STRATA_ACT_GELU;
    else if (!strcmp(act, "relu")) *out = STRATA_ACT_RELU;
    else return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: activation_function '%s' not supported", path, act);
    return STRATA_OK;
}

void st_gpt2_like_shape(strata_config *c, int64_t d, int64_t L, int64_t H, int64_t V, int64_t T,
                        int64_t F, double eps)
{
    c->d_model = (int32_t)d; c->n_layers = (int32_t)L; c->n_heads = c->n_kv_heads = (int32_t)H;
    c->d_head = (int32_t)(d / H); c->d_mlp = (int32_t)F; c->vocab_size = (int32_t)V;
    c->n_ctx = (int32_t)T; c->norm_kind = STRATA_NORM_LAYER; c->norm_eps = (float)eps;
    c->gated_mlp = 0; c->rope = STRATA_ROPE_NONE; c->rotary_dim = 0; c->rope_theta = 0;
    c->parallel_residual = 0; c->tied_embeddings = 1; c->has_bias = 1;
}

int st_gpt2_like_bind_ln(strata_model *m, st_wsource *src, st_norm *n, const char *pfx, const char *name)
{
    char w[256];
    snprintf(w, sizeof w, "%s%s.weight", pfx, name);
    ST_TRY(st_bind_vec(m, src, &n->w, w, m->cfg.d_model));
    snprintf(w, sizeof w, "%s%s.bias", pfx, name);
    return st_bind_vec(m, src, &n->b, w, m->cfg.d_model);
}

int st_gpt2_like_bind_embeddings(strata_model *m, st_wsource *src, const char **pfx_out)
{
    const strata_config *c = &m->cfg;
    const char *pfx = src->has(src, "transformer.wte.weight") ? "transformer." : "";
    char w[256];
    int64_t es[2] = { c->vocab_size, c->d_model }, ps[2] = { c->n_ctx, c->d_model };
    snprintf(w, sizeof w, "%swte.weight", pfx);
    ST_TRY(src->get(src, w, 2, es, &m->tok_embed, &m->err));
    snprintf(w, sizeof w, "%swpe.weight", pfx);
    ST_TRY(src->get(src, w, 2, ps, &m->pos_embed, &m->err));
    *pfx_out = pfx;
    return STRATA_OK;
}

static int gpt2_bind(strata_model *m, st_wsource *src)
{
    const strata_config *c = &m->cfg;
    int d = c->d_model, F = c->d_mlp;
    const char *pfx;
    char w[256], b[256];
    int64_t es[2] = { c->vocab_size, d };
    ST_TRY(st_gpt2_like_bind_embeddings(m, src, &pfx));
    for (int i = 0; i < c->n_layers; i++) {
        st_layer *ly = &m->layers[i];
        char ln[64];
        snprintf(ln, sizeof ln, "h.%d.ln_1", i);
        ST_TRY(st_gpt2_like_bind_ln(m, src, &ly->ln1, pfx, ln));
        if (!c->attn_only) {
            snprintf(ln, sizeof ln, "h.%d.ln_2", i);
            ST_TRY(st_gpt2_like_bind_ln(m, src, &ly->ln2, pfx, ln));
        }
        /* c_attn [d][3d]: q, k, v are column blocks of one matrix (ld = 3d). */
        st_linear qkv;
        snprintf(w, sizeof w, "%sh.%d.attn.c_attn.weight", pfx, i);
        snprintf(b, sizeof b, "%sh.%d.attn.c_attn.bias", pfx, i);
        ST_TRY(st_bind_linear(m, src, &qkv, w, b, 3 * d, d, 1));
        ly->qkv_layout = ST_QKV_SEPARATE;
        st_linear *parts[3] = { &ly->q, &ly->k, &ly->v };
        for (int k = 0; k < 3; k++) {
            *parts[k] = qkv;
            parts[k]->w = qkv.w + (size_t)k * d;
            parts[k]->b = qkv.b + (size_t)k * d;
            parts[k]->n_out = d;
            parts[k]->ld = 3 * d;
        }
        snprintf(w, sizeof w, "%sh.%d.attn.c_proj.weight", pfx, i);
        snprintf(b, sizeof b, "%sh.%d.attn.c_proj.bias", pfx, i);
        ST_TRY(st_bind_linear(m, src, &ly->o, w, b, d, d, 1));
        if (c->attn_only) continue;
        snprintf(w, sizeof w, "%sh.%d.mlp.c_fc.weight", pfx, i);
        snprintf(b, sizeof b, "%sh.%d.mlp.c_fc.bias", pfx, i);
        ST_TRY(st_bind_linear(m, src, &ly->mlp_in, w, b, F, d, 1));
        snprintf(w, sizeof w, "%sh.%d.mlp.c_proj.weight", pfx, i);
        snprintf(b, sizeof b, "%sh.%d.mlp.c_proj.bias", pfx, i);
        ST_TRY(st_bind_linear(m, src, &ly->mlp_out, w, b, d, F, 1));
    }
    ST_TRY(st_gpt2_like_bind_ln(m, src, &m->ln_final, pfx, "ln_f"));
    if (src->has(src, "lm_head.weight")) {
        ST_TRY(src->get(src, "lm_head.weight", 2, es, &m->unembed, &m->err));
    } else {
        m->unembed = m->tok_embed;
    }
    return STRATA_OK;
}

/* GGUF "gpt2.*": heads d/H, no rotary, LayerNorm epsilon, gelu_new. */
static int gpt2_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    int64_t F;
    double eps;
    if (c->d_model % c->n_heads != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: gpt2.embedding_length %d is not a multiple of "
                         "gpt2.attention.head_count %d", st_gguf_path(g), c->d_model, c->n_heads);
    ST_TRY(st_gguf_cfg_d_mlp(g, &F, err));
    ST_TRY(st_gguf_cfg_float(g, "attention.layer_norm_epsilon", 1, 0, &eps, err));
    c->n_kv_heads = c->n_heads;
    c->d_head = c->d_model / c->n_heads;
    c->d_mlp = (int32_t)F;
    c->norm_eps = (float)eps;
    c->norm_kind = STRATA_NORM_LAYER;
    c->act = STRATA_ACT_GELU_NEW;
    c->rope = STRATA_ROPE_NONE;
    c->rope_theta = 0; /* no rotary (as the HF loader reports it) */
    c->has_bias = 1;
    return STRATA_OK;
}

static const st_gguf_name gpt2_gguf_layer[] = {
    {"ln_1", "attn_norm", 0, 0},
    {"attn.c_attn", "attn_qkv", ST_GGUF_XF_TRANSPOSE, 0},
    {"attn.c_proj", "attn_output", ST_GGUF_XF_TRANSPOSE, 0},
    {"ln_2", "ffn_norm", 0, 0},
    {"mlp.c_fc", "ffn_up", ST_GGUF_XF_TRANSPOSE, 0},
    {"mlp.c_proj", "ffn_down", ST_GGUF_XF_TRANSPOSE, 0},
    {NULL, NULL, 0, 0}};
static const st_gguf_name gpt2_gguf_global[] = {
    {"wte", "token_embd", 0, 0},
    {"wpe", "position_embd", 0, 0},
    {"ln_f", "output_norm", 0, 0},
    {"lm_head", "output", 0, 0},
    {NULL, NULL, 0, 0}};

const st_arch st_arch_gpt2 = {
    .id = STRATA_ARCH_GPT2,
    .name = "gpt2",
    .hf_types = (const char *const[]){ "gpt2", NULL },
    .gguf_arch = "gpt2",
    .config_hf = gpt2_config_hf,
    .config_gguf = gpt2_config_gguf,
    .hf_layer_prefix = "h.",
    .hf_optional_prefix = "transformer.",
    .gguf_layer = gpt2_gguf_layer,
    .gguf_global = gpt2_gguf_global,
    .bind = gpt2_bind,
};
