/* cli/sweep_plot.c — the SVG of `strata sweep --plot F.svg`.
 *
 * One panel per headline measure (x = the sweep's axis, log10 when log_x;
 * one line per family; each family's transition marked: a shaded band from
 * x10 to x90 and a dashed line at the steepest interval's midpoint, labelled
 * with the sharpness), then one heatmap per per-layer measure (probe
 * accuracy, selectivity, participation ratio) and family: layer (rows) x
 * checkpoint (columns, sorted by x), colour scaled to the value range.
 * The file is written to F.tmp and renamed, so a failed plot leaves no
 * partial F. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/transition.h"
#include "sweep.h"

static const char *COLORS[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf" };
#define PW 440
#define PH 270
#define ML 60
#define MR 15
#define MT 30
#define MB 40

static double fx(double v, int logx) { return logx ? log10(v) : v; }

static void panel(FILE *f, const sw_sweep *s, int k, const char **fam, int nf, double ox, double oy,
                  double *xs, double *ys)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int g = 0; g < nf; g++) {
        int m = sw_family_curve(s, fam[g], k, NULL, xs, ys);
        for (int j = 0; j < m; j++) {
            double u = fx(xs[j], s->log_x);
            if (u < x0) x0 = u;
            if (u > x1) x1 = u;
            if (ys[j] < y0) y0 = ys[j];
            if (ys[j] > y1) y1 = ys[j];
        }
    }
    fprintf(f, "<g transform=\"translate(%g,%g)\">\n", ox, oy);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\" stroke=\"#ccc\"/>\n", PW, PH);
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">", ML);
    cli_svg_escape(f, s->names.name[k]);
    fprintf(f, "</text>\n");
    if (!(x1 >= x0) || !(y1 >= y0)) { fprintf(f, "<text x=\"%d\" y=\"%d\">no data</text></g>\n", ML, PH / 2); return; }
    if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
    if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
    double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    const double W = PW - ML - MR, H = PH - MT - MB;
#define SX(u) (ML + ((u) - x0) / (x1 - x0) * W)
#define SY(v) (MT + (1 - ((v) - y0) / (y1 - y0)) * H)
    fprintf(f, "<line x1=\"%d\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", ML, MT + H, ML + W, MT + H);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%g\" stroke=\"black\"/>\n", ML, MT, ML, MT + H);
    for (int t = 0; t <= 4; t++) {
        double v = y0 + (y1 - y0) * t / 4;
        fprintf(f, "<text x=\"%d\" y=\"%g\" font-size=\"10\" text-anchor=\"end\">%.3g</text>\n", ML - 4, SY(v) + 3, v);
    }
    if (s->log_x) {
        for (int d = (int)ceil(x0); d <= (int)floor(x1); d++)
            fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"10\" text-anchor=\"middle\">1e%d</text>\n", SX((double)d), MT + H + 14, d);
    } else {
        for (int t = 0; t <= 4; t++) {
            double u = x0 + (x1 - x0) * t / 4;
            fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"10\" text-anchor=\"middle\">%.4g</text>\n", SX(u), MT + H + 14, u);
        }
    }
    fprintf(f, "<text x=\"%g\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s%s</text>\n", ML + W / 2, PH - 6,
            s->x_axis, s->log_x ? " (log)" : "");
    for (int g = 0; g < nf; g++) {
        const char *col = COLORS[g % 8];
        int m = sw_family_curve(s, fam[g], k, NULL, xs, ys);
        strata_transition t;
        if (m >= 2 && sw_transition(s, fam[g], k, &t) == 0 && t.steep_index >= 0) {
            double a = SX(fx(t.x10, s->log_x)), b = SX(fx(t.x90, s->log_x));
            if (b < a) { double c = a; a = b; b = c; }
            fprintf(f, "<rect x=\"%g\" y=\"%d\" width=\"%g\" height=\"%g\" fill=\"%s\" opacity=\"0.12\"/>\n", a, MT, b - a, H, col);
            double xs_ = SX(fx(t.x_steep, s->log_x));
            fprintf(f, "<line x1=\"%g\" y1=\"%d\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-dasharray=\"4,3\"/>\n", xs_, MT, xs_, MT + H, col);
            fprintf(f, "<text x=\"%g\" y=\"%g\" font-size=\"10\" fill=\"%s\">sharpness %.2f</text>\n", xs_ + 3, MT + 10.0 + 12 * g, col, t.sharpness);
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
        for (int j = 0; j < m; j++) fprintf(f, "%g,%g ", SX(fx(xs[j], s->log_x)), SY(ys[j]));
        fprintf(f, "\"/>\n");
        for (int j = 0; j < m; j++)
            fprintf(f, "<circle cx=\"%g\" cy=\"%g\" r=\"2.5\" fill=\"%s\"/>\n", SX(fx(xs[j], s->log_x)), SY(ys[j]), col);
    }
#undef SX
#undef SY
    fprintf(f, "</g>\n");
}

/* per-layer groups: names "<prefix>@<layer>" */
static int heatmap(FILE *f, const sw_sweep *s, const char *prefix, const char *family, double oy, int *idx,
                   double *xs, double *ys)
{
    int Lmax = -1;
    char nm[600];
    for (int l = 0; l <= s->n_layers_max; l++) {
        snprintf(nm, sizeof nm, "%s@%d", prefix, l);
        for (int k = 0; k < s->names.n; k++) if (!strcmp(s->names.name[k], nm)) Lmax = l;
    }
    if (Lmax < 0) return 0;
    /* columns: the family's points with any value of the group, by x (use layer 0..Lmax's union via the first present) */
    int k0 = -1;
    for (int l = 0; l <= Lmax && k0 < 0; l++) {
        snprintf(nm, sizeof nm, "%s@%d", prefix, l);
        for (int k = 0; k < s->names.n; k++) if (!strcmp(s->names.name[k], nm)) k0 = k;
    }
    int nc = sw_family_curve(s, family, k0, idx, xs, ys);
    if (nc == 0) return 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int l = 0; l <= Lmax; l++) {
        snprintf(nm, sizeof nm, "%s@%d", prefix, l);
        for (int c = 0; c < nc; c++) {
            double v = sw_value(s, &s->pt[idx[c]], nm);
            if (isfinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
        }
    }
    if (!(hi > lo)) hi = lo + 1;
    const int cw = nc > 30 ? 18 : 36, ch = 18, ox = 90, top = 40;
    int width = ox + cw * nc + 20, height = top + ch * (Lmax + 1) + 40;
    fprintf(f, "<g transform=\"translate(0,%g)\">\n", oy);
    fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"bold\">");
    cli_svg_escape(f, prefix);
    fprintf(f, " by layer (rows) and checkpoint (columns), family ");
    cli_svg_escape(f, family);
    fprintf(f, ": %.3g (white) .. %.3g (dark)</text>\n", lo, hi);
    for (int l = 0; l <= Lmax; l++) {
        snprintf(nm, sizeof nm, "%s@%d", prefix, l);
        double y = top + ch * (Lmax - l);
        fprintf(f, "<text x=\"%d\" y=\"%g\" font-size=\"10\" text-anchor=\"end\">%s</text>\n", ox - 4, y + 13,
                l == 0 ? "embed" : "");
        if (l) fprintf(f, "<text x=\"%d\" y=\"%g\" font-size=\"10\" text-anchor=\"end\">layer %d</text>\n", ox - 4, y + 13, l);
        for (int c = 0; c < nc; c++) {
            double v = sw_value(s, &s->pt[idx[c]], nm);
            if (!isfinite(v)) continue;
            double a = (v - lo) / (hi - lo);
            int r = (int)(255 - a * 225), g = (int)(255 - a * 160), b = 255 - (int)(a * 60);
            fprintf(f, "<rect x=\"%d\" y=\"%g\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"><title>%.4g</title></rect>\n",
                    ox + cw * c, y, cw - 1, ch - 1, r, g, b, v);
        }
    }
    for (int c = 0; c < nc; c += (nc + 9) / 10)   /* at most 10 labels */
        fprintf(f, "<text x=\"%g\" y=\"%d\" font-size=\"9\" text-anchor=\"middle\">%.*f</text>\n",
                ox + cw * (c + 0.5), top + ch * (Lmax + 1) + 12, xs[c] == floor(xs[c]) ? 0 : 3, xs[c]);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", ox, top + ch * (Lmax + 1) + 28, s->x_axis);
    fprintf(f, "</g>\n");
    (void)width;
    return height;
}

int sw_write_svg(const sw_sweep *s, const char *path)
{
    const char **fam = malloc(sizeof *fam * (size_t)s->n);
    double *xs = malloc(sizeof *xs * (size_t)s->n), *ys = malloc(sizeof *ys * (size_t)s->n);
    int *idx = malloc(sizeof *idx * (size_t)s->n), *head = malloc(sizeof *head * (size_t)(s->names.n + 1));
    char tmp[4200];
    FILE *f = NULL;
    int rc = -1, nh = 0;
    if (!fam || !xs || !ys || !idx || !head) { fprintf(stderr, "strata sweep: out of memory\n"); goto done; }
    int nf = sw_families(s, fam);
    for (int k = 0; k < s->names.n; k++) if (sw_is_headline(s->names.name[k])) head[nh++] = k;
    /* per-layer groups */
    char **groups = NULL;
    int ng = 0;
    for (int k = 0; k < s->names.n; k++) {
        const char *at = strchr(s->names.name[k], '@');
        if (!at) continue;
        size_t l = (size_t)(at - s->names.name[k]);
        int seen = 0;
        for (int g = 0; g < ng && !seen; g++) seen = strlen(groups[g]) == l && !strncmp(groups[g], s->names.name[k], l);
        if (seen) continue;
        char **v = realloc(groups, sizeof *v * (size_t)(ng + 1));
        if (!v) break;
        groups = v;
        groups[ng] = strndup(s->names.name[k], l);
        if (groups[ng]) ng++;
    }
    const int cols = 2, rows = (nh + cols - 1) / cols;
    int hm_h = 0;
    for (int g = 0; g < ng; g++) hm_h += nf * (40 + 18 * (s->n_layers_max + 1) + 50);
    int maxc = 0;
    for (int g = 0; g < nf; g++) {
        int c = 0;
        for (int i = 0; i < s->n; i++) c += !strcmp(s->pt[i].family, fam[g]);
        if (c > maxc) maxc = c;
    }
    int W = cols * (PW + 10) + 10, hw = 90 + (maxc > 30 ? 18 : 36) * maxc + 20;
    if (hw > W) W = hw;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) { fprintf(stderr, "strata sweep: --plot: cannot write %s: ", tmp); perror(NULL); goto groups_done; }
    const int top = 42 + 14 * ((nf + 3) / 4);
    int H = top + 5 + rows * (PH + 10) + hm_h + 20;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\">strata sweep: %d models, x = %s. Band: 10-90%% of the "
               "total change; dashed: steepest interval.", s->n, s->x_axis);
    fprintf(f, "</text>\n");
    for (int g = 0; g < nf; g++) {   /* legend: the family's last two path components */
        const char *nm = fam[g], *p1 = strrchr(nm, '/');
        while (p1 && p1 > nm && p1[1] == 0) p1 = NULL;   /* trailing slash: show whole */
        if (p1) {
            const char *p2 = p1;
            while (p2 > nm && p2[-1] != '/') p2--;
            nm = p2;
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">&#9632; ", 10 + 260 * (g % 4), 34 + 14 * (g / 4), COLORS[g % 8]);
        cli_svg_escape(f, nm);
        fprintf(f, "</text>\n");
    }
    for (int i = 0; i < nh; i++)
        panel(f, s, head[i], fam, nf, 10 + (i % cols) * (PW + 10), top + (i / cols) * (PH + 10), xs, ys);
    double oy = top + 5 + rows * (PH + 10);
    for (int g = 0; g < ng; g++)
        for (int q = 0; q < nf; q++) {
            int h = heatmap(f, s, groups[g], fam[q], oy, idx, xs, ys);
            oy += h ? h + 10 : 0;
        }
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) { f = NULL; fprintf(stderr, "strata sweep: --plot: write error on %s\n", tmp); remove(tmp); goto groups_done; }
    f = NULL;
    if (rename(tmp, path)) { fprintf(stderr, "strata sweep: --plot: cannot rename %s to %s: ", tmp, path); perror(NULL); remove(tmp); goto groups_done; }
    rc = 0;
groups_done:
    for (int g = 0; g < ng; g++) free(groups[g]);
    free(groups);
done:
    free(fam); free(xs); free(ys); free(idx); free(head);
    return rc;
}
