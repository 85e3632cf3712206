/* cli/cmd_probe.c — `strata probe ACTS.h5 --label NAME ...`: fit a linear
 * probe on every hook of a capture file (or those matching --hooks) and print
 * the layer-by-layer table; JSON, CSV and an SVG line chart on request.
 * Definitions: docs/PROBES.md; options: docs/cli/probe.md. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dist/fit_group.h"
#include "strata/capture.h"
#include "strata/dist.h"
#include "strata/probe.h"

static void usage(void)
{
    printf(
        "usage: strata probe ACTS.h5 --label NAME [--hooks GLOB] [--kind logistic|ridge|diffmean]\n"
        "                    [--C X] [--alpha X] [--cv K] [--group auto|doc|row] [--control]\n"
        "                    [--shuffled] [--seed N]\n"
        "                    [--test-fraction F] [--no-standardize] [--balanced] [--no-intercept]\n"
        "                    [--max-iter N] [--tol X] [--mem-limit 256M] [--save F.h5]\n"
        "                    [--json] [--csv F] [--plot F.svg] [--quiet]\n\n"
        "Fits one probe per hook on /labels/NAME of a capture file (a seeded\n"
        "train/test split, by document or by row) and prints one row per hook: the\n"
        "layer-by-layer curve of what a linear read-out can recover, beside the\n"
        "majority-class baseline.\n\n"
        "  --label NAME       label dataset /labels/NAME (NaN rows are skipped)\n"
        "  --hooks GLOB       hooks to probe (fnmatch, e.g. 'blocks.*.hook_resid_post');\n"
        "                     default: every 2-D hook\n"
        "  --kind K           logistic (default; L2, L-BFGS), ridge (continuous label,\n"
        "                     score R^2), diffmean (difference of class means)\n"
        "  --C X              logistic inverse regularisation, sklearn's C (default 1)\n"
        "  --alpha X          ridge penalty (default 1)\n"
        "  --cv K             also K-fold cross-validation (cv_accuracy, cv_balanced, cv_std)\n"
        "  --group G          doc: keep each document's rows on one side of every split\n"
        "                     (scikit-learn GroupShuffleSplit / GroupKFold); row: stratified\n"
        "                     by row; auto (default): doc when every document's rows share\n"
        "                     one label value, else row. The split in use is printed.\n"
        "  --control          Hewitt & Liang control task: each token type gets a random\n"
        "                     label; selectivity = balanced accuracy - control balanced\n"
        "                     accuracy (R^2 difference for ridge)\n"
        "  --shuffled         shuffled-label baseline\n"
        "  --seed N           seed of splits and random labels (default 0)\n"
        "  --test-fraction F  held-out share (default 0.2)\n"
        "  --no-standardize   fit on raw activations (default: z-scored features)\n"
        "  --balanced         class weights n / (K n_k)\n"
        "  --mem-limit SIZE   memory budget for streamed row blocks (e.g. 256M, 2G;\n"
        "                     default 64M): data larger than memory is fitted block by block\n"
        "  --save F.h5        also fit each hook's probe on all labelled rows and save it\n"
        "                     (group /probes/<hook>)\n"
        "  --json             print {\"results\": [{\"hook\", \"kind\", \"n_rows\", ...}]}\n"
        "  --csv F            write the table as CSV\n"
        "  --plot F.svg       line chart: score by hook (and control, CV, shuffled)\n"
        "  --quiet            no progress on stderr\n");
}

static const char *kind_str(int k) { return k == 1 ? "ridge" : k == 2 ? "diffmean" : "logistic"; }

static void jnum(FILE *f, const char *key, double v, int comma)
{
    if (isfinite(v)) fprintf(f, "\"%s\": %.10g", key, v);
    else fprintf(f, "\"%s\": null", key);
    if (comma) fputs(", ", f);
}

static void progress(void *user, int i, int n, const char *hook)
{
    if (!*(int *)user) fprintf(stderr, "\rstrata probe: [%d/%d] %-48s", i + 1, n, hook);
}

/* ---- SVG line chart: score by hook ---- */
/* Value of series `which` for report q: 0 test score, 1 balanced accuracy,
 * 2 CV mean, 3 control (balanced for classification), 4 shuffled, 5 majority. */
static double series_value(const strata_probe_report *q, int which, int ridge)
{
    switch (which) {
    case 0: return ridge ? q->test_r2 : q->test_accuracy;
    case 1: return ridge ? NAN : q->balanced_accuracy;
    case 2: return q->cv_score;
    case 3: return ridge ? q->control_score : q->control_balanced_accuracy;
    case 4: return q->shuffled_score;
    default: return ridge ? NAN : q->majority_accuracy;
    }
}

/* The y axis spans the data (with 6% margins), not a fixed 0..1: differences
 * near 0.99 stay visible.  Ticks at a 1-2-5 step. */
static int write_svg(const char *path, const strata_probe_report *r, int n, const char *label, int ridge)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const int W = 760, H = 420, L = 60, R = 170, T = 40, B = 150;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 6; k++) {
            double v = series_value(&r[i], k, ridge);
            if (isfinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
        }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    double span = hi - lo < 0.01 ? 0.01 : hi - lo;
    lo -= 0.06 * span; hi += 0.06 * span;
    if (!ridge) { if (lo < 0) lo = 0; if (hi > 1) hi = 1; }
    double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw))), step = mag;
    if (raw > 5 * mag) step = 10 * mag; else if (raw > 2 * mag) step = 5 * mag; else if (raw > mag) step = 2 * mag;
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec < 2) dec = 2;
    double pw = W - L - R, ph = H - T - B;
#define XS(i) (L + (n > 1 ? pw * (i) / (n - 1) : pw / 2))
#define YS(v) (T + ph * (hi - (v)) / (hi - lo))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"22\" font-size=\"14\">probe %s by hook: label ", L, ridge ? "R\xc2\xb2" : "accuracy");
    cli_svg_escape(f, label);
    fprintf(f, " (split by %s)</text>\n", n && r[0].grouped ? "document" : "row");
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-12; v += step) {
        fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", L, L + pw, YS(v), YS(v));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", L - 6, YS(v) + 4, dec, v);
    }
    for (int i = 0; i < n; i++) {
        fprintf(f, "<text transform=\"translate(%.1f,%d) rotate(-60)\" text-anchor=\"end\">", XS(i), T + (int)ph + 12);
        cli_svg_escape(f, r[i].hook);
        fputs("</text>\n", f);
    }
    struct { const char *name, *color, *dash; } series[] = {
        { "test", "#1f77b4", "" }, { "balanced", "#9467bd", "" }, { "cv mean", "#2ca02c", "4,2" },
        { ridge ? "control" : "control (bal.)", "#ff7f0e", "6,3" }, { "shuffled", "#7f7f7f", "2,3" },
        { "majority class", "#d62728", "1,3" } };
    int ly = T;
    for (int s = 0; s < 6; s++) {
        int any = 0;
        for (int i = 0; i < n; i++) any |= isfinite(series_value(&r[i], s, ridge));
        if (!any) continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"", series[s].color, series[s].dash);
        for (int i = 0; i < n; i++) {
            double v = series_value(&r[i], s, ridge);
            if (isfinite(v)) fprintf(f, "%.1f,%.1f ", XS(i), YS(v));
        }
        fputs("\"/>\n", f);
        for (int i = 0; i < n && s <= 1; i++) {
            double v = series_value(&r[i], s, ridge);
            if (isfinite(v)) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", XS(i), YS(v), series[s].color);
        }
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\"/>"
                   "<text x=\"%d\" y=\"%d\">%s</text>\n", W - R + 15, W - R + 40, ly, ly, series[s].color, series[s].dash, W - R + 45, ly + 4, series[s].name);
        ly += 18;
    }
    fputs("</svg>\n", f);
#undef XS
#undef YS
    return fclose(f) == 0 ? 0 : -1;
}

/* One line naming the split in use, so a table is never read without it. */
static void print_split(const strata_probe_params *p, const strata_probe_report *q,
                        const char *label)
{
    if (q->grouped) {
        printf("split: by document, %lld document%s (hold-out: %.0f%% of documents, "
               "GroupShuffleSplit", (long long)q->n_groups, cli_plural(q->n_groups),
               100 * p->test_fraction);
        if (p->cv_folds) printf("; CV: GroupKFold, %d folds", p->cv_folds);
        printf(")%s\n", p->group == STRATA_PROBE_GROUP_AUTO
                            ? " -- every document's rows share one label value" : "");
    } else {
        printf("split: stratified by row (hold-out: %.0f%% of each class", 100 * p->test_fraction);
        if (p->cv_folds) printf("; CV: StratifiedKFold, %d folds", p->cv_folds);
        printf(")%s\n", p->group != STRATA_PROBE_GROUP_AUTO ? ""
               : q->n_groups > 0 ? " -- labels vary within documents; --group doc keeps documents whole"
               : " -- the file records no documents");
    }
    (void)label;
}

/* The chance levels the scores should be read against. */
static void print_baseline(const strata_probe_report *q)
{
    printf("baseline: majority class (of the training rows) scores %.4f test accuracy; "
           "balanced accuracy of any constant guess is %.4f\n", q->majority_accuracy,
           q->n_classes > 0 ? 1.0 / q->n_classes : NAN);
}

int cmd_probe(int argc, char **argv)
{
    const char *path = NULL, *label = NULL, *glob = NULL, *csv = NULL, *plot = NULL, *save = NULL;
    int json = 0, quiet = 0;
    strata_probe_params p;
    strata_probe_default_params(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { usage(); return 0; }
#define NEXT() (i + 1 < argc ? argv[++i] : (fprintf(stderr, "strata probe: %s needs a value\n", a), (char *)NULL))
        if (!strcmp(a, "--label")) { if (!(label = NEXT())) return 2; }
        else if (!strcmp(a, "--hooks")) { if (!(glob = NEXT())) return 2; }
        else if (!strcmp(a, "--kind")) {
            const char *k = NEXT();
            if (!k) return 2;
            if (!strcmp(k, "logistic")) p.kind = STRATA_PROBE_LOGISTIC;
            else if (!strcmp(k, "ridge")) p.kind = STRATA_PROBE_RIDGE;
            else if (!strcmp(k, "diffmean")) p.kind = STRATA_PROBE_DIFFMEAN;
            else { fprintf(stderr, "strata probe: --kind must be logistic, ridge or diffmean (got '%s')\n", k); return 2; }
        }
        else if (!strcmp(a, "--C") || !strcmp(a, "--alpha") || !strcmp(a, "--tol") || !strcmp(a, "--test-fraction")) {
            const char *s = NEXT();
            if (!s) return 2;
            double v;
            if (!strcmp(a, "--test-fraction")) {
                if (cli_parse_f64("probe", a, s, 0, 1, &v)) return 2;
            } else if (cli_parse_f64("probe", a, s, 0, DBL_MAX, &v)) return 2;
            if (!strcmp(a, "--C")) p.C = v; else if (!strcmp(a, "--alpha")) p.alpha = v;
            else if (!strcmp(a, "--tol")) p.tol = v; else p.test_fraction = v;
        }
        else if (!strcmp(a, "--cv") || !strcmp(a, "--seed") || !strcmp(a, "--max-iter")) {
            const char *s = NEXT();
            if (!s) return 2;
            if (!strcmp(a, "--cv")) {
                int v;
                if (cli_parse_int("probe", a, s, 0, 127, &v)) return 2;
                if (v == 1) { fprintf(stderr, "strata probe: --cv must be 0 or 2..127 (got 1)\n"); return 2; }
                p.cv_folds = v;
            } else if (!strcmp(a, "--seed")) {
                int64_t v;
                if (cli_parse_i64("probe", a, s, 0, INT64_MAX, &v)) return 2;
                p.seed = (uint64_t)v;
            } else if (cli_parse_int("probe", a, s, 0, STRATA_PROBE_MAX_ITER, &p.max_iter)) return 2;
        }
        else if (!strcmp(a, "--mem-limit")) {
            const char *s = NEXT();
            if (!s) return 2;
            if (cli_parse_size(s, &p.mem_limit) || p.mem_limit < 1024) { fprintf(stderr, "strata probe: --mem-limit: bad size '%s' (e.g. 256M)\n", s); return 2; }
        }
        else if (!strcmp(a, "--group")) {
            const char *g = NEXT();
            if (!g) return 2;
            if (!strcmp(g, "auto")) p.group = STRATA_PROBE_GROUP_AUTO;
            else if (!strcmp(g, "doc")) p.group = STRATA_PROBE_GROUP_DOC;
            else if (!strcmp(g, "row")) p.group = STRATA_PROBE_GROUP_ROW;
            else { fprintf(stderr, "strata probe: --group must be auto, doc or row (got '%s')\n", g); return 2; }
        }
        else if (!strcmp(a, "--control")) p.control = 1;
        else if (!strcmp(a, "--shuffled")) p.shuffled = 1;
        else if (!strcmp(a, "--no-standardize")) p.standardize = 0;
        else if (!strcmp(a, "--no-intercept")) p.fit_intercept = 0;
        else if (!strcmp(a, "--balanced")) p.class_weight = STRATA_PROBE_CW_BALANCED;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--csv")) { if (!(csv = NEXT())) return 2; }
        else if (!strcmp(a, "--plot")) { if (!(plot = NEXT())) return 2; }
        else if (!strcmp(a, "--save")) { if (!(save = NEXT())) return 2; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "strata probe: unknown option '%s' (see --help)\n", a); return 2; }
        else if (!path) path = a;
        else { fprintf(stderr, "strata probe: unexpected argument '%s'\n", a); return 2; }
#undef NEXT
    }
    if (!path || !label) {
        fprintf(stderr, "strata probe: need ACTS.h5 and --label NAME (see --help)\n");
        return 2;
    }
    if (!(p.test_fraction > 0 && p.test_fraction < 1)) { fprintf(stderr, "strata probe: --test-fraction must be in (0,1)\n"); return 2; }
    if (!quiet && !isatty(2)) quiet = 1;
    /* Under mpirun every rank reads its share of the rows and the fits sum
     * over ranks (docs/SCALE.md); only rank 0 prints and writes files. */
    p.distributed = 1;
    const int root = strata_dist_rank() == 0;
    if (!root) quiet = 1;
    st_fit_group grp;
    st_fit_group_init(&grp, 1, 0);
    st_err ge = {{0}};
    strata_acts *a = cli_open_acts("probe", path);
    if (st_fit_check(&grp, a ? 0 : st_seterr(&ge, STRATA_ERR_IO, "cannot open %s", path), &ge)) {
        if (a && root) fprintf(stderr, "strata probe: %s\n", ge.msg);
        strata_acts_close(a);
        return 1;
    }
    if (!root && freopen("/dev/null", "w", stdout) == NULL) { /* keep going: rank 0 prints */ }
    strata_probe_report *r = NULL;
    int n = 0;
    char err[1024] = "";
    int rc = strata_probe_sweep(a, glob, label, &p, progress, &quiet, &r, &n, err, sizeof err);
    if (!quiet) fprintf(stderr, "\r%-80s\r", "");
    if (rc) {
        if (root) fprintf(stderr, "strata probe: %s: %s\n", path, err[0] ? err : strata_errstr(rc));
        strata_acts_close(a);
        return 1;
    }
    int ridge = p.kind == STRATA_PROBE_RIDGE, status = 0;
    if (save) {
        float *y = malloc(sizeof *y * (size_t)(strata_acts_n_rows(a) + 1));
        if (!y || strata_acts_read_label(a, label, 0, strata_acts_n_rows(a), y)) { fprintf(stderr, "strata probe: reading label failed\n"); status = 1; }
        for (int i = 0; i < n && !status; i++) {
            strata_probe_source src;
            strata_probe *pr = NULL;
            if (strata_probe_source_acts(a, r[i].hook, &p, &src, err, sizeof err)) { fprintf(stderr, "strata probe: %s\n", err); status = 1; break; }
            /* the fit is collective; rank 0 alone writes the file */
            int frc = strata_probe_fit_source(&src, y, NULL, &p, &pr);
            if (frc || (root && strata_probe_save(pr, save, r[i].hook))) {
                if (root) fprintf(stderr, "strata probe: --save %s: %s\n", r[i].hook, strata_probe_errmsg(pr));
                status = 1;
            }
            strata_probe_free(pr);
            strata_probe_source_acts_free(&src);
        }
        free(y);
    }
    if (json) {
        printf("{\"file\": "); cli_jstr(stdout, path);
        printf(", \"label\": "); cli_jstr(stdout, label);
        printf(", \"results\": [");
        for (int i = 0; i < n; i++) {
            const strata_probe_report *q = &r[i];
            printf("%s\n  {\"hook\": ", i ? "," : "");
            cli_jstr(stdout, q->hook);
            printf(", \"kind\": \"%s\", \"n_rows\": %lld, \"n_train\": %lld, \"n_test\": %lld, \"dim\": %lld, \"n_classes\": %d, ",
                   kind_str(q->kind), (long long)q->n_rows, (long long)q->n_train, (long long)q->n_test, (long long)q->dim, q->n_classes);
            jnum(stdout, "train_accuracy", q->train_accuracy, 1);
            jnum(stdout, "test_accuracy", q->test_accuracy, 1);
            jnum(stdout, "balanced_accuracy", q->balanced_accuracy, 1);
            jnum(stdout, "majority_accuracy", q->majority_accuracy, 1);
            jnum(stdout, "macro_f1", q->macro_f1, 1);
            jnum(stdout, "auroc", q->auroc, 1);
            jnum(stdout, "log_loss", q->log_loss, 1);
            jnum(stdout, "train_r2", q->train_r2, 1);
            jnum(stdout, "test_r2", q->test_r2, 1);
            if (q->cv_folds) {
                printf("\"cv_folds\": %d, ", q->cv_folds);
                jnum(stdout, ridge ? "cv_r2" : "cv_accuracy", q->cv_score, 1);
                jnum(stdout, "cv_balanced_accuracy", q->cv_balanced_accuracy, 1);
                jnum(stdout, "cv_std", q->cv_std, 1);
            }
            jnum(stdout, ridge ? "control_r2" : "control_accuracy", q->control_score, 1);
            jnum(stdout, "control_balanced_accuracy", q->control_balanced_accuracy, 1);
            jnum(stdout, "selectivity", q->selectivity, 1);
            jnum(stdout, ridge ? "shuffled_r2" : "shuffled_accuracy", q->shuffled_score, 1);
            printf("\"split\": \"%s\", \"n_documents\": %lld, ", q->grouped ? "doc" : "row",
                   (long long)q->n_groups);
            printf("\"n_iter\": %d, \"converged\": %s, \"n_constant_features\": %d, ", q->n_iter,
                   q->converged ? "true" : "false", q->n_constant_features);
            jnum(stdout, "fit_seconds", q->fit_seconds, 0);
            printf("}");
        }
        printf("\n]}\n");
    } else {
        print_split(&p, &r[0], label);
        if (!ridge) print_baseline(&r[0]);
        printf("%-36s %8s %9s %9s", "hook", "n_rows", ridge ? "train_R2" : "train_acc", ridge ? "test_R2" : "test_acc");
        if (!ridge) printf(" %8s %8s", "bal_acc", "majority");
        if (p.cv_folds) printf(" %8s %6s", ridge ? "cv_R2" : "cv_acc", "cv_std");
        if (p.cv_folds && !ridge) printf(" %8s", "cv_bal");
        if (p.control) printf(" %11s %11s", ridge ? "control_R2" : "control_bal", "selectivity");
        if (p.shuffled) printf(" %12s", ridge ? "shuffled_R2" : "shuffled_acc");
        if (!ridge) printf(" %7s", "auroc");
        printf(" %5s\n", "iter");
        for (int i = 0; i < n; i++) {
            const strata_probe_report *q = &r[i];
            printf("%-36s %8lld %9.4f %9.4f", q->hook, (long long)q->n_rows, ridge ? q->train_r2 : q->train_accuracy, ridge ? q->test_r2 : q->test_accuracy);
            if (!ridge) printf(" %8.4f %8.4f", q->balanced_accuracy, q->majority_accuracy);
            if (p.cv_folds) printf(" %8.4f %6.4f", q->cv_score, q->cv_std);
            if (p.cv_folds && !ridge) printf(" %8.4f", q->cv_balanced_accuracy);
            if (p.control) printf(" %11.4f %11.4f", ridge ? q->control_score : q->control_balanced_accuracy, q->selectivity);
            if (p.shuffled) printf(" %12.4f", q->shuffled_score);
            if (!ridge) printf(" %7.4f", q->auroc);
            printf(" %5d%s\n", q->n_iter, q->converged ? "" : "*");
        }
        int nc = 0;
        for (int i = 0; i < n; i++) nc += !r[i].converged;
        if (nc) printf("* L-BFGS stopped before max|grad| <= tol (float32 precision or --max-iter; "
                       "raise --tol or --max-iter)\n");
    }
    if (csv && root) {
        FILE *f = fopen(csv, "w");
        if (!f) { fprintf(stderr, "strata probe: --csv %s: %s\n", csv, strerror(errno)); status = 1; }
        else {
            fprintf(f, "hook,kind,n_rows,n_train,n_test,train_accuracy,test_accuracy,balanced_accuracy,macro_f1,auroc,log_loss,train_r2,test_r2,cv_folds,cv_score,cv_std,control_score,selectivity,shuffled_score,n_iter,converged,majority_accuracy,cv_balanced_accuracy,control_balanced_accuracy,split,n_documents\n");
            for (int i = 0; i < n; i++) {
                const strata_probe_report *q = &r[i];
                fprintf(f, "%s,%s,%lld,%lld,%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%d,%.6g,%.6g,%.6g,%s,%lld\n",
                        q->hook, kind_str(q->kind), (long long)q->n_rows, (long long)q->n_train, (long long)q->n_test,
                        q->train_accuracy, q->test_accuracy, q->balanced_accuracy, q->macro_f1, q->auroc, q->log_loss,
                        q->train_r2, q->test_r2, q->cv_folds, q->cv_score, q->cv_std, q->control_score, q->selectivity,
                        q->shuffled_score, q->n_iter, q->converged, q->majority_accuracy,
                        q->cv_balanced_accuracy, q->control_balanced_accuracy,
                        q->grouped ? "doc" : "row", (long long)q->n_groups);
            }
            if (fclose(f)) status = 1;
        }
    }
    if (plot && root && write_svg(plot, r, n, label, ridge)) { fprintf(stderr, "strata probe: --plot %s: %s\n", plot, strerror(errno)); status = 1; }
    strata_probe_sweep_free(r);
    strata_acts_close(a);
    return status;
}
