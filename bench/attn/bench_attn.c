/* bench/attn/bench_attn.c — cost of computing every attention-head statistic
 * during a forward pass, relative to the plain forward pass.
 *
 * usage: bench_attn MODEL [T] [B] [reps] [threads] [wall]
 *   plain : strata_run(tokens [B][T], logits) with no hook
 *   empty : the same with an empty hook on blocks.*.attn.hook_pattern (what
 *           the engine pays to expose the whole [B,H,T,T] pattern)
 *   sliced: an empty hook added with STRATA_HOOK_SLICES (the pattern in
 *           cache-sized slices, as the accumulator takes it)
 *   stats : the same with a strata_attn_stats accumulator attached
 *           (entropy, distance, prev/first/self, duplicate of every head)
 * Runs are interleaved (plain, empty, sliced, stats, ...) after one warm-up each;
 * prints the median process CPU time of each and the ratios to plain. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata/attn.h"
#include "strata/hooks.h"
#include "strata/model.h"

/* CPU time of the whole process (all threads): robust on a shared, loaded
 * machine, where wall time mostly measures the neighbours. */
static clockid_t clock_id = CLOCK_PROCESS_CPUTIME_ID;   /* "wall" argument: CLOCK_MONOTONIC */

static double now(void)
{
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int empty_hook(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)t; (void)ctx; (void)user;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [T=256] [B=8] [reps=15] [threads=0]\n", argv[0]);
        return 2;
    }
    int T = argc > 2 ? atoi(argv[2]) : 256, B = argc > 3 ? atoi(argv[3]) : 8;
    int reps = argc > 4 ? atoi(argv[4]) : 15, threads = argc > 5 ? atoi(argv[5]) : 0;
    if (argc > 6 && !strcmp(argv[6], "wall")) clock_id = CLOCK_MONOTONIC;
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = threads;
    strata_model *m = NULL;
    if (strata_model_open(argv[1], &o, &m) != STRATA_OK) {
        fprintf(stderr, "open: %s\n", strata_errmsg(m));
        return 1;
    }
    const strata_config *c = strata_model_config(m);
    if (T > c->n_ctx) T = c->n_ctx;
    int32_t *tok = malloc(sizeof *tok * (size_t)B * T), *len = malloc(sizeof *len * B);
    float *logits = malloc(sizeof(float) * (size_t)B * T * c->vocab_size);
    uint64_t x = 12345;
    for (int64_t i = 0; i < (int64_t)B * T; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((x >> 33) % (uint64_t)c->vocab_size);
    }
    for (int b = 0; b < B; b++) len[b] = T;
    strata_attn_stats *s = NULL;
    if (strata_attn_stats_new(c, &s) != STRATA_OK) return 1;
    double *tp = malloc(sizeof(double) * reps), *ts = malloc(sizeof(double) * reps);
    double *te = malloc(sizeof(double) * reps), *tl = malloc(sizeof(double) * reps);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        if (strata_run(m, tok, len, B, logits) != STRATA_OK) { fprintf(stderr, "%s\n", strata_errmsg(m)); return 1; }
        double t1 = now();
        strata_hook_id hid;
        strata_hook_add(m, "blocks.*.attn.hook_pattern", empty_hook, NULL, &hid);
        double e0 = now();
        if (strata_run(m, tok, len, B, logits) != STRATA_OK) return 1;
        double e1 = now();
        strata_hook_remove(m, hid);
        if (r >= 0) te[r] = e1 - e0;
        strata_hook_add_ex(m, "blocks.*.attn.hook_pattern", empty_hook, NULL, STRATA_HOOK_SLICES | STRATA_HOOK_READONLY, &hid);
        double s0 = now();
        if (strata_run(m, tok, len, B, logits) != STRATA_OK) return 1;
        double s1 = now();
        strata_hook_remove(m, hid);
        if (r >= 0) tl[r] = s1 - s0;
        strata_attn_stats_attach(s, m);
        double t2 = now();
        if (strata_run(m, tok, len, B, logits) != STRATA_OK) { fprintf(stderr, "%s\n", strata_errmsg(m)); return 1; }
        double t3 = now();
        strata_attn_stats_detach(s);
        if (r >= 0) { tp[r] = t1 - t0; ts[r] = t3 - t2; }
    }
    qsort(tp, reps, sizeof *tp, cmp_d);
    qsort(ts, reps, sizeof *ts, cmp_d);
    qsort(te, reps, sizeof *te, cmp_d);
    qsort(tl, reps, sizeof *tl, cmp_d);
    double mp = tp[reps / 2], ms = ts[reps / 2], me = te[reps / 2], ml = tl[reps / 2];
    printf("%-16s B=%d T=%4d | plain %8.2f ms | whole-pattern hook x%.3f | sliced hook x%.3f | "
           "stats %8.2f ms (%+.1f%% over plain, %+.1f%% over sliced hook)\n",
           c->name, B, T, mp * 1e3, me / mp, ml / mp, ms * 1e3, (ms / mp - 1) * 100,
           (ms / ml - 1) * 100);
    strata_attn_stats_free(s);
    strata_model_free(m);
    free(tok); free(len); free(logits); free(tp); free(ts); free(te); free(tl);
    return 0;
}
