/* io/safetensors_write.c — see safetensors_write.h. */
#include "io/safetensors_write.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int st_safetensors_write(const char *path, const st_sft_out *t, int n, st_err *err)
{
    json_t *h = json_object();
    if (!h) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format", "pt"));
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *shape = json_array();
        uint64_t cnt = 1;
        for (int k = 0; k < t[i].ndim; k++) {
            json_array_append_new(shape, json_integer(t[i].shape[k]));
            cnt *= (uint64_t)t[i].shape[k];
        }
        json_t *e = json_pack("{s:s,s:o,s:[I,I]}", "dtype", "F32", "shape", shape, "data_offsets",
                              (json_int_t)off, (json_int_t)(off + 4 * cnt));
        json_object_set_new(h, t[i].name, e);
        off += 4 * cnt;
    }
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    if (!hs) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    size_t hl = strlen(hs), padded = (hl + 7) / 8 * 8;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hs);
        return st_seterr(err, STRATA_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hs, 1, hl, f) == hl;
    for (size_t i = hl; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    free(hs);
    for (int i = 0; ok && i < n; i++) {
        size_t cnt = 1;
        for (int k = 0; k < t[i].ndim; k++) cnt *= (size_t)t[i].shape[k];
        ok = fwrite(t[i].data, sizeof(float), cnt, f) == cnt;
    }
    if (ok) ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (fclose(f) != 0 && ok) { ok = 0; e = errno; }
    if (!ok) return st_seterr(err, STRATA_ERR_IO, "%s: write failed: %s", path, strerror(e));
    return STRATA_OK;
}
