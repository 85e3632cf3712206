/* model/packed.h — float32 weight matrices packed once into column panels,
 * and the matrix products that read them (internal).
 *
 * A linear map y[N][n_out] = x[N][K] . W^T (+ b), K = n_in, is packed into
 * panels of ST_PK_NR = 16 output columns:
 *   P[p][k][j] = W^T[k][16p + j]   p < ceil(n_out / 16), k < K, j < 16
 * (zeros past n_out), one 64-byte-aligned block of ceil(n_out/16) * K * 16
 * floats.  Each panel is contiguous (K * 64 bytes), so a product streams
 * every weight once, in order, whatever the layout the file stored.
 *
 * Products (st_packed_product):
 *   every y[i][o] = sum over k = 0..K-1, in order of k, of x[i][k] * W[o][k],
 *   one fused multiply-add per term into a float accumulator starting at 0,
 *   then + b[o].
 * The order of the terms is fixed, so a row's result does not depend on how
 * many rows are computed with it (decode and prefill give the same bits for
 * the same row), on the thread count, or on the kernel (the AVX-512 and
 * AVX2+FMA kernels and the portable one, whose fmaf is the same correctly
 * rounded operation, give the same bits).
 *
 * Small N (<= ST_PK_SMALL_M rows: token-by-token generation, one new row per
 * sequence) is a memory-bound matrix-vector product: threads take disjoint
 * ranges of panels, each panel read once for all rows.  Larger N runs the
 * register-blocked micro-kernel (AVX-512: 8 rows x 3 panels, AVX2: 6 rows x
 * 1 panel) over K blocks of ST_PK_KC, panels split over the threads; x is
 * read in place (row stride ldx), never copied.
 */
#ifndef STRATA_MODEL_PACKED_H
#define STRATA_MODEL_PACKED_H

#include <stdint.h>
#include "model/model_internal.h"

enum { ST_PK_NR = 16, ST_PK_SMALL_M = 8, ST_PK_KC = 384 };

/* Kernel families, best last.  ST_ISA_NONE: st_packed_product not used
 * (the CPU lacks AVX2+FMA and no kernel was forced): products go through
 * OpenBLAS as before packing existed. */
enum { ST_ISA_NONE = 0, ST_ISA_PORTABLE = 1, ST_ISA_AVX2 = 2, ST_ISA_AVX512 = 3 };

/* The kernel family products use: forced (st_packed_force_isa) or the best
 * this CPU runs (AVX-512F, else AVX2+FMA, else ST_ISA_NONE). */
int st_packed_isa(void);
/* For tests and benchmarks: use kernel family isa (ST_ISA_PORTABLE..AVX512)
 * from now on, or the automatic choice again with ST_ISA_NONE.  Returns
 * STRATA_ERR_ARG if the CPU cannot run it (nothing changed).  Process-wide:
 * not to be called while products run. */
int st_packed_force_isa(int isa);
const char *st_packed_isa_name(int isa);

/* Floats of the packed form of a K x n_out map. */
int64_t st_packed_floats(int64_t n_in, int64_t n_out);
/* Packs the float32 weights of lin (either layout, any ld) into a new
 * 64-byte-aligned buffer *out (free with free()).  STRATA_ERR_NOMEM if none. */
int st_pack_linear(const st_linear *lin, float **out, int n_threads);

/* y[N][ldy] (first n_out columns) = x[N][ldx] . W^T (+ b) from the packed
 * panels pk of a K x n_out map (see above).  Kernel: st_packed_isa(), which
 * must not be ST_ISA_NONE. */
void st_packed_product(const float *pk, int64_t K, int64_t n_out, const float *b, const float *x,
                       int64_t ldx, int64_t N, float *y, int64_t ldy, int n_threads);

/* One kernel call: rows [0, mr) of x, panels [0, np) of pk (panel stride
 * pstride floats), terms k in [0, kc) (x and pk already offset to the first
 * k); first: start from 0, else add to what y holds; ncols: columns of y to
 * write (<= np * 16: the last panel may be partial).  mr <= 8, np <= 3
 * (AVX-512) / 1 (AVX2, portable) -- st_packed_tile gives them. */
typedef void (*st_pk_kernel)(const float *x, int64_t ldx, int mr, const float *pk, int64_t pstride,
                             int np, int64_t kc, float *y, int64_t ldy, int ncols, int first);
typedef struct st_pk_tile { int mr, np; st_pk_kernel fn; } st_pk_tile;
/* The register tile and kernel of family isa (packed_kernels.c). */
st_pk_tile st_packed_tile(int isa);

/* Packs every float32 matrix the forward pass multiplies by (q, k, v or the
 * fused qkv, o, the MLP's, the unembedding) that is not packed yet, when
 * st_packed_isa() != ST_ISA_NONE; adds the bytes to m->packed_bytes.  Pages
 * of a packed matrix that lie in the read-only file mapping are given back
 * to the kernel (madvise DONTNEED: they read back from the file if touched
 * again), so memory-mapped weights are not held twice.  On failure (out of
 * memory) the matrices left unpacked simply run through OpenBLAS. */
void st_pack_model(strata_model *m);
void st_pack_model_free(strata_model *m);

#endif
