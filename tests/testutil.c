/* tests/testutil.c — see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
