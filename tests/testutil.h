/* tests/testutil.h — helpers shared by the Check suites.
 *
 * Defines: tu_shared_path() (path under ../shared, NULL when absent, with a
 * visible SKIP message), tu_tmpdir() (a fresh temp dir per process),
 * tu_max_abs_diff(), tu_check_close() (prints first values and max diff),
 * tu_write_file() / tu_read_file(), tu_write_acts() (a minimal activation file). */
#ifndef STRATA_TESTUTIL_H
#define STRATA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Returns a static buffer "<shared>/<rel>" or NULL (printing "SKIP: ...") if
 * the file does not exist. */
const char *tu_shared_path(const char *rel);
/* A per-process temporary directory (created once, removed at exit). */
const char *tu_tmpdir(void);
/* Writes "<tmpdir>/<name>" into buf (static if buf NULL). */
const char *tu_tmpfile(const char *name);
double tu_max_abs_diff(const float *a, const float *b, size_t n);
/* Returns 1 if max|a-b| <= tol; else prints label, first values and max diff, returns 0. */
int tu_check_close(const char *label, const float *got, const float *want, size_t n, double tol);
/* Writes bytes to a file; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);
/* A whole file, NUL-terminated (malloc'd; *n, if n is not NULL, its length);
 * NULL when it cannot be read. */
char *tu_read_file(const char *path, size_t *n);
/* 1 when both files can be read and hold the same bytes. */
int tu_same_bytes(const char *a, const char *b);
/* Writes a minimal activation file in the docs/FORMAT.md layout with the
 * HDF5 C API (root attrs format/format_version/hooks/n_rows/complete, /tokens,
 * /rows, /acts/<hook> [n, width] chunked by `batch` rows), one hook per X[h]
 * ([n][width[h]]); dtype ST_H5_F16 stores IEEE binary16. Fails the running
 * Check test on any HDF5 error. */
void tu_write_acts(const char *path, int nh, const char *const *names, const int64_t *width,
                   const float *const *X, int64_t n, int dtype, int64_t batch);

#endif
