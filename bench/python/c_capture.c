/* bench/python/c_capture.c — a C capture hook loaded into the Python process
 * by bench_overhead.py, so that "run_with_cache in Python" and "the same
 * capture in C" are timed on the same model handle, interleaved.
 *
 * ccap_hook copies each hooked tensor into a malloc'd buffer of its own (a
 * fresh one per hook point and run, as Python must hand out new arrays);
 * ccap_free_all() frees them (call it after each run, inside the timing).
 * With ccap_set_reuse(1) the buffers are kept and reused by the next run (the
 * n-th hook call of a run writes the n-th buffer): a C program's best case,
 * with no allocation and no page faults.
 *
 *   cc -O2 -shared -fPIC -I include bench/python/c_capture.c -o libccap.so
 */
#include <stdlib.h>
#include <string.h>

#include "strata/hooks.h"

#define MAX_BUFS 8192
static float *fresh_bufs[MAX_BUFS], *keep_bufs[MAX_BUFS];
static size_t keep_caps[MAX_BUFS];
static int n_bufs, reuse;

void ccap_set_reuse(int on) { reuse = on; }

int ccap_hook(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)ctx; (void)user;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    if (n_bufs == MAX_BUFS) return 1;
    float *b;
    if (reuse) {
        if (keep_caps[n_bufs] < n) {
            free(keep_bufs[n_bufs]);
            keep_bufs[n_bufs] = malloc(n * sizeof(float));
            keep_caps[n_bufs] = n;
        }
        b = keep_bufs[n_bufs];
    } else {
        b = fresh_bufs[n_bufs] = malloc(n * sizeof(float));
    }
    if (!b) return 1;
    n_bufs++;
    if (ctx->head < 0) {
        memcpy(b, t->data, n * sizeof(float));
    } else {
        size_t o = 0;
        for (int64_t i0 = 0; i0 < t->shape[0]; i0++)
            for (int64_t i1 = 0; i1 < t->shape[1]; i1++)
                for (int64_t i2 = 0; i2 < t->shape[2]; i2++)
                    for (int64_t i3 = 0; i3 < t->shape[3]; i3++)
                        b[o++] = t->data[i0 * t->strides[0] + i1 * t->strides[1] +
                                         i2 * t->strides[2] + i3 * t->strides[3]];
    }
    return 0;
}

int ccap_free_all(void)
{
    int n = n_bufs;
    if (!reuse)
        for (int i = 0; i < n_bufs; i++) { free(fresh_bufs[i]); fresh_bufs[i] = NULL; }
    n_bufs = 0;
    return n;
}
