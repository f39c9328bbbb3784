/* feat.c — see feat.h.
 *
 * Token hash (inline in feat.h, so that predict's loops need no calls): a reduced wyhash (Wang Yi's wyhash "final3", public domain): the bytes are
 * read as little-endian words (short keys with wyhash's overlapping 4-byte reads), each
 * pair of words is folded through one 64x64->128-bit multiply, and the length is mixed
 * in at the end. The chain step is one more such multiply with other constants, so
 * h(a b) != h(b a). Every step is defined on explicit byte values and integer arithmetic,
 * so the hashes are the same on every platform; model files depend on that, and
 * tests/unit_feat.c pins known answers.
 *
 * Table: linear probing from the home slot (k * 0x9e3779b97f4a7c15, folded: h ^ h >> 32,
 * masked to the capacity), capacity a power of two, load factor at most 1/2. Keys are
 * hashes already, but the fold keeps keys that agree in their low bits (a weaker hash
 * some day, or a hostile file) from piling into one probe run. The arrays are plain so
 * that a model file can store them and map them back without rebuilding anything; the
 * home slot function is therefore part of the model file format. */
#include "feat.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

uint64_t feat_hash_ngram(const char *s, size_t n)
{
    /* Split on every single space, exactly as the text was joined. */
    const char *end = s + n;
    const char *q = memchr(s, ' ', n);
    if (!q) return feat_hash_token(s, n);
    uint64_t h = feat_hash_token(s, (size_t)(q - s));
    for (;;) {
        s = q + 1;
        q = memchr(s, ' ', (size_t)(end - s));
        if (!q) return feat_chain(h, feat_hash_token(s, (size_t)(end - s)));
        h = feat_chain(h, feat_hash_token(s, (size_t)(q - s)));
    }
}

size_t feat_ngrams(const uint64_t *tok, size_t ntok, int maxn, uint64_t *out)
{
    size_t m = 0;
    if (maxn < 1 || ntok == 0) return 0;
    memcpy(out, tok, ntok * sizeof *tok);
    m = ntok;
    /* The k-grams are chained from the (k-1)-grams just written. */
    size_t prev = 0;
    for (int k = 2; k <= maxn && (size_t)k <= ntok; k++) {
        size_t cnt = ntok - (size_t)k + 1;
        for (size_t i = 0; i < cnt; i++)
            out[m + i] = feat_chain(out[prev + i], tok[i + (size_t)k - 1]);
        prev = m;
        m += cnt;
    }
    return m;
}

static void table_alloc(feat_table *t, uint64_t cap)
{
    t->keys = imdb_xcalloc((size_t)cap, sizeof *t->keys);
    t->vals = imdb_xmalloc((size_t)cap * sizeof *t->vals);
    memset(t->vals, 0xff, (size_t)cap * sizeof *t->vals);
    t->cap = cap;
    t->n = 0;
    t->owned = 1;
}

void feat_table_init(feat_table *t, size_t expected)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)expected) cap <<= 1;
    table_alloc(t, cap);
}

void feat_table_free(feat_table *t)
{
    if (t->owned) {
        free(t->keys);
        free(t->vals);
    }
    memset(t, 0, sizeof *t);
}

#define home feat_table_home

/* Insert a key known to be absent; the table has room. */
static void table_place(feat_table *t, uint64_t key, int32_t val)
{
    uint64_t mask = t->cap - 1, i = home(key, mask);
    while (t->keys[i]) i = (i + 1) & mask;
    t->keys[i] = key;
    t->vals[i] = val;
    t->n++;
}

/* Rebuild into owned arrays of capacity cap (also turns a mapped table into an owned one). */
static void table_rehash(feat_table *t, uint64_t cap)
{
    feat_table old = *t;
    table_alloc(t, cap);
    for (uint64_t i = 0; i < old.cap; i++)
        if (old.keys[i]) table_place(t, old.keys[i], old.vals[i]);
    if (old.owned) {
        free(old.keys);
        free(old.vals);
    }
}

int32_t feat_table_put(feat_table *t, uint64_t key, int32_t val)
{
    if (key == 0) return -1;            /* not a hash: never stored */
    if (t->cap == 0) feat_table_init(t, 0);
    uint64_t mask = t->cap - 1;
    for (uint64_t i = home(key, mask), probes = 0; probes < t->cap && t->keys[i]; probes++) {
        if (t->keys[i] == key) return t->vals[i];
        i = (i + 1) & mask;
    }
    if (!t->owned || 2 * (t->n + 1) > t->cap) {
        uint64_t cap = t->cap;
        while (2 * (t->n + 1) > cap) cap <<= 1;
        table_rehash(t, cap);
    }
    table_place(t, key, val);
    return -1;
}

int32_t feat_table_get(const feat_table *t, uint64_t key)
{
    if (key == 0 || t->cap == 0) return -1;
    uint64_t mask = t->cap - 1, i = home(key, mask);
    /* A table from a file might be full or damaged: never probe more than cap slots. */
    for (uint64_t probes = 0; probes < t->cap; probes++) {
        uint64_t k = t->keys[i];
        if (k == key) return t->vals[i];
        if (k == 0) return -1;
        i = (i + 1) & mask;
    }
    return -1;
}
