/* vocab.h — counting tokens and n-grams, and the vocabulary text format, imdb-vocab(5):
 *
 *   #imdb-vocab 1 ngrams=N docs=D tokens=T
 *   #clean SETTINGS                       (optional: cleaning settings of the streams)
 *   NGRAM<TAB>COUNT<TAB>DF                 one line per n-gram, tokens joined by one space
 *
 * Order is deterministic: count descending, then document frequency descending, then the
 * bytes of NGRAM ascending. Counts from separate shards are summed by vocab_merge
 * (map-reduce); pruning (min count, max size) is applied when writing. */
#ifndef IMDB_VOCAB_H
#define IMDB_VOCAB_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"
#include "outfile.h"

typedef struct vocab vocab;

#define VOCAB_MAX_NGRAMS 9     /* largest maxn of a file; vocab_new clamps to 1..this */

vocab *vocab_new(int maxn);
void vocab_free(vocab *v);
int vocab_maxn(const vocab *v);
/* Count one document: every 1..maxn-gram's count, and its document frequency once.
 * Tokens must be non-empty and free of whitespace. If one is not, or two n-grams share a
 * 64-bit hash, counting stops and the error is kept (like ferror): vocab_status reports
 * it and vocab_merge / vocab_write fail with it. */
void vocab_add_doc(vocab *v, const char *const *toks, size_t ntok);
int vocab_status(const vocab *v, imdb_err *e);   /* 0, or -1 with the kept error */
/* Add all entries of b into a (same maxn and cleaning settings required; else
 * IMDB_EXIT_DATA). */
int vocab_merge(vocab *a, const vocab *b, imdb_err *e);
/* Keep entries with count >= min_count, then the max_size first in order (0 = no cap),
 * and sort. Call before reading entries by index. */
void vocab_finish(vocab *v, uint64_t min_count, size_t max_size);
/* The same, keeping only entries with df >= min_df too (before the max_size cut). */
void vocab_finish_df(vocab *v, uint64_t min_count, uint64_t min_df, size_t max_size);
int vocab_write(const vocab *v, outfile *o, imdb_err *e);
/* Read a vocabulary file (gzip or plain); malformed lines are IMDB_EXIT_DATA errors with
 * file:line. The result is finished (sorted) as read. */
vocab *vocab_read(const char *path, imdb_err *e);

/* What vocab_read_merge found in a file: its header totals, its number of entries and
 * the sum of its unigram counts, which equals tokens iff the file was not pruned. */
typedef struct vocab_info {
    uint64_t docs, tokens, unigrams;
    size_t entries;
} vocab_info;
/* Add a vocabulary file into v, like vocab_merge(v, vocab_read(path)) without holding a
 * second vocabulary in memory. Its maxn and cleaning settings must equal v's (else
 * IMDB_EXIT_DATA). On error v may be partly merged: discard it. info may be NULL. */
int vocab_read_merge(vocab *v, const char *path, vocab_info *info, imdb_err *e);

void vocab_set_clean(vocab *v, const char *settings);  /* copied; NULL clears */
const char *vocab_clean(const vocab *v);               /* NULL if unknown */
uint64_t vocab_docs(const vocab *v);
uint64_t vocab_tokens(const vocab *v);
size_t vocab_size(const vocab *v);
/* Entry i (0 <= i < size) after vocab_finish / vocab_read. */
const char *vocab_ngram(const vocab *v, size_t i);   /* "t1 t2" */
uint64_t vocab_count(const vocab *v, size_t i);
uint64_t vocab_df(const vocab *v, size_t i);
int vocab_order(const vocab *v, size_t i);            /* n of the n-gram */
uint64_t vocab_hash(const vocab *v, size_t i);        /* feat_hash_ngram of the entry */
#endif
