/* probes/eval_loss.c — next-token loss accumulated from hook_logits
 * (strata/eval.h: strata_loss_acc_*, strata_eval_text_loss).
 *
 * The hook sees logits [B][T][V] (strided view) with the run's tokens
 * [B][T] and lengths [B].  For each document b and position t < len_b - 1:
 *     l[b][t+1] = ln sum_v exp(z[b,t,v] - m) + m - z[b,t,x[b][t+1]],
 *     m = max_v z[b,t,v]                     (sums in double)
 * Rows are computed in parallel into a scratch [B][T] buffer, then folded
 * into the sums in (b, t) order, so results do not depend on the thread
 * count.  Generation steps (pos_offset > 0) are not documents and are ignored.
 */
#include "strata/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/hooks.h"
#include "strata/model.h"
#include "strata/tensor.h"
#include "util/err.h"
#include "util/par_threads.h"

struct strata_loss_acc {
    st_err err;
    int32_t n_ctx;
    strata_model *m;
    strata_hook_id hook;
    int32_t attached;
    int32_t early, late;     /* ICL positions; 0 = not set */
    double sum;              /* sum of l over every predicted token */
    int64_t count, docs;
    double *pos_sum;         /* [n_ctx] */
    int64_t *pos_cnt;        /* [n_ctx] */
    double icl_sum;
    int64_t icl_n;
    double *scratch;         /* [cap] per-row losses of one run */
    int64_t cap;
};

strata_status strata_loss_acc_new(int n_ctx, strata_loss_acc **out)
{
    if (!out) return STRATA_ERR_ARG;
    *out = NULL;
    strata_loss_acc *a = calloc(1, sizeof *a);
    if (!a) return STRATA_ERR_NOMEM;
    *out = a;
    if (n_ctx < 2) return st_seterr(&a->err, STRATA_ERR_ARG, "loss: n_ctx %d must be >= 2", n_ctx);
    a->n_ctx = n_ctx;
    a->pos_sum = calloc((size_t)n_ctx, sizeof *a->pos_sum);
    a->pos_cnt = calloc((size_t)n_ctx, sizeof *a->pos_cnt);
    if (!a->pos_sum || !a->pos_cnt) return st_seterr(&a->err, STRATA_ERR_NOMEM, "loss: out of memory");
    return STRATA_OK;
}

void strata_loss_acc_free(strata_loss_acc *a)
{
    if (!a) return;
    strata_loss_acc_detach(a);
    free(a->pos_sum);
    free(a->pos_cnt);
    free(a->scratch);
    free(a);
}

const char *strata_loss_acc_errmsg(const strata_loss_acc *a)
{
    return a ? a->err.msg : "loss accumulator is NULL";
}

void strata_loss_acc_reset(strata_loss_acc *a)
{
    if (!a) return;
    a->sum = 0;
    a->count = a->docs = a->icl_n = 0;
    a->icl_sum = 0;
    if (a->pos_sum) memset(a->pos_sum, 0, sizeof *a->pos_sum * (size_t)a->n_ctx);
    if (a->pos_cnt) memset(a->pos_cnt, 0, sizeof *a->pos_cnt * (size_t)a->n_ctx);
}

strata_status strata_loss_acc_set_icl(strata_loss_acc *a, int early, int late)
{
    if (!a) return STRATA_ERR_ARG;
    if (early < 1 || late <= early || late >= a->n_ctx)
        return st_seterr(&a->err, STRATA_ERR_RANGE,
                         "loss: ICL positions early %d, late %d must satisfy 1 <= early < late < %d",
                         early, late, a->n_ctx);
    a->early = early;
    a->late = late;
    return STRATA_OK;
}

/* -log p(next) from one row of V logits with stride sv. */
static double row_nll(const float *z, int64_t sv, int V, int next)
{
    float m = z[0];
    for (int v = 1; v < V; v++) if (z[v * sv] > m) m = z[v * sv];
    double s = 0;
    for (int v = 0; v < V; v++) s += exp((double)z[v * sv] - m);
    return log(s) + m - z[(int64_t)next * sv];
}

static int logits_hook(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    strata_loss_acc *a = user;
    if (ctx->pos_offset != 0) return 0;
    const int B = ctx->batch, T = ctx->n_ctx, V = (int)t->shape[2];
    int64_t need = (int64_t)B * T;
    if (need > a->cap) {
        double *s = realloc(a->scratch, sizeof *s * (size_t)need);
        if (!s) { st_seterr(&a->err, STRATA_ERR_NOMEM, "loss: out of memory"); return 1; }
        a->scratch = s;
        a->cap = need;
    }
    double *l = a->scratch;
    int nt = st_par_threads(0, (double)need * V);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t r = 0; r < need; r++) {
        int b = (int)(r / T), i = (int)(r % T);
        if (i + 1 >= ctx->lengths[b]) { l[r] = 0; continue; }
        int next = ctx->tokens[(int64_t)b * T + i + 1];
        l[r] = row_nll(t->data + b * t->strides[0] + i * t->strides[1], t->strides[2], V, next);
    }
    for (int b = 0; b < B; b++) {
        int len = ctx->lengths[b];
        if (len > a->n_ctx) len = a->n_ctx;
        const double *lb = l + (int64_t)b * T;
        for (int i = 1; i < len; i++) {   /* lb[i-1] is the loss of token i */
            a->sum += lb[i - 1];
            a->pos_sum[i] += lb[i - 1];
            a->pos_cnt[i]++;
        }
        a->count += len > 1 ? len - 1 : 0;
        a->docs++;
        if (a->late > 0 && len > a->late) {
            a->icl_sum += lb[a->late - 1] - lb[a->early - 1];
            a->icl_n++;
        }
    }
    return 0;
}

strata_status strata_loss_acc_attach(strata_loss_acc *a, strata_model *m)
{
    if (!a || !m) return STRATA_ERR_ARG;
    if (a->attached) {
        if (a->m == m) return STRATA_OK;
        strata_loss_acc_detach(a);
    }
    const strata_config *c = strata_model_config(m);
    if (c->n_ctx > a->n_ctx)
        return st_seterr(&a->err, STRATA_ERR_RANGE,
                         "loss: accumulator holds %d positions, model context is %d", a->n_ctx, c->n_ctx);
    int rc = strata_hook_add_ex(m, "hook_logits", logits_hook, a, STRATA_HOOK_READONLY, &a->hook);
    if (rc) return st_seterr(&a->err, rc, "loss: %s", strata_errmsg(m));
    a->m = m;
    a->attached = 1;
    return STRATA_OK;
}

strata_status strata_loss_acc_detach(strata_loss_acc *a)
{
    if (!a) return STRATA_ERR_ARG;
    if (a->attached) strata_hook_remove(a->m, a->hook);
    a->attached = 0;
    a->m = NULL;
    return STRATA_OK;
}

strata_status strata_loss_acc_run(strata_loss_acc *a, strata_model *m, const int32_t *tokens,
                                  const int32_t *lengths, int batch)
{
    if (!a || !m || !tokens || !lengths || batch < 1) return a ? st_seterr(&a->err, STRATA_ERR_ARG, "loss: empty batch") : STRATA_ERR_ARG;
    ST_TRY(strata_loss_acc_attach(a, m));
    int rc = strata_run(m, tokens, lengths, batch, NULL);
    if (rc == STRATA_STOPPED && a->err.msg[0]) return STRATA_ERR_NOMEM;
    if (rc) return st_seterr(&a->err, rc, "loss: %s", strata_errmsg(m));
    return STRATA_OK;
}

double strata_loss_acc_mean(const strata_loss_acc *a)
{
    return a && a->count ? a->sum / (double)a->count : NAN;
}
int64_t strata_loss_acc_n_tokens(const strata_loss_acc *a) { return a ? a->count : 0; }
int64_t strata_loss_acc_n_docs(const strata_loss_acc *a) { return a ? a->docs : 0; }
double strata_loss_acc_icl(const strata_loss_acc *a)
{
    return a && a->icl_n ? a->icl_sum / (double)a->icl_n : NAN;
}
int64_t strata_loss_acc_n_icl(const strata_loss_acc *a) { return a ? a->icl_n : 0; }

int strata_loss_acc_position_mean(const strata_loss_acc *a, double *out, int cap)
{
    if (!a) return 0;
    for (int i = 0; i < cap && i < a->n_ctx; i++)
        out[i] = a->pos_cnt[i] ? a->pos_sum[i] / (double)a->pos_cnt[i] : NAN;
    return a->n_ctx;
}

static void set_msg(char *err, size_t len, const char *msg)
{
    if (err && len) { strncpy(err, msg, len - 1); err[len - 1] = 0; }
}

strata_status strata_eval_text_loss(strata_model *m, const int32_t *tokens, const int32_t *lengths,
                                    int batch, int max_batch, double *loss, int64_t *n_tokens,
                                    char *err, size_t err_len)
{
    if (!m || !tokens || !lengths || !loss) { set_msg(err, err_len, "text loss: NULL argument"); return STRATA_ERR_ARG; }
    if (batch < 1) { set_msg(err, err_len, "text loss: no documents"); return STRATA_ERR_ARG; }
    if (max_batch <= 0) max_batch = 8;
    const strata_config *c = strata_model_config(m);
    int T = 0;
    for (int b = 0; b < batch; b++) {
        if (lengths[b] < 1 || lengths[b] > c->n_ctx) {
            char msg[160];
            snprintf(msg, sizeof msg, "text loss: document %d has %d tokens (must be 1..%d, the model's context)",
                     b, lengths[b], c->n_ctx);
            set_msg(err, err_len, msg);
            return STRATA_ERR_RANGE;
        }
        if (lengths[b] > T) T = lengths[b];
    }
    strata_loss_acc *a = NULL;
    int rc = strata_loss_acc_new(c->n_ctx, &a);
    int32_t *sub = rc ? NULL : malloc(sizeof *sub * (size_t)max_batch * T);
    if (!rc && !sub) rc = STRATA_ERR_NOMEM;
    for (int b0 = 0; !rc && b0 < batch; b0 += max_batch) {
        int nb = batch - b0 < max_batch ? batch - b0 : max_batch, Tb = 0;
        for (int b = 0; b < nb; b++) if (lengths[b0 + b] > Tb) Tb = lengths[b0 + b];
        for (int b = 0; b < nb; b++)   /* repack [nb][Tb] (padding from the row) */
            memcpy(sub + (int64_t)b * Tb, tokens + (int64_t)(b0 + b) * T, sizeof *sub * (size_t)Tb);
        rc = strata_loss_acc_run(a, m, sub, lengths + b0, nb);
    }
    if (rc) set_msg(err, err_len, a ? strata_loss_acc_errmsg(a) : "text loss: out of memory");
    else {
        *loss = strata_loss_acc_mean(a);
        if (n_tokens) *n_tokens = strata_loss_acc_n_tokens(a);
    }
    free(sub);
    strata_loss_acc_free(a);
    return rc;
}
