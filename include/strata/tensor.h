/* strata/tensor.h — the tensor view handed to hooks and analysis code.
 *
 * Defines: strata_tensor.
 *
 * All arrays in strata are row-major, last index fastest.  A view may be a
 * slice of a larger buffer (one head of [B,T,H,dh]), so always index through
 * strides, given in elements (not bytes):
 *   element (i0,i1,i2,i3) = data[i0*strides[0] + i1*strides[1] + ...]
 *
 * Threads: a strata_tensor is a borrowed view valid during one hook call
 * on the calling thread.
 */
#ifndef STRATA_TENSOR_H
#define STRATA_TENSOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_MAX_DIMS 4

typedef struct strata_tensor {
    float *data;                       /* borrowed; valid only during the callback */
    int32_t ndim;                      /* 1..4 */
    int64_t shape[STRATA_MAX_DIMS];    /* unused dims are 1 */
    int64_t strides[STRATA_MAX_DIMS];  /* in elements */
} strata_tensor;

#ifdef __cplusplus
}
#endif
#endif
