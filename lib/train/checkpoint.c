/* train/checkpoint.c — checkpoints as Hugging Face GPT-2 directories.
 *
 * DIR/step-<N>/ holds config.json (model_type gpt2; "strata_attn_only": true
 * for attention-only models; bos_token_id / eos_token_id from the run's
 * tokenizer when it has them), model.safetensors (float32, HF names without
 * the "transformer." prefix), optimizer.safetensors ("exp_avg.<name>",
 * "exp_avg_sq.<name>": AdamW m and v), trainer_state.json and copies of the
 * tokenizer files.  It is written as DIR/.tmp-step-<N>/, every file
 * fsync'ed, then renamed into place, so a failure (a full disk) leaves the
 * earlier checkpoints as they were and no half-written step-<N>.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/hf_dir.h"
#include "io/json_util.h"
#include "io/safetensors.h"
#include "io/safetensors_write.h"
#include "model/arch.h"
#include "strata/model.h"
#include "strata/tokenizer.h"
#include "train/train_internal.h"

static const char *const TOKENIZER_FILES[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
    "merges.txt", "tokenizer.model", "added_tokens.json", NULL };

int tr_remove_flat_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(path);
}

/* Writes a whole file (fsync'ed), errors name it. */
static int write_file(const char *path, const void *data, size_t n, st_err *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return st_seterr(err, STRATA_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(data, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (fclose(f) != 0 && ok) { ok = 0; e = errno; }
    if (!ok) return st_seterr(err, STRATA_ERR_IO, "%s: write failed: %s", path, strerror(e));
    return STRATA_OK;
}

static int write_json(const char *path, json_t *j, st_err *err)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!s) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    size_t n = strlen(s);
    char *s2 = realloc(s, n + 2);
    if (!s2) { free(s); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
    s2[n] = '\n';
    s2[n + 1] = 0;
    int rc = write_file(path, s2, n + 1, err);
    free(s2);
    return rc;
}

static int copy_file(const char *from, const char *to, st_err *err)
{
    FILE *f = fopen(from, "rb");
    if (!f) return st_seterr(err, STRATA_ERR_IO, "%s: cannot open: %s", from, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) { fclose(f); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if ((long)got != n) { free(buf); return st_seterr(err, STRATA_ERR_IO, "%s: read failed", from); }
    int rc = write_file(to, buf, (size_t)n, err);
    free(buf);
    return rc;
}

static json_t *config_json(const tr_dims *d)
{
    json_t *j = json_object();
    json_object_set_new(j, "model_type", json_string("gpt2"));
    json_object_set_new(j, "architectures", json_pack("[s]", "GPT2LMHeadModel"));
    json_object_set_new(j, "n_layer", json_integer(d->n_layer));
    json_object_set_new(j, "n_head", json_integer(d->n_head));
    json_object_set_new(j, "n_embd", json_integer(d->d_model));
    json_object_set_new(j, "n_positions", json_integer(d->n_ctx));
    json_object_set_new(j, "n_ctx", json_integer(d->n_ctx));
    json_object_set_new(j, "vocab_size", json_integer(d->vocab));
    /* attention-only: no MLP; n_inner null keeps HF's default and means nothing here */
    json_object_set_new(j, "n_inner", d->attn_only ? json_null() : json_integer(d->d_mlp));
    char eps[32];   /* the float as written in configs (1e-05), not its binary expansion */
    snprintf(eps, sizeof eps, "%.7g", d->ln_eps);
    json_object_set_new(j, "layer_norm_epsilon", json_real(strtod(eps, NULL)));
    json_object_set_new(j, "activation_function", json_string("gelu_new"));
    json_object_set_new(j, "tie_word_embeddings", json_true());
    json_object_set_new(j, "resid_pdrop", json_real(0));
    json_object_set_new(j, "embd_pdrop", json_real(0));
    json_object_set_new(j, "attn_pdrop", json_real(0));
    if (d->attn_only) json_object_set_new(j, "strata_attn_only", json_true());
    json_object_set_new(j, "torch_dtype", json_string("float32"));
    return j;
}

static json_t *state_json(const tr_model *m, const tr_state *st)
{
    char rng[4][24];
    for (int i = 0; i < 4; i++) snprintf(rng[i], sizeof rng[i], "%016llx", (unsigned long long)st->rng[i]);
    json_t *j = json_object();
    json_object_set_new(j, "step", json_integer(st->step));
    json_object_set_new(j, "tokens_seen", json_integer(st->tokens_seen));
    json_object_set_new(j, "n_params", json_integer(m->n_params));
    json_object_set_new(j, "loss", isfinite(st->loss) ? json_real(st->loss) : json_null());
    json_object_set_new(j, "eval_loss", isfinite(st->eval_loss) ? json_real(st->eval_loss) : json_null());
    json_object_set_new(j, "lr", json_real(st->lr));
    json_object_set_new(j, "seed", json_integer((json_int_t)st->seed));
    json_object_set_new(j, "strata_version", json_string(STRATA_VERSION));
    json_object_set_new(j, "rng_state", json_pack("[s,s,s,s]", rng[0], rng[1], rng[2], rng[3]));
    json_t *h = json_object();
    json_object_set_new(h, "steps", json_integer(st->steps));
    json_object_set_new(h, "batch", json_integer(st->batch));
    json_object_set_new(h, "seq", json_integer(st->seq));
    json_object_set_new(h, "lr", json_real(st->lr_max));
    json_object_set_new(h, "schedule", json_string(st->cosine ? "cosine" : "constant"));
    json_object_set_new(h, "warmup", json_integer(st->warmup));
    json_object_set_new(h, "weight_decay", json_real(st->weight_decay));
    json_object_set_new(h, "beta1", json_real(st->beta1));
    json_object_set_new(h, "beta2", json_real(st->beta2));
    json_object_set_new(h, "eps", json_real(st->eps));
    json_object_set_new(h, "clip", json_real(st->clip));
    json_object_set_new(h, "init_std", json_real(st->init_std));
    json_object_set_new(h, "data_rows", json_integer(st->data_rows));
    json_object_set_new(h, "data_tokens", json_integer(st->data_tokens));
    json_object_set_new(h, "data_targets", json_integer(st->data_targets));
    json_object_set_new(h, "loss_mask", *st->loss_mask ? json_string(st->loss_mask) : json_null());
    json_object_set_new(j, "hparams", h);
    return j;
}

static int save_tensors(const char *path, const tr_model *m, const float *base, const char *prefix,
                        st_err *err)
{
    st_sft_out *t = calloc((size_t)m->n_tensors, sizeof *t);
    char (*names)[TR_NAME_MAX + 16] = calloc((size_t)m->n_tensors, sizeof *names);
    if (!t || !names) { free(t); free(names); return st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < m->n_tensors; i++) {
        const tr_tensor *tt = &m->tensors[i];
        snprintf(names[i], sizeof names[i], "%s%s", prefix, tt->name);
        t[i].name = names[i];
        t[i].ndim = tt->ndim;
        t[i].shape[0] = tt->shape[0];
        t[i].shape[1] = tt->shape[1];
        t[i].data = base + tt->off;
    }
    int rc = st_safetensors_write(path, t, m->n_tensors, err);
    free(t);
    free(names);
    return rc;
}

int tr_checkpoint_save(const char *dir, const tr_model *m, const tr_state *st, const char *tok_dir,
                       st_err *err)
{
    char tmp[4096], fin[4096], p[4200], q[8300];
    snprintf(tmp, sizeof tmp, "%s/.tmp-step-%lld", dir, (long long)st->step);
    snprintf(fin, sizeof fin, "%s/step-%lld", dir, (long long)st->step);
    tr_remove_flat_dir(tmp);
    if (mkdir(tmp, 0777) != 0)
        return st_seterr(err, STRATA_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int rc;
    json_t *cj = config_json(&m->dims);
    if (tok_dir) {
        /* bos/eos ids from the run's tokenizer, as HF configs carry them (the
         * induction protocol of strata attn starts its documents with BOS) */
        strata_tokenizer *tk = NULL;
        if (strata_tokenizer_open(tok_dir, &tk) == STRATA_OK) {
            if (strata_tokenizer_bos(tk) >= 0)
                json_object_set_new(cj, "bos_token_id", json_integer(strata_tokenizer_bos(tk)));
            if (strata_tokenizer_eos(tk) >= 0)
                json_object_set_new(cj, "eos_token_id", json_integer(strata_tokenizer_eos(tk)));
        }
        strata_tokenizer_free(tk);
    }
    snprintf(p, sizeof p, "%s/config.json", tmp);
    rc = write_json(p, cj, err);
    json_decref(cj);
    if (rc) goto fail;
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    if ((rc = save_tensors(p, m, m->params, "", err))) goto fail;
    {
        /* m and v in one file: names exp_avg.<name> then exp_avg_sq.<name> */
        st_sft_out *t = calloc((size_t)(2 * m->n_tensors), sizeof *t);
        char (*names)[TR_NAME_MAX + 16] = calloc((size_t)(2 * m->n_tensors), sizeof *names);
        if (!t || !names) { free(t); free(names); rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory"); goto fail; }
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < m->n_tensors; i++) {
                const tr_tensor *tt = &m->tensors[i];
                int idx = k * m->n_tensors + i;
                snprintf(names[idx], sizeof names[idx], "%s.%s", k ? "exp_avg_sq" : "exp_avg", tt->name);
                t[idx] = (st_sft_out){ names[idx], tt->ndim, { tt->shape[0], tt->shape[1] },
                                       (k ? m->adam_v : m->adam_m) + tt->off };
            }
        snprintf(p, sizeof p, "%s/optimizer.safetensors", tmp);
        rc = st_safetensors_write(p, t, 2 * m->n_tensors, err);
        free(t);
        free(names);
        if (rc) goto fail;
    }
    json_t *sj = state_json(m, st);
    snprintf(p, sizeof p, "%s/trainer_state.json", tmp);
    rc = write_json(p, sj, err);
    json_decref(sj);
    if (rc) goto fail;
    if (tok_dir) {
        for (int i = 0; TOKENIZER_FILES[i]; i++) {
            snprintf(q, sizeof q, "%s/%s", tok_dir, TOKENIZER_FILES[i]);
            if (access(q, R_OK) != 0) continue;
            snprintf(p, sizeof p, "%s/%s", tmp, TOKENIZER_FILES[i]);
            if ((rc = copy_file(q, p, err))) goto fail;
        }
    }
    /* an older step-<N> (a resumed run writing it again) is replaced */
    struct stat sb;
    if (stat(fin, &sb) == 0) {
        snprintf(q, sizeof q, "%s/.old-step-%lld", dir, (long long)st->step);
        tr_remove_flat_dir(q);
        if (rename(fin, q) != 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot move aside: %s", fin, strerror(errno));
            goto fail;
        }
        if (rename(tmp, fin) != 0) {
            rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot rename to %s: %s", tmp, fin, strerror(errno));
            rename(q, fin);
            goto fail;
        }
        tr_remove_flat_dir(q);
    } else if (rename(tmp, fin) != 0) {
        rc = st_seterr(err, STRATA_ERR_IO, "%s: cannot rename to %s: %s", tmp, fin, strerror(errno));
        goto fail;
    }
    return STRATA_OK;
fail:
    tr_remove_flat_dir(tmp);
    return rc;
}

int tr_checkpoint_link_final(const char *dir, int64_t step, st_err *err)
{
    char tmp[4096], fin[4096], target[64];
    snprintf(tmp, sizeof tmp, "%s/.tmp-final", dir);
    snprintf(fin, sizeof fin, "%s/final", dir);
    snprintf(target, sizeof target, "step-%lld", (long long)step);
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, fin) != 0) {
        int e = errno;
        unlink(tmp);
        return st_seterr(err, STRATA_ERR_IO, "%s: cannot link to %s: %s", fin, target, strerror(e));
    }
    return STRATA_OK;
}

static int dims_from_cfg(const strata_config *c, const char *path, tr_dims *d, st_err *err)
{
    if (c->arch != STRATA_ARCH_GPT2)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: strata train trains GPT-2 models (model_type gpt2)", path);
    if (c->act != STRATA_ACT_GELU_NEW)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: activation_function must be gelu_new (or gelu_pytorch_tanh) for strata train", path);
    if (c->attn_scale != 0 || c->attn_softcap != 0 || c->final_softcap != 0 || c->sliding_window > 0)
        return st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: strata train implements standard GPT-2 attention only "
                         "(scale_attn_weights true, no soft-capping or sliding window)", path);
    d->n_layer = c->n_layers;
    d->n_head = c->n_heads;
    d->d_model = c->d_model;
    d->d_mlp = c->d_mlp;
    d->n_ctx = c->n_ctx;
    d->vocab = c->vocab_size;
    d->attn_only = c->attn_only;
    d->ln_eps = c->norm_eps;
    return STRATA_OK;
}

int tr_config_read(const char *path, tr_dims *dims, st_err *err)
{
    json_t *j;
    ST_TRY(st_json_load_file(path, &j, err));
    const char *mt = NULL;
    int rc = st_json_str(j, "model_type", path, 0, "gpt2", &mt, err);
    if (!rc && strcmp(mt, "gpt2"))
        rc = st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: model_type '%s': strata train trains gpt2 models", path, mt);
    strata_config c;
    memset(&c, 0, sizeof c);
    if (!rc) rc = st_arch_by_id(STRATA_ARCH_GPT2)->config_hf(j, path, &c, err);
    json_decref(j);
    if (rc) return rc;
    return dims_from_cfg(&c, path, dims, err);
}

int tr_weights_load(const char *dir, tr_model *m, st_err *err)
{
    st_wsource src;
    memset(&src, 0, sizeof src);
    ST_TRY(st_hf_source_open(dir, &src, err));
    const char *pfx = src.has(&src, "transformer.wte.weight") ? "transformer." : "";
    int rc = STRATA_OK;
    char nm[TR_NAME_MAX + 16];
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const tr_tensor *t = &m->tensors[i];
        snprintf(nm, sizeof nm, "%s%s", pfx, t->name);
        const float *p = NULL;
        rc = src.get(&src, nm, t->ndim, t->shape, &p, err);
        if (!rc) memcpy(m->params + t->off, p, sizeof(float) * (size_t)t->n);
    }
    if (!rc && src.has(&src, "lm_head.weight")) {
        const float *p = NULL;
        const tr_tensor *t = &m->tensors[tr_model_find(m, "wte.weight")];
        rc = src.get(&src, "lm_head.weight", 2, t->shape, &p, err);
        if (!rc && memcmp(p, m->params + t->off, sizeof(float) * (size_t)t->n))
            rc = st_seterr(err, STRATA_ERR_UNSUPPORTED, "%s: lm_head.weight differs from wte.weight: strata train trains tied embeddings only", dir);
    }
    if (src.close) src.close(&src);
    return rc;
}

int tr_optimizer_load(const char *dir, tr_model *m, st_err *err)
{
    char p[4096], nm[TR_NAME_MAX + 16];
    snprintf(p, sizeof p, "%s/optimizer.safetensors", dir);
    st_safetensors f;
    ST_TRY(st_safetensors_open(&f, p, err));
    int rc = STRATA_OK;
    for (int k = 0; k < 2 && !rc; k++)
        for (int i = 0; i < m->n_tensors && !rc; i++) {
            const tr_tensor *t = &m->tensors[i];
            snprintf(nm, sizeof nm, "%s.%s", k ? "exp_avg_sq" : "exp_avg", t->name);
            const st_sft_tensor *e = st_safetensors_find(&f, nm);
            if (!e) { rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor %s missing", p, nm); break; }
            if (e->dtype != ST_DT_F32 || e->nbytes != sizeof(float) * (uint64_t)t->n) {
                rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: tensor %s: expected %lld float32 values", p, nm, (long long)t->n);
                break;
            }
            memcpy((k ? m->adam_v : m->adam_m) + t->off, e->data, e->nbytes);
        }
    st_safetensors_close(&f);
    return rc;
}

int tr_state_load(const char *dir, tr_state *st, st_err *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/trainer_state.json", dir);
    json_t *j;
    ST_TRY(st_json_load_file(p, &j, err));
    memset(st, 0, sizeof *st);
    int64_t seed = 0, v;
    int rc = st_json_int(j, "step", p, 1, 0, &st->step, err);
    if (!rc) rc = st_json_int(j, "tokens_seen", p, 1, 0, &st->tokens_seen, err);
    if (!rc) rc = st_json_num(j, "loss", p, 0, NAN, &st->loss, err);
    if (!rc) rc = st_json_num(j, "eval_loss", p, 0, NAN, &st->eval_loss, err);
    if (!rc) rc = st_json_num(j, "lr", p, 1, 0, &st->lr, err);
    if (!rc) rc = st_json_int(j, "seed", p, 1, 0, &seed, err);
    st->seed = (uint64_t)seed;
    json_t *r = json_object_get(j, "rng_state");
    if (!rc && (!json_is_array(r) || json_array_size(r) != 4))
        rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'rng_state' must be 4 hex strings", p);
    for (int i = 0; i < 4 && !rc; i++) {
        const char *s = json_string_value(json_array_get(r, i));
        char *end;
        if (!s || (st->rng[i] = strtoull(s, &end, 16), *end))
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'rng_state' must be 4 hex strings", p);
    }
    json_t *h = json_object_get(j, "hparams");
    if (!rc && !json_is_object(h)) rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'hparams' missing", p);
    const char *sched = NULL;
    if (!rc) rc = st_json_int(h, "steps", p, 1, 0, &st->steps, err);
    if (!rc) rc = st_json_int(h, "batch", p, 1, 0, &v, err), st->batch = (int32_t)v;
    if (!rc) rc = st_json_int(h, "seq", p, 1, 0, &v, err), st->seq = (int32_t)v;
    if (!rc) rc = st_json_num(h, "lr", p, 1, 0, &st->lr_max, err);
    if (!rc) rc = st_json_str(h, "schedule", p, 1, NULL, &sched, err);
    if (!rc) st->cosine = !strcmp(sched, "cosine");
    if (!rc) rc = st_json_int(h, "warmup", p, 1, 0, &st->warmup, err);
    if (!rc) rc = st_json_num(h, "weight_decay", p, 1, 0, &st->weight_decay, err);
    if (!rc) rc = st_json_num(h, "beta1", p, 1, 0, &st->beta1, err);
    if (!rc) rc = st_json_num(h, "beta2", p, 1, 0, &st->beta2, err);
    if (!rc) rc = st_json_num(h, "eps", p, 1, 0, &st->eps, err);
    if (!rc) rc = st_json_num(h, "clip", p, 1, 0, &st->clip, err);
    if (!rc) rc = st_json_num(h, "init_std", p, 1, 0, &st->init_std, err);
    if (!rc) rc = st_json_int(h, "data_rows", p, 1, 0, &st->data_rows, err);
    if (!rc) rc = st_json_int(h, "data_tokens", p, 1, 0, &st->data_tokens, err);
    /* checkpoints written before the loss mask existed: no mask, targets not recorded (-1) */
    if (!rc) rc = st_json_int(h, "data_targets", p, 0, -1, &st->data_targets, err);
    const json_t *lm = json_object_get(h, "loss_mask");
    if (!rc && lm && !json_is_null(lm)) {
        if (!json_is_string(lm) || !*json_string_value(lm) || json_string_length(lm) >= sizeof st->loss_mask)
            rc = st_seterr(err, STRATA_ERR_FORMAT, "%s: field 'hparams.loss_mask' must be null or a label name", p);
        else
            snprintf(st->loss_mask, sizeof st->loss_mask, "%s", json_string_value(lm));
    }
    json_decref(j);
    return rc;
}
