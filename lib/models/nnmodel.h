/* nnmodel.h — the neural model kinds of imdb-train and their classifiers (issue 3):
 *
 *   lstm     word embedding -> LSTM -> last (or mean/max) hidden state -> dense 1
 *   bilstm   word embedding -> forward + backward LSTM -> dense (ReLU) -> dense 1
 *   mlp      mean of word and n-gram embeddings -> dense (ReLU) -> dense 1 (fastText,
 *            Joulin et al. 2017)
 *   cnn      word embedding -> 1-D convolutions of several widths, ReLU, max over time
 *            -> dropout -> dense 1 (Kim 2014)
 *   regemb   (unsupervised, no classifier) a region of words as a bag -> dense ReLU,
 *            trained to predict the words of the adjacent regions (Johnson & Zhang 2015)
 *   regcnn   one-hot bag-of-words regions -> convolution (+ frozen regemb embeddings of
 *            the same regions as side inputs) -> ReLU, max over regions -> dropout ->
 *            dense 1 (Johnson & Zhang 2015); nn_region.c
 *
 * all trained on binary cross-entropy by one shared trainer (nn_train.c): a vocabulary
 * of the vocab_size most frequent words, documents truncated to max_len tokens,
 * mini-batches of similar lengths split over threads (per-thread gradients summed in a
 * fixed order, so a seed and a thread count give one model, byte for byte), Adam or
 * SGD, clipping, dropout, L2, a learning-rate schedule, early stopping on validation
 * loss keeping the best weights, checkpoints that resume exactly.
 *
 * Public: the trainers (train.c's table) and the clf_ops (clf.c's table), plus load /
 * write / prob for tests. Below them, the internals shared by the files of this module:
 * model files and prediction (nnmodel.c), the trainer (nn_train.c) and the architectures
 * (nn_rnn.c, nn_mlp.c, nn_cnn.c); nothing else should need them.
 *
 * Model sections (besides kind, params, clean; see imdb-model(5)):
 *   nn.hdr    the hyperparameters (nnmodel_hyper), NNMODEL_HDR_WORDS u32 little-endian
 *   nn.w      the weights: one params block (params.h), floats, tensors in the order
 *             the architecture declares them
 *   nn.keys   u64 (cap) } feat.h table: hash of a word or n-gram ("t1 t2") -> id
 *   nn.vals   i32 (cap) }
 *   nn.vocab  the words, then the vocabulary n-grams, one a line, in id order */
#ifndef IMDB_NNMODEL_H
#define IMDB_NNMODEL_H
#include <stddef.h>
#include <stdint.h>
#include "clf.h"
#include "conf.h"
#include "feat.h"
#include "modelio.h"
#include "params.h"
#include "rng.h"
#include "train.h"
#include "util.h"

extern const trainer nnmodel_lstm_trainer, nnmodel_bilstm_trainer,
                     nnmodel_mlp_trainer, nnmodel_cnn_trainer,
                     nnmodel_regemb_trainer, nnmodel_regcnn_trainer;
extern const clf_ops nnmodel_lstm_clf_ops, nnmodel_bilstm_clf_ops,
                     nnmodel_mlp_clf_ops, nnmodel_cnn_clf_ops, nnmodel_regcnn_clf_ops;

/* A neural model. Loaded models point into the mapped file (which must outlive them);
 * trained ones own their arrays. Immutable once built: nnmodel_prob is thread-safe. */
typedef struct nnmodel nnmodel;

/* Load the nn.* sections of a mapped model file, checking every size and index
 * (IMDB_EXIT_DATA errors name the file). kind is the file's "kind" section. Sets the
 * BLAS to one thread (blas_set_threads): documents are predicted in parallel instead. */
nnmodel *nnmodel_load(const modelio *m, const char *kind, imdb_err *e);
void nnmodel_free(nnmodel *m);
/* Add the nn.* sections to w (the caller adds kind, params, clean): loading a model
 * file and writing it back gives the same bytes. */
int nnmodel_write(const nnmodel *m, modelio_writer *w, imdb_err *e);
/* P(pos | tokens): truncated to max_len like the training documents. Thread-safe. */
double nnmodel_prob(const nnmodel *m, const char *const *toks, size_t ntok);
/* The same through the batched training forward pass (one document, no dropout): the
 * reference the fast recurrent inference is tested against. */
double nnmodel_prob_batched(const nnmodel *m, const char *const *toks, size_t ntok);
/* The k largest parts of the logit by |weight| (clf_ops.explain's contract; spans of
 * token positions, after truncation to max_len) for kinds with an explain (regcnn); 0 for
 * the others; CLF_NOMEM when out of memory. Thread-safe. */
size_t nnmodel_explain(const nnmodel *m, const char *const *toks, size_t ntok, clf_contrib *out, size_t k);

/* ---- between the trainer and the architectures ----------------------------------- */

enum { NNMODEL_LSTM = 0, NNMODEL_BILSTM = 1, NNMODEL_MLP = 2, NNMODEL_CNN = 3, NNMODEL_REGEMB = 4,
       NNMODEL_REGCNN = 5, NNMODEL_NARCH };
enum { NNMODEL_HEAD = 0, NNMODEL_TAIL = 1, NNMODEL_HEADTAIL = 2 };      /* truncate */
enum { NNMODEL_POOL_LAST = 0, NNMODEL_POOL_MEAN = 1, NNMODEL_POOL_MAX = 2 };
#define NNMODEL_MAX_WIDTHS 4
#define NNMODEL_HDR_WORDS 24   /* u32 words of nn.hdr */
#define NNMODEL_MAX_LEN 100000

/* What defines the network; nn.hdr, and compared field by field on --resume.
 * Embedding rows: words [0, V), then the unknown word V if unk, then ngram_rows rows of
 * vocabulary n-grams, then buckets rows of hashed n-grams.
 * The region kinds (nn_region.c): widths[0] is the region size p; regemb: E the
 * embedding dimension, targets the words predicted (ids [0, targets)), neg the zero
 * targets sampled per region; regcnn: F feature maps (E = F: the one-hot layer is an
 * "embedding" of F columns), nwidths - 1 side inputs of dimension D, side input i with
 * the region size widths[i + 1]. */
typedef struct nnmodel_hyper {
    int arch;                 /* NNMODEL_* */
    int V;                    /* known words */
    int unk;                  /* 1: an unknown word is id V; 0: it is dropped */
    int max_len;              /* tokens kept per document (>= 1) */
    int truncate;             /* NNMODEL_HEAD, _TAIL, _HEADTAIL (first max_len/4 + the end) */
    int ngrams;               /* mlp: n-grams up to this order join the words (1 = none) */
    int ngram_rows;           /* mlp: n-grams taken from the vocabulary */
    int buckets;              /* mlp: rows n-grams are hashed into (0 = vocabulary n-grams) */
    int E;                    /* embedding dimension */
    int H;                    /* recurrent hidden units */
    int D;                    /* dense hidden units (bilstm, mlp; 0 = none) */
    int F;                    /* convolution filters per width */
    int pool;                 /* recurrent: NNMODEL_POOL_* */
    int nwidths, widths[NNMODEL_MAX_WIDTHS];   /* convolution widths */
    int targets;              /* regemb: target vocabulary (0 for the other kinds) */
    int neg;                  /* regemb: zero targets sampled per region (0 for the others) */
} nnmodel_hyper;

static inline size_t nnmodel_rows(const nnmodel_hyper *h)
{ return (size_t)h->V + (size_t)h->unk + (size_t)h->ngram_rows + (size_t)h->buckets; }

/* A batch (or a thread's part of one) in both layouts an architecture may want:
 * padded ids (B,T) with -1 after len[b] (sequence models), and the concatenation
 * flat[off[b] .. off[b+1]) (bags). */
typedef struct nnmodel_batch {
    int B, T;
    const int32_t *ids;       /* (B,T) padded with -1 */
    const int32_t *len;       /* (B) */
    const int32_t *flat;      /* (off[B]) */
    const int64_t *off;       /* (B+1) */
    const float *y;           /* (B) targets 0/1 */
    const float *wt;          /* (B) example weights (class weights), or NULL: all 1 */
    rng *drop;                /* (B) one generator per document for dropout; NULL: inference */
} nnmodel_batch;

/* The loss every supervised kind's step ends with: the BCE of logits (B) against b->y,
 * weighted by b->wt when set (layers.h), dz (B) += its gradient; returns the sum / norm.
 * Without weights it is layer_bce_forward_backward, to the bit. */
double nnmodel_bce(float *dz, const float *logits, const nnmodel_batch *b, double norm);

typedef struct nnmodel_arch {
    const char *kind;
    int id;                                /* NNMODEL_* */
    /* Read the kind's own settings into hy (dimensions, pooling...) and the dropout
     * rates ("dropout" is read here too: each kind has its own default). */
    int (*configure)(nnmodel_hyper *hy, float *dropout, float *emb_dropout, conf *cfg,
                     imdb_err *e);
    /* Declare the tensors (the embedding "emb" first, as nnmodel_rows x E). */
    void (*declare)(const nnmodel_hyper *hy, params *p);
    void (*init)(const nnmodel_hyper *hy, const params *p, float *w, rng *r);
    /* Scratch of one thread for batches of <= max_b documents of <= max_t ids; NULL when
     * out of memory (prediction reports it, the trainer exits). */
    void *(*ws_new)(const nnmodel_hyper *hy, int max_b, int max_t);
    void (*ws_free)(void *ws);
    /* Forward pass: logits (B). With grad != NULL also the loss and backward pass:
     * returns sum of BCE / norm and ADDS the gradient into grad (the embedding rows it
     * touches listed in touched); dropout then uses b->drop. Without grad returns 0. */
    double (*step)(const nnmodel_hyper *hy, const params *p, const float *w, void *ws,
                   const nnmodel_batch *b, float dropout, float emb_dropout,
                   float *logits, float *grad, rowset *touched, double norm);
    int bag;                               /* 1: step reads flat/off, not ids/len */
    /* Optional fast inference of one document: tables built at load (NULL = use step). */
    void *(*infer_new)(const nnmodel_hyper *hy, const params *p, const float *w);   /* NULL: out of memory */
    void (*infer_free)(void *inf);
    double (*infer_logit)(const nnmodel_hyper *hy, const params *p, const float *w,
                          const void *inf, const int32_t *ids, int n);
    /* 1: learns from text alone (regemb): the trainer adds the unlabelled documents to the
     * training part, and step returns its own loss (sum / norm) with or without grad,
     * which validation averages instead of the BCE of the logits. */
    int unsup;
    /* Optional: the first tensor of a frozen tail (inputs copied in by prepare, never
     * updated), or 0 when every tensor is trained. */
    int (*first_frozen)(const nnmodel_hyper *hy);
    /* Optional: after init, fill what the arch takes from elsewhere (regcnn: the side
     * embeddings from the files of the setting "embeddings") into w; m's vocabulary is
     * built. */
    int (*prepare)(const nnmodel *m, float *w, const train_ctx *ctx, imdb_err *e);
    /* Optional: after step on ws for one document of n ids (no grad), the logit less its
     * output bias as a sum of spans of id positions: out[i] = { start, n, weight } for
     * i < the count returned (at most n; weight 0 allowed). */
    int (*explain)(const nnmodel_hyper *hy, const params *p, const float *w, const void *ws, int n,
                   clf_contrib *out);
} nnmodel_arch;

extern const nnmodel_arch nnmodel_arch_lstm, nnmodel_arch_bilstm, nnmodel_arch_mlp,
                          nnmodel_arch_cnn, nnmodel_arch_regemb, nnmodel_arch_regcnn;

/* Settings shared by the architectures' configure functions. */
int nnmodel_pool_parse(const char *s);      /* "last"/"mean"/"max" -> NNMODEL_POOL_*, -1 */

/* ---- between the model file code (nnmodel.c) and the trainer (nn_train.c) ---------- */

extern const nnmodel_arch *const nnmodel_archs[NNMODEL_NARCH];   /* by NNMODEL_* id */
extern const char *const nnmodel_truncate_names[3];              /* "head", "tail", "headtail" */

struct nnmodel {          /* trained: owns w_owned, vtext_owned, tab */
    nnmodel_hyper hy;
    const nnmodel_arch *arch;
    params p;                 /* the tensor table; p.data is NULL for a mapped model */
    const float *w;           /* the weights (p.total floats) */
    float *w_owned;           /* w when trained, else NULL */
    feat_table tab;           /* word / n-gram hash -> id; owned or mapped */
    const char *vtext;        /* nn.vocab */
    size_t vlen;
    char *vtext_owned;
    void *inf;                /* the architecture's inference tables, or NULL */
};

/* nn.hdr: 4 * NNMODEL_HDR_WORDS bytes. unpack checks the version and every limit
 * (IMDB_EXIT_DATA errors start with name); invalid returns why hy breaks a limit, or NULL. */
void nnmodel_hyper_pack(const nnmodel_hyper *hy, unsigned char *b);
int nnmodel_hyper_unpack(nnmodel_hyper *hy, const unsigned char *b, size_t size, const char *name,
                         imdb_err *e);
const char *nnmodel_hyper_invalid(const nnmodel_hyper *hy);
/* Declare m's tensors from m->hy and m->arch into m->p (params_init first). */
void nnmodel_declare(nnmodel *m);
/* The ids of a document: its kept tokens (max_len of them, by truncate), each word's id
 * (unknown: V, or dropped), then for a bag model the ids of its n-grams of orders
 * 2..ngrams over the kept tokens. hs: max_len scratch; out: nnmodel_ids_cap ids.
 * Returns the number of ids. */
/* The word embedding of a padded batch with dropout on each document's valid part,
 * shared by the architectures: x (B,T,E) = emb[ids], then, if p > 0, inverted dropout
 * with b->drop[i] and mask (B,T,E) kept for the backward pass. */
void nnmodel_embed_forward(float *x, uint8_t *mask, const nnmodel_batch *b, const float *emb,
                           int E, int V, float p);
/* Backward of nnmodel_embed_forward: dx (B,T,E) is the gradient at x; scratch (B,T,E)
 * takes the gradient through dropout when p > 0. Adds into demb, touching rows. */
void nnmodel_embed_backward(float *demb, rowset *touched, const float *dx, float *scratch,
                            const uint8_t *mask, const nnmodel_batch *b, int E, int V, float p);

size_t nnmodel_ids_cap(const nnmodel_hyper *hy);
/* The ids of a document (truncated to max_len, then n-grams) into out; pos (or NULL)
 * gets the token position of each word id (the first of the ids). Returns the count. */
size_t nnmodel_doc_ids(const nnmodel_hyper *hy, const feat_table *tab, const char *const *toks,
                       size_t ntok, uint64_t *hs, int32_t *out, size_t *pos);
#endif
