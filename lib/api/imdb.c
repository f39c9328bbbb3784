/* imdb.c — the public C API (imdb.h) over the internal classifier interface (clf.h) and
 * the cleaner (text.h).
 *
 * A model is a loaded clf plus a pool of text_cleaners: a cleaner is not thread-safe and
 * costs an allocation or a PCRE2 compile to create, so each imdb_score takes one from the
 * pool, scores, and puts it back: the first idle cleaner sits in an atomic slot (a
 * single caller never locks), the others in a list under the model's mutex. The pool grows to the largest number of calls in progress at once and is freed by
 * imdb_model_close. Per-thread scoring scratch lives in the kinds themselves (nblr keeps
 * one per thread, the neural kinds use the stack).
 *
 * Nothing here may exit, abort or print: every allocation is a checked malloc, and the
 * internal calls used are the reporting forms (text_tokenize_try, clf_prob_try,
 * clf_explain_try); model loading (modelio, clf_open and the kinds' loaders) reports out
 * of memory as IMDB_EXIT_NOMEM. */
#include "imdb.h"
#include "clf.h"
#include "modelio.h"
#include "pool.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)

struct imdb_model {
    clf *c;
    _Atomic(text_cleaner *) spare;   /* one idle cleaner, taken and given without the lock */
    pthread_mutex_t lock;       /* guards the pool */
    text_cleaner **pool;        /* idle cleaners: pool[0..npool) */
    size_t npool, cappool;
};

/* ---- errors ---------------------------------------------------------------------- */

static imdb_status fail(imdb_error *err, imdb_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static imdb_status fail(imdb_error *err, imdb_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

/* An internal error as a public one. The internal statuses are the tools' exit statuses;
 * out of memory is IMDB_EXIT_NOMEM (loading), or IMDB_EXIT_INTERNAL with a message saying
 * so (the scoring paths: text.h, clf.h). */
static imdb_status from_internal(imdb_error *err, const imdb_err *e)
{
    imdb_status st;
    switch (e->status) {
    case IMDB_EXIT_DATA: st = IMDB_ERR_DATA; break;
    case IMDB_EXIT_USAGE: st = IMDB_ERR_USAGE; break;
    case IMDB_EXIT_IO: st = IMDB_ERR_IO; break;
    case IMDB_EXIT_NOMEM: st = IMDB_ERR_NOMEM; break;
    default: st = strstr(e->msg, "out of memory") ? IMDB_ERR_NOMEM : IMDB_ERR_INTERNAL; break;
    }
    return fail(err, st, "%s", e->msg);
}

const char *imdb_version(void)
{
    return STR(IMDB_VERSION_MAJOR) "." STR(IMDB_VERSION_MINOR) "." STR(IMDB_VERSION_PATCH);
}

const char *imdb_status_string(imdb_status status)
{
    switch (status) {
    case IMDB_OK: return "success";
    case IMDB_ERR_DATA: return "corrupt, foreign or newer model data";
    case IMDB_ERR_USAGE: return "invalid argument";
    case IMDB_ERR_IO: return "cannot open or read the file";
    case IMDB_ERR_NOMEM: return "out of memory";
    case IMDB_ERR_INTERNAL: return "internal error or resource limit";
    }
    return "unknown status";
}

/* ---- opening and closing --------------------------------------------------------- */

/* The model around a loaded clf (which it then owns, also on failure). */
static imdb_status wrap(clf *c, imdb_model **out, imdb_error *err)
{
    imdb_model *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, IMDB_ERR_NOMEM, "%s: out of memory", clf_path(c));
        clf_free(c);
        return IMDB_ERR_NOMEM;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        clf_free(c);
        return fail(err, IMDB_ERR_INTERNAL, "cannot create a mutex");
    }
    atomic_init(&m->spare, NULL);
    m->c = c;
    *out = m;
    return IMDB_OK;
}

imdb_status imdb_model_open(const char *path, imdb_model **out, imdb_error *err)
{
    if (out) *out = NULL;
    if (!path || !out) return fail(err, IMDB_ERR_USAGE, "imdb_model_open: %s is NULL", path ? "out" : "path");
    imdb_err e = { 0, "" };
    clf *c = clf_load(path, &e);
    if (!c) return from_internal(err, &e);
    return wrap(c, out, err);
}

imdb_status imdb_model_open_mem(const void *data, size_t size, const char *name, imdb_model **out,
                                imdb_error *err)
{
    if (out) *out = NULL;
    if (!name) name = "<memory>";
    if (!out) return fail(err, IMDB_ERR_USAGE, "imdb_model_open_mem: out is NULL");
    if (!data && size) return fail(err, IMDB_ERR_USAGE, "imdb_model_open_mem: data is NULL");
    if (size == 0) return fail(err, IMDB_ERR_DATA, "%s: not an imdb model file (empty)", name);
    imdb_err e = { 0, "" };
    modelio *mf = modelio_open_mem(data, size, name, &e);
    clf *c = mf ? clf_open(mf, &e) : NULL;   /* clf_open owns mf, also on failure */
    if (!c) return from_internal(err, &e);
    return wrap(c, out, err);
}

void imdb_model_close(imdb_model *model)
{
    if (!model) return;
    text_cleaner_free(atomic_load(&model->spare));
    for (size_t i = 0; i < model->npool; i++) text_cleaner_free(model->pool[i]);
    free(model->pool);
    pthread_mutex_destroy(&model->lock);
    clf_free(model->c);
    free(model);
}

static imdb_status cleaner_take(imdb_model *m, text_cleaner **out, imdb_error *err);
static void cleaner_give(imdb_model *m, text_cleaner *tc);

imdb_status imdb_model_verify(imdb_model *model, imdb_error *err)
{
    if (!model) return fail(err, IMDB_ERR_USAGE, "imdb_model_verify: model is NULL");
    imdb_err e = { 0, "" };
    /* Every CRC of the file from scratch (the bytes a caller lent to _open_mem included)
     * and the kinds' own checks: clf_verify, as imdb-predict --verify. */
    if (clf_verify(model->c, &e) < 0) return from_internal(err, &e);
    /* And its cleaning settings, which scoring compiles (a first cleaner, kept). */
    text_cleaner *tc;
    imdb_status st = cleaner_take(model, &tc, err);
    if (st == IMDB_OK) cleaner_give(model, tc);
    return st;
}

imdb_status imdb_model_info_get(const imdb_model *model, imdb_model_info *info, imdb_error *err)
{
    if (!model || !info)
        return fail(err, IMDB_ERR_USAGE, "imdb_model_info_get: %s is NULL", model ? "info" : "model");
    info->kind = clf_kind(model->c);
    info->params = clf_params(model->c);
    info->clean = clf_clean(model->c);
    info->can_explain = clf_can_explain(model->c);
    info->load_seconds = clf_load_seconds(model->c);
    return IMDB_OK;
}

double imdb_model_threshold(const imdb_model *model)
{
    return clf_threshold(model->c);
}

/* ---- the cleaner pool -------------------------------------------------------------- */

/* An idle cleaner, or a new one when all are in use. */
static imdb_status cleaner_take(imdb_model *m, text_cleaner **out, imdb_error *err)
{
    text_cleaner *tc = atomic_exchange(&m->spare, NULL);
    if (!tc) {
        pthread_mutex_lock(&m->lock);
        if (m->npool) tc = m->pool[--m->npool];
        pthread_mutex_unlock(&m->lock);
    }
    if (!tc) {
        imdb_err e = { 0, "" };
        if (!(tc = clf_cleaner(m->c, &e))) return from_internal(err, &e);
    }
    *out = tc;
    return IMDB_OK;
}

static void cleaner_give(imdb_model *m, text_cleaner *tc)
{
    text_cleaner *none = NULL;
    if (atomic_compare_exchange_strong(&m->spare, &none, tc)) return;
    pthread_mutex_lock(&m->lock);
    if (m->npool == m->cappool) {
        size_t cap = m->cappool ? 2 * m->cappool : 8;
        text_cleaner **p = realloc(m->pool, cap * sizeof *p);
        if (!p) {   /* out of memory: the pool just does not grow */
            pthread_mutex_unlock(&m->lock);
            text_cleaner_free(tc);
            return;
        }
        m->pool = p;
        m->cappool = cap;
    }
    m->pool[m->npool++] = tc;
    pthread_mutex_unlock(&m->lock);
}

/* ---- scoring ------------------------------------------------------------------------ */

/* The model is logically const (immutable for the caller); the pool is its cache. */
static imdb_model *mut(const imdb_model *m) { return (imdb_model *)(uintptr_t)m; }

static imdb_status tokenize(text_cleaner *tc, const char *text, size_t len, const char *const **toks,
                            size_t *ntok, imdb_error *err)
{
    *ntok = text_tokenize_try(tc, text ? text : "", text ? len : 0, toks);
    if (*ntok == TEXT_NOMEM)
        return fail(err, IMDB_ERR_NOMEM, "out of memory cleaning a text of %zu bytes", len);
    return IMDB_OK;
}

imdb_status imdb_score(const imdb_model *model, const char *text, size_t len, double *prob, imdb_error *err)
{
    if (!model || !prob)
        return fail(err, IMDB_ERR_USAGE, "imdb_score: %s is NULL", model ? "prob" : "model");
    if (!text && len) return fail(err, IMDB_ERR_USAGE, "imdb_score: text is NULL but len is %zu", len);
    imdb_model *m = mut(model);
    text_cleaner *tc;
    imdb_status st = cleaner_take(m, &tc, err);
    if (st != IMDB_OK) return st;
    const char *const *toks;
    size_t ntok;
    st = tokenize(tc, text, len, &toks, &ntok, err);
    if (st == IMDB_OK) {
        imdb_err e;   /* not "= { 0 }": zeroing its 1 KiB message each call is 1% of a score */
        e.status = 0;
        e.msg[0] = '\0';
        double p;
        if (clf_prob_try(m->c, toks, ntok, &p, &e) < 0) st = from_internal(err, &e);
        else *prob = p;
    }
    cleaner_give(m, tc);
    return st;
}

void imdb_contrib_free(imdb_contrib *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) free(c[i].ngram);
    free(c);
}

/* toks[start, start + n) joined by spaces, malloc'd; NULL if out of memory. */
static char *join(const char *const *toks, size_t start, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) len += strlen(toks[start + (size_t)i]) + 1;
    char *s = malloc(len ? len : 1), *o = s;
    if (!s) return NULL;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(toks[start + (size_t)i]);
        if (i) *o++ = ' ';
        memcpy(o, toks[start + (size_t)i], l);
        o += l;
    }
    *o = '\0';
    return s;
}

imdb_status imdb_explain(const imdb_model *model, const char *text, size_t len, int k, double *prob,
                         imdb_contrib **out, size_t *n, imdb_error *err)
{
    if (out) *out = NULL;
    if (n) *n = 0;
    if (!model || !out || !n)
        return fail(err, IMDB_ERR_USAGE, "imdb_explain: %s is NULL", !model ? "model" : !out ? "out" : "n");
    if (!text && len) return fail(err, IMDB_ERR_USAGE, "imdb_explain: text is NULL but len is %zu", len);
    if (k < 1 || k > 1000) return fail(err, IMDB_ERR_USAGE, "imdb_explain: k is %d, not in 1..1000", k);
    imdb_model *m = mut(model);
    if (!clf_can_explain(m->c))
        return fail(err, IMDB_ERR_USAGE, "%s: a model of kind %s cannot explain its scores (only nblr and regcnn can)",
                    clf_path(m->c), clf_kind(m->c));
    clf_contrib *cc = malloc((size_t)k * sizeof *cc);
    if (!cc) return fail(err, IMDB_ERR_NOMEM, "out of memory");
    text_cleaner *tc;
    imdb_status st = cleaner_take(m, &tc, err);
    if (st != IMDB_OK) {
        free(cc);
        return st;
    }
    const char *const *toks;
    size_t ntok, nc = 0;
    imdb_contrib *res = NULL;
    double p = 0;
    imdb_err e = { 0, "" };
    st = tokenize(tc, text, len, &toks, &ntok, err);
    if (st != IMDB_OK) goto done;
    if (clf_prob_try(m->c, toks, ntok, &p, &e) < 0) {
        st = from_internal(err, &e);
        goto done;
    }
    nc = clf_explain_try(m->c, toks, ntok, cc, (size_t)k);
    if (nc == CLF_NOMEM) {
        nc = 0;
        st = fail(err, IMDB_ERR_NOMEM, "out of memory explaining %zu tokens", ntok);
        goto done;
    }
    if (!(res = calloc(nc ? nc : 1, sizeof *res))) {
        st = fail(err, IMDB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nc; i++) {
        res[i].weight = cc[i].weight;
        if (!(res[i].ngram = join(toks, cc[i].start, cc[i].n))) {
            imdb_contrib_free(res, i);
            res = NULL;
            st = fail(err, IMDB_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    cleaner_give(m, tc);
    free(cc);
    if (st != IMDB_OK) return st;
    if (prob) *prob = p;
    *out = res;
    *n = nc;
    return IMDB_OK;
}

/* ---- batches ------------------------------------------------------------------------- */

/* One batch over lib/util/pool.h: chunks of CHUNK texts, each scored by imdb_score on
 * whichever thread takes it, into its own slots of probs, so the result cannot depend on
 * the number of threads. The first failure by index is reported (chunks after it are
 * skipped, those before it still run), which does not depend on it either. Kept in one
 * function so that it can move onto the scoring module (lib/score). */
#define CHUNK 64
#define MAX_THREADS 256

typedef struct batch {
    const imdb_model *model;
    const char *const *texts;
    const size_t *lens;
    size_t n;
    double *probs;
    pthread_mutex_t lock;
    size_t bad;           /* index of the first failing text known so far, n if none */
    imdb_error err;       /* its error */
} batch;

static void batch_chunk(void *ctx, int thread, size_t chunk)
{
    (void)thread;
    batch *b = ctx;
    size_t i0 = chunk * CHUNK, i1 = i0 + CHUNK < b->n ? i0 + CHUNK : b->n;
    for (size_t i = i0; i < i1; i++) {
        pthread_mutex_lock(&b->lock);
        int skip = b->bad < i;
        pthread_mutex_unlock(&b->lock);
        if (skip) return;
        const char *t = b->texts[i];
        size_t len = b->lens ? b->lens[i] : t ? strlen(t) : 0;
        imdb_error e;
        imdb_status st;
        if (!t && len) st = fail(&e, IMDB_ERR_USAGE, "imdb_score_batch: texts[%zu] is NULL", i);
        else st = imdb_score(b->model, t, len, &b->probs[i], &e);
        if (st != IMDB_OK) {
            pthread_mutex_lock(&b->lock);
            if (i < b->bad) {
                b->bad = i;
                b->err = e;
            }
            pthread_mutex_unlock(&b->lock);
            return;
        }
    }
}

static imdb_status score_batch_pool(const imdb_model *model, const char *const *texts, const size_t *lens,
                                    size_t n, double *probs, int nthreads, imdb_error *err)
{
    batch b = { .model = model, .texts = texts, .lens = lens, .n = n, .probs = probs, .bad = n };
    if (pthread_mutex_init(&b.lock, NULL) != 0)
        return fail(err, IMDB_ERR_INTERNAL, "cannot create a mutex");
    /* pool_for starts what threads it can and runs the rest on the calling thread. */
    pool_for(nthreads, (n + CHUNK - 1) / CHUNK, batch_chunk, &b);
    pthread_mutex_destroy(&b.lock);
    if (b.bad < n) {
        if (err) *err = b.err;
        return b.err.status;
    }
    return IMDB_OK;
}

imdb_status imdb_score_batch(const imdb_model *model, const char *const *texts, const size_t *lens, size_t n,
                             double *probs, int nthreads, imdb_error *err)
{
    if (!model) return fail(err, IMDB_ERR_USAGE, "imdb_score_batch: model is NULL");
    if (n && (!texts || !probs))
        return fail(err, IMDB_ERR_USAGE, "imdb_score_batch: %s is NULL", texts ? "probs" : "texts");
    if (nthreads < 0) return fail(err, IMDB_ERR_USAGE, "imdb_score_batch: nthreads is %d", nthreads);
    if (nthreads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = cores > 0 ? (int)(cores < MAX_THREADS ? cores : MAX_THREADS) : 1;
    }
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    if (n == 0) return IMDB_OK;
    return score_batch_pool(model, texts, lens, n, probs, nthreads, err);
}
