/* feat.h — n-gram features as 64-bit hashes, and an open-addressing table from feature
 * hash to index that can live inside a model file (mmapped, no rebuild at load).
 *
 * The hash of an n-gram is built by chaining token hashes, so predict hashes each token
 * once: h(t1) = feat_hash_token(t1); h(t1..tn) = feat_chain(h(t1..tn-1), h(tn)).
 * feat_hash_ngram hashes the text form "t1 t2 t3" (tokens joined by one space) to the
 * same value, so a vocabulary line maps to the same feature as the running text.
 * Hashes are never 0 (0 marks an empty table slot). */
#ifndef IMDB_FEAT_H
#define IMDB_FEAT_H
#include <stddef.h>
#include <stdint.h>

#include "feat_hash.h"   /* feat_hash_token, feat_chain: inline */
uint64_t feat_hash_ngram(const char *s, size_t n);

/* All 1..maxn-grams of tok[0..ntok): writes at most ntok*maxn hashes to out (unigrams
 * first, then bigrams, ...) and returns how many. */
size_t feat_ngrams(const uint64_t *tok, size_t ntok, int maxn, uint64_t *out);

/* Table: capacity a power of two, keys[i] == 0 means empty. Key k lives in the first
 * slot holding k or 0 from h = k * 0x9e3779b97f4a7c15, (h ^ h >> 32) & (cap - 1), probing
 * linearly (this is part of the model file format). When loaded from a model file the
 * arrays point into the mapping and owned is 0; a put then copies them first. */
typedef struct feat_table {
    uint64_t *keys;    /* (cap) */
    int32_t *vals;     /* (cap) */
    uint64_t cap;      /* power of two */
    uint64_t n;        /* keys in use */
    int owned;
} feat_table;

void feat_table_init(feat_table *t, size_t expected);   /* load factor <= 0.5 */
void feat_table_free(feat_table *t);
/* Insert key -> val. Returns the existing value if key is present (table unchanged),
 * else -1 after inserting. Grows as needed. */
int32_t feat_table_put(feat_table *t, uint64_t key, int32_t val);
int32_t feat_table_get(const feat_table *t, uint64_t key);   /* -1 if absent */

/* The home slot of key in a table of capacity mask + 1. */
static inline uint64_t feat_table_home(uint64_t key, uint64_t mask)
{
    uint64_t h = key * UINT64_C(0x9e3779b97f4a7c15);
    return (h ^ (h >> 32)) & mask;
}
#endif
