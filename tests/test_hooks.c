/* tests/test_hooks.c — hook semantics and exact interventions.
 *
 * Most tests use a tiny random GPT-2 written by the test (tests/tiny_model.h:
 * d 32, 3 layers, 4 heads, vocab 61, weights std 0.2, weights kept in memory so
 * results can be recomputed by hand); the ablation and patching tests also run
 * on ../shared/models/stories260K (Llama, GQA) when it is present.
 *
 * Covered: zero-ablating a head (hook_z[h]) equals attn_out minus that head's
 * hook_result and equals attn_out recomputed by hand without the head;
 * patching hook_resid_pre at (layer, position) from run A into run B makes
 * B's later activations at that position equal A's and leaves earlier
 * positions alone; hooks fire in forward order (and in order added); removal;
 * a non-zero return stops the run with STRATA_STOPPED; globs that match
 * nothing and bad head selectors fail with a message; hook name <-> (kind,
 * layer, head) round trip for every kind; steering at the last residual
 * stream gives the logits computed by hand; hook_result sums to hook_attn_out
 * minus the bias; editing hook_pattern / hook_attn_scores changes hook_z as
 * the algebra says (also for weight put on keys no query may see); hooks
 * that only read change no result, bit for bit; layers after the last hooked one are skipped without
 * changing anything; the callback context (shape, lengths, tokens,
 * pos_offset during generation); hooks added with STRATA_HOOK_SLICES get
 * scores/patterns in slices (by batch rows, by heads, by query rows) that
 * arrive in order, cover the tensor exactly once and hold the values of the
 * whole tensor bit for bit, with logits unchanged, on 1 and 2 threads;
 * pattern hooks get each row's entropy (checked against the view in double).
 *
 * Tolerances: hand computations are in double against float32 results of
 * magnitude <= ~10: 1e-4 absolute.  Comparisons between two strata runs that
 * differ only by summation order (per-head result sums vs one sgemm): 2e-5.
 * Values that must not change at all are compared bit for bit.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "strata/hooks.h"
#include "strata/model.h"
#include "testutil.h"
#include "tiny_model.h"

#define MAXL 17   /* capture slots: layer + 1 (global points use slot 0) */

/* ---------------- capture helpers ---------------- */

static size_t numel(const strata_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

/* Copies a (possibly strided) view into dst, row-major. */
static void copy_out(const strata_tensor *t, float *dst)
{
    size_t o = 0;
    for (int64_t a = 0; a < t->shape[0]; a++)
        for (int64_t b = 0; b < (t->ndim > 1 ? t->shape[1] : 1); b++)
            for (int64_t c = 0; c < (t->ndim > 2 ? t->shape[2] : 1); c++)
                for (int64_t d = 0; d < (t->ndim > 3 ? t->shape[3] : 1); d++)
                    dst[o++] = t->data[a * t->strides[0] + (t->ndim > 1 ? b * t->strides[1] : 0) +
                                       (t->ndim > 2 ? c * t->strides[2] : 0) +
                                       (t->ndim > 3 ? d * t->strides[3] : 0)];
}

typedef struct cap {
    float *buf[MAXL];
    int64_t shape[4];
    int ndim, calls;
} cap;

static int cap_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    cap *c = user;
    int i = ctx->layer + 1;
    ck_assert(i >= 0 && i < MAXL);
    free(c->buf[i]);
    c->buf[i] = malloc(sizeof(float) * numel(t));
    copy_out(t, c->buf[i]);
    c->ndim = t->ndim;
    for (int k = 0; k < 4; k++) c->shape[k] = t->shape[k];
    c->calls++;
    return 0;
}

static void cap_free(cap *c)
{
    for (int i = 0; i < MAXL; i++) free(c->buf[i]);
    memset(c, 0, sizeof *c);
}

#define L_(c, layer) ((c).buf[(layer) + 1])

static void add(strata_model *m, const char *name, strata_hook_fn fn, void *user)
{
    int rc = strata_hook_add(m, name, fn, user, NULL);
    ck_assert_msg(rc == STRATA_OK, "hook_add %s: %d %s", name, rc, strata_errmsg(m));
}

static int zero_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)ctx; (void)user;
    ck_assert_int_eq(t->shape[2], 1);   /* head view */
    for (int64_t a = 0; a < t->shape[0]; a++)
        for (int64_t b = 0; b < t->shape[1]; b++)
            for (int64_t d = 0; d < t->shape[3]; d++)
                t->data[a * t->strides[0] + b * t->strides[1] + d * t->strides[3]] = 0.0f;
    return 0;
}

/* ---------------- models ---------------- */

enum { TD = 32, TL = 3, TH = 4, TV = 61, TCTX = 128 };

static strata_model *open_tiny(tm_gpt2 **gout)
{
    tm_gpt2 *g = tm_gpt2_new(42, TD, TL, TH, TV, TCTX);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tiny_gpt2", tu_tmpdir());
    ck_assert_int_eq(tm_gpt2_write(g, dir), 0);
    strata_model *m = NULL;
    int rc = strata_model_open(dir, NULL, &m);
    ck_assert_msg(rc == STRATA_OK, "open %s: %s", dir, strata_errmsg(m));
    if (gout) *gout = g;
    else tm_gpt2_free(g);
    return m;
}

static strata_model *open_stories(void)
{
    const char *p = tu_shared_path("models/stories260K/hf");
    if (!p) return NULL;
    strata_model *m = NULL;
    int rc = strata_model_open(p, NULL, &m);
    ck_assert_msg(rc == STRATA_OK, "open %s: %s", p, strata_errmsg(m));
    return m;
}

/* B sequences of length up to T with deterministic tokens < V. */
static void make_tokens(int32_t *toks, int B, int T, int V, uint64_t seed)
{
    tm_rng r = { seed };
    for (int i = 0; i < B * T; i++) toks[i] = (int32_t)(tm_next(&r) % (uint64_t)V);
}

/* ---------------- ablation ---------------- */

/* Zero-ablating head h of layer l through hook_z[h]:
 *   attn_out' = attn_out - result[:, :, h, :]          (per-head decomposition)
 *   attn_out' = sum_{h' != h} z_h' . W_O[h'] + b_O      (by hand, tiny model only)
 * and nothing before layer l changes. */
static void check_ablation(strata_model *m, int l, int h, const tm_gpt2 *g)
{
    const strata_config *c = strata_model_config(m);
    const int B = 2, T = 9, d = c->d_model, H = c->n_heads, dh = c->d_head;
    int32_t toks[2 * 9], lens[2] = { 9, 5 };
    make_tokens(toks, B, T, c->vocab_size, 7);
    char nm[128];
    cap res = { 0 }, ao = { 0 }, pre = { 0 }, z = { 0 }, ao2 = { 0 }, pre2 = { 0 };
    snprintf(nm, sizeof nm, "blocks.%d.attn.hook_result", l); add(m, nm, cap_fn, &res);
    snprintf(nm, sizeof nm, "blocks.%d.hook_attn_out", l); add(m, nm, cap_fn, &ao);
    snprintf(nm, sizeof nm, "blocks.%d.attn.hook_z", l); add(m, nm, cap_fn, &z);
    add(m, "blocks.*.hook_resid_pre", cap_fn, &pre);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    ck_assert_int_eq(res.shape[2], H);
    ck_assert_int_eq(res.shape[3], d);
    strata_hook_clear(m);

    snprintf(nm, sizeof nm, "blocks.%d.attn.hook_z[%d]", l, h); add(m, nm, zero_fn, NULL);
    snprintf(nm, sizeof nm, "blocks.%d.hook_attn_out", l); add(m, nm, cap_fn, &ao2);
    add(m, "blocks.*.hook_resid_pre", cap_fn, &pre2);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);

    for (int k = 0; k <= l; k++)   /* upstream of the ablation: bit for bit */
        ck_assert(!memcmp(L_(pre, k), L_(pre2, k), sizeof(float) * B * T * d));
    double max_diff = 0, max_change = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lens[b]; t++)
            for (int j = 0; j < d; j++) {
                size_t i = ((size_t)b * T + t) * d + j;
                double want = L_(ao, l)[i] - L_(res, l)[(((size_t)b * T + t) * H + h) * d + j];
                max_diff = fmax(max_diff, fabs(want - L_(ao2, l)[i]));
                max_change = fmax(max_change, fabs(L_(ao, l)[i] - L_(ao2, l)[i]));
            }
    ck_assert_msg(max_diff <= 2e-5, "ablation vs attn_out - result: max diff %g", max_diff);
    ck_assert_msg(max_change > 1e-2, "ablating head %d changed nothing (%g)", h, max_change);

    if (g) {   /* by hand: W_O = c_proj [in = H*dh][out = d] */
        double worst = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lens[b]; t++)
                for (int j = 0; j < d; j++) {
                    double acc = g->proj_b[l][j];
                    for (int hh = 0; hh < H; hh++) {
                        if (hh == h) continue;
                        for (int e = 0; e < dh; e++)
                            acc += (double)L_(z, l)[(((size_t)b * T + t) * H + hh) * dh + e] *
                                   g->proj_w[l][(size_t)(hh * dh + e) * d + j];
                    }
                    worst = fmax(worst, fabs(acc - L_(ao2, l)[((size_t)b * T + t) * d + j]));
                }
        ck_assert_msg(worst <= 1e-4, "ablation vs hand-computed attn_out: max diff %g", worst);
    }
    cap_free(&res); cap_free(&ao); cap_free(&pre); cap_free(&z); cap_free(&ao2); cap_free(&pre2);
    strata_hook_clear(m);
}

START_TEST(ablate_head_tiny)
{
    tm_gpt2 *g;
    strata_model *m = open_tiny(&g);
    check_ablation(m, 1, 2, g);
    check_ablation(m, 0, 0, g);
    strata_model_free(m);
    tm_gpt2_free(g);
}
END_TEST

START_TEST(ablate_head_stories)
{
    strata_model *m = open_stories();
    if (!m) return;
    check_ablation(m, 2, 5, NULL);
    check_ablation(m, 4, 0, NULL);
    strata_model_free(m);
}
END_TEST

/* ---------------- activation patching ---------------- */

struct patch { const float *src; int p, T, d; };

static int patch_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    struct patch *pa = user;
    ck_assert_int_eq(t->shape[1], pa->T);
    memcpy(t->data + (int64_t)pa->p * t->strides[1], pa->src + (size_t)pa->p * pa->d, sizeof(float) * pa->d);
    return 0;
}

/* A and B share tokens before p and differ from p on.  Copying A's
 * resid_pre[l][p] into B makes every later resid_post at p equal A's, and
 * nothing at positions < p or layers < l moves. */
static void check_patching(strata_model *m, int l, int p)
{
    const strata_config *c = strata_model_config(m);
    const int T = 10, d = c->d_model, L = c->n_layers;
    int32_t a[10], b[10], len = T;
    make_tokens(a, 1, T, c->vocab_size, 11);
    memcpy(b, a, sizeof a);
    for (int t = p; t < T; t++) b[t] = (a[t] + 1 + t) % c->vocab_size;
    cap preA = { 0 }, postA = { 0 }, postB = { 0 }, postP = { 0 };
    add(m, "blocks.*.hook_resid_pre", cap_fn, &preA);
    add(m, "blocks.*.hook_resid_post", cap_fn, &postA);
    ck_assert_int_eq(strata_run(m, a, &len, 1, NULL), STRATA_OK);
    strata_hook_clear(m);
    add(m, "blocks.*.hook_resid_post", cap_fn, &postB);
    ck_assert_int_eq(strata_run(m, b, &len, 1, NULL), STRATA_OK);
    strata_hook_clear(m);
    struct patch pa = { L_(preA, l), p, T, d };
    char nm[64];
    snprintf(nm, sizeof nm, "blocks.%d.hook_resid_pre", l);
    add(m, nm, patch_fn, &pa);
    add(m, "blocks.*.hook_resid_post", cap_fn, &postP);
    ck_assert_int_eq(strata_run(m, b, &len, 1, NULL), STRATA_OK);
    strata_hook_clear(m);

    for (int k = 0; k < L; k++) {
        const float *A = L_(postA, k), *Bu = L_(postB, k), *P = L_(postP, k);
        if (k < l) {  /* upstream: untouched */
            ck_assert(!memcmp(P, Bu, sizeof(float) * T * d));
            continue;
        }
        /* positions < p: same tokens in A and B, untouched by the patch */
        ck_assert(!memcmp(P, Bu, sizeof(float) * p * d));
        ck_assert(tu_check_close("patched positions < p vs A", P, A, (size_t)p * d, 1e-6));
        /* position p: everything it depends on (positions <= p, layer >= l) is A's now */
        ck_assert_msg(tu_check_close("patched position p vs A", P + (size_t)p * d, A + (size_t)p * d, d, 1e-6),
                      "layer %d: patched resid_post at p differs from run A", k);
        ck_assert_msg(tu_max_abs_diff(Bu + (size_t)p * d, A + (size_t)p * d, d) > 1e-2,
                      "runs A and B agree at p without the patch: test is vacuous");
    }
    cap_free(&preA); cap_free(&postA); cap_free(&postB); cap_free(&postP);
}

START_TEST(patch_resid_pre_tiny)
{
    strata_model *m = open_tiny(NULL);
    check_patching(m, 1, 4);
    check_patching(m, 0, 0);
    check_patching(m, 2, 9);
    strata_model_free(m);
}
END_TEST

START_TEST(patch_resid_pre_stories)
{
    strata_model *m = open_stories();
    if (!m) return;
    check_patching(m, 2, 4);
    check_patching(m, 0, 7);
    strata_model_free(m);
}
END_TEST

/* ---------------- order, removal, stop, errors ---------------- */

struct log { int n; int kind[4096], layer[4096], tag[4096]; };

static int log_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    struct log *lg = user;
    ck_assert_int_lt(lg->n, 4096);
    lg->kind[lg->n] = ctx->kind;
    lg->layer[lg->n] = ctx->layer;
    lg->tag[lg->n++] = 0;
    return 0;
}

struct tagged { struct log *lg; int tag; };
static int tag_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    struct tagged *tg = user;
    log_fn(t, ctx, tg->lg);
    tg->lg->tag[tg->lg->n - 1] = tg->tag;
    return 0;
}

static void check_order(strata_model *m)
{
    const strata_config *c = strata_model_config(m);
    struct log *lg = calloc(1, sizeof *lg);
    add(m, "*", log_fn, lg);
    int32_t toks[6], len = 6;
    make_tokens(toks, 1, 6, c->vocab_size, 3);
    float *logits = malloc(sizeof(float) * 6 * c->vocab_size);
    ck_assert_int_eq(strata_run(m, toks, &len, 1, logits), STRATA_OK);
    int n = strata_model_n_hook_points(m);
    ck_assert_int_eq(lg->n, n);   /* every point fired exactly once ... */
    for (int i = 0; i < n; i++) { /* ... in the enumeration's (forward) order */
        int k, l;
        char name[128];
        ck_assert_int_eq(strata_model_hook_point(m, i, &k, &l, name, sizeof name), STRATA_OK);
        ck_assert_msg(lg->kind[i] == k && lg->layer[i] == l, "call %d: got kind %d layer %d, want %s",
                      i, lg->kind[i], lg->layer[i], name);
    }
    /* forward order is also dataflow order: resid_pre < attn_out < mlp_out < resid_post < next layer */
    int last_kind = -1, last_layer = -1;
    for (int i = 0; i < n; i++) {
        if (lg->layer[i] >= 0) {
            ck_assert(lg->layer[i] > last_layer || (lg->layer[i] == last_layer && lg->kind[i] > last_kind));
            last_layer = lg->layer[i];
            last_kind = lg->kind[i];
        }
    }
    ck_assert_int_eq(lg->kind[n - 1], STRATA_HOOK_LOGITS);
    strata_hook_clear(m);
    /* several hooks on one point: in the order they were added */
    lg->n = 0;
    struct tagged t1 = { lg, 1 }, t2 = { lg, 2 }, t3 = { lg, 3 };
    add(m, "blocks.0.hook_resid_pre", tag_fn, &t2);
    add(m, "blocks.0.hook_resid_pre", tag_fn, &t1);
    add(m, "blocks.0.*", tag_fn, &t3);
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_ge(lg->n, 3);
    ck_assert_int_eq(lg->tag[0], 2);
    ck_assert_int_eq(lg->tag[1], 1);
    ck_assert_int_eq(lg->tag[2], 3);
    ck_assert_int_eq(lg->kind[2], STRATA_HOOK_RESID_PRE);
    strata_hook_clear(m);
    free(lg);
    free(logits);
}

START_TEST(hooks_fire_in_forward_order)
{
    strata_model *m = open_tiny(NULL);
    check_order(m);
    strata_model_free(m);
    m = open_stories();   /* Llama adds rot_q/rot_k and mlp.hook_pre_linear */
    if (m) check_order(m);
    strata_model_free(m);
}
END_TEST

static int count_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (*(int *)user)++;
    return 0;
}

START_TEST(hook_remove_and_clear)
{
    strata_model *m = open_tiny(NULL);
    int32_t toks[5] = { 1, 2, 3, 4, 5 }, len = 5;
    int n1 = 0, n2 = 0;
    strata_hook_id id1, id2;
    ck_assert_int_eq(strata_hook_add(m, "blocks.*.hook_resid_post", count_fn, &n1, &id1), STRATA_OK);
    ck_assert_int_eq(strata_hook_add(m, "hook_embed", count_fn, &n2, &id2), STRATA_OK);
    ck_assert_int_ne(id1, id2);
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_eq(n1, TL);
    ck_assert_int_eq(n2, 1);
    ck_assert_int_eq(strata_hook_remove(m, id1), STRATA_OK);   /* removes all its points */
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_eq(n1, TL);
    ck_assert_int_eq(n2, 2);
    ck_assert_int_eq(strata_hook_remove(m, id1), STRATA_ERR_NOTFOUND);
    ck_assert_int_eq(strata_hook_remove(m, 12345), STRATA_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "12345"));
    strata_hook_clear(m);
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_eq(n2, 2);
    ck_assert_int_eq(strata_hook_remove(NULL, 1), STRATA_ERR_ARG);
    strata_hook_clear(NULL);
    strata_model_free(m);
}
END_TEST

static int stop_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (*(int *)user)++;
    return 7;
}

START_TEST(hook_stops_run)
{
    strata_model *m = open_tiny(NULL);
    int32_t toks[6] = { 3, 1, 4, 1, 5, 9 }, len = 6;
    float *ref = malloc(sizeof(float) * 6 * TV), *got = malloc(sizeof(float) * 6 * TV);
    ck_assert_int_eq(strata_run(m, toks, &len, 1, ref), STRATA_OK);
    const char *stops[] = { "blocks.1.hook_resid_pre", "blocks.0.attn.hook_attn_scores",
                            "blocks.2.attn.hook_pattern", "blocks.1.attn.hook_z[3]",
                            "ln_final.hook_normalized", "hook_logits", "hook_embed" };
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        int n_stop = 0, n_after = 0;
        add(m, stops[i], stop_fn, &n_stop);
        add(m, "hook_logits", count_fn, &n_after);   /* after every stop point, or the stop itself */
        int rc = strata_run(m, toks, &len, 1, got);
        ck_assert_msg(rc == STRATA_STOPPED, "%s: rc %d", stops[i], rc);
        ck_assert_int_eq(n_stop, 1);
        ck_assert_int_eq(n_after, 0);
        char base[64];
        snprintf(base, sizeof base, "%s", stops[i]);
        char *br = strchr(base, '[');
        if (br) *br = 0;
        ck_assert_msg(strstr(strata_errmsg(m), base) != NULL, "message '%s' lacks '%s'", strata_errmsg(m), base);
        strata_hook_clear(m);
        /* the handle is fine afterwards */
        ck_assert_int_eq(strata_run(m, toks, &len, 1, got), STRATA_OK);
        ck_assert(!memcmp(got, ref, sizeof(float) * 6 * TV));
    }
    /* a stop during generation */
    int n_stop = 0;
    int32_t out[4];
    add(m, "blocks.0.hook_resid_post", stop_fn, &n_stop);
    ck_assert_int_eq(strata_generate(m, toks, 3, 4, out), STRATA_STOPPED);
    ck_assert_int_eq(n_stop, 1);
    free(ref);
    free(got);
    strata_model_free(m);
}
END_TEST

START_TEST(glob_matching_nothing)
{
    strata_model *m = open_tiny(NULL);
    const char *bad[] = { "blocks.*.hook_nonsense", "blocks.3.hook_resid_post", "hook_rot_q",
                          "blocks.0.attn.hook_rot_q", "blocks.0.mlp.hook_pre_linear", "resid_post", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = 0;
        int rc = strata_hook_add(m, bad[i], count_fn, &n, NULL);
        ck_assert_msg(rc == STRATA_ERR_NOTFOUND, "'%s': rc %d", bad[i], rc);
        const char *msg = strata_errmsg(m);
        ck_assert_msg(strstr(msg, bad[i]) && strstr(msg, "hook_embed") && strstr(msg, "blocks.0.hook_resid_pre"),
                      "message should name the pattern and list valid names: %s", msg);
    }
    /* nothing was registered */
    int n = 0;
    int32_t toks[3] = { 1, 2, 3 }, len = 3;
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_eq(strata_hook_add(m, NULL, count_fn, &n, NULL), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_hook_add(m, "hook_embed", NULL, &n, NULL), STRATA_ERR_ARG);
    strata_model_free(m);
    m = open_stories();   /* Llama: no positional embedding, no bias, has rot/pre_linear */
    if (m) {
        ck_assert_int_eq(strata_hook_add(m, "hook_pos_embed", count_fn, &n, NULL), STRATA_ERR_NOTFOUND);
        ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_rot_q", count_fn, &n, NULL), STRATA_OK);
    }
    strata_model_free(m);
}
END_TEST

START_TEST(head_selector_errors)
{
    strata_model *m = open_tiny(NULL);
    int n = 0;
    ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_z[4]", count_fn, &n, NULL), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "head 4"));
    ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_pattern[99]", count_fn, &n, NULL), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_hook_add(m, "blocks.0.hook_resid_pre[0]", count_fn, &n, NULL), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "no head axis"));
    ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_z[x]", count_fn, &n, NULL), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_z[-1]", count_fn, &n, NULL), STRATA_ERR_ARG);
    /* a glob with a head selector takes the kinds that have heads, skipping the rest */
    ck_assert_int_eq(strata_hook_add(m, "blocks.*.attn.hook_*[3]", count_fn, &n, NULL), STRATA_OK);
    ck_assert_int_eq(strata_hook_add(m, "blocks.*.hook_resid_*[3]", count_fn, &n, NULL), STRATA_ERR_NOTFOUND);
    int32_t toks[4] = { 1, 2, 3, 4 }, len = 4;
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_eq(n, TL * 7);   /* q k v scores pattern z result, per layer */
    strata_model_free(m);
    m = open_stories();   /* GQA: k/v heads are kv heads (4), q heads 8 */
    if (m) {
        ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_k[4]", count_fn, &n, NULL), STRATA_ERR_RANGE);
        /* a glob that fails part-way (hook_q has head 6, hook_k does not) registers nothing */
        int n_bad = 0, n_good = 0;
        strata_hook_id id_good;
        ck_assert_int_eq(strata_hook_add(m, "blocks.*.attn.hook_*[6]", count_fn, &n_bad, NULL), STRATA_ERR_RANGE);
        ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_rot_k[3]", count_fn, &n_good, &id_good), STRATA_OK);
        ck_assert_int_eq(strata_hook_add(m, "blocks.0.attn.hook_q[7]", count_fn, &n_good, NULL), STRATA_OK);
        int32_t st[4] = { 1, 2, 3, 4 }, sl = 4;
        ck_assert_int_eq(strata_run(m, st, &sl, 1, NULL), STRATA_OK);
        ck_assert_int_eq(n_bad, 0);
        ck_assert_int_eq(n_good, 2);
        ck_assert_int_eq(strata_hook_remove(m, id_good), STRATA_OK);
        ck_assert_int_eq(strata_run(m, st, &sl, 1, NULL), STRATA_OK);
        ck_assert_int_eq(n_bad, 0);
        ck_assert_int_eq(n_good, 3);
    }
    strata_model_free(m);
}
END_TEST

START_TEST(hook_name_parse_round_trip)
{
    const char *seen[STRATA_HOOK_KIND_COUNT];
    for (int k = 0; k < STRATA_HOOK_KIND_COUNT; k++) {
        const char *suffix = strata_hook_kind_name(k);
        ck_assert_ptr_nonnull(suffix);
        for (int j = 0; j < k; j++) ck_assert_str_ne(seen[j], suffix);
        seen[k] = suffix;
        char name[128], withhead[140];
        int per_layer = strata_hook_name(k, 0, name, sizeof name) > 0 && !strncmp(name, "blocks.", 7);
        int layers[3] = { 0, 7, 123 };
        for (int li = 0; li < (per_layer ? 3 : 1); li++) {
            int layer = per_layer ? layers[li] : -1;
            int len = strata_hook_name(k, layer, name, sizeof name);
            ck_assert_int_eq(len, (int)strlen(name));
            ck_assert_ptr_nonnull(strstr(name, suffix));
            int kk = -9, ll = -9, hh = -9;
            ck_assert_msg(strata_hook_parse(name, &kk, &ll, &hh) == STRATA_OK, "parse %s", name);
            ck_assert_int_eq(kk, k);
            ck_assert_int_eq(ll, layer);
            ck_assert_int_eq(hh, -1);
            snprintf(withhead, sizeof withhead, "%s[3]", name);
            int rc = strata_hook_parse(withhead, &kk, &ll, &hh);
            int has_heads = k == STRATA_HOOK_ATTN_Q || k == STRATA_HOOK_ATTN_K || k == STRATA_HOOK_ATTN_V ||
                            k == STRATA_HOOK_ATTN_ROT_Q || k == STRATA_HOOK_ATTN_ROT_K ||
                            k == STRATA_HOOK_ATTN_SCORES || k == STRATA_HOOK_ATTN_PATTERN ||
                            k == STRATA_HOOK_ATTN_Z || k == STRATA_HOOK_ATTN_RESULT;
            if (has_heads) {
                ck_assert_int_eq(rc, STRATA_OK);
                ck_assert_int_eq(kk, k);
                ck_assert_int_eq(ll, layer);
                ck_assert_int_eq(hh, 3);
            } else {
                ck_assert_msg(rc == STRATA_ERR_ARG, "%s parsed", withhead);
            }
        }
        if (per_layer) {   /* a per-layer kind without a layer, or global with one */
            ck_assert_int_eq(strata_hook_parse(suffix, NULL, NULL, NULL), STRATA_ERR_ARG);
        } else {
            snprintf(name, sizeof name, "blocks.0.%s", suffix);
            ck_assert_int_eq(strata_hook_parse(name, NULL, NULL, NULL), STRATA_ERR_ARG);
        }
    }
    const char *bad[] = { "", "blocks.x.hook_resid_pre", "blocks..hook_resid_pre", "blocks.-1.hook_resid_pre",
                          "blocks.0.hook_resid_pre.", "blocks.0.attn.hook_z[", "blocks.0.attn.hook_z[]",
                          "blocks.0.attn.hook_z[1x]", "hook_nothing", "blocks.0.hook_resid_pre extra" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(strata_hook_parse(bad[i], NULL, NULL, NULL) == STRATA_ERR_ARG, "'%s' parsed", bad[i]);
    ck_assert_int_eq(strata_hook_parse(NULL, NULL, NULL, NULL), STRATA_ERR_ARG);
    char small[8];
    ck_assert_int_eq(strata_hook_name(STRATA_HOOK_RESID_POST, 3, small, sizeof small), -1);
    ck_assert_int_eq(strata_hook_name(STRATA_HOOK_KIND_COUNT, 0, small, sizeof small), -1);
    ck_assert_int_eq(strata_hook_name(-1, 0, small, sizeof small), -1);
    ck_assert_ptr_null(strata_hook_kind_name(STRATA_HOOK_KIND_COUNT));
    /* names match TransformerLens */
    char name[128];
    strata_hook_name(STRATA_HOOK_ATTN_PATTERN, 3, name, sizeof name);
    ck_assert_str_eq(name, "blocks.3.attn.hook_pattern");
    strata_hook_name(STRATA_HOOK_LN1_SCALE, 0, name, sizeof name);
    ck_assert_str_eq(name, "blocks.0.ln1.hook_scale");
    strata_hook_name(STRATA_HOOK_LN_FINAL_NORMALIZED, -1, name, sizeof name);
    ck_assert_str_eq(name, "ln_final.hook_normalized");
}
END_TEST

/* ---------------- steering and decompositions ---------------- */

struct steer { const float *v; int d; };

static int steer_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    struct steer *s = user;
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t p = 0; p < ctx->lengths[b]; p++)
            for (int j = 0; j < s->d; j++) t->data[b * t->strides[0] + p * t->strides[1] + j] += s->v[j];
    return 0;
}

/* Adding v to the last resid_post: logits = LN_f(x + v) . W_E^T, by hand. */
START_TEST(steering_last_layer)
{
    tm_gpt2 *g;
    strata_model *m = open_tiny(&g);
    const int B = 2, T = 8, d = TD, V = TV;
    int32_t toks[16], lens[2] = { 8, 3 };
    make_tokens(toks, B, T, V, 5);
    tm_rng r = { 99 };
    float v[TD];
    for (int j = 0; j < d; j++) v[j] = tm_normal(&r);
    cap x = { 0 };
    add(m, "blocks.2.hook_resid_post", cap_fn, &x);
    float *l0 = malloc(sizeof(float) * B * T * V), *l1 = malloc(sizeof(float) * B * T * V),
          *l2 = malloc(sizeof(float) * B * T * V);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l0), STRATA_OK);
    strata_hook_clear(m);
    struct steer s = { v, d };
    add(m, "blocks.2.hook_resid_post", steer_fn, &s);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);
    double worst = 0, change = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lens[b]; t++) {
            double xs[TD], n[TD];
            const float *xr = L_(x, 2) + ((size_t)b * T + t) * d;
            for (int j = 0; j < d; j++) xs[j] = (double)xr[j] + v[j];
            tm_layer_norm(xs, g->lnf_w, g->lnf_b, d, n);
            for (int k = 0; k < V; k++) {
                double acc = 0;
                for (int j = 0; j < d; j++) acc += n[j] * g->wte[(size_t)k * d + j];
                size_t i = ((size_t)b * T + t) * V + k;
                worst = fmax(worst, fabs(acc - l1[i]));
                change = fmax(change, fabs((double)l1[i] - l0[i]));
            }
        }
    ck_assert_msg(worst <= 1e-4, "steered logits vs by hand: max diff %g", worst);
    ck_assert_msg(change > 0.1, "steering changed nothing (%g)", change);
    /* resid_post of layer 1 is resid_pre of layer 2: steering either gives the same logits */
    strata_hook_clear(m);
    add(m, "blocks.1.hook_resid_post", steer_fn, &s);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);
    strata_hook_clear(m);
    add(m, "blocks.2.hook_resid_pre", steer_fn, &s);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l2), STRATA_OK);
    for (int b = 0; b < B; b++)
        ck_assert(!memcmp(l1 + (size_t)b * T * V, l2 + (size_t)b * T * V, sizeof(float) * lens[b] * V));
    cap_free(&x);
    free(l0); free(l1); free(l2);
    strata_model_free(m);
    tm_gpt2_free(g);
}
END_TEST

/* sum_h hook_result[h] + b_O == hook_attn_out, and result[h] == z_h . W_O[h] by hand. */
static void check_result_sum(strata_model *m, const tm_gpt2 *g)
{
    const strata_config *c = strata_model_config(m);
    const int B = 2, T = 7, d = c->d_model, H = c->n_heads, dh = c->d_head, L = c->n_layers;
    int32_t toks[14], lens[2] = { 7, 4 };
    make_tokens(toks, B, T, c->vocab_size, 21);
    cap res = { 0 }, ao = { 0 }, z = { 0 };
    add(m, "blocks.*.attn.hook_result", cap_fn, &res);
    add(m, "blocks.*.hook_attn_out", cap_fn, &ao);
    add(m, "blocks.*.attn.hook_z", cap_fn, &z);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    for (int l = 0; l < L; l++) {
        double worst = 0, worst_hand = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lens[b]; t++)
                for (int j = 0; j < d; j++) {
                    size_t row = (size_t)b * T + t;
                    double s = g ? g->proj_b[l][j] : 0;
                    for (int h = 0; h < H; h++) {
                        double rj = L_(res, l)[(row * H + h) * d + j];
                        s += rj;
                        if (g) {
                            double hand = 0;
                            for (int e = 0; e < dh; e++)
                                hand += (double)L_(z, l)[(row * H + h) * dh + e] * g->proj_w[l][(size_t)(h * dh + e) * d + j];
                            worst_hand = fmax(worst_hand, fabs(hand - rj));
                        }
                    }
                    worst = fmax(worst, fabs(s - L_(ao, l)[row * d + j]));
                }
        ck_assert_msg(worst <= 2e-5, "layer %d: sum of hook_result + b_O vs hook_attn_out: %g", l, worst);
        ck_assert_msg(worst_hand <= 1e-4, "layer %d: hook_result vs by hand: %g", l, worst_hand);
    }
    strata_hook_clear(m);
    /* without hook_result the output (single sgemm) agrees with the per-head sum */
    cap ao2 = { 0 };
    add(m, "blocks.*.hook_attn_out", cap_fn, &ao2);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    for (int l = 0; l < L; l++)
        for (int b = 0; b < B; b++)
            ck_assert(tu_check_close("attn_out with/without hook_result", L_(ao2, l) + (size_t)b * T * d,
                                     L_(ao, l) + (size_t)b * T * d, (size_t)lens[b] * d, 2e-5 * (l + 1)));
    strata_hook_clear(m);
    cap_free(&res); cap_free(&ao); cap_free(&z); cap_free(&ao2);
}

START_TEST(result_sums_to_attn_out)
{
    tm_gpt2 *g;
    strata_model *m = open_tiny(&g);
    check_result_sum(m, g);
    strata_model_free(m);
    tm_gpt2_free(g);
    m = open_stories();
    if (m) check_result_sum(m, NULL);
    strata_model_free(m);
}
END_TEST

/* Editing the pattern of head 1 to attend only to key 0 makes z[t, 1] = v[0, 1]
 * for every query t; editing the scores to -inf except key 0 does the same. */
static int onehot_pattern_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    ck_assert_int_eq(t->shape[1], 1);
    ck_assert_int_eq(ctx->head, 1);
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t q = 0; q < ctx->lengths[b]; q++)
            for (int64_t k = 0; k < t->shape[3]; k++)
                t->data[b * t->strides[0] + q * t->strides[2] + k * t->strides[3]] = k == 0 ? 1.0f : 0.0f;
    return 0;
}

static int first_key_scores_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t q = 0; q < ctx->lengths[b]; q++)
            for (int64_t k = 1; k < t->shape[3]; k++)
                t->data[b * t->strides[0] + q * t->strides[2] + k * t->strides[3]] = -INFINITY;
    return 0;
}

/* Weight on a key no real query may see (here a padding key of sequence 1)
 * still counts when a hook puts it there: z[b=1, t=0, head 1] = v[1, 5, 1]. */
static int padding_key_pattern_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    float *row = t->data + 1 * t->strides[0];   /* sequence 1, query 0, head view */
    for (int64_t k = 0; k < t->shape[3]; k++) row[k * t->strides[3]] = k == 5 ? 1.0f : 0.0f;
    return 0;
}

START_TEST(pattern_and_score_edits)
{
    strata_model *m = open_tiny(NULL);
    const int B = 2, T = 6, H = TH, dh = TD / TH;
    int32_t toks[12], lens[2] = { 6, 4 };
    make_tokens(toks, B, T, TV, 8);
    cap v = { 0 }, z0 = { 0 };
    add(m, "blocks.1.attn.hook_v", cap_fn, &v);
    add(m, "blocks.1.attn.hook_z", cap_fn, &z0);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    strata_hook_clear(m);
    strata_hook_fn fns[2] = { onehot_pattern_fn, first_key_scores_fn };
    const char *names[2] = { "blocks.1.attn.hook_pattern[1]", "blocks.1.attn.hook_attn_scores[1]" };
    for (int i = 0; i < 2; i++) {
        cap z = { 0 };
        add(m, names[i], fns[i], NULL);
        add(m, "blocks.1.attn.hook_z", cap_fn, &z);
        ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lens[b]; t++)
                for (int h = 0; h < H; h++) {
                    const float *got = L_(z, 1) + (((size_t)b * T + t) * H + h) * dh;
                    const float *want = h == 1 ? L_(v, 1) + (((size_t)b * T + 0) * H + h) * dh
                                               : L_(z0, 1) + (((size_t)b * T + t) * H + h) * dh;
                    ck_assert_msg(tu_check_close(names[i], got, want, dh, 1e-6), "b %d t %d h %d", b, t, h);
                }
        strata_hook_clear(m);
        cap_free(&z);
    }
    /* a padding key (sequence 1 has length 4 < T = 6) */
    cap z = { 0 };
    add(m, "blocks.1.attn.hook_pattern[1]", padding_key_pattern_fn, NULL);
    add(m, "blocks.1.attn.hook_z", cap_fn, &z);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    ck_assert(tu_check_close("pattern on a padding key", L_(z, 1) + (((size_t)1 * T + 0) * H + 1) * dh,
                             L_(v, 1) + (((size_t)1 * T + 5) * H + 1) * dh, dh, 1e-6));
    strata_hook_clear(m);
    cap_free(&z);
    cap_free(&v); cap_free(&z0);
    strata_model_free(m);
}
END_TEST

/* Hooks that only read change nothing, bit for bit: hooking scores/patterns
 * switches attention to its materialised path, which must compute exactly
 * what the fused path does. */
static void check_read_only(strata_model *m)
{
    const strata_config *c = strata_model_config(m);
    const int B = 3, T = 70, V = c->vocab_size;   /* > 64 rows: two query blocks */
    int32_t *toks = malloc(sizeof(int32_t) * B * T), lens[3] = { 70, 33, 65 };
    make_tokens(toks, B, T, V, 17);
    float *l0 = malloc(sizeof(float) * B * T * V), *l1 = malloc(sizeof(float) * B * T * V);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l0), STRATA_OK);
    cap p = { 0 }, sc = { 0 }, r = { 0 };
    add(m, "blocks.*.attn.hook_pattern", cap_fn, &p);
    add(m, "blocks.1.attn.hook_attn_scores", cap_fn, &sc);
    add(m, "blocks.*.hook_resid_post", cap_fn, &r);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);
    for (int b = 0; b < B; b++)
        ck_assert_msg(!memcmp(l0 + (size_t)b * T * V, l1 + (size_t)b * T * V, sizeof(float) * lens[b] * V),
                      "sequence %d: logits changed when patterns were hooked", b);
    /* Patterns are exactly 0 on masked keys and on padding rows, and each real
     * row sums to 1 -- in layers with the scores hooked (whole-row softmax)
     * and without (softmax of the visible prefix only). */
    const int H = c->n_heads;
    for (int l = 0; l < c->n_layers && l + 1 < MAXL; l++) {
        const float *P = L_(p, l);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    const float *row = P + (((size_t)b * H + h) * T + t) * T;
                    double sum = 0;
                    for (int j = 0; j < T; j++) {
                        if (t >= lens[b] || j > t)
                            ck_assert_msg(row[j] == 0.0f, "layer %d b %d h %d t %d: pattern[%d] = %g, want 0",
                                          l, b, h, t, j, row[j]);
                        sum += row[j];
                    }
                    if (t < lens[b]) ck_assert_msg(fabs(sum - 1.0) < 1e-5, "row sum %g", sum);
                }
    }
    strata_hook_clear(m);
    cap_free(&p); cap_free(&sc); cap_free(&r);
    free(toks); free(l0); free(l1);
}

START_TEST(read_only_hooks_change_nothing)
{
    strata_model *m = open_tiny(NULL);
    check_read_only(m);
    strata_model_free(m);
    m = open_stories();
    if (m) check_read_only(m);
    strata_model_free(m);
}
END_TEST

/* ---------------- sliced scores/pattern hooks ---------------- */

/* Reassembles slices into a whole [B,H,T,T] tensor per layer and checks the
 * order (batch row, head, query row) and that no element arrives twice. */
typedef struct slices {
    float *full[TL];
    unsigned char *seen[TL];
    int64_t B, H, T;
    int64_t last[TL];   /* (b*H + h)*T + q of the previous slice's start, -1 at first */
    int n_calls, max_nb, max_nh, max_nq, min_nq;
    int head_sel;       /* >= 0: the hook selects this head */
} slices;

static int slice_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    slices *s = user;
    const int l = ctx->layer;
    ck_assert(l >= 0 && l < TL);
    ck_assert_int_eq(ctx->batch, s->B);
    ck_assert_int_eq(ctx->n_ctx, s->T);
    const int64_t b0 = ctx->batch_offset, h0 = ctx->head_offset, q0 = ctx->query_offset;
    const int64_t nb = t->shape[0], nh = t->shape[1], nq = t->shape[2];
    ck_assert_int_eq(t->shape[3], s->T);
    ck_assert(b0 >= 0 && b0 + nb <= s->B && h0 >= 0 && h0 + nh <= s->H && q0 >= 0 && q0 + nq <= s->T);
    if (s->head_sel >= 0) { ck_assert_int_eq(nh, 1); ck_assert_int_eq(h0, s->head_sel); ck_assert_int_eq(ctx->head, s->head_sel); }
    if (nb > 1) { ck_assert(nh == s->H || s->head_sel >= 0); ck_assert_int_eq(nq, s->T); }
    if (nh > 1) ck_assert_int_eq(nq, s->T);
    const int64_t start = (b0 * s->H + h0) * s->T + q0;
    ck_assert_msg(start > s->last[l], "layer %d: slice (%lld,%lld,%lld) out of order", l,
                  (long long)b0, (long long)h0, (long long)q0);
    s->last[l] = start;
    int twice = 0;   /* (ck_assert per element would cost a pipe write each) */
    for (int64_t bb = 0; bb < nb; bb++)
        for (int64_t hh = 0; hh < nh; hh++)
            for (int64_t qq = 0; qq < nq; qq++)
                for (int64_t k = 0; k < s->T; k++) {
                    size_t i = (((size_t)(b0 + bb) * s->H + h0 + hh) * s->T + q0 + qq) * s->T + k;
                    twice |= s->seen[l][i];
                    s->seen[l][i] = 1;
                    s->full[l][i] = t->data[bb * t->strides[0] + hh * t->strides[1] +
                                            qq * t->strides[2] + k * t->strides[3]];
                }
    ck_assert_msg(!twice, "layer %d: an element arrived twice", l);
    s->n_calls++;
    if (nb > s->max_nb) s->max_nb = (int)nb;
    if (nh > s->max_nh) s->max_nh = (int)nh;
    if (nq > s->max_nq) s->max_nq = (int)nq;
    if (nq < s->min_nq) s->min_nq = (int)nq;
    return 0;
}

/* Digest of every pattern entry a hook sees: its sum and a position-weighted
 * sum (absolute batch row, head, query row, key), in double -- equal up to
 * summation order when the views hold the same values at the same places. */
typedef struct gen_log { int calls, steps; double sum, weighted; } gen_log;

static int gen_log_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    gen_log *g = user;
    g->calls++;
    if (ctx->pos_offset > 0) g->steps++;
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t h = 0; h < t->shape[1]; h++)
            for (int64_t q = 0; q < t->shape[2]; q++)
                for (int64_t k = 0; k < t->shape[3]; k++) {
                    double v = t->data[b * t->strides[0] + h * t->strides[1] + q * t->strides[2] + k * t->strides[3]];
                    double pos = ((((double)(ctx->batch_offset + b) * 16 + ctx->head_offset + h) * 4096 +
                                   ctx->pos_offset + ctx->query_offset + q) * 4096 + k) * (ctx->layer + 1);
                    g->sum += v;
                    g->weighted += v * pos;
                }
    return 0;
}

static int stop_third_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    int *n = user;
    (void)t;
    ck_assert_int_eq(ctx->query_offset, (*n % 2) * 64);   /* slices in order */
    return ++*n == 3;
}

static void slices_init(slices *s, int64_t B, int64_t H, int64_t T, int head_sel)
{
    memset(s, 0, sizeof *s);
    s->B = B; s->H = H; s->T = T; s->head_sel = head_sel; s->min_nq = 1 << 30;
    for (int l = 0; l < TL; l++) {
        s->full[l] = calloc((size_t)(B * H * T * T), sizeof(float));
        s->seen[l] = calloc((size_t)(B * H * T * T), 1);
        s->last[l] = -1;
    }
}

static void slices_free(slices *s)
{
    for (int l = 0; l < TL; l++) { free(s->full[l]); free(s->seen[l]); }
}

START_TEST(sliced_attention_hooks)
{
    strata_model *m = open_tiny(NULL);
    enum { B = 3, T = 128, H = TH };
    int32_t toks[B * T], lens[B] = { 128, 128, 128 };
    make_tokens(toks, B, T, TV, 23);
    const size_t nl = (size_t)B * T * TV, np = (size_t)B * H * T * T;
    float *l0 = malloc(sizeof(float) * nl), *l1 = malloc(sizeof(float) * nl);
    cap p = { 0 }, sc = { 0 };
    /* per-thread budgets (floats) -> slices: 2 sequences | 1 sequence | 3 heads |
     * 1 head | 64 query rows (a head of one sequence is T*T = 16384 floats) */
    const int64_t budgets[] = { 2 * H * T * T, H * T * T, 3 * T * T, T * T, T * T - 2, 2 };   /* even: split over 1 or 2 threads */
    const int want_nb[] = { 2, 1, 1, 1, 1, 1 }, want_nh[] = { H, H, 3, 1, 1, 1 };
    const int want_nq[] = { T, T, T, T, 64, 64 };
    /* full lengths first, then short ones: slice buffers still hold the
     * earlier rows, which read-only hooks must not see (zeros are only
     * rewritten where they may be missing) */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { lens[1] = 70; lens[2] = 1; }
        m->attn_slice_floats = 0;
        add(m, "blocks.*.attn.hook_pattern", cap_fn, &p);       /* whole tensors (no flag) */
        add(m, "blocks.*.attn.hook_attn_scores", cap_fn, &sc);
        ck_assert_int_eq(strata_run(m, toks, lens, B, l0), STRATA_OK);
        ck_assert_int_eq(p.shape[0], B);
        strata_hook_clear(m);
        for (int threads = 1; threads <= 2; threads++) {
            ck_assert_int_eq(strata_model_set_threads(m, threads), STRATA_OK);
            for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++)
                for (int ro = 0; ro < 2; ro++) {
                    const uint32_t fl = STRATA_HOOK_SLICES | (ro ? STRATA_HOOK_READONLY : 0);
                    const int scores = !ro || i % 2;   /* read-only without scores: the zero-skipping path */
                    /* a slice holds budgets[i] floats: with scores hooked, slices go one
                     * after the other and the threads share one (per-thread budget x
                     * threads); without, each thread computes its own slices */
                    m->attn_slice_floats = scores ? budgets[i] / threads : budgets[i];
                    slices ps, ss, hs;
                    slices_init(&ps, B, H, T, -1);
                    slices_init(&ss, B, H, T, -1);
                    slices_init(&hs, B, H, T, 2);
                    ck_assert_int_eq(strata_hook_add_ex(m, "blocks.*.attn.hook_pattern", slice_fn, &ps, fl, NULL), STRATA_OK);
                    if (scores)
                        ck_assert_int_eq(strata_hook_add_ex(m, "blocks.*.attn.hook_attn_scores", slice_fn, &ss,
                                                            fl, NULL), STRATA_OK);
                    ck_assert_int_eq(strata_hook_add_ex(m, "blocks.*.attn.hook_pattern[2]", slice_fn, &hs, fl, NULL),
                                     STRATA_OK);
                    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);
                    ck_assert_msg(!memcmp(l0, l1, sizeof(float) * nl), "budget %lld: logits changed",
                                  (long long)budgets[i]);
                    ck_assert_int_eq(ps.max_nb, want_nb[i]);
                    ck_assert_int_eq(ps.max_nh, want_nh[i]);
                    ck_assert_int_eq(ps.max_nq, want_nq[i]);
                    for (int l = 0; l < TL; l++) {
                        size_t missed = 0;
                        for (size_t j = 0; j < np; j++) missed += !ps.seen[l][j];
                        ck_assert_msg(!missed, "layer %d: %zu elements in no slice", l, missed);
                        ck_assert_msg(!memcmp(ps.full[l], L_(p, l), sizeof(float) * np),
                                      "pass %d budget %lld ro %d: layer %d pattern", pass, (long long)budgets[i], ro, l);
                        if (ss.n_calls)
                            ck_assert_msg(!memcmp(ss.full[l], L_(sc, l), sizeof(float) * np), "layer %d scores", l);
                        for (int b = 0; b < B; b++)   /* head 2 only */
                            for (int t = 0; t < T; t++) {
                                size_t o = (((size_t)b * H + 2) * T + t) * T;
                                ck_assert(hs.seen[l][o]);
                                ck_assert(!memcmp(hs.full[l] + o, L_(p, l) + o, sizeof(float) * T));
                            }
                    }
                    strata_hook_clear(m);
                    slices_free(&ps); slices_free(&ss); slices_free(&hs);
                }
        }
        if (pass == 0) { cap_free(&p); cap_free(&sc); }
    }
    /* a hook without the flag on the same point: every hook gets the whole tensor */
    m->attn_slice_floats = 1;
    slices ps;
    slices_init(&ps, B, H, T, -1);
    int n = 0;
    ck_assert_int_eq(strata_hook_add_ex(m, "blocks.1.attn.hook_pattern", slice_fn, &ps,
                                        STRATA_HOOK_SLICES, NULL), STRATA_OK);
    add(m, "blocks.1.attn.hook_pattern", count_fn, &n);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);
    ck_assert_int_eq(ps.n_calls, 1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ps.max_nb, B);
    ck_assert(!memcmp(ps.full[1], L_(p, 1), sizeof(float) * np));
    strata_hook_clear(m);
    slices_free(&ps);
    /* a sliced hook that stops the run at its third slice, with slices computed
     * in parallel: exactly three calls, in order, and STRATA_STOPPED */
    ck_assert_int_eq(strata_model_set_threads(m, 2), STRATA_OK);
    m->attn_slice_floats = 2;   /* 64-row slices: 3 x 4 x 2 per layer */
    int stop_calls = 0;
    ck_assert_int_eq(strata_hook_add_ex(m, "blocks.0.attn.hook_pattern", stop_third_fn, &stop_calls,
                                        STRATA_HOOK_SLICES | STRATA_HOOK_READONLY, NULL), STRATA_OK);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_STOPPED);
    ck_assert_int_eq(stop_calls, 3);
    strata_hook_clear(m);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);   /* and runs again */
    m->attn_slice_floats = 0;
    /* generation (KV cache, pos_offset > 0, Tk > T): sliced read-only hooks see
     * the same patterns and the same tokens come out, on 1 and 2 threads */
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(strata_model_set_threads(m, threads), STRATA_OK);
        int32_t out0[12], out1[12];
        gen_log g0 = { 0 }, g1 = { 0 };
        m->attn_slice_floats = 0;
        add(m, "blocks.*.attn.hook_pattern", gen_log_fn, &g0);
        ck_assert_int_eq(strata_generate(m, toks, 70, 12, out0), STRATA_OK);
        strata_hook_clear(m);
        m->attn_slice_floats = 2;   /* 64-row slices of the 70-token prompt, then 1-row steps */
        ck_assert_int_eq(strata_hook_add_ex(m, "blocks.*.attn.hook_pattern", gen_log_fn, &g1,
                                            STRATA_HOOK_SLICES | STRATA_HOOK_READONLY, NULL), STRATA_OK);
        ck_assert_int_eq(strata_generate(m, toks, 70, 12, out1), STRATA_OK);
        strata_hook_clear(m);
        ck_assert(!memcmp(out0, out1, sizeof out0));
        ck_assert(g1.calls > g0.calls && g1.steps > g0.steps);   /* slices, also per step */
        /* same values at the same places; the digests add in another order */
        ck_assert_msg(fabs(g0.sum - g1.sum) <= 1e-12 * fabs(g0.sum) &&
                      fabs(g0.weighted - g1.weighted) <= 1e-12 * fabs(g0.weighted),
                      "pattern digests differ: %.17g %.17g / %.17g %.17g", g0.sum, g1.sum,
                      g0.weighted, g1.weighted);
    }
    m->attn_slice_floats = 0;
    /* unknown flags are refused */
    ck_assert_int_eq(strata_hook_add_ex(m, "blocks.1.attn.hook_pattern", count_fn, &n, 0x80, NULL),
                     STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "flags"));
    cap_free(&p); cap_free(&sc);
    free(l0); free(l1);
    strata_model_free(m);
}
END_TEST

/* ctx->row_entropy of pattern hooks equals -sum p ln p of the view's rows
 * computed here in double (sliced and whole, read-only or not), is NULL for
 * a selected head and for scores hooks; read-only hooks change no result. */
typedef struct ent_check { double worst; int rows, null_seen; } ent_check;

static int entropy_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    ent_check *e = user;
    if (!ctx->row_entropy) { e->null_seen++; return 0; }
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t h = 0; h < t->shape[1]; h++)
            for (int64_t q = 0; q < t->shape[2]; q++) {
                const float *row = t->data + b * t->strides[0] + h * t->strides[1] + q * t->strides[2];
                double hh = 0;
                for (int64_t k = 0; k < t->shape[3]; k++) {
                    double p = row[k * t->strides[3]];
                    if (p > 0) hh -= p * log(p);
                }
                double got = ctx->row_entropy[(b * t->shape[1] + h) * t->shape[2] + q];
                e->worst = fmax(e->worst, fabs(got - hh));
                e->rows++;
            }
    return 0;
}

START_TEST(pattern_row_entropy)
{
    strata_model *m = open_tiny(NULL);
    enum { B = 2, T = 100 };
    int32_t toks[B * T], lens[B] = { 100, 37 };
    make_tokens(toks, B, T, TV, 31);
    float *l0 = malloc(sizeof(float) * B * T * TV), *l1 = malloc(sizeof(float) * B * T * TV);
    ck_assert_int_eq(strata_run(m, toks, lens, B, l0), STRATA_OK);
    const uint32_t flags[] = { 0, STRATA_HOOK_SLICES, STRATA_HOOK_READONLY,
                               STRATA_HOOK_SLICES | STRATA_HOOK_READONLY };
    for (int i = 0; i < 4; i++) {
        m->attn_slice_floats = 2;   /* 64-row slices when sliced */
        ent_check e = { 0 }, sel = { 0 }, sc = { 0 };
        ck_assert_int_eq(strata_hook_add_ex(m, "blocks.*.attn.hook_pattern", entropy_fn, &e, flags[i], NULL), STRATA_OK);
        ck_assert_int_eq(strata_hook_add_ex(m, "blocks.0.attn.hook_pattern[1]", entropy_fn, &sel, flags[i], NULL), STRATA_OK);
        if (i == 3)   /* scores hooked too (read-only): whole-row softmax */
            ck_assert_int_eq(strata_hook_add_ex(m, "blocks.2.attn.hook_attn_scores", entropy_fn, &sc, flags[i], NULL), STRATA_OK);
        ck_assert_int_eq(strata_run(m, toks, lens, B, l1), STRATA_OK);
        ck_assert_msg(!memcmp(l0, l1, sizeof(float) * B * T * TV), "flags %u: logits changed", flags[i]);
        ck_assert_int_eq(e.null_seen, 0);
        ck_assert_int_eq(e.rows, TL * B * TH * T);
        /* float lanes vs double here, entropies <= ln 100 = 4.6 */
        ck_assert_msg(e.worst < 2e-5, "flags %u: row entropy off by %g", flags[i], e.worst);
        ck_assert_int_eq(sel.rows, 0);
        ck_assert_int_ge(sel.null_seen, 1);
        if (i == 3) { ck_assert_int_eq(sc.rows, 0); ck_assert_int_ge(sc.null_seen, 1); }
        strata_hook_clear(m);
    }
    m->attn_slice_floats = 0;
    free(l0); free(l1);
    strata_model_free(m);
}
END_TEST

/* With logits_out NULL, only layers up to the last hooked one run; values
 * are those of a full run.  ln_final/logits hooks force the whole stack. */
START_TEST(partial_runs_skip_layers)
{
    strata_model *m = open_tiny(NULL);
    const int B = 2, T = 9, d = TD, V = TV;
    int32_t toks[18], lens[2] = { 9, 2 };
    make_tokens(toks, B, T, V, 4);
    cap post = { 0 }, fin = { 0 };
    add(m, "blocks.*.hook_resid_post", cap_fn, &post);
    add(m, "ln_final.hook_normalized", cap_fn, &fin);
    float *logits = malloc(sizeof(float) * B * T * V);
    ck_assert_int_eq(strata_run(m, toks, lens, B, logits), STRATA_OK);
    strata_hook_clear(m);

    int n_later = 0;
    cap p0 = { 0 };
    add(m, "blocks.0.hook_resid_post", cap_fn, &p0);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    ck_assert_int_eq(p0.calls, 1);
    ck_assert(!memcmp(L_(p0, 0), L_(post, 0), sizeof(float) * B * T * d));
    strata_hook_clear(m);

    cap f2 = { 0 }, lg = { 0 };
    add(m, "ln_final.hook_normalized", cap_fn, &f2);
    add(m, "blocks.2.hook_resid_pre", count_fn, &n_later);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    ck_assert_int_eq(n_later, 1);
    ck_assert(!memcmp(L_(f2, -1), L_(fin, -1), sizeof(float) * B * T * d));
    strata_hook_clear(m);

    add(m, "hook_logits", cap_fn, &lg);   /* logits materialised for the hook only */
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);
    ck_assert_int_eq(lg.shape[2], V);
    ck_assert(!memcmp(L_(lg, -1), logits, sizeof(float) * B * T * V));
    strata_hook_clear(m);
    ck_assert_int_eq(strata_run(m, toks, lens, B, NULL), STRATA_OK);   /* nothing asked: fine */
    cap_free(&post); cap_free(&fin); cap_free(&p0); cap_free(&f2); cap_free(&lg);
    free(logits);
    strata_model_free(m);
}
END_TEST

/* ---------------- callback context ---------------- */

struct ctxlog { int n; int batch[16], n_ctx[16], pos[16]; const int32_t *tokens; const int32_t *lengths; };

static int ctx_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    struct ctxlog *c = user;
    ck_assert_int_lt(c->n, 16);
    ck_assert_str_eq(ctx->name, "blocks.0.hook_resid_post");
    ck_assert_int_eq(ctx->kind, STRATA_HOOK_RESID_POST);
    ck_assert_int_eq(ctx->layer, 0);
    ck_assert_int_eq(ctx->head, -1);
    ck_assert_int_eq(t->ndim, 3);
    ck_assert_int_eq(t->shape[0], ctx->batch);
    ck_assert_int_eq(t->shape[1], ctx->n_ctx);
    ck_assert_int_eq(t->shape[2], TD);
    ck_assert_int_eq(t->strides[2], 1);
    ck_assert_int_eq(t->strides[1], TD);
    ck_assert_int_eq(t->strides[0], (int64_t)TD * ctx->n_ctx);
    c->batch[c->n] = ctx->batch;
    c->n_ctx[c->n] = ctx->n_ctx;
    c->pos[c->n] = ctx->pos_offset;
    c->tokens = ctx->tokens;
    c->lengths = ctx->lengths;
    c->n++;
    return 0;
}

/* strata_hook_match: the points a pattern names, in forward order, with the
 * add rules (globs, [h]), registering nothing. */
typedef struct seen { int n; int kind[64], layer[64], head[64]; char name[64][64]; } seen;

static int seen_fn(const char *name, int kind, int layer, int head, void *user)
{
    seen *s = user;
    ck_assert_int_lt(s->n, 64);
    s->kind[s->n] = kind;
    s->layer[s->n] = layer;
    s->head[s->n] = head;
    snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
    s->n++;
    return 0;
}

static int stop_at_second(const char *name, int kind, int layer, int head, void *user)
{
    (void)name; (void)kind; (void)layer; (void)head;
    return ++*(int *)user == 2 ? 7 : 0;
}

static int fire_count(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)t; (void)ctx;
    ++*(int *)user;
    return 0;
}

START_TEST(hook_match_lists_points)
{
    strata_model *m = open_tiny(NULL);
    seen s = { 0 };
    ck_assert_int_eq(strata_hook_match(m, "blocks.*.hook_resid_post", seen_fn, &s), STRATA_OK);
    ck_assert_int_eq(s.n, TL);
    for (int l = 0; l < TL; l++) {
        char want[64];
        snprintf(want, sizeof want, "blocks.%d.hook_resid_post", l);
        ck_assert_str_eq(s.name[l], want);
        ck_assert_int_eq(s.kind[l], STRATA_HOOK_RESID_POST);
        ck_assert_int_eq(s.layer[l], l);
        ck_assert_int_eq(s.head[l], -1);
    }
    /* forward order across kinds, a head selector, globals */
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(strata_hook_match(m, "blocks.1.attn.hook_[qz][2]", seen_fn, &s), STRATA_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.name[0], "blocks.1.attn.hook_q");
    ck_assert_str_eq(s.name[1], "blocks.1.attn.hook_z");
    ck_assert_int_eq(s.head[0], 2);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(strata_hook_match(m, "hook_*", seen_fn, &s), STRATA_OK);
    ck_assert_int_eq(s.n, 3);   /* hook_embed, hook_pos_embed, hook_logits */
    ck_assert_str_eq(s.name[2], "hook_logits");
    ck_assert_int_eq(s.layer[2], -1);
    /* errors as strata_hook_add gives them */
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(strata_hook_match(m, "blocks.*.hook_resid_postt", seen_fn, &s), STRATA_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "did you mean 'blocks.*.hook_resid_post'"));
    ck_assert_int_eq(strata_hook_match(m, "blocks.0.attn.hook_z[9]", seen_fn, &s), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_hook_match(m, "blocks.0.hook_resid_pre[1]", seen_fn, &s), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_hook_match(m, NULL, seen_fn, &s), STRATA_ERR_ARG);
    ck_assert_int_eq(s.n, 0);
    /* a visit's non-zero value stops the walk and is returned */
    int calls = 0;
    ck_assert_int_eq(strata_hook_match(m, "blocks.*.hook_resid_pre", stop_at_second, &calls), 7);
    ck_assert_int_eq(calls, 2);
    /* nothing was registered: a hook added afterwards is the only one firing */
    int fired = 0;
    ck_assert_int_eq(strata_hook_add(m, "blocks.*.hook_resid_post", fire_count, &fired, NULL), STRATA_OK);
    int32_t toks[4] = { 1, 2, 3, 4 }, len = 4;
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_int_eq(fired, TL);
    strata_model_free(m);
}
END_TEST

/* A hook that fails returns its status through the run (not STOPPED), and
 * the model's message names the point. */
static int failing_fn(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)t; (void)ctx;
    return ++*(int *)user == 2 ? STRATA_ERR_IO : 0;
}

START_TEST(hook_failure_status)
{
    strata_model *m = open_tiny(NULL);
    int calls = 0;
    ck_assert_int_eq(strata_hook_add(m, "blocks.*.hook_mlp_out", failing_fn, &calls, NULL), STRATA_OK);
    int32_t toks[4] = { 1, 2, 3, 4 }, len = 4;
    float logits[4 * TV];
    ck_assert_int_eq(strata_run(m, toks, &len, 1, logits), STRATA_ERR_IO);
    ck_assert_int_eq(calls, 2);   /* layer 1's hook failed; layer 2 never ran */
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "blocks.1.hook_mlp_out"));
    strata_model_free(m);
}
END_TEST

START_TEST(callback_context)
{
    strata_model *m = open_tiny(NULL);
    struct ctxlog c = { 0 };
    add(m, "blocks.0.hook_resid_post", ctx_fn, &c);
    int32_t toks[3 * 5], lens[3] = { 5, 2, 4 };
    make_tokens(toks, 3, 5, TV, 9);
    ck_assert_int_eq(strata_run(m, toks, lens, 3, NULL), STRATA_OK);
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_eq(c.batch[0], 3);
    ck_assert_int_eq(c.n_ctx[0], 5);
    ck_assert_int_eq(c.pos[0], 0);
    ck_assert_ptr_eq(c.tokens, toks);
    ck_assert_ptr_eq(c.lengths, lens);
    /* generation: the prompt, then one position per new token */
    c.n = 0;
    int32_t out[4];
    ck_assert_int_eq(strata_generate(m, toks, 5, 4, out), STRATA_OK);
    ck_assert_int_eq(c.n, 4);   /* prompt + 3 steps (the 4th token needs no forward) */
    ck_assert_int_eq(c.n_ctx[0], 5);
    ck_assert_int_eq(c.pos[0], 0);
    for (int i = 1; i < 4; i++) {
        ck_assert_int_eq(c.n_ctx[i], 1);
        ck_assert_int_eq(c.pos[i], 5 + i - 1);
    }
    strata_model_free(m);
}
END_TEST

Suite *hooks_suite(void)
{
    Suite *s = suite_create("hooks");
    TCase *tc = tcase_create("interventions");
    /* a hang detector, not a speed check: sliced_attention_hooks took 38 s wall
     * (11 s CPU) under ASan at load ~20 on 2 cores */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, ablate_head_tiny);
    tcase_add_test(tc, ablate_head_stories);
    tcase_add_test(tc, patch_resid_pre_tiny);
    tcase_add_test(tc, patch_resid_pre_stories);
    tcase_add_test(tc, steering_last_layer);
    tcase_add_test(tc, result_sums_to_attn_out);
    tcase_add_test(tc, pattern_and_score_edits);
    tcase_add_test(tc, read_only_hooks_change_nothing);
    tcase_add_test(tc, sliced_attention_hooks);
    tcase_add_test(tc, pattern_row_entropy);
    tcase_add_test(tc, partial_runs_skip_layers);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("registration");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, hooks_fire_in_forward_order);
    tcase_add_test(tr, hook_remove_and_clear);
    tcase_add_test(tr, hook_stops_run);
    tcase_add_test(tr, glob_matching_nothing);
    tcase_add_test(tr, head_selector_errors);
    tcase_add_test(tr, hook_name_parse_round_trip);
    tcase_add_test(tr, callback_context);
    tcase_add_test(tr, hook_match_lists_points);
    tcase_add_test(tr, hook_failure_status);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hooks_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
