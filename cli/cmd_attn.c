/* cli/cmd_attn.c — `strata attn MODEL ...`: attention-head statistics over a
 * corpus and/or random induction documents, as a table, JSON, CSV and an SVG
 * heat map (layer x head).  Definitions: docs/ATTENTION.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "strata/attn.h"
#include "strata/model.h"
#include "strata/tokenizer.h"

static void usage(void)
{
    printf(
        "usage: strata attn MODEL [--text-file F | --tokens-file F | --capture F.h5]\n"
        "                   [--induction R [--seed N]\n"
        "                   [--n-docs N] [--token-range LO:HI]] [--batch N] [--max-tokens N]\n"
        "                   [--threads N] [--json] [--csv F] [--plot F.svg] [--quiet]\n"
        "                   [--revision REV]\n\n"
        "Per layer and head: mean entropy, mean attention distance, previous-token,\n"
        "first-token (sink), self, duplicate-token and induction scores, and a class\n"
        "(definitions and thresholds: docs/ATTENTION.md).\n\n"
        "  --text-file F     one document per line, tokenized with BOS first\n"
        "  --tokens-file F   one document per line, ids (spaces/commas) used as given\n"
        "  --capture F.h5    no forward pass: patterns stored by `strata capture` with\n"
        "                    blocks.*.attn.hook_pattern (with --induction R its documents\n"
        "                    must be BOS + S + S)\n"
        "  --induction R     add induction scores on documents BOS + S + S, |S| = R:\n"
        "                    random ones (seeded) unless --tokens-file without --seed,\n"
        "                    whose documents must then have that form\n"
        "  --seed N          seed of the random documents (default 0)\n"
        "  --n-docs N        number of random documents (default 64)\n"
        "  --token-range LO:HI  ids of S drawn from [LO, HI) (default: vocabulary minus\n"
        "                    the special ids at either end; docs/ATTENTION.md)\n"
        "  --batch N         documents per forward pass (default 16)\n"
        "  --max-tokens N    truncate longer documents (default: the model's context)\n"
        "  --json            print {\"heads\": [{\"layer\", \"head\", \"prev_token\", ...}]}\n"
        "  --csv F           write the table as CSV\n"
        "  --plot F.svg      write heat maps (layer x head) of the scores\n"
        "Without a corpus, the random induction documents give every statistic.\n");
}

typedef struct doclist {
    int32_t **ids;
    int32_t *len;
    int n, cap;
} doclist;

static int docs_push(doclist *d, int32_t *ids, int len)
{
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 64;
        int32_t **a = realloc(d->ids, sizeof *a * cap);
        if (!a) return -1;
        d->ids = a;
        int32_t *l = realloc(d->len, sizeof *l * cap);
        if (!l) return -1;
        d->len = l;
        d->cap = cap;
    }
    d->ids[d->n] = ids;
    d->len[d->n++] = len;
    return 0;
}

static void docs_free(doclist *d)
{
    for (int i = 0; i < d->n; i++) free(d->ids[i]);
    free(d->ids);
    free(d->len);
}

/* Reads one document per non-empty line.  tokens: ids as given; else text
 * through the model's tokenizer with BOS.  Truncates to max_tokens. */
static int read_docs(strata_model *m, const char *path, int tokens, int max_tokens, doclist *d,
                     int *n_trunc)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "strata attn: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    strata_tokenizer *tok = tokens ? NULL : strata_model_tokenizer(m);
    if (!tokens && !tok) {
        fprintf(stderr, "strata attn: --text-file needs a tokenizer and this model has none; "
                        "use --tokens-file\n");
        fclose(f);
        return -1;
    }
    const int V = strata_model_config(m)->vocab_size;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0) continue;
        int32_t *ids = NULL;
        int len;
        if (tokens) {
            int *tmp = NULL;
            len = cli_parse_ids(line, &tmp);
            if (len < 0) {
                fprintf(stderr, "strata attn: %s:%d: not a list of token ids\n", path, lineno);
                rc = -1;
                break;
            }
            if (len == 0) { free(tmp); continue; }
            ids = malloc(sizeof *ids * len);
            for (int i = 0; ids && i < len; i++) ids[i] = tmp[i];
            free(tmp);
            for (int i = 0; ids && i < len; i++)
                if (ids[i] >= V) {
                    fprintf(stderr, "strata attn: %s:%d: token id %d outside the vocabulary [0, %d)\n",
                            path, lineno, ids[i], V);
                    rc = -1;
                    break;
                }
            if (rc < 0) { free(ids); break; }
        } else {
            int64_t cap_ids = (int64_t)n + 8, k = -1;
            for (int tries = 0; tries < 2; tries++) {
                free(ids);
                ids = malloc(sizeof *ids * (size_t)cap_ids);
                if (!ids) break;
                k = strata_tokenize(tok, line, (size_t)n, 1, ids, cap_ids, NULL);
                if (k <= cap_ids) break;
                cap_ids = k; /* more tokens than bytes + 8: once more with room */
            }
            if (ids && k < 0) {
                fprintf(stderr, "strata attn: %s:%d: %s\n", path, lineno,
                        strata_tokenizer_errmsg(tok));
                free(ids);
                rc = -1;
                break;
            }
            if (ids && k == 0) { free(ids); continue; }
            len = (int)k;
        }
        if (!ids) { fprintf(stderr, "strata attn: out of memory\n"); rc = -1; break; }
        if (len > max_tokens) { len = max_tokens; (*n_trunc)++; }
        if (docs_push(d, ids, len) < 0) { free(ids); rc = -1; break; }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Runs docs[i0, i1) in padded batches of `batch`. */
static int run_docs(strata_attn_stats *s, strata_model *m, int32_t **ids, const int32_t *len,
                    int n, int batch, int quiet, const char *what)
{
    int show = !quiet && isatty(2);
    for (int i = 0; i < n; i += batch) {
        int B = n - i < batch ? n - i : batch, T = 0;
        for (int b = 0; b < B; b++) if (len[i + b] > T) T = len[i + b];
        int32_t *tok = calloc((size_t)B * T, sizeof *tok);
        if (!tok) { fprintf(stderr, "strata attn: out of memory\n"); return -1; }
        for (int b = 0; b < B; b++) memcpy(tok + (size_t)b * T, ids[i + b], sizeof *tok * len[i + b]);
        int rc = strata_attn_stats_run(s, m, tok, len + i, B);
        free(tok);
        if (rc < 0) {
            if (show) fprintf(stderr, "\n");
            fprintf(stderr, "strata attn: %s documents %d..%d: %s\n", what, i, i + B - 1,
                    strata_attn_stats_errmsg(s));
            return -1;
        }
        if (show) fprintf(stderr, "\rstrata attn: %s documents %d/%d", what, i + B, n);
    }
    if (show) fprintf(stderr, "\n");
    return 0;
}

static void json_num(FILE *f, double v)
{
    if (isnan(v)) fputs("null", f);
    else fprintf(f, "%.6g", v);
}

static void csv_num(FILE *f, double v)
{
    if (!isnan(v)) fprintf(f, "%.6g", v);
}

/* Colour of a score in [0,1]: white -> dark blue. */
static void heat_rgb(double v, int *r, int *g, int *b)
{
    if (isnan(v)) { *r = *g = *b = 220; return; }
    if (v < 0) v = 0;
    if (v > 1) v = 1;
    *r = (int)(255 - v * (255 - 8));
    *g = (int)(255 - v * (255 - 48));
    *b = (int)(255 - v * (255 - 107));
}

static int write_svg(const char *path, const char *model, const strata_attn_head *h, int L, int H,
                     int have_ind)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const char *title[5] = { "previous-token", "first-token (sink)", "self", "duplicate-token",
                             "induction" };
    const int np = have_ind ? 5 : 4;
    const int cell = H > 16 ? 18 : 28, gap = 40, left = 60, top = 70;
    const int pw = H * cell, ph = L * cell;
    const int W = left + np * (pw + gap) + 20, Ht = top + ph + 60;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", W, Ht);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">attention heads: ", left);
    for (const char *p = model; *p; p++) {
        if (*p == '<') fputs("&lt;", f);
        else if (*p == '&') fputs("&amp;", f);
        else if (*p == '>') fputs("&gt;", f);
        else fputc(*p, f);
    }
    fprintf(f, "</text>\n");
    for (int p = 0; p < np; p++) {
        int x0 = left + p * (pw + gap);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>\n", x0, top - 28, title[p]);
        for (int hh = 0; hh < H; hh++)
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>\n",
                    x0 + hh * cell + cell / 2, top - 6, hh);
        for (int l = 0; l < L; l++) {
            if (p == 0)
                fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">L%d</text>\n", left - 8,
                        top + l * cell + cell / 2 + 4, l);
            for (int hh = 0; hh < H; hh++) {
                const strata_attn_head *e = &h[l * H + hh];
                double v = p == 0 ? e->prev_token : p == 1 ? e->first_token : p == 2 ? e->self
                         : p == 3 ? e->duplicate : e->induction;
                int r, g, b;
                heat_rgb(v, &r, &g, &b);
                int x = x0 + hh * cell, y = top + l * cell;
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" "
                           "stroke=\"white\"><title>layer %d head %d: %.3f (%s)</title></rect>\n",
                        x, y, cell, cell, r, g, b, l, hh, v, strata_attn_class_name(e->cls));
                if (cell >= 28 && !isnan(v))
                    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\" "
                               "fill=\"%s\">%.2f</text>\n",
                            x + cell / 2, y + cell / 2 + 3, v > 0.55 ? "white" : "black", v);
            }
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">head</text>\n", x0 + pw / 2,
                top + ph + 16);
    }
    /* colour bar */
    int bx = left, by = top + ph + 32;
    for (int i = 0; i < 50; i++) {
        int r, g, b;
        heat_rgb(i / 49.0, &r, &g, &b);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"4\" height=\"10\" fill=\"rgb(%d,%d,%d)\"/>\n",
                bx + 4 * i, by, r, g, b);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\">0</text><text x=\"%d\" y=\"%d\">1</text>\n", bx - 10,
            by + 9, bx + 204, by + 9);
    fprintf(f, "<text x=\"%d\" y=\"%d\">score (mean attention; grey = not measured)</text>\n",
            bx + 220, by + 9);
    fprintf(f, "</svg>\n");
    return fclose(f);
}

int cmd_attn(int argc, char **argv)
{
    const char *path = NULL, *text_file = NULL, *tokens_file = NULL, *csv = NULL, *plot = NULL;
    const char *capture = NULL, *revision = NULL;
    int R = 0, json = 0, batch = 16, max_tokens = 0, threads = 0, n_rand = 64, quiet = 0;
    int seed_given = 0;
    unsigned long long seed = 0;
    int32_t lo = -1, hi = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (cli_is_help(a)) { usage(); return 0; }
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--text-file") && more) text_file = argv[++i];
        else if (!strcmp(a, "--tokens-file") && more) tokens_file = argv[++i];
        else if (!strcmp(a, "--capture") && more) capture = argv[++i];
        else if (!strcmp(a, "--csv") && more) csv = argv[++i];
        else if (!strcmp(a, "--plot") && more) plot = argv[++i];
        else if (!strcmp(a, "--induction") && more) {
            if (cli_parse_int("attn", a, argv[++i], 1, CLI_MAX_TOKENS, &R)) return 2;
        } else if (!strcmp(a, "--seed") && more) {
            int64_t s;
            if (cli_parse_i64("attn", a, argv[++i], 0, INT64_MAX, &s)) return 2;
            seed = (unsigned long long)s;
            seed_given = 1;
        } else if (!strcmp(a, "--n-docs") && more) {
            if (cli_parse_int("attn", a, argv[++i], 1, CLI_MAX_DOCS, &n_rand)) return 2;
        } else if (!strcmp(a, "--batch") && more) {
            if (cli_parse_int("attn", a, argv[++i], 1, CLI_MAX_BATCH, &batch)) return 2;
        } else if (!strcmp(a, "--max-tokens") && more) {
            if (cli_parse_int("attn", a, argv[++i], 1, INT32_MAX, &max_tokens)) return 2;
        } else if (!strcmp(a, "--threads") && more) {
            if (cli_parse_int("attn", a, argv[++i], 0, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(a, "--revision") && more) {
            revision = argv[++i];
        } else if (!strcmp(a, "--token-range") && more) {
            /* LO:HI, each a checked integer */
            const char *v = argv[++i], *colon = strchr(v, ':');
            char los[32];
            int l = 0, h = 0;
            if (!colon || (size_t)(colon - v) >= sizeof los) {
                fprintf(stderr, "strata attn: --token-range: '%s' is not LO:HI\n", v);
                return 2;
            }
            memcpy(los, v, (size_t)(colon - v));
            los[colon - v] = 0;
            if (cli_parse_int("attn", "--token-range LO", los, 0, INT32_MAX - 1, &l) ||
                cli_parse_int("attn", "--token-range HI", colon + 1, 1, INT32_MAX, &h))
                return 2;
            if (h <= l) {
                fprintf(stderr, "strata attn: --token-range wants LO:HI with 0 <= LO < HI (got '%s')\n", v);
                return 2;
            }
            lo = l;
            hi = h;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "strata attn: unknown or incomplete option %s (see --help)\n", a);
            return 2;
        } else if (!path) path = a;
        else { fprintf(stderr, "strata attn: unexpected argument %s\n", a); return 2; }
    }
    if (!path) { fprintf(stderr, "strata attn: missing MODEL (see --help)\n"); return 2; }
    if (!!text_file + !!tokens_file + !!capture > 1) {
        fprintf(stderr, "strata attn: give one of --text-file, --tokens-file, --capture\n");
        return 2;
    }
    if (!text_file && !tokens_file && !capture && R <= 0) {
        fprintf(stderr, "strata attn: nothing to measure: give --text-file, --tokens-file or "
                        "--induction R\n");
        return 2;
    }
    if (R < 0 || batch < 1 || n_rand < 1) {
        fprintf(stderr, "strata attn: --induction, --batch and --n-docs must be positive\n");
        return 2;
    }
    strata_model *m = cli_open_model_rev("attn", path, revision, threads);
    if (!m) return 1;
    const strata_config *c = strata_model_config(m);
    if (max_tokens <= 0 || max_tokens > c->n_ctx) max_tokens = c->n_ctx;
    int status = 1;
    doclist docs = { 0 };
    int32_t *rnd = NULL, **rnd_rows = NULL, *rnd_len = NULL;
    strata_attn_head *heads = NULL;
    strata_attn_stats *s = NULL;
    if (strata_attn_stats_new(c, &s) != STRATA_OK) {
        fprintf(stderr, "strata attn: %s\n", strata_attn_stats_errmsg(s));
        goto done;
    }
    /* the given documents are the induction documents: tokens file or capture, R, no seed */
    const int given_ind = R > 0 && (tokens_file || capture) && !seed_given;
    if (R > 0 && strata_attn_stats_set_induction(s, R, 1) != STRATA_OK) {
        fprintf(stderr, "strata attn: --induction %d: %s\n", R, strata_attn_stats_errmsg(s));
        goto done;
    }
    int n_trunc = 0;
    if (text_file || tokens_file) {
        if (read_docs(m, text_file ? text_file : tokens_file, tokens_file != NULL, max_tokens,
                      &docs, &n_trunc) < 0)
            goto done;
        if (docs.n == 0) {
            fprintf(stderr, "strata attn: empty corpus: %s has no non-empty line\n",
                    text_file ? text_file : tokens_file);
            goto done;
        }
        if (n_trunc && !quiet)
            fprintf(stderr, "strata attn: %d document%s truncated to %d tokens\n", n_trunc, cli_plural(n_trunc),
                    max_tokens);
        if (!given_ind) strata_attn_stats_set_induction(s, 0, 1);
        for (int i = 0; given_ind && i < docs.n; i++) {
            const int32_t *t = docs.ids[i];
            int bad = docs.len[i] != 2 * R + 1 ? -1 : 0;
            for (int q = R + 1; !bad && q <= 2 * R; q++)
                if (t[q] != t[q - R]) bad = q;
            if (bad) {
                if (bad < 0)
                    fprintf(stderr, "strata attn: %s: document %d (non-empty line %d) has %d tokens; "
                                    "--induction %d needs BOS + S + S = %d\n",
                            tokens_file, i, i + 1, docs.len[i], R, 2 * R + 1);
                else
                    fprintf(stderr, "strata attn: %s: document %d (non-empty line %d) is not BOS + S + S: "
                                    "token %d (id %d) differs from token %d (id %d)\n",
                            tokens_file, i, i + 1, bad, t[bad], bad - R, t[bad - R]);
                goto done;
            }
        }
        if (run_docs(s, m, docs.ids, docs.len, docs.n, batch, quiet,
                     given_ind ? "induction" : "corpus") < 0)
            goto done;
    }
    if (capture) {
        strata_acts *pa = cli_open_acts("attn", capture); /* says so if it is partial */
        if (!pa) goto done;
        strata_acts_close(pa);
        if (!given_ind) strata_attn_stats_set_induction(s, 0, 1);
        if (strata_attn_stats_add_capture(s, capture) != STRATA_OK) {
            fprintf(stderr, "strata attn: %s\n", strata_attn_stats_errmsg(s));
            goto done;
        }
        if (strata_attn_stats_n_docs(s) == 0) {
            fprintf(stderr, "strata attn: empty corpus: %s holds no document with 2 or more "
                            "stored positions\n", capture);
            goto done;
        }
    }
    if (R > 0 && !given_ind) {
        int32_t dlo, dhi;
        strata_attn_token_range(c, &dlo, &dhi);
        if (lo < 0) { lo = dlo; hi = dhi; }
        if (hi > c->vocab_size) hi = c->vocab_size;
        const int L = 2 * R + 1;
        rnd = malloc(sizeof *rnd * (size_t)n_rand * L);
        rnd_rows = malloc(sizeof *rnd_rows * n_rand);
        rnd_len = malloc(sizeof *rnd_len * n_rand);
        if (!rnd || !rnd_rows || !rnd_len) { fprintf(stderr, "strata attn: out of memory\n"); goto done; }
        int rc = strata_attn_induction_docs(seed, n_rand, R, c->bos_token_id, c->eos_token_id, lo,
                                            hi, rnd);
        if (rc != STRATA_OK) {
            fprintf(stderr, "strata attn: cannot draw induction tokens from [%d, %d): %s\n", lo, hi,
                    strata_errstr(rc));
            goto done;
        }
        if (c->bos_token_id < 0)
            fprintf(stderr, "strata attn: warning: the model has no BOS id; documents start with "
                            "id -1 replaced by %d\n", lo);
        for (int i = 0; i < n_rand; i++) {
            rnd_rows[i] = rnd + (size_t)i * L;
            if (rnd_rows[i][0] < 0) rnd_rows[i][0] = lo;
            rnd_len[i] = L;
        }
        /* without a corpus the random documents give every statistic */
        if (strata_attn_stats_set_induction(s, R, docs.n == 0 && !capture) != STRATA_OK) {
            fprintf(stderr, "strata attn: %s\n", strata_attn_stats_errmsg(s));
            goto done;
        }
        if (run_docs(s, m, rnd_rows, rnd_len, n_rand, batch, quiet, "induction") < 0) goto done;
    }
    const int nh = c->n_layers * c->n_heads;
    heads = calloc((size_t)nh, sizeof *heads);
    if (!heads || strata_attn_stats_result(s, heads, nh) != nh) {
        fprintf(stderr, "strata attn: %s\n", heads ? strata_attn_stats_errmsg(s) : "out of memory");
        goto done;
    }
    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, c->name);
        printf(", \"n_layers\": %d, \"n_heads\": %d, \"n_docs\": %lld", c->n_layers, c->n_heads,
               (long long)strata_attn_stats_n_docs(s));
        if (R > 0) printf(", \"induction_R\": %d", R);
        if (R > 0 && !given_ind) printf(", \"seed\": %llu, \"n_random_docs\": %d", seed, n_rand);
        printf(", \"heads\": [");
        for (int i = 0; i < nh; i++) {
            const strata_attn_head *e = &heads[i];
            printf("%s\n  {\"layer\": %d, \"head\": %d, \"prev_token\": ", i ? "," : "", e->layer,
                   e->head);
            json_num(stdout, e->prev_token);
            printf(", \"first_token\": ");
            json_num(stdout, e->first_token);
            if (R > 0) { printf(", \"induction\": "); json_num(stdout, e->induction); }
            printf(", \"entropy\": ");
            json_num(stdout, e->entropy);
            printf(", \"mean_distance\": ");
            json_num(stdout, e->mean_distance);
            printf(", \"self\": ");
            json_num(stdout, e->self);
            printf(", \"duplicate\": ");
            json_num(stdout, e->duplicate);
            printf(", \"class\": \"%s\"}", strata_attn_class_name(e->cls));
        }
        printf("\n]}\n");
    } else {
        printf("# %s: %d layer%s x %d head%s, %lld document%s", c->name, c->n_layers,
               cli_plural(c->n_layers), c->n_heads, cli_plural(c->n_heads),
               (long long)strata_attn_stats_n_docs(s), cli_plural(strata_attn_stats_n_docs(s)));
        if (R > 0 && !given_ind) printf(" (induction: %d random BOS+S+S, R=%d, seed %llu)", n_rand, R, seed);
        else if (R > 0) printf(" (induction documents, R=%d)", R);
        printf("\nlayer head  prev_tok first_tok     self  duplic induction  entropy  distance  class\n");
        for (int i = 0; i < nh; i++) {
            const strata_attn_head *e = &heads[i];
            printf("%5d %4d  %8.3f %9.3f %8.3f %7.3f %9.3f %8.3f %9.2f  %s\n", e->layer, e->head,
                   e->prev_token, e->first_token, e->self, e->duplicate, e->induction, e->entropy,
                   e->mean_distance, strata_attn_class_name(e->cls));
        }
    }
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) { fprintf(stderr, "strata attn: cannot write %s: %s\n", csv, strerror(errno)); goto done; }
        fprintf(f, "layer,head,prev_token,first_token,self,duplicate,induction,entropy,"
                   "mean_distance,class\n");
        for (int i = 0; i < nh; i++) {
            const strata_attn_head *e = &heads[i];
            fprintf(f, "%d,%d,", e->layer, e->head);
            const double v[7] = { e->prev_token, e->first_token, e->self, e->duplicate,
                                  e->induction, e->entropy, e->mean_distance };
            for (int k = 0; k < 7; k++) { csv_num(f, v[k]); fputc(',', f); }
            fprintf(f, "%s\n", strata_attn_class_name(e->cls));
        }
        if (fclose(f) != 0) { fprintf(stderr, "strata attn: cannot write %s\n", csv); goto done; }
    }
    if (plot && write_svg(plot, c->name, heads, c->n_layers, c->n_heads, R > 0) != 0) {
        fprintf(stderr, "strata attn: cannot write %s: %s\n", plot, strerror(errno));
        goto done;
    }
    status = 0;
done:
    free(heads);
    free(rnd);
    free(rnd_rows);
    free(rnd_len);
    docs_free(&docs);
    strata_attn_stats_free(s);
    cli_close_model("attn", m);
    return status;
}
