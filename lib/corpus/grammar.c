/* corpus/grammar.c — a small probabilistic grammar with latent variables per
 * token (strata_corpus_grammar, strata/corpus.h).  docs/CORPUS.md states the
 * grammar, its probabilities and the order of random draws; in short:
 *
 *   Doc       -> BOS Intro^E Body          (Body: the shuffled list of
 *                                           `sentences` Sentence and E Recall)
 *   Intro_i   -> NAME_i has a COLOR_i THING_i .
 *   Recall_i  -> NAME_i 's THING_i is COLOR_i .
 *   Sentence  -> Clause(0) .
 *   Clause(k) -> the N[n] Rel? V[n] the N[m]                (object)
 *              | the N[n] Rel? SAY[n] " Clause(k+1) "       (quote, k < max_depth)
 *   Rel       -> that the N[m'] V[m']                       (object relative: an attractor)
 *              | that V[n] the N[m']                        (subject relative)
 * n, m, m' are numbers (singular 0 / plural 1); V[n] / SAY[n] agree with n.
 *
 * Labels (null where undefined):
 *   subj_number  on the tokens from a clause's subject noun up to (excluding)
 *                its verb, relative clauses included: that clause's subject
 *                number, i.e. the agreement the next main verb must show
 *   quote_depth  every token: the number of quotations it lies in; both
 *                quote marks belong to the quotation they delimit
 *   attr         on NAME 's THING is of a recall: the entity's COLOR index
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus_out.h"
#include "corpus/rng.h"
#include "strata/corpus.h"

/* The vocabulary; ids are indices. */
enum {
    W_BOS, W_THE, W_THAT, W_A, W_HAS, W_POSS, W_IS, W_DOT, W_QUOTE, W_SAYS, W_SAY,
    W_NAME0,                        /* 6 names */
    W_THING0 = W_NAME0 + 6,         /* 6 things */
    W_COLOR0 = W_THING0 + 6,        /* 6 colors */
    W_NOUN0 = W_COLOR0 + 6,         /* 6 nouns: singular, then 6 plural */
    W_VERB0 = W_NOUN0 + 12,         /* 4 verbs: singular, then 4 plural */
    W_COUNT = W_VERB0 + 8
};
#define N_NAMES 6
#define N_THINGS 6
#define N_COLORS 6
#define N_NOUNS 6
#define N_VERBS 4

static const char *const PIECES[W_COUNT] = {
    "<bos>", "the", "that", "a", "has", "'s", "is", ".", "\"", "says", "say",
    "mia", "tom", "ana", "ben", "eva", "sam",
    "box", "cup", "hat", "ball", "kite", "bag",
    "red", "blue", "green", "yellow", "pink", "brown",
    "dog", "cat", "bird", "king", "girl", "boy",
    "dogs", "cats", "birds", "kings", "girls", "boys",
    "sees", "likes", "chases", "helps",
    "see", "like", "chase", "help",
};

enum { L_NUM, L_DEPTH, L_ATTR, N_LAB };

typedef struct gen {
    const strata_corpus_grammar_params *p;
    st_rng r;
    st_cdoc d;
    int depth;
    int oom;
} gen;

static void push(gen *g, int id, double num, double attr)
{
    double v[N_LAB] = { num, g->depth, attr };
    if (st_cdoc_push(&g->d, id, v)) g->oom = 1;
}

/* the N[n]; returns nothing, pushes "the" with label before and the noun with after. */
static void noun_phrase(gen *g, int n, double before, double after)
{
    push(g, W_THE, before, NAN);
    push(g, W_NOUN0 + n * N_NOUNS + (int)st_rng_below(&g->r, N_NOUNS), after, NAN);
}

static int draw_number(gen *g) { return st_rng_bernoulli(&g->r, g->p->p_plural); }

static void verb(gen *g, int n, double label)
{
    push(g, W_VERB0 + n * N_VERBS + (int)st_rng_below(&g->r, N_VERBS), label, NAN);
}

static void clause(gen *g, int k)
{
    int n = draw_number(g);
    noun_phrase(g, n, NAN, n);            /* subject: pending agreement n from the noun */
    if (st_rng_bernoulli(&g->r, g->p->p_relative)) {
        push(g, W_THAT, n, NAN);
        int m = draw_number(g);
        if (st_rng_bernoulli(&g->r, g->p->p_object_relative)) {
            noun_phrase(g, m, n, n);      /* the attractor N[m] */
            verb(g, m, n);                /* V[m], still inside the pending span of n */
        } else {
            verb(g, n, n);
            noun_phrase(g, m, n, n);
        }
    }
    if (k < g->p->max_depth && st_rng_bernoulli(&g->r, g->p->p_quote)) {
        push(g, n ? W_SAY : W_SAYS, NAN, NAN);
        g->depth++;
        push(g, W_QUOTE, NAN, NAN);
        clause(g, k + 1);
        push(g, W_QUOTE, NAN, NAN);
        g->depth--;
    } else {
        verb(g, n, NAN);
        noun_phrase(g, draw_number(g), NAN, NAN);
    }
}

strata_corpus_grammar_params strata_corpus_grammar_default(void)
{
    return (strata_corpus_grammar_params){ .seed = 0, .n_docs = 4000, .entities = 2, .colors = 4,
                                           .sentences = 4, .max_depth = 2, .p_plural = 0.5,
                                           .p_relative = 0.5, .p_object_relative = 0.5,
                                           .p_quote = 0.3 };
}

static int prob_ok(double q) { return q >= 0 && q <= 1; }

strata_status strata_corpus_grammar(const strata_corpus_grammar_params *p, const strata_corpus_out *o,
                                    char *err, size_t err_len)
{
    st_err e = { { 0 } };
    int rc = STRATA_OK;
    if (p->n_docs < 1 || p->n_docs > 1000000000)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--docs %lld is not in [1, 1e9]", (long long)p->n_docs);
    else if (p->entities < 1 || p->entities > N_NAMES)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--entities %d is not in [1, %d]", p->entities, N_NAMES);
    else if (p->colors < 2 || p->colors > N_COLORS)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--colors %d is not in [2, %d]", p->colors, N_COLORS);
    else if (p->sentences < 0 || p->sentences > 32)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--sentences %d is not in [0, 32]", p->sentences);
    else if (p->max_depth < 0 || p->max_depth > 4)
        rc = st_seterr(&e, STRATA_ERR_ARG, "--max-depth %d is not in [0, 4]", p->max_depth);
    else if (!prob_ok(p->p_plural) || !prob_ok(p->p_relative) || !prob_ok(p->p_object_relative) ||
             !prob_ok(p->p_quote))
        rc = st_seterr(&e, STRATA_ERR_ARG, "--p-%s %g is not a probability in [0, 1]",
                       !prob_ok(p->p_plural) ? "plural" : !prob_ok(p->p_relative) ? "relative"
                       : !prob_ok(p->p_object_relative) ? "object-relative" : "quote",
                       !prob_ok(p->p_plural) ? p->p_plural : !prob_ok(p->p_relative) ? p->p_relative
                       : !prob_ok(p->p_object_relative) ? p->p_object_relative : p->p_quote);
    else if (!o || !o->out) rc = st_seterr(&e, STRATA_ERR_ARG, "--out is required");
    else if (o->test_out || o->task_out)
        rc = st_seterr(&e, STRATA_ERR_ARG, "grammar writes no %s", o->test_out ? "--test-out" : "--task-out");
    st_cfile f = { 0 };
    if (rc == STRATA_OK) rc = st_cfile_open(&f, o->out, o->overwrite, "--out", &e);
    if (rc == STRATA_OK && o->tokenizer_dir)
        rc = st_corpus_write_tokenizer(o->tokenizer_dir, PIECES, W_COUNT, W_BOS, -1, o->overwrite, &e);

    static const char *const names[N_LAB] = { "subj_number", "quote_depth", "attr" };
    gen g = { .p = p };
    st_cdoc_init(&g.d, N_LAB, names);
    st_rng_seed(&g.r, p->seed);
    const int E = p->entities;
    for (int64_t di = 0; rc == STRATA_OK && di < p->n_docs; di++) {
        int name[N_NAMES], thing[N_NAMES], color[N_NAMES], slot[32 + N_NAMES];
        /* 1. distinct names: the first E of a partial Fisher-Yates shuffle */
        for (int i = 0; i < N_NAMES; i++) name[i] = i;
        for (int i = 0; i < E; i++) {
            int j = i + (int)st_rng_below(&g.r, (uint64_t)(N_NAMES - i)), t = name[i];
            name[i] = name[j];
            name[j] = t;
        }
        /* 2. each entity's thing and color */
        for (int i = 0; i < E; i++) {
            thing[i] = (int)st_rng_below(&g.r, N_THINGS);
            color[i] = (int)st_rng_below(&g.r, (uint64_t)p->colors);
        }
        /* 3. body order: slots 0..S-1 sentences, S+i recall of entity i, shuffled */
        const int S = p->sentences, B = S + E;
        for (int i = 0; i < B; i++) slot[i] = i;
        for (int i = B - 1; i >= 1; i--) {
            int j = (int)st_rng_below(&g.r, (uint64_t)i + 1), t = slot[i];
            slot[i] = slot[j];
            slot[j] = t;
        }
        /* 4. the words */
        st_cdoc_clear(&g.d);
        g.depth = 0;
        push(&g, W_BOS, NAN, NAN);
        for (int i = 0; i < E; i++) {
            push(&g, W_NAME0 + name[i], NAN, NAN);
            push(&g, W_HAS, NAN, NAN);
            push(&g, W_A, NAN, NAN);
            push(&g, W_COLOR0 + color[i], NAN, NAN);
            push(&g, W_THING0 + thing[i], NAN, NAN);
            push(&g, W_DOT, NAN, NAN);
        }
        for (int s = 0; s < B; s++) {
            if (slot[s] < S) {
                clause(&g, 0);
            } else {
                int i = slot[s] - S;
                push(&g, W_NAME0 + name[i], NAN, color[i]);
                push(&g, W_POSS, NAN, color[i]);
                push(&g, W_THING0 + thing[i], NAN, color[i]);
                push(&g, W_IS, NAN, color[i]);
                push(&g, W_COLOR0 + color[i], NAN, NAN);
            }
            push(&g, W_DOT, NAN, NAN);
        }
        if (g.oom) rc = st_seterr(&e, STRATA_ERR_NOMEM, "out of memory");
        else st_cdoc_write(&g.d, f.f, PIECES);
    }
    st_cdoc_free(&g.d);
    if (rc == STRATA_OK) rc = st_cfile_commit(&f, &e);
    st_cfile_abort(&f);
    if (err && err_len) snprintf(err, err_len, "%s", rc < 0 ? e.msg : "");
    return rc;
}
