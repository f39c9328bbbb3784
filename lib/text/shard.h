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
#endif
