/* strata/model.h — opening models and running the hooked forward pass.
 *
 * Defines: strata_arch, strata_config, strata_open_opts,
 * strata_open_opts_default(), strata_model_open(), strata_model_free(),
 * strata_errmsg(), strata_model_config(), strata_model_set_threads(),
 * strata_run(), strata_generate(), version helpers.
 *
 * A model is opened from a Hugging Face directory (config.json +
 * model.safetensors or sharded model-*.safetensors with
 * model.safetensors.index.json) or a GGUF file.  F32 weights are memory-mapped;
 * F16/BF16 (and GGUF Q8_0/Q4_0) are converted to float32 once, at load.
 *
 * Threads: a model handle runs one call at a time (strata_run,
 * strata_generate, hook changes); separate handles may run on separate
 * threads at once, each with its own OpenMP team, with the same results as
 * one after another (tests/test_concurrency.c).  The version, strata_arch_*
 * and strata_blas_* functions may be called from any thread.
 */
#ifndef STRATA_MODEL_H
#define STRATA_MODEL_H

#include "strata/api.h"

#include <stddef.h>
#include <stdint.h>
#include "strata/error.h"
#include "strata/version.h"
#include "strata/tensor.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

STRATA_API const char *strata_libversion(void);
STRATA_API int strata_libversion_number(void);

typedef struct strata_model strata_model;

typedef enum strata_arch {
    STRATA_ARCH_GPT2 = 0,
    STRATA_ARCH_NEOX = 1,
    STRATA_ARCH_LLAMA = 2,     /* also Mistral */
    STRATA_ARCH_GPT_NEO = 3,
    STRATA_ARCH_GEMMA = 4,
    STRATA_ARCH_GEMMA2 = 5,
    STRATA_ARCH_QWEN2 = 6
} strata_arch;

/* An architecture's short name as capture files record it ("gpt2", "neox",
 * "llama") and its Hugging Face model_type ("gpt2", "gpt_neox", "llama");
 * static text, NULL for an unknown value. */
STRATA_API const char *strata_arch_name(int32_t arch);
STRATA_API const char *strata_arch_model_type(int32_t arch);

typedef enum strata_norm_kind { STRATA_NORM_LAYER = 0, STRATA_NORM_RMS = 1 } strata_norm_kind;
typedef enum strata_act_kind {
    STRATA_ACT_GELU_NEW = 0, /* tanh approximation (GPT-2 "gelu_new") */
    STRATA_ACT_GELU = 1,     /* exact erf gelu (NeoX "gelu") */
    STRATA_ACT_SILU = 2,
    STRATA_ACT_RELU = 3
} strata_act_kind;

/* Rotary layout of q/k inside each head. */
typedef enum strata_rope_kind {
    STRATA_ROPE_NONE = 0,
    STRATA_ROPE_HALF = 1,        /* HF rotate_half: pairs (j, j + rot/2) */
    STRATA_ROPE_INTERLEAVED = 2  /* Meta/llama2.c/GGUF llama: pairs (2j, 2j+1) */
} strata_rope_kind;

/* Which layers attend over the sliding window (when sliding_window > 0). */
typedef enum strata_window_layers {
    STRATA_WINDOW_ALL = 0,    /* every layer (Mistral) */
    STRATA_WINDOW_EVEN = 1,   /* layers 0, 2, 4, ... (Gemma-2) */
    STRATA_WINDOW_ODD = 2,    /* layers 1, 3, 5, ... (GPT-Neo's global/local alternation) */
    STRATA_WINDOW_FROM = 3    /* layers >= window_from (Qwen2 max_window_layers) */
} strata_window_layers;

typedef struct strata_config {
    int32_t arch;             /* strata_arch */
    char    name[128];        /* model name (directory or general.name) */
    int32_t d_model;
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;       /* == n_heads without GQA */
    int32_t d_head;
    int32_t d_mlp;
    int32_t vocab_size;
    int32_t n_ctx;            /* max positions */
    int32_t norm_kind;        /* strata_norm_kind */
    float   norm_eps;
    int32_t act;              /* strata_act_kind */
    int32_t gated_mlp;        /* 1: SwiGLU-style down(act(gate x) * up x) */
    int32_t rope;             /* strata_rope_kind */
    int32_t rotary_dim;       /* dims of each head that rotate (NeoX rotary_pct) */
    float   rope_theta;
    int32_t parallel_residual;/* NeoX use_parallel_residual */
    int32_t tied_embeddings;
    int32_t has_bias;         /* linear layers carry biases */
    int32_t bos_token_id, eos_token_id;  /* -1 if unknown */
    /* Attention variations (appended; zero = the GPT-2/Llama default). */
    int32_t sliding_window;   /* > 0: windowed layers let the query at position i see keys
                                 i - sliding_window < j <= i only (which layers: see
                                 docs/MODELS.md; Mistral: all) */
    float   attn_scale;       /* multiplies q.k; 0 means 1/sqrt(d_head) */
    float   attn_softcap;     /* > 0: scores -> c * tanh(scores / c) (Gemma-2) */
    float   final_softcap;    /* > 0: logits -> c * tanh(logits / c) (Gemma-2) */
    int32_t attn_only;        /* 1: blocks have no MLP and no ln2 (GPT-2 config
                                 "strata_attn_only": true, models strata trains) */
    float   embed_scale;      /* token embeddings multiplied by this (Gemma: sqrt(d_model));
                                 0 means 1 */
    int32_t post_norms;       /* 1: norms after attention and after the MLP, before the
                                 residual add (Gemma-2; hooks ln1_post, ln2_post) */
    int32_t window_layers;    /* which layers use sliding_window: strata_window_layers */
    int32_t window_from;      /* STRATA_WINDOW_FROM: the first windowed layer */
} strata_config;

/* What a forward pass does when it produces NaN or +-Inf (weights holding
 * NaN, an overflow, a hook writing one).  Every mode but OFF scans the
 * activations after the embedding and after each layer's attention, MLP and
 * residual sum, and the logits (valid positions only; ~1% of a forward); on
 * the first non-finite value it looks through that sublayer's buffers in
 * forward order and names the first hook point holding one. */
typedef enum strata_nonfinite_mode {
    STRATA_NONFINITE_WARN = 0,  /* default: the run succeeds; the first place is
                                   kept for strata_model_nonfinite() */
    STRATA_NONFINITE_ERROR = 1, /* the run fails with STRATA_ERR_NUMERIC naming it */
    STRATA_NONFINITE_OFF = 2    /* no scan */
} strata_nonfinite_mode;

typedef struct strata_open_opts {
    int32_t n_threads;        /* 0: all cores */
    int32_t nonfinite;        /* strata_nonfinite_mode (default WARN) */
    const char *revision;     /* hub ids only: a branch or tag under refs/, or a commit
                                 hash; NULL: "main" (see strata_model_open) */
    int32_t weights_f32;      /* 1: convert F16/BF16/Q8_0 weights to a float32 copy at load
                                 (faster products, twice the memory or more); 0 (default):
                                 matrices stay in their stored type, memory-mapped, and are
                                 converted tile by tile inside each product */
    int32_t reserved[3];
} strata_open_opts;

STRATA_API strata_open_opts strata_open_opts_default(void);

/* Opens a model: a Hugging Face model directory, a GGUF file, or a hub id
 * ("ORG/NAME") found in the local Hugging Face cache ($HF_HUB_CACHE, else
 * $HF_HOME/hub, else ~/.cache/huggingface/hub: models--ORG--NAME/snapshots/
 * <commit>/, the commit read from refs/<revision>; opts->revision, default
 * "main", may also be a commit hash).  A path that exists wins over an id;
 * nothing is downloaded.  A snapshot holding one *.gguf file and no
 * config.json opens that file.  Tensors in the file that the architecture
 * does not use are an error naming them, except the causal-mask and rotary
 * buffers older checkpoints carry (attn.bias, attention.masked_bias,
 * rotary_emb.inv_freq, any dtype), which are skipped.
 * *out is set even on failure (unless allocation itself
 * failed) so strata_errmsg(*out) can explain; free it with
 * strata_model_free() either way.  opts may be NULL. */
STRATA_API strata_status strata_model_open(const char *path, const strata_open_opts *opts,
                                strata_model **out);
STRATA_API void strata_model_free(strata_model *m); /* NULL is a no-op */

/* The snapshot directory of hub id `id` at `revision` (NULL: "main") in the
 * local Hugging Face cache, as strata_model_open finds it, written to out.
 * On failure msg (may be NULL) gets the reason, listing the paths tried:
 * STRATA_ERR_NOTFOUND (model or revision not cached), STRATA_ERR_ARG
 * (malformed id or revision), STRATA_ERR_FORMAT (a refs file without a hash). */
STRATA_API strata_status strata_hub_resolve(const char *id, const char *revision, char *out, size_t out_cap,
                                 char *msg, size_t msg_cap);

/* Last error message on this handle; "" if none.  Owned by the handle,
 * valid until the next call on it.  m == NULL gives a static message. */
STRATA_API const char *strata_errmsg(const strata_model *m);

/* Borrowed; valid for the model's lifetime. */
STRATA_API const strata_config *strata_model_config(const strata_model *m);
STRATA_API int64_t strata_model_n_params(const strata_model *m);
/* Format the model came from: "hf" or "gguf". */
STRATA_API const char *strata_model_format(const strata_model *m);
/* The local file or directory the model was loaded from (a hub id resolves
 * to its cache snapshot; a directory holding one GGUF file to that file).
 * Borrowed; "" for NULL. */
STRATA_API const char *strata_model_path(const strata_model *m);

STRATA_API strata_status strata_model_set_threads(strata_model *m, int n_threads);

/* Sets the strata_nonfinite_mode and forgets an earlier finding. */
STRATA_API strata_status strata_model_set_nonfinite(strata_model *m, int mode);
/* Where a forward pass of this model first produced NaN/Inf since it was
 * opened (or since strata_model_set_nonfinite), e.g. "nan at
 * blocks.2.attn.hook_q (layer 2), sequence 0 position 3, element 17";
 * NULL if never.  Owned by the model. */
STRATA_API const char *strata_model_nonfinite(const strata_model *m);
/* Memory the weights take: bytes bound in place in the file's mapping
 * (paged in from the file as used; shared with the page cache) and bytes
 * of float32 copies the library allocated.  Either pointer may be NULL. */
STRATA_API void strata_model_weight_memory(const strata_model *m, int64_t *mapped_bytes, int64_t *owned_bytes);

/* Forward pass over a batch.
 *   tokens     [batch][T] row-major, T = max(lengths); entries past a
 *              sequence's length are ignored (use any valid id, e.g. 0)
 *   lengths    [batch], each in 1..n_ctx
 *   logits_out [batch][T][vocab] or NULL (then the unembedding is skipped
 *              unless hook_logits is hooked, and layers after the last hooked
 *              one are skipped too)
 * Returns STRATA_OK, STRATA_STOPPED (a hook returned non-zero) or an error. */
/* The model's read-out applied to rows of a residual stream:
 *   logits [n][V] = ln_final(resid [n][d]) . W_U^T (+ b_U)
 * exactly what the forward pass computes after its last block (the logit
 * lens applies it to every layer's stream).  One call at a time per model,
 * on the model's threads. */
STRATA_API strata_status strata_model_readout(strata_model *m, const float *resid, int64_t n, float *logits);

STRATA_API strata_status strata_run(strata_model *m, const int32_t *tokens, const int32_t *lengths,
                         int batch, float *logits_out);

/* Options for strata_run_v2. */
typedef struct strata_run_opts {
    int32_t logits;        /* 0 none, 1 every position, 2 last valid position only */
    int32_t reserved[7];
} strata_run_opts;
/* As strata_run; with opts->logits == 2, logits_out is [batch][vocab]. */
STRATA_API strata_status strata_run_v2(strata_model *m, const int32_t *tokens, const int32_t *lengths,
                            int batch, const strata_run_opts *opts, float *logits_out);

/* Greedy decoding (argmax, first index on ties) with a KV cache.
 * prompt [n_prompt] (include BOS yourself); writes n_new ids to out_ids.
 * Hooks fire during generation too (pos_offset tells the absolute position). */
STRATA_API strata_status strata_generate(strata_model *m, const int32_t *prompt, int n_prompt,
                              int n_new, int32_t *out_ids);

/* Sampling options for strata_generate_ex (zero-initialise, then set). */
typedef struct strata_generate_opts {
    float temperature;        /* <= 0: greedy argmax (first index on ties); else logits / T */
    int32_t top_k;            /* > 0: sample among the k most likely tokens only */
    float top_p;              /* in (0, 1): nucleus -- the smallest set of most likely tokens
                                 whose probability sums to >= top_p; 0 or >= 1: off */
    uint64_t seed;            /* the sampler's seed (same seed, same tokens) */
    const int32_t *stop_ids;  /* [n_stop]: stop after emitting one of these (it is kept) */
    int32_t n_stop;
    int32_t reserved[5];
} strata_generate_opts;

/* Decoding with a KV cache: greedy when opts is NULL or opts->temperature <= 0,
 * else sampling (temperature, then top-k, then top-p, as Hugging Face applies
 * them).  Writes up to max_new ids to out_ids and their count to *n_out (fewer
 * when a stop id came). */
STRATA_API strata_status strata_generate_ex(strata_model *m, const int32_t *prompt, int n_prompt,
                                 int max_new, const strata_generate_opts *opts,
                                 int32_t *out_ids, int *n_out);

/* Read-only views of the weights, TransformerLens names and layouts (no copy):
 *   "W_E" [V][d], "W_pos" [n_ctx][d] (learned positions only), "W_U" [d][V], "b_U" [V]
 *   "blocks.L.attn.W_Q" [H][d][dh], "W_K", "W_V" [n_kv_heads][d][dh], "W_O" [H][dh][d],
 *   "blocks.L.attn.b_Q" [H][dh], "b_K", "b_V" [n_kv_heads][dh], "b_O" [d]
 *   "blocks.L.mlp.W_in" [d][F], "b_in" [F], "W_gate" [d][F] (gated MLPs), "W_out" [F][d],
 *   "b_out" [d];  "blocks.L.ln1.w", ".b", "blocks.L.ln2.w", ".b", "ln_final.w", ".b" [d]
 * out->data points into the model (strides in elements, often transposed); valid until
 * strata_model_free.  Never write through it: the memory may be a read-only mmap.
 * A name the model lacks (no biases, rotary positions, ...) is STRATA_ERR_NOTFOUND with a
 * "did you mean" message. */
STRATA_API strata_status strata_model_weight(strata_model *m, const char *name, strata_tensor *out);
/* The names strata_model_weight accepts for this model, in a fixed order. */
STRATA_API int strata_model_n_weights(const strata_model *m);
STRATA_API strata_status strata_model_weight_name(const strata_model *m, int i, char *buf, size_t len);

/* OpenBLAS kernel in use (e.g. "Prescott", "SkylakeX"), and a warning text
 * when it is a generic kernel on a CPU that has AVX2/AVX-512 (else NULL). */
STRATA_API const char *strata_blas_corename(void);
STRATA_API const char *strata_blas_warning(void);
/* Kernels of the forward pass's weight products: "avx512" or "avx2" (float32
 * weights packed once into panels at the first forward, read by strata's own
 * kernels), or "openblas" (a CPU without AVX2: every product is sgemm). */
STRATA_API const char *strata_matmul_kernel(void);
/* STRATA_OK, or STRATA_ERR_NOMEM with a message when the address-space limit
 * (RLIMIT_AS, `ulimit -v`) is below what OpenBLAS's per-thread buffers need
 * (128 MiB per BLAS thread + 256 MiB): that OpenBLAS spins forever when its
 * buffer allocation fails.  Call it before any BLAS work; a process that
 * fails it should leave with _exit() (an OpenBLAS worker may already spin,
 * and normal exit joins it). */
STRATA_API strata_status strata_blas_vmem_check(char *msg, size_t msg_cap);

#ifdef __cplusplus
}
#endif
#endif
