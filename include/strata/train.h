/* strata/train.h — training GPT-2-architecture models ("model organisms").
 *
 * Defines: strata_train_opts, strata_train_opts_default(), strata_trainer
 * (opaque), strata_trainer_new(), strata_trainer_run(), strata_trainer_free(),
 * strata_trainer_errmsg(), strata_train_progress, strata_train_summary.
 *
 * A run trains token + learned position embeddings, pre-LayerNorm blocks
 * (causal multi-head attention, GELU MLP unless attn_only), a final
 * LayerNorm and a tied unembedding with AdamW, and writes Hugging Face GPT-2
 * checkpoints DIR/step-<N>/ (config.json, model.safetensors,
 * optimizer.safetensors, trainer_state.json, tokenizer files), DIR/log.jsonl
 * and the link DIR/final.  docs/TRAIN.md has the math and the file layout.
 * Deterministic: the same options and thread count give the same bits.
 */
#ifndef STRATA_TRAIN_H
#define STRATA_TRAIN_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum strata_train_input {
    STRATA_TRAIN_TOKENS = 0,   /* one row per line: decimal token ids separated by spaces */
    STRATA_TRAIN_JSONL = 1,    /* {"ids": [...]} or {"text": "..."} per line */
    STRATA_TRAIN_TEXT = 2      /* one document per line */
} strata_train_input;

typedef struct strata_train_opts {
    const char *out_dir;
    /* model: exactly one of config_path (a GPT-2 config.json), init_dir (a GPT-2
     * HF directory: config and weights), or the explicit dimensions below */
    const char *config_path;
    const char *init_dir;
    int32_t n_layer, n_head, d_model, d_mlp, n_ctx, vocab;   /* d_mlp 0: 4*d_model */
    int32_t attn_only;
    /* data */
    int32_t input_kind;        /* strata_train_input */
    const char *input_path;
    const char *tokenizer_dir; /* NULL: the init model's tokenizer, if any */
    const char *eval_path;     /* NULL: no eval loss; same format as the input */
    /* optimisation */
    int64_t steps;
    int32_t batch;
    int32_t seq;               /* 0: n_ctx; rows are cropped to min(seq, n_ctx) */
    double lr;
    int32_t cosine;            /* 1: cosine decay after warm-up (default), 0: constant */
    int64_t warmup;
    double weight_decay, beta1, beta2, eps;
    double clip;               /* global gradient-norm clip, 0: none */
    double init_std;           /* N(0, std^2) for matrices and embeddings */
    uint64_t seed;
    int32_t n_threads;         /* 0: OpenMP default */
    int64_t save_every;        /* 0: only the final checkpoint */
    int32_t overwrite, resume;
    /* NULL: the loss covers every predicted position.  Else the name of a
     * per-token label of the --jsonl "ids" rows (values 0, 1 or null): token t
     * is a target (predicted at position t-1) only where label[t] is 1; the
     * loss is the mean over those targets.  The eval rows need it too. */
    const char *loss_mask;
    int32_t reserved[6];
} strata_train_opts;

/* Defaults: steps 0 (must be set), batch 8, lr 1e-3, cosine, warmup 0,
 * weight_decay 0.01, betas 0.9/0.999, eps 1e-8, clip 1.0, init_std 0.02,
 * seed 0, d_mlp 0 (4*d_model). */
STRATA_API strata_train_opts strata_train_opts_default(void);

typedef struct strata_train_progress {
    int64_t step;              /* updates done (1..steps) */
    int64_t steps;
    double loss;               /* training loss of this step's batch (before the update) */
    double eval_loss;          /* NaN unless evaluated at this step */
    double lr, grad_norm;
    double tokens_per_s;       /* this run's average since it started */
    double elapsed_s, eta_s;
    int64_t tokens_seen;
    int32_t saved;             /* 1: a checkpoint step-<step> was written */
} strata_train_progress;

/* Return non-zero to stop after this step (a checkpoint of this step is then written). */
typedef int (*strata_train_cb)(void *user, const strata_train_progress *p);

typedef struct strata_train_summary {
    int64_t start_step, final_step, tokens_seen, n_params, n_rows, n_cropped, n_eval_rows;
    double final_loss, final_eval_loss;    /* eval NaN without eval_path */
    double seconds, tokens_per_s;
    int64_t param_bytes, grad_bytes, optimizer_bytes, activation_bytes;  /* what the run holds */
    int64_t n_targets;         /* predicted positions over all training rows (after the loss mask) */
} strata_train_summary;

typedef struct strata_trainer strata_trainer;

/* Checks options, reads the model and the data, prepares the output folder
 * (an existing non-empty folder needs overwrite or resume).  *out is set even
 * on failure (for strata_trainer_errmsg); free it either way. */
STRATA_API strata_status strata_trainer_new(const strata_train_opts *o, strata_trainer **out);
/* Runs the remaining steps; cb (may be NULL) after every step. */
STRATA_API strata_status strata_trainer_run(strata_trainer *t, strata_train_cb cb, void *user);
STRATA_API const strata_train_summary *strata_trainer_summary(const strata_trainer *t);
STRATA_API const char *strata_trainer_errmsg(const strata_trainer *t);
STRATA_API void strata_trainer_free(strata_trainer *t);

#ifdef __cplusplus
}
#endif
#endif
