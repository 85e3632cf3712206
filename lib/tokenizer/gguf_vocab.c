/* tokenizer/gguf_vocab.c — the tokenizer.ggml.* metadata of a GGUF file.
 *
 * tokenizer.ggml.model:
 *   "llama"  SentencePiece BPE: tokens + scores (+ token_type); merges are
 *            derived from the scores (sentencepiece.c) exactly as HF's
 *            converter does, byte fallback to "<0xXX>", unk fused; normaliser
 *            Prepend("▁") (when add_space_prefix, default true) + Replace(" ",
 *            "▁"); decoder Replace / ByteFallback / Fuse / Strip.
 *   "gpt2"   byte-level BPE: tokens + merges; split pattern chosen by
 *            tokenizer.ggml.pre ("default"/"gpt-2": GPT-2; "llama-bpe",
 *            "llama3", "llama-v3": Llama-3, with ignore_merges).
 * Control tokens (token_type 3) and user-defined ones (4) are added tokens
 * matched in the text, control ones special (HF semantics; llama.cpp only
 * does this with parse_special).  BOS/EOS/unk ids and add_bos_token /
 * add_eos_token come from the same metadata.
 */
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "tokenizer/tok_internal.h"

static const char llama3_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

#define GERR(rc) st_seterr(&t->err, (rc), "%s", st_gguf_errmsg(g))

static int opt_int(st_gguf *g, const char *key, int64_t *out)
{
    int64_t id = st_gguf_find_key(g, key);
    if (id < 0) return 0;
    return st_gguf_get_int(g, id, out) == STRATA_OK;
}

static int opt_bool(st_gguf *g, const char *key, int dflt)
{
    int64_t id = st_gguf_find_key(g, key);
    int v;
    if (id < 0 || st_gguf_get_bool(g, id, &v) != STRATA_OK) return dflt;
    return v;
}

static int add_simple_norm(strata_tokenizer *t, int kind, const char *a, const char *b)
{
    st_norm *nn = realloc(t->norms, (size_t)(t->n_norms + 1) * sizeof *nn);
    if (!nn) return STRATA_ERR_NOMEM;
    t->norms = nn;
    st_norm *e = &nn[t->n_norms++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->a = strdup(a); e->alen = strlen(a);
    if (b) { e->b = strdup(b); e->blen = strlen(b); }
    return e->a && (!b || e->b) ? STRATA_OK : STRATA_ERR_NOMEM;
}

static int add_simple_dec(strata_tokenizer *t, int kind, const char *a, const char *b, int start)
{
    st_dec *nd = realloc(t->decs, (size_t)(t->n_decs + 1) * sizeof *nd);
    if (!nd) return STRATA_ERR_NOMEM;
    t->decs = nd;
    st_dec *e = &nd[t->n_decs++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->start = start;
    if (a) { e->a = strdup(a); e->alen = strlen(a); if (!e->a) return STRATA_ERR_NOMEM; }
    if (b) { e->b = strdup(b); e->blen = strlen(b); if (!e->b) return STRATA_ERR_NOMEM; }
    t->has_decoder = 1;
    return STRATA_OK;
}

static int add_split_re(strata_tokenizer *t, const char *pat, const char *where)
{
    pcre2_code *re;
    ST_TRY(st_regex_compile(pat, strlen(pat), &re, &t->err, where));
    st_split *ns = realloc(t->splits, (size_t)(t->n_splits + 1) * sizeof *ns);
    if (!ns) { pcre2_code_free(re); return STRATA_ERR_NOMEM; }
    t->splits = ns;
    ns[t->n_splits++] = (st_split){ re, ST_SPLIT_ISOLATED, 0 };
    return STRATA_OK;
}

static int load(strata_tokenizer *t, st_gguf *g, const char *path)
{
    const char *model;
    int64_t kid = st_gguf_find_key(g, "tokenizer.ggml.model");
    if (kid < 0) return st_seterr(&t->err, STRATA_ERR_NOTFOUND, "%s: no tokenizer.ggml.model key", path);
    if (st_gguf_get_str(g, kid, &model, NULL)) return GERR(STRATA_ERR_FORMAT);
    int llama = !strcmp(model, "llama"), gpt2 = !strcmp(model, "gpt2");
    if (!llama && !gpt2)
        return st_seterr(&t->err, STRATA_ERR_UNSUPPORTED,
                         "%s: tokenizer.ggml.model '%s' is not supported (llama, gpt2 are)", path, model);

    int64_t tid = st_gguf_find_key(g, "tokenizer.ggml.tokens");
    uint32_t et;
    uint64_t n;
    if (tid < 0) return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: no tokenizer.ggml.tokens", path);
    if (st_gguf_get_arr(g, tid, &et, &n)) return GERR(STRATA_ERR_FORMAT);
    if (et != ST_GGUF_TYPE_STRING || n == 0 || n >= INT32_MAX)
        return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: tokenizer.ggml.tokens is not a non-empty array of strings",
                         path);
    int32_t nv = (int32_t)n;
    if (st_tok_alloc_vocab(t, nv)) return STRATA_ERR_NOMEM;
    for (int32_t i = 0; i < nv; i++) {
        const char *s;
        uint64_t len;
        int rc = st_gguf_arr_str(g, tid, (uint64_t)i, &s, &len);
        if (rc) return GERR(rc);
        if (st_tok_set_piece(t, i, s, len) || st_strmap_put(&t->vocab, s, len, i)) return STRATA_ERR_NOMEM;
    }

    /* token types: 3 control -> special added token, 4 user-defined -> added */
    int32_t *types = NULL;
    int64_t ttid = st_gguf_find_key(g, "tokenizer.ggml.token_type");
    if (ttid >= 0) {
        types = malloc((size_t)nv * sizeof *types);
        if (!types) return STRATA_ERR_NOMEM;
        int rc = st_gguf_arr_copy_i32(g, ttid, types, (uint64_t)nv);
        if (rc) { free(types); return GERR(rc); }
        for (int32_t i = 0; i < nv && rc == STRATA_OK; i++)
            if (types[i] == 3 || types[i] == 4)
                rc = st_tok_add_added(t, i, t->piece[i], t->piece_len[i], types[i] == 3);
        free(types);
        if (rc) return rc;
    }

    if (llama) {
        int64_t sid = st_gguf_find_key(g, "tokenizer.ggml.scores");
        if (sid < 0) return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: no tokenizer.ggml.scores", path);
        float *scores = malloc((size_t)nv * sizeof *scores);
        if (!scores) return STRATA_ERR_NOMEM;
        int rc = st_gguf_arr_copy_f32(g, sid, scores, (uint64_t)nv);
        if (rc) { free(scores); return GERR(rc); }
        rc = st_merges_from_scores(t, scores);
        free(scores);
        if (rc) return rc;
        t->byte_fallback = 1;
        t->fuse_unk = 1;
        int64_t unk;
        if (opt_int(g, "tokenizer.ggml.unknown_token_id", &unk) && unk >= 0 && unk < nv) t->unk_id = (int32_t)unk;
        int prefix = opt_bool(g, "tokenizer.ggml.add_space_prefix", 1);
        const char *sp = "\xE2\x96\x81";
        if (prefix) ST_TRY(add_simple_norm(t, ST_NORM_PREPEND, sp, NULL));
        ST_TRY(add_simple_norm(t, ST_NORM_REPLACE, " ", sp));
        ST_TRY(add_simple_dec(t, ST_DEC_REPLACE, sp, " ", 0));
        ST_TRY(add_simple_dec(t, ST_DEC_BYTEFALLBACK, NULL, NULL, 0));
        ST_TRY(add_simple_dec(t, ST_DEC_FUSE, NULL, NULL, 0));
        if (prefix) {
            ST_TRY(add_simple_dec(t, ST_DEC_STRIP, " ", NULL, 1));
        }
    } else {
        int64_t mid = st_gguf_find_key(g, "tokenizer.ggml.merges");
        if (mid < 0) return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: no tokenizer.ggml.merges", path);
        if (st_gguf_get_arr(g, mid, &et, &n)) return GERR(STRATA_ERR_FORMAT);
        if (st_pairmap_init(&t->merges, n + 1) < 0) return STRATA_ERR_NOMEM;
        for (uint64_t i = 0; i < n; i++) {
            const char *s;
            uint64_t len;
            int rc = st_gguf_arr_str(g, mid, i, &s, &len);
            if (rc) return GERR(rc);
            const char *spc = memchr(s, ' ', len);
            if (!spc) return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: tokenizer.ggml.merges[%llu] is not \"l r\"",
                                       path, (unsigned long long)i);
            size_t al = (size_t)(spc - s), bl = len - al - 1;
            int32_t a = st_strmap_get(&t->vocab, s, al), b = st_strmap_get(&t->vocab, spc + 1, bl);
            char *m = malloc(al + bl + 1);
            if (!m) return STRATA_ERR_NOMEM;
            memcpy(m, s, al);
            memcpy(m + al, spc + 1, bl);
            int32_t c = st_strmap_get(&t->vocab, m, al + bl);
            free(m);
            if (a < 0 || b < 0 || c < 0)
                return st_seterr(&t->err, STRATA_ERR_FORMAT,
                                 "%s: tokenizer.ggml.merges[%llu] '%.*s' names a piece not in the vocabulary",
                                 path, (unsigned long long)i, (int)len, s);
            if (st_pairmap_put(&t->merges, a, b, (int32_t)i, c)) return STRATA_ERR_NOMEM;
        }
        t->bytelevel = 1;
        const char *pre = "default";
        int64_t pid = st_gguf_find_key(g, "tokenizer.ggml.pre");
        if (pid >= 0 && st_gguf_get_str(g, pid, &pre, NULL)) return GERR(STRATA_ERR_FORMAT);
        if (!strcmp(pre, "default") || !strcmp(pre, "gpt-2") || !strcmp(pre, "gpt2")) {
            ST_TRY(add_split_re(t, st_gpt2_pattern, path));
        } else if (!strcmp(pre, "llama-bpe") || !strcmp(pre, "llama3") || !strcmp(pre, "llama-v3")) {
            ST_TRY(add_split_re(t, llama3_pattern, path));
            t->ignore_merges = 1;
        } else {
            return st_seterr(&t->err, STRATA_ERR_UNSUPPORTED,
                             "%s: tokenizer.ggml.pre '%s' is not supported (default, gpt-2, llama-bpe are)", path, pre);
        }
        ST_TRY(add_simple_dec(t, ST_DEC_BYTELEVEL, NULL, NULL, 0));
    }

    int64_t v;
    if (opt_int(g, "tokenizer.ggml.bos_token_id", &v) && v >= 0 && v < nv) t->bos = (int32_t)v;
    if (opt_int(g, "tokenizer.ggml.eos_token_id", &v) && v >= 0 && v < nv) t->eos = (int32_t)v;
    /* llama.cpp's defaults: SPM adds BOS, BPE does not unless told */
    if (opt_bool(g, "tokenizer.ggml.add_bos_token", llama) && t->bos >= 0) t->prefix[t->n_prefix++] = t->bos;
    if (opt_bool(g, "tokenizer.ggml.add_eos_token", 0) && t->eos >= 0) t->suffix[t->n_suffix++] = t->eos;
    t->kind = strdup(llama ? "gguf-llama" : "gguf-gpt2");
    return STRATA_OK;
}

int st_load_gguf_vocab(strata_tokenizer *t, const char *path)
{
    st_gguf *g = NULL;
    int rc = st_gguf_open(path, &g);
    if (rc) {
        st_seterr(&t->err, rc, "%s", st_gguf_errmsg(g));
        st_gguf_free(g);
        return rc;
    }
    rc = load(t, g, path);
    if (rc == STRATA_ERR_NOMEM && !t->err.msg[0]) st_seterr(&t->err, rc, "%s: out of memory", path);
    st_gguf_free(g);
    return rc;
}
