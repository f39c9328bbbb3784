/* train.c — see train.h. */
#include "train.h"
#include "kinds.h"
#include "rng.h"
#include "tokio.h"
#include "text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const trainer *train_find(const char *kind)
{
    const kinds_entry *k = kinds_find(kind);
    return k ? k->train : NULL;
}

static void push_doc(train_docs *d, int label, double target, const char *id, char *text, size_t len)
{
    if (d->n + 1 >= d->cap_docs) {
        d->cap_docs = d->cap_docs ? d->cap_docs * 2 : 1024;
        d->label = imdb_xrealloc(d->label, d->cap_docs * sizeof *d->label);
        d->target = imdb_xrealloc(d->target, d->cap_docs * sizeof *d->target);
        d->id = imdb_xrealloc(d->id, d->cap_docs * sizeof *d->id);
        d->off = imdb_xrealloc(d->off, (d->cap_docs + 1) * sizeof *d->off);
        if (d->n == 0) d->off[0] = 0;
    }
    /* Copy the text into the arena; tokens become NUL-terminated in place. Token pointers
     * are stored as arena offsets until the end, since the arena may move. */
    if (d->arena_len + len + 1 > d->arena_cap) {
        while (d->arena_len + len + 1 > d->arena_cap) d->arena_cap = d->arena_cap ? d->arena_cap * 2 : 1 << 20;
        d->arena = imdb_xrealloc(d->arena, d->arena_cap);
    }
    char *p = d->arena + d->arena_len, *end = p + len;
    memcpy(p, text, len);
    *end = '\0';
    size_t ntok = d->off[d->n];
    while (p < end) {
        while (p < end && *p == ' ') p++;
        if (p >= end) break;
        char *q = memchr(p, ' ', (size_t)(end - p));
        if (!q) q = end;
        *q = '\0';
        if (ntok == d->cap_tok) {
            d->cap_tok = d->cap_tok ? d->cap_tok * 2 : 1 << 16;
            d->tok = imdb_xrealloc(d->tok, d->cap_tok * sizeof *d->tok);
        }
        d->tok[ntok++] = (const char *)(uintptr_t)(p - d->arena);
        p = q + 1;
    }
    d->arena_len += len + 1;
    d->label[d->n] = label;
    d->target[d->n] = (float)target;
    d->id[d->n] = imdb_xstrdup(id);
    d->n++;
    d->off[d->n] = ntok;
}

int train_docs_read(train_docs *d, const char *path, int labelled, char **clean, imdb_err *e)
{
    tokio_reader *r = tokio_open(path, e);
    if (!r) return -1;
    const char *s = tokio_settings(r);
    if (s && *clean && strcmp(s, *clean) != 0) {
        imdb_fail(e, IMDB_EXIT_DATA,
                  "%s: cleaned with different settings than the vocabulary or the other inputs "
                  "(compare their first lines); clean them all with the same imdb-clean options", path);
        tokio_close(r);
        return -1;
    }
    if (s && !*clean) *clean = imdb_xstrdup(s);
    /* Token pointers are arena offsets while reading (see push_doc); rebase before and after. */
    size_t ntok0 = d->n ? d->off[d->n] : 0;
    for (size_t i = 0; i < ntok0; i++) d->tok[i] = (const char *)(uintptr_t)(d->tok[i] - d->arena);
    tokio_doc doc;
    int got;
    while ((got = tokio_next(r, &doc, e)) > 0) {
        if (labelled == 1 && doc.label == TOKIO_UNLABELLED) continue;
        if (labelled == 0 && doc.label != TOKIO_UNLABELLED) continue;
        if (doc.soft && d->nsoft++ == 0) {
            size_t l = strlen(path) + 24;
            d->soft_at = imdb_xmalloc(l);
            snprintf(d->soft_at, l, "%s:%ld", path, doc.lineno);
        }
        push_doc(d, doc.label, doc.prob, doc.id, doc.text, doc.text_len);
    }
    size_t ntok = d->n ? d->off[d->n] : 0;
    for (size_t i = 0; i < ntok; i++) d->tok[i] = d->arena + (uintptr_t)d->tok[i];
    tokio_close(r);
    return got < 0 ? -1 : 0;
}

static const train_docs *sort_docs;   /* qsort has no context argument */

static int cmp_doc_id(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(sort_docs->id[a], sort_docs->id[b]);
    return c ? c : (a > b) - (a < b);   /* the index breaks ties: a stable order */
}

void train_docs_sort_by_id(train_docs *d)
{
    if (d->n < 2) return;
    size_t n = d->n, *perm = imdb_xmalloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    sort_docs = d;
    qsort(perm, n, sizeof *perm, cmp_doc_id);
    sort_docs = NULL;
    int *label = imdb_xmalloc(d->cap_docs * sizeof *label);
    float *target = imdb_xmalloc(d->cap_docs * sizeof *target);
    char **id = imdb_xmalloc(d->cap_docs * sizeof *id);
    size_t *off = imdb_xmalloc((d->cap_docs + 1) * sizeof *off);
    const char **tok = imdb_xmalloc((d->cap_tok ? d->cap_tok : 1) * sizeof *tok);
    off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = perm[i], len = d->off[j + 1] - d->off[j];
        label[i] = d->label[j];
        target[i] = d->target[j];
        id[i] = d->id[j];
        memcpy(tok + off[i], d->tok + d->off[j], len * sizeof *tok);
        off[i + 1] = off[i] + len;
    }
    free(d->label); free(d->target); free(d->id); free(d->off); free(d->tok); free(perm);
    d->label = label;
    d->target = target;
    d->id = id;
    d->off = off;
    d->tok = tok;
}

void train_docs_free(train_docs *d)
{
    for (size_t i = 0; i < d->n; i++) free(d->id[i]);
    free(d->label);
    free(d->target);
    free(d->soft_at);
    free(d->id);
    free(d->off);
    free(d->tok);
    free(d->arena);
    memset(d, 0, sizeof *d);
}

size_t train_docs_soften(train_docs *d, double temperature, double min_confidence, int hard)
{
    if (d->nsoft == 0) return 0;
    /* A soft label of exactly 0 or 1 is the same target as a hard label, so it is one. */
    size_t m = 0, ntok = 0, dropped = 0, nsoft = 0;
    for (size_t i = 0; i < d->n; i++) {
        double p = d->target[i];
        int soft = d->label[i] != TOKIO_UNLABELLED && p != 0 && p != 1;
        size_t a = d->off[i], b = d->off[i + 1];
        if (soft && fmax(p, 1 - p) < min_confidence) {
            free(d->id[i]);
            dropped++;
            continue;
        }
        if (soft) {
            if (hard) p = p >= 0.5 ? 1 : 0;
            else if (temperature != 1) {
                double z = log(p / (1 - p)) / temperature;
                p = 1 / (1 + exp(-z));
            }
            nsoft += !hard;
        }
        d->label[m] = d->label[i];
        d->target[m] = (float)p;
        d->id[m] = d->id[i];
        d->off[m] = ntok;
        memmove(d->tok + ntok, d->tok + a, (b - a) * sizeof *d->tok);
        ntok += b - a;
        m++;
    }
    d->n = m;
    d->off[m] = ntok;
    d->nsoft = nsoft;
    return dropped;
}

void train_split(train_ctx *ctx, double valid_fraction)
{
    train_split_n(ctx, ctx->docs->n, valid_fraction);
}

void train_split_n(train_ctx *ctx, size_t n, double valid_fraction)
{
    uint32_t *idx = imdb_xmalloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    rng r;
    rng_split(&r, ctx->seed, 0x5711);
    rng_shuffle_u32(&r, idx, n);
    size_t nva = (size_t)llround(valid_fraction * (double)n);
    if (nva > n) nva = n;
    free(ctx->va);
    free(ctx->tr);
    ctx->va = imdb_xmalloc((nva ? nva : 1) * sizeof *ctx->va);
    ctx->tr = imdb_xmalloc((n - nva ? n - nva : 1) * sizeof *ctx->tr);
    memcpy(ctx->va, idx, nva * sizeof *idx);
    memcpy(ctx->tr, idx + nva, (n - nva) * sizeof *idx);
    ctx->nva = nva;
    ctx->ntr = n - nva;
    free(idx);
}


/* class_weight = pos:W,neg:W (either order; a class left out weighs 1): w[0] neg, w[1] pos. */
static int parse_weights(const char *v, double w[2], imdb_err *e)
{
    w[0] = w[1] = 1;
    int seen[2] = { 0, 0 };
    for (const char *p = v; *p;) {
        int k = strncmp(p, "pos:", 4) == 0 ? 1 : strncmp(p, "neg:", 4) == 0 ? 0 : -1;
        char *end = NULL;
        double x = k < 0 ? NAN : strtod(p + 4, &end);
        if (k < 0 || seen[k] || end == p + 4 || !(x > 0 && x <= 1e6) || (*end && *end != ','))
            return imdb_fail(e, IMDB_EXIT_USAGE, "setting class_weight: '%s' is not 'balanced' or weights "
                             "like 'pos:1,neg:5.25' (each above 0, at most 1e6, once)", v);
        seen[k] = 1;
        w[k] = x;
        p = *end ? end + 1 : end;
    }
    if (!*v)
        return imdb_fail(e, IMDB_EXIT_USAGE, "setting class_weight: empty (give 'balanced' or weights like "
                         "'pos:1,neg:5.25')");
    return 0;
}

int train_balance_parse(conf *cfg, train_balance *b, imdb_err *e)
{
    memset(b, 0, sizeof *b);
    const char *cw = conf_get(cfg, "class_weight"), *thr = conf_get(cfg, "threshold");
    if (thr && strcmp(thr, "auto") == 0) b->want_heldout = 1;
    else if (thr) {
        double t;
        if (conf_double(cfg, "threshold", 0.5, 0, 1, &t, e) < 0) return -1;
    }
    if (conf_get(cfg, "undersample") && conf_double(cfg, "undersample", 1, 1, 1e6, &b->undersample, e) < 0)
        return -1;
    if (cw) {
        b->weighted = 1;
        b->class_w[0] = b->class_w[1] = 1;
        if (strcmp(cw, "balanced") == 0) b->balanced = 1;
        else if (parse_weights(cw, b->class_w, e) < 0) return -1;
    }
    return 0;
}

int train_balance_apply(train_ctx *ctx, const unsigned char *pos, imdb_err *e)
{
    const train_balance *b = &ctx->bal;
    size_t npos = 0, ntr = ctx->ntr;
    for (size_t s = 0; s < ntr; s++) npos += pos[ctx->tr[s]] != 0;
    if (b->undersample > 0) {
        size_t nneg = ntr - npos, nmin = npos < nneg ? npos : nneg, nmaj = ntr - nmin, out = ntr;
        int maj = npos > nneg;
        double want = round(b->undersample * (double)nmin);
        if ((double)nmaj > want) {
            size_t keep = (size_t)want, k = 0;
            uint32_t *m = imdb_xmalloc((nmaj ? nmaj : 1) * sizeof *m);
            for (size_t s = 0; s < ntr; s++)
                if ((pos[ctx->tr[s]] != 0) == maj) m[k++] = (uint32_t)s;
            rng r;
            rng_split(&r, ctx->seed, 0x0d5a);
            rng_shuffle_u32(&r, m, nmaj);
            unsigned char *drop = imdb_xcalloc(ntr ? ntr : 1, 1);
            for (size_t j = keep; j < nmaj; j++) drop[m[j]] = 1;
            out = 0;
            for (size_t s = 0; s < ntr; s++)
                if (!drop[s]) ctx->tr[out++] = ctx->tr[s];
            ctx->ntr = out;
            if (maj) npos = keep;
            free(drop);
            free(m);
        }
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "undersample %g: %zu documents of the larger class left out of the "
                  "training part", b->undersample, ntr - out);
    }
    if (b->balanced) {
        size_t n = ctx->ntr, nneg = n - npos;
        if (!npos || !nneg)
            return imdb_fail(e, IMDB_EXIT_DATA, "class_weight = balanced: the training part has no %s documents",
                             npos ? "neg" : "pos");
        ctx->bal.class_w[0] = (double)n / (2.0 * (double)nneg);
        ctx->bal.class_w[1] = (double)n / (2.0 * (double)npos);
    }
    if (b->weighted)
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "class weights: pos %g, neg %g", b->class_w[1], b->class_w[0]);
    return 0;
}

int train_stream_next(train_stream *s, tokio_doc *doc, imdb_err *e)
{
    for (;;) {
        if (!s->r) {
            if (s->at >= s->npaths) return 0;
            s->path = s->paths[s->at++];
            if (!(s->r = tokio_open(s->path, e))) return -1;
            const char *st = tokio_settings(s->r);
            if (st && *s->clean && strcmp(st, *s->clean) != 0) {
                imdb_fail(e, IMDB_EXIT_DATA,
                          "%s: cleaned with different settings than the vocabulary or the other inputs "
                          "(compare their first lines); clean them all with the same imdb-clean options", s->path);
                train_stream_close(s);
                return -1;
            }
            if (st && !*s->clean) *s->clean = imdb_xstrdup(st);
        }
        int got = tokio_next(s->r, doc, e);
        if (got < 0) return -1;
        if (got == 0) {
            tokio_close(s->r);
            s->r = NULL;
            continue;
        }
        if (s->labelled == 1 && doc->label == TOKIO_UNLABELLED) continue;
        if (s->labelled == 0 && doc->label != TOKIO_UNLABELLED) continue;
        return 1;
    }
}

void train_stream_close(train_stream *s)
{
    if (s->r) tokio_close(s->r);
    s->r = NULL;
}

int train_soft_settings(conf *cfg, double *temperature, double *min_confidence, long *hard, imdb_err *e)
{
    if (conf_double(cfg, "soft_temperature", 1, 0.01, 100, temperature, e) < 0 ||
        conf_double(cfg, "soft_min_confidence", 0, 0, 1, min_confidence, e) < 0 ||
        conf_long(cfg, "soft_hard", 0, 0, 1, hard, e) < 0)
        return -1;
    return 0;
}

double train_soften_one(double p, double temperature, double min_confidence, int hard)
{
    if (p == 0 || p == 1) return p;
    if (fmax(p, 1 - p) < min_confidence) return NAN;
    if (hard) return p >= 0.5 ? 1 : 0;
    if (temperature != 1) {
        double z = log(p / (1 - p)) / temperature;
        p = 1 / (1 + exp(-z));
    }
    return p;
}

void train_default_clean(char **clean, const imdb_log *log)
{
    if (*clean) return;
    text_settings ts;
    text_settings_default(&ts);
    *clean = text_settings_format(&ts);
    text_settings_free(&ts);
    imdb_logf(log, IMDB_LOG_INFO, "warning: the input has no #imdb-tokens header; assuming default cleaning");
}
