/* bench/forward/bench_forward.c — prefill throughput of the strata forward pass,
 * the cost of capturing hooks, where the time goes, and OpenBLAS sgemm on the
 * same shapes.  One measurement per process, so peak RSS belongs to it alone.
 *
 *   bench_forward fwd   MODEL B T THREADS MODE ITERS
 *       MODE  last     prefill: every layer, logits of the last position only
 *             all      every layer, logits at every position [B,T,V]
 *             base     every layer, no logits (a no-op hook on the last
 *                      layer's resid_post keeps every layer running)
 *             capture  as base, plus every blocks.*.hook_resid_post copied
 *                      into preallocated memory ([L][B*T*d] floats)
 *             profile  as base, with a timestamp hook between every stage
 *                      (ln, qkv, attention, o-proj, mlp ...), printing the
 *                      wall and process-CPU time per stage summed over layers
 *   bench_forward decode MODEL NGEN THREADS ITERS
 *       token-by-token generation as llama-bench's tgNGEN: greedy
 *       strata_generate from a 1-token prompt for NGEN tokens (NGEN forwards
 *       of one token, logits of each), tokens/s; weight bytes each step reads
 *       (every matrix once, as float32) and their rate in GB/s
 *   bench_forward triad THREADS MB ITERS
 *       STREAM-like triad a[i] = b[i] + s * c[i] over three arrays of MB MiB
 *       each on THREADS OpenMP threads, best of ITERS: GB/s counting 3 arrays
 *       (STREAM's convention: no write-allocate traffic); then a read-only
 *       stream (sum of b + c: what a decode step does with its weights), also
 *       per second of process CPU time (what one core streams while it runs)
 *   bench_forward sgemm d F L B T THREADS ITERS
 *       the sgemm calls strata makes for a GPT-2 forward of B x T tokens
 *       (RowMajor NoTrans/NoTrans on Conv1D [in,out] weights; q, k, v as
 *       three column blocks with ldb = 3d), timed directly
 *
 * Output: one JSON object per line.  Times are wall clock (and process CPU
 * time, cpu_s, all threads), best of ITERS, after a short warm-up run that
 * faults the weights in.
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "strata/hooks.h"
#include "strata/model.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)   /* process CPU time, all threads */
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* ---------------- hooks ---------------- */

static int noop(strata_tensor *t, const strata_hook_ctx *c, void *u) { return 0; }

struct capbuf { float **dst; size_t per_layer; };
static int capture_fn(strata_tensor *t, const strata_hook_ctx *c, void *u)
{
    struct capbuf *cb = u;
    size_t n = (size_t)t->shape[0] * t->shape[1] * t->shape[2];   /* contiguous [B,T,d] */
    memcpy(cb->dst[c->layer], t->data, sizeof(float) * (n < cb->per_layer ? n : cb->per_layer));
    return 0;
}

/* profile: stage k ends at hook STAGES[k]; its time is (now - previous stamp) */
static const char *STAGES[] = {
    "hook_embed", "blocks.*.hook_resid_pre", "blocks.*.ln1.hook_normalized", "blocks.*.attn.hook_q",
    "blocks.*.attn.hook_v", "blocks.*.attn.hook_z", "blocks.*.hook_attn_out", "blocks.*.hook_resid_mid",
    "blocks.*.ln2.hook_normalized", "blocks.*.mlp.hook_pre", "blocks.*.mlp.hook_post",
    "blocks.*.hook_mlp_out", "blocks.*.hook_resid_post" };
static const char *STAGE_LABEL[] = {
    "embed", "between_layers", "ln1", "qkv_sgemm", "qkv_split_hooks", "attention", "o_sgemm",
    "resid_add1", "ln2", "fc_sgemm", "gelu", "proj_sgemm", "resid_add2" };
enum { NSTAGE = sizeof STAGES / sizeof STAGES[0] };
static double stage_t[NSTAGE], stage_c[NSTAGE], last_stamp, last_cpu;
static int stage_ids[NSTAGE];

static int stamp_fn(strata_tensor *t, const strata_hook_ctx *c, void *u)
{
    int k = *(int *)u;
    double n = now(), cp = cpu_now();
    stage_t[k] += n - last_stamp;
    stage_c[k] += cp - last_cpu;
    last_stamp = n;
    last_cpu = cp;
    return 0;
}

/* ---------------- modes ---------------- */

static int run_fwd(int argc, char **argv)
{
    if (argc < 8) { fprintf(stderr, "usage: bench_forward fwd MODEL B T THREADS MODE ITERS\n"); return 2; }
    const char *path = argv[2], *mode = argv[6];
    int B = atoi(argv[3]), T = atoi(argv[4]), nt = atoi(argv[5]), iters = atoi(argv[7]);
    double rss0 = peak_rss_mb();
    strata_model *m = NULL;
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = nt;
    double t0 = now();
    if (strata_model_open(path, &o, &m) != STRATA_OK) {
        fprintf(stderr, "open: %s\n", strata_errmsg(m));
        return 1;
    }
    double t_open = now() - t0;
    const strata_config *c = strata_model_config(m);
    const int d = c->d_model, L = c->n_layers, F = c->d_mlp, V = c->vocab_size;
    int32_t *toks = malloc(sizeof(int32_t) * B * T), *lens = malloc(sizeof(int32_t) * B);
    uint64_t s = 12345;
    for (int i = 0; i < B * T; i++) { s = s * 6364136223846793005ull + 1442695040888963407ull; toks[i] = (int32_t)((s >> 33) % V); }
    for (int b = 0; b < B; b++) lens[b] = T;
    strata_run_opts ro = { 0 };
    size_t logits_n = 0;
    float **cap = NULL;
    struct capbuf cb = { NULL, (size_t)B * T * d };
    char last_post[64];
    snprintf(last_post, sizeof last_post, "blocks.%d.hook_resid_post", L - 1);
    if (!strcmp(mode, "last")) { ro.logits = 2; logits_n = (size_t)B * V; }
    else if (!strcmp(mode, "all")) { ro.logits = 1; logits_n = (size_t)B * T * V; }
    else if (!strcmp(mode, "base")) strata_hook_add(m, last_post, noop, NULL, NULL);
    else if (!strcmp(mode, "capture")) {
        cap = malloc(sizeof(float *) * L);
        for (int l = 0; l < L; l++) {
            cap[l] = malloc(sizeof(float) * cb.per_layer);
            memset(cap[l], 0, sizeof(float) * cb.per_layer);   /* fault the pages in, untimed */
        }
        cb.dst = cap;
        strata_hook_add(m, "blocks.*.hook_resid_post", capture_fn, &cb, NULL);
    } else if (!strcmp(mode, "profile")) {
        for (int k = 0; k < NSTAGE; k++) {
            stage_ids[k] = k;
            if (strata_hook_add(m, STAGES[k], stamp_fn, &stage_ids[k], NULL) != STRATA_OK)
                stage_ids[k] = -1;   /* e.g. resid_mid with a parallel residual */
        }
    } else { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
    float *logits = logits_n ? malloc(sizeof(float) * logits_n) : NULL;
    if (logits) memset(logits, 0, sizeof(float) * logits_n);

    /* warm-up on 1 x 16 tokens: faults in every weight page (the first
     * measured run still grows the workspace: ~1e4 page faults, < 1%) */
    t0 = now();
    int32_t wlen = T < 16 ? T : 16;
    int rc = strata_run_v2(m, toks, &wlen, 1, &ro, logits);
    double t_warm = now() - t0;
    if (rc != STRATA_OK) { fprintf(stderr, "run: %s\n", strata_errmsg(m)); return 1; }
    double best = 1e30, sum = 0, best_cpu = 1e30;
    for (int it = 0; it < iters; it++) {
        memset(stage_t, 0, sizeof stage_t);
        memset(stage_c, 0, sizeof stage_c);
        double c0 = last_cpu = cpu_now();
        t0 = last_stamp = now();
        strata_run_v2(m, toks, lens, B, &ro, logits);
        double dt = now() - t0, dc = cpu_now() - c0;
        sum += dt;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    /* matmul FLOPs: per token per layer 2*(d*3d + d*d + d*F + F*d); unembedding 2*d*V per row */
    double N = (double)B * T;
    double mm = N * L * 2.0 * ((double)d * 3 * d + (double)d * d + 2.0 * d * F);
    double un = (ro.logits == 1 ? N : ro.logits == 2 ? B : 0) * 2.0 * d * V;
    double attn = (double)B * L * 2.0 * 2.0 * d * (T * (T + 1) / 2.0);   /* qk and pv, causal */
    /* activations of one batch: x n q k v z a mo [N,d], h1 [N,F], scale [N] (+ logits out) */
    double act_mb = (N * (8.0 * d + F + 1)) * 4 / 1048576.0;
    printf("{\"mode\":\"%s\",\"B\":%d,\"T\":%d,\"threads\":%d,\"corename\":\"%s\",\"best_s\":%.4f,\"mean_s\":%.4f,\"cpu_s\":%.4f,"
           "\"tokens_per_s\":%.1f,\"matmul_gflop\":%.2f,\"unembed_gflop\":%.2f,\"attn_gflop\":%.2f,"
           "\"matmul_gflops_effective\":%.2f,\"open_s\":%.3f,\"warmup_s\":%.3f,"
           "\"peak_rss_mb\":%.1f,\"rss_before_open_mb\":%.1f,\"weights_mb\":%.1f,\"activations_mb\":%.1f,"
           "\"logits_mb\":%.1f,\"capture_mb\":%.1f",
           mode, B, T, nt, strata_blas_corename(), best, sum / iters, best_cpu, N / best, mm / 1e9, un / 1e9, attn / 1e9,
           (mm + un) / best / 1e9, t_open, t_warm, peak_rss_mb(), rss0,
           strata_model_n_params(m) * 4 / 1048576.0, act_mb, logits_n * 4 / 1048576.0,
           cap ? L * cb.per_layer * 4 / 1048576.0 : 0.0);
    if (!strcmp(mode, "profile")) {   /* last iteration's stage times */
        printf(",\"stages_s\":{");
        double tot = 0;
        for (int k = 0; k < NSTAGE; k++) {
            if (stage_ids[k] < 0) continue;
            printf("%s\"%s\":%.4f", k ? "," : "", STAGE_LABEL[k], stage_t[k]);
            tot += stage_t[k];
        }
        printf(",\"sum\":%.4f}", tot);
        printf(",\"stages_cpu_s\":{");   /* process CPU time: exact per stage with 1 thread */
        tot = 0;
        for (int k = 0; k < NSTAGE; k++) {
            if (stage_ids[k] < 0) continue;
            printf("%s\"%s\":%.4f", k ? "," : "", STAGE_LABEL[k], stage_c[k]);
            tot += stage_c[k];
        }
        printf(",\"sum\":%.4f}", tot);
    }
    printf("}\n");
    if (cap) { for (int l = 0; l < L; l++) free(cap[l]); free(cap); }
    free(logits);
    free(toks);
    free(lens);
    strata_model_free(m);
    return 0;
}

/* Bytes of float32 weights one decode step reads: every matrix once (the
 * embedding row and norms are negligible). */
static double step_weight_bytes(const strata_config *c)
{
    const double d = c->d_model, qd = (double)c->n_heads * c->d_head, kvd = (double)c->n_kv_heads * c->d_head;
    const double F = c->d_mlp, V = c->vocab_size;
    double per_layer = d * qd + 2 * d * kvd + qd * d;
    if (!c->attn_only) per_layer += (c->gated_mlp ? 3 : 2) * d * F;
    return 4.0 * (c->n_layers * per_layer + V * d);
}

static int run_decode(int argc, char **argv)
{
    if (argc < 6) { fprintf(stderr, "usage: bench_forward decode MODEL NGEN THREADS ITERS\n"); return 2; }
    const char *path = argv[2];
    int ngen = atoi(argv[3]), nt = atoi(argv[4]), iters = atoi(argv[5]);
    strata_model *m = NULL;
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = nt;
    if (strata_model_open(path, &o, &m) != STRATA_OK) { fprintf(stderr, "open: %s\n", strata_errmsg(m)); return 1; }
    const strata_config *c = strata_model_config(m);
    int32_t prompt = 1 % c->vocab_size, *out = malloc(sizeof(int32_t) * (size_t)ngen);
    /* warm-up: faults the weights in, packs them */
    double t0 = now();
    if (strata_generate(m, &prompt, 1, 4, out) != STRATA_OK) { fprintf(stderr, "generate: %s\n", strata_errmsg(m)); return 1; }
    double t_warm = now() - t0, best = 1e30, best_cpu = 1e30;
    for (int it = 0; it < iters; it++) {
        double c0 = cpu_now();
        t0 = now();
        strata_generate(m, &prompt, 1, ngen, out);
        double dt = now() - t0, dc = cpu_now() - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    const double wb = step_weight_bytes(c);
    printf("{\"mode\":\"decode\",\"ngen\":%d,\"threads\":%d,\"d_model\":%d,\"n_layers\":%d,\"vocab\":%d,"
           "\"corename\":\"%s\",\"best_s\":%.4f,\"cpu_s\":%.4f,\"tokens_per_s\":%.2f,\"step_weight_mb\":%.1f,"
           "\"weight_gb_per_s\":%.2f,\"warmup_s\":%.3f,\"peak_rss_mb\":%.1f}\n",
           ngen, nt, c->d_model, c->n_layers, c->vocab_size, strata_blas_corename(), best, best_cpu, ngen / best,
           wb / 1048576.0, wb * ngen / best / 1e9, t_warm, peak_rss_mb());
    free(out);
    strata_model_free(m);
    return 0;
}

static int run_triad(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: bench_forward triad THREADS MB ITERS\n"); return 2; }
    int nt = atoi(argv[2]), iters = atoi(argv[4]);
    size_t n = (size_t)atol(argv[3]) * 1048576 / sizeof(float);
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n), *cc = malloc(sizeof(float) * n);
    if (!a || !b || !cc) { fprintf(stderr, "triad: out of memory\n"); return 1; }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; cc[i] = 2; }   /* first touch by the same threads */
    double best = 1e30;
    const float sc = 3.0f;
    for (int it = 0; it < iters; it++) {
        double t0 = now();
#pragma omp parallel for num_threads(nt) schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + sc * cc[i];
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    /* read-only stream (what a decode step does with its weights): sum of b and c */
    double best_rd = 1e30, best_rd_cpu = 1e30, sum = 0;
    for (int it = 0; it < iters; it++) {
        double t0 = now(), c0 = cpu_now();
        float acc = 0;
#pragma omp parallel for simd num_threads(nt) schedule(static) reduction(+ : acc)
        for (size_t i = 0; i < n; i++) acc += b[i] + cc[i];
        double dt = now() - t0, dc = cpu_now() - c0;
        sum += acc;
        if (dt < best_rd) best_rd = dt;
        if (dc < best_rd_cpu) best_rd_cpu = dc;
    }
    printf("{\"mode\":\"triad\",\"threads\":%d,\"array_mb\":%.0f,\"best_s\":%.4f,\"gb_per_s\":%.2f,"
           "\"read_gb_per_s\":%.2f,\"read_gb_per_cpu_s\":%.2f,\"check\":%.1f}\n",
           nt, n * 4 / 1048576.0, best, 3.0 * n * sizeof(float) / best / 1e9,
           2.0 * n * sizeof(float) / best_rd / 1e9, 2.0 * n * sizeof(float) / best_rd_cpu / 1e9,
           (double)a[n / 2] + 0 * sum);
    free(a); free(b); free(cc);
    return 0;
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

static int run_sgemm(int argc, char **argv)
{
    if (argc < 9) { fprintf(stderr, "usage: bench_forward sgemm d F L B T THREADS ITERS\n"); return 2; }
    int d = atoi(argv[2]), F = atoi(argv[3]), L = atoi(argv[4]), B = atoi(argv[5]), T = atoi(argv[6]);
    int nt = atoi(argv[7]), iters = atoi(argv[8]);
    openblas_set_num_threads(nt);
    int N = B * T;
    /* one layer's weights reused for every layer (as cache-cold as strata's: each is >= 2.3 MB) */
    float *x = randmat((size_t)N * F, 1), *y = randmat((size_t)N * F, 2);
    float *wqkv = randmat((size_t)d * 3 * d, 3), *wo = randmat((size_t)d * d, 4);
    float *wfc = randmat((size_t)d * F, 5), *wpr = randmat((size_t)F * d, 6);
    double best = 1e30, best_fused = 1e30, best_cpu = 1e30;
    for (int it = 0; it < iters + 2; it++) {   /* warm-up, iters timed, then one fused-qkv pass */
        int fused = it == iters + 1;
        double c0 = cpu_now(), t0 = now();
        for (int l = 0; l < L; l++) {
            if (fused)   /* q|k|v as one [N,3d] product (strata makes three: ldb = 3d blocks) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, 3 * d, d, 1.0f, x, d, wqkv, 3 * d,
                            0.0f, y, 3 * d);
            else
                for (int k = 0; k < 3; k++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, d, d, 1.0f, x, d, wqkv + k * d,
                                3 * d, 0.0f, y + (size_t)k * N * d, d);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, d, d, 1.0f, x, d, wo, d, 0.0f, y, d);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, F, d, 1.0f, x, d, wfc, F, 0.0f, y, F);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, d, F, 1.0f, x, F, wpr, d, 0.0f, y, d);
        }
        double dt = now() - t0, dc = cpu_now() - c0;
        if (fused) best_fused = dt;
        else if (it > 0 && dt < best) { best = dt; best_cpu = dc; }
    }
    double flop = (double)N * L * 2.0 * ((double)d * 3 * d + (double)d * d + 2.0 * d * F);
    printf("{\"mode\":\"sgemm\",\"B\":%d,\"T\":%d,\"threads\":%d,\"corename\":\"%s\",\"best_s\":%.4f,\"cpu_s\":%.4f,"
           "\"gflops\":%.2f,\"best_fused_qkv_s\":%.4f,\"gflops_fused_qkv\":%.2f}\n",
           B, T, nt, openblas_get_corename(), best, best_cpu, flop / best / 1e9, best_fused, flop / best_fused / 1e9);
    free(x); free(y); free(wqkv); free(wo); free(wfc); free(wpr);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "fwd")) return run_fwd(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "sgemm")) return run_sgemm(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "decode")) return run_decode(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "triad")) return run_triad(argc, argv);
    fprintf(stderr, "usage: bench_forward fwd MODEL B T THREADS MODE ITERS\n"
                    "       bench_forward decode MODEL NGEN THREADS ITERS\n"
                    "       bench_forward triad THREADS MB ITERS\n"
                    "       bench_forward sgemm d F L B T THREADS ITERS\n");
    return 2;
}
