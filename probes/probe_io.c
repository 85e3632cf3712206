/* probes/probe_io.c — saving and loading fitted probes (HDF5).
 *
 * Layout (readable with plain h5py):
 *   /                     attrs: format = "strata-probes", format_version = 1 (int)
 *   /probes/<name>/       attrs: kind ("logistic"|"ridge"|"diffmean"), C, alpha,
 *                                n_train, n_iter, converged, standardized,
 *                                n_classes, n_constant_features
 *        coef       float32 [n_out][d]   raw activation space
 *        intercept  float32 [n_out]
 *        classes    float64 [K]          (classification only)
 *        mean,scale float64 [d]          standardisation used at fit
 * decision(x) = coef x + intercept; binary: class 1 iff > 0; K > 2: argmax. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5util.h"
#include "probe_internal.h"

#define PR_FORMAT "strata-probes"

static const char *kind_name(int k)
{
    return k == STRATA_PROBE_RIDGE ? "ridge" : k == STRATA_PROBE_DIFFMEAN ? "diffmean" : "logistic";
}

static int put_attr(hid_t o, const char *name, hid_t type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t a = H5Acreate2(o, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a >= 0 && H5Awrite(a, type, v) >= 0 ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

static int put_str(hid_t o, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = put_attr(o, name, t, &v);
    H5Tclose(t);
    return rc;
}

static int get_attr(hid_t o, const char *name, hid_t type, void *v)
{
    if (H5Aexists(o, name) <= 0) return -1;
    hid_t a = H5Aopen(o, name, H5P_DEFAULT);
    int rc = a >= 0 && H5Aread(a, type, v) >= 0 ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    return rc;
}

static char *get_str(hid_t o, const char *name)
{
    if (H5Aexists(o, name) <= 0) return NULL;
    hid_t a = H5Aopen(o, name, H5P_DEFAULT), t = H5Aget_type(a), s = H5Aget_space(a);
    char *out = NULL;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        char *v = NULL;
        if (H5Aread(a, mt, &v) >= 0 && v) { out = strdup(v); H5free_memory(v); }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        out = calloc(n + 1, 1);
        if (out && H5Aread(a, t, out) < 0) { free(out); out = NULL; }
    }
    H5Sclose(s); H5Tclose(t); H5Aclose(a);
    return out;
}

static int put_ds(hid_t g, const char *name, hid_t type, int rank, const hsize_t *dims, const void *v)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(g, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d >= 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    return rc;
}

/* Reads a dataset of exactly `count` elements. */
static int get_ds(hid_t g, const char *name, hid_t type, void *v, hsize_t count)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    int rc = n == (hssize_t)count && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
    H5Sclose(s); H5Dclose(d);
    return rc;
}

static strata_status strata_probe_save_impl(strata_probe *p, const char *path, const char *name)
{
    if (!p) return STRATA_ERR_ARG;
    if (!p->coef) return st_seterr(&p->err, STRATA_ERR_STATE, "save: probe is not fitted");
    if (!path || !name || !name[0] || strchr(name, '/'))
        return st_seterr(&p->err, STRATA_ERR_ARG, "save: need a path and a name without '/'");
    hid_t f = access(path, F_OK) == 0 ? H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT)
                                      : H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return st_seterr(&p->err, STRATA_ERR_IO, "%s: cannot open or create for writing", path);
    int rc = STRATA_OK;
    char *fmt = get_str(f, "format");
    if (fmt && strcmp(fmt, PR_FORMAT)) {
        rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: not a strata probe file (format \"%s\")", path, fmt);
        free(fmt); H5Fclose(f);
        return rc;
    }
    free(fmt);
    int ver = 1;
    hid_t g0 = -1, g = -1;
    if (put_str(f, "format", PR_FORMAT) || put_attr(f, "format_version", H5T_NATIVE_INT, &ver)) goto ioerr;
    g0 = H5Lexists(f, "probes", H5P_DEFAULT) > 0 ? H5Gopen2(f, "probes", H5P_DEFAULT)
                                                  : H5Gcreate2(f, "probes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g0 < 0) goto ioerr;
    if (H5Lexists(g0, name, H5P_DEFAULT) > 0) H5Ldelete(g0, name, H5P_DEFAULT);
    g = H5Gcreate2(g0, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) goto ioerr;
    hsize_t dc[2] = { (hsize_t)p->n_out, (hsize_t)p->d }, dk = (hsize_t)p->n_classes, dd = (hsize_t)p->d;
    long long ntr = p->n_train;
    if (put_str(g, "kind", kind_name(p->kind)) || put_attr(g, "C", H5T_NATIVE_DOUBLE, &p->C) ||
        put_attr(g, "alpha", H5T_NATIVE_DOUBLE, &p->alpha) ||
        put_attr(g, "n_train", H5T_NATIVE_LLONG, &ntr) ||
        put_attr(g, "n_iter", H5T_NATIVE_INT32, &p->n_iter) ||
        put_attr(g, "converged", H5T_NATIVE_INT32, &p->converged) ||
        put_attr(g, "standardized", H5T_NATIVE_INT32, &p->standardized) ||
        put_attr(g, "n_classes", H5T_NATIVE_INT32, &p->n_classes) ||
        put_attr(g, "n_constant_features", H5T_NATIVE_INT32, &p->n_const) ||
        put_ds(g, "coef", H5T_NATIVE_FLOAT, 2, dc, p->coef) ||
        put_ds(g, "intercept", H5T_NATIVE_FLOAT, 1, dc, p->intercept) ||
        (p->n_classes && put_ds(g, "classes", H5T_NATIVE_DOUBLE, 1, &dk, p->classes)) ||
        put_ds(g, "mean", H5T_NATIVE_DOUBLE, 1, &dd, p->mean) ||
        put_ds(g, "scale", H5T_NATIVE_DOUBLE, 1, &dd, p->scale))
        goto ioerr;
    H5Gclose(g); H5Gclose(g0);
    if (H5Fclose(f) < 0) return st_seterr(&p->err, STRATA_ERR_IO, "%s: close failed", path);
    return STRATA_OK;
ioerr:
    if (g >= 0) H5Gclose(g);
    if (g0 >= 0) H5Gclose(g0);
    H5Fclose(f);
    return st_seterr(&p->err, STRATA_ERR_IO, "%s: writing probe '%s' failed", path, name);
}

static herr_t first_name(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    char **v = ud;
    if (*v) { free(*v); *v = strdup("\x01"); return 1; } /* more than one */
    *v = strdup(name);
    return 0;
}

static strata_status strata_probe_load_impl(const char *path, const char *name, strata_probe **out)
{
    if (!out) return STRATA_ERR_ARG;
    strata_probe *p = *out = calloc(1, sizeof *p);
    if (!p) return STRATA_ERR_NOMEM;
    if (!path) return st_seterr(&p->err, STRATA_ERR_ARG, "load: no path");
    if (access(path, R_OK) != 0) return st_seterr(&p->err, STRATA_ERR_IO, "%s: cannot read", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: not an HDF5 file", path);
    int rc = STRATA_OK, ver = 0;
    hid_t g0 = -1, g = -1;
    char *fmt = get_str(f, "format"), *nm = NULL, *kind = NULL;
    if (!fmt || strcmp(fmt, PR_FORMAT)) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: not a strata probe file (root attribute format != \"%s\")", path, PR_FORMAT); goto done; }
    if (get_attr(f, "format_version", H5T_NATIVE_INT, &ver) || ver != 1) { rc = st_seterr(&p->err, STRATA_ERR_UNSUPPORTED, "%s: probe format_version %d not supported (reads 1)", path, ver); goto done; }
    g0 = H5Gopen2(f, "probes", H5P_DEFAULT);
    if (g0 < 0) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: no /probes group", path); goto done; }
    if (!name) {
        H5Literate(g0, H5_INDEX_NAME, H5_ITER_INC, NULL, first_name, &nm);
        if (!nm) { rc = st_seterr(&p->err, STRATA_ERR_NOTFOUND, "%s: holds no probe", path); goto done; }
        if (nm[0] == 1) { rc = st_seterr(&p->err, STRATA_ERR_ARG, "%s: holds several probes; name one", path); goto done; }
        name = nm;
    }
    if (H5Lexists(g0, name, H5P_DEFAULT) <= 0 || (g = H5Gopen2(g0, name, H5P_DEFAULT)) < 0) { rc = st_seterr(&p->err, STRATA_ERR_NOTFOUND, "%s: no probe '%s'", path, name); goto done; }
    kind = get_str(g, "kind");
    p->kind = !kind ? -1 : !strcmp(kind, "logistic") ? STRATA_PROBE_LOGISTIC : !strcmp(kind, "ridge") ? STRATA_PROBE_RIDGE : !strcmp(kind, "diffmean") ? STRATA_PROBE_DIFFMEAN : -1;
    if (p->kind < 0) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: probe '%s': unknown kind", path, name); goto done; }
    long long ntr = 0;
    get_attr(g, "C", H5T_NATIVE_DOUBLE, &p->C); get_attr(g, "alpha", H5T_NATIVE_DOUBLE, &p->alpha);
    get_attr(g, "n_train", H5T_NATIVE_LLONG, &ntr); p->n_train = ntr;
    get_attr(g, "n_iter", H5T_NATIVE_INT32, &p->n_iter); get_attr(g, "converged", H5T_NATIVE_INT32, &p->converged);
    get_attr(g, "standardized", H5T_NATIVE_INT32, &p->standardized);
    get_attr(g, "n_constant_features", H5T_NATIVE_INT32, &p->n_const);
    if (get_attr(g, "n_classes", H5T_NATIVE_INT32, &p->n_classes)) p->n_classes = -1;
    hid_t ds = H5Lexists(g, "coef", H5P_DEFAULT) > 0 ? H5Dopen2(g, "coef", H5P_DEFAULT) : -1;
    hsize_t dims[2] = {0, 0};
    if (ds >= 0) {
        hid_t s = H5Dget_space(ds);
        if (H5Sget_simple_extent_ndims(s) == 2) H5Sget_simple_extent_dims(s, dims, NULL);
        H5Sclose(s); H5Dclose(ds);
    }
    p->n_out = (int32_t)dims[0]; p->d = (int64_t)dims[1];
    int K = p->n_classes;
    int ok_k = p->kind == STRATA_PROBE_RIDGE ? K == 0 && p->n_out == 1 : K >= 2 && p->n_out == (K == 2 ? 1 : K);
    if (p->n_out < 1 || p->d < 1 || !ok_k) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: probe '%s': coef shape [%llu][%llu] does not fit n_classes %d", path, name, (unsigned long long)dims[0], (unsigned long long)dims[1], K); goto done; }
    p->coef = malloc(sizeof(float) * dims[0] * dims[1]); p->intercept = malloc(sizeof(float) * dims[0]);
    p->mean = malloc(sizeof(double) * dims[1]); p->scale = malloc(sizeof(double) * dims[1]);
    if (K) p->classes = malloc(sizeof(double) * (size_t)K);
    if (!p->coef || !p->intercept || !p->mean || !p->scale || (K && !p->classes)) { rc = st_seterr(&p->err, STRATA_ERR_NOMEM, "out of memory"); goto done; }
    if (get_ds(g, "coef", H5T_NATIVE_FLOAT, p->coef, dims[0] * dims[1]) ||
        get_ds(g, "intercept", H5T_NATIVE_FLOAT, p->intercept, dims[0]) ||
        (K && get_ds(g, "classes", H5T_NATIVE_DOUBLE, p->classes, (hsize_t)K)) ||
        get_ds(g, "mean", H5T_NATIVE_DOUBLE, p->mean, dims[1]) ||
        get_ds(g, "scale", H5T_NATIVE_DOUBLE, p->scale, dims[1])) {
        rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: probe '%s': a dataset is missing or has the wrong size", path, name);
        free(p->coef); p->coef = NULL;
        goto done;
    }
done:
    free(fmt); free(nm); free(kind);
    if (g >= 0) H5Gclose(g);
    if (g0 >= 0) H5Gclose(g0);
    H5Fclose(f);
    return rc;
}

/* HDF5's error printing off for the call, then restored (io/h5util.h) */

strata_status strata_probe_save(strata_probe *p, const char *path, const char *name)
{
    st_h5_quiet q;
    st_h5_quiet_begin(&q);
    strata_status rc = strata_probe_save_impl(p, path, name);
    st_h5_quiet_end(&q);
    return rc;
}

strata_status strata_probe_load(const char *path, const char *name, strata_probe **out)
{
    st_h5_quiet q;
    st_h5_quiet_begin(&q);
    strata_status rc = strata_probe_load_impl(path, name, out);
    st_h5_quiet_end(&q);
    return rc;
}
