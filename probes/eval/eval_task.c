/* probes/eval_task.c — prompt/answer scoring (strata/eval.h: strata_eval_task).
 *
 * Items are packed in input order into batches of rows P + A (right-padded
 * to the batch's longest row), each batch small enough that its logits
 * [nb][T][V] stay near 64 MiB (at least one item per batch).  For item i
 * with n_p prompt and n_a answer ids the answer token A_j sits at row
 * position n_p + j and is predicted by the logits at position n_p + j - 1:
 *     lp_j  = z[A_j] - m - ln sum_v exp(z_v - m)    (double sums)
 *     hit_j = (first index of max z) == A_j
 * Per-item and mean scores as defined in strata/eval.h.
 */
#include "strata/eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/model.h"

#define EVAL_LOGITS_BYTES (64LL << 20)

static void set_msg(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* Scores one position's logits row z [V]. */
static void score_row(const float *z, int V, int target, double *lp, int *hit)
{
    int best = 0;
    for (int v = 1; v < V; v++) if (z[v] > z[best]) best = v;
    double s = 0, m = z[best];
    for (int v = 0; v < V; v++) s += exp((double)z[v] - m);
    *lp = (double)z[target] - m - log(s);
    *hit = best == target;
}

strata_status strata_eval_task(strata_model *m, const int32_t *prompt_ids,
                               const int64_t *prompt_off, const int32_t *answer_ids,
                               const int64_t *answer_off, int64_t n, strata_eval_item *items,
                               strata_eval_result *res, char *err, size_t err_len)
{
    if (err && err_len) err[0] = 0;
    if (!m || !prompt_ids || !prompt_off || !answer_ids || !answer_off || !res) {
        set_msg(err, err_len, "eval: NULL argument");
        return STRATA_ERR_ARG;
    }
    memset(res, 0, sizeof *res);
    if (n < 1) { set_msg(err, err_len, "eval: no items"); return STRATA_ERR_ARG; }
    const strata_config *c = strata_model_config(m);
    const int V = c->vocab_size;
    /* validate every item before running anything */
    if (prompt_off[0] != 0 || answer_off[0] != 0) {
        set_msg(err, err_len, "eval: offsets must start at 0");
        return STRATA_ERR_ARG;
    }
    int Tmax = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t np = prompt_off[i + 1] - prompt_off[i], na = answer_off[i + 1] - answer_off[i];
        if (np < 1 || na < 1) {
            set_msg(err, err_len, "eval: item %lld: empty %s", (long long)i, np < 1 ? "prompt" : "answer");
            return STRATA_ERR_ARG;
        }
        if (np + na > c->n_ctx) {
            set_msg(err, err_len, "eval: item %lld: prompt + answer = %lld tokens, "
                                         "more than the model's context %d", (long long)i,
                                         (long long)(np + na), c->n_ctx);
            return STRATA_ERR_RANGE;
        }
        for (int64_t k = 0; k < np + na; k++) {
            int32_t id = k < np ? prompt_ids[prompt_off[i] + k] : answer_ids[answer_off[i] + k - np];
            if (id < 0 || id >= V) {
                set_msg(err, err_len, "eval: item %lld: %s id %d outside the "
                                             "vocabulary [0, %d)", (long long)i,
                                             k < np ? "prompt" : "answer", id, V);
                return STRATA_ERR_RANGE;
            }
        }
        if ((int)(np + na) > Tmax) Tmax = (int)(np + na);
    }
    int64_t per_item = (int64_t)Tmax * V * (int64_t)sizeof(float);
    int maxb = (int)(EVAL_LOGITS_BYTES / per_item);
    if (maxb < 1) maxb = 1;
    if (maxb > 64) maxb = 64;
    float *logits = malloc((size_t)per_item * (size_t)maxb);
    int32_t *tok = malloc(sizeof *tok * (size_t)maxb * Tmax);
    int32_t *len = malloc(sizeof *len * (size_t)maxb);
    if (!logits || !tok || !len) {
        free(logits); free(tok); free(len);
        set_msg(err, err_len, "eval: out of memory");
        return STRATA_ERR_NOMEM;
    }
    double sum_exact = 0, sum_lp = 0, sum_acc = 0;
    int64_t n_tok = 0;
    int rc = STRATA_OK;
    for (int64_t i0 = 0; i0 < n && !rc; i0 += maxb) {
        int nb = (int)(n - i0 < maxb ? n - i0 : maxb), T = 0;
        for (int b = 0; b < nb; b++) {
            int64_t i = i0 + b;
            len[b] = (int32_t)(prompt_off[i + 1] - prompt_off[i] + answer_off[i + 1] - answer_off[i]);
            if (len[b] > T) T = len[b];
        }
        for (int b = 0; b < nb; b++) {
            int64_t i = i0 + b, np = prompt_off[i + 1] - prompt_off[i];
            int32_t *row = tok + (int64_t)b * T;
            memcpy(row, prompt_ids + prompt_off[i], sizeof *row * (size_t)np);
            memcpy(row + np, answer_ids + answer_off[i], sizeof *row * (size_t)(len[b] - np));
            for (int t = len[b]; t < T; t++) row[t] = row[0];
        }
        rc = strata_run(m, tok, len, nb, logits);
        if (rc) {
            set_msg(err, err_len, "eval: forward pass: %s", strata_errmsg(m));
            if (rc > 0) rc = STRATA_ERR_STATE; /* a foreign hook stopped the run */
            break;
        }
        for (int b = 0; b < nb; b++) {
            int64_t i = i0 + b;
            int np = (int)(prompt_off[i + 1] - prompt_off[i]), na = len[b] - np, correct = 0;
            double lp_sum = 0;
            for (int j = 0; j < na; j++) {
                double lp;
                int hit;
                score_row(logits + ((int64_t)b * T + np + j - 1) * V, V, tok[(int64_t)b * T + np + j], &lp, &hit);
                lp_sum += lp;
                correct += hit;
            }
            double lp = lp_sum / na;
            int exact = correct == na;
            if (items) {
                items[i].n_answer = na;
                items[i].n_correct = correct;
                items[i].exact = exact;
                items[i].reserved = 0;
                items[i].logprob = lp;
            }
            sum_exact += exact;
            sum_lp += lp;
            sum_acc += (double)correct / na;
            n_tok += na;
        }
    }
    free(logits); free(tok); free(len);
    if (rc) return rc;
    res->n = n;
    res->n_answer_tokens = n_tok;
    res->exact_match = sum_exact / (double)n;
    res->answer_logprob = sum_lp / (double)n;
    res->token_accuracy = sum_acc / (double)n;
    return STRATA_OK;
}
