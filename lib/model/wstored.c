/* model/wstored.c — matrix products with weights kept in their stored type.
 *
 * A weight of type F16, BF16 (safetensors or GGUF) or Q8_0 (GGUF: blocks of
 * 32 values, an f16 scale d and 32 int8 q, x = d * q) stays in memory as
 * stored -- usually the file's mapping -- and is converted to float32 tile by
 * tile inside the product:
 *   y[N][n_out] = x[N][n_in] . W^T (+ b),  W [n_out][n_in] row stride ld,
 *   for each tile of rows o0..o0+nt of W:  buf[nt][n_in] = f32(W[o0..][0..n_in))
 *                                         y[:, o0..o0+nt) = x . buf^T   (one sgemm)
 * Tiles are ~2 MB of float32 (>= 64 rows): wide enough that each sgemm runs
 * near full speed; OpenMP threads take tiles (dynamic), each with its own buffer.  The
 * conversion costs n_out * n_in element conversions per call against
 * 2 * N * n_out * n_in flops of the product: negligible in prefill, and in
 * token-by-token generation (N = 1) it replaces reading twice the bytes.
 * Conversions are exact (F16/BF16 -> float32 exactly; Q8_0: d * q in float32,
 * as llama.cpp and GGUF conversion at load compute it).  Where the packed
 * kernels run (model/packed.h: AVX2 or AVX-512), a tile is converted straight
 * into column panels and multiplied by them, so products equal the float32
 * copy's bit for bit; else through sgemm, equal up to the order it sums in.
 */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "model/packed.h"
#include "util/clones.h"
#include "util/half.h"

static inline uint16_t ld16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}


int64_t st_wt_bytes(int wtype, int64_t n)
{
    switch (wtype) {
    case ST_WT_F16: case ST_WT_BF16: return 2 * n;
    case ST_WT_Q8_0: return (n + 31) / 32 * 34;
    default: return 4 * n;
    }
}

/* Runs of one type, vectorised per ISA (util/clones.h): BF16 is the high half
 * of a float32; F16 through _Float16 (F16C's vcvtph2ps in the x86-64-v3 and
 * AVX-512 clones, libgcc's exact conversion in the baseline one); Q8_0 a
 * block's d times its int8 values. */
ST_CLONES
static void bf16_run(const unsigned char *p, int64_t n, float *dst)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        const uint32_t bits = (uint32_t)h << 16;
        memcpy(&dst[i], &bits, 4);
    }
}

ST_CLONES
static void f16_run(const unsigned char *p, int64_t n, float *dst)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
#ifdef __FLT16_MANT_DIG__   /* the compiler has _Float16 (GCC 12; clang >= 15 on x86) */
        _Float16 h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = (float)h;
#else                       /* clang 14 (the fuzz build): the portable conversion */
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = st_f16_to_f32(h);
#endif
    }
}

ST_CLONES
static void q8_run(const unsigned char *b, int j0, int n, float *dst)
{
    const float d = st_f16_to_f32(ld16(b));
    const int8_t *q = (const int8_t *)(b + 2) + j0;
#pragma omp simd
    for (int j = 0; j < n; j++) dst[j] = d * (float)q[j];
}

void st_wt_to_f32(int wtype, const void *q, int64_t e0, int64_t n, float *dst)
{
    const unsigned char *p = q;
    switch (wtype) {
    case ST_WT_F16: f16_run(p + 2 * e0, n, dst); break;
    case ST_WT_BF16: bf16_run(p + 2 * e0, n, dst); break;
    case ST_WT_Q8_0:
        for (int64_t i = 0; i < n;) {   /* the blocks the range touches */
            const int64_t e = e0 + i;
            const int j0 = (int)(e % 32), k = (int)(32 - j0 < n - i ? 32 - j0 : n - i);
            q8_run(p + e / 32 * 34, j0, k, dst + i);
            i += k;
        }
        break;
    default:
        memcpy(dst, (const float *)q + e0, sizeof(float) * (size_t)n);
    }
}

/* Rows of W per tile: about 512K floats (2 MB), a multiple of 64, >= 64.
 * sgemm packs x again for every call, so skinny tiles cost: on the
 * Llama-1B-shaped bench (bench/models) 16-row tiles ran prefill at 0.57-0.65x
 * the float32-copy path, 256-row tiles (this rule at d = 2048) at 0.93x. */
static int64_t tile_rows(int64_t n_in, int64_t n_out)
{
    int64_t r = (512 * 1024 / (n_in > 0 ? n_in : 1)) / 64 * 64;
    if (r < 64) r = 64;
    return r < n_out ? r : n_out;
}

void st_linear_forward_stored(const st_linear *lin, const float *x, int64_t ldx, int64_t N, float *y,
                              int64_t ldy, int n_threads)
{
    const int64_t n_in = lin->n_in, n_out = lin->n_out, tr = tile_rows(n_in, n_out);
    const int64_t n_tiles = (n_out + tr - 1) / tr;
    const int nt = st_par_threads(n_threads, 2.0 * N * n_out * n_in + (double)n_out * n_in);
    /* with the packed kernels (model/packed.h) a product gives the same bits
     * as the float32 copy of the weights packed once: the same terms in the
     * same order, whatever the tiles */
    const int pk_isa = st_packed_isa() != ST_ISA_NONE;
#pragma omp parallel num_threads(nt > n_tiles ? (int)n_tiles : nt)
    {
        /* packed kernels: the tile's panels plus one converted row; else the tile [tr][n_in] */
        float *buf = NULL;
        if (pk_isa) {
            void *mem = NULL;
            if (!posix_memalign(&mem, 64, sizeof(float) * (size_t)(st_packed_floats(n_in, tr) + n_in))) buf = mem;
        } else {
            buf = malloc(sizeof(float) * (size_t)(tr * n_in));
        }
#pragma omp for schedule(dynamic)
        for (int64_t ti = 0; ti < n_tiles; ti++) {
            const int64_t o0 = ti * tr, on = o0 + tr < n_out ? tr : n_out - o0;
            if (buf && pk_isa) {   /* the tile in column panels, through the packed kernels */
                float *row = buf + st_packed_floats(n_in, tr);
                for (int64_t r = 0; r < on; r++) {
                    st_wt_to_f32(lin->wtype, lin->wq, lin->woff + (o0 + r) * lin->ld, n_in, row);
                    float *dst = buf + r / ST_PK_NR * n_in * ST_PK_NR + r % ST_PK_NR;
                    for (int64_t k = 0; k < n_in; k++) dst[k * ST_PK_NR] = row[k];
                }
                for (int64_t r = on; r % ST_PK_NR; r++)   /* the last panel's missing rows: 0 */
                    for (int64_t k = 0; k < n_in; k++) buf[r / ST_PK_NR * n_in * ST_PK_NR + k * ST_PK_NR + r % ST_PK_NR] = 0.0f;
                st_packed_product(buf, n_in, on, NULL, x, ldx, N, y + o0, ldy, 1);
            } else if (buf) {
                for (int64_t r = 0; r < on; r++)
                    st_wt_to_f32(lin->wtype, lin->wq, lin->woff + (o0 + r) * lin->ld, n_in, buf + r * n_in);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)on, (int)n_in, 1.0f, x,
                            (int)ldx, buf, (int)n_in, 0.0f, y + o0, (int)ldy);
            } else {   /* no memory for a tile: one converted row at a time, dot products */
                for (int64_t r = 0; r < on; r++)
                    for (int64_t i = 0; i < N; i++) {
                        double acc = 0;
                        for (int64_t c = 0; c < n_in; c++) {
                            float wv;
                            st_wt_to_f32(lin->wtype, lin->wq, lin->woff + (o0 + r) * lin->ld + c, 1, &wv);
                            acc += (double)wv * x[i * ldx + c];
                        }
                        y[i * ldy + o0 + r] = (float)acc;
                    }
            }
            if (lin->b)
                for (int64_t i = 0; i < N; i++)
                    for (int64_t r = 0; r < on; r++) y[i * ldy + o0 + r] += lin->b[o0 + r];
        }
        free(buf);
    }
}
