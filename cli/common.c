/* cli/common.c — helpers shared by subcommands. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/suggest.h"
#include "cli.h"

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

/* The first character of a number strtoll/strtod would read: a digit, or a
 * sign or point followed by one (no blanks, no "inf"/"nan" words). */
static int starts_number(const char *s, int allow_point)
{
    const unsigned char *p = (const unsigned char *)s;
    if (*p == '+' || *p == '-') p++;
    if (allow_point && *p == '.') p++;
    return isdigit(*p);
}

int cli_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    long long v = 0;
    if (starts_number(s, 0)) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE) {
            fprintf(stderr, "strata %s: %s: '%s' overflows (want an integer in [%lld, %lld])\n", cmd,
                    opt, s, (long long)lo, (long long)hi);
            return -1;
        }
        if (*end) {
            fprintf(stderr, "strata %s: %s: '%s' has trailing characters '%s' (want an integer in "
                            "[%lld, %lld])\n", cmd, opt, s, end, (long long)lo, (long long)hi);
            return -1;
        }
    }
    if (!end || v < lo || v > hi) {
        fprintf(stderr, "strata %s: %s: '%s' is not an integer in [%lld, %lld]\n", cmd, opt, s,
                (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (cli_parse_i64(cmd, opt, s, lo, hi, &v)) return -1;
    *out = (int)v;
    return 0;
}

int cli_parse_f64(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = 0;
    if (starts_number(s, 1)) {
        errno = 0;
        v = strtod(s, &end);
        if (errno == ERANGE && fabs(v) > 1) { /* underflow to 0 or a subnormal is fine */
            fprintf(stderr, "strata %s: %s: '%s' overflows (want a number in [%g, %g])\n", cmd, opt, s,
                    lo, hi);
            return -1;
        }
        if (*end) {
            fprintf(stderr, "strata %s: %s: '%s' has trailing characters '%s' (want a number in "
                            "[%g, %g])\n", cmd, opt, s, end, lo, hi);
            return -1;
        }
    }
    if (!end || !isfinite(v) || !(v >= lo && v <= hi)) {
        fprintf(stderr, "strata %s: %s: '%s' is not a number in [%g, %g]\n", cmd, opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_ids(const char *s, int **out)
{
    int cap = 16, n = 0;
    int *ids = malloc(sizeof *ids * cap);
    if (!ids) return -1;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 0x7fffffff) { free(ids); return -1; }
        if (n == cap) {
            cap *= 2;
            int *t = realloc(ids, sizeof *ids * cap);
            if (!t) { free(ids); return -1; }
            ids = t;
        }
        ids[n++] = (int)v;
        p = end;
    }
    *out = ids;
    return n;
}

int cli_parse_size(const char *s, int64_t *out)
{
    char *end;
    if (!starts_number(s, 1)) return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || !(v > 0)) return -1;
    double mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 0: break;
    default: return -1;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end || !(v * mul >= 1 && v * mul < 9.2e18)) return -1;
    *out = (int64_t)(v * mul);
    return 0;
}

int cli_match_any(const char *globs, const char *name)
{
    char buf[1024];
    const char *p = globs;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len < sizeof buf) {
            memcpy(buf, p, len);
            buf[len] = 0;
            if (len && (!strcmp(buf, name) || fnmatch(buf, name, 0) == 0)) return 1;
        }
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

void cli_jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void cli_svg_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

strata_acts *cli_open_acts(const char *cmd, const char *path)
{
    strata_acts *acts = NULL;
    if (strata_acts_open(path, &acts) != STRATA_OK) {
        fprintf(stderr, "strata %s: %s\n", cmd, strata_acts_errmsg(acts));
        strata_acts_close(acts);
        return NULL;
    }
    if (!strata_acts_complete(acts))
        fprintf(stderr, "strata %s: warning: %s is partial (complete = false: an interrupted or "
                        "failed capture); results cover its %lld committed rows only. Finish it "
                        "with `strata capture ... --resume`\n", cmd, path,
                (long long)strata_acts_n_rows(acts));
    return acts;
}

char **cli_select_hooks(const char *cmd, strata_acts *acts, const char *path, const char *glob, int *n)
{
    const int nh = strata_acts_n_hooks(acts);
    char **names = calloc((size_t)(nh > 0 ? nh : 1), sizeof *names);
    int m = 0;
    for (int i = 0; i < nh; i++) {
        const char *h = strata_acts_hook(acts, i);
        int64_t shape[4];
        int nd = strata_acts_hook_shape(acts, h, shape);
        if (glob ? cli_match_any(glob, h) : nd == 2) names[m++] = strdup(h);
    }
    if (m == 0) {
        /* a mistyped name: the nearest hook of the file (also as a blocks.* glob) */
        char hint[200] = "";
        if (glob && !strchr(glob, ',')) {
            st_suggest sg;
            st_suggest_init(&sg, glob);
            for (int i = 0; i < nh; i++) st_suggest_offer_hook(&sg, strata_acts_hook(acts, i));
            if (sg.best[0]) snprintf(hint, sizeof hint, "; did you mean '%s'?", sg.best);
        }
        fprintf(stderr, "strata %s: %s: no hook %s%s (the file has:", cmd, path,
                glob ? "matches --hooks" : "is stored as [R, d]", hint);
        for (int i = 0; i < nh && i < 12; i++) fprintf(stderr, " %s", strata_acts_hook(acts, i));
        fprintf(stderr, "%s)\n", nh > 12 ? " ..." : "");
    }
    *n = m;
    return names;
}

const char *cli_plural(long long n) { return n == 1 ? "" : "s"; }
