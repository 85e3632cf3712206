/* cli/cmd_sweep.c — `strata sweep MODEL_DIR... [--measure LIST] [--json|--csv]
 * [--plot F.svg]`: measures over a family of models and the transition of
 * each (files in cli/sweep.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "strata/capture.h"
#include "sweep.h"

static void usage(void)
{
    printf("usage: strata sweep MODEL_DIR... [--measure LIST]\n"
           "                    [--data F.jsonl | --text-file F | --tokens-file F]\n"
           "                    [--x step|tokens|params] [--log-x | --linear-x]\n"
           "                    [--json | --csv] [--json-out F.json] [--plot F.svg] [--quiet]\n"
           "                    [--batch B] [--max-tokens N] [--no-bos] [--threads N] [--seed S]\n"
           "                    [--icl-early P] [--icl-late P] [--induction-len R] [--induction-docs N]\n"
           "                    [--probe-cv K] [--probe-C C]\n\n"
           "MODEL_DIR is a model directory (config.json) or a training output folder whose\n"
           "step-<N>/ checkpoints it stands for (x = step, tokens seen, parameters from each\n"
           "checkpoint's trainer_state.json). All models must share one tokenizer.\n\n"
           "Measures (comma-separated; default loss,icl with an eval corpus, else induction):\n"
           "  loss          mean next-token loss on the eval corpus (nats)\n"
           "  icl           Olsson et al. 2022: loss at position --icl-late minus loss at\n"
           "                --icl-early, averaged over documents reaching --icl-late\n"
           "                (defaults: min(500, n_ctx-1) and min(50, late/10))\n"
           "  induction     best head's induction score (random BOS+S+S documents, |S| =\n"
           "                --induction-len, default min(50, (n_ctx-1)/2); --induction-docs\n"
           "                default 32) and which head; previous-token heads (on the corpus\n"
           "                when one is given)\n"
           "  probe:LABEL   logistic probe per layer on the corpus label (JSONL --data):\n"
           "                --probe-cv-fold accuracy (default 5) and control-task selectivity\n"
           "  task:FILE     strata eval scores: exact_match, answer_logprob, token_accuracy\n"
           "  geometry      participation ratio of each layer's residual stream\n"
           "  weights       L2 norm of all weights (model.safetensors, F32)\n"
           "Token-level measures share one forward pass per checkpoint.\n\n"
           "Every measure gets its transition per family: the x of the steepest change\n"
           "between neighbouring points, the 10-90%% width and the sharpness (largest step /\n"
           "total change); see docs/cli/sweep.md. --plot writes an SVG: each measure vs x\n"
           "(log x for parameters) with its transition marked, and layer x checkpoint\n"
           "heatmaps of probe accuracy. --json-out F also writes the JSON to F (with the\n"
           "table or CSV on stdout).\n");
}

static int add_str(char ***v, int *n, const char *s)
{
    char **nv = realloc(*v, sizeof *nv * (size_t)(*n + 1));
    if (!nv) return -1;
    *v = nv;
    nv[*n] = strdup(s);
    return nv[(*n)++] ? 0 : -1;
}

static int parse_measures(const char *list, sw_opts *o)
{
    char *dup = strdup(list), *save = NULL;
    if (!dup) return -1;
    int rc = 0;
    for (char *t = strtok_r(dup, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "loss")) o->loss = 1;
        else if (!strcmp(t, "icl")) o->icl = 1;
        else if (!strcmp(t, "induction")) o->induction = 1;
        else if (!strcmp(t, "geometry")) o->geometry = 1;
        else if (!strcmp(t, "weights")) o->weights = 1;
        else if (!strncmp(t, "probe:", 6) && t[6]) rc = add_str(&o->probe_labels, &o->n_probe, t + 6);
        else if (!strncmp(t, "task:", 5) && t[5]) {
            const char *b = strrchr(t + 5, '/');
            b = b ? b + 1 : t + 5;
            for (int i = 0; i < o->n_tasks; i++) {
                const char *c = strrchr(o->tasks[i], '/');
                if (!strcmp(c ? c + 1 : o->tasks[i], b)) {
                    fprintf(stderr, "strata sweep: --measure: two task files named %s\n", b);
                    rc = -1;
                }
            }
            if (!rc) rc = add_str(&o->tasks, &o->n_tasks, t + 5);
        } else {
            fprintf(stderr, "strata sweep: --measure: unknown measure '%s' (loss, icl, induction, "
                            "geometry, weights, probe:LABEL, task:FILE)\n", t);
            rc = -1;
        }
    }
    free(dup);
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    sw_opts o;
    memset(&o, 0, sizeof o);
    o.batch = 8;
    o.induction_docs = 32;
    o.probe_cv = 5;
    o.probe_C = 1.0;
    o.data_kind = STRATA_INPUT_JSONL;
    sw_sweep s;
    memset(&s, 0, sizeof s);
    const char *measures = NULL, *plot = NULL, *xaxis = NULL, *json_out = NULL;
    int json = 0, csv = 0, logx = -1, status = 2;
    char **dirs = calloc((size_t)argc, sizeof *dirs);
    int nd = 0;
    char tmpl[4096] = "";
    if (!dirs) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (cli_is_help(a)) { usage(); free(dirs); return 0; }
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--csv")) csv = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (!strcmp(a, "--no-bos")) o.no_bos = 1;
        else if (!strcmp(a, "--log-x")) logx = 1;
        else if (!strcmp(a, "--linear-x")) logx = 0;
        else if (!strcmp(a, "--measure") && more) measures = argv[++i];
        else if (!strcmp(a, "--plot") && more) plot = argv[++i];
        else if (!strcmp(a, "--json-out") && more) json_out = argv[++i];
        else if (!strcmp(a, "--x") && more) xaxis = argv[++i];
        else if (!strcmp(a, "--data") && more) { o.data = argv[++i]; o.data_kind = STRATA_INPUT_JSONL; }
        else if (!strcmp(a, "--text-file") && more) { o.data = argv[++i]; o.data_kind = STRATA_INPUT_TEXT; }
        else if (!strcmp(a, "--tokens-file") && more) { o.data = argv[++i]; o.data_kind = STRATA_INPUT_TOKENS; }
        else if (!strcmp(a, "--batch") && more) { if (cli_parse_int("sweep", a, argv[++i], 1, 65536, &o.batch)) goto out; }
        else if (!strcmp(a, "--max-tokens") && more) { if (cli_parse_int("sweep", a, argv[++i], 1, 2147483647, &o.max_tokens)) goto out; }
        else if (!strcmp(a, "--threads") && more) { if (cli_parse_int("sweep", a, argv[++i], 0, CLI_MAX_THREADS, &o.threads)) goto out; }
        else if (!strcmp(a, "--icl-early") && more) { if (cli_parse_int("sweep", a, argv[++i], 1, 1 << 24, &o.icl_early)) goto out; }
        else if (!strcmp(a, "--icl-late") && more) { if (cli_parse_int("sweep", a, argv[++i], 2, 1 << 24, &o.icl_late)) goto out; }
        else if (!strcmp(a, "--induction-len") && more) { if (cli_parse_int("sweep", a, argv[++i], 1, 1 << 20, &o.induction_R)) goto out; }
        else if (!strcmp(a, "--induction-docs") && more) { if (cli_parse_int("sweep", a, argv[++i], 1, 1 << 20, &o.induction_docs)) goto out; }
        else if (!strcmp(a, "--probe-cv") && more) { if (cli_parse_int("sweep", a, argv[++i], 2, 127, &o.probe_cv)) goto out; }
        else if (!strcmp(a, "--probe-C") && more) { if (cli_parse_f64("sweep", a, argv[++i], 1e-12, 1e12, &o.probe_C)) goto out; }
        else if (!strcmp(a, "--seed") && more) {
            int64_t v;
            if (cli_parse_i64("sweep", a, argv[++i], 0, INT64_MAX, &v)) goto out;
            o.seed = (uint64_t)v;
        } else if (a[0] == '-' && a[1]) { fprintf(stderr, "strata sweep: unknown or incomplete option %s\n", a); goto out; }
        else dirs[nd++] = argv[i];
    }
    if (nd == 0) { fprintf(stderr, "strata sweep: missing MODEL_DIR (see --help)\n"); goto out; }
    if (json && csv) { fprintf(stderr, "strata sweep: --json and --csv exclude each other\n"); goto out; }
    if (xaxis && strcmp(xaxis, "step") && strcmp(xaxis, "tokens") && strcmp(xaxis, "params")) {
        fprintf(stderr, "strata sweep: --x: '%s' is not step, tokens or params\n", xaxis);
        goto out;
    }
    if (parse_measures(measures ? measures : o.data ? "loss,icl" : "induction", &o)) goto out;
    if (!o.data && (o.loss || o.icl || o.n_probe || o.geometry)) {
        fprintf(stderr, "strata sweep: loss, icl, probe and geometry need an eval corpus (--data, --text-file or --tokens-file)\n");
        goto out;
    }
    if (o.n_probe && o.data_kind != STRATA_INPUT_JSONL) {
        fprintf(stderr, "strata sweep: probe:%s needs labels: give the corpus as --data F.jsonl\n", o.probe_labels[0]);
        goto out;
    }
    status = 1;
    s.x_axis = xaxis;
    if (sw_collect_points(nd, dirs, &s)) goto out;
    s.log_x = logx >= 0 ? logx : !strcmp(s.x_axis, "params");
    const char *td = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/strata-sweep-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpl)) { fprintf(stderr, "strata sweep: cannot create a temporary directory %s: ", tmpl); perror(NULL); tmpl[0] = 0; goto out; }
    o.tmpdir = tmpl;
    for (int i = 0; i < s.n; i++) {
        if (sw_measure_point(&s, i, &o)) goto out;
        if (!o.quiet) fprintf(stderr, "strata sweep: [%d/%d] %s (%.1f s)\n", i + 1, s.n, s.pt[i].path, s.pt[i].seconds);
    }
    if (json_out) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", json_out);
        FILE *jf = fopen(tmp, "w");
        if (!jf) { fprintf(stderr, "strata sweep: --json-out: cannot write %s: ", tmp); perror(NULL); goto out; }
        sw_print_json(jf, &s, &o);
        if (fclose(jf) != 0 || rename(tmp, json_out) != 0) {
            fprintf(stderr, "strata sweep: --json-out: cannot write %s\n", json_out);
            remove(tmp);
            goto out;
        }
    }
    if (json) sw_print_json(stdout, &s, &o);
    else if (csv) sw_print_csv(&s);
    else sw_print_table(&s, &o);
    if (plot && sw_write_svg(&s, plot)) goto out;
    status = 0;
out:
    if (tmpl[0]) rmdir(tmpl);
    for (int i = 0; i < o.n_probe; i++) free(o.probe_labels[i]);
    for (int i = 0; i < o.n_tasks; i++) free(o.tasks[i]);
    free(o.probe_labels);
    free(o.tasks);
    sw_sweep_free(&s);
    free(dirs);
    return status;
}
