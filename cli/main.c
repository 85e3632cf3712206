/* cli/main.c — `strata <command> [args]`: dispatch to cli/cmd_<command>.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "strata/dist.h"
#include "strata/model.h"

struct cli_entry { const char *name; cli_cmd_fn fn; const char *help; };

static void usage(FILE *f, const struct cli_entry *cmds, int n)
{
    fprintf(f, "strata %s — look inside transformer language models\n\n", strata_libversion());
    fprintf(f, "usage: strata <command> [options]   (strata <command> --help for details)\n\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
}

/* The commands that split their work over MPI ranks (docs/SCALE.md). */
static int cli_runs_distributed(const char *cmd)
{
    static const char *dist[] = { "capture", "probe", "pca", "cka", NULL };
    for (int i = 0; dist[i]; i++)
        if (!strcmp(cmd, dist[i])) return 1;
    return 0;
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
        /* Several ranks (mpirun, MPI build): only the commands that split
         * their work run; the serial build refuses to run as one of several
         * ranks (every rank would redo the job and write the same output). */
        if (strata_dist_init(&argc, &argv) != STRATA_OK) {
            fprintf(stderr, "strata %s: %s\n", argv[1], strata_dist_errmsg());
            return 1;
        }
        if (strata_dist_size() > 1 && !cli_runs_distributed(argv[1])) {
            if (strata_dist_rank() == 0)
                fprintf(stderr, "strata %s: this command does not split its work over MPI "
                        "ranks (%d ranks here); run it without mpirun (docs/SCALE.md)\n",
                        argv[1], strata_dist_size());
            strata_dist_finalize();
            return 2;
        }
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
                strata_dist_finalize();
                return 2;
            }
        }
        argv[k] = NULL;
        int rc = cmds[i].fn(k - 1, argv + 1);
        strata_dist_finalize();
        return rc;
    }
    fprintf(stderr, "strata: unknown command '%s'\n", argv[1]);
    usage(stderr, cmds, n);
    return 2;
}
