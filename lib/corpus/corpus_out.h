/* corpus/corpus_out.h — what every corpus generator writes (internal).
 *
 * Defines: st_cfile (an output written under "<path>.tmp" and renamed on
 * commit), st_cfile_open(), _commit(), _abort(); st_cdoc (one document: ids
 * and per-token label values, plus document-level scalars) with
 * st_cdoc_init(), _free(), _clear(), _push(), _scalar(), _write();
 * st_corpus_write_tokenizer() (a WordLevel tokenizer directory);
 * st_corpus_write_task() (one {"prompt_ids", "answer_ids"} line).
 *
 * Label values are doubles: NaN is written as null (undefined at that token),
 * integral values as integers.
 */
#ifndef STRATA_CORPUS_OUT_H
#define STRATA_CORPUS_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

typedef struct st_cfile {
    FILE *f;
    char *path;     /* final name */
    char *tmp;      /* "<path>.tmp", written first */
} st_cfile;

/* Refuses an existing path unless overwrite (STRATA_ERR_EXISTS), then opens
 * "<path>.tmp" for writing.  what names the option in messages ("--out"). */
int st_cfile_open(st_cfile *c, const char *path, int overwrite, const char *what, st_err *e);
/* Flushes, closes and renames onto path; checks every write succeeded. */
int st_cfile_commit(st_cfile *c, st_err *e);
/* Closes and removes the temporary file (no-op on an unopened st_cfile). */
void st_cfile_abort(st_cfile *c);

#define ST_CDOC_MAX_LABELS 8
#define ST_CDOC_MAX_SCALARS 8

typedef struct st_cdoc {
    int n_labels;
    const char *label_names[ST_CDOC_MAX_LABELS];
    int32_t *ids;                           /* [n] */
    double *lab[ST_CDOC_MAX_LABELS];        /* [n_labels][n] */
    int64_t n, cap;
    int n_scalars;
    const char *scalar_names[ST_CDOC_MAX_SCALARS];
    double scalar_vals[ST_CDOC_MAX_SCALARS];
} st_cdoc;

/* names: n_labels static strings, the per-token labels in output order. */
void st_cdoc_init(st_cdoc *d, int n_labels, const char *const *names);
void st_cdoc_free(st_cdoc *d);
void st_cdoc_clear(st_cdoc *d);
/* Appends one token with its label values vals[n_labels]; -1 on no memory. */
int st_cdoc_push(st_cdoc *d, int32_t id, const double *vals);
/* Sets a document-level scalar label (until the next clear). */
void st_cdoc_scalar(st_cdoc *d, const char *name, double v);
/* Writes the document as one JSONL line: ids, labels, scalars and "words"
 * (pieces[id] joined by spaces; pieces may be NULL to omit it). */
void st_cdoc_write(const st_cdoc *d, FILE *f, const char *const *pieces);

/* Writes dir/tokenizer.json (WordLevel over pieces[0..n-1], id = index;
 * WhitespaceSplit pre-tokenizer; post-processor BOS + text; no decoder, so
 * decoding joins pieces with spaces; special tokens bos and eos (eos < 0:
 * none) as added tokens) and dir/tokenizer_config.json.  Creates dir. */
int st_corpus_write_tokenizer(const char *dir, const char *const *pieces, int n, int bos, int eos,
                              int overwrite, st_err *e);

/* {"prompt_ids": [p...], "answer_ids": [a...]} */
void st_corpus_write_task(FILE *f, const int32_t *prompt, int np, const int32_t *answer, int na);

#endif
