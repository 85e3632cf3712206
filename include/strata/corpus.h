/* strata/corpus.h — synthetic corpora with per-token ground truth.
 *
 * Defines: strata_corpus_out, strata_corpus_repeat_params, _modular_params,
 * _grammar_params, _addition_params, their *_default() functions, and
 * strata_corpus_repeat(), _modular(), _grammar(), _addition().
 *
 * Each generator writes a JSONL corpus, one document per line:
 *   {"ids": [int, ...], "<label>": [v_0, ..., v_{n-1}], "<label>": number,
 *    "words": "the pieces of ids joined by spaces"}
 * A per-token label array has one value per id (null where the label is
 * undefined: `strata capture` stores it as NaN and `strata probe` skips the
 * row); a number is a document-level label.  The value at index t describes
 * token t; a model predicts token t at position t-1.  Every document starts
 * with the generator's BOS id.  The exact distributions are in docs/CORPUS.md.
 *
 * Determinism: all randomness comes from one splitmix64 stream seeded with
 * `seed` (lib/corpus/rng.h), drawn in a documented order, so a seed gives the
 * same bytes on every platform and build.
 *
 * Optional outputs: a tokenizer directory (tokenizer.json with a WordLevel
 * model over the generator's vocabulary, whitespace pre-tokenizer and a BOS
 * post-processor, plus tokenizer_config.json) whose encoding of a document's
 * "words" is its "ids", so a model trained on the ids reads the words as text;
 * and, for modular and addition, an evaluation task file with lines
 *   {"prompt_ids": [...], "answer_ids": [...]}.
 * Files are written to "<path>.tmp" and renamed, so a failure leaves no
 * partial output; an existing output is an error unless overwrite is set.
 *
 * Errors: negative strata_status with a message naming the option or file in
 * err (err_len bytes, may be NULL).  Nothing is printed.
 */
#ifndef STRATA_CORPUS_H
#define STRATA_CORPUS_H

#include "strata/api.h"

#include <stddef.h>
#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a generator writes.  out is required; the others are optional (NULL). */
typedef struct strata_corpus_out {
    const char *out;            /* JSONL corpus (modular: the training split) */
    const char *test_out;       /* modular: the test split (same format) */
    const char *task_out;       /* modular, addition: prompt/answer task file */
    const char *tokenizer_dir;  /* WordLevel tokenizer directory (created if absent) */
    int32_t overwrite;          /* 1: replace existing files */
} strata_corpus_out;

/* repeat: the induction task.  Each document is BOS + seq_len-1 uniform
 * random tokens from [1, vocab) in which a span of length L (uniform in
 * [min_span, max_span]) is copied to a later position at distance d (uniform
 * in [L, seq_len-1-L]); labels in_source, in_copy, copy_pos, and the scalars
 * span, distance.  BOS is id 0. */
typedef struct strata_corpus_repeat_params {
    uint64_t seed;
    int64_t n_docs;
    int32_t vocab;              /* ids 0..vocab-1; 0 is BOS */
    int32_t seq_len;            /* tokens per document, BOS included */
    int32_t min_span, max_span; /* 1 <= min_span <= max_span, 2*max_span + 1 <= seq_len */
    int64_t reserved[4];     /* zero; room to grow without changing the size (ABI) */
} strata_corpus_repeat_params;
STRATA_API strata_corpus_repeat_params strata_corpus_repeat_default(void);
STRATA_API strata_status strata_corpus_repeat(const strata_corpus_repeat_params *p,
                                   const strata_corpus_out *o, char *err, size_t err_len);

/* modular: every pair (a, b) in [0,p)^2 (b != 0 for div) as the document
 * BOS a OP b = c, c = a OP b mod p; pairs shuffled by the seed, the first
 * round(train_frac * N) to `out`, the rest to `test_out` (required when any
 * remain); task_out gets the test pairs (or the training pairs when
 * train_frac is 1).  Ids: numbers 0..p-1, OP p, "=" p+1, BOS p+2. */
typedef enum strata_corpus_op {
    STRATA_CORPUS_ADD = 0, STRATA_CORPUS_SUB = 1, STRATA_CORPUS_MUL = 2, STRATA_CORPUS_DIV = 3
} strata_corpus_op;
typedef struct strata_corpus_modular_params {
    uint64_t seed;
    int32_t p;                  /* modulus, 2..10000 (prime for div) */
    int32_t op;                 /* strata_corpus_op */
    double train_frac;          /* (0, 1] */
    int64_t reserved[4];     /* zero; room to grow without changing the size (ABI) */
} strata_corpus_modular_params;
STRATA_API strata_corpus_modular_params strata_corpus_modular_default(void);
STRATA_API strata_status strata_corpus_modular(const strata_corpus_modular_params *p,
                                    const strata_corpus_out *o, char *err, size_t err_len);

/* grammar: a small probabilistic grammar with latent variables per token
 * (subject number pending agreement, quotation depth, a named entity's
 * attribute recalled later).  The grammar and its probabilities:
 * docs/CORPUS.md. */
typedef struct strata_corpus_grammar_params {
    uint64_t seed;
    int64_t n_docs;
    int32_t entities;           /* entities introduced per document, 1..6 */
    int32_t colors;             /* attribute values, 2..6 */
    int32_t sentences;          /* agreement sentences per document, 0..32 */
    int32_t max_depth;          /* maximum quotation depth, 0..4 */
    double p_plural;            /* a subject noun is plural */
    double p_relative;          /* a clause's subject gets a relative clause */
    double p_object_relative;   /* that relative clause is object-relative (an attractor) */
    double p_quote;             /* a clause is a quotation (while depth < max_depth) */
    int64_t reserved[4];     /* zero; room to grow without changing the size (ABI) */
} strata_corpus_grammar_params;
STRATA_API strata_corpus_grammar_params strata_corpus_grammar_default(void);
STRATA_API strata_status strata_corpus_grammar(const strata_corpus_grammar_params *p,
                                    const strata_corpus_out *o, char *err, size_t err_len);

/* addition: BOS a + b = s EOS with a, b uniform in [0, 10^digits), written
 * in decimal digits (zero-padded to `digits`, the sum to digits+1, when pad),
 * the sum's digits most significant first (or least significant first when
 * reverse).  n_test further problems, distinct from each other and from every
 * training problem, go to task_out.  Ids: digits 0..9, "+" 10, "=" 11,
 * BOS 12, EOS 13. */
typedef struct strata_corpus_addition_params {
    uint64_t seed;
    int64_t n_docs;
    int64_t n_test;
    int32_t digits;             /* 1..18 */
    int32_t pad;
    int32_t reverse;
    int64_t reserved[4];     /* zero; room to grow without changing the size (ABI) */
} strata_corpus_addition_params;
STRATA_API strata_corpus_addition_params strata_corpus_addition_default(void);
STRATA_API strata_status strata_corpus_addition(const strata_corpus_addition_params *p,
                                     const strata_corpus_out *o, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
