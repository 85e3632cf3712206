/* tokenizer/wordlevel.c — the WordLevel model (Hugging Face `tokenizers`
 * models::wordlevel): each pre-tokenized word is one token, its vocabulary id,
 * or unk_token's id when the word is not in the vocabulary; a word that is
 * missing while unk_token is not in the vocabulary is an error (HF: "WordLevel
 * error: Missing [UNK] token from the vocabulary"). */
#include "tokenizer/tok_internal.h"

int st_wordlevel_word(strata_tokenizer *t, const st_nstr *ns, size_t ws, size_t we, st_tokvec *out)
{
    if (we <= ws) return STRATA_OK;
    int32_t id = st_strmap_get(&t->vocab, ns->s + ws, we - ws);
    if (id < 0) id = t->unk_id;
    if (id < 0)
        return st_seterr(&t->err, STRATA_ERR_FORMAT,
                         "tokenizer: the word '%.*s' is not in the WordLevel vocabulary and its "
                         "unk_token is not either", (int)(we - ws > 80 ? 80 : we - ws), ns->s + ws);
    if (st_tokvec_push(out, id, st_nstr_start(ns, ws), st_nstr_end(ns, we - 1)))
        return st_seterr(&t->err, STRATA_ERR_NOMEM, "tokenizer: out of memory");
    return STRATA_OK;
}
