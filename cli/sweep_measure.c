/* cli/sweep_measure.c — every measure of one checkpoint of `strata sweep`.
 *
 * One forward pass over the eval corpus serves every token-level measure:
 * strata_capture streams the corpus (hooks blocks.0.hook_resid_pre and
 * blocks.*.hook_resid_post when probes or geometry need activations, else
 * only the last position's hook_embed), while two more hooks ride on the
 * same pass: the loss accumulator on hook_logits (loss, ICL score) and the
 * attention-statistics accumulator on the patterns (previous-token heads).
 * Then, from the capture file: probes (strata_probe_sweep: cross-validated
 * accuracy and control-task selectivity per layer) and geometry
 * (participation ratio per layer).  Induction needs documents of the form
 * BOS + S + S, so it runs on random ones (the `strata attn --induction`
 * protocol); tasks run strata_eval_task.
 *
 * Layer index l: 0 = blocks.0.hook_resid_pre (embeddings), l >= 1 =
 * blocks.(l-1).hook_resid_post. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "strata/attn.h"
#include "strata/capture.h"
#include "strata/eval.h"
#include "strata/hooks.h"
#include "strata/model.h"
#include "strata/pca.h"
#include "strata/probe.h"
#include "sweep.h"
#include "task_file.h"

double sw_value(const sw_sweep *s, const sw_point *p, const char *name)
{
    for (int k = 0; k < s->names.n && k < p->n_values; k++)
        if (!strcmp(s->names.name[k], name)) return p->values[k];
    return NAN;
}

static int set_val(sw_sweep *s, sw_point *p, const char *name, double v)
{
    int k = sw_name_index(&s->names, name);
    if (k < 0) return -1;
    if (k >= p->n_values) {
        int n = s->names.cap > k ? s->names.cap : k + 1;
        double *nv = realloc(p->values, sizeof *nv * (size_t)n);
        if (!nv) return -1;
        for (int j = p->n_values; j < n; j++) nv[j] = NAN;
        p->values = nv;
        p->n_values = n;
    }
    p->values[k] = v;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int layer_of_hook(const char *hook)
{
    int kind, layer, head;
    if (strata_hook_parse(hook, &kind, &layer, &head)) return -1;
    if (kind == STRATA_HOOK_RESID_PRE && layer == 0) return 0;
    if (kind == STRATA_HOOK_RESID_POST) return layer + 1;
    return -1;
}

/* Best head by one score; writes "L.H" into which. */
static double best_head(const strata_attn_head *h, int nh, int stat, char *which, size_t len, int *n_over, double thr)
{
    double best = NAN;
    *n_over = 0;
    which[0] = 0;
    for (int i = 0; i < nh; i++) {
        double v = stat == STRATA_ATTN_IND ? h[i].induction : h[i].prev_token;
        if (isnan(v)) continue;
        if (v >= thr) (*n_over)++;
        if (isnan(best) || v > best) { best = v; snprintf(which, len, "%d.%d", h[i].layer, h[i].head); }
    }
    return best;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int corpus_pass(sw_sweep *s, sw_point *p, strata_model *m, const sw_opts *o, strata_attn_stats *as)
{
    const strata_config *c = strata_model_config(m);
    int rc = -1;
    char capfile[4200];
    snprintf(capfile, sizeof capfile, "%s/capture.h5", o->tmpdir);
    strata_loss_acc *la = NULL;
    strata_capture *cap = NULL;
    strata_acts *acts = NULL;
    strata_attn_head *heads = NULL;
    if (strata_loss_acc_new(c->n_ctx, &la)) { fprintf(stderr, "strata sweep: %s\n", strata_loss_acc_errmsg(la)); goto done; }
    /* defaults: late = min(500, median document length - 1), early = min(50, late / 10) */
    int late = o->icl_late;
    if (!late && o->icl) {
        if (!s->median_len) {
            s->median_len = cli_docs_median_length("sweep", o->data, o->data_kind, m, o->no_bos);
            if (s->median_len < 0) goto done;
        }
        late = s->median_len - 1 < 500 ? s->median_len - 1 : 500;
        if (late > c->n_ctx - 1) late = c->n_ctx - 1;
    }
    int early = o->icl_early ? o->icl_early : (late / 10 < 50 ? (late / 10 > 1 ? late / 10 : 1) : 50);
    if (o->icl && strata_loss_acc_set_icl(la, early, late)) {
        fprintf(stderr, "strata sweep: %s: --icl-early/--icl-late: %s\n", p->path, strata_loss_acc_errmsg(la));
        goto done;
    }
    if (strata_loss_acc_attach(la, m)) { fprintf(stderr, "strata sweep: %s: %s\n", p->path, strata_loss_acc_errmsg(la)); goto done; }
    if (as && (strata_attn_stats_set_induction(as, 0, 1) || strata_attn_stats_attach(as, m))) {
        fprintf(stderr, "strata sweep: %s: %s\n", p->path, strata_attn_stats_errmsg(as));
        goto done;
    }
    const int acts_needed = o->n_probe > 0 || o->geometry;
    strata_capture_opts co = strata_capture_opts_default();
    co.hooks = acts_needed ? "blocks.0.hook_resid_pre,blocks.*.hook_resid_post" : "hook_embed";
    co.positions = acts_needed ? STRATA_POS_ALL : STRATA_POS_LAST;
    co.batch = o->batch;
    co.max_tokens = o->max_tokens;
    co.mode = STRATA_CAPTURE_OVERWRITE;
    co.add_bos = o->no_bos ? 0 : -1;
    if (strata_capture_open(m, capfile, &co, &cap) || strata_capture_add_file(cap, o->data_kind, o->data) ||
        strata_capture_finish(cap)) {
        fprintf(stderr, "strata sweep: %s: eval corpus %s: %s\n", p->path, o->data, strata_capture_errmsg(cap));
        goto done;
    }
    strata_capture_free(cap);
    cap = NULL;
    strata_loss_acc_detach(la);
    if (as) strata_attn_stats_detach(as);
    if (strata_loss_acc_n_tokens(la) == 0) {
        fprintf(stderr, "strata sweep: %s: eval corpus %s has nothing to predict (single-token documents)\n", p->path, o->data);
        goto done;
    }
    if (o->loss && set_val(s, p, "loss", strata_loss_acc_mean(la))) goto oom;
    if (o->icl) {
        if (strata_loss_acc_n_icl(la) == 0 && !o->quiet)
            fprintf(stderr, "strata sweep: warning: %s: no eval document reaches position %d (--icl-late): icl is NaN\n", p->path, late);
        if (set_val(s, p, "icl", strata_loss_acc_icl(la))) goto oom;
        if (set_val(s, p, "icl_early_pos", early) || set_val(s, p, "icl_late_pos", late)) goto oom;
    }
    if (as) {
        int nh = c->n_layers * c->n_heads, n_over;
        heads = malloc(sizeof *heads * (size_t)nh);
        if (!heads) goto oom;
        if (strata_attn_stats_result(as, heads, nh) < 0) {
            fprintf(stderr, "strata sweep: %s: %s\n", p->path, strata_attn_stats_errmsg(as));
            goto done;
        }
        double b = best_head(heads, nh, STRATA_ATTN_PREV, p->prev_token_head, sizeof p->prev_token_head, &n_over, 0.4);
        if (set_val(s, p, "prev_token", b) || set_val(s, p, "prev_token_heads", n_over)) goto oom;
        strata_attn_stats_reset(as);
    }
    if (acts_needed) {
        if (strata_acts_open(capfile, &acts)) {
            fprintf(stderr, "strata sweep: %s: %s\n", capfile, strata_acts_errmsg(acts));
            goto done;
        }
        for (int l = 0; l < o->n_probe; l++) {
            const char *lab = o->probe_labels[l];
            int found = 0;
            for (int j = 0; j < strata_acts_n_labels(acts) && !found; j++) found = !strcmp(strata_acts_label(acts, j), lab);
            if (!found) {
                fprintf(stderr, "strata sweep: probe:%s: the eval corpus %s has no label \"%s\" (labels:", lab, o->data, lab);
                for (int j = 0; j < strata_acts_n_labels(acts); j++) fprintf(stderr, " %s", strata_acts_label(acts, j));
                fprintf(stderr, "%s)\n", strata_acts_n_labels(acts) ? "" : " none");
                goto done;
            }
            strata_probe_params pp;
            strata_probe_default_params(&pp);
            pp.cv_folds = o->probe_cv;
            pp.control = 1;
            pp.C = o->probe_C;
            pp.seed = o->seed;
            strata_probe_report *rep = NULL;
            int nrep = 0;
            char err[1024];
            if (strata_probe_sweep(acts, NULL, lab, &pp, NULL, NULL, &rep, &nrep, err, sizeof err)) {
                fprintf(stderr, "strata sweep: %s: probe:%s: %s\n", p->path, lab, err);
                goto done;
            }
            double best = NAN, best_sel = NAN;
            for (int r = 0; r < nrep; r++) {
                int L = layer_of_hook(rep[r].hook);
                if (L < 0) continue;
                double acc = rep[r].cv_folds > 1 ? rep[r].cv_score : rep[r].test_accuracy;
                char nm[512];
                snprintf(nm, sizeof nm, "probe:%s:acc@%d", lab, L);
                if (set_val(s, p, nm, acc)) { strata_probe_sweep_free(rep); goto oom; }
                snprintf(nm, sizeof nm, "probe:%s:sel@%d", lab, L);
                if (set_val(s, p, nm, rep[r].selectivity)) { strata_probe_sweep_free(rep); goto oom; }
                if (isnan(best) || acc > best) best = acc;
                if (isnan(best_sel) || rep[r].selectivity > best_sel) best_sel = rep[r].selectivity;
                if (L > s->n_layers_max) s->n_layers_max = L;
            }
            strata_probe_sweep_free(rep);
            char nm[512];
            snprintf(nm, sizeof nm, "probe:%s:acc", lab);
            if (set_val(s, p, nm, best)) goto oom;
            snprintf(nm, sizeof nm, "probe:%s:sel", lab);
            if (set_val(s, p, nm, best_sel)) goto oom;
        }
        if (o->geometry) {
            double sum = 0;
            int cnt = 0;
            for (int h = 0; h < strata_acts_n_hooks(acts); h++) {
                const char *hook = strata_acts_hook(acts, h);
                int L = layer_of_hook(hook);
                if (L < 0) continue;
                strata_pca_params pp;
                strata_pca_default_params(&pp);
                pp.k = 1;
                pp.solver = STRATA_PCA_COV;
                strata_pca *pca = NULL;
                if (strata_pca_fit_acts(acts, hook, &pp, &pca)) {
                    fprintf(stderr, "strata sweep: %s: geometry %s: %s\n", p->path, hook, strata_pca_errmsg(pca));
                    strata_pca_free(pca);
                    goto done;
                }
                double pr = strata_pca_participation_ratio(pca);
                strata_pca_free(pca);
                char nm[128];
                snprintf(nm, sizeof nm, "geometry:pr@%d", L);
                if (set_val(s, p, nm, pr)) goto oom;
                sum += pr;
                cnt++;
                if (L > s->n_layers_max) s->n_layers_max = L;
            }
            if (set_val(s, p, "geometry:pr_mean", cnt ? sum / cnt : NAN)) goto oom;
        }
    }
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "strata sweep: out of memory\n");
done:
    strata_acts_close(acts);
    strata_capture_free(cap);
    strata_loss_acc_free(la);
    if (as) strata_attn_stats_detach(as);
    free(heads);
    unlink(capfile);
    return rc;
}

static int induction_pass(sw_sweep *s, sw_point *p, strata_model *m, const sw_opts *o,
                          strata_attn_stats *as, int general)
{
    const strata_config *c = strata_model_config(m);
    int R = o->induction_R ? o->induction_R : ((c->n_ctx - 1) / 2 < 50 ? (c->n_ctx - 1) / 2 : 50);
    int nd = o->induction_docs, L = 2 * R + 1, rc = -1;
    if (R < 1 || L > c->n_ctx) {
        fprintf(stderr, "strata sweep: %s: --induction-len %d: BOS + S + S = %d tokens does not fit the context %d\n",
                p->path, R, L, c->n_ctx);
        return -1;
    }
    int32_t lo, hi;
    strata_attn_token_range(c, &lo, &hi);
    int32_t *docs = malloc(sizeof *docs * (size_t)nd * L), *len = malloc(sizeof *len * (size_t)nd);
    int nh = c->n_layers * c->n_heads;
    strata_attn_head *heads = malloc(sizeof *heads * (size_t)nh);
    if (!docs || !len || !heads) { fprintf(stderr, "strata sweep: out of memory\n"); goto done; }
    if (strata_attn_induction_docs(o->seed, nd, R, c->bos_token_id, c->eos_token_id, lo, hi, docs)) {
        fprintf(stderr, "strata sweep: %s: cannot draw induction tokens from [%d, %d)\n", p->path, lo, hi);
        goto done;
    }
    for (int i = 0; i < nd; i++) {
        if (docs[(int64_t)i * L] < 0) docs[(int64_t)i * L] = lo;   /* no BOS id */
        len[i] = L;
    }
    if (strata_attn_stats_set_induction(as, R, general)) {
        fprintf(stderr, "strata sweep: %s: %s\n", p->path, strata_attn_stats_errmsg(as));
        goto done;
    }
    int bs = o->batch > 0 ? o->batch : 8;
    for (int i0 = 0; i0 < nd; i0 += bs) {
        int nb = nd - i0 < bs ? nd - i0 : bs;
        if (strata_attn_stats_run(as, m, docs + (int64_t)i0 * L, len + i0, nb)) {
            fprintf(stderr, "strata sweep: %s: induction: %s\n", p->path, strata_attn_stats_errmsg(as));
            goto done;
        }
    }
    strata_attn_stats_detach(as);
    if (strata_attn_stats_result(as, heads, nh) < 0) {
        fprintf(stderr, "strata sweep: %s: %s\n", p->path, strata_attn_stats_errmsg(as));
        goto done;
    }
    int n_over;
    double b = best_head(heads, nh, STRATA_ATTN_IND, p->induction_head, sizeof p->induction_head, &n_over, 0.4);
    if (set_val(s, p, "induction", b) || set_val(s, p, "induction_heads", n_over)) goto done;
    if (general) {
        b = best_head(heads, nh, STRATA_ATTN_PREV, p->prev_token_head, sizeof p->prev_token_head, &n_over, 0.4);
        if (set_val(s, p, "prev_token", b) || set_val(s, p, "prev_token_heads", n_over)) goto done;
    }
    rc = 0;
done:
    free(docs);
    free(len);
    free(heads);
    return rc;
}

int sw_measure_point(sw_sweep *s, int i, const sw_opts *o)
{
    sw_point *p = &s->pt[i];
    double t0 = now();
    strata_model *m = cli_open_model("sweep", p->path, o->threads);
    if (!m) return -1;
    const strata_config *c = strata_model_config(m);
    int rc = -1;
    strata_attn_stats *as = NULL;
    if (p->n_params < 0) p->n_params = strata_model_n_params(m);
    if (s->vocab && c->vocab_size != s->vocab) {
        fprintf(stderr, "strata sweep: %s has vocab_size %d, %s has %d: one sweep needs one tokenizer\n",
                p->path, c->vocab_size, s->pt[0].path, s->vocab);
        goto done;
    }
    s->vocab = c->vocab_size;
    if (c->n_layers > s->n_layers_max) s->n_layers_max = c->n_layers;
    const int corpus = o->data != NULL;
    if (o->induction && strata_attn_stats_new(c, &as)) {
        fprintf(stderr, "strata sweep: %s: %s\n", p->path, strata_attn_stats_errmsg(as));
        goto done;
    }
    if (corpus && corpus_pass(s, p, m, o, as)) goto done;
    if (o->induction && induction_pass(s, p, m, o, as, !corpus)) goto done;
    if (o->weights) {
        double wn;
        if (sw_weight_norm(p->path, &wn) || set_val(s, p, "weight_norm", wn)) goto done;
    }
    for (int t = 0; t < o->n_tasks; t++) {
        cli_task tk;
        if (cli_task_load("sweep", o->tasks[t], m, o->no_bos, &tk)) goto done;
        strata_eval_result r;
        char err[1024], nm[512];
        int e = strata_eval_task(m, tk.prompt_ids, tk.prompt_off, tk.answer_ids, tk.answer_off, tk.n,
                                 NULL, &r, err, sizeof err);
        cli_task_free(&tk);
        if (e) { fprintf(stderr, "strata sweep: %s: %s: %s\n", p->path, o->tasks[t], err); goto done; }
        const char *b = base_name(o->tasks[t]);
        snprintf(nm, sizeof nm, "task:%s:exact_match", b);
        if (set_val(s, p, nm, r.exact_match)) goto done;
        snprintf(nm, sizeof nm, "task:%s:answer_logprob", b);
        if (set_val(s, p, nm, r.answer_logprob)) goto done;
        snprintf(nm, sizeof nm, "task:%s:token_accuracy", b);
        if (set_val(s, p, nm, r.token_accuracy)) goto done;
    }
    rc = 0;
done:
    strata_attn_stats_free(as);
    strata_model_free(m);
    p->seconds = now() - t0;
    return rc;
}
