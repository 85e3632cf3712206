/* probes/pca_store.c — strata_pca_write(): a PCA fit written back into the
 * capture file, with the HDF5 C API (layout: docs/GEOMETRY.md).
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
#include "io/h5util.h"
#include "pca_internal.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "strata/model.h"
#include "util/half.h"

static int put_attr_num(hid_t obj, const char *name, hid_t type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, v) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

static int put_attr_str(hid_t obj, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, t, &v) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return rc;
}

static int put_f64(hid_t g, const char *name, int rank, const hsize_t *dims, const double *v)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(g, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    return rc;
}

/* Streams /acts/<hook> rows through pca_project_rows into g/projections. */
static int write_projections(strata_pca *P, hid_t file, hid_t g, const char *path,
                             const char *hook)
{
    const int64_t n = P->n_rows, d = P->d, k = P->k;
    hid_t acts = H5Gopen2(file, "acts", H5P_DEFAULT);
    hid_t ds = acts >= 0 ? H5Dopen2(acts, hook, H5P_DEFAULT) : -1;
    if (acts >= 0) H5Gclose(acts);
    if (ds < 0)
        return st_seterr(&P->err, STRATA_ERR_NOTFOUND, "%s: no dataset /acts/%s to project", path, hook);
    hid_t fs = H5Dget_space(ds), ft = H5Dget_type(ds);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[8] = { 0 };
    int rc = STRATA_OK;
    if (rank < 1 || rank > 8) rank = 0;
    else H5Sget_simple_extent_dims(fs, dims, NULL);
    int64_t width = 1;
    for (int i = 1; i < rank; i++) width *= (int64_t)dims[i];
    const int f16 = H5Tget_class(ft) == H5T_FLOAT && H5Tget_size(ft) == 2;
    if (rank < 1 || width != d || (int64_t)dims[0] < n || H5Tget_class(ft) != H5T_FLOAT) {
        rc = st_seterr(&P->err, STRATA_ERR_STATE,
                       "%s: /acts/%s does not match the fit (%lld rows x %lld wide, fit on "
                       "%lld x %lld)", path, hook, rank ? (long long)dims[0] : -1LL,
                       (long long)width, (long long)n, (long long)d);
        goto out;
    }
    /* Output [R, k] float32, chunks of about 1 MiB along R. */
    hsize_t odims[2] = { (hsize_t)n, (hsize_t)k };
    hsize_t chunk[2] = { (hsize_t)(262144 / k > 0 ? 262144 / k : 1), (hsize_t)k };
    if (chunk[0] > (hsize_t)n) chunk[0] = n > 0 ? (hsize_t)n : 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t os = H5Screate_simple(2, odims, NULL);
    hid_t od = H5Dcreate2(g, "projections", H5T_IEEE_F32LE, os, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    const int64_t blk = 4096;
    float *xf = malloc(sizeof(float) * (size_t)blk * (size_t)d);
    double *work = malloc(sizeof(double) * (size_t)blk * (size_t)d);
    double *y = malloc(sizeof(double) * (size_t)blk * (size_t)k);
    float *yo = malloc(sizeof(float) * (size_t)blk * (size_t)k);
    if (od < 0 || !xf || !work || !y || !yo) {
        rc = st_seterr(&P->err, od < 0 ? STRATA_ERR_IO : STRATA_ERR_NOMEM,
                       "%s: cannot create /pca/%s/projections", path, hook);
    }
    for (int64_t r0 = 0; r0 < n && rc >= 0; r0 += blk) {
        int64_t nb = n - r0 < blk ? n - r0 : blk;
        hsize_t start[8] = { 0 }, count[8];
        for (int i = 0; i < rank; i++) count[i] = dims[i];
        start[0] = (hsize_t)r0;
        count[0] = (hsize_t)nb;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        /* Memory space of the selection's own shape: with a 1-D memory space
         * HDF5 falls back to per-element selection iteration (~40x slower). */
        hid_t ms = H5Screate_simple(rank, count, NULL);
        herr_t e;
        if (f16) {
            /* Read the halves into the front of xf, widen back to front. */
            e = H5Dread(ds, ft, ms, fs, H5P_DEFAULT, xf);
            const uint16_t *h = (const uint16_t *)xf;
            for (int64_t i = nb * d - 1; e >= 0 && i >= 0; i--) xf[i] = st_f16_to_f32(h[i]);
        } else {
            e = H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, xf);
        }
        H5Sclose(ms);
        if (e < 0) {
            rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: read of /acts/%s rows [%lld, %lld) failed",
                           path, hook, (long long)r0, (long long)(r0 + nb));
            break;
        }
        rc = pca_project_rows(P, xf, nb, work, y, yo);
        if (rc < 0) break;
        hsize_t ostart[2] = { (hsize_t)r0, 0 }, ocount[2] = { (hsize_t)nb, (hsize_t)k };
        H5Sselect_hyperslab(os, H5S_SELECT_SET, ostart, NULL, ocount, NULL);
        hid_t oms = H5Screate_simple(2, ocount, NULL);
        e = H5Dwrite(od, H5T_NATIVE_FLOAT, oms, os, H5P_DEFAULT, yo);
        H5Sclose(oms);
        if (e < 0)
            rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: write of /pca/%s/projections failed", path, hook);
    }
    free(xf); free(work); free(y); free(yo);
    if (od >= 0) H5Dclose(od);
    H5Sclose(os);
out:
    H5Tclose(ft);
    H5Sclose(fs);
    H5Dclose(ds);
    return rc;
}

static strata_status strata_pca_write_impl(strata_pca *P, const char *path, const char *hook,
                                      int write_projections_flag, int overwrite)
{
    if (!P) return STRATA_ERR_ARG;
    if (!P->fitted)
        return st_seterr(&P->err, STRATA_ERR_STATE, "strata_pca_write: PCA not fitted");
    if (!path || !hook || !hook[0] || strchr(hook, '/'))
        return st_seterr(&P->err, STRATA_ERR_ARG, "strata_pca_write: bad path or hook name '%s'",
                         hook ? hook : "(null)");
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0)
        return st_seterr(&P->err, STRATA_ERR_IO,
                         "%s: cannot open for writing (missing, read-only, locked, or still open "
                         "through a strata_acts reader in this process)", path);
    int rc = STRATA_OK;
    hid_t root = -1, g = -1;
    /* Committed rows of the file must be the rows the fit saw. */
    int64_t fn = -1;
    if (H5Aexists(file, "n_rows") > 0) {
        hid_t a = H5Aopen(file, "n_rows", H5P_DEFAULT);
        if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, &fn) < 0) fn = -1;
        if (a >= 0) H5Aclose(a);
    }
    if (write_projections_flag && fn >= 0 && fn != P->n_rows) {
        rc = st_seterr(&P->err, STRATA_ERR_STATE,
                       "%s: the file has %lld committed rows but the PCA was fitted on %lld",
                       path, (long long)fn, (long long)P->n_rows);
        goto done;
    }
    if (H5Lexists(file, "pca", H5P_DEFAULT) > 0) root = H5Gopen2(file, "pca", H5P_DEFAULT);
    else root = H5Gcreate2(file, "pca", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (root < 0) {
        rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: cannot create group /pca", path);
        goto done;
    }
    if (H5Lexists(root, hook, H5P_DEFAULT) > 0) {
        if (!overwrite) {
            rc = st_seterr(&P->err, STRATA_ERR_EXISTS,
                           "%s: /pca/%s already exists (overwrite not requested)", path, hook);
            goto done;
        }
        if (H5Ldelete(root, hook, H5P_DEFAULT) < 0) {
            rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: cannot remove the old /pca/%s", path, hook);
            goto done;
        }
    }
    g = H5Gcreate2(root, hook, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: cannot create group /pca/%s", path, hook);
        goto done;
    }
    char src[1100];
    snprintf(src, sizeof src, "/acts/%s", hook);
    int64_t k64 = P->k;
    int32_t cen = P->params.center != 0, wh = P->params.whiten != 0;
    hsize_t dd[2] = { (hsize_t)P->k, (hsize_t)P->d };
    hsize_t d1 = (hsize_t)P->d;
    if (put_attr_str(g, "source", src) < 0 ||
        put_attr_num(g, "k", H5T_NATIVE_INT64, &k64) < 0 ||
        put_attr_num(g, "dim", H5T_NATIVE_INT64, &P->d) < 0 ||
        put_attr_num(g, "n_rows", H5T_NATIVE_INT64, &P->n_rows) < 0 ||
        put_attr_num(g, "centered", H5T_NATIVE_INT32, &cen) < 0 ||
        put_attr_num(g, "whitened", H5T_NATIVE_INT32, &wh) < 0 ||
        put_attr_str(g, "solver", P->solver_used == STRATA_PCA_RSVD ? "rsvd" : "cov") < 0 ||
        put_attr_num(g, "total_variance", H5T_NATIVE_DOUBLE, &P->total_var) < 0 ||
        put_attr_num(g, "participation_ratio", H5T_NATIVE_DOUBLE, &P->pr) < 0 ||
        put_attr_str(g, "sign_convention", "largest-magnitude entry of each component positive") < 0 ||
        put_attr_str(g, "strata_version", strata_libversion()) < 0 ||
        put_f64(g, "mean", 1, &d1, P->mean) < 0 ||
        put_f64(g, "components", 2, dd, P->components) < 0 ||
        put_f64(g, "explained_variance", 1, dd, P->ev) < 0 ||
        put_f64(g, "explained_variance_ratio", 1, dd, P->evr) < 0) {
        rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: writing /pca/%s failed", path, hook);
        goto done;
    }
    if (write_projections_flag) rc = write_projections(P, file, g, path, hook);
done:
    if (g >= 0) H5Gclose(g);
    if (root >= 0) H5Gclose(root);
    if (H5Fclose(file) < 0 && rc >= 0)
        rc = st_seterr(&P->err, STRATA_ERR_IO, "%s: closing after writing /pca/%s failed", path, hook);
    return (strata_status)rc;
}

/* HDF5's error printing off for the call, then restored (io/h5util.h) */

strata_status strata_pca_write(strata_pca *P, const char *path, const char *hook, int write_projections_flag, int overwrite)
{
    st_h5_quiet q;
    st_h5_quiet_begin(&q);
    strata_status rc = strata_pca_write_impl(P, path, hook, write_projections_flag, overwrite);
    st_h5_quiet_end(&q);
    return rc;
}
