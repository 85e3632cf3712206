/* util/clones.h — ST_CLONES: compile a hot kernel for AVX-512, AVX2+FMA
 * (x86-64-v3) and baseline x86-64, the best picked at load time (GCC
 * target_clones through an ifunc).  The library itself is built for baseline
 * x86-64 unless STRATA_NATIVE is on.  Empty on other compilers and targets. */
#ifndef STRATA_UTIL_CLONES_H
#define STRATA_UTIL_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define ST_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define ST_CLONES
#endif

#endif
