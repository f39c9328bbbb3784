/* clf.h — a loaded classifier of any kind, behind one interface, for imdb-eval,
 * imdb-predict and imdb-serve.
 *
 * Each model kind registers a clf_ops (in kinds.c's table). Loading maps the model file
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
    /* The kind's checks that the sections' checksums and chunk checks cannot make (nblr:
     * the count of used slots; an ensemble: its members, with clf_check(member, full)),
     * run by clf_check once the file's own checks passed. name is the file's, for
     * messages. NULL if there are none. Thread-safe. */
    int (*verify)(const void *state, int full, const char *name, imdb_err *e);
} clf_ops;

#define CLF_NOMEM ((size_t)-1)

typedef struct clf clf;

/* Load the model file at path with every check done before it returns (every chunk's
 * CRC, every kind's check), as loading always did. Errors: those of modelio_open, then
 * IMDB_EXIT_DATA for a model that is inconsistent, IMDB_EXIT_NOMEM when out of memory
 * (never exits). */
clf *clf_load(const char *path, imdb_err *e);
/* The same, lazily (modelio MODELIO_LAZY): the head and the small sections are checked
 * here, the big tables (nblr's slots) chunk by chunk when scoring first reaches them, so
 * a cold start costs what one review costs. clf_prob and clf_known then return NaN / 0,
 * and clf_explain leaves out the n-grams, where a corrupt chunk was reached; clf_verify
 * then says which. A model that loads and scores a review with no NaN used only checked
 * bytes for it. */
clf *clf_load_lazy(const char *path, imdb_err *e);
/* The same from an open model file (modelio_open_mem: an ensemble's members), lazily if
 * m was opened with MODELIO_LAZY, else with every check done. Takes ownership of m:
 * clf_free closes it, and so does a failure here. */
clf *clf_open(modelio *m, imdb_err *e);
/* Every check of the model's file and of the members of an ensemble, from scratch
 * (modelio_verify, then the kind's verify): what imdb-predict --verify and
 * imdb_model_verify do. 0, or -1 with e filled (IMDB_EXIT_DATA, naming the file and
 * the section). Thread-safe: may run while other threads score. */
int clf_verify(const clf *c, imdb_err *e);
/* full = 1: clf_verify. full = 0: only the checks not done yet (a lazy load's unused
 * chunks), which is what clf_load adds to clf_load_lazy. */
int clf_check(const clf *c, int full, imdb_err *e);
void clf_free(clf *c);
const char *clf_kind(const clf *c);
const char *clf_params(const clf *c);    /* effective training settings ("key = value" lines) */
const char *clf_clean(const clf *c);     /* cleaning settings (text_settings_format) */
const char *clf_path(const clf *c);
double clf_load_seconds(const clf *c);
/* The decision threshold the model stores (params line "threshold = X", written by
 * imdb-train -o threshold=auto|X): label pos when P(pos) >= it. 0.5 for a model without
 * one. Loading refuses a value that is not a number in [0, 1] (IMDB_EXIT_DATA). */
double clf_threshold(const clf *c);
int clf_can_explain(const clf *c);
/* A cleaner configured like the model's training data; one per thread. NULL with e
 * filled: IMDB_EXIT_DATA when the model's settings do not compile (a damaged file). */
text_cleaner *clf_cleaner(const clf *c, imdb_err *e);
/* P(pos); NaN only for a lazily loaded model whose bytes were found corrupt (above).
 * clf_prob and clf_explain end the program on out of memory, as imdb_xmalloc does (the
 * tools' contract). The _try forms report it instead (the public API, lib/api): 0 and
 * *p, or -1 and e (IMDB_EXIT_INTERNAL, "out of memory ..."; or a NaN the model computed:
 * a corrupt chunk of a lazily loaded model); the count of contributions or CLF_NOMEM. */
double clf_prob(const clf *c, const char *const *toks, size_t ntok);
size_t clf_explain(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k);
int clf_prob_try(const clf *c, const char *const *toks, size_t ntok, double *p, imdb_err *e);
size_t clf_explain_try(const clf *c, const char *const *toks, size_t ntok, clf_contrib *out, size_t k);
/* qsort order of contributions that clf_ops.explain promises: |weight| descending, then
 * start, then n. */
int clf_contrib_cmp(const void *a, const void *b);
/* Whether the model scores these tokens from a learned document vector: 1 yes, 0 no (it
 * would infer one), -1 the kind keeps none (nblr, the neural kinds). An ensemble answers
 * 0 if any member answers 0, else 1 if any answers 1, else -1. */
int clf_known(const clf *c, const char *const *toks, size_t ntok);
#endif
