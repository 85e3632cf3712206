/* cli/cmd_lens.c — `strata lens MODEL (TEXT | --ids 1,2,3) [--top K] [--json]`:
 * the logit lens on one document (probes/lens.c, docs/cli/lens.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "strata/lens.h"
#include "strata/model.h"
#include "strata/tokenizer.h"

static void usage(void)
{
    printf(
        "usage: strata lens MODEL (TEXT | --ids 1,2,3) [--top K] [--no-bos] [--threads N] [--json]\n"
        "                   [--revision REV]\n\n"
        "Logit lens: the model's final norm and unembedding applied to the residual\n"
        "stream after the embeddings and after every layer.  Prints, per position and\n"
        "layer, the rank (0 = top) of the actual next token, its mean log-probability\n"
        "per layer, and the top-K tokens (default 3) of every layer at the last\n"
        "position.  --json prints every position's top-K at every layer.\n");
}

/* Short printable form of one token: decoded text, quoted, escapes for
 * control characters; "#id" without a tokenizer.  (JSON output uses the
 * plain decoded text, cli_json_token_text.) */
static void token_str(strata_model *m, int32_t id, char *out, size_t cap)
{
    strata_tokenizer *tok = strata_model_tokenizer(m);
    char buf[128];
    if (!tok || strata_detokenize(tok, &id, 1, 0, buf, sizeof buf) < 0) {
        snprintf(out, cap, "#%d", id);
        return;
    }
    size_t o = 0;
    if (o + 1 < cap) out[o++] = '"';
    /* SentencePiece decoders strip the leading space of a lone piece: put it back */
    const char *piece = strata_token_piece(tok, id);
    if (piece && !strncmp(piece, "\xe2\x96\x81", 3) && buf[0] != ' ' && o + 1 < cap) out[o++] = ' ';
    for (const unsigned char *p = (const unsigned char *)buf; *p && o + 5 < cap; p++) {
        if (*p == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (*p < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
        else out[o++] = (char)*p;
    }
    if (o + 1 < cap) out[o++] = '"';
    out[o] = 0;
}

static const char *point_label(int p, char *buf, size_t cap)
{
    if (p == 0) snprintf(buf, cap, "emb");
    else snprintf(buf, cap, "L%d", p - 1);
    return buf;
}

int cmd_lens(int argc, char **argv)
{
    const char *path = NULL, *ids_arg = NULL, *text = NULL, *revision = NULL;
    int top = 3, json = 0, no_bos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) { usage(); return 0; }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--no-bos")) no_bos = 1;
        else if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_arg = argv[++i];
        else if (!strcmp(argv[i], "--top") && i + 1 < argc) {
            if (cli_parse_int("lens", "--top", argv[++i], 1, INT32_MAX, &top)) return 2;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (cli_parse_int("lens", "--threads", argv[++i], 0, CLI_MAX_THREADS, &threads)) return 2;
        } else if (!strcmp(argv[i], "--revision") && i + 1 < argc) {
            revision = argv[++i];
        }
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "strata lens: unknown or incomplete option %s (see --help)\n", argv[i]);
            return 2;
        } else if (!path) path = argv[i];
        else if (!text) text = argv[i];
        else { fprintf(stderr, "strata lens: unexpected argument %s\n", argv[i]); return 2; }
    }
    if (!path) { fprintf(stderr, "strata lens: missing MODEL (see --help)\n"); return 2; }
    strata_model *m = cli_open_model_rev("lens", path, revision, threads);
    if (!m) return 1;
    const strata_config *c = strata_model_config(m);
    if (top > c->vocab_size) top = c->vocab_size;
    int32_t *ids = NULL;
    int n = cli_model_input(m, "lens", ids_arg, text, no_bos, &ids);
    if (n < 0) { strata_model_free(m); return 1; }
    strata_lens *l = NULL;
    int status = 1;
    if (strata_lens_new(m, &l) != STRATA_OK || strata_lens_run(l, ids, n, top) != STRATA_OK) {
        fprintf(stderr, "strata lens: %s\n", strata_lens_errmsg(l));
        goto done;
    }
    const int P = strata_lens_n_points(l), K = top;
    const int32_t *tid = strata_lens_top_ids(l), *rank = strata_lens_next_rank(l);
    const float *tpr = strata_lens_top_probs(l), *np = strata_lens_next_prob(l);
    /* per point: mean rank and mean log-probability of the next token */
    double *mrank = calloc((size_t)P, sizeof *mrank), *mlp = calloc((size_t)P, sizeof *mlp);
    if (!mrank || !mlp) { free(mrank); free(mlp); fprintf(stderr, "strata lens: out of memory\n"); goto done; }
    for (int p = 0; p < P && n > 1; p++) {
        for (int t = 0; t + 1 < n; t++) {
            mrank[p] += rank[p * n + t];
            mlp[p] += log(fmax(np[p * n + t], 1e-45));
        }
        mrank[p] /= n - 1;
        mlp[p] /= n - 1;
    }
    char a[160], b[160], lab[16];
    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, c->name);
        printf(", \"tokens\": [");
        for (int t = 0; t < n; t++) printf("%s%d", t ? ", " : "", ids[t]);
        printf("], \"points\": [");
        for (int p = 0; p < P; p++) {
            if (p) printf(", ");
            cli_json_string(stdout, strata_lens_point_name(l, p));
        }
        printf("],\n \"summary\": [");
        for (int p = 0; p < P; p++) {
            printf("%s{\"point\": ", p ? ", " : "");
            cli_json_string(stdout, strata_lens_point_name(l, p));
            if (n > 1) printf(", \"mean_rank\": %.4g, \"mean_log_prob\": %.6g}", mrank[p], mlp[p]);
            else printf(", \"mean_rank\": null, \"mean_log_prob\": null}");
        }
        printf("],\n \"positions\": [");
        for (int t = 0; t < n; t++) {
            printf("%s\n  {\"position\": %d, \"token\": %d, \"text\": ", t ? "," : "", t, ids[t]);
            cli_json_token_text(stdout, m, ids[t]);
            if (t + 1 < n) printf(", \"next\": %d", ids[t + 1]);
            else printf(", \"next\": null");
            printf(", \"layers\": [");
            for (int p = 0; p < P; p++) {
                printf("%s{\"point\": ", p ? ", " : "");
                cli_json_string(stdout, strata_lens_point_name(l, p));
                if (t + 1 < n) printf(", \"rank\": %d, \"prob\": %.6g", rank[p * n + t], np[p * n + t]);
                else printf(", \"rank\": null, \"prob\": null");
                printf(", \"top\": [");
                for (int k = 0; k < K; k++) {
                    int32_t id = tid[(p * n + t) * K + k];
                    printf("%s{\"id\": %d, \"text\": ", k ? ", " : "", id);
                    cli_json_token_text(stdout, m, id);
                    printf(", \"prob\": %.6g}", tpr[(p * n + t) * K + k]);
                }
                printf("]}");
            }
            printf("]}");
        }
        printf("\n]}\n");
    } else {
        printf("# logit lens: %s, %d tokens, %d readout points (emb = embeddings, Ln = after "
               "layer n)\n", c->name, n, P);
        printf("# rank of the actual next token (0 = top prediction)\n");
        printf("%4s  %-16s %-16s", "pos", "token", "next");
        for (int p = 0; p < P; p++) printf(" %6s", point_label(p, lab, sizeof lab));
        printf("  top-1 after last layer\n");
        for (int t = 0; t + 1 < n; t++) {
            token_str(m, ids[t], a, sizeof a);
            token_str(m, ids[t + 1], b, sizeof b);
            printf("%4d  %-16.16s %-16.16s", t, a, b);
            for (int p = 0; p < P; p++) printf(" %6d", rank[p * n + t]);
            token_str(m, tid[((P - 1) * n + t) * K], a, sizeof a);
            printf("  %s\n", a);
        }
        printf("%-39s", "mean rank");
        for (int p = 0; p < P; p++) printf(" %6.2f", mrank[p]);
        printf("\n%-39s", "mean log p(next)");
        for (int p = 0; p < P; p++) printf(" %6.2f", mlp[p]);
        printf("\n\n# top-%d at the last position (%d) by layer\n", K, n - 1);
        for (int p = 0; p < P; p++) {
            printf("%-4s", point_label(p, lab, sizeof lab));
            for (int k = 0; k < K; k++) {
                token_str(m, tid[(p * n + n - 1) * K + k], a, sizeof a);
                printf("  %s %.3f", a, tpr[(p * n + n - 1) * K + k]);
            }
            printf("\n");
        }
    }
    free(mrank);
    free(mlp);
    status = 0;
done:
    strata_lens_free(l);
    free(ids);
    cli_close_model("lens", m);
    return status;
}
