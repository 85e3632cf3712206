/* cli/cli.h — subcommands of the `strata` tool (one file each: cli/cmd_<name>.c).
 *
 * Each command is `int cmd_<name>(int argc, char **argv)` where argv[0] is the
 * subcommand name; it returns the process exit status (0 ok, 1 error, 2 usage)
 * and prints `--help` text when asked.  Errors go to stderr as
 * "strata <cmd>: <message>". */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdio.h>

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* Declared weak so that a command still under construction does not break
 * the build; main() reports a missing one. */
#define CLI_COMMANDS(X) \
    X(info,     "model dimensions, parameter count, hook names and shapes") \
    X(tokenize, "text -> token ids, pieces and offsets") \
    X(run,      "forward pass: top-k next tokens at each position") \
    X(generate, "greedy continuation with a KV cache") \
    X(capture,  "stream hooked activations of a corpus into HDF5") \
    X(probe,    "fit linear probes on captured activations, layer by layer") \
    X(pca,      "PCA, explained variance and participation ratio per hook") \
    X(cka,      "linear CKA similarity between hooks") \
    X(attn,     "attention-head statistics (prev-token, sink, induction, ...)") \
    X(lens,     "logit lens: next-token predictions from every layer") \
    X(sweep,    "capture + probe sweep in one step") \
    X(report,   "HTML/SVG report of a sweep")

#define CLI_DECLARE(name, help) int cmd_##name(int argc, char **argv) __attribute__((weak));
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE

/* Shared helpers (cli/common.c). */
int cli_is_help(const char *arg);
/* Parses "1,2,3" or "1 2 3" into a malloc'd array; returns count or -1. */
int cli_parse_ids(const char *s, int **out);

#endif
