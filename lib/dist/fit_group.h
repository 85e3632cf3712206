/* dist/fit_group.h — what the distributed fits (probes, PCA, CKA) need from
 * the process group (internal).
 *
 * Defines: st_fit_group (is this call split over ranks, and which rows are
 * this rank's), st_fit_group_init(), st_fit_check() (status agreement that
 * hands the failing rank's message to every rank), st_fit_sum() (a sum over
 * ranks that is bitwise the same on every rank).
 *
 * A fit runs distributed when its params ask for it (distributed = 1) and
 * the group has more than one rank; otherwise every helper here is the
 * identity and costs one branch, so serial fits are unchanged.
 */
#ifndef STRATA_DIST_FIT_GROUP_H
#define STRATA_DIST_FIT_GROUP_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

typedef struct st_fit_group {
    int on;          /* 1: reduce over the ranks of the group */
    int rank, size;  /* this rank and the group size (0 and 1 when !on) */
    int64_t lo, hi;  /* rows [lo, hi) of n that this rank reads */
} st_fit_group;

/* on = want && group size > 1; rows: st_split_even share of n when on, else
 * [0, n). */
void st_fit_group_init(st_fit_group *g, int want, int64_t n);

/* Status agreement (collective when g->on): returns 0 when every rank
 * passed status >= 0; otherwise the status of the lowest failing rank, and
 * every other rank's err becomes "rank R of P: <that rank's message>". */
int st_fit_check(const st_fit_group *g, int status, st_err *err);

/* In place sum over ranks of buf[0..n) (collective when g->on).  The result
 * is broadcast from rank 0 after the reduction, so it is bitwise identical
 * on every rank (MPI does not promise that of MPI_Allreduce): solvers that
 * branch on it (L-BFGS) then take the same path everywhere. */
int st_fit_sum(const st_fit_group *g, double *buf, size_t n, st_err *err);

/* The same without the broadcast (statistics that only feed arithmetic). */
int st_fit_sum_fast(const st_fit_group *g, double *buf, size_t n, st_err *err);

#endif
