/* params.c — see params.h. */
#include "params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

void params_init(params *p) { memset(p, 0, sizeof *p); }

int params_add(params *p, const char *name, size_t rows, size_t cols)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->t = imdb_xrealloc(p->t, (size_t)p->cap * sizeof *p->t);
    }
    params_tensor *t = &p->t[p->n];
    memset(t, 0, sizeof *t);
    strncpy(t->name, name, PARAMS_NAME_MAX - 1);
    t->rows = rows;
    t->cols = cols;
    t->offset = (p->total + PARAMS_ALIGN - 1) / PARAMS_ALIGN * PARAMS_ALIGN;
    p->total = t->offset + rows * cols;
    return p->n++;
}

static float *aligned_block(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;      /* aligned_alloc wants a multiple of the alignment */
    float *x = aligned_alloc(64, bytes);
    if (!x) x = imdb_xmalloc(bytes);          /* aborts with a message */
    memset(x, 0, bytes);
    return x;
}

void params_alloc(params *p)
{
    free(p->data);
    p->data = aligned_block(p->total);
}

void params_free(params *p)
{
    free(p->t);
    free(p->data);
    params_init(p);
}

float *params_mirror(const params *p) { return aligned_block(p->total); }

int params_find(const params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strncmp(p->t[i].name, name, PARAMS_NAME_MAX - 1) == 0) return i;
    return -1;
}

void params_fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) x[i] = v;
}

void params_uniform(float *x, size_t n, float a, rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * rng_uniform(r) - 1.0) * a);
}

void params_normal(float *x, size_t n, float std, rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(r) * std;
}

float params_glorot(size_t fan_in, size_t fan_out)
{
    return (float)sqrt(6.0 / (double)(fan_in + fan_out ? fan_in + fan_out : 1));
}

void rowset_init(rowset *s, size_t nrows)
{
    s->rows = imdb_xmalloc((nrows ? nrows : 1) * sizeof *s->rows);
    s->mark = imdb_xcalloc(nrows ? nrows : 1, 1);
    s->n = 0;
    s->nrows = nrows;
}

void rowset_free(rowset *s)
{
    free(s->rows);
    free(s->mark);
    memset(s, 0, sizeof *s);
}

void rowset_clear(rowset *s)
{
    for (size_t i = 0; i < s->n; i++) s->mark[s->rows[i]] = 0;
    s->n = 0;
}

void rowset_zero_rows(rowset *s, float *grad, size_t cols)
{
    for (size_t i = 0; i < s->n; i++) memset(grad + (size_t)s->rows[i] * cols, 0, cols * sizeof *grad);
    rowset_clear(s);
}
