/* unit_api.c — the public C API (lib/api/imdb.h) on bad and odd inputs, through the
 * shared library: every refused NULL, k out of range, invalid UTF-8, NUL bytes, a 10 MB
 * text, the empty text, truncated / foreign / all-zero / empty / missing model files, a
 * model replaced by rename while open, open_mem from aligned and unaligned buffers,
 * verify, info, explain of a kind that cannot, batches on 1, 2 and 0 threads.
 *
 * Usage: unit_api NBLR_MODEL MLP_MODEL SCRATCH_DIR (tests/libimdb-api.sh trains the two
 * models on the fixtures). Each failed check prints "FAIL: ..."; the exit status is 1 if
 * any did. */
#include "imdb.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A call that must fail with status want and a message (mentioning what, if not NULL). */
static void expect(imdb_status got, const imdb_error *e, imdb_status want, const char *what, const char *call)
{
    CHECK(got == want, "%s: status %d (%s), expected %d", call, got, imdb_status_string(got), want);
    CHECK(e->status == got, "%s: err.status %d, returned %d", call, e->status, got);
    CHECK(e->message[0] != '\0', "%s: empty message", call);
    CHECK(!strchr(e->message, '\n'), "%s: message holds a newline: %s", call, e->message);
    if (what) CHECK(strstr(e->message, what) != NULL, "%s: message '%s' does not name '%s'", call, e->message, what);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        printf("FAIL: cannot write %s\n", path);
        exit(1);
    }
}

static double score(const imdb_model *m, const char *text, size_t len)
{
    double p = -1;
    imdb_error e;
    imdb_status st = imdb_score(m, text, len, &p, &e);
    CHECK(st == IMDB_OK, "imdb_score: %s", e.message);
    CHECK(p >= 0 && p <= 1, "imdb_score: %g is not a probability", p);
    return p;
}

static void bad_files(const char *nblr, const char *dir)
{
    imdb_error e;
    imdb_model *m = (imdb_model *)&e;   /* must be reset to NULL on failure */
    char path[4096];
    size_t n;
    char *bytes = test_slurp(nblr, &n);

    snprintf(path, sizeof path, "%s/missing.model", dir);
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_IO, "missing.model", "open missing");
    CHECK(m == NULL, "open missing: *out not NULL");

    snprintf(path, sizeof path, "%s/truncated.model", dir);
    write_file(path, bytes, n / 2);
    m = (imdb_model *)&e;
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "truncated.model", "open truncated");
    CHECK(m == NULL, "open truncated: *out not NULL");
    write_file(path, bytes, 10);
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "truncated.model", "open 10 bytes");
    write_file(path, bytes, n - 1);
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "truncated.model", "open n-1 bytes");

    snprintf(path, sizeof path, "%s/corrupt.model", dir);
    bytes[n / 2] ^= 0x40;
    write_file(path, bytes, n);
    bytes[n / 2] ^= 0x40;
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "corrupt.model", "open corrupt");

    snprintf(path, sizeof path, "%s/foreign.model", dir);
    const char *csv = "label,text\npos,a good film\n";
    write_file(path, csv, strlen(csv));
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "foreign.model", "open foreign");

    snprintf(path, sizeof path, "%s/zeros.model", dir);
    char *zeros = calloc(1, 65536);
    write_file(path, zeros, 65536);
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "zeros.model", "open zeros");

    snprintf(path, sizeof path, "%s/empty.model", dir);
    write_file(path, "", 0);
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "empty.model", "open empty");

    /* A newer format version (offset 8) is refused as DATA, naming the version. */
    snprintf(path, sizeof path, "%s/newer.model", dir);
    bytes[8] = 99;
    write_file(path, bytes, n);
    expect(imdb_model_open(path, &m, &e), &e, IMDB_ERR_DATA, "newer.model", "open newer");
    bytes[8] = 1;

    imdb_status st = imdb_model_open(dir, &m, &e);
    CHECK(st == IMDB_ERR_IO || st == IMDB_ERR_DATA, "open a directory: status %d", st);
    expect(st, &e, st, NULL, "open a directory");

    /* Memory: foreign, zeros, NULL, empty, and the same failures without an imdb_error. */
    expect(imdb_model_open_mem(csv, strlen(csv), "csv", &m, &e), &e, IMDB_ERR_DATA, "csv", "open_mem foreign");
    expect(imdb_model_open_mem(zeros, 65536, NULL, &m, &e), &e, IMDB_ERR_DATA, "<memory>", "open_mem zeros");
    expect(imdb_model_open_mem(bytes, n / 3, "half", &m, &e), &e, IMDB_ERR_DATA, "half", "open_mem truncated");
    expect(imdb_model_open_mem(NULL, 10, "x", &m, &e), &e, IMDB_ERR_USAGE, "data", "open_mem NULL data");
    expect(imdb_model_open_mem(bytes, 0, "nothing", &m, &e), &e, IMDB_ERR_DATA, "nothing", "open_mem size 0");
    expect(imdb_model_open_mem(NULL, 0, "nothing", &m, &e), &e, IMDB_ERR_DATA, "nothing", "open_mem NULL 0");
    CHECK(imdb_model_open_mem(zeros, 65536, NULL, &m, NULL) == IMDB_ERR_DATA, "open_mem zeros, err NULL");
    CHECK(m == NULL, "open_mem failure: *out not NULL");

    /* NULL where refused. */
    expect(imdb_model_open(NULL, &m, &e), &e, IMDB_ERR_USAGE, "path", "open NULL path");
    expect(imdb_model_open(nblr, NULL, &e), &e, IMDB_ERR_USAGE, "out", "open NULL out");
    expect(imdb_model_open_mem(bytes, n, "x", NULL, &e), &e, IMDB_ERR_USAGE, "out", "open_mem NULL out");
    CHECK(imdb_model_open(NULL, NULL, NULL) == IMDB_ERR_USAGE, "open NULL NULL NULL");
    free(zeros);
    free(bytes);
}

static void null_args(const imdb_model *m)
{
    imdb_error e;
    double p = 0.25;
    imdb_model_info info;
    imdb_contrib *c = (imdb_contrib *)&e;
    size_t n = 7;
    expect(imdb_score(NULL, "x", 1, &p, &e), &e, IMDB_ERR_USAGE, "model", "score NULL model");
    expect(imdb_score(m, "x", 1, NULL, &e), &e, IMDB_ERR_USAGE, "prob", "score NULL prob");
    expect(imdb_score(m, NULL, 5, &p, &e), &e, IMDB_ERR_USAGE, "text", "score NULL text, len 5");
    CHECK(p == 0.25, "a failed score changed *prob");
    CHECK(imdb_score(NULL, NULL, 0, NULL, NULL) == IMDB_ERR_USAGE, "score all NULL");
    expect(imdb_explain(NULL, "x", 1, 3, NULL, &c, &n, &e), &e, IMDB_ERR_USAGE, "model", "explain NULL model");
    CHECK(c == NULL && n == 0, "failed explain: out/n not reset");
    expect(imdb_explain(m, "x", 1, 3, NULL, NULL, &n, &e), &e, IMDB_ERR_USAGE, "out", "explain NULL out");
    expect(imdb_explain(m, "x", 1, 3, NULL, &c, NULL, &e), &e, IMDB_ERR_USAGE, "n", "explain NULL n");
    expect(imdb_explain(m, NULL, 3, 3, NULL, &c, &n, &e), &e, IMDB_ERR_USAGE, "text", "explain NULL text");
    expect(imdb_explain(m, "x", 1, 0, NULL, &c, &n, &e), &e, IMDB_ERR_USAGE, "k", "explain k 0");
    expect(imdb_explain(m, "x", 1, 1001, NULL, &c, &n, &e), &e, IMDB_ERR_USAGE, "k", "explain k 1001");
    expect(imdb_explain(m, "x", 1, -5, NULL, &c, &n, &e), &e, IMDB_ERR_USAGE, "k", "explain k -5");
    expect(imdb_model_info_get(NULL, &info, &e), &e, IMDB_ERR_USAGE, "model", "info NULL model");
    expect(imdb_model_info_get(m, NULL, &e), &e, IMDB_ERR_USAGE, "info", "info NULL info");
    CHECK(imdb_model_threshold(m) == 0.5, "a model trained without a threshold: 0.5");
    expect(imdb_model_verify(NULL, &e), &e, IMDB_ERR_USAGE, "model", "verify NULL");
    const char *t[2] = { "good", "bad" };
    double probs[2];
    expect(imdb_score_batch(NULL, t, NULL, 2, probs, 1, &e), &e, IMDB_ERR_USAGE, "model", "batch NULL model");
    expect(imdb_score_batch(m, NULL, NULL, 2, probs, 1, &e), &e, IMDB_ERR_USAGE, "texts", "batch NULL texts");
    expect(imdb_score_batch(m, t, NULL, 2, NULL, 1, &e), &e, IMDB_ERR_USAGE, "probs", "batch NULL probs");
    expect(imdb_score_batch(m, t, NULL, 2, probs, -1, &e), &e, IMDB_ERR_USAGE, "nthreads", "batch -1 threads");
    CHECK(imdb_score_batch(m, NULL, NULL, 0, NULL, 1, &e) == IMDB_OK, "batch of 0 with NULL arrays");
    const char *tn[3] = { "good", NULL, "bad" };
    size_t ln[3] = { 4, 3, 3 };
    expect(imdb_score_batch(m, tn, ln, 3, probs, 1, &e), &e, IMDB_ERR_USAGE, "texts[1]", "batch NULL texts[1]");
    imdb_model_close(NULL);
    imdb_contrib_free(NULL, 0);
}

static const char *path_of_model;

static void texts(const imdb_model *m)
{
    double empty = score(m, NULL, 0);
    CHECK(score(m, "", 0) == empty, "NULL, 0 and \"\", 0 differ");
    CHECK(score(m, "x y z", 0) == empty, "a text of length 0 is not the empty text");
    /* NUL bytes are spaces; invalid UTF-8 becomes U+FFFD, a non-word. */
    CHECK(score(m, "a good\0film", 11) == score(m, "a good film", 11), "a NUL is not cleaned as a space");
    const char *bad = "a good \xff\xfe film", *repl = "a good \xef\xbf\xbd film";
    CHECK(score(m, bad, strlen(bad)) == score(m, repl, strlen(repl)), "invalid UTF-8 is not cleaned as U+FFFD");
    score(m, "\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xff\xfe\xfd", 14);
    /* Only default-ignorable code points (a BOM, U+00AD, U+200B) normalize to nothing:
     * a fresh model's cleaner once crashed in utf8proc on them (a NULL scratch buffer). */
    {
        imdb_model *fresh;
        imdb_error e;
        CHECK(imdb_model_open(path_of_model, &fresh, &e) == IMDB_OK, "reopen: %s", e.message);
        CHECK(score(fresh, "\xef\xbb\xbf", 3) == empty, "a lone BOM is not the empty text");
        CHECK(score(fresh, "\xef\xbb\xbf" "First review", 15) == score(m, "First review", 12), "a BOM changed the score");
        CHECK(score(fresh, "\xc2\xad\xe2\x80\x8b", 5) == empty, "U+00AD U+200B is not the empty text");
        imdb_model_close(fresh);
    }
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)i;
    score(m, all, sizeof all);
    /* Length is what counts: bytes after len are never read. */
    CHECK(score(m, "awful film", 4) == score(m, "awfu", 4), "bytes past len changed the score");

    /* 10 MB: a review repeated, and 10 MB of one byte. */
    size_t big = 10 << 20;
    char *t = malloc(big);
    const char *rev = "A wonderful, moving film; the acting was great but the plot dull. ";
    size_t rl = strlen(rev);
    for (size_t i = 0; i < big; i++) t[i] = rev[i % rl];
    score(m, t, big);
    memset(t, 'a', big);
    score(m, t, big);
    memset(t, 0, big);
    CHECK(score(m, t, big) == empty, "10 MB of NUL bytes is not the empty text");
    memset(t, 0xff, big);
    score(m, t, big);
    free(t);
}

static void explain(const imdb_model *m, const imdb_model *mlp)
{
    imdb_error e;
    imdb_contrib *c = NULL;
    size_t n = 99;
    double p = -1, q = -2;
    const char *text = "A wonderful, moving film. Not bad at all, the acting was great!";
    imdb_status st = imdb_explain(m, text, strlen(text), 3, &p, &c, &n, &e);
    CHECK(st == IMDB_OK, "explain: %s", e.message);
    CHECK(n >= 1 && n <= 3, "explain: %zu contributions", n);
    CHECK(p == score(m, text, strlen(text)), "explain's prob differs from score's");
    for (size_t i = 0; i < n; i++) {
        CHECK(c[i].ngram && c[i].ngram[0], "explain: empty n-gram %zu", i);
        CHECK(i == 0 || fabs(c[i].weight) <= fabs(c[i - 1].weight), "explain: not by |weight| descending");
    }
    imdb_contrib_free(c, n);
    st = imdb_explain(m, NULL, 0, 1000, NULL, &c, &n, &e);
    CHECK(st == IMDB_OK && n == 0 && c != NULL, "explain of the empty text: %d, %zu", st, n);
    imdb_contrib_free(c, n);

    imdb_model_info info;
    CHECK(imdb_model_info_get(mlp, &info, &e) == IMDB_OK, "info mlp");
    CHECK(strcmp(info.kind, "mlp") == 0 && info.can_explain == 0, "mlp info: %s %d", info.kind, info.can_explain);
    c = (imdb_contrib *)&e;
    expect(imdb_explain(mlp, text, strlen(text), 3, &q, &c, &n, &e), &e, IMDB_ERR_USAGE, "mlp", "explain mlp");
    CHECK(c == NULL && n == 0 && q == -2, "failed explain left outputs set");
    score(mlp, text, strlen(text));
}

static void info(const imdb_model *m)
{
    imdb_model_info in;
    imdb_error e;
    CHECK(imdb_model_info_get(m, &in, &e) == IMDB_OK, "info: %s", e.message);
    CHECK(strcmp(in.kind, "nblr") == 0, "info kind %s", in.kind);
    CHECK(strstr(in.params, "ngrams = ") != NULL, "info params lack ngrams: %s", in.params);
    CHECK(strstr(in.clean, "html=1") != NULL, "info clean: %s", in.clean);
    CHECK(in.can_explain == 1, "nblr cannot explain?");
    CHECK(in.load_seconds >= 0 && in.load_seconds < 60, "load_seconds %g", in.load_seconds);
    char v[64];
    snprintf(v, sizeof v, "%d.%d.%d", IMDB_VERSION_MAJOR, IMDB_VERSION_MINOR, IMDB_VERSION_PATCH);
    CHECK(strcmp(imdb_version(), v) == 0, "imdb_version %s, header %s", imdb_version(), v);
    imdb_status all[] = { IMDB_OK, IMDB_ERR_DATA, IMDB_ERR_USAGE, IMDB_ERR_IO, IMDB_ERR_NOMEM, IMDB_ERR_INTERNAL };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(imdb_status_string(all[i]), imdb_status_string(all[j])) != 0, "two statuses, one string");
    CHECK(imdb_status_string((imdb_status)77) != NULL, "unknown status");
}

/* open_mem from a copy of the file, 64-byte aligned and not: the same scores as by path;
 * verify finds a byte changed in the lent buffer. */
static void memory(const imdb_model *m, const char *path)
{
    size_t n;
    char *bytes = test_slurp(path, &n);
    unsigned char *al = aligned_alloc(64, (n + 64) / 64 * 64 + 64);
    memcpy(al, bytes, n);
    imdb_model *a, *u;
    imdb_error e;
    CHECK(imdb_model_open_mem(al, n, "aligned", &a, &e) == IMDB_OK, "open_mem aligned: %s", e.message);
    unsigned char *un = malloc(n + 1);
    memcpy(un + 1, bytes, n);
    CHECK(imdb_model_open_mem(un + 1, n, "unaligned", &u, &e) == IMDB_OK, "open_mem unaligned: %s", e.message);
    const char *t = "The best movie I have seen this year, not bad at all";
    double p = score(m, t, strlen(t));
    CHECK(score(a, t, strlen(t)) == p && score(u, t, strlen(t)) == p, "open_mem scores differ");
    CHECK(imdb_model_verify(a, &e) == IMDB_OK, "verify: %s", e.message);
    CHECK(imdb_model_verify((imdb_model *)m, &e) == IMDB_OK, "verify by path: %s", e.message);
    al[n / 2] ^= 1;
    expect(imdb_model_verify(a, &e), &e, IMDB_ERR_DATA, "aligned", "verify a changed buffer");
    al[n / 2] ^= 1;
    CHECK(imdb_model_verify(a, NULL) == IMDB_OK, "verify after restoring the byte");
    imdb_model_close(a);
    imdb_model_close(u);
    free(al);
    free(un);
    free(bytes);
}

/* A model file replaced by rename while open keeps scoring as before. */
static void renamed(const char *nblr, const char *mlp, const char *dir)
{
    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/live.model", dir);
    snprintf(tmp, sizeof tmp, "%s/live.model.tmp", dir);
    size_t n, k;
    char *a = test_slurp(nblr, &n), *b = test_slurp(mlp, &k);
    write_file(path, a, n);
    imdb_model *m;
    imdb_error e;
    CHECK(imdb_model_open(path, &m, &e) == IMDB_OK, "open live: %s", e.message);
    const char *t = "Dull, too long and badly acted; I wanted to leave.";
    double before = score(m, t, strlen(t));
    write_file(tmp, b, k);
    CHECK(rename(tmp, path) == 0, "rename");
    CHECK(score(m, t, strlen(t)) == before, "the score changed after the file was replaced");
    imdb_model_info in;
    imdb_model_info_get(m, &in, &e);
    CHECK(strcmp(in.kind, "nblr") == 0, "kind after rename %s", in.kind);
    CHECK(imdb_model_verify(m, &e) == IMDB_OK, "verify after rename: %s", e.message);
    imdb_model *m2;
    CHECK(imdb_model_open(path, &m2, &e) == IMDB_OK, "open the new file: %s", e.message);
    imdb_model_info_get(m2, &in, &e);
    CHECK(strcmp(in.kind, "mlp") == 0, "new file's kind %s", in.kind);
    imdb_model_close(m2);
    imdb_model_close(m);
    free(a);
    free(b);
}

/* Batches: 1, 2, 0 (one per core) and 7 threads give the same bytes as imdb_score one by one. */
static void batches(const imdb_model *m)
{
    enum { N = 1000 };
    static char buf[N][96];
    const char *texts[N];
    size_t lens[N];
    static double ref[N], got[N];
    const char *words[] = { "good", "bad", "awful", "wonderful", "not", "boring", "film", "great", "\xff", "caf\xc3\xa9" };
    for (int i = 0; i < N; i++) {
        int len = 0;
        for (int j = 0; j < 1 + i % 9; j++)
            len += snprintf(buf[i] + len, sizeof buf[i] - (size_t)len, "%s ", words[(i * 7 + j * 3) % 10]);
        texts[i] = buf[i];
        lens[i] = (size_t)len;
        ref[i] = score(m, texts[i], lens[i]);
    }
    imdb_error e;
    int threads[] = { 1, 2, 0, 7 };
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        memset(got, 0, sizeof got);
        CHECK(imdb_score_batch(m, texts, lens, N, got, threads[t], &e) == IMDB_OK, "batch: %s", e.message);
        CHECK(memcmp(got, ref, sizeof ref) == 0, "batch on %d threads differs from imdb_score", threads[t]);
        memset(got, 0, sizeof got);
        CHECK(imdb_score_batch(m, texts, NULL, N, got, threads[t], &e) == IMDB_OK, "batch: %s", e.message);
        CHECK(memcmp(got, ref, sizeof ref) == 0, "batch (NUL-terminated) on %d threads differs", threads[t]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: unit_api NBLR_MODEL MLP_MODEL SCRATCH_DIR\n");
        return 2;
    }
    imdb_model *m, *mlp;
    imdb_error e;
    if (imdb_model_open(argv[1], &m, &e) != IMDB_OK || imdb_model_open(argv[2], &mlp, &e) != IMDB_OK) {
        printf("FAIL: %s\n", e.message);
        return 1;
    }
    path_of_model = argv[1];
    bad_files(argv[1], argv[3]);
    null_args(m);
    texts(m);
    explain(m, mlp);
    info(m);
    memory(m, argv[1]);
    renamed(argv[1], argv[2], argv[3]);
    batches(m);
    batches(mlp);
    imdb_model_close(mlp);
    imdb_model_close(m);
    if (failures) printf("%d check(s) failed\n", failures);
    return failures != 0;
}
