/* nn_train.c — the trainer shared by the neural kinds of nnmodel.h.
 *
 * Training follows the usual recipe (Goodfellow et al. 2016, ch. 8; the fastText and
 * Kim 2014 setups): words -> ids once, then per epoch a seeded shuffle, length buckets
 * (chunks of `bucket` batches sorted by length, so a batch pads little), the batch split
 * over threads by interleaving (thread t takes documents t, t+n, ... of the sorted
 * batch, so every part is still sorted and of similar cost), per-thread gradients added
 * into thread 0's in thread order, clipping by global norm, one optimizer step.
 * Everything random derives from the seed and the step number (dropout: one generator
 * per document of a step), so a run does not depend on timing, and a checkpoint (the
 * weights, the best weights, the optimizer moments, the shuffling generator, the step,
 * the early-stopping state) resumes it exactly. */
#include "nnmodel.h"
#include "blas.h"
#include "embfile.h"
#include "layers.h"
#include "optim.h"
#include "tokio.h"
#include "vocab.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- batches over threads -------------------------------------------------------- */

/* What every worker of a run reads. */
typedef struct corpus {
    const nnmodel *m;
    const int32_t *ids;       /* ids of every document */
    const int64_t *off;       /* (ndocs+1) */
    const float *y;           /* (ndocs) */
    const float *wt;          /* (ndocs) class weights' example weights, or NULL: none */
} corpus;

typedef struct worker {
    const corpus *c;
    const float *w;
    /* The job: documents docs[t], docs[t+nt], ... of docs[0..n). */
    const uint32_t *docs;
    int n, t, nt;
    float dropout, emb_dropout;
    uint64_t drop_seed;       /* 0: inference */
    double norm;
    /* Results. */
    double loss;              /* sum of BCE / norm */
    long correct;             /* inference: predictions on the right side of 1/2 */
    double loss_sum;          /* inference: sum of BCE */
    /* Buffers. */
    int max_b, max_t;
    int32_t *ids, *len, *flat;
    int64_t *off;
    float *y, *wt, *logits;
    rng *drop;
    void *ws;
    float *grad;              /* thread 0: the run's gradient; others their own */
    rowset rs;
} worker;

static void worker_init(worker *k, const corpus *c, int max_b, float *grad)
{
    const nnmodel_hyper *h = &c->m->hy;
    memset(k, 0, sizeof *k);
    k->c = c;
    k->max_b = max_b;
    k->max_t = (int)nnmodel_ids_cap(h);
    size_t cap = (size_t)max_b * (size_t)k->max_t;
    if (!c->m->arch->bag) k->ids = imdb_xmalloc(cap * sizeof *k->ids);
    else k->flat = imdb_xmalloc(cap * sizeof *k->flat);
    k->len = imdb_xmalloc((size_t)max_b * sizeof *k->len);
    k->off = imdb_xmalloc(((size_t)max_b + 1) * sizeof *k->off);
    k->y = imdb_xmalloc((size_t)max_b * sizeof *k->y);
    if (c->wt) k->wt = imdb_xmalloc((size_t)max_b * sizeof *k->wt);
    k->logits = imdb_xmalloc((size_t)max_b * sizeof *k->logits);
    k->drop = imdb_xmalloc((size_t)max_b * sizeof *k->drop);
    k->ws = c->m->arch->ws_new(h, max_b, k->max_t);
    if (!k->ws) imdb_oom_exit(0);   /* ws_new reports out of memory (prediction must not exit) */
    k->grad = grad;
    if (grad) rowset_init(&k->rs, nnmodel_rows(h));
}

static void worker_free(worker *k)
{
    free(k->ids); free(k->flat); free(k->len); free(k->off); free(k->y); free(k->wt); free(k->logits);
    free(k->drop);
    if (k->ws) k->c->m->arch->ws_free(k->ws);
    if (k->grad) rowset_free(&k->rs);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27; x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static void *worker_run(void *arg)
{
    worker *k = arg;
    const corpus *c = k->c;
    const nnmodel *m = c->m;
    int B = 0, T = 0;
    for (int i = k->t; i < k->n; i += k->nt) {
        uint32_t d = k->docs[i];
        int L = (int)(c->off[d + 1] - c->off[d]);
        k->len[B] = L;
        k->y[B] = c->y[d];
        if (k->wt) k->wt[B] = c->wt[d];
        if (k->drop_seed) rng_split(&k->drop[B], k->drop_seed, (uint64_t)i);
        if (L > T) T = L;
        B++;
    }
    k->off[0] = 0;
    for (int b = 0; b < B; b++) k->off[b + 1] = k->off[b] + k->len[b];
    for (int b = 0, i = k->t; b < B; b++, i += k->nt) {
        const int32_t *src = c->ids + c->off[k->docs[i]];
        if (m->arch->bag) memcpy(k->flat + k->off[b], src, (size_t)k->len[b] * sizeof *src);
        else {
            int32_t *dst = k->ids + (size_t)b * T;
            memcpy(dst, src, (size_t)k->len[b] * sizeof *src);
            for (int t = k->len[b]; t < T; t++) dst[t] = -1;
        }
    }
    nnmodel_batch nb = { .B = B, .T = T, .ids = k->ids, .len = k->len, .flat = k->flat, .off = k->off,
                         .y = k->y, .wt = k->drop_seed ? k->wt : NULL, .drop = k->drop_seed ? k->drop : NULL };
    k->loss = m->arch->step(&m->hy, &m->p, k->w, k->ws, &nb, k->dropout, k->emb_dropout, k->logits,
                            k->drop_seed ? k->grad : NULL, k->drop_seed ? &k->rs : NULL, k->norm);
    if (!k->drop_seed && m->arch->unsup) {
        k->loss_sum = k->loss * k->norm;     /* the arch's own loss, not the logits' BCE */
        k->correct = 0;
    } else if (!k->drop_seed) {
        k->loss_sum = layer_bce_forward_backward(NULL, k->logits, k->y, B, 1.0);
        k->correct = 0;
        for (int b = 0; b < B; b++) k->correct += (k->logits[b] >= 0.0f) == (k->y[b] > 0.5f);
    }
    return NULL;
}

/* Run the workers on one batch: thread 0 here, the others on their own threads. */
static void run_batch(worker *ks, int nt, const uint32_t *docs, int n)
{
    pthread_t tid[64];
    int started[64] = { 0 };
    int used = nt < n ? nt : n;
    for (int t = 0; t < used; t++) {
        ks[t].docs = docs;
        ks[t].n = n;
        ks[t].t = t;
        ks[t].nt = used;
    }
    for (int t = 1; t < used; t++)
        started[t] = pthread_create(&tid[t], NULL, worker_run, &ks[t]) == 0;
    worker_run(&ks[0]);
    for (int t = 1; t < used; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else worker_run(&ks[t]);      /* no thread: the same work, the same result */
    }
    for (int t = used; t < nt; t++) { ks[t].loss = 0; ks[t].loss_sum = 0; ks[t].correct = 0; }
}

/* Documents sorted by length, longest first, ties by index (a total order: the result
 * never depends on qsort). */
static int cmp_len_desc(const void *a, const void *b, void *arg)
{
    const int64_t *off = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int64_t lx = off[x + 1] - off[x], ly = off[y + 1] - off[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void sort_by_len(uint32_t *d, size_t n, const int64_t *off)
{
    qsort_r(d, n, sizeof *d, cmp_len_desc, (void *)off);
}

/* One epoch's batches: order (n) shuffled if r, cut in chunks of batch*bucket sorted by
 * length, then into batches (each sorted by length), whose order is shuffled if r.
 * Batch i is order[start[i] .. start[i+1]). Returns the number of batches. */
static size_t plan_batches(uint32_t *order, size_t n, size_t batch, size_t bucket, rng *r,
                           const int64_t *off, size_t *start, uint32_t *tmp)
{
    if (r) rng_shuffle_u32(r, order, n);
    size_t chunk = bucket ? batch * bucket : batch;
    for (size_t i = 0; i < n; i += chunk) sort_by_len(order + i, (i + chunk <= n ? chunk : n - i), off);
    size_t nb = (n + batch - 1) / batch;
    uint32_t *perm = imdb_xmalloc((nb ? nb : 1) * sizeof *perm);
    for (size_t i = 0; i < nb; i++) perm[i] = (uint32_t)i;
    if (r) rng_shuffle_u32(r, perm, nb);
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        size_t lo = perm[i] * batch, hi = lo + batch < n ? lo + batch : n;
        start[i] = k;
        memcpy(tmp + k, order + lo, (hi - lo) * sizeof *tmp);
        sort_by_len(tmp + k, hi - lo, off);
        k += hi - lo;
    }
    start[nb] = k;
    memcpy(order, tmp, n * sizeof *order);
    free(perm);
    return nb;
}

/* ---- settings -------------------------------------------------------------------- */

/* Defaults per kind: the settings every neural kind reads, and their values. */
typedef struct tdefaults {
    long vocab_size, min_count, unk, max_len, dim, epochs, batch, patience, bucket;
    const char *truncate, *optimizer, *schedule;
    double lr, lr_min, clip, weight_decay;
} tdefaults;

/* Chosen on the validation part of the 25,000 training reviews (scripts/benchmark-nn):
 * the networks overfit after two or three epochs, so a short run whose learning rate
 * falls linearly to 0 beats a long one cut by early stopping. */
static const tdefaults defaults[NNMODEL_NARCH] = {
    [NNMODEL_LSTM]   = { 30000, 2, 1, 400, 128, 4, 32, 3, 50, "tail", "adam", "linear", 2e-3, 0, 5, 0 },
    [NNMODEL_BILSTM] = { 30000, 2, 1, 400, 64, 4, 32, 3, 50, "tail", "adam", "linear", 2e-3, 0, 5, 0 },
    [NNMODEL_MLP]    = { 100000, 2, 0, 2000, 32, 10, 32, 2, 50, "head", "adam", "linear", 2e-3, 0, 0, 0 },
    [NNMODEL_CNN]    = { 30000, 2, 1, 800, 128, 4, 50, 2, 50, "head", "adam", "linear", 1e-3, 0, 5, 0 },
    /* The region kinds (nn_region.c): Johnson & Zhang's sizes (30k words, 100-d
     * embeddings); unknown words keep their positions (unk = 1). regcnn's lr and epochs
     * chosen on the movie-grouped validation split (README): Adam moves each row of the
     * one-hot layer by about lr a step it is touched, and 1e-3 for 3 epochs left it far
     * from fitted (valid accuracy 0.82 after an epoch); regemb's are not tuned. */
    [NNMODEL_REGEMB] = { 30000, 2, 1, 1000, 100, 2, 32, 2, 50, "head", "adam", "linear", 2e-3, 0, 0, 0 },
    [NNMODEL_REGCNN] = { 30000, 2, 1, 1000, 1000, 4, 50, 2, 50, "head", "adam", "linear", 1e-2, 0, 5, 0 },
};

typedef struct tsettings {
    long vocab_size, min_count, epochs, batch, patience, bucket, warmup;
    optim_cfg oc;
    optim_sched sched;
    double clip;
    float dropout, emb_dropout;
    int keep_last;      /* keep = last: the last epoch's weights, validation or not */
} tsettings;

static int read_settings(const nnmodel_arch *a, conf *cfg, nnmodel_hyper *hy, tsettings *s, imdb_err *e)
{
    const tdefaults *d = &defaults[a->id];
    long unk, max_len, dim, decoupled;
    double lr, lr_min, momentum, wd;
    const char *trunc, *opt, *sched, *keep;
    memset(hy, 0, sizeof *hy);
    memset(s, 0, sizeof *s);
    hy->arch = a->id;
    hy->ngrams = 1;
    if (conf_long(cfg, "vocab_size", d->vocab_size, 1, 1L << 26, &s->vocab_size, e) < 0 ||
        conf_long(cfg, "min_count", d->min_count, 1, 1L << 40, &s->min_count, e) < 0 ||
        conf_long(cfg, "unk", d->unk, 0, 1, &unk, e) < 0 ||
        conf_long(cfg, "max_len", d->max_len, 1, NNMODEL_MAX_LEN, &max_len, e) < 0 ||
        conf_long(cfg, "dim", d->dim, 1, 4096, &dim, e) < 0 ||
        conf_long(cfg, "epochs", d->epochs, 1, 100000, &s->epochs, e) < 0 ||
        conf_long(cfg, "batch", d->batch, 1, 4096, &s->batch, e) < 0 ||
        conf_long(cfg, "patience", d->patience, 1, 100000, &s->patience, e) < 0 ||
        conf_long(cfg, "bucket", d->bucket, 0, 100000, &s->bucket, e) < 0 ||
        conf_double(cfg, "lr", d->lr, 1e-12, 1e6, &lr, e) < 0 ||
        conf_double(cfg, "lr_min", d->lr_min, 0, 1e6, &lr_min, e) < 0 ||
        conf_long(cfg, "warmup", 0, 0, 1L << 40, &s->warmup, e) < 0 ||
        conf_double(cfg, "momentum", 0, 0, 0.999, &momentum, e) < 0 ||
        conf_double(cfg, "weight_decay", d->weight_decay, 0, 1e3, &wd, e) < 0 ||
        conf_long(cfg, "decoupled", 0, 0, 1, &decoupled, e) < 0 ||
        conf_double(cfg, "clip", d->clip, 0, 1e9, &s->clip, e) < 0)
        return -1;
    conf_string(cfg, "truncate", d->truncate, &trunc);
    conf_string(cfg, "optimizer", d->optimizer, &opt);
    conf_string(cfg, "lr_schedule", d->schedule, &sched);
    conf_string(cfg, "keep", "best", &keep);
    if (strcmp(keep, "best") != 0 && strcmp(keep, "last") != 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting keep: '%s' is not best or last", keep);
    s->keep_last = strcmp(keep, "last") == 0;
    hy->truncate = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(trunc, nnmodel_truncate_names[i]) == 0) hy->truncate = i;
    if (hy->truncate < 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting truncate: '%s' is not head, tail or headtail", trunc);
    int ok = optim_kind_parse(opt);
    if (ok < 0) return imdb_fail(e, IMDB_EXIT_USAGE, "setting optimizer: '%s' is not adam or sgd", opt);
    optim_cfg_default(&s->oc, ok);
    s->oc.momentum = (float)momentum;
    s->oc.weight_decay = (float)wd;
    s->oc.decoupled = (int)decoupled;
    int sk = optim_sched_parse(sched);
    if (sk < 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting lr_schedule: '%s' is not constant, linear or cosine", sched);
    s->sched = (optim_sched){ .kind = sk, .lr = lr, .lr_min = lr_min, .warmup = s->warmup };
    hy->unk = (int)unk;
    hy->max_len = (int)max_len;
    hy->E = (int)dim;
    if (a->configure(hy, &s->dropout, &s->emb_dropout, cfg, e) < 0) return -1;
    return 0;
}

/* ---- vocabulary ------------------------------------------------------------------ */

/* Words: the vocab_size most frequent unigrams with count >= min_count; n-grams (bag
 * models with vocabulary n-grams): the ngram_rows most frequent of orders 2..ngrams.
 * From the given vocabulary, else counted over the training part. */
static int build_vocab(nnmodel *m, const train_ctx *ctx, const tsettings *s, long ngram_max, imdb_err *e)
{
    nnmodel_hyper *h = &m->hy;
    const vocab *voc = ctx->voc;
    vocab *own = NULL;
    int need_n = h->ngrams > 1 && !h->buckets ? h->ngrams : 1;
    if (voc && vocab_maxn(voc) < need_n)
        return imdb_fail(e, IMDB_EXIT_USAGE,
                         "the vocabulary counts n-grams up to %d but ngrams = %d (count them with imdb-vocab "
                         "--ngrams %d, or hash them: buckets = N)", vocab_maxn(voc), h->ngrams, h->ngrams);
    if (!voc) {
        own = vocab_new(need_n);
        for (size_t s2 = 0; s2 < ctx->ntr; s2++) {
            size_t i = ctx->tr[s2];
            vocab_add_doc(own, ctx->docs->tok + ctx->docs->off[i], ctx->docs->off[i + 1] - ctx->docs->off[i]);
        }
        if (m->arch->unsup && ctx->unlab)
            for (size_t i = 0; i < ctx->unlab->n; i++)
                vocab_add_doc(own, ctx->unlab->tok + ctx->unlab->off[i], ctx->unlab->off[i + 1] - ctx->unlab->off[i]);
        if (vocab_status(own, e) < 0) { vocab_free(own); return -1; }
        vocab_finish(own, 1, 0);
        voc = own;
    }
    size_t vn = vocab_size(voc), nw = 0, ng = 0;
    for (size_t i = 0; i < vn; i++) {
        if (vocab_count(voc, i) < (uint64_t)s->min_count) continue;
        int o = vocab_order(voc, i);
        if (o == 1 && nw < (size_t)s->vocab_size) nw++;
        else if (o >= 2 && o <= need_n && need_n > 1 && ng < (size_t)ngram_max) ng++;
    }
    if (nw == 0) {
        vocab_free(own);
        return imdb_fail(e, IMDB_EXIT_DATA, "no word of the vocabulary has min_count = %ld occurrences",
                         s->min_count);
    }
    h->V = (int)nw;
    h->ngram_rows = (int)ng;
    if (h->ngrams > 1 && !h->buckets && ng == 0) {
        vocab_free(own);
        return imdb_fail(e, IMDB_EXIT_DATA, "no n-gram of the vocabulary has min_count = %ld occurrences",
                         s->min_count);
    }
    feat_table_init(&m->tab, nw + ng);
    size_t tlen = 0, kw = 0, kg = 0;
    uint32_t *entry = imdb_xmalloc((nw + ng) * sizeof *entry);
    for (size_t i = 0; i < vn && (kw < nw || kg < ng); i++) {
        if (vocab_count(voc, i) < (uint64_t)s->min_count) continue;
        int o = vocab_order(voc, i);
        int32_t id;
        if (o == 1 && kw < nw) id = (int32_t)kw++;
        else if (o >= 2 && o <= need_n && need_n > 1 && kg < ng) id = h->V + h->unk + (int32_t)kg++;
        else continue;
        /* A 64-bit hash collision keeps the more frequent entry; its twin gets no key
         * and its row stays untrained. */
        feat_table_put(&m->tab, vocab_hash(voc, i), id);
        entry[id < h->V ? id : h->V + (id - h->V - h->unk)] = (uint32_t)i;
        tlen += strlen(vocab_ngram(voc, i)) + 1;
    }
    char *t = imdb_xmalloc(tlen + 1), *p = t;
    for (size_t j = 0; j < nw + ng; j++) {
        const char *s2 = vocab_ngram(voc, entry[j]);
        size_t l = strlen(s2);
        memcpy(p, s2, l);
        p[l] = '\n';
        p += l + 1;
    }
    m->vtext = m->vtext_owned = t;
    m->vlen = tlen;
    free(entry);
    vocab_free(own);
    return 0;
}

/* ---- initial embeddings ---------------------------------------------------------- */

static int init_embeddings(const nnmodel *m, float *w, const char *path, const imdb_log *lg, imdb_err *e)
{
    embfile *f = embfile_read(path, m->hy.E, e);
    if (!f) return -1;
    const params_tensor *t = &m->p.t[0];
    size_t found = 0;
    const char *s = m->vtext;
    for (int id = 0; id < m->hy.V; id++) {
        const char *nl = memchr(s, '\n', (size_t)(m->vtext + m->vlen - s));
        char word[1024];
        size_t l = (size_t)(nl - s);
        if (l < sizeof word) {
            memcpy(word, s, l);
            word[l] = '\0';
            const float *v = embfile_lookup(f, word);
            if (v) {
                memcpy(w + t->offset + (size_t)id * t->cols, v, (size_t)m->hy.E * sizeof *v);
                found++;
            }
        }
        s = nl + 1;
    }
    imdb_logf(lg, IMDB_LOG_INFO, "%s: %zu of %d words initialised from %s", m->arch->kind, found, m->hy.V, path);
    embfile_free(f);
    return 0;
}

/* ---- checkpoints ----------------------------------------------------------------- */

#define CKPT_VERSION 1
#define CKPT_STATE 120

typedef struct run_state {
    uint32_t epoch;           /* epochs completed */
    uint32_t best_epoch, since;
    uint64_t step;
    double best_loss;
    rng shuffle;
    uint64_t fingerprint;     /* of the documents' ids, labels and split */
} run_state;

static uint64_t fingerprint(const train_ctx *ctx, const corpus *c, size_t ndocs)
{
    uint64_t h = mix64(ndocs + 0x1234567);
    for (size_t i = 0; i < ndocs; i++) {
        h = mix64(h ^ (uint64_t)(c->y[i] > 0.5f) ^ ((uint64_t)(c->off[i + 1] - c->off[i]) << 1));
        for (int64_t j = c->off[i]; j < c->off[i + 1]; j++) h = mix64(h + (uint32_t)c->ids[j]);
    }
    for (size_t i = 0; i < ctx->ntr; i++) h = mix64(h ^ ctx->tr[i]);
    for (size_t i = 0; i < ctx->nva; i++) h = mix64(h ^ ((uint64_t)ctx->va[i] << 32));
    for (size_t i = 0; c->wt && i < ndocs; i++) {   /* class weights: a resumed run has the same */
        uint32_t b;
        memcpy(&b, &c->wt[i], 4);
        h = mix64(h ^ b);
    }
    return h;
}

static int ckpt_write(const char *path, const nnmodel *m, const run_state *st, const optim *o,
                      const float *w, const float *best, imdb_err *e)
{
    modelio_writer *mw = modelio_create(path, e);
    if (!mw) return -1;
    unsigned char hdr[4 * NNMODEL_HDR_WORDS], s[CKPT_STATE];
    nnmodel_hyper_pack(&m->hy, hdr);
    memset(s, 0, sizeof s);
    uint64_t bl;
    memcpy(&bl, &st->best_loss, 8);
    put_u32le(s, CKPT_VERSION);
    put_u32le(s + 4, st->epoch);
    put_u32le(s + 8, st->best_epoch);
    put_u32le(s + 12, st->since);
    put_u32le(s + 16, (uint32_t)o->cfg.kind);
    put_u64le(s + 24, st->step);
    put_u64le(s + 32, (uint64_t)o->t);
    put_u64le(s + 40, bl);
    for (int i = 0; i < 4; i++) put_u64le(s + 48 + 8 * i, st->shuffle.s[i]);
    put_u64le(s + 80, st->fingerprint);
    put_u64le(s + 88, m->p.total);
    size_t bytes = m->p.total * sizeof(float);
    if (modelio_add_str(mw, "kind", "ckpt", e) < 0 ||
        modelio_add_str(mw, "ckpt.model", m->arch->kind, e) < 0 ||
        modelio_add(mw, "ckpt.hdr", hdr, sizeof hdr, e) < 0 ||
        modelio_add(mw, "ckpt.state", s, sizeof s, e) < 0 ||
        modelio_add(mw, "ckpt.w", w, bytes, e) < 0 ||
        modelio_add(mw, "ckpt.best", best, bytes, e) < 0 ||
        modelio_add(mw, "ckpt.m", o->m, o->m ? o->n * sizeof(float) : 0, e) < 0 ||
        modelio_add(mw, "ckpt.v", o->v, o->v ? o->n * sizeof(float) : 0, e) < 0) {
        modelio_abort(mw);
        return -1;
    }
    return modelio_commit(mw, e);
}

static const char *hyper_field_diff(const nnmodel_hyper *a, const nnmodel_hyper *b)
{
    if (a->V != b->V || a->unk != b->unk || a->ngram_rows != b->ngram_rows) return "vocabulary (vocab_size, min_count, unk)";
    if (a->max_len != b->max_len || a->truncate != b->truncate) return "max_len or truncate";
    if (a->ngrams != b->ngrams || a->buckets != b->buckets) return "ngrams or buckets";
    if (a->E != b->E) return "dim";
    if (a->H != b->H || a->D != b->D || a->F != b->F) return "hidden, dense or filters";
    if (a->pool != b->pool) return "pool";
    if (a->nwidths != b->nwidths || memcmp(a->widths, b->widths, sizeof a->widths)) return "widths";
    if (a->targets != b->targets || a->neg != b->neg) return "targets or neg";
    return NULL;
}

/* Restore a run from path into w, best, o and st; the checkpoint must match m's
 * architecture, settings and data (else IMDB_EXIT_DATA). */
static int ckpt_read(const char *path, const nnmodel *m, run_state *st, optim *o, float *w, float *best,
                     uint64_t fp, imdb_err *e)
{
    modelio *f = modelio_open(path, e);
    if (!f) return -1;
    int rc = -1;
    char *kind = modelio_get_str(f, "kind"), *model = modelio_get_str(f, "ckpt.model");
    size_t hs, ss, sw, sb, sm, sv, bytes = m->p.total * sizeof(float);
    const unsigned char *hb = modelio_get(f, "ckpt.hdr", &hs), *sp = modelio_get(f, "ckpt.state", &ss);
    const void *pw = modelio_get(f, "ckpt.w", &sw), *pb = modelio_get(f, "ckpt.best", &sb);
    const void *pm = modelio_get(f, "ckpt.m", &sm), *pv = modelio_get(f, "ckpt.v", &sv);
    nnmodel_hyper h;
    imdb_err e2;
    if (!kind || strcmp(kind, "ckpt") != 0 || !model) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: not a training checkpoint (a model file of kind %.40s?)", path,
                  kind ? kind : "?");
        goto done;
    }
    if (strcmp(model, m->arch->kind) != 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint of a %.40s model, cannot resume a %s run", path, model,
                  m->arch->kind);
        goto done;
    }
    if (!hb || !sp || !pw || !pb || !pm || !pv || ss != CKPT_STATE) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint lacks a section or has a bad state", path);
        goto done;
    }
    if (nnmodel_hyper_unpack(&h, hb, hs, path, &e2) < 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s", e2.msg);
        goto done;
    }
    const char *diff = hyper_field_diff(&h, &m->hy);
    if (diff) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint made with other settings (%s differ)", path, diff);
        goto done;
    }
    if (get_u32le(sp) != CKPT_VERSION || get_u64le(sp + 88) != m->p.total) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint version or size does not match this program", path);
        goto done;
    }
    if ((int)get_u32le(sp + 16) != o->cfg.kind) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint made with optimizer %s, not %s", path,
                  optim_kind_name((int)get_u32le(sp + 16)), optim_kind_name(o->cfg.kind));
        goto done;
    }
    if (get_u64le(sp + 80) != fp) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint made from other training data, vocabulary, split or seed",
                  path);
        goto done;
    }
    size_t mbytes = o->n * sizeof(float);   /* the moments cover the trained tensors only */
    if (sw != bytes || sb != bytes || sm != (o->m ? mbytes : 0) || sv != (o->v ? mbytes : 0)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint sections have the wrong sizes", path);
        goto done;
    }
    st->epoch = get_u32le(sp + 4);
    st->best_epoch = get_u32le(sp + 8);
    st->since = get_u32le(sp + 12);
    st->step = get_u64le(sp + 24);
    o->t = (long)get_u64le(sp + 32);
    uint64_t bl = get_u64le(sp + 40);
    memcpy(&st->best_loss, &bl, 8);
    for (int i = 0; i < 4; i++) st->shuffle.s[i] = get_u64le(sp + 48 + 8 * i);
    st->fingerprint = fp;
    memcpy(w, pw, bytes);
    memcpy(best, pb, bytes);
    if (o->m) memcpy(o->m, pm, mbytes);
    if (o->v) memcpy(o->v, pv, mbytes);
    if (optim_nonfinite(w, m->p.total, NULL) || optim_nonfinite(best, m->p.total, NULL)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: checkpoint holds non-finite weights", path);
        goto done;
    }
    rc = 0;
done:
    free(kind);
    free(model);
    modelio_close(f);
    return rc;
}

/* ---- training -------------------------------------------------------------------- */

/* Loss per batch above which training is declared diverged: a mean BCE of 50 means the
 * batch is predicted wrong with probabilities of e^-50. */
#define LOSS_EXPLODED 50.0

static void validate(worker *ks, int nt, const uint32_t *va, size_t nva, size_t batch, double *loss,
                     double *acc)
{
    double L = 0;
    long ok = 0;
    for (int t = 0; t < nt; t++) ks[t].norm = 1.0;    /* unsup: step returns sums */
    for (size_t i = 0; i < nva; i += batch) {
        int n = (int)(i + batch <= nva ? batch : nva - i);
        run_batch(ks, nt, va + i, n);
        for (int t = 0; t < nt; t++) { L += ks[t].loss_sum; ok += ks[t].correct; }
    }
    *loss = nva ? L / (double)nva : NAN;
    *acc = nva ? (double)ok / (double)nva : NAN;
}

static int nn_train(const nnmodel_arch *a, train_ctx *ctx, modelio_writer *mw, imdb_err *e)
{
    conf *cfg = ctx->cfg;
    tsettings s;
    nnmodel *m = imdb_xcalloc(1, sizeof *m);
    m->arch = a;
    worker *ks = NULL;
    float *best = NULL, *grad = NULL, *y = NULL, *wt = NULL;
    int32_t *ids = NULL;
    int64_t *off = NULL;
    uint32_t *order = NULL, *tmp = NULL, *va = NULL;
    size_t *start = NULL;
    optim o = { 0 };
    imdb_progress pb = { NULL, NULL };
    /* More than 64 threads would not help the batch sizes here; run_batch's limit. */
    int rc = -1, nt = ctx->threads < 1 ? 1 : ctx->threads > 64 ? 64 : ctx->threads;
    long ngram_max = 0;

    if (read_settings(a, cfg, &m->hy, &s, e) < 0) goto done;
    if (m->hy.ngrams > 1 && !m->hy.buckets &&
        conf_long(cfg, "ngram_vocab", 1000000, 1, 1L << 26, &ngram_max, e) < 0) goto done;
    size_t nunlab = a->unsup && ctx->unlab ? ctx->unlab->n : 0;   /* unsup: the unlabelled join */
    if (ctx->ntr + nunlab == 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "no labelled documents to train on");
        goto done;
    }
    if (build_vocab(m, ctx, &s, ngram_max, e) < 0) goto done;
    if (m->hy.targets > m->hy.V) m->hy.targets = m->hy.V;    /* regemb: at most every word */
    const char *why = nnmodel_hyper_invalid(&m->hy);
    if (why) {
        imdb_fail(e, IMDB_EXIT_USAGE, "%s: %s", a->kind, why);
        goto done;
    }
    nnmodel_declare(m);
    params_alloc(&m->p);
    float *w = m->w_owned = m->p.data;
    m->p.data = NULL;           /* m->w_owned owns it */
    m->w = w;
    rng init;
    rng_split(&init, ctx->seed, 0x4e4e);
    a->init(&m->hy, &m->p, w, &init);
    if (ctx->init_embeddings && init_embeddings(m, w, ctx->init_embeddings, ctx->logger, e) < 0) goto done;
    if (a->prepare && a->prepare(m, w, ctx, e) < 0) goto done;

    /* Every document's ids, once: the labelled, then (unsup) the unlabelled. */
    const train_docs *d = ctx->docs;
    size_t nd = d->n + nunlab, cap = nnmodel_ids_cap(&m->hy), total = 0;
    off = imdb_xmalloc((nd + 1) * sizeof *off);
    y = imdb_xmalloc((nd + 1) * sizeof *y);
    uint64_t *hs = imdb_xmalloc((size_t)m->hy.max_len * sizeof *hs);
    int32_t *buf = imdb_xmalloc(cap * sizeof *buf);
    size_t idcap = 1 << 16;
    ids = imdb_xmalloc(idcap * sizeof *ids);
    off[0] = 0;
    for (size_t i = 0; i < nd; i++) {
        if (i == ctx->docs->n) d = ctx->unlab;
        size_t j = i < ctx->docs->n ? i : i - ctx->docs->n;
        size_t k = nnmodel_doc_ids(&m->hy, &m->tab, d->tok + d->off[j], d->off[j + 1] - d->off[j], hs, buf, NULL);
        while (total + k > idcap) ids = imdb_xrealloc(ids, (idcap *= 2) * sizeof *ids);
        memcpy(ids + total, buf, k * sizeof *buf);
        total += k;
        off[i + 1] = (int64_t)total;
        /* 1 pos, 0 neg, or a soft label: the BCE takes any P(pos); unlabelled: unused */
        y[i] = i < ctx->docs->n ? d->target[j] : 0.0f;
    }
    d = ctx->docs;
    free(hs);
    free(buf);
    /* Class weights: each training document's loss weighted by its class (layers.h's
     * layer_bce_class_weight; a soft label's two terms each by theirs). The validation
     * loss, which early stopping watches, stays unweighted. */
    if (ctx->bal.weighted) {
        wt = imdb_xmalloc((nd + 1) * sizeof *wt);
        for (size_t i = 0; i < nd; i++) wt[i] = 1.0f;
        for (size_t s2 = 0; s2 < ctx->ntr; s2++)
            layer_bce_class_weight(&y[ctx->tr[s2]], &wt[ctx->tr[s2]], ctx->bal.class_w[0], ctx->bal.class_w[1]);
    }
    corpus c = { m, ids, off, y, wt };

    /* Threads: each its scratch and gradient; BLAS single-threaded under them. */
    blas_set_threads(1);
    size_t batch = (size_t)s.batch;
    int max_b = (int)((batch + (size_t)nt - 1) / (size_t)nt);
    grad = params_mirror(&m->p);
    ks = imdb_xcalloc((size_t)nt, sizeof *ks);
    for (int t = 0; t < nt; t++) {
        worker_init(&ks[t], &c, max_b, t == 0 ? grad : params_mirror(&m->p));
        ks[t].w = w;
        ks[t].dropout = s.dropout;
        ks[t].emb_dropout = s.emb_dropout;
    }
    const params_tensor *emb = &m->p.t[0];
    optim_sparse sp = { emb->offset, emb->rows, emb->cols, &ks[0].rs };
    /* Trained: [0, ntrain); a frozen tail (regcnn's side embeddings) is never updated. */
    int ff = a->first_frozen ? a->first_frozen(&m->hy) : 0;
    size_t ntrain = ff > 0 && ff < m->p.n ? m->p.t[ff].offset : m->p.total;
    size_t dense_lo = m->p.n > 1 ? m->p.t[1].offset : ntrain;
    optim_init(&o, &s.oc, ntrain);

    size_t ntr = ctx->ntr + nunlab;
    order = imdb_xmalloc((ntr ? ntr : 1) * sizeof *order);
    tmp = imdb_xmalloc((ntr ? ntr : 1) * sizeof *tmp);
    start = imdb_xmalloc((ntr / batch + 2) * sizeof *start);
    memcpy(order, ctx->tr, ctx->ntr * sizeof *order);
    for (size_t j = 0; j < nunlab; j++) order[ctx->ntr + j] = (uint32_t)(ctx->docs->n + j);
    size_t nbatches = (ntr + batch - 1) / batch;
    s.sched.total = (long)(nbatches * (size_t)s.epochs);
    va = imdb_xmalloc((ctx->nva ? ctx->nva : 1) * sizeof *va);
    memcpy(va, ctx->va, ctx->nva * sizeof *va);
    sort_by_len(va, ctx->nva, off);

    best = params_mirror(&m->p);
    memcpy(best, w, m->p.total * sizeof *w);
    run_state st = { .best_loss = INFINITY };
    rng_split(&st.shuffle, ctx->seed, 0x4e4f);
    st.fingerprint = fingerprint(ctx, &c, nd);
    const char *last_ckpt = NULL;      /* for the message if training diverges */
    if (ctx->resume) {
        if (ckpt_read(ctx->resume, m, &st, &o, w, best, st.fingerprint, e) < 0) goto done;
        last_ckpt = ctx->resume;
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "%s: resuming %s after epoch %u", a->kind, ctx->resume, st.epoch);
    }
    imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "%s: %d words%s, %zu embedding rows, %zu weights, %zu ids in %zu "
              "documents", a->kind, m->hy.V, m->hy.unk ? " + unknown" : "", nnmodel_rows(&m->hy), m->p.total,
              total, nd);

    for (long ep = (long)st.epoch + 1; ep <= s.epochs && st.since < (uint32_t)s.patience; ep++) {
        /* The order of a pass: the permutation continues from the last one, as the
         * generator does. */
        size_t nb = plan_batches(order, ntr, batch, (size_t)s.bucket, &st.shuffle, off, start, tmp);
        double tl = 0;
        pb = imdb_progress_begin(ctx->logger, a->kind, nb, "batches");
        for (size_t bi = 0; bi < nb; bi++) {
            int n = (int)(start[bi + 1] - start[bi]);
            uint64_t seed = mix64(ctx->seed ^ mix64(st.step + 1));
            for (int t = 0; t < nt; t++) {
                ks[t].drop_seed = seed | 1;
                ks[t].norm = n;
            }
            run_batch(ks, nt, order + start[bi], n);
            double bl = 0;
            for (int t = 0; t < nt; t++) bl += ks[t].loss;
            for (int t = 1; t < nt; t++) {    /* thread order: a fixed sum */
                float *g = ks[t].grad;
                for (size_t i = dense_lo; i < ntrain; i++) { grad[i] += g[i]; g[i] = 0; }
                for (size_t r = 0; r < ks[t].rs.n; r++) {
                    uint32_t row = ks[t].rs.rows[r];
                    float *dst = grad + emb->offset + (size_t)row * emb->cols;
                    float *src = g + emb->offset + (size_t)row * emb->cols;
                    for (size_t j = 0; j < emb->cols; j++) { dst[j] += src[j]; src[j] = 0; }
                    rowset_add(&ks[0].rs, row);
                }
                rowset_clear(&ks[t].rs);
            }
            double gn = optim_clip(grad, ntrain, s.clip, &sp, 1);
            if (!isfinite(bl) || !isfinite(gn) || bl > LOSS_EXPLODED) {
                imdb_fail(e, IMDB_EXIT_INTERNAL,
                          "%s: the training loss %s at epoch %ld, batch %zu (loss %g, gradient norm %g); "
                          "lower lr or set clip%s%s", a->kind, isfinite(bl) && isfinite(gn) ? "exploded" : "became NaN",
                          ep, bi + 1, bl, gn, last_ckpt ? "; the last good checkpoint is " : "",
                          last_ckpt ? last_ckpt : "");
                goto done;
            }
            optim_step(&o, w, grad, (float)optim_lr(&s.sched, (long)st.step), &sp, 1);
            optim_zero_grad(grad, ntrain, &sp, 1);
            tl += bl * n;
            st.step++;
            imdb_progress_update(&pb, bi + 1);
        }
        imdb_progress_end(&pb);
        tl /= (double)ntr;
        for (int t = 0; t < nt; t++) ks[t].drop_seed = 0;
        double vl, vacc;
        validate(ks, nt, va, ctx->nva, batch, &vl, &vacc);
        st.epoch = (uint32_t)ep;
        if (trainlog_epoch(ctx->log, (int)ep, (int)s.epochs, tl, vl, vacc, e) < 0) goto done;
        if (ctx->nva && !isfinite(vl)) {
            imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: the validation loss became NaN at epoch %ld; lower lr", a->kind, ep);
            goto done;
        }
        double crit = ctx->nva && !s.keep_last ? vl : -(double)ep;   /* without validation: the last */
        if (crit < st.best_loss) {
            st.best_loss = crit;
            st.best_epoch = (uint32_t)ep;
            st.since = 0;
            memcpy(best, w, m->p.total * sizeof *w);
        } else if (++st.since >= (uint32_t)s.patience) {
            imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "%s: early stop: validation loss has not improved since "
                      "epoch %u", a->kind, st.best_epoch);
        }
        if (ctx->checkpoint_every && ep % ctx->checkpoint_every == 0) {
            if (ckpt_write(ctx->checkpoint, m, &st, &o, w, best, e) < 0) goto done;
            last_ckpt = ctx->checkpoint;
        }
    }
    imdb_logf(ctx->logger, IMDB_LOG_INFO, "%s: kept epoch %u (%s)", a->kind, st.best_epoch,
              s.keep_last ? "keep = last" : ctx->nva ? "lowest validation loss" : "the last: no validation part");
    memcpy(w, best, m->p.total * sizeof *w);
    if (nnmodel_write(m, mw, e) < 0) goto done;
    rc = 0;
done:
    imdb_progress_end(&pb);
    if (ks) {
        for (int t = 0; t < nt; t++) {
            if (t > 0) free(ks[t].grad);
            worker_free(&ks[t]);
        }
        free(ks);
    }
    optim_free(&o);
    free(grad); free(best); free(y); free(wt); free(ids); free(off); free(order); free(tmp); free(va); free(start);
    nnmodel_free(m);
    return rc;
}

/* ---- trainers -------------------------------------------------------------------- */

#define COMMON_KEYS \
    "vocab_size", "min_count", "unk", "max_len", "truncate", "dim", "epochs", "batch", "patience", \
    "bucket", "optimizer", "lr", "lr_schedule", "lr_min", "warmup", "momentum", "weight_decay", \
    "decoupled", "clip", "dropout", "keep"

static const char *const lstm_keys[] = { COMMON_KEYS, "hidden", "pool", "emb_dropout", NULL };
static const char *const bilstm_keys[] = { COMMON_KEYS, "hidden", "dense", "pool", "emb_dropout", NULL };
static const char *const mlp_keys[] = { COMMON_KEYS, "dense", "ngrams", "buckets", "ngram_vocab", NULL };
static const char *const cnn_keys[] = { COMMON_KEYS, "filters", "widths", "emb_dropout", NULL };
static const char *const regemb_keys[] = { COMMON_KEYS, "region", "targets", "neg", NULL };
static const char *const regcnn_keys[] = { COMMON_KEYS, "region", "embeddings", "side_scale", NULL };

#define TRAINER(NAME, SUMMARY) \
    static int NAME##_train(train_ctx *ctx, modelio_writer *w, imdb_err *e) \
    { return nn_train(&nnmodel_arch_##NAME, ctx, w, e); } \
    const trainer nnmodel_##NAME##_trainer = { \
        .kind = #NAME, .keys = NAME##_keys, .summary = SUMMARY, .train = NAME##_train, \
        .soft_labels = 1, .class_weights = CLASS_WEIGHTS };

#define CLASS_WEIGHTS 1   /* the supervised kinds weigh their loss by class (nnmodel_bce) */
TRAINER(lstm, "word embedding, LSTM, max over time, dense 1")
TRAINER(bilstm, "word embedding, bidirectional LSTM, max over time, dense ReLU, dense 1")
TRAINER(mlp, "mean of word and n-gram embeddings, dense ReLU, dense 1 (fastText-like)")
TRAINER(cnn, "word embedding, convolutions of widths 3,4,5, max over time, dense 1 (Kim 2014)")
#undef CLASS_WEIGHTS
#define CLASS_WEIGHTS 0   /* regemb learns from text alone */
TRAINER(regemb, "region embedding from unlabelled text: a bag of p words predicts its neighbours")
#undef CLASS_WEIGHTS
#define CLASS_WEIGHTS 1
TRAINER(regcnn, "one-hot region CNN, region embeddings as side inputs, max pooling, dense 1")
