/* tests/test_corpus.c — the synthetic corpus generators (lib/corpus/).
 *
 * 1. Determinism: the same seed gives the same bytes, another seed others.
 * 2. Ground truth recomputed here by independent logic from each file:
 *    repeat (the copy equals the source; distances vary), modular (c found by
 *    search over [0,p), every pair exactly once across the splits), addition
 *    (sums by integer arithmetic, carries by the mod-10^i formula, task
 *    problems disjoint from the training ones), grammar (a recursive-descent
 *    parser of the grammar recomputes agreement, every label, and checks that
 *    each recall names the colour of its entity's introduction).
 * 3. The tokenizer directory: encoding "words" gives "ids"; a tiny GPT-2 with
 *    that tokenizer captures the JSONL and stores the labels per token.
 * 4. Bad options: each refused with a message naming the option; an existing
 *    output without overwrite is refused and left untouched.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/capture.h"
#include "strata/corpus.h"
#include "strata/model.h"
#include "strata/tokenizer.h"
#include "testutil.h"
#include "tiny_model.h"

/* Reads a JSONL file into an array of objects (*n of them). */
static json_t **read_jsonl(const char *path, int *n)
{
    char *s = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(s);
    int cap = 64;
    json_t **v = malloc(sizeof *v * cap);
    *n = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        ck_assert_msg(o != NULL, "%s line %d: %s", path, *n + 1, je.text);
        if (*n == cap) v = realloc(v, sizeof *v * (cap *= 2));
        v[(*n)++] = o;
    }
    free(s);
    return v;
}

static void free_jsonl(json_t **v, int n)
{
    for (int i = 0; i < n; i++) json_decref(v[i]);
    free(v);
}

static int ival(json_t *o, const char *k) { return (int)json_integer_value(json_object_get(o, k)); }

/* element i of array field k: NaN for null */
static double aval(json_t *o, const char *k, size_t i)
{
    json_t *x = json_array_get(json_object_get(o, k), i);
    ck_assert_msg(x != NULL, "field %s has no element %zu", k, i);
    return json_is_null(x) ? NAN : json_number_value(x);
}

static int same_label(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static char ERR[1024];

/* ------------------------------------------------------------ determinism */

START_TEST(test_determinism)
{
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, "%s", tu_tmpfile("det_a.jsonl"));
    snprintf(b, sizeof b, "%s", tu_tmpfile("det_b.jsonl"));
    snprintf(c, sizeof c, "%s", tu_tmpfile("det_c.jsonl"));
    for (int g = 0; g < 4; g++) {
        char ta[1024], tb[1024];
        snprintf(ta, sizeof ta, "%s", tu_tmpfile("det_ta.jsonl"));
        snprintf(tb, sizeof tb, "%s", tu_tmpfile("det_tb.jsonl"));
        for (int k = 0; k < 3; k++) {
            const char *path = k == 0 ? a : k == 1 ? b : c;
            uint64_t seed = k == 2 ? 8 : 7;
            strata_corpus_out o = { .out = path, .overwrite = 1 };
            int rc;
            if (g == 0) {
                strata_corpus_repeat_params p = strata_corpus_repeat_default();
                p.seed = seed;
                p.n_docs = 50;
                rc = strata_corpus_repeat(&p, &o, ERR, sizeof ERR);
            } else if (g == 1) {
                strata_corpus_modular_params p = strata_corpus_modular_default();
                p.seed = seed;
                p.p = 23;
                o.test_out = k == 0 ? ta : tb;
                rc = strata_corpus_modular(&p, &o, ERR, sizeof ERR);
            } else if (g == 2) {
                strata_corpus_grammar_params p = strata_corpus_grammar_default();
                p.seed = seed;
                p.n_docs = 50;
                rc = strata_corpus_grammar(&p, &o, ERR, sizeof ERR);
            } else {
                strata_corpus_addition_params p = strata_corpus_addition_default();
                p.seed = seed;
                p.n_docs = 50;
                p.n_test = 10;
                o.task_out = k == 0 ? ta : tb;
                rc = strata_corpus_addition(&p, &o, ERR, sizeof ERR);
            }
            ck_assert_msg(rc == STRATA_OK, "generator %d: %s", g, ERR);
        }
        ck_assert_msg(tu_same_bytes(a, b), "generator %d: same seed, different output", g);
        ck_assert_msg(!tu_same_bytes(a, c), "generator %d: another seed, same output", g);
    }
}
END_TEST

/* ------------------------------------------------------------ repeat */

START_TEST(test_repeat_truth)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", tu_tmpfile("rep.jsonl"));
    strata_corpus_repeat_params p = strata_corpus_repeat_default();
    p.n_docs = 300;
    p.vocab = 50;
    p.seq_len = 40;
    p.min_span = 3;
    p.max_span = 12;
    p.seed = 3;
    strata_corpus_out o = { .out = path, .overwrite = 1 };
    ck_assert_msg(strata_corpus_repeat(&p, &o, ERR, sizeof ERR) == STRATA_OK, "%s", ERR);
    int n;
    json_t **docs = read_jsonl(path, &n);
    ck_assert_int_eq(n, 300);
    int seen_dist[64] = { 0 }, seen_span[64] = { 0 };
    for (int d = 0; d < n; d++) {
        json_t *ids = json_object_get(docs[d], "ids");
        ck_assert_int_eq(json_array_size(ids), 40);
        int tok[40], a = -1, b = -1, L = 0, La = 0;
        for (int t = 0; t < 40; t++) {
            tok[t] = (int)json_integer_value(json_array_get(ids, t));
            ck_assert(t == 0 ? tok[t] == 0 : tok[t] >= 1 && tok[t] < 50);
            if (aval(docs[d], "in_copy", t) == 1) { if (b < 0) b = t; L++; }
            if (aval(docs[d], "in_source", t) == 1) { if (a < 0) a = t; La++; }
        }
        ck_assert_int_eq(L, La);
        ck_assert_int_eq(L, ival(docs[d], "span"));
        ck_assert_int_eq(b - a, ival(docs[d], "distance"));
        ck_assert(L >= 3 && L <= 12 && b - a >= L && b + L <= 40 && a >= 1);
        for (int j = 0; j < L; j++) {
            ck_assert_int_eq(tok[b + j], tok[a + j]);
            ck_assert_int_eq((int)aval(docs[d], "copy_pos", b + j), j + 1);
            ck_assert_int_eq((int)aval(docs[d], "in_copy", a + j), 0); /* no overlap */
        }
        seen_dist[b - a] = 1;
        seen_span[L] = 1;
    }
    /* offsets and spans vary over their whole ranges */
    int nd = 0, ns = 0;
    for (int i = 0; i < 64; i++) { nd += seen_dist[i]; ns += seen_span[i]; }
    ck_assert_int_eq(ns, 10);
    ck_assert_int_ge(nd, 25);
    free_jsonl(docs, n);
}
END_TEST

/* ------------------------------------------------------------ modular */

START_TEST(test_modular_truth)
{
    static const int ops[] = { STRATA_CORPUS_ADD, STRATA_CORPUS_SUB, STRATA_CORPUS_MUL, STRATA_CORPUS_DIV };
    for (int oi = 0; oi < 4; oi++) {
        const int P = 13;
        char tr[1024], te[1024], tk[1024];
        snprintf(tr, sizeof tr, "%s", tu_tmpfile("mod_train.jsonl"));
        snprintf(te, sizeof te, "%s", tu_tmpfile("mod_test.jsonl"));
        snprintf(tk, sizeof tk, "%s", tu_tmpfile("mod_task.jsonl"));
        strata_corpus_modular_params p = strata_corpus_modular_default();
        p.p = P;
        p.op = ops[oi];
        p.train_frac = 0.4;
        p.seed = 11;
        strata_corpus_out o = { .out = tr, .test_out = te, .task_out = tk, .overwrite = 1 };
        ck_assert_msg(strata_corpus_modular(&p, &o, ERR, sizeof ERR) == STRATA_OK, "%s", ERR);
        int n1, n2, n3;
        json_t **a = read_jsonl(tr, &n1), **b = read_jsonl(te, &n2), **k = read_jsonl(tk, &n3);
        int N = ops[oi] == STRATA_CORPUS_DIV ? P * (P - 1) : P * P;
        ck_assert_int_eq(n1 + n2, N);
        ck_assert_int_eq(n1, (int)lround(0.4 * N));
        ck_assert_int_eq(n3, n2);
        int seen[13][13] = { { 0 } };
        for (int i = 0; i < N; i++) {
            json_t *d = i < n1 ? a[i] : b[i - n1];
            json_t *ids = json_object_get(d, "ids");
            ck_assert_int_eq(json_array_size(ids), 6);
            int x = (int)json_integer_value(json_array_get(ids, 1));
            int y = (int)json_integer_value(json_array_get(ids, 3));
            int c = (int)json_integer_value(json_array_get(ids, 5));
            ck_assert_int_eq(json_integer_value(json_array_get(ids, 0)), P + 2);
            ck_assert_int_eq(json_integer_value(json_array_get(ids, 2)), P);
            ck_assert_int_eq(json_integer_value(json_array_get(ids, 4)), P + 1);
            /* the answer by search: the unique z in [0,P) with the defining relation */
            int want = -1;
            for (int z = 0; z < P; z++) {
                int ok = oi == 0 ? (x + y) % P == z : oi == 1 ? (z + y) % P == x
                       : oi == 2 ? (x * y) % P == z : (z * y) % P == x;
                if (ok) { ck_assert_int_eq(want, -1); want = z; }
            }
            ck_assert_int_eq(c, want);
            ck_assert_int_eq(ival(d, "a"), x);
            ck_assert_int_eq(ival(d, "c"), c);
            for (int t = 0; t < 6; t++) ck_assert(aval(d, "answer", t) == (t == 5));
            ck_assert_int_eq(seen[x][y]++, 0);
            if (i >= n1) { /* task line = the test pair */
                json_t *pr = json_object_get(k[i - n1], "prompt_ids");
                ck_assert_int_eq(json_integer_value(json_array_get(pr, 1)), x);
                ck_assert_int_eq(json_integer_value(json_array_get(pr, 3)), y);
                ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(k[i - n1], "answer_ids"), 0)), c);
            }
        }
        free_jsonl(a, n1);
        free_jsonl(b, n2);
        free_jsonl(k, n3);
    }
}
END_TEST

/* ------------------------------------------------------------ addition */

static void check_addition(int digits, int pad, int reverse)
{
    char tr[1024], tk[1024];
    snprintf(tr, sizeof tr, "%s", tu_tmpfile("add.jsonl"));
    snprintf(tk, sizeof tk, "%s", tu_tmpfile("add_task.jsonl"));
    strata_corpus_addition_params p = strata_corpus_addition_default();
    p.digits = digits;
    p.pad = pad;
    p.reverse = reverse;
    p.n_docs = 400;
    p.n_test = digits == 1 ? 30 : 100;
    p.seed = 5;
    strata_corpus_out o = { .out = tr, .task_out = tk, .overwrite = 1 };
    ck_assert_msg(strata_corpus_addition(&p, &o, ERR, sizeof ERR) == STRATA_OK, "%s", ERR);
    int n, nk;
    json_t **d = read_jsonl(tr, &n), **k = read_jsonl(tk, &nk);
    ck_assert_int_eq(n, 400);
    ck_assert_int_eq(nk, (int)p.n_test);
    /* the task problems: distinct, and the expected answer by arithmetic */
    long long ta[200], tb[200];
    for (int i = 0; i < nk; i++) {
        json_t *pr = json_object_get(k[i], "prompt_ids"), *an = json_object_get(k[i], "answer_ids");
        long long x = 0, y = 0, *cur = &x;
        ck_assert_int_eq(json_integer_value(json_array_get(pr, 0)), 12);
        for (size_t t = 1; t + 1 < json_array_size(pr); t++) {
            int v = (int)json_integer_value(json_array_get(pr, t));
            if (v == 10) { cur = &y; continue; }
            ck_assert(v >= 0 && v <= 9);
            *cur = *cur * 10 + v;
        }
        ck_assert_int_eq(json_integer_value(json_array_get(pr, json_array_size(pr) - 1)), 11);
        long long s = 0;
        size_t na = json_array_size(an);
        ck_assert_int_eq(json_integer_value(json_array_get(an, na - 1)), 13);
        for (size_t t = 0; t + 1 < na; t++) {
            size_t q = reverse ? na - 2 - t : t;
            s = s * 10 + json_integer_value(json_array_get(an, q));
        }
        ck_assert_int_eq(s, x + y);
        for (int j = 0; j < i; j++) ck_assert(!(ta[j] == x && tb[j] == y));
        ta[i] = x;
        tb[i] = y;
    }
    long long M = 1;
    for (int i = 0; i < digits; i++) M *= 10;
    for (int i = 0; i < n; i++) {
        json_t *ids = json_object_get(d[i], "ids");
        size_t L = json_array_size(ids);
        long long x = 0, y = 0, *cur = &x;
        size_t t = 1, nx = 0, ny = 0;
        ck_assert_int_eq(json_integer_value(json_array_get(ids, 0)), 12);
        for (; t < L; t++) {
            int v = (int)json_integer_value(json_array_get(ids, t));
            if (v == 10) { cur = &y; continue; }
            if (v == 11) break;
            *cur = *cur * 10 + v;
            if (cur == &x) nx++; else ny++;
            ck_assert(!isnan(aval(d[i], "answer", t)) && aval(d[i], "answer", t) == 0);
        }
        ck_assert(x < M && y < M);
        if (pad) ck_assert(nx == (size_t)digits && ny == (size_t)digits);
        for (int j = 0; j < nk; j++) ck_assert(!(ta[j] == x && tb[j] == y));
        size_t first = t + 1, na = L - 1 - first; /* answer digits, then EOS */
        ck_assert_int_eq(json_integer_value(json_array_get(ids, L - 1)), 13);
        ck_assert(isnan(aval(d[i], "carry", L - 1)));
        long long s = x + y;
        if (pad) ck_assert_int_eq(na, digits + 1);
        for (size_t q = 0; q < na; q++) {
            size_t place = reverse ? q : na - 1 - q;
            long long P10 = 1;
            for (size_t e = 0; e < place; e++) P10 *= 10;
            ck_assert_int_eq(json_integer_value(json_array_get(ids, first + q)), (s / P10) % 10);
            ck_assert(aval(d[i], "answer", first + q) == 1);
            ck_assert(aval(d[i], "place", first + q) == (double)place);
            double carry = (x % P10) + (y % P10) >= P10;
            ck_assert(aval(d[i], "carry", first + q) == carry);
        }
        if (!pad) { /* no leading zeros */
            long long P10 = 1;
            for (size_t e = 0; e + 1 < na; e++) P10 *= 10;
            ck_assert(na == 1 || s >= P10);
        }
    }
    free_jsonl(d, n);
    free_jsonl(k, nk);
}

START_TEST(test_addition_truth)
{
    check_addition(3, 0, 0);
    check_addition(4, 1, 1);
    check_addition(1, 0, 1);
    check_addition(12, 1, 0);
}
END_TEST

/* ------------------------------------------------------------ grammar */

typedef struct gparse {
    char **w;
    int n, i, depth;
    double *num, *depth_lab, *attr;
    const char *why;
} gparse;

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i])) return i;
    return -1;
}

static const char *const NOUN_SG[] = { "dog", "cat", "bird", "king", "girl", "boy", NULL };
static const char *const NOUN_PL[] = { "dogs", "cats", "birds", "kings", "girls", "boys", NULL };
static const char *const VERB_SG[] = { "sees", "likes", "chases", "helps", NULL };
static const char *const VERB_PL[] = { "see", "like", "chase", "help", NULL };
static const char *const NAMES[] = { "mia", "tom", "ana", "ben", "eva", "sam", NULL };
static const char *const THINGS[] = { "box", "cup", "hat", "ball", "kite", "bag", NULL };
static const char *const COLORS[] = { "red", "blue", "green", "yellow", "pink", "brown", NULL };

static const char *cur(gparse *g) { return g->i < g->n ? g->w[g->i] : ""; }

/* consumes one token with the given subject-number label */
static void take(gparse *g, double num)
{
    g->num[g->i] = num;
    g->depth_lab[g->i] = g->depth;
    g->i++;
}

/* number of a noun, -1 if not a noun */
static int noun_num(const char *s) { return in_list(s, NOUN_SG) >= 0 ? 0 : in_list(s, NOUN_PL) >= 0 ? 1 : -1; }
static int verb_num(const char *s) { return in_list(s, VERB_SG) >= 0 ? 0 : in_list(s, VERB_PL) >= 0 ? 1 : -1; }

static int np(gparse *g, double before, double after, int *num)
{
    if (strcmp(cur(g), "the")) { g->why = "expected 'the'"; return -1; }
    take(g, before);
    *num = noun_num(cur(g));
    if (*num < 0) { g->why = "expected a noun"; return -1; }
    take(g, after);
    return 0;
}

static int clause(gparse *g)
{
    int n, m;
    if (np(g, NAN, NAN, &n)) return -1;
    g->num[g->i - 1] = n;
    if (!strcmp(cur(g), "that")) {
        take(g, n);
        if (!strcmp(cur(g), "the")) {       /* object relative: its own agreement */
            if (np(g, n, n, &m)) return -1;
            if (verb_num(cur(g)) != m) { g->why = "relative verb disagrees with its subject"; return -1; }
            take(g, n);
        } else {                             /* subject relative: agrees with n */
            if (verb_num(cur(g)) != n) { g->why = "relative verb disagrees with the subject"; return -1; }
            take(g, n);
            if (np(g, n, n, &m)) return -1;
        }
    }
    if (!strcmp(cur(g), "says") || !strcmp(cur(g), "say")) {
        if ((!strcmp(cur(g), "say")) != n) { g->why = "say/says disagrees"; return -1; }
        take(g, NAN);
        if (strcmp(cur(g), "\"")) { g->why = "expected an opening quote"; return -1; }
        g->depth++;
        take(g, NAN);
        if (clause(g)) return -1;
        if (strcmp(cur(g), "\"")) { g->why = "expected a closing quote"; return -1; }
        take(g, NAN);
        g->depth--;
        return 0;
    }
    if (verb_num(cur(g)) != n) { g->why = "main verb disagrees with the subject"; return -1; }
    take(g, NAN);
    return np(g, NAN, NAN, &m);
}

/* Parses one document; fills the expected labels; returns the number of
 * agreement clauses with an attractor of the other number, or -1. */
static int parse_grammar_doc(gparse *g, int E)
{
    int color_of[6], thing_of[6];
    for (int i = 0; i < 6; i++) color_of[i] = thing_of[i] = -1;
    for (int t = 0; t < g->n; t++) g->num[t] = g->depth_lab[t] = g->attr[t] = NAN;
    if (strcmp(cur(g), "<bos>")) { g->why = "no BOS"; return -1; }
    take(g, NAN);
    for (int e = 0; e < E; e++) {   /* NAME has a COLOR THING . */
        int nm = in_list(cur(g), NAMES);
        if (nm < 0 || color_of[nm] >= 0) { g->why = "bad introduction name"; return -1; }
        take(g, NAN);
        if (strcmp(cur(g), "has")) { g->why = "expected has"; return -1; }
        take(g, NAN);
        if (strcmp(cur(g), "a")) { g->why = "expected a"; return -1; }
        take(g, NAN);
        color_of[nm] = in_list(cur(g), COLORS);
        if (color_of[nm] < 0) { g->why = "expected a colour"; return -1; }
        take(g, NAN);
        thing_of[nm] = in_list(cur(g), THINGS);
        if (thing_of[nm] < 0) { g->why = "expected a thing"; return -1; }
        take(g, NAN);
        if (strcmp(cur(g), ".")) { g->why = "expected ."; return -1; }
        take(g, NAN);
    }
    int recalls = 0;
    while (g->i < g->n) {
        int nm = in_list(cur(g), NAMES);
        if (nm >= 0) {                /* NAME 's THING is COLOR . */
            if (color_of[nm] < 0) { g->why = "recall of an entity never introduced"; return -1; }
            for (int k = 0; k < 4; k++) g->attr[g->i + k] = color_of[nm];
            take(g, NAN);
            if (strcmp(cur(g), "'s")) { g->why = "expected 's"; return -1; }
            take(g, NAN);
            if (in_list(cur(g), THINGS) != thing_of[nm]) { g->why = "recall names another thing"; return -1; }
            take(g, NAN);
            if (strcmp(cur(g), "is")) { g->why = "expected is"; return -1; }
            take(g, NAN);
            if (in_list(cur(g), COLORS) != color_of[nm]) { g->why = "recall names another colour"; return -1; }
            take(g, NAN);
            recalls++;
        } else if (clause(g)) {
            return -1;
        }
        if (strcmp(cur(g), ".")) { g->why = "expected . after a sentence"; return -1; }
        take(g, NAN);
    }
    if (recalls != E) { g->why = "not one recall per entity"; return -1; }
    return 0;
}

START_TEST(test_grammar_truth)
{
    char path[1024], tokdir[1024];
    snprintf(path, sizeof path, "%s", tu_tmpfile("gram.jsonl"));
    snprintf(tokdir, sizeof tokdir, "%s", tu_tmpfile("gram_tok"));
    strata_corpus_grammar_params p = strata_corpus_grammar_default();
    p.n_docs = 300;
    p.entities = 3;
    p.max_depth = 3;
    p.p_quote = 0.4;
    p.seed = 9;
    strata_corpus_out o = { .out = path, .tokenizer_dir = tokdir, .overwrite = 1 };
    ck_assert_msg(strata_corpus_grammar(&p, &o, ERR, sizeof ERR) == STRATA_OK, "%s", ERR);
    strata_tokenizer *tok = NULL;
    ck_assert_msg(strata_tokenizer_open(tokdir, &tok) == STRATA_OK, "%s", strata_tokenizer_errmsg(tok));
    ck_assert_str_eq(strata_tokenizer_kind(tok), "wordlevel");
    int n;
    json_t **docs = read_jsonl(path, &n);
    ck_assert_int_eq(n, 300);
    int max_depth = 0, plural = 0, singular = 0, attracted = 0;
    for (int d = 0; d < n; d++) {
        json_t *ids = json_object_get(docs[d], "ids");
        int L = (int)json_array_size(ids);
        char *words = strdup(json_string_value(json_object_get(docs[d], "words")));
        gparse g = { .n = L };
        g.w = calloc((size_t)L + 1, sizeof *g.w);
        g.num = calloc((size_t)L, sizeof(double));
        g.depth_lab = calloc((size_t)L, sizeof(double));
        g.attr = calloc((size_t)L, sizeof(double));
        int k = 0;
        for (char *s = strtok(words, " "); s; s = strtok(NULL, " ")) {
            ck_assert_int_lt(k, L);
            g.w[k++] = s;
        }
        ck_assert_int_eq(k, L);
        /* ids are the tokenizer's pieces of the words, and encoding the
         * words (BOS added by the post-processor) gives the ids */
        for (int t = 0; t < L; t++)
            ck_assert_str_eq(strata_token_piece(tok, (int32_t)json_integer_value(json_array_get(ids, t))), g.w[t]);
        const char *ws = json_string_value(json_object_get(docs[d], "words")) + strlen("<bos> ");
        int32_t enc[512];
        ck_assert_int_eq(strata_tokenize(tok, ws, strlen(ws), -1, enc, 512, NULL), L);
        for (int t = 0; t < L; t++) ck_assert_int_eq(enc[t], json_integer_value(json_array_get(ids, t)));
        /* the parser's labels equal the file's */
        int rc = parse_grammar_doc(&g, 3);
        ck_assert_msg(rc == 0, "document %d token %d ('%s'): %s", d, g.i, cur(&g), g.why);
        for (int t = 0; t < L; t++) {
            ck_assert_msg(same_label(aval(docs[d], "subj_number", t), g.num[t]),
                          "doc %d token %d '%s': subj_number %g, parser %g", d, t, g.w[t],
                          aval(docs[d], "subj_number", t), g.num[t]);
            ck_assert_msg(same_label(aval(docs[d], "quote_depth", t), g.depth_lab[t]),
                          "doc %d token %d: quote_depth", d, t);
            ck_assert_msg(same_label(aval(docs[d], "attr", t), g.attr[t]), "doc %d token %d: attr", d, t);
            if (g.depth_lab[t] > max_depth) max_depth = (int)g.depth_lab[t];
            plural += g.num[t] == 1;
            singular += g.num[t] == 0;
            /* an attractor: a noun of the other number inside a pending span */
            int nn = noun_num(g.w[t]);
            if (nn >= 0 && !isnan(g.num[t]) && nn != g.num[t]) attracted++;
        }
        free(g.w);
        free(g.num);
        free(g.depth_lab);
        free(g.attr);
        free(words);
    }
    ck_assert_int_eq(max_depth, 3);
    ck_assert(plural > 1000 && singular > 1000 && attracted > 100);
    strata_tokenizer_free(tok);
    free_jsonl(docs, n);
}
END_TEST

/* ------------------------------------------------------------ capture */

/* A tiny GPT-2 over the grammar vocabulary with the generated tokenizer:
 * capture stores each per-token label (null -> NaN) beside its row. */
START_TEST(test_capture_generated_corpus)
{
    char path[1024], tokdir[1024], mdir[1024], h5[1024], cmd[4096];
    snprintf(path, sizeof path, "%s", tu_tmpfile("cap_gram.jsonl"));
    snprintf(tokdir, sizeof tokdir, "%s", tu_tmpfile("cap_tok"));
    snprintf(mdir, sizeof mdir, "%s", tu_tmpfile("cap_model"));
    snprintf(h5, sizeof h5, "%s", tu_tmpfile("cap.h5"));
    strata_corpus_grammar_params p = strata_corpus_grammar_default();
    p.n_docs = 12;
    strata_corpus_out o = { .out = path, .tokenizer_dir = tokdir, .overwrite = 1 };
    ck_assert_msg(strata_corpus_grammar(&p, &o, ERR, sizeof ERR) == STRATA_OK, "%s", ERR);
    strata_tokenizer *tok = NULL;
    ck_assert_int_eq(strata_tokenizer_open(tokdir, &tok), STRATA_OK);
    int V = strata_tokenizer_vocab_size(tok);
    strata_tokenizer_free(tok);
    tm_gpt2 *gm = tm_gpt2_new(3, 16, 2, 2, V, 256);
    ck_assert_int_eq(tm_gpt2_write(gm, mdir), 0);
    tm_gpt2_free(gm);
    snprintf(cmd, sizeof cmd, "cp '%s/tokenizer.json' '%s/tokenizer_config.json' '%s/'", tokdir, tokdir, mdir);
    ck_assert_int_eq(system(cmd), 0);
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(mdir, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    ck_assert_ptr_nonnull(strata_model_tokenizer(m));
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.1.hook_resid_post";
    opt.mode = STRATA_CAPTURE_OVERWRITE;
    strata_capture *c = NULL;
    ck_assert_int_eq(strata_capture_open(m, h5, &opt, &c), STRATA_OK);
    int rc = strata_capture_add_file(c, STRATA_INPUT_JSONL, path);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_capture_errmsg(c));
    ck_assert_int_eq(strata_capture_finish(c), STRATA_OK);
    strata_capture_free(c);
    int n;
    json_t **docs = read_jsonl(path, &n);
    strata_acts *a = NULL;
    ck_assert_int_eq(strata_acts_open(h5, &a), STRATA_OK);
    int64_t R = strata_acts_n_rows(a);
    float *lab = malloc(sizeof *lab * (size_t)R);
    int32_t *tk = malloc(sizeof *tk * (size_t)R);
    ck_assert_int_eq(strata_acts_read_row_tokens(a, 0, R, tk), STRATA_OK);
    static const char *const names[] = { "subj_number", "quote_depth", "attr" };
    for (int li = 0; li < 3; li++) {
        ck_assert_int_eq(strata_acts_read_label(a, names[li], 0, R, lab), STRATA_OK);
        int64_t r = 0;
        for (int d = 0; d < n; d++) {
            json_t *ids = json_object_get(docs[d], "ids");
            for (size_t t = 0; t < json_array_size(ids); t++, r++) {
                ck_assert_int_eq(tk[r], json_integer_value(json_array_get(ids, t)));
                ck_assert(same_label(lab[r], aval(docs[d], names[li], t)));
            }
        }
        ck_assert_int_eq(r, R);
    }
    free(lab);
    free(tk);
    strata_acts_close(a);
    free_jsonl(docs, n);
    strata_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ bad options */

START_TEST(test_bad_options)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", tu_tmpfile("bad.jsonl"));
    strata_corpus_out o = { .out = path };
    strata_corpus_repeat_params r = strata_corpus_repeat_default();
    r.max_span = 40; /* 2*40+1 > 64 */
    ck_assert_int_eq(strata_corpus_repeat(&r, &o, ERR, sizeof ERR), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ERR, "--max-span"));
    r = strata_corpus_repeat_default();
    r.vocab = 1;
    ck_assert_int_eq(strata_corpus_repeat(&r, &o, ERR, sizeof ERR), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ERR, "--vocab"));
    strata_corpus_modular_params m = strata_corpus_modular_default();
    m.p = 12;
    m.op = STRATA_CORPUS_DIV;
    ck_assert_int_eq(strata_corpus_modular(&m, &o, ERR, sizeof ERR), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ERR, "prime"));
    m = strata_corpus_modular_default();
    ck_assert_int_eq(strata_corpus_modular(&m, &o, ERR, sizeof ERR), STRATA_ERR_ARG); /* no --test-out */
    ck_assert_ptr_nonnull(strstr(ERR, "--test-out"));
    strata_corpus_grammar_params g = strata_corpus_grammar_default();
    g.p_quote = 1.5;
    ck_assert_int_eq(strata_corpus_grammar(&g, &o, ERR, sizeof ERR), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ERR, "--p-quote"));
    strata_corpus_addition_params ad = strata_corpus_addition_default();
    ad.n_test = 10;
    ck_assert_int_eq(strata_corpus_addition(&ad, &o, ERR, sizeof ERR), STRATA_ERR_ARG); /* no --task-out */
    ad.digits = 1;
    ad.n_test = 60;
    o.task_out = tu_tmpfile("bad_task.jsonl");
    ck_assert_int_eq(strata_corpus_addition(&ad, &o, ERR, sizeof ERR), STRATA_ERR_ARG); /* > half of 100 */
    ck_assert_ptr_nonnull(strstr(ERR, "--n-test"));
    o.task_out = NULL;
    ck_assert_int_ne(access(path, F_OK), 0); /* nothing written */
    /* an existing output is kept unless overwrite */
    ck_assert_int_eq(tu_write_file(path, "keep\n", 5), 0);
    g = strata_corpus_grammar_default();
    g.n_docs = 2;
    ck_assert_int_eq(strata_corpus_grammar(&g, &o, ERR, sizeof ERR), STRATA_ERR_EXISTS);
    ck_assert_ptr_nonnull(strstr(ERR, "--overwrite"));
    size_t len;
    char *s = tu_read_file(path, &len);
    ck_assert_str_eq(s, "keep\n");
    free(s);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    /* an output in a missing directory */
    o.out = "/nonexistent-dir/x.jsonl";
    ck_assert_int_eq(strata_corpus_grammar(&g, &o, ERR, sizeof ERR), STRATA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ERR, "/nonexistent-dir/x.jsonl"));
}
END_TEST

Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("generators");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_repeat_truth);
    tcase_add_test(tc, test_modular_truth);
    tcase_add_test(tc, test_addition_truth);
    tcase_add_test(tc, test_grammar_truth);
    tcase_add_test(tc, test_capture_generated_corpus);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(corpus_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
