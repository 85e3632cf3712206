/* probes/attn_internal.h — internals of the attention-statistics accumulator
 * (attn_stats.c, attn_capture.c) exposed to the tests.
 *
 * Defines: struct strata_attn_stats, st_attn_acc (+ _rows, _merge, _finish), st_attn_head_doc(), st_attn_dup_mask(),
 * st_attn_check_induction(), st_attn_fold_doc(), st_attn_fast_ln().
 */
#ifndef STRATA_ATTN_INTERNAL_H
#define STRATA_ATTN_INTERNAL_H

#include <stdint.h>

#include "strata/attn.h"
#include "strata/hooks.h"
#include "strata/model.h"
#include "util/err.h"

struct strata_attn_stats {
    st_err err;
    int32_t ready;              /* allocation succeeded */
    strata_config cfg;
    int32_t n_layers, n_heads;
    int32_t ind_R;              /* 0: ordinary documents; R: BOS + S + S */
    int32_t ind_general;        /* accumulate the non-induction statistics */
    double *sum;                /* [L][H][NSTAT] sums of per-document values */
    int64_t *cnt;               /* [L][H][NSTAT] documents behind each sum */
    int64_t *docs_layer;        /* [L] documents seen per layer */
    int64_t n_patterns;         /* patterns folded (any layer) */
    strata_model *model;        /* attached model or NULL */
    strata_hook_id hook_id;
    int32_t failed;             /* a hook set err and stopped the run */
    /* scratch */
    double *scr_out;            /* [pairs][NSTAT] per (doc, head) values */
    uint8_t *scr_valid;         /* [pairs][NSTAT] */
    int64_t scr_pairs;
    int64_t *scr_idx;           /* [B*T] sort keys */
    uint8_t *scr_dup;           /* [B*T] has an earlier duplicate */
    int64_t scr_len;
    struct st_attn_acc *scr_acc;  /* [pairs] running sums of the documents being sliced,
                                     then [units] of one slice */
    int64_t scr_acc_n;
    uint32_t *stamp;            /* [vocab] last document (stamp_gen) holding each token */
    uint32_t stamp_gen;
    int32_t open_layer;         /* document(s) whose slices are arriving: layer, */
    int64_t open_b0, open_nb;   /* first batch row and count (open_nb 0: none) */
};

/* Running per-document sums of one head (st_attn_acc_rows). */
typedef struct st_attn_acc {
    double s[STRATA_ATTN_NSTAT];
    int64_t n_gen, n_dup, n_ind;  /* rows behind the general / duplicate / induction sums */
} st_attn_acc;
/* Rows [qb, qe) of one head (row q at p + (q-qb)*sq; has_dup indexed by q;
 * ent [qe-qb] or NULL), summed in float lanes across rows. */
void st_attn_acc_rows(st_attn_acc *a, const float *p, int64_t sq, int64_t sk, int qb, int qe,
                      const int32_t *tok, const uint8_t *has_dup, int R, int general,
                      const float *ent);
/* Query rows per accumulation block: the forward-pass hook and
 * st_attn_head_doc both sum rows in these blocks and merge them in order. */
enum { ST_ATTN_ACC_ROWS = 64 };
void st_attn_acc_merge(st_attn_acc *dst, const st_attn_acc *src);
void st_attn_acc_finish(const st_attn_acc *a, double out[STRATA_ATTN_NSTAT],
                        uint8_t valid[STRATA_ATTN_NSTAT]);

/* One head on one document of length L.
 *   p        P[q][k] = p[q*sq + k*sk], q,k < L
 *   tok      [L] ids or NULL (then no duplicate score)
 *   has_dup  [L] from st_attn_dup_mask or NULL
 *   R        induction R (0: none); general: compute the other statistics
 * out/valid [STRATA_ATTN_NSTAT]: the per-document values and which are defined. */
void st_attn_head_doc(const float *p, int64_t sq, int64_t sk, int L, const int32_t *tok,
                      const uint8_t *has_dup, int R, int general, double out[STRATA_ATTN_NSTAT],
                      uint8_t valid[STRATA_ATTN_NSTAT]);
/* has_dup[q] = 1 iff some k < q has tok[k] == tok[q]; keys is scratch [L]. */
void st_attn_dup_mask(const int32_t *tok, int L, int64_t *keys, uint8_t *has_dup);
/* 0 if tok[0..L) is BOS + S + S with |S| = R, else a message and STRATA_ERR_FORMAT. */
int st_attn_check_induction(strata_attn_stats *s, const int32_t *tok, int L, int R, int64_t doc);
/* Adds one document's per-head values (out/valid [H][NSTAT]) to layer's sums. */
void st_attn_fold_doc(strata_attn_stats *s, int layer, const double *out, const uint8_t *valid);
float st_attn_fast_ln(float x);

#endif
