/* tokenizer/pretok.c — pre-tokenizer regexes (PCRE2) and HF split behaviours.
 *
 * Patterns in tokenizer.json are written for Oniguruma / Rust regex, where \s
 * is Unicode White_Space.  PCRE2 with UCP differs (it adds U+180E), so \s is
 * rewritten to an explicit class, and \S outside a class to its negation.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "tokenizer/utf8.h"

static int sb_add(char **b, size_t *n, size_t *cap, const char *s, size_t k)
{
    if (*n + k + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *n + k + 1) c *= 2;
        char *nb = realloc(*b, c);
        if (!nb) return -1;
        *b = nb;
        *cap = c;
    }
    memcpy(*b + *n, s, k);
    *n += k;
    (*b)[*n] = '\0';
    return 0;
}

int st_regex_compile(const char *pat, size_t len, pcre2_code **out, st_err *err,
                     const char *where)
{
    char *b = NULL;
    size_t n = 0, cap = 0;
    int in_class = 0, rc = 0;
    static const char ws[] = ST_WS_CLASS;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = pat[i];
        if (c == '\\' && i + 1 < len) {
            char d = pat[i + 1];
            if (d == 's') {
                rc = in_class ? sb_add(&b, &n, &cap, ws, sizeof ws - 1)
                              : (sb_add(&b, &n, &cap, "[", 1) || sb_add(&b, &n, &cap, ws, sizeof ws - 1) ||
                                 sb_add(&b, &n, &cap, "]", 1));
            } else if (d == 'S' && !in_class) {
                rc = sb_add(&b, &n, &cap, "[^", 2) || sb_add(&b, &n, &cap, ws, sizeof ws - 1) ||
                     sb_add(&b, &n, &cap, "]", 1);
            } else {
                rc = sb_add(&b, &n, &cap, pat + i, 2);
            }
            i++;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            rc = sb_add(&b, &n, &cap, "[", 1);
            /* a ']' right after '[' or '[^' is a literal */
            if (i + 1 < len && pat[i + 1] == '^') { rc = rc || sb_add(&b, &n, &cap, "^", 1); i++; }
            if (i + 1 < len && pat[i + 1] == ']') { rc = rc || sb_add(&b, &n, &cap, "]", 1); i++; }
            continue;
        }
        if (in_class && c == '[' && i + 1 < len && pat[i + 1] == ':') {
            /* POSIX class [:name:] inside a class */
            const char *end = strstr(pat + i + 2, ":]");
            size_t k = end && (size_t)(end - pat) < len ? (size_t)(end - pat) + 2 - i : 1;
            rc = sb_add(&b, &n, &cap, pat + i, k);
            i += k - 1;
            continue;
        }
        if (in_class && c == ']') in_class = 0;
        rc = sb_add(&b, &n, &cap, &c, 1);
    }
    if (rc || !b) {
        free(b);
        return st_seterr(err, STRATA_ERR_NOMEM, "%s: out of memory compiling regex", where);
    }
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)b, n, PCRE2_UTF | PCRE2_UCP, &ecode, &eoff, NULL);
    free(b);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: regex '%.*s' does not compile: %s",
                         where, (int)(len > 200 ? 200 : len), pat, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter */
    *out = re;
    return STRATA_OK;
}

/* (start, end, is_match) triples of one piece, before the behaviour folds them */
typedef struct { size_t s, e; int m; } span;

static int add_span(int simple, int invert, st_emit_fn emit, void *ctx, size_t ps,
                    span **sv, size_t *nsv, size_t *csv, size_t s, size_t e, int m)
{
    if (simple) return s == e ? 0 : emit(ctx, ps + s, ps + e);
    if (*nsv == *csv) {
        size_t c = *csv ? *csv * 2 : 64;
        span *nb = realloc(*sv, c * sizeof *nb);
        if (!nb) return -1;
        *sv = nb;
        *csv = c;
    }
    (*sv)[*nsv].s = s;
    (*sv)[*nsv].e = e;
    (*sv)[*nsv].m = m ^ invert;
    (*nsv)++;
    return 0;
}

int st_split_apply(strata_tokenizer *t, const st_split *sp, const char *s, size_t ps, size_t pe,
                   st_emit_fn emit, void *ctx)
{
    const PCRE2_SPTR subj = (PCRE2_SPTR)(s + ps);
    const size_t len = pe - ps;
    /* Fast path: Isolated, not inverted — every match and every gap is a piece. */
    int simple = sp->behavior == ST_SPLIT_ISOLATED;
    span *sv = NULL;
    size_t nsv = 0, csv = 0;
    size_t off = 0, prev = 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
    int rc = 0, erc = 0;
#define ADD(S, E, M) do { \
        if ((erc = add_span(simple, sp->invert, emit, ctx, ps, &sv, &nsv, &csv, (S), (E), (M))) != 0) \
            goto fail; \
    } while (0)
    while (off < len) {
        rc = pcre2_match(sp->re, subj, len, off, PCRE2_NO_UTF_CHECK, t->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            free(sv);
            return st_seterr(&t->err, STRATA_ERR_NUMERIC, "tokenizer: pre-tokenizer regex failed: %s",
                             (const char *)msg);
        }
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) {          /* empty match: no piece; step one character */
            off = ms + st_utf8_len(subj[ms]);
            continue;
        }
        if (ms > prev) ADD(prev, ms, 0);
        ADD(ms, me, 1);
        prev = off = me;
    }
    if (prev < len) ADD(prev, len, 0);
#undef ADD
    if (simple) return STRATA_OK;

    /* HF NormalizedString::split behaviours, folded over the spans */
    size_t k = 0;   /* folded spans written back into sv[0..k) */
    int prev_match = 0;
    switch (sp->behavior) {
    case ST_SPLIT_REMOVED:
        for (size_t i = 0; i < nsv; i++) if (!sv[i].m) sv[k++] = sv[i];
        break;
    case ST_SPLIT_ISOLATED:
        k = nsv;
        break;
    case ST_SPLIT_MERGED_PREV:
        for (size_t i = 0; i < nsv; i++) {
            if (sv[i].m && !prev_match && k > 0) sv[k - 1].e = sv[i].e;
            else sv[k++] = sv[i];
            prev_match = sv[i].m;
        }
        break;
    case ST_SPLIT_MERGED_NEXT: {
        /* walk backwards; a match is glued onto the piece after it */
        size_t w = nsv;
        for (size_t i = nsv; i-- > 0;) {
            int m = sv[i].m;
            if (m && !prev_match && w < nsv) sv[w].s = sv[i].s;
            else sv[--w] = sv[i];
            prev_match = m;
        }
        memmove(sv, sv + w, (nsv - w) * sizeof *sv);
        k = nsv - w;
        break;
    }
    case ST_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < nsv; i++) {
            if (sv[i].m == prev_match && k > 0) sv[k - 1].e = sv[i].e;
            else sv[k++] = sv[i];
            prev_match = sv[i].m;
        }
        break;
    }
    for (size_t i = 0; i < k; i++)
        if (sv[i].e > sv[i].s && (erc = emit(ctx, ps + sv[i].s, ps + sv[i].e)) != 0) goto fail;
    free(sv);
    return STRATA_OK;
fail:
    free(sv);
    if (erc > 0 || erc == STRATA_ERR_NOMEM || erc == -1)
        return st_seterr(&t->err, STRATA_ERR_NOMEM, "tokenizer: out of memory in pre-tokenizer");
    return erc;
}
