/* logreg.c — dense L2 logistic regression by Newton's method (logreg.h). */
#include "logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEWTON 50
#define GRAD_TOL 1e-8

static double logistic_loss(double z) { return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z)); }
static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

static double row_logit(const double *w, double b, const float *x, size_t d)
{
    double z = b;
    for (size_t j = 0; j < d; j++) z += w[j] * x[j];
    return z;
}

/* Objective at (w, b); the unregularized bias is the last of the d+1 unknowns. */
static double objective(const double *w, double b, const float *x, const int *y, size_t n, size_t d,
                        double lambda)
{
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double z = row_logit(w, b, x + i * d, d);
        f += logistic_loss(y[i] ? z : -z);
    }
    for (size_t j = 0; j < d; j++) f += 0.5 * lambda * w[j] * w[j];
    return f;
}

/* Solve A s = g for symmetric positive definite A (k x k, overwritten by its Cholesky
 * factor). Returns -1 when A is not positive definite. */
static int cholesky_solve(double *A, double *g, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double s = A[j * k + j];
        for (size_t p = 0; p < j; p++) s -= A[j * k + p] * A[j * k + p];
        if (!(s > 0)) return -1;
        double l = sqrt(s);
        A[j * k + j] = l;
        for (size_t i = j + 1; i < k; i++) {
            double t = A[i * k + j];
            for (size_t p = 0; p < j; p++) t -= A[i * k + p] * A[j * k + p];
            A[i * k + j] = t / l;
        }
    }
    for (size_t i = 0; i < k; i++) {          /* L y = g */
        double t = g[i];
        for (size_t p = 0; p < i; p++) t -= A[i * k + p] * g[p];
        g[i] = t / A[i * k + i];
    }
    for (size_t i = k; i-- > 0;) {            /* L^T s = y */
        double t = g[i];
        for (size_t p = i + 1; p < k; p++) t -= A[p * k + i] * g[p];
        g[i] = t / A[i * k + i];
    }
    return 0;
}

int logreg_fit(logreg *m, const float *x, const int *y, size_t n, size_t d, double lambda, imdb_err *e)
{
    m->d = d;
    m->w = imdb_xcalloc(d ? d : 1, sizeof *m->w);
    m->b = 0;
    if (n == 0) return imdb_fail(e, IMDB_EXIT_DATA, "logistic regression: no training rows");
    size_t k = d + 1;
    double *H = imdb_xmalloc(k * k * sizeof *H), *g = imdb_xmalloc(k * sizeof *g), *xi = imdb_xmalloc(k * sizeof *xi);
    double *w1 = imdb_xmalloc(k * sizeof *w1);
    double f = objective(m->w, m->b, x, y, n, d, lambda);
    int ok = 0;
    for (int it = 0; it < MAX_NEWTON && isfinite(f); it++) {
        memset(H, 0, k * k * sizeof *H);
        memset(g, 0, k * sizeof *g);
        for (size_t i = 0; i < n; i++) {
            const float *r = x + i * d;
            double p = sigmoid(row_logit(m->w, m->b, r, d)), q = p * (1 - p), res = p - (y[i] ? 1 : 0);
            for (size_t j = 0; j < d; j++) xi[j] = r[j];
            xi[d] = 1;
            for (size_t a = 0; a < k; a++) {
                g[a] += res * xi[a];
                double qa = q * xi[a];
                for (size_t c = 0; c <= a; c++) H[a * k + c] += qa * xi[c];   /* lower triangle */
            }
        }
        double gnorm = 0;
        for (size_t j = 0; j < d; j++) { g[j] += lambda * m->w[j]; H[j * k + j] += lambda; }
        H[d * k + d] += 1e-10 * (double)n;     /* keeps the bias row definite on separable data */
        for (size_t a = 0; a < k; a++) gnorm = fmax(gnorm, fabs(g[a]));
        if (gnorm < GRAD_TOL * (double)n) { ok = 1; break; }
        if (cholesky_solve(H, g, k) < 0) break;   /* g now holds the Newton step */
        /* Backtracking (Armijo) on the step -g. */
        double t = 1, fnew = f;
        for (int ls = 0; ls < 30; ls++, t *= 0.5) {
            for (size_t j = 0; j < d; j++) w1[j] = m->w[j] - t * g[j];
            w1[d] = m->b - t * g[d];
            fnew = objective(w1, w1[d], x, y, n, d, lambda);
            if (fnew <= f) break;
        }
        if (!(fnew <= f)) { ok = f == fnew; break; }
        memcpy(m->w, w1, d * sizeof *m->w);
        m->b = w1[d];
        if (f - fnew < 1e-12 * (1 + f)) { f = fnew; ok = 1; break; }
        f = fnew;
    }
    free(H); free(g); free(xi); free(w1);
    if (!ok || !isfinite(f))
        return imdb_fail(e, IMDB_EXIT_DATA, "logistic regression did not converge (non-finite features?)");
    return 0;
}

void logreg_free(logreg *m)
{
    free(m->w);
    m->w = NULL;
}

double logreg_logit(const logreg *m, const float *x) { return row_logit(m->w, m->b, x, m->d); }

void logreg_fit_gd(logreg *m, const float *x, const int *y, size_t n, size_t d, double lambda,
                   int iters, double lr)
{
    m->d = d;
    m->w = imdb_xcalloc(d ? d : 1, sizeof *m->w);
    m->b = 0;
    double *gw = imdb_xmalloc((d ? d : 1) * sizeof *gw);
    for (int it = 0; it < iters; it++) {
        double gb = 0;
        for (size_t j = 0; j < d; j++) gw[j] = lambda * m->w[j];
        for (size_t i = 0; i < n; i++) {
            double res = sigmoid(row_logit(m->w, m->b, x + i * d, d)) - (y[i] ? 1 : 0);
            for (size_t j = 0; j < d; j++) gw[j] += res * x[i * d + j];
            gb += res;
        }
        for (size_t j = 0; j < d; j++) m->w[j] -= lr * gw[j];
        m->b -= lr * gb;
    }
    free(gw);
}
