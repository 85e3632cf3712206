/* util/err.h — per-handle error messages (internal).
 *
 * Defines: st_err (a fixed buffer every handle embeds), st_seterr(),
 * st_err_clear(), ST_TRY().
 *
 * Library code never prints, exits or aborts on bad input: it writes one
 * message naming the file, field and problem into the handle's st_err and
 * returns a negative strata_status.
 */
#ifndef STRATA_UTIL_ERR_H
#define STRATA_UTIL_ERR_H

#include <stddef.h>
#include "strata/error.h"

#define ST_ERRMSG_MAX 1024

typedef struct st_err {
    char msg[ST_ERRMSG_MAX];
} st_err;

/* Formats the message into err (may be NULL) and returns `status`, so that
 * callers write `return st_seterr(err, STRATA_ERR_FORMAT, "%s: ...", path);`. */
int st_seterr(st_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void st_err_clear(st_err *err);

#define ST_TRY(expr) do { int st_rc_ = (expr); if (st_rc_ < 0) return st_rc_; } while (0)

#endif
