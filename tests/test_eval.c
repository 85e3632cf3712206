/* tests/test_eval.c — task scoring and next-token loss (probes/eval_*.c).
 *
 * The constructed GPT-2 of tests/test_attn_model.h predicts "the current
 * token again": its logits at position i are 2 s on tok_i and 0 on the 15
 * other ids, s = 1/sqrt(6/96 + eps) (the final LayerNorm scale), so with
 * Z = e^{2s} + 15:
 *     log p(v | ..., tok_i) = 2s - ln Z  if v == tok_i,   -ln Z otherwise
 * and every score below is worked out from that by hand.
 * stories260K: eval equals the loss accumulator and strata_run's logits.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/eval.h"
#include "strata/model.h"
#include "test_attn_model.h"
#include "testutil.h"

static strata_model *open_am(void)
{
    const char *path = tu_tmpfile("eval_gpt2");
    ck_assert_int_eq(am_write_model(path), 0);
    strata_model *m = NULL;
    int rc = strata_model_open(path, NULL, &m);
    ck_assert_msg(rc == STRATA_OK, "open constructed model: %s", strata_errmsg(m));
    return m;
}

static double am_s(void) { return 1.0 / sqrt(6.0 / AM_D + AM_EPS); }

START_TEST(test_task_by_hand)
{
    strata_model *m = open_am();
    const double s = am_s(), lnZ = log(exp(2 * s) + (AM_V - 1));
    /* item 0: prompt [0 3 5], answer [5 5]: both answer tokens repeat the
     *         current token: 2 hits, exact, logprob 2s - ln Z.
     * item 1: prompt [0 3], answer [7 7]: 7 after 3 misses (-ln Z), 7 after 7
     *         hits (2s - ln Z): 1 of 2, not exact, logprob s - ln Z.
     * item 2: prompt [0], answer [4]: miss, -ln Z. */
    const int32_t prompts[] = { 0, 3, 5, 0, 3, 0 }, answers[] = { 5, 5, 7, 7, 4 };
    const int64_t poff[] = { 0, 3, 5, 6 }, aoff[] = { 0, 2, 4, 5 };
    strata_eval_item it[3];
    strata_eval_result r;
    char err[256];
    ck_assert_int_eq(strata_eval_task(m, prompts, poff, answers, aoff, 3, it, &r, err, sizeof err), STRATA_OK);
    ck_assert_int_eq(it[0].n_correct, 2);
    ck_assert_int_eq(it[0].exact, 1);
    ck_assert_int_eq(it[1].n_correct, 1);
    ck_assert_int_eq(it[1].exact, 0);
    ck_assert_int_eq(it[2].n_correct, 0);
    ck_assert_double_eq_tol(it[0].logprob, 2 * s - lnZ, 1e-5);
    ck_assert_double_eq_tol(it[1].logprob, s - lnZ, 1e-5);
    ck_assert_double_eq_tol(it[2].logprob, -lnZ, 1e-5);
    ck_assert_int_eq(r.n, 3);
    ck_assert_int_eq(r.n_answer_tokens, 5);
    ck_assert_double_eq_tol(r.exact_match, 1.0 / 3, 1e-12);
    ck_assert_double_eq_tol(r.token_accuracy, (1.0 + 0.5 + 0.0) / 3, 1e-12);
    ck_assert_double_eq_tol(r.answer_logprob, (3 * s - 3 * lnZ) / 3, 1e-5);
    /* bad input */
    const int64_t aoff_empty[] = { 0, 2, 2, 3 };
    ck_assert_int_eq(strata_eval_task(m, prompts, poff, answers, aoff_empty, 3, NULL, &r, err, sizeof err), STRATA_ERR_ARG);
    ck_assert_str_eq(err, "eval: item 1: empty answer");
    const int32_t bad[] = { 99, 5, 7, 7, 4 };
    ck_assert_int_eq(strata_eval_task(m, prompts, poff, bad, aoff, 3, NULL, &r, err, sizeof err), STRATA_ERR_RANGE);
    ck_assert_str_eq(err, "eval: item 0: answer id 99 outside the vocabulary [0, 16)");
    int32_t longp[AM_T];
    for (int i = 0; i < AM_T; i++) longp[i] = 1;
    const int64_t lpoff[] = { 0, AM_T };
    ck_assert_int_eq(strata_eval_task(m, longp, lpoff, answers, aoff, 1, NULL, &r, err, sizeof err), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "more than the model's context 16"));
    strata_model_free(m);
}
END_TEST

START_TEST(test_loss_by_hand)
{
    strata_model *m = open_am();
    const double s = am_s(), lnZ = log(exp(2 * s) + (AM_V - 1));
    /* doc 0 [0 3 3 5]: l1 = ln Z (3 after 0), l2 = ln Z - 2s (3 after 3),
     *                  l3 = ln Z (5 after 3)
     * doc 1 [0 2 2] (padded): l1 = ln Z, l2 = ln Z - 2s
     * pooled mean over 5 tokens = (5 ln Z - 4s)/5; ICL(early 1, late 2):
     * both documents reach position 2: (l2 - l1) = -2s for each. */
    const int32_t tok[] = { 0, 3, 3, 5, 0, 2, 2, 0 };
    const int32_t len[] = { 4, 3 };
    strata_loss_acc *a = NULL;
    ck_assert_int_eq(strata_loss_acc_new(AM_T, &a), STRATA_OK);
    ck_assert_int_eq(strata_loss_acc_set_icl(a, 1, 2), STRATA_OK);
    ck_assert_int_eq(strata_loss_acc_run(a, m, tok, len, 2), STRATA_OK);
    ck_assert_int_eq(strata_loss_acc_n_tokens(a), 5);
    ck_assert_int_eq(strata_loss_acc_n_docs(a), 2);
    ck_assert_double_eq_tol(strata_loss_acc_mean(a), (5 * lnZ - 4 * s) / 5, 1e-5);
    ck_assert_int_eq(strata_loss_acc_n_icl(a), 2);
    ck_assert_double_eq_tol(strata_loss_acc_icl(a), -2 * s, 1e-5);
    double pm[AM_T];
    ck_assert_int_eq(strata_loss_acc_position_mean(a, pm, AM_T), AM_T);
    ck_assert(isnan(pm[0]));
    ck_assert_double_eq_tol(pm[1], lnZ, 1e-5);
    ck_assert_double_eq_tol(pm[2], lnZ - 2 * s, 1e-5);
    ck_assert_double_eq_tol(pm[3], lnZ, 1e-5);
    ck_assert(isnan(pm[4]));
    /* a second run adds (same documents again: same means) */
    ck_assert_int_eq(strata_loss_acc_run(a, m, tok, len, 2), STRATA_OK);
    ck_assert_int_eq(strata_loss_acc_n_tokens(a), 10);
    ck_assert_double_eq_tol(strata_loss_acc_mean(a), (5 * lnZ - 4 * s) / 5, 1e-5);
    /* ICL positions out of range */
    ck_assert_int_eq(strata_loss_acc_set_icl(a, 3, 3), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_loss_acc_set_icl(a, 1, AM_T), STRATA_ERR_RANGE);
    strata_loss_acc_free(a);
    /* the convenience function, batch of 1 */
    double loss;
    int64_t nt;
    char err[256];
    ck_assert_int_eq(strata_eval_text_loss(m, tok, len, 2, 1, &loss, &nt, err, sizeof err), STRATA_OK);
    ck_assert_int_eq(nt, 5);
    ck_assert_double_eq_tol(loss, (5 * lnZ - 4 * s) / 5, 1e-5);
    const int32_t badlen[] = { 4, 0 };
    ck_assert_int_eq(strata_eval_text_loss(m, tok, badlen, 2, 1, &loss, &nt, err, sizeof err), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "document 1 has 0 tokens"));
    strata_model_free(m);
}
END_TEST

START_TEST(test_stories_consistency)
{
    const char *path = tu_shared_path("models/stories260K/hf");
    if (!path) return;
    strata_model *m = NULL;
    ck_assert_int_eq(strata_model_open(path, NULL, &m), STRATA_OK);
    const strata_config *c = strata_model_config(m);
    const int V = c->vocab_size, n = 24;
    int32_t tok[24];
    for (int i = 0; i < n; i++) tok[i] = i ? 3 + (i * 37 + 11) % (V - 3) : 1;
    float *lg = malloc(sizeof(float) * n * V);
    int32_t len = n;
    ck_assert_int_eq(strata_run(m, tok, &len, 1, lg), STRATA_OK);
    /* reference from the logits, in double */
    double want = 0;
    for (int t = 0; t + 1 < n; t++) {
        double mx = -INFINITY, z = 0;
        for (int v = 0; v < V; v++) if (lg[t * V + v] > mx) mx = lg[t * V + v];
        for (int v = 0; v < V; v++) z += exp(lg[t * V + v] - mx);
        want += log(z) + mx - lg[t * V + tok[t + 1]];
    }
    want /= n - 1;
    double loss;
    ck_assert_int_eq(strata_eval_text_loss(m, tok, &len, 1, 0, &loss, NULL, NULL, 0), STRATA_OK);
    ck_assert_double_eq_tol(loss, want, 1e-9);
    /* the task score of "prompt = first 10, answer = the rest" is the mean
     * log-probability of the last 14 tokens */
    const int64_t poff[] = { 0, 10 }, aoff[] = { 0, n - 10 };
    strata_eval_item it;
    strata_eval_result r;
    ck_assert_int_eq(strata_eval_task(m, tok, poff, tok + 10, aoff, 1, &it, &r, NULL, 0), STRATA_OK);
    double lp = 0;
    for (int t = 9; t + 1 < n; t++) {
        double mx = -INFINITY, z = 0;
        for (int v = 0; v < V; v++) if (lg[t * V + v] > mx) mx = lg[t * V + v];
        for (int v = 0; v < V; v++) z += exp(lg[t * V + v] - mx);
        lp += lg[t * V + tok[t + 1]] - mx - log(z);
    }
    ck_assert_double_eq_tol(r.answer_logprob, lp / (n - 10), 1e-9);
    free(lg);
    strata_model_free(m);
}
END_TEST

static Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_add_test(tc, test_task_by_hand);
    tcase_add_test(tc, test_loss_by_hand);
    tcase_add_test(tc, test_stories_consistency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(eval_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
