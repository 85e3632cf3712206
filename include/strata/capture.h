/* strata/capture.h — activation store: streaming capture into HDF5 and the
 * reader the analysis modules stream from.
 *
 * Defines (reader): strata_acts (opaque), strata_acts_open(), _close(),
 * _errmsg(), _n_rows(), _n_hooks(), _hook(), _hook_shape(), _row_width(),
 * _read(), _n_labels(), _label(), _read_label(), _read_row_tokens(),
 * _complete().
 * Defines (writer): strata_capture (opaque), strata_capture_opts(_default)(),
 * strata_capture_open(), _add_doc(), _add_text(), _add_tokens(), _add_file(),
 * _set_total(), _finish(), _free(), _errmsg(), _get_stats(), _n_done().
 *
 * File layout: docs/FORMAT.md.  Rows are kept positions; every hook dataset
 * is [R, ...] (e.g. [R, d_model], patterns [R, heads, n_ctx]).
 *
 * Threads: a capture owns its model's hooks while it exists; one capture
 * per model, one call at a time per capture.  A strata_acts reader is used by
 * one thread at a time; separate readers (of the same file or others) may run
 * on separate threads: HDF5 is thread-safe and serialises its own calls.
 */
#ifndef STRATA_CAPTURE_H
#define STRATA_CAPTURE_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- reader ---------------- */

typedef struct strata_acts strata_acts;

/* Opens a capture file read-only.  *out is set even on failure (so
 * strata_acts_errmsg can explain); close it either way.  Refuses files whose
 * format is not "strata-activations" or whose major version is unknown.
 * A file with complete = false opens (it holds every completed batch). */
STRATA_API strata_status strata_acts_open(const char *path, strata_acts **out);
STRATA_API void strata_acts_close(strata_acts *a);                    /* NULL is a no-op */
STRATA_API const char *strata_acts_errmsg(const strata_acts *a);
STRATA_API int strata_acts_complete(const strata_acts *a);            /* root attr "complete" */

STRATA_API int64_t strata_acts_n_rows(const strata_acts *a);          /* R */
STRATA_API int strata_acts_n_hooks(const strata_acts *a);
STRATA_API const char *strata_acts_hook(const strata_acts *a, int i); /* borrowed name */
/* shape[0] = R, the rest the per-row shape; returns ndim (<= 4) or -1 if absent. */
STRATA_API int strata_acts_hook_shape(const strata_acts *a, const char *hook, int64_t shape[4]);
/* Elements per row (product of shape[1..]); -1 if absent. */
STRATA_API int64_t strata_acts_row_width(const strata_acts *a, const char *hook);
/* Reads rows [row0, row0+n) of one hook as float32 into out [n][width]
 * (float16 files are converted). */
STRATA_API strata_status strata_acts_read(strata_acts *a, const char *hook, int64_t row0, int64_t n,
                               float *out);

STRATA_API int strata_acts_n_labels(const strata_acts *a);
STRATA_API const char *strata_acts_label(const strata_acts *a, int i); /* borrowed name */
/* Reads rows [row0, row0+n) of /labels/<name> as float (int labels converted). */
STRATA_API strata_status strata_acts_read_label(strata_acts *a, const char *name, int64_t row0, int64_t n,
                                     float *out);
/* Token id at each of rows [row0, row0+n) (tokens[rows[i]]); for control tasks. */
STRATA_API strata_status strata_acts_read_row_tokens(strata_acts *a, int64_t row0, int64_t n, int32_t *out);
/* Committed document count D (root attribute n_docs; -1 if absent). */
STRATA_API int64_t strata_acts_n_docs(const strata_acts *a);
/* Document index (0..D-1) of each of rows [row0, row0+n), from /docs/row_offsets
 * (checked: starts at 0, never decreases, ends at n_rows); for grouped splits. */
STRATA_API strata_status strata_acts_read_row_docs(strata_acts *a, int64_t row0, int64_t n, int64_t *out);
/* Token index (into /tokens) of each of rows [row0, row0+n) (/rows; checked
 * to lie inside [0, n_tokens)).  Rows are in token order. */
STRATA_API strata_status strata_acts_read_rows(strata_acts *a, int64_t row0, int64_t n, int64_t *out);
/* Committed token count N and token ids [t0, t0+n) of /tokens (every
 * document's tokens, in order). */
STRATA_API int64_t strata_acts_n_tokens(const strata_acts *a);
STRATA_API strata_status strata_acts_read_tokens(strata_acts *a, int64_t t0, int64_t n, int32_t *out);
/* Entries [d0, d0+n) of the document offsets (d0 + n <= D + 1): document i is
 * tokens [offsets[i], offsets[i+1]) (/docs/offsets; checked at open: starts
 * at 0, never decreases, ends at n_tokens). */
STRATA_API strata_status strata_acts_read_doc_offsets(strata_acts *a, int64_t d0, int64_t n, int64_t *out);

/* ---------------- writer / capture driver ----------------
 *
 * A capture session streams documents through a model and appends the rows
 * its hooks saw to an activation file:
 *
 *   strata_capture_opts o = strata_capture_opts_default();
 *   o.hooks = "blocks.*.hook_resid_post";
 *   strata_capture *c;
 *   if (strata_capture_open(model, "acts.h5", &o, &c) < 0) ... strata_capture_errmsg(c)
 *   strata_capture_add_text(c, "Once upon a time", -1);   (or _add_tokens, _add_doc)
 *   strata_capture_finish(c);                  (last partial batch, complete = true)
 *   strata_capture_free(c);
 *
 * Documents are batched in input order (o.batch per forward pass); memory is
 * bounded by one batch.  Each completed batch is committed to disk before the
 * next starts, so an interrupted capture keeps every completed batch; with
 * o.mode = STRATA_CAPTURE_RESUME the session reopens such a file (same model,
 * hooks, labels, positions, dtype, max_tokens, strata version, and weight and
 * tokenizer files by SHA-256 required) and checks the first
 * strata_capture_n_done() documents it is given against the committed ones
 * (tokens, text, the running input hash; STRATA_ERR_STATE naming the first
 * that differs) before skipping them, so the caller simply feeds the same
 * input again.  Until the first new batch is written the file is open
 * read-only: a refused or failed resume leaves it byte-for-byte unchanged.
 *
 * One writer per file: the session holds an exclusive flock on its file
 * (STRATA_ERR_STATE "in use by another process" for a second writer).  Only
 * regular files are written or replaced (STRATA_ERR_IO otherwise).  Disk space
 * for each batch and for the final close is claimed before anything is
 * written: a full disk fails with STRATA_ERR_IO between batches, every
 * earlier batch committed (complete = false, resumable).
 *
 * Rows: positions = ALL keeps every token t < length of each document; LAST
 * keeps t = length-1; FIRST keeps t = 0.  Per-row shapes: [d_model] for
 * residual-like hooks, [n_heads, d_head] for q/k/v/z (one head with "[h]"),
 * [n_heads, W] for attn_scores/pattern where W = max tokens per document,
 * keys at or past the document's length stored as 0.
 */

typedef struct strata_capture strata_capture;
typedef struct strata_model strata_model;

typedef enum strata_capture_positions {
    STRATA_POS_ALL = 0,
    STRATA_POS_LAST = 1,
    STRATA_POS_FIRST = 2
} strata_capture_positions;

typedef enum strata_capture_mode {
    STRATA_CAPTURE_CREATE = 0,     /* fail with STRATA_ERR_EXISTS if the file exists */
    STRATA_CAPTURE_OVERWRITE = 1,  /* replace an existing file */
    STRATA_CAPTURE_RESUME = 2      /* continue an interrupted capture of the same setup */
} strata_capture_mode;

typedef enum strata_capture_dtype { STRATA_DTYPE_F32 = 0, STRATA_DTYPE_F16 = 1 } strata_capture_dtype;

/* Progress report, called after every committed batch. */
typedef struct strata_capture_progress {
    int64_t docs_done;       /* documents committed (including resumed ones) */
    int64_t docs_total;      /* -1 if unknown (see strata_capture_set_total) */
    int64_t tokens_done;     /* tokens run in this session */
    int64_t rows_done;       /* rows committed in the file */
    double seconds;          /* since strata_capture_open */
    int64_t expected_bytes;  /* strata_capture_add_file: the finished file's expected size,
                                from a first pass that tokenizes the input (0: unknown);
                                the callback is called once with it before the first
                                document runs */
    int64_t expected_rows;   /* rows that estimate assumes */
    int64_t expected_width;  /* longest document after truncation: the key width of
                                attention-pattern rows */
} strata_capture_progress;
/* Return non-zero to stop: the call adding documents returns STRATA_STOPPED
 * (the file keeps every committed batch, complete = false). */
typedef int (*strata_capture_progress_fn)(const strata_capture_progress *p, void *user);

typedef struct strata_capture_opts {
    const char *hooks;         /* comma-separated hook names/globs, "[h]" head suffix allowed */
    int32_t positions;         /* strata_capture_positions */
    int32_t batch;             /* documents per forward pass (default 8) */
    int32_t max_tokens;        /* truncate longer documents (0: the model's n_ctx) */
    int32_t dtype;             /* strata_capture_dtype */
    int32_t compress;          /* 0 off; 1..9 deflate level, with shuffle */
    int32_t mode;              /* strata_capture_mode */
    int32_t add_bos;           /* text input: 1 yes, 0 no, -1 tokenizer default */
    int32_t n_labels;          /* labels stored under /labels (declared up front) */
    const char *const *label_names;  /* [n_labels] */
    const int32_t *label_is_int;     /* [n_labels] 1: int32 dataset, 0: float32 (NULL: float) */
    strata_capture_progress_fn progress;
    void *progress_user;
    int32_t overlap;           /* 1 (default): a writer thread commits each batch while the
                                  next one runs; 0: write and commit before the next batch
                                  (same file either way) */
    int32_t reserved[7];
} strata_capture_opts;

STRATA_API strata_capture_opts strata_capture_opts_default(void);

/* One label value of a document: the whole document (n_spans == 0 and
 * values == NULL: every kept row gets `value`), or character spans: spans
 * [n_spans][3] = (start, end, value) in characters (Unicode code points) of
 * the text, end exclusive; a token takes the value of the span holding its
 * first character, 0 elsewhere (BOS and empty tokens: 0); or one value per
 * token: values [n_values], n_values equal to the document's token count
 * (the ids given, or the tokens its text encodes to, BOS included), NaN for
 * "no label" (the row is skipped by probes).  Labels a document does not give
 * are 0. */
typedef struct strata_capture_label {
    const char *name;
    double value;
    const double *spans;
    int64_t n_spans;
    const double *values;      /* [n_values] per-token values, or NULL */
    int64_t n_values;
} strata_capture_label;

typedef struct strata_capture_doc {
    const char *text;          /* UTF-8, or NULL when tokens are given */
    int64_t text_len;          /* -1: NUL-terminated */
    const int32_t *tokens;     /* [n_tokens], used as given (no BOS added) */
    int64_t n_tokens;
    const strata_capture_label *labels;  /* [n_labels] */
    int32_t n_labels;
} strata_capture_doc;

/* Opens a session writing `path`.  *out is set even on failure (unless
 * allocation failed) so strata_capture_errmsg() can explain; free it either
 * way.  Fails with STRATA_ERR_NOTFOUND when a glob matches no hook point (the
 * message lists valid names), STRATA_ERR_EXISTS, STRATA_ERR_IO (path not
 * writable, or not a regular file), STRATA_ERR_STATE (resume of a file from
 * another model/hooks, or the file is in use by another process).
 * Text-or-tokens: a session holds text (/docs/text) only if opts say so by
 * the first document; mixing is an error.  The file is created when the
 * first document (or strata_capture_finish) arrives, except that
 * STRATA_ERR_EXISTS and unwritable paths are reported here. */
STRATA_API strata_status strata_capture_open(strata_model *m, const char *path,
                                  const strata_capture_opts *opts, strata_capture **out);
STRATA_API strata_status strata_capture_add_doc(strata_capture *c, const strata_capture_doc *doc);
STRATA_API strata_status strata_capture_add_text(strata_capture *c, const char *text, int64_t len);
STRATA_API strata_status strata_capture_add_tokens(strata_capture *c, const int32_t *ids, int64_t n);
/* Input files: kind 0 text (one document per line), 1 JSONL ({"text": ...,
 * label fields} with number or [[start, end, value], ...] span labels, or
 * {"ids": [...], label fields} with number or per-token [v0, v1, ...] labels,
 * null = NaN; one kind per file), 2 token ids (one document per line,
 * separated by spaces or commas).  For JSONL, labels are discovered by a first
 * pass over the file (so call it on a fresh session); a malformed line fails
 * naming its number and field. */
enum { STRATA_INPUT_TEXT = 0, STRATA_INPUT_JSONL = 1, STRATA_INPUT_TOKENS = 2 };
STRATA_API strata_status strata_capture_add_file(strata_capture *c, int kind, const char *path);
/* Known number of documents, for the progress ETA. */
STRATA_API void strata_capture_set_total(strata_capture *c, int64_t n_docs);
/* Runs the last partial batch, marks the file complete and closes it. */
STRATA_API strata_status strata_capture_finish(strata_capture *c);
STRATA_API void strata_capture_free(strata_capture *c);   /* NULL is a no-op; without finish the
                                                  file stays complete = false */
STRATA_API const char *strata_capture_errmsg(const strata_capture *c);

typedef struct strata_capture_stats {
    int64_t docs;            /* documents in the file (committed) */
    int64_t docs_skipped;    /* documents skipped because a resumed file had them */
    int64_t tokens;          /* tokens in the file */
    int64_t rows;            /* rows in the file */
    int64_t truncated;       /* documents cut to max_tokens in this session */
    int64_t tokens_run;      /* tokens run through the model in this session */
    double seconds;
} strata_capture_stats;
STRATA_API void strata_capture_get_stats(const strata_capture *c, strata_capture_stats *s);
/* Documents already in the file when the session opened (resume). */
STRATA_API int64_t strata_capture_n_done(const strata_capture *c);

#ifdef __cplusplus
}
#endif
#endif
