/* corpus/corpus_out.c — JSONL documents, task lines, tokenizer directories and
 * all-or-nothing output files for the corpus generators (see corpus_out.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus/corpus_out.h"

int st_cfile_open(st_cfile *c, const char *path, int overwrite, const char *what, st_err *e)
{
    memset(c, 0, sizeof *c);
    if (!path || !*path) return st_seterr(e, STRATA_ERR_ARG, "%s: empty path", what);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!overwrite)
            return st_seterr(e, STRATA_ERR_EXISTS, "%s %s: the file exists (use --overwrite)", what, path);
        if (!S_ISREG(st.st_mode))
            return st_seterr(e, STRATA_ERR_ARG, "%s %s: exists and is not a regular file", what, path);
    }
    c->path = strdup(path);
    if (c->path && asprintf(&c->tmp, "%s.tmp", path) < 0) c->tmp = NULL;
    if (!c->path || !c->tmp) {
        st_cfile_abort(c);
        return st_seterr(e, STRATA_ERR_NOMEM, "out of memory");
    }
    c->f = fopen(c->tmp, "w");
    if (!c->f) {
        int rc = st_seterr(e, STRATA_ERR_IO, "%s %s: cannot create %s: %s", what, path, c->tmp,
                           strerror(errno));
        free(c->path);
        free(c->tmp);
        memset(c, 0, sizeof *c);
        return rc;
    }
    return STRATA_OK;
}

int st_cfile_commit(st_cfile *c, st_err *e)
{
    int bad = ferror(c->f);
    int werr = errno;
    if (fflush(c->f) != 0) { bad = 1; werr = errno; }
    if (fclose(c->f) != 0) { bad = 1; werr = errno; }
    c->f = NULL;
    if (bad) {
        int rc = st_seterr(e, STRATA_ERR_IO, "%s: write failed: %s", c->tmp, strerror(werr));
        st_cfile_abort(c);
        return rc;
    }
    if (rename(c->tmp, c->path) != 0) {
        int rc = st_seterr(e, STRATA_ERR_IO, "cannot rename %s to %s: %s", c->tmp, c->path,
                           strerror(errno));
        st_cfile_abort(c);
        return rc;
    }
    free(c->path);
    free(c->tmp);
    memset(c, 0, sizeof *c);
    return STRATA_OK;
}

void st_cfile_abort(st_cfile *c)
{
    if (c->f) fclose(c->f);
    if (c->tmp) unlink(c->tmp);
    free(c->path);
    free(c->tmp);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------ documents */

void st_cdoc_init(st_cdoc *d, int n_labels, const char *const *names)
{
    memset(d, 0, sizeof *d);
    d->n_labels = n_labels;
    for (int i = 0; i < n_labels; i++) d->label_names[i] = names[i];
}

void st_cdoc_free(st_cdoc *d)
{
    free(d->ids);
    for (int i = 0; i < d->n_labels; i++) free(d->lab[i]);
    memset(d, 0, sizeof *d);
}

void st_cdoc_clear(st_cdoc *d)
{
    d->n = 0;
    d->n_scalars = 0;
}

int st_cdoc_push(st_cdoc *d, int32_t id, const double *vals)
{
    if (d->n == d->cap) {
        int64_t cap = d->cap ? 2 * d->cap : 128;
        int32_t *ni = realloc(d->ids, sizeof *ni * (size_t)cap);
        if (!ni) return -1;
        d->ids = ni;
        for (int i = 0; i < d->n_labels; i++) {
            double *nl = realloc(d->lab[i], sizeof *nl * (size_t)cap);
            if (!nl) return -1;
            d->lab[i] = nl;
        }
        d->cap = cap;
    }
    d->ids[d->n] = id;
    for (int i = 0; i < d->n_labels; i++) d->lab[i][d->n] = vals[i];
    d->n++;
    return 0;
}

void st_cdoc_scalar(st_cdoc *d, const char *name, double v)
{
    for (int i = 0; i < d->n_scalars; i++)
        if (!strcmp(d->scalar_names[i], name)) { d->scalar_vals[i] = v; return; }
    if (d->n_scalars < ST_CDOC_MAX_SCALARS) {
        d->scalar_names[d->n_scalars] = name;
        d->scalar_vals[d->n_scalars++] = v;
    }
}

static void put_num(FILE *f, double v)
{
    if (isnan(v)) fputs("null", f);
    else if (v == floor(v) && fabs(v) < 9e15) fprintf(f, "%lld", (long long)v);
    else fprintf(f, "%.17g", v);
}

/* JSON string of a piece (pieces hold no control characters; quote and
 * backslash escaped). */
static void put_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
}

void st_cdoc_write(const st_cdoc *d, FILE *f, const char *const *pieces)
{
    fputs("{\"ids\": [", f);
    for (int64_t t = 0; t < d->n; t++) fprintf(f, t ? ", %d" : "%d", d->ids[t]);
    fputc(']', f);
    for (int i = 0; i < d->n_labels; i++) {
        fprintf(f, ", \"%s\": [", d->label_names[i]);
        for (int64_t t = 0; t < d->n; t++) {
            if (t) fputs(", ", f);
            put_num(f, d->lab[i][t]);
        }
        fputc(']', f);
    }
    for (int i = 0; i < d->n_scalars; i++) {
        fprintf(f, ", \"%s\": ", d->scalar_names[i]);
        put_num(f, d->scalar_vals[i]);
    }
    if (pieces) {
        fputs(", \"words\": \"", f);
        for (int64_t t = 0; t < d->n; t++) {
            if (t) fputc(' ', f);
            put_str(f, pieces[d->ids[t]]);
        }
        fputc('"', f);
    }
    fputs("}\n", f);
}

void st_corpus_write_task(FILE *f, const int32_t *prompt, int np, const int32_t *answer, int na)
{
    fputs("{\"prompt_ids\": [", f);
    for (int i = 0; i < np; i++) fprintf(f, i ? ", %d" : "%d", prompt[i]);
    fputs("], \"answer_ids\": [", f);
    for (int i = 0; i < na; i++) fprintf(f, i ? ", %d" : "%d", answer[i]);
    fputs("]}\n", f);
}

/* ------------------------------------------------------------ tokenizer */

static void added_token(FILE *f, const char *piece, int id, int first)
{
    fprintf(f, "%s\n    {\"id\": %d, \"content\": \"", first ? "" : ",", id);
    put_str(f, piece);
    fputs("\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
          "\"normalized\": false, \"special\": true}", f);
}

int st_corpus_write_tokenizer(const char *dir, const char *const *pieces, int n, int bos, int eos,
                              int overwrite, st_err *e)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return st_seterr(e, STRATA_ERR_ARG, "--tokenizer-out %s: exists and is not a directory", dir);
    } else if (mkdir(dir, 0777) != 0) {
        return st_seterr(e, STRATA_ERR_IO, "--tokenizer-out %s: cannot create the directory: %s", dir,
                         strerror(errno));
    }
    char *path = NULL;
    st_cfile c;
    if (asprintf(&path, "%s/tokenizer.json", dir) < 0) return st_seterr(e, STRATA_ERR_NOMEM, "out of memory");
    int rc = st_cfile_open(&c, path, overwrite, "--tokenizer-out", e);
    free(path);
    if (rc < 0) return rc;
    FILE *f = c.f;
    fputs("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
          "  \"added_tokens\": [", f);
    added_token(f, pieces[bos], bos, 1);
    if (eos >= 0) added_token(f, pieces[eos], eos, 0);
    fputs("\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"},\n", f);
    fputs("  \"post_processor\": {\"type\": \"TemplateProcessing\",\n    \"single\": [", f);
    fputs("{\"SpecialToken\": {\"id\": \"", f);
    put_str(f, pieces[bos]);
    fputs("\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],\n    \"pair\": [", f);
    fputs("{\"SpecialToken\": {\"id\": \"", f);
    put_str(f, pieces[bos]);
    fputs("\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, "
          "{\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}],\n    \"special_tokens\": {\"", f);
    put_str(f, pieces[bos]);
    fputs("\": {\"id\": \"", f);
    put_str(f, pieces[bos]);
    fprintf(f, "\", \"ids\": [%d], \"tokens\": [\"", bos);
    put_str(f, pieces[bos]);
    fputs("\"]}}},\n  \"decoder\": null,\n  \"model\": {\"type\": \"WordLevel\", \"vocab\": {", f);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", \"" : "\"", f);
        put_str(f, pieces[i]);
        fprintf(f, "\": %d", i);
    }
    fputs("}, \"unk_token\": \"<unk>\"}\n}\n", f);
    rc = st_cfile_commit(&c, e);
    if (rc < 0) return rc;

    if (asprintf(&path, "%s/tokenizer_config.json", dir) < 0)
        return st_seterr(e, STRATA_ERR_NOMEM, "out of memory");
    rc = st_cfile_open(&c, path, overwrite, "--tokenizer-out", e);
    free(path);
    if (rc < 0) return rc;
    fputs("{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \"", c.f);
    put_str(c.f, pieces[bos]);
    fputs("\"", c.f);
    if (eos >= 0) {
        fputs(", \"eos_token\": \"", c.f);
        put_str(c.f, pieces[eos]);
        fputs("\"", c.f);
    }
    fputs(", \"add_bos_token\": true}\n", c.f);
    return st_cfile_commit(&c, e);
}
