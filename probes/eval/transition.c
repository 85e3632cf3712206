/* probes/transition.c — steepest step, 10-90 % width and sharpness of a
 * curve (definitions in strata/transition.h). */
#include "strata/transition.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double to_u(double x, int log_x) { return log_x ? log10(x) : x; }
static double from_u(double u, int log_x) { return log_x ? pow(10.0, u) : u; }

/* First crossing of level L (see the header); NaN if never reached. */
static double crossing(const double *x, const double *y, int n, double s, double L, int log_x)
{
    for (int i = 0; i + 1 < n; i++) {
        if (s * (y[i] - L) < 0 && s * (y[i + 1] - L) >= 0) {
            double u0 = to_u(x[i], log_x), u1 = to_u(x[i + 1], log_x);
            double f = (L - y[i]) / (y[i + 1] - y[i]);
            return from_u(u0 + f * (u1 - u0), log_x);
        }
    }
    return NAN;
}

strata_status strata_transition_stats(const double *x, const double *y, int n, int log_x,
                                      strata_transition *out, char *err, size_t err_len)
{
    if (err && err_len) err[0] = 0;
    if (!x || !y || !out) {
        if (err && err_len) snprintf(err, err_len, "transition: NULL argument");
        return STRATA_ERR_ARG;
    }
    if (n < 2) {
        if (err && err_len) snprintf(err, err_len, "transition: %d point%s (need at least 2)", n, n == 1 ? "" : "s");
        return STRATA_ERR_ARG;
    }
    for (int i = 0; i < n; i++) {
        const char *why = !isfinite(x[i]) ? "x is not finite" : !isfinite(y[i]) ? "y is not finite"
                        : (log_x && x[i] <= 0) ? "x <= 0 on a log axis"
                        : (i && !(x[i] > x[i - 1])) ? "x is not strictly increasing" : NULL;
        if (why) {
            if (err && err_len) snprintf(err, err_len, "transition: point %d (x = %g, y = %g): %s", i, x[i], y[i], why);
            return STRATA_ERR_ARG;
        }
    }
    memset(out, 0, sizeof *out);
    out->n = n;
    const double D = y[n - 1] - y[0];
    out->total_change = D;
    out->width_log10 = NAN;
    if (D == 0) {
        out->steep_index = -1;
        out->max_step = out->sharpness = out->x_steep = out->x_steep_lo = out->x_steep_hi = NAN;
        out->x10 = out->x90 = out->width = NAN;
        return STRATA_OK;
    }
    const double s = D > 0 ? 1.0 : -1.0;
    int k = 0;
    for (int i = 1; i + 1 < n; i++)
        if (s * (y[i + 1] - y[i]) > s * (y[k + 1] - y[k])) k = i;
    out->steep_index = k;
    out->max_step = s * (y[k + 1] - y[k]);
    out->sharpness = out->max_step / fabs(D);
    out->x_steep_lo = x[k];
    out->x_steep_hi = x[k + 1];
    out->x_steep = from_u(0.5 * (to_u(x[k], log_x) + to_u(x[k + 1], log_x)), log_x);
    out->x10 = crossing(x, y, n, s, y[0] + 0.1 * D, log_x);
    out->x90 = crossing(x, y, n, s, y[0] + 0.9 * D, log_x);
    out->width = out->x90 - out->x10;
    if (log_x) out->width_log10 = log10(out->x90 / out->x10);
    return STRATA_OK;
}
