/* tests/fuzz/fuzz_capture_input.c — capture's input readers: JSONL
 * ({"text": ..., labels} / {"ids": [...], labels}), text (one document per
 * line) and token files, through a real capture of stories260K into a
 * scratch HDF5 file.  Input: byte 0 picks the kind, the rest is the file. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "strata/capture.h"
#include "strata/model.h"

static strata_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = 1;
    if (strata_model_open(fz_shared("models/stories260K/hf"), &o, &model) != STRATA_OK) {
        fprintf(stderr, "fuzz_capture_input: %s\n", strata_errmsg(model));
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1 || n > 4096) return 0;
    static const int kinds[3] = { STRATA_INPUT_JSONL, STRATA_INPUT_TEXT, STRATA_INPUT_TOKENS };
    const int kind = kinds[data[0] % 3];
    const char *in = fz_write(0, "input", data + 1, n - 1);
    char out[600];
    snprintf(out, sizeof out, "%s/out.h5", fz_dir());
    strata_capture_opts o = strata_capture_opts_default();
    o.hooks = "blocks.0.hook_resid_post";
    o.mode = STRATA_CAPTURE_OVERWRITE;
    o.max_tokens = 16;
    o.batch = 4;
    strata_capture *c = NULL;
    if (in && strata_capture_open(model, out, &o, &c) >= 0 &&
        strata_capture_add_file(c, kind, in) >= 0)
        strata_capture_finish(c);
    strata_capture_free(c);
    return 0;
}
