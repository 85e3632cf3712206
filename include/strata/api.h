/* strata/api.h — STRATA_API, the export marker of every public function.
 *
 * The library is compiled with hidden visibility: only functions declared
 * with STRATA_API (the strata_* API in these headers) are exported from
 * libstrata.so; everything else (st_*, internal helpers) stays inside it
 * (tests/test_abi.c checks `nm -D --defined-only`).
 *
 * Threads: nothing here runs. */
#ifndef STRATA_API_H
#define STRATA_API_H

#if defined(__GNUC__) || defined(__clang__)
#define STRATA_API __attribute__((visibility("default")))
#else
#define STRATA_API
#endif

#endif
