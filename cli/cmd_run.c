/* cli/cmd_run.c — `strata run MODEL (TEXT | --ids 1,2,3) [--top K] [--json]`:
 * one forward pass, the top-K next tokens at each position. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "strata/model.h"
#include "strata/tokenizer.h"

static void usage(void)
{
    printf("usage: strata run MODEL (TEXT | --ids 1,2,3) [--top K] [--no-bos] [--threads N] [--json]\n"
           "                  [--revision REV]\n\n"
           "Runs one forward pass and prints the top-K next tokens (default 5) at every\n"
           "position. --json prints {\"positions\": [{\"top_ids\": [...], \"top_logits\": [...]}, ...]}.\n");
}

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *ids_arg = NULL, *text = NULL, *revision = NULL;
    int top = 5, json = 0, no_bos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { usage(); return 0; }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--no-bos")) no_bos = 1;
        else if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_arg = argv[++i];
        else if (!strcmp(argv[i], "--top") && i + 1 < argc) {
            if (cli_parse_int("run", "--top", argv[++i], 1, INT32_MAX, &top)) return 2;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (cli_parse_int("run", "--threads", argv[++i], 0, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(argv[i], "--revision") && i + 1 < argc) {
            revision = argv[++i];
        }
        else if (argv[i][0] == '-' && argv[i][1]) { fprintf(stderr, "strata run: unknown or incomplete option %s\n", argv[i]); return 2; }
        else if (!path) path = argv[i];
        else if (!text) text = argv[i];
        else { fprintf(stderr, "strata run: unexpected argument %s\n", argv[i]); return 2; }
    }
    if (!path) { fprintf(stderr, "strata run: missing MODEL (see --help)\n"); return 2; }
    strata_model *m = cli_open_model_rev("run", path, revision, threads);
    if (!m) return 1;
    int32_t *ids;
    int n = cli_model_input(m, "run", ids_arg, text, no_bos, &ids);
    if (n < 0) { strata_model_free(m); return 1; }
    const int V = strata_model_config(m)->vocab_size;
    if (top > V) top = V;
    float *logits = malloc(sizeof(float) * (size_t)n * V);
    int32_t len = n;
    int rc = logits ? strata_run(m, ids, &len, 1, logits) : STRATA_ERR_NOMEM;
    if (rc != STRATA_OK) {
        fprintf(stderr, "strata run: %s\n", logits ? strata_errmsg(m) : "out of memory");
        free(logits); free(ids); strata_model_free(m);
        return 1;
    }
    int *best = malloc(sizeof(int) * top);
    const int has_tok = strata_model_tokenizer(m) != NULL;
    if (json) printf("{\"positions\": [");
    for (int t = 0; t < n; t++) {
        const float *row = logits + (size_t)t * V;
        /* partial selection of the top K (K small) */
        for (int k = 0; k < top; k++) {
            int bi = -1;
            for (int j = 0; j < V; j++) {
                int used = 0;
                for (int u = 0; u < k && !used; u++) used = best[u] == j;
                if (!used && (bi < 0 || row[j] > row[bi])) bi = j;
            }
            best[k] = bi;
        }
        if (json) {
            printf("%s{\"position\": %d, \"input_id\": %d, \"top_ids\": [", t ? ", " : "", t, ids[t]);
            for (int k = 0; k < top; k++) printf("%s%d", k ? ", " : "", best[k]);
            printf("], \"top_logits\": [");
            for (int k = 0; k < top; k++) printf("%s%.6g", k ? ", " : "", row[best[k]]);
            printf("], \"top_tokens\": [");
            for (int k = 0; k < top; k++) { if (k) printf(", "); cli_json_token_text(stdout, m, best[k]); }
            printf("]}");
        } else {
            printf("%4d  id %-6d ->", t, ids[t]);
            for (int k = 0; k < top; k++) {
                printf("  %d (", best[k]);
                if (has_tok) {   /* without a tokenizer: the id and its logit only */
                    cli_json_token_text(stdout, m, best[k]);
                    printf(" ");
                }
                printf("%.3f)", row[best[k]]);
            }
            printf("\n");
        }
    }
    if (json) printf("]}\n");
    free(best); free(logits); free(ids);
    cli_close_model("run", m);
    return 0;
}
