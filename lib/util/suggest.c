/* util/suggest.c — edit distance and the nearest-name suggestion used by
 * error messages ("hook 'blocks.0.hook_resid_pots' ...; did you mean
 * 'blocks.0.hook_resid_post'?").  O(len(a) * len(b)) per candidate, two rows. */
#include <stdio.h>
#include <string.h>

#include "util/suggest.h"

int st_edit_distance(const char *a, const char *b, int cap)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 255 || m > 255) return cap + 1;
    if ((int)(n > m ? n - m : m - n) > cap) return cap + 1;
    int prev[256], cur[256];
    for (size_t j = 0; j <= m; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= m; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            int v = sub < del ? sub : del;
            cur[j] = v < ins ? v : ins;
            if (cur[j] < row_min) row_min = cur[j];
        }
        if (row_min > cap) return cap + 1;
        memcpy(prev, cur, sizeof(int) * (m + 1));
    }
    return prev[m] <= cap ? prev[m] : cap + 1;
}

void st_suggest_init(st_suggest *s, const char *query)
{
    s->query = query;
    size_t len = strlen(query);
    s->best_dist = (int)(len / 4 > 2 ? len / 4 : 2) + 1;   /* strictly below this */
    s->best[0] = 0;
}

void st_suggest_offer(st_suggest *s, const char *candidate)
{
    if (!strcmp(candidate, s->query)) return;
    int d = st_edit_distance(s->query, candidate, s->best_dist - 1);
    if (d < s->best_dist) {
        s->best_dist = d;
        snprintf(s->best, sizeof s->best, "%s", candidate);
    }
}

void st_suggest_offer_hook(st_suggest *s, const char *hook_name)
{
    st_suggest_offer(s, hook_name);
    const char *dot = !strncmp(hook_name, "blocks.", 7) ? strchr(hook_name + 7, '.') : NULL;
    if (dot) {
        char any[160];
        snprintf(any, sizeof any, "blocks.*%s", dot);
        st_suggest_offer(s, any);
    }
}
