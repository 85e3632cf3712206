/* tokenizer/unicode_norm.c — NFC / NFD / NFKC / NFKD with alignments.
 *
 * The text is cut at normalization boundaries: before every code point that
 * cannot interact with the one before it (st_nobound lists those that can).
 * Each stretch between cuts is decoded, fully decomposed (table or Hangul
 * arithmetic), put in canonical order, composed for NFC/NFKC, and compared
 * with the input: unchanged stretches are copied with their alignment.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/unicode_norm.h"
#include "tokenizer/utf8.h"

/* Hangul syllables: S = SBase + (L*VCount + V)*TCount + T */
#define SBASE 0xAC00u
#define LBASE 0x1100u
#define VBASE 0x1161u
#define TBASE 0x11A7u
#define LCOUNT 19u
#define VCOUNT 21u
#define TCOUNT 28u
#define NCOUNT (VCOUNT * TCOUNT)
#define SCOUNT (LCOUNT * NCOUNT)

static int ccc_of(uint32_t c)
{
    if (c < 0x300) return 0;
    int lo = 0, hi = st_n_ccc - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (c < st_ccc[m].lo) hi = m - 1;
        else if (c > st_ccc[m].hi) lo = m + 1;
        else return st_ccc[m].ccc;
    }
    return 0;
}

static int is_boundary(uint32_t c)
{
    if (c < 0x300) return 1;
    int lo = 0, hi = st_n_nobound - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (c < st_nobound[m].lo) hi = m - 1;
        else if (c > st_nobound[m].hi) lo = m + 1;
        else return 0;
    }
    return 1;
}

static const st_dec_entry *dec_of(uint32_t c)
{
    int lo = 0, hi = st_n_ucd_dec - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (c < st_ucd_dec[m].cp) hi = m - 1;
        else if (c > st_ucd_dec[m].cp) lo = m + 1;
        else return &st_ucd_dec[m];
    }
    return NULL;
}

static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    int lo = 0, hi = st_n_comp - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        const st_comp_entry *e = &st_comp[m];
        if (a < e->a || (a == e->a && b < e->b)) hi = m - 1;
        else if (a > e->a || b > e->b) lo = m + 1;
        else return e->c;
    }
    return 0;
}

typedef struct u32buf { uint32_t *v; size_t n, cap; } u32buf;

static int u32_push(u32buf *b, uint32_t c)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        uint32_t *nv = realloc(b->v, nc * sizeof *nv);
        if (!nv) return -1;
        b->v = nv;
        b->cap = nc;
    }
    b->v[b->n++] = c;
    return 0;
}

/* Normalizes the code points of one stretch (in b) in place. */
static int normalize_stretch(int form, const uint32_t *in, size_t n, u32buf *b)
{
    int compat = form == ST_NF_NFKC || form == ST_NF_NFKD;
    int compose = form == ST_NF_NFC || form == ST_NF_NFKC;
    b->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = in[i];
        if (c >= SBASE && c < SBASE + SCOUNT) {
            uint32_t s = c - SBASE;
            if (u32_push(b, LBASE + s / NCOUNT) || u32_push(b, VBASE + (s % NCOUNT) / TCOUNT)) return -1;
            if (s % TCOUNT && u32_push(b, TBASE + s % TCOUNT)) return -1;
            continue;
        }
        const st_dec_entry *d = c < 0xA0 ? NULL : dec_of(c);
        if (!d) { if (u32_push(b, c)) return -1; continue; }
        uint32_t off = compat ? d->ko : d->co, len = compat ? d->kl : d->cl;
        for (uint32_t k = 0; k < len; k++)
            if (u32_push(b, st_ucd_dec_data[off + k])) return -1;
    }
    /* canonical ordering: stable insertion sort of each run of non-starters */
    uint32_t *v = b->v;
    for (size_t i = 1; i < b->n; i++) {
        int ci = ccc_of(v[i]);
        if (!ci) continue;
        size_t j = i;
        while (j > 0) {
            int cj = ccc_of(v[j - 1]);
            if (cj <= ci) break;
            uint32_t t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
            j--;
        }
    }
    if (!compose || b->n < 2) return 0;
    /* canonical composition (UAX #15 sample algorithm): a character joins the
     * last starter unless a character of equal or higher class sits between */
    size_t starter = 0, out = 1;
    int last = ccc_of(v[0]) ? 256 : 0;
    for (size_t i = 1; i < b->n; i++) {
        uint32_t c = v[i];
        int cc = ccc_of(c);
        uint32_t comp = compose_pair(v[starter], c);
        if (comp && (last < cc || last == 0)) {
            v[starter] = comp;
            continue;
        }
        if (cc == 0) starter = out;
        last = cc;
        v[out++] = c;
    }
    b->n = out;
    return 0;
}

typedef struct obuf { char *s; int64_t *a0, *a1; size_t n, cap; } obuf;

static int o_reserve(obuf *o, size_t extra)
{
    if (o->n + extra + 1 <= o->cap) return 0;
    size_t c = o->cap ? o->cap * 2 : 256;
    while (c < o->n + extra + 1) c *= 2;
    char *ns = realloc(o->s, c);
    if (!ns) return -1;
    o->s = ns;
    int64_t *n0 = realloc(o->a0, c * sizeof *n0);
    if (!n0) return -1;
    o->a0 = n0;
    int64_t *n1 = realloc(o->a1, c * sizeof *n1);
    if (!n1) return -1;
    o->a1 = n1;
    o->cap = c;
    return 0;
}

int st_unicode_normalize(int form, const st_nstr *in, st_nstr *out)
{
    memset(out, 0, sizeof *out);
    obuf o = {0};
    u32buf cps = {0}, nb = {0};
    const unsigned char *p = (const unsigned char *)in->s;
    size_t i = 0;
    if (o_reserve(&o, in->n + 16)) goto nomem;
    while (i < in->n) {
        /* one stretch: [i, j) from a boundary up to the next one */
        size_t j = i, adv;
        int ascii = 1;
        cps.n = 0;
        do {
            int32_t c = st_utf8_next(p + j, in->n - j, &adv);
            if (c < 0) c = 0xFFFD;
            if (c >= 0x80) ascii = 0;
            if (u32_push(&cps, (uint32_t)c)) goto nomem;
            j += adv;
        } while (j < in->n && (p[j] >= 0x80 && !is_boundary((uint32_t)st_utf8_next(p + j, in->n - j, &adv))));
        int same = ascii;
        if (!same) {
            if (normalize_stretch(form, cps.v, cps.n, &nb)) goto nomem;
            same = nb.n == cps.n && !memcmp(nb.v, cps.v, cps.n * sizeof *cps.v);
        }
        if (o_reserve(&o, same ? j - i : nb.n * 4)) goto nomem;
        if (same) {
            memcpy(o.s + o.n, in->s + i, j - i);
            for (size_t k = i; k < j; k++, o.n++) {
                o.a0[o.n] = st_nstr_start(in, k);
                o.a1[o.n] = st_nstr_end(in, k);
            }
        } else {
            int64_t s0 = st_nstr_start(in, i), s1 = st_nstr_end(in, j - 1);
            for (size_t k = 0; k < nb.n; k++) {
                int l = st_utf8_put(nb.v[k], o.s + o.n);
                for (int q = 0; q < l; q++, o.n++) { o.a0[o.n] = s0; o.a1[o.n] = s1; }
            }
        }
        i = j;
    }
    free(cps.v);
    free(nb.v);
    /* st_nstr keeps both alignment arrays in one allocation */
    int64_t *a = malloc((2 * o.n + 1) * sizeof *a);
    if (!a) { memset(&cps, 0, sizeof cps); memset(&nb, 0, sizeof nb); goto nomem; }
    memcpy(a, o.a0, o.n * sizeof *a);
    memcpy(a + o.n, o.a1, o.n * sizeof *a);
    free(o.a0);
    free(o.a1);
    o.s[o.n] = '\0';
    out->s = out->own_s = o.s;
    out->n = o.n;
    out->a0 = a;
    out->a1 = a + o.n;
    out->own_a = a;
    out->base = in->n ? st_nstr_start(in, 0) : in->base;
    return 0;
nomem:
    free(o.s);
    free(o.a0);
    free(o.a1);
    free(cps.v);
    free(nb.v);
    return -1;
}

char *st_normalize_utf8(int form, const char *s, size_t n, size_t *outlen)
{
    st_nstr in, out;
    memset(&in, 0, sizeof in);
    in.s = s;
    in.n = n;
    if (st_unicode_normalize(form, &in, &out) < 0) return NULL;
    char *r = out.own_s;
    *outlen = out.n;
    free(out.own_a);
    return r;
}
