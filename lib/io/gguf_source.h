/* io/gguf_source.h — a GGUF file as a weight source (internal).
 *
 * Defines: st_gguf_source_open(), st_gguf_source_gguf(),
 * st_gguf_hf_to_gguf_name().
 *
 * The source answers requests in Hugging Face terms (names and row-major
 * shapes as torch reports them, see st_wsource in model/model_internal.h),
 * maps them to llama.cpp's GGUF tensor names and converts layouts where the
 * two differ.  Architectures (general.architecture):
 *
 *   llama    model.embed_tokens.weight -> token_embd.weight,
 *            model.layers.{i}.input_layernorm -> blk.{i}.attn_norm,
 *            self_attn.{q,k,v,o}_proj -> attn_{q,k,v,output},
 *            post_attention_layernorm -> ffn_norm,
 *            mlp.{gate,up,down}_proj -> ffn_{gate,up,down},
 *            model.norm -> output_norm, lm_head -> output.
 *            Same memory layout as HF ([out][in], ne = {in, out}); q/k rows are
 *            in the Meta interleaved rotary layout (cfg->rope =
 *            STRATA_ROPE_INTERLEAVED); they are NOT permuted.
 *   gpt2     wte -> token_embd, wpe -> position_embd, h.{i}.ln_1 -> attn_norm,
 *            attn.c_attn -> attn_qkv, attn.c_proj -> attn_output,
 *            ln_2 -> ffn_norm, mlp.c_fc -> ffn_up, mlp.c_proj -> ffn_down,
 *            ln_f -> output_norm, lm_head -> output ("transformer." prefix
 *            optional).  HF Conv1D weights are [in][out]; llama.cpp's
 *            converter transposed them to [out][in]: transposed back into a
 *            buffer the source owns.
 *   gptneox  gpt_neox.embed_in -> token_embd, layers.{i}.input_layernorm ->
 *            attn_norm, post_attention_layernorm -> ffn_norm,
 *            attention.query_key_value -> attn_qkv, attention.dense ->
 *            attn_output, mlp.dense_h_to_4h -> ffn_up, mlp.dense_4h_to_h ->
 *            ffn_down, final_layer_norm -> output_norm, embed_out -> output.
 *            HF's fused qkv rows go per head (q_h | k_h | v_h for h = 0..H-1);
 *            llama.cpp's converter regroups them as [q | k | v]: put back in
 *            the HF per-head order (weight rows and bias) in an owned buffer.
 *
 * Data: F32 tensors that need no conversion are returned as pointers into the
 * mapping; F16, BF16, Q8_0 and Q4_0 are converted to float32 once, on the
 * first get(), into buffers the source owns (freed by close()).  Any other
 * type is refused, naming the tensor and type.
 */
#ifndef STRATA_IO_GGUF_SOURCE_H
#define STRATA_IO_GGUF_SOURCE_H

#include <stddef.h>
#include "io/gguf.h"
#include "model/model_internal.h"

/* Opens `path`, fills *cfg from general.* and {arch}.* metadata and makes
 * *src a weight source over it.  On failure *src is left closed (its close()
 * is a no-op) and err names the file and the problem:
 * STRATA_ERR_UNSUPPORTED for an unknown architecture (named) or unsupported
 * rope scaling, STRATA_ERR_FORMAT for a missing required key (named) or
 * inconsistent hyper-parameters, or the reader's own status. */
int st_gguf_source_open(const char *path, st_wsource *src, strata_config *cfg, st_err *err);

/* The GGUF context behind a source made by st_gguf_source_open() (borrowed,
 * valid until src->close()), e.g. for the tokenizer's tokenizer.ggml.* keys;
 * NULL if src is not a GGUF source. */
st_gguf *st_gguf_source_gguf(const st_wsource *src);

/* Maps a Hugging Face tensor name to its GGUF name for arch (strata_arch).
 * Returns 0 (and writes gguf_name) or -1 if the name has no GGUF
 * counterpart.  *xform (may be NULL) receives the layout conversion:
 * 0 none, 1 transpose (GPT-2 Conv1D), 2 NeoX qkv regrouping. */
int st_gguf_hf_to_gguf_name(int arch, const char *hf_name, char *gguf_name, size_t cap, int *xform);

#endif
