/* model/qwen2.c — Qwen2 / Qwen2.5: Llama's block with biases on q, k and v,
 * tied or untied head, and optional sliding-window attention.
 *
 * Weights: llama.c's names, plus model.layers.i.self_attn.{q,k,v}_proj.bias
 * [H*dh], [Hkv*dh], [Hkv*dh] (o_proj has none).
 * Sliding window (HF Qwen2Config): only with use_sliding_window true, of
 * sliding_window keys, on the layers whose layer_types entry is
 * "sliding_attention", or without layer_types on layers >= max_window_layers.
 * GGUF "qwen2" (llama.cpp): llama's tensor names plus attn_{q,k,v}.bias; q/k
 * rows are not permuted (rotate_half rotary).
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "io/json_util.h"
#include "model/arch.h"

static int qwen2_config_hf(const json_t *j, const char *path, strata_config *c, st_err *err)
{
    ST_TRY(st_llama_like_config_hf(j, path, 1e-6, c, err));
    c->arch = STRATA_ARCH_QWEN2;
    c->has_bias = 1;   /* q, k, v */
    const char *act;
    ST_TRY(st_json_str(j, "hidden_act", path, 0, "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: hidden_act '%s' not supported for qwen2 (silu)", path, act);
    int use_sw;
    ST_TRY(st_json_bool(j, "use_sliding_window", path, 0, 0, &use_sw, err));
    if (!use_sw) return STRATA_OK;   /* HF: sliding_window = None */
    ST_TRY(st_json_window(j, path, "sliding_window", &c->sliding_window, err));
    const json_t *lt = json_object_get(j, "layer_types");
    if (lt && !json_is_null(lt))
        return st_window_layers_from_list(lt, path, "layer_types", "sliding_attention", "full_attention", c, err);
    int64_t mwl;
    ST_TRY(st_json_int(j, "max_window_layers", path, 0, 28, &mwl, err));
    c->window_layers = STRATA_WINDOW_FROM;
    c->window_from = mwl < 0 ? 0 : mwl > INT32_MAX ? INT32_MAX : (int32_t)mwl;
    return STRATA_OK;
}

static int qwen2_config_gguf(st_gguf *g, strata_config *c, st_err *err)
{
    ST_TRY(st_llama_like_config_gguf(g, c, err));
    c->rope = STRATA_ROPE_HALF;   /* llama.cpp's qwen2: NeoX-style rotary, rows as HF wrote them */
    c->has_bias = 1;
    return STRATA_OK;
}

static int qwen2_bind(strata_model *m, st_wsource *src)
{
    const st_llama_like v = { .qkv_bias = 1 };
    return st_llama_like_bind(m, src, &v);
}

const st_arch st_arch_qwen2 = {
    .id = STRATA_ARCH_QWEN2,
    .name = "qwen2",
    .hf_types = (const char *const[]){ "qwen2", NULL },
    .gguf_arch = "qwen2",
    .config_hf = qwen2_config_hf,
    .config_gguf = qwen2_config_gguf,
    .hf_layer_prefix = "model.layers.",
    .gguf_layer = st_llama_gguf_layer,
    .gguf_global = st_llama_gguf_global,
    .bind = qwen2_bind,
};
