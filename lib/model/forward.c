/* model/forward.c — the hooked, batched float32 forward pass.
 *
 * One code path serves GPT-2, GPT-NeoX and Llama; the configuration picks the
 * norm, positional scheme, qkv layout, residual form and MLP.  Every matrix
 * product over the batch goes through OpenBLAS sgemm (st_linear_forward: one
 * single-threaded sgemm per OpenMP thread, on its block of rows or columns).  Buffers
 * ([N = B*T] rows) live in a workspace reused across runs.  Optional tensors
 * (scores/patterns [B,H,T,Tk], per-head results [N,H,d], norm scales) are
 * only materialised when a hook asks for them; scores/patterns in cache-sized
 * slices when every hook on them takes slices (STRATA_HOOK_SLICES).
 */
#include "model/forward.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/activations.h"
#include "model/finite.h"
#include "model/kernels.h"
#include "model/packed.h"
#include "util/blas_threads.h"

void st_forward_release(strata_model *m)
{
    if (!m->acts) return;
    st_acts_free(m->acts);
    free(m->acts);
    m->acts = NULL;
}

/* Hook helper: fire on a [B,T,...] buffer. */
#define FIRE(kind, layer, data, ndim, ...)                                                    \
    do {                                                                                      \
        if (st_is_hooked(f->m, kind, layer)) {                                                \
            const int64_t shp_[] = { __VA_ARGS__ };                                           \
            int rc_ = st_hook_fire(f->m, f->run, kind, layer, data, ndim, shp_);              \
            if (rc_) return rc_;                                                              \
        }                                                                                     \
    } while (0)

struct attn_cb_ctx { strata_model *m; const st_run *run; int layer; int64_t Tk; };

/* Fires the scores (phase 0) or pattern (phase 1) hooks on one slice. */
static int attn_between(void *p, int phase, const st_attn_slice *sl)
{
    struct attn_cb_ctx *c = p;
    int kind = phase == 0 ? STRATA_HOOK_ATTN_SCORES : STRATA_HOOK_ATTN_PATTERN;
    if (!st_is_hooked(c->m, kind, c->layer)) return 0;
    const int64_t shp[4] = { sl->nb, sl->nh, sl->nq, c->Tk };
    const int32_t off[3] = { (int32_t)sl->b0, sl->h0, (int32_t)sl->q0 };
    return st_hook_fire_slice(c->m, c->run, kind, c->layer, sl->p, shp, off,
                              phase == 1 ? sl->ent : NULL);
}

/* Floats per scores/pattern slice when every hook on them takes slices:
 * about 128 KB per thread (the size of a fused-path block at T = 512), so a
 * slice stays in L2 while the scores, the softmax, the hooks and the mix
 * pass over it (measured on stories260K, T = 512: 512 KB cost 4-5% more). */
enum { ST_ATTN_SLICE_FLOATS = 32 * 1024 };
/* With several threads each computing its own slices and handing them to the
 * hooks in order, slices are larger (1 MB: a whole head of one sequence up to
 * T = 512): fewer ordered hand-overs, and whole heads cost the same, so no
 * thread waits behind a longer slice (stories260K T = 512, 2 threads, stats
 * over plain: +37% with 128 KB slices, +15% with 1 MB, +25% with 2 MB). */
enum { ST_ATTN_PARALLEL_SLICE_FLOATS = 256 * 1024 };

/* Slice extent for layer l's scores/pattern: cache-sized when every hook on
 * both accepts slices, else the whole [B,H,T,Tk] tensor.  *regions: how many
 * slices the buffers hold -- one per thread when slices may run in parallel
 * (sliced, no scores hook), else 1. */
static st_attn_plan attn_plan(const strata_model *m, int l, int64_t B, int64_t T, int64_t Tk,
                              int *regions)
{
    int sliced = st_hooks_all_have(m, STRATA_HOOK_ATTN_SCORES, l, STRATA_HOOK_SLICES) &&
                 st_hooks_all_have(m, STRATA_HOOK_ATTN_PATTERN, l, STRATA_HOOK_SLICES);
    int nt = m->n_threads > 0 ? m->n_threads : omp_get_max_threads();
    const int parallel = sliced && !st_is_hooked(m, STRATA_HOOK_ATTN_SCORES, l) && nt > 1;
    *regions = parallel ? nt : 1;
    if (!sliced) return st_attn_plan_slices(B, T, m->cfg.n_heads, Tk, 0);
    /* slices in parallel: each thread its own; one after the other: the
     * threads share one (tests set attn_slice_floats for both) */
    int64_t floats = m->attn_slice_floats > 0 ? m->attn_slice_floats
                     : parallel ? ST_ATTN_PARALLEL_SLICE_FLOATS : ST_ATTN_SLICE_FLOATS;
    return st_attn_plan_slices(B, T, m->cfg.n_heads, Tk, parallel ? floats : floats * nt);
}

/* Last layer that must run: all of them if logits or final-norm hooks are
 * needed, else the deepest hooked layer (-1: none). */
static int last_needed_layer(const strata_model *m, int need_final)
{
    int L = m->cfg.n_layers;
    if (need_final) return L - 1;
    for (int l = L - 1; l >= 0; l--)
        for (int k = 0; k < STRATA_HOOK_KIND_COUNT; k++)
            if (st_is_hooked(m, k, l)) return l;
    return -1;
}

/* NaN/Inf scan (model/finite.c): the last point is scanned, the others
 * name the first point holding one.  Each point: { kind, layer, buffer,
 * floats per row[, last_only] }. */
#define CHECK_FINITE(...)                                                                     \
    do {                                                                                      \
        if (f->m->nonfinite_mode != STRATA_NONFINITE_OFF) {                                   \
            const st_finite_pt pts_[] = { __VA_ARGS__ };                                      \
            int rcf_ = st_finite_check(f->m, f->run, pts_, (int)(sizeof pts_ / sizeof pts_[0])); \
            if (rcf_) return rcf_;                                                            \
        }                                                                                     \
    } while (0)

/* Returns any non-zero status, errors and STRATA_STOPPED from a hook alike. */
#define PASS(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

/* What every stage of one run reads. */
typedef struct st_fwd {
    strata_model *m;
    const strata_config *c;
    const st_run *run;
    st_acts *a;
    int64_t B, T, N, Tk;   /* batch, padded length, B*T rows, visible keys pos0 + T */
    int nt;                /* OpenMP threads (0: the default) */
} st_fwd;

/* Sizes the run's activations (st_acts_sizes) and fits them into the one
 * allocation; fills the rotary table [T][rot/2][2], shared by q and k of
 * every layer. */
static int forward_prepare(st_fwd *f, int last, int logits_mode)
{
    strata_model *m = f->m;
    const strata_config *c = f->c;
    st_pack_model(m);   /* once per model: weights into panels (model/packed.h) */
    st_acts_dims r = { .B = f->B, .T = f->T, .Tk = f->Tk };
    for (int l = 0; l <= last; l++) {   /* the largest scores/pattern slice of any layer */
        if (st_is_hooked(m, STRATA_HOOK_ATTN_SCORES, l) || st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l)) {
            int regions;
            st_attn_plan p = attn_plan(m, l, f->B, f->T, f->Tk, &regions);
            const int64_t rows = p.nb * p.nh * p.nq * regions;
            if (rows * f->Tk > r.probs_floats) r.probs_floats = rows * f->Tk;
            if (st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l) && rows > r.ent_floats) r.ent_floats = rows;
        }
        r.result |= st_is_hooked(m, STRATA_HOOK_ATTN_RESULT, l);
        r.fused_qkv |= m->layers[l].qkv_layout == ST_QKV_NEOX;
    }
    r.logits = st_is_hooked(m, STRATA_HOOK_LOGITS, -1) && logits_mode != ST_LOGITS_ALL;
    size_t n[ST_ACT_COUNT];
    st_acts_sizes(c, &r, n);
    if (!m->acts && !(m->acts = calloc(1, sizeof *m->acts)))
        return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    if (st_acts_fit(m->acts, n, f->Tk)) {
        size_t total = 0;
        for (int i = 0; i < ST_ACT_COUNT; i++) total += n[i];
        return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory (activations of %zu floats)", total);
    }
    f->a = m->acts;
    if (c->rope != STRATA_ROPE_NONE)
        st_rope_table(f->a->rope, f->T, c->rotary_dim, c->rope_theta, f->run->pos0);
    return STRATA_OK;
}

/* Embedding.
 *   tokens [B][T], E = tok_embed [V][d], P = pos_embed [n_ctx][d] (or none)
 *   x [B][T][d] = E[token[b][t]] * embed_scale (+ P[pos0 + t]);  padding rows embed token 0
 *   (hook_embed sees the scaled rows) */
static int embed_forward(st_fwd *f)
{
    const strata_model *m = f->m;
    const st_run *run = f->run;
    const int64_t B = f->B, T = f->T, d = f->c->d_model;
    float *x = f->a->x;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            int32_t tok = t < run->lengths[b] ? run->tokens[b * T + t] : 0;
            if (m->tok_embed) memcpy(x + (b * T + t) * d, m->tok_embed + (int64_t)tok * d, sizeof(float) * d);
            else st_wt_to_f32(m->embed.wtype, m->embed.wq, m->embed.woff + (int64_t)tok * m->embed.ld, d,
                              x + (b * T + t) * d);   /* a stored row, converted */
        }
    const float es = f->c->embed_scale;
    if (es > 0 && es != 1.0f)   /* Gemma: E[token] * sqrt(d_model), in float32 as HF */
        for (int64_t i = 0; i < B * T * d; i++) x[i] *= es;
    FIRE(STRATA_HOOK_EMBED, -1, x, 3, B, T, d);
    if (m->pos_embed) {
        float *p = f->a->normed;   /* [B][T][d] the positional rows, for their hook */
        for (int64_t b = 0; b < B; b++)
            for (int64_t t = 0; t < T; t++)
                memcpy(p + (b * T + t) * d, m->pos_embed + (run->pos0 + t) * d, sizeof(float) * d);
        FIRE(STRATA_HOOK_POS_EMBED, -1, p, 3, B, T, d);
        for (int64_t i = 0; i < B * T * d; i++) x[i] += p[i];
    }
    CHECK_FINITE({ STRATA_HOOK_POS_EMBED, -1, m->pos_embed ? f->a->normed : NULL, d, 0 },
                 { STRATA_HOOK_EMBED, -1, x, d, 0 });
    return STRATA_OK;
}

/* Attention of layer l, reading x (resid_pre).
 *   x [B][T][d] -> normed = ln1(x) [B][T][d]
 *   q [B][T][H][dh], k, v [B][T][Hkv][dh] (NeoX: one fused [B][T][3*H*dh] product, split)
 *   rotary on q, k;  k, v appended to the KV cache when generating
 *   z [B][T][H][dh] = softmax(q.k^T / sqrt(dh), causal) . v   (scores, pattern [B][H][T][Tk] when hooked)
 *   attn_out [B][T][d] = z . W_O^T + b   (= sum over heads of result [B][T][H][d] when hooked)
 *   post_norms: attn_out = ln1_post(attn_out)  (hook_attn_out after it; result before it)
 * Scores: scale (cfg.attn_scale, default 1/sqrt(dh)), soft cap, causal and sliding-window
 * mask (st_layer.window) as in kernels.h st_attention. */
static int attention_forward(st_fwd *f, int l)
{
    strata_model *m = f->m;
    const strata_config *c = f->c;
    const st_run *run = f->run;
    const st_layer *ly = &m->layers[l];
    st_acts *a = f->a;
    const int64_t B = f->B, T = f->T, N = f->N;
    const int d = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, dh = c->d_head, nt = f->nt;
    const int64_t qd = (int64_t)H * dh, kvd = (int64_t)Hkv * dh;

    st_norm_forward(c->norm_kind, a->x, &ly->ln1, c->norm_eps, N, d, a->normed, a->scale, nt);
    FIRE(STRATA_HOOK_LN1_SCALE, l, a->scale, 3, B, T, 1);
    FIRE(STRATA_HOOK_LN1_NORMALIZED, l, a->normed, 3, B, T, d);

    if (ly->qkv_layout == ST_QKV_NEOX) {
        st_linear_forward(&ly->qkv, a->normed, d, N, a->qkv, 3 * qd, nt);
        /* fused row of head h: q_h | k_h | v_h (dh each) */
#pragma omp parallel for num_threads(st_par_threads(nt, (double)N * 3 * qd)) schedule(static)
        for (int64_t i = 0; i < N; i++)
            for (int h = 0; h < H; h++) {
                const float *src = a->qkv + i * 3 * qd + (int64_t)h * 3 * dh;
                memcpy(a->q + i * qd + h * dh, src, sizeof(float) * dh);
                memcpy(a->k + i * kvd + h * dh, src + dh, sizeof(float) * dh);
                memcpy(a->v + i * kvd + h * dh, src + 2 * dh, sizeof(float) * dh);
            }
    } else {
        st_linear_forward(&ly->q, a->normed, d, N, a->q, qd, nt);
        st_linear_forward(&ly->k, a->normed, d, N, a->k, kvd, nt);
        st_linear_forward(&ly->v, a->normed, d, N, a->v, kvd, nt);
    }
    FIRE(STRATA_HOOK_ATTN_Q, l, a->q, 4, B, T, H, dh);
    FIRE(STRATA_HOOK_ATTN_K, l, a->k, 4, B, T, Hkv, dh);
    FIRE(STRATA_HOOK_ATTN_V, l, a->v, 4, B, T, Hkv, dh);
    if (c->rope != STRATA_ROPE_NONE) {
        st_rope_apply(c->rope, a->q, B, T, H, dh, c->rotary_dim, a->rope, nt);
        st_rope_apply(c->rope, a->k, B, T, Hkv, dh, c->rotary_dim, a->rope, nt);
        FIRE(STRATA_HOOK_ATTN_ROT_Q, l, a->q, 4, B, T, H, dh);
        FIRE(STRATA_HOOK_ATTN_ROT_K, l, a->k, 4, B, T, Hkv, dh);
    }

    /* keys/values: this call's own, or the cache [B][cap][Hkv][dh] (generation) */
    const float *kb = a->k, *vb = a->v;
    int64_t kv_bstride = T * kvd;
    if (run->kv) {
        st_kvcache *kv = run->kv;
        for (int64_t b = 0; b < B; b++) {
            memcpy(kv->k[l] + (b * kv->cap + run->pos0) * kvd, a->k + b * T * kvd, sizeof(float) * T * kvd);
            memcpy(kv->v[l] + (b * kv->cap + run->pos0) * kvd, a->v + b * T * kvd, sizeof(float) * T * kvd);
        }
        kb = kv->k[l];
        vb = kv->v[l];
        kv_bstride = (int64_t)kv->cap * kvd;
    }
    const int scores_hooked = st_is_hooked(m, STRATA_HOOK_ATTN_SCORES, l);
    const int layer_probs = scores_hooked || st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l);
    struct attn_cb_ctx cbc = { m, run, l, f->Tk };
    st_attn_io io = {
        .probs = a->probs, .zero_from = a->zero_from, .scores_hooked = scores_hooked,
        .between = attn_between, .cb_ctx = &cbc,
        .ent = st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l) ? a->ent : NULL,
        .pattern_readonly = st_hooks_all_have(m, STRATA_HOOK_ATTN_SCORES, l, STRATA_HOOK_READONLY) &&
                            st_hooks_all_have(m, STRATA_HOOK_ATTN_PATTERN, l, STRATA_HOOK_READONLY),
    };
    if (layer_probs) io.plan = attn_plan(m, l, B, T, f->Tk, &io.regions);
    /* the family's variations: score scale, soft-cap, this layer's window */
    const st_attn_params ap = { c->attn_scale, c->attn_softcap, ly->window };
    int rc = st_attention(a->q, kb, vb, kv_bstride, B, T, H, Hkv, dh, run->pos0, run->lengths, a->z,
                          &ap, layer_probs ? &io : NULL, nt);
    if (rc) return rc;
    FIRE(STRATA_HOOK_ATTN_Z, l, a->z, 4, B, T, H, dh);

    /* attn_out [N][d] = z . W_O^T + b;  with hook_result: sum over heads of
     * result[n,h,:] = z[n,h,:] . W_O[:, h*dh:(h+1)*dh]^T  (bias added once) */
    if (st_is_hooked(m, STRATA_HOOK_ATTN_RESULT, l)) {
        const st_linear *o = &ly->o;
        for (int h = 0; h < H; h++) {
            st_linear part = *o;
            part.b = NULL;
            part.pk = NULL;   /* the panels hold all of W_O's columns: this slice reads w */
            part.n_in = dh;
            if (o->wtype != ST_WT_F32) part.woff = o->woff + (int64_t)h * dh;   /* stored: columns h*dh.. */
            else part.w = o->in_out ? o->w + (int64_t)h * dh * o->ld : o->w + (int64_t)h * dh;
            st_linear_forward(&part, a->z + (int64_t)h * dh, qd, N, a->result + (int64_t)h * d,
                              (int64_t)H * d, nt);
        }
        FIRE(STRATA_HOOK_ATTN_RESULT, l, a->result, 4, B, T, H, d);
        for (int64_t i = 0; i < N; i++) {
            float *ar = a->attn_out + i * d;
            for (int j = 0; j < d; j++) ar[j] = o->b ? o->b[j] : 0.0f;
            for (int h = 0; h < H; h++) {
                const float *rr = a->result + (i * H + h) * d;
                for (int j = 0; j < d; j++) ar[j] += rr[j];
            }
        }
    } else {
        st_linear_forward(&ly->o, a->z, qd, N, a->attn_out, d, nt);
    }
    if (c->post_norms) {   /* Gemma-2: attn_out = ln1_post(attn_out), in place */
        st_norm_forward(c->norm_kind, a->attn_out, &ly->ln1_post, c->norm_eps, N, d, a->attn_out, a->scale, nt);
        FIRE(STRATA_HOOK_LN1_POST_SCALE, l, a->scale, 3, B, T, 1);
        FIRE(STRATA_HOOK_LN1_POST_NORMALIZED, l, a->attn_out, 3, B, T, d);
    }
    FIRE(STRATA_HOOK_ATTN_OUT, l, a->attn_out, 3, B, T, d);
    const int rot = c->rope != STRATA_ROPE_NONE;
    CHECK_FINITE({ STRATA_HOOK_LN1_SCALE, l, a->scale, 1, 0 },
                 { STRATA_HOOK_LN1_NORMALIZED, l, a->normed, d, 0 },
                 { rot ? STRATA_HOOK_ATTN_ROT_Q : STRATA_HOOK_ATTN_Q, l, a->q, qd, 0 },
                 { rot ? STRATA_HOOK_ATTN_ROT_K : STRATA_HOOK_ATTN_K, l, a->k, kvd, 0 },
                 { STRATA_HOOK_ATTN_V, l, a->v, kvd, 0 },
                 { STRATA_HOOK_ATTN_Z, l, a->z, qd, 0 },
                 { STRATA_HOOK_ATTN_OUT, l, a->attn_out, d, 0 });
    return STRATA_OK;
}

/* MLP of layer l, reading x (resid_mid; resid_pre with a parallel residual).
 *   normed = ln2(x) [B][T][d]
 *   mlp_h [B][T][F] = normed . W_in^T + b          (hook_pre; the gate when gated)
 *   mlp_up [B][T][F] = normed . W_up^T              (gated only: hook_pre_linear)
 *   mlp_h = act(mlp_h) (* mlp_up)                   (hook_post)
 *   mlp_out [B][T][d] = mlp_h . W_out^T + b           (post_norms: then ln2_post) */
static int mlp_forward(st_fwd *f, int l)
{
    const strata_config *c = f->c;
    const st_layer *ly = &f->m->layers[l];
    st_acts *a = f->a;
    const int64_t B = f->B, T = f->T, N = f->N;
    const int d = c->d_model, F = c->d_mlp, nt = f->nt;
    st_norm_forward(c->norm_kind, a->x, &ly->ln2, c->norm_eps, N, d, a->normed, a->scale, nt);
    FIRE(STRATA_HOOK_LN2_SCALE, l, a->scale, 3, B, T, 1);
    FIRE(STRATA_HOOK_LN2_NORMALIZED, l, a->normed, 3, B, T, d);
    st_linear_forward(&ly->mlp_in, a->normed, d, N, a->mlp_h, F, nt);
    FIRE(STRATA_HOOK_MLP_PRE, l, a->mlp_h, 3, B, T, F);
    if (c->gated_mlp) {
        st_linear_forward(&ly->mlp_up, a->normed, d, N, a->mlp_up, F, nt);
        FIRE(STRATA_HOOK_MLP_PRE_LINEAR, l, a->mlp_up, 3, B, T, F);
    }
    st_act_forward(c->act, a->mlp_h, c->gated_mlp ? a->mlp_up : NULL, N * F, nt);
    FIRE(STRATA_HOOK_MLP_POST, l, a->mlp_h, 3, B, T, F);
    st_linear_forward(&ly->mlp_out, a->mlp_h, F, N, a->mlp_out, d, nt);
    if (c->post_norms) {   /* Gemma-2: mlp_out = ln2_post(mlp_out), in place */
        st_norm_forward(c->norm_kind, a->mlp_out, &ly->ln2_post, c->norm_eps, N, d, a->mlp_out, a->scale, nt);
        FIRE(STRATA_HOOK_LN2_POST_SCALE, l, a->scale, 3, B, T, 1);
        FIRE(STRATA_HOOK_LN2_POST_NORMALIZED, l, a->mlp_out, 3, B, T, d);
    }
    FIRE(STRATA_HOOK_MLP_OUT, l, a->mlp_out, 3, B, T, d);
    CHECK_FINITE({ STRATA_HOOK_LN2_SCALE, l, a->scale, 1, 0 },
                 { STRATA_HOOK_LN2_NORMALIZED, l, a->normed, d, 0 },
                 { STRATA_HOOK_MLP_PRE_LINEAR, l, c->gated_mlp ? a->mlp_up : NULL, F, 0 },
                 { STRATA_HOOK_MLP_POST, l, a->mlp_h, F, 0 },
                 { STRATA_HOOK_MLP_OUT, l, a->mlp_out, d, 0 });
    return STRATA_OK;
}

/* Block l: x [B][T][d] in place.
 *   sequential: x += attn(ln1(x)) (resid_mid);  x += mlp(ln2(x))
 *   parallel:   x += attn(ln1(x)) + mlp(ln2(x)), both reading resid_pre
 *   attention-only (cfg.attn_only): x += attn(ln1(x)), no resid_mid, ln2, MLP */
static int block_forward(st_fwd *f, int l)
{
    const strata_config *c = f->c;
    st_acts *a = f->a;
    const int64_t B = f->B, T = f->T, nd = f->N * c->d_model;
    const int d = c->d_model;
    float *x = a->x;
    FIRE(STRATA_HOOK_RESID_PRE, l, x, 3, B, T, d);
    PASS(attention_forward(f, l));
    if (c->attn_only) {   /* resid_post = resid_pre + attn_out */
        for (int64_t i = 0; i < nd; i++) x[i] += a->attn_out[i];
        FIRE(STRATA_HOOK_RESID_POST, l, x, 3, B, T, d);
        CHECK_FINITE({ STRATA_HOOK_RESID_POST, l, x, d, 0 });
        return STRATA_OK;
    }
    if (!c->parallel_residual) {
        for (int64_t i = 0; i < nd; i++) x[i] += a->attn_out[i];
        FIRE(STRATA_HOOK_RESID_MID, l, x, 3, B, T, d);
    }
    PASS(mlp_forward(f, l));
    if (c->parallel_residual)
        for (int64_t i = 0; i < nd; i++) x[i] += a->attn_out[i] + a->mlp_out[i];
    else
        for (int64_t i = 0; i < nd; i++) x[i] += a->mlp_out[i];
    FIRE(STRATA_HOOK_RESID_POST, l, x, 3, B, T, d);
    CHECK_FINITE({ STRATA_HOOK_RESID_POST, l, x, d, 0 });
    return STRATA_OK;
}

/* Gemma-2's final soft cap: y = cap * tanh(y / cap) on n logits (cap <= 0: none). */
static void softcap_logits(float cap, float *y, int64_t n)
{
    if (!(cap > 0)) return;
    const float inv = 1.0f / cap;
    for (int64_t i = 0; i < n; i++) y[i] = cap * tanhf(y[i] * inv);
}

/* The unembedding of rows already through the final norm:
 *   logits [n][V] = normed [n][d] . U^T (+ b),  U = unembed [V][d] (float32 or stored),
 *   then the final soft cap (Gemma-2).
 * The forward's read-out and strata_model_readout (the logit lens) share it,
 * so a family's change to the read-out is made once, here. */
static void unembed_rows(const strata_model *m, const float *normed, int64_t n, float *logits, int nt)
{
    const int d = m->cfg.d_model;
    const st_linear un = m->unembed_lin;
    st_linear_forward(&un, normed, d, n, logits, m->cfg.vocab_size, nt);
    softcap_logits(m->cfg.final_softcap, logits, n * m->cfg.vocab_size);
}

/* Read-out.
 *   normed [B][T][d] = ln_final(x)
 *   ALL:  logits_out [B][T][V] = normed . U^T (+ b)      U = unembed [V][d]
 *         then cap * tanh(logits / cap) when cfg.final_softcap > 0 (Gemma-2)
 *   LAST: logits_out [B][V], the last valid position of each sequence only
 *   (one [B,d]x[d,V] product unless hook_logits needs every position) */
static int readout_forward(st_fwd *f, int logits_mode, float *logits_out)
{
    strata_model *m = f->m;
    const strata_config *c = f->c;
    const st_run *run = f->run;
    st_acts *a = f->a;
    const int64_t B = f->B, T = f->T, N = f->N, V = c->vocab_size;
    const int d = c->d_model, nt = f->nt;
    st_norm_forward(c->norm_kind, a->x, &m->ln_final, c->norm_eps, N, d, a->normed, a->scale, nt);
    FIRE(STRATA_HOOK_LN_FINAL_SCALE, -1, a->scale, 3, B, T, 1);
    FIRE(STRATA_HOOK_LN_FINAL_NORMALIZED, -1, a->normed, 3, B, T, d);

    if (logits_mode == ST_LOGITS_ALL || st_is_hooked(m, STRATA_HOOK_LOGITS, -1)) {
        float *out = logits_mode == ST_LOGITS_ALL ? logits_out : a->logits;
        unembed_rows(m, a->normed, N, out, nt);
        FIRE(STRATA_HOOK_LOGITS, -1, out, 3, B, T, V);
        CHECK_FINITE({ STRATA_HOOK_LN_FINAL_SCALE, -1, a->scale, 1, 0 },
                     { STRATA_HOOK_LN_FINAL_NORMALIZED, -1, a->normed, d, 0 },
                     { STRATA_HOOK_LOGITS, -1, out, V, 0 });
        if (logits_mode == ST_LOGITS_LAST)
            for (int64_t b = 0; b < B; b++)
                memcpy(logits_out + b * V, out + (b * T + run->lengths[b] - 1) * V, sizeof(float) * V);
    } else if (logits_mode == ST_LOGITS_LAST) {
        for (int64_t b = 0; b < B; b++)   /* gather last valid rows, then one sgemm */
            memmove(a->normed + b * d, a->normed + (b * T + run->lengths[b] - 1) * d, sizeof(float) * d);
        unembed_rows(m, a->normed, B, logits_out, nt);
        CHECK_FINITE({ STRATA_HOOK_LN_FINAL_SCALE, -1, a->scale, 1, 0 },
                     { STRATA_HOOK_LN_FINAL_NORMALIZED, -1, a->normed, d, 1 },
                     { STRATA_HOOK_LOGITS, -1, logits_out, V, 1 });
    } else {
        CHECK_FINITE({ STRATA_HOOK_LN_FINAL_SCALE, -1, a->scale, 1, 0 },
                     { STRATA_HOOK_LN_FINAL_NORMALIZED, -1, a->normed, d, 0 });
    }
    return STRATA_OK;
}

/* embedding -> blocks 0..last -> read-out (when logits or final hooks need it) */
static int forward_impl(strata_model *m, const st_run *run, int logits_mode, float *logits_out)
{
    st_fwd f = { .m = m, .c = &m->cfg, .run = run, .B = run->B, .T = run->T,
                 .N = (int64_t)run->B * run->T, .Tk = (int64_t)run->pos0 + run->T, .nt = m->n_threads };
    const int need_final = logits_mode != ST_LOGITS_NONE || st_is_hooked(m, STRATA_HOOK_LOGITS, -1) ||
                           st_is_hooked(m, STRATA_HOOK_LN_FINAL_SCALE, -1) ||
                           st_is_hooked(m, STRATA_HOOK_LN_FINAL_NORMALIZED, -1);
    const int last = last_needed_layer(m, need_final);
    PASS(forward_prepare(&f, last, logits_mode));
    PASS(embed_forward(&f));
    for (int l = 0; l <= last; l++) PASS(block_forward(&f, l));
    if (!need_final) return STRATA_OK;
    return readout_forward(&f, logits_mode, logits_out);
}

/* Every kernel, sgemm included, runs on the OpenMP threads (see
 * st_linear_forward): OpenBLAS must be single-threaded during the pass
 * (util/blas_threads.h says when its count changes: not per run). */
int st_forward(strata_model *m, const st_run *run, int logits_mode, float *logits_out)
{
    st_blas_forward_begin();
    int rc = forward_impl(m, run, logits_mode, logits_out);
    st_blas_forward_end();
    return rc;
}

/* ---------------- public entry points ---------------- */

strata_status strata_model_readout(strata_model *m, const float *resid, int64_t n, float *logits)
{
    if (!m) return STRATA_ERR_ARG;
    st_err_clear(&m->err);
    if (!resid || !logits || n < 1)
        return st_seterr(&m->err, STRATA_ERR_ARG, "readout: resid, logits and n >= 1 are required");
    const int d = m->cfg.d_model;
    if ((uint64_t)n > SIZE_MAX / sizeof(float) / (uint64_t)d)
        return st_seterr(&m->err, STRATA_ERR_RANGE, "readout: %lld rows are too many", (long long)n);
    float *normed = malloc(sizeof(float) * (size_t)n * (size_t)d);   /* [n][d] */
    if (!normed) return st_seterr(&m->err, STRATA_ERR_NOMEM, "readout: out of memory (%lld rows)", (long long)n);
    st_blas_forward_begin();
    st_pack_model(m);
    st_norm_forward(m->cfg.norm_kind, resid, &m->ln_final, m->cfg.norm_eps, n, d, normed, NULL, m->n_threads);
    unembed_rows(m, normed, n, logits, m->n_threads);
    st_blas_forward_end();
    free(normed);
    return STRATA_OK;
}

static int check_batch(strata_model *m, const int32_t *tokens, const int32_t *lengths, int batch,
                       int pos0, int *T_out)
{
    if (!tokens || !lengths || batch <= 0)
        return st_seterr(&m->err, STRATA_ERR_ARG, "tokens, lengths and batch >= 1 are required");
    int T = 0;
    for (int b = 0; b < batch; b++) {
        if (lengths[b] < 1 || lengths[b] + pos0 > m->cfg.n_ctx)
            return st_seterr(&m->err, STRATA_ERR_RANGE,
                             "sequence %d: length %d out of range (1..%d, the model's context)", b,
                             lengths[b], m->cfg.n_ctx - pos0);
        if (lengths[b] > T) T = lengths[b];
    }
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < lengths[b]; t++) {
            int32_t id = tokens[(int64_t)b * T + t];
            if (id < 0 || id >= m->cfg.vocab_size)
                return st_seterr(&m->err, STRATA_ERR_RANGE,
                                 "sequence %d position %d: token id %d out of range (vocab size %d)",
                                 b, t, id, m->cfg.vocab_size);
        }
    *T_out = T;
    return STRATA_OK;
}

strata_status strata_run_v2(strata_model *m, const int32_t *tokens, const int32_t *lengths, int batch,
                            const strata_run_opts *opts, float *logits_out)
{
    if (!m) return STRATA_ERR_ARG;
    st_err_clear(&m->err);
    int T;
    ST_TRY(check_batch(m, tokens, lengths, batch, 0, &T));
    int mode = opts ? opts->logits : (logits_out ? ST_LOGITS_ALL : ST_LOGITS_NONE);
    if (mode < 0 || mode > 2) return st_seterr(&m->err, STRATA_ERR_ARG, "run option logits must be 0, 1 or 2");
    if (mode != ST_LOGITS_NONE && !logits_out)
        return st_seterr(&m->err, STRATA_ERR_ARG, "logits requested but logits_out is NULL");
    st_run run = { batch, T, 0, tokens, lengths, NULL };
    return st_forward(m, &run, mode, logits_out);
}

strata_status strata_run(strata_model *m, const int32_t *tokens, const int32_t *lengths, int batch,
                         float *logits_out)
{
    return strata_run_v2(m, tokens, lengths, batch, NULL, logits_out);
}

int st_kvcache_new(strata_model *m, int B, int cap, st_kvcache **out)
{
    int L = m->cfg.n_layers;
    size_t per = (size_t)B * cap * m->cfg.n_kv_heads * m->cfg.d_head;
    st_kvcache *kv = calloc(1, sizeof *kv);
    if (kv) {
        kv->k = calloc(L, sizeof(float *));
        kv->v = calloc(L, sizeof(float *));
    }
    int ok = kv && kv->k && kv->v;
    for (int l = 0; ok && l < L; l++) {
        kv->k[l] = malloc(per * sizeof(float));
        kv->v[l] = malloc(per * sizeof(float));
        ok = kv->k[l] && kv->v[l];
    }
    if (!ok) {
        st_kvcache_free(m, kv);
        return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory for the KV cache");
    }
    kv->cap = cap;
    kv->B = B;
    *out = kv;
    return STRATA_OK;
}

void st_kvcache_free(strata_model *m, st_kvcache *kv)
{
    if (!kv) return;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        if (kv->k) free(kv->k[l]);
        if (kv->v) free(kv->v[l]);
    }
    free(kv->k);
    free(kv->v);
    free(kv);
}

strata_status strata_generate(strata_model *m, const int32_t *prompt, int n_prompt, int n_new,
                              int32_t *out_ids)
{
    if (!m) return STRATA_ERR_ARG;
    st_err_clear(&m->err);
    if (n_new < 0 || (n_new > 0 && !out_ids))
        return st_seterr(&m->err, STRATA_ERR_ARG, "n_new must be >= 0 and out_ids non-NULL");
    int T;
    int32_t len = n_prompt;
    ST_TRY(check_batch(m, prompt, &len, 1, 0, &T));
    if (n_new == 0) return STRATA_OK;
    if ((int64_t)n_prompt + n_new - 1 > m->cfg.n_ctx)
        return st_seterr(&m->err, STRATA_ERR_RANGE, "prompt (%d) + new tokens (%d) exceed the context (%d)",
                         n_prompt, n_new, m->cfg.n_ctx);
    st_kvcache *kv;
    ST_TRY(st_kvcache_new(m, 1, n_prompt + n_new, &kv));
    float *logits = malloc(sizeof(float) * m->cfg.vocab_size);
    int rc = logits ? STRATA_OK : st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    st_run run = { 1, n_prompt, 0, prompt, &len, kv };
    if (!rc) rc = st_forward(m, &run, ST_LOGITS_LAST, logits);
    for (int i = 0; !rc && i < n_new; i++) {
        out_ids[i] = st_argmax(logits, m->cfg.vocab_size);
        if (i + 1 == n_new) break;
        int32_t one = 1;
        st_run step = { 1, 1, n_prompt + i, &out_ids[i], &one, kv };
        rc = st_forward(m, &step, ST_LOGITS_LAST, logits);
    }
    free(logits);
    st_kvcache_free(m, kv);
    return rc;
}
