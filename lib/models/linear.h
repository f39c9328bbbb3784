/* linear.h — NB-LR: logistic regression on binarized 1..n-gram features scaled by their
 * naive Bayes log-count ratios (Wang & Manning 2012, "Baselines and Bigrams"; Mesnil et
 * al. 2014 for trigrams).
 *
 * For a document with distinct known n-grams F:  logit = bias + sum_{f in F} w[f]
 * where w[f] = (v[f] + prior) * r[f] folds the trained weight v into the NB ratio
 *   r[f] = log( (alpha + P[f]) / |alpha + P|_1 ) - log( (alpha + N[f]) / |alpha + N|_1 ),
 * P[f] / N[f] counting the positive / negative training documents that contain f.
 * v minimizes C * sum of logistic losses + |v|^2 / 2 (bias as a feature of value 1), so
 * strong regularization falls back to naive Bayes scaled by prior rather than to zero.
 * The solver is dual coordinate descent (Yu, Huang & Lin 2011, liblinear's), one pass
 * over the shuffled documents per epoch, with early stopping on validation loss. */
#ifndef IMDB_LINEAR_H
#define IMDB_LINEAR_H
#include <stddef.h>
#include <stdint.h>
#include "clf.h"
#include "feat.h"
#include "train.h"

/* One slot of the model's open-addressing table: the n-gram hash (0 = empty), the
 * feature index and its effective weight side by side, so a lookup that hits costs one
 * cache line. Slots follow feat.h's rule (feat_table_home, linear probing). */
typedef struct linear_slot {
    uint64_t key;
    int32_t idx;
    float w;
} linear_slot;

typedef struct linear_model {
    int ngrams;
    uint32_t nfeat;
    float bias;
    const linear_slot *slots;  /* (cap); may point into a model file */
    uint64_t cap;              /* power of two */
    linear_slot *owned;        /* set when slots were allocated here */
    /* Slots mapped from a file whose chunks are checked on first use (modelio_get_lazy),
     * else NULL. A lookup that reaches a corrupt chunk scores NaN (clf_verify says why). */
    const modelio_lazy *lazy;
} linear_model;

/* Slots from a table of n-gram hash -> feature index (weights 0); nfeat = t->n. */
void linear_model_init(linear_model *m, int ngrams, const feat_table *t);
/* Set every feature's weight: slot.w = w[slot.idx]. */
void linear_model_set_weights(linear_model *m, const float *w);
void linear_model_free(linear_model *m);
/* first[k] := 1 when keys[k] is 0 or no keys[j], j < k, equals it (n entries); returns how
 * many are set. Memory: a sorted copy of keys while it runs. */
size_t linear_first_of_hash(const uint64_t *keys, size_t n, unsigned char *first);
/* Slots for features f < nfeat of hashes keys[f] (distinct; a 0 is a feature no lookup
 * finds), laid out exactly as feat_table_init(expected) and feat_table_put of each in
 * order, then linear_model_init, would (expected >= nfeat): the same model bytes without
 * the table beside the slots. */
void linear_model_from_keys(linear_model *m, int ngrams, const uint64_t *keys, size_t nfeat, size_t expected);

/* Logit of one document. The fast path hashes each token once and chains n-gram hashes;
 * distinct features are counted once (binarized). NaN if m->lazy found a corrupt chunk,
 * and NaN with errno ENOMEM when its per-thread scratch cannot grow (out of memory). */
double linear_logit(const linear_model *m, const char *const *toks, size_t ntok);
/* Naive reference: joins every n-gram into text, hashes it with feat_hash_ngram, and
 * dedups with a sorted list. The test oracle for linear_logit. */
double linear_logit_naive(const linear_model *m, const char *const *toks, size_t ntok);
/* The distinct known features of a document, sorted ascending; returns how many.
 * idx must hold ntok * m->ngrams entries. */
size_t linear_features(const linear_model *m, const char *const *toks, size_t ntok, uint32_t *idx);

/* Parameter averaging (imdb-train --average): write to out an nblr model whose weights and
 * bias are the means of those of the n nblr model files at paths, which must share their
 * features (same vocabulary, ngrams, min_df and cleaning; else IMDB_EXIT_DATA). The
 * first model's settings are kept, with a line "average_of = PATH...". 0 or -1. */
int linear_average(const char *const *paths, size_t n, const char *out, imdb_err *e);

/* nblr's solver on its own, for the tests: documents i < n with the distinct sorted
 * features idx[off[i] .. off[i+1]) (each < nfeat) and targets t[i] = P(pos) in [0, 1];
 * all of them train, none validates; epochs passes or until the largest dual gradient
 * is below tol. Minimizes over (u, u_b)
 *   1/2 (|u|^2 + u_b^2) + c sum_i [t_i L(z_i) + (1 - t_i) L(-z_i)],  L(z) = log(1 + e^-z),
 *   z_i = u_b + sum_{f in doc i} (u_f + prior) r_f,
 * with r the NB log-count ratios (smoothing alpha, document i counted t_i times positive,
 * 1 - t_i negative). w (nfeat) receives (u + prior) r, *b receives u_b. Returns 0. */
int linear_fit_docs(size_t n, const size_t *off, const uint32_t *idx, const double *t, uint32_t nfeat,
                    double alpha, double c, double prior, long epochs, double tol, uint64_t seed,
                    double *w, double *b);

extern const trainer linear_trainer;   /* imdb-train --model nblr */
extern const clf_ops linear_clf_ops;   /* kind "nblr" */
#endif
