/* tests/fuzz/fuzz_util.c — scratch files for the harnesses (see fuzz_util.h). */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void cleanup(void)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

const char *fz_dir(void)
{
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/strata-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) { perror("mkdtemp"); abort(); }
        atexit(cleanup);
    }
    return dir;
}

const char *fz_write(int slot, const char *name, const uint8_t *data, size_t n)
{
    static char paths[4][512];
    char *p = paths[slot & 3];
    snprintf(p, 512, "%s/%s", fz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) return NULL;
    if (n && fwrite(data, 1, n, f) != n) { fclose(f); return NULL; }
    fclose(f);
    return p;
}

void fz_split(const uint8_t *data, size_t n, const uint8_t **a, size_t *na, const uint8_t **b,
              size_t *nb)
{
    const uint8_t *s = n >= 4 ? memmem(data, n, "\n--\n", 4) : NULL;
    *a = data;
    *na = s ? (size_t)(s - data) : n;
    *b = s ? s + 4 : data + n;
    *nb = s ? n - *na - 4 : 0;
}

const char *fz_shared(const char *rel)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", STRATA_SHARED_DIR, rel);
    return p;
}
