/* probes/geom_core.c — see geom_core.h. */
#include "util/blas_threads.h"
#include "geom_core.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- providers ---------------- */

int geom_array_read(void *user, int src, int64_t row0, int64_t n, float *buf,
                    const float **rows, st_err *err)
{
    (void)buf; (void)n; (void)err;
    const geom_array_user *u = user;
    *rows = u->X[src] + (size_t)row0 * (size_t)u->width[src]; /* no copy */
    return STRATA_OK;
}

const char *geom_src_name(const geom_src *s, int src, char *tmp, int tmp_len)
{
    if (s->names && s->names[src]) return s->names[src];
    snprintf(tmp, (size_t)tmp_len, "input %d", src);
    return tmp;
}

/* ---------------- blocks ---------------- */

static int block_init(geom_block *b, const geom_src *s, int n_sel, const int *sel, int f32,
                      st_err *err)
{
    memset(b, 0, sizeof *b);
    int64_t cap = s->block_rows > 0 ? s->block_rows : GEOM_DEFAULT_BLOCK_ROWS;
    if (cap > s->n_rows) cap = s->n_rows > 0 ? s->n_rows : 1;
    int64_t W = 0, wmax = 0;
    b->n_sel = n_sel;
    b->cap_rows = cap;
    b->sel = malloc(sizeof *b->sel * (size_t)n_sel);
    b->off = malloc(sizeof *b->off * (size_t)n_sel);
    if (!b->sel || !b->off) goto nomem;
    for (int i = 0; i < n_sel; i++) {
        b->sel[i] = sel[i];
        b->off[i] = W;
        W += s->width[sel[i]];
        if (s->width[sel[i]] > wmax) wmax = s->width[sel[i]];
    }
    b->W = W;
    if (f32) {
        b->F = malloc(sizeof *b->F * (size_t)cap * (size_t)W);
        b->bsq = malloc(sizeof *b->bsq * (size_t)W);
    } else {
        b->D = malloc(sizeof *b->D * (size_t)cap * (size_t)W);
    }
    b->bmean = malloc(sizeof *b->bmean * (size_t)W);
    b->shift = calloc((size_t)W, sizeof *b->shift);
    b->fbuf = malloc(sizeof *b->fbuf * (size_t)cap * (size_t)wmax);
    if ((f32 ? !b->F || !b->bsq : !b->D) || !b->bmean || !b->shift || !b->fbuf) goto nomem;
    return STRATA_OK;
nomem:
    geom_block_free(b);
    return st_seterr(err, STRATA_ERR_NOMEM,
                     "geometry: cannot allocate a block of %lld rows x %lld columns",
                     (long long)cap, (long long)W);
}

int geom_block_init(geom_block *b, const geom_src *s, int n_sel, const int *sel, st_err *err)
{
    return block_init(b, s, n_sel, sel, 0, err);
}

int geom_block_init_f32(geom_block *b, const geom_src *s, int n_sel, const int *sel, st_err *err)
{
    return block_init(b, s, n_sel, sel, 1, err);
}

void geom_block_free(geom_block *b)
{
    if (!b) return;
    free(b->sel); free(b->off); free(b->D); free(b->F); free(b->bsq); free(b->bmean);
    free(b->shift); free(b->fbuf);
    memset(b, 0, sizeof *b);
}

/* d = x - sh (float32 -> float64), acc += d: one pass, vectorised. */
static void conv_row_shift(const float *restrict x, const double *restrict sh, double *restrict d,
                           double *restrict acc, int64_t w)
{
#pragma omp simd
    for (int64_t j = 0; j < w; j++) {
        double v = (double)x[j] - sh[j];
        d[j] = v;
        acc[j] += v;
    }
}

/* float32 mode: v = x - sh in float64, f = (float)v, acc += v, sq += v^2. */
static void conv_row_shift_f32(const float *restrict x, const double *restrict sh,
                               float *restrict f, double *restrict acc, double *restrict sq,
                               int64_t w)
{
#pragma omp simd
    for (int64_t j = 0; j < w; j++) {
        double v = (double)x[j] - sh[j];
        f[j] = (float)v;
        acc[j] += v;
        sq[j] += v * v;
    }
}

static void conv_row_f32(const float *restrict x, float *restrict f, double *restrict acc,
                         double *restrict sq, int64_t w)
{
#pragma omp simd
    for (int64_t j = 0; j < w; j++) {
        double v = (double)x[j];
        f[j] = x[j];
        acc[j] += v;
        sq[j] += v * v;
    }
}

static void acc_row(const float *restrict x, double *restrict acc, int64_t w)
{
#pragma omp simd
    for (int64_t j = 0; j < w; j++) acc[j] += (double)x[j];
}

static void conv_row(const float *restrict x, double *restrict d, double *restrict acc, int64_t w)
{
#pragma omp simd
    for (int64_t j = 0; j < w; j++) {
        double v = (double)x[j];
        d[j] = v;
        acc[j] += v;
    }
}

int geom_block_load(geom_block *b, const geom_src *s, int64_t row0, int64_t n, int center,
                    st_err *err)
{
    const int64_t W = b->W;
    b->n = n;
    memset(b->bmean, 0, sizeof *b->bmean * (size_t)W);
    if (b->bsq) memset(b->bsq, 0, sizeof *b->bsq * (size_t)W);
    for (int i = 0; i < b->n_sel; i++) {
        const int src = b->sel[i];
        const int64_t w = s->width[src], off = b->off[i];
        const float *rows = NULL;
        int rc = s->read(s->user, src, row0, n, b->fbuf, &rows, err);
        if (rc < 0) return rc;
        double *bm = b->bmean + off, *sh = b->shift + off;
        if (center && !b->have_shift) {
            /* The shift: column means of this first block (one extra read). */
            for (int64_t r = 0; r < n; r++) acc_row(rows + (size_t)r * (size_t)w, sh, w);
            for (int64_t j = 0; j < w; j++) sh[j] /= (double)n;
        }
        /* Conversion and column sums in one pass, on one thread on purpose:
         * it is memory-bound, and OpenMP workers left spinning after it slowed
         * the multi-threaded dsyrk that follows by ~13% (two thread pools on
         * the same cores; 100k x 768 PCA: 0.88 s with 2 OpenMP threads, 0.77 s
         * with 1). */
        for (int64_t r = 0; r < n && b->F; r++) {
            const float *x = rows + (size_t)r * (size_t)w;
            float *f = b->F + (size_t)r * (size_t)W + (size_t)off;
            if (center) conv_row_shift_f32(x, sh, f, bm, b->bsq + off, w);
            else conv_row_f32(x, f, bm, b->bsq + off, w);
        }
        for (int64_t r = 0; r < n && !b->F; r++) {
            const float *x = rows + (size_t)r * (size_t)w;
            double *d = b->D + (size_t)r * (size_t)W + (size_t)off;
            if (center) conv_row_shift(x, sh, d, bm, w);
            else conv_row(x, d, bm, w);
        }
        /* A sum of at most block_rows finite values (each |x - shift| < 2^129)
         * cannot overflow a double, so a non-finite column sum means a
         * NaN/Inf in that column. */
        for (int64_t j = 0; j < w; j++) {
            if (isfinite(bm[j])) continue;
            for (int64_t r = 0; r < n; r++) {
                float v = rows[(size_t)r * (size_t)w + (size_t)j];
                if (!isfinite(v)) {
                    char tmp[32];
                    return st_seterr(err, STRATA_ERR_NUMERIC,
                                     "%s: non-finite value (%s) at row %lld, column %lld; "
                                     "PCA/CKA need finite activations",
                                     geom_src_name(s, src, tmp, sizeof tmp),
                                     isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"),
                                     (long long)(row0 + r), (long long)j);
                }
            }
        }
    }
    if (center) b->have_shift = 1;
    const double inv = 1.0 / (double)n;
    for (int64_t j = 0; j < W; j++) b->bmean[j] *= inv;
    return STRATA_OK;
}

/* ---------------- symmetric scatter ---------------- */

int geom_scatter_init(geom_scatter *S, int64_t W, int center, st_err *err)
{
    memset(S, 0, sizeof *S);
    S->W = W;
    S->center = center;
    S->mean = calloc((size_t)W, sizeof *S->mean);
    S->tmp = calloc((size_t)W, sizeof *S->tmp);
    S->shift = calloc((size_t)W, sizeof *S->shift);
    S->M = calloc((size_t)W * (size_t)W, sizeof *S->M);
    if (!S->mean || !S->tmp || !S->shift || !S->M) {
        geom_scatter_free(S);
        return st_seterr(err, STRATA_ERR_NOMEM,
                         "geometry: cannot allocate a %lld x %lld float64 scatter matrix (%.1f MiB)",
                         (long long)W, (long long)W, (double)W * (double)W * 8.0 / 1048576.0);
    }
    return STRATA_OK;
}

void geom_scatter_free(geom_scatter *S)
{
    if (!S) return;
    free(S->mean); free(S->tmp); free(S->shift); free(S->M);
    memset(S, 0, sizeof *S);
}

void geom_scatter_add(geom_scatter *S, const geom_block *b)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const int64_t W = S->W, nb = b->n;
    if (nb <= 0) return;
    /* M += D^T D, D [nb][W]: upper triangle. */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)W, (int)nb, 1.0, b->D, (int)W,
                1.0, S->M, (int)W);
    if (!S->center) { S->n += nb; return; }
    /* Block-centred scatter: D^T D - nb m m^T (m = b->bmean, small). */
    cblas_dsyr(CblasRowMajor, CblasUpper, (int)W, -(double)nb, b->bmean, 1, S->M, (int)W);
    const double na = (double)S->n, nbd = (double)nb, nt = na + nbd;
    if (S->n == 0) {
        memcpy(S->mean, b->bmean, sizeof *S->mean * (size_t)W);
        memcpy(S->shift, b->shift, sizeof *S->shift * (size_t)W);
    } else {
        /* Chan merge: M += (na nb / n) d d^T, d = mean_block - mean_run. */
        for (int64_t j = 0; j < W; j++) S->tmp[j] = b->bmean[j] - S->mean[j];
        cblas_dsyr(CblasRowMajor, CblasUpper, (int)W, na * nbd / nt, S->tmp, 1, S->M, (int)W);
        for (int64_t j = 0; j < W; j++) S->mean[j] += S->tmp[j] * (nbd / nt);
    }
    S->n += nb;
}

void geom_scatter_mean(const geom_scatter *S, double *out)
{
    for (int64_t j = 0; j < S->W; j++) out[j] = S->center ? S->shift[j] + S->mean[j] : 0.0;
}

void geom_scatter_symmetrize(geom_scatter *S)
{
    const int64_t W = S->W;
    for (int64_t i = 0; i < W; i++)
        for (int64_t j = 0; j < i; j++) S->M[i * W + j] = S->M[j * W + i];
}

/* ---------------- cross scatter ---------------- */

int geom_cross_init(geom_cross *X, int64_t p, int64_t q, int center, st_err *err)
{
    memset(X, 0, sizeof *X);
    X->p = p; X->q = q; X->center = center;
    X->mean_a = calloc((size_t)p, sizeof(double));
    X->mean_b = calloc((size_t)q, sizeof(double));
    X->tmp = calloc((size_t)(p + q), sizeof(double));
    X->C = calloc((size_t)p * (size_t)q, sizeof(double));
    if (!X->mean_a || !X->mean_b || !X->tmp || !X->C) {
        geom_cross_free(X);
        return st_seterr(err, STRATA_ERR_NOMEM,
                         "geometry: cannot allocate a %lld x %lld float64 cross-covariance",
                         (long long)p, (long long)q);
    }
    return STRATA_OK;
}

void geom_cross_free(geom_cross *X)
{
    if (!X) return;
    free(X->mean_a); free(X->mean_b); free(X->tmp); free(X->C);
    memset(X, 0, sizeof *X);
}

void geom_cross_add(geom_cross *X, const geom_block *ba, const geom_block *bb)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const int64_t p = X->p, q = X->q, nb = ba->n;
    if (nb <= 0) return;
    /* C += A^T B: A [nb][p], B [nb][q] (shifted rows). */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)q, (int)nb, 1.0,
                ba->D, (int)ba->W, bb->D, (int)bb->W, 1.0, X->C, (int)q);
    if (!X->center) { X->n += nb; return; }
    /* Block-centred cross scatter: A^T B - nb m_a m_b^T. */
    cblas_dger(CblasRowMajor, (int)p, (int)q, -(double)nb, ba->bmean, 1, bb->bmean, 1, X->C, (int)q);
    const double na = (double)X->n, nbd = (double)nb, nt = na + nbd;
    if (X->n == 0) {
        memcpy(X->mean_a, ba->bmean, sizeof(double) * (size_t)p);
        memcpy(X->mean_b, bb->bmean, sizeof(double) * (size_t)q);
    } else {
        double *da = X->tmp, *db = X->tmp + p;
        for (int64_t j = 0; j < p; j++) da[j] = ba->bmean[j] - X->mean_a[j];
        for (int64_t j = 0; j < q; j++) db[j] = bb->bmean[j] - X->mean_b[j];
        cblas_dger(CblasRowMajor, (int)p, (int)q, na * nbd / nt, da, 1, db, 1, X->C, (int)q);
        for (int64_t j = 0; j < p; j++) X->mean_a[j] += da[j] * (nbd / nt);
        for (int64_t j = 0; j < q; j++) X->mean_b[j] += db[j] * (nbd / nt);
    }
    X->n += nb;
}

double geom_fro2_sym(const double *M, int64_t W, int64_t ld)
{
    double diag = 0, off = 0;
    for (int64_t i = 0; i < W; i++) {
        const double *row = M + i * ld;
        diag += row[i] * row[i];
        for (int64_t j = i + 1; j < W; j++) off += row[j] * row[j];
    }
    return diag + 2.0 * off;
}

/* ---------------- RNG: xoshiro256** seeded by splitmix64 ---------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void geom_rng_seed(geom_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->have_spare = 0;
    r->spare = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t geom_rng_next(geom_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double geom_rng_uniform(geom_rng *r)
{
    /* 53 random bits, shifted off zero: (k + 0.5) / 2^53 in (0, 1). */
    return ((double)(geom_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double geom_rng_gauss(geom_rng *r)
{
    if (r->have_spare) { r->have_spare = 0; return r->spare; }
    double u1 = geom_rng_uniform(r), u2 = geom_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
    r->spare = rad * sin(th);
    r->have_spare = 1;
    return rad * cos(th);
}

/* ---------------- linear algebra helpers ---------------- */

int geom_orth(double *A, int64_t m, int64_t l, st_err *err)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    double *tau = malloc(sizeof *tau * (size_t)(l > 0 ? l : 1));
    if (!tau) return st_seterr(err, STRATA_ERR_NOMEM, "geometry: out of memory in QR");
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)l, A,
                                     (lapack_int)l, tau);
    if (info == 0)
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)l, (lapack_int)l, A,
                              (lapack_int)l, tau);
    free(tau);
    if (info != 0)
        return st_seterr(err, STRATA_ERR_NUMERIC, "geometry: QR factorisation failed (info %d)",
                         (int)info);
    return STRATA_OK;
}

void geom_fix_sign(double *v, int64_t d)
{
    int64_t best = 0;
    double bv = -1;
    for (int64_t i = 0; i < d; i++) {
        double a = fabs(v[i]);
        if (a > bv) { bv = a; best = i; }
    }
    if (d > 0 && v[best] < 0)
        for (int64_t i = 0; i < d; i++) v[i] = -v[i];
}
