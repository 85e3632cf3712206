/* tokenizer/char_offsets.c — byte offsets -> code point offsets. */
#include <stdlib.h>

#include "strata/tokenizer.h"
#include "tokenizer/utf8.h"

void strata_utf8_char_offsets(const char *text, size_t len, int64_t *off, int64_t n)
{
    if (!off || n <= 0) return;
    /* The offsets are non-decreasing for every strata tokenizer, but do not
     * rely on it: map each through a byte -> character index table. */
    int64_t *ci = malloc((len + 1) * sizeof *ci);
    if (!ci) {   /* fall back to a walk per offset */
        for (int64_t k = 0; k < 2 * n; k++) {
            int64_t b = off[k] < 0 ? 0 : off[k] > (int64_t)len ? (int64_t)len : off[k], c = 0;
            size_t i = 0, adv;
            while ((int64_t)i < b) { st_utf8_next((const unsigned char *)text + i, len - i, &adv); i += adv; c++; }
            off[k] = c;
        }
        return;
    }
    int64_t c = 0;
    for (size_t i = 0; i < len;) {
        size_t adv;
        st_utf8_next((const unsigned char *)text + i, len - i, &adv);
        for (size_t k = 0; k < adv; k++) ci[i + k] = c;
        i += adv;
        c++;
    }
    ci[len] = c;
    for (int64_t k = 0; k < n; k++) {
        int64_t s = off[2 * k], e = off[2 * k + 1];
        if (s < 0) s = 0;
        if (s > (int64_t)len) s = (int64_t)len;
        if (e < s) e = s;
        if (e > (int64_t)len) e = (int64_t)len;
        off[2 * k] = ci[s];
        off[2 * k + 1] = e > s ? ci[e - 1] + 1 : ci[s];
    }
    free(ci);
}
