/* strata/attn.h — attention-head statistics and head classification.
 *
 * Defines: strata_attn_stats (opaque accumulator), strata_attn_head (one
 * head's corpus scores), strata_attn_class, strata_attn_thresholds,
 * strata_attn_stats_new(), _free(), _errmsg(), _reset(), _set_induction(),
 * _attach(), _detach(), _run(), _add_pattern(), _add_capture(), _n_docs(),
 * _result(), strata_attn_thresholds_default(), strata_attn_classify(),
 * strata_attn_class_name(), strata_attn_token_range(),
 * strata_attn_induction_docs().
 *
 * Every statistic is computed on the fly from each attention pattern as the
 * forward pass produces it (a hook on blocks.*.attn.hook_pattern) and folded
 * into per-(layer, head) sums; full patterns are never stored.  The exact
 * definitions are in docs/ATTENTION.md; in short, for one document of length
 * L (positions 0..L-1, BOS included) and one head with pattern
 * P[q][k] (row q = query, sums to 1 over k <= q):
 *
 *   entropy        mean_{q>=1} -sum_k P[q,k] ln P[q,k]        (nats)
 *   mean_distance  mean_{q>=1}  sum_k P[q,k] (q-k)
 *   prev_token     mean_{q>=1}  P[q,q-1]
 *   first_token    mean_{q>=1}  P[q,0]
 *   self           mean_{q>=1}  P[q,q]
 *   duplicate      mean over q with an earlier k<q, tok[k]==tok[q], of
 *                  sum_{k<q, tok[k]==tok[q]} P[q,k]
 *   induction      (documents BOS + S + S, |S| = R)
 *                  mean_{q in [R+1, 2R]} P[q, q-R+1]
 *
 * Corpus scores are means over documents of these per-document means.
 * Documents of length 1 have no q >= 1 and are not counted.
 *
 * Arrays are row-major, last index fastest.
 *
 * Threads: an accumulator is used by one thread at a time; attached to a
 * model it runs inside that model's forward passes (one at a time per model).
 * Separate accumulators on separate models may run on separate threads.
 */
#ifndef STRATA_ATTN_H
#define STRATA_ATTN_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_model strata_model;
typedef struct strata_config strata_config;
typedef struct strata_attn_stats strata_attn_stats;

/* Head classes (bit i of strata_attn_head.flags is set for class i when the
 * head passes that class's threshold; see strata_attn_classify). */
typedef enum strata_attn_class {
    STRATA_ATTN_OTHER = 0,       /* no threshold passed */
    STRATA_ATTN_PREV_TOKEN = 1,
    STRATA_ATTN_FIRST_TOKEN = 2, /* attention sink */
    STRATA_ATTN_SELF = 3,
    STRATA_ATTN_DUPLICATE = 4,
    STRATA_ATTN_INDUCTION = 5,
    STRATA_ATTN_CLASS_COUNT
} strata_attn_class;

/* Indices of the statistics (for the sums, counts and thresholds arrays). */
enum {
    STRATA_ATTN_ENTROPY = 0,
    STRATA_ATTN_DISTANCE = 1,
    STRATA_ATTN_PREV = 2,
    STRATA_ATTN_FIRST = 3,
    STRATA_ATTN_SELFSCORE = 4,
    STRATA_ATTN_DUP = 5,
    STRATA_ATTN_IND = 6,
    STRATA_ATTN_NSTAT = 7
};

/* One head's corpus scores.  A score with no contributing document (e.g.
 * induction when no induction documents were run) is NaN, and its count 0. */
typedef struct strata_attn_head {
    int32_t layer, head;
    double entropy;        /* nats */
    double mean_distance;  /* positions */
    double prev_token;
    double first_token;
    double self;
    double duplicate;
    double induction;
    int64_t n_docs[STRATA_ATTN_NSTAT]; /* documents behind each score, by index above */
    int32_t cls;           /* strata_attn_class: primary class */
    int32_t flags;         /* bit c set: passes the threshold of class c */
} strata_attn_head;

/* A head passes class c when its score >= the threshold; the primary class is
 * the passed class with the largest score/threshold ratio (ties: the lower
 * class number).  Defaults (docs/ATTENTION.md): all 0.4. */
typedef struct strata_attn_thresholds {
    double prev_token, first_token, self, duplicate, induction;
    int64_t reserved[4];     /* zero; room to grow without changing the size (ABI) */
} strata_attn_thresholds;

STRATA_API strata_attn_thresholds strata_attn_thresholds_default(void);
/* Fills h->cls and h->flags from h's scores (NaN scores pass nothing). */
STRATA_API void strata_attn_classify(strata_attn_head *h, const strata_attn_thresholds *t);
/* Static name: "other", "previous-token", "first-token", "self",
 * "duplicate-token", "induction"; "?" if out of range. */
STRATA_API const char *strata_attn_class_name(int cls);

/* New accumulator for a model with these dimensions (only n_layers, n_heads,
 * n_ctx, vocab_size, bos/eos are read).  *out is set even on failure (except
 * for allocation failure) so strata_attn_stats_errmsg can explain. */
STRATA_API strata_status strata_attn_stats_new(const strata_config *cfg, strata_attn_stats **out);
STRATA_API void strata_attn_stats_free(strata_attn_stats *s);          /* NULL is a no-op; detaches */
STRATA_API const char *strata_attn_stats_errmsg(const strata_attn_stats *s);
/* Forgets everything accumulated (keeps the attachment and the mode). */
STRATA_API void strata_attn_stats_reset(strata_attn_stats *s);

/* Mode for the documents that follow.
 *   R == 0: ordinary documents: every statistic except induction.
 *   R >= 1: every document is BOS + S + S with |S| = R (length 2R+1,
 *           tok[q] == tok[q-R] for q in [R+1, 2R]); the induction score is
 *           accumulated, and the other statistics too when also_general != 0.
 * Fails (STRATA_ERR_RANGE) when 2R+1 exceeds the model's context. */
STRATA_API strata_status strata_attn_stats_set_induction(strata_attn_stats *s, int R, int also_general);

/* Registers a hook on blocks.*.attn.hook_pattern of m; from then on every
 * strata_run() on m feeds the accumulator.  The model must outlive the
 * attachment (detach or free the accumulator first).  A document that
 * breaks the induction form makes the hook stop the run (strata_run returns
 * STRATA_STOPPED; strata_attn_stats_errmsg says why). */
STRATA_API strata_status strata_attn_stats_attach(strata_attn_stats *s, strata_model *m);
STRATA_API strata_status strata_attn_stats_detach(strata_attn_stats *s);

/* Convenience: checks the batch (and its induction form), then strata_run()
 * without logits.  tokens [batch][T], T = max(lengths).  Attaches to m first
 * if not attached.  batch == 0 is an error (empty corpus). */
STRATA_API strata_status strata_attn_stats_run(strata_attn_stats *s, strata_model *m,
                                    const int32_t *tokens, const int32_t *lengths, int batch);

/* Feeds the pattern of one document and one layer directly (no model).
 *   pattern  element [h][q][k] at pattern[h*sh + q*sq + k*sk], h < n_heads,
 *            q, k < len (row q of a causal pattern; entries k > q are ignored)
 *   tokens   [len] the document's ids (for duplicate and induction)
 * The document counts once per layer fed. */
STRATA_API strata_status strata_attn_stats_add_pattern(strata_attn_stats *s, int layer, const float *pattern,
                                            int64_t sh, int64_t sq, int64_t sk,
                                            const int32_t *tokens, int len);

/* Accumulates from the attention patterns stored in the capture file at
 * `path` (docs/FORMAT.md): every /acts/blocks.{l}.attn.hook_pattern dataset
 * ([rows, heads, n_ctx], one row per kept query position, zeros past the
 * document's length; a head-selected "...hook_pattern[h]" dataset feeds head
 * h only).  Row r belongs to the document whose token range holds /rows[r];
 * its query position is /rows[r] minus the document's first token index.
 * Per-document means are taken over the document's stored query positions
 * (all of them for a capture with --positions all, when the scores equal
 * those of the live hook).  Only committed rows of an incomplete file count.
 * Fails with STRATA_ERR_NOTFOUND when the file holds no pattern dataset. */
STRATA_API strata_status strata_attn_stats_add_capture(strata_attn_stats *s, const char *path);

/* Documents fed so far (the most over all layers). */
STRATA_API int64_t strata_attn_stats_n_docs(const strata_attn_stats *s);

/* Writes n_layers*n_heads heads, layer-major, into out[cap] (classified with
 * the default thresholds).  Returns the count, or a negative status:
 * STRATA_ERR_STATE when no pattern has been seen (empty corpus, or the
 * accumulator was never attached / fed), STRATA_ERR_RANGE when cap is too small. */
STRATA_API int strata_attn_stats_result(strata_attn_stats *s, strata_attn_head *out, int cap);

/* Default id range [*lo, *hi) of random induction tokens for this config:
 * [0, V) with the special ids (bos, eos) cut off at whichever end holds
 * them: specials in the lower half of the vocabulary move lo past the
 * largest of them (Llama: <unk>=0, <s>=1, </s>=2 -> [3, V)); specials in the
 * upper half move hi down to the smallest (GPT-2: 50256 -> [0, 50256)).
 * A special id still inside the range is never drawn. */
STRATA_API void strata_attn_token_range(const strata_config *cfg, int32_t *lo, int32_t *hi);

/* Random induction documents: n_docs rows of length 2R+1, each
 * bos, s_1..s_R, s_1..s_R with s_i drawn uniformly (with replacement) from
 * [lo, hi) minus {bos, eos} by a splitmix64 generator seeded with seed.
 * out [n_docs][2R+1].  Same seed, same documents on every platform. */
STRATA_API strata_status strata_attn_induction_docs(uint64_t seed, int n_docs, int R, int32_t bos,
                                         int32_t eos, int32_t lo, int32_t hi, int32_t *out);

#ifdef __cplusplus
}
#endif
#endif
