/* probes/attn_capture.c — attention statistics from patterns stored in a
 * capture file (strata_attn_stats_add_capture, strata/attn.h).
 *
 * Everything is read through the public reader (strata_acts_*, which
 * converts float16, knows the committed counts and checks the index
 * datasets), as docs/FORMAT.md lays them out:
 *   /tokens         int32 [N]
 *   /docs/offsets   int64 [D+1]   doc i = tokens[offsets[i]:offsets[i+1]]
 *   /rows           int64 [R]     token index of each stored row
 *   /acts/blocks.{l}.attn.hook_pattern  float [R][H][W]
 * Rows are in token order (as capture writes them), so one pass over the
 * documents with a moving row pointer assigns every row to its document.
 * Memory: one document's rows of one hook at a time ([rows_doc][H][W]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"
#include "strata/capture.h"
#include "strata/hooks.h"

typedef struct pat_hook {
    const char *name; /* borrowed from the reader */
    int layer, head0, nh;
    int64_t W;
} pat_hook;

strata_status strata_attn_stats_add_capture(strata_attn_stats *s, const char *path)
{
    if (!s || !s->ready) return STRATA_ERR_ARG;
    if (!path) return st_seterr(&s->err, STRATA_ERR_ARG, "attn stats: capture path is NULL");
    strata_acts *a = NULL;
    int rc = strata_acts_open(path, &a);
    if (rc != STRATA_OK) {
        rc = st_seterr(&s->err, rc, "attn stats: %s", strata_acts_errmsg(a));
        strata_acts_close(a);
        return rc;
    }
    /* the pattern datasets */
    int nhk = strata_acts_n_hooks(a), np = 0;
    pat_hook *ph = calloc((size_t)(nhk > 0 ? nhk : 1), sizeof *ph);
    if (!ph) { strata_acts_close(a); return st_seterr(&s->err, STRATA_ERR_NOMEM, "attn stats: out of memory"); }
    char listed[512] = "";
    for (int i = 0; i < nhk; i++) {
        const char *nm = strata_acts_hook(a, i);
        int kind, layer, head;
        if (strlen(listed) + strlen(nm) + 4 < sizeof listed)
            snprintf(listed + strlen(listed), sizeof listed - strlen(listed), "%s%s", i ? ", " : "", nm);
        if (strata_hook_parse(nm, &kind, &layer, &head) != STRATA_OK || kind != STRATA_HOOK_ATTN_PATTERN)
            continue;
        int64_t sh[4];
        int nd = strata_acts_hook_shape(a, nm, sh);
        if (nd != 3 || layer < 0 || layer >= s->n_layers) {
            rc = st_seterr(&s->err, STRATA_ERR_FORMAT,
                           "attn stats: %s: /acts/%s has %d dims (want [rows, heads, n_ctx]) or a "
                           "layer outside [0, %d)", path, nm, nd, s->n_layers);
            goto out;
        }
        int h0 = head >= 0 ? head : 0;
        if (h0 + sh[1] > s->n_heads || (head >= 0 && sh[1] != 1)) {
            rc = st_seterr(&s->err, STRATA_ERR_FORMAT,
                           "attn stats: %s: /acts/%s has %lld heads, the model %d", path, nm,
                           (long long)sh[1], s->n_heads);
            goto out;
        }
        ph[np++] = (pat_hook){ nm, layer, h0, (int)sh[1], sh[2] };
    }
    if (np == 0) {
        rc = st_seterr(&s->err, STRATA_ERR_NOTFOUND,
                       "attn stats: %s holds no attention pattern (blocks.*.attn.hook_pattern); "
                       "capture it with --hooks 'blocks.*.attn.hook_pattern' (hooks in the file: %s)",
                       path, nhk ? listed : "none");
        goto out;
    }
    /* the index datasets */
    const int64_t R = strata_acts_n_rows(a);
    const int64_t D = strata_acts_n_docs(a);
    int64_t *rows = NULL, *off = NULL;
    int32_t *tok = NULL;
    uint8_t *dup = NULL;
    int64_t *keys = NULL;
    float *buf = NULL;
    double *out = NULL;
    uint8_t *valid = NULL;
    if (D < 0) {
        rc = st_seterr(&s->err, STRATA_ERR_FORMAT, "attn stats: %s: no document index (n_docs)", path);
        goto close;
    }
    rows = malloc(sizeof *rows * (size_t)(R + 1));
    off = malloc(sizeof *off * (size_t)(D + 1));
    if (!rows || !off) { rc = st_seterr(&s->err, STRATA_ERR_NOMEM, "attn stats: out of memory"); goto close; }
    if ((rc = strata_acts_read_rows(a, 0, R, rows)) != STRATA_OK ||
        (rc = strata_acts_read_doc_offsets(a, 0, D + 1, off)) != STRATA_OK) {
        rc = st_seterr(&s->err, rc, "attn stats: %s", strata_acts_errmsg(a));
        goto close;
    }
    int64_t maxW = 0;
    for (int i = 0; i < np; i++) if (ph[i].W > maxW) maxW = ph[i].W;
    int64_t r0 = 0, n_docs_used = 0;
    for (int64_t d = 0; d < D && r0 < R; d++) {
        const int64_t t0 = off[d], t1 = off[d + 1], L = t1 - t0;
        if (L < 0 || (d > 0 && t0 < off[d - 1])) {
            rc = st_seterr(&s->err, STRATA_ERR_FORMAT, "attn stats: %s: /docs/offsets not increasing at %lld", path, (long long)d);
            goto close;
        }
        if (rows[r0] < t0) {
            rc = st_seterr(&s->err, STRATA_ERR_FORMAT,
                           "attn stats: %s: /rows not in token order at row %lld", path, (long long)r0);
            goto close;
        }
        int64_t r1 = r0;
        while (r1 < R && rows[r1] < t1) r1++;
        const int64_t nr = r1 - r0;
        if (nr == 0) continue;
        if (L > maxW) {
            /* rows of this document may reach positions beyond the stored width */
            for (int64_t r = r0; r < r1; r++)
                if (rows[r] - t0 >= maxW) {
                    rc = st_seterr(&s->err, STRATA_ERR_FORMAT,
                                   "attn stats: %s: row %lld is position %lld but patterns hold %lld keys",
                                   path, (long long)r, (long long)(rows[r] - t0), (long long)maxW);
                    goto close;
                }
        }
        /* document tokens and duplicate mask */
        int32_t *t2 = realloc(tok, sizeof *tok * (size_t)(L > 0 ? L : 1));
        uint8_t *d2 = t2 ? realloc(dup, (size_t)(L > 0 ? L : 1)) : NULL;
        int64_t *k2 = d2 ? realloc(keys, sizeof *keys * (size_t)(L > 0 ? L : 1)) : NULL;
        if (t2) tok = t2;
        if (d2) dup = d2;
        if (k2) keys = k2;
        float *b2 = k2 ? realloc(buf, sizeof *buf * (size_t)(nr * s->n_heads * maxW)) : NULL;
        if (b2) buf = b2;
        if (!b2) { rc = st_seterr(&s->err, STRATA_ERR_NOMEM, "attn stats: out of memory"); goto close; }
        if (!out) {
            out = malloc(sizeof *out * (size_t)s->n_heads * STRATA_ATTN_NSTAT);
            valid = malloc((size_t)s->n_heads * STRATA_ATTN_NSTAT);
            if (!out || !valid) { rc = st_seterr(&s->err, STRATA_ERR_NOMEM, "attn stats: out of memory"); goto close; }
        }
        if ((rc = strata_acts_read_tokens(a, t0, L, tok)) != STRATA_OK) {
            rc = st_seterr(&s->err, rc, "attn stats: %s", strata_acts_errmsg(a));
            goto close;
        }
        if (s->ind_R > 0 && (rc = st_attn_check_induction(s, tok, (int)L, s->ind_R, d)) < 0) goto close;
        st_attn_dup_mask(tok, (int)L, keys, dup);
        for (int i = 0; i < np; i++) {
            const pat_hook *p = &ph[i];
            if ((rc = strata_acts_read(a, p->name, r0, nr, buf)) != STRATA_OK) {
                rc = st_seterr(&s->err, rc, "attn stats: %s", strata_acts_errmsg(a));
                goto close;
            }
            memset(valid, 0, (size_t)s->n_heads * STRATA_ATTN_NSTAT);
            for (int h = 0; h < p->nh; h++) {
                st_attn_acc acc;
                memset(&acc, 0, sizeof acc);
                for (int64_t r = 0; r < nr; r++) {
                    int q = (int)(rows[r0 + r] - t0);
                    st_attn_acc_rows(&acc, buf + (r * p->nh + h) * p->W, p->W, 1, q, q + 1, tok,
                                     dup, s->ind_R, s->ind_general, NULL);
                }
                st_attn_acc_finish(&acc, out + (int64_t)(p->head0 + h) * STRATA_ATTN_NSTAT,
                                   valid + (int64_t)(p->head0 + h) * STRATA_ATTN_NSTAT);
            }
            st_attn_fold_doc(s, p->layer, out, valid);
        }
        n_docs_used++;
        r0 = r1;
    }
    rc = STRATA_OK;
close:
    free(rows);
    free(off);
    free(tok);
    free(dup);
    free(keys);
    free(buf);
    free(out);
    free(valid);
out:
    free(ph);
    strata_acts_close(a);
    return rc;
}
