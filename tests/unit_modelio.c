/* unit_modelio.c — the model container: round trip, byte-identical rewrites, and every
 * way a file can be broken (truncated, flipped byte, newer version, foreign file), opened
 * with every check at once. The lazy checks and format 1 are in tests/unit_lazy.c. */
#include "modelio.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>


static void write_model(const char *path, int nfloat)
{
    imdb_err e;
    modelio_writer *w = modelio_create(path, &e);
    if (!w) { printf("FAIL: create: %s\n", e.msg); exit(1); }
    float *f = malloc((size_t)nfloat * sizeof *f);
    for (int i = 0; i < nfloat; i++) f[i] = (float)i * 0.5f;
    if (modelio_add_str(w, "kind", "test", &e) < 0 || modelio_add(w, "floats", f, (size_t)nfloat * 4, &e) < 0 ||
        modelio_add(w, "empty", "", 0, &e) < 0 || modelio_commit(w, &e) < 0) {
        printf("FAIL: write: %s\n", e.msg);
        exit(1);
    }
    free(f);
}


static void spit(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Opening path must fail with status and a message containing what. */
static void expect_fail(const char *path, int status, const char *what)
{
    imdb_err e = { 0 };
    modelio *m = modelio_open(path, &e);
    CHECK(!m, "%s: opened, expected failure '%s'", path, what);
    if (m) { modelio_close(m); return; }
    CHECK(e.status == status && strstr(e.msg, what), "%s: got status %d '%s', expected %d '%s'", path,
          e.status, e.msg, status, what);
}

/* modelio_crc32 (folded with carry-less multiplication where the CPU can) against
 * zlib's crc32 (the reference) at every length 0..600, every alignment, random starting
 * CRCs, and a few MB. */
static void test_crc(void)
{
    size_t big = 3u << 20;
    unsigned char *buf = malloc(big + 64);
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < big + 64; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    int bad = 0;
    for (size_t n = 0; n <= 600; n++)
        for (size_t o = 0; o < 64; o += 7) {
            uint32_t c0 = (uint32_t)(n * 2654435761u + o);
            if (modelio_crc32(c0, buf + o, n) != (uint32_t)crc32(c0, buf + o, (uInt)n)) bad++;
        }
    CHECK(bad == 0, "modelio_crc32 differs from zlib's crc32 on %d short buffers", bad);
    CHECK(modelio_crc32(0, buf + 3, big) == (uint32_t)crc32(0, buf + 3, (uInt)big),
          "modelio_crc32 differs from zlib's crc32 on %zu bytes", big);
    free(buf);
}

int main(void)
{
    test_crc();
    char dir[] = "/tmp/unit_modelio.XXXXXX", a[64], b[64], c[64];
    if (!mkdtemp(dir)) return 1;
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    write_model(a, 1000);
    write_model(b, 1000);
    size_t na, nb;
    char *ba = test_slurp(a, &na), *bb = test_slurp(b, &nb);
    CHECK(na == nb && memcmp(ba, bb, na) == 0, "two writes of the same model differ");
    {
        /* A section from a file (over two chunks and a part) gives the same bytes as the
         * same data in memory; a file shorter than said is an I/O error, no model left. */
        size_t big = 2 * MODELIO_CHUNK + 1234;
        unsigned char *data = malloc(big);
        for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 131 + (i >> 9));
        char fpath[80], mpath[80], opath[80];
        snprintf(fpath, sizeof fpath, "%s/sec", dir);
        snprintf(mpath, sizeof mpath, "%s/fm", dir);
        snprintf(opath, sizeof opath, "%s/fo", dir);
        spit(fpath, (const char *)data, big);
        for (int short_file = 0; short_file < 2; short_file++) {
            imdb_err e0;
            modelio_writer *w1 = modelio_create(mpath, &e0), *w2 = modelio_create(opath, &e0);
            int fd = open(fpath, O_RDONLY);
            CHECK(w1 && w2 && fd >= 0, "file section: set-up");
            unsigned char *copy = malloc(big);
            memcpy(copy, data, big);
            int r1 = modelio_add_str(w1, "kind", "test", &e0) | modelio_add_owned(w1, "big", copy, big, &e0) |
                     modelio_commit(w1, &e0);
            int r2 = modelio_add_str(w2, "kind", "test", &e0) |
                     modelio_add_file(w2, "big", fd, "the file", big + (size_t)short_file, &e0);
            r2 |= modelio_commit(w2, &e0);
            if (!short_file) {
                size_t n1, n2;
                char *b1 = test_slurp(mpath, &n1), *b2 = test_slurp(opath, &n2);
                CHECK(r1 == 0 && r2 == 0 && b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0,
                      "a section from a file: not the bytes of the same section in memory");
                free(b1);
                free(b2);
            } else {
                CHECK(r2 < 0 && e0.status == IMDB_EXIT_IO && strstr(e0.msg, "the file: ends early"),
                      "a short section file: status %d '%s'", e0.status, e0.msg);
                CHECK(access(opath, F_OK) == 0, "the earlier model was removed");   /* left as it was */
            }
        }
        free(data);
        unlink(fpath);
        unlink(mpath);
        unlink(opath);
    }

    imdb_err e;
    modelio *m = modelio_open(a, &e);
    CHECK(m != NULL, "open: %s", m ? "" : e.msg);
    if (m) {
        size_t n;
        const float *f = modelio_get(m, "floats", &n);
        CHECK(f && n == 4000 && f[999] == 499.5f, "floats section wrong");
        CHECK(((uintptr_t)f & 63) == 0, "section not 64-byte aligned");
        char *k = modelio_get_str(m, "kind");
        CHECK(k && strcmp(k, "test") == 0, "kind section wrong");
        free(k);
        CHECK(modelio_get(m, "empty", &n) && n == 0, "empty section missing");
        CHECK(!modelio_get(m, "nope", NULL), "absent section found");
        modelio_close(m);
    }

    /* Truncated anywhere: never opens. */
    size_t cuts[] = { 0, 4, 12, 19, 40, na / 2, na - 5, na - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(c, ba, cuts[i]);
        imdb_err e2;
        modelio *t = modelio_open(c, &e2);
        CHECK(!t && e2.status == IMDB_EXIT_DATA, "truncated to %zu bytes: not refused", cuts[i]);
        modelio_close(t);
    }
    /* Every single flipped bit in the data is caught (by bounds or CRC). */
    for (size_t pos = 16; pos < na; pos += 97) {
        ba[pos] ^= 0x10;
        spit(c, ba, na);
        imdb_err e2;
        modelio *t = modelio_open(c, &e2);
        CHECK(!t && e2.status == IMDB_EXIT_DATA, "flipped byte %zu: not refused", pos);
        modelio_close(t);
        ba[pos] ^= 0x10;
    }
    ba[na - 100] ^= 1;   /* inside the data: only the CRC can tell */
    spit(c, ba, na);
    expect_fail(c, IMDB_EXIT_DATA, "CRC mismatch in section floats, bytes 0 to 4000");
    ba[na - 100] ^= 1;
    {
        /* A section offset off the 64-byte grid, CRC made right: refused, not read
         * misaligned (tests/fuzz/corpus/model/crash-misaligned). */
        char *bc = malloc(na);
        memcpy(bc, ba, na);
        unsigned char *d = (unsigned char *)bc + 24 + 16;   /* first entry's offset */
        put_u64le(d, get_u64le(d) + 2);
        modelio_reseal((unsigned char *)bc, na, 0);
        spit(c, bc, na);
        expect_fail(c, IMDB_EXIT_DATA, "not a multiple of 64");
        free(bc);
    }
    ba[8] = 3;   /* version 3 */
    spit(c, ba, na);
    expect_fail(c, IMDB_EXIT_DATA, "version 3 is not supported");
    ba[8] = 2;
    spit(c, "hello, world\nthis is text\n", 26);
    expect_fail(c, IMDB_EXIT_DATA, "not an imdb model file");
    expect_fail("/nonexistent/model", IMDB_EXIT_IO, "No such file");
    expect_fail(dir, IMDB_EXIT_IO, "directory");

    /* A failed write leaves nothing behind. */
    modelio_writer *w = modelio_create(c, &e);
    unlink(c);
    CHECK(modelio_add(w, "this-name-is-too-long", "x", 1, &e) < 0, "long section name accepted");
    modelio_abort(w);
    CHECK(access(c, F_OK) != 0, "aborted write left a file");

    free(ba);
    free(bb);
    unlink(a);
    unlink(b);
    CHECK(rmdir(dir) == 0, "temporary files left in %s", dir);
    if (!failures) printf("modelio: all checks passed\n");
    return test_status("unit_modelio");
}
