/* io/safetensors.h — defensive reader of the safetensors format (internal).
 *
 * Format: u64 little-endian N; N bytes of JSON header
 *   { "<name>": {"dtype": "F32"|"F16"|"BF16"|..., "shape": [..],
 *                "data_offsets": [begin, end]}, ..., "__metadata__": {...} }
 * then the data region; offsets are relative to its start (byte 8 + N).
 * dtypes: F32, F16, BF16 (weights) and BOOL, U8, I8, F8_E4M3, F8_E5M2, I16,
 * U16, I32, U32, F64, I64, U64 (buffers: sizes checked, never converted).
 * Checked before use: N within the file, every [begin,end) inside the data
 * region, end-begin == prod(shape)*sizeof(dtype), no two tensors overlapping.
 */
#ifndef STRATA_IO_SAFETENSORS_H
#define STRATA_IO_SAFETENSORS_H

#include <stdint.h>
#include "io/mmap_file.h"
#include "util/err.h"

/* Weight dtypes first; the rest (BOOL masks, integer buffers, F64, F8) are
 * parsed and bounds-checked so a file carrying them opens, and refused only
 * when a binder asks for such a tensor as a weight. */
typedef enum st_dtype {
    ST_DT_F32 = 0, ST_DT_F16 = 1, ST_DT_BF16 = 2,
    ST_DT_OTHER = 3            /* any other safetensors dtype: name in dtype_name */
} st_dtype;

typedef struct st_sft_tensor {
    char *name;
    int32_t dtype;             /* st_dtype */
    char dtype_name[8];        /* as in the header: "F32", "BOOL", "I64", ... */
    int32_t used;              /* set by the weight source when a binder takes it */
    int32_t counted;           /* its bytes are in the source's bytes_mapped */
    int32_t ndim;
    int64_t shape[8];
    const unsigned char *data; /* into the mapping */
    uint64_t nbytes;
} st_sft_tensor;

typedef struct st_safetensors {
    char *path;
    st_mmap mm;
    st_sft_tensor *tensors;    /* sorted by name */
    int64_t n_tensors;
} st_safetensors;

int st_safetensors_open(st_safetensors *f, const char *path, st_err *err);
void st_safetensors_close(st_safetensors *f);
/* NULL if absent. */
const st_sft_tensor *st_safetensors_find(const st_safetensors *f, const char *name);

#endif
