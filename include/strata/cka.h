/* strata/cka.h — linear CKA: how similar are the representations of two
 * hooks (layers) over the same rows?
 *
 * Defines: strata_cka_params, strata_cka_default_params(), strata_cka
 * (opaque result), strata_cka_fit() (in-memory arrays), strata_cka_fit_acts()
 * (streamed from a capture file), strata_cka_free(), strata_cka_errmsg(),
 * strata_cka_n(), strata_cka_n_rows(), strata_cka_matrix(),
 * strata_cka_n_passes().
 *
 * Linear CKA (Kornblith, Norouzi, Lee & Hinton 2019, eq. 5 with a linear
 * kernel), for X [n][p] and Y [n][q] on the same n rows, with Xc, Yc the
 * column-centred matrices:
 *
 *     CKA(X, Y) = ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)
 *
 * computed in feature space from streamed row blocks: the p x q, p x p and
 * q x q scatter matrices are accumulated in float64 (dsyrk / dgemm on
 * block-centred rows plus Chan's rank-1 merge of the block means), so memory
 * is O((sum of widths)^2), independent of n.  CKA is in [0, 1], equals 1 for
 * X with itself, and is invariant to orthogonal transforms and isotropic
 * scaling of either argument (not to arbitrary invertible maps).
 *
 * Memory budget.  All hooks' scatter fits in one matrix when
 * 8 * (sum of widths)^2 <= max_bytes: one pass over the data.  Otherwise the
 * hooks are split into groups of total width <= sqrt(max_bytes / 8) and
 * each pair of groups takes a pass (t groups: t (t + 1) / 2 passes).  A single
 * hook wider than sqrt(max_bytes / 8) is an error (STRATA_ERR_RANGE).
 *
 * Degenerate input: n < 2 -> STRATA_ERR_ARG; NaN/Inf -> STRATA_ERR_NUMERIC
 * naming the hook, row and column; a hook whose rows are all equal
 * (||Xc^T Xc||_F = 0, CKA undefined) -> STRATA_ERR_NUMERIC naming it.
 *
 * Threads: one call at a time per handle; separate handles may run on
 * separate threads.  The big products are single OpenBLAS calls threaded by
 * OpenBLAS itself.
 */
#ifndef STRATA_CKA_H
#define STRATA_CKA_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_acts strata_acts;

typedef struct strata_cka_params {
    int64_t block_rows;  /* rows per streamed block; 0 -> 4096 */
    int64_t max_bytes;   /* budget for the float64 scatter matrices; 0 -> 1 GiB */
    int32_t distributed; /* 1: one fit over the ranks of the strata_dist group
                            (below); 0 (default): this process alone */
    int32_t reserved32;  /* zero */
    int64_t reserved[3];     /* zero; room to grow without changing the size (ABI) */
} strata_cka_params;

/* Distributed fits (docs/SCALE.md).  With params.distributed = 1 in a group
 * of P > 1 ranks (an MPI build after strata_dist_init / strata_dist_set_comm)
 * every strata_cka_fit* call is collective (same params, m and widths on
 * every rank):
 *   strata_cka_fit: X[i] [n][d[i]] are THIS rank's rows (n may differ by
 *     rank, even be 0); CKA is computed over all ranks' rows together.
 *   strata_cka_fit_acts, _acts_pair: every rank opens the same file(s) and
 *     reads its share of the rows (contiguous, sizes differing by at most
 *     one); _acts_pair's token check is done by every rank on all rows.
 * The scatter and cross-scatter matrices (the Gram statistics of linear
 * CKA: sums over rows) are accumulated per rank and merged with Chan's
 * update: one sum of (sum of widths)^2 doubles per pass.  Every rank
 * returns the same matrix.  Equal to the one-process result up to
 * summation order.  Serial build, one rank or distributed = 0: unchanged. */

STRATA_API void strata_cka_default_params(strata_cka_params *p);

typedef struct strata_cka strata_cka;

/* CKA between every pair of m inputs X[i] [n][d[i]] (same n rows).
 * *out is set even on failure (read strata_cka_errmsg, then strata_cka_free). */
STRATA_API strata_status strata_cka_fit(int m, const float *const *X, const int64_t *d, int64_t n,
                             const strata_cka_params *p, strata_cka **out);
/* CKA between every pair of the m named hooks of a capture file (rows of a
 * hook with per-row shape [H, dh] are flattened to H*dh features). */
STRATA_API strata_status strata_cka_fit_acts(strata_acts *a, int m, const char *const *hooks,
                                  const strata_cka_params *p, strata_cka **out);

/* CKA across two capture files of the same tokens (two checkpoints, two model
 * sizes): hooks_a [ma] of file a and hooks_b [mb] of file b.  Both files must
 * hold the same rows with the same token at each (checked; STRATA_ERR_STATE
 * naming the first differing row).  The result is one (ma + mb)-square matrix:
 * inputs 0..ma-1 are a's hooks, ma..ma+mb-1 b's; entry [i][ma + j] compares
 * hook i of a with hook j of b. */
STRATA_API strata_status strata_cka_fit_acts_pair(strata_acts *a, int ma, const char *const *hooks_a,
                                       strata_acts *b, int mb, const char *const *hooks_b,
                                       const strata_cka_params *p, strata_cka **out);

STRATA_API void strata_cka_free(strata_cka *c);                 /* NULL is a no-op */
STRATA_API const char *strata_cka_errmsg(const strata_cka *c);  /* "" when no error */

STRATA_API int strata_cka_n(const strata_cka *c);               /* m (0 if not computed) */
STRATA_API int64_t strata_cka_n_rows(const strata_cka *c);
/* [m][m] symmetric, diagonal 1; borrowed, valid until strata_cka_free. NULL on failure. */
STRATA_API const double *strata_cka_matrix(const strata_cka *c);
STRATA_API int strata_cka_n_passes(const strata_cka *c);        /* passes over the data it took */

#ifdef __cplusplus
}
#endif
#endif
