/* tokenizer/utf8.h — UTF-8 helpers for the tokenizer (internal).
 *
 * Defines: st_utf8_next() (decode one code point, Unicode "maximal subpart"
 * rule for invalid bytes), st_utf8_put(), st_utf8_valid(), st_utf8_len(),
 * st_is_white_space() (Unicode White_Space property), ST_WS_CLASS (the same
 * set as PCRE2 class items).
 */
#ifndef STRATA_TOKENIZER_UTF8_H
#define STRATA_TOKENIZER_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[0..n) (n >= 1).  Returns it and sets *adv to its
 * byte length; on an ill-formed sequence returns -1 and sets *adv to the length
 * of the maximal subpart (1..3 bytes), the unit that Python's
 * errors="replace" and Rust's from_utf8_lossy turn into one U+FFFD. */
int32_t st_utf8_next(const unsigned char *s, size_t n, size_t *adv);
/* Writes cp (0..0x10FFFF) as UTF-8 into buf[4]; returns the length. */
int st_utf8_put(uint32_t cp, char *buf);
/* 1 if s[0..n) is well-formed UTF-8. */
int st_utf8_valid(const unsigned char *s, size_t n);
/* Byte length of the sequence started by lead byte c (1 for invalid leads). */
static inline int st_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}
/* Unicode White_Space: U+0009-000D, 0020, 0085, 00A0, 1680, 2000-200A, 2028,
 * 2029, 202F, 205F, 3000 (U+FEFF and U+180E are not). */
int st_is_white_space(uint32_t cp);

/* The same set as items of a PCRE2 character class (no brackets). */
#define ST_WS_CLASS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
                    "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

#endif
