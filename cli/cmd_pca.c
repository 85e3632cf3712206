/* cli/cmd_pca.c — `strata pca ACTS.h5 [--hooks GLOB] -k K ...`: PCA of every
 * chosen hook of a capture file, streamed; explained variance ratios and the
 * participation ratio per hook as a table, JSON, or an SVG chart; optional
 * write-back of components and projections into the file (/pca/<hook>).
 * Math: docs/GEOMETRY.md; options: docs/cli/pca.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dist/fit_group.h"
#include "strata/dist.h"
#include "strata/capture.h"
#include "strata/pca.h"

static void usage(void)
{
    printf(
        "usage: strata pca ACTS.h5 [--hooks GLOB] [-k K] [--solver auto|cov|rsvd] [--seed N]\n"
        "                  [--iters N] [--oversample N] [--no-center] [--whiten]\n"
        "                  [--block-rows N] [--write-projections] [--json] [--plot F.svg]\n"
        "                  [--quiet]\n\n"
        "PCA of each hook of a capture file, streamed in row blocks (float64 covariance,\n"
        "LAPACKE dsyevr), one row per hook: explained variance ratio of the top K\n"
        "components and the participation ratio (sum lambda)^2 / sum lambda^2, the\n"
        "effective dimensionality.\n\n"
        "  --hooks GLOB         hooks to analyse: fnmatch patterns, comma-separated\n"
        "                       (e.g. 'blocks.*.hook_resid_post'); default: every hook\n"
        "                       stored as [R, d]\n"
        "  -k, --k K            components (default 10; reduced to min(d, rows-1) per hook,\n"
        "                       with a note on stderr)\n"
        "  --solver S           cov (exact), rsvd (randomized, for wide hooks; PR is a\n"
        "                       Hutch++ estimate), auto (default: cov when d <= 4096)\n"
        "  --seed N             rsvd seed (default 0)\n"
        "  --iters N            rsvd power iterations (default 4)\n"
        "  --oversample N       rsvd extra columns (default 10)\n"
        "  --no-center          PCA of the raw second moment X^T X / n\n"
        "  --whiten             projections scaled to unit variance\n"
        "  --block-rows N       rows per streamed block (default 4096)\n"
        "  --write-projections  write /pca/<hook>/{mean,components,explained_variance,\n"
        "                       explained_variance_ratio,projections} into ACTS.h5\n"
        "                       (replacing an earlier /pca/<hook>)\n"
        "  --json               print {\"results\": [{\"hook\", \"n_rows\", \"dim\", \"k\",\n"
        "                       \"explained_variance_ratio\": [...], \"participation_ratio\", ...}]}\n"
        "  --plot F.svg         participation ratio and explained variance by hook\n"
        "  --quiet              no progress on stderr\n");
}

typedef struct pca_row {
    const char *hook;
    strata_pca *fit;
} pca_row;

/* Two panels sharing the hook axis: participation ratio (top), explained
 * variance ratio of PC1, PCs 1-3 and PCs 1-k, cumulative (bottom). */
static int write_svg(const char *path, const char *file, const pca_row *r, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const int W = 820, L = 70, R = 190, T = 40, PH = 200, GAP = 50, B = 170;
    const int H = T + PH + GAP + PH + B;
    const double pw = W - L - R;
    double prmax = 1;
    for (int i = 0; i < n; i++) {
        double v = strata_pca_participation_ratio(r[i].fit);
        if (v > prmax) prmax = v;
    }
    /* a round upper bound for the PR axis */
    double step = pow(10, floor(log10(prmax)));
    double prhi = ceil(prmax / step) * step;
#define XS(i) (L + (n > 1 ? pw * (i) / (n - 1) : pw / 2))
#define Y1(v) (T + PH * (1 - (v) / prhi))
#define Y2(v) (T + PH + GAP + PH * (1 - (v)))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"14\">PCA by hook: ", L);
    cli_svg_escape(f, file);
    fputs("</text>\n", f);
    for (int t = 0; t <= 4; t++) {
        double v = prhi * t / 4, u = t / 4.0;
        fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                L, L + pw, Y1(v), Y1(v), L - 6, Y1(v) + 4, v);
        fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                L, L + pw, Y2(u), Y2(u), L - 6, Y2(u) + 4, u);
    }
    fprintf(f, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">"
               "participation ratio</text>\n", T + PH / 2);
    fprintf(f, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">"
               "explained variance (cumulative)</text>\n", T + PH + GAP + PH / 2);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<text transform=\"translate(%.1f,%d) rotate(-60)\" text-anchor=\"end\">",
                XS(i), T + PH + GAP + PH + 12);
        cli_svg_escape(f, r[i].hook);
        fputs("</text>\n", f);
    }
    /* PR line */
    fputs("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%.1f,%.1f ", XS(i), Y1(strata_pca_participation_ratio(r[i].fit)));
    fputs("\"/>\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f77b4\"><title>%.4g</title></circle>",
                XS(i), Y1(strata_pca_participation_ratio(r[i].fit)),
                strata_pca_participation_ratio(r[i].fit));
    fputs("\n", f);
    /* cumulative EVR lines */
    struct { const char *name, *color; int upto; } series[3] = {
        { "PC1", "#d62728", 1 }, { "PC1-3", "#ff7f0e", 3 }, { "PC1-k", "#2ca02c", 1 << 30 } };
    int ly = T + PH + GAP;
    for (int s = 0; s < 3; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", series[s].color);
        for (int i = 0; i < n; i++) {
            const double *e = strata_pca_explained_variance_ratio(r[i].fit);
            int k = strata_pca_k(r[i].fit);
            double c = 0;
            for (int j = 0; j < k && j < series[s].upto; j++) c += e[j];
            fprintf(f, "%.1f,%.1f ", XS(i), Y2(c));
        }
        fputs("\"/>\n", f);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
                   "<text x=\"%d\" y=\"%d\">%s</text>\n",
                W - R + 15, W - R + 40, ly, ly, series[s].color, W - R + 45, ly + 4, series[s].name);
        ly += 18;
    }
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
               "<text x=\"%d\" y=\"%d\">participation ratio</text>\n",
            W - R + 15, W - R + 40, T, T, W - R + 45, T + 4);
    fputs("</svg>\n", f);
#undef XS
#undef Y1
#undef Y2
    return fclose(f) == 0 ? 0 : -1;
}

int cmd_pca(int argc, char **argv)
{
    const char *path = NULL, *glob = NULL, *plot = NULL;
    int json = 0, quiet = 0, write_proj = 0;
    int64_t k = 10;
    strata_pca_params p;
    strata_pca_default_params(&p);
#define NEXT() (i + 1 < argc ? argv[++i] : (fprintf(stderr, "strata pca: %s needs a value\n", a), (char *)NULL))
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int64_t x;
        if (cli_is_help(a)) { usage(); return 0; }
        else if (!strcmp(a, "--hooks")) { if (!(glob = NEXT())) return 2; }
        else if (!strcmp(a, "-k") || !strcmp(a, "--k")) {
            if (!(v = NEXT())) return 2;
            if (cli_parse_i64("pca", a, v, 1, STRATA_PCA_MAX_K, &k)) return 2;
        }
        else if (!strcmp(a, "--solver")) {
            if (!(v = NEXT())) return 2;
            if (!strcmp(v, "auto")) p.solver = STRATA_PCA_AUTO;
            else if (!strcmp(v, "cov")) p.solver = STRATA_PCA_COV;
            else if (!strcmp(v, "rsvd")) p.solver = STRATA_PCA_RSVD;
            else { fprintf(stderr, "strata pca: --solver must be auto, cov or rsvd\n"); return 2; }
        }
        else if (!strcmp(a, "--seed") || !strcmp(a, "--iters") || !strcmp(a, "--oversample") ||
                 !strcmp(a, "--block-rows")) {
            if (!(v = NEXT())) return 2;
            int64_t lo = 0, hi = INT64_MAX;
            if (!strcmp(a, "--iters")) hi = STRATA_PCA_MAX_ITERS;
            else if (!strcmp(a, "--oversample")) hi = STRATA_PCA_MAX_OVERSAMPLE;
            else if (!strcmp(a, "--block-rows")) { lo = 1; hi = CLI_MAX_BLOCK_ROWS; }
            if (cli_parse_i64("pca", a, v, lo, hi, &x)) return 2;
            if (!strcmp(a, "--seed")) p.seed = (uint64_t)x;
            else if (!strcmp(a, "--iters")) p.rsvd_iters = (int32_t)x;
            else if (!strcmp(a, "--oversample")) p.rsvd_oversample = (int32_t)x;
            else p.block_rows = x;
        }
        else if (!strcmp(a, "--no-center")) p.center = 0;
        else if (!strcmp(a, "--whiten")) p.whiten = 1;
        else if (!strcmp(a, "--write-projections")) write_proj = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--plot")) { if (!(plot = NEXT())) return 2; }
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "strata pca: unknown option %s\n", a); return 2; }
        else if (!path) path = a;
        else { fprintf(stderr, "strata pca: unexpected argument %s\n", a); return 2; }
    }
#undef NEXT
    if (!path) { fprintf(stderr, "strata pca: no activation file given (strata pca --help)\n"); return 2; }
    if (!isatty(2)) quiet = 1;
    /* Under mpirun every rank reads its share of the rows and the scatter is
     * summed over ranks (docs/SCALE.md); rank 0 alone prints and writes. */
    p.distributed = 1;
    const int root = strata_dist_rank() == 0;
    if (!root) quiet = 1;
    st_fit_group grp;
    st_fit_group_init(&grp, 1, 0);
    st_err ge = {{0}};

    strata_acts *acts = cli_open_acts("pca", path);
    if (st_fit_check(&grp, acts ? 0 : st_seterr(&ge, STRATA_ERR_IO, "cannot open %s", path), &ge)) {
        if (acts && root) fprintf(stderr, "strata pca: %s\n", ge.msg);
        strata_acts_close(acts);
        return 1;
    }
    if (!root && freopen("/dev/null", "w", stdout) == NULL) { /* rank 0 prints */ }
    const int nh = strata_acts_n_hooks(acts);
    const int64_t R = strata_acts_n_rows(acts);
    pca_row *rows = calloc((size_t)(nh > 0 ? nh : 1), sizeof *rows);
    int n = 0;
    char **names = cli_select_hooks("pca", acts, path, glob, &n);
    int status = n == 0;
    for (int i = 0; i < n && !status; i++) {
        const char *h = names[i];
        int64_t d = strata_acts_row_width(acts, h);
        int64_t kmax = p.center ? R - 1 : R;
        if (d < kmax) kmax = d;
        p.k = (int32_t)(k < kmax ? k : kmax);
        if (p.k < k && root)
            fprintf(stderr, "strata pca: note: %s: k reduced to %d (%lld features, %lld rows)\n", h,
                    (int)p.k, (long long)d, (long long)R);
        if (p.k < 1) p.k = 1; /* let the library explain */
        if (!quiet) fprintf(stderr, "\rstrata pca: [%d/%d] %-56s", i + 1, n, h);
        rows[i].hook = h;
        if (strata_pca_fit_acts(acts, h, &p, &rows[i].fit) != STRATA_OK) {
            if (!quiet) fprintf(stderr, "\r%-80s\r", "");
            if (root) fprintf(stderr, "strata pca: %s: %s\n", path, strata_pca_errmsg(rows[i].fit));
            status = 1;
        }
    }
    if (!quiet) fprintf(stderr, "\r%-80s\r", "");
    strata_acts_close(acts); /* the write-back opens the file read-write */
    /* every rank has closed the file before rank 0 opens it read-write
     * (the agreement is the barrier); the projections are then written by
     * rank 0 alone, in one pass over the file */
    if (write_proj && st_fit_check(&grp, 0, &ge)) status = 1;
    for (int i = 0; i < n && !status && write_proj && root; i++) {
        if (!quiet) fprintf(stderr, "\rstrata pca: writing [%d/%d] %-48s", i + 1, n, rows[i].hook);
        if (strata_pca_write(rows[i].fit, path, rows[i].hook, 1, 1) != STRATA_OK) {
            fprintf(stderr, "strata pca: --write-projections: %s\n", strata_pca_errmsg(rows[i].fit));
            status = 1;
        }
    }
    if (!quiet && write_proj) fprintf(stderr, "\r%-80s\r", "");

    if (!status && json) {
        printf("{\"file\": ");
        cli_jstr(stdout, path);
        printf(", \"results\": [");
        for (int i = 0; i < n; i++) {
            const strata_pca *P = rows[i].fit;
            const int kk = strata_pca_k(P);
            printf("%s\n  {\"hook\": ", i ? "," : "");
            cli_jstr(stdout, rows[i].hook);
            printf(", \"n_rows\": %lld, \"dim\": %lld, \"k\": %d, \"solver\": \"%s\", ",
                   (long long)strata_pca_n_rows(P), (long long)strata_pca_dim(P), kk,
                   strata_pca_solver_used(P) == STRATA_PCA_RSVD ? "rsvd" : "cov");
            printf("\"explained_variance_ratio\": [");
            for (int j = 0; j < kk; j++)
                printf("%s%.17g", j ? ", " : "", strata_pca_explained_variance_ratio(P)[j]);
            printf("], \"explained_variance\": [");
            for (int j = 0; j < kk; j++)
                printf("%s%.17g", j ? ", " : "", strata_pca_explained_variance(P)[j]);
            printf("], \"participation_ratio\": %.17g, \"total_variance\": %.17g}",
                   strata_pca_participation_ratio(P), strata_pca_total_variance(P));
        }
        printf("\n]}\n");
    } else if (!status) {
        printf("%-36s %8s %6s %4s %9s %7s %7s %7s\n", "hook", "n_rows", "dim", "k", "PR", "PC1",
               "PC1-3", "PC1-k");
        for (int i = 0; i < n; i++) {
            const strata_pca *P = rows[i].fit;
            const double *e = strata_pca_explained_variance_ratio(P);
            const int kk = strata_pca_k(P);
            double c3 = 0, ck = 0;
            for (int j = 0; j < kk; j++) { ck += e[j]; if (j < 3) c3 += e[j]; }
            printf("%-36s %8lld %6lld %4d %9.3f %7.4f %7.4f %7.4f%s\n", rows[i].hook,
                   (long long)strata_pca_n_rows(P), (long long)strata_pca_dim(P), kk,
                   strata_pca_participation_ratio(P), e[0], c3, ck,
                   strata_pca_solver_used(P) == STRATA_PCA_RSVD ? " ~" : "");
        }
        printf("PR = participation ratio (sum lambda)^2 / sum lambda^2; PCx = cumulative "
               "explained variance ratio; ~ = randomized solver (PR estimated)\n");
        if (write_proj) printf("components and projections written to %s:/pca/<hook>\n", path);
    }
    if (!status && plot && root && write_svg(plot, path, rows, n)) {
        fprintf(stderr, "strata pca: --plot %s: %s\n", plot, strerror(errno));
        status = 1;
    }
    for (int i = 0; i < nh; i++) { strata_pca_free(rows[i].fit); free(names[i]); }
    free(rows);
    free(names);
    return status;
}
