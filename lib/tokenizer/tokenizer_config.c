/* tokenizer/tokenizer_config.c — BOS/EOS from tokenizer_config.json and
 * config.json beside the tokenizer.
 *
 * tokenizer_config.json: bos_token / eos_token (a string or {"content": s}),
 * add_bos_token / add_eos_token.  When add_*_token is given it decides
 * whether the default encoding puts BOS first / EOS last (as transformers'
 * Llama tokenizers rebuild their post-processor from these flags); otherwise
 * tokenizer.json's post-processor decides.  config.json's bos_token_id /
 * eos_token_id fill in ids still unknown.  Both files are optional.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokenizer/tok_internal.h"

static int32_t token_field(const strata_tokenizer *t, const json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "content"));
    return s ? st_tok_lookup(t, s, strlen(s)) : -1;
}

static void drop(int32_t *arr, int *n, int32_t id)
{
    int k = 0;
    for (int i = 0; i < *n; i++) if (arr[i] != id) arr[k++] = arr[i];
    *n = k;
}

static int has(const int32_t *arr, int n, int32_t id)
{
    for (int i = 0; i < n; i++) if (arr[i] == id) return 1;
    return 0;
}

static json_t *load_optional(strata_tokenizer *t, const char *dir, const char *name, int *rc)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *rc = STRATA_OK;
    if (stat(path, &st) != 0) return NULL;
    json_error_t je;
    /* ints as reals: model_max_length is often 1e30, too big for json_int_t */
    json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
    if (!j || !json_is_object(j)) {
        *rc = st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: invalid JSON at line %d, column %d: %s", path,
                        je.line, je.column, j ? "not an object" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

int st_load_tokenizer_config(strata_tokenizer *t, const char *dir)
{
    int rc;
    json_t *tc = load_optional(t, dir, "tokenizer_config.json", &rc);
    if (rc) return rc;
    if (tc) {
        int32_t id = token_field(t, json_object_get(tc, "bos_token"));
        if (id >= 0) t->bos = id;
        id = token_field(t, json_object_get(tc, "eos_token"));
        if (id >= 0) t->eos = id;
    }
    json_t *cfg = load_optional(t, dir, "config.json", &rc);
    if (rc) { json_decref(tc); return rc; }
    if (cfg) {
        const json_t *b = json_object_get(cfg, "bos_token_id"), *e = json_object_get(cfg, "eos_token_id");
        if (t->bos < 0 && json_is_number(b) && json_number_value(b) >= 0 && json_number_value(b) < t->n_vocab)
            t->bos = (int32_t)json_number_value(b);
        if (t->eos < 0 && json_is_number(e) && json_number_value(e) >= 0 && json_number_value(e) < t->n_vocab)
            t->eos = (int32_t)json_number_value(e);
        json_decref(cfg);
    }
    if (tc) {
        const json_t *ab = json_object_get(tc, "add_bos_token"), *ae = json_object_get(tc, "add_eos_token");
        if (json_is_boolean(ab) && t->bos >= 0) {
            if (json_is_true(ab) && !has(t->prefix, t->n_prefix, t->bos)) {
                if (t->n_prefix < 8) {
                    memmove(t->prefix + 1, t->prefix, (size_t)t->n_prefix * sizeof *t->prefix);
                    t->prefix[0] = t->bos;
                    t->n_prefix++;
                }
            } else if (!json_is_true(ab)) {
                drop(t->prefix, &t->n_prefix, t->bos);
            }
        }
        if (json_is_boolean(ae) && t->eos >= 0) {
            if (json_is_true(ae) && !has(t->suffix, t->n_suffix, t->eos)) {
                if (t->n_suffix < 8) t->suffix[t->n_suffix++] = t->eos;
            } else if (!json_is_true(ae)) {
                drop(t->suffix, &t->n_suffix, t->eos);
            }
        }
        json_decref(tc);
    }
    return STRATA_OK;
}
