/* cli/task_file.h — reading the inputs of `strata eval` and `strata sweep`:
 * prompt/answer task files (JSONL) and documents (text lines or token-id
 * lines), tokenized for one model.
 *
 * Task lines: {"prompt": "...", "answer": "..."} (the prompt tokenized with
 * the tokenizer's default BOS unless no_bos, the answer with no special
 * tokens) or {"prompt_ids": [...], "answer_ids": [...]} (used as given).
 * Other keys are ignored; blank lines are skipped. */
#ifndef STRATA_CLI_TASK_FILE_H
#define STRATA_CLI_TASK_FILE_H

#include <stdint.h>
#include "strata/model.h"

typedef struct cli_task {
    int64_t n;            /* items */
    int32_t *prompt_ids;  /* concatenated prompts */
    int64_t *prompt_off;  /* [n+1] */
    int32_t *answer_ids;
    int64_t *answer_off;  /* [n+1] */
    int32_t uses_text;    /* 1 when some line gave text (needs the tokenizer) */
} cli_task;

/* 0, or -1 after printing "strata <cmd>: <path>:<line>: <field>: <problem>". */
int cli_task_load(const char *cmd, const char *path, strata_model *m, int no_bos, cli_task *t);
void cli_task_free(cli_task *t);

/* Documents: kind 0 = text, one per line (blank lines skipped), 2 = token
 * ids separated by spaces or commas.  Each is cut to the model's context
 * (*truncated counts them).  tokens [n][T] right-padded with the row's first
 * id, lengths [n].  Returns n >= 1, or -1 after printing why (an empty file
 * is an error). */
int cli_docs_load(const char *cmd, const char *path, int kind, strata_model *m, int no_bos,
                  int32_t **tokens, int32_t **lengths, int *T, int64_t *truncated);

/* Median document length in tokens (BOS as the tokenizer's default adds it
 * unless no_bos; capped at the model's context) of a corpus file: kind
 * STRATA_INPUT_TEXT, _JSONL ("text" or "ids") or _TOKENS.  Returns >= 1, or
 * -1 after printing why. */
int cli_docs_median_length(const char *cmd, const char *path, int kind, strata_model *m, int no_bos);

#endif
