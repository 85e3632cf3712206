/* probes/pca_internal.h — the strata_pca result object, shared by pca.c,
 * rsvd.c, pca_acts.c and pca_store.c (internal).
 *
 * Defines: struct strata_pca, pca_fit_src() (fit from any row-block
 * provider), pca_fit_rsvd() (rsvd.c), pca_project_rows(). */
#ifndef STRATA_PROBES_PCA_INTERNAL_H
#define STRATA_PROBES_PCA_INTERNAL_H

#include "strata/pca.h"
#include "geom_core.h"

struct strata_pca {
    st_err err;
    strata_pca_params params;
    int fitted;
    int32_t solver_used;
    int32_t k;
    int64_t n_rows;
    int64_t d;
    double *mean;        /* [d] */
    double *components;  /* [k][d] unit rows, sign convention applied */
    double *ev;          /* [k] eigenvalues of C, descending (clamped >= 0) */
    double *evr;         /* [k] ev / total_var */
    double total_var;    /* tr(C) */
    double sum_sq;       /* ||C||_F^2 = sum of all lambda^2 (RSVD: Hutch++ estimate) */
    double pr;           /* total_var^2 / sum_sq */
};

/* Fits P (params already set) from source 0 of s (width s->width[0]);
 * s->names[0] names the data in messages (hook name or "input array"). */
int pca_fit_src(strata_pca *P, const geom_src *s);
/* RSVD solver (rsvd.c); called by pca_fit_src after the argument checks,
 * with P->mean/components/ev/evr allocated. */
int pca_fit_rsvd(strata_pca *P, const geom_src *s);
/* out [n][k] = ((X - mean) V^T) (/ sqrt(lambda) if whiten); X [n][d].
 * work [n][d] and y [n][k] are caller scratch (float64). */
int pca_project_rows(strata_pca *P, const float *X, int64_t n, double *work, double *y,
                     float *out);

#endif
