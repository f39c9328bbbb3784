/* blas.h — the one matrix product the networks need, row-major single precision.
 *
 * blas_sgemm calls cblas_sgemm from whatever BLAS the dynamic linker finds (OpenBLAS or
 * the reference BLAS; Debian switches them with update-alternatives, a single run with
 * LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas). blas_sgemm_naive is the triple loop
 * beside it: the oracle of the tests, and the implementation when the library is built
 * with -DIMDB_NO_CBLAS. Both are reentrant. */
#ifndef IMDB_BLAS_H
#define IMDB_BLAS_H

enum { BLAS_N = 0, BLAS_T = 1 };   /* op(X) = X or X transposed */

/* C = alpha * op(A) * op(B) + beta * C, all row-major.
 * op(A) is (M,K), op(B) is (K,N), C is (M,N) with row strides lda, ldb, ldc:
 * A is (M,K) with lda >= K when ta == BLAS_N, (K,M) with lda >= M when ta == BLAS_T;
 * likewise B. As in BLAS, beta == 0 means C is not read (NaNs there are overwritten).
 * M, N or K may be 0 (K == 0: C = beta * C). */
void blas_sgemm(int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);
/* Same contract; accumulates each dot product in double. */
void blas_sgemm_naive(int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc);

/* The BLAS in use, for logs and benchmarks: "OpenBLAS 0.3.21 ..." or "reference CBLAS"
 * (or "naive" without CBLAS). Static string. */
const char *blas_backend(void);
/* Ask OpenBLAS to use n threads (a trainer that splits batches over its own threads
 * wants 1). Returns 0, or -1 if the BLAS in use has no such control. */
int blas_set_threads(int n);
#endif
