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

/* maxn 0: a vocabulary for vocab_read_merge that takes its n-gram order and cleaning
 * settings from the first file merged into it (nothing else may be done with it before). */
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

/* ---- Bounded memory ----
 * vocab_set_memory bounds what counting (vocab_add_doc) and merging (vocab_read_merge)
 * allocate to about `bytes`: the n-gram table (records, slots, the per-document buffers)
 * and the spill and merge buffers; not the input and output streams' own buffers. When
 * the table is full it is sorted and written as a run to an unlinked temporary file in
 * tmpdir (NULL or "": /tmp; spill.h), and vocab_finish_write merges the runs. Call it on
 * a new vocabulary, before anything else. bytes below vocab_memory_min() is an
 * IMDB_EXIT_USAGE error whose message says how much is needed; so is, later (kept in
 * vocab_status), a single document or entry too large for the table. A spill that fails
 * (a full disk) is kept as an IMDB_EXIT_IO error. vocab_merge and vocab_finish are for
 * unbounded vocabularies only; with a budget vocab_size counts the table's entries, not
 * the runs'. */
size_t vocab_memory_min(void);
int vocab_set_memory(vocab *v, size_t bytes, const char *tmpdir, imdb_err *e);
size_t vocab_memory(const vocab *v);   /* bytes held now by the table and its buffers */

typedef struct vocab_stats {
    uint64_t distinct;       /* distinct n-grams before pruning */
    uint64_t kept;           /* entries written */
    uint64_t spills;         /* runs written from the table (0: it all fitted) */
    uint64_t spilled_bytes;  /* bytes written to runs, merges included */
} vocab_stats;
/* Prune (as vocab_finish_df) and write the vocabulary to o (as vocab_write): the same
 * bytes with or without a budget. With a budget this merges the runs, and afterwards
 * only the totals (docs, tokens, clean, maxn) can be read. st may be NULL. */
int vocab_finish_write(vocab *v, uint64_t min_count, uint64_t min_df, size_t max_size,
                       outfile *o, vocab_stats *st, imdb_err *e);

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
