/* probes/probe_logistic.c — L2-regularised logistic regression (binary and
 * full-softmax multinomial) by L-BFGS, streaming row blocks.
 *
 * Objective, scaled so that its gradient tolerance does not depend on N:
 *     f(W,b) = (1/S) sum_i s_i l_i + (lambda/2) ||W||_F^2,
 *     lambda = 1 / (C S),  S = sum_i s_i  (s_i = class weight of row i),
 * which is sklearn's  C sum_i s_i l_i + 0.5 ||W||^2  divided by C*S, so the
 * minimiser is the same (intercept unpenalised).
 *   binary (n_out = 1):  z_i = w.x~_i + b,  l_i = log(1 + e^z_i) - y_i z_i,
 *                        dl/dz = sigmoid(z_i) - y_i
 *   multinomial (n_out = K): z_ik = W_k.x~_i + b_k,
 *                        l_i = logsumexp_k z_ik - z_i,y_i  (max-subtracted),
 *                        dl/dz_k = softmax_k(z_i) - [k == y_i]
 * x~ = (x - mu) / sd is never formed: with W'_kj = W_kj / sd_j and
 * b'_k = b_k - sum_j mu_j W'_kj, z = X W'^T + b' on raw rows; the gradient
 * G' = R^T X (R [nb][n_out] = s_i dl/dz / S) maps back as
 *     dW_kj = (G'_kj - mu_j sum_i R_ik) / sd_j + lambda W_kj,   db_k = sum_i R_ik.
 * Per block, for K <= 16: a fused OpenMP row kernel (lg_block_fused);
 * for more classes: one sgemm forward, one sgemm backward (BLAS), while the
 * block is still in cache.  Products in float32, sums over blocks, losses
 * and the parameter vector in double.
 *
 * Why L-BFGS and not Newton: a Newton step needs the (n_out*d)^2 Hessian —
 * for d = 4096, K = 10 that is 1.7e9 doubles — and one pass over the data
 * per Hessian (O(N d^2 K^2) flops), plus a dense factorisation.  L-BFGS needs
 * only f and its gradient (two thin matrix products per row block, O(N d K)
 * per pass, streaming-friendly) and O(m * d * K) memory; the objective is
 * smooth and strictly convex, where L-BFGS converges superlinearly in
 * practice.  It is also what sklearn's lbfgs solver runs, so the two stop
 * near the same point.
 *
 * Line search: strong Wolfe conditions (c1 = 1e-4, c2 = 0.9) by bracketing
 * and zoom with safeguarded cubic interpolation (Nocedal & Wright,
 * Algorithms 3.5-3.6).  Every f/gradient evaluation is one pass over the
 * rows.  Stop: max|grad f| <= tol, or max_iter, or no further decrease
 * possible (float32 products limit f to ~1e-7 relative precision; then
 * converged reports whether the gradient test was met). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "util/blas_threads.h"
#include "probe_internal.h"
#include "util/clones.h"

typedef struct lg_ws {
    const pr_problem *pb;
    int n_out;          /* 1 or K */
    int64_t d, P;       /* P = n_out*d + n_out */
    double lambda, S;   /* L2 strength (scaled), total weight */
    int fit_intercept;
    float *Weff;        /* [n_out][d] */
    float *beff;        /* [n_out] */
    float *Z;           /* [B][n_out] logits, then residuals */
    float *Gb;          /* [n_out][d] block gradient */
    double *Gd;         /* [n_out][d] accumulated */
    double *rsum;       /* [n_out] */
    int64_t n_eval;
    /* fused kernel (n_out <= LG_FUSED_MAX): per-thread accumulators */
    int nthr;
    float *Gtf;         /* [nthr][n_out][d] float partial sums (<= LG_FLUSH rows) */
    double *Gtd;        /* [nthr][n_out][d] */
    double *rst;        /* [nthr][n_out] */
    double *red;        /* [P + 1] distributed: the sums sent over ranks */
} lg_ws;

#define LG_FUSED_MAX 16
#define LG_FLUSH 256
#define LG_RB 4 /* rows per step of the fused kernel */

/* One row's loss s * l and residuals r_k = s * dl/dz_k (rf in float for the
 * gradient product; rs += r in double for the intercept).  Logits
 * z_k = zf_k + b_k in double, c the class, s the row weight / S.  rf may
 * alias zf (each z_k is read before r_k is written).
 *   binary: with e = exp(-|z|), softplus(z) = max(z,0) + log1p(e) and
 *           sigmoid(z) = 1/(1+e) (z >= 0) or e/(1+e): one exp, no overflow;
 *   softmax: max-subtracted log-sum-exp. */
static double row_loss(const float *zf, const float *b, int no, int c, double s, float *rf,
                       double *rs)
{
    if (no == 1) {
        double z = (double)zf[0] + b[0], e = exp(-fabs(z));
        double p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
        double r = s * (p - c);
        rf[0] = (float)r;
        rs[0] += r;
        return s * ((z > 0 ? z : 0) + log1p(e) - c * z);
    }
    double m = -INFINITY, se = 0;
    for (int k = 0; k < no; k++) if ((double)zf[k] + b[k] > m) m = (double)zf[k] + b[k];
    for (int k = 0; k < no; k++) se += exp((double)zf[k] + b[k] - m);
    double lse = m + log(se);
    double loss = s * (lse - ((double)zf[c] + b[c]));
    for (int k = 0; k < no; k++) {
        double r = s * (exp((double)zf[k] + b[k] - lse) - (k == c));
        rf[k] = (float)r;
        rs[k] += r;
    }
    return loss;
}

/* Rows [i0,i1) of a block for one thread, LG_RB used rows per step: the
 * logits of the LG_RB rows take LG_RB independent accumulators (one FMA
 * chain per dot product is latency bound) and share each load of W'_k, and
 * G'_k += sum_r r_rk x_r loads and stores G'_k once per step.  A short last
 * step repeats its first row with residual 0.  Compiled for AVX-512, AVX2+FMA
 * and baseline x86-64 (util/clones.h), since the library is not built with
 * -march=native by default. */
ST_CLONES
static double lg_rows(const lg_ws *w, const float *X, int64_t r0, int64_t i0, int64_t i1,
                      float *gf, double *gd, double *rs)
{
    const pr_problem *pb = w->pb;
    const int no = w->n_out;
    const int64_t d = w->d;
    double loss = 0;
    float rf[LG_RB][LG_FUSED_MAX];
    int pending = 0;
    int64_t i = i0;
    for (;;) {
        int64_t idx[LG_RB];
        int m = 0;
        for (; i < i1 && m < LG_RB; i++)
            if (pr_use(pb, r0 + i)) idx[m++] = i;
        if (!m) break;
        const float *x0 = X + idx[0] * d;
        const float *x1 = m > 1 ? X + idx[1] * d : x0;
        const float *x2 = m > 2 ? X + idx[2] * d : x0;
        const float *x3 = m > 3 ? X + idx[3] * d : x0;
        float zr[LG_RB][LG_FUSED_MAX];
        for (int k = 0; k < no; k++) {
            const float *wk = w->Weff + k * d;
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
            for (int64_t j = 0; j < d; j++) {
                a0 += wk[j] * x0[j];
                a1 += wk[j] * x1[j];
                a2 += wk[j] * x2[j];
                a3 += wk[j] * x3[j];
            }
            zr[0][k] = a0, zr[1][k] = a1, zr[2][k] = a2, zr[3][k] = a3;
        }
        for (int r = 0; r < LG_RB; r++) {
            if (r >= m) { for (int k = 0; k < no; k++) rf[r][k] = 0; continue; }
            int c = pb->cls[r0 + idx[r]];
            loss += row_loss(zr[r], w->beff, no, c, pb->cw[c] / w->S, rf[r], rs);
        }
        for (int k = 0; k < no; k++) {
            float *g = gf + k * d;
            const float q0 = rf[0][k], q1 = rf[1][k], q2 = rf[2][k], q3 = rf[3][k];
#pragma omp simd
            for (int64_t j = 0; j < d; j++)
                g[j] += q0 * x0[j] + q1 * x1[j] + q2 * x2[j] + q3 * x3[j];
        }
        if ((pending += m) >= LG_FLUSH) {
            for (int64_t j = 0; j < no * d; j++) { gd[j] += gf[j]; gf[j] = 0; }
            pending = 0;
        }
    }
    if (pending)
        for (int64_t j = 0; j < no * d; j++) { gd[j] += gf[j]; gf[j] = 0; }
    return loss;
}

/* Fused row kernel, OpenMP over rows: for each used row x (in L1),
 * z_k = W'_k.x + b'_k, the loss, r_k = s_i dl/dz_k, then G'_k += r_k x.
 * One parallel region per block instead of two BLAS calls: BLAS level-2 /
 * skinny level-3 calls on small blocks spend their time in thread
 * hand-offs (measured 4x slower with 2 threads on a loaded machine), while
 * this kernel streams X once per evaluation.  Float partial sums are
 * flushed into double every LG_FLUSH rows; threads own their accumulators
 * and a fixed static partition, so a thread count gives one result. */
static double lg_block_fused(lg_ws *w, const float *X, int64_t r0, int64_t nb)
{
    const int64_t nod = (int64_t)w->n_out * w->d;
    double loss = 0;
    int T = w->nthr;
    if (nb < 256 * (int64_t)T) T = 1;
    if (T == 1) return lg_rows(w, X, r0, 0, nb, w->Gtf, w->Gtd, w->rst);
#pragma omp parallel num_threads(T) reduction(+ : loss)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t i0 = nb * t / nt, i1 = nb * (t + 1) / nt;
        loss += lg_rows(w, X, r0, i0, i1, w->Gtf + t * nod, w->Gtd + t * nod, w->rst + (int64_t)t * w->n_out);
    }
    return loss;
}

static int lg_eval(lg_ws *w, const double *theta, double *f_out, double *grad, st_err *err)
{
    st_blas_for_analysis();   /* OpenBLAS threads itself here (util/blas_threads.h) */
    const pr_problem *pb = w->pb;
    const strata_probe_source *src = pb->src;
    int64_t d = w->d, n = src->n_rows, B = src->block_rows;
    int no = w->n_out;
    w->n_eval++;
    /* effective raw-space weights */
    for (int k = 0; k < no; k++) {
        double bb = theta[(int64_t)no * d + k];
        for (int64_t j = 0; j < d; j++) {
            double we = theta[k * d + j] / pb->sd[j];
            w->Weff[k * d + j] = (float)we;
            bb -= pb->mu[j] * we;
        }
        w->beff[k] = (float)bb;
    }
    memset(w->Gd, 0, sizeof *w->Gd * (size_t)(no * d));
    memset(w->rsum, 0, sizeof *w->rsum * (size_t)no);
    double loss = 0;
    int rc = STRATA_OK;
    (void)n;
    for (int64_t r0 = pb->grp.lo; r0 < pb->grp.hi; r0 += B) {
        int64_t nb = pb->grp.hi - r0 < B ? pb->grp.hi - r0 : B;
        /* skip blocks with no training row (held-out folds) */
        int any = 0;
        for (int64_t i = 0; i < nb && !any; i++) any = pr_use(pb, r0 + i);
        if (!any) continue;
        const float *X;
        if ((rc = pr_read(src, pb->buf, r0, nb, &X, err))) break;
        if (w->Gtf) { loss += lg_block_fused(w, X, r0, nb); continue; }
        /* more than LG_FUSED_MAX classes: Z [nb][no] = X [nb][d] . Weff^T */
        float *Z = w->Z;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, no, (int)d, 1.0f, X,
                    (int)d, w->Weff, (int)d, 0.0f, Z, no);
        double blk_loss = 0;
        for (int64_t i = 0; i < nb; i++) {
            float *z = Z + i * no;
            if (!pr_use(pb, r0 + i)) { for (int k = 0; k < no; k++) z[k] = 0; continue; }
            int c = pb->cls[r0 + i];
            blk_loss += row_loss(z, w->beff, no, c, pb->cw[c] / w->S, z, w->rsum);
        }
        loss += blk_loss;
        /* Gb [no][d] = Z^T [no][nb] . X [nb][d] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, (int)d, (int)nb, 1.0f, Z, no,
                    X, (int)d, 0.0f, w->Gb, (int)d);
        for (int64_t j = 0; j < no * d; j++) w->Gd[j] += w->Gb[j];
    }
    if (w->Gtf) /* reduce the per-thread accumulators (fixed order) */
        for (int t = 0; t < w->nthr; t++) {
            double *gd = w->Gtd + (int64_t)t * no * d, *rs = w->rst + (int64_t)t * no;
            for (int64_t j = 0; j < no * d; j++) { w->Gd[j] += gd[j]; gd[j] = 0; }
            for (int k = 0; k < no; k++) { w->rsum[k] += rs[k]; rs[k] = 0; }
        }
    if (pb->grp.on) {
        /* Distributed: sum [G' | rsum | loss] over ranks (n_out d + n_out + 1
         * doubles), bitwise the same on every rank, so every rank's L-BFGS
         * takes the same steps. */
        if ((rc = st_fit_check(&pb->grp, rc, err))) return rc;
        double *red = w->red;
        memcpy(red, w->Gd, sizeof *red * (size_t)(no * d));
        memcpy(red + no * d, w->rsum, sizeof *red * (size_t)no);
        red[no * d + no] = loss;
        if ((rc = st_fit_sum(&pb->grp, red, (size_t)(no * d + no + 1), err))) return rc;
        memcpy(w->Gd, red, sizeof *red * (size_t)(no * d));
        memcpy(w->rsum, red + no * d, sizeof *red * (size_t)no);
        loss = red[no * d + no];
    } else if (rc) {
        return rc;
    }
    if (!isfinite(loss))
        return st_seterr(err, STRATA_ERR_NUMERIC, "logistic loss is not finite (overflow?)");
    double reg = 0;
    for (int k = 0; k < no; k++) {
        for (int64_t j = 0; j < d; j++) {
            double th = theta[k * d + j];
            reg += th * th;
            grad[k * d + j] = (w->Gd[k * d + j] - pb->mu[j] * w->rsum[k]) / pb->sd[j]
                              + w->lambda * th;
        }
        grad[(int64_t)no * d + k] = w->fit_intercept ? w->rsum[k] : 0;
    }
    *f_out = loss + 0.5 * w->lambda * reg;
    return STRATA_OK;
}

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double inf_norm(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) if (fabs(a[i]) > m) m = fabs(a[i]);
    return m;
}

/* Minimiser of the cubic through (a,fa,da), (b,fb,db), safeguarded into the
 * interior of [a,b]; bisection when the cubic has no minimiser. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db)
{
    double lo = a < b ? a : b, hi = a < b ? b : a, w = hi - lo;
    double d1 = da + db - 3 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    double t = 0.5 * (a + b);
    if (disc >= 0) {
        double d2 = (b > a ? 1 : -1) * sqrt(disc);
        double den = db - da + 2 * d2;
        if (den != 0) {
            double c = b - (b - a) * (db + d2 - d1) / den;
            if (isfinite(c)) t = c;
        }
    }
    if (t < lo + 0.1 * w) t = lo + 0.1 * w;
    if (t > hi - 0.1 * w) t = hi - 0.1 * w;
    return t;
}

/* Strong-Wolfe line search along p from (x, f0, g0).  On success xn, fn,
 * gn hold the accepted point.  Returns 1 accepted, 0 no acceptable step,
 * <0 error. */
static int line_search(lg_ws *w, const double *x, double f0, const double *g0, const double *p,
                       double a1, double *xn, double *fn, double *gn, st_err *err)
{
    const double c1 = 1e-4, c2 = 0.9;
    const int maxls = 25;
    int64_t P = w->P;
    double dphi0 = dot(g0, p, P);
    if (!(dphi0 < 0)) return 0;
#define EVAL_AT(A, F, D)                                                   \
    do {                                                                   \
        for (int64_t q_ = 0; q_ < P; q_++) xn[q_] = x[q_] + (A) * p[q_];  \
        int rc_ = lg_eval(w, xn, &(F), gn, err);                           \
        if (rc_) return rc_;                                               \
        (D) = dot(gn, p, P);                                               \
    } while (0)
    double a_prev = 0, f_prev = f0, d_prev = dphi0, a = a1, fa, da;
    double lo, flo, dlo, hi, fhi, dhi;
    int it;
    for (it = 0; it < maxls; it++) {
        EVAL_AT(a, fa, da);
        if (fa > f0 + c1 * a * dphi0 || (it > 0 && fa >= f_prev)) {
            lo = a_prev; flo = f_prev; dlo = d_prev; hi = a; fhi = fa; dhi = da;
            goto zoom;
        }
        if (fabs(da) <= -c2 * dphi0) { *fn = fa; return 1; }
        if (da >= 0) {
            lo = a; flo = fa; dlo = da; hi = a_prev; fhi = f_prev; dhi = d_prev;
            goto zoom;
        }
        a_prev = a; f_prev = fa; d_prev = da;
        a *= 2.5;
    }
    return 0;
zoom:
    for (int j = 0; j < maxls; j++) {
        a = cubic_step(lo, flo, dlo, hi, fhi, dhi);
        EVAL_AT(a, fa, da);
        if (fa > f0 + c1 * a * dphi0 || fa >= flo) {
            hi = a; fhi = fa; dhi = da;
        } else {
            if (fabs(da) <= -c2 * dphi0) { *fn = fa; return 1; }
            if (da * (hi - lo) >= 0) { hi = lo; fhi = flo; dhi = dlo; }
            lo = a; flo = fa; dlo = da;
        }
        if (fabs(hi - lo) <= 1e-12 * (fabs(lo) + 1e-300)) break;
    }
    /* no Wolfe point: accept the best sufficient-decrease point if any */
    if (lo > 0 && flo < f0) {
        double dd;
        EVAL_AT(lo, fa, dd);
        (void)dd;
        *fn = fa;
        return 1;
    }
    return 0;
#undef EVAL_AT
}

int pr_logistic_fit(const pr_problem *pb, const strata_probe_params *p, double *theta,
                    int warm, int *n_iter, int *converged, double *loss_out, st_err *err)
{
    const strata_probe_source *src = pb->src;
    int64_t d = src->dim, n = src->n_rows;
    int K = pb->K, no = K == 2 ? 1 : K;
    int64_t P = (int64_t)no * d + no, B = src->block_rows;
    int m = p->lbfgs_m > 0 ? p->lbfgs_m : 10;
    if (!(p->C > 0) || !isfinite(p->C))
        return st_seterr(err, STRATA_ERR_ARG, "params.C must be a positive number (got %g)", p->C);
    lg_ws w = { .pb = pb, .n_out = no, .d = d, .P = P, .fit_intercept = p->fit_intercept };
    double S = 0;
    for (int64_t i = 0; i < n; i++) if (pr_use(pb, i)) S += pb->cw[pb->cls[i]];
    if (!(S > 0)) return st_seterr(err, STRATA_ERR_ARG, "no training rows with positive weight");
    w.S = S;
    w.lambda = 1.0 / (p->C * S);
    w.Weff = malloc(sizeof(float) * (size_t)(no * d));
    w.beff = malloc(sizeof(float) * (size_t)no);
    w.Z = malloc(sizeof(float) * (size_t)(B * no));
    w.Gb = malloc(sizeof(float) * (size_t)(no * d));
    w.Gd = malloc(sizeof(double) * (size_t)(no * d));
    w.rsum = malloc(sizeof(double) * (size_t)no);
    w.red = pb->grp.on ? malloc(sizeof(double) * (size_t)(P + 1)) : NULL;
    if (no <= LG_FUSED_MAX) {
        w.nthr = omp_get_max_threads();
        if (w.nthr < 1) w.nthr = 1;
        w.Gtf = calloc((size_t)(w.nthr * no * d), sizeof(float));
        w.Gtd = calloc((size_t)(w.nthr * no * d), sizeof(double));
        w.rst = calloc((size_t)(w.nthr * no), sizeof(double));
        if (!w.Gtf || !w.Gtd || !w.rst) { free(w.Gtf); free(w.Gtd); free(w.rst); w.Gtf = NULL; w.Gtd = NULL; w.rst = NULL; }
    }
    double *g = malloc(sizeof(double) * (size_t)P), *xn = malloc(sizeof(double) * (size_t)P);
    double *gn = malloc(sizeof(double) * (size_t)P), *dir = malloc(sizeof(double) * (size_t)P);
    double *Sm = malloc(sizeof(double) * (size_t)(P * m)), *Ym = malloc(sizeof(double) * (size_t)(P * m));
    double *rho = malloc(sizeof(double) * (size_t)m), *al = malloc(sizeof(double) * (size_t)m);
    int rc = STRATA_OK, it = 0, conv = 0;
    double f = 0;
    if (!w.Weff || !w.beff || !w.Z || !w.Gb || !w.Gd || !w.rsum || !g || !xn || !gn || !dir ||
        !Sm || !Ym || !rho || !al || (pb->grp.on && !w.red))
        rc = st_seterr(err, STRATA_ERR_NOMEM, "out of memory (L-BFGS, %lld parameters)", (long long)P);
    if ((rc = st_fit_check(&pb->grp, rc, err))) goto done;
    if (!warm) memset(theta, 0, sizeof(double) * (size_t)P);
    if (!p->fit_intercept) for (int k = 0; k < no; k++) theta[(int64_t)no * d + k] = 0;
    if ((rc = lg_eval(&w, theta, &f, g, err))) goto done;
    double tol = p->tol > 0 ? p->tol : 1e-6;
    int maxit = p->max_iter > 0 ? p->max_iter : 1000;
    int head = 0, cnt = 0; /* ring buffer of (s, y) pairs */
    while (1) {
        if (inf_norm(g, P) <= tol) { conv = 1; break; }
        if (it >= maxit) break;
        /* two-loop recursion: dir = -H g */
        for (int64_t q = 0; q < P; q++) dir[q] = -g[q];
        for (int c = 0; c < cnt; c++) {
            int k = (head - 1 - c + m) % m;
            al[k] = rho[k] * dot(Sm + k * P, dir, P);
            for (int64_t q = 0; q < P; q++) dir[q] -= al[k] * Ym[k * P + q];
        }
        if (cnt) {
            int k = (head - 1 + m) % m;
            double gamma = dot(Sm + k * P, Ym + k * P, P) / dot(Ym + k * P, Ym + k * P, P);
            for (int64_t q = 0; q < P; q++) dir[q] *= gamma;
        }
        for (int c = cnt - 1; c >= 0; c--) {
            int k = (head - 1 - c + m) % m;
            double be = rho[k] * dot(Ym + k * P, dir, P);
            for (int64_t q = 0; q < P; q++) dir[q] += (al[k] - be) * Sm[k * P + q];
        }
        if (!p->fit_intercept) for (int k = 0; k < no; k++) dir[(int64_t)no * d + k] = 0;
        if (!(dot(dir, g, P) < 0)) { /* not a descent direction: restart */
            for (int64_t q = 0; q < P; q++) dir[q] = -g[q];
            cnt = 0;
        }
        double a1 = 1.0;
        if (cnt == 0) {
            double gn2 = sqrt(dot(g, g, P));
            a1 = gn2 > 1 ? 1.0 / gn2 : 1.0;
        }
        double fnew = f;
        int ok = line_search(&w, theta, f, g, dir, a1, xn, &fnew, gn, err);
        if (ok < 0) { rc = ok; goto done; }
        if (!ok) {
            if (cnt == 0) break; /* steepest descent failed too: at precision limit */
            cnt = 0;             /* drop the curvature memory and retry */
            continue;
        }
        it++;
        /* s = xn - theta, y = gn - g */
        double *s = Sm + head * P, *yv = Ym + head * P;
        for (int64_t q = 0; q < P; q++) { s[q] = xn[q] - theta[q]; yv[q] = gn[q] - g[q]; }
        double sy = dot(s, yv, P);
        if (sy > 1e-10 * dot(yv, yv, P)) {
            rho[head] = 1 / sy;
            head = (head + 1) % m;
            if (cnt < m) cnt++;
        }
        double fold = f;
        memcpy(theta, xn, sizeof(double) * (size_t)P);
        memcpy(g, gn, sizeof(double) * (size_t)P);
        f = fnew;
        if (fold - f <= 1e-15 * (fabs(fold) > 1 ? fabs(fold) : 1)) {
            conv = inf_norm(g, P) <= tol;
            break;
        }
    }
done:
    *n_iter = it;
    *converged = conv;
    if (loss_out) *loss_out = f;
    free(w.Weff); free(w.beff); free(w.Z); free(w.Gb); free(w.Gd); free(w.rsum); free(w.Gtf); free(w.Gtd); free(w.rst); free(w.red);
    free(g); free(xn); free(gn); free(dir); free(Sm); free(Ym); free(rho); free(al);
    return rc;
}
