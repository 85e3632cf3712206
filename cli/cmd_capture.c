/* cli/cmd_capture.c — `strata capture MODEL --hooks GLOB[,GLOB...] --out FILE.h5
 * (--text-file F | --jsonl F | --tokens-file F) [...]`: stream a corpus
 * through the model and store what the hooks saw (docs/cli/capture.md). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "strata/capture.h"
#include "strata/dist.h"
#include "strata/model.h"

static void usage(void)
{
    printf(
        "usage: strata capture MODEL --hooks GLOB[,GLOB...] --out FILE.h5\n"
        "                      (--text-file F | --jsonl F | --tokens-file F)\n"
        "                      [--positions all|last|first] [--batch N] [--max-tokens N]\n"
        "                      [--dtype f32|f16] [--compress] [--overwrite | --resume]\n"
        "                      [--no-bos] [--threads N] [--quiet] [--revision REV]\n\n"
        "Runs every document of the input through MODEL and stores, for each kept\n"
        "position, the activations of the hooks (e.g. 'blocks.*.hook_resid_post',\n"
        "'blocks.3.attn.hook_z[5]') in FILE.h5 (layout: docs/FORMAT.md).\n\n"
        "  --text-file F    one document per line (blank lines skipped)\n"
        "  --jsonl F        one JSON object per line: {\"text\": ..., LABEL: number |\n"
        "                   [[start, end, value], ...] character spans} -> /labels/LABEL\n"
        "  --tokens-file F  one document per line: token ids separated by spaces or\n"
        "                   commas, used as given (no BOS added)\n"
        "  --positions      all (default), last or first token of each document\n"
        "  --batch N        documents per forward pass (default 8)\n"
        "  --max-tokens N   truncate longer documents (default: the model's n_ctx)\n"
        "  --dtype          f32 (default) or f16 storage\n"
        "  --compress       deflate + shuffle (smaller files, slower)\n"
        "  --overwrite      replace FILE.h5 if it exists\n"
        "  --resume         continue an interrupted capture of the same model, hooks\n"
        "                   and input (skips the documents already stored)\n"
        "  --quiet          no progress bar (it is shown only on a terminal anyway)\n");
}

/* SIGINT / SIGTERM: stop after the batch being written is committed. */
static volatile sig_atomic_t g_stop_signal;

static void on_stop_signal(int sig)
{
    g_stop_signal = sig;
    signal(sig, SIG_DFL); /* a second one ends the process at once */
}

typedef struct progress_state {
    int tty;
    int quiet;
    int batch;           /* --batch (the note on idle ranks of a distributed capture) */
    double last;
    strata_capture *c;   /* for the documents a resumed file already had */
} progress_state;

static int on_progress(const strata_capture_progress *p, void *user)
{
    progress_state *s = user;
    if (g_stop_signal) return 1;
    if (p->expected_bytes > 0) {   /* once, before the first document runs */
        if (!s->quiet) {
            double b = (double)p->expected_bytes;
            const char *u = b >= 1e9 ? "GB" : b >= 1e6 ? "MB" : "kB";
            double v = b >= 1e9 ? b / 1e9 : b >= 1e6 ? b / 1e6 : b / 1e3;
            fprintf(stderr, "strata capture: expected file size about %.1f %s (%lld row%s; longest "
                            "document %lld token%s)\n", v, u, (long long)p->expected_rows,
                    p->expected_rows == 1 ? "" : "s", (long long)p->expected_width,
                    p->expected_width == 1 ? "" : "s");
            /* mpirun: ranks get whole batches (docs/SCALE.md) */
            int64_t left = p->docs_total - p->docs_done;
            int64_t batches = left > 0 ? (left + s->batch - 1) / s->batch : 0;
            if (strata_dist_size() > batches && strata_dist_size() > 1 && left > 0)
                fprintf(stderr, "strata capture: note: %d ranks for %lld batch%s of --batch %d "
                        "documents: %lld rank%s will have nothing to run\n", strata_dist_size(),
                        (long long)batches, batches == 1 ? "" : "es", s->batch,
                        (long long)(strata_dist_size() - batches),
                        strata_dist_size() - batches == 1 ? "" : "s");
        }
        return 0;
    }
    if (!s->tty) return 0;
    if (p->seconds - s->last < 0.2 && !(p->docs_total > 0 && p->docs_done >= p->docs_total)) return 0;
    s->last = p->seconds;
    double rate = p->seconds > 0 ? (double)p->tokens_done / p->seconds : 0;
    char eta[32] = "?";
    if (p->docs_total > 0 && p->docs_done > 0 && p->seconds > 0) {
        /* documents per second over this session's work */
        double left = (double)(p->docs_total - p->docs_done);
        double dps = (double)(p->docs_done - strata_capture_n_done(s->c)) / p->seconds;
        double e = dps > 0 ? left / dps : 0;
        snprintf(eta, sizeof eta, "%dm%02ds", (int)(e / 60), (int)e % 60);
    }
    int width = 30, fill = 0;
    if (p->docs_total > 0) fill = (int)((double)width * (double)p->docs_done / (double)p->docs_total);
    if (fill > width) fill = width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    if (p->docs_total > 0)
        fprintf(stderr, "\r[%s] %lld/%lld docs  %.0f tok/s  ETA %s   ", bar,
                (long long)p->docs_done, (long long)p->docs_total, rate, eta);
    else
        fprintf(stderr, "\r%lld docs  %.0f tok/s   ", (long long)p->docs_done, rate);
    fflush(stderr);
    return 0;
}

int cmd_capture(int argc, char **argv)
{
    const char *model = NULL, *hooks = NULL, *outp = NULL, *input = NULL, *revision = NULL;
    int kind = -1, quiet = 0, threads = 0, no_bos = 0, n_inputs = 0;
    strata_capture_opts o = strata_capture_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (cli_is_help(a)) { usage(); return 0; }
        if (!strcmp(a, "--hooks") && has) hooks = argv[++i];
        else if (!strcmp(a, "--out") && has) outp = argv[++i];
        else if (!strcmp(a, "--text-file") && has) { input = argv[++i]; kind = STRATA_INPUT_TEXT; n_inputs++; }
        else if (!strcmp(a, "--jsonl") && has) { input = argv[++i]; kind = STRATA_INPUT_JSONL; n_inputs++; }
        else if (!strcmp(a, "--tokens-file") && has) { input = argv[++i]; kind = STRATA_INPUT_TOKENS; n_inputs++; }
        else if (!strcmp(a, "--positions") && has) {
            const char *v = argv[++i];
            if (!strcmp(v, "all")) o.positions = STRATA_POS_ALL;
            else if (!strcmp(v, "last")) o.positions = STRATA_POS_LAST;
            else if (!strcmp(v, "first")) o.positions = STRATA_POS_FIRST;
            else { fprintf(stderr, "strata capture: --positions must be all, last or first\n"); return 2; }
        } else if (!strcmp(a, "--batch") && has) {
            if (cli_parse_int("capture", a, argv[++i], 1, CLI_MAX_BATCH, &o.batch)) return 2;
        } else if (!strcmp(a, "--max-tokens") && has) {
            if (cli_parse_int("capture", a, argv[++i], 1, INT32_MAX, &o.max_tokens)) return 2;
        } else if (!strcmp(a, "--dtype") && has) {
            const char *v = argv[++i];
            if (!strcmp(v, "f32") || !strcmp(v, "float32")) o.dtype = STRATA_DTYPE_F32;
            else if (!strcmp(v, "f16") || !strcmp(v, "float16")) o.dtype = STRATA_DTYPE_F16;
            else { fprintf(stderr, "strata capture: --dtype must be f32 or f16\n"); return 2; }
        } else if (!strcmp(a, "--compress")) o.compress = 4;
        else if (!strcmp(a, "--overwrite")) o.mode = o.mode == STRATA_CAPTURE_RESUME ? -1 : STRATA_CAPTURE_OVERWRITE;
        else if (!strcmp(a, "--resume")) o.mode = o.mode == STRATA_CAPTURE_OVERWRITE ? -1 : STRATA_CAPTURE_RESUME;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--no-bos")) no_bos = 1;
        else if (!strcmp(a, "--threads") && has) {
            if (cli_parse_int("capture", a, argv[++i], 0, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(a, "--revision") && has) {
            revision = argv[++i];
        }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "strata capture: unknown or incomplete option %s (see --help)\n", a);
            return 2;
        } else if (!model) model = a;
        else { fprintf(stderr, "strata capture: unexpected argument %s\n", a); return 2; }
    }
    if (!model || !hooks || !outp || n_inputs != 1) {
        fprintf(stderr, "strata capture: need MODEL, --hooks, --out and exactly one of "
                        "--text-file/--jsonl/--tokens-file (see --help)\n");
        return 2;
    }
    if (o.mode < 0) {
        fprintf(stderr, "strata capture: --overwrite and --resume exclude each other\n");
        return 2;
    }
    if (no_bos) o.add_bos = 0;
    o.hooks = hooks;
    /* mpirun (distributed capture): rank 0 reports; every rank reports its own failure */
    const int rank = strata_dist_rank();
    if (rank != 0) quiet = 1;
    progress_state ps = { .tty = !quiet && isatty(2), .quiet = quiet, .last = -1, .batch = o.batch };
    o.progress = on_progress;
    o.progress_user = &ps;

    strata_model *m = cli_open_model_rev("capture", model, revision, threads);
    if (!m) return 1;
    int n_ctx = strata_model_config(m)->n_ctx;
    if (o.max_tokens > n_ctx) /* said even with --quiet: the setting is not what was asked */
        fprintf(stderr, "strata capture: --max-tokens %d is above the model's n_ctx %d; documents "
                        "are cut to %d tokens\n", o.max_tokens, n_ctx, n_ctx);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    strata_capture *c = NULL;
    int rc = strata_capture_open(m, outp, &o, &c);
    ps.c = c;
    if (rc >= 0) rc = strata_capture_add_file(c, kind, input);
    if (rc >= 0 && rc != STRATA_STOPPED) rc = strata_capture_finish(c);
    if (ps.tty) fprintf(stderr, "\n");
    strata_capture_stats st;
    strata_capture_get_stats(c, &st);
    if (rc == STRATA_STOPPED && (g_stop_signal || rank != 0)) {
        int sig = g_stop_signal ? g_stop_signal : SIGTERM;
        if (rank == 0)
        fprintf(stderr, "strata capture: interrupted (%s): %s keeps %lld committed document%s "
                        "(complete = false); to continue, rerun the same command with --resume (in "
                        "place of --overwrite, if given)\n", sig == SIGINT ? "SIGINT" : "SIGTERM", outp,
                (long long)st.docs, cli_plural(st.docs));
        strata_capture_free(c);
        strata_model_free(m);
        return 128 + sig;
    }
    if (rc < 0) {
        /* (another rank's failure: that rank prints it; rank 0 says which one) */
        const char *msg = strata_capture_errmsg(c);
        if (rank == 0 || !strstr(msg, "(its message is on its stderr)"))
        {
            if (strata_dist_size() > 1) fprintf(stderr, "strata capture: rank %d: %s\n", rank, msg);
            else fprintf(stderr, "strata capture: %s\n", msg);
        }
        if (rank == 0 && st.docs > 0 && st.tokens_run > 0)
            fprintf(stderr, "strata capture: %s keeps %lld committed document%s (complete = false); "
                            "rerun with --resume to continue\n", outp, (long long)st.docs,
                    cli_plural(st.docs));
        strata_capture_free(c);
        strata_model_free(m);
        return 1;
    }
    if (!quiet) {
        fprintf(stderr, "strata capture: %s: %lld document%s, %lld token%s, %lld row%s",
                outp, (long long)st.docs, cli_plural(st.docs), (long long)st.tokens,
                cli_plural(st.tokens), (long long)st.rows, cli_plural(st.rows));
        if (st.docs_skipped) fprintf(stderr, " (%lld already there, resumed)", (long long)st.docs_skipped);
        fprintf(stderr, "; %.1f s, %.0f tokens/s\n", st.seconds,
                st.seconds > 0 ? (double)st.tokens_run / st.seconds : 0.0);
    }
    if (st.truncated && rank == 0) /* reported even with --quiet: data was cut */
        fprintf(stderr, "strata capture: %lld document%s truncated to %s tokens\n",
                (long long)st.truncated, cli_plural(st.truncated),
                o.max_tokens ? "--max-tokens" : "the model's n_ctx");
    strata_capture_free(c);
    cli_close_model("capture", m);
    return 0;
}
