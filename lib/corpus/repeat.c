/* corpus/repeat.c — the induction corpus: random tokens with one span copied
 * later at a random distance (strata_corpus_repeat, strata/corpus.h).
 *
 * Document (n = seq_len tokens, ids in [0, vocab), 0 = BOS), per document:
 *   L ~ U{min_span .. max_span}                span length
 *   d ~ U{L .. n-1-L}                          distance copy - source (>= L: no overlap)
 *   a ~ U{1 .. n-L-d}                          source start; copy start b = a + d
 *   tok[0] = 0; tok[t] ~ U{1 .. vocab-1} for t in 1..n-1 outside [b, b+L),
 *   drawn in increasing t; tok[b+j] = tok[a+j] for j in 0..L-1.
 * Labels: in_source[t] = [a <= t < a+L], in_copy[t] = [b <= t < b+L],
 * copy_pos[t] = t-b+1 inside the copy else 0; scalars span = L, distance = d.
 * Varying d keeps a one-layer model from predicting the copy by a fixed
 * relative position: only an induction mechanism (find the earlier
 * occurrence of the current token, copy its successor) predicts tok[b+j+1]
 * from tok[b+j] for every d.
 */
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus_out.h"
#include "corpus/rng.h"
#include "strata/corpus.h"

strata_corpus_repeat_params strata_corpus_repeat_default(void)
{
    return (strata_corpus_repeat_params){ .seed = 0, .n_docs = 10000, .vocab = 64, .seq_len = 64,
                                          .min_span = 4, .max_span = 16 };
}

static int check(const strata_corpus_repeat_params *p, st_err *e)
{
    if (p->n_docs < 1 || p->n_docs > 1000000000)
        return st_seterr(e, STRATA_ERR_ARG, "--docs %lld is not in [1, 1e9]", (long long)p->n_docs);
    if (p->vocab < 2 || p->vocab > 16777216)
        return st_seterr(e, STRATA_ERR_ARG, "--vocab %d is not in [2, 16777216]", p->vocab);
    if (p->seq_len < 3 || p->seq_len > 1048576)
        return st_seterr(e, STRATA_ERR_ARG, "--seq-len %d is not in [3, 1048576]", p->seq_len);
    if (p->min_span < 1 || p->max_span < p->min_span)
        return st_seterr(e, STRATA_ERR_ARG, "--min-span %d / --max-span %d: need 1 <= min <= max",
                         p->min_span, p->max_span);
    if (2 * (int64_t)p->max_span + 1 > p->seq_len)
        return st_seterr(e, STRATA_ERR_ARG,
                         "--max-span %d: BOS + source + copy need 2*max_span + 1 = %lld tokens, "
                         "more than --seq-len %d", p->max_span, 2 * (long long)p->max_span + 1,
                         p->seq_len);
    return STRATA_OK;
}

strata_status strata_corpus_repeat(const strata_corpus_repeat_params *p, const strata_corpus_out *o,
                                   char *err, size_t err_len)
{
    st_err e = { { 0 } };
    int rc = check(p, &e);
    if (rc == STRATA_OK && (!o || !o->out)) rc = st_seterr(&e, STRATA_ERR_ARG, "--out is required");
    if (rc == STRATA_OK && (o->test_out || o->task_out))
        rc = st_seterr(&e, STRATA_ERR_ARG, "repeat writes no %s", o->test_out ? "--test-out" : "--task-out");
    st_cfile f = { 0 };
    if (rc == STRATA_OK) rc = st_cfile_open(&f, o->out, o->overwrite, "--out", &e);
    char **pieces = NULL;
    if (rc == STRATA_OK && o->tokenizer_dir) {
        pieces = calloc((size_t)p->vocab, sizeof *pieces);
        if (!pieces) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        for (int i = 0; rc == STRATA_OK && i < p->vocab; i++) {
            char buf[16];
            snprintf(buf, sizeof buf, "%d", i);
            pieces[i] = strdup(i ? buf : "<bos>");
            if (!pieces[i]) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        }
        if (rc == STRATA_OK)
            rc = st_corpus_write_tokenizer(o->tokenizer_dir, (const char *const *)pieces, p->vocab, 0, -1,
                                           o->overwrite, &e);
    }
    if (pieces)
        for (int i = 0; i < p->vocab; i++) free(pieces[i]);
    free(pieces);
    static const char *const names[] = { "in_source", "in_copy", "copy_pos" };
    st_cdoc d;
    st_cdoc_init(&d, 3, names);
    st_rng r;
    st_rng_seed(&r, p->seed);
    const int n = p->seq_len;
    int32_t *tok = rc == STRATA_OK ? malloc(sizeof *tok * (size_t)n) : NULL;
    if (rc == STRATA_OK && !tok) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
    for (int64_t di = 0; rc == STRATA_OK && di < p->n_docs; di++) {
        int L = (int)st_rng_range(&r, p->min_span, p->max_span);
        int dist = (int)st_rng_range(&r, L, n - 1 - L);
        int a = (int)st_rng_range(&r, 1, n - L - dist);
        int b = a + dist;
        tok[0] = 0;
        for (int t = 1; t < n; t++)
            if (t < b || t >= b + L) tok[t] = 1 + (int32_t)st_rng_below(&r, (uint64_t)p->vocab - 1);
        for (int j = 0; j < L; j++) tok[b + j] = tok[a + j];
        st_cdoc_clear(&d);
        for (int t = 0; t < n && rc == STRATA_OK; t++) {
            int in_copy = t >= b && t < b + L;
            double v[3] = { t >= a && t < a + L, in_copy, in_copy ? t - b + 1 : 0 };
            if (st_cdoc_push(&d, tok[t], v)) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        }
        st_cdoc_scalar(&d, "span", L);
        st_cdoc_scalar(&d, "distance", dist);
        if (rc == STRATA_OK) st_cdoc_write(&d, f.f, NULL);
    }
    free(tok);
    st_cdoc_free(&d);
    if (rc == STRATA_OK) rc = st_cfile_commit(&f, &e);
    else st_cfile_abort(&f);
    if (err && err_len) snprintf(err, err_len, "%s", rc < 0 ? e.msg : "");
    return rc;
}
