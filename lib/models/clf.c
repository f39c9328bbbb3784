/* clf.c — see clf.h. The model kinds a model file may hold are kinds.c's table. */
#include "clf.h"
#include "kinds.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clf {
    modelio *file;
    const clf_ops *ops;
    void *state;
    char *kind, *params, *clean;
    text_settings clean_settings;
    double load_seconds;
    double threshold;   /* the decision threshold in params, or 0.5 */
};

static clf *load(const char *path, int flags, imdb_err *e)
{
    double t0 = imdb_now();
    modelio *m = modelio_open_flags(path, flags, e);
    clf *c = m ? clf_open(m, e) : NULL;
    if (c) c->load_seconds = imdb_now() - t0;
    return c;
}

clf *clf_load(const char *path, imdb_err *e) { return load(path, 0, e); }
clf *clf_load_lazy(const char *path, imdb_err *e) { return load(path, MODELIO_LAZY, e); }

/* Copy e's message behind a prefix: "PATH: cleaning settings: MSG". */
static int prefixed(imdb_err *e, int status, const char *path, const char *what)
{
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    return imdb_fail(e, status, "%s: %s: %s", path, what, msg);
}

/* The line "threshold = X" of a params section (imdb-train -o threshold=...): *t = X,
 * 0.5 without one (models before it, and those trained without it); -1 if X is not a
 * number in [0, 1]. */
static int params_threshold(const char *params, double *t)
{
    *t = 0.5;
    for (const char *p = params; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, "threshold = ", 12) != 0) continue;
        char *end;
        errno = 0;
        double v = strtod(p + 12, &end);
        if (errno || end == p + 12 || (*end && *end != '\n') || !(v >= 0 && v <= 1)) return -1;
        *t = v;
        return 0;
    }
    return 0;
}

clf *clf_open(modelio *m, imdb_err *e)
{
    double t0 = imdb_now();
    const char *path = modelio_name(m);
    clf *c = calloc(1, sizeof *c);
    if (!c) {
        imdb_fail(e, IMDB_EXIT_NOMEM, "%s: out of memory loading the model", path);
        modelio_close(m);
        return NULL;
    }
    c->file = m;
    int rk, rp, rc;
    if ((rk = modelio_find_str(m, "kind", &c->kind, e)) < 0 || (rp = modelio_find_str(m, "params", &c->params, e)) < 0 ||
        (rc = modelio_find_str(m, "clean", &c->clean, e)) < 0)
        goto fail;
    if (!rk || !rp || !rc) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: model file lacks its kind, params or clean section", path);
        goto fail;
    }
    const kinds_entry *k = kinds_find(c->kind);
    c->ops = k ? k->clf : NULL;
    if (k && !c->ops) {   /* regemb: an input of other kinds */
        imdb_fail(e, IMDB_EXIT_DATA, "%s: a model of kind %.40s does not classify (it is an input of "
                  "imdb-train)", path, c->kind);
        goto fail;
    }
    if (!c->ops) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: unknown model kind '%.40s' (made by a newer imdb?)", path, c->kind);
        goto fail;
    }
    if (params_threshold(c->params, &c->threshold) < 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: params: threshold must be a number in [0, 1]", path);
        goto fail;
    }
    if (text_settings_parse(&c->clean_settings, c->clean, e) < 0) {
        prefixed(e, e->status == IMDB_EXIT_NOMEM ? IMDB_EXIT_NOMEM : IMDB_EXIT_DATA, path, "cleaning settings");
        goto fail;
    }
    c->state = c->ops->load(c->file, e);
    if (!c->state) goto fail;
    /* Not lazy: every check now, as loading always did. */
    if (!(modelio_flags(m) & MODELIO_LAZY) && clf_check(c, 0, e) < 0) goto fail;
    c->load_seconds = imdb_now() - t0;
    return c;
fail:
    clf_free(c);
    return NULL;
}

int clf_check(const clf *c, int full, imdb_err *e)
{
    if ((full ? modelio_verify(c->file, e) : modelio_check_rest(c->file, e)) < 0) return -1;
    return c->ops->verify ? c->ops->verify(c->state, full, modelio_name(c->file), e) : 0;
}

int clf_verify(const clf *c, imdb_err *e) { return clf_check(c, 1, e); }

void clf_free(clf *c)
{
    if (!c) return;
    if (c->state) c->ops->free(c->state);
    modelio_close(c->file);
    text_settings_free(&c->clean_settings);
    free(c->kind);
    free(c->params);
    free(c->clean);
    free(c);
}

const char *clf_kind(const clf *c) { return c->kind; }
const char *clf_params(const clf *c) { return c->params; }
const char *clf_clean(const clf *c) { return c->clean; }
const char *clf_path(const clf *c) { return modelio_name(c->file); }
double clf_load_seconds(const clf *c) { return c->load_seconds; }
double clf_threshold(const clf *c) { return c->threshold; }
int clf_can_explain(const clf *c) { return c->ops->explain != NULL; }

text_cleaner *clf_cleaner(const clf *c, imdb_err *e)
{
    text_cleaner *tc = text_cleaner_new(&c->clean_settings, e);
    /* The settings are the model file's: a pattern that does not compile is damage. */
    if (!tc && e->status == IMDB_EXIT_USAGE) {
        char why[sizeof e->msg];
        snprintf(why, sizeof why, "%s", e->msg);
        imdb_fail(e, IMDB_EXIT_DATA, "%s: the model's cleaning settings: %s", clf_path(c), why);
    }
    return tc;
}

double clf_prob(const clf *c, const char *const *toks, size_t ntok)
{
    errno = 0;
    double p = c->ops->prob(c->state, toks, ntok);
    if (isnan(p) && errno == ENOMEM) imdb_oom_exit(0);   /* clf_ops.prob's convention */
    return p;
}

int clf_prob_try(const clf *c, const char *const *toks, size_t ntok, double *p, imdb_err *e)
{
    errno = 0;
    double q = c->ops->prob(c->state, toks, ntok);
    if (isnan(q))
        return errno == ENOMEM
            ? imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory scoring %zu tokens", ntok)
            : imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: the model computed NaN (a bug)", clf_path(c));
    *p = q;
    return 0;
}

int clf_known(const clf *c, const char *const *toks, size_t ntok)
{
    return c->ops->known ? c->ops->known(c->state, toks, ntok) : -1;
}

size_t clf_explain_try(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k)
{
    return c->ops->explain ? c->ops->explain(c->state, toks, ntok, out, k) : 0;
}

int clf_contrib_cmp(const void *a, const void *b)
{
    const clf_contrib *x = a, *y = b;
    double ax = fabs(x->weight), ay = fabs(y->weight);
    if (ax != ay) return ax > ay ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->n - y->n;
}

size_t clf_explain(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k)
{
    size_t n = clf_explain_try(c, toks, ntok, out, k);
    if (n == CLF_NOMEM) imdb_oom_exit(0);
    return n;
}
