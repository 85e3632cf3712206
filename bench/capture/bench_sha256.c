/* bench/capture/bench_sha256.c — MiB/s of st_sha256_file on one file (bench/capture/safety.sh);
 * a second argument "portable" turns the SHA instructions off. */
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "util/sha256.h"

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int hw = st_sha256_use_hw(!(argc > 2 && !strcmp(argv[2], "portable")));
    struct stat st;
    if (stat(argv[1], &st) != 0) return 1;
    struct timespec a, b;
    char hex[65];
    st_err e;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (st_sha256_file(argv[1], hex, &e) != 0) { fprintf(stderr, "%s\n", e.msg); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    printf("%.0f MiB/s %s (%.12s...)\n", (double)st.st_size / 1048576.0 / s, hw ? "SHA-NI" : "portable", hex);
    return 0;
}
