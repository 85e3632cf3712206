/* train/trainer.c — strata_trainer: options, data, output folder, resume,
 * and the training loop (batch -> forward -> backward -> clip -> AdamW ->
 * log -> checkpoint).  See strata/train.h and docs/TRAIN.md.
 *
 * Batches: step s (0-based) uses rows (s*B + i) mod R, i < B, of the R
 * training rows; the batch is padded to its longest row T_b (<= seq) and
 * position t of row i predicts token t+1 when t+1 < len_i and, with a loss
 * mask, mask_i[t+1] = 1 (targets -1 elsewhere).  Nothing random happens after initialisation, so the state a
 * resume needs is the weights, the AdamW moments and the step number.
 */
#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata/model.h"
#include "strata/tokenizer.h"
#include "strata/train.h"
#include "train/train_internal.h"

struct strata_trainer {
    st_err err;
    strata_train_opts o;
    char *out_dir, *tok_dir;
    strata_tokenizer *tok;
    tr_model m;
    tr_acts a;
    tr_rows rows, eval_rows;
    int have_model, have_acts, have_eval;
    int32_t seq;
    tr_state st;               /* of the last completed step */
    int64_t start_step, last_saved;
    int32_t *tokens, *targets; /* [B][seq] */
    strata_train_summary sum;
};

strata_train_opts strata_train_opts_default(void)
{
    strata_train_opts o;
    memset(&o, 0, sizeof o);
    o.batch = 8;
    o.lr = 1e-3;
    o.cosine = 1;
    o.weight_decay = 0.01;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.clip = 1.0;
    o.init_std = 0.02;
    return o;
}

const char *strata_trainer_errmsg(const strata_trainer *t)
{
    return t ? t->err.msg : "out of memory";
}

const strata_train_summary *strata_trainer_summary(const strata_trainer *t) { return t ? &t->sum : NULL; }

void strata_trainer_free(strata_trainer *t)
{
    if (!t) return;
    if (t->have_model) tr_model_free(&t->m);
    if (t->have_acts) tr_acts_free(&t->a);
    tr_rows_free(&t->rows);
    if (t->have_eval) tr_rows_free(&t->eval_rows);
    strata_tokenizer_free(t->tok);
    free(t->out_dir);
    free(t->tok_dir);
    free(t->tokens);
    free(t->targets);
    free(t);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------- options ---------------- */

static int check_opts(strata_trainer *t, const strata_train_opts *o)
{
    st_err *e = &t->err;
    if (!o->out_dir || !*o->out_dir) return st_seterr(e, STRATA_ERR_ARG, "no output folder (--out DIR)");
    if (!o->input_path) return st_seterr(e, STRATA_ERR_ARG, "no training data (--tokens-file, --jsonl or --text-file)");
    if (o->input_kind < 0 || o->input_kind > 2) return st_seterr(e, STRATA_ERR_ARG, "unknown input kind %d", o->input_kind);
    int sources = !!o->config_path + !!o->init_dir + (o->n_layer || o->n_head || o->d_model || o->n_ctx || o->vocab);
    if (sources != 1)
        return st_seterr(e, STRATA_ERR_ARG, "give exactly one model: --config FILE, --init DIR, or --n-layer/--n-head/--d-model/--n-ctx/--vocab");
    if (o->steps < 1) return st_seterr(e, STRATA_ERR_ARG, "--steps must be >= 1");
    if (o->batch < 1) return st_seterr(e, STRATA_ERR_ARG, "--batch must be >= 1");
    if (o->seq < 0) return st_seterr(e, STRATA_ERR_ARG, "--seq must be >= 2");
    if (!(o->lr > 0) || !isfinite(o->lr)) return st_seterr(e, STRATA_ERR_ARG, "--lr must be a positive number");
    if (o->warmup < 0) return st_seterr(e, STRATA_ERR_ARG, "--warmup must be >= 0");
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay)) return st_seterr(e, STRATA_ERR_ARG, "--weight-decay must be >= 0");
    if (!(o->beta1 >= 0 && o->beta1 < 1)) return st_seterr(e, STRATA_ERR_ARG, "--beta1 must be in [0, 1)");
    if (!(o->beta2 >= 0 && o->beta2 < 1)) return st_seterr(e, STRATA_ERR_ARG, "--beta2 must be in [0, 1)");
    if (!(o->eps > 0) || !isfinite(o->eps)) return st_seterr(e, STRATA_ERR_ARG, "--eps must be > 0");
    if (!(o->clip >= 0) || !isfinite(o->clip)) return st_seterr(e, STRATA_ERR_ARG, "--clip must be >= 0");
    if (!(o->init_std > 0) || !isfinite(o->init_std)) return st_seterr(e, STRATA_ERR_ARG, "--init-std must be > 0");
    if (o->save_every < 0) return st_seterr(e, STRATA_ERR_ARG, "--save-every must be >= 0");
    if (o->n_threads < 0) return st_seterr(e, STRATA_ERR_ARG, "--threads must be >= 0");
    if (o->resume && o->overwrite) return st_seterr(e, STRATA_ERR_ARG, "--resume and --overwrite exclude each other");
    if (o->loss_mask) {
        if (!*o->loss_mask) return st_seterr(e, STRATA_ERR_ARG, "--loss-mask needs a label name");
        if (strlen(o->loss_mask) >= sizeof t->st.loss_mask)
            return st_seterr(e, STRATA_ERR_ARG, "--loss-mask: label name longer than %zu bytes", sizeof t->st.loss_mask - 1);
        if (o->input_kind != STRATA_TRAIN_JSONL)
            return st_seterr(e, STRATA_ERR_ARG, "--loss-mask %s needs --jsonl input (rows with \"ids\" and per-token labels)",
                             o->loss_mask);
    }
    return STRATA_OK;
}

static int model_dims(strata_trainer *t, tr_dims *d)
{
    const strata_train_opts *o = &t->o;
    memset(d, 0, sizeof *d);
    if (o->config_path) {
        ST_TRY(tr_config_read(o->config_path, d, &t->err));
    } else if (o->init_dir) {
        char p[4096];
        snprintf(p, sizeof p, "%s/config.json", o->init_dir);
        ST_TRY(tr_config_read(p, d, &t->err));
    } else {
        d->n_layer = o->n_layer;
        d->n_head = o->n_head;
        d->d_model = o->d_model;
        d->d_mlp = o->attn_only ? 0 : (o->d_mlp ? o->d_mlp : 4 * o->d_model);
        d->n_ctx = o->n_ctx;
        d->vocab = o->vocab;
        d->attn_only = o->attn_only;
        d->ln_eps = 1e-5f;
    }
    if (d->n_layer < 1) return st_seterr(&t->err, STRATA_ERR_ARG, "the model needs n_layer >= 1 (got %d)", d->n_layer);
    if (d->n_head < 1 || d->d_model < 1 || d->d_model % d->n_head)
        return st_seterr(&t->err, STRATA_ERR_ARG, "d_model %d must be a positive multiple of n_head %d", d->d_model, d->n_head);
    if (d->n_ctx < 2) return st_seterr(&t->err, STRATA_ERR_ARG, "n_ctx must be >= 2 (got %d)", d->n_ctx);
    if (d->vocab < 2) return st_seterr(&t->err, STRATA_ERR_ARG, "vocab must be >= 2 (got %d)", d->vocab);
    if (!d->attn_only && d->d_mlp < 1) return st_seterr(&t->err, STRATA_ERR_ARG, "d_mlp must be >= 1 (got %d)", d->d_mlp);
    return STRATA_OK;
}

/* ---------------- output folder ---------------- */

/* Largest N with DIR/step-N/trainer_state.json, -1 if none. */
static int64_t latest_step(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int64_t best = -1;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, "step-", 5) || !s[5]) continue;
        char *end;
        long long n = strtoll(s + 5, &end, 10);
        if (*end || n < 0 || s[5] < '0' || s[5] > '9') continue;
        snprintf(p, sizeof p, "%s/%s/trainer_state.json", dir, s);
        if (access(p, R_OK) == 0 && n > best) best = n;
    }
    closedir(d);
    return best;
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) { empty = 0; break; }
    closedir(d);
    return empty;
}

/* --overwrite: removes what a training run writes (step-*, .tmp-step-*,
 * .old-step-*, log.jsonl, final); other files stay. */
static int clear_outputs(strata_trainer *t)
{
    DIR *d = opendir(t->out_dir);
    if (!d) return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot read: %s", t->out_dir, strerror(errno));
    struct dirent *e;
    char p[4096];
    int rc = STRATA_OK;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        snprintf(p, sizeof p, "%s/%s", t->out_dir, s);
        if (!strncmp(s, "step-", 5) || !strncmp(s, ".tmp-step-", 10) || !strncmp(s, ".old-step-", 10)) {
            if (tr_remove_flat_dir(p) != 0 && errno != ENOENT)
                rc = st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
        } else if (!strcmp(s, "log.jsonl") || !strcmp(s, "final") || !strcmp(s, ".tmp-final") ||
                   !strcmp(s, ".tmp-log.jsonl")) {
            if (unlink(p) != 0) rc = st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
        }
        if (rc) break;
    }
    closedir(d);
    return rc;
}

/* Keeps the log lines of steps <= upto (a killed run may have logged steps
 * after its last checkpoint), through a temporary file and a rename. */
static int truncate_log(strata_trainer *t, int64_t upto)
{
    char p[4096], q[4096];
    snprintf(p, sizeof p, "%s/log.jsonl", t->out_dir);
    snprintf(q, sizeof q, "%s/.tmp-log.jsonl", t->out_dir);
    FILE *in = fopen(p, "rb");
    if (!in) return STRATA_OK;
    FILE *out = fopen(q, "wb");
    if (!out) { fclose(in); return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot create: %s", q, strerror(errno)); }
    char *line = NULL;
    size_t cap = 0;
    int ok = 1;
    while (getline(&line, &cap, in) >= 0) {
        long long s;
        if (sscanf(line, "{\"step\": %lld", &s) == 1 && s <= upto) ok &= fputs(line, out) >= 0;
    }
    free(line);
    fclose(in);
    ok &= fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok &= fclose(out) == 0;
    if (!ok || rename(q, p) != 0) {
        unlink(q);
        return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot rewrite: %s", p, strerror(errno));
    }
    return STRATA_OK;
}

static int same_or_err(strata_trainer *t, const char *what, const char *dir, double saved, double now)
{
    if (saved == now) return STRATA_OK;
    return st_seterr(&t->err, STRATA_ERR_ARG,
                     "--resume: %s is %.17g in %s/trainer_state.json but %.17g now (resume with the options of the interrupted run)",
                     what, saved, dir, now);
}

static int resume_from(strata_trainer *t, int64_t step)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/step-%lld", t->out_dir, (long long)step);
    tr_state s;
    ST_TRY(tr_state_load(dir, &s, &t->err));
    const strata_train_opts *o = &t->o;
    ST_TRY(same_or_err(t, "steps", dir, (double)s.steps, (double)o->steps));
    ST_TRY(same_or_err(t, "batch", dir, s.batch, o->batch));
    ST_TRY(same_or_err(t, "seq", dir, s.seq, t->seq));
    ST_TRY(same_or_err(t, "lr", dir, s.lr_max, o->lr));
    ST_TRY(same_or_err(t, "schedule (1 cosine, 0 constant)", dir, s.cosine, o->cosine));
    ST_TRY(same_or_err(t, "warmup", dir, (double)s.warmup, (double)o->warmup));
    ST_TRY(same_or_err(t, "weight_decay", dir, s.weight_decay, o->weight_decay));
    ST_TRY(same_or_err(t, "beta1", dir, s.beta1, o->beta1));
    ST_TRY(same_or_err(t, "beta2", dir, s.beta2, o->beta2));
    ST_TRY(same_or_err(t, "eps", dir, s.eps, o->eps));
    ST_TRY(same_or_err(t, "clip", dir, s.clip, o->clip));
    ST_TRY(same_or_err(t, "init_std", dir, s.init_std, o->init_std));
    ST_TRY(same_or_err(t, "seed", dir, (double)s.seed, (double)o->seed));
    ST_TRY(same_or_err(t, "the number of training rows", dir, (double)s.data_rows, (double)t->rows.n_rows));
    ST_TRY(same_or_err(t, "the number of training tokens", dir, (double)s.data_tokens,
                       (double)t->rows.off[t->rows.n_rows]));
    if (strcmp(s.loss_mask, t->st.loss_mask))
        return st_seterr(&t->err, STRATA_ERR_ARG,
                         "--resume: loss_mask is %s%s%s in %s/trainer_state.json but %s%s%s now (resume with the options of the interrupted run)",
                         *s.loss_mask ? "\"" : "", *s.loss_mask ? s.loss_mask : "none", *s.loss_mask ? "\"" : "", dir,
                         *t->st.loss_mask ? "\"" : "", *t->st.loss_mask ? t->st.loss_mask : "none",
                         *t->st.loss_mask ? "\"" : "");
    if (s.data_targets >= 0)
        ST_TRY(same_or_err(t, "the number of predicted training positions", dir, (double)s.data_targets,
                           (double)t->rows.n_targets));
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    tr_dims cd;
    ST_TRY(tr_config_read(p, &cd, &t->err));
    const tr_dims *d = &t->m.dims;
    if (cd.n_layer != d->n_layer || cd.n_head != d->n_head || cd.d_model != d->d_model ||
        cd.n_ctx != d->n_ctx || cd.vocab != d->vocab || cd.attn_only != d->attn_only ||
        (!d->attn_only && cd.d_mlp != d->d_mlp))
        return st_seterr(&t->err, STRATA_ERR_ARG, "--resume: %s describes another model than these options", p);
    ST_TRY(tr_weights_load(dir, &t->m, &t->err));
    ST_TRY(tr_optimizer_load(dir, &t->m, &t->err));
    t->st = s;
    t->start_step = step;
    t->last_saved = step;
    return truncate_log(t, step);
}

/* ---------------- construction ---------------- */

strata_status strata_trainer_new(const strata_train_opts *o, strata_trainer **out)
{
    *out = NULL;
    strata_trainer *t = calloc(1, sizeof *t);
    if (!t) return STRATA_ERR_NOMEM;
    *out = t;
    t->last_saved = -1;
    ST_TRY(check_opts(t, o));
    t->o = *o;
    t->out_dir = strdup(o->out_dir);
    if (!t->out_dir) return st_seterr(&t->err, STRATA_ERR_NOMEM, "out of memory");
    /* the strings are only used here, during construction; clear them */
    t->o.out_dir = t->o.config_path = t->o.input_path = t->o.eval_path = t->o.tokenizer_dir = NULL;
    t->o.loss_mask = NULL;
    const char *init_dir = o->init_dir;
    t->o.init_dir = NULL;

    tr_dims dims;
    {
        strata_train_opts tmp = t->o;
        t->o.config_path = o->config_path;
        t->o.init_dir = init_dir;
        int rc = model_dims(t, &dims);
        t->o = tmp;
        if (rc) return rc;
    }
    t->seq = o->seq ? o->seq : dims.n_ctx;
    if (t->seq < 2) return st_seterr(&t->err, STRATA_ERR_ARG, "--seq must be >= 2");
    if (t->seq > dims.n_ctx)
        return st_seterr(&t->err, STRATA_ERR_ARG, "--seq %d exceeds the model's n_ctx %d", t->seq, dims.n_ctx);

    /* tokenizer: --tokenizer, else the init model's own (if it has one) */
    const char *tok_dir = o->tokenizer_dir ? o->tokenizer_dir : init_dir;
    if (tok_dir) {
        strata_tokenizer *tok = NULL;
        if (strata_tokenizer_open(tok_dir, &tok) == STRATA_OK) {
            t->tok = tok;
            t->tok_dir = strdup(tok_dir);
        } else {
            int rc = st_seterr(&t->err, STRATA_ERR_FORMAT, "%s", strata_tokenizer_errmsg(tok));
            strata_tokenizer_free(tok);
            if (o->tokenizer_dir) return rc;
            st_err_clear(&t->err);
        }
    }
    if (t->tok && strata_tokenizer_vocab_size(t->tok) > dims.vocab)
        return st_seterr(&t->err, STRATA_ERR_ARG, "vocabulary mismatch: the tokenizer in %s has %d tokens, the model's vocab is %d",
                         tok_dir, strata_tokenizer_vocab_size(t->tok), dims.vocab);

    ST_TRY(tr_rows_load(&t->rows, o->input_kind, o->input_path, t->tok, dims.vocab, t->seq, o->loss_mask, &t->err));
    if (o->eval_path) {
        ST_TRY(tr_rows_load(&t->eval_rows, o->input_kind, o->eval_path, t->tok, dims.vocab, t->seq, o->loss_mask,
                            &t->err));
        t->have_eval = 1;
    }

    ST_TRY(tr_model_init(&t->m, &dims, &t->err));
    t->have_model = 1;
    ST_TRY(tr_acts_alloc(&t->a, &dims, o->batch, t->seq, o->n_threads, &t->err));
    t->have_acts = 1;
    t->tokens = malloc(sizeof(int32_t) * (size_t)o->batch * t->seq);
    t->targets = malloc(sizeof(int32_t) * (size_t)o->batch * t->seq);
    if (!t->tokens || !t->targets) return st_seterr(&t->err, STRATA_ERR_NOMEM, "out of memory");

    /* fresh state */
    memset(&t->st, 0, sizeof t->st);
    t->st.steps = o->steps;
    t->st.batch = o->batch;
    t->st.seq = t->seq;
    t->st.cosine = o->cosine;
    t->st.warmup = o->warmup;
    t->st.lr_max = o->lr;
    t->st.weight_decay = o->weight_decay;
    t->st.beta1 = o->beta1;
    t->st.beta2 = o->beta2;
    t->st.eps = o->eps;
    t->st.clip = o->clip;
    t->st.init_std = o->init_std;
    t->st.seed = o->seed;
    t->st.data_rows = t->rows.n_rows;
    t->st.data_tokens = t->rows.off[t->rows.n_rows];
    t->st.data_targets = t->rows.n_targets;
    if (o->loss_mask) snprintf(t->st.loss_mask, sizeof t->st.loss_mask, "%s", o->loss_mask);
    t->st.loss = t->st.eval_loss = NAN;
    tr_rng rng;
    tr_rng_seed(&rng, o->seed);
    if (init_dir) ST_TRY(tr_weights_load(init_dir, &t->m, &t->err));
    else tr_model_init_weights(&t->m, o->init_std, &rng);
    memcpy(t->st.rng, rng.s, sizeof rng.s);

    /* output folder, last: nothing is touched before every check passed */
    struct stat sb;
    int exists = stat(t->out_dir, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode))
        return st_seterr(&t->err, STRATA_ERR_EXISTS, "%s exists and is not a folder", t->out_dir);
    if (o->resume) {
        int64_t last = exists ? latest_step(t->out_dir) : -1;
        if (last < 0)
            return st_seterr(&t->err, STRATA_ERR_NOTFOUND, "--resume: %s has no checkpoint (step-N/trainer_state.json) to resume from",
                             t->out_dir);
        ST_TRY(resume_from(t, last));
    } else if (exists && !dir_is_empty(t->out_dir)) {
        if (!o->overwrite)
            return st_seterr(&t->err, STRATA_ERR_EXISTS,
                             "%s exists and is not empty (--overwrite replaces its checkpoints and log, --resume continues the run)",
                             t->out_dir);
        ST_TRY(clear_outputs(t));
    } else if (!exists && mkdir(t->out_dir, 0777) != 0) {
        return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot create: %s", t->out_dir, strerror(errno));
    }

    strata_train_summary *s = &t->sum;
    s->start_step = s->final_step = t->start_step;
    s->n_params = t->m.n_params;
    s->n_rows = t->rows.n_rows;
    s->n_cropped = t->rows.n_cropped;
    s->n_targets = t->rows.n_targets;
    s->n_eval_rows = t->have_eval ? t->eval_rows.n_rows : 0;
    s->final_loss = t->st.loss;
    s->final_eval_loss = NAN;
    s->tokens_seen = t->st.tokens_seen;
    s->param_bytes = t->m.n_params * 4;
    s->grad_bytes = t->m.n_params * 4;
    s->optimizer_bytes = t->m.n_params * 8;
    s->activation_bytes = tr_acts_bytes(&dims, o->batch, t->seq, o->n_threads);
    return STRATA_OK;
}

/* ---------------- the loop ---------------- */

/* Fills tokens/targets [B][T] from rows first..first+B-1 (mod R when wrap,
 * else only rows < R: *B_out says how many); returns T (the longest row). */
static int64_t make_batch(strata_trainer *t, const tr_rows *r, int64_t first, int wrap, int64_t *B_out,
                          int64_t *n_tok)
{
    int64_t B = t->o.batch, T = 0, nt = 0;
    if (!wrap && first + B > r->n_rows) B = r->n_rows - first;
    for (int64_t i = 0; i < B; i++) {
        int64_t row = (first + i) % r->n_rows, len = r->off[row + 1] - r->off[row];
        if (len > T) T = len;
    }
    for (int64_t i = 0; i < B; i++) {
        int64_t row = (first + i) % r->n_rows, len = r->off[row + 1] - r->off[row];
        const int32_t *src = r->tok + r->off[row];
        const uint8_t *mask = r->mask ? r->mask + r->off[row] : NULL;
        for (int64_t p = 0; p < T; p++) {
            t->tokens[i * T + p] = p < len ? src[p] : 0;
            t->targets[i * T + p] = p + 1 < len && (!mask || mask[p + 1]) ? src[p + 1] : -1;
        }
        nt += len;
    }
    *B_out = B;
    *n_tok = nt;
    return T;
}

static int eval_loss(strata_trainer *t, double *out)
{
    double sum = 0;
    int64_t np_all = 0;
    for (int64_t first = 0; first < t->eval_rows.n_rows; first += t->o.batch) {
        int64_t B, ntok, np;
        int64_t T = make_batch(t, &t->eval_rows, first, 0, &B, &ntok);
        double l;
        tr_forward(&t->m, &t->a, t->tokens, t->targets, B, T, &l, &np);
        sum += l * (double)np;
        np_all += np;
    }
    *out = np_all ? sum / (double)np_all : NAN;
    if (!isfinite(*out))
        return st_seterr(&t->err, STRATA_ERR_NUMERIC, "step %lld: eval loss is not finite", (long long)t->st.step);
    return STRATA_OK;
}

static int save(strata_trainer *t)
{
    ST_TRY(tr_checkpoint_save(t->out_dir, &t->m, &t->st, t->tok_dir, &t->err));
    ST_TRY(tr_checkpoint_link_final(t->out_dir, t->st.step, &t->err));
    t->last_saved = t->st.step;
    return STRATA_OK;
}

static void fmt_num(char *buf, size_t n, double x)
{
    if (isfinite(x)) snprintf(buf, n, "%.9g", x);
    else snprintf(buf, n, "null");
}

static int run_impl(strata_trainer *t, strata_train_cb cb, void *user)
{
    const strata_train_opts *o = &t->o;
    const int nt = o->n_threads;
    tr_adamw adam = { o->lr, o->beta1, o->beta2, o->eps, o->weight_decay };
    char p[4096];
    snprintf(p, sizeof p, "%s/log.jsonl", t->out_dir);
    FILE *log = fopen(p, "ab");
    if (!log) return st_seterr(&t->err, STRATA_ERR_IO, "%s: cannot open: %s", p, strerror(errno));
    int rc = STRATA_OK;
    if (t->start_step == 0 && o->save_every > 0) {
        /* step-0: the initial weights, the first point of a sweep */
        if (t->have_eval && (rc = eval_loss(t, &t->st.eval_loss))) goto out;
        if ((rc = save(t))) goto out;
    }
    const double t0 = now_s();
    int64_t run_tokens = 0;
    for (int64_t s = t->start_step; s < o->steps; s++) {
        int64_t B, ntok, np;
        int64_t T = make_batch(t, &t->rows, s * (int64_t)o->batch % t->rows.n_rows, 1, &B, &ntok);
        double loss;
        tr_forward(&t->m, &t->a, t->tokens, t->targets, B, T, &loss, &np);
        if (!isfinite(loss)) {
            rc = st_seterr(&t->err, STRATA_ERR_NUMERIC,
                           "step %lld: training loss is %s; stopped without saving (the last checkpoint, %s, is intact)",
                           (long long)(s + 1), isnan(loss) ? "NaN" : "infinite",
                           t->last_saved >= 0 ? "step-N below" : "none written");
            if (t->last_saved >= 0)
                snprintf(t->err.msg, sizeof t->err.msg,
                         "step %lld: training loss is %s; stopped without saving (the last checkpoint, step-%lld, is intact)",
                         (long long)(s + 1), isnan(loss) ? "NaN" : "infinite", (long long)t->last_saved);
            goto out;
        }
        tr_backward(&t->m, &t->a, t->tokens, t->targets, B, T, np);
        const double gnorm = tr_clip_grads(&t->m, o->clip, nt);
        if (!isfinite(gnorm)) {
            rc = st_seterr(&t->err, STRATA_ERR_NUMERIC,
                           "step %lld: gradient norm is not finite; stopped without saving (last checkpoint: step-%lld)",
                           (long long)(s + 1), (long long)t->last_saved);
            goto out;
        }
        const double lr = tr_lr_at(o->lr, o->cosine, o->warmup, o->steps, s);
        adam.lr = lr;
        tr_adamw_step(&t->m, &adam, lr, s + 1, nt);
        run_tokens += ntok;
        t->st.step = s + 1;
        t->st.tokens_seen += ntok;
        t->st.loss = loss;
        t->st.lr = lr;
        t->st.eval_loss = NAN;

        strata_train_progress pr;
        memset(&pr, 0, sizeof pr);
        pr.step = s + 1;
        pr.steps = o->steps;
        pr.loss = loss;
        pr.lr = lr;
        pr.grad_norm = gnorm;
        pr.elapsed_s = now_s() - t0;
        pr.tokens_per_s = pr.elapsed_s > 0 ? (double)run_tokens / pr.elapsed_s : 0;
        pr.eta_s = pr.elapsed_s / (double)(s + 1 - t->start_step) * (double)(o->steps - s - 1);
        pr.tokens_seen = t->st.tokens_seen;
        int save_now = (o->save_every > 0 && (s + 1) % o->save_every == 0) || s + 1 == o->steps;
        int stop = 0;
        if (save_now && t->have_eval && (rc = eval_loss(t, &t->st.eval_loss))) goto out;
        pr.eval_loss = t->st.eval_loss;
        char a[32], b[32];
        fmt_num(a, sizeof a, loss);
        fmt_num(b, sizeof b, t->st.eval_loss);
        if (fprintf(log, "{\"step\": %lld, \"loss\": %s, \"eval_loss\": %s, \"lr\": %.9g, \"grad_norm\": %.9g, \"tokens_per_s\": %.1f, \"tokens_seen\": %lld}\n",
                    (long long)(s + 1), a, b, lr, gnorm, pr.tokens_per_s, (long long)t->st.tokens_seen) < 0 ||
            fflush(log) != 0) {
            rc = st_seterr(&t->err, STRATA_ERR_IO, "%s: write failed: %s", p, strerror(errno));
            goto out;
        }
        if (cb) {
            stop = cb(user, &pr) != 0;
            if (stop && !save_now) {
                save_now = 1;
                if (t->have_eval && (rc = eval_loss(t, &t->st.eval_loss))) goto out;
            }
        }
        if (save_now && (rc = save(t))) goto out;
        t->sum.final_step = s + 1;
        t->sum.final_loss = loss;
        t->sum.final_eval_loss = t->st.eval_loss;
        t->sum.tokens_seen = t->st.tokens_seen;
        t->sum.seconds = now_s() - t0;
        t->sum.tokens_per_s = t->sum.seconds > 0 ? (double)run_tokens / t->sum.seconds : 0;
        if (stop) { rc = STRATA_STOPPED; break; }
    }
    if (rc == STRATA_OK && t->last_saved != o->steps && t->start_step >= o->steps) {
        /* resumed a finished run: nothing to do */
    }
out:
    if (fclose(log) != 0 && rc == STRATA_OK)
        rc = st_seterr(&t->err, STRATA_ERR_IO, "%s: write failed: %s", p, strerror(errno));
    return rc;
}

strata_status strata_trainer_run(strata_trainer *t, strata_train_cb cb, void *user)
{
    if (!t || !t->have_acts) return STRATA_ERR_STATE;
    /* one thread pool: OpenBLAS single-threaded inside, OpenMP splits the work */
    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    int rc = run_impl(t, cb, user);
    if (prev != 1) openblas_set_num_threads(prev);
    return rc;
}
