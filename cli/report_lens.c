/* cli/report_lens.c — the logit lens (probes/lens, docs/cli/lens.md) on one
 * captured document, for `strata report`.
 *
 * Points p = 0..L: the residual stream after the embeddings
 * (blocks.0.hook_resid_pre) and after each layer (blocks.l.hook_resid_post),
 * each read out through the model's final norm and unembedding.  For
 * position t < n-1 the next token is tokens[t+1]: its rank (number of
 * vocabulary entries with a strictly larger logit) and probability.  Per
 * point, over t < n-1: mean rank, mean log-probability, mean probability and
 * the share of positions where the next token is the top prediction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "report_lens.h"
#include "strata/lens.h"
#include "strata/tokenizer.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A token's string for the page: its piece, or "#id" (no tokenizer, or a
 * piece that is not UTF-8, which jansson refuses). */
static json_t *piece(strata_tokenizer *tok, int32_t id)
{
    const char *p = tok ? strata_token_piece(tok, id) : NULL;
    json_t *s = p ? json_string(p) : NULL;
    return s ? s : json_sprintf("#%d", id);
}

json_t *report_lens_section(strata_acts *a, int64_t doc, strata_model *m)
{
    if (!m) return json_pack("{s:s}", "absent", "no model given (--model M): the logit lens "
                                                "needs the model's final norm and unembedding");
    const strata_config *c = strata_model_config(m);
    if (doc >= strata_acts_n_docs(a)) {
        json_t *o = json_object();
        json_object_set_new(o, "absent", json_sprintf("document %lld asked for (--doc), the file "
                                                      "has %lld", (long long)doc,
                                                      (long long)strata_acts_n_docs(a)));
        return o;
    }
    int64_t off[2];
    if (strata_acts_read_doc_offsets(a, doc, 2, off) != STRATA_OK)
        return json_pack("{s:s}", "absent", strata_acts_errmsg(a));
    int64_t n64 = off[1] - off[0];
    int n = (int)(n64 < REPORT_LENS_MAX_POS ? n64 : REPORT_LENS_MAX_POS);
    if (n > c->n_ctx) n = c->n_ctx;
    if (n < 2) return json_pack("{s:s}", "absent", "the document has fewer than two tokens");
    int32_t *ids = malloc(sizeof *ids * (size_t)n);
    if (!ids) return json_pack("{s:s}", "absent", "out of memory");
    if (strata_acts_read_tokens(a, off[0], n, ids) != STRATA_OK) {
        free(ids);
        return json_pack("{s:s}", "absent", strata_acts_errmsg(a));
    }
    for (int t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size) {
            json_t *o = json_object();
            json_object_set_new(o, "absent", json_sprintf(
                "token %d of document %lld is id %d, outside the model's vocabulary (%d): the "
                "capture was made with another model", t, (long long)doc, ids[t], c->vocab_size));
            free(ids);
            return o;
        }
    strata_lens *l = NULL;
    const int K = REPORT_LENS_TOP_K < c->vocab_size ? REPORT_LENS_TOP_K : c->vocab_size;
    if (strata_lens_new(m, &l) != STRATA_OK || strata_lens_run(l, ids, n, K) != STRATA_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "absent", json_sprintf("the logit lens failed: %s",
                                                       strata_lens_errmsg(l)));
        strata_lens_free(l);
        free(ids);
        return o;
    }
    const int P = strata_lens_n_points(l);
    const int32_t *tid = strata_lens_top_ids(l), *rank = strata_lens_next_rank(l);
    const float *tpr = strata_lens_top_probs(l), *np = strata_lens_next_prob(l);
    strata_tokenizer *tok = strata_model_tokenizer(m);
    json_t *out = json_object(), *points = json_array(), *ranks = json_array(),
           *probs = json_array(), *tops = json_array(), *topp = json_array(),
           *mrank = json_array(), *mlogp = json_array(), *top1 = json_array(), *mp = json_array(),
           *vocab = json_object(), *toks = json_array();
    for (int t = 0; t < n; t++) {
        json_array_append_new(toks, json_integer(ids[t]));
        char key[16];
        snprintf(key, sizeof key, "%d", ids[t]);
        json_object_set_new(vocab, key, piece(tok, ids[t]));
    }
    for (int p = 0; p < P; p++) {
        json_array_append_new(points, json_string(strata_lens_point_name(l, p)));
        json_t *rk = json_array(), *pr = json_array(), *tp = json_array(), *tq = json_array();
        double sr = 0, slp = 0, s1 = 0, sp = 0;
        for (int t = 0; t < n; t++) {
            int last = t + 1 == n;
            json_array_append_new(rk, last ? json_null() : json_integer(rank[p * n + t]));
            json_array_append_new(pr, last ? json_null() : num(np[p * n + t]));
            if (!last) {
                sr += rank[p * n + t];
                slp += log(fmax(np[p * n + t], 1e-45));
                s1 += rank[p * n + t] == 0;
                sp += np[p * n + t];
            }
            json_t *ti = json_array(), *tv = json_array();
            for (int k = 0; k < K; k++) {
                int32_t id = tid[((size_t)p * n + t) * K + k];
                json_array_append_new(ti, json_integer(id));
                json_array_append_new(tv, num(tpr[((size_t)p * n + t) * K + k]));
                char key[16];
                snprintf(key, sizeof key, "%d", id);
                if (!json_object_get(vocab, key)) json_object_set_new(vocab, key, piece(tok, id));
            }
            json_array_append_new(tp, ti);
            json_array_append_new(tq, tv);
        }
        json_array_append_new(ranks, rk);
        json_array_append_new(probs, pr);
        json_array_append_new(tops, tp);
        json_array_append_new(topp, tq);
        json_array_append_new(mrank, num(sr / (n - 1)));
        json_array_append_new(mlogp, num(slp / (n - 1)));
        json_array_append_new(top1, num(s1 / (n - 1)));
        json_array_append_new(mp, num(sp / (n - 1)));
    }
    json_object_set_new(out, "doc", json_integer(doc));
    json_object_set_new(out, "n", json_integer(n));
    json_object_set_new(out, "doc_len", json_integer(n64));
    json_object_set_new(out, "tokens", toks);
    json_object_set_new(out, "points", points);
    json_object_set_new(out, "rank", ranks);
    json_object_set_new(out, "prob", probs);
    json_object_set_new(out, "top", tops);
    json_object_set_new(out, "top_p", topp);
    json_object_set_new(out, "mean_rank", mrank);
    json_object_set_new(out, "mean_logp", mlogp);
    json_object_set_new(out, "top1", top1);
    json_object_set_new(out, "mean_p", mp);
    json_object_set_new(out, "vocab", vocab);
    strata_lens_free(l);
    free(ids);
    return out;
}
