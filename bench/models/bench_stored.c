/* bench/models/bench_stored.c — weights in stored type vs the float32 copy:
 * load time, peak RSS and prefill throughput of one model, one configuration
 * per process (so the peak RSS is this configuration's alone).
 *
 *   bench_stored MODEL stored|f32 T THREADS ITERS
 *
 * Prefill: one sequence of T random token ids, logits of the last position
 * (strata_run_v2 logits = 2), best of ITERS after one warm-up pass that
 * faults the weights in.  Prints one JSON line.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "strata/model.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_stored MODEL stored|f32 T THREADS ITERS\n");
        return 2;
    }
    const char *path = argv[1];
    const int f32 = !strcmp(argv[2], "f32"), T = atoi(argv[3]), nt = atoi(argv[4]), iters = atoi(argv[5]);
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = nt;
    o.weights_f32 = f32;
    strata_model *m = NULL;
    double t0 = now();
    if (strata_model_open(path, &o, &m) != STRATA_OK) {
        fprintf(stderr, "bench_stored: %s\n", strata_errmsg(m));
        strata_model_free(m);
        return 1;
    }
    const double load_s = now() - t0;
    const strata_config *c = strata_model_config(m);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)T), len = T;
    float *logits = malloc(sizeof(float) * (size_t)c->vocab_size);
    srand(1);
    for (int i = 0; i < T; i++) ids[i] = rand() % c->vocab_size;
    strata_run_opts ro = { 0 };
    ro.logits = 2;
    double best = 1e30;
    for (int it = 0; it <= iters; it++) {
        double s = now();
        if (strata_run_v2(m, ids, &len, 1, &ro, logits) != STRATA_OK) {
            fprintf(stderr, "bench_stored: %s\n", strata_errmsg(m));
            return 1;
        }
        double e = now() - s;
        if (it > 0 && e < best) best = e;   /* pass 0 faults the weights in */
        if (iters == 0) best = e;
    }
    int64_t mapped, owned;
    strata_model_weight_memory(m, &mapped, &owned);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"model\": \"%s\", \"weights\": \"%s\", \"T\": %d, \"threads\": %d, \"load_s\": %.3f, "
           "\"prefill_s\": %.3f, \"tokens_per_s\": %.1f, \"peak_rss_mib\": %.0f, \"mapped_mib\": %.0f, "
           "\"owned_mib\": %.0f, \"logit0\": %.6g}\n",
           c->name, f32 ? "f32" : "stored", T, nt, load_s, best, T / best, ru.ru_maxrss / 1024.0,
           mapped / 1048576.0, owned / 1048576.0, logits[0]);
    free(ids);
    free(logits);
    strata_model_free(m);
    return 0;
}
