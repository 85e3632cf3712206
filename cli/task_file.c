/* cli/task_file.c — see task_file.h. */
#include "task_file.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/capture.h"
#include "strata/tokenizer.h"

typedef struct ibuf { int32_t *v; int64_t n, cap; } ibuf;

static int ib_push(ibuf *b, int32_t x)
{
    if (b->n == b->cap) {
        int64_t c = b->cap ? 2 * b->cap : 1024;
        int32_t *v = realloc(b->v, sizeof *v * (size_t)c);
        if (!v) return -1;
        b->v = v;
        b->cap = c;
    }
    b->v[b->n++] = x;
    return 0;
}

static int ob_push(int64_t **o, int64_t *cap, int64_t n, int64_t x)
{
    if (n >= *cap) {
        int64_t c = *cap ? 2 * *cap : 256;
        int64_t *v = realloc(*o, sizeof *v * (size_t)c);
        if (!v) return -1;
        *o = v;
        *cap = c;
    }
    (*o)[n] = x;
    return 0;
}

/* Appends one field (text or id array) to b; returns tokens added or -1
 * after printing. */
static int64_t add_field(const char *cmd, const char *path, int64_t line, const char *field,
                         json_t *v, int is_ids, strata_model *m, int add_bos, ibuf *b)
{
    int V = strata_model_config(m)->vocab_size;
    if (is_ids) {
        if (!json_is_array(v)) { fprintf(stderr, "strata %s: %s:%lld: \"%s\" must be an array of token ids\n", cmd, path, (long long)line, field); return -1; }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) >= V) {
                fprintf(stderr, "strata %s: %s:%lld: \"%s\"[%zu] is not a token id in [0, %d)\n", cmd, path, (long long)line, field, i, V);
                return -1;
            }
            if (ib_push(b, (int32_t)json_integer_value(e))) return -1;
        }
        return (int64_t)json_array_size(v);
    }
    if (!json_is_string(v)) { fprintf(stderr, "strata %s: %s:%lld: \"%s\" must be a string\n", cmd, path, (long long)line, field); return -1; }
    strata_tokenizer *tok = strata_model_tokenizer(m);
    if (!tok) {
        fprintf(stderr, "strata %s: %s:%lld: \"%s\" is text but the model has no tokenizer (give %s_ids)\n", cmd, path, (long long)line, field, field);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    int64_t cap = (int64_t)len + 8;
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    if (!ids) return -1;
    int64_t n = strata_tokenize(tok, s, len, add_bos, ids, cap, NULL);
    if (n < 0 || n > cap) {
        fprintf(stderr, "strata %s: %s:%lld: \"%s\": %s\n", cmd, path, (long long)line, field, strata_tokenizer_errmsg(tok));
        free(ids);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        if (ib_push(b, ids[i])) { free(ids); return -1; }
    free(ids);
    return n;
}

int cli_task_load(const char *cmd, const char *path, strata_model *m, int no_bos, cli_task *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "strata %s: %s: cannot open: ", cmd, path); perror(NULL); return -1; }
    ibuf P = { 0 }, A = { 0 };
    int64_t *po = NULL, *ao = NULL, pcap = 0, acap = 0, n = 0, line = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    int ok = ob_push(&po, &pcap, 0, 0) == 0 && ob_push(&ao, &acap, 0, 0) == 0;
    while (ok && (len = getline(&buf, &bcap, f)) >= 0) {
        line++;
        int blank = 1;
        for (ssize_t i = 0; i < len && blank; i++) blank = buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r';
        if (blank) continue;
        json_error_t je;
        json_t *o = json_loadb(buf, (size_t)len, 0, &je);
        if (!o || !json_is_object(o)) {
            fprintf(stderr, "strata %s: %s:%lld: not a JSON object%s%s\n", cmd, path, (long long)line, o ? "" : ": ", o ? "" : je.text);
            json_decref(o);
            ok = 0;
            break;
        }
        json_t *pt = json_object_get(o, "prompt"), *pi = json_object_get(o, "prompt_ids");
        json_t *at = json_object_get(o, "answer"), *ai = json_object_get(o, "answer_ids");
        const char *problem = NULL;
        if (pt && pi) problem = "has both \"prompt\" and \"prompt_ids\"";
        else if (at && ai) problem = "has both \"answer\" and \"answer_ids\"";
        else if (!pt && !pi) problem = "has no \"prompt\" (or \"prompt_ids\")";
        else if (!at && !ai) problem = "has no \"answer\" (or \"answer_ids\")";
        if (problem) {
            fprintf(stderr, "strata %s: %s:%lld: %s\n", cmd, path, (long long)line, problem);
            json_decref(o);
            ok = 0;
            break;
        }
        if (pt || at) t->uses_text = 1;
        int64_t np = add_field(cmd, path, line, pi ? "prompt_ids" : "prompt", pi ? pi : pt, pi != NULL, m, no_bos ? 0 : -1, &P);
        int64_t na = np < 0 ? -1 : add_field(cmd, path, line, ai ? "answer_ids" : "answer", ai ? ai : at, ai != NULL, m, 0, &A);
        json_decref(o);
        if (np < 0 || na < 0) { ok = 0; break; }
        if (np == 0 || na == 0) {
            fprintf(stderr, "strata %s: %s:%lld: \"%s\" is empty (gives no tokens)\n", cmd, path, (long long)line,
                    np == 0 ? (pi ? "prompt_ids" : "prompt") : (ai ? "answer_ids" : "answer"));
            ok = 0;
            break;
        }
        n++;
        if (ob_push(&po, &pcap, n, P.n) || ob_push(&ao, &acap, n, A.n)) { fprintf(stderr, "strata %s: out of memory\n", cmd); ok = 0; }
    }
    free(buf);
    fclose(f);
    if (ok && n == 0) { fprintf(stderr, "strata %s: %s: no task lines (empty file)\n", cmd, path); ok = 0; }
    if (!ok) { free(P.v); free(A.v); free(po); free(ao); return -1; }
    t->n = n;
    t->prompt_ids = P.v;
    t->answer_ids = A.v;
    t->prompt_off = po;
    t->answer_off = ao;
    return 0;
}

void cli_task_free(cli_task *t)
{
    if (!t) return;
    free(t->prompt_ids);
    free(t->answer_ids);
    free(t->prompt_off);
    free(t->answer_off);
    memset(t, 0, sizeof *t);
}

int cli_docs_load(const char *cmd, const char *path, int kind, strata_model *m, int no_bos,
                  int32_t **tokens, int32_t **lengths, int *Tout, int64_t *truncated)
{
    const strata_config *c = strata_model_config(m);
    strata_tokenizer *tok = strata_model_tokenizer(m);
    if (kind == 0 && !tok) {
        fprintf(stderr, "strata %s: %s: text documents need the model's tokenizer, and this model has none (use a token-id file)\n", cmd, path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "strata %s: %s: cannot open: ", cmd, path); perror(NULL); return -1; }
    ibuf all = { 0 };
    int64_t *off = NULL, ocap = 0, n = 0, line = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    int ok = ob_push(&off, &ocap, 0, 0) == 0;
    *truncated = 0;
    while (ok && (len = getline(&buf, &bcap, f)) >= 0) {
        line++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
        int blank = 1;
        for (ssize_t i = 0; i < len && blank; i++) blank = buf[i] == ' ' || buf[i] == '\t';
        if (blank) continue;
        int64_t start = all.n, cnt;
        if (kind == 0) {
            int64_t cap = (int64_t)len + 8;
            int32_t *ids = malloc(sizeof *ids * (size_t)cap);
            cnt = ids ? strata_tokenize(tok, buf, (size_t)len, no_bos ? 0 : -1, ids, cap, NULL) : -1;
            if (cnt < 0 || cnt > cap) {
                fprintf(stderr, "strata %s: %s:%lld: %s\n", cmd, path, (long long)line, ids ? strata_tokenizer_errmsg(tok) : "out of memory");
                free(ids);
                ok = 0;
                break;
            }
            for (int64_t i = 0; i < cnt && ok; i++) ok = ib_push(&all, ids[i]) == 0;
            free(ids);
        } else {
            char *p = buf;
            cnt = 0;
            while (ok) {
                while (*p == ' ' || *p == ',' || *p == '\t') p++;
                if (!*p) break;
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p || v < 0 || v >= c->vocab_size || (*end && *end != ' ' && *end != ',' && *end != '\t')) {
                    fprintf(stderr, "strata %s: %s:%lld: token %lld is not an id in [0, %d)\n", cmd, path, (long long)line, (long long)cnt, c->vocab_size);
                    ok = 0;
                    break;
                }
                ok = ib_push(&all, (int32_t)v) == 0;
                cnt++;
                p = end;
            }
        }
        if (!ok) break;
        if (cnt == 0) continue;
        if (cnt > c->n_ctx) { all.n = start + c->n_ctx; (*truncated)++; }
        n++;
        ok = ob_push(&off, &ocap, n, all.n) == 0;
    }
    free(buf);
    fclose(f);
    if (ok && n == 0) { fprintf(stderr, "strata %s: %s: no documents (empty file)\n", cmd, path); ok = 0; }
    int T = 0;
    for (int64_t i = 0; ok && i < n; i++) if (off[i + 1] - off[i] > T) T = (int)(off[i + 1] - off[i]);
    int32_t *tk = ok ? malloc(sizeof *tk * (size_t)n * T) : NULL, *ln = ok ? malloc(sizeof *ln * (size_t)n) : NULL;
    if (ok && (!tk || !ln)) { fprintf(stderr, "strata %s: out of memory\n", cmd); ok = 0; }
    if (!ok) { free(all.v); free(off); free(tk); free(ln); return -1; }
    for (int64_t i = 0; i < n; i++) {
        ln[i] = (int32_t)(off[i + 1] - off[i]);
        for (int t = 0; t < T; t++) tk[i * T + t] = all.v[off[i] + (t < ln[i] ? t : 0)];
    }
    free(all.v);
    free(off);
    *tokens = tk;
    *lengths = ln;
    *Tout = T;
    return (int)n;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

int cli_docs_median_length(const char *cmd, const char *path, int kind, strata_model *m, int no_bos)
{
    if (kind != STRATA_INPUT_JSONL) {
        int32_t *tok, *len;
        int T;
        int64_t tr;
        int n = cli_docs_load(cmd, path, kind == STRATA_INPUT_TEXT ? 0 : 2, m, no_bos, &tok, &len, &T, &tr);
        if (n < 0) return -1;
        qsort(len, (size_t)n, sizeof *len, cmp_int);
        int med = len[n / 2];
        free(tok);
        free(len);
        return med;
    }
    const strata_config *c = strata_model_config(m);
    strata_tokenizer *tok = strata_model_tokenizer(m);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "strata %s: %s: cannot open: ", cmd, path); perror(NULL); return -1; }
    int *lens = NULL, n = 0, cap = 0, rc = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    int64_t line = 0;
    while ((len = getline(&buf, &bcap, f)) >= 0) {
        line++;
        json_t *o = json_loadb(buf, (size_t)len, 0, NULL);
        if (!o) continue;  /* blank or malformed: the capture reader reports those */
        json_t *t = json_object_get(o, "text"), *ids = json_object_get(o, "ids");
        int64_t L = -1;
        if (json_is_array(ids)) L = (int64_t)json_array_size(ids);
        else if (json_is_string(t) && tok) {
            size_t sl = json_string_length(t);
            int32_t *tmp = malloc(sizeof *tmp * (sl + 8));
            if (tmp) L = strata_tokenize(tok, json_string_value(t), sl, no_bos ? 0 : -1, tmp, (int64_t)sl + 8, NULL);
            free(tmp);
        }
        json_decref(o);
        if (L <= 0) continue;
        if (L > c->n_ctx) L = c->n_ctx;
        if (n == cap) {
            int nc = cap ? 2 * cap : 256;
            int *v = realloc(lens, sizeof *v * (size_t)nc);
            if (!v) { rc = -1; break; }
            lens = v;
            cap = nc;
        }
        lens[n++] = (int)L;
    }
    free(buf);
    fclose(f);
    if (!rc && n == 0) { fprintf(stderr, "strata %s: %s: no documents with text or ids\n", cmd, path); rc = -1; }
    int med = -1;
    if (!rc) {
        qsort(lens, (size_t)n, sizeof *lens, cmp_int);
        med = lens[n / 2];
    }
    free(lens);
    return med;
}
