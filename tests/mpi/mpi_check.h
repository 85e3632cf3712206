/* tests/mpi/mpi_check.h — a minimal harness for tests run under mpirun.
 *
 * Check forks a child per test, which MPI forbids, so these tests are plain
 * programs: MPI_CHECK(cond, fmt, ...) prints the rank and the failed
 * condition and calls MPI_Abort, which makes mpirun fail the whole job (a
 * failed rank never leaves the others waiting in a collective). */
#ifndef STRATA_TESTS_MPI_CHECK_H
#define STRATA_TESTS_MPI_CHECK_H

#include <mpi.h>
#include <stdio.h>

#define MPI_CHECK(cond, ...)                                                            \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            int r_;                                                                     \
            MPI_Comm_rank(MPI_COMM_WORLD, &r_);                                         \
            fprintf(stderr, "%s:%d: rank %d: check failed: %s: ", __FILE__, __LINE__, r_, \
                    #cond);                                                             \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                      \
            fflush(stderr);                                                             \
            MPI_Abort(MPI_COMM_WORLD, 1);                                               \
        }                                                                               \
    } while (0)

#endif
