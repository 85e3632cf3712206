/* tokenizer/gpt2_files.c — a GPT-2 style vocab.json + merges.txt pair.
 *
 * The files OpenAI published (encoder.json / vocab.bpe): byte-level BPE with
 * the GPT-2 split pattern, no prefix space, ByteLevel decoder.  They are
 * turned into the equivalent tokenizer.json document and loaded by
 * tokenizer_json.c, so both paths share one loader.  "<|endoftext|>", when
 * in the vocabulary, is a special added token (as in HF's gpt2 files).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

int st_load_gpt2_files(strata_tokenizer *t, const char *vocab_path, const char *merges_path)
{
    json_error_t je;
    json_t *vocab = json_load_file(vocab_path, 0, &je);
    if (!vocab) return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: line %d, column %d: %s", vocab_path,
                                 je.line, je.column, je.text);
    if (!json_is_object(vocab)) {
        json_decref(vocab);
        return st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: not a JSON object of piece -> id", vocab_path);
    }
    FILE *f = fopen(merges_path, "rb");
    if (!f) {
        json_decref(vocab);
        return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot open", merges_path);
    }
    json_t *merges = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = STRATA_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0 || (lineno == 1 && !strncmp(line, "#version", 8))) continue;
        char *sp = strchr(line, ' ');
        if (!sp || strchr(sp + 1, ' ')) {
            rc = st_seterr(&t->err, STRATA_ERR_FORMAT, "%s: line %d is not \"left right\"", merges_path, lineno);
            break;
        }
        json_array_append_new(merges, json_stringn(line, (size_t)n));
    }
    free(line);
    fclose(f);
    if (rc) { json_decref(vocab); json_decref(merges); return rc; }

    json_t *root = json_pack("{s:{s:s, s:o, s:o}, s:{s:s, s:b, s:b}, s:{s:s}}",
                             "model", "type", "BPE", "vocab", vocab, "merges", merges,
                             "pre_tokenizer", "type", "ByteLevel", "add_prefix_space", 0, "use_regex", 1,
                             "decoder", "type", "ByteLevel");
    if (!root) return st_seterr(&t->err, STRATA_ERR_NOMEM, "%s: out of memory", vocab_path);
    json_t *eot = json_object_get(vocab, "<|endoftext|>");
    if (json_is_integer(eot))
        json_object_set_new(root, "added_tokens",
                            json_pack("[{s:I, s:s, s:b}]", "id", json_integer_value(eot), "content",
                                      "<|endoftext|>", "special", 1));
    rc = st_load_tokenizer_json_obj(t, vocab_path, root);
    if (rc == STRATA_OK && json_is_integer(eot)) t->bos = t->eos = (int32_t)json_integer_value(eot);
    json_decref(root);
    return rc;
}
