/* capture/capture_internal.h — the capture session's state, shared by the
 * serial driver (capture/capture.c) and the distributed one
 * (capture/capture_dist.c) (internal).
 *
 * Defines: cap_hook, cap_doc, struct strata_capture, cap_free_doc(), and the
 * distributed driver's entry points cap_dist_*() (capture/capture_dist.c;
 * a session is distributed when the process group has more than one rank,
 * docs/SCALE.md). */
#ifndef STRATA_CAPTURE_INTERNAL_H
#define STRATA_CAPTURE_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "capture/batch_writer.h"
#include "capture/provenance.h"
#include "io/h5store.h"
#include "strata/capture.h"
#include "strata/hooks.h"
#include "strata/model.h"
#include "strata/tokenizer.h"
#include "util/err.h"
#include "util/sha256.h"

typedef struct cap_dist cap_dist;

#define CAP_NAME_MAX 192

typedef struct cap_hook {
    struct strata_capture *c; /* the capture this hook writes for (the hook's user pointer) */
    int32_t index;            /* its dataset in the store */
    char name[CAP_NAME_MAX];  /* dataset name: hook point name, plus "[h]" if one head */
    char point[CAP_NAME_MAX]; /* hook point name as ctx->name gives it */
    int32_t kind, layer, head;
    int32_t kk;               /* 1: [B,H,T,T] (scores/pattern): row = [H, W] */
    int32_t row_ndim;
    int64_t row_shape[ST_H5_MAX_ROW_DIMS];
    int64_t width;            /* elements per row */
    int32_t direct_ok;        /* rows may go straight from the view to the file */
    int64_t direct_rows;      /* rows of this batch written that way */
    float *buf;               /* [batch rows][width] */
} cap_hook;

/* One pending document. */
typedef struct cap_doc {
    int32_t *tokens;          /* [ntok] (truncated) */
    int64_t ntok;
    char *text;               /* NUL-terminated copy, or NULL */
    float *labels;            /* [n_labels][ntok] per-token label values */
} cap_doc;

struct strata_capture {
    st_err err;
    strata_model *m;
    strata_tokenizer *tok;    /* borrowed, may be NULL */
    char *path;
    strata_capture_opts o;
    int32_t n_labels;
    char **label_names;
    int32_t *label_is_int;
    int32_t n_hooks;
    cap_hook *hooks;
    strata_hook_id *hook_ids;
    int32_t n_hook_ids;
    int32_t W;                /* max tokens per document */
    char *config_json;
    st_h5w *w;                /* NULL until the first document */
    int32_t has_text;         /* -1 unknown until the first document */
    int32_t finished, failed;
    int64_t n_done;           /* documents already in a resumed file */
    cap_prov prov;            /* hashes of the model's files (collected with the store) */
    st_sha256 input_hash;     /* running hash of every document so far (docs/FORMAT.md) */
    int64_t seen;             /* documents offered in this session */
    int64_t docs_total;
    /* pending batch */
    cap_doc *docs;            /* [o.batch] */
    int32_t nb;
    /* batch run state (valid during strata_run) */
    int64_t *row_base;        /* [batch] first row of each document in the batch */
    int64_t *doc_ntok;        /* [batch] tokens of each pending document */
    int64_t *doc_nrows;       /* [batch] rows each pending document keeps */
    const float **acts;       /* [n_hooks] the batch's rows per hook (NULL: written directly) */
    int32_t *run_doc;         /* [batch] run index -> pending doc index */
    int32_t *lengths;         /* [batch] */
    int32_t *all_doc, *all_len, *grp_end; /* [batch] length groups (run_batch) */
    int64_t *grp_cost;        /* [batch + 1] */
    int32_t *tok_pad;         /* [batch][T] */
    size_t tok_pad_cap;
    int64_t rows_cap;         /* rows the hook buffers hold */
    float **label_rows;       /* [n_labels][rows_cap] */
    int64_t *rows;            /* [rows_cap] */
    /* stats */
    int64_t docs_skipped, truncated, tokens_run;
    /* overlap: the writer thread, and what was handed to it */
    cap_writer *wr;
    int64_t base_docs, base_rows;   /* in the file when the writer started */
    int64_t queued_docs, queued_rows, queued_tokens;
    int64_t next_token;             /* /tokens index of the next batch's first token */
    int64_t fin_docs, fin_rows, fin_tokens; /* counts at finish */
    cap_dist *dist;           /* distributed session (capture/capture_dist.c), or NULL */
    struct timespec t0;
};

/* Frees a pending document's buffers (not d itself). */
void cap_free_doc(cap_doc *d);
/* Hook buffers, label rows and /rows of at least `need` rows. */
int cap_grow_rows(strata_capture *c, int64_t need);

/* ---- distributed driver (capture/capture_dist.c) ----
 * Every call below is collective: all ranks make it, in the same order. */

/* Sets c->dist when the group has more than one rank (0: serial session). */
int cap_dist_init(strata_capture *c);
void cap_dist_free(strata_capture *c);
/* Input pass 1 saw document `doc`: its text bytes, and its token count
 * after truncation when this rank counted it (-1: another rank counts it);
 * cap_dist_counts_mine says which rank tokenizes it in pass 1. */
int cap_dist_counts_mine(const strata_capture *c, int64_t doc);
int cap_dist_record(strata_capture *c, int64_t doc, int64_t ntok, int64_t text_bytes);
/* End of pass 1 (status: this rank's): agree, then sum the counts. */
int cap_dist_pass1_done(strata_capture *c, int status, int64_t n_docs, int64_t *tokens,
                        int64_t *rows, int64_t *maxlen, int64_t *text_bytes);
/* strata_capture_add_file's pass 2 is running (documents may be added). */
void cap_dist_set_reading(strata_capture *c, int on);
int cap_dist_reading(const strata_capture *c);
/* ensure_store's distributed part: MPI-IO probe, rank 0 creates or resumes
 * with the serial writer (spec s), the spec is kept for the parallel open;
 * sets c->w (rank 0) and c->n_done (every rank). */
int cap_dist_open_store(strata_capture *c, const st_h5w_spec *s);
/* Pass 2, before document c->seen: runs the window that ends there; *mine
 * = 1 when this rank prepares the document (strata_capture_add_doc), else
 * it is skipped (c->seen advanced). */
int cap_dist_next_doc(strata_capture *c, int *mine);
/* strata_capture_add_doc's end for a document of this rank's part. */
int cap_dist_doc_added(strata_capture *c);
/* A failure of this rank outside a collective step: tells the others. */
int cap_dist_fail(strata_capture *c, int status);
/* strata_capture_finish: the last window, then the parallel close. */
int cap_dist_finish(strata_capture *c);

#endif
