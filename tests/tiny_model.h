/* tests/tiny_model.h — header-only helpers that write small Hugging Face model
 * directories for the hooks and loader suites (config.json + safetensors),
 * including deliberately broken ones.
 *
 * Defines: tm_rng / tm_normal() (seeded), tm_tensor (one safetensors entry),
 * tm_write_safetensors() (with header-length override and truncation),
 * tm_gpt2 (a random GPT-2: weights kept in memory for hand computations),
 * tm_gpt2_new(), tm_gpt2_free(), tm_gpt2_tensors(), tm_gpt2_config(),
 * tm_gpt2_write(), tm_layer_norm().
 *
 * Arrays are row-major, last index fastest; GPT-2 Conv1D weights are stored
 * [in][out] exactly as Hugging Face stores them.
 */
#ifndef STRATA_TESTS_TINY_MODEL_H
#define STRATA_TESTS_TINY_MODEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- seeded RNG (splitmix64 + Box-Muller) ---- */
typedef struct tm_rng { uint64_t s; } tm_rng;

static inline uint64_t tm_next(tm_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline double tm_uniform(tm_rng *r) { return ((tm_next(r) >> 11) + 0.5) / 9007199254740992.0; }

static inline float tm_normal(tm_rng *r)
{
    double u = tm_uniform(r), v = tm_uniform(r);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static inline float *tm_randn(tm_rng *r, size_t n, float mean, float std)
{
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) a[i] = mean + std * tm_normal(r);
    return a;
}

/* ---- safetensors writer ---- */
typedef struct tm_tensor {
    char name[128];
    const char *dtype;     /* "F32", "F16", "BF16", or anything (for bad-input tests) */
    int ndim;
    int64_t shape[4];
    const void *data;      /* nbytes of payload */
    size_t nbytes;
    int64_t off_b, off_e;  /* data_offsets; both -1: laid out one after another
                            * (the writer fills them in) */
} tm_tensor;

/* Writes `path`.  hlen_override != 0 replaces the header length field;
 * truncate_to != 0 cuts the file to that many bytes.  Returns 0 on success. */
static inline int tm_write_safetensors(const char *path, tm_tensor *ts, int n, uint64_t hlen_override,
                                       size_t truncate_to)
{
    size_t cap = 4096 + (size_t)n * 256, o = 0;
    char *h = malloc(cap);
    int64_t pos = 0, data_end;
    /* Tensors are laid out one after another; one with explicit offsets keeps
     * them (its natural slot stays unused).  The data region is the sum of
     * all payload sizes, so bad offsets point outside it or into others. */
    for (int i = 0; i < n; i++) {
        if (ts[i].off_b == -1 && ts[i].off_e == -1) { ts[i].off_b = pos; ts[i].off_e = pos + (int64_t)ts[i].nbytes; }
        pos += (int64_t)ts[i].nbytes;
    }
    data_end = pos;
    o += snprintf(h + o, cap - o, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        tm_tensor *t = &ts[i];
        o += snprintf(h + o, cap - o, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name, t->dtype);
        for (int k = 0; k < t->ndim; k++) o += snprintf(h + o, cap - o, k ? ",%lld" : "%lld", (long long)t->shape[k]);
        o += snprintf(h + o, cap - o, "],\"data_offsets\":[%lld,%lld]}", (long long)t->off_b, (long long)t->off_e);
    }
    o += snprintf(h + o, cap - o, "}");
    while (o % 8) h[o++] = ' ';  /* 8-byte aligned data region, as HF writes it */
    unsigned char *data = calloc(1, (size_t)data_end + 1);
    for (int i = 0; i < n; i++)   /* payload only where it fits (bad offsets are allowed) */
        if (ts[i].nbytes && ts[i].data && ts[i].off_b >= 0 && ts[i].off_b + (int64_t)ts[i].nbytes <= data_end)
            memcpy(data + ts[i].off_b, ts[i].data, ts[i].nbytes);
    uint64_t hl = hlen_override ? hlen_override : (uint64_t)o;
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)(hl >> (8 * k));
    size_t total = 8 + o + (size_t)data_end;
    unsigned char *file = malloc(total);
    memcpy(file, len8, 8);
    memcpy(file + 8, h, o);
    memcpy(file + 8 + o, data, (size_t)data_end);
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (f) {
        size_t w = truncate_to && truncate_to < total ? truncate_to : total;
        rc = fwrite(file, 1, w, f) == w ? 0 : -1;
        if (fclose(f) != 0) rc = -1;
    }
    free(file);
    free(data);
    free(h);
    return rc;
}

static inline int tm_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* ---- a random GPT-2 ---- */
typedef struct tm_gpt2 {
    int d, L, H, V, n_ctx, F;
    float *wte, *wpe;                 /* [V][d], [n_ctx][d] */
    float **ln1_w, **ln1_b, **ln2_w, **ln2_b;   /* [L] of [d] */
    float **attn_w, **attn_b;         /* [L] of [d][3d], [3d] */
    float **proj_w, **proj_b;         /* [L] of [d][d], [d] */
    float **fc_w, **fc_b;             /* [L] of [d][F], [F] */
    float **out_w, **out_b;           /* [L] of [F][d], [d] */
    float *lnf_w, *lnf_b;             /* [d] */
} tm_gpt2;

static inline tm_gpt2 *tm_gpt2_new(uint64_t seed, int d, int L, int H, int V, int n_ctx)
{
    tm_gpt2 *g = calloc(1, sizeof *g);
    tm_rng r = { seed };
    g->d = d; g->L = L; g->H = H; g->V = V; g->n_ctx = n_ctx; g->F = 4 * d;
    int F = g->F;
    g->wte = tm_randn(&r, (size_t)V * d, 0, 0.5f);
    g->wpe = tm_randn(&r, (size_t)n_ctx * d, 0, 0.2f);
    float ***arrs[] = { &g->ln1_w, &g->ln1_b, &g->ln2_w, &g->ln2_b, &g->attn_w, &g->attn_b,
                        &g->proj_w, &g->proj_b, &g->fc_w, &g->fc_b, &g->out_w, &g->out_b };
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++) *arrs[k] = calloc((size_t)L, sizeof(float *));
    for (int l = 0; l < L; l++) {
        g->ln1_w[l] = tm_randn(&r, d, 1, 0.1f);
        g->ln1_b[l] = tm_randn(&r, d, 0, 0.1f);
        g->attn_w[l] = tm_randn(&r, (size_t)d * 3 * d, 0, 0.2f);
        g->attn_b[l] = tm_randn(&r, 3 * (size_t)d, 0, 0.2f);
        g->proj_w[l] = tm_randn(&r, (size_t)d * d, 0, 0.2f);
        g->proj_b[l] = tm_randn(&r, d, 0, 0.2f);
        g->ln2_w[l] = tm_randn(&r, d, 1, 0.1f);
        g->ln2_b[l] = tm_randn(&r, d, 0, 0.1f);
        g->fc_w[l] = tm_randn(&r, (size_t)d * F, 0, 0.2f);
        g->fc_b[l] = tm_randn(&r, F, 0, 0.2f);
        g->out_w[l] = tm_randn(&r, (size_t)F * d, 0, 0.1f);
        g->out_b[l] = tm_randn(&r, d, 0, 0.2f);
    }
    g->lnf_w = tm_randn(&r, d, 1, 0.1f);
    g->lnf_b = tm_randn(&r, d, 0, 0.1f);
    return g;
}

static inline void tm_gpt2_free(tm_gpt2 *g)
{
    if (!g) return;
    float **arrs[] = { g->ln1_w, g->ln1_b, g->ln2_w, g->ln2_b, g->attn_w, g->attn_b,
                       g->proj_w, g->proj_b, g->fc_w, g->fc_b, g->out_w, g->out_b };
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++) {
        for (int l = 0; l < g->L; l++) free(arrs[k][l]);
        free(arrs[k]);
    }
    free(g->wte); free(g->wpe); free(g->lnf_w); free(g->lnf_b);
    free(g);
}

static inline void tm_set(tm_tensor *t, const char *name, const float *data, int ndim, int64_t s0, int64_t s1)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = "F32";
    t->ndim = ndim;
    t->shape[0] = s0;
    t->shape[1] = s1;
    t->data = data;
    t->nbytes = sizeof(float) * (size_t)s0 * (ndim > 1 ? (size_t)s1 : 1);
    t->off_b = t->off_e = -1;
}

/* Fills ts (room for 4 + 12 L entries) with the model's tensors (HF names,
 * no "transformer." prefix); returns the count. */
static inline int tm_gpt2_tensors(const tm_gpt2 *g, tm_tensor *ts)
{
    int n = 0, d = g->d, F = g->F;
    char nm[128];
    tm_set(&ts[n++], "wte.weight", g->wte, 2, g->V, d);
    tm_set(&ts[n++], "wpe.weight", g->wpe, 2, g->n_ctx, d);
    for (int l = 0; l < g->L; l++) {
#define TM_ADD(suffix, arr, nd, a, b) \
        snprintf(nm, sizeof nm, "h.%d.%s", l, suffix); tm_set(&ts[n++], nm, arr[l], nd, a, b)
        TM_ADD("ln_1.weight", g->ln1_w, 1, d, 0);
        TM_ADD("ln_1.bias", g->ln1_b, 1, d, 0);
        TM_ADD("attn.c_attn.weight", g->attn_w, 2, d, 3 * d);
        TM_ADD("attn.c_attn.bias", g->attn_b, 1, 3 * d, 0);
        TM_ADD("attn.c_proj.weight", g->proj_w, 2, d, d);
        TM_ADD("attn.c_proj.bias", g->proj_b, 1, d, 0);
        TM_ADD("ln_2.weight", g->ln2_w, 1, d, 0);
        TM_ADD("ln_2.bias", g->ln2_b, 1, d, 0);
        TM_ADD("mlp.c_fc.weight", g->fc_w, 2, d, F);
        TM_ADD("mlp.c_fc.bias", g->fc_b, 1, F, 0);
        TM_ADD("mlp.c_proj.weight", g->out_w, 2, F, d);
        TM_ADD("mlp.c_proj.bias", g->out_b, 1, d, 0);
#undef TM_ADD
    }
    tm_set(&ts[n++], "ln_f.weight", g->lnf_w, 1, d, 0);
    tm_set(&ts[n++], "ln_f.bias", g->lnf_b, 1, d, 0);
    return n;
}

/* config.json text; `omit` (may be NULL) drops that field, `extra` (may be
 * NULL) is appended verbatim (e.g. ",\"n_embd\":64" to override). */
static inline void tm_gpt2_config(const tm_gpt2 *g, const char *model_type, const char *omit,
                                  char *buf, size_t n)
{
    struct { const char *k; long long v; } f[] = {
        { "n_embd", g->d }, { "n_layer", g->L }, { "n_head", g->H },
        { "vocab_size", g->V }, { "n_positions", g->n_ctx },
    };
    size_t o = snprintf(buf, n, "{\"model_type\":\"%s\",\"layer_norm_epsilon\":1e-5,"
                        "\"activation_function\":\"gelu_new\"", model_type);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!omit || strcmp(omit, f[i].k)) o += snprintf(buf + o, n - o, ",\"%s\":%lld", f[i].k, f[i].v);
    snprintf(buf + o, n - o, "}");
}

/* Writes dir/config.json and dir/model.safetensors; returns 0 on success. */
static inline int tm_gpt2_write(const tm_gpt2 *g, const char *dir)
{
    char path[4096], cfg[1024];
    mkdir(dir, 0755);
    tm_gpt2_config(g, "gpt2", NULL, cfg, sizeof cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (tm_write_text(path, cfg)) return -1;
    tm_tensor *ts = calloc(4 + 12 * (size_t)g->L, sizeof *ts);
    int n = tm_gpt2_tensors(g, ts);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = tm_write_safetensors(path, ts, n, 0, 0);
    free(ts);
    return rc;
}

/* y[d] = LayerNorm(x[d]) * w + b, eps 1e-5, in double. */
static inline void tm_layer_norm(const double *x, const float *w, const float *b, int d, double *y)
{
    double mu = 0, var = 0;
    for (int j = 0; j < d; j++) mu += x[j];
    mu /= d;
    for (int j = 0; j < d; j++) var += (x[j] - mu) * (x[j] - mu);
    var /= d;
    double inv = 1.0 / sqrt(var + 1e-5);
    for (int j = 0; j < d; j++) y[j] = (x[j] - mu) * inv * w[j] + b[j];
}

#endif
