/* bench/forward/bench_packed.c — the packed products (lib/model/packed.h)
 * against OpenBLAS sgemm on the same shapes: the four weight products of a
 * GPT-2-small layer (q|k|v [768 -> 2304], o [768 -> 768], fc [768 -> 3072],
 * proj [3072 -> 768]) for N rows of x, each repeated over L layers with its
 * own weights (as cache-cold as the forward's).
 *
 *   bench_packed N THREADS ITERS [L]
 *
 * sgemm: RowMajor NoTrans x NoTrans on [in][out] weights (what the forward
 * called before packing, OpenBLAS packing both operands every call);
 * packed: st_packed_product on panels packed once, untimed.  One JSON line:
 * best wall time and process CPU time of each, GFLOP/s of both.  Built by
 * run.sh against the static library (it needs the internal header). */
#define _GNU_SOURCE
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/packed.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *randmat(size_t n, uint64_t seed)
{
    float *a = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        a[i] = ((float)(seed >> 40) / 16777216.0f - 0.5f) * 0.04f;
    }
    return a;
}

enum { NMAT = 4 };
static const int IN[NMAT] = { 768, 768, 768, 3072 }, OUT[NMAT] = { 2304, 768, 3072, 768 };

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: bench_packed N THREADS ITERS [L]\n"); return 2; }
    const int N = atoi(argv[1]), nt = atoi(argv[2]), iters = atoi(argv[3]), L = argc > 4 ? atoi(argv[4]) : 12;
    openblas_set_num_threads(1);   /* as in the forward: one OpenMP pool */
    float *x = randmat((size_t)N * 3072, 1), *y = randmat((size_t)N * 3072, 2);
    float *w[12][NMAT], *pk[12][NMAT];
    double flop = 0;
    for (int l = 0; l < L; l++)
        for (int j = 0; j < NMAT; j++) {
            w[l][j] = randmat((size_t)IN[j] * OUT[j], 10 + l * NMAT + j);
            st_linear lin = { .w = w[l][j], .n_in = IN[j], .n_out = OUT[j], .in_out = 1, .ld = OUT[j] };
            if (st_pack_linear(&lin, &pk[l][j], nt)) { fprintf(stderr, "out of memory\n"); return 1; }
            flop += 2.0 * N * IN[j] * OUT[j];
        }
    double best[2] = { 1e30, 1e30 }, best_cpu[2] = { 1e30, 1e30 };
    for (int it = 0; it < iters + 1; it++)
        for (int v = 0; v < 2; v++) {   /* interleaved: sgemm, packed, sgemm, ... */
            double c0 = cpu_now(), t0 = now();
            for (int l = 0; l < L; l++)
                for (int j = 0; j < NMAT; j++) {
                    if (v == 0) {   /* the forward's old split: rows over threads when N >= 32 nt, else columns */
#pragma omp parallel num_threads(nt)
                        {
                            int t = omp_get_thread_num(), T = omp_get_num_threads();
                            if (N >= 32 * T) {
                                int r0 = N * t / T, r1 = N * (t + 1) / T;
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, OUT[j], IN[j], 1.0f,
                                            x + (size_t)r0 * IN[j], IN[j], w[l][j], OUT[j], 0.0f,
                                            y + (size_t)r0 * OUT[j], OUT[j]);
                            } else {
                                int blocks = (OUT[j] + 15) / 16, c0b = 16 * (blocks * t / T),
                                    c1b = 16 * (blocks * (t + 1) / T);
                                if (c1b > OUT[j]) c1b = OUT[j];
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, c1b - c0b, IN[j], 1.0f, x,
                                            IN[j], w[l][j] + c0b, OUT[j], 0.0f, y + c0b, OUT[j]);
                            }
                        }
                    } else {
                        st_packed_product(pk[l][j], IN[j], OUT[j], NULL, x, IN[j], N, y, OUT[j], nt);
                    }
                }
            double dt = now() - t0, dc = cpu_now() - c0;
            if (it > 0 && dt < best[v]) best[v] = dt;
            if (it > 0 && dc < best_cpu[v]) best_cpu[v] = dc;
        }
    printf("{\"mode\":\"packed_vs_sgemm\",\"N\":%d,\"threads\":%d,\"layers\":%d,\"kernel\":\"%s\",\"corename\":\"%s\","
           "\"sgemm_s\":%.4f,\"sgemm_cpu_s\":%.4f,\"packed_s\":%.4f,\"packed_cpu_s\":%.4f,"
           "\"sgemm_gflops\":%.2f,\"packed_gflops\":%.2f,\"sgemm_gflops_cpu\":%.2f,\"packed_gflops_cpu\":%.2f}\n",
           N, nt, L, st_packed_isa_name(st_packed_isa()), openblas_get_corename(), best[0], best_cpu[0], best[1],
           best_cpu[1], flop / best[0] / 1e9, flop / best[1] / 1e9, flop / best_cpu[0] / 1e9, flop / best_cpu[1] / 1e9);
    for (int l = 0; l < L; l++)
        for (int j = 0; j < NMAT; j++) { free(w[l][j]); free(pk[l][j]); }
    free(x);
    free(y);
    return 0;
}
