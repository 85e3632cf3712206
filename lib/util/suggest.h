/* util/suggest.h — "did you mean" for mistyped names (internal).
 *
 * Defines: st_edit_distance(), st_suggest(), st_suggest_offer_hook().
 */
#ifndef STRATA_UTIL_SUGGEST_H
#define STRATA_UTIL_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance (insert, delete, substitute: cost 1 each) between a
 * and b, or `cap` + 1 once it exceeds cap (early exit; strings longer than
 * 255 bytes also give cap + 1). */
int st_edit_distance(const char *a, const char *b, int cap);

/* Keeps the closest candidate seen so far: call st_suggest_offer() for each
 * candidate, then best holds the nearest one within max(2, len(query) / 4)
 * edits, or "" when none is that close.  Equal distances keep the first. */
typedef struct st_suggest {
    const char *query;
    int best_dist;
    char best[128];
} st_suggest;

void st_suggest_init(st_suggest *s, const char *query);
void st_suggest_offer(st_suggest *s, const char *candidate);
/* Offers a hook name and, for a block's point "blocks.N.x", its every-layer
 * glob "blocks.*.x" too, so a mistyped glob is matched against globs. */
void st_suggest_offer_hook(st_suggest *s, const char *hook_name);

#endif
