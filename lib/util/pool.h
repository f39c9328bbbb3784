/* pool.h — a parallel for over chunks of work: the calling thread and up to nthreads - 1
 * helpers take chunk indices from a shared counter until none is left. Results are
 * deterministic when fn writes only to per-chunk (or per-item) outputs; `thread` (0 for
 * the caller) selects per-thread scratch such as a text_cleaner. */
#ifndef IMDB_POOL_H
#define IMDB_POOL_H
#include <stddef.h>

void pool_for(int nthreads, size_t nchunks, void (*fn)(void *ctx, int thread, size_t chunk), void *ctx);
#endif
