/* score.h — scoring reviews with a loaded classifier (clf.h): the one code path under
 * imdb-predict, imdb-eval, imdb-serve and the public API's imdb_score_batch.
 *
 *   scorer       one thread's state: a text_cleaner (raw text) or a token array (token
 *                lists, as imdb-clean writes them), and room for explanations. Scores one
 *                input into a score_result (P(pos), the tokens, the top n-grams).
 *   score_pool   N scorers, for work on N threads (pool_for). score_probs scores an array
 *                of texts into an array of probabilities, nothing else: imdb-eval,
 *                imdb_score_batch.
 *   score_batch  an ordered batch of inputs (copied in, with their ids), scored on a pool
 *                and formatted, one result line per input, into per-chunk buffers that
 *                the caller writes in input order: imdb-predict.
 *   score_format_result  one result as imdb-predict's TSV line or as the JSON object that
 *                imdb-predict --json prints per line and imdb-serve answers (json.h).
 *
 * Every result depends only on its own input: the same for any number of threads.
 *
 * Ownership and thread safety: the clf is borrowed by every object here and must outlive
 * them; it is immutable, so any number of scorers (and pools) may use one at once. A
 * scorer, a pool and a batch are each used by one thread at a time (a pool's own worker
 * threads exist only inside score_probs / score_batch_run). Pointers in a score_result
 * belong to the scorer and stay valid until its next call.
 *
 * Errors: functions that can fail return -1 or NULL and fill an imdb_err; out of memory
 * in the buffers (buf.h) is reported, never fatal. (The cleaner, clf and tokio_split
 * underneath still allocate with imdb_xmalloc, which ends the program on out of memory.) */
#ifndef IMDB_SCORE_H
#define IMDB_SCORE_H
#include <stddef.h>
#include "buf.h"
#include "clf.h"
#include "json.h"
#include "util.h"

/* What a scorer reads. */
typedef enum score_input {
    SCORE_TEXT,     /* raw review text: cleaned and tokenized like the model's training data */
    SCORE_TOKENS    /* a token list: tokens separated by spaces (a token stream's text) */
} score_input;

/* One scored input. toks and contrib are owned by the scorer. */
typedef struct score_result {
    double prob;                  /* P(pos) */
    const char *const *toks;      /* the tokens the model saw */
    size_t ntok;
    const clf_contrib *contrib;   /* the top n-grams, |weight| descending (clf_explain) */
    size_t ncontrib;              /* 0 unless asked for */
} score_result;

typedef struct scorer scorer;

/* A scorer for model, reading `in`, with room for explanations of up to max_k n-grams
 * (0: none). NULL with e filled if the model's cleaner cannot be built. Explaining (k > 0
 * below) needs a model that can (clf_can_explain): the caller checks, with its message. */
scorer *scorer_new(const clf *model, score_input in, int max_k, imdb_err *e);
void scorer_free(scorer *s);   /* NULL is a no-op */

/* Score raw text[0..len) (any bytes; not modified), explaining with k n-grams (0 <= k <=
 * max_k). For SCORE_TEXT scorers. */
void scorer_text(scorer *s, const char *text, size_t len, int k, score_result *r);

/* Score the token list text[0..len), which is split in place (spaces become NULs; the
 * tokens point into text, which must stay as it is while r is used). For SCORE_TOKENS
 * scorers. */
void scorer_tokens(scorer *s, char *text, size_t len, int k, score_result *r);

/* ---- pools ---- */

typedef struct score_pool score_pool;

/* nthreads (>= 1) scorers like scorer_new's. NULL with e filled on failure. */
score_pool *score_pool_new(const clf *model, score_input in, int max_k, int nthreads,
                           imdb_err *e);
void score_pool_free(score_pool *p);   /* NULL is a no-op */
int score_pool_threads(const score_pool *p);
/* Scorer t (0 <= t < threads), e.g. for one text at a time on the calling thread. */
scorer *score_pool_scorer(score_pool *p, int t);

/* probs[i] = P(pos) of texts[i] (lens[i] bytes; lens NULL: NUL-terminated) for i < n, on
 * the pool's threads; the calling thread is one of them. For SCORE_TEXT pools; the texts
 * are not modified. */
void score_probs(score_pool *p, const char *const *texts, const size_t *lens, size_t n,
                 double *probs);

/* The same for token lists (SCORE_TOKENS pools): each texts[i] is split in place. */
void score_probs_tokens(score_pool *p, char *const *texts, const size_t *lens, size_t n,
                        double *probs);

/* CPU seconds the calling thread has used (CLOCK_THREAD_CPUTIME_ID). */
double score_thread_cpu(void);

/* CPU seconds the pool's threads spent in score_probs* and score_batch_run since the
 * pool was made: thread t's (0: the calling thread), or all threads' for t < 0. */
double score_pool_busy(const score_pool *p, int t);

/* ---- formatting ---- */

/* Where a result came from. */
typedef struct score_origin {
    const char *id;     /* the id (token streams, --id-field), id_len bytes; NULL: num */
    size_t id_len;
    long num;           /* the line number, or the position in a request */
    const char *file;   /* JSON: a "file" member with this name; NULL: none */
} score_origin;

/* How to write results. */
typedef struct score_format {
    int json;           /* a JSON object, else a TSV line */
    json_style style;   /* for JSON: JSON_PREDICT or JSON_SERVE (numbers, escapes) */
    int explain;        /* add the result's n-grams ("explain" member or TSV column) */
    int id_out;         /* TSV: the id (or number) and a TAB first */
    double threshold;   /* label pos when P(pos) >= threshold */
} score_format;

/* Append one result, without a newline:
 *   TSV   [ID<TAB>]LABEL<TAB>P[<TAB>NGRAM(+W.WWW) NGRAM(-W.WWW) ...]
 *   JSON  {"id":ID,["file":FILE,]"label":LABEL,"probability":P
 *          [,"explain":[{"ngram":NGRAM,"weight":W},...]]}
 * where an n-gram is its tokens joined by spaces; ID is a string for origins with an id,
 * else the number. Errors are buf's (sticky). */
void score_format_result(buf *b, const score_format *f, const score_origin *at,
                         const score_result *r);

/* Append tokens [c->start, c->start + c->n) of toks joined by spaces, raw (TSV) or as a
 * JSON string in style st (json nonzero). */
void score_format_ngram(buf *b, const char *const *toks, const clf_contrib *c, int json,
                        json_style st);

/* What a NaN probability means (clf_load_lazy: a corrupt chunk reached on first use):
 * -1 with e filled by clf_verify (IMDB_EXIT_DATA, naming the file and the section), or
 * IMDB_EXIT_INTERNAL if the file passes every check. For callers of scorer_text. */
int score_damaged(const clf *model, imdb_err *e);

/* ---- ordered batches ---- */

#define SCORE_BATCH_MAX 4096            /* inputs per batch */
#define SCORE_BATCH_BYTES (8u << 20)    /* and about this many bytes of input */

typedef struct score_batch score_batch;

score_batch *score_batch_new(imdb_err *e);
void score_batch_free(score_batch *b);   /* NULL is a no-op */

/* Copy one input in: text[0..len), its id (NULL: none, the origin is num) and the name
 * of its file (borrowed: it must outlive the batch's next score_batch_run). 0, or -1
 * with e filled when memory runs out. At most SCORE_BATCH_MAX inputs. */
int score_batch_add(score_batch *b, const char *text, size_t len, const char *id,
                    size_t id_len, long num, const char *file, imdb_err *e);
size_t score_batch_count(const score_batch *b);
/* 1 when the batch should be run before another add: SCORE_BATCH_MAX inputs, or
 * SCORE_BATCH_BYTES of texts and ids. */
int score_batch_full(const score_batch *b);

/* Score every input on p's threads, explaining with k n-grams when f->explain, and
 * format each result line (score_format_result and a newline) into the output; then
 * forget the inputs (the next adds start a new batch). 0, or -1 with e filled when the
 * output could not be allocated (IMDB_EXIT_INTERNAL) or a result was NaN (score_damaged:
 * a lazily loaded model found corrupt; the output is then empty). */
int score_batch_run(score_batch *b, score_pool *p, const score_format *f, int k, imdb_err *e);

/* The output of the last run: *nchunks buffers, to be written in order; they are the
 * batch's and valid until its next run. */
const buf *score_batch_output(const score_batch *b, size_t *nchunks);
#endif
