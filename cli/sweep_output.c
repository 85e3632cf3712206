/* cli/sweep_output.c — `strata sweep` results as a table, JSON (schema in
 * docs/cli/sweep.md) or CSV, and the transition of every measure within
 * every family (strata/transition.h over the family's points sorted by x). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/transition.h"
#include "sweep.h"

double sw_x(const sw_sweep *s, const sw_point *p)
{
    int64_t v = !strcmp(s->x_axis, "tokens") ? p->tokens_seen : !strcmp(s->x_axis, "params") ? p->n_params : p->step;
    return v < 0 ? NAN : (double)v;
}

int sw_is_headline(const char *n)
{
    size_t l = strlen(n);
    if (strchr(n, '@')) return 0;
    if (l > 4 && !strcmp(n + l - 4, "_pos")) return 0;
    if (l > 6 && !strcmp(n + l - 6, "_heads")) return 0;
    return 1;
}

int sw_families(const sw_sweep *s, const char **fam)
{
    int nf = 0;
    for (int i = 0; i < s->n; i++) {
        int seen = 0;
        for (int j = 0; j < nf && !seen; j++) seen = !strcmp(fam[j], s->pt[i].family);
        if (!seen) fam[nf++] = s->pt[i].family;
    }
    return nf;
}

static const double *g_x;
static int cmp_idx(const void *a, const void *b)
{
    double x = g_x[*(const int *)a], y = g_x[*(const int *)b];
    return x < y ? -1 : x > y;
}

int sw_family_curve(const sw_sweep *s, const char *family, int k, int *idx, double *x, double *y)
{
    double *xa = malloc(sizeof *xa * (size_t)s->n);
    int *ord = malloc(sizeof *ord * (size_t)s->n), n = 0, m = 0;
    if (!xa || !ord) { free(xa); free(ord); return 0; }
    for (int i = 0; i < s->n; i++) {
        const sw_point *p = &s->pt[i];
        xa[i] = sw_x(s, p);
        if (strcmp(p->family, family) || !isfinite(xa[i]) || (s->log_x && xa[i] <= 0)) continue;
        if (k >= p->n_values || !isfinite(p->values[k])) continue;
        ord[n++] = i;
    }
    g_x = xa;
    qsort(ord, (size_t)n, sizeof *ord, cmp_idx);
    for (int j = 0; j < n; j++) {
        if (m && xa[ord[j]] == x[m - 1]) continue;  /* same x twice: keep the first */
        if (idx) idx[m] = ord[j];
        x[m] = xa[ord[j]];
        y[m] = s->pt[ord[j]].values[k];
        m++;
    }
    free(xa);
    free(ord);
    return m;
}

int sw_transition(const sw_sweep *s, const char *family, int k, strata_transition *t)
{
    double *x = malloc(sizeof *x * (size_t)s->n), *y = malloc(sizeof *y * (size_t)s->n);
    int rc = -1;
    if (x && y) {
        int m = sw_family_curve(s, family, k, NULL, x, y);
        if (m >= 2 && strata_transition_stats(x, y, m, s->log_x, t, NULL, 0) == STRATA_OK) rc = 0;
    }
    free(x);
    free(y);
    return rc;
}

static void jnum(FILE *out, double v)
{
    if (isfinite(v)) fprintf(out, "%.17g", v);
    else fprintf(out, "null");
}

static void i64_or_null(FILE *out, int64_t v)
{
    if (v < 0) fprintf(out, "null");
    else fprintf(out, "%lld", (long long)v);
}

void sw_print_json(FILE *out, const sw_sweep *s, const sw_opts *o)
{
    fprintf(out, "{\"x_axis\": \"%s\", \"log_x\": %s, \"settings\": {", s->x_axis, s->log_x ? "true" : "false");
    fprintf(out, "\"data\": ");
    if (o->data) cli_jstr(out, o->data); else fprintf(out, "null");
    fprintf(out, ", \"seed\": %llu, \"probe_cv\": %d, \"induction_docs\": %d}", (unsigned long long)o->seed,
           o->probe_cv, o->induction_docs);
    fprintf(out, ", \"measures\": [");
    for (int k = 0; k < s->names.n; k++) { fprintf(out, "%s", k ? ", " : ""); cli_jstr(out, s->names.name[k]); }
    fprintf(out, "], \"points\": [");
    for (int i = 0; i < s->n; i++) {
        const sw_point *p = &s->pt[i];
        fprintf(out, "%s\n  {\"path\": ", i ? "," : "");
        cli_jstr(out, p->path);
        fprintf(out, ", \"family\": ");
        cli_jstr(out, p->family);
        fprintf(out, ", \"step\": ");
        i64_or_null(out, p->step);
        fprintf(out, ", \"tokens_seen\": ");
        i64_or_null(out, p->tokens_seen);
        fprintf(out, ", \"n_params\": ");
        i64_or_null(out, p->n_params);
        fprintf(out, ", \"x\": ");
        jnum(out, sw_x(s, p));
        fprintf(out, ", \"seconds\": %.3f", p->seconds);
        if (p->induction_head[0]) fprintf(out, ", \"induction_head\": \"%s\"", p->induction_head);
        if (p->prev_token_head[0]) fprintf(out, ", \"prev_token_head\": \"%s\"", p->prev_token_head);
        fprintf(out, ", \"measures\": {");
        for (int k = 0; k < s->names.n; k++) {
            fprintf(out, "%s", k ? ", " : "");
            cli_jstr(out, s->names.name[k]);
            fprintf(out, ": ");
            jnum(out, k < p->n_values ? p->values[k] : NAN);
        }
        fprintf(out, "}}");
    }
    fprintf(out, "\n], \"transitions\": [");
    const char **fam = malloc(sizeof *fam * (size_t)s->n);
    int nf = fam ? sw_families(s, fam) : 0, first = 1;
    for (int f = 0; f < nf; f++)
        for (int k = 0; k < s->names.n; k++) {
            strata_transition t;
            const char *nm = s->names.name[k];
            size_t l = strlen(nm);
            if (l > 4 && !strcmp(nm + l - 4, "_pos")) continue;
            if (sw_transition(s, fam[f], k, &t)) continue;
            fprintf(out, "%s\n  {\"family\": ", first ? "" : ",");
            first = 0;
            cli_jstr(out, fam[f]);
            fprintf(out, ", \"measure\": ");
            cli_jstr(out, nm);
            fprintf(out, ", \"n\": %d, \"total_change\": ", t.n);
            jnum(out, t.total_change);
            fprintf(out, ", \"sharpness\": "); jnum(out, t.sharpness);
            fprintf(out, ", \"x_steep\": "); jnum(out, t.x_steep);
            fprintf(out, ", \"x_steep_lo\": "); jnum(out, t.x_steep_lo);
            fprintf(out, ", \"x_steep_hi\": "); jnum(out, t.x_steep_hi);
            fprintf(out, ", \"x10\": "); jnum(out, t.x10);
            fprintf(out, ", \"x90\": "); jnum(out, t.x90);
            fprintf(out, ", \"width\": "); jnum(out, t.width);
            fprintf(out, ", \"width_log10\": "); jnum(out, t.width_log10);
            fprintf(out, "}");
        }
    fprintf(out, "\n]}\n");
    free(fam);
}

void sw_print_csv(const sw_sweep *s)
{
    printf("path,family,step,tokens_seen,n_params,seconds,induction_head,prev_token_head");
    for (int k = 0; k < s->names.n; k++) printf(",%s", s->names.name[k]);
    printf("\n");
    for (int i = 0; i < s->n; i++) {
        const sw_point *p = &s->pt[i];
        printf("\"%s\",\"%s\",", p->path, p->family);
        if (p->step >= 0) printf("%lld", (long long)p->step);
        printf(",");
        if (p->tokens_seen >= 0) printf("%lld", (long long)p->tokens_seen);
        printf(",%lld,%.3f,%s,%s", (long long)p->n_params, p->seconds, p->induction_head, p->prev_token_head);
        for (int k = 0; k < s->names.n; k++) {
            double v = k < p->n_values ? p->values[k] : NAN;
            if (isfinite(v)) printf(",%.10g", v);
            else printf(",");
        }
        printf("\n");
    }
}

void sw_print_table(const sw_sweep *s, const sw_opts *o)
{
    (void)o;
    int *cols = malloc(sizeof *cols * (size_t)(s->names.n + 1)), nc = 0;
    if (!cols) return;
    for (int k = 0; k < s->names.n; k++) if (sw_is_headline(s->names.name[k])) cols[nc++] = k;
    printf("%-28s %10s %12s %10s", "model", "step", "tokens", "params");
    int *w = malloc(sizeof *w * (size_t)(nc + 1));
    if (!w) { free(cols); return; }
    for (int c = 0; c < nc; c++) {
        int l = (int)strlen(s->names.name[cols[c]]);
        w[c] = l > 10 ? l : 10;
        printf(" %*s", w[c], s->names.name[cols[c]]);
    }
    printf("\n");
    for (int i = 0; i < s->n; i++) {
        const sw_point *p = &s->pt[i];
        size_t l = strlen(p->path);
        printf("%-28s", l > 28 ? p->path + l - 28 : p->path);
        if (p->step >= 0) printf(" %10lld", (long long)p->step); else printf(" %10s", "-");
        if (p->tokens_seen >= 0) printf(" %12lld", (long long)p->tokens_seen); else printf(" %12s", "-");
        printf(" %10lld", (long long)p->n_params);
        for (int c = 0; c < nc; c++) {
            double v = cols[c] < p->n_values ? p->values[cols[c]] : NAN;
            if (isfinite(v)) printf(" %*.4f", w[c], v); else printf(" %*s", w[c], "-");
        }
        if (p->induction_head[0]) printf("  ind %s", p->induction_head);
        if (p->prev_token_head[0]) printf("  prev %s", p->prev_token_head);
        printf("\n");
    }
    printf("\ntransitions (x = %s%s): steepest interval, 10-90%% range, sharpness = largest step / total change\n",
           s->x_axis, s->log_x ? ", log axis" : "");
    printf("%-24s %-34s %12s %12s %12s %12s %10s %10s\n", "family", "measure", "x_steep", "x10", "x90", "width",
           "change", "sharpness");
    const char **fam = malloc(sizeof *fam * (size_t)s->n);
    int nf = fam ? sw_families(s, fam) : 0;
    for (int f = 0; f < nf; f++)
        for (int c = 0; c < nc; c++) {
            strata_transition t;
            if (sw_transition(s, fam[f], cols[c], &t)) continue;
            size_t lf = strlen(fam[f]);
            printf("%-24s %-34s %12.5g %12.5g %12.5g %12.5g %10.4g %10.3f\n", lf > 24 ? fam[f] + lf - 24 : fam[f],
                   s->names.name[cols[c]], t.x_steep, t.x10, t.x90, t.width, t.total_change, t.sharpness);
        }
    free(fam);
    free(cols);
    free(w);
}
