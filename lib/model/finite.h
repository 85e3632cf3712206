/* model/finite.h — NaN/Inf detection in the forward pass (internal).
 *
 * Defines: st_finite_pt (one hook point's buffer), st_finite_check(). */
#ifndef STRATA_MODEL_FINITE_H
#define STRATA_MODEL_FINITE_H

#include <stdint.h>
#include "model/forward.h"

/* A buffer as a hook point sees it: [B][T][width] (rows b*T + t, only
 * t < lengths[b] are looked at), or with last_only [B][width] holding the last
 * valid position of each sequence. */
typedef struct st_finite_pt {
    int kind, layer;      /* strata_hook_kind, layer (-1: global point) */
    const float *buf;     /* NULL: skipped */
    int64_t width;
    int last_only;
} st_finite_pt;

/* Per m->nonfinite_mode: scans pts[n-1]; if it holds NaN/Inf, finds the first
 * of pts[0..n) that does, records "nan at <hook> (layer l), sequence b
 * position p, element e" in m->nonfinite_at (WARN: once) and returns 0, or
 * STRATA_ERR_NUMERIC with that message (ERROR).  0 when all is finite or the
 * mode is OFF. */
int st_finite_check(strata_model *m, const st_run *run, const st_finite_pt *pts, int n);

#endif
