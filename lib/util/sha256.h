/* util/sha256.h — SHA-256 (FIPS 180-4), streaming, and of whole files (internal).
 *
 * Defines: st_sha256 (state), st_sha256_init(), st_sha256_update(),
 * st_sha256_final(), st_sha256_hex() (digest -> 64 lower-case hex digits + NUL),
 * st_sha256_file(), st_sha256_use_hw() (SHA-NI on/off, for tests).
 *
 * Used for provenance in capture files: the SHA-256 of every weight and
 * tokenizer file, and a running hash of the documents a capture committed.
 * Tested against the FIPS 180 examples and `sha256sum` (tests/test_sha256.c).
 */
#ifndef STRATA_UTIL_SHA256_H
#define STRATA_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

typedef struct st_sha256 {
    uint32_t h[8];          /* chaining value */
    uint64_t n_bytes;       /* message length so far */
    uint8_t buf[64];        /* pending partial block */
    uint32_t n_buf;         /* bytes in buf (0..63) */
} st_sha256;

void st_sha256_init(st_sha256 *s);
void st_sha256_update(st_sha256 *s, const void *data, size_t n);
/* Pads, writes the 32-byte digest; s must be re-initialised before reuse. */
void st_sha256_final(st_sha256 *s, uint8_t out[32]);
/* hex[65]: 64 lower-case hex digits and a NUL. */
void st_sha256_hex(const uint8_t digest[32], char hex[65]);
/* SHA-256 of a whole file as hex; STRATA_ERR_IO naming the file on failure. */
int st_sha256_file(const char *path, char hex[65], st_err *err);
/* Tests and benchmarks: on != 0 uses the CPU's SHA instructions where it has
 * them (the default), 0 the portable code; returns 1 if the SHA instructions
 * are now in use.  Not for use while other threads hash. */
int st_sha256_use_hw(int on);

#endif
