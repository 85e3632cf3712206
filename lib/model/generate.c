/* model/generate.c — decoding with sampling (strata_generate_ex).
 *
 * One prefill of the prompt, then one single-token step per new token, all
 * through the KV cache (forward.h).  The next token from the last logits z [V]:
 *   greedy (temperature <= 0):  argmax z (first index on ties);
 *   else  p = softmax(z / T); keep the top_k most likely (if top_k > 0); then
 *         keep the smallest most-likely-first prefix whose mass reaches top_p
 *         (if 0 < top_p < 1; always at least one token); renormalise; draw
 *         u ~ U[0,1) from a seeded xoshiro256** and take the first kept token
 *         (most likely first) whose cumulative probability exceeds u * mass.
 * Ties in probability are ordered by token id, so a seed gives the same tokens
 * everywhere.  Memory: O(V) for probabilities and the sort order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "model/kernels.h"

typedef struct rng { uint64_t s[4]; } rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next64(rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}

typedef struct prob { double p; int32_t id; } prob;

typedef struct sampler {
    const strata_generate_opts *o;
    rng r;
    prob *q;       /* [V] */
} sampler;

/* most likely first, ties by token id (a total order: the same everywhere) */
static int by_prob_desc(const void *a, const void *b)
{
    const prob *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int32_t sample(sampler *s, const float *z, int V)
{
    const strata_generate_opts *o = s->o;
    if (!o || !(o->temperature > 0)) return st_argmax(z, V);
    double mx = -INFINITY, T = o->temperature, sum = 0;
    prob *q = s->q;
    for (int v = 0; v < V; v++) if (z[v] > mx) mx = z[v];
    for (int v = 0; v < V; v++) { q[v].p = exp(((double)z[v] - mx) / T); q[v].id = v; sum += q[v].p; }
    for (int v = 0; v < V; v++) q[v].p /= sum;
    /* a full sort: V log V per token, small beside the forward pass */
    qsort(q, (size_t)V, sizeof *q, by_prob_desc);
    int keep = V;
    if (o->top_k > 0 && o->top_k < keep) keep = o->top_k;
    if (o->top_p > 0 && o->top_p < 1) {
        double c = 0;
        int k = 0;
        while (k < keep) { c += q[k].p; k++; if (c >= o->top_p) break; }
        keep = k;
    }
    double mass = 0;
    for (int k = 0; k < keep; k++) mass += q[k].p;
    double u = (double)(next64(&s->r) >> 11) * 0x1.0p-53 * mass, c = 0;
    for (int k = 0; k < keep; k++) {
        c += q[k].p;
        if (u < c) return q[k].id;
    }
    return q[keep - 1].id;
}

strata_status strata_generate_ex(strata_model *m, const int32_t *prompt, int n_prompt,
                                 int max_new, const strata_generate_opts *o, int32_t *out_ids,
                                 int *n_out)
{
    if (!m) return STRATA_ERR_ARG;
    st_err_clear(&m->err);
    if (n_out) *n_out = 0;
    if (max_new < 0 || (max_new > 0 && !out_ids))
        return st_seterr(&m->err, STRATA_ERR_ARG, "max_new must be >= 0 and out_ids non-NULL");
    if (!prompt || n_prompt < 1)
        return st_seterr(&m->err, STRATA_ERR_ARG, "the prompt needs at least one token");
    if (o) {
        if (!isfinite(o->temperature) || !isfinite(o->top_p) || o->top_p < 0 || o->top_k < 0)
            return st_seterr(&m->err, STRATA_ERR_ARG, "sampling: temperature and top_p must be finite, "
                             "top_p >= 0 and top_k >= 0 (got %g, %g, %d)", o->temperature, o->top_p, o->top_k);
        if (o->n_stop < 0 || (o->n_stop > 0 && !o->stop_ids))
            return st_seterr(&m->err, STRATA_ERR_ARG, "sampling: n_stop %d without stop_ids", o->n_stop);
        for (int k = 0; k < 5; k++)
            if (o->reserved[k])
                return st_seterr(&m->err, STRATA_ERR_ARG, "strata_generate_opts.reserved[%d] is set: "
                                 "an option this version does not implement", k);
    }
    int V = m->cfg.vocab_size;
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= V)
            return st_seterr(&m->err, STRATA_ERR_RANGE, "prompt token %d is %d, outside the vocabulary [0, %d)", i, prompt[i], V);
    if (max_new == 0) return STRATA_OK;
    if ((int64_t)n_prompt + max_new - 1 > m->cfg.n_ctx)
        return st_seterr(&m->err, STRATA_ERR_RANGE, "prompt (%d) + new tokens (%d) exceed the context (%d)",
                         n_prompt, max_new, m->cfg.n_ctx);
    sampler s = { o, {{0}}, NULL };
    uint64_t x = o ? o->seed : 0;
    for (int k = 0; k < 4; k++) s.r.s[k] = splitmix(&x);
    int sampling = o && o->temperature > 0;
    float *logits = malloc(sizeof(float) * (size_t)V);
    if (sampling) s.q = malloc(sizeof *s.q * (size_t)V);
    st_kvcache *kv = NULL;
    int rc = STRATA_OK;
    if (!logits || (sampling && !s.q)) rc = st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    if (!rc) rc = st_kvcache_new(m, 1, n_prompt + max_new, &kv);
    int32_t len = n_prompt;
    st_run run = { 1, n_prompt, 0, prompt, &len, kv };
    if (!rc) rc = st_forward(m, &run, ST_LOGITS_LAST, logits);
    int n = 0;
    while (!rc && n < max_new) {
        int32_t t = sample(&s, logits, V);
        out_ids[n++] = t;
        int stop = 0;
        for (int k = 0; o && k < o->n_stop; k++) stop |= o->stop_ids[k] == t;
        if (stop || n == max_new) break;
        int32_t one = 1;
        st_run step = { 1, 1, n_prompt + n - 1, &out_ids[n - 1], &one, kv };
        rc = st_forward(m, &step, ST_LOGITS_LAST, logits);
    }
    if (n_out) *n_out = n;
    free(logits); free(s.q);
    if (kv) st_kvcache_free(m, kv);
    return rc;
}
