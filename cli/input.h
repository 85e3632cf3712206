/* cli/input.h — opening a model, turning a command line's TEXT or --ids into
 * token ids, and printing token pieces (shared by run, generate, lens, attn). */
#ifndef STRATA_CLI_INPUT_H
#define STRATA_CLI_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include "strata/model.h"

/* Opens the model at path with default options and n_threads = threads (0:
 * the library's default); NULL after printing "strata <cmd>: <why>". */
strata_model *cli_open_model(const char *cmd, const char *path, int threads);
/* The same at a hub revision (--revision REV; NULL: "main" for hub ids). */
strata_model *cli_open_model_rev(const char *cmd, const char *path, const char *revision, int threads);
/* strata_nonfinite_mode for cli_open_model (main.c sets it from --nonfinite). */
extern int cli_nonfinite_mode;
/* Frees m after printing "strata <cmd>: warning: non-finite values ..." when
 * a forward pass produced NaN/Inf (the first place: hook, layer, position). */
void cli_close_model(const char *cmd, strata_model *m);
/* ids_arg ("1,2,3") wins over text; text needs the model's tokenizer (BOS
 * added per the tokenizer's default unless no_bos).  Returns count >= 1 and a
 * malloc'd array, or -1 after printing "strata <cmd>: ..." to stderr. */
int cli_model_input(strata_model *m, const char *cmd, const char *ids_arg, const char *text,
                    int no_bos, int32_t **out);
/* Writes the JSON string of one token's decoded text (or null without a tokenizer). */
void cli_json_token_text(FILE *f, strata_model *m, int32_t id);
/* Writes s as a JSON string literal. */
void cli_json_string(FILE *f, const char *s);

#endif
