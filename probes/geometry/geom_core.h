/* probes/geom_core.h — the math core shared by PCA (pca.c, rsvd.c) and CKA
 * (cka.c) (internal).
 *
 * Defines: geom_src (row-block provider), geom_array_read() (in-memory
 * provider), geom_acts_read() / geom_acts_widths() (capture-file provider,
 * geom_acts.c), geom_block (a block of rows from several sources, as
 * double), geom_block_load(), geom_scatter (streaming mean + scatter matrix,
 * Chan merge), geom_scatter_add(), geom_scatter_mean(), geom_cross
 * (cross-scatter of two column sets), geom_cross_add(), geom_fro2_sym(),
 * geom_rng (seeded xoshiro256**), geom_rng_gauss(), geom_orth() (thin QR),
 * geom_fix_sign() (eigenvector sign convention).
 *
 * Conventions.  Arrays are row-major, last index fastest.  A source is one
 * matrix X [n_rows][width] (one hook of a capture file, or a caller array);
 * several sources share n_rows (the same positions).  Everything downstream of
 * the provider is float64: float32 rows are converted block by block, so the
 * accumulations (means, scatter matrices, cross-covariances) are float64.
 * Memory is O(block_rows * width + width^2), independent of n_rows.
 *
 * Numerics of the streaming scatter.  Rows are converted in one pass to
 * D = x - shift, where `shift` is the column mean of the first block loaded
 * (fixed for the whole stream), so D is small however large the activations'
 * mean (residual-stream outlier features).  Per block, with m the column
 * mean of D over the block (|m| ~ sigma / sqrt(rows) after the first block):
 *     block scatter  M_b = D^T D - n_b m m^T        (dsyrk, then dsyr)
 * and blocks are merged with Chan, Golub & LeVeque's pairwise update
 *     M_ab = M_a + M_b + (n_a n_b / (n_a + n_b)) d d^T,  d = mean_b - mean_a,
 * all in shifted coordinates (the mean is shift + running mean).  Because D
 * is already near-centred, the n_b m m^T subtraction cancels almost nothing;
 * there is no "sum of x x^T minus n mu mu^T" on raw activations.
 */
#ifndef STRATA_PROBES_GEOM_CORE_H
#define STRATA_PROBES_GEOM_CORE_H

#include <stdint.h>
#include "strata/error.h"
#include "util/err.h"
#include "dist/fit_group.h"

#define GEOM_DEFAULT_BLOCK_ROWS 4096

/* ---------------- row-block provider ---------------- */

/* Reads rows [row0, row0+n) of source `src`.  The provider either fills
 * buf [n][width(src)] and sets *rows = buf, or points *rows at its own
 * storage (valid until the next call).  Returns STRATA_OK or a negative
 * status with a message in err. */
typedef int (*geom_read_fn)(void *user, int src, int64_t row0, int64_t n, float *buf,
                            const float **rows, st_err *err);

typedef struct geom_src {
    geom_read_fn read;
    void *user;
    int64_t n_rows;            /* rows of every source */
    int n_src;
    const int64_t *width;      /* [n_src] elements per row */
    const char *const *names;  /* [n_src] names for messages (hook names), may be NULL */
    int64_t block_rows;        /* rows per block; 0 -> GEOM_DEFAULT_BLOCK_ROWS */
    /* Set by geom_src_dist (call it before a fit): the passes read rows
     * [grp.lo, grp.hi) and, when grp.on, sum over ranks; n_total counts the
     * rows of all ranks.  Serial: [0, n_rows), n_total = n_rows. */
    st_fit_group grp;
    int64_t n_total;
} geom_src;

/* Provider over caller arrays X[s] [n_rows][width[s]]. */
typedef struct geom_array_user { const float *const *X; const int64_t *width; } geom_array_user;
int geom_array_read(void *user, int src, int64_t row0, int64_t n, float *buf,
                    const float **rows, st_err *err);

const char *geom_src_name(const geom_src *s, int src, char *tmp, int tmp_len);

/* Provider over hooks of a capture file (geom_acts.c): source i is
 * /acts/<hooks[i]>, read with strata_acts_read (float16 widened). */
typedef struct strata_acts strata_acts;
typedef struct geom_acts_user { strata_acts *a; const char *const *hooks; } geom_acts_user;
int geom_acts_read(void *user, int src, int64_t row0, int64_t n, float *buf,
                   const float **rows, st_err *err);
/* Fills width[i] for hooks[i]; STRATA_ERR_NOTFOUND naming the hook (and a
 * few that exist) when one is absent. */
int geom_acts_widths(strata_acts *a, int n, const char *const *hooks, int64_t *width,
                     st_err *err);

/* ---------------- a block of rows as double ---------------- */

/* Rows [row0, row0+n) of sources srcs[0..n_sel) side by side:
 * D [n][W] with W = sum of widths, source i in columns [off[i], off[i]+width).
 * When `center` is set, D = x - shift (shift [W]: the column mean of the
 * first block this geom_block loaded, then fixed); otherwise D = x and shift
 * is 0.  bmean [W] is the column mean of D over the block either way. */
typedef struct geom_block {
    int n_sel;
    int *sel;          /* [n_sel] source indices */
    int64_t *off;      /* [n_sel] column offsets */
    int64_t W;         /* total width */
    int64_t cap_rows;  /* allocated rows */
    int64_t n;         /* rows currently held */
    double *D;         /* [cap_rows][W] (NULL in float32 mode) */
    float *F;          /* float32 mode (geom_block_init_f32): [cap_rows][W] = D rounded
                        * to float32 (D itself is formed in float64, then rounded once) */
    double *bsq;       /* float32 mode: [W] column sums of D^2 over the block (float64,
                        * from the unrounded D) */
    double *bmean;     /* [W] column mean of D over the block */
    double *shift;     /* [W] subtracted from every row when centring */
    int have_shift;
    float *fbuf;       /* [cap_rows][max width] staging for the provider */
} geom_block;

int geom_block_init(geom_block *b, const geom_src *s, int n_sel, const int *sel, st_err *err);
/* The same, in float32 mode: geom_block_load fills F (and bsq) instead of D,
 * for consumers whose products may run in single precision (the randomized
 * PCA passes, rsvd.c); bmean, shift and the NaN/Inf check are as above. */
int geom_block_init_f32(geom_block *b, const geom_src *s, int n_sel, const int *sel, st_err *err);
void geom_block_free(geom_block *b);
/* Loads rows [row0, row0+n) (n <= cap_rows); rejects NaN/Inf with a message
 * naming the source, row and column (STRATA_ERR_NUMERIC). */
int geom_block_load(geom_block *b, const geom_src *s, int64_t row0, int64_t n, int center,
                    st_err *err);

/* ---------------- streaming scatter ---------------- */

/* Symmetric scatter of one set of W columns:
 *   mean [W]        running column means of D (shifted coordinates; the data
 *                   mean is shift + mean, see geom_scatter_mean); 0 when !center
 *   M    [W][W]     sum_r (x_r - mean)(x_r - mean)^T (only i <= j, the upper
 *                   triangle in row-major = the lower triangle in column-major,
 *                   is maintained; the rest is garbage) */
typedef struct geom_scatter {
    int64_t n;
    int64_t W;
    int center;
    double *mean;
    double *M;
    double *tmp;   /* [W] scratch */
    double *shift; /* [W] the blocks' shift (copied at the first add) */
} geom_scatter;

int geom_scatter_init(geom_scatter *S, int64_t W, int center, st_err *err);
void geom_scatter_free(geom_scatter *S);
/* Adds a loaded block (whole width of b must equal S->W; loaded with the
 * same `center` as S): dsyrk, the n_b m m^T correction and the Chan merge.
 * All blocks added must come from one geom_block (one shift). */
void geom_scatter_add(geom_scatter *S, const geom_block *b);
/* The data's column means (shift + running mean) into out [W]. */
void geom_scatter_mean(const geom_scatter *S, double *out);
/* Fills the lower triangle from the upper so M is a full symmetric matrix. */
void geom_scatter_symmetrize(geom_scatter *S);

/* Cross scatter of two disjoint column sets A (width p) and B (width q):
 *   C [p][q] = sum_r (a_r - mean_a)(b_r - mean_b)^T
 * Block ba holds A's columns, bb B's, for the same rows. */
typedef struct geom_cross {
    int64_t n, p, q;
    int center;
    double *mean_a, *mean_b; /* [p], [q] */
    double *C;               /* [p][q] */
    double *tmp;             /* [p + q] scratch */
} geom_cross;

int geom_cross_init(geom_cross *X, int64_t p, int64_t q, int center, st_err *err);
void geom_cross_free(geom_cross *X);
void geom_cross_add(geom_cross *X, const geom_block *ba, const geom_block *bb);

/* ||A||_F^2 of the symmetric W x W matrix whose upper triangle (row-major)
 * is stored in M with leading dimension ld: diag^2 + 2 * strict upper^2. */
double geom_fro2_sym(const double *M, int64_t W, int64_t ld);

/* ---------------- distributed fits (geom_dist.c) ----------------
 * With params.distributed on a group of > 1 ranks, every rank accumulates
 * its own rows and the accumulators are merged over ranks with the same
 * Chan update used between blocks.  All ranks centre on one common shift
 * (geom_block_common_shift), so their shifted sums are comparable. */

/* Sets s->grp and s->n_total.  split != 0: n_rows counts the rows of all
 * ranks (a capture file) and each rank reads its st_split_even share;
 * split == 0: n_rows are this rank's own rows (caller arrays) and n_total
 * is their sum over ranks (one collective). */
int geom_src_dist(geom_src *s, int distributed, int split, st_err *err);
/* Distributed + center: loads this rank's first block to fix b->shift, then
 * replaces it by the row-weighted mean of all ranks' shifts (W + 1 doubles
 * summed).  Otherwise a no-op. */
int geom_block_common_shift(geom_block *b, const geom_src *s, int center, st_err *err);
/* Distributed: merges every rank's S (built from blocks of b, common shift)
 * into the scatter of all rows: n, mean (W + 1 doubles) and M (W^2 doubles)
 * summed over ranks, M_r first corrected by n_r (m_r - m)(m_r - m)^T. */
int geom_scatter_reduce(geom_scatter *S, const geom_block *b, const geom_src *s, st_err *err);
/* The same for a cross scatter (p + q + 1 and p q doubles). */
int geom_cross_reduce(geom_cross *X, const geom_src *s, st_err *err);

/* ---------------- seeded RNG ---------------- */

typedef struct geom_rng { uint64_t s[4]; int have_spare; double spare; } geom_rng;
void geom_rng_seed(geom_rng *r, uint64_t seed);   /* splitmix64 -> xoshiro256** */
uint64_t geom_rng_next(geom_rng *r);
double geom_rng_uniform(geom_rng *r);              /* (0, 1) */
double geom_rng_gauss(geom_rng *r);                /* N(0,1), Box-Muller */

/* Orthonormalises the columns of A [m][l] (row-major, l <= m) in place via
 * Householder QR (dgeqrf + dorgqr).  Returns STRATA_OK or an error. */
int geom_orth(double *A, int64_t m, int64_t l, st_err *err);

/* Sign convention for eigenvectors/components: flips v [d] so that its
 * entry of largest magnitude is positive (ties: the lowest index). */
void geom_fix_sign(double *v, int64_t d);

#endif
