/* tests/test_loader.c — loading Hugging Face model directories, good and bad.
 *
 * Every broken directory is written by the test (tests/tiny_model.h: a tiny
 * random GPT-2, d 16, 2 layers) into tu_tmpdir(), one defect per test.  Each
 * must give a negative status and a message (strata_errmsg) that names the
 * file and the tensor or field at fault; the handle still comes back and is
 * freed.  The suite runs clean under -DSTRATA_SANITIZE=ON (ASan + UBSan) and
 * valgrind, which is how "no crash, no leak" is checked.
 *
 * The good cases: F32 weights are used in place (the pointer lies inside the
 * file's mmap, per /proc/self/maps); F16, BF16 and mixed-dtype files are
 * converted exactly (bit-identical to the half -> float conversion); a
 * sharded checkpoint opens.
 */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include "model/arch.h"             /* config parsers of one family, directly */
#include "model/model_internal.h"   /* weight pointers, for the zero-copy check */
#include "strata/model.h"
#include "testutil.h"
#include "tiny_model.h"
#include "util/half.h"

enum { D = 16, NL = 2, NH = 2, V = 23, NCTX = 16, MAXT = 4 + 12 * NL };

/* A fresh directory <tmp>/<name>; returns a static copy of its path. */
static const char *case_dir(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/%s", tu_tmpdir(), name);
    mkdir(p, 0755);
    return p;
}

static void write_config_text(const char *dir, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_int_eq(tm_write_text(path, text), 0);
}

static void write_config(const char *dir, const tm_gpt2 *g, const char *model_type, const char *omit)
{
    char cfg[1024];
    tm_gpt2_config(g, model_type, omit, cfg, sizeof cfg);
    write_config_text(dir, cfg);
}

static void write_weights(const char *dir, const char *file, tm_tensor *ts, int n, uint64_t hlen, size_t trunc)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    ck_assert_int_eq(tm_write_safetensors(path, ts, n, hlen, trunc), 0);
}

static tm_gpt2 *tiny(void) { return tm_gpt2_new(1234, D, NL, NH, V, NCTX); }

static tm_tensor *find(tm_tensor *ts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(ts[i].name, name)) return &ts[i];
    ck_abort_msg("no tensor %s", name);
    return NULL;
}

/* Opens dir, which must fail with status want (0: any error); the message
 * must contain each non-NULL needle. */
static void expect_fail(const char *dir, int want, const char *n1, const char *n2, const char *n3)
{
    strata_model *m = NULL;
    int rc = strata_model_open(dir, NULL, &m);
    ck_assert_ptr_nonnull(m);
    const char *msg = strata_errmsg(m);
    fprintf(stderr, "  [%s] -> %d %s\n", strrchr(dir, '/') + 1, rc, msg);
    ck_assert_msg(rc < 0, "%s opened (rc %d)", dir, rc);
    if (want) ck_assert_msg(rc == want, "%s: rc %d, want %d (%s)", dir, rc, want, msg);
    const char *needles[3] = { n1, n2, n3 };
    for (int i = 0; i < 3; i++)
        if (needles[i]) ck_assert_msg(strstr(msg, needles[i]), "message lacks '%s': %s", needles[i], msg);
    strata_model_free(m);
}

/* A good model as a baseline: proves the defect, not the writer, is what fails. */
static void write_good(const char *dir, tm_gpt2 *g)
{
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts);
    write_config(dir, g, "gpt2", NULL);
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
}

START_TEST(good_model_opens)
{
    tm_gpt2 *g = tiny();
    const char *dir = case_dir("good");
    write_good(dir, g);
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(dir, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    const strata_config *c = strata_model_config(m);
    ck_assert_int_eq(c->d_model, D);
    ck_assert_int_eq(c->n_layers, NL);
    ck_assert_int_eq(c->vocab_size, V);
    ck_assert_str_eq(strata_model_format(m), "hf");
    ck_assert_str_eq(strata_errmsg(m), "");
    int32_t toks[3] = { 1, 2, 3 }, len = 3;
    float logits[3 * V];
    ck_assert_int_eq(strata_run(m, toks, &len, 1, logits), STRATA_OK);
    strata_model_free(m);
    strata_model_free(NULL);
    tm_gpt2_free(g);
}
END_TEST

/* ---------------- safetensors defects ---------------- */

START_TEST(truncated_file)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts);
    /* cut inside the data region: the last tensors' offsets run past the end */
    const char *dir = case_dir("truncated");
    write_config(dir, g, "gpt2", NULL);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(tm_write_safetensors(path, ts, n, 0, 0), 0);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    n = tm_gpt2_tensors(g, ts);
    write_weights(dir, "model.safetensors", ts, n, 0, (size_t)sb.st_size - 100);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "'ln_f.", "out of range");
    /* cut inside the header */
    dir = case_dir("truncated_header");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    write_weights(dir, "model.safetensors", ts, n, 0, 200);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "header length", NULL);
    /* fewer than 8 bytes, and an empty file */
    dir = case_dir("truncated_5");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    write_weights(dir, "model.safetensors", ts, n, 0, 5);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "truncated", NULL);
    dir = case_dir("empty");
    write_config(dir, g, "gpt2", NULL);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(tm_write_text(path, ""), 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "truncated", NULL);
    tm_gpt2_free(g);
}
END_TEST

START_TEST(header_length_beyond_file)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    uint64_t lens[3] = { 1ull << 40, UINT64_MAX, 0 };   /* 0 -> real length + 1 below */
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "hlen_%d", i);
        const char *dir = case_dir(name);
        write_config(dir, g, "gpt2", NULL);
        int n = tm_gpt2_tensors(g, ts);
        if (!lens[i]) {   /* just past the end of the file */
            char path[1200];
            snprintf(path, sizeof path, "%s/model.safetensors", dir);
            ck_assert_int_eq(tm_write_safetensors(path, ts, n, 0, 0), 0);
            struct stat sb;
            stat(path, &sb);
            n = tm_gpt2_tensors(g, ts);
            lens[i] = (uint64_t)sb.st_size - 8 + 1;
        }
        write_weights(dir, "model.safetensors", ts, n, lens[i], 0);
        expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "header length", "past the end");
    }
    tm_gpt2_free(g);
}
END_TEST

START_TEST(header_not_json)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts);
    const char *dir = case_dir("hdr_garbage");
    write_config(dir, g, "gpt2", NULL);
    /* a real header length, but header bytes claimed short: JSON cut mid-way */
    write_weights(dir, "model.safetensors", ts, n, 40, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "header", NULL);
    /* an entry without dtype */
    dir = case_dir("hdr_nodtype");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    /* (a later duplicate key wins in the header: "dtype": 3, not a string) */
    find(ts, n, "h.0.ln_2.bias")->dtype = "F32\",\"dtype\":3,\"x\":\"";
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.0.ln_2.bias", "dtype");
    /* negative shape */
    dir = case_dir("hdr_negshape");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    find(ts, n, "h.1.ln_1.weight")->shape[0] = -16;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.1.ln_1.weight", NULL);
    tm_gpt2_free(g);
}
END_TEST

START_TEST(offsets_out_of_range)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts);
    const char *dir = case_dir("offsets_range");
    write_config(dir, g, "gpt2", NULL);
    tm_tensor *t = find(ts, n, "h.1.mlp.c_fc.weight");
    t->off_b = 1000000000;
    t->off_e = 1000000000 + (int64_t)t->nbytes;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.1.mlp.c_fc.weight", "out of range");
    /* end before begin */
    dir = case_dir("offsets_reversed");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    t = find(ts, n, "h.0.attn.c_proj.bias");
    t->off_b = 64;
    t->off_e = 0;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.0.attn.c_proj.bias", NULL);
    /* negative begin */
    dir = case_dir("offsets_negative");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    t = find(ts, n, "ln_f.weight");
    t->off_b = -64;
    t->off_e = 0;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "ln_f.weight", NULL);
    tm_gpt2_free(g);
}
END_TEST

START_TEST(offsets_overlap)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    /* identical ranges */
    int n = tm_gpt2_tensors(g, ts);
    const char *dir = case_dir("overlap_same");
    write_config(dir, g, "gpt2", NULL);
    tm_tensor *w = find(ts, n, "wte.weight");   /* first: laid out at 0 */
    w->off_b = 0;
    w->off_e = (int64_t)w->nbytes;
    tm_tensor *b = find(ts, n, "h.0.ln_1.bias");
    b->off_b = 0;
    b->off_e = (int64_t)b->nbytes;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.0.ln_1.bias", "overlap");
    /* partial overlap of two neighbours */
    dir = case_dir("overlap_partial");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    tm_write_safetensors("/dev/null", ts, n, 0, 0);   /* fills in the offsets */
    tm_tensor *a = find(ts, n, "h.1.ln_2.weight"), *c = find(ts, n, "h.1.ln_2.bias");
    c->off_b = a->off_b + 4;
    c->off_e = c->off_b + (int64_t)c->nbytes;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.1.ln_2.weight", "overlap");
    tm_gpt2_free(g);
}
END_TEST

START_TEST(shape_dtype_length_mismatch)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts);
    const char *dir = case_dir("nbytes_short");
    write_config(dir, g, "gpt2", NULL);
    find(ts, n, "h.0.mlp.c_fc.bias")->nbytes -= 4;   /* shape [64] F32 = 256 bytes, span 252 */
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.0.mlp.c_fc.bias", "252");
    /* F16 declared over F32 bytes */
    dir = case_dir("nbytes_dtype");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    find(ts, n, "wpe.weight")->dtype = "F16";
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "wpe.weight", "bytes");
    tm_gpt2_free(g);
}
END_TEST

START_TEST(unknown_dtype)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    const char *dts[] = { "F64", "I8", "Q4", "" };
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "dtype_%d", i);
        const char *dir = case_dir(name);
        write_config(dir, g, "gpt2", NULL);
        int n = tm_gpt2_tensors(g, ts);
        tm_tensor *t = find(ts, n, "h.1.attn.c_attn.weight");
        t->dtype = dts[i];
        void *payload = calloc(2, t->nbytes);   /* byte length consistent with the dtype */
        t->data = payload;
        if (!strcmp(dts[i], "F64")) t->nbytes *= 2;
        else if (!strcmp(dts[i], "I8")) t->nbytes /= 4;
        write_weights(dir, "model.safetensors", ts, n, 0, 0);
        free(payload);
        expect_fail(dir, 0, "model.safetensors", "h.1.attn.c_attn.weight", dts[i]);
        if (i < 2) expect_fail(dir, STRATA_ERR_UNSUPPORTED, "dtype", NULL, NULL);
    }
    tm_gpt2_free(g);
}
END_TEST

START_TEST(missing_tensor)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    const char *names[] = { "h.1.mlp.c_fc.weight", "wpe.weight", "ln_f.bias", "h.0.attn.c_attn.bias" };
    for (int i = 0; i < 4; i++) {
        char cname[32];
        snprintf(cname, sizeof cname, "missing_%d", i);
        const char *dir = case_dir(cname);
        write_config(dir, g, "gpt2", NULL);
        int n = tm_gpt2_tensors(g, ts), k = 0;
        for (int j = 0; j < n; j++)
            if (strcmp(ts[j].name, names[i])) ts[k++] = ts[j];
        ck_assert_int_eq(k, n - 1);
        write_weights(dir, "model.safetensors", ts, k, 0, 0);
        expect_fail(dir, STRATA_ERR_NOTFOUND, "model.safetensors", names[i], "missing");
    }
    tm_gpt2_free(g);
}
END_TEST

START_TEST(shape_contradicts_config)
{
    tm_gpt2 *g = tiny();
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts);
    /* c_attn stored [3d][d] (nn.Linear layout) instead of Conv1D [d][3d] */
    const char *dir = case_dir("shape_transposed");
    write_config(dir, g, "gpt2", NULL);
    tm_tensor *t = find(ts, n, "h.0.attn.c_attn.weight");
    t->shape[0] = 3 * D;
    t->shape[1] = D;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.0.attn.c_attn.weight", "[48, 16]");
    /* config.json says a bigger vocabulary than wte holds */
    dir = case_dir("shape_vocab");
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{\"model_type\":\"gpt2\",\"n_embd\":%d,\"n_layer\":%d,\"n_head\":%d,"
             "\"vocab_size\":%d,\"n_positions\":%d}", D, NL, NH, V + 1, NCTX);
    write_config_text(dir, cfg);
    n = tm_gpt2_tensors(g, ts);
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "wte.weight", "config.json", "[24, 16]");
    /* one more layer in config.json than in the file: that layer's tensors are missing */
    dir = case_dir("shape_layers");
    snprintf(cfg, sizeof cfg, "{\"model_type\":\"gpt2\",\"n_embd\":%d,\"n_layer\":%d,\"n_head\":%d,"
             "\"vocab_size\":%d,\"n_positions\":%d}", D, NL + 1, NH, V, NCTX);
    write_config_text(dir, cfg);
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_NOTFOUND, "model.safetensors", "h.2.", NULL);
    /* a 1-d tensor stored as 2-d */
    dir = case_dir("shape_rank");
    write_config(dir, g, "gpt2", NULL);
    n = tm_gpt2_tensors(g, ts);
    t = find(ts, n, "h.1.ln_2.weight");
    t->ndim = 2;
    t->shape[0] = 1;
    t->shape[1] = D;
    write_weights(dir, "model.safetensors", ts, n, 0, 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors", "h.1.ln_2.weight", "[1, 16]");
    tm_gpt2_free(g);
}
END_TEST

/* ---------------- config.json defects ---------------- */

START_TEST(missing_config_field)
{
    tm_gpt2 *g = tiny();
    const char *fields[] = { "n_head", "n_embd", "vocab_size", "n_positions", "n_layer" };
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "nofield_%d", i);
        const char *dir = case_dir(name);
        write_good(dir, g);
        write_config(dir, g, "gpt2", fields[i]);
        expect_fail(dir, STRATA_ERR_FORMAT, "config.json", fields[i], "missing");
    }
    const char *dir = case_dir("no_model_type");
    write_good(dir, g);
    write_config_text(dir, "{\"n_embd\":16}");
    expect_fail(dir, STRATA_ERR_FORMAT, "config.json", "model_type", NULL);
    /* wrong types and impossible values name the field too */
    dir = case_dir("field_type");
    write_good(dir, g);
    write_config_text(dir, "{\"model_type\":\"gpt2\",\"n_embd\":\"16\",\"n_layer\":2,\"n_head\":2,"
                           "\"vocab_size\":23,\"n_positions\":16}");
    expect_fail(dir, STRATA_ERR_FORMAT, "config.json", "n_embd", NULL);
    dir = case_dir("field_indivisible");
    write_good(dir, g);
    write_config_text(dir, "{\"model_type\":\"gpt2\",\"n_embd\":16,\"n_layer\":2,\"n_head\":3,"
                           "\"vocab_size\":23,\"n_positions\":16}");
    expect_fail(dir, STRATA_ERR_FORMAT, "config.json", "n_head", NULL);
    dir = case_dir("field_negative");
    write_good(dir, g);
    write_config_text(dir, "{\"model_type\":\"gpt2\",\"n_embd\":16,\"n_layer\":-2,\"n_head\":2,"
                           "\"vocab_size\":23,\"n_positions\":16}");
    expect_fail(dir, STRATA_ERR_FORMAT, "config.json", NULL, NULL);
    /* llama and neox configs too */
    dir = case_dir("field_llama");
    write_good(dir, g);
    write_config_text(dir, "{\"model_type\":\"llama\",\"hidden_size\":16,\"num_hidden_layers\":2,"
                           "\"num_attention_heads\":2,\"vocab_size\":23,\"max_position_embeddings\":16}");
    expect_fail(dir, STRATA_ERR_FORMAT, "config.json", "intermediate_size", NULL);
    dir = case_dir("field_neox");
    write_good(dir, g);
    write_config_text(dir, "{\"model_type\":\"gpt_neox\",\"hidden_size\":16,\"num_hidden_layers\":2,"
                           "\"intermediate_size\":64,\"vocab_size\":23,\"max_position_embeddings\":16}");
    expect_fail(dir, STRATA_ERR_FORMAT, "config.json", "num_attention_heads", NULL);
    tm_gpt2_free(g);
}
END_TEST

START_TEST(unknown_model_type)
{
    tm_gpt2 *g = tiny();
    const char *dir = case_dir("bert");
    write_good(dir, g);
    write_config(dir, g, "bert", NULL);
    expect_fail(dir, STRATA_ERR_UNSUPPORTED, "config.json", "'bert'", "gpt2");
    tm_gpt2_free(g);
}
END_TEST

START_TEST(config_not_json)
{
    tm_gpt2 *g = tiny();
    const char *bad[] = { "{ model_type: gpt2 }", "{\"model_type\":\"gpt2\",", "", "\xff\xfe{}",
                          "[1, 2, 3]", "{\"model_type\":\"gpt2\",\"model_type\":\"llama\"}" };
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "notjson_%d", i);
        const char *dir = case_dir(name);
        write_good(dir, g);
        write_config_text(dir, bad[i]);
        expect_fail(dir, STRATA_ERR_FORMAT, "config.json", NULL, NULL);
    }
    /* no config.json at all */
    const char *dir = case_dir("noconfig");
    write_good(dir, g);
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    expect_fail(dir, STRATA_ERR_IO, "config.json", NULL, NULL);
    /* neither a directory nor a GGUF file; a path that does not exist */
    snprintf(path, sizeof path, "%s/model.safetensors", case_dir("good2"));
    write_good(case_dir("good2"), g);
    expect_fail(path, STRATA_ERR_FORMAT, "model.safetensors", NULL, NULL);
    expect_fail("/nonexistent/strata/model", STRATA_ERR_IO, "/nonexistent/strata/model", NULL, NULL);
    strata_model *m = NULL;
    ck_assert_int_eq(strata_model_open(NULL, NULL, &m), STRATA_ERR_ARG);
    strata_model_free(m);
    tm_gpt2_free(g);
}
END_TEST

/* ---------------- sharded checkpoints ---------------- */

/* Writes the tiny model as two shards + index; `index_extra` replaces the
 * weight map when non-NULL. */
static void write_sharded(const char *dir, tm_gpt2 *g, int write_second, const char *extra_entry)
{
    tm_tensor ts[MAXT];
    int n = tm_gpt2_tensors(g, ts), half = n / 2;
    write_config(dir, g, "gpt2", NULL);
    write_weights(dir, "model-00001-of-00002.safetensors", ts, half, 0, 0);
    if (write_second) write_weights(dir, "model-00002-of-00002.safetensors", ts + half, n - half, 0, 0);
    size_t cap = 65536, o = 0;
    char *j = malloc(cap);
    o += snprintf(j + o, cap - o, "{\"metadata\":{\"total_size\":0},\"weight_map\":{");
    for (int i = 0; i < n; i++)
        o += snprintf(j + o, cap - o, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"", i ? "," : "",
                      ts[i].name, i < half ? 1 : 2);
    if (extra_entry) o += snprintf(j + o, cap - o, ",%s", extra_entry);
    snprintf(j + o, cap - o, "}}");
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    ck_assert_int_eq(tm_write_text(path, j), 0);
    free(j);
}

START_TEST(sharded_ok_and_missing_shard)
{
    tm_gpt2 *g = tiny();
    const char *dir = case_dir("sharded_ok");
    write_sharded(dir, g, 1, NULL);
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(dir, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    ck_assert(m->tok_embed[0] == g->wte[0] && m->layers[1].mlp_out.b[D - 1] == g->out_b[1][D - 1]);
    strata_model_free(m);

    dir = case_dir("sharded_missing");
    write_sharded(dir, g, 0, NULL);
    expect_fail(dir, STRATA_ERR_IO, "model.safetensors.index.json", "model-00002-of-00002.safetensors", "missing");
    /* the index names a tensor its shard does not hold */
    dir = case_dir("sharded_wrong_entry");
    write_sharded(dir, g, 1, "\"h.9.mlp.c_fc.weight\":\"model-00001-of-00002.safetensors\"");
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors.index.json", "h.9.mlp.c_fc.weight", NULL);
    /* a shard path escaping the directory */
    dir = case_dir("sharded_escape");
    write_sharded(dir, g, 1, "\"x\":\"../model.safetensors\"");
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors.index.json", "../model.safetensors", NULL);
    /* the index is not JSON / has no weight_map */
    dir = case_dir("sharded_badindex");
    write_sharded(dir, g, 1, NULL);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    ck_assert_int_eq(tm_write_text(path, "{\"metadata\":{}}"), 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors.index.json", "weight_map", NULL);
    ck_assert_int_eq(tm_write_text(path, "{\"weight_map\":"), 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model.safetensors.index.json", NULL, NULL);
    /* a shard that is itself broken names the shard */
    dir = case_dir("sharded_badshard");
    write_sharded(dir, g, 1, NULL);
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
    ck_assert_int_eq(tm_write_text(path, "abc"), 0);
    expect_fail(dir, STRATA_ERR_FORMAT, "model-00002-of-00002.safetensors", NULL, NULL);
    /* no weights at all */
    dir = case_dir("no_weights");
    write_config(dir, g, "gpt2", NULL);
    expect_fail(dir, STRATA_ERR_IO, "model.safetensors", NULL, NULL);
    tm_gpt2_free(g);
}
END_TEST

/* ---------------- dtypes and zero copy ---------------- */

/* 1 if p lies in a mapping of a file whose path ends with `suffix`. */
static int in_file_mapping(const void *p, const char *suffix)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[4096];
    int found = 0;
    uintptr_t a = (uintptr_t)p;
    while (!found && fgets(line, sizeof line, f)) {
        uintptr_t lo, hi;
        char path[4096] = "";
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %4095s", &lo, &hi, path) < 2) continue;
        size_t pl = strlen(path), sl = strlen(suffix);
        if (a >= lo && a < hi && pl >= sl && !strcmp(path + pl - sl, suffix)) found = 1;
    }
    fclose(f);
    return found;
}

START_TEST(f32_zero_copy)
{
    tm_gpt2 *g = tiny();
    const char *dir = case_dir("zerocopy");
    write_good(dir, g);
    strata_model *m = NULL;
    ck_assert_msg(strata_model_open(dir, NULL, &m) == STRATA_OK, "%s", strata_errmsg(m));
    char suffix[1200];
    snprintf(suffix, sizeof suffix, "%s/model.safetensors", strrchr(dir, '/'));
    const float *ptrs[] = { m->tok_embed, m->pos_embed, m->layers[0].q.w, m->layers[1].mlp_out.w,
                            m->layers[1].ln2.b, m->ln_final.w, m->unembed };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        ck_assert_msg(in_file_mapping(ptrs[i], suffix) == 1, "weight %zu is not inside the mmap of %s", i, suffix);
    ck_assert_ptr_eq(m->unembed, m->tok_embed);   /* tied */
    ck_assert(!memcmp(m->tok_embed, g->wte, sizeof(float) * V * D));
    ck_assert(!memcmp(m->layers[1].mlp_in.w, g->fc_w[1], sizeof(float) * D * 4 * D));
    /* q, k, v are column blocks of the one c_attn matrix */
    ck_assert_ptr_eq(m->layers[0].k.w, m->layers[0].q.w + D);
    ck_assert_ptr_eq(m->layers[0].v.w, m->layers[0].q.w + 2 * D);
    strata_model_free(m);
    tm_gpt2_free(g);
}
END_TEST

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* F16, BF16 and a file mixing F16/BF16/F32 tensors: converted values equal
 * the exact half -> float conversion; the forward pass runs and stays close
 * to the F32 model's (the difference is the weight rounding). */
START_TEST(half_dtypes_load)
{
    tm_gpt2 *g = tiny();
    const char *kinds[3] = { "F16", "BF16", "mixed" };
    float ref_logits[4 * V];
    {
        const char *dir = case_dir("f32ref");
        write_good(dir, g);
        strata_model *m = NULL;
        ck_assert_int_eq(strata_model_open(dir, NULL, &m), STRATA_OK);
        int32_t toks[4] = { 3, 1, 4, 1 }, len = 4;
        ck_assert_int_eq(strata_run(m, toks, &len, 1, ref_logits), STRATA_OK);
        strata_model_free(m);
    }
    for (int kind = 0; kind < 3; kind++) {
        tm_tensor ts[MAXT];
        int n = tm_gpt2_tensors(g, ts);
        uint16_t *bufs[MAXT] = { 0 };
        for (int i = 0; i < n; i++) {
            int dt = kind < 2 ? kind : i % 3;   /* 0 F16, 1 BF16, 2 F32 */
            if (dt == 2) continue;
            size_t cnt = ts[i].nbytes / 4;
            bufs[i] = malloc(2 * cnt);
            const float *src = ts[i].data;
            for (size_t k = 0; k < cnt; k++) bufs[i][k] = dt == 0 ? st_f32_to_f16(src[k]) : to_bf16(src[k]);
            ts[i].data = bufs[i];
            ts[i].nbytes = 2 * cnt;
            ts[i].dtype = dt == 0 ? "F16" : "BF16";
        }
        char name[32];
        snprintf(name, sizeof name, "dtype_%s", kinds[kind]);
        const char *dir = case_dir(name);
        write_config(dir, g, "gpt2", NULL);
        write_weights(dir, "model.safetensors", ts, n, 0, 0);
        strata_model *m = NULL;
        ck_assert_msg(strata_model_open(dir, NULL, &m) == STRATA_OK, "%s: %s", kinds[kind], strata_errmsg(m));
        /* wte is tensor 0, c_fc weight of layer 1 is somewhere in the middle */
        n = tm_gpt2_tensors(g, ts);
        struct { const float *got; const char *name; } chk[] = {
            { m->tok_embed, "wte.weight" }, { m->layers[1].mlp_in.w, "h.1.mlp.c_fc.weight" },
            { m->layers[0].ln1.b, "h.0.ln_1.bias" }, { m->ln_final.w, "ln_f.weight" } };
        for (size_t c = 0; c < 4; c++) {
            int i = (int)(find(ts, n, chk[c].name) - ts);
            int dt = kind < 2 ? kind : i % 3;
            const float *src = ts[i].data;
            for (size_t k = 0; k < ts[i].nbytes / 4; k++) {
                float want = dt == 0 ? st_f16_to_f32(st_f32_to_f16(src[k]))
                           : dt == 1 ? st_bf16_to_f32(to_bf16(src[k])) : src[k];
                ck_assert_msg(chk[c].got[k] == want, "%s %s[%zu]: %g != %g", kinds[kind], chk[c].name, k,
                              chk[c].got[k], want);
            }
            if (dt != 2) ck_assert_int_eq(in_file_mapping(chk[c].got, "model.safetensors"), 0);
        }
        int32_t toks[4] = { 3, 1, 4, 1 }, len = 4;
        float logits[4 * V];
        ck_assert_int_eq(strata_run(m, toks, &len, 1, logits), STRATA_OK);
        double tol = kind == 0 ? 0.05 : 0.5;   /* F16: 11-bit, BF16: 8-bit mantissas */
        ck_assert(tu_check_close(kinds[kind], logits, ref_logits, 4 * V, tol));
        strata_model_free(m);
        for (int i = 0; i < MAXT; i++) free(bufs[i]);
    }
    tm_gpt2_free(g);
}
END_TEST

/* ---------------- runtime argument checks ---------------- */

START_TEST(run_argument_errors)
{
    tm_gpt2 *g = tiny();
    const char *dir = case_dir("args");
    write_good(dir, g);
    strata_model *m = NULL;
    ck_assert_int_eq(strata_model_open(dir, NULL, &m), STRATA_OK);
    int32_t toks[4] = { 1, 2, V, 4 }, len = 4, zero = 0, big = NCTX + 1;
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(m), "token id 23"));
    toks[2] = -1;
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_ERR_RANGE);
    toks[2] = 3;
    ck_assert_int_eq(strata_run(m, toks, &zero, 1, NULL), STRATA_ERR_RANGE);
    int32_t *long_toks = calloc(NCTX + 1, sizeof(int32_t));
    ck_assert_int_eq(strata_run(m, long_toks, &big, 1, NULL), STRATA_ERR_RANGE);
    free(long_toks);
    ck_assert_int_eq(strata_run(m, toks, &len, 0, NULL), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_run(m, NULL, &len, 1, NULL), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_run(NULL, toks, &len, 1, NULL), STRATA_ERR_ARG);
    strata_run_opts o = { .logits = 3 };
    float out[V];
    ck_assert_int_eq(strata_run_v2(m, toks, &len, 1, &o, out), STRATA_ERR_ARG);
    o.logits = 2;
    ck_assert_int_eq(strata_run_v2(m, toks, &len, 1, &o, NULL), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_run(m, toks, &len, 1, NULL), STRATA_OK);
    ck_assert_str_eq(strata_errmsg(m), "");
    int32_t gen[20];
    ck_assert_int_eq(strata_generate(m, toks, 4, NCTX, gen), STRATA_ERR_RANGE);
    ck_assert_int_eq(strata_generate(m, toks, 4, -1, gen), STRATA_ERR_ARG);
    ck_assert_int_eq(strata_model_set_threads(m, -1), STRATA_ERR_ARG);
    strata_model_free(m);
    tm_gpt2_free(g);
}
END_TEST

/* ---- GPT-2 family config.json (gpt2.c, gpt_neo.c share the block) ---- */

/* Parses config text with the parser of HF model_type `type`; *c zeroed first. */
static int parse_cfg(const char *type, const char *text, strata_config *c, st_err *e)
{
    const st_arch *a = st_arch_by_hf_type(type);
    ck_assert_ptr_nonnull(a);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    memset(c, 0, sizeof *c);
    memset(e, 0, sizeof *e);
    int rc = a->config_hf(j, "m/config.json", c, e);
    json_decref(j);
    return rc;
}

START_TEST(gpt2_family_configs)
{
    /* expectations written out by hand: d 16 / 4 heads = 4 per head, MLP 4 d when
     * n_inner / intermediate_size is absent, LayerNorm with biases, learned
     * positions, no rotary, sequential residual */
    static const char *gpt2 = "{\"n_embd\":16,\"n_layer\":2,\"n_head\":4,\"vocab_size\":50,"
                              "\"n_positions\":32,\"layer_norm_epsilon\":1e-6%s}";
    static const char *neo = "{\"hidden_size\":16,\"num_layers\":2,\"num_heads\":4,\"vocab_size\":50,"
                             "\"max_position_embeddings\":32,\"window_size\":8%s}";
    const struct { const char *type, *fmt, *extra; int rc, act; } cases[] = {
        { "gpt2", gpt2, "", STRATA_OK, STRATA_ACT_GELU_NEW },
        { "gpt2", gpt2, ",\"activation_function\":\"gelu_new\"", STRATA_OK, STRATA_ACT_GELU_NEW },
        { "gpt2", gpt2, ",\"activation_function\":\"gelu_pytorch_tanh\"", STRATA_OK, STRATA_ACT_GELU_NEW },
        { "gpt2", gpt2, ",\"activation_function\":\"gelu\"", STRATA_OK, STRATA_ACT_GELU },
        { "gpt2", gpt2, ",\"activation_function\":\"relu\"", STRATA_OK, STRATA_ACT_RELU },
        { "gpt2", gpt2, ",\"activation_function\":\"silu\"", STRATA_ERR_UNSUPPORTED, 0 },
        { "gpt2", gpt2, ",\"activation_function\":\"gelu_fast\"", STRATA_ERR_UNSUPPORTED, 0 },
        { "gpt_neo", neo, "", STRATA_OK, STRATA_ACT_GELU_NEW },
        { "gpt_neo", neo, ",\"activation_function\":\"gelu_fast\"", STRATA_OK, STRATA_ACT_GELU_NEW },
        { "gpt_neo", neo, ",\"activation_function\":\"gelu_pytorch_tanh\"", STRATA_OK, STRATA_ACT_GELU_NEW },
        { "gpt_neo", neo, ",\"activation_function\":\"gelu\"", STRATA_OK, STRATA_ACT_GELU },
        { "gpt_neo", neo, ",\"activation_function\":\"relu\"", STRATA_OK, STRATA_ACT_RELU },
        { "gpt_neo", neo, ",\"activation_function\":\"silu\"", STRATA_OK, STRATA_ACT_SILU },
        { "gpt_neo", neo, ",\"activation_function\":\"swish\"", STRATA_ERR_UNSUPPORTED, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, cases[i].fmt, cases[i].extra);
        strata_config c;
        st_err e;
        int rc = parse_cfg(cases[i].type, text, &c, &e);
        ck_assert_msg(rc == cases[i].rc, "case %zu (%s): rc %d: %s", i, text, rc, e.msg);
        if (rc != STRATA_OK) {
            ck_assert_msg(strstr(e.msg, "m/config.json") && strstr(e.msg, "activation_function"),
                          "%s", e.msg);
            continue;
        }
        ck_assert_int_eq(c.act, cases[i].act);
        ck_assert_int_eq(c.d_model, 16);
        ck_assert_int_eq(c.n_layers, 2);
        ck_assert_int_eq(c.n_heads, 4);
        ck_assert_int_eq(c.n_kv_heads, 4);
        ck_assert_int_eq(c.d_head, 4);
        ck_assert_int_eq(c.d_mlp, 64);
        ck_assert_int_eq(c.vocab_size, 50);
        ck_assert_int_eq(c.n_ctx, 32);
        ck_assert_int_eq(c.norm_kind, STRATA_NORM_LAYER);
        ck_assert_int_eq(c.gated_mlp, 0);
        ck_assert_int_eq(c.rope, STRATA_ROPE_NONE);
        ck_assert_int_eq(c.rotary_dim, 0);
        ck_assert_int_eq(c.parallel_residual, 0);
        ck_assert_int_eq(c.has_bias, 1);
        ck_assert_int_eq(c.tied_embeddings, 1);
        if (!strcmp(cases[i].type, "gpt2")) {
            ck_assert_int_eq(c.arch, STRATA_ARCH_GPT2);
            ck_assert(c.norm_eps == 1e-6f);
            ck_assert(c.attn_scale == 0.0f);           /* 1/sqrt(d_head) */
            ck_assert_int_eq(c.sliding_window, 0);
        } else {
            ck_assert_int_eq(c.arch, STRATA_ARCH_GPT_NEO);
            ck_assert(c.norm_eps == 1e-5f);             /* the default */
            ck_assert(c.attn_scale == 1.0f);            /* GPT-Neo: q.k unscaled */
            ck_assert_int_eq(c.sliding_window, 8);
            ck_assert_int_eq(c.window_layers, STRATA_WINDOW_ODD);
        }
    }
    /* the parts that differ: GPT-Neo's untied unembedding, GPT-2's n_inner */
    strata_config c;
    st_err e;
    char text[512];
    snprintf(text, sizeof text, neo, ",\"tie_word_embeddings\":false,\"intermediate_size\":24");
    ck_assert_int_eq(parse_cfg("gpt_neo", text, &c, &e), STRATA_OK);
    ck_assert_int_eq(c.tied_embeddings, 0);
    ck_assert_int_eq(c.d_mlp, 24);
    snprintf(text, sizeof text, gpt2, ",\"n_inner\":40");
    ck_assert_int_eq(parse_cfg("gpt2", text, &c, &e), STRATA_OK);
    ck_assert_int_eq(c.d_mlp, 40);
    ck_assert_int_eq(c.tied_embeddings, 1);
}
END_TEST

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *bad = tcase_create("bad_input");
    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, truncated_file);
    tcase_add_test(bad, header_length_beyond_file);
    tcase_add_test(bad, header_not_json);
    tcase_add_test(bad, offsets_out_of_range);
    tcase_add_test(bad, offsets_overlap);
    tcase_add_test(bad, shape_dtype_length_mismatch);
    tcase_add_test(bad, unknown_dtype);
    tcase_add_test(bad, missing_tensor);
    tcase_add_test(bad, shape_contradicts_config);
    tcase_add_test(bad, missing_config_field);
    tcase_add_test(bad, unknown_model_type);
    tcase_add_test(bad, config_not_json);
    tcase_add_test(bad, sharded_ok_and_missing_shard);
    tcase_add_test(bad, run_argument_errors);
    suite_add_tcase(s, bad);
    TCase *good = tcase_create("good_input");
    tcase_set_timeout(good, 120);
    tcase_add_test(good, good_model_opens);
    tcase_add_test(good, gpt2_family_configs);
    tcase_add_test(good, f32_zero_copy);
    tcase_add_test(good, half_dtypes_load);
    suite_add_tcase(s, good);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
