/* bench_lstm.c — micro-benchmark of one LSTM batch, forward + backward (built by
 * `make check`, not run by it):
 *
 *   tests/bench_lstm [B T C H REPS THREADS]      defaults 32 400 64 64 5 1
 *
 * Reports the best of REPS times, in milliseconds per batch, for full-length sequences
 * and for lengths spread uniformly over [T/4, T] (sorted longest first, as a bucketing
 * trainer would feed them), and the implied time of one epoch over 25,000 documents.
 * THREADS > 1 splits the batch over that many threads, each with its own cache and
 * gradient buffers (as a trainer would; summing the gradients is not timed). Switch the
 * BLAS with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas (reference) and set
 * OPENBLAS_NUM_THREADS=1 when THREADS > 1. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blas.h"
#include "layer_lstm.h"
#include "params.h"
#include "rng.h"
#include "util.h"

typedef struct job {
    int B, T, C, H;
    const float *x, *wx, *wh, *bias, *dhl;
    const int32_t *len;
    float *dx, *dwx, *dwh, *db, *hl;
    lstm_cache k;
} job;

static void *work(void *arg)
{
    job *j = arg;
    lstm_forward(&j->k, j->hl, j->x, j->len, j->wx, j->wh, j->bias, j->B, j->T, j->C, j->H);
    lstm_backward(j->dx, j->dwx, j->dwh, j->db, &j->k, NULL, j->dhl, j->x, j->len, j->wx, j->wh,
                  j->B, j->T, j->C, j->H);
    return NULL;
}

static double run(int B, int T, int C, int H, int reps, int nth, const int32_t *len, rng *r)
{
    int G = 4 * H;
    float *x = imdb_xmalloc((size_t)B * T * C * sizeof(float)), *dx = imdb_xcalloc((size_t)B * T * C, sizeof(float));
    float *wx = imdb_xmalloc((size_t)G * C * sizeof(float)), *wh = imdb_xmalloc((size_t)G * H * sizeof(float));
    float *bias = imdb_xmalloc((size_t)G * sizeof(float)), *hl = imdb_xmalloc((size_t)B * H * sizeof(float));
    float *dhl = imdb_xmalloc((size_t)B * H * sizeof(float));
    params_uniform(x, (size_t)B * T * C, 1.0f, r);
    params_uniform(dhl, (size_t)B * H, 0.1f, r);
    lstm_init(wx, wh, bias, C, H, r);
    job *jobs = imdb_xcalloc((size_t)nth, sizeof *jobs);
    pthread_t *tid = imdb_xcalloc((size_t)nth, sizeof *tid);
    for (int i = 0, b0 = 0; i < nth; i++) {
        job *j = &jobs[i];
        int nb = B / nth + (i < B % nth);
        *j = (job){nb, T, C, H, x + (size_t)b0 * T * C, wx, wh, bias, dhl + (size_t)b0 * H, len + b0,
                   dx + (size_t)b0 * T * C, imdb_xcalloc((size_t)G * C, sizeof(float)),
                   imdb_xcalloc((size_t)G * H, sizeof(float)), imdb_xcalloc(G, sizeof(float)), hl + (size_t)b0 * H,
                   {0}};
        lstm_cache_init(&j->k, nb, T, H);
        b0 += nb;
    }
    /* The best of reps (after one warm-up run): on a shared machine the minimum is the
     * stable statistic. */
    double ms = 1e30;
    for (int rep = 0; rep <= reps; rep++) {
        double t0 = imdb_now();
        if (nth == 1) work(&jobs[0]);
        else {
            for (int i = 0; i < nth; i++) pthread_create(&tid[i], NULL, work, &jobs[i]);
            for (int i = 0; i < nth; i++) pthread_join(tid[i], NULL);
        }
        double t = (imdb_now() - t0) * 1e3;
        if (rep > 0 && t < ms) ms = t;
    }
    for (int i = 0; i < nth; i++) {
        lstm_cache_free(&jobs[i].k);
        free(jobs[i].dwx); free(jobs[i].dwh); free(jobs[i].db);
    }
    free(jobs); free(tid);
    free(x); free(dx); free(wx); free(wh); free(bias); free(hl); free(dhl);
    return ms;
}

int main(int argc, char **argv)
{
    int v[6] = {32, 400, 64, 64, 5, 1};
    for (int i = 1; i < argc && i <= 6; i++) v[i - 1] = atoi(argv[i]);
    int B = v[0], T = v[1], C = v[2], H = v[3], reps = v[4], nth = v[5];
    if (argc > 7 || B < 1 || T < 1 || C < 1 || H < 1 || reps < 1 || nth < 1 || nth > B) {
        fprintf(stderr, "usage: bench_lstm [B T C H REPS THREADS]\n");
        return 2;
    }
    rng r;
    rng_seed(&r, 1);
    int32_t *len = imdb_xmalloc((size_t)B * sizeof *len);
    printf("blas: %s\n", blas_backend());
    printf("lstm B=%d T=%d C=%d H=%d, forward+backward, %d thread%s, best of %d\n",
           B, T, C, H, nth, nth > 1 ? "s" : "", reps);
    for (int b = 0; b < B; b++) len[b] = T;
    double full = run(B, T, C, H, reps, nth, len, &r);
    for (int b = 0; b < B; b++) len[b] = T - (int32_t)((double)b / B * (T - T / 4));
    double mixed = run(B, T, C, H, reps, nth, len, &r);
    double batches = 25000.0 / B;
    printf("  full length:       %8.1f ms/batch  (%6.1f s per 25k-document epoch)\n", full, full * batches / 1e3);
    printf("  lengths T/4..T:    %8.1f ms/batch  (%6.1f s per 25k-document epoch)\n", mixed, mixed * batches / 1e3);
    free(len);
    return 0;
}
