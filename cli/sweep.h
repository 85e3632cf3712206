/* cli/sweep.h — `strata sweep`: the same measurements over a family of
 * models (training checkpoints or a size series), with transition
 * statistics per measure.
 *
 * Files: cmd_sweep.c (options, flow), sweep_points.c (MODEL_DIR arguments ->
 * checkpoints, tokenizer fingerprints), sweep_measure.c (one checkpoint:
 * shared forward pass over the eval corpus, induction documents, probes,
 * geometry, tasks), sweep_output.c (table, JSON, CSV, transitions),
 * sweep_plot.c (SVG), sweep_weights.c (weight norm).
 *
 * Values: every checkpoint gets a value (NaN when absent) for every measure
 * name in the sweep's name list (sw_names), e.g. "loss", "icl",
 * "induction", "probe:subj:acc@3" (layer 3), "task:add.jsonl:exact_match". */
#ifndef STRATA_CLI_SWEEP_H
#define STRATA_CLI_SWEEP_H

#include <stdint.h>
#include <stdio.h>

typedef struct sw_point {
    char *path;          /* model directory */
    char *family;        /* the MODEL_DIR argument it came from */
    int64_t step;        /* trainer_state.json "step" (or step-<N>), -1 if unknown */
    int64_t tokens_seen; /* -1 if unknown */
    int64_t n_params;    /* from trainer_state.json, else the model */
    double *values;      /* [n_values], NaN where absent; names past n_values too */
    int n_values;
    char induction_head[32], prev_token_head[32];  /* "L.H" or "" */
    double seconds;      /* measuring time */
} sw_point;

typedef struct sw_names {
    char **name;
    int n, cap;
} sw_names;

/* index of name, added at the end if new; -1 on allocation failure */
int sw_name_index(sw_names *nm, const char *name);

typedef struct sw_opts {
    /* measures */
    int loss, icl, induction, geometry, weights;
    char **probe_labels; int n_probe;   /* probe:LABEL */
    char **tasks; int n_tasks;          /* task:FILE */
    /* eval corpus */
    const char *data; int data_kind;    /* STRATA_INPUT_* (capture.h) */
    int batch, max_tokens, no_bos, threads;
    int icl_early, icl_late;            /* 0: defaults from the context */
    int induction_R, induction_docs;    /* 0: defaults */
    uint64_t seed;
    int probe_cv;                       /* folds (>= 2) */
    double probe_C;
    const char *tmpdir;               /* a private directory for the capture file */
    int quiet;
} sw_opts;

typedef struct sw_sweep {
    sw_point *pt; int n;
    sw_names names;
    const char *x_axis;  /* "step", "tokens" or "params" */
    int32_t vocab;       /* of the first model measured (0 before) */
    int32_t n_layers_max;
    int32_t median_len;  /* of the eval corpus documents, for the ICL defaults (0: not yet) */
    int log_x;
} sw_sweep;

/* value of a name at a point (NaN when absent or unknown name) */
double sw_value(const sw_sweep *s, const sw_point *p, const char *name);

/* sweep_points.c: expands the arguments into checkpoints (sorted by step
 * within a training folder; single model dirs keep argument order).
 * Returns 0, or -1 after printing "strata sweep: ..." */
int sw_collect_points(int nargs, char **args, sw_sweep *s);
/* Fingerprint of a model directory's tokenizer files (FNV-1a of
 * tokenizer.json, or vocab.json + merges.txt; 0 when none). */
uint64_t sw_tokenizer_fingerprint(const char *dir);
void sw_sweep_free(sw_sweep *s);

/* sweep_measure.c: measures point i into s->pt[i].values (adding names).
 * 0, or -1 after printing. */
int sw_measure_point(sw_sweep *s, int i, const sw_opts *o);

/* sweep_weights.c: L2 norm of every weight in DIR/model.safetensors (F32);
 * 0, or -1 after printing */
int sw_weight_norm(const char *dir, double *norm);

/* sweep_output.c */
double sw_x(const sw_sweep *s, const sw_point *p);
/* Points of a family with finite x and value k, sorted by x: idx [s->n];
 * returns the count (points with an x already taken are dropped). */
int sw_family_curve(const sw_sweep *s, const char *family, int k, int *idx, double *x, double *y);
/* Transition of measure k within family (strata/transition.h); 0, or -1
 * when fewer than 2 points carry it. */
struct strata_transition;
int sw_transition(const sw_sweep *s, const char *family, int k, struct strata_transition *t);
/* Headline measures (no per-layer "@", no counts or positions). */
int sw_is_headline(const char *name);
/* Distinct families in order of appearance: fam [s->n] borrowed pointers. */
int sw_families(const sw_sweep *s, const char **fam);
void sw_print_table(const sw_sweep *s, const sw_opts *o);
void sw_print_json(FILE *out, const sw_sweep *s, const sw_opts *o);
void sw_print_csv(const sw_sweep *s);
/* sweep_plot.c: 0, or -1 after printing */
int sw_write_svg(const sw_sweep *s, const char *path);

#endif
