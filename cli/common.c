/* cli/common.c — helpers shared by subcommands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

int cli_parse_ids(const char *s, int **out)
{
    int cap = 16, n = 0;
    int *ids = malloc(sizeof *ids * cap);
    if (!ids) return -1;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 0x7fffffff) { free(ids); return -1; }
        if (n == cap) {
            cap *= 2;
            int *t = realloc(ids, sizeof *ids * cap);
            if (!t) { free(ids); return -1; }
            ids = t;
        }
        ids[n++] = (int)v;
        p = end;
    }
    *out = ids;
    return n;
}
