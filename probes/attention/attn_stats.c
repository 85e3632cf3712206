/* probes/attn_stats.c — attention-head statistics accumulated on the fly.
 *
 * Defines the strata_attn_stats accumulator of strata/attn.h (everything but
 * strata_attn_stats_add_capture, which lives in attn_capture.c) and the
 * internal helpers of attn_internal.h.
 *
 * Per document and head we compute, from the causal pattern P[q][k]
 * (q = query position, k = key position, both from 0, BOS at 0):
 *   entropy   mean_{q>=1} -sum_{k<=q} P ln P      (nats; 0 ln 0 = 0)
 *   distance  mean_{q>=1}  sum_{k<=q} P (q-k)
 *   prev      mean_{q>=1}  P[q,q-1]
 *   first     mean_{q>=1}  P[q,0]
 *   self      mean_{q>=1}  P[q,q]
 *   dup       mean over q having some k<q with tok[k]==tok[q] of
 *             sum_{k<q, tok[k]==tok[q]} P[q,k]
 *   induction (BOS + S + S, |S| = R) mean_{q in [R+1,2R]} P[q,q-R+1]
 * and add the per-document value to a per-(layer, head) sum in double; the
 * corpus score is sum / number of contributing documents.
 *
 * Cost per head and document: one pass over the L(L+1)/2 causal entries,
 * with a branch- and division-free polynomial logarithm (st_fast_ln, util/fastmath.h) so the loop
 * vectorises (AVX-512 / AVX2 clones where the CPU has them).  In the forward
 * pass the engine hands over each row's entropy, computed during the softmax
 * at one FMA per entry (ctx->row_entropy), and the pass needs no logarithm.
 */
#include "attn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/clones.h"
#include "util/fastmath.h"
#include "strata/hooks.h"
#include "strata/model.h"

/* ---------------------------------------------------------------- math */

float st_attn_fast_ln(float x) { return st_fast_ln(x); }

/* has_dup[q] = 1 iff some k < q has tok[k] == tok[q].  O(L log L): sort the
 * keys (token << 32 | position); a position has an earlier duplicate iff its
 * predecessor in that order holds the same token.  keys is scratch [L]. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void st_attn_dup_mask(const int32_t *tok, int L, int64_t *keys, uint8_t *has_dup)
{
    for (int i = 0; i < L; i++) {
        keys[i] = (int64_t)(((uint64_t)(uint32_t)tok[i] << 32) | (uint32_t)i);
        has_dup[i] = 0;
    }
    if (L < 2) return;
    qsort(keys, (size_t)L, sizeof *keys, cmp_i64);
    for (int i = 1; i < L; i++)
        if ((keys[i] >> 32) == (keys[i - 1] >> 32)) has_dup[keys[i] & 0xffffffff] = 1;
}

/* Adds query row q (r[k*sk] = P[q,k], k <= q, keys with any stride) to the
 * running sums of acc: the general loop behind st_attn_acc_rows for strided
 * keys.  has_dup_q: some k < q holds tok[q].  ent_q: the row's entropy from
 * the engine's softmax (then no logarithm here), or NULL.  Row q = 0 counts
 * only for induction. */
static void acc_row_strided(st_attn_acc *a, const float *r, int64_t sk, int q, const int32_t *tok,
                            int has_dup_q, int R, int general, const float *ent_q)
{
    if (general && q >= 1) {
        float e = 0, d = 0, u = 0;
        const int32_t tq = tok ? tok[q] : 0;
        const int dup = tok && has_dup_q;
        for (int k = 0; k <= q; k++) {
            float x = r[(int64_t)k * sk];
            if (!ent_q) e -= x * st_fast_ln(x);
            d += x * (float)(q - k);
            if (dup && k < q && tok[k] == tq) u += x;
        }
        if (ent_q) e = *ent_q;
        a->s[STRATA_ATTN_ENTROPY] += e;
        a->s[STRATA_ATTN_DISTANCE] += d;
        a->s[STRATA_ATTN_PREV] += r[(int64_t)(q - 1) * sk];
        a->s[STRATA_ATTN_FIRST] += r[0];
        a->s[STRATA_ATTN_SELFSCORE] += r[(int64_t)q * sk];
        a->n_gen++;
        if (dup) { a->s[STRATA_ATTN_DUP] += u; a->n_dup++; }
    }
    /* induction: q in [R+1, 2R], key q-R+1 (the token after the earlier copy) */
    if (R >= 1 && q >= R + 1 && q <= 2 * R) {
        a->s[STRATA_ATTN_IND] += r[(int64_t)(q - R + 1) * sk];
        a->n_ind++;
    }
}

/* One row's contribution to the lanes: entry k goes to lane k % ACC_LANES
 * (le: -x ln x, ld: x (q-k), lu: x [tok_k == tok_q]).  want_ln / want_dup
 * are constants at each call, so each variant compiles to its own loop. */
enum { ACC_LANES = 16 };
static inline __attribute__((always_inline)) void
row_lanes(const float *r, int q, const int32_t *tok, int want_ln, int want_dup, float *le,
          float *ld, float *lu)
{
    const int n = q + 1;
    const int32_t tq = want_dup ? tok[q] : 0;
    int j = 0;
    for (; j + ACC_LANES <= n; j += ACC_LANES) {
#pragma omp simd
        for (int i = 0; i < ACC_LANES; i++) {
            const float x = r[j + i];
            if (want_ln) le[i] -= x * st_fast_ln(x);
            ld[i] += x * (float)(q - j - i);
            if (want_dup) lu[i] += tok[j + i] == tq ? x : 0.0f;
        }
    }
    if (j < n) {   /* the tail as one masked step (entries past the row read as 0) */
#pragma omp simd
        for (int i = 0; i < ACC_LANES; i++) {
            const int in = j + i < n;
            const float x = in ? r[j + i] : 0.0f;
            if (want_ln) le[i] -= x * st_fast_ln(x);
            ld[i] += x * (float)(q - j - i);
            if (want_dup) lu[i] += (in && tok[j + i] == tq) ? x : 0.0f;
        }
    }
}

/* Rows [qb, qe) at once (row q at p + (q-qb)*sq, contiguous keys): the
 * per-row sums stay in float lanes across the rows and are reduced once, not
 * per row (a row of a few hundred entries is only ~20 vector steps).
 * ent: [qe-qb] row entropies from the engine, or NULL (then st_fast_ln). */
ST_CLONES
void st_attn_acc_rows(st_attn_acc *a, const float *p, int64_t sq, int64_t sk, int qb, int qe,
                      const int32_t *tok, const uint8_t *has_dup, int R, int general,
                      const float *ent)
{
    if (sk != 1) {
        for (int q = qb; q < qe; q++)
            acc_row_strided(a, p + (int64_t)(q - qb) * sq, sk, q, tok, has_dup ? has_dup[q] : 0, R,
                            general, ent ? ent + (q - qb) : NULL);
        return;
    }
    float le[ACC_LANES] = { 0 }, ld[ACC_LANES] = { 0 }, lu[ACC_LANES] = { 0 };
    double es = 0, uself = 0;
    for (int q = qb; q < qe; q++) {
        const float *r = p + (int64_t)(q - qb) * sq;
        if (general && q >= 1) {
            const int dup = tok && has_dup && has_dup[q];
            if (ent) {
                es += ent[q - qb];
                if (dup) row_lanes(r, q, tok, 0, 1, le, ld, lu);
                else row_lanes(r, q, tok, 0, 0, le, ld, lu);
            } else {
                if (dup) row_lanes(r, q, tok, 1, 1, le, ld, lu);
                else row_lanes(r, q, tok, 1, 0, le, ld, lu);
            }
            a->s[STRATA_ATTN_PREV] += r[q - 1];
            a->s[STRATA_ATTN_FIRST] += r[0];
            a->s[STRATA_ATTN_SELFSCORE] += r[q];
            a->n_gen++;
            if (dup) { uself += r[q]; a->n_dup++; }   /* lu counted k == q too */
        }
        if (R >= 1 && q >= R + 1 && q <= 2 * R) {
            a->s[STRATA_ATTN_IND] += r[q - R + 1];
            a->n_ind++;
        }
    }
    double e = es, d = 0, u = -uself;
    for (int i = 0; i < ACC_LANES; i++) { e += le[i]; d += ld[i]; u += lu[i]; }
    a->s[STRATA_ATTN_ENTROPY] += e;
    a->s[STRATA_ATTN_DISTANCE] += d;
    a->s[STRATA_ATTN_DUP] += u;
}

void st_attn_acc_merge(st_attn_acc *dst, const st_attn_acc *src)
{
    for (int i = 0; i < STRATA_ATTN_NSTAT; i++) dst->s[i] += src->s[i];
    dst->n_gen += src->n_gen;
    dst->n_dup += src->n_dup;
    dst->n_ind += src->n_ind;
}

void st_attn_acc_finish(const st_attn_acc *a, double out[STRATA_ATTN_NSTAT],
                        uint8_t valid[STRATA_ATTN_NSTAT])
{
    for (int i = 0; i < STRATA_ATTN_NSTAT; i++) { out[i] = 0; valid[i] = 0; }
    if (a->n_gen > 0) {
        static const int gen[5] = { STRATA_ATTN_ENTROPY, STRATA_ATTN_DISTANCE, STRATA_ATTN_PREV,
                                    STRATA_ATTN_FIRST, STRATA_ATTN_SELFSCORE };
        for (int i = 0; i < 5; i++) {
            out[gen[i]] = a->s[gen[i]] / a->n_gen;
            valid[gen[i]] = 1;
        }
    }
    if (a->n_dup > 0) { out[STRATA_ATTN_DUP] = a->s[STRATA_ATTN_DUP] / a->n_dup; valid[STRATA_ATTN_DUP] = 1; }
    if (a->n_ind > 0) { out[STRATA_ATTN_IND] = a->s[STRATA_ATTN_IND] / a->n_ind; valid[STRATA_ATTN_IND] = 1; }
}

void st_attn_head_doc(const float *p, int64_t sq, int64_t sk, int L, const int32_t *tok,
                      const uint8_t *has_dup, int R, int general, double out[STRATA_ATTN_NSTAT],
                      uint8_t valid[STRATA_ATTN_NSTAT])
{
    st_attn_acc a;
    memset(&a, 0, sizeof a);
    if (R >= 1 && L < 2 * R + 1) R = 0; /* too short for the induction positions */
    /* in blocks of ST_ATTN_ACC_ROWS rows, merged in order: the grouping of the
     * forward-pass hook, so both give the same sums */
    for (int qb = 0; L >= 2 && qb < L; qb += ST_ATTN_ACC_ROWS) {
        st_attn_acc u;
        memset(&u, 0, sizeof u);
        st_attn_acc_rows(&u, p + (int64_t)qb * sq, sq, sk, qb,
                         qb + ST_ATTN_ACC_ROWS < L ? qb + ST_ATTN_ACC_ROWS : L, tok, has_dup, R,
                         general, NULL);
        st_attn_acc_merge(&a, &u);
    }
    st_attn_acc_finish(&a, out, valid);
}

/* ------------------------------------------------------------ accumulator */

strata_attn_thresholds strata_attn_thresholds_default(void)
{
    strata_attn_thresholds t = { .prev_token = 0.4, .first_token = 0.4, .self = 0.4,
                                 .duplicate = 0.4, .induction = 0.4 };
    return t;
}

const char *strata_attn_class_name(int cls)
{
    switch (cls) {
    case STRATA_ATTN_OTHER: return "other";
    case STRATA_ATTN_PREV_TOKEN: return "previous-token";
    case STRATA_ATTN_FIRST_TOKEN: return "first-token";
    case STRATA_ATTN_SELF: return "self";
    case STRATA_ATTN_DUPLICATE: return "duplicate-token";
    case STRATA_ATTN_INDUCTION: return "induction";
    default: return "?";
    }
}

void strata_attn_classify(strata_attn_head *h, const strata_attn_thresholds *t)
{
    strata_attn_thresholds def = strata_attn_thresholds_default();
    if (!t) t = &def;
    const double score[STRATA_ATTN_CLASS_COUNT] = { 0, h->prev_token, h->first_token, h->self,
                                                     h->duplicate, h->induction };
    const double thr[STRATA_ATTN_CLASS_COUNT] = { 0, t->prev_token, t->first_token, t->self,
                                                   t->duplicate, t->induction };
    h->cls = STRATA_ATTN_OTHER;
    h->flags = 0;
    double best = 0;
    for (int c = 1; c < STRATA_ATTN_CLASS_COUNT; c++) {
        if (!(score[c] == score[c]) || !(thr[c] > 0)) continue; /* NaN score or threshold off */
        if (score[c] < thr[c]) continue;
        h->flags |= 1 << c;
        double ratio = score[c] / thr[c];
        if (ratio > best) { best = ratio; h->cls = c; }
    }
}

void strata_attn_token_range(const strata_config *cfg, int32_t *lo, int32_t *hi)
{
    int32_t V = cfg->vocab_size, l = 0, u = V;
    const int32_t sp[2] = { cfg->bos_token_id, cfg->eos_token_id };
    for (int i = 0; i < 2; i++) {
        if (sp[i] < 0 || sp[i] >= V) continue;
        if (sp[i] < V / 2) { if (sp[i] + 1 > l) l = sp[i] + 1; }
        else if (sp[i] < u) u = sp[i];
    }
    *lo = l;
    *hi = u;
}

/* splitmix64 (Steele, Lea & Flood 2014; the seeding generator of xoshiro). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* High 64 bits of a 64x64-bit product, portable (no __int128). */
static uint64_t mulhi64(uint64_t a, uint64_t b)
{
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

strata_status strata_attn_induction_docs(uint64_t seed, int n_docs, int R, int32_t bos,
                                         int32_t eos, int32_t lo, int32_t hi, int32_t *out)
{
    if (n_docs < 1 || R < 1 || !out) return STRATA_ERR_ARG;
    int n_ok = 0;
    for (int32_t v = lo; v < hi; v++)
        if (v != bos && v != eos) { n_ok = 1; break; }
    if (lo < 0 || hi <= lo || !n_ok) return STRATA_ERR_RANGE;
    uint64_t st = seed;
    const uint64_t span = (uint64_t)(hi - lo);
    for (int d = 0; d < n_docs; d++) {
        int32_t *row = out + (int64_t)d * (2 * R + 1);
        row[0] = bos;
        for (int i = 1; i <= R; i++) {
            int32_t v;
            do {
                /* floor(r * span / 2^64): bias < span / 2^64, negligible */
                v = lo + (int32_t)mulhi64(splitmix64(&st), span);
            } while (v == bos || v == eos);
            row[i] = v;
            row[R + i] = v;
        }
    }
    return STRATA_OK;
}

strata_status strata_attn_stats_new(const strata_config *cfg, strata_attn_stats **out)
{
    if (!out) return STRATA_ERR_ARG;
    *out = NULL;
    strata_attn_stats *s = calloc(1, sizeof *s);
    if (!s) return STRATA_ERR_NOMEM;
    *out = s;
    if (!cfg) return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: config is NULL");
    if (cfg->n_layers < 1 || cfg->n_heads < 1)
        return st_seterr(&s->err, STRATA_ERR_ARG,
                         "attn stats: config has n_layers=%d n_heads=%d (need >= 1 each)",
                         cfg->n_layers, cfg->n_heads);
    s->cfg = *cfg;
    s->n_layers = cfg->n_layers;
    s->n_heads = cfg->n_heads;
    s->ind_general = 1;
    size_t n = (size_t)s->n_layers * s->n_heads * STRATA_ATTN_NSTAT;
    s->sum = calloc(n, sizeof *s->sum);
    s->cnt = calloc(n, sizeof *s->cnt);
    s->docs_layer = calloc((size_t)s->n_layers, sizeof *s->docs_layer);
    if (!s->sum || !s->cnt || !s->docs_layer)
        return st_seterr(&s->err, STRATA_ERR_NOMEM, "attn stats: out of memory");
    s->ready = 1;
    return STRATA_OK;
}

void strata_attn_stats_free(strata_attn_stats *s)
{
    if (!s) return;
    strata_attn_stats_detach(s);
    free(s->sum);
    free(s->cnt);
    free(s->docs_layer);
    free(s->scr_out);
    free(s->scr_valid);
    free(s->scr_idx);
    free(s->scr_dup);
    free(s->scr_acc);
    free(s->stamp);
    free(s);
}

const char *strata_attn_stats_errmsg(const strata_attn_stats *s)
{
    if (!s) return "attn stats: out of memory (no handle)";
    return s->err.msg;
}

void strata_attn_stats_reset(strata_attn_stats *s)
{
    if (!s || !s->ready) return;
    size_t n = (size_t)s->n_layers * s->n_heads * STRATA_ATTN_NSTAT;
    memset(s->sum, 0, n * sizeof *s->sum);
    memset(s->cnt, 0, n * sizeof *s->cnt);
    memset(s->docs_layer, 0, (size_t)s->n_layers * sizeof *s->docs_layer);
    s->n_patterns = 0;
    st_err_clear(&s->err);
}

strata_status strata_attn_stats_set_induction(strata_attn_stats *s, int R, int also_general)
{
    if (!s || !s->ready) return STRATA_ERR_ARG;
    if (R < 0) return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: induction R=%d < 0", R);
    if (R > 0 && (int64_t)2 * R + 1 > s->cfg.n_ctx && s->cfg.n_ctx > 0)
        return st_seterr(&s->err, STRATA_ERR_RANGE,
                         "attn stats: induction R=%d needs documents of 2R+1=%d tokens, more than "
                         "the model's context of %d (use R <= %d)",
                         R, 2 * R + 1, s->cfg.n_ctx, (s->cfg.n_ctx - 1) / 2);
    s->ind_R = R;
    s->ind_general = R == 0 ? 1 : (also_general != 0);
    return STRATA_OK;
}

/* Ensures per-(doc, head) scratch for `pairs` (doc, head) pairs. */
static int ensure_scratch(strata_attn_stats *s, int64_t pairs)
{
    if (pairs > s->scr_pairs) {
        double *o = realloc(s->scr_out, (size_t)pairs * STRATA_ATTN_NSTAT * sizeof *o);
        if (!o) return STRATA_ERR_NOMEM;
        s->scr_out = o;
        uint8_t *v = realloc(s->scr_valid, (size_t)pairs * STRATA_ATTN_NSTAT);
        if (!v) return STRATA_ERR_NOMEM;
        s->scr_valid = v;
        s->scr_pairs = pairs;
    }
    return STRATA_OK;
}

static int ensure_doc_scratch(strata_attn_stats *s, int64_t n)
{
    if (n > s->scr_len) {
        int64_t *i = realloc(s->scr_idx, (size_t)n * sizeof *i);
        if (!i) return STRATA_ERR_NOMEM;
        s->scr_idx = i;
        uint8_t *d = realloc(s->scr_dup, (size_t)n);
        if (!d) return STRATA_ERR_NOMEM;
        s->scr_dup = d;
        s->scr_len = n;
    }
    return STRATA_OK;
}

/* Checks the induction form of one document: length 2R+1 and
 * tok[q] == tok[q-R] for q in [R+1, 2R].  Returns 0 if fine, else writes a
 * message and returns STRATA_ERR_FORMAT. */
int st_attn_check_induction(strata_attn_stats *s, const int32_t *tok, int L, int R, int64_t doc)
{
    if (L != 2 * R + 1)
        return st_seterr(&s->err, STRATA_ERR_FORMAT,
                         "attn stats: induction document %lld has %d tokens, expected BOS + S + S "
                         "= 2R+1 = %d for R=%d",
                         (long long)doc, L, 2 * R + 1, R);
    for (int q = R + 1; q <= 2 * R; q++)
        if (tok[q] != tok[q - R])
            return st_seterr(&s->err, STRATA_ERR_FORMAT,
                             "attn stats: induction document %lld is not BOS + S + S: token %d "
                             "(id %d) differs from token %d (id %d), R=%d",
                             (long long)doc, q, tok[q], q - R, tok[q - R], R);
    return STRATA_OK;
}

void st_attn_fold_doc(strata_attn_stats *s, int layer, const double *out, const uint8_t *valid)
{
    const int H = s->n_heads;
    int counted = 0;
    for (int h = 0; h < H; h++) {
        double *sum = s->sum + ((int64_t)layer * H + h) * STRATA_ATTN_NSTAT;
        int64_t *cnt = s->cnt + ((int64_t)layer * H + h) * STRATA_ATTN_NSTAT;
        for (int i = 0; i < STRATA_ATTN_NSTAT; i++)
            if (valid[h * STRATA_ATTN_NSTAT + i]) {
                sum[i] += out[h * STRATA_ATTN_NSTAT + i];
                cnt[i]++;
                counted = 1;
            }
    }
    if (counted) s->docs_layer[layer]++;
    s->n_patterns++;
}

strata_status strata_attn_stats_add_pattern(strata_attn_stats *s, int layer, const float *pattern,
                                            int64_t sh, int64_t sq, int64_t sk,
                                            const int32_t *tokens, int len)
{
    if (!s || !s->ready) return STRATA_ERR_ARG;
    if (layer < 0 || layer >= s->n_layers)
        return st_seterr(&s->err, STRATA_ERR_RANGE, "attn stats: layer %d out of range [0, %d)",
                         layer, s->n_layers);
    if (!pattern || len < 1)
        return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: %s",
                         !pattern ? "pattern is NULL" : "document length < 1");
    if (s->ind_R > 0 && !tokens)
        return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: induction mode needs the tokens");
    if (s->ind_R > 0) ST_TRY(st_attn_check_induction(s, tokens, len, s->ind_R, 0));
    if (ensure_scratch(s, s->n_heads) || ensure_doc_scratch(s, len))
        return st_seterr(&s->err, STRATA_ERR_NOMEM, "attn stats: out of memory");
    const uint8_t *dup = NULL;
    if (tokens && s->ind_general) {
        st_attn_dup_mask(tokens, len, s->scr_idx, s->scr_dup);
        dup = s->scr_dup;
    }
    for (int h = 0; h < s->n_heads; h++)
        st_attn_head_doc(pattern + (int64_t)h * sh, sq, sk, len, tokens, dup, s->ind_R,
                         s->ind_general, s->scr_out + (int64_t)h * STRATA_ATTN_NSTAT,
                         s->scr_valid + (int64_t)h * STRATA_ATTN_NSTAT);
    st_attn_fold_doc(s, layer, s->scr_out, s->scr_valid);
    return STRATA_OK;
}

/* In the pattern hook: record the error, drop the open documents, stop the run. */
#define HOOK_FAIL(s, code, ...) \
    ((s)->failed = 1, (s)->open_nb = 0, st_seterr(&(s)->err, (code), __VA_ARGS__), 1)


/* has_dup as st_attn_dup_mask, in O(L) through a last-seen stamp per
 * vocabulary entry (a sort per document and layer was ~2% of a forward
 * pass); ids outside the vocabulary fall back to the sort. */
static void dup_mask(strata_attn_stats *s, const int32_t *tok, int L, int64_t *keys,
                     uint8_t *has_dup)
{
    const int32_t V = s->cfg.vocab_size;
    if (V > 0 && !s->stamp) s->stamp = calloc((size_t)V, sizeof *s->stamp);
    if (!s->stamp) {
        st_attn_dup_mask(tok, L, keys, has_dup);
        return;
    }
    if (++s->stamp_gen == 0) {   /* wrapped: forget every stamp */
        memset(s->stamp, 0, (size_t)V * sizeof *s->stamp);
        s->stamp_gen = 1;
    }
    for (int q = 0; q < L; q++) {
        const int32_t t = tok[q];
        if (t < 0 || t >= V) {
            st_attn_dup_mask(tok, L, keys, has_dup);
            return;
        }
        has_dup[q] = s->stamp[t] == s->stamp_gen;
        s->stamp[t] = s->stamp_gen;
    }
}

/* The accumulation units of one pattern slice (see pattern_hook). */
typedef struct slice_units {
    strata_attn_stats *s;
    const strata_tensor *t;
    const strata_hook_ctx *ctx;
    st_attn_acc *unit;
    const float *ent;
    int64_t nh, nq, nchunk, b0, q0;
} slice_units;

/* Unit u = (document bb, head hh, block c of ST_ATTN_ACC_ROWS rows) of a slice. */
static void acc_unit(const slice_units *w, int64_t u)
{
    const strata_attn_stats *s = w->s;
    const strata_tensor *t = w->t;
    const int64_t nh = w->nh, nq = w->nq, q0 = w->q0, T = w->ctx->n_ctx;
    const int64_t bb = u / (nh * w->nchunk), hh = u / w->nchunk % nh, c = u % w->nchunk;
    const int64_t b = w->b0 + bb, ob = b - s->open_b0;
    const int L = w->ctx->lengths[b];
    const int R = s->ind_R >= 1 && L < 2 * s->ind_R + 1 ? 0 : s->ind_R; /* too short */
    const int32_t *tok = w->ctx->tokens + b * T;
    const uint8_t *dup = s->ind_general ? s->scr_dup + ob * T : NULL;
    const float *p = t->data + bb * t->strides[0] + hh * t->strides[1];
    st_attn_acc *a = &w->unit[u];
    memset(a, 0, sizeof *a);
    const int64_t r0 = q0 + c * ST_ATTN_ACC_ROWS, r1 = r0 + ST_ATTN_ACC_ROWS < q0 + nq ? r0 + ST_ATTN_ACC_ROWS : q0 + nq;
    const int64_t re = r1 < L ? r1 : L;
    if (L >= 2 && re > r0)
        st_attn_acc_rows(a, p + (r0 - q0) * t->strides[2], t->strides[2], t->strides[3], (int)r0,
                         (int)re, tok, dup, R, s->ind_general,
                         w->ent ? w->ent + (bb * nh + hh) * nq + (r0 - q0) : NULL);
}

/* Hook on blocks.l.attn.hook_pattern, registered with STRATA_HOOK_SLICES:
 * t is [nb,nh,nq,Tk] (strided view) at batch row ctx->batch_offset, head
 * ctx->head_offset, query row ctx->query_offset of the [B,H,T,T] pattern;
 * the whole tensor when unsliced.  Slices arrive in order of batch row, head,
 * query row, so the documents of a slice that starts at head 0, row 0 are
 * "opened" (checks, duplicate masks, zeroed sums), their rows accumulate per
 * (document, head), a head is finished with its last row and a document is
 * folded into the corpus sums with its last head. */
static int pattern_hook(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    strata_attn_stats *s = user;
    if (s->failed) return 1;
    const int T = ctx->n_ctx, layer = ctx->layer, H = s->n_heads;
    if (ctx->pos_offset != 0)
        return HOOK_FAIL(s, STRATA_ERR_UNSUPPORTED,
                         "attn stats: pattern hook called with pos_offset %d (generation with a KV "
                         "cache); run whole documents with strata_run instead",
                         ctx->pos_offset);
    const int64_t nb = t->shape[0], nh = t->shape[1], nq = t->shape[2];
    const int64_t b0 = ctx->batch_offset, h0 = ctx->head_offset, q0 = ctx->query_offset;
    if (layer < 0 || layer >= s->n_layers || t->ndim != 4 || t->shape[3] < T || b0 < 0 ||
        b0 + nb > ctx->batch || q0 < 0 || q0 + nq > T || h0 < 0 || h0 + nh > H)
        return HOOK_FAIL(s, STRATA_ERR_FORMAT,
                         "attn stats: %s: unexpected pattern view (layer %d, ndim %d, or a slice "
                         "outside the run or the accumulator's %d heads)",
                         ctx->name, layer, (int)t->ndim, H);
    const int opens = h0 == 0 && q0 == 0;
    if (!opens && (s->open_nb == 0 || s->open_layer != layer || b0 < s->open_b0 ||
                   b0 + nb > s->open_b0 + s->open_nb))
        return HOOK_FAIL(s, STRATA_ERR_STATE,
                         "attn stats: %s: slice at batch row %lld, head %lld, query row %lld arrived "
                         "before the start of its document",
                         ctx->name, (long long)b0, (long long)h0, (long long)q0);
    if (opens) {
        if (ensure_scratch(s, nb * H) || ensure_doc_scratch(s, nb * T))
            return HOOK_FAIL(s, STRATA_ERR_NOMEM, "attn stats: out of memory");
        for (int64_t bb = 0; bb < nb; bb++) {
            const int32_t *tok = ctx->tokens + (b0 + bb) * T;
            const int L = ctx->lengths[b0 + bb];
            if (s->ind_R > 0 && st_attn_check_induction(s, tok, L, s->ind_R, b0 + bb) < 0) {
                s->failed = 1;
                s->open_nb = 0;
                return 1;
            }
            if (s->ind_general) dup_mask(s, tok, L, s->scr_idx + bb * T, s->scr_dup + bb * T);
        }
        memset(s->scr_valid, 0, (size_t)(nb * H) * STRATA_ATTN_NSTAT);
        s->open_layer = layer;
        s->open_b0 = b0;
        s->open_nb = nb;
    }
    /* units: (document, head, block of ST_ATTN_ACC_ROWS query rows), each with its own sums */
    const int64_t nchunk = (nq + ST_ATTN_ACC_ROWS - 1) / ST_ATTN_ACC_ROWS, units = nb * nh * nchunk;
    const int64_t pairs = s->open_nb * H;
    if (pairs + units > s->scr_acc_n) {
        st_attn_acc *a = realloc(s->scr_acc, (size_t)(pairs + units) * sizeof *a);
        if (!a) return HOOK_FAIL(s, STRATA_ERR_NOMEM, "attn stats: out of memory");
        s->scr_acc = a;
        s->scr_acc_n = pairs + units;
    }
    st_attn_acc *acc = s->scr_acc, *unit = s->scr_acc + pairs;   /* acc [open docs][H] */
    const float *ent = ctx->row_entropy;   /* entropies from the engine's softmax, or NULL */
    int64_t work = 0;
    for (int64_t bb = 0; bb < nb; bb++) work += (int64_t)ctx->lengths[b0 + bb] * nq / 2;
    work *= nh;
    const slice_units su = { s, t, ctx, unit, ent, nh, nq, nchunk, b0, q0 };
    if (work > 200000) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t u = 0; u < units; u++) acc_unit(&su, u);
    } else {   /* no OpenMP region: slices are many and small */
        for (int64_t u = 0; u < units; u++) acc_unit(&su, u);
    }
    /* merge the units in a fixed order; finish heads whose last row came */
    for (int64_t bb = 0; bb < nb; bb++)
        for (int64_t hh = 0; hh < nh; hh++) {
            const int64_t pi = (b0 + bb - s->open_b0) * H + h0 + hh;
            st_attn_acc *a = &acc[pi];
            if (q0 == 0) memset(a, 0, sizeof *a);
            for (int64_t c = 0; c < nchunk; c++) st_attn_acc_merge(a, &unit[(bb * nh + hh) * nchunk + c]);
            if (q0 + nq == T)
                st_attn_acc_finish(a, s->scr_out + pi * STRATA_ATTN_NSTAT,
                                   s->scr_valid + pi * STRATA_ATTN_NSTAT);
        }
    if (h0 + nh == H && q0 + nq == T) {   /* the slice's documents are complete */
        for (int64_t bb = 0; bb < nb; bb++) {
            const int64_t pi = (b0 + bb - s->open_b0) * H;
            st_attn_fold_doc(s, layer, s->scr_out + pi * STRATA_ATTN_NSTAT,
                             s->scr_valid + pi * STRATA_ATTN_NSTAT);
        }
        if (b0 + nb == s->open_b0 + s->open_nb) s->open_nb = 0;
    }
    return 0;
}

strata_status strata_attn_stats_attach(strata_attn_stats *s, strata_model *m)
{
    if (!s || !s->ready) return STRATA_ERR_ARG;
    if (!m) return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: model is NULL");
    if (s->model == m) return STRATA_OK;
    if (s->model) ST_TRY(strata_attn_stats_detach(s));
    const strata_config *c = strata_model_config(m);
    if (c->n_layers != s->n_layers || c->n_heads != s->n_heads)
        return st_seterr(&s->err, STRATA_ERR_ARG,
                         "attn stats: model has %d layers x %d heads, accumulator %d x %d",
                         c->n_layers, c->n_heads, s->n_layers, s->n_heads);
    s->open_nb = 0;
    int rc = strata_hook_add_ex(m, "blocks.*.attn.hook_pattern", pattern_hook, s,
                                STRATA_HOOK_SLICES | STRATA_HOOK_READONLY, &s->hook_id);
    if (rc < 0)
        return st_seterr(&s->err, rc, "attn stats: cannot hook blocks.*.attn.hook_pattern: %s",
                         strata_errmsg(m));
    s->model = m;
    s->failed = 0;
    return STRATA_OK;
}

strata_status strata_attn_stats_detach(strata_attn_stats *s)
{
    if (!s) return STRATA_ERR_ARG;
    if (!s->model) return STRATA_OK;
    int rc = strata_hook_remove(s->model, s->hook_id);
    s->model = NULL;
    if (rc < 0) return st_seterr(&s->err, rc, "attn stats: hook removal failed");
    return STRATA_OK;
}

strata_status strata_attn_stats_run(strata_attn_stats *s, strata_model *m,
                                    const int32_t *tokens, const int32_t *lengths, int batch)
{
    if (!s || !s->ready) return STRATA_ERR_ARG;
    if (batch < 1 || !tokens || !lengths)
        return st_seterr(&s->err, STRATA_ERR_ARG,
                         "attn stats: empty corpus (batch=%d); give at least one document", batch);
    int T = 0;
    for (int b = 0; b < batch; b++) {
        if (lengths[b] < 1)
            return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: document %d is empty", b);
        if (lengths[b] > T) T = lengths[b];
    }
    if (s->cfg.n_ctx > 0 && T > s->cfg.n_ctx)
        return st_seterr(&s->err, STRATA_ERR_RANGE,
                         "attn stats: document of %d tokens exceeds the model's context of %d", T,
                         s->cfg.n_ctx);
    if (s->ind_R > 0)
        for (int b = 0; b < batch; b++)
            ST_TRY(st_attn_check_induction(s, tokens + (int64_t)b * T, lengths[b], s->ind_R, b));
    ST_TRY(strata_attn_stats_attach(s, m));
    s->failed = 0;
    int rc = strata_run(m, tokens, lengths, batch, NULL);
    if (s->failed) {
        s->failed = 0;
        return STRATA_ERR_STATE; /* message set by the hook */
    }
    if (rc < 0) return st_seterr(&s->err, rc, "attn stats: forward pass failed: %s", strata_errmsg(m));
    return STRATA_OK;
}

int64_t strata_attn_stats_n_docs(const strata_attn_stats *s)
{
    if (!s || !s->ready) return 0;
    int64_t n = 0;
    for (int l = 0; l < s->n_layers; l++)
        if (s->docs_layer[l] > n) n = s->docs_layer[l];
    return n;
}

int strata_attn_stats_result(strata_attn_stats *s, strata_attn_head *out, int cap)
{
    if (!s || !s->ready) return STRATA_ERR_ARG;
    const int n = s->n_layers * s->n_heads;
    if (s->n_patterns == 0)
        return st_seterr(&s->err, STRATA_ERR_STATE,
                         "attn stats: no attention pattern seen: attach the accumulator to the "
                         "model (strata_attn_stats_attach) and run documents, or feed patterns");
    if (strata_attn_stats_n_docs(s) == 0)
        return st_seterr(&s->err, STRATA_ERR_STATE,
                         "attn stats: empty corpus: no document with at least 2 tokens was seen");
    if (!out || cap < n)
        return st_seterr(&s->err, STRATA_ERR_RANGE, "attn stats: result needs room for %d heads", n);
    strata_attn_thresholds th = strata_attn_thresholds_default();
    for (int l = 0; l < s->n_layers; l++)
        for (int h = 0; h < s->n_heads; h++) {
            const double *sum = s->sum + ((int64_t)l * s->n_heads + h) * STRATA_ATTN_NSTAT;
            const int64_t *cnt = s->cnt + ((int64_t)l * s->n_heads + h) * STRATA_ATTN_NSTAT;
            strata_attn_head *o = &out[l * s->n_heads + h];
            memset(o, 0, sizeof *o);
            o->layer = l;
            o->head = h;
            double v[STRATA_ATTN_NSTAT];
            for (int i = 0; i < STRATA_ATTN_NSTAT; i++) {
                v[i] = cnt[i] > 0 ? sum[i] / (double)cnt[i] : NAN;
                o->n_docs[i] = cnt[i];
            }
            o->entropy = v[STRATA_ATTN_ENTROPY];
            o->mean_distance = v[STRATA_ATTN_DISTANCE];
            o->prev_token = v[STRATA_ATTN_PREV];
            o->first_token = v[STRATA_ATTN_FIRST];
            o->self = v[STRATA_ATTN_SELFSCORE];
            o->duplicate = v[STRATA_ATTN_DUP];
            o->induction = v[STRATA_ATTN_IND];
            strata_attn_classify(o, &th);
        }
    return n;
}
