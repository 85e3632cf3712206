/* cli/cmd_train.c — `strata train`: train a GPT-2-architecture model on a
 * token/JSONL/text corpus, writing Hugging Face checkpoints (lib/train). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "strata/train.h"

static void usage(void)
{
    printf("usage: strata train --out DIR (--config FILE.json | --init HF_DIR |\n"
           "                    --n-layer L --n-head H --d-model D [--d-mlp M | --attn-only]\n"
           "                    --n-ctx T --vocab V)\n"
           "                    (--tokens-file F | --jsonl F | --text-file F) [--tokenizer DIR]\n"
           "                    --steps N --batch B [--seq T] --lr X [--schedule cosine|constant]\n"
           "                    [--warmup W] [--weight-decay X] [--beta1 X --beta2 X --eps X]\n"
           "                    [--clip X (0: none)] [--init-std X] [--seed S] [--threads N]\n"
           "                    [--save-every K] [--eval FILE] [--loss-mask LABEL]\n"
           "                    [--overwrite] [--resume] [--json] [--quiet]\n\n"
           "Trains a GPT-2 model (token + learned position embeddings, pre-LayerNorm\n"
           "blocks, causal attention, gelu_new MLP or none, tied unembedding) with AdamW\n"
           "and writes DIR/step-<N>/ (Hugging Face model folders), DIR/log.jsonl and\n"
           "DIR/final.  Step s uses rows s*B .. s*B+B-1 of the input (wrapping); rows are\n"
           "cropped to --seq (default n_ctx).  Defaults: --schedule cosine --warmup 0\n"
           "--weight-decay 0.01 --beta1 0.9 --beta2 0.999 --eps 1e-8 --clip 1 --init-std 0.02\n"
           "--seed 0 --save-every 0 (final checkpoint only; K > 0 also saves step-0).\n"
           "--tokens-file: one row per line, token ids separated by spaces.  --jsonl: {\"ids\":\n"
           "[...]} or {\"text\": \"...\"} per line.  --text-file: one document per line.\n"
           "--loss-mask LABEL (--jsonl \"ids\" rows): the loss covers only the tokens whose\n"
           "per-token label LABEL is 1 (0 or null: not predicted), e.g. --loss-mask answer\n"
           "on `strata corpus modular|addition` output; --eval rows are masked the same way.\n"
           "See docs/TRAIN.md.\n");
}

/* The shared checked parsers (cli/common.c), with this command's name. */
static int parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    return cli_parse_i64("train", opt, s, lo, hi, out);
}

static int parse_i32(const char *opt, const char *s, int lo, int hi, int32_t *out)
{
    return cli_parse_int("train", opt, s, lo, hi, out);
}

static int parse_f64(const char *opt, const char *s, double lo, double hi, double *out)
{
    return cli_parse_f64("train", opt, s, lo, hi, out);
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static int progress(void *user, const strata_train_progress *p)
{
    (void)user;
    char eta[32];
    fmt_time(eta, sizeof eta, p->eta_s);
    fprintf(stderr, "\rstep %lld/%lld  loss %.4f%s  lr %.3g  %.0f tok/s  left %s   ", (long long)p->step,
            (long long)p->steps, p->loss, "", p->lr, p->tokens_per_s, eta);
    if (isfinite(p->eval_loss)) fprintf(stderr, "\n  eval loss %.4f at step %lld\n", p->eval_loss, (long long)p->step);
    fflush(stderr);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    strata_train_opts o = strata_train_opts_default();
    int json = 0, quiet = 0, n_inputs = 0, bad = 0, n_dims = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) { usage(); return 0; }
#define NEED() do { if (!v) { fprintf(stderr, "strata train: %s needs a value\n", a); return 2; } i++; } while (0)
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--attn-only")) o.attn_only = 1;
        else if (!strcmp(a, "--overwrite")) o.overwrite = 1;
        else if (!strcmp(a, "--resume")) o.resume = 1;
        else if (!strcmp(a, "--out")) { NEED(); o.out_dir = v; }
        else if (!strcmp(a, "--config")) { NEED(); o.config_path = v; }
        else if (!strcmp(a, "--init")) { NEED(); o.init_dir = v; }
        else if (!strcmp(a, "--tokenizer")) { NEED(); o.tokenizer_dir = v; }
        else if (!strcmp(a, "--eval")) { NEED(); o.eval_path = v; }
        else if (!strcmp(a, "--loss-mask")) { NEED(); o.loss_mask = v; }
        else if (!strcmp(a, "--tokens-file")) { NEED(); o.input_kind = STRATA_TRAIN_TOKENS; o.input_path = v; n_inputs++; }
        else if (!strcmp(a, "--jsonl")) { NEED(); o.input_kind = STRATA_TRAIN_JSONL; o.input_path = v; n_inputs++; }
        else if (!strcmp(a, "--text-file")) { NEED(); o.input_kind = STRATA_TRAIN_TEXT; o.input_path = v; n_inputs++; }
        else if (!strcmp(a, "--n-layer")) { NEED(); bad = parse_i32(a, v, 1, 1 << 16, &o.n_layer); n_dims++; }
        else if (!strcmp(a, "--n-head")) { NEED(); bad = parse_i32(a, v, 1, 1 << 16, &o.n_head); n_dims++; }
        else if (!strcmp(a, "--d-model")) { NEED(); bad = parse_i32(a, v, 1, 1 << 20, &o.d_model); n_dims++; }
        else if (!strcmp(a, "--d-mlp")) { NEED(); bad = parse_i32(a, v, 1, 1 << 22, &o.d_mlp); n_dims++; }
        else if (!strcmp(a, "--n-ctx")) { NEED(); bad = parse_i32(a, v, 2, 1 << 20, &o.n_ctx); n_dims++; }
        else if (!strcmp(a, "--vocab")) { NEED(); bad = parse_i32(a, v, 2, INT32_MAX, &o.vocab); n_dims++; }
        else if (!strcmp(a, "--steps")) { NEED(); bad = parse_i64(a, v, 1, INT64_MAX / 2, &o.steps); }
        else if (!strcmp(a, "--batch")) { NEED(); bad = parse_i32(a, v, 1, 1 << 20, &o.batch); }
        else if (!strcmp(a, "--seq")) { NEED(); bad = parse_i32(a, v, 2, 1 << 20, &o.seq); }
        else if (!strcmp(a, "--lr")) { NEED(); bad = parse_f64(a, v, 1e-30, 1e6, &o.lr); }
        else if (!strcmp(a, "--schedule")) {
            NEED();
            if (!strcmp(v, "cosine")) o.cosine = 1;
            else if (!strcmp(v, "constant")) o.cosine = 0;
            else { fprintf(stderr, "strata train: --schedule: '%s' is not cosine or constant\n", v); return 2; }
        }
        else if (!strcmp(a, "--warmup")) { NEED(); bad = parse_i64(a, v, 0, INT64_MAX / 2, &o.warmup); }
        else if (!strcmp(a, "--weight-decay")) { NEED(); bad = parse_f64(a, v, 0, 1e6, &o.weight_decay); }
        else if (!strcmp(a, "--beta1")) { NEED(); bad = parse_f64(a, v, 0, 0.999999999, &o.beta1); }
        else if (!strcmp(a, "--beta2")) { NEED(); bad = parse_f64(a, v, 0, 0.999999999, &o.beta2); }
        else if (!strcmp(a, "--eps")) { NEED(); bad = parse_f64(a, v, 1e-300, 1, &o.eps); }
        else if (!strcmp(a, "--clip")) { NEED(); bad = parse_f64(a, v, 0, 1e30, &o.clip); }
        else if (!strcmp(a, "--init-std")) { NEED(); bad = parse_f64(a, v, 1e-30, 1e3, &o.init_std); }
        else if (!strcmp(a, "--seed")) { int64_t s; NEED(); bad = parse_i64(a, v, 0, INT64_MAX, &s); o.seed = (uint64_t)s; }
        else if (!strcmp(a, "--threads")) { NEED(); bad = parse_i32(a, v, 0, 4096, &o.n_threads); }
        else if (!strcmp(a, "--save-every")) { NEED(); bad = parse_i64(a, v, 0, INT64_MAX / 2, &o.save_every); }
        else { fprintf(stderr, "strata train: unknown option %s (see --help)\n", a); return 2; }
#undef NEED
    }
    if (bad) return 2;
    if (!o.out_dir) { fprintf(stderr, "strata train: missing --out DIR (see --help)\n"); return 2; }
    if (n_inputs != 1) { fprintf(stderr, "strata train: give exactly one of --tokens-file, --jsonl, --text-file\n"); return 2; }
    if ((o.config_path != NULL) + (o.init_dir != NULL) + (n_dims > 0) != 1) {
        fprintf(stderr, "strata train: give exactly one model: --config FILE, --init DIR, or the dimensions --n-layer --n-head --d-model --n-ctx --vocab\n");
        return 2;
    }
    if (o.attn_only && !n_dims) { fprintf(stderr, "strata train: --attn-only goes with explicit dimensions (a config file says \"strata_attn_only\": true)\n"); return 2; }
    if (n_dims && (!o.n_layer || !o.n_head || !o.d_model || !o.n_ctx || !o.vocab)) {
        fprintf(stderr, "strata train: explicit dimensions need all of --n-layer --n-head --d-model --n-ctx --vocab\n");
        return 2;
    }
    if (o.attn_only && o.d_mlp) { fprintf(stderr, "strata train: --d-mlp and --attn-only exclude each other\n"); return 2; }
    if (!o.steps) { fprintf(stderr, "strata train: missing --steps N\n"); return 2; }

    strata_trainer *t = NULL;
    int rc = strata_trainer_new(&o, &t);
    if (rc != STRATA_OK) {
        fprintf(stderr, "strata train: %s\n", strata_trainer_errmsg(t));
        strata_trainer_free(t);
        return 1;
    }
    const int tty = !quiet && isatty(2);   /* the progress line: terminals only, not with --quiet */
    rc = strata_trainer_run(t, tty ? progress : NULL, NULL);
    if (tty) fprintf(stderr, "\n");
    const strata_train_summary *s = strata_trainer_summary(t);
    if (rc < 0) {
        fprintf(stderr, "strata train: %s\n", strata_trainer_errmsg(t));
        strata_trainer_free(t);
        return 1;
    }
    if (json) {
        printf("{\"out\": ");
        cli_jstr(stdout, o.out_dir);
        printf(", \"start_step\": %lld, \"final_step\": %lld, \"final_loss\": ", (long long)s->start_step, (long long)s->final_step);
        if (isfinite(s->final_loss)) printf("%.9g", s->final_loss); else printf("null");
        printf(", \"final_eval_loss\": ");
        if (isfinite(s->final_eval_loss)) printf("%.9g", s->final_eval_loss); else printf("null");
        printf(", \"tokens_seen\": %lld, \"tokens_per_s\": %.1f, \"seconds\": %.3f, \"n_params\": %lld, "
               "\"n_rows\": %lld, \"n_cropped\": %lld, \"n_eval_rows\": %lld, \"n_targets\": %lld, "
               "\"memory_bytes\": {\"params\": %lld, \"grads\": %lld, \"optimizer\": %lld, \"activations\": %lld}}\n",
               (long long)s->tokens_seen, s->tokens_per_s, s->seconds, (long long)s->n_params, (long long)s->n_rows,
               (long long)s->n_cropped, (long long)s->n_eval_rows, (long long)s->n_targets, (long long)s->param_bytes,
               (long long)s->grad_bytes, (long long)s->optimizer_bytes, (long long)s->activation_bytes);
    } else {
        printf("trained steps %lld..%lld: loss %.4f", (long long)s->start_step, (long long)s->final_step, s->final_loss);
        if (isfinite(s->final_eval_loss)) printf(", eval loss %.4f", s->final_eval_loss);
        printf(", %.0f tokens/s, %lld parameters, %lld rows (%lld cropped) -> %s/final\n", s->tokens_per_s,
               (long long)s->n_params, (long long)s->n_rows, (long long)s->n_cropped, o.out_dir);
    }
    strata_trainer_free(t);
    return 0;
}
