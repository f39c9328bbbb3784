/* clf.h — a loaded classifier of any kind, behind one interface, for imdb-eval,
 * imdb-predict and imdb-serve.
 *
 * Each model kind registers a clf_ops (in clf.c's table). Loading maps the model file
 * (modelio_open), reads "kind" and dispatches. A loaded clf is immutable: clf_prob and
 * clf_explain may be called from many threads at once. */
#ifndef IMDB_CLF_H
#define IMDB_CLF_H
#include <stddef.h>
#include "util.h"
#include "modelio.h"
#include "text.h"

/* One n-gram's contribution to the decision: tokens [start, start+n) of the input. */
typedef struct clf_contrib {
    size_t start;
    int n;
    double weight;     /* added to the logit; > 0 pushes towards pos */
} clf_contrib;

typedef struct clf_ops {
    const char *kind;
    /* Build the model state from the mapped file (may point into it; m outlives it). */
    void *(*load)(const modelio *m, imdb_err *e);
    void (*free)(void *state);
    /* P(pos | tokens). Thread-safe. Out of memory: NaN (with errno ENOMEM), never an exit:
     * the loaders refuse non-finite weights, so a kind computes no NaN otherwise. */
    double (*prob)(const void *state, const char *const *toks, size_t ntok);
    /* Up to k largest |weight| contributions, sorted by |weight| descending, then start.
     * NULL for kinds that cannot explain. Out of memory: CLF_NOMEM. */
    size_t (*explain)(const void *state, const char *const *toks, size_t ntok,
                      clf_contrib *out, size_t k);
    /* For kinds that keep learned document vectors (dvcos in transductive training): 1 if
     * this token sequence has one (clf_prob then uses it), 0 if it would be inferred.
     * NULL for kinds without any. Thread-safe. */
    int (*known)(const void *state, const char *const *toks, size_t ntok);
} clf_ops;

#define CLF_NOMEM ((size_t)-1)

typedef struct clf clf;

clf *clf_load(const char *path, imdb_err *e);
/* The same from an open model file (modelio_open_mem: an ensemble's members). Takes
 * ownership of m: clf_free closes it, and so does a failure here. */
clf *clf_open(modelio *m, imdb_err *e);
void clf_free(clf *c);
const char *clf_kind(const clf *c);
const char *clf_params(const clf *c);    /* effective training settings ("key = value" lines) */
const char *clf_clean(const clf *c);     /* cleaning settings (text_settings_format) */
const char *clf_path(const clf *c);
double clf_load_seconds(const clf *c);
int clf_can_explain(const clf *c);
/* A cleaner configured like the model's training data; one per thread. */
text_cleaner *clf_cleaner(const clf *c, imdb_err *e);
/* clf_prob and clf_explain end the program on out of memory, as imdb_xmalloc does (the
 * tools' contract). The _try forms report it instead (the public API, lib/api): 0 and
 * *p, or -1 and e (IMDB_EXIT_INTERNAL, "out of memory ..."; or a NaN the model computed,
 * which no loaded model should); the count of contributions or CLF_NOMEM. */
double clf_prob(const clf *c, const char *const *toks, size_t ntok);
size_t clf_explain(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k);
int clf_prob_try(const clf *c, const char *const *toks, size_t ntok, double *p, imdb_err *e);
size_t clf_explain_try(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k);
/* Whether the model scores these tokens from a learned document vector: 1 yes, 0 no (it
 * would infer one), -1 the kind keeps none (nblr, the neural kinds). An ensemble answers
 * 0 if any member answers 0, else 1 if any answers 1, else -1. */
int clf_known(const clf *c, const char *const *toks, size_t ntok);
#endif
