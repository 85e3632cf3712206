/* cli/cmd_cka.c — `strata cka ACTS.h5 [--hooks GLOB]`: linear CKA between
 * every pair of chosen hooks of a capture file (or across two captures of the
 * same tokens, `strata cka A.h5 B.h5`), streamed (memory independent
 * of the number of rows); a matrix as a table, JSON, or an SVG heat map.
 * Math: docs/GEOMETRY.md; options: docs/cli/cka.md. */
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
#include "strata/cka.h"

static void usage(void)
{
    printf(
        "usage: strata cka ACTS.h5 [B.h5] [--hooks GLOB] [--mem-limit SIZE] [--block-rows N]\n"
        "                  [--json] [--plot F.svg] [--quiet]\n\n"
        "With two files (captures of the same tokens: two checkpoints, two model sizes),\n"
        "compares every chosen hook of the first with every chosen hook of the second,\n"
        "after checking that both hold the same token at every row; the same hook in\n"
        "both is listed first.\n\n"
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

/* Heat map of K (rows mr x cols mc, row stride ld): rows named by rn, columns by cn. */
static int write_svg(const char *path, const char *title, char **rn, int mr, char **cn, int mc,
                     const double *K, int ld)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int mx = mr > mc ? mr : mc;
    int cell = mx <= 12 ? 44 : mx <= 30 ? 24 : 12;
    const int L = 240, T = 50, Rg = 110, B = 230;
    const int W = L + cell * mc + Rg, H = T + cell * mr + B;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", W < 520 ? 520 : W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"14\">linear CKA: ");
    cli_svg_escape(f, title);
    fputs("</text>\n", f);
    for (int i = 0; i < mr; i++) {
        for (int j = 0; j < mc; j++) {
            int c[3];
            double v = K[i * ld + j];
            viridis(v, c);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"><title>",
                    L + j * cell, T + i * cell, cell, cell, c[0], c[1], c[2]);
            cli_svg_escape(f, rn[i]);
            fputs(" / ", f);
            cli_svg_escape(f, cn[j]);
            fprintf(f, ": %.4f</title></rect>", v);
            if (cell >= 44)
                fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"%s\">%.2f</text>",
                        L + j * cell + cell / 2, T + i * cell + cell / 2 + 4, v > 0.6 ? "black" : "white", v);
        }
        fputs("\n", f);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", L - 6, T + i * cell + cell / 2 + 4);
        cli_svg_escape(f, rn[i]);
        fputs("</text>\n", f);
    }
    for (int j = 0; j < mc; j++) {
        fprintf(f, "<text transform=\"translate(%d,%d) rotate(-60)\" text-anchor=\"end\">",
                L + j * cell + cell / 2 + 4, T + mr * cell + 8);
        cli_svg_escape(f, cn[j]);
        fputs("</text>\n", f);
    }
    /* colour bar 0..1 */
    const int bx = L + mc * cell + 30, bh = cell * mr < 200 ? 200 : cell * mr;
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

/* Under mpirun: every rank reads its share of the rows, the Gram statistics
 * are summed over ranks (docs/SCALE.md); rank 0 alone prints and writes. */
static int g_root = 1;

/* Every rank opened its file(s) (or every rank gives up: no rank may wait
 * in a collective for one that failed to open). */
static int opened_everywhere(int ok)
{
    st_fit_group grp;
    st_fit_group_init(&grp, 1, 0);
    st_err ge = {{0}};
    if (!st_fit_check(&grp, ok ? 0 : st_seterr(&ge, STRATA_ERR_IO, "cannot open the input"), &ge))
        return 1;
    if (ok && g_root) fprintf(stderr, "strata cka: %s\n", ge.msg);
    return 0;
}

/* `strata cka A.h5 B.h5`: every chosen hook of A against every chosen hook of B. */
static int cka_pair(const char *pa, const char *pb, const char *glob, const char *plot, int json,
                    int quiet, const strata_cka_params *p)
{
    strata_acts *A = cli_open_acts("cka", pa);
    strata_acts *B = A ? cli_open_acts("cka", pb) : NULL;
    if (!opened_everywhere(A && B)) { strata_acts_close(A); strata_acts_close(B); return 1; }
    int ma = 0, mb = 0, status = 0;
    char **ha = cli_select_hooks("cka", A, pa, glob, &ma);
    char **hb = ma ? cli_select_hooks("cka", B, pb, glob, &mb) : NULL;
    strata_cka *C = NULL;
    if (!ma || !mb) status = 1;
    else {
        if (!quiet) fprintf(stderr, "strata cka: %d x %d hooks, %lld rows ...", ma, mb,
                            (long long)strata_acts_n_rows(A));
        strata_status rc = strata_cka_fit_acts_pair(A, ma, (const char *const *)ha, B, mb,
                                                    (const char *const *)hb, p, &C);
        if (!quiet) fprintf(stderr, "\r%-60s\r", "");
        if (rc != STRATA_OK) {
            if (g_root) fprintf(stderr, "strata cka: %s vs %s: %s\n", pa, pb, strata_cka_errmsg(C));
            status = 1;
        }
    }
    strata_acts_close(A);
    strata_acts_close(B);
    if (!status) {
        const double *K = strata_cka_matrix(C);
        int ld = ma + mb;
        const double *X = K + ma;   /* row i (A), column ma + j (B) */
        if (json) {
            printf("{\"files\": [");
            cli_jstr(stdout, pa); printf(", "); cli_jstr(stdout, pb);
            printf("], \"n_rows\": %lld, \"hooks_a\": [", (long long)strata_cka_n_rows(C));
            for (int i = 0; i < ma; i++) { if (i) printf(", "); cli_jstr(stdout, ha[i]); }
            printf("], \"hooks_b\": [");
            for (int j = 0; j < mb; j++) { if (j) printf(", "); cli_jstr(stdout, hb[j]); }
            printf("],\n \"cka\": [");
            for (int i = 0; i < ma; i++) {
                printf("%s\n  [", i ? "," : "");
                for (int j = 0; j < mb; j++) printf("%s%.17g", j ? ", " : "", X[i * ld + j]);
                printf("]");
            }
            printf("\n],\n \"same_hook\": {");
            int first = 1;
            for (int i = 0; i < ma; i++)
                for (int j = 0; j < mb; j++)
                    if (!strcmp(ha[i], hb[j])) {
                        printf("%s", first ? "" : ", ");
                        cli_jstr(stdout, ha[i]);
                        printf(": %.17g", X[i * ld + j]);
                        first = 0;
                    }
            printf("}}\n");
        } else {
            printf("A = %s\nB = %s\nlinear CKA between the same %lld rows (tokens checked equal)\n\n",
                   pa, pb, (long long)strata_cka_n_rows(C));
            int same = 0;
            for (int i = 0; i < ma; i++)
                for (int j = 0; j < mb; j++)
                    if (!strcmp(ha[i], hb[j])) {
                        if (!same++) printf("same hook in A and B:\n");
                        printf("  %-40s %.4f\n", ha[i], X[i * ld + j]);
                    }
            if (same) printf("\n");
            for (int j = 0; j < mb; j++) printf("B[%2d] %s\n", j, hb[j]);
            printf("\n%-36s", "A \\ B");
            for (int j = 0; j < mb; j++) printf(" [%2d] ", j);
            printf("\n");
            for (int i = 0; i < ma; i++) {
                printf("%-36s", ha[i]);
                for (int j = 0; j < mb; j++) printf(" %5.3f", X[i * ld + j]);
                printf("\n");
            }
        }
        if (plot && g_root) {
            char title[1024];
            snprintf(title, sizeof title, "%s (rows) vs %s (columns)", pa, pb);
            if (write_svg(plot, title, ha, ma, hb, mb, X, ld)) {
                fprintf(stderr, "strata cka: --plot %s: %s\n", plot, strerror(errno));
                status = 1;
            }
        }
    }
    strata_cka_free(C);
    for (int i = 0; i < ma; i++) free(ha[i]);
    for (int j = 0; j < mb; j++) free(hb[j]);
    free(ha);
    free(hb);
    return status;
}

int cmd_cka(int argc, char **argv)
{
    const char *path = NULL, *path2 = NULL, *glob = NULL, *plot = NULL;
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
        else if (!path2) path2 = a;
        else { fprintf(stderr, "strata cka: unexpected argument %s (one or two files)\n", a); return 2; }
    }
#undef NEXT
    if (!path) { fprintf(stderr, "strata cka: no activation file given (strata cka --help)\n"); return 2; }
    if (!isatty(2)) quiet = 1;
    p.distributed = 1;
    g_root = strata_dist_rank() == 0;
    if (!g_root) {
        quiet = 1;
        if (freopen("/dev/null", "w", stdout) == NULL) { /* rank 0 prints */ }
    }
    if (path2) return cka_pair(path, path2, glob, plot, json, quiet, &p);

    strata_acts *acts = cli_open_acts("cka", path);
    if (!opened_everywhere(acts != NULL)) { strata_acts_close(acts); return 1; }
    int m = 0;
    char **hooks = cli_select_hooks("cka", acts, path, glob, &m);
    int status = m == 0;
    strata_cka *C = NULL;
    if (!status) {
        if (!quiet) fprintf(stderr, "strata cka: %d hooks, %lld rows ...", m, (long long)strata_acts_n_rows(acts));
        strata_status rc = strata_cka_fit_acts(acts, m, (const char *const *)hooks, &p, &C);
        if (!quiet) fprintf(stderr, "\r%-60s\r", "");
        if (rc != STRATA_OK) {
            if (g_root) fprintf(stderr, "strata cka: %s: %s\n", path, strata_cka_errmsg(C));
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
        if (plot && g_root && write_svg(plot, path, hooks, m, hooks, m, K, m)) {
            fprintf(stderr, "strata cka: --plot %s: %s\n", plot, strerror(errno));
            status = 1;
        }
    }
    strata_cka_free(C);
    for (int i = 0; i < m; i++) free(hooks[i]);
    free(hooks);
    return status;
}
