/* tests/fuzz/fuzz_util.h — helpers shared by the libFuzzer harnesses.
 *
 * Most strata parsers take a path, so a harness writes the input to a file in
 * a private temporary directory (made once per process) and opens that. */
#ifndef STRATA_FUZZ_UTIL_H
#define STRATA_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The process's scratch directory (created on first use, removed at exit). */
const char *fz_dir(void);
/* Writes n bytes to fz_dir()/name; returns the full path (static buffer per
 * slot 0..3) or NULL. */
const char *fz_write(int slot, const char *name, const uint8_t *data, size_t n);
/* Splits data at the first occurrence of the 4-byte separator "\n--\n":
 * *a = before, *b = after (whole input in *a and *b empty if absent). */
void fz_split(const uint8_t *data, size_t n, const uint8_t **a, size_t *na, const uint8_t **b,
              size_t *nb);
/* ../shared relative to the source tree (STRATA_SHARED_DIR) + rel. */
const char *fz_shared(const char *rel);

#endif
