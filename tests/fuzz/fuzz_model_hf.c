/* tests/fuzz/fuzz_model_hf.c — config.json + model.safetensors (HF model
 * directory).  Input: config.json, "\n--\n", model.safetensors.  A model that
 * opens is run once on a short sequence when it is small. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "strata/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *a, *b;
    size_t na, nb;
    fz_split(data, n, &a, &na, &b, &nb);
    if (!fz_write(0, "config.json", a, na) || !fz_write(1, "model.safetensors", b, nb)) return 0;
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = 1;
    strata_model *m = NULL;
    if (strata_model_open(fz_dir(), &o, &m) == STRATA_OK) {
        const strata_config *c = strata_model_config(m);
        /* run only what is cheap: every dimension small */
        if (c->n_ctx >= 3 && c->vocab_size >= 3 && (int64_t)c->d_model * c->n_layers <= 4096 &&
            c->d_mlp <= 4096 && c->vocab_size <= 4096) {
            int32_t ids[3] = { 0, 1, 2 }, len = 3;
            float *logits = malloc(sizeof(float) * 3 * (size_t)c->vocab_size);
            if (logits) strata_run(m, ids, &len, 1, logits);
            free(logits);
        }
    }
    strata_model_free(m);
    return 0;
}
