/* tests/testutil.c — see testutil.h. */
#include "testutil.h"

#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5store.h" /* ST_H5_F16 */
#include "util/half.h"

const char *tu_shared_path(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("STRATA_SHARED_DIR");
    if (!root) root = STRATA_SHARED_DIR;
    snprintf(buf, sizeof buf, "%s/%s", root, rel);
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "SKIP: %s not present\n", buf);
        return NULL;
    }
    return buf;
}

static char tmpdir_buf[512];

static void rm_tmpdir(void)
{
    if (!tmpdir_buf[0]) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_buf);
    if (system(cmd) != 0) { /* best effort */ }
}

const char *tu_tmpdir(void)
{
    if (!tmpdir_buf[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir_buf, sizeof tmpdir_buf, "%s/strata-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir_buf)) { tmpdir_buf[0] = 0; return "/tmp"; }
        atexit(rm_tmpdir);
    }
    return tmpdir_buf;
}

const char *tu_tmpfile(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", tu_tmpdir(), name);
    return buf;
}

double tu_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

int tu_check_close(const char *label, const float *got, const float *want, size_t n, double tol)
{
    double m = tu_max_abs_diff(got, want, n);
    if (m <= tol) return 1;
    size_t worst = 0;
    double wd = -1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (isnan(d) || d > wd) { wd = isnan(d) ? INFINITY : d; worst = i; }
    }
    fprintf(stderr, "%s: max abs diff %.3g > tol %.3g at index %zu (got %.7g want %.7g)\n",
            label, m, tol, worst, got[worst], want[worst]);
    fprintf(stderr, "  first values got:");
    for (size_t i = 0; i < n && i < 6; i++) fprintf(stderr, " %.6g", got[i]);
    fprintf(stderr, "\n  first values want:");
    for (size_t i = 0; i < n && i < 6; i++) fprintf(stderr, " %.6g", want[i]);
    fprintf(stderr, "\n");
    return 0;
}

int tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

char *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!b) { fclose(f); return NULL; }
    size_t got = fread(b, 1, (size_t)len, f);
    fclose(f);
    b[got] = 0;
    if (n) *n = got;
    return b;
}

int tu_same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* Activation-file writer (see testutil.h). */
static void put_str_attr(hid_t obj, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(a >= 0 && H5Awrite(a, t, &v) >= 0);
    H5Aclose(a); H5Sclose(sp); H5Tclose(t);
}

void tu_write_acts(const char *path, int nh, const char *const *names, const int64_t *width,
                   const float *const *X, int64_t n, int dtype, int64_t batch)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot create %s", path);
    put_str_attr(f, "format", "strata-activations");
    put_str_attr(f, "format_version", "1.0");
    {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        hsize_t nn = (hsize_t)nh;
        hid_t sp = H5Screate_simple(1, &nn, NULL);
        hid_t a = H5Acreate2(f, "hooks", t, sp, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(a >= 0 && H5Awrite(a, t, names) >= 0);
        H5Aclose(a); H5Sclose(sp); H5Tclose(t);
        sp = H5Screate(H5S_SCALAR);
        a = H5Acreate2(f, "n_rows", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT64, &n);
        H5Aclose(a); H5Sclose(sp);
    }
    hsize_t nr = (hsize_t)n;
    int64_t *rows = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int32_t *tok = calloc((size_t)(n ? n : 1), sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) rows[i] = i;
    hid_t sp = H5Screate_simple(1, &nr, NULL);
    hid_t ds = H5Dcreate2(f, "rows", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
    H5Dclose(ds);
    ds = H5Dcreate2(f, "tokens", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, tok);
    H5Dclose(ds);
    H5Sclose(sp);
    free(rows); free(tok);
    hid_t g = H5Gcreate2(f, "acts", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t f16 = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(f16, 15, 10, 5, 0, 10);
    H5Tset_precision(f16, 16);
    H5Tset_size(f16, 2);
    H5Tset_ebias(f16, 15);
    for (int h = 0; h < nh; h++) {
        hsize_t dims[2] = { (hsize_t)n, (hsize_t)width[h] };
        hsize_t chunk[2] = { (hsize_t)(batch < n ? batch : n), (hsize_t)width[h] };
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 2, chunk);
        sp = H5Screate_simple(2, dims, NULL);
        hid_t ft = dtype == ST_H5_F16 ? f16 : H5T_IEEE_F32LE;
        ds = H5Dcreate2(g, names[h], ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        ck_assert(ds >= 0);
        if (dtype == ST_H5_F16) {
            uint16_t *hv = malloc(sizeof(uint16_t) * (size_t)(n * width[h]));
            for (int64_t i = 0; i < n * width[h]; i++) hv[i] = st_f32_to_f16(X[h][i]);
            ck_assert(H5Dwrite(ds, f16, H5S_ALL, H5S_ALL, H5P_DEFAULT, hv) >= 0);
            free(hv);
        } else {
            ck_assert(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, X[h]) >= 0);
        }
        H5Dclose(ds); H5Sclose(sp); H5Pclose(dcpl);
    }
    H5Tclose(f16);
    H5Gclose(g);
    ck_assert(H5Fclose(f) >= 0);
}
