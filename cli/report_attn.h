/* cli/report_attn.h — the attention viewer's data for `strata report`: one
 * document's hook_pattern rows, embedded within a byte budget.
 *
 * Defines: report_attn_plan, report_attn_make_plan(), report_attn_section(),
 * REPORT_ATTN_MAX_TOKENS, REPORT_ATTN_MAX_K, REPORT_ATTN_DEFAULT_BUDGET. */
#ifndef STRATA_CLI_REPORT_ATTN_H
#define STRATA_CLI_REPORT_ATTN_H

#include <stdint.h>

#include <jansson.h>

#include "strata/capture.h"
#include "strata/model.h"

/* At most this many tokens of the document are ever shown (DOM size). */
#define REPORT_ATTN_MAX_TOKENS 4096
/* Largest top-k kept per query of a sparse head. */
#define REPORT_ATTN_MAX_K 32
/* Default budget of the embedded attention data: 3 MiB of base64 text. */
#define REPORT_ATTN_DEFAULT_BUDGET (3 * 1024 * 1024)

/* How one document's L x H heads are embedded (docs/cli/report.md, "Embedding
 * rule").  Sizes are the embedded bytes: each head is one base64 string
 * (4 ceil(raw / 3) characters) plus 3 bytes of JSON punctuation.
 *   dense head   the lower triangle, raw T (T + 1) / 2 bytes, round(255 p)
 *   sparse head  per query t its min(k, t + 1) largest weights, 3 bytes each
 *                (key as uint16 little-endian, round(255 p)) */
typedef struct {
    int64_t T;        /* tokens shown: the document's first T */
    int64_t T_doc;    /* tokens the document has (before the window) */
    int k;            /* top-k of the sparse heads; 0 when every head is dense */
    int n_dense;      /* the first n_dense heads of the priority list are dense
                       * (every head when k == 0) */
    int64_t bytes;    /* embedded bytes of the plan, <= budget */
} report_attn_plan;

/* Embedded bytes of one head. */
int64_t report_attn_dense_bytes(int64_t T);
int64_t report_attn_sparse_bytes(int64_t T, int k);

/* The rule for n embedded heads (L * H, or the priority heads alone with
 * --attn-heads-only), in order, for the largest T <= min(T_doc, W,
 * MAX_TOKENS) at which one of these fits the budget (T shrinks only when none
 * fits at full length):
 *   1. every embedded head dense;
 *   2. the first n_prio priority heads dense, as many as fit in half the
 *      budget (in list order), every other embedded head sparse with the
 *      largest k in [1, MAX_K] that fits.
 * Returns 0, or -1 when not even one token fits (budget below n * 7 bytes). */
int report_attn_make_plan(int64_t n, int64_t T_doc, int64_t W, int n_prio, int64_t budget,
                          report_attn_plan *out);

/* The viewer's data for document doc of a (see report_page.c's contract), or
 * {"absent": why}.  prio: n_prio heads as layer * 65536 + head, highest
 * priority first; the first n_user are --heads, and one of those outside the
 * capture's layers x heads is an error (NULL, err says which); later ones
 * (the heads the page highlights) outside it are skipped.  heads_only: embed
 * the priority heads alone (the others are "x" in "mode", null in "heads").
 * m (may be NULL) gives token strings. */
json_t *report_attn_section(strata_acts *a, int64_t doc, strata_model *m, const int *prio,
                            int n_prio, int n_user, int heads_only, int64_t budget, char *err,
                            size_t errcap);

#endif
