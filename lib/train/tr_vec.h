/* train/tr_vec.h — sixteen floats as one GCC/Clang vector (internal).
 *
 * v16 is one AVX-512 register, two AVX2 ones, four SSE ones: the kernels that use it are
 * compiled per instruction set with ST_CLONES (util/clones.h) and every helper here is
 * always inlined, so no vector crosses a call.  Lane-wise sums (hsum16) add the sixteen
 * lanes in a fixed tree: with the lanes themselves filled in a fixed order, a reduction
 * built from them has one order whatever the instruction set. */
#ifndef STRATA_TRAIN_VEC_H
#define STRATA_TRAIN_VEC_H

#include <stdint.h>

#pragma GCC diagnostic ignored "-Wpsabi"   /* vectors never cross a call (see above) */

enum { TR_LANES = 16 };

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t v16i __attribute__((vector_size(64)));

#define TR_INLINE static inline __attribute__((always_inline))

TR_INLINE v16 ld16(const float *p) { return *(const v16u *)p; }
TR_INLINE void st16(float *p, v16 v) { *(v16u *)p = v; }
TR_INLINE v16 splat(float x) { return (v16){ 0 } + x; }
/* m ? a : b lane-wise (m: all bits set or clear per lane) */
TR_INLINE v16 select16(v16i m, v16 a, v16 b) { return (v16)(((v16i)a & m) | ((v16i)b & ~m)); }
/* v[0] + ... + v[15] as a fixed tree (lane x with x + 8, then + 4, + 2, + 1): a fixed
 * order, and four dependent adds instead of fifteen */
TR_INLINE float hsum16(v16 v)
{
    float a[8], b[4];
    for (int x = 0; x < 8; x++) a[x] = v[x] + v[x + 8];
    for (int x = 0; x < 4; x++) b[x] = a[x] + a[x + 4];
    return (b[0] + b[2]) + (b[1] + b[3]);
}

/* max of the sixteen lanes (the same tree) */
TR_INLINE float hmax16(v16 v)
{
    float a[8], b[4];
    for (int x = 0; x < 8; x++) a[x] = v[x] > v[x + 8] ? v[x] : v[x + 8];
    for (int x = 0; x < 4; x++) b[x] = a[x] > a[x + 4] ? a[x] : a[x + 4];
    const float c0 = b[0] > b[2] ? b[0] : b[2], c1 = b[1] > b[3] ? b[1] : b[3];
    return c0 > c1 ? c0 : c1;
}

#endif
