/* strata/transition.h — how sudden is a change along a curve?
 *
 * Defines: strata_transition, strata_transition_stats().
 *
 * Input: a curve of n >= 2 points, x [n] strictly increasing (a training
 * step, tokens seen or a parameter count) and y [n] finite (a measure).
 * With log_x != 0 (x > 0 required) every interpolation below is done in
 * u = log10 x instead of u = x (model-size axes); otherwise u = x.
 *
 *   total change   D = y[n-1] - y[0], direction s = sign(D)
 *   steps          d_i = s * (y[i+1] - y[i]), i = 0..n-2
 *   steepest       k = the first i with the largest d_i; x_steep is the
 *                  midpoint of [x_k, x_{k+1}] in u (geometric mean when log_x),
 *                  x_steep_lo/hi the interval's ends
 *   sharpness      d_k / |D|: 1 when all of the change happens between two
 *                  neighbouring points, 1/(n-1) for a straight line on evenly
 *                  spaced points (more than 1 when the curve overshoots)
 *   x10, x90       the first x where the curve reaches y[0] + 0.1 D
 *                  (resp. 0.9 D), i.e. the first interval i with
 *                  s*(y[i] - L) < 0 <= s*(y[i+1] - L), linearly interpolated
 *                  in u: u = u_i + (L - y_i) / (y_{i+1} - y_i) (u_{i+1} - u_i);
 *                  y[0] itself never counts as reaching a level above it
 *   width          x90 - x10 (x units; negative if the curve reaches 90 %
 *                  before 10 % on the way back); width_log10 = log10(x90/x10)
 *                  when log_x, else NaN
 *
 * When D == 0 (flat curve) every statistic except total_change is NaN and
 * steep_index is -1; that is a result, not an error.
 */
#ifndef STRATA_TRANSITION_H
#define STRATA_TRANSITION_H

#include "strata/api.h"

#include <stddef.h>
#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_transition {
    int32_t n;              /* points */
    int32_t steep_index;    /* k, or -1 for a flat curve */
    double total_change;    /* D = y[n-1] - y[0] */
    double max_step;        /* d_k = s (y[k+1] - y[k]) */
    double sharpness;       /* d_k / |D| */
    double x_steep, x_steep_lo, x_steep_hi;
    double x10, x90;
    double width;           /* x90 - x10 */
    double width_log10;     /* log10(x90 / x10) with log_x, else NaN */
} strata_transition;

/* Fails (STRATA_ERR_ARG, message in err) for n < 2, x not strictly
 * increasing, non-finite values, or x <= 0 with log_x. */
STRATA_API strata_status strata_transition_stats(const double *x, const double *y, int n, int log_x,
                                      strata_transition *out, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
