/* rng.h — the program's own random generator (xoshiro256**, seeded by splitmix64).
 * Same seed, same sequence, on every platform; per-thread generators derive from one
 * seed with rng_split. The state is 32 bytes and can be stored in checkpoints. */
#ifndef IMDB_RNG_H
#define IMDB_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct rng { uint64_t s[4]; } rng;

void rng_seed(rng *r, uint64_t seed);
/* A generator for stream `k` derived from `seed` (independent of the parent's use). */
void rng_split(rng *out, uint64_t seed, uint64_t k);
uint64_t rng_u64(rng *r);
double rng_uniform(rng *r);              /* [0, 1) */
float rng_normal(rng *r);                /* standard normal (Box–Muller) */
uint32_t rng_below(rng *r, uint32_t n);  /* uniform in [0, n), n > 0, unbiased */
void rng_shuffle_u32(rng *r, uint32_t *a, size_t n); /* Fisher–Yates */
#endif
