/* io/h5store.h — the HDF5 activation store writer (internal).  The reader is
 * public (strata_acts_* in strata/capture.h) and lives in io/h5store.c too.
 *
 * Defines: st_h5w (opaque writer), st_h5w_spec, st_h5w_provenance, st_h5w_batch,
 * st_h5w_create(), st_h5w_resume(), st_h5w_stored_doc(), st_h5w_stored_input_hash(),
 * st_h5w_was_complete(), st_h5w_reserve(), st_h5w_append(), st_h5w_write_rows(),
 * st_h5w_close(), st_h5w_n_docs()/_n_rows()/_n_tokens(), st_h5_check_offsets().
 * (float16 conversion: util/half.h.)
 *
 * Layout (docs/FORMAT.md is the user-facing description):
 *   /                    attrs format, format_version, model_name, model_arch,
 *                        config (JSON), strata_version, created, hooks (string
 *                        array), labels, positions, dtype, complete (bool),
 *                        n_docs, n_rows, n_tokens, input_sha256 (committed
 *                        together), provenance: model_path, model_revision,
 *                        weight_files + weight_sha256, tokenizer_files +
 *                        tokenizer_sha256
 *   /tokens              int32 [N]
 *   /docs/offsets        int64 [D+1]   doc i = tokens[offsets[i]:offsets[i+1]]
 *   /docs/row_offsets    int64 [D+1]   rows of doc i = rows[row_offsets[i]:row_offsets[i+1]]
 *   /docs/text           vlen utf-8 [D]  (only when the input was text)
 *   /rows                int64 [R]     index into /tokens of each row
 *   /acts/<hook>         float32|float16 [R, ...row shape]
 *   /labels/<name>       int32|float32 [R]
 *
 * Crash safety: st_h5w_append() extends and writes every dataset, flushes
 * (H5Fflush), then rewrites the committed counts n_docs/n_rows/n_tokens and
 * flushes again.  The metadata cache runs with evictions disabled, so the
 * file's metadata on disk only changes inside those flushes.  Unfiltered
 * datasets run without a chunk cache: their raw data goes to the file at
 * H5Dwrite time, but only into rows past the committed counts (fill values
 * are never written, so committed bytes are never rewritten).  Chunks and
 * B-tree entries of committed rows are never moved (file-space strategy NONE:
 * freed space is never reused).  Readers trust the committed counts, not the
 * extents; a resume truncates every dataset back to them.
 *
 * One writer at a time: the writer holds an exclusive flock on the file (and
 * on FILE.creating while it builds a new one) for its whole life; a second
 * writer is refused (io/outfile.h).  Only regular files are written or
 * replaced.  Disk space for each batch (and for the final close) is claimed
 * with fallocate before anything is written, so a full disk fails a batch
 * cleanly instead of leaving HDF5 half-flushed.
 *
 * Resume is two-phase: st_h5w_resume() opens the file read-only and checks
 * it (spec, provenance, every offset array); nothing changes on disk until
 * the first st_h5w_append() or a completing st_h5w_close(), so a refused or
 * failed resume leaves the file byte-for-byte as it was.
 */
#ifndef STRATA_IO_H5STORE_H
#define STRATA_IO_H5STORE_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

#define ST_H5_FORMAT "strata-activations"
#define ST_H5_FORMAT_VERSION "1.0"
#define ST_H5_MAX_ROW_DIMS 3
#define ST_H5_MAX_ROW_ELEMS ((uint64_t)1 << 31) /* values per row of one hook */

enum { ST_H5_F32 = 0, ST_H5_F16 = 1 };

typedef struct st_h5w st_h5w;

/* Where the model came from; recorded at creation, compared on resume
 * (weight and tokenizer hashes must match; path and revision are named in
 * messages). */
typedef struct st_h5w_provenance {
    const char *model_path;                 /* as opened, absolute */
    const char *model_revision;             /* "" if unknown */
    int32_t n_weight_files;
    const char *const *weight_files;        /* [n] names relative to model_path */
    const char *const *weight_sha256;       /* [n] 64 hex digits */
    int32_t n_tokenizer_files;
    const char *const *tokenizer_files;
    const char *const *tokenizer_sha256;
} st_h5w_provenance;

/* What the file holds; fixed at creation, compared on resume. */
typedef struct st_h5w_spec {
    const char *model_name;
    const char *model_arch;      /* "gpt2" | "neox" | "llama" | ... */
    const char *config_json;     /* the model config as JSON (compared on resume) */
    const char *positions;       /* "all" | "last" | "first" */
    int32_t n_hooks;
    const char *const *hook_names;            /* [n_hooks] dataset names under /acts */
    const int32_t *row_ndim;                  /* [n_hooks] 1..3 */
    const int64_t (*row_shape)[ST_H5_MAX_ROW_DIMS]; /* [n_hooks][row_ndim] */
    int32_t n_labels;
    const char *const *label_names;           /* [n_labels] */
    const int32_t *label_is_int;              /* [n_labels] 1: int32, 0: float32 */
    int32_t dtype;               /* ST_H5_F32 | ST_H5_F16 */
    int32_t compress;            /* 0: none; 1..9 deflate level (with shuffle) */
    int32_t has_text;            /* write /docs/text */
    int32_t max_tokens;          /* recorded as an attribute (compared on resume) */
    const st_h5w_provenance *prov; /* NULL: none recorded / compared */
    const int32_t *grow_last;    /* [n_hooks] or NULL: 1 = the last row dim is a maximum:
                                    the dataset starts 0 wide there and grows to the widest
                                    batch (st_h5w_batch.width); rows in memory stay full width */
    const char *const *axes;     /* [n_hooks] or NULL: attribute "axes" of each dataset,
                                    e.g. "row, head, key" */
    int32_t n_vocab;             /* > 0: write /vocab, vlen UTF-8 [n_vocab] (token strings) */
    const char *const *vocab;    /* [n_vocab] */
    int32_t alloc_early;         /* 1: datasets allocate their chunks when they are extended
                                    (H5D_ALLOC_TIME_EARLY), as parallel HDF5 needs to write
                                    them (a distributed capture, io/h5store_mpi.h) */
} st_h5w_spec;

/* One batch of completed documents. */
typedef struct st_h5w_batch {
    int32_t n_docs;
    const int64_t *doc_ntok;     /* [n_docs] tokens kept per document */
    const int64_t *doc_nrows;    /* [n_docs] rows per document */
    const int32_t *tokens;       /* [sum doc_ntok] */
    const char *const *texts;    /* [n_docs] NUL-terminated UTF-8, or NULL */
    int64_t n_rows;              /* sum doc_nrows */
    const int64_t *rows;         /* [n_rows] index into /tokens (global) */
    const float *const *acts;    /* [n_hooks] each [n_rows][row width] float32 */
    const float *const *labels;  /* [n_labels] each [n_rows] (int labels hold integers) */
    const char *input_sha256;    /* running hash after this batch (hex), committed with
                                    the counts; NULL: not recorded */
    int64_t width;               /* grow_last hooks: columns this batch needs (its longest
                                    document); the file keeps the widest so far */
} st_h5w_batch;

/* Creates path (overwrite: replace an existing regular file; else
 * STRATA_ERR_EXISTS).  A symlink is followed (its target is replaced). */
int st_h5w_create(const char *path, const st_h5w_spec *spec, int overwrite, st_h5w **out,
                  st_err *err);
/* Opens an incomplete (or complete) file written with the same spec, read
 * only, and checks it: STRATA_ERR_STATE if model, config, hooks, labels,
 * positions, dtype, max_tokens, strata version or the weight/tokenizer
 * hashes differ; STRATA_ERR_FORMAT if an offset array is damaged.  The file
 * is changed (truncated to the committed counts, complete = false) only when
 * the first batch is appended or the writer closes with complete = 1. */
int st_h5w_resume(const char *path, const st_h5w_spec *spec, st_h5w **out, st_err *err);
/* Committed document i of a resumed (or any) file: its tokens and text
 * (borrowed, valid until the next call; text NULL for token input). */
int st_h5w_stored_doc(st_h5w *w, int64_t i, const int32_t **tokens, int64_t *n_tokens,
                      const char **text, int64_t *text_len, st_err *err);
/* The input_sha256 committed in a resumed file ("" if the file has none). */
const char *st_h5w_stored_input_hash(const st_h5w *w);
/* 1 if a resumed file was complete when opened. */
int st_h5w_was_complete(const st_h5w *w);
/* Claims disk space for a coming batch of n_docs documents, n_tokens
 * tokens, n_rows rows and text_bytes bytes of text (plus room for metadata
 * and the final close): STRATA_ERR_IO "no space left" before anything is
 * written.  st_h5w_append() calls it too. */
int st_h5w_reserve(st_h5w *w, int64_t n_docs, int64_t n_tokens, int64_t n_rows,
                   int64_t text_bytes, st_err *err);
/* Writes the batch (acts[h] == NULL: hook h's rows were already written by
 * st_h5w_write_rows), flushes, then commits the counts and flushes again. */
int st_h5w_append(st_h5w *w, const st_h5w_batch *b, st_err *err);
/* Writes n rows of hook h of the coming batch, at batch row row0 (file row
 * n_rows + row0), straight from src: row r is the row width of floats at
 * src + r * stride (stride >= width).  float32 files only.  Extends the
 * dataset as needed; the rows count only once st_h5w_append() commits the
 * batch (with acts[h] = NULL), so a crash before that loses nothing committed. */
int st_h5w_write_rows(st_h5w *w, int h, int64_t row0, int64_t n, const float *src,
                      int64_t stride, st_err *err);
/* Closes; complete != 0 writes /docs/text, flushes, then marks the file
 * complete and flushes again (a resumed file that was complete and got no
 * new batch is left untouched).  n_truncated counts this session's
 * truncated documents (added to a resumed file's).  If the disk cannot hold
 * /docs/text the file stays complete = false with every batch committed
 * (resumable) and STRATA_ERR_IO says so.  NULL is a no-op. */
int st_h5w_close(st_h5w *w, int complete, int64_t n_truncated, st_err *err);

/* Checks an offset array ds[0..n] (int64): ds[0] == 0, non-decreasing,
 * ds[n] == last (or <= limit when last < 0), every value <= limit.  Streams
 * in blocks; STRATA_ERR_FORMAT naming path, name and the first bad index. */
int st_h5_check_offsets(int64_t ds, const char *path, const char *name, int64_t n,
                        int64_t last, int64_t limit, st_err *err);

int64_t st_h5w_n_docs(const st_h5w *w);
int64_t st_h5w_n_rows(const st_h5w *w);
int64_t st_h5w_n_tokens(const st_h5w *w);

#endif
