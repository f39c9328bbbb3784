/* unit_linear.c — the fast nblr scorer against the naive reference, explanations that add
 * up to the logit, and a model file that loads back to the same scores. */
#include "clf.h"
#include "feat.h"
#include "linear.h"
#include "modelio.h"
#include "rng.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *words[] = { "good", "bad", "film", "not", "great", "boring", "the", "a",
                               "plot", "acting", "!", "?", "waste", "of", "time", "loved" };
#define NW (sizeof words / sizeof *words)

int main(void)
{
    rng g;
    rng_seed(&g, 7);
    /* A model over every unigram, bigram and trigram of the 16 words that the generator
     * happens to keep (about half), with random weights. */
    feat_table t;
    feat_table_init(&t, 4096);
    uint32_t nfeat = 0;
    float *w = imdb_xmalloc(NW * NW * NW * 3 * sizeof *w);
    char text[64];
    for (size_t a = 0; a < NW; a++)
        for (size_t b = 0; b <= NW; b++)
            for (size_t c = 0; c <= NW; c++) {
                if (b == NW && c != NW) continue;
                if (rng_uniform(&g) < 0.5) continue;
                int n = snprintf(text, sizeof text, "%s%s%s%s%s", words[a], b < NW ? " " : "",
                                 b < NW ? words[b] : "", c < NW && b < NW ? " " : "",
                                 c < NW && b < NW ? words[c] : "");
                if (feat_table_put(&t, feat_hash_ngram(text, (size_t)n), (int32_t)nfeat) < 0)
                    w[nfeat++] = (float)(rng_uniform(&g) * 2 - 1);
            }
    linear_model m;
    linear_model_init(&m, 3, &t);
    linear_model_set_weights(&m, w);
    m.bias = 0.25f;
    double worst = 0;
    const char **doc = imdb_xmalloc(3000 * sizeof *doc);
    clf_contrib *ex = imdb_xmalloc(3 * 3000 * sizeof *ex);
    for (int trial = 0; trial < 300; trial++) {
        size_t n = trial == 0 ? 0 : trial < 250 ? rng_below(&g, 60) : 600 + rng_below(&g, 2000);
        for (size_t i = 0; i < n; i++) doc[i] = words[rng_below(&g, NW)];
        double fast = linear_logit(&m, doc, n), naive = linear_logit_naive(&m, doc, n);
        double d = fabs(fast - naive);
        if (d > worst) worst = d;
        CHECK(d <= 1e-9 * (1 + fabs(naive)), "trial %d: fast %.17g naive %.17g", trial, fast, naive);
        /* All contributions plus the bias give the logit; they are sorted by |weight|. */
        size_t k = linear_clf_ops.explain(&m, doc, n, ex, 3 * 3000);
        double sum = m.bias;
        for (size_t i = 0; i < k; i++) {
            sum += ex[i].weight;
            CHECK(ex[i].start + (size_t)ex[i].n <= n, "trial %d: contribution out of range", trial);
            if (i) CHECK(fabs(ex[i - 1].weight) >= fabs(ex[i].weight), "trial %d: not sorted", trial);
        }
        CHECK(fabs(sum - fast) <= 1e-9 * (1 + fabs(fast)), "trial %d: explain sums to %.17g, logit %.17g",
              trial, sum, fast);
    }
    printf("linear_logit vs naive: worst difference %.3g over 300 documents\n", worst);

    /* Features are distinct and sorted. */
    const char *rep[] = { "good", "good", "good", "good" };
    uint32_t idx[12];
    size_t k = linear_features(&m, rep, 4, idx);
    for (size_t i = 1; i < k; i++) CHECK(idx[i - 1] < idx[i], "features not distinct and sorted");
    CHECK(fabs(linear_logit(&m, rep, 4) - linear_logit(&m, rep, 2)) < 1e-12 ||
          feat_table_get(&t, feat_hash_ngram("good good good", 14)) >= 0,
          "repeating a unigram must not change the score (binarized features)");

    /* How nblr's trainer takes features: the first of each hash, against a naive O(n^2)
     * reference (hashes drawn from few values, so that many repeat; zeros always first),
     * and the slots from the kept hashes, against a feat_table and linear_model_init. */
    for (int trial = 0; trial < 20; trial++) {
        size_t n = 1 + rng_below(&g, 3000), range = 1 + rng_below(&g, (uint32_t)(2 * n));
        uint64_t *keys = imdb_xmalloc(n * sizeof *keys);
        unsigned char *first = imdb_xmalloc(n);
        for (size_t k = 0; k < n; k++) keys[k] = rng_below(&g, (uint32_t)range) * 0x9e3779b97f4a7c15ULL;
        size_t nf = linear_first_of_hash(keys, n, first), nref = 0;
        for (size_t k = 0; k < n; k++) {
            int ref = 1;
            for (size_t j = 0; j < k && keys[k]; j++) ref &= keys[j] != keys[k];
            nref += (size_t)ref;
            CHECK(first[k] == ref, "trial %d: first[%zu] = %d, expected %d", trial, k, first[k], ref);
        }
        CHECK(nf == nref, "trial %d: %zu first, expected %zu", trial, nf, nref);
        size_t nk = 0;
        for (size_t k = 0; k < n; k++)
            if (first[k]) keys[nk++] = keys[k];
        feat_table ft;
        feat_table_init(&ft, n);
        for (size_t f = 0; f < nk; f++) feat_table_put(&ft, keys[f], (int32_t)f);
        linear_model a, b;
        linear_model_init(&a, 3, &ft);
        linear_model_from_keys(&b, 3, keys, nk, n);
        CHECK(a.cap == b.cap && b.nfeat == nk && memcmp(a.slots, b.slots, a.cap * sizeof *a.slots) == 0,
              "trial %d: slots from keys differ from the table's", trial);
        linear_model_free(&a);
        linear_model_free(&b);
        feat_table_free(&ft);
        free(keys);
        free(first);
    }

    free(ex);
    free(doc);
    free(w);
    linear_model_free(&m);
    feat_table_free(&t);
    return test_status("unit_linear");
}
