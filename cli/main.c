/* cli/main.c — `strata <command> [args]`: dispatch to cli/cmd_<command>.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "strata/model.h"

struct cli_entry { const char *name; cli_cmd_fn fn; const char *help; };

static void usage(FILE *f, const struct cli_entry *cmds, int n)
{
    fprintf(f, "strata %s — look inside transformer language models\n\n", strata_libversion());
    fprintf(f, "usage: strata <command> [options]   (strata <command> --help for details)\n\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv)
{
#define CLI_ENTRY(name, help) { #name, cmd_##name, help },
    static const struct cli_entry cmds[] = { CLI_COMMANDS(CLI_ENTRY) };
#undef CLI_ENTRY
    int n = (int)(sizeof cmds / sizeof cmds[0]);
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout, cmds, n);
        return argc < 2 ? 2 : 0;
    }
    /* Under a tight `ulimit -v` this OpenBLAS spins instead of failing: refuse
     * up front, and leave with _exit (a spinning worker would block exit()). */
    char vmsg[512];
    const char *nochk = getenv("STRATA_NO_VMEM_CHECK");
    if (!(nochk && *nochk == '1') && strata_blas_vmem_check(vmsg, sizeof vmsg) != STRATA_OK) {
        fprintf(stderr, "strata: %s\n", vmsg);
        fflush(NULL);
        _exit(1);
    }
    if (!strcmp(argv[1], "--version")) { printf("strata %s\n", strata_libversion()); return 0; }
    for (int i = 0; i < n; i++) {
        if (strcmp(argv[1], cmds[i].name)) continue;
        /* Heavy commands: say once when OpenBLAS runs a generic kernel on a
         * CPU that could go several times faster (STRATA_QUIET=1 silences). */
        static const char *heavy[] = { "capture", "probe", "pca", "cka", "attn", "sweep", NULL };
        for (int h = 0; heavy[h]; h++) {
            const char *w = strata_blas_warning(), *q = getenv("STRATA_QUIET");
            if (!strcmp(argv[1], heavy[h]) && w && !(q && *q == '1'))
                fprintf(stderr, "strata: note: %s\n", w);
        }
        /* --nonfinite MODE (commands that run a model): what a NaN/Inf in the
         * forward pass does; taken out of argv before the command parses it. */
        static const char *runs_model[] = { "run", "generate", "lens", "capture", "attn", "eval",
                                            "sweep", "train", NULL };
        int takes = 0;
        for (int r = 0; runs_model[r]; r++) takes |= !strcmp(argv[1], runs_model[r]);
        int k = 2;
        for (int j = 2; j < argc; j++) {
            const char *a = argv[j], *v = NULL;
            if (takes && !strcmp(a, "--nonfinite") && j + 1 < argc) v = argv[++j];
            else if (takes && !strncmp(a, "--nonfinite=", 12)) v = a + 12;
            else if (!strcmp(a, "--")) { while (j < argc) argv[k++] = argv[j++]; break; }
            else { argv[k++] = argv[j]; continue; }
            if (!strcmp(v, "warn")) cli_nonfinite_mode = STRATA_NONFINITE_WARN;
            else if (!strcmp(v, "error")) cli_nonfinite_mode = STRATA_NONFINITE_ERROR;
            else if (!strcmp(v, "off")) cli_nonfinite_mode = STRATA_NONFINITE_OFF;
            else {
                fprintf(stderr, "strata %s: --nonfinite must be warn, error or off (got '%s')\n",
                        argv[1], v);
                return 2;
            }
        }
        argv[k] = NULL;
        return cmds[i].fn(k - 1, argv + 1);
    }
    fprintf(stderr, "strata: unknown command '%s'\n", argv[1]);
    usage(stderr, cmds, n);
    return 2;
}
