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

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/finite.h"
#include "model/kernels.h"

typedef struct st_workspace {
    float *x, *n, *q, *k, *v, *z, *a, *mo, *h1, *h2, *qkv, *scale, *probs, *result, *logits;
    float *rope;   /* [T][rotary_dim/2][2] cos, sin for this run's positions */
    float *ent;    /* [slice rows] entropy of each pattern row, for pattern hooks */
    int32_t *zero_from;   /* [probs rows] each probs row is 0 from this column on */
    int64_t zf_rows, zf_Tk;   /* rows zero_from covers, for rows of zf_Tk floats */
    size_t cap[17];
} st_workspace;

static int ensure(strata_model *m, float **p, size_t *cap, size_t n)
{
    if (n <= *cap) return 0;
    float *np = realloc(*p, n * sizeof(float));
    if (!np) return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory (%zu floats)", n);
    *p = np;
    *cap = n;
    return 0;
}

void st_forward_release(strata_model *m)
{
    st_workspace *w = m->ws;
    if (!w) return;
    float **ps[] = { &w->x, &w->n, &w->q, &w->k, &w->v, &w->z, &w->a, &w->mo, &w->h1, &w->h2,
                     &w->qkv, &w->scale, &w->probs, &w->result, &w->logits, &w->rope, &w->ent };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) free(*ps[i]);
    free(w->zero_from);
    free(w);
    m->ws = NULL;
}

/* Hook helper: fire on a [B,T,...] buffer. */
#define FIRE(kind, layer, data, ndim, ...)                                                    \
    do {                                                                                      \
        if (st_is_hooked(m, kind, layer)) {                                                   \
            const int64_t shp_[] = { __VA_ARGS__ };                                           \
            int rc_ = st_hook_fire(m, run, kind, layer, data, ndim, shp_);                    \
            if (rc_) return rc_;                                                              \
        }                                                                                     \
    } while (0)

/* NaN/Inf scan (model/finite.c): the last point is scanned, the others
 * name the first point holding one.  Each point: { kind, layer, buffer,
 * floats per row[, last_only] }. */
#define CHECK_FINITE(...)                                                                     \
    do {                                                                                      \
        if (m->nonfinite_mode != STRATA_NONFINITE_OFF) {                                      \
            const st_finite_pt pts_[] = { __VA_ARGS__ };                                      \
            int rcf_ = st_finite_check(m, run, pts_, (int)(sizeof pts_ / sizeof pts_[0]));   \
            if (rcf_) return rcf_;                                                            \
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

static int forward_impl(strata_model *m, const st_run *run, int logits_mode, float *logits_out)
{
    const strata_config *c = &m->cfg;
    const int64_t B = run->B, T = run->T, N = B * T;
    const int d = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, dh = c->d_head, F = c->d_mlp;
    const int64_t qd = (int64_t)H * dh, kvd = (int64_t)Hkv * dh, V = c->vocab_size;
    const int nt = m->n_threads;

    if (!m->ws && !(m->ws = calloc(1, sizeof(st_workspace))))
        return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    st_workspace *w = m->ws;
    int need_final = logits_mode != ST_LOGITS_NONE || st_is_hooked(m, STRATA_HOOK_LOGITS, -1) ||
                     st_is_hooked(m, STRATA_HOOK_LN_FINAL_SCALE, -1) ||
                     st_is_hooked(m, STRATA_HOOK_LN_FINAL_NORMALIZED, -1);
    int last = last_needed_layer(m, need_final);
    const int64_t Tk = run->pos0 + T;
    int64_t probs_floats = 0, ent_floats = 0;   /* the largest slice of any layer */
    int any_result = 0;
    for (int l = 0; l <= last; l++) {
        if (st_is_hooked(m, STRATA_HOOK_ATTN_SCORES, l) || st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l)) {
            int regions;
            st_attn_plan p = attn_plan(m, l, B, T, Tk, &regions);
            const int64_t rows = p.nb * p.nh * p.nq * regions;
            if (rows * Tk > probs_floats) probs_floats = rows * Tk;
            if (st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l) && rows > ent_floats) ent_floats = rows;
        }
        any_result |= st_is_hooked(m, STRATA_HOOK_ATTN_RESULT, l);
    }
    int rc = 0;
    rc |= ensure(m, &w->x, &w->cap[0], N * d);
    rc |= ensure(m, &w->n, &w->cap[1], N * d);
    rc |= ensure(m, &w->q, &w->cap[2], N * qd);
    rc |= ensure(m, &w->k, &w->cap[3], N * kvd);
    rc |= ensure(m, &w->v, &w->cap[4], N * kvd);
    rc |= ensure(m, &w->z, &w->cap[5], N * qd);
    rc |= ensure(m, &w->a, &w->cap[6], N * d);
    rc |= ensure(m, &w->mo, &w->cap[7], N * d);
    rc |= ensure(m, &w->h1, &w->cap[8], N * F);
    if (c->gated_mlp) rc |= ensure(m, &w->h2, &w->cap[9], N * F);
    if (c->arch == STRATA_ARCH_NEOX) rc |= ensure(m, &w->qkv, &w->cap[10], N * 3 * qd);
    rc |= ensure(m, &w->scale, &w->cap[11], N);
    if (probs_floats) rc |= ensure(m, &w->probs, &w->cap[12], probs_floats);
    if (ent_floats) rc |= ensure(m, &w->ent, &w->cap[16], ent_floats);
    if (probs_floats && !rc && (w->zf_Tk != Tk || w->zf_rows != (int64_t)(w->cap[12] / Tk))) {
        /* probs rows changed length or number: nothing is known to be zero */
        const int64_t rows = (int64_t)(w->cap[12] / Tk);
        int32_t *zf = realloc(w->zero_from, sizeof *zf * (size_t)rows);
        if (!zf) return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory (%lld rows)", (long long)rows);
        for (int64_t r = 0; r < rows; r++) zf[r] = (int32_t)Tk;
        w->zero_from = zf;
        w->zf_rows = rows;
        w->zf_Tk = Tk;
    }
    if (any_result) rc |= ensure(m, &w->result, &w->cap[13], N * H * d);
    if (c->rope != STRATA_ROPE_NONE) rc |= ensure(m, &w->rope, &w->cap[15], T * (c->rotary_dim / 2) * 2);
    if (rc) return STRATA_ERR_NOMEM;
    /* one rotary table per run, shared by q and k of every layer */
    if (c->rope != STRATA_ROPE_NONE) st_rope_table(w->rope, T, c->rotary_dim, c->rope_theta, run->pos0);

    /* ---- embeddings: x[b,t] = E[token] (+ P[pos0 + t]) ---- */
    float *x = w->x;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            int32_t tok = t < run->lengths[b] ? run->tokens[b * T + t] : 0;
            memcpy(x + (b * T + t) * d, m->tok_embed + (int64_t)tok * d, sizeof(float) * d);
        }
    FIRE(STRATA_HOOK_EMBED, -1, x, 3, B, T, d);
    if (m->pos_embed) {
        float *p = w->n;
        for (int64_t b = 0; b < B; b++)
            for (int64_t t = 0; t < T; t++)
                memcpy(p + (b * T + t) * d, m->pos_embed + (run->pos0 + t) * d, sizeof(float) * d);
        FIRE(STRATA_HOOK_POS_EMBED, -1, p, 3, B, T, d);
        for (int64_t i = 0; i < N * d; i++) x[i] += p[i];
    }
    CHECK_FINITE({ STRATA_HOOK_POS_EMBED, -1, m->pos_embed ? w->n : NULL, d, 0 },
                 { STRATA_HOOK_EMBED, -1, x, d, 0 });

    for (int l = 0; l <= last; l++) {
        const st_layer *ly = &m->layers[l];
        FIRE(STRATA_HOOK_RESID_PRE, l, x, 3, B, T, d);
        st_norm_forward(c->norm_kind, x, &ly->ln1, c->norm_eps, N, d, w->n, w->scale, nt);
        FIRE(STRATA_HOOK_LN1_SCALE, l, w->scale, 3, B, T, 1);
        FIRE(STRATA_HOOK_LN1_NORMALIZED, l, w->n, 3, B, T, d);

        /* q [N][H*dh], k, v [N][Hkv*dh] */
        if (ly->qkv_layout == ST_QKV_NEOX) {
            st_linear_forward(&ly->qkv, w->n, d, N, w->qkv, 3 * qd, nt);
            /* fused row of head h: q_h | k_h | v_h (dh each) */
#pragma omp parallel for num_threads(st_par_threads(nt, (double)N * 3 * qd)) schedule(static)
            for (int64_t i = 0; i < N; i++)
                for (int h = 0; h < H; h++) {
                    const float *src = w->qkv + i * 3 * qd + (int64_t)h * 3 * dh;
                    memcpy(w->q + i * qd + h * dh, src, sizeof(float) * dh);
                    memcpy(w->k + i * kvd + h * dh, src + dh, sizeof(float) * dh);
                    memcpy(w->v + i * kvd + h * dh, src + 2 * dh, sizeof(float) * dh);
                }
        } else {
            st_linear_forward(&ly->q, w->n, d, N, w->q, qd, nt);
            st_linear_forward(&ly->k, w->n, d, N, w->k, kvd, nt);
            st_linear_forward(&ly->v, w->n, d, N, w->v, kvd, nt);
        }
        FIRE(STRATA_HOOK_ATTN_Q, l, w->q, 4, B, T, H, dh);
        FIRE(STRATA_HOOK_ATTN_K, l, w->k, 4, B, T, Hkv, dh);
        FIRE(STRATA_HOOK_ATTN_V, l, w->v, 4, B, T, Hkv, dh);
        if (c->rope != STRATA_ROPE_NONE) {
            st_rope_apply(c->rope, w->q, B, T, H, dh, c->rotary_dim, w->rope, nt);
            st_rope_apply(c->rope, w->k, B, T, Hkv, dh, c->rotary_dim, w->rope, nt);
            FIRE(STRATA_HOOK_ATTN_ROT_Q, l, w->q, 4, B, T, H, dh);
            FIRE(STRATA_HOOK_ATTN_ROT_K, l, w->k, 4, B, T, Hkv, dh);
        }

        /* keys/values: this call's own, or the cache (generation) */
        const float *kb = w->k, *vb = w->v;
        int64_t kv_bstride = T * kvd;
        if (run->kv) {
            st_kvcache *kv = run->kv;
            for (int64_t b = 0; b < B; b++) {
                memcpy(kv->k[l] + (b * kv->cap + run->pos0) * kvd, w->k + b * T * kvd, sizeof(float) * T * kvd);
                memcpy(kv->v[l] + (b * kv->cap + run->pos0) * kvd, w->v + b * T * kvd, sizeof(float) * T * kvd);
            }
            kb = kv->k[l];
            vb = kv->v[l];
            kv_bstride = (int64_t)kv->cap * kvd;
        }
        const int scores_hooked = st_is_hooked(m, STRATA_HOOK_ATTN_SCORES, l);
        const int layer_probs = scores_hooked || st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l);
        struct attn_cb_ctx cbc = { m, run, l, Tk };
        st_attn_io io = {
            .probs = w->probs, .zero_from = w->zero_from, .scores_hooked = scores_hooked,
            .between = attn_between, .cb_ctx = &cbc,
            .ent = st_is_hooked(m, STRATA_HOOK_ATTN_PATTERN, l) ? w->ent : NULL,
            .pattern_readonly = st_hooks_all_have(m, STRATA_HOOK_ATTN_SCORES, l, STRATA_HOOK_READONLY) &&
                                st_hooks_all_have(m, STRATA_HOOK_ATTN_PATTERN, l, STRATA_HOOK_READONLY),
        };
        if (layer_probs) io.plan = attn_plan(m, l, B, T, Tk, &io.regions);
        const st_attn_params ap = { c->attn_scale, c->attn_softcap, ly->window };
        rc = st_attention(w->q, kb, vb, kv_bstride, B, T, H, Hkv, dh, run->pos0, run->lengths, w->z,
                          &ap, layer_probs ? &io : NULL, nt);
        if (rc) return rc;
        FIRE(STRATA_HOOK_ATTN_Z, l, w->z, 4, B, T, H, dh);

        /* attn_out [N][d] = z . W_O^T + b;  with hook_result: sum over heads of
         * result[n,h,:] = z[n,h,:] . W_O[:, h*dh:(h+1)*dh]^T  (bias added once) */
        if (st_is_hooked(m, STRATA_HOOK_ATTN_RESULT, l)) {
            const st_linear *o = &ly->o;
            for (int h = 0; h < H; h++) {
                st_linear part = *o;
                part.b = NULL;
                part.n_in = dh;
                part.w = o->in_out ? o->w + (int64_t)h * dh * o->ld : o->w + (int64_t)h * dh;
                st_linear_forward(&part, w->z + (int64_t)h * dh, qd, N, w->result + (int64_t)h * d,
                                  (int64_t)H * d, nt);
            }
            FIRE(STRATA_HOOK_ATTN_RESULT, l, w->result, 4, B, T, H, d);
            for (int64_t i = 0; i < N; i++) {
                float *ar = w->a + i * d;
                for (int j = 0; j < d; j++) ar[j] = o->b ? o->b[j] : 0.0f;
                for (int h = 0; h < H; h++) {
                    const float *rr = w->result + (i * H + h) * d;
                    for (int j = 0; j < d; j++) ar[j] += rr[j];
                }
            }
        } else {
            st_linear_forward(&ly->o, w->z, qd, N, w->a, d, nt);
        }
        FIRE(STRATA_HOOK_ATTN_OUT, l, w->a, 3, B, T, d);
        {
            const int rot = c->rope != STRATA_ROPE_NONE;
            CHECK_FINITE({ STRATA_HOOK_LN1_SCALE, l, w->scale, 1, 0 },
                         { STRATA_HOOK_LN1_NORMALIZED, l, w->n, d, 0 },
                         { rot ? STRATA_HOOK_ATTN_ROT_Q : STRATA_HOOK_ATTN_Q, l, w->q, qd, 0 },
                         { rot ? STRATA_HOOK_ATTN_ROT_K : STRATA_HOOK_ATTN_K, l, w->k, kvd, 0 },
                         { STRATA_HOOK_ATTN_V, l, w->v, kvd, 0 },
                         { STRATA_HOOK_ATTN_Z, l, w->z, qd, 0 },
                         { STRATA_HOOK_ATTN_OUT, l, w->a, d, 0 });
        }

        if (c->attn_only) {   /* resid_post = resid_pre + attn_out */
            for (int64_t i = 0; i < N * d; i++) x[i] += w->a[i];
            FIRE(STRATA_HOOK_RESID_POST, l, x, 3, B, T, d);
            CHECK_FINITE({ STRATA_HOOK_RESID_POST, l, x, d, 0 });
            continue;
        }
        if (!c->parallel_residual) {
            for (int64_t i = 0; i < N * d; i++) x[i] += w->a[i];
            FIRE(STRATA_HOOK_RESID_MID, l, x, 3, B, T, d);
        }
        /* parallel residual: the MLP reads ln2(resid_pre) */
        st_norm_forward(c->norm_kind, x, &ly->ln2, c->norm_eps, N, d, w->n, w->scale, nt);
        FIRE(STRATA_HOOK_LN2_SCALE, l, w->scale, 3, B, T, 1);
        FIRE(STRATA_HOOK_LN2_NORMALIZED, l, w->n, 3, B, T, d);

        st_linear_forward(&ly->mlp_in, w->n, d, N, w->h1, F, nt);
        FIRE(STRATA_HOOK_MLP_PRE, l, w->h1, 3, B, T, F);
        if (c->gated_mlp) {
            st_linear_forward(&ly->mlp_up, w->n, d, N, w->h2, F, nt);
            FIRE(STRATA_HOOK_MLP_PRE_LINEAR, l, w->h2, 3, B, T, F);
        }
        st_act_forward(c->act, w->h1, c->gated_mlp ? w->h2 : NULL, N * F, nt);
        FIRE(STRATA_HOOK_MLP_POST, l, w->h1, 3, B, T, F);
        st_linear_forward(&ly->mlp_out, w->h1, F, N, w->mo, d, nt);
        FIRE(STRATA_HOOK_MLP_OUT, l, w->mo, 3, B, T, d);
        CHECK_FINITE({ STRATA_HOOK_LN2_SCALE, l, w->scale, 1, 0 },
                     { STRATA_HOOK_LN2_NORMALIZED, l, w->n, d, 0 },
                     { STRATA_HOOK_MLP_PRE_LINEAR, l, c->gated_mlp ? w->h2 : NULL, F, 0 },
                     { STRATA_HOOK_MLP_POST, l, w->h1, F, 0 },
                     { STRATA_HOOK_MLP_OUT, l, w->mo, d, 0 });

        if (c->parallel_residual)
            for (int64_t i = 0; i < N * d; i++) x[i] += w->a[i] + w->mo[i];
        else
            for (int64_t i = 0; i < N * d; i++) x[i] += w->mo[i];
        FIRE(STRATA_HOOK_RESID_POST, l, x, 3, B, T, d);
        CHECK_FINITE({ STRATA_HOOK_RESID_POST, l, x, d, 0 });
    }
    if (!need_final) return STRATA_OK;

    st_norm_forward(c->norm_kind, x, &m->ln_final, c->norm_eps, N, d, w->n, w->scale, nt);
    FIRE(STRATA_HOOK_LN_FINAL_SCALE, -1, w->scale, 3, B, T, 1);
    FIRE(STRATA_HOOK_LN_FINAL_NORMALIZED, -1, w->n, 3, B, T, d);

    /* logits [rows][V] = n . U^T (+ b) */
    st_linear un = { m->unembed, m->unembed_b, d, (int32_t)V, 0, d };
    int hook_logits = st_is_hooked(m, STRATA_HOOK_LOGITS, -1);
    if (logits_mode == ST_LOGITS_ALL || hook_logits) {
        float *out = logits_mode == ST_LOGITS_ALL ? logits_out : NULL;
        if (!out) {
            if (ensure(m, &w->logits, &w->cap[14], N * V)) return STRATA_ERR_NOMEM;
            out = w->logits;
        }
        st_linear_forward(&un, w->n, d, N, out, V, nt);
        FIRE(STRATA_HOOK_LOGITS, -1, out, 3, B, T, V);
        CHECK_FINITE({ STRATA_HOOK_LN_FINAL_SCALE, -1, w->scale, 1, 0 },
                     { STRATA_HOOK_LN_FINAL_NORMALIZED, -1, w->n, d, 0 },
                     { STRATA_HOOK_LOGITS, -1, out, V, 0 });
        if (logits_mode == ST_LOGITS_LAST)
            for (int64_t b = 0; b < B; b++)
                memcpy(logits_out + b * V, out + (b * T + run->lengths[b] - 1) * V, sizeof(float) * V);
    } else if (logits_mode == ST_LOGITS_LAST) {
        for (int64_t b = 0; b < B; b++)   /* gather last valid rows, then one sgemm */
            memmove(w->n + b * d, w->n + (b * T + run->lengths[b] - 1) * d, sizeof(float) * d);
        st_linear_forward(&un, w->n, d, B, logits_out, V, nt);
        CHECK_FINITE({ STRATA_HOOK_LN_FINAL_SCALE, -1, w->scale, 1, 0 },
                     { STRATA_HOOK_LN_FINAL_NORMALIZED, -1, w->n, d, 1 },
                     { STRATA_HOOK_LOGITS, -1, logits_out, V, 1 });
    } else {
        CHECK_FINITE({ STRATA_HOOK_LN_FINAL_SCALE, -1, w->scale, 1, 0 },
                     { STRATA_HOOK_LN_FINAL_NORMALIZED, -1, w->n, d, 0 });
    }
    return STRATA_OK;
}

/* Every kernel, sgemm included, runs on the OpenMP threads (see
 * st_linear_forward): OpenBLAS is single-threaded for the duration of the
 * pass and gets its previous thread count back afterwards. */
int st_forward(strata_model *m, const st_run *run, int logits_mode, float *logits_out)
{
    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    int rc = forward_impl(m, run, logits_mode, logits_out);
    if (prev != 1) openblas_set_num_threads(prev);
    return rc;
}

/* ---------------- public entry points ---------------- */

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
