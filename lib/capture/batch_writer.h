/* capture/batch_writer.h — commits capture batches on a writer thread while
 * the next batch's forward pass runs (internal).
 *
 * Defines: cap_batch (one batch's rows and index data, owned storage),
 * cap_writer, cap_writer_start(), cap_writer_acquire(), cap_writer_submit(),
 * cap_writer_drain(), cap_writer_counts(), cap_writer_stop().
 *
 * Two batches (double buffering): while the writer thread runs
 * st_h5w_reserve + st_h5w_append for batch i (claim the disk space, write
 * every dataset, flush, commit the counts: the same commit protocol as a
 * serial capture), the caller fills the other cap_batch with batch i+1.
 * Only the writer thread calls into the store between cap_writer_start and
 * cap_writer_stop; cap_writer_drain returns when it is idle, after which the
 * caller may use the store again until the next submit.
 *
 * Batches are committed in submission order.  After a failed commit the
 * writer commits nothing more: the error is returned by the next acquire,
 * drain or stop (the file keeps every batch committed before it, with
 * complete = false, as after a serial failure).
 *
 * cap_batch layout (n_rows rows, n_docs documents, T = sum doc_ntok):
 *   acts [n_hooks] -> [rows_cap][width[h]] float32,
 *   labels [n_labels] -> [rows_cap], rows [rows_cap], tokens [T],
 *   texts [n_docs] (owned, may be NULL), doc_ntok / doc_nrows [n_docs]. */
#ifndef STRATA_CAPTURE_BATCH_WRITER_H
#define STRATA_CAPTURE_BATCH_WRITER_H

#include <stdint.h>

#include "io/h5store.h"
#include "util/err.h"

typedef struct cap_batch {
    int32_t n_docs;
    int64_t n_rows, n_tokens, width, text_bytes;
    int64_t *doc_ntok, *doc_nrows;  /* [docs_cap] */
    char **texts;                   /* [docs_cap] owned; NULL entries allowed */
    int32_t has_texts;
    float **acts;                   /* [n_hooks] -> [rows_cap][hook width] */
    float **labels;                 /* [n_labels] -> [rows_cap] */
    int64_t *rows;                  /* [rows_cap] */
    int32_t *tokens;                /* [tokens_cap] */
    int64_t rows_cap, tokens_cap;
    int32_t docs_cap;
    char input_sha256[65];
} cap_batch;

typedef struct cap_writer cap_writer;

/* Starts the thread for store w (n_hooks hooks of the given row widths,
 * n_labels labels, at most docs_cap documents per batch). */
int cap_writer_start(st_h5w *w, int32_t n_hooks, const int64_t *widths, int32_t n_labels,
                     int32_t docs_cap, cap_writer **out, st_err *err);
/* *out = a free batch whose buffers hold at least n_rows rows and n_tokens
 * tokens (waits while both are queued).  After a failed commit: the writer's
 * status and message; out of memory: STRATA_ERR_NOMEM. */
int cap_writer_acquire(cap_writer *wr, int64_t n_rows, int64_t n_tokens, cap_batch **out,
                       st_err *err);
/* Queues b (from cap_writer_acquire, filled) for commit. */
void cap_writer_submit(cap_writer *wr, cap_batch *b);
/* Waits until every submitted batch is committed (or the writer failed). */
int cap_writer_drain(cap_writer *wr, st_err *err);
/* Documents, rows and tokens committed so far by this writer. */
void cap_writer_counts(cap_writer *wr, int64_t *docs, int64_t *rows, int64_t *tokens);
/* Drains, ends the thread and frees everything; the store stays open. */
int cap_writer_stop(cap_writer *wr, st_err *err);

#endif
