/* tests/test_concurrency.c — what may run at the same time (each public
 * header says so): separate model handles on separate threads.
 *
 * Two models of different families and formats (stories260K as a Hugging
 * Face directory, aidreams260K as GGUF, and a random GPT-2 written here) run
 * forward passes with hooks on two threads at once, each with its own OpenMP
 * team of 2 threads; every logit and every hooked value must equal, bit for
 * bit, what the same calls gave one after another.  Bitwise equality is the
 * right tolerance: a handle's results depend only on its own inputs and
 * thread count, and nothing one handle does may leak into the other
 * (workspaces, hook tables, OpenBLAS's thread count, HDF5 error settings). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "strata/hooks.h"
#include "strata/model.h"
#include "testutil.h"
#include "tiny_model.h"

enum { B = 2, T = 48, REPS = 4 };

/* One model's job: REPS forward passes; the last layer's resid_post
 * [B][T][d], layer 0's attention pattern [B][H][T][T] and the logits
 * [B][T][V] of every pass, concatenated. */
typedef struct job {
    const char *path;
    strata_model *m;
    int32_t tokens[B * T], lengths[B];
    float *resid, *pattern, *logits;
    size_t n_resid, n_pattern, n_logits;   /* per pass */
    int pass;
    int rc;
} job;

static int copy_hook(strata_tensor *t, const strata_hook_ctx *c, void *user)
{
    job *j = user;
    int is_pattern = c->kind == STRATA_HOOK_ATTN_PATTERN;
    float *dst = is_pattern ? j->pattern + j->pass * j->n_pattern : j->resid + j->pass * j->n_resid;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    ck_assert_uint_eq(n, is_pattern ? j->n_pattern : j->n_resid);
    memcpy(dst, t->data, n * sizeof(float));   /* whole, contiguous views here */
    return 0;
}

static void job_open(job *j, const char *path, uint64_t seed)
{
    memset(j, 0, sizeof *j);
    j->path = path;
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = 2;
    ck_assert_msg(strata_model_open(path, &o, &j->m) == STRATA_OK, "%s: %s", path, strata_errmsg(j->m));
    const strata_config *c = strata_model_config(j->m);
    tm_rng r = { seed };
    for (int i = 0; i < B * T; i++) j->tokens[i] = (int32_t)(tm_next(&r) % (uint64_t)c->vocab_size);
    j->lengths[0] = T;
    j->lengths[1] = T - 9;   /* padding in the second sequence */
    j->n_resid = (size_t)B * T * c->d_model;
    j->n_pattern = (size_t)B * c->n_heads * T * T;
    j->n_logits = (size_t)B * T * c->vocab_size;
    j->resid = calloc(REPS * j->n_resid, sizeof(float));
    j->pattern = calloc(REPS * j->n_pattern, sizeof(float));
    j->logits = calloc(REPS * j->n_logits, sizeof(float));
    ck_assert(j->resid && j->pattern && j->logits);
    char name[64];
    strata_hook_name(STRATA_HOOK_RESID_POST, c->n_layers - 1, name, sizeof name);
    ck_assert_int_eq(strata_hook_add(j->m, name, copy_hook, j, NULL), STRATA_OK);
    ck_assert_int_eq(strata_hook_add(j->m, "blocks.0.attn.hook_pattern", copy_hook, j, NULL), STRATA_OK);
}

static void job_close(job *j)
{
    strata_model_free(j->m);
    free(j->resid);
    free(j->pattern);
    free(j->logits);
}

static void *job_run(void *p)
{
    job *j = p;
    for (j->pass = 0; j->pass < REPS && !j->rc; j->pass++)
        j->rc = strata_run(j->m, j->tokens, j->lengths, B, j->logits + j->pass * j->n_logits);
    return NULL;
}

static void check_same(const char *what, const char *path, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            ck_abort_msg("%s: %s differs at %zu: concurrent %.9g, sequential %.9g", path, what, i,
                         (double)a[i], (double)b[i]);
}

/* Runs the two jobs one after the other, then both at once, and compares. */
static void two_models(const char *pa, const char *pb)
{
    job seq[2], par[2];
    job_open(&seq[0], pa, 1);
    job_open(&seq[1], pb, 2);
    job_run(&seq[0]);
    job_run(&seq[1]);
    ck_assert_msg(seq[0].rc == 0 && seq[1].rc == 0, "sequential runs failed");
    job_open(&par[0], pa, 1);
    job_open(&par[1], pb, 2);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, job_run, &par[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(par[i].rc == 0, "%s: %s", par[i].path, strata_errmsg(par[i].m));
        check_same("resid_post", par[i].path, par[i].resid, seq[i].resid, REPS * seq[i].n_resid);
        check_same("pattern", par[i].path, par[i].pattern, seq[i].pattern, REPS * seq[i].n_pattern);
        check_same("logits", par[i].path, par[i].logits, seq[i].logits, REPS * seq[i].n_logits);
        /* and every pass of a handle gave the same as its first */
        for (int k = 1; k < REPS; k++)
            check_same("repeat", par[i].path, par[i].logits + k * par[i].n_logits, par[i].logits,
                       par[i].n_logits);
    }
    for (int i = 0; i < 2; i++) {
        job_close(&seq[i]);
        job_close(&par[i]);
    }
}

START_TEST(two_llamas_hf_and_gguf)
{
    const char *a = tu_shared_path("models/stories260K/hf");
    const char *b0 = tu_shared_path("models/aidreams260K/aidreams260K.gguf");
    if (!a || !b0) return;
    char pa[4096];
    snprintf(pa, sizeof pa, "%s", a);   /* tu_shared_path returns a static buffer */
    two_models(pa, tu_shared_path("models/aidreams260K/aidreams260K.gguf"));
}
END_TEST

START_TEST(gpt2_beside_llama)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/gpt2", tu_tmpdir());
    tm_gpt2 *g = tm_gpt2_new(7, 64, 3, 4, 300, 64);
    ck_assert_int_eq(tm_gpt2_write(g, dir), 0);
    tm_gpt2_free(g);
    const char *b = tu_shared_path("models/stories260K/hf");
    if (!b) {   /* without ../shared: two GPT-2 handles over the same directory */
        two_models(dir, dir);
        return;
    }
    two_models(dir, b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("two models on two threads");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, two_llamas_hf_and_gguf);
    tcase_add_test(tc, gpt2_beside_llama);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
