/* tests/gradcheck.h — the numerical checks of the layer tests (unit_layers.c,
 * unit_region.c; header only, like testutil.h): a layer's forward against a naive
 * double-precision reference, and its backward against central finite differences of
 * that reference,
 *
 *   L(params, inputs) = sum_i out_i R_i        (R random, so dout = R)
 *   dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps),   eps = TEST_EPS, all in double.
 *
 * Tolerances: forward |f - d| <= TEST_F_ATOL + TEST_F_RTOL |d|; gradient |a - n| <=
 * TEST_G_ATOL + TEST_G_RTOL |n| (float arithmetic in the layer against an O(eps^2) +
 * O(1e-16/eps) accurate reference). Each check prints one line with the worst difference
 * and counts a failure (testutil.h's `failures`) when a value is out of tolerance. */
#ifndef IMDB_GRADCHECK_H
#define IMDB_GRADCHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rng.h"
#include "testutil.h"

#define TEST_EPS 1e-5
#define TEST_G_ATOL 1e-5
#define TEST_G_RTOL 1e-4
#define TEST_F_ATOL 1e-5
#define TEST_F_RTOL 1e-4

/* n floats uniform in [-a, a) from r; malloc'd (at least one element), the caller frees. */
static inline float *test_frand(rng *r, size_t n, float a)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * rng_uniform(r) - 1.0) * a);
    return x;
}

/* A malloc'd copy of x (n floats), as floats or as doubles. */
static inline float *test_fcopy(const float *x, size_t n)
{
    float *y = malloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static inline double *test_dcopy(const float *x, size_t n)
{
    double *y = malloc((n ? n : 1) * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

/* f (n floats, the layer's) against d (the reference), within the forward tolerance;
 * prints "  WHAT n=N worst |diff| E  ok" (or FAIL). */
static inline void test_check_close(const char *what, const float *f, const double *d, size_t n)
{
    double worst = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)f[i] - d[i]);
        if (!(e <= TEST_F_ATOL + TEST_F_RTOL * fabs(d[i]))) bad = 1;
        if (e > worst || e != e) worst = e;
    }
    printf("  %-28s n=%-5zu worst |diff| %.2e  %s\n", what, n, worst, bad ? "FAIL" : "ok");
    failures += bad;
}

/* The reference loss L at the current values of its inputs (ctx holds them). */
typedef double test_loss_fn(void *ctx);

/* Finite differences of f with respect to x (n doubles of ctx, perturbed in place and
 * restored) against the analytic gradient: after - before (the backward adds; before is
 * NULL for a gradient that started at zero). The first entry out of tolerance is said on
 * stderr; the line on stdout has the worst absolute and relative difference and how much
 * of the tolerance the worst entry used. */
static inline void test_check_grad(const char *layer, const char *tensor, double *x, size_t n,
                                   const float *after, const float *before, test_loss_fn *f, void *ctx)
{
    double worst_abs = 0.0, worst_rel = 0.0, worst_use = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + TEST_EPS;
        double lp = f(ctx);
        x[i] = x0 - TEST_EPS;
        double lm = f(ctx);
        x[i] = x0;
        double num = (lp - lm) / (2 * TEST_EPS);
        double ana = (double)after[i] - (before ? (double)before[i] : 0.0);
        double e = fabs(ana - num), tol = TEST_G_ATOL + TEST_G_RTOL * fabs(num);
        if (!(e <= tol)) {
            if (!bad) fprintf(stderr, "  %s %s[%zu]: analytic %.8g numeric %.8g\n", layer, tensor, i, ana, num);
            bad = 1;
        }
        if (e > worst_abs || e != e) worst_abs = e;
        if (fabs(num) > 1e-3 && e / fabs(num) > worst_rel) worst_rel = e / fabs(num);
        if (e / tol > worst_use) worst_use = e / tol;
    }
    printf("  %-14s d%-12s n=%-5zu worst |diff| %.2e  worst rel %.2e  (%3.0f%% of tol)  %s\n",
           layer, tensor, n, worst_abs, worst_rel, 100 * worst_use, bad ? "FAIL" : "ok");
    failures += bad;
}
#endif
