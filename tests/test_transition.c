/* tests/test_transition.c — transition statistics (probes/transition.c) on
 * constructed curves whose statistics are worked out by hand below. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strata/transition.h"

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

START_TEST(test_step)
{
    /* x = 0..10, y = 0 up to x = 4, 1 from x = 5: D = 1, all of it in
     * [4, 5] (sharpness 1, midpoint 4.5); the 10 % level 0.1 is reached at
     * 4 + 0.1 = 4.1, the 90 % level at 4.9: width 0.8. */
    double x[11], y[11];
    for (int i = 0; i < 11; i++) { x[i] = i; y[i] = i >= 5; }
    strata_transition t;
    ck_assert_int_eq(strata_transition_stats(x, y, 11, 0, &t, NULL, 0), STRATA_OK);
    ck_assert_int_eq(t.steep_index, 4);
    ck_assert_double_eq_tol(t.total_change, 1.0, 1e-15);
    ck_assert_double_eq_tol(t.sharpness, 1.0, 1e-15);
    ck_assert_double_eq_tol(t.x_steep, 4.5, 1e-15);
    ck_assert_double_eq_tol(t.x_steep_lo, 4.0, 1e-15);
    ck_assert_double_eq_tol(t.x_steep_hi, 5.0, 1e-15);
    ck_assert_double_eq_tol(t.x10, 4.1, 1e-12);
    ck_assert_double_eq_tol(t.x90, 4.9, 1e-12);
    ck_assert_double_eq_tol(t.width, 0.8, 1e-12);
    ck_assert(isnan(t.width_log10));
    /* the same step going down (accuracy -> loss): same positions */
    for (int i = 0; i < 11; i++) y[i] = 3.0 - 2.0 * (i >= 5);
    ck_assert_int_eq(strata_transition_stats(x, y, 11, 0, &t, NULL, 0), STRATA_OK);
    ck_assert_double_eq_tol(t.total_change, -2.0, 1e-15);
    ck_assert_double_eq_tol(t.sharpness, 1.0, 1e-15);
    ck_assert_double_eq_tol(t.x10, 4.1, 1e-12);
    ck_assert_double_eq_tol(t.x90, 4.9, 1e-12);
}
END_TEST

START_TEST(test_line)
{
    /* y = 2x on x = 0..10: every step is 2 of D = 20 (sharpness 1/10, the
     * first interval wins the tie: midpoint 0.5); 10 % of 20 is y = 2 at
     * x = 1, 90 % is y = 18 at x = 9: width 8. */
    double x[11], y[11];
    for (int i = 0; i < 11; i++) { x[i] = i; y[i] = 2.0 * i; }
    strata_transition t;
    ck_assert_int_eq(strata_transition_stats(x, y, 11, 0, &t, NULL, 0), STRATA_OK);
    ck_assert_double_eq_tol(t.sharpness, 0.1, 1e-12);
    ck_assert_int_eq(t.steep_index, 0);
    ck_assert_double_eq_tol(t.x_steep, 0.5, 1e-12);
    ck_assert_double_eq_tol(t.x10, 1.0, 1e-12);
    ck_assert_double_eq_tol(t.x90, 9.0, 1e-12);
    ck_assert_double_eq_tol(t.width, 8.0, 1e-12);
}
END_TEST

START_TEST(test_sigmoid)
{
    /* y = sigmoid(x - 5.5) on x = 0..11 (symmetric about 5.5):
     * D = sigmoid(5.5) - sigmoid(-5.5) = tanh(2.75) = 0.99185972...
     * steepest interval [5, 6] with step sigmoid(.5) - sigmoid(-.5) =
     * tanh(0.25) = 0.24491866..., so sharpness = tanh(.25)/tanh(2.75)
     * = 0.24692873...; the 10 % level y0 + 0.1 D = 0.10325611... lies
     * between y(3) = sigmoid(-2.5) = 0.07585818 and y(4) = sigmoid(-1.5) =
     * 0.18242552: x10 = 3 + (0.10325611 - 0.07585818)/(0.10656734) =
     * 3.25709499...; by symmetry x90 = 11 - x10 = 7.74290501..., width
     * 4.48581002... */
    double x[12], y[12];
    for (int i = 0; i < 12; i++) { x[i] = i; y[i] = sigm(i - 5.5); }
    strata_transition t;
    ck_assert_int_eq(strata_transition_stats(x, y, 12, 0, &t, NULL, 0), STRATA_OK);
    ck_assert_double_eq_tol(t.total_change, tanh(2.75), 1e-12);
    ck_assert_int_eq(t.steep_index, 5);
    ck_assert_double_eq_tol(t.x_steep, 5.5, 1e-12);
    ck_assert_double_eq_tol(t.sharpness, tanh(0.25) / tanh(2.75), 1e-12);
    ck_assert_double_eq_tol(t.sharpness, 0.24692873, 1e-8);
    double L10 = sigm(-5.5) + 0.1 * tanh(2.75);
    double x10 = 3 + (L10 - sigm(-2.5)) / (sigm(-1.5) - sigm(-2.5));
    ck_assert_double_eq_tol(t.x10, x10, 1e-12);
    ck_assert_double_eq_tol(t.x10, 3.25709499, 1e-7);
    ck_assert_double_eq_tol(t.x90, 11 - x10, 1e-12);
    ck_assert_double_eq_tol(t.width, 11 - 2 * x10, 1e-12);
}
END_TEST

START_TEST(test_log_axis)
{
    /* parameters 1e3..1e6, accuracy 0, 0, 1, 1: the jump is between 1e4 and
     * 1e5; on the log axis its midpoint is 10^4.5, the 10 % and 90 % levels
     * are reached at 10^4.1 and 10^4.9 (0.8 decades). */
    double x[4] = { 1e3, 1e4, 1e5, 1e6 }, y[4] = { 0, 0, 1, 1 };
    strata_transition t;
    ck_assert_int_eq(strata_transition_stats(x, y, 4, 1, &t, NULL, 0), STRATA_OK);
    ck_assert_double_eq_tol(t.x_steep / pow(10, 4.5), 1.0, 1e-12);
    ck_assert_double_eq_tol(t.x10 / pow(10, 4.1), 1.0, 1e-12);
    ck_assert_double_eq_tol(t.x90 / pow(10, 4.9), 1.0, 1e-12);
    ck_assert_double_eq_tol(t.width_log10, 0.8, 1e-12);
    ck_assert_double_eq_tol(t.width, pow(10, 4.9) - pow(10, 4.1), 1e-6);
    ck_assert_double_eq_tol(t.sharpness, 1.0, 1e-15);
    /* uneven linear spacing: x = 0, 1, 10; y = 0, 0.5, 1: the two steps are
     * equal (first wins), x10 = 0.2, x90 = 1 + 0.8*9 = 8.2 */
    double x2[3] = { 0, 1, 10 }, y2[3] = { 0, 0.5, 1 };
    ck_assert_int_eq(strata_transition_stats(x2, y2, 3, 0, &t, NULL, 0), STRATA_OK);
    ck_assert_double_eq_tol(t.sharpness, 0.5, 1e-15);
    ck_assert_double_eq_tol(t.x10, 0.2, 1e-12);
    ck_assert_double_eq_tol(t.x90, 8.2, 1e-12);
}
END_TEST

START_TEST(test_flat_and_bad)
{
    double x[3] = { 0, 1, 2 }, y[3] = { 1, 2, 1 };
    strata_transition t;
    ck_assert_int_eq(strata_transition_stats(x, y, 3, 0, &t, NULL, 0), STRATA_OK);
    ck_assert_int_eq(t.steep_index, -1);
    ck_assert(isnan(t.sharpness) && isnan(t.x10) && isnan(t.width));
    char err[256];
    ck_assert_int_eq(strata_transition_stats(x, y, 1, 0, &t, err, sizeof err), STRATA_ERR_ARG);
    ck_assert_str_eq(err, "transition: 1 point (need at least 2)");
    double xb[3] = { 0, 2, 1 };
    ck_assert_int_eq(strata_transition_stats(xb, y, 3, 0, &t, err, sizeof err), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err, "point 2") ? err : NULL);
    ck_assert_ptr_nonnull(strstr(err, "not strictly increasing"));
    double yn[3] = { 0, NAN, 1 };
    ck_assert_int_eq(strata_transition_stats(x, yn, 3, 0, &t, err, sizeof err), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err, "y is not finite"));
    ck_assert_int_eq(strata_transition_stats(x, y, 3, 1, &t, err, sizeof err), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err, "log axis"));
}
END_TEST

static Suite *transition_suite(void)
{
    Suite *s = suite_create("transition");
    TCase *tc = tcase_create("transition");
    tcase_add_test(tc, test_step);
    tcase_add_test(tc, test_line);
    tcase_add_test(tc, test_sigmoid);
    tcase_add_test(tc, test_log_axis);
    tcase_add_test(tc, test_flat_and_bad);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(transition_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
