/* bench/tokenizer/bench_strata.c — strata encoding throughput.
 * usage: bench_strata TOKENIZER FILE... ; prints "file bytes tokens MB/s" per file,
 * best of 3 whole-file strata_tokenize() calls (the word cache starts empty each
 * time: the tokenizer is reopened). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "strata/tokenizer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: %s TOKENIZER FILE...\n", argv[0]); return 2; }
    for (int f = 2; f < argc; f++) {
        FILE *fp = fopen(argv[f], "rb");
        if (!fp) { perror(argv[f]); return 1; }
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *s = malloc((size_t)n);
        if (fread(s, 1, (size_t)n, fp) != (size_t)n) return 1;
        fclose(fp);
        int32_t *ids = malloc(sizeof *ids * (size_t)n);
        double best = 1e30;
        int64_t k = 0;
        for (int r = 0; r < 3; r++) {
            strata_tokenizer *t;
            if (strata_tokenizer_open(argv[1], &t)) { fprintf(stderr, "%s\n", strata_tokenizer_errmsg(t)); return 1; }
            double t0 = now();
            k = strata_tokenize(t, s, (size_t)n, 0, ids, n, NULL);
            double dt = now() - t0;
            if (k < 0) { fprintf(stderr, "%s\n", strata_tokenizer_errmsg(t)); return 1; }
            if (dt < best) best = dt;
            strata_tokenizer_free(t);
        }
        printf("strata   %-12s %9ld bytes %8lld tokens %8.2f MB/s\n", argv[f], n, (long long)k, n / best / 1e6);
        free(ids);
        free(s);
    }
    return 0;
}
