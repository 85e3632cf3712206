/* tokenizer/bpe.c — the BPE model: one pre-tokenized word -> token ids.
 *
 * Initial symbols: with byte-level BPE, one per byte (the byte's GPT-2
 * unicode char); otherwise one per UTF-8 character, and a character missing
 * from the vocabulary becomes its "<0xXX>" byte tokens (byte_fallback), or
 * <unk> (consecutive ones fused when fuse_unk), or is dropped (no unk token),
 * exactly as HF tokenizers' BPE::merge_word.
 *
 * Merging is HF's Word::merge_all: a min-heap of candidate pairs keyed by
 * (merge rank, position) over a doubly linked list of symbols.  Pop the best;
 * skip it if stale (left symbol gone, no right neighbour, or the current pair
 * no longer merges into the same id); merge; push the new pairs with the
 * left and right neighbours.  O(n log n) in the word length.
 *
 * Results for words up to ST_CACHE_WORD bytes are cached per handle.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/utf8.h"

#define ST_CACHE_WORD 96              /* longest cached word, bytes */
#define ST_CACHE_MAX_INTS (1u << 22)  /* cache_tok size before a reset */
#define ST_CACHE_MAX_WORDS (1u << 18)

typedef struct sym { int32_t id, prev, next; uint32_t start, len; } sym;
typedef struct hent { int32_t rank, pos, new_id; } hent;
typedef struct bpe_ws {
    sym *syms; size_t cs;
    hent *heap; size_t nh, ch;
    char *buf; size_t cbuf;
} bpe_ws;

void st_bpe_ws_free(void *p)
{
    bpe_ws *w = p;
    if (!w) return;
    free(w->syms);
    free(w->heap);
    free(w->buf);
    free(w);
}

static inline int hless(const hent *a, const hent *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static int heap_push(bpe_ws *w, int32_t rank, int32_t pos, int32_t new_id)
{
    if (w->nh == w->ch) {
        size_t c = w->ch ? w->ch * 2 : 64;
        hent *nh = realloc(w->heap, c * sizeof *nh);
        if (!nh) return -1;
        w->heap = nh;
        w->ch = c;
    }
    size_t i = w->nh++;
    hent e = { rank, pos, new_id };
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&e, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = e;
    return 0;
}

static hent heap_pop(bpe_ws *w)
{
    hent top = w->heap[0], last = w->heap[--w->nh];
    size_t i = 0, n = w->nh;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const hent *best = &last;
        if (l < n && hless(&w->heap[l], best)) { m = l; best = &w->heap[l]; }
        if (r < n && hless(&w->heap[r], best)) { m = r; }
        if (m == i) break;
        w->heap[i] = w->heap[m];
        i = m;
    }
    if (n) w->heap[i] = last;
    return top;
}

static int emit(st_tokvec *out, const st_nstr *ns, size_t ws, int32_t id, size_t st, size_t len)
{
    return st_tokvec_push(out, id, st_nstr_start(ns, ws + st), st_nstr_end(ns, ws + st + len - 1));
}

/* Appends the symbols for one character / byte that is not in the vocabulary. */
static int add_unknown(strata_tokenizer *t, sym *s, size_t *n, int *last_unk, const unsigned char *c,
                       size_t clen, uint32_t start)
{
    if (t->byte_fallback) {
        size_t k = 0;
        while (k < clen && t->byte_fb[c[k]] >= 0) k++;
        if (k == clen) {
            for (k = 0; k < clen; k++) {
                s[*n] = (sym){ t->byte_fb[c[k]], 0, 0, start + (uint32_t)k, 1 };
                (*n)++;
            }
            *last_unk = 0;
            return 0;
        }
    }
    if (t->unk_id < 0) return 0;  /* HF drops the character */
    if (t->fuse_unk && *last_unk && *n > 0) { s[*n - 1].len += (uint32_t)clen; return 0; }
    s[*n] = (sym){ t->unk_id, 0, 0, start, (uint32_t)clen };
    (*n)++;
    *last_unk = 1;
    return 0;
}

int st_bpe_word(strata_tokenizer *t, const st_nstr *ns, size_t ws, size_t we, st_tokvec *out)
{
    if (t->word_level) return st_wordlevel_word(t, ns, ws, we, out);
    const unsigned char *w = (const unsigned char *)ns->s + ws;
    const size_t n = we - ws;
    if (n == 0) return STRATA_OK;
    if (n > UINT32_MAX / 2) return st_seterr(&t->err, STRATA_ERR_RANGE, "tokenizer: word too long");

    /* cached? */
    int use_cache = t->cache.cap && n <= ST_CACHE_WORD;
    uint64_t h = 0;
    if (use_cache) {
        h = st_hash_bytes(w, n);
        int32_t v = st_strmap_get_h(&t->cache, (const char *)w, n, h);
        if (v >= 0) {
            const int32_t *rec = t->cache_tok + v;
            size_t pos = 0;
            for (int32_t k = 0; k < rec[0]; k++) {
                if (emit(out, ns, ws, rec[1 + 2 * k], pos, (size_t)rec[2 + 2 * k])) goto nomem;
                pos += (size_t)rec[2 + 2 * k];
            }
            return STRATA_OK;
        }
    }

    bpe_ws *W = t->ws;
    if (!W) {
        W = t->ws = calloc(1, sizeof *W);
        if (!W) goto nomem;
    }
    if (W->cs < n) {
        size_t c = W->cs ? W->cs : 64;
        while (c < n) c *= 2;
        sym *nsy = realloc(W->syms, c * sizeof *nsy);
        if (!nsy) goto nomem;
        W->syms = nsy;
        W->cs = c;
    }
    sym *s = W->syms;
    size_t m = 0;

    /* ignore_merges (Llama-3): a word that is a vocabulary piece is one token */
    int32_t whole = -1;
    if (t->ignore_merges) {
        if (t->bytelevel) {
            if (W->cbuf < 2 * n + 1) {
                char *nb = realloc(W->buf, 2 * n + 1);
                if (!nb) goto nomem;
                W->buf = nb;
                W->cbuf = 2 * n + 1;
            }
            size_t k = 0;
            for (size_t i = 0; i < n; i++) k += (size_t)st_utf8_put(st_bytelevel_char(w[i]), W->buf + k);
            whole = st_strmap_get(&t->vocab, W->buf, k);
        } else {
            whole = st_strmap_get(&t->vocab, (const char *)w, n);
        }
    }
    if (whole >= 0) {
        s[0] = (sym){ whole, -1, -1, 0, (uint32_t)n };
        m = 1;
    } else {
        int last_unk = 0;
        if (t->bytelevel) {
            for (size_t i = 0; i < n; i++) {
                int32_t id = t->byte_id[w[i]];
                if (id >= 0) { s[m++] = (sym){ id, 0, 0, (uint32_t)i, 1 }; last_unk = 0; }
                else add_unknown(t, s, &m, &last_unk, w + i, 1, (uint32_t)i);
            }
        } else {
            for (size_t i = 0; i < n;) {
                size_t cl = (size_t)st_utf8_len(w[i]);
                if (cl > n - i) cl = n - i;
                int32_t id = st_strmap_get(&t->vocab, (const char *)w + i, cl);
                if (id >= 0) { s[m++] = (sym){ id, 0, 0, (uint32_t)i, (uint32_t)cl }; last_unk = 0; }
                else add_unknown(t, s, &m, &last_unk, w + i, cl, (uint32_t)i);
                i += cl;
            }
        }
        for (size_t i = 0; i < m; i++) {
            s[i].prev = (int32_t)i - 1;
            s[i].next = i + 1 < m ? (int32_t)i + 1 : -1;
        }

        /* merge_all */
        W->nh = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            const st_pair_slot *p = st_pairmap_get(&t->merges, s[i].id, s[i + 1].id);
            if (p && heap_push(W, p->rank, (int32_t)i, p->new_id)) goto nomem;
        }
        while (W->nh) {
            hent top = heap_pop(W);
            sym *a = &s[top.pos];
            if (a->len == 0 || a->next < 0) continue;
            sym *b = &s[a->next];
            const st_pair_slot *p = st_pairmap_get(&t->merges, a->id, b->id);
            if (!p || p->new_id != top.new_id) continue;
            a->id = top.new_id;
            a->len += b->len;
            b->len = 0;
            a->next = b->next;
            if (a->next >= 0) s[a->next].prev = top.pos;
            if (a->prev >= 0) {
                p = st_pairmap_get(&t->merges, s[a->prev].id, a->id);
                if (p && heap_push(W, p->rank, a->prev, p->new_id)) goto nomem;
            }
            if (a->next >= 0) {
                p = st_pairmap_get(&t->merges, a->id, s[a->next].id);
                if (p && heap_push(W, p->rank, top.pos, p->new_id)) goto nomem;
            }
        }
        size_t k = 0;
        for (size_t i = 0; i < m; i++) if (s[i].len) s[k++] = s[i];
        m = k;
    }

    for (size_t i = 0; i < m; i++)
        if (emit(out, ns, ws, s[i].id, s[i].start, s[i].len)) goto nomem;

    if (use_cache) {
        size_t need = 1 + 2 * m;
        if (t->cache_len + need > ST_CACHE_MAX_INTS || t->cache.count >= ST_CACHE_MAX_WORDS) {
            st_strmap_clear(&t->cache);
            t->cache_len = 0;
        }
        if (t->cache_len + need > t->cache_cap) {
            size_t c = t->cache_cap ? t->cache_cap : 4096;
            while (c < t->cache_len + need) c *= 2;
            int32_t *nc = realloc(t->cache_tok, c * sizeof *nc);
            if (!nc) return STRATA_OK;   /* caching is optional */
            t->cache_tok = nc;
            t->cache_cap = c;
        }
        int32_t *rec = t->cache_tok + t->cache_len;
        rec[0] = (int32_t)m;
        /* a dropped character leaves a gap: only cache gap-free results */
        uint32_t pos = 0;
        for (size_t i = 0; i < m; i++) {
            if (s[i].start != pos) return STRATA_OK;
            rec[1 + 2 * i] = s[i].id;
            rec[2 + 2 * i] = (int32_t)s[i].len;
            pos += s[i].len;
        }
        if (pos != n) return STRATA_OK;
        if (st_strmap_put_h(&t->cache, (const char *)w, n, h, (int32_t)t->cache_len) == 0)
            t->cache_len += need;
    }
    return STRATA_OK;
nomem:
    return st_seterr(&t->err, STRATA_ERR_NOMEM, "tokenizer: out of memory in BPE");
}
