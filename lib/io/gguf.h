/* io/gguf.h — defensive reader of GGUF v2/v3 files (internal).
 *
 * Defines: st_gguf (opaque context), st_gguf_value, st_gguf_tensor,
 * ST_GGUF_TYPE_* (metadata value types), ST_GGML_TYPE_* (tensor types),
 * st_gguf_open(), st_gguf_free(), st_gguf_errmsg(), metadata lookup
 * (st_gguf_find_key() and typed getters st_gguf_get_*()), array access
 * (st_gguf_arr_*(), st_gguf_val_*()), tensor infos (st_gguf_find_tensor(),
 * st_gguf_tensor_at()), dequantisation (st_gguf_dequant(),
 * st_gguf_tensor_to_f32()), type names and sizes, and st_gguf_dump(),
 * st_gguf_dump_msg(), st_gguf_dump_ctx() (the listing behind
 * `strata info FILE.gguf --gguf`).
 *
 * The file format, as written in the GGUF specification (ggml docs/gguf.md);
 * every number is little-endian, and nothing is aligned unless said:
 *   1. magic: the 4 bytes "GGUF"
 *   2. u32 version: 2 or 3 here (version 1 had u32 counts; refused)
 *   3. u64 tensor_count
 *   4. u64 kv_count
 *   5. kv_count key/value pairs: string key; u32 value_type; value, where
 *        string = u64 length + that many bytes (UTF-8, no NUL)
 *        array  = u32 element type + u64 count + count values (arrays may
 *                 nest: an array of arrays of strings is legal)
 *        bool   = one byte, 0 or 1
 *   6. tensor_count tensor infos: string name; u32 n_dims (1..4);
 *        u64 ne[n_dims]; u32 ggml type; u64 offset
 *   7. zero padding up to a multiple of ALIGNMENT (general.alignment, a u32
 *      power of two; 32 when absent)
 *   8. tensor data: tensor i starts at data_start + offset_i, and each offset
 *      is a multiple of ALIGNMENT.
 *
 * Shapes: ggml lists dimensions fastest-first.  ne[0] is the contiguous
 * (innermost) dimension, so a row-major [out][in] matrix has ne = {in, out}.
 * Block-quantised types pack ne[0] in blocks of 32 (or 256) elements.
 *
 * Checked before anything is used: magic, version, every count and string
 * length against the bytes left in the file (so nothing is ever allocated
 * according to an unchecked count), value types, bool values, nesting depth,
 * duplicate keys and tensor names, n_dims in 1..4, element-count and byte-size
 * overflow, ne[0] a multiple of the block size, unknown tensor types,
 * alignment a power of two, offsets aligned, every tensor inside the file and
 * no two tensors overlapping.
 *
 * Ownership: the context owns the mapping and every string and value it hands
 * out; they stay valid until st_gguf_free().  Tensor data pointers point into
 * the read-only mapping.  A context is not modified by lookups except for its
 * error message, so it is not thread-safe to share one while getters fail.
 */
#ifndef STRATA_IO_GGUF_H
#define STRATA_IO_GGUF_H

#include <stdint.h>
#include <stdio.h>
#include "util/err.h"

#define ST_GGUF_MAGIC "GGUF"
#define ST_GGUF_DEFAULT_ALIGNMENT 32
#define ST_GGUF_MAX_DIMS 4
#define ST_GGUF_MAX_NESTING 8     /* arrays of arrays deeper than this are refused */

/* Metadata value types (gguf_metadata_value_type). */
enum {
    ST_GGUF_TYPE_UINT8 = 0,
    ST_GGUF_TYPE_INT8 = 1,
    ST_GGUF_TYPE_UINT16 = 2,
    ST_GGUF_TYPE_INT16 = 3,
    ST_GGUF_TYPE_UINT32 = 4,
    ST_GGUF_TYPE_INT32 = 5,
    ST_GGUF_TYPE_FLOAT32 = 6,
    ST_GGUF_TYPE_BOOL = 7,
    ST_GGUF_TYPE_STRING = 8,
    ST_GGUF_TYPE_ARRAY = 9,
    ST_GGUF_TYPE_UINT64 = 10,
    ST_GGUF_TYPE_INT64 = 11,
    ST_GGUF_TYPE_FLOAT64 = 12,
    ST_GGUF_TYPE_COUNT = 13
};

/* Tensor types (ggml_type).  Only F32, F16, BF16, Q8_0 and Q4_0 can be
 * converted to float32 by strata; the others are known so that files holding
 * them can be listed and refused with a clear message. */
enum {
    ST_GGML_TYPE_F32 = 0,
    ST_GGML_TYPE_F16 = 1,
    ST_GGML_TYPE_Q4_0 = 2,
    ST_GGML_TYPE_Q4_1 = 3,
    ST_GGML_TYPE_Q5_0 = 6,
    ST_GGML_TYPE_Q5_1 = 7,
    ST_GGML_TYPE_Q8_0 = 8,
    ST_GGML_TYPE_Q8_1 = 9,
    ST_GGML_TYPE_Q2_K = 10,
    ST_GGML_TYPE_Q3_K = 11,
    ST_GGML_TYPE_Q4_K = 12,
    ST_GGML_TYPE_Q5_K = 13,
    ST_GGML_TYPE_Q6_K = 14,
    ST_GGML_TYPE_Q8_K = 15,
    ST_GGML_TYPE_IQ2_XXS = 16,
    ST_GGML_TYPE_IQ2_XS = 17,
    ST_GGML_TYPE_IQ3_XXS = 18,
    ST_GGML_TYPE_IQ1_S = 19,
    ST_GGML_TYPE_IQ4_NL = 20,
    ST_GGML_TYPE_IQ3_S = 21,
    ST_GGML_TYPE_IQ2_S = 22,
    ST_GGML_TYPE_IQ4_XS = 23,
    ST_GGML_TYPE_I8 = 24,
    ST_GGML_TYPE_I16 = 25,
    ST_GGML_TYPE_I32 = 26,
    ST_GGML_TYPE_I64 = 27,
    ST_GGML_TYPE_F64 = 28,
    ST_GGML_TYPE_IQ1_M = 29,
    ST_GGML_TYPE_BF16 = 30,
    ST_GGML_TYPE_TQ1_0 = 34,
    ST_GGML_TYPE_TQ2_0 = 35,
    ST_GGML_TYPE_MXFP4 = 39,
    ST_GGML_TYPE_COUNT = 40
};

/* Block layouts of the types strata dequantises (QK = 32 elements):
 *   Q8_0: { f16 d; int8 qs[32]; }        34 bytes, x[j] = d * qs[j]
 *   Q4_0: { f16 d; uint8 qs[16]; }       18 bytes, x[j]    = d * ((qs[j] & 15) - 8),
 *                                                   x[j+16] = d * ((qs[j] >> 4) - 8), j < 16 */
#define ST_GGML_QK8_0 32
#define ST_GGML_QK4_0 32

/* One metadata value.  Scalars are decoded; strings are copied (NUL-terminated,
 * `n` bytes long; a string may itself contain NULs); arrays of fixed-size
 * elements keep a pointer to their raw little-endian bytes in the mapping
 * (possibly unaligned: read them with st_gguf_val_arr_int/_float or the copy
 * helpers); arrays of strings or arrays have one st_gguf_value per element. */
typedef struct st_gguf_value {
    uint32_t type;               /* ST_GGUF_TYPE_* */
    uint32_t elem_type;          /* arrays: the elements' type */
    uint64_t n;                  /* arrays: element count; strings: length in bytes */
    union {
        uint64_t u;              /* UINT8..UINT64 and BOOL (0/1) */
        int64_t i;               /* INT8..INT64 */
        double f;                /* FLOAT32, FLOAT64 */
    } num;
    const char *str;             /* STRING */
    const unsigned char *raw;    /* ARRAY of fixed-size elements: [n * elem size] */
    const struct st_gguf_value *elems; /* ARRAY of STRING or ARRAY: [n] */
} st_gguf_value;

/* One tensor info.  Shape fastest-first (see above); ne[n_dims..3] = 1. */
typedef struct st_gguf_tensor {
    const char *name;
    uint32_t type;               /* ST_GGML_TYPE_* */
    uint32_t n_dims;             /* 1..4 */
    int64_t ne[ST_GGUF_MAX_DIMS];
    int64_t n_elem;              /* product of ne */
    uint64_t offset;             /* from the start of the data section */
    uint64_t nbytes;
    const void *data;            /* into the mapping (aligned to general.alignment) */
} st_gguf_tensor;

typedef struct st_gguf st_gguf;

/* ---------------- open / close ---------------- */

/* Maps and parses `path`.  *out is set even on failure (unless allocating the
 * context itself failed, then it is NULL) so st_gguf_errmsg() can explain;
 * free it with st_gguf_free() either way.
 * Returns STRATA_OK, STRATA_ERR_IO, STRATA_ERR_FORMAT (malformed),
 * STRATA_ERR_UNSUPPORTED (version, big-endian file, unknown tensor type) or
 * STRATA_ERR_NOMEM. */
int st_gguf_open(const char *path, st_gguf **out);
void st_gguf_free(st_gguf *g);                       /* NULL is a no-op */
/* Last error on this handle, "" if none; g == NULL gives a static text. */
const char *st_gguf_errmsg(const st_gguf *g);
const char *st_gguf_path(const st_gguf *g);
uint32_t st_gguf_version(const st_gguf *g);
uint32_t st_gguf_alignment(const st_gguf *g);
uint64_t st_gguf_data_offset(const st_gguf *g);      /* file offset of the data section */
uint64_t st_gguf_file_size(const st_gguf *g);
/* 1 if [p, p + n) lies in the file's read-only mapping. */
int st_gguf_in_mapping(const st_gguf *g, const void *p, size_t n);

/* ---------------- metadata ---------------- */

int64_t st_gguf_n_kv(const st_gguf *g);
const char *st_gguf_key(const st_gguf *g, int64_t id);          /* NULL if out of range */
int64_t st_gguf_find_key(const st_gguf *g, const char *key);    /* -1 if absent */
const st_gguf_value *st_gguf_kv(const st_gguf *g, int64_t id);  /* NULL if out of range */
int st_gguf_kv_type(const st_gguf *g, int64_t id);              /* -1 if out of range */

/* Typed getters by key id.  They never abort: on a type mismatch they return
 * STRATA_ERR_FORMAT, on a value that does not fit STRATA_ERR_RANGE, on a bad id
 * STRATA_ERR_NOTFOUND, each with a message (naming file, key, expected and
 * actual type) in st_gguf_errmsg(g); *out is untouched then.
 *   _int:   any integer type (UINT8..INT64); a UINT64 above INT64_MAX is RANGE
 *   _float: FLOAT32 or FLOAT64
 *   _bool:  BOOL
 *   _str:   STRING (borrowed, NUL-terminated; *len may be NULL)
 *   _arr:   ARRAY (element type and count; either pointer may be NULL) */
int st_gguf_get_int(st_gguf *g, int64_t id, int64_t *out);
int st_gguf_get_float(st_gguf *g, int64_t id, double *out);
int st_gguf_get_bool(st_gguf *g, int64_t id, int *out);
int st_gguf_get_str(st_gguf *g, int64_t id, const char **out, uint64_t *len);
int st_gguf_get_arr(st_gguf *g, int64_t id, uint32_t *elem_type, uint64_t *n);

/* Element j of the array under key id, with the same rules as above
 * (STRATA_ERR_RANGE when j >= n). */
int st_gguf_arr_int(st_gguf *g, int64_t id, uint64_t j, int64_t *out);
int st_gguf_arr_float(st_gguf *g, int64_t id, uint64_t j, double *out);
int st_gguf_arr_str(st_gguf *g, int64_t id, uint64_t j, const char **out, uint64_t *len);
/* Whole numeric arrays: `n` must equal the array's length.
 *   _f32: FLOAT32/FLOAT64 elements; _i32: integer elements that fit in int32. */
int st_gguf_arr_copy_f32(st_gguf *g, int64_t id, float *out, uint64_t n);
int st_gguf_arr_copy_i32(st_gguf *g, int64_t id, int32_t *out, uint64_t n);

/* The same on a bare value (for nested arrays); status only, no message. */
int st_gguf_val_int(const st_gguf_value *v, int64_t *out);
int st_gguf_val_float(const st_gguf_value *v, double *out);
int st_gguf_val_arr_int(const st_gguf_value *v, uint64_t j, int64_t *out);
int st_gguf_val_arr_float(const st_gguf_value *v, uint64_t j, double *out);
/* Element j of an array of strings or arrays; NULL otherwise or out of range. */
const st_gguf_value *st_gguf_val_arr_elem(const st_gguf_value *v, uint64_t j);

/* ---------------- tensors ---------------- */

int64_t st_gguf_n_tensors(const st_gguf *g);
const st_gguf_tensor *st_gguf_tensor_at(const st_gguf *g, int64_t i);  /* NULL if out of range */
int64_t st_gguf_find_tensor(const st_gguf *g, const char *name);       /* -1 if absent */

/* Converts tensor i to float32 into dst [n_elem] (same element order, ne[0]
 * fastest).  STRATA_ERR_UNSUPPORTED, naming the tensor and its type, for any
 * type but F32, F16, BF16, Q8_0 and Q4_0. */
int st_gguf_tensor_to_f32(st_gguf *g, int64_t i, float *dst);

/* ---------------- types ---------------- */

/* "F32", "Q4_K", ...; NULL for an unknown id. */
const char *st_ggml_type_name(uint32_t type);
/* Elements per block and bytes per block; 0 if the type is unknown. */
int st_ggml_type_info(uint32_t type, int64_t *block_elems, int64_t *block_bytes);
/* "uint32", "string", "array", ...; "?" for an unknown id. */
const char *st_gguf_type_name(uint32_t type);
/* 1 if strata can dequantise this tensor type. */
int st_ggml_type_supported(uint32_t type);

/* Converts n elements of `type` at src (raw little-endian, any alignment) to
 * float32.  n must be a multiple of the type's block size (STRATA_ERR_ARG).
 * STRATA_ERR_UNSUPPORTED for types other than F32, F16, BF16, Q8_0, Q4_0. */
int st_gguf_dequant(uint32_t type, const void *src, float *dst, int64_t n);

/* ---------------- listing ---------------- */

/* Writes a listing of the file to `out`: header, every metadata key with its
 * type and value (arrays longer than 8 elements abbreviated to their first
 * elements and length), and every tensor with type, shape (fastest-first, as
 * ggml writes it, and the row-major [..] shape) and byte size.  json != 0
 * writes one JSON object instead of text.  Returns STRATA_OK, or the status
 * of a file that fails to open (nothing is written then; use
 * st_gguf_dump_msg() to get the message too). */
int st_gguf_dump(const char *path, FILE *out, int json);
/* As st_gguf_dump(); a failure's message goes to err (may be NULL). */
int st_gguf_dump_msg(const char *path, FILE *out, int json, st_err *err);
/* The same listing for an open context. */
int st_gguf_dump_ctx(const st_gguf *g, FILE *out, int json);

#endif
