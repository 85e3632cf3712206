/* io/h5util.c — see h5util.h. */
#include "io/h5util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void st_h5_quiet_begin(st_h5_quiet *q)
{
    q->saved = 0;
    const char *d = getenv("STRATA_HDF5_DEBUG");
    if (d && *d && *d != '0') return;
    if (H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data) < 0) return;
    q->saved = 1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void st_h5_quiet_end(const st_h5_quiet *q)
{
    if (q->saved) H5Eset_auto2(H5E_DEFAULT, q->fn, q->data);
}

/* ------------------------------------------------------------------ */
/* types and attributes (the one copy every HDF5 file of strata uses)   */

hid_t st_h5_vstr_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* h5py's bool: enum int8 {FALSE=0, TRUE=1}. */
hid_t st_h5_bool_type(void)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t v = 0;
    H5Tenum_insert(t, "FALSE", &v);
    v = 1;
    H5Tenum_insert(t, "TRUE", &v);
    return t;
}

static hid_t attr_open_or_create(hid_t obj, const char *name, hid_t type, hid_t space)
{
    if (H5Aexists(obj, name) > 0) {
        /* Recreate when type class differs (keeps the attribute well-typed). */
        return H5Aopen(obj, name, H5P_DEFAULT);
    }
    return H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
}

int st_h5_attr_put_str(hid_t obj, const char *name, const char *val)
{
    hid_t t = st_h5_vstr_type(), s = H5Screate(H5S_SCALAR);
    hid_t a = attr_open_or_create(obj, name, t, s);
    int rc = (a >= 0 && H5Awrite(a, t, &val) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return rc;
}

int st_h5_attr_put_fixed_str(hid_t obj, const char *name, const char *val)
{
    size_t n = strlen(val) ? strlen(val) : 1;
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    if (H5Aexists(obj, name) > 0) {
        a = H5Aopen(obj, name, H5P_DEFAULT);
        hid_t ft = a >= 0 ? H5Aget_type(a) : -1;
        int same = ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) <= 0 &&
                   H5Tget_size(ft) == n;
        if (ft >= 0) H5Tclose(ft);
        if (!same) {
            /* another type or length (a file of an older writer): replaced once */
            if (a >= 0) H5Aclose(a);
            a = H5Adelete(obj, name) < 0 ? -1 : H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
        }
    } else {
        a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    }
    char *buf = calloc(n, 1);
    if (buf) memcpy(buf, val, strlen(val));
    int rc = (a >= 0 && buf && H5Awrite(a, t, buf) >= 0) ? 0 : -1;
    free(buf);
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return rc;
}

int st_h5_attr_put_i64(hid_t obj, const char *name, int64_t v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = attr_open_or_create(obj, name, H5T_STD_I64LE, s);
    int rc = (a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

int st_h5_attr_put_bool(hid_t obj, const char *name, int v)
{
    hid_t t = st_h5_bool_type(), s = H5Screate(H5S_SCALAR);
    hid_t a = attr_open_or_create(obj, name, t, s);
    int8_t b = v ? 1 : 0;
    int rc = (a >= 0 && H5Awrite(a, t, &b) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return rc;
}

int st_h5_attr_put_strs(hid_t obj, const char *name, const char *const *v, int n)
{
    hid_t t = st_h5_vstr_type();
    hsize_t d = (hsize_t)n;
    hid_t s = n > 0 ? H5Screate_simple(1, &d, NULL) : H5Screate(H5S_NULL);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && (n == 0 || H5Awrite(a, t, v) >= 0)) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return rc;
}

/* Reads a string attribute (vlen or fixed) into a malloc'd string; NULL if absent. */
char *st_h5_attr_get_str(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t ft = H5Aget_type(a);
    char *out = NULL;
    if (H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            /* Read with the file's character set: HDF5 will not convert
             * ASCII <-> UTF-8, and h5py writes numpy str attributes as ASCII
             * or UTF-8 depending on content. */
            hid_t mt = st_h5_vstr_type();
            H5Tset_cset(mt, H5Tget_cset(ft));
            char *p = NULL;
            if (H5Aread(a, mt, &p) >= 0 && p) {
                out = strdup(p);
                H5free_memory(p);
            }
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(ft);
            out = calloc(n + 1, 1);
            if (out && H5Aread(a, ft, out) < 0) { free(out); out = NULL; }
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    return out;
}

int st_h5_attr_get_i64(hid_t obj, const char *name, int64_t *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    int rc = H5Aread(a, H5T_NATIVE_INT64, v) >= 0 ? 0 : -1;
    H5Aclose(a);
    return rc;
}

int st_h5_attr_get_bool(hid_t obj, const char *name, int *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (H5Tget_class(ft) == H5T_ENUM || H5Tget_class(ft) == H5T_INTEGER) {
        int8_t b = 0;
        hid_t mt = H5Tget_class(ft) == H5T_ENUM ? st_h5_bool_type() : H5Tcopy(H5T_NATIVE_INT8);
        if (H5Aread(a, mt, &b) >= 0) { *v = b != 0; rc = 0; }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* Reads a 1-D string-array attribute; returns count (>= 0) or -1 if absent. */
int st_h5_attr_get_strs(hid_t obj, const char *name, char ***out)
{
    *out = NULL;
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t s = H5Aget_space(a);
    int n = -1;
    if (H5Sget_simple_extent_type(s) == H5S_NULL) {
        n = 0;
    } else if (H5Sget_simple_extent_ndims(s) == 1) {
        hsize_t d;
        H5Sget_simple_extent_dims(s, &d, NULL);
        char **v = calloc(d ? d : 1, sizeof *v);
        hid_t mt = st_h5_vstr_type();
        if (v && H5Aread(a, mt, v) >= 0) {
            n = (int)d;
            for (int i = 0; i < n; i++) {
                char *c = strdup(v[i] ? v[i] : "");
                if (v[i]) H5free_memory(v[i]);
                v[i] = c;
            }
            *out = v;
        } else {
            free(v);
        }
        H5Tclose(mt);
    }
    H5Sclose(s);
    H5Aclose(a);
    return n;
}


int st_h5_attr_put_num(hid_t obj, const char *name, hid_t mem_type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = attr_open_or_create(obj, name, mem_type, s);
    int rc = (a >= 0 && H5Awrite(a, mem_type, v) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return rc;
}

int st_h5_attr_get_num(hid_t obj, const char *name, hid_t mem_type, void *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    int rc = H5Aread(a, mem_type, v) >= 0 ? 0 : -1;
    H5Aclose(a);
    return rc;
}
