/* strata/dist.h — one job on several processes (MPI).
 *
 * Defines: strata_dist_built(), strata_dist_init(), strata_dist_set_comm(),
 * strata_dist_rank(), strata_dist_size(), strata_dist_errmsg(),
 * strata_dist_finalize().
 *
 * A build configured with -DSTRATA_MPI=ON (docs/SCALE.md) runs the
 * distributed parts of capture and fitting on a process group: by default
 * MPI_COMM_WORLD, or the communicator given to strata_dist_set_comm().  The
 * default build is serial: one process, rank 0 of 1, every reduction the
 * identity; its strata_dist_init() refuses to run inside an MPI launcher
 * with more than one rank (each rank would redo the whole job and race on
 * the output) and says how to rebuild.
 *
 * Threads: call these from the thread that called MPI_Init (or
 * strata_dist_init); the distributed calls of the library then run their
 * collective operations from that thread only (MPI_THREAD_FUNNELED).
 */
#ifndef STRATA_DIST_H
#define STRATA_DIST_H

#include "strata/api.h"
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this library was built with MPI and parallel HDF5, else 0. */
STRATA_API int strata_dist_built(void);

/* Joins the process group.  MPI build: MPI_Init_thread(FUNNELED) unless the
 * program already initialised MPI (then its initialisation is used and left
 * to it to finalise); the library works on a duplicate of MPI_COMM_WORLD.
 * Serial build: STRATA_ERR_UNSUPPORTED when the environment shows an MPI
 * launcher with more than one rank (Open MPI, MPICH/PMI, PMIx, Slurm).
 * argc/argv may be NULL.  strata_dist_errmsg() says why on failure. */
STRATA_API strata_status strata_dist_init(int *argc, char ***argv);

/* Uses *comm (a pointer to an MPI_Comm; the library duplicates it) instead
 * of MPI_COMM_WORLD.  NULL goes back to MPI_COMM_WORLD.  Serial build:
 * STRATA_ERR_UNSUPPORTED unless comm is NULL. */
STRATA_API strata_status strata_dist_set_comm(const void *comm);

/* This process's rank in the group and the group's size (0 and 1 before
 * strata_dist_init and in the serial build). */
STRATA_API int strata_dist_rank(void);
STRATA_API int strata_dist_size(void);

/* The message of the last failed strata_dist_* call of this process. */
STRATA_API const char *strata_dist_errmsg(void);

/* Leaves the group: frees the library's communicator and, if
 * strata_dist_init initialised MPI, finalises it.  Safe to call twice. */
STRATA_API void strata_dist_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
