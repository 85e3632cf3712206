/* strata/capture.h — activation store: streaming capture into HDF5 and the
 * reader the analysis modules stream from.
 *
 * Defines (reader): strata_acts (opaque), strata_acts_open(), _close(),
 * _errmsg(), _n_rows(), _n_hooks(), _hook(), _hook_shape(), _row_width(),
 * _read(), _n_labels(), _label(), _read_label(), _read_row_tokens(),
 * _complete().
 * Defines (writer): see the capture section below (owned by the capture module).
 *
 * File layout: docs/FORMAT.md.  Rows are kept positions; every hook dataset
 * is [R, ...] (e.g. [R, d_model], patterns [R, heads, n_ctx]).
 */
#ifndef STRATA_CAPTURE_H
#define STRATA_CAPTURE_H

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
strata_status strata_acts_open(const char *path, strata_acts **out);
void strata_acts_close(strata_acts *a);                    /* NULL is a no-op */
const char *strata_acts_errmsg(const strata_acts *a);
int strata_acts_complete(const strata_acts *a);            /* root attr "complete" */

int64_t strata_acts_n_rows(const strata_acts *a);          /* R */
int strata_acts_n_hooks(const strata_acts *a);
const char *strata_acts_hook(const strata_acts *a, int i); /* borrowed name */
/* shape[0] = R, the rest the per-row shape; returns ndim (<= 4) or -1 if absent. */
int strata_acts_hook_shape(const strata_acts *a, const char *hook, int64_t shape[4]);
/* Elements per row (product of shape[1..]); -1 if absent. */
int64_t strata_acts_row_width(const strata_acts *a, const char *hook);
/* Reads rows [row0, row0+n) of one hook as float32 into out [n][width]
 * (float16 files are converted). */
strata_status strata_acts_read(strata_acts *a, const char *hook, int64_t row0, int64_t n,
                               float *out);

int strata_acts_n_labels(const strata_acts *a);
const char *strata_acts_label(const strata_acts *a, int i); /* borrowed name */
/* Reads rows [row0, row0+n) of /labels/<name> as float (int labels converted). */
strata_status strata_acts_read_label(strata_acts *a, const char *name, int64_t row0, int64_t n,
                                     float *out);
/* Token id at each of rows [row0, row0+n) (tokens[rows[i]]); for control tasks. */
strata_status strata_acts_read_row_tokens(strata_acts *a, int64_t row0, int64_t n, int32_t *out);

/* ---------------- writer / capture driver ----------------
 * (declared below by the capture module) */

#ifdef __cplusplus
}
#endif
#endif
