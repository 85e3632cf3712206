/* bench/geometry/bench_strata.c — strata PCA timing on the bench data.
 *
 * usage: bench_strata MODE X.f32|acts.h5 N D K [BLOCK_ROWS [RSVD_ITERS]]
 *   MODE cov    in-memory array, covariance solver (strata_pca_fit)
 *        rsvd   in-memory array, randomized solver
 *        stream streamed from acts.h5 (strata_pca_fit_acts), covariance solver
 * Prints one JSON line: seconds (fit only; cpu_seconds: its CPU time, all threads), top-K explained variance ratio
 * sum and values, participation ratio, peak RSS in MiB (getrusage; includes
 * the data array in the in-memory modes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "strata/capture.h"
#include "strata/pca.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_now(void)   /* this process's CPU time, every thread */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv)
{
    if (argc < 6) { fprintf(stderr, "usage: %s cov|rsvd|stream FILE N D K\n", argv[0]); return 2; }
    const char *mode = argv[1], *path = argv[2];
    long long n = atoll(argv[3]), d = atoll(argv[4]);
    int k = atoi(argv[5]);
    strata_pca_params p;
    strata_pca_default_params(&p);
    p.k = k;
    if (argc > 6) p.block_rows = atoll(argv[6]);   /* rows per streamed block (0: default) */
    if (argc > 7) p.rsvd_iters = atoi(argv[7]);    /* randomized solver's iterations */
    strata_pca *P = NULL;
    double t0, sec, c0 = 0, cpu = 0;
    int rc;
    if (!strcmp(mode, "stream")) {
        strata_acts *a = NULL;
        if (strata_acts_open(path, &a)) { fprintf(stderr, "%s\n", strata_acts_errmsg(a)); return 1; }
        p.solver = STRATA_PCA_COV;
        t0 = now();
        c0 = cpu_now();
        rc = strata_pca_fit_acts(a, "blocks.0.hook_resid_post", &p, &P);
        sec = now() - t0;
        cpu = cpu_now() - c0;
        strata_acts_close(a);
    } else {
        float *X = malloc(sizeof(float) * n * d);
        FILE *f = fopen(path, "rb");
        if (!X || !f || fread(X, sizeof(float), n * d, f) != (size_t)(n * d)) { fprintf(stderr, "cannot read %s\n", path); return 1; }
        fclose(f);
        /* One pass over the array before the timer, as bench_ref.py does: on
         * this VM the first read of freshly read()-filled pages runs at
         * ~0.5 GB/s (12x slower than the next), which would time the
         * hypervisor, not the PCA. */
        double warm = 0;
        for (long long i = 0; i < n * d; i++) warm += X[i];
        if (warm != warm) fprintf(stderr, "note: the data holds NaN\n");
        p.solver = !strcmp(mode, "rsvd") ? STRATA_PCA_RSVD : STRATA_PCA_COV;
        t0 = now();
        c0 = cpu_now();
        rc = strata_pca_fit(X, n, d, &p, &P);
        sec = now() - t0;
        cpu = cpu_now() - c0;
        free(X);
    }
    if (rc) { fprintf(stderr, "fit failed: %s\n", strata_pca_errmsg(P)); return 1; }
    const double *e = strata_pca_explained_variance_ratio(P);
    double s = 0;
    for (int i = 0; i < k; i++) s += e[i];
    printf("{\"method\": \"strata_%s\", \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"evr_sum\": %.12g, \"participation_ratio\": %.10g, "
           "\"peak_rss_mib\": %.1f, \"evr\": [", mode, sec, cpu, s, strata_pca_participation_ratio(P), peak_mib());
    for (int i = 0; i < k; i++) printf("%s%.12g", i ? ", " : "", e[i]);
    printf("]}\n");
    strata_pca_free(P);
    return 0;
}
