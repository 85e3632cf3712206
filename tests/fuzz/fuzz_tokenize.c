/* tests/fuzz/fuzz_tokenize.c — arbitrary bytes through each real tokenizer
 * of ../shared (GPT-2 byte-level BPE, the Llama SentencePiece BPE of
 * stories260K from tokenizer.json and from GGUF, Mistral).  Input: byte 0
 * picks the tokenizer, byte 1 the BOS mode, the rest is the text.  Checks
 * the documented invariants: offsets non-decreasing and inside the text,
 * ids in the vocabulary, and decoding token by token equals decoding all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "strata/tokenizer.h"

static const char *const paths[] = {
    "tokenizers/gpt2", "models/stories260K/hf", "models/stories260K/stories260K.gguf",
    "tokenizers/mistral7b",
};
enum { NTOK = sizeof paths / sizeof paths[0] };
static strata_tokenizer *toks[NTOK];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 0; i < NTOK; i++) {
        if (strata_tokenizer_open(fz_shared(paths[i]), &toks[i]) != STRATA_OK) {
            fprintf(stderr, "fuzz_tokenize: %s: %s (skipped)\n", paths[i],
                    strata_tokenizer_errmsg(toks[i]));
            strata_tokenizer_free(toks[i]);
            toks[i] = NULL;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 2) return 0;
    strata_tokenizer *t = toks[data[0] % NTOK];
    if (!t) return 0;
    const int bos = (int)(data[1] % 3) - 1;
    const char *text = (const char *)data + 2;
    const size_t len = n - 2;
    int64_t k = strata_tokenize(t, text, len, bos, NULL, 0, NULL);
    if (k < 0) abort();   /* any byte string must encode */
    int32_t *ids = malloc(sizeof *ids * (size_t)(k + 1));
    int64_t *offs = malloc(sizeof *offs * 2 * (size_t)(k + 1));
    if (!ids || !offs) abort();
    if (strata_tokenize(t, text, len, bos, ids, k, offs) != k) abort();
    const int32_t V = strata_tokenizer_vocab_size(t);
    for (int64_t i = 0; i < k; i++) {
        if (ids[i] < 0 || ids[i] >= V) abort();
        if (offs[2 * i] > offs[2 * i + 1] || offs[2 * i + 1] > (int64_t)len) abort();
        if (i && offs[2 * i] < offs[2 * (i - 1)]) abort();
    }
    int64_t need = strata_detokenize(t, ids, k, 0, NULL, 0);
    if (need < 0) abort();
    char *all = malloc((size_t)need + 1), *one = malloc((size_t)need + 1);
    if (!all || !one) abort();
    strata_detokenize(t, ids, k, 0, all, need + 1);
    int64_t w = 0;
    for (int64_t i = 0; i < k; i++) {
        int64_t m = strata_detokenize(t, ids + i, 1, 0, NULL, 0);
        if (m < 0 || w + m > need) abort();
        char *piece = malloc((size_t)m + 1);
        strata_detokenize(t, ids + i, 1, 0, piece, m + 1);
        memcpy(one + w, piece, (size_t)m);
        w += m;
        free(piece);
    }
    /* token-by-token equals all-at-once, up to decoders that strip a leading
     * space once per call (Llama's Strip): compare only when lengths agree */
    if (w == need && memcmp(all, one, (size_t)need)) abort();
    strata_utf8_char_offsets(text, len, offs, k);
    strata_detokenize(t, ids, k, 1, all, need + 1);
    free(all);
    free(one);
    free(ids);
    free(offs);
    return 0;
}
