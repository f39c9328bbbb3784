/* w2v.c — see w2v.h. The structure is word2vec.c's (TrainModelThread, InitUnigramTable,
 * the sigmoid table), with the corpus held in memory as word ids instead of being re-read
 * from a file, documents as sentences, and the program's own seeded generators. */
#include "w2v.h"
#include "embfile.h"
#include "rng.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXP_TABLE_SIZE 1000
#define MAX_EXP 6
#define LR_EVERY 10000   /* words between learning-rate updates, as word2vec.c */

void w2v_opts_default(w2v_opts *o)
{
    *o = (w2v_opts){ .dim = 100, .window = 5, .negative = 5, .min_count = 5, .sample = 1e-3,
                     .alpha = 0.025, .epochs = 5, .threads = 1, .seed = 1 };
}

void w2v_model_free(w2v_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nwords; i++) free(m->word[i]);
    free(m->word);
    free(m->count);
    free(m->vec);
    memset(m, 0, sizeof *m);
}

/* ---- Vocabulary: an open-addressing table of the distinct tokens ---- */

typedef struct vent {
    const char *w;      /* points into a corpus arena */
    uint64_t count;
    int32_t id;         /* index in the kept vocabulary, or -1 */
} vent;

typedef struct vtab {
    vent *e;
    size_t cap, n;      /* cap is a power of 2 */
} vtab;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static vent *vtab_find(vtab *t, const char *w, int insert)
{
    if (insert && 2 * (t->n + 1) > t->cap) {
        vtab old = *t;
        t->cap = old.cap ? old.cap * 2 : 1 << 16;
        t->e = imdb_xcalloc(t->cap, sizeof *t->e);
        for (size_t i = 0; i < old.cap; i++) {
            if (!old.e[i].w) continue;
            size_t h = (size_t)hash_str(old.e[i].w) & (t->cap - 1);
            while (t->e[h].w) h = (h + 1) & (t->cap - 1);
            t->e[h] = old.e[i];
        }
        free(old.e);
    }
    if (!t->cap) return NULL;
    size_t h = (size_t)hash_str(w) & (t->cap - 1);
    for (; t->e[h].w; h = (h + 1) & (t->cap - 1))
        if (strcmp(t->e[h].w, w) == 0) return &t->e[h];
    if (!insert) return NULL;
    t->e[h] = (vent){ .w = w, .count = 0, .id = -1 };
    t->n++;
    return &t->e[h];
}

/* Decreasing count, then byte order: the order of word2vec.c's SortVocab, made total. */
static int cmp_vent(const void *a, const void *b)
{
    const vent *x = *(const vent *const *)a, *y = *(const vent *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->w, y->w);
}

/* The corpus as word ids: document i is ids[off[i] .. off[i+1]). */
typedef struct w2v_corpus {
    int32_t *ids;
    size_t *off;
    size_t ndocs;
} w2v_corpus;

static int build_corpus(const w2v_opts *o, const train_docs *const *corpora, int nc, w2v_model *m,
                        w2v_corpus *c, imdb_err *e)
{
    vtab t = { 0 };
    size_t ndocs = 0;
    for (int k = 0; k < nc; k++) {
        const train_docs *d = corpora[k];
        if (!d || d->n == 0) continue;
        ndocs += d->n;
        for (size_t i = 0; i < d->off[d->n]; i++) vtab_find(&t, d->tok[i], 1)->count++;
    }
    vent **keep = imdb_xmalloc((t.n ? t.n : 1) * sizeof *keep);
    size_t nkeep = 0;
    for (size_t i = 0; i < t.cap; i++)
        if (t.e[i].w && t.e[i].count >= (uint64_t)o->min_count) keep[nkeep++] = &t.e[i];
    if (nkeep == 0) {
        free(keep);
        free(t.e);
        return imdb_fail(e, IMDB_EXIT_DATA, "no word occurs %ld times in the %zu documents "
                         "(lower min_count or give more text)", o->min_count, ndocs);
    }
    qsort(keep, nkeep, sizeof *keep, cmp_vent);
    m->nwords = nkeep;
    m->dim = o->dim;
    m->word = imdb_xmalloc(nkeep * sizeof *m->word);
    m->count = imdb_xmalloc(nkeep * sizeof *m->count);
    uint64_t ntok = 0;
    for (size_t i = 0; i < nkeep; i++) {
        keep[i]->id = (int32_t)i;
        m->word[i] = imdb_xstrdup(keep[i]->w);
        m->count[i] = keep[i]->count;
        ntok += keep[i]->count;
    }
    free(keep);
    c->ids = imdb_xmalloc((ntok ? ntok : 1) * sizeof *c->ids);
    c->off = imdb_xmalloc((ndocs + 1) * sizeof *c->off);
    c->ndocs = 0;
    size_t pos = 0;
    c->off[0] = 0;
    for (int k = 0; k < nc; k++) {
        const train_docs *d = corpora[k];
        if (!d) continue;
        for (size_t i = 0; i < d->n; i++) {
            for (size_t j = d->off[i]; j < d->off[i + 1]; j++) {
                int32_t id = vtab_find(&t, d->tok[j], 0)->id;
                if (id >= 0) c->ids[pos++] = id;
            }
            c->off[++c->ndocs] = pos;
        }
    }
    free(t.e);
    return 0;
}

/* ---- Training ---- */

typedef struct shared {
    const w2v_opts *o;
    int dim;
    uint64_t nwords;
    float *syn0, *syn1;          /* (V, dim): input vectors, output vectors */
    const w2v_corpus *c;
    uint32_t *cut;               /* (V) the unigram^0.75 distribution as an alias table: */
    int32_t *alias;              /* (V) slot i gives i when 32 random bits < cut[i], else alias[i] */
    float *keep;                 /* (V) probability of keeping an occurrence, or NULL */
    float sig[EXP_TABLE_SIZE + 1];     /* sigmoid on [-MAX_EXP, MAX_EXP] */
    float nlsig[EXP_TABLE_SIZE + 1];   /* -log sigmoid on the same grid */
    uint64_t total;              /* epochs * tokens + 1, for the learning rate */
    _Atomic uint64_t done;       /* tokens processed so far, all threads and epochs */
    imdb_progress pb;
} shared;

typedef struct worker {
    shared *s;
    int t;
    size_t d0, d1;               /* documents [d0, d1) */
    rng r;
    int32_t *sen;                /* the current document after subsampling */
    float *neu1e;                /* (dim) gradient for the context word's input vector */
    double loss;
    uint64_t pairs;
} worker;

/* Fixed-order partial sums: the same result every run, and the compiler can vectorize. */
static inline float dot(const float *restrict a, const float *restrict b, int n)
{
    float s[8] = { 0 };
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += a[i + k] * b[i + k];
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

/* y += g x, in blocks of 8 that the compiler turns into vector operations at -O2. */
static inline void axpy(float g, const float *restrict x, float *restrict y, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) y[i + k] += g * x[i + k];
    for (; i < n; i++) y[i] += g * x[i];
}

/* The table slot of f in [-MAX_EXP, MAX_EXP]. (word2vec.c computes the scale in integer
 * arithmetic, 1000 / 6 / 2 = 83, slightly off its table's 83.3 slots per unit.) */
static int grid(float f) { return (int)((f + MAX_EXP) * (EXP_TABLE_SIZE / (2.0f * MAX_EXP))); }

static double learning_rate(const shared *s)
{
    double a = s->o->alpha * (1 - (double)atomic_load_explicit(&s->done, memory_order_relaxed) / (double)s->total);
    return a < s->o->alpha * 1e-4 ? s->o->alpha * 1e-4 : a;
}

/* One epoch over the worker's documents: word2vec.c's TrainModelThread for skip-gram
 * with negative sampling. */
static void *work(void *arg)
{
    worker *w = arg;
    shared *s = w->s;
    const w2v_corpus *c = s->c;
    const int dim = s->dim, window = s->o->window, negative = s->o->negative;
    uint64_t unreported = 0;
    float alpha = (float)learning_rate(s);
    for (size_t d = w->d0; d < w->d1; d++) {
        if (unreported >= LR_EVERY) {
            atomic_fetch_add_explicit(&s->done, unreported, memory_order_relaxed);
            unreported = 0;
            alpha = (float)learning_rate(s);
            if (w->t == 0) imdb_progress_update(&s->pb, atomic_load_explicit(&s->done, memory_order_relaxed));
        }
        int n = 0;
        for (size_t i = c->off[d]; i < c->off[d + 1]; i++) {
            int32_t id = c->ids[i];
            unreported++;
            if (s->keep && s->keep[id] < rng_uniform(&w->r)) continue;
            w->sen[n++] = id;
        }
        for (int pos = 0; pos < n; pos++) {
            int32_t word = w->sen[pos];
            int b = (int)rng_below(&w->r, (uint32_t)window);
            for (int a = b; a < window * 2 + 1 - b; a++) {
                int ci = pos - window + a;
                if (a == window || ci < 0 || ci >= n) continue;
                float *l1 = s->syn0 + (size_t)w->sen[ci] * dim;
                memset(w->neu1e, 0, (size_t)dim * sizeof *w->neu1e);
                for (int k = 0; k <= negative; k++) {
                    int32_t target;
                    float label;
                    if (k == 0) {
                        target = word;
                        label = 1;
                    } else {
                        uint64_t u = rng_u64(&w->r);
                        int32_t slot = (int32_t)(((u >> 32) * (uint64_t)s->nwords) >> 32);
                        target = (uint32_t)u < s->cut[slot] ? slot : s->alias[slot];
                        if (target == word) continue;
                        label = 0;
                    }
                    float *l2 = s->syn1 + (size_t)target * dim;
                    float f = dot(l1, l2, dim), g;
                    if (isnan(f)) {          /* diverged: the epoch's loss reports it */
                        w->loss += f;
                        continue;
                    }
                    /* Loss -log s(f) for the context, -log s(-f) for a negative; outside
                     * the table it is ~0 on one side and ~|f| on the other. */
                    float z = label > 0 ? f : -f;
                    w->loss += z > MAX_EXP ? 0 : z < -MAX_EXP ? -z : s->nlsig[grid(z)];
                    if (f > MAX_EXP) g = (label - 1) * alpha;
                    else if (f < -MAX_EXP) g = label * alpha;
                    else g = (label - s->sig[grid(f)]) * alpha;
                    axpy(g, l2, w->neu1e, dim);
                    axpy(g, l1, l2, dim);
                }
                axpy(1, w->neu1e, l1, dim);
                w->pairs++;
            }
        }
    }
    atomic_fetch_add_explicit(&s->done, unreported, memory_order_relaxed);
    return NULL;
}

/* Negatives come from the unigram distribution raised to 3/4, as in word2vec.c. That
 * program spreads the words over a table of 1e8 slots in proportion to count^0.75; here
 * Walker's alias method gives the same distribution exactly from two arrays of V entries,
 * which stay in cache where a large table costs a memory miss per draw (the larger part of
 * the training time). Vose's construction, with the work lists in index order so the table
 * does not depend on anything but the counts. */
static void alias_table(const w2v_model *m, uint32_t *cut, int32_t *alias)
{
    size_t V = m->nwords, ns = 0, nl = 0;
    double z = 0, *p = imdb_xmalloc(V * sizeof *p);
    size_t *small = imdb_xmalloc(V * sizeof *small), *large = imdb_xmalloc(V * sizeof *large);
    for (size_t i = 0; i < V; i++) z += pow((double)m->count[i], 0.75);
    for (size_t i = 0; i < V; i++) {
        p[i] = pow((double)m->count[i], 0.75) / z * (double)V;   /* mean 1 */
        if (p[i] < 1) small[ns++] = i;
        else large[nl++] = i;
    }
    while (ns && nl) {
        size_t s = small[--ns], l = large[nl - 1];
        cut[s] = (uint32_t)fmin(p[s] * 4294967296.0, 4294967295.0);
        alias[s] = (int32_t)l;
        p[l] -= 1 - p[s];
        if (p[l] < 1) {
            nl--;
            small[ns++] = l;
        }
    }
    /* What is left has p = 1 up to rounding: always itself. */
    while (nl) { size_t l = large[--nl]; cut[l] = UINT32_MAX; alias[l] = (int32_t)l; }
    while (ns) { size_t q = small[--ns]; cut[q] = UINT32_MAX; alias[q] = (int32_t)q; }
    free(p);
    free(small);
    free(large);
}

int w2v_train(const w2v_opts *o, const train_docs *const *corpora, int ncorpora, w2v_model *m,
              w2v_epoch_fn cb, void *cb_arg, imdb_err *e)
{
    memset(m, 0, sizeof *m);
    w2v_corpus c = { 0 };
    if (build_corpus(o, corpora, ncorpora, m, &c, e) < 0) return -1;
    const size_t V = m->nwords;
    const int dim = o->dim;
    const uint64_t ntok = c.off[c.ndocs];
    int rc = 0;
    imdb_logf(o->log, IMDB_LOG_INFO, "word2vec: %zu documents, %llu tokens, %zu words seen at least %ld times",
              c.ndocs, (unsigned long long)ntok, V, o->min_count);

    shared s = { .o = o, .dim = dim, .c = &c, .total = (uint64_t)o->epochs * ntok + 1 };
    s.syn0 = imdb_xmalloc(V * (size_t)dim * sizeof *s.syn0);
    s.syn1 = imdb_xcalloc(V * (size_t)dim, sizeof *s.syn1);
    rng init;
    rng_split(&init, o->seed, 0);
    for (size_t i = 0; i < V * (size_t)dim; i++) s.syn0[i] = (float)((rng_uniform(&init) - 0.5) / dim);
    s.nwords = V;
    s.cut = imdb_xmalloc(V * sizeof *s.cut);
    s.alias = imdb_xmalloc(V * sizeof *s.alias);
    alias_table(m, s.cut, s.alias);
    if (o->sample > 0) {
        /* word2vec.c: keep an occurrence with probability (sqrt(f/t) + 1) * t/f, where f is
         * the word's count and t = sample * tokens. */
        s.keep = imdb_xmalloc(V * sizeof *s.keep);
        double t = o->sample * (double)ntok;
        for (size_t i = 0; i < V; i++) {
            double f = (double)m->count[i];
            s.keep[i] = (float)((sqrt(f / t) + 1) * t / f);
        }
    }
    for (int i = 0; i <= EXP_TABLE_SIZE; i++) {
        double x = (i / (double)EXP_TABLE_SIZE * 2 - 1) * MAX_EXP;
        s.sig[i] = (float)(1 / (1 + exp(-x)));
        s.nlsig[i] = (float)log1p(exp(-x));
    }
    atomic_init(&s.done, 0);

    /* Each thread takes a contiguous run of documents with about the same number of tokens. */
    int T = o->threads < 1 ? 1 : o->threads;
    if ((size_t)T > c.ndocs) T = c.ndocs ? (int)c.ndocs : 1;
    worker *ws = imdb_xcalloc((size_t)T, sizeof *ws);
    size_t maxlen = 1, d = 0;
    for (size_t i = 0; i < c.ndocs; i++)
        if (c.off[i + 1] - c.off[i] > maxlen) maxlen = c.off[i + 1] - c.off[i];
    for (int t = 0; t < T; t++) {
        ws[t].s = &s;
        ws[t].t = t;
        ws[t].d0 = d;
        uint64_t upto = ntok * (uint64_t)(t + 1) / (uint64_t)T;
        while (d < c.ndocs && (t == T - 1 || c.off[d + 1] <= upto)) d++;
        ws[t].d1 = d;
        rng_split(&ws[t].r, o->seed, (uint64_t)t + 1);
        ws[t].sen = imdb_xmalloc(maxlen * sizeof *ws[t].sen);
        ws[t].neu1e = imdb_xmalloc((size_t)dim * sizeof *ws[t].neu1e);
    }
    pthread_t *tid = imdb_xmalloc((size_t)T * sizeof *tid);
    s.pb = imdb_progress_begin(o->log, "word2vec", (uint64_t)o->epochs * ntok, "words");
    for (int ep = 1; ep <= o->epochs && rc == 0; ep++) {
        for (int t = 0; t < T; t++) ws[t].loss = 0, ws[t].pairs = 0;
        if (T == 1) {
            work(&ws[0]);
        } else {
            int started = 0;
            for (; started < T; started++)
                if (pthread_create(&tid[started], NULL, work, &ws[started]) != 0) break;
            for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
            if (started < T) {
                rc = imdb_fail(e, IMDB_EXIT_INTERNAL, "word2vec: cannot start %d threads", T);
                break;
            }
        }
        double loss = 0;
        uint64_t pairs = 0;
        for (int t = 0; t < T; t++) loss += ws[t].loss, pairs += ws[t].pairs;
        loss = pairs ? loss / (double)pairs : 0;
        if (!isfinite(loss)) {
            rc = imdb_fail(e, IMDB_EXIT_INTERNAL, "word2vec: the loss is not finite at epoch %d "
                           "(lower alpha)", ep);
            break;
        }
        if (cb && (rc = cb(cb_arg, ep, o->epochs, loss)) != 0) break;
    }
    imdb_progress_end(&s.pb);
    for (int t = 0; t < T; t++) free(ws[t].sen), free(ws[t].neu1e);
    free(ws);
    free(tid);
    free(s.syn1);
    free(s.cut);
    free(s.alias);
    free(s.keep);
    free(c.ids);
    free(c.off);
    if (rc != 0) {
        free(s.syn0);
        w2v_model_free(m);
        return rc;
    }
    m->vec = s.syn0;
    return 0;
}

/* ---- The imdb-train kind ---- */

static const char *const w2v_keys[] = { "dim", "window", "negative", "min_count", "sample", "alpha",
                                        "epochs", "binary", NULL };

typedef struct epoch_arg {
    trainlog *log;
    imdb_err *e;
} epoch_arg;

static int on_epoch(void *arg, int epoch, int epochs, double loss)
{
    epoch_arg *a = arg;
    return trainlog_epoch(a->log, epoch, epochs, loss, NAN, NAN, a->e) < 0 ? -1 : 0;
}

static int w2v_run(train_ctx *ctx, modelio_writer *w, imdb_err *e)
{
    (void)w;   /* NULL: this kind writes its own output */
    w2v_opts o;
    w2v_opts_default(&o);
    long dim, window, negative, epochs, binary;
    if (conf_long(ctx->cfg, "dim", o.dim, 1, 10000, &dim, e) < 0 ||
        conf_long(ctx->cfg, "window", o.window, 1, 100, &window, e) < 0 ||
        conf_long(ctx->cfg, "negative", o.negative, 1, 100, &negative, e) < 0 ||
        conf_long(ctx->cfg, "min_count", o.min_count, 1, 1000000000L, &o.min_count, e) < 0 ||
        conf_double(ctx->cfg, "sample", o.sample, 0, 1, &o.sample, e) < 0 ||
        conf_double(ctx->cfg, "alpha", o.alpha, 1e-6, 1, &o.alpha, e) < 0 ||
        conf_long(ctx->cfg, "epochs", o.epochs, 1, 1000, &epochs, e) < 0 ||
        conf_long(ctx->cfg, "binary", 0, 0, 1, &binary, e) < 0)
        return -1;
    o.dim = (int)dim;
    o.window = (int)window;
    o.negative = (int)negative;
    o.epochs = (int)epochs;
    o.threads = ctx->threads;
    o.seed = ctx->seed;
    o.log = ctx->logger;
    const train_docs *corpora[2] = { ctx->docs, ctx->unlab };
    w2v_model m;
    epoch_arg a = { ctx->log, e };
    if (w2v_train(&o, corpora, 2, &m, on_epoch, &a, e) != 0) return -1;
    int rc = embfile_write(ctx->output, m.nwords, m.dim, (const char *const *)m.word, m.vec, (int)binary, e);
    if (rc == 0)
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "word2vec: wrote %zu vectors of dimension %d to %s", m.nwords, m.dim,
                  strcmp(ctx->output, "-") == 0 ? "standard output" : ctx->output);
    w2v_model_free(&m);
    return rc;
}

const trainer w2v_trainer = {
    .kind = "word2vec",
    .keys = w2v_keys,
    /* The continuation lines line up under the first in imdb-train --help. */
    .summary = "word vectors by skip-gram with negative sampling (Mikolov et al.\n"
               "             2013), written to -O in word2vec format; settings: dim = 100,\n"
               "             window = 5, negative = 5, min_count = 5, sample = 0.001,\n"
               "             alpha = 0.025, epochs = 5, binary = 0 (1: binary format)",
    .train = w2v_run,
    .writes_output = 1,
};
