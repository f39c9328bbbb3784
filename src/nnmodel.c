/* nnmodel.c — the shared neural trainer and the neural classifiers; see nnmodel.h.
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
#include "cli.h"
#include "embfile.h"
#include "layers.h"
#include "optim.h"
#include "progress.h"
#include "tokio.h"
#include "vocab.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nnmodel {
    nnmodel_hyper hy;
    const nnmodel_arch *arch;
    params p;                 /* the tensor table; p.data is NULL for a mapped model */
    const float *w;           /* the weights (p.total floats) */
    float *w_owned;           /* w when trained, else NULL */
    feat_table tab;           /* word / n-gram hash -> id; owned or mapped */
    const char *vtext;        /* nn.vocab */
    size_t vlen;
    char *vtext_owned;
    void *inf;                /* the architecture's inference tables, or NULL */
};

static const nnmodel_arch *const archs[NNMODEL_NARCH] = {
    &nnmodel_arch_lstm, &nnmodel_arch_bilstm, &nnmodel_arch_mlp, &nnmodel_arch_cnn,
};

int nnmodel_pool_parse(const char *s)
{
    static const char *const names[] = { "last", "mean", "max" };
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static const char *const truncate_names[] = { "head", "tail", "headtail" };

/* ---- nn.hdr ------------------------------------------------------------------------ */

#define HDR_VERSION 1

static void hyper_pack(const nnmodel_hyper *h, unsigned char *b)
{
    uint32_t v[NNMODEL_HDR_WORDS] = {
        HDR_VERSION, (uint32_t)h->arch, (uint32_t)h->V, (uint32_t)h->unk, (uint32_t)h->max_len,
        (uint32_t)h->truncate, (uint32_t)h->ngrams, (uint32_t)h->ngram_rows, (uint32_t)h->buckets,
        (uint32_t)h->E, (uint32_t)h->H, (uint32_t)h->D, (uint32_t)h->F, (uint32_t)h->pool,
        (uint32_t)h->nwidths,
    };
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++) v[15 + i] = (uint32_t)h->widths[i];
    for (int i = 0; i < NNMODEL_HDR_WORDS; i++) put_u32le(b + 4 * i, v[i]);
}

/* The limits a header must respect: every product of them fits comfortably in size_t
 * and an int index, and the weight section's size is then checked exactly. */
static const char *hyper_invalid(const nnmodel_hyper *h)
{
    if (h->arch < 0 || h->arch >= NNMODEL_NARCH) return "unknown architecture";
    if (h->V < 1 || h->V > (1 << 26)) return "vocabulary size out of range";
    if (h->unk < 0 || h->unk > 1) return "bad unk flag";
    if (h->max_len < 1 || h->max_len > NNMODEL_MAX_LEN) return "max_len out of range";
    if (h->truncate < 0 || h->truncate > 2) return "bad truncation mode";
    if (h->ngrams < 1 || h->ngrams > 4) return "ngrams out of range";
    if (h->ngram_rows < 0 || h->ngram_rows > (1 << 26) || h->buckets < 0 || h->buckets > (1 << 26))
        return "n-gram rows out of range";
    if (h->buckets && h->ngram_rows) return "both vocabulary and hashed n-grams";
    if (h->ngrams > 1 && !h->buckets && !h->ngram_rows) return "n-grams without rows";
    if (h->E < 1 || h->E > 4096 || h->H < 0 || h->H > 4096 || h->D < 0 || h->D > 4096 ||
        h->F < 0 || h->F > 4096) return "dimension out of range";
    if (h->pool < 0 || h->pool > 2) return "bad pooling mode";
    if (h->nwidths < 0 || h->nwidths > NNMODEL_MAX_WIDTHS) return "bad number of widths";
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++)
        if (i < h->nwidths ? h->widths[i] < 1 || h->widths[i] > 32 : h->widths[i] != 0)
            return "convolution width out of range";
    switch (h->arch) {
    case NNMODEL_LSTM: if (h->H < 1) return "no hidden units"; break;
    case NNMODEL_BILSTM: if (h->H < 1 || h->D < 1) return "no hidden units"; break;
    case NNMODEL_MLP: if (h->D < 1) return "no hidden units"; break;
    case NNMODEL_CNN: if (h->F < 1 || h->nwidths < 1) return "no filters"; break;
    }
    if (h->arch != NNMODEL_MLP && h->ngrams != 1) return "n-grams in a sequence model";
    return NULL;
}

static int hyper_unpack(nnmodel_hyper *h, const unsigned char *b, size_t size, const char *name,
                        imdb_err *e)
{
    if (size != 4 * NNMODEL_HDR_WORDS)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr has %zu bytes, expected %d", name, size,
                         4 * NNMODEL_HDR_WORDS);
    uint32_t v[NNMODEL_HDR_WORDS];
    for (int i = 0; i < NNMODEL_HDR_WORDS; i++) v[i] = get_u32le(b + 4 * i);
    if (v[0] != HDR_VERSION)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: neural model header version %u, this program reads %d",
                         name, v[0], HDR_VERSION);
    for (int i = 1; i < NNMODEL_HDR_WORDS; i++)
        if (v[i] > (1u << 30)) return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr: field %d out of range", name, i);
    *h = (nnmodel_hyper){
        .arch = (int)v[1], .V = (int)v[2], .unk = (int)v[3], .max_len = (int)v[4], .truncate = (int)v[5],
        .ngrams = (int)v[6], .ngram_rows = (int)v[7], .buckets = (int)v[8], .E = (int)v[9],
        .H = (int)v[10], .D = (int)v[11], .F = (int)v[12], .pool = (int)v[13], .nwidths = (int)v[14],
    };
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++) h->widths[i] = (int)v[15 + i];
    for (int i = 19; i < NNMODEL_HDR_WORDS; i++)
        if (v[i]) return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr: reserved field %d is not 0", name, i);
    const char *why = hyper_invalid(h);
    if (why) return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr: %s", name, why);
    return 0;
}

/* ---- documents to ids -------------------------------------------------------------- */

/* Capacity of the id buffer of one document, and of the token-hash scratch. */
static size_t ids_cap(const nnmodel_hyper *h) { return (size_t)h->max_len * (size_t)h->ngrams; }

/* The ids of a document: its first max_len tokens (or last, or first quarter and the
 * rest from the end), each word's id (unknown: V or dropped), then for a bag model the
 * ids of its n-grams of order 2..ngrams over the kept tokens. hs: max_len scratch,
 * out: ids_cap. Returns the number of ids. */
static size_t doc_ids(const nnmodel_hyper *h, const feat_table *tab, const char *const *toks,
                      size_t ntok, uint64_t *hs, int32_t *out)
{
    size_t L = (size_t)h->max_len, n = ntok < L ? ntok : L;
    size_t head = n;                      /* tokens [0, head) then [ntok - (n - head), ntok) */
    if (ntok > L) {
        if (h->truncate == NNMODEL_TAIL) head = 0;
        else if (h->truncate == NNMODEL_HEADTAIL) head = L / 4;
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = i < head ? toks[i] : toks[ntok - n + i];
        hs[i] = feat_hash_token(t, strlen(t));
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = feat_table_get(tab, hs[i]);
        if (id >= 0 && id < h->V) out[k++] = id;
        else if (h->unk) out[k++] = h->V;
    }
    int32_t base = h->V + h->unk;
    for (int o = 2; o <= h->ngrams; o++) {
        for (size_t i = 0; i + (size_t)o <= n; i++) {
            uint64_t g = hs[i];
            for (int j = 1; j < o; j++) g = feat_chain(g, hs[i + (size_t)j]);
            if (h->buckets) out[k++] = base + (int32_t)(g % (uint64_t)h->buckets);
            else {
                int32_t id = feat_table_get(tab, g);
                if (id >= base) out[k++] = id;
            }
        }
    }
    return k;
}

/* ---- batches over threads ---------------------------------------------------------- */

/* What every worker of a run reads. */
typedef struct corpus {
    const nnmodel *m;
    const int32_t *ids;       /* ids of every document */
    const int64_t *off;       /* (ndocs+1) */
    const float *y;           /* (ndocs) */
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
    float *y, *logits;
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
    k->max_t = (int)ids_cap(h);
    size_t cap = (size_t)max_b * (size_t)k->max_t;
    if (!c->m->arch->bag) k->ids = xmalloc(cap * sizeof *k->ids);
    else k->flat = xmalloc(cap * sizeof *k->flat);
    k->len = xmalloc((size_t)max_b * sizeof *k->len);
    k->off = xmalloc(((size_t)max_b + 1) * sizeof *k->off);
    k->y = xmalloc((size_t)max_b * sizeof *k->y);
    k->logits = xmalloc((size_t)max_b * sizeof *k->logits);
    k->drop = xmalloc((size_t)max_b * sizeof *k->drop);
    k->ws = c->m->arch->ws_new(h, max_b, k->max_t);
    k->grad = grad;
    if (grad) rowset_init(&k->rs, nnmodel_rows(h));
}

static void worker_free(worker *k)
{
    free(k->ids); free(k->flat); free(k->len); free(k->off); free(k->y); free(k->logits);
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
                         .y = k->y, .drop = k->drop_seed ? k->drop : NULL };
    k->loss = m->arch->step(&m->hy, &m->p, k->w, k->ws, &nb, k->dropout, k->emb_dropout, k->logits,
                            k->drop_seed ? k->grad : NULL, k->drop_seed ? &k->rs : NULL, k->norm);
    if (!k->drop_seed) {
        k->loss_sum = bce_forward_backward(NULL, k->logits, k->y, B, 1.0);
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
    uint32_t *perm = xmalloc((nb ? nb : 1) * sizeof *perm);
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

/* ---- models: build, write, load, predict --------------------------------------------- */

static void model_declare(nnmodel *m)
{
    params_init(&m->p);
    m->arch->declare(&m->hy, &m->p);
}

int nnmodel_write(const nnmodel *m, modelio_writer *w, imdb_err *e)
{
    unsigned char hdr[4 * NNMODEL_HDR_WORDS];
    hyper_pack(&m->hy, hdr);
    if (modelio_add(w, "nn.hdr", hdr, sizeof hdr, e) < 0 ||
        modelio_add(w, "nn.w", m->w, m->p.total * sizeof(float), e) < 0 ||
        modelio_add(w, "nn.keys", m->tab.keys, m->tab.cap * 8, e) < 0 ||
        modelio_add(w, "nn.vals", m->tab.vals, m->tab.cap * 4, e) < 0 ||
        modelio_add(w, "nn.vocab", m->vtext, m->vlen, e) < 0)
        return -1;
    return 0;
}

void nnmodel_free(nnmodel *m)
{
    if (!m) return;
    if (m->inf) m->arch->infer_free(m->inf);
    if (m->tab.owned) feat_table_free(&m->tab);
    free(m->w_owned);
    free(m->vtext_owned);
    params_free(&m->p);
    free(m);
}

nnmodel *nnmodel_load(const modelio *mf, const char *kind, imdb_err *e)
{
    const char *name = modelio_name(mf);
    size_t hs, ws, ks, vs, ts;
    const unsigned char *hb = modelio_get(mf, "nn.hdr", &hs);
    const void *wb = modelio_get(mf, "nn.w", &ws);
    const void *kb = modelio_get(mf, "nn.keys", &ks);
    const void *vb = modelio_get(mf, "nn.vals", &vs);
    const char *tb = modelio_get(mf, "nn.vocab", &ts);
    if (!hb || !wb || !kb || !vb || !tb) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: neural model lacks a section (nn.hdr, nn.w, nn.keys, nn.vals, nn.vocab)", name);
        return NULL;
    }
    nnmodel *m = xcalloc(1, sizeof *m);
    if (hyper_unpack(&m->hy, hb, hs, name, e) < 0) goto fail;
    m->arch = archs[m->hy.arch];
    if (strcmp(m->arch->kind, kind) != 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: the model is of kind %s but its header describes a %s", name, kind,
                  m->arch->kind);
        goto fail;
    }
    model_declare(m);
    if (ws != m->p.total * sizeof(float)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.w has %zu bytes, the header implies %zu", name, ws,
                  m->p.total * sizeof(float));
        goto fail;
    }
    m->w = wb;
    uint64_t cap = ks / 8;
    if (ks % 8 || cap == 0 || (cap & (cap - 1)) || vs != cap * 4) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.keys/nn.vals do not form a hash table", name);
        goto fail;
    }
    const uint64_t *keys = kb;
    const int32_t *vals = vb;
    uint64_t used = 0;
    int32_t idmax = m->hy.V + m->hy.unk + m->hy.ngram_rows;
    for (uint64_t i = 0; i < cap; i++) {
        if (!keys[i]) continue;
        used++;
        if (vals[i] < 0 || vals[i] >= idmax || (vals[i] == m->hy.V && m->hy.unk)) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: the word table points outside the embedding", name);
            goto fail;
        }
    }
    if (used >= cap) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: the word table is full", name);
        goto fail;
    }
    m->tab = (feat_table){ .keys = (uint64_t *)keys, .vals = (int32_t *)vals, .cap = cap, .n = used, .owned = 0 };
    for (size_t i = 0; i < m->p.total; i++)
        if (!isfinite(m->w[i])) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: weight %zu is not finite", name, i);
            goto fail;
        }
    m->vtext = tb;
    m->vlen = ts;
    if (m->arch->infer_new) m->inf = m->arch->infer_new(&m->hy, &m->p, m->w);
    return m;
fail:
    nnmodel_free(m);
    return NULL;
}

static double sigmoid_d(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* Scratch of one prediction: on the stack for documents of ordinary length. */
#define STACK_IDS 2048

static double prob_impl(const nnmodel *m, const char *const *toks, size_t ntok, int batched)
{
    uint64_t hs_s[STACK_IDS];
    int32_t ids_s[STACK_IDS];
    size_t cap = ids_cap(&m->hy), L = (size_t)m->hy.max_len;
    size_t need_h = ntok < L ? ntok : L, need_i = need_h * (size_t)m->hy.ngrams;
    uint64_t *hs = need_h <= STACK_IDS ? hs_s : xmalloc(need_h * sizeof *hs);
    int32_t *ids = need_i <= STACK_IDS ? ids_s : xmalloc(cap * sizeof *ids);
    int n = (int)doc_ids(&m->hy, &m->tab, toks, ntok, hs, ids);
    double z;
    if (!batched && m->arch->infer_logit)
        z = m->arch->infer_logit(&m->hy, &m->p, m->w, m->inf, ids, n);
    else {
        void *ws = m->arch->ws_new(&m->hy, 1, n > 0 ? n : 1);
        int32_t len = n;
        int64_t off[2] = { 0, n };
        float y = 0, logit;
        nnmodel_batch b = { .B = 1, .T = n, .ids = ids, .len = &len, .flat = ids, .off = off, .y = &y };
        m->arch->step(&m->hy, &m->p, m->w, ws, &b, 0, 0, &logit, NULL, NULL, 1.0);
        m->arch->ws_free(ws);
        z = logit;
    }
    if (hs != hs_s) free(hs);
    if (ids != ids_s) free(ids);
    return sigmoid_d(z);
}

double nnmodel_prob(const nnmodel *m, const char *const *toks, size_t ntok)
{
    return prob_impl(m, toks, ntok, 0);
}

double nnmodel_prob_batched(const nnmodel *m, const char *const *toks, size_t ntok)
{
    return prob_impl(m, toks, ntok, 1);
}

/* ---- clf_ops --------------------------------------------------------------------------- */

#define CLF_OPS(NAME, KIND) \
    static void *NAME##_load(const modelio *m, imdb_err *e) { return nnmodel_load(m, KIND, e); } \
    const clf_ops nnmodel_##NAME##_clf_ops = { \
        .kind = KIND, .load = NAME##_load, .free = clf_free_nn, .prob = clf_prob_nn, .explain = NULL };

static void clf_free_nn(void *s) { nnmodel_free(s); }
static double clf_prob_nn(const void *s, const char *const *toks, size_t ntok)
{
    return nnmodel_prob(s, toks, ntok);
}
CLF_OPS(lstm, "lstm")
CLF_OPS(bilstm, "bilstm")
CLF_OPS(mlp, "mlp")
CLF_OPS(cnn, "cnn")

/* ---- settings ---------------------------------------------------------------------------- */

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
    [NNMODEL_BILSTM] = { 30000, 2, 1, 400, 64, 5, 32, 3, 50, "tail", "adam", "linear", 2e-3, 0, 5, 0 },
    [NNMODEL_MLP]    = { 100000, 2, 0, 2000, 32, 10, 32, 2, 50, "head", "adam", "linear", 2e-3, 0, 0, 0 },
    [NNMODEL_CNN]    = { 30000, 2, 1, 800, 128, 4, 50, 2, 50, "head", "adam", "linear", 1e-3, 0, 5, 0 },
};

typedef struct tsettings {
    long vocab_size, min_count, epochs, batch, patience, bucket, warmup;
    optim_cfg oc;
    optim_sched sched;
    double clip;
    float dropout, emb_dropout;
} tsettings;

static int read_settings(const nnmodel_arch *a, config *cfg, nnmodel_hyper *hy, tsettings *s, imdb_err *e)
{
    const tdefaults *d = &defaults[a->id];
    long unk, max_len, dim, decoupled;
    double lr, lr_min, momentum, wd;
    const char *trunc, *opt, *sched;
    memset(hy, 0, sizeof *hy);
    memset(s, 0, sizeof *s);
    hy->arch = a->id;
    hy->ngrams = 1;
    if (config_long(cfg, "vocab_size", d->vocab_size, 1, 1L << 26, &s->vocab_size, e) < 0 ||
        config_long(cfg, "min_count", d->min_count, 1, 1L << 40, &s->min_count, e) < 0 ||
        config_long(cfg, "unk", d->unk, 0, 1, &unk, e) < 0 ||
        config_long(cfg, "max_len", d->max_len, 1, NNMODEL_MAX_LEN, &max_len, e) < 0 ||
        config_long(cfg, "dim", d->dim, 1, 4096, &dim, e) < 0 ||
        config_long(cfg, "epochs", d->epochs, 1, 100000, &s->epochs, e) < 0 ||
        config_long(cfg, "batch", d->batch, 1, 4096, &s->batch, e) < 0 ||
        config_long(cfg, "patience", d->patience, 1, 100000, &s->patience, e) < 0 ||
        config_long(cfg, "bucket", d->bucket, 0, 100000, &s->bucket, e) < 0 ||
        config_double(cfg, "lr", d->lr, 1e-12, 1e6, &lr, e) < 0 ||
        config_double(cfg, "lr_min", d->lr_min, 0, 1e6, &lr_min, e) < 0 ||
        config_long(cfg, "warmup", 0, 0, 1L << 40, &s->warmup, e) < 0 ||
        config_double(cfg, "momentum", 0, 0, 0.999, &momentum, e) < 0 ||
        config_double(cfg, "weight_decay", d->weight_decay, 0, 1e3, &wd, e) < 0 ||
        config_long(cfg, "decoupled", 0, 0, 1, &decoupled, e) < 0 ||
        config_double(cfg, "clip", d->clip, 0, 1e9, &s->clip, e) < 0)
        return -1;
    config_string(cfg, "truncate", d->truncate, &trunc);
    config_string(cfg, "optimizer", d->optimizer, &opt);
    config_string(cfg, "lr_schedule", d->schedule, &sched);
    hy->truncate = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(trunc, truncate_names[i]) == 0) hy->truncate = i;
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

/* ---- vocabulary ------------------------------------------------------------------------------ */

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
    uint32_t *entry = xmalloc((nw + ng) * sizeof *entry);
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
    char *t = xmalloc(tlen + 1), *p = t;
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

/* ---- initial embeddings ---------------------------------------------------------------------- */

static int init_embeddings(const nnmodel *m, float *w, const char *path, imdb_err *e)
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
    if (cli_verbose >= 0)
        cli_msg("%s: %zu of %d words initialised from %s", m->arch->kind, found, m->hy.V, path);
    embfile_free(f);
    return 0;
}

/* ---- checkpoints -------------------------------------------------------------------------------- */

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
    return h;
}

static int ckpt_write(const char *path, const nnmodel *m, const run_state *st, const optim *o,
                      const float *w, const float *best, imdb_err *e)
{
    modelio_writer *mw = modelio_create(path, e);
    if (!mw) return -1;
    unsigned char hdr[4 * NNMODEL_HDR_WORDS], s[CKPT_STATE];
    hyper_pack(&m->hy, hdr);
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
        modelio_add(mw, "ckpt.m", o->m, o->m ? bytes : 0, e) < 0 ||
        modelio_add(mw, "ckpt.v", o->v, o->v ? bytes : 0, e) < 0) {
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
    if (hyper_unpack(&h, hb, hs, path, &e2) < 0) {
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
    if (sw != bytes || sb != bytes || sm != (o->m ? bytes : 0) || sv != (o->v ? bytes : 0)) {
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
    if (o->m) memcpy(o->m, pm, bytes);
    if (o->v) memcpy(o->v, pv, bytes);
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

/* ---- training ----------------------------------------------------------------------------------- */

/* Loss per batch above which training is declared diverged: a mean BCE of 50 means the
 * batch is predicted wrong with probabilities of e^-50. */
#define LOSS_EXPLODED 50.0

static void validate(worker *ks, int nt, const uint32_t *va, size_t nva, size_t batch, double *loss,
                     double *acc)
{
    double L = 0;
    long ok = 0;
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
    config *cfg = ctx->cfg;
    tsettings s;
    nnmodel *m = xcalloc(1, sizeof *m);
    m->arch = a;
    worker *ks = NULL;
    float *best = NULL, *grad = NULL, *y = NULL;
    int32_t *ids = NULL;
    int64_t *off = NULL;
    uint32_t *order = NULL, *tmp = NULL, *va = NULL;
    size_t *start = NULL;
    optim o = { 0 };
    progress *pb = NULL;
    int rc = -1, nt = ctx->threads < 1 ? 1 : ctx->threads > 64 ? 64 : ctx->threads;
    long ngram_max = 0;

    if (read_settings(a, cfg, &m->hy, &s, e) < 0) goto done;
    if (m->hy.ngrams > 1 && !m->hy.buckets &&
        config_long(cfg, "ngram_vocab", 1000000, 1, 1L << 26, &ngram_max, e) < 0) goto done;
    if (ctx->ntr == 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "no labelled documents to train on");
        goto done;
    }
    if (build_vocab(m, ctx, &s, ngram_max, e) < 0) goto done;
    const char *why = hyper_invalid(&m->hy);
    if (why) {
        imdb_fail(e, IMDB_EXIT_USAGE, "%s: %s", a->kind, why);
        goto done;
    }
    model_declare(m);
    params_alloc(&m->p);
    float *w = m->w_owned = m->p.data;
    m->p.data = NULL;           /* m->w_owned owns it */
    m->w = w;
    rng init;
    rng_split(&init, ctx->seed, 0x4e4e);
    a->init(&m->hy, &m->p, w, &init);
    if (ctx->init_embeddings && init_embeddings(m, w, ctx->init_embeddings, e) < 0) goto done;

    /* Every document's ids, once. */
    const train_docs *d = ctx->docs;
    size_t nd = d->n, cap = ids_cap(&m->hy), total = 0;
    off = xmalloc((nd + 1) * sizeof *off);
    y = xmalloc((nd + 1) * sizeof *y);
    uint64_t *hs = xmalloc((size_t)m->hy.max_len * sizeof *hs);
    int32_t *buf = xmalloc(cap * sizeof *buf);
    size_t idcap = 1 << 16;
    ids = xmalloc(idcap * sizeof *ids);
    off[0] = 0;
    for (size_t i = 0; i < nd; i++) {
        size_t k = doc_ids(&m->hy, &m->tab, d->tok + d->off[i], d->off[i + 1] - d->off[i], hs, buf);
        while (total + k > idcap) ids = xrealloc(ids, (idcap *= 2) * sizeof *ids);
        memcpy(ids + total, buf, k * sizeof *buf);
        total += k;
        off[i + 1] = (int64_t)total;
        y[i] = d->label[i] == TOKIO_POS ? 1.0f : 0.0f;
    }
    free(hs);
    free(buf);
    corpus c = { m, ids, off, y };

    /* Threads: each its scratch and gradient; BLAS single-threaded under them. */
    blas_set_threads(1);
    size_t batch = (size_t)s.batch;
    int max_b = (int)((batch + (size_t)nt - 1) / (size_t)nt);
    grad = params_mirror(&m->p);
    ks = xcalloc((size_t)nt, sizeof *ks);
    for (int t = 0; t < nt; t++) {
        worker_init(&ks[t], &c, max_b, t == 0 ? grad : params_mirror(&m->p));
        ks[t].w = w;
        ks[t].dropout = s.dropout;
        ks[t].emb_dropout = s.emb_dropout;
    }
    const params_tensor *emb = &m->p.t[0];
    optim_sparse sp = { emb->offset, emb->rows, emb->cols, &ks[0].rs };
    size_t dense_lo = m->p.n > 1 ? m->p.t[1].offset : m->p.total;
    optim_init(&o, &s.oc, m->p.total);

    size_t ntr = ctx->ntr;
    order = xmalloc(ntr * sizeof *order);
    tmp = xmalloc(ntr * sizeof *tmp);
    start = xmalloc((ntr / batch + 2) * sizeof *start);
    memcpy(order, ctx->tr, ntr * sizeof *order);
    size_t nbatches = (ntr + batch - 1) / batch;
    s.sched.total = (long)(nbatches * (size_t)s.epochs);
    va = xmalloc((ctx->nva ? ctx->nva : 1) * sizeof *va);
    memcpy(va, ctx->va, ctx->nva * sizeof *va);
    sort_by_len(va, ctx->nva, off);

    best = params_mirror(&m->p);
    memcpy(best, w, m->p.total * sizeof *w);
    run_state st = { .best_loss = INFINITY };
    rng_split(&st.shuffle, ctx->seed, 0x4e4f);
    st.fingerprint = fingerprint(ctx, &c, nd);
    if (ctx->resume) {
        if (ckpt_read(ctx->resume, m, &st, &o, w, best, st.fingerprint, e) < 0) goto done;
        if (cli_verbose >= 0)
            cli_msg("%s: resuming %s after epoch %u", a->kind, ctx->resume, st.epoch);
    }
    if (cli_verbose > 0)
        cli_msg("%s: %d words%s, %zu embedding rows, %zu weights, %zu ids in %zu documents", a->kind, m->hy.V,
                m->hy.unk ? " + unknown" : "", nnmodel_rows(&m->hy), m->p.total, total, nd);

    for (long ep = (long)st.epoch + 1; ep <= s.epochs && st.since < (uint32_t)s.patience; ep++) {
        /* The order of a pass: the permutation continues from the last one, as the
         * generator does. */
        size_t nb = plan_batches(order, ntr, batch, (size_t)s.bucket, &st.shuffle, off, start, tmp);
        double tl = 0;
        pb = progress_new(a->kind, nb, "batches");
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
                for (size_t i = dense_lo; i < m->p.total; i++) { grad[i] += g[i]; g[i] = 0; }
                for (size_t r = 0; r < ks[t].rs.n; r++) {
                    uint32_t row = ks[t].rs.rows[r];
                    float *dst = grad + emb->offset + (size_t)row * emb->cols;
                    float *src = g + emb->offset + (size_t)row * emb->cols;
                    for (size_t j = 0; j < emb->cols; j++) { dst[j] += src[j]; src[j] = 0; }
                    rowset_add(&ks[0].rs, row);
                }
                rowset_clear(&ks[t].rs);
            }
            double gn = optim_clip(grad, m->p.total, s.clip, &sp, 1);
            if (!isfinite(bl) || !isfinite(gn) || bl > LOSS_EXPLODED) {
                imdb_fail(e, IMDB_EXIT_INTERNAL,
                          "%s: the training loss %s at epoch %ld, batch %zu (loss %g, gradient norm %g); "
                          "lower lr or set clip%s%s", a->kind, isfinite(bl) && isfinite(gn) ? "exploded" : "became NaN",
                          ep, bi + 1, bl, gn, ctx->checkpoint_every ? "; the last good checkpoint is " : "",
                          ctx->checkpoint_every ? ctx->checkpoint : "");
                goto done;
            }
            optim_step(&o, w, grad, (float)optim_lr(&s.sched, (long)st.step), &sp, 1);
            optim_zero_grad(grad, m->p.total, &sp, 1);
            tl += bl * n;
            st.step++;
            progress_update(pb, bi + 1);
        }
        progress_end(pb);
        pb = NULL;
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
        double crit = ctx->nva ? vl : -(double)ep;     /* without validation: the last */
        if (crit < st.best_loss) {
            st.best_loss = crit;
            st.best_epoch = (uint32_t)ep;
            st.since = 0;
            memcpy(best, w, m->p.total * sizeof *w);
        } else if (++st.since >= (uint32_t)s.patience && cli_verbose > 0) {
            cli_msg("%s: early stop: validation loss has not improved since epoch %u", a->kind, st.best_epoch);
        }
        if (ctx->checkpoint_every && ep % ctx->checkpoint_every == 0 &&
            ckpt_write(ctx->checkpoint, m, &st, &o, w, best, e) < 0) goto done;
    }
    if (cli_verbose >= 0) cli_msg("%s: best epoch %u", a->kind, st.best_epoch);
    memcpy(w, best, m->p.total * sizeof *w);
    if (nnmodel_write(m, mw, e) < 0) goto done;
    rc = 0;
done:
    progress_end(pb);
    if (ks) {
        for (int t = 0; t < nt; t++) {
            if (t > 0) free(ks[t].grad);
            worker_free(&ks[t]);
        }
        free(ks);
    }
    optim_free(&o);
    free(grad); free(best); free(y); free(ids); free(off); free(order); free(tmp); free(va); free(start);
    nnmodel_free(m);
    return rc;
}

/* ---- trainers ------------------------------------------------------------------------------------ */

#define COMMON_KEYS \
    "vocab_size", "min_count", "unk", "max_len", "truncate", "dim", "epochs", "batch", "patience", \
    "bucket", "optimizer", "lr", "lr_schedule", "lr_min", "warmup", "momentum", "weight_decay", \
    "decoupled", "clip", "dropout"

static const char *const lstm_keys[] = { COMMON_KEYS, "hidden", "pool", "emb_dropout", NULL };
static const char *const bilstm_keys[] = { COMMON_KEYS, "hidden", "dense", "pool", "emb_dropout", NULL };
static const char *const mlp_keys[] = { COMMON_KEYS, "dense", "ngrams", "buckets", "ngram_vocab", NULL };
static const char *const cnn_keys[] = { COMMON_KEYS, "filters", "widths", "emb_dropout", NULL };

#define TRAINER(NAME, SUMMARY) \
    static int NAME##_train(train_ctx *ctx, modelio_writer *w, imdb_err *e) \
    { return nn_train(&nnmodel_arch_##NAME, ctx, w, e); } \
    const trainer nnmodel_##NAME##_trainer = { \
        .kind = #NAME, .keys = NAME##_keys, .summary = SUMMARY, .train = NAME##_train };

TRAINER(lstm, "word embedding, LSTM, dense 1 (from scratch)")
TRAINER(bilstm, "word embedding, bidirectional LSTM, dense ReLU, dense 1")
TRAINER(mlp, "mean of word and n-gram embeddings, dense ReLU, dense 1 (fastText-like)")
TRAINER(cnn, "word embedding, convolutions of widths 3,4,5, max over time, dense 1 (Kim 2014)")
