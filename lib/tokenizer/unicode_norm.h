/* tokenizer/unicode_norm.h — Unicode normalization forms (internal).
 *
 * Defines: ST_NF_* forms, st_unicode_normalize() (on an aligned st_nstr),
 * st_normalize_utf8() (plain strings, for tests), and the generated tables
 * (unicode_tables.c, from gen_unicode_tables.py).
 *
 * UAX #15: full canonical (NFD/NFC) or compatibility (NFKD/NFKC)
 * decomposition, canonical ordering by combining class (stable), then for
 * NFC/NFKC canonical composition (primary composites, a mark blocked by a
 * preceding one of equal or higher class), Hangul algorithmically.
 */
#ifndef STRATA_TOKENIZER_UNICODE_NORM_H
#define STRATA_TOKENIZER_UNICODE_NORM_H

#include <stddef.h>
#include <stdint.h>

enum { ST_NF_NFC = 0, ST_NF_NFD = 1, ST_NF_NFKC = 2, ST_NF_NFKD = 3 };

typedef struct st_ccc_range { uint32_t lo, hi; uint8_t ccc; } st_ccc_range;
typedef struct st_dec_entry { uint32_t cp; uint32_t co; uint8_t cl; uint32_t ko; uint8_t kl; } st_dec_entry;
typedef struct st_comp_entry { uint32_t a, b, c; } st_comp_entry;
typedef struct st_range { uint32_t lo, hi; } st_range;

extern const char st_unicode_version[];
extern const st_ccc_range st_ccc[];
extern const int st_n_ccc;
extern const st_dec_entry st_ucd_dec[];
extern const int st_n_ucd_dec;
extern const uint32_t st_ucd_dec_data[];
extern const st_comp_entry st_comp[];
extern const int st_n_comp;
extern const st_range st_nobound[];
extern const int st_n_nobound;

struct st_nstr;
/* Normalizes `in` (valid UTF-8) into `out`.  Text between normalization
 * boundaries that the form leaves unchanged keeps its alignment; a changed
 * stretch (a base character and its marks) maps every output byte to the
 * whole input stretch.  0, or -1 when out of memory. */
int st_unicode_normalize(int form, const struct st_nstr *in, struct st_nstr *out);
/* The same on a plain string: malloc'd, NUL-terminated; NULL on no memory. */
char *st_normalize_utf8(int form, const char *s, size_t n, size_t *outlen);

#endif
