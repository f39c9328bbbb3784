/* params.h — a model's parameters as one contiguous float block with a table of named
 * tensors into it (llm.c's layout). Gradients and optimizer moments are blocks of the
 * same size ("mirrors"), so saving is one write, zeroing one memset and the optimizer
 * one loop. Also: initializers, and a row set that records which rows of a large
 * embedding table a batch touched, so that zeroing and Adam can skip the others. */
#ifndef IMDB_PARAMS_H
#define IMDB_PARAMS_H
#include <stddef.h>
#include <stdint.h>
#include "rng.h"

#define PARAMS_NAME_MAX 32
#define PARAMS_ALIGN 16       /* each tensor starts at a multiple of 16 floats (64 bytes) */

typedef struct params_tensor {
    char name[PARAMS_NAME_MAX];  /* NUL-terminated, truncated if longer */
    size_t offset;               /* first float in the block */
    size_t rows, cols;           /* a vector is (1, n) */
} params_tensor;

typedef struct params {
    params_tensor *t;    /* (n) in the order added */
    int n, cap;
    size_t total;        /* floats in the block, padding included */
    float *data;         /* NULL until params_alloc; 64-byte aligned */
} params;

void params_init(params *p);
/* Declare a tensor; returns its index. Only before params_alloc. */
int params_add(params *p, const char *name, size_t rows, size_t cols);
/* Allocate the block, zeroed (aborts on out of memory, like xmalloc). */
void params_alloc(params *p);
void params_free(params *p);          /* frees the table and the block; p is reinitialized */
/* A zeroed block of p->total floats, 64-byte aligned; release with free(). */
float *params_mirror(const params *p);
int params_find(const params *p, const char *name);   /* index, or -1 */
static inline float *params_at(const params *p, float *block, int i)
{ return block + p->t[i].offset; }
static inline size_t params_size(const params *p, int i)
{ return p->t[i].rows * p->t[i].cols; }

/* Initializers over n floats. Glorot/Xavier uniform: a = sqrt(6 / (fan_in + fan_out)). */
void params_fill(float *x, size_t n, float v);
void params_uniform(float *x, size_t n, float a, rng *r);     /* U(-a, a) */
void params_normal(float *x, size_t n, float std, rng *r);    /* N(0, std^2) */
float params_glorot(size_t fan_in, size_t fan_out);

/* The rows of a (nrows, cols) tensor touched by a batch, each listed once. */
typedef struct rowset {
    uint32_t *rows;      /* (n) touched rows, in first-touch order */
    size_t n;
    size_t nrows;        /* rows in the tensor */
    uint8_t *mark;       /* (nrows) 1 if listed */
} rowset;

void rowset_init(rowset *s, size_t nrows);
void rowset_free(rowset *s);
void rowset_clear(rowset *s);          /* O(n), not O(nrows) */
static inline void rowset_add(rowset *s, uint32_t r)
{ if (!s->mark[r]) { s->mark[r] = 1; s->rows[s->n++] = r; } }
/* Zero the listed rows of a (nrows, cols) gradient, then clear the set. */
void rowset_zero_rows(rowset *s, float *grad, size_t cols);
#endif
