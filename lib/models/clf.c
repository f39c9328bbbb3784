/* clf.c — see clf.h. The table below is the one place that lists the model kinds a
 * model file may hold. */
#include "clf.h"
#include "ensemble.h"
#include "dvcos.h"
#include "linear.h"
#include "nnmodel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const clf_ops *const kinds[] = {
    &linear_clf_ops,
    &nnmodel_lstm_clf_ops,
    &nnmodel_bilstm_clf_ops,
    &nnmodel_mlp_clf_ops,
    &nnmodel_cnn_clf_ops,
    &dvcos_clf_ops,
    &ensemble_clf_ops,
    NULL
};

struct clf {
    modelio *file;
    const clf_ops *ops;
    void *state;
    char *kind, *params, *clean;
    text_settings clean_settings;
    double load_seconds;
};

clf *clf_load(const char *path, imdb_err *e)
{
    double t0 = imdb_now();
    modelio *m = modelio_open(path, e);
    clf *c = m ? clf_open(m, e) : NULL;
    if (c) c->load_seconds = imdb_now() - t0;
    return c;
}

clf *clf_open(modelio *m, imdb_err *e)
{
    double t0 = imdb_now();
    const char *path = modelio_name(m);
    clf *c = imdb_xcalloc(1, sizeof *c);
    c->file = m;
    c->kind = modelio_get_str(c->file, "kind");
    c->params = modelio_get_str(c->file, "params");
    c->clean = modelio_get_str(c->file, "clean");
    if (!c->kind || !c->params || !c->clean) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: model file lacks its kind, params or clean section", path);
        goto fail;
    }
    for (int i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->kind, c->kind) == 0) c->ops = kinds[i];
    if (!c->ops) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: unknown model kind '%.40s' (made by a newer imdb?)", path, c->kind);
        goto fail;
    }
    if (text_settings_parse(&c->clean_settings, c->clean, e) < 0) {
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        imdb_fail(e, IMDB_EXIT_DATA, "%s: cleaning settings: %s", path, msg);
        goto fail;
    }
    c->state = c->ops->load(c->file, e);
    if (!c->state) goto fail;
    c->load_seconds = imdb_now() - t0;
    return c;
fail:
    clf_free(c);
    return NULL;
}

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
int clf_can_explain(const clf *c) { return c->ops->explain != NULL; }

text_cleaner *clf_cleaner(const clf *c, imdb_err *e)
{
    return text_cleaner_new(&c->clean_settings, e);
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

size_t clf_explain(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k)
{
    size_t n = clf_explain_try(c, toks, ntok, out, k);
    if (n == CLF_NOMEM) imdb_oom_exit(0);
    return n;
}
