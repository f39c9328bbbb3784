/* optim.c — see optim.h. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

void optim_cfg_default(optim_cfg *c, int kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
}

static const char *const kind_names[] = {"sgd", "adam"};
static const char *const sched_names[] = {"constant", "linear", "cosine"};

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (s && strcmp(s, names[i]) == 0) return i;
    return -1;
}

int optim_kind_parse(const char *name) { return lookup(kind_names, 2, name); }
const char *optim_kind_name(int kind) { return kind >= 0 && kind < 2 ? kind_names[kind] : "?"; }
int optim_sched_parse(const char *name) { return lookup(sched_names, 3, name); }
const char *optim_sched_name(int kind) { return kind >= 0 && kind < 3 ? sched_names[kind] : "?"; }

void optim_init(optim *o, const optim_cfg *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    o->m = imdb_xcalloc(n ? n : 1, sizeof *o->m);
    if (cfg->kind == OPTIM_ADAM) o->v = imdb_xcalloc(n ? n : 1, sizeof *o->v);
}

void optim_free(optim *o)
{
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* The walk shared by every operation: fn over the dense ranges of [0, n) and over the
 * touched rows of the sparse tensors, each a contiguous range [lo, hi). Sparse tensors
 * are visited in offset order (nsp is a handful, so a selection is fine). */
typedef void range_fn(void *ctx, size_t lo, size_t hi);

static void walk(size_t n, const optim_sparse *sp, int nsp, range_fn *fn, void *ctx)
{
    size_t cur = 0;
    for (;;) {
        const optim_sparse *next = NULL;
        for (int i = 0; i < nsp; i++)
            if (sp[i].offset >= cur && (!next || sp[i].offset < next->offset)) next = &sp[i];
        size_t end = next ? next->offset : n;
        if (end > n) end = n;
        if (end > cur) fn(ctx, cur, end);
        if (!next) break;
        const rowset *rs = next->touched;
        for (size_t k = 0; rs && k < rs->n; k++) {
            if (rs->rows[k] >= next->rows) continue;
            size_t lo = next->offset + (size_t)rs->rows[k] * next->cols;
            fn(ctx, lo, lo + next->cols);
        }
        cur = next->offset + next->rows * next->cols;
        if (cur >= n) break;
    }
}

typedef struct step_ctx {
    optim *o;
    float *p;
    const float *g;
    float lr;
    double bc1, bc2;   /* Adam bias corrections 1 - beta^t */
} step_ctx;

static void step_range(void *vctx, size_t lo, size_t hi)
{
    step_ctx *c = vctx;
    const optim_cfg *k = &c->o->cfg;
    float *p = c->p, *m = c->o->m, *v = c->o->v;
    const float *g = c->g;
    float lr = c->lr, wd = k->weight_decay;
    if (k->kind == OPTIM_SGD) {
        float mu = k->momentum;
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] + wd * p[i];
            if (mu > 0.0f) { m[i] = mu * m[i] + gi; gi = m[i]; }
            p[i] -= lr * gi;
        }
        return;
    }
    float b1 = k->beta1, b2 = k->beta2, eps = k->eps;
    float s1 = (float)(1.0 / c->bc1), s2 = (float)(1.0 / c->bc2);
    float l2 = k->decoupled ? 0.0f : wd, dw = k->decoupled ? wd : 0.0f;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i] + l2 * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mh = m[i] * s1, vh = v[i] * s2;
        p[i] -= lr * (mh / (sqrtf(vh) + eps) + dw * p[i]);
    }
}

void optim_step(optim *o, float *param, const float *grad, float lr,
                const optim_sparse *sp, int nsp)
{
    o->t++;
    step_ctx c = {o, param, grad, lr, 1.0, 1.0};
    if (o->cfg.kind == OPTIM_ADAM) {
        c.bc1 = 1.0 - pow(o->cfg.beta1, (double)o->t);
        c.bc2 = 1.0 - pow(o->cfg.beta2, (double)o->t);
    }
    walk(o->n, sp, nsp, step_range, &c);
}

typedef struct norm_ctx { const float *g; double ss; } norm_ctx;

static void norm_range(void *vctx, size_t lo, size_t hi)
{
    norm_ctx *c = vctx;
    double s = 0.0;
    for (size_t i = lo; i < hi; i++) s += (double)c->g[i] * c->g[i];
    c->ss += s;
}

double optim_grad_norm(const float *grad, size_t n, const optim_sparse *sp, int nsp)
{
    norm_ctx c = {grad, 0.0};
    walk(n, sp, nsp, norm_range, &c);
    return sqrt(c.ss);
}

typedef struct scale_ctx { float *g; float s; } scale_ctx;

static void scale_range(void *vctx, size_t lo, size_t hi)
{
    scale_ctx *c = vctx;
    for (size_t i = lo; i < hi; i++) c->g[i] *= c->s;
}

double optim_clip(float *grad, size_t n, double max_norm, const optim_sparse *sp, int nsp)
{
    double norm = optim_grad_norm(grad, n, sp, nsp);
    if (max_norm > 0.0 && norm > max_norm && isfinite(norm)) {
        scale_ctx c = {grad, (float)(max_norm / norm)};
        walk(n, sp, nsp, scale_range, &c);
    }
    return norm;
}

static void zero_range(void *vctx, size_t lo, size_t hi)
{
    float *g = vctx;
    memset(g + lo, 0, (hi - lo) * sizeof *g);
}

void optim_zero_grad(float *grad, size_t n, const optim_sparse *sp, int nsp)
{
    walk(n, sp, nsp, zero_range, grad);
    for (int i = 0; i < nsp; i++)
        if (sp[i].touched) rowset_clear(sp[i].touched);
}

int optim_nonfinite(const float *x, size_t n, size_t *where)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            if (where) *where = i;
            return 1;
        }
    }
    return 0;
}

double optim_lr(const optim_sched *s, long step)
{
    if (step < 0) step = 0;
    if (s->warmup > 0 && step < s->warmup) return s->lr * (double)(step + 1) / (double)s->warmup;
    long span = s->total - s->warmup;
    double p = span > 0 ? (double)(step - s->warmup) / (double)span : 1.0;
    if (p < 0.0) p = 0.0;
    if (p > 1.0) p = 1.0;
    switch (s->kind) {
    case LR_LINEAR: return s->lr_min + (s->lr - s->lr_min) * (1.0 - p);
    case LR_COSINE: return s->lr_min + (s->lr - s->lr_min) * 0.5 * (1.0 + cos(3.14159265358979323846 * p));
    default: return s->lr;
    }
}
