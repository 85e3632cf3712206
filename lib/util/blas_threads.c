/* util/blas_threads.c — OpenBLAS thread-count mode (see blas_threads.h). */
#include "util/blas_threads.h"

#include <cblas.h>
#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int forward_mode;      /* OpenBLAS lowered to 1 thread by us */
static int saved_threads;     /* the count found when forward mode began */
static int forwards_running;

/* OpenBLAS threads itself with pthreads (openblas_get_parallel() == 1):
 * the only build whose count matters here. */
static int pthreads_blas(void) { return openblas_get_parallel() == 1; }

void st_blas_forward_begin(void)
{
    pthread_mutex_lock(&mu);
    forwards_running++;
    if (!forward_mode && pthreads_blas()) {
        int n = openblas_get_num_threads();
        if (n != 1) {
            saved_threads = n;
            openblas_set_num_threads(1);
            forward_mode = 1;
        }
    }
    pthread_mutex_unlock(&mu);
}

void st_blas_forward_end(void)
{
    pthread_mutex_lock(&mu);
    forwards_running--;
    pthread_mutex_unlock(&mu);
}

void st_blas_for_analysis(void)
{
    pthread_mutex_lock(&mu);
    if (forward_mode && forwards_running == 0) {
        openblas_set_num_threads(saved_threads);
        forward_mode = 0;
    }
    pthread_mutex_unlock(&mu);
}
