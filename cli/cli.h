/* cli/cli.h — subcommands of the `strata` tool (one file each: cli/cmd_<name>.c).
 *
 * Each command is `int cmd_<name>(int argc, char **argv)` where argv[0] is the
 * subcommand name; it returns the process exit status (0 ok, 1 error, 2 usage)
 * and prints `--help` text when asked.  Errors go to stderr as
 * "strata <cmd>: <message>". */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "strata/capture.h"

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* Every command: one cli/cmd_<name>.c defining cmd_<name>, and one line
 * here (a listed command without its file is a link error). */
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
    X(eval,     "score prompt/answer tasks (exact match, log-prob) or text loss") \
    X(corpus,   "synthetic corpora with per-token ground truth (repeat, modular, ...)") \
    X(sweep,    "measures and transitions across checkpoints and model sizes") \
    X(train,    "train a GPT-2-architecture model (AdamW, checkpoints)") \
    X(report,   "one self-contained HTML report: probes, geometry, heads, attention, emergence")

#define CLI_DECLARE(name, help) int cmd_##name(int argc, char **argv);
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE

/* Shared helpers (cli/common.c). */
int cli_is_help(const char *arg);

/* Checked numeric options: every number on the command line goes through one
 * of these (never atoi/strtol/strtod directly).  The whole string must be the
 * number: no leading blanks, no trailing characters ("3abc", "1e12" for an
 * integer), no overflow, and the value must lie in [lo, hi]; doubles must also
 * be finite.  Each prints "strata <cmd>: <opt>: '<s>' is not <what> in
 * [lo, hi]" (or names the overflow / trailing characters) to stderr and
 * returns -1; 0 on success, *out untouched on error. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);
int cli_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_f64(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* Upper bounds of the numeric options (sane limits, far above any real use;
 * the library checks what depends on the model, e.g. n_ctx). */
#define CLI_MAX_THREADS 1024          /* --threads (0 = all cores) */
#define CLI_MAX_BATCH 65536           /* --batch: documents per forward pass */
#define CLI_MAX_TOKENS (1 << 20)      /* generate -n, attn --induction R */
#define CLI_MAX_DOCS (1 << 20)        /* attn --n-docs */
#define CLI_MAX_BLOCK_ROWS (1 << 24)  /* --block-rows of streamed analyses */
/* Parses "1,2,3" or "1 2 3" into a malloc'd array; returns count or -1. */
int cli_parse_ids(const char *s, int **out);
/* Parses a byte size "4096", "1.5k", "256M", "2GB" (K/M/G are powers of 1024,
 * an optional trailing B); returns 0, or -1 unless it is a finite number > 0
 * whose byte count fits in int64. */
int cli_parse_size(const char *s, int64_t *out);
/* Does name match one of the comma-separated fnmatch patterns in globs (or
 * equal one of them: exact hook names may hold "[h]")? */
int cli_match_any(const char *globs, const char *name);
/* Writes s as a JSON string literal, every control character as \u00XX
 * (cli_json_string in input.h writes \n and \t instead). */
void cli_jstr(FILE *f, const char *s);
/* Writes s with <, > and & escaped for SVG text. */
void cli_svg_escape(FILE *f, const char *s);

/* Opens a capture file; NULL after printing "strata <cmd>: <why>". */
strata_acts *cli_open_acts(const char *cmd, const char *path);
/* The hooks of acts that match the --hooks patterns glob, or without glob
 * every hook stored as [R, d]: a calloc'd array of strdup'd names with room
 * for every hook of the file (free each name and the array); *n = the count.
 * When none is chosen, prints "strata <cmd>: <path>: no hook ..." with the
 * file's hooks. */
/* "" for 1, "s" otherwise: printf("%lld document%s", n, cli_plural(n)). */
const char *cli_plural(long long n);
char **cli_select_hooks(const char *cmd, strata_acts *acts, const char *path, const char *glob, int *n);

#endif
