/* train/tr_fastexp.h — tr_exp: e^x in float32 without a branch or a libm call
 * (internal), so loops over it vectorise (glibc's expf does not).
 *
 * Cody-Waite reduction x = k ln2 + r (|r| <= ln2/2, ln2 split in two parts),
 * e^r by its degree-6 Taylor polynomial (truncation < 1.5e-7 relative), 2^k
 * through the exponent bits: ~2 ulp against exp() in double, the method of the
 * engine's forward kernel (model/kernels.c).  x is clamped to [-87, 88] first
 * (e^-87 ~ 1.6e-38 stands for the smaller values, whose exact e^x the softmax
 * would round away against its largest term e^0 = 1 anyway); NaN becomes
 * e^-87 through the clamp of k and a NaN through r, so it propagates. */
#ifndef STRATA_TRAIN_FASTEXP_H
#define STRATA_TRAIN_FASTEXP_H

#include <stdint.h>
#include <string.h>

static inline __attribute__((always_inline)) float tr_exp(float x)
{
    const float xc = x > -87.0f ? (x < 88.0f ? x : 88.0f) : -87.0f;
    const float magic = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    const float k = (xc * 1.44269504088896341f + magic) - magic;
    float r = xc - k * 0.693145751953125f;
    r = r - k * 1.428606765330187045e-06f;
    r = x == x ? r : x;                /* NaN stays NaN */
    const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    const uint32_t e = (uint32_t)((int32_t)k + 127) << 23;
    float sc;
    memcpy(&sc, &e, sizeof sc);
    return p * sc;
}

#endif
