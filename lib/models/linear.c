/* linear.c — NB-LR training (dual coordinate descent) and scoring; see linear.h. */
#include "linear.h"
#include "doccache.h"
#include "linear_newton.h"
#include "shard.h"
#include "heldout.h"
#include "recfile.h"
#include "rng.h"
#include "tokio.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- features of one document ---------------------------------------------------- */

void linear_model_init(linear_model *m, int ngrams, const feat_table *t)
{
    linear_slot *slots = imdb_xcalloc((size_t)t->cap, sizeof *slots);
    for (uint64_t i = 0; i < t->cap; i++)
        if (t->keys[i]) slots[i] = (linear_slot){ t->keys[i], t->vals[i], 0 };
    *m = (linear_model){ .ngrams = ngrams, .nfeat = (uint32_t)t->n, .slots = slots, .cap = t->cap,
                         .owned = slots };
}

void linear_model_set_weights(linear_model *m, const float *w)
{
    for (uint64_t i = 0; i < m->cap; i++)
        if (m->owned[i].key) m->owned[i].w = w[m->owned[i].idx];
}

void linear_model_free(linear_model *m)
{
    free(m->owned);
    m->owned = NULL;
    m->slots = NULL;
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

size_t linear_first_of_hash(const uint64_t *keys, size_t n, unsigned char *first)
{
    /* The values that occur more than once, from a sorted copy; then a pass in order. */
    uint64_t *s = imdb_xmalloc((n + 1) * sizeof *s);
    memcpy(s, keys, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_u64);
    size_t nd = 0;
    for (size_t i = 1; i < n; i++)
        if (s[i] && s[i] == s[i - 1] && (nd == 0 || s[nd - 1] != s[i])) s[nd++] = s[i];   /* nd <= i - 1 */
    unsigned char *seen = imdb_xcalloc(nd + 1, 1);
    size_t nfirst = 0;
    for (size_t k = 0; k < n; k++) {
        const uint64_t *d = nd && keys[k] ? bsearch(&keys[k], s, nd, sizeof *s, cmp_u64) : NULL;
        first[k] = !d || !seen[d - s]++;
        nfirst += first[k];
    }
    free(seen);
    free(s);
    return nfirst;
}

void linear_model_from_keys(linear_model *m, int ngrams, const uint64_t *keys, size_t nfeat, size_t expected)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)expected) cap <<= 1;
    linear_slot *slots = imdb_xcalloc((size_t)cap, sizeof *slots);
    for (size_t f = 0; f < nfeat; f++) {
        if (!keys[f]) continue;
        uint64_t i = feat_table_home(keys[f], cap - 1);
        while (slots[i].key) i = (i + 1) & (cap - 1);
        slots[i] = (linear_slot){ keys[f], (int32_t)f, 0 };
    }
    *m = (linear_model){ .ngrams = ngrams, .nfeat = (uint32_t)nfeat, .slots = slots, .cap = cap, .owned = slots };
}

/* The slot holding key, or NULL. Probes at most cap slots (a file may be damaged), each
 * in a chunk checked first when m->lazy (a corrupt one ends the lookup: NULL). */
static inline const linear_slot *find(const linear_model *m, uint64_t key)
{
    uint64_t mask = m->cap - 1, i = feat_table_home(key, mask);
    for (uint64_t probes = 0; probes < m->cap; probes++, i = (i + 1) & mask) {
        if (m->lazy && modelio_need(m->lazy, i * sizeof *m->slots) < 0) return NULL;
        if (m->slots[i].key == key) return &m->slots[i];
        if (m->slots[i].key == 0) return NULL;
    }
    return NULL;
}

static inline void prefetch(const linear_model *m, uint64_t key)
{
    __builtin_prefetch(&m->slots[feat_table_home(key, m->cap - 1)]);
}

/* Hash tokens into th (ntok), then every n-gram into nh (ntok * ngrams) with its position
 * and length, then look them all up, prefetching table slots PREFETCH lookups ahead.
 * Writes the found indices (with repeats) into idx, and their first token position and
 * length into pos/len if pos is not NULL. */
#define PREFETCH 32
static size_t lookup_all(const linear_model *m, const char *const *toks, size_t ntok,
                         uint64_t *th, uint64_t *nh, const linear_slot **hit, uint32_t *pos, int *len)
{
    size_t nn = 0, k = 0;
    for (size_t i = 0; i < ntok; i++) th[i] = feat_hash_token(toks[i], strlen(toks[i]));
    for (size_t i = 0; i < ntok; i++) {
        uint64_t h = th[i];
        for (int n = 1; n <= m->ngrams && i + (size_t)n <= ntok; n++) {
            if (n > 1) h = feat_chain(h, th[i + (size_t)n - 1]);
            nh[nn++] = h;
        }
    }
    for (size_t j = 0; j < nn && j < PREFETCH; j++) prefetch(m, nh[j]);
    size_t i = 0;
    int n = 0;
    for (size_t j = 0; j < nn; j++) {
        if (j + PREFETCH < nn) prefetch(m, nh[j + PREFETCH]);
        /* nh is in (position, length) order: recover both without storing them. */
        if (++n > m->ngrams || i + (size_t)n > ntok) { i++; n = 1; }
        const linear_slot *f = find(m, nh[j]);
        if (f) {
            hit[k] = f;
            if (pos) { pos[k] = (uint32_t)i; len[k] = n; }
            k++;
        }
    }
    return k;
}

/* Insert f into the open-addressing set; 1 if it was new. */
static inline int set_add(uint32_t *set, size_t cap, uint32_t f)
{
    size_t j = (f * 2654435761u) & (cap - 1);
    while (set[j] != UINT32_MAX) {
        if (set[j] == f) return 0;
        j = (j + 1) & (cap - 1);
    }
    set[j] = f;
    return 1;
}

/* linear_logit's scratch, one per thread (pthread key, freed at thread exit), grown to
 * the largest document seen: nothing is allocated or cleared per call. The set of
 * features seen in the current document holds (gen << 32 | idx) entries: an entry of
 * another generation is empty, so a new document starts with gen + 1 instead of a memset. */
typedef struct lscratch {
    uint64_t *th, *key;   /* (tcap), (fcap): token hashes, n-gram hashes */
    uint64_t *home;       /* (fcap): their home slots */
    uint64_t *set;        /* (scap), scap a power of two >= 2 * fcap */
    size_t tcap, fcap, scap;
    uint32_t gen;
} lscratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void lscratch_free(void *p)
{
    lscratch *s = p;
    if (!s) return;
    free(s->th); free(s->key); free(s->home); free(s->set);
    free(s);
}

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, lscratch_free) == 0;
}

/* The calling thread's scratch, grown for ntok tokens and nf n-grams; NULL if out of
 * memory (or out of thread-specific keys), the scratch then left consistent (a buffer
 * that could not grow is freed, its capacity 0). */
__attribute__((noinline)) static lscratch *lscratch_get(size_t ntok, size_t nf)
{
    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok) return NULL;
    lscratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        if (!(s = calloc(1, sizeof *s))) return NULL;
        if (pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (ntok > s->tcap) {
        free(s->th);
        s->tcap = 0;
        if (!(s->th = malloc((ntok + ntok / 2) * sizeof *s->th))) return NULL;
        s->tcap = ntok + ntok / 2;
    }
    if (nf > s->fcap) {
        free(s->key); free(s->home);
        s->fcap = 0;
        s->key = malloc((nf + nf / 2) * sizeof *s->key);
        s->home = malloc((nf + nf / 2) * sizeof *s->home);
        if (!s->key || !s->home) {
            free(s->key); free(s->home);
            s->key = s->home = NULL;
            return NULL;
        }
        s->fcap = nf + nf / 2;
    }
    if (s->scap < 2 * nf || s->scap < 64) {
        size_t cap = 64;
        while (cap < 2 * nf) cap *= 2;
        free(s->set);
        s->scap = 0;
        if (!(s->set = calloc(cap, sizeof *s->set))) return NULL;   /* generation 0: never current */
        s->scap = cap;
        s->gen = 0;
    }
    if (++s->gen == 0) {   /* wrapped after 2^32 documents: clear once */
        memset(s->set, 0, s->scap * sizeof *s->set);
        s->gen = 1;
    }
    return s;
}

/* Add idx to the current generation's set; 1 if it was new. */
static inline int gen_add(uint64_t *set, size_t mask, uint64_t gen, uint32_t idx)
{
    uint64_t want = gen << 32 | idx;
    for (size_t j = (idx * 2654435761u) & mask;; j = (j + 1) & mask) {
        uint64_t v = set[j];
        if (v == want) return 0;
        if (v >> 32 != gen) {
            set[j] = want;
            return 1;
        }
    }
}

/* Out of memory: clf.h's convention. Out of line, so the hot loop's code stays as it was. */
__attribute__((cold, noinline)) static double logit_nomem(void)
{
    errno = ENOMEM;
    return NAN;
}

/* The fast path: the same n-grams in the same (position, length) order as lookup_all,
 * and the same sum (first occurrence of each feature, in that order), so the logit is
 * the same double; without the hit array, the per-call memset and the position
 * bookkeeping only --explain needs. */
/* linear_logit's loop; lz NULL (a constant once inlined) leaves out every chunk check. */
static inline __attribute__((always_inline)) double logit_impl(const linear_model *m, const char *const *toks,
                                                               size_t ntok, const modelio_lazy *lz)
{
    int ng = m->ngrams;
    size_t nf = ntok * (size_t)ng;
    lscratch *s = lscratch_get(ntok, nf);
    if (__builtin_expect(!s, 0)) return logit_nomem();
    uint64_t *th = s->th, *key = s->key, *home = s->home, *set = s->set;
    const linear_slot *slots = m->slots;
    uint64_t mask = m->cap - 1, smask = s->scap - 1, gen = s->gen;
    for (size_t i = 0; i < ntok; i++) th[i] = feat_hash_token(toks[i], strlen(toks[i]));
    size_t nn = 0;
    for (size_t i = 0; i < ntok; i++) {
        uint64_t h = th[i];
        size_t lim = ntok - i < (size_t)ng ? ntok - i : (size_t)ng;
        key[nn] = h;
        home[nn++] = feat_table_home(h, mask);
        for (size_t n = 1; n < lim; n++) {
            h = feat_chain(h, th[i + n]);
            key[nn] = h;
            home[nn++] = feat_table_home(h, mask);
        }
    }
    for (size_t j = 0; j < nn && j < PREFETCH; j++) __builtin_prefetch(&slots[home[j]]);
    double z = m->bias;
    for (size_t j = 0; j < nn; j++) {
        if (j + PREFETCH < nn) __builtin_prefetch(&slots[home[j + PREFETCH]]);
        uint64_t k = key[j], i = home[j];
        /* At most cap probes: a table from a file might be full or damaged. */
        for (uint64_t probes = 0; probes < m->cap; probes++, i = (i + 1) & mask) {
            if (lz && modelio_need(lz, i * sizeof *slots) < 0) return NAN;
            const linear_slot *f = &slots[i];
            if (f->key == k) {
                if (gen_add(set, smask, gen, (uint32_t)f->idx)) z += f->w;
                break;
            }
            if (f->key == 0) break;
        }
    }
    return z;
}

double linear_logit(const linear_model *m, const char *const *toks, size_t ntok)
{
    /* Each probe checks its chunk until every chunk is known good (a lazy load's first
     * reviews); from then on, and always after an eager load, the loop has no checks. */
    if (m->lazy && !modelio_all_good(m->lazy)) return logit_impl(m, toks, ntok, m->lazy);
    return logit_impl(m, toks, ntok, NULL);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint32_t *a, size_t n)
{
    if (!n) return 0;
    qsort(a, n, sizeof *a, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[k - 1]) a[k++] = a[i];
    return k;
}

double linear_logit_naive(const linear_model *m, const char *const *toks, size_t ntok)
{
    /* The weight scan below reads every slot. */
    for (uint64_t i = 0; m->lazy && i < m->cap; i += MODELIO_CHUNK / sizeof *m->slots)
        if (modelio_need(m->lazy, i * sizeof *m->slots) < 0) return NAN;
    uint32_t *idx = imdb_xmalloc((ntok * (size_t)m->ngrams + 1) * sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < ntok; i++) {
        size_t len = 0;
        char *text = NULL;
        for (int n = 1; n <= m->ngrams && i + (size_t)n <= ntok; n++) {
            const char *t = toks[i + (size_t)n - 1];
            size_t tl = strlen(t);
            text = imdb_xrealloc(text, len + tl + 2);
            if (n > 1) text[len++] = ' ';
            memcpy(text + len, t, tl);
            len += tl;
            const linear_slot *f = find(m, feat_hash_ngram(text, len));
            if (f) idx[k++] = (uint32_t)f->idx;
        }
        free(text);
    }
    k = sort_unique(idx, k);
    /* Weights by index, from a plain scan of the slots. */
    float *w = imdb_xcalloc(m->nfeat + 1, sizeof *w);
    for (uint64_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) w[m->slots[i].idx] = m->slots[i].w;
    double z = m->bias;
    for (size_t i = 0; i < k; i++) z += w[idx[i]];
    free(w);
    free(idx);
    return z;
}

size_t linear_features(const linear_model *m, const char *const *toks, size_t ntok, uint32_t *idx)
{
    size_t nf = ntok * (size_t)m->ngrams;
    uint64_t *th = imdb_xmalloc((ntok ? ntok : 1) * sizeof *th), *nh = imdb_xmalloc((nf ? nf : 1) * sizeof *nh);
    const linear_slot **hit = imdb_xmalloc((nf ? nf : 1) * sizeof *hit);
    size_t k = lookup_all(m, toks, ntok, th, nh, hit, NULL, NULL);
    for (size_t i = 0; i < k; i++) idx[i] = (uint32_t)hit[i]->idx;
    free(hit);
    free(th);
    free(nh);
    return sort_unique(idx, k);
}

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }
/* log(1 + exp(-y z)) for y in {-1, +1}, stable. */
static double logloss(double z, int y)
{
    double t = -y * z;
    return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

/* ---- clf_ops: a model mapped from a file ------------------------------------------- */

typedef struct hdr {
    uint32_t ngrams, nfeat;
    float bias;
    uint64_t cap, nkeys;
} hdr;
#define HDR_SIZE 28

_Static_assert(sizeof(linear_slot) == 16, "nblr.slots is an array of 16-byte records");

/* The contents of one chunk of nblr.slots (run after its CRC, on first use): every used
 * slot's index below nfeat and its weight finite, so lookups use them as they are. */
static int check_slots(const void *ctx, const unsigned char *p, size_t off, size_t n, imdb_err *e)
{
    const linear_model *m = ctx;
    const linear_slot *s = (const linear_slot *)(const void *)p;
    for (size_t i = 0; i < n / sizeof *s; i++)
        if (s[i].key && (s[i].idx < 0 || (uint32_t)s[i].idx >= m->nfeat || !isfinite(s[i].w)))
            return imdb_fail(e, IMDB_EXIT_DATA, "nblr slot %llu is corrupt",
                             (unsigned long long)(off / sizeof *s + i));
    return 0;
}

typedef struct lin_state {
    linear_model m;      /* first: the state is a linear_model for lin_prob */
    uint64_t nkeys;      /* the header's count of used slots, checked by lin_verify */
    const modelio *mf;   /* holds check_slots with &m until lin_free */
} lin_state;

/* The slots are checked chunk by chunk as lookups reach them (check_slots); loading reads
 * the header only, so a model of any size opens in microseconds. */
static void *lin_load(const modelio *mf, imdb_err *e)
{
    size_t hs, ss;
    const void *hp;
    const char *name = modelio_name(mf);
    int r = modelio_find(mf, "nblr.hdr", &hp, &hs, e);
    if (r < 0) return NULL;
    const unsigned char *h = r ? hp : NULL;
    const linear_slot *slots = modelio_get_lazy(mf, "nblr.slots", &ss, NULL, NULL, NULL);
    if (!h || !slots || hs != HDR_SIZE) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: nblr model lacks a section or has a bad header", name);
        return NULL;
    }
    hdr H;
    H.ngrams = get_u32le(h);
    H.nfeat = get_u32le(h + 4);
    uint32_t b = get_u32le(h + 8);
    memcpy(&H.bias, &b, 4);
    H.cap = get_u64le(h + 12);
    H.nkeys = get_u64le(h + 20);
    if (H.ngrams < 1 || H.ngrams > 8 || H.cap == 0 || (H.cap & (H.cap - 1)) || H.nkeys >= H.cap ||
        H.cap > SIZE_MAX / 16 || ss != H.cap * 16 || !isfinite(H.bias)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: nblr model sections are inconsistent with its header", name);
        return NULL;
    }
    lin_state *st = calloc(1, sizeof *st);
    if (!st) {
        imdb_fail(e, IMDB_EXIT_NOMEM, "%s: out of memory loading the model", name);
        return NULL;
    }
    st->m = (linear_model){ .ngrams = (int)H.ngrams, .nfeat = H.nfeat, .bias = H.bias, .slots = slots,
                            .cap = H.cap };
    st->nkeys = H.nkeys;
    st->mf = mf;
    modelio_get_lazy(mf, "nblr.slots", NULL, check_slots, &st->m, &st->m.lazy);
    return st;
}

/* What the chunks' checks cannot see: the number of used slots. Only in a full check: a
 * wrong count harms no lookup (they stop after cap probes), and loading stays one pass. */
static int lin_verify(const void *state, int full, const char *name, imdb_err *e)
{
    const lin_state *st = state;
    if (!full) return 0;
    uint64_t used = 0;
    for (uint64_t i = 0; i < st->m.cap; i++) used += st->m.slots[i].key != 0;
    if (used != st->nkeys)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: nblr table holds %llu n-grams, its header says %llu", name,
                         (unsigned long long)used, (unsigned long long)st->nkeys);
    return 0;
}

static void lin_free(void *state)
{
    lin_state *st = state;
    /* The file may outlive the state (linear_average): take check_slots back. */
    modelio_get_lazy(st->mf, "nblr.slots", NULL, NULL, NULL, NULL);
    linear_model_free(&st->m);
    free(st);
}

static double lin_prob(const void *state, const char *const *toks, size_t ntok)
{
    return sigmoid(linear_logit(state, toks, ntok));
}

static size_t lin_explain(const void *state, const char *const *toks, size_t ntok,
                          clf_contrib *out, size_t k)
{
    const linear_model *m = state;
    size_t nf = ntok * (size_t)m->ngrams;
    uint64_t *th = malloc((ntok ? ntok : 1) * sizeof *th), *nh = malloc((nf ? nf : 1) * sizeof *nh);
    const linear_slot **hit = malloc((nf ? nf : 1) * sizeof *hit);
    uint32_t *pos = malloc((nf ? nf : 1) * sizeof *pos);
    int *len = malloc((nf ? nf : 1) * sizeof *len);
    size_t setcap = 16;
    while (setcap < 2 * nf) setcap *= 2;
    uint32_t *set = malloc(setcap * sizeof *set);
    clf_contrib *all = NULL;
    if (!th || !nh || !hit || !pos || !len || !set) {
        k = CLF_NOMEM;
        goto done;
    }
    memset(set, 0xff, setcap * sizeof *set);
    size_t n = lookup_all(m, toks, ntok, th, nh, hit, pos, len), nc = 0;
    if (!(all = malloc((n ? n : 1) * sizeof *all))) {
        k = CLF_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (set_add(set, setcap, (uint32_t)hit[i]->idx))   /* first occurrence of each feature */
            all[nc++] = (clf_contrib){ .start = pos[i], .n = len[i], .weight = hit[i]->w };
    qsort(all, nc, sizeof *all, clf_contrib_cmp);
    if (k > nc) k = nc;
    memcpy(out, all, k * sizeof *all);
done:
    free(all); free(set); free(len); free(pos); free(hit); free(nh); free(th);
    return k;
}

const clf_ops linear_clf_ops = {
    .kind = "nblr",
    .load = lin_load,
    .free = lin_free,
    .prob = lin_prob,
    .explain = lin_explain,
    .verify = lin_verify,
};

/* ---- training ------------------------------------------------------------------------ */

/* The training data path, in bounded memory (imdb-train --memory; issue 22):
 *  1. one streaming pass over the token streams: each document's distinct known features
 *     (linear_features) go into a document cache (doccache.h) in input order, and only a
 *     few numbers a document stay in memory (its target, the id's hash);
 *  2. documents are numbered (input order, or id order with --sort-by-id), split, and
 *     laid out in a seeded random order into blocks of block_docs documents: the final
 *     cache, copied from the first in one pass (through a buffer, or a scratch file
 *     when the budget leaves less room than the cache takes). The layout depends on the
 *     data, block_docs and the seed only;
 *  3. dual coordinate descent visits the blocks in a shuffled order each epoch and the
 *     instances of each block in a shuffled order, one block in memory at a time
 *     (block minimization, Yu, Hsieh, Chang and Lin, KDD 2010); the naive Bayes counts,
 *     the solver's set-up and the validation loss are passes over the blocks.
 * What is held per document: the dual variables (two per instance), the squared norm and
 * the prior's offset, the target and a role byte, about 50 bytes; per feature: the ratio
 * r, the primal u, the scoring weights and the best epoch's, 32 bytes. --memory bounds
 * the whole (see imdb-train(1)); the rest of the budget keeps cache blocks resident. */

typedef struct lin_data {
    doccache *dc;
    size_t m;            /* documents, numbered 0 .. m-1 (the num of cache records) */
    const double *t;     /* (m) targets P(pos) */
} lin_data;

enum { ROLE_NONE = 0, ROLE_TRAIN = 1, ROLE_VALID = 2 };

static const char *const lin_keys[] = {
    "ngrams", "alpha", "c", "prior", "beta", "epochs", "patience", "tol", "min_df",
    "heldout_folds", "block_docs", "class_weight_nb", "solver", "newton_eps", "newton_iter", "newton_c",
    "newton_prior", NULL
};

/* Mean log loss (cross-entropy against the targets t, P(pos) in [0, 1]) and accuracy
 * (against t rounded at 0.5) of weights (v, bias) over the documents of role ROLE_TRAIN
 * (if tl is not NULL) and of role ROLE_VALID, in one pass over the blocks. */
static int evaluate(const lin_data *D, const double *v, double bias, const uint8_t *role, double *tl, double *ta,
                    double *vl, double *va, imdb_err *e)
{
    double L[3] = { 0, 0, 0 };
    size_t ok[3] = { 0, 0, 0 }, cnt[3] = { 0, 0, 0 };
    const double *t = D->t;
    for (size_t b = 0; b < doccache_blocks(D->dc); b++) {
        doccache_block B;
        if (doccache_read(D->dc, b, &B, e) < 0) return -1;
        for (size_t j = 0; j < B.n; j++) {
            size_t i = B.num[j];
            int r = role[i];
            if (r == ROLE_NONE || (r == ROLE_TRAIN && !tl)) continue;
            double z = bias;
            for (size_t p = B.off[j]; p < B.off[j + 1]; p++) z += v[B.feat[p]];
            L[r] += t[i] == 1 ? logloss(z, 1) : t[i] == 0 ? logloss(z, -1)
                    : t[i] * logloss(z, 1) + (1 - t[i]) * logloss(z, -1);
            ok[r] += (z >= 0) == (t[i] >= 0.5);
            cnt[r]++;
        }
    }
    if (tl) {
        *tl = cnt[1] ? L[1] / (double)cnt[1] : NAN;
        *ta = cnt[1] ? (double)ok[1] / (double)cnt[1] : NAN;
    }
    *vl = cnt[2] ? L[2] / (double)cnt[2] : NAN;
    *va = cnt[2] ? (double)ok[2] / (double)cnt[2] : NAN;
    return 0;
}

/* The solver's settings. */
typedef struct lin_set {
    double alpha, C, prior, beta, tol;
    long epochs, patience;
    /* Class weights ([0] neg, [1] pos; train_ctx.bal): an instance of class k has the box
     * [0, C w_k] (liblinear's -wi); with nb_weighted the NB ratios count documents with
     * them too. { 1, 1 } and 0 without class weights. */
    double cw[2];
    int nb_weighted;
    /* solver = tron (linear_newton.h): its tolerance, iterations, the ranks' checksum */
    int newton;
    double newton_eps;
    long newton_iter;
    int newton_hold;   /* no --memory: the solver keeps the decoded documents */
    int newton_threads;   /* --threads, for its passes (held documents only) */
    uint64_t fingerprint;
} lin_set;

static int newton_fit(const lin_data *D, uint32_t nfeat, const lin_set *S, const uint8_t *role, trainlog *tlog,
                      const imdb_log *lg, double *best, double *best_b, int *best_epoch_out, imdb_err *e);

/* Fit on the documents of role ROLE_TRAIN (targets t = P(pos) in [0, 1]: 1 or 0 for
 * hard labels), early stopping on those of role ROLE_VALID, the block and instance orders
 * drawn from rng stream (seed, stream). best (nfeat) receives the scoring weights v =
 * (u + prior) * r of the best epoch, *best_b the bias. With tlog == NULL (the cross-fitting
 * folds) nothing is said (lg is not used) or logged. Fails when the log does, or when a
 * block of the cache cannot be read.
 *
 * Soft labels: the loss of document i is the cross-entropy
 *   t_i log(1 + exp(-z_i)) + (1 - t_i) log(1 + exp(z_i)),
 * which is the loss of two weighted instances, (x_i, +1) with weight t_i and (x_i, -1)
 * with weight 1 - t_i. The dual of weighted L2 logistic regression is liblinear's with
 * each instance's box [0, C] made [0, C w_k], so one solver serves both: a hard label is
 * one instance of weight 1, a soft one two. The NB ratios count a document t_i times as
 * positive and 1 - t_i times as negative. Class weights multiply the boxes of a class's
 * instances (C_i = C w_k t_i), and with nb_weighted its NB counts, by w_k. */
static int fit(const lin_data *D, uint32_t nfeat, const lin_set *S, const uint8_t *role, uint64_t seed,
               uint64_t stream, trainlog *tlog, const imdb_log *lg, double *best, double *best_b,
               int *best_epoch_out, imdb_err *e)
{
    if (S->newton) return newton_fit(D, nfeat, S, role, tlog, lg, best, best_b, best_epoch_out, e);
    double alpha = S->alpha, C0 = S->C, prior = S->prior, beta = S->beta, tol = S->tol;
    long epochs = S->epochs, patience = S->patience;
    double wn = S->cw[0], wp = S->cw[1], nbn = S->nb_weighted ? wn : 1, nbp = S->nb_weighted ? wp : 1;
    const double *t = D->t;
    size_t m = D->m, nb = doccache_blocks(D->dc), bd = doccache_block_docs(D->dc);
    doccache_block B;
    int rc = 0;
    /* NB log-count ratios from the training part only. */
    double *P = imdb_xcalloc(nfeat, sizeof *P), *N = imdb_xcalloc(nfeat, sizeof *N);
    for (size_t b = 0; b < nb && rc == 0; b++) {
        if ((rc = doccache_read(D->dc, b, &B, e)) < 0) break;
        for (size_t j = 0; j < B.n; j++) {
            size_t i = B.num[j];
            if (role[i] != ROLE_TRAIN) continue;
            double ti = t[i];
            for (size_t p = B.off[j]; p < B.off[j + 1]; p++) {
                if (ti > 0) P[B.feat[p]] += nbp * ti;
                if (ti < 1) N[B.feat[p]] += nbn * (1 - ti);
            }
        }
    }
    double sp = 0, sn = 0;
    for (uint32_t f = 0; f < nfeat; f++) { sp += alpha + P[f]; sn += alpha + N[f]; }
    double *r = P;   /* in place: one array fewer at 20 million features */
    for (uint32_t f = 0; f < nfeat; f++)
        r[f] = log((alpha + P[f]) / sp) - log((alpha + N[f]) / sn);
    free(N);

    /* The instances: a training document k has one (hard label: sign +1 for pos, -1 for
     * neg) or two (soft: +1 with box C t_k, -1 with box C (1 - t_k)), the first at kof[k]. */
#define NINST(ti) (((ti) > 0 && (ti) < 1) ? 2u : 1u)
    uint32_t *kof = imdb_xmalloc((m + 1) * sizeof *kof);
    size_t l = 0;
    for (size_t i = 0; i < m; i++) {
        kof[i] = (uint32_t)l;
        if (role[i] == ROLE_TRAIN) l += NINST(t[i]);
    }
    /* Dual coordinate descent for L2-regularized logistic regression on x_f = r_f, with
     * a bias feature of value 1 (liblinear's solve_l2r_lr_dual). u holds the primal
     * weights in the scaled space: the score of document i is sum u[f] r[f] + u_b. */
    double *u = imdb_xcalloc(nfeat, sizeof *u), ub = 0;
    double *alph = imdb_xmalloc((2 * l + 1) * sizeof *alph), *xx = imdb_xcalloc(m + 1, sizeof *xx);
    double *off = imdb_xcalloc(m + 1, sizeof *off);   /* prior * sum of r over the document */
    for (size_t b = 0; b < nb && rc == 0; b++) {
        if ((rc = doccache_read(D->dc, b, &B, e)) < 0) break;
        for (size_t j = 0; j < B.n; j++) {
            size_t i = B.num[j];
            if (role[i] != ROLE_TRAIN) continue;
            double q = 1, o = 0;
            for (size_t p = B.off[j]; p < B.off[j + 1]; p++) {
                q += r[B.feat[p]] * r[B.feat[p]];
                o += prior * r[B.feat[p]];
            }
            xx[i] = q;
            off[i] = o;
            for (unsigned h = 0; h < NINST(t[i]); h++) {
                size_t s = kof[i] + h;
                double ys = (h == 0 && t[i] > 0) ? 1 : -1;
                double C = (t[i] > 0 && t[i] < 1 ? (ys > 0 ? C0 * t[i] : C0 * (1 - t[i])) : C0) * (ys > 0 ? wp : wn);
                alph[2 * s] = fmin(0.001 * C, 1e-8);
                alph[2 * s + 1] = C - alph[2 * s];
                for (size_t p = B.off[j]; p < B.off[j + 1]; p++) u[B.feat[p]] += ys * alph[2 * s] * r[B.feat[p]];
                ub += ys * alph[2 * s];
            }
        }
    }
    uint32_t *border = imdb_xmalloc((nb + 1) * sizeof *border);
    uint32_t *inst = imdb_xmalloc((2 * bd + 1) * sizeof *inst);   /* of one block: j << 1 | negative */
    for (size_t b = 0; b < nb; b++) border[b] = (uint32_t)b;
    rng g;
    rng_split(&g, seed, stream);
    /* v = u * r is what scoring uses; keep the best by validation loss. Without
     * validation the last epoch's is kept: v is then best itself. */
    size_t nva = 0;
    for (size_t i = 0; i < m; i++) nva += role[i] == ROLE_VALID;
    double *v = nva ? imdb_xmalloc(nfeat * sizeof *v) : best;
    double best_loss = INFINITY, innereps = 1e-2, innereps_min = fmin(1e-8, tol);
    int best_epoch = 0, since = 0;
    *best_b = 0;
    memset(best, 0, nfeat * sizeof *best);
    if (!tlog) lg = NULL;
    imdb_progress pb = imdb_progress_begin(lg, "nblr", (uint64_t)epochs, "epochs");
    for (long ep = 1; ep <= epochs && rc == 0; ep++) {
        rng_shuffle_u32(&g, border, nb);
        double Gmax = 0;
        size_t newton_iter = 0;
        for (size_t bi = 0; bi < nb && rc == 0; bi++) {
            if ((rc = doccache_read(D->dc, border[bi], &B, e)) < 0) break;
            size_t ni = 0;
            for (size_t j = 0; j < B.n; j++) {
                double ti = t[B.num[j]];
                if (role[B.num[j]] != ROLE_TRAIN) continue;
                if (ti > 0) inst[ni++] = (uint32_t)(j << 1);
                if (ti < 1) inst[ni++] = (uint32_t)(j << 1 | 1);
            }
            rng_shuffle_u32(&g, inst, ni);
            for (size_t it = 0; it < ni; it++) {
                size_t j = inst[it] >> 1, i = B.num[j];
                const uint32_t *fx = B.feat + B.off[j], *fend = B.feat + B.off[j + 1];
                double ti = t[i], yi = inst[it] & 1 ? -1 : 1;
                size_t s = kof[i] + ((inst[it] & 1) && ti > 0);
                double C = (ti > 0 && ti < 1 ? (yi > 0 ? C0 * ti : C0 * (1 - ti)) : C0) * (yi > 0 ? wp : wn);
                double wx = ub + off[i];
                for (const uint32_t *p = fx; p < fend; p++) wx += u[*p] * r[*p];
                double a = xx[i], b = yi * wx;
                size_t i1 = 2 * s, i2 = 2 * s + 1;
                double sign = 1;
                if (0.5 * a * (alph[i2] - alph[i1]) + b < 0) { i1 = 2 * s + 1; i2 = 2 * s; sign = -1; }
                double a_old = alph[i1], z = a_old;
                if (C - z < 0.5 * C) z = 0.1 * z;
                double gp = a * (z - a_old) + sign * b + log(z / (C - z));
                Gmax = fmax(Gmax, fabs(gp));
                int inner = 0;
                while (inner <= 100 && fabs(gp) >= innereps) {
                    double gpp = a + C / (C - z) / z, tz = z - gp / gpp;
                    z = tz <= 0 ? z * 0.1 : tz;
                    gp = a * (z - a_old) + sign * b + log(z / (C - z));
                    newton_iter++;
                    inner++;
                }
                if (inner > 0) {
                    alph[i1] = z;
                    alph[i2] = C - z;
                    double step = sign * (z - a_old) * yi;
                    for (const uint32_t *p = fx; p < fend; p++) u[*p] += step * r[*p];
                    ub += step;
                }
            }
        }
        if (rc < 0) break;
        if (newton_iter <= l / 10) innereps = fmax(innereps_min, 0.1 * innereps);
        for (uint32_t f = 0; f < nfeat; f++) v[f] = (u[f] + prior) * r[f];
        double tl = NAN, ta, vl, va_acc;
        if ((rc = evaluate(D, v, ub, role, tlog ? &tl : NULL, &ta, &vl, &va_acc, e)) < 0) break;
        imdb_progress_update(&pb, (uint64_t)ep);
        if (tlog && trainlog_epoch(tlog, (int)ep, (int)epochs, tl, vl, va_acc, e) < 0) { rc = -1; break; }
        double crit = nva ? vl : -(double)ep;   /* without validation: keep the last */
        if (crit < best_loss) {
            best_loss = crit;
            best_epoch = (int)ep;
            if (v != best) memcpy(best, v, nfeat * sizeof *v);
            *best_b = ub;
            since = 0;
        } else if (++since >= patience) {
            imdb_logf(lg, IMDB_LOG_VERBOSE, "early stop: validation loss has not improved since epoch %d", best_epoch);
            break;
        }
        if (Gmax < tol) {
            imdb_logf(lg, IMDB_LOG_VERBOSE, "converged at epoch %ld (max gradient %.3g < tol %g)", ep, Gmax, tol);
            break;
        }
    }
#undef NINST
    imdb_progress_end(&pb);

    /* NBSVM interpolation (Wang & Manning): w' = (1 - beta) mean|u| + beta u, in u space. */
    if (rc == 0 && beta < 1) {
        double mean = 0;
        for (uint32_t f = 0; f < nfeat; f++) mean += fabs(best[f] / (r[f] != 0 ? r[f] : 1));
        mean /= nfeat;
        for (uint32_t f = 0; f < nfeat; f++) best[f] = ((1 - beta) * mean + beta * best[f] / (r[f] != 0 ? r[f] : 1)) * r[f];
    }
    *best_epoch_out = best_epoch;
    if (v != best) free(v);
    free(border); free(inst); free(alph); free(xx); free(off); free(u); free(r); free(kof);
    return rc;
}

/* solver = tron: the same objective solved in the primal by linear_newton.h, over the
 * ranks of lnewton_get_comm() under MPI. Converges instead of stopping early: the
 * validation part (if any) is only reported. */
static int newton_fit(const lin_data *D, uint32_t nfeat, const lin_set *S, const uint8_t *role, trainlog *tlog,
                      const imdb_log *lg, double *best, double *best_b, int *best_epoch_out, imdb_err *e)
{
    const lnewton_comm *cm = lnewton_get_comm();
    lnewton_set NS = { .alpha = S->alpha, .C = S->C, .prior = S->prior, .eps = S->newton_eps,
                       .max_iter = S->newton_iter, .fingerprint = S->fingerprint, .hold = S->newton_hold,
                       .threads = S->newton_threads };
    lnewton *L = lnewton_new(D->dc, D->m, D->t, role, ROLE_TRAIN, nfeat, &NS, cm, e);
    if (!L) return -1;
    double *x = imdb_xmalloc(((size_t)nfeat + 1) * sizeof *x), tl = NAN, ta, vl, va;
    lnewton_stats st;
    int rc = lnewton_solve(L, x, tlog ? lg : NULL, &st, e);
    if (rc == 0) {
        lnewton_weights(L, x, best, best_b);
        *best_epoch_out = (int)st.iter;
        if (tlog) {
            imdb_logf(lg, IMDB_LOG_INFO, "nblr: Newton (TRON) on %llu documents over %d rank%s: %ld iterations, "
                      "%ld Hessian-vector products, objective %.10g, |grad| %.3g (%.3g at 0), %.2f s (CPU %.2f s), %llu "
                      "bytes reduced in %llu calls (%.2f s)", (unsigned long long)st.docs, cm ? cm->size : 1,
                      cm && cm->size > 1 ? "s" : "", st.iter, st.cg, st.f, st.gnorm, st.gnorm0, st.seconds,
                      st.cpu_seconds, (unsigned long long)st.reduce_bytes, (unsigned long long)st.reduces,
                      st.reduce_seconds);
            if ((rc = evaluate(D, best, *best_b, role, &tl, &ta, &vl, &va, e)) == 0)
                rc = trainlog_epoch(tlog, 1, 1, tl, vl, va, e);
        }
    }
    free(x);
    lnewton_free(L);
    return rc;
}

/* P(pos) under (w, b) into prob[k] for every document k with want[k] == value: one pass. */
static int score_docs(const lin_data *D, const double *w, double b, const uint8_t *want, uint8_t value,
                      double *prob, imdb_err *e)
{
    for (size_t blk = 0; blk < doccache_blocks(D->dc); blk++) {
        doccache_block B;
        if (doccache_read(D->dc, blk, &B, e) < 0) return -1;
        for (size_t j = 0; j < B.n; j++) {
            if (want[B.num[j]] != value) continue;
            double z = b;
            for (size_t p = B.off[j]; p < B.off[j + 1]; p++) z += w[B.feat[p]];
            prob[B.num[j]] = 1 / (1 + exp(-z));
        }
    }
    return 0;
}

/* Cross-fitting (heldout_folds = K): the training part in K seeded folds, a model with the
 * same settings on each K-1 of them predicting the one left out; the validation part is
 * predicted by the final model (w, b), which never trained on it. Adds section "heldout"
 * (key: the documents' id hashes, by number). */
static int crossfit(train_ctx *ctx, const lin_data *D, const uint64_t *key, uint32_t nfeat, const lin_set *S,
                    long K, const double *w, double b, modelio_writer *mw, imdb_err *e)
{
    size_t ntr = ctx->ntr, nva = ctx->nva, n = ntr + nva, m = D->m;
    if (ntr < (size_t)K)
        return imdb_fail(e, IMDB_EXIT_DATA, "heldout_folds = %ld needs at least %ld training documents, "
                         "there are %zu", K, K, ntr);
    uint32_t *docs = imdb_xmalloc((n + 1) * sizeof *docs);
    double *prob = imdb_xcalloc(m + 1, sizeof *prob), *fw = imdb_xmalloc(nfeat * sizeof *fw);
    double *hp = imdb_xmalloc((n + 1) * sizeof *hp);
    uint64_t *hk = imdb_xmalloc((n + 1) * sizeof *hk);
    int *hl = imdb_xmalloc((n + 1) * sizeof *hl);
    uint8_t *fold = imdb_xmalloc(m + 1), *role = imdb_xmalloc(m + 1);
    memcpy(docs, ctx->tr, ntr * sizeof *docs);
    rng g;
    rng_split(&g, ctx->seed, 0xf01d);
    rng_shuffle_u32(&g, docs, ntr);
    memset(fold, 0xff, m + 1);   /* 0xfe: validation, 0xff: neither */
    for (size_t s = 0; s < nva; s++) fold[ctx->va[s]] = 0xfe;
    for (long k = 0; k < K; k++)
        for (size_t s = ntr * (size_t)k / (size_t)K; s < ntr * (size_t)(k + 1) / (size_t)K; s++) fold[docs[s]] = (uint8_t)k;
    int rc = 0;
    double t0 = imdb_now();
    imdb_progress pb = imdb_progress_begin(ctx->logger, "nblr heldout folds", (uint64_t)K, "folds");
    for (long k = 0; k < K && rc == 0; k++) {
        for (size_t i = 0; i < m; i++)
            role[i] = fold[i] == 0xfe ? ROLE_VALID : fold[i] == 0xff || fold[i] == k ? ROLE_NONE : ROLE_TRAIN;
        double fb;
        int ep;
        rc = fit(D, nfeat, S, role, ctx->seed, 0x1100 + (uint64_t)k, NULL, NULL, fw, &fb, &ep, e);
        if (rc == 0) rc = score_docs(D, fw, fb, fold, (uint8_t)k, prob, e);
        imdb_progress_update(&pb, (uint64_t)k + 1);
    }
    imdb_progress_end(&pb);
    if (rc == 0) rc = score_docs(D, w, b, fold, 0xfe, prob, e);
    for (size_t s = 0; s < nva; s++) docs[ntr + s] = ctx->va[s];
    if (rc == 0) {
        size_t ok = 0;
        for (size_t s = 0; s < n; s++) {
            uint32_t i = docs[s];
            ok += (prob[i] >= 0.5) == (D->t[i] >= 0.5);
            hp[s] = prob[i];
            hk[s] = key[i];
            hl[s] = D->t[i] >= 0.5;
        }
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "nblr: held-out predictions of %zu documents (%ld folds, %.1f s): "
                  "accuracy %.4f", n, K, imdb_now() - t0, n ? (double)ok / (double)n : 0.0);
        rc = heldout_add_keys(mw, hk, hl, hp, n, e);
        if (rc == 0 && ctx->bal.want_heldout) {   /* threshold = auto chooses on them */
            ctx->heldout_prob = hp;
            ctx->heldout_label = hl;
            ctx->nheldout = n;
            hp = NULL;
            hl = NULL;
        }
    }
    free(docs); free(prob); free(fw); free(hp); free(hk); free(hl); free(fold); free(role);
    return rc;
}

/* ---- the data path: streams to the block cache ---- */

/* Bytes a document costs in memory while training (see the top of this section), with
 * the held-out predictions' extras, and while its cache is laid out (transient). */
#define DOC_BYTES 96
/* Room for what the run allocates besides the arrays counted here (gzip and stdio
 * buffers, the token stream's line, the allocator's slack). */
#define BASE_BYTES ((size_t)8 << 20)

static char **by_id;   /* qsort has no context argument */

static int cmp_by_id(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c = strcmp(by_id[a], by_id[b]);
    return c ? c : (a > b) - (a < b);   /* the input order breaks ties: a stable order */
}

typedef struct lin_stats {
    uint64_t tokens;
    int spread;             /* the layout went through a scratch file */
    size_t need, room;      /* with --memory: bytes for the rest, for cache blocks */
    double seconds_read;    /* the streaming pass */
} lin_stats;

/* The process's resident bytes now (Linux: /proc/self/statm) and at its peak so far
 * (getrusage): --memory counts the whole process, the vocabulary and the program too. */
static size_t rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    return (size_t)res * (size_t)(page > 0 ? page : 4096);
}

static size_t rss_peak(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (size_t)ru.ru_maxrss * 1024 : 0;
}

static size_t mb(size_t bytes) { return (bytes + ((size_t)1 << 20) - 1) >> 20; }

/* The directory of scratch files under --memory: --tmpdir, else $TMPDIR, else /tmp. */
static const char *scratch_dir(const train_ctx *ctx)
{
    const char *dir = ctx->tmpdir && *ctx->tmpdir ? ctx->tmpdir : getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

/* Steps 1 and 2 above: D (its cache, m, t) and, when want_keys, *key (m) the id hashes.
 * need: the bytes the model itself needs (for --memory). */
static int ingest(train_ctx *ctx, const linear_model *mdl, uint32_t block_docs, int want_keys, size_t need,
                  lin_data *D, double **t_out, uint64_t **key_out, lin_stats *st, imdb_err *e)
{
    const char *dir = ctx->memory ? scratch_dir(ctx) : NULL;
    int rc = -1, sorting = ctx->sort_by_id;
    size_t n = 0, cap = 0, nsoft = 0, tcap = 0, fcap = 0;
    float *tg = NULL;
    uint32_t *size = NULL, *fbuf = NULL, *num_of = NULL, *i_of = NULL, *order = NULL, *posof = NULL;
    uint64_t *key = NULL;
    char **ids = NULL, *soft_at = NULL, **toks = NULL;
    double *t = NULL;
    unsigned char *buf = NULL;
    uint64_t *off = NULL;
    uint32_t *crc = NULL;
    int sfd = -1;
    char *sname = NULL;
    doccache *raw = NULL;
    doccache_writer *fw = NULL;
    doccache_writer *rw = doccache_create(dir, block_docs, mdl->nfeat, 0, e);
    if (!rw) return -1;
    /* Under MPI (N ranks): when N divides the number of inputs, rank K reads only the
     * inputs K, K + N, K + 2N, ... (e.g. the shards of imdb-clean --shard K/N); otherwise
     * every rank reads them all and keeps the documents whose id hashes to K (--shard K/N).
     * Either way every document is on one rank, and the model does not depend on which. */
    const lnewton_comm *cm = lnewton_get_comm();
    size_t ranks = cm && cm->size > 1 ? (size_t)cm->size : 1, rank = ranks > 1 ? (size_t)cm->rank : 0;
    int by_file = ranks > 1 && ctx->ninputs % ranks == 0;
    const char **paths = imdb_xmalloc((ctx->ninputs + 1) * sizeof *paths);
    size_t npaths = 0;
    for (size_t i = 0; i < ctx->ninputs; i++)
        if (!by_file || i % ranks == rank) paths[npaths++] = ctx->inputs[i];
    if (ranks > 1)
        imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "nblr: rank %zu of %zu reads %s", rank, ranks,
                  by_file ? "its inputs (every rank as many: rank K the inputs K, K + N, ...)" :
                  "every input and keeps the documents whose id hashes to it");
    train_stream s = { .paths = paths, .npaths = npaths, .labelled = 1, .clean = ctx->clean_out };
    tokio_doc doc;
    int got;
    double t0 = imdb_now();
    shard mine = { by_file ? 0 : rank, by_file ? 0 : ranks > 1 ? ranks : 0 };
    while ((got = train_stream_next(&s, &doc, e)) > 0) {
        if (!shard_keep(&mine, doc.id, strlen(doc.id))) continue;   /* under MPI: another rank's */
        if (n == UINT32_MAX - 1) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: more than %u documents", s.path, (unsigned)(UINT32_MAX - 1));
            goto fail;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            tg = imdb_xrealloc(tg, cap * sizeof *tg);
            size = imdb_xrealloc(size, cap * sizeof *size);
            if (want_keys) key = imdb_xrealloc(key, cap * sizeof *key);
            if (sorting) ids = imdb_xrealloc(ids, cap * sizeof *ids);
        }
        if (doc.soft && nsoft++ == 0) {
            size_t l = strlen(s.path) + 24;
            soft_at = imdb_xmalloc(l);
            snprintf(soft_at, l, "%s:%ld", s.path, doc.lineno);
        }
        tg[n] = (float)doc.prob;
        if (want_keys) key[n] = feat_hash_token(doc.id, strlen(doc.id));
        if (sorting) ids[n] = imdb_xstrdup(doc.id);
        size_t ntok = tokio_split(doc.text, doc.text_len, &toks, &tcap);
        st->tokens += ntok;
        if (ntok * (size_t)mdl->ngrams + 1 > fcap) {
            fcap = ntok * (size_t)mdl->ngrams + 1;
            free(fbuf);
            fbuf = imdb_xmalloc(fcap * sizeof *fbuf);
        }
        size_t nf = linear_features(mdl, (const char *const *)toks, ntok, fbuf);
        size[n] = (uint32_t)doccache_encoded_bytes(fbuf, nf);
        if (doccache_add(rw, (uint32_t)n, tg[n], fbuf, nf, e) < 0) goto fail;
        n++;
    }
    train_stream_close(&s);
    if (got < 0) goto fail;
    free(toks); toks = NULL;
    free(fbuf); fbuf = NULL;
    if (!(raw = doccache_finish(rw, e))) { rw = NULL; goto fail; }
    rw = NULL;
    st->seconds_read = imdb_now() - t0;

    /* Soft labels (train_docs_soften's rules, trainjob's messages). */
    double soft_t = 1, soft_conf = 0;
    long soft_hard = 0;
    num_of = imdb_xmalloc((n + 1) * sizeof *num_of);
    size_t m = 0;
    /* Under MPI the soft settings are read (so recorded) when any rank has soft labels. */
    int64_t anysoft = (int64_t)nsoft;
    if (ranks > 1 && cm->sum(cm->ctx, &anysoft, 1, e) < 0) goto fail;
    if (anysoft) {
        if (train_soft_settings(ctx->cfg, &soft_t, &soft_conf, &soft_hard, e) < 0) {
            e->status = IMDB_EXIT_USAGE;
            goto fail;
        }
    }
    t = imdb_xmalloc((n + 1) * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        double p = nsoft ? train_soften_one(tg[i], soft_t, soft_conf, (int)soft_hard) : tg[i];
        num_of[i] = isnan(p) ? UINT32_MAX : (uint32_t)m;
        if (!isnan(p)) t[m++] = (float)p;
    }
    if (nsoft)
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "%zu documents with soft labels: %zu kept, %zu below "
                  "soft_min_confidence %g%s", nsoft, nsoft - (n - m), n - m, soft_conf,
                  soft_hard ? ", rounded to pos/neg" : "");
    if (m == 0 && ranks == 1) {   /* under MPI a rank may hold none; lnewton_new fails if all do */
        imdb_fail(e, IMDB_EXIT_DATA, "no labelled documents in the input");
        goto fail;
    }
    train_default_clean(ctx->clean_out, ctx->logger);
    /* Numbers: input order, or id order (stable) with --sort-by-id. */
    i_of = imdb_xmalloc((m + 1) * sizeof *i_of);
    for (size_t i = 0; i < n; i++)
        if (num_of[i] != UINT32_MAX) i_of[num_of[i]] = (uint32_t)i;
    if (sorting) {
        by_id = ids;
        qsort(i_of, m, sizeof *i_of, cmp_by_id);
        by_id = NULL;
        double *t2 = imdb_xmalloc((m + 1) * sizeof *t2);
        for (size_t k = 0; k < m; k++) {
            t2[k] = t[num_of[i_of[k]]];
            num_of[i_of[k]] = (uint32_t)k;
        }
        free(t);
        t = t2;
        for (size_t i = 0; i < n; i++) free(ids[i]);
        free(ids);
        ids = NULL;
    }
    if (want_keys) {
        uint64_t *k2 = imdb_xmalloc((m + 1) * sizeof *k2);
        for (size_t k = 0; k < m; k++) k2[k] = key[i_of[k]];
        free(key);
        key = k2;
    }
    free(tg); tg = NULL;
    train_split_n(ctx, m, ctx->valid_fraction);
    if (ctx->bal.undersample > 0 || ctx->bal.weighted) {
        unsigned char *pos = imdb_xmalloc(m + 1);
        for (size_t k = 0; k < m; k++) pos[k] = t[k] >= 0.5;
        int brc = train_balance_apply(ctx, pos, e);
        free(pos);
        if (brc < 0) goto fail;
    }
    imdb_logf(ctx->logger, IMDB_LOG_INFO, "nblr: %zu documents: %zu for training, %zu for validation", m, ctx->ntr,
              ctx->nva);

    /* The memory the run needs besides cached blocks; the rest of --memory holds them. */
    size_t blockmem = doccache_block_memory(raw), total = need + m * DOC_BYTES + 3 * blockmem, room = SIZE_MAX;
    if (ctx->memory) {
        if (ctx->memory < total) {
            imdb_fail(e, IMDB_EXIT_USAGE, "--memory %zu is too small: nblr needs at least %zu bytes (--memory %zuM) "
                      "for its model, the state of %zu documents and one block of the cache", ctx->memory, total,
                      mb(total), m);
            goto fail;
        }
        room = ctx->memory - total;
        st->need = total;
        st->room = room;
    }

    /* The layout: a seeded random order of the documents, in blocks. Every record's
     * place in that order is known (off: its first byte), so one pass over the raw cache
     * puts each where it belongs: in a buffer when all fit in the room, else at its
     * offset in a scratch file, read back in order a block at a time (with a CRC a
     * record, checked then: the file is written and read by this process only). */
    order = imdb_xmalloc((m + 1) * sizeof *order);
    posof = imdb_xmalloc((m + 1) * sizeof *posof);
    for (size_t k = 0; k < m; k++) order[k] = (uint32_t)k;
    rng g;
    rng_split(&g, ctx->seed, 0xb10c);
    rng_shuffle_u32(&g, order, m);
    for (size_t p = 0; p < m; p++) posof[order[p]] = (uint32_t)p;
    off = imdb_xmalloc((m + 1) * sizeof *off);
    off[0] = 0;
    for (size_t p = 0; p < m; p++) off[p + 1] = off[p] + size[i_of[order[p]]];
    int spread = off[m] > room;   /* through a scratch file */
    if (spread) {
        size_t chunk = 0;   /* the most bytes of one block of positions */
        for (size_t lo = 0; lo < m; lo += block_docs) {
            size_t hi = lo + block_docs < m ? lo + block_docs : m;
            if (off[hi] - off[lo] > chunk) chunk = (size_t)(off[hi] - off[lo]);
        }
        if ((sfd = recfile_tmp(dir, "layout file", "imdb-train-layout", &sname, e)) < 0) goto fail;
        crc = imdb_xmalloc((m + 1) * sizeof *crc);
        buf = imdb_xmalloc(chunk + 1);
    } else {
        buf = imdb_xmalloc((size_t)off[m] + 1);
    }
    for (size_t b = 0; b < doccache_blocks(raw); b++) {
        doccache_block B;
        if (doccache_read(raw, b, &B, e) < 0) goto fail;
        for (size_t j = 0; j < B.n; j++) {
            uint32_t k = num_of[B.num[j]];
            if (k == UINT32_MAX) continue;
            uint32_t p = posof[k];
            const unsigned char *rec = B.enc + B.enc_off[j];
            size_t len = B.enc_end[j] - B.enc_off[j];
            if (len != off[p + 1] - off[p]) {
                imdb_fail(e, IMDB_EXIT_INTERNAL, "document cache: record %u changed size", (unsigned)B.num[j]);
                goto fail;
            }
            if (!spread) {
                memcpy(buf + off[p], rec, len);
                continue;
            }
            crc[p] = recfile_crc32(rec, len);
            if (recfile_write(sfd, rec, len, off[p]) < 0) {
                imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", sname, strerror(errno));
                goto fail;
            }
        }
    }
    doccache_close(raw);
    raw = NULL;
    if (!(fw = doccache_create(dir, block_docs, mdl->nfeat, 0, e))) goto fail;
    for (size_t lo = 0; lo < m; lo += block_docs) {
        size_t hi = lo + block_docs < m ? lo + block_docs : m;
        const unsigned char *at = buf + (spread ? 0 : off[lo]);
        if (spread) {
            int r = recfile_read(sfd, buf, (size_t)(off[hi] - off[lo]), off[lo]);
            if (r <= 0) {
                imdb_fail(e, r < 0 ? IMDB_EXIT_IO : IMDB_EXIT_INTERNAL, "%s: %s", sname,
                          r < 0 ? strerror(errno) : "ends early");
                goto fail;
            }
        }
        for (size_t p = lo; p < hi; p++) {
            const unsigned char *rec = at + (off[p] - off[lo]);
            size_t len = (size_t)(off[p + 1] - off[p]);
            if (spread && recfile_crc32(rec, len) != crc[p]) {
                imdb_fail(e, IMDB_EXIT_IO, "%s: record %zu read back damaged (a bad disk or memory?)", sname, p);
                goto fail;
            }
            if (doccache_add_encoded(fw, order[p], (float)t[order[p]], rec, len, e) < 0) goto fail;
        }
    }
    st->spread = spread;
    free(buf); buf = NULL;
    if (sfd >= 0) close(sfd);
    sfd = -1;
    if (!(D->dc = doccache_finish(fw, e))) { fw = NULL; goto fail; }
    fw = NULL;
    if (ctx->memory && doccache_set_resident(D->dc, room, e) < 0) goto fail;
    D->m = m;
    D->t = t;
    *t_out = t;
    t = NULL;
    *key_out = key;
    key = NULL;
    rc = 0;
fail:
    train_stream_close(&s);
    doccache_abort(rw);
    doccache_abort(fw);
    doccache_close(raw);
    if (ids) for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids); free(toks); free(fbuf); free(tg); free(size); free(key); free(soft_at); free(t);
    free(num_of); free(i_of); free(order); free(posof); free(buf); free(off); free(crc);
    if (sfd >= 0) close(sfd);
    free(sname);
    free(paths);
    return rc;
}

/* solver = dual (the default) or tron; under MPI (lnewton_get_comm) tron is the default
 * and the only one, and every document trains (ranks hold disjoint shares of them). The
 * settings are read only when tron is used, so a dual model records only those given. */
static int newton_settings(train_ctx *ctx, long folds, lin_set *S, imdb_err *e)
{
    const lnewton_comm *cm = lnewton_get_comm();
    const char *solver = conf_get(ctx->cfg, "solver");
    if (solver || cm) conf_string(ctx->cfg, "solver", cm ? "tron" : "dual", &solver);
    S->newton = solver && strcmp(solver, "tron") == 0;
    if (solver && !S->newton && strcmp(solver, "dual") != 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting solver: '%s' is not one of dual, tron", solver);
    if (cm && cm->size > 1 && !S->newton)
        return imdb_fail(e, IMDB_EXIT_USAGE, "under MPI nblr trains with solver = tron only");
    if (!S->newton) return 0;
    /* The converged optimum wants other c and prior than one pass of the dual: newton_c
     * and newton_prior (default: c and prior) are tron's, so one config file serves both. */
    if (conf_double(ctx->cfg, "newton_eps", 1e-4, 1e-12, 1, &S->newton_eps, e) < 0 ||
        conf_long(ctx->cfg, "newton_iter", 100, 1, 100000, &S->newton_iter, e) < 0 ||
        conf_double(ctx->cfg, "newton_c", S->C, 1e-9, 1e9, &S->C, e) < 0 ||
        conf_double(ctx->cfg, "newton_prior", S->prior, -100, 100, &S->prior, e) < 0)
        return -1;
    S->newton_hold = ctx->memory == 0;
    S->newton_threads = ctx->threads;
    if (S->beta < 1) return imdb_fail(e, IMDB_EXIT_USAGE, "setting beta: solver = tron takes beta = 1 only");
    if (cm && cm->size > 1 && folds > 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting heldout_folds: not under MPI (ranks hold parts of the data)");
    if (cm && cm->size > 1 && ctx->valid_fraction > 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "under MPI nblr trains on every document: set --valid-fraction 0 "
                         "(valid_fraction = 0, as data/nblr.conf does)");
    return 0;
}

/* What the ranks must agree on before they train together: the settings, the features
 * (the slot table's keys and indices) and the cleaning settings. FNV-1a. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fingerprint(const linear_model *m, const lin_set *S, long min_df, const char *clean)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    double d[5] = { S->alpha, S->C, S->prior, S->newton_eps, (double)S->newton_iter };
    long l[3] = { m->ngrams, min_df, (long)m->nfeat };
    h = fnv(h, d, sizeof d);
    h = fnv(h, l, sizeof l);
    for (uint64_t i = 0; i < m->cap; i++) {
        h = fnv(h, &m->slots[i].key, sizeof m->slots[i].key);
        h = fnv(h, &m->slots[i].idx, sizeof m->slots[i].idx);
    }
    return clean ? fnv(h, clean, strlen(clean)) : h;
}

/* The model's n-gram text as it is made, a line an n-gram: in memory, or in a scratch
 * file through a buffer of SINK_BUF bytes (under --memory, so that it is not held through
 * the run); handed to the model writer at the end. */
#define SINK_BUF ((size_t)1 << 20)
typedef struct textsink {
    char *buf;
    size_t len, cap;   /* in memory: all of it; in a file: the bytes not yet written */
    uint64_t size;     /* bytes put */
    int fd;            /* -1: in memory */
    char *name;
} textsink;

static int sink_open_file(textsink *k, const char *dir, imdb_err *e)
{
    if ((k->fd = recfile_tmp(dir, "model text file", "imdb-train-text", &k->name, e)) < 0) return -1;
    k->cap = SINK_BUF;
    k->buf = imdb_xmalloc(k->cap);
    return 0;
}

static int sink_flush(textsink *k, imdb_err *e)
{
    if (k->fd < 0 || k->len == 0) return 0;
    if (recfile_write(k->fd, k->buf, k->len, k->size - k->len) < 0)
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", k->name, strerror(errno));
    k->len = 0;
    return 0;
}

static int sink_put(textsink *k, const char *s, size_t n, imdb_err *e)
{
    if (k->len + n + 1 > k->cap && sink_flush(k, e) < 0) return -1;
    if (k->len + n + 1 > k->cap) {
        k->cap = 2 * (k->len + n + 1);
        k->buf = imdb_xrealloc(k->buf, k->cap);
    }
    memcpy(k->buf + k->len, s, n);
    k->buf[k->len + n] = '\n';
    k->len += n + 1;
    k->size += n + 1;
    return 0;
}

/* Hand the text to w as the section nblr.vocab (the writer takes the buffer or file). */
static int sink_add(textsink *k, modelio_writer *w, imdb_err *e)
{
    int rc;
    if (k->fd < 0) {
        rc = modelio_add_owned(w, "nblr.vocab", k->buf, (size_t)k->size, e);
    } else {
        rc = sink_flush(k, e);
        if (rc == 0) rc = modelio_add_file(w, "nblr.vocab", k->fd, k->name, (size_t)k->size, e);
        else close(k->fd);
        free(k->buf);
    }
    k->buf = NULL;
    k->fd = -1;
    return rc;
}

static void sink_free(textsink *k)
{
    free(k->buf);
    if (k->fd >= 0) close(k->fd);
    free(k->name);
    *k = (textsink){ .fd = -1 };
}

/* Under MPI only rank 0 reads the vocabulary (imdb-train gives the others none): it sends
 * the features it chose (nkeep, nfeat, then each feature's key in feature order) and its
 * cleaning settings; the others build the same slot table from them
 * (linear_model_from_keys, as rank 0 does) and check their streams against rank 0's
 * cleaning settings. send: rank 0's side, with its keys; else *keys is allocated here. */
static int share_features(const lnewton_comm *cm, int send, uint64_t **keys, size_t *nkeep, size_t *nfeat,
                          char **clean, imdb_err *e)
{
    uint64_t hdr[3] = { *nkeep, *nfeat, send && clean && *clean ? strlen(*clean) + 1 : 0 };
    if (cm->bcast(cm->ctx, hdr, sizeof hdr, e) < 0) return -1;
    if (!send) {
        *nkeep = (size_t)hdr[0];
        *nfeat = (size_t)hdr[1];
        *keys = imdb_xmalloc((*nfeat + 1) * sizeof **keys);
    }
    char *root = hdr[2] ? (send ? *clean : imdb_xmalloc(hdr[2])) : NULL;
    int rc = cm->bcast(cm->ctx, *keys, *nfeat * sizeof **keys, e);
    if (rc == 0 && root) rc = cm->bcast(cm->ctx, root, hdr[2], e);
    if (rc == 0 && !send) {
        if (root && clean && *clean && strcmp(*clean, root) != 0)
            rc = imdb_fail(e, IMDB_EXIT_DATA, "the unlabelled inputs were cleaned with different settings than "
                           "rank 0's vocabulary");
        else if (root && clean && !*clean) {
            *clean = root;
            root = NULL;
        }
    }
    if (!send) free(root);
    return rc;
}

static int lin_train(train_ctx *ctx, modelio_writer *w, imdb_err *e)
{
    conf *cfg = ctx->cfg;
    long ngrams, min_df, folds, block_docs;
    lin_set S = { 0 };
    if (conf_long(cfg, "ngrams", 3, 1, 8, &ngrams, e) < 0 ||
        conf_double(cfg, "alpha", 1.0, 1e-6, 1e6, &S.alpha, e) < 0 ||
        conf_double(cfg, "c", 0.1, 1e-9, 1e9, &S.C, e) < 0 ||
        conf_double(cfg, "prior", 0.05, -100, 100, &S.prior, e) < 0 ||
        conf_double(cfg, "beta", 1.0, 0, 1, &S.beta, e) < 0 ||
        conf_long(cfg, "epochs", 30, 1, 100000, &S.epochs, e) < 0 ||
        conf_long(cfg, "patience", 3, 1, 100000, &S.patience, e) < 0 ||
        conf_double(cfg, "tol", 0.01, 0, 1e9, &S.tol, e) < 0 ||
        conf_long(cfg, "min_df", 3, 1, 1L << 40, &min_df, e) < 0 ||
        conf_long(cfg, "heldout_folds", 0, 0, 20, &folds, e) < 0 ||
        conf_long(cfg, "block_docs", 1024, 1, 1L << 24, &block_docs, e) < 0)
        return -1;
    if (folds == 1)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting heldout_folds: 1 is not allowed (0 for none, or 2 to 20)");
    /* Class weights ([0] neg, [1] pos): balanced ones are counted once the documents are
     * split (ingest). class_weight_nb is read (and so recorded) only with class weights. */
    long nbw = 0;
    if (ctx->bal.weighted && conf_long(cfg, "class_weight_nb", 0, 0, 1, &nbw, e) < 0) return -1;
    S.nb_weighted = (int)nbw;
    if (ctx->bal.want_heldout && folds == 0 && ctx->valid_fraction == 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "threshold = auto needs held-out predictions: heldout_folds = 2 to 20 "
                         "(cross-fitting) or a validation part (valid_fraction above 0)");
    if (newton_settings(ctx, folds, &S, e) < 0) return -1;
    if (S.newton && ctx->bal.weighted)
        return imdb_fail(e, IMDB_EXIT_USAGE, "class_weight needs solver = dual (the Newton solver, solver = tron "
                         "and every MPI run, has no class weights yet)");
    /* Under MPI the ranks but 0 have no vocabulary: rank 0's features come (share_features). */
    const lnewton_comm *cm = lnewton_get_comm();
    int mpi = cm && cm->size > 1 && cm->bcast, from_root = mpi && cm->rank != 0 && !ctx->voc;
    if (!ctx->voc && !from_root) {
        /* Input without documents is said first, as when imdb-train read them all first. */
        train_stream s = { .paths = ctx->inputs, .npaths = ctx->ninputs, .labelled = 1, .clean = ctx->clean_out };
        tokio_doc doc;
        int got = train_stream_next(&s, &doc, e);
        train_stream_close(&s);
        if (got < 0) return -1;
        if (got == 0) return imdb_fail(e, IMDB_EXIT_DATA, "no labelled documents in the input");
        return imdb_fail(e, IMDB_EXIT_USAGE, "nblr needs a vocabulary (--vocab FILE, from imdb-vocab)");
    }
    if (!from_root && vocab_maxn(ctx->voc) < ngrams)
        return imdb_fail(e, IMDB_EXIT_USAGE, "the vocabulary counts n-grams up to %d but ngrams = %ld",
                         vocab_maxn(ctx->voc), ngrams);

    /* Features: the vocabulary's n-grams of order <= ngrams and df >= min_df, numbered in
     * its order (of n-grams with one hash, the first). Taken so that the vocabulary, the
     * slot table and the model's n-gram text are never in memory together (6 GB at 50
     * million features): the kept entries' hashes, then their text (to a scratch file
     * under --memory), then the vocabulary goes and the slot table is built. Under MPI
     * the ranks but 0 have the hashes from rank 0 (share_features) and no text. */
    size_t nkeep = 0, nfeat = 0;
    uint64_t *keys = NULL, vdocs = 0;   /* vdocs: for a warning below */
    textsink vt = { .fd = -1 };
    int rc = 0;
    if (from_root) {
        rc = share_features(cm, 0, &keys, &nkeep, &nfeat, ctx->clean_out, e);
    } else {
        size_t vn = vocab_size(ctx->voc);
#define KEEP(i) (vocab_order(ctx->voc, i) <= ngrams && vocab_df(ctx->voc, i) >= (uint64_t)min_df)
        for (size_t i = 0; i < vn; i++) nkeep += KEEP(i);
        keys = imdb_xmalloc((nkeep + 1) * sizeof *keys);
        for (size_t i = 0, k = 0; i < vn; i++)
            if (KEEP(i)) keys[k++] = vocab_hash(ctx->voc, i);
        unsigned char *first = imdb_xmalloc(nkeep + 1);
        linear_first_of_hash(keys, nkeep, first);
        if (ctx->memory) rc = sink_open_file(&vt, scratch_dir(ctx), e);
        for (size_t i = 0, k = 0; i < vn && rc == 0; i++) {
            if (!KEEP(i) || !first[k++]) continue;
            const char *g = vocab_ngram(ctx->voc, i);
            keys[nfeat++] = keys[k - 1];
            rc = sink_put(&vt, g, strlen(g), e);
        }
#undef KEEP
        free(first);
        vdocs = vocab_docs(ctx->voc);
        if (ctx->voc_own) {
            vocab_free(*ctx->voc_own);
            *ctx->voc_own = NULL;
            ctx->voc = NULL;
        }
        if (rc == 0 && nfeat == 0)
            rc = imdb_fail(e, IMDB_EXIT_DATA, "no vocabulary entry is left with ngrams = %ld, min_df = %ld", ngrams,
                           min_df);
        if (rc == 0) rc = sink_flush(&vt, e);
        if (rc == 0 && mpi) rc = share_features(cm, 1, &keys, &nkeep, &nfeat, ctx->clean_out, e);
    }
    if (rc < 0) {
        free(keys);
        sink_free(&vt);
        return -1;
    }
    linear_model m;
    linear_model_from_keys(&m, (int)ngrams, keys, nfeat, nkeep);
    free(keys);
    /* What the model itself needs: what is resident now (the slot table and the model's
     * text among it), the solver's per-feature arrays at their most (dual: the best
     * weights, r and u, or the NB counts, and v with a validation part; then best and the
     * weights as written; with folds a fold's r, u, v and best besides; tron: its eleven
     * vectors), the program's buffers. The peak so far (reading the vocabulary) must have
     * fitted too. */
    size_t per_feat = S.newton ? 12 * sizeof(double) : folds > 0 ? 6 * sizeof(double) + 2 * sizeof(float)
                    : ctx->valid_fraction > 0 ? 4 * sizeof(double) : 3 * sizeof(double);
    size_t need = rss_now() + (size_t)m.nfeat * per_feat + BASE_BYTES;
    size_t least = rss_peak() > need ? rss_peak() : need;
    if (ctx->memory && ctx->memory < least + ((size_t)64 << 10)) {
        linear_model_free(&m);
        sink_free(&vt);
        return imdb_fail(e, IMDB_EXIT_USAGE, "--memory %zu is too small: nblr needs at least %zu bytes "
                         "(--memory %zuM) for its model of %u features", ctx->memory, least + ((size_t)64 << 10),
                         mb(least + ((size_t)64 << 10)), m.nfeat);
    }
    /* The documents' share is known only after the pass over the input; the vocabulary's
     * count of documents (usually those of the same input) warns before it. */
    if (ctx->memory && vdocs && ctx->memory < least + vdocs * DOC_BYTES + BASE_BYTES)
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "warning: --memory %zuM may be too small: the vocabulary counted "
                  "%llu documents, and as many would need about %zuM (known after reading the input)",
                  mb(ctx->memory), (unsigned long long)vdocs, mb(least + vdocs * DOC_BYTES + BASE_BYTES));
    lin_data D = { 0 };
    lin_stats st = { 0 };
    double *t = NULL, *best = NULL, best_b;
    uint64_t *key = NULL;
    uint8_t *role = NULL;
    int best_epoch;
    float *wf = NULL;
    if (ingest(ctx, &m, (uint32_t)block_docs, folds > 0, need, &D, &t, &key, &st, e) < 0) goto fail;
    if (S.newton) S.fingerprint = fingerprint(&m, &S, min_df, ctx->clean_out ? *ctx->clean_out : NULL);
    if (ctx->ntr == 0 && !mpi) {   /* under MPI a rank may have none (lnewton_new: not all) */
        imdb_fail(e, IMDB_EXIT_DATA, "no labelled training documents");
        goto fail;
    }
    S.cw[0] = ctx->bal.weighted ? ctx->bal.class_w[0] : 1;
    S.cw[1] = ctx->bal.weighted ? ctx->bal.class_w[1] : 1;
    role = imdb_xcalloc(D.m + 1, 1);
    for (size_t s = 0; s < ctx->ntr; s++) role[ctx->tr[s]] = ROLE_TRAIN;
    for (size_t s = 0; s < ctx->nva; s++) role[ctx->va[s]] = ROLE_VALID;
    imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "nblr: %llu tokens read in %.1f s; document cache: %zu blocks of %ld "
              "documents, %llu feature ids, %.1f MB (%.1f MB resident), laid out %s",
              (unsigned long long)st.tokens, st.seconds_read, doccache_blocks(D.dc), block_docs,
              (unsigned long long)doccache_features(D.dc), doccache_bytes(D.dc) / 1e6,
              doccache_resident_bytes(D.dc) / 1e6, st.spread ? "through a scratch file" : "in memory");
    if (ctx->memory)
        imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "nblr: --memory %zu: %zu bytes for the model, the documents' state "
                  "and block buffers, %zu for cache blocks", ctx->memory, st.need, st.room);
    best = imdb_xmalloc(m.nfeat * sizeof *best);
    double t0 = imdb_now();
    clock_t c0 = clock();   /* the fit runs on one thread: the process's CPU time is its own */
    if (fit(&D, m.nfeat, &S, role, ctx->seed, 0x11, ctx->log, ctx->logger, best, &best_b, &best_epoch, e) < 0)
        goto fail;
    imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "nblr: fit in %.2f s (%.2f s CPU)", imdb_now() - t0,
              (double)(clock() - c0) / CLOCKS_PER_SEC);
    imdb_logf(ctx->logger, IMDB_LOG_INFO, "nblr: %u features, best epoch %d", m.nfeat, best_epoch);

    /* Sections: header, slots (hash, index, weight), vocabulary text. */
    wf = imdb_xmalloc(m.nfeat * sizeof *wf);
    for (uint32_t f = 0; f < m.nfeat; f++) wf[f] = (float)best[f];
    linear_model_set_weights(&m, wf);
    unsigned char h[HDR_SIZE];
    float fb = (float)best_b;
    uint32_t fbits;
    memcpy(&fbits, &fb, 4);
    put_u32le(h, (uint32_t)ngrams);
    put_u32le(h + 4, m.nfeat);
    put_u32le(h + 8, fbits);
    put_u64le(h + 12, m.cap);
    put_u64le(h + 20, m.nfeat);
    /* The writer takes the two big sections as they are (no second copy at the peak). */
    linear_slot *slots = m.owned;
    m.owned = NULL;
    m.slots = NULL;
    if (modelio_add(w, "nblr.hdr", h, HDR_SIZE, e) < 0) {
        free(slots);
        goto fail;
    }
    if (modelio_add_owned(w, "nblr.slots", slots, m.cap * sizeof *slots, e) < 0 || sink_add(&vt, w, e) < 0)
        goto fail;
    if (folds > 0) {
        /* The held-out predictions score with the weights the file holds (binary32). */
        for (uint32_t f = 0; f < m.nfeat; f++) best[f] = wf[f];
        if (crossfit(ctx, &D, key, m.nfeat, &S, folds, best, fb, w, e) < 0) goto fail;
    } else if (ctx->bal.want_heldout) {
        /* threshold = auto without folds: the validation part, scored by the final model as
         * the file holds it. */
        for (uint32_t f = 0; f < m.nfeat; f++) best[f] = wf[f];
        double *prob = imdb_xcalloc(D.m + 1, sizeof *prob);
        if (score_docs(&D, best, fb, role, ROLE_VALID, prob, e) < 0) {
            free(prob);
            goto fail;
        }
        ctx->heldout_prob = imdb_xmalloc((ctx->nva + 1) * sizeof *ctx->heldout_prob);
        ctx->heldout_label = imdb_xmalloc((ctx->nva + 1) * sizeof *ctx->heldout_label);
        for (size_t s = 0; s < ctx->nva; s++) {
            ctx->heldout_prob[s] = prob[ctx->va[s]];
            ctx->heldout_label[s] = D.t[ctx->va[s]] >= 0.5;
        }
        ctx->nheldout = ctx->nva;
        free(prob);
    }
    goto done;
fail:
    rc = -1;
done:
    free(wf); free(best); free(t); free(key); free(role);
    sink_free(&vt);
    doccache_close(D.dc);
    linear_model_free(&m);
    return rc;
}

const trainer linear_trainer = {
    .kind = "nblr",
    .keys = lin_keys,
    .summary = "NB-weighted logistic regression on binarized 1..n-grams (Wang & Manning 2012)",
    .train = lin_train,
    .soft_labels = 1,
    .class_weights = 1,
    .heldout_preds = 1,
    .streams = 1,
};

/* ---- parameter averaging of nblr models (imdb-train --average) ---- */

/* The models must share their features: the same header (but the bias), the same slot
 * table (keys and indices), vocabulary text and cleaning settings, as nblr models trained
 * on shards with one merged vocabulary and the same ngrams and min_df have. Each weight
 * and the bias become the mean over the models (summed in double). */
int linear_average(const char *const *paths, size_t n, const char *out, imdb_err *e)
{
    modelio **mf = imdb_xcalloc(n ? n : 1, sizeof *mf);
    const linear_slot *slots0 = NULL;
    const void *voc0 = NULL;
    const unsigned char *h0 = NULL;
    size_t ss0 = 0, vs0 = 0;
    char *clean0 = NULL, *params = NULL;
    linear_slot *avg = NULL;
    modelio_writer *w = NULL;
    int rc = -1;
    double bias = 0;
    if (n == 0) { imdb_fail(e, IMDB_EXIT_USAGE, "--average needs at least one nblr MODEL operand"); goto done; }
    for (size_t i = 0; i < n; i++) {
        if (!(mf[i] = modelio_open(paths[i], e))) goto done;
        char *kind = modelio_get_str(mf[i], "kind"), *clean = modelio_get_str(mf[i], "clean");
        int is_nblr = kind && strcmp(kind, "nblr") == 0;
        free(kind);
        /* The kind's checks of every slot, done now: the loops below read them all. */
        void *chk = is_nblr ? lin_load(mf[i], e) : NULL;
        if (!chk || modelio_check_rest(mf[i], e) < 0 || lin_verify(chk, 1, paths[i], e) < 0) {
            free(clean);
            if (chk) lin_free(chk);
            else if (!is_nblr) imdb_fail(e, IMDB_EXIT_DATA, "%s: not an nblr model (only nblr models can be averaged)", paths[i]);
            goto done;
        }
        lin_free(chk);
        size_t hs, ss, vs;
        const unsigned char *h = modelio_get(mf[i], "nblr.hdr", &hs);
        const linear_slot *s = modelio_get(mf[i], "nblr.slots", &ss);
        const void *v = modelio_get(mf[i], "nblr.vocab", &vs);
        uint32_t b = get_u32le(h + 8);
        float fb;
        memcpy(&fb, &b, 4);
        bias += fb;
        if (i == 0) {
            h0 = h; slots0 = s; ss0 = ss; voc0 = v; vs0 = vs; clean0 = clean;
            if (!clean0) { imdb_fail(e, IMDB_EXIT_DATA, "%s: model file lacks its clean section", paths[i]); goto done; }
            params = modelio_get_str(mf[0], "params");
            avg = imdb_xmalloc(ss ? ss : 1);
            memcpy(avg, s, ss);
            for (size_t k = 0; k < ss / sizeof *avg; k++) avg[k].w = 0;
            continue;
        }
        int same_clean = clean && clean0 && strcmp(clean, clean0) == 0;
        free(clean);
        int same = same_clean && memcmp(h, h0, 8) == 0 && memcmp(h + 12, h0 + 12, 16) == 0 &&
                   ss == ss0 && vs == vs0 && (!vs || (v && memcmp(v, voc0, vs) == 0));
        for (size_t k = 0; same && k < ss / sizeof *s; k++)
            same = s[k].key == slots0[k].key && s[k].idx == slots0[k].idx;
        if (!same) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: other features or cleaning than %s: average only nblr models "
                      "trained with one (merged) vocabulary and the same ngrams, min_df and cleaning",
                      paths[i], paths[0]);
            goto done;
        }
    }
    /* Mean weights: sum in double per slot, one model at a time. */
    size_t ns = ss0 / sizeof *avg;
    double *sum = imdb_xcalloc(ns ? ns : 1, sizeof *sum);
    for (size_t i = 0; i < n; i++) {
        size_t ss;
        const linear_slot *s = modelio_get(mf[i], "nblr.slots", &ss);
        for (size_t k = 0; k < ns; k++) sum[k] += s[k].w;
    }
    for (size_t k = 0; k < ns; k++) avg[k].w = avg[k].key ? (float)(sum[k] / (double)n) : 0.0f;
    free(sum);
    unsigned char h[HDR_SIZE];
    memcpy(h, h0, HDR_SIZE);
    float fb = (float)(bias / (double)n);
    uint32_t fbits;
    memcpy(&fbits, &fb, 4);
    put_u32le(h + 8, fbits);
    /* The first model's settings, and which models were averaged. */
    size_t plen = (params ? strlen(params) : 0) + 32;
    for (size_t i = 0; i < n; i++) plen += strlen(paths[i]) + 1;
    char *p2 = imdb_xmalloc(plen);
    size_t at = (size_t)snprintf(p2, plen, "%s", params ? params : "");
    if (at && p2[at - 1] != '\n') p2[at++] = '\n';
    at += (size_t)snprintf(p2 + at, plen - at, "average_of =");
    for (size_t i = 0; i < n; i++) at += (size_t)snprintf(p2 + at, plen - at, " %s", paths[i]);
    snprintf(p2 + at, plen - at, "\n");
    free(params);
    params = p2;
    if (!(w = modelio_create(out, e))) goto done;
    if (modelio_add(w, "nblr.hdr", h, HDR_SIZE, e) < 0 || modelio_add(w, "nblr.slots", avg, ss0, e) < 0 ||
        modelio_add(w, "nblr.vocab", voc0, vs0, e) < 0 || modelio_add_str(w, "kind", "nblr", e) < 0 ||
        modelio_add_str(w, "params", params, e) < 0 || modelio_add_str(w, "clean", clean0, e) < 0) {
        modelio_abort(w);
        goto done;
    }
    rc = modelio_commit(w, e);
done:
    for (size_t i = 0; i < n; i++) if (mf[i]) modelio_close(mf[i]);
    free(mf);
    free(avg);
    free(clean0);
    free(params);
    return rc;
}

int linear_fit_docs(size_t n, const size_t *off, const uint32_t *idx, const double *t, uint32_t nfeat,
                    double alpha, double c, double prior, long epochs, double tol, uint64_t seed,
                    double *w, double *b)
{
    /* The documents in one memory cache, in their order, blocks of 4096. */
    imdb_err e = { 0 };
    doccache_writer *dw = doccache_create(NULL, 4096, nfeat, 0, &e);
    for (size_t i = 0; i < n; i++)
        if (doccache_add(dw, (uint32_t)i, (float)t[i], idx + off[i], off[i + 1] - off[i], &e) < 0) {
            doccache_abort(dw);
            return -1;
        }
    lin_data D = { doccache_finish(dw, &e), n, t };
    if (!D.dc) return -1;
    uint8_t *role = imdb_xmalloc(n + 1);
    memset(role, ROLE_TRAIN, n + 1);
    lin_set S = { .alpha = alpha, .C = c, .prior = prior, .beta = 1, .tol = tol, .epochs = epochs, .patience = epochs,
                  .cw = { 1, 1 } };
    int ep;
    int rc = fit(&D, nfeat, &S, role, seed, 0x11, NULL, NULL, w, b, &ep, &e);
    free(role);
    doccache_close(D.dc);
    return rc;
}
