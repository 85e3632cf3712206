/* probes/probe_sweep.c — probes over the hooks of a capture file: the
 * row-block source over one /acts/<hook> dataset, and the sweep that fits
 * the same probe on every hook matching a glob (the layer-by-layer table).
 *
 * Memory per hook: labels and per-row bookkeeping O(R), one row block
 * (sized from params.mem_limit), and the solver's O(d * classes).  A hook
 * whose rows fit in half of params.mem_limit is read into memory once. */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/capture.h"
#include "probe_internal.h"
#include "util/suggest.h"

typedef struct acts_src { strata_acts *a; char hook[256]; } acts_src;

static int acts_read(void *user, int64_t row0, int64_t n, float *buf, const float **rows,
                     char *err, size_t err_len)
{
    acts_src *s = user;
    int rc = strata_acts_read(s->a, s->hook, row0, n, buf);
    if (rc) { pr_set_msg(err, err_len, strata_acts_errmsg(s->a)); return rc; }
    *rows = buf;
    return STRATA_OK;
}

/* The acts_src lives in a small static-free allocation owned by the caller
 * through src->user; strata_probe_source_acts() hands it out with malloc and
 * the sweep frees it.  Public callers free src->user with free(). */
void strata_probe_source_acts_free(strata_probe_source *src)
{
    if (!src) return;
    free(src->user);
    memset(src, 0, sizeof *src);
}

strata_status strata_probe_source_acts(strata_acts *a, const char *hook,
                                       const strata_probe_params *p,
                                       strata_probe_source *src, char *err, size_t err_len)
{
    if (!a || !hook || !src) { pr_set_msg(err, err_len, "source_acts: file, hook and source are required"); return STRATA_ERR_ARG; }
    int64_t shape[4];
    int nd = strata_acts_hook_shape(a, hook, shape);
    if (nd < 0) {
        char m[512];
        snprintf(m, sizeof m, "no hook '%s' in the capture file", hook);
        pr_set_msg(err, err_len, m);
        return STRATA_ERR_NOTFOUND;
    }
    int64_t w = strata_acts_row_width(a, hook);
    acts_src *s = calloc(1, sizeof *s);
    if (!s) { pr_set_msg(err, err_len, "out of memory"); return STRATA_ERR_NOMEM; }
    s->a = a;
    snprintf(s->hook, sizeof s->hook, "%s", hook);
    src->n_rows = strata_acts_n_rows(a);
    src->dim = w;
    src->block_rows = p && p->block_rows > 0 ? p->block_rows : pr_auto_block(w, p ? p->mem_limit : 0, 0);
    src->read = acts_read;
    src->user = s;
    return STRATA_OK;
}

void strata_probe_sweep_free(strata_probe_report *r) { free(r); }

strata_status strata_probe_sweep(strata_acts *a, const char *glob, const char *label,
                                 const strata_probe_params *p, strata_probe_progress_fn progress,
                                 void *user, strata_probe_report **out, int *n_out,
                                 char *err, size_t err_len)
{
    char m[1024];
    if (!a || !label || !out || !n_out) { pr_set_msg(err, err_len, "sweep: file, label and outputs are required"); return STRATA_ERR_ARG; }
    *out = NULL; *n_out = 0;
    strata_probe_params dp;
    if (!p) { strata_probe_default_params(&dp); p = &dp; }
    int have = 0;
    for (int i = 0; i < strata_acts_n_labels(a); i++) have |= !strcmp(strata_acts_label(a, i), label);
    if (!have) {
        int k = snprintf(m, sizeof m, "no label '%s' in the capture file (labels:", label);
        for (int i = 0; i < strata_acts_n_labels(a) && k < (int)sizeof m - 64; i++)
            k += snprintf(m + k, sizeof m - k, " %s", strata_acts_label(a, i));
        snprintf(m + k, sizeof m - k, "%s)", strata_acts_n_labels(a) ? "" : " none");
        pr_set_msg(err, err_len, m);
        return STRATA_ERR_NOTFOUND;
    }
    int nh = strata_acts_n_hooks(a), nm = 0;
    int *sel = malloc(sizeof *sel * (size_t)(nh + 1));
    if (!sel) { pr_set_msg(err, err_len, "out of memory"); return STRATA_ERR_NOMEM; }
    for (int i = 0; i < nh; i++) {
        const char *h = strata_acts_hook(a, i);
        int64_t shape[4];
        int nd = strata_acts_hook_shape(a, h, shape);
        if (glob ? fnmatch(glob, h, 0) == 0 : nd == 2) sel[nm++] = i;
    }
    if (!nm) {
        free(sel);
        char hint[200] = "";
        if (glob) {
            st_suggest sg;
            st_suggest_init(&sg, glob);
            for (int i = 0; i < nh; i++) st_suggest_offer_hook(&sg, strata_acts_hook(a, i));
            if (sg.best[0]) snprintf(hint, sizeof hint, "; did you mean '%s'?", sg.best);
        }
        int k = snprintf(m, sizeof m, "hook glob '%s' matches no hook in the file%s (hooks:", glob ? glob : "*", hint);
        for (int i = 0; i < nh && k < (int)sizeof m - 64; i++) k += snprintf(m + k, sizeof m - k, " %s", strata_acts_hook(a, i));
        snprintf(m + k, sizeof m - k, "%s)", nh ? "" : " none");
        pr_set_msg(err, err_len, m);
        return STRATA_ERR_NOTFOUND;
    }
    int64_t R = strata_acts_n_rows(a);
    float *y = malloc(sizeof *y * (size_t)(R ? R : 1));
    int32_t *tok = p->control ? malloc(sizeof *tok * (size_t)(R ? R : 1)) : NULL;
    int64_t *docs = NULL;
    strata_probe_report *rep = calloc((size_t)nm, sizeof *rep);
    int rc = STRATA_OK;
    if (!y || !rep || (p->control && !tok)) { rc = STRATA_ERR_NOMEM; pr_set_msg(err, err_len, "out of memory (labels)"); goto fail; }
    if ((rc = strata_acts_read_label(a, label, 0, R, y))) { pr_set_msg(err, err_len, strata_acts_errmsg(a)); goto fail; }
    if (tok && (rc = strata_acts_read_row_tokens(a, 0, R, tok))) { pr_set_msg(err, err_len, strata_acts_errmsg(a)); goto fail; }
    /* the document of every row, for splits by document (unless asked to
     * split by row, or the caller supplied its own groups) */
    strata_probe_params pg = *p;
    if (!p->groups && p->group != STRATA_PROBE_GROUP_ROW && R > 0 &&
        (p->group == STRATA_PROBE_GROUP_DOC || strata_acts_n_docs(a) >= 1)) {
        if (!(docs = malloc(sizeof *docs * (size_t)R))) { rc = STRATA_ERR_NOMEM; pr_set_msg(err, err_len, "out of memory (documents)"); goto fail; }
        if ((rc = strata_acts_read_row_docs(a, 0, R, docs))) {
            snprintf(m, sizeof m, "documents of the rows (needed to split by document; "
                     "split by row instead to go on): %s", strata_acts_errmsg(a));
            pr_set_msg(err, err_len, m);
            goto fail;
        }
        pg.groups = docs;
    }
    p = &pg;
    for (int k = 0; k < nm; k++) {
        const char *h = strata_acts_hook(a, sel[k]);
        if (progress) progress(user, k, nm, h);
        strata_probe_source src;
        if ((rc = strata_probe_source_acts(a, h, p, &src, err, err_len))) goto fail;
        snprintf(rep[k].hook, sizeof rep[k].hook, "%s", h);
        char e2[768] = "";
        /* A hook that fits in half the memory budget is read once and fitted
         * from memory (every fit, fold and control task then reuses it);
         * larger ones are streamed block by block on every pass. */
        /* Distributed (params.distributed, > 1 rank): this rank's rows
         * [lo, hi) only; every rank takes the same branch (the test uses
         * the largest share, equal everywhere up to one row). */
        int64_t lim = p->mem_limit > 0 ? p->mem_limit : (int64_t)64 << 20;
        st_fit_group grp;
        st_fit_group_init(&grp, p->distributed, src.n_rows);
        const int64_t lo = grp.lo, hi = grp.hi;
        const int64_t share = (src.n_rows + grp.size - 1) / grp.size; /* rank 0's, the largest */
        float *Xm = NULL;
        int in_mem = share * src.dim * (int64_t)sizeof(float) <= lim / 2;
        if (in_mem) Xm = malloc(sizeof(float) * (size_t)((hi - lo) * src.dim + 1));
        if (in_mem) {
            st_err ge = {{0}};
            if (!Xm) rc = st_seterr(&ge, STRATA_ERR_NOMEM, "out of memory (%lld rows of hook %s)", (long long)(hi - lo), h);
            for (int64_t r0 = lo; r0 < hi && !rc; r0 += src.block_rows) {
                int64_t nb = hi - r0 < src.block_rows ? hi - r0 : src.block_rows;
                if ((rc = strata_acts_read(a, h, r0, nb, Xm + (r0 - lo) * src.dim)))
                    st_seterr(&ge, rc, "%s", strata_acts_errmsg(a));
            }
            if ((rc = st_fit_check(&grp, rc, &ge))) snprintf(e2, sizeof e2, "%s", ge.msg);
            if (!rc) rc = strata_probe_evaluate(Xm, src.n_rows, src.dim, y, tok, p, &rep[k], e2, sizeof e2);
            free(Xm);
        } else {
            rc = strata_probe_evaluate_source(&src, y, tok, p, &rep[k], e2, sizeof e2);
        }
        strata_probe_source_acts_free(&src);
        if (rc) {
            snprintf(m, sizeof m, "hook %s, label %s: %s", h, label, e2);
            pr_set_msg(err, err_len, m);
            goto fail;
        }
    }
    free(sel); free(y); free(tok); free(docs);
    *out = rep; *n_out = nm;
    return STRATA_OK;
fail:
    free(sel); free(y); free(tok); free(docs); free(rep);
    return rc;
}
