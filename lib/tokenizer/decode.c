/* tokenizer/decode.c — ids -> text through the tokenizer.json decoder chain.
 *
 * Steps act on a list of token strings, as HF's Decoder::decode_chain does:
 * ByteLevel (chars -> bytes, the list becomes one string), Replace, ByteFallback
 * ("<0xXX>" runs -> raw bytes), Fuse (join), Strip (per token), Metaspace
 * ('▁' -> ' ', first token loses one leading space).  With no decoder the
 * pieces are joined with ' ', as HF does.
 *
 * Deviation from HF, on purpose: bytes that do not form valid UTF-8 (a token
 * ending inside a character) are returned raw, not replaced by U+FFFD, so
 * that decoding token by token and concatenating gives the same bytes.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/utf8.h"

typedef struct slist {
    char *buf; size_t len, cap;
    size_t *off, *ln; size_t n, capn;
} slist;

static void sl_free(slist *l) { free(l->buf); free(l->off); free(l->ln); memset(l, 0, sizeof *l); }

static int sl_bytes(slist *l, const char *s, size_t k)
{
    if (k == 0) return 0;
    if (l->len + k + 1 > l->cap) {
        size_t c = l->cap ? l->cap : 256;
        while (c < l->len + k + 1) c *= 2;
        char *nb = realloc(l->buf, c);
        if (!nb) return -1;
        l->buf = nb;
        l->cap = c;
    }
    memcpy(l->buf + l->len, s, k);
    l->len += k;
    return 0;
}

/* starts a new (empty) item */
static int sl_new(slist *l)
{
    if (l->n == l->capn) {
        size_t c = l->capn ? l->capn * 2 : 64;
        size_t *no = realloc(l->off, c * sizeof *no);
        if (!no) return -1;
        l->off = no;
        size_t *nl = realloc(l->ln, c * sizeof *nl);
        if (!nl) return -1;
        l->ln = nl;
        l->capn = c;
    }
    l->off[l->n] = l->len;
    l->ln[l->n] = 0;
    l->n++;
    return 0;
}

/* appends bytes to the last item */
static int sl_cat(slist *l, const char *s, size_t k)
{
    if (sl_bytes(l, s, k)) return -1;
    l->ln[l->n - 1] += k;
    return 0;
}

/* Item i's bytes.  A list whose items are all empty may have no buffer yet
 * (Fuse or ByteLevel over zero tokens): then "" (NULL + 0 is undefined). */
#define ITEM(l, i) ((l)->buf ? (l)->buf + (l)->off[i] : "")

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int byte_token(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int h = hexval(s[3]), l = hexval(s[4]);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

static int apply(const st_dec *d, const slist *in, slist *o)
{
    switch (d->kind) {
    case ST_DEC_BYTELEVEL:
        if (sl_new(o)) return -1;
        for (size_t i = 0; i < in->n; i++) {
            const unsigned char *s = (const unsigned char *)ITEM(in, i);
            size_t n = in->ln[i], j = 0, start = o->len;
            while (j < n) {
                size_t adv;
                int32_t cp = st_utf8_next(s + j, n - j, &adv);
                int b = cp < 0 ? -1 : st_bytelevel_byte((uint32_t)cp);
                if (b < 0) break;
                char c = (char)b;
                if (sl_cat(o, &c, 1)) return -1;
                j += adv;
            }
            if (j < n) {   /* not all byte chars: the token's own bytes */
                o->ln[o->n - 1] -= o->len - start;
                o->len = start;
                if (sl_cat(o, (const char *)s, n)) return -1;
            }
        }
        return 0;
    case ST_DEC_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            const char *s = ITEM(in, i);
            size_t n = in->ln[i], j = 0;
            if (sl_new(o)) return -1;
            while (d->alen && j < n) {
                const char *h = memmem(s + j, n - j, d->a, d->alen);
                if (!h) break;
                if (sl_cat(o, s + j, (size_t)(h - (s + j))) || sl_cat(o, d->b, d->blen)) return -1;
                j = (size_t)(h - s) + d->alen;
            }
            if (sl_cat(o, s + j, n - j)) return -1;
        }
        return 0;
    case ST_DEC_BYTEFALLBACK: {
        int prev_byte = 0;
        for (size_t i = 0; i < in->n; i++) {
            int b = byte_token(ITEM(in, i), in->ln[i]);
            if (b >= 0) {
                if (!prev_byte && sl_new(o)) return -1;
                char c = (char)b;
                if (sl_cat(o, &c, 1)) return -1;
                prev_byte = 1;
            } else {
                if (sl_new(o) || sl_cat(o, ITEM(in, i), in->ln[i])) return -1;
                prev_byte = 0;
            }
        }
        return 0;
    }
    case ST_DEC_FUSE:
        if (sl_new(o)) return -1;
        for (size_t i = 0; i < in->n; i++)
            if (sl_cat(o, ITEM(in, i), in->ln[i])) return -1;
        return 0;
    case ST_DEC_STRIP:
        for (size_t i = 0; i < in->n; i++) {
            const char *s = ITEM(in, i);
            size_t a = 0, e = in->ln[i];
            for (int k = 0; k < d->start && e - a >= d->alen && !memcmp(s + a, d->a, d->alen); k++)
                a += d->alen;
            for (int k = 0; k < d->stop && e - a >= d->alen && !memcmp(s + e - d->alen, d->a, d->alen); k++)
                e -= d->alen;
            if (sl_new(o) || sl_cat(o, s + a, e - a)) return -1;
        }
        return 0;
    case ST_DEC_METASPACE:
        for (size_t i = 0; i < in->n; i++) {
            const char *s = ITEM(in, i);
            size_t n = in->ln[i], j = 0, start = o->len;
            if (sl_new(o)) return -1;
            while (d->alen && j < n) {
                const char *h = memmem(s + j, n - j, d->a, d->alen);
                if (!h) break;
                if (sl_cat(o, s + j, (size_t)(h - (s + j))) || sl_cat(o, " ", 1)) return -1;
                j = (size_t)(h - s) + d->alen;
            }
            if (sl_cat(o, s + j, n - j)) return -1;
            if (i == 0 && d->start && o->ln[o->n - 1] > 0 && o->buf[start] == ' ') {
                memmove(o->buf + start, o->buf + start + 1, o->ln[o->n - 1] - 1);
                o->ln[o->n - 1]--;
                o->len--;
            }
        }
        return 0;
    }
    return -1;
}

int64_t st_decode(strata_tokenizer *t, const int32_t *ids, int64_t n, int skip_special,
                  char *out, int64_t cap)
{
    slist a = {0}, b = {0};
    for (int64_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab || !t->piece[id]) {
            sl_free(&a);
            return st_seterr(&t->err, STRATA_ERR_RANGE,
                             "strata_detokenize: ids[%lld] = %d is not a token id (vocabulary size %d)",
                             (long long)i, id, t->n_vocab);
        }
        if (skip_special && t->special[id]) continue;
        if (sl_new(&a) || sl_cat(&a, t->piece[id], t->piece_len[id])) goto nomem;
    }
    if (!t->has_decoder) {
        /* HF without a decoder: pieces joined by spaces */
        if (sl_new(&b)) goto nomem;
        for (size_t i = 0; i < a.n; i++)
            if ((i && sl_cat(&b, " ", 1)) || sl_cat(&b, ITEM(&a, i), a.ln[i])) goto nomem;
        sl_free(&a);
        a = b;
        memset(&b, 0, sizeof b);
    }
    for (int k = 0; k < t->n_decs; k++) {
        if (apply(&t->decs[k], &a, &b)) goto nomem;
        sl_free(&a);
        a = b;
        memset(&b, 0, sizeof b);
    }
    size_t total = 0;
    for (size_t i = 0; i < a.n; i++) total += a.ln[i];
    if (cap > 0) {
        size_t w = 0;
        for (size_t i = 0; i < a.n && w + 1 < (size_t)cap; i++) {
            size_t k = a.ln[i];
            if (k > (size_t)cap - 1 - w) k = (size_t)cap - 1 - w;
            if (k) memcpy(out + w, ITEM(&a, i), k);
            w += k;
        }
        out[w] = '\0';
    }
    sl_free(&a);
    return (int64_t)total;
nomem:
    sl_free(&a);
    sl_free(&b);
    return st_seterr(&t->err, STRATA_ERR_NOMEM, "strata_detokenize: out of memory");
}
