/* cli/cmd_report.c — `strata report INPUT... --out F.html`: one self-contained
 * HTML page gathering what it is given.
 *
 *   capture files (.h5)  provenance, probe accuracy by layer for every label
 *                        (with control and majority baselines), PCA
 *                        participation ratio and explained variance, a CKA
 *                        heat map, and an attention viewer over one document
 *                        when the file holds hook_pattern datasets;
 *   sweep results (.json from `strata sweep --json`)  emergence curves with
 *                        the 10-90 % band and the steepest interval marked;
 *   --model M            per-head scores on random induction documents (the
 *                        `strata attn --induction` protocol) as heat maps,
 *                        token strings for the viewer, and the logit lens on
 *                        the viewer's document (cli/report_lens.c).
 *
 * The attention viewer's data are bounded by --attn-budget (cli/report_attn.c).
 *
 * The data go into the page as one JSON document (contract in
 * report_page.c); the page's JavaScript draws every chart as inline SVG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "input.h"
#include "report_attn.h"
#include "report_lens.h"
#include "report_page.h"
#include "strata/attn.h"
#include "strata/capture.h"
#include "strata/cka.h"
#include "strata/model.h"
#include "strata/pca.h"
#include "strata/probe.h"
#include "strata/tokenizer.h"

#define REPORT_MAX_INPUTS 64
/* At most this many heads named by --heads. */
#define REPORT_MAX_HEADS 1024

static void usage(void)
{
    printf(
        "usage: strata report INPUT... --out F.html [--model M] [--doc N]\n"
        "                     [--attn-budget BYTES] [--heads L.H,...] [--attn-heads-only]\n"
        "                     [--probe-cv K] [--group auto|doc|row] [--pca-k K]\n"
        "                     [--no-probes] [--quiet]\n\n"
        "One self-contained HTML page (inline SVG, CSS and JavaScript; no network).\n"
        "INPUTs are capture files (.h5) and `strata sweep --json` results (.json).\n\n"
        "  --out F.html   where to write the page (required)\n"
        "  --model M      model for per-head scores (induction documents) and token\n"
        "                 strings in the attention viewer\n"
        "  --doc N        document shown in the attention viewer (default 0)\n"
        "  --attn-budget B  bytes of attention data embedded per capture (default 3M;\n"
        "                 K/M/G suffixes): every head in full when it fits, else the\n"
        "                 highlighted and --heads heads in full and the others' top-k\n"
        "                 keys per query, else a shorter token window (the page says\n"
        "                 which)\n"
        "  --heads L.H,...  heads embedded in full first (e.g. 5.1,7.10)\n"
        "  --attn-heads-only  embed only the --heads and highlighted heads (the\n"
        "                 budget then goes to them: longer windows on large models)\n"
        "  --probe-cv K   cross-validation folds of the probes (default 0: held-out split)\n"
        "  --group G      probe splits: auto (default; by document for document-level\n"
        "                 labels), doc (whole documents per side) or row\n"
        "  --pca-k K      explained-variance ratios listed per hook (default 5)\n"
        "  --no-probes    skip the probe section\n"
        "  --quiet        no progress on stderr\n");
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* "blocks.3.hook_resid_post" -> "3", "hook_embed" -> "embed". */
static json_t *hook_layer_label(const char *hook)
{
    int l;
    if (sscanf(hook, "blocks.%d.", &l) == 1) return json_sprintf("%d", l);
    if (!strncmp(hook, "hook_", 5)) return json_string(hook + 5);
    return json_string(hook);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The hooks stored as [R, d] (residual-like), in file order. */
static int flat_hooks(strata_acts *a, const char **out, int cap)
{
    int n = 0;
    for (int i = 0; i < strata_acts_n_hooks(a) && n < cap; i++) {
        int64_t shape[4];
        if (strata_acts_hook_shape(a, strata_acts_hook(a, i), shape) == 2)
            out[n++] = strata_acts_hook(a, i);
    }
    return n;
}

static int probe_section(strata_acts *a, const char *path, int cv, int group, json_t *cap,
                         int quiet)
{
    json_t *probes = json_array();
    json_object_set_new(cap, "probes", probes);
    for (int li = 0; li < strata_acts_n_labels(a); li++) {
        const char *label = strata_acts_label(a, li);
        strata_probe_params p;
        strata_probe_default_params(&p);
        p.control = 1;
        p.cv_folds = cv;
        p.group = group;
        p.tol = 1e-4;
        strata_probe_report *rep = NULL;
        int n = 0;
        char err[512] = "";
        if (!quiet) fprintf(stderr, "strata report: probes for '%s' on %s\n", label, path);
        if (strata_probe_sweep(a, NULL, label, &p, NULL, NULL, &rep, &n, err, sizeof err) !=
            STRATA_OK) {
            /* A label that is not a classification target (e.g. float) is
             * reported as such, not silently dropped. */
            json_t *why = json_object();
            json_object_set_new(why, "label", json_string(label));
            json_object_set_new(why, "error", json_string(err));
            json_object_set_new(why, "rows", json_array());
            json_object_set_new(why, "n_classes", json_integer(0));
            json_array_append_new(probes, why);
            continue;
        }
        json_t *pr = json_object(), *rows = json_array();
        json_object_set_new(pr, "label", json_string(label));
        json_object_set_new(pr, "n_classes", json_integer(n ? rep[0].n_classes : 0));
        json_object_set_new(pr, "grouped", json_boolean(n && rep[0].grouped));
        for (int i = 0; i < n; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "hook", json_string(rep[i].hook));
            json_object_set_new(r, "layer", hook_layer_label(rep[i].hook));
            json_object_set_new(r, "acc", num(rep[i].test_accuracy));
            json_object_set_new(r, "bal", num(rep[i].balanced_accuracy));
            json_object_set_new(r, "control_bal", num(rep[i].control_balanced_accuracy));
            json_object_set_new(r, "sel", num(rep[i].selectivity));
            json_object_set_new(r, "majority", num(rep[i].majority_accuracy));
            json_array_append_new(rows, r);
        }
        json_object_set_new(pr, "rows", rows);
        json_array_append_new(probes, pr);
        strata_probe_sweep_free(rep);
    }
    return 0;
}

static int geometry_section(strata_acts *a, const char *path, int pca_k, json_t *cap)
{
    const char *hooks[512];
    int m = flat_hooks(a, hooks, 512);
    json_t *pcas = json_array();
    json_object_set_new(cap, "pca", pcas);
    for (int i = 0; i < m; i++) {
        strata_pca_params p;
        strata_pca_default_params(&p);
        int64_t shape[4];
        strata_acts_hook_shape(a, hooks[i], shape);
        p.k = (int32_t)(shape[1] < pca_k ? shape[1] : pca_k);
        p.solver = STRATA_PCA_COV;   /* the page shows the participation ratio: exact, not
                                        the randomized solver's estimate (AUTO may pick it) */
        strata_pca *pca = NULL;
        if (strata_pca_fit_acts(a, hooks[i], &p, &pca) != STRATA_OK) {
            fprintf(stderr, "strata report: %s: PCA of %s: %s\n", path, hooks[i],
                    strata_pca_errmsg(pca));
            strata_pca_free(pca);
            return -1;
        }
        json_t *r = json_object(), *evr = json_array();
        json_object_set_new(r, "hook", json_string(hooks[i]));
        json_object_set_new(r, "layer", hook_layer_label(hooks[i]));
        json_object_set_new(r, "pr", num(strata_pca_participation_ratio(pca)));
        for (int k = 0; k < strata_pca_k(pca); k++)
            json_array_append_new(evr, num(strata_pca_explained_variance_ratio(pca)[k]));
        json_object_set_new(r, "evr", evr);
        json_array_append_new(pcas, r);
        strata_pca_free(pca);
    }
    if (m < 2) return 0;
    strata_cka_params cp;
    strata_cka_default_params(&cp);
    strata_cka *c = NULL;
    if (strata_cka_fit_acts(a, m, hooks, &cp, &c) != STRATA_OK) {
        fprintf(stderr, "strata report: %s: CKA: %s\n", path, strata_cka_errmsg(c));
        strata_cka_free(c);
        return -1;
    }
    json_t *ck = json_object(), *hs = json_array(), *mat = json_array();
    const double *M = strata_cka_matrix(c);
    for (int i = 0; i < m; i++) {
        json_array_append_new(hs, json_string(hooks[i]));
        json_t *row = json_array();
        for (int j = 0; j < m; j++) json_array_append_new(row, num(M[(size_t)i * m + j]));
        json_array_append_new(mat, row);
    }
    json_object_set_new(ck, "hooks", hs);
    json_object_set_new(ck, "m", mat);
    json_object_set_new(cap, "cka", ck);
    strata_cka_free(c);
    return 0;
}

/* Per-token probe probabilities of the viewer's document: for each label with
 * two classes, a logistic probe fitted on every row of the hook where the
 * sweep scored best except the document's own rows (held out), applied to
 * the document's rows. */
static void probe_scores(strata_acts *a, json_t *cap, json_t *att)
{
    json_t *probes = json_object_get(cap, "probes");
    if (!probes || json_object_get(att, "absent")) return;
    int64_t doc = json_integer_value(json_object_get(att, "doc"));
    int64_t T = json_integer_value(json_object_get(att, "len"));
    int64_t R = strata_acts_n_rows(a);
    int64_t *docs = malloc(sizeof *docs * (size_t)(R ? R : 1));
    if (!docs || strata_acts_read_row_docs(a, 0, R, docs) != STRATA_OK) { free(docs); return; }
    int64_t r0 = 0;
    while (r0 < R && docs[r0] != doc) r0++;
    free(docs);
    json_t *scores = json_object();
    size_t i;
    json_t *P;
    json_array_foreach(probes, i, P) {
        if (json_integer_value(json_object_get(P, "n_classes")) != 2) continue;
        json_t *rows = json_object_get(P, "rows"), *r;
        const char *best = NULL;
        double best_bal = -1;
        size_t j;
        json_array_foreach(rows, j, r) {
            double b = json_number_value(json_object_get(r, "bal"));
            if (json_is_number(json_object_get(r, "bal")) && b > best_bal) {
                best_bal = b;
                best = json_string_value(json_object_get(r, "hook"));
            }
        }
        if (!best) continue;
        const char *label = json_string_value(json_object_get(P, "label"));
        int64_t d = strata_acts_row_width(a, best);
        /* in memory: bounded to keep the report cheap on large captures */
        if (d <= 0 || R * d > ((int64_t)1 << 26)) continue;
        float *X = malloc(sizeof *X * (size_t)(R * d)), *y = malloc(sizeof *y * (size_t)R);
        float *proba = malloc(sizeof *proba * (size_t)(2 * T));
        uint8_t *train = malloc((size_t)R);
        strata_probe *pr = NULL;
        strata_probe_params p;
        strata_probe_default_params(&p);
        p.tol = 1e-4;
        if (X && y && proba && train && strata_acts_read(a, best, 0, R, X) == STRATA_OK &&
            strata_acts_read_label(a, label, 0, R, y) == STRATA_OK &&
            (memset(train, 1, (size_t)R), memset(train + r0, 0, (size_t)T), 1) &&
            strata_probe_fit(X, R, d, y, train, &p, &pr) == STRATA_OK &&
            strata_probe_predict_proba(pr, X + r0 * d, T, proba) == STRATA_OK) {
            json_t *v = json_array();
            for (int64_t t = 0; t < T; t++) json_array_append_new(v, num(proba[2 * t + 1]));
            json_object_set_new(scores, label, v);
        }
        strata_probe_free(pr);
        free(X), free(y), free(proba), free(train);
    }
    json_object_set_new(att, "probe_scores", scores);
}

/* What the sections share: the options, and the heads embedded in full
 * first (--heads, then the heads the page highlights). */
typedef struct {
    strata_model *m;
    int64_t doc, attn_budget;
    int cv, group, pca_k, no_probes, quiet, heads_only;
    int prio[REPORT_MAX_HEADS + 8];
    int n_prio, n_user_heads;
    const char *user_heads;  /* --heads as given */
} report_opts;

static json_t *capture_section(const char *path, const report_opts *o, int *err)
{
    strata_model *m = o->m;
    int cv = o->cv, group = o->group, pca_k = o->pca_k, no_probes = o->no_probes, quiet = o->quiet;
    strata_acts *a = cli_open_acts("report", path);
    if (!a) { *err = 1; return NULL; }
    json_t *cap = json_object(), *hooks = json_array(), *labels = json_array();
    json_object_set_new(cap, "path", json_string(path));
    json_object_set_new(cap, "complete", json_boolean(strata_acts_complete(a)));
    json_object_set_new(cap, "n_docs", json_integer(strata_acts_n_docs(a)));
    json_object_set_new(cap, "n_rows", json_integer(strata_acts_n_rows(a)));
    for (int i = 0; i < strata_acts_n_hooks(a); i++)
        json_array_append_new(hooks, json_string(strata_acts_hook(a, i)));
    for (int i = 0; i < strata_acts_n_labels(a); i++)
        json_array_append_new(labels, json_string(strata_acts_label(a, i)));
    json_object_set_new(cap, "hooks", hooks);
    json_object_set_new(cap, "labels", labels);
    if (no_probes) {
        json_object_set_new(cap, "probes", json_array());
        json_object_set_new(cap, "probes_absent", json_string("skipped (--no-probes)"));
    } else if (strata_acts_n_rows(a) > 0) {
        probe_section(a, path, cv, group, cap, quiet);
    } else {
        json_object_set_new(cap, "probes", json_array());
    }
    if (!quiet) fprintf(stderr, "strata report: PCA and CKA on %s\n", path);
    if (strata_acts_n_rows(a) > 1 && geometry_section(a, path, pca_k, cap) < 0) {
        strata_acts_close(a);
        json_decref(cap);
        *err = 1;
        return NULL;
    }
    if (!json_object_get(cap, "pca")) json_object_set_new(cap, "pca", json_array());
    if (!quiet) fprintf(stderr, "strata report: attention patterns of document %lld\n",
                        (long long)o->doc);
    char aerr[256] = "";
    json_t *att = report_attn_section(a, o->doc, m, o->prio, o->n_prio, o->n_user_heads,
                                      o->heads_only, o->attn_budget, aerr, sizeof aerr);
    if (!att) {
        fprintf(stderr, "strata report: %s: %s\n", path, aerr);
        strata_acts_close(a);
        json_decref(cap);
        *err = 1;
        return NULL;
    }
    if (!no_probes) probe_scores(a, cap, att);
    json_object_set_new(cap, "attention", att);
    if (!quiet && m) fprintf(stderr, "strata report: logit lens on document %lld\n",
                             (long long)o->doc);
    json_object_set_new(cap, "lens", report_lens_section(a, o->doc, m));
    strata_acts_close(a);
    return cap;
}

/* Per-head scores of m on induction documents: heat maps of every score.
 * The head scoring highest on each score is appended to o->prio (the
 * viewer embeds these in full first after --heads). */
static json_t *heads_section(strata_model *m, report_opts *o)
{
    json_t *out = json_object();
    const strata_config *cfg = strata_model_config(m);
    int L = cfg->n_layers, H = cfg->n_heads, R = (cfg->n_ctx - 1) / 2;
    if (R > 50) R = 50;
    int n_docs = 32;
    int32_t lo, hi;
    strata_attn_token_range(cfg, &lo, &hi);
    int32_t *docs = malloc(sizeof *docs * (size_t)n_docs * (2 * R + 1));
    int32_t *lens = malloc(sizeof *lens * (size_t)n_docs);
    strata_attn_head *heads = malloc(sizeof *heads * (size_t)L * H);
    strata_attn_stats *s = NULL;
    strata_tokenizer *tok = strata_model_tokenizer(m);
    int32_t bos = tok ? strata_tokenizer_bos(tok) : -1, eos = tok ? strata_tokenizer_eos(tok) : -1;
    if (bos < 0) bos = cfg->bos_token_id;
    if (!docs || !lens || !heads || R < 1 ||
        strata_attn_stats_new(cfg, &s) != STRATA_OK ||
        strata_attn_stats_set_induction(s, R, 1) != STRATA_OK ||
        strata_attn_induction_docs(0, n_docs, R, bos < 0 ? lo : bos, eos, lo, hi, docs) !=
            STRATA_OK) {
        json_object_set_new(out, "absent", json_sprintf(
            "head scores could not be computed: %s", s ? strata_attn_stats_errmsg(s)
                                                         : "context too short or no memory"));
        goto done;
    }
    for (int i = 0; i < n_docs; i++) lens[i] = 2 * R + 1;
    if (strata_attn_stats_run(s, m, docs, lens, n_docs) != STRATA_OK ||
        strata_attn_stats_result(s, heads, L * H) != L * H) {
        json_object_set_new(out, "absent", json_sprintf("head scores failed: %s",
                                                         strata_attn_stats_errmsg(s)));
        goto done;
    }
    static const char *names[] = { "induction", "prev_token", "first_token (sink)", "duplicate" };
    json_t *scores = json_object(), *cls = json_array(), *cn = json_array();
    for (int k = 0; k < 4; k++) {
        json_t *mat = json_array();
        for (int l = 0; l < L; l++) {
            json_t *row = json_array();
            for (int h = 0; h < H; h++) {
                const strata_attn_head *x = &heads[l * H + h];
                double v = k == 0 ? x->induction : k == 1 ? x->prev_token
                         : k == 2 ? x->first_token : x->duplicate;
                json_array_append_new(row, num(v));
            }
            json_array_append_new(mat, row);
        }
        json_object_set_new(scores, names[k], mat);
    }
    for (int l = 0; l < L; l++) {
        json_t *row = json_array();
        for (int h = 0; h < H; h++) json_array_append_new(row, json_integer(heads[l * H + h].cls));
        json_array_append_new(cls, row);
    }
    for (int c = 0; c < STRATA_ATTN_CLASS_COUNT; c++)
        json_array_append_new(cn, json_string(strata_attn_class_name(c)));
    json_t *top = json_array();
    for (int k = 0; k < 4; k++) {
        int best = 0;
        for (int x = 1; x < L * H; x++) {
            const strata_attn_head *a = &heads[x], *b = &heads[best];
            double va = k == 0 ? a->induction : k == 1 ? a->prev_token
                      : k == 2 ? a->first_token : a->duplicate;
            double vb = k == 0 ? b->induction : k == 1 ? b->prev_token
                      : k == 2 ? b->first_token : b->duplicate;
            if (va > vb) best = x;
        }
        json_array_append_new(top, json_pack("{s:s, s:i, s:i}", "score", names[k], "layer",
                                             best / H, "head", best % H));
        o->prio[o->n_prio++] = best / H * 65536 + best % H;
    }
    json_object_set_new(out, "top", top);
    json_object_set_new(out, "n_layers", json_integer(L));
    json_object_set_new(out, "n_heads", json_integer(H));
    json_object_set_new(out, "n_docs", json_integer(n_docs));
    json_object_set_new(out, "scores", scores);
    json_object_set_new(out, "cls", cls);
    json_object_set_new(out, "class_names", cn);
done:
    strata_attn_stats_free(s);
    free(docs), free(lens), free(heads);
    return out;
}

static json_t *sweep_section(const char *path, int *err)
{
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    if (!s) {
        fprintf(stderr, "strata report: %s: not a JSON file (line %d: %s)\n", path, je.line,
                je.text);
        *err = 1;
        return NULL;
    }
    if (!json_is_array(json_object_get(s, "points")) ||
        !json_is_array(json_object_get(s, "transitions"))) {
        fprintf(stderr, "strata report: %s: not `strata sweep --json` output (no \"points\" "
                        "and \"transitions\" arrays)\n", path);
        json_decref(s);
        *err = 1;
        return NULL;
    }
    json_object_set_new(s, "path", json_string(path));
    return s;
}

/* --heads "5.1,7.10": layer.head pairs into prio[] as layer * 65536 + head
 * (the encoding report_attn_section takes). */
static int parse_heads(const char *s, int *prio, int *n)
{
    const char *p = s;
    *n = 0;
    while (*p) {
        int l, h, used = 0;
        if (sscanf(p, "%d.%d%n", &l, &h, &used) != 2 || l < 0 || h < 0 || l > 4095 ||
            h > 65535 || (p[used] && p[used] != ',')) {
            fprintf(stderr, "strata report: --heads: '%s' is not a list of LAYER.HEAD (e.g. "
                            "5.1,7.10)\n", s);
            return -1;
        }
        if (*n == REPORT_MAX_HEADS) {
            fprintf(stderr, "strata report: --heads: more than %d heads\n", REPORT_MAX_HEADS);
            return -1;
        }
        prio[(*n)++] = l * 65536 + h;
        p += used + (p[used] == ',');
    }
    return *n ? 0 : -1;
}

int cmd_report(int argc, char **argv)
{
    const char *out = NULL, *model_path = NULL, *inputs[REPORT_MAX_INPUTS];
    int n_in = 0;
    static report_opts o;
    memset(&o, 0, sizeof o);
    o.pca_k = 5;
    o.group = STRATA_PROBE_GROUP_AUTO;
    o.attn_budget = REPORT_ATTN_DEFAULT_BUDGET;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (cli_is_help(a)) { usage(); return 0; }
        else if (!strcmp(a, "--out") && more) out = argv[++i];
        else if (!strcmp(a, "--model") && more) model_path = argv[++i];
        else if (!strcmp(a, "--doc") && more) {
            if (cli_parse_i64("report", a, argv[++i], 0, INT64_MAX, &o.doc) < 0) return 2;
        } else if (!strcmp(a, "--attn-budget") && more) {
            if (cli_parse_size(argv[++i], &o.attn_budget) < 0) {
                fprintf(stderr, "strata report: --attn-budget: '%s' is not a byte size (e.g. "
                                "3M, 500k, 2000000)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--heads") && more) {
            o.user_heads = argv[++i];
            if (parse_heads(o.user_heads, o.prio, &o.n_prio) < 0) return 2;
            o.n_user_heads = o.n_prio;
        } else if (!strcmp(a, "--probe-cv") && more) {
            if (cli_parse_int("report", a, argv[++i], 0, 100, &o.cv) < 0) return 2;
            if (o.cv == 1) { fprintf(stderr, "strata report: --probe-cv: 1 fold is not CV (0 or >= 2)\n"); return 2; }
        } else if (!strcmp(a, "--group") && more) {
            const char *g = argv[++i];
            if (!strcmp(g, "auto")) o.group = STRATA_PROBE_GROUP_AUTO;
            else if (!strcmp(g, "doc")) o.group = STRATA_PROBE_GROUP_DOC;
            else if (!strcmp(g, "row")) o.group = STRATA_PROBE_GROUP_ROW;
            else { fprintf(stderr, "strata report: --group: '%s' is not auto, doc or row\n", g); return 2; }
        } else if (!strcmp(a, "--pca-k") && more) {
            if (cli_parse_int("report", a, argv[++i], 1, 100, &o.pca_k) < 0) return 2;
        } else if (!strcmp(a, "--attn-heads-only")) o.heads_only = 1;
        else if (!strcmp(a, "--no-probes")) o.no_probes = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "strata report: unknown option or missing value: %s\n", a);
            return 2;
        } else if (n_in < REPORT_MAX_INPUTS) inputs[n_in++] = a;
        else { fprintf(stderr, "strata report: more than %d inputs\n", REPORT_MAX_INPUTS); return 2; }
    }
    if (!out || (!n_in && !model_path)) {
        fprintf(stderr, "strata report: need --out F.html and at least one input (strata report --help)\n");
        return 2;
    }
    strata_model *m = NULL;
    if (model_path && !(m = cli_open_model("report", model_path, 0))) return 1;
    o.m = m;
    json_t *data = json_object(), *caps = json_array(), *sweeps = json_array(),
           *prov = json_array(), *ins = json_array();
    int err = 0;
    /* Head scores first: the viewers embed the heads they highlight in full. */
    if (!o.quiet && m) fprintf(stderr, "strata report: head scores on induction documents\n");
    json_object_set_new(data, "heads", m ? heads_section(m, &o) : json_pack("{s:s}", "absent",
        "no model given (--model M): per-head scores need a forward pass"));
    for (int i = 0; i < n_in && !err; i++) {
        json_array_append_new(ins, json_string(inputs[i]));
        json_t *sec = ends_with(inputs[i], ".json")
                          ? sweep_section(inputs[i], &err)
                          : capture_section(inputs[i], &o, &err);
        if (sec) json_array_append_new(ends_with(inputs[i], ".json") ? sweeps : caps, sec);
    }
    if (err) {
        json_decref(data), json_decref(caps), json_decref(sweeps), json_decref(prov),
            json_decref(ins);
        strata_model_free(m);
        return 1;
    }
#define PROV(k, v) json_array_append_new(prov, json_pack("[s, o]", k, v))
    PROV("strata", json_string(strata_libversion()));
    if (m) {
        const strata_config *c = strata_model_config(m);
        PROV("model", json_string(model_path));
        PROV("architecture", json_string(strata_arch_name(c->arch)));
        PROV("layers x heads", json_sprintf("%d x %d", c->n_layers, c->n_heads));
        PROV("d_model", json_integer(c->d_model));
        PROV("vocabulary", json_integer(c->vocab_size));
    }
    size_t i;
    json_t *c;
    json_array_foreach(caps, i, c) {
        PROV("capture", json_sprintf("%s: %lld documents, %lld rows%s",
                                     json_string_value(json_object_get(c, "path")),
                                     (long long)json_integer_value(json_object_get(c, "n_docs")),
                                     (long long)json_integer_value(json_object_get(c, "n_rows")),
                                     json_is_true(json_object_get(c, "complete")) ? "" : " (PARTIAL)"));
    }
#undef PROV
    json_object_set_new(data, "title", json_string("strata report"));
    json_object_set_new(data, "inputs", ins);
    json_object_set_new(data, "provenance", prov);
    json_object_set_new(data, "captures", caps);
    json_object_set_new(data, "sweeps", sweeps);
    strata_model_free(m);

    char *js = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(5));
    json_decref(data);
    /* Written to a temporary name and renamed: a failed write never leaves
     * half a page under the requested name. */
    size_t tl = strlen(out) + 16;
    char *tmp = malloc(tl);
    if (!js || !tmp) { free(js), free(tmp); fprintf(stderr, "strata report: out of memory\n"); return 1; }
    snprintf(tmp, tl, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) { perror(tmp); free(js), free(tmp); return 1; }
    report_write_page(f, "strata report", js);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, out) != 0) {
        fprintf(stderr, "strata report: cannot write %s\n", out);
        remove(tmp);
        free(js), free(tmp);
        return 1;
    }
    free(js), free(tmp);
    if (!o.quiet) printf("report: %s\n", out);
    return 0;
}
