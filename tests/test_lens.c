/* tests/test_lens.c — the logit lens (probes/lens.c).
 *
 * 1. The constructed GPT-2 of tests/test_attn_model.h, where every point's
 *    lens logits are known in closed form: 2 s on the current token, 0
 *    elsewhere (s = LayerNorm scale at that point), so ranks, probabilities
 *    and top-k lists are checked against values worked out by hand.
 * 2. stories260K: the last point's lens logits equal the model's logits
 *    (<= 1e-4) on the reference prompt, and the next token's probability
 *    improves from the embeddings to the last layer.
 * 3. Bad input.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/lens.h"
#include "strata/model.h"
#include "test_attn_model.h"
#include "testutil.h"

static strata_model *open_am(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", tu_tmpfile("lens_gpt2"));
    ck_assert_int_eq(am_write_model(path), 0);
    strata_model *m = NULL;
    int rc = strata_model_open(path, NULL, &m);
    ck_assert_msg(rc == STRATA_OK, "open constructed model: %s", strata_errmsg(m));
    return m;
}

START_TEST(test_lens_by_hand)
{
    strata_model *m = open_am();
    strata_lens *l = NULL;
    ck_assert_int_eq(strata_lens_new(m, &l), STRATA_OK);
    const int32_t tok[5] = { AM_BOS, 3, 5, 3, 7 };
    const int n = 5, K = 3;
    ck_assert_int_eq(strata_lens_run(l, tok, n, K), STRATA_OK);
    ck_assert_int_eq(strata_lens_n_points(l), 3);
    ck_assert_int_eq(strata_lens_n_pos(l), n);
    ck_assert_str_eq(strata_lens_point_name(l, 0), "blocks.0.hook_resid_pre");
    ck_assert_str_eq(strata_lens_point_name(l, 2), "blocks.1.hook_resid_post");
    /* |x|^2 = 4 at the embeddings, 6 after layer 0 (R+/R- written), and layer 1
     * writes nothing; LayerNorm scale s = 1/sqrt(|x|^2/d + eps). */
    const double s[3] = { 1 / sqrt(4.0 / AM_D + AM_EPS), 1 / sqrt(6.0 / AM_D + AM_EPS),
                          1 / sqrt(6.0 / AM_D + AM_EPS) };
    const int32_t *ids = strata_lens_top_ids(l), *rank = strata_lens_next_rank(l);
    const float *pr = strata_lens_top_probs(l), *np = strata_lens_next_prob(l);
    float *lg = malloc(sizeof(float) * n * AM_V);
    for (int p = 0; p < 3; p++) {
        /* logits: 2s on the current token, 0 on the 15 others */
        double e = exp(2 * s[p]), Z = e + (AM_V - 1);
        ck_assert_int_eq(strata_lens_logits(l, p, lg), STRATA_OK);
        for (int t = 0; t < n; t++) {
            for (int v = 0; v < AM_V; v++)
                ck_assert_double_eq_tol(lg[t * AM_V + v], v == tok[t] ? 2 * s[p] : 0.0, 2e-4);
            const int32_t *id = ids + (p * n + t) * K;
            const float *pp = pr + (p * n + t) * K;
            ck_assert_int_eq(id[0], tok[t]);
            ck_assert_double_eq_tol(pp[0], e / Z, 1e-5);
            /* ties among the rest: lower id first */
            ck_assert_int_eq(id[1], tok[t] == 0 ? 1 : 0);
            ck_assert_int_eq(id[2], tok[t] <= 1 ? 2 : 1);
            ck_assert_double_eq_tol(pp[1], 1 / Z, 1e-6);
            if (t + 1 < n) {
                /* the next token is never the current one here: rank 1 */
                ck_assert_int_eq(rank[p * n + t], 1);
                ck_assert_double_eq_tol(np[p * n + t], 1 / Z, 1e-6);
            } else {
                ck_assert_int_eq(rank[p * n + t], -1);
                ck_assert(isnan(np[p * n + t]));
            }
        }
    }
    /* the last point equals the model's own logits */
    ck_assert_int_eq(strata_lens_logits(l, 2, lg), STRATA_OK);
    ck_assert(tu_check_close("lens last vs model", lg, strata_lens_model_logits(l),
                             (size_t)n * AM_V, 1e-4));
    free(lg);
    strata_lens_free(l);
    strata_model_free(m);
}
END_TEST

START_TEST(test_lens_bad)
{
    strata_model *m = open_am();
    strata_lens *l = NULL;
    ck_assert_int_eq(strata_lens_new(m, &l), STRATA_OK);
    int32_t tok[20] = { 0 };
    ck_assert_int_eq(strata_lens_run(l, tok, 0, 1), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_lens_run(l, tok, 17, 1), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_lens_errmsg(l), "context of 16"));
    ck_assert_int_eq(strata_lens_run(l, tok, 4, 0), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_lens_run(l, tok, 4, AM_V + 1), STRATA_ERR_ARG);
    tok[2] = AM_V;
    ck_assert_int_eq(strata_lens_run(l, tok, 4, 1), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_lens_errmsg(l), "vocabulary"));
    float out[4];
    ck_assert_int_eq(strata_lens_logits(l, 0, out), STRATA_ERR_STATE);
    /* hooks are removed again: a plain run afterwards is unaffected */
    tok[2] = 1;
    ck_assert_int_eq(strata_lens_run(l, tok, 4, 2), STRATA_OK);
    ck_assert_int_eq(strata_lens_logits(l, 3, NULL), STRATA_ERR_RANGE);
    strata_lens_free(l);
    strata_lens_free(NULL);
    ck_assert_int_eq(strata_lens_new(NULL, &l), STRATA_ERR_ARG);
    strata_lens_free(l);
    strata_model_free(m);
}
END_TEST

START_TEST(test_lens_stories)
{
    const char *p = tu_shared_path("models/stories260K/hf/config.json");
    if (!p) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = 0;
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(dir, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    /* reference prompt of reference.h5 */
    const int32_t ids[21] = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298,
                              315, 421, 395, 317, 426, 338, 401, 396, 267, 337 };
    const int n = 21, V = 512;
    strata_lens *l = NULL;
    ck_assert_int_eq(strata_lens_new(m, &l), STRATA_OK);
    ck_assert_int_eq(strata_lens_run(l, ids, n, 5), STRATA_OK);
    int P = strata_lens_n_points(l);
    ck_assert_int_eq(P, 6);
    float *lg = malloc(sizeof(float) * n * V);
    ck_assert_int_eq(strata_lens_logits(l, P - 1, lg), STRATA_OK);
    ck_assert(tu_check_close("stories lens last vs model", lg, strata_lens_model_logits(l),
                             (size_t)n * V, 1e-4));
    /* the next token's mean log-probability and mean rank improve with depth */
    const float *np = strata_lens_next_prob(l);
    const int32_t *rk = strata_lens_next_rank(l);
    double lp[6] = { 0 }, mr[6] = { 0 };
    for (int q = 0; q < P; q++) {
        for (int t = 0; t + 1 < n; t++) {
            lp[q] += log(np[q * n + t]) / (n - 1);
            mr[q] += (double)rk[q * n + t] / (n - 1);
        }
        fprintf(stderr, "lens stories260K %-26s mean log p(next) %8.3f  mean rank %7.2f\n",
                strata_lens_point_name(l, q), lp[q], mr[q]);
    }
    ck_assert(lp[P - 1] > lp[0] + 1.0);
    ck_assert(mr[P - 1] < mr[0]);
    /* the last point's top-1 is the model's argmax */
    const float *ml = strata_lens_model_logits(l);
    for (int t = 0; t < n; t++) {
        int am = 0;
        for (int v = 1; v < V; v++) if (ml[t * V + v] > ml[t * V + am]) am = v;
        ck_assert_int_eq(strata_lens_top_ids(l)[((P - 1) * n + t) * 5], am);
    }
    free(lg);
    strata_lens_free(l);
    strata_model_free(m);
}
END_TEST

static Suite *lens_suite(void)
{
    Suite *su = suite_create("lens");
    TCase *tc = tcase_create("lens");
    tcase_add_test(tc, test_lens_by_hand);
    tcase_add_test(tc, test_lens_bad);
    tcase_add_test(tc, test_lens_stories);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(lens_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
