/* io/h5doc.c — see h5doc.h. */
#include "io/h5doc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5util.h"
#include "util/half.h"

struct st_h5doc {
    hid_t file;
    char *path;
    st_err *err;
};

/* every call: HDF5 quiet, restored on return */
#define QUIET_BEGIN st_h5_quiet q_; st_h5_quiet_begin(&q_)
#define QUIET_RETURN(v) do { __typeof__(v) r_ = (v); st_h5_quiet_end(&q_); return r_; } while (0)

static const char *rel(const char *p) { return !p || !*p || !strcmp(p, "/") ? "." : p; }

static hid_t mem_type(int type)
{
    switch (type) {
    case ST_H5_I32: return H5T_NATIVE_INT32;
    case ST_H5_I64: return H5T_NATIVE_INT64;
    case ST_H5_F32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
    }
}

static hid_t file_type(int type)
{
    switch (type) {
    case ST_H5_I32: return H5T_STD_I32LE;
    case ST_H5_I64: return H5T_STD_I64LE;
    case ST_H5_F32: return H5T_IEEE_F32LE;
    default: return H5T_IEEE_F64LE;
    }
}

int st_h5doc_open(const char *path, int mode, st_h5doc **out, st_err *err)
{
    *out = NULL;
    if (!path) return st_seterr(err, STRATA_ERR_ARG, "no path given");
    QUIET_BEGIN;
    st_h5doc *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        QUIET_RETURN(st_seterr(err, STRATA_ERR_NOMEM, "out of memory"));
    }
    d->err = err;
    const int exists = access(path, F_OK) == 0;
    if (mode == ST_H5DOC_CREATE && !exists)
        d->file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    else
        d->file = H5Fopen(path, mode == ST_H5DOC_READ ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
    if (d->file < 0) {
        int rc = !exists && mode != ST_H5DOC_CREATE
                     ? st_seterr(err, STRATA_ERR_IO, "%s: cannot read", path)
                 : mode == ST_H5DOC_READ
                     ? st_seterr(err, STRATA_ERR_FORMAT, "%s: not an HDF5 file", path)
                     : st_seterr(err, STRATA_ERR_IO,
                                 "%s: cannot open for writing (missing, read-only, not HDF5, locked, "
                                 "or still open through a reader in this process)", path);
        free(d->path);
        free(d);
        QUIET_RETURN(rc);
    }
    *out = d;
    QUIET_RETURN(STRATA_OK);
}

int st_h5doc_close(st_h5doc *d)
{
    if (!d) return STRATA_OK;
    QUIET_BEGIN;
    int rc = H5Fclose(d->file) < 0 ? st_seterr(d->err, STRATA_ERR_IO, "%s: close failed", d->path) : 0;
    free(d->path);
    free(d);
    QUIET_RETURN(rc);
}

/* 1 if every component of path exists */
static int link_exists(hid_t f, const char *path)
{
    if (!strcmp(rel(path), ".")) return 1;
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf) return 0;
    memcpy(buf, path, n + 1);
    for (char *p = buf; ; p++) {   /* H5Lexists needs each parent to exist */
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (*buf && H5Lexists(f, buf, H5P_DEFAULT) <= 0) return 0;
            if (!c) return 1;
            *p = c;
        }
    }
}

int st_h5doc_exists(st_h5doc *d, const char *path)
{
    QUIET_BEGIN;
    QUIET_RETURN(link_exists(d->file, path));
}

int st_h5doc_group(st_h5doc *d, const char *path)
{
    QUIET_BEGIN;
    if (link_exists(d->file, path)) QUIET_RETURN(0);
    hid_t g = H5Gcreate2(d->file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) QUIET_RETURN(st_seterr(d->err, STRATA_ERR_IO, "%s: cannot create group /%s", d->path, path));
    H5Gclose(g);
    QUIET_RETURN(0);
}

int st_h5doc_delete(st_h5doc *d, const char *path)
{
    QUIET_BEGIN;
    if (!link_exists(d->file, path)) QUIET_RETURN(0);
    if (H5Ldelete(d->file, path, H5P_DEFAULT) < 0)
        QUIET_RETURN(st_seterr(d->err, STRATA_ERR_IO, "%s: cannot remove /%s", d->path, path));
    QUIET_RETURN(0);
}

typedef struct { int n; char *first; } kids;

static herr_t count_child(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    kids *k = ud;
    if (k->n++ == 0) k->first = strdup(name);
    return 0;
}

int st_h5doc_children(st_h5doc *d, const char *group, char **first)
{
    QUIET_BEGIN;
    if (first) *first = NULL;
    if (!link_exists(d->file, group)) QUIET_RETURN(-1);
    hid_t g = H5Gopen2(d->file, rel(group), H5P_DEFAULT);
    if (g < 0) QUIET_RETURN(-1);
    kids k = { 0, NULL };
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, count_child, &k);
    H5Gclose(g);
    if (first) *first = k.first;
    else free(k.first);
    QUIET_RETURN(k.n);
}

static hid_t open_obj(st_h5doc *d, const char *obj)
{
    if (!link_exists(d->file, obj)) return -1;
    return H5Oopen(d->file, rel(obj), H5P_DEFAULT);
}

int st_h5doc_put_str(st_h5doc *d, const char *obj, const char *name, const char *val)
{
    QUIET_BEGIN;
    hid_t o = open_obj(d, obj);
    int rc = o >= 0 ? st_h5_attr_put_str(o, name, val) : -1;
    if (o >= 0) H5Oclose(o);
    if (rc < 0) rc = st_seterr(d->err, STRATA_ERR_IO, "%s: cannot write attribute %s of /%s", d->path, name, obj);
    QUIET_RETURN(rc);
}

int st_h5doc_put_num(st_h5doc *d, const char *obj, const char *name, int type, const void *v)
{
    QUIET_BEGIN;
    hid_t o = open_obj(d, obj);
    int rc = o >= 0 ? st_h5_attr_put_num(o, name, mem_type(type), v) : -1;
    if (o >= 0) H5Oclose(o);
    if (rc < 0) rc = st_seterr(d->err, STRATA_ERR_IO, "%s: cannot write attribute %s of /%s", d->path, name, obj);
    QUIET_RETURN(rc);
}

char *st_h5doc_get_str(st_h5doc *d, const char *obj, const char *name)
{
    QUIET_BEGIN;
    hid_t o = open_obj(d, obj);
    char *s = o >= 0 ? st_h5_attr_get_str(o, name) : NULL;
    if (o >= 0) H5Oclose(o);
    QUIET_RETURN(s);
}

int st_h5doc_get_num(st_h5doc *d, const char *obj, const char *name, int type, void *v)
{
    QUIET_BEGIN;
    hid_t o = open_obj(d, obj);
    int rc = o >= 0 ? st_h5_attr_get_num(o, name, mem_type(type), v) : -1;
    if (o >= 0) H5Oclose(o);
    QUIET_RETURN(rc);
}

int st_h5doc_write(st_h5doc *d, const char *path, int type, int rank, const int64_t *dims,
                   const void *data)
{
    if (rank < 1 || rank > 4) return st_seterr(d->err, STRATA_ERR_ARG, "dataset rank %d", rank);
    QUIET_BEGIN;
    hsize_t hd[4];
    for (int i = 0; i < rank; i++) hd[i] = (hsize_t)dims[i];
    hid_t s = H5Screate_simple(rank, hd, NULL);
    hid_t ds = H5Dcreate2(d->file, path, file_type(type), s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = ds >= 0 && H5Dwrite(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(s);
    if (rc < 0) rc = st_seterr(d->err, STRATA_ERR_IO, "%s: cannot write /%s", d->path, path);
    QUIET_RETURN(rc);
}

/* the dataset at path, its rank and dims (<= 8 axes), or -1 */
static hid_t open_ds(st_h5doc *d, const char *path, int *rank, hsize_t dims[8])
{
    if (!link_exists(d->file, path)) return -1;
    hid_t ds = H5Dopen2(d->file, path, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t s = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(s);
    if (r < 0 || r > 8) r = -1;
    else H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    if (r < 0) { H5Dclose(ds); return -1; }
    *rank = r;
    return ds;
}

int st_h5doc_dims(st_h5doc *d, const char *path, int64_t dims[4])
{
    QUIET_BEGIN;
    int r;
    hsize_t hd[8];
    hid_t ds = open_ds(d, path, &r, hd);
    if (ds < 0) QUIET_RETURN(-1);
    H5Dclose(ds);
    if (r > 4) QUIET_RETURN(-1);
    for (int i = 0; i < 4; i++) dims[i] = i < r ? (int64_t)hd[i] : 1;
    QUIET_RETURN(r);
}

int st_h5doc_read(st_h5doc *d, const char *path, int type, int64_t count, void *data)
{
    QUIET_BEGIN;
    int r;
    hsize_t hd[8];
    hid_t ds = open_ds(d, path, &r, hd);
    if (ds < 0) QUIET_RETURN(-1);
    int64_t n = 1;
    for (int i = 0; i < r; i++) n *= (int64_t)hd[i];
    int rc = n == count && H5Dread(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    H5Dclose(ds);
    QUIET_RETURN(rc);
}

int st_h5doc_read_rows_f32(st_h5doc *d, const char *path, int64_t row0, int64_t n, float *out)
{
    QUIET_BEGIN;
    int r;
    hsize_t dims[8];
    hid_t ds = open_ds(d, path, &r, dims);
    if (ds < 0) QUIET_RETURN(st_seterr(d->err, STRATA_ERR_NOTFOUND, "%s: no dataset /%s", d->path, path));
    hid_t ft = H5Dget_type(ds);
    const int is_float = H5Tget_class(ft) == H5T_FLOAT, f16 = is_float && H5Tget_size(ft) == 2;
    int rc = STRATA_OK;
    if (!is_float || r < 1 || row0 < 0 || n < 0 || (hsize_t)(row0 + n) > dims[0]) {
        rc = st_seterr(d->err, STRATA_ERR_RANGE, "%s: rows [%lld, %lld) of /%s: not a float dataset "
                       "with that many rows", d->path, (long long)row0, (long long)(row0 + n), path);
    } else if (n > 0) {
        hid_t fs = H5Dget_space(ds);
        hsize_t start[8] = { 0 }, count[8];
        int64_t w = 1;
        for (int i = 0; i < r; i++) {
            count[i] = dims[i];
            if (i) w *= (int64_t)dims[i];
        }
        start[0] = (hsize_t)row0;
        count[0] = (hsize_t)n;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        /* memory space of the selection's own shape: whole-row copies (with a
         * 1-D memory space HDF5 iterates element by element, ~40x slower) */
        hid_t ms = H5Screate_simple(r, count, NULL);
        herr_t e = H5Dread(ds, f16 ? ft : H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
        if (e >= 0 && f16) {   /* halves at the front of out, widened back to front */
            const uint16_t *h = (const uint16_t *)out;
            for (int64_t i = n * w - 1; i >= 0; i--) out[i] = st_f16_to_f32(h[i]);
        }
        H5Sclose(ms);
        H5Sclose(fs);
        if (e < 0)
            rc = st_seterr(d->err, STRATA_ERR_IO, "%s: read of /%s rows [%lld, %lld) failed", d->path,
                           path, (long long)row0, (long long)(row0 + n));
    }
    H5Tclose(ft);
    H5Dclose(ds);
    QUIET_RETURN(rc);
}

int st_h5doc_create_rows_f32(st_h5doc *d, const char *path, int64_t rows, int64_t width)
{
    QUIET_BEGIN;
    hsize_t dims[2] = { (hsize_t)rows, (hsize_t)width };
    hsize_t chunk[2] = { (hsize_t)(262144 / width > 0 ? 262144 / width : 1), (hsize_t)width };
    if (chunk[0] > (hsize_t)rows) chunk[0] = rows > 0 ? (hsize_t)rows : 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(d->file, path, H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(s);
    if (ds < 0) QUIET_RETURN(st_seterr(d->err, STRATA_ERR_IO, "%s: cannot create /%s", d->path, path));
    H5Dclose(ds);
    QUIET_RETURN(0);
}

int st_h5doc_write_rows_f32(st_h5doc *d, const char *path, int64_t row0, int64_t n, const float *data)
{
    QUIET_BEGIN;
    int r;
    hsize_t dims[8];
    hid_t ds = open_ds(d, path, &r, dims);
    if (ds < 0 || r != 2 || row0 < 0 || (hsize_t)(row0 + n) > dims[0]) {
        if (ds >= 0) H5Dclose(ds);
        QUIET_RETURN(st_seterr(d->err, STRATA_ERR_RANGE, "%s: rows [%lld, %lld) outside /%s", d->path,
                               (long long)row0, (long long)(row0 + n), path));
    }
    hid_t fs = H5Dget_space(ds);
    hsize_t start[2] = { (hsize_t)row0, 0 }, count[2] = { (hsize_t)n, dims[1] };
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(2, count, NULL);
    herr_t e = H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, data);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    QUIET_RETURN(e < 0 ? st_seterr(d->err, STRATA_ERR_IO, "%s: write of /%s failed", d->path, path) : 0);
}
