/* tokenizer/tokenizer_json.c — loads a Hugging Face tokenizer.json.
 *
 * Supported: model BPE (vocab, merges as "a b" or ["a","b"], unk_token,
 * fuse_unk, byte_fallback, ignore_merges) and WordLevel (vocab, unk_token);
 * added_tokens; normalizers
 * Sequence / Prepend / Replace(String); pre-tokenizers Sequence / ByteLevel /
 * Split / Metaspace / Digits / Whitespace / WhitespaceSplit; post-processors
 * TemplateProcessing / ByteLevel / RobertaProcessing / BertProcessing /
 * Sequence; decoders Sequence / ByteLevel / Replace(String) / ByteFallback /
 * Fuse / Strip / Metaspace.  Anything else is STRATA_ERR_UNSUPPORTED with the
 * field named, never silently skipped.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode_norm.h"

#define FMT(...) st_seterr(&t->err, STRATA_ERR_FORMAT, __VA_ARGS__)
#define UNSUP(...) st_seterr(&t->err, STRATA_ERR_UNSUPPORTED, __VA_ARGS__)
#define NOMEM() st_seterr(&t->err, STRATA_ERR_NOMEM, "%s: out of memory", path)

static int jbool(const json_t *o, const char *k, int dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static char *dupn(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) { memcpy(c, s, n); c[n] = '\0'; }
    return c;
}

static int add_norm(strata_tokenizer *t, int kind, const char *a, size_t alen, const char *b,
                    size_t blen, int first_only)
{
    st_norm *nn = realloc(t->norms, (size_t)(t->n_norms + 1) * sizeof *nn);
    if (!nn) return STRATA_ERR_NOMEM;
    t->norms = nn;
    st_norm *e = &nn[t->n_norms];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->first_only = first_only;
    e->a = dupn(a, alen);
    e->alen = alen;
    e->b = b ? dupn(b, blen) : NULL;
    e->blen = blen;
    t->n_norms++;
    if (!e->a || (b && !e->b)) return STRATA_ERR_NOMEM;
    return STRATA_OK;
}

static int add_split(strata_tokenizer *t, const char *pat, size_t plen, int behavior, int invert,
                     const char *where)
{
    pcre2_code *re;
    ST_TRY(st_regex_compile(pat, plen, &re, &t->err, where));
    st_split *ns = realloc(t->splits, (size_t)(t->n_splits + 1) * sizeof *ns);
    if (!ns) { pcre2_code_free(re); return STRATA_ERR_NOMEM; }
    t->splits = ns;
    ns[t->n_splits++] = (st_split){ re, behavior, invert };
    return STRATA_OK;
}

/* A literal string as a regex: every non-alphanumeric ASCII byte escaped. */
static char *regex_literal(const char *s, size_t n, size_t *olen)
{
    char *r = malloc(2 * n + 1);
    if (!r) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            r[k++] = '\\';
        r[k++] = (char)c;
    }
    r[k] = '\0';
    *olen = k;
    return r;
}

static int add_dec(strata_tokenizer *t, int kind, const char *a, const char *b, int start, int stop)
{
    st_dec *nd = realloc(t->decs, (size_t)(t->n_decs + 1) * sizeof *nd);
    if (!nd) return STRATA_ERR_NOMEM;
    t->decs = nd;
    st_dec *e = &nd[t->n_decs];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->start = start;
    e->stop = stop;
    t->n_decs++;
    if (a) { e->a = strdup(a); e->alen = strlen(a); if (!e->a) return STRATA_ERR_NOMEM; }
    if (b) { e->b = strdup(b); e->blen = strlen(b); if (!e->b) return STRATA_ERR_NOMEM; }
    return STRATA_OK;
}

/* pattern: {"String": s} or {"Regex": r}; returns a regex (malloc'd) */
static int pattern_regex(strata_tokenizer *t, const char *path, const json_t *pat, const char *where,
                         char **out, size_t *olen, int *is_string)
{
    const char *s = jstr(pat, "String"), *r = jstr(pat, "Regex");
    *is_string = s != NULL;
    if (s) {
        *out = regex_literal(s, strlen(s), olen);
    } else if (r) {
        *out = strdup(r);
        *olen = strlen(r);
    } else {
        return FMT("%s: %s.pattern must be {\"String\": ...} or {\"Regex\": ...}", path, where);
    }
    return *out ? STRATA_OK : NOMEM();
}

/* ---------------------------------------------------------------- model */

static int load_model(strata_tokenizer *t, const char *path, const json_t *model)
{
    const char *type = jstr(model, "type");
    const json_t *vocab = json_object_get(model, "vocab");
    const json_t *merges = json_object_get(model, "merges");
    if (!type) {
        if (json_object_get(model, "type")) return FMT("%s: model.type is not a string", path);
        if (!merges) return UNSUP("%s: model has no 'type' and no 'merges' (only BPE is supported)", path);
        type = "BPE";   /* older hub files omit it */
    }
    t->word_level = !strcmp(type, "WordLevel");
    if (strcmp(type, "BPE") && !t->word_level)
        return UNSUP("%s: model.type '%s' is not supported (only BPE and WordLevel)", path, type);
    if (!json_is_object(vocab)) return FMT("%s: model.vocab is missing or not an object", path);
    if (t->word_level && merges) return FMT("%s: a WordLevel model has no merges", path);
    if (!t->word_level && !json_is_array(merges))
        return FMT("%s: model.merges is missing or not an array", path);
    const char *cont = jstr(model, "continuing_subword_prefix");
    const char *suff = jstr(model, "end_of_word_suffix");
    if (cont && *cont)
        return UNSUP("%s: model.continuing_subword_prefix '%s' is not supported", path, cont);
    if (suff && *suff) return UNSUP("%s: model.end_of_word_suffix '%s' is not supported", path, suff);

    /* vocab: piece -> id */
    const char *key;
    json_t *val;
    json_int_t maxid = -1;
    json_object_foreach((json_t *)vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) >= ST_TOK_MAX_ID)
            return FMT("%s: model.vocab[\"%.80s\"] is not an integer id in [0, %d)", path, key,
                       ST_TOK_MAX_ID);
        if (json_integer_value(val) > maxid) maxid = json_integer_value(val);
    }
    if (maxid < 0) return FMT("%s: model.vocab is empty", path);
    if (st_tok_alloc_vocab(t, (int32_t)maxid + 1)) return NOMEM();
    json_object_foreach((json_t *)vocab, key, val) {
        size_t kl = strlen(key);   /* jansson keys are NUL-free unless \u0000 */
        int32_t id = (int32_t)json_integer_value(val);
        if (st_tok_set_piece(t, id, key, kl) || st_strmap_put(&t->vocab, key, kl, id)) return NOMEM();
    }

    if (t->word_level) {
        /* HF's WordLevel default unk_token is "<unk>" */
        const char *unk = json_object_get(model, "unk_token") ? jstr(model, "unk_token") : "<unk>";
        if (!unk) return FMT("%s: model.unk_token is not a string", path);
        t->unk_id = st_strmap_get(&t->vocab, unk, strlen(unk));
        return st_pairmap_init(&t->merges, 1) < 0 ? NOMEM() : STRATA_OK;
    }

    /* merges, rank = position */
    size_t nm = json_array_size(merges);
    if (st_pairmap_init(&t->merges, nm + 1) < 0) return NOMEM();
    char *buf = NULL;
    size_t bcap = 0;
    for (size_t i = 0; i < nm; i++) {
        const json_t *m = json_array_get(merges, i);
        const char *a, *b;
        size_t al, bl;
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            const char *sp = strchr(s, ' ');
            if (!sp) { free(buf); return FMT("%s: model.merges[%zu] \"%.80s\" is not \"left right\"", path, i, s); }
            a = s; al = (size_t)(sp - s);
            b = sp + 1; bl = strlen(b);
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0)); al = strlen(a);
            b = json_string_value(json_array_get(m, 1)); bl = strlen(b);
        } else {
            free(buf);
            return FMT("%s: model.merges[%zu] is neither \"left right\" nor [\"left\", \"right\"]", path, i);
        }
        int32_t ia = st_strmap_get(&t->vocab, a, al), ib = st_strmap_get(&t->vocab, b, bl);
        if (ia < 0 || ib < 0) {
            free(buf);
            return FMT("%s: model.merges[%zu]: '%.*s' is not in the vocabulary", path, i,
                       (int)(ia < 0 ? al : bl), ia < 0 ? a : b);
        }
        if (!buf || al + bl > bcap) {
            bcap = 2 * (al + bl) + 64;
            char *nb = realloc(buf, bcap);
            if (!nb) { free(buf); return NOMEM(); }
            buf = nb;
        }
        memcpy(buf, a, al);
        memcpy(buf + al, b, bl);
        int32_t im = st_strmap_get(&t->vocab, buf, al + bl);
        if (im < 0) {
            int r = FMT("%s: model.merges[%zu]: the merged piece '%.*s' is not in the vocabulary", path, i,
                        (int)(al + bl), buf);
            free(buf);
            return r;
        }
        if (st_pairmap_put(&t->merges, ia, ib, (int32_t)i, im)) { free(buf); return NOMEM(); }
    }
    free(buf);

    const char *unk = jstr(model, "unk_token");
    t->unk_id = unk ? st_strmap_get(&t->vocab, unk, strlen(unk)) : -1;
    t->fuse_unk = jbool(model, "fuse_unk", 0);
    t->byte_fallback = jbool(model, "byte_fallback", 0);
    t->ignore_merges = jbool(model, "ignore_merges", 0);
    return STRATA_OK;
}

/* ---------------------------------------------------------------- added tokens */

static int load_added(strata_tokenizer *t, const char *path, const json_t *arr)
{
    if (!arr || json_is_null(arr)) return STRATA_OK;
    if (!json_is_array(arr)) return FMT("%s: added_tokens is not an array", path);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const json_t *id = json_object_get(o, "id");
        const char *c = jstr(o, "content");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= ST_TOK_MAX_ID)
            return FMT("%s: added_tokens[%zu].id is missing or not an integer in [0, %d)", path, i,
                       ST_TOK_MAX_ID);
        if (!c || !*c) return FMT("%s: added_tokens[%zu].content is missing or empty", path, i);
        int32_t iid = (int32_t)json_integer_value(id);
        if (st_tok_add_added(t, iid, c, strlen(c), jbool(o, "special", 0))) return NOMEM();
        st_added *a = &t->added[t->n_added - 1];
        a->lstrip = jbool(o, "lstrip", 0);
        a->rstrip = jbool(o, "rstrip", 0);
        a->single_word = jbool(o, "single_word", 0);
        a->normalized = jbool(o, "normalized", 0);
    }
    return STRATA_OK;
}

/* ---------------------------------------------------------------- normalizer */

static int load_normalizer(strata_tokenizer *t, const char *path, const json_t *n, const char *where)
{
    if (!n || json_is_null(n)) return STRATA_OK;
    const char *type = jstr(n, "type");
    if (!type) return FMT("%s: %s.type is missing", path, where);
    char w[160];
    if (!strcmp(type, "Sequence")) {
        const json_t *arr = json_object_get(n, "normalizers");
        if (!json_is_array(arr)) return FMT("%s: %s.normalizers is not an array", path, where);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(w, sizeof w, "%s.normalizers[%zu]", where, i);
            ST_TRY(load_normalizer(t, path, json_array_get(arr, i), w));
        }
        return STRATA_OK;
    }
    if (!strcmp(type, "Prepend")) {
        const char *p = jstr(n, "prepend");
        if (!p) return FMT("%s: %s.prepend is missing", path, where);
        return add_norm(t, ST_NORM_PREPEND, p, strlen(p), NULL, 0, 0) ? NOMEM() : STRATA_OK;
    }
    if (!strcmp(type, "Replace")) {
        const json_t *pat = json_object_get(n, "pattern");
        const char *s = jstr(pat, "String"), *c = jstr(n, "content");
        if (!c) return FMT("%s: %s.content is missing", path, where);
        if (!s) {
            if (jstr(pat, "Regex")) return UNSUP("%s: %s: Replace with a Regex pattern is not supported", path, where);
            return FMT("%s: %s.pattern is missing", path, where);
        }
        if (!*s) return FMT("%s: %s.pattern is empty", path, where);
        return add_norm(t, ST_NORM_REPLACE, s, strlen(s), c, strlen(c), 0) ? NOMEM() : STRATA_OK;
    }
    static const char *forms[] = { "NFC", "NFD", "NFKC", "NFKD" };
    for (int f = 0; f < 4; f++)
        if (!strcmp(type, forms[f])) {
            if (add_norm(t, ST_NORM_UNICODE, "", 0, NULL, 0, 0)) return NOMEM();
            t->norms[t->n_norms - 1].form = f;
            return STRATA_OK;
        }
    return UNSUP("%s: %s.type '%s' is not supported (Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD are)",
                 path, where, type);
}

/* ---------------------------------------------------------------- pre-tokenizer */

static int load_pretok(strata_tokenizer *t, const char *path, const json_t *p, const char *where)
{
    if (!p || json_is_null(p)) return STRATA_OK;
    const char *type = jstr(p, "type");
    if (!type) return FMT("%s: %s.type is missing", path, where);
    char w[160];
    if (!strcmp(type, "Sequence")) {
        const json_t *arr = json_object_get(p, "pretokenizers");
        if (!json_is_array(arr)) return FMT("%s: %s.pretokenizers is not an array", path, where);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(w, sizeof w, "%s.pretokenizers[%zu]", where, i);
            ST_TRY(load_pretok(t, path, json_array_get(arr, i), w));
        }
        return STRATA_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        t->bytelevel = 1;
        if (jbool(p, "add_prefix_space", 1)) {
            if (t->n_splits) return UNSUP("%s: %s: ByteLevel add_prefix_space after a split is not supported", path, where);
            if (add_norm(t, ST_NORM_PREFIX_IF_MISSING, " ", 1, NULL, 0, 0)) return NOMEM();
        }
        if (jbool(p, "use_regex", 1))
            ST_TRY(add_split(t, st_gpt2_pattern, strlen(st_gpt2_pattern), ST_SPLIT_ISOLATED, 0, where));
        return STRATA_OK;
    }
    if (!strcmp(type, "Split")) {
        const char *beh = jstr(p, "behavior");
        int b;
        if (!beh) return FMT("%s: %s.behavior is missing", path, where);
        if (!strcmp(beh, "Removed")) b = ST_SPLIT_REMOVED;
        else if (!strcmp(beh, "Isolated")) b = ST_SPLIT_ISOLATED;
        else if (!strcmp(beh, "MergedWithPrevious")) b = ST_SPLIT_MERGED_PREV;
        else if (!strcmp(beh, "MergedWithNext")) b = ST_SPLIT_MERGED_NEXT;
        else if (!strcmp(beh, "Contiguous")) b = ST_SPLIT_CONTIGUOUS;
        else return FMT("%s: %s.behavior '%s' is unknown", path, where, beh);
        char *re;
        size_t rl;
        int is_string;
        ST_TRY(pattern_regex(t, path, json_object_get(p, "pattern"), where, &re, &rl, &is_string));
        snprintf(w, sizeof w, "%s: %s.pattern", path, where);
        int rc = add_split(t, re, rl, b, jbool(p, "invert", 0), w);
        free(re);
        return rc;
    }
    if (!strcmp(type, "Metaspace")) {
        if (t->n_splits) return UNSUP("%s: %s: Metaspace after a split is not supported", path, where);
        const char *rep = jstr(p, "replacement");
        if (!rep) rep = "\xE2\x96\x81";
        const char *scheme = jstr(p, "prepend_scheme");
        int prepend = 1, first_only = 0;
        if (scheme) {
            if (!strcmp(scheme, "never")) prepend = 0;
            else if (!strcmp(scheme, "first")) first_only = 1;
            else if (strcmp(scheme, "always")) return FMT("%s: %s.prepend_scheme '%s' is unknown", path, where, scheme);
        } else {
            prepend = jbool(p, "add_prefix_space", 1);
        }
        if (add_norm(t, ST_NORM_REPLACE, " ", 1, rep, strlen(rep), 0)) return NOMEM();
        if (prepend && add_norm(t, ST_NORM_PREFIX_IF_MISSING, rep, strlen(rep), NULL, 0, first_only))
            return NOMEM();
        if (jbool(p, "split", 1)) {
            size_t rl;
            char *re = regex_literal(rep, strlen(rep), &rl);
            if (!re) return NOMEM();
            int rc = add_split(t, re, rl, ST_SPLIT_MERGED_NEXT, 0, where);
            free(re);
            return rc;
        }
        return STRATA_OK;
    }
    if (!strcmp(type, "Digits")) {
        const char *re = jbool(p, "individual_digits", 0) ? "\\p{N}" : "\\p{N}+";
        return add_split(t, re, strlen(re), ST_SPLIT_ISOLATED, 0, where);
    }
    if (!strcmp(type, "Whitespace")) {
        const char *re = "\\w+|[^\\w\\s]+";
        return add_split(t, re, strlen(re), ST_SPLIT_REMOVED, 1, where);
    }
    if (!strcmp(type, "WhitespaceSplit")) {
        const char *re = "\\s+";
        return add_split(t, re, strlen(re), ST_SPLIT_REMOVED, 0, where);
    }
    return UNSUP("%s: %s.type '%s' is not supported (Sequence, ByteLevel, Split, Metaspace, Digits, "
                 "Whitespace, WhitespaceSplit are)", path, where, type);
}

/* ---------------------------------------------------------------- post-processor */

static int push_id(strata_tokenizer *t, const char *path, int32_t *arr, int *n, int32_t id, const char *where)
{
    if (*n >= 8) return UNSUP("%s: %s: more than 8 special tokens around the text", path, where);
    arr[(*n)++] = id;
    return STRATA_OK;
}

static int load_post(strata_tokenizer *t, const char *path, const json_t *p, const char *where)
{
    if (!p || json_is_null(p)) return STRATA_OK;
    const char *type = jstr(p, "type");
    if (!type) return FMT("%s: %s.type is missing", path, where);
    char w[160];
    if (!strcmp(type, "Sequence")) {
        const json_t *arr = json_object_get(p, "processors");
        if (!json_is_array(arr)) return FMT("%s: %s.processors is not an array", path, where);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(w, sizeof w, "%s.processors[%zu]", where, i);
            ST_TRY(load_post(t, path, json_array_get(arr, i), w));
        }
        return STRATA_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        t->trim_offsets = jbool(p, "trim_offsets", 0);
        return STRATA_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        const json_t *single = json_object_get(p, "single");
        const json_t *sp = json_object_get(p, "special_tokens");
        if (!json_is_array(single)) return FMT("%s: %s.single is not an array", path, where);
        int seen_seq = 0;
        t->n_prefix = t->n_suffix = 0;
        for (size_t i = 0; i < json_array_size(single); i++) {
            const json_t *it = json_array_get(single, i);
            if (json_object_get(it, "Sequence")) { seen_seq = 1; continue; }
            const char *name = jstr(json_object_get(it, "SpecialToken"), "id");
            if (!name) return FMT("%s: %s.single[%zu] is neither SpecialToken nor Sequence", path, where, i);
            const json_t *ids = json_object_get(json_object_get(sp, name), "ids");
            if (!json_is_array(ids))
                return FMT("%s: %s.special_tokens[\"%s\"].ids is missing", path, where, name);
            for (size_t k = 0; k < json_array_size(ids); k++) {
                const json_t *v = json_array_get(ids, k);
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= INT32_MAX)
                    return FMT("%s: %s.special_tokens[\"%s\"].ids[%zu] is not a token id", path, where, name, k);
                ST_TRY(seen_seq ? push_id(t, path, t->suffix, &t->n_suffix, (int32_t)json_integer_value(v), where)
                                : push_id(t, path, t->prefix, &t->n_prefix, (int32_t)json_integer_value(v), where));
            }
        }
        return STRATA_OK;
    }
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        const json_t *cls = json_object_get(p, "cls"), *sep = json_object_get(p, "sep");
        if (!json_is_integer(json_array_get(cls, 1)) || !json_is_integer(json_array_get(sep, 1)))
            return FMT("%s: %s.cls / .sep must be [\"token\", id]", path, where);
        t->n_prefix = t->n_suffix = 0;
        t->prefix[t->n_prefix++] = (int32_t)json_integer_value(json_array_get(cls, 1));
        t->suffix[t->n_suffix++] = (int32_t)json_integer_value(json_array_get(sep, 1));
        return STRATA_OK;
    }
    return UNSUP("%s: %s.type '%s' is not supported", path, where, type);
}

/* ---------------------------------------------------------------- decoder */

static int load_decoder(strata_tokenizer *t, const char *path, const json_t *d, const char *where)
{
    if (!d || json_is_null(d)) return STRATA_OK;
    t->has_decoder = 1;
    const char *type = jstr(d, "type");
    if (!type) return FMT("%s: %s.type is missing", path, where);
    char w[160];
    int rc;
    if (!strcmp(type, "Sequence")) {
        const json_t *arr = json_object_get(d, "decoders");
        if (!json_is_array(arr)) return FMT("%s: %s.decoders is not an array", path, where);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(w, sizeof w, "%s.decoders[%zu]", where, i);
            ST_TRY(load_decoder(t, path, json_array_get(arr, i), w));
        }
        return STRATA_OK;
    }
    if (!strcmp(type, "ByteLevel")) rc = add_dec(t, ST_DEC_BYTELEVEL, NULL, NULL, 0, 0);
    else if (!strcmp(type, "ByteFallback")) rc = add_dec(t, ST_DEC_BYTEFALLBACK, NULL, NULL, 0, 0);
    else if (!strcmp(type, "Fuse")) rc = add_dec(t, ST_DEC_FUSE, NULL, NULL, 0, 0);
    else if (!strcmp(type, "Replace")) {
        const json_t *pat = json_object_get(d, "pattern");
        const char *s = jstr(pat, "String"), *c = jstr(d, "content");
        if (!s || !c) {
            if (jstr(pat, "Regex")) return UNSUP("%s: %s: Replace with a Regex pattern is not supported", path, where);
            return FMT("%s: %s needs pattern.String and content", path, where);
        }
        rc = add_dec(t, ST_DEC_REPLACE, s, c, 0, 0);
    } else if (!strcmp(type, "Strip")) {
        const char *c = jstr(d, "content");
        const json_t *a = json_object_get(d, "start"), *b = json_object_get(d, "stop");
        if (!c || !json_is_integer(a) || !json_is_integer(b))
            return FMT("%s: %s needs content, start and stop", path, where);
        rc = add_dec(t, ST_DEC_STRIP, c, NULL, (int)json_integer_value(a), (int)json_integer_value(b));
    } else if (!strcmp(type, "Metaspace")) {
        const char *rep = jstr(d, "replacement");
        const char *scheme = jstr(d, "prepend_scheme");
        int strip = scheme ? strcmp(scheme, "never") != 0 : jbool(d, "add_prefix_space", 1);
        rc = add_dec(t, ST_DEC_METASPACE, rep ? rep : "\xE2\x96\x81", NULL, strip, 0);
    } else {
        return UNSUP("%s: %s.type '%s' is not supported", path, where, type);
    }
    return rc ? NOMEM() : STRATA_OK;
}

/* ---------------------------------------------------------------- entry */

int st_load_tokenizer_json(strata_tokenizer *t, const char *path)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot open: %s", path, je.text);
        fclose(f);
        return FMT("%s: invalid JSON at line %d, column %d: %s", path, je.line, je.column, je.text);
    }
    int rc = st_load_tokenizer_json_obj(t, path, root);
    json_decref(root);
    return rc;
}

int st_load_tokenizer_json_obj(strata_tokenizer *t, const char *path, const json_t *root)
{
    int rc;
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(root)) rc = FMT("%s: the top level is not a JSON object", path);
    else if (!json_is_object(model)) rc = FMT("%s: field 'model' is missing or not an object", path);
    else rc = load_model(t, path, model);
    if (rc == STRATA_OK) rc = load_added(t, path, json_object_get(root, "added_tokens"));
    if (rc == STRATA_OK) rc = load_normalizer(t, path, json_object_get(root, "normalizer"), "normalizer");
    if (rc == STRATA_OK) rc = load_pretok(t, path, json_object_get(root, "pre_tokenizer"), "pre_tokenizer");
    if (rc == STRATA_OK) rc = load_post(t, path, json_object_get(root, "post_processor"), "post_processor");
    if (rc == STRATA_OK) rc = load_decoder(t, path, json_object_get(root, "decoder"), "decoder");
    if (rc == STRATA_OK) {
        for (int i = 0; i < t->n_prefix + t->n_suffix; i++) {
            int32_t id = i < t->n_prefix ? t->prefix[i] : t->suffix[i - t->n_prefix];
            if (id < 0 || id >= t->n_vocab || !t->piece[id])
                rc = FMT("%s: post_processor names token id %d, which is not in the vocabulary", path, id);
        }
        if (t->n_prefix) t->bos = t->prefix[0];
        t->kind = strdup(t->word_level ? "wordlevel" : t->bytelevel ? "bpe-bytelevel"
                         : t->byte_fallback ? "bpe-sentencepiece" : "bpe");
    }
    return rc;
}
