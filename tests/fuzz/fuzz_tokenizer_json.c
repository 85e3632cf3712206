/* tests/fuzz/fuzz_tokenizer_json.c — a tokenizer.json file (models BPE /
 * WordLevel, normalizers, pre-tokenizers, post-processors, decoders, added
 * tokens).  Input: tokenizer.json, optionally "\n--\n" and a text to encode
 * with it (default: a fixed mixed-script sentence). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "strata/tokenizer.h"

static void exercise(strata_tokenizer *t, const char *text, size_t len)
{
    enum { CAP = 512 };
    int32_t ids[CAP];
    int64_t offs[2 * CAP];
    for (int bos = -1; bos <= 1; bos++) {
        int64_t k = strata_tokenize(t, text, len, bos, ids, CAP, offs);
        if (k < 0) continue;
        if (k > CAP) k = CAP;
        strata_utf8_char_offsets(text, len, offs, k);
        char out[1024];
        strata_detokenize(t, ids, k, 0, out, sizeof out);
        strata_detokenize(t, ids, k, 1, out, sizeof out);
        strata_detokenize(t, ids, 0, 1, out, sizeof out);
        for (int64_t i = 0; i < k; i++) (void)strata_token_piece(t, ids[i]);
    }
    (void)strata_token_id(t, "the");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *a, *b;
    size_t na, nb;
    fz_split(data, n, &a, &na, &b, &nb);
    const char *p = fz_write(0, "tokenizer.json", a, na);
    if (!p) return 0;
    strata_tokenizer *t = NULL;
    if (strata_tokenizer_open(p, &t) == STRATA_OK) {
        static const char deflt[] = "Hello, world! It's 2024\xE2\x80\x94" "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC <s> \xF0\x9F\x98\x80  x";
        if (nb) exercise(t, (const char *)b, nb);
        else exercise(t, deflt, sizeof deflt - 1);
    }
    strata_tokenizer_free(t);
    return 0;
}
