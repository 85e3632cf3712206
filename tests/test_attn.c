/* tests/test_attn.c — attention-head statistics (probes/attn_stats.c).
 *
 * 1. Statistics of hand-made pattern arrays, values worked out by hand.
 * 2. A constructed GPT-2 (tests/test_attn_model.h) with a previous-token,
 *    a first-token and an induction head: the accumulator, attached to the
 *    forward pass, finds them with the scores computed by hand.
 * 3. Bad input: R beyond the context, empty corpus, nothing hooked, broken
 *    induction documents.
 * 4. Patterns stored in a capture file give the same statistics.
 * 4b. Slices: the accumulator takes patterns in slices (by sequences, heads
 *    or 64 query rows) and gives bit for bit the result of whole tensors.
 * 5. stories260K (when ../shared is present): statistics computed in strata's
 *    forward pass equal those of reference.h5's patterns (llama2.c), and the
 *    random-document findings are pinned.
 */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"
#include "io/h5store.h"
#include "model/model_internal.h"
#include "strata/attn.h"
#include "strata/model.h"
#include "test_attn_model.h"
#include "testutil.h"
#include "tiny_model.h"

#define TOL 1e-6

static strata_config small_cfg(int L, int H, int n_ctx)
{
    strata_config c;
    memset(&c, 0, sizeof c);
    c.n_layers = L;
    c.n_heads = H;
    c.n_ctx = n_ctx;
    c.vocab_size = 32;
    c.bos_token_id = 1;
    c.eos_token_id = 2;
    return c;
}

/* ---------------------------------------------------------- hand-made */

/* One document, tokens [1,5,6,5], head 0 pattern (rows = queries):
 *   q0: 1
 *   q1: .5 .5
 *   q2: .2 .3 .5
 *   q3: .1 .6 .1 .2
 * By hand (means over q = 1..3):
 *   prev  = (.5 + .3 + .1)/3            = .3
 *   first = (.5 + .2 + .1)/3            = .8/3
 *   self  = (.5 + .5 + .2)/3            = .4
 *   dist  = (.5 + (.4+.3) + (.3+1.2+.1))/3 = 2.8/3
 *   ent   = (ln2 + [-.2ln.2-.3ln.3-.5ln.5] + [-2(.1ln.1)-.6ln.6-.2ln.2])/3
 *         = (.693147 + 1.029653 + 1.088900)/3 = .937233
 *   dup   = only q3 (token 5 at k=1): .6
 * Head 1 is stored transposed (sk = 4, sq = 1) to exercise strides:
 * uniform rows, prev = first = self = (1/2+1/3+1/4)/3 = 13/36,
 * dist = (1/2 + 1 + 3/2)/3 = 1, ent = (ln2+ln3+ln4)/3, dup = 1/4. */
static const float P0[16] = { 1, 0, 0, 0, .5f, .5f, 0, 0, .2f, .3f, .5f, 0, .1f, .6f, .1f, .2f };

START_TEST(test_hand_pattern)
{
    strata_config c = small_cfg(2, 2, 8);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(&c, &s), STRATA_OK);
    float p[2][16];
    memcpy(p[0], P0, sizeof P0);
    for (int q = 0; q < 4; q++)
        for (int k = 0; k < 4; k++) p[1][k * 4 + q] = k <= q ? 1.0f / (q + 1) : 0; /* transposed */
    const int32_t tok[4] = { 1, 5, 6, 5 };
    /* head 0 contiguous (sq 4, sk 1) -- head 1 is fed separately with other strides */
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, p[0], 16, 4, 1, tok, 4), STRATA_OK);
    strata_attn_head r[4];
    ck_assert_int_eq(strata_attn_stats_result(s, r, 4), 4);
    ck_assert_double_eq_tol(r[0].prev_token, 0.3, TOL);
    ck_assert_double_eq_tol(r[0].first_token, 0.8 / 3, TOL);
    ck_assert_double_eq_tol(r[0].self, 0.4, TOL);
    ck_assert_double_eq_tol(r[0].mean_distance, 2.8 / 3, TOL);
    ck_assert_double_eq_tol(r[0].entropy, 0.937233, 2e-6);
    ck_assert_double_eq_tol(r[0].duplicate, 0.6, TOL);
    ck_assert(isnan(r[0].induction));
    ck_assert_int_eq(r[0].n_docs[STRATA_ATTN_PREV], 1);
    ck_assert_int_eq(r[0].n_docs[STRATA_ATTN_IND], 0);
    ck_assert_int_eq(r[0].layer, 0);
    ck_assert_int_eq(r[3].layer, 1);
    ck_assert_int_eq(r[3].head, 1);
    ck_assert_int_eq(r[2].n_docs[STRATA_ATTN_PREV], 0); /* layer 1 never fed */
    ck_assert(isnan(r[2].prev_token));

    /* transposed layout through the direct per-head function */
    double out[STRATA_ATTN_NSTAT];
    uint8_t valid[STRATA_ATTN_NSTAT], dup[4];
    int64_t keys[4];
    st_attn_dup_mask(tok, 4, keys, dup);
    ck_assert(!dup[0] && !dup[1] && !dup[2] && dup[3]);
    st_attn_head_doc(p[1], 1, 4, 4, tok, dup, 0, 1, out, valid);
    ck_assert_double_eq_tol(out[STRATA_ATTN_PREV], 13.0 / 36, TOL);
    ck_assert_double_eq_tol(out[STRATA_ATTN_FIRST], 13.0 / 36, TOL);
    ck_assert_double_eq_tol(out[STRATA_ATTN_SELFSCORE], 13.0 / 36, TOL);
    ck_assert_double_eq_tol(out[STRATA_ATTN_DISTANCE], 1.0, TOL);
    ck_assert_double_eq_tol(out[STRATA_ATTN_ENTROPY], (log(2) + log(3) + log(4)) / 3, 2e-6);
    ck_assert_double_eq_tol(out[STRATA_ATTN_DUP], 0.25, TOL);
    ck_assert(valid[STRATA_ATTN_DUP] && !valid[STRATA_ATTN_IND]);
    strata_attn_stats_free(s);
}
END_TEST

/* Corpus score = mean of per-document scores (not pooled over positions):
 * doc A (L=4, P0 above) prev .3; doc B (L=2, [1] / [.9 .1]) prev .9
 * -> corpus prev (.3 + .9)/2 = .6 (a position-pooled mean would be 1.8/4). */
START_TEST(test_corpus_mean)
{
    strata_config c = small_cfg(1, 1, 8);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(&c, &s), STRATA_OK);
    const int32_t ta[4] = { 1, 5, 6, 5 }, tb[2] = { 1, 7 };
    const float pb[4] = { 1, 0, .9f, .1f };
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, P0, 0, 4, 1, ta, 4), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, pb, 0, 2, 1, tb, 2), STRATA_OK);
    strata_attn_head r;
    ck_assert_int_eq(strata_attn_stats_result(s, &r, 1), 1);
    ck_assert_double_eq_tol(r.prev_token, 0.6, TOL);
    ck_assert_double_eq_tol(r.self, (0.4 + 0.1) / 2, TOL);
    ck_assert_double_eq_tol(r.duplicate, 0.6, TOL); /* doc B has no duplicate: not counted */
    ck_assert_int_eq(r.n_docs[STRATA_ATTN_DUP], 1);
    ck_assert_int_eq(strata_attn_stats_n_docs(s), 2);
    strata_attn_stats_free(s);
}
END_TEST

/* Induction, R = 3: doc [1, 7,8,9, 7,8,9]; q in [4,6], key q-R+1 = q-2.
 * Rows q >= 4 put .9/.8/.7 on the induction key and spread the rest
 * uniformly over the other keys -> induction = (.9+.8+.7)/3 = .8.
 * Duplicate: q in [4,6] each have one earlier copy at q-3. */
START_TEST(test_induction_pattern)
{
    const int R = 3, L = 7;
    strata_config c = small_cfg(1, 1, 16);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(&c, &s), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_set_induction(s, R, 1), STRATA_OK);
    const int32_t tok[7] = { 1, 7, 8, 9, 7, 8, 9 };
    float p[49] = { 0 };
    const float ind[3] = { .9f, .8f, .7f };
    double dup_want = 0;
    for (int q = 0; q < L; q++) {
        if (q < R + 1) {
            for (int k = 0; k <= q; k++) p[q * L + k] = 1.0f / (q + 1);
        } else {
            float a = ind[q - R - 1];
            for (int k = 0; k <= q; k++) p[q * L + k] = (1 - a) / q;
            p[q * L + q - R + 1] = a;
            dup_want += p[q * L + q - R];
        }
    }
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, p, 0, L, 1, tok, L), STRATA_OK);
    strata_attn_head r;
    ck_assert_int_eq(strata_attn_stats_result(s, &r, 1), 1);
    ck_assert_double_eq_tol(r.induction, 0.8, TOL);
    ck_assert_double_eq_tol(r.duplicate, dup_want / 3, TOL);
    ck_assert_int_eq(r.cls, STRATA_ATTN_INDUCTION);
    ck_assert(r.flags & (1 << STRATA_ATTN_INDUCTION));

    /* induction only (also_general = 0): other scores stay undefined */
    strata_attn_stats_reset(s);
    ck_assert_int_eq(strata_attn_stats_set_induction(s, R, 0), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, p, 0, L, 1, tok, L), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, &r, 1), 1);
    ck_assert_double_eq_tol(r.induction, 0.8, TOL);
    ck_assert(isnan(r.prev_token));

    /* a document that is not BOS + S + S */
    const int32_t bad[7] = { 1, 7, 8, 9, 7, 8, 10 };
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, p, 0, L, 1, bad, L), STRATA_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "not BOS + S + S"));
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, p, 0, L, 1, tok, 6), STRATA_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "2R+1"));
    strata_attn_stats_free(s);
}
END_TEST

START_TEST(test_fast_ln)
{
    double worst = 0;
    for (double x = 1e-30; x <= 1.0; x *= 1.01) {
        /* error relative to the float resolution of the result */
        double want = log((double)(float)x);
        double d = fabs((double)st_attn_fast_ln((float)x) - want) / (1e-7 + 1.2e-7 * fabs(want));
        if (d > worst) worst = d;
    }
    ck_assert_msg(worst < 4, "fast_ln max error %g x (1e-7 + 1.2e-7 |ln x|)", worst);
    ck_assert(0.0f * st_attn_fast_ln(0.0f) == 0.0f);
    ck_assert(isfinite(1e-44f * st_attn_fast_ln(1e-44f)));
}
END_TEST

START_TEST(test_classify)
{
    strata_attn_head h;
    memset(&h, 0, sizeof h);
    h.prev_token = 0.5;
    h.first_token = 0.45;
    h.self = 0.1;
    h.duplicate = NAN;
    h.induction = 0.9;
    strata_attn_thresholds t = strata_attn_thresholds_default();
    strata_attn_classify(&h, &t);
    ck_assert_int_eq(h.cls, STRATA_ATTN_INDUCTION); /* .9/.4 beats .5/.4 */
    ck_assert_int_eq(h.flags, (1 << STRATA_ATTN_PREV_TOKEN) | (1 << STRATA_ATTN_FIRST_TOKEN) |
                                  (1 << STRATA_ATTN_INDUCTION));
    h.induction = NAN;
    strata_attn_classify(&h, &t);
    ck_assert_int_eq(h.cls, STRATA_ATTN_PREV_TOKEN);
    h.prev_token = h.first_token = 0.1;
    strata_attn_classify(&h, &t);
    ck_assert_int_eq(h.cls, STRATA_ATTN_OTHER);
    ck_assert_str_eq(strata_attn_class_name(STRATA_ATTN_FIRST_TOKEN), "first-token");
    ck_assert_str_eq(strata_attn_class_name(99), "?");
}
END_TEST

START_TEST(test_induction_docs)
{
    strata_config c = small_cfg(1, 1, 512);
    c.vocab_size = 512;
    int32_t lo, hi;
    strata_attn_token_range(&c, &lo, &hi);
    ck_assert_int_eq(lo, 3);
    ck_assert_int_eq(hi, 512);
    c.vocab_size = 50257;
    c.bos_token_id = c.eos_token_id = 50256;
    strata_attn_token_range(&c, &lo, &hi);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 50256);

    const int R = 20, N = 8;
    int32_t a[N * (2 * R + 1)], b[N * (2 * R + 1)];
    ck_assert_int_eq(strata_attn_induction_docs(42, N, R, 1, 2, 3, 512, a), STRATA_OK);
    ck_assert_int_eq(strata_attn_induction_docs(42, N, R, 1, 2, 3, 512, b), STRATA_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert_int_eq(strata_attn_induction_docs(43, N, R, 1, 2, 3, 512, b), STRATA_OK);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    strata_attn_stats *s = NULL;
    c = small_cfg(1, 1, 512);
    ck_assert_int_eq(strata_attn_stats_new(&c, &s), STRATA_OK);
    for (int d = 0; d < N; d++) {
        const int32_t *row = a + d * (2 * R + 1);
        ck_assert_int_eq(row[0], 1);
        for (int i = 1; i <= 2 * R; i++) ck_assert(row[i] >= 3 && row[i] < 512);
        ck_assert_int_eq(st_attn_check_induction(s, row, 2 * R + 1, R, d), 0);
    }
    /* a range with only special ids in it cannot be drawn from */
    ck_assert_int_eq(strata_attn_induction_docs(1, 1, 2, 1, 2, 1, 3, a), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_attn_induction_docs(1, 1, 0, 1, 2, 3, 9, a), STRATA_ERR_ARG);
    strata_attn_stats_free(s);
}
END_TEST

START_TEST(test_bad_input)
{
    strata_config c = small_cfg(2, 2, 16);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(&c, &s), STRATA_OK);
    /* R larger than the context: 2R+1 = 17 > 16 */
    ck_assert_int_eq(strata_attn_stats_set_induction(s, 8, 1), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "context of 16"));
    ck_assert_int_eq(strata_attn_stats_set_induction(s, 7, 1), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_set_induction(s, 0, 1), STRATA_OK);
    /* nothing hooked / fed */
    strata_attn_head r[4];
    ck_assert_int_eq(strata_attn_stats_result(s, r, 4), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "no attention pattern"));
    /* only length-1 documents: empty corpus */
    const float one = 1;
    const int32_t t1 = 1;
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, &one, 0, 1, 1, &t1, 1), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, r, 4), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "empty corpus"));
    /* bad layer, small output */
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 5, &one, 0, 1, 1, &t1, 1), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_attn_stats_add_pattern(s, 0, NULL, 0, 1, 1, &t1, 1), STRATA_ERR_ARG);
    strata_attn_stats_free(s);
    strata_config z = small_cfg(0, 2, 16);
    ck_assert_int_eq(strata_attn_stats_new(&z, &s), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "n_layers=0"));
    strata_attn_stats_free(s);
    strata_attn_stats_free(NULL);
}
END_TEST


/* ------------------------------------------------------- capture file */

/* Writes a capture file holding `hooks` (row shapes given) for docs A
 * ([1,5,6,5]) and B ([1,7]); rows = the positions listed in keep (global
 * token indices 0..5).  Pattern rows: head 0 = P0 / pb, head 1 uniform. */
static void write_capture(const char *path, int with_pattern, const int64_t *keep, int n_keep)
{
    const char *names_p[2] = { "blocks.0.attn.hook_pattern", "blocks.0.hook_resid_post" };
    const char *names_r[1] = { "blocks.0.hook_resid_post" };
    int32_t ndim[2] = { 2, 1 };
    int64_t shp[2][ST_H5_MAX_ROW_DIMS] = { { 2, 8, 0 }, { 4, 0, 0 } };
    int64_t shr[1][ST_H5_MAX_ROW_DIMS] = { { 4, 0, 0 } };
    int32_t ndr[1] = { 1 };
    st_h5w_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.model_name = "hand";
    sp.model_arch = "gpt2";
    sp.config_json = "{}";
    sp.positions = "all";
    sp.n_hooks = with_pattern ? 2 : 1;
    sp.hook_names = with_pattern ? names_p : names_r;
    sp.row_ndim = with_pattern ? ndim : ndr;
    sp.row_shape = with_pattern ? (const int64_t(*)[ST_H5_MAX_ROW_DIMS])shp
                                : (const int64_t(*)[ST_H5_MAX_ROW_DIMS])shr;
    sp.dtype = ST_H5_F32;
    st_err err = { { 0 } };
    st_h5w *w = NULL;
    ck_assert_msg(st_h5w_create(path, &sp, 1, &w, &err) == 0, "%s", err.msg);
    const int32_t tok[6] = { 1, 5, 6, 5, 1, 7 };
    const float pb[4] = { 1, 0, .9f, .1f };
    float pat[6][2][8], res[6][4];
    memset(pat, 0, sizeof pat);
    memset(res, 0, sizeof res);
    int64_t rows[6], nrow[2] = { 0, 0 };
    for (int i = 0; i < n_keep; i++) {
        int64_t g = keep[i];
        int doc = g >= 4, q = (int)(doc ? g - 4 : g);
        for (int k = 0; k <= q; k++) {
            pat[i][0][k] = doc ? pb[q * 2 + k] : P0[q * 4 + k];
            pat[i][1][k] = 1.0f / (q + 1);
        }
        rows[i] = g;
        nrow[doc]++;
    }
    const int64_t ntok[2] = { 4, 2 };
    const float *acts_p[2] = { &pat[0][0][0], &res[0][0] };
    const float *acts_r[1] = { &res[0][0] };
    st_h5w_batch b;
    memset(&b, 0, sizeof b);
    b.n_docs = 2;
    b.doc_ntok = ntok;
    b.doc_nrows = nrow;
    b.tokens = tok;
    b.n_rows = n_keep;
    b.rows = rows;
    b.acts = with_pattern ? acts_p : acts_r;
    ck_assert_msg(st_h5w_append(w, &b, &err) == 0, "%s", err.msg);
    ck_assert_msg(st_h5w_close(w, 1, 0, &err) == 0, "%s", err.msg);
}

START_TEST(test_capture)
{
    strata_config c = small_cfg(1, 2, 8);
    strata_attn_stats *s = NULL, *ref = NULL;
    ck_assert_int_eq(strata_attn_stats_new(&c, &s), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_new(&c, &ref), STRATA_OK);
    const char *path = tu_tmpfile("attn_capture.h5");
    char p1[1024];
    snprintf(p1, sizeof p1, "%s", path);
    const int64_t all[6] = { 0, 1, 2, 3, 4, 5 };
    write_capture(p1, 1, all, 6);
    ck_assert_msg(strata_attn_stats_add_capture(s, p1) == STRATA_OK, "%s", strata_attn_stats_errmsg(s));
    /* reference: the same patterns fed directly */
    float pa[2][16], pbb[2][4];
    const float pb[4] = { 1, 0, .9f, .1f };
    const int32_t ta[4] = { 1, 5, 6, 5 }, tb[2] = { 1, 7 };
    memcpy(pa[0], P0, sizeof P0);
    memcpy(pbb[0], pb, sizeof pb);
    for (int q = 0; q < 4; q++)
        for (int k = 0; k < 4; k++) pa[1][q * 4 + k] = k <= q ? 1.0f / (q + 1) : 0;
    for (int q = 0; q < 2; q++)
        for (int k = 0; k < 2; k++) pbb[1][q * 2 + k] = k <= q ? 1.0f / (q + 1) : 0;
    ck_assert_int_eq(strata_attn_stats_add_pattern(ref, 0, pa[0], 16, 4, 1, ta, 4), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_add_pattern(ref, 0, pbb[0], 4, 2, 1, tb, 2), STRATA_OK);
    strata_attn_head r[2], w[2];
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2), 2);
    ck_assert_int_eq(strata_attn_stats_result(ref, w, 2), 2);
    for (int h = 0; h < 2; h++) {
        ck_assert_double_eq_tol(r[h].prev_token, w[h].prev_token, 1e-7);
        ck_assert_double_eq_tol(r[h].first_token, w[h].first_token, 1e-7);
        ck_assert_double_eq_tol(r[h].self, w[h].self, 1e-7);
        ck_assert_double_eq_tol(r[h].entropy, w[h].entropy, 1e-7);
        ck_assert_double_eq_tol(r[h].mean_distance, w[h].mean_distance, 1e-7);
        ck_assert_double_eq_tol(r[h].duplicate, w[h].duplicate, 1e-7);
        ck_assert_int_eq(r[h].n_docs[STRATA_ATTN_PREV], 2);
    }
    ck_assert_double_eq_tol(r[0].prev_token, 0.6, TOL);

    /* only some positions stored: doc A keeps q = 3, doc B q = 1
     * -> prev = (P0[3,2] + pb[1,0]) / 2 = (.1 + .9)/2 */
    strata_attn_stats_reset(s);
    const int64_t some[2] = { 3, 5 };
    char p2[1024];
    snprintf(p2, sizeof p2, "%s", tu_tmpfile("attn_capture_last.h5"));
    write_capture(p2, 1, some, 2);
    ck_assert_msg(strata_attn_stats_add_capture(s, p2) == STRATA_OK, "%s", strata_attn_stats_errmsg(s));
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2), 2);
    ck_assert_double_eq_tol(r[0].prev_token, 0.5, TOL);
    ck_assert_double_eq_tol(r[0].duplicate, 0.6, TOL);

    /* no pattern in the file, and no file */
    char p3[1024];
    snprintf(p3, sizeof p3, "%s", tu_tmpfile("attn_capture_none.h5"));
    write_capture(p3, 0, all, 6);
    ck_assert_int_eq(strata_attn_stats_add_capture(s, p3), STRATA_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "no attention pattern"));
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "blocks.0.hook_resid_post"));
    ck_assert_int_lt(strata_attn_stats_add_capture(s, "/nonexistent/x.h5"), 0);
    strata_attn_stats_free(s);
    strata_attn_stats_free(ref);
}
END_TEST

/* ------------------------------------------------- constructed model */

static strata_model *open_am(void)
{
    const char *dir = tu_tmpfile("attn_gpt2");
    static int written = 0;
    static char path[1024];
    if (!written) {
        snprintf(path, sizeof path, "%s", dir);
        ck_assert_int_eq(am_write_model(path), 0);
        written = 1;
    }
    strata_model *m = NULL;
    int rc = strata_model_open(path, NULL, &m);
    ck_assert_msg(rc == STRATA_OK, "open constructed model: %s", strata_errmsg(m));
    return m;
}

/* Uniform attention over keys 0..q, averaged over q = 1..L-1. */
static double uni_mean(int L, int which)
{
    double s = 0;
    for (int q = 1; q < L; q++) {
        if (which == 0) s += 1.0 / (q + 1);      /* prev, first, self */
        else if (which == 1) s += log(q + 1.0);  /* entropy */
        else s += q / 2.0;                       /* distance: mean of 0..q */
    }
    return s / (L - 1);
}

START_TEST(test_model_heads)
{
    strata_model *m = open_am();
    const strata_config *c = strata_model_config(m);
    ck_assert_int_eq(c->n_layers, 2);
    ck_assert_int_eq(c->n_heads, AM_H);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(c, &s), STRATA_OK);
    /* two documents in one padded batch: lengths 16 and 9, distinct tokens
     * (1 + i*m mod 15 with m coprime to 15) */
    const int T = 16;
    int32_t tok[2 * 16];
    int32_t len[2] = { 16, 9 };
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < T; i++) tok[b * T + i] = i == 0 ? AM_BOS : 1 + (i * (b ? 7 : 2)) % 15;
    ck_assert_int_eq(strata_attn_stats_run(s, m, tok, len, 2), STRATA_OK);
    strata_attn_head r[2 * AM_H];
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2 * AM_H), 2 * AM_H);
    /* L0H0: previous token, L0H1: first token (pattern 1 - O(e^-100)) */
    ck_assert_double_eq_tol(r[0].prev_token, 1.0, 1e-5);
    ck_assert_int_eq(r[0].cls, STRATA_ATTN_PREV_TOKEN);
    ck_assert_double_eq_tol(r[0].mean_distance, 1.0, 1e-4);
    ck_assert_double_eq_tol(r[0].entropy, 0.0, 1e-4);
    ck_assert_double_eq_tol(r[1].first_token, 1.0, 1e-5);
    ck_assert_int_eq(r[1].cls, STRATA_ATTN_FIRST_TOKEN);
    /* mean distance of a sink head: mean over q>=1 of q */
    ck_assert_double_eq_tol(r[1].mean_distance, (8.0 + 4.5) / 2, 1e-4);
    /* every other head is uniform: corpus mean over the two documents */
    for (int i = 2; i < 2 * AM_H; i++) {
        if (i == AM_H) continue; /* L1H0, the induction head: no repeats here -> uniform too */
        ck_assert_double_eq_tol(r[i].prev_token, (uni_mean(16, 0) + uni_mean(9, 0)) / 2, 1e-5);
        ck_assert_double_eq_tol(r[i].first_token, (uni_mean(16, 0) + uni_mean(9, 0)) / 2, 1e-5);
        ck_assert_double_eq_tol(r[i].self, (uni_mean(16, 0) + uni_mean(9, 0)) / 2, 1e-5);
        ck_assert_double_eq_tol(r[i].entropy, (uni_mean(16, 1) + uni_mean(9, 1)) / 2, 1e-5);
        ck_assert_double_eq_tol(r[i].mean_distance, (uni_mean(16, 2) + uni_mean(9, 2)) / 2, 1e-4);
        ck_assert_int_eq(r[i].cls, STRATA_ATTN_OTHER);
    }
    ck_assert_double_eq_tol(r[AM_H].prev_token, (uni_mean(16, 0) + uni_mean(9, 0)) / 2, 1e-5);
    strata_attn_stats_free(s);
    strata_model_free(m);
}
END_TEST

START_TEST(test_model_induction)
{
    strata_model *m = open_am();
    const strata_config *c = strata_model_config(m);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(c, &s), STRATA_OK);
    const int R = 7, L = 2 * R + 1, N = 3;
    ck_assert_int_eq(strata_attn_stats_set_induction(s, R, 1), STRATA_OK);
    /* S: distinct tokens (a rotation of 1..15), so exactly one earlier match */
    int32_t tok[3 * 15];
    int32_t len[3] = { L, L, L };
    for (int d = 0; d < N; d++) {
        tok[d * L] = AM_BOS;
        for (int i = 1; i <= R; i++) tok[d * L + i] = tok[d * L + R + i] = 1 + (i + 4 * d) % 15;
    }
    ck_assert_int_eq(strata_attn_stats_run(s, m, tok, len, N), STRATA_OK);
    strata_attn_head r[2 * AM_H];
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2 * AM_H), 2 * AM_H);
    const strata_attn_head *ih = &r[AM_H]; /* layer 1 head 0 */
    ck_assert_double_eq_tol(ih->induction, 1.0, 1e-4);
    ck_assert_int_eq(ih->cls, STRATA_ATTN_INDUCTION);
    ck_assert_int_eq(ih->n_docs[STRATA_ATTN_IND], N);
    /* uniform heads: mean over q in [R+1, 2R] of 1/(q+1); same for duplicate */
    double u = 0;
    for (int q = R + 1; q <= 2 * R; q++) u += 1.0 / (q + 1);
    u /= R;
    ck_assert_double_eq_tol(r[2].induction, u, 1e-5);
    ck_assert_double_eq_tol(r[2].duplicate, u, 1e-5);
    /* the previous-token head attends to q-1 != q-R+1: ~0 */
    ck_assert_double_eq_tol(r[0].induction, 0.0, 1e-5);
    ck_assert_double_eq_tol(r[0].prev_token, 1.0, 1e-5);

    /* the same from generated documents (tokens may repeat inside S, so the
     * head splits attention between matches: still clearly an induction head) */
    strata_attn_stats_reset(s);
    int32_t gen[8 * 15], glen[8];
    ck_assert_int_eq(strata_attn_induction_docs(7, 8, R, AM_BOS, AM_BOS, 1, AM_V, gen), STRATA_OK);
    for (int i = 0; i < 8; i++) glen[i] = L;
    ck_assert_int_eq(strata_attn_stats_run(s, m, gen, glen, 8), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2 * AM_H), 2 * AM_H);
    ck_assert_msg(r[AM_H].induction > 0.6, "induction %g", r[AM_H].induction);
    ck_assert_int_eq(r[AM_H].cls, STRATA_ATTN_INDUCTION);

    /* a batch that breaks the form is refused before running */
    tok[L - 1] = (tok[L - 1] % 15) + 1;
    ck_assert_int_eq(strata_attn_stats_run(s, m, tok, len, 1), STRATA_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "not BOS + S + S"));
    /* and stops a plain strata_run through the hook */
    ck_assert_int_eq(strata_attn_stats_attach(s, m), STRATA_OK);
    ck_assert_int_eq(strata_run(m, tok, len, 1, NULL), STRATA_STOPPED);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "not BOS + S + S"));
    strata_attn_stats_free(s);
    strata_model_free(m);
}
END_TEST

START_TEST(test_model_bad)
{
    strata_model *m = open_am();
    const strata_config *c = strata_model_config(m);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(c, &s), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_set_induction(s, 8, 1), STRATA_ERR_RANGE);
    int32_t tok[1] = { 0 }, len[1] = { 1 };
    ck_assert_int_eq(strata_attn_stats_run(s, m, tok, len, 0), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "empty corpus"));
    /* runs without the accumulator attached feed nothing */
    ck_assert_int_eq(strata_run(m, tok, len, 1, NULL), STRATA_OK);
    strata_attn_head r[2 * AM_H];
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2 * AM_H), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s), "attach"));
    /* attached, then detached: still nothing */
    ck_assert_int_eq(strata_attn_stats_attach(s, m), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_detach(s), STRATA_OK);
    int32_t t2[2] = { 0, 3 }, l2[1] = { 2 };
    ck_assert_int_eq(strata_run(m, t2, l2, 1, NULL), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, r, 2 * AM_H), STRATA_ERR_STATE);
    /* a config of another shape cannot attach */
    strata_config other = *c;
    other.n_heads = 3;
    strata_attn_stats *s2 = NULL;
    ck_assert_int_eq(strata_attn_stats_new(&other, &s2), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_attach(s2, m), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(strata_attn_stats_errmsg(s2), "heads"));
    strata_attn_stats_free(s2);
    strata_attn_stats_free(s);
    strata_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- slices */

/* Statistics of one corpus with the pattern handed over whole (a flagless
 * hook on the same point forces that) and in slices of every kind.  The
 * accumulator sums each head's rows in fixed blocks of 64 in both cases, so
 * the results are equal bit for bit (compared with memcmp). */
static int noop_hook(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    (void)t; (void)ctx; (void)user;
    return 0;
}

/* Keeps each layer's whole pattern [B,H,T,T] at user + layer * numel. */
static int keep_pattern(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    size_t n = (size_t)(t->shape[0] * t->shape[1] * t->shape[2] * t->shape[3]);
    memcpy((float *)user + (size_t)ctx->layer * n, t->data, n * sizeof(float));
    return 0;
}

static void stats_of(strata_model *m, int R, const int32_t *tok, const int32_t *len, int B,
                     int whole, strata_attn_head *out, int n)
{
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(strata_model_config(m), &s), STRATA_OK);
    if (R) ck_assert_int_eq(strata_attn_stats_set_induction(s, R, 1), STRATA_OK);
    strata_hook_id id = -1;
    if (whole) ck_assert_int_eq(strata_hook_add(m, "blocks.*.attn.hook_pattern", noop_hook, NULL, &id), STRATA_OK);
    ck_assert_msg(strata_attn_stats_run(s, m, tok, len, B) == STRATA_OK, "%s", strata_attn_stats_errmsg(s));
    if (whole) strata_hook_remove(m, id);
    ck_assert_int_eq(strata_attn_stats_result(s, out, n), n);
    strata_attn_stats_free(s);
}

START_TEST(test_sliced_equals_whole)
{
    enum { D = 32, L = 2, H = 4, V = 61, T = 128, B = 5, R = 63 };
    tm_gpt2 *g = tm_gpt2_new(5, D, L, H, V, T);
    const char *dir = tu_tmpfile("attn_tiny_gpt2");
    ck_assert_int_eq(tm_gpt2_write(g, dir), 0);
    tm_gpt2_free(g);
    strata_model *m = NULL;
    ck_assert_int_eq(strata_model_open(dir, NULL, &m), STRATA_OK);
    int32_t tok[B * T], len[B] = { 128, 100, 65, 2, 1 }, itok[2 * (2 * R + 1)], ilen[2] = { 2 * R + 1, 2 * R + 1 };
    tm_rng r = { 99 };
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)(tm_next(&r) % 20);   /* repeats: duplicate score */
    ck_assert_int_eq(strata_attn_induction_docs(3, 2, R, 0, 0, 1, V, itok), STRATA_OK);
    strata_attn_head want[L * H], got[L * H], iwant[L * H], igot[L * H];
    /* per-thread budgets -> 2 sequences | 3 heads | 64 query rows per slice */
    const int64_t budgets[] = { 2 * H * T * T, 3 * T * T, 2 };
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(strata_model_set_threads(m, threads), STRATA_OK);
        stats_of(m, 0, tok, len, B, 1, want, L * H);
        stats_of(m, R, itok, ilen, 2, 1, iwant, L * H);
        ck_assert(iwant[0].n_docs[STRATA_ATTN_IND] == 2);
        for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
            m->attn_slice_floats = budgets[i];   /* per slice: each thread computes its own */
            stats_of(m, 0, tok, len, B, 0, got, L * H);
            ck_assert_msg(!memcmp(got, want, sizeof got), "budget %lld, %d threads", (long long)budgets[i], threads);
            stats_of(m, R, itok, ilen, 2, 0, igot, L * H);
            ck_assert_msg(!memcmp(igot, iwant, sizeof igot), "induction: budget %lld", (long long)budgets[i]);
        }
        m->attn_slice_floats = 0;
    }
    /* and equal, to summation order (entropy: to its two formulas), to feeding
     * the captured patterns one document at a time
     * (strata_attn_stats_add_pattern, another code path) */
    float *pat = malloc(sizeof(float) * (size_t)L * B * H * T * T);
    ck_assert_int_eq(strata_hook_add(m, "blocks.*.attn.hook_pattern", keep_pattern, pat, NULL), STRATA_OK);
    ck_assert_int_eq(strata_run(m, tok, len, B, NULL), STRATA_OK);
    strata_hook_clear(m);
    strata_attn_stats *s = NULL;
    ck_assert_int_eq(strata_attn_stats_new(strata_model_config(m), &s), STRATA_OK);
    for (int l = 0; l < L; l++)
        for (int b = 0; b < B; b++)
            ck_assert_int_eq(strata_attn_stats_add_pattern(s, l, pat + (((size_t)l * B + b) * H) * T * T,
                                                           (int64_t)T * T, T, 1, tok + b * T, len[b]),
                             STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, got, L * H), L * H);
    for (int i = 0; i < L * H; i++) {
        const double a[] = { got[i].entropy, got[i].mean_distance, got[i].prev_token, got[i].first_token,
                             got[i].self, got[i].duplicate };
        const double w[] = { want[i].entropy, want[i].mean_distance, want[i].prev_token, want[i].first_token,
                             want[i].self, want[i].duplicate };
        /* entropy: the forward pass uses the softmax's own entropy (float
         * lanes, ln Z - sum e x / Z), the stored path fast_ln (<= 2e-7 per
         * entry): they agree to float round-off of values ~3; the rest are
         * the same float sums in another grouping */
        ck_assert_double_eq_tol(a[0], w[0], 2e-6);
        for (int k = 1; k < 6; k++) ck_assert_double_eq_tol(a[k], w[k], 1e-9);
    }
    free(pat);
    strata_attn_stats_free(s);
    strata_model_free(m);
}
END_TEST

/* ------------------------------------------------------- stories260K */

/* Reads a whole float/int dataset of reference.h5 (HDF5 C API). */
static int read_h5(const char *path, const char *name, hid_t type, void *out)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    int rc = d >= 0 && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0 ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc;
}

START_TEST(test_stories)
{
    const char *p = tu_shared_path("models/stories260K/hf/config.json");
    if (!p) return;
    char dir[4096], ref[4200];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = 0;
    snprintf(ref, sizeof ref, "%s/../reference.h5", dir);
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(dir, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    const strata_config *c = strata_model_config(m);
    const int L = c->n_layers, H = c->n_heads, nh = L * H;
    strata_attn_head *r = calloc((size_t)nh, sizeof *r), *w = calloc((size_t)nh, sizeof *w);

    /* 1. reference prompt: statistics inside strata's forward pass equal those
     *    of llama2.c's patterns stored in reference.h5 [L,H,T,T] */
    enum { T = 21 };
    int32_t ids[T];
    float *pat = malloc(sizeof(float) * L * H * T * T);
    ck_assert_int_eq(read_h5(ref, "input_ids", H5T_NATIVE_INT32, ids), 0);
    ck_assert_int_eq(read_h5(ref, "attn_pattern", H5T_NATIVE_FLOAT, pat), 0);
    strata_attn_stats *s = NULL, *sr = NULL;
    ck_assert_int_eq(strata_attn_stats_new(c, &s), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_new(c, &sr), STRATA_OK);
    int32_t len = T;
    ck_assert_int_eq(strata_attn_stats_run(s, m, ids, &len, 1), STRATA_OK);
    for (int l = 0; l < L; l++)
        ck_assert_int_eq(strata_attn_stats_add_pattern(sr, l, pat + (int64_t)l * H * T * T, T * T,
                                                       T, 1, ids, T), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, r, nh), nh);
    ck_assert_int_eq(strata_attn_stats_result(sr, w, nh), nh);
    double worst = 0;
    for (int i = 0; i < nh; i++) {
        const double a[6] = { r[i].prev_token, r[i].first_token, r[i].self, r[i].entropy,
                              r[i].mean_distance, r[i].duplicate };
        const double b[6] = { w[i].prev_token, w[i].first_token, w[i].self, w[i].entropy,
                              w[i].mean_distance, w[i].duplicate };
        for (int k = 0; k < 6; k++) worst = fmax(worst, fabs(a[k] - b[k]));
    }
    ck_assert_msg(worst < 5e-5, "engine vs reference.h5 patterns: max diff %g", worst);

    /* 2. random induction documents (R = 30, seed 1, 16 docs): pinned findings
     *    (see docs/ATTENTION.md): layer 1 head 3 and layer 3 head 6 are strong
     *    previous-token heads; no head does induction (all < 0.15). */
    const int R = 30, N = 16;
    int32_t lo, hi;
    strata_attn_token_range(c, &lo, &hi);
    int32_t *tok = malloc(sizeof *tok * N * (2 * R + 1)), lens[16];
    ck_assert_int_eq(strata_attn_induction_docs(1, N, R, c->bos_token_id, c->eos_token_id, lo, hi,
                                                tok), STRATA_OK);
    for (int i = 0; i < N; i++) lens[i] = 2 * R + 1;
    strata_attn_stats_reset(s);
    ck_assert_int_eq(strata_attn_stats_set_induction(s, R, 1), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_run(s, m, tok, lens, N), STRATA_OK);
    ck_assert_int_eq(strata_attn_stats_result(s, r, nh), nh);
    double best = 0;
    for (int i = 0; i < nh; i++) {
        ck_assert(r[i].prev_token >= 0 && r[i].prev_token <= 1);
        ck_assert(r[i].induction >= 0 && r[i].induction <= 1);
        ck_assert(r[i].entropy >= 0 && r[i].entropy <= log(2 * R + 1));
        ck_assert_int_eq(r[i].n_docs[STRATA_ATTN_IND], N);
        if (r[i].induction > best) best = r[i].induction;
    }
    ck_assert_msg(best < 0.15, "best induction %g", best);
    ck_assert_msg(r[1 * H + 3].prev_token > 0.7, "L1H3 prev %g", r[1 * H + 3].prev_token);
    ck_assert_int_eq(r[1 * H + 3].cls, STRATA_ATTN_PREV_TOKEN);
    ck_assert_msg(r[3 * H + 6].prev_token > 0.7, "L3H6 prev %g", r[3 * H + 6].prev_token);
    free(pat);
    free(tok);
    free(r);
    free(w);
    strata_attn_stats_free(s);
    strata_attn_stats_free(sr);
    strata_model_free(m);
}
END_TEST

static Suite *attn_suite(void)
{
    Suite *su = suite_create("attn");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_hand_pattern);
    tcase_add_test(tc, test_corpus_mean);
    tcase_add_test(tc, test_induction_pattern);
    tcase_add_test(tc, test_fast_ln);
    tcase_add_test(tc, test_classify);
    tcase_add_test(tc, test_induction_docs);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_capture);
    suite_add_tcase(su, tc);
    TCase *tm = tcase_create("model");
    tcase_add_test(tm, test_model_heads);
    tcase_add_test(tm, test_model_induction);
    tcase_add_test(tm, test_model_bad);
    tcase_add_test(tm, test_sliced_equals_whole);
    tcase_add_test(tm, test_stories);
    suite_add_tcase(su, tm);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(attn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
