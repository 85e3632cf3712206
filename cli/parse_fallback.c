/* cli/parse_fallback.c — TEMPORARY weak copies of the checked numeric option
 * parsers agreed in the helpers' contract (cli_parse_int/_i64/_f64), used only
 * until the strong definitions in cli/common.c are on main.  Remove then. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int cli_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
    __attribute__((weak));
int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
    __attribute__((weak));
int cli_parse_f64(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
    __attribute__((weak));

static int starts_number(const char *s, int allow_point)
{
    const unsigned char *p = (const unsigned char *)s;
    if (*p == '+' || *p == '-') p++;
    if (allow_point && *p == '.') p++;
    return isdigit(*p);
}

int cli_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    long long v = 0;
    if (starts_number(s, 0)) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE || *end) end = NULL;
    }
    if (!end || v < lo || v > hi) {
        fprintf(stderr, "strata %s: %s: '%s' is not an integer in [%lld, %lld]\n", cmd, opt, s,
                (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (cli_parse_i64(cmd, opt, s, lo, hi, &v)) return -1;
    *out = (int)v;
    return 0;
}

int cli_parse_f64(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = 0;
    if (starts_number(s, 1)) {
        errno = 0;
        v = strtod(s, &end);
        if ((errno == ERANGE && fabs(v) > 1) || *end) end = NULL;
    }
    if (!end || !isfinite(v) || !(v >= lo && v <= hi)) {
        fprintf(stderr, "strata %s: %s: '%s' is not a number in [%g, %g]\n", cmd, opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}
