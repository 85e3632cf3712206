/* dist/fit_group.c — the process group as the distributed fits use it (see
 * fit_group.h). */
#include "dist/fit_group.h"

#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "dist/partition.h"

void st_fit_group_init(st_fit_group *g, int want, int64_t n)
{
    memset(g, 0, sizeof *g);
    g->size = 1;
    g->hi = n > 0 ? n : 0;
    if (!want || !st_dist_active()) return;
    g->on = 1;
    g->rank = strata_dist_rank();
    g->size = strata_dist_size();
    st_split_even(n > 0 ? n : 0, g->size, g->rank, &g->lo, &g->hi);
}

int st_fit_check(const st_fit_group *g, int status, st_err *err)
{
    if (!g->on) return status < 0 ? status : 0;
    int64_t *all = malloc(sizeof *all * (size_t)g->size);
    st_err tmp;
    if (!all) { /* still take part, so no rank waits: agreement without the message */
        int rc = st_dist_agree(status < 0 ? status : STRATA_ERR_NOMEM, err);
        return rc < 0 ? rc : STRATA_ERR_NOMEM;
    }
    int rc = st_dist_allgather_i64(status < 0 ? status : 0, all, &tmp);
    if (rc < 0) { free(all); return st_seterr(err, rc, "%s", tmp.msg); }
    int bad = -1;
    for (int r = 0; r < g->size && bad < 0; r++) if (all[r] < 0) bad = r;
    if (bad < 0) { free(all); return 0; }
    int st = (int)all[bad];
    free(all);
    char msg[ST_ERRMSG_MAX];
    memset(msg, 0, sizeof msg);
    if (g->rank == bad) memcpy(msg, err->msg, sizeof msg);
    rc = st_dist_bcast(msg, sizeof msg, bad, &tmp);
    if (rc < 0) return st_seterr(err, rc, "%s", tmp.msg);
    msg[sizeof msg - 1] = 0;
    if (g->rank != bad) st_seterr(err, st, "rank %d of %d: %s", bad, g->size, msg);
    return st;
}

int st_fit_sum_fast(const st_fit_group *g, double *buf, size_t n, st_err *err)
{
    if (!g->on || !n) return 0;
    return st_dist_allreduce_sum_f64(buf, n, err);
}

int st_fit_sum(const st_fit_group *g, double *buf, size_t n, st_err *err)
{
    if (!g->on || !n) return 0;
    int rc = st_dist_allreduce_sum_f64(buf, n, err);
    if (rc < 0) return rc;
    return st_dist_bcast(buf, n * sizeof *buf, 0, err);
}
