/* model/activations.c — sizing and allocating the forward pass's
 * activations (see activations.h): one size function, one allocation. */
#include "model/activations.h"

#include <stdlib.h>
#include <string.h>

void st_acts_sizes(const strata_config *c, const st_acts_dims *r, size_t n[ST_ACT_COUNT])
{
    const size_t N = (size_t)(r->B * r->T), d = (size_t)c->d_model, F = (size_t)c->d_mlp;
    const size_t qd = (size_t)c->n_heads * (size_t)c->d_head;
    const size_t kvd = (size_t)c->n_kv_heads * (size_t)c->d_head;
    memset(n, 0, sizeof(size_t) * ST_ACT_COUNT);
    n[ST_ACT_X] = N * d;
    n[ST_ACT_NORMED] = N * d;
    n[ST_ACT_SCALE] = N;
    n[ST_ACT_Q] = N * qd;
    n[ST_ACT_K] = N * kvd;
    n[ST_ACT_V] = N * kvd;
    n[ST_ACT_QKV] = r->fused_qkv ? N * 3 * qd : 0;
    n[ST_ACT_Z] = N * qd;
    n[ST_ACT_ATTN_OUT] = N * d;
    n[ST_ACT_RESULT] = r->result ? N * (size_t)c->n_heads * d : 0;
    n[ST_ACT_MLP_H] = c->attn_only ? 0 : N * F;
    n[ST_ACT_MLP_UP] = c->gated_mlp && !c->attn_only ? N * F : 0;
    n[ST_ACT_MLP_OUT] = c->attn_only ? 0 : N * d;
    n[ST_ACT_ROPE] = c->rope != STRATA_ROPE_NONE ? (size_t)r->T * (size_t)(c->rotary_dim / 2) * 2 : 0;
    n[ST_ACT_PROBS] = (size_t)r->probs_floats;
    n[ST_ACT_ENT] = (size_t)r->ent_floats;
    n[ST_ACT_ZERO_FROM] = r->probs_floats ? (size_t)(r->probs_floats / r->Tk) : 0;
    n[ST_ACT_LOGITS] = r->logits ? N * (size_t)c->vocab_size : 0;
}

enum { ALIGN_FLOATS = 16 };   /* 64 bytes: every field starts on a cache line */

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

int st_acts_fit(st_acts *a, const size_t n[ST_ACT_COUNT], int64_t Tk)
{
    int fits = a->block != NULL;
    for (int i = 0; fits && i < ST_ACT_COUNT; i++) fits = n[i] <= a->cap[i];
    if (!fits) {
        size_t cap[ST_ACT_COUNT], total = 0;
        for (int i = 0; i < ST_ACT_COUNT; i++) {
            cap[i] = round_up(n[i] > a->cap[i] ? n[i] : a->cap[i]);
            if (cap[i] > (size_t)-1 / 4 - total) return -1;   /* bytes would overflow size_t */
            total += cap[i];
        }
        /* every element is 4 bytes (float or int32_t) */
        void *block = aligned_alloc(64, total > 0 ? total * 4 : 64);
        if (!block) return -1;
        free(a->block);
        a->block = block;
        memcpy(a->cap, cap, sizeof cap);
        a->zf_rows = a->zf_Tk = 0;
        float *p = block;
        float **fields[ST_ACT_COUNT] = {
            [ST_ACT_X] = &a->x, [ST_ACT_NORMED] = &a->normed, [ST_ACT_SCALE] = &a->scale,
            [ST_ACT_Q] = &a->q, [ST_ACT_K] = &a->k, [ST_ACT_V] = &a->v, [ST_ACT_QKV] = &a->qkv,
            [ST_ACT_Z] = &a->z, [ST_ACT_ATTN_OUT] = &a->attn_out, [ST_ACT_RESULT] = &a->result,
            [ST_ACT_MLP_H] = &a->mlp_h, [ST_ACT_MLP_UP] = &a->mlp_up, [ST_ACT_MLP_OUT] = &a->mlp_out,
            [ST_ACT_ROPE] = &a->rope, [ST_ACT_PROBS] = &a->probs, [ST_ACT_ENT] = &a->ent,
            [ST_ACT_ZERO_FROM] = NULL, [ST_ACT_LOGITS] = &a->logits,
        };
        for (int i = 0; i < ST_ACT_COUNT; i++) {
            if (i == ST_ACT_ZERO_FROM) a->zero_from = cap[i] ? (int32_t *)p : NULL;
            else *fields[i] = cap[i] ? p : NULL;
            p += cap[i];
        }
    }
    /* zero_from rows describe the probs buffer's rows of Tk floats: when the
     * buffer or the row length changes, nothing is known to be zero */
    const int64_t rows = (int64_t)a->cap[ST_ACT_ZERO_FROM];
    if (rows && (a->zf_Tk != Tk || a->zf_rows != rows)) {
        for (int64_t r = 0; r < rows; r++) a->zero_from[r] = (int32_t)Tk;
        a->zf_rows = rows;
        a->zf_Tk = Tk;
    }
    return 0;
}

void st_acts_free(st_acts *a)
{
    if (!a) return;
    free(a->block);
    memset(a, 0, sizeof *a);
}
