/* unit_blas.c — blas_sgemm (the CBLAS in use) against the naive triple loop on random
 * shapes, all four transpose combinations, padded leading dimensions, alpha/beta
 * including beta = 0 over a C full of NaNs (which must not leak), and empty shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "blas.h"
#include "rng.h"
#include "testutil.h"

static float *rnd(rng *r, size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * rng_uniform(r) - 1.0);
    return x;
}

int main(void)
{
    rng r;
    rng_seed(&r, 42);
    int cases = 0;
    double worst = 0.0;
    for (int it = 0; it < 400; it++) {
        int M = (int)rng_below(&r, 40) + (it % 7 == 0 ? 0 : 1);
        int N = (int)rng_below(&r, 40) + (it % 11 == 0 ? 0 : 1);
        int K = (int)rng_below(&r, 70) + (it % 13 == 0 ? 0 : 1);
        int ta = it & 1, tb = (it >> 1) & 1;
        int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
        int lda = ac + (int)rng_below(&r, 3), ldb = bc + (int)rng_below(&r, 3);
        int ldc = N + (int)rng_below(&r, 3);
        if (lda < 1) lda = 1;
        if (ldb < 1) ldb = 1;
        if (ldc < 1) ldc = 1;
        float alpha = it % 5 == 0 ? 1.0f : (float)(2.0 * rng_uniform(&r) - 1.0);
        float beta = it % 3 == 0 ? 0.0f : it % 3 == 1 ? 1.0f : (float)rng_uniform(&r);
        float *A = rnd(&r, (size_t)ar * lda), *B = rnd(&r, (size_t)br * ldb);
        float *C1 = rnd(&r, (size_t)M * ldc + 1), *C2 = malloc(((size_t)M * ldc + 1) * sizeof *C2);
        if (beta == 0.0f)
            for (size_t i = 0; i < (size_t)M * ldc; i++) C1[i] = NAN;
        for (size_t i = 0; i < (size_t)M * ldc + 1; i++) C2[i] = C1[i];
        blas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
        blas_sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
        double err = 0.0;
        int bad = 0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < ldc; j++) {
                float x = C1[(size_t)i * ldc + j], y = C2[(size_t)i * ldc + j];
                if (j >= N) {   /* the padding of C must be left alone */
                    if (!(x == y || (isnan(x) && isnan(y)))) bad = 1;
                    continue;
                }
                if (!isfinite(x) || !isfinite(y)) { bad = 1; continue; }
                /* |entries| <= 1, so an error bound proportional to K suffices. */
                double d = fabs((double)x - y) / (1.0 + K);
                if (d > err) err = d;
            }
        if (err > 1e-6) bad = 1;
        if (err > worst) worst = err;
        CHECK(!bad, "sgemm ta=%d tb=%d M=%d N=%d K=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g err=%g",
              ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, err);
        cases++;
        free(A); free(B); free(C1); free(C2);
    }
    printf("blas backend: %s\n", blas_backend());
    printf("sgemm vs naive: %d cases, worst |diff|/(1+K) = %.3g (tolerance 1e-6), %d failures\n",
           cases, worst, failures);
    return test_status("unit_blas");
}
