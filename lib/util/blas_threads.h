/* util/blas_threads.h — who sets OpenBLAS's (process-wide) thread count,
 * and when (internal).
 *
 * Defines: st_blas_forward_begin(), st_blas_forward_end(),
 * st_blas_for_analysis().
 *
 * The forward pass splits every matrix product over its OpenMP threads, each
 * calling single-threaded sgemm; a multi-threaded pthreads OpenBLAS beside
 * that pool makes a 2-thread GPT-2 forward 2-10x slower.  The analysis
 * modules are the other way round: their few big products are single calls
 * that OpenBLAS threads itself.  Debian's OpenBLAS (0.3.21, pthreads) has one
 * process-wide count and no per-call or per-thread one, so strata keeps a
 * mode under a mutex and changes the count only when the kind of work
 * changes, never per run:
 *   forward mode:  OpenBLAS at 1 thread (the count found is remembered);
 *                  entered by the first forward after analysis work (or ever)
 *   analysis mode: the remembered count back; entered by analysis work
 *                  when no forward is running.
 * Forwards on several threads at once keep forward mode (counted); analysis
 * that starts while a forward runs leaves it so (slower, same results: sgemm
 * gives the same values on any thread count here).  Nothing changes when
 * OpenBLAS is sequential, built for OpenMP (it is single-threaded inside our
 * parallel regions by itself) or already at one thread.
 */
#ifndef STRATA_UTIL_BLAS_THREADS_H
#define STRATA_UTIL_BLAS_THREADS_H

void st_blas_forward_begin(void);
void st_blas_forward_end(void);
void st_blas_for_analysis(void);

#endif
