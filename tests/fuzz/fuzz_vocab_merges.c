/* tests/fuzz/fuzz_vocab_merges.c — GPT-2 style vocab.json + merges.txt.
 * Input: vocab.json, "\n--\n", merges.txt. */
#include "fuzz_util.h"
#include "strata/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *a, *b;
    size_t na, nb;
    fz_split(data, n, &a, &na, &b, &nb);
    if (!fz_write(0, "vocab.json", a, na) || !fz_write(1, "merges.txt", b, nb)) return 0;
    strata_tokenizer *t = NULL;
    if (strata_tokenizer_open(fz_dir(), &t) == STRATA_OK) {
        static const char text[] = "Hello world, it's a test of 12345 merges!\n\tcaf\xC3\xA9";
        int32_t ids[256];
        int64_t k = strata_tokenize(t, text, sizeof text - 1, -1, ids, 256, NULL);
        if (k > 256) k = 256;
        char out[512];
        if (k > 0) strata_detokenize(t, ids, k, 0, out, sizeof out);
    }
    strata_tokenizer_free(t);
    return 0;
}
