/* dist/dist.h — the process group of a distributed job (internal).
 *
 * Defines: st_dist_active(), collective reductions used by the distributed
 * capture and fitting (st_dist_allreduce_*, st_dist_bcast,
 * st_dist_allgather_i64, st_dist_agree), and, in an MPI build,
 * st_dist_comm() for parallel HDF5.
 *
 * Every call is collective when the group has more than one rank: all ranks
 * must make the same calls in the same order with the same counts, or the
 * job hangs.  A rank that fails locally must still take part in the next
 * st_dist_agree() so that every rank learns of the failure and returns.
 * With one rank (serial build, or an MPI build run without mpirun) each
 * call returns at once and leaves the buffers as they are.
 */
#ifndef STRATA_DIST_DIST_H
#define STRATA_DIST_DIST_H

#include <stddef.h>
#include <stdint.h>
#include "strata/dist.h"
#include "util/err.h"

/* 1 when the group has more than one rank. */
int st_dist_active(void);

/* In place, element-wise sums over all ranks: buf[0..n). */
int st_dist_allreduce_sum_f64(double *buf, size_t n, st_err *err);
int st_dist_allreduce_sum_i64(int64_t *buf, size_t n, st_err *err);
/* In place, element-wise maximum over all ranks. */
int st_dist_allreduce_max_f64(double *buf, size_t n, st_err *err);

/* Copies `bytes` bytes of buf on rank `root` into buf on every rank. */
int st_dist_bcast(void *buf, size_t bytes, int root, st_err *err);

/* all[r] = the `mine` of rank r, for r in [0, size). */
int st_dist_allgather_i64(int64_t mine, int64_t *all, st_err *err);

/* Agreement on success: every rank passes its own status (0 ok, < 0
 * failed).  Returns 0 when all ranks passed 0; otherwise the most negative
 * status, with err naming the lowest failing rank when this rank itself
 * was fine ("rank R failed").  A failed MPI call is STRATA_ERR_IO. */
int st_dist_agree(int status, st_err *err);

#ifdef STRATA_HAVE_MPI
#include <mpi.h>
/* The library's communicator (a duplicate of the user's or of MPI_COMM_WORLD). */
MPI_Comm st_dist_comm(void);
#endif

#endif
