/* strata/tokenizer.h — text <-> token ids.
 *
 * Defines: strata_tokenizer (opaque), strata_tokenizer_open(),
 * strata_tokenizer_free(), strata_tokenizer_errmsg(), strata_model_tokenizer(),
 * strata_tokenize(), strata_detokenize(), strata_token_piece(),
 * strata_tokenizer_vocab_size(), strata_tokenizer_bos()/eos(),
 * strata_token_id(), strata_token_is_special(), strata_tokenizer_kind(),
 * strata_utf8_char_offsets().
 *
 * Kinds: byte-level BPE (GPT-2, GPT-NeoX, Llama-3 style; pre-tokenizer regex
 * from tokenizer.json, run with PCRE2) and SentencePiece-style BPE with byte
 * fallback (Llama-2, TinyStories); WordLevel (one token per whitespace-separated
 * word, the vocabularies `strata corpus` writes).  Sources: tokenizer.json, a GPT-2 style
 * vocab.json + merges.txt directory, a model directory, or GGUF metadata.
 * Semantics follow Hugging Face `tokenizers` loaded from tokenizer.json:
 * added/special tokens written in the text ("<|endoftext|>", "<s>") are
 * recognised as those tokens; nothing is normalised beyond what the file
 * says.  Invalid UTF-8 input is not an error: each maximal ill-formed
 * subsequence is read as U+FFFD (Python's errors="replace"), and the offsets
 * of the resulting tokens cover the bytes it replaced.  See docs/TOKENIZER.md.
 *
 * A handle is not thread-safe: it keeps a word cache and the last error.
 *
 * Threads: a tokenizer handle is used by one thread at a time (it keeps a
 * word cache and the last error); separate handles may run on separate
 * threads.
 */
#ifndef STRATA_TOKENIZER_H
#define STRATA_TOKENIZER_H

#include "strata/api.h"

#include <stddef.h>
#include <stdint.h>
#include "strata/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strata_tokenizer strata_tokenizer;
typedef struct strata_model strata_model;

/* path: a tokenizer.json file, a directory holding tokenizer.json (or
 * vocab.json + merges.txt), or a .gguf file.  *out is set even on failure
 * so strata_tokenizer_errmsg() can explain; free it either way. */
STRATA_API strata_status strata_tokenizer_open(const char *path, strata_tokenizer **out);
STRATA_API void strata_tokenizer_free(strata_tokenizer *tok);   /* NULL is a no-op */
STRATA_API const char *strata_tokenizer_errmsg(const strata_tokenizer *tok);

/* The tokenizer that came with a model (NULL if the model has none).
 * Borrowed: owned by the model. */
STRATA_API strata_tokenizer *strata_model_tokenizer(strata_model *m);

/* Encodes `len` bytes of UTF-8 text.
 *   add_bos: -1 the tokenizer's default (tokenizer_config.json add_bos_token /
 *            add_eos_token, else tokenizer.json's post-processor: <s> for
 *            Llama-style files, nothing for GPT-2);
 *            0 no special tokens at all (neither BOS nor a template's EOS);
 *            1 BOS first even where the default adds none (GPT-2:
 *            <|endoftext|>), plus the default suffix
 *   ids     [cap] output ids (may be NULL when cap == 0)
 *   offsets [cap][2] (may be NULL) byte offsets [start,end) of each token in
 *           `text`, non-decreasing; BOS gets [0,0], a trailing EOS [len,len],
 *           text a normalizer inserted (the "▁" prefix) covers nothing.
 *           strata_utf8_char_offsets() turns them into character offsets.
 * Returns the number of tokens (>= 0).  If it exceeds cap, only cap are
 * written: call again with a larger buffer.  Negative on error. */
STRATA_API int64_t strata_tokenize(strata_tokenizer *tok, const char *text, size_t len, int add_bos,
                        int32_t *ids, int64_t cap, int64_t *offsets);

/* Decodes ids into UTF-8 (NUL-terminated when cap > 0).  skip_special: drop
 * BOS/EOS/etc.  Returns the full length in bytes (excluding NUL); if >= cap the
 * output was truncated.  Negative on error (id out of range).  Bytes of a
 * character split across tokens come out raw (not as U+FFFD, unlike HF), so
 * decoding token by token and concatenating equals decoding all at once. */
STRATA_API int64_t strata_detokenize(strata_tokenizer *tok, const int32_t *ids, int64_t n, int skip_special,
                          char *out, int64_t cap);

/* The vocabulary string of one id (as in tokenizer.json), borrowed; NULL if out of range. */
STRATA_API const char *strata_token_piece(const strata_tokenizer *tok, int32_t id);
STRATA_API int32_t strata_tokenizer_vocab_size(const strata_tokenizer *tok);
STRATA_API int32_t strata_tokenizer_bos(const strata_tokenizer *tok);  /* -1 if none */
STRATA_API int32_t strata_tokenizer_eos(const strata_tokenizer *tok);  /* -1 if none */

/* The id of a vocabulary piece or added token (exact string), -1 if none. */
STRATA_API int32_t strata_token_id(const strata_tokenizer *tok, const char *piece);
/* 1 if id is a special added token (dropped by skip_special), else 0. */
STRATA_API int strata_token_is_special(const strata_tokenizer *tok, int32_t id);
/* "bpe-bytelevel", "bpe-sentencepiece", "bpe", "wordlevel", "gguf-llama", "gguf-gpt2";
 * static or owned by the handle.  NULL if tok failed to open. */
STRATA_API const char *strata_tokenizer_kind(const strata_tokenizer *tok);

/* Converts n [start,end) byte offsets into text (as strata_tokenize writes
 * them) to code point offsets, in place.  A token that starts or ends inside
 * a character (byte-level BPE can split one) is widened to whole characters,
 * so neighbouring tokens may then share a character.  An ill-formed byte
 * sequence counts as one character per maximal subpart (one U+FFFD). */
STRATA_API void strata_utf8_char_offsets(const char *text, size_t len, int64_t *offsets, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
