/* tests/test_capture.c — the activation store (writer + strata_acts reader)
 * and the capture driver.
 *
 * Without ../shared: store round trip (f32 bit-exact, f16 conversion),
 * resume after an interrupted batch, resume refusals, reader refusals.
 * With ../shared/models/stories260K: capture vs reference.h5 (1e-4 abs),
 * rows bit-exact against what a hook saw, positions last/first, JSONL labels
 * (document and character-span), text input, and every bad input of the
 * issue (unwritable path, existing file, resume from another model or other
 * hooks, glob matching nothing, malformed JSONL line, token id out of range).
 * Without ../shared too (a random tiny GPT-2): JSONL {"ids": [...]} documents
 * with per-token label arrays (null -> NaN, truncation to n_ctx) and their
 * errors, each naming the line and field. */
#include <check.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include "io/h5store.h"
#include "io/outfile.h"
#include "strata/capture.h"
#include "strata/hooks.h"
#include "strata/model.h"
#include "strata/tokenizer.h"
#include "util/half.h"
#include "testutil.h"
#include "tiny_model.h"

/* ------------------------------------------------------------------ */
/* store without a model                                               */

#define W0 5            /* hook a: row [5] */
#define R1 2
#define R2 3            /* hook b: row [2,3] */

static const char *hook_names[] = { "blocks.0.hook_resid_post", "blocks.0.attn.hook_z" };
static const int32_t row_ndim[] = { 1, 2 };
static const int64_t row_shape[][ST_H5_MAX_ROW_DIMS] = { { W0 }, { R1, R2 } };
static const char *label_names[] = { "cls", "score" };
static const int32_t label_int[] = { 1, 0 };

static st_h5w_spec spec(int dtype)
{
    st_h5w_spec s = {
        .model_name = "toy", .model_arch = "llama", .config_json = "{\"d_model\":5}",
        .positions = "all", .n_hooks = 2, .hook_names = hook_names, .row_ndim = row_ndim,
        .row_shape = row_shape, .n_labels = 2, .label_names = label_names,
        .label_is_int = label_int, .dtype = dtype, .compress = 0, .has_text = 1,
        .max_tokens = 16,
    };
    return s;
}

/* Deterministic "activation" of global row r, element i (awkward float bits). */
static float val(int h, int64_t r, int64_t i)
{
    return (float)sin(0.37 * (double)r + 1.3 * (double)i + 0.5 * h) * (float)(1 + r % 7) / 3.0f;
}

/* Appends batch k (documents of 3, 1 and 4 tokens; all positions kept). */
static void append_batch(st_h5w *w, int k)
{
    int64_t ntok[3] = { 3, 1, 4 }, nrows[3] = { 3, 1, 4 };
    int32_t toks[8];
    int64_t rows[8];
    float a[8 * W0], b[8 * R1 * R2], cls[8], score[8];
    int64_t r0 = st_h5w_n_rows(w), t0 = st_h5w_n_tokens(w);
    for (int r = 0; r < 8; r++) {
        toks[r] = 10 * k + r;
        rows[r] = t0 + r;
        for (int i = 0; i < W0; i++) a[r * W0 + i] = val(0, r0 + r, i);
        for (int i = 0; i < R1 * R2; i++) b[r * R1 * R2 + i] = val(1, r0 + r, i);
        cls[r] = (float)((r0 + r) % 3);
        score[r] = 0.25f * (float)(r0 + r);
    }
    const char *texts[3] = { "abc", "d", "\xc3\xa9t\xc3\xa9!" };
    const float *acts[2] = { a, b };
    const float *labels[2] = { cls, score };
    st_h5w_batch bt = { .n_docs = 3, .doc_ntok = ntok, .doc_nrows = nrows, .tokens = toks,
                        .texts = texts, .n_rows = 8, .rows = rows, .acts = acts, .labels = labels };
    st_err e;
    ck_assert_msg(st_h5w_append(w, &bt, &e) == STRATA_OK, "%s", e.msg);
}

static void check_file(const char *path, int n_batches, int complete, int f16)
{
    strata_acts *a;
    int rc = strata_acts_open(path, &a);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_acts_errmsg(a));
    ck_assert_int_eq(strata_acts_complete(a), complete);
    ck_assert_int_eq(strata_acts_n_rows(a), 8 * n_batches);
    ck_assert_int_eq(strata_acts_n_hooks(a), 2);
    ck_assert_str_eq(strata_acts_hook(a, 0), hook_names[0]);
    ck_assert_str_eq(strata_acts_hook(a, 1), hook_names[1]);
    int64_t sh[4];
    ck_assert_int_eq(strata_acts_hook_shape(a, hook_names[1], sh), 3);
    ck_assert_int_eq(sh[0], 8 * n_batches);
    ck_assert_int_eq(sh[1], R1);
    ck_assert_int_eq(sh[2], R2);
    ck_assert_int_eq(strata_acts_row_width(a, hook_names[1]), R1 * R2);
    ck_assert_int_eq(strata_acts_hook_shape(a, "nope", sh), -1);
    int64_t n = 8 * n_batches;
    float *got = malloc(sizeof(float) * (size_t)(n * (R1 * R2 > W0 ? R1 * R2 : W0)));
    /* a block in the middle, crossing batch boundaries */
    if (n > 4) {
        ck_assert_int_eq(strata_acts_read(a, hook_names[0], 3, n - 4, got), STRATA_OK);
        for (int64_t r = 0; r < n - 4; r++)
            for (int i = 0; i < W0; i++) {
                float want = val(0, 3 + r, i);
                if (f16) want = st_f16_to_f32(st_f32_to_f16(want));
                ck_assert_msg(memcmp(&got[r * W0 + i], &want, 4) == 0,
                              "row %lld elem %d: %.9g != %.9g", (long long)(3 + r), i,
                              got[r * W0 + i], want);
            }
    }
    ck_assert_int_eq(strata_acts_read(a, hook_names[1], 0, n, got), STRATA_OK);
    for (int64_t r = 0; r < n; r++)
        for (int i = 0; i < R1 * R2; i++) {
            float want = val(1, r, i);
            if (f16) want = st_f16_to_f32(st_f32_to_f16(want));
            ck_assert(memcmp(&got[r * R1 * R2 + i], &want, 4) == 0);
        }
    ck_assert_int_eq(strata_acts_read(a, hook_names[0], n - 1, 2, got), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_acts_read(a, "nope", 0, 1, got), STRATA_ERR_NOTFOUND);
    ck_assert_int_eq(strata_acts_n_labels(a), 2);
    ck_assert_str_eq(strata_acts_label(a, 0), "cls");
    ck_assert_int_eq(strata_acts_read_label(a, "cls", 0, n, got), STRATA_OK);
    for (int64_t r = 0; r < n; r++) ck_assert(got[r] == (float)(r % 3));
    ck_assert_int_eq(strata_acts_read_label(a, "score", 0, n, got), STRATA_OK);
    for (int64_t r = 0; r < n; r++) ck_assert(got[r] == 0.25f * (float)r);
    int32_t *tk = malloc(sizeof(int32_t) * (size_t)n);
    ck_assert_int_eq(strata_acts_read_row_tokens(a, 0, n, tk), STRATA_OK);
    for (int64_t r = 0; r < n; r++) ck_assert_int_eq(tk[r], 10 * (r / 8) + r % 8);
    free(tk);
    free(got);
    strata_acts_close(a);
}

START_TEST(test_store_round_trip_f32)
{
    const char *p = tu_tmpfile("rt32.h5");
    st_h5w_spec s = spec(ST_H5_F32);
    st_h5w *w;
    st_err e;
    ck_assert_msg(st_h5w_create(p, &s, 0, &w, &e) == STRATA_OK, "%s", e.msg);
    for (int k = 0; k < 3; k++) append_batch(w, k);
    check_file(p, 3, 0, 0); /* readable while open, complete = false */
    ck_assert_int_eq(st_h5w_close(w, 1, 0, &e), STRATA_OK);
    check_file(p, 3, 1, 0);
    /* exists without overwrite */
    ck_assert_int_eq(st_h5w_create(p, &s, 0, &w, &e), STRATA_ERR_EXISTS);
    ck_assert_ptr_nonnull(strstr(e.msg, "--overwrite"));
    /* docs layout, read with the plain HDF5 API */
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "docs/offsets", H5P_DEFAULT);
    int64_t off[10];
    ck_assert(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, off) >= 0);
    int64_t want[10] = { 0, 3, 4, 8, 11, 12, 16, 19, 20, 24 };
    for (int i = 0; i < 10; i++) ck_assert_int_eq(off[i], want[i]);
    H5Dclose(ds);
    H5Fclose(f);
}
END_TEST

START_TEST(test_float16)
{
    /* conversion: exact values, rounding to nearest even, subnormals, overflow */
    ck_assert_uint_eq(st_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(st_f32_to_f16(-2.0f), 0xc000);
    ck_assert_uint_eq(st_f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(st_f32_to_f16(65520.0f), 0x7c00);
    ck_assert_uint_eq(st_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);       /* tie -> even */
    ck_assert_uint_eq(st_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);       /* tie -> even */
    ck_assert_uint_eq(st_f32_to_f16(5.9604645e-8f), 0x0001);            /* 2^-24 */
    ck_assert(st_f16_to_f32(0x0001) == 5.9604645e-8f);
    ck_assert(st_f16_to_f32(0x3555) == 0.333251953125f);
    const char *p = tu_tmpfile("rt16.h5");
    st_h5w_spec s = spec(ST_H5_F16);
    st_h5w *w;
    st_err e;
    ck_assert_msg(st_h5w_create(p, &s, 0, &w, &e) == STRATA_OK, "%s", e.msg);
    for (int k = 0; k < 2; k++) append_batch(w, k);
    ck_assert_int_eq(st_h5w_close(w, 1, 0, &e), STRATA_OK);
    check_file(p, 2, 1, 1);
    /* HDF5's own conversion of the stored type agrees with ours */
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "acts/blocks.0.hook_resid_post", H5P_DEFAULT);
    hid_t t = H5Dget_type(ds);
    ck_assert_int_eq(H5Tget_size(t), 2);
    float hv[16 * W0];
    ck_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, hv) >= 0);
    for (int r = 0; r < 16; r++)
        for (int i = 0; i < W0; i++) {
            float x = val(0, r, i);
            ck_assert_msg(hv[r * W0 + i] == st_f16_to_f32(st_f32_to_f16(x)), "%g vs %g",
                          hv[r * W0 + i], st_f16_to_f32(st_f32_to_f16(x)));
            ck_assert(fabsf(hv[r * W0 + i] - x) <= fabsf(x) * (1.0f / 2048) + 1e-7f);
        }
    H5Tclose(t);
    H5Dclose(ds);
    H5Fclose(f);
}
END_TEST

/* Extends every dataset by junk rows without committing: what a kill in the
 * middle of a batch leaves behind. */
static void add_junk(const char *p)
{
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    const char *names[] = { "tokens", "rows", "docs/offsets", "docs/row_offsets", "docs/text_bytes", "docs/text_offsets",
                            "acts/blocks.0.hook_resid_post", "acts/blocks.0.attn.hook_z",
                            "labels/cls", "labels/score" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hid_t ds = H5Dopen2(f, names[i], H5P_DEFAULT);
        ck_assert(ds >= 0);
        hid_t sp = H5Dget_space(ds);
        hsize_t d[4];
        H5Sget_simple_extent_dims(sp, d, NULL);
        H5Sclose(sp);
        d[0] += 5;
        ck_assert(H5Dset_extent(ds, d) >= 0);
        H5Dclose(ds);
    }
    H5Fclose(f);
}

START_TEST(test_store_resume)
{
    const char *p = tu_tmpfile("resume.h5");
    char path[1024];
    snprintf(path, sizeof path, "%s", p);
    st_h5w_spec s = spec(ST_H5_F32);
    st_h5w *w;
    st_err e;
    ck_assert_msg(st_h5w_create(path, &s, 0, &w, &e) == STRATA_OK, "%s", e.msg);
    append_batch(w, 0);
    append_batch(w, 1);
    st_h5w_close(w, 0, 0, &e); /* interrupted: complete stays false */
    add_junk(path);
    check_file(path, 2, 0, 0); /* the reader trusts the committed counts */
    /* refusals: other hooks, other model, other labels */
    st_h5w_spec s2 = s;
    const char *other_hooks[] = { "blocks.1.hook_resid_post", "blocks.0.attn.hook_z" };
    s2.hook_names = other_hooks;
    ck_assert_int_eq(st_h5w_resume(path, &s2, &w, &e), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "other hooks"));
    s2 = s;
    s2.config_json = "{\"d_model\":6}";
    ck_assert_int_eq(st_h5w_resume(path, &s2, &w, &e), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "another model"));
    s2 = s;
    s2.n_labels = 1;
    ck_assert_int_eq(st_h5w_resume(path, &s2, &w, &e), STRATA_ERR_STATE);
    s2 = s;
    s2.dtype = ST_H5_F16;
    ck_assert_int_eq(st_h5w_resume(path, &s2, &w, &e), STRATA_ERR_STATE);
    /* the real resume truncates the junk and continues */
    ck_assert_msg(st_h5w_resume(path, &s, &w, &e) == STRATA_OK, "%s", e.msg);
    ck_assert_int_eq(st_h5w_n_docs(w), 6);
    ck_assert_int_eq(st_h5w_n_rows(w), 16);
    append_batch(w, 2);
    ck_assert_int_eq(st_h5w_close(w, 1, 0, &e), STRATA_OK);
    check_file(path, 3, 1, 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "acts/blocks.0.hook_resid_post", H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hsize_t d[2];
    H5Sget_simple_extent_dims(sp, d, NULL);
    ck_assert_int_eq(d[0], 24); /* no junk left: extents equal the counts */
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* issue 16: one writer per file, regular files only, offsets checked,  */
/* read-only resume, provenance                                         */

/* The whole file as bytes (malloc'd), for byte-for-byte comparisons. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    ck_assert_int_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void assert_same_bytes(const char *path, const unsigned char *want, size_t n)
{
    size_t m;
    unsigned char *got = slurp(path, &m);
    ck_assert_msg(m == n && memcmp(got, want, n) == 0, "%s changed (%zu -> %zu bytes)", path, n, m);
    free(got);
}

/* A complete 2-batch file at p. */
static void make_file(const char *p, const st_h5w_spec *s)
{
    st_h5w *w;
    st_err e;
    ck_assert_msg(st_h5w_create(p, s, 1, &w, &e) == STRATA_OK, "%s", e.msg);
    append_batch(w, 0);
    append_batch(w, 1);
    ck_assert_msg(st_h5w_close(w, 1, 0, &e) == STRATA_OK, "%s", e.msg);
}

START_TEST(test_store_one_writer)
{
    char p[1024], tmp[1100];
    snprintf(p, sizeof p, "%s", tu_tmpfile("locked.h5"));
    snprintf(tmp, sizeof tmp, "%s.creating", p);
    st_h5w_spec s = spec(ST_H5_F32);
    st_h5w *w, *w2;
    st_err e;
    ck_assert_msg(st_h5w_create(p, &s, 0, &w, &e) == STRATA_OK, "%s", e.msg);
    append_batch(w, 0);
    /* a second writer (flock conflicts between open files even in one process) */
    ck_assert_int_eq(st_h5w_create(p, &s, 1, &w2, &e), STRATA_ERR_STATE);
    ck_assert_msg(strstr(e.msg, p) && strstr(e.msg, "another process"), "%s", e.msg);
    ck_assert_int_eq(st_h5w_resume(p, &s, &w2, &e), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "another process"));
    ck_assert_int_ne(access(tmp, F_OK), 0);
    append_batch(w, 1);
    ck_assert_int_eq(st_h5w_close(w, 1, 0, &e), STRATA_OK);
    check_file(p, 2, 1, 0);
    /* .creating held by someone else: refused, their file untouched */
    ck_assert_int_eq(tu_write_file(tmp, "theirs", 6), 0);
    int fd = open(tmp, O_RDONLY);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    ck_assert_int_eq(st_h5w_create(p, &s, 1, &w2, &e), STRATA_ERR_STATE);
    ck_assert_msg(strstr(e.msg, ".creating") && strstr(e.msg, "another process"), "%s", e.msg);
    assert_same_bytes(tmp, (const unsigned char *)"theirs", 6);
    close(fd);
    /* stale .creating: taken over */
    ck_assert_msg(st_h5w_create(p, &s, 1, &w2, &e) == STRATA_OK, "%s", e.msg);
    ck_assert_int_eq(st_h5w_close(w2, 1, 0, &e), STRATA_OK);
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

/* The "can the output be created" check never creates the output path (an
 * unlocked file there let a second --overwrite in: issue 16) and leaves
 * nothing behind; a missing directory is an error naming the path. */
START_TEST(test_out_can_create)
{
    char dir[1024], p[1100];
    snprintf(dir, sizeof dir, "%s", tu_tmpfile("cancreate"));
    ck_assert_int_eq(mkdir(dir, 0777), 0);
    snprintf(p, sizeof p, "%s/x.h5", dir);
    st_err e;
    ck_assert_msg(st_out_can_create(p, &e) == STRATA_OK, "%s", e.msg);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    ck_assert_int_eq(n, 0);
    snprintf(p, sizeof p, "%s/missing/x.h5", dir);
    ck_assert_int_eq(st_out_can_create(p, &e), STRATA_ERR_IO);
    ck_assert_msg(strstr(e.msg, "cannot create output file") && strstr(e.msg, p), "%s", e.msg);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_store_regular_files_only)
{
    st_h5w_spec s = spec(ST_H5_F32);
    st_h5w *w;
    st_err e;
    char fifo[1024], dir[1024], link[1024], target[1024], link2[1024];
    snprintf(fifo, sizeof fifo, "%s", tu_tmpfile("a.fifo"));
    snprintf(dir, sizeof dir, "%s", tu_tmpfile("a.dir"));
    snprintf(link, sizeof link, "%s", tu_tmpfile("fifo.link"));
    ck_assert_int_eq(mkfifo(fifo, 0666), 0);
    ck_assert_int_eq(mkdir(dir, 0777), 0);
    ck_assert_int_eq(symlink(fifo, link), 0);
    const char *paths[3] = { fifo, dir, link };
    for (int i = 0; i < 3; i++) {
        for (int ow = 0; ow < 2; ow++) {
            ck_assert_int_eq(st_h5w_create(paths[i], &s, ow, &w, &e), STRATA_ERR_IO);
            ck_assert_msg(strstr(e.msg, "not a regular file"), "%s", e.msg);
        }
        ck_assert_int_eq(st_h5w_resume(paths[i], &s, &w, &e), STRATA_ERR_IO);
        ck_assert_msg(strstr(e.msg, "not a regular file"), "%s", e.msg);
    }
    struct stat st;
    ck_assert_int_eq(stat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    /* a symlink to a regular file: the target is replaced, the link kept */
    snprintf(target, sizeof target, "%s", tu_tmpfile("target.h5"));
    snprintf(link2, sizeof link2, "%s", tu_tmpfile("target.link"));
    ck_assert_int_eq(tu_write_file(target, "old", 3), 0);
    ck_assert_int_eq(symlink(target, link2), 0);
    make_file(link2, &s);
    ck_assert_int_eq(lstat(link2, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    check_file(target, 2, 1, 0);
    /* and resumed through the link */
    ck_assert_msg(st_h5w_resume(link2, &s, &w, &e) == STRATA_OK, "%s", e.msg);
    append_batch(w, 2);
    ck_assert_int_eq(st_h5w_close(w, 1, 0, &e), STRATA_OK);
    check_file(target, 3, 1, 0);
}
END_TEST

/* Rewrites one int64 of a 1-D dataset in place (HDF5 C API). */
static void poke_i64(const char *path, const char *ds_name, hsize_t at, int64_t v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t ds = H5Dopen2(f, ds_name, H5P_DEFAULT);
    hid_t fs = H5Dget_space(ds);
    hsize_t one = 1;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    ck_assert(H5Dwrite(ds, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, &v) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    H5Fclose(f);
}

START_TEST(test_store_offsets_checked)
{
    st_h5w_spec s = spec(ST_H5_F32);
    static const struct { const char *ds; hsize_t at; int64_t v; const char *why; } bad[] = {
        { "docs/text_offsets", 2, 1, "not increasing" },      /* 0 3 1 ...: backwards */
        { "docs/text_offsets", 0, 2, "starts at 2" },
        { "docs/text_offsets", 6, 1000000, "past the end" },
        { "docs/offsets", 3, 2, "not increasing" },
        { "docs/row_offsets", 6, 15, "ends at 15" },
        { "docs/row_offsets", 2, -5, "not increasing" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *p = tu_tmpfile("offs.h5");
        make_file(p, &s);
        poke_i64(p, bad[k].ds, bad[k].at, bad[k].v);
        size_t n;
        unsigned char *before = slurp(p, &n);
        st_h5w *w;
        st_err e;
        ck_assert_int_eq(st_h5w_resume(p, &s, &w, &e), STRATA_ERR_FORMAT);
        ck_assert_msg(strstr(e.msg, bad[k].ds) && strstr(e.msg, bad[k].why), "%s: %s", bad[k].ds, e.msg);
        assert_same_bytes(p, before, n);       /* a refused resume changes nothing */
        free(before);
        strata_acts *a;
        ck_assert_int_eq(strata_acts_open(p, &a), STRATA_ERR_FORMAT);
        ck_assert_msg(strstr(strata_acts_errmsg(a), bad[k].ds), "%s", strata_acts_errmsg(a));
        strata_acts_close(a);
    }
}
END_TEST

START_TEST(test_store_resume_is_read_only_until_written)
{
    st_h5w_spec s = spec(ST_H5_F32);
    const char *p = tu_tmpfile("ro.h5");
    make_file(p, &s);
    size_t n;
    unsigned char *before = slurp(p, &n);
    st_h5w *w;
    st_err e;
    /* opened, looked at, closed: untouched (also when closed as complete) */
    for (int complete = 0; complete < 2; complete++) {
        ck_assert_msg(st_h5w_resume(p, &s, &w, &e) == STRATA_OK, "%s", e.msg);
        ck_assert_int_eq(st_h5w_was_complete(w), 1);
        const int32_t *tok;
        const char *text;
        int64_t nt, tl;
        ck_assert_int_eq(st_h5w_stored_doc(w, 5, &tok, &nt, &text, &tl, &e), STRATA_OK);
        ck_assert_int_eq(nt, 4);                        /* batch 1, third document */
        ck_assert_int_eq(tok[0], 14);
        ck_assert_int_eq(tl, 6);
        ck_assert(memcmp(text, "\xc3\xa9t\xc3\xa9!", 6) == 0);
        ck_assert_int_eq(st_h5w_stored_doc(w, 6, &tok, &nt, &text, &tl, &e), STRATA_ERR_ARG);
        ck_assert_int_eq(st_h5w_close(w, complete, 0, &e), STRATA_OK);
        assert_same_bytes(p, before, n);
    }
    /* another spec: refused, untouched */
    st_h5w_spec s2 = s;
    s2.max_tokens = 8;
    ck_assert_int_eq(st_h5w_resume(p, &s2, &w, &e), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "--max-tokens"));
    assert_same_bytes(p, before, n);
    free(before);
    /* the first append truncates and clears complete, the close completes again */
    ck_assert_msg(st_h5w_resume(p, &s, &w, &e) == STRATA_OK, "%s", e.msg);
    append_batch(w, 2);
    ck_assert_int_eq(st_h5w_close(w, 1, 0, &e), STRATA_OK);
    check_file(p, 3, 1, 0);
}
END_TEST

START_TEST(test_store_provenance)
{
    static const char *wf[] = { "config.json", "model.safetensors" };
    static const char *wa[] = { "1111111111111111111111111111111111111111111111111111111111111111",
                                "2222222222222222222222222222222222222222222222222222222222222222" };
    static const char *wb[] = { "1111111111111111111111111111111111111111111111111111111111111111",
                                "3333333333333333333333333333333333333333333333333333333333333333" };
    static const char *tf[] = { "tokenizer.json" };
    static const char *ta[] = { "4444444444444444444444444444444444444444444444444444444444444444" };
    st_h5w_provenance pa = { .model_path = "/models/a", .model_revision = "step 100",
                             .n_weight_files = 2, .weight_files = wf, .weight_sha256 = wa,
                             .n_tokenizer_files = 1, .tokenizer_files = tf, .tokenizer_sha256 = ta };
    st_h5w_provenance pb = pa;
    pb.weight_sha256 = wb;
    pb.model_revision = "step 200";
    st_h5w_spec s = spec(ST_H5_F32);
    s.prov = &pa;
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s", tu_tmpfile("prov.h5"));
    snprintf(q, sizeof q, "%s", tu_tmpfile("noprov.h5"));
    make_file(p, &s);
    size_t n;
    unsigned char *before = slurp(p, &n);
    st_h5w_spec s2 = s;
    s2.prov = &pb;
    st_h5w *w;
    st_err e;
    ck_assert_int_eq(st_h5w_resume(p, &s2, &w, &e), STRATA_ERR_STATE);
    ck_assert_msg(strstr(e.msg, "model.safetensors") && strstr(e.msg, "SHA-256") &&
                  strstr(e.msg, "step 100") && strstr(e.msg, "step 200"), "%s", e.msg);
    assert_same_bytes(p, before, n);
    /* a file recorded without provenance cannot be checked: refused */
    st_h5w_spec s0 = spec(ST_H5_F32);
    make_file(q, &s0);
    ck_assert_int_eq(st_h5w_resume(q, &s, &w, &e), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "no provenance"));
    /* same provenance: accepted; the stored attributes read back */
    ck_assert_msg(st_h5w_resume(p, &s, &w, &e) == STRATA_OK, "%s", e.msg);
    ck_assert_int_eq(strlen(st_h5w_stored_input_hash(w)), 64);
    ck_assert_int_eq(st_h5w_close(w, 0, 0, &e), STRATA_OK);
    assert_same_bytes(p, before, n);
    free(before);
}
END_TEST

START_TEST(test_reader_refusals)
{
    strata_acts *a;
    ck_assert_int_eq(strata_acts_open(tu_tmpfile("missing.h5"), &a), STRATA_ERR_IO);
    strata_acts_close(a);
    const char *p = tu_tmpfile("notours.h5");
    char path[1024];
    snprintf(path, sizeof path, "%s", p);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(strata_acts_errmsg(a), "not a strata activation file"));
    strata_acts_close(a);
    ck_assert_int_eq(tu_write_file(path, "hello", 5), 0);
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_ERR_FORMAT);
    strata_acts_close(a);
    /* unknown major version */
    st_h5w_spec s = spec(ST_H5_F32);
    st_h5w *w;
    st_err e;
    ck_assert_int_eq(st_h5w_create(path, &s, 1, &w, &e), STRATA_OK);
    st_h5w_close(w, 1, 0, &e);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "format_version");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(f, "format_version", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(at, t, "2.0");
    H5Aclose(at);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_ERR_UNSUPPORTED);
    strata_acts_close(a);
    strata_acts_close(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* capture driver with stories260K                                     */

static strata_model *open_model(const char *rel)
{
    const char *p = tu_shared_path(rel);
    if (!p) return NULL;
    strata_model *m = NULL;
    int rc = strata_model_open(p, NULL, &m);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_errmsg(m));
    return m;
}

static const int32_t REF_IDS[21] = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298,
                                     315, 421, 395, 317, 426, 338, 401, 396, 267, 337 };

static float *read_ref(hid_t f, const char *name, size_t n)
{
    float *v = malloc(sizeof(float) * n);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert(ds >= 0);
    ck_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds);
    return v;
}

START_TEST(test_capture_reference)
{
    strata_model *m = open_model("models/stories260K/hf");
    const char *ref = tu_shared_path("models/stories260K/reference.h5");
    if (!m || !ref) { strata_model_free(m); return; }
    char refp[1024];
    snprintf(refp, sizeof refp, "%s", ref);
    const char *p = tu_tmpfile("ref.h5");
    char path[1024];
    snprintf(path, sizeof path, "%s", p);
    /* the same prompt through --tokens-file */
    char ids_path[1024];
    snprintf(ids_path, sizeof ids_path, "%s", tu_tmpfile("ref_ids.txt"));
    char line[256];
    size_t o = 0;
    for (int i = 0; i < 21; i++) o += (size_t)snprintf(line + o, sizeof line - o, "%s%d", i ? "," : "", REF_IDS[i]);
    line[o++] = '\n';
    ck_assert_int_eq(tu_write_file(ids_path, line, o), 0);
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.*.hook_resid_pre, blocks.*.hook_resid_post,blocks.*.attn.hook_pattern";
    strata_capture *c;
    int rc = strata_capture_open(m, path, &opt, &c);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_capture_errmsg(c));
    rc = strata_capture_add_file(c, STRATA_INPUT_TOKENS, ids_path);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_capture_errmsg(c));
    ck_assert_msg(strata_capture_finish(c) == STRATA_OK, "%s", strata_capture_errmsg(c));
    strata_capture_free(c);

    const int L = 5, T = 21, D = 64, H = 8;
    hid_t rf = H5Fopen(refp, H5F_ACC_RDONLY, H5P_DEFAULT);
    float *pre = read_ref(rf, "resid_pre", (size_t)L * T * D);
    float *post = read_ref(rf, "resid_post", (size_t)L * T * D);
    float *pat = read_ref(rf, "attn_pattern", (size_t)L * H * T * T);
    H5Fclose(rf);
    strata_acts *a;
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
    ck_assert_int_eq(strata_acts_complete(a), 1);
    ck_assert_int_eq(strata_acts_n_rows(a), T);
    ck_assert_int_eq(strata_acts_n_hooks(a), 3 * L);
    float *got = malloc(sizeof(float) * (size_t)T * H * 512);
    char name[64];
    for (int l = 0; l < L; l++) {
        snprintf(name, sizeof name, "blocks.%d.hook_resid_pre", l);
        ck_assert_int_eq(strata_acts_read(a, name, 0, T, got), STRATA_OK);
        ck_assert(tu_check_close(name, got, pre + (size_t)l * T * D, (size_t)T * D, 1e-4));
        snprintf(name, sizeof name, "blocks.%d.hook_resid_post", l);
        ck_assert_int_eq(strata_acts_read(a, name, 0, T, got), STRATA_OK);
        ck_assert(tu_check_close(name, got, post + (size_t)l * T * D, (size_t)T * D, 1e-4));
        /* pattern rows [R=query][H][W]; reference [H][query][key].  W is the
         * longest captured document (this one, T), not n_ctx = 512. */
        snprintf(name, sizeof name, "blocks.%d.attn.hook_pattern", l);
        int64_t sh[4];
        ck_assert_int_eq(strata_acts_hook_shape(a, name, sh), 3);
        ck_assert_int_eq(sh[1], H);
        ck_assert_int_eq(sh[2], T);
        const int64_t W = sh[2];
        ck_assert_int_eq(strata_acts_read(a, name, 0, T, got), STRATA_OK);
        double md = 0;
        for (int q = 0; q < T; q++)
            for (int h = 0; h < H; h++)
                for (int k = 0; k < W; k++) {
                    float g = got[((size_t)q * H + h) * W + k];
                    float w = k < T ? pat[(((size_t)l * H + h) * T + q) * T + k] : 0.0f;
                    if (k >= T) ck_assert(g == 0.0f); /* zeros past the document */
                    md = fmax(md, fabs((double)g - w));
                }
        ck_assert_msg(md <= 1e-4, "%s max diff %g", name, md);
    }
    int32_t tk[21];
    ck_assert_int_eq(strata_acts_read_row_tokens(a, 0, T, tk), STRATA_OK);
    for (int i = 0; i < T; i++) ck_assert_int_eq(tk[i], REF_IDS[i]);
    strata_acts_close(a);
    free(got);
    free(pre);
    free(post);
    free(pat);
    strata_model_free(m);
}
END_TEST

/* What the hook saw, kept by the test's own hook on the same run. */
typedef struct seen {
    float *v;         /* [B][T][d] copy of the full view */
    int B, T, d;
    int calls;
} seen;

static int see_cb(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    seen *s = user;
    s->B = ctx->batch;
    s->T = ctx->n_ctx;
    s->d = (int)t->shape[2];
    s->v = realloc(s->v, sizeof(float) * (size_t)s->B * s->T * s->d);
    for (int b = 0; b < s->B; b++)
        for (int q = 0; q < s->T; q++)
            for (int i = 0; i < s->d; i++)
                s->v[((size_t)b * s->T + q) * s->d + i] =
                    t->data[b * t->strides[0] + q * t->strides[1] + i * t->strides[2]];
    s->calls++;
    return 0;
}

START_TEST(test_capture_bit_exact_positions)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    static const int32_t d0[] = { 1, 403, 407, 261, 378 }, d1[] = { 1, 317, 269 },
                         d2[] = { 1, 298, 315, 421, 395, 317, 426 };
    const int32_t *docs[3] = { d0, d1, d2 };
    const int64_t lens[3] = { 5, 3, 7 };
    for (int pos = STRATA_POS_ALL; pos <= STRATA_POS_FIRST; pos++) {
        seen s = { 0 };
        strata_hook_id hid;
        ck_assert_int_eq(strata_hook_add(m, "blocks.2.hook_resid_post", see_cb, &s, &hid), STRATA_OK);
        char path[1024];
        snprintf(path, sizeof path, "%s", tu_tmpfile("exact.h5"));
        strata_capture_opts opt = strata_capture_opts_default();
        opt.hooks = "blocks.2.hook_resid_post";
        opt.positions = pos;
        opt.batch = 3; /* one run, so s holds all three documents */
        opt.mode = STRATA_CAPTURE_OVERWRITE;
        strata_capture *c;
        ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
        for (int i = 0; i < 3; i++) ck_assert_int_eq(strata_capture_add_tokens(c, docs[i], lens[i]), STRATA_OK);
        ck_assert_msg(strata_capture_finish(c) == STRATA_OK, "%s", strata_capture_errmsg(c));
        strata_capture_free(c);
        strata_hook_remove(m, hid);
        ck_assert_int_eq(s.calls, 1);
        strata_acts *a;
        ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
        int64_t want_rows = pos == STRATA_POS_ALL ? 15 : 3;
        ck_assert_int_eq(strata_acts_n_rows(a), want_rows);
        float *got = malloc(sizeof(float) * (size_t)want_rows * 64);
        int32_t tk[15];
        ck_assert_int_eq(strata_acts_read(a, "blocks.2.hook_resid_post", 0, want_rows, got), STRATA_OK);
        ck_assert_int_eq(strata_acts_read_row_tokens(a, 0, want_rows, tk), STRATA_OK);
        int64_t r = 0;
        for (int b = 0; b < 3; b++) {
            int q0 = pos == STRATA_POS_LAST ? (int)lens[b] - 1 : 0;
            int q1 = pos == STRATA_POS_ALL ? (int)lens[b] : q0 + 1;
            for (int q = q0; q < q1; q++, r++) {
                ck_assert_int_eq(tk[r], docs[b][q]);
                ck_assert(memcmp(got + r * 64, s.v + ((size_t)b * s.T + q) * s.d, 64 * 4) == 0);
            }
        }
        free(got);
        free(s.v);
        strata_acts_close(a);
    }
    strata_model_free(m);
}
END_TEST

/* Rows written straight from the hook's view (float32, all positions): a
 * [B,T,d] view, a [B,T,H,dh] view and a one-head view ([B,T,1,dh] with the
 * full tensor's strides), padded batches, an empty document, a short last
 * batch.  Every row equals what the test's own hook saw, bit for bit. */
typedef struct seen_rows {
    float *v;         /* [rows][width], kept positions only, in run order */
    int64_t n, width;
} seen_rows;

static int see_rows_cb(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    seen_rows *s = user;
    int64_t a = t->shape[2], b = t->ndim == 4 ? t->shape[3] : 1;
    int64_t sb = t->ndim == 4 ? t->strides[3] : 0;
    s->width = a * b;
    for (int rb = 0; rb < ctx->batch; rb++)
        for (int q = 0; q < ctx->lengths[rb]; q++) {
            s->v = realloc(s->v, sizeof(float) * (size_t)(s->n + 1) * (size_t)s->width);
            float *o = s->v + s->n++ * s->width;
            for (int64_t i = 0; i < a; i++)
                for (int64_t j = 0; j < b; j++)
                    o[i * b + j] = t->data[rb * t->strides[0] + q * t->strides[1] +
                                           i * t->strides[2] + j * sb];
        }
    return 0;
}

/* Rows as the hooks saw them, with overlap 0 (float32 rows written straight
 * from the hook views) and 1 (copied for the writer thread). */
static void direct_rows_case(strata_model *m, int overlap)
{
    static const int32_t d0[] = { 1, 403, 407, 261, 378 }, d2[] = { 1, 317, 269 },
                         d3[] = { 1, 298, 315, 421, 395, 317, 426 }, d4[] = { 1, 261, 378, 407 };
    const int32_t *docs[5] = { d0, NULL, d2, d3, d4 };
    const int64_t lens[5] = { 5, 0, 3, 7, 4 };
    const char *names[3] = { "blocks.1.hook_resid_post", "blocks.1.attn.hook_z",
                             "blocks.1.attn.hook_z[3]" };
    seen_rows s[3] = { { 0 } };
    strata_hook_id hid[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(strata_hook_add(m, names[i], see_rows_cb, &s[i], &hid[i]), STRATA_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s", tu_tmpfile("direct.h5"));
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.1.hook_resid_post,blocks.1.attn.hook_z,blocks.1.attn.hook_z[3]";
    opt.batch = 2; /* {5, 0}, {3, 7}, {4} */
    opt.mode = STRATA_CAPTURE_OVERWRITE;
    opt.overlap = overlap;
    strata_capture *c;
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(strata_capture_add_tokens(c, docs[i], lens[i]) == STRATA_OK, "%s",
                      strata_capture_errmsg(c));
    ck_assert_msg(strata_capture_finish(c) == STRATA_OK, "%s", strata_capture_errmsg(c));
    strata_capture_free(c);
    for (int i = 0; i < 3; i++) strata_hook_remove(m, hid[i]);
    strata_acts *a;
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
    ck_assert_int_eq(strata_acts_n_rows(a), 19);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s[i].n, 19);
        ck_assert_int_eq(strata_acts_row_width(a, names[i]), s[i].width);
        float *got = malloc(sizeof(float) * 19 * (size_t)s[i].width);
        ck_assert_int_eq(strata_acts_read(a, names[i], 0, 19, got), STRATA_OK);
        ck_assert_msg(memcmp(got, s[i].v, sizeof(float) * 19 * (size_t)s[i].width) == 0, "%s",
                      names[i]);
        if (i == 2) /* head 3 of hook_z */
            for (int r = 0; r < 19; r++)
                ck_assert(memcmp(got + r * s[2].width,
                                 s[1].v + r * s[1].width + 3 * s[2].width,
                                 sizeof(float) * (size_t)s[2].width) == 0);
        free(got);
    }
    for (int i = 0; i < 3; i++) free(s[i].v);
    int32_t tk[19];
    ck_assert_int_eq(strata_acts_read_row_tokens(a, 0, 19, tk), STRATA_OK);
    for (int d = 0, r = 0; d < 5; d++)
        for (int q = 0; q < lens[d]; q++) ck_assert_int_eq(tk[r++], docs[d][q]);
    strata_acts_close(a);
}

START_TEST(test_capture_direct_rows)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    direct_rows_case(m, 0);
    direct_rows_case(m, 1);
    strata_model_free(m);
}
END_TEST

/* Every dataset of file a equals the same dataset of file b: type size,
 * shape and every value (variable-length strings compared as strings).
 * Attributes are not compared (the creation time differs). */
typedef struct same_ctx { hid_t b; int n; double tol; } same_ctx;

static herr_t same_dataset(hid_t fa, const char *name, const H5L_info_t *info, void *user)
{
    same_ctx *x = user;
    (void)info;
    hid_t obj = H5Oopen(fa, name, H5P_DEFAULT);
    ck_assert(obj >= 0);
    int is_ds = H5Iget_type(obj) == H5I_DATASET;
    H5Oclose(obj);
    if (!is_ds) return 0;
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(x->b, name, H5P_DEFAULT);
    ck_assert_msg(da >= 0 && db >= 0, "dataset %s missing", name);
    hid_t ta = H5Dget_type(da), tb = H5Dget_type(db);
    ck_assert_msg(H5Tequal(ta, tb) > 0, "%s: other type", name);
    hid_t sa = H5Dget_space(da), sb = H5Dget_space(db);
    hsize_t ea[8] = { 0 }, eb[8] = { 0 };
    int ra = H5Sget_simple_extent_dims(sa, ea, NULL), rb = H5Sget_simple_extent_dims(sb, eb, NULL);
    ck_assert_int_eq(ra, rb);
    ck_assert_msg(memcmp(ea, eb, sizeof ea) == 0, "%s: other shape", name);
    hssize_t n = H5Sget_simple_extent_npoints(sa);
    if (H5Tis_variable_str(ta) > 0) {
        char **va = calloc((size_t)n + 1, sizeof *va), **vb = calloc((size_t)n + 1, sizeof *vb);
        if (n > 0) {
            ck_assert(H5Dread(da, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, va) >= 0);
            ck_assert(H5Dread(db, tb, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb) >= 0);
        }
        for (hssize_t i = 0; i < n; i++)
            ck_assert_msg(va[i] && vb[i] && !strcmp(va[i], vb[i]), "%s[%lld] differs", name,
                          (long long)i);
        if (n > 0) {
            H5Dvlen_reclaim(ta, sa, H5P_DEFAULT, va);
            H5Dvlen_reclaim(tb, sb, H5P_DEFAULT, vb);
        }
        free(va);
        free(vb);
    } else {
        size_t bytes = H5Tget_size(ta) * (size_t)n;
        unsigned char *ba = malloc(bytes + 1), *bb = malloc(bytes + 1);
        if (n > 0) {
            ck_assert(H5Dread(da, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, ba) >= 0);
            ck_assert(H5Dread(db, tb, H5S_ALL, H5S_ALL, H5P_DEFAULT, bb) >= 0);
        }
        if (x->tol > 0 && !strncmp(name, "acts/", 5) && H5Tget_class(ta) == H5T_FLOAT &&
            H5Tget_size(ta) == 4) {
            /* |a - b| <= tol (1 + |b|): float32 round-off of other matrix shapes */
            const float *fa = (const float *)ba, *fb = (const float *)bb;
            for (hssize_t i = 0; i < n; i++)
                ck_assert_msg(fabs((double)fa[i] - fb[i]) <= x->tol * (1 + fabs((double)fb[i])),
                              "%s[%lld]: %.9g vs %.9g", name, (long long)i, fa[i], fb[i]);
        } else {
            ck_assert_msg(memcmp(ba, bb, bytes) == 0, "%s: values differ", name);
        }
        free(ba);
        free(bb);
    }
    H5Sclose(sa); H5Sclose(sb); H5Tclose(ta); H5Tclose(tb); H5Dclose(da); H5Dclose(db);
    x->n++;
    return 0;
}

static int same_h5_tol(const char *a, const char *b, double tol)
{
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(fa >= 0 && fb >= 0);
    same_ctx x = { fb, 0, tol };
    ck_assert(H5Lvisit(fa, H5_INDEX_NAME, H5_ITER_NATIVE, same_dataset, &x) >= 0);
    same_ctx y = { fa, 0, tol };   /* and nothing in b that a lacks */
    ck_assert(H5Lvisit(fb, H5_INDEX_NAME, H5_ITER_NATIVE, same_dataset, &y) >= 0);
    ck_assert_int_eq(x.n, y.n);
    H5Fclose(fa);
    H5Fclose(fb);
    return x.n;
}

static int same_h5(const char *a, const char *b) { return same_h5_tol(a, b, 0); }

/* One capture of input (kind) with opt, overlap on or off, into path. */
static void capture_to(strata_model *m, strata_capture_opts opt, int overlap, int kind,
                       const char *input, const char *path)
{
    opt.overlap = overlap;
    opt.mode = STRATA_CAPTURE_OVERWRITE;
    strata_capture *c;
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    int rc = strata_capture_add_file(c, kind, input);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_capture_errmsg(c));
    ck_assert_msg(strata_capture_finish(c) == STRATA_OK, "%s", strata_capture_errmsg(c));
    strata_capture_free(c);
}

/* The writer thread (overlap = 1) writes the same file as a serial capture
 * (overlap = 0), value for value, whatever the layout: float32 rows of every
 * block (serial: written straight from the views), float16 + deflate with
 * positions last, attention patterns (rows as wide as the longest document),
 * per-token and span labels, text, a last partial batch. */
/* A batch of short and long documents runs as forward passes over groups of
 * similar length (capture.c, run_batch); every document's rows are those it
 * gets when it runs alone (batch 1), in both overlap modes, and the rows are
 * in input order.  Activations agree to float32 round-off, not bit for bit:
 * other batch shapes change the blocking of the matrix products (measured
 * here without any grouping too: up to 4e-6 on values up to 20, a few ulps),
 * so rel 1e-5; every other dataset (tokens, rows, offsets) is equal. */
START_TEST(test_capture_length_groups)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    char ids[1024], a[1024], b[1024];
    snprintf(ids, sizeof ids, "%s", tu_tmpfile("groups.txt"));
    snprintf(a, sizeof a, "%s", tu_tmpfile("groups_b1.h5"));
    snprintf(b, sizeof b, "%s", tu_tmpfile("groups_b8.h5"));
    static const int lens[9] = { 3, 40, 5, 38, 1, 41, 2, 39, 77 };
    char line[4096];
    FILE *f = fopen(ids, "w");
    ck_assert_ptr_nonnull(f);
    unsigned x = 12345;
    for (int d = 0; d < 9; d++) {
        int o = 0;
        for (int t = 0; t < lens[d]; t++) {
            x = x * 1103515245u + 12345u;
            o += snprintf(line + o, sizeof line - (size_t)o, "%s%u", t ? " " : "", (x >> 8) % 512);
        }
        fprintf(f, "%s\n", line);
    }
    fclose(f);
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.*.hook_resid_post,blocks.2.attn.hook_pattern";
    for (int ov = 0; ov < 2; ov++) {
        opt.batch = 1;
        capture_to(m, opt, ov, STRATA_INPUT_TOKENS, ids, a);
        opt.batch = 8;   /* {3, 40, 5, 38, 1, 41, 2, 39} -> lengths 38..41 and 1..5, then {77} */
        capture_to(m, opt, ov, STRATA_INPUT_TOKENS, ids, b);
        ck_assert_int_gt(same_h5_tol(a, b, 1e-5), 8);
    }
    strata_acts *r;
    ck_assert_int_eq(strata_acts_open(b, &r), STRATA_OK);
    int64_t off[10];
    ck_assert_int_eq(strata_acts_read_doc_offsets(r, 0, 10, off), STRATA_OK);
    for (int d = 0; d < 9; d++) ck_assert_int_eq(off[d + 1] - off[d], lens[d]);
    strata_acts_close(r);
    strata_model_free(m);
}
END_TEST

START_TEST(test_capture_overlap_same_file)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    char txt[1024], jl[1024], a[1024], b[1024];
    snprintf(txt, sizeof txt, "%s", tu_tmpfile("ov.txt"));
    snprintf(jl, sizeof jl, "%s", tu_tmpfile("ov.jsonl"));
    snprintf(a, sizeof a, "%s", tu_tmpfile("ov_serial.h5"));
    snprintf(b, sizeof b, "%s", tu_tmpfile("ov_overlap.h5"));
    const char *corpus = "Once upon a time\nLily and Tom went to the park.\nThe little dog was sad\n"
                         "She loved to play with her ball in the garden every day\nThe sun was hot.\n"
                         "A big red ball\nTim ran home\n";
    ck_assert_int_eq(tu_write_file(txt, corpus, strlen(corpus)), 0);
    const char *jsonl = "{\"text\": \"Once upon a time\", \"sent\": 1}\n"
                        "{\"text\": \"The dog ran to the park\", \"sent\": 0, \"q\": [[4, 7, 2]]}\n"
                        "{\"text\": \"Lily was happy\", \"sent\": 2.5}\n"
                        "{\"text\": \"Tom and the big tree\", \"sent\": 1, \"q\": [[0, 3, 1]]}\n"
                        "{\"text\": \"A cat\", \"sent\": 0}\n";
    ck_assert_int_eq(tu_write_file(jl, jsonl, strlen(jsonl)), 0);
    strata_capture_opts opt = strata_capture_opts_default();
    /* 1. float32, every position, every block's residual stream; batch 3 of 7. */
    opt.hooks = "blocks.*.hook_resid_post,blocks.1.attn.hook_z[2]";
    opt.batch = 3;
    capture_to(m, opt, 0, STRATA_INPUT_TEXT, txt, a);
    capture_to(m, opt, 1, STRATA_INPUT_TEXT, txt, b);
    ck_assert_int_gt(same_h5(a, b), 8);
    /* 2. float16, deflate, last position, attention patterns, labels. */
    opt.hooks = "blocks.0.hook_resid_post,blocks.1.attn.hook_pattern,blocks.0.mlp.hook_post";
    opt.batch = 2;
    opt.dtype = STRATA_DTYPE_F16;
    opt.compress = 4;
    opt.positions = STRATA_POS_LAST;
    capture_to(m, opt, 0, STRATA_INPUT_JSONL, jl, a);
    capture_to(m, opt, 1, STRATA_INPUT_JSONL, jl, b);
    ck_assert_int_gt(same_h5(a, b), 8);
    /* 3. float32, all positions, span labels, one document per batch. */
    opt.dtype = STRATA_DTYPE_F32;
    opt.compress = 0;
    opt.positions = STRATA_POS_ALL;
    opt.batch = 1;
    capture_to(m, opt, 0, STRATA_INPUT_JSONL, jl, a);
    capture_to(m, opt, 1, STRATA_INPUT_JSONL, jl, b);
    ck_assert_int_gt(same_h5(a, b), 8);
    strata_model_free(m);
}
END_TEST

START_TEST(test_capture_jsonl_labels_and_text)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    strata_tokenizer *tok = strata_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    char jp[1024], path[1024];
    snprintf(jp, sizeof jp, "%s", tu_tmpfile("in.jsonl"));
    snprintf(path, sizeof path, "%s", tu_tmpfile("labels.h5"));
    /* "é" is 2 bytes: spans are in characters.  "quote" spans characters
     * 6..13 = "upon a " of the second text. */
    const char *jl = "{\"text\": \"Once upon a time\", \"sent\": 1, \"id\": \"a\"}\n"
                     "\n"
                     "{\"text\": \"\xc3\xa9t\xc3\xa9 upon a time\", \"sent\": 0, \"quote\": [[4, 11, 2], [11, 13, 3]]}\n";
    ck_assert_int_eq(tu_write_file(jp, jl, strlen(jl)), 0);
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.0.hook_resid_post";
    strata_capture *c;
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    int rc = strata_capture_add_file(c, STRATA_INPUT_JSONL, jp);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_capture_errmsg(c));
    ck_assert_int_eq(strata_capture_finish(c), STRATA_OK);
    strata_capture_free(c);

    const char *t2 = "\xc3\xa9t\xc3\xa9 upon a time";
    int32_t ids[64];
    int64_t offs[128];
    int64_t n1 = strata_tokenize(tok, "Once upon a time", 16, -1, ids, 64, NULL);
    int64_t n2 = strata_tokenize(tok, t2, strlen(t2), -1, ids, 64, offs);
    ck_assert(n1 > 0 && n2 > 0);
    strata_acts *a;
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
    ck_assert_int_eq(strata_acts_n_rows(a), n1 + n2);
    ck_assert_int_eq(strata_acts_n_labels(a), 2); /* "id" (a string) is not a label */
    float lab[128];
    ck_assert_int_eq(strata_acts_read_label(a, "sent", 0, n1 + n2, lab), STRATA_OK);
    for (int64_t r = 0; r < n1 + n2; r++) ck_assert(lab[r] == (r < n1 ? 1.0f : 0.0f));
    ck_assert_int_eq(strata_acts_read_label(a, "quote", 0, n1 + n2, lab), STRATA_OK);
    for (int64_t r = 0; r < n1; r++) ck_assert(lab[r] == 0.0f); /* doc without the field */
    /* Expected per token: character index of its first non-space byte. */
    for (int64_t t = 0; t < n2; t++) {
        int64_t b0 = offs[2 * t], b1 = offs[2 * t + 1];
        float want = 0;
        if (b1 > b0) {
            while (b0 < b1 - 1 && t2[b0] == ' ') b0++;
            int64_t ch = 0;
            for (int64_t i = 0; i < b0; i++) ch += ((unsigned char)t2[i] & 0xC0) != 0x80;
            want = ch >= 4 && ch < 11 ? 2.0f : ch >= 11 && ch < 13 ? 3.0f : 0.0f;
        }
        ck_assert_msg(lab[n1 + t] == want, "token %lld: %g != %g", (long long)t, lab[n1 + t], want);
    }
    /* some token really got each value */
    int has2 = 0, has3 = 0;
    for (int64_t t = 0; t < n2; t++) { has2 |= lab[n1 + t] == 2.0f; has3 |= lab[n1 + t] == 3.0f; }
    ck_assert(has2 && has3);
    strata_acts_close(a);
    /* /docs/text holds the texts */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "docs/text", H5P_DEFAULT);
    hid_t vt = H5Tcopy(H5T_C_S1);
    H5Tset_size(vt, H5T_VARIABLE);
    H5Tset_cset(vt, H5T_CSET_UTF8);
    char *txt[2];
    ck_assert(H5Dread(ds, vt, H5S_ALL, H5S_ALL, H5P_DEFAULT, txt) >= 0);
    ck_assert_str_eq(txt[0], "Once upon a time");
    ck_assert_str_eq(txt[1], t2);
    H5free_memory(txt[0]);
    H5free_memory(txt[1]);
    H5Tclose(vt);
    H5Dclose(ds);
    H5Fclose(f);
    strata_model_free(m);
}
END_TEST

START_TEST(test_capture_bad_inputs)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.0.hook_resid_post";
    strata_capture *c;
    char path[1024], in[1024];
    /* output path not writable */
    ck_assert_int_eq(strata_capture_open(m, "/nonexistent-dir/x.h5", &opt, &c), STRATA_ERR_IO);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "/nonexistent-dir/x.h5"));
    strata_capture_free(c);
    ck_assert_int_eq(strata_capture_open(m, "/proc/strata-x.h5", &opt, &c), STRATA_ERR_IO);
    strata_capture_free(c);
    /* a glob that matches nothing: the message lists valid names */
    snprintf(path, sizeof path, "%s", tu_tmpfile("bad.h5"));
    opt.hooks = "blocks.0.hook_resid_post,blocks.*.hook_nothing";
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "blocks.*.hook_nothing"));
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "blocks.0.hook_resid_pre"));
    strata_capture_free(c);
    opt.hooks = "blocks.0.hook_resid_post";
    /* token id out of range (and negative) */
    static const int32_t bad[] = { 1, 2, 512 }, neg[] = { 1, -3 };
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_tokens(c, bad, 3), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "512"));
    ck_assert_int_eq(strata_capture_add_tokens(c, neg, 2), STRATA_ERR_RANGE);
    strata_capture_free(c);
    unlink(path);
    /* same through a tokens file: the line is named */
    snprintf(in, sizeof in, "%s", tu_tmpfile("bad_ids.txt"));
    ck_assert_int_eq(tu_write_file(in, "1 2 3\n1, 9999\n", 14), 0);
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_TOKENS, in), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "line 2"));
    strata_capture_free(c);
    unlink(path);
    ck_assert_int_eq(tu_write_file(in, "1 2 x\n", 6), 0);
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_TOKENS, in), STRATA_ERR_FORMAT);
    strata_capture_free(c);
    unlink(path);
    /* malformed JSONL lines, each named; nothing is written */
    const char *bad_jsonl[] = {
        "{\"text\": \"a\"}\n{\"text\": \"b\"\n",                 /* truncated object */
        "{\"text\": \"a\"}\n[1, 2]\n",                             /* not an object */
        "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n",                   /* no text */
        "{\"text\": \"a\"}\n{\"text\": \"b\", \"l\": [[0, 1]]}\n", /* span of 2 */
        "{\"text\": \"a\"}\n{\"text\": \"b\", \"l\": [[3, 1, 0]]}\n", /* end < start */
    };
    snprintf(in, sizeof in, "%s", tu_tmpfile("bad.jsonl"));
    for (size_t i = 0; i < sizeof bad_jsonl / sizeof bad_jsonl[0]; i++) {
        ck_assert_int_eq(tu_write_file(in, bad_jsonl[i], strlen(bad_jsonl[i])), 0);
        ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
        ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_JSONL, in), STRATA_ERR_FORMAT);
        ck_assert_msg(strstr(strata_capture_errmsg(c), "line 2") != NULL, "%s",
                      strata_capture_errmsg(c));
        strata_capture_free(c);
        ck_assert_int_ne(access(path, F_OK), 0);
    }
    /* file exists without overwrite/resume */
    static const int32_t good[] = { 1, 403, 407 };
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_tokens(c, good, 3), STRATA_OK);
    ck_assert_int_eq(strata_capture_finish(c), STRATA_OK);
    strata_capture_free(c);
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_ERR_EXISTS);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "--overwrite"));
    strata_capture_free(c);
    /* --resume with other hooks */
    opt.mode = STRATA_CAPTURE_RESUME;
    opt.hooks = "blocks.1.hook_resid_post";
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_tokens(c, good, 3), STRATA_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "other hooks"));
    strata_capture_free(c);
    /* --resume with another model */
    strata_model *m2 = open_model("models/aidreams260K/hf");
    if (m2) {
        opt.hooks = "blocks.0.hook_resid_post";
        ck_assert_int_eq(strata_capture_open(m2, path, &opt, &c), STRATA_OK);
        ck_assert_int_eq(strata_capture_add_tokens(c, good, 3), STRATA_ERR_STATE);
        ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "another model"));
        strata_capture_free(c);
        strata_model_free(m2);
    }
    /* --resume of a file that is not there */
    opt.hooks = "blocks.0.hook_resid_post";
    ck_assert_int_eq(strata_capture_open(m, tu_tmpfile("none.h5"), &opt, &c), STRATA_ERR_NOTFOUND);
    strata_capture_free(c);
    strata_model_free(m);
}
END_TEST

/* {"ids": [...]} JSONL: per-token labels stored row by row (null -> NaN,
 * integer labels as int32), truncation to n_ctx keeps the labels of the kept
 * tokens; errors name the line and the field. */
START_TEST(test_capture_jsonl_ids)
{
    char dir[1024], jp[1024], path[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpfile("ids_model"));
    snprintf(jp, sizeof jp, "%s", tu_tmpfile("ids.jsonl"));
    snprintf(path, sizeof path, "%s", tu_tmpfile("ids.h5"));
    tm_gpt2 *g = tm_gpt2_new(17, 8, 1, 2, 20, 6);   /* V = 20, n_ctx = 6 */
    ck_assert_int_eq(tm_gpt2_write(g, dir), 0);
    tm_gpt2_free(g);
    strata_model *m = NULL;
    ck_assert_int_eq(strata_model_open(dir, NULL, &m), STRATA_OK);
    /* the second document (8 ids) is cut to n_ctx = 6 */
    const char *jl = "{\"ids\": [3, 4, 5], \"pos\": [0, 1, 2], \"x\": [0.5, null, 2], \"doc\": 7, \"note\": \"s\"}\n"
                     "{\"ids\": [1, 2, 3, 4, 5, 6, 7, 8], \"pos\": [0, 1, 2, 3, 4, 5, 6, 7], "
                     "\"x\": [1, 1, 1, 1, 1, 1, 1, 1], \"doc\": 8}\n";
    ck_assert_int_eq(tu_write_file(jp, jl, strlen(jl)), 0);
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.0.hook_resid_post";
    strata_capture *c;
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    int rc = strata_capture_add_file(c, STRATA_INPUT_JSONL, jp);
    ck_assert_msg(rc == STRATA_OK, "%s", strata_capture_errmsg(c));
    ck_assert_int_eq(strata_capture_finish(c), STRATA_OK);
    strata_capture_stats st;
    strata_capture_get_stats(c, &st);
    ck_assert_int_eq(st.truncated, 1);
    strata_capture_free(c);
    strata_acts *a;
    ck_assert_int_eq(strata_acts_open(path, &a), STRATA_OK);
    ck_assert_int_eq(strata_acts_n_rows(a), 9);
    ck_assert_int_eq(strata_acts_n_labels(a), 3);   /* pos, x, doc ("note" is metadata) */
    float lab[9];
    int32_t tk[9];
    static const int32_t want_tok[9] = { 3, 4, 5, 1, 2, 3, 4, 5, 6 };
    ck_assert_int_eq(strata_acts_read_row_tokens(a, 0, 9, tk), STRATA_OK);
    for (int r = 0; r < 9; r++) ck_assert_int_eq(tk[r], want_tok[r]);
    ck_assert_int_eq(strata_acts_read_label(a, "pos", 0, 9, lab), STRATA_OK);
    for (int r = 0; r < 9; r++) ck_assert(lab[r] == (float)(r < 3 ? r : r - 3));
    ck_assert_int_eq(strata_acts_read_label(a, "x", 0, 9, lab), STRATA_OK);
    ck_assert(lab[0] == 0.5f && isnan(lab[1]) && lab[2] == 2.0f);
    for (int r = 3; r < 9; r++) ck_assert(lab[r] == 1.0f);
    ck_assert_int_eq(strata_acts_read_label(a, "doc", 0, 9, lab), STRATA_OK);
    for (int r = 0; r < 9; r++) ck_assert(lab[r] == (r < 3 ? 7.0f : 8.0f));
    strata_acts_close(a);
    /* dtypes: all-integer per-token labels are int32, with a null float32 */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d1 = H5Dopen2(f, "labels/pos", H5P_DEFAULT), d2 = H5Dopen2(f, "labels/x", H5P_DEFAULT);
    hid_t t1 = H5Dget_type(d1), t2 = H5Dget_type(d2);
    ck_assert_int_eq(H5Tget_class(t1), H5T_INTEGER);
    ck_assert_int_eq(H5Tget_class(t2), H5T_FLOAT);
    H5Tclose(t1); H5Tclose(t2); H5Dclose(d1); H5Dclose(d2); H5Fclose(f);

    /* bad documents, each on line 2, named with its field; nothing written */
    struct { const char *line2, *needle; int status; } bad[] = {
        { "{\"ids\": [1, 2], \"pos\": [0, 1, 2]}\n", "\"pos\": 3 values for 2 ids", STRATA_ERR_FORMAT },
        { "{\"ids\": [1, 2], \"pos\": [0, \"a\"]}\n", "\"pos\": element 1", STRATA_ERR_FORMAT },
        { "{\"ids\": [1, 2], \"pos\": [[0, 1, 1], [1, 2, 0]]}\n", "need \"text\"", STRATA_ERR_FORMAT },
        { "{\"ids\": [1, -2]}\n", "\"ids\": element 1", STRATA_ERR_FORMAT },
        { "{\"ids\": [1, 2.5]}\n", "\"ids\": element 1", STRATA_ERR_FORMAT },
        { "{\"ids\": []}\n", "\"ids\" is not a non-empty array", STRATA_ERR_FORMAT },
        { "{\"ids\": [1], \"text\": \"a\"}\n", "both", STRATA_ERR_FORMAT },
        { "{\"text\": \"a b\"}\n", "one kind per file", STRATA_ERR_FORMAT },
        { "{\"ids\": [1, 20]}\n", "token id 20", STRATA_ERR_RANGE },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "{\"ids\": [1, 2, 3], \"pos\": [0, 1, 2]}\n%s", bad[i].line2);
        ck_assert_int_eq(tu_write_file(jp, buf, strlen(buf)), 0);
        opt.mode = STRATA_CAPTURE_OVERWRITE;
        unlink(path);
        ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
        ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_JSONL, jp), bad[i].status);
        const char *msg = strata_capture_errmsg(c);
        ck_assert_msg(strstr(msg, "line 2") && strstr(msg, bad[i].needle), "case %zu: %s", i, msg);
        strata_capture_free(c);
        if (bad[i].status == STRATA_ERR_FORMAT) ck_assert_int_ne(access(path, F_OK), 0);
    }
    /* the C API checks the count against the document too */
    static const int32_t ids3[3] = { 1, 2, 3 };
    static const double two[2] = { 0, 1 };
    const char *nm[1] = { "pos" };
    opt.n_labels = 1;
    opt.label_names = nm;
    unlink(path);
    ck_assert_int_eq(strata_capture_open(m, path, &opt, &c), STRATA_OK);
    strata_capture_label l = { .name = "pos", .values = two, .n_values = 2 };
    strata_capture_doc doc = { .tokens = ids3, .n_tokens = 3, .labels = &l, .n_labels = 1 };
    ck_assert_int_eq(strata_capture_add_doc(c, &doc), STRATA_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(strata_capture_errmsg(c), "2 per-token values for 3 tokens"));
    strata_capture_free(c);
    strata_model_free(m);
}
END_TEST

/* A progress callback that stops after the second batch: an interrupted
 * capture, then resumed; the result equals an uninterrupted capture. */
static int stop_after_two(const strata_capture_progress *p, void *user)
{
    (void)user;
    return p->docs_done >= 4;
}

START_TEST(test_capture_stop_and_resume)
{
    strata_model *m = open_model("models/stories260K/hf");
    if (!m) return;
    char in[1024], a_path[1024], b_path[1024];
    snprintf(in, sizeof in, "%s", tu_tmpfile("corpus.txt"));
    snprintf(a_path, sizeof a_path, "%s", tu_tmpfile("full.h5"));
    snprintf(b_path, sizeof b_path, "%s", tu_tmpfile("resumed.h5"));
    const char *corpus = "Once upon a time\nLily and Tom went to the park.\nThe little dog was sad\n"
                         "She loved to play\nThe sun was hot.\nA big red ball\nTim ran home\n";
    ck_assert_int_eq(tu_write_file(in, corpus, strlen(corpus)), 0);
    strata_capture_opts opt = strata_capture_opts_default();
    opt.hooks = "blocks.*.hook_resid_post";
    opt.batch = 2;
    opt.dtype = STRATA_DTYPE_F16;
    opt.compress = 4;
    strata_capture *c;
    ck_assert_int_eq(strata_capture_open(m, a_path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_TEXT, in), STRATA_OK);
    ck_assert_int_eq(strata_capture_finish(c), STRATA_OK);
    strata_capture_free(c);
    opt.progress = stop_after_two;
    ck_assert_int_eq(strata_capture_open(m, b_path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_TEXT, in), STRATA_STOPPED);
    strata_capture_free(c);
    strata_acts *a;
    ck_assert_int_eq(strata_acts_open(b_path, &a), STRATA_OK);
    ck_assert_int_eq(strata_acts_complete(a), 0);
    int64_t part = strata_acts_n_rows(a);
    ck_assert(part > 0);
    strata_acts_close(a);
    opt.progress = NULL;
    opt.mode = STRATA_CAPTURE_RESUME;
    ck_assert_int_eq(strata_capture_open(m, b_path, &opt, &c), STRATA_OK);
    ck_assert_int_eq(strata_capture_add_file(c, STRATA_INPUT_TEXT, in), STRATA_OK);
    ck_assert_int_eq(strata_capture_n_done(c), 4);
    ck_assert_int_eq(strata_capture_finish(c), STRATA_OK);
    strata_capture_stats st;
    strata_capture_get_stats(c, &st);
    ck_assert_int_eq(st.docs, 7);
    ck_assert_int_eq(st.docs_skipped, 4);
    strata_capture_free(c);
    strata_acts *x, *y;
    ck_assert_int_eq(strata_acts_open(a_path, &x), STRATA_OK);
    ck_assert_int_eq(strata_acts_open(b_path, &y), STRATA_OK);
    ck_assert_int_eq(strata_acts_complete(y), 1);
    int64_t n = strata_acts_n_rows(x);
    ck_assert_int_eq(strata_acts_n_rows(y), n);
    float *u = malloc(sizeof(float) * (size_t)n * 64), *v = malloc(sizeof(float) * (size_t)n * 64);
    for (int h = 0; h < strata_acts_n_hooks(x); h++) {
        const char *hn = strata_acts_hook(x, h);
        ck_assert_int_eq(strata_acts_read(x, hn, 0, n, u), STRATA_OK);
        ck_assert_int_eq(strata_acts_read(y, hn, 0, n, v), STRATA_OK);
        ck_assert(memcmp(u, v, sizeof(float) * (size_t)n * 64) == 0);
    }
    int32_t *tx = malloc(sizeof(int32_t) * (size_t)n), *ty = malloc(sizeof(int32_t) * (size_t)n);
    ck_assert_int_eq(strata_acts_read_row_tokens(x, 0, n, tx), STRATA_OK);
    ck_assert_int_eq(strata_acts_read_row_tokens(y, 0, n, ty), STRATA_OK);
    ck_assert(memcmp(tx, ty, sizeof(int32_t) * (size_t)n) == 0);
    free(tx);
    free(ty);
    free(u);
    free(v);
    strata_acts_close(x);
    strata_acts_close(y);
    strata_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, test_store_round_trip_f32);
    tcase_add_test(tc, test_float16);
    tcase_add_test(tc, test_store_resume);
    tcase_add_test(tc, test_reader_refusals);
    tcase_add_test(tc, test_store_one_writer);
    tcase_add_test(tc, test_store_regular_files_only);
    tcase_add_test(tc, test_out_can_create);
    tcase_add_test(tc, test_store_offsets_checked);
    tcase_add_test(tc, test_store_resume_is_read_only_until_written);
    tcase_add_test(tc, test_store_provenance);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("driver");
    tcase_set_timeout(tm, 300);
    tcase_add_test(tm, test_capture_reference);
    tcase_add_test(tm, test_capture_bit_exact_positions);
    tcase_add_test(tm, test_capture_direct_rows);
    tcase_add_test(tm, test_capture_overlap_same_file);
    tcase_add_test(tm, test_capture_length_groups);
    tcase_add_test(tm, test_capture_jsonl_labels_and_text);
    tcase_add_test(tm, test_capture_bad_inputs);
    tcase_add_test(tm, test_capture_stop_and_resume);
    tcase_add_test(tm, test_capture_jsonl_ids);
    suite_add_tcase(s, tm);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
