/* probes/pca_store.c — strata_pca_write(): a PCA fit written back into the
 * capture file, through io/h5doc (layout: docs/GEOMETRY.md).
 *
 *   /pca/<hook>/                      group; attributes:
 *       source "/acts/<hook>", k, dim, n_rows (int64), centered, whitened
 *       (int32 0/1), solver ("cov" | "rsvd"), total_variance,
 *       participation_ratio (float64), sign_convention, strata_version
 *   /pca/<hook>/mean                      float64 [d]
 *   /pca/<hook>/components                float64 [k, d]   unit rows
 *   /pca/<hook>/explained_variance        float64 [k]
 *   /pca/<hook>/explained_variance_ratio  float64 [k]
 *   /pca/<hook>/projections               float32 [R, k]  (optional; chunked along R)
 *
 * Projections stream /acts/<hook> of the same file in row blocks (float16
 * datasets widened with util/half.h), so memory is O(block * d).  The file's
 * committed row count (root attribute n_rows, else the extent) must equal
 * the fit's n_rows.
 */
#include "pca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5doc.h"
#include "strata/model.h"

/* Streams /acts/<hook> rows through pca_project_rows into g/projections. */
static int write_projections(strata_pca *P, st_h5doc *f, const char *g, const char *path,
                             const char *hook)
{
    const int64_t n = P->n_rows, d = P->d, k = P->k;
    char src[1100], dst[1300];
    snprintf(src, sizeof src, "acts/%s", hook);
    snprintf(dst, sizeof dst, "%s/projections", g);
    int64_t dims[4];
    int rank = st_h5doc_dims(f, src, dims);
    if (rank < 0)
        return st_seterr(&P->err, STRATA_ERR_NOTFOUND, "%s: no dataset /acts/%s to project", path, hook);
    int64_t width = 1;
    for (int i = 1; i < rank; i++) width *= dims[i];
    if (rank < 1 || width != d || dims[0] < n)
        return st_seterr(&P->err, STRATA_ERR_STATE,
                         "%s: /acts/%s does not match the fit (%lld rows x %lld wide, fit on "
                         "%lld x %lld)", path, hook, (long long)dims[0], (long long)width,
                         (long long)n, (long long)d);
    /* Output [R, k] float32, chunks of about 1 MiB along R. */
    int rc = st_h5doc_create_rows_f32(f, dst, n, k);
    if (rc < 0) return rc;
    const int64_t blk = 4096;
    float *xf = malloc(sizeof(float) * (size_t)blk * (size_t)d);
    double *work = malloc(sizeof(double) * (size_t)blk * (size_t)d);
    double *y = malloc(sizeof(double) * (size_t)blk * (size_t)k);
    float *yo = malloc(sizeof(float) * (size_t)blk * (size_t)k);
    if (!xf || !work || !y || !yo)
        rc = st_seterr(&P->err, STRATA_ERR_NOMEM, "%s: out of memory projecting /acts/%s", path, hook);
    for (int64_t r0 = 0; r0 < n && rc >= 0; r0 += blk) {
        int64_t nb = n - r0 < blk ? n - r0 : blk;
        rc = st_h5doc_read_rows_f32(f, src, r0, nb, xf);   /* float16 widened */
        if (rc >= 0) rc = pca_project_rows(P, xf, nb, work, y, yo);
        if (rc >= 0) rc = st_h5doc_write_rows_f32(f, dst, r0, nb, yo);
    }
    free(xf); free(work); free(y); free(yo);
    return rc;
}

strata_status strata_pca_write(strata_pca *P, const char *path, const char *hook,
                               int write_projections_flag, int overwrite)
{
    if (!P) return STRATA_ERR_ARG;
    if (!P->fitted)
        return st_seterr(&P->err, STRATA_ERR_STATE, "strata_pca_write: PCA not fitted");
    if (!path || !hook || !hook[0] || strchr(hook, '/') || strlen(hook) > 1000)
        return st_seterr(&P->err, STRATA_ERR_ARG, "strata_pca_write: bad path or hook name '%s'",
                         hook ? hook : "(null)");
    st_h5doc *f;
    int rc = st_h5doc_open(path, ST_H5DOC_RW, &f, &P->err);
    if (rc < 0) return rc;
    /* Committed rows of the file must be the rows the fit saw. */
    int64_t fn = -1;
    if (st_h5doc_get_num(f, "/", "n_rows", ST_H5_I64, &fn) < 0) fn = -1;
    char g[1100];
    snprintf(g, sizeof g, "pca/%s", hook);
    if (write_projections_flag && fn >= 0 && fn != P->n_rows) {
        rc = st_seterr(&P->err, STRATA_ERR_STATE,
                       "%s: the file has %lld committed rows but the PCA was fitted on %lld",
                       path, (long long)fn, (long long)P->n_rows);
        goto done;
    }
    if ((rc = st_h5doc_group(f, "pca")) < 0) goto done;
    if (st_h5doc_exists(f, g)) {
        if (!overwrite) {
            rc = st_seterr(&P->err, STRATA_ERR_EXISTS,
                           "%s: /pca/%s already exists (overwrite not requested)", path, hook);
            goto done;
        }
        if ((rc = st_h5doc_delete(f, g)) < 0) goto done;
    }
    if ((rc = st_h5doc_group(f, g)) < 0) goto done;
    char src[1100], ds[1200];
    snprintf(src, sizeof src, "/acts/%s", hook);
    const int64_t k64 = P->k, dd[2] = { P->k, P->d }, d1 = P->d;
    const int32_t cen = P->params.center != 0, wh = P->params.whiten != 0;
#define PUT(nm, rank, dims, data) \
    (snprintf(ds, sizeof ds, "%s/%s", g, nm), st_h5doc_write(f, ds, ST_H5_F64, rank, dims, data))
    if (st_h5doc_put_str(f, g, "source", src) < 0 ||
        st_h5doc_put_num(f, g, "k", ST_H5_I64, &k64) < 0 ||
        st_h5doc_put_num(f, g, "dim", ST_H5_I64, &P->d) < 0 ||
        st_h5doc_put_num(f, g, "n_rows", ST_H5_I64, &P->n_rows) < 0 ||
        st_h5doc_put_num(f, g, "centered", ST_H5_I32, &cen) < 0 ||
        st_h5doc_put_num(f, g, "whitened", ST_H5_I32, &wh) < 0 ||
        st_h5doc_put_str(f, g, "solver", P->solver_used == STRATA_PCA_RSVD ? "rsvd" : "cov") < 0 ||
        st_h5doc_put_num(f, g, "total_variance", ST_H5_F64, &P->total_var) < 0 ||
        st_h5doc_put_num(f, g, "participation_ratio", ST_H5_F64, &P->pr) < 0 ||
        st_h5doc_put_str(f, g, "sign_convention", "largest-magnitude entry of each component positive") < 0 ||
        st_h5doc_put_str(f, g, "strata_version", strata_libversion()) < 0 ||
        PUT("mean", 1, &d1, P->mean) < 0 || PUT("components", 2, dd, P->components) < 0 ||
        PUT("explained_variance", 1, dd, P->ev) < 0 ||
        PUT("explained_variance_ratio", 1, dd, P->evr) < 0) {
        rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: writing /pca/%s failed", path, hook);
        goto done;
    }
#undef PUT
    if (write_projections_flag) rc = write_projections(P, f, g, path, hook);
done:;
    int crc = st_h5doc_close(f);
    if (crc < 0 && rc >= 0)
        rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: closing after writing /pca/%s failed", path, hook);
    return (strata_status)rc;
}
