/* pool.c — see pool.h. Threads are started per call: a call covers thousands of
 * documents, so the start-up cost (tens of microseconds) does not show. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct job {
    void (*fn)(void *ctx, int thread, size_t chunk);
    void *ctx;
    size_t nchunks;
    atomic_size_t *next;
    int thread;
} job;

static void *run(void *arg)
{
    job *j = arg;
    for (size_t c; (c = atomic_fetch_add(j->next, 1)) < j->nchunks; ) j->fn(j->ctx, j->thread, c);
    return NULL;
}

void pool_for(int nthreads, size_t nchunks, void (*fn)(void *ctx, int thread, size_t chunk), void *ctx)
{
    if (nchunks == 0) return;
    if (nthreads < 1) nthreads = 1;
    if ((size_t)nthreads > nchunks) nthreads = (int)nchunks;
    atomic_size_t next = 0;
    pthread_t tid[nthreads];
    job jobs[nthreads];
    int started = 0;
    for (int t = 0; t < nthreads; t++) jobs[t] = (job){ fn, ctx, nchunks, &next, t };
    for (int t = 1; t < nthreads; t++) {
        if (pthread_create(&tid[t], NULL, run, &jobs[t]) != 0) break;   /* fewer is fine */
        started = t;
    }
    run(&jobs[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
}
