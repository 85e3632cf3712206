/* tokenizer/sentencepiece.c — BPE merges from SentencePiece piece scores.
 *
 * A SentencePiece BPE vocabulary (GGUF tokenizer.ggml.model "llama") has
 * scores, not merges.  HF's converter (SentencePieceExtractor, LlamaConverter)
 * derives merges from them, and we do the same so that a GGUF vocabulary
 * encodes exactly like the tokenizer.json made from it:
 *   for each piece in id order, every split (l, r) at a character boundary
 *   where both halves are pieces, ordered by (id(l), id(r));
 *   then a stable sort by (score of the piece, chars(l), chars(r)), descending;
 *   rank = position in that order.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/utf8.h"

typedef struct cand {
    int32_t l, r, m;
    float score;
    int32_t cl, cr;     /* lengths of l and r in characters */
    int64_t seq;        /* position before sorting (stability) */
} cand;

static int cmp_local(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->l != y->l) return x->l < y->l ? -1 : 1;
    return x->r < y->r ? -1 : x->r > y->r;
}

static int cmp_global(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->cl != y->cl) return x->cl > y->cl ? -1 : 1;
    if (x->cr != y->cr) return x->cr > y->cr ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int32_t nchars(const char *s, size_t n)
{
    int32_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

int st_merges_from_scores(strata_tokenizer *t, const float *scores)
{
    cand *cs = NULL;
    size_t n = 0, cap = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *p = t->piece[id];
        if (!p) continue;
        size_t len = t->piece_len[id], first = n;
        for (size_t k = 1; k < len; k++) {
            if (((unsigned char)p[k] & 0xC0) == 0x80) continue;   /* inside a character */
            int32_t l = st_strmap_get(&t->vocab, p, k), r = st_strmap_get(&t->vocab, p + k, len - k);
            if (l < 0 || r < 0) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 4096;
                cand *nc = realloc(cs, cap * sizeof *nc);
                if (!nc) { free(cs); return STRATA_ERR_NOMEM; }
                cs = nc;
            }
            cs[n++] = (cand){ l, r, id, scores[id], nchars(p, k), nchars(p + k, len - k), 0 };
        }
        if (n > first) qsort(cs + first, n - first, sizeof *cs, cmp_local);
    }
    for (size_t i = 0; i < n; i++) cs[i].seq = (int64_t)i;
    if (n) qsort(cs, n, sizeof *cs, cmp_global);
    int rc = st_pairmap_init(&t->merges, n + 1) < 0 ? STRATA_ERR_NOMEM : STRATA_OK;
    for (size_t i = 0; i < n && rc == STRATA_OK; i++)
        if (st_pairmap_put(&t->merges, cs[i].l, cs[i].r, (int32_t)i, cs[i].m)) rc = STRATA_ERR_NOMEM;
    free(cs);
    return rc;
}
