/* unit_logreg.c — logreg_fit (Newton's method) against logreg_fit_gd, the naive gradient
 * descent reference, and against the optimality condition it solves:
 *
 *   f(w, b) = sum_i log(1 + exp(-s_i (x_i . w + b))) + lambda/2 |w|^2
 *   df/dw = sum_i (p_i - y_i) x_i + lambda w,  df/db = sum_i (p_i - y_i)   (0 at the optimum)
 *
 * Checks: Newton and 20000 steps of gradient descent agree to 1e-4 on a random problem
 * (n = 200, d = 5, lambda = 1); the gradient, computed here in double, vanishes at
 * Newton's solution; with d = 0 the bias is the log odds of the labels; separable data and
 * a one-class sample converge when lambda > 0; n = 0 and non-finite features are
 * IMDB_EXIT_DATA errors, not crashes; the fit does not depend on the order of the rows
 * beyond rounding. Prints the worst difference and exits 1 on any failure. */
#include "logreg.h"
#include "rng.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rng R;

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* n rows of d standard normal features, labels drawn from a logistic model with weights
 * w_true[j] = (j + 1) / d * sign and bias 0.3 (not separable). */
static void problem(size_t n, size_t d, float *x, int *y)
{
    for (size_t i = 0; i < n; i++) {
        double z = 0.3;
        for (size_t j = 0; j < d; j++) {
            x[i * d + j] = rng_normal(&R);
            z += x[i * d + j] * (double)(j + 1) / (double)d * (j % 2 ? -1 : 1);
        }
        y[i] = rng_uniform(&R) < sigmoid(z);
    }
}

/* The largest |component| of the objective's gradient at m. */
static double grad_max(const logreg *m, const float *x, const int *y, size_t n, size_t d, double lambda)
{
    double *g = calloc(d + 1, sizeof *g), worst = 0;
    for (size_t i = 0; i < n; i++) {
        double r = sigmoid(logreg_logit(m, x + i * d)) - y[i];
        for (size_t j = 0; j < d; j++) g[j] += r * x[i * d + j];
        g[d] += r;
    }
    for (size_t j = 0; j < d; j++) g[j] += lambda * m->w[j];
    for (size_t j = 0; j <= d; j++) worst = fmax(worst, fabs(g[j]));
    free(g);
    return worst;
}

static void test_against_gd(void)
{
    enum { N = 200, D = 5 };
    const double lambda = 1;
    float x[N * D];
    int y[N];
    problem(N, D, x, y);
    imdb_err e = { 0 };
    logreg nt, gd;
    int rc = logreg_fit(&nt, x, y, N, D, lambda, &e);
    test_expect(rc == 0, "n 200, d 5, lambda 1: Newton converges");
    if (rc < 0) { printf("    %s\n", e.msg); logreg_free(&nt); return; }
    /* The Hessian is at most 0.25 |X|^2 + lambda ~ 60 here: step 0.01 is stable. */
    logreg_fit_gd(&gd, x, y, N, D, lambda, 20000, 0.01);
    double worst = fabs(nt.b - gd.b);
    for (size_t j = 0; j < D; j++) worst = fmax(worst, fabs(nt.w[j] - gd.w[j]));
    printf("    Newton vs gradient descent: worst |diff| %.2e (b %.6f, w0 %.6f)\n", worst, nt.b, nt.w[0]);
    test_expect(worst < 1e-4, "weights and bias agree with gradient descent to 1e-4");
    test_expect(nt.d == D, "m->d is d");
    double g = grad_max(&nt, x, y, N, D, lambda);
    printf("    |gradient| at Newton's solution: %.2e\n", g);
    test_expect(g < 1e-6, "the objective's gradient vanishes at the solution (< 1e-6)");
    /* logreg_logit is x . w + b. */
    double z = nt.b;
    for (size_t j = 0; j < D; j++) z += nt.w[j] * x[j];
    test_expect(fabs(logreg_logit(&nt, x) - z) < 1e-12, "logreg_logit is x . w + b");

    /* The rows reversed: the same solution up to rounding. */
    float xr[N * D];
    int yr[N];
    for (size_t i = 0; i < N; i++) {
        memcpy(xr + i * D, x + (N - 1 - i) * D, D * sizeof *xr);
        yr[i] = y[N - 1 - i];
    }
    logreg rv;
    rc = logreg_fit(&rv, xr, yr, N, D, lambda, &e);
    double dr = fabs(rv.b - nt.b);
    for (size_t j = 0; rc == 0 && j < D; j++) dr = fmax(dr, fabs(rv.w[j] - nt.w[j]));
    test_expect(rc == 0 && dr < 1e-8, "the order of the rows does not matter (1e-8)");
    logreg_free(&rv);

    /* Deterministic: twice the same bits. */
    logreg again;
    rc = logreg_fit(&again, x, y, N, D, lambda, &e);
    test_expect(rc == 0 && again.b == nt.b && memcmp(again.w, nt.w, D * sizeof *nt.w) == 0,
           "two fits of the same data give the same bits");
    logreg_free(&again);
    logreg_free(&nt);
    logreg_free(&gd);
}

/* d = 0: only the bias, which is the log odds of the labels (not regularized). */
static void test_bias_only(void)
{
    int y[10] = { 1, 1, 1, 0, 1, 0, 1, 1, 0, 1 };   /* 7 of 10 */
    float x[1] = { 0 };
    imdb_err e = { 0 };
    logreg m;
    int rc = logreg_fit(&m, x, y, 10, 0, 1, &e);
    test_expect(rc == 0 && fabs(m.b - log(7.0 / 3.0)) < 1e-7, "d 0: the bias is log(7/3)");
    logreg_free(&m);
}

/* Linearly separable data: without the penalty the weights would grow forever. */
static void test_separable(double lambda)
{
    enum { N = 100, D = 3 };
    float x[N * D];
    int y[N];
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < D; j++) x[i * D + j] = rng_normal(&R);
        y[i] = x[i * D] + 0.5 * x[i * D + 1] > 0;
        x[i * D] += y[i] ? 0.2f : -0.2f;   /* a margin */
    }
    imdb_err e = { 0 };
    logreg m;
    int rc = logreg_fit(&m, x, y, N, D, lambda, &e);
    int right = 0, finite = rc == 0 && isfinite(m.b);
    for (size_t j = 0; rc == 0 && j < D; j++) finite &= isfinite(m.w[j]);
    for (size_t i = 0; finite && i < N; i++) right += (logreg_logit(&m, x + i * D) > 0) == y[i];
    double g = finite ? grad_max(&m, x, y, N, D, lambda) : NAN;
    char what[100];
    snprintf(what, sizeof what, "separable, lambda %g: converges, finite, %d/%d right, |grad| %.1e", lambda,
             right, N, g);
    if (rc < 0) printf("    %s\n", e.msg);
    test_expect(finite && right == N && g < 1e-5 * N, what);
    logreg_free(&m);
}

/* Every label 1: the bias runs off towards +infinity; the fit stops, predicting 1. */
static void test_one_class(void)
{
    enum { N = 50, D = 2 };
    float x[N * D];
    int y[N];
    for (size_t i = 0; i < N; i++) {
        x[i * D] = rng_normal(&R);
        x[i * D + 1] = rng_normal(&R);
        y[i] = 1;
    }
    imdb_err e = { 0 };
    logreg m;
    int rc = logreg_fit(&m, x, y, N, D, 1, &e);
    int ok = rc == 0;
    for (size_t i = 0; ok && i < N; i++) ok &= sigmoid(logreg_logit(&m, x + i * D)) > 0.99;
    if (rc < 0) printf("    %s\n", e.msg);
    test_expect(ok, "one class only: converges, every row predicted as that class");
    logreg_free(&m);
}

static void test_errors(void)
{
    float x[4 * 2] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    int y[4] = { 1, 0, 1, 0 };
    imdb_err e = { 0 };
    logreg m;
    int rc = logreg_fit(&m, x, y, 0, 2, 1, &e);
    test_expect(rc == -1 && e.status == IMDB_EXIT_DATA && e.msg[0], "n 0: IMDB_EXIT_DATA");
    printf("    message: %s\n", e.msg);
    logreg_free(&m);
    test_expect(m.w == NULL, "logreg_free clears w");
    logreg_free(&m);   /* twice is harmless */

    const float bad[] = { NAN, INFINITY, -INFINITY };
    const char *names[] = { "NaN", "+inf", "-inf" };
    for (int k = 0; k < 3; k++) {
        x[5] = bad[k];
        memset(&e, 0, sizeof e);
        rc = logreg_fit(&m, x, y, 4, 2, 1, &e);
        char what[80];
        snprintf(what, sizeof what, "%s in x: IMDB_EXIT_DATA, not a crash", names[k]);
        test_expect(rc == -1 && e.status == IMDB_EXIT_DATA && e.msg[0], what);
        logreg_free(&m);
    }
    printf("    message: %s\n", e.msg);
}

int main(void)
{
    rng_seed(&R, 424242);
    printf("logreg: Newton against gradient descent and the optimality condition\n");
    test_against_gd();
    test_bias_only();
    test_separable(1);
    test_separable(1e-3);
    test_one_class();
    test_errors();
    return test_status("unit_logreg");
}
