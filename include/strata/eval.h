/* strata/eval.h — scoring a model: prompt/answer tasks and next-token loss.
 *
 * Defines: strata_eval_item, strata_eval_result, strata_eval_task(),
 * strata_loss_acc (opaque accumulator): strata_loss_acc_new(), _free(),
 * _errmsg(), _reset(), _set_icl(), _attach(), _detach(), _run(), _mean(),
 * _n_tokens(), _icl(), _n_icl(), _position_mean(); strata_eval_text_loss().
 *
 * Arrays are row-major, last index fastest.  Log-probabilities are natural
 * logs (nats) of a max-subtracted softmax summed in double:
 *     log p(v | x_<t) = z_v - m - ln sum_u exp(z_u - m),   m = max_u z_u
 * where z = the model's logits at the position before v.
 *
 * Tasks.  Item i is a prompt P (n_p >= 1 ids, BOS included if wanted) and
 * an answer A (n_a >= 1 ids).  One teacher-forced forward pass over P + A
 * gives, for j = 0..n_a-1, the distribution of A_j given P and A_<j:
 *   logprob_i   = (1/n_a) sum_j log p(A_j | P, A_<j)
 *   correct_i   = #{ j : argmax (first index on ties) of that distribution == A_j }
 *   exact_i     = 1 when correct_i == n_a
 * exact_i equals "the greedy continuation of P, n_a tokens long, is A": if
 * every teacher-forced argmax is the answer token, greedy decoding feeds
 * itself exactly the answer prefix and reproduces A; if one is not, greedy
 * decoding departs from A at the first such j.  (tests/python check this
 * against strata_generate.)  The task scores are means over items:
 *   exact_match    = mean_i exact_i
 *   answer_logprob = mean_i logprob_i              (nats, <= 0)
 *   token_accuracy = mean_i correct_i / n_a
 *
 * Loss.  strata_loss_acc hooks hook_logits and accumulates, for every
 * document of every run on the model (length L, ids x_0..x_{L-1}), the
 * next-token losses  l_i = -log p(x_i | x_<i)  for i = 1..L-1 (indexed by
 * the PREDICTED token's position i, as Olsson et al. 2022 index "loss at
 * token i").  mean = sum of all l_i / their count (pooled over documents).
 * In-context-learning score (Olsson et al. 2022, "loss at the 500th token
 * minus loss at the 50th"), for positions early < late:
 *   icl = mean over documents with L > late of (l_late - l_early)
 * (negative when later tokens are predicted better).
 */
#ifndef STRATA_EVAL_H
#define STRATA_EVAL_H

#include "strata/api.h"

#include <stddef.h>
#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_model strata_model;

/* One item's scores. */
typedef struct strata_eval_item {
    int32_t n_answer;     /* n_a */
    int32_t n_correct;    /* teacher-forced argmax == answer token */
    int32_t exact;        /* 1: n_correct == n_answer */
    int32_t reserved;
    double logprob;       /* mean over answer tokens of log p, nats */
} strata_eval_item;

typedef struct strata_eval_result {
    int64_t n;              /* items */
    int64_t n_answer_tokens;/* sum of n_a */
    double exact_match;     /* in [0, 1] */
    double answer_logprob;  /* nats */
    double token_accuracy;  /* in [0, 1] */
} strata_eval_result;

/* Scores n items.  prompt_ids is every prompt concatenated, item i being
 * prompt_ids[prompt_off[i] .. prompt_off[i+1]); answers likewise
 * (prompt_off, answer_off [n+1], starting at 0).  Each n_p + n_a must fit
 * the model's context.  items [n] (may be NULL) receives per-item scores.
 * Items are batched (right-padded) so that the logits buffer stays near
 * 64 MiB.  Fails with STRATA_ERR_ARG naming the item for an empty prompt or
 * answer, STRATA_ERR_RANGE for ids outside the vocabulary or items longer
 * than the context; the message goes to err (err_len bytes; may be NULL). */
STRATA_API strata_status strata_eval_task(strata_model *m, const int32_t *prompt_ids,
                               const int64_t *prompt_off, const int32_t *answer_ids,
                               const int64_t *answer_off, int64_t n, strata_eval_item *items,
                               strata_eval_result *res, char *err, size_t err_len);

typedef struct strata_loss_acc strata_loss_acc;

/* New accumulator for documents up to n_ctx tokens (per-position sums are
 * kept for positions 1..n_ctx-1).  *out is set even on failure (except for
 * allocation failure). */
STRATA_API strata_status strata_loss_acc_new(int n_ctx, strata_loss_acc **out);
STRATA_API void strata_loss_acc_free(strata_loss_acc *a);        /* NULL is a no-op; detaches */
STRATA_API const char *strata_loss_acc_errmsg(const strata_loss_acc *a);
STRATA_API void strata_loss_acc_reset(strata_loss_acc *a);
/* Positions of the ICL score (1 <= early < late < n_ctx).  Default: none
 * (strata_loss_acc_icl gives NaN). */
STRATA_API strata_status strata_loss_acc_set_icl(strata_loss_acc *a, int early, int late);
/* Registers a read-only hook on m's hook_logits, so that every forward pass
 * of m (strata_run with or without logits, captures, ...) feeds the sums.
 * The model must outlive the attachment. */
STRATA_API strata_status strata_loss_acc_attach(strata_loss_acc *a, strata_model *m);
STRATA_API strata_status strata_loss_acc_detach(strata_loss_acc *a);
/* Convenience: attaches if needed and runs tokens [batch][T] (T = max of
 * lengths) through m without returning logits. */
STRATA_API strata_status strata_loss_acc_run(strata_loss_acc *a, strata_model *m, const int32_t *tokens,
                                  const int32_t *lengths, int batch);

STRATA_API double strata_loss_acc_mean(const strata_loss_acc *a);     /* NaN when no token */
STRATA_API int64_t strata_loss_acc_n_tokens(const strata_loss_acc *a);
STRATA_API int64_t strata_loss_acc_n_docs(const strata_loss_acc *a);
STRATA_API double strata_loss_acc_icl(const strata_loss_acc *a);      /* NaN when no document reached late */
STRATA_API int64_t strata_loss_acc_n_icl(const strata_loss_acc *a);   /* documents behind icl */
/* Mean loss at each predicted position: out[i] for i < cap and i < n_ctx
 * (out[0] = NaN; NaN where no document reached i); returns n_ctx. */
STRATA_API int strata_loss_acc_position_mean(const strata_loss_acc *a, double *out, int cap);

/* Mean next-token loss of documents (tokens [batch][T], lengths [batch]),
 * run in batches of at most max_batch (0: 8) documents; n_tokens (may be
 * NULL) receives the number of predicted tokens. */
STRATA_API strata_status strata_eval_text_loss(strata_model *m, const int32_t *tokens, const int32_t *lengths,
                                    int batch, int max_batch, double *loss, int64_t *n_tokens,
                                    char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
