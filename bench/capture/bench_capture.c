/* bench/capture/bench_capture.c — capture throughput vs forward-only, same
 * model handle, same batches, interleaved repetitions.
 *
 *   bench_capture MODEL TOKENS_FILE OUT.h5 HOOKS BATCH REPS
 *
 * Modes (tokens/s each, best of REPS):
 *   forward     strata_run(logits_out = NULL) with a no-op hook on the last
 *               hooked layer, so exactly the layers a capture runs are run
 *   capture     strata_capture_* writing every hook in HOOKS to OUT.h5
 *               (f32, no compression), including file creation and close
 * Build: see bench/capture/run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata/capture.h"
#include "strata/hooks.h"
#include "strata/model.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int noop(strata_tensor *t, const strata_hook_ctx *c, void *u)
{
    (void)t; (void)c; (void)u;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: bench_capture MODEL TOKENS_FILE OUT.h5 HOOKS BATCH REPS\n");
        return 2;
    }
    const char *hooks = argv[4];
    int batch = atoi(argv[5]), reps = atoi(argv[6]);
    strata_model *m = NULL;
    if (strata_model_open(argv[1], NULL, &m) != STRATA_OK) {
        fprintf(stderr, "%s\n", strata_errmsg(m));
        return 1;
    }
    const strata_config *k = strata_model_config(m);
    /* read documents */
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    int nd = 0, cap = 0;
    int32_t **docs = NULL;
    int32_t *lens = NULL;
    char *line = NULL;
    size_t lc = 0;
    long long ntok = 0;
    while (getline(&line, &lc, f) > 0) {
        if (nd == cap) {
            cap = cap ? 2 * cap : 64;
            docs = realloc(docs, sizeof *docs * cap);
            lens = realloc(lens, sizeof *lens * cap);
        }
        int32_t *d = malloc(sizeof *d * (strlen(line) + 1));
        int n = 0;
        for (char *p = line, *e;; p = e) {
            long v = strtol(p, &e, 10);
            if (e == p) break;
            d[n++] = (int32_t)v;
        }
        docs[nd] = d;
        lens[nd++] = n;
        ntok += n;
    }
    fclose(f);
    /* the last layer named in HOOKS ("blocks.*" = all) */
    char last[64];
    snprintf(last, sizeof last, "blocks.%d.hook_resid_post", k->n_layers - 1);
    int T = 0;
    for (int i = 0; i < nd; i++) if (lens[i] > T) T = lens[i];
    int32_t *pad = calloc((size_t)batch * T, sizeof *pad);
    double best_fwd = 1e30, best_cap = 1e30;
    for (int r = 0; r < reps; r++) {
        strata_hook_id id;
        strata_hook_add(m, last, noop, NULL, &id);
        double t0 = now();
        for (int i = 0; i < nd; i += batch) {
            int b = nd - i < batch ? nd - i : batch, tb = 0;
            for (int j = 0; j < b; j++) if (lens[i + j] > tb) tb = lens[i + j];
            memset(pad, 0, sizeof *pad * (size_t)b * tb);
            for (int j = 0; j < b; j++) memcpy(pad + (size_t)j * tb, docs[i + j], sizeof *pad * lens[i + j]);
            if (strata_run(m, pad, lens + i, b, NULL) != STRATA_OK) { fprintf(stderr, "%s\n", strata_errmsg(m)); return 1; }
        }
        double tf = now() - t0;
        strata_hook_remove(m, id);
        if (tf < best_fwd) best_fwd = tf;

        strata_capture_opts o = strata_capture_opts_default();
        o.hooks = hooks;
        o.batch = batch;
        o.mode = STRATA_CAPTURE_OVERWRITE;
        strata_capture *c;
        t0 = now();
        if (strata_capture_open(m, argv[3], &o, &c) != STRATA_OK) { fprintf(stderr, "%s\n", strata_capture_errmsg(c)); return 1; }
        for (int i = 0; i < nd; i++)
            if (strata_capture_add_tokens(c, docs[i], lens[i]) != STRATA_OK) { fprintf(stderr, "%s\n", strata_capture_errmsg(c)); return 1; }
        if (strata_capture_finish(c) != STRATA_OK) { fprintf(stderr, "%s\n", strata_capture_errmsg(c)); return 1; }
        strata_capture_free(c);
        double tc = now() - t0;
        if (tc < best_cap) best_cap = tc;
        printf("rep %d: forward %.0f tok/s, capture %.0f tok/s\n", r, ntok / tf, ntok / tc);
        fflush(stdout);
    }
    printf("docs %d tokens %lld batch %d hooks %s\n", nd, ntok, batch, hooks);
    printf("best: forward %.0f tok/s, capture %.0f tok/s, ratio %.3f\n", ntok / best_fwd,
           ntok / best_cap, best_fwd / best_cap);
    strata_model_free(m);
    return 0;
}
