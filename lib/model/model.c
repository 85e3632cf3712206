/* model/model.c — opening a model (format detection, config, weight binding),
 * lifetime, config getters, thread count and the OpenBLAS kernel check. */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/gguf_source.h"
#include "io/hf_dir.h"
#include "io/hub_cache.h"
#include "model/arch.h"
#include "model/model_internal.h"
#include "model/forward.h"
#include "model/packed.h"


strata_open_opts strata_open_opts_default(void)
{
    strata_open_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

const char *strata_errmsg(const strata_model *m)
{
    if (!m) return "out of memory (no model handle)";
    return m->err.msg;
}

const strata_config *strata_model_config(const strata_model *m) { return m ? &m->cfg : NULL; }
int64_t strata_model_n_params(const strata_model *m) { return m ? m->n_params : 0; }
const char *strata_model_format(const strata_model *m) { return m ? m->format : ""; }
const char *strata_model_path(const strata_model *m) { return m && m->path ? m->path : ""; }

int st_bind_vec(strata_model *m, st_wsource *src, const float **out, const char *name, int n)
{
    int64_t shape[1] = { n };
    return src->get(src, name, 1, shape, out, &m->err);
}

int st_bind_matrix(strata_model *m, st_wsource *src, st_linear *lin, const char *name, int n_out, int n_in)
{
    memset(lin, 0, sizeof *lin);
    int64_t shape[2] = { n_out, n_in };
    lin->n_in = n_in;
    lin->n_out = n_out;
    lin->ld = n_in;
    if (m->keep_stored && src->get_stored) {
        const void *p;
        int wt;
        ST_TRY(src->get_stored(src, name, 2, shape, &p, &wt, &m->err));
        if (wt == ST_WT_F32) lin->w = p;
        else { lin->wq = p; lin->wtype = wt; }
        return STRATA_OK;
    }
    return src->get(src, name, 2, shape, &lin->w, &m->err);
}

int st_bind_embed(strata_model *m, st_wsource *src, const char *name)
{
    ST_TRY(st_bind_matrix(m, src, &m->embed, name, m->cfg.vocab_size, m->cfg.d_model));
    m->tok_embed = m->embed.w;
    return STRATA_OK;
}

int st_bind_head(strata_model *m, st_wsource *src, const char *head)
{
    if (src->has(src, head)) {
        ST_TRY(st_bind_matrix(m, src, &m->unembed_lin, head, m->cfg.vocab_size, m->cfg.d_model));
        m->cfg.tied_embeddings = 0;
    } else if (m->cfg.tied_embeddings) {
        m->unembed_lin = m->embed;
    } else {
        return st_seterr(&m->err, STRATA_ERR_NOTFOUND,
                         "%s: missing tensor '%s' (config says tie_word_embeddings false)", src->path, head);
    }
    m->unembed = m->unembed_lin.w;
    return STRATA_OK;
}

int st_bind_linear(strata_model *m, st_wsource *src, st_linear *lin, const char *wname,
                   const char *bname, int n_out, int n_in, int in_out)
{
    memset(lin, 0, sizeof *lin);
    int64_t shape[2] = { in_out ? n_in : n_out, in_out ? n_out : n_in };
    if (!in_out) ST_TRY(st_bind_matrix(m, src, lin, wname, n_out, n_in));
    else ST_TRY(src->get(src, wname, 2, shape, &lin->w, &m->err));
    if (bname) ST_TRY(st_bind_vec(m, src, &lin->b, bname, n_out));
    lin->n_in = n_in;
    lin->n_out = n_out;
    lin->in_out = in_out;
    lin->ld = in_out ? n_out : n_in;
    return STRATA_OK;
}

int st_is_buffer_name(const char *name)
{
    static const char *const suffixes[] = {
        ".attn.bias", ".attn.masked_bias",                       /* GPT-2 */
        ".attention.bias", ".attention.masked_bias",             /* GPT-NeoX, GPT-Neo */
        ".rotary_emb.inv_freq",                                  /* NeoX, Llama family */
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && !strcmp(name + n - k, suffixes[i])) return 1;
    }
    return 0;
}

static int is_gguf_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[4] = { 0 };
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(magic, "GGUF", 4);
}

strata_status strata_hub_resolve(const char *id, const char *revision, char *out, size_t out_cap,
                                 char *msg, size_t msg_cap)
{
    st_err err;
    st_err_clear(&err);
    int rc = st_hub_resolve(id, revision, out, out_cap, &err);
    if (msg && msg_cap) snprintf(msg, msg_cap, "%s", rc ? err.msg : "");
    return rc;
}

/* A directory without config.json holding exactly one *.gguf file (a hub
 * snapshot of a GGUF repository): that file's path into out; else 0. */
static int single_gguf_in(const char *dir, char *out, size_t cap)
{
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (access(cfg, F_OK) == 0) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".gguf") && ++n == 1)
            snprintf(out, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n == 1;
}

strata_status strata_model_open(const char *path, const strata_open_opts *opts, strata_model **out)
{
    *out = NULL;
    strata_model *m = calloc(1, sizeof *m);
    if (!m) return STRATA_ERR_NOMEM;
    *out = m;
    m->next_hook_id = 1;
    m->n_threads = opts && opts->n_threads > 0 ? opts->n_threads : 0;
    m->nonfinite_mode = opts ? opts->nonfinite : STRATA_NONFINITE_WARN;
    if (m->nonfinite_mode < STRATA_NONFINITE_WARN || m->nonfinite_mode > STRATA_NONFINITE_OFF)
        return st_seterr(&m->err, STRATA_ERR_ARG, "open option nonfinite = %d; must be 0 (warn), "
                         "1 (error) or 2 (off)", (int)m->nonfinite_mode);
    m->keep_stored = !(opts && opts->weights_f32);
    if (!path) return st_seterr(&m->err, STRATA_ERR_ARG, "model path is NULL");
    const char *rev = opts && opts->revision && *opts->revision ? opts->revision : NULL;
    struct stat sb;
    char resolved[4096], gguf_path[4400];
    const char *hub_id = NULL;
    if (rev || stat(path, &sb) != 0) {
        /* not a local path (or a revision was asked for): a hub id in the cache */
        if (!st_hub_is_id(path)) {
            if (rev)
                return st_seterr(&m->err, STRATA_ERR_ARG, "%s: a revision ('%s') applies to hub ids "
                                 "(ORG/NAME) only, not to a path", path, rev);
            return st_seterr(&m->err, STRATA_ERR_IO, "%s: no such file or directory", path);
        }
        ST_TRY(st_hub_resolve(path, rev, resolved, sizeof resolved, &m->err));
        hub_id = path;
        path = resolved;
        if (stat(path, &sb) != 0)
            return st_seterr(&m->err, STRATA_ERR_IO, "%s: cannot stat the snapshot", path);
    }
    if (S_ISDIR(sb.st_mode) && single_gguf_in(path, gguf_path, sizeof gguf_path)) {
        path = gguf_path;
        if (stat(path, &sb) != 0) return st_seterr(&m->err, STRATA_ERR_IO, "%s: cannot stat", path);
    }
    m->path = strdup(path); /* the local file or directory actually loaded */
    if (!m->path) return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    int rc;
    if (S_ISDIR(sb.st_mode)) {
        snprintf(m->format, sizeof m->format, "hf");
        rc = st_hf_config(path, &m->cfg, &m->err);
        if (rc) return rc;
        rc = st_hf_source_open(path, &m->src, &m->err);
        if (rc) return rc;
    } else if (is_gguf_file(path)) {
        snprintf(m->format, sizeof m->format, "gguf");
        rc = st_gguf_source_open(path, &m->src, &m->cfg, &m->err);
        if (rc) return rc;
    } else {
        return st_seterr(&m->err, STRATA_ERR_FORMAT,
                         "%s: not a model directory (config.json + safetensors) or a GGUF file", path);
    }
    if (hub_id) {   /* the snapshot's path ends in a commit hash: name the model by its id */
        if (rev) snprintf(m->cfg.name, sizeof m->cfg.name, "%s@%s", hub_id, rev);
        else snprintf(m->cfg.name, sizeof m->cfg.name, "%s", hub_id);
    }
    m->has_src = 1;
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers) return st_seterr(&m->err, STRATA_ERR_NOMEM, "out of memory");
    const st_arch *arch = st_arch_by_id(m->cfg.arch);
    if (!arch) return st_seterr(&m->err, STRATA_ERR_UNSUPPORTED, "%s: unknown architecture %d", path, m->cfg.arch);
    rc = arch->bind(m, &m->src);
    if (rc) return rc;
    /* every tensor of the file must have been bound or be a known buffer:
     * a weight strata does not know would otherwise be silently left out */
    if (m->src.check_unused) ST_TRY(m->src.check_unused(&m->src, &m->err));
    /* binders that set float32 pointers directly: the same as matrices */
    const st_linear f32 = { .n_out = m->cfg.vocab_size, .n_in = m->cfg.d_model, .ld = m->cfg.d_model };
    if (!m->embed.w && !m->embed.wq) { m->embed = f32; m->embed.w = m->tok_embed; }
    if (!m->unembed_lin.w && !m->unembed_lin.wq) { m->unembed_lin = f32; m->unembed_lin.w = m->unembed; }
    m->unembed_lin.b = m->unembed_b;
    m->n_params = m->src.used_elems;   /* each distinct tensor bound, tied ones once */
    rc = st_hooks_init(m);
    if (rc) return rc;
    /* The tokenizer is optional: a model without one still runs on ids. */
    strata_tokenizer *tok = NULL;
    if (strata_tokenizer_open(path, &tok) == STRATA_OK) m->tok = tok;
    else strata_tokenizer_free(tok);
    st_err_clear(&m->err);
    return STRATA_OK;
}

void strata_model_free(strata_model *m)
{
    if (!m) return;
    st_forward_release(m);
    st_pack_model_free(m);
    strata_tokenizer_free(m->tok);
    if (m->has_src && m->src.close) m->src.close(&m->src);
    free(m->layers);
    free(m->hooks);
    free(m->hooked_at);
    free(m->point_names);
    free(m->path);
    free(m);
}

strata_tokenizer *strata_model_tokenizer(strata_model *m) { return m ? m->tok : NULL; }

strata_status strata_model_set_nonfinite(strata_model *m, int mode)
{
    if (!m) return STRATA_ERR_ARG;
    if (mode < STRATA_NONFINITE_WARN || mode > STRATA_NONFINITE_OFF)
        return st_seterr(&m->err, STRATA_ERR_ARG, "nonfinite mode %d; must be 0 (warn), 1 (error) "
                         "or 2 (off)", mode);
    m->nonfinite_mode = mode;
    m->nonfinite_at[0] = 0;
    return STRATA_OK;
}

const char *strata_model_nonfinite(const strata_model *m)
{
    return m && m->nonfinite_at[0] ? m->nonfinite_at : NULL;
}

void strata_model_weight_memory(const strata_model *m, int64_t *mapped_bytes, int64_t *owned_bytes)
{
    if (mapped_bytes) *mapped_bytes = m ? m->src.bytes_mapped : 0;
    if (owned_bytes) *owned_bytes = m ? m->src.bytes_owned : 0;
}

strata_status strata_model_set_threads(strata_model *m, int n_threads)
{
    if (!m) return STRATA_ERR_ARG;
    if (n_threads < 0) return st_seterr(&m->err, STRATA_ERR_ARG, "n_threads must be >= 0 (0 = all cores)");
    m->n_threads = n_threads;
    return STRATA_OK;
}

/* ---------------- OpenBLAS kernel check ---------------- */

const char *strata_blas_corename(void)
{
    const char *s = openblas_get_corename();
    return s ? s : "unknown";
}

/* The kernel OpenBLAS chose cannot change while the process runs: the
 * message is built once (pthread_once), so any thread may ask. */
static char blas_warning_msg[256];
static pthread_once_t blas_warning_once = PTHREAD_ONCE_INIT;

static void blas_warning_build(void)
{
    const char *core = strata_blas_corename();
    int generic = !strcasecmp(core, "Prescott") || !strcasecmp(core, "Core2") ||
                  !strcasecmp(core, "Penryn") || !strcasecmp(core, "Nehalem") ||
                  !strcasecmp(core, "Dunnington") || !strcasecmp(core, "Atom") ||
                  !strcasecmp(core, "Katmai") || !strcasecmp(core, "Coppermine") ||
                  !strcasecmp(core, "Northwood") || !strcasecmp(core, "Banias");
    if (!generic) return;
    __builtin_cpu_init();
    const char *want = NULL;
    if (__builtin_cpu_supports("avx512f")) want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2")) want = "Haswell";
    if (!want) return;
    snprintf(blas_warning_msg, sizeof blas_warning_msg,
             "OpenBLAS is running its generic '%s' kernel on a CPU with %s; matrix products "
             "are several times slower than they could be. Set OPENBLAS_CORETYPE=%s.",
             core, !strcmp(want, "SkylakeX") ? "AVX-512" : "AVX2", want);
}

const char *strata_blas_warning(void)
{
    pthread_once(&blas_warning_once, blas_warning_build);
    return blas_warning_msg[0] ? blas_warning_msg : NULL;
}
