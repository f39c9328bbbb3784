/* dvcos.c — document vectors trained with cosine similarity (dvcos.h). */
#include "dvcos.h"

#include "feat.h"
#include "heldout.h"
#include "logreg.h"
#include "pool.h"
#include "rng.h"
#include "tokio.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_DOCS 64          /* documents per unit of parallel work */
#define HDR_SIZE 64            /* section dv.hdr */
#define PREFETCH 2             /* targets ahead whose rows are prefetched */
#define MAX_NEG 100            /* the largest setting of negative */
#define HUGE_PAGE (2u << 20)

/* ---- The kernel ---- */

/* With GCC on x86-64 the hot loops are also compiled for AVX2 + FMA (x86-64-v3), picked
 * at load time by the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DV_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DV_CLONES
#endif

DV_CLONES
double dvcos_pair(const float *restrict h, float hn, float *restrict v, int dim, float scale, int label,
                  float lr, float *restrict gh, int update_v, float *loss)
{
    /* Fixed-order partial sums: the same result every run, and vector instructions. */
    float d8[8] = { 0 }, v8[8] = { 0 };
    int i = 0;
    for (; i + 8 <= dim; i += 8)
        for (int k = 0; k < 8; k++) {
            d8[k] += h[i + k] * v[i + k];
            v8[k] += v[i + k] * v[i + k];
        }
    float dot = ((d8[0] + d8[1]) + (d8[2] + d8[3])) + ((d8[4] + d8[5]) + (d8[6] + d8[7]));
    float vv = ((v8[0] + v8[1]) + (v8[2] + v8[3])) + ((v8[4] + v8[5]) + (v8[6] + v8[7]));
    for (; i < dim; i++) {
        dot += h[i] * v[i];
        vv += v[i] * v[i];
    }
    if (!(vv > 0)) return 0;
    float vn = sqrtf(vv), cos = dot / (hn * vn), s = scale * cos;
    float p = 1 / (1 + expf(-s));
    /* d cos/d h = v/(|h||v|) - cos h/|h|^2;  d cos/d v = h/(|h||v|) - cos v/|v|^2 */
    float g = ((float)label - p) * scale * lr;
    float a1 = g / (hn * vn), a2 = -g * cos / (hn * hn), b2 = -g * cos / vv;
    /* Blocks of 8 that -O2 turns into vector instructions, then the tail. */
    int i8 = dim & ~7;
    if (update_v) {
        float n8[8] = { 0 };
        for (i = 0; i < i8; i += 8)
            for (int k = 0; k < 8; k++) {
                float vi = v[i + k], nv = vi + a1 * h[i + k] + b2 * vi;
                gh[i + k] += a1 * vi + a2 * h[i + k];
                v[i + k] = nv;
                n8[k] += nv * nv;
            }
        float nn = ((n8[0] + n8[1]) + (n8[2] + n8[3])) + ((n8[4] + n8[5]) + (n8[6] + n8[7]));
        for (; i < dim; i++) {
            float vi = v[i], nv = vi + a1 * h[i] + b2 * vi;
            gh[i] += a1 * vi + a2 * h[i];
            v[i] = nv;
            nn += nv * nv;
        }
        if (update_v == 2 && nn > 0) {   /* back to unit length */
            float r = 1 / sqrtf(nn);
            for (i = 0; i < i8; i += 8)
                for (int k = 0; k < 8; k++) v[i + k] *= r;
            for (; i < dim; i++) v[i] *= r;
        }
    } else {
        for (i = 0; i < i8; i += 8)
            for (int k = 0; k < 8; k++) gh[i + k] += a1 * v[i + k] + a2 * h[i + k];
        for (; i < dim; i++) gh[i] += a1 * v[i] + a2 * h[i];
    }
    if (loss) {
        float z = label ? s : -s;
        *loss += z > 0 ? log1pf(expf(-z)) : -z + log1pf(expf(z));
    }
    return cos;
}

static float norm(const float *x, int dim)
{
    float s = 0;
    for (int i = 0; i < dim; i++) s += x[i] * x[i];
    return sqrtf(s);
}

/* Memory for the vector matrices, in huge pages where the system gives them: every
 * row access is random, and 4 KiB pages would add a TLB miss to each cache miss. */
static float *big_floats(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) return imdb_xmalloc(bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

/* ---- Settings ---- */

typedef struct dv_opts {
    int dim, ngrams, negative, epochs, infer_epochs, decay, normalize, heldout_folds, valid_unseen, unit, inductive;
    long min_count;
    double scale, lr, infer_lr, sample, neg_power, head_lambda;
} dv_opts;

static const char *const dvcos_keys[] = {
    "dim", "ngrams", "min_count", "negative", "scale", "epochs", "lr", "decay", "sample",
    "neg_power", "infer_epochs", "infer_lr", "normalize", "head_lambda", "heldout_folds",
    "valid_unseen", "unit", "inductive", NULL
};

static int read_opts(conf *c, dv_opts *o, imdb_err *e)
{
    long dim, ngrams, negative, epochs, infer_epochs, decay, normalize, folds, unseen, unit, inductive;
    if (conf_long(c, "dim", 100, 1, 4096, &dim, e) < 0 ||
        conf_long(c, "ngrams", 3, 1, 8, &ngrams, e) < 0 ||
        conf_long(c, "min_count", 2, 1, 1000000000L, &o->min_count, e) < 0 ||
        conf_long(c, "negative", 5, 1, MAX_NEG, &negative, e) < 0 ||
        conf_double(c, "scale", 6, 0.01, 100, &o->scale, e) < 0 ||
        conf_long(c, "epochs", 30, 1, 10000, &epochs, e) < 0 ||
        conf_double(c, "lr", 0.02, 1e-7, 10, &o->lr, e) < 0 ||
        conf_long(c, "decay", 1, 0, 1, &decay, e) < 0 ||
        conf_double(c, "sample", 1e-4, 0, 1, &o->sample, e) < 0 ||
        conf_double(c, "neg_power", 0.75, 0, 2, &o->neg_power, e) < 0 ||
        conf_long(c, "infer_epochs", 5, 1, 10000, &infer_epochs, e) < 0 ||
        conf_double(c, "infer_lr", 0.05, 1e-7, 10, &o->infer_lr, e) < 0 ||
        conf_long(c, "normalize", 1, 0, 1, &normalize, e) < 0 ||
        conf_double(c, "head_lambda", 1, 1e-9, 1e9, &o->head_lambda, e) < 0 ||
        conf_long(c, "heldout_folds", 5, 0, 20, &folds, e) < 0 ||
        conf_long(c, "valid_unseen", 0, 0, 1, &unseen, e) < 0 ||
        conf_long(c, "unit", 1, 0, 1, &unit, e) < 0 ||
        conf_long(c, "inductive", 0, 0, 1, &inductive, e) < 0)
        return -1;
    if (folds == 1) return imdb_fail(e, IMDB_EXIT_USAGE, "setting heldout_folds: 0 (none) or 2 to 20");
    o->dim = (int)dim;
    o->ngrams = (int)ngrams;
    o->negative = (int)negative;
    o->epochs = (int)epochs;
    o->infer_epochs = (int)infer_epochs;
    o->decay = (int)decay;
    o->normalize = (int)normalize;
    o->heldout_folds = (int)folds;
    o->valid_unseen = (int)unseen;
    o->unit = (int)unit;
    o->inductive = (int)inductive;
    return 0;
}

/* ---- Documents as target ids ---- */

/* The hash of a whole token sequence: the key of a learned document vector. */
static uint64_t doc_key(const char *const *toks, size_t ntok)
{
    uint64_t h = feat_hash_token("", 0) ^ (uint64_t)ntok;
    for (size_t i = 0; i < ntok; i++) h = feat_chain(h, feat_hash_token(toks[i], strlen(toks[i])));
    return h ? h : 1;
}

/* The n-gram hashes of a document (ntok * ngrams entries in out); returns how many. */
static size_t doc_ngrams(const char *const *toks, size_t ntok, int ngrams, uint64_t *th, uint64_t *out)
{
    for (size_t i = 0; i < ntok; i++) th[i] = feat_hash_token(toks[i], strlen(toks[i]));
    return feat_ngrams(th, ntok, ngrams, out);
}

/* Alias table (Vose) for weights p (V): slot i gives i when 32 random bits < cut, else
 * alias; both in one 8-byte entry, so a draw costs one cache miss. Work lists in index
 * order: the table depends only on the weights. */
typedef struct dv_alias { uint32_t cut; int32_t alias; } dv_alias;

static void alias_build(const double *p, size_t V, dv_alias *t)
{
    uint32_t *cut = imdb_xmalloc((V ? V : 1) * sizeof *cut);
    int32_t *alias = imdb_xmalloc((V ? V : 1) * sizeof *alias);
    double z = 0, *q = imdb_xmalloc(V * sizeof *q);
    size_t *small = imdb_xmalloc(V * sizeof *small), *large = imdb_xmalloc(V * sizeof *large), ns = 0, nl = 0;
    for (size_t i = 0; i < V; i++) z += p[i];
    for (size_t i = 0; i < V; i++) {
        q[i] = p[i] * (double)V / z;
        if (q[i] < 1) small[ns++] = i; else large[nl++] = i;
        alias[i] = (int32_t)i;
    }
    while (ns && nl) {
        size_t s = small[--ns], l = large[nl - 1];
        cut[s] = (uint32_t)fmin(q[s] * 4294967296.0, 4294967295.0);
        alias[s] = (int32_t)l;
        q[l] -= 1 - q[s];
        if (q[l] < 1) { nl--; small[ns++] = l; }
    }
    while (nl) cut[large[--nl]] = UINT32_MAX;
    while (ns) cut[small[--ns]] = UINT32_MAX;
    for (size_t i = 0; i < V; i++) t[i] = (dv_alias){ cut[i], alias[i] };
    free(q); free(small); free(large); free(cut); free(alias);
}

/* n draws into out, in two passes so the table entries are fetched in parallel: the
 * table is too large for the cache and each draw lands on a random entry. */
static void alias_draws(rng *r, const dv_alias *t, uint64_t V, int32_t *out, uint32_t *low, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t u = rng_u64(r);
        out[i] = (int32_t)(((u >> 32) * V) >> 32);
        low[i] = (uint32_t)u;
        __builtin_prefetch(t + out[i], 0, 0);
    }
    for (size_t i = 0; i < n; i++)
        if (low[i] >= t[out[i]].cut) out[i] = t[out[i]].alias;
}

/* ---- Training ---- */

typedef struct corpus {
    size_t n;                /* documents: the labelled ones, then the unlabelled */
    size_t *off;             /* (n+1) into ids */
    int32_t *ids;            /* target id of each n-gram occurrence (kept ones only) */
    uint64_t V;
    uint64_t *count;         /* (V) */
    feat_table keys;         /* n-gram hash -> target id */
} corpus;

static const char *const *doc_toks(const train_ctx *ctx, size_t i, size_t *ntok)
{
    const train_docs *d = i < ctx->docs->n ? ctx->docs : ctx->unlab;
    size_t j = i < ctx->docs->n ? i : i - ctx->docs->n;
    *ntok = d->off[j + 1] - d->off[j];
    return d->tok + d->off[j];
}

/* Count every n-gram once over the corpus, keep those seen min_count times (ids in order
 * of first occurrence), and rewrite the documents as kept ids. */
static void corpus_build(const train_ctx *ctx, const dv_opts *o, corpus *c)
{
    size_t n = ctx->docs->n + ctx->unlab->n, maxtok = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nt;
        doc_toks(ctx, i, &nt);
        if (nt > maxtok) maxtok = nt;
        total += nt * (size_t)o->ngrams;
    }
    c->n = n;
    c->off = imdb_xmalloc((n + 1) * sizeof *c->off);
    c->ids = imdb_xmalloc((total ? total : 1) * sizeof *c->ids);
    uint64_t *th = imdb_xmalloc((maxtok + 1) * sizeof *th), *ng = imdb_xmalloc((maxtok * o->ngrams + 1) * sizeof *ng);
    feat_table all;
    feat_table_init(&all, 1u << 20);
    size_t cap = 1u << 20, m = 0;
    uint64_t *cnt = imdb_xmalloc(cap * sizeof *cnt), *key = imdb_xmalloc(cap * sizeof *key);
    imdb_progress pb = imdb_progress_begin(ctx->logger, "dvcos: counting n-grams", n, "docs");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nt;
        const char *const *t = doc_toks(ctx, i, &nt);
        size_t k = doc_ngrams(t, nt, o->ngrams, th, ng);
        c->off[i] = at;
        for (size_t j = 0; j < k; j++) {
            int32_t id = feat_table_put(&all, ng[j], (int32_t)m);
            if (id < 0) {
                if (m == cap) {
                    cap *= 2;
                    cnt = imdb_xrealloc(cnt, cap * sizeof *cnt);
                    key = imdb_xrealloc(key, cap * sizeof *key);
                }
                cnt[m] = 0;
                key[m] = ng[j];
                id = (int32_t)m++;
            }
            cnt[id]++;
            c->ids[at++] = id;
        }
        if ((i & 1023) == 0) imdb_progress_update(&pb, i);
    }
    c->off[n] = at;
    imdb_progress_end(&pb);
    feat_table_free(&all);
    int32_t *remap = imdb_xmalloc((m ? m : 1) * sizeof *remap);
    c->V = 0;
    for (size_t j = 0; j < m; j++) remap[j] = cnt[j] >= (uint64_t)o->min_count ? (int32_t)c->V++ : -1;
    c->count = imdb_xmalloc((c->V ? c->V : 1) * sizeof *c->count);
    feat_table_init(&c->keys, c->V);
    for (size_t j = 0; j < m; j++)
        if (remap[j] >= 0) {
            c->count[remap[j]] = cnt[j];
            feat_table_put(&c->keys, key[j], remap[j]);
        }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = c->off[i], e = c->off[i + 1];
        c->off[i] = w;
        for (size_t j = b; j < e; j++)
            if (remap[c->ids[j]] >= 0) c->ids[w++] = remap[c->ids[j]];
    }
    c->off[n] = w;
    free(remap); free(cnt); free(key); free(th); free(ng);
}

static void corpus_free(corpus *c)
{
    free(c->off);
    free(c->ids);
    free(c->count);
    feat_table_free(&c->keys);
}

typedef struct trainer_state {
    const dv_opts *o;
    const corpus *c;
    float *W;                /* (V, dim) target vectors */
    float *D;                /* (n, dim) document vectors */
    dv_alias *alias;         /* (V) negatives */
    size_t maxdoc;           /* the most targets in a document */
    float *keep;             /* (V) subsampling: probability to keep an occurrence, or NULL */
    uint32_t *order;         /* (norder) documents of this epoch, shuffled */
    size_t norder, nchunks;
    int epoch;
    uint64_t seed;
    float **scratch;         /* per thread: dim floats, then the document's targets */
    double *loss;            /* (nchunks) */
    uint64_t *pairs;         /* (nchunks) */
    _Atomic size_t done;
    imdb_progress pb;
} trainer_state;

static void unit_row(float *x, int dim)
{
    float l = norm(x, dim);
    if (l > 0)
        for (int i = 0; i < dim; i++) x[i] /= l;
}

/* h += gh, then back to unit length when unit. */
static void step(float *restrict h, const float *restrict gh, int dim, int unit)
{
    for (int i = 0; i < dim; i++) h[i] += gh[i];
    if (unit) unit_row(h, dim);
}

/* Per-thread scratch for a document of up to maxdoc targets: gradient and one dequantized
 * row (dim floats each), the targets (maxdoc), their negatives and random bits
 * (maxdoc * negative each). Counted in 4-byte words. */
static size_t scratch_words(int dim, size_t maxdoc, int negative)
{
    return 2 * (size_t)dim + maxdoc * (1 + 2 * (size_t)negative) + 1;
}

/* One pass over a document's n targets: shuffle them and draw every negative up front. */
static void draw_pass(rng *r, const dv_alias *t, uint64_t V, int negative, int32_t *buf, size_t n,
                      int32_t *negs, uint32_t *low)
{
    for (size_t j = n; j > 1; j--) {     /* Fisher-Yates */
        size_t x = rng_below(r, (uint32_t)j);
        int32_t tmp = buf[j - 1]; buf[j - 1] = buf[x]; buf[x] = tmp;
    }
    alias_draws(r, t, V, negs, low, n * (size_t)negative);
}

static inline void prefetch_row(const void *row, size_t bytes)
{
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch((const char *)row + b, 1, 3);
}

/* One chunk of documents: for each, its (subsampled) targets in random order, each with
 * `negative` negatives; the document vector moves once per target. */
DV_CLONES
static void train_chunk(void *arg, int thread, size_t chunk)
{
    trainer_state *s = arg;
    const dv_opts *o = s->o;
    const int dim = o->dim, nneg = o->negative;
    const size_t rowb = (size_t)dim * sizeof(float);
    rng r;
    rng_split(&r, s->seed, (uint64_t)s->epoch * s->nchunks + chunk);
    float lr = (float)o->lr;
    if (o->decay) {
        double f = 1 - ((double)s->epoch * (double)s->nchunks + (double)chunk) / ((double)o->epochs * (double)s->nchunks);
        lr = (float)(o->lr * fmax(f, 1e-4));
    }
    float *gh = s->scratch[thread];
    int32_t *buf = (int32_t *)(gh + 2 * dim), *negs = buf + s->maxdoc;
    uint32_t *low = (uint32_t *)(negs + s->maxdoc * (size_t)nneg);
    float loss = 0;
    uint64_t pairs = 0;
    size_t d0 = chunk * CHUNK_DOCS, d1 = d0 + CHUNK_DOCS < s->norder ? d0 + CHUNK_DOCS : s->norder;
    for (size_t k = d0; k < d1; k++) {
        uint32_t doc = s->order[k];
        float *h = s->D + (size_t)doc * dim;
        size_t n = 0;
        for (size_t j = s->c->off[doc]; j < s->c->off[doc + 1]; j++) {
            int32_t id = s->c->ids[j];
            if (s->keep && s->keep[id] < rng_uniform(&r)) continue;
            buf[n++] = id;
        }
        draw_pass(&r, s->alias, s->c->V, nneg, buf, n, negs, low);
        for (size_t j = 0; j < n; j++) {
            /* The rows of a later target and its negatives are fetched while this one
             * is worked on: with millions of targets most rows miss the cache. */
            if (j + PREFETCH < n) {
                prefetch_row(s->W + (size_t)buf[j + PREFETCH] * dim, rowb);
                for (int q = 0; q < nneg; q++) prefetch_row(s->W + (size_t)negs[(j + PREFETCH) * nneg + q] * dim, rowb);
            }
            float hn = norm(h, dim);
            if (!(hn > 0)) break;
            memset(gh, 0, rowb);
            float *lp = (j & 15) == 0 ? &loss : NULL;   /* the loss, on every 16th target */
            const int upd = o->unit ? 2 : 1;
            dvcos_pair(h, hn, s->W + (size_t)buf[j] * dim, dim, (float)o->scale, 1, lr, gh, upd, lp);
            for (int q = 0; q < nneg; q++) {
                int32_t neg = negs[j * nneg + q];
                if (neg != buf[j])
                    dvcos_pair(h, hn, s->W + (size_t)neg * dim, dim, (float)o->scale, 0, lr, gh, upd, lp);
            }
            step(h, gh, dim, o->unit);
            pairs += lp != NULL;
        }
    }
    s->loss[chunk] = loss;
    s->pairs[chunk] = pairs;
    size_t done = atomic_fetch_add(&s->done, d1 - d0) + (d1 - d0);
    if (thread == 0) imdb_progress_update(&s->pb, done);
}

/* The rows the head sees (n, dim): rows docs[i] of D (row i when docs is NULL), unit
 * length when normalize. */
static void head_rows(const float *D, const uint32_t *docs, size_t n, int dim, int normalize, float *x)
{
    for (size_t i = 0; i < n; i++) {
        const float *v = D + (size_t)(docs ? docs[i] : i) * dim;
        float s = 1;
        if (normalize) {
            float l = norm(v, dim);
            s = l > 0 ? 1 / l : 0;
        }
        for (int j = 0; j < dim; j++) x[i * dim + j] = v[j] * s;
    }
}

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* Accuracy and mean log loss of head m on xva (nva, dim: head rows of ctx->va). */
static void head_score(const train_ctx *ctx, const logreg *m, const float *xva, int dim, double *acc, double *ll)
{
    size_t right = 0;
    double l = 0;
    for (size_t i = 0; i < ctx->nva; i++) {
        double p = sigmoid(logreg_logit(m, xva + i * dim));
        int pos = ctx->docs->label[ctx->va[i]] == TOKIO_POS;
        right += (p >= 0.5) == pos;
        l -= log(fmax(pos ? p : 1 - p, 1e-15));
    }
    *acc = ctx->nva ? (double)right / (double)ctx->nva : NAN;
    *ll = ctx->nva ? l / (double)ctx->nva : NAN;
}

/* Head rows of the learned vectors of docs (n), malloc'd. */
static float *learned_rows(const float *D, const uint32_t *docs, size_t n, const dv_opts *o)
{
    float *x = imdb_xmalloc((n + 1) * (size_t)o->dim * sizeof *x);
    head_rows(D, docs, n, o->dim, o->normalize, x);
    return x;
}

/* ---- The model as loaded (also built in memory at the end of training) ---- */

typedef struct dv_model {
    int dim, ngrams, negative, infer_epochs, normalize, unit;
    float scale, infer_lr;
    uint64_t V, seed, ndocs;
    feat_table keys;                 /* n-gram hash -> target id */
    const int8_t *q;                 /* (V, dim) unit target vectors, quantized */
    const float *qs;                 /* (V) their scales: v = q * qs */
    const dv_alias *alias;           /* (V) negatives */
    const double *head;              /* (dim + 1): weights, bias */
    const uint64_t *dkeys;           /* (ndocs) sorted document keys */
    const float *dvec;               /* (ndocs, dim) their learned vectors */
} dv_model;

/* Infer the vector of a document given as target ids (ids unchanged). work: dim floats
 * for the gradient, dim for a dequantized target, n for the order. */
static inline void dequantize(const dv_model *m, int32_t id, float *v)
{
    const int8_t *row = m->q + (size_t)id * m->dim;
    float sc = m->qs[id];
    int i = 0;
    for (; i + 8 <= m->dim; i += 8)
        for (int k = 0; k < 8; k++) v[i + k] = (float)row[i + k] * sc;
    for (; i < m->dim; i++) v[i] = (float)row[i] * sc;
}

DV_CLONES
static void dv_infer(const dv_model *m, const int32_t *ids, size_t n, float *h, float *work)
{
    const int dim = m->dim, nneg = m->negative;
    float *gh = work, *v = work + dim;
    int32_t *buf = (int32_t *)(work + 2 * dim), *negs = buf + n;
    uint32_t *low = (uint32_t *)(negs + n * (size_t)nneg);
    rng r;
    rng_seed(&r, m->seed);
    for (int i = 0; i < dim; i++) h[i] = (float)((rng_uniform(&r) - 0.5) / dim);
    if (m->unit) unit_row(h, dim);
    if (n == 0) return;
    memcpy(buf, ids, n * sizeof *buf);
    for (int ep = 0; ep < m->infer_epochs; ep++) {
        float lr = m->infer_lr * (float)(1 - (double)ep / m->infer_epochs);
        draw_pass(&r, m->alias, m->V, nneg, buf, n, negs, low);
        for (size_t j = 0; j < n; j++) {
            if (j + PREFETCH < n)
                for (int q = -1; q < nneg; q++) {
                    int32_t id = q < 0 ? buf[j + PREFETCH] : negs[(j + PREFETCH) * nneg + q];
                    prefetch_row(m->q + (size_t)id * dim, (size_t)dim);
                    __builtin_prefetch(m->qs + id, 0, 0);
                }
            float hn = norm(h, dim);
            if (!(hn > 0)) break;
            memset(gh, 0, (size_t)dim * sizeof *gh);
            for (int q = -1; q < nneg; q++) {
                int32_t id = q < 0 ? buf[j] : negs[j * nneg + q];
                if (q >= 0 && id == buf[j]) continue;
                dequantize(m, id, v);
                dvcos_pair(h, hn, v, dim, m->scale, q < 0, lr, gh, 0, NULL);
            }
            step(h, gh, dim, m->unit);
        }
    }
}

/* Target ids of a document's known n-grams; returns how many (<= ntok * ngrams). */
static size_t dv_ids(const dv_model *m, const char *const *toks, size_t ntok, uint64_t *th, uint64_t *ng,
                     int32_t *ids)
{
    size_t k = doc_ngrams(toks, ntok, m->ngrams, th, ng), n = 0;
    for (size_t j = 0; j < k; j++) {
        int32_t id = feat_table_get(&m->keys, ng[j]);
        if (id >= 0) ids[n++] = id;
    }
    return n;
}

static const float *dv_lookup(const dv_model *m, uint64_t key)
{
    size_t lo = 0, hi = m->ndocs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->dkeys[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo < m->ndocs && m->dkeys[lo] == key ? m->dvec + lo * (size_t)m->dim : NULL;
}

static double dv_head(const dv_model *m, const float *h)
{
    float l = m->normalize ? norm(h, m->dim) : 1;
    double z = m->head[m->dim];
    if (l > 0)
        for (int i = 0; i < m->dim; i++) z += m->head[i] * (h[i] / l);
    return sigmoid(z);
}

/* P(pos) of one document: its learned vector if the corpus had it, else inferred. */
static double dv_prob(const dv_model *m, const char *const *toks, size_t ntok, int allow_lookup)
{
    const float *known = allow_lookup && m->ndocs ? dv_lookup(m, doc_key(toks, ntok)) : NULL;
    if (known) return dv_head(m, known);
    size_t k = ntok * (size_t)m->ngrams + 1;
    uint64_t *th = malloc((ntok + 1) * sizeof *th), *ng = malloc(k * sizeof *ng);
    int32_t *ids = malloc(k * sizeof *ids);
    float *h = malloc((size_t)m->dim * sizeof *h);
    float *work = malloc(scratch_words(m->dim, k, m->negative) * sizeof *work);
    double p = NAN;   /* out of memory: clf.h's convention (malloc set errno) */
    if (th && ng && ids && h && work) {
        size_t n = dv_ids(m, toks, ntok, th, ng, ids);
        dv_infer(m, ids, n, h, work);
        p = dv_head(m, h);
    } else {
        errno = ENOMEM;
    }
    free(th); free(ng); free(ids); free(h); free(work);
    return p;
}

/* ---- Writing the model ---- */

/* Unit target vectors quantized to int8 with one scale per row. */
static void quantize(const float *W, uint64_t V, int dim, int8_t *q, float *qs)
{
    for (uint64_t t = 0; t < V; t++) {
        const float *v = W + t * dim;
        float l = norm(v, dim), mx = 0;
        for (int i = 0; i < dim; i++) mx = fmaxf(mx, fabsf(v[i]));
        float sc = l > 0 && mx > 0 ? mx / l / 127 : 0;
        qs[t] = sc;
        for (int i = 0; i < dim; i++) q[t * dim + i] = sc > 0 ? (int8_t)lrintf(v[i] / l / sc) : 0;
    }
}

typedef struct infer_job {
    const dv_model *m;
    const corpus *c;
    const uint32_t *docs;    /* (n) corpus documents */
    size_t n;
    float *out;              /* (n, dim) */
    float **work;
    _Atomic size_t done;
    imdb_progress pb;
} infer_job;

static void infer_chunk(void *arg, int thread, size_t chunk)
{
    infer_job *j = arg;
    size_t d0 = chunk * CHUNK_DOCS, d1 = d0 + CHUNK_DOCS < j->n ? d0 + CHUNK_DOCS : j->n;
    for (size_t i = d0; i < d1; i++) {
        uint32_t doc = j->docs[i];
        const int32_t *ids = j->c->ids + j->c->off[doc];
        dv_infer(j->m, ids, j->c->off[doc + 1] - j->c->off[doc], j->out + i * j->m->dim, j->work[thread]);
    }
    size_t done = atomic_fetch_add(&j->done, d1 - d0) + (d1 - d0);
    if (thread == 0) imdb_progress_update(&j->pb, done);
}

/* Head rows of the inferred vectors of docs (n), malloc'd, as imdb-predict would infer
 * them (same model, same per-text seed), on threads; *secs: the wall time. */
static float *inferred_rows(const dv_model *m, const corpus *c, const uint32_t *docs, size_t n, int threads,
                            size_t maxdoc, const char *what, const dv_opts *o, const imdb_log *lg, double *secs)
{
    float *inf = imdb_xmalloc((n + 1) * (size_t)o->dim * sizeof *inf);
    infer_job j = { .m = m, .c = c, .docs = docs, .n = n, .out = inf };
    j.work = imdb_xmalloc((size_t)threads * sizeof *j.work);
    for (int t = 0; t < threads; t++) j.work[t] = imdb_xmalloc(scratch_words(o->dim, maxdoc, o->negative) * sizeof(float));
    j.pb = imdb_progress_begin(lg, what, n, "docs");
    double t1 = imdb_now();
    pool_for(threads, (n + CHUNK_DOCS - 1) / CHUNK_DOCS, infer_chunk, &j);
    imdb_progress_end(&j.pb);
    *secs = imdb_now() - t1;
    for (int t = 0; t < threads; t++) free(j.work[t]);
    free(j.work);
    head_rows(inf, NULL, n, o->dim, o->normalize, inf);
    return inf;
}

typedef struct dkey { uint64_t key; uint32_t doc; } dkey;
static int cmp_dkey(const void *a, const void *b)
{
    const dkey *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key ? 1 : x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Held-out P(pos) of each of n rows: K seeded folds, the head fitted K times on the
 * other folds. */
static int cross_fit(const float *x, const int *y, size_t n, int dim, int K, double lambda, uint64_t seed,
                     double *prob, imdb_err *e)
{
    uint32_t *perm = imdb_xmalloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    rng fr;
    rng_split(&fr, seed, 0xf01d);
    rng_shuffle_u32(&fr, perm, n);
    float *xf = imdb_xmalloc(n * (size_t)dim * sizeof *xf);
    int *yf = imdb_xmalloc(n * sizeof *yf), rc = 0;
    for (int f = 0; f < K && rc == 0; f++) {
        size_t nf = 0;
        for (size_t i = 0; i < n; i++)
            if ((int)(i % (size_t)K) != f) {
                memcpy(xf + nf * dim, x + (size_t)perm[i] * dim, (size_t)dim * sizeof *xf);
                yf[nf++] = y[perm[i]];
            }
        logreg fm;
        if (logreg_fit(&fm, xf, yf, nf, (size_t)dim, lambda, e) < 0) rc = -1;
        else
            for (size_t i = f; i < n; i += (size_t)K)
                prob[perm[i]] = sigmoid(logreg_logit(&fm, x + (size_t)perm[i] * dim));
        logreg_free(&fm);
    }
    free(perm); free(xf); free(yf);
    return rc;
}

/* The learned vectors of the corpus documents keyed by their token sequence, sorted by
 * key (a repeated text keeps its first document's vector); the validation part is left
 * out with valid_unseen (never learned), and every document with inductive (whose head
 * expects inferred vectors). Returns how many. */
static size_t doc_table(const train_ctx *ctx, const corpus *c, const dv_opts *o, const float *D,
                        uint64_t **keys_out, float **dvec_out)
{
    const int dim = o->dim;
    char *skip = imdb_xcalloc(c->n + 1, 1);
    if (o->valid_unseen)
        for (size_t i = 0; i < ctx->nva; i++) skip[ctx->va[i]] = 1;
    dkey *dk = imdb_xmalloc((c->n + 1) * sizeof *dk);
    size_t nd = 0;
    for (size_t i = 0; i < c->n && !o->inductive; i++)
        if (!skip[i]) {
            size_t nt;
            const char *const *t = doc_toks(ctx, i, &nt);
            dk[nd].key = doc_key(t, nt);
            dk[nd++].doc = (uint32_t)i;
        }
    free(skip);
    qsort(dk, nd, sizeof *dk, cmp_dkey);
    size_t u = 0;
    for (size_t i = 0; i < nd; i++)
        if (u == 0 || dk[i].key != dk[u - 1].key) dk[u++] = dk[i];
    uint64_t *keys = imdb_xmalloc((u + 1) * sizeof *keys);
    float *dvec = imdb_xmalloc((u + 1) * (size_t)dim * sizeof *dvec);
    for (size_t i = 0; i < u; i++) {
        keys[i] = dk[i].key;
        memcpy(dvec + i * dim, D + (size_t)dk[i].doc * dim, (size_t)dim * sizeof *dvec);
    }
    free(dk);
    *keys_out = keys;
    *dvec_out = dvec;
    return u;
}

static void put_hdr(unsigned char *p, const dv_model *m)
{
    memset(p, 0, HDR_SIZE);
    put_u32le(p, (uint32_t)m->dim);
    put_u32le(p + 4, (uint32_t)m->ngrams);
    put_u32le(p + 8, (uint32_t)m->negative);
    put_u32le(p + 12, (uint32_t)m->infer_epochs);
    put_u32le(p + 16, (uint32_t)m->normalize);
    memcpy(p + 20, &m->scale, 4);
    memcpy(p + 24, &m->infer_lr, 4);
    put_u32le(p + 28, (uint32_t)m->unit);
    put_u64le(p + 32, m->V);
    put_u64le(p + 40, m->seed);
    put_u64le(p + 48, m->ndocs);
    put_u64le(p + 56, m->keys.cap);
}

static int dvcos_run(train_ctx *ctx, modelio_writer *w, imdb_err *e)
{
    dv_opts o;
    if (read_opts(ctx->cfg, &o, e) < 0) return -1;
    if (ctx->unlab->n == 0)
        return imdb_fail(e, IMDB_EXIT_DATA, "dvcos: the unlabelled pool is empty: give --unlabelled FILE with at "
                         "least one document (e.g. from imdb-clean --split unsup)");
    corpus c;
    double t0 = imdb_now();
    corpus_build(ctx, &o, &c);
    if (c.V == 0) {
        corpus_free(&c);
        return imdb_fail(e, IMDB_EXIT_DATA, "dvcos: no n-gram occurs min_count = %ld times in the corpus", o.min_count);
    }
    imdb_logf(ctx->logger, IMDB_LOG_INFO, "dvcos: %zu documents, %llu targets seen >= %ld times, %zu occurrences "
              "(%.1f s)", c.n,
                (unsigned long long)c.V, o.min_count, c.off[c.n], imdb_now() - t0);
    trainer_state s = { .o = &o, .c = &c, .seed = ctx->seed };
    const int dim = o.dim;
    rng r;
    rng_seed(&r, ctx->seed);
    s.W = big_floats(c.V * (size_t)dim);
    s.D = big_floats(c.n * (size_t)dim);
    for (size_t i = 0; i < c.V * (size_t)dim; i++) s.W[i] = (float)((rng_uniform(&r) - 0.5) / dim);
    for (size_t i = 0; i < c.n * (size_t)dim; i++) s.D[i] = (float)((rng_uniform(&r) - 0.5) / dim);
    if (o.unit) {
        for (uint64_t t = 0; t < c.V; t++) unit_row(s.W + t * dim, dim);
        for (size_t i = 0; i < c.n; i++) unit_row(s.D + i * dim, dim);
    }
    double *p = imdb_xmalloc(c.V * sizeof *p), total = 0;
    for (uint64_t t = 0; t < c.V; t++) { p[t] = pow((double)c.count[t], o.neg_power); total += (double)c.count[t]; }
    s.alias = imdb_xmalloc(c.V * sizeof *s.alias);
    alias_build(p, c.V, s.alias);
    free(p);
    if (o.sample > 0) {   /* word2vec's rule */
        s.keep = imdb_xmalloc(c.V * sizeof *s.keep);
        for (uint64_t t = 0; t < c.V; t++) {
            double f = (double)c.count[t] / (o.sample * total);
            s.keep[t] = (float)fmin(1, (sqrt(f) + 1) / f);
        }
    }
    /* Documents of each epoch: all, less the validation part when valid_unseen. */
    char *skip = imdb_xcalloc(c.n + 1, 1);
    if (o.valid_unseen)
        for (size_t i = 0; i < ctx->nva; i++) skip[ctx->va[i]] = 1;
    s.order = imdb_xmalloc((c.n + 1) * sizeof *s.order);
    for (size_t i = 0; i < c.n; i++)
        if (!skip[i]) s.order[s.norder++] = (uint32_t)i;
    free(skip);
    s.nchunks = (s.norder + CHUNK_DOCS - 1) / CHUNK_DOCS;
    size_t maxdoc = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.off[i + 1] - c.off[i] > maxdoc) maxdoc = c.off[i + 1] - c.off[i];
    s.scratch = imdb_xmalloc((size_t)ctx->threads * sizeof *s.scratch);
    s.maxdoc = maxdoc;
    for (int t = 0; t < ctx->threads; t++) s.scratch[t] = imdb_xmalloc(scratch_words(dim, maxdoc, o.negative) * sizeof(float));
    s.loss = imdb_xmalloc((s.nchunks + 1) * sizeof *s.loss);
    s.pairs = imdb_xmalloc((s.nchunks + 1) * sizeof *s.pairs);
    int *y = imdb_xmalloc((ctx->ntr + 1) * sizeof *y);   /* the training part's labels */
    for (size_t i = 0; i < ctx->ntr; i++) y[i] = ctx->docs->label[ctx->tr[i]] == TOKIO_POS;
    int rc = 0;
    for (s.epoch = 0; s.epoch < o.epochs && rc == 0; s.epoch++) {
        rng er;
        rng_split(&er, ctx->seed, 0x5eed0000u + (uint64_t)s.epoch);
        rng_shuffle_u32(&er, s.order, s.norder);
        atomic_store(&s.done, 0);
        s.pb = imdb_progress_begin(ctx->logger, "dvcos: epoch", s.norder, "docs");
        pool_for(ctx->threads, s.nchunks, train_chunk, &s);
        imdb_progress_end(&s.pb);
        double loss = 0;
        uint64_t pairs = 0;
        for (size_t k = 0; k < s.nchunks; k++) { loss += s.loss[k]; pairs += s.pairs[k]; }
        double tl = pairs ? loss / (double)pairs : NAN, acc = NAN, vl = NAN;
        if (!isfinite(tl)) { rc = imdb_fail(e, IMDB_EXIT_INTERNAL, "dvcos: the loss is not finite at epoch %d; lower lr", s.epoch + 1); break; }
        /* The validation part's learned vectors (none with valid_unseen: inferred at the end). */
        if (ctx->nva && !o.valid_unseen) {
            float *xtr = learned_rows(s.D, ctx->tr, ctx->ntr, &o), *xva = learned_rows(s.D, ctx->va, ctx->nva, &o);
            logreg hm;
            int hr = logreg_fit(&hm, xtr, y, ctx->ntr, (size_t)dim, o.head_lambda, e);
            if (hr == 0) head_score(ctx, &hm, xva, dim, &acc, &vl);
            logreg_free(&hm);
            free(xtr); free(xva);
            if (hr < 0) { rc = -1; break; }
        }
        if (trainlog_epoch(ctx->log, s.epoch + 1, o.epochs, tl, vl, acc, e) < 0) { rc = -1; break; }
    }
    for (int t = 0; t < ctx->threads; t++) free(s.scratch[t]);
    free(s.scratch); free(s.loss); free(s.pairs); free(s.order); free(s.keep);
    if (rc < 0) goto done;

    /* The model: quantized unit target vectors, negatives, the learned vectors of the
     * documents in the corpus (labelled ones too), and the head. */
    dv_model m = { .dim = dim, .ngrams = o.ngrams, .negative = o.negative, .infer_epochs = o.infer_epochs,
                   .normalize = o.normalize, .unit = o.unit, .scale = (float)o.scale, .infer_lr = (float)o.infer_lr,
                   .V = c.V, .seed = ctx->seed, .keys = c.keys, .alias = s.alias };
    int8_t *q = imdb_xmalloc(c.V * (size_t)dim);
    float *qs = imdb_xmalloc(c.V * sizeof *qs);
    quantize(s.W, c.V, dim, q, qs);
    m.q = q;
    m.qs = qs;
    /* The head's rows: the training part's learned vectors, or with inductive = 1 the
     * vectors imdb-predict would infer for them, so that the head sees at training what
     * it will see at prediction. */
    double secs;
    float *x = o.inductive ? inferred_rows(&m, &c, ctx->tr, ctx->ntr, ctx->threads, maxdoc,
                                           "dvcos: inferring training vectors", &o, ctx->logger, &secs)
                           : learned_rows(s.D, ctx->tr, ctx->ntr, &o);
    /* The head on every training-part document. */
    logreg head;
    if (logreg_fit(&head, x, y, ctx->ntr, (size_t)dim, o.head_lambda, e) < 0) rc = -1;
    /* The inductive estimate (validation vectors inferred), only to report it. */
    if (rc == 0 && ctx->nva && imdb_log_on(ctx->logger, IMDB_LOG_INFO)) {
        float *inf = inferred_rows(&m, &c, ctx->va, ctx->nva, ctx->threads, maxdoc,
                                   "dvcos: inferring validation vectors", &o, ctx->logger, &secs);
        /* acc_i: the head on inferred validation vectors; acc_l: a head fitted on learned
         * training vectors (the head itself unless inductive) on learned validation
         * vectors, and acc_h on inferred ones (reported with inductive only). */
        double acc_l = NAN, acc_i, acc_h = NAN, ll;
        head_score(ctx, &head, inf, dim, &acc_i, &ll);
        float *xl = o.valid_unseen ? NULL : learned_rows(s.D, ctx->va, ctx->nva, &o);
        logreg lhead = { 0 };
        const logreg *hl = &head;
        if (o.inductive) {
            float *xtr = learned_rows(s.D, ctx->tr, ctx->ntr, &o);
            if (logreg_fit(&lhead, xtr, y, ctx->ntr, (size_t)dim, o.head_lambda, e) < 0) rc = -1;
            hl = &lhead;
            free(xtr);
        }
        if (rc == 0) {
            char more[160] = "";
            if (xl) head_score(ctx, hl, xl, dim, &acc_l, &ll);
            if (o.inductive) {
                head_score(ctx, hl, inf, dim, &acc_h, &ll);
                snprintf(more, sizeof more, "; head fitted on inferred training vectors (on learned ones: %.4f)", acc_h);
            }
            if (xl)
                imdb_logf(ctx->logger, IMDB_LOG_INFO, "dvcos: validation accuracy %.4f with learned vectors, "
                          "%.4f with inferred ones (%.2f ms a document)%s", acc_l, acc_i,
                          1000 * secs * ctx->threads / (double)ctx->nva, more);
            else
                imdb_logf(ctx->logger, IMDB_LOG_INFO, "dvcos: validation accuracy %.4f with inferred vectors of "
                          "unseen documents (%.2f ms a document)%s", acc_i,
                          1000 * secs * ctx->threads / (double)ctx->nva, more);
        }
        logreg_free(&lhead);
        free(xl);
        free(inf);
    }
    /* Its weights for the model; held-out predictions by cross-fitting. */
    double *hw = imdb_xmalloc(((size_t)dim + 1) * sizeof *hw);
    if (rc == 0) {
        memcpy(hw, head.w, (size_t)dim * sizeof *hw);
        hw[dim] = head.b;
    }
    logreg_free(&head);
    double *prob = NULL;
    if (rc == 0 && o.heldout_folds > 0 && ctx->ntr >= (size_t)o.heldout_folds) {
        prob = imdb_xmalloc(ctx->ntr * sizeof *prob);
        if (cross_fit(x, y, ctx->ntr, dim, o.heldout_folds, o.head_lambda, ctx->seed, prob, e) < 0) rc = -1;
    }
    free(x);
    uint64_t *keys;
    float *dvec;
    size_t nd = doc_table(ctx, &c, &o, s.D, &keys, &dvec);
    m.ndocs = nd;
    unsigned char hdr[HDR_SIZE];
    put_hdr(hdr, &m);
    if (rc == 0 &&
        (modelio_add(w, "dv.hdr", hdr, HDR_SIZE, e) < 0 ||
         modelio_add(w, "dv.keys", c.keys.keys, c.keys.cap * sizeof *c.keys.keys, e) < 0 ||
         modelio_add(w, "dv.vals", c.keys.vals, c.keys.cap * sizeof *c.keys.vals, e) < 0 ||
         modelio_add(w, "dv.q", q, c.V * (size_t)dim, e) < 0 ||
         modelio_add(w, "dv.qs", qs, c.V * sizeof *qs, e) < 0 ||
         modelio_add(w, "dv.alias", s.alias, c.V * sizeof *s.alias, e) < 0 ||
         modelio_add(w, "dv.head", hw, ((size_t)dim + 1) * sizeof *hw, e) < 0 ||
         modelio_add(w, "dv.dkeys", keys, nd * sizeof *keys, e) < 0 ||
         modelio_add(w, "dv.dvec", dvec, nd * (size_t)dim * sizeof *dvec, e) < 0))
        rc = -1;
    if (rc == 0 && prob && heldout_add(w, ctx->docs, ctx->tr, prob, ctx->ntr, e) < 0) rc = -1;
    free(prob); free(keys); free(dvec); free(q); free(qs); free(hw);
done:
    free(y);
    free(s.W); free(s.D); free(s.alias);
    corpus_free(&c);
    return rc;
}

/* ---- Loading ---- */

static const void *section(const modelio *mf, const char *name, size_t want, imdb_err *e)
{
    size_t size;
    const void *p = NULL;
    int r = modelio_find(mf, name, &p, &size, e);
    if (r < 0) return NULL;
    if (!r || size != want) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: dvcos section %s is %s", modelio_name(mf), name,
                  p ? "of the wrong size" : "missing");
        return NULL;
    }
    return p;
}

static void *dv_load(const modelio *mf, imdb_err *e)
{
    size_t size;
    const void *hp = NULL;
    int r = modelio_find(mf, "dv.hdr", &hp, &size, e);
    if (r < 0) return NULL;
    const unsigned char *h = hp;
    if (!r || size != HDR_SIZE) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: dvcos header missing or of the wrong size", modelio_name(mf));
        return NULL;
    }
    dv_model *m = calloc(1, sizeof *m);
    if (!m) {
        imdb_fail(e, IMDB_EXIT_NOMEM, "%s: out of memory loading the model", modelio_name(mf));
        return NULL;
    }
    m->dim = (int)get_u32le(h);
    m->ngrams = (int)get_u32le(h + 4);
    m->negative = (int)get_u32le(h + 8);
    m->infer_epochs = (int)get_u32le(h + 12);
    m->normalize = (int)get_u32le(h + 16);
    memcpy(&m->scale, h + 20, 4);
    memcpy(&m->infer_lr, h + 24, 4);
    m->unit = (int)get_u32le(h + 28);
    m->V = get_u64le(h + 32);
    m->seed = get_u64le(h + 40);
    m->ndocs = get_u64le(h + 48);
    uint64_t cap = get_u64le(h + 56);
    if (m->dim < 1 || m->dim > 4096 || m->ngrams < 1 || m->ngrams > 8 || m->negative < 0 || m->negative > 100 ||
        m->infer_epochs < 1 || m->infer_epochs > 10000 || m->unit < 0 || m->unit > 1 ||
        !(m->scale > 0 && m->scale <= 100) || !(m->infer_lr > 0 && m->infer_lr <= 10) ||
        m->V == 0 || m->V > INT32_MAX || cap < m->V || (cap & (cap - 1)) || cap > (UINT64_C(1) << 40) ||
        m->ndocs > (UINT64_C(1) << 32)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: dvcos header has impossible values", modelio_name(mf));
        free(m);
        return NULL;
    }
    size_t V = m->V, dim = (size_t)m->dim;
    if (!(m->keys.keys = (uint64_t *)section(mf, "dv.keys", cap * 8, e)) ||
        !(m->keys.vals = (int32_t *)section(mf, "dv.vals", cap * 4, e)) ||
        !(m->q = section(mf, "dv.q", V * dim, e)) || !(m->qs = section(mf, "dv.qs", V * 4, e)) ||
        !(m->alias = section(mf, "dv.alias", V * sizeof *m->alias, e)) ||
        !(m->head = section(mf, "dv.head", (dim + 1) * 8, e)) ||
        !(m->dkeys = section(mf, "dv.dkeys", m->ndocs * 8, e)) ||
        !(m->dvec = section(mf, "dv.dvec", m->ndocs * dim * 4, e))) {
        free(m);
        return NULL;
    }
    m->keys.cap = cap;
    m->keys.n = V;
    m->keys.owned = 0;
    /* Every value the hot loops index with must be in range. */
    for (size_t i = 0; i < V; i++)
        if (m->alias[i].alias < 0 || (uint64_t)m->alias[i].alias >= V || !isfinite(m->qs[i])) goto bad;
    for (size_t i = 0; i <= dim; i++)
        if (!isfinite(m->head[i])) goto bad;
    for (uint64_t i = 0; i < cap; i++)
        if (m->keys.keys[i] && (m->keys.vals[i] < 0 || (uint64_t)m->keys.vals[i] >= V)) goto bad;
    return m;
bad:
    imdb_fail(e, IMDB_EXIT_DATA, "%s: dvcos tables hold out-of-range ids or non-finite numbers", modelio_name(mf));
    free(m);
    return NULL;
}

static void dv_free(void *state) { free(state); }

static double dvcos_prob(const void *state, const char *const *toks, size_t ntok)
{
    return dv_prob(state, toks, ntok, 1);
}

/* 1 when the token sequence has a learned vector (transductive training kept it). */
static int dvcos_known(const void *state, const char *const *toks, size_t ntok)
{
    const dv_model *m = state;
    return m->ndocs && dv_lookup(m, doc_key(toks, ntok)) != NULL;
}

const clf_ops dvcos_clf_ops = { "dvcos", dv_load, dv_free, dvcos_prob, NULL, dvcos_known, NULL };

const trainer dvcos_trainer = {
    "dvcos", dvcos_keys,
    "document vectors trained with cosine similarity (PV-DBOW over n-grams), logistic head",
    dvcos_run, 0, 0, 0, 0, 0
};
