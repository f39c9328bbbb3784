/* shard.h — deterministic sharding by document id (map-reduce over N workers).
 *
 * A document belongs to shard  shard_of(id) = mix(FNV-1a-64(id bytes)) mod N,  where mix is
 * the splitmix64 finalizer (FNV-1a alone leaves the low bits, which "mod N" reads, poorly
 * mixed for ids that differ only in their last digits). The id is the stream's document id
 * (aclImdb path "train/pos/0_9", the ID column of a TSV) or, for inputs without ids, the
 * line number written in decimal ("17"), the same string imdb-clean gives such documents.
 * The rule depends only on the id, never on the input order or on the worker, so N workers
 * reading the same input keep disjoint parts whose union is the whole input. Shards are
 * numbered from 0 (Slurm's $SLURM_ARRAY_TASK_ID; with GNU parallel use {#}-1 or {%}-1). */
#ifndef IMDB_SHARD_H
#define IMDB_SHARD_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define SHARD_MAX 1000000L   /* largest N accepted */

typedef struct shard {
    uint64_t k, n;   /* keep shard k of n; n == 0: no sharding (keep everything) */
} shard;

/* Parse "K/N" (decimal, 0 <= K < N <= SHARD_MAX, nothing else) into s. 0, or -1 with an
 * IMDB_EXIT_USAGE error naming the spec and what is expected. */
int shard_parse(const char *spec, shard *s, imdb_err *e);
/* The 64-bit hash the rule above reduces mod N. */
uint64_t shard_hash(const char *id, size_t len);
/* 1 if the document with this id belongs to s (always 1 when s->n == 0). */
int shard_keep(const shard *s, const char *id, size_t len);
/* The same for a document known by its line number (hashes its decimal form). */
int shard_keep_line(const shard *s, long lineno);

/* Splitting one table into named parts by weight (imdb-clean --split-by-hash
 * fit=80,valid=10,test=10 --part valid). With W the sum of the weights and h the hash
 * above of the document's key, the document falls in bucket b = ((h >> 32) * W) >> 32,
 * 0 <= b < W (the top 32 bits, scaled: independent of the low bits that --shard's
 * "mod N" reads, so every shard holds its share of every part), and bucket b belongs to
 * the first part whose running sum of weights exceeds b. The parts are disjoint and
 * cover every document; a document's part depends on its key and the weights alone
 * (not on the order, the other documents or the machine). The key is the document's id
 * when it has one (aclImdb path, an id column), else its raw text, so that duplicate
 * texts cannot straddle two parts. */
#define SHARD_SPLIT_MAX_PARTS 16
#define SHARD_SPLIT_MAX_WEIGHT 1000000L   /* largest sum of weights */

typedef struct shard_split {
    int nparts;                             /* 0: no split (keep everything) */
    char names[SHARD_SPLIT_MAX_PARTS][32];
    uint64_t cum[SHARD_SPLIT_MAX_PARTS];    /* running sums of the weights */
    int keep;                               /* index of the part kept */
} shard_split;

/* Parse "NAME=WEIGHT,NAME=WEIGHT..." (names of 1 to 31 letters, digits, '_' or '-',
 * distinct; weights whole numbers >= 1, summing to at most SHARD_SPLIT_MAX_WEIGHT; 1 to
 * SHARD_SPLIT_MAX_PARTS parts) and choose part keep (one of the names). 0, or -1 with
 * an IMDB_EXIT_USAGE error. */
int shard_split_parse(const char *spec, const char *keep, shard_split *s, imdb_err *e);
/* The index of the part the key's document falls in (0 when s->nparts == 0). */
int shard_split_part(const shard_split *s, const char *key, size_t len);
/* 1 if it falls in the kept part (always 1 when s->nparts == 0). */
int shard_split_keep(const shard_split *s, const char *key, size_t len);
#endif
