/* unit_embfile.c — word2vec vector files: text and binary round trips (write, read, write
 * gives the same bytes), gzip, GloVe-style headerless text, lookup and nearest neighbours,
 * and every way a file can be broken (bad header, short or long rows, bad numbers, row
 * counts that disagree with the header, a header announcing more than the file holds,
 * truncated binary data, the wrong dimension). */
#include "embfile.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static char dir[] = "/tmp/unit_embfile.XXXXXX";

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) { printf("FAIL: cannot write %s\n", path); exit(1); }
    fclose(f);
}


/* Reading text (as a file named name) must fail with status and a message containing what. */
static void expect_fail(const char *name, const void *text, size_t n, int want_dim, int status, const char *what)
{
    const char *p = path_of(name);
    spit(p, text, n);
    imdb_err e = { 0 };
    embfile *f = embfile_read(p, want_dim, &e);
    CHECK(!f, "%s: read, expected failure '%s'", name, what);
    if (f) { embfile_free(f); return; }
    CHECK(e.status == status && strstr(e.msg, what), "%s: got status %d '%s', expected %d '%s'", name,
          e.status, e.msg, status, what);
}
#define EXPECT_FAIL(name, text, dim, status, what) expect_fail(name, text, sizeof text - 1, dim, status, what)

static const char *const words[] = { "the", "movie", "great", "boring", "</s>" };
enum { N = 5, D = 4 };

static embfile *read_ok(const char *p, int want_dim)
{
    imdb_err e = { 0 };
    embfile *f = embfile_read(p, want_dim, &e);
    if (!f) { printf("FAIL: %s: %s\n", p, e.msg); exit(1); }
    return f;
}

/* f holds words/vecs, each value within tol. */
static void check_same(const char *what, const embfile *f, const float *vecs, double tol)
{
    CHECK(embfile_count(f) == N && embfile_dim(f) == D, "%s: %zu x %d, expected %d x %d", what,
          embfile_count(f), embfile_dim(f), N, D);
    double worst = 0;
    for (size_t i = 0; i < N && i < embfile_count(f); i++) {
        CHECK(strcmp(embfile_word(f, i), words[i]) == 0, "%s: word %zu is '%s'", what, i, embfile_word(f, i));
        const float *v = embfile_lookup(f, words[i]);
        CHECK(v == embfile_vector(f, i), "%s: lookup of '%s'", what, words[i]);
        for (int j = 0; v && j < D; j++) worst = fmax(worst, fabs((double)v[j] - vecs[i * D + j]));
    }
    printf("%s: worst difference %.3g (tolerance %.3g)\n", what, worst, tol);
    CHECK(worst <= tol, "%s: worst difference %.3g > %.3g", what, worst, tol);
    CHECK(!embfile_lookup(f, "absent") && !embfile_lookup(f, "th"), "%s: lookup of a missing word", what);
}

/* write -> read -> write gives the same bytes; returns the file read. */
static embfile *round_trip(const char *name, const float *vecs, int binary, double tol)
{
    imdb_err e = { 0 };
    const char *p1 = path_of(name);
    char name2[64];
    snprintf(name2, sizeof name2, "again-%s", name);
    const char *p2 = path_of(name2);
    if (embfile_write(p1, N, D, words, vecs, binary, &e) < 0) { printf("FAIL: write %s: %s\n", name, e.msg); exit(1); }
    embfile *f = read_ok(p1, 0);
    check_same(name, f, vecs, tol);
    const char *w2[N];
    for (size_t i = 0; i < N; i++) w2[i] = embfile_word(f, i);
    float v2[N * D];
    for (size_t i = 0; i < N; i++) memcpy(v2 + i * D, embfile_vector(f, i), sizeof(float) * D);
    if (embfile_write(p2, N, D, w2, v2, binary, &e) < 0) { printf("FAIL: rewrite %s: %s\n", name, e.msg); exit(1); }
    size_t n1, n2;
    char *b1 = test_slurp(p1, &n1), *b2 = test_slurp(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "%s: rewrite differs", name);
    free(b1);
    free(b2);
    return f;
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    float vecs[N * D];
    for (int i = 0; i < N * D; i++) vecs[i] = (float)sin(i * 1.7) * (i % 3 ? 1.0f : 0.01f);
    vecs[2 * D] = -0.0f;   /* negative zero and tiny values survive */
    vecs[3 * D + 1] = 1e-7f;

    embfile *t = round_trip("v.txt", vecs, 0, 5e-7);
    embfile *b = round_trip("v.bin", vecs, 1, 0);
    embfile *g = round_trip("v.txt.gz", vecs, 0, 5e-7);
    embfile_free(t);
    embfile_free(g);

    /* Binary with no newline after each vector (some writers) and with CRLF text. */
    {
        size_t n;
        char *raw = test_slurp(path_of("v.bin"), &n), *cut = malloc(n);
        size_t k = 0, hdr = (size_t)(strchr(raw, '\n') - raw) + 1;
        memcpy(cut, raw, hdr);
        k = hdr;
        for (size_t i = hdr; i < n;) {           /* copy "word " + 16 bytes, drop the '\n' */
            size_t w = (size_t)(memchr(raw + i, ' ', n - i) - (void *)(raw + i)) + 1;
            memcpy(cut + k, raw + i, w + 4 * D);
            k += w + 4 * D;
            i += w + 4 * D + 1;
        }
        spit(path_of("nonl.bin"), cut, k);
        embfile *f = read_ok(path_of("nonl.bin"), D);
        check_same("binary without newlines", f, vecs, 0);
        embfile_free(f);
        free(raw);
        free(cut);
        const char crlf[] = "2 2\r\na 1 2 \r\nb 3.5 -4e-1\r\n";
        spit(path_of("crlf.txt"), crlf, sizeof crlf - 1);
        f = read_ok(path_of("crlf.txt"), 0);
        const float *v = embfile_lookup(f, "b");
        CHECK(embfile_count(f) == 2 && v && v[0] == 3.5f && v[1] == -0.4f, "CRLF text");
        embfile_free(f);
    }

    /* Headerless text (GloVe), blank lines skipped. */
    {
        const char glove[] = "king 0.5 0.25 1\nqueen 0.5 0.5 1\n\nman 1 0 0\n";
        spit(path_of("glove.txt"), glove, sizeof glove - 1);
        embfile *f = read_ok(path_of("glove.txt"), 3);
        CHECK(embfile_count(f) == 3 && embfile_dim(f) == 3, "glove: %zu x %d", embfile_count(f), embfile_dim(f));
        const float *v = embfile_lookup(f, "man");
        CHECK(v && v[0] == 1 && v[2] == 0, "glove: man");
        embfile_free(f);
    }

    /* Nearest neighbours: cosine, the word itself left out. */
    {
        const char near[] = "4 2\na 1 0\nb 0.9 0.1\nc -1 0\nd 0 1\n";
        spit(path_of("near.txt"), near, sizeof near - 1);
        embfile *f = read_ok(path_of("near.txt"), 2);
        size_t idx[3];
        float sim[3];
        int k = embfile_nearest(f, "a", 3, idx, sim);
        CHECK(k == 3 && idx[0] == 1 && idx[1] == 3 && idx[2] == 2, "nearest of a: %d: %zu %zu %zu", k, idx[0],
              idx[1], idx[2]);
        CHECK(fabsf(sim[2] + 1) < 1e-6f && fabsf(sim[1]) < 1e-6f, "nearest: similarities %g %g", sim[1], sim[2]);
        CHECK(embfile_nearest(f, "zz", 3, idx, sim) == -1, "nearest of a missing word");
        embfile_free(f);
    }

    /* Broken files. */
    EXPECT_FAIL("empty", "", 0, IMDB_EXIT_DATA, ":1: empty file");
    EXPECT_FAIL("hdr1", "hello\n", 0, IMDB_EXIT_DATA, ":1: expected a header 'COUNT DIM'");
    EXPECT_FAIL("hdr2", "2 x\n", 0, IMDB_EXIT_DATA, ":1: expected a header");
    EXPECT_FAIL("hdr3", "-2 3\n", 0, IMDB_EXIT_DATA, ":1: expected a header");
    EXPECT_FAIL("hdr4", "word x y\n", 0, IMDB_EXIT_DATA, ":1: expected a header 'COUNT DIM' or a row");
    EXPECT_FAIL("dim0", "1 0\na\n", 0, IMDB_EXIT_DATA, ":1: dimension 0 is not between 1 and");
    EXPECT_FAIL("short", "2 3\na 1 2 3\nb 1 2\n", 0, IMDB_EXIT_DATA, ":3: 2 numbers after the word 'b', expected 3");
    EXPECT_FAIL("long", "2 2\na 1 2\nb 1 2 3\n", 0, IMDB_EXIT_DATA, ":3: 3 numbers after the word 'b', expected 2");
    EXPECT_FAIL("nan", "1 2\na 1 nan\n", 0, IMDB_EXIT_DATA, ":2: 'nan' is not a finite number");
    EXPECT_FAIL("big", "1 2\na 1 1e99\n", 0, IMDB_EXIT_DATA, ":2: '1e99' is not a finite number");
    EXPECT_FAIL("junk", "1 2\na 1 2x\n", 0, IMDB_EXIT_DATA, ":2: '2x' is not a finite number");
    EXPECT_FAIL("fewer", "3 2\na 1.5 2.5\nb 3.5 4.5\n", 0, IMDB_EXIT_DATA, "2 rows, but the header announces 3");
    EXPECT_FAIL("more", "1 2\na 1 2\nb 3 4\n", 0, IMDB_EXIT_DATA, ":3: more rows than the 1 the header announces");
    EXPECT_FAIL("huge", "100000000000 300\na 1\n", 0, IMDB_EXIT_DATA, ":1: the header announces 100000000000 words");
    EXPECT_FAIL("wrongdim", "1 2\na 1 2\n", 3, IMDB_EXIT_DATA, ":1: the vectors have dimension 2, expected 3");
    EXPECT_FAIL("glovedim", "a 1 2\n", 3, IMDB_EXIT_DATA, ":1: the vectors have dimension 2, expected 3");
    EXPECT_FAIL("gloveshort", "a 1 2\nb 1\n", 0, IMDB_EXIT_DATA, ":2: 1 numbers after the word 'b', expected 2");
    {
        size_t n;
        char *raw = test_slurp(path_of("v.bin"), &n);
        expect_fail("trunc.bin", raw, n - 3, 0, IMDB_EXIT_DATA, "word 5: unexpected end of file in its vector");
        expect_fail("trunc2.bin", raw, n - 4 * D - 2, 0, IMDB_EXIT_DATA, "word 5: unexpected end of file");
        char *extra = malloc(n + 8);
        memcpy(extra, raw, n);
        memcpy(extra + n, "more 1 2", 8);
        expect_fail("extra.bin", extra, n + 8, 0, IMDB_EXIT_DATA, "more data after the 5 words");
        /* A NaN in the binary data. */
        char *nanb = malloc(n);
        memcpy(nanb, raw, n);
        size_t at = (size_t)(strchr(nanb, '\n') - nanb) + 1 + strlen("the ");
        memcpy(nanb + at, "\x00\x00\xc0\x7f", 4);
        expect_fail("nan.bin", nanb, n, 0, IMDB_EXIT_DATA, "word 1: component 1 is not a finite number");
        expect_fail("wrongdim.bin", raw, n, 5, IMDB_EXIT_DATA, "dimension 4, expected 5");
        free(raw);
        free(extra);
        free(nanb);
    }
    {
        imdb_err e = { 0 };
        CHECK(!embfile_read(path_of("missing"), 0, &e) && e.status == IMDB_EXIT_IO, "missing file: %d %s",
              e.status, e.msg);
        const char *bad[] = { "ok", "two words" };
        float v[2] = { 0, 0 };
        CHECK(embfile_write(path_of("bad.txt"), 2, 1, bad, v, 0, &e) < 0 && e.status == IMDB_EXIT_DATA &&
              access(path_of("bad.txt"), F_OK) != 0, "a word with a space is refused");
    }
    embfile_free(b);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("warning: cannot remove %s\n", dir);
    return test_status("unit_embfile");
}
