/* tokenizer/tokenizer.c — the public tokenizer API: open, encode pipeline,
 * vocabulary queries.  Loading formats live in tokenizer_json.c,
 * gpt2_files.c and gguf_vocab.c; BPE in bpe.c; decoding in decode.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/utf8.h"

/* ---------------------------------------------------------------- vocab */

int st_tok_alloc_vocab(strata_tokenizer *t, int32_t n)
{
    if (n <= t->n_vocab) return STRATA_OK;
    char **p = realloc(t->piece, (size_t)n * sizeof *p);
    if (!p) return STRATA_ERR_NOMEM;
    t->piece = p;
    uint32_t *l = realloc(t->piece_len, (size_t)n * sizeof *l);
    if (!l) return STRATA_ERR_NOMEM;
    t->piece_len = l;
    uint8_t *sp = realloc(t->special, (size_t)n);
    if (!sp) return STRATA_ERR_NOMEM;
    t->special = sp;
    for (int32_t i = t->n_vocab; i < n; i++) { p[i] = NULL; l[i] = 0; sp[i] = 0; }
    t->n_vocab = n;
    return STRATA_OK;
}

int st_tok_set_piece(strata_tokenizer *t, int32_t id, const char *s, size_t n)
{
    if (id < 0) return STRATA_ERR_RANGE;
    if (id >= t->n_vocab) {
        int32_t c = t->n_vocab ? t->n_vocab : 256;
        while (c <= id) c = c > INT32_MAX / 2 ? INT32_MAX : c * 2;
        ST_TRY(st_tok_alloc_vocab(t, c));
    }
    char *c = malloc(n + 1);
    if (!c) return STRATA_ERR_NOMEM;
    memcpy(c, s, n);
    c[n] = '\0';
    free(t->piece[id]);
    t->piece[id] = c;
    t->piece_len[id] = (uint32_t)n;
    return STRATA_OK;
}

int st_tok_add_added(strata_tokenizer *t, int32_t id, const char *s, size_t n, int special)
{
    if (n == 0) return STRATA_OK;
    st_added *a = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *a);
    if (!a) return STRATA_ERR_NOMEM;
    t->added = a;
    st_added *e = &a[t->n_added];
    memset(e, 0, sizeof *e);
    e->content = malloc(n + 1);
    if (!e->content) return STRATA_ERR_NOMEM;
    memcpy(e->content, s, n);
    e->content[n] = '\0';
    e->len = n;
    e->id = id;
    e->special = special;
    t->n_added++;
    if (id >= t->n_vocab || !t->piece[id]) ST_TRY(st_tok_set_piece(t, id, s, n));
    return STRATA_OK;
}

int32_t st_tok_lookup(const strata_tokenizer *t, const char *s, size_t n)
{
    for (int i = t->n_added - 1; i >= 0; i--)
        if (t->added[i].len == n && !memcmp(t->added[i].content, s, n)) return t->added[i].id;
    return st_strmap_get(&t->vocab, s, n);
}

int st_tokvec_push(st_tokvec *v, int32_t id, int64_t s, int64_t e)
{
    if (v->n == v->cap) {
        size_t c = v->cap ? v->cap * 2 : 256;
        int32_t *ni = realloc(v->ids, c * sizeof *ni);
        if (!ni) return -1;
        v->ids = ni;
        int64_t *no = realloc(v->off, 2 * c * sizeof *no);
        if (!no) return -1;
        v->off = no;
        v->cap = c;
    }
    v->ids[v->n] = id;
    v->off[2 * v->n] = s;
    v->off[2 * v->n + 1] = e;
    v->n++;
    return 0;
}

static int cmp_added_len(const void *a, const void *b, void *ctx)
{
    const st_added *ad = ctx;
    size_t la = ad[*(const int32_t *)a].len, lb = ad[*(const int32_t *)b].len;
    return la < lb ? 1 : la > lb ? -1 : 0;
}

#define META "\xE2\x96\x81"   /* U+2581 '▁' */

/* SentencePiece-style tokenizers have no pre-tokenizer: the whole segment is
 * one BPE word, and the heap over millions of symbols is slow.  Cutting the
 * word before every '▁' that follows a non-'▁' character gives exactly the
 * same tokens when no piece could span such a cut, i.e. when '▁' is a piece
 * and every '▁' inside a piece (not at its start) follows another '▁' —
 * true of Llama/Mistral vocabularies ("▁the", "▁▁▁").  Merges never pair
 * symbols across the cut, so each side merges as it would have alone; unk
 * fusing cannot cross it either, since '▁' is a known piece. */
static int metaspace_chunks_exact(const strata_tokenizer *t)
{
    if (t->bytelevel || t->n_splits > 0 || st_strmap_get(&t->vocab, META, 3) < 0) return 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *p = t->piece[id];
        if (!p || st_strmap_get(&t->vocab, p, t->piece_len[id]) != id) continue;   /* added only */
        size_t n = t->piece_len[id];
        for (size_t k = 1; k + 3 <= n; k++)
            if (!memcmp(p + k, META, 3) && (k < 3 || memcmp(p + k - 3, META, 3))) return 0;
    }
    return 1;
}

int st_tok_finish(strata_tokenizer *t)
{
    char buf[8];
    for (int b = 0; b < 256; b++) {
        snprintf(buf, sizeof buf, "<0x%02X>", b);
        t->byte_fb[b] = t->byte_fallback ? st_strmap_get(&t->vocab, buf, 6) : -1;
        int k = st_utf8_put(st_bytelevel_char((unsigned char)b), buf);
        t->byte_id[b] = t->bytelevel ? st_strmap_get(&t->vocab, buf, (size_t)k) : -1;
    }
    /* added tokens indexed by first byte, longest first (leftmost-longest) */
    int counts[256] = {0};
    for (int i = 0; i < t->n_added; i++) counts[(unsigned char)t->added[i].content[0]]++;
    for (int b = 0; b < 256; b++) {
        free(t->added_first[b]);
        t->added_first[b] = NULL;
        if (!counts[b]) continue;
        int32_t *l = malloc((size_t)(counts[b] + 1) * sizeof *l);
        if (!l) return STRATA_ERR_NOMEM;
        int k = 0;
        for (int i = 0; i < t->n_added; i++)
            if ((unsigned char)t->added[i].content[0] == b) l[k++] = i;
        qsort_r(l, (size_t)k, sizeof *l, cmp_added_len, t->added);
        l[k] = -1;
        t->added_first[b] = l;
    }
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id >= 0 && t->added[i].id < t->n_vocab)
            t->special[t->added[i].id] = (uint8_t)t->added[i].special;
    if (!t->md) {
        t->md = pcre2_match_data_create(1, NULL);
        if (!t->md) return STRATA_ERR_NOMEM;
    }
    t->ws_chunks = metaspace_chunks_exact(t);
    /* The Llama normalizer maps each input space to one '▁' and prepends one
     * '▁' at the segment start, so the cut points above are input spaces not
     * preceded by a space or a literal '▁': long segments are cut there
     * before normalizing (only the first piece gets the Prepend), which keeps
     * the normalized copies and their alignments small. */
    t->sp_chunk_input = t->ws_chunks && t->n_norms > 0;
    for (int i = 0; i < t->n_norms; i++) {
        const st_norm *nm = &t->norms[i];
        int prep = nm->kind == ST_NORM_PREPEND && i == 0;
        int repl = nm->kind == ST_NORM_REPLACE && nm->alen == 1 && nm->a[0] == ' ' && nm->blen == 3 &&
                   !memcmp(nm->b, META, 3);
        if (!prep && !repl) t->sp_chunk_input = 0;
    }
    if ((t->n_splits > 0 || t->ws_chunks) && !t->cache.cap && st_strmap_init(&t->cache, 1 << 14) < 0)
        return STRATA_ERR_NOMEM;
    return STRATA_OK;
}

/* ---------------------------------------------------------------- open/free */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int file_is_gguf(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    char m[4] = {0};
    size_t k = fread(m, 1, 4, f);
    fclose(f);
    return k == 4 && !memcmp(m, "GGUF", 4);
}

strata_status strata_tokenizer_open(const char *path, strata_tokenizer **out)
{
    if (!out) return STRATA_ERR_ARG;
    strata_tokenizer *t = calloc(1, sizeof *t);
    *out = t;
    if (!t) return STRATA_ERR_NOMEM;
    t->unk_id = t->bos = t->eos = -1;
    if (!path) return st_seterr(&t->err, STRATA_ERR_ARG, "tokenizer: path is NULL");
    t->path = strdup(path);
    if (!t->path) return STRATA_ERR_NOMEM;
    if (st_strmap_init(&t->vocab, 1024) < 0) return STRATA_ERR_NOMEM;

    size_t pl = strlen(path);
    char *a = malloc(pl + 32), *b = malloc(pl + 32), *dir = malloc(pl + 2);
    int rc = STRATA_OK;
    if (!a || !b || !dir) { rc = STRATA_ERR_NOMEM; goto done; }
    if (is_dir(path)) {
        strcpy(dir, path);
        snprintf(a, pl + 32, "%s/tokenizer.json", path);
        if (is_file(a)) {
            rc = st_load_tokenizer_json(t, a);
        } else {
            snprintf(a, pl + 32, "%s/vocab.json", path);
            snprintf(b, pl + 32, "%s/merges.txt", path);
            if (is_file(a) && is_file(b)) rc = st_load_gpt2_files(t, a, b);
            else rc = st_seterr(&t->err, STRATA_ERR_NOTFOUND,
                                "%s: no tokenizer.json, and no vocab.json + merges.txt", path);
        }
    } else if (is_file(path)) {
        strcpy(dir, path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0'; else strcpy(dir, ".");
        if (file_is_gguf(path)) {
            rc = st_load_gguf_vocab(t, path);
        } else if (ends_with(path, "vocab.json")) {
            snprintf(b, pl + 32, "%s/merges.txt", dir);
            rc = st_load_gpt2_files(t, path, b);
        } else {
            rc = st_load_tokenizer_json(t, path);
        }
    } else {
        rc = st_seterr(&t->err, STRATA_ERR_IO, "%s: no such file or directory", path);
    }
    if (rc == STRATA_OK && !file_is_gguf(path)) rc = st_load_tokenizer_config(t, dir);
    if (rc == STRATA_OK) {
        rc = st_tok_finish(t);
        if (rc < 0) st_seterr(&t->err, rc, "%s: out of memory", path);
    }
    t->ready = rc == STRATA_OK;
done:
    free(a);
    free(b);
    free(dir);
    if (rc < 0 && !t->err.msg[0]) st_seterr(&t->err, rc, "%s: %s", path, strata_errstr(rc));
    return (strata_status)rc;
}

void strata_tokenizer_free(strata_tokenizer *t)
{
    if (!t) return;
    free(t->path);
    free(t->kind);
    for (int32_t i = 0; i < t->n_vocab; i++) free(t->piece[i]);
    free(t->piece);
    free(t->piece_len);
    free(t->special);
    st_strmap_free(&t->vocab);
    st_pairmap_free(&t->merges);
    for (int i = 0; i < t->n_norms; i++) { free(t->norms[i].a); free(t->norms[i].b); }
    free(t->norms);
    for (int i = 0; i < t->n_splits; i++) pcre2_code_free(t->splits[i].re);
    free(t->splits);
    for (int i = 0; i < t->n_decs; i++) { free(t->decs[i].a); free(t->decs[i].b); }
    free(t->decs);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    for (int b = 0; b < 256; b++) free(t->added_first[b]);
    if (t->md) pcre2_match_data_free(t->md);
    st_strmap_free(&t->cache);
    free(t->cache_tok);
    st_bpe_ws_free(t->ws);
    free(t);
}

const char *strata_tokenizer_errmsg(const strata_tokenizer *t)
{
    if (!t) return "out of memory (no tokenizer handle)";
    return t->err.msg[0] ? t->err.msg : "no error";
}

/* ---------------------------------------------------------------- encode */

/* Invalid UTF-8 -> one U+FFFD per maximal subpart, each aligned to the bytes
 * it replaces (what Python's errors="replace" does before HF sees the text). */
static int sanitize(const char *text, size_t len, st_nstr *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = len + len / 2 + 16;
    char *s = malloc(cap);
    int64_t *a = malloc(2 * cap * sizeof *a);
    if (!s || !a) { free(s); free(a); return -1; }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t adv;
        int32_t cp = st_utf8_next((const unsigned char *)text + i, len - i, &adv);
        if (n + 4 > cap) {
            cap *= 2;
            char *ns = realloc(s, cap);
            int64_t *na = ns ? malloc(2 * cap * sizeof *na) : NULL;
            if (!na) { free(ns ? ns : s); free(a); return -1; }
            memcpy(na, a, n * sizeof *na);
            memcpy(na + cap, a + cap / 2, n * sizeof *na);
            free(a);
            s = ns;
            a = na;
        }
        if (cp < 0) {
            memcpy(s + n, "\xEF\xBF\xBD", 3);
            for (int k = 0; k < 3; k++) { a[n + k] = (int64_t)i; a[cap + n + k] = (int64_t)(i + adv); }
            n += 3;
        } else {
            for (size_t k = 0; k < adv; k++) {
                s[n + k] = text[i + k];
                a[n + k] = (int64_t)(i + k);
                a[cap + n + k] = (int64_t)(i + k + 1);
            }
            n += adv;
        }
        i += adv;
    }
    out->s = out->own_s = s;
    out->n = n;
    out->a0 = a;
    out->a1 = a + cap;
    out->own_a = a;
    return 0;
}

static void nstr_view(const st_nstr *b, size_t from, size_t to, st_nstr *v)
{
    memset(v, 0, sizeof *v);
    v->s = b->s + from;
    v->n = to - from;
    if (b->a0) { v->a0 = b->a0 + from; v->a1 = b->a1 + from; }
    v->base = b->base + (int64_t)from;
}

typedef struct ranges { size_t *r; size_t n, cap; } ranges;   /* [n/2][2] */

static int emit_range(void *ctx, size_t s, size_t e)
{
    ranges *r = ctx;
    if (r->n + 2 > r->cap) {
        size_t c = r->cap ? r->cap * 2 : 64;
        size_t *nr = realloc(r->r, c * sizeof *nr);
        if (!nr) return -1;
        r->r = nr;
        r->cap = c;
    }
    r->r[r->n++] = s;
    r->r[r->n++] = e;
    return 0;
}

typedef struct bpe_ctx { strata_tokenizer *t; const st_nstr *ns; st_tokvec *v; } bpe_ctx;

static int emit_bpe(void *ctx, size_t s, size_t e)
{
    bpe_ctx *c = ctx;
    return st_bpe_word(c->t, c->ns, s, e, c->v);
}

/* Normalizes, pre-tokenizes and BPE-encodes one segment between added tokens.
 * The last split step feeds its pieces straight to BPE (no piece list). */
static int encode_piece(strata_tokenizer *t, const st_nstr *base, size_t from, size_t to,
                        int seg_start, ranges *ra, ranges *rb, st_tokvec *v)
{
    if (from >= to) return STRATA_OK;
    st_nstr cur, next;
    nstr_view(base, from, to, &cur);
    for (int i = 0; i < t->n_norms; i++) {
        if (!seg_start && t->norms[i].kind == ST_NORM_PREPEND) continue;
        if (st_nstr_apply(&t->norms[i], &cur, from == 0, &next) < 0) {
            st_nstr_free(&cur);
            return st_seterr(&t->err, STRATA_ERR_NOMEM, "tokenizer: out of memory normalizing");
        }
        st_nstr_free(&cur);
        cur = next;
    }
    int rc = STRATA_OK;
    bpe_ctx bc = { t, &cur, v };
    ra->n = 0;
    if (cur.n && emit_range(ra, 0, cur.n)) rc = STRATA_ERR_NOMEM;
    for (int k = 0; k < t->n_splits && rc == STRATA_OK; k++) {
        int last = k == t->n_splits - 1;
        rb->n = 0;
        for (size_t i = 0; i < ra->n && rc == STRATA_OK; i += 2)
            rc = st_split_apply(t, &t->splits[k], cur.s, ra->r[i], ra->r[i + 1],
                                last ? emit_bpe : emit_range, last ? (void *)&bc : (void *)rb);
        ranges tmp = *ra; *ra = *rb; *rb = tmp;
    }
    if (t->n_splits == 0 && t->ws_chunks && cur.n) {
        size_t ws = 0;
        for (size_t p = 3; p + 3 <= cur.n && rc == STRATA_OK; p++) {
            if (cur.s[p] != META[0] || memcmp(cur.s + p, META, 3) || !memcmp(cur.s + p - 3, META, 3)) continue;
            rc = st_bpe_word(t, &cur, ws, p, v);
            ws = p;
        }
        if (rc == STRATA_OK) rc = st_bpe_word(t, &cur, ws, cur.n, v);
    } else if (t->n_splits == 0) {
        for (size_t i = 0; i < ra->n && rc == STRATA_OK; i += 2)
            rc = st_bpe_word(t, &cur, ra->r[i], ra->r[i + 1], v);
    }
    st_nstr_free(&cur);
    if (rc == STRATA_ERR_NOMEM && !t->err.msg[0]) st_seterr(&t->err, rc, "tokenizer: out of memory");
    return rc;
}

static int encode_segment(strata_tokenizer *t, const st_nstr *base, size_t from, size_t to,
                          ranges *ra, ranges *rb, st_tokvec *v)
{
    if (!t->sp_chunk_input || to - from < 8192) return encode_piece(t, base, from, to, 1, ra, rb, v);
    const char *s = base->s;
    size_t cs = from;
    while (cs < to) {
        size_t ce = cs + 4096 < to ? cs + 4096 : to;
        while (ce < to && !(s[ce] == ' ' && s[ce - 1] != ' ' && !(ce - from >= 3 && !memcmp(s + ce - 3, META, 3))))
            ce++;
        ST_TRY(encode_piece(t, base, cs, ce, cs == from, ra, rb, v));
        cs = ce;
    }
    return STRATA_OK;
}

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_';
}

static int is_space_byte(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Longest added token at s[i..n); returns its index or -1. */
static int match_added(const strata_tokenizer *t, const char *s, size_t n, size_t i)
{
    const int32_t *l = t->added_first[(unsigned char)s[i]];
    if (!l) return -1;
    for (; *l >= 0; l++) {
        const st_added *a = &t->added[*l];
        if (a->len > n - i || memcmp(s + i, a->content, a->len)) continue;
        if (a->single_word) {
            if (i > 0 && is_word_byte((unsigned char)s[i - 1])) continue;
            if (i + a->len < n && is_word_byte((unsigned char)s[i + a->len])) continue;
        }
        return *l;
    }
    return -1;
}

int64_t strata_tokenize(strata_tokenizer *t, const char *text, size_t len, int add_bos,
                        int32_t *ids, int64_t cap, int64_t *offsets)
{
    if (!t) return STRATA_ERR_ARG;
    if (!t->ready) return STRATA_ERR_STATE;   /* keeps the open error message */
    st_err_clear(&t->err);
    if (!text && len) return st_seterr(&t->err, STRATA_ERR_ARG, "strata_tokenize: text is NULL");
    if (cap < 0 || (cap > 0 && !ids))
        return st_seterr(&t->err, STRATA_ERR_ARG, "strata_tokenize: ids is NULL or cap < 0");
    if (add_bos < -1 || add_bos > 1)
        return st_seterr(&t->err, STRATA_ERR_ARG, "strata_tokenize: add_bos must be -1, 0 or 1");

    st_nstr base;
    memset(&base, 0, sizeof base);
    base.s = text ? text : "";
    base.n = len;
    if (!st_utf8_valid((const unsigned char *)base.s, len) && sanitize(text, len, &base) < 0)
        return st_seterr(&t->err, STRATA_ERR_NOMEM, "strata_tokenize: out of memory");

    st_tokvec v = {0};
    ranges ra = {0}, rb = {0};
    int rc = STRATA_OK;
    /* about 4 bytes per token in English: reserve once instead of growing */
    if (len > 4096) {
        v.cap = len / 3 + 64;
        v.ids = malloc(v.cap * sizeof *v.ids);
        v.off = malloc(2 * v.cap * sizeof *v.off);
        if (!v.ids || !v.off) { free(v.ids); free(v.off); memset(&v, 0, sizeof v); }
    }

    /* post-processor prefix: BOS (or the template's prefix) */
    if (add_bos == 1 && t->n_prefix == 0 && t->bos >= 0) {
        if (st_tokvec_push(&v, t->bos, 0, 0)) rc = STRATA_ERR_NOMEM;
    } else if (add_bos != 0) {
        for (int i = 0; i < t->n_prefix && rc == STRATA_OK; i++)
            if (st_tokvec_push(&v, t->prefix[i], 0, 0)) rc = STRATA_ERR_NOMEM;
    }

    /* split on added tokens, encode the segments between them */
    size_t seg = 0, i = 0;
    const char *s = base.s;
    size_t n = base.n;
    while (rc == STRATA_OK && i < n) {
        int k = t->n_added ? match_added(t, s, n, i) : -1;
        if (k < 0) { i++; continue; }
        const st_added *a = &t->added[k];
        size_t ms = i, me = i + a->len;
        if (a->lstrip) while (ms > seg && is_space_byte((unsigned char)s[ms - 1])) ms--;
        if (a->rstrip) while (me < n && is_space_byte((unsigned char)s[me])) me++;
        rc = encode_segment(t, &base, seg, ms, &ra, &rb, &v);
        if (rc == STRATA_OK &&
            st_tokvec_push(&v, a->id, st_nstr_start(&base, ms), st_nstr_end(&base, me - 1)))
            rc = STRATA_ERR_NOMEM;
        seg = i = me;
    }
    if (rc == STRATA_OK) rc = encode_segment(t, &base, seg, n, &ra, &rb, &v);

    if (add_bos != 0)
        for (int j = 0; j < t->n_suffix && rc == STRATA_OK; j++)
            if (st_tokvec_push(&v, t->suffix[j], (int64_t)len, (int64_t)len)) rc = STRATA_ERR_NOMEM;

    /* ByteLevel post-processor trim_offsets (RoBERTa): offsets leave out the
     * whitespace a token starts or ends with (ASCII whitespace here) */
    if (rc == STRATA_OK && t->trim_offsets && text) {
        for (size_t k = 0; k < v.n; k++) {
            int64_t *o = v.off + 2 * k;
            if (v.ids[k] >= 0 && v.ids[k] < t->n_vocab && t->special[v.ids[k]]) continue;
            while (o[0] < o[1] && is_space_byte((unsigned char)text[o[0]])) o[0]++;
            while (o[1] > o[0] && is_space_byte((unsigned char)text[o[1] - 1])) o[1]--;
        }
    }

    int64_t result = rc;
    if (rc == STRATA_OK) {
        result = (int64_t)v.n;
        int64_t k = result < cap ? result : cap;
        if (k > 0) {
            memcpy(ids, v.ids, (size_t)k * sizeof *ids);
            if (offsets) memcpy(offsets, v.off, (size_t)k * 2 * sizeof *offsets);
        }
    } else if (!t->err.msg[0]) {
        st_seterr(&t->err, rc, "strata_tokenize: %s", strata_errstr(rc));
    }
    free(v.ids);
    free(v.off);
    free(ra.r);
    free(rb.r);
    st_nstr_free(&base);
    return result;
}

int64_t strata_detokenize(strata_tokenizer *t, const int32_t *ids, int64_t n, int skip_special,
                          char *out, int64_t cap)
{
    if (!t) return STRATA_ERR_ARG;
    if (!t->ready) return STRATA_ERR_STATE;   /* keeps the open error message */
    st_err_clear(&t->err);
    if (n < 0 || (n > 0 && !ids) || cap < 0 || (cap > 0 && !out))
        return st_seterr(&t->err, STRATA_ERR_ARG, "strata_detokenize: bad ids/out arguments");
    return st_decode(t, ids, n, skip_special, out, cap);
}

/* ---------------------------------------------------------------- queries */

const char *strata_token_piece(const strata_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    return t->piece[id];
}

int32_t strata_tokenizer_vocab_size(const strata_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t strata_tokenizer_bos(const strata_tokenizer *t) { return t ? t->bos : -1; }
int32_t strata_tokenizer_eos(const strata_tokenizer *t) { return t ? t->eos : -1; }

int32_t strata_token_id(const strata_tokenizer *t, const char *piece)
{
    if (!t || !piece || !t->ready) return -1;
    return st_tok_lookup(t, piece, strlen(piece));
}

int strata_token_is_special(const strata_tokenizer *t, int32_t id)
{
    return t && id >= 0 && id < t->n_vocab && t->special[id];
}

const char *strata_tokenizer_kind(const strata_tokenizer *t)
{
    return t && t->ready ? t->kind : NULL;
}
