/* probes/geom_acts.c — row-block provider over a capture file (strata_acts
 * reader), shared by strata_pca_fit_acts and strata_cka_fit_acts. */
#include "geom_core.h"

#include <stdio.h>
#include <string.h>

#include "strata/capture.h"

int geom_acts_read(void *user, int src, int64_t row0, int64_t n, float *buf,
                   const float **rows, st_err *err)
{
    const geom_acts_user *u = user;
    strata_status rc = strata_acts_read(u->a, u->hooks[src], row0, n, buf);
    if (rc < 0)
        return st_seterr(err, rc, "reading rows [%lld, %lld) of %s: %s", (long long)row0,
                         (long long)(row0 + n), u->hooks[src], strata_acts_errmsg(u->a));
    *rows = buf;
    return STRATA_OK;
}

int geom_acts_widths(strata_acts *a, int n, const char *const *hooks, int64_t *width,
                     st_err *err)
{
    for (int i = 0; i < n; i++) {
        width[i] = hooks[i] ? strata_acts_row_width(a, hooks[i]) : -1;
        if (width[i] >= 0) continue;
        char have[256] = "";
        size_t len = 0;
        for (int h = 0; h < strata_acts_n_hooks(a) && h < 6; h++) {
            int w = snprintf(have + len, sizeof have - len, "%s%s", h ? ", " : "",
                             strata_acts_hook(a, h));
            if (w < 0 || (size_t)w >= sizeof have - len) break;
            len += (size_t)w;
        }
        return st_seterr(err, STRATA_ERR_NOTFOUND, "no hook '%s' in the activation file (it has: %s%s)",
                         hooks[i] ? hooks[i] : "(null)", have[0] ? have : "none",
                         strata_acts_n_hooks(a) > 6 ? ", ..." : "");
    }
    return STRATA_OK;
}
