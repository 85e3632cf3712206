/* model/blas_vmem.c — does an address-space limit leave room for OpenBLAS?
 *
 * OpenBLAS (Debian's 0.3.21 at least) gives every BLAS thread a 128 MiB
 * buffer (blas_memory_alloc) and, when malloc refuses it, retries forever
 * instead of failing: under `ulimit -v` a process spins at its first matrix
 * product, or at exit joining a worker thread that spins.  Fixed upstream
 * (the allocation failure is reported), but the installed library is what
 * runs.  strata cannot catch that failure, so it checks the limit up front:
 * every BLAS thread's buffer plus a margin for strata itself (libraries,
 * OpenMP stacks, glibc arenas; measured: the stories260K forward needs
 * ~250 MB of address space with 1 BLAS thread, ~350 MB with 2). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "strata/model.h"

enum { BLAS_BUFFER_MIB = 128, MARGIN_MIB = 256 };

strata_status strata_blas_vmem_check(char *msg, size_t msg_cap)
{
    struct rlimit rl;
    if (msg && msg_cap) msg[0] = 0;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return STRATA_OK;
    int nt = openblas_get_num_threads();
    if (nt < 1) nt = 1;
    const unsigned long long need = ((unsigned long long)nt * BLAS_BUFFER_MIB + MARGIN_MIB) << 20;
    if ((unsigned long long)rl.rlim_cur >= need) return STRATA_OK;
    if (msg && msg_cap)
        snprintf(msg, msg_cap,
                 "the address-space limit (ulimit -v) is %llu MiB, below the %llu MiB strata needs "
                 "with %d OpenBLAS thread%s (%d MiB buffer each + %d MiB): this OpenBLAS would "
                 "spin forever instead of failing. Raise the limit, or set OPENBLAS_NUM_THREADS=1 "
                 "(then %d MiB); see docs/ERRORS.md",
                 (unsigned long long)(rl.rlim_cur >> 20), need >> 20, nt, nt == 1 ? "" : "s",
                 BLAS_BUFFER_MIB, MARGIN_MIB, BLAS_BUFFER_MIB + MARGIN_MIB);
    return STRATA_ERR_NOMEM;
}
