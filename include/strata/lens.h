/* strata/lens.h — the logit lens: next-token predictions read out of every
 * layer's residual stream.
 *
 * Defines: strata_lens (opaque), strata_lens_new(), _free(), _errmsg(),
 * _run(), _n_points(), _n_pos(), _top_k(), _point_name(), _top_ids(),
 * _top_probs(), _next_rank(), _next_prob(), _model_logits(), _logits().
 *
 * Readout points (P = n_layers + 1): point 0 is blocks.0.hook_resid_pre
 * (the embeddings), point l+1 is blocks.l.hook_resid_post.  At each point
 * the residual x[t] is mapped to logits exactly as the model maps its last
 * residual: the final norm with the model's own weights and eps
 * (RMSNorm  x / sqrt(mean(x^2) + eps) * g, or
 *  LayerNorm (x - mean) / sqrt(var + eps) * g + b, biased variance),
 * then the unembedding logits[t][v] = n[t] . U[v] (+ b[v]) as one sgemm.
 * So the last point's logits equal the model's logits (up to rounding).
 *
 * For position t the "next token" is tokens[t+1]; its rank is the number of
 * vocabulary entries with a strictly larger logit (0 = the top prediction)
 * and its probability comes from a max-subtracted softmax over the whole
 * vocabulary.  Top-k lists are ordered by logit, ties by lower id.
 *
 * Arrays are row-major, last index fastest.
 *
 * Threads: one call at a time per lens and per model it reads; separate
 * lenses over separate models may run on separate threads.
 */
#ifndef STRATA_LENS_H
#define STRATA_LENS_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_model strata_model;
typedef struct strata_lens strata_lens;

/* The lens borrows m (which must outlive it).  *out is set even on failure
 * (unless allocation failed) so strata_lens_errmsg can explain. */
STRATA_API strata_status strata_lens_new(strata_model *m, strata_lens **out);
STRATA_API void strata_lens_free(strata_lens *l);             /* NULL is a no-op */
STRATA_API const char *strata_lens_errmsg(const strata_lens *l);

/* Runs one document tokens[n] (1 <= n <= n_ctx; include BOS yourself) with
 * hooks on blocks.0.hook_resid_pre and blocks.*.hook_resid_post (removed
 * again before returning) and computes every point's readout.
 * top_k in 1..vocab_size. */
STRATA_API strata_status strata_lens_run(strata_lens *l, const int32_t *tokens, int n, int top_k);

STRATA_API int strata_lens_n_points(const strata_lens *l);    /* P = n_layers + 1 */
STRATA_API int strata_lens_n_pos(const strata_lens *l);       /* n of the last run */
STRATA_API int strata_lens_top_k(const strata_lens *l);
/* "blocks.0.hook_resid_pre" or "blocks.l.hook_resid_post"; borrowed. */
STRATA_API const char *strata_lens_point_name(const strata_lens *l, int point);

/* Results of the last run, borrowed (valid until the next run or free):
 *   top_ids, top_probs   [P][n][k]
 *   next_rank            [P][n]   rank of tokens[t+1]; -1 at t = n-1
 *   next_prob            [P][n]   its probability;     NaN at t = n-1
 *   model_logits         [n][V]   the model's own output logits */
STRATA_API const int32_t *strata_lens_top_ids(const strata_lens *l);
STRATA_API const float *strata_lens_top_probs(const strata_lens *l);
STRATA_API const int32_t *strata_lens_next_rank(const strata_lens *l);
STRATA_API const float *strata_lens_next_prob(const strata_lens *l);
STRATA_API const float *strata_lens_model_logits(const strata_lens *l);

/* Recomputes one point's full lens logits into out [n][V]. */
STRATA_API strata_status strata_lens_logits(strata_lens *l, int point, float *out);

#ifdef __cplusplus
}
#endif
#endif
