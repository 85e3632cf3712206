/* tests/fuzz/fuzz_gguf.c — a GGUF file: the container parser (metadata,
 * tensor table), then the model loader and the GGUF vocabulary. */
#include "fuzz_util.h"
#include "io/gguf.h"
#include "strata/model.h"
#include "strata/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *p = fz_write(0, "m.gguf", data, n);
    if (!p) return 0;
    st_gguf *g = NULL;
    if (st_gguf_open(p, &g) == 0) {
        for (int64_t i = 0; i < st_gguf_n_kv(g); i++) {
            int64_t iv;
            double dv;
            const char *s;
            uint64_t len, an;
            uint32_t et;
            (void)st_gguf_key(g, i);
            st_gguf_get_int(g, i, &iv);
            st_gguf_get_float(g, i, &dv);
            st_gguf_get_str(g, i, &s, &len);
            if (st_gguf_get_arr(g, i, &et, &an) == 0)
                for (uint64_t j = 0; j < an && j < 64; j++) {
                    st_gguf_arr_int(g, i, j, &iv);
                    st_gguf_arr_float(g, i, j, &dv);
                }
        }
    }
    st_gguf_free(g);
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = 1;
    strata_model *m = NULL;
    strata_model_open(p, &o, &m);
    strata_model_free(m);
    strata_tokenizer *t = NULL;
    if (strata_tokenizer_open(p, &t) == STRATA_OK) {
        int32_t ids[64];
        int64_t k = strata_tokenize(t, "Hello world, 123", 16, -1, ids, 64, NULL);
        if (k > 64) k = 64;
        char out[256];
        if (k > 0) strata_detokenize(t, ids, k, 0, out, sizeof out);
    }
    strata_tokenizer_free(t);
    return 0;
}
