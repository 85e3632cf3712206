/* cli/report_attn.c — the attention viewer's data of `strata report`: one
 * document's blocks.L.attn.hook_pattern rows ([rows, H, W], row t = query t
 * over keys 0..W-1), embedded within a byte budget (rule in report_attn.h and
 * docs/cli/report.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_attn.h"
#include "strata/tokenizer.h"

/* Rows of patterns read at once: at most this many floats. */
#define READ_BLOCK_FLOATS ((int64_t)1 << 24)

static int64_t b64_len(int64_t raw) { return 4 * ((raw + 2) / 3); }

/* Entries of a sparse head: sum over t < T of min(k, t + 1). */
static int64_t sparse_entries(int64_t T, int k)
{
    if (T <= k) return T * (T + 1) / 2;
    return (int64_t)k * (k + 1) / 2 + (T - k) * k;
}

int64_t report_attn_dense_bytes(int64_t T) { return b64_len(T * (T + 1) / 2) + 3; }

int64_t report_attn_sparse_bytes(int64_t T, int k) { return b64_len(3 * sparse_entries(T, k)) + 3; }

/* The configuration chosen at window T, or 0 when nothing fits. */
static int plan_at(int64_t n, int64_t T, int n_prio, int64_t budget, report_attn_plan *p)
{
    int64_t dense = report_attn_dense_bytes(T);
    if (dense <= budget / n) {  /* n dense <= budget, without overflow */
        p->T = T, p->k = 0, p->n_dense = (int)n, p->bytes = n * dense;
        return 1;
    }
    int nd = 0;
    while (nd < n_prio && (int64_t)(nd + 1) * dense <= budget / 2) nd++;
    for (int k = REPORT_ATTN_MAX_K; k >= 1; k--) {
        int64_t sp = report_attn_sparse_bytes(T, k);
        if (nd == n || sp > (budget - nd * dense) / (n - nd)) continue;
        p->T = T, p->k = k, p->n_dense = nd, p->bytes = nd * dense + (n - nd) * sp;
        return 1;
    }
    return 0;
}

int report_attn_make_plan(int64_t n, int64_t T_doc, int64_t W, int n_prio, int64_t budget,
                          report_attn_plan *out)
{
    int64_t T = T_doc < W ? T_doc : W;
    if (T > REPORT_ATTN_MAX_TOKENS) T = REPORT_ATTN_MAX_TOKENS;
    if (n_prio > n) n_prio = (int)n;
    memset(out, 0, sizeof *out);
    out->T_doc = T_doc;
    if (T < 1 || n < 1) return -1;
    if (plan_at(n, T, n_prio, budget, out)) return 0;
    /* Nothing fits at full length: the largest window that does (the cost
     * grows with T, so bisect on "some configuration fits"). */
    int64_t lo = 0, hi = T;  /* fits(lo) (or lo == 0), !fits(hi) */
    report_attn_plan p;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (plan_at(n, mid, n_prio, budget, &p)) lo = mid;
        else hi = mid;
    }
    if (lo < 1) return -1;
    plan_at(n, lo, n_prio, budget, out);
    out->T_doc = T_doc;
    return 0;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 (RFC 4648, padded) of n bytes as a JSON string; NULL on failure. */
static json_t *base64_json(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = b64chars[v >> 18 & 63];
        *o++ = b64chars[v >> 12 & 63];
        *o++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64chars[v & 63] : '=';
    }
    json_t *s = json_stringn_nocheck(out, (size_t)(o - out));
    free(out);
    return s;
}

/* round(255 p), p clamped to [0, 1]. */
static unsigned char quant(float v)
{
    v = isfinite(v) ? v : 0.0f;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (unsigned char)lrintf(v * 255.0f);
}

/* A weight as used everywhere here: non-finite and negative values count 0. */
static float wt(const float *v, int64_t j) { return isfinite(v[j]) && v[j] > 0 ? v[j] : 0.0f; }

/* Top-k of row v[0..n): indices in idx[m], m = min(k, n), by weight
 * descending, ties to the lower key.  Returns m. */
static int top_k(const float *v, int64_t n, int k, int *idx)
{
    int m = 0;
    for (int64_t j = 0; j < n; j++) {
        float x = wt(v, j);
        if (m == k && !(x > wt(v, idx[m - 1]))) continue;
        int i = m < k ? m++ : m - 1;
        while (i > 0 && x > wt(v, idx[i - 1])) {
            idx[i] = idx[i - 1];
            i--;
        }
        idx[i] = (int)j;
    }
    return m;
}

static json_t *absent(const char *why) { return json_pack("{s:s}", "absent", why); }

json_t *report_attn_section(strata_acts *a, int64_t doc, strata_model *m, const int *prio,
                            int n_prio, int n_user, int heads_only, int64_t budget, char *err,
                            size_t errcap)
{
    int L = 0, H = 0;
    int64_t W = 0;
    for (;; L++) {
        char name[96];
        int64_t shape[4];
        snprintf(name, sizeof name, "blocks.%d.attn.hook_pattern", L);
        if (strata_acts_hook_shape(a, name, shape) != 3) break;
        if (L && (shape[1] != H || shape[2] != W)) break;
        H = (int)shape[1];
        W = shape[2];
    }
    for (int i = 0; i < n_user; i++)
        if (prio[i] / 65536 >= L || prio[i] % 65536 >= H) {
            snprintf(err, errcap, "--heads %d.%d: the file's patterns have %d layers x %d heads%s",
                     prio[i] / 65536, prio[i] % 65536, L, H,
                     L ? "" : " (no blocks.*.attn.hook_pattern captured)");
            return NULL;
        }
    if (!L)
        return absent("this capture holds no full blocks.*.attn.hook_pattern datasets (capture "
                      "with --hooks 'blocks.*.attn.hook_pattern' to see where each head attends)");
    int64_t D = strata_acts_n_docs(a), R = strata_acts_n_rows(a);
    if (doc >= D) {
        json_t *o = json_object();
        json_object_set_new(o, "absent", json_sprintf("document %lld asked for (--doc), the file "
                                                      "has %lld", (long long)doc, (long long)D));
        return o;
    }
    /* The document's rows, through the row -> document map. */
    int64_t *docs = malloc(sizeof *docs * (size_t)(R ? R : 1));
    if (!docs || strata_acts_read_row_docs(a, 0, R, docs) != STRATA_OK) {
        free(docs);
        return json_pack("{s:s}", "absent", strata_acts_errmsg(a));
    }
    int64_t r0 = -1, r1 = -1;
    for (int64_t r = 0; r < R; r++)
        if (docs[r] == doc) { if (r0 < 0) r0 = r; r1 = r + 1; }
    free(docs);
    if (r0 < 0) return absent("the document has no stored rows");

    /* The priority heads that exist here, deduplicated, in order.  kind[x]:
     * KIND_NONE (not embedded: --attn-heads-only), KIND_SPARSE, KIND_DENSE. */
    enum { KIND_NONE, KIND_SPARSE, KIND_DENSE };
    int *order = malloc(sizeof *order * (size_t)L * H);
    unsigned char *kind = calloc((size_t)L * H, 1);
    int np = 0;
    for (int i = 0; order && kind && i < n_prio; i++) {
        int l = prio[i] / 65536, h = prio[i] % 65536, x = l * H + h;
        if (l >= L || h >= H || kind[x]) continue;
        kind[x] = 1;
        order[np++] = x;
    }
    report_attn_plan plan;
    if (!order || !kind) {
        free(order), free(kind);
        return absent("out of memory");
    }
    if (heads_only && !np) {
        free(order), free(kind);
        return absent("--attn-heads-only, but no head to embed: give --heads L.H,... (or "
                      "--model, whose top-scoring heads count)");
    }
    int64_t n_embed = heads_only ? np : (int64_t)L * H;
    if (report_attn_make_plan(n_embed, r1 - r0, W, np, budget, &plan) < 0) {
        free(order), free(kind);
        return absent("the attention budget (--attn-budget) is too small for even one token of "
                      "every embedded head");
    }
    /* every head sparse (or, with --attn-heads-only, only the priority
     * heads), then the first n_dense priority heads (all when k == 0) dense */
    memset(kind, heads_only ? KIND_NONE : KIND_SPARSE, (size_t)L * H);
    for (int i = 0; heads_only && i < np; i++) kind[order[i]] = KIND_SPARSE;
    for (int64_t x = 0; !plan.k && x < (int64_t)L * H; x++)
        if (kind[x]) kind[x] = KIND_DENSE;
    for (int i = 0; i < plan.n_dense && plan.k; i++) kind[order[i]] = KIND_DENSE;
    const int64_t T = plan.T;
    const int k = plan.k;

    /* Per head: the raw bytes, and the mean kept attention mass. */
    unsigned char **raw = calloc((size_t)L * H, sizeof *raw);
    double *kept = calloc((size_t)L * H, sizeof *kept);
    int64_t nb = READ_BLOCK_FLOATS / ((int64_t)H * W);
    if (nb < 1) nb = 1;
    if (nb > T) nb = T;
    float *rows = malloc(sizeof *rows * (size_t)(nb * H * W));
    int *idx = malloc(sizeof *idx * (size_t)(k ? k : 1));
    int32_t *ids = malloc(sizeof *ids * (size_t)T);
    json_t *out = NULL;
    int ok = raw && kept && rows && idx && ids &&
             strata_acts_read_row_tokens(a, r0, T, ids) == STRATA_OK;
    for (int64_t x = 0; ok && x < (int64_t)L * H; x++) {
        if (kind[x] == KIND_NONE) continue;
        raw[x] = malloc((size_t)(kind[x] == KIND_DENSE ? T * (T + 1) / 2
                                                       : 3 * sparse_entries(T, k ? k : 1)));
        ok = raw[x] != NULL;
    }
    for (int l = 0; ok && l < L; l++) {
        int used = 0;  /* a layer without embedded heads is not read */
        for (int h = 0; h < H; h++) used |= kind[(int64_t)l * H + h] != KIND_NONE;
        if (!used) continue;
        char name[96];
        snprintf(name, sizeof name, "blocks.%d.attn.hook_pattern", l);
        for (int64_t t0 = 0; ok && t0 < T; t0 += nb) {
            int64_t n = T - t0 < nb ? T - t0 : nb;
            if (strata_acts_read(a, name, r0 + t0, n, rows) != STRATA_OK) { ok = 0; break; }
            for (int64_t t = t0; t < t0 + n; t++)
                for (int h = 0; h < H; h++) {
                    const float *v = rows + ((t - t0) * H + h) * W;  /* keys 0..t */
                    int64_t x = (int64_t)l * H + h;
                    double sum = 0, top = 0;
                    if (kind[x] == KIND_NONE) continue;
                    for (int64_t j = 0; j <= t; j++) sum += wt(v, j);
                    if (kind[x] == KIND_DENSE) {
                        unsigned char *q = raw[x] + t * (t + 1) / 2;
                        for (int64_t j = 0; j <= t; j++) q[j] = quant(v[j]);
                        top = sum;
                    } else {
                        unsigned char *q = raw[x] + 3 * sparse_entries(t, k);
                        int mm = top_k(v, t + 1, k, idx);
                        for (int i = 0; i < mm; i++) {
                            q[3 * i] = (unsigned char)(idx[i] & 255);
                            q[3 * i + 1] = (unsigned char)(idx[i] >> 8);
                            q[3 * i + 2] = quant(v[idx[i]]);
                            top += wt(v, idx[i]);
                        }
                    }
                    kept[x] += sum > 0 ? top / sum : 1.0;
                }
        }
    }
    if (!ok) {
        out = json_object();
        json_object_set_new(out, "absent", json_sprintf("reading the patterns failed: %s",
                                                         strata_acts_errmsg(a)));
        goto done;
    }
    out = json_object();
    json_t *heads = json_array(), *keptj = json_array(), *toks = json_array(), *dense = json_array();
    char *mode = malloc((size_t)L * H + 1);
    for (int64_t x = 0; x < (int64_t)L * H; x++) {
        size_t n = (size_t)(kind[x] == KIND_DENSE ? T * (T + 1) / 2 : 3 * sparse_entries(T, k));
        json_t *s = kind[x] == KIND_NONE ? NULL : base64_json(raw[x], n);
        if (kind[x] != KIND_NONE && !s) { ok = 0; break; }
        json_array_append_new(heads, s ? s : json_null());
        json_array_append_new(keptj, kind[x] == KIND_NONE ? json_null()
                                                          : json_real(kept[x] / (double)T));
        if (mode) mode[x] = "xsd"[kind[x]];
    }
    if (!ok || !mode) {
        json_decref(heads), json_decref(keptj), json_decref(toks), json_decref(dense);
        free(mode);
        json_decref(out);
        out = absent("out of memory");
        goto done;
    }
    mode[(size_t)L * H] = 0;
    for (int i = 0; i < (k ? plan.n_dense : 0); i++)
        json_array_append_new(dense, json_pack("[i, i]", order[i] / H, order[i] % H));
    strata_tokenizer *tok = m ? strata_model_tokenizer(m) : NULL;
    for (int64_t t = 0; t < T; t++) {
        const char *piece = tok ? strata_token_piece(tok, ids[t]) : NULL;
        /* pieces may hold bytes that are not UTF-8: jansson refuses them */
        json_t *js = piece ? json_string(piece) : NULL;
        json_array_append_new(toks, js ? js : json_sprintf("%d", ids[t]));
    }
    json_object_set_new(out, "doc", json_integer(doc));
    json_object_set_new(out, "len", json_integer(T));
    json_object_set_new(out, "doc_len", json_integer(plan.T_doc));
    json_object_set_new(out, "n_layers", json_integer(L));
    json_object_set_new(out, "n_heads", json_integer(H));
    json_object_set_new(out, "k", json_integer(k));
    json_object_set_new(out, "budget", json_integer(budget));
    json_object_set_new(out, "bytes", json_integer(plan.bytes));
    json_object_set_new(out, "heads_only", json_boolean(heads_only));
    int64_t Tf = plan.T_doc < W ? plan.T_doc : W;
    json_object_set_new(out, "full_bytes", json_integer((int64_t)L * H * report_attn_dense_bytes(Tf)));
    if (T < plan.T_doc)
        json_object_set_new(out, "cut", json_string(
            T == W && W < plan.T_doc ? "the patterns were captured this wide"
            : T == REPORT_ATTN_MAX_TOKENS ? "at most 4096 tokens are shown"
            : "a longer window does not fit the budget even at the top key of each query"));
    json_object_set_new(out, "mode", json_string(mode));
    json_object_set_new(out, "dense", dense);
    json_object_set_new(out, "heads", heads);
    json_object_set_new(out, "kept", keptj);
    json_object_set_new(out, "tokens", toks);
    free(mode);
done:
    for (int64_t x = 0; raw && x < (int64_t)L * H; x++) free(raw[x]);
    free(raw), free(kept), free(rows), free(idx), free(ids), free(order), free(kind);
    return out;
}
