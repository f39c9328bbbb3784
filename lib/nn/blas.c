/* blas.c — see blas.h. The wrapper exists so that the rest of the code has one place
 * where the BLAS is chosen, and so that the tests can compare it with a plain loop. */
#include "blas.h"

#include <dlfcn.h>
#include <stddef.h>
#ifndef IMDB_NO_CBLAS
#include <cblas.h>
#endif

/* C *= beta, honouring beta == 0 as "do not read C". */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

void blas_sgemm_naive(int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
}

void blas_sgemm(int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        /* BLAS would still check the strides of A and B, which are meaningless here. */
        scale_c(M, N, beta, C, ldc);
        return;
    }
#ifdef IMDB_NO_CBLAS
    blas_sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* OpenBLAS's extensions are looked up at run time: the same binary may be running
 * against the reference BLAS, which does not have them. */
const char *blas_backend(void)
{
#ifdef IMDB_NO_CBLAS
    return "naive";
#else
    char *(*get_config)(void);
    *(void **)&get_config = dlsym(RTLD_DEFAULT, "openblas_get_config");
    if (get_config) {
        const char *s = get_config();
        return s ? s : "OpenBLAS";
    }
    return "reference CBLAS";
#endif
}

int blas_set_threads(int n)
{
    void (*set)(int);
    *(void **)&set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (!set || n < 1) return -1;
    set(n);
    return 0;
}
