/* examples/embed/ablate_head.c — embedding strata: open a model, zero-ablate
 * one attention head through a hook and report how the next-token logits move.
 *
 * build (after `cmake --install build --prefix PREFIX`):
 *   cc ablate_head.c $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs strata)
 * usage: ablate_head MODEL LAYER HEAD
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <strata/strata.h>

static int zero_head(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)ctx; (void)user;
    /* t: [B, T, 1, d_head] view of one head of hook_z; index through strides */
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t p = 0; p < t->shape[1]; p++)
            for (int64_t c = 0; c < t->shape[3]; c++)
                t->data[b * t->strides[0] + p * t->strides[1] + c * t->strides[3]] = 0.0f;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: %s MODEL LAYER HEAD\n", argv[0]); return 2; }
    if (strata_libversion_number() / 1000000 != STRATA_VERSION_NUMBER / 1000000) {
        fprintf(stderr, "header/library major version mismatch\n");
        return 1;
    }
    strata_model *m = NULL;
    if (strata_model_open(argv[1], NULL, &m) != STRATA_OK) {
        fprintf(stderr, "%s\n", strata_errmsg(m));
        strata_model_free(m);
        return 1;
    }
    const strata_config *c = strata_model_config(m);
    int32_t ids[] = { 1, 403, 407, 261, 378 }, len = 5;
    for (int i = 0; i < len; i++) ids[i] %= c->vocab_size;
    float *base = malloc(sizeof(float) * len * c->vocab_size);
    float *abl = malloc(sizeof(float) * len * c->vocab_size);
    int rc = strata_run(m, ids, &len, 1, base);
    char hook[64];
    snprintf(hook, sizeof hook, "blocks.%s.attn.hook_z[%s]", argv[2], argv[3]);
    if (!rc) rc = strata_hook_add(m, hook, zero_head, NULL, NULL);
    if (!rc) rc = strata_run(m, ids, &len, 1, abl);
    if (rc) {
        fprintf(stderr, "%s\n", strata_errmsg(m));
    } else {
        double max = 0;
        for (int i = 0; i < len * c->vocab_size; i++) max = fmax(max, fabs(base[i] - abl[i]));
        printf("ablating %s moves the logits by up to %.4f\n", hook, max);
    }
    free(base);
    free(abl);
    strata_model_free(m);
    return rc ? 1 : 0;
}
