/* io/safetensors_write.h — writing float32 tensors as a safetensors file
 * (internal).  Format as in safetensors.h: u64 little-endian header length,
 * the JSON header (padded with spaces to a multiple of 8 bytes), the data.
 */
#ifndef STRATA_IO_SAFETENSORS_WRITE_H
#define STRATA_IO_SAFETENSORS_WRITE_H

#include <stdint.h>
#include "util/err.h"

typedef struct st_sft_out {
    const char *name;
    int32_t ndim;
    int64_t shape[4];
    const float *data;   /* prod(shape) floats */
} st_sft_out;

/* Writes the tensors in the order given (data offsets ascending) with
 * "__metadata__": {"format": "pt"}; every write, fflush, fsync and fclose is
 * checked (a full disk is STRATA_ERR_IO naming the file).  A partial file
 * may be left behind on failure: write into a temporary folder. */
int st_safetensors_write(const char *path, const st_sft_out *t, int n, st_err *err);

#endif
