/* model/packed.c — see packed.h: kernel choice, packing, the product's
 * blocking and threads, and packing a whole model once.
 *
 * Why: OpenBLAS packs both operands of every sgemm call into its panel
 * layout.  The weights never change, yet were repacked on every call: 44% of
 * the cycles of a GPT-2-small 1 x 128 prefill and 77% of a decode step.
 * Packed here once, the products read the panels directly; x (activations,
 * changing every call) is read in place.
 */
#include "model/packed.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/kernels.h"

/* ---------------- kernel choice ---------------- */

/* Set only by st_packed_force_isa (tests, benchmarks); ST_ISA_NONE: automatic. */
static int forced_isa = ST_ISA_NONE;

static int cpu_isa(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return ST_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ST_ISA_AVX2;
#endif
    return ST_ISA_NONE;
}

int st_packed_isa(void)
{
    return forced_isa != ST_ISA_NONE ? forced_isa : cpu_isa();
}

int st_packed_force_isa(int isa)
{
    if (isa < ST_ISA_NONE || isa > ST_ISA_AVX512) return STRATA_ERR_ARG;
    if (isa > ST_ISA_PORTABLE && isa > cpu_isa()) return STRATA_ERR_ARG;
    forced_isa = isa;
    return STRATA_OK;
}

const char *st_packed_isa_name(int isa)
{
    switch (isa) {
    case ST_ISA_AVX512: return "avx512";
    case ST_ISA_AVX2: return "avx2";
    case ST_ISA_PORTABLE: return "portable";
    default: return "openblas";
    }
}

const char *strata_matmul_kernel(void)
{
    return st_packed_isa_name(st_packed_isa());
}

/* ---------------- packing ---------------- */

int64_t st_packed_floats(int64_t n_in, int64_t n_out)
{
    return (n_out + ST_PK_NR - 1) / ST_PK_NR * n_in * ST_PK_NR;
}

/* Panels [p0, p1) of lin into pk (the whole packed buffer). */
static void pack_panels(const st_linear *lin, float *pk, int64_t p0, int64_t p1, int n_threads)
{
    const int64_t K = lin->n_in, n_out = lin->n_out, ld = lin->ld;
    const float *w = lin->w;
#pragma omp parallel for num_threads(st_par_threads(n_threads, (double)K * (p1 - p0) * ST_PK_NR)) schedule(static)
    for (int64_t p = p0; p < p1; p++) {
        float *dst = pk + p * K * ST_PK_NR;
        const int64_t o0 = p * ST_PK_NR, nj = n_out - o0 < ST_PK_NR ? n_out - o0 : ST_PK_NR;
        for (int64_t k = 0; k < K; k++) {
            float *d = dst + k * ST_PK_NR;
            for (int64_t j = 0; j < ST_PK_NR; j++)
                d[j] = j >= nj ? 0.0f : lin->in_out ? w[k * ld + o0 + j] : w[(o0 + j) * ld + k];
        }
    }
}

static int pack_alloc(const st_linear *lin, float **out)
{
    void *mem = NULL;
    *out = NULL;
    if (lin->n_in <= 0 || lin->n_out <= 0 || !lin->w ||
        posix_memalign(&mem, 64, sizeof(float) * (size_t)st_packed_floats(lin->n_in, lin->n_out)))
        return STRATA_ERR_NOMEM;
    *out = mem;
    return STRATA_OK;
}

int st_pack_linear(const st_linear *lin, float **out, int n_threads)
{
    ST_TRY(pack_alloc(lin, out));
    pack_panels(lin, *out, 0, (lin->n_out + ST_PK_NR - 1) / ST_PK_NR, n_threads);
    return STRATA_OK;
}

/* ---------------- the product ---------------- */

/* Products below this many multiply-adds run on the calling thread (a fork
 * and join costs more than the work; cf. st_par_threads). */
enum { PK_PAR_MIN_MACS = 1 << 18 };

void st_packed_product(const float *pk, int64_t K, int64_t n_out, const float *b, const float *x,
                       int64_t ldx, int64_t N, float *y, int64_t ldy, int n_threads)
{
    if (N <= 0 || n_out <= 0) return;
    const st_pk_tile tile = st_packed_tile(st_packed_isa());
    const int64_t pstride = K * ST_PK_NR, n_panels = (n_out + ST_PK_NR - 1) / ST_PK_NR;
    const int64_t groups = (n_panels + tile.np - 1) / tile.np;
    int nt = (double)N * n_out * K < PK_PAR_MIN_MACS ? 1 : n_threads > 0 ? n_threads : omp_get_max_threads();
    if (nt > groups) nt = (int)groups;
    if (K <= 0) {   /* an empty sum: y = b */
        for (int64_t i = 0; i < N; i++)
            for (int64_t o = 0; o < n_out; o++) y[i * ldy + o] = b ? b[o] : 0.0f;
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
        const int64_t g0 = groups * t / T, g1 = groups * (t + 1) / T;
        /* small N: each panel group streamed once through all K for all rows;
         * else K blocks, so a group's block of panels stays in cache while
         * every row block passes over it */
        const int64_t kcb = N <= ST_PK_SMALL_M ? K : ST_PK_KC;
        for (int64_t k0 = 0; k0 < K; k0 += kcb) {
            const int64_t kc = K - k0 < kcb ? K - k0 : kcb;
            for (int64_t g = g0; g < g1; g++) {
                const int64_t p0 = g * tile.np, c0 = p0 * ST_PK_NR;
                const int np = (int)(n_panels - p0 < tile.np ? n_panels - p0 : tile.np);
                const int ncols = (int)(n_out - c0 < np * ST_PK_NR ? n_out - c0 : np * ST_PK_NR);
                for (int64_t r0 = 0; r0 < N; r0 += tile.mr) {
                    const int mr = (int)(N - r0 < tile.mr ? N - r0 : tile.mr);
                    tile.fn(x + r0 * ldx + k0, ldx, mr, pk + p0 * pstride + k0 * ST_PK_NR, pstride, np, kc,
                            y + r0 * ldy + c0, ldy, ncols, k0 == 0);
                }
            }
        }
        if (b) {   /* + b on this thread's columns */
            const int64_t c0 = g0 * tile.np * ST_PK_NR, c1e = g1 * tile.np * ST_PK_NR;
            const int64_t c1 = c1e < n_out ? c1e : n_out;
            for (int64_t i = 0; i < N; i++) {
                float *row = y + i * ldy;
                for (int64_t o = c0; o < c1; o++) row[o] += b[o];
            }
        }
    }
}

/* ---------------- the model's matrices ---------------- */

/* Calls fn on every matrix of m the forward pass multiplies by. */
static void each_linear(strata_model *m, void (*fn)(strata_model *, st_linear *))
{
    for (int l = 0; l < m->cfg.n_layers && m->layers; l++) {
        st_layer *ly = &m->layers[l];
        if (ly->qkv_layout == ST_QKV_NEOX) fn(m, &ly->qkv);
        else { fn(m, &ly->q); fn(m, &ly->k); fn(m, &ly->v); }
        fn(m, &ly->o);
        if (!m->cfg.attn_only) {
            fn(m, &ly->mlp_in);
            if (m->cfg.gated_mlp) fn(m, &ly->mlp_up);
            fn(m, &ly->mlp_out);
        }
    }
    fn(m, &m->unembed_lin);
}

/* Gives back the whole pages of [p, p + bytes) when they lie in a read-only
 * file mapping of the weight source: they are clean copies of the file and
 * read back from it if anything touches them again. */
static void release_pages(strata_model *m, const void *p, size_t bytes)
{
    if (!m->src.in_mapping || !m->src.in_mapping(&m->src, p, bytes)) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) / page * page, e = ((uintptr_t)p + bytes) / page * page;
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
}

/* Panels per packing step of an [out][in] matrix: 256 x 16 rows (12 MB at
 * d = 768); each step's rows are given back before the next, so packing a
 * mapped matrix never holds both whole copies (the 154 MB GPT-2 read-out
 * would otherwise add its size to the peak). */
enum { PACK_STEP_PANELS = 256 };

static void pack_one(strata_model *m, st_linear *lin)
{
    if (lin->pk || lin->wtype != ST_WT_F32 || !lin->w || lin->n_out <= 0 || lin->n_in <= 0) return;
    float *pk;
    if (pack_alloc(lin, &pk) != STRATA_OK) return;   /* stays on OpenBLAS */
    const int64_t np = (lin->n_out + ST_PK_NR - 1) / ST_PK_NR;
    if (!lin->in_out) {   /* W [out][ld]: panel p reads rows 16p.. only */
        for (int64_t p0 = 0; p0 < np; p0 += PACK_STEP_PANELS) {
            const int64_t p1 = p0 + PACK_STEP_PANELS < np ? p0 + PACK_STEP_PANELS : np;
            pack_panels(lin, pk, p0, p1, m->n_threads);
            const int64_t r0 = p0 * ST_PK_NR, r1 = p1 * ST_PK_NR < lin->n_out ? p1 * ST_PK_NR : lin->n_out;
            release_pages(m, lin->w + r0 * lin->ld, sizeof(float) * (size_t)((r1 - r0 - 1) * lin->ld + lin->n_in));
        }
    } else {   /* W [in][ld]: every panel reads every row; a column block of a fused
                * matrix spans its neighbours too (they read back from the file
                * when packed in turn) */
        pack_panels(lin, pk, 0, np, m->n_threads);
        release_pages(m, lin->w, sizeof(float) * (size_t)((int64_t)(lin->n_in - 1) * lin->ld + lin->n_out));
    }
    lin->pk = pk;
    m->packed_bytes += (int64_t)sizeof(float) * st_packed_floats(lin->n_in, lin->n_out);
}

void st_pack_model(strata_model *m)
{
    if (m->packed_all || st_packed_isa() == ST_ISA_NONE) return;
    each_linear(m, pack_one);
    m->packed_all = 1;
}

static void unpack_one(strata_model *m, st_linear *lin)
{
    (void)m;
    free((void *)lin->pk);
    lin->pk = NULL;
}

void st_pack_model_free(strata_model *m)
{
    each_linear(m, unpack_one);
    m->packed_bytes = 0;
    m->packed_all = 0;
}
