/* tokenizer/normalize.c — normalizer steps on strings with alignments.
 *
 * Each step builds a new st_nstr whose bytes keep the input byte range they
 * came from: copied bytes keep theirs, a replacement takes the whole range
 * of what it replaced, prepended text gets the empty range at the segment
 * start (so a token made only of it has offsets [s, s)).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode_norm.h"

void st_nstr_free(st_nstr *ns)
{
    if (!ns) return;
    free(ns->own_s);
    free(ns->own_a);
    memset(ns, 0, sizeof *ns);
}

typedef struct {
    char *s; int64_t *a0, *a1;
    size_t n, cap;
} builder;

static int b_reserve(builder *b, size_t extra)
{
    if (b->n + extra <= b->cap) return 0;
    size_t c = b->cap ? b->cap * 2 : 64;
    if (c < b->n + extra) c = b->n + extra;
    char *ns = realloc(b->s, c + 1);
    if (!ns) return -1;
    b->s = ns;
    int64_t *na = malloc(2 * c * sizeof *na);
    if (!na) return -1;
    if (b->n) {
        memcpy(na, b->a0, b->n * sizeof *na);
        memcpy(na + c, b->a1, b->n * sizeof *na);
    }
    free(b->a0);
    b->a0 = na;
    b->a1 = na + c;
    b->cap = c;
    return 0;
}

static int b_add(builder *b, const char *s, size_t k, int64_t a0, int64_t a1)
{
    if (b_reserve(b, k)) return -1;
    memcpy(b->s + b->n, s, k);
    for (size_t i = 0; i < k; i++) { b->a0[b->n + i] = a0; b->a1[b->n + i] = a1; }
    b->n += k;
    return 0;
}

static int b_copy(builder *b, const st_nstr *in, size_t from, size_t to)
{
    size_t k = to - from;
    if (b_reserve(b, k)) return -1;
    memcpy(b->s + b->n, in->s + from, k);
    for (size_t i = 0; i < k; i++) {
        b->a0[b->n + i] = st_nstr_start(in, from + i);
        b->a1[b->n + i] = st_nstr_end(in, from + i);
    }
    b->n += k;
    return 0;
}

int st_nstr_apply(const st_norm *nm, const st_nstr *in, int first_segment, st_nstr *out)
{
    if (nm->kind == ST_NORM_UNICODE)
        return st_unicode_normalize(nm->form, in, out) < 0 ? STRATA_ERR_NOMEM : STRATA_OK;
    builder b = {0};
    int rc = 0;
    memset(out, 0, sizeof *out);
    /* exact output size, so the arrays are allocated (and touched) once */
    size_t need = in->n + nm->alen + 1;
    if (nm->kind == ST_NORM_REPLACE && nm->alen) {
        size_t hits = 0;
        for (const char *p = in->s, *end = in->s + in->n;
             (p = memmem(p, (size_t)(end - p), nm->a, nm->alen)) != NULL; p += nm->alen)
            hits++;
        need = in->n + hits * (nm->blen > nm->alen ? nm->blen - nm->alen : 0) + 1;
    }
    if (b_reserve(&b, need)) goto nomem;
    int64_t s0 = in->n ? st_nstr_start(in, 0) : in->base;
    switch (nm->kind) {
    case ST_NORM_PREPEND:
        if (in->n) rc = b_add(&b, nm->a, nm->alen, s0, s0);
        rc = rc || b_copy(&b, in, 0, in->n);
        break;
    case ST_NORM_PREFIX_IF_MISSING: {
        int want = in->n && (!nm->first_only || first_segment) &&
                   !(in->n >= nm->alen && !memcmp(in->s, nm->a, nm->alen));
        if (want) rc = b_add(&b, nm->a, nm->alen, s0, s0);
        rc = rc || b_copy(&b, in, 0, in->n);
        break;
    }
    case ST_NORM_REPLACE: {
        size_t i = 0, last = 0;
        while (nm->alen && i + nm->alen <= in->n) {
            const char *hit = memmem(in->s + i, in->n - i, nm->a, nm->alen);
            if (!hit) break;
            size_t h = (size_t)(hit - in->s);
            rc = rc || b_copy(&b, in, last, h);
            rc = rc || b_add(&b, nm->b, nm->blen, st_nstr_start(in, h), st_nstr_end(in, h + nm->alen - 1));
            i = last = h + nm->alen;
        }
        rc = rc || b_copy(&b, in, last, in->n);
        break;
    }
    }
    if (rc) goto nomem;
    b.s[b.n] = '\0';
    out->s = out->own_s = b.s;
    out->n = b.n;
    out->a0 = b.a0;
    out->a1 = b.a1;
    out->own_a = b.a0;
    out->base = s0;
    return STRATA_OK;
nomem:
    free(b.s);
    free(b.a0);
    return STRATA_ERR_NOMEM;
}
