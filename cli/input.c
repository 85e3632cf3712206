/* cli/input.c — see input.h. */
#include "input.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/tokenizer.h"

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void cli_json_token_text(FILE *f, strata_model *m, int32_t id)
{
    strata_tokenizer *tok = strata_model_tokenizer(m);
    const char *piece = tok ? strata_token_piece(tok, id) : NULL;
    if (!piece) { fputs("null", f); return; }
    cli_json_string(f, piece);
}

int cli_nonfinite_mode = STRATA_NONFINITE_WARN;

strata_model *cli_open_model(const char *cmd, const char *path, int threads)
{
    return cli_open_model_rev(cmd, path, NULL, threads);
}

strata_model *cli_open_model_rev(const char *cmd, const char *path, const char *revision, int threads)
{
    strata_open_opts o = strata_open_opts_default();
    o.n_threads = threads;
    o.revision = revision;
    o.nonfinite = cli_nonfinite_mode;
    strata_model *m = NULL;
    if (strata_model_open(path, &o, &m) != STRATA_OK) {
        fprintf(stderr, "strata %s: %s\n", cmd, strata_errmsg(m));
        strata_model_free(m);
        return NULL;
    }
    return m;
}

void cli_close_model(const char *cmd, strata_model *m)
{
    const char *at = strata_model_nonfinite(m);
    if (at && cli_nonfinite_mode == STRATA_NONFINITE_WARN) /* (ERROR: the command failed on it) */
        fprintf(stderr, "strata %s: warning: the forward pass produced non-finite values, first %s "
                        "(--nonfinite error makes this an error)\n", cmd, at);
    strata_model_free(m);
}

int cli_model_input(strata_model *m, const char *cmd, const char *ids_arg, const char *text,
                    int no_bos, int32_t **out)
{
    int vocab = strata_model_config(m)->vocab_size;
    if (ids_arg) {
        int *ids;
        int n = cli_parse_ids(ids_arg, &ids);
        if (n <= 0) {
            fprintf(stderr, "strata %s: --ids must be a non-empty list of non-negative integers like 1,2,3\n", cmd);
            if (n == 0) free(ids);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (ids[i] >= vocab) {
                fprintf(stderr, "strata %s: --ids: token id %d at index %d out of range (vocab size %d)\n",
                        cmd, ids[i], i, vocab);
                free(ids);
                return -1;
            }
        *out = (int32_t *)ids; /* int and int32_t have the same size here */
        return n;
    }
    if (!text) { fprintf(stderr, "strata %s: give TEXT or --ids (see --help)\n", cmd); return -1; }
    strata_tokenizer *tok = strata_model_tokenizer(m);
    if (!tok) {
        fprintf(stderr, "strata %s: this model has no tokenizer; pass --ids\n", cmd);
        return -1;
    }
    size_t len = strlen(text);
    int64_t cap = (int64_t)len + 8;
    int32_t *ids = malloc(sizeof(int32_t) * cap);
    if (!ids) return -1;
    int64_t n = strata_tokenize(tok, text, len, no_bos ? 0 : -1, ids, cap, NULL);
    if (n < 0 || n > cap) {
        fprintf(stderr, "strata %s: tokenize failed: %s\n", cmd, strata_tokenizer_errmsg(tok));
        free(ids);
        return -1;
    }
    if (n == 0) { fprintf(stderr, "strata %s: the text gives no tokens\n", cmd); free(ids); return -1; }
    *out = ids;
    return (int)n;
}
