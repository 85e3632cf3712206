/* cli/cmd_generate.c — `strata generate MODEL (TEXT | --ids 1,2,3) -n N [--json]`:
 * greedy continuation with a KV cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "strata/model.h"
#include "strata/tokenizer.h"

int cmd_generate(int argc, char **argv)
{
    const char *path = NULL, *ids_arg = NULL, *text = NULL, *revision = NULL;
    int n_new = 32, json = 0, no_bos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: strata generate MODEL (TEXT | --ids 1,2,3) [-n N] [--no-bos] [--threads N] [--json]\n"
                   "                       [--revision REV]\n\n"
                   "Greedy decoding (argmax, first index on ties) of N new tokens (default 32)\n"
                   "with a KV cache. --json prints {\"ids\": [...new ids only...], \"text\": ...}.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--no-bos")) no_bos = 1;
        else if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_arg = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            if (cli_parse_int("generate", "-n", argv[++i], 1, CLI_MAX_TOKENS, &n_new)) return 2;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (cli_parse_int("generate", "--threads", argv[++i], 0, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(argv[i], "--revision") && i + 1 < argc) {
            revision = argv[++i];
        }
        else if (argv[i][0] == '-' && argv[i][1]) { fprintf(stderr, "strata generate: unknown or incomplete option %s\n", argv[i]); return 2; }
        else if (!path) path = argv[i];
        else if (!text) text = argv[i];
        else { fprintf(stderr, "strata generate: unexpected argument %s\n", argv[i]); return 2; }
    }
    if (!path) { fprintf(stderr, "strata generate: missing MODEL (see --help)\n"); return 2; }
    strata_model *m = cli_open_model_rev("generate", path, revision, threads);
    if (!m) return 1;
    int32_t *ids;
    int n = cli_model_input(m, "generate", ids_arg, text, no_bos, &ids);
    if (n < 0) { strata_model_free(m); return 1; }
    int32_t *out = malloc(sizeof(int32_t) * n_new);
    int rc = out ? strata_generate(m, ids, n, n_new, out) : STRATA_ERR_NOMEM;
    if (rc != STRATA_OK) {
        fprintf(stderr, "strata generate: %s\n", out ? strata_errmsg(m) : "out of memory");
        free(out); free(ids); strata_model_free(m);
        return 1;
    }
    strata_tokenizer *tok = strata_model_tokenizer(m);
    char *txt = NULL;
    if (tok) {
        int64_t need = strata_detokenize(tok, out, n_new, 1, NULL, 0);
        if (need >= 0 && (txt = malloc((size_t)need + 1)))
            strata_detokenize(tok, out, n_new, 1, txt, need + 1);
    }
    if (json) {
        printf("{\"ids\": [");
        for (int i = 0; i < n_new; i++) printf("%s%d", i ? ", " : "", out[i]);
        printf("], \"text\": ");
        if (txt) cli_json_string(stdout, txt); else printf("null");
        printf("}\n");
    } else if (txt) {
        printf("%s\n", txt);
    } else {
        for (int i = 0; i < n_new; i++) printf("%s%d", i ? " " : "", out[i]);
        printf("\n");
    }
    free(txt); free(out); free(ids);
    cli_close_model("generate", m);
    return 0;
}
