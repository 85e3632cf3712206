/* cli/sweep_weights.c — the `weights` measure of `strata sweep`: the L2 norm
 * sqrt(sum over every tensor of model.safetensors of sum x^2) of a model
 * directory's weights (F32 tensors; sums in double).  The file is read
 * defensively: header length within the file, offsets inside the data
 * region and consistent with dtype and shape. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

int sw_weight_norm(const char *dir, double *norm)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "strata sweep: weights: %s: cannot open (sharded or GGUF models are not supported by this measure)\n", path);
        return -1;
    }
    int rc = -1;
    unsigned char b8[8];
    char *hdr = NULL;
    float *buf = NULL;
    json_t *h = NULL;
    if (fseek(f, 0, SEEK_END) != 0) goto bad;
    long fsize = ftell(f);
    rewind(f);
    if (fsize < 8 || fread(b8, 1, 8, f) != 8) goto bad;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b8[i];
    if (n > (uint64_t)fsize - 8 || n > (100u << 20)) goto bad;
    hdr = malloc(n + 1);
    if (!hdr || fread(hdr, 1, n, f) != n) goto bad;
    hdr[n] = 0;
    h = json_loadb(hdr, n, 0, NULL);
    if (!json_is_object(h)) goto bad;
    const uint64_t data0 = 8 + n, dsize = (uint64_t)fsize - data0;
    double ss = 0;
    const char *key;
    json_t *t;
    json_object_foreach(h, key, t) {
        if (!strcmp(key, "__metadata__")) continue;
        json_t *dt = json_object_get(t, "dtype"), *off = json_object_get(t, "data_offsets");
        if (!json_is_string(dt) || !json_is_array(off) || json_array_size(off) != 2) goto bad;
        json_int_t a = json_integer_value(json_array_get(off, 0)), e = json_integer_value(json_array_get(off, 1));
        if (a < 0 || e < a || (uint64_t)e > dsize || (e - a) % 4) goto bad;
        if (strcmp(json_string_value(dt), "F32")) {
            fprintf(stderr, "strata sweep: weights: %s: tensor %s is %s (only F32 is summed)\n", path, key, json_string_value(dt));
            goto out;
        }
        size_t cnt = (size_t)(e - a) / 4;
        float *nb = realloc(buf, cnt ? cnt * 4 : 4);
        if (!nb) goto bad;
        buf = nb;
        if (fseek(f, (long)(data0 + (uint64_t)a), SEEK_SET) != 0 || fread(buf, 4, cnt, f) != cnt) goto bad;
        for (size_t i = 0; i < cnt; i++) ss += (double)buf[i] * buf[i];
    }
    *norm = sqrt(ss);
    rc = 0;
    goto out;
bad:
    fprintf(stderr, "strata sweep: weights: %s: malformed safetensors file\n", path);
out:
    json_decref(h);
    free(hdr);
    free(buf);
    fclose(f);
    return rc;
}
