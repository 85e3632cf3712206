/* corpus/modular.c — modular arithmetic, the memorise-then-generalise task
 * (strata_corpus_modular, strata/corpus.h).
 *
 * The problems are every pair (a, b) in [0,p) x [0,p) (b in [1,p) for div),
 * N = p^2 (or p(p-1)), enumerated a-major, then shuffled by Fisher-Yates with
 * the seeded generator (for i = N-1 .. 1: j ~ U{0..i}, swap i and j).  The
 * first n_train = clamp(round(train_frac * N), 1, N) go to the training file,
 * the rest to the test file.  Document: BOS a OP b = c with
 *   add: c = (a + b) mod p     sub: c = (a - b) mod p (in [0,p))
 *   mul: c = a b mod p         div: c = a b^(p-2) mod p (b's inverse, p prime)
 * Ids: numbers 0..p-1 are themselves, OP = p, "=" = p+1, BOS = p+2.
 * Labels: answer[t] = 1 at the c token, 0 elsewhere; scalars a, b, c.
 */
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus_out.h"
#include "corpus/rng.h"
#include "strata/corpus.h"

strata_corpus_modular_params strata_corpus_modular_default(void)
{
    return (strata_corpus_modular_params){ .seed = 0, .p = 113, .op = STRATA_CORPUS_ADD,
                                           .train_frac = 0.3 };
}

static int is_prime(int p)
{
    if (p < 2) return 0;
    for (int q = 2; q * q <= p; q++)
        if (p % q == 0) return 0;
    return 1;
}

static int64_t powmod(int64_t b, int64_t e, int64_t p)
{
    int64_t r = 1;
    b %= p;
    for (; e > 0; e >>= 1) {
        if (e & 1) r = r * b % p;
        b = b * b % p;
    }
    return r;
}

/* c = a OP b mod p */
static int64_t apply(int op, int64_t a, int64_t b, int64_t p)
{
    switch (op) {
    case STRATA_CORPUS_ADD: return (a + b) % p;
    case STRATA_CORPUS_SUB: return ((a - b) % p + p) % p;
    case STRATA_CORPUS_MUL: return a * b % p;
    default: return a * powmod(b, p - 2, p) % p;
    }
}

static int write_doc(st_cdoc *d, FILE *f, const char *const *pieces, int p, int64_t a, int64_t b,
                     int64_t c)
{
    const int32_t ids[6] = { p + 2, (int32_t)a, p, (int32_t)b, p + 1, (int32_t)c };
    st_cdoc_clear(d);
    for (int t = 0; t < 6; t++) {
        double v = t == 5;
        if (st_cdoc_push(d, ids[t], &v)) return -1;
    }
    st_cdoc_scalar(d, "a", (double)a);
    st_cdoc_scalar(d, "b", (double)b);
    st_cdoc_scalar(d, "c", (double)c);
    st_cdoc_write(d, f, pieces);
    return 0;
}

strata_status strata_corpus_modular(const strata_corpus_modular_params *p, const strata_corpus_out *o,
                                    char *err, size_t err_len)
{
    st_err e = { { 0 } };
    int rc = STRATA_OK;
    if (p->p < 2 || p->p > 10000) rc = st_seterr(&e, STRATA_ERR_ARG, "--p %d is not in [2, 10000]", p->p);
    else if (p->op < STRATA_CORPUS_ADD || p->op > STRATA_CORPUS_DIV)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--op: unknown operation %d", p->op);
    else if (p->op == STRATA_CORPUS_DIV && !is_prime(p->p))
        rc = st_seterr(&e, STRATA_ERR_ARG, "--op div needs a prime --p (%d is not prime)", p->p);
    else if (!(p->train_frac > 0 && p->train_frac <= 1))
        rc = st_seterr(&e, STRATA_ERR_ARG, "--train-frac %g is not in (0, 1]", p->train_frac);
    else if (!o || !o->out) rc = st_seterr(&e, STRATA_ERR_ARG, "--out is required");
    const int64_t P = p->p;
    const int64_t N = p->op == STRATA_CORPUS_DIV ? P * (P - 1) : P * P;
    int64_t n_train = (int64_t)(p->train_frac * (double)N + 0.5);
    if (n_train < 1) n_train = 1;
    if (n_train > N) n_train = N;
    if (rc == STRATA_OK && n_train < N && !o->test_out)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--train-frac %g leaves %lld test problems: give --test-out",
                       p->train_frac, (long long)(N - n_train));
    if (rc == STRATA_OK && n_train == N && o->test_out)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--test-out: --train-frac 1 leaves no test problems");

    st_cfile ftr = { 0 }, fte = { 0 }, fta = { 0 };
    if (rc == STRATA_OK) rc = st_cfile_open(&ftr, o->out, o->overwrite, "--out", &e);
    if (rc == STRATA_OK && o->test_out) rc = st_cfile_open(&fte, o->test_out, o->overwrite, "--test-out", &e);
    if (rc == STRATA_OK && o->task_out) rc = st_cfile_open(&fta, o->task_out, o->overwrite, "--task-out", &e);

    /* vocabulary: "0".."p-1", OP, "=", "<bos>" */
    static const char *const ops[] = { "+", "-", "*", "/" };
    char **pieces = rc == STRATA_OK ? calloc((size_t)P + 3, sizeof *pieces) : NULL;
    if (rc == STRATA_OK && !pieces) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; rc == STRATA_OK && i < P + 3; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "%lld", (long long)i);
        pieces[i] = strdup(i < P ? buf : i == P ? ops[p->op] : i == P + 1 ? "=" : "<bos>");
        if (!pieces[i]) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
    }
    if (rc == STRATA_OK && o->tokenizer_dir)
        rc = st_corpus_write_tokenizer(o->tokenizer_dir, (const char *const *)pieces, (int)P + 3,
                                       (int)P + 2, -1, o->overwrite, &e);

    int64_t *pairs = rc == STRATA_OK ? malloc(sizeof *pairs * (size_t)N) : NULL;  /* a*P + b */
    if (rc == STRATA_OK && !pairs) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
    if (rc == STRATA_OK) {
        int64_t k = 0;
        for (int64_t a = 0; a < P; a++)
            for (int64_t b = p->op == STRATA_CORPUS_DIV ? 1 : 0; b < P; b++) pairs[k++] = a * P + b;
        st_rng r;
        st_rng_seed(&r, p->seed);
        for (int64_t i = N - 1; i >= 1; i--) {
            int64_t j = (int64_t)st_rng_below(&r, (uint64_t)i + 1), t = pairs[i];
            pairs[i] = pairs[j];
            pairs[j] = t;
        }
    }
    static const char *const names[] = { "answer" };
    st_cdoc d;
    st_cdoc_init(&d, 1, names);
    for (int64_t i = 0; rc == STRATA_OK && i < N; i++) {
        int64_t a = pairs[i] / P, b = pairs[i] % P, c = apply(p->op, a, b, P);
        if (write_doc(&d, i < n_train ? ftr.f : fte.f, (const char *const *)pieces, p->p, a, b, c))
            rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        if (fta.f && (i >= n_train) == (n_train < N)) {
            const int32_t prompt[5] = { (int32_t)P + 2, (int32_t)a, (int32_t)P, (int32_t)b, (int32_t)P + 1 };
            const int32_t ans[1] = { (int32_t)c };
            st_corpus_write_task(fta.f, prompt, 5, ans, 1);
        }
    }
    st_cdoc_free(&d);
    free(pairs);
    if (pieces)
        for (int64_t i = 0; i < P + 3; i++) free(pieces[i]);
    free(pieces);
    if (rc == STRATA_OK) rc = st_cfile_commit(&ftr, &e);
    if (rc == STRATA_OK && fte.f) rc = st_cfile_commit(&fte, &e);
    if (rc == STRATA_OK && fta.f) rc = st_cfile_commit(&fta, &e);
    st_cfile_abort(&ftr);
    st_cfile_abort(&fte);
    st_cfile_abort(&fta);
    if (err && err_len) snprintf(err, err_len, "%s", rc < 0 ? e.msg : "");
    return rc;
}
