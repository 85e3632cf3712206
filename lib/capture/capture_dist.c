/* capture/capture_dist.c — the distributed capture driver: one capture on
 * several MPI ranks, one output file (docs/SCALE.md, "Distributed capture").
 *
 * Input (strata_capture_add_file; every rank reads the whole file):
 *   pass 1  every rank parses and validates every line (labels declared the
 *           same everywhere); document i is tokenized only on rank i % size,
 *           which records its token count after truncation; a sum over the
 *           ranks gives every rank ntok[D] and text_bytes[D].
 *   pass 2  documents go in windows of size * G batches of o.batch
 *           documents (G = CAP_DIST_BATCHES, fewer when a part's rows would
 *           pass CAP_DIST_PART_BYTES), on the serial batch grid (batch j = documents
 *           n_done + j*B .. n_done + (j+1)*B - 1, as a serial capture or
 *           resume forms them, so every forward pass has exactly the serial
 *           one's documents and padding and the activations are the serial
 *           ones bit for bit).  A window's batches are split over the ranks
 *           by token count (st_split_by_weight, contiguous parts in corpus
 *           order); a rank tokenizes and runs only its part and skips the
 *           other lines.
 *   window  every rank extends each dataset to the window's end (sizes from
 *           the counts), runs its part's batches into one buffer and writes
 *           it (one collective write per dataset and window: each collective
 *           call is a meeting of all ranks, so there are few of them), the
 *           ranks' input-hash bytes are gathered in rank order (= corpus
 *           order) so every rank advances the same running SHA-256, and the
 *           window is committed: the serial two-flush commit of the counts.
 *           The committed documents are always a prefix of the corpus.
 * Failures: every step that can fail on one rank ends in st_dist_agree; a
 * rank failing outside a collective step (a bad document in its part) takes
 * part in exactly one agreement (cap_dist_fail), the one the others make at
 * the start of the next window or of the finish.
 *
 * Memory per rank: ntok/text_bytes (16 bytes per document of the corpus),
 * its part of one window (tokens, labels, texts, rows: at most about
 * CAP_DIST_PART_BYTES of float32 rows unless one batch is larger). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture_internal.h"
#include "dist/dist.h"
#include "dist/partition.h"
#include "io/h5store_mpi.h"

#ifdef STRATA_HAVE_MPI
#include <mpi.h>
#endif

/* Batches per rank per window (the unit of load balance and of commits),
 * and the memory a part's rows may take (G shrinks to respect it). */
#define CAP_DIST_BATCHES 16
#define CAP_DIST_PART_BYTES ((int64_t)256 << 20)

struct cap_dist {
    int rank, size;
    /* pass 1 */
    int64_t n_docs;           /* D */
    int64_t cap;
    int64_t *ntok;            /* [cap] tokens of document i after truncation */
    int64_t *tbytes;          /* [cap] its text bytes (0 for token input) */
    /* the spec for the parallel open (owned copies) */
    st_h5w_spec spec;
    char **names;
    int32_t *ndim, *grow;
    int64_t (*shape)[ST_H5_MAX_ROW_DIMS];
    int attached;             /* every rank has c->w open through MPI-IO */
    int hash_synced;          /* rank 0's hash of the resumed documents is everyone's */
    int agreed;               /* this rank's failure is known to every rank */
    int reading;              /* strata_capture_add_file's pass 2 is running */
    /* the current window [w0, w1) and every rank's part */
    int64_t w0, w1;
    int pending;              /* the window's round has not run yet */
    int64_t *bounds;          /* [size+1] batch bounds of the parts */
    int64_t part0, part1;     /* this rank's documents */
    int64_t width;            /* longest document in the windows so far */
    int64_t g;                /* batches per rank per window (0: not chosen yet) */
};

#define D_OF(c) ((c)->dist)

int cap_dist_init(strata_capture *c)
{
    c->dist = NULL;
    if (!st_dist_active()) return STRATA_OK;
    cap_dist *d = calloc(1, sizeof *d);
    if (!d) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    d->rank = strata_dist_rank();
    d->size = strata_dist_size();
    d->bounds = calloc((size_t)d->size + 1, sizeof *d->bounds);
    if (!d->bounds) {
        free(d);
        return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    c->dist = d;
    return STRATA_OK;
}

int cap_dist_counts_mine(const strata_capture *c, int64_t doc)
{
    return doc % c->dist->size == c->dist->rank;
}

int cap_dist_record(strata_capture *c, int64_t doc, int64_t ntok, int64_t text_bytes)
{
    cap_dist *d = c->dist;
    if (doc >= d->cap) {
        int64_t nc = d->cap ? d->cap : 1024;
        while (nc <= doc) nc *= 2;
        int64_t *a = realloc(d->ntok, sizeof *a * (size_t)nc);
        if (a) d->ntok = a;
        int64_t *b = a ? realloc(d->tbytes, sizeof *b * (size_t)nc) : NULL;
        if (b) d->tbytes = b;
        if (!a || !b) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory (document counts)");
        memset(d->ntok + d->cap, 0, sizeof *a * (size_t)(nc - d->cap));
        memset(d->tbytes + d->cap, 0, sizeof *b * (size_t)(nc - d->cap));
        d->cap = nc;
    }
    if (cap_dist_counts_mine(c, doc)) {
        d->ntok[doc] = ntok < 0 ? 0 : ntok;
        d->tbytes[doc] = text_bytes;
    }
    return STRATA_OK;
}

static int64_t rows_of(const strata_capture *c, int64_t ntok)
{
    return ntok == 0 ? 0 : c->o.positions == STRATA_POS_ALL ? ntok : 1;
}

int cap_dist_pass1_done(strata_capture *c, int status, int64_t n_docs, int64_t *tokens,
                        int64_t *rows, int64_t *maxlen, int64_t *text_bytes)
{
    cap_dist *d = c->dist;
    /* every rank's arrays hold n_docs entries (a rank that counted none of
     * the last documents has not grown them that far) */
    if (status == STRATA_OK && n_docs > d->cap) {
        int64_t *a = realloc(d->ntok, sizeof *a * (size_t)n_docs);
        if (a) d->ntok = a;
        int64_t *b = a ? realloc(d->tbytes, sizeof *b * (size_t)n_docs) : NULL;
        if (b) d->tbytes = b;
        if (!a || !b) status = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory (document counts)");
        else {
            memset(d->ntok + d->cap, 0, sizeof *a * (size_t)(n_docs - d->cap));
            memset(d->tbytes + d->cap, 0, sizeof *b * (size_t)(n_docs - d->cap));
            d->cap = n_docs;
        }
    }
    int rc = st_dist_agree(status, &c->err);
    if (rc < 0) { d->agreed = 1; return rc; }
    d->n_docs = n_docs;
    if (n_docs > 0) {
        rc = st_dist_allreduce_sum_i64(d->ntok, (size_t)n_docs, &c->err);
        if (rc == STRATA_OK) rc = st_dist_allreduce_sum_i64(d->tbytes, (size_t)n_docs, &c->err);
        rc = st_dist_agree(rc, &c->err);
        if (rc < 0) { d->agreed = 1; return rc; }
    }
    *tokens = *rows = *maxlen = *text_bytes = 0;
    for (int64_t i = 0; i < n_docs; i++) {
        *tokens += d->ntok[i];
        *rows += rows_of(c, d->ntok[i]);
        if (d->ntok[i] > *maxlen) *maxlen = d->ntok[i];
        *text_bytes += d->tbytes[i];
    }
    return STRATA_OK;
}

int cap_dist_open_store(strata_capture *c, const st_h5w_spec *s)
{
    cap_dist *d = c->dist;
    /* the spec, for the parallel open of every rank */
    int n = s->n_hooks;
    d->names = calloc((size_t)n + 1, sizeof *d->names);
    d->ndim = calloc((size_t)n + 1, sizeof *d->ndim);
    d->grow = calloc((size_t)n + 1, sizeof *d->grow);
    d->shape = calloc((size_t)n + 1, sizeof *d->shape);
    int status = d->names && d->ndim && d->grow && d->shape ? STRATA_OK : STRATA_ERR_NOMEM;
    for (int i = 0; status == STRATA_OK && i < n; i++) {
        d->names[i] = strdup(s->hook_names[i]);
        if (!d->names[i]) status = STRATA_ERR_NOMEM;
        d->ndim[i] = s->row_ndim[i];
        d->grow[i] = s->grow_last ? s->grow_last[i] : 0;
        memcpy(d->shape[i], s->row_shape[i], sizeof d->shape[i]);
    }
    if (status < 0) st_seterr(&c->err, status, "out of memory");
    d->spec = *s;
    d->spec.hook_names = (const char *const *)d->names;
    d->spec.row_ndim = d->ndim;
    d->spec.row_shape = (const int64_t (*)[ST_H5_MAX_ROW_DIMS])d->shape;
    d->spec.grow_last = d->grow;
    d->spec.prov = NULL;
    d->spec.axes = NULL;
    d->spec.vocab = NULL;
    d->spec.n_vocab = 0;
    int rc = st_dist_agree(status, &c->err);
    if (rc < 0) { d->agreed = 1; return rc; }
    if (s->compress > 0) {
        rc = st_seterr(&c->err, STRATA_ERR_UNSUPPORTED,
                       "--compress is not implemented for a distributed capture (%d ranks): "
                       "parallel HDF5 would have to compress each chunk collectively; capture "
                       "without it, or compress afterwards (h5repack -f SHUF -f GZIP=4)", d->size);
        d->agreed = 1;
        return rc;
    }
    /* the file system must take MPI-IO before anything is created */
    rc = st_h5w_dist_probe(c->path, &c->err);
    if (rc < 0) { d->agreed = 1; return rc; }
    status = STRATA_OK;
    if (d->rank == 0) {
        if (c->o.mode == STRATA_CAPTURE_RESUME) status = st_h5w_resume(c->path, s, &c->w, &c->err);
        else status = st_h5w_create(c->path, s, c->o.mode == STRATA_CAPTURE_OVERWRITE, &c->w, &c->err);
    }
    rc = st_dist_agree(status, &c->err);
    if (rc < 0) { d->agreed = 1; return rc; }
    int64_t n_done = d->rank == 0 ? st_h5w_n_docs(c->w) : 0;
    rc = st_dist_bcast(&n_done, sizeof n_done, 0, &c->err);
    if (rc < 0) { d->agreed = 1; return rc; }
    c->n_done = n_done;
    d->w0 = d->w1 = n_done;
    d->pending = 0;
    /* the longest document so far: the width a resumed file already has */
    for (int64_t i = 0; i < n_done && i < d->n_docs; i++)
        if (d->ntok[i] > d->width) d->width = d->ntok[i];
    return STRATA_OK;
}

/* Forms the window starting at w1: CAP_DIST_BATCHES batches per rank on the
 * batch grid, split by token count. */
static int form_window(strata_capture *c)
{
    cap_dist *d = c->dist;
    const int64_t B = c->o.batch;
    if (d->g == 0) {
        /* rows of one batch at most: B documents as long as the longest one */
        int64_t maxlen = 1, row_bytes = 0;
        for (int64_t i = 0; i < d->n_docs; i++)
            if (d->ntok[i] > maxlen) maxlen = d->ntok[i];
        for (int h = 0; h < c->n_hooks; h++) row_bytes += 4 * c->hooks[h].width;
        int64_t per_batch = B * rows_of(c, maxlen) * (row_bytes > 0 ? row_bytes : 1);
        d->g = CAP_DIST_PART_BYTES / per_batch;
        if (d->g > CAP_DIST_BATCHES) d->g = CAP_DIST_BATCHES;
        if (d->g < 1) d->g = 1;
    }
    int64_t w0 = d->w1, w1 = w0 + (int64_t)d->size * d->g * B;
    if (w1 > d->n_docs) w1 = d->n_docs;
    int64_t nb = (w1 - w0 + B - 1) / B;
    int64_t *wt = malloc(sizeof *wt * (size_t)(nb + 1));
    if (!wt) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < nb; j++) {
        wt[j] = 0;
        for (int64_t i = w0 + j * B; i < w0 + (j + 1) * B && i < w1; i++) wt[j] += d->ntok[i];
    }
    st_split_by_weight(wt, nb, d->size, d->bounds);
    free(wt);
    d->w0 = w0;
    d->w1 = w1;
    d->part0 = w0 + d->bounds[d->rank] * B;
    d->part1 = w0 + d->bounds[d->rank + 1] * B;
    if (d->part0 > w1) d->part0 = w1;
    if (d->part1 > w1) d->part1 = w1;
    d->pending = 1;
    /* room for the part's documents (and each one's first row in a batch) */
    int64_t np = d->part1 - d->part0;
    cap_doc *docs = realloc(c->docs, sizeof *docs * (size_t)(np + 1));
    if (!docs) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    c->docs = docs;
    memset(c->docs, 0, sizeof *docs * (size_t)(np + 1));
    int64_t *rb = realloc(c->row_base, sizeof *rb * (size_t)(np + 1));
    if (!rb) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    c->row_base = rb;
    c->nb = 0;
    return STRATA_OK;
}

/* Runs documents [k0, k1) of the part (one batch, <= o.batch) through the
 * model: rows into the hook buffers from row `base` on (row_base relative
 * to the part; the buffers hold the part's rows). */
static int run_batch(strata_capture *c, int64_t k0, int64_t k1, int64_t base, int64_t *nrows_out)
{
    int nrun = 0, T = 0;
    int64_t nrows = base;
    for (int64_t k = k0; k < k1; k++) {
        int64_t L = c->docs[k].ntok;
        c->row_base[k] = nrows;
        nrows += rows_of(c, L);
        if (L > 0) {
            c->run_doc[nrun] = (int32_t)k;
            c->lengths[nrun++] = (int32_t)L;
            if (L > T) T = (int)L;
        }
    }
    *nrows_out = nrows - base;
    if (nrun == 0) return STRATA_OK;
    size_t need = (size_t)nrun * (size_t)T;
    if (need > c->tok_pad_cap) {
        int32_t *p = realloc(c->tok_pad, sizeof *p * need);
        if (!p) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
        c->tok_pad = p;
        c->tok_pad_cap = need;
    }
    memset(c->tok_pad, 0, sizeof *c->tok_pad * need);
    for (int r = 0; r < nrun; r++)
        memcpy(c->tok_pad + (size_t)r * T, c->docs[c->run_doc[r]].tokens,
               sizeof(int32_t) * (size_t)c->lengths[r]);
    st_err_clear(&c->err);
    int rc = strata_run(c->m, c->tok_pad, c->lengths, nrun, NULL);
    if (rc < 0) return st_seterr(&c->err, rc, "forward pass failed: %s", strata_errmsg(c->m));
    for (int r = 0; r < nrun; r++) c->tokens_run += c->lengths[r];
    return STRATA_OK;
}

/* The input-hash bytes of documents [k0, k1) of the part (docs/FORMAT.md,
 * input_sha256; the same stream as capture.c's hash_doc). */
static int64_t hash_bytes(const strata_capture *c, int64_t k0, int64_t k1, unsigned char *out)
{
    int64_t o = 0;
    for (int64_t k = k0; k < k1; k++) {
        const cap_doc *d = &c->docs[k];
        int64_t tl = d->text ? (int64_t)strlen(d->text) : 0;
        int64_t v[2] = { d->ntok, tl };
        for (int q = 0; q < 2; q++) {
            if (out)
                for (int i = 0; i < 8; i++) out[o + i] = (unsigned char)((uint64_t)v[q] >> (8 * i));
            o += 8;
            if (q == 0) {
                if (out) memcpy(out + o, d->tokens, sizeof(int32_t) * (size_t)d->ntok);
                o += 4 * d->ntok;
            } else {
                if (out && tl) memcpy(out + o, d->text, (size_t)tl);
                o += tl;
            }
        }
        if (out) memcpy(out + o, d->labels, sizeof(float) * (size_t)(c->n_labels * d->ntok));
        o += 4 * c->n_labels * d->ntok;
    }
    return o;
}

/* Every rank's hash bytes, in rank order, into the running hash. */
static int gather_hash(strata_capture *c)
{
    cap_dist *d = c->dist;
    int64_t np = c->nb;
    int64_t n = hash_bytes(c, 0, np, NULL);
    unsigned char *mine = malloc((size_t)n + 1);
    int status = mine ? STRATA_OK : st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    if (mine) hash_bytes(c, 0, np, mine);
    int64_t *all = calloc((size_t)d->size, sizeof *all);
    if (!all && status == STRATA_OK) status = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    int rc = st_dist_agree(status, &c->err);
    if (rc == STRATA_OK) rc = st_dist_allgather_i64(n, all, &c->err);
    int64_t total = 0;
    for (int r = 0; rc == STRATA_OK && r < d->size; r++) total += all[r];
    if (rc == STRATA_OK && total > INT32_MAX)
        rc = st_seterr(&c->err, STRATA_ERR_UNSUPPORTED,
                       "a window's input-hash bytes exceed 2 GiB; use a smaller --batch");
    unsigned char *buf = rc == STRATA_OK ? malloc((size_t)total + 1) : NULL;
    if (rc == STRATA_OK && !buf) rc = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    rc = st_dist_agree(rc, &c->err);
#ifdef STRATA_HAVE_MPI
    if (rc == STRATA_OK) {
        int *cnt = malloc(sizeof *cnt * (size_t)d->size), *dis = malloc(sizeof *dis * (size_t)d->size);
        if (cnt && dis) {
            int64_t o = 0;
            for (int r = 0; r < d->size; r++) {
                cnt[r] = (int)all[r];
                dis[r] = (int)o;
                o += all[r];
            }
            int mrc = MPI_Allgatherv(mine, (int)n, MPI_BYTE, buf, cnt, dis, MPI_BYTE, st_dist_comm());
            if (mrc != MPI_SUCCESS) rc = st_seterr(&c->err, STRATA_ERR_IO, "MPI_Allgatherv failed");
        } else {
            rc = STRATA_ERR_NOMEM;
        }
        free(cnt);
        free(dis);
        rc = st_dist_agree(rc, &c->err);
    }
#endif
    if (rc == STRATA_OK) st_sha256_update(&c->input_hash, buf, (size_t)total);
    free(buf);
    free(mine);
    free(all);
    return rc;
}

/* The window's collective round (see the top of the file). */
static int run_window(strata_capture *c)
{
    cap_dist *d = c->dist;
    d->pending = 0;
    /* 0. did any rank fail while reading its part? */
    int rc = st_dist_agree(STRATA_OK, &c->err);
    if (rc < 0) goto fail;
    if (!d->hash_synced) {
        /* the running hash of the resumed documents (rank 0 checked them) */
        rc = st_dist_bcast(&c->input_hash, sizeof c->input_hash, 0, &c->err);
        if (rc < 0) goto fail;
        d->hash_synced = 1;
    }
    if (!d->attached) {
        st_h5w *w = NULL;
        rc = st_h5w_dist_attach(d->rank == 0 ? c->w : NULL, c->path, &d->spec, &w, &c->err);
        if (rc < 0) goto fail;
        c->w = w;
        d->attached = 1;
    }
    /* the window's totals, from the pass-1 counts (the same on every rank) */
    st_h5w_window win;
    memset(&win, 0, sizeof win);
    win.n_docs = d->w1 - d->w0;
    for (int64_t i = d->w0; i < d->w1; i++) {
        win.n_tokens += d->ntok[i];
        win.n_rows += rows_of(c, d->ntok[i]);
        win.text_bytes += c->has_text ? d->tbytes[i] : 0;
        if (d->ntok[i] > d->width) d->width = d->ntok[i];
    }
    /* Attention rows are as wide as the corpus's longest document from the
     * first window on (as a complete serial file; an interrupted one may be
     * wider than its committed documents need): a later widening would leave
     * the committed rows' new columns to whatever a collective write put
     * beyond the old extent, where a serial capture has zeros. */
    for (int64_t i = 0; i < d->n_docs; i++)
        if (d->ntok[i] > d->width) d->width = d->ntok[i];
    win.width = d->width;
    /* this rank's documents must be what pass 1 counted */
    int status = STRATA_OK;
    int64_t np = d->part1 - d->part0;
    if (c->nb != np)
        status = st_seterr(&c->err, STRATA_ERR_STATE, "rank %d has %lld of its %lld documents "
                           "(input file changed?)", d->rank, (long long)c->nb, (long long)np);
    for (int64_t k = 0; status == STRATA_OK && k < np; k++) {
        int64_t i = d->part0 + k;
        int64_t tl = c->docs[k].text ? (int64_t)strlen(c->docs[k].text) : 0;
        if (c->docs[k].ntok != d->ntok[i] || (c->has_text && tl != d->tbytes[i]))
            status = st_seterr(&c->err, STRATA_ERR_STATE,
                               "document %lld: %lld tokens and %lld text bytes now, %lld and %lld "
                               "when the input was counted (input file changed?)", (long long)i,
                               (long long)c->docs[k].ntok, (long long)tl, (long long)d->ntok[i],
                               (long long)d->tbytes[i]);
    }
    rc = st_dist_agree(status, &c->err);
    if (rc < 0) goto fail;
    rc = st_h5w_dist_begin_window(c->w, &win, &c->err);
    if (rc < 0) goto fail;
    /* this rank's part: every batch into the buffers, then one collective
     * write per dataset */
    const int64_t B = c->o.batch;
    int64_t tok0 = 0, row0 = 0, text0 = 0;   /* the part's offsets inside the window */
    for (int64_t i = d->w0; i < d->part0; i++) {
        tok0 += d->ntok[i];
        row0 += rows_of(c, d->ntok[i]);
        text0 += c->has_text ? d->tbytes[i] : 0;
    }
    int64_t prows = 0, ptok = 0;
    for (int64_t k = 0; k < np; k++) {
        prows += rows_of(c, c->docs[k].ntok);
        ptok += c->docs[k].ntok;
    }
    int64_t *doc_ntok = malloc(sizeof *doc_ntok * (size_t)(np + 1));
    int64_t *doc_nrows = malloc(sizeof *doc_nrows * (size_t)(np + 1));
    int32_t *toks = malloc(sizeof *toks * (size_t)(ptok + 1));
    const char **texts = calloc((size_t)np + 1, sizeof *texts);
    const float **acts = calloc((size_t)c->n_hooks + 1, sizeof *acts);
    status = doc_ntok && doc_nrows && toks && texts && acts
                 ? cap_grow_rows(c, prows + 1)
                 : st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    for (int64_t k0 = 0, base = 0; status == STRATA_OK && k0 < np; k0 += B) {
        int64_t k1 = k0 + B < np ? k0 + B : np, n = 0;
        status = run_batch(c, k0, k1, base, &n);
        base += n;
    }
    rc = st_dist_agree(status, &c->err);
    if (rc == STRATA_OK) {
        win.doc0 = d->part0 - d->w0;
        win.tok0 = tok0;
        win.row0 = row0;
        win.text0 = text0;
        st_h5w_batch *p = &win.part;
        memset(p, 0, sizeof *p);
        p->n_docs = (int32_t)np;
        int64_t to = 0, tbase = st_h5w_n_tokens(c->w) + tok0;
        for (int64_t q = 0; q < np; q++) {
            cap_doc *doc = &c->docs[q];
            int64_t L = doc->ntok, t0 = 0, t1 = L;
            if (c->o.positions == STRATA_POS_LAST) t0 = L - 1;
            else if (c->o.positions == STRATA_POS_FIRST) t1 = L > 0 ? 1 : 0;
            for (int64_t t = t0; L > 0 && t < t1; t++) {
                int64_t r = c->row_base[q] + (t - t0);
                c->rows[r] = tbase + to + t;
                for (int l = 0; l < c->n_labels; l++) c->label_rows[l][r] = doc->labels[l * L + t];
            }
            memcpy(toks + to, doc->tokens, sizeof(int32_t) * (size_t)L);
            to += L;
            doc_ntok[q] = L;
            doc_nrows[q] = rows_of(c, L);
            texts[q] = doc->text;
        }
        for (int h = 0; h < c->n_hooks; h++) acts[h] = c->hooks[h].buf;
        p->doc_ntok = doc_ntok;
        p->doc_nrows = doc_nrows;
        p->tokens = toks;
        p->texts = c->has_text ? texts : NULL;
        p->n_rows = prows;
        p->rows = c->rows;
        p->acts = acts;
        p->labels = (const float *const *)c->label_rows;
        rc = st_h5w_dist_write(c->w, &win, &c->err);
    }
    free(doc_ntok);
    free(doc_nrows);
    free(toks);
    free(texts);
    free(acts);
    if (rc < 0) goto fail;
    /* the running input hash after the window, then the commit */
    rc = gather_hash(c);
    if (rc < 0) goto fail;
    st_sha256 hs = c->input_hash;
    uint8_t dg[32];
    char hex[65];
    st_sha256_final(&hs, dg);
    st_sha256_hex(dg, hex);
    win.input_sha256 = hex;
    rc = st_h5w_dist_commit(c->w, &win, &c->err);
    if (rc < 0) goto fail;
    for (int64_t k = 0; k < np; k++) cap_free_doc(&c->docs[k]);
    c->nb = 0;
    /* progress; a stop asked for on any rank (a signal) stops every rank */
    int64_t stop = 0;
    if (c->o.progress) {
        strata_capture_progress pr = {
            .docs_done = st_h5w_n_docs(c->w), .docs_total = c->docs_total,
            .tokens_done = c->tokens_run, .rows_done = st_h5w_n_rows(c->w),
        };
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        pr.seconds = (double)(t1.tv_sec - c->t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - c->t0.tv_nsec);
        stop = c->o.progress(&pr, c->o.progress_user) != 0;
    }
    rc = st_dist_allreduce_sum_i64(&stop, 1, &c->err);
    if (rc < 0) goto fail;
    if (stop) {
        d->agreed = 1;
        return STRATA_STOPPED;
    }
    return STRATA_OK;
fail:
    d->agreed = 1;
    c->failed = 1;
    return rc;
}

int cap_dist_next_doc(strata_capture *c, int *mine)
{
    cap_dist *d = c->dist;
    int64_t di = c->seen;
    *mine = 0;
    if (di < c->n_done) {
        /* a document the resumed file holds: rank 0 checks it */
        *mine = d->rank == 0;
        if (!*mine) c->seen++;
        return STRATA_OK;
    }
    if (di >= d->n_docs) {
        d->agreed = 1;   /* (every rank sees the same lines) */
        c->failed = 1;
        return st_seterr(&c->err, STRATA_ERR_STATE, "the input has more documents than when it "
                         "was counted (input file changed?)");
    }
    if (di == d->w1) {
        if (d->pending) ST_TRY(run_window(c));
        int rc = form_window(c);
        if (rc < 0) return cap_dist_fail(c, rc);
    }
    *mine = di >= d->part0 && di < d->part1;
    if (!*mine) c->seen++;
    return STRATA_OK;
}

void cap_dist_set_reading(strata_capture *c, int on) { c->dist->reading = on; }
int cap_dist_reading(const strata_capture *c) { return c->dist->reading; }

int cap_dist_doc_added(strata_capture *c)
{
    c->nb++;
    return STRATA_OK;
}

int cap_dist_fail(strata_capture *c, int status)
{
    cap_dist *d = c->dist;
    c->failed = 1;
    if (!d->agreed) {
        d->agreed = 1;
        st_err e;
        st_dist_agree(status, &e);
    }
    return status;
}

int cap_dist_finish(strata_capture *c)
{
    cap_dist *d = c->dist;
    int rc = st_dist_agree(STRATA_OK, &c->err);
    if (rc < 0) { d->agreed = 1; c->failed = 1; return rc; }
    if (d->pending) {
        rc = run_window(c);
        if (rc < 0 || rc == STRATA_STOPPED) return rc;
    }
    if (c->seen < c->n_done) {
        /* the same on every rank */
        d->agreed = 1;
        c->failed = 1;
        return st_seterr(&c->err, STRATA_ERR_STATE,
                         "--resume: the file holds %lld documents but the input has only %lld",
                         (long long)c->n_done, (long long)c->seen);
    }
    /* this job's truncated documents and tokens run, over every rank */
    int64_t sums[2] = { c->truncated, c->tokens_run };
    rc = st_dist_allreduce_sum_i64(sums, 2, &c->err);
    if (rc < 0) { d->agreed = 1; c->failed = 1; return rc; }
    c->truncated = sums[0];
    c->tokens_run = sums[1];
    if (d->attached) {
        c->fin_docs = st_h5w_n_docs(c->w);
        c->fin_rows = st_h5w_n_rows(c->w);
        c->fin_tokens = st_h5w_n_tokens(c->w);
        rc = st_h5w_dist_close(c->w, 1, c->truncated, &c->err);
        c->w = NULL;
        d->attached = 0;
    } else {
        /* nothing ran (no document, or a resume with nothing left): rank 0
         * finishes the file as a serial capture would */
        int status = STRATA_OK;
        if (d->rank == 0 && c->w) {
            c->fin_docs = st_h5w_n_docs(c->w);
            c->fin_rows = st_h5w_n_rows(c->w);
            c->fin_tokens = st_h5w_n_tokens(c->w);
            status = st_h5w_close(c->w, 1, c->truncated, &c->err);
            c->w = NULL;
        }
        rc = st_dist_agree(status, &c->err);
    }
    int64_t fin[3] = { c->fin_docs, c->fin_rows, c->fin_tokens };
    if (rc == STRATA_OK && st_dist_bcast(fin, sizeof fin, 0, &c->err) == STRATA_OK) {
        c->fin_docs = fin[0];
        c->fin_rows = fin[1];
        c->fin_tokens = fin[2];
    }
    if (rc < 0) d->agreed = 1;
    c->finished = 1;
    return rc;
}

void cap_dist_free(strata_capture *c)
{
    cap_dist *d = c->dist;
    if (!d) return;
    if (d->attached) {
        st_err e;
        st_h5w_dist_close(c->w, 0, c->truncated, &e);   /* collective */
        c->w = NULL;
        d->attached = 0;
    }
    for (int i = 0; d->names && i < d->spec.n_hooks; i++) free(d->names[i]);
    free(d->names);
    free(d->ndim);
    free(d->grow);
    free(d->shape);
    free(d->ntok);
    free(d->tbytes);
    free(d->bounds);
    free(d);
    c->dist = NULL;
}
