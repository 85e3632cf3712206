/* tests/test_attn_model.h — a hand-built two-layer GPT-2 whose heads do known
 * things, written as a Hugging Face directory (config.json + safetensors) by
 * the attention and logit-lens tests.
 *
 * Defines: AM_T, AM_V, AM_D, AM_H, AM_DH, am_write_model().
 *
 * Residual stream layout, d = 2T + 4V = 96 with T = V = 16:
 *   [ 0,16) P+  one-hot of the position     [16,32) P-  its negative
 *   [32,48) T+  one-hot of the token        [48,64) T-  its negative
 *   [64,80) R+  one-hot of the previous token (written by layer 0)
 *   [80,96) R-  its negative
 * Every vector is a sum of +e_i - e_j pairs, so its mean is exactly 0 and
 * LayerNorm (gain 1, bias 0) is the fixed scaling x * s with
 * s = 1 / sqrt(|x|^2 / d + eps): |x|^2 = 4 before layer 0 (s0 = 1/sqrt(4/96+eps)),
 * 6 after it (s1 = 1/sqrt(6/96+eps)).
 *
 * Heads (H = 6, d_head = 16, scores scaled by 1/sqrt(16) = 1/4):
 *   layer 0 head 0  previous token: q_i = lam s0 e_{i-1}, k_j = lam s0 e_j
 *                   -> score lam^2 s0^2 / 4 = 100 on j = i-1, 0 elsewhere;
 *                   v_j = s0 onehot(tok_j), O writes +-v/s0 into R+/R-.
 *                   (q_0 = 0: position 0 attends to itself.)
 *   layer 0 head 1  first token: q_i = lam s0 e_0 for every i, k_j = lam s0 [j==0]
 *                   -> score 100 on key 0; v = 0.
 *   layer 1 head 0  induction: q_i = lam s1 onehot(tok_i), k_j = lam s1 onehot(tok_{j-1})
 *                   -> score lam^2 s1^2 / 4 = 100 where tok_{j-1} == tok_i; v = 0.
 *   every other head has zero weights: score 0 everywhere, uniform pattern.
 * lam is chosen per layer so that the peak score is exactly 100.
 * MLPs are zero (gelu_new(0) = 0), all biases zero, ln_f = identity, and the
 * unembedding is tied to wte, so the logits at position i are 2 s_f on
 * tok_i and 0 elsewhere (lens: same at every layer with that layer's s).
 */
#ifndef STRATA_TEST_ATTN_MODEL_H
#define STRATA_TEST_ATTN_MODEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define AM_T 16
#define AM_V 16
#define AM_D (2 * AM_T + 4 * AM_V)
#define AM_H 6
#define AM_DH (AM_D / AM_H)
#define AM_EPS 1e-5
#define AM_BOS 0

typedef struct am_tensor {
    char name[96];
    int ndim;
    int64_t shape[2];
    float *data;
} am_tensor;

static int am_add(am_tensor *ts, int *n, const char *name, int ndim, int64_t a, int64_t b)
{
    am_tensor *t = &ts[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = a;
    t->shape[1] = b;
    t->data = calloc((size_t)(a * (ndim == 2 ? b : 1)), sizeof(float));
    return *n - 1;
}

/* safetensors: u64 LE header length, JSON header, raw F32 data. */
static int am_write_safetensors(const char *path, am_tensor *ts, int n)
{
    size_t cap = 65536, len = 0;
    char *hdr = malloc(cap);
    int64_t off = 0;
    len += (size_t)snprintf(hdr + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        int64_t cnt = ts[i].shape[0] * (ts[i].ndim == 2 ? ts[i].shape[1] : 1);
        if (ts[i].ndim == 2)
            len += (size_t)snprintf(hdr + len, cap - len,
                                    ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],"
                                    "\"data_offsets\":[%lld,%lld]}",
                                    ts[i].name, (long long)ts[i].shape[0],
                                    (long long)ts[i].shape[1], (long long)off,
                                    (long long)(off + cnt * 4));
        else
            len += (size_t)snprintf(hdr + len, cap - len,
                                    ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],"
                                    "\"data_offsets\":[%lld,%lld]}",
                                    ts[i].name, (long long)ts[i].shape[0], (long long)off,
                                    (long long)(off + cnt * 4));
        off += cnt * 4;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) { free(hdr); return -1; }
    uint64_t hl = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hl >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, len, f);
    for (int i = 0; i < n; i++) {
        int64_t cnt = ts[i].shape[0] * (ts[i].ndim == 2 ? ts[i].shape[1] : 1);
        fwrite(ts[i].data, sizeof(float), (size_t)cnt, f);
    }
    free(hdr);
    return fclose(f);
}

/* Writes the model into directory `dir` (created).  Returns 0 on success. */
static int am_write_model(const char *dir)
{
    char path[1200];
    if (strlen(dir) > 1000) return -1;
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    if (system(path) != 0) return -1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"],\n"
             " \"n_embd\": %d, \"n_layer\": 2, \"n_head\": %d, \"n_positions\": %d,\n"
             " \"n_ctx\": %d, \"vocab_size\": %d, \"n_inner\": null,\n"
             " \"layer_norm_epsilon\": %g, \"activation_function\": \"gelu_new\",\n"
             " \"bos_token_id\": %d, \"eos_token_id\": %d, \"tie_word_embeddings\": true}\n",
             AM_D, AM_H, AM_T, AM_T, AM_V, AM_EPS, AM_BOS, AM_BOS);
    if (tu_write_file(path, cfg, strlen(cfg)) != 0) return -1;

    const int D = AM_D, T = AM_T, V = AM_V, DH = AM_DH, F = 4 * AM_D;
    const int P0 = 0, PN = T, T0 = 2 * T, TN = 2 * T + V, R0 = 2 * T + 2 * V, RN = 2 * T + 3 * V;
    const double s0 = 1.0 / sqrt(4.0 / D + AM_EPS), s1 = 1.0 / sqrt(6.0 / D + AM_EPS);
    /* peak score lam^2 s^2 / sqrt(DH) = 100 */
    const float lam0 = (float)sqrt(100.0 * sqrt((double)DH)) / (float)s0;
    const float lam1 = (float)sqrt(100.0 * sqrt((double)DH)) / (float)s1;
    am_tensor ts[64];
    int n = 0;
    char nm[96];
    int wte = am_add(ts, &n, "wte.weight", 2, V, D);
    for (int t = 0; t < V; t++) {
        ts[wte].data[t * D + T0 + t] = 1;
        ts[wte].data[t * D + TN + t] = -1;
    }
    int wpe = am_add(ts, &n, "wpe.weight", 2, T, D);
    for (int p = 0; p < T; p++) {
        ts[wpe].data[p * D + P0 + p] = 1;
        ts[wpe].data[p * D + PN + p] = -1;
    }
    for (int l = 0; l < 2; l++) {
#define NM(suffix) (snprintf(nm, sizeof nm, "h.%d.%s", l, suffix), nm)
        int g1 = am_add(ts, &n, NM("ln_1.weight"), 1, D, 0);
        am_add(ts, &n, NM("ln_1.bias"), 1, D, 0);
        int g2 = am_add(ts, &n, NM("ln_2.weight"), 1, D, 0);
        am_add(ts, &n, NM("ln_2.bias"), 1, D, 0);
        for (int i = 0; i < D; i++) ts[g1].data[i] = ts[g2].data[i] = 1;
        int qkv = am_add(ts, &n, NM("attn.c_attn.weight"), 2, D, 3 * D); /* Conv1D [in][out] */
        am_add(ts, &n, NM("attn.c_attn.bias"), 1, 3 * D, 0);
        int o = am_add(ts, &n, NM("attn.c_proj.weight"), 2, D, D);
        am_add(ts, &n, NM("attn.c_proj.bias"), 1, D, 0);
        am_add(ts, &n, NM("mlp.c_fc.weight"), 2, D, F);
        am_add(ts, &n, NM("mlp.c_fc.bias"), 1, F, 0);
        am_add(ts, &n, NM("mlp.c_proj.weight"), 2, F, D);
        am_add(ts, &n, NM("mlp.c_proj.bias"), 1, D, 0);
#undef NM
        float *W = ts[qkv].data, *Wo = ts[o].data;
#define WQ(in, h, c) W[(int64_t)(in) * 3 * D + 0 * D + (h) * DH + (c)]
#define WK(in, h, c) W[(int64_t)(in) * 3 * D + 1 * D + (h) * DH + (c)]
#define WV(in, h, c) W[(int64_t)(in) * 3 * D + 2 * D + (h) * DH + (c)]
        if (l == 0) {
            /* head 0: previous token */
            for (int p = 1; p < T; p++) WQ(P0 + p, 0, p - 1) = lam0;
            for (int p = 0; p < T; p++) WK(P0 + p, 0, p) = lam0;
            for (int t = 0; t < V; t++) WV(T0 + t, 0, t) = 1;
            for (int t = 0; t < V; t++) {
                Wo[(int64_t)(0 * DH + t) * D + R0 + t] = (float)(1.0 / s0);
                Wo[(int64_t)(0 * DH + t) * D + RN + t] = (float)(-1.0 / s0);
            }
            /* head 1: first token */
            for (int p = 0; p < T; p++) WQ(P0 + p, 1, 0) = lam0;
            WK(P0 + 0, 1, 0) = lam0;
        } else {
            /* head 0: induction */
            for (int t = 0; t < V; t++) WQ(T0 + t, 0, t) = lam1;
            for (int t = 0; t < V; t++) WK(R0 + t, 0, t) = lam1;
        }
#undef WQ
#undef WK
#undef WV
    }
    int gf = am_add(ts, &n, "ln_f.weight", 1, D, 0);
    am_add(ts, &n, "ln_f.bias", 1, D, 0);
    for (int i = 0; i < D; i++) ts[gf].data[i] = 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = am_write_safetensors(path, ts, n);
    for (int i = 0; i < n; i++) free(ts[i].data);
    return rc;
}

#endif
