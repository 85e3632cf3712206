/* model/gpt_neo.c — GPT-Neo (EleutherAI; the TinyStories-1M ... 33M models):
 * GPT-2's block with nn.Linear weights, no 1/sqrt(d_head) scaling of the
 * attention scores, and local (windowed) attention on some layers.
 *
 * Weights (HF names, "transformer." prefix optional, nn.Linear [out][in]):
 *   wte.weight [V][d], wpe.weight [n_ctx][d]
 *   h.i.ln_1.{weight,bias} [d]
 *   h.i.attn.attention.{q,k,v}_proj.weight [d][d]      (no biases)
 *   h.i.attn.attention.out_proj.weight [d][d], bias [d]
 *   h.i.ln_2.{weight,bias}
 *   h.i.mlp.c_fc.weight [F][d], bias [F];  h.i.mlp.c_proj.weight [d][F], bias [d]
 *   ln_f.{weight,bias};  lm_head.weight [V][d] (absent when tied to wte)
 * Buffers h.i.attn.attention.bias (causal/local masks, BOOL or uint8) and
 * masked_bias are skipped (st_is_buffer_name).
 * Attention (modeling_gpt_neo.py): scores q.k^T unscaled; layers listed
 * "local" in attention_layers (else attention_types [[kinds, n], ...] expanded)
 * see keys i - window_size < j <= i (bias ^ tril(bias, -window_size)); the
 * pattern must be one strata_window_layers expresses (GPT-Neo's own
 * global/local alternation is STRATA_WINDOW_ODD).
 * No GGUF: llama.cpp has no gpt_neo architecture.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "io/json_util.h"
#include "model/arch.h"

/* attention_types [[["global", "local"], 4], ...] -> a JSON list of n_layers kinds
 * (new reference), or NULL with err set. */
static json_t *expand_attention_types(const json_t *types, const char *path, int L, st_err *err)
{
    json_t *out = json_array();
    if (!out) { st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); return NULL; }
    size_t i;
    const json_t *item;
    json_array_foreach(types, i, item) {
        const json_t *kinds = json_array_get(item, 0), *rep = json_array_get(item, 1);
        if (!json_is_array(item) || json_array_size(item) != 2 || !json_is_array(kinds) ||
            !json_is_integer(rep) || json_integer_value(rep) < 0 || json_integer_value(rep) > L) {
            st_seterr(err, STRATA_ERR_FORMAT, "%s: attention_types[%zu] is not [[kinds...], count]", path, i);
            json_decref(out);
            return NULL;
        }
        for (json_int_t r = 0; r < json_integer_value(rep); r++) {
            size_t k;
            const json_t *kind;
            json_array_foreach(kinds, k, kind) {
                if ((int)json_array_size(out) > L) break;   /* too many: reported by the caller */
                json_array_append(out, (json_t *)kind);
            }
        }
    }
    return out;
}

static int gpt_neo_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    int64_t d, L, H, V, T, F, win;
    double eps;
    int tied;
    const char *act;
    ST_TRY(st_json_int(j, "hidden_size", path, 1, 0, &d, err));
    ST_TRY(st_json_int(j, "num_layers", path, 1, 0, &L, err));
    ST_TRY(st_json_int(j, "num_heads", path, 1, 0, &H, err));
    ST_TRY(st_json_int(j, "vocab_size", path, 1, 0, &V, err));
    ST_TRY(st_json_int(j, "max_position_embeddings", path, 1, 0, &T, err));
    ST_TRY(st_json_int(j, "intermediate_size", path, 0, 4 * d, &F, err));
    ST_TRY(st_json_int(j, "window_size", path, 0, 256, &win, err));
    ST_TRY(st_json_num(j, "layer_norm_epsilon", path, 0, 1e-5, &eps, err));
    ST_TRY(st_json_bool(j, "tie_word_embeddings", path, 0, 1, &tied, err));
    ST_TRY(st_json_str(j, "activation_function", path, 0, "gelu_new", &act, err));
    if (H <= 0 || d % H != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: hidden_size %lld is not divisible by num_heads %lld",
                         path, (long long)d, (long long)H);
    if (L <= 0 || L > 4096 || win < 1 || win > INT32_MAX)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: num_layers %lld or window_size %lld out of range", path,
                         (long long)L, (long long)win);
    c->arch = STRATA_ARCH_GPT_NEO;
    /* GPT-2's activations, and two more GPT-Neo configs use */
    if (!strcmp(act, "gelu_fast")) c->act = STRATA_ACT_GELU_NEW;
    else if (!strcmp(act, "silu")) c->act = STRATA_ACT_SILU;
    else ST_TRY(st_gpt2_like_act(act, path, &c->act, err));
    st_gpt2_like_shape(c, d, L, H, V, T, F, eps);
    c->tied_embeddings = tied;
    c->attn_scale = 1.0f;   /* no 1/sqrt(d_head) */
    c->sliding_window = (int32_t)win;
    /* attention_layers as written (HF keeps a config.json value over the
     * expansion of attention_types), else attention_types expanded */
    const json_t *al = json_object_get(j, "attention_layers");
    if (al && !json_is_null(al))
        return st_window_layers_from_list(al, path, "attention_layers", "local", "global", c, err);
    const json_t *at = json_object_get(j, "attention_types");
    if (!at || json_is_null(at)) {   /* HF default [[["global", "local"], num_layers / 2]] */
        c->window_layers = STRATA_WINDOW_ODD;
        return STRATA_OK;
    }
    if (!json_is_array(at))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'attention_types' is not a list", path);
    json_t *list = expand_attention_types(at, path, c->n_layers, err);
    if (!list) return STRATA_ERR_FORMAT;
    int rc = st_window_layers_from_list(list, path, "attention_types (expanded)", "local", "global", c, err);
    json_decref(list);
    return rc;
}

static int gpt_neo_bind(strata_model *m, st_wsource *src)
{
    const strata_config *c = &m->cfg;
    const int d = c->d_model, F = c->d_mlp;
    const char *pfx;
    char w[256], b[256];
    int64_t es[2] = { c->vocab_size, d };
    ST_TRY(st_gpt2_like_bind_embeddings(m, src, &pfx));
    for (int i = 0; i < c->n_layers; i++) {
        st_layer *ly = &m->layers[i];
        char p[96];
        snprintf(p, sizeof p, "%sh.%d.", pfx, i);
        ly->window = st_layer_window(c, i);
        ly->qkv_layout = ST_QKV_SEPARATE;
        snprintf(w, sizeof w, "h.%d.ln_1", i);
        ST_TRY(st_gpt2_like_bind_ln(m, src, &ly->ln1, pfx, w));
        snprintf(w, sizeof w, "h.%d.ln_2", i);
        ST_TRY(st_gpt2_like_bind_ln(m, src, &ly->ln2, pfx, w));
        st_linear *qkv[3] = { &ly->q, &ly->k, &ly->v };
        for (int k = 0; k < 3; k++) {
            snprintf(w, sizeof w, "%sattn.attention.%c_proj.weight", p, "qkv"[k]);
            ST_TRY(st_bind_linear(m, src, qkv[k], w, NULL, d, d, 0));
        }
        snprintf(w, sizeof w, "%sattn.attention.out_proj.weight", p);
        snprintf(b, sizeof b, "%sattn.attention.out_proj.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->o, w, b, d, d, 0));
        snprintf(w, sizeof w, "%smlp.c_fc.weight", p);
        snprintf(b, sizeof b, "%smlp.c_fc.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->mlp_in, w, b, F, d, 0));
        snprintf(w, sizeof w, "%smlp.c_proj.weight", p);
        snprintf(b, sizeof b, "%smlp.c_proj.bias", p);
        ST_TRY(st_bind_linear(m, src, &ly->mlp_out, w, b, d, F, 0));
    }
    ST_TRY(st_gpt2_like_bind_ln(m, src, &m->ln_final, pfx, "ln_f"));
    if (src->has(src, "lm_head.weight")) {
        ST_TRY(src->get(src, "lm_head.weight", 2, es, &m->unembed, &m->err));
        m->cfg.tied_embeddings = 0;
    } else if (c->tied_embeddings) {
        m->unembed = m->tok_embed;
    } else {
        return st_seterr(&m->err, STRATA_ERR_NOTFOUND,
                         "%s: missing tensor 'lm_head.weight' (config says tie_word_embeddings false)", src->path);
    }
    return STRATA_OK;
}

const st_arch st_arch_gpt_neo = {
    .id = STRATA_ARCH_GPT_NEO,
    .name = "gpt_neo",
    .hf_types = (const char *const[]){ "gpt_neo", NULL },
    .gguf_arch = NULL,
    .config_hf = gpt_neo_config_hf,
    .hf_layer_prefix = "transformer.h.",
    .bind = gpt_neo_bind,
};
