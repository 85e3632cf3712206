/* cli/parse_compat.c — TEMPORARY weak stand-ins for the checked numeric
 * parsers of CONTRACTS.md until cli/common.c provides them (the strong
 * definitions there win at link time). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((weak)) int cli_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "strata %s: %s: '%s' is not an integer in [%lld, %lld]\n", cmd, opt, s, (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}
__attribute__((weak)) int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (cli_parse_i64(cmd, opt, s, lo, hi, &v)) return -1;
    *out = (int)v;
    return 0;
}
__attribute__((weak)) int cli_parse_f64(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "strata %s: %s: '%s' is not a number in [%g, %g]\n", cmd, opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}
