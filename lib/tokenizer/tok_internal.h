/* tokenizer/tok_internal.h — the tokenizer handle and its pipeline (internal).
 *
 * Defines: struct strata_tokenizer, the pipeline step types (st_norm,
 * st_split, st_dec, st_added), st_tokvec, st_nstr, and the functions each
 * file of lib/tokenizer/ provides to the others.
 *
 * The pipeline mirrors Hugging Face `tokenizers`:
 *   text --(invalid UTF-8 -> U+FFFD)--> split on added tokens
 *        --> per segment: normalizers (Prepend, Replace, Metaspace prefix)
 *        --> pre-tokenizer splits (regex, Isolated/Removed/Merged*)
 *        --> per word: BPE (byte-level symbols or characters with byte
 *            fallback / unk), merges by rank
 *        --> post-processor prefix/suffix (BOS/EOS).
 * Every byte of a normalized string carries the byte range of the input it
 * came from, so each token gets input byte offsets.
 */
#ifndef STRATA_TOKENIZER_INTERNAL_H
#define STRATA_TOKENIZER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/tokenizer.h"
#include "tokenizer/tokmap.h"
#include "util/err.h"

/* Token ids a vocabulary file may use: [0, ST_TOK_MAX_ID).  The largest real
 * vocabularies have ~256K entries; tables are sized by the largest id, so an
 * id of 2^31 - 2 in a two-entry file would allocate gigabytes. */
#define ST_TOK_MAX_ID (1 << 22)

/* ---- normalizer steps (applied to each segment between added tokens) ---- */
enum {
    ST_NORM_PREPEND = 0,       /* prepend `a` to a non-empty segment */
    ST_NORM_REPLACE = 1,       /* replace every literal `a` by `b` */
    ST_NORM_PREFIX_IF_MISSING, /* prepend `a` unless the segment starts with it;
                                  first_only: only the input's first segment
                                  (Metaspace prepend_scheme "first",
                                  ByteLevel add_prefix_space) */
    ST_NORM_UNICODE            /* NFC/NFD/NFKC/NFKD: form (unicode_norm.h) */
};
typedef struct st_norm {
    int kind;
    char *a; size_t alen;
    char *b; size_t blen;
    int first_only;
    int form;
} st_norm;

/* ---- pre-tokenizer split steps ---- */
enum {
    ST_SPLIT_REMOVED = 0, ST_SPLIT_ISOLATED, ST_SPLIT_MERGED_PREV, ST_SPLIT_MERGED_NEXT,
    ST_SPLIT_CONTIGUOUS
};
typedef struct st_split {
    pcre2_code *re;
    int behavior;
    int invert;
} st_split;

/* ---- decoder steps (applied to the list of token strings) ---- */
enum {
    ST_DEC_BYTELEVEL = 0, ST_DEC_REPLACE, ST_DEC_BYTEFALLBACK, ST_DEC_FUSE, ST_DEC_STRIP,
    ST_DEC_METASPACE
};
typedef struct st_dec {
    int kind;
    char *a; size_t alen;     /* Replace pattern / Strip content / Metaspace replacement */
    char *b; size_t blen;     /* Replace content */
    int start, stop;          /* Strip counts; Metaspace: start = strip first space */
} st_dec;

/* ---- added tokens (matched in the raw text, leftmost-longest) ---- */
typedef struct st_added {
    int32_t id;
    char *content; size_t len;
    int special, lstrip, rstrip, single_word, normalized;
} st_added;

/* Growable token list: ids and input byte offsets [start, end). */
typedef struct st_tokvec {
    int32_t *ids;
    int64_t *off;             /* [n][2] */
    size_t n, cap;
} st_tokvec;

/* A (normalized) string with the input byte range of each of its bytes.
 * a0 == NULL means identity: byte i came from input byte base + i. */
typedef struct st_nstr {
    const char *s; size_t n;
    const int64_t *a0, *a1;   /* [n] or NULL */
    int64_t base;
    char *own_s;              /* owned storage (may be NULL) */
    int64_t *own_a;           /* owned storage for a0/a1 ([2n]) */
} st_nstr;

struct strata_tokenizer {
    st_err err;
    char *path;               /* what was opened (for messages) */
    char *kind;               /* "bpe", "bpe-bytelevel", ... (for info) */
    int ready;                /* opened successfully; encode/decode refuse otherwise */

    /* vocabulary: id -> piece (model vocab and added tokens) */
    int32_t n_vocab;
    char **piece;             /* [n_vocab], NUL-terminated; NULL for unused ids */
    uint32_t *piece_len;      /* [n_vocab] */
    uint8_t *special;         /* [n_vocab] 1 for special added tokens */
    st_strmap vocab;          /* model vocabulary piece -> id */

    /* BPE model */
    st_pairmap merges;
    int32_t unk_id;           /* -1 none */
    int fuse_unk, byte_fallback, ignore_merges;
    int word_level;           /* WordLevel model: a word is one token (wordlevel.c) */
    int32_t byte_fb[256];     /* id of "<0xXX>" or -1 */
    int bytelevel;            /* symbols are bytes through the GPT-2 byte->char map */
    int32_t byte_id[256];     /* bytelevel: id of the one-char piece of each byte */

    /* pipeline */
    st_norm *norms; int n_norms;
    st_split *splits; int n_splits;
    st_dec *decs; int n_decs;
    int has_decoder;          /* 0: tokens are joined with ' ' (HF, no decoder) */
    st_added *added; int n_added;
    int32_t *added_first[256];/* per first byte: indices into added[], longest first, -1 ended */
    int trim_offsets;         /* ByteLevel post-processor trim_offsets */
    int ws_chunks;            /* no pre-tokenizer, but words may be cut before a
                                 '▁' that follows a non-'▁' (see tokenizer.c) */
    int sp_chunk_input;       /* ws_chunks and the normalizer is [Prepend "▁"],
                                 Replace " " -> "▁": cut the input itself */

    /* special tokens and the post-processor */
    int32_t bos, eos;
    int32_t prefix[8]; int n_prefix;   /* default tokens before the text */
    int32_t suffix[8]; int n_suffix;   /* default tokens after the text */

    /* encode workspace and the word cache (hence: one encode at a time) */
    pcre2_match_data *md;
    st_strmap cache;          /* word bytes -> offset into cache_tok */
    int32_t *cache_tok;       /* [count, (id, len) * count] records */
    size_t cache_len, cache_cap;
    void *ws;                 /* BPE workspace (bpe.c) */
};

/* tokenizer.c */
int st_tok_alloc_vocab(strata_tokenizer *t, int32_t n);
int st_tok_set_piece(strata_tokenizer *t, int32_t id, const char *s, size_t n);
int st_tok_finish(strata_tokenizer *t);   /* byte tables, caches; after loading */
int st_tokvec_push(st_tokvec *v, int32_t id, int64_t s, int64_t e);
/* id of a piece: added tokens first, then the model vocabulary; -1 if none. */
int32_t st_tok_lookup(const strata_tokenizer *t, const char *s, size_t n);
int st_tok_add_added(strata_tokenizer *t, int32_t id, const char *s, size_t n, int special);

/* bytelevel.c: GPT-2 bytes_to_unicode() */
uint32_t st_bytelevel_char(unsigned char b);
int st_bytelevel_byte(uint32_t cp);        /* -1 if cp is not a byte char */
extern const char st_gpt2_pattern[];

/* pretok.c */
/* Compiles a pre-tokenizer regex (Oniguruma/Rust syntax as in tokenizer.json)
 * with UTF + UCP; \s and \S are rewritten to Unicode White_Space. */
int st_regex_compile(const char *pat, size_t len, pcre2_code **out, st_err *err,
                     const char *where);
/* Splits [ps, pe) of s by one step; calls emit(ctx, start, end) for each
 * non-empty piece, in order.  emit returns 0, or a negative status that stops
 * the split and is returned (-1 counts as out of memory). */
typedef int (*st_emit_fn)(void *ctx, size_t start, size_t end);
int st_split_apply(strata_tokenizer *t, const st_split *sp, const char *s, size_t ps, size_t pe,
                   st_emit_fn emit, void *ctx);

/* normalize.c */
void st_nstr_free(st_nstr *ns);
int st_nstr_apply(const st_norm *nm, const st_nstr *in, int first_segment, st_nstr *out);
static inline int64_t st_nstr_start(const st_nstr *ns, size_t i)
{ return ns->a0 ? ns->a0[i] : ns->base + (int64_t)i; }
static inline int64_t st_nstr_end(const st_nstr *ns, size_t i)  /* i: last byte */
{ return ns->a0 ? ns->a1[i] : ns->base + (int64_t)i + 1; }

/* bpe.c: encodes one word (bytes of a normalized string) and appends tokens
 * with offsets mapped through ns (word = ns->s[ws .. we)). */
int st_bpe_word(strata_tokenizer *t, const st_nstr *ns, size_t ws, size_t we, st_tokvec *out);
/* wordlevel.c: the WordLevel model's word -> one token (st_bpe_word calls it
 * when t->word_level). */
int st_wordlevel_word(strata_tokenizer *t, const st_nstr *ns, size_t ws, size_t we, st_tokvec *out);
void st_bpe_ws_free(void *ws);

/* decode.c */
int64_t st_decode(strata_tokenizer *t, const int32_t *ids, int64_t n, int skip_special,
                  char *out, int64_t cap);

/* tokenizer_json.c / gpt2_files.c / gguf_vocab.c */
int st_load_tokenizer_json(strata_tokenizer *t, const char *path);
/* The same from a parsed tokenizer.json document (borrowed). */
struct json_t;
int st_load_tokenizer_json_obj(strata_tokenizer *t, const char *path, const struct json_t *root);
int st_load_gpt2_files(strata_tokenizer *t, const char *vocab_path, const char *merges_path);
int st_load_gguf_vocab(strata_tokenizer *t, const char *path);
/* sentencepiece.c: merges from piece scores (HF SentencePiece converter). */
int st_merges_from_scores(strata_tokenizer *t, const float *scores);
/* tokenizer_config.json / config.json next to the tokenizer. */
int st_load_tokenizer_config(strata_tokenizer *t, const char *dir);

#endif
