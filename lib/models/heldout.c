/* heldout.c — see heldout.h and imdb-model(5), section "heldout". */
#include "heldout.h"
#include "feat.h"
#include "tokio.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    uint64_t key;
    float prob;
    uint32_t label;
} rec;

static int cmp_rec(const void *a, const void *b)
{
    uint64_t x = ((const rec *)a)->key, y = ((const rec *)b)->key;
    return x < y ? -1 : x > y;
}

static int add_recs(modelio_writer *w, rec *r, size_t n, imdb_err *e);

int heldout_add(modelio_writer *w, const train_docs *d, const uint32_t *docs, const double *prob,
                size_t n, imdb_err *e)
{
    rec *r = imdb_xmalloc((n ? n : 1) * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        const char *id = d->id[docs[i]];
        double p = prob[i];
        if (isnan(p)) {
            free(r);
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "held-out prediction of document '%.80s' is NaN", id);
        }
        r[i] = (rec){ feat_hash_token(id, strlen(id)), (float)fmin(1, fmax(0, p)),
                      d->label[docs[i]] == TOKIO_POS };
    }
    return add_recs(w, r, n, e);
}

int heldout_add_keys(modelio_writer *w, const uint64_t *key, const int *pos, const double *prob, size_t n,
                     imdb_err *e)
{
    rec *r = imdb_xmalloc((n ? n : 1) * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        if (isnan(prob[i])) {
            free(r);
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "held-out prediction of document %zu is NaN", i);
        }
        r[i] = (rec){ key[i], (float)fmin(1, fmax(0, prob[i])), pos[i] != 0 };
    }
    return add_recs(w, r, n, e);
}

/* Sort, drop keys seen more than once, write; frees r. */
static int add_recs(modelio_writer *w, rec *r, size_t n, imdb_err *e)
{
    /* Equal keys are next to each other after sorting; keep only keys seen once, so the
     * order qsort leaves equal keys in does not matter. */
    qsort(r, n, sizeof *r, cmp_rec);
    size_t k = 0;
    for (size_t i = 0; i < n; ) {
        size_t j = i + 1;
        while (j < n && r[j].key == r[i].key) j++;
        if (j == i + 1) r[k++] = r[i];
        i = j;
    }
    unsigned char *buf = imdb_xmalloc(8 + k * HELDOUT_RECORD);
    put_u64le(buf, k);
    for (size_t i = 0; i < k; i++) {
        unsigned char *p = buf + 8 + i * HELDOUT_RECORD;
        uint32_t bits;
        memcpy(&bits, &r[i].prob, 4);
        put_u64le(p, r[i].key);
        put_u32le(p + 8, bits);
        put_u32le(p + 12, r[i].label);
    }
    int rc = modelio_add(w, HELDOUT_SECTION, buf, 8 + k * HELDOUT_RECORD, e);
    free(buf);
    free(r);
    return rc;
}

/* Number of records if size matches the count, else -1. */
static long count_of(const unsigned char *s, size_t size)
{
    if (!s || size < 8) return -1;
    uint64_t n = get_u64le(s);
    if (n > (size - 8) / HELDOUT_RECORD || 8 + n * HELDOUT_RECORD != size || n > (uint64_t)LONG_MAX)
        return -1;
    return (long)n;
}

static double prob_at(const unsigned char *p)
{
    uint32_t bits = get_u32le(p + 8);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

long heldout_check(const void *sec, size_t size, const char *name, imdb_err *e)
{
    const unsigned char *s = sec;
    long n = count_of(s, size);
    if (n < 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: heldout section of %zu bytes does not match its record count",
                  name, size);
        return -1;
    }
    uint64_t prev = 0;
    for (long i = 0; i < n; i++) {
        const unsigned char *p = s + 8 + (size_t)i * HELDOUT_RECORD;
        uint64_t key = get_u64le(p);
        double prob = prob_at(p);
        uint32_t label = get_u32le(p + 12);
        if (key == 0 || (i > 0 && key <= prev) || !(prob >= 0 && prob <= 1) || label > 1) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: heldout record %ld is corrupt", name, i);
            return -1;
        }
        prev = key;
    }
    return n;
}

int heldout_find(const void *sec, size_t size, const char *id, double *prob, int *label)
{
    const unsigned char *s = sec;
    long n = count_of(s, size);
    if (n < 0) return -1;
    uint64_t key = feat_hash_token(id, strlen(id));
    size_t lo = 0, hi = (size_t)n;   /* the key, if present, is in [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unsigned char *p = s + 8 + mid * HELDOUT_RECORD;
        uint64_t k = get_u64le(p);
        if (k == key) {
            *prob = prob_at(p);
            if (label) *label = get_u32le(p + 12) != 0;
            return 1;
        }
        if (k < key) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}
