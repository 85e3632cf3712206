/* probes/lens.c — the logit lens (strata/lens.h).
 *
 * One run: hooks copy blocks.0.hook_resid_pre and every
 * blocks.l.hook_resid_post of the single document into resid [P][n][d];
 * then for each point p:
 *   logits [n][V]  = ln_final(resid[p]) . U^T (+ b)   (the model's own read-out,
 *                                                   strata_model_readout)
 * and per position: max-subtracted softmax (double sums), top-k by logit,
 * rank and probability of tokens[t+1].  Only the top-k lists, ranks and
 * probabilities are kept ([P][n][k] + [P][n]); full lens logits are
 * recomputed on demand by strata_lens_logits, so memory is
 * O(P n d + n V) whatever the vocabulary.
 */
#include "strata/lens.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/hooks.h"
#include "strata/model.h"
#include "util/err.h"

struct strata_lens {
    st_err err;
    strata_model *m;
    int32_t P, n, k, d, V;
    float *resid;        /* [P][n][d] */
    float *logits;       /* [n][V] scratch */
    float *model_logits; /* [n][V] */
    int32_t *tokens;     /* [n] */
    int32_t *top_ids;    /* [P][n][k] */
    float *top_probs;    /* [P][n][k] */
    int32_t *next_rank;  /* [P][n] */
    float *next_prob;    /* [P][n] */
    char (*names)[64];   /* [P] */
    int32_t *filled;     /* [P] 1 when the hook of that point fired in the last run */
};

strata_status strata_lens_new(strata_model *m, strata_lens **out)
{
    if (!out) return STRATA_ERR_ARG;
    *out = NULL;
    strata_lens *l = calloc(1, sizeof *l);
    if (!l) return STRATA_ERR_NOMEM;
    *out = l;
    if (!m) return st_seterr(&l->err, STRATA_ERR_ARG, "lens: model is NULL");
    const strata_config *c = strata_model_config(m);
    l->m = m;
    l->P = c->n_layers + 1;
    l->d = c->d_model;
    l->V = c->vocab_size;
    l->names = calloc((size_t)l->P, sizeof *l->names);
    l->filled = calloc((size_t)l->P, sizeof *l->filled);
    if (!l->names || !l->filled) return st_seterr(&l->err, STRATA_ERR_NOMEM, "lens: out of memory");
    snprintf(l->names[0], sizeof l->names[0], "blocks.0.hook_resid_pre");
    for (int i = 1; i < l->P; i++)
        snprintf(l->names[i], sizeof l->names[i], "blocks.%d.hook_resid_post", i - 1);
    return STRATA_OK;
}

static void free_run(strata_lens *l)
{
    free(l->resid);
    free(l->logits);
    free(l->model_logits);
    free(l->tokens);
    free(l->top_ids);
    free(l->top_probs);
    free(l->next_rank);
    free(l->next_prob);
    l->resid = l->logits = l->model_logits = NULL;
    l->top_probs = l->next_prob = NULL;
    l->tokens = l->top_ids = l->next_rank = NULL;
    l->n = 0;
}

void strata_lens_free(strata_lens *l)
{
    if (!l) return;
    free_run(l);
    free(l->names);
    free(l->filled);
    free(l);
}

const char *strata_lens_errmsg(const strata_lens *l)
{
    return l ? l->err.msg : "lens: out of memory (no handle)";
}

/* Hook: copies sequence 0 of a [B,T,d] view into resid[point]. */
static int copy_hook(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    strata_lens *l = user;
    int point = ctx->kind == STRATA_HOOK_RESID_PRE ? 0 : ctx->layer + 1;
    if (ctx->kind == STRATA_HOOK_RESID_PRE && ctx->layer != 0) return 0;
    if (point < 0 || point >= l->P || t->shape[2] != l->d) return 0;
    float *dst = l->resid + (int64_t)point * l->n * l->d;
    for (int i = 0; i < l->n; i++)
        for (int j = 0; j < l->d; j++)
            dst[(int64_t)i * l->d + j] = t->data[i * t->strides[1] + j * t->strides[2]];
    l->filled[point] = 1;
    return 0;
}

/* logits [n][V] for one point: the model's own read-out (final norm +
 * unembedding, strata_model_readout) of that point's residual stream. */
static int point_logits(strata_lens *l, int point, float *out)
{
    int rc = strata_model_readout(l->m, l->resid + (int64_t)point * l->n * l->d, l->n, out);
    if (rc) return st_seterr(&l->err, rc, "lens: %s", strata_errmsg(l->m));
    return STRATA_OK;
}

/* Is (a, ia) ranked before (b, ib)?  Larger logit first, then lower id. */
static int before(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }

static void readout(strata_lens *l, int point)
{
    const int V = l->V, k = l->k;
    for (int t = 0; t < l->n; t++) {
        const float *z = l->logits + (int64_t)t * V;
        float mx = z[0];
        for (int v = 1; v < V; v++) if (z[v] > mx) mx = z[v];
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
        /* top-k by insertion into a sorted list of size <= k */
        int32_t *ids = l->top_ids + ((int64_t)point * l->n + t) * k;
        float *pr = l->top_probs + ((int64_t)point * l->n + t) * k;
        int have = 0;
        for (int v = 0; v < V; v++) {
            if (have == k && !before(z[v], v, z[ids[k - 1]], ids[k - 1])) continue;
            int pos = have < k ? have++ : k - 1;
            while (pos > 0 && before(z[v], v, z[ids[pos - 1]], ids[pos - 1])) {
                ids[pos] = ids[pos - 1];
                pos--;
            }
            ids[pos] = v;
        }
        for (int i = 0; i < k; i++) pr[i] = (float)(exp((double)z[ids[i]] - mx) / sum);
        int64_t o = (int64_t)point * l->n + t;
        if (t + 1 < l->n) {
            int32_t nx = l->tokens[t + 1];
            float zn = z[nx];
            int32_t rank = 0;
            for (int v = 0; v < V; v++) rank += z[v] > zn;
            l->next_rank[o] = rank;
            l->next_prob[o] = (float)(exp((double)zn - mx) / sum);
        } else {
            l->next_rank[o] = -1;
            l->next_prob[o] = NAN;
        }
    }
}

strata_status strata_lens_run(strata_lens *l, const int32_t *tokens, int n, int top_k)
{
    if (!l || !l->m) return STRATA_ERR_ARG;
    const strata_config *c = strata_model_config(l->m);
    if (!tokens || n < 1)
        return st_seterr(&l->err, STRATA_ERR_ARG, "lens: empty input (n=%d tokens)", n);
    if (c->n_ctx > 0 && n > c->n_ctx)
        return st_seterr(&l->err, STRATA_ERR_RANGE,
                         "lens: %d tokens exceed the model's context of %d", n, c->n_ctx);
    if (top_k < 1 || top_k > l->V)
        return st_seterr(&l->err, STRATA_ERR_ARG, "lens: top_k=%d outside 1..%d", top_k, l->V);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= l->V)
            return st_seterr(&l->err, STRATA_ERR_RANGE,
                             "lens: token %d (id %d) outside the vocabulary [0, %d)", i, tokens[i],
                             l->V);
    free_run(l);
    l->n = n;
    l->k = top_k;
    const int64_t P = l->P;
    l->resid = calloc((size_t)(P * n * l->d), sizeof(float));
    l->logits = malloc(sizeof(float) * (size_t)n * l->V);
    l->model_logits = malloc(sizeof(float) * (size_t)n * l->V);
    l->tokens = malloc(sizeof(int32_t) * (size_t)n);
    l->top_ids = malloc(sizeof(int32_t) * (size_t)(P * n * top_k));
    l->top_probs = malloc(sizeof(float) * (size_t)(P * n * top_k));
    l->next_rank = malloc(sizeof(int32_t) * (size_t)(P * n));
    l->next_prob = malloc(sizeof(float) * (size_t)(P * n));
    if (!l->resid || !l->logits || !l->model_logits || !l->tokens || !l->top_ids ||
        !l->top_probs || !l->next_rank || !l->next_prob) {
        free_run(l);
        return st_seterr(&l->err, STRATA_ERR_NOMEM, "lens: out of memory for %d tokens", n);
    }
    memcpy(l->tokens, tokens, sizeof(int32_t) * (size_t)n);
    memset(l->filled, 0, sizeof(int32_t) * (size_t)P);

    strata_hook_id h0 = -1, h1 = -1;
    int rc = strata_hook_add(l->m, "blocks.0.hook_resid_pre", copy_hook, l, &h0);
    if (rc >= 0) rc = strata_hook_add(l->m, "blocks.*.hook_resid_post", copy_hook, l, &h1);
    if (rc >= 0) {
        int32_t len = n;
        rc = strata_run(l->m, tokens, &len, 1, l->model_logits);
    }
    const char *why = rc < 0 ? strata_errmsg(l->m) : "";
    char msg[ST_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", why);
    if (h0 >= 0) strata_hook_remove(l->m, h0);
    if (h1 >= 0) strata_hook_remove(l->m, h1);
    if (rc != STRATA_OK) {
        free_run(l);
        return st_seterr(&l->err, rc < 0 ? rc : STRATA_ERR_STATE, "lens: forward pass failed: %s",
                         rc < 0 ? msg : "stopped by another hook");
    }
    for (int p = 0; p < P; p++)
        if (!l->filled[p]) {
            int bad = p;
            free_run(l);
            return st_seterr(&l->err, STRATA_ERR_STATE, "lens: hook %s did not fire",
                             l->names[bad]);
        }
    for (int p = 0; p < P; p++) {
        int rc = point_logits(l, p, l->logits);
        if (rc) return rc;
        readout(l, p);
    }
    return STRATA_OK;
}

int strata_lens_n_points(const strata_lens *l) { return l ? l->P : 0; }
int strata_lens_n_pos(const strata_lens *l) { return l ? l->n : 0; }
int strata_lens_top_k(const strata_lens *l) { return l ? l->k : 0; }

const char *strata_lens_point_name(const strata_lens *l, int point)
{
    return l && l->names && point >= 0 && point < l->P ? l->names[point] : NULL;
}

const int32_t *strata_lens_top_ids(const strata_lens *l) { return l ? l->top_ids : NULL; }
const float *strata_lens_top_probs(const strata_lens *l) { return l ? l->top_probs : NULL; }
const int32_t *strata_lens_next_rank(const strata_lens *l) { return l ? l->next_rank : NULL; }
const float *strata_lens_next_prob(const strata_lens *l) { return l ? l->next_prob : NULL; }
const float *strata_lens_model_logits(const strata_lens *l) { return l ? l->model_logits : NULL; }

strata_status strata_lens_logits(strata_lens *l, int point, float *out)
{
    if (!l) return STRATA_ERR_ARG;
    if (!l->resid) return st_seterr(&l->err, STRATA_ERR_STATE, "lens: no run yet");
    if (point < 0 || point >= l->P)
        return st_seterr(&l->err, STRATA_ERR_RANGE, "lens: point %d outside [0, %d)", point, l->P);
    if (!out) return st_seterr(&l->err, STRATA_ERR_ARG, "lens: out is NULL");
    return point_logits(l, point, out);
}
