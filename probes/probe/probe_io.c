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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5doc.h"
#include "probe_internal.h"

#define PR_FORMAT "strata-probes"

static const char *kind_name(int k)
{
    return k == STRATA_PROBE_RIDGE ? "ridge" : k == STRATA_PROBE_DIFFMEAN ? "diffmean" : "logistic";
}

strata_status strata_probe_save(strata_probe *p, const char *path, const char *name)
{
    if (!p) return STRATA_ERR_ARG;
    if (!p->coef) return st_seterr(&p->err, STRATA_ERR_STATE, "save: probe is not fitted");
    if (!path || !name || !name[0] || strchr(name, '/') || strlen(name) > 200)
        return st_seterr(&p->err, STRATA_ERR_ARG, "save: need a path and a name without '/'");
    st_h5doc *f;
    int rc = st_h5doc_open(path, ST_H5DOC_CREATE, &f, &p->err);
    if (rc) return rc;
    char *fmt = st_h5doc_get_str(f, "/", "format");
    if (fmt && strcmp(fmt, PR_FORMAT)) {
        rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: not a strata probe file (format \"%s\")", path, fmt);
        free(fmt);
        st_h5doc_close(f);
        return rc;
    }
    free(fmt);
    char g[256];
    snprintf(g, sizeof g, "probes/%s", name);
    const int32_t ver = 1;
    const int64_t dc[2] = { p->n_out, p->d }, dk = p->n_classes, dd = p->d, ntr = p->n_train;
    if (st_h5doc_put_str(f, "/", "format", PR_FORMAT) ||
        st_h5doc_put_num(f, "/", "format_version", ST_H5_I32, &ver) ||
        st_h5doc_group(f, "probes") || st_h5doc_delete(f, g) || st_h5doc_group(f, g) ||
        st_h5doc_put_str(f, g, "kind", kind_name(p->kind)) ||
        st_h5doc_put_num(f, g, "C", ST_H5_F64, &p->C) ||
        st_h5doc_put_num(f, g, "alpha", ST_H5_F64, &p->alpha) ||
        st_h5doc_put_num(f, g, "n_train", ST_H5_I64, &ntr) ||
        st_h5doc_put_num(f, g, "n_iter", ST_H5_I32, &p->n_iter) ||
        st_h5doc_put_num(f, g, "converged", ST_H5_I32, &p->converged) ||
        st_h5doc_put_num(f, g, "standardized", ST_H5_I32, &p->standardized) ||
        st_h5doc_put_num(f, g, "n_classes", ST_H5_I32, &p->n_classes) ||
        st_h5doc_put_num(f, g, "n_constant_features", ST_H5_I32, &p->n_const))
        goto ioerr;
    char ds[300];
#define PUT(nm, type, rank, dims, data) \
    (snprintf(ds, sizeof ds, "%s/%s", g, nm), st_h5doc_write(f, ds, type, rank, dims, data))
    if (PUT("coef", ST_H5_F32, 2, dc, p->coef) || PUT("intercept", ST_H5_F32, 1, dc, p->intercept) ||
        (p->n_classes && PUT("classes", ST_H5_F64, 1, &dk, p->classes)) ||
        PUT("mean", ST_H5_F64, 1, &dd, p->mean) || PUT("scale", ST_H5_F64, 1, &dd, p->scale))
        goto ioerr;
#undef PUT
    return st_h5doc_close(f);
ioerr:
    st_h5doc_close(f);
    return st_seterr(&p->err, STRATA_ERR_IO, "%s: writing probe '%s' failed", path, name);
}

strata_status strata_probe_load(const char *path, const char *name, strata_probe **out)
{
    if (!out) return STRATA_ERR_ARG;
    strata_probe *p = *out = calloc(1, sizeof *p);
    if (!p) return STRATA_ERR_NOMEM;
    if (!path) return st_seterr(&p->err, STRATA_ERR_ARG, "load: no path");
    st_h5doc *f;
    int rc = st_h5doc_open(path, ST_H5DOC_READ, &f, &p->err);
    if (rc) return rc;
    int32_t ver = 0;
    char *fmt = st_h5doc_get_str(f, "/", "format"), *nm = NULL, *kind = NULL;
    char g[256], ds[300];
    if (!fmt || strcmp(fmt, PR_FORMAT)) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: not a strata probe file (root attribute format != \"%s\")", path, PR_FORMAT); goto done; }
    if (st_h5doc_get_num(f, "/", "format_version", ST_H5_I32, &ver) || ver != 1) { rc = st_seterr(&p->err, STRATA_ERR_UNSUPPORTED, "%s: probe format_version %d not supported (reads 1)", path, ver); goto done; }
    int nprobes = st_h5doc_children(f, "probes", &nm);
    if (nprobes < 0) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: no /probes group", path); goto done; }
    if (!name) {
        if (nprobes == 0) { rc = st_seterr(&p->err, STRATA_ERR_NOTFOUND, "%s: holds no probe", path); goto done; }
        if (nprobes > 1) { rc = st_seterr(&p->err, STRATA_ERR_ARG, "%s: holds several probes; name one", path); goto done; }
        name = nm;
    }
    snprintf(g, sizeof g, "probes/%s", name);
    if (strchr(name, '/') || strlen(name) > 200 || !st_h5doc_exists(f, g)) { rc = st_seterr(&p->err, STRATA_ERR_NOTFOUND, "%s: no probe '%s'", path, name); goto done; }
    kind = st_h5doc_get_str(f, g, "kind");
    p->kind = !kind ? -1 : !strcmp(kind, "logistic") ? STRATA_PROBE_LOGISTIC : !strcmp(kind, "ridge") ? STRATA_PROBE_RIDGE : !strcmp(kind, "diffmean") ? STRATA_PROBE_DIFFMEAN : -1;
    if (p->kind < 0) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: probe '%s': unknown kind", path, name); goto done; }
    int64_t ntr = 0;
    st_h5doc_get_num(f, g, "C", ST_H5_F64, &p->C); st_h5doc_get_num(f, g, "alpha", ST_H5_F64, &p->alpha);
    st_h5doc_get_num(f, g, "n_train", ST_H5_I64, &ntr); p->n_train = ntr;
    st_h5doc_get_num(f, g, "n_iter", ST_H5_I32, &p->n_iter); st_h5doc_get_num(f, g, "converged", ST_H5_I32, &p->converged);
    st_h5doc_get_num(f, g, "standardized", ST_H5_I32, &p->standardized);
    st_h5doc_get_num(f, g, "n_constant_features", ST_H5_I32, &p->n_const);
    if (st_h5doc_get_num(f, g, "n_classes", ST_H5_I32, &p->n_classes)) p->n_classes = -1;
    int64_t dims[4] = { 0, 0, 1, 1 };
    snprintf(ds, sizeof ds, "%s/coef", g);
    if (st_h5doc_dims(f, ds, dims) != 2) dims[0] = dims[1] = 0;
    p->n_out = (int32_t)dims[0]; p->d = dims[1];
    int K = p->n_classes;
    int ok_k = p->kind == STRATA_PROBE_RIDGE ? K == 0 && p->n_out == 1 : K >= 2 && p->n_out == (K == 2 ? 1 : K);
    if (p->n_out < 1 || p->d < 1 || dims[0] > INT32_MAX || !ok_k) { rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: probe '%s': coef shape [%lld][%lld] does not fit n_classes %d", path, name, (long long)dims[0], (long long)dims[1], K); goto done; }
    p->coef = malloc(sizeof(float) * (size_t)(dims[0] * dims[1])); p->intercept = malloc(sizeof(float) * (size_t)dims[0]);
    p->mean = malloc(sizeof(double) * (size_t)dims[1]); p->scale = malloc(sizeof(double) * (size_t)dims[1]);
    if (K) p->classes = malloc(sizeof(double) * (size_t)K);
    if (!p->coef || !p->intercept || !p->mean || !p->scale || (K && !p->classes)) { rc = st_seterr(&p->err, STRATA_ERR_NOMEM, "out of memory"); goto done; }
#define GET(nm, type, count, data) \
    (snprintf(ds, sizeof ds, "%s/%s", g, nm), st_h5doc_read(f, ds, type, count, data))
    if (GET("coef", ST_H5_F32, dims[0] * dims[1], p->coef) ||
        GET("intercept", ST_H5_F32, dims[0], p->intercept) ||
        (K && GET("classes", ST_H5_F64, K, p->classes)) ||
        GET("mean", ST_H5_F64, dims[1], p->mean) ||
        GET("scale", ST_H5_F64, dims[1], p->scale)) {
        rc = st_seterr(&p->err, STRATA_ERR_FORMAT, "%s: probe '%s': a dataset is missing or has the wrong size", path, name);
        free(p->coef); p->coef = NULL;
        goto done;
    }
#undef GET
done:
    free(fmt); free(nm); free(kind);
    st_h5doc_close(f);
    return rc;
}
