/* cli/cmd_corpus.c — `strata corpus GENERATOR [options] --out F.jsonl`:
 * synthetic corpora with per-token ground truth (generators in lib/corpus/,
 * distributions in docs/CORPUS.md, options in docs/cli/corpus.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/corpus.h"

static void usage(void)
{
    printf(
        "usage: strata corpus GENERATOR --out F.jsonl [--seed S] [--tokenizer-out DIR]\n"
        "                     [--overwrite] [generator options]\n\n"
        "Writes a synthetic corpus with ground-truth labels per token as JSONL:\n"
        "{\"ids\": [...], LABEL: [one value per id, null = undefined], ...} (read by\n"
        "`strata capture --jsonl` and `strata train --jsonl`).  Distributions:\n"
        "docs/CORPUS.md.\n\n"
        "  --out F            the corpus (modular: the training split)\n"
        "  --seed S           seed of the generator (default 0), in [0, 2^63)\n"
        "  --tokenizer-out D  also write a word-level tokenizer for the ids to D\n"
        "  --overwrite        replace existing output files\n\n"
        "repeat    random tokens; a span re-appears later at a random distance\n"
        "  --docs N (10000)  --vocab V (64)  --seq-len T (64)  --min-span A (4)\n"
        "  --max-span B (16)\n"
        "modular   BOS a OP b = c (mod p) for all pairs, train/test split\n"
        "  --p P (113)  --op add|sub|mul|div (add)  --train-frac F (0.3)\n"
        "  --test-out F  --task-out F (prompt_ids/answer_ids of the test pairs)\n"
        "grammar   agreement across relative clauses, quotations, entity attributes\n"
        "  --docs N (4000)  --entities E (2)  --colors K (4)  --sentences S (4)\n"
        "  --max-depth D (2)  --p-plural X (0.5)  --p-relative X (0.5)\n"
        "  --p-object-relative X (0.5)  --p-quote X (0.3)\n"
        "addition  BOS a + b = s EOS with D-digit operands\n"
        "  --docs N (10000)  --digits D (3)  --pad  --reverse  --n-test M (0)\n"
        "  --task-out F (M held-out problems as prompt_ids/answer_ids)\n");
}

enum { G_REPEAT = 1, G_MODULAR = 2, G_GRAMMAR = 4, G_ADDITION = 8 };

static const char *gen_name(int g)
{
    return g == G_REPEAT ? "repeat" : g == G_MODULAR ? "modular" : g == G_GRAMMAR ? "grammar" : "addition";
}

/* Refuses an option the chosen generator does not have. */
static int allowed(int gen, int mask, const char *opt)
{
    if (gen & mask) return 1;
    fprintf(stderr, "strata corpus: %s is not an option of %s (see --help)\n", opt, gen_name(gen));
    return 0;
}

int cmd_corpus(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *g = argv[1];
    int gen = !strcmp(g, "repeat") ? G_REPEAT : !strcmp(g, "modular") ? G_MODULAR
            : !strcmp(g, "grammar") ? G_GRAMMAR : !strcmp(g, "addition") ? G_ADDITION : 0;
    if (!gen) {
        fprintf(stderr, "strata corpus: unknown generator '%s' (repeat, modular, grammar, addition)\n", g);
        return 2;
    }
    strata_corpus_out o = { 0 };
    strata_corpus_repeat_params rp = strata_corpus_repeat_default();
    strata_corpus_modular_params mp = strata_corpus_modular_default();
    strata_corpus_grammar_params gp = strata_corpus_grammar_default();
    strata_corpus_addition_params ap = strata_corpus_addition_default();
    int64_t seed = 0, docs = -1;
    const char *C = "corpus";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        const char *v = has ? argv[i + 1] : NULL;
        int bad = 0;
        if (cli_is_help(a)) { usage(); return 0; }
        if (!strcmp(a, "--overwrite")) { o.overwrite = 1; continue; }
        if (!strcmp(a, "--pad")) { if (!allowed(gen, G_ADDITION, a)) return 2; ap.pad = 1; continue; }
        if (!strcmp(a, "--reverse")) { if (!allowed(gen, G_ADDITION, a)) return 2; ap.reverse = 1; continue; }
        if (!has || a[0] != '-') {
            fprintf(stderr, "strata corpus: %s %s (see --help)\n",
                    a[0] == '-' ? "missing value for" : "unexpected argument", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--out")) o.out = v;
        else if (!strcmp(a, "--tokenizer-out")) o.tokenizer_dir = v;
        else if (!strcmp(a, "--seed")) bad = cli_parse_i64(C, a, v, 0, INT64_MAX, &seed);
        else if (!strcmp(a, "--docs")) {
            if (!allowed(gen, G_REPEAT | G_GRAMMAR | G_ADDITION, a)) return 2;
            bad = cli_parse_i64(C, a, v, 1, 1000000000, &docs);
        } else if (!strcmp(a, "--test-out")) {
            if (!allowed(gen, G_MODULAR, a)) return 2;
            o.test_out = v;
        } else if (!strcmp(a, "--task-out")) {
            if (!allowed(gen, G_MODULAR | G_ADDITION, a)) return 2;
            o.task_out = v;
        } else if (!strcmp(a, "--vocab")) {
            if (!allowed(gen, G_REPEAT, a)) return 2;
            bad = cli_parse_int(C, a, v, 2, 16777216, &rp.vocab);
        } else if (!strcmp(a, "--seq-len")) {
            if (!allowed(gen, G_REPEAT, a)) return 2;
            bad = cli_parse_int(C, a, v, 3, 1048576, &rp.seq_len);
        } else if (!strcmp(a, "--min-span")) {
            if (!allowed(gen, G_REPEAT, a)) return 2;
            bad = cli_parse_int(C, a, v, 1, 1048576, &rp.min_span);
        } else if (!strcmp(a, "--max-span")) {
            if (!allowed(gen, G_REPEAT, a)) return 2;
            bad = cli_parse_int(C, a, v, 1, 1048576, &rp.max_span);
        } else if (!strcmp(a, "--p")) {
            if (!allowed(gen, G_MODULAR, a)) return 2;
            bad = cli_parse_int(C, a, v, 2, 10000, &mp.p);
        } else if (!strcmp(a, "--op")) {
            if (!allowed(gen, G_MODULAR, a)) return 2;
            if (!strcmp(v, "add")) mp.op = STRATA_CORPUS_ADD;
            else if (!strcmp(v, "sub")) mp.op = STRATA_CORPUS_SUB;
            else if (!strcmp(v, "mul")) mp.op = STRATA_CORPUS_MUL;
            else if (!strcmp(v, "div")) mp.op = STRATA_CORPUS_DIV;
            else {
                fprintf(stderr, "strata corpus: --op: '%s' is not add, sub, mul or div\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--train-frac")) {
            if (!allowed(gen, G_MODULAR, a)) return 2;
            bad = cli_parse_f64(C, a, v, 1e-9, 1, &mp.train_frac);
        } else if (!strcmp(a, "--entities")) {
            if (!allowed(gen, G_GRAMMAR, a)) return 2;
            bad = cli_parse_int(C, a, v, 1, 6, &gp.entities);
        } else if (!strcmp(a, "--colors")) {
            if (!allowed(gen, G_GRAMMAR, a)) return 2;
            bad = cli_parse_int(C, a, v, 2, 6, &gp.colors);
        } else if (!strcmp(a, "--sentences")) {
            if (!allowed(gen, G_GRAMMAR, a)) return 2;
            bad = cli_parse_int(C, a, v, 0, 32, &gp.sentences);
        } else if (!strcmp(a, "--max-depth")) {
            if (!allowed(gen, G_GRAMMAR, a)) return 2;
            bad = cli_parse_int(C, a, v, 0, 4, &gp.max_depth);
        } else if (!strcmp(a, "--p-plural") || !strcmp(a, "--p-relative") ||
                   !strcmp(a, "--p-object-relative") || !strcmp(a, "--p-quote")) {
            if (!allowed(gen, G_GRAMMAR, a)) return 2;
            double *dst = !strcmp(a, "--p-plural") ? &gp.p_plural : !strcmp(a, "--p-relative")
                        ? &gp.p_relative : !strcmp(a, "--p-quote") ? &gp.p_quote : &gp.p_object_relative;
            bad = cli_parse_f64(C, a, v, 0, 1, dst);
        } else if (!strcmp(a, "--digits")) {
            if (!allowed(gen, G_ADDITION, a)) return 2;
            bad = cli_parse_int(C, a, v, 1, 18, &ap.digits);
        } else if (!strcmp(a, "--n-test")) {
            if (!allowed(gen, G_ADDITION, a)) return 2;
            bad = cli_parse_i64(C, a, v, 0, 10000000, &ap.n_test);
        } else {
            fprintf(stderr, "strata corpus: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (bad) return 2;
    }
    if (!o.out) {
        fprintf(stderr, "strata corpus: --out is required (see --help)\n");
        return 2;
    }
    char err[1024] = "";
    int rc;
    switch (gen) {
    case G_REPEAT:
        rp.seed = (uint64_t)seed;
        if (docs > 0) rp.n_docs = docs;
        rc = strata_corpus_repeat(&rp, &o, err, sizeof err);
        break;
    case G_MODULAR:
        mp.seed = (uint64_t)seed;
        rc = strata_corpus_modular(&mp, &o, err, sizeof err);
        break;
    case G_GRAMMAR:
        gp.seed = (uint64_t)seed;
        if (docs > 0) gp.n_docs = docs;
        rc = strata_corpus_grammar(&gp, &o, err, sizeof err);
        break;
    default:
        ap.seed = (uint64_t)seed;
        if (docs > 0) ap.n_docs = docs;
        rc = strata_corpus_addition(&ap, &o, err, sizeof err);
        break;
    }
    if (rc < 0) {
        fprintf(stderr, "strata corpus %s: %s\n", g, err);
        return rc == STRATA_ERR_ARG ? 2 : 1;
    }
    return 0;
}
