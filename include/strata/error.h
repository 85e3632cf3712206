/* strata/error.h — status codes shared by every strata call.
 *
 * Defines: strata_status (enum), strata_errstr().
 *
 * Convention (SQLite/ggml style): 0 is success, negative values are errors,
 * positive values are non-fatal outcomes (a hook asked to stop).  Every
 * handle type has its own *_errmsg() returning the detailed message of the
 * last failed call on that handle; strata_errstr() is static text per code.
 *
 * Threads: strata_errstr() returns static text and may be called from any
 * thread; each handle's *_errmsg() belongs to the thread using that handle.
 */
#ifndef STRATA_ERROR_H
#define STRATA_ERROR_H

#include "strata/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum strata_status {
    STRATA_OK = 0,
    STRATA_STOPPED = 1,           /* a callback asked to stop; not an error */
    STRATA_ERR_IO = -1,           /* open/read/write/mmap failed */
    STRATA_ERR_FORMAT = -2,       /* malformed or truncated file / field */
    STRATA_ERR_UNSUPPORTED = -3,  /* valid but not supported (dtype, arch, version) */
    STRATA_ERR_NOMEM = -4,        /* allocation failed */
    STRATA_ERR_ARG = -5,          /* bad argument from the caller */
    STRATA_ERR_NOTFOUND = -6,     /* named thing (hook, tensor, label) absent */
    STRATA_ERR_RANGE = -7,        /* index or size out of range */
    STRATA_ERR_NUMERIC = -8,      /* NaN/Inf, singular matrix, no convergence */
    STRATA_ERR_STATE = -9,        /* call not valid in the object's state */
    STRATA_ERR_EXISTS = -10       /* output exists and overwrite not allowed */
} strata_status;

/* Static, human-readable text for a status code.  Never NULL. */
STRATA_API const char *strata_errstr(int status);

#ifdef __cplusplus
}
#endif
#endif
