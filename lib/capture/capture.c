/* capture/capture.c — the capture driver: documents in, batched hooked
 * forward passes, kept rows appended to the activation store (io/h5store.c).
 *
 * Per batch (B documents, T = longest kept length):
 *   tokens  [B][T] padded with 0, lengths [B]
 *   each hook copies, for every kept position (b, t), one row into
 *   hook->buf [n_rows][width]; rows are ordered by document, then position.
 *   Fast path (float32, all positions, rows contiguous in the view, not
 *   scores/pattern): the hook writes its rows straight from the view into
 *   the file (st_h5w_write_rows, past the committed rows), no copy; the
 *   batch is committed by st_h5w_append as before.
 * Memory is one batch: tokens, per-token labels and the hook buffers.
 *
 * Overlap (opts.overlap, the default): the hooks copy their rows into a
 * cap_batch of capture/batch_writer.c and a writer thread claims the space,
 * writes and commits it (the same st_h5w calls in the same order) while the
 * next batch's forward pass runs; two batches of buffers.  The store is then
 * used only by that thread until it is drained (stop, finish, free).  The
 * file is the same value for value (tests/test_capture.c). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/batch_writer.h"
#include "capture/capture_internal.h"
#include "capture/provenance.h"
#include "dist/dist.h"
#include "io/h5store.h"
#include "io/outfile.h"
#include "tokenizer/utf8.h"
#include "strata/capture.h"
#include "strata/hooks.h"
#include "strata/model.h"
#include "strata/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/err.h"
#include "util/sha256.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the input hash below hashes int32/float arrays as little-endian bytes"
#endif

/* cap_hook, cap_doc, struct strata_capture: capture/capture_internal.h */

strata_capture_opts strata_capture_opts_default(void)
{
    strata_capture_opts o;
    memset(&o, 0, sizeof o);
    o.hooks = NULL;
    o.positions = STRATA_POS_ALL;
    o.batch = 8;
    o.max_tokens = 0;
    o.dtype = STRATA_DTYPE_F32;
    o.compress = 0;
    o.mode = STRATA_CAPTURE_CREATE;
    o.add_bos = -1;
    o.overlap = 1;
    return o;
}

const char *strata_capture_errmsg(const strata_capture *c)
{
    return c ? c->err.msg : "out of memory";
}

static double elapsed(const strata_capture *c)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - c->t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - c->t0.tv_nsec);
}

static const char *pos_name(int p)
{
    return p == STRATA_POS_LAST ? "last" : p == STRATA_POS_FIRST ? "first" : "all";
}

/* the family's short name recorded in capture files ("neox") */
static const char *arch_name(int a)
{
    const char *n = strata_arch_name(a);
    return n ? n : "unknown";
}

/* The model configuration as JSON (recorded in the file, compared on resume). */
static char *config_json(const strata_config *k)
{
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:i, "
                          "s:i, s:i, s:i, s:f, s:i, s:i, s:i, s:i, s:i}",
                          "name", k->name, "arch", arch_name(k->arch), "d_model", k->d_model,
                          "n_layers", k->n_layers, "n_heads", k->n_heads, "n_kv_heads",
                          k->n_kv_heads, "d_head", k->d_head, "d_mlp", k->d_mlp, "vocab_size",
                          k->vocab_size, "n_ctx", k->n_ctx, "norm_kind", k->norm_kind,
                          "norm_eps", (double)k->norm_eps, "act", k->act, "gated_mlp",
                          k->gated_mlp, "rope", k->rope, "rotary_dim", k->rotary_dim,
                          "rope_theta", (double)k->rope_theta, "parallel_residual",
                          k->parallel_residual, "tied_embeddings", k->tied_embeddings,
                          "has_bias", k->has_bias, "bos_token_id", k->bos_token_id,
                          "eos_token_id", k->eos_token_id);
    if (!j) return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(j);
    return s;
}

/* ------------------------------------------------------------------ */
/* hooks                                                               */

/* Copies the kept rows of every sequence out of the hook's view.  Each
 * captured point is registered with its own cap_hook as user pointer.  A
 * failed write returns its (negative) status: the forward pass stops and
 * returns it, the message is in c->err. */
static int capture_cb(strata_tensor *t, const strata_hook_ctx *ctx, void *user)
{
    cap_hook *h = user;
    strata_capture *c = h->c;
    const int hi = h->index;
    const int64_t *s = t->strides;
    if (h->direct_ok && (t->ndim == 3 || t->ndim == 4)) {
        /* Contiguous rows: write them from the view, no copy.  Runs of
         * sequences whose rows follow each other in memory and in the file
         * (full-length sequences) go in one write. */
        int64_t a = t->shape[2], bdim = t->ndim == 4 ? t->shape[3] : 1;
        int64_t sa = s[2], sb = t->ndim == 4 ? s[3] : 1;
        if ((bdim == 1 || sb == 1) && (a == 1 || sa == bdim) && a * bdim == h->width &&
            s[1] >= h->width) {
            const float *seg = NULL;
            int64_t seg_row = 0, seg_n = 0;
            for (int rb = 0; rb <= ctx->batch; rb++) {
                const float *src = NULL;
                int64_t row = 0, L = 0;
                if (rb < ctx->batch) {
                    src = t->data + rb * s[0];
                    row = c->row_base[c->run_doc[rb]];
                    L = ctx->lengths[rb];
                    if (seg_n && src == seg + seg_n * s[1] && row == seg_row + seg_n) {
                        seg_n += L;
                        continue;
                    }
                }
                if (seg_n) {
                    int rc = st_h5w_write_rows(c->w, hi, seg_row, seg_n, seg, s[1], &c->err);
                    if (rc < 0) return rc;
                    h->direct_rows += seg_n;
                }
                seg = src;
                seg_row = row;
                seg_n = L;
            }
            return 0;
        }
    }
    for (int rb = 0; rb < ctx->batch; rb++) {
        int d = c->run_doc[rb];
        int64_t L = ctx->lengths[rb];
        int64_t t0 = 0, t1 = L;
        if (c->o.positions == STRATA_POS_LAST) t0 = L - 1;
        else if (c->o.positions == STRATA_POS_FIRST) t1 = 1;
        for (int64_t tq = t0; tq < t1; tq++) {
            float *dst = h->buf + (c->row_base[d] + (tq - t0)) * h->width;
            if (h->kk) {
                /* view [B, H', T, T] -> row [H', W]; keys >= L are 0 */
                int64_t H = t->shape[1];
                for (int64_t hh = 0; hh < H; hh++) {
                    const float *src = t->data + rb * s[0] + hh * s[1] + tq * s[2];
                    float *o = dst + hh * c->W;
                    if (s[3] == 1) memcpy(o, src, sizeof(float) * (size_t)L);
                    else for (int64_t k = 0; k < L; k++) o[k] = src[k * s[3]];
                    memset(o + L, 0, sizeof(float) * (size_t)(c->W - L));
                }
            } else {
                /* view [B, T, a(, b)] -> row [a(, b)] */
                const float *src = t->data + rb * s[0] + tq * s[1];
                int64_t a = t->ndim >= 3 ? t->shape[2] : 1, bdim = t->ndim >= 4 ? t->shape[3] : 1;
                int64_t sa = t->ndim >= 3 ? s[2] : 0, sb = t->ndim >= 4 ? s[3] : 0;
                if ((bdim == 1 || sb == 1) && (a == 1 || sa == bdim)) {
                    memcpy(dst, src, sizeof(float) * (size_t)(a * bdim));
                } else {
                    for (int64_t i = 0; i < a; i++)
                        for (int64_t j = 0; j < bdim; j++) dst[i * bdim + j] = src[i * sa + j * sb];
                }
            }
        }
    }
    return 0;
}

static int kind_is_kk(int kind)
{
    return kind == STRATA_HOOK_ATTN_SCORES || kind == STRATA_HOOK_ATTN_PATTERN;
}

/* strata_hook_match's visit: marks (kind, layer, head) as chosen. */
typedef struct mark_ctx { unsigned char *mark; int L, H; } mark_ctx;

static int mark_point(const char *name, int kind, int layer, int head, void *user)
{
    mark_ctx *k = user;
    k->mark[((size_t)kind * (k->L + 1) + (size_t)(layer + 1)) * (k->H + 2) + (size_t)(head + 1)] = 1;
    return 0;
}

/* Resolves the comma-separated globs into the list of hooks (forward order,
 * deduplicated) with the engine's own matcher (strata_hook_match). */
static int resolve_hooks(strata_capture *c, const char *spec)
{
    strata_model *m = c->m;
    const strata_config *k = strata_model_config(m);
    char *copy = strdup(spec ? spec : "");
    if (!copy) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    int np = strata_model_n_hook_points(m);
    /* mark[((kind * (L+1) + layer+1) * (H+2) + head+1]: point chosen with head (or -1) */
    int H = k->n_heads > k->n_kv_heads ? k->n_heads : k->n_kv_heads;
    mark_ctx mk = { NULL, k->n_layers, H };
    mk.mark = calloc((size_t)STRATA_HOOK_KIND_COUNT * (size_t)(k->n_layers + 1) * (size_t)(H + 2), 1);
    if (!mk.mark) { free(copy); return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory"); }
    int rc = STRATA_OK, n_globs = 0;
    char *save = NULL;
    for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
        while (*g == ' ') g++;
        size_t gl = strlen(g);
        while (gl && g[gl - 1] == ' ') g[--gl] = 0;
        if (!gl) continue;
        n_globs++;
        int st = strata_hook_match(m, g, mark_point, &mk);
        if (st < 0) {
            rc = st_seterr(&c->err, st, "--hooks %s: %s", g, strata_errmsg(m));
            break;
        }
    }
    if (rc == STRATA_OK && n_globs == 0)
        rc = st_seterr(&c->err, STRATA_ERR_ARG, "--hooks: no hook names given");
    int n = 0;
    const size_t n_marks = (size_t)STRATA_HOOK_KIND_COUNT * (size_t)(k->n_layers + 1) * (size_t)(H + 2);
    for (size_t i = 0; rc == STRATA_OK && i < n_marks; i++) n += mk.mark[i];
    if (rc == STRATA_OK) {
        c->hooks = calloc((size_t)n + 1, sizeof *c->hooks);
        if (!c->hooks) rc = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; rc == STRATA_OK && i < np; i++) {   /* forward order */
        int kind, layer;
        strata_model_hook_point(m, i, &kind, &layer, NULL, 0);
        const unsigned char *row = mk.mark + ((size_t)kind * (k->n_layers + 1) + (size_t)(layer + 1)) * (H + 2);
        for (int hh = -1; hh <= H; hh++) {
            if (!row[hh + 1]) continue;
            cap_hook *h = &c->hooks[c->n_hooks];
            h->c = c;
            h->index = c->n_hooks++;
            strata_model_hook_point(m, i, &h->kind, &h->layer, h->point, sizeof h->point);
            h->head = hh;
            if (hh >= 0) snprintf(h->name, sizeof h->name, "%.170s[%d]", h->point, hh);
            else snprintf(h->name, sizeof h->name, "%s", h->point);
            int64_t sh[4];
            int nd = strata_model_hook_shape(m, h->kind, 1, c->W, sh);
            h->kk = kind_is_kk(h->kind);
            if (h->kk) {
                h->row_ndim = 2;
                h->row_shape[0] = hh >= 0 ? 1 : sh[1];
                h->row_shape[1] = c->W;
            } else {
                h->row_ndim = nd - 2;
                for (int d = 0; d < h->row_ndim; d++) h->row_shape[d] = sh[2 + d];
                if (hh >= 0) h->row_shape[0] = 1;
            }
            h->width = 1;
            for (int d = 0; d < h->row_ndim; d++) h->width *= h->row_shape[d];
            h->direct_ok = !h->kk && c->o.positions == STRATA_POS_ALL &&
                           c->o.dtype == STRATA_DTYPE_F32 && !c->o.overlap;
        }
    }
    free(mk.mark);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------ */
/* session                                                             */

static void free_doc(cap_doc *d)
{
    free(d->tokens);
    free(d->text);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void cap_free_doc(cap_doc *d) { free_doc(d); }

void strata_capture_free(strata_capture *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_hook_ids; i++) strata_hook_remove(c->m, c->hook_ids[i]);
    cap_writer_stop(c->wr, NULL);   /* batches already handed over are committed */
    c->wr = NULL;
    cap_dist_free(c);   /* a distributed session: the collective close */
    if (c->w) st_h5w_close(c->w, 0, c->truncated, NULL);
    cap_prov_free(&c->prov);
    for (int i = 0; i < c->nb; i++) free_doc(&c->docs[i]);
    for (int i = 0; i < c->n_hooks && !c->o.overlap; i++) free(c->hooks[i].buf);
    for (int i = 0; i < c->n_labels; i++) {
        free(c->label_names[i]);
        if (c->label_rows) free(c->label_rows[i]);
    }
    free(c->label_rows);
    free(c->label_names);
    free(c->label_is_int);
    free(c->hooks);
    free(c->hook_ids);
    free(c->docs);
    free(c->row_base);
    free(c->doc_ntok);
    free(c->doc_nrows);
    free(c->acts);
    free(c->run_doc);
    free(c->lengths);
    free(c->all_doc);
    free(c->all_len);
    free(c->grp_end);
    free(c->grp_cost);
    free(c->tok_pad);
    free(c->rows);
    free(c->config_json);
    free(c->path);
    free(c);
}

static int add_label_name(strata_capture *c, const char *name, int is_int)
{
    for (int i = 0; i < c->n_labels; i++)
        if (!strcmp(c->label_names[i], name)) {
            if (!is_int) c->label_is_int[i] = 0;
            return STRATA_OK;
        }
    char **nn = realloc(c->label_names, sizeof *nn * (size_t)(c->n_labels + 1));
    if (!nn) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    c->label_names = nn;
    int32_t *ni = realloc(c->label_is_int, sizeof *ni * (size_t)(c->n_labels + 1));
    if (!ni) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    c->label_is_int = ni;
    c->label_names[c->n_labels] = strdup(name);
    if (!c->label_names[c->n_labels]) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    c->label_is_int[c->n_labels++] = is_int;
    return STRATA_OK;
}

strata_status strata_capture_open(strata_model *m, const char *path,
                                  const strata_capture_opts *opts, strata_capture **out)
{
    strata_capture *c = calloc(1, sizeof *c);
    *out = c;
    if (!c) return STRATA_ERR_NOMEM;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    c->m = m;
    c->has_text = -1;
    c->docs_total = -1;
    c->o = opts ? *opts : strata_capture_opts_default();
    c->o.label_names = NULL;
    c->o.label_is_int = NULL;
    if (!m) return st_seterr(&c->err, STRATA_ERR_ARG, "no model");
    if (!path || !*path) return st_seterr(&c->err, STRATA_ERR_ARG, "no output path");
    c->path = strdup(path);
    if (!c->path) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    const strata_config *k = strata_model_config(m);
    c->tok = strata_model_tokenizer(m);
    if (c->o.batch <= 0) c->o.batch = 8;
    if (c->o.positions < STRATA_POS_ALL || c->o.positions > STRATA_POS_FIRST)
        return st_seterr(&c->err, STRATA_ERR_ARG, "positions must be all, last or first");
    if (c->o.dtype != STRATA_DTYPE_F32 && c->o.dtype != STRATA_DTYPE_F16)
        return st_seterr(&c->err, STRATA_ERR_ARG, "dtype must be f32 or f16");
    if (c->o.compress < 0 || c->o.compress > 9)
        return st_seterr(&c->err, STRATA_ERR_ARG, "compress level must be 0..9");
    if (c->o.max_tokens < 0)
        return st_seterr(&c->err, STRATA_ERR_ARG, "max_tokens must be >= 0");
    c->W = c->o.max_tokens > 0 && c->o.max_tokens < k->n_ctx ? c->o.max_tokens : k->n_ctx;
    for (int i = 0; opts && i < opts->n_labels; i++)
        ST_TRY(add_label_name(c, opts->label_names[i],
                              opts->label_is_int ? opts->label_is_int[i] : 0));
    ST_TRY(resolve_hooks(c, c->o.hooks));
    /* Several MPI ranks: a distributed session (capture/capture_dist.c); its
     * rows are copied into the hook buffers and written collectively. */
    ST_TRY(cap_dist_init(c));
    for (int i = 0; c->dist && i < c->n_hooks; i++) c->hooks[i].direct_ok = 0;
    if (c->dist) c->o.overlap = 0;   /* (no writer thread: the ranks write together) */
    c->config_json = config_json(k);
    c->docs = calloc((size_t)c->o.batch, sizeof *c->docs);
    c->row_base = calloc((size_t)c->o.batch, sizeof *c->row_base);
    c->run_doc = calloc((size_t)c->o.batch, sizeof *c->run_doc);
    c->lengths = calloc((size_t)c->o.batch, sizeof *c->lengths);
    c->all_doc = calloc((size_t)c->o.batch, sizeof *c->all_doc);
    c->all_len = calloc((size_t)c->o.batch, sizeof *c->all_len);
    c->grp_end = calloc((size_t)c->o.batch + 1, sizeof *c->grp_end);
    c->grp_cost = calloc((size_t)c->o.batch + 1, sizeof *c->grp_cost);
    c->hook_ids = calloc((size_t)c->n_hooks + 1, sizeof *c->hook_ids);
    c->doc_ntok = calloc((size_t)c->o.batch, sizeof *c->doc_ntok);
    c->doc_nrows = calloc((size_t)c->o.batch, sizeof *c->doc_nrows);
    c->acts = calloc((size_t)c->n_hooks + 1, sizeof *c->acts);
    if (!c->config_json || !c->docs || !c->row_base || !c->run_doc || !c->lengths || !c->hook_ids ||
        !c->all_doc || !c->all_len || !c->grp_end || !c->grp_cost ||
        !c->doc_ntok || !c->doc_nrows || !c->acts)
        return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    /* Output checks that need no model run (the store checks again when it
     * creates or opens the file). */
    char *target = NULL;
    int exists = 0;
    int rc = STRATA_OK;
    /* (a distributed session: rank 0 checks, every rank learns the outcome) */
    if (c->dist && strata_dist_rank() != 0)
        ;
    else if ((rc = st_out_resolve(path, &target, &exists, &c->err)) < 0) /* only regular files */
        ;
    else if (c->o.mode == STRATA_CAPTURE_CREATE && exists)
        rc = st_seterr(&c->err, STRATA_ERR_EXISTS,
                       "%s already exists (use --overwrite to replace it or --resume to continue it)",
                       path);
    else if (c->o.mode == STRATA_CAPTURE_RESUME && !exists)
        rc = st_seterr(&c->err, STRATA_ERR_NOTFOUND, "--resume: %s does not exist", path);
    else if (!exists) {
        /* Can we create it?  Checked with a file of another name: the output
         * path must never name a file its writer does not hold locked
         * (io/outfile.h), or a second writer could take it meanwhile. */
        rc = st_out_can_create(target, &c->err);
    } else if (access(target, W_OK) != 0) {
        rc = st_seterr(&c->err, STRATA_ERR_IO, "output file %s is not writable: %s", path,
                       strerror(errno));
    } else {
        /* In use by another writer (or a reader)?  Say so now, not after the model ran. */
        int fd;
        rc = st_out_lock(target, 0, &fd, &c->err);
        if (rc == STRATA_OK) close(fd);
    }
    free(target);
    if (c->dist) rc = st_dist_agree(rc, &c->err);
    if (rc < 0) return rc;
    for (int i = 0; i < c->n_hooks; i++) {
        int rc = strata_hook_add(m, c->hooks[i].name, capture_cb, &c->hooks[i], &c->hook_ids[i]);
        if (rc < 0) return st_seterr(&c->err, rc, "hook %s: %s", c->hooks[i].name, strata_errmsg(m));
        c->n_hook_ids++;
    }
    return STRATA_OK;
}

/* Creates or resumes the file (on the first document). */
/* The "axes" attribute of a hook's dataset (row = one kept position). */
static const char *hook_axes(const char *point, int kk)
{
    size_t n = strlen(point);
#define ENDS(x) (n >= sizeof(x) - 1 && !strcmp(point + n - (sizeof(x) - 1), x))
    if (kk) return "row, head, key";
    if (ENDS("attn.hook_result")) return "row, head, d_model";
    if (ENDS("attn.hook_q") || ENDS("attn.hook_k") || ENDS("attn.hook_v") ||
        ENDS("attn.hook_rot_q") || ENDS("attn.hook_rot_k") || ENDS("attn.hook_z"))
        return "row, head, d_head";
    if (ENDS("mlp.hook_pre") || ENDS("mlp.hook_pre_linear") || ENDS("mlp.hook_post"))
        return "row, d_mlp";
    if (ENDS("hook_scale")) return "row, one";
    if (ENDS("hook_logits")) return "row, vocab";
    return "row, d_model";
#undef ENDS
}

static int ensure_store(strata_capture *c, int has_text)
{
    if (c->w || (c->dist && c->has_text >= 0)) {
        if (has_text != c->has_text)
            return st_seterr(&c->err, STRATA_ERR_ARG,
                             "cannot mix text and token-id documents in one capture");
        return STRATA_OK;
    }
    if (c->failed) return st_seterr(&c->err, STRATA_ERR_STATE, "capture already failed");
    const strata_config *k = strata_model_config(c->m);
    c->has_text = has_text;
    /* Provenance: SHA-256 of the weight and tokenizer files (recorded by a
     * new file, compared by a resume). */
    /* (a distributed session: rank 0 creates or checks the file) */
    const int writes = !c->dist || strata_dist_rank() == 0;
    int prc = writes ? cap_prov_collect(strata_model_path(c->m), &c->prov, &c->err) : STRATA_OK;
    if (c->dist) prc = st_dist_agree(prc, &c->err);
    if (prc < 0) { c->failed = 1; return prc; }
    st_sha256_init(&c->input_hash);
    const char **names = calloc((size_t)c->n_hooks + 1, sizeof *names);
    int32_t *nd = calloc((size_t)c->n_hooks + 1, sizeof *nd);
    int64_t (*shp)[ST_H5_MAX_ROW_DIMS] = calloc((size_t)c->n_hooks + 1, sizeof *shp);
    if (!names || !nd || !shp) {
        free(names); free(nd); free(shp);
        return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    int32_t *grow = calloc((size_t)c->n_hooks + 1, sizeof *grow);
    const char **axes = calloc((size_t)c->n_hooks + 1, sizeof *axes);
    char **vocab = NULL;
    int n_vocab = 0;
    if (!grow || !axes) {
        free(names); free(nd); free(shp); free(grow); free(axes);
        return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < c->n_hooks; i++) {
        names[i] = c->hooks[i].name;
        nd[i] = c->hooks[i].row_ndim;
        memcpy(shp[i], c->hooks[i].row_shape, sizeof shp[i]);
        /* attention rows [H, keys]: only as wide as the longest document */
        grow[i] = c->hooks[i].kk;
        axes[i] = hook_axes(c->hooks[i].point, c->hooks[i].kk);
    }
    /* the token strings, so the file can be read without strata: each id
     * decoded on its own (bytes that are not whole UTF-8 come out as U+FFFD) */
    if (c->tok && c->o.mode != STRATA_CAPTURE_RESUME && writes) {
        n_vocab = k->vocab_size;
        vocab = calloc((size_t)n_vocab + 1, sizeof *vocab);
        for (int v = 0; vocab && v < n_vocab; v++) {
            char raw[256], buf[3 * 256 + 1];
            int32_t id = v;
            int64_t n = strata_detokenize(c->tok, &id, 1, 0, raw, sizeof raw);
            if (n < 0) n = 0;
            if (n >= (int64_t)sizeof raw) n = sizeof raw - 1;
            /* valid UTF-8 only: a byte that does not start a whole character -> U+FFFD */
            size_t o = 0;
            for (size_t q = 0; q < (size_t)n;) {
                size_t adv = 0;
                int32_t cp = st_utf8_next((const unsigned char *)raw + q, (size_t)n - q, &adv);
                if (cp < 0 || adv == 0) { memcpy(buf + o, "\xef\xbf\xbd", 3); o += 3; q += adv ? adv : 1; }
                else { memcpy(buf + o, raw + q, adv); o += adv; q += adv; }
            }
            buf[o] = 0;
            vocab[v] = strdup(buf);
            if (!vocab[v]) { for (int q = 0; q < v; q++) free(vocab[q]); free(vocab); vocab = NULL; }
        }
        if (!vocab) {
            free(names); free(nd); free(shp); free(grow); free(axes);
            return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory (vocabulary strings)");
        }
    }
    st_h5w_spec s = {
        .model_name = k->name, .model_arch = arch_name(k->arch), .config_json = c->config_json,
        .positions = pos_name(c->o.positions), .n_hooks = c->n_hooks, .hook_names = names,
        .row_ndim = nd, .row_shape = (const int64_t (*)[ST_H5_MAX_ROW_DIMS])shp,
        .n_labels = c->n_labels, .label_names = (const char *const *)c->label_names,
        .label_is_int = c->label_is_int,
        .dtype = c->o.dtype == STRATA_DTYPE_F16 ? ST_H5_F16 : ST_H5_F32,
        .compress = c->o.compress, .has_text = has_text, .max_tokens = c->W,
        .prov = &c->prov.p,
        .grow_last = grow, .axes = axes, .n_vocab = vocab ? n_vocab : 0,
        .vocab = (const char *const *)vocab,
        .alloc_early = c->dist != NULL,
    };
    int rc;
    if (c->dist) rc = cap_dist_open_store(c, &s);   /* sets c->n_done */
    else if (c->o.mode == STRATA_CAPTURE_RESUME) rc = st_h5w_resume(c->path, &s, &c->w, &c->err);
    else rc = st_h5w_create(c->path, &s, c->o.mode == STRATA_CAPTURE_OVERWRITE, &c->w, &c->err);
    free(names);
    free(nd);
    free(shp);
    free(grow);
    free(axes);
    for (int v = 0; vocab && v < n_vocab; v++) free(vocab[v]);
    free(vocab);
    if (rc < 0) { c->failed = 1; return rc; }
    if (!c->dist) c->n_done = st_h5w_n_docs(c->w);
    return STRATA_OK;
}

static int grow_rows(strata_capture *c, int64_t need);
int cap_grow_rows(strata_capture *c, int64_t need) { return grow_rows(c, need); }

static int grow_rows(strata_capture *c, int64_t need)
{
    if (need <= c->rows_cap) return STRATA_OK;
    int64_t cap = c->rows_cap ? c->rows_cap : 256;
    while (cap < need) cap *= 2;
    for (int i = 0; i < c->n_hooks; i++) {
        float *b = realloc(c->hooks[i].buf, sizeof(float) * (size_t)(cap * c->hooks[i].width));
        if (!b) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory (hook buffers, %lld rows)",
                                 (long long)cap);
        c->hooks[i].buf = b;
    }
    if (!c->label_rows && c->n_labels) {
        c->label_rows = calloc((size_t)c->n_labels, sizeof *c->label_rows);
        if (!c->label_rows) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < c->n_labels; i++) {
        float *b = realloc(c->label_rows[i], sizeof(float) * (size_t)cap);
        if (!b) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
        c->label_rows[i] = b;
    }
    int64_t *r = realloc(c->rows, sizeof *r * (size_t)cap);
    if (!r) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    c->rows = r;
    c->rows_cap = cap;
    return STRATA_OK;
}

/* Forward passes over the batch's nrun non-empty documents (c->run_doc,
 * c->lengths), in groups of similar length: padding to the longest document
 * costs rows, so documents sorted by length (longest first) are split into
 * contiguous groups minimising  sum over groups (documents x longest) +
 * CAP_GROUP_ROWS per group  (the fixed cost of one more forward pass, in
 * rows).  Equal lengths stay one pass.  Each group runs in input order; the
 * hooks place every document's rows by c->row_base, so the file does not
 * depend on the grouping.  Returns strata_run's status. */
#define CAP_GROUP_ROWS 64
#define CAP_GROUP_MAX_DOCS 512   /* larger batches run as one pass (the search is quadratic) */

static int cmp_int(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int run_batch(strata_capture *c, int nrun)
{
    /* order[] = run indices by length (all_doc as scratch), then groups */
    int32_t *order = c->all_doc, *len = c->all_len;
    for (int r = 0; r < nrun; r++) {
        order[r] = r;
        len[r] = c->lengths[r];
    }
    int32_t *doc_id = malloc(sizeof *doc_id * (size_t)(nrun + 1));
    if (!doc_id) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    for (int r = 0; r < nrun; r++) doc_id[r] = c->run_doc[r];
    int n_groups = 1;
    c->grp_end[0] = nrun;
    if (nrun > 1 && nrun <= CAP_GROUP_MAX_DOCS) {
        for (int r = 1; r < nrun; r++) {   /* insertion sort: longest first, then input order */
            int32_t x = order[r];
            int q = r;
            for (; q > 0 && len[order[q - 1]] < len[x]; q--) order[q] = order[q - 1];
            order[q] = x;
        }
        /* cost[j] = best cost of the first j sorted documents; group (i, j] costs
         * (j - i) * len[order[i]] + CAP_GROUP_ROWS (longest first) */
        int64_t *cost = c->grp_cost;
        int32_t *from = malloc(sizeof *from * (size_t)(nrun + 1));
        if (!from) { free(doc_id); return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory"); }
        cost[0] = 0;
        for (int j = 1; j <= nrun; j++) {
            cost[j] = INT64_MAX;
            for (int i = 0; i < j; i++) {
                int64_t v = cost[i] + (int64_t)(j - i) * len[order[i]] + CAP_GROUP_ROWS;
                if (v < cost[j]) { cost[j] = v; from[j] = i; }
            }
        }
        n_groups = 0;
        for (int j = nrun; j > 0; j = from[j]) c->grp_end[n_groups++] = j;   /* last first */
        for (int g = 0; g < n_groups / 2; g++) {
            int32_t t = c->grp_end[g];
            c->grp_end[g] = c->grp_end[n_groups - 1 - g];
            c->grp_end[n_groups - 1 - g] = t;
        }
        free(from);
    }
    int rc = STRATA_OK;
    for (int g = 0, i0 = 0; g < n_groups && rc >= 0; i0 = c->grp_end[g++]) {
        const int i1 = c->grp_end[g], n = i1 - i0;
        /* the group's documents back in input order */
        qsort(order + i0, (size_t)n, sizeof *order, cmp_int);
        int T = 0;
        for (int q = 0; q < n; q++) {
            c->run_doc[q] = doc_id[order[i0 + q]];
            c->lengths[q] = len[order[i0 + q]];
            if (c->lengths[q] > T) T = c->lengths[q];
        }
        size_t need = (size_t)n * (size_t)T;
        if (need > c->tok_pad_cap) {
            int32_t *p = realloc(c->tok_pad, sizeof *p * need);
            if (!p) { rc = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory"); break; }
            c->tok_pad = p;
            c->tok_pad_cap = need;
        }
        memset(c->tok_pad, 0, sizeof *c->tok_pad * need);
        for (int q = 0; q < n; q++)
            memcpy(c->tok_pad + (size_t)q * T, c->docs[c->run_doc[q]].tokens,
                   sizeof(int32_t) * (size_t)c->lengths[q]);
        rc = strata_run(c->m, c->tok_pad, c->lengths, n, NULL);
        if (rc >= 0)
            for (int q = 0; q < n; q++) c->tokens_run += c->lengths[q];
    }
    free(doc_id);
    return rc;
}

/* Counts of the documents a progress report gives (the file's, or with the
 * writer thread the ones handed to it: those are committed unless it fails). */
static void done_counts(const strata_capture *c, int64_t *docs, int64_t *rows)
{
    if (c->wr) {
        *docs = c->base_docs + c->queued_docs;
        *rows = c->base_rows + c->queued_rows;
    } else {
        *docs = st_h5w_n_docs(c->w);
        *rows = st_h5w_n_rows(c->w);
    }
}

/* After a batch: the progress callback; a stop waits for the writer to commit
 * what it was given. */
static int after_batch(strata_capture *c)
{
    if (!c->o.progress) return STRATA_OK;
    strata_capture_progress p = {
        .docs_total = c->docs_total, .tokens_done = c->tokens_run, .seconds = elapsed(c),
    };
    done_counts(c, &p.docs_done, &p.rows_done);
    if (!c->o.progress(&p, c->o.progress_user)) return STRATA_OK;
    if (c->wr) {
        int rc = cap_writer_drain(c->wr, &c->err);
        if (rc < 0) {
            c->failed = 1;
            return rc;
        }
    }
    return STRATA_STOPPED;
}

/* flush_batch with the writer thread: run the batch into a free cap_batch,
 * hand it over, return (the commit overlaps the next batch). */
static int flush_batch_overlap(strata_capture *c)
{
    int nb = c->nb, nrun = 0, T = 0;
    int64_t nrows = 0, ntok = 0, tbytes = 0, width = 0;
    if (!c->wr) {
        int64_t *widths = calloc((size_t)c->n_hooks + 1, sizeof *widths);
        if (!widths) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
        for (int i = 0; i < c->n_hooks; i++) widths[i] = c->hooks[i].width;
        c->base_docs = st_h5w_n_docs(c->w);
        c->base_rows = st_h5w_n_rows(c->w);
        c->next_token = st_h5w_n_tokens(c->w);
        int rc = cap_writer_start(c->w, c->n_hooks, widths, c->n_labels, c->o.batch, &c->wr, &c->err);
        free(widths);
        if (rc < 0) return rc;
    }
    for (int d = 0; d < nb; d++) {
        int64_t L = c->docs[d].ntok;
        c->doc_ntok[d] = L;
        c->doc_nrows[d] = L == 0 ? 0 : c->o.positions == STRATA_POS_ALL ? L : 1;
        c->row_base[d] = nrows;
        nrows += c->doc_nrows[d];
        ntok += L;
        if (L > width) width = L;
        tbytes += c->docs[d].text ? (int64_t)strlen(c->docs[d].text) : 0;
        if (L > 0) {
            c->run_doc[nrun] = d;
            c->lengths[nrun++] = (int32_t)L;
            if (L > T) T = (int)L;
        }
    }
    cap_batch *b = NULL;
    int rc = cap_writer_acquire(c->wr, nrows + 1, ntok + 1, &b, &c->err);
    if (rc < 0) {
        c->failed = 1;
        return rc;
    }
    for (int i = 0; i < c->n_hooks; i++) c->hooks[i].buf = b->acts[i];
    if (nrun > 0) {
        st_err_clear(&c->err);
        rc = run_batch(c, nrun);
        if (rc < 0 && c->err.msg[0]) return rc;
        if (rc < 0) return st_seterr(&c->err, rc, "forward pass failed: %s", strata_errmsg(c->m));
    }
    /* rows, labels, tokens, texts (moved into the batch) */
    int64_t to = 0;
    b->n_docs = nb;
    b->n_rows = nrows;
    b->n_tokens = ntok;
    b->width = width;
    b->text_bytes = tbytes;
    b->has_texts = c->has_text;
    for (int d = 0; d < nb; d++) {
        cap_doc *doc = &c->docs[d];
        int64_t L = doc->ntok, t0 = 0, t1 = L;
        if (c->o.positions == STRATA_POS_LAST) t0 = L - 1;
        else if (c->o.positions == STRATA_POS_FIRST) t1 = L > 0 ? 1 : 0;
        for (int64_t t = t0; L > 0 && t < t1; t++) {
            int64_t r = c->row_base[d] + (t - t0);
            b->rows[r] = c->next_token + to + t;
            for (int l = 0; l < c->n_labels; l++) b->labels[l][r] = doc->labels[l * L + t];
        }
        memcpy(b->tokens + to, doc->tokens, sizeof(int32_t) * (size_t)L);
        to += L;
        b->doc_ntok[d] = c->doc_ntok[d];
        b->doc_nrows[d] = c->doc_nrows[d];
        b->texts[d] = doc->text;   /* moved */
        doc->text = NULL;
    }
    st_sha256 hs = c->input_hash;
    uint8_t dg[32];
    st_sha256_final(&hs, dg);
    st_sha256_hex(dg, b->input_sha256);
    cap_writer_submit(c->wr, b);
    c->next_token += ntok;
    c->queued_docs += nb;
    c->queued_rows += nrows;
    c->queued_tokens += ntok;
    for (int d = 0; d < nb; d++) free_doc(&c->docs[d]);
    c->nb = 0;
    return after_batch(c);
}

/* Runs the pending documents and commits them. */
static int flush_batch(strata_capture *c)
{
    if (c->nb == 0) return STRATA_OK;
    if (c->o.overlap) return flush_batch_overlap(c);
    int nb = c->nb, nrun = 0, T = 0;
    int64_t nrows = 0, ntok = 0;
    int64_t *doc_ntok = c->doc_ntok, *doc_nrows = c->doc_nrows;   /* [nb] */
    for (int d = 0; d < nb; d++) {
        int64_t L = c->docs[d].ntok;
        doc_ntok[d] = L;
        doc_nrows[d] = L == 0 ? 0 : c->o.positions == STRATA_POS_ALL ? L : 1;
        c->row_base[d] = nrows;
        nrows += doc_nrows[d];
        ntok += L;
        if (L > 0) {
            c->run_doc[nrun] = d;
            c->lengths[nrun++] = (int32_t)L;
            if (L > T) T = (int)L;
        }
    }
    ST_TRY(grow_rows(c, nrows + 1));
    /* Disk space for the whole batch before the forward pass writes rows:
     * a full disk stops here with every earlier batch committed. */
    int64_t tbytes = 0;
    for (int d = 0; d < nb; d++) tbytes += c->docs[d].text ? (int64_t)strlen(c->docs[d].text) : 0;
    int rc = st_h5w_reserve(c->w, nb, ntok, nrows, tbytes, &c->err);
    if (rc < 0) {
        c->failed = 1;
        return rc;
    }
    if (nrun > 0) {
        for (int i = 0; i < c->n_hooks; i++) c->hooks[i].direct_rows = 0;
        st_err_clear(&c->err);
        rc = run_batch(c, nrun);
        if (rc < 0 && c->err.msg[0]) {   /* a hook's write failed: its message is ours */
            c->failed = 1;
            return rc;
        }
        if (rc < 0) return st_seterr(&c->err, rc, "forward pass failed: %s", strata_errmsg(c->m));
    }
    /* rows, labels, tokens, texts */
    int32_t *toks = malloc(sizeof *toks * (size_t)(ntok + 1));
    const char **texts = calloc(nb > 0 ? (size_t)nb : 1, sizeof *texts);
    if (!toks || !texts) {
        free(toks);
        free(texts);
        return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    int64_t tok_base = st_h5w_n_tokens(c->w), to = 0;
    for (int d = 0; d < nb; d++) {
        cap_doc *doc = &c->docs[d];
        int64_t L = doc->ntok, t0 = 0, t1 = L;
        if (c->o.positions == STRATA_POS_LAST) t0 = L - 1;
        else if (c->o.positions == STRATA_POS_FIRST) t1 = L > 0 ? 1 : 0;
        for (int64_t t = t0; L > 0 && t < t1; t++) {
            int64_t r = c->row_base[d] + (t - t0);
            c->rows[r] = tok_base + to + t;
            for (int l = 0; l < c->n_labels; l++) c->label_rows[l][r] = doc->labels[l * L + t];
        }
        memcpy(toks + to, doc->tokens, sizeof(int32_t) * (size_t)L);
        to += L;
        texts[d] = doc->text;
    }
    const float **acts = c->acts;   /* [n_hooks] */
    for (int i = 0; i < c->n_hooks; i++)
        acts[i] = nrun > 0 && c->hooks[i].direct_rows == nrows ? NULL : c->hooks[i].buf;
    /* the running input hash after this batch's documents (all pending ones) */
    st_sha256 hs = c->input_hash;
    uint8_t dg[32];
    char hex[65];
    st_sha256_final(&hs, dg);
    st_sha256_hex(dg, hex);
    st_h5w_batch b = {
        .n_docs = nb, .doc_ntok = doc_ntok, .doc_nrows = doc_nrows, .tokens = toks,
        .texts = c->has_text ? texts : NULL, .n_rows = nrows, .rows = c->rows, .acts = acts,
        .labels = (const float *const *)c->label_rows, .input_sha256 = hex, .width = 0,
    };
    for (int d = 0; d < nb; d++) if (doc_ntok[d] > b.width) b.width = doc_ntok[d];
    rc = st_h5w_append(c->w, &b, &c->err);
    free(toks);
    free(texts);
    for (int d = 0; d < nb; d++) free_doc(&c->docs[d]);
    c->nb = 0;
    if (rc < 0) {
        c->failed = 1;
        return rc;
    }
    return after_batch(c);
}

/* Number of UTF-8 code points in the first n bytes of s. */
static void char_index(const char *s, int64_t n, int64_t *idx /* [n+1] */)
{
    int64_t ci = -1;
    for (int64_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) ci++; /* a lead byte starts a character */
        idx[i] = ci < 0 ? 0 : ci;                       /* continuation bytes share it */
    }
    idx[n] = ci + 1;
}

/* Byte offset of the first ill-formed UTF-8 sequence in s[0..n), or -1. */
static int64_t utf8_bad_at(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80) { i++; continue; }
        size_t adv;
        if (st_utf8_next((const unsigned char *)s + i, n - i, &adv) < 0) return (int64_t)i;
        i += adv;
    }
    return -1;
}

/* The running input hash (docs/FORMAT.md, input_sha256): for each document
 * int64 LE token count, the tokens as int32 LE, int64 LE text length, the
 * text's UTF-8 bytes, then per label (file order) one float32 LE per token. */
static void hash_doc(st_sha256 *h, const cap_doc *d, int n_labels)
{
    uint8_t b[8];
    int64_t v = d->ntok;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    st_sha256_update(h, b, 8);
    st_sha256_update(h, d->tokens, sizeof(int32_t) * (size_t)d->ntok);
    v = d->text ? (int64_t)strlen(d->text) : 0;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    st_sha256_update(h, b, 8);
    if (v) st_sha256_update(h, d->text, (size_t)v);
    for (int l = 0; l < n_labels; l++)
        st_sha256_update(h, d->labels + (size_t)l * (size_t)d->ntok, sizeof(float) * (size_t)d->ntok);
}

/* --resume: input document di must be the one the file committed as di. */
static int verify_stored(strata_capture *c, int64_t di, const cap_doc *d)
{
    const int32_t *tok;
    const char *text;
    int64_t nt, tl;
    ST_TRY(st_h5w_stored_doc(c->w, di, &tok, &nt, &text, &tl, &c->err));
    if (nt != d->ntok || memcmp(tok, d->tokens, sizeof(int32_t) * (size_t)nt))
        return st_seterr(&c->err, STRATA_ERR_STATE,
                         "--resume: input document %lld differs from document %lld committed in %s "
                         "(other tokens: %lld in the input, %lld in the file); the input was "
                         "reordered or edited since the file was written. Nothing was changed",
                         (long long)di, (long long)di, c->path, (long long)d->ntok, (long long)nt);
    if (text && d->text &&
        (tl != (int64_t)strlen(d->text) || memcmp(text, d->text, (size_t)tl)))
        return st_seterr(&c->err, STRATA_ERR_STATE,
                         "--resume: input document %lld differs from document %lld committed in %s "
                         "(same tokens, other text); the input was edited since the file was "
                         "written. Nothing was changed", (long long)di, (long long)di, c->path);
    if (di == c->n_done - 1) {
        const char *want = st_h5w_stored_input_hash(c->w);
        st_sha256 hs = c->input_hash;
        uint8_t dg[32];
        char hex[65];
        st_sha256_final(&hs, dg);
        st_sha256_hex(dg, hex);
        if (want[0] && strcmp(want, hex))
            return st_seterr(&c->err, STRATA_ERR_STATE,
                             "--resume: the first %lld input documents have the tokens and text "
                             "committed in %s but not its input_sha256 (%.12s... in the file, "
                             "%.12s... now): their labels differ. Nothing was changed",
                             (long long)c->n_done, c->path, want, hex);
    }
    return STRATA_OK;
}

strata_status strata_capture_add_doc(strata_capture *c, const strata_capture_doc *doc)
{
    if (!c) return STRATA_ERR_ARG;
    if (c->finished) return st_seterr(&c->err, STRATA_ERR_STATE, "capture already finished");
    if (!doc || (!doc->text && !doc->tokens && doc->n_tokens > 0))
        return st_seterr(&c->err, STRATA_ERR_ARG, "document has neither text nor tokens");
    int has_text = doc->text != NULL;
    if (c->dist && !cap_dist_reading(c))
        return st_seterr(&c->err, STRATA_ERR_UNSUPPORTED,
                         "a distributed capture (%d ranks) reads its input itself: call "
                         "strata_capture_add_file on every rank", strata_dist_size());
    ST_TRY(ensure_store(c, has_text));
    int64_t di = c->seen++;
    /* A document already in a resumed file is prepared all the same, and
     * checked against the committed one (tokens, text, running hash). */
    const int skip = di < c->n_done;
    const strata_config *k = strata_model_config(c->m);
    cap_doc skipped;
    cap_doc *d = skip ? &skipped : &c->docs[c->nb];
    memset(d, 0, sizeof *d);
    int64_t *offs = NULL;
    int need_offs = 0;
    for (int l = 0; l < doc->n_labels; l++) need_offs |= doc->labels[l].n_spans > 0;
    int64_t n;
    if (has_text) {
        if (!c->tok)
            return st_seterr(&c->err, STRATA_ERR_STATE,
                             "the model has no tokenizer: give token ids instead of text");
        size_t len = doc->text_len < 0 ? strlen(doc->text) : (size_t)doc->text_len;
        int64_t bad = utf8_bad_at(doc->text, len);
        if (bad >= 0)
            return st_seterr(&c->err, STRATA_ERR_FORMAT,
                             "document %lld: invalid UTF-8 at byte %lld (0x%02X); texts must be "
                             "UTF-8", (long long)di, (long long)bad,
                             (unsigned)(unsigned char)doc->text[bad]);
        d->text = malloc(len + 1);
        if (!d->text) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
        memcpy(d->text, doc->text, len);
        d->text[len] = 0;
        int64_t cap = (int64_t)len + 16;
        for (;;) {
            d->tokens = malloc(sizeof(int32_t) * (size_t)cap);
            offs = need_offs ? malloc(sizeof(int64_t) * 2 * (size_t)cap) : NULL;
            if (!d->tokens || (need_offs && !offs)) {
                free(offs);
                free_doc(d);
                return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
            }
            n = strata_tokenize(c->tok, d->text, len, c->o.add_bos, d->tokens, cap, offs);
            if (n < 0) {
                free(offs);
                free_doc(d);
                return st_seterr(&c->err, STRATA_ERR_FORMAT, "document %lld: tokenizer: %s",
                                 (long long)di, strata_tokenizer_errmsg(c->tok));
            }
            if (n <= cap) break;
            free(offs);
            free(d->tokens);
            d->tokens = NULL;
            cap = n;
        }
    } else {
        n = doc->n_tokens;
        for (int64_t i = 0; i < n; i++)
            if (doc->tokens[i] < 0 || doc->tokens[i] >= k->vocab_size)
                return st_seterr(&c->err, STRATA_ERR_RANGE,
                                 "document %lld: token id %d at position %lld out of range "
                                 "(vocabulary has %d ids)", (long long)di, doc->tokens[i],
                                 (long long)i, k->vocab_size);
        d->tokens = malloc(sizeof(int32_t) * (size_t)(n + 1));
        if (!d->tokens) return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
        memcpy(d->tokens, doc->tokens, sizeof(int32_t) * (size_t)n);
    }
    const int64_t n_doc = n;   /* before truncation: per-token label arrays match it */
    if (n > c->W) {
        n = c->W;
        if (!skip) c->truncated++;
    }
    d->ntok = n;
    /* per-token labels [n_labels][n] */
    d->labels = calloc((size_t)(c->n_labels * n) + 1, sizeof(float));
    if (!d->labels) {
        free(offs);
        free_doc(d);
        return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    }
    int64_t *cidx = NULL;
    for (int l = 0; l < doc->n_labels; l++) {
        const strata_capture_label *lab = &doc->labels[l];
        int li = -1;
        for (int q = 0; lab->name && q < c->n_labels; q++)
            if (!strcmp(c->label_names[q], lab->name)) li = q;
        if (li < 0) {
            free(offs);
            free(cidx);
            free_doc(d);
            return st_seterr(&c->err, STRATA_ERR_ARG,
                             "document %lld: label '%s' was not declared when the capture opened",
                             (long long)di, lab->name ? lab->name : "(null)");
        }
        float *dst = d->labels + (size_t)li * (size_t)n;
        if (lab->values) {
            if (lab->n_values != n_doc) {
                free(offs);
                free(cidx);
                free_doc(d);
                return st_seterr(&c->err, STRATA_ERR_ARG,
                                 "document %lld: label '%s' has %lld per-token values for %lld tokens",
                                 (long long)di, lab->name, (long long)lab->n_values, (long long)n_doc);
            }
            for (int64_t t = 0; t < n; t++) dst[t] = (float)lab->values[t];
            continue;
        }
        if (lab->n_spans == 0) {
            for (int64_t t = 0; t < n; t++) dst[t] = (float)lab->value;
            continue;
        }
        if (!has_text) {
            free(offs);
            free(cidx);
            free_doc(d);
            return st_seterr(&c->err, STRATA_ERR_ARG,
                             "document %lld: span labels need text input", (long long)di);
        }
        size_t len = strlen(d->text);
        if (!cidx) {
            cidx = malloc(sizeof *cidx * (len + 1));
            if (!cidx) {
                free(offs);
                free_doc(d);
                return st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
            }
            char_index(d->text, (int64_t)len, cidx);
        }
        for (int64_t t = 0; t < n; t++) {
            int64_t b0 = offs[2 * t], b1 = offs[2 * t + 1];
            dst[t] = 0;
            if (b1 <= b0 || b0 < 0 || b0 >= (int64_t)len) continue; /* BOS, empty tokens */
            /* The token's first character, not counting the leading space a
             * word-initial token carries (" upon" -> 'u'), unless all space. */
            int64_t bs = b0;
            while (bs < b1 - 1 && (d->text[bs] == ' ' || d->text[bs] == '\t' ||
                                   d->text[bs] == '\n' || d->text[bs] == '\r'))
                bs++;
            if (bs < b1 && d->text[bs] != ' ' && d->text[bs] != '\t' && d->text[bs] != '\n' &&
                d->text[bs] != '\r')
                b0 = bs;
            double ch = (double)cidx[b0];
            for (int64_t s = 0; s < lab->n_spans; s++) {
                const double *sp = lab->spans + 3 * s;
                if (ch >= sp[0] && ch < sp[1]) {
                    dst[t] = (float)sp[2];
                    break;
                }
            }
        }
    }
    free(cidx);
    free(offs);
    if (!c->has_text) { free(d->text); d->text = NULL; }
    if (skip) {
        hash_doc(&c->input_hash, d, c->n_labels);
        int vr = verify_stored(c, di, d);
        free_doc(d);
        if (vr < 0) {
            c->failed = 1;
            return vr;
        }
        c->docs_skipped++;
        return STRATA_OK;
    }
    if (c->dist) return cap_dist_doc_added(c);   /* hashed with its window */
    hash_doc(&c->input_hash, d, c->n_labels);
    c->nb++;
    if (c->nb == c->o.batch) return flush_batch(c);
    return STRATA_OK;
}

strata_status strata_capture_add_text(strata_capture *c, const char *text, int64_t len)
{
    strata_capture_doc d = { .text = text ? text : "", .text_len = len };
    return strata_capture_add_doc(c, &d);
}

strata_status strata_capture_add_tokens(strata_capture *c, const int32_t *ids, int64_t n)
{
    static const int32_t none[1] = { 0 };
    strata_capture_doc d = { .tokens = ids ? ids : none, .n_tokens = ids ? n : 0 };
    return strata_capture_add_doc(c, &d);
}

void strata_capture_set_total(strata_capture *c, int64_t n_docs)
{
    if (c) c->docs_total = n_docs;
}

strata_status strata_capture_finish(strata_capture *c)
{
    if (!c) return STRATA_ERR_ARG;
    if (c->finished) return STRATA_OK;
    if (c->failed) return st_seterr(&c->err, STRATA_ERR_STATE, "capture failed earlier: not finished");
    int rc = STRATA_OK;
    if (!c->w && (!c->dist || c->has_text < 0)) {
        /* No document at all: an empty, complete file (token input layout). */
        ST_TRY(ensure_store(c, 0));
    }
    if (c->dist) return cap_dist_finish(c);
    rc = flush_batch(c);
    if (rc < 0 || rc == STRATA_STOPPED) return rc;
    if (c->wr) {   /* every batch committed, the store ours again */
        rc = cap_writer_stop(c->wr, &c->err);
        c->wr = NULL;
        if (rc < 0) {
            c->failed = 1;
            return rc;
        }
    }
    if (c->seen < c->n_done)
        return st_seterr(&c->err, STRATA_ERR_STATE,
                         "--resume: the file holds %lld documents but the input has only %lld",
                         (long long)c->n_done, (long long)c->seen);
    c->fin_docs = st_h5w_n_docs(c->w);
    c->fin_rows = st_h5w_n_rows(c->w);
    c->fin_tokens = st_h5w_n_tokens(c->w);
    rc = st_h5w_close(c->w, 1, c->truncated, &c->err);
    c->w = NULL;
    c->finished = 1;
    return rc;
}

int64_t strata_capture_n_done(const strata_capture *c) { return c ? c->n_done : 0; }

void strata_capture_get_stats(const strata_capture *c, strata_capture_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!c) return;
    if (c->wr) {   /* committed so far (the writer thread owns the store) */
        int64_t d, r, t;
        cap_writer_counts(c->wr, &d, &r, &t);
        s->docs = c->base_docs + d;
        s->rows = c->base_rows + r;
        s->tokens = t + (c->next_token - c->queued_tokens);
    } else {
        s->docs = c->w ? st_h5w_n_docs(c->w) : c->fin_docs;
        s->tokens = c->w ? st_h5w_n_tokens(c->w) : c->fin_tokens;
        s->rows = c->w ? st_h5w_n_rows(c->w) : c->fin_rows;
    }
    s->docs_skipped = c->docs_skipped;
    s->truncated = c->truncated;
    s->tokens_run = c->tokens_run;
    s->seconds = elapsed(c);
}

/* ------------------------------------------------------------------ */
/* input files                                                         */

/* Reads the next line (without \n / \r\n) into *buf; returns its length or -1 at EOF. */
static int64_t read_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, f);
    if (n < 0) return -1;
    while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r')) (*buf)[--n] = 0;
    return n;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* Parses one JSONL object: {"text": s, labels} (number or span labels) or
 * {"ids": [...], labels} (number or per-token labels, one value per id, null
 * = NaN).  With labels != NULL fills labels (spans or per-token values go to
 * a malloc'd *vals_out) and *ids_out (malloc'd, *n_ids); else only validates
 * and declares label names.  *is_ids says which kind the document is.
 * Returns STRATA_OK or an error with the message (naming the field) in err. */
static int jsonl_doc(strata_capture *c, json_t *o, int declare, strata_capture_label *labels,
                     int *n_labels, double **vals_out, const char **text, int32_t **ids_out,
                     int64_t *n_ids, int *is_ids, st_err *err)
{
    if (!json_is_object(o)) return st_seterr(err, STRATA_ERR_FORMAT, "not a JSON object");
    json_t *t = json_object_get(o, "text"), *jids = json_object_get(o, "ids");
    if (t && jids)
        return st_seterr(err, STRATA_ERR_FORMAT, "has both \"text\" and \"ids\" (give one)");
    if (!t && !jids)
        return st_seterr(err, STRATA_ERR_FORMAT,
                         "missing field \"text\" (a string) or \"ids\" (an array of token ids)");
    *is_ids = jids != NULL;
    *text = NULL;
    size_t nid = 0;
    if (t) {
        if (!json_is_string(t)) return st_seterr(err, STRATA_ERR_FORMAT, "field \"text\" is not a string");
        *text = json_string_value(t);
    } else {
        if (!json_is_array(jids) || json_array_size(jids) == 0)
            return st_seterr(err, STRATA_ERR_FORMAT, "field \"ids\" is not a non-empty array");
        nid = json_array_size(jids);
        for (size_t i = 0; i < nid; i++) {
            json_t *v = json_array_get(jids, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
                return st_seterr(err, STRATA_ERR_FORMAT,
                                 "field \"ids\": element %zu is not a token id (an integer >= 0)", i);
        }
        if (!declare) {
            int32_t *ids = malloc(sizeof *ids * nid);
            if (!ids) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
            for (size_t i = 0; i < nid; i++) ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
            *ids_out = ids;
            *n_ids = (int64_t)nid;
        }
    }
    const char *key;
    json_t *v;
    size_t total = 0;
    json_object_foreach(o, key, v) {
        if (json_is_array(v)) total += json_array_size(v);
    }
    double *vals = NULL;
    if (!declare) {
        vals = malloc(sizeof *vals * 3 * (total + 1));
        if (!vals) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
        *vals_out = vals;
    }
    int nl = 0;
    size_t so = 0;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "text") || !strcmp(key, "ids")) continue;
        int is_int = 1;
        if (json_is_number(v) || json_is_boolean(v)) {
            is_int = json_is_integer(v) || json_is_boolean(v);
            if (!declare) {
                labels[nl] = (strata_capture_label){ .name = key,
                    .value = json_is_boolean(v) ? (double)json_is_true(v) : json_number_value(v) };
                nl++;
            }
        } else if (json_is_array(v) && jids) {
            /* one value per id */
            if (json_array_size(v) != nid)
                return st_seterr(err, STRATA_ERR_FORMAT,
                                 "field \"%s\": %zu values for %zu ids (a per-token label needs one "
                                 "value per id)", key, json_array_size(v), nid);
            double *first = vals ? vals + so : NULL;
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                if (!json_is_number(x) && !json_is_null(x) && !json_is_boolean(x))
                    return st_seterr(err, STRATA_ERR_FORMAT,
                                     "field \"%s\": element %zu is not a number or null%s", key, i,
                                     json_is_array(x) ? " (span labels [start, end, value] need "
                                                        "\"text\")" : "");
                if (!json_is_integer(x) && !json_is_boolean(x)) is_int = 0;
                if (vals)
                    vals[so++] = json_is_null(x) ? NAN : json_is_boolean(x) ? (double)json_is_true(x)
                                                                            : json_number_value(x);
            }
            if (!declare) {
                labels[nl] = (strata_capture_label){ .name = key, .values = first,
                                                     .n_values = (int64_t)nid };
                nl++;
            }
        } else if (json_is_array(v)) {
            size_t i;
            json_t *sp;
            double *first = vals ? vals + 3 * so : NULL;
            json_array_foreach(v, i, sp) {
                if (json_is_number(sp) || json_is_null(sp))
                    return st_seterr(err, STRATA_ERR_FORMAT,
                                     "field \"%s\": element %zu is a number: per-token label arrays "
                                     "need \"ids\" (with \"text\" give [start, end, value] spans)", key, i);
                if (!json_is_array(sp) || json_array_size(sp) != 3 ||
                    !json_is_integer(json_array_get(sp, 0)) ||
                    !json_is_integer(json_array_get(sp, 1)) ||
                    !json_is_number(json_array_get(sp, 2)))
                    return st_seterr(err, STRATA_ERR_FORMAT,
                                     "field \"%s\": span %zu is not [start, end, value] with "
                                     "integer start and end", key, i);
                json_int_t a = json_integer_value(json_array_get(sp, 0));
                json_int_t b = json_integer_value(json_array_get(sp, 1));
                if (a < 0 || b < a)
                    return st_seterr(err, STRATA_ERR_FORMAT,
                                     "field \"%s\": span %zu has start %lld, end %lld (need 0 <= "
                                     "start <= end)", key, i, (long long)a, (long long)b);
                if (!json_is_integer(json_array_get(sp, 2))) is_int = 0;
                if (vals) {
                    vals[3 * so] = (double)a;
                    vals[3 * so + 1] = (double)b;
                    vals[3 * so + 2] = json_number_value(json_array_get(sp, 2));
                    so++;
                }
            }
            if (!declare) {
                labels[nl] = (strata_capture_label){ .name = key, .spans = first,
                                                     .n_spans = (int64_t)json_array_size(v) };
                /* An empty span list labels nothing: every token 0. */
                if (labels[nl].n_spans == 0) labels[nl].value = 0;
                nl++;
            }
        } else {
            continue; /* strings, null, objects: metadata, not labels */
        }
        if (declare) {
            int rc = add_label_name(c, key, is_int);
            if (rc < 0) return st_seterr(err, rc, "%s", c->err.msg);
        }
    }
    *n_labels = nl;
    return STRATA_OK;
}

static int parse_ids(const char *s, int32_t **ids, int64_t *cap, int64_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < INT32_MIN || v > INT32_MAX) return -1;
        if (*n == *cap) {
            int64_t nc = *cap ? 2 * *cap : 256;
            int32_t *t = realloc(*ids, sizeof *t * (size_t)nc);
            if (!t) return -2;
            *ids = t;
            *cap = nc;
        }
        (*ids)[(*n)++] = (int32_t)v;
        p = end;
    }
    return 0;
}

/* ---- the first pass's size estimate ---- */
typedef struct est {
    int64_t doc;       /* the document being counted (a distributed session records it) */
    int64_t tokens, rows, maxlen, text_bytes;
    int32_t *ids;
    int64_t cap;
    int failed;        /* a document could not be tokenized: no estimate */
} est;

static void est_doc(strata_capture *c, est *e, int64_t n, size_t text_len)
{
    if (n > c->W) n = c->W;
    if (c->dist && cap_dist_record(c, e->doc, n, (int64_t)text_len) < 0) e->failed = 1;
    e->tokens += n;
    e->rows += c->o.positions == STRATA_POS_ALL ? n : n > 0;
    if (n > e->maxlen) e->maxlen = n;
    e->text_bytes += (int64_t)text_len;
}

static void est_text(strata_capture *c, est *e, const char *text, size_t len)
{
    if (!c->tok) { e->failed = 1; return; }
    for (;;) {
        int64_t n = strata_tokenize(c->tok, text, len, c->o.add_bos, e->ids, e->cap, NULL);
        if (n < 0) { e->failed = 1; return; }
        if (n <= e->cap) { est_doc(c, e, n, len); return; }
        int32_t *t = realloc(e->ids, sizeof *t * (size_t)n);
        if (!t) { e->failed = 1; return; }
        e->ids = t;
        e->cap = n;
    }
}

/* Bytes n rows take in a dataset chunked as io/h5store.c does (about 1 MiB
 * of rows per chunk, 1..65536 rows; whole chunks are allocated). */
static int64_t chunked(int64_t n, int64_t row_bytes)
{
    int64_t cr = row_bytes > 0 ? ((int64_t)1 << 20) / row_bytes : 1;
    if (cr < 1) cr = 1;
    if (cr > 65536) cr = 65536;
    return (n + cr - 1) / cr * cr * row_bytes;
}

/* Bytes of the finished file (uncompressed): every hook's rows (attention
 * rows as wide as the longest document, in 16-key chunks), /rows, /tokens,
 * labels, the texts (bytes while capturing, vlen at close), the vocabulary,
 * and ~64 kB of metadata. */
static int64_t est_bytes(const strata_capture *c, const est *e, int has_text)
{
    int64_t es = c->o.dtype == STRATA_DTYPE_F16 ? 2 : 4, total = 65536;
    for (int i = 0; i < c->n_hooks; i++) {
        const cap_hook *h = &c->hooks[i];
        if (h->kk) {
            int64_t wc = h->row_shape[1] < 16 ? h->row_shape[1] : 16;
            int64_t nchunks = (e->maxlen + wc - 1) / wc;
            total += chunked(e->rows, es * h->row_shape[0] * wc) * nchunks;
        } else {
            total += chunked(e->rows, es * h->width);
        }
    }
    total += chunked(e->rows, 8) + chunked(e->tokens, 4) + c->n_labels * chunked(e->rows, 4);
    if (has_text) total += chunked(e->text_bytes, 1) + e->text_bytes;
    if (c->tok) total += 24 * (int64_t)strata_model_config(c->m)->vocab_size;
    return total;
}

strata_status strata_capture_add_file(strata_capture *c, int kind, const char *path)
{
    if (!c) return STRATA_ERR_ARG;
    if (kind < STRATA_INPUT_TEXT || kind > STRATA_INPUT_TOKENS)
        return st_seterr(&c->err, STRATA_ERR_ARG, "unknown input kind %d", kind);
    if (c->dist && (c->has_text >= 0 || c->finished))   /* (the same on every rank) */
        return st_seterr(&c->err, STRATA_ERR_UNSUPPORTED,
                         "a distributed capture (%d ranks) takes one input file", strata_dist_size());
    FILE *f = fopen(path, "rb");
    if (!f) return st_seterr(&c->err, STRATA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat fst;
    if (fstat(fileno(f), &fst) == 0 && S_ISDIR(fst.st_mode)) {
        fclose(f);
        return st_seterr(&c->err, STRATA_ERR_IO, "input %s is a directory, not a file of documents",
                         path);
    }
    if (fstat(fileno(f), &fst) != 0 || !S_ISREG(fst.st_mode)) {
        fclose(f);
        return st_seterr(&c->err, STRATA_ERR_IO,
                         "input %s is not a regular file (a pipe or device?): the input is read "
                         "twice (checked and counted first, then captured); save it to a file",
                         path);
    }
    char *line = NULL;
    size_t lcap = 0;
    int64_t len, lineno = 0, ndocs = 0, line_start = 0, next_start = 0, first_line = 0;
    int rc = STRATA_OK, file_ids = 0;
    st_err e;
    /* Pass 1: count documents; for JSONL also validate every line and
     * declare the labels before the file is created. */
    if (kind == STRATA_INPUT_JSONL && c->w)
        rc = st_seterr(&c->err, STRATA_ERR_STATE,
                       "%s: JSONL input must come first in a capture (labels are declared by it)",
                       path);
    est e1 = { 0 };
    while (rc == STRATA_OK && (len = read_line(f, &line, &lcap)) >= 0) {
        lineno++;
        line_start = next_start;
        next_start = ftello(f);
        /* Texts must be UTF-8: refuse, naming line and byte, before anything is written. */
        int64_t bad = kind == STRATA_INPUT_TOKENS ? -1 : utf8_bad_at(line, (size_t)len);
        if (bad >= 0) {
            rc = st_seterr(&c->err, STRATA_ERR_FORMAT,
                           "%s line %lld, byte %lld of the line (byte %lld of the file): invalid "
                           "UTF-8 (0x%02X); the input must be UTF-8", path, (long long)lineno,
                           (long long)bad, (long long)(line_start + bad),
                           (unsigned)(unsigned char)line[bad]);
            break;
        }
        if (is_blank(line)) continue;
        ndocs++;
        /* A distributed session counts document i on rank i % size only
         * (every rank still validates every line). */
        e1.doc = ndocs - 1;
        const int count_it = !c->dist || cap_dist_counts_mine(c, e1.doc);
        if (kind == STRATA_INPUT_TEXT) {
            if (count_it) est_text(c, &e1, line, c->dist ? strlen(line) : (size_t)len);
            continue;
        }
        if (kind == STRATA_INPUT_TOKENS && !count_it) continue;
        if (kind == STRATA_INPUT_TOKENS) {
            int32_t *tmp = NULL;
            int64_t tcap = 0, nt = 0;
            if (parse_ids(line, &tmp, &tcap, &nt) == 0) est_doc(c, &e1, nt, 0);
            free(tmp);
            continue;
        }
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        if (!o) {
            rc = st_seterr(&c->err, STRATA_ERR_FORMAT, "%s line %lld: malformed JSON: %s (column %d)",
                           path, (long long)lineno, je.text, je.column);
            break;
        }
        const char *text;
        int nl, is_ids = 0;
        rc = jsonl_doc(c, o, 1, NULL, &nl, NULL, &text, NULL, NULL, &is_ids, &e);
        if (rc >= 0 && text && count_it) est_text(c, &e1, text, strlen(text));
        else if (rc >= 0 && !text && c->dist && count_it)   /* ids: as many tokens as ids */
            est_doc(c, &e1, (int64_t)json_array_size(json_object_get(o, "ids")), 0);
        else if (rc >= 0 && !text) e1.failed = 1;   /* an ids document: counted in pass 2 only */
        json_decref(o);
        if (rc < 0) rc = st_seterr(&c->err, rc, "%s line %lld: %s", path, (long long)lineno, e.msg);
        else if (first_line == 0) { first_line = lineno; file_ids = is_ids; }
        else if (is_ids != file_ids)
            rc = st_seterr(&c->err, STRATA_ERR_FORMAT,
                           "%s line %lld: a document with \"%s\" after line %lld's with \"%s\" "
                           "(one kind per file)", path, (long long)lineno, is_ids ? "ids" : "text",
                           (long long)first_line, file_ids ? "ids" : "text");
    }
    if (rc == STRATA_OK && ferror(f))
        rc = st_seterr(&c->err, STRATA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (rc == STRATA_OK && c->docs_total < 0) c->docs_total = ndocs;
    if (c->dist) {
        /* every rank: the token count of every document (summed over ranks) */
        rc = cap_dist_pass1_done(c, rc, ndocs, &e1.tokens, &e1.rows, &e1.maxlen, &e1.text_bytes);
        e1.failed = 0;
    }
    /* Pass 2: the documents (the file is created or resumed first, so that
     * its errors carry no line number). */
    if (rc == STRATA_OK) rc = ensure_store(c, kind == STRATA_INPUT_TEXT || (kind == STRATA_INPUT_JSONL && !file_ids));
    free(e1.ids);
    if (rc == STRATA_OK && c->o.progress && !e1.failed) {
        strata_capture_progress p = {
            .docs_done = st_h5w_n_docs(c->w), .docs_total = c->docs_total,
            .rows_done = st_h5w_n_rows(c->w), .seconds = elapsed(c),
            .expected_bytes = est_bytes(c, &e1, kind == STRATA_INPUT_TEXT || (kind == STRATA_INPUT_JSONL && !file_ids)),
            .expected_rows = e1.rows, .expected_width = e1.maxlen,
        };
        /* (a distributed session stops at a window's end, on every rank) */
        if (c->o.progress(&p, c->o.progress_user) && !c->dist) rc = STRATA_STOPPED;
    }
    rewind(f);
    if (c->dist) cap_dist_set_reading(c, 1);
    lineno = 0;
    int32_t *ids = NULL;
    int64_t icap = 0, nid;
    strata_capture_label *labels = calloc((size_t)c->n_labels + 1, sizeof *labels);
    if (!labels && rc == STRATA_OK) rc = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
    while (rc == STRATA_OK && (len = read_line(f, &line, &lcap)) >= 0) {
        lineno++;
        if (is_blank(line)) continue;
        if (c->dist) {   /* another rank's document: skipped unread */
            int mine = 0;
            rc = cap_dist_next_doc(c, &mine);
            if (rc != STRATA_OK || !mine) continue;
        }
        if (kind == STRATA_INPUT_TEXT) {
            rc = strata_capture_add_text(c, line, len);
        } else if (kind == STRATA_INPUT_TOKENS) {
            int pr = parse_ids(line, &ids, &icap, &nid);
            if (pr == -2) rc = st_seterr(&c->err, STRATA_ERR_NOMEM, "out of memory");
            else if (pr < 0)
                rc = st_seterr(&c->err, STRATA_ERR_FORMAT,
                               "%s line %lld: not a list of token ids (integers separated by "
                               "spaces or commas)", path, (long long)lineno);
            else rc = strata_capture_add_tokens(c, ids, nid);
        } else {
            json_t *o = json_loadb(line, (size_t)len, 0, NULL);
            const char *text = NULL;
            int nl = 0, is_ids = 0;
            double *vals = NULL;
            int32_t *dids = NULL;
            int64_t n_dids = 0;
            rc = o ? jsonl_doc(c, o, 0, labels, &nl, &vals, &text, &dids, &n_dids, &is_ids, &e)
                   : st_seterr(&e, STRATA_ERR_FORMAT, "malformed JSON (file changed?)");
            if (rc == STRATA_OK && is_ids != file_ids)
                rc = st_seterr(&e, STRATA_ERR_FORMAT, "document kind changed (file changed?)");
            if (rc < 0) {
                rc = st_seterr(&c->err, rc, "%s line %lld: %s", path, (long long)lineno, e.msg);
            } else {
                strata_capture_doc d = { .text = text, .text_len = -1, .tokens = dids,
                                         .n_tokens = n_dids, .labels = labels, .n_labels = nl };
                rc = strata_capture_add_doc(c, &d);
            }
            free(vals);
            free(dids);
            json_decref(o);
        }
        if (rc < 0 && strncmp(c->err.msg, path, strlen(path))) { /* name the line */
            char tmp[ST_ERRMSG_MAX];
            snprintf(tmp, sizeof tmp, "%s", c->err.msg);
            st_seterr(&c->err, rc, "%s line %lld: %s", path, (long long)lineno, tmp);
        }
    }
    if (rc == STRATA_OK && ferror(f))
        rc = st_seterr(&c->err, STRATA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (c->dist) {
        cap_dist_set_reading(c, 0);
        if (rc < 0) cap_dist_fail(c, rc);   /* the others learn of it (once) */
    }
    free(labels);
    free(ids);
    free(line);
    fclose(f);
    return rc;
}
