/* model/hooks.c — hook-point names (TransformerLens), glob registration,
 * head selection and dispatch. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "util/suggest.h"
#include "model/forward.h"

/* Suffix per kind, in enum order; per-layer kinds get "blocks.{l}." before it. */
static const struct { const char *suffix; int per_layer; int head_axis; } KINDS[STRATA_HOOK_KIND_COUNT] = {
    [STRATA_HOOK_EMBED] = { "hook_embed", 0, -1 },
    [STRATA_HOOK_POS_EMBED] = { "hook_pos_embed", 0, -1 },
    [STRATA_HOOK_RESID_PRE] = { "hook_resid_pre", 1, -1 },
    [STRATA_HOOK_LN1_SCALE] = { "ln1.hook_scale", 1, -1 },
    [STRATA_HOOK_LN1_NORMALIZED] = { "ln1.hook_normalized", 1, -1 },
    [STRATA_HOOK_ATTN_Q] = { "attn.hook_q", 1, 2 },
    [STRATA_HOOK_ATTN_K] = { "attn.hook_k", 1, 2 },
    [STRATA_HOOK_ATTN_V] = { "attn.hook_v", 1, 2 },
    [STRATA_HOOK_ATTN_ROT_Q] = { "attn.hook_rot_q", 1, 2 },
    [STRATA_HOOK_ATTN_ROT_K] = { "attn.hook_rot_k", 1, 2 },
    [STRATA_HOOK_ATTN_SCORES] = { "attn.hook_attn_scores", 1, 1 },
    [STRATA_HOOK_ATTN_PATTERN] = { "attn.hook_pattern", 1, 1 },
    [STRATA_HOOK_ATTN_Z] = { "attn.hook_z", 1, 2 },
    [STRATA_HOOK_ATTN_RESULT] = { "attn.hook_result", 1, 2 },
    [STRATA_HOOK_ATTN_OUT] = { "hook_attn_out", 1, -1 },
    [STRATA_HOOK_RESID_MID] = { "hook_resid_mid", 1, -1 },
    [STRATA_HOOK_LN2_SCALE] = { "ln2.hook_scale", 1, -1 },
    [STRATA_HOOK_LN2_NORMALIZED] = { "ln2.hook_normalized", 1, -1 },
    [STRATA_HOOK_MLP_PRE] = { "mlp.hook_pre", 1, -1 },
    [STRATA_HOOK_MLP_PRE_LINEAR] = { "mlp.hook_pre_linear", 1, -1 },
    [STRATA_HOOK_MLP_POST] = { "mlp.hook_post", 1, -1 },
    [STRATA_HOOK_MLP_OUT] = { "hook_mlp_out", 1, -1 },
    [STRATA_HOOK_RESID_POST] = { "hook_resid_post", 1, -1 },
    [STRATA_HOOK_LN_FINAL_SCALE] = { "ln_final.hook_scale", 0, -1 },
    [STRATA_HOOK_LN_FINAL_NORMALIZED] = { "ln_final.hook_normalized", 0, -1 },
    [STRATA_HOOK_LOGITS] = { "hook_logits", 0, -1 },
    [STRATA_HOOK_LN1_POST_SCALE] = { "ln1_post.hook_scale", 1, -1 },
    [STRATA_HOOK_LN1_POST_NORMALIZED] = { "ln1_post.hook_normalized", 1, -1 },
    [STRATA_HOOK_LN2_POST_SCALE] = { "ln2_post.hook_scale", 1, -1 },
    [STRATA_HOOK_LN2_POST_NORMALIZED] = { "ln2_post.hook_normalized", 1, -1 },
};

/* The per-block kinds in forward order (the enum is append-only, so kinds
 * added later sit at the end of it but inside the block here). */
static const int BLOCK_ORDER[] = {
    STRATA_HOOK_RESID_PRE, STRATA_HOOK_LN1_SCALE, STRATA_HOOK_LN1_NORMALIZED, STRATA_HOOK_ATTN_Q,
    STRATA_HOOK_ATTN_K, STRATA_HOOK_ATTN_V, STRATA_HOOK_ATTN_ROT_Q, STRATA_HOOK_ATTN_ROT_K,
    STRATA_HOOK_ATTN_SCORES, STRATA_HOOK_ATTN_PATTERN, STRATA_HOOK_ATTN_Z, STRATA_HOOK_ATTN_RESULT,
    STRATA_HOOK_LN1_POST_SCALE, STRATA_HOOK_LN1_POST_NORMALIZED, STRATA_HOOK_ATTN_OUT,
    STRATA_HOOK_RESID_MID, STRATA_HOOK_LN2_SCALE, STRATA_HOOK_LN2_NORMALIZED, STRATA_HOOK_MLP_PRE,
    STRATA_HOOK_MLP_PRE_LINEAR, STRATA_HOOK_MLP_POST, STRATA_HOOK_LN2_POST_SCALE,
    STRATA_HOOK_LN2_POST_NORMALIZED, STRATA_HOOK_MLP_OUT, STRATA_HOOK_RESID_POST,
};

const char *strata_hook_kind_name(int kind)
{
    return kind >= 0 && kind < STRATA_HOOK_KIND_COUNT ? KINDS[kind].suffix : NULL;
}

int st_hook_head_axis(int kind) { return KINDS[kind].head_axis; }

int strata_hook_name(int kind, int layer, char *buf, int buf_len)
{
    if (kind < 0 || kind >= STRATA_HOOK_KIND_COUNT || !buf || buf_len <= 0) return -1;
    int n = KINDS[kind].per_layer ? snprintf(buf, buf_len, "blocks.%d.%s", layer, KINDS[kind].suffix)
                                  : snprintf(buf, buf_len, "%s", KINDS[kind].suffix);
    return n < buf_len ? n : -1;
}

/* Strips an optional "[h]" suffix: returns head (or -1) and the base length. */
static int split_head(const char *name, size_t *base_len, int *head)
{
    size_t n = strlen(name);
    *head = -1;
    *base_len = n;
    if (n < 3 || name[n - 1] != ']') return 0;
    const char *lb = strrchr(name, '[');
    if (!lb || lb[1] == ']') return 0;
    int h = 0;
    for (const char *p = lb + 1; p < name + n - 1; p++) {
        if (*p < '0' || *p > '9' || h > 100000) return -1;
        h = h * 10 + (*p - '0');
    }
    *head = h;
    *base_len = (size_t)(lb - name);
    return 0;
}

strata_status strata_hook_parse(const char *name, int *kind, int *layer, int *head)
{
    if (!name) return STRATA_ERR_ARG;
    size_t bl;
    int h;
    if (split_head(name, &bl, &h) < 0) return STRATA_ERR_ARG;
    char base[256];
    if (bl >= sizeof base) return STRATA_ERR_ARG;
    memcpy(base, name, bl);
    base[bl] = 0;
    int l = -1;
    const char *suffix = base;
    if (!strncmp(base, "blocks.", 7)) {
        char *end;
        long v = strtol(base + 7, &end, 10);
        if (end == base + 7 || *end != '.' || v < 0 || v > 1000000) return STRATA_ERR_ARG;
        l = (int)v;
        suffix = end + 1;
    }
    for (int k = 0; k < STRATA_HOOK_KIND_COUNT; k++) {
        if (strcmp(suffix, KINDS[k].suffix)) continue;
        if (KINDS[k].per_layer != (l >= 0)) return STRATA_ERR_ARG;
        if (h >= 0 && KINDS[k].head_axis < 0) return STRATA_ERR_ARG;
        if (kind) *kind = k;
        if (layer) *layer = l;
        if (head) *head = h;
        return STRATA_OK;
    }
    return STRATA_ERR_ARG;
}

int st_hook_point_exists(const strata_model *m, int kind, int layer)
{
    const strata_config *c = &m->cfg;
    if (kind < 0 || kind >= STRATA_HOOK_KIND_COUNT) return 0;
    if (KINDS[kind].per_layer ? (layer < 0 || layer >= c->n_layers) : layer != -1) return 0;
    switch (kind) {
    case STRATA_HOOK_POS_EMBED: return m->pos_embed != NULL;
    case STRATA_HOOK_ATTN_ROT_Q:
    case STRATA_HOOK_ATTN_ROT_K: return c->rope != STRATA_ROPE_NONE;
    case STRATA_HOOK_RESID_MID: return !c->parallel_residual && !c->attn_only;
    case STRATA_HOOK_MLP_PRE_LINEAR: return c->gated_mlp && !c->attn_only;
    case STRATA_HOOK_LN2_SCALE:
    case STRATA_HOOK_LN2_NORMALIZED:
    case STRATA_HOOK_MLP_PRE:
    case STRATA_HOOK_MLP_POST:
    case STRATA_HOOK_MLP_OUT: return !c->attn_only;
    case STRATA_HOOK_LN1_POST_SCALE: case STRATA_HOOK_LN1_POST_NORMALIZED:
    case STRATA_HOOK_LN2_POST_SCALE: case STRATA_HOOK_LN2_POST_NORMALIZED: return c->post_norms;
    default: return 1;
    }
}

/* Calls visit(kind, layer) on every hook point in forward order: globals
 * before the blocks, then per block, then the final norm and logits.  Stops
 * early (returning 1) when visit returns non-zero. */
static int for_each_point(const strata_model *m, int (*visit)(void *ctx, int kind, int layer), void *ctx)
{
    for (int k = STRATA_HOOK_EMBED; k <= STRATA_HOOK_POS_EMBED; k++)
        if (st_hook_point_exists(m, k, -1) && visit(ctx, k, -1)) return 1;
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (size_t i = 0; i < sizeof BLOCK_ORDER / sizeof BLOCK_ORDER[0]; i++)
            if (st_hook_point_exists(m, BLOCK_ORDER[i], l) && visit(ctx, BLOCK_ORDER[i], l)) return 1;
    for (int k = STRATA_HOOK_LN_FINAL_SCALE; k <= STRATA_HOOK_LOGITS; k++)
        if (st_hook_point_exists(m, k, -1) && visit(ctx, k, -1)) return 1;
    return 0;
}

typedef struct point_query { int want, idx, kind, layer; } point_query;

static int visit_find(void *ctx, int kind, int layer)
{
    point_query *q = ctx;
    if (q->idx++ != q->want) return 0;
    q->kind = kind;
    q->layer = layer;
    return 1;
}

/* The i-th hook point in forward order (O(points); for listing). */
static int point_at(const strata_model *m, int i, int *kind, int *layer)
{
    point_query q = { i, 0, -1, -1 };
    if (!for_each_point(m, visit_find, &q)) return 0;
    *kind = q.kind;
    *layer = q.layer;
    return 1;
}

int strata_model_n_hook_points(const strata_model *m)
{
    if (!m) return 0;
    int n = 0;
    for (int k = 0; k < STRATA_HOOK_KIND_COUNT; k++) {
        if (KINDS[k].per_layer) {
            for (int l = 0; l < m->cfg.n_layers; l++) n += st_hook_point_exists(m, k, l);
        } else n += st_hook_point_exists(m, k, -1);
    }
    return n;
}

strata_status strata_model_hook_point(const strata_model *m, int i, int *kind, int *layer,
                                      char *name, int name_len)
{
    int k, l;
    if (!m || !point_at(m, i, &k, &l)) return STRATA_ERR_RANGE;
    if (kind) *kind = k;
    if (layer) *layer = l;
    if (name && strata_hook_name(k, l, name, name_len) < 0) return STRATA_ERR_ARG;
    return STRATA_OK;
}

int strata_model_hook_shape(const strata_model *m, int kind, int batch, int n_ctx, int64_t shape[4])
{
    if (!m || !shape || kind < 0 || kind >= STRATA_HOOK_KIND_COUNT || batch < 1 || n_ctx < 1 ||
        n_ctx > m->cfg.n_ctx)
        return -1;
    const strata_config *c = &m->cfg;
    int64_t B = batch, T = n_ctx;
    for (int i = 0; i < 4; i++) shape[i] = 1;
    shape[0] = B;
    shape[1] = T;
    switch (kind) {
    case STRATA_HOOK_LN1_SCALE: case STRATA_HOOK_LN2_SCALE: case STRATA_HOOK_LN_FINAL_SCALE:
    case STRATA_HOOK_LN1_POST_SCALE: case STRATA_HOOK_LN2_POST_SCALE:
        shape[2] = 1; return 3;
    case STRATA_HOOK_ATTN_Q: case STRATA_HOOK_ATTN_ROT_Q: case STRATA_HOOK_ATTN_Z:
        shape[2] = c->n_heads; shape[3] = c->d_head; return 4;
    case STRATA_HOOK_ATTN_K: case STRATA_HOOK_ATTN_V: case STRATA_HOOK_ATTN_ROT_K:
        shape[2] = c->n_kv_heads; shape[3] = c->d_head; return 4;
    case STRATA_HOOK_ATTN_SCORES: case STRATA_HOOK_ATTN_PATTERN:
        shape[1] = c->n_heads; shape[2] = T; shape[3] = T; return 4;
    case STRATA_HOOK_ATTN_RESULT:
        shape[2] = c->n_heads; shape[3] = c->d_model; return 4;
    case STRATA_HOOK_MLP_PRE: case STRATA_HOOK_MLP_PRE_LINEAR: case STRATA_HOOK_MLP_POST:
        shape[2] = c->d_mlp; return 3;
    case STRATA_HOOK_LOGITS:
        shape[2] = c->vocab_size; return 3;
    default:
        shape[2] = c->d_model; return 3;
    }
}

int st_hooks_init(strata_model *m)
{
    size_t n = (size_t)STRATA_HOOK_KIND_COUNT * (m->cfg.n_layers + 1);
    m->hooked_at = calloc(n, 1);
    m->point_names = calloc(n, ST_HOOK_NAME_MAX);
    if (!m->hooked_at || !m->point_names) return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    return STRATA_OK;
}

static void recount(strata_model *m)
{
    memset(m->hooked_at, 0, (size_t)STRATA_HOOK_KIND_COUNT * (m->cfg.n_layers + 1));
    for (int i = 0; i < m->n_hooks; i++) {
        uint8_t *c = &m->hooked_at[m->hooks[i].kind * (m->cfg.n_layers + 1) + m->hooks[i].layer + 1];
        if (*c < 255) (*c)++;
    }
}

/* State of one strata_hook_match call while it walks the hook points. */
typedef struct match_state {
    strata_model *m;
    const char *glob, *pattern;
    int head;
    strata_hook_visit_fn visit;
    void *user;
    int matched;
    int rc; /* first error or non-zero visit result; stops the walk */
} match_state;

static int visit_match(void *ctx, int k, int l)
{
    match_state *a = ctx;
    strata_model *m = a->m;
    char name[128];
    strata_hook_name(k, l, name, sizeof name);
    if (fnmatch(a->glob, name, 0) != 0) return 0;
    if (a->head >= 0) {
        int nh = (k == STRATA_HOOK_ATTN_K || k == STRATA_HOOK_ATTN_V || k == STRATA_HOOK_ATTN_ROT_K)
                     ? m->cfg.n_kv_heads : m->cfg.n_heads;
        if (KINDS[k].head_axis < 0) {
            if (strpbrk(a->glob, "*?[")) return 0; /* a glob may span kinds without heads */
            a->rc = st_seterr(&m->err, STRATA_ERR_ARG, "hook '%s': %s has no head axis", a->pattern, name);
            return 1;
        }
        if (a->head >= nh) {
            a->rc = st_seterr(&m->err, STRATA_ERR_RANGE, "hook '%s': head %d out of range (%s has %d heads)",
                              a->pattern, a->head, name, nh);
            return 1;
        }
    }
    a->matched++;
    a->rc = a->visit(name, k, l, a->head, a->user);
    return a->rc != 0;
}

/* The "matches no hook point" message: the nearest point name (also in its
 * every-layer form "blocks.*.x", so a mistyped glob is matched against
 * globs) and a few examples. */
static int no_match(strata_model *m, const char *pattern, const char *glob, size_t bl)
{
    int n_points = strata_model_n_hook_points(m);
    st_suggest sg;
    st_suggest_init(&sg, glob);
    for (int i = 0; i < n_points; i++) {
        char name[128];
        strata_model_hook_point(m, i, NULL, NULL, name, sizeof name);
        st_suggest_offer_hook(&sg, name);
    }
    char ex[512];
    size_t o = 0;
    for (int i = 0; i < n_points && o < 300; i += (i < 2 ? 1 : (n_points / 6 + 1))) {
        char name[128];
        strata_model_hook_point(m, i, NULL, NULL, name, sizeof name);
        o += snprintf(ex + o, sizeof ex - o, "%s%s", o ? ", " : "", name);
    }
    char hint[200] = "";
    if (sg.best[0]) snprintf(hint, sizeof hint, "; did you mean '%s%s'?", sg.best, pattern + bl);
    return st_seterr(&m->err, STRATA_ERR_NOTFOUND,
                     "hook '%s' matches no hook point of this model%s (%d points, e.g. %s; "
                     "`strata info MODEL` lists them all)", pattern, hint, n_points, ex);
}

strata_status strata_hook_match(strata_model *m, const char *pattern, strata_hook_visit_fn visit,
                                void *user)
{
    if (!m) return STRATA_ERR_ARG;
    if (!pattern || !visit)
        return st_seterr(&m->err, STRATA_ERR_ARG, "hook pattern and visit function must not be NULL");
    size_t bl;
    int head;
    if (split_head(pattern, &bl, &head) < 0 || bl >= 256)
        return st_seterr(&m->err, STRATA_ERR_ARG, "hook '%s': bad head selector", pattern);
    char glob[256];
    memcpy(glob, pattern, bl);
    glob[bl] = 0;
    match_state st = { m, glob, pattern, head, visit, user, 0, STRATA_OK };
    for_each_point(m, visit_match, &st); /* one pass over the points: O(points) per call */
    if (st.rc != STRATA_OK) return st.rc;
    if (!st.matched) return no_match(m, pattern, glob, bl);
    return STRATA_OK;
}

/* strata_hook_add's visit: appends one registration. */
typedef struct add_state {
    strata_model *m;
    strata_hook_fn fn;
    void *user;
    strata_hook_id id;
    uint32_t flags;
} add_state;

static int visit_add(const char *name, int k, int l, int head, void *ctx)
{
    add_state *a = ctx;
    strata_model *m = a->m;
    if (m->n_hooks == m->cap_hooks) {
        int nc = m->cap_hooks ? 2 * m->cap_hooks : 32;
        st_hook *nh = realloc(m->hooks, sizeof *nh * nc);
        if (!nh) return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
        m->hooks = nh;
        m->cap_hooks = nc;
    }
    m->hooks[m->n_hooks++] = (st_hook){ a->id, k, l, head, a->flags, a->fn, a->user };
    return 0;
}

strata_status strata_hook_add(strata_model *m, const char *pattern, strata_hook_fn fn, void *user,
                              strata_hook_id *id)
{
    return strata_hook_add_ex(m, pattern, fn, user, 0, id);
}

strata_status strata_hook_add_ex(strata_model *m, const char *pattern, strata_hook_fn fn,
                                 void *user, uint32_t flags, strata_hook_id *id)
{
    if (!m) return STRATA_ERR_ARG;
    if (!pattern || !fn) return st_seterr(&m->err, STRATA_ERR_ARG, "hook name and callback must not be NULL");
    const uint32_t known = STRATA_HOOK_SLICES | STRATA_HOOK_READONLY;
    if (flags & ~known)
        return st_seterr(&m->err, STRATA_ERR_ARG, "hook '%s': unknown flags 0x%x", pattern,
                         (unsigned)(flags & ~known));
    const int n0 = m->n_hooks;
    add_state st = { m, fn, user, m->next_hook_id, flags };
    int rc = strata_hook_match(m, pattern, visit_add, &st);
    if (rc != STRATA_OK) {
        m->n_hooks = n0; /* all or nothing: drop this call's earlier matches */
        return rc;
    }
    if (id) *id = m->next_hook_id;
    m->next_hook_id++;
    recount(m);
    return STRATA_OK;
}

strata_status strata_hook_remove(strata_model *m, strata_hook_id id)
{
    if (!m) return STRATA_ERR_ARG;
    int w = 0, found = 0;
    for (int i = 0; i < m->n_hooks; i++) {
        if (m->hooks[i].id == id) { found = 1; continue; }
        m->hooks[w++] = m->hooks[i];
    }
    m->n_hooks = w;
    recount(m);
    return found ? STRATA_OK : st_seterr(&m->err, STRATA_ERR_NOTFOUND, "no hook with id %d", id);
}

void strata_hook_clear(strata_model *m)
{
    if (!m) return;
    m->n_hooks = 0;
    recount(m);
}

int st_hooks_all_have(const strata_model *m, int kind, int layer, uint32_t flags)
{
    for (int i = 0; i < m->n_hooks; i++) {
        const st_hook *h = &m->hooks[i];
        if (h->kind == kind && h->layer == layer && (h->flags & flags) != flags) return 0;
    }
    return 1;
}

/* Fires the hooks of (kind, layer) on a view of data; off (NULL: the whole
 * tensor) locates a scores/pattern slice: batch row, head, query row. */
static int fire(strata_model *m, const st_run *run, int kind, int layer, float *data, int ndim,
                const int64_t *shape, const int32_t *off, const float *row_entropy)
{
    if (!st_is_hooked(m, kind, layer)) return STRATA_OK;
    strata_tensor full = { .data = data, .ndim = ndim };
    int64_t stride = 1;
    for (int i = STRATA_MAX_DIMS - 1; i >= 0; i--) {
        full.shape[i] = i < ndim ? shape[i] : 1;
        full.strides[i] = i < ndim ? stride : 0;
        if (i < ndim) stride *= shape[i];
    }
    /* the name, written once per point (sliced attention fires per slice) */
    char *name = m->point_names + (size_t)(kind * (m->cfg.n_layers + 1) + layer + 1) * ST_HOOK_NAME_MAX;
    if (!name[0]) strata_hook_name(kind, layer, name, ST_HOOK_NAME_MAX);
    strata_hook_ctx ctx = {
        .name = name, .kind = kind, .layer = layer, .head = -1, .batch = run->B,
        .n_ctx = run->T, .pos_offset = run->pos0, .lengths = run->lengths, .tokens = run->tokens,
        .batch_offset = off ? off[0] : 0, .query_offset = off ? off[2] : 0,
    };
    const int h_off = off ? off[1] : 0;
    for (int i = 0; i < m->n_hooks; i++) {
        const st_hook *h = &m->hooks[i];
        if (h->kind != kind || h->layer != layer) continue;
        strata_tensor t = full;
        ctx.head = h->head;
        ctx.head_offset = h_off;
        ctx.row_entropy = row_entropy;
        if (h->head >= 0) {
            int ax = KINDS[kind].head_axis;
            if (h->head < h_off || h->head >= h_off + full.shape[ax]) continue; /* not in this slice */
            t.data = data + (int64_t)(h->head - h_off) * full.strides[ax];
            t.shape[ax] = 1;
            ctx.head_offset = h->head;
            ctx.row_entropy = NULL;
        }
        const int hr = h->fn(&t, &ctx, h->user);
        if (hr > 0) {
            st_seterr(&m->err, STRATA_STOPPED, "stopped by the hook on %s", name);
            return STRATA_STOPPED;
        }
        if (hr < 0) {   /* the hook failed: its status is the run's */
            st_seterr(&m->err, hr, "the hook on %s failed: %s", name, strata_errstr(hr));
            return hr;
        }
    }
    return STRATA_OK;
}

int st_hook_fire(strata_model *m, const st_run *run, int kind, int layer, float *data, int ndim,
                 const int64_t *shape)
{
    return fire(m, run, kind, layer, data, ndim, shape, NULL, NULL);
}

int st_hook_fire_slice(strata_model *m, const st_run *run, int kind, int layer, float *data,
                       const int64_t shape[4], const int32_t off[3], const float *row_entropy)
{
    return fire(m, run, kind, layer, data, 4, shape, off, row_entropy);
}
