/* tests/mpi/mpi_fit.c — distributed probe, PCA and CKA fits under mpirun -np 2 and 3.
 *
 * Every rank generates the same synthetic data set (seeded), fits it ALONE
 * (distributed = 0: the one-process code path, which is the serial build's
 * output -- the serial build runs exactly this code with one rank), then
 * fits it with distributed = 1 from its own rows only, and compares.
 * Uneven splits: n = 1001 rows over 2 or 3 ranks; the PCA/CKA test gives
 * rank 1 no rows at all.
 *
 * Tolerances (why they are what they are: summation order differs, so the
 * float32 products and float64 sums round differently; nothing else does):
 *   probe logistic: coefficients within 2e-3 * max(1, max|coef|), the
 *     tolerance the one-process probe holds against scikit-learn
 *     (docs/PROBES.md): logits and gradients are float32 products, so the
 *     objective is known to ~1e-7 relative and L-BFGS stops where it can no
 *     longer decrease it, which moves with the summation order (the test
 *     prints how far the one-process fit moves with another block size)
 *   ridge, diffmean: 1e-5 relative (float32 ssyrk / float32 rows summed
 *     in float64 blocks; the float32 normal equations round differently)
 *   PCA covariance solver (float64 throughout): components (sign
 *     convention applied, so no sign flips) 1e-9, eigenvalues 1e-10
 *     relative; randomized solver (float32 block products, float64 sums;
 *     within 1e-6 of the covariance path by its own tests): 1e-5 and 1e-6
 *   CKA (float64): 1e-12 absolute
 *   evaluation (CV by document, control task, shuffled labels): every
 *     accuracy within 1 / n_test of the one-process value (a row whose
 *     score is within rounding of 0 may flip), identical split sizes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "mpi_check.h"
#include "strata/cka.h"
#include "strata/pca.h"
#include "strata/probe.h"

enum { N = 1001, D = 24 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif()); }

static double max_abs(const float *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) if (fabs(a[i]) > m) m = fabs(a[i]);
    return m;
}

/* max |a - b| / max(1, max|a|) over coef and intercept */
static double probe_diff(strata_probe *a, strata_probe *b)
{
    int no = strata_probe_n_outputs(a);
    int64_t d = strata_probe_dim(a);
    MPI_CHECK(no == strata_probe_n_outputs(b) && d == strata_probe_dim(b), "shapes");
    const float *ca = strata_probe_coef(a), *cb = strata_probe_coef(b);
    const float *ia = strata_probe_intercept(a), *ib = strata_probe_intercept(b);
    double sc = fmax(1.0, fmax(max_abs(ca, no * d), max_abs(ia, no))), m = 0;
    for (int64_t i = 0; i < no * d; i++) m = fmax(m, fabs((double)ca[i] - cb[i]));
    for (int i = 0; i < no; i++) m = fmax(m, fabs((double)ia[i] - ib[i]));
    return m / sc;
}

int main(int argc, char **argv)
{
    MPI_CHECK(strata_dist_init(&argc, &argv) == STRATA_OK, "%s", strata_dist_errmsg());
    const int rank = strata_dist_rank(), size = strata_dist_size();
    MPI_CHECK(size >= 2, "run under mpirun with >= 2 ranks");

    /* X [N][D]: features with large means (residual-stream-like outliers),
     * correlated through a random mixing; labels from a noisy linear rule. */
    float *X = malloc(sizeof *X * N * D);
    float *yb = malloc(sizeof *yb * N), *y3 = malloc(sizeof *y3 * N), *yr = malloc(sizeof *yr * N);
    int64_t *groups = malloc(sizeof *groups * N);
    int32_t *tok = malloc(sizeof *tok * N);
    double w[D];
    for (int j = 0; j < D; j++) w[j] = gauss();
    for (int i = 0; i < N; i++) {
        double z[D], s = 0;
        for (int j = 0; j < D; j++) z[j] = gauss();
        for (int j = 0; j < D; j++) {
            double v = z[j] + 0.5 * z[(j + 1) % D] + (j % 5 == 0 ? 40.0 + 3 * j : 0.1 * j);
            X[i * D + j] = (float)v;
            s += w[j] * z[j];
        }
        double noise = gauss();
        yb[i] = s + 0.8 * noise > 0 ? 1.0f : 0.0f;
        y3[i] = s + noise < -0.7 ? 0.0f : s + noise < 0.7 ? 1.0f : 2.0f;
        yr[i] = (float)(2.0 * s + 0.3 * noise + 5);
        groups[i] = i / 13;         /* 77 "documents" of 13 rows */
        tok[i] = (int32_t)(unif() * 40);
        if (i % 97 == 5) yb[i] = NAN; /* unlabelled rows */
    }
    int64_t lo, hi;
    strata_probe_dist_rows(N, 1, &lo, &hi);
    int64_t q = N / size, rem = N % size;
    MPI_CHECK(lo == rank * q + (rank < rem ? rank : rem) && hi - lo == q + (rank < rem), "share [%lld, %lld)", (long long)lo, (long long)hi);
    const float *Xmine = X + lo * D;

    /* ---- probes: fit ---- */
    struct { int kind; const float *y; double tol; const char *what; } cases[] = {
        { STRATA_PROBE_LOGISTIC, yb, 2e-3, "logistic binary" },
        { STRATA_PROBE_LOGISTIC, y3, 2e-3, "logistic 3 classes" },
        { STRATA_PROBE_RIDGE, yr, 1e-5, "ridge" },
        { STRATA_PROBE_DIFFMEAN, y3, 1e-5, "diffmean" },
    };
    for (int c = 0; c < 4; c++) {
        strata_probe_params p;
        strata_probe_default_params(&p);
        p.kind = cases[c].kind;
        p.tol = 1e-7;
        p.max_iter = 5000;
        p.block_rows = 100; /* several blocks per rank */
        strata_probe *ser = NULL, *dis = NULL;
        MPI_CHECK(strata_probe_fit(X, N, D, cases[c].y, NULL, &p, &ser) == STRATA_OK, "%s serial: %s", cases[c].what, strata_probe_errmsg(ser));
        p.distributed = 1;
        MPI_CHECK(strata_probe_fit(Xmine, N, D, cases[c].y, NULL, &p, &dis) == STRATA_OK, "%s dist: %s", cases[c].what, strata_probe_errmsg(dis));
        double diff = probe_diff(ser, dis);
        MPI_CHECK(strata_probe_n_train(ser) == strata_probe_n_train(dis), "%s n_train", cases[c].what);
        /* for scale: the one-process fit with another block size (another
         * summation order, nothing else) moves by this much */
        strata_probe *ser2 = NULL;
        p.distributed = 0;
        p.block_rows = 37;
        MPI_CHECK(strata_probe_fit(X, N, D, cases[c].y, NULL, &p, &ser2) == STRATA_OK, "%s", strata_probe_errmsg(ser2));
        double diff_serial = probe_diff(ser, ser2);
        strata_probe_free(ser2);
        if (rank == 0)
            printf("%s: max |coef diff| / max(1,|coef|) = %.3g (iters %d vs %d); one process, block "
                   "100 vs 37: %.3g\n", cases[c].what, diff, strata_probe_n_iter(ser),
                   strata_probe_n_iter(dis), diff_serial);
        MPI_CHECK(diff <= cases[c].tol, "%s: coefficient difference %.3g > %.3g", cases[c].what, diff, cases[c].tol);
        /* every rank holds the same probe: rank 0's coefficients broadcast and compared bitwise */
        int64_t nc = (int64_t)strata_probe_n_outputs(dis) * D;
        float *c0 = malloc(sizeof *c0 * (size_t)nc);
        memcpy(c0, strata_probe_coef(dis), sizeof *c0 * (size_t)nc);
        MPI_Bcast(c0, (int)nc, MPI_FLOAT, 0, MPI_COMM_WORLD);
        MPI_CHECK(!memcmp(c0, strata_probe_coef(dis), sizeof *c0 * (size_t)nc), "%s: ranks disagree", cases[c].what);
        free(c0);
        strata_probe_free(ser);
        strata_probe_free(dis);
    }

    /* ---- probes: evaluation with CV by document, control task, shuffled labels ---- */
    {
        strata_probe_params p;
        strata_probe_default_params(&p);
        p.cv_folds = 3; p.control = 1; p.shuffled = 1; p.group = STRATA_PROBE_GROUP_DOC;
        p.groups = groups; p.block_rows = 128;
        strata_probe_report rs, rd;
        char e1[512] = "", e2[512] = "";
        memset(&rs, 0, sizeof rs); memset(&rd, 0, sizeof rd);
        MPI_CHECK(strata_probe_evaluate(X, N, D, yb, tok, &p, &rs, e1, sizeof e1) == STRATA_OK, "eval serial: %s", e1);
        p.distributed = 1;
        MPI_CHECK(strata_probe_evaluate(Xmine, N, D, yb, tok, &p, &rd, e2, sizeof e2) == STRATA_OK, "eval dist: %s", e2);
        MPI_CHECK(rs.n_train == rd.n_train && rs.n_test == rd.n_test && rs.grouped && rd.grouped &&
                  rs.n_groups == rd.n_groups, "splits differ");
        double slack = 1.0 / (double)rs.n_test + 1e-12;
        double pairs[][2] = { { rs.test_accuracy, rd.test_accuracy }, { rs.train_accuracy, rd.train_accuracy },
                              { rs.balanced_accuracy, rd.balanced_accuracy }, { rs.cv_score, rd.cv_score },
                              { rs.control_score, rd.control_score }, { rs.shuffled_score, rd.shuffled_score },
                              { rs.majority_accuracy, rd.majority_accuracy } };
        for (int i = 0; i < 7; i++)
            MPI_CHECK(fabs(pairs[i][0] - pairs[i][1]) <= slack, "eval metric %d: %.6f vs %.6f", i, pairs[i][0], pairs[i][1]);
        MPI_CHECK(fabs(rs.auroc - rd.auroc) <= 1e-3, "auroc %.6f vs %.6f", rs.auroc, rd.auroc);
        if (rank == 0)
            printf("evaluate (CV by document, control, shuffled): test acc %.4f vs %.4f, cv %.4f vs %.4f\n",
                   rs.test_accuracy, rd.test_accuracy, rs.cv_score, rd.cv_score);
    }

    /* ---- PCA and CKA: in-memory rows per rank, rank 1 holds none ---- */
    {
        /* rank r's rows: [b[r], b[r+1]): uneven; with 3 or more ranks rank 1 has none */
        int64_t b[65];
        MPI_CHECK(size <= 64, "at most 64 ranks");
        b[0] = 0;
        for (int r = 0; r < size; r++)
            b[r + 1] = r == size - 1 ? N : size == 2 ? 337 : r == 1 ? b[r] : b[r] + N / size + 37;
        const float *Xr = X + b[rank] * D;
        int64_t nr = b[rank + 1] - b[rank];
        for (int solver = STRATA_PCA_COV; solver <= STRATA_PCA_RSVD; solver++) {
            strata_pca_params pp;
            strata_pca_default_params(&pp);
            pp.k = 5; pp.solver = solver; pp.block_rows = 64; pp.rsvd_iters = 6;
            strata_pca *ps = NULL, *pd = NULL;
            MPI_CHECK(strata_pca_fit(X, N, D, &pp, &ps) == STRATA_OK, "pca serial: %s", strata_pca_errmsg(ps));
            pp.distributed = 1;
            MPI_CHECK(strata_pca_fit(Xr, nr, D, &pp, &pd) == STRATA_OK, "pca dist: %s", strata_pca_errmsg(pd));
            MPI_CHECK(strata_pca_n_rows(pd) == N, "pca n_rows %lld", (long long)strata_pca_n_rows(pd));
            const double *vs = strata_pca_components(ps), *vd = strata_pca_components(pd);
            const double *es = strata_pca_explained_variance(ps), *ed = strata_pca_explained_variance(pd);
            const double *ms = strata_pca_mean(ps), *md = strata_pca_mean(pd);
            double dv = 0, de = 0, dm = 0;
            for (int i = 0; i < 5 * D; i++) dv = fmax(dv, fabs(vs[i] - vd[i]));
            for (int i = 0; i < 5; i++) de = fmax(de, fabs(es[i] - ed[i]) / es[i]);
            for (int i = 0; i < D; i++) dm = fmax(dm, fabs(ms[i] - md[i]) / fmax(1, fabs(ms[i])));
            if (rank == 0)
                printf("PCA %s: components %.3g, eigenvalues (rel) %.3g, mean (rel) %.3g, PR %.12g vs %.12g\n",
                       solver == STRATA_PCA_COV ? "cov" : "rsvd", dv, de, dm,
                       strata_pca_participation_ratio(ps), strata_pca_participation_ratio(pd));
            /* cov: float64 throughout; rsvd: float32 block products (float64 sums) */
            const double tv = solver == STRATA_PCA_COV ? 1e-9 : 1e-5, te = solver == STRATA_PCA_COV ? 1e-10 : 1e-6;
            MPI_CHECK(dv <= tv && de <= te && dm <= 1e-12, "PCA differs: %.3g %.3g %.3g", dv, de, dm);
            MPI_CHECK(fabs(strata_pca_participation_ratio(ps) - strata_pca_participation_ratio(pd)) <=
                      te * strata_pca_participation_ratio(ps), "PR differs");
            strata_pca_free(ps);
            strata_pca_free(pd);
        }
        /* CKA between X, X[:, :7] and a nonlinear map of X (widths 24, 7, 24) */
        float *Z = malloc(sizeof *Z * N * D), *S = malloc(sizeof *S * N * 7);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < D; j++) Z[i * D + j] = tanhf(0.3f * (X[i * D + j] - X[i * D + (j + 3) % D]));
            for (int j = 0; j < 7; j++) S[i * 7 + j] = X[i * D + j];
        }
        const float *full[3] = { X, S, Z }, *mine[3] = { Xr, S + b[rank] * 7, Z + b[rank] * D };
        int64_t wd[3] = { D, 7, D };
        strata_cka_params cp;
        strata_cka_default_params(&cp);
        cp.block_rows = 50;
        strata_cka *cs = NULL, *cd = NULL;
        MPI_CHECK(strata_cka_fit(3, full, wd, N, &cp, &cs) == STRATA_OK, "cka serial: %s", strata_cka_errmsg(cs));
        cp.distributed = 1;
        MPI_CHECK(strata_cka_fit(3, mine, wd, nr, &cp, &cd) == STRATA_OK, "cka dist: %s", strata_cka_errmsg(cd));
        double dk = 0;
        for (int i = 0; i < 9; i++) dk = fmax(dk, fabs(strata_cka_matrix(cs)[i] - strata_cka_matrix(cd)[i]));
        if (rank == 0) printf("CKA: max |diff| %.3g (CKA(X, S) = %.6f)\n", dk, strata_cka_matrix(cs)[1]);
        MPI_CHECK(dk <= 1e-12 && strata_cka_n_rows(cd) == N, "CKA differs by %.3g", dk);
        /* the budget split into groups: several passes, same answer */
        cp.max_bytes = 8 * 30 * 30;
        strata_cka_free(cd);
        cd = NULL;
        MPI_CHECK(strata_cka_fit(3, mine, wd, nr, &cp, &cd) == STRATA_OK, "cka dist groups: %s", strata_cka_errmsg(cd));
        dk = 0;
        for (int i = 0; i < 9; i++) dk = fmax(dk, fabs(strata_cka_matrix(cs)[i] - strata_cka_matrix(cd)[i]));
        MPI_CHECK(dk <= 1e-12 && strata_cka_n_passes(cd) > 1, "CKA (groups) differs by %.3g", dk);
        strata_cka_free(cs);
        strata_cka_free(cd);
        free(Z); free(S);
    }

    /* ---- a bad row on one rank fails the call on every rank, with its message ---- */
    {
        int64_t bad = -1, l1, h1;
        /* the first row of the last rank's share */
        int64_t qq = N / size, rr = N % size;
        l1 = (size - 1) * qq + (size - 1 < rr ? size - 1 : rr);
        h1 = l1 + qq;
        (void)h1;
        bad = l1 + 2;
        float keep = X[bad * D + 3];
        X[bad * D + 3] = NAN;
        strata_probe_params p;
        strata_probe_default_params(&p);
        p.distributed = 1;
        strata_probe *pr = NULL;
        int rc = strata_probe_fit(Xmine, N, D, yb, NULL, &p, &pr);
        MPI_CHECK(rc == STRATA_ERR_NUMERIC, "NaN row: rc %d", rc);
        char want[64];
        snprintf(want, sizeof want, "row %lld, feature 3", (long long)bad);
        MPI_CHECK(strstr(strata_probe_errmsg(pr), want) != NULL, "message '%s'", strata_probe_errmsg(pr));
        if (rank != size - 1) {
            char who[32];
            snprintf(who, sizeof who, "rank %d of %d", size - 1, size);
            MPI_CHECK(strstr(strata_probe_errmsg(pr), who) != NULL, "message '%s'", strata_probe_errmsg(pr));
        }
        if (rank == 0) printf("bad row: %s\n", strata_probe_errmsg(pr));
        strata_probe_free(pr);
        /* the same for PCA on the file-less path */
        strata_pca_params pp;
        strata_pca_default_params(&pp);
        pp.k = 2; pp.distributed = 1;
        strata_pca *P = NULL;
        rc = strata_pca_fit(Xmine, hi - lo, D, &pp, &P);
        MPI_CHECK(rc == STRATA_ERR_NUMERIC && strstr(strata_pca_errmsg(P), "non-finite"), "pca NaN: %d '%s'", rc, strata_pca_errmsg(P));
        strata_pca_free(P);
        X[bad * D + 3] = keep;
    }

    free(X); free(yb); free(y3); free(yr); free(groups); free(tok);
    strata_dist_finalize();
    if (rank == 0) printf("mpi_fit: all checks passed on %d ranks\n", size);
    return 0;
}
