/* io/safetensors.c — see safetensors.h. */
#include "io/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const st_sft_tensor *)a)->name, ((const st_sft_tensor *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const st_sft_tensor *x = *(const st_sft_tensor *const *)a, *y = *(const st_sft_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static int parse_dtype(const char *s, int *dt, int *size)
{
    if (!strcmp(s, "F32")) { *dt = ST_DT_F32; *size = 4; return 1; }
    if (!strcmp(s, "F16")) { *dt = ST_DT_F16; *size = 2; return 1; }
    if (!strcmp(s, "BF16")) { *dt = ST_DT_BF16; *size = 2; return 1; }
    static const struct { const char *name; int size; } other[] = {
        {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2},
        {"U16", 2}, {"I32", 4}, {"U32", 4}, {"F64", 8}, {"I64", 8}, {"U64", 8}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (!strcmp(s, other[i].name)) { *dt = ST_DT_OTHER; *size = other[i].size; return 1; }
    return 0;
}

void st_safetensors_close(st_safetensors *f)
{
    if (!f) return;
    for (int64_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    st_mmap_close(&f->mm);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int st_safetensors_open(st_safetensors *f, const char *path, st_err *err)
{
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    int rc = st_mmap_open(&f->mm, path, err);
    if (rc) { st_safetensors_close(f); return rc; }
    const unsigned char *p = f->mm.data;
    size_t size = f->mm.size;
    if (size < 8) {
        st_safetensors_close(f);
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: truncated: %zu bytes, no header length", path, size);
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > size - 8) {
        st_safetensors_close(f);
        return st_seterr(err, STRATA_ERR_FORMAT,
                         "%s: header length %llu runs past the end of the file (%zu bytes)",
                         path, (unsigned long long)hlen, size);
    }
    const unsigned char *data0 = p + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen, 0, &jerr);
    if (!root || !json_is_object(root)) {
        if (root) json_decref(root);
        st_safetensors_close(f);
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: header is not a JSON object: %s", path,
                         jerr.text);
    }
    size_t n = json_object_size(root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors) { json_decref(root); st_safetensors_close(f); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
    const char *key;
    json_t *val;
    rc = STRATA_OK;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) continue;
        st_sft_tensor *t = &f->tensors[f->n_tensors];
        json_t *jdt = json_object_get(val, "dtype"), *jsh = json_object_get(val, "shape"),
               *jof = json_object_get(val, "data_offsets");
        if (!json_is_object(val) || !json_is_string(jdt) || !json_is_array(jsh) ||
            !json_is_array(jof) || json_array_size(jof) != 2) {
            rc = st_seterr(err, STRATA_ERR_FORMAT,
                           "%s: tensor '%s': header entry needs dtype, shape and data_offsets[2]", path, key);
            break;
        }
        int esize;
        if (!parse_dtype(json_string_value(jdt), &t->dtype, &esize)) {
            rc = st_seterr(err, STRATA_ERR_UNSUPPORTED,
                           "%s: tensor '%s': unknown dtype '%s'",
                           path, key, json_string_value(jdt));
            break;
        }
        size_t nd = json_array_size(jsh);
        if (nd > 8) {
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor '%s': %zu dimensions (max 8)", path, key, nd);
            break;
        }
        t->ndim = (int32_t)nd;
        uint64_t numel = 1;
        int bad = 0;
        for (size_t i = 0; i < nd; i++) {
            json_t *d = json_array_get(jsh, i);
            if (!json_is_integer(d) || json_integer_value(d) < 0) { bad = 1; break; }
            t->shape[i] = json_integer_value(d);
            if (t->shape[i] && numel > UINT64_MAX / 16 / (uint64_t)t->shape[i]) { bad = 1; break; }
            numel *= (uint64_t)t->shape[i];
        }
        json_t *jb = json_array_get(jof, 0), *je = json_array_get(jof, 1);
        if (bad || !json_is_integer(jb) || !json_is_integer(je)) {
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor '%s': shape or data_offsets not non-negative integers", path, key);
            break;
        }
        json_int_t b = json_integer_value(jb), e = json_integer_value(je);
        if (b < 0 || e < b || (uint64_t)e > data_size) {
            rc = st_seterr(err, STRATA_ERR_FORMAT,
                           "%s: tensor '%s': data_offsets [%lld, %lld] out of range (data region is %llu bytes)",
                           path, key, (long long)b, (long long)e, (unsigned long long)data_size);
            break;
        }
        if ((uint64_t)(e - b) != numel * (uint64_t)esize) {
            rc = st_seterr(err, STRATA_ERR_FORMAT,
                           "%s: tensor '%s': shape x dtype is %llu bytes but data_offsets span %lld bytes",
                           path, key, (unsigned long long)(numel * esize), (long long)(e - b));
            break;
        }
        snprintf(t->dtype_name, sizeof t->dtype_name, "%s", json_string_value(jdt));
        t->name = strdup(key);
        if (!t->name) { rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); break; }
        t->data = data0 + b;
        t->nbytes = (uint64_t)(e - b);
        f->n_tensors++;
    }
    json_decref(root);
    if (rc == STRATA_OK && f->n_tensors > 1) {
        /* overlap check: sort by start offset */
        st_sft_tensor **by_off = malloc(sizeof *by_off * f->n_tensors);
        if (!by_off) rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        else {
            for (int64_t i = 0; i < f->n_tensors; i++) by_off[i] = &f->tensors[i];
            qsort(by_off, f->n_tensors, sizeof *by_off, cmp_tensor_offset);
            for (int64_t i = 1; i < f->n_tensors; i++) {
                if (by_off[i - 1]->nbytes && by_off[i - 1]->data + by_off[i - 1]->nbytes > by_off[i]->data) {
                    rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap",
                                   path, by_off[i - 1]->name, by_off[i]->name);
                    break;
                }
            }
            free(by_off);
        }
    }
    if (rc) { st_safetensors_close(f); return rc; }
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, cmp_tensor_name);
    return STRATA_OK;
}

const st_sft_tensor *st_safetensors_find(const st_safetensors *f, const char *name)
{
    int64_t lo = 0, hi = f->n_tensors - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(f->tensors[mid].name, name);
        if (!c) return &f->tensors[mid];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}
