/* model/weights.c — read-only views of the weights under TransformerLens
 * names and layouts (strata_model_weight), without copying: each view is
 * the stored matrix re-indexed through strides.
 *
 * A stored linear map (st_linear) computes y[o] = sum_i x[i] M[o][i] + b[o],
 * with M[o][i] at w[o*so + i*si]: so = ld, si = 1 when stored [out][in]
 * (HF nn.Linear, GGUF); so = 1, si = ld when stored [in][out] (GPT-2 Conv1D).
 * TransformerLens multiplies on the right (x @ W), so its matrices are M^T
 * split by head:
 *   W_Q[h][i][j]  = M_q[h*dh + j][i]      [H][d][dh]   strides (dh*so, si, so)
 *   (NeoX fused qkv: row h*3dh + part*dh + j, part 0/1/2 = q/k/v)
 *   W_O[h][j][k]  = M_o[k][h*dh + j]      [H][dh][d]   strides (dh*si, si, so)
 *   W_in[i][f]    = M_in[f][i]            [d][F]       strides (si, so)
 *   W_out[f][k]   = M_out[k][f]           [F][d]       strides (si, so)
 *   W_U[i][v]     = unembed[v][i]         [d][V]       strides (1, d)
 * Gated MLPs (Llama): W_gate is the gate projection, W_in the up projection,
 * as TransformerLens names them. */
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"
#include "util/suggest.h"

static void view(strata_tensor *t, const float *data, int nd, const int64_t *shape,
                 const int64_t *strides)
{
    memset(t, 0, sizeof *t);
    t->data = (float *)data;   /* read-only by contract (may be a PROT_READ mmap) */
    t->ndim = nd;
    for (int k = 0; k < STRATA_MAX_DIMS; k++) {
        t->shape[k] = k < nd ? shape[k] : 1;
        t->strides[k] = k < nd ? strides[k] : 0;
    }
}

static void lin_strides(const st_linear *L, int64_t *so, int64_t *si)
{
    if (L->in_out) { *so = 1; *si = L->ld; }
    else { *so = L->ld; *si = 1; }
}

/* Names, in a fixed order; returns how many, writing the i-th into buf when
 * 0 <= want == i (buf may be NULL otherwise). */
enum { W_GLOBAL_FIRST = 0 };
static const char *const attn_names[] = { "W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O" };
static const char *const mlp_names[] = { "W_in", "b_in", "W_gate", "W_out", "b_out" };

/* 1 when the named per-layer weight exists in layer ly. */
static int layer_has(const strata_model *m, const st_layer *ly, const char *part, const char *n)
{
    int neox = ly->qkv_layout == ST_QKV_NEOX;
    if (!strcmp(part, "attn")) {
        if (n[0] == 'W') return 1;
        if (!strcmp(n, "b_O")) return ly->o.b != NULL;
        return neox ? ly->qkv.b != NULL : (n[2] == 'Q' ? ly->q.b : n[2] == 'K' ? ly->k.b : ly->v.b) != NULL;
    }
    if (!strcmp(part, "mlp")) {
        if (!ly->mlp_in.w) return 0;   /* attention-only model */
        if (!strcmp(n, "W_gate")) return m->cfg.gated_mlp;
        if (!strcmp(n, "b_in")) return (m->cfg.gated_mlp ? ly->mlp_up.b : ly->mlp_in.b) != NULL;
        if (!strcmp(n, "b_out")) return ly->mlp_out.b != NULL;
        return 1;
    }
    const st_norm *nm = !strcmp(part, "ln1") ? &ly->ln1 : &ly->ln2;
    return n[0] == 'w' ? nm->w != NULL : nm->b != NULL;
}

static int enumerate(const strata_model *m, int want, char *buf, size_t len)
{
    int i = 0;
#define EMIT(...) do { if (i == want && buf) snprintf(buf, len, __VA_ARGS__); i++; } while (0)
    EMIT("W_E");
    if (m->pos_embed) EMIT("W_pos");
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const st_layer *ly = &m->layers[l];
        for (int k = 0; k < 2; k++)
            if (layer_has(m, ly, "ln1", k ? "b" : "w")) EMIT("blocks.%d.ln1.%s", l, k ? "b" : "w");
        for (int k = 0; k < 8; k++)
            if (layer_has(m, ly, "attn", attn_names[k])) EMIT("blocks.%d.attn.%s", l, attn_names[k]);
        for (int k = 0; k < 2; k++)
            if (layer_has(m, ly, "ln2", k ? "b" : "w")) EMIT("blocks.%d.ln2.%s", l, k ? "b" : "w");
        for (int k = 0; k < 5; k++)
            if (layer_has(m, ly, "mlp", mlp_names[k])) EMIT("blocks.%d.mlp.%s", l, mlp_names[k]);
    }
    if (m->ln_final.w) EMIT("ln_final.w");
    if (m->ln_final.b) EMIT("ln_final.b");
    EMIT("W_U");
    if (m->unembed_b) EMIT("b_U");
#undef EMIT
    return i;
}

int strata_model_n_weights(const strata_model *m) { return m ? enumerate(m, -1, NULL, 0) : 0; }

strata_status strata_model_weight_name(const strata_model *m, int i, char *buf, size_t len)
{
    if (!m || !buf || len == 0 || i < 0 || i >= strata_model_n_weights(m)) return STRATA_ERR_ARG;
    enumerate(m, i, buf, len);
    return STRATA_OK;
}

static int not_found(strata_model *m, const char *name)
{
    st_suggest sg;
    st_suggest_init(&sg, name);
    int n = strata_model_n_weights(m);
    char cand[128];
    for (int i = 0; i < n; i++) {
        enumerate(m, i, cand, sizeof cand);
        st_suggest_offer(&sg, cand);
    }
    if (sg.best[0])
        return st_seterr(&m->err, STRATA_ERR_NOTFOUND, "weight '%s': this model has no such "
                         "weight; did you mean '%s'?", name, sg.best);
    return st_seterr(&m->err, STRATA_ERR_NOTFOUND, "weight '%s': this model has no such weight "
                     "(%d weights: W_E, blocks.0.attn.W_Q, ..., W_U; "
                     "strata_model_weight_name lists them)", name, n);
}

/* 1 if `name` is a matrix kept in its stored type (F16/BF16/Q8_0): no
 * float32 view of it exists. */
static int stored_matrix(const strata_model *m, const char *name)
{
    if (!strcmp(name, "W_E")) return m->embed.wtype != ST_WT_F32;
    if (!strcmp(name, "W_U")) return m->unembed_lin.wtype != ST_WT_F32;
    int l, pos = 0;
    char part[8], w[16];
    if (sscanf(name, "blocks.%d.%7[^.].%15s%n", &l, part, w, &pos) != 3 || l < 0 || l >= m->cfg.n_layers ||
        w[0] != 'W')
        return 0;
    const st_layer *ly = &m->layers[l];
    if (!strcmp(part, "mlp"))
        return ly->mlp_in.wtype != ST_WT_F32 || ly->mlp_up.wtype != ST_WT_F32 || ly->mlp_out.wtype != ST_WT_F32;
    if (!strcmp(part, "attn"))
        return ly->q.wtype != ST_WT_F32 || ly->k.wtype != ST_WT_F32 || ly->v.wtype != ST_WT_F32 ||
               ly->qkv.wtype != ST_WT_F32 || ly->o.wtype != ST_WT_F32;
    return 0;
}

static strata_status weight_view(strata_model *m, const char *name, strata_tensor *out);

strata_status strata_model_weight(strata_model *m, const char *name, strata_tensor *out)
{
    if (m && name && stored_matrix(m, name))
        return st_seterr(&m->err, STRATA_ERR_UNSUPPORTED, "weight '%s' is kept in its stored type "
                         "(F16/BF16/Q8_0) and has no float32 view; open the model with weights_f32 "
                         "(C: strata_open_opts.weights_f32, Python: weights_f32=True)", name);
    return weight_view(m, name, out);
}

static strata_status weight_view(strata_model *m, const char *name, strata_tensor *out)
{
    if (!m) return STRATA_ERR_ARG;
    if (!name || !out) return st_seterr(&m->err, STRATA_ERR_ARG, "weight name and output must not be NULL");
    const strata_config *c = &m->cfg;
    int64_t d = c->d_model, V = c->vocab_size, H = c->n_heads, Hkv = c->n_kv_heads, dh = c->d_head;
    if (!strcmp(name, "W_E")) { int64_t s[2] = { V, d }, st[2] = { d, 1 }; view(out, m->tok_embed, 2, s, st); return STRATA_OK; }
    if (!strcmp(name, "W_pos") && m->pos_embed) { int64_t s[2] = { c->n_ctx, d }, st[2] = { d, 1 }; view(out, m->pos_embed, 2, s, st); return STRATA_OK; }
    if (!strcmp(name, "W_U")) { int64_t s[2] = { d, V }, st[2] = { 1, d }; view(out, m->unembed, 2, s, st); return STRATA_OK; }
    if (!strcmp(name, "b_U") && m->unembed_b) { int64_t s[1] = { V }, st[1] = { 1 }; view(out, m->unembed_b, 1, s, st); return STRATA_OK; }
    if (!strncmp(name, "ln_final.", 9)) {
        const float *p = !strcmp(name + 9, "w") ? m->ln_final.w : !strcmp(name + 9, "b") ? m->ln_final.b : NULL;
        if (!p) return not_found(m, name);
        int64_t s[1] = { d }, st[1] = { 1 };
        view(out, p, 1, s, st);
        return STRATA_OK;
    }
    int l, pos = 0;
    char part[8], w[16];
    if (sscanf(name, "blocks.%d.%7[^.].%15s%n", &l, part, w, &pos) != 3 || name[pos] ||
        l < 0 || l >= c->n_layers || (strcmp(part, "attn") && strcmp(part, "mlp") &&
                                      strcmp(part, "ln1") && strcmp(part, "ln2")))
        return not_found(m, name);
    /* reject leading zeros / signs in the layer ("blocks.01.") */
    char canon[64];
    snprintf(canon, sizeof canon, "blocks.%d.%s.%s", l, part, w);
    if (strcmp(canon, name)) return not_found(m, name);
    const st_layer *ly = &m->layers[l];
    int known = 0;
    if (!strcmp(part, "ln1") || !strcmp(part, "ln2")) known = !strcmp(w, "w") || !strcmp(w, "b");
    else if (!strcmp(part, "attn")) for (int k = 0; k < 8; k++) known |= !strcmp(w, attn_names[k]);
    else for (int k = 0; k < 5; k++) known |= !strcmp(w, mlp_names[k]);
    if (!known || !layer_has(m, ly, part, w)) return not_found(m, name);
    if (part[0] == 'l') {
        const st_norm *nm = part[2] == '1' ? &ly->ln1 : &ly->ln2;
        int64_t s[1] = { d }, st[1] = { 1 };
        view(out, w[0] == 'w' ? nm->w : nm->b, 1, s, st);
        return STRATA_OK;
    }
    int64_t so, si;
    if (part[0] == 'm') {
        int64_t F = c->d_mlp;
        const st_linear *L = !strcmp(w, "W_gate") ? &ly->mlp_in
                           : !strcmp(w, "W_in") || !strcmp(w, "b_in") ? (c->gated_mlp ? &ly->mlp_up : &ly->mlp_in)
                           : &ly->mlp_out;
        if (w[0] == 'b') {
            int64_t s[1] = { L == &ly->mlp_out ? d : F }, st[1] = { 1 };
            view(out, L->b, 1, s, st);
            return STRATA_OK;
        }
        lin_strides(L, &so, &si);
        int64_t s[2], st[2] = { si, so };
        s[0] = L == &ly->mlp_out ? F : d;
        s[1] = L == &ly->mlp_out ? d : F;
        view(out, L->w, 2, s, st);
        return STRATA_OK;
    }
    /* attention */
    char which = w[2];   /* Q K V O */
    if (which == 'O') {
        lin_strides(&ly->o, &so, &si);
        if (w[0] == 'b') { int64_t s[1] = { d }, st[1] = { 1 }; view(out, ly->o.b, 1, s, st); return STRATA_OK; }
        int64_t s[3] = { H, dh, d }, st[3] = { dh * si, si, so };
        view(out, ly->o.w, 3, s, st);
        return STRATA_OK;
    }
    int64_t nh = which == 'Q' ? H : Hkv;
    if (ly->qkv_layout == ST_QKV_NEOX) {
        int part_i = which == 'Q' ? 0 : which == 'K' ? 1 : 2;
        lin_strides(&ly->qkv, &so, &si);
        if (w[0] == 'b') {
            int64_t s[2] = { nh, dh }, st[2] = { 3 * dh, 1 };
            view(out, ly->qkv.b + part_i * dh, 2, s, st);
            return STRATA_OK;
        }
        int64_t s[3] = { nh, d, dh }, st[3] = { 3 * dh * so, si, so };
        view(out, ly->qkv.w + part_i * dh * so, 3, s, st);
        return STRATA_OK;
    }
    const st_linear *L = which == 'Q' ? &ly->q : which == 'K' ? &ly->k : &ly->v;
    if (w[0] == 'b') {
        int64_t s[2] = { nh, dh }, st[2] = { dh, 1 };
        view(out, L->b, 2, s, st);
        return STRATA_OK;
    }
    lin_strides(L, &so, &si);
    int64_t s[3] = { nh, d, dh }, st[3] = { dh * so, si, so };
    view(out, L->w, 3, s, st);
    return STRATA_OK;
}
