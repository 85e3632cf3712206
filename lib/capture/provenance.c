/* capture/provenance.c — see capture/provenance.h. */
#include "capture/provenance.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/sha256.h"

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Appends name (relative to dir) to the list and hashes it. */
static int add_file(const char *dir, const char *name, char ***names, char ***sums, int *n, st_err *err)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*names)[i], name)) return STRATA_OK;
    char path[PATH_MAX + 256];
    if (dir) snprintf(path, sizeof path, "%s/%s", dir, name);
    else snprintf(path, sizeof path, "%s", name);
    char hex[65];
    ST_TRY(st_sha256_file(path, hex, err));
    char **nn = realloc(*names, sizeof *nn * (size_t)(*n + 1));
    if (nn) *names = nn;
    char **ns = nn ? realloc(*sums, sizeof *ns * (size_t)(*n + 1)) : NULL;
    if (ns) *sums = ns;
    if (!nn || !ns) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    (*names)[*n] = strdup(name);
    (*sums)[*n] = strdup(hex);
    if (!(*names)[*n] || !(*sums)[*n]) {
        free((*names)[*n]);
        free((*sums)[*n]);
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    }
    (*n)++;
    return STRATA_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The shards named by model.safetensors.index.json's weight_map, sorted, unique. */
static int index_shards(const char *dir, char ***out, int *n, st_err *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) return st_seterr(err, STRATA_ERR_FORMAT, "%s: %s (line %d)", path, je.text, je.line);
    json_t *map = json_object_get(j, "weight_map");
    size_t cap = map ? json_object_size(map) : 0;
    char **v = calloc(cap + 1, sizeof *v);
    int k = 0, rc = v ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    const char *key;
    json_t *val;
    if (v && json_is_object(map))
        json_object_foreach(map, key, val) {
            if (!json_is_string(val) || strchr(json_string_value(val), '/')) continue;
            v[k] = strdup(json_string_value(val));
            if (!v[k]) { rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); break; }
            k++;
        }
    json_decref(j);
    if (rc < 0) {
        for (int i = 0; i < k; i++) free(v[i]);
        free(v);
        return rc;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_str);
    int u = 0;
    for (int i = 0; i < k; i++) {
        if (u && !strcmp(v[u - 1], v[i])) { free(v[i]); continue; }
        v[u++] = v[i];
    }
    *out = v;
    *n = u;
    return STRATA_OK;
}

static char *revision_of(const char *real)
{
    char path[PATH_MAX + 64];
    struct stat st;
    int dir = stat(real, &st) == 0 && S_ISDIR(st.st_mode);
    if (dir) {
        snprintf(path, sizeof path, "%s/trainer_state.json", real);
        json_t *j = json_load_file(path, 0, NULL);
        json_t *step = j ? json_object_get(j, "step") : NULL;
        if (json_is_integer(step)) {
            char b[64];
            snprintf(b, sizeof b, "step %lld", (long long)json_integer_value(step));
            json_decref(j);
            return strdup(b);
        }
        json_decref(j);
    }
    const char *snap = strstr(real, "/snapshots/");
    if (snap) {
        const char *h = snap + strlen("/snapshots/");
        size_t n = strcspn(h, "/");
        if (n >= 7 && n <= 64) return strndup(h, n);
    }
    if (dir) {
        snprintf(path, sizeof path, "%s/config.json", real);
        json_t *j = json_load_file(path, 0, NULL);
        json_t *ch = j ? json_object_get(j, "_commit_hash") : NULL;
        char *r = json_is_string(ch) ? strdup(json_string_value(ch)) : NULL;
        json_decref(j);
        if (r) return r;
    }
    return strdup("");
}

void cap_prov_free(cap_prov *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_weight; i++) { free(p->weight_files[i]); free(p->weight_sha[i]); }
    for (int i = 0; i < p->n_tok; i++) { free(p->tok_files[i]); free(p->tok_sha[i]); }
    free(p->weight_files);
    free(p->weight_sha);
    free(p->tok_files);
    free(p->tok_sha);
    free(p->model_path);
    free(p->revision);
    memset(p, 0, sizeof *p);
}

int cap_prov_collect(const char *model_path, cap_prov *p, st_err *err)
{
    memset(p, 0, sizeof *p);
    p->model_path = realpath(model_path, NULL);
    if (!p->model_path)
        return st_seterr(err, STRATA_ERR_IO, "model %s: %s", model_path, strerror(errno));
    int rc = STRATA_OK;
    struct stat st;
    if (stat(p->model_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        const char *d = p->model_path;
        char path[PATH_MAX + 64];
        rc = add_file(d, "config.json", &p->weight_files, &p->weight_sha, &p->n_weight, err);
        snprintf(path, sizeof path, "%s/model.safetensors", d);
        if (rc == STRATA_OK && is_file(path)) {
            rc = add_file(d, "model.safetensors", &p->weight_files, &p->weight_sha, &p->n_weight, err);
        } else if (rc == STRATA_OK) {
            rc = add_file(d, "model.safetensors.index.json", &p->weight_files, &p->weight_sha,
                          &p->n_weight, err);
            char **shards = NULL;
            int ns = 0;
            if (rc == STRATA_OK) rc = index_shards(d, &shards, &ns, err);
            for (int i = 0; rc == STRATA_OK && i < ns; i++)
                rc = add_file(d, shards[i], &p->weight_files, &p->weight_sha, &p->n_weight, err);
            for (int i = 0; i < ns; i++) free(shards[i]);
            free(shards);
        }
        snprintf(path, sizeof path, "%s/tokenizer.json", d);
        const char *tok[4] = { NULL, NULL, NULL, NULL };
        int nt = 0;
        if (is_file(path)) {
            tok[nt++] = "tokenizer.json";
        } else {
            tok[nt++] = "vocab.json";
            tok[nt++] = "merges.txt";
        }
        tok[nt++] = "tokenizer_config.json";
        for (int i = 0; rc == STRATA_OK && i < nt; i++) {
            snprintf(path, sizeof path, "%s/%s", d, tok[i]);
            if (is_file(path)) rc = add_file(d, tok[i], &p->tok_files, &p->tok_sha, &p->n_tok, err);
        }
    } else {
        /* GGUF: one file holds weights and vocabulary */
        char *slash = strrchr(p->model_path, '/');
        const char *base = slash ? slash + 1 : p->model_path;
        *slash = 0;
        rc = add_file(p->model_path, base, &p->weight_files, &p->weight_sha, &p->n_weight, err);
        if (rc == STRATA_OK)
            rc = add_file(p->model_path, base, &p->tok_files, &p->tok_sha, &p->n_tok, err);
        *slash = '/';
    }
    if (rc == STRATA_OK) {
        p->revision = revision_of(p->model_path);
        if (!p->revision) rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    }
    if (rc < 0) {
        cap_prov_free(p);
        return rc;
    }
    p->p.model_path = p->model_path;
    p->p.model_revision = p->revision;
    p->p.n_weight_files = p->n_weight;
    p->p.weight_files = (const char *const *)p->weight_files;
    p->p.weight_sha256 = (const char *const *)p->weight_sha;
    p->p.n_tokenizer_files = p->n_tok;
    p->p.tokenizer_files = (const char *const *)p->tok_files;
    p->p.tokenizer_sha256 = (const char *const *)p->tok_sha;
    return STRATA_OK;
}
