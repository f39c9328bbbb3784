/* optim.h — optimizers over a params block (params.h): SGD with optional momentum, and
 * Adam (Kingma & Ba 2015) with bias correction and either L2 regularization or
 * decoupled weight decay (AdamW, Loshchilov & Hutter 2019); global-norm gradient
 * clipping (Pascanu et al. 2013); learning-rate schedules; a non-finite check.
 *
 * Every call walks the whole block in one loop, except "sparse" tensors: big embedding
 * tables where only the rows listed in a rowset (filled by layer_embed_backward) received a
 * gradient this step. For those, zeroing, norms and updates touch only the listed rows
 * ("lazy" Adam: an untouched row keeps its moments and weights, and its weight decay
 * waits until it is touched). With every row touched, lazy and dense updates agree
 * exactly (norms up to rounding: the rows are summed in the order they were touched). */
#ifndef IMDB_OPTIM_H
#define IMDB_OPTIM_H
#include <stddef.h>
#include "params.h"

enum { OPTIM_SGD = 0, OPTIM_ADAM = 1 };

typedef struct optim_cfg {
    int kind;             /* OPTIM_SGD or OPTIM_ADAM */
    float momentum;       /* SGD: velocity decay (heavy ball); 0 = plain SGD */
    float beta1, beta2;   /* Adam: decay of the moments (default 0.9, 0.999) */
    float eps;            /* Adam: added to sqrt(v) (default 1e-8) */
    float weight_decay;   /* 0 = none */
    int decoupled;        /* Adam: 1 = AdamW, decay the weights directly (lr * wd * w);
                             0 = L2, wd * w added to the gradient. SGD: always L2. */
} optim_cfg;

/* Defaults for kind: momentum 0, beta1 0.9, beta2 0.999, eps 1e-8, no decay. */
void optim_cfg_default(optim_cfg *c, int kind);
/* "sgd" / "adam" -> OPTIM_*, -1 if unknown; and back. */
int optim_kind_parse(const char *name);
const char *optim_kind_name(int kind);

typedef struct optim {
    optim_cfg cfg;
    size_t n;        /* floats in the block */
    float *m;        /* (n) SGD velocity or Adam first moment */
    float *v;        /* (n) Adam second moment (NULL for SGD) */
    long t;          /* steps taken (Adam's bias correction); m, v, t make a checkpoint */
} optim;

void optim_init(optim *o, const optim_cfg *cfg, size_t n);   /* moments zeroed */
void optim_free(optim *o);

/* A tensor of the block updated only at touched rows: floats [offset, offset+rows*cols).
 * Sparse tensors must not overlap. */
typedef struct optim_sparse {
    size_t offset, rows, cols;
    rowset *touched;
} optim_sparse;

/* One update of param (n) from grad (n) with learning rate lr. sp may be NULL (nsp 0). */
void optim_step(optim *o, float *param, const float *grad, float lr,
                const optim_sparse *sp, int nsp);
/* Euclidean norm of the gradient (in double). */
double optim_grad_norm(const float *grad, size_t n, const optim_sparse *sp, int nsp);
/* Scale grad so that its norm is at most max_norm (<= 0: never); returns the norm
 * before clipping. */
double optim_clip(float *grad, size_t n, double max_norm, const optim_sparse *sp, int nsp);
/* Zero grad for the next step; the touched rows of sparse tensors are zeroed and their
 * rowsets cleared. */
void optim_zero_grad(float *grad, size_t n, const optim_sparse *sp, int nsp);

/* Nonzero if some x[i] is NaN or infinite; *where (if not NULL) gets the first such i.
 * Meant for a trainer to stop with a clear message instead of training on garbage. */
int optim_nonfinite(const float *x, size_t n, size_t *where);

/* Learning-rate schedules. Step s counts from 0. During warmup (s < warmup) the rate
 * climbs linearly, lr * (s+1) / warmup; then with p = (s - warmup) / (total - warmup)
 * clamped to [0, 1]:
 *   constant  lr
 *   linear    lr_min + (lr - lr_min) * (1 - p)
 *   cosine    lr_min + (lr - lr_min) * (1 + cos(pi p)) / 2 */
enum { LR_CONSTANT = 0, LR_LINEAR = 1, LR_COSINE = 2 };

typedef struct optim_sched {
    int kind;          /* LR_* */
    double lr;         /* peak rate */
    double lr_min;     /* final rate of linear and cosine */
    long warmup;       /* steps of warmup (0 = none) */
    long total;        /* total steps of the run */
} optim_sched;

double optim_lr(const optim_sched *s, long step);
/* "constant" / "linear" / "cosine" -> LR_*, -1 if unknown; and back. */
int optim_sched_parse(const char *name);
const char *optim_sched_name(int kind);
#endif
