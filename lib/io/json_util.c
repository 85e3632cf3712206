/* io/json_util.c — see json_util.h. */
#include "io/json_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return (v && !json_is_null(v)) ? v : NULL;
}

static int missing(const char *key, const char *path, st_err *err)
{
    return st_seterr(err, STRATA_ERR_FORMAT, "%s: missing required field '%s'", path, key);
}

int st_json_int(const json_t *obj, const char *key, const char *path, int required,
                int64_t dflt, int64_t *out, st_err *err)
{
    const json_t *v = field(obj, key);
    *out = dflt;
    if (!v) return required ? missing(key, path, err) : STRATA_OK;
    if (json_is_integer(v)) { *out = json_integer_value(v); return STRATA_OK; }
    if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        *out = (int64_t)json_real_value(v);
        return STRATA_OK;
    }
    return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' must be an integer", path, key);
}

int st_json_num(const json_t *obj, const char *key, const char *path, int required,
                double dflt, double *out, st_err *err)
{
    const json_t *v = field(obj, key);
    *out = dflt;
    if (!v) return required ? missing(key, path, err) : STRATA_OK;
    if (json_is_number(v)) { *out = json_number_value(v); return STRATA_OK; }
    return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' must be a number", path, key);
}

int st_json_bool(const json_t *obj, const char *key, const char *path, int required,
                 int dflt, int *out, st_err *err)
{
    const json_t *v = field(obj, key);
    *out = dflt;
    if (!v) return required ? missing(key, path, err) : STRATA_OK;
    if (json_is_boolean(v)) { *out = json_is_true(v); return STRATA_OK; }
    return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' must be true or false", path, key);
}

int st_json_str(const json_t *obj, const char *key, const char *path, int required,
                const char *dflt, const char **out, st_err *err)
{
    const json_t *v = field(obj, key);
    *out = dflt;
    if (!v) return required ? missing(key, path, err) : STRATA_OK;
    if (json_is_string(v)) { *out = json_string_value(v); return STRATA_OK; }
    return st_seterr(err, STRATA_ERR_FORMAT, "%s: field '%s' must be a string", path, key);
}

int st_json_load_file(const char *path, json_t **out, st_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return st_seterr(err, STRATA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    json_error_t je;
    json_t *j = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!j)
        return st_seterr(err, STRATA_ERR_FORMAT, "%s: invalid JSON at line %d column %d: %s",
                         path, je.line, je.column, je.text);
    *out = j;
    return STRATA_OK;
}
