/* util/par_threads.h — how many OpenMP threads a parallel region gets
 * (internal; used by the model kernels, the trainer and the analysis modules).
 *
 * Defines: st_par_threads(), ST_PAR_MIN_WORK.
 *
 * Threads for a parallel region of about `work` element operations: all of
 * n_threads (<= 0: the OpenMP default), or one when the work is below
 * ST_PAR_MIN_WORK, where forking and joining the pool (and, on a busy
 * machine, waiting for a descheduled worker at the barrier) costs more than
 * the work.  Tiny models and token-by-token generation stay single-threaded
 * inside each kernel; a 2-thread greedy generation on stories260K had run
 * up to 40x slower than 1 thread while other jobs shared the cores.
 */
#ifndef STRATA_UTIL_PAR_THREADS_H
#define STRATA_UTIL_PAR_THREADS_H

#include <omp.h>

enum { ST_PAR_MIN_WORK = 1 << 16 };
static inline int st_par_threads(int n_threads, double work)
{
    if (work < ST_PAR_MIN_WORK) return 1;
    return n_threads > 0 ? n_threads : omp_get_max_threads();
}

#endif
