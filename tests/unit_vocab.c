/* unit_vocab.c — counting, ordering, pruning, merging and the file format of vocab_.
 *
 * The oracle is the obvious method: list every (n-gram text, document) occurrence, sort
 * the list, and read counts and document frequencies off the runs; then sort entries by
 * count desc, df desc, bytes asc with qsort. vocab_ must agree entry by entry on random
 * corpora made to have many ties and long shared prefixes (the sort's hard cases). Merging
 * two halves must equal counting the whole; save, load, save gives the same bytes;
 * malformed files fail with FILE:LINE. Exit status 0 = pass. */
#include "feat.h"
#include "outfile.h"
#include "spill.h"
#include "vocab.h"
#include "testutil.h"

#include <fcntl.h>
#include <zlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FANIN_TEST 16   /* more spills than one merge takes */

static char dir[] = "/tmp/unit_vocab.XXXXXX";

static uint64_t rnd_state = 7;
static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* ---- a corpus: documents as token arrays ---- */

typedef struct corpus {
    size_t ndocs;
    size_t *ntok;
    char ***toks;
} corpus;

/* Words: a few very common ones, long ones sharing 16+ leading bytes, UTF-8, and a tail
 * of rare ones. */
static char *make_word(uint64_t r, size_t alphabet)
{
    char buf[64];
    uint64_t k = r % 10;
    size_t w = (size_t)((r >> 8) % alphabet);
    if (k < 4) snprintf(buf, sizeof buf, "%c", (char)('a' + w % 5));
    else if (k < 6) snprintf(buf, sizeof buf, "sharedprefix-sharedprefix-%zu", w % 7);
    else if (k < 7) snprintf(buf, sizeof buf, "\xc3\xa9t\xc3\xa9%zu", w % 3);
    else snprintf(buf, sizeof buf, "w%zu", w);
    return strdup(buf);
}

static corpus make_corpus(size_t ndocs, size_t maxtok, size_t alphabet)
{
    corpus c = {ndocs, calloc(ndocs, sizeof(size_t)), calloc(ndocs, sizeof(char **))};
    for (size_t d = 0; d < ndocs; d++) {
        size_t n = d % 17 == 0 ? 0 : (size_t)(rnd() % (maxtok + 1));   /* some empty docs */
        c.ntok[d] = n;
        c.toks[d] = calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) c.toks[d][i] = make_word(rnd(), alphabet);
    }
    return c;
}

static void free_corpus(corpus *c)
{
    for (size_t d = 0; d < c->ndocs; d++) {
        for (size_t i = 0; i < c->ntok[d]; i++) free(c->toks[d][i]);
        free(c->toks[d]);
    }
    free(c->ntok);
    free(c->toks);
}

static void count_range(vocab *v, const corpus *c, size_t from, size_t to)
{
    for (size_t d = from; d < to; d++) vocab_add_doc(v, (const char *const *)c->toks[d], c->ntok[d]);
}

/* ---- the oracle ---- */

typedef struct occ {
    char *text;
    size_t doc;
} occ;

typedef struct ref_entry {
    char *text;
    uint64_t count, df;
} ref_entry;

typedef struct ref {
    ref_entry *e;
    size_t n;
    uint64_t tokens;
} ref;

static int cmp_occ(const void *a, const void *b)
{
    const occ *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    if (c) return c;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static int cmp_ref(const void *a, const void *b)
{
    const ref_entry *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->df != y->df) return x->df > y->df ? -1 : 1;
    return strcmp(x->text, y->text);
}

static ref reference(const corpus *c, size_t from, size_t to, int maxn, uint64_t min_count,
                     size_t max_size)
{
    size_t cap = 1024, n = 0;
    occ *o = malloc(cap * sizeof *o);
    ref r = {NULL, 0, 0};
    for (size_t d = from; d < to; d++) {
        r.tokens += c->ntok[d];
        for (size_t i = 0; i < c->ntok[d]; i++) {
            char buf[1024] = "";
            for (int k = 1; k <= maxn && i + (size_t)k <= c->ntok[d]; k++) {
                if (k > 1) strcat(buf, " ");
                strcat(buf, c->toks[d][i + (size_t)k - 1]);
                if (n == cap) o = realloc(o, (cap *= 2) * sizeof *o);
                o[n++] = (occ){strdup(buf), d};
            }
        }
    }
    qsort(o, n, sizeof *o, cmp_occ);
    r.e = malloc((n ? n : 1) * sizeof *r.e);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t df = 0;
        while (j < n && strcmp(o[j].text, o[i].text) == 0) {
            if (j == i || o[j].doc != o[j - 1].doc) df++;
            j++;
        }
        if (j - i >= min_count) r.e[r.n++] = (ref_entry){strdup(o[i].text), j - i, df};
        i = j;
    }
    for (size_t i = 0; i < n; i++) free(o[i].text);
    free(o);
    qsort(r.e, r.n, sizeof *r.e, cmp_ref);
    if (max_size && r.n > max_size) {
        for (size_t i = max_size; i < r.n; i++) free(r.e[i].text);
        r.n = max_size;
    }
    return r;
}

static void free_ref(ref *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->e[i].text);
    free(r->e);
}

/* vocab v (finished) equals the oracle; prints the first differences. */
static void check_same(const char *what, const vocab *v, const ref *r, uint64_t docs)
{
    int bad = 0;
    if (vocab_size(v) != r->n) {
        printf("FAIL %s: %zu entries, oracle %zu\n", what, vocab_size(v), r->n);
        failures++;
        return;
    }
    if (vocab_docs(v) != docs || vocab_tokens(v) != r->tokens) {
        printf("FAIL %s: docs %llu tokens %llu, want %llu %llu\n", what,
               (unsigned long long)vocab_docs(v), (unsigned long long)vocab_tokens(v),
               (unsigned long long)docs, (unsigned long long)r->tokens);
        failures++;
    }
    for (size_t i = 0; i < r->n; i++) {
        const char *g = vocab_ngram(v, i);
        int order = 1;
        for (const char *p = g; *p; p++) order += *p == ' ';
        if (strcmp(g, r->e[i].text) != 0 || vocab_count(v, i) != r->e[i].count ||
            vocab_df(v, i) != r->e[i].df || vocab_order(v, i) != order ||
            vocab_hash(v, i) != feat_hash_ngram(g, strlen(g))) {
            if (bad++ < 5)
                printf("FAIL %s: entry %zu is '%s' %llu %llu (order %d), oracle '%s' %llu %llu\n",
                       what, i, g, (unsigned long long)vocab_count(v, i),
                       (unsigned long long)vocab_df(v, i), vocab_order(v, i), r->e[i].text,
                       (unsigned long long)r->e[i].count, (unsigned long long)r->e[i].df);
        }
    }
    if (bad) {
        printf("FAIL %s: %d entries differ\n", what, bad);
        failures++;
    }
}

static void test_against_oracle(size_t ndocs, size_t maxtok, size_t alphabet, int maxn)
{
    char what[100];
    corpus c = make_corpus(ndocs, maxtok, alphabet);
    vocab *v = vocab_new(maxn);
    count_range(v, &c, 0, ndocs);
    CHECK(vocab_status(v, NULL) == 0, "status");
    vocab_finish(v, 1, 0);
    ref r = reference(&c, 0, ndocs, maxn, 1, 0);
    snprintf(what, sizeof what, "count %zu docs, %d-grams", ndocs, maxn);
    check_same(what, v, &r, ndocs);
    free_ref(&r);

    /* Pruning: min count, then max size (a second finish prunes the pruned vocab). */
    vocab_finish(v, 3, 0);
    r = reference(&c, 0, ndocs, maxn, 3, 0);
    snprintf(what, sizeof what, "min_count 3 (%zu docs)", ndocs);
    check_same(what, v, &r, ndocs);
    free_ref(&r);
    size_t cut = vocab_size(v) / 3 + 1;
    vocab_finish(v, 1, cut);
    r = reference(&c, 0, ndocs, maxn, 3, cut);
    snprintf(what, sizeof what, "max_size %zu (%zu docs)", cut, ndocs);
    check_same(what, v, &r, ndocs);
    free_ref(&r);
    vocab_free(v);

    /* Merge: two halves (the first also finished and pruned-by-nothing) equal the whole;
     * counting resumes correctly after finish. */
    size_t half = ndocs / 2;
    vocab *a = vocab_new(maxn), *b = vocab_new(maxn);
    count_range(a, &c, 0, half / 2);
    vocab_finish(a, 1, 0);
    count_range(a, &c, half / 2, half);
    count_range(b, &c, half, ndocs);
    imdb_err e = {0, ""};
    CHECK(vocab_merge(a, b, &e) == 0, "merge: %s", e.msg);
    vocab_finish(a, 2, 0);
    r = reference(&c, 0, ndocs, maxn, 2, 0);
    snprintf(what, sizeof what, "merge of halves (%zu docs)", ndocs);
    check_same(what, a, &r, ndocs);
    free_ref(&r);
    vocab_free(a);
    vocab_free(b);
    free_corpus(&c);
}

static void test_ties(void)
{
    /* Hand-made: every order rule decides somewhere. */
    const char *d1[] = {"b", "a", "c"};
    const char *d2[] = {"a", "b"};
    const char *d3[] = {"c", "c"};
    vocab *v = vocab_new(1);
    vocab_add_doc(v, d1, 3);
    vocab_add_doc(v, d2, 2);
    vocab_add_doc(v, d3, 2);
    vocab_finish(v, 1, 0);
    /* a: 2 2, b: 2 2, c: 3 2 -> c, a, b */
    CHECK(vocab_size(v) == 3 && strcmp(vocab_ngram(v, 0), "c") == 0 &&
          strcmp(vocab_ngram(v, 1), "a") == 0 && strcmp(vocab_ngram(v, 2), "b") == 0,
          "tie order c a b");
    CHECK(vocab_count(v, 0) == 3 && vocab_df(v, 0) == 2, "c counted 3 in 2 docs");
    vocab_free(v);

    const char *e1[] = {"x", "x", "y"};
    const char *e2[] = {"y"};
    v = vocab_new(1);
    vocab_add_doc(v, e1, 3);
    vocab_add_doc(v, e2, 1);
    vocab_finish(v, 1, 1);
    /* x: 2 1, y: 2 2 -> y first (df), and max_size 1 keeps only y */
    CHECK(vocab_size(v) == 1 && strcmp(vocab_ngram(v, 0), "y") == 0, "df breaks count ties");
    vocab_free(v);

    /* Byte order: "B" < "a" < "\xc3\xa9"; prefixes of 16+ equal bytes. */
    const char *f1[] = {"\xc3\xa9", "a", "B", "0123456789abcdefZ", "0123456789abcdefA",
                        "0123456789abcdef"};
    v = vocab_new(1);
    vocab_add_doc(v, f1, 6);
    vocab_finish(v, 1, 0);
    const char *want[] = {"0123456789abcdef", "0123456789abcdefA", "0123456789abcdefZ", "B", "a",
                          "\xc3\xa9"};
    for (size_t i = 0; i < 6; i++)
        CHECK(strcmp(vocab_ngram(v, i), want[i]) == 0, "byte order %zu: '%s' want '%s'", i,
              vocab_ngram(v, i), want[i]);
    vocab_free(v);
}

static void test_bad_tokens(void)
{
    imdb_err e = {0, ""};
    const char *sp[] = {"ok", "a b"};
    vocab *v = vocab_new(2);
    vocab_add_doc(v, sp, 2);
    CHECK(vocab_status(v, &e) < 0 && e.status == IMDB_EXIT_DATA &&
          strstr(e.msg, "token 'a b' contains whitespace"), "space in a token: %s", e.msg);
    vocab_finish(v, 1, 0);
    char path[300];
    snprintf(path, sizeof path, "%s/never.vocab", dir);
    outfile *o = outfile_open(path, 0, &e);
    CHECK(o && vocab_write(v, o, &e) < 0 && strstr(e.msg, "whitespace"), "write after an error");
    outfile_abort(o);
    vocab *w = vocab_new(2);
    CHECK(vocab_merge(w, v, &e) < 0 && strstr(e.msg, "whitespace"), "merge of a failed vocab");
    vocab_free(w);
    vocab_free(v);

    const char *tab[] = {"a\tb"};
    const char *empty[] = {"a", ""};
    v = vocab_new(1);
    vocab_add_doc(v, tab, 1);
    CHECK(vocab_status(v, &e) < 0, "TAB in a token");
    vocab_free(v);
    v = vocab_new(1);
    vocab_add_doc(v, empty, 2);
    CHECK(vocab_status(v, &e) < 0 && strstr(e.msg, "empty token"), "empty token: %s", e.msg);
    vocab_free(v);
}

static void test_merge_mismatch(void)
{
    imdb_err e = {0, ""};
    vocab *a = vocab_new(2), *b = vocab_new(3);
    CHECK(vocab_merge(a, b, &e) < 0 && e.status == IMDB_EXIT_DATA, "merge of 2- and 3-grams");
    vocab_free(b);
    b = vocab_new(2);
    vocab_set_clean(a, "html=1");
    CHECK(vocab_merge(a, b, &e) < 0 && e.status == IMDB_EXIT_DATA &&
          strstr(e.msg, "cleaned differently"), "merge of different cleaning: %s", e.msg);
    vocab_set_clean(b, "html=1");
    CHECK(vocab_merge(a, b, &e) == 0, "same cleaning: %s", e.msg);
    CHECK(strcmp(vocab_clean(a), "html=1") == 0, "clean kept");
    vocab_set_clean(a, NULL);
    CHECK(vocab_clean(a) == NULL, "clean cleared");
    vocab_free(a);
    vocab_free(b);
}


static void write_vocab(const vocab *v, const char *path)
{
    imdb_err e = {0, ""};
    outfile *o = outfile_open(path, -1, &e);
    if (!o || vocab_write(v, o, &e) < 0 || outfile_commit(o, &e) < 0) {
        if (o) outfile_abort(o);
        printf("FAIL write %s: %s\n", path, e.msg);
        failures++;
    }
}

static void test_round_trip(void)
{
    corpus c = make_corpus(300, 40, 200);
    vocab *v = vocab_new(3);
    count_range(v, &c, 0, c.ndocs);
    vocab_set_clean(v, "html=1 nfkc=1 casefold=1 pattern=[#a-z]+");
    vocab_finish(v, 1, 0);
    char p1[300], p2[300], p3[300];
    snprintf(p1, sizeof p1, "%s/a.vocab", dir);
    snprintf(p2, sizeof p2, "%s/b.vocab.gz", dir);
    snprintf(p3, sizeof p3, "%s/c.vocab", dir);
    write_vocab(v, p1);
    imdb_err e = {0, ""};
    vocab *w = vocab_read(p1, &e);
    CHECK(w != NULL, "read back: %s", e.msg);
    if (w) {
        CHECK(vocab_maxn(w) == 3 && vocab_clean(w) &&
              strcmp(vocab_clean(w), "html=1 nfkc=1 casefold=1 pattern=[#a-z]+") == 0,
              "header read back");
        write_vocab(w, p2);      /* gzip */
        vocab *x = vocab_read(p2, &e);
        CHECK(x != NULL, "read back gzip: %s", e.msg);
        if (x) {
            write_vocab(x, p3);
            size_t n1, n3;
            char *b1 = test_slurp(p1, &n1), *b3 = test_slurp(p3, &n3);
            CHECK(b1 && b3 && n1 == n3 && memcmp(b1, b3, n1) == 0, "save, load, save differs");
            free(b1);
            free(b3);
            vocab_free(x);
        }
        vocab_free(w);
    }
    /* Without #clean, and an empty vocabulary. */
    vocab *z = vocab_new(1);
    vocab_finish(z, 1, 0);
    write_vocab(z, p1);
    size_t n;
    char *b = test_slurp(p1, &n);
    CHECK(b && n == strlen("#imdb-vocab 1 ngrams=1 docs=0 tokens=0\n") &&
          memcmp(b, "#imdb-vocab 1 ngrams=1 docs=0 tokens=0\n", n) == 0, "empty vocabulary file");
    free(b);
    vocab_free(z);
    z = vocab_read(p1, &e);
    CHECK(z && vocab_size(z) == 0 && vocab_clean(z) == NULL, "read empty vocabulary: %s", e.msg);
    vocab_free(z);
    vocab_free(v);
    free_corpus(&c);
}

/* vocab_read of text fails with status and a message containing want ("%s" = path). */
static void bad_file(const char *text, int status, const char *want)
{
    char path[300], msg[600];
    snprintf(path, sizeof path, "%s/bad.vocab", dir);
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    snprintf(msg, sizeof msg, want, path);
    imdb_err e = {0, ""};
    vocab *v = vocab_read(path, &e);
    if (v || e.status != status || !strstr(e.msg, msg)) {
        printf("FAIL malformed file %s: got %s status %d '%s', want status %d '%s'\n",
               text, v ? "success" : "failure", e.status, e.msg, status, msg);
        failures++;
    }
    vocab_free(v);
}

static void test_malformed(void)
{
#define H "#imdb-vocab 1 ngrams=2 docs=5 tokens=9\n"
    bad_file("", IMDB_EXIT_DATA, "%s: empty file");
    bad_file("the\t1\t1\n", IMDB_EXIT_DATA, "%s:1: not an imdb vocabulary");
    bad_file("#imdb-vocab 2 ngrams=2 docs=5 tokens=9\n", IMDB_EXIT_DATA,
             "%s:1: vocabulary format version 2 is newer than this program's 1");
    bad_file("#imdb-vocab 1 ngrams=2 docs=5\n", IMDB_EXIT_DATA, "%s:1: header lacks 'tokens='");
    bad_file("#imdb-vocab 1 ngrams=2 docs=5 tokens=9 x=1\n", IMDB_EXIT_DATA,
             "%s:1: unknown header field 'x=1'");
    bad_file("#imdb-vocab 1 ngrams=2 docs=5 docs=5 tokens=9\n", IMDB_EXIT_DATA,
             "%s:1: repeated header field");
    bad_file("#imdb-vocab 1 ngrams=10 docs=5 tokens=9\n", IMDB_EXIT_DATA, "%s:1: ngrams=10 is out of range");
    bad_file("#imdb-vocab 1 ngrams=-1 docs=5 tokens=9\n", IMDB_EXIT_DATA, "%s:1: malformed header field");
    bad_file(H "a\t2\t1\nb\t1\n", IMDB_EXIT_DATA, "%s:3: malformed line");
    bad_file(H "a\t2\t1\nb\t1\t1\t1\n", IMDB_EXIT_DATA, "%s:3: malformed line");
    bad_file(H "a\tx\t1\n", IMDB_EXIT_DATA, "%s:2: bad count 'x'");
    bad_file(H "a\t0\t0\n", IMDB_EXIT_DATA, "%s:2: bad count '0'");
    bad_file(H "a\t-1\t1\n", IMDB_EXIT_DATA, "%s:2: bad count");
    bad_file(H "a\t99999999999999999999\t1\n", IMDB_EXIT_DATA, "%s:2: bad count");
    bad_file(H "a\t1\t2\n", IMDB_EXIT_DATA, "%s:2: document frequency 2 exceeds count 1");
    bad_file(H "a\t9\t6\n", IMDB_EXIT_DATA, "%s:2: document frequency 6 exceeds docs=5");
    bad_file(H "a\t2\t\n", IMDB_EXIT_DATA, "%s:2: bad document frequency");
    bad_file(H "a b c\t1\t1\n", IMDB_EXIT_DATA, "%s:2: 3-gram in a vocabulary of ngrams=2");
    bad_file(H "a  b\t1\t1\n", IMDB_EXIT_DATA, "%s:2: n-gram has an empty token");
    bad_file(H " a\t1\t1\n", IMDB_EXIT_DATA, "%s:2: n-gram has an empty token");
    bad_file(H "\t1\t1\n", IMDB_EXIT_DATA, "%s:2: empty n-gram");
    bad_file(H "a b\t2\t1\nb\t1\t1\na b\t1\t1\n", IMDB_EXIT_DATA, "%s:4: duplicate n-gram 'a b'");
#undef H
    char path[300];
    snprintf(path, sizeof path, "%s/does-not-exist.vocab", dir);
    imdb_err e = {0, ""};
    CHECK(vocab_read(path, &e) == NULL && e.status == IMDB_EXIT_IO, "missing file: %d %s", e.status,
          e.msg);

    /* Unsorted but valid input is accepted and sorted; '#' n-grams past line 2 are data. */
    snprintf(path, sizeof path, "%s/unsorted.vocab", dir);
    FILE *f = fopen(path, "w");
    fputs("#imdb-vocab 1 ngrams=2 docs=3 tokens=4\n#x\t1\t1\nb\t1\t1\na\t2\t2\n#clean y\t1\t1\n", f);
    fclose(f);
    vocab *v = vocab_read(path, &e);
    CHECK(v && vocab_size(v) == 4 && strcmp(vocab_ngram(v, 0), "a") == 0 &&
          strcmp(vocab_ngram(v, 1), "#clean y") == 0 && strcmp(vocab_ngram(v, 2), "#x") == 0 &&
          vocab_clean(v) == NULL, "unsorted file: %s", v ? "wrong order" : e.msg);
    vocab_free(v);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

/* vocab_read_merge: adding files equals merging in memory; per-file duplicates, order
 * and cleaning mismatches are refused; info describes the file. */
static void test_read_merge(void)
{
    corpus c = make_corpus(400, 30, 300);
    vocab *a = vocab_new(3), *b = vocab_new(3), *whole = vocab_new(3);
    count_range(a, &c, 0, 250);
    count_range(b, &c, 250, 400);
    count_range(whole, &c, 0, 400);
    vocab_set_clean(a, "x=1");
    vocab_set_clean(b, "x=1");
    vocab_set_clean(whole, "x=1");
    vocab_finish(a, 1, 0);
    vocab_finish(b, 1, 0);
    vocab_finish(whole, 1, 0);
    char pb[300], pw[300], pm[300];
    snprintf(pb, sizeof pb, "%s/b.vocab.gz", dir);
    snprintf(pw, sizeof pw, "%s/whole.vocab", dir);
    snprintf(pm, sizeof pm, "%s/merged.vocab", dir);
    write_vocab(b, pb);
    write_vocab(whole, pw);
    imdb_err e = {0, ""};
    vocab_info info;
    CHECK(vocab_read_merge(a, pb, &info, &e) == 0, "read_merge: %s", e.msg);
    CHECK(info.docs == 150 && info.entries == vocab_size(b) && info.tokens == vocab_tokens(b) &&
          info.unigrams == vocab_tokens(b), "info: docs %llu entries %zu tokens %llu unigrams %llu",
          (unsigned long long)info.docs, info.entries, (unsigned long long)info.tokens,
          (unsigned long long)info.unigrams);
    vocab_finish(a, 1, 0);
    write_vocab(a, pm);
    size_t n1, n2;
    char *b1 = test_slurp(pw, &n1), *b2 = test_slurp(pm, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "read_merge differs from counting the whole");
    free(b1);
    free(b2);
    /* Counting continues correctly after a read_merge (df bookkeeping was reset). */
    const char *more[] = {"zz", "zz"};
    vocab_add_doc(a, more, 2);
    vocab_add_doc(a, more, 1);
    vocab_finish(a, 1, 0);
    int found = 0;
    for (size_t i = 0; i < vocab_size(a); i++)
        if (strcmp(vocab_ngram(a, i), "zz") == 0) found = vocab_count(a, i) == 3 && vocab_df(a, i) == 2;
    CHECK(found, "counting after read_merge");

    /* Mismatches and duplicates. */
    char p[300];
    snprintf(p, sizeof p, "%s/m.vocab", dir);
    vocab *v = vocab_new(1);
    const char *d[] = {"a", "b"};
    vocab_add_doc(v, d, 2);
    write_text(p, "#imdb-vocab 1 ngrams=2 docs=1 tokens=1\na\t1\t1\n");
    CHECK(vocab_read_merge(v, p, NULL, &e) < 0 && strstr(e.msg, "ngrams=2, but the vocabularies merged so far have ngrams=1"),
          "maxn mismatch: %s", e.msg);
    write_text(p, "#imdb-vocab 1 ngrams=1 docs=1 tokens=1\n#clean y\na\t1\t1\n");
    CHECK(vocab_read_merge(v, p, NULL, &e) < 0 && strstr(e.msg, "cleaned with other settings (y)"),
          "clean mismatch: %s", e.msg);
    write_text(p, "#imdb-vocab 1 ngrams=1 docs=2 tokens=2\na\t1\t1\nb\t1\t1\na\t1\t1\n");
    CHECK(vocab_read_merge(v, p, NULL, &e) < 0 && strstr(e.msg, ":4: duplicate n-gram 'a'"),
          "duplicate in a merged file: %s", e.msg);
    vocab_free(v);
    v = vocab_new(1);
    vocab_add_doc(v, d, 2);
    write_text(p, "#imdb-vocab 1 ngrams=1 docs=3 tokens=5\na\t3\t2\nc\t1\t1\n");
    CHECK(vocab_read_merge(v, p, &info, &e) == 0, "merge: %s", e.msg);
    CHECK(info.unigrams == 4 && info.tokens == 5, "pruned file: unigrams %llu",
          (unsigned long long)info.unigrams);
    vocab_finish(v, 1, 0);
    CHECK(vocab_size(v) == 3 && strcmp(vocab_ngram(v, 0), "a") == 0 && vocab_count(v, 0) == 4 &&
          vocab_df(v, 0) == 3 && vocab_docs(v) == 4 && vocab_tokens(v) == 7, "merged sums");
    vocab_set_clean(v, "z");
    write_text(p, "#imdb-vocab 1 ngrams=1 docs=0 tokens=0\n");
    CHECK(vocab_read_merge(v, p, NULL, &e) < 0 && strstr(e.msg, "(none recorded)"),
          "a file without #clean into one with: %s", e.msg);
    vocab_free(v);

    vocab_free(a);
    vocab_free(b);
    vocab_free(whole);
    free_corpus(&c);
}

/* Enough distinct n-grams to grow the table several times. */
static void test_large(void)
{
    test_against_oracle(3000, 60, 20000, 3);
}


/* ---- bounded memory: spill runs and --memory ---- */

/* A run of nent entries "w<i>" (ascending), counts i + 1, written to path. */
static void write_run(const char *path, size_t nent)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    spill_writer *w = spill_create_fd(fd, path, SPILL_BY_TEXT, 3);
    imdb_err e = {0, ""};
    for (size_t i = 0; i < nent; i++) {
        char t[32];
        int n = snprintf(t, sizeof t, "w%06zu x", i);
        spill_entry en = {t, (size_t)n, i + 1, i / 2 + 1, 0, 0};
        CHECK(spill_put(w, &en, &e) == 0, "spill_put: %s", e.msg);
    }
    spill_run *r = spill_finish(w, &e);
    CHECK(r && spill_run_entries(r) == nent, "spill_finish: %s", e.msg);
    spill_run_free(r);
}

/* Read the run at path: the number of entries, or -1 with e filled. */
static long read_run_names(const char *path, int order, int names, imdb_err *e)
{
    int fd = open(path, O_RDONLY);
    spill_run *r = spill_run_fd(fd, path);
    spill_reader *rd = spill_open(r, order, 3, e);
    long n = -1;
    if (rd) {
        spill_entry en;
        int got;
        n = 0;
        while ((got = spill_next(rd, &en, e)) > 0) {
            char t[32];
            int k = snprintf(t, sizeof t, "w%06ld x", n);
            if (names && ((size_t)k != en.len || memcmp(t, en.text, en.len) != 0 ||
                          en.count != (uint64_t)n + 1)) {
                printf("FAIL run entry %ld is '%.*s' %llu\n", n, (int)en.len, en.text,
                       (unsigned long long)en.count);
                failures++;
                break;
            }
            n++;
        }
        if (got < 0) n = -1;
    }
    spill_close(rd);
    spill_run_free(r);
    return n;
}

static long read_run(const char *path, int order, imdb_err *e)
{
    return read_run_names(path, order, 1, e);
}

static void put_file(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        printf("FAIL writing %s\n", path);
        failures++;
    }
}

static void test_spill_runs(void)
{
    char path[300], bad[300];
    snprintf(path, sizeof path, "%s/run", dir);
    snprintf(bad, sizeof bad, "%s/bad-run", dir);
    imdb_err e = {0, ""};
    /* Several blocks (32 KiB each), and an empty run. */
    write_run(path, 9000);
    CHECK(read_run(path, SPILL_BY_TEXT, &e) == 9000, "run read back: %s", e.msg);
    CHECK(read_run(path, SPILL_BY_RANK, &e) < 0 && strstr(e.msg, "order 1"), "order checked: %s", e.msg);
    size_t n;
    char *b = test_slurp(path, &n);
    CHECK(b && n > 3 * SPILL_BLOCK, "run size %zu", n);
    if (!b) return;
    /* Truncated anywhere (every 7th length, and the last bytes) is refused, never short. */
    int ok = 1;
    for (size_t len = 0; len < n && ok; len += len < 64 || len + 64 > n ? 1 : 61) {
        put_file(bad, b, len);
        if (read_run(bad, SPILL_BY_TEXT, &e) >= 0 || e.status != IMDB_EXIT_IO) ok = 0;
        if (!ok) printf("FAIL truncated to %zu bytes: read %s\n", len, e.msg);
    }
    CHECK(ok, "a truncated run was read");
    /* Any one byte changed is refused (header, block lengths, payload, CRCs, end). */
    ok = 1;
    for (size_t i = 0; i < n && ok; i += i < 64 || i + 64 > n ? 1 : 211) {
        b[i] ^= 0x20;
        put_file(bad, b, n);
        b[i] ^= 0x20;
        if (read_run(bad, SPILL_BY_TEXT, &e) >= 0) ok = 0;
        if (!ok) printf("FAIL byte %zu changed: read\n", i);
    }
    CHECK(ok, "a damaged run was read");
    b[50] ^= 1;
    put_file(bad, b, n);
    b[50] ^= 1;
    CHECK(read_run(bad, SPILL_BY_TEXT, &e) < 0 && strstr(e.msg, "damaged: bad block CRC"),
          "message for a bad CRC: %s", e.msg);
    put_file(bad, b, n - 3);
    CHECK(read_run(bad, SPILL_BY_TEXT, &e) < 0 && strstr(e.msg, "damaged") && strstr(e.msg, "truncated"),
          "message for a truncated run: %s", e.msg);
    /* Another version, with a valid header CRC. */
    unsigned char *h = (unsigned char *)b;
    put_u32le(h + 8, SPILL_VERSION + 1);
    put_u32le(h + 28, (uint32_t)crc32(0, h, 28));
    put_file(bad, b, n);
    CHECK(read_run(bad, SPILL_BY_TEXT, &e) < 0 && strstr(e.msg, "format version 2 is not this program's 1"),
          "message for another version: %s", e.msg);
    free(b);
    /* Entries out of order (the writer does not check; the reader does). */
    int fd = open(bad, O_RDWR | O_CREAT | O_TRUNC, 0600);
    spill_writer *w = spill_create_fd(fd, bad, SPILL_BY_TEXT, 3);
    spill_entry e1 = {"b", 1, 1, 1, 0, 0}, e2 = {"a", 1, 1, 1, 0, 0};
    spill_put(w, &e1, &e);
    spill_put(w, &e2, &e);
    spill_run_free(spill_finish(w, &e));
    CHECK(read_run_names(bad, SPILL_BY_TEXT, 0, &e) < 0 && strstr(e.msg, "out of order"),
          "order: %s", e.msg);
    /* A full disk: the writer fails with IMDB_EXIT_IO. */
    fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        w = spill_create_fd(fd, "/dev/full", SPILL_BY_TEXT, 3);
        int failed = 0;
        for (int i = 0; i < 10000 && !failed; i++) {
            char t[16];
            int k = snprintf(t, sizeof t, "w%05d", i);
            spill_entry en = {t, (size_t)k, 1, 1, 0, 0};
            failed = spill_put(w, &en, &e) < 0;
        }
        if (!failed) failed = spill_finish(w, &e) == NULL;
        else spill_abort(w);
        CHECK(failed && e.status == IMDB_EXIT_IO && strstr(e.msg, "No space left"), "/dev/full: %s", e.msg);
    }
}

/* Counting with a budget gives the bytes of counting without, and stays in the budget. */
static void test_memory_budget(void)
{
    imdb_err e = {0, ""};
    vocab *v = vocab_new(3);
    CHECK(vocab_set_memory(v, vocab_memory_min() - 1, dir, &e) < 0 && e.status == IMDB_EXIT_USAGE &&
          strstr(e.msg, "needs at least"), "too small a budget: %s", e.msg);
    vocab_free(v);
    corpus c = make_corpus(2000, 40, 3000);
    struct { uint64_t mc, md; size_t ms; } cases[] = {{1, 1, 0}, {2, 1, 0}, {1, 2, 50}, {3, 2, 400}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char p1[300], p2[300];
        snprintf(p1, sizeof p1, "%s/mem-want", dir);
        snprintf(p2, sizeof p2, "%s/mem-got", dir);
        vocab *a = vocab_new(3), *b = vocab_new(3);
        size_t budget = vocab_memory_min() + (64 << 10);
        CHECK(vocab_set_memory(b, budget, dir, &e) == 0, "budget: %s", e.msg);
        vocab_set_clean(a, "x=1");
        vocab_set_clean(b, "x=1");
        size_t peak = 0;
        for (size_t d = 0; d < c.ndocs; d++) {
            vocab_add_doc(a, (const char *const *)c.toks[d], c.ntok[d]);
            vocab_add_doc(b, (const char *const *)c.toks[d], c.ntok[d]);
            if (vocab_memory(b) > peak) peak = vocab_memory(b);
        }
        CHECK(peak <= budget, "table of %zu bytes in a budget of %zu", peak, budget);
        outfile *o1 = outfile_open(p1, 0, &e), *o2 = outfile_open(p2, 0, &e);
        vocab_stats st;
        CHECK(vocab_finish_write(a, cases[k].mc, cases[k].md, cases[k].ms, o1, NULL, &e) == 0 &&
              outfile_commit(o1, &e) == 0, "in memory: %s", e.msg);
        CHECK(vocab_finish_write(b, cases[k].mc, cases[k].md, cases[k].ms, o2, &st, &e) == 0 &&
              outfile_commit(o2, &e) == 0, "bounded: %s", e.msg);
        CHECK(st.spills > FANIN_TEST, "only %llu spills", (unsigned long long)st.spills);
        size_t n1, n2;
        char *b1 = test_slurp(p1, &n1), *b2 = test_slurp(p2, &n2);
        CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0,
              "case %zu: bounded count differs from the in-memory one (%zu and %zu bytes)", k, n1, n2);
        free(b1);
        free(b2);
        vocab_free(a);
        vocab_free(b);
    }
    free_corpus(&c);
}

int main(void)
{
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_ties();
    test_against_oracle(200, 12, 12, 3);
    test_against_oracle(100, 30, 50, 1);
    test_against_oracle(150, 25, 30, 5);
    test_bad_tokens();
    test_merge_mismatch();
    test_round_trip();
    test_malformed();
    test_read_merge();
    test_large();
    test_spill_runs();
    test_memory_budget();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", dir);
    return test_status("unit_vocab");
}
