/* corpus/addition.c — multi-digit addition with per-digit ground truth
 * (strata_corpus_addition, strata/corpus.h).
 *
 * Problems: a, b ~ U{0 .. 10^D - 1} independently (D = digits).  First the
 * n_test task problems are drawn, rejecting a pair already drawn; then the
 * n_docs training problems, rejecting any task pair (training pairs may
 * repeat).  Document: BOS a + b = s EOS, s = a + b, numbers in decimal digits
 * without leading zeros (pad: a and b with exactly D digits, s with D+1),
 * s most significant digit first (reverse: least significant first).
 * Ids: digits 0..9, "+" 10, "=" 11, BOS 12, EOS 13.
 * Labels on each answer digit of place i (10^i): answer = 1, place = i,
 * carry = the carry into place i, c_i = [(a mod 10^i) + (b mod 10^i) >= 10^i];
 * on every other token answer = 0 and place, carry are null.
 * Task line: prompt BOS a + b =, answer the digits of s then EOS.
 */
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus_out.h"
#include "corpus/rng.h"
#include "strata/corpus.h"

enum { PLUS = 10, EQ = 11, BOS = 12, EOS = 13, NVOCAB = 14 };

strata_corpus_addition_params strata_corpus_addition_default(void)
{
    return (strata_corpus_addition_params){ .seed = 0, .n_docs = 10000, .n_test = 0, .digits = 3,
                                            .pad = 0, .reverse = 0 };
}

/* Open-addressing set of (a, b) pairs. */
typedef struct pairset {
    uint64_t *k;     /* [cap][2], a = UINT64_MAX marks empty */
    size_t cap;
} pairset;

static size_t ph(uint64_t a, uint64_t b, size_t cap)
{
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* 1 if present; inserts when ins. */
static int pairset_has(pairset *s, uint64_t a, uint64_t b, int ins)
{
    for (size_t i = ph(a, b, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->k[2 * i] == UINT64_MAX) {
            if (ins) { s->k[2 * i] = a; s->k[2 * i + 1] = b; }
            return 0;
        }
        if (s->k[2 * i] == a && s->k[2 * i + 1] == b) return 1;
    }
}

/* Digits of v, least significant first, at least min_len of them; returns count. */
static int digits_of(uint64_t v, int min_len, int *dig)
{
    int n = 0;
    do { dig[n++] = (int)(v % 10); v /= 10; } while (v);
    while (n < min_len) dig[n++] = 0;
    return n;
}

/* Token ids of one problem: prompt (BOS a + b =) and answer (digits of s, EOS);
 * place[k], carry[k] of each answer digit. */
typedef struct problem {
    int32_t prompt[48]; int np;
    int32_t answer[24]; int na;
    int place[24], carry[24];
} problem;

static void build(const strata_corpus_addition_params *p, uint64_t a, uint64_t b, problem *q)
{
    int da[24], db[24], ds[24];
    int min = p->pad ? p->digits : 1;
    int na = digits_of(a, min, da), nb = digits_of(b, min, db);
    int ns = digits_of(a + b, p->pad ? p->digits + 1 : 1, ds);
    q->np = 0;
    q->prompt[q->np++] = BOS;
    for (int i = na - 1; i >= 0; i--) q->prompt[q->np++] = da[i];
    q->prompt[q->np++] = PLUS;
    for (int i = nb - 1; i >= 0; i--) q->prompt[q->np++] = db[i];
    q->prompt[q->np++] = EQ;
    /* carries into each place of the sum */
    int c[24], carry = 0;
    for (int i = 0; i < ns; i++) {
        c[i] = carry;
        int s = (i < na ? da[i] : 0) + (i < nb ? db[i] : 0) + carry;
        carry = s >= 10;
    }
    q->na = 0;
    for (int k = 0; k < ns; k++) {
        int i = p->reverse ? k : ns - 1 - k;
        q->place[q->na] = i;
        q->carry[q->na] = c[i];
        q->answer[q->na++] = ds[i];
    }
    q->answer[q->na++] = EOS;
}

strata_status strata_corpus_addition(const strata_corpus_addition_params *p, const strata_corpus_out *o,
                                     char *err, size_t err_len)
{
    st_err e = { { 0 } };
    int rc = STRATA_OK;
    if (p->digits < 1 || p->digits > 18)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--digits %d is not in [1, 18]", p->digits);
    else if (p->n_docs < 1 || p->n_docs > 1000000000)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--docs %lld is not in [1, 1e9]", (long long)p->n_docs);
    else if (p->n_test < 0 || p->n_test > 10000000)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--n-test %lld is not in [0, 1e7]", (long long)p->n_test);
    else if (!o || !o->out) rc = st_seterr(&e, STRATA_ERR_ARG, "--out is required");
    else if (o->test_out) rc = st_seterr(&e, STRATA_ERR_ARG, "addition writes no --test-out (use --task-out)");
    else if (p->n_test > 0 && !o->task_out)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--n-test %lld needs --task-out", (long long)p->n_test);
    else if (p->n_test == 0 && o->task_out)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--task-out needs --n-test >= 1");
    uint64_t M = 1;   /* 10^D */
    for (int i = 0; i < p->digits && i < 18; i++) M *= 10;
    /* at most half of all pairs as task problems, so that rejection stays fast */
    if (rc == STRATA_OK && p->digits <= 9 && (uint64_t)p->n_test > M * M / 2)
        rc = st_seterr(&e, STRATA_ERR_ARG,
                       "--n-test %lld: more than half of the %llu distinct %d-digit problems",
                       (long long)p->n_test, (unsigned long long)(M * M), p->digits);

    st_cfile fo = { 0 }, ft = { 0 };
    if (rc == STRATA_OK) rc = st_cfile_open(&fo, o->out, o->overwrite, "--out", &e);
    if (rc == STRATA_OK && o->task_out) rc = st_cfile_open(&ft, o->task_out, o->overwrite, "--task-out", &e);
    static const char *const pieces[NVOCAB] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                                "+", "=", "<bos>", "<eos>" };
    if (rc == STRATA_OK && o->tokenizer_dir)
        rc = st_corpus_write_tokenizer(o->tokenizer_dir, pieces, NVOCAB, BOS, EOS, o->overwrite, &e);

    pairset set = { 0 };
    if (rc == STRATA_OK && p->n_test > 0) {
        set.cap = 16;
        while (set.cap < 2 * (size_t)p->n_test) set.cap *= 2;
        set.k = malloc(sizeof *set.k * 2 * set.cap);
        if (!set.k) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        else memset(set.k, 0xFF, sizeof *set.k * 2 * set.cap);
    }
    st_rng r;
    st_rng_seed(&r, p->seed);
    problem q;
    for (int64_t i = 0; rc == STRATA_OK && i < p->n_test; i++) {
        uint64_t a, b;
        do {
            a = st_rng_below(&r, M);
            b = st_rng_below(&r, M);
        } while (pairset_has(&set, a, b, 1));
        build(p, a, b, &q);
        st_corpus_write_task(ft.f, q.prompt, q.np, q.answer, q.na);
    }
    static const char *const names[] = { "answer", "place", "carry" };
    st_cdoc d;
    st_cdoc_init(&d, 3, names);
    const double nan = __builtin_nan("");
    for (int64_t i = 0; rc == STRATA_OK && i < p->n_docs; i++) {
        uint64_t a, b;
        do {
            a = st_rng_below(&r, M);
            b = st_rng_below(&r, M);
        } while (set.k && pairset_has(&set, a, b, 0));
        build(p, a, b, &q);
        st_cdoc_clear(&d);
        const double none[3] = { 0, nan, nan };
        for (int t = 0; t < q.np && rc == STRATA_OK; t++)
            if (st_cdoc_push(&d, q.prompt[t], none)) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        for (int k = 0; k < q.na && rc == STRATA_OK; k++) {
            double v[3] = { 1, q.place[k], q.carry[k] };
            if (k == q.na - 1) memcpy(v, none, sizeof v);   /* EOS */
            if (st_cdoc_push(&d, q.answer[k], v)) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        }
        if (rc == STRATA_OK) st_cdoc_write(&d, fo.f, pieces);
    }
    st_cdoc_free(&d);
    free(set.k);
    if (rc == STRATA_OK) rc = st_cfile_commit(&fo, &e);
    if (rc == STRATA_OK && ft.f) rc = st_cfile_commit(&ft, &e);
    st_cfile_abort(&fo);
    st_cfile_abort(&ft);
    if (err && err_len) snprintf(err, err_len, "%s", rc < 0 ? e.msg : "");
    return rc;
}
