/* train/train_internal.h — training GPT-2-architecture models (internal).
 *
 * Defines: tr_dims (model shape), tr_tensor / tr_model (every parameter in one
 * flat float buffer, HF GPT-2 names and shapes, gradients and AdamW moments in
 * parallel buffers of the same layout), tr_weights (per-role pointers into one
 * of those buffers), tr_acts (every activation of a forward/backward pass, one
 * allocation), and the layer kernels (tr_*_forward / tr_*_backward), the model
 * forward/backward (gpt.c), AdamW + schedule + clipping (adamw.c), the RNG
 * (rng.c), corpus rows (rows.c) and checkpoints (checkpoint.c).
 *
 * Arrays are row-major, last index fastest.  N = B*T token rows of a batch of
 * B sequences padded to T positions.  Linear weights keep the GPT-2 Conv1D
 * layout W[in][out]: y = x.W + b.  The math is written out in docs/TRAIN.md.
 */
#ifndef STRATA_TRAIN_INTERNAL_H
#define STRATA_TRAIN_INTERNAL_H

#include <stdint.h>
#include "util/err.h"

typedef struct tr_dims {
    int32_t n_layer, n_head, d_model, d_mlp, n_ctx, vocab;
    int32_t attn_only;      /* 1: no MLP and no ln_2 in the blocks */
    float ln_eps;           /* LayerNorm epsilon (GPT-2: 1e-5) */
} tr_dims;

enum { TR_NAME_MAX = 64 };

/* One parameter tensor: a slice [off, off+n) of the flat buffers. */
typedef struct tr_tensor {
    char name[TR_NAME_MAX];  /* HF GPT-2 name without "transformer.", e.g. "h.0.attn.c_attn.weight" */
    int32_t ndim;
    int64_t shape[2];
    int64_t off, n;
    int32_t decay;           /* 1: AdamW weight decay applies (the 2-D matrices and embeddings) */
} tr_tensor;

/* Per-role pointers into one flat buffer (parameters, gradients, m or v). */
typedef struct tr_layer_w {
    float *ln1_w, *ln1_b;      /* [d] */
    float *qkv_w, *qkv_b;      /* [d][3d], [3d]: columns q | k | v, head h at h*dh */
    float *o_w, *o_b;          /* [d][d], [d] */
    float *ln2_w, *ln2_b;      /* [d]            (NULL when attn_only) */
    float *fc_w, *fc_b;        /* [d][F], [F]    (NULL when attn_only) */
    float *proj_w, *proj_b;    /* [F][d], [d]    (NULL when attn_only) */
} tr_layer_w;

typedef struct tr_weights {
    float *wte;                /* [V][d] token embedding = tied unembedding */
    float *wpe;                /* [n_ctx][d] */
    tr_layer_w *layer;         /* [n_layer] */
    float *lnf_w, *lnf_b;      /* [d] */
} tr_weights;

typedef struct tr_model {
    tr_dims dims;
    tr_tensor *tensors;        /* [n_tensors], in HF order */
    int32_t n_tensors;
    int64_t n_params;
    float *params, *grads;     /* [n_params] each */
    float *adam_m, *adam_v;    /* [n_params] each, AdamW moments */
    tr_weights w, g;           /* pointers into params / grads */
} tr_model;

/* Builds the tensor table and allocates params/grads/m/v (zeroed). */
int tr_model_init(tr_model *m, const tr_dims *dims, st_err *err);
void tr_model_free(tr_model *m);
/* Index of a tensor by name, -1 if none. */
int tr_model_find(const tr_model *m, const char *name);
/* Fills w with pointers into base (a buffer of the params layout). */
void tr_model_point(const tr_model *m, float *base, tr_weights *w);
/* GPT-2-style initialisation: matrices and embeddings N(0, std^2) drawn in
 * tensor-table order from rng, biases 0, LayerNorm gains 1 and biases 0. */
struct tr_rng;
void tr_model_init_weights(tr_model *m, double std, struct tr_rng *rng);

/* ---------------- activations (gpt.c) ---------------- */

/* Every tensor of one forward/backward pass for batches up to B x T.  Per
 * layer l, arrays are indexed [l] then as stated (actual T may be smaller:
 * the layout then uses the batch's own T). */
typedef struct tr_acts {
    int64_t B, T;             /* capacity */
    int n_threads;
    float *encoded;           /* [N][d]      wte[tok] + wpe[t] */
    float *ln1;               /* [L][N][d]   LayerNorm 1 output */
    float *ln1_mean, *ln1_rstd;   /* [L][N] */
    float *qkv;               /* [L][N][3d] */
    float *att;               /* [L][B][H][T][T] softmax probabilities (0 above the diagonal) */
    float *z;                 /* [L][N][d]   heads' mixed values, head h at columns h*dh */
    float *res_mid;           /* [L][N][d]   x + attn_out (attn_only: the block output) */
    float *ln2;               /* [L][N][d]   (not attn_only) */
    float *ln2_mean, *ln2_rstd;   /* [L][N] */
    float *fch;               /* [L][N][F]   pre-GELU */
    float *fch_gelu;          /* [L][N][F] */
    float *res_out;           /* [L][N][d]   block output (attn_only: == res_mid, not allocated) */
    float *lnf;               /* [N][d] */
    float *lnf_mean, *lnf_rstd;   /* [N] */
    float *logits;            /* [N][V]      logits, then softmax, then dlogits */
    double *losses;           /* [N]         -log p(target), 0 where no target */
    /* scratch */
    float *tmp;               /* [N][max(d, F)] */
    float *dres;              /* [N][d] */
    float *dln;               /* [N][d] */
    float *dqkv;              /* [N][3d] */
    float *dz;                /* [N][d] */
    float *dfch;              /* [N][F] */
    float *datt;              /* [n_threads][Tp*Tp + 2*Tp*dh] per-thread attention scratch, Tp = T rounded up to 16 */
    float *mem;               /* the one allocation all of the above point into */
    double *dmem;
} tr_acts;

int tr_acts_alloc(tr_acts *a, const tr_dims *d, int64_t B, int64_t T, int n_threads, st_err *err);
void tr_acts_free(tr_acts *a);
/* Bytes tr_acts_alloc would allocate. */
int64_t tr_acts_bytes(const tr_dims *d, int64_t B, int64_t T, int n_threads);

/* Forward over tokens [B][T] (T <= capacity); targets [B][T] next-token ids or
 * -1 (no prediction at that position).  Returns the mean cross-entropy over
 * the positions with a target in *loss (sum in double, fixed order) and their
 * count in *n_pred.  With want_probs the logits rows are left as softmax
 * probabilities for tr_backward. */
void tr_forward(tr_model *m, tr_acts *a, const int32_t *tokens, const int32_t *targets,
                int64_t B, int64_t T, double *loss, int64_t *n_pred);
/* Gradients of that mean loss with respect to every parameter into m->grads
 * (overwritten).  Needs the activations of the tr_forward just before. */
void tr_backward(tr_model *m, tr_acts *a, const int32_t *tokens, const int32_t *targets,
                 int64_t B, int64_t T, int64_t n_pred);

/* ---------------- layer kernels (one file each) ---------------- */

/* tr_linear.c:  y[N][out] = x[N][in] . W[in][out] + b */
void tr_linear_forward(float *y, const float *x, const float *W, const float *b,
                       int64_t N, int in, int out, int nt);
/* dx[N][in] (= or += by accumulate) = dy . W^T;  dW[in][out] = x^T . dy;
 * db[out] = sum_n dy[n].  dx, db may be NULL. */
void tr_linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                        const float *W, int64_t N, int in, int out, int accumulate, int nt);

/* tr_layernorm.c:  y = (x - mean) * rstd * w + b, rstd = 1/sqrt(var + eps) */
void tr_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                          const float *b, int64_t N, int d, float eps, int nt);
/* dx += LN-backward(dy); dw = sum_n dy*xhat; db = sum_n dy */
void tr_layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                           const float *w, const float *mean, const float *rstd, int64_t N,
                           int d, int nt);

/* tr_attention.c: causal multi-head attention on qkv [B][T][3d] */
/* scratch: [threads][Tp*Tp + 2*Tp*(d/H)] floats, Tp = T rounded up to 16 (tr_acts.datt) */
void tr_attention_forward(float *z, float *att, const float *qkv, float *scratch, int64_t B, int64_t T,
                          int H, int d, int nt);
void tr_attention_backward(float *dqkv, const float *dz, const float *att, const float *qkv,
                           float *scratch, int64_t B, int64_t T, int H, int d, int nt);

/* tr_gelu.c: y = gelu_new(x) (y may be x); dx = dy * gelu_new'(x) (in place on dy) */
void tr_gelu_forward(float *y, const float *x, int64_t n, int nt);
void tr_gelu_backward(float *dy, const float *x, int64_t n, int nt);

/* tr_embed.c */
void tr_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                      int64_t B, int64_t T, int d, int nt);
/* dwte[tok] += dout, dwpe[t] = sum_b dout[b][t] (rows t >= T of n_ctx: 0) */
void tr_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                       int64_t B, int64_t T, int d, int n_ctx, int nt);

/* tr_xent.c: logits = x . wte^T; probs = softmax; loss per row */
void tr_xent_forward(float *logits, double *losses, const float *x, const float *wte,
                     const int32_t *targets, int64_t N, int d, int V, int nt);
/* probs -> dlogits = (probs - onehot)/n_pred (0 rows without target), then
 * dx[N][d] = dlogits . wte and dwte[V][d] = dlogits^T . x (overwrites dwte) */
void tr_xent_backward(float *dx, float *dwte, float *logits, const float *x, const float *wte,
                      const int32_t *targets, int64_t N, int d, int V, int64_t n_pred, int nt);

/* ---------------- optimizer (adamw.c) ---------------- */

typedef struct tr_adamw {
    double lr, beta1, beta2, eps, weight_decay;
} tr_adamw;
/* Learning rate of update number step+1 (step 0-based) of `steps`:
 * linear warm-up lr*(step+1)/warmup for step < warmup, then cosine
 * lr*0.5*(1+cos(pi*(step-warmup)/(steps-warmup))) or constant lr. */
double tr_lr_at(double lr, int cosine, int64_t warmup, int64_t steps, int64_t step);
/* Global L2 norm of all gradients (double, fixed order); if clip > 0 and
 * the norm exceeds it, gradients are scaled by clip/(norm+1e-6) as
 * torch.nn.utils.clip_grad_norm_.  Returns the norm before clipping. */
double tr_clip_grads(tr_model *m, double clip, int nt);
/* One AdamW update (torch.optim.AdamW, t = 1-based update count). */
void tr_adamw_step(tr_model *m, const tr_adamw *o, double lr, int64_t t, int nt);

/* ---------------- RNG (rng.c) ---------------- */

/* xoshiro256** seeded by splitmix64; normals by Box-Muller in double. */
typedef struct tr_rng { uint64_t s[4]; } tr_rng;
void tr_rng_seed(tr_rng *r, uint64_t seed);
uint64_t tr_rng_next(tr_rng *r);
double tr_rng_uniform(tr_rng *r);   /* [0, 1) with 53 bits */
double tr_rng_normal(tr_rng *r);

/* ---------------- corpus rows (rows.c) ---------------- */

typedef enum tr_input_kind { TR_INPUT_TOKENS = 0, TR_INPUT_JSONL = 1, TR_INPUT_TEXT = 2 } tr_input_kind;

/* Training rows: row r is tok[off[r] .. off[r+1]), cropped to max_len tokens. */
typedef struct tr_rows {
    int64_t n_rows;
    int64_t *off;        /* [n_rows + 1] */
    int32_t *tok;        /* [off[n_rows]] */
    int64_t *line;       /* [n_rows] 1-based source line of each row */
    int64_t n_cropped;   /* rows longer than max_len (cropped) */
    int64_t max_row;     /* longest row after cropping */
    uint8_t *mask;       /* [off[n_rows]] loss mask (1: token is a target), NULL: no mask */
    int64_t n_targets;   /* predicted positions of all rows: sum of mask[off[r]+1 .. off[r+1]) or len-1 */
} tr_rows;

struct strata_tokenizer;
/* Reads rows from `path`:
 *   TR_INPUT_TOKENS  one row per line, token ids as decimal integers separated by
 *                    spaces or tabs
 *   TR_INPUT_JSONL   one JSON object per line with "ids": [int, ...] or "text":
 *                    "..." (tokenized with tok, the tokenizer's default specials)
 *   TR_INPUT_TEXT    one document per line (the line without its "\n" / "\r\n"),
 *                    tokenized with tok
 * Blank lines are skipped.  Errors name the file and line: an id outside
 * [0, vocab), a row of fewer than 2 tokens, text without a tokenizer,
 * malformed JSON, and a file with no rows at all (empty corpus).
 * mask_label (NULL: none; TR_INPUT_JSONL "ids" rows only) names a per-token
 * label read into r->mask: one value per id, 0, 1 or null (= 0), cropped with
 * the row; a row whose mask selects no token after its first is an error. */
int tr_rows_load(tr_rows *r, int kind, const char *path, struct strata_tokenizer *tok,
                 int32_t vocab, int32_t max_len, const char *mask_label, st_err *err);
void tr_rows_free(tr_rows *r);

/* ---------------- checkpoints (checkpoint.c) ---------------- */

/* What trainer_state.json records (besides the contract's fields, what a
 * resume needs and checks). */
typedef struct tr_state {
    int64_t step, tokens_seen, steps;
    double loss, eval_loss, lr;   /* eval_loss NaN: none */
    uint64_t seed;
    uint64_t rng[4];              /* RNG state after initialisation */
    int32_t batch, seq, cosine;
    int64_t warmup;
    double lr_max, weight_decay, beta1, beta2, eps, clip, init_std;
    int64_t data_rows, data_tokens;   /* fingerprint of the training rows */
    char loss_mask[128];          /* the --loss-mask label, "" for none */
    int64_t data_targets;         /* predicted positions of all rows (fingerprint of the mask) */
} tr_state;

/* Writes DIR/step-<step>/ through DIR/.tmp-step-<step>/ and a rename (the
 * previous checkpoints stay intact whatever fails); tokenizer files of
 * tok_dir (may be NULL) are copied in. */
int tr_checkpoint_save(const char *dir, const tr_model *m, const tr_state *st, const char *tok_dir,
                       st_err *err);
/* Points DIR/final at step-<step> (a symlink replaced by rename). */
int tr_checkpoint_link_final(const char *dir, int64_t step, st_err *err);
/* Reads dims from a GPT-2 config.json (attn_only from "strata_attn_only"). */
int tr_config_read(const char *path, tr_dims *dims, st_err *err);
/* Loads every parameter from an HF GPT-2 directory (model.safetensors or
 * shards, F32/F16/BF16, with or without "transformer."); a tensor missing or of
 * the wrong shape is an error naming it.  lm_head.weight, if present, must
 * equal wte (tied). */
int tr_weights_load(const char *dir, tr_model *m, st_err *err);
/* Loads AdamW moments (optimizer.safetensors) and trainer_state.json. */
int tr_optimizer_load(const char *dir, tr_model *m, st_err *err);
int tr_state_load(const char *dir, tr_state *st, st_err *err);
/* Removes a folder and the plain files in it (no recursion). */
int tr_remove_flat_dir(const char *path);

#endif
