/* train/rows.c — training and evaluation rows from a token-id file, a JSONL
 * corpus ("ids" or "text") or a plain text file (one document per line).
 * Every row is checked here (ids in [0, vocab), at least 2 tokens) so the
 * training loop never sees a bad id; rows longer than max_len are cropped to
 * their first max_len tokens and counted.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/tokenizer.h"
#include "train/train_internal.h"

typedef struct rows_builder {
    tr_rows *r;
    int64_t cap_rows, cap_tok;
} rows_builder;

/* mask: [n] loss-mask values of the row (NULL when the corpus has no mask) */
static int push_row(rows_builder *b, const int32_t *ids, const uint8_t *mask, int64_t n, int64_t line,
                    int32_t max_len)
{
    tr_rows *r = b->r;
    if (n > max_len) { n = max_len; r->n_cropped++; }
    if (r->n_rows + 1 >= b->cap_rows) {
        int64_t nc = b->cap_rows ? b->cap_rows * 2 : 1024;
        int64_t *no = realloc(r->off, sizeof(int64_t) * (size_t)(nc + 1));
        if (!no) return -1;
        r->off = no;
        int64_t *nl = realloc(r->line, sizeof(int64_t) * (size_t)nc);
        if (!nl) return -1;
        r->line = nl;
        b->cap_rows = nc;
    }
    int64_t used = r->off[r->n_rows];
    if (used + n > b->cap_tok) {
        int64_t nc = b->cap_tok ? b->cap_tok : 4096;
        while (nc < used + n) nc *= 2;
        int32_t *nt = realloc(r->tok, sizeof(int32_t) * (size_t)nc);
        if (!nt) return -1;
        r->tok = nt;
        if (mask) {
            uint8_t *nm = realloc(r->mask, (size_t)nc);
            if (!nm) return -1;
            r->mask = nm;
        }
        b->cap_tok = nc;
    }
    memcpy(r->tok + used, ids, sizeof(int32_t) * (size_t)n);
    if (mask) {
        memcpy(r->mask + used, mask, (size_t)n);
        for (int64_t k = 1; k < n; k++) r->n_targets += mask[k];
    } else {
        r->n_targets += n - 1;
    }
    r->line[r->n_rows] = line;
    r->n_rows++;
    r->off[r->n_rows] = used + n;
    if (n > r->max_row) r->max_row = n;
    return 0;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

/* ids buffer that grows */
typedef struct idbuf { int32_t *v; int64_t n, cap; } idbuf;
static int idbuf_push(idbuf *b, int32_t x)
{
    if (b->n == b->cap) {
        int64_t nc = b->cap ? b->cap * 2 : 256;
        int32_t *nv = realloc(b->v, sizeof(int32_t) * (size_t)nc);
        if (!nv) return -1;
        b->v = nv;
        b->cap = nc;
    }
    b->v[b->n++] = x;
    return 0;
}

static int tokenize_into(idbuf *b, struct strata_tokenizer *tok, const char *text, size_t len,
                         const char *path, int64_t line, st_err *err)
{
    int64_t n = strata_tokenize(tok, text, len, -1, b->v, b->cap, NULL);
    if (n > b->cap) {
        int32_t *nv = realloc(b->v, sizeof(int32_t) * (size_t)n);
        if (!nv) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        b->v = nv;
        b->cap = n;
        n = strata_tokenize(tok, text, len, -1, b->v, b->cap, NULL);
    }
    if (n < 0)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: tokenizer failed: %s", path, (long long)line,
                         strata_tokenizer_errmsg(tok));
    b->n = n;
    return STRATA_OK;
}

void tr_rows_free(tr_rows *r)
{
    free(r->off);
    free(r->tok);
    free(r->line);
    free(r->mask);
    memset(r, 0, sizeof *r);
}

/* The loss mask of one JSONL row: label `name` of object j, one value per id
 * (n of them), each 0, 1 or null (null: not a target). */
static int read_mask(const json_t *j, const char *name, int64_t n, uint8_t **buf, int64_t *cap,
                     const char *path, int64_t line, st_err *err)
{
    const json_t *lab = json_object_get(j, name);
    if (!lab)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: no per-token label \"%s\" (the loss mask)", path,
                         (long long)line, name);
    if (!json_is_array(lab))
        return st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: label \"%s\" is not a per-token list (the loss mask)",
                         path, (long long)line, name);
    if ((int64_t)json_array_size(lab) != n)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: label \"%s\" has %zu values for %lld ids", path,
                         (long long)line, name, json_array_size(lab), (long long)n);
    if (n > *cap) {
        uint8_t *nb = realloc(*buf, (size_t)n);
        if (!nb) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        *buf = nb;
        *cap = n;
    }
    size_t k;
    json_t *e;
    json_array_foreach(lab, k, e) {
        if (json_is_null(e)) { (*buf)[k] = 0; continue; }
        if (!json_is_integer(e) || (json_integer_value(e) != 0 && json_integer_value(e) != 1))
            return st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: \"%s\"[%zu] must be 0, 1 or null (the loss mask)",
                             path, (long long)line, name, k);
        (*buf)[k] = (uint8_t)json_integer_value(e);
    }
    return STRATA_OK;
}

int tr_rows_load(tr_rows *r, int kind, const char *path, struct strata_tokenizer *tok,
                 int32_t vocab, int32_t max_len, const char *mask_label, st_err *err)
{
    memset(r, 0, sizeof *r);
    rows_builder b = { r, 0, 0 };
    if (mask_label && kind != TR_INPUT_JSONL)
        return st_seterr(err, STRATA_ERR_ARG, "%s: a loss mask (label \"%s\") needs --jsonl rows with \"ids\" and per-token labels",
                         path, mask_label);
    r->off = calloc(1, sizeof(int64_t));
    if (!r->off) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    if (kind != TR_INPUT_TOKENS && !tok && kind == TR_INPUT_TEXT)
        return st_seterr(err, STRATA_ERR_ARG, "%s: a text file needs a tokenizer (--tokenizer DIR, or a model with one)", path);
    FILE *f = fopen(path, "rb");
    if (!f) return st_seterr(err, STRATA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int64_t lineno = 0;
    idbuf ids = { 0 };
    uint8_t *mask = NULL;
    int64_t mask_cap = 0;
    int rc = STRATA_OK;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if ((size_t)len != strlen(line)) {
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: line contains a NUL byte", path, (long long)lineno);
            break;
        }
        if (is_blank(line)) continue;
        ids.n = 0;
        if (kind == TR_INPUT_TOKENS) {
            const char *p = line;
            while (*p) {
                while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
                if (!*p) break;
                char *end;
                errno = 0;
                long long v = strtoll(p, &end, 10);
                if (end == p || (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')) {
                    rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: column %lld: not a token id (expected decimal integers separated by spaces)",
                                   path, (long long)lineno, (long long)(p - line) + 1);
                    break;
                }
                if (errno || v < 0 || v >= vocab) {
                    rc = st_seterr(err, STRATA_ERR_RANGE, "%s:%lld: token %lld: id %s outside the model's vocabulary [0, %d)",
                                   path, (long long)lineno, (long long)ids.n, errno ? "(overflow)" : "", vocab);
                    if (!errno) snprintf(err->msg, sizeof err->msg, "%s:%lld: token %lld: id %lld outside the model's vocabulary [0, %d)",
                                         path, (long long)lineno, (long long)ids.n, v, vocab);
                    break;
                }
                if (idbuf_push(&ids, (int32_t)v)) { rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); break; }
                p = end;
            }
            if (rc) break;
        } else if (kind == TR_INPUT_TEXT) {
            size_t n = (size_t)len;
            if (n && line[n - 1] == '\n') n--;
            if (n && line[n - 1] == '\r') n--;
            if ((rc = tokenize_into(&ids, tok, line, n, path, lineno, err))) break;
        } else {
            json_error_t je;
            json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
            if (!j || !json_is_object(j)) {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: %s", path, (long long)lineno,
                               j ? "not a JSON object" : je.text);
                json_decref(j);
                break;
            }
            json_t *jid = json_object_get(j, "ids"), *jtx = json_object_get(j, "text");
            if (jid && jtx) {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: has both \"ids\" and \"text\"", path, (long long)lineno);
            } else if (jid) {
                if (!json_is_array(jid)) {
                    rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: field \"ids\" is not an array", path, (long long)lineno);
                } else {
                    size_t k;
                    json_t *e;
                    json_array_foreach(jid, k, e) {
                        if (!json_is_integer(e)) {
                            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: \"ids\"[%zu] is not an integer", path, (long long)lineno, k);
                            break;
                        }
                        json_int_t v = json_integer_value(e);
                        if (v < 0 || v >= vocab) {
                            rc = st_seterr(err, STRATA_ERR_RANGE, "%s:%lld: \"ids\"[%zu] = %lld outside the model's vocabulary [0, %d)",
                                           path, (long long)lineno, k, (long long)v, vocab);
                            break;
                        }
                        if (idbuf_push(&ids, (int32_t)v)) { rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); break; }
                    }
                }
            } else if (jtx && mask_label) {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: a loss mask needs \"ids\" rows (per-token labels do not follow a tokenizer's \"text\")",
                               path, (long long)lineno);
            } else if (jtx) {
                if (!json_is_string(jtx))
                    rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: field \"text\" is not a string", path, (long long)lineno);
                else if (!tok)
                    rc = st_seterr(err, STRATA_ERR_ARG, "%s:%lld: \"text\" needs a tokenizer (--tokenizer DIR, or a model with one)", path, (long long)lineno);
                else
                    rc = tokenize_into(&ids, tok, json_string_value(jtx), json_string_length(jtx), path, lineno, err);
            } else {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: neither \"ids\" nor \"text\"", path, (long long)lineno);
            }
            if (!rc && mask_label) rc = read_mask(j, mask_label, ids.n, &mask, &mask_cap, path, lineno, err);
            json_decref(j);
            if (rc) break;
        }
        if (kind != TR_INPUT_TOKENS) {
            for (int64_t k = 0; k < ids.n; k++)
                if (ids.v[k] < 0 || ids.v[k] >= vocab) {
                    rc = st_seterr(err, STRATA_ERR_RANGE, "%s:%lld: token %lld: id %d outside the model's vocabulary [0, %d)",
                                   path, (long long)lineno, (long long)k, ids.v[k], vocab);
                    break;
                }
            if (rc) break;
        }
        if (ids.n < 2) {
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: a row needs at least 2 tokens (it has %lld)", path,
                           (long long)lineno, (long long)ids.n);
            break;
        }
        if (mask_label) {
            int64_t n = ids.n < max_len ? ids.n : max_len, any = 0;
            for (int64_t k = 1; k < n; k++) any += mask[k];
            if (!any) {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s:%lld: label \"%s\" selects no token to predict (no 1 after the first token%s)",
                               path, (long long)lineno, mask_label, n < ids.n ? " within the cropped row" : "");
                break;
            }
        }
        if (push_row(&b, ids.v, mask_label ? mask : NULL, ids.n, lineno, max_len)) {
            rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
            break;
        }
    }
    if (!rc && ferror(f)) rc = st_seterr(err, STRATA_ERR_IO, "%s: read error: %s", path, strerror(errno));
    free(line);
    free(ids.v);
    free(mask);
    fclose(f);
    if (!rc && r->n_rows == 0) rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: no rows (empty corpus)", path);
    if (rc) tr_rows_free(r);
    return rc;
}
