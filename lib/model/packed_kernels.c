/* model/packed_kernels.c — the register-blocked kernels of the packed
 * products (model/packed.h), one per instruction set:
 *
 *   C[r][16q + j] (+)= sum_{k < kc} x[r][k] * P[q][k][j]     r < mr, q < np, j < 16
 *
 * accumulated in registers, one fused multiply-add per term in order of k
 * (so every kernel gives the same bits; see packed.h), then stored (the last
 * panel's columns past ncols masked off).
 *   AVX-512F   up to 8 rows x 3 panels: 24 zmm accumulators, 3 panel loads and
 *              8 broadcasts of x per k (48 columns, 24 FMAs)
 *   AVX2+FMA   up to 6 rows x 1 panel (two ymm halves): 12 ymm accumulators
 *   portable   up to 8 rows x 1 panel, fmaf (the C library's correctly rounded
 *              fused multiply-add: the same value as the vector instructions)
 * Every (rows, panels) size is its own instance with constant bounds, so the
 * compiler keeps the accumulators in registers.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/packed.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ST_PK_X86 1
#include <immintrin.h>
#endif

/* ---------------- portable ---------------- */

static inline __attribute__((always_inline)) void tile_portable(const float *x, int64_t ldx, const float *pk,
                                                                int64_t kc, float *y, int64_t ldy, int ncols,
                                                                int first, const int MR)
{
    float acc[8][ST_PK_NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < ST_PK_NR; j++) acc[r][j] = first || j >= ncols ? 0.0f : y[r * ldy + j];
    for (int64_t k = 0; k < kc; k++) {
        const float *w = pk + k * ST_PK_NR;
        for (int r = 0; r < MR; r++) {
            const float xv = x[r * ldx + k];
            for (int j = 0; j < ST_PK_NR; j++) acc[r][j] = fmaf(xv, w[j], acc[r][j]);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < ncols; j++) y[r * ldy + j] = acc[r][j];
}

static void kernel_portable(const float *x, int64_t ldx, int mr, const float *pk, int64_t pstride, int np,
                            int64_t kc, float *y, int64_t ldy, int ncols, int first)
{
    (void)pstride;
    (void)np;   /* np == 1 */
    switch (mr) {
#define PORT_CASE(R) case R: tile_portable(x, ldx, pk, kc, y, ldy, ncols, first, R); break;
        PORT_CASE(1) PORT_CASE(2) PORT_CASE(3) PORT_CASE(4) PORT_CASE(5) PORT_CASE(6) PORT_CASE(7)
        PORT_CASE(8)
#undef PORT_CASE
    default: break;
    }
}

#ifdef ST_PK_X86

/* ---------------- AVX2 + FMA ---------------- */

#define AVX2_FN __attribute__((target("avx2,fma")))

/* Lane mask for columns [base, base + 8) of ncols: lane i on when base + i < ncols. */
AVX2_FN static inline __m256i avx2_mask(int base, int ncols)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(ncols - base), idx);
}

AVX2_FN static inline __attribute__((always_inline)) void tile_avx2(const float *x, int64_t ldx, const float *pk,
                                                                    int64_t kc, float *y, int64_t ldy,
                                                                    int ncols, int first, const int MR)
{
    __m256 lo[6], hi[6];
    const __m256i m0 = avx2_mask(0, ncols), m1 = avx2_mask(8, ncols);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (first) {
            lo[r] = _mm256_setzero_ps();
            hi[r] = _mm256_setzero_ps();
        } else {
            lo[r] = _mm256_maskload_ps(y + r * ldy, m0);
            hi[r] = _mm256_maskload_ps(y + r * ldy + 8, m1);
        }
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 w0 = _mm256_load_ps(pk + k * ST_PK_NR), w1 = _mm256_load_ps(pk + k * ST_PK_NR + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            const __m256 xb = _mm256_broadcast_ss(x + r * ldx + k);
            lo[r] = _mm256_fmadd_ps(xb, w0, lo[r]);
            hi[r] = _mm256_fmadd_ps(xb, w1, hi[r]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (ncols == ST_PK_NR) {
            _mm256_storeu_ps(y + r * ldy, lo[r]);
            _mm256_storeu_ps(y + r * ldy + 8, hi[r]);
        } else {
            _mm256_maskstore_ps(y + r * ldy, m0, lo[r]);
            _mm256_maskstore_ps(y + r * ldy + 8, m1, hi[r]);
        }
    }
}

AVX2_FN static void kernel_avx2(const float *x, int64_t ldx, int mr, const float *pk, int64_t pstride, int np,
                                int64_t kc, float *y, int64_t ldy, int ncols, int first)
{
    (void)pstride;
    (void)np;   /* np == 1 */
    switch (mr) {
#define AVX2_CASE(R) case R: tile_avx2(x, ldx, pk, kc, y, ldy, ncols, first, R); break;
        AVX2_CASE(1) AVX2_CASE(2) AVX2_CASE(3) AVX2_CASE(4) AVX2_CASE(5) AVX2_CASE(6)
#undef AVX2_CASE
    default: break;
    }
}

/* ---------------- AVX-512F ---------------- */

#define AVX512_FN __attribute__((target("avx512f")))

AVX512_FN static inline __attribute__((always_inline)) void tile_avx512(const float *x, int64_t ldx,
                                                                        const float *pk, int64_t pstride,
                                                                        int64_t kc, float *y, int64_t ldy,
                                                                        int ncols, int first, const int MR,
                                                                        const int NP)
{
    __m512 acc[8][3];
    /* columns of the last panel that exist: ncols - 16 (NP - 1) in 1..16 */
    const int lastn = ncols - ST_PK_NR * (NP - 1);
    const __mmask16 lm = (__mmask16)(lastn >= 16 ? 0xffffu : (1u << lastn) - 1u);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
#pragma GCC unroll 3
        for (int q = 0; q < NP; q++) {
            if (first) acc[r][q] = _mm512_setzero_ps();
            else acc[r][q] = _mm512_maskz_loadu_ps(q == NP - 1 ? lm : (__mmask16)0xffff, y + r * ldy + q * ST_PK_NR);
        }
    }
    for (int64_t k = 0; k < kc; k++) {
        __m512 w[3];
#pragma GCC unroll 3
        for (int q = 0; q < NP; q++) w[q] = _mm512_load_ps(pk + q * pstride + k * ST_PK_NR);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m512 xb = _mm512_set1_ps(x[r * ldx + k]);
#pragma GCC unroll 3
            for (int q = 0; q < NP; q++) acc[r][q] = _mm512_fmadd_ps(xb, w[q], acc[r][q]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
#pragma GCC unroll 3
        for (int q = 0; q < NP; q++)
            _mm512_mask_storeu_ps(y + r * ldy + q * ST_PK_NR, q == NP - 1 ? lm : (__mmask16)0xffff, acc[r][q]);
    }
}

AVX512_FN static void kernel_avx512(const float *x, int64_t ldx, int mr, const float *pk, int64_t pstride,
                                    int np, int64_t kc, float *y, int64_t ldy, int ncols, int first)
{
    switch (mr * 4 + np) {
#define AVX512_CASE(R, P) case R * 4 + P: tile_avx512(x, ldx, pk, pstride, kc, y, ldy, ncols, first, R, P); break;
#define AVX512_ROW(R) AVX512_CASE(R, 1) AVX512_CASE(R, 2) AVX512_CASE(R, 3)
        AVX512_ROW(1) AVX512_ROW(2) AVX512_ROW(3) AVX512_ROW(4) AVX512_ROW(5) AVX512_ROW(6) AVX512_ROW(7)
        AVX512_ROW(8)
#undef AVX512_ROW
#undef AVX512_CASE
    default: break;
    }
}

#endif /* ST_PK_X86 */

st_pk_tile st_packed_tile(int isa)
{
    st_pk_tile t = { 8, 1, kernel_portable };
#ifdef ST_PK_X86
    if (isa == ST_ISA_AVX512) { t.mr = 8; t.np = 3; t.fn = kernel_avx512; }
    else if (isa == ST_ISA_AVX2) { t.mr = 6; t.np = 1; t.fn = kernel_avx2; }
#else
    (void)isa;
#endif
    return t;
}
