/* io/gguf_source.c — see gguf_source.h. */
#include "io/gguf_source.h"
#include "model/arch.h"
#include "model/model_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { XF_NONE = ST_GGUF_XF_NONE, XF_TRANSPOSE = ST_GGUF_XF_TRANSPOSE, XF_NEOX_QKV = ST_GGUF_XF_NEOX_QKV };

/* One converted tensor, owned by the source. */
typedef struct st_gsrc_buf {
    char *gguf_name;           /* the cache key: one buffer per GGUF tensor */
    float *data;
    int32_t ndim;
    int64_t shape[ST_GGUF_MAX_DIMS];
} st_gsrc_buf;

typedef struct st_gsrc {
    st_gguf *g;
    int32_t arch;              /* strata_arch */
    int32_t n_heads;           /* for the NeoX qkv regrouping */
    st_gsrc_buf *bufs;
    int64_t n_bufs, cap_bufs;
    uint8_t *used;             /* [n_tensors]: taken by a get() */
} st_gsrc;

/* ------------------------------------------------------------------ */
/* names                                                               */

int st_gguf_hf_to_gguf_name(int arch, const char *hf_name, char *gguf_name, size_t cap, int *xform)
{
    const st_arch *A = st_arch_by_id(arch);
    if (!A || !A->gguf_layer) return -1;
    const st_gguf_name *layer = A->gguf_layer, *global = A->gguf_global;
    const char *lprefix = A->hf_layer_prefix;
    const char *name = hf_name;
    if (A->hf_optional_prefix && !strncmp(name, A->hf_optional_prefix, strlen(A->hf_optional_prefix)))
        name += strlen(A->hf_optional_prefix);
    /* split "<module>.<param>" with param weight or bias */
    const char *dot = strrchr(name, '.');
    if (!dot) return -1;
    const char *param = dot + 1;
    int is_bias;
    if (strcmp(param, "weight") == 0) is_bias = 0;
    else if (strcmp(param, "bias") == 0) is_bias = 1;
    else return -1;
    size_t mlen = (size_t)(dot - name);
    size_t plen = strlen(lprefix);
    int n;
    if (mlen > plen && strncmp(name, lprefix, plen) == 0) {
        /* "<lprefix>{i}.<module>" */
        const char *p = name + plen;
        char *end;
        if (*p < '0' || *p > '9') return -1;
        long li = strtol(p, &end, 10);
        if (*end != '.' || li < 0 || li > 1000000 || end >= dot) return -1;
        const char *mod = end + 1;
        size_t modlen = (size_t)(dot - mod);
        for (const st_gguf_name *e = layer; e->hf; e++) {
            if (strlen(e->hf) == modlen && strncmp(e->hf, mod, modlen) == 0) {
                n = snprintf(gguf_name, cap, "blk.%ld.%s.%s", li, e->gguf, param);
                if (n < 0 || (size_t)n >= cap) return -1;
                if (xform) *xform = is_bias ? e->xf_bias : e->xf_weight;
                return 0;
            }
        }
        return -1;
    }
    for (const st_gguf_name *e = global; e->hf; e++) {
        if (strlen(e->hf) == mlen && strncmp(e->hf, name, mlen) == 0) {
            n = snprintf(gguf_name, cap, "%s.%s", e->gguf, param);
            if (n < 0 || (size_t)n >= cap) return -1;
            if (xform) *xform = is_bias ? e->xf_bias : e->xf_weight;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* the source                                                          */

static const char *arch_key(int arch)
{
    const st_arch *A = st_arch_by_id(arch);
    return A && A->gguf_arch ? A->gguf_arch : "?";
}

static void fmt_dims(char *buf, size_t cap, const int64_t *d, int n, int reverse)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && at + 24 < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%" PRId64, i ? ", " : "", d[reverse ? n - 1 - i : i]);
}

static int gsrc_has(st_wsource *s, const char *name)
{
    st_gsrc *c = s->ctx;
    char gname[256];
    if (!c || st_gguf_hf_to_gguf_name(c->arch, name, gname, sizeof gname, NULL) != 0) return 0;
    return st_gguf_find_tensor(c->g, gname) >= 0;
}

/* HF per-head order of a fused NeoX qkv from GGUF's [q | k | v] blocks.
 * rows = 3*d rows of `cols` floats (cols = d for the weight, 1 for the bias):
 *   GGUF row c*d + h*dh + j  ->  HF row h*3*dh + c*dh + j   (c = 0 q, 1 k, 2 v) */
static void neox_qkv_to_hf(const float *src, float *dst, int64_t d, int64_t n_heads, int64_t cols)
{
    int64_t dh = d / n_heads;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t h = 0; h < n_heads; h++)
            for (int64_t j = 0; j < dh; j++)
                memcpy(dst + (h * 3 * dh + c * dh + j) * cols, src + (c * d + h * dh + j) * cols,
                       (size_t)cols * sizeof(float));
}

static int gsrc_get(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                    const float **out, st_err *err)
{
    st_gsrc *c = s->ctx;
    if (!c) return st_seterr(err, STRATA_ERR_STATE, "GGUF source is closed");
    if (ndim < 1 || ndim > ST_GGUF_MAX_DIMS)
        return st_seterr(err, STRATA_ERR_ARG, "%s: tensor '%s' requested with %d dimensions", s->path,
                         name, ndim);
    char want[96];
    fmt_dims(want, sizeof want, shape, ndim, 0);

    char gname[256];
    int xf = XF_NONE;
    if (st_gguf_hf_to_gguf_name(c->arch, name, gname, sizeof gname, &xf) != 0)
        return st_seterr(err, STRATA_ERR_NOTFOUND,
                         "%s: no GGUF tensor corresponds to '%s' (architecture %s)", s->path, name,
                         arch_key(c->arch));
    int64_t ti = st_gguf_find_tensor(c->g, gname);
    if (ti >= 0 && c->used && !c->used[ti]) {
        c->used[ti] = 1;
        s->used_elems += st_gguf_tensor_at(c->g, ti)->n_elem;
    }
    /* converted before (under this or another HF spelling)? */
    for (int64_t i = 0; i < c->n_bufs; i++) {
        const st_gsrc_buf *b = &c->bufs[i];
        if (strcmp(b->gguf_name, gname) != 0) continue;
        if (b->ndim != ndim || memcmp(b->shape, shape, (size_t)ndim * sizeof *shape) != 0)
            return st_seterr(err, STRATA_ERR_FORMAT,
                             "%s: tensor '%s' requested as [%s] after another shape (for '%s')",
                             s->path, name, want, gname);
        *out = b->data;
        return STRATA_OK;
    }
    if (ti < 0)
        return st_seterr(err, STRATA_ERR_NOTFOUND, "%s: tensor '%s' (for '%s') not found", s->path,
                         gname, name);
    const st_gguf_tensor *t = st_gguf_tensor_at(c->g, ti);

    /* expected ne (fastest first): the HF shape reversed, or as is for a
     * transposed Conv1D weight ([in][out] in HF, ne = {in, out} in GGUF) */
    int64_t ne[ST_GGUF_MAX_DIMS] = {1, 1, 1, 1};
    if (xf == XF_TRANSPOSE) {
        if (ndim != 2)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor '%s' requested as [%s], expected 2-D",
                             s->path, name, want);
        ne[0] = shape[0];
        ne[1] = shape[1];
    } else {
        for (int i = 0; i < ndim; i++) ne[i] = shape[ndim - 1 - i];
    }
    if (memcmp(ne, t->ne, sizeof ne) != 0) {
        char got[96], gotsh[96];
        fmt_dims(got, sizeof got, t->ne, (int)t->n_dims, 0);
        fmt_dims(gotsh, sizeof gotsh, t->ne, (int)t->n_dims, 1);
        return st_seterr(err, STRATA_ERR_FORMAT,
                         "%s: tensor '%s' has ne {%s} (row-major [%s]), which does not give '%s' "
                         "shape [%s]", s->path, gname, got, gotsh, name, want);
    }

    /* F32 in place: a pointer into the mapping */
    if (t->type == ST_GGML_TYPE_F32 && xf == XF_NONE && ((uintptr_t)t->data % sizeof(float)) == 0) {
        if (!(c->used[ti] & 2)) s->bytes_mapped += 4 * t->n_elem;
        c->used[ti] |= 2;
        *out = t->data;
        return STRATA_OK;
    }

    if (!st_ggml_type_supported(t->type))
        return st_seterr(err, STRATA_ERR_UNSUPPORTED,
                         "%s: tensor '%s' (for '%s') has type %s, which strata cannot convert "
                         "(supported: F32, F16, BF16, Q8_0, Q4_0)", s->path, gname, name,
                         st_ggml_type_name(t->type));
    if ((uint64_t)t->n_elem > SIZE_MAX / sizeof(float) / 2)
        return st_seterr(err, STRATA_ERR_NOMEM, "%s: tensor '%s' is too large", s->path, gname);
    if (c->n_bufs == c->cap_bufs) {
        int64_t nc = c->cap_bufs ? 2 * c->cap_bufs : 64;
        st_gsrc_buf *nb = realloc(c->bufs, (size_t)nc * sizeof *nb);
        if (!nb) return st_seterr(err, STRATA_ERR_NOMEM, "%s: out of memory", s->path);
        c->bufs = nb;
        c->cap_bufs = nc;
    }
    size_t n = (size_t)t->n_elem;
    float *data = malloc(n ? n * sizeof(float) : 1);
    char *key = strdup(gname);
    float *tmp = NULL;
    int rc = STRATA_OK;
    if (!data || !key) { rc = st_seterr(err, STRATA_ERR_NOMEM, "%s: out of memory", s->path); goto fail; }
    if (xf == XF_NONE) {
        rc = st_gguf_tensor_to_f32(c->g, ti, data);
    } else {
        tmp = malloc(n ? n * sizeof(float) : 1);
        if (!tmp) { rc = st_seterr(err, STRATA_ERR_NOMEM, "%s: out of memory", s->path); goto fail; }
        rc = st_gguf_tensor_to_f32(c->g, ti, tmp);
        if (rc == STRATA_OK && xf == XF_TRANSPOSE) {
            /* GGUF memory [out][in] (ne = {in, out}) -> HF Conv1D [in][out] */
            int64_t in = t->ne[0], o = t->ne[1];
            for (int64_t r = 0; r < o; r++)
                for (int64_t k = 0; k < in; k++) data[k * o + r] = tmp[r * in + k];
        } else if (rc == STRATA_OK) {
            /* NeoX qkv: weight ne = {d, 3d}, bias ne = {3d} */
            int64_t rows = ndim == 2 ? t->ne[1] : t->ne[0], cols = ndim == 2 ? t->ne[0] : 1;
            int64_t d = rows / 3;
            if (rows % 3 != 0 || c->n_heads <= 0 || d % c->n_heads != 0) {
                rc = st_seterr(err, STRATA_ERR_FORMAT,
                               "%s: tensor '%s' has %" PRId64 " rows, not 3 x %d heads x d_head",
                               s->path, gname, rows, c->n_heads);
                goto fail;
            }
            neox_qkv_to_hf(tmp, data, d, c->n_heads, cols);
        }
    }
    if (rc != STRATA_OK) {
        st_seterr(err, rc, "%s", st_gguf_errmsg(c->g));
        goto fail;
    }
    free(tmp);
    s->bytes_owned += (int64_t)(n * sizeof(float));
    st_gsrc_buf *b = &c->bufs[c->n_bufs++];
    b->gguf_name = key;
    b->data = data;
    b->ndim = ndim;
    memset(b->shape, 0, sizeof b->shape);
    memcpy(b->shape, shape, (size_t)ndim * sizeof *shape);
    *out = data;
    return STRATA_OK;
fail:
    free(tmp);
    free(data);
    free(key);
    return rc;
}

/* F16, BF16 and Q8_0 matrices that need no layout change stay as stored
 * (pointer into the mapping); anything else goes through gsrc_get. */
static int gsrc_get_stored(st_wsource *s, const char *name, int ndim, const int64_t *shape,
                           const void **out, int *wtype, st_err *err)
{
    st_gsrc *c = s->ctx;
    char gname[256];
    int xf = XF_NONE;
    int64_t ti = -1;
    if (c && ndim == 2 && st_gguf_hf_to_gguf_name(c->arch, name, gname, sizeof gname, &xf) == 0 &&
        xf == XF_NONE)
        ti = st_gguf_find_tensor(c->g, gname);
    const st_gguf_tensor *t = ti >= 0 ? st_gguf_tensor_at(c->g, ti) : NULL;
    int wt = !t ? -1 : t->type == ST_GGML_TYPE_F16 ? ST_WT_F16 : t->type == ST_GGML_TYPE_BF16 ? ST_WT_BF16
             : t->type == ST_GGML_TYPE_Q8_0 && t->ne[0] % 32 == 0 ? ST_WT_Q8_0 : -1;
    if (wt >= 0 && t->n_dims == 2 && t->ne[0] == shape[1] && t->ne[1] == shape[0]) {
        if (!c->used[ti]) s->used_elems += t->n_elem;
        if (!(c->used[ti] & 2)) s->bytes_mapped += st_wt_bytes(wt, t->n_elem);
        c->used[ti] |= 3;
        *out = t->data;
        *wtype = wt;
        return STRATA_OK;
    }
    *wtype = ST_WT_F32;
    const float *f;
    ST_TRY(gsrc_get(s, name, ndim, shape, &f, err));
    *out = f;
    return STRATA_OK;
}

static int gsrc_check_unused(st_wsource *s, st_err *err)
{
    st_gsrc *c = s->ctx;
    char list[768];
    size_t at = 0;
    int64_t n_unknown = 0;
    list[0] = 0;
    for (int64_t i = 0; i < st_gguf_n_tensors(c->g); i++) {
        if (c->used[i]) continue;
        const char *name = st_gguf_tensor_at(c->g, i)->name;
        if (++n_unknown <= 8 && at + 8 < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", n_unknown > 1 ? ", " : "", name);
    }
    if (!n_unknown) return STRATA_OK;
    return st_seterr(err, STRATA_ERR_FORMAT,
                     "%s: %" PRId64 " unknown tensor%s (not a weight of architecture %s): %s%s", s->path,
                     n_unknown, n_unknown == 1 ? "" : "s", arch_key(c->arch), list,
                     n_unknown > 8 ? ", ..." : "");
}

static int gsrc_in_mapping(st_wsource *s, const void *p, size_t n)
{
    const st_gsrc *G = s->ctx;
    return G && st_gguf_in_mapping(G->g, p, n);
}

static void gsrc_close(st_wsource *s)
{
    st_gsrc *c = s->ctx;
    if (!c) return;
    free(c->used);
    for (int64_t i = 0; i < c->n_bufs; i++) {
        free(c->bufs[i].gguf_name);
        free(c->bufs[i].data);
    }
    free(c->bufs);
    st_gguf_free(c->g);
    free(c);
    s->ctx = NULL;
    s->path = "";
}

st_gguf *st_gguf_source_gguf(const st_wsource *src)
{
    if (!src || src->close != gsrc_close || !src->ctx) return NULL;
    return ((st_gsrc *)src->ctx)->g;
}

/* ------------------------------------------------------------------ */
/* configuration                                                       */

/* Integer "{arch}.{suffix}" in [lo, hi]; absent: error naming the key when
 * required, else *out = def. */
static int key_int(st_gguf *g, const char *arch, const char *suffix, int required, int64_t def,
                   int64_t lo, int64_t hi, int64_t *out, st_err *err)
{
    char key[160];
    snprintf(key, sizeof key, "%s%s%s", arch ? arch : "", arch ? "." : "", suffix);
    int64_t id = st_gguf_find_key(g, key);
    if (id < 0) {
        if (required)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: required metadata key '%s' is missing",
                             st_gguf_path(g), key);
        *out = def;
        return STRATA_OK;
    }
    int64_t v;
    int rc = st_gguf_get_int(g, id, &v);
    if (rc) return st_seterr(err, rc, "%s", st_gguf_errmsg(g));
    if (v < lo || v > hi)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: metadata key '%s' = %" PRId64
                         " is out of range [%" PRId64 ", %" PRId64 "]", st_gguf_path(g), key, v, lo, hi);
    *out = v;
    return STRATA_OK;
}

static int key_float(st_gguf *g, const char *arch, const char *suffix, int required, double def,
                     double *out, st_err *err)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t id = st_gguf_find_key(g, key);
    if (id < 0) {
        if (required)
            return st_seterr(err, STRATA_ERR_FORMAT, "%s: required metadata key '%s' is missing",
                             st_gguf_path(g), key);
        *out = def;
        return STRATA_OK;
    }
    int rc = st_gguf_get_float(g, id, out);
    if (rc) return st_seterr(err, rc, "%s", st_gguf_errmsg(g));
    if (!(*out == *out))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: metadata key '%s' is NaN", st_gguf_path(g), key);
    return STRATA_OK;
}

/* general.architecture (borrowed from g), or NULL */
static const char *gguf_arch(st_gguf *g)
{
    const char *arch = NULL;
    int64_t aid = st_gguf_find_key(g, "general.architecture");
    if (aid < 0 || st_gguf_get_str(g, aid, &arch, NULL) != STRATA_OK) return NULL;
    return arch;
}

int st_gguf_cfg_int(st_gguf *g, const char *suffix, int required, int64_t def, int64_t lo,
                    int64_t hi, int64_t *out, st_err *err)
{
    return key_int(g, gguf_arch(g), suffix, required, def, lo, hi, out, err);
}

int st_gguf_cfg_float(st_gguf *g, const char *suffix, int required, double def, double *out,
                      st_err *err)
{
    return key_float(g, gguf_arch(g), suffix, required, def, out, err);
}

int st_gguf_cfg_bool(st_gguf *g, const char *suffix, int def, int *out, st_err *err)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", gguf_arch(g), suffix);
    int64_t id = st_gguf_find_key(g, key);
    *out = def;
    int rc;
    if (id >= 0 && (rc = st_gguf_get_bool(g, id, out)) != STRATA_OK)
        return st_seterr(err, rc, "%s", st_gguf_errmsg(g));
    return STRATA_OK;
}

int st_gguf_cfg_d_mlp(st_gguf *g, int64_t *F, st_err *err)
{
    char key[160];
    snprintf(key, sizeof key, "%s.feed_forward_length", gguf_arch(g));
    if (st_gguf_find_key(g, key) >= 0) return st_gguf_cfg_int(g, "feed_forward_length", 1, 0, 1, INT32_MAX, F, err);
    const st_gguf_tensor *up = st_gguf_tensor_at(g, st_gguf_find_tensor(g, "blk.0.ffn_up.weight"));
    if (!up)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: required metadata key '%s' is missing",
                         st_gguf_path(g), key);
    *F = up->ne[1];
    return STRATA_OK;
}

int st_gguf_cfg_refuse_rope_scaling(st_gguf *g, st_err *err)
{
    /* scaled rotary (linear, yarn, llama3 rope_freqs) would silently change
     * the model: refuse it */
    const char *path = st_gguf_path(g), *arch = gguf_arch(g);
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    int64_t sid = st_gguf_find_key(g, key);
    const char *stype = NULL;
    if (sid >= 0 && st_gguf_get_str(g, sid, &stype, NULL) == STRATA_OK && strcmp(stype, "none") != 0)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: %s = '%.32s': scaled rotary is not supported",
                         path, key, stype);
    double sl;
    ST_TRY(key_float(g, arch, "rope.scale_linear", 0, 1.0, &sl, err));
    if (sl != 1.0)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: %s.rope.scale_linear = %g: scaled rotary "
                         "is not supported", path, arch, sl);
    if (st_gguf_find_tensor(g, "rope_freqs.weight") >= 0)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: tensor 'rope_freqs.weight' (scaled rotary "
                         "frequencies) is not supported", path);
    return STRATA_OK;
}

/* general.* and the dimensions every family has; the family's config_gguf
 * reads the rest; then the vocabulary, tied head and special ids. */
static int fill_config(st_gguf *g, strata_config *cfg, st_err *err)
{
    const char *path = st_gguf_path(g);
    memset(cfg, 0, sizeof *cfg);

    int64_t aid = st_gguf_find_key(g, "general.architecture");
    if (aid < 0)
        return st_seterr(err, STRATA_ERR_FORMAT,
                         "%s: required metadata key 'general.architecture' is missing", path);
    const char *arch;
    int rc = st_gguf_get_str(g, aid, &arch, NULL);
    if (rc) return st_seterr(err, rc, "%s", st_gguf_errmsg(g));
    const st_arch *A = st_arch_by_gguf(arch);
    if (!A || !A->config_gguf) {
        char list[256];
        st_arch_list(1, list, sizeof list);
        return st_seterr(err, STRATA_ERR_UNSUPPORTED,
                         "%s: architecture '%.64s' is not supported (strata reads %s)", path, arch, list);
    }
    cfg->arch = A->id;

    /* name: general.name, else the file name */
    int64_t nid = st_gguf_find_key(g, "general.name");
    const char *name = NULL;
    if (nid >= 0 && st_gguf_kv_type(g, nid) == ST_GGUF_TYPE_STRING) st_gguf_get_str(g, nid, &name, NULL);
    if (!name || !*name) {
        const char *slash = strrchr(path, '/');
        name = slash ? slash + 1 : path;
    }
    snprintf(cfg->name, sizeof cfg->name, "%s", name);

    const int64_t BIG = INT32_MAX;
    int64_t d, L, H, T, V = 0;
    ST_TRY(key_int(g, arch, "embedding_length", 1, 0, 1, BIG, &d, err));
    ST_TRY(key_int(g, arch, "block_count", 1, 0, 1, BIG, &L, err));
    ST_TRY(key_int(g, arch, "context_length", 1, 0, 1, BIG, &T, err));
    ST_TRY(key_int(g, arch, "attention.head_count", 1, 0, 1, BIG, &H, err));
    /* the engine allocates per layer: bound the count by what the file can hold */
    if (L > st_gguf_n_tensors(g))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: %s.block_count %" PRId64
                         " is more than the file's %" PRId64 " tensors", path, arch, L,
                         st_gguf_n_tensors(g));
    cfg->d_model = (int32_t)d;
    cfg->n_layers = (int32_t)L;
    cfg->n_heads = (int32_t)H;
    cfg->n_ctx = (int32_t)T;
    ST_TRY(A->config_gguf(g, cfg, err));
    if (cfg->d_head < 1 || cfg->n_kv_heads < 1 || H % cfg->n_kv_heads != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: %" PRId64 " heads cannot be grouped over %d"
                         " key/value heads", path, H, cfg->n_kv_heads);
    if (!(cfg->norm_eps >= 0))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: negative norm epsilon %g", path, cfg->norm_eps);
    if (cfg->rotary_dim % 2 != 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: %s.rope.dimension_count %d is odd", path,
                         arch, cfg->rotary_dim);

    /* vocabulary size from the embedding (checked against {arch}.vocab_size) */
    const st_gguf_tensor *emb = st_gguf_tensor_at(g, st_gguf_find_tensor(g, "token_embd.weight"));
    if (!emb)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor 'token_embd.weight' is missing", path);
    if (emb->n_dims != 2 || emb->ne[0] != d || emb->ne[1] < 1 || emb->ne[1] > BIG)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor 'token_embd.weight' has ne {%" PRId64 ", %" PRId64
                         "}, expected {%" PRId64 ", vocab}", path, emb->ne[0], emb->ne[1], d);
    ST_TRY(key_int(g, arch, "vocab_size", 0, emb->ne[1], 1, BIG, &V, err));
    if (V != emb->ne[1])
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: %s.vocab_size %" PRId64
                         " differs from token_embd.weight's %" PRId64 " rows", path, arch, V, emb->ne[1]);

    /* sliding-window attention (llama.cpp writes it for Mistral-style
     * models): the family's config_gguf takes it into cfg->sliding_window;
     * refused where no family did (strata would ignore it) */
    int64_t win = 0;
    ST_TRY(key_int(g, arch, "attention.sliding_window", 0, 0, 0, BIG, &win, err));
    if (win > 0 && cfg->sliding_window != win)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: %s.attention.sliding_window is set; "
                         "sliding windows are not supported for %s", path, arch, arch);
    cfg->vocab_size = (int32_t)V;
    cfg->tied_embeddings = st_gguf_find_tensor(g, "output.weight") < 0;

    /* special ids: only generation uses them, so a missing, mistyped or
     * out-of-vocabulary id gives -1 (unknown) instead of refusing the model */
    const char *special[2] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"};
    int32_t *dst[2] = {&cfg->bos_token_id, &cfg->eos_token_id};
    for (int k = 0; k < 2; k++) {
        int64_t id = st_gguf_find_key(g, special[k]), v = -1;
        const st_gguf_value *val = st_gguf_kv(g, id);
        if (!val || st_gguf_val_int(val, &v) != STRATA_OK || v < 0 || v >= V) v = -1;
        *dst[k] = (int32_t)v;
    }
    return STRATA_OK;
}

int st_gguf_source_open(const char *path, st_wsource *src, strata_config *cfg, st_err *err)
{
    memset(src, 0, sizeof *src);
    src->path = "";
    src->close = gsrc_close;
    src->in_mapping = gsrc_in_mapping;
    st_gguf *g = NULL;
    int rc = st_gguf_open(path, &g);
    if (rc) {
        st_seterr(err, rc, "%s", st_gguf_errmsg(g));
        st_gguf_free(g);
        return rc;
    }
    rc = fill_config(g, cfg, err);
    if (rc) {
        st_gguf_free(g);
        return rc;
    }
    st_gsrc *c = calloc(1, sizeof *c);
    if (!c) {
        st_gguf_free(g);
        return st_seterr(err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    }
    c->used = calloc((size_t)st_gguf_n_tensors(g) + 1, 1);
    if (!c->used) {
        free(c);
        st_gguf_free(g);
        return st_seterr(err, STRATA_ERR_NOMEM, "%s: out of memory", path);
    }
    c->g = g;
    c->arch = cfg->arch;
    c->n_heads = cfg->n_heads;
    src->ctx = c;
    src->path = st_gguf_path(g);
    src->get = gsrc_get;
    src->has = gsrc_has;
    src->check_unused = gsrc_check_unused;
    src->get_stored = gsrc_get_stored;
    return STRATA_OK;
}
