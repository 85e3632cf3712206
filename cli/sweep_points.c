/* cli/sweep_points.c — MODEL_DIR arguments of `strata sweep` -> checkpoints.
 *
 * An argument is either a model directory (config.json inside: one point,
 * in the family "models" shared by every such argument) or a training output
 * folder (CONTRACTS: step-<N>/ model directories, N decimal; `final` and
 * anything else is ignored): one point per checkpoint, sorted by N, in a
 * family named after the folder.  Each checkpoint's trainer_state.json gives
 * step, tokens_seen and n_params when present. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sweep.h"

int sw_name_index(sw_names *nm, const char *name)
{
    for (int i = 0; i < nm->n; i++) if (!strcmp(nm->name[i], name)) return i;
    if (nm->n == nm->cap) {
        int c = nm->cap ? 2 * nm->cap : 32;
        char **v = realloc(nm->name, sizeof *v * (size_t)c);
        if (!v) return -1;
        nm->name = v;
        nm->cap = c;
    }
    nm->name[nm->n] = strdup(name);
    return nm->name[nm->n] ? nm->n++ : -1;
}

static int is_file(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) return 0;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static uint64_t fnv_file(const char *dir, const char *name, uint64_t h)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return h;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++) { h ^= buf[i]; h *= 1099511628211ULL; }
    fclose(f);
    return h;
}

uint64_t sw_tokenizer_fingerprint(const char *dir)
{
    if (is_file(dir, "tokenizer.json")) return fnv_file(dir, "tokenizer.json", 1469598103934665603ULL);
    if (is_file(dir, "vocab.json"))
        return fnv_file(dir, "merges.txt", fnv_file(dir, "vocab.json", 1469598103934665603ULL));
    return 0;
}

/* trainer_state.json: step, tokens_seen, n_params (absent keys keep -1). */
static int read_state(const char *dir, sw_point *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o || !json_is_object(o)) {
        fprintf(stderr, "strata sweep: %s: not a JSON object%s%s\n", path, o ? "" : ": ", o ? "" : je.text);
        json_decref(o);
        return -1;
    }
    const char *keys[3] = { "step", "tokens_seen", "n_params" };
    int64_t *dst[3] = { &p->step, &p->tokens_seen, &p->n_params };
    for (int k = 0; k < 3; k++) {
        json_t *v = json_object_get(o, keys[k]);
        if (!v) continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            fprintf(stderr, "strata sweep: %s: \"%s\" must be a non-negative integer\n", path, keys[k]);
            json_decref(o);
            return -1;
        }
        *dst[k] = json_integer_value(v);
    }
    json_decref(o);
    return 0;
}

static int add_point(sw_sweep *s, const char *path, const char *family, int64_t step)
{
    sw_point *v = realloc(s->pt, sizeof *v * (size_t)(s->n + 1));
    if (!v) return -1;
    s->pt = v;
    sw_point *p = &s->pt[s->n];
    memset(p, 0, sizeof *p);
    p->path = strdup(path);
    p->family = strdup(family);
    p->step = step;
    p->tokens_seen = -1;
    p->n_params = -1;
    s->n++;
    if (!p->path || !p->family) return -1;
    return read_state(path, p);
}

typedef struct { int64_t n; char *name; } step_ent;
static int cmp_step(const void *a, const void *b)
{
    int64_t x = ((const step_ent *)a)->n, y = ((const step_ent *)b)->n;
    return x < y ? -1 : x > y;
}

int sw_collect_points(int nargs, char **args, sw_sweep *s)
{
    int any_folder = 0;
    for (int a = 0; a < nargs; a++) {
        const char *dir = args[a];
        if (!is_dir(dir)) { fprintf(stderr, "strata sweep: %s: not a directory\n", dir); return -1; }
        if (is_file(dir, "config.json")) {
            if (add_point(s, dir, "models", -1)) return -1;
            continue;
        }
        DIR *d = opendir(dir);
        if (!d) { fprintf(stderr, "strata sweep: %s: cannot list: ", dir); perror(NULL); return -1; }
        step_ent *e = NULL;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            const char *nm = de->d_name;
            if (strncmp(nm, "step-", 5) || !nm[5]) continue;
            char *end;
            long long N = strtoll(nm + 5, &end, 10);
            if (*end || N < 0 || nm[5] < '0' || nm[5] > '9') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, nm);
            if (!is_dir(p) || !is_file(p, "config.json")) continue;
            step_ent *v = realloc(e, sizeof *v * (size_t)(n + 1));
            if (!v) break;
            e = v;
            e[n].n = N;
            e[n].name = strdup(p);
            n++;
        }
        closedir(d);
        if (n == 0) {
            fprintf(stderr, "strata sweep: %s: no checkpoints (neither a config.json nor step-<N>/ "
                            "folders holding one)\n", dir);
            free(e);
            return -1;
        }
        qsort(e, (size_t)n, sizeof *e, cmp_step);
        int rc = 0;
        for (int i = 0; i < n; i++) {
            if (!rc && add_point(s, e[i].name, dir, e[i].n)) rc = -1;
            free(e[i].name);
        }
        free(e);
        if (rc) return -1;
        any_folder = 1;
    }
    if (s->n == 0) { fprintf(stderr, "strata sweep: no models given (see --help)\n"); return -1; }
    if (!s->x_axis) s->x_axis = any_folder ? "step" : "params";
    /* one tokenizer for the whole sweep */
    uint64_t f0 = sw_tokenizer_fingerprint(s->pt[0].path);
    for (int i = 1; i < s->n; i++) {
        uint64_t f = sw_tokenizer_fingerprint(s->pt[i].path);
        if (f != f0) {
            fprintf(stderr, "strata sweep: %s and %s have different tokenizers (%s); one sweep needs "
                            "one tokenizer (sweep them separately)\n", s->pt[0].path, s->pt[i].path,
                    !f0 || !f ? "one has no tokenizer files" : "tokenizer files differ");
            return -1;
        }
    }
    return 0;
}

void sw_sweep_free(sw_sweep *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->pt[i].path);
        free(s->pt[i].family);
        free(s->pt[i].values);
    }
    free(s->pt);
    for (int i = 0; i < s->names.n; i++) free(s->names.name[i]);
    free(s->names.name);
    memset(s, 0, sizeof *s);
}
