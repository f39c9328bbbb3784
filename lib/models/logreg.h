/* logreg.h — dense L2-regularized logistic regression: the classifier head of dvcos and
 * the stacker of an ensemble.
 *
 * Minimizes  sum_i log(1 + exp(-s_i (x_i . w + b))) + lambda/2 |w|^2,  s_i = +1 for
 * y_i = 1, -1 for y_i = 0; the bias b is not regularized. Newton's method on the
 * (d+1)-dimensional problem with a backtracking line search, so the result is exact to
 * the tolerance and depends only on the data (deterministic, no seed). */
#ifndef IMDB_LOGREG_H
#define IMDB_LOGREG_H
#include <stddef.h>
#include "util.h"

typedef struct logreg {
    size_t d;
    double *w;     /* (d) */
    double b;
} logreg;

/* Fit on n rows of x (n x d, row-major) with labels y (n; 0 or 1). lambda > 0.
 * *m is initialized here (free with logreg_free). Errors: IMDB_EXIT_DATA when n == 0 or
 * the fit does not converge (non-finite values in x). */
int logreg_fit(logreg *m, const float *x, const int *y, size_t n, size_t d, double lambda, imdb_err *e);
void logreg_free(logreg *m);
double logreg_logit(const logreg *m, const float *x);   /* x (d) */
/* Naive reference for the tests: plain gradient descent for iters steps with step size
 * lr from w = 0, b = 0. */
void logreg_fit_gd(logreg *m, const float *x, const int *y, size_t n, size_t d, double lambda,
                   int iters, double lr);
#endif
