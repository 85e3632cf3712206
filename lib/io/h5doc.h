/* io/h5doc.h — small HDF5 documents by path, for the analysis modules
 * (internal; probes/ use it instead of the HDF5 C API).
 *
 * Defines: st_h5doc (an open file), st_h5doc_open(), st_h5doc_close(),
 * link and group helpers, attribute put/get by object path, whole-dataset
 * write/read, and row-block access to [R, ...] datasets (float16 widened).
 *
 * Paths are relative to the root ("probes/x/coef"; "" or "/" is the root).
 * Every call that can fail returns 0 on success and a negative strata_status
 * (or -1 for "absent" where said); messages go to the st_err given at open.
 * HDF5's error printing is off for every call (io/h5util.h). */
#ifndef STRATA_IO_H5DOC_H
#define STRATA_IO_H5DOC_H

#include <stdint.h>
#include "util/err.h"

typedef struct st_h5doc st_h5doc;

enum { ST_H5DOC_READ = 0,      /* existing file, read-only */
       ST_H5DOC_RW = 1,        /* existing file, read-write */
       ST_H5DOC_CREATE = 2 };  /* read-write; created when absent */
/* Element types of datasets and numeric attributes (stored little-endian). */
enum { ST_H5_I32 = 0, ST_H5_I64 = 1, ST_H5_F32 = 2, ST_H5_F64 = 3 };

/* err receives every later message too (it must outlive the document). */
int st_h5doc_open(const char *path, int mode, st_h5doc **out, st_err *err);
/* Closes (flushing writes); STRATA_ERR_IO when the close failed.  NULL: 0. */
int st_h5doc_close(st_h5doc *d);

/* 1 if a link (group or dataset) exists at path, else 0. */
int st_h5doc_exists(st_h5doc *d, const char *path);
/* Creates group path when absent (its parent must exist). */
int st_h5doc_group(st_h5doc *d, const char *path);
/* Removes the link at path (a group with everything under it). */
int st_h5doc_delete(st_h5doc *d, const char *path);
/* Children of a group: their count (-1: no such group) and, when >= 1, the
 * first child's name (by name order) in *first (malloc'd; may be NULL). */
int st_h5doc_children(st_h5doc *d, const char *group, char **first);

/* Attributes of the object at obj. */
int st_h5doc_put_str(st_h5doc *d, const char *obj, const char *name, const char *val);
int st_h5doc_put_num(st_h5doc *d, const char *obj, const char *name, int type, const void *v);
char *st_h5doc_get_str(st_h5doc *d, const char *obj, const char *name);      /* NULL: absent */
int st_h5doc_get_num(st_h5doc *d, const char *obj, const char *name, int type, void *v);  /* -1: absent */

/* A dataset of `type` with dims[rank] (rank 1..4), written whole. */
int st_h5doc_write(st_h5doc *d, const char *path, int type, int rank, const int64_t *dims,
                   const void *data);
/* Its rank and dims (rank <= 4), or -1 when absent. */
int st_h5doc_dims(st_h5doc *d, const char *path, int64_t dims[4]);
/* Reads a dataset of exactly `count` elements as `type`; -1 when absent or
 * of another size. */
int st_h5doc_read(st_h5doc *d, const char *path, int type, int64_t count, void *data);

/* Rows [row0, row0+n) of a float32 or float16 [R, ...] dataset as float32
 * (out [n][width], width = product of the row axes). */
int st_h5doc_read_rows_f32(st_h5doc *d, const char *path, int64_t row0, int64_t n, float *out);
/* Creates a float32 [rows][width] dataset chunked along rows (about 1 MiB
 * per chunk), then writes row blocks into it. */
int st_h5doc_create_rows_f32(st_h5doc *d, const char *path, int64_t rows, int64_t width);
int st_h5doc_write_rows_f32(st_h5doc *d, const char *path, int64_t row0, int64_t n,
                            const float *data);

#endif
