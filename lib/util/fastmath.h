/* util/fastmath.h — st_fast_ln: a vectorisable natural logarithm (internal).
 *
 * Used where a loop takes a log per element or per row (attention-head
 * entropies, the softmax's row entropy) and libm's logf would stop the loop
 * from vectorising or cost ~20 cycles a call. */
#ifndef STRATA_UTIL_FASTMATH_H
#define STRATA_UTIL_FASTMATH_H

#include <stdint.h>

/* Natural log for x >= 0 without a branch, a division or a libm call.
 * x = m 2^e with m in [1,2) read off the IEEE-754 bits; m > sqrt(2) is
 * halved (e+1) so t = m - 1 lies in [sqrt(1/2)-1, sqrt(2)-1]; then
 * ln(1+t) = t + t^2 Q(t) with Q a degree-6 least-squares polynomial fitted on
 * 4000 Chebyshev nodes of that interval (max abs error 1.5e-7, checked in
 * tests/test_attn.c against log()).  Total error <= 1 float ulp of the result
 * plus ~2e-7 (|ln x| ~ 69 at 1e-30 has ulp 7.6e-6).
 * x = 0 gives about -88 and subnormals a wrong but finite value; both are
 * multiplied by x itself in x ln x, so the product is (close to) 0 as it
 * should be. */
static inline __attribute__((always_inline)) float st_fast_ln(float x)
{
    union { float f; uint32_t u; } v = { x }, mv;
    int32_t e = (int32_t)((v.u >> 23) & 0xffu) - 127;
    mv.u = (v.u & 0x007fffffu) | 0x3f800000u;
    float m = mv.f;
    int32_t big = m > 1.41421356f;
    m = m * (1.0f - 0.5f * (float)big);
    e += big;
    const float t = m - 1.0f;
    float q = -0.10434419835736959f;
    q = q * t + 0.16080349017187043f;
    q = q * t - 0.17102106937367728f;
    q = q * t + 0.1991821156470991f;
    q = q * t - 0.24983448199906808f;
    q = q * t + 0.3333435455480681f;
    q = q * t - 0.5000008560041166f;
    return (float)e * 0.693147180559945f + (t + t * t * q);
}

#endif
