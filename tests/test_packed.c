/* tests/test_packed.c — weights packed once into column panels and the
 * products that read them (model/packed.h), for every kernel family this CPU
 * can run (portable, AVX2+FMA, AVX-512F), forced one after the other.
 *
 * Reference: a naive loop written here from the definition in packed.h --
 *   y[i][o] = (sum over k in order of fmaf(x[i][k], W[o][k], acc), acc from 0) + b[o]
 * computed from the unpacked W in either layout.  The kernels must equal it
 * bit for bit (the same operations in the same order; fmaf is correctly
 * rounded like the FMA instructions), and it must lie within the float32
 * summation bound of a double-precision dot product:
 *   |y - exact| <= K * 2^-24 * sum_k |x_k W_k| (+ the bias's rounding).
 * Sizes cover N = 1 (decode), N below / at / above the register tile's row
 * count, K around the K-block (384), columns not a multiple of 16, both
 * weight layouts with ld > width, strides ldx/ldy > widths (nothing outside
 * the output block may change), 1 and 2 threads.  Then a real model
 * (stories260K, ../shared): packed bytes as counted, and logits with packed
 * products against the same model's OpenBLAS products. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "model/model_internal.h"
#include "model/packed.h"
#include "strata/model.h"
#include "testutil.h"

static uint64_t rng_state = 42;
static float frand(void)   /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 40) / 8388608.0 - 1.0);
}

/* W element (out o, in k) of lin */
static float wat(const st_linear *lin, int64_t o, int64_t k)
{
    return lin->in_out ? lin->w[k * lin->ld + o] : lin->w[o * lin->ld + k];
}

static const int ISAS[] = { ST_ISA_PORTABLE, ST_ISA_AVX2, ST_ISA_AVX512 };

/* One product case for every available kernel family and 1, 2 threads. */
static void check_case(int64_t N, int64_t K, int64_t n_out, int in_out, int bias)
{
    const int64_t pad = 3, ldx = K + pad, ldy = n_out + 5;
    const int64_t cols = in_out ? n_out : K, rows = in_out ? K : n_out, ld = cols + pad;
    float *w = malloc(sizeof(float) * (size_t)(rows * ld + 1));
    float *b = malloc(sizeof(float) * (size_t)n_out);
    float *x = malloc(sizeof(float) * (size_t)(N * ldx));
    float *want = malloc(sizeof(float) * (size_t)(N * ldy));
    float *y = malloc(sizeof(float) * (size_t)(N * ldy));
    for (int64_t i = 0; i < rows * ld; i++) w[i] = frand();
    for (int64_t i = 0; i < n_out; i++) b[i] = frand();
    for (int64_t i = 0; i < N * ldx; i++) x[i] = frand();
    st_linear lin = { .w = w, .b = bias ? b : NULL, .n_in = (int32_t)K, .n_out = (int32_t)n_out,
                      .in_out = in_out, .ld = (int32_t)ld };
    /* the definition, and the float32 bound against double */
    for (int64_t i = 0; i < N; i++)
        for (int64_t o = 0; o < ldy; o++) {
            if (o >= n_out) { want[i * ldy + o] = -7.0f; continue; }   /* must stay untouched */
            float acc = 0.0f;
            double exact = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                acc = fmaf(x[i * ldx + k], wat(&lin, o, k), acc);
                exact += (double)x[i * ldx + k] * wat(&lin, o, k);
                mag += fabs((double)x[i * ldx + k] * wat(&lin, o, k));
            }
            if (bias) { acc += b[o]; exact += b[o]; mag += fabs(b[o]); }
            want[i * ldy + o] = acc;
            ck_assert_msg(fabs(acc - exact) <= (K + 1) * 0x1p-24 * mag + 1e-30,
                          "reference off the summation bound at N=%lld K=%lld", (long long)N, (long long)K);
        }
    float *pk;
    ck_assert_int_eq(st_pack_linear(&lin, &pk, 1), STRATA_OK);
    for (size_t a = 0; a < sizeof ISAS / sizeof ISAS[0]; a++) {
        if (st_packed_force_isa(ISAS[a]) != STRATA_OK) continue;   /* this CPU lacks it */
        for (int nt = 1; nt <= 2; nt++) {
            for (int64_t i = 0; i < N * ldy; i++) y[i] = -7.0f;
            st_packed_product(pk, K, n_out, lin.b, x, ldx, N, y, ldy, nt);
            for (int64_t i = 0; i < N * ldy; i++)
                ck_assert_msg(memcmp(&y[i], &want[i], sizeof(float)) == 0,
                              "%s, %d threads, N=%lld K=%lld n_out=%lld in_out=%d bias=%d: y[%lld][%lld] = %.9g, "
                              "want %.9g", st_packed_isa_name(ISAS[a]), nt, (long long)N, (long long)K,
                              (long long)n_out, in_out, bias, (long long)(i / ldy), (long long)(i % ldy), y[i],
                              want[i]);
        }
    }
    st_packed_force_isa(ST_ISA_NONE);
    free(pk);
    free(w); free(b); free(x); free(want); free(y);
}

START_TEST(products_equal_definition)
{
    const int64_t Ns[] = { 1, 2, 5, 6, 7, 8, 9, 13, 33 };
    const int64_t Ks[] = { 1, 7, 16, 383, 385, 800 };
    const int64_t Os[] = { 1, 15, 16, 17, 47, 48, 49, 100 };
    int n = 0;
    for (size_t i = 0; i < sizeof Ns / sizeof Ns[0]; i++)
        for (size_t j = 0; j < sizeof Ks / sizeof Ks[0]; j++)
            for (size_t o = 0; o < sizeof Os / sizeof Os[0]; o++, n++)
                check_case(Ns[i], Ks[j], Os[o], n % 2, n % 3 != 0);
}
END_TEST

/* A row's result is the same whichever rows are computed with it (a decode
 * step and a prefill give the same bits), and through st_linear_forward. */
START_TEST(row_independent_of_batch)
{
    const int64_t K = 200, n_out = 70, N = 37;
    float *w = malloc(sizeof(float) * K * n_out), *x = malloc(sizeof(float) * N * K);
    float *yall = malloc(sizeof(float) * N * n_out), *yone = malloc(sizeof(float) * n_out);
    for (int64_t i = 0; i < K * n_out; i++) w[i] = frand();
    for (int64_t i = 0; i < N * K; i++) x[i] = frand();
    st_linear lin = { .w = w, .n_in = (int32_t)K, .n_out = (int32_t)n_out, .ld = (int32_t)K };
    float *pk;
    ck_assert_int_eq(st_pack_linear(&lin, &pk, 2), STRATA_OK);
    lin.pk = pk;
    if (st_packed_isa() == ST_ISA_NONE) st_packed_force_isa(ST_ISA_PORTABLE);
    st_linear_forward(&lin, x, K, N, yall, n_out, 2);
    for (int64_t i = 0; i < N; i++) {
        st_linear_forward(&lin, x + i * K, K, 1, yone, n_out, 2);
        ck_assert_msg(memcmp(yone, yall + i * n_out, sizeof(float) * n_out) == 0, "row %lld differs", (long long)i);
    }
    st_packed_force_isa(ST_ISA_NONE);
    free(pk); free(w); free(x); free(yall); free(yone);
}
END_TEST

START_TEST(force_isa_rejects_bad_values)
{
    ck_assert_int_eq(st_packed_force_isa(-1), STRATA_ERR_ARG);
    ck_assert_int_eq(st_packed_force_isa(ST_ISA_AVX512 + 1), STRATA_ERR_ARG);
    ck_assert_int_eq(st_packed_force_isa(ST_ISA_PORTABLE), STRATA_OK);
    ck_assert_int_eq(st_packed_isa(), ST_ISA_PORTABLE);
    ck_assert_str_eq(strata_matmul_kernel(), "portable");
    ck_assert_int_eq(st_packed_force_isa(ST_ISA_NONE), STRATA_OK);
}
END_TEST

/* A real model: every matrix packed and counted; logits with packed
 * products against OpenBLAS products of the same model (a different
 * summation order: float32 rounding only; the logits are O(1-10), so 2e-4
 * absolute is ~100 ulp of the largest). */
START_TEST(model_packed_matches_openblas)
{
    const char *path = tu_shared_path("models/stories260K/hf");
    if (!path) return;
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = 2;
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(path, &o, &m) == STRATA_OK, "%s", strata_errmsg(m));
    const strata_config *c = strata_model_config(m);
    enum { B = 2, T = 40 };
    int32_t tok[B * T], len[B] = { T, T - 11 };
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)((i * 7919 + 13) % c->vocab_size);
    const size_t n = (size_t)B * T * c->vocab_size;
    float *packed = malloc(sizeof(float) * n), *blas = malloc(sizeof(float) * n);
    if (st_packed_isa() == ST_ISA_NONE) st_packed_force_isa(ST_ISA_PORTABLE);
    ck_assert_int_eq(strata_run(m, tok, len, B, packed), STRATA_OK);
    /* every matrix: L * (q + k + v + o + gate + up + down) + unembedding */
    const int64_t d = c->d_model, F = c->d_mlp, qd = (int64_t)c->n_heads * c->d_head,
                  kvd = (int64_t)c->n_kv_heads * c->d_head;
    int64_t want = c->n_layers * (st_packed_floats(d, qd) + 2 * st_packed_floats(d, kvd) +
                                  st_packed_floats(qd, d) + 2 * st_packed_floats(d, F) + st_packed_floats(F, d)) +
                   st_packed_floats(d, c->vocab_size);
    ck_assert_int_eq(m->packed_bytes, 4 * want);
    ck_assert_ptr_nonnull(m->layers[0].q.pk);
    /* the same model through OpenBLAS: drop the panels */
    st_pack_model_free(m);
    st_packed_force_isa(ST_ISA_NONE);
    m->packed_all = 1;   /* keep them dropped */
    ck_assert_int_eq(strata_run(m, tok, len, B, blas), STRATA_OK);
    ck_assert_ptr_null(m->layers[0].q.pk);
    for (int b = 0; b < B; b++)
        ck_assert(tu_check_close("packed vs openblas logits", packed + (size_t)b * T * c->vocab_size,
                                 blas + (size_t)b * T * c->vocab_size, (size_t)len[b] * c->vocab_size, 2e-4));
    free(packed); free(blas);
    strata_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("packed");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, products_equal_definition);
    tcase_add_test(tc, row_independent_of_batch);
    tcase_add_test(tc, force_isa_rejects_bad_values);
    tcase_add_test(tc, model_packed_matches_openblas);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
