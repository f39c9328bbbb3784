/* unit_feat.c — n-gram hashing and the feature table.
 *
 * Known answers pin the hash function (model files store hashes, so it must never change
 * silently, and must be the same on every platform: the portable 64x64->128 product is
 * compiled here from feat.c itself and compared with the library's). feat_hash_ngram of
 * "a b c" must equal the chain over a, b, c. No two of 500k distinct strings share a
 * hash, and the low bits (the table index) are uniform. The table is checked against a
 * plain array oracle through growth, and a "mapped" (not owned) table is never written.
 * Exit status 0 = pass. */
#include "feat.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A second copy of feat.c without 128-bit integers, its symbols renamed. */
#undef __SIZEOF_INT128__
#define feat_hash_token portable_hash_token
#define feat_chain portable_chain
#define feat_hash_ngram portable_hash_ngram
#define feat_ngrams portable_ngrams
#define feat_table_init portable_table_init
#define feat_table_free portable_table_free
#define feat_table_put portable_table_put
#define feat_table_get portable_table_get
#define feat_mix_ portable_mix_
#define feat_rd64_ portable_rd64_
#define feat_rd32_ portable_rd32_
#define feat_nonzero_ portable_nonzero_
#include "feat_hash.h"
#include "feat.c"
#include "testutil.h"
#undef feat_mix_
#undef feat_rd64_
#undef feat_rd32_
#undef feat_nonzero_
#undef feat_hash_token
#undef feat_chain
#undef feat_hash_ngram
#undef feat_ngrams
#undef feat_table_init
#undef feat_table_free
#undef feat_table_put
#undef feat_table_get



/* splitmix64: test data only. */
static uint64_t rnd_state = 42;
static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t hs(const char *s) { return feat_hash_token(s, strlen(s)); }

static void test_known_answers(void)
{
    /* Pinned values: changing them breaks every saved model. */
    static const struct { const char *s; uint64_t h; } known[] = {
        {"", UINT64_C(0x5b516c304e541571)},
        {"a", UINT64_C(0xd69e1e431f92f56f)},
        {"the", UINT64_C(0x1d703ef3e35f1734)},
        {"movie", UINT64_C(0x639410479bde776b)},
        {"great!", UINT64_C(0xbbfa7af22d8dad08)},
        {"überraschend", UINT64_C(0xdc93325cf7c0e5c5)},
        {"antidisestablishmentarianism-and-more", UINT64_C(0x42e8c63eac6aad0c)},
    };
    int print = getenv("FEAT_PRINT_KNOWN") != NULL;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        uint64_t h = hs(known[i].s);
        if (print) printf("        {\"%s\", UINT64_C(0x%016" PRIx64 ")},\n", known[i].s, h);
        else CHECK(h == known[i].h, "hash(\"%s\") = 0x%016" PRIx64 ", pinned 0x%016" PRIx64,
                   known[i].s, h, known[i].h);
    }
    uint64_t c = feat_chain(hs("not"), hs("good"));
    if (print) printf("    chain(not, good) = UINT64_C(0x%016" PRIx64 ")\n", c);
    else CHECK(c == UINT64_C(0x4ea01fd93f0744b0), "chain(not, good) = 0x%016" PRIx64, c);
}

static void random_token(char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* mostly letters, some UTF-8 high bytes, never a space */
        uint64_t r = rnd();
        buf[i] = (r & 7) == 0 ? (char)(0x80 + (r >> 8) % 0x40) : (char)('a' + (r >> 8) % 26);
    }
    buf[n] = '\0';
}

static void test_portable(void)
{
    char buf[200];
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = rnd() % 120;
        random_token(buf, n);
        if (feat_hash_token(buf, n) != portable_hash_token(buf, n)) bad++;
        uint64_t a = rnd(), b = rnd();
        if (feat_chain(a, b) != portable_chain(a, b)) bad++;
        if (feat_chain(a, 0) != portable_chain(a, 0) || feat_chain(~a, ~UINT64_C(0)) != portable_chain(~a, ~UINT64_C(0))) bad++;
    }
    CHECK(bad == 0, "portable 64-bit product differs from the 128-bit one %d times", bad);
}

static void test_ngram_equals_chain(void)
{
    CHECK(feat_hash_ngram("a b c", 5) == feat_chain(feat_chain(hs("a"), hs("b")), hs("c")),
          "hash_ngram(\"a b c\") != chain(a, b, c)");
    CHECK(feat_hash_ngram("movie", 5) == hs("movie"), "hash_ngram of a unigram");
    CHECK(feat_hash_ngram("a b", 1) == hs("a"), "hash_ngram must stop at n");
    CHECK(feat_chain(hs("a"), hs("b")) != feat_chain(hs("b"), hs("a")), "chain is commutative");
    CHECK(hs("a b") != feat_hash_ngram("a b", 3), "token 'a b' hashes like the bigram");
    char text[2000], tok[8][100];
    int bad = 0;
    for (int it = 0; it < 5000; it++) {
        int k = 1 + (int)(rnd() % 8);
        size_t len = 0;
        uint64_t h = 0;
        for (int j = 0; j < k; j++) {
            size_t n = 1 + rnd() % 40;
            random_token(tok[j], n);
            uint64_t th = feat_hash_token(tok[j], n);
            h = j ? feat_chain(h, th) : th;
            if (j) text[len++] = ' ';
            memcpy(text + len, tok[j], n);
            len += n;
        }
        if (feat_hash_ngram(text, len) != h) bad++;
    }
    CHECK(bad == 0, "hash_ngram != chain for %d random n-grams", bad);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_distinct_and_uniform(void)
{
    enum { N = 500000, BUCKETS = 1024 };
    uint64_t *h = malloc(N * sizeof *h);
    char buf[64];
    static size_t bucket[BUCKETS];
    for (int i = 0; i < N; i++) {
        /* Structured keys, the hard case for weak hashes: "w0".."w249999", then n-grams. */
        int n = i < N / 2 ? snprintf(buf, sizeof buf, "w%d", i)
                          : snprintf(buf, sizeof buf, "%d %d", i % 1000, i / 1000);
        h[i] = i < N / 2 ? feat_hash_token(buf, (size_t)n) : feat_hash_ngram(buf, (size_t)n);
        CHECK(h[i] != 0, "hash of '%s' is 0", buf);
        bucket[h[i] & (BUCKETS - 1)]++;
    }
    qsort(h, N, sizeof *h, cmp_u64);
    int dups = 0;
    for (int i = 1; i < N; i++) dups += h[i] == h[i - 1];
    CHECK(dups == 0, "%d duplicate hashes among %d distinct strings", dups, N);
    double expect = (double)N / BUCKETS, chi2 = 0;
    for (int b = 0; b < BUCKETS; b++) chi2 += (bucket[b] - expect) * (bucket[b] - expect) / expect;
    /* 1023 degrees of freedom: mean 1023, sd ~45; 1250 is 5 sd. */
    CHECK(chi2 < 1250, "low 10 bits not uniform: chi2 = %.1f (df 1023)", chi2);
    /* Avalanche on the chain: flipping one input bit flips about half the output bits. */
    double flips = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = rnd(), b = rnd(), bit = UINT64_C(1) << (rnd() % 64);
        flips += __builtin_popcountll(feat_chain(a, b) ^ feat_chain(a ^ bit, b));
        flips += __builtin_popcountll(feat_chain(a, b) ^ feat_chain(a, b ^ bit));
    }
    flips /= 4000;
    CHECK(flips > 28 && flips < 36, "chain avalanche: %.2f bits flip on average, want ~32", flips);
    free(h);
}

static void test_ngrams(void)
{
    uint64_t tok[5], out[5 * 4];
    for (int i = 0; i < 5; i++) tok[i] = rnd() | 1;
    size_t m = feat_ngrams(tok, 5, 3, out);
    CHECK(m == 5 + 4 + 3, "feat_ngrams(5 tokens, 3) gave %zu", m);
    CHECK(memcmp(out, tok, sizeof tok) == 0, "unigrams first");
    CHECK(out[5] == feat_chain(tok[0], tok[1]) && out[8] == feat_chain(tok[3], tok[4]), "bigrams");
    CHECK(out[9] == feat_chain(feat_chain(tok[0], tok[1]), tok[2]) &&
          out[11] == feat_chain(feat_chain(tok[2], tok[3]), tok[4]), "trigrams");
    CHECK(feat_ngrams(tok, 2, 4, out) == 3, "n larger than the document");
    CHECK(feat_ngrams(tok, 0, 3, out) == 0, "empty document");
    CHECK(feat_ngrams(tok, 5, 0, out) == 0, "maxn 0");
    CHECK(feat_ngrams(tok, 5, 1, out) == 5, "maxn 1");
}

static void test_table(void)
{
    enum { N = 100000 };
    uint64_t *keys = malloc(N * sizeof *keys);
    feat_table t;
    feat_table_init(&t, 10);
    CHECK(t.cap >= 20 && (t.cap & (t.cap - 1)) == 0, "init capacity %" PRIu64, t.cap);
    for (int i = 0; i < N; i++) {
        keys[i] = rnd() | 1;
        /* Clustered keys stress linear probing: same low bits. */
        if (i % 3 == 0) keys[i] = (keys[i] << 20) | 5;
        int32_t prev = feat_table_put(&t, keys[i], i);
        CHECK(prev == -1, "put of a new key returned %d", prev);
        if (i % 1000 == 0) CHECK(2 * t.n <= t.cap, "load factor above 1/2: %" PRIu64 "/%" PRIu64, t.n, t.cap);
    }
    CHECK(t.n == N, "n = %" PRIu64, t.n);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += feat_table_get(&t, keys[i]) != i;
    for (int i = 0; i < N; i++) bad += feat_table_get(&t, (rnd() << 1)) != -1;   /* even: absent */
    CHECK(bad == 0, "%d wrong lookups", bad);
    CHECK(feat_table_put(&t, keys[7], 99) == 7 && feat_table_get(&t, keys[7]) == 7,
          "put of an existing key must return its value and leave it");
    CHECK(feat_table_put(&t, 0, 1) == -1 && feat_table_get(&t, 0) == -1 && t.n == N,
          "key 0 is never stored");
    feat_table_free(&t);
    CHECK(t.keys == NULL && t.cap == 0, "free clears the table");

    feat_table z;
    memset(&z, 0, sizeof z);
    CHECK(feat_table_get(&z, 123) == -1, "get on a zeroed table");
    CHECK(feat_table_put(&z, 123, 4) == -1 && feat_table_get(&z, 123) == 4, "put on a zeroed table");
    feat_table_free(&z);

    /* A mapped table (owned = 0): full (no empty slot), lookups of absent keys stop;
     * a put copies instead of writing into the mapping. */
    uint64_t mk[4] = {4, 1, 2, 3};
    int32_t mv[4] = {40, 10, 20, 30};
    feat_table m = {mk, mv, 4, 4, 0};
    CHECK(feat_table_get(&m, 2) == 20 && feat_table_get(&m, 4) == 40, "mapped get");
    CHECK(feat_table_get(&m, 8) == -1, "absent key in a full table");
    CHECK(feat_table_put(&m, 9, 90) == -1 && m.owned && feat_table_get(&m, 9) == 90 &&
          feat_table_get(&m, 3) == 30, "put into a mapped table");
    CHECK(mk[0] == 4 && mk[1] == 1 && mv[0] == 40, "the mapping was written");
    feat_table_free(&m);
    free(keys);
}

int main(void)
{
    test_known_answers();
    test_portable();
    test_ngram_equals_chain();
    test_distinct_and_uniform();
    test_ngrams();
    test_table();
    return test_status("unit_feat");
}
