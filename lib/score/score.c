/* score.c — see score.h.
 *
 * Batches: the main thread copies inputs into one arena (texts and ids, addressed by
 * offset since the arena moves as it grows); pool_for hands chunks of CHUNK inputs to the
 * threads, each scoring with its own scorer and formatting into the chunk's own buffer,
 * so the chunks are written in order without any locking, and the output does not depend
 * on which thread took which chunk. */
#include "score.h"
#include "pool.h"
#include "text.h"
#include "tokio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_CHUNK 64      /* inputs per chunk of a formatted batch */
#define PROBS_CHUNK 32      /* texts per chunk of score_probs */
#define BATCH_NCHUNKS ((SCORE_BATCH_MAX + BATCH_CHUNK - 1) / BATCH_CHUNK)

struct scorer {
    const clf *model;
    score_input in;
    text_cleaner *cleaner;   /* SCORE_TEXT */
    char **toks;             /* SCORE_TOKENS: tokio_split's array */
    size_t cap;
    clf_contrib *contrib;    /* max_k entries */
    int max_k;
    double busy;             /* CPU seconds in pool work */
};

scorer *scorer_new(const clf *model, score_input in, int max_k, imdb_err *e)
{
    scorer *s = calloc(1, sizeof *s);
    if (!s || (max_k > 0 && !(s->contrib = calloc((size_t)max_k, sizeof *s->contrib)))) {
        free(s);
        imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory");
        return NULL;
    }
    s->model = model;
    s->in = in;
    s->max_k = max_k;
    if (in == SCORE_TEXT && !(s->cleaner = clf_cleaner(model, e))) {
        scorer_free(s);
        return NULL;
    }
    return s;
}

void scorer_free(scorer *s)
{
    if (!s) return;
    if (s->cleaner) text_cleaner_free(s->cleaner);
    free(s->toks);
    free(s->contrib);
    free(s);
}

static void finish(scorer *s, const char *const *toks, size_t ntok, int k, score_result *r)
{
    if (k > s->max_k) k = s->max_k;
    r->toks = toks;
    r->ntok = ntok;
    r->prob = clf_prob(s->model, toks, ntok);
    r->contrib = s->contrib;
    r->ncontrib = k > 0 ? clf_explain(s->model, toks, ntok, s->contrib, (size_t)k) : 0;
}

void scorer_text(scorer *s, const char *text, size_t len, int k, score_result *r)
{
    const char *const *toks;
    size_t ntok = text_tokenize(s->cleaner, text, len, &toks);
    finish(s, toks, ntok, k, r);
}

void scorer_tokens(scorer *s, char *text, size_t len, int k, score_result *r)
{
    size_t ntok = tokio_split(text, len, &s->toks, &s->cap);
    finish(s, (const char *const *)s->toks, ntok, k, r);
}

/* One input, whichever the scorer reads (text is only modified for token lists). */
static void score_one(scorer *s, char *text, size_t len, int k, score_result *r)
{
    if (s->in == SCORE_TOKENS) scorer_tokens(s, text, len, k, r);
    else scorer_text(s, text, len, k, r);
}

/* ---- pools ---- */

struct score_pool {
    int n;
    scorer **s;
};

score_pool *score_pool_new(const clf *model, score_input in, int max_k, int nthreads,
                           imdb_err *e)
{
    if (nthreads < 1) nthreads = 1;
    score_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->s = calloc((size_t)nthreads, sizeof *p->s))) {
        free(p);
        imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory");
        return NULL;
    }
    p->n = nthreads;
    for (int t = 0; t < nthreads; t++)
        if (!(p->s[t] = scorer_new(model, in, max_k, e))) {
            score_pool_free(p);
            return NULL;
        }
    return p;
}

void score_pool_free(score_pool *p)
{
    if (!p) return;
    for (int t = 0; t < p->n; t++) scorer_free(p->s[t]);
    free(p->s);
    free(p);
}

int score_pool_threads(const score_pool *p) { return p->n; }
scorer *score_pool_scorer(score_pool *p, int t) { return p->s[t]; }

double score_pool_busy(const score_pool *p, int t)
{
    if (t >= 0) return p->s[t]->busy;
    double sum = 0;
    for (int i = 0; i < p->n; i++) sum += p->s[i]->busy;
    return sum;
}

double score_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct probs_job {
    score_pool *p;
    const char *const *ctexts;   /* SCORE_TEXT */
    char *const *texts;          /* SCORE_TOKENS */
    const size_t *lens;
    size_t n;
    double *probs;
} probs_job;

static void probs_chunk(void *ctx, int thread, size_t c)
{
    probs_job *j = ctx;
    scorer *s = j->p->s[thread];
    double t0 = score_thread_cpu();
    size_t end = (c + 1) * PROBS_CHUNK < j->n ? (c + 1) * PROBS_CHUNK : j->n;
    score_result r;
    for (size_t i = c * PROBS_CHUNK; i < end; i++) {
        if (j->texts) {
            size_t len = j->lens ? j->lens[i] : strlen(j->texts[i]);
            scorer_tokens(s, j->texts[i], len, 0, &r);
        } else {
            size_t len = j->lens ? j->lens[i] : strlen(j->ctexts[i]);
            scorer_text(s, j->ctexts[i], len, 0, &r);
        }
        j->probs[i] = r.prob;
    }
    s->busy += score_thread_cpu() - t0;
}

void score_probs(score_pool *p, const char *const *texts, const size_t *lens, size_t n,
                 double *probs)
{
    probs_job j = {p, texts, NULL, lens, n, probs};
    pool_for(p->n, (n + PROBS_CHUNK - 1) / PROBS_CHUNK, probs_chunk, &j);
}

void score_probs_tokens(score_pool *p, char *const *texts, const size_t *lens, size_t n,
                        double *probs)
{
    probs_job j = {p, NULL, texts, lens, n, probs};
    pool_for(p->n, (n + PROBS_CHUNK - 1) / PROBS_CHUNK, probs_chunk, &j);
}

/* ---- formatting ---- */

void score_format_ngram(buf *b, const char *const *toks, const clf_contrib *c, int json,
                        json_style st)
{
    if (!json) {
        for (int k = 0; k < c->n; k++) {
            if (k) buf_char(b, ' ');
            buf_str(b, toks[c->start + (size_t)k]);
        }
        return;
    }
    buf_char(b, '"');
    for (int k = 0; k < c->n; k++) {
        if (k) buf_char(b, ' ');
        const char *t = toks[c->start + (size_t)k];
        json_str_part(b, t, strlen(t), st);
    }
    buf_char(b, '"');
}

void score_format_result(buf *b, const score_format *f, const score_origin *at,
                         const score_result *r)
{
    const char *label = r->prob >= f->threshold ? "pos" : "neg";
    if (f->json) {
        json_style st = f->style;
        buf_add(b, "{\"id\":", 6);
        if (at->id) json_str(b, at->id, at->id_len, st);
        else json_int(b, at->num);
        if (at->file) {
            buf_add(b, ",\"file\":", 8);
            json_cstr(b, at->file, st);
        }
        buf_add(b, ",\"label\":\"", 10);
        buf_add(b, label, 3);
        buf_add(b, "\",\"probability\":", 16);
        json_num(b, r->prob, st);
        if (f->explain) {
            buf_add(b, ",\"explain\":[", 12);
            for (size_t i = 0; i < r->ncontrib; i++) {
                buf_add(b, i ? ",{\"ngram\":" : "{\"ngram\":", i ? 10 : 9);
                score_format_ngram(b, r->toks, &r->contrib[i], 1, st);
                buf_add(b, ",\"weight\":", 10);
                json_num(b, r->contrib[i].weight, st);
                buf_char(b, '}');
            }
            buf_char(b, ']');
        }
        buf_char(b, '}');
        return;
    }
    if (f->id_out) {
        if (at->id) buf_add(b, at->id, at->id_len);
        else buf_printf(b, "%ld", at->num);
        buf_char(b, '\t');
    }
    char num[32];
    size_t nl = imdb_fmt_fixed6(num, r->prob);   /* printf's %.6f, without its cost */
    buf_add(b, label, 3);
    buf_char(b, '\t');
    buf_add(b, num, nl);
    if (f->explain) {
        buf_char(b, '\t');
        for (size_t i = 0; i < r->ncontrib; i++) {
            if (i) buf_char(b, ' ');
            score_format_ngram(b, r->toks, &r->contrib[i], 0, 0);
            buf_printf(b, "(%+.3f)", r->contrib[i].weight);
        }
    }
}

/* ---- ordered batches ---- */

struct score_batch {
    size_t n;
    size_t off[SCORE_BATCH_MAX], len[SCORE_BATCH_MAX];
    size_t id_off[SCORE_BATCH_MAX], id_len[SCORE_BATCH_MAX];
    int has_id[SCORE_BATCH_MAX];
    long num[SCORE_BATCH_MAX];
    const char *file[SCORE_BATCH_MAX];
    buf arena;               /* texts and ids, each followed by a NUL */
    buf out[BATCH_NCHUNKS];
    int damaged[BATCH_NCHUNKS];   /* a NaN in the chunk of the last run */
    size_t nout;             /* chunks of the last run */
};

score_batch *score_batch_new(imdb_err *e)
{
    score_batch *b = calloc(1, sizeof *b);
    if (!b) imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory");
    return b;
}

void score_batch_free(score_batch *b)
{
    if (!b) return;
    buf_free(&b->arena);
    for (size_t c = 0; c < BATCH_NCHUNKS; c++) buf_free(&b->out[c]);
    free(b);
}

size_t score_batch_count(const score_batch *b) { return b->n; }

int score_batch_full(const score_batch *b)
{
    return b->n >= SCORE_BATCH_MAX || b->arena.len >= SCORE_BATCH_BYTES;
}

static size_t arena_add(buf *a, const char *s, size_t n)
{
    size_t off = a->len;
    buf_add(a, s, n);
    buf_char(a, '\0');
    return off;
}

int score_batch_add(score_batch *b, const char *text, size_t len, const char *id,
                    size_t id_len, long num, const char *file, imdb_err *e)
{
    if (b->n >= SCORE_BATCH_MAX)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "score_batch_add: the batch is full");
    size_t i = b->n;
    b->off[i] = arena_add(&b->arena, text, len);
    b->len[i] = len;
    b->has_id[i] = id != NULL;
    b->id_off[i] = id ? arena_add(&b->arena, id, id_len) : 0;
    b->id_len[i] = id_len;
    b->num[i] = num;
    b->file[i] = file;
    if (buf_failed(&b->arena)) {
        buf_clear(&b->arena);   /* the batch is lost; the caller fails the run */
        b->n = 0;
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory (%zu bytes of input)", len);
    }
    b->n++;
    return 0;
}

typedef struct batch_job {
    score_batch *b;
    score_pool *p;
    const score_format *f;
    int k;
} batch_job;

static void batch_chunk(void *ctx, int thread, size_t c)
{
    batch_job *j = ctx;
    score_batch *b = j->b;
    scorer *s = j->p->s[thread];
    buf *out = &b->out[c];
    double t0 = score_thread_cpu();
    buf_clear(out);
    size_t end = (c + 1) * BATCH_CHUNK < b->n ? (c + 1) * BATCH_CHUNK : b->n;
    score_result r;
    b->damaged[c] = 0;
    for (size_t i = c * BATCH_CHUNK; i < end; i++) {
        score_origin at = {b->has_id[i] ? b->arena.p + b->id_off[i] : NULL, b->id_len[i],
                           b->num[i], b->file[i]};
        score_one(s, b->arena.p + b->off[i], b->len[i], j->f->explain ? j->k : 0, &r);
        if (isnan(r.prob)) b->damaged[c] = 1;
        score_format_result(out, j->f, &at, &r);
        buf_char(out, '\n');
    }
    s->busy += score_thread_cpu() - t0;
}

int score_batch_run(score_batch *b, score_pool *p, const score_format *f, int k, imdb_err *e)
{
    size_t nchunks = (b->n + BATCH_CHUNK - 1) / BATCH_CHUNK;
    pool_for(p->n, nchunks, batch_chunk, &(batch_job){b, p, f, k});
    b->nout = nchunks;
    b->n = 0;
    buf_clear(&b->arena);
    for (size_t c = 0; c < nchunks; c++) {
        if (buf_failed(&b->out[c])) {
            b->nout = 0;
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory formatting the results");
        }
        if (b->damaged[c]) {
            b->nout = 0;
            return score_damaged(p->s[0]->model, e);
        }
    }
    return 0;
}

int score_damaged(const clf *model, imdb_err *e)
{
    if (clf_verify(model, e) < 0) return -1;
    return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: the model computed NaN, yet its file passes "
                     "every check: please report this", clf_path(model));
}

const buf *score_batch_output(const score_batch *b, size_t *nchunks)
{
    *nchunks = b->nout;
    return b->out;
}
