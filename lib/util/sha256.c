/* util/sha256.c — SHA-256 per FIPS 180-4, section 6.2 (see util/sha256.h).
 *
 * Message schedule W[0..63] from each 64-byte big-endian block, 64 rounds of
 *   T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t],  T2 = Σ0(a) + Maj(a,b,c)
 * then the chaining value is added in.  Padding: 0x80, zeros, 64-bit
 * big-endian bit length.
 *
 * On x86-64 CPUs with the SHA extensions (SHA-NI: Intel since Goldmont/Ice
 * Lake, AMD since Zen) the block function uses them (about 10x faster: the
 * hash of a model's weights is on the path of every capture start); the
 * portable function is the reference both are tested against. */
#include "util/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress_portable(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

/* The state as the SHA instructions hold it: ABEF = lanes (F, E, B, A) and
 * CDGH = lanes (H, G, D, C), lane 0 first.  _mm_sha256rnds2_epu32(cdgh, abef,
 * wk) runs two rounds with the low two words of wk (W[t] + K[t]) and returns
 * the new ABEF; the old ABEF is then the new CDGH.  The schedule: W[t..t+3] =
 * msg2(msg1(W[t-16..t-13], W[t-12..t-9]) + W[t-7..t-4], W[t-4..t-1]). */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t h[8], const uint8_t *p)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i t = _mm_loadu_si128((const __m128i *)&h[0]);      /* A B C D */
    __m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]);     /* E F G H */
    t = _mm_shuffle_epi32(t, 0xB1);                            /* B A D C */
    s1 = _mm_shuffle_epi32(s1, 0x1B);                          /* H G F E */
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);                    /* F E B A */
    s1 = _mm_blend_epi16(s1, t, 0xF0);                         /* H G D C */
    const __m128i abef0 = s0, cdgh0 = s1;
    __m128i w[16];
    for (int i = 0; i < 4; i++)
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
    for (int i = 4; i < 16; i++)
        w[i] = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]), _mm_alignr_epi8(w[i - 1], w[i - 2], 4)),
            w[i - 1]);
    for (int i = 0; i < 16; i++) {
        __m128i wk = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)&K[4 * i]));
        s1 = _mm_sha256rnds2_epu32(s1, s0, wk);                /* rounds 4i, 4i+1 */
        s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E)); /* 4i+2, 4i+3 */
    }
    s0 = _mm_add_epi32(s0, abef0);
    s1 = _mm_add_epi32(s1, cdgh0);
    t = _mm_shuffle_epi32(s0, 0x1B);                           /* A B E F */
    s1 = _mm_shuffle_epi32(s1, 0xB1);                          /* G H C D */
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xF0)); /* A B C D */
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));   /* E F G H */
}

static int have_shani(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1;
}
#endif

/* -1: not chosen yet; 0 portable; 1 SHA-NI. */
static int impl = -1;

int st_sha256_use_hw(int on)
{
#if defined(__x86_64__) && defined(__GNUC__)
    impl = on && have_shani();
#else
    (void)on;
    impl = 0;
#endif
    return impl;
}

static void compress(uint32_t h[8], const uint8_t *p)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (impl < 0) st_sha256_use_hw(1); /* a benign race: every thread writes the same value */
    if (impl) { compress_shani(h, p); return; }
#endif
    compress_portable(h, p);
}

void st_sha256_init(st_sha256 *s)
{
    /* First 32 bits of the fractional parts of the square roots of the first 8 primes. */
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof h0);
    s->n_bytes = 0;
    s->n_buf = 0;
}

void st_sha256_update(st_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->n_bytes += n;
    if (s->n_buf) {
        size_t k = 64 - s->n_buf < n ? 64 - s->n_buf : n;
        memcpy(s->buf + s->n_buf, p, k);
        s->n_buf += (uint32_t)k;
        p += k;
        n -= k;
        if (s->n_buf < 64) return;
        compress(s->h, s->buf);
        s->n_buf = 0;
    }
    for (; n >= 64; p += 64, n -= 64) compress(s->h, p);
    memcpy(s->buf, p, n);
    s->n_buf = (uint32_t)n;
}

void st_sha256_final(st_sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->n_bytes * 8;
    uint8_t pad[72] = { 0x80 };
    size_t np = (s->n_buf < 56 ? 56 : 120) - s->n_buf;
    for (int i = 0; i < 8; i++) pad[np + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t keep = s->n_bytes;
    st_sha256_update(s, pad, np + 8);
    s->n_bytes = keep;
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void st_sha256_hex(const uint8_t d[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = 0;
}

int st_sha256_file(const char *path, char hex[65], st_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return st_seterr(err, STRATA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    size_t cap = (size_t)1 << 20;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return st_seterr(err, STRATA_ERR_NOMEM, "out of memory hashing %s", path);
    }
    st_sha256 s;
    st_sha256_init(&s);
    int rc = STRATA_OK;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        st_sha256_update(&s, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    if (rc == STRATA_OK) {
        uint8_t d[32];
        st_sha256_final(&s, d);
        st_sha256_hex(d, hex);
    }
    return rc;
}
