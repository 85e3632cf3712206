/* bench/attn/make_model.c — writes a GPT-2-shaped HF model directory with
 * random weights (N(0, 0.02), LayerNorm gains 1) for benchmarks.
 * usage: make_model DIR d_model n_layer n_head n_ctx vocab */
#include "test_attn_model.h"

static uint64_t rs = 88172645463325252ull;
static float gauss(void)
{
    /* xorshift64 + Box-Muller */
    double u[2];
    for (int i = 0; i < 2; i++) {
        rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
        u[i] = ((rs >> 11) + 0.5) / 9007199254740992.0;
    }
    return (float)(sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

int main(int argc, char **argv)
{
    if (argc != 7) { fprintf(stderr, "usage: make_model DIR d n_layer n_head n_ctx vocab\n"); return 2; }
    const char *dir = argv[1];
    int D = atoi(argv[2]), NL = atoi(argv[3]), H = atoi(argv[4]), T = atoi(argv[5]), V = atoi(argv[6]);
    char path[2048], cfg[1024], nm[96];
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    if (system(path) != 0) return 1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(cfg, sizeof cfg,
             "{\"model_type\": \"gpt2\", \"n_embd\": %d, \"n_layer\": %d, \"n_head\": %d,"
             " \"n_positions\": %d, \"n_ctx\": %d, \"vocab_size\": %d, \"layer_norm_epsilon\": 1e-5,"
             " \"activation_function\": \"gelu_new\", \"bos_token_id\": %d, \"eos_token_id\": %d}\n",
             D, NL, H, T, T, V, V - 1, V - 1);
    if (tu_write_file(path, cfg, strlen(cfg)) != 0) return 1;
    am_tensor *ts = calloc((size_t)(16 * NL + 8), sizeof *ts);
    int n = 0;
    am_add(ts, &n, "wte.weight", 2, V, D);
    am_add(ts, &n, "wpe.weight", 2, T, D);
    for (int l = 0; l < NL; l++) {
#define NM(s) (snprintf(nm, sizeof nm, "h.%d.%s", l, s), nm)
        am_add(ts, &n, NM("ln_1.weight"), 1, D, 0);
        am_add(ts, &n, NM("ln_1.bias"), 1, D, 0);
        am_add(ts, &n, NM("attn.c_attn.weight"), 2, D, 3 * D);
        am_add(ts, &n, NM("attn.c_attn.bias"), 1, 3 * D, 0);
        am_add(ts, &n, NM("attn.c_proj.weight"), 2, D, D);
        am_add(ts, &n, NM("attn.c_proj.bias"), 1, D, 0);
        am_add(ts, &n, NM("ln_2.weight"), 1, D, 0);
        am_add(ts, &n, NM("ln_2.bias"), 1, D, 0);
        am_add(ts, &n, NM("mlp.c_fc.weight"), 2, D, 4 * D);
        am_add(ts, &n, NM("mlp.c_fc.bias"), 1, 4 * D, 0);
        am_add(ts, &n, NM("mlp.c_proj.weight"), 2, 4 * D, D);
        am_add(ts, &n, NM("mlp.c_proj.bias"), 1, D, 0);
#undef NM
    }
    am_add(ts, &n, "ln_f.weight", 1, D, 0);
    am_add(ts, &n, "ln_f.bias", 1, D, 0);
    for (int i = 0; i < n; i++) {
        int64_t cnt = ts[i].shape[0] * (ts[i].ndim == 2 ? ts[i].shape[1] : 1);
        int gain = strstr(ts[i].name, "ln_") && strstr(ts[i].name, "weight");
        for (int64_t j = 0; j < cnt; j++)
            ts[i].data[j] = gain ? 1.0f : (strstr(ts[i].name, "bias") ? 0.0f : 0.02f * gauss());
        /* sharper attention than N(0,.02) gives: scale q and k blocks up */
        if (strstr(ts[i].name, "c_attn.weight"))
            for (int64_t r = 0; r < D; r++)
                for (int64_t c = 0; c < 2 * D; c++) ts[i].data[r * 3 * D + c] *= 10;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = am_write_safetensors(path, ts, n);
    for (int i = 0; i < n; i++) free(ts[i].data);
    free(ts);
    return rc ? 1 : 0;
}
