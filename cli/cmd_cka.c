/* cli/cmd_cka.c — `strata cka ACTS.h5 [--hooks GLOB]`: linear CKA between
 * every pair of chosen hooks of a capture file, streamed (memory independent
 * of the number of rows); a matrix as a table, JSON, or an SVG heat map.
 * Math: docs/GEOMETRY.md; options: docs/cli/cka.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "strata/capture.h"
#include "strata/cka.h"

static void usage(void)
{
    printf(
        "usage: strata cka ACTS.h5 [--hooks GLOB] [--mem-limit SIZE] [--block-rows N]\n"
        "                  [--json] [--plot F.svg] [--quiet]\n\n"
        "Linear CKA (Kornblith et al. 2019) between every pair of hooks of a capture\n"
        "file: ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), 1 = same geometry up to\n"
        "rotation and scale.  Streamed in row blocks with float64 feature-space\n"
        "cross-covariances.\n\n"
        "  --hooks GLOB      hooks to compare: fnmatch patterns, comma-separated\n"
        "                    (e.g. 'blocks.*.hook_resid_post'); default: every hook\n"
        "                    stored as [R, d]\n"
        "  --mem-limit SIZE  budget for the float64 covariances (default 1G; e.g. 256M):\n"
        "                    above it hooks are grouped and the file is read once per\n"
        "                    pair of groups\n"
        "  --block-rows N    rows per streamed block (default 4096)\n"
        "  --json            print {\"hooks\": [...], \"cka\": [[...], ...], \"n_rows\": R}\n"
        "  --plot F.svg      heat map of the matrix\n"
        "  --quiet           no progress on stderr\n");
}

/* Viridis, piecewise linear through 5 stops, v in [0, 1]. */
static void viridis(double v, int rgb[3])
{
    static const int stops[5][3] = { { 68, 1, 84 }, { 59, 82, 139 }, { 33, 145, 140 },
                                     { 94, 201, 98 }, { 253, 231, 37 } };
    if (!(v >= 0)) v = 0;
    if (v > 1) v = 1;
    double x = v * 4;
    int i = (int)x;
    if (i > 3) i = 3;
    double t = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(stops[i][c] + t * (stops[i + 1][c] - stops[i][c]));
}

static int write_svg(const char *path, const char *file, char **hooks, int m, const double *K)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int cell = m <= 12 ? 44 : m <= 30 ? 24 : 12;
    const int L = 240, T = 50, Rg = 110, B = 230;
    const int W = L + cell * m + Rg, H = T + cell * m + B;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", W < 520 ? 520 : W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"14\">linear CKA: ");
    cli_svg_escape(f, file);
    fputs("</text>\n", f);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
            int c[3];
            double v = K[i * m + j];
            viridis(v, c);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"><title>",
                    L + j * cell, T + i * cell, cell, cell, c[0], c[1], c[2]);
            cli_svg_escape(f, hooks[i]);
            fputs(" / ", f);
            cli_svg_escape(f, hooks[j]);
            fprintf(f, ": %.4f</title></rect>", v);
            if (cell >= 44)
                fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"%s\">%.2f</text>",
                        L + j * cell + cell / 2, T + i * cell + cell / 2 + 4, v > 0.6 ? "black" : "white", v);
        }
        fputs("\n", f);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", L - 6, T + i * cell + cell / 2 + 4);
        cli_svg_escape(f, hooks[i]);
        fputs("</text>\n", f);
        fprintf(f, "<text transform=\"translate(%d,%d) rotate(-60)\" text-anchor=\"end\">",
                L + i * cell + cell / 2 + 4, T + m * cell + 8);
        cli_svg_escape(f, hooks[i]);
        fputs("</text>\n", f);
    }
    /* colour bar 0..1 */
    const int bx = L + m * cell + 30, bh = cell * m < 200 ? 200 : cell * m;
    for (int s = 0; s < 50; s++) {
        int c[3];
        viridis(1.0 - s / 49.0, c);
        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"18\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"/>",
                bx, T + bh * s / 50.0, bh / 50.0 + 0.5, c[0], c[1], c[2]);
    }
    for (int t = 0; t <= 4; t++)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\">%.2f</text>", bx + 24, T + bh * (1 - t / 4.0) + 4, t / 4.0);
    fputs("\n</svg>\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

int cmd_cka(int argc, char **argv)
{
    const char *path = NULL, *glob = NULL, *plot = NULL;
    int json = 0, quiet = 0;
    strata_cka_params p;
    strata_cka_default_params(&p);
#define NEXT() (i + 1 < argc ? argv[++i] : (fprintf(stderr, "strata cka: %s needs a value\n", a), (char *)NULL))
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) { usage(); return 0; }
        else if (!strcmp(a, "--hooks")) { if (!(glob = NEXT())) return 2; }
        else if (!strcmp(a, "--mem-limit")) {
            if (!(v = NEXT())) return 2;
            if (cli_parse_size(v, &p.max_bytes)) { fprintf(stderr, "strata cka: bad --mem-limit '%s'\n", v); return 2; }
        }
        else if (!strcmp(a, "--block-rows")) {
            if (!(v = NEXT())) return 2;
            if (cli_parse_i64("cka", a, v, 1, CLI_MAX_BLOCK_ROWS, &p.block_rows)) return 2;
        }
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--plot")) { if (!(plot = NEXT())) return 2; }
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "strata cka: unknown option %s\n", a); return 2; }
        else if (!path) path = a;
        else { fprintf(stderr, "strata cka: unexpected argument %s\n", a); return 2; }
    }
#undef NEXT
    if (!path) { fprintf(stderr, "strata cka: no activation file given (strata cka --help)\n"); return 2; }
    if (!isatty(2)) quiet = 1;

    strata_acts *acts = cli_open_acts("cka", path);
    if (!acts) return 1;
    int m = 0;
    char **hooks = cli_select_hooks("cka", acts, path, glob, &m);
    int status = m == 0;
    strata_cka *C = NULL;
    if (!status) {
        if (!quiet) fprintf(stderr, "strata cka: %d hooks, %lld rows ...", m, (long long)strata_acts_n_rows(acts));
        strata_status rc = strata_cka_fit_acts(acts, m, (const char *const *)hooks, &p, &C);
        if (!quiet) fprintf(stderr, "\r%-60s\r", "");
        if (rc != STRATA_OK) {
            fprintf(stderr, "strata cka: %s: %s\n", path, strata_cka_errmsg(C));
            status = 1;
        }
    }
    strata_acts_close(acts);
    if (!status) {
        const double *K = strata_cka_matrix(C);
        if (json) {
            printf("{\"file\": ");
            cli_jstr(stdout, path);
            printf(", \"n_rows\": %lld, \"hooks\": [", (long long)strata_cka_n_rows(C));
            for (int i = 0; i < m; i++) { if (i) printf(", "); cli_jstr(stdout, hooks[i]); }
            printf("],\n \"cka\": [");
            for (int i = 0; i < m; i++) {
                printf("%s\n  [", i ? "," : "");
                for (int j = 0; j < m; j++) printf("%s%.17g", j ? ", " : "", K[i * m + j]);
                printf("]");
            }
            printf("\n]}\n");
        } else {
            for (int i = 0; i < m; i++) printf("[%2d] %s\n", i, hooks[i]);
            printf("\nlinear CKA, %lld rows\n     ", (long long)strata_cka_n_rows(C));
            for (int j = 0; j < m; j++) printf(" [%2d] ", j);
            printf("\n");
            for (int i = 0; i < m; i++) {
                printf("[%2d] ", i);
                for (int j = 0; j < m; j++) printf(" %5.3f", K[i * m + j]);
                printf("\n");
            }
        }
        if (plot && write_svg(plot, path, hooks, m, K)) {
            fprintf(stderr, "strata cka: --plot %s: %s\n", plot, strerror(errno));
            status = 1;
        }
    }
    strata_cka_free(C);
    for (int i = 0; i < m; i++) free(hooks[i]);
    free(hooks);
    return status;
}
