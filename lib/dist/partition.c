/* dist/partition.c — contiguous shares of n items over ranks (see partition.h).
 *
 * Weighted split: with prefix sums P[i] = w[0] + ... + w[i-1] and total
 * T = P[n], boundary b_r (0 < r < size) is the smallest i with
 * P[i] * size >= r * T (integer arithmetic, no rounding), then clamped to
 * [b_{r-1} + 1, n - (size - r)] so that each rank holds at least one item
 * when n >= size.  The largest share exceeds T/size by less than one item's
 * weight. */
#include "dist/partition.h"

void st_split_even(int64_t n, int size, int rank, int64_t *lo, int64_t *hi)
{
    int64_t q = n / size, rem = n % size;
    *lo = rank * q + (rank < rem ? rank : rem);
    *hi = *lo + q + (rank < rem ? 1 : 0);
}

int st_split_by_weight(const int64_t *w, int64_t n, int size, int64_t *bounds)
{
    if (size < 1 || n < 0) return -1;
    __int128 total = 0;
    for (int64_t i = 0; i < n; i++) total += w[i] > 0 ? w[i] : 0;
    bounds[0] = 0;
    bounds[size] = n;
    __int128 prefix = 0;
    int64_t i = 0;
    for (int r = 1; r < size; r++) {
        __int128 target = (__int128)r * total;
        while (i < n && prefix * size < target) {
            prefix += w[i] > 0 ? w[i] : 0;
            i++;
        }
        int64_t b = i;
        if (n >= size) {
            if (b < bounds[r - 1] + 1) b = bounds[r - 1] + 1;
            if (b > n - (size - r)) b = n - (size - r);
        } else if (b < bounds[r - 1]) {
            b = bounds[r - 1];
        }
        bounds[r] = b;
    }
    return 0;
}
