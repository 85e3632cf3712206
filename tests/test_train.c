/* tests/test_train.c — strata train: gradients, determinism, resume, bad input.
 *
 * Gradients: every parameter's gradient from the float32 backward (lib/train)
 * against central finite differences of an independent double-precision
 * forward written here (naive loops, no code shared with lib/train), on tiny
 * models with padding in the batch (an MLP model and an attention-only one).
 * Tolerance: |g - g_fd| <= 1e-5 * max|g_fd| + 1e-4 * |g_fd| for every parameter.
 * Finite differences in double with h = 1e-5 have truncation ~h^2 * |L'''| ~ 1e-10
 * and rounding ~1e-16/h ~ 1e-11, so the error is the float32 backward's own
 * rounding: each entry sums a few dozen float products of magnitude <= 1, i.e.
 * ~1e-7 relative to the largest gradient (measured worst: 3e-7, printed);
 * 1e-5 leaves a 30x margin, while a wrong term in any backward formula
 * changes entries by O(max|g|).  The same check runs on a masked loss (targets
 * -1 inside the rows, as --loss-mask gives: only some positions predicted).
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strata/model.h"
#include "strata/train.h"
#include "testutil.h"
#include "train/train_internal.h"

/* ---------------- an independent double-precision GPT-2 loss ---------------- */

static const double *P_(const tr_model *m, const double *p, const char *fmt, int l)
{
    char name[TR_NAME_MAX];
    snprintf(name, sizeof name, fmt, l);
    int i = tr_model_find(m, name);
    ck_assert_msg(i >= 0, "no tensor %s", name);
    return p + m->tensors[i].off;
}

static void ref_layernorm(double *y, const double *x, const double *w, const double *b, int d, double eps)
{
    double mu = 0, var = 0;
    for (int j = 0; j < d; j++) mu += x[j];
    mu /= d;
    for (int j = 0; j < d; j++) var += (x[j] - mu) * (x[j] - mu);
    var /= d;
    for (int j = 0; j < d; j++) y[j] = (x[j] - mu) / sqrt(var + eps) * w[j] + b[j];
}

/* y[out] = x[in] . W[in][out] + b */
static void ref_linear(double *y, const double *x, const double *W, const double *b, int in, int out)
{
    for (int o = 0; o < out; o++) {
        double s = b[o];
        for (int i = 0; i < in; i++) s += x[i] * W[(size_t)i * out + o];
        y[o] = s;
    }
}

static double ref_gelu(double x)
{
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

/* Mean next-token cross-entropy of tokens [B][T] with targets (-1: none). */
static double ref_loss(const tr_model *m, const double *p, const int32_t *tokens, const int32_t *targets,
                       int B, int T)
{
    const tr_dims *dm = &m->dims;
    const int d = dm->d_model, F = dm->d_mlp, H = dm->n_head, dh = d / H, V = dm->vocab;
    double *x = calloc((size_t)T * d, sizeof(double)), *h = calloc((size_t)T * d, sizeof(double));
    double *qkv = calloc((size_t)T * 3 * d, sizeof(double)), *z = calloc((size_t)T * d, sizeof(double));
    double *a = calloc((size_t)d, sizeof(double)), *f = calloc((size_t)(F > 0 ? F : 1), sizeof(double));
    double *s = calloc((size_t)T, sizeof(double)), *lg = calloc((size_t)V, sizeof(double));
    double total = 0;
    int count = 0;
    const double *wte = P_(m, p, "wte.weight", 0), *wpe = P_(m, p, "wpe.weight", 0);
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++)
            for (int j = 0; j < d; j++)
                x[t * d + j] = wte[(size_t)tokens[b * T + t] * d + j] + wpe[t * d + j];
        for (int l = 0; l < dm->n_layer; l++) {
            for (int t = 0; t < T; t++) {
                ref_layernorm(h + t * d, x + t * d, P_(m, p, "h.%d.ln_1.weight", l), P_(m, p, "h.%d.ln_1.bias", l), d, dm->ln_eps);
                ref_linear(qkv + t * 3 * d, h + t * d, P_(m, p, "h.%d.attn.c_attn.weight", l),
                           P_(m, p, "h.%d.attn.c_attn.bias", l), d, 3 * d);
            }
            for (int hh = 0; hh < H; hh++)
                for (int i = 0; i < T; i++) {
                    double mx = -1e300, sum = 0;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int c = 0; c < dh; c++)
                            dot += qkv[i * 3 * d + hh * dh + c] * qkv[j * 3 * d + d + hh * dh + c];
                        s[j] = dot / sqrt((double)dh);
                        if (s[j] > mx) mx = s[j];
                    }
                    for (int j = 0; j <= i; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
                    for (int c = 0; c < dh; c++) {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) acc += s[j] / sum * qkv[j * 3 * d + 2 * d + hh * dh + c];
                        z[i * d + hh * dh + c] = acc;
                    }
                }
            for (int t = 0; t < T; t++) {
                ref_linear(a, z + t * d, P_(m, p, "h.%d.attn.c_proj.weight", l), P_(m, p, "h.%d.attn.c_proj.bias", l), d, d);
                for (int j = 0; j < d; j++) x[t * d + j] += a[j];
            }
            if (dm->attn_only) continue;
            for (int t = 0; t < T; t++) {
                ref_layernorm(h + t * d, x + t * d, P_(m, p, "h.%d.ln_2.weight", l), P_(m, p, "h.%d.ln_2.bias", l), d, dm->ln_eps);
                ref_linear(f, h + t * d, P_(m, p, "h.%d.mlp.c_fc.weight", l), P_(m, p, "h.%d.mlp.c_fc.bias", l), d, F);
                for (int k = 0; k < F; k++) f[k] = ref_gelu(f[k]);
                ref_linear(a, f, P_(m, p, "h.%d.mlp.c_proj.weight", l), P_(m, p, "h.%d.mlp.c_proj.bias", l), F, d);
                for (int j = 0; j < d; j++) x[t * d + j] += a[j];
            }
        }
        for (int t = 0; t < T; t++) {
            const int tg = targets[b * T + t];
            if (tg < 0) continue;
            ref_layernorm(h, x + t * d, P_(m, p, "ln_f.weight", 0), P_(m, p, "ln_f.bias", 0), d, dm->ln_eps);
            double mx = -1e300, sum = 0;
            for (int v = 0; v < V; v++) {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += h[j] * wte[(size_t)v * d + j];
                lg[v] = dot;
                if (dot > mx) mx = dot;
            }
            for (int v = 0; v < V; v++) sum += exp(lg[v] - mx);
            total += log(sum) - (lg[tg] - mx);
            count++;
        }
    }
    free(x); free(h); free(qkv); free(z); free(a); free(f); free(s); free(lg);
    return total / count;
}

/* Rows of lengths 5 and 3 in a batch of T = 5: the second row is padded.
 * masked: a loss mask leaves 3 of the 6 predicted positions, not contiguous
 * (row 0 predicts only tokens 2 and 4, row 1 only token 1). */
static void grad_check(int attn_only, int masked)
{
    tr_dims dims = { .n_layer = 2, .n_head = 2, .d_model = 8, .d_mlp = attn_only ? 0 : 12, .n_ctx = 6,
                     .vocab = 11, .attn_only = attn_only, .ln_eps = 1e-5f };
    tr_model m;
    st_err err;
    ck_assert_int_eq(tr_model_init(&m, &dims, &err), 0);
    tr_rng rng;
    tr_rng_seed(&rng, 7);
    tr_model_init_weights(&m, 0.3, &rng);
    /* LayerNorm gains and all biases away from 1 / 0 so that their gradients are generic */
    for (int i = 0; i < m.n_tensors; i++)
        if (m.tensors[i].ndim == 1)
            for (int64_t j = 0; j < m.tensors[i].n; j++)
                m.params[m.tensors[i].off + j] += (float)(0.2 * tr_rng_normal(&rng));
    const int B = 2, T = 5;
    const int32_t tokens[10] = { 3, 7, 1, 10, 4, /**/ 9, 2, 5, 0, 0 };
    const int32_t all_targets[10] = { 7, 1, 10, 4, -1, /**/ 2, 5, -1, -1, -1 };
    const int32_t masked_targets[10] = { -1, 1, -1, 4, -1, /**/ 2, -1, -1, -1, -1 };
    const int32_t *targets = masked ? masked_targets : all_targets;
    tr_acts a;
    ck_assert_int_eq(tr_acts_alloc(&a, &dims, B, T, 1, &err), 0);
    double loss;
    int64_t np;
    tr_forward(&m, &a, tokens, targets, B, T, &loss, &np);
    ck_assert_int_eq(np, masked ? 3 : 6);
    tr_backward(&m, &a, tokens, targets, B, T, np);

    double *p = malloc(sizeof(double) * (size_t)m.n_params);
    for (int64_t i = 0; i < m.n_params; i++) p[i] = m.params[i];
    const double L0 = ref_loss(&m, p, tokens, targets, B, T);
    ck_assert_msg(fabs(L0 - loss) < 1e-5, "forward loss %.9f vs double reference %.9f", loss, L0);
    double *fd = malloc(sizeof(double) * (size_t)m.n_params), gmax = 0;
    const double h = 1e-5;
    for (int64_t i = 0; i < m.n_params; i++) {
        const double keep = p[i];
        p[i] = keep + h;
        const double lp = ref_loss(&m, p, tokens, targets, B, T);
        p[i] = keep - h;
        const double lm = ref_loss(&m, p, tokens, targets, B, T);
        p[i] = keep;
        fd[i] = (lp - lm) / (2 * h);
        if (fabs(fd[i]) > gmax) gmax = fabs(fd[i]);
    }
    double worst = 0;
    for (int t = 0; t < m.n_tensors; t++) {
        const tr_tensor *tt = &m.tensors[t];
        double tworst = 0, tmax = 0;
        for (int64_t j = 0; j < tt->n; j++) {
            const int64_t i = tt->off + j;
            const double diff = fabs(m.grads[i] - fd[i]);
            const double tol = 1e-5 * gmax + 1e-4 * fabs(fd[i]);
            ck_assert_msg(diff <= tol, "%s[%lld]: backward %.9g, finite differences %.9g (|diff| %.3g > %.3g)",
                          tt->name, (long long)j, m.grads[i], fd[i], diff, tol);
            if (diff / gmax > tworst) tworst = diff / gmax;
            if (fabs(fd[i]) > tmax) tmax = fabs(fd[i]);
        }
        /* a tensor whose true gradient is ~0 everywhere would test nothing */
        if (strcmp(tt->name, "wpe.weight"))
            ck_assert_msg(tmax > 1e-4 * gmax, "%s: gradient ~0 (max %.3g), the check is vacuous", tt->name, tmax);
        if (tworst > worst) worst = tworst;
    }
    /* rows t >= T of wpe get no gradient; row 5 of 6 is never used */
    printf("gradients (%s%s, %lld parameters): loss %.6f (double %.6f), max|g| %.4f, worst |g-fd|/max|g| %.2e\n",
           attn_only ? "attention-only" : "MLP", masked ? ", masked loss" : "", (long long)m.n_params, loss, L0,
           gmax, worst);
    free(p);
    free(fd);
    tr_acts_free(&a);
    tr_model_free(&m);
}

START_TEST(test_gradients_mlp) { grad_check(0, 0); }
END_TEST

START_TEST(test_gradients_attn_only) { grad_check(1, 0); }
END_TEST

START_TEST(test_gradients_masked_mlp) { grad_check(0, 1); }
END_TEST

START_TEST(test_gradients_masked_attn_only) { grad_check(1, 1); }
END_TEST

/* The multi-threaded kernels (2 threads, work above the parallel threshold)
 * give the same gradients as one thread up to float rounding. */
START_TEST(test_gradients_threads)
{
    tr_dims dims = { .n_layer = 2, .n_head = 4, .d_model = 64, .d_mlp = 128, .n_ctx = 64, .vocab = 97,
                     .attn_only = 0, .ln_eps = 1e-5f };
    tr_model m;
    st_err err;
    ck_assert_int_eq(tr_model_init(&m, &dims, &err), 0);
    tr_rng rng;
    tr_rng_seed(&rng, 3);
    tr_model_init_weights(&m, 0.1, &rng);
    const int B = 4, T = 64;
    int32_t tok[256], tg[256];
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)(tr_rng_next(&rng) % 97);
    for (int i = 0; i < B * T; i++) tg[i] = (i % T == T - 1) ? -1 : tok[i + 1];
    float *g1 = malloc(sizeof(float) * (size_t)m.n_params);
    double l1 = 0, l2 = 0;
    for (int run = 0; run < 2; run++) {
        tr_acts a;
        ck_assert_int_eq(tr_acts_alloc(&a, &dims, B, T, run ? 2 : 1, &err), 0);
        int64_t np;
        tr_forward(&m, &a, tok, tg, B, T, run ? &l2 : &l1, &np);
        tr_backward(&m, &a, tok, tg, B, T, np);
        if (!run) memcpy(g1, m.grads, sizeof(float) * (size_t)m.n_params);
        tr_acts_free(&a);
    }
    ck_assert_msg(fabs(l1 - l2) < 1e-6, "loss 1 thread %.9f, 2 threads %.9f", l1, l2);
    double gmax = 0;
    for (int64_t i = 0; i < m.n_params; i++) gmax = fmax(gmax, fabs(g1[i]));
    ck_assert(tu_check_close("grads 2 threads vs 1", m.grads, g1, (size_t)m.n_params, 1e-4 * gmax));
    free(g1);
    tr_model_free(&m);
}
END_TEST

/* ---------------- the attention kernels at register-block shapes ---------------- */

/* The model-level checks above run heads of width 4 and T = 5, i.e. only the kernels' edge
 * paths.  Here tr_attention_forward/backward run at shapes that use the 8-row x 16-column
 * register blocks and their edges (T = 19: two full row blocks + 3; T = 37; head width 16,
 * and 20 = 16 + a 4-column tail; 3 heads, 2 threads) against a double-precision attention
 * written here: z and the pattern within 2e-6 of max|z| (float rounding of dot products
 * over <= 37 terms of size ~1), and dqkv, the gradient of <z, G> for a random G, against
 * central finite differences of that double attention (h = 1e-4: truncation ~1e-9) within
 * 1e-5 of max|g|. */
static double ref_attention_dot(const double *qkv, const double *G, int B, int T, int H, int d, double *z,
                                double *att)
{
    const int dh = d / H, C3 = 3 * d;
    double out = 0, *s = malloc(sizeof(double) * (size_t)T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const double *q = qkv + ((size_t)b * T + i) * C3 + h * dh;
                double mx = -1e300, sum = 0;
                for (int j = 0; j <= i; j++) {
                    const double *k = qkv + ((size_t)b * T + j) * C3 + d + h * dh;
                    double dot = 0;
                    for (int c = 0; c < dh; c++) dot += q[c] * k[c];
                    s[j] = dot / sqrt((double)dh);
                    if (s[j] > mx) mx = s[j];
                }
                for (int j = 0; j <= i; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
                for (int j = 0; j < T; j++)
                    if (att) att[(((size_t)b * H + h) * T + i) * T + j] = j <= i ? s[j] / sum : 0.0;
                for (int c = 0; c < dh; c++) {
                    double acc = 0;
                    for (int j = 0; j <= i; j++) acc += s[j] / sum * qkv[((size_t)b * T + j) * C3 + 2 * d + h * dh + c];
                    const size_t zi = ((size_t)b * T + i) * d + h * dh + c;
                    if (z) z[zi] = acc;
                    out += acc * G[zi];
                }
            }
    free(s);
    return out;
}

static void attention_check(int B, int T, int H, int d, int nt)
{
    const int C3 = 3 * d, dh = d / H;
    const int64_t Tp = (T + 15) / 16 * 16, nq = (int64_t)B * T * C3, nz = (int64_t)B * T * d;
    tr_rng rng;
    tr_rng_seed(&rng, (uint64_t)(T * 131 + d));
    float *qkv = malloc(sizeof(float) * nq), *z = malloc(sizeof(float) * nz), *G = malloc(sizeof(float) * nz);
    float *att = malloc(sizeof(float) * (size_t)B * H * T * T), *dqkv = malloc(sizeof(float) * nq);
    float *scratch = malloc(sizeof(float) * (size_t)nt * (Tp * Tp + 2 * Tp * dh));
    double *qd = malloc(sizeof(double) * nq), *Gd = malloc(sizeof(double) * nz), *zd = malloc(sizeof(double) * nz);
    double *attd = malloc(sizeof(double) * (size_t)B * H * T * T);
    for (int64_t i = 0; i < nq; i++) qd[i] = qkv[i] = (float)(1.5 * tr_rng_normal(&rng));
    for (int64_t i = 0; i < nz; i++) Gd[i] = G[i] = (float)tr_rng_normal(&rng);
    tr_attention_forward(z, att, qkv, scratch, B, T, H, d, nt);
    ref_attention_dot(qd, Gd, B, T, H, d, zd, attd);
    double zmax = 0, zerr = 0, aerr = 0;
    for (int64_t i = 0; i < nz; i++) { zmax = fmax(zmax, fabs(zd[i])); zerr = fmax(zerr, fabs(z[i] - zd[i])); }
    for (int64_t i = 0; i < (int64_t)B * H * T * T; i++) aerr = fmax(aerr, fabs(att[i] - attd[i]));
    ck_assert_msg(zerr <= 2e-6 * zmax, "T %d d %d H %d: z differs by %.3g (max %.3g)", T, d, H, zerr, zmax);
    ck_assert_msg(aerr <= 2e-6, "T %d d %d H %d: pattern differs by %.3g", T, d, H, aerr);
    memcpy(dqkv, qkv, sizeof(float) * nq);   /* garbage in: every entry must be written */
    tr_attention_backward(dqkv, G, att, qkv, scratch, B, T, H, d, nt);
    double gmax = 0, gerr = 0;
    const double hstep = 1e-4;
    double *fd = malloc(sizeof(double) * nq);
    for (int64_t i = 0; i < nq; i++) {
        const double keep = qd[i];
        qd[i] = keep + hstep;
        const double lp = ref_attention_dot(qd, Gd, B, T, H, d, NULL, NULL);
        qd[i] = keep - hstep;
        const double lm = ref_attention_dot(qd, Gd, B, T, H, d, NULL, NULL);
        qd[i] = keep;
        fd[i] = (lp - lm) / (2 * hstep);
        gmax = fmax(gmax, fabs(fd[i]));
    }
    for (int64_t i = 0; i < nq; i++) {
        gerr = fmax(gerr, fabs(dqkv[i] - fd[i]));
        ck_assert_msg(fabs(dqkv[i] - fd[i]) <= 1e-5 * gmax, "T %d d %d H %d: dqkv[%lld] %.9g, finite differences %.9g",
                      T, d, H, (long long)i, dqkv[i], fd[i]);
    }
    printf("attention kernels B %d T %d H %d dh %d threads %d: |z err|/max %.2e, pattern err %.2e, |dqkv err|/max %.2e\n",
           B, T, H, dh, nt, zerr / zmax, aerr, gerr / gmax);
    free(qkv); free(z); free(G); free(att); free(dqkv); free(scratch); free(qd); free(Gd); free(zd); free(attd); free(fd);
}

START_TEST(test_attention_kernels)
{
    attention_check(2, 19, 2, 32, 1);   /* dh 16 */
    attention_check(1, 37, 3, 60, 2);   /* dh 20 = 16 + 4 */
    attention_check(2, 8, 1, 16, 1);    /* one full block exactly */
}
END_TEST

/* ---------------- AdamW, schedule, clipping against hand-derived values ---------------- */

START_TEST(test_adamw_by_hand)
{
    tr_dims dims = { .n_layer = 1, .n_head = 1, .d_model = 2, .d_mlp = 2, .n_ctx = 2, .vocab = 2, .ln_eps = 1e-5f };
    tr_model m;
    st_err err;
    ck_assert_int_eq(tr_model_init(&m, &dims, &err), 0);
    for (int64_t i = 0; i < m.n_params; i++) { m.params[i] = 1.0f; m.grads[i] = 0.5f; }
    tr_adamw o = { 0.1, 0.9, 0.999, 1e-8, 0.01 };
    tr_adamw_step(&m, &o, 0.1, 1, 1);
    /* step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> update 0.1 * 0.5 / (0.5 + 1e-8) */
    const double upd = 0.1 * 0.5 / (0.5 + 1e-8);
    const int wte = tr_model_find(&m, "wte.weight"), ln = tr_model_find(&m, "ln_f.weight");
    ck_assert_double_eq_tol(m.params[m.tensors[wte].off], 1.0 * (1 - 0.1 * 0.01) - upd, 1e-6);
    ck_assert_double_eq_tol(m.params[m.tensors[ln].off], 1.0 - upd, 1e-6);   /* no decay on gains */
    /* clipping: norm sqrt(n * 0.25); clip to 1 scales by 1 / (norm + 1e-6) */
    for (int64_t i = 0; i < m.n_params; i++) m.grads[i] = 0.5f;
    const double norm = tr_clip_grads(&m, 1.0, 1);
    ck_assert_double_eq_tol(norm, sqrt(0.25 * (double)m.n_params), 1e-9);
    ck_assert_double_eq_tol(m.grads[0], 0.5 / (norm + 1e-6), 1e-7);
    /* schedule */
    ck_assert_double_eq_tol(tr_lr_at(1.0, 1, 10, 110, 0), 0.1, 1e-12);
    ck_assert_double_eq_tol(tr_lr_at(1.0, 1, 10, 110, 9), 1.0, 1e-12);
    ck_assert_double_eq_tol(tr_lr_at(1.0, 1, 10, 110, 10), 1.0, 1e-12);
    ck_assert_double_eq_tol(tr_lr_at(1.0, 1, 10, 110, 60), 0.5, 1e-12);
    ck_assert_double_eq_tol(tr_lr_at(1.0, 0, 10, 110, 60), 1.0, 1e-12);
    tr_model_free(&m);
}
END_TEST

/* ---------------- whole runs through the public API ---------------- */

/* log.jsonl without the tokens_per_s field (wall-clock dependent) */
static char *log_without_speed(const char *path)
{
    size_t n;
    char *s = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(s);
    char *out = malloc(n + 1), *o = out;
    for (char *p = s; *p;) {
        if (!strncmp(p, "\"tokens_per_s\": ", 16)) { while (*p && *p != ',' && *p != '}') p++; continue; }
        *o++ = *p++;
    }
    *o = 0;
    free(s);
    return out;
}

static const char *write_corpus(const char *name, int rows, int vocab, int min_len, int max_len, uint64_t seed)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    FILE *f = fopen(path, "w");
    tr_rng r;
    tr_rng_seed(&r, seed);
    for (int i = 0; i < rows; i++) {
        int len = min_len + (int)(tr_rng_next(&r) % (uint64_t)(max_len - min_len + 1));
        for (int k = 0; k < len; k++) fprintf(f, "%s%d", k ? " " : "", (int)(tr_rng_next(&r) % (uint64_t)vocab));
        fprintf(f, "\n");
    }
    fclose(f);
    return path;
}

static strata_train_opts tiny_opts(const char *out, const char *data)
{
    strata_train_opts o = strata_train_opts_default();
    o.out_dir = out;
    o.input_kind = STRATA_TRAIN_TOKENS;
    o.input_path = data;
    o.n_layer = 2;
    o.n_head = 2;
    o.d_model = 32;
    o.n_ctx = 24;
    o.vocab = 40;
    o.steps = 12;
    o.batch = 4;
    o.lr = 3e-3;
    o.warmup = 3;
    o.save_every = 4;
    o.seed = 5;
    o.n_threads = 2;
    return o;
}

static int train(const strata_train_opts *o, strata_train_cb cb, char *msg, size_t cap)
{
    strata_trainer *t = NULL;
    int rc = strata_trainer_new(o, &t);
    if (rc == STRATA_OK) rc = strata_trainer_run(t, cb, NULL);
    if (msg) snprintf(msg, cap, "%s", strata_trainer_errmsg(t));
    strata_trainer_free(t);
    return rc;
}

static void ckpt_path(char *buf, size_t n, const char *dir, int step, const char *file)
{
    snprintf(buf, n, "%s/step-%d/%s", dir, step, file);
}

START_TEST(test_deterministic)
{
    const char *data = write_corpus("det.txt", 30, 40, 5, 30, 11);
    char a[1024], b[1024], fa[1100], fb[1100], msg[1024];
    snprintf(a, sizeof a, "%s/det-a", tu_tmpdir());
    snprintf(b, sizeof b, "%s/det-b", tu_tmpdir());
    strata_train_opts o = tiny_opts(a, data);
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    o.out_dir = b;
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    const char *files[] = { "model.safetensors", "optimizer.safetensors", "config.json" };
    for (int s = 0; s <= 12; s += 4)
        for (int k = 0; k < 3; k++) {
            ckpt_path(fa, sizeof fa, a, s, files[k]);
            ckpt_path(fb, sizeof fb, b, s, files[k]);
            ck_assert_msg(tu_same_bytes(fa, fb), "%s differs from %s", fa, fb);
        }
    snprintf(fa, sizeof fa, "%s/log.jsonl", a);
    snprintf(fb, sizeof fb, "%s/log.jsonl", b);
    char *la = log_without_speed(fa), *lb = log_without_speed(fb);
    ck_assert_str_eq(la, lb);
    free(la);
    free(lb);
    /* the checkpoint opens in the engine and trained: the loss went down */
    snprintf(fa, sizeof fa, "%s/final", a);
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(fa, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    ck_assert_int_eq(strata_model_config(m)->d_mlp, 128);
    strata_model_free(m);
}
END_TEST

static int kill_at_step_6(void *user, const strata_train_progress *p)
{
    (void)user;
    if (p->step == 6) raise(SIGKILL);   /* a real kill: after step 6's log line, before any save */
    return 0;
}

/* The rows of write_corpus as JSONL {"ids": [...], "ans": [...], "all": [...]}:
 * "ans" is 1 on a random ~40 % of tokens (at least one after the first; null
 * for some of the 0s), "all" is 1 everywhere. */
static const char *write_masked_corpus(const char *name, int rows, int vocab, int min_len, int max_len,
                                       uint64_t seed)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    FILE *f = fopen(path, "w");
    tr_rng r;
    tr_rng_seed(&r, seed);
    for (int i = 0; i < rows; i++) {
        int len = min_len + (int)(tr_rng_next(&r) % (uint64_t)(max_len - min_len + 1));
        int ids[64], ans[64];
        ck_assert_int_le(len, 64);
        int any = 0;
        for (int k = 0; k < len; k++) {
            ids[k] = (int)(tr_rng_next(&r) % (uint64_t)vocab);
            ans[k] = tr_rng_uniform(&r) < 0.4 ? 1 : (tr_rng_uniform(&r) < 0.3 ? -1 : 0);   /* -1: null */
            if (k > 0 && ans[k] == 1) any = 1;
        }
        if (!any) ans[len - 1] = 1;
        fprintf(f, "{\"ids\": [");
        for (int k = 0; k < len; k++) fprintf(f, "%s%d", k ? ", " : "", ids[k]);
        fprintf(f, "], \"ans\": [");
        for (int k = 0; k < len; k++) {
            if (ans[k] < 0) fprintf(f, "%snull", k ? ", " : "");
            else fprintf(f, "%s%d", k ? ", " : "", ans[k]);
        }
        fprintf(f, "], \"all\": [");
        for (int k = 0; k < len; k++) fprintf(f, "%s1", k ? ", " : "");
        fprintf(f, "]}\n");
    }
    fclose(f);
    return path;
}

/* Kills a run after step 6 (checkpoint at 4), resumes it, and compares every
 * later checkpoint and the log with an uninterrupted run. */
static void resume_check(const char *tag, const char *data, int kind, const char *mask)
{
    char a[1024], b[1024], fa[1100], fb[1100], msg[1024];
    snprintf(a, sizeof a, "%s/%s-a", tu_tmpdir(), tag);
    snprintf(b, sizeof b, "%s/%s-b", tu_tmpdir(), tag);
    /* the killed run first, in a child of a process that has not started
     * OpenMP threads (libgomp cannot run in a child forked after that, which
     * is what CK_FORK=no would give) */
    const char *ckf = getenv("CK_FORK");
    if (ckf && !strcmp(ckf, "no")) {
        printf("SKIP test_resume_equals_uninterrupted: needs Check's fork mode (CK_FORK=no set)\n");
        return;
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        strata_train_opts o = tiny_opts(b, data);
        o.input_kind = kind;
        o.loss_mask = mask;
        train(&o, kill_at_step_6, NULL, 0);
        _exit(3);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was not killed (status %d)", status);
    ckpt_path(fb, sizeof fb, b, 4, "model.safetensors");
    ck_assert_int_eq(access(fb, R_OK), 0);
    ckpt_path(fb, sizeof fb, b, 8, "model.safetensors");
    ck_assert_int_ne(access(fb, R_OK), 0);

    strata_train_opts o = tiny_opts(a, data);
    o.input_kind = kind;
    o.loss_mask = mask;
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    /* resume with a changed hyper-parameter is refused, naming it */
    o = tiny_opts(b, data);
    o.input_kind = kind;
    o.loss_mask = mask;
    o.resume = 1;
    o.lr = 1e-3;
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
    ck_assert_msg(strstr(msg, "lr") != NULL, "%s", msg);
    o.lr = 3e-3;
    if (mask) {   /* ... and so is a resume without the loss mask, or with another one */
        o.loss_mask = NULL;
        ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
        ck_assert_msg(strstr(msg, "loss_mask") && strstr(msg, mask), "%s", msg);
        o.loss_mask = "all";
        ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
        ck_assert_msg(strstr(msg, "loss_mask"), "%s", msg);
        o.loss_mask = mask;
    }
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    const char *files[] = { "model.safetensors", "optimizer.safetensors" };
    for (int s = 8; s <= 12; s += 4)
        for (int k = 0; k < 2; k++) {
            ckpt_path(fa, sizeof fa, a, s, files[k]);
            ckpt_path(fb, sizeof fb, b, s, files[k]);
            ck_assert_msg(tu_same_bytes(fa, fb), "resumed %s differs from uninterrupted %s", fb, fa);
        }
    snprintf(fa, sizeof fa, "%s/log.jsonl", a);
    snprintf(fb, sizeof fb, "%s/log.jsonl", b);
    char *la = log_without_speed(fa), *lb = log_without_speed(fb);
    ck_assert_str_eq(la, lb);   /* steps 5, 6 of the killed run were dropped and redone */
    free(la);
    free(lb);
}

START_TEST(test_resume_equals_uninterrupted)
{
    resume_check("res", write_corpus("res.txt", 30, 40, 5, 30, 12), STRATA_TRAIN_TOKENS, NULL);
}
END_TEST

START_TEST(test_resume_masked)
{
    resume_check("resm", write_masked_corpus("resm.jsonl", 30, 40, 5, 30, 13), STRATA_TRAIN_JSONL, "ans");
}
END_TEST

/* --loss-mask: an all-ones mask trains exactly as no mask (every checkpoint
 * byte for byte); a partial mask's first-step loss equals the independent
 * double forward on the targets the mask selects, built here from the file's
 * labels; n_targets counts them. */
START_TEST(test_loss_mask)
{
    const char *data = write_masked_corpus("mask.jsonl", 20, 40, 5, 24, 21);
    char a[1024], b[1024], c[1024], fa[1100], fb[1100], msg[1024];
    snprintf(a, sizeof a, "%s/mask-none", tu_tmpdir());
    snprintf(b, sizeof b, "%s/mask-all", tu_tmpdir());
    snprintf(c, sizeof c, "%s/mask-ans", tu_tmpdir());
    strata_train_opts o = tiny_opts(a, data);
    o.input_kind = STRATA_TRAIN_JSONL;
    o.steps = 8;
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    o.out_dir = b;
    o.loss_mask = "all";
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    const char *files[] = { "model.safetensors", "optimizer.safetensors" };
    for (int s = 4; s <= 8; s += 4)
        for (int k = 0; k < 2; k++) {
            ckpt_path(fa, sizeof fa, a, s, files[k]);
            ckpt_path(fb, sizeof fb, b, s, files[k]);
            ck_assert_msg(tu_same_bytes(fa, fb), "all-ones mask: %s differs from unmasked %s", fb, fa);
        }
    /* the partial mask: read the rows and labels back with jansson (not rows.c) */
    int32_t tok[4][24], tg[4][24];
    int len[4], T = 0, n_all = 0, n_first = 0;
    FILE *f = fopen(data, "r");
    char line[4096];
    for (int i = 0; i < 20 && fgets(line, sizeof line, f); i++) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        json_t *ids = json_object_get(j, "ids"), *ans = json_object_get(j, "ans");
        int n = (int)json_array_size(ids);
        for (int k = 1; k < n; k++) n_all += json_integer_value(json_array_get(ans, k)) == 1;
        if (i < 4) {
            len[i] = n;
            if (n > T) T = n;
            for (int k = 0; k < n; k++) tok[i][k] = (int32_t)json_integer_value(json_array_get(ids, k));
            for (int k = 0; k + 1 < n; k++) {
                int on = json_integer_value(json_array_get(ans, k + 1)) == 1;   /* null: 0 */
                tg[i][k] = on ? tok[i][k + 1] : -1;
                n_first += on;
            }
        }
        json_decref(j);
    }
    fclose(f);
    int32_t *tokens = calloc(4 * (size_t)T, sizeof(int32_t)), *targets = malloc(sizeof(int32_t) * 4 * (size_t)T);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < T; k++) {
            tokens[i * T + k] = k < len[i] ? tok[i][k] : 0;
            targets[i * T + k] = k + 1 < len[i] ? tg[i][k] : -1;
        }
    o.out_dir = c;
    o.loss_mask = "ans";
    strata_trainer *t = NULL;
    ck_assert_msg(strata_trainer_new(&o, &t) == STRATA_OK, "%s", strata_trainer_errmsg(t));
    ck_assert_int_eq(strata_trainer_summary(t)->n_targets, n_all);
    ck_assert_msg(strata_trainer_run(t, NULL, NULL) == STRATA_OK, "%s", strata_trainer_errmsg(t));
    strata_trainer_free(t);
    /* the initial weights, as the trainer draws them (seed 5, std 0.02), in double */
    tr_dims dims = { .n_layer = 2, .n_head = 2, .d_model = 32, .d_mlp = 128, .n_ctx = 24, .vocab = 40,
                     .attn_only = 0, .ln_eps = 1e-5f };
    tr_model m;
    st_err err;
    ck_assert_int_eq(tr_model_init(&m, &dims, &err), 0);
    tr_rng rng;
    tr_rng_seed(&rng, 5);
    tr_model_init_weights(&m, 0.02, &rng);
    double *p = malloc(sizeof(double) * (size_t)m.n_params);
    for (int64_t i = 0; i < m.n_params; i++) p[i] = m.params[i];
    const double ref = ref_loss(&m, p, tokens, targets, 4, T);
    /* step 1's loss from the log */
    snprintf(fa, sizeof fa, "%s/log.jsonl", c);
    size_t n;
    char *log = tu_read_file(fa, &n);
    double l1 = NAN;
    ck_assert_int_eq(sscanf(log, "{\"step\": 1, \"loss\": %lf", &l1), 1);
    ck_assert_msg(fabs(l1 - ref) < 1e-5, "masked step-1 loss %.9f vs double reference %.9f (%d targets)", l1, ref,
                  n_first);
    /* and the masked run trained other weights than the unmasked one */
    ckpt_path(fa, sizeof fa, a, 8, "model.safetensors");
    ckpt_path(fb, sizeof fb, c, 8, "model.safetensors");
    ck_assert_msg(!tu_same_bytes(fa, fb), "the masked run's weights equal the unmasked run's");
    printf("loss mask: step-1 loss %.6f on %d targets (double reference %.6f)\n", l1, n_first, ref);
    free(log);
    free(p);
    free(tokens);
    free(targets);
    tr_model_free(&m);
}
END_TEST

/* Bad loss masks: each names the file, line and label. */
START_TEST(test_loss_mask_bad_input)
{
    char out[1024], msg[1024];
    snprintf(out, sizeof out, "%s/badmask", tu_tmpdir());
    const char *jl = tu_tmpfile("m.jsonl");
    struct { const char *file, *want; } cases[] = {
        { "{\"ids\": [1, 2, 3], \"ans\": [0, 1, 0]}\n{\"ids\": [1, 2]}\n", "m.jsonl:2: no per-token label \"ans\"" },
        { "{\"ids\": [1, 2, 3], \"ans\": [0, 1]}\n", "m.jsonl:1: label \"ans\" has 2 values for 3 ids" },
        { "{\"ids\": [1, 2, 3], \"ans\": [0, 2, 1]}\n", "m.jsonl:1: \"ans\"[1] must be 0, 1 or null" },
        { "{\"ids\": [1, 2, 3], \"ans\": [0, 0.5, 1]}\n", "m.jsonl:1: \"ans\"[1] must be 0, 1 or null" },
        { "{\"ids\": [1, 2, 3], \"ans\": 1}\n", "m.jsonl:1: label \"ans\" is not a per-token list" },
        { "{\"ids\": [1, 2, 3], \"ans\": [1, 0, null]}\n", "m.jsonl:1: label \"ans\" selects no token to predict" },
        { "{\"text\": \"a b\", \"ans\": [0, 1]}\n", "m.jsonl:1: a loss mask needs \"ids\" rows" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(tu_write_file(jl, cases[i].file, strlen(cases[i].file)), 0);
        strata_train_opts o = tiny_opts(out, jl);
        o.input_kind = STRATA_TRAIN_JSONL;
        o.loss_mask = "ans";
        ck_assert_int_ne(train(&o, NULL, msg, sizeof msg), STRATA_OK);
        ck_assert_msg(strstr(msg, cases[i].want), "case %zu: %s (wanted %s)", i, msg, cases[i].want);
        ck_assert_int_ne(access(out, F_OK), 0);   /* nothing created */
    }
    /* a mask whose only 1 lies beyond --seq: the cropped row predicts nothing */
    const char *crop = "{\"ids\": [1, 2, 3, 4, 5, 6], \"ans\": [0, 0, 0, 0, 0, 1]}\n";
    ck_assert_int_eq(tu_write_file(jl, crop, strlen(crop)), 0);
    strata_train_opts o = tiny_opts(out, jl);
    o.input_kind = STRATA_TRAIN_JSONL;
    o.loss_mask = "ans";
    o.seq = 4;
    ck_assert_int_ne(train(&o, NULL, msg, sizeof msg), STRATA_OK);
    ck_assert_msg(strstr(msg, "m.jsonl:1") && strstr(msg, "cropped"), "%s", msg);
    /* the eval file needs the label too */
    const char *ok = "{\"ids\": [1, 2, 3], \"ans\": [0, 0, 1]}\n";
    ck_assert_int_eq(tu_write_file(jl, ok, strlen(ok)), 0);
    const char *ev = tu_tmpfile("ev.jsonl");
    ck_assert_int_eq(tu_write_file(ev, "{\"ids\": [1, 2, 3]}\n", 19), 0);
    o = tiny_opts(out, jl);
    o.input_kind = STRATA_TRAIN_JSONL;
    o.loss_mask = "ans";
    o.eval_path = ev;
    ck_assert_int_ne(train(&o, NULL, msg, sizeof msg), STRATA_OK);
    ck_assert_msg(strstr(msg, "ev.jsonl:1: no per-token label \"ans\""), "%s", msg);
    /* a mask on input without labels, and an empty label name */
    o = tiny_opts(out, write_corpus("plain.txt", 4, 40, 5, 10, 1));
    o.loss_mask = "ans";
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
    ck_assert_msg(strstr(msg, "--loss-mask ans needs --jsonl"), "%s", msg);
    o.input_kind = STRATA_TRAIN_JSONL;
    o.input_path = jl;
    o.loss_mask = "";
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
    ck_assert_msg(strstr(msg, "label name"), "%s", msg);
    ck_assert_int_ne(access(out, F_OK), 0);
}
END_TEST

START_TEST(test_bad_input)
{
    char out[1024], msg[1024], p[1100];
    snprintf(out, sizeof out, "%s/bad", tu_tmpdir());
    /* empty corpus (blank lines only) */
    const char *empty = tu_tmpfile("empty.txt");
    ck_assert_int_eq(tu_write_file(empty, "\n  \n", 4), 0);
    strata_train_opts o = tiny_opts(out, empty);
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_FORMAT);
    ck_assert_msg(strstr(msg, "empty corpus") && strstr(msg, "empty.txt"), "%s", msg);
    ck_assert_int_ne(access(out, F_OK), 0);   /* nothing created */
    /* id >= vocab: names the file and line */
    const char *badid = tu_tmpfile("badid.txt");
    ck_assert_int_eq(tu_write_file(badid, "1 2 3\n4 5 6\n7 40 8\n", 20), 0);
    o = tiny_opts(out, badid);
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_RANGE);
    ck_assert_msg(strstr(msg, "badid.txt:3") && strstr(msg, "40"), "%s", msg);
    /* not a number */
    const char *junk = tu_tmpfile("junk.txt");
    ck_assert_int_eq(tu_write_file(junk, "1 2 x3\n", 7), 0);
    o = tiny_opts(out, junk);
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_FORMAT);
    ck_assert_msg(strstr(msg, "junk.txt:1"), "%s", msg);
    /* a row of one token */
    const char *one = tu_tmpfile("one.txt");
    ck_assert_int_eq(tu_write_file(one, "1 2 3\n5\n", 8), 0);
    o = tiny_opts(out, one);
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_FORMAT);
    ck_assert_msg(strstr(msg, "one.txt:2") && strstr(msg, "at least 2"), "%s", msg);
    /* JSONL: bad id and text without a tokenizer */
    const char *jl = tu_tmpfile("c.jsonl");
    const char *js = "{\"ids\": [1, 2, 3]}\n{\"ids\": [1, -2]}\n";
    ck_assert_int_eq(tu_write_file(jl, js, strlen(js)), 0);
    o = tiny_opts(out, jl);
    o.input_kind = STRATA_TRAIN_JSONL;
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_RANGE);
    ck_assert_msg(strstr(msg, "c.jsonl:2") && strstr(msg, "\"ids\"[1]"), "%s", msg);
    js = "{\"text\": \"hello\"}\n";
    ck_assert_int_eq(tu_write_file(jl, js, strlen(js)), 0);
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
    ck_assert_msg(strstr(msg, "c.jsonl:1") && strstr(msg, "tokenizer"), "%s", msg);
    /* rows longer than --seq are cropped (and counted) */
    const char *longr = write_corpus("long.txt", 6, 40, 30, 40, 3);
    o = tiny_opts(out, longr);
    o.seq = 16;
    o.steps = 2;
    strata_trainer *t = NULL;
    ck_assert_int_eq(strata_trainer_new(&o, &t), STRATA_OK);
    ck_assert_int_eq(strata_trainer_summary(t)->n_cropped, 6);
    ck_assert_int_eq(strata_trainer_run(t, NULL, NULL), STRATA_OK);
    strata_trainer_free(t);
    /* --seq above n_ctx */
    o.seq = 25;
    o.overwrite = 1;
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
    ck_assert_msg(strstr(msg, "n_ctx"), "%s", msg);
    /* an existing run without --overwrite: refused, nothing touched */
    o = tiny_opts(out, longr);
    o.steps = 2;
    ckpt_path(p, sizeof p, out, 2, "model.safetensors");
    size_t n0;
    char *before = tu_read_file(p, &n0);
    ck_assert_ptr_nonnull(before);
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_EXISTS);
    ck_assert_msg(strstr(msg, "--overwrite"), "%s", msg);
    size_t n1;
    char *after = tu_read_file(p, &n1);
    ck_assert(n0 == n1 && !memcmp(before, after, n0));
    free(before);
    free(after);
    o.overwrite = 1;
    ck_assert_msg(train(&o, NULL, msg, sizeof msg) == STRATA_OK, "%s", msg);
    /* --resume where there is nothing */
    char none[1100];
    snprintf(none, sizeof none, "%s/none", tu_tmpdir());
    o = tiny_opts(none, longr);
    o.resume = 1;
    ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_NOTFOUND);
    /* vocabulary mismatch: a GPT-2 tokenizer (50257 tokens) with a 40-token model */
    const char *tokdir = tu_shared_path("tokenizers/gpt2");
    if (tokdir) {
        o = tiny_opts(out, longr);
        o.tokenizer_dir = tokdir;
        o.overwrite = 1;
        ck_assert_int_eq(train(&o, NULL, msg, sizeof msg), STRATA_ERR_ARG);
        ck_assert_msg(strstr(msg, "vocabulary mismatch"), "%s", msg);
    }
}
END_TEST

/* A NaN loss stops the run naming the step; the last checkpoint is intact. */
START_TEST(test_nan_loss)
{
    const char *data = write_corpus("nan.txt", 10, 40, 5, 20, 4);
    char out[1024], msg[1024], p[1100];
    snprintf(out, sizeof out, "%s/nan", tu_tmpdir());
    strata_train_opts o = tiny_opts(out, data);
    o.lr = 1e38;          /* the first update sends weights to ~1e38: the next forward overflows */
    o.clip = 0;
    o.warmup = 0;
    o.save_every = 1;
    o.weight_decay = 0;
    int rc = train(&o, NULL, msg, sizeof msg);
    ck_assert_int_eq(rc, STRATA_ERR_NUMERIC);
    ck_assert_msg(strstr(msg, "step 2") && strstr(msg, "step-1"), "%s", msg);
    ckpt_path(p, sizeof p, out, 1, "model.safetensors");
    strata_model *m = NULL;
    snprintf(p, sizeof p, "%s/step-1", out);
    ck_assert_msg(strata_model_open(p, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    strata_model_free(m);
    snprintf(p, sizeof p, "%s/step-2", out);
    ck_assert_int_ne(access(p, F_OK), 0);
}
END_TEST

/* A full disk while saving: the earlier checkpoint stays, no step-N or
 * temporary folder is left.  Needs a small tmpfs (root); skipped visibly
 * otherwise. */
START_TEST(test_full_disk)
{
    const char *data = write_corpus("disk.txt", 10, 40, 5, 20, 9);
    char mnt[1024], out[1100], msg[1024], p[1200];
    snprintf(mnt, sizeof mnt, "%s/small-fs", tu_tmpdir());
    mkdir(mnt, 0777);
    /* one checkpoint of this model is ~12 bytes per parameter (+ JSON): 2 x 32 x 32 ... = ~30k params */
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=600k") != 0) {
        printf("SKIP test_full_disk: cannot mount a small tmpfs (%s); needs root\n", strerror(errno));
        return;
    }
    snprintf(out, sizeof out, "%s/run", mnt);
    strata_train_opts o = tiny_opts(out, data);
    o.steps = 8;
    o.save_every = 2;
    int rc = train(&o, NULL, msg, sizeof msg);
    printf("full disk: %s\n", msg);
    /* step-0 at least was written and is whole: it opens */
    snprintf(p, sizeof p, "%s/step-0", out);
    strata_model *m = NULL;
    int ok = strata_model_open(p, NULL, &m) == STRATA_OK;
    strata_model_free(m);
    int leftovers = 0, saved = 0;
    for (int s = 0; s <= 8; s++) {
        snprintf(p, sizeof p, "%s/.tmp-step-%d", out, s);
        leftovers += access(p, F_OK) == 0;
        snprintf(p, sizeof p, "%s/step-%d", out, s);
        saved += access(p, F_OK) == 0;
    }
    umount(mnt);   /* before any assertion can end the test */
    ck_assert_int_eq(rc, STRATA_ERR_IO);
    ck_assert_msg(strstr(msg, "write failed") || strstr(msg, "No space"), "%s", msg);
    ck_assert_msg(ok, "step-0 does not open after the failed save");
    ck_assert_msg(saved >= 1 && saved < 5, "%d checkpoints: the disk did not fill up as planned", saved);
    ck_assert_int_eq(leftovers, 0);
}
END_TEST

int main(void)
{
    /* checkpoints fsync every file: on a tmpfs that costs nothing, which keeps
     * this suite at CPU speed on a busy disk (TMPDIR given by the caller wins) */
    struct stat sb;
    if (!getenv("TMPDIR") && stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 0);
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gradients_mlp);
    tcase_add_test(tc, test_gradients_attn_only);
    tcase_add_test(tc, test_gradients_masked_mlp);
    tcase_add_test(tc, test_gradients_masked_attn_only);
    tcase_add_test(tc, test_gradients_threads);
    tcase_add_test(tc, test_attention_kernels);
    tcase_add_test(tc, test_adamw_by_hand);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_resume_equals_uninterrupted);
    tcase_add_test(tc, test_resume_masked);
    tcase_add_test(tc, test_loss_mask);
    tcase_add_test(tc, test_loss_mask_bad_input);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_nan_loss);
    tcase_add_test(tc, test_full_disk);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
