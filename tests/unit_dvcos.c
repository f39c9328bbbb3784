/* unit_dvcos.c — dvcos_pair, the kernel of dvcos training and inference, against central
 * finite differences of the pair loss computed in double precision:
 *
 *   L(h, v) = -log s(z),   z = (label ? 1 : -1) * scale * cos(h, v)
 *   dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps),   eps = 1e-6, all in double.
 *
 * After one call, gh must have grown by -lr dL/dh and (update_v = 1) v must have moved by
 * -lr dL/dv, both gradients taken at the v before the call; the return value is cos(h, v)
 * and *loss has grown by L. gh is pre-filled with random values to check that the call
 * adds. Both labels, scales 1, 6 and 30, dims that exercise the blocks of 8 and the
 * scalar tail (1, 7, 8, 13, 100). Tolerance on each entry: |a - n| <= ATOL * max|n| +
 * RTOL |n| (float arithmetic, and for v a difference of two floats, against an
 * O(eps^2)-accurate double reference). Also: update_v = 0 leaves v alone, update_v = 2
 * puts v back to unit length, a zero v changes nothing and returns 0, extreme scores give
 * finite losses, and the same inputs give the same bits. Prints the worst difference per
 * case and exits 1 on any failure. */
#include "dvcos.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-6
#define ATOL 1e-4
#define RTOL 1e-3

static int failures;
static rng R;

static void expect(int ok, const char *what)
{
    printf("  %-60s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

static double dnorm(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s);
}

static double dcos(const double *h, const double *v, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d += h[i] * v[i];
    return d / (dnorm(h, n) * dnorm(v, n));
}

/* -log s(z), stable for large |z|. */
static double pair_loss(const double *h, const double *v, int n, double scale, int label)
{
    double z = (label ? 1 : -1) * scale * dcos(h, v, n);
    return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
}

/* -lr * dL/dx by central differences, x being h or v (perturbed in place). */
static void numeric(double *x, double *h, double *v, int n, double scale, int label, double lr, double *out)
{
    for (int i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + EPS;
        double lp = pair_loss(h, v, n, scale, label);
        x[i] = x0 - EPS;
        double lm = pair_loss(h, v, n, scale, label);
        x[i] = x0;
        out[i] = -lr * (lp - lm) / (2 * EPS);
    }
}

/* Compare ana (after - before) with num; print the worst difference. */
static void compare(const char *what, const float *after, const float *before, const double *num, int n)
{
    double big = 0, worst_abs = 0, worst_rel = 0, worst_use = 0;
    for (int i = 0; i < n; i++) big = fmax(big, fabs(num[i]));
    int bad = 0;
    for (int i = 0; i < n; i++) {
        double ana = (double)after[i] - (double)before[i];
        double e = fabs(ana - num[i]), tol = ATOL * big + RTOL * fabs(num[i]) + 1e-12;
        if (!(e <= tol)) {
            if (!bad) fprintf(stderr, "  %s[%d]: analytic %.9g numeric %.9g\n", what, i, ana, num[i]);
            bad = 1;
        }
        if (e > worst_abs || e != e) worst_abs = e;
        if (fabs(num[i]) > 1e-3 * big && e / fabs(num[i]) > worst_rel) worst_rel = e / fabs(num[i]);
        if (e / tol > worst_use || e != e) worst_use = e / tol;
    }
    printf("  %-34s worst |diff| %.2e  worst rel %.2e  (%3.0f%% of tol)  %s\n", what, worst_abs, worst_rel,
           100 * worst_use, bad ? "FAIL" : "ok");
    failures += bad;
}

static float *frand(int n, double a)
{
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    for (int i = 0; i < n; i++) x[i] = (float)((2 * rng_uniform(&R) - 1) * a);
    return x;
}

static double *dcopy(const float *x, int n)
{
    double *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (int i = 0; i < n; i++) y[i] = x[i];
    return y;
}

static float *fcopy(const float *x, int n)
{
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    memcpy(y, x, (size_t)n * sizeof *y);
    return y;
}

/* One case: gradients for h and v, the returned cos, the loss. */
static void test_pair(int dim, float scale, int label)
{
    const float lr = 0.1f;
    float *h = frand(dim, 1), *v = frand(dim, 1), *gh = frand(dim, 0.5);
    float *v0 = fcopy(v, dim), *gh0 = fcopy(gh, dim);
    double *hd = dcopy(h, dim), *vd = dcopy(v, dim);
    double *nh = malloc((size_t)dim * sizeof *nh), *nv = malloc((size_t)dim * sizeof *nv);
    /* Both at the v before the update: the kernel scores the pair once. */
    numeric(hd, hd, vd, dim, scale, label, lr, nh);
    numeric(vd, hd, vd, dim, scale, label, lr, nv);
    double want_cos = dcos(hd, vd, dim), want_loss = pair_loss(hd, vd, dim, scale, label);
    float loss = 0.25f;
    double c = dvcos_pair(h, (float)dnorm(hd, dim), v, dim, scale, label, lr, gh, 1, &loss);

    char what[80];
    snprintf(what, sizeof what, "dim %3d scale %2g label %d  gh", dim, scale, label);
    compare(what, gh, gh0, nh, dim);
    snprintf(what, sizeof what, "dim %3d scale %2g label %d  v", dim, scale, label);
    compare(what, v, v0, nv, dim);
    int ok = fabs(c - want_cos) <= 1e-5 && fabs((double)loss - 0.25 - want_loss) <= 1e-5 * (1 + want_loss);
    if (!ok)
        fprintf(stderr, "  cos %.9g (want %.9g), loss added %.9g (want %.9g)\n", c, want_cos, loss - 0.25,
                want_loss);
    snprintf(what, sizeof what, "dim %3d scale %2g label %d: cos and loss added to *loss", dim, scale, label);
    expect(ok, what);

    /* update_v = 0: the same gh, v untouched; loss NULL is allowed. */
    float *gh2 = fcopy(gh0, dim), *v2 = fcopy(v0, dim);
    double c2 = dvcos_pair(h, (float)dnorm(hd, dim), v2, dim, scale, label, lr, gh2, 0, NULL);
    ok = c2 == c && memcmp(v2, v0, (size_t)dim * sizeof *v2) == 0;
    for (int i = 0; i < dim; i++) ok &= fabsf(gh2[i] - gh[i]) <= 1e-6f * (1 + fabsf(gh[i]));
    snprintf(what, sizeof what, "dim %3d scale %2g label %d: update_v 0 leaves v alone", dim, scale, label);
    expect(ok, what);

    /* update_v = 2: the update of update_v = 1, then back to unit length. */
    float *gh3 = fcopy(gh0, dim), *v3 = fcopy(v0, dim);
    dvcos_pair(h, (float)dnorm(hd, dim), v3, dim, scale, label, lr, gh3, 2, NULL);
    double l1 = 0, l3 = 0;
    for (int i = 0; i < dim; i++) { l1 += (double)v[i] * v[i]; l3 += (double)v3[i] * v3[i]; }
    ok = fabs(sqrt(l3) - 1) <= 1e-5;
    for (int i = 0; i < dim; i++) ok &= fabs(v3[i] - v[i] / sqrt(l1)) <= 1e-5 && gh3[i] == gh[i];
    snprintf(what, sizeof what, "dim %3d scale %2g label %d: update_v 2 gives a unit v", dim, scale, label);
    expect(ok, what);

    free(h); free(v); free(gh); free(v0); free(gh0); free(hd); free(vd); free(nh); free(nv);
    free(gh2); free(v2); free(gh3); free(v3);
}

/* A zero target vector: no update at all, cos 0. */
static void test_zero_v(int dim)
{
    float *h = frand(dim, 1), *gh = frand(dim, 1), *v = calloc((size_t)dim, sizeof *v);
    float *gh0 = fcopy(gh, dim);
    double hn = 0;
    for (int i = 0; i < dim; i++) hn += (double)h[i] * h[i];
    float loss = 1.5f;
    double c = dvcos_pair(h, (float)sqrt(hn), v, dim, 6, 1, 0.1f, gh, 1, &loss);
    int ok = c == 0 && loss == 1.5f && memcmp(gh, gh0, (size_t)dim * sizeof *gh) == 0;
    for (int i = 0; i < dim; i++) ok &= v[i] == 0;
    char what[80];
    snprintf(what, sizeof what, "dim %3d: zero v returns 0 and changes nothing", dim);
    expect(ok, what);
    free(h); free(gh); free(v); free(gh0);
}

/* h and v (anti)parallel at scale 100: |z| = 100, the loss stays finite (about 100 or
 * about 0) and so does the step. */
static void test_extreme(void)
{
    enum { D = 13 };
    float h[D], v[D], gh[D] = { 0 };
    int ok = 1;
    for (int sign = -1; sign <= 1; sign += 2)
        for (int label = 0; label <= 1; label++) {
            double hn = 0;
            for (int i = 0; i < D; i++) { h[i] = (float)(i + 1); v[i] = (float)(sign * 3 * (i + 1)); hn += h[i] * h[i]; }
            float loss = 0;
            dvcos_pair(h, (float)sqrt(hn), v, D, 100, label, 0.1f, gh, 1, &loss);
            double want = (label ? 1 : -1) * sign > 0 ? 0 : 100;
            ok &= isfinite(loss) && fabs(loss - want) < 1e-3;
            for (int i = 0; i < D; i++) ok &= isfinite(gh[i]) && isfinite(v[i]);
        }
    expect(ok, "scale 100, |cos| = 1: finite loss (0 or 100) and step");
}

/* The same inputs give the same bits (fixed-order sums). */
static void test_repeat(void)
{
    const int dim = 100;
    float *h = frand(dim, 1), *v = frand(dim, 1);
    float *va = fcopy(v, dim), *vb = fcopy(v, dim), *ga = calloc(dim, sizeof *ga), *gb = calloc(dim, sizeof *gb);
    float la = 0, lb = 0, hn = 0;
    for (int i = 0; i < dim; i++) hn += h[i] * h[i];
    hn = sqrtf(hn);
    double ca = dvcos_pair(h, hn, va, dim, 6, 1, 0.05f, ga, 1, &la);
    double cb = dvcos_pair(h, hn, vb, dim, 6, 1, 0.05f, gb, 1, &lb);
    expect(ca == cb && la == lb && memcmp(va, vb, dim * sizeof *va) == 0 && memcmp(ga, gb, dim * sizeof *ga) == 0,
           "the same inputs give the same bits");
    free(h); free(v); free(va); free(vb); free(ga); free(gb);
}

int main(void)
{
    rng_seed(&R, 20190728);
    printf("dvcos_pair against finite differences of -log s(+-scale cos(h, v))\n");
    static const int dims[] = { 1, 7, 8, 13, 100 };
    static const float scales[] = { 1, 6, 30 };
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++)
        for (size_t s = 0; s < sizeof scales / sizeof *scales; s++)
            for (int label = 0; label <= 1; label++) test_pair(dims[d], scales[s], label);
    test_zero_v(1);
    test_zero_v(13);
    test_extreme();
    test_repeat();
    printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
