/* io/h5store_internal.h — the activation writer's state, shared by the
 * serial writer (io/h5store.c) and the parallel one (io/h5store_mpi.c)
 * (internal to lib/io).
 *
 * Defines: struct st_h5w, and st_h5w_i_*: the serial writer's file-access
 * settings, allocation, handle opening/closing, count commit and the
 * resume's switch to writing, for io/h5store_mpi.c. */
#ifndef STRATA_IO_H5STORE_INTERNAL_H
#define STRATA_IO_H5STORE_INTERNAL_H

#include <hdf5.h>
#include "io/h5store.h"

struct st_h5w {
    char *path;               /* as the caller named it (messages) */
    char *real_path;          /* symlinks followed: the file actually written */
    int lock_fd;              /* holds the exclusive flock on real_path (-1: none) */
    int writable;             /* 0: a resume still checking (file open read-only) */
    int was_complete;         /* resume: the file was complete when opened */
    int broken;               /* an HDF5 write failed: write nothing more */
    int64_t stored_truncated; /* resume: n_truncated already in the file */
    int32_t compress;
    int64_t reserved_to;      /* disk blocks claimed up to this file offset */
    char input_sha[65];       /* running input hash committed with the counts ("" none) */
    /* stored documents of a resumed file, a block at a time (st_h5w_stored_doc) */
    int64_t sd_d0, sd_n;
    int64_t *sd_off, *sd_toff;   /* [sd_n+1] token / text offsets, relative */
    int32_t *sd_tok;
    char *sd_text;
    hid_t file, g_docs, g_acts, g_labels;
    hid_t ds_tokens, ds_offsets, ds_row_offsets, ds_text, ds_text_offsets, ds_rows;
    int64_t n_text_bytes;     /* committed length of /docs/text_bytes */
    int32_t n_hooks, n_labels;
    char **hook_names, **label_names;
    hid_t *ds_acts;           /* [n_hooks] */
    int64_t *width;           /* [n_hooks] elements per row (in memory) */
    int32_t *grow;            /* [n_hooks] 1: last row dim grows (spec.grow_last) */
    int64_t *row_last;        /* [n_hooks] the last row dim's maximum (memory width) */
    hid_t *ds_labels;         /* [n_labels] */
    int32_t *label_is_int;    /* [n_labels] */
    int32_t dtype, has_text;
    int32_t alloc_early;      /* spec.alloc_early: datasets allocate chunks as they grow */
    hid_t t_f16;
    int64_t n_docs, n_rows, n_tokens;
    int64_t commits_since_open;
    void *scratch;            /* conversion buffer */
    size_t scratch_cap;
};

/* The writer's file access list: metadata cache without evictions (the file
 * on disk changes only in H5Fflush), format bounds up to 1.10, no HDF5 file
 * locking (the writer holds its own flock). */
hid_t st_h5w_i_fapl(void);
/* A writer for spec s with no file open (NULL: out of memory). */
st_h5w *st_h5w_i_new(const char *path, const st_h5w_spec *s);
void st_h5w_i_free(st_h5w *w);
/* Opens every group and dataset of w->file; closes them (and the file). */
int st_h5w_i_open_handles(st_h5w *w, st_err *err);
void st_h5w_i_close_handles(st_h5w *w);
/* Rewrites n_docs, n_rows, n_tokens, input_sha256 and flushes: 0 or -1. */
int st_h5w_i_commit_counts(st_h5w *w);
/* A resumed writer (opened read-only) reopens the file for writing and
 * truncates every dataset to the committed counts (no-op when writable). */
int st_h5w_i_begin_writing(st_h5w *w, st_err *err);

#endif
