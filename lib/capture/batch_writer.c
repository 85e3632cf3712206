/* capture/batch_writer.c — see capture/batch_writer.h. */
#include "capture/batch_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CAP_SLOTS 2

struct cap_writer {
    st_h5w *w;
    int32_t n_hooks, n_labels, docs_cap;
    int64_t *widths;              /* [n_hooks] floats per row */
    cap_batch slot[CAP_SLOTS];
    int state[CAP_SLOTS];         /* 0 free, 1 held by the caller, 2 queued or being written */
    int queue[CAP_SLOTS], q_head, q_len;   /* FIFO of queued slots */
    int busy;                     /* the thread is committing a batch */
    int failed, fail_rc;
    st_err err;                   /* the failed commit's message */
    int quit;
    int64_t docs, rows, tokens;   /* committed by this writer */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void batch_free(cap_batch *b, int n_hooks, int n_labels)
{
    for (int i = 0; b->acts && i < n_hooks; i++) free(b->acts[i]);
    for (int i = 0; b->labels && i < n_labels; i++) free(b->labels[i]);
    for (int i = 0; b->texts && i < b->docs_cap; i++) free(b->texts[i]);
    free(b->acts); free(b->labels); free(b->texts);
    free(b->doc_ntok); free(b->doc_nrows); free(b->rows); free(b->tokens);
    memset(b, 0, sizeof *b);
}

/* Drops the texts of the batch's previous use. */
static void batch_clear_texts(cap_batch *b)
{
    for (int i = 0; i < b->docs_cap; i++) {
        free(b->texts[i]);
        b->texts[i] = NULL;
    }
}

static int batch_grow(cap_writer *wr, cap_batch *b, int64_t n_rows, int64_t n_tokens, st_err *err)
{
    if (n_rows > b->rows_cap) {
        int64_t cap = b->rows_cap ? b->rows_cap : 256;
        while (cap < n_rows) cap *= 2;
        for (int i = 0; i < wr->n_hooks; i++) {
            float *p = realloc(b->acts[i], sizeof(float) * (size_t)cap * (size_t)wr->widths[i]);
            if (!p) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory (capture buffers, %lld rows)",
                                     (long long)cap);
            b->acts[i] = p;
        }
        for (int i = 0; i < wr->n_labels; i++) {
            float *p = realloc(b->labels[i], sizeof(float) * (size_t)cap);
            if (!p) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
            b->labels[i] = p;
        }
        int64_t *r = realloc(b->rows, sizeof *r * (size_t)cap);
        if (!r) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        b->rows = r;
        b->rows_cap = cap;
    }
    if (n_tokens > b->tokens_cap) {
        int64_t cap = b->tokens_cap ? b->tokens_cap : 1024;
        while (cap < n_tokens) cap *= 2;
        int32_t *t = realloc(b->tokens, sizeof *t * (size_t)cap);
        if (!t) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        b->tokens = t;
        b->tokens_cap = cap;
    }
    return STRATA_OK;
}

/* One batch through the store: claim the space, write, flush, commit. */
static int commit_batch(st_h5w *w, const cap_batch *b, st_err *err)
{
    int rc = st_h5w_reserve(w, b->n_docs, b->n_tokens, b->n_rows, b->text_bytes, err);
    if (rc < 0) return rc;
    st_h5w_batch hb = {
        .n_docs = b->n_docs, .doc_ntok = b->doc_ntok, .doc_nrows = b->doc_nrows,
        .tokens = b->tokens, .texts = b->has_texts ? (const char *const *)b->texts : NULL,
        .n_rows = b->n_rows, .rows = b->rows, .acts = (const float *const *)b->acts,
        .labels = (const float *const *)b->labels, .input_sha256 = b->input_sha256,
        .width = b->width,
    };
    return st_h5w_append(w, &hb, err);
}

static void *writer_main(void *arg)
{
    cap_writer *wr = arg;
    pthread_mutex_lock(&wr->mu);
    for (;;) {
        while (wr->q_len == 0 && !wr->quit) pthread_cond_wait(&wr->cv, &wr->mu);
        if (wr->q_len == 0) break;   /* quit with nothing queued */
        int i = wr->queue[wr->q_head];
        wr->q_head = (wr->q_head + 1) % CAP_SLOTS;
        wr->q_len--;
        wr->busy = 1;
        int skip = wr->failed;
        pthread_mutex_unlock(&wr->mu);
        st_err e;
        e.msg[0] = 0;
        int rc = skip ? STRATA_OK : commit_batch(wr->w, &wr->slot[i], &e);
        pthread_mutex_lock(&wr->mu);
        wr->busy = 0;
        wr->state[i] = 0;
        if (rc < 0 && !wr->failed) {
            wr->failed = 1;
            wr->fail_rc = rc;
            memcpy(&wr->err, &e, sizeof e);
        } else if (!skip && !wr->failed) {
            wr->docs += wr->slot[i].n_docs;
            wr->rows += wr->slot[i].n_rows;
            wr->tokens += wr->slot[i].n_tokens;
        }
        pthread_cond_broadcast(&wr->cv);
    }
    pthread_mutex_unlock(&wr->mu);
    return NULL;
}

int cap_writer_start(st_h5w *w, int32_t n_hooks, const int64_t *widths, int32_t n_labels,
                     int32_t docs_cap, cap_writer **out, st_err *err)
{
    *out = NULL;
    cap_writer *wr = calloc(1, sizeof *wr);
    if (!wr) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    wr->w = w;
    wr->n_hooks = n_hooks;
    wr->n_labels = n_labels;
    wr->docs_cap = docs_cap;
    wr->widths = malloc(sizeof *wr->widths * (size_t)(n_hooks + 1));
    int ok = wr->widths != NULL;
    for (int i = 0; ok && i < n_hooks; i++) wr->widths[i] = widths[i];
    for (int s = 0; ok && s < CAP_SLOTS; s++) {
        cap_batch *b = &wr->slot[s];
        b->docs_cap = docs_cap;
        b->acts = calloc((size_t)n_hooks + 1, sizeof *b->acts);
        b->labels = calloc((size_t)n_labels + 1, sizeof *b->labels);
        b->texts = calloc((size_t)docs_cap, sizeof *b->texts);
        b->doc_ntok = calloc((size_t)docs_cap, sizeof *b->doc_ntok);
        b->doc_nrows = calloc((size_t)docs_cap, sizeof *b->doc_nrows);
        ok = b->acts && b->labels && b->texts && b->doc_ntok && b->doc_nrows;
    }
    if (!ok) {
        for (int s = 0; s < CAP_SLOTS; s++) batch_free(&wr->slot[s], n_hooks, n_labels);
        free(wr->widths);
        free(wr);
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&wr->mu, NULL);
    pthread_cond_init(&wr->cv, NULL);
    if (pthread_create(&wr->th, NULL, writer_main, wr) != 0) {
        pthread_mutex_destroy(&wr->mu);
        pthread_cond_destroy(&wr->cv);
        for (int s = 0; s < CAP_SLOTS; s++) batch_free(&wr->slot[s], n_hooks, n_labels);
        free(wr->widths);
        free(wr);
        return st_seterr(err, STRATA_ERR_IO, "cannot start the capture writer thread");
    }
    *out = wr;
    return STRATA_OK;
}

/* With wr->mu held: the writer's error into err. */
static int failed_locked(cap_writer *wr, st_err *err)
{
    if (err) memcpy(err, &wr->err, sizeof *err);
    return wr->fail_rc;
}

int cap_writer_acquire(cap_writer *wr, int64_t n_rows, int64_t n_tokens, cap_batch **out,
                       st_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&wr->mu);
    int i = -1;
    for (;;) {
        if (wr->failed) {
            int rc = failed_locked(wr, err);
            pthread_mutex_unlock(&wr->mu);
            return rc;
        }
        for (int s = 0; s < CAP_SLOTS && i < 0; s++)
            if (wr->state[s] == 0) i = s;
        if (i >= 0) break;
        pthread_cond_wait(&wr->cv, &wr->mu);
    }
    wr->state[i] = 1;
    pthread_mutex_unlock(&wr->mu);
    cap_batch *b = &wr->slot[i];
    batch_clear_texts(b);
    int rc = batch_grow(wr, b, n_rows, n_tokens, err);
    if (rc < 0) {
        pthread_mutex_lock(&wr->mu);
        wr->state[i] = 0;
        pthread_mutex_unlock(&wr->mu);
        return rc;
    }
    *out = b;
    return STRATA_OK;
}

void cap_writer_submit(cap_writer *wr, cap_batch *b)
{
    int i = (int)(b - wr->slot);
    pthread_mutex_lock(&wr->mu);
    wr->state[i] = 2;
    wr->queue[(wr->q_head + wr->q_len) % CAP_SLOTS] = i;
    wr->q_len++;
    pthread_cond_broadcast(&wr->cv);
    pthread_mutex_unlock(&wr->mu);
}

int cap_writer_drain(cap_writer *wr, st_err *err)
{
    pthread_mutex_lock(&wr->mu);
    while (wr->q_len > 0 || wr->busy) pthread_cond_wait(&wr->cv, &wr->mu);
    int rc = wr->failed ? failed_locked(wr, err) : STRATA_OK;
    pthread_mutex_unlock(&wr->mu);
    return rc;
}

void cap_writer_counts(cap_writer *wr, int64_t *docs, int64_t *rows, int64_t *tokens)
{
    pthread_mutex_lock(&wr->mu);
    if (docs) *docs = wr->docs;
    if (rows) *rows = wr->rows;
    if (tokens) *tokens = wr->tokens;
    pthread_mutex_unlock(&wr->mu);
}

int cap_writer_stop(cap_writer *wr, st_err *err)
{
    if (!wr) return STRATA_OK;
    int rc = cap_writer_drain(wr, err);
    pthread_mutex_lock(&wr->mu);
    wr->quit = 1;
    pthread_cond_broadcast(&wr->cv);
    pthread_mutex_unlock(&wr->mu);
    pthread_join(wr->th, NULL);
    pthread_mutex_destroy(&wr->mu);
    pthread_cond_destroy(&wr->cv);
    for (int s = 0; s < CAP_SLOTS; s++) batch_free(&wr->slot[s], wr->n_hooks, wr->n_labels);
    free(wr->widths);
    free(wr);
    return rc;
}
