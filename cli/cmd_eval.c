/* cli/cmd_eval.c — `strata eval MODEL (--task FILE | --text-file F |
 * --tokens-file F) [--json]`: task scores (exact match, answer
 * log-probability, token accuracy) or mean next-token loss
 * (strata/eval.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "strata/eval.h"
#include "strata/model.h"
#include "task_file.h"

static void usage(void)
{
    printf("usage: strata eval MODEL (--task FILE | --text-file F | --tokens-file F)\n"
           "                  [--no-bos] [--threads N] [--json] [--revision REV]\n\n"
           "--task FILE   JSONL, one item a line: {\"prompt\": \"...\", \"answer\": \"...\"} or\n"
           "              {\"prompt_ids\": [...], \"answer_ids\": [...]}. Prints\n"
           "                exact_match     greedy continuation of the prompt (as many tokens as\n"
           "                                the answer) equals the answer, mean over items\n"
           "                answer_logprob  mean over answer tokens of log p(token | all before),\n"
           "                                teacher-forced, nats; mean over items\n"
           "                token_accuracy  teacher-forced argmax == answer token; mean over items\n"
           "                n               items\n"
           "              Text prompts get the tokenizer's default BOS (--no-bos: none); answers\n"
           "              are tokenized on their own, without special tokens.\n"
           "--text-file F one document per line; --tokens-file F: token ids per line.\n"
           "              Prints loss: the mean next-token cross-entropy (nats) over every\n"
           "              predicted token. Documents longer than the context are cut.\n"
           "--json        one JSON object with those keys at the top level.\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *path = NULL, *task = NULL, *text = NULL, *tokens_file = NULL, *revision = NULL;
    int json = 0, no_bos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { usage(); return 0; }
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--no-bos")) no_bos = 1;
        else if (!strcmp(a, "--task") && i + 1 < argc) task = argv[++i];
        else if (!strcmp(a, "--text-file") && i + 1 < argc) text = argv[++i];
        else if (!strcmp(a, "--tokens-file") && i + 1 < argc) tokens_file = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (cli_parse_int("eval", "--threads", argv[++i], 0, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(a, "--revision") && i + 1 < argc) {
            revision = argv[++i];
        } else if (a[0] == '-' && a[1]) { fprintf(stderr, "strata eval: unknown or incomplete option %s\n", a); return 2; }
        else if (!path) path = a;
        else { fprintf(stderr, "strata eval: unexpected argument %s\n", a); return 2; }
    }
    if (!path) { fprintf(stderr, "strata eval: missing MODEL (see --help)\n"); return 2; }
    if ((task != NULL) + (text != NULL) + (tokens_file != NULL) != 1) {
        fprintf(stderr, "strata eval: give exactly one of --task, --text-file, --tokens-file\n");
        return 2;
    }
    strata_model *m = cli_open_model_rev("eval", path, revision, threads);
    if (!m) return 1;
    int rc = 1;
    char err[1024];
    if (task) {
        cli_task t;
        if (cli_task_load("eval", task, m, no_bos, &t)) { strata_model_free(m); return 1; }
        strata_eval_result r;
        if (strata_eval_task(m, t.prompt_ids, t.prompt_off, t.answer_ids, t.answer_off, t.n, NULL, &r, err, sizeof err)) {
            fprintf(stderr, "strata eval: %s: %s\n", task, err);
        } else {
            rc = 0;
            if (json) {
                printf("{\"model\": ");
                cli_jstr(stdout, path);
                printf(", \"task\": ");
                cli_jstr(stdout, task);
                printf(", \"n\": %lld, \"n_answer_tokens\": %lld, \"exact_match\": %.17g, "
                       "\"answer_logprob\": %.17g, \"token_accuracy\": %.17g}\n",
                       (long long)r.n, (long long)r.n_answer_tokens, r.exact_match, r.answer_logprob,
                       r.token_accuracy);
            } else {
                printf("task            %s\n", task);
                printf("n               %lld items (%lld answer tokens)\n", (long long)r.n, (long long)r.n_answer_tokens);
                printf("exact_match     %.4f\n", r.exact_match);
                printf("answer_logprob  %.4f nats\n", r.answer_logprob);
                printf("token_accuracy  %.4f\n", r.token_accuracy);
            }
        }
        cli_task_free(&t);
    } else {
        const char *file = text ? text : tokens_file;
        int32_t *tok, *len;
        int T;
        int64_t truncated;
        int n = cli_docs_load("eval", file, text ? 0 : 2, m, no_bos, &tok, &len, &T, &truncated);
        if (n < 0) { strata_model_free(m); return 1; }
        double loss;
        int64_t nt;
        if (strata_eval_text_loss(m, tok, len, n, 0, &loss, &nt, err, sizeof err)) {
            fprintf(stderr, "strata eval: %s: %s\n", file, err);
        } else if (nt == 0) {
            fprintf(stderr, "strata eval: %s: every document is a single token: nothing to predict\n", file);
        } else {
            rc = 0;
            if (json) {
                printf("{\"model\": ");
                cli_jstr(stdout, path);
                printf(", \"%s\": ", text ? "text_file" : "tokens_file");
                cli_jstr(stdout, file);
                printf(", \"loss\": %.17g, \"n_tokens\": %lld, \"n_docs\": %d, \"truncated\": %lld}\n",
                       loss, (long long)nt, n, (long long)truncated);
            } else {
                printf("documents       %d (%lld cut to the context)\n", n, (long long)truncated);
                printf("tokens          %lld predicted\n", (long long)nt);
                printf("loss            %.4f nats (perplexity %.2f)\n", loss, exp(loss));
            }
        }
        free(tok);
        free(len);
    }
    cli_close_model("eval", m);
    return rc;
}
