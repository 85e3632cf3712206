/* dist/partition.h — contiguous shares of n items over `size` ranks (internal).
 *
 * Defines: st_split_even(), st_split_by_weight().
 *
 * Shares are contiguous and in order, so that rank r's items follow rank
 * r-1's: concatenating the ranks' results gives corpus order.
 */
#ifndef STRATA_DIST_PARTITION_H
#define STRATA_DIST_PARTITION_H

#include <stdint.h>

/* Rank `rank` of `size` gets [*lo, *hi): the first n % size ranks get
 * ceil(n/size) items, the rest floor(n/size). */
void st_split_even(int64_t n, int size, int rank, int64_t *lo, int64_t *hi);

/* bounds[0..size]: rank r gets items [bounds[r], bounds[r+1]).  Balanced by
 * weight (token counts, w[i] >= 0): boundary r is the first index whose
 * prefix weight reaches r * total / size, moved so that every rank has at
 * least one item when n >= size.  Returns 0, or -1 when size < 1 or n < 0. */
int st_split_by_weight(const int64_t *w, int64_t n, int size, int64_t *bounds);

#endif
