/* train/gpt.c — the trainable GPT-2: parameter table, initialisation, the
 * activation arena, and the forward and backward passes built from the
 * layer kernels (tr_*.c).
 *
 * Block l (pre-LayerNorm), x [N][d] the residual stream:
 *   a   = attn(ln_1(x)) . W_O + b_O          qkv = ln_1(x) . W_qkv + b_qkv  [N][3d]
 *   x'  = x + a                               (res_mid)
 *   x'' = x' + gelu_new(ln_2(x') . W_fc + b_fc) . W_proj + b_proj   (res_out; absent when attn_only)
 * Input x_0 = wte[tok] + wpe[pos]; output logits = ln_f(x_L) . wte^T (tied).
 * Loss: mean over positions with a target of -log softmax(logits)[target].
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "strata/model.h"
#include "train/train_internal.h"

/* ---------------- parameter table ---------------- */

static void add_tensor(tr_model *m, const char *name, int ndim, int64_t s0, int64_t s1, int decay)
{
    tr_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = s0;
    t->shape[1] = ndim == 2 ? s1 : 1;
    t->n = s0 * t->shape[1];
    t->off = m->n_params;
    t->decay = decay;
    m->n_params += t->n;
}

int tr_model_init(tr_model *m, const tr_dims *dims, st_err *err)
{
    memset(m, 0, sizeof *m);
    m->dims = *dims;
    const int L = dims->n_layer, d = dims->d_model, F = dims->d_mlp;
    m->tensors = calloc((size_t)(4 + 12 * L), sizeof *m->tensors);
    m->w.layer = calloc((size_t)L, sizeof(tr_layer_w));
    m->g.layer = calloc((size_t)L, sizeof(tr_layer_w));
    if (!m->tensors || !m->w.layer || !m->g.layer) goto nomem;
    char nm[TR_NAME_MAX];
    add_tensor(m, "wte.weight", 2, dims->vocab, d, 1);
    add_tensor(m, "wpe.weight", 2, dims->n_ctx, d, 1);
    for (int l = 0; l < L; l++) {
#define T2(suffix, a, b) snprintf(nm, sizeof nm, "h.%d." suffix, l), add_tensor(m, nm, 2, a, b, 1)
#define T1(suffix, a) snprintf(nm, sizeof nm, "h.%d." suffix, l), add_tensor(m, nm, 1, a, 1, 0)
        T1("ln_1.weight", d);
        T1("ln_1.bias", d);
        T2("attn.c_attn.weight", d, 3 * d);
        T1("attn.c_attn.bias", 3 * d);
        T2("attn.c_proj.weight", d, d);
        T1("attn.c_proj.bias", d);
        if (!dims->attn_only) {
            T1("ln_2.weight", d);
            T1("ln_2.bias", d);
            T2("mlp.c_fc.weight", d, F);
            T1("mlp.c_fc.bias", F);
            T2("mlp.c_proj.weight", F, d);
            T1("mlp.c_proj.bias", d);
        }
#undef T1
#undef T2
    }
    add_tensor(m, "ln_f.weight", 1, d, 1, 0);
    add_tensor(m, "ln_f.bias", 1, d, 1, 0);
    const size_t bytes = sizeof(float) * (size_t)m->n_params;
    m->params = calloc(1, bytes);
    m->grads = calloc(1, bytes);
    m->adam_m = calloc(1, bytes);
    m->adam_v = calloc(1, bytes);
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v) goto nomem;
    tr_model_point(m, m->params, &m->w);
    tr_model_point(m, m->grads, &m->g);
    return STRATA_OK;
nomem:
    tr_model_free(m);
    return st_seterr(err, STRATA_ERR_NOMEM, "out of memory for the model's parameters");
}

void tr_model_free(tr_model *m)
{
    free(m->tensors);
    free(m->w.layer);
    free(m->g.layer);
    free(m->params);
    free(m->grads);
    free(m->adam_m);
    free(m->adam_v);
    memset(m, 0, sizeof *m);
}

int tr_model_find(const tr_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return i;
    return -1;
}

static float *at(const tr_model *m, float *base, const char *name)
{
    int i = tr_model_find(m, name);
    return i < 0 ? NULL : base + m->tensors[i].off;
}

void tr_model_point(const tr_model *m, float *base, tr_weights *w)
{
    char nm[TR_NAME_MAX];
    w->wte = at(m, base, "wte.weight");
    w->wpe = at(m, base, "wpe.weight");
    w->lnf_w = at(m, base, "ln_f.weight");
    w->lnf_b = at(m, base, "ln_f.bias");
    for (int l = 0; l < m->dims.n_layer; l++) {
        tr_layer_w *lw = &w->layer[l];
#define P(field, suffix) snprintf(nm, sizeof nm, "h.%d." suffix, l), lw->field = at(m, base, nm)
        P(ln1_w, "ln_1.weight"); P(ln1_b, "ln_1.bias");
        P(qkv_w, "attn.c_attn.weight"); P(qkv_b, "attn.c_attn.bias");
        P(o_w, "attn.c_proj.weight"); P(o_b, "attn.c_proj.bias");
        P(ln2_w, "ln_2.weight"); P(ln2_b, "ln_2.bias");
        P(fc_w, "mlp.c_fc.weight"); P(fc_b, "mlp.c_fc.bias");
        P(proj_w, "mlp.c_proj.weight"); P(proj_b, "mlp.c_proj.bias");
#undef P
    }
}

void tr_model_init_weights(tr_model *m, double std, tr_rng *rng)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const tr_tensor *t = &m->tensors[i];
        float *p = m->params + t->off;
        const size_t len = strlen(t->name);
        const int is_ln = strstr(t->name, "ln_") != NULL;
        const int is_bias = len > 5 && !strcmp(t->name + len - 5, ".bias");
        if (is_bias) memset(p, 0, sizeof(float) * t->n);
        else if (is_ln) for (int64_t j = 0; j < t->n; j++) p[j] = 1.0f;
        else for (int64_t j = 0; j < t->n; j++) p[j] = (float)(std * tr_rng_normal(rng));
    }
}

/* ---------------- activations ---------------- */

typedef struct acts_layout { int64_t f[32]; int nf; int64_t total; } acts_layout;

static int nthreads_of(int n_threads) { return n_threads > 0 ? n_threads : omp_get_max_threads(); }

/* Sizes (floats) of the tr_acts arrays in declaration order. */
static void layout(const tr_dims *dm, int64_t B, int64_t T, int nt, int64_t *sz)
{
    const int64_t L = dm->n_layer, d = dm->d_model, F = dm->attn_only ? 0 : dm->d_mlp, H = dm->n_head;
    const int64_t N = B * T, V = dm->vocab, mlp = dm->attn_only ? 0 : 1;
    int64_t i = 0;
    sz[i++] = N * d;                 /* encoded */
    sz[i++] = L * N * d;             /* ln1 */
    sz[i++] = L * N;                 /* ln1_mean */
    sz[i++] = L * N;                 /* ln1_rstd */
    sz[i++] = L * N * 3 * d;         /* qkv */
    sz[i++] = L * B * H * T * T;     /* att */
    sz[i++] = L * N * d;             /* z */
    sz[i++] = L * N * d;             /* res_mid */
    sz[i++] = mlp * L * N * d;       /* ln2 */
    sz[i++] = mlp * L * N;           /* ln2_mean */
    sz[i++] = mlp * L * N;           /* ln2_rstd */
    sz[i++] = L * N * F;             /* fch */
    sz[i++] = L * N * F;             /* fch_gelu */
    sz[i++] = mlp * L * N * d;       /* res_out */
    sz[i++] = N * d;                 /* lnf */
    sz[i++] = N;                     /* lnf_mean */
    sz[i++] = N;                     /* lnf_rstd */
    sz[i++] = N * V;                 /* logits */
    sz[i++] = N * (d > F ? d : F);   /* tmp */
    sz[i++] = N * d;                 /* dres */
    sz[i++] = N * d;                 /* dln */
    sz[i++] = N * 3 * d;             /* dqkv */
    sz[i++] = N * d;                 /* dz */
    sz[i++] = N * F;                 /* dfch */
    const int64_t Tp = (T + 15) / 16 * 16;
    sz[i++] = (int64_t)nt * (Tp * Tp + 2 * Tp * (d / H));   /* datt */
}
enum { N_ACT_ARRAYS = 25 };

int64_t tr_acts_bytes(const tr_dims *d, int64_t B, int64_t T, int n_threads)
{
    int64_t sz[N_ACT_ARRAYS], tot = 0;
    layout(d, B, T, nthreads_of(n_threads), sz);
    for (int i = 0; i < N_ACT_ARRAYS; i++) tot += sz[i];
    return tot * (int64_t)sizeof(float) + B * T * (int64_t)sizeof(double);
}

int tr_acts_alloc(tr_acts *a, const tr_dims *d, int64_t B, int64_t T, int n_threads, st_err *err)
{
    memset(a, 0, sizeof *a);
    const int nt = nthreads_of(n_threads);
    int64_t sz[N_ACT_ARRAYS], tot = 0;
    layout(d, B, T, nt, sz);
    for (int i = 0; i < N_ACT_ARRAYS; i++) tot += sz[i];
    a->mem = malloc(sizeof(float) * (size_t)tot);
    a->dmem = malloc(sizeof(double) * (size_t)(B * T));
    if (!a->mem || !a->dmem) {
        free(a->mem);
        free(a->dmem);
        a->mem = NULL;
        a->dmem = NULL;
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory for activations (%.1f MB for batch %lld x %lld)",
                         (double)tot * 4 / 1e6, (long long)B, (long long)T);
    }
    float **ptr[N_ACT_ARRAYS] = {
        &a->encoded, &a->ln1, &a->ln1_mean, &a->ln1_rstd, &a->qkv, &a->att, &a->z, &a->res_mid,
        &a->ln2, &a->ln2_mean, &a->ln2_rstd, &a->fch, &a->fch_gelu, &a->res_out, &a->lnf,
        &a->lnf_mean, &a->lnf_rstd, &a->logits, &a->tmp, &a->dres, &a->dln, &a->dqkv, &a->dz,
        &a->dfch, &a->datt };
    float *p = a->mem;
    for (int i = 0; i < N_ACT_ARRAYS; i++) { *ptr[i] = sz[i] ? p : NULL; p += sz[i]; }
    a->losses = a->dmem;
    a->B = B;
    a->T = T;
    a->n_threads = n_threads;
    return STRATA_OK;
}

void tr_acts_free(tr_acts *a)
{
    free(a->mem);
    free(a->dmem);
    memset(a, 0, sizeof *a);
}

/* ---------------- forward / backward ---------------- */

static void add_rows(float *out, const float *a, const float *b, int64_t n, int nt)
{
    const int p = st_par_threads(nt, (double)n);
#pragma omp parallel for simd num_threads(p) schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* Block output of layer l ([N][d], contiguous for the batch's N). */
static float *block_out(const tr_model *m, tr_acts *a, int l, int64_t N)
{
    const int64_t d = m->dims.d_model;
    return m->dims.attn_only ? a->res_mid + l * N * d : a->res_out + l * N * d;
}

void tr_forward(tr_model *m, tr_acts *a, const int32_t *tokens, const int32_t *targets,
                int64_t B, int64_t T, double *loss, int64_t *n_pred)
{
    const tr_dims *dm = &m->dims;
    const int d = dm->d_model, F = dm->d_mlp, H = dm->n_head, V = dm->vocab, nt = a->n_threads;
    const int64_t N = B * T;
    tr_embed_forward(a->encoded, tokens, m->w.wte, m->w.wpe, B, T, d, nt);
    const float *x = a->encoded;
    for (int l = 0; l < dm->n_layer; l++) {
        const tr_layer_w *w = &m->w.layer[l];
        float *ln1 = a->ln1 + l * N * d, *qkv = a->qkv + l * N * 3 * d, *z = a->z + l * N * d;
        float *att = a->att + l * B * H * T * T, *res_mid = a->res_mid + l * N * d;
        tr_layernorm_forward(ln1, a->ln1_mean + l * N, a->ln1_rstd + l * N, x, w->ln1_w, w->ln1_b,
                             N, d, dm->ln_eps, nt);
        tr_linear_forward(qkv, ln1, w->qkv_w, w->qkv_b, N, d, 3 * d, nt);
        tr_attention_forward(z, att, qkv, a->datt, B, T, H, d, nt);
        tr_linear_forward(a->tmp, z, w->o_w, w->o_b, N, d, d, nt);
        add_rows(res_mid, x, a->tmp, N * d, nt);
        x = res_mid;
        if (dm->attn_only) continue;
        float *ln2 = a->ln2 + l * N * d, *fch = a->fch + l * N * F, *fg = a->fch_gelu + l * N * F;
        float *res_out = a->res_out + l * N * d;
        tr_layernorm_forward(ln2, a->ln2_mean + l * N, a->ln2_rstd + l * N, res_mid, w->ln2_w,
                             w->ln2_b, N, d, dm->ln_eps, nt);
        tr_linear_forward(fch, ln2, w->fc_w, w->fc_b, N, d, F, nt);
        tr_gelu_forward(fg, fch, N * F, nt);
        tr_linear_forward(a->tmp, fg, w->proj_w, w->proj_b, N, F, d, nt);
        add_rows(res_out, res_mid, a->tmp, N * d, nt);
        x = res_out;
    }
    tr_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, x, m->w.lnf_w, m->w.lnf_b, N, d,
                         dm->ln_eps, nt);
    tr_xent_forward(a->logits, a->losses, a->lnf, m->w.wte, targets, N, d, V, nt);
    double s = 0;
    int64_t np = 0;
    for (int64_t n = 0; n < N; n++)
        if (targets[n] >= 0) { s += a->losses[n]; np++; }
    *n_pred = np;
    *loss = np ? s / (double)np : 0.0;
}

void tr_backward(tr_model *m, tr_acts *a, const int32_t *tokens, const int32_t *targets,
                 int64_t B, int64_t T, int64_t n_pred)
{
    const tr_dims *dm = &m->dims;
    const int d = dm->d_model, F = dm->d_mlp, H = dm->n_head, V = dm->vocab, nt = a->n_threads;
    const int64_t N = B * T;
    /* every gradient is written (=) by its kernel; wte is written by the
     * unembedding product, then the embedding scatter adds to it */
    const float *x_last = dm->n_layer > 0 ? block_out(m, a, dm->n_layer - 1, N) : a->encoded;
    tr_xent_backward(a->dln, m->g.wte, a->logits, a->lnf, m->w.wte, targets, N, d, V, n_pred, nt);
    memset(a->dres, 0, sizeof(float) * (size_t)(N * d));
    tr_layernorm_backward(a->dres, m->g.lnf_w, m->g.lnf_b, a->dln, x_last, m->w.lnf_w,
                          a->lnf_mean, a->lnf_rstd, N, d, nt);
    for (int l = dm->n_layer - 1; l >= 0; l--) {
        const tr_layer_w *w = &m->w.layer[l];
        const tr_layer_w *g = &m->g.layer[l];
        const float *x_in = l == 0 ? a->encoded : block_out(m, a, l - 1, N);
        const float *res_mid = a->res_mid + l * N * d;
        if (!dm->attn_only) {
            /* dres: gradient of res_out[l] */
            const float *ln2 = a->ln2 + l * N * d, *fch = a->fch + l * N * F;
            const float *fg = a->fch_gelu + l * N * F;
            tr_linear_backward(a->dfch, g->proj_w, g->proj_b, a->dres, fg, w->proj_w, N, F, d, 0, nt);
            tr_gelu_backward(a->dfch, fch, N * F, nt);
            tr_linear_backward(a->dln, g->fc_w, g->fc_b, a->dfch, ln2, w->fc_w, N, d, F, 0, nt);
            tr_layernorm_backward(a->dres, g->ln2_w, g->ln2_b, a->dln, res_mid, w->ln2_w,
                                  a->ln2_mean + l * N, a->ln2_rstd + l * N, N, d, nt);
        }
        /* dres: gradient of res_mid[l] */
        const float *ln1 = a->ln1 + l * N * d, *qkv = a->qkv + l * N * 3 * d, *z = a->z + l * N * d;
        const float *att = a->att + l * B * H * T * T;
        tr_linear_backward(a->dz, g->o_w, g->o_b, a->dres, z, w->o_w, N, d, d, 0, nt);
        tr_attention_backward(a->dqkv, a->dz, att, qkv, a->datt, B, T, H, d, nt);
        tr_linear_backward(a->dln, g->qkv_w, g->qkv_b, a->dqkv, ln1, w->qkv_w, N, d, 3 * d, 0, nt);
        tr_layernorm_backward(a->dres, g->ln1_w, g->ln1_b, a->dln, x_in, w->ln1_w,
                              a->ln1_mean + l * N, a->ln1_rstd + l * N, N, d, nt);
    }
    tr_embed_backward(m->g.wte, m->g.wpe, a->dres, tokens, B, T, d, dm->n_ctx, nt);
}
