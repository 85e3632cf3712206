/* util/err.c — status strings and per-handle error messages. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *strata_errstr(int status)
{
    switch (status) {
    case STRATA_OK: return "ok";
    case STRATA_STOPPED: return "stopped by a callback";
    case STRATA_ERR_IO: return "input/output error";
    case STRATA_ERR_FORMAT: return "malformed input";
    case STRATA_ERR_UNSUPPORTED: return "unsupported";
    case STRATA_ERR_NOMEM: return "out of memory";
    case STRATA_ERR_ARG: return "invalid argument";
    case STRATA_ERR_NOTFOUND: return "not found";
    case STRATA_ERR_RANGE: return "out of range";
    case STRATA_ERR_NUMERIC: return "numerical error";
    case STRATA_ERR_STATE: return "invalid state";
    case STRATA_ERR_EXISTS: return "already exists";
    default: return "unknown status";
    }
}

int st_seterr(st_err *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void st_err_clear(st_err *err)
{
    if (err) err->msg[0] = '\0';
}
