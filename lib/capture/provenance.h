/* capture/provenance.h — where a capture's model came from (internal).
 *
 * Defines: cap_prov (owns the strings behind an st_h5w_provenance),
 * cap_prov_collect(), cap_prov_free().
 *
 * Files hashed (SHA-256, util/sha256.h), named relative to the model path:
 *   Hugging Face directory: weights = config.json, model.safetensors, or
 *     model.safetensors.index.json and every shard it lists; tokenizer =
 *     tokenizer.json (else vocab.json + merges.txt) and tokenizer_config.json,
 *     those present.
 *   GGUF file: the file itself, for both (its vocabulary is inside).
 * Revision: "step N" from a trainer_state.json beside the weights (strata's
 * own checkpoints), else the commit hash of a Hugging Face cache snapshot
 * (".../snapshots/<hash>/"), else config.json's "_commit_hash", else "".
 */
#ifndef STRATA_CAPTURE_PROVENANCE_H
#define STRATA_CAPTURE_PROVENANCE_H

#include "io/h5store.h"
#include "util/err.h"

typedef struct cap_prov {
    st_h5w_provenance p;      /* points into the fields below */
    char *model_path, *revision;
    char **weight_files, **weight_sha;      /* [n_weight] */
    char **tok_files, **tok_sha;            /* [n_tok] */
    int n_weight, n_tok;
} cap_prov;

/* Hashes the model's files; STRATA_ERR_IO naming a file that cannot be read. */
int cap_prov_collect(const char *model_path, cap_prov *out, st_err *err);
void cap_prov_free(cap_prov *p);

#endif
