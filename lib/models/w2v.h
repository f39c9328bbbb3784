/* w2v.h — word vectors by skip-gram with negative sampling (Mikolov et al. 2013,
 * "Distributed representations of words and phrases and their compositionality"),
 * following the habits of the original word2vec.c: vocabulary of words seen min_count
 * times, sorted by frequency; subsampling of frequent words; negatives drawn from the
 * unigram distribution raised to 3/4 (from an alias table rather than word2vec.c's
 * 1e8-slot table: the same distribution, exactly, and cache-friendly); a learning rate
 * decaying linearly to 1e-4 of its start; context windows of random width 1..window;
 * Hogwild threads.
 *
 * The corpus is every document of ctx->docs (labelled or not, validation part included:
 * the labels are never looked at) and ctx->unlab. Each document is one sentence: windows
 * do not cross documents. Words out of the vocabulary are dropped before windowing.
 *
 * With --threads 1 a seed gives the same vectors, byte for byte. With more threads the
 * workers update the shared matrices without locks (Hogwild, as word2vec.c), so the
 * result depends on their timing and is not reproducible. */
#ifndef IMDB_W2V_H
#define IMDB_W2V_H
#include <stddef.h>
#include <stdint.h>
#include "train.h"

typedef struct w2v_opts {
    int dim;            /* vector size (100) */
    int window;         /* max distance of a context word (5) */
    int negative;       /* negative samples per context word (5) */
    long min_count;     /* words seen fewer times are dropped (5) */
    double sample;      /* subsampling threshold (1e-3; 0 = off) */
    double alpha;       /* starting learning rate (0.025) */
    int epochs;         /* passes over the corpus (5) */
    int threads;        /* >= 1 */
    uint64_t seed;
    const imdb_log *log;  /* messages and the progress bar (NULL: silent) */
} w2v_opts;

void w2v_opts_default(w2v_opts *o);

/* The result: nwords words in decreasing order of frequency (ties in byte order), their
 * counts and input vectors (nwords, dim). */
typedef struct w2v_model {
    size_t nwords;
    int dim;
    char **word;        /* (nwords) malloc'd strings */
    uint64_t *count;    /* (nwords) */
    float *vec;         /* (nwords, dim) */
} w2v_model;

/* Called after each epoch with the mean loss per (word, context) pair: -log s(u.v) for
 * the true context plus -log s(-u.v') for each negative; a non-zero return stops training
 * (its value is returned by w2v_train). */
typedef int (*w2v_epoch_fn)(void *arg, int epoch, int epochs, double loss);

/* Train on documents: ndocs documents, document i being the tokens tok[off[i]..off[i+1])
 * of corpus k for the k-th of ncorpora (docs, off, tok) triples — so the labelled and
 * unlabelled stores are used where they lie. Fills *m (free with w2v_model_free).
 * Errors: IMDB_EXIT_DATA when no word occurs min_count times; IMDB_EXIT_INTERNAL when the
 * loss is not finite; a callback's non-zero return. */
int w2v_train(const w2v_opts *o, const train_docs *const *corpora, int ncorpora, w2v_model *m,
              w2v_epoch_fn cb, void *cb_arg, imdb_err *e);
void w2v_model_free(w2v_model *m);

/* The imdb-train kind "word2vec": writes the vectors (embfile.h format, binary with the
 * setting binary = 1) to ctx->output instead of a model file. */
extern const trainer w2v_trainer;
#endif
