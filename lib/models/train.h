/* train.h — what every model kind's trainer shares: the training documents, the seeded
 * train/validation split, the settings, the per-epoch log (trainlog.h) and the log of
 * messages and progress (util.h's imdb_log). The training job (trainjob.h) builds a
 * train_ctx and hands it to the kind's trainer, which adds its own sections to the model
 * file. */
#ifndef IMDB_TRAIN_H
#define IMDB_TRAIN_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"
#include "conf.h"
#include "vocab.h"
#include "modelio.h"
#include "trainlog.h"
#include "tokio.h"

/* Documents kept in memory: tokens of document i are tok[off[i] .. off[i+1]),
 * each a NUL-terminated string inside one arena. */
typedef struct train_docs {
    size_t n;
    int *label;          /* (n) TOKIO_POS, TOKIO_NEG or TOKIO_UNLABELLED (a soft label:
                            TOKIO_POS when its target >= 0.5, else TOKIO_NEG) */
    float *target;       /* (n) P(pos) to learn: 1 pos, 0 neg, the soft label, NAN for "-" */
    size_t nsoft;        /* documents with soft labels */
    char *soft_at;       /* "FILE:LINE" of the first soft label (malloc'd), or NULL */
    char **id;           /* (n) */
    size_t *off;         /* (n+1) */
    const char **tok;    /* (off[n]) */
    char *arena;         /* owns the token bytes */
    size_t cap_docs, cap_tok, arena_len, arena_cap;
} train_docs;

/* Append every document of a token stream. labelled: 1 keep only pos/neg, 0 keep only
 * unlabelled, -1 keep all. *clean receives the stream's cleaning settings (malloc'd, or
 * NULL without header); it is an IMDB_EXIT_DATA error when it differs from a non-NULL
 * *clean set by an earlier call. */
int train_docs_read(train_docs *d, const char *path, int labelled, char **clean, imdb_err *e);
void train_docs_free(train_docs *d);
/* Reorder the documents by id, in byte order (strcmp); stable, so documents with equal ids
 * keep their input order. Training on the result does not depend on the order in which the
 * documents came, e.g. on how the corpus was sharded (imdb-train --sort-by-id). */
void train_docs_sort_by_id(train_docs *d);

/* The settings for soft labels, common to every kind (imdb-train(1)): a soft label p
 * becomes s(logit(p) / temperature); a document whose soft label has max(p, 1 - p) <
 * min_confidence is dropped; hard = 1 rounds soft labels to pos/neg (at 0.5). Hard labels
 * are never changed. Returns how many documents were dropped. */
size_t train_docs_soften(train_docs *d, double temperature, double min_confidence, int hard);

/* Class balance settings (train_ctx.bal). All zero: none, and training is what it was
 * before they existed, byte for byte. */
typedef struct train_balance {
    double undersample;    /* -o undersample RATIO (>= 1); 0: none */
    int weighted;          /* 1: -o class_weight: the loss of a document of class k
                              (0 neg, 1 pos) counts class_w[k] times */
    int balanced;          /* class_weight = balanced: class_w = n / (2 n_k) over the
                              training part, set by train_balance_apply */
    double class_w[2];
    int want_heldout;      /* -o threshold = auto */
} train_balance;

typedef struct train_ctx {
    conf *cfg;             /* settings; typed getters record the effective values */
    const vocab *voc;        /* may be NULL for kinds that build their own */
    const char *clean;       /* cleaning settings of the training streams */
    train_docs *docs;        /* labelled training documents */
    train_docs *unlab;       /* unlabelled documents (may have n == 0) */
    uint32_t *tr, *va;       /* indices into docs: training and validation parts */
    size_t ntr, nva;
    uint64_t seed;
    int threads;
    trainlog *log;
    const imdb_log *logger;        /* messages and progress bars; NULL: silent */
    const char *init_embeddings;   /* --init-embeddings FILE (word2vec format) or NULL */
    const char *checkpoint;        /* where checkpoints are written (MODEL.ckpt by default) */
    long checkpoint_every;         /* epochs between checkpoints; 0 = none */
    const char *resume;            /* --resume CHECKPOINT or NULL */
    const char *output;            /* -O path ("-" = stdout), for kinds with writes_output */
    /* Class balance (-o undersample, class_weight, threshold; imdb-train(1)), parsed by
     * the job before any reading. The training part is undersampled and balanced weights
     * are counted by train_balance_apply: the job calls it after the split, a kind that
     * streams (trainer.streams) once it has split its documents. */
    train_balance bal;
    /* -o threshold=auto (bal.want_heldout; kinds with trainer.heldout_preds): the trainer
     * fills heldout_prob / heldout_label (malloc'd, nheldout entries; the job frees them)
     * with P(pos) and the label (1 pos, 0 neg) of documents scored by a model that did not
     * train on them, on which the job chooses the decision threshold. */
    double *heldout_prob;
    int *heldout_label;
    size_t nheldout;
    /* For kinds that stream (trainer.streams; docs is then empty and tr/va unset): */
    const char *const *inputs;     /* (ninputs) the labelled token streams, in order */
    size_t ninputs;
    char **clean_out;              /* the job's cleaning settings, set from the streams */
    double valid_fraction;
    int sort_by_id;                /* --sort-by-id */
    size_t memory;                 /* --memory: bytes (0: no limit) */
    const char *tmpdir;            /* --tmpdir (NULL: $TMPDIR, else /tmp) */
    vocab **voc_own;               /* the job's own pointer to voc: a kind that streams may
                                      vocab_free it and set it and voc to NULL once it has
                                      taken what it needs (nblr: to lower its peak memory) */
    int force;                     /* --force: accept input models made for another vocabulary
                                      or cleaning (regcnn's embeddings) */
} train_ctx;

typedef struct trainer {
    const char *kind;
    const char *const *keys;  /* NULL-terminated: the config keys this kind reads */
    const char *summary;      /* one line for --help */
    /* Train and add the kind's sections to w ("kind", "params", "clean" are added by the
     * caller after this returns, so settings read here are recorded). */
    int (*train)(train_ctx *ctx, modelio_writer *w, imdb_err *e);
    /* 1: the kind learns from text alone and writes its own output to ctx->output (word2vec:
     * word vectors) instead of a model file. imdb-train then keeps every document of TOKENS,
     * labelled or not, requires no labelled ones, and calls train with w == NULL. */
    int writes_output;
    /* 1: the kind learns from soft labels (train_docs.target); imdb-train refuses soft
     * labels for the others. */
    int soft_labels;
    /* 1: the kind trains with class weights (train_ctx.bal.class_w); imdb-train
     * refuses -o class_weight for the others. */
    int class_weights;
    /* 1: the kind gives held-out predictions (train_ctx.bal.want_heldout) for -o
     * threshold=auto; imdb-train refuses it for the others. */
    int heldout_preds;
    /* 1: the kind reads its labelled streams itself (ctx->inputs, train_stream), soft
     * labels, --sort-by-id and the split included, in bounded memory (ctx->memory). */
    int streams;
} trainer;

/* The trainer of a kind (kinds.h's table), or NULL: no such kind, or none imdb-train makes. */
const trainer *train_find(const char *kind);

/* Split docs->n documents: a seeded shuffle, the first round(frac*n) go to validation. */
void train_split(train_ctx *ctx, double valid_fraction);
/* The same split of n documents (a kind that streams its documents, trainer.streams). */
void train_split_n(train_ctx *ctx, size_t n, double valid_fraction);

/* The documents of token streams, one at a time, for kinds that never hold them all
 * (trainer.streams): the paths in turn, each checked against *clean as train_docs_read
 * does (and *clean set from the first header, malloc'd), documents filtered by labelled
 * as there. */
typedef struct train_stream {
    const char *const *paths;
    size_t npaths, at;
    int labelled;
    char **clean;
    tokio_reader *r;
    const char *path;     /* of the current document */
} train_stream;
/* 1 with *doc (valid until the next call), 0 at the end, -1 with e filled. */
int train_stream_next(train_stream *s, tokio_doc *doc, imdb_err *e);
void train_stream_close(train_stream *s);
/* The soft-label settings (read, and so recorded, only when there are soft labels): -1
 * with e filled (a usage error) when one is out of range. */
int train_soft_settings(conf *cfg, double *temperature, double *min_confidence, long *hard, imdb_err *e);
/* One soft label p under those settings (train_docs_soften's rule): the new P(pos), or
 * NAN when the document is dropped. */
double train_soften_one(double p, double temperature, double min_confidence, int hard);
/* When *clean is NULL (no input had a header): the default cleaning settings, with the
 * warning imdb-train(1) gives. */
void train_default_clean(char **clean, const imdb_log *log);

/* Parse the class balance settings of cfg into *b (undersample, class_weight, threshold;
 * read, and so recorded in the model, only when set): -1 with e filled (a usage error)
 * when one is malformed or out of range. A number for threshold is only checked here;
 * the model keeps it in its params as given. */
int train_balance_parse(conf *cfg, train_balance *b, imdb_err *e);
/* The balance of ctx->bal applied to the training part ctx->tr (pos[i]: 1 when document i
 * is of class pos, a soft label counted as its rounded class): undersampling drops
 * documents of the larger class, drawn by the seed, until it has at most round(ratio *
 * n_minority) of them, keeping the order of the rest (the validation part keeps the
 * data's own balance); then balanced class weights are counted on what is left. Says
 * what it did on ctx->logger. -1 with e filled (IMDB_EXIT_DATA) when balanced weights
 * meet a training part without one of the classes. */
int train_balance_apply(train_ctx *ctx, const unsigned char *pos, imdb_err *e);

#endif
