/* bench_lstm.c — micro-benchmark of one LSTM batch, forward + backward (built by
 * `make check`, not run by it):
 *
 *   tests/bench_lstm [B T C H REPS]        defaults 32 400 64 64 5
 *
 * Reports the best of REPS times, in milliseconds per batch, for full-length sequences and for lengths spread
 * uniformly over [T/4, T] (sorted longest first, as a bucketing trainer would feed
 * them), and the implied time of one epoch over 25,000 documents. Switch BLAS with
 * LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas (reference) and OPENBLAS_NUM_THREADS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blas.h"
#include "layer_lstm.h"
#include "params.h"
#include "rng.h"
#include "util.h"

static double run(int B, int T, int C, int H, int reps, const int32_t *len, rng *r)
{
    int G = 4 * H;
    float *x = xmalloc((size_t)B * T * C * sizeof(float)), *dx = xcalloc((size_t)B * T * C, sizeof(float));
    float *wx = xmalloc((size_t)G * C * sizeof(float)), *wh = xmalloc((size_t)G * H * sizeof(float));
    float *bias = xmalloc((size_t)G * sizeof(float));
    float *dwx = xcalloc((size_t)G * C, sizeof(float)), *dwh = xcalloc((size_t)G * H, sizeof(float));
    float *db = xcalloc(G, sizeof(float)), *hl = xmalloc((size_t)B * H * sizeof(float));
    float *dhl = xmalloc((size_t)B * H * sizeof(float));
    params_uniform(x, (size_t)B * T * C, 1.0f, r);
    params_uniform(dhl, (size_t)B * H, 0.1f, r);
    lstm_init(wx, wh, bias, C, H, r);
    lstm_cache k;
    lstm_cache_init(&k, B, T, H);
    lstm_forward(&k, hl, x, len, wx, wh, bias, B, T, C, H);   /* warm up */
    lstm_backward(dx, dwx, dwh, db, &k, NULL, dhl, x, len, wx, wh, B, T, C, H);
    /* The best of reps: on a shared machine the minimum is the stable statistic. */
    double ms = 1e30;
    for (int i = 0; i < reps; i++) {
        double t0 = imdb_now();
        lstm_forward(&k, hl, x, len, wx, wh, bias, B, T, C, H);
        lstm_backward(dx, dwx, dwh, db, &k, NULL, dhl, x, len, wx, wh, B, T, C, H);
        double t = (imdb_now() - t0) * 1e3;
        if (t < ms) ms = t;
    }
    lstm_cache_free(&k);
    free(x); free(dx); free(wx); free(wh); free(bias); free(dwx); free(dwh); free(db); free(hl); free(dhl);
    return ms;
}

int main(int argc, char **argv)
{
    int B = 32, T = 400, C = 64, H = 64, reps = 5;
    if (argc > 1) B = atoi(argv[1]);
    if (argc > 2) T = atoi(argv[2]);
    if (argc > 3) C = atoi(argv[3]);
    if (argc > 4) H = atoi(argv[4]);
    if (argc > 5) reps = atoi(argv[5]);
    if (B < 1 || T < 1 || C < 1 || H < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_lstm [B T C H REPS]\n");
        return 2;
    }
    rng r;
    rng_seed(&r, 1);
    int32_t *len = xmalloc((size_t)B * sizeof *len);
    printf("blas: %s\n", blas_backend());
    printf("lstm B=%d T=%d C=%d H=%d, forward+backward, best of %d\n", B, T, C, H, reps);
    for (int b = 0; b < B; b++) len[b] = T;
    double full = run(B, T, C, H, reps, len, &r);
    for (int b = 0; b < B; b++) len[b] = T - (int32_t)((double)b / B * (T - T / 4));
    double mixed = run(B, T, C, H, reps, len, &r);
    double batches = 25000.0 / B;
    printf("  full length:       %8.1f ms/batch  (%6.1f s per 25k-document epoch)\n", full, full * batches / 1e3);
    printf("  lengths T/4..T:    %8.1f ms/batch  (%6.1f s per 25k-document epoch)\n", mixed, mixed * batches / 1e3);
    free(len);
    return 0;
}
