/* probes/cka.c — linear CKA between hooks from streamed row blocks.
 *
 * See strata/cka.h.  With the hooks' columns side by side, Z = [X_1 ... X_m]
 * ([n][W], W = sum d_i), the centred scatter S = Zc^T Zc ([W][W]) holds every
 * block needed: S_ij = Xc_i^T Xc_j.  Then
 *     hsic_ij = ||S_ij||_F^2,   CKA_ij = hsic_ij / sqrt(hsic_ii hsic_jj)
 * (the 1/(n-1)^2 normalisations cancel).  S is accumulated by geom_scatter
 * (dsyrk of each block-centred row block + Chan merge) when it fits the
 * memory budget; otherwise the hooks are split into groups G_1..G_t and
 * S is covered tile by tile: a diagonal pass per group (geom_scatter over
 * the group) and a cross pass per pair of groups (geom_cross: dgemm
 * Xc_Gi^T Xc_Gj + rank-1 merge).
 */
#include "strata/cka.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geom_core.h"
#include "strata/capture.h"

struct strata_cka {
    st_err err;
    strata_cka_params params;
    int m;
    int64_t n_rows;
    int n_passes;
    double *cka;   /* [m][m] */
};

void strata_cka_default_params(strata_cka_params *p)
{
    memset(p, 0, sizeof *p);
    p->block_rows = 0;
    p->max_bytes = (int64_t)1 << 30;
}

void strata_cka_free(strata_cka *c)
{
    if (!c) return;
    free(c->cka);
    free(c);
}

const char *strata_cka_errmsg(const strata_cka *c) { return c ? c->err.msg : "out of memory"; }
int strata_cka_n(const strata_cka *c) { return c && c->cka ? c->m : 0; }
int64_t strata_cka_n_rows(const strata_cka *c) { return c && c->cka ? c->n_rows : 0; }
const double *strata_cka_matrix(const strata_cka *c) { return c ? c->cka : NULL; }
int strata_cka_n_passes(const strata_cka *c) { return c ? c->n_passes : 0; }

static strata_cka *cka_new(const strata_cka_params *p)
{
    strata_cka *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (p) c->params = *p; else strata_cka_default_params(&c->params);
    if (c->params.max_bytes <= 0) c->params.max_bytes = (int64_t)1 << 30;
    return c;
}

/* Sum of squares of the sub-block rows [r0, r0+nr) x cols [c0, c0+nc) of M (ld). */
static double fro2_block(const double *M, int64_t ld, int64_t r0, int64_t nr, int64_t c0, int64_t nc)
{
    double s = 0;
    for (int64_t r = 0; r < nr; r++) {
        const double *row = M + (r0 + r) * ld + c0;
        for (int64_t c = 0; c < nc; c++) s += row[c] * row[c];
    }
    return s;
}

/* Diagonal pass over group g (sources sel[0..ns)): fills hsic for all pairs
 * inside the group. */
static int pass_diag(strata_cka *C, const geom_src *s, int ns, const int *sel, double *hsic)
{
    const int m = C->m;
    geom_block B;
    geom_scatter S;
    int rc = geom_block_init(&B, s, ns, sel, &C->err);
    if (rc < 0) return rc;
    rc = geom_scatter_init(&S, B.W, 1, &C->err);
    if (rc < 0) { geom_block_free(&B); return rc; }
    const int64_t lo = s->grp.lo, hi = s->grp.hi; /* [0, n_rows) unless distributed */
    rc = geom_block_common_shift(&B, s, 1, &C->err);
    for (int64_t r0 = lo; r0 < hi && rc >= 0; r0 += B.cap_rows) {
        int64_t nb = hi - r0 < B.cap_rows ? hi - r0 : B.cap_rows;
        rc = geom_block_load(&B, s, r0, nb, 1, &C->err);
        if (rc >= 0) geom_scatter_add(&S, &B);
    }
    if (s->grp.on && (rc = st_fit_check(&s->grp, rc, &C->err)) >= 0)
        rc = geom_scatter_reduce(&S, &B, s, &C->err);
    if (rc >= 0) {
        const int64_t W = B.W;
        for (int a = 0; a < ns; a++) {
            const int ia = sel[a];
            const int64_t oa = B.off[a], wa = s->width[ia];
            hsic[ia * m + ia] = geom_fro2_sym(S.M + oa * W + oa, wa, W);
            for (int b = a + 1; b < ns; b++) {
                const int ib = sel[b];
                /* oa < ob: the (a, b) block lies in the stored upper triangle. */
                double h = fro2_block(S.M, W, oa, wa, B.off[b], s->width[ib]);
                hsic[ia * m + ib] = hsic[ib * m + ia] = h;
            }
        }
    }
    C->n_passes++;
    geom_scatter_free(&S);
    geom_block_free(&B);
    return rc;
}

/* Cross pass between groups (sa[0..na)) and (sb[0..nb_)): fills hsic across. */
static int pass_cross(strata_cka *C, const geom_src *s, int na, const int *sa, int nb_,
                      const int *sb, double *hsic)
{
    const int m = C->m;
    geom_block A, B;
    geom_cross X;
    int rc = geom_block_init(&A, s, na, sa, &C->err);
    if (rc < 0) return rc;
    rc = geom_block_init(&B, s, nb_, sb, &C->err);
    if (rc < 0) { geom_block_free(&A); return rc; }
    rc = geom_cross_init(&X, A.W, B.W, 1, &C->err);
    if (rc < 0) { geom_block_free(&A); geom_block_free(&B); return rc; }
    const int64_t lo = s->grp.lo, hi = s->grp.hi; /* [0, n_rows) unless distributed */
    rc = geom_block_common_shift(&A, s, 1, &C->err);
    if (rc >= 0) rc = geom_block_common_shift(&B, s, 1, &C->err);
    for (int64_t r0 = lo; r0 < hi && rc >= 0; r0 += A.cap_rows) {
        int64_t nb = hi - r0 < A.cap_rows ? hi - r0 : A.cap_rows;
        rc = geom_block_load(&A, s, r0, nb, 1, &C->err);
        if (rc >= 0) rc = geom_block_load(&B, s, r0, nb, 1, &C->err);
        if (rc >= 0) geom_cross_add(&X, &A, &B);
    }
    if (s->grp.on && (rc = st_fit_check(&s->grp, rc, &C->err)) >= 0)
        rc = geom_cross_reduce(&X, s, &C->err);
    if (rc >= 0)
        for (int a = 0; a < na; a++)
            for (int b = 0; b < nb_; b++) {
                double h = fro2_block(X.C, B.W, A.off[a], s->width[sa[a]], B.off[b], s->width[sb[b]]);
                hsic[sa[a] * m + sb[b]] = hsic[sb[b] * m + sa[a]] = h;
            }
    C->n_passes++;
    geom_cross_free(&X);
    geom_block_free(&A);
    geom_block_free(&B);
    return rc;
}

static int cka_run(strata_cka *C, const geom_src *s)
{
    const int m = s->n_src;
    char tmp[32];
    if (m < 1) return st_seterr(&C->err, STRATA_ERR_ARG, "CKA: no inputs given");
    if (s->n_total < 2)
        return st_seterr(&C->err, STRATA_ERR_ARG, "CKA: %lld rows; need at least 2",
                         (long long)s->n_total);
    const int64_t wmax = (int64_t)floor(sqrt((double)C->params.max_bytes / 8.0));
    for (int i = 0; i < m; i++) {
        if (s->width[i] < 1)
            return st_seterr(&C->err, STRATA_ERR_ARG, "CKA: %s has row width %lld",
                             geom_src_name(s, i, tmp, sizeof tmp), (long long)s->width[i]);
        if (s->width[i] > wmax)
            return st_seterr(&C->err, STRATA_ERR_RANGE,
                             "CKA: %s has %lld features; its %lld x %lld float64 scatter exceeds "
                             "the memory budget of %lld bytes (raise max_bytes)",
                             geom_src_name(s, i, tmp, sizeof tmp), (long long)s->width[i],
                             (long long)s->width[i], (long long)s->width[i],
                             (long long)C->params.max_bytes);
    }
    C->m = m;
    C->n_rows = s->n_total;
    double *hsic = calloc((size_t)m * (size_t)m, sizeof *hsic);
    int *grp = malloc(sizeof *grp * (size_t)m);     /* group start indices */
    int *idx = malloc(sizeof *idx * (size_t)m * 2); /* sources of one or two groups */
    if (!hsic || !grp || !idx) {
        free(hsic); free(grp); free(idx);
        return st_seterr(&C->err, STRATA_ERR_NOMEM, "CKA: out of memory");
    }
    /* Greedy groups in input order, each of total width <= wmax. */
    int t = 0;
    int64_t acc = 0;
    for (int i = 0; i < m; i++) {
        if (i == 0 || acc + s->width[i] > wmax) { grp[t++] = i; acc = 0; }
        acc += s->width[i];
    }
    int rc = STRATA_OK;
    for (int g = 0; g < t && rc >= 0; g++) {
        int g0 = grp[g], g1 = g + 1 < t ? grp[g + 1] : m;
        for (int i = g0; i < g1; i++) idx[i - g0] = i;
        rc = pass_diag(C, s, g1 - g0, idx, hsic);
    }
    for (int g = 0; g < t && rc >= 0; g++)
        for (int h = g + 1; h < t && rc >= 0; h++) {
            int g0 = grp[g], g1 = grp[g + 1], h0 = grp[h], h1 = h + 1 < t ? grp[h + 1] : m;
            for (int i = g0; i < g1; i++) idx[i - g0] = i;
            for (int i = h0; i < h1; i++) idx[m + i - h0] = i;
            rc = pass_cross(C, s, g1 - g0, idx, h1 - h0, idx + m, hsic);
        }
    if (rc >= 0) {
        for (int i = 0; i < m; i++)
            if (!(hsic[i * m + i] > 0)) {
                rc = st_seterr(&C->err, STRATA_ERR_NUMERIC,
                               "CKA: %s is constant over all %lld rows (zero variance); "
                               "CKA with it is undefined", geom_src_name(s, i, tmp, sizeof tmp),
                               (long long)s->n_total);
                break;
            }
    }
    if (rc >= 0) {
        C->cka = malloc(sizeof *C->cka * (size_t)m * (size_t)m);
        if (!C->cka) rc = st_seterr(&C->err, STRATA_ERR_NOMEM, "CKA: out of memory");
    }
    if (rc >= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                C->cka[i * m + j] = i == j ? 1.0
                    : hsic[i * m + j] / sqrt(hsic[i * m + i] * hsic[j * m + j]);
        st_err_clear(&C->err);
    }
    free(hsic); free(grp); free(idx);
    return rc;
}

strata_status strata_cka_fit(int m, const float *const *X, const int64_t *d, int64_t n,
                             const strata_cka_params *p, strata_cka **out)
{
    strata_cka *C = cka_new(p);
    *out = C;
    if (!C) return STRATA_ERR_NOMEM;
    if (m < 1 || !X || !d || n < 0)
        return st_seterr(&C->err, STRATA_ERR_ARG, "strata_cka_fit: need m >= 1 arrays and n >= 0");
    for (int i = 0; i < m; i++)
        if (!X[i]) return st_seterr(&C->err, STRATA_ERR_ARG, "strata_cka_fit: X[%d] is NULL", i);
    geom_array_user u = { X, d };
    geom_src s = { geom_array_read, &u, n, m, d, NULL, C->params.block_rows };
    int rc = geom_src_dist(&s, C->params.distributed, 0, &C->err); /* X: this rank's rows */
    return (strata_status)(rc < 0 ? rc : cka_run(C, &s));
}

strata_status strata_cka_fit_acts(strata_acts *a, int m, const char *const *hooks,
                                  const strata_cka_params *p, strata_cka **out)
{
    strata_cka *C = cka_new(p);
    *out = C;
    if (!C) return STRATA_ERR_NOMEM;
    if (!a || m < 1 || !hooks)
        return st_seterr(&C->err, STRATA_ERR_ARG, "strata_cka_fit_acts: no reader or no hooks");
    int64_t *width = malloc(sizeof *width * (size_t)m);
    if (!width) return st_seterr(&C->err, STRATA_ERR_NOMEM, "CKA: out of memory");
    int rc = geom_acts_widths(a, m, hooks, width, &C->err);
    if (rc >= 0) {
        geom_acts_user u = { a, hooks };
        geom_src s = { geom_acts_read, &u, strata_acts_n_rows(a), m, width, hooks,
                       C->params.block_rows };
        rc = geom_src_dist(&s, C->params.distributed, 1, &C->err); /* a share of the rows */
        if (rc >= 0) rc = cka_run(C, &s);
    }
    free(width);
    return (strata_status)rc;
}

/* ---- two capture files of the same tokens ---- */

typedef struct pair_user {
    geom_acts_user a, b;
    int ma;
} pair_user;

/* Sources 0..ma-1 read hooks of file a, ma.. those of file b. */
static int pair_read(void *user, int src, int64_t row0, int64_t n, float *buf, const float **rows,
                     st_err *err)
{
    pair_user *u = user;
    return src < u->ma ? geom_acts_read(&u->a, src, row0, n, buf, rows, err)
                       : geom_acts_read(&u->b, src - u->ma, row0, n, buf, rows, err);
}

/* Same rows and the same token at every row, else STRATA_ERR_STATE naming the
 * first difference. */
static int same_tokens(strata_cka *C, strata_acts *a, strata_acts *b)
{
    int64_t R = strata_acts_n_rows(a), Rb = strata_acts_n_rows(b);
    if (R != Rb)
        return st_seterr(&C->err, STRATA_ERR_STATE, "CKA across files: the first file has %lld "
                         "rows, the second %lld; both must be captures of the same tokens "
                         "(same corpus, tokenizer, --positions and --max-tokens)",
                         (long long)R, (long long)Rb);
    enum { BLK = 65536 };
    int32_t *ta = malloc(sizeof *ta * BLK), *tb = malloc(sizeof *tb * BLK);
    int rc = ta && tb ? STRATA_OK : st_seterr(&C->err, STRATA_ERR_NOMEM, "CKA: out of memory");
    for (int64_t r0 = 0; r0 < R && rc == STRATA_OK; r0 += BLK) {
        int64_t n = R - r0 < BLK ? R - r0 : BLK;
        if (strata_acts_read_row_tokens(a, r0, n, ta) != STRATA_OK) {
            rc = st_seterr(&C->err, STRATA_ERR_FORMAT, "first file: %s", strata_acts_errmsg(a));
            break;
        }
        if (strata_acts_read_row_tokens(b, r0, n, tb) != STRATA_OK) {
            rc = st_seterr(&C->err, STRATA_ERR_FORMAT, "second file: %s", strata_acts_errmsg(b));
            break;
        }
        for (int64_t i = 0; i < n; i++)
            if (ta[i] != tb[i]) {
                rc = st_seterr(&C->err, STRATA_ERR_STATE, "CKA across files: row %lld is token "
                               "%d in the first file and %d in the second; CKA compares "
                               "representations of the same inputs (capture both from the "
                               "same corpus with the same tokenizer)", (long long)(r0 + i),
                               ta[i], tb[i]);
                break;
            }
    }
    free(ta);
    free(tb);
    return rc;
}

strata_status strata_cka_fit_acts_pair(strata_acts *a, int ma, const char *const *hooks_a,
                                       strata_acts *b, int mb, const char *const *hooks_b,
                                       const strata_cka_params *p, strata_cka **out)
{
    strata_cka *C = cka_new(p);
    *out = C;
    if (!C) return STRATA_ERR_NOMEM;
    if (!a || !b || ma < 1 || mb < 1 || !hooks_a || !hooks_b)
        return st_seterr(&C->err, STRATA_ERR_ARG, "strata_cka_fit_acts_pair: two readers and at "
                         "least one hook in each are required");
    int rc = same_tokens(C, a, b);
    if (rc < 0) return (strata_status)rc;
    int m = ma + mb;
    int64_t *width = malloc(sizeof *width * (size_t)m);
    const char **names = malloc(sizeof *names * (size_t)m);
    char **owned = calloc((size_t)m, sizeof *owned);
    if (!width || !names || !owned) rc = st_seterr(&C->err, STRATA_ERR_NOMEM, "CKA: out of memory");
    if (rc >= 0) rc = geom_acts_widths(a, ma, hooks_a, width, &C->err);
    if (rc >= 0) rc = geom_acts_widths(b, mb, hooks_b, width + ma, &C->err);
    for (int i = 0; rc >= 0 && i < m; i++) {
        const char *h = i < ma ? hooks_a[i] : hooks_b[i - ma];
        size_t len = strlen(h) + 16;
        owned[i] = malloc(len);
        if (!owned[i]) { rc = st_seterr(&C->err, STRATA_ERR_NOMEM, "CKA: out of memory"); break; }
        snprintf(owned[i], len, "%s (file %c)", h, i < ma ? 'A' : 'B');
        names[i] = owned[i];
    }
    if (rc >= 0) {
        pair_user u = { { a, hooks_a }, { b, hooks_b }, ma };
        geom_src s = { pair_read, &u, strata_acts_n_rows(a), m, width, names,
                       C->params.block_rows };
        rc = geom_src_dist(&s, C->params.distributed, 1, &C->err); /* a share of the rows */
        if (rc >= 0) rc = cka_run(C, &s);
    }
    for (int i = 0; owned && i < m; i++) free(owned[i]);
    free(owned);
    free(names);
    free(width);
    return (strata_status)rc;
}
