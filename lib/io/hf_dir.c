/* io/hf_dir.c — see hf_dir.h. */
#include "io/hf_dir.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/json_util.h"
#include "model/arch.h"
#include "io/safetensors.h"
#include "util/half.h"

/* ---------------- config.json ---------------- */

/* Per-architecture parsers live in the family's descriptor (model/arch.h). */

int st_hf_config(const char *dir, strata_config *cfg, st_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *j;
    ST_TRY(st_json_load_file(path, &j, err));
    const char *mt;
    int rc = st_json_str(j, "model_type", path, 1, NULL, &mt, err);
    if (!rc) {
        memset(cfg, 0, sizeof *cfg);
        cfg->bos_token_id = cfg->eos_token_id = -1;
        int64_t v;
        if (!st_json_int(j, "bos_token_id", path, 0, -1, &v, NULL)) cfg->bos_token_id = (int32_t)v;
        if (!st_json_int(j, "eos_token_id", path, 0, -1, &v, NULL)) cfg->eos_token_id = (int32_t)v;
        size_t dl = strlen(dir);
        /* name: last non-empty path component ("stories260K/hf" -> "hf" is
         * unhelpful, so keep the last two components) */
        const char *start = dir;
        int slashes = 0;
        for (const char *p = dir + dl; p > dir; p--)
            if (p[-1] == '/' && p < dir + dl && ++slashes == 2) { start = p; break; }
        snprintf(cfg->name, sizeof cfg->name, "%s", start);
        size_t nl = strlen(cfg->name);
        while (nl > 0 && cfg->name[nl - 1] == '/') cfg->name[--nl] = 0;
        const st_arch *arch = st_arch_by_hf_type(mt);
        if (arch) {
            rc = arch->config_hf(j, path, cfg, err);
        } else {
            char list[256];
            st_arch_list(0, list, sizeof list);
            rc = st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: model_type '%s' is not supported (supported: %s)",
                           path, mt, list);
        }
    }
    if (!rc) {
        const strata_config *c = cfg;
        if (c->d_model <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
            c->d_head <= 0 || c->d_mlp <= 0 || c->vocab_size <= 0 || c->n_ctx <= 0 ||
            c->n_heads % c->n_kv_heads != 0 || c->d_model > (1 << 20) || c->n_layers > 4096 ||
            c->vocab_size > (1 << 24) || c->n_heads > 4096 || c->d_mlp > (1 << 22) ||
            c->d_head > 4096 || c->n_ctx > (1 << 24))
            rc = st_seterr(err, STRATA_ERR_FORMAT,
                           "%s: inconsistent dimensions (d_model %d, layers %d, heads %d, kv heads %d, "
                           "d_head %d, d_mlp %d, vocab %d, n_ctx %d)", path, c->d_model, c->n_layers,
                           c->n_heads, c->n_kv_heads, c->d_head, c->d_mlp, c->vocab_size, c->n_ctx);
    }
    json_decref(j);
    return rc;
}

/* ---------------- weights ---------------- */

typedef struct hf_src {
    st_safetensors *shards;
    int n_shards;
    void **owned;       /* converted buffers */
    int n_owned, cap_owned;
} hf_src;

static const st_sft_tensor *hf_find(hf_src *h, const char *name, const st_safetensors **file)
{
    for (int i = 0; i < h->n_shards; i++) {
        const st_sft_tensor *t = st_safetensors_find(&h->shards[i], name);
        if (t) { *file = &h->shards[i]; return t; }
    }
    return NULL;
}

static int hf_has(st_wsource *s, const char *name)
{
    const st_safetensors *f;
    return hf_find(s->ctx, name, &f) != NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t o = 0;
    o += snprintf(buf + o, n - o, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += snprintf(buf + o, n - o, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

/* The tensor `name`, checked against shape and for a weight dtype; marks it
 * used (the first time: counts its elements and, when `mapped_bytes`, that
 * many bytes as bound in place). */
static int hf_lookup(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                     const st_sft_tensor **out, int64_t mapped_bytes, st_err *err)
{
    hf_src *h = s->ctx;
    const st_safetensors *f;
    const st_sft_tensor *t = hf_find(h, name, &f);
    if (!t) return st_seterr(err, STRATA_ERR_NOTFOUND, "%s: missing tensor '%s'", s->path, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char a[128], b[128];
        shape_str(a, sizeof a, t->ndim, t->shape);
        shape_str(b, sizeof b, ndim, shape);
        return st_seterr(err, STRATA_ERR_FORMAT,
                         "%s: tensor '%s' has shape %s but config.json implies %s", f->path, name, a, b);
    }
    if (t->dtype == ST_DT_OTHER)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED,
                         "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16",
                         f->path, name, t->dtype_name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= (size_t)shape[i];
    if (!t->used) {
        s->used_elems += (int64_t)numel;
        s->bytes_mapped += mapped_bytes;
    }
    ((st_sft_tensor *)t)->used = 1;
    *out = t;
    return STRATA_OK;
}

static int hf_get(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                  const float **out, st_err *err)
{
    hf_src *h = s->ctx;
    const st_sft_tensor *t;
    ST_TRY(hf_lookup(s, name, ndim, shape, &t, 0, err));
    const int in_place = t->dtype == ST_DT_F32 && ((uintptr_t)t->data % sizeof(float)) == 0;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= (size_t)shape[i];
    if (in_place) {
        if (!t->counted) s->bytes_mapped += (int64_t)t->nbytes;
        ((st_sft_tensor *)t)->counted = 1;
        *out = (const float *)t->data;  /* zero-copy: points into the mmap */
        return STRATA_OK;
    }
    s->bytes_owned += (int64_t)(numel * sizeof(float));
    float *buf = malloc(numel ? numel * sizeof(float) : 1);
    if (!buf) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory converting '%s'", name);
    if (h->n_owned == h->cap_owned) {
        int nc = h->cap_owned ? 2 * h->cap_owned : 64;
        void **no = realloc(h->owned, sizeof *no * nc);
        if (!no) { free(buf); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
        h->owned = no;
        h->cap_owned = nc;
    }
    h->owned[h->n_owned++] = buf;
    const unsigned char *p = t->data;
    for (size_t i = 0; i < numel; i++) {
        uint16_t u16;
        switch (t->dtype) {
        case ST_DT_F32: memcpy(&buf[i], p + 4 * i, 4); break;
        case ST_DT_F16: memcpy(&u16, p + 2 * i, 2); buf[i] = st_f16_to_f32(u16); break;
        default: memcpy(&u16, p + 2 * i, 2); buf[i] = st_bf16_to_f32(u16); break;
        }
    }
    *out = buf;
    return STRATA_OK;
}

static int hf_check_unused(st_wsource *s, st_err *err)
{
    hf_src *h = s->ctx;
    char list[768];
    size_t at = 0;
    int64_t n_unknown = 0;
    const char *file = NULL;
    list[0] = 0;
    for (int i = 0; i < h->n_shards; i++)
        for (int64_t k = 0; k < h->shards[i].n_tensors; k++) {
            const st_sft_tensor *t = &h->shards[i].tensors[k];
            if (t->used || st_is_buffer_name(t->name)) continue;
            if (!n_unknown++) file = h->shards[i].path;
            if (n_unknown <= 8 && at + 8 < sizeof list)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", n_unknown > 1 ? ", " : "", t->name);
        }
    if (!n_unknown) return STRATA_OK;
    if (at >= sizeof list) at = sizeof list - 1;
    return st_seterr(err, STRATA_ERR_FORMAT,
                     "%s: %lld unknown tensor%s (not a weight of this architecture, nor a "
                     "causal-mask or rotary buffer): %s%s", n_unknown == 1 ? file : s->path,
                     (long long)n_unknown, n_unknown == 1 ? "" : "s", list, n_unknown > 8 ? ", ..." : "");
}

static int hf_get_stored(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                         const void **out, int *wtype, st_err *err)
{
    const st_sft_tensor *t;
    ST_TRY(hf_lookup(s, name, ndim, shape, &t, 0, err));
    if ((t->dtype == ST_DT_F16 || t->dtype == ST_DT_BF16) && ((uintptr_t)t->data % 2) == 0) {
        if (!t->counted) s->bytes_mapped += (int64_t)t->nbytes;
        ((st_sft_tensor *)t)->counted = 1;
        *out = t->data;   /* in the mapping, as stored */
        *wtype = t->dtype == ST_DT_F16 ? ST_WT_F16 : ST_WT_BF16;
        return STRATA_OK;
    }
    *wtype = ST_WT_F32;
    const float *f;
    ST_TRY(hf_get(s, name, ndim, shape, &f, err));
    *out = f;
    return STRATA_OK;
}

static int hf_in_mapping(st_wsource *s, const void *p, size_t n)
{
    const hf_src *h = s->ctx;
    const unsigned char *a = p;
    for (int i = 0; h && i < h->n_shards; i++) {
        const st_mmap *mm = &h->shards[i].mm;
        if (mm->data && a >= mm->data && n <= mm->size && (size_t)(a - mm->data) <= mm->size - n) return 1;
    }
    return 0;
}

static void hf_close(st_wsource *s)
{
    hf_src *h = s->ctx;
    if (!h) return;
    for (int i = 0; i < h->n_shards; i++) st_safetensors_close(&h->shards[i]);
    free(h->shards);
    for (int i = 0; i < h->n_owned; i++) free(h->owned[i]);
    free(h->owned);
    free(h);
    free((char *)s->path);
    s->ctx = NULL;
    s->path = NULL;
}

static int add_shard(hf_src *h, const char *path, st_err *err)
{
    st_safetensors *ns = realloc(h->shards, sizeof *ns * (h->n_shards + 1));
    if (!ns) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    h->shards = ns;
    ST_TRY(st_safetensors_open(&h->shards[h->n_shards], path, err));
    h->n_shards++;
    return STRATA_OK;
}

int st_hf_source_open(const char *dir, st_wsource *src, st_err *err)
{
    memset(src, 0, sizeof *src);
    hf_src *h = calloc(1, sizeof *h);
    if (!h) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    src->ctx = h;
    src->get = hf_get;
    src->has = hf_has;
    src->check_unused = hf_check_unused;
    src->get_stored = hf_get_stored;
    src->close = hf_close;
    src->in_mapping = hf_in_mapping;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc;
    if (access(path, F_OK) == 0) {
        src->path = strdup(path);
        rc = add_shard(h, path, err);
    } else {
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        src->path = strdup(path);
        json_t *j;
        rc = st_json_load_file(path, &j, err);
        if (rc == STRATA_ERR_IO)
            rc = st_seterr(err, STRATA_ERR_IO,
                           "%s: no model.safetensors or model.safetensors.index.json", dir);
        if (!rc) {
            json_t *wm = json_object_get(j, "weight_map");
            if (!json_is_object(wm)) rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'weight_map' missing or not an object", path);
            /* distinct shard file names, in order of first appearance */
            const char *key;
            json_t *val;
            char **seen = NULL;
            int n_seen = 0;
            if (!rc) json_object_foreach(wm, key, val) {
                if (!json_is_string(val)) { rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: weight_map['%s'] is not a file name", path, key); break; }
                const char *fn = json_string_value(val);
                if (strchr(fn, '/') || !strcmp(fn, "..")) { rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: shard name '%s' must be a plain file name", path, fn); break; }
                int dup = 0;
                for (int i = 0; i < n_seen && !dup; i++) dup = !strcmp(seen[i], fn);
                if (dup) continue;
                char **ns = realloc(seen, sizeof *ns * (n_seen + 1));
                if (!ns) { rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); break; }
                seen = ns;
                seen[n_seen++] = (char *)fn;
                char sp[4096];
                snprintf(sp, sizeof sp, "%s/%s", dir, fn);
                if (access(sp, R_OK) != 0) {
                    rc = st_seterr(err, STRATA_ERR_IO, "%s: names shard '%s', which is missing", path, fn);
                    break;
                }
                rc = add_shard(h, sp, err);
                if (rc) break;
            }
            free(seen);
            if (!rc) json_object_foreach(wm, key, val) {
                const st_safetensors *f;
                if (!hf_find(h, key, &f)) {
                    rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: weight_map names '%s' in '%s', which does not hold it",
                                   path, key, json_string_value(val));
                    break;
                }
            }
            json_decref(j);
        }
    }
    if (!src->path) rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    if (rc) hf_close(src);
    return rc;
}
