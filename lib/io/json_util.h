/* io/json_util.h — typed field access on a jansson object with messages that
 * name the file and field (internal). */
#ifndef STRATA_IO_JSON_UTIL_H
#define STRATA_IO_JSON_UTIL_H

#include <jansson.h>
#include <stdint.h>
#include "util/err.h"

/* Each returns STRATA_OK, or (when the field is required and absent, or has
 * the wrong type) STRATA_ERR_FORMAT with "<path>: field '<key>' ...".
 * Absent optional fields leave *out at `dflt`.  A JSON null counts as absent. */
int st_json_int(const json_t *obj, const char *key, const char *path, int required,
                int64_t dflt, int64_t *out, st_err *err);
int st_json_num(const json_t *obj, const char *key, const char *path, int required,
                double dflt, double *out, st_err *err);
int st_json_bool(const json_t *obj, const char *key, const char *path, int required,
                 int dflt, int *out, st_err *err);
/* Borrowed string (valid while obj lives), or dflt. */
int st_json_str(const json_t *obj, const char *key, const char *path, int required,
                const char *dflt, const char **out, st_err *err);
/* Loads a JSON file; STRATA_ERR_IO / STRATA_ERR_FORMAT with line/column. */
int st_json_load_file(const char *path, json_t **out, st_err *err);

#endif
