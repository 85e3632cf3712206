/* probes/geom_dist.c — PCA and CKA over the ranks of a process group (see
 * geom_core.h, "distributed fits", and docs/SCALE.md).
 *
 * Merge of per-rank scatter matrices (Chan, Golub & LeVeque), in the common
 * shifted coordinates: rank r holds n_r rows with mean m_r and
 * M_r = sum_{rows of r} (x - m_r)(x - m_r)^T; then
 *     n = sum n_r,   m = sum n_r m_r / n,
 *     M = sum_r [M_r + n_r (m_r - m)(m_r - m)^T],
 * and for a cross scatter C = sum_r [C_r + n_r (a_r - a)(b_r - b)^T].
 * Each rank adds its own correction term before one element-wise sum, so
 * the d x d matrix crosses the network once. */
#include "util/blas_threads.h"
#include "geom_core.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

int geom_src_dist(geom_src *s, int distributed, int split, st_err *err)
{
    st_fit_group_init(&s->grp, distributed, split ? s->n_rows : 0);
    s->n_total = s->n_rows;
    if (!s->grp.on) { s->grp.lo = 0; s->grp.hi = s->n_rows; return STRATA_OK; }
    if (split) return STRATA_OK;
    s->grp.lo = 0;
    s->grp.hi = s->n_rows;
    double n = (double)s->n_rows;
    int rc = st_fit_sum(&s->grp, &n, 1, err);
    s->n_total = (int64_t)n;
    return rc;
}

int geom_block_common_shift(geom_block *b, const geom_src *s, int center, st_err *err)
{
    if (!s->grp.on || !center) return STRATA_OK;
    const int64_t W = b->W, lo = s->grp.lo, hi = s->grp.hi;
    double *buf = malloc(sizeof *buf * (size_t)(W + 1));
    int rc = buf ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "geometry: out of memory");
    int64_t nb = hi - lo < b->cap_rows ? hi - lo : b->cap_rows;
    if (!rc && nb > 0) rc = geom_block_load(b, s, lo, nb, 1, err); /* sets b->shift */
    if ((rc = st_fit_check(&s->grp, rc, err))) { free(buf); return rc; }
    for (int64_t j = 0; j < W; j++) buf[j] = nb > 0 ? (double)nb * b->shift[j] : 0;
    buf[W] = (double)(nb > 0 ? nb : 0);
    if (!(rc = st_fit_sum(&s->grp, buf, (size_t)W + 1, err)))
        for (int64_t j = 0; j < W; j++) b->shift[j] = buf[W] > 0 ? buf[j] / buf[W] : 0;
    b->have_shift = 1;
    free(buf);
    return rc;
}

int geom_scatter_reduce(geom_scatter *S, const geom_block *b, const geom_src *s, st_err *err)
{
    if (!s->grp.on) return STRATA_OK;
    st_blas_for_analysis();
    const int64_t W = S->W;
    double *buf = malloc(sizeof *buf * (size_t)(W + 1));
    int rc = buf ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "geometry: out of memory");
    if ((rc = st_fit_check(&s->grp, rc, err))) { free(buf); return rc; }
    const double nr = (double)S->n;
    if (S->center) {
        for (int64_t j = 0; j < W; j++) buf[j] = nr * S->mean[j];
        buf[W] = nr;
        if ((rc = st_fit_sum(&s->grp, buf, (size_t)W + 1, err))) { free(buf); return rc; }
        const double n = buf[W];
        for (int64_t j = 0; j < W; j++) {
            const double m = n > 0 ? buf[j] / n : 0;
            S->tmp[j] = S->mean[j] - m;
            S->mean[j] = m;
        }
        if (nr > 0) cblas_dsyr(CblasRowMajor, CblasUpper, (int)W, nr, S->tmp, 1, S->M, (int)W);
        memcpy(S->shift, b->shift, sizeof *S->shift * (size_t)W); /* common to all ranks */
        S->n = (int64_t)n;
    } else {
        buf[0] = nr;
        if ((rc = st_fit_sum(&s->grp, buf, 1, err))) { free(buf); return rc; }
        S->n = (int64_t)buf[0];
    }
    free(buf);
    return st_fit_sum(&s->grp, S->M, (size_t)W * (size_t)W, err);
}

int geom_cross_reduce(geom_cross *X, const geom_src *s, st_err *err)
{
    if (!s->grp.on) return STRATA_OK;
    st_blas_for_analysis();
    const int64_t p = X->p, q = X->q;
    double *buf = malloc(sizeof *buf * (size_t)(p + q + 1));
    int rc = buf ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "geometry: out of memory");
    if ((rc = st_fit_check(&s->grp, rc, err))) { free(buf); return rc; }
    const double nr = (double)X->n;
    if (X->center) {
        for (int64_t j = 0; j < p; j++) buf[j] = nr * X->mean_a[j];
        for (int64_t j = 0; j < q; j++) buf[p + j] = nr * X->mean_b[j];
        buf[p + q] = nr;
        if ((rc = st_fit_sum(&s->grp, buf, (size_t)(p + q + 1), err))) { free(buf); return rc; }
        const double n = buf[p + q];
        double *da = X->tmp, *db = X->tmp + p;
        for (int64_t j = 0; j < p; j++) {
            const double m = n > 0 ? buf[j] / n : 0;
            da[j] = X->mean_a[j] - m;
            X->mean_a[j] = m;
        }
        for (int64_t j = 0; j < q; j++) {
            const double m = n > 0 ? buf[p + j] / n : 0;
            db[j] = X->mean_b[j] - m;
            X->mean_b[j] = m;
        }
        if (nr > 0) cblas_dger(CblasRowMajor, (int)p, (int)q, nr, da, 1, db, 1, X->C, (int)q);
        X->n = (int64_t)n;
    } else {
        buf[0] = nr;
        if ((rc = st_fit_sum(&s->grp, buf, 1, err))) { free(buf); return rc; }
        X->n = (int64_t)buf[0];
    }
    free(buf);
    return st_fit_sum(&s->grp, X->C, (size_t)p * (size_t)q, err);
}
