/* strata/pca.h — PCA and effective dimensionality of activations.
 *
 * Defines: strata_pca_solver, strata_pca_params, strata_pca_default_params(),
 * strata_pca (opaque result), strata_pca_fit() (in-memory rows),
 * strata_pca_fit_acts() (streamed from a capture file), strata_pca_free(),
 * strata_pca_errmsg(), getters (n_rows, dim, k, solver, mean, components,
 * explained_variance, explained_variance_ratio, total_variance,
 * participation_ratio), strata_pca_transform(), strata_pca_write(),
 * strata_participation_ratio().
 *
 * Arrays are row-major, last index fastest.  Data X is [n][d] float32 (one
 * row per kept position; a hook with per-row shape [H, dh] is flattened to
 * d = H*dh).  All accumulation and the eigen-decomposition are float64, so
 * the results are double arrays.
 *
 * Math (docs/GEOMETRY.md has the full account):
 *   mean       mu = (1/n) sum_r x_r
 *   covariance C  = (1/(n-1)) sum_r (x_r - mu)(x_r - mu)^T     (centred, ddof 1,
 *                   as numpy.cov and sklearn.decomposition.PCA)
 *              C  = (1/n) sum_r x_r x_r^T                      (center = 0)
 *   C v_i = lambda_i v_i,  lambda_1 >= lambda_2 >= ... (the top k returned)
 *   explained_variance_ratio_i = lambda_i / tr(C)   (tr(C) = sum of ALL eigenvalues)
 *   participation ratio PR = (sum_i lambda_i)^2 / sum_i lambda_i^2
 *                          = tr(C)^2 / ||C||_F^2    (all d eigenvalues; 1 <= PR <= d)
 * Sign convention: every component v_i is flipped so that its entry of
 * largest magnitude is positive (ties: the lowest index).
 *
 * Solvers.  STRATA_PCA_COV streams the d x d covariance (dsyrk on float64
 * row blocks, Chan's pairwise merge for the mean) and takes the top k with
 * LAPACKE_dsyevr; exact to float64 round-off, memory O(d^2).
 * STRATA_PCA_RSVD is randomized subspace iteration on the covariance
 * operator (Halko, Martinsson & Tropp 2011, Alg. 4.4), one streamed pass per
 * iteration, memory O(d (k + oversample)); PR then uses a Hutch++ estimate
 * of ||C||_F^2 (Meyer et al. 2021) and is approximate.  STRATA_PCA_AUTO
 * picks COV when d <= 4096, else RSVD.
 *
 * Degenerate input: k > d, or k > n - 1 (n when not centring) -> STRATA_ERR_ARG;
 * NaN/Inf anywhere -> STRATA_ERR_NUMERIC naming row and column; all features
 * constant (tr(C) = 0) -> STRATA_ERR_NUMERIC.  Constant features among
 * others are fine (they only add zero eigenvalues).
 *
 * Threads: one call at a time per handle; separate handles may run on
 * separate threads.  The big products are single OpenBLAS calls threaded by
 * OpenBLAS itself.
 */
#ifndef STRATA_PCA_H
#define STRATA_PCA_H

#include "strata/api.h"

#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_acts strata_acts;

typedef enum strata_pca_solver {
    STRATA_PCA_AUTO = 0,
    STRATA_PCA_COV = 1,   /* streamed covariance + dsyevr (exact) */
    STRATA_PCA_RSVD = 2   /* randomized subspace iteration (wide data) */
} strata_pca_solver;

/* Limits the fit checks up front (STRATA_ERR_ARG beyond them): enough for any
 * real use, small enough that a typo cannot run for hours. */
#define STRATA_PCA_MAX_K 1000000
#define STRATA_PCA_MAX_ITERS 100
#define STRATA_PCA_MAX_OVERSAMPLE 10000

typedef struct strata_pca_params {
    int32_t k;               /* components to keep (>= 1); default 10 */
    int32_t center;          /* 1 (default): subtract the mean; 0: raw second moment */
    int32_t whiten;          /* 1: strata_pca_transform divides by sqrt(lambda_i) */
    int32_t solver;          /* strata_pca_solver; default AUTO */
    int32_t rsvd_oversample; /* extra subspace columns (default 10) */
    int32_t rsvd_iters;      /* power (subspace) iterations (default 4) */
    int32_t rsvd_probes;     /* Hutch++ probe vectors for ||C||_F^2 (default 32) */
    int32_t reserved;
    uint64_t seed;           /* RSVD start matrix and probes (default 0) */
    int64_t block_rows;      /* rows per streamed block; 0 -> 4096 */
    int32_t distributed;     /* 1: one fit over the ranks of the strata_dist group
                                (below); 0 (default): this process alone */
    int32_t reserved2;       /* zero */
    int64_t reserved_end[3]; /* zero; room to grow without changing the size (ABI) */
} strata_pca_params;

/* Distributed fits (docs/SCALE.md).  With params.distributed = 1 in a group
 * of P > 1 ranks (an MPI build after strata_dist_init / strata_dist_set_comm)
 * strata_pca_fit and strata_pca_fit_acts are collective (every rank calls
 * with the same params and d):
 *   strata_pca_fit: X [n][d] are THIS rank's rows (n may differ by rank,
 *     even be 0); the fit is the PCA of all ranks' rows together.
 *   strata_pca_fit_acts: every rank opens the same file and reads its share
 *     of the rows (contiguous, sizes differing by at most one).
 * Each rank accumulates its rows' mean and scatter (float64); the ranks'
 * accumulators are merged with Chan's update (one sum of d^2 doubles for
 * COV, of d (k + oversample [+ probes]) doubles per pass for RSVD); every
 * rank then solves the same eigenproblem and holds the same result.
 * strata_pca_n_rows counts all ranks' rows.  strata_pca_transform and
 * strata_pca_write are local (no communication).  Results equal the
 * one-process fit up to summation order.  Serial build, one rank or
 * distributed = 0: unchanged. */

STRATA_API void strata_pca_default_params(strata_pca_params *p);

typedef struct strata_pca strata_pca;

/* PCA of X [n][d].  *out is set even on failure (read strata_pca_errmsg, then
 * strata_pca_free); on failure the getters return 0 / NULL. */
STRATA_API strata_status strata_pca_fit(const float *X, int64_t n, int64_t d, const strata_pca_params *p,
                             strata_pca **out);
/* PCA of one hook of a capture file, streamed in row blocks (memory does not
 * grow with the number of rows).  `hook` is a dataset name under /acts. */
STRATA_API strata_status strata_pca_fit_acts(strata_acts *a, const char *hook, const strata_pca_params *p,
                                  strata_pca **out);

STRATA_API void strata_pca_free(strata_pca *pca);                   /* NULL is a no-op */
STRATA_API const char *strata_pca_errmsg(const strata_pca *pca);    /* "" when no error */

STRATA_API int64_t strata_pca_n_rows(const strata_pca *pca);
STRATA_API int64_t strata_pca_dim(const strata_pca *pca);            /* d */
STRATA_API int32_t strata_pca_k(const strata_pca *pca);
STRATA_API int32_t strata_pca_solver_used(const strata_pca *pca);    /* COV or RSVD */
/* Borrowed, valid until strata_pca_free. */
STRATA_API const double *strata_pca_mean(const strata_pca *pca);         /* [d] (zeros if !center) */
STRATA_API const double *strata_pca_components(const strata_pca *pca);   /* [k][d], unit rows */
STRATA_API const double *strata_pca_explained_variance(const strata_pca *pca);       /* [k] lambda_i */
STRATA_API const double *strata_pca_explained_variance_ratio(const strata_pca *pca); /* [k] */
STRATA_API double strata_pca_total_variance(const strata_pca *pca);      /* tr(C) */
STRATA_API double strata_pca_participation_ratio(const strata_pca *pca); /* tr(C)^2/||C||_F^2 */

/* Projections onto the top k: out [n][k] = (X - mu) V^T  (X [n][d]),
 * divided by sqrt(lambda_i) when whiten was set.  Computed in float64. */
STRATA_API strata_status strata_pca_transform(strata_pca *pca, const float *X, int64_t n, float *out);

/* Writes the fit into the capture file `path` under /pca/<hook>/ (layout in
 * docs/GEOMETRY.md): mean, components, explained_variance,
 * explained_variance_ratio and attributes; with write_projections also
 * projections float32 [R][k], computed by streaming /acts/<hook> of the same
 * file.  The file is opened read-write with the HDF5 C API, so it must not be
 * open elsewhere in this process (close any strata_acts on it first).  An
 * existing /pca/<hook> is replaced when overwrite != 0, else
 * STRATA_ERR_EXISTS.  Errors are reported on pca's errmsg. */
STRATA_API strata_status strata_pca_write(strata_pca *pca, const char *path, const char *hook,
                               int write_projections, int overwrite);

/* (sum lambda)^2 / sum lambda^2 over n eigenvalues (negatives clamped to 0);
 * 0 when all are 0. */
STRATA_API double strata_participation_ratio(const double *lambda, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
