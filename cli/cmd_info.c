/* cli/cmd_info.c — `strata info MODEL [--json]`: architecture, dimensions,
 * parameter count, every hook point with its shape, the OpenBLAS kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/hooks.h"
#include "strata/model.h"

#include "io/gguf.h"   /* st_gguf_dump: metadata and tensor listing of a .gguf file */

static const char *arch_name(int a)
{
    const char *t = strata_arch_model_type(a);
    return t ? t : "?";
}

static const char *shape_axes(int kind)
{
    switch (kind) {
    case STRATA_HOOK_ATTN_Q: case STRATA_HOOK_ATTN_ROT_Q: case STRATA_HOOK_ATTN_Z: return "batch,pos,head,d_head";
    case STRATA_HOOK_ATTN_K: case STRATA_HOOK_ATTN_V: case STRATA_HOOK_ATTN_ROT_K: return "batch,pos,kv_head,d_head";
    case STRATA_HOOK_ATTN_SCORES: case STRATA_HOOK_ATTN_PATTERN: return "batch,head,query_pos,key_pos";
    case STRATA_HOOK_ATTN_RESULT: return "batch,pos,head,d_model";
    case STRATA_HOOK_LN1_SCALE: case STRATA_HOOK_LN2_SCALE: case STRATA_HOOK_LN_FINAL_SCALE:
    case STRATA_HOOK_LN1_POST_SCALE: case STRATA_HOOK_LN2_POST_SCALE: return "batch,pos,1";
    case STRATA_HOOK_MLP_PRE: case STRATA_HOOK_MLP_PRE_LINEAR: case STRATA_HOOK_MLP_POST: return "batch,pos,d_mlp";
    case STRATA_HOOK_LOGITS: return "batch,pos,vocab";
    default: return "batch,pos,d_model";
    }
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL, *revision = NULL;
    int json = 0, gguf_meta = 0, weights_f32 = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: strata info MODEL [--json] [--revision REV] [--weights-f32]\n\n"
                   "MODEL is a Hugging Face model directory, a .gguf file or a hub id (ORG/NAME)\n"
                   "in the local Hugging Face cache (--revision: a branch, tag or commit there).\n"
                   "Prints the architecture, dimensions, parameter count, the OpenBLAS kernel\n"
                   "and every hook point with its shape (B = batch, T = positions); for a\n"
                   ".gguf file also its metadata and tensor table (types and shapes).\n"
                   "The weights line gives the memory the weights take: bytes used in place from\n"
                   "the file's mapping (F16/BF16/Q8_0 matrices stay in their stored type) and\n"
                   "float32 copies; --weights-f32 opens with every weight copied to float32.\n"
                   "  --json   machine-readable output (docs/CLI.md); GGUF listing under \"gguf\"\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--gguf")) gguf_meta = 1;
        else if (!strcmp(argv[i], "--revision") && i + 1 < argc) revision = argv[++i];
        else if (!strcmp(argv[i], "--weights-f32")) weights_f32 = 1;
        else if (argv[i][0] == '-') { fprintf(stderr, "strata info: unknown option %s\n", argv[i]); return 2; }
        else if (!path) path = argv[i];
        else { fprintf(stderr, "strata info: unexpected argument %s\n", argv[i]); return 2; }
    }
    if (!path) { fprintf(stderr, "strata info: missing MODEL (see --help)\n"); return 2; }
    strata_model *m = NULL;
    strata_open_opts oo = strata_open_opts_default();
    oo.revision = revision;
    oo.weights_f32 = weights_f32;
    if (strata_model_open(path, &oo, &m) != STRATA_OK) {
        fprintf(stderr, "strata info: %s\n", strata_errmsg(m));
        strata_model_free(m);
        return 1;
    }
    const strata_config *c = strata_model_config(m);
    const char *warn = strata_blas_warning();
    int n = strata_model_n_hook_points(m);
    int is_gguf = !strcmp(strata_model_format(m), "gguf");
    (void)gguf_meta; /* GGUF metadata is always listed now; --gguf kept for old scripts */
    if (json) {
        printf("{\"name\": ");
        cli_jstr(stdout, c->name);
        /* names as the Python bindings' ModelConfig spells them (arch, norm, act) */
        const char *an = strata_arch_name(c->arch);
        printf(", \"format\": \"%s\", \"arch\": \"%s\", \"model_type\": \"%s\", \"d_model\": %d, \"n_layers\": %d, \"n_heads\": %d, "
               "\"n_kv_heads\": %d, \"d_head\": %d, \"d_mlp\": %d, \"vocab_size\": %d, \"n_ctx\": %d, "
               "\"n_params\": %lld, \"norm\": \"%s\", \"act\": \"%s\", \"gated_mlp\": %s, \"rope\": \"%s\", \"rotary_dim\": %d, "
               "\"parallel_residual\": %s, \"tied_embeddings\": %s, \"blas_core\": ",
               strata_model_format(m), an ? an : "?", arch_name(c->arch), c->d_model, c->n_layers, c->n_heads,
               c->n_kv_heads, c->d_head, c->d_mlp, c->vocab_size, c->n_ctx,
               (long long)strata_model_n_params(m), c->norm_kind == STRATA_NORM_RMS ? "rmsnorm" : "layernorm",
               c->act == STRATA_ACT_GELU_NEW ? "gelu_new" : c->act == STRATA_ACT_GELU ? "gelu"
               : c->act == STRATA_ACT_SILU ? "silu" : c->act == STRATA_ACT_RELU ? "relu" : "?",
               c->gated_mlp ? "true" : "false",
               c->rope == STRATA_ROPE_HALF ? "half" : c->rope == STRATA_ROPE_INTERLEAVED ? "interleaved" : "none",
               c->rotary_dim, c->parallel_residual ? "true" : "false", c->tied_embeddings ? "true" : "false");
        cli_jstr(stdout, strata_blas_corename());
        printf(", \"matmul_kernel\": ");
        cli_jstr(stdout, strata_matmul_kernel());
        printf(", \"blas_warning\": ");
        if (warn) cli_jstr(stdout, warn); else printf("null");
        int64_t mapped, owned;
        strata_model_weight_memory(m, &mapped, &owned);
        static const char *const wl[] = { "all", "even", "odd", "from" };
        printf(", \"sliding_window\": %d, \"window_layers\": \"%s\", \"window_from\": %d, "
               "\"attn_scale\": %g, \"attn_softcap\": %g, \"final_softcap\": %g",
               c->sliding_window, wl[c->window_layers >= 0 && c->window_layers <= 3 ? c->window_layers : 0],
               c->window_from, c->attn_scale, c->attn_softcap, c->final_softcap);
        printf(", \"weights_mapped_bytes\": %lld, \"weights_owned_bytes\": %lld, \"weights_f32_bytes\": %lld",
               (long long)mapped, (long long)owned, 4LL * (long long)strata_model_n_params(m));
        printf(", \"hooks\": [");
        for (int i = 0; i < n; i++) {
            int kind, layer;
            char name[128];
            int64_t shp[4];
            strata_model_hook_point(m, i, &kind, &layer, name, sizeof name);
            int nd = strata_model_hook_shape(m, kind, 1, 1, shp);
            printf("%s{\"name\": \"%s\", \"axes\": \"%s\", \"shape\": [", i ? ", " : "", name, shape_axes(kind));
            for (int k = 0; k < nd; k++) {
                const char *sym = NULL;
                if (k == 0) sym = "\"B\"";
                else if (kind == STRATA_HOOK_ATTN_SCORES || kind == STRATA_HOOK_ATTN_PATTERN) sym = k >= 2 ? "\"T\"" : NULL;
                else if (k == 1) sym = "\"T\"";
                if (sym) printf("%s%s", k ? ", " : "", sym);
                else printf("%s%lld", k ? ", " : "", (long long)shp[k]);
            }
            printf("]}");
        }
        printf("]");
        /* A GGUF file's own metadata and tensor table nest under "gguf", so the
         * output stays one JSON object. */
        if (is_gguf) {
            char *buf = NULL;
            size_t len = 0;
            FILE *ms = open_memstream(&buf, &len);
            int rc = ms ? st_gguf_dump(path, ms, 1) : -1;
            if (ms) fclose(ms);
            while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) buf[--len] = '\0';
            if (rc == 0 && len > 0) printf(", \"gguf\": %s", buf);
            free(buf);
        }
        printf("}\n");
    } else {
        printf("model       %s (%s, %s)\n", c->name, arch_name(c->arch), strata_model_format(m));
        printf("parameters  %lld\n", (long long)strata_model_n_params(m));
        int64_t mapped, owned;
        strata_model_weight_memory(m, &mapped, &owned);
        printf("weights     %.1f MiB in place from the file + %.1f MiB float32 copies (a full float32 "
               "copy: %.1f MiB)\n", mapped / 1048576.0, owned / 1048576.0,
               4.0 * (double)strata_model_n_params(m) / 1048576.0);
        printf("d_model %d  layers %d  heads %d (kv %d)  d_head %d  d_mlp %d  vocab %d  n_ctx %d\n",
               c->d_model, c->n_layers, c->n_heads, c->n_kv_heads, c->d_head, c->d_mlp,
               c->vocab_size, c->n_ctx);
        printf("norm %s (eps %g)  rotary %s (dim %d, base %g)  residual %s  unembedding %s\n",
               c->norm_kind == STRATA_NORM_RMS ? "RMSNorm" : "LayerNorm", c->norm_eps,
               c->rope == STRATA_ROPE_HALF ? "rotate_half" : c->rope == STRATA_ROPE_INTERLEAVED ? "interleaved" : "none",
               c->rotary_dim, c->rope_theta, c->parallel_residual ? "parallel" : "sequential",
               c->tied_embeddings ? "tied" : "untied");
        if (c->sliding_window > 0 || c->attn_scale > 0 || c->attn_softcap > 0 || c->final_softcap > 0) {
            static const char *const which[] = { "all layers", "even layers", "odd layers", "layers from" };
            printf("attention   ");
            if (c->sliding_window > 0) {
                printf("sliding window %d on %s", c->sliding_window,
                       which[c->window_layers >= 0 && c->window_layers <= 3 ? c->window_layers : 0]);
                if (c->window_layers == STRATA_WINDOW_FROM) printf(" %d on", c->window_from);
                printf("  ");
            }
            if (c->attn_scale > 0) printf("scores x %g  ", c->attn_scale);
            if (c->attn_softcap > 0) printf("score cap %g  ", c->attn_softcap);
            if (c->final_softcap > 0) printf("logit cap %g", c->final_softcap);
            printf("\n");
        }
        printf("OpenBLAS    %s kernel\n", strata_blas_corename());
        printf("matmul      %s (weight products)\n", strata_matmul_kernel());
        if (warn) printf("warning     %s\n", warn);
        printf("\n%d hook points (B = batch, T = positions):\n", n);
        for (int i = 0; i < n; i++) {
            int kind, layer;
            char name[128];
            int64_t shp[4];
            strata_model_hook_point(m, i, &kind, &layer, name, sizeof name);
            int nd = strata_model_hook_shape(m, kind, 1, 1, shp);
            printf("  %-36s [", name);
            for (int k = 0; k < nd; k++) {
                int is_t = (kind == STRATA_HOOK_ATTN_SCORES || kind == STRATA_HOOK_ATTN_PATTERN) ? k >= 2 : k == 1;
                if (k == 0) printf("B");
                else if (is_t) printf(", T");
                else printf(", %lld", (long long)shp[k]);
            }
            printf("]\n");
        }
    }
    if (!json && is_gguf) {
        printf("\n");
        fflush(stdout);
        st_gguf_dump(path, stdout, 0);
    }
    strata_model_free(m);
    return 0;
}
