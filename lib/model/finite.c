/* model/finite.c — where a forward pass first holds NaN or +-Inf (internal).
 *
 * forward.c calls st_finite_check after the embedding and after each layer's
 * attention output, MLP output and residual sum, and on the logits.  The
 * last point of the list is the one scanned every time (one pass over
 * [valid rows][width] floats); only when it holds a non-finite value are the
 * earlier points -- the sublayer's buffers still in memory, in forward order
 * -- scanned to name the first hook point that holds one. */
#include <math.h>
#include <stdio.h>

#include "model/finite.h"
#include "strata/hooks.h"

/* Index of the first non-finite value of x[0..n), or -1.  x * 0 is 0 for
 * finite x and NaN for NaN and +-Inf, so one vectorised sum decides. */
static int64_t first_nonfinite(const float *x, int64_t n)
{
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < n; i++) acc += x[i] * 0.0f;
    if (acc == 0.0f) return -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

/* Searches one point; on a hit sets *b, *t (position in the batch), *e. */
static int point_hit(const st_run *run, const st_finite_pt *p, int64_t *b, int64_t *t, int64_t *e)
{
    if (!p->buf) return 0;
    for (int64_t bb = 0; bb < run->B; bb++) {
        const int64_t len = run->lengths[bb];
        if (p->last_only) {
            int64_t k = first_nonfinite(p->buf + bb * p->width, p->width);
            if (k >= 0) { *b = bb; *t = len - 1; *e = k; return 1; }
            continue;
        }
        /* valid rows of sequence bb are contiguous: [bb*T, bb*T + len) */
        const float *row0 = p->buf + bb * (int64_t)run->T * p->width;
        int64_t k = first_nonfinite(row0, len * p->width);
        if (k >= 0) { *b = bb; *t = k / p->width; *e = k % p->width; return 1; }
    }
    return 0;
}

int st_finite_check(strata_model *m, const st_run *run, const st_finite_pt *pts, int n)
{
    if (m->nonfinite_mode == STRATA_NONFINITE_OFF || n < 1) return 0;
    if (m->nonfinite_mode == STRATA_NONFINITE_WARN && m->nonfinite_at[0]) return 0; /* known */
    int64_t b = 0, t = 0, e = 0;
    if (!point_hit(run, &pts[n - 1], &b, &t, &e)) return 0;
    int at = n - 1;
    for (int i = 0; i < n - 1; i++)
        if (point_hit(run, &pts[i], &b, &t, &e)) { at = i; break; }
    if (at == n - 1) point_hit(run, &pts[at], &b, &t, &e);
    const st_finite_pt *p = &pts[at];
    char name[128];
    if (strata_hook_name(p->kind, p->layer, name, sizeof name) < 0) snprintf(name, sizeof name, "?");
    const float v = p->buf[p->last_only ? b * p->width + e : (b * run->T + t) * p->width + e];
    char layer[32] = "";
    if (p->layer >= 0) snprintf(layer, sizeof layer, " (layer %d)", p->layer);
    snprintf(m->nonfinite_at, sizeof m->nonfinite_at,
             "%s at %s%s, sequence %lld position %lld, element %lld",
             isnan(v) ? "nan" : v > 0 ? "+inf" : "-inf", name, layer, (long long)b,
             (long long)(run->pos0 + t), (long long)e);
    if (m->nonfinite_mode == STRATA_NONFINITE_ERROR)
        return st_seterr(&m->err, STRATA_ERR_NUMERIC, "non-finite activation: %s", m->nonfinite_at);
    return 0;
}
